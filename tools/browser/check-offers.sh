#!/usr/bin/env bash
# tools/browser/check-offers.sh [--browser chromium|firefox] [--save DIR] OFFER.sdp...
# Hands each SDP offer to a headless browser (pages/sdp.html?scenario=answer-remote): its
# setRemoteDescription + createAnswer must accept it. Prints ACCEPTED/REJECTED per file (with the
# browser's error); with --save, writes the answer to DIR/<browser>-answer-to-<name>.sdp.
# Exit status: number of rejected offers (0 = all accepted), 77 when Chromium/netns are unavailable.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
save=""
browser=chromium
if [ "${1:-}" = --browser ]; then browser=$2; shift 2; fi
if [ "${1:-}" = --save ]; then save=$2; shift 2; fi
query=scenario=answer-remote
run_args=()
if [ "$browser" = firefox ]; then  # see capture-sdp.sh
  query="$query&partial=1"
  run_args=(--dummy-addr 10.99.0.1/24)
fi
[ $# -gt 0 ] || { echo "usage: check-offers.sh [--save DIR] OFFER.sdp..." >&2; exit 2; }
tmp=$(mktemp /tmp/cwrtc-check.XXXXXX.json)
trap 'rm -f "$tmp"' EXIT
rejected=0
for f in "$@"; do
  abs=$(cd "$(dirname "$f")" && pwd)/$(basename "$f")
  # The --with command posts the offer into the page's mailbox (python: no curl needed).
  post="python3 -c 'import sys,urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=open(sys.argv[2],\"rb\").read(), method=\"POST\")).read()' \"\$HARNESS_URL/msg/remote-offer\" '$abs'"
  bash "$here/run.sh" --browser "$browser" --page sdp.html --query "$query" --timeout 40 \
    --with "$post" --result "$tmp" ${run_args[@]+"${run_args[@]}"} 2>/dev/null
  rc=$?
  [ $rc = 77 ] && exit 77
  python3 - "$tmp" "$f" "$save" "$browser" <<'PY'
import json, os, sys
path, name, save, browser = sys.argv[1], os.path.basename(sys.argv[2]), sys.argv[3], sys.argv[4]
try:
    r = json.load(open(path))
except (OSError, ValueError):
    print("%-34s NO RESULT" % name); sys.exit(1)
if not r.get("ok"):
    print("%-34s REJECTED: %s" % (name, r.get("error", "").splitlines()[0])); sys.exit(1)
print("%-34s ACCEPTED (answer %d bytes)" % (name, len(r["answer"])))
if save:
    prefix = "chromium" if browser == "chromium" else "firefox-real"
    out = os.path.join(save, prefix + "-answer-to-" + name.replace("-offer", ""))
    open(out, "wb").write(r["answer"].encode())
    print("%-34s   saved %s" % ("", out))
PY
  [ $? = 0 ] || rejected=$((rejected + 1))
  rm -f "$tmp"
done
exit $rejected
