#!/usr/bin/env python3
"""qmp.py SOCKET COMMAND [JSON-ARGS] [--timeout SECONDS]

Run one QMP command on a lab VM's qemu monitor socket and print its "return" value
(a string as is, anything else as JSON). "hmp" is a shortcut for human-monitor-command:
    qmp.py vms/storage0a/qmp.sock hmp "savevm clean" --timeout 600
Exit status: 0 ok, 1 QMP error, 2 connection problem or timeout.
"""
import json
import socket
import sys


def main(argv):
    timeout = 30.0
    if "--timeout" in argv:
        i = argv.index("--timeout")
        timeout = float(argv[i + 1])
        del argv[i:i + 2]
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    path, cmd = argv[1], argv[2]
    args = {}
    if cmd == "hmp":
        cmd, args = "human-monitor-command", {"command-line": " ".join(argv[3:])}
    elif len(argv) > 3:
        args = json.loads(argv[3])
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(path)
        f = s.makefile("rwb", buffering=0)

        def recv():
            while True:
                line = f.readline()
                if not line:
                    raise ConnectionError("qemu closed the monitor")
                msg = json.loads(line)
                if "event" in msg:      # asynchronous events are not answers
                    continue
                return msg

        def send(c, a=None):
            m = {"execute": c}
            if a:
                m["arguments"] = a
            f.write((json.dumps(m) + "\n").encode())
            return recv()

        recv()  # greeting
        r = send("qmp_capabilities")
        if "error" in r:
            raise ConnectionError(r["error"])
        r = send(cmd, args)
    except (OSError, ConnectionError, ValueError) as e:
        if cmd == "quit" and isinstance(e, ConnectionError):
            return 0
        print(f"qmp {path}: {cmd}: {e}", file=sys.stderr)
        return 2
    if "error" in r:
        print(f"qmp {cmd}: {r['error'].get('desc', r['error'])}", file=sys.stderr)
        return 1
    ret = r.get("return")
    if isinstance(ret, str):
        sys.stdout.write(ret)
        # human-monitor-command reports failures as text (e.g. "Error: ...")
        if cmd == "human-monitor-command" and ret.lstrip().lower().startswith("error"):
            return 1
    elif ret not in ({}, None):
        print(json.dumps(ret))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
