/*
** tests/unit/srtp/test_libsrtp.c: differential test against libsrtp2 (the reference oracle,
** linked only here via extra.cmake). For each of the four profiles, with random keys, the
** same stream of events goes to both implementations: new packets of many sizes (CSRCs,
** header extensions, padding bit), sequence-number wrap-arounds and jumps, sender-side
** reordering and retransmissions, receiver-side reordering, replays, a ROC change, and
** SRTCP. Protected bytes must be identical, each side must unprotect the other's output,
** and both must agree on every rejection. Exits 77 (skipped) without libsrtp2.
*/
#include "cwebrtc/srtp.h"
#include "test.h"

#ifndef RTC_HAVE_LIBSRTP2
int main(void) {
    fprintf(stderr, "libsrtp2 not available: skipped\n");
    return 77;
}
#else
#include <srtp2/srtp.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 32);
}
static uint32_t below(uint32_t n) { return rnd() % n; }

static srtp_t lib_session(uint16_t profile, bool outbound, const rtc_srtp_keys *k) {
    srtp_policy_t p;
    memset(&p, 0, sizeof p);
    if (srtp_crypto_policy_set_from_profile_for_rtp(&p.rtp, (srtp_profile_t)profile) ||
        srtp_crypto_policy_set_from_profile_for_rtcp(&p.rtcp, (srtp_profile_t)profile))
        return NULL;
    uint8_t key[64];
    memcpy(key, k->key, k->key_len);
    memcpy(key + k->key_len, k->salt, k->salt_len);
    p.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
    p.key = key;
    p.window_size = 128;
    p.allow_repeat_tx = 1;
    srtp_t s = NULL;
    if (srtp_create(&s, &p) != srtp_err_status_ok) return NULL;
    return s;
}

static rtc_srtp *our_session(rtc_srtp_direction dir, const rtc_srtp_keys *k) {
    rtc_srtp_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.direction = dir;
    cfg.keys = *k;
    cfg.replay_window = 128;
    cfg.rtcp_replay_window = 128;
    rtc_srtp *s = NULL;
    return rtc_srtp_new(&s, &cfg, NULL) == RTC_OK ? s : NULL;
}

#define MAXPKT 1600
#define NSSRC  4
#define HIST   16

typedef struct pkt {
    uint8_t b[MAXPKT];
    int len;
} pkt;

static int build_rtp(uint8_t *b, uint32_t ssrc, uint16_t seq) {
    int cc = below(4) == 0 ? (int)below(16) : 0;
    bool ext = below(3) == 0, pad = below(8) == 0;
    int plen = (int)below(4) == 0 ? (int)below(40) : (int)below(1200);
    int n = 0;
    b[n++] = (uint8_t)(0x80 | (pad ? 0x20 : 0) | (ext ? 0x10 : 0) | cc);
    b[n++] = (uint8_t)(96 + below(2) * 0x80);
    b[n++] = (uint8_t)(seq >> 8);
    b[n++] = (uint8_t)seq;
    for (int i = 0; i < 4; i++)
        b[n++] = (uint8_t)rnd();
    for (int i = 0; i < 4; i++)
        b[n++] = (uint8_t)(ssrc >> (24 - 8 * i));
    for (int i = 0; i < 4 * cc; i++)
        b[n++] = (uint8_t)rnd();
    if (ext) {
        int words = (int)below(5);
        b[n++] = 0xbe;
        b[n++] = 0xde;
        b[n++] = 0;
        b[n++] = (uint8_t)words;
        for (int i = 0; i < 4 * words; i++)
            b[n++] = (uint8_t)rnd();
    }
    for (int i = 0; i < plen; i++)
        b[n++] = (uint8_t)rnd();
    if (pad) {
        int p = 1 + (int)below(4);
        for (int i = 0; i < p - 1; i++)
            b[n++] = 0;
        b[n++] = (uint8_t)p;
    }
    return n;
}

static int build_rtcp(uint8_t *b, uint32_t ssrc) {
    int words = 1 + (int)below(60); /* after the first word */
    int n = 0;
    b[n++] = (uint8_t)(0x80 | below(4));
    b[n++] = (uint8_t)(200 + below(5));
    b[n++] = (uint8_t)(words >> 8);
    b[n++] = (uint8_t)words;
    for (int i = 0; i < 4; i++)
        b[n++] = (uint8_t)(ssrc >> (24 - 8 * i));
    for (int i = 0; i < 4 * (words - 1); i++)
        b[n++] = (uint8_t)rnd();
    return n;
}

typedef struct ctx {
    rtc_srtp *otx, *orx;
    srtp_t ltx, lrx;
    int delivered_ok, rejected, mismatches;
} ctx;

/* Protect with both; returns the two results. */
static void protect_both(ctx *c, bool rtcp, const pkt *plain, pkt *ours, pkt *theirs, int *orc,
                         int *lrc) {
    size_t ol = 0;
    *orc = rtcp ? rtc_srtp_protect_rtcp(c->otx, plain->b, (size_t)plain->len, ours->b, MAXPKT, &ol)
                : rtc_srtp_protect(c->otx, plain->b, (size_t)plain->len, ours->b, MAXPKT, &ol);
    ours->len = (int)ol;
    *theirs = *plain;
    *lrc = rtcp ? srtp_protect_rtcp(c->ltx, theirs->b, &theirs->len)
                : srtp_protect(c->ltx, theirs->b, &theirs->len);
}

/* Deliver a protected packet to both receivers, crossing over: our receiver gets
** libsrtp's bytes and libsrtp gets ours (they are identical when both protected). */
static void deliver(ctx *c, bool rtcp, const pkt *prot, const pkt *plain) {
    pkt a = *prot, b;
    size_t ol = 0;
    int orc = rtcp ? rtc_srtp_unprotect_rtcp(c->orx, prot->b, (size_t)prot->len, b.b, MAXPKT, &ol)
                   : rtc_srtp_unprotect(c->orx, prot->b, (size_t)prot->len, b.b, MAXPKT, &ol);
    int lrc = rtcp ? srtp_unprotect_rtcp(c->lrx, a.b, &a.len) : srtp_unprotect(c->lrx, a.b, &a.len);
    CHECK((orc == RTC_OK) == (lrc == srtp_err_status_ok));
    if ((orc == RTC_OK) != (lrc == srtp_err_status_ok)) {
        c->mismatches++;
        fprintf(stderr, "  %s: ours %d libsrtp %d\n", rtcp ? "rtcp" : "rtp", orc, lrc);
        return;
    }
    if (orc == RTC_ERR_REPLAY)
        CHECK(lrc == srtp_err_status_replay_fail || lrc == srtp_err_status_replay_old);
    if (orc != RTC_OK) {
        c->rejected++;
        return;
    }
    c->delivered_ok++;
    CHECK_EQ_INT(ol, (size_t)plain->len);
    CHECK_EQ_INT(a.len, plain->len);
    CHECK_MEM(b.b, plain->b, (size_t)plain->len);
    CHECK_MEM(a.b, plain->b, (size_t)plain->len);
}

static void run_profile(uint16_t profile, int events) {
    rtc_srtp_keys k;
    memset(&k, 0, sizeof k);
    k.profile = profile;
    REQUIRE(rtc_srtp_profile_lengths(profile, &k.key_len, &k.salt_len) == RTC_OK);
    for (size_t i = 0; i < k.key_len; i++)
        k.key[i] = (uint8_t)rnd();
    for (size_t i = 0; i < k.salt_len; i++)
        k.salt[i] = (uint8_t)rnd();
    ctx c = {0};
    c.otx = our_session(RTC_SRTP_OUTBOUND, &k);
    c.orx = our_session(RTC_SRTP_INBOUND, &k);
    c.ltx = lib_session(profile, true, &k);
    c.lrx = lib_session(profile, false, &k);
    REQUIRE(c.otx && c.orx && c.ltx && c.lrx);

    uint32_t ssrc[NSSRC] = {0x11111111, rnd(), rnd() | 1, 0xcafebabe};
    /* Start two streams close to a wrap, one mid-range, one at 0. */
    uint16_t next[NSSRC] = {65500, (uint16_t)rnd(), 32760, 0};
    bool rtcp_started[NSSRC] = {0};
    int skipped[NSSRC] = {-1, -1, -1, -1};
    static pkt hist_plain[NSSRC][HIST], hist_prot[NSSRC][HIST];
    int hist_n[NSSRC] = {0};
    static pkt held_plain, held_prot, rtcp_prot_last[NSSRC], rtcp_plain_last[NSSRC];
    bool have_held = false, have_rtcp[NSSRC] = {0};
    bool roc_changed = false;

    for (int ev = 0; ev < events; ev++) {
        int k2 = (int)below(NSSRC);
        uint32_t r = below(100);
        pkt plain, ours, theirs;
        int orc, lrc;
        if (!roc_changed && ev > events / 2 && hist_n[3] > 0) {
            /* A ROC change signalled out of band, applied on all four sessions. */
            uint32_t roc = 0;
            CHECK_EQ_INT(rtc_srtp_get_roc(c.otx, ssrc[3], &roc), RTC_OK);
            roc += 3;
            CHECK_EQ_INT(rtc_srtp_set_roc(c.otx, ssrc[3], roc), RTC_OK);
            CHECK_EQ_INT(rtc_srtp_set_roc(c.orx, ssrc[3], roc), RTC_OK);
            CHECK(srtp_set_stream_roc(c.ltx, ssrc[3], roc) == srtp_err_status_ok);
            CHECK(srtp_set_stream_roc(c.lrx, ssrc[3], roc) == srtp_err_status_ok);
            roc_changed = true;
        }
        if (r < 70 || hist_n[k2] == 0) {
            /* New packet; sometimes skip one sequence number (sent later: reorder at the
            ** sender) or jump ahead. */
            if (below(40) == 0 && skipped[k2] < 0) skipped[k2] = next[k2]++;
            if (below(60) == 0) next[k2] = (uint16_t)(next[k2] + below(3000));
            uint16_t seq = next[k2]++;
            plain.len = build_rtp(plain.b, ssrc[k2], seq);
        } else if (r < 75 && skipped[k2] >= 0) {
            plain.len = build_rtp(plain.b, ssrc[k2], (uint16_t)skipped[k2]);
            skipped[k2] = -1;
        } else if (r < 80) {
            /* Retransmission: a recent packet protected again; identical bytes expected. */
            int h = (int)below((uint32_t)(hist_n[k2] < HIST ? hist_n[k2] : HIST));
            protect_both(&c, false, &hist_plain[k2][h], &ours, &theirs, &orc, &lrc);
            CHECK((orc == RTC_OK) == (lrc == srtp_err_status_ok));
            if (orc == RTC_OK && lrc == srtp_err_status_ok) {
                CHECK_EQ_INT(ours.len, theirs.len);
                CHECK_MEM(ours.b, theirs.b, (size_t)ours.len);
            }
            continue;
        } else if (r < 86) {
            /* Replay of something delivered earlier: both receivers must refuse. */
            int h = (int)below((uint32_t)(hist_n[k2] < HIST ? hist_n[k2] : HIST));
            deliver(&c, false, &hist_prot[k2][h], &hist_plain[k2][h]);
            continue;
        } else if (r < 90 && have_held) {
            deliver(&c, false, &held_prot, &held_plain); /* late: reordered in the network */
            have_held = false;
            continue;
        } else {
            /* SRTCP: libsrtp sends index 1 first, RFC 3711 says 0; align ours for equality. */
            if (have_rtcp[k2] && below(4) == 0) {
                deliver(&c, true, &rtcp_prot_last[k2], &rtcp_plain_last[k2]); /* replay */
                continue;
            }
            if (!rtcp_started[k2]) {
                CHECK_EQ_INT(rtc_srtp_set_rtcp_index(c.otx, ssrc[k2], 1), RTC_OK);
                rtcp_started[k2] = true;
            }
            plain.len = build_rtcp(plain.b, ssrc[k2]);
            protect_both(&c, true, &plain, &ours, &theirs, &orc, &lrc);
            CHECK_EQ_INT(orc, RTC_OK);
            CHECK(lrc == srtp_err_status_ok);
            if (orc != RTC_OK || lrc != srtp_err_status_ok) continue;
            CHECK_EQ_INT(ours.len, theirs.len);
            CHECK_MEM(ours.b, theirs.b, (size_t)ours.len);
            deliver(&c, true, &theirs, &plain);
            rtcp_prot_last[k2] = ours;
            rtcp_plain_last[k2] = plain;
            have_rtcp[k2] = true;
            continue;
        }
        protect_both(&c, false, &plain, &ours, &theirs, &orc, &lrc);
        CHECK((orc == RTC_OK) == (lrc == srtp_err_status_ok));
        if (orc != RTC_OK || lrc != srtp_err_status_ok) continue;
        CHECK_EQ_INT(ours.len, theirs.len);
        if (ours.len != theirs.len || memcmp(ours.b, theirs.b, (size_t)ours.len) != 0) {
            c.mismatches++;
            CHECK(0);
            continue;
        }
        int slot = hist_n[k2]++ % HIST;
        hist_plain[k2][slot] = plain;
        hist_prot[k2][slot] = ours;
        if (!have_held && below(10) == 0) { /* hold it back: delivered after later ones */
            held_plain = plain;
            held_prot = ours;
            have_held = true;
            continue;
        }
        deliver(&c, false, &ours, &plain);
    }
    /* The run really crossed wraps and the ROC change, on both implementations. */
    uint32_t roc0 = 0, roc3 = 0, lroc0 = 0;
    CHECK_EQ_INT(rtc_srtp_get_roc(c.orx, ssrc[0], &roc0), RTC_OK);
    CHECK_EQ_INT(rtc_srtp_get_roc(c.orx, ssrc[3], &roc3), RTC_OK);
    CHECK(srtp_get_stream_roc(c.lrx, ssrc[0], &lroc0) == srtp_err_status_ok);
    CHECK(roc0 >= 1 && roc3 >= 3 && roc0 == lroc0);
    fprintf(stderr, "  profile %04x: %d delivered, %d rejected (both agreed), %d mismatches\n",
            profile, c.delivered_ok, c.rejected, c.mismatches);
    CHECK(c.delivered_ok > events / 2);
    CHECK(c.rejected > events / 50);
    CHECK_EQ_INT(c.mismatches, 0);
    rtc_srtp_free(c.otx);
    rtc_srtp_free(c.orx);
    srtp_dealloc(c.ltx);
    srtp_dealloc(c.lrx);
}

static void test_aes_cm_80(void) { run_profile(RTC_SRTP_AES128_CM_SHA1_80, 1500); }
static void test_aes_cm_32(void) { run_profile(RTC_SRTP_AES128_CM_SHA1_32, 1500); }
static void test_gcm_128(void) { run_profile(RTC_SRTP_AEAD_AES_128_GCM, 1500); }
static void test_gcm_256(void) { run_profile(RTC_SRTP_AEAD_AES_256_GCM, 1500); }

int main(void) {
    if (srtp_init() != srtp_err_status_ok) return 1;
    RUN(test_aes_cm_80);
    RUN(test_aes_cm_32);
    RUN(test_gcm_128);
    RUN(test_gcm_256);
    srtp_shutdown();
    return TEST_DONE();
}
#endif
