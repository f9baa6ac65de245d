#!/usr/bin/env python3
"""setclock.py SSH-COMMAND... — set a lab guest's wall clock to the host's.

Runs the given ssh command line with a small remote script that prints "ready" and then waits
for the time; the host's time is sent only once "ready" arrived, so the ssh handshake (seconds
under TCG) does not make the guest lag. Exit 0 when the guest answered "ok".
"""
import subprocess
import sys
import time

REMOTE = 'echo ready; read -r t; date -u -s "@$t" >/dev/null && echo ok'


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    p = subprocess.Popen(argv[1:] + [REMOTE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline().strip()
        if line != "ready":
            p.wait(timeout=30)
            print(f"setclock: no 'ready' from the guest: {line!r} {p.stderr.read().strip()}", file=sys.stderr)
            return 1
        p.stdin.write("%.6f\n" % time.time())
        p.stdin.flush()
        line = p.stdout.readline().strip()
        p.stdin.close()
        p.wait(timeout=30)
    except (subprocess.TimeoutExpired, BrokenPipeError) as e:
        p.kill()
        print(f"setclock: {e}", file=sys.stderr)
        return 1
    if line != "ok":
        print(f"setclock: guest did not set its clock: {line!r} {p.stderr.read().strip()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
