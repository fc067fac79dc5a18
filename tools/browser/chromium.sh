#!/usr/bin/env bash
# tools/browser/chromium.sh PROFILE_DIR TIMEOUT_S URL [extra chromium flags...]
# Execs headless Chromium with the harness's flags under `timeout` (headless never exits by itself).
# It does not switch namespaces: run it under `ip netns exec` (run.sh does; a --with command already
# runs inside the namespace, so it can start a second browser with this script directly).
# Flags (see /work/shared/notes/real-peers.md): --no-sandbox because we run as root; fake devices and
# fake UI so getUserMedia works without prompts; loopback candidates and no mDNS host names so the
# browser gathers plain 127.0.0.1 candidates; no background networking, sync or component updates.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: chromium.sh PROFILE_DIR TIMEOUT_S URL [flags...]" >&2; exit 2; }
profile=$1 t=$2 url=$3
shift 3
bin=$(command -v chromium || command -v chromium-browser || true)
[ -n "$bin" ] || { echo "chromium.sh: chromium not installed" >&2; exit 77; }
mkdir -p "$profile"
exec timeout -k 5 "$t" "$bin" \
  --headless=new --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --no-default-browser-check \
  --user-data-dir="$profile" \
  --use-fake-ui-for-media-stream --use-fake-device-for-media-stream \
  --allow-loopback-in-peer-connection --disable-features=WebRtcHideLocalIpsWithMdns \
  --enable-logging=stderr --v=0 \
  "$@" "$url"
