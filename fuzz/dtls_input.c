/*
** fuzz_dtls_input: hostile datagrams into a DTLS core.
**
** Input layout: byte 0 selects the setup (bit 0: client role, started so its ClientHello
** is out and it waits for flight 4; bit 1: no remote fingerprint yet, so a completed
** handshake parks in AWAIT_FINGERPRINT; bit 2: small MTU). Then a sequence of records
** [u16 big-endian length][bytes]; length 0 means "advance time and run the timer", a
** length with the top bit set sends that many bytes of application data instead. Every
** step is followed by a full drain, as the API requires. Must never crash, hang or leak.
** Seeds in fuzz/corpus/dtls_input/ are real flights captured from our own handshakes.
*/
#include <stdint.h>
#include <string.h>

#include "cwebrtc/dtls.h"

static rtc_dtls_cert *cert; /* one per process: creating it per input would dominate */

static void drain(rtc_dtls *d) {
    rtc_dtls_transmit t;
    rtc_dtls_event e;
    for (int i = 0; i < 1000 && rtc_dtls_poll_transmit(d, &t) == 1; i++) {
    }
    for (int i = 0; i < 1000 && rtc_dtls_poll_event(d, &e) == 1; i++) {
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!cert && rtc_dtls_cert_new(&cert, NULL, NULL) != RTC_OK) return 0;
    if (size < 1) return 0;
    uint8_t mode = data[0];
    data++;
    size--;

    rtc_dtls_fingerprint fp = {.hash = RTC_DTLS_HASH_SHA256, .len = 32};
    memset(fp.value, 0x5a, sizeof fp.value);
    rtc_dtls_config cfg = {
        .role = (mode & 1) ? RTC_DTLS_ROLE_CLIENT : RTC_DTLS_ROLE_SERVER,
        .cert = cert,
        .remote_fingerprints = (mode & 2) ? NULL : &fp,
        .n_remote_fingerprints = (mode & 2) ? 0 : 1,
        .mtu = (mode & 4) ? 300 : 0,
        .initial_rto = RTC_MS(1),
        .max_rto = RTC_MS(2),
    };
    rtc_dtls *d = NULL;
    if (rtc_dtls_new(&d, &cfg, NULL) != RTC_OK) return 0;
    rtc_time now = 1000000;
    if (mode & 1) rtc_dtls_start(d, now);
    drain(d);

    size_t off = 0;
    for (int steps = 0; steps < 64 && off + 2 <= size; steps++) {
        unsigned len = ((unsigned)data[off] << 8) | data[off + 1];
        off += 2;
        if (len == 0) {
            now += 5000;
            rtc_dtls_handle_timeout(d, now);
        } else if (len & 0x8000) {
            size_t n = len & 0x7fff;
            if (n > size - off) n = size - off;
            rtc_dtls_send(d, now, data + off, n);
            off += n;
        } else {
            size_t n = len > size - off ? size - off : len;
            rtc_dtls_handle_packet(d, now, data + off, n);
            off += n;
        }
        drain(d);
    }
    if (rtc_dtls_get_state(d) == RTC_DTLS_STATE_AWAIT_FINGERPRINT) {
        rtc_dtls_set_remote_fingerprints(d, now, &fp, 1);
        drain(d);
    }
    rtc_dtls_srtp_keys k;
    (void)rtc_dtls_get_srtp_keys(d, &k);
    rtc_dtls_close(d, now);
    drain(d);
    rtc_dtls_free(d);
    return 0;
}
