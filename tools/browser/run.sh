#!/usr/bin/env bash
# tools/browser/run.sh: run one scenario page in headless Chromium, inside a network namespace of its
# own, and collect the JSON result the page POSTs back.
#
#   run.sh --page sdp.html --query 'scenario=dc-offer' --result out.json [--timeout 60]
#          [--browser chromium|firefox] [--with 'CMD'] [--chromium-flag FLAG]... [--netns NAME] [--keep]
#
#   --page        a file in tools/browser/pages/ (default sdp.html)
#   --query       query string handed to the page (its scenario and parameters)
#   --result      where the result JSON goes (required)
#   --timeout     seconds for the whole run, browser start to result (default 60)
#   --with CMD    a command started in the same namespace before the browser (the native end of an
#                 end-to-end test, or a second browser); it gets HARNESS_URL=http://127.0.0.1:PORT,
#                 HARNESS_PORT, HARNESS_DIR (this folder) and HARNESS_WORK (a scratch dir) in its
#                 environment (signaling goes through the server's /msg/<chan> mailboxes) and is
#                 killed at the end. Its output is shown when the run fails.
#   --browser     chromium (default; chromium.sh) or firefox (firefox.sh, Debian firefox-esr)
#   --chromium-flag  an extra flag for the browser (repeatable), e.g. --enable-blink-features=...
#   --netns NAME  use an existing namespace (not created, not deleted); default: a fresh one
#   --dummy-addr CIDR  also give the fresh namespace a non-loopback interface with this address
#                 (a veth pair, both ends inside; e.g. 10.99.0.1/24): Firefox gathers no loopback
#                 candidates, so it needs one (--browser firefox uses 10.99.0.1/24 by default)
#   --keep        keep the work directory (server/browser logs, profile) for debugging
#
# Exit status: 0 when the page reported {"ok": true, ...}; 1 when it reported a failure or no result
# came before the timeout; 2 on usage errors; 77 when chromium or network namespaces are unavailable
# (ctest's "skipped"). Needs root (ip netns). Every process it starts is killed by PID/process group
# at exit, and the namespace it created is always deleted (trap on EXIT, INT, TERM).
#
# Why a namespace: it holds only `lo`, so Chromium cannot reach update or safe-browsing hosts, and
# the flags below make it gather plain 127.0.0.1 host candidates (/work/shared/notes/real-peers.md).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
page=sdp.html
browser=chromium
query=""
result=""
timeout_s=60
with_cmd=""
netns=""
dummy_addr=""
keep=0
extra_flags=()

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --page) page=$2; shift 2 ;;
    --query) query=$2; shift 2 ;;
    --result) result=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --browser) browser=$2; shift 2 ;;
    --with) with_cmd=$2; shift 2 ;;
    --chromium-flag|--browser-flag) extra_flags+=("$2"); shift 2 ;;
    --chromium-flag=*|--browser-flag=*) extra_flags+=("${1#*-flag=}"); shift ;;
    --netns) netns=$2; shift 2 ;;
    --dummy-addr) dummy_addr=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage ;;
    *) echo "run.sh: unknown argument $1" >&2; usage ;;
  esac
done
[ -n "$result" ] || { echo "run.sh: --result is required" >&2; usage; }
[[ "$timeout_s" =~ ^[0-9]+$ ]] || { echo "run.sh: --timeout wants whole seconds" >&2; exit 2; }
[ -f "$here/pages/$page" ] || { echo "run.sh: no page $here/pages/$page" >&2; exit 2; }

case "$browser" in
  chromium) browser_bin=$(command -v chromium || command -v chromium-browser || true) ;;
  firefox) browser_bin=$(command -v firefox-esr || command -v firefox || true) ;;
  *) echo "run.sh: --browser is chromium or firefox" >&2; exit 2 ;;
esac
# Firefox (nICEr) gathers no candidates at all in a namespace with only lo: it drops the loopback
# addresses (even with media.peerconnection.ice.loopback) and then looks for the default-route
# address, which fails without a route ("ICE FAILED: Couldn't gather ICE candidates, error=10"),
# so its connectionState is "failed" about 100 ms after the page starts, before any signaling.
# A fresh namespace for Firefox therefore always gets a routed non-loopback address.
if [ "$browser" = firefox ] && [ -z "$netns" ] && [ -z "$dummy_addr" ]; then dummy_addr=10.99.0.1/24; fi
if [ -z "$browser_bin" ]; then echo "run.sh: $browser not installed (apt-get install -y ${browser/firefox/firefox-esr})" >&2; exit 77; fi
if [ "$(id -u)" != 0 ]; then echo "run.sh: needs root for ip netns" >&2; exit 77; fi

work=$(mktemp -d /tmp/cwrtc-browser.XXXXXX)
own_netns=0
server_pid=""
browser_pid=""
with_pid=""

kill_tree() { # kill a process group we started (setsid made $1 its leader), then the PID itself
  local pid=$1
  [ -n "$pid" ] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null || true
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  set +e
  kill_tree "$browser_pid"
  kill_tree "$with_pid"
  kill_tree "$server_pid"
  if [ "$own_netns" = 1 ]; then
    # Anything still inside (nothing should be) would keep the namespace's lo alive; kill by PID.
    for p in $(ip netns pids "$netns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    ip netns del "$netns" 2>/dev/null
  fi
  if [ "$keep" = 1 ]; then
    echo "run.sh: kept $work" >&2
  else
    # a browser helper may still be writing into the profile for a moment
    for _ in $(seq 1 30); do rm -rf "$work" 2>/dev/null && break; sleep 0.1; done
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "$netns" ]; then
  netns="cwrtc-br-$$-$RANDOM"
  if ! ip netns add "$netns" 2>"$work/netns.err"; then
    echo "run.sh: cannot create a network namespace: $(cat "$work/netns.err")" >&2
    exit 77
  fi
  own_netns=1
  if [ -n "$dummy_addr" ]; then
    # No "dummy" driver in this kernel: a veth pair with both ends inside the namespace.
    ip -n "$netns" link add cwrtc0 type veth peer name cwrtc1 &&
      ip -n "$netns" addr add "$dummy_addr" dev cwrtc0 &&
      ip -n "$netns" link set cwrtc1 up && ip -n "$netns" link set cwrtc0 up &&
      ip -n "$netns" route add default dev cwrtc0 ||
      { echo "run.sh: cannot add the extra interface" >&2; exit 1; }
  fi
fi
ip -n "$netns" link set lo up

# The page server; it exits by itself when the result arrives or after its lifetime.
rm -f "$result"
setsid ip netns exec "$netns" python3 "$here/server.py" --pages "$here/pages" \
  --result "$work/result.json" --port-file "$work/port" --lifetime "$((timeout_s + 5))" \
  2>"$work/server.log" &
server_pid=$!
# Bounded wait for the port (a loaded machine can take seconds to start python in a namespace).
for _ in $(seq 1 400); do
  [ -s "$work/port" ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.05
done
[ -s "$work/port" ] || { echo "run.sh: page server did not start" >&2; cat "$work/server.log" >&2; exit 1; }
port=$(cat "$work/port")
url="http://127.0.0.1:$port/$page${query:+?$query}"

if [ -n "$with_cmd" ]; then
  HARNESS_URL="http://127.0.0.1:$port" HARNESS_PORT="$port" HARNESS_DIR="$here" HARNESS_WORK="$work" \
    setsid ip netns exec "$netns" bash -c "$with_cmd" >"$work/with.log" 2>&1 &
  with_pid=$!
fi

setsid ip netns exec "$netns" bash "$here/$browser.sh" "$work/profile" "$timeout_s" "$url" \
  ${extra_flags[@]+"${extra_flags[@]}"} >"$work/browser.log" 2>&1 &
browser_pid=$!

# Wait (bounded) for the server to exit: it does so on the result or at its lifetime.
deadline=$((SECONDS + timeout_s + 10))
while kill -0 "$server_pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
  kill -0 "$browser_pid" 2>/dev/null || break
  sleep 0.2
done
# Give a result that is in flight a moment to land if the browser died first.
for _ in 1 2 3 4 5; do [ -s "$work/result.json" ] && break; sleep 0.2; done

grep -h '^page: ' "$work/server.log" >&2 || true
if [ ! -s "$work/result.json" ]; then
  echo "run.sh: no result within ${timeout_s}s; last $browser lines:" >&2
  grep -E 'CONSOLE|ERROR' "$work/browser.log" | tail -n 20 >&2 || tail -n 20 "$work/browser.log" >&2
  [ -z "$with_cmd" ] || { echo "run.sh: --with output:" >&2; tail -n 20 "$work/with.log" >&2; }
  exit 1
fi
cp "$work/result.json" "$result"
for extra in "$work"/result-*.json; do  # secondary results (POST /result/<name>)
  [ -e "$extra" ] || continue
  name=${extra##*/result-}
  cp "$extra" "${result%.json}-$name"
done
if python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1])).get("ok") else 1)' "$result"; then
  exit 0
fi
echo "run.sh: the page reported a failure:" >&2
python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("error"))' "$result" >&2
exit 1
