#!/usr/bin/env bash
# Installs what the build and the tests need, only when it is missing (Debian 12, root).
# Usage: tools/install-deps.sh [build|test|demo]
set -euo pipefail
want=${1:-test}
missing=()
need_cmd() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need_pc() { command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "$1" 2>/dev/null || missing+=("$2"); }
need_file() { [ -e "$1" ] || missing+=("$2"); }

need_cmd pkg-config pkg-config
need_cmd cmake cmake
need_cmd cc gcc
need_cmd make make
need_pc openssl libssl-dev
need_cmd openssl openssl
need_pc libwebsockets libwebsockets-dev   # signal-server HTTP/WebSocket
need_pc jansson libjansson-dev            # signal-server JSON
if [ "$want" = test ] || [ "$want" = demo ]; then
  need_cmd turnserver coturn            # reference STUN/TURN server for interop tests
  need_cmd ip iproute2                  # network namespaces for tests
fi
if [ "$want" = test ]; then
  need_cmd clang clang                  # libFuzzer targets
  need_file /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a libclang-rt-14-dev
  need_pc libsrtp2 libsrtp2-dev         # SRTP test oracle
  need_file /usr/include/usrsctp.h libusrsctp-dev   # SCTP reference peer
  need_cmd iptables iptables
  need_cmd chromium chromium            # real browser peer (namespaced tests)
  need_cmd firefox-esr firefox-esr      # second real browser (tests/integration/pc_firefox.sh)
  need_cmd avahi-daemon avahi-daemon    # third-party mDNS responder for the mDNS test
  need_cmd sysctl procps
fi

if [ ${#missing[@]} -gt 0 ]; then
  # Deduplicate while keeping order.
  pkgs=$(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++' | tr '\n' ' ')
  echo "install-deps: installing: $pkgs"
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: not root; please install: $pkgs" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
  # coturn's package may start a system service; our tests start their own instances.
  if command -v systemctl >/dev/null 2>&1; then systemctl stop coturn >/dev/null 2>&1 || true; fi
fi
