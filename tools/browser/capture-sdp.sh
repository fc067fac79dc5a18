#!/usr/bin/env bash
# tools/browser/capture-sdp.sh [--browser chromium|firefox] [out_dir]
# Capture a browser's real SDPs into tests/data/sdp/ (the SDP corpus; default out_dir).
# Runs pages/sdp.html once per scenario through run.sh and writes each SDP byte for byte (CRLF, as
# RTCSessionDescription.sdp has it) to <prefix>-<scenario>[-offer|-answer].sdp, where the prefix is
# "chromium" or "firefox-real" (the hand-written firefox-*.sdp files predate the captures).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
browser=chromium
if [ "${1:-}" = --browser ]; then browser=$2; shift 2; fi
out=${1:-$here/../../tests/data/sdp}
mkdir -p "$out"
tmp=$(mktemp /tmp/cwrtc-capture.XXXXXX.json)
trap 'rm -f "$tmp"' EXIT
run_args=()
case "$browser" in
  chromium)
    prefix=chromium
    extra_query=""
    # dc-snap-offer: Chromium with the experimental features of interop-checklist.md
    # (a=sctp-init, ice-options "sped"): an SDP a stack must accept even if it ignores them.
    scenarios="dc-offer av-offer av-dc-offer dc-answer av-answer dc-snap-offer" ;;
  firefox)
    prefix=firefox-real
    # Firefox gathers no loopback candidates and, without a routed interface, never finishes
    # gathering: give it one (run.sh --dummy-addr); partial=1 is only a fallback.
    extra_query="&gather_ms=10000&partial=1"
    run_args=(--dummy-addr 10.99.0.1/24)
    scenarios="dc-offer av-offer av-dc-offer dc-answer av-answer" ;;
  *) echo "capture-sdp.sh: --browser chromium|firefox" >&2; exit 2 ;;
esac
for scenario in $scenarios; do
  flags=()
  if [ "$scenario" = dc-snap-offer ]; then
    flags=(--chromium-flag=--enable-blink-features=WebRtcSctpSnap
           --chromium-flag=--force-fieldtrials=WebRTC-IceHandshakeDtls/Enabled/)
  fi
  bash "$here/run.sh" --browser "$browser" --page sdp.html \
    --query "scenario=${scenario/-snap/}$extra_query" --result "$tmp" \
    --timeout 60 ${flags[@]+"${flags[@]}"} ${run_args[@]+"${run_args[@]}"}
  python3 - "$tmp" "$out" "$scenario" "$prefix" <<'PY'
import json, sys, os
res, out, scenario, prefix = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], sys.argv[4]
base = prefix + "-" + scenario.replace("-offer", "").replace("-answer", "")
files = {base + "-offer.sdp": res["offer"]} if scenario.endswith("-offer") else \
        {base + "-answer-offer.sdp": res["offer"], base + "-answer.sdp": res["answer"]}
for name, sdp in files.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(sdp.encode())
    print("wrote", os.path.join(out, name), len(sdp), "bytes")
print("user agent:", res.get("userAgent"), "gathering complete:", res.get("gatheringComplete"))
PY
done
