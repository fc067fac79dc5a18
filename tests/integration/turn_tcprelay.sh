#!/usr/bin/env bash
# RFC 6062 TCP relaying in `cwebrtc turn-server`: coTURN's turnutils_uclient -T (TCP
# allocations, Connect, ConnectionBind between two clients) with zero loss, over TCP and
# TLS; then raw packets from tests/integration/turn_pyclient.py: Connect + ConnectionBind
# with bytes both ways (including bytes sent right behind the ConnectionBind), 446 for a
# second Connect to the same peer, 447 for a refused port, 403 for a denied peer, a peer
# connecting in (ConnectionAttempt) with and without a permission, 400 for an unknown
# CONNECTION-ID and for a TCP allocation over UDP, teardown with the allocation, and
# 442 under --no-tcp-relay. Runs in a private network namespace.
BUILD=$1 SRC=$2
. "$SRC/tests/integration/lib.bash"
[ -x "$BUILD/cwebrtc" ] || { echo "cwebrtc not built"; exit 77; }
command -v python3 >/dev/null || { echo "python3 missing"; exit 77; }
in_netns "$0" "$@"
CW="$BUILD/cwebrtc"
T=$(mktemp -d)
trap 'cleanup; rm -rf "$T"' EXIT
export PYTHONPATH="$SRC/tests/integration"
n=0

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
  -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1 || fail "openssl req"
"$CW" turn-server --listen 127.0.0.1:3478 --realm example.org --user test:test123 \
  --cert "$T/cert.pem" --pkey "$T/key.pem" --listen-tls 127.0.0.1:5349 \
  --allow-loopback-peers --min-port 50000 --max-port 50999 --metrics 127.0.0.1:9643 >"$T/srv" 2>&1 &
SRV=$!
track $SRV
wait_for grep -q 'metrics' "$T/srv" || { cat "$T/srv"; fail "turn-server did not start"; }

if command -v turnutils_uclient >/dev/null; then
  for mode in tcp tls; do
    args=(-T -u test -w test123 -n 30 -m 2 -l 300 -p 3478)
    [ $mode = tls ] && args=(-T -S -u test -w test123 -n 30 -m 2 -l 300 -p 5349)
    rc=0; timeout 30 turnutils_uclient "${args[@]}" 127.0.0.1 >"$T/u-$mode" 2>&1 || rc=$?
    sent=$(grep -o 'tot_send_msgs=[0-9]*' "$T/u-$mode" | tail -1 | cut -d= -f2)
    recv=$(grep -o 'tot_recv_msgs=[0-9]*' "$T/u-$mode" | tail -1 | cut -d= -f2)
    lost=$(grep -o 'Total lost packets [0-9]*' "$T/u-$mode" | tail -1 | awk '{print $4}')
    [ $rc = 0 ] && [ -n "$sent" ] && [ "$sent" -gt 0 ] && [ "$sent" = "$recv" ] && [ "$lost" = 0 ] ||
      { tail -20 "$T/u-$mode"; fail "uclient -T $mode: rc=$rc sent=$sent recv=$recv lost=$lost"; }
    pass "turnutils_uclient -T over $mode: $sent messages through TCP relays, 0 lost"; n=$((n+1))
  done
else
  echo "coturn not installed: skipping turnutils_uclient -T"
fi

python3 - <<'PY' || { cat "$T/srv"; fail "RFC 6062 flows"; }
import socket, struct, turn_pyclient as t
S = ("127.0.0.1", 3478)
c = t.Turn(S, "test", "test123", tcp=True)
assert c.allocate(transport=6) is None, "TCP allocation"
rip, rport = c.relayed
assert rip == "127.0.0.1" and 50000 <= rport <= 50999, c.relayed

# Client-initiated: Connect, then a data connection with bytes right behind ConnectionBind.
L = socket.socket(); L.bind(("127.0.0.1", 0)); L.listen(4); L.settimeout(3)
code, cid = c.connect("127.0.0.1", L.getsockname()[1])
assert code is None and cid and len(cid) == 4, ("Connect", code)
peer, paddr = L.accept(); peer.settimeout(3)
assert paddr[0] == "127.0.0.1"
assert c.connect("127.0.0.1", L.getsockname()[1])[0] == 446, "second Connect before the bind"
d = t.Turn(S, "test", "test123", tcp=True); d.realm, d.nonce = c.realm, c.nonce
tid, m = d.build(t.CONNECTION_BIND, [(t.A_CONNECTION_ID, cid)], auth=True)
d.s.sendall(m + b"early bytes|")
typ, rtid, ra = t.parse(d._recv())
assert typ == 0x010B and rtid == tid, hex(typ)
got = b""
while len(got) < 12: got += peer.recv(100)
assert got == b"early bytes|", got
d.s.sendall(b"x" * 100000)
got = 0
while got < 100000: got += len(peer.recv(65536))
peer.sendall(b"y" * 50000)
got = len(d.rbuf)
while got < 50000: got += len(d.s.recv(65536))
assert got == 50000
print("ok: Connect + ConnectionBind: early bytes, 100 kB to the peer, 50 kB back; 446 for a duplicate")

# Errors.
closed = socket.socket(); closed.bind(("127.0.0.1", 0)); cport = closed.getsockname()[1]; closed.close()
assert c.connect("127.0.0.1", cport)[0] == 447, "refused port"
assert c.connect("10.0.0.1", 80)[0] == 403, "denied peer"
code, _ = c.data_connection(b"\x12\x34\x56\x78")
assert code == 400, ("unknown CONNECTION-ID", code)
u = t.Turn(S, "test", "test123")
assert u.allocate(transport=6) == 400, "TCP allocation over UDP"
print("ok: 447 refused port, 403 denied peer, 400 unknown CONNECTION-ID, 400 TCP allocation over UDP")

# Peer-initiated: without a permission the relay closes; with one, ConnectionAttempt.
c2 = t.Turn(S, "test", "test123", tcp=True)
assert c2.allocate(transport=6) is None
p2 = socket.create_connection(c2.relayed, timeout=3)
assert p2.recv(10) == b"", "no permission: closed"
assert c2.permission("127.0.0.1") is None
p3 = socket.create_connection(c2.relayed, timeout=3)
p3.sendall(b"from the peer")
typ, tid, ra = t.parse(c2._recv())
assert typ == t.CONNECTION_ATTEMPT_IND, hex(typ)
assert t.parse_xor_addr(ra[t.A_PEER], tid) == p3.getsockname(), ra
code, d3 = c2.data_connection(ra[t.A_CONNECTION_ID])
assert code is None, code
got = d3.rbuf
while len(got) < 13: got += d3.s.recv(100)
assert got == b"from the peer", got
d3.s.sendall(b"hi peer")
assert p3.recv(100) == b"hi peer"
import urllib.request
body = urllib.request.urlopen("http://127.0.0.1:9643/metrics", timeout=5).read().decode()
m = {l.split()[0]: int(l.split()[1]) for l in body.splitlines() if l and not l.startswith("#")}
assert m["turn_tcp_peer_connections"] >= 2 and m["turn_tcp_connections"] >= 4, m
print("ok: ConnectionAttempt only with a permission; bound data connection both ways")

# The allocation ends (control connection closed): its data connections close too.
c2.close()
p3.settimeout(3)
assert p3.recv(100) == b"", "peer connection closed with the allocation"
print("ok: closing the control connection closes the relayed TCP connections")
PY
n=$((n+4))

# --no-tcp-relay keeps the old answer.
"$CW" turn-server --listen 127.0.0.1:3479 --realm example.org --user test:test123 --no-tcp-relay \
  --min-port 51000 --max-port 51099 >"$T/srv2" 2>&1 &
track $!
wait_for grep -q 'listening tcp' "$T/srv2" || { cat "$T/srv2"; fail "second turn-server did not start"; }
python3 - <<'PY' || fail "--no-tcp-relay"
import turn_pyclient as t
c = t.Turn(("127.0.0.1", 3479), "test", "test123", tcp=True)
assert c.allocate(transport=6) == 442
print("ok: --no-tcp-relay: REQUESTED-TRANSPORT=TCP gets 442")
PY
n=$((n+1))

kill -TERM $SRV; rc=0; wait $SRV || rc=$?
[ $rc = 0 ] || { tail -20 "$T/srv"; fail "turn-server exit $rc after SIGTERM"; }
! grep -q Sanitizer "$T/srv" || { cat "$T/srv"; fail "sanitizer report"; }
pass "SIGTERM: exit 0, no sanitizer report"; n=$((n+1))
echo "$n passed, 0 failed"
