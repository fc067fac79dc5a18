#!/usr/bin/env bash
# A real browser against the C peers, through `cwebrtc signal-server` and its web page
# (web/app.js ?test=cpeer, results POSTed to /test-result), in a private network namespace.
# One headless Chromium (or Firefox, CPEER_BROWSER=firefox) runs the four pages in turn (web/cpeer.html):
#  A. `cwebrtc echo-bot --negotiated-id 7` joins first, headless Chromium joins and offers;
#  B. Chromium joins first, the echo bot joins and offers;
#     in both (trickle ICE): channels "reliable", "unordered" (ordered:false), "mrt0"
#     (maxRetransmits:0) and the negotiated id 7 each carry one text and one binary message of
#     0, 1, 1000, 16 KiB, 64 KiB and 256 KiB (the C side's a=max-message-size), echoed byte for byte
#     (all of them on the reliable ones; on mrt0 what arrives must be intact, in order, no
#     duplicate, at least one); the browser closes "closeme" and needs its close event (the
#     bot must reset its side) while "reliable" keeps echoing; in A also BULK bytes round trip on
#     "bulk" with equal SHA-256; candidates trickled both ways; getStats shows a succeeded, nominated pair with bytes both ways;
#  C. `cwebrtc recv --count 2` joins first, the page sends it two files (page file protocol),
#     recv checks SHA-256, answers file-ok and exits 0;
#  D. the page joins first, `cwebrtc send FILE` joins, offers, sends; the page checks SHA-256 and
#     must then see the C side close its channel or the connection; send exits 0.
# Every C peer must exit 0 (echo-bot on SIGTERM) without a sanitizer report.
# BROWSER_CPEER_PEER=browser replaces the C peers by the page's own echo/file modes (a second
# Chromium) to check this script and the page alone. Exit 77 without root, chromium or the C peers.
# CPEER_BROWSER=firefox (or --browser firefox after BUILD SRC; not BROWSER, which xdg-open uses)
# runs the same scenarios with headless Firefox ESR (tools/browser/firefox.sh; that is what
# browser_cpeer_firefox.sh does). Firefox gathers no loopback candidates, so the namespace then
# also gets a routed 10.99.0.1/24 (a veth pair with both ends inside and a default route, as
# tools/browser/run.sh does); the C peers offer every IPv4 address, so they announce 10.99.0.1 too
# and Firefox reaches them there. Firefox's sizes: 4 MB bulk, 2 MB file.
BUILD=$1 SRC=$2
[ "${3:-}" = --browser ] && export CPEER_BROWSER=$4
CPEER_BROWSER=${CPEER_BROWSER:-chromium}
. "$SRC/tests/integration/lib.bash"
CW="$BUILD/cwebrtc"
[ -x "$CW" ] || { echo "SKIP: cwebrtc not built"; exit 77; }
case $CPEER_BROWSER in
  chromium) command -v chromium >/dev/null || { echo "SKIP: chromium not installed (tools/install-deps.sh)"; exit 77; } ;;
  firefox) command -v firefox-esr >/dev/null || command -v firefox >/dev/null ||
             { echo "SKIP: firefox-esr not installed (apt-get install -y firefox-esr)"; exit 77; } ;;
  *) echo "CPEER_BROWSER must be chromium or firefox, not '$CPEER_BROWSER'"; exit 2 ;;
esac
[ "$(id -u)" = 0 ] && command -v unshare >/dev/null ||
  { echo "SKIP: needs root and unshare for a private network namespace"; exit 77; }
PEER=${BROWSER_CPEER_PEER:-c}
if [ "$PEER" = c ]; then
  for sub in echo-bot recv send; do
    "$CW" --help 2>&1 | grep -q "cwebrtc $sub" || { echo "SKIP: this cwebrtc has no '$sub' command yet"; exit 77; }
  done
fi
in_netns "$0" "$@"
if [ "$CPEER_BROWSER" = firefox ] && [ "${RTC_IN_NETNS:-}" = 1 ]; then
  # No "dummy" driver in this kernel: a veth pair with both ends inside the namespace.
  ip link add cwrtc0 type veth peer name cwrtc1 && ip addr add 10.99.0.1/24 dev cwrtc0 &&
    ip link set cwrtc1 up && ip link set cwrtc0 up && ip route add default dev cwrtc0 ||
    fail "cannot give the namespace a routed address for Firefox"
fi
T=$(mktemp -d)
# The browser's helper processes may still be writing into its profile for a moment after
# the browser was killed: retry the removal instead of failing a test that passed.
rm_work() {
  local i
  pkill -KILL -f -- "$T/prof" 2>/dev/null || true
  for i in $(seq 1 50); do rm -rf "$T" 2>/dev/null && return 0; sleep 0.1; done
  echo "note: could not remove $T" >&2
}
trap 'cleanup; if [ -n "${CPEER_KEEP:-}" ]; then echo "kept $T"; else rm_work; fi' EXIT
T_ALL=$EPOCHREALTIME
# ASan+UBSan build: the C side is several times slower; scale the bulk transfers down
if grep -q '^RTC_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
  BULK=${CPEER_BULK:-8000000} FILE1=${CPEER_FILE:-2000000} PAGE_TIMEOUT=150000
else
  BULK=${CPEER_BULK:-20000000} FILE1=${CPEER_FILE:-4000000} PAGE_TIMEOUT=90000
fi
if [ "$CPEER_BROWSER" = firefox ]; then BULK=${CPEER_BULK:-4000000} FILE1=${CPEER_FILE:-2000000}; fi
# browser_cmd PROFILE TIMEOUT_S URL: the headless browser (bounded by timeout)
browser_cmd() { bash "$SRC/tools/browser/$CPEER_BROWSER.sh" "$@"; }
# seconds since $1 (an $EPOCHREALTIME), one decimal, without starting a process
since() { local us=$(( ${EPOCHREALTIME/./} - ${1/./} )); echo "$((us / 1000000)).$((us / 100000 % 10))"; }

"$CW" signal-server --listen 127.0.0.1:0 --web "$SRC/web" --test-log "$T/results.log" >"$T/server.out" 2>"$T/server.err" &
SPID=$!
track $SPID
wait_for grep -q '^listening http://127.0.0.1:[0-9]*/$' "$T/server.out" || { cat "$T/server.err"; fail "server did not start"; }
PORT=$(sed -n 's|^listening http://127.0.0.1:\([0-9]*\)/$|\1|p' "$T/server.out")
SIGNAL="ws://127.0.0.1:$PORT/ws"

# has_result NAME EVENT: the page NAME reported EVENT (jansson keeps the page's key order)
# (one grep: `grep | grep -q` can fail under pipefail when -q exits first and the writer gets SIGPIPE)
has_result() { grep -q '"name":"'"$1"'",.*"event":"'"$2"'"' "$T/results.log" 2>/dev/null; }
result_of() { grep '"name":"'"$1"'"' "$T/results.log" | grep '"event":"done"' | tail -1; }
BROWSERS=()
# start_browser NAME ROOM QUERY: one headless Chromium on the room page (bounded by timeout)
start_browser() {
  browser_cmd "$T/prof-$1" $((PAGE_TIMEOUT / 250 + 60)) \
    "http://127.0.0.1:$PORT/?room=$2&name=$1&$3" >"$T/chrome-$1.log" 2>&1 &
  track $!
  BROWSERS+=($!)
}
stop_browsers() {
  local pid
  for pid in "${BROWSERS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${BROWSERS[@]}"; do wait "$pid" 2>/dev/null || true; done
  BROWSERS=()
}
# wait_done NAME SECONDS: the page's "done" result, or fail with its console and the peer logs
wait_done() {
  local i
  for i in $(seq 1 $(($2 * 10))); do has_result "$1" done && break; sleep 0.1; done
  # the page writes "event" then "ok" first (jansson keeps the order): a nested "ok" cannot match
  if ! grep -q '"name":"'"$1"'",.*"event":"done","ok":true,' "$T/results.log"; then
    echo "--- result of $1:"; result_of "$1" || cat "$T/results.log"
    echo "--- browser console:"; grep -hE 'INFO:CONSOLE|console\.' "$T"/chrome-*.log | grep -v 'Slow network' | tail -25
    for f in "$T"/peer-*.out "$T"/peer-*.err; do [ -s "$f" ] && { echo "--- $f:"; tail -20 "$f"; }; done
    fail "page $1 did not finish with ok"
  fi
}
# C peers: start_peer NAME ARGS... (stdout/stderr in $T/peer-NAME.{out,err}); PEER_PID
start_peer() {
  local name=$1; shift
  "$CW" "$@" >"$T/peer-$name.out" 2>"$T/peer-$name.err" &
  PEER_PID=$!
  track $PEER_PID
}
# peer_exit NAME PID SECONDS [SIGNAL]: optionally signal, then the exit code must be 0 within
# SECONDS and stderr free of sanitizer reports
peer_exit() {
  local name=$1 pid=$2 s=$3 sig=${4:-} rc=0 i
  [ -n "$sig" ] && kill "-$sig" "$pid" 2>/dev/null
  for i in $(seq 1 $((s * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && { tail -20 "$T/peer-$name.err"; fail "$name still running after ${s} s"; }
  wait "$pid" || rc=$?
  if [ $rc -ne 0 ] || grep -qE 'Sanitizer|runtime error' "$T/peer-$name.err"; then
    tail -40 "$T/peer-$name.err"; fail "$name: exit $rc or sanitizer report"
  fi
}
wait_ready() { # wait_ready NAME: a C peer printed "ready room=..." (up to 20 s)
  local i
  for i in $(seq 1 200); do grep -q '^ready room=' "$T/peer-$1.out" && return 0; sleep 0.1; done
  cat "$T/peer-$1.out" "$T/peer-$1.err"; fail "$1 did not print ready"
}
# start_echo_peer NAME ROOM: the echo bot with the negotiated channel id 7 (or its browser stand-in)
start_echo_peer() {
  if [ "$PEER" = c ]; then
    start_peer "$1" echo-bot --room "$2" --signal "$SIGNAL" --negotiated-id 7
    ECHO_PID=$PEER_PID
  else
    start_browser "$1" "$2" "test=echo&neg=7"
  fi
}
wait_echo_ready() { if [ "$PEER" = c ]; then wait_ready "$1"; else wait_for has_result "$1" ready || fail "$1 not ready"; fi; }
# SIGTERM now, the exit code is checked at the end (so the next scenario need not wait for it)
stop_echo_peer() { if [ "$PEER" = c ]; then kill -TERM "$ECHO_PID"; EXITS+=("$1:$ECHO_PID:10"); fi; }
EXITS=()
ECHO_Q="test=cpeer&do=echo&neg=7&timeout=$PAGE_TIMEOUT"

# One Chromium runs the four pages one after another (web/cpeer.html loads each in an iframe and
# goes on after its "done" report); the C peers that must be in their room before the page (A, C)
# are started first, the others (B, D) once their page has reported "ready".
enc() { local q=${1//&/%26}; echo "${q//=/%3D}"; }
RUNS="run=$(enc "room=rA&name=pageA&$ECHO_Q&bulk=$BULK")"
RUNS+="&run=$(enc "room=rB&name=pageB&$ECHO_Q")"
RUNS+="&run=$(enc "room=rC&name=pageC&test=cpeer&do=sendfile&sizes=$FILE1,1&linger=5000&timeout=$PAGE_TIMEOUT$([ "$PEER" = c ] || echo '&close=1')")"
[ "$PEER" = c ] && RUNS+="&run=$(enc "room=rD&name=pageD&test=cpeer&do=recvfile&linger=10000&timeout=$PAGE_TIMEOUT")"
start_echo_peer botA rA
if [ "$PEER" = c ]; then
  start_peer recv recv --room rC --signal "$SIGNAL" --count 2
  RECV_PID=$PEER_PID
  wait_ready recv
else
  start_browser recv rC "test=cpeer&do=recvfile&linger=10000"
  wait_for has_result recv ready || fail "recv page did not join"
fi
wait_echo_ready botA
echo "C peers of A and C ready at +$(since "$T_ALL") s"
browser_cmd "$T/prof-pages" $((PAGE_TIMEOUT / 250 + 60)) \
  "http://127.0.0.1:$PORT/cpeer.html?$RUNS" >"$T/chrome-pages.log" 2>&1 &
track $!
BROWSERS+=($!)

# ---- A: the bot is in the room first, the browser offers ----
wait_done pageA $((PAGE_TIMEOUT / 1000 + 30))
stop_echo_peer botA
echo "A (browser offers to the echo bot, bulk) done at +$(since "$T_ALL") s"

# ---- B: the browser is in the room first, the bot offers ----
for i in $(seq 1 300); do has_result pageB ready && break; sleep 0.1; done
has_result pageB ready || fail "pageB did not join"
start_echo_peer botB rB
wait_done pageB $((PAGE_TIMEOUT / 1000 + 15))
stop_echo_peer botB
echo "B (the echo bot offers to the browser) done at +$(since "$T_ALL") s"

# ---- C: browser -> cwebrtc recv (two files: FILE1 bytes and 1 byte) ----
wait_done pageC $((PAGE_TIMEOUT / 1000 + 15))
if [ "$PEER" = c ]; then
  EXITS+=("recv:$RECV_PID:15")
  SHA_C=$(result_of pageC | grep -o '"sha256":"[0-9a-f]*"' | head -1 | cut -d'"' -f4) # files[0]
else
  wait_done recv 20 # the stand-in receiver checks the first file only
fi
echo "C (browser sends files to the receiver) done at +$(since "$T_ALL") s"

# ---- D: cwebrtc send -> browser; the C side closes afterwards ----
if [ "$PEER" = c ]; then
  head -c "$FILE1" /dev/urandom >"$T/file.bin"
  SHA_D=$(sha256sum "$T/file.bin" | cut -d' ' -f1)
  for i in $(seq 1 300); do has_result pageD ready && break; sleep 0.1; done
  has_result pageD ready || fail "pageD did not join"
  start_peer send send "$T/file.bin" --room rD --signal "$SIGNAL"
  SEND_PID=$PEER_PID
  wait_done pageD $((PAGE_TIMEOUT / 1000 + 15))
  EXITS+=("send:$SEND_PID:15")
  result_of pageD | grep -q "\"fileSha256\":\"$SHA_D\"" || { result_of pageD; fail "pageD: SHA-256 is not the file's $SHA_D"; }
  echo "D (cwebrtc send to the browser, then closes) done at +$(since "$T_ALL") s"
fi
stop_browsers
# every C peer: exit 0 (echo-bot after SIGTERM, recv after its 2 files, send after the verdict)
for e in "${EXITS[@]}"; do IFS=: read -r name pid secs <<<"$e"; peer_exit "$name" "$pid" "$secs"; done
if [ "$PEER" = c ]; then
  grep -qi "sha256 $SHA_C ok" "$T/peer-recv.out" ||
    { cat "$T/peer-recv.out"; fail "recv does not print the file's SHA-256 $SHA_C as ok"; }
  echo "ok: the C peers exited 0 (echo-bots on SIGTERM, recv after 2 files, send after its verdict), no sanitizer report"
fi

# ---- the results, checked once more here and summarised ----
python3 - "$T/results.log" "$PEER" "$BULK" "$FILE1" <<'EOF' || { cat "$T/results.log"; fail "results"; }
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
done = {r["name"]: r for r in rs if r.get("event") == "done"}
peer, bulk, file1 = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def pair(r):
    tr = r["trickle"]
    assert tr["sent"] >= 1 and tr["received"] >= 1, tr
    p = r["stats"]["pair"]
    assert p["state"] == "succeeded" and p["nominated"] and p["bytesSent"] > 0 and p["bytesReceived"] > 0, p
    assert p.get("selected") in (None, True), p  # Firefox marks the selected pair
    return ("pair %s <-> %s rtt %s ms, %d/%d bytes out/in; candidates trickled %d out, %d in (+%d in the peer's SDP); "
            "the peer's candidates %s"
            % (p["local"], p["remote"], p["rttMs"], p["bytesSent"], p["bytesReceived"], tr["sent"], tr["received"],
               tr["inRemoteSdp"] or 0, r.get("remoteCandidates")))
for name, offerer in (("pageA", True), ("pageB", False)):
    r = done[name]
    assert r["ok"] is True and r["offerer"] is offerer, r
    assert r["maxMessageSize"] >= 262144, r["maxMessageSize"]
    suites = {s["label"]: s for s in r["echo"]}
    for l in ("reliable", "unordered", "negotiated"):
        s = suites[l]
        assert s["echoed"] == s["sent"] == 12 and not s["errors"], s
    assert suites["negotiated"]["channel"]["id"] == 7 and suites["negotiated"]["channel"]["negotiated"], suites
    assert suites["unordered"]["channel"]["ordered"] is False and suites["mrt0"]["channel"]["maxRetransmits"] == 0
    assert not suites["mrt0"]["errors"] and suites["mrt0"]["echoed"] >= 1, suites["mrt0"]
    assert r["close"]["state"] == "closed" and r["afterClose"] is True, r["close"]
    assert "closeme" not in r["openChannels"] and "reliable" in r["openChannels"], r["openChannels"]
    print("ok: %s (browser %s): 4 channels x 12 messages (text+binary, 0..256 KiB) echoed intact: %s; "
          "mrt0 %d/12; browser close of 'closeme' seen closed in %d ms, 'reliable' still echoes; %s; "
          "page steps at ms: %s"
          % (name, "offers" if offerer else "answers",
             ", ".join("%s %d ms" % (l, suites[l]["ms"]) for l in ("reliable", "unordered", "mrt0", "negotiated")),
             suites["mrt0"]["echoed"], r["close"]["closeMs"], pair(r), r["t"]))
b = done["pageA"]["bulk"]
assert b["ok"] and b["bytes"] == bulk == b["bytesBack"] and b["shaSent"] == b["shaBack"], b
print("ok: pageA: %d bytes browser -> C -> browser, SHA-256 %s... both ways, %.1f s round trip (%.2f MB/s)"
      % (bulk, b["shaSent"][:16], b["ms"] / 1000, b["mbPerS"]))
c = done["pageC"]
assert c["ok"] and [f["bytes"] for f in c["files"]] == [file1, 1], c
assert all(f["ackOk"] is True and f["ackSha256"] == f["sha256"] for f in c["files"]), c["files"]
print("ok: pageC: files of %s bytes to the receiver, its SHA-256 verdicts match; %.2f MB/s; %s; peer close: %s"
      % ([f["bytes"] for f in c["files"]], c["files"][0]["mbPerS"], pair(c), c.get("peerClose")))
if peer == "c":
    d = done["pageD"]
    assert d["ok"] and d["file"]["shaOk"] and d["file"]["fileBytes"] == file1, d
    assert d["peerClose"]["seen"], d["peerClose"]
    print("ok: pageD: %d bytes from cwebrtc send, SHA-256 ok, %.2f MB/s; then the C side closed: %s (signaling: %s); %s"
          % (file1, file1 / 1000 / max(d["file"]["fileMs"], 1), d["peerClose"], d["gone"], pair(d)))
EOF
kill -TERM $SPID
wait $SPID || { cat "$T/server.err"; fail "signal-server: exit code $? on SIGTERM"; }
! grep -qE 'Sanitizer|runtime error' "$T/server.err" || { cat "$T/server.err"; fail "signal-server: sanitizer report"; }
echo "browser_cpeer: all passed in $(since "$T_ALL") s (browser: $CPEER_BROWSER, peer: $PEER, bulk $BULK bytes, file $FILE1 bytes)"
