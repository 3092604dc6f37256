#!/usr/bin/env python3
"""Stand-in for systemd's notification socket (NOTIFY_SOCKET).

Binds a datagram unix socket at PATH and appends one line per message to
LOG: "<unix time> <sender pid> <assignments joined by '|'>". The sender's
pid comes from the kernel (SO_PASSCRED), as systemd gets it to enforce
NotifyAccess=main. Runs until killed.

    sd_notify_listener.py PATH LOG
"""
import os
import socket
import struct
import sys
import time


def main():
    path, log = sys.argv[1], sys.argv[2]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    if os.path.exists(path):
        os.unlink(path)
    sock.bind(path)
    ucred = struct.calcsize("3i")
    with open(log, "a", buffering=1) as out:
        out.write("%.3f 0 LISTENING\n" % time.time())
        while True:
            data, anc, _, _ = sock.recvmsg(4096, socket.CMSG_SPACE(ucred))
            pid = 0
            for level, kind, val in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("3i", val[:ucred])[0]
            text = data.decode("utf-8", "replace").strip("\n").replace("\n", "|")
            out.write("%.3f %d %s\n" % (time.time(), pid, text))


if __name__ == "__main__":
    main()
