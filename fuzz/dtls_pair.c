/*
** fuzz_dtls_pair: a real handshake between two of our cores, with the fuzzer as the
** network. Recorded flights (fuzz_dtls_input) stop at the first signature check; here
** the datagrams are genuine, so corrupted ones reach every later state: flight 5 and 6
** processing, the fingerprint check, AWAIT_FINGERPRINT, application data, close_notify.
**
** Input: byte 0 = setup (bit 0: roles swapped, bit 1: fingerprint set late on side 0,
** bit 2: wrong fingerprint on side 1, bit 3: MTU 300). Then one op byte per datagram in
** flight: < 160 deliver, < 192 drop, < 224 flip a bit (position from the next byte),
** < 240 duplicate, else truncate (length from the next byte). When the script ends,
** everything is delivered. After the handshake both sides send a few records and side 0
** closes. No timers run (no loss recovery): a stalled handshake simply ends the input.
*/
#include <stdint.h>
#include <string.h>

#include "cwebrtc/dtls.h"

static rtc_dtls_cert *certs[2];
static rtc_dtls_fingerprint fps[2];

typedef struct script {
    const uint8_t *p;
    size_t n;
} script;

static int next(script *s) {
    if (s->n == 0) return -1;
    s->n--;
    return *s->p++;
}

/* Move everything each side wants to send through the fuzzer's network. */
static int pump(rtc_dtls *d[2], script *s) {
    static uint8_t buf[4096];
    int moved = 0;
    for (int k = 0; k < 2; k++) {
        rtc_dtls_transmit t;
        for (int i = 0; i < 64 && rtc_dtls_poll_transmit(d[k], &t) == 1; i++) {
            moved++;
            size_t n = t.len < sizeof buf ? t.len : sizeof buf;
            memcpy(buf, t.data, n);
            int op = next(s);
            int reps = 1;
            if (op >= 160 && op < 192) continue; /* drop */
            if (op >= 192 && op < 224) {
                int pos = next(s);
                if (pos >= 0 && n) buf[(size_t)pos % n] ^= (uint8_t)(1u << (op & 7));
            } else if (op >= 224 && op < 240) {
                reps = 2;
            } else if (op >= 240) {
                int len = next(s);
                if (len >= 0 && (size_t)len < n) n = (size_t)len;
            }
            for (int r = 0; r < reps; r++)
                rtc_dtls_handle_packet(d[1 - k], 0, buf, n);
        }
        rtc_dtls_event e;
        for (int i = 0; i < 256 && rtc_dtls_poll_event(d[k], &e) == 1; i++) {
        }
    }
    return moved;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!certs[0]) {
        if (rtc_dtls_cert_new(&certs[0], NULL, NULL) || rtc_dtls_cert_new(&certs[1], NULL, NULL))
            return 0;
        rtc_dtls_cert_fingerprint(certs[0], RTC_DTLS_HASH_SHA256, &fps[0], NULL, 0);
        rtc_dtls_cert_fingerprint(certs[1], RTC_DTLS_HASH_SHA256, &fps[1], NULL, 0);
    }
    if (size < 1) return 0;
    uint8_t mode = data[0];
    script s = {data + 1, size - 1};

    rtc_dtls_fingerprint wrong = fps[0];
    wrong.value[0] ^= 1;
    rtc_dtls_config c0 = {
        .role = (mode & 1) ? RTC_DTLS_ROLE_SERVER : RTC_DTLS_ROLE_CLIENT,
        .cert = certs[0],
        .remote_fingerprints = (mode & 2) ? NULL : &fps[1],
        .n_remote_fingerprints = (mode & 2) ? 0 : 1,
        .mtu = (mode & 8) ? 300 : 0,
    };
    rtc_dtls_config c1 = {
        .role = (mode & 1) ? RTC_DTLS_ROLE_CLIENT : RTC_DTLS_ROLE_SERVER,
        .cert = certs[1],
        .remote_fingerprints = (mode & 4) ? &wrong : &fps[0],
        .n_remote_fingerprints = 1,
        .mtu = c0.mtu,
    };
    rtc_dtls *d[2] = {NULL, NULL};
    if (rtc_dtls_new(&d[0], &c0, NULL) != RTC_OK || rtc_dtls_new(&d[1], &c1, NULL) != RTC_OK) {
        rtc_dtls_free(d[0]);
        rtc_dtls_free(d[1]);
        return 0;
    }
    rtc_dtls_start(d[0], 0);
    rtc_dtls_start(d[1], 0);
    for (int round = 0; round < 32 && pump(d, &s); round++) {
    }
    if (rtc_dtls_get_state(d[0]) == RTC_DTLS_STATE_AWAIT_FINGERPRINT)
        rtc_dtls_set_remote_fingerprints(d[0], 0, &fps[1], 1);
    static const uint8_t msg[200] = {1, 2, 3};
    for (int i = 0; i < 4; i++) {
        rtc_dtls_send(d[0], 0, msg, sizeof msg - (size_t)i * 40);
        rtc_dtls_send(d[1], 0, msg, 1 + (size_t)i);
        pump(d, &s);
    }
    rtc_dtls_srtp_keys k;
    (void)rtc_dtls_get_srtp_keys(d[0], &k);
    rtc_dtls_close(d[0], 0);
    for (int round = 0; round < 4 && pump(d, &s); round++) {
    }
    rtc_dtls_free(d[0]);
    rtc_dtls_free(d[1]);
    return 0;
}
