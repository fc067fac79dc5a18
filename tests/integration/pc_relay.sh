#!/usr/bin/env bash
# TURN in the peer connection against real servers: two rtc_peer in one process
# (tests/unit/pc/pc_relay_peer.c) with iceTransportPolicy "relay", in a private network
# namespace, through
#   - our `cwebrtc turn-server` over UDP, TCP (turn:?transport=tcp) and TLS (turns:, a
#     self-signed certificate made here with openssl, trusted through --ca; the same URL
#     without the CA must NOT give a relay candidate: the certificate check is on);
#   - coTURN (`turnserver`) over UDP, TCP and TLS;
#   - a TCP URL where nothing listens (connection refused: the relay fails, gathering ends);
#   - with UDP to the TURN port dropped by iptables (both turn: UDP and TCP URLs given,
#     trickle ICE): the TCP relay still connects, and the dropped counter proves UDP was tried.
# Each run: only relay candidates, the channel opens, 20 x 1000-byte messages each way
# (content checked; 100 x 60000 bytes in the bulk cases, sent as the send buffer allows), selected pair relay/relay with the expected relayProtocol (stats),
# channel close seen by both, close() seen by the other side as "closed".
# Both servers relay between relayed addresses on 127.0.0.1, hence --allow-loopback-peers.
# Exit 77 without the helper, the cwebrtc binary, or openssl; coTURN cases are skipped
# (with a note) when coTURN is not installed, the iptables case when iptables is missing.
BUILD=$1 SRC=$2
. "$SRC/tests/integration/lib.bash"
PEER="$BUILD/pc_relay_peer"
CW="$BUILD/cwebrtc"
[ -x "$PEER" ] || { echo "pc_relay_peer not built"; exit 77; }
[ -x "$CW" ] || { echo "cwebrtc not built"; exit 77; }
command -v openssl >/dev/null || { echo "openssl missing"; exit 77; }
in_netns "$0" "$@"
T=$(mktemp -d)
trap 'cleanup; rm -rf "$T"' EXIT
AUTH=(--user test --pass test123)

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=turn.test \
  -addext "subjectAltName=IP:127.0.0.1,DNS:turn.test" \
  -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1 || fail "openssl req"

port_up() { # $1 = TCP port: bounded wait (10 s) until it accepts
  local i
  for i in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

run() { # $1 = label, rest = pc_relay_peer arguments
  local label=$1; shift
  if ! timeout 90 "$PEER" "${AUTH[@]}" "$@" >"$T/out" 2>&1; then
    cat "$T/out"; for f in "$T"/*.log; do echo "== $f"; tail -n 20 "$f"; done
    fail "$label"
  fi
  grep -E '^(ok:|A:|B:) ' "$T/out" | grep -v 'connection' | sed 's/^/  /' || true
  pass "$label"
}

stop() { # $1 = pid
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# ---- our server -------------------------------------------------------------------------
"$CW" turn-server --listen 127.0.0.1:3478 --realm example.org --user test:test123 \
  --cert "$T/cert.pem" --pkey "$T/key.pem" --listen-tls 127.0.0.1:5349 \
  --allow-loopback-peers --min-port 50000 --max-port 50999 >"$T/ours.log" 2>&1 &
OURS=$!
track $OURS
port_up 3478 && port_up 5349 || { cat "$T/ours.log"; fail "cwebrtc turn-server did not start"; }

run "cwebrtc turn-server, UDP" --url turn:127.0.0.1:3478 --proto udp
run "cwebrtc turn-server, TCP" --url 'turn:127.0.0.1:3478?transport=tcp' --proto tcp
run "cwebrtc turn-server, TCP by host name (resolved while gathering waits)" \
  --url 'turn:localhost:3478?transport=tcp' --proto tcp
run "cwebrtc turn-server, TLS (turns:, certificate verified against its IP SAN)" \
  --url turns:127.0.0.1:5349 --ca "$T/cert.pem" --proto tls
run "cwebrtc turn-server, TLS, bulk: 100 x 60000 bytes each way (flow control, TLS records)" \
  --url turns:127.0.0.1:5349 --ca "$T/cert.pem" --proto tls --messages 100 --size 60000
run "TLS to a server whose certificate is not trusted: no relay candidate" \
  --url turns:127.0.0.1:5349 --expect-no-relay --timeout 10
grep -q 'certificate verify failed' "$T/out" || { cat "$T/out"; fail "no 'certificate verify failed' in the log"; }
run "TLS with a name the certificate does not hold: no relay candidate" \
  --url turns:localhost:5349 --ca "$T/cert.pem" --expect-no-relay --timeout 10
grep -q 'certificate verify failed: hostname mismatch' "$T/out" || { cat "$T/out"; fail "no 'hostname mismatch' in the log"; }

if command -v iptables >/dev/null && iptables -A OUTPUT -p udp --dport 3478 -j DROP 2>/dev/null; then
  run "UDP to the TURN server dropped: the TCP relay connects (trickle)" --trickle \
    --url turn:127.0.0.1:3478 --url 'turn:127.0.0.1:3478?transport=tcp' --proto tcp
  dropped=$(iptables -L OUTPUT -v -x -n | awk '/udp dpt:3478/ { print $1 }')
  [ "${dropped:-0}" -gt 0 ] || fail "iptables dropped no UDP datagram: was UDP not tried?"
  pass "  ($dropped UDP datagrams to port 3478 dropped meanwhile)"
  iptables -D OUTPUT -p udp --dport 3478 -j DROP
else
  echo "note: iptables unavailable; the blocked-UDP case is skipped"
fi
stop $OURS
run "nothing listens on the TCP port: no relay candidate, gathering still completes" \
  --url 'turn:127.0.0.1:3478?transport=tcp' --expect-no-relay --timeout 10
grep -q 'TCP connect.*refused\|connect to 127.0.0.1:3478' "$T/out" || { cat "$T/out"; fail "no connect error in the log"; }

# ---- coTURN -------------------------------------------------------------------------------
if command -v turnserver >/dev/null; then
  turnserver -n --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --listening-port=3478 \
    --tls-listening-port=5349 --cert="$T/cert.pem" --pkey="$T/key.pem" \
    --min-port=49160 --max-port=49559 --lt-cred-mech --user=test:test123 --realm=example.org \
    --allow-loopback-peers --no-dtls --no-cli --log-file=stdout --simple-log \
    --pidfile="$T/coturn.pid" >"$T/coturn.log" 2>&1 &
  COTURN=$!
  track $COTURN
  port_up 3478 && port_up 5349 || { cat "$T/coturn.log"; fail "coturn did not start"; }
  run "coTURN, UDP" --url turn:127.0.0.1:3478 --proto udp
  run "coTURN, TCP" --url 'turn:127.0.0.1:3478?transport=tcp' --proto tcp
  run "coTURN, TLS" --url turns:127.0.0.1:5349 --ca "$T/cert.pem" --proto tls
  run "coTURN, TCP, bulk: 100 x 60000 bytes each way" --url 'turn:127.0.0.1:3478?transport=tcp' \
    --proto tcp --messages 100 --size 60000
  stop $COTURN
else
  echo "note: coturn not installed; its cases are skipped"
fi
echo "all pc_relay cases passed"
