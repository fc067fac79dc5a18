#!/usr/bin/env bash
# tests/integration/pc_firefox.sh: a real headless Firefox (Debian firefox-esr) against our peer
# connection, through tools/browser/run.sh --browser firefox (own network namespace, bounded,
# everything killed at exit):
#   1. Firefox offers, we answer and echo (text messages, 20 x 1 KiB);
#   2. we offer, Firefox answers and echoes (50 x 16 KiB);
#   3. Firefox offers, binary messages of 200000 bytes (10) echoed by us.
# Each case also checks that the peer really was Firefox, that its DTLS transport is connected
# and that our native side saw the connection and the channel.
# Firefox gathers no loopback candidates: run.sh gives its namespace a routed 10.99.0.1 (see
# tools/browser/README.md); our side binds 127.0.0.1 and reaches it through the local route.
# Exit 77 (skipped) without root, network namespaces or firefox-esr. About 40 s.
set -uo pipefail
build=$1
src=$2
peer="$build/pc_browser_peer"
[ -x "$peer" ] || { echo "pc_browser_peer not built"; exit 77; }
command -v firefox-esr >/dev/null || command -v firefox >/dev/null ||
  { echo "firefox-esr not installed (apt-get install -y firefox-esr)"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "needs root for ip netns"; exit 77; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

check='
import json, sys
r = json.load(open(sys.argv[1])); n = int(sys.argv[2])
d = r["stats"].get("dtls") or {}
print("  %s: sent %s received %s, timing %s, DTLS %s %s, pair %s -> %s" % (r["userAgent"].split()[-1],
      r["sent"], r["received"], r["timing"], d.get("tls"), d.get("cipher"),
      (r["stats"].get("local") or {}).get("candidateType"), (r["stats"].get("remote") or {}).get("candidateType")))
ok = "Firefox/" in r["userAgent"] and r["received"] == n and r["sent"] == n and d.get("state") == "connected"
sys.exit(0 if ok else 1)'

# run NAME QUERY MESSAGES NATIVE-ARGS...: one run.sh case; exits the script on failure.
run() {
  local name=$1 query=$2 n=$3
  shift 3
  local rc=0
  bash "$src/tools/browser/run.sh" --browser firefox --page peer.html --query "$query" \
    --result "$out/$name.json" --timeout 60 --with "$peer $* 2>$out/native-$name.log" || rc=$?
  if [ $rc = 77 ]; then echo "run.sh skipped (exit 77)"; exit 77; fi
  if [ $rc != 0 ] || ! python3 -c "$check" "$out/$name.json" "$n" ||
     ! grep -q 'native: connection connected' "$out/native-$name.log" ||
     ! grep -q 'native: channel .* open' "$out/native-$name.log" ||
     grep -q 'ERROR: AddressSanitizer\|runtime error:' "$out/native-$name.log"; then
    echo "FAIL: $name"
    cat "$out/$name.json" "$out/native-$name.log" 2>/dev/null
    exit 1
  fi
}

run a 'role=offer&chan=a&messages=20&size=1024' 20 answer a
echo "ok: Firefox offers, cwebrtc answers, 20 x 1 KiB echoed"
run b 'role=answer&chan=b&messages=50&size=16384' 50 offer b 50 16384
grep -q 'native: sent 50, echoed 50$' "$out/native-b.log" ||
  { echo "FAIL: our side did not get its 50 echoes"; cat "$out/native-b.log"; exit 1; }
echo "ok: cwebrtc offers, Firefox answers, 50 x 16 KiB echoed"
run c 'role=offer&chan=c&messages=10&size=200000&binary=1' 10 answer c
echo "ok: Firefox offers, 10 binary messages of 200000 bytes echoed"
echo "native side:"; cat "$out"/native-*.log
