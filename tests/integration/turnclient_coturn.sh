#!/usr/bin/env bash
# Our TURN client core (driven by tests/unit/turn/turn_probe.c) against Debian coturn,
# started here inside a private network namespace: allocate with the 401 dance, a
# permission and a channel for a UDP echo peer on 127.0.0.1, data both ways by Send/Data
# indications and by ChannelData, refresh, deallocate; over UDP and TCP. A second coturn
# with short permission/channel lifetimes and nonces that go stale after 4 s checks that
# the client's permission and channel refreshes and its 438 handling keep data flowing.
# Also: a wrong password is refused, and IPv6 relays over IPv6. Exit 77 when coturn or the probe is missing.
BUILD=$1 SRC=$2
. "$SRC/tests/integration/lib.bash"
in_netns "$0" "$@"
command -v turnserver >/dev/null || { echo "coturn not installed"; exit 77; }
PROBE="$BUILD/turn_probe"
[ -x "$PROBE" ] || { echo "turn_probe not built"; exit 77; }
T=$(mktemp -d)
track_dir() { rm -rf "$T"; }
trap 'cleanup; track_dir' EXIT

COTURN_PID=
start_coturn() { # $1 = port, $2 = log name, $3 = min relay port, rest = extra flags
  local port=$1 log=$2 minp=$3; shift 3
  turnserver -n --listening-ip=127.0.0.1 --listening-ip=::1 --relay-ip=127.0.0.1 --relay-ip=::1 \
    --listening-port="$port" \
    --min-port="$minp" --max-port=$((minp + 399)) --lt-cred-mech --user=test:test123 \
    --realm=example.org --allow-loopback-peers --no-tls --no-dtls --no-cli --log-file=stdout \
    --simple-log --pidfile="$T/$log.pid" "$@" >"$T/$log.log" 2>&1 &
  COTURN_PID=$!
  track $COTURN_PID
  # Up when it answers a TCP connect on the port (bounded: 10 s).
  local i
  for i in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  cat "$T/$log.log"; fail "coturn ($log) did not come up"
}

run() { # $1 = label, rest = probe args
  local label=$1; shift
  if ! timeout 60 "$PROBE" "$@" >"$T/out" 2>&1; then
    cat "$T/out"; tail -n 30 "$T"/*.log; fail "$label"
  fi
  grep '^ok' "$T/out" | sed "s/^/  /"
  pass "$label"
}

start_coturn 3478 main 49160
run "udp: allocate, permission, indications, channel, ChannelData, refresh, deallocate" \
  --server 127.0.0.1:3478
run "tcp: the same over TCP, from a turn: URI" --uri 'turn:127.0.0.1:3478?transport=tcp'
run "wrong password refused" --server 127.0.0.1:3478 --pass wrong --expect-auth-failure
run "udp over IPv6 with an IPv6 relay (REQUESTED-ADDRESS-FAMILY)" --server '[::1]:3478' --v6
run "tcp over IPv6 with an IPv6 relay" --server '[::1]:3478' --v6 --tcp

# Short lifetimes: permissions 6 s, channels 8 s, nonces stale after 4 s. The client
# refreshes permissions every 3 s and channels every 5 s; after 10 s the channel must
# still carry data both ways and a Refresh must get through (438 retried).
# One coTURN at a time: with two instances in one namespace, requests of the second one's
# clients were seen (under CPU load) landing in fresh coTURN sessions ("438 Wrong nonce",
# then 400 for lack of an allocation); separate relay port ranges as well.
kill "$COTURN_PID"; wait "$COTURN_PID" 2>/dev/null || true
start_coturn 3479 short 49600 --permission-lifetime=6 --channel-lifetime=8 --stale-nonce=4
run "udp: refreshes keep permission and channel alive past their lifetimes" \
  --server 127.0.0.1:3479 --verbose --soak-ms 10000 --perm-refresh-ms 3000 --chan-refresh-ms 5000
run "tcp: the same over TCP" \
  --server 127.0.0.1:3479 --tcp --verbose --soak-ms 10000 --perm-refresh-ms 3000 --chan-refresh-ms 5000
echo "7 passed, 0 failed"
