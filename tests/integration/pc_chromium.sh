#!/usr/bin/env bash
# tests/integration/pc_chromium.sh: a real headless Chromium against our peer connection,
# through tools/browser/run.sh (own network namespace, bounded, everything killed at exit):
#   1. Chromium offers, we answer and echo (text messages, 20 x 1 KiB);
#   2. we offer, Chromium answers and echoes (50 x 16 KiB);
#   3. Chromium offers, binary messages of 200000 bytes (10) echoed by us;
#   4. both with iceTransportPolicy "relay" through our `cwebrtc turn-server` (started in the
#      run's namespace): Chromium over UDP, we over TCP (turn:?transport=tcp); Chromium's
#      getStats must say the selected local candidate is relay (relayProtocol udp) and the
#      remote one relay; ours must say relay/tcp to relay.
# Exit 77 (skipped) without root, network namespaces or Chromium.
set -uo pipefail
build=$1
src=$2
peer="$build/pc_browser_peer"
[ -x "$peer" ] || { echo "pc_browser_peer not built"; exit 77; }
command -v chromium >/dev/null || { echo "chromium not installed"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "needs root for ip netns"; exit 77; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
rc=0
bash "$src/tools/browser/run.sh" --page peer.html --query 'role=offer&chan=a&messages=20&size=1024' \
  --result "$out/a.json" --timeout 60 --with "$peer answer a 2>>$out/native.log" || rc=$?
if [ $rc = 77 ]; then exit 77; fi
if [ $rc != 0 ]; then echo "FAIL: Chromium offerer"; cat "$out/a.json" "$out/native.log" 2>/dev/null; exit 1; fi
echo "ok: Chromium offers, cwebrtc answers: $(head -c 300 "$out/a.json")"
rc=0
bash "$src/tools/browser/run.sh" --page peer.html --query 'role=answer&chan=b&messages=50&size=16384' \
  --result "$out/b.json" --timeout 60 --with "$peer offer b 50 16384 2>>$out/native.log" || rc=$?
if [ $rc != 0 ]; then echo "FAIL: Chromium answerer"; cat "$out/b.json" "$out/native.log" 2>/dev/null; exit 1; fi
echo "ok: cwebrtc offers, Chromium answers: $(head -c 300 "$out/b.json")"
rc=0
bash "$src/tools/browser/run.sh" --page peer.html --query 'role=offer&chan=c&messages=10&size=200000&binary=1' \
  --result "$out/c.json" --timeout 60 --with "$peer answer c 2>>$out/native.log" || rc=$?
if [ $rc != 0 ]; then echo "FAIL: Chromium binary 200 kB"; cat "$out/c.json" "$out/native.log" 2>/dev/null; exit 1; fi
echo "ok: 10 binary messages of 200000 bytes echoed: $(head -c 200 "$out/c.json")"
if [ -x "$build/cwebrtc" ]; then
  ice=$(python3 -c 'import json,urllib.parse; print(urllib.parse.quote(json.dumps([{"urls": "turn:127.0.0.1:3478", "username": "test", "credential": "test123"}])))')
  turn="$build/cwebrtc turn-server --listen 127.0.0.1:3478 --realm example.org --user test:test123 --allow-loopback-peers --min-port 50000 --max-port 50999"
  rc=0
  bash "$src/tools/browser/run.sh" --page peer.html --query "role=offer&chan=d&messages=20&size=1024&policy=relay&ice=$ice" \
    --result "$out/d.json" --timeout 60 \
    --with "$turn >$out/turn.log 2>&1 & PEER_TURN_URL='turn:127.0.0.1:3478?transport=tcp' PEER_TURN_USER=test PEER_TURN_PASS=test123 PEER_POLICY=relay $peer answer d 2>>$out/native-d.log" || rc=$?
  cat "$out/native-d.log" >>"$out/native.log" 2>/dev/null
  if [ $rc != 0 ]; then echo "FAIL: Chromium relay through our TURN server"; cat "$out/d.json" "$out/native-d.log" "$out/turn.log" 2>/dev/null; exit 1; fi
  check='
import json, sys
r = json.load(open(sys.argv[1]))
l, rem = r["stats"].get("local") or {}, r["stats"].get("remote") or {}
print("  Chromium selected pair: local %s (relayProtocol %s) -> remote %s" % (l.get("candidateType"), l.get("relayProtocol"), rem.get("candidateType")))
ok = l.get("candidateType") == "relay" and l.get("relayProtocol") == "udp" and rem.get("candidateType") == "relay"
ok = ok and "typ host" not in r["localSdp"] and r["received"] == 20
sys.exit(0 if ok else 1)'
  python3 -c "$check" "$out/d.json" || { echo "FAIL: Chromium's selected pair is not relay/relay"; exit 1; }
  grep -q 'native: selected pair local relay/tcp remote relay' "$out/native-d.log" ||
    { echo "FAIL: our selected pair is not relay/tcp to relay"; cat "$out/native-d.log"; exit 1; }
  echo "ok: iceTransportPolicy relay through cwebrtc turn-server, Chromium over UDP and cwebrtc over TCP, 20 x 1 KiB echoed"
else
  echo "note: cwebrtc not built; the relay case is skipped"
fi
echo "native side:"; cat "$out/native.log"
