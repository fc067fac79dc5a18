/*
** fuzz/sctp_packet.c: the SCTP packet parser and association state machine.
**
** Input: a sequence of records [flags u8][dt u8][len u16][len bytes]. Each record is one
** packet for an association that is already ESTABLISHED with a peer of ours (so DATA,
** SACK, FORWARD-TSN, RE-CONFIG, SHUTDOWN... reach the deep paths): flags bit 0 patches
** in the right ports and verification tag, bit 1 a correct CRC-32c (else zero, which
** the zero-checksum negotiation allows), bit 2 also feeds the raw bytes to a fresh
** CLOSED association (INIT and COOKIE-ECHO handling), bit 3 also sends the bytes as a
** message from b, bit 4 moves the first chunk's TSN (DATA, FORWARD-TSN) or cumulative
** ack (SACK) next to the values the handshake chose. dt advances the clock (ms) and
** runs timers. Output and events are drained after every step, as a real driver does.
*/
#include <stdint.h>
#include <string.h>

#include "cwebrtc/sctp.h"
#include "util/util.h"

static uint64_t rng_state;
static void fz_random(void *ud, uint8_t *out, size_t len) {
    (void)ud;
    for (size_t i = 0; i < len; i++) {
        rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
        out[i] = (uint8_t)(rng_state >> 33);
    }
}

static uint32_t itsn_of_init; /* initial TSN seen in the last INIT or INIT-ACK */

static void drain(rtc_sctp *a, rtc_sctp *peer, rtc_time now, uint32_t *learn_tag) {
    const uint8_t *d;
    size_t n;
    rtc_sctp_event ev;
    for (int i = 0; i < 10000; i++) {
        int got = 0;
        if (rtc_sctp_poll_transmit(a, &d, &n)) {
            got = 1;
            if (learn_tag && n >= 8 && d[12] != 1)
                *learn_tag = (uint32_t)d[4] << 24 | (uint32_t)d[5] << 16 | (uint32_t)d[6] << 8 | d[7];
            if (n >= 32 && (d[12] == 1 || d[12] == 2))
                itsn_of_init = (uint32_t)d[28] << 24 | (uint32_t)d[29] << 16 |
                               (uint32_t)d[30] << 8 | d[31];
            if (peer) rtc_sctp_handle_packet(peer, now, d, n);
        }
        if (rtc_sctp_poll_event(a, &ev)) got = 1;
        if (!got) break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rng_state = 42;
    rtc_env env = {NULL, fz_random, NULL, NULL, 0};
    rtc_sctp_config cfg;
    rtc_sctp_config_default(&cfg);
    cfg.recv_window = 64 * 1024;
    cfg.max_message_size = 16 * 1024;
    rtc_sctp *a = NULL, *b = NULL, *fresh = NULL;
    if (rtc_sctp_new(&a, &cfg, &env) || rtc_sctp_new(&b, &cfg, &env) ||
        rtc_sctp_new(&fresh, &cfg, &env))
        goto out;
    rtc_time now = RTC_SEC(10);
    uint32_t b_tag = 0; /* the tag a uses towards b = b's own tag */
    uint32_t a_itsn, b_itsn;
    rtc_sctp_connect(a, now);
    drain(a, b, now, &b_tag);
    a_itsn = itsn_of_init;
    drain(b, a, now, NULL);
    b_itsn = itsn_of_init;
    for (int i = 0; i < 8; i++) {
        drain(a, b, now, &b_tag);
        drain(b, a, now, NULL);
    }
    /* b has a message in flight so SACK handling has something to chew on */
    rtc_sctp_send_opts o = rtc_sctp_send_opts_reliable(1, 51);
    rtc_sctp_send(b, now, &o, (const uint8_t *)"hello fuzz", 10);
    drain(b, NULL, now, NULL);

    size_t off = 0;
    uint8_t pkt[2048];
    while (off + 4 <= size) {
        uint8_t flags = data[off], dt = data[off + 1];
        size_t len = (size_t)data[off + 2] << 8 | data[off + 3];
        off += 4;
        if (len > size - off) len = size - off;
        if (len > sizeof pkt) len = sizeof pkt;
        memcpy(pkt, data + off, len);
        off += len;
        now += RTC_MS(dt);
        if (len >= 12 && (flags & 1)) {
            pkt[0] = 0x13; pkt[1] = 0x88; pkt[2] = 0x13; pkt[3] = 0x88;
            pkt[4] = (uint8_t)(b_tag >> 24); pkt[5] = (uint8_t)(b_tag >> 16);
            pkt[6] = (uint8_t)(b_tag >> 8); pkt[7] = (uint8_t)b_tag;
        }
        if (len >= 20 && (flags & 16)) {
            /* Steer the first chunk's TSN field near what b expects, so DATA, SACK
            ** and FORWARD-TSN get past the window checks. */
            uint32_t base = pkt[12] == 3 ? b_itsn - 1 : a_itsn;
            uint32_t v = base + (pkt[19] & 0x3f);
            if (pkt[12] == 0 || pkt[12] == 3 || pkt[12] == 192) {
                pkt[16] = (uint8_t)(v >> 24); pkt[17] = (uint8_t)(v >> 16);
                pkt[18] = (uint8_t)(v >> 8); pkt[19] = (uint8_t)v;
            }
        }
        if (len >= 12) {
            memset(pkt + 8, 0, 4);
            if (flags & 2) {
                uint32_t c = rtc_crc32c(0, pkt, len);
                pkt[8] = (uint8_t)c; pkt[9] = (uint8_t)(c >> 8);
                pkt[10] = (uint8_t)(c >> 16); pkt[11] = (uint8_t)(c >> 24);
            }
        }
        rtc_sctp_handle_packet(b, now, pkt, len);
        if (flags & 4) {
            rtc_sctp_handle_packet(fresh, now, data + off - len, len);
            drain(fresh, NULL, now, NULL);
        }
        if (flags & 8) rtc_sctp_send(b, now, &o, pkt, len ? len : 1);
        if (rtc_sctp_next_timeout(b) <= now) rtc_sctp_handle_timeout(b, now);
        drain(b, NULL, now, NULL);
    }
out:
    rtc_sctp_free(a);
    rtc_sctp_free(b);
    rtc_sctp_free(fresh);
    return 0;
}
