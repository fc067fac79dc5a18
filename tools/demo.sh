#!/usr/bin/env bash
# make demo: until the peer connection exists, the STUN demo (see README).
set -euo pipefail
build=${1:-build}
exec bash "$(dirname "$0")/demo-stun.sh" "$build"
