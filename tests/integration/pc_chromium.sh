#!/usr/bin/env bash
# tests/integration/pc_chromium.sh: a real headless Chromium against our peer connection,
# through tools/browser/run.sh (own network namespace, bounded, everything killed at exit):
#   1. Chromium offers, we answer and echo (text messages, 20 x 1 KiB);
#   2. we offer, Chromium answers and echoes (50 x 16 KiB);
#   3. Chromium offers, binary messages of 200000 bytes (10) echoed by us.
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
echo "native side:"; cat "$out/native.log"
