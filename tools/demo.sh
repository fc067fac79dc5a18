#!/usr/bin/env bash
# make demo: the signaling server and the C peers (docs/signaling.md "The C peers").
#  1. `cwebrtc signal-server` on 127.0.0.1:8080 (or a free port if 8080 is taken);
#  2. `cwebrtc recv` and `cwebrtc send` join a room and move a generated 100 MB file
#     (SHA-256 checked); their setup time and throughput are printed;
#  3. the server and an `echo-bot` keep running in room "demo": open the printed URL in a
#     browser to chat with the bot (every message comes back) or send it files.
# Ctrl-C stops everything. DEMO_ONESHOT=1 exits after step 2 (for CI); DEMO_BYTES changes
# the file size. The STUN demo that was here before is tools/demo-stun.sh.
set -euo pipefail
build=${1:-build}
cw="$build/cwebrtc"
src=$(cd "$(dirname "$0")/.." && pwd)
bytes=${DEMO_BYTES:-100000000}
[ -x "$cw" ] || { echo "demo: $cw not built (run: make demo)" >&2; exit 1; }
tmp=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo; echo "demo: stopping"; exit 0' INT TERM

# wait_line FILE REGEX PID: until FILE has a line matching REGEX (10 s), or PID died
wait_line() {
  local i
  for i in $(seq 1 100); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

start_server() {
  "$cw" signal-server --listen "127.0.0.1:$1" --web "$src/web" >"$tmp/srv.out" 2>"$tmp/srv.err" &
  spid=$!
  if wait_line "$tmp/srv.out" '^listening http://' $spid; then pids+=($spid); return 0; fi
  kill $spid 2>/dev/null || true
  wait $spid 2>/dev/null || true
  return 1
}
echo "== cwebrtc signal-server"
start_server 8080 || start_server 0 || { cat "$tmp/srv.err" >&2; echo "demo: the signal server did not start" >&2; exit 1; }
port=$(sed -n 's|^listening http://127.0.0.1:\([0-9]*\)/$|\1|p' "$tmp/srv.out")
url="ws://127.0.0.1:$port/ws"
echo "listening on http://127.0.0.1:$port/ (WebSocket $url)"

echo; echo "== generating a $((bytes / 1000000)) MB file"
head -c "$bytes" /dev/urandom >"$tmp/demo.bin"
echo "sha256 $(sha256sum "$tmp/demo.bin" | cut -d' ' -f1)"
mkdir "$tmp/out"

echo; echo "== cwebrtc recv --room transfer (joins first) / cwebrtc send demo.bin --room transfer (offers)"
"$cw" recv --room transfer --signal "$url" --out "$tmp/out" >"$tmp/recv.out" 2>"$tmp/recv.err" &
rpid=$!
pids+=($rpid)
wait_line "$tmp/recv.out" '^ready' $rpid || { cat "$tmp/recv.err" >&2; echo "demo: recv did not join" >&2; exit 1; }
rc=0
"$cw" send "$tmp/demo.bin" --room transfer --signal "$url" 2>&1 | sed 's/^/  send: /' || rc=$?
rrc=0; wait $rpid || rrc=$?
grep -v '^progress' "$tmp/recv.out" | sed 's/^/  recv: /'
sed 's/^/  recv: /' "$tmp/recv.err"
if [ $rc -ne 0 ] || [ $rrc -ne 0 ]; then echo "demo: the transfer FAILED (send $rc, recv $rrc)" >&2; exit 1; fi
cmp -s "$tmp/demo.bin" "$tmp/out/demo.bin" || { echo "demo: the saved copy differs" >&2; exit 1; }
echo "transfer ok: the saved copy is identical"

if [ "${DEMO_ONESHOT:-0}" = 1 ]; then
  echo; echo "DEMO_ONESHOT=1: done"
  exit 0
fi

echo; echo "== cwebrtc echo-bot --room demo"
"$cw" echo-bot --room demo --signal "$url" --negotiated-id 7 >"$tmp/bot.out" 2>&1 &
bpid=$!
pids+=($bpid)
wait_line "$tmp/bot.out" '^ready' $bpid || { cat "$tmp/bot.out" >&2; echo "demo: echo-bot did not join" >&2; exit 1; }
cat "$tmp/bot.out"
echo
echo "Open http://127.0.0.1:$port/?room=demo in a browser: chat with the echo-bot (it sends"
echo "every message back) or send it a file. From another terminal:"
echo "  $cw chat --room demo --signal $url"
echo "Ctrl-C stops the server and the bot."
tail -n +2 -f "$tmp/bot.out" &
pids+=($!)
wait $bpid || true
