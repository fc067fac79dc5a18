#!/usr/bin/env bash
# The STUN demo (make demo, until the peer connection exists): start `cwebrtc stun-server`
# on loopback, ask it for our mapped address over UDP and TCP, and ask coturn the same
# question when it is installed. Everything stays on 127.0.0.1 and stops by itself.
set -euo pipefail
build=${1:-build}
cw="$build/cwebrtc"
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

echo "== cwebrtc stun-server on 127.0.0.1 (ephemeral port)"
"$cw" stun-server --listen 127.0.0.1:0 >"$tmp/srv" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do grep -q tcp "$tmp/srv" 2>/dev/null && break; sleep 0.1; done
cat "$tmp/srv"
port=$(awk '$2=="udp"{sub(/.*:/,"",$3); print $3}' "$tmp/srv")

echo; echo "== cwebrtc stun 127.0.0.1:$port (UDP)"
"$cw" stun "127.0.0.1:$port"
echo; echo "== cwebrtc stun 127.0.0.1:$port --tcp"
"$cw" stun "127.0.0.1:$port" --tcp

if command -v turnserver >/dev/null; then
  cport=$(( 20000 + RANDOM % 20000 ))
  echo; echo "== coturn on 127.0.0.1:$cport, asked by cwebrtc stun"
  turnserver -n --listening-ip=127.0.0.1 --listening-port="$cport" --no-tls --no-dtls --no-cli \
    --log-file=stdout --simple-log --no-auth --pidfile="$tmp/turn.pid" >"$tmp/turn.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 50); do "$cw" stun "127.0.0.1:$cport" --rto 50 >/dev/null 2>&1 && break; sleep 0.1; done
  "$cw" stun "127.0.0.1:$cport"
fi
echo; echo "demo done"
