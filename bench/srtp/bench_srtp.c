/*
** bench/srtp: SRTP protect/unprotect throughput for 1200-octet RTP packets, ours vs
** libsrtp2 (when linked, see extra.cmake) vs a bare EVP loop (just the cipher and MAC over
** the same bytes, contexts keyed once: the floor any implementation on OpenSSL pays).
** Prints packets/s and CPU µs per packet (CLOCK_PROCESS_CPUTIME_ID), and the ratios.
**
**   bench_srtp [packets]      (default 20000 per measurement; best of 7 interleaved runs)
**
** Unprotect replays a warm store of 256 packets to a fresh session per round (setup not
** timed); protect uses one session and a fresh sequence number per packet.
*/
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cwebrtc/srtp.h"

#ifdef RTC_HAVE_LIBSRTP2
#include <srtp2/srtp.h>
#endif

#define PKT    1200
#define ROUNDS 7
#define HDR    12
#define SLOT   1280

static int N = 20000;
/* Unprotect needs distinct packets (replay protection). A small store (M packets, warm in
** cache) is replayed to a fresh session per round, so every implementation reads the same
** warm bytes and the figures measure the code, not memory. Session setup is not timed. */
#define M 256
static uint8_t *store;      /* M packets protected by us (and libsrtp: same bytes) */
static uint8_t *bare_store; /* M packets protected by the bare loop */
static size_t store_len[1];

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void make_rtp(uint8_t *b, uint16_t seq) {
    memset(b, 0xab, PKT);
    b[0] = 0x80;
    b[1] = 96;
    b[2] = (uint8_t)(seq >> 8);
    b[3] = (uint8_t)seq;
    b[8] = 0xca, b[9] = 0xfe, b[10] = 0xba, b[11] = 0xbe;
}

static void keys(uint16_t profile, rtc_srtp_keys *k) {
    memset(k, 0, sizeof *k);
    k->profile = profile;
    rtc_srtp_profile_lengths(profile, &k->key_len, &k->salt_len);
    for (size_t i = 0; i < k->key_len; i++)
        k->key[i] = (uint8_t)(i * 13 + 1);
    for (size_t i = 0; i < k->salt_len; i++)
        k->salt[i] = (uint8_t)(i * 7 + 3);
}

static rtc_srtp *ours(uint16_t profile, rtc_srtp_direction dir) {
    rtc_srtp_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.direction = dir;
    keys(profile, &cfg.keys);
    rtc_srtp *s = NULL;
    if (rtc_srtp_new(&s, &cfg, NULL) != RTC_OK) {
        fprintf(stderr, "rtc_srtp_new failed\n");
        exit(1);
    }
    return s;
}

/* ---- ours ---- */
static double ours_protect(uint16_t profile) {
    rtc_srtp *s = ours(profile, RTC_SRTP_OUTBOUND);
    uint8_t in[PKT], out[SLOT];
    size_t ol;
    make_rtp(in, 0);
    double t0 = cpu_now();
    for (int i = 0; i < N; i++) {
        in[2] = (uint8_t)(i >> 8);
        in[3] = (uint8_t)i;
        if (rtc_srtp_protect(s, in, PKT, out, sizeof out, &ol) != RTC_OK) exit(2);
    }
    double t = cpu_now() - t0;
    rtc_srtp_free(s);
    return t;
}

static void fill_store(uint16_t profile) {
    rtc_srtp *s = ours(profile, RTC_SRTP_OUTBOUND);
    uint8_t in[PKT];
    for (int i = 0; i < M; i++) {
        make_rtp(in, (uint16_t)i);
        if (rtc_srtp_protect(s, in, PKT, store + (size_t)i * SLOT, SLOT, &store_len[0]) != RTC_OK)
            exit(2);
    }
    rtc_srtp_free(s);
}

static double ours_unprotect(uint16_t profile) {
    uint8_t out[SLOT];
    size_t ol;
    double t = 0;
    for (int r = 0; r < N / M; r++) {
        rtc_srtp *s = ours(profile, RTC_SRTP_INBOUND);
        double t0 = cpu_now();
        for (int i = 0; i < M; i++)
            if (rtc_srtp_unprotect(s, store + (size_t)i * SLOT, store_len[0], out, sizeof out,
                                   &ol) != RTC_OK)
                exit(3);
        t += cpu_now() - t0;
        rtc_srtp_free(s);
    }
    return t;
}

/* ---- libsrtp2 ---- */
#ifdef RTC_HAVE_LIBSRTP2
static srtp_t lib(uint16_t profile, bool out) {
    rtc_srtp_keys k;
    keys(profile, &k);
    srtp_policy_t p;
    memset(&p, 0, sizeof p);
    srtp_crypto_policy_set_from_profile_for_rtp(&p.rtp, (srtp_profile_t)profile);
    srtp_crypto_policy_set_from_profile_for_rtcp(&p.rtcp, (srtp_profile_t)profile);
    uint8_t key[64];
    memcpy(key, k.key, k.key_len);
    memcpy(key + k.key_len, k.salt, k.salt_len);
    p.ssrc.type = out ? ssrc_any_outbound : ssrc_any_inbound;
    p.key = key;
    p.window_size = 128;
    srtp_t s;
    if (srtp_create(&s, &p) != srtp_err_status_ok) exit(4);
    return s;
}
static double lib_protect(uint16_t profile) {
    srtp_t s = lib(profile, true);
    uint8_t in[PKT], work[SLOT];
    make_rtp(in, 0);
    double t0 = cpu_now();
    for (int i = 0; i < N; i++) {
        in[2] = (uint8_t)(i >> 8);
        in[3] = (uint8_t)i;
        memcpy(work, in, PKT); /* libsrtp works in place: the copy is our out-of-place */
        int len = PKT;
        if (srtp_protect(s, work, &len) != srtp_err_status_ok) exit(5);
    }
    double t = cpu_now() - t0;
    srtp_dealloc(s);
    return t;
}
static double lib_unprotect(uint16_t profile) {
    uint8_t work[SLOT];
    double t = 0;
    for (int r = 0; r < N / M; r++) {
        srtp_t s = lib(profile, false);
        double t0 = cpu_now();
        for (int i = 0; i < M; i++) {
            memcpy(work, store + (size_t)i * SLOT, store_len[0]);
            int len = (int)store_len[0];
            if (srtp_unprotect(s, work, &len) != srtp_err_status_ok) exit(6);
        }
        t += cpu_now() - t0;
        srtp_dealloc(s);
    }
    return t;
}
#endif

/* ---- bare EVP: the same cipher + MAC calls, no SRTP logic ---- */
typedef struct bare {
    EVP_CIPHER *cipher;
    EVP_MAC *mac;
    EVP_CIPHER_CTX *c;
    EVP_MAC_CTX *m;
    bool gcm;
} bare;

static void bare_init(bare *b, uint16_t profile, int enc) {
    rtc_srtp_keys k;
    keys(profile, &k);
    b->gcm = profile >= RTC_SRTP_AEAD_AES_128_GCM;
    b->cipher = EVP_CIPHER_fetch(
        NULL, b->gcm ? (k.key_len == 16 ? "AES-128-GCM" : "AES-256-GCM") : "AES-128-CTR", NULL);
    b->c = EVP_CIPHER_CTX_new();
    EVP_CipherInit_ex2(b->c, b->cipher, k.key, NULL, enc, NULL);
    b->mac = NULL;
    b->m = NULL;
    if (!b->gcm) {
        b->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        b->m = EVP_MAC_CTX_new(b->mac);
        char d[] = "SHA1";
        OSSL_PARAM ps[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, d, 0),
                           OSSL_PARAM_construct_end()};
        uint8_t ak[20] = {1};
        EVP_MAC_init(b->m, ak, 20, ps);
    }
}
static void bare_free(bare *b) {
    EVP_CIPHER_CTX_free(b->c);
    EVP_MAC_CTX_free(b->m);
    EVP_MAC_free(b->mac);
    EVP_CIPHER_free(b->cipher);
}

/* One packet: enc = protect direction. For GCM decryption `tag` is checked. */
static int bare_one(bare *b, int enc, const uint8_t *in, uint8_t *out, uint16_t seq, uint8_t *tag) {
    uint8_t iv[16] = {0}, fin[16], mac[20], roc[4] = {0};
    int l;
    size_t ml;
    iv[12] = (uint8_t)(seq >> 8);
    iv[13] = (uint8_t)seq;
    EVP_CipherInit_ex2(b->c, NULL, NULL, iv, -1, NULL);
    if (b->gcm) {
        EVP_CipherUpdate(b->c, NULL, &l, in, HDR);
        EVP_CipherUpdate(b->c, out + HDR, &l, in + HDR, PKT - HDR);
        if (!enc) EVP_CIPHER_CTX_ctrl(b->c, EVP_CTRL_AEAD_SET_TAG, 16, tag);
        if (EVP_CipherFinal_ex(b->c, fin, &l) != 1) return -1;
        if (enc) EVP_CIPHER_CTX_ctrl(b->c, EVP_CTRL_AEAD_GET_TAG, 16, tag);
    } else {
        if (enc) EVP_CipherUpdate(b->c, out + HDR, &l, in + HDR, PKT - HDR);
        EVP_MAC_init(b->m, NULL, 0, NULL);
        EVP_MAC_update(b->m, enc ? out : in, PKT);
        EVP_MAC_update(b->m, roc, 4);
        EVP_MAC_final(b->m, mac, &ml, sizeof mac);
        if (enc)
            memcpy(tag, mac, 10);
        else if (memcmp(mac, tag, 10) != 0)
            return -1;
        if (!enc) EVP_CipherUpdate(b->c, out + HDR, &l, in + HDR, PKT - HDR);
    }
    return 0;
}

static double bare_run(uint16_t profile, int enc) {
    bare b;
    bare_init(&b, profile, enc);
    uint8_t in[SLOT], out[SLOT];
    make_rtp(in, 0);
    double t0 = 0, t;
    if (enc) {
        t0 = cpu_now();
        for (int i = 0; i < N; i++) {
            in[2] = (uint8_t)(i >> 8);
            in[3] = (uint8_t)i;
            bare_one(&b, 1, in, out, (uint16_t)i, out + PKT);
        }
    } else {
        /* Encrypt M packets with a twin encryptor first, so decryption sees real tags. */
        bare e;
        bare_init(&e, profile, 1);
        for (int i = 0; i < M; i++) {
            uint8_t *p = bare_store + (size_t)i * SLOT;
            make_rtp(in, (uint16_t)i);
            memcpy(p, in, HDR);
            bare_one(&e, 1, in, p, (uint16_t)i, p + PKT);
        }
        bare_free(&e);
        t0 = cpu_now();
        for (int r = 0; r < N / M; r++)
            for (int i = 0; i < M; i++) {
                uint8_t *p = bare_store + (size_t)i * SLOT;
                if (bare_one(&b, 0, p, out, (uint16_t)i, p + PKT) != 0) exit(7);
            }
    }
    t = cpu_now() - t0;
    bare_free(&b);
    return t;
}

static double bare_p(uint16_t profile) { return bare_run(profile, 1); }
static double bare_u(uint16_t profile) { return bare_run(profile, 0); }

static void line(const char *what, const char *who, double t) {
    printf("  %-9s %-8s %10.0f pkt/s  %6.3f us/pkt\n", what, who, N / t, t * 1e6 / N);
}

int main(int argc, char **argv) {
    if (argc > 1) N = atoi(argv[1]);
    if (N < 100 || N > 65000) N = 20000; /* stay within one ROC: 16-bit seq, no wrap */
    N = N / M * M;
    store = malloc((size_t)M * SLOT);
    bare_store = malloc((size_t)M * SLOT);
    if (!store || !bare_store) return 1;
#ifdef RTC_HAVE_LIBSRTP2
    if (srtp_init() != srtp_err_status_ok) return 1;
#endif
    const uint16_t profiles[] = {RTC_SRTP_AES128_CM_SHA1_80, RTC_SRTP_AEAD_AES_128_GCM};
    /* The machine is shared: measurements are interleaved round by round and the best
    ** (least disturbed) of ROUNDS is kept for each. */
    enum { OP, BP, LP, OU, BU, LU, NM };
    double (*fn[NM])(uint16_t) = {ours_protect, bare_p, NULL, ours_unprotect, bare_u, NULL};
#ifdef RTC_HAVE_LIBSRTP2
    fn[LP] = lib_protect;
    fn[LU] = lib_unprotect;
#endif
    printf("SRTP, %d-octet RTP packets, %d packets per measurement, best of %d, CPU time\n", PKT, N,
           ROUNDS);
    for (size_t p = 0; p < 2; p++) {
        uint16_t prof = profiles[p];
        double best[NM];
        for (int m = 0; m < NM; m++)
            best[m] = 1e9;
        fill_store(prof);
        for (int r = 0; r < ROUNDS; r++)
            for (int m = 0; m < NM; m++)
                if (fn[m]) {
                    double x = fn[m](prof);
                    if (x < best[m]) best[m] = x;
                }
        printf("%s\n", rtc_srtp_profile_name(prof));
        line("protect", "ours", best[OP]);
        line("protect", "bare-evp", best[BP]);
        if (fn[LP]) line("protect", "libsrtp2", best[LP]);
        line("unprotect", "ours", best[OU]);
        line("unprotect", "bare-evp", best[BU]);
        if (fn[LU]) line("unprotect", "libsrtp2", best[LU]);
        if (fn[LP])
            printf("  ratio ours/libsrtp2 (speed): protect %.2fx  unprotect %.2fx\n",
                   best[LP] / best[OP], best[LU] / best[OU]);
        printf("  ratio ours/bare-evp (speed): protect %.0f%%  unprotect %.0f%%\n",
               100 * best[BP] / best[OP], 100 * best[BU] / best[OU]);
    }
#ifdef RTC_HAVE_LIBSRTP2
    srtp_shutdown();
#endif
    free(store);
    free(bare_store);
    return 0;
}
