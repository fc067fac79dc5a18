#!/usr/bin/env bash
# tools/browser/capture-libdatachannel.sh [out_dir]   (default: <repo>/tests/data/sdp)
# Real libdatachannel SDPs for the corpus: installs node-datachannel (npm; a prebuilt libdatachannel
# ships inside the package) into a scratch dir, then runs capture-libdatachannel.cjs inside a fresh
# network namespace with only lo (no traffic leaves; the namespace is deleted at exit).
# Reuse an existing install with NODE_DATACHANNEL_DIR=<dir containing node_modules>.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "${1:-$here/../../tests/data/sdp}" && pwd)
command -v node >/dev/null || { echo "node not installed" >&2; exit 77; }
scratch=""
ns="cwrtc-ndc-$$-$RANDOM"
node_pid=""
cleanup() {
  set +e
  [ -z "$node_pid" ] || { kill -KILL "$node_pid" 2>/dev/null; wait "$node_pid" 2>/dev/null; }
  ip netns del "$ns" 2>/dev/null
  [ -z "$scratch" ] || rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
dir=${NODE_DATACHANNEL_DIR:-}
if [ -z "$dir" ]; then
  scratch=$(mktemp -d /tmp/cwrtc-ndc.XXXXXX)
  dir=$scratch
  (cd "$dir" && npm init -y >/dev/null && timeout 300 npm install --no-audit --no-fund node-datachannel@0.33 >/dev/null)
fi
ip netns add "$ns" || exit 77
ip -n "$ns" link set lo up
NODE_PATH="$dir/node_modules" ip netns exec "$ns" timeout -k 5 60 \
  node "$here/capture-libdatachannel.cjs" "$out" "$here/../../tests/data/sdp/chromium-dc-offer.sdp" &
node_pid=$!
wait "$node_pid"
node_pid=""
