#!/usr/bin/env bash
# `cwebrtc stun` against coturn's STUN service (Debian coturn, a real third-party server):
# the mapped address must equal our socket's own address (loopback has no NAT), over
# UDP and TCP, IPv4 and IPv6, and coturn's SOFTWARE must be reported.
BUILD=$1 SRC=$2
. "$SRC/tests/integration/lib.bash"
[ -x "$BUILD/cwebrtc" ] || { echo "cwebrtc not built"; exit 77; }
in_netns "$0" "$@"
command -v turnserver >/dev/null || { echo "coturn not installed"; exit 77; }
CW="$BUILD/cwebrtc"
T=$(mktemp -d)
track_dir() { rm -rf "$T"; }
trap 'cleanup; track_dir' EXIT

turnserver -n --listening-ip=127.0.0.1 --listening-ip=::1 --listening-port=3478 \
  --no-tls --no-dtls --no-cli --log-file=stdout --simple-log --pidfile="$T/turn.pid" \
  --no-auth >"$T/turn.log" 2>&1 &
track $!
wait_for "$CW" stun 127.0.0.1:3478 --rto 50 || { cat "$T/turn.log"; fail "coturn did not come up"; }

check() { # $1 = label, $2 = expected mapped IP, rest = cwebrtc stun args
  local label=$1 want_ip=$2; shift 2
  "$CW" stun "$@" >"$T/out" 2>&1 || { cat "$T/out"; fail "$label: cwebrtc stun failed"; }
  local mapped local_ sw
  mapped=$(awk '$1=="mapped"{print $2}' "$T/out")
  local_=$(awk '$1=="local"{print $2}' "$T/out")
  sw=$(awk '$1=="software"{$1=""; print}' "$T/out")
  # The UDP socket is bound to the wildcard, so compare its port; TCP knows its address.
  [ "${mapped##*:}" = "${local_##*:}" ] || fail "$label: mapped port ${mapped##*:} != local ${local_##*:}"
  [ "${mapped%:*}" = "$want_ip" ] || fail "$label: mapped ip ${mapped%:*} != $want_ip"
  case "$sw" in *Coturn*) ;; *) fail "$label: SOFTWARE not reported: $sw" ;; esac
  pass "$label: mapped $mapped (software$sw)"
}
check udp4 127.0.0.1 127.0.0.1:3478
check tcp4 127.0.0.1 127.0.0.1:3478 --tcp
check udp6 '[::1]' '[::1]:3478'
check tcp6 '[::1]' '[::1]:3478' --tcp
check uri  127.0.0.1 stun:127.0.0.1:3478
echo "5 passed, 0 failed"
