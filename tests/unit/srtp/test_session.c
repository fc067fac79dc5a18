/*
** tests/unit/srtp/test_session.c: behaviour of rtc_srtp beyond the vectors, for all four
** profiles: round trips in place and out of place, what stays in the clear (header, CSRCs,
** extension, padding bit), every truncation and every single-bit change rejected, replay
** windows of configurable size for RTP and SRTCP, ROC rollover, the SSRC bound (and that
** unauthenticated packets create no state), buffer sizes, misuse, allocation failure.
*/
#include <stdlib.h>

#include "cwebrtc/srtp.h"
#include "test.h"

#define RTC_ARRAY_LEN_T(a) (sizeof(a) / sizeof((a)[0]))

static const uint16_t k_profiles[] = {RTC_SRTP_AES128_CM_SHA1_80, RTC_SRTP_AES128_CM_SHA1_32,
                                      RTC_SRTP_AEAD_AES_128_GCM, RTC_SRTP_AEAD_AES_256_GCM};

static rtc_srtp_config config(uint16_t profile, rtc_srtp_direction dir) {
    rtc_srtp_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.direction = dir;
    cfg.keys.profile = profile;
    rtc_srtp_profile_lengths(profile, &cfg.keys.key_len, &cfg.keys.salt_len);
    for (size_t i = 0; i < cfg.keys.key_len; i++)
        cfg.keys.key[i] = (uint8_t)(0x40 + i);
    for (size_t i = 0; i < cfg.keys.salt_len; i++)
        cfg.keys.salt[i] = (uint8_t)(0x90 + i);
    return cfg;
}

static rtc_srtp *mk(uint16_t profile, rtc_srtp_direction dir) {
    rtc_srtp_config cfg = config(profile, dir);
    rtc_srtp *s = NULL;
    return rtc_srtp_new(&s, &cfg, NULL) == RTC_OK ? s : NULL;
}

/* RTP with 2 CSRCs, a one-byte-header extension of 1 word, padding bit, payload n. */
static size_t rtp(uint8_t *b, uint32_t ssrc, uint16_t seq, size_t n) {
    size_t len = 0;
    b[len++] = 0x80 | 0x20 | 0x10 | 2;
    b[len++] = 111;
    b[len++] = (uint8_t)(seq >> 8);
    b[len++] = (uint8_t)seq;
    b[len++] = 0x01, b[len++] = 0x02, b[len++] = 0x03, b[len++] = 0x04;
    for (int i = 0; i < 4; i++)
        b[len++] = (uint8_t)(ssrc >> (24 - 8 * i));
    for (int i = 0; i < 8; i++)
        b[len++] = (uint8_t)(0xc0 + i); /* CSRCs */
    b[len++] = 0xbe, b[len++] = 0xde, b[len++] = 0, b[len++] = 1;
    b[len++] = 0x10, b[len++] = 0x77, b[len++] = 0, b[len++] = 0;
    for (size_t i = 0; i < n; i++)
        b[len++] = (uint8_t)(i * 7 + seq);
    return len;
}
#define RTP_HDR 28

static size_t rtcp(uint8_t *b, uint32_t ssrc, size_t words) {
    size_t len = 0;
    b[len++] = 0x80;
    b[len++] = 200;
    b[len++] = (uint8_t)(words >> 8);
    b[len++] = (uint8_t)words;
    for (int i = 0; i < 4; i++)
        b[len++] = (uint8_t)(ssrc >> (24 - 8 * i));
    for (size_t i = 0; i < 4 * words - 4; i++)
        b[len++] = (uint8_t)(i ^ 0x5a);
    return len;
}

static void test_round_trip_in_and_out_of_place(void) {
    for (size_t p = 0; p < RTC_ARRAY_LEN_T(k_profiles); p++) {
        rtc_srtp *tx = mk(k_profiles[p], RTC_SRTP_OUTBOUND),
                 *tx2 = mk(k_profiles[p], RTC_SRTP_OUTBOUND);
        rtc_srtp *rx = mk(k_profiles[p], RTC_SRTP_INBOUND),
                 *rx2 = mk(k_profiles[p], RTC_SRTP_INBOUND);
        REQUIRE(tx && tx2 && rx && rx2);
        rtc_srtp_profile_info info;
        rtc_srtp_profile_get_info(k_profiles[p], &info);
        uint8_t plain[1400], a[1500], b[1500], c[1500];
        size_t sizes[] = {0, 1, 15, 16, 17, 160, 1200};
        for (size_t i = 0; i < RTC_ARRAY_LEN_T(sizes); i++) {
            size_t n = rtp(plain, 0x1234, (uint16_t)(100 + i), sizes[i]), al = 0, bl = 0, cl = 0;
            CHECK_EQ_INT(rtc_srtp_protect(tx, plain, n, a, sizeof a, &al), RTC_OK);
            memcpy(b, plain, n); /* in place, on a twin session */
            CHECK_EQ_INT(rtc_srtp_protect(tx2, b, n, b, sizeof b, &bl), RTC_OK);
            CHECK_EQ_INT(al, n + info.rtp_tag_len);
            CHECK_EQ_INT(bl, al);
            CHECK_MEM(a, b, al);
            CHECK_MEM(a, plain, RTP_HDR); /* header, CSRCs, extension, padding bit in clear */
            if (sizes[i] >= 8) CHECK(memcmp(a + RTP_HDR, plain + RTP_HDR, sizes[i]) != 0);
            CHECK_EQ_INT(rtc_srtp_unprotect(rx, a, al, c, sizeof c, &cl), RTC_OK);
            CHECK_EQ_INT(cl, n);
            CHECK_MEM(c, plain, n);
            CHECK_EQ_INT(rtc_srtp_unprotect(rx2, b, bl, b, bl, &bl), RTC_OK); /* in place */
            CHECK_EQ_INT(bl, n);
            CHECK_MEM(b, plain, n);
        }
        /* RTCP the same way. */
        for (size_t words = 1; words < 40; words += 13) {
            size_t n = rtcp(plain, 0x77, words), al = 0, bl = 0, cl = 0;
            CHECK_EQ_INT(rtc_srtp_protect_rtcp(tx, plain, n, a, sizeof a, &al), RTC_OK);
            memcpy(b, plain, n);
            CHECK_EQ_INT(rtc_srtp_protect_rtcp(tx2, b, n, b, sizeof b, &bl), RTC_OK);
            CHECK_EQ_INT(al, n + 4 + info.rtcp_tag_len);
            CHECK_EQ_INT(bl, al);
            CHECK_MEM(a, b, al);
            CHECK_MEM(a, plain, 8);
            CHECK_EQ_INT(rtc_srtp_unprotect_rtcp(rx, a, al, c, sizeof c, &cl), RTC_OK);
            CHECK_EQ_INT(cl, n);
            CHECK_MEM(c, plain, n);
            CHECK_EQ_INT(rtc_srtp_unprotect_rtcp(rx2, b, bl, b, bl, &bl), RTC_OK);
            CHECK_MEM(b, plain, n);
        }
        rtc_srtp_stats st;
        rtc_srtp_get_stats(rx, &st);
        CHECK_EQ_INT(st.packets_ok, 10);
        CHECK_EQ_INT(st.streams, 2);
        rtc_srtp_free(tx);
        rtc_srtp_free(tx2);
        rtc_srtp_free(rx);
        rtc_srtp_free(rx2);
    }
}

static void test_truncation_and_tampering(void) {
    for (size_t p = 0; p < RTC_ARRAY_LEN_T(k_profiles); p++) {
        rtc_srtp *tx = mk(k_profiles[p], RTC_SRTP_OUTBOUND),
                 *rx = mk(k_profiles[p], RTC_SRTP_INBOUND);
        REQUIRE(tx && rx);
        uint8_t plain[200], prot[300], bad[300], out[300];
        size_t n = rtp(plain, 0xabcdef01, 7, 50), pl = 0, ol = 0;
        REQUIRE(rtc_srtp_protect(tx, plain, n, prot, sizeof prot, &pl) == RTC_OK);
        for (size_t len = pl - 1; len >= 1; len--) {
            int rc = rtc_srtp_unprotect(rx, prot, len, out, sizeof out, &ol);
            CHECK(rc == RTC_ERR_AUTH || rc == RTC_ERR_PARSE);
        }
        CHECK_EQ_INT(rtc_srtp_unprotect(rx, prot, 0, out, sizeof out, &ol), RTC_ERR_PARSE);
        for (size_t i = 0; i < pl; i++) {
            for (int bit = 0; bit < 8; bit += 3) {
                memcpy(bad, prot, pl);
                bad[i] ^= (uint8_t)(1u << bit);
                int rc = rtc_srtp_unprotect(rx, bad, pl, out, sizeof out, &ol);
                /* a change to the version bits is a parse error, a different sequence
                ** number may still be "new": everything else fails authentication. */
                CHECK(rc == RTC_ERR_AUTH || rc == RTC_ERR_PARSE);
            }
        }
        rtc_srtp_stats st;
        rtc_srtp_get_stats(rx, &st);
        CHECK_EQ_INT(st.streams, 0); /* nothing authentic arrived: no state was created */
        CHECK(st.auth_failures > pl);
        CHECK_EQ_INT(rtc_srtp_unprotect(rx, prot, pl, out, sizeof out, &ol), RTC_OK);
        CHECK_MEM(out, plain, n);

        size_t rn = rtcp(plain, 0x55, 6);
        REQUIRE(rtc_srtp_protect_rtcp(tx, plain, rn, prot, sizeof prot, &pl) == RTC_OK);
        for (size_t len = pl - 1; len >= 1; len--) {
            int rc = rtc_srtp_unprotect_rtcp(rx, prot, len, out, sizeof out, &ol);
            CHECK(rc == RTC_ERR_AUTH || rc == RTC_ERR_PARSE || rc == RTC_ERR_UNSUPPORTED);
        }
        for (size_t i = 0; i < pl; i++) {
            memcpy(bad, prot, pl);
            bad[i] ^= 0x04;
            int rc = rtc_srtp_unprotect_rtcp(rx, bad, pl, out, sizeof out, &ol);
            CHECK(rc == RTC_ERR_AUTH || rc == RTC_ERR_PARSE);
        }
        /* E = 0 (unencrypted SRTCP) is never accepted. */
        memcpy(bad, prot, pl);
        rtc_srtp_profile_info info;
        rtc_srtp_profile_get_info(k_profiles[p], &info);
        size_t epos = info.aead ? pl - 4 : rn;
        bad[epos] &= 0x7f;
        CHECK_EQ_INT(rtc_srtp_unprotect_rtcp(rx, bad, pl, out, sizeof out, &ol),
                     RTC_ERR_UNSUPPORTED);
        CHECK_EQ_INT(rtc_srtp_unprotect_rtcp(rx, prot, pl, out, sizeof out, &ol), RTC_OK);
        CHECK_MEM(out, plain, rn);
        rtc_srtp_free(tx);
        rtc_srtp_free(rx);
    }
}

static void test_replay_windows(void) {
    for (size_t p = 0; p < RTC_ARRAY_LEN_T(k_profiles); p++) {
        rtc_srtp_config ct = config(k_profiles[p], RTC_SRTP_OUTBOUND);
        rtc_srtp_config cr = config(k_profiles[p], RTC_SRTP_INBOUND);
        ct.replay_window = cr.replay_window = 200; /* rounded up to 256 */
        ct.rtcp_replay_window = cr.rtcp_replay_window = 64;
        rtc_srtp *tx = NULL, *rx = NULL;
        REQUIRE(rtc_srtp_new(&tx, &ct, NULL) == RTC_OK && rtc_srtp_new(&rx, &cr, NULL) == RTC_OK);
        static uint8_t prot[400][128];
        size_t pl[400];
        uint8_t plain[128], out[128];
        size_t ol;
        for (int i = 0; i < 400; i++) {
            size_t n = rtp(plain, 9, (uint16_t)(1000 + i), 20);
            REQUIRE(rtc_srtp_protect(tx, plain, n, prot[i], sizeof prot[i], &pl[i]) == RTC_OK);
        }
        /* Deliver 399 first, then older ones: within 256 accepted once, older refused. */
        CHECK_EQ_INT(rtc_srtp_unprotect(rx, prot[399], pl[399], out, sizeof out, &ol), RTC_OK);
        CHECK_EQ_INT(rtc_srtp_unprotect(rx, prot[399], pl[399], out, sizeof out, &ol),
                     RTC_ERR_REPLAY);
        CHECK_EQ_INT(rtc_srtp_unprotect(rx, prot[399 - 255], pl[0], out, sizeof out, &ol), RTC_OK);
        CHECK_EQ_INT(rtc_srtp_unprotect(rx, prot[399 - 255], pl[0], out, sizeof out, &ol),
                     RTC_ERR_REPLAY);
        CHECK_EQ_INT(rtc_srtp_unprotect(rx, prot[399 - 256], pl[0], out, sizeof out, &ol),
                     RTC_ERR_REPLAY);
        for (int i = 398; i > 399 - 255; i--)
            CHECK_EQ_INT(rtc_srtp_unprotect(rx, prot[i], pl[i], out, sizeof out, &ol), RTC_OK);
        for (int i = 399; i > 399 - 255; i--)
            CHECK_EQ_INT(rtc_srtp_unprotect(rx, prot[i], pl[i], out, sizeof out, &ol),
                         RTC_ERR_REPLAY);
        /* The sender accepts a retransmission but not a sequence number older than its
        ** window (a keystream-reuse hazard if the ROC were misjudged). */
        size_t n = rtp(plain, 9, 1399, 20);
        CHECK_EQ_INT(rtc_srtp_protect(tx, plain, n, out, sizeof out, &ol), RTC_OK);
        n = rtp(plain, 9, 1000, 20);
        CHECK_EQ_INT(rtc_srtp_protect(tx, plain, n, out, sizeof out, &ol), RTC_ERR_REPLAY);

        /* SRTCP: window 64. */
        for (int i = 0; i < 100; i++) {
            n = rtcp(plain, 5, 3);
            REQUIRE(rtc_srtp_protect_rtcp(tx, plain, n, prot[i], sizeof prot[i], &pl[i]) == RTC_OK);
        }
        CHECK_EQ_INT(rtc_srtp_unprotect_rtcp(rx, prot[99], pl[99], out, sizeof out, &ol), RTC_OK);
        CHECK_EQ_INT(rtc_srtp_unprotect_rtcp(rx, prot[99], pl[99], out, sizeof out, &ol),
                     RTC_ERR_REPLAY);
        CHECK_EQ_INT(rtc_srtp_unprotect_rtcp(rx, prot[36], pl[36], out, sizeof out, &ol), RTC_OK);
        CHECK_EQ_INT(rtc_srtp_unprotect_rtcp(rx, prot[35], pl[35], out, sizeof out, &ol),
                     RTC_ERR_REPLAY);
        CHECK_EQ_INT(rtc_srtp_unprotect_rtcp(rx, prot[36], pl[36], out, sizeof out, &ol),
                     RTC_ERR_REPLAY);
        CHECK_EQ_INT(rtc_srtp_unprotect_rtcp(rx, prot[50], pl[50], out, sizeof out, &ol), RTC_OK);
        rtc_srtp_stats st;
        rtc_srtp_get_stats(rx, &st);
        CHECK(st.replays >= 4 + 255);
        rtc_srtp_free(tx);
        rtc_srtp_free(rx);
    }
}

static void test_roc_rollover(void) {
    for (size_t p = 0; p < RTC_ARRAY_LEN_T(k_profiles); p++) {
        /* Steps of 500 and a reorder of one step: a window of 1024 holds it. */
        rtc_srtp_config cr = config(k_profiles[p], RTC_SRTP_INBOUND);
        cr.replay_window = 1024;
        rtc_srtp *tx = mk(k_profiles[p], RTC_SRTP_OUTBOUND), *rx = NULL;
        REQUIRE(tx && rtc_srtp_new(&rx, &cr, NULL) == RTC_OK);
        uint8_t plain[128], prot[128], out[128];
        size_t pl, ol;
        uint32_t roc = 99;
        /* Three wraps, with a packet reordered across each wrap. */
        uint16_t seq = 60000;
        static uint8_t held[128];
        size_t heldl = 0;
        for (int i = 0; i < 3 * 65536 / 500; i++) {
            seq = (uint16_t)(seq + 500);
            size_t n = rtp(plain, 0xfeed, seq, 10);
            REQUIRE(rtc_srtp_protect(tx, plain, n, prot, sizeof prot, &pl) == RTC_OK);
            if (seq > 65000 && !heldl) { /* the last before a wrap arrives after it */
                memcpy(held, prot, pl);
                heldl = pl;
                continue;
            }
            CHECK_EQ_INT(rtc_srtp_unprotect(rx, prot, pl, out, sizeof out, &ol), RTC_OK);
            CHECK_MEM(out, plain, n);
            if (heldl && seq < 1000) {
                CHECK_EQ_INT(rtc_srtp_unprotect(rx, held, heldl, out, sizeof out, &ol), RTC_OK);
                heldl = 0;
            }
        }
        CHECK_EQ_INT(rtc_srtp_get_roc(tx, 0xfeed, &roc), RTC_OK);
        CHECK_EQ_INT(roc, 3);
        CHECK_EQ_INT(rtc_srtp_get_roc(rx, 0xfeed, &roc), RTC_OK);
        CHECK_EQ_INT(roc, 3);
        CHECK_EQ_INT(rtc_srtp_get_roc(rx, 0xbad, &roc), RTC_ERR_NOT_FOUND);
        /* ROC set out of band on both sides; moving it back is refused. */
        CHECK_EQ_INT(rtc_srtp_set_roc(tx, 0xfeed, 1000), RTC_OK);
        CHECK_EQ_INT(rtc_srtp_set_roc(rx, 0xfeed, 1000), RTC_OK);
        CHECK_EQ_INT(rtc_srtp_set_roc(rx, 0xfeed, 999), RTC_ERR_REPLAY);
        size_t n = rtp(plain, 0xfeed, (uint16_t)(seq + 1), 10);
        REQUIRE(rtc_srtp_protect(tx, plain, n, prot, sizeof prot, &pl) == RTC_OK);
        CHECK_EQ_INT(rtc_srtp_unprotect(rx, prot, pl, out, sizeof out, &ol), RTC_OK);
        /* A receiver with the wrong ROC cannot authenticate it. */
        rtc_srtp *rx2 = mk(k_profiles[p], RTC_SRTP_INBOUND);
        REQUIRE(rx2);
        CHECK_EQ_INT(rtc_srtp_unprotect(rx2, prot, pl, out, sizeof out, &ol), RTC_ERR_AUTH);
        rtc_srtp_free(rx2);
        rtc_srtp_free(tx);
        rtc_srtp_free(rx);
    }
}

static void test_ssrc_bound(void) {
    for (size_t p = 0; p < RTC_ARRAY_LEN_T(k_profiles); p++) {
        rtc_srtp_config ct = config(k_profiles[p], RTC_SRTP_OUTBOUND);
        rtc_srtp_config cr = config(k_profiles[p], RTC_SRTP_INBOUND);
        ct.max_streams = 1020; /* 20 below + 1000 */
        cr.max_streams = 8;
        rtc_srtp *tx = NULL, *rx = NULL;
        REQUIRE(rtc_srtp_new(&tx, &ct, NULL) == RTC_OK && rtc_srtp_new(&rx, &cr, NULL) == RTC_OK);
        uint8_t plain[128], prot[128], out[128];
        size_t pl, ol;
        /* A hostile peer: authentic packets from 20 SSRCs, only 8 get state. */
        int ok = 0, refused = 0;
        for (uint32_t i = 0; i < 20; i++) {
            size_t n = rtp(plain, 0x1000 + i, 1, 10);
            REQUIRE(rtc_srtp_protect(tx, plain, n, prot, sizeof prot, &pl) == RTC_OK);
            int rc = rtc_srtp_unprotect(rx, prot, pl, out, sizeof out, &ol);
            if (rc == RTC_OK)
                ok++;
            else if (rc == RTC_ERR_NOMEM)
                refused++;
        }
        CHECK_EQ_INT(ok, 8);
        CHECK_EQ_INT(refused, 12);
        rtc_srtp_stats st;
        rtc_srtp_get_stats(rx, &st);
        CHECK_EQ_INT(st.streams, 8);
        CHECK_EQ_INT(st.stream_limit_hits, 12);
        /* Removing one makes room for another. */
        CHECK_EQ_INT(rtc_srtp_remove_stream(rx, 0x1003), RTC_OK);
        CHECK_EQ_INT(rtc_srtp_remove_stream(rx, 0x1003), RTC_ERR_NOT_FOUND);
        size_t n = rtp(plain, 0x1000 + 19, 2, 10);
        REQUIRE(rtc_srtp_protect(tx, plain, n, prot, sizeof prot, &pl) == RTC_OK);
        CHECK_EQ_INT(rtc_srtp_unprotect(rx, prot, pl, out, sizeof out, &ol), RTC_OK);

        /* The table survives many inserts and removals (sender side, 1000 SSRCs). */
        for (uint32_t i = 0; i < 1000; i++)
            CHECK_EQ_INT(rtc_srtp_set_roc(tx, i * 7919u, i), RTC_OK);
        CHECK_EQ_INT(rtc_srtp_set_roc(tx, 0xffffffffu, 1), RTC_ERR_NOMEM);
        for (uint32_t i = 0; i < 1000; i += 2)
            CHECK_EQ_INT(rtc_srtp_remove_stream(tx, i * 7919u), RTC_OK);
        int found = 0;
        for (uint32_t i = 0; i < 1000; i++) {
            uint32_t roc = 0;
            int rc = rtc_srtp_get_roc(tx, i * 7919u, &roc);
            if (i % 2) {
                CHECK_EQ_INT(rc, RTC_OK);
                CHECK_EQ_INT(roc, i);
                found++;
            } else {
                CHECK_EQ_INT(rc, RTC_ERR_NOT_FOUND);
            }
        }
        CHECK_EQ_INT(found, 500);
        rtc_srtp_free(tx);
        rtc_srtp_free(rx);
    }
}

static void test_buffers_and_misuse(void) {
    rtc_srtp *tx = mk(RTC_SRTP_AES128_CM_SHA1_80, RTC_SRTP_OUTBOUND);
    rtc_srtp *rx = mk(RTC_SRTP_AES128_CM_SHA1_80, RTC_SRTP_INBOUND);
    REQUIRE(tx && rx);
    uint8_t plain[200], prot[300], out[300];
    size_t n = rtp(plain, 1, 1, 100), pl = 0, ol = 0;
    CHECK_EQ_INT(rtc_srtp_protect(tx, plain, n, prot, n + 9, &pl), RTC_ERR_TOO_SMALL);
    CHECK_EQ_INT(rtc_srtp_protect(tx, plain, n, prot, n + 10, &pl), RTC_OK);
    CHECK_EQ_INT(rtc_srtp_unprotect(rx, prot, pl, out, n - 1, &ol), RTC_ERR_TOO_SMALL);
    CHECK_EQ_INT(rtc_srtp_unprotect(rx, prot, pl, out, n, &ol), RTC_OK);
    CHECK_EQ_INT(rtc_srtp_protect_rtcp(tx, plain, 8, prot, 8 + 13, &pl), RTC_ERR_TOO_SMALL);
    /* Partial overlap of in and out is refused (in place means out == in). */
    CHECK_EQ_INT(rtc_srtp_protect(tx, prot, n, prot + 4, 250, &pl), RTC_ERR_INVALID);
    /* Wrong direction, bad arguments, not RTP. */
    CHECK_EQ_INT(rtc_srtp_protect(rx, plain, n, prot, sizeof prot, &pl), RTC_ERR_MISUSE);
    CHECK_EQ_INT(rtc_srtp_unprotect(tx, plain, n, prot, sizeof prot, &pl), RTC_ERR_MISUSE);
    CHECK_EQ_INT(rtc_srtp_protect_rtcp(rx, plain, n, prot, sizeof prot, &pl), RTC_ERR_MISUSE);
    CHECK_EQ_INT(rtc_srtp_unprotect_rtcp(tx, plain, n, prot, sizeof prot, &pl), RTC_ERR_MISUSE);
    CHECK_EQ_INT(rtc_srtp_set_rtcp_index(rx, 1, 0), RTC_ERR_MISUSE);
    CHECK_EQ_INT(rtc_srtp_protect(NULL, plain, n, prot, sizeof prot, &pl), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_srtp_protect(tx, plain, 11, prot, sizeof prot, &pl), RTC_ERR_PARSE);
    plain[0] = 0x40; /* version 1 */
    CHECK_EQ_INT(rtc_srtp_protect(tx, plain, n, prot, sizeof prot, &pl), RTC_ERR_PARSE);
    n = rtp(plain, 1, 2, 0);
    plain[0] |= 0x0f; /* 15 CSRCs: longer than the packet */
    CHECK_EQ_INT(rtc_srtp_protect(tx, plain, n, prot, sizeof prot, &pl), RTC_ERR_PARSE);
    n = rtp(plain, 1, 2, 0);
    plain[RTP_HDR - 5] = 9; /* extension length beyond the packet */
    CHECK_EQ_INT(rtc_srtp_protect(tx, plain, n, prot, sizeof prot, &pl), RTC_ERR_PARSE);
    /* SRTCP index exhaustion: 2^31 - 1 is the last one (RFC 3711 §9.2: rekey). */
    CHECK_EQ_INT(rtc_srtp_set_rtcp_index(tx, 0x42, 0x80000000u), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_srtp_set_rtcp_index(tx, 0x42, 0x7fffffffu), RTC_OK);
    n = rtcp(plain, 0x42, 2);
    CHECK_EQ_INT(rtc_srtp_protect_rtcp(tx, plain, n, prot, sizeof prot, &pl), RTC_OK);
    CHECK_EQ_INT(rtc_srtp_protect_rtcp(tx, plain, n, prot, sizeof prot, &pl), RTC_ERR_MISUSE);

    /* Configuration errors. */
    rtc_srtp_config cfg = config(RTC_SRTP_AEAD_AES_128_GCM, RTC_SRTP_INBOUND);
    rtc_srtp *s = (rtc_srtp *)1;
    cfg.keys.salt_len = 14;
    CHECK_EQ_INT(rtc_srtp_new(&s, &cfg, NULL), RTC_ERR_INVALID);
    CHECK(s == NULL);
    cfg = config(RTC_SRTP_AEAD_AES_128_GCM, RTC_SRTP_INBOUND);
    cfg.replay_window = 32;
    CHECK_EQ_INT(rtc_srtp_new(&s, &cfg, NULL), RTC_ERR_INVALID);
    cfg.replay_window = 0;
    cfg.direction = 0;
    CHECK_EQ_INT(rtc_srtp_new(&s, &cfg, NULL), RTC_ERR_INVALID);
    cfg = config(RTC_SRTP_AEAD_AES_128_GCM, RTC_SRTP_INBOUND);
    cfg.keys.profile = 3;
    CHECK_EQ_INT(rtc_srtp_new(&s, &cfg, NULL), RTC_ERR_UNSUPPORTED);
    rtc_srtp_free(NULL);
    rtc_srtp_free(tx);
    rtc_srtp_free(rx);
}

/* An allocator that fails after `budget` allocations: every NOMEM path runs cleanly. */
static int alloc_budget;
static void *failing_realloc(void *ud, void *ptr, size_t old, size_t n) {
    (void)ud;
    (void)old;
    if (n == 0) {
        free(ptr);
        return NULL;
    }
    if (alloc_budget-- <= 0) return NULL;
    return realloc(ptr, n);
}

static void test_allocation_failure(void) {
    rtc_env env;
    memset(&env, 0, sizeof env);
    env.realloc = failing_realloc;
    for (int budget = 0; budget < 6; budget++) {
        alloc_budget = budget;
        rtc_srtp_config cfg = config(RTC_SRTP_AES128_CM_SHA1_80, RTC_SRTP_OUTBOUND);
        rtc_srtp *s = NULL;
        int rc = rtc_srtp_new(&s, &cfg, &env);
        if (rc != RTC_OK) {
            CHECK_EQ_INT(rc, RTC_ERR_NOMEM);
            continue;
        }
        uint8_t plain[64], prot[128];
        size_t pl;
        size_t n = rtp(plain, 1, 1, 10);
        rc = rtc_srtp_protect(s, plain, n, prot, sizeof prot, &pl);
        CHECK(rc == RTC_OK || rc == RTC_ERR_NOMEM);
        rtc_srtp_free(s);
    }
}

int main(void) {
    RUN(test_round_trip_in_and_out_of_place);
    RUN(test_truncation_and_tampering);
    RUN(test_replay_windows);
    RUN(test_roc_rollover);
    RUN(test_ssrc_bound);
    RUN(test_buffers_and_misuse);
    RUN(test_allocation_failure);
    return TEST_DONE();
}
