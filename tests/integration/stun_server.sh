#!/usr/bin/env bash
# `cwebrtc stun-server` answers a real third-party client (coturn's turnutils_stunclient)
# and our own client over UDP and TCP, v4 and v6; 420 for unknown comprehension-required
# attributes; and `cwebrtc stun` fails clearly on a silent server, a refused TCP
# connection, an unknown host and a malformed answer.
BUILD=$1 SRC=$2
. "$SRC/tests/integration/lib.bash"
[ -x "$BUILD/cwebrtc" ] || { echo "cwebrtc not built"; exit 77; }
in_netns "$0" "$@"
CW="$BUILD/cwebrtc"
T=$(mktemp -d)
trap 'cleanup; rm -rf "$T"' EXIT
n=0

"$CW" stun-server --listen 127.0.0.1:0 --listen '[::1]:0' >"$T/srv" 2>&1 &
track $!
wait_for grep -q 'tcp \[::1\]' "$T/srv" || { cat "$T/srv"; fail "server did not start"; }
P4=$(awk '$2=="udp" && $3 ~ /^127/{sub(/.*:/,"",$3); print $3}' "$T/srv")
P6=$(awk '$2=="udp" && $3 ~ /^\[/{sub(/.*:/,"",$3); print $3}' "$T/srv")

if command -v turnutils_stunclient >/dev/null; then
  timeout 10 turnutils_stunclient -p "$P4" 127.0.0.1 >"$T/tu" 2>&1 || { cat "$T/tu"; fail "turnutils_stunclient failed"; }
  grep -q "UDP reflexive addr: 127.0.0.1:[0-9]" "$T/tu" || { cat "$T/tu"; fail "turnutils_stunclient: no reflexive address"; }
  pass "turnutils_stunclient: $(grep -m1 -o 'UDP reflexive addr: .*' "$T/tu")"; n=$((n+1))
else
  echo "coturn not installed: skipping turnutils_stunclient"
fi

for args in "127.0.0.1:$P4" "127.0.0.1:$P4 --tcp" "[::1]:$P6" "[::1]:$P6 --tcp"; do
  # shellcheck disable=SC2086
  "$CW" stun $args >"$T/out" 2>&1 || { cat "$T/out"; fail "cwebrtc stun $args"; }
  m=$(awk '$1=="mapped"{print $2}' "$T/out"); l=$(awk '$1=="local"{print $2}' "$T/out")
  [ "${m##*:}" = "${l##*:}" ] || fail "$args: mapped $m local $l"
  grep -q "software  cwebrtc" "$T/out" || fail "$args: no SOFTWARE"
  pass "cwebrtc stun $args -> $m"; n=$((n+1))
done

# Raw requests from python: 420 with UNKNOWN-ATTRIBUTES, and silence for garbage.
python3 - "$P4" <<'PY' || fail "raw request checks"
import os, socket, struct, sys, zlib
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
tid = os.urandom(12)
attr = struct.pack("!HH", 0x7ffe, 4) + b"abcd"          # unknown, comprehension-required
msg = struct.pack("!HHI", 0x0001, len(attr), 0x2112A442) + tid + attr
s.sendto(msg, ("127.0.0.1", port))
r, _ = s.recvfrom(1500)
typ, ln, cookie = struct.unpack("!HHI", r[:8])
assert typ == 0x0111, hex(typ)                           # Binding error response
assert r[8:20] == tid
off, code, unknown = 20, None, []
while off + 4 <= len(r):
    t, l = struct.unpack("!HH", r[off:off+4]); v = r[off+4:off+4+l]
    if t == 0x0009: code = v[2] * 100 + v[3]
    if t == 0x000A: unknown = [struct.unpack("!H", v[i:i+2])[0] for i in range(0, l, 2)]
    off += 4 + (l + 3) // 4 * 4
assert code == 420, code
assert unknown == [0x7ffe], unknown
# Garbage and a bad FINGERPRINT get no answer.
s.sendto(b"\x00\x01\x00\x00garbage!", ("127.0.0.1", port))
fp = struct.pack("!HHI", 0x8028, 4, 0xdeadbeef)
s.sendto(struct.pack("!HHI", 1, 8, 0x2112A442) + tid + fp, ("127.0.0.1", port))
s.settimeout(0.5)
try:
    s.recvfrom(1500); print("unexpected answer"); sys.exit(1)
except socket.timeout:
    pass
print("ok: 420 with UNKNOWN-ATTRIBUTES; garbage and bad fingerprint dropped")
PY
n=$((n+1))

# Failures are clear and exit non-zero.
python3 -c '
import socket
s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
s.settimeout(10)
d, a = s.recvfrom(1500)
s.sendto(b"\x01\x01\x00\x04\x21\x12\xa4\x42" + d[8:20] + b"\x00\x20", a)  # truncated attr
' >"$T/bad" &
track $!
wait_for test -s "$T/bad"
BP=$(head -1 "$T/bad")
if "$CW" stun "127.0.0.1:$BP" --rto 200 >"$T/out" 2>&1; then fail "malformed answer accepted"; fi
grep -q "malformed response" "$T/out" || { cat "$T/out"; fail "no clear malformed error"; }
pass "malformed answer: $(cat "$T/out")"; n=$((n+1))

start=$(date +%s%N)
if "$CW" stun 127.0.0.1:9 --rto 10 >"$T/out" 2>&1; then fail "silent server succeeded"; fi
grep -q "timed out after 7 transmissions" "$T/out" || { cat "$T/out"; fail "no timeout message"; }
ms=$(( ($(date +%s%N) - start) / 1000000 ))
# RFC 8489 §6.2.1: 10 ms * (1+2+...+32) + 16 * 10 ms = 790 ms.
[ "$ms" -ge 780 ] && [ "$ms" -lt 3000 ] || fail "timeout after $ms ms, expected ~790"
pass "silent server: timeout after $ms ms"; n=$((n+1))

if "$CW" stun 127.0.0.1:9 --tcp >"$T/out" 2>&1; then fail "refused tcp succeeded"; fi
grep -q "refused" "$T/out" || { cat "$T/out"; fail "no refused message"; }
pass "tcp refused: $(cat "$T/out")"; n=$((n+1))

if "$CW" stun no-such-host.invalid >"$T/out" 2>&1; then fail "unknown host succeeded"; fi
grep -q "cannot resolve" "$T/out" || { cat "$T/out"; fail "no resolve message"; }
pass "dns: $(cat "$T/out")"; n=$((n+1))

echo "$n passed, 0 failed"
