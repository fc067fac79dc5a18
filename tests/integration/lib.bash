# Shared by tests/integration/*.sh (sourced; named .bash so CMake does not take it for a test).
# Every test re-executes itself inside a private network namespace (only `lo`), so fixed
# ports cannot collide with other tests or services and no packet leaves the machine.
# Every process a test starts is registered with `track` and killed at exit.

set -euo pipefail
TRACKED=()
track() { TRACKED+=("$1"); }
cleanup() {
  local pid
  for pid in "${TRACKED[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  for pid in "${TRACKED[@]:-}"; do
    [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

# in_netns "$0" "$@": re-exec inside a new network namespace with lo up.
in_netns() {
  if [ "${RTC_IN_NETNS:-}" != 1 ]; then
    if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
      export RTC_IN_NETNS=1
      exec unshare -n bash -c 'ip link set lo up && exec bash "$@"' bash "$@"
    fi
    echo "note: not root; running on the host loopback" >&2
  fi
}

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# wait_for CMD...: retry a command for up to 10 s.
wait_for() {
  local i
  for i in $(seq 1 100); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}
