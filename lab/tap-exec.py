#!/usr/bin/env python3
"""tap-exec.py NETNS BRIDGE TAPNAME -- PROGRAM ARGS...

Create tap TAPNAME directly INSIDE network namespace NETNS (it never exists in the host's
own namespace), enslave it to BRIDGE there, then exec PROGRAM (qemu) in the host namespace
with the tap's file descriptor; every "@TAPFD@" in ARGS is replaced by that fd number.
qemu keeps its user-net hostfwd on the host's 127.0.0.1 while its cluster NIC sits on the
namespace's bridge. The tap is not persistent: it vanishes when qemu exits.
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
    if len(argv) < 6 or argv[4] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    netns, bridge, tap, prog = argv[1], argv[2], argv[3], argv[5:]
    libc = ctypes.CDLL("libc.so.6", use_errno=True)

    def setns(fd):
        if libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "setns: " + os.strerror(e))

    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{netns}", os.O_RDONLY)
    setns(target)
    try:
        fd = os.open("/dev/net/tun", os.O_RDWR)
        ifr = struct.pack("16sH22x", tap.encode(), IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)
        fcntl.ioctl(fd, TUNSETIFF, ifr)
    finally:
        setns(home)
    os.close(home)
    os.close(target)
    subprocess.run(["ip", "-n", netns, "link", "set", tap, "master", bridge, "up"], check=True)
    # hand qemu the tap fd and nothing else (no inherited locks or pipes)
    if fd != 3:
        os.dup2(fd, 3)
        os.close(fd)
    os.set_inheritable(3, True)
    os.closerange(4, 1024)
    args = [a.replace("@TAPFD@", "3") for a in prog]
    os.execvp(args[0], args)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
