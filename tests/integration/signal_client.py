#!/usr/bin/env python3
"""Checks `cwebrtc signal-server` from the outside: a minimal RFC 6455 client on the socket
module (python3 standard library only) drives join/relay/leave, every error path and every
limit, plus the HTTP side (page, path traversal, POST /test-result). Used by signal_server.sh.

usage: signal_client.py HOST PORT SUITE [TEST_LOG]
  SUITE basic:  protocol, errors, HTTP (server started with --max-peers 3 --max-rooms 3
                --max-connections 12 --max-message 4096 --test-log TEST_LOG)
  SUITE rate:   server started with --rate 10
  SUITE slow:   server started with --rate 100000 (a client that never reads gets dropped)
Every socket has a timeout; every loop is bounded. Exit status 0 = all passed.
"""
import base64
import json
import os
import socket
import struct
import sys
import time

HOST, PORT, SUITE = sys.argv[1], int(sys.argv[2]), sys.argv[3]
TEST_LOG = sys.argv[4] if len(sys.argv) > 4 else None
TIMEOUT = 5.0
passed = 0


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def ok(msg):
    global passed
    passed += 1
    print("ok: " + msg)


class WS:
    def __init__(self, path="/ws"):
        self.s = socket.create_connection((HOST, PORT), timeout=TIMEOUT)
        key = base64.b64encode(os.urandom(16)).decode()
        req = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, HOST, PORT, key))
        self.s.sendall(req.encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            d = self.s.recv(4096)
            if not d:
                raise ConnectionError("closed during handshake")
            self.buf += d
            if len(self.buf) > 16384:
                raise ConnectionError("handshake too long")
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        self.status = int(head.split(b" ")[1])
        if self.status != 101:
            raise ConnectionError("handshake status %d" % self.status)
        self.closed = None  # close code once the server closed

    def frame(self, opcode, payload, fin=True):
        hdr = bytes([(0x80 if fin else 0) | opcode])
        n = len(payload)
        if n < 126:
            hdr += bytes([0x80 | n])
        elif n < 65536:
            hdr += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            hdr += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
        self.s.sendall(hdr + mask + masked)

    def send(self, obj):
        data = obj if isinstance(obj, (bytes, str)) else json.dumps(obj)
        self.frame(1, data.encode() if isinstance(data, str) else data)

    def _read(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise ConnectionError("connection closed")
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_frame(self):
        b0, b1 = self._read(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read(8))[0]
        if b1 & 0x80:
            fail("server frames must not be masked")
        return b0 & 0x0F, self._read(n)

    def recv(self):
        """Next JSON message; None if the server closed (code in self.closed)."""
        for _ in range(100):  # skip control frames
            op, data = self.recv_frame()
            if op == 1:
                return json.loads(data)
            if op == 8:
                self.closed = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005
                return None
            if op == 9:
                self.frame(10, data)
        fail("too many control frames")

    def expect(self, typ, **fields):
        m = self.recv()
        if m is None:
            fail("expected %s, got close %s" % (typ, self.closed))
        if m.get("type") != typ:
            fail("expected %s, got %r" % (typ, m))
        for k, v in fields.items():
            if m.get(k) != v:
                fail("%s: %s=%r, want %r (%r)" % (typ, k, m.get(k), v, m))
        return m

    def expect_error(self, code, label):
        m = self.expect("error")
        if m.get("error") != code:
            fail("%s: error %r, want %r" % (label, m, code))
        if not isinstance(m.get("detail"), str) or not m["detail"]:
            fail("%s: error without detail: %r" % (label, m))
        ok("%s -> error %s (%s)" % (label, code, m["detail"]))
        return m

    def quiet(self, secs=0.3):
        """Nothing arrives within secs."""
        self.s.settimeout(secs)
        try:
            m = self.recv()
            fail("unexpected message %r" % (m,))
        except socket.timeout:
            pass
        finally:
            self.s.settimeout(TIMEOUT)

    def close(self):
        try:
            self.frame(8, struct.pack("!H", 1000))
        except OSError:
            pass
        self.s.close()


def join(room):
    w = WS()
    w.send({"type": "join", "room": room})
    m = w.expect("joined", room=room)
    w.id = m["id"]
    w.peers = m["peers"]
    return w


def http(method, path, body=None, ctype="application/json"):
    s = socket.create_connection((HOST, PORT), timeout=TIMEOUT)
    req = "%s %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n" % (method, path, HOST, PORT)
    if body is not None:
        req += "Content-Type: %s\r\nContent-Length: %d\r\n" % (ctype, len(body))
    s.sendall(req.encode() + b"\r\n" + (body or b""))
    data = b""
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if not d:
            break
        data += d
        if len(data) > 4 << 20:
            break
    s.close()
    head, _, payload = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head else 0
    return status, head.decode(errors="replace"), payload


def suite_basic():
    # --- HTTP ---
    st, head, body = http("GET", "/")
    if st != 200 or b"<html" not in body.lower() or "text/html" not in head:
        fail("GET / -> %d %r" % (st, head))
    ok("GET / serves the page (%d bytes)" % len(body))
    st, head, body = http("GET", "/?room=abc&test=echo")
    if st != 200 or b"<html" not in body.lower():
        fail("GET /?room=... -> %d" % st)
    ok("GET /?room=abc serves the page")
    st, head, body = http("GET", "/app.js")
    if st != 200 or "javascript" not in head or len(body) < 100:
        fail("GET /app.js -> %d" % st)
    ok("GET /app.js (%d bytes)" % len(body))
    for p in ["/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fetc%2fpasswd",
              "/nope.html", "/.hidden.js", "/app.js/", "/index", "//etc/passwd.txt"]:
        st, _, body = http("GET", p)
        if st == 200 or b"root:" in body:
            fail("GET %s -> %d" % (p, st))
    ok("traversal, hidden and missing files -> not served")
    st, _, _ = http("PUT", "/index.html", b"x")
    if st not in (404, 405):
        fail("PUT -> %d" % st)
    ok("PUT -> %d" % st)
    st, _, _ = http("GET", "/ws")
    if st != 400:
        fail("plain GET /ws -> %d, want 400" % st)
    ok("plain GET /ws without upgrade -> 400")
    try:
        WS("/other")
        fail("WebSocket upgrade on /other accepted")
    except (ConnectionError, OSError, IndexError, ValueError):
        ok("WebSocket upgrade outside /ws refused")
    if TEST_LOG:
        res = {"test": "unit", "ok": True, "n": 42}
        st, _, _ = http("POST", "/test-result", json.dumps(res).encode())
        if st != 200:
            fail("POST /test-result -> %d" % st)
        st, _, _ = http("POST", "/test-result", b"{not json")
        if st != 400:
            fail("POST /test-result bad JSON -> %d, want 400" % st)
        st, _, _ = http("POST", "/test-result", b"x" * (70 << 10))
        if st not in (413, 0):
            fail("POST /test-result 70 KiB -> %d, want 413" % st)
        st, _, _ = http("POST", "/other", b"{}")
        if st != 404:
            fail("POST /other -> %d" % st)
        lines = [json.loads(l) for l in open(TEST_LOG) if l.strip()]
        if lines != [res]:
            fail("test log holds %r" % lines)
        ok("POST /test-result stores valid JSON only (bad JSON 400, too large 413)")

    # --- join, relay, leave ---
    a = join("r1")
    if a.peers != [] or len(a.id) != 16:
        fail("first join: %r %r" % (a.id, a.peers))
    b = join("r1")
    if b.peers != [a.id] or b.id == a.id:
        fail("second join peers %r" % b.peers)
    a.expect("peer-joined", id=b.id)
    ok("join: ids %s %s, newcomer sees [%s], old peer gets peer-joined" % (a.id, b.id, a.id))
    sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=x:\u00e9\"quoted\"\r\n"
    b.send({"type": "offer", "to": a.id, "sdp": sdp, "extra": {"k": [1, 2]}})
    m = a.expect("offer", **{"from": b.id, "sdp": sdp})
    if "to" in m or m.get("extra") != {"k": [1, 2]}:
        fail("relayed offer %r" % m)
    b.send({"type": "candidate", "to": a.id, "from": a.id, "candidate": None})
    a.expect("candidate", **{"from": b.id})
    ok("a forged \"from\" is overwritten with the sender's id")
    a.send({"type": "answer", "to": b.id, "sdp": "answer-sdp"})
    b.expect("answer", **{"from": a.id, "sdp": "answer-sdp"})
    cand = {"candidate": "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host", "sdpMid": "0",
            "sdpMLineIndex": 0}
    b.send({"type": "candidate", "to": a.id, "candidate": cand})
    a.expect("candidate", **{"from": b.id, "candidate": cand})
    b.send({"type": "candidate", "to": a.id, "candidate": None})
    a.expect("candidate", **{"from": b.id, "candidate": None})
    a.send({"type": "bye", "to": b.id})
    b.expect("bye", **{"from": a.id})
    ok("offer/answer/candidate/end-of-candidates/bye relayed verbatim with from, without to")
    # fragmented text message
    payload = json.dumps({"type": "offer", "to": a.id, "sdp": "frag" * 100}).encode()
    b.frame(1, payload[:10], fin=False)
    b.frame(0, payload[10:200], fin=False)
    b.frame(0, payload[200:], fin=True)
    a.expect("offer", **{"from": b.id, "sdp": "frag" * 100})
    ok("fragmented message reassembled and relayed")
    a.send({"type": "ping"})
    a.expect("pong")
    ok("ping -> pong")

    # --- errors: each answered, connection stays usable ---
    e = WS()
    e.send({"type": "offer", "to": a.id, "sdp": "x"})
    e.expect_error("not-joined", "offer before join")
    e.send({"type": "leave"})
    e.expect_error("not-joined", "leave before join")
    e.send("{\"type\": \"join\", ")
    e.expect_error("bad-json", "truncated JSON")
    e.send("\x00\x01 garbage")
    e.expect_error("bad-json", "garbage")
    e.send("[1,2,3]")
    e.expect_error("bad-message", "JSON array")
    e.send("{\"room\":\"r1\"}")
    e.expect_error("bad-message", "no type")
    e.send({"type": 5})
    e.expect_error("bad-message", "numeric type")
    e.send("{\"type\":\"join\",\"type\":\"join\",\"room\":\"r1\"}")
    e.expect_error("bad-json", "duplicate keys")
    e.send({"type": "dance"})
    e.expect_error("unknown-type", "unknown type")
    e.send("[" * 4000)
    m = e.expect_error("bad-json", "nesting 4000 deep")
    e.send({"type": "join"})
    e.expect_error("bad-room", "join without room")
    e.send({"type": "join", "room": ""})
    e.expect_error("bad-room", "empty room name")
    e.send({"type": "join", "room": "x" * 65})
    e.expect_error("bad-room", "65-byte room name")
    e.send({"type": "join", "room": "a/b"})
    e.expect_error("bad-room", "room name with /")
    e.send({"type": "join", "room": 7})
    e.expect_error("bad-room", "numeric room")
    e.frame(2, b"\x01\x02\x03")
    e.expect_error("bad-message", "binary frame")
    e.send({"type": "join", "room": "r2"})
    m = e.expect("joined", room="r2")
    e.id = m["id"]
    e.send({"type": "join", "room": "r1"})
    e.expect_error("already-joined", "second join")
    e.send({"type": "offer", "to": a.id, "sdp": "x"})
    e.expect_error("unknown-peer", "peer in another room")
    e.send({"type": "offer", "to": "0123456789abcdef", "sdp": "x"})
    e.expect_error("unknown-peer", "unknown id")
    e.send({"type": "offer", "to": e.id, "sdp": "x"})
    e.expect_error("unknown-peer", "to self")
    e.send({"type": "offer", "sdp": "x"})
    e.expect_error("bad-message", "offer without to")
    e.send({"type": "offer", "to": 12})
    e.expect_error("bad-message", "numeric to")
    e.send({"type": "ping"})
    e.expect("pong")
    ok("after 24 errors the connection still works")
    a.quiet(0.2)
    # too large: error, then close 1009
    big = WS()
    big.send({"type": "ping", "pad": "x" * 5000})
    big.expect_error("too-large", "5 KB message (limit 4096)")
    if big.recv() is not None or big.closed != 1009:
        fail("too large: close code %r, want 1009" % big.closed)
    ok("too large -> connection closed with 1009")
    big.s.close()
    # a message exactly at the limit is accepted
    at = WS()
    msg = {"type": "ping", "pad": ""}
    msg["pad"] = "y" * (4096 - len(json.dumps(msg)))
    assert len(json.dumps(msg)) == 4096
    at.send(msg)
    at.expect("pong")
    ok("message of exactly 4096 bytes accepted")
    at.close()
    # invalid UTF-8 in a text frame: lws closes with 1007
    u = WS()
    u.frame(1, b'{"type":"ping","x":"\xff\xfe"}')
    if u.recv() is not None or u.closed != 1007:
        fail("bad utf-8: %r" % u.closed)
    ok("invalid UTF-8 text -> closed with 1007")
    u.s.close()

    # --- leave and disconnect ---
    c = join("r1")
    if sorted(c.peers) != sorted([a.id, b.id]):
        fail("third join peers %r" % c.peers)
    a.expect("peer-joined", id=c.id)
    b.expect("peer-joined", id=c.id)
    d = WS()
    d.send({"type": "join", "room": "r1"})
    d.expect_error("room-full", "4th peer in room (max 3)")
    c.send({"type": "leave"})
    c.expect("left")
    a.expect("peer-left", id=c.id)
    b.expect("peer-left", id=c.id)
    d.send({"type": "join", "room": "r1"})
    m = d.expect("joined", room="r1")
    a.expect("peer-joined", id=m["id"])
    b.expect("peer-joined", id=m["id"])
    ok("leave frees the slot; peer-left to the others")
    d.s.close()  # abrupt: no close frame
    a.expect("peer-left", id=m["id"])
    b.expect("peer-left", id=m["id"])
    ok("abrupt disconnect -> peer-left")
    c.send({"type": "join", "room": "r3"})
    c.expect("joined", room="r3")
    f = WS()
    f.send({"type": "join", "room": "r4"})
    f.expect_error("too-many-rooms", "4th room (max 3)")
    c.send({"type": "leave"})
    c.expect("left")
    f.send({"type": "join", "room": "r4"})
    f.expect("joined", room="r4")
    ok("an emptied room is freed and its slot reused")

    # --- connection limit: 12 ---
    open_ = [a, b, c, e, f]
    extra = []
    for _ in range(12 - len(open_)):
        w = WS()
        w.send({"type": "ping"})
        w.expect("pong")
        extra.append(w)
    over = WS()
    over.expect_error("server-full", "13th connection (max 12)")
    if over.recv() is not None or over.closed != 1013:
        fail("server-full close code %r" % over.closed)
    ok("server-full -> closed with 1013")
    over.s.close()
    for w in extra:
        w.close()
    time.sleep(0.2)
    g = WS()
    g.send({"type": "ping"})
    g.expect("pong")
    ok("closed connections free their slots")
    for w in [a, b, c, e, f, g]:
        w.close()


def suite_rate():
    w = WS()
    for _ in range(100):
        w.send({"type": "ping"})
    pongs = errors = 0
    for _ in range(100):
        m = w.recv()
        if m["type"] == "pong":
            pongs += 1
        elif m.get("error") == "rate-limited":
            errors += 1
        else:
            fail("rate: %r" % m)
    # --rate 10: a burst of 20 passes (plus what refills while we send), the rest is refused
    if not (20 <= pongs <= 40) or errors != 100 - pongs:
        fail("rate: %d pongs, %d rate-limited" % (pongs, errors))
    ok("rate limit 10/s: %d of 100 passed, %d rate-limited" % (pongs, errors))
    time.sleep(1.0)
    w.send({"type": "ping"})
    w.expect("pong")
    ok("rate limit refills")
    w.close()


def suite_slow():
    a = join("slow")
    b = join("slow")
    a.expect("peer-joined", id=b.id)
    # b never reads. a sends 300 offers of 60 KB (18 MB): more than the socket buffers and
    # b's queue (512 messages / 2 MiB) hold, so the server must drop b, not buffer 18 MB.
    pad = "s" * 60000
    t0 = time.time()
    for i in range(300):
        a.send({"type": "offer", "to": b.id, "sdp": pad})
    left = False
    for _ in range(400):
        m = a.recv()
        if m["type"] == "peer-left" and m["id"] == b.id:
            left = True
            break
        if m.get("error") not in ("peer-unreachable", "unknown-peer"):
            fail("slow: %r" % m)
    if not left:
        fail("slow reader never dropped")
    ok("a client that does not read is dropped (%.2f s), peer-left sent" % (time.time() - t0))
    a.send({"type": "ping"})
    for _ in range(400):
        m = a.recv()
        if m["type"] == "pong":
            break
    else:
        fail("no pong after the slow reader was dropped")
    ok("the sender keeps working")
    a.close()
    b.s.close()


{"basic": suite_basic, "rate": suite_rate, "slow": suite_slow}[SUITE]()
print("%s: %d passed, 0 failed" % (SUITE, passed))
