#!/usr/bin/env bash
# `cwebrtc turn-server` against coTURN's own clients: turnutils_uclient relaying between
# two clients (-y) with static users over UDP, TCP and TLS (a self-signed certificate made
# here with `openssl req`), and with the TURN REST shared
# secret; a wrong password is refused; turnutils_stunclient gets its binding; the
# Prometheus endpoint counts what happened. Runs in a private network namespace.
BUILD=$1 SRC=$2
. "$SRC/tests/integration/lib.bash"
[ -x "$BUILD/cwebrtc" ] || { echo "cwebrtc not built"; exit 77; }
command -v turnutils_uclient >/dev/null || { echo "coturn not installed"; exit 77; }
in_netns "$0" "$@"
CW="$BUILD/cwebrtc"
T=$(mktemp -d)
trap 'cleanup; rm -rf "$T"' EXIT
n=0

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
  -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1 || fail "openssl req"
"$CW" turn-server --listen 127.0.0.1:3478 --realm example.org --user test:test123 \
  --cert "$T/cert.pem" --pkey "$T/key.pem" --listen-tls 127.0.0.1:5349 \
  --use-auth-secret --static-auth-secret oldsecret --static-auth-secret s3cr3t \
  --allow-loopback-peers --min-port 50000 --max-port 50999 --metrics 127.0.0.1:9641 \
  >"$T/srv" 2>&1 &
SRV=$!
track $SRV
wait_for grep -q metrics "$T/srv" || { cat "$T/srv"; fail "turn-server did not start"; }

uclient() { # label, expected exit (0 or !0), args...
  local label=$1 want=$2; shift 2
  local rc=0
  timeout 30 turnutils_uclient "$@" 127.0.0.1 >"$T/$label" 2>&1 || rc=$?
  if [ "$want" = 0 ]; then
    [ $rc = 0 ] || { tail -20 "$T/$label"; fail "$label: uclient exit $rc"; }
    local sent recv lost
    sent=$(grep -o 'tot_send_msgs=[0-9]*' "$T/$label" | tail -1 | cut -d= -f2)
    recv=$(grep -o 'tot_recv_msgs=[0-9]*' "$T/$label" | tail -1 | cut -d= -f2)
    lost=$(grep -o 'Total lost packets [0-9]*' "$T/$label" | tail -1 | awk '{print $4}')
    [ -n "$sent" ] && [ "$sent" -gt 0 ] && [ "$sent" = "$recv" ] && [ "$lost" = 0 ] ||
      { tail -20 "$T/$label"; fail "$label: sent=$sent recv=$recv lost=$lost"; }
    pass "$label: $sent messages relayed both ways, 0 lost"
  else
    [ $rc != 0 ] || fail "$label: expected failure"
    pass "$label: refused (exit $rc)"
  fi
  n=$((n+1))
}
uclient udp-static 0 -u test -w test123 -y -n 50 -m 4 -l 200 -p 3478
uclient tcp-static 0 -t -u test -w test123 -y -n 50 -m 4 -l 200 -p 3478
uclient tls-static 0 -t -S -u test -w test123 -y -n 50 -m 4 -l 200 -p 5349
uclient tls-rest 0 -t -S -W s3cr3t -u carol -y -n 20 -m 2 -l 300 -p 5349
uclient udp-rest 0 -W s3cr3t -u alice -y -n 50 -m 2 -l 500 -p 3478
uclient udp-rest-old 0 -W oldsecret -u bob -y -n 20 -m 2 -l 100 -p 3478
uclient wrong-password 1 -u test -w nope -y -n 5 -m 1 -l 100 -p 3478

timeout 10 turnutils_stunclient -p 3478 127.0.0.1 >"$T/stun" 2>&1 || { cat "$T/stun"; fail "stunclient"; }
grep -q "UDP reflexive addr: 127.0.0.1:" "$T/stun" || { cat "$T/stun"; fail "stunclient answer"; }
pass "turnutils_stunclient: $(grep -m1 -o 'UDP reflexive addr: .*' "$T/stun")"; n=$((n+1))

# STUN Binding over TLS 1.2 and 1.3 with python's ssl (another TLS stack than coTURN's).
python3 - "$T/cert.pem" <<'PY' || fail "tls binding"
import os, socket, ssl, struct, sys
for ver in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(sys.argv[1]); ctx.check_hostname = False
    ctx.minimum_version = ctx.maximum_version = ver
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", 5349), timeout=5)) as s:
        tid = os.urandom(12)
        s.sendall(struct.pack("!HHI", 1, 0, 0x2112A442) + tid)
        r = s.recv(1500)
        assert r[:2] == b"\x01\x01" and r[8:20] == tid, r
        assert s.version() == {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[ver]
print("ok: STUN Binding over TLSv1.2 and TLSv1.3")
PY
n=$((n+1))

python3 - <<'PY' || fail "metrics"
import urllib.request
body = urllib.request.urlopen("http://127.0.0.1:9641/metrics", timeout=5).read().decode()
m = {l.split()[0]: int(l.split()[1]) for l in body.splitlines() if l and not l.startswith("#")}
assert m["turn_allocations_total"] >= 4, m
assert m["turn_relayed_packets_total"] > 0, m
assert m["turn_auth_failures_total"] >= 1, m
# Relay threads (default: one per CPU): the totals are the sums of the per-thread counters.
nt = m["turn_relay_threads"]
assert nt >= 1, m
for k in ("allocations_total", "relayed_packets_total"):
    per = [m[f'turn_thread_{k}{{thread="{i}"}}'] for i in range(nt)]
    assert sum(per) == m[f"turn_{k}"], (k, per, m)
print("ok: metrics", {k: m[k] for k in ("turn_allocations_total", "turn_relayed_packets_total", "turn_auth_failures_total", "turn_relay_threads")})
PY
n=$((n+1))
kill -TERM $SRV; rc=0; wait $SRV || rc=$?
[ $rc = 0 ] || { tail -20 "$T/srv"; fail "turn-server exit $rc after SIGTERM"; }
! grep -q Sanitizer "$T/srv" || { cat "$T/srv"; fail "sanitizer report"; }
pass "SIGTERM: exit 0, no sanitizer report"; n=$((n+1))
echo "$n passed, 0 failed"
