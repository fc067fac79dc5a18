# A small raw TURN client (RFC 8656 / RFC 8489 long-term credentials) for the
# turn-server integration scripts: it sends exactly the packets a test wants (denied
# peer addresses, stale nonces, expired REST usernames, quotas) and returns the error
# code the server answered, which turnutils_uclient cannot do. Imported by
# tests/integration/turn_*.sh (sys.path points at this folder); not a test itself.
import base64, hashlib, hmac, ipaddress, os, socket, struct, zlib

MAGIC = 0x2112A442
ALLOCATE, REFRESH, CREATE_PERMISSION, CHANNEL_BIND, BINDING = 0x003, 0x004, 0x008, 0x009, 0x001
CONNECT, CONNECTION_BIND, CONNECTION_ATTEMPT_IND = 0x00A, 0x00B, 0x01C  # RFC 6062
A_CONNECTION_ID = 0x2A
A_USERNAME, A_MI, A_ERROR, A_LIFETIME, A_PEER, A_REALM, A_NONCE = 0x6, 0x8, 0x9, 0xD, 0x12, 0x14, 0x15
A_RELAYED, A_REQ_TRANSPORT, A_CHANNEL, A_FINGERPRINT, A_MAPPED = 0x16, 0x19, 0xC, 0x8028, 0x20


def attr(t, v):
    return struct.pack("!HH", t, len(v)) + v + b"\0" * ((4 - len(v) % 4) % 4)


def xor_addr(ip, port, tid):
    a = ipaddress.ip_address(ip)
    xp = port ^ (MAGIC >> 16)
    if a.version == 4:
        return struct.pack("!BBH", 0, 1, xp) + struct.pack("!I", int(a) ^ MAGIC)
    key = struct.pack("!I", MAGIC) + tid
    return struct.pack("!BBH", 0, 2, xp) + bytes(x ^ y for x, y in zip(a.packed, key))


def parse_xor_addr(v, tid):
    fam, xp = v[1], struct.unpack("!H", v[2:4])[0]
    port = xp ^ (MAGIC >> 16)
    if fam == 1:
        return str(ipaddress.ip_address(struct.unpack("!I", v[4:8])[0] ^ MAGIC)), port
    key = struct.pack("!I", MAGIC) + tid
    return str(ipaddress.ip_address(bytes(x ^ y for x, y in zip(v[4:20], key)))), port


def parse(msg):
    typ, ln, cookie = struct.unpack("!HHI", msg[:8])
    tid, off, attrs = msg[8:20], 20, {}
    while off + 4 <= 20 + ln:
        t, l = struct.unpack("!HH", msg[off:off + 4])
        attrs.setdefault(t, msg[off + 4:off + 4 + l])
        off += 4 + (l + 3) // 4 * 4
    return typ, tid, attrs


def error_code(attrs):
    v = attrs.get(A_ERROR)
    return None if v is None else v[2] * 100 + v[3]


class Turn:
    """One client: UDP or TCP (framed STUN) to the server, with long-term credentials."""

    def __init__(self, server, user, password, tcp=False, realm=None):
        self.server, self.user, self.password, self.tcp = server, user, password, tcp
        fam = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
        self.s = socket.socket(fam, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
        self.s.settimeout(3)
        if tcp:
            self.s.connect(server)
        self.realm, self.nonce, self.relayed, self.mapped = realm, None, None, None
        self.rbuf = b""

    def close(self):
        self.s.close()

    def key(self):
        return hashlib.md5(f"{self.user}:{self.realm}:{self.password}".encode()).digest()

    def _send(self, m):
        if self.tcp:
            self.s.sendall(m)
        else:
            self.s.sendto(m, self.server)

    def _recv(self):
        if not self.tcp:
            return self.s.recvfrom(4096)[0]
        while True:
            if len(self.rbuf) >= 4:
                n = 20 + struct.unpack("!H", self.rbuf[2:4])[0]
                if len(self.rbuf) >= n:
                    m, self.rbuf = self.rbuf[:n], self.rbuf[n:]
                    return m
            d = self.s.recv(4096)
            if not d:
                raise ConnectionError("server closed the connection")
            self.rbuf += d

    def build(self, method, attrs, auth=True, tid=None, nonce=None, fingerprint=True):
        tid = tid or os.urandom(12)
        body = b"".join(attr(t, v) for t, v in attrs)
        if auth and self.realm is not None:
            body += attr(A_USERNAME, self.user.encode()) + attr(A_REALM, self.realm.encode())
            body += attr(A_NONCE, (nonce if nonce is not None else self.nonce).encode())
            hdr = struct.pack("!HHI", method, len(body) + 24, MAGIC) + tid
            mac = hmac.new(self.key(), hdr + body, hashlib.sha1).digest()
            body += attr(A_MI, mac)
        if fingerprint:
            hdr = struct.pack("!HHI", method, len(body) + 8, MAGIC) + tid
            crc = (zlib.crc32(hdr + body) ^ 0x5354554E) & 0xFFFFFFFF
            body += attr(A_FINGERPRINT, struct.pack("!I", crc))
        return tid, struct.pack("!HHI", method, len(body), MAGIC) + tid + body

    def request(self, method, attrs, auth=True, nonce=None, retry_401=True):
        """Send one request; answer (typ, attrs, code). Handles the 401/438 dance once.
        attrs: a list of (type, value), or a function of the transaction id giving one."""
        for _ in range(3):
            tid = os.urandom(12)
            al = attrs(tid) if callable(attrs) else attrs
            self.last_tid = tid
            tid, m = self.build(method, al, auth=auth and self.nonce is not None, nonce=nonce, tid=tid)
            self._send(m)
            while True:
                typ, rtid, ra = parse(self._recv())
                if rtid == tid:
                    break
            code = error_code(ra)
            if code in (401, 438) and retry_401 and nonce is None and A_NONCE in ra:
                first = self.nonce is None or code == 438
                self.nonce = ra[A_NONCE].decode()
                if A_REALM in ra:
                    self.realm = ra[A_REALM].decode()
                if first:
                    continue
            return typ, ra, code
        return typ, ra, code

    def allocate(self, transport=17, extra=()):
        typ, ra, code = self.request(ALLOCATE, [(A_REQ_TRANSPORT, bytes([transport, 0, 0, 0]))] + list(extra))
        if code is None and A_RELAYED in ra:
            self.relayed = parse_xor_addr(ra[A_RELAYED], self.last_tid)
        if code is None and A_MAPPED in ra:
            self.mapped = parse_xor_addr(ra[A_MAPPED], self.last_tid)
        return code

    def permission(self, ip, port=9):
        return self.request(CREATE_PERMISSION, lambda tid: [(A_PEER, xor_addr(ip, port, tid))])[2]

    def channel(self, ip, port=9, number=0x4000):
        return self.request(CHANNEL_BIND, lambda tid: [(A_CHANNEL, struct.pack("!HH", number, 0)),
                                                       (A_PEER, xor_addr(ip, port, tid))])[2]

    def connect(self, ip, port):
        """RFC 6062 Connect: (error code or None, CONNECTION-ID bytes or None)."""
        typ, ra, code = self.request(CONNECT, lambda tid: [(A_PEER, xor_addr(ip, port, tid))])
        return code, ra.get(A_CONNECTION_ID)

    def data_connection(self, cid):
        """A new TCP connection to the server bound to CONNECTION-ID `cid` (RFC 6062 §4.3):
        (error code or None, the Turn object whose socket now carries raw peer bytes)."""
        d = Turn(self.server, self.user, self.password, tcp=True)
        d.realm, d.nonce = self.realm, self.nonce
        return d.request(CONNECTION_BIND, [(A_CONNECTION_ID, cid)])[2], d

    def refresh(self, lifetime):
        return self.request(REFRESH, [(A_LIFETIME, struct.pack("!I", lifetime))])[2]


def rest_user(secret, expiry, name):
    user = f"{expiry}:{name}"
    pw = base64.b64encode(hmac.new(secret.encode(), user.encode(), hashlib.sha1).digest()).decode()
    return user, pw
