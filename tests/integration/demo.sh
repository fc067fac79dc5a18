#!/usr/bin/env bash
# tests/integration/demo.sh: keeps `make demo` true. Runs tools/demo.sh (the README's first
# command after the build) in its own network namespace with a smaller file and
# DEMO_ONESHOT=1, then the long-running part for a few seconds: the echo bot must join and
# Ctrl-C (SIGINT) must stop everything with exit 0 and no process left behind.
src=$2
build=$1
source "$src/tests/integration/lib.bash"
in_netns "$0" "$@"
[ -x "$build/cwebrtc" ] || { echo "cwebrtc not built"; exit 77; }
out=$(mktemp -d)
trap 'cleanup; rm -rf "$out"' EXIT

bytes=${DEMO_TEST_BYTES:-10000000}
DEMO_ONESHOT=1 DEMO_BYTES=$bytes timeout 120 bash "$src/tools/demo.sh" "$build" >"$out/oneshot.log" 2>&1 ||
  { cat "$out/oneshot.log"; fail "demo (oneshot) exited non-zero"; }
grep -q "transfer ok: the saved copy is identical" "$out/oneshot.log" || { cat "$out/oneshot.log"; fail "no transfer verdict"; }
grep -E "MB/s" "$out/oneshot.log" | head -3
pass "DEMO_ONESHOT: $bytes bytes moved and verified"

# the interactive part: server + echo bot stay up until SIGINT
DEMO_BYTES=100000 setsid bash "$src/tools/demo.sh" "$build" >"$out/live.log" 2>&1 &
dpid=$!
track $dpid
ok=0
for i in $(seq 1 300); do
  grep -q "?room=demo" "$out/live.log" && { ok=1; break; }
  kill -0 $dpid 2>/dev/null || break
  sleep 0.1
done
[ $ok = 1 ] || { cat "$out/live.log"; fail "the demo did not print the browser URL"; }
url=$(grep -o 'http://127.0.0.1:[0-9]*/?room=demo' "$out/live.log" | head -1)
page=$(curl -s "${url%%\?*}" 2>/dev/null || python3 -c "import urllib.request,sys;print(urllib.request.urlopen(sys.argv[1]).read().decode())" "${url%%\?*}")
echo "$page" | grep -qi "<html" || fail "the printed URL does not serve the page"
pass "live demo prints $url and serves the page"
kill -INT -- -$dpid 2>/dev/null || kill -INT $dpid
rc=0
for i in $(seq 1 100); do kill -0 $dpid 2>/dev/null || break; sleep 0.1; done
kill -0 $dpid 2>/dev/null && fail "demo still running 10 s after SIGINT"
wait $dpid || rc=$?
[ $rc = 0 ] || { cat "$out/live.log"; fail "demo exited $rc on SIGINT"; }
sleep 0.2
if pgrep -g $dpid >/dev/null; then pgrep -a -g $dpid; fail "processes of the demo left behind"; fi
pass "SIGINT stops the demo (exit 0, nothing left running)"
