#!/usr/bin/env bash
# tools/browser/selftest.sh [messages] [offerer-browser] [answerer-browser] [extra run.sh args...]
# Checks the harness end to end with two browsers in one namespace (default chromium chromium;
# firefox works too): the main page is the offerer (pages/peer.html role=offer), the --with
# command starts the second browser as the answerer; they signal through the page server's
# mailboxes, open a data channel and echo `messages` messages. Prints both results' key figures.
# Exit status as run.sh (77 when a browser or netns is unavailable).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
n=${1:-20}
offerer=${2:-chromium}
answerer_browser=${3:-chromium}
shift $(( $# < 3 ? $# : 3 ))
extra=()
# Firefox needs a routed non-loopback interface to gather (see README): give the namespace one.
if [ "$offerer" = firefox ] || [ "$answerer_browser" = firefox ]; then extra=(--dummy-addr 10.99.0.1/24); fi
out=$(mktemp /tmp/cwrtc-selftest.XXXXXX.json)
trap 'rm -f "$out" "${out%.json}"-*.json' EXIT
answerer='bash "$HARNESS_DIR/'$answerer_browser'.sh" "$HARNESS_WORK/profile-answerer" 60 "$HARNESS_URL/peer.html?role=answer&chan=self&messages='$n'&result=answerer"'
bash "$here/run.sh" --browser "$offerer" --page peer.html --query "role=offer&chan=self&messages=$n" \
  --timeout 60 --with "$answerer" --result "$out" ${extra[@]+"${extra[@]}"} "$@"
python3 - "$out" "${out%.json}-answerer.json" "$n" <<'PY'
import json, sys
main = json.load(open(sys.argv[1]))
n = int(sys.argv[3])
print("offerer:", {k: main[k] for k in ("sent", "received", "timing")}, main["stats"].get("dtls"))
try:
    ans = json.load(open(sys.argv[2]))
    print("answerer:", {k: ans[k] for k in ("sent", "received", "timing")})
except OSError:
    print("answerer: no result file (it reports after the offerer, when the run may be over)")
sys.exit(0 if main["received"] == n and main["sent"] == n else 1)
PY
