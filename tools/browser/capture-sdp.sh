#!/usr/bin/env bash
# tools/browser/capture-sdp.sh: capture Chromium's real SDPs into tests/data/sdp/ (the SDP corpus).
#   capture-sdp.sh [out_dir]      (default: <repo>/tests/data/sdp)
# Runs pages/sdp.html once per scenario through run.sh and writes each SDP byte for byte (CRLF, as
# RTCSessionDescription.sdp has it) to chromium-<scenario>[-offer|-answer].sdp.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../tests/data/sdp}
mkdir -p "$out"
tmp=$(mktemp /tmp/cwrtc-capture.XXXXXX.json)
trap 'rm -f "$tmp"' EXIT
# dc-snap-offer: Chromium with the experimental features of interop-checklist.md (a=sctp-init,
# ice-options sped): an SDP a stack must accept even if it ignores those attributes.
for scenario in dc-offer av-offer av-dc-offer dc-answer av-answer dc-snap-offer; do
  flags=()
  if [ "$scenario" = dc-snap-offer ]; then
    flags=(--chromium-flag=--enable-blink-features=WebRtcSctpSnap
           --chromium-flag=--force-fieldtrials=WebRTC-IceHandshakeDtls/Enabled/)
  fi
  bash "$here/run.sh" --page sdp.html --query "scenario=${scenario/-snap/}" --result "$tmp" \
    --timeout 60 ${flags[@]+"${flags[@]}"}
  python3 - "$tmp" "$out" "$scenario" <<'PY'
import json, sys, os
res, out, scenario = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
base = "chromium-" + scenario.replace("-offer", "").replace("-answer", "")
files = {base + "-offer.sdp": res["offer"]} if scenario.endswith("-offer") else \
        {base + "-answer-offer.sdp": res["offer"], base + "-answer.sdp": res["answer"]}
for name, sdp in files.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(sdp.encode())
    print("wrote", os.path.join(out, name), len(sdp), "bytes")
print("user agent:", res.get("userAgent"))
PY
done
