#!/usr/bin/env bash
# The C peers of the signaling protocol (docs/signaling.md "The C peers"), end to end through
# `cwebrtc signal-server`, inside a private network namespace:
#  1. `recv` + `send` of a generated file in both join orders (the newcomer offers), SHA-256
#     and the saved copy checked, exit codes 0; one sender to two receivers (--peers 2);
#  2. `echo-bot` joins, `chat` sends piped lines and prints them echoed back; echo-bot exits 0
#     on SIGTERM;
#  3. bad input: an unreachable or malformed signal URL, a bad room name (the server's error
#     is printed), and a receiver killed mid-transfer (send exits non-zero).
# Every process's stderr is checked for sanitizer reports (ASan build: leaks too).
BUILD=$1 SRC=$2
. "$SRC/tests/integration/lib.bash"
[ -x "$BUILD/cwebrtc" ] || { echo "cwebrtc not built"; exit 77; }
in_netns "$0" "$@"
CW="$BUILD/cwebrtc"
T=$(mktemp -d)
trap 'cleanup; rm -rf "$T"' EXIT
SECONDS=0

# Sizes: 20 MB normally; ASan+UBSan is several times slower, so less there.
if grep -q '^RTC_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
  BYTES=${APPS_TEST_BYTES:-3000000} BIG=60000000
else
  BYTES=${APPS_TEST_BYTES:-20000000} BIG=200000000
fi

sanitizer_clean() { ! grep -qE 'Sanitizer|runtime error|LeakSanitizer' "$@"; }

"$CW" signal-server --listen 127.0.0.1:0 --web "$SRC/web" >"$T/srv.out" 2>"$T/srv.err" &
SPID=$!
track $SPID
wait_for grep -q '^listening http://127.0.0.1:[0-9]*/$' "$T/srv.out" || { cat "$T/srv.err"; fail "server did not start"; }
PORT=$(sed -n 's|^listening http://127.0.0.1:\([0-9]*\)/$|\1|p' "$T/srv.out")
URL="ws://127.0.0.1:$PORT/ws"

head -c "$BYTES" /dev/urandom >"$T/file.bin"
SHA=$(sha256sum "$T/file.bin" | cut -d' ' -f1)

# transfer ROOM FIRST: FIRST (recv|send) joins first; the other is the newcomer and offers.
transfer() {
  local room=$1 first=$2 rpid spid rrc=0 src=0
  rm -rf "$T/out"; mkdir "$T/out"
  if [ "$first" = recv ]; then
    "$CW" recv --room "$room" --signal "$URL" --out "$T/out" >"$T/$room.recv" 2>"$T/$room.recv.err" & rpid=$!
    track $rpid
    wait_for grep -q '^ready room=' "$T/$room.recv" || fail "$room: recv did not join"
    timeout 60 "$CW" send "$T/file.bin" --room "$room" --signal "$URL" >"$T/$room.send" 2>"$T/$room.send.err" & spid=$!
  else
    timeout 60 "$CW" send "$T/file.bin" --room "$room" --signal "$URL" >"$T/$room.send" 2>"$T/$room.send.err" & spid=$!
    track $spid
    wait_for grep -q '^ready room=' "$T/$room.send" || fail "$room: send did not join"
    "$CW" recv --room "$room" --signal "$URL" --out "$T/out" >"$T/$room.recv" 2>"$T/$room.recv.err" & rpid=$!
  fi
  track $rpid; track $spid
  wait $spid || src=$?
  wait $rpid || rrc=$?
  if [ $src -ne 0 ] || [ $rrc -ne 0 ]; then
    cat "$T/$room.send" "$T/$room.send.err" "$T/$room.recv" "$T/$room.recv.err"
    fail "$room ($first first): send exit $src, recv exit $rrc"
  fi
  sanitizer_clean "$T/$room.send.err" "$T/$room.recv.err" || { cat "$T/$room".*err; fail "$room: sanitizer report"; }
  [ "$(sha256sum "$T/out/file.bin" | cut -d' ' -f1)" = "$SHA" ] || fail "$room: saved file differs"
  grep -q "sha256 $SHA ok" "$T/$room.recv" || fail "$room: recv did not report the SHA-256"
  grep -q 'file-ok, sha256 matches' "$T/$room.send" || fail "$room: send did not see file-ok"
  pass "$room: $first first: $(grep '^sent ' "$T/$room.send")"
}
transfer order1 recv
transfer order2 send

# one sender, two receivers
"$CW" recv --room multi --signal "$URL" >"$T/m1" 2>"$T/m1.err" & R1=$!; track $R1
wait_for grep -q '^ready' "$T/m1" || fail "multi: recv 1 did not join"
"$CW" recv --room multi --signal "$URL" >"$T/m2" 2>"$T/m2.err" & R2=$!; track $R2
wait_for grep -q '^ready' "$T/m2" || fail "multi: recv 2 did not join"
head -c 1000000 /dev/urandom >"$T/small.bin"
timeout 60 "$CW" send "$T/small.bin" --room multi --signal "$URL" --peers 2 >"$T/m.send" 2>"$T/m.send.err" ||
  { cat "$T/m.send" "$T/m.send.err" "$T/m1.err" "$T/m2.err"; fail "multi: send failed"; }
wait $R1 || fail "multi: recv 1 failed"
wait $R2 || fail "multi: recv 2 failed"
[ "$(grep -c 'file-ok, sha256 matches' "$T/m.send")" = 2 ] || fail "multi: not two file-oks"
sanitizer_clean "$T"/m*.err || fail "multi: sanitizer report"
pass "one sender, two receivers: $(grep '^sent ' "$T/m.send")"

# echo-bot + chat
"$CW" echo-bot --room echo --signal "$URL" --negotiated-id 7 >"$T/bot" 2>"$T/bot.err" & BPID=$!; track $BPID
wait_for grep -q '^ready room=echo id=[0-9a-f]*$' "$T/bot" || { cat "$T/bot.err"; fail "echo-bot: no ready line"; }
BOTID=$(sed -n 's/^ready room=echo id=//p' "$T/bot")
# a recv in the room too: it hears the chat lines, and stays connected while the bot stops
"$CW" recv --room echo --signal "$URL" >"$T/listener" 2>"$T/listener.err" & LPID=$!; track $LPID
wait_for grep -q 'connected' "$T/listener" || { cat "$T/listener.err"; fail "listener did not connect to the bot"; }
printf 'hello bot\nsecond line "quoted" é\n' | timeout 40 "$CW" chat --room echo --signal "$URL" >"$T/chat" 2>"$T/chat.err" ||
  { cat "$T/chat" "$T/chat.err" "$T/bot.err"; fail "chat failed"; }
grep -qxF "[$BOTID] hello bot" "$T/chat" || { cat "$T/chat" "$T/chat.err"; fail "chat: no echo of line 1"; }
grep -qxF "[$BOTID] second line \"quoted\" é" "$T/chat" || { cat "$T/chat"; fail "chat: no echo of line 2"; }
CHATID=$(sed -n 's/^joined room echo as //p' "$T/chat.err")
grep -qxF "[$CHATID] hello bot" "$T/listener" || { cat "$T/listener" "$T/chat.err"; fail "recv did not print the chat line"; }
wait_for grep -q "peer $CHATID closed" "$T/bot" || { cat "$T/bot"; fail "echo-bot: did not see the chat peer leave"; }
kill -TERM $BPID
rc=0; wait $BPID || rc=$?
[ $rc -eq 0 ] || { cat "$T/bot.err"; fail "echo-bot exit $rc on SIGTERM"; }
grep -q 'closed (shutdown)' "$T/bot" || { cat "$T/bot"; fail "echo-bot: the listener was not closed on SIGTERM"; }
kill -INT $LPID
rc=0; wait $LPID || rc=$?
[ $rc -eq 1 ] || { cat "$T/listener.err"; fail "recv interrupted before its file: exit $rc, want 1"; }
sanitizer_clean "$T/bot.err" "$T/chat.err" "$T/listener.err" || { cat "$T/bot.err" "$T/chat.err" "$T/listener.err"; fail "echo: sanitizer report"; }
pass "echo-bot echoed chat lines back, recv heard them; echo-bot exit 0 on SIGTERM with a peer connected"

# bad input
start=$SECONDS
rc=0; timeout 20 "$CW" recv --room x --signal ws://127.0.0.1:1/ws >/dev/null 2>"$T/bad1" || rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q 'cannot connect to 127.0.0.1:1' "$T/bad1" || { cat "$T/bad1"; fail "unreachable server: exit $rc"; }
rc=0; timeout 20 "$CW" send "$T/small.bin" --room x --signal http://127.0.0.1:$PORT/ >/dev/null 2>"$T/bad2" || rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q 'ws://' "$T/bad2" || { cat "$T/bad2"; fail "http:// URL: exit $rc"; }
rc=0; timeout 20 "$CW" echo-bot --room 'bad room!' --signal "$URL" >/dev/null 2>"$T/bad3" || rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q 'bad-room' "$T/bad3" || { cat "$T/bad3"; fail "bad room: exit $rc"; }
rc=0; timeout 20 "$CW" send "$T/nonexistent" --room x --signal "$URL" >/dev/null 2>"$T/bad4" || rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "missing file accepted"
"$CW" recv --signal "$URL" >/dev/null 2>&1 && fail "recv without --room accepted"
rc=0; timeout 20 "$CW" recv --room x --signal "ws://127.0.0.1:$PORT/notws" >/dev/null 2>"$T/bad5" || rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -qE 'refused the WebSocket upgrade|closed the connection during the handshake' "$T/bad5" || { cat "$T/bad5"; fail "wrong path: exit $rc"; }
sanitizer_clean "$T"/bad* || { cat "$T"/bad*; fail "bad input: sanitizer report"; }
# a hostile WebSocket server: one connection per case, in this order
MODES="huge binary garbage badjson frag badaccept manypeers mute"
cat >"$T/hostile.py" <<'PY'
import base64, hashlib, socket, struct, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); print(s.getsockname()[1], flush=True)
def frame(op, data, fin=True):
    n = len(data)
    h = bytes([(0x80 if fin else 0) | op])
    h += bytes([n]) if n < 126 else (bytes([126]) + struct.pack(">H", n) if n < 65536 else bytes([127]) + struct.pack(">Q", n))
    return h + data
for mode in sys.argv[1:]:
    s.settimeout(30)
    c, _ = s.accept()
    req = b""
    while b"\r\n\r\n" not in req: req += c.recv(4096)
    if mode == "mute":  # never answer the handshake: the client's 5 s timeout
        time.sleep(7); c.close(); continue
    key = [l.split(b":", 1)[1].strip() for l in req.split(b"\r\n") if l.lower().startswith(b"sec-websocket-key")][0]
    acc = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    if mode == "badaccept": acc = b"xxxx"
    c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acc + b"\r\n\r\n")
    if mode == "huge": c.sendall(bytes([0x81, 127]) + struct.pack(">Q", 1 << 62))
    elif mode == "binary": c.sendall(frame(2, b"\x00\x01"))
    elif mode == "garbage": c.sendall(bytes(range(256)) * 10)
    elif mode == "badjson":
        for m in [b"{not json", b"[1,2]", b'{"type":"joined","id":5,"peers":"x"}', b'{"type":"offer","from":"ab","sdp":"garbage"}',
                  b'{"type":"candidate","from":"ab","candidate":{"candidate":7}}', b'{"type":"peer-joined","id":"' + b"a" * 200 + b'"}']:
            c.sendall(frame(1, m))
        c.sendall(frame(8, b"\x03\xe8bye"))
    elif mode == "frag": c.sendall(frame(1, b'{"type":', fin=False) + frame(9, b"p") + frame(0, b'"pong"}') + frame(0, b"x"))
    elif mode == "manypeers":
        c.sendall(frame(1, ('{"type":"joined","id":"me","room":"r","peers":[%s]}' % ",".join('"p%d"' % i for i in range(100))).encode()))
    time.sleep(0.5)
    c.close()
PY
# shellcheck disable=SC2086
python3 "$T/hostile.py" $MODES >"$T/hostile.port" 2>"$T/hostile.err" &
HPID=$!; track $HPID
wait_for grep -q '[0-9]' "$T/hostile.port" || fail "hostile server did not start"
for m in $MODES; do
  rc=0; timeout 20 "$CW" recv --room r --signal "ws://127.0.0.1:$(cat "$T/hostile.port")/ws" >/dev/null 2>"$T/hostile-$m" || rc=$?
  [ $rc -eq 1 ] || { cat "$T/hostile-$m" "$T/hostile.err"; fail "hostile server, $m: exit $rc, want 1"; }
  sanitizer_clean "$T/hostile-$m" || { cat "$T/hostile-$m"; fail "hostile server, $m: sanitizer report"; }
done
grep -q 'no WebSocket handshake answer' "$T/hostile-mute" || { cat "$T/hostile-mute"; fail "silent server: no timeout message"; }
pass "hostile WebSocket server ($MODES): exit 1 with a reason each, e.g. '$(tail -1 "$T/hostile-huge")'"
[ $((SECONDS - start)) -lt 40 ] || fail "bad-input cases took $((SECONDS - start)) s"
pass "unreachable server, http:// URL, bad room, missing file, wrong path, silent server: clear errors, non-zero exits"

# a receiver killed mid-transfer: the sender must fail, not hang
truncate -s "$BIG" "$T/big.bin"
"$CW" recv --room kill --signal "$URL" >"$T/k.recv" 2>"$T/k.recv.err" & KR=$!; track $KR
wait_for grep -q '^ready' "$T/k.recv" || fail "kill: recv did not join"
timeout 60 "$CW" send "$T/big.bin" --room kill --signal "$URL" >"$T/k.send" 2>"$T/k.send.err" & KS=$!; track $KS
for _ in $(seq 1 600); do grep -q '^progress' "$T/k.recv" && break; sleep 0.05; done
kill -STOP $KR
grep -q '^progress' "$T/k.recv" || fail "kill: the transfer never started"
kill -KILL $KR
wait $KR 2>/dev/null || true
t0=$SECONDS
rc=0; wait $KS || rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || { cat "$T/k.send" "$T/k.send.err"; fail "kill: send exit $rc"; }
grep -q 'went away\|closed the chat channel\|failed' "$T/k.send.err" || { cat "$T/k.send.err"; fail "kill: no reason given"; }
sanitizer_clean "$T/k.send.err" || { cat "$T/k.send.err"; fail "kill: sanitizer report"; }
pass "receiver killed mid-transfer: send exit $rc after $((SECONDS - t0)) s: $(grep -m1 'went away\|closed\|failed' "$T/k.send.err")"

kill -TERM $SPID
rc=0; wait $SPID || rc=$?
[ $rc -eq 0 ] || fail "signal-server exit $rc"
sanitizer_clean "$T/srv.err" || { cat "$T/srv.err"; fail "signal-server: sanitizer report"; }
pass "all done in $SECONDS s"
