#!/usr/bin/env bash
# `cwebrtc turn-server` with real packets from a raw python TURN client
# (tests/integration/turn_pyclient.py): every denied peer address form gets 403 for
# CreatePermission and ChannelBind; wrong password, forged and stale nonces, expired REST
# usernames, the per-user quota (486) and TCP relaying (442) are refused; SIGHUP reloads
# users from --user-file and -c and secrets; --external-ip advertises the public address
# while relaying through the private one. The main server runs 4 relay threads (the
# second one the default, one per CPU): the quota holds across threads, a nonce issued
# to one source port authenticates from others (hashed to other threads), and the
# metrics sum over threads. Runs in a private network namespace.
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

printf 'alice:apw\n# a comment\ncarol:cpw\n' >"$T/users"
printf 'realm=example.org\nuser=cfg1:c1pw\nstatic-auth-secret=confsecret\n' >"$T/conf"
"$CW" turn-server -c "$T/conf" --listen 127.0.0.1:3478 --user-file "$T/users" --user dave:dpw \
  --use-auth-secret --static-auth-secret s3cr3t --user-quota 2 --stale-nonce 2 \
  --min-port 50000 --max-port 50999 --metrics 127.0.0.1:9642 --threads 4 >"$T/srv" 2>&1 &
SRV=$!
track $SRV
wait_for grep -q 'listening tcp' "$T/srv" || { cat "$T/srv"; fail "turn-server did not start"; }

py() { python3 - "$@" || { cat "$T/srv"; fail "$1"; }; n=$((n+1)); }

py "denied peers" <<'PY'
import turn_pyclient as t
c = t.Turn(("127.0.0.1", 3478), "alice", "apw")
assert c.allocate() is None, "allocate"
denied = ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1", "0.0.0.0", "::", "169.254.169.254",
          "fe80::1", "224.0.0.1", "239.255.255.250", "255.255.255.255", "10.0.0.1", "172.16.0.1",
          "192.168.1.1", "100.64.0.1", "fc00::1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
          "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "::127.0.0.1", "ff02::1", "fec0::1"]
for ip in denied:
    assert c.permission(ip) == 403, ("CreatePermission", ip)
    assert c.channel(ip, 3478, 0x4001) == 403, ("ChannelBind", ip)
# Controls: a public address is accepted, and a family mismatch is 443, not 403.
assert c.permission("198.51.100.7") is None, "public v4 permission"
assert c.channel("198.51.100.7", 5000, 0x4002) is None, "public v4 channel"
assert c.permission("2001:db8::1") == 443, "v6 peer on a v4 allocation"
print(f"ok: {len(denied)} denied address forms -> 403 for CreatePermission and ChannelBind")
PY

py "authentication" <<'PY'
import time, turn_pyclient as t
S = ("127.0.0.1", 3478)
c = t.Turn(S, "alice", "wrong")
assert c.allocate() == 401, "wrong password"
c = t.Turn(S, "nobody", "x")
assert c.allocate() == 401, "unknown user"
# A forged nonce (right length, wrong MAC) never authenticates: it is answered like a
# stale one (438 with a fresh nonce, RFC 8489 §9.2.4); so is an expired genuine one.
c = t.Turn(S, "alice", "apw")
typ, ra, code = c.request(t.ALLOCATE, [(t.A_REQ_TRANSPORT, bytes([17, 0, 0, 0]))], retry_401=False)
assert code == 401 and c.nonce is None
c.nonce, c.realm = ra[t.A_NONCE].decode(), ra[t.A_REALM].decode()
forged = c.nonce[:-4] + ("0000" if c.nonce[-4:] != "0000" else "1111")
typ, ra, code = c.request(t.ALLOCATE, [(t.A_REQ_TRANSPORT, bytes([17, 0, 0, 0]))], nonce=forged)
assert code == 438 and ra[t.A_NONCE].decode() not in (forged, ""), ("forged nonce", code)
time.sleep(2.5)  # --stale-nonce 2
typ, ra, code = c.request(t.ALLOCATE, [(t.A_REQ_TRANSPORT, bytes([17, 0, 0, 0]))], nonce=c.nonce)
assert code == 438 and t.A_NONCE in ra, ("stale nonce", code)
# REST usernames: valid, expired, wrong secret.
now = int(time.time())
u, p = t.rest_user("s3cr3t", now + 600, "bob")
assert t.Turn(S, u, p).allocate() is None, "REST user"
u, p = t.rest_user("confsecret", now + 600, "bob")
assert t.Turn(S, u, p).allocate() is None, "REST user, secret from -c"
u, p = t.rest_user("s3cr3t", now - 10, "bob")
assert t.Turn(S, u, p).allocate() == 401, "expired REST user"
u, p = t.rest_user("other", now + 600, "bob")
assert t.Turn(S, u, p).allocate() == 401, "REST user, unknown secret"
print("ok: wrong password 401, forged nonce 438, stale nonce 438, expired/unknown-secret REST 401")
PY

py "quota and transports" <<'PY'
import turn_pyclient as t
S = ("127.0.0.1", 3478)
cs = [t.Turn(S, "carol", "cpw") for _ in range(3)]
codes = [c.allocate() for c in cs]
assert codes == [None, None, 486], codes
assert cs[0].refresh(0) is None  # freeing one makes room again
assert cs[2].allocate() is None, "allocate after a delete"
c = t.Turn(S, "dave", "dpw", tcp=True)
assert t.Turn(S, "dave", "dpw").allocate(transport=6) == 400, "TCP relay over UDP"
assert c.allocate(transport=17) is None, "UDP relay over a TCP control connection"
print("ok: user quota 486, room again after Refresh(0); REQUESTED-TRANSPORT=TCP over UDP 400")
PY

py "shared nonce" <<'PY'
import time, turn_pyclient as t
S = ("127.0.0.1", 3478)
# Each time: one socket gets a 401 and its nonce, a second socket (another source port,
# so another SO_REUSEPORT hash: with 4 threads, another thread 3 times in 4) allocates
# with that nonce at once. Per-thread nonce keys would answer 438 here.
now = int(time.time())
for i in range(16):
    a = t.Turn(S, "x", "x")
    typ, ra, code = a.request(t.ALLOCATE, [(t.A_REQ_TRANSPORT, bytes([17, 0, 0, 0]))], retry_401=False)
    assert code == 401 and t.A_NONCE in ra, code
    u, p = t.rest_user("s3cr3t", now + 600, f"n{i}")
    b = t.Turn(S, u, p)
    b.realm, b.nonce = ra[t.A_REALM].decode(), ra[t.A_NONCE].decode()
    typ, rb, code = b.request(t.ALLOCATE, [(t.A_REQ_TRANSPORT, bytes([17, 0, 0, 0]))], retry_401=False)
    assert code is None, ("a nonce from another source port", i, code)
    assert b.refresh(0) is None
    a.close(); b.close()
print("ok: 16 nonces issued to one source port authenticated from another")
PY

py "reservations across threads" <<'PY'
import time, turn_pyclient as t
S = ("127.0.0.1", 3478)
# EVEN-PORT with R=1 on one socket reserves port+1; a RESERVATION-TOKEN Allocate from
# another socket (often hashed to another thread: the reservations are shared) gets it.
now = int(time.time())
for i in range(8):
    u, p = t.rest_user("s3cr3t", now + 600, f"r{i}")
    a, b = t.Turn(S, u, p), t.Turn(S, u, p)
    typ, ra, code = a.request(t.ALLOCATE, [(t.A_REQ_TRANSPORT, bytes([17, 0, 0, 0])), (0x18, bytes([0x80]))])
    assert code is None and 0x22 in ra, ("EVEN-PORT R=1", i, code)
    port = t.parse_xor_addr(ra[t.A_RELAYED], a.last_tid)[1]
    assert port % 2 == 0, port
    b.realm, b.nonce = a.realm, a.nonce
    typ, rb, code = b.request(t.ALLOCATE, [(t.A_REQ_TRANSPORT, bytes([17, 0, 0, 0])), (0x22, ra[0x22])])
    assert code is None, ("RESERVATION-TOKEN", i, code)
    assert t.parse_xor_addr(rb[t.A_RELAYED], b.last_tid)[1] == port + 1
    assert a.refresh(0) is None and b.refresh(0) is None
    a.close(); b.close()
print("ok: 8 EVEN-PORT reservations redeemed from another source port")
PY

# SIGHUP: alice leaves the user file, bob joins; cfg1 becomes cfg2 in the -c file and its
# secret rotates; --user flags stay.
printf 'bob:bpw\ncarol:cpw\n' >"$T/users"
printf 'realm=example.org\nuser=cfg2:c2pw\nstatic-auth-secret=newsecret\n' >"$T/conf"
py "before reload" <<'PY'
import turn_pyclient as t
S = ("127.0.0.1", 3478)
assert t.Turn(S, "bob", "bpw").allocate() == 401, "bob before reload"
assert t.Turn(S, "cfg1", "c1pw").allocate() is None, "cfg1 before reload"
print("ok: before SIGHUP the old credentials hold")
PY
kill -HUP $SRV
wait_for grep -q 'reloaded credentials' "$T/srv" || { cat "$T/srv"; fail "no reload"; }
py "after reload" <<'PY'
import time, turn_pyclient as t
S = ("127.0.0.1", 3478)
assert t.Turn(S, "bob", "bpw").allocate() is None, "bob after reload"
assert t.Turn(S, "alice", "apw").allocate() == 401, "alice after reload"
assert t.Turn(S, "cfg2", "c2pw").allocate() is None, "cfg2 after reload"
assert t.Turn(S, "cfg1", "c1pw").allocate() == 401, "cfg1 after reload"
assert t.Turn(S, "dave", "dpw").allocate() is None, "--user flag after reload"
now = int(time.time())
u, p = t.rest_user("newsecret", now + 600, "x")
assert t.Turn(S, u, p).allocate() is None, "new secret"
u, p = t.rest_user("confsecret", now + 600, "x")
assert t.Turn(S, u, p).allocate() == 401, "old config secret"
u, p = t.rest_user("s3cr3t", now + 600, "x")
assert t.Turn(S, u, p).allocate() is None, "flag secret"
print("ok: SIGHUP reloaded --user-file, -c users and secrets; flag users/secrets kept")
PY
kill -0 $SRV || fail "server died"
py "metrics" <<'PY'
import urllib.request
body = urllib.request.urlopen("http://127.0.0.1:9642/metrics", timeout=5).read().decode()
m = {l.split()[0]: int(l.split()[1]) for l in body.splitlines() if l and not l.startswith("#")}
assert m["turn_denied_peers_total"] == 46, m      # 23 forms x (CreatePermission + ChannelBind)
assert m["turn_stale_nonces_total"] >= 2, m
assert m["turn_quota_rejections_total"] == 1, m
assert m["turn_auth_failures_total"] >= 8, m
assert "turn_tcp_connections" in m, m
# Totals are the sum over the relay threads, and the clients were spread over several.
assert m["turn_relay_threads"] == 4, m
per = [m[f'turn_thread_allocations_total{{thread="{i}"}}'] for i in range(4)]
assert sum(per) == m["turn_allocations_total"] >= 45, (per, m)
assert sum(1 for x in per if x) >= 2, ("one thread took every client", per)
pk = [m[f'turn_thread_relayed_packets_total{{thread="{i}"}}'] for i in range(4)]
assert sum(pk) == m["turn_relayed_packets_total"], (pk, m)
print("ok: metrics count denied peers, stale nonces, quota and auth failures:", m)
PY

# --external-ip: advertise 203.0.113.9, bind 127.0.0.1, relay still works.
"$CW" turn-server --listen 127.0.0.1:3479 --realm example.org --user ext:epw \
  --external-ip 203.0.113.9/127.0.0.1 --allow-loopback-peers --min-port 51000 --max-port 51099 \
  >"$T/srv2" 2>&1 &
track $!
wait_for grep -q 'listening tcp' "$T/srv2" || { cat "$T/srv2"; fail "second turn-server did not start"; }
py "external-ip" <<'PY'
import socket, struct, turn_pyclient as t
c = t.Turn(("127.0.0.1", 3479), "ext", "epw")
assert c.allocate() is None
ip, port = c.relayed
assert ip == "203.0.113.9" and 51000 <= port <= 51099, c.relayed
peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); peer.bind(("127.0.0.1", 0))
assert c.permission("127.0.0.1", peer.getsockname()[1]) is None
peer.sendto(b"hello via nat", ("127.0.0.1", port))   # the private side of the mapping
typ, tid, ra = t.parse(c._recv())
assert typ == 0x0017 and ra.get(0x13) == b"hello via nat", (hex(typ), ra)
print(f"ok: --external-ip: XOR-RELAYED-ADDRESS {ip}:{port}, relayed via 127.0.0.1:{port}")
# Bursts: equal datagrams to one destination leave as one UDP GSO send; each must still
# arrive as its own datagram, in order, both ways.
assert c.channel("127.0.0.1", peer.getsockname()[1], 0x4000) is None
N = 40
for i in range(N):
    peer.sendto(b"p%03d" % i + b"x" * 96, ("127.0.0.1", port))
got = []
while len(got) < N:
    m = c._recv()
    if m[:2] == b"\x40\x00":
        got.append(m[4:4 + struct.unpack("!H", m[2:4])[0]])
assert got == [b"p%03d" % i + b"x" * 96 for i in range(N)], got[:3]
for i in range(N):
    c._send(struct.pack("!HH", 0x4000, 100) + b"c%03d" % i + b"y" * 96)
peer.settimeout(3)
back = [peer.recv(2000) for _ in range(N)]
assert back == [b"c%03d" % i + b"y" * 96 for i in range(N)], back[:3]
print(f"ok: bursts of {N} datagrams each way arrive one by one, in order")
PY
# SIGTERM: a clean exit (under ASan/LSan: no leak reports) after all of the above.
kill -TERM $SRV; rc=0; wait $SRV || rc=$?
[ $rc = 0 ] || { cat "$T/srv"; fail "turn-server exit $rc after SIGTERM"; }
! grep -q Sanitizer "$T/srv" || { cat "$T/srv"; fail "sanitizer report"; }
pass "SIGTERM: exit 0, no sanitizer report"; n=$((n+1))
echo "$n passed, 0 failed"
