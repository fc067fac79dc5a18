/*
** fuzz/srtp_unprotect.c: hostile SRTP/SRTCP input against rtc_srtp with fixed keys.
**
** Byte 0 selects: bits 0-1 the profile (AES-CM-80, AES-CM-32, AEAD-AES-128-GCM,
** AEAD-AES-256-GCM), bit 2 RTCP instead of RTP, bit 3 "round trip", bit 4 in place.
**  - raw: the rest is handed to unprotect as received from the network (a peer without
**    the key: must be rejected cleanly, never crash or read out of bounds);
**  - round trip: the rest is protected with the sender session first (so the receiver's
**    authenticated paths run too), byte 1 optionally picks one octet of the protected
**    packet to flip; an unflipped packet must come back identical, a flipped one must be
**    rejected.
** Sessions are created per input so that replay state never leaks between inputs.
*/
#include <stdlib.h>
#include <string.h>

#include "cwebrtc/srtp.h"

static const uint16_t k_profiles[4] = {RTC_SRTP_AES128_CM_SHA1_80, RTC_SRTP_AES128_CM_SHA1_32,
                                       RTC_SRTP_AEAD_AES_128_GCM, RTC_SRTP_AEAD_AES_256_GCM};

static rtc_srtp *session(uint16_t profile, rtc_srtp_direction dir) {
    rtc_srtp_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.direction = dir;
    cfg.keys.profile = profile;
    rtc_srtp_profile_lengths(profile, &cfg.keys.key_len, &cfg.keys.salt_len);
    for (size_t i = 0; i < cfg.keys.key_len; i++)
        cfg.keys.key[i] = (uint8_t)(i + 1);
    for (size_t i = 0; i < cfg.keys.salt_len; i++)
        cfg.keys.salt[i] = (uint8_t)(0xa0 + i);
    cfg.max_streams = 4;
    rtc_srtp *s = NULL;
    if (rtc_srtp_new(&s, &cfg, NULL) != RTC_OK) abort();
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2 || size > 4096) return 0;
    uint8_t sel = data[0], flip = data[1];
    uint16_t profile = k_profiles[sel & 3];
    bool rtcp = sel & 4, round_trip = sel & 8, in_place = sel & 16;
    const uint8_t *p = data + 2;
    size_t n = size - 2;
    static uint8_t buf[4096 + 64], out[4096 + 64];
    size_t len = 0, ol = 0;
    rtc_srtp *rx = session(profile, RTC_SRTP_INBOUND);
    if (!round_trip) {
        memcpy(buf, p, n);
        uint8_t *dst = in_place ? buf : out;
        int rc = rtcp ? rtc_srtp_unprotect_rtcp(rx, buf, n, dst, sizeof out, &ol)
                      : rtc_srtp_unprotect(rx, buf, n, dst, sizeof out, &ol);
        if (rc == RTC_OK) abort(); /* forging a tag without the key: impossible */
        rtc_srtp_free(rx);
        return 0;
    }
    rtc_srtp *tx = session(profile, RTC_SRTP_OUTBOUND);
    int rc = rtcp ? rtc_srtp_protect_rtcp(tx, p, n, buf, sizeof buf, &len)
                  : rtc_srtp_protect(tx, p, n, buf, sizeof buf, &len);
    if (rc == RTC_OK) {
        bool flipped = flip != 0;
        if (flipped) buf[flip % len] ^= (uint8_t)(1u << (flip % 8));
        uint8_t *dst = in_place ? buf : out;
        rc = rtcp ? rtc_srtp_unprotect_rtcp(rx, buf, len, dst, sizeof out, &ol)
                  : rtc_srtp_unprotect(rx, buf, len, dst, sizeof out, &ol);
        if (!flipped && (rc != RTC_OK || ol != n || memcmp(dst, p, n) != 0)) abort();
        if (flipped && rc == RTC_OK) abort();
        /* The same packet again is a replay. */
        if (!flipped && !in_place) {
            rc = rtcp ? rtc_srtp_unprotect_rtcp(rx, buf, len, out, sizeof out, &ol)
                      : rtc_srtp_unprotect(rx, buf, len, out, sizeof out, &ol);
            if (rc != RTC_ERR_REPLAY) abort();
        }
    }
    rtc_srtp_free(tx);
    rtc_srtp_free(rx);
    return 0;
}
