#!/usr/bin/env python3
"""Send a forged rtnetlink "route added" message to every NETLINK_ROUTE
socket of process PID that listens to multicast groups (its event sockets),
as a local process with CAP_NET_ADMIN could: the receiver must notice it is
not from the kernel (sender port id != 0) and ignore it.

  nl_forge.py PID DST/LEN GATEWAY IFINDEX     (run in PID's network namespace)
prints how many sockets it sent to."""
import ipaddress
import os
import re
import socket
import struct
import sys

RTM_NEWROUTE, NLM_F_REQUEST, NLM_F_CREATE = 24, 1, 0x400
RTA_DST, RTA_OIF, RTA_GATEWAY = 1, 4, 5


def attr(kind, data):
    length = 4 + len(data)
    return struct.pack("=HH", length, kind) + data + b"\0" * ((4 - length % 4) % 4)


def main():
    pid, dst, gw, ifindex = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    net = ipaddress.ip_network(dst)
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        m = re.match(r"socket:\[(\d+)\]", os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        if m:
            inodes.add(int(m.group(1)))
    targets = []
    with open("/proc/net/netlink") as f:
        next(f)
        for line in f:
            # sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
            col = line.split()
            if int(col[1]) == 0 and int(col[3], 16) != 0 and int(col[9]) in inodes:
                targets.append(int(col[2]))
    rtm = struct.pack("=BBBBBBBBI", socket.AF_INET, net.prefixlen, 0, 0, 254, 4, 0, 1, 0)
    body = rtm + attr(RTA_DST, net.network_address.packed) + \
        attr(RTA_GATEWAY, ipaddress.ip_address(gw).packed) + attr(RTA_OIF, struct.pack("=I", ifindex))
    msg = struct.pack("=IHHII", 16 + len(body), RTM_NEWROUTE, NLM_F_CREATE, 1, 0) + body
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    for portid in targets:
        s.sendto(msg, (portid, 0))
    print(len(targets))
    return 0 if targets else 1


if __name__ == "__main__":
    sys.exit(main())
