#!/usr/bin/env python3
"""tap-exec.py NETNS BRIDGE TAPNAME [BRIDGE2 TAPNAME2 ...] -- PROGRAM ARGS...

Create each tap TAPNAME directly INSIDE network namespace NETNS (it never exists in the host's
own namespace), enslave it to its BRIDGE there, then exec PROGRAM (qemu) in the host namespace
with the taps' file descriptors: every "@TAPFD@" in ARGS is replaced by the first tap's fd
number, "@TAPFD2@" by the second's, and so on. qemu keeps its user-net hostfwd on the host's
127.0.0.1 while its NICs sit on the namespace's bridges. The taps are not persistent: they
vanish when qemu exits.
"""
import ctypes
import fcntl
import os
import struct
import subprocess
import sys

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI, IFF_VNET_HDR = 0x0002, 0x1000, 0x4000


def main(argv):
    if "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    sep = argv.index("--")
    netns, pairs, prog = argv[1], argv[2:sep], argv[sep + 1:]
    if len(pairs) < 2 or len(pairs) % 2 or not prog:
        print(__doc__, file=sys.stderr)
        return 2
    taps = [(pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2)]
    libc = ctypes.CDLL("libc.so.6", use_errno=True)

    def setns(fd):
        if libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "setns: " + os.strerror(e))

    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{netns}", os.O_RDONLY)
    fds = []
    setns(target)
    try:
        for _, tap in taps:
            fd = os.open("/dev/net/tun", os.O_RDWR)
            ifr = struct.pack("16sH22x", tap.encode(), IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)
            fcntl.ioctl(fd, TUNSETIFF, ifr)
            fds.append(fd)
    finally:
        setns(home)
    os.close(home)
    os.close(target)
    for bridge, tap in taps:
        subprocess.run(["ip", "-n", netns, "link", "set", tap, "master", bridge, "up"], check=True)
    # hand qemu the tap fds as 3, 4, ... and nothing else (no inherited locks or pipes)
    high = [os.dup(fd) for fd in fds]    # out of the way of 3.. first
    for fd in fds:
        os.close(fd)
    for i, fd in enumerate(high):
        os.dup2(fd, 3 + i)
        os.set_inheritable(3 + i, True)
    for fd in high:
        if fd >= 3 + len(high):
            os.close(fd)
    os.closerange(3 + len(high), 1024)
    args = prog
    for i in range(len(fds)):
        name = "@TAPFD@" if i == 0 else f"@TAPFD{i + 1}@"
        args = [a.replace(name, str(3 + i)) for a in args]
    os.execvp(args[0], args)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
