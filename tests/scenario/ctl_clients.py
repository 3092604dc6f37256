#!/usr/bin/env python3
"""Hostile and measuring clients of agentd's control socket (scenario
ctl_hostile.sh). The wire format is include/agent_proto.h:
request  = <u16 version, u16 type, u32 id, u32 len> + payload (packed, host order)
response = <u16 version, u16 reserved, u32 id, u32 status, u32 len> + payload

  ctl_clients.py SOCK probe            malformed requests, one check each
  ctl_clients.py SOCK hold P I         P clients that send 1 byte and go
                                       silent (reconnected when agentd closes
                                       them), I idle ones; until SIGTERM
  ctl_clients.py SOCK latency N [MS]   N status requests MS apart; prints
                                       the latencies (ms), one per line
"""
import errno
import json
import signal
import socket
import struct
import sys
import time

VERSION = 1
REQ_STATUS, REQ_ROUTES, REQ_NEIGH, REQ_MODE = 1, 2, 3, 4
REQ_HDR = struct.Struct("=HHII")
RESP_HDR = struct.Struct("=HHIII")


def connect(path, timeout=5.0):
    # EAGAIN: agentd's listen backlog is full for a moment (it is busy, or
    # the crowd connects faster than one loop turn accepts): try again
    for attempt in range(200):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(path)
            return s
        except BlockingIOError:
            s.close()
            time.sleep(0.01)
    raise TimeoutError("connect: backlog full for 2 s")


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def request(s, rtype, payload=b"", rid=1, version=VERSION, length=None):
    s.sendall(REQ_HDR.pack(version, rtype, rid, len(payload) if length is None else length) + payload)
    return response(s)


def response(s):
    ver, _, rid, status, length = RESP_HDR.unpack(recv_exact(s, RESP_HDR.size))
    body = json.loads(recv_exact(s, length)) if length else None
    return rid, status, body


def closed_within(s, seconds):
    """True if the peer closes S within SECONDS (reading whatever comes)."""
    s.settimeout(seconds)
    try:
        while True:
            if not s.recv(4096):
                return True
    except (socket.timeout, TimeoutError):
        return False
    except ConnectionResetError:
        return True


def probe(path):
    fails = 0

    def check(what, ok, detail=""):
        nonlocal fails
        print("%s: %s%s" % ("ok" if ok else "FAIL", what, (" (%s)" % detail) if detail else ""))
        fails += not ok

    s = connect(path)
    rid, status, body = request(s, REQ_STATUS, version=7, rid=11)
    check("other protocol version: EPROTO reply", status == errno.EPROTO and rid == 11, "%s %s" % (status, body))
    check("... then closed", closed_within(s, 2))

    s = connect(path)
    s.sendall(REQ_HDR.pack(VERSION, REQ_ROUTES, 12, 64 << 20))
    rid, status, body = response(s)
    check("64 MiB payload announced: EMSGSIZE reply", status == errno.EMSGSIZE, "%s %s" % (status, body))
    check("... then closed", closed_within(s, 2))

    s = connect(path)
    rid, status, body = request(s, 999, rid=13)
    check("unknown request type: EOPNOTSUPP", status == errno.EOPNOTSUPP and rid == 13, "%s" % status)
    rid, status, body = request(s, REQ_STATUS, rid=14)
    check("... and the connection still serves", status == 0 and rid == 14 and "mode" in body)

    for payload in (b"\x00\xff garbage", b"[1,2]", b'{"cursor": 5}', b'{"prefix": "10.0.0.0/33"}',
                    b'{"prefix": "1.2.3.4,/agent/stats"}', b'{"family": 5}', b'{"exact": true}',
                    b'{"cursor": "' + b"a" * 100 + b'"}', b'{"prefix": "1.2.3.4\\u0000x"}'):
        rid, status, body = request(s, REQ_ROUTES, payload, rid=15)
        check("routes %r: EINVAL with an error" % payload[:40],
              status == errno.EINVAL and isinstance(body, dict) and "error" in body, "%s %s" % (status, body))
    rid, status, body = request(s, REQ_NEIGH, b'{"cursor": "1,2"}', rid=16)
    check("neigh cursor with a comma: EINVAL", status == errno.EINVAL, "%s" % status)
    rid, status, body = request(s, REQ_MODE, b'{"mode": "warp"}', rid=17)
    check("mode warp: refused", status != 0, "%s %s" % (status, body))
    rid, status, body = request(s, REQ_STATUS, rid=18)
    check("still serving after bad payloads", status == 0 and rid == 18)
    s.close()

    # half a header, then silence: closed by the request deadline (1 s)
    s = connect(path)
    s.sendall(REQ_HDR.pack(VERSION, REQ_STATUS, 19, 10)[:5])
    t = time.monotonic()
    c = closed_within(s, 5)
    check("half-sent request then silent: closed", c and time.monotonic() - t < 3,
          "%.0f ms" % ((time.monotonic() - t) * 1000))

    # a header announcing a payload that never fully comes
    s = connect(path)
    s.sendall(REQ_HDR.pack(VERSION, REQ_ROUTES, 20, 100) + b"{")
    t = time.monotonic()
    c = closed_within(s, 5)
    check("truncated payload then silent: closed", c and time.monotonic() - t < 3,
          "%.0f ms" % ((time.monotonic() - t) * 1000))

    # a client that sends requests and never reads: closed, agentd unharmed
    s = connect(path)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.setblocking(False)
    sent = 0
    try:
        for i in range(20000):
            s.send(REQ_HDR.pack(VERSION, REQ_STATUS, 100 + i, 0))
            sent += 1
    except BlockingIOError:
        pass
    # agentd stops reading it once a reply cannot be sent, and closes it
    # when the reply has waited 5 s: by then reading finds the replies
    # already sent, then the end
    time.sleep(7)
    c = closed_within(s, 2)
    check("client that never reads its replies: closed", c, "%d requests sent" % sent)

    # a request and the write side shut: the reply still comes
    s = connect(path)
    s.sendall(REQ_HDR.pack(VERSION, REQ_STATUS, 21, 0))
    s.shutdown(socket.SHUT_WR)
    rid, status, body = response(s)
    check("request then shutdown(SHUT_WR): reply", status == 0 and rid == 21)
    s.close()

    # byte by byte: slow but complete within the deadline is served
    s = connect(path)
    for b in REQ_HDR.pack(VERSION, REQ_STATUS, 22, 0):
        s.send(bytes([b]))
        time.sleep(0.02)
    rid, status, body = response(s)
    check("request sent byte by byte within the deadline: served", status == 0 and rid == 22)
    s.close()

    return 1 if fails else 0


def hold(path, n_partial, n_idle):
    stop = False

    def on_term(*_):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    idle = [connect(path) for _ in range(n_idle)]
    partial = []
    reconnects = 0
    ready = False
    while not stop:
        # agentd closes a partial client after its request deadline: the
        # attacker comes back at once, so there are always N_PARTIAL
        partial = [s for s in partial if not closed_within(s, 0.0001)]
        while len(partial) < n_partial and not stop:
            try:
                s = connect(path)
                s.sendall(b"\x01")
                partial.append(s)
                reconnects += 1
            except OSError:
                time.sleep(0.05)
                break
        if not ready and len(partial) == n_partial:
            ready = True
            print("ready", flush=True)
        time.sleep(0.05)
    print("reconnects %d idle-alive %d" % (reconnects, sum(1 for s in idle if not closed_within(s, 0.0001))), flush=True)
    return 0


def latency(path, n, gap_ms):
    for i in range(n):
        t = time.monotonic()
        try:
            s = connect(path, timeout=10)
            rid, status, body = request(s, REQ_STATUS, rid=i + 1)
            s.close()
            ok = status == 0 and "mode" in body
        except OSError:
            ok = False
        print("%.1f %s" % ((time.monotonic() - t) * 1000, "ok" if ok else "error"), flush=True)
        time.sleep(gap_ms / 1000)
    return 0


def main():
    path, cmd = sys.argv[1], sys.argv[2]
    if cmd == "probe":
        return probe(path)
    if cmd == "hold":
        return hold(path, int(sys.argv[3]), int(sys.argv[4]))
    if cmd == "latency":
        return latency(path, int(sys.argv[3]), float(sys.argv[4]) if len(sys.argv) > 4 else 20)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
