#!/usr/bin/env bash
# `cwebrtc signal-server` end to end, inside a private network namespace:
#  1. the protocol, every error path and every limit, with a minimal WebSocket client on the
#     python3 standard library (signal_client.py), three server configurations;
#  2. a clean exit on SIGTERM (no sanitizer report in the ASan build);
#  3. if chromium is installed: two headless Chromiums join one room through the server,
#     open the "chat" data channel, exchange text, and one sends a few MB to the other with
#     matching SHA-256 (web/app.js test mode, results POSTed to /test-result).
BUILD=$1 SRC=$2
. "$SRC/tests/integration/lib.bash"
[ -x "$BUILD/cwebrtc" ] || { echo "cwebrtc not built"; exit 77; }
command -v python3 >/dev/null || { echo "python3 missing"; exit 77; }
in_netns "$0" "$@"
CW="$BUILD/cwebrtc"
T=$(mktemp -d)
# browser helper processes may still write into their profiles for a moment: retry
trap 'cleanup; for _ in $(seq 1 30); do rm -rf "$T" 2>/dev/null && break; sleep 0.1; done' EXIT
FILE_BYTES=${SIGNAL_TEST_BYTES:-4000000}

# start_server NAME ARGS...: sets PORT and SPID; output in $T/NAME.{out,err}
start_server() {
  local name=$1; shift
  "$CW" signal-server --listen 127.0.0.1:0 --web "$SRC/web" "$@" >"$T/$name.out" 2>"$T/$name.err" &
  SPID=$!
  track $SPID
  wait_for grep -q '^listening http://127.0.0.1:[0-9]*/$' "$T/$name.out" ||
    { cat "$T/$name.err"; fail "$name: server did not start"; }
  PORT=$(sed -n 's|^listening http://127.0.0.1:\([0-9]*\)/$|\1|p' "$T/$name.out")
  [ "$PORT" -gt 0 ] || fail "$name: no port in $(cat "$T/$name.out")"
}

# stop_server NAME: SIGTERM, must exit 0 within 10 s with nothing on stderr (ASan/LSan/UBSan)
stop_server() {
  local name=$1 rc=0 i
  kill -TERM "$SPID"
  for i in $(seq 1 100); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$SPID" 2>/dev/null && fail "$name: server ignores SIGTERM"
  wait "$SPID" || rc=$?
  if [ $rc -ne 0 ] || grep -qE 'Sanitizer|runtime error|leak' "$T/$name.err"; then
    cat "$T/$name.err"; fail "$name: exit $rc or sanitizer report"
  fi
  pass "$name: clean exit on SIGTERM, stderr empty of sanitizer reports"
}

# usage errors
"$CW" signal-server >/dev/null 2>&1 && fail "no --listen accepted"
"$CW" signal-server --listen 127.0.0.1:99999 >/dev/null 2>&1 && fail "port 99999 accepted"
"$CW" signal-server --listen 127.0.0.1:0 --max-peers 0 >/dev/null 2>&1 && fail "--max-peers 0 accepted"
pass "bad command lines refused"

start_server basic --max-peers 3 --max-rooms 3 --max-connections 12 --max-message 4096 \
  --test-log "$T/basic.log"
timeout 120 python3 "$SRC/tests/integration/signal_client.py" 127.0.0.1 "$PORT" basic "$T/basic.log" ||
  { cat "$T/basic.err"; fail "basic suite"; }
stop_server basic

# IPv6 listen address; the page comes back over [::1]
"$CW" signal-server --listen '[::1]:0' --web "$SRC/web" >"$T/v6.out" 2>"$T/v6.err" &
SPID=$!
track $SPID
wait_for grep -q '^listening http://\[::1\]:[0-9]*/$' "$T/v6.out" || { cat "$T/v6.err"; fail "v6: no listening line"; }
PORT=$(sed -n 's|^listening http://\[::1\]:\([0-9]*\)/$|\1|p' "$T/v6.out")
python3 -c 'import sys,urllib.request; b=urllib.request.urlopen("http://[::1]:%s/" % sys.argv[1], timeout=5).read(); sys.exit(b"<html" not in b.lower())' "$PORT" ||
  fail "v6: page not served"
pass "listen on [::1]:$PORT serves the page"
stop_server v6

start_server rate --rate 10
timeout 60 python3 "$SRC/tests/integration/signal_client.py" 127.0.0.1 "$PORT" rate ||
  { cat "$T/rate.err"; fail "rate suite"; }
stop_server rate

start_server slow --rate 100000
timeout 60 python3 "$SRC/tests/integration/signal_client.py" 127.0.0.1 "$PORT" slow ||
  { cat "$T/slow.err"; fail "slow-reader suite"; }
stop_server slow

# ---- two browsers through the server ----
BIN=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$BIN" ]; then
  echo "SKIP: chromium not installed; browser-to-browser test skipped (apt-get install chromium)"
  echo "signal_server: protocol suites passed"
  exit 0
fi
start_server browser --test-log "$T/results.log"
ROOM="t$RANDOM$RANDOM"
BASE="http://127.0.0.1:$PORT/?room=$ROOM&peers=2"
ROOM2="e$RANDOM$RANDOM"
# has_result NAME EVENT: the page NAME reported EVENT (jansson keeps the page's key order)
has_result() { grep '"name":"'"$1"'"' "$T/results.log" | grep -q '"event":"'"$2"'"'; }
# start_browser NAME QUERY: one headless Chromium on the room page, bounded by timeout
start_browser() {
  bash "$SRC/tools/browser/chromium.sh" "$T/prof-$1" 90 "${3:-$BASE}&name=$1&$2" >"$T/chrome-$1.log" 2>&1 &
  track $!
  BROWSERS+=($!)
}
BROWSERS=()
# stop_browsers: SIGTERM to each `timeout` (it passes the signal on to Chromium), then reap
stop_browsers() {
  local pid
  for pid in "${BROWSERS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${BROWSERS[@]}"; do wait "$pid" 2>/dev/null || true; done
  BROWSERS=()
}
# A room of three: recv1 and recv2 join first, then send joins. The newcomer offers, so send
# offers to both, recv2 to recv1; send then sends one file to everyone in the room.
t0=$(date +%s)
start_browser recv1 test=recv
wait_for has_result recv1 ready || { tail -20 "$T/chrome-recv1.log"; fail "browser recv1 did not join"; }
start_browser recv2 test=recv
wait_for has_result recv2 ready || { tail -20 "$T/chrome-recv2.log"; fail "browser recv2 did not join"; }
start_browser send "test=send&bytes=$FILE_BYTES"
all_done() { { has_result send done && has_result recv1 done && has_result recv2 done; } ||
             grep -q '"ok":false' "$T/results.log"; }
for i in $(seq 1 900); do all_done && break; sleep 0.1; done
if ! all_done || grep -q '"ok":false' "$T/results.log"; then
  cat "$T/results.log"
  grep -h 'INFO:CONSOLE' "$T"/chrome-*.log | tail -30
  fail "browser test did not finish with ok"
fi
python3 - "$T/results.log" "$FILE_BYTES" <<'EOF2' || { cat "$T/results.log"; fail "browser results"; }
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
done = {r["name"]: r for r in rs if r.get("event") == "done"}
s, r1, r2 = done["send"], done["recv1"], done["recv2"]
n = int(sys.argv[2])
for r in (s, r1, r2):
    assert r["ok"] is True, r
# (offers, answers): the newcomer offers to every peer already in the room
assert (s["offers"], s["answers"]) == (2, 0), s
assert (r2["offers"], r2["answers"]) == (1, 1), r2
assert (r1["offers"], r1["answers"]) == (0, 2), r1
assert s["texts"] == ["hello from recv1", "hello from recv2"], s["texts"]
assert r1["texts"] == ["hello from recv2", "hello from send"], r1["texts"]
assert r2["texts"] == ["hello from recv1", "hello from send"], r2["texts"]
assert len(s["fileSha256"]) == 64 and s["fileBytes"] == n
for r in (r1, r2):
    assert r["fileBytes"] == n and r["fileSha256"] == s["fileSha256"] and r["fileName"] == s["fileName"], r
print("ok: 3 browsers in one room: full mesh (3 connections, newcomer offers), chat lines both ways, "
      "%d bytes to 2 receivers with matching SHA-256 %s...: %.1f and %.1f MB/s; sender done in %d ms; "
      "first channel open %d ms after page load"
      % (n, s["fileSha256"][:16], n / 1e3 / max(r1["fileMs"], 1), n / 1e3 / max(r2["fileMs"], 1),
         s["fileMs"], s["openMs"]))
EOF2
echo "three-browser test took $(( $(date +%s) - t0 )) s"
stop_browsers
t0=$(date +%s)
# Echo mode (what native peers' tests will talk to): the sender's hello, file announcement,
# chunks and verdict all come back, so the sender verifies its own file through the echo.
start_browser echo test=echo "http://127.0.0.1:$PORT/?room=$ROOM2"
wait_for has_result echo ready || { tail -20 "$T/chrome-echo.log"; fail "echo page did not join"; }
start_browser send2 "test=send&bytes=1000000&peers=1" "http://127.0.0.1:$PORT/?room=$ROOM2"
for i in $(seq 1 600); do has_result send2 done && break; sleep 0.1; done
grep '"name":"send2"' "$T/results.log" | grep '"event":"done"' | grep -q '"ok":true' ||
  { cat "$T/results.log"; grep -h 'INFO:CONSOLE' "$T/chrome-send2.log" | tail; fail "echo page"; }
grep '"name":"send2"' "$T/results.log" | grep -q '"texts":\["hello from send2"\]' || fail "echo: hello not echoed"
pass "echo page: 1 MB file and a chat line echoed back intact"
echo "echo test took $(( $(date +%s) - t0 )) s"
# Stop the server while both pages are still connected and in their room: shutdown must free
# every connection, queue and room (the ASan build reports leaks here otherwise).
stop_server browser
stop_browsers
echo "signal_server: all suites passed"
