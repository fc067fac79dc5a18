#!/usr/bin/env bash
# DTLS interop with a third-party stack: `openssl s_server` / `openssl s_client` (DTLS 1.2,
# use_srtp) against our core driven over loopback UDP by the dtls_peer helper
# (tests/unit/dtls/dtls_peer.c). Both directions; the DTLS-SRTP exporter output
# ("EXTRACTOR-dtls_srtp", RFC 5764 §4.2) must be identical on both sides, application data
# must cross, each side's certificate must be the one pinned, and a wrong fingerprint must
# fail our side and reach OpenSSL as a bad_certificate alert.
# Usage: dtls_openssl.sh <build_dir> <source_dir>. Exit 77 = skipped.
set -u
BUILD=$1
PEER="$BUILD/dtls_peer"
command -v openssl >/dev/null 2>&1 || { echo "SKIP: no openssl binary"; exit 77; }
[ -x "$PEER" ] || { echo "SKIP: $PEER not built"; exit 77; }

TMP=$(mktemp -d /tmp/dtls_openssl.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT
FAIL=0
fail() { echo "FAIL: $*"; FAIL=1; }
ok() { echo "ok:   $*"; }

# The third party's certificate and its a=fingerprint value.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/k.pem" \
  -out "$TMP/c.pem" -days 2 -subj /CN=openssl-peer >/dev/null 2>&1 || { fail "openssl req"; exit 1; }
FP=$(openssl x509 -in "$TMP/c.pem" -noout -fingerprint -sha256 | sed 's/^[^=]*=/sha-256 /')

# Start `openssl s_server` on an ephemeral port; sets SPORT, SOUT, SERR.
start_server() { # name profile keylen [extra s_server options...]
  local name=$1 profile=$2 keylen=$3
  shift 3
  SOUT="$TMP/$name.out"; SERR="$TMP/$name.err"
  mkfifo "$TMP/$name.in"
  timeout 15 openssl s_server -dtls1_2 -accept 127.0.0.1:0 -cert "$TMP/c.pem" -key "$TMP/k.pem" \
    -verify 1 -use_srtp "$profile" -keymatexport EXTRACTOR-dtls_srtp -keymatexportlen "$keylen" \
    "$@" <"$TMP/$name.in" >"$SOUT" 2>"$SERR" &
  PIDS+=($!)
  sleep 12 >"$TMP/$name.in" &  # keeps s_server's stdin open
  PIDS+=($!)
  SPORT=""
  for _ in $(seq 1 50); do
    SPORT=$(sed -n 's/^ACCEPT .*:\([0-9][0-9]*\)$/\1/p' "$SOUT" 2>/dev/null)
    [ -n "$SPORT" ] && break
    sleep 0.1
  done
  [ -n "$SPORT" ] || fail "$name: s_server did not start: $(cat "$SERR")"
}

# Wait (bounded, 5 s) until a file contains a pattern; s_server's output may lag behind.
wait_for() { # file pattern
  for _ in $(seq 1 50); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
keymat_of() { sed -n 's/^ *Keying material: *//p' "$1" | head -1; }
ours_keymat() { sed -n 's/^KEYMAT //p' "$1" | head -1; }
our_fp() { sed -n 's/^FINGERPRINT //p' "$1" | head -1; }

# ---- 1. our client -> openssl s_server, each SRTP profile -------------------------------
# The last case adds -listen: s_server then runs DTLSv1_listen, i.e. a HelloVerifyRequest
# cookie exchange (RFC 6347 §4.2.1) that our client must answer with a second ClientHello.
for spec in "SRTP_AES128_CM_SHA1_80 60 0x0001" "SRTP_AEAD_AES_128_GCM 56 0x0007" \
            "SRTP_AEAD_AES_256_GCM 88 0x0008" "SRTP_AES128_CM_SHA1_80 60 0x0001 -listen"; do
  set -- $spec
  name="srv_$1${4:-}"
  start_server "$name" "$1" "$2" ${4:+"$4"}
  [ -n "$SPORT" ] || continue
  timeout 10 "$PEER" client 127.0.0.1 "$SPORT" --fp "$FP" --send "hello-from-cwebrtc-$1" \
    --timeout 8000 >"$TMP/$name.peer" 2>&1
  rc=$?
  wait_for "$SOUT" "hello-from-cwebrtc-$1"
  ours=$(ours_keymat "$TMP/$name.peer"); theirs=$(keymat_of "$SOUT")
  if [ $rc -ne 0 ]; then fail "$name: dtls_peer rc=$rc: $(cat "$TMP/$name.peer")"
  elif ! grep -q "CONNECTED profile=$3" "$TMP/$name.peer"; then fail "$name: profile: $(grep CONNECTED "$TMP/$name.peer")"
  elif [ -z "$ours" ] || [ "$ours" != "$theirs" ]; then fail "$name: keying material differs: ours=$ours openssl=$theirs"
  elif [ ${#ours} -ne $(( $2 * 2 )) ]; then fail "$name: keying material length ${#ours}"
  elif ! grep -q "hello-from-cwebrtc-$1" "$SOUT"; then fail "$name: s_server did not get our data"
  else
    # The client certificate s_server received is ours (its fingerprint is the one we print).
    sed -n '/^Client certificate/,/END CERTIFICATE/p' "$SOUT" | sed 1d >"$TMP/$name.clientcert"
    theirs_fp=$(openssl x509 -in "$TMP/$name.clientcert" -noout -fingerprint -sha256 2>/dev/null | sed 's/^[^=]*=/sha-256 /')
    if [ "$theirs_fp" != "$(our_fp "$TMP/$name.peer")" ]; then fail "$name: client certificate mismatch"
    else ok "our client -> s_server${4:+ $4}, $1, $2-byte keying material identical"; fi
  fi
done

# ---- 2. openssl s_client -> our server ----------------------------------------------------
for spec in "SRTP_AEAD_AES_128_GCM 56 0x0007" "SRTP_AES128_CM_SHA1_32 60 0x0002"; do
  set -- $spec
  name="cli_$1"
  timeout 12 "$PEER" server 127.0.0.1 --fp "$FP" --expect "hello-from-openssl-$1" --wait-close \
    --timeout 10000 >"$TMP/$name.peer" 2>&1 &
  PPID_=$!
  PIDS+=($PPID_)
  PPORT=""
  for _ in $(seq 1 50); do
    PPORT=$(sed -n 's/^PORT //p' "$TMP/$name.peer" 2>/dev/null)
    [ -n "$PPORT" ] && break
    sleep 0.1
  done
  [ -n "$PPORT" ] || { fail "$name: dtls_peer server did not start"; continue; }
  (echo "hello-from-openssl-$1"; sleep 1) | timeout 10 openssl s_client -dtls1_2 \
    -connect "127.0.0.1:$PPORT" -cert "$TMP/c.pem" -key "$TMP/k.pem" -use_srtp "$1" \
    -keymatexport EXTRACTOR-dtls_srtp -keymatexportlen "$2" >"$TMP/$name.out" 2>"$TMP/$name.err"
  wait $PPID_
  rc=$?
  ours=$(ours_keymat "$TMP/$name.peer"); theirs=$(keymat_of "$TMP/$name.out")
  # s_client prints the server certificate: it must be ours.
  sed -n '/BEGIN CERTIFICATE/,/END CERTIFICATE/p' "$TMP/$name.out" >"$TMP/$name.servercert"
  srv_fp=$(openssl x509 -in "$TMP/$name.servercert" -noout -fingerprint -sha256 2>/dev/null | sed 's/^[^=]*=/sha-256 /')
  if [ $rc -ne 0 ]; then fail "$name: dtls_peer rc=$rc: $(cat "$TMP/$name.peer")"
  elif ! grep -q "CONNECTED profile=$3" "$TMP/$name.peer"; then fail "$name: profile: $(grep CONNECTED "$TMP/$name.peer")"
  elif [ -z "$ours" ] || [ "$ours" != "$theirs" ]; then fail "$name: keying material differs: ours=$ours openssl=$theirs"
  elif ! grep -q "^CLOSED" "$TMP/$name.peer"; then fail "$name: no close_notify seen"
  elif [ "$srv_fp" != "$(our_fp "$TMP/$name.peer")" ]; then fail "$name: server certificate mismatch"
  else ok "s_client -> our server, $1, keying material identical, data and close_notify received"; fi
done

# ---- 3. wrong fingerprint: we refuse, OpenSSL is told -------------------------------------
name="srv_wrongfp"
start_server "$name" SRTP_AES128_CM_SHA1_80 60
if [ -n "$SPORT" ]; then
  BAD="sha-256 $(openssl rand -hex 32 | sed 's/../&:/g; s/:$//' | tr 'a-f' 'A-F')"
  timeout 10 "$PEER" client 127.0.0.1 "$SPORT" --fp "$BAD" --timeout 5000 >"$TMP/$name.peer" 2>&1
  rc=$?
  wait_for "$SERR" "alert bad certificate"
  if [ $rc -eq 0 ]; then fail "$name: handshake with a wrong fingerprint succeeded"
  elif ! grep -q "^MISMATCH" "$TMP/$name.peer"; then fail "$name: no mismatch event: $(cat "$TMP/$name.peer")"
  elif grep -q "Keying material" "$SOUT"; then fail "$name: s_server completed the handshake"
  elif ! grep -qi "alert bad certificate" "$SERR" "$SOUT"; then fail "$name: s_server saw no bad_certificate alert"
  else ok "wrong fingerprint: our client fails, s_server receives bad_certificate"; fi
fi

[ $FAIL -eq 0 ] && echo "dtls_openssl: all passed"
exit $FAIL
