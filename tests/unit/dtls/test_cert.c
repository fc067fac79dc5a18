/*
** Certificates and the SDP-facing helpers: generation speed, fingerprints checked against
** an independent digest of the DER, a=fingerprint parsing, PEM import/export, validity
** dates, and the a=setup -> role table (RFC 5763 §5, RFC 8842 §5).
*/
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <time.h>

#include "cwebrtc/dtls.h"
#include "test.h"

#if defined(__SANITIZE_ADDRESS__)
#define SLOW_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLOW_BUILD 1
#endif
#endif
#ifndef SLOW_BUILD
#define SLOW_BUILD 0
#endif

/* Thread CPU time: other jobs on a shared machine do not inflate it the way they inflate
** wall time. */
static double cpu_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void test_generate_fast(void) {
    rtc_dtls_cert *c = NULL;
    REQUIRE(rtc_dtls_cert_new(&c, NULL, NULL) == RTC_OK); /* warm-up: provider loading */
    rtc_dtls_cert_free(c);
    double best = 1e12;
    for (int batch = 0; batch < 5; batch++) {
        double t0 = cpu_now_us();
        for (int i = 0; i < 10; i++) {
            REQUIRE(rtc_dtls_cert_new(&c, NULL, NULL) == RTC_OK);
            rtc_dtls_cert_free(c);
        }
        double per = (cpu_now_us() - t0) / 10;
        if (per < best) best = per;
    }
    fprintf(stderr, "  ECDSA P-256 certificate + SSL_CTX: %.0f us CPU each (best batch)\n", best);
    /* "well under a millisecond" holds for optimized builds; sanitizers cost 10-20x. */
    if (!SLOW_BUILD) CHECK(best < 1000);
}

/* Independent check: digest the DER we get back from the PEM export. */
static void test_fingerprints(void) {
    rtc_dtls_cert *c = NULL;
    REQUIRE(rtc_dtls_cert_new(&c, NULL, NULL) == RTC_OK);
    static char pem[8192], key[8192];
    REQUIRE(rtc_dtls_cert_to_pem(c, pem, sizeof pem, key, sizeof key) == RTC_OK);
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    REQUIRE(x != NULL);
    unsigned char *der = NULL;
    int der_len = i2d_X509(x, &der);
    REQUIRE(der_len > 0);
    struct {
        rtc_dtls_hash h;
        const char *md;
        const char *name;
        size_t len;
    } cases[] = {{RTC_DTLS_HASH_SHA1, "SHA1", "sha-1", 20},
                 {RTC_DTLS_HASH_SHA256, "SHA256", "sha-256", 32},
                 {RTC_DTLS_HASH_SHA384, "SHA384", "sha-384", 48},
                 {RTC_DTLS_HASH_SHA512, "SHA512", "sha-512", 64}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t want[64];
        size_t wl = 0;
        REQUIRE(EVP_Q_digest(NULL, cases[i].md, NULL, der, (size_t)der_len, want, &wl) == 1);
        rtc_dtls_fingerprint fp;
        char s[RTC_DTLS_FINGERPRINT_STRLEN];
        CHECK_EQ_INT(rtc_dtls_cert_fingerprint(c, cases[i].h, &fp, s, sizeof s), RTC_OK);
        CHECK_EQ_INT(fp.len, cases[i].len);
        CHECK_EQ_INT(wl, cases[i].len);
        CHECK_MEM(fp.value, want, wl);
        /* "sha-256 AB:CD:..." : name, space, uppercase pairs joined by ':' */
        size_t nl = strlen(cases[i].name);
        CHECK(strncmp(s, cases[i].name, nl) == 0 && s[nl] == ' ');
        CHECK_EQ_INT(strlen(s), nl + 1 + 3 * wl - 1);
        char pair[3];
        snprintf(pair, sizeof pair, "%02X", want[0]);
        CHECK(s[nl + 1] == pair[0] && s[nl + 2] == pair[1] && s[nl + 3] == ':');
        rtc_dtls_fingerprint back;
        CHECK_EQ_INT(rtc_dtls_fingerprint_parse(s, strlen(s), &back), RTC_OK);
        CHECK_EQ_INT(back.hash, cases[i].h);
        CHECK_MEM(back.value, want, wl);
        /* Too small a buffer is reported. */
        CHECK_EQ_INT(rtc_dtls_cert_fingerprint(c, cases[i].h, NULL, s, 10), RTC_ERR_TOO_SMALL);
    }
    OPENSSL_free(der);
    X509_free(x);
    rtc_dtls_cert_free(c);
}

static void test_fingerprint_parse(void) {
    rtc_dtls_fingerprint fp;
    const char *ok = "SHA-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3E:4B:65:"
                     "37:D4:DB:A8:3F:94:25:1F:3C";
    CHECK_EQ_INT(rtc_dtls_fingerprint_parse(ok, strlen(ok), &fp), RTC_OK);
    CHECK_EQ_INT(fp.hash, RTC_DTLS_HASH_SHA256);
    CHECK_EQ_INT(fp.len, 32);
    CHECK_EQ_INT(fp.value[0], 0x4a);
    CHECK_EQ_INT(fp.value[31], 0x3c);
    char out[RTC_DTLS_FINGERPRINT_STRLEN];
    CHECK_EQ_INT(rtc_dtls_fingerprint_format(&fp, out, sizeof out), (int)strlen(ok));
    CHECK(strcmp(out + 7, ok + 7) == 0);
    CHECK(strncmp(out, "sha-256", 7) == 0);
    /* lowercase hex, surrounding whitespace, CRLF from an SDP line */
    const char *lc = "  sha-1 aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd \r\n";
    CHECK_EQ_INT(rtc_dtls_fingerprint_parse(lc, strlen(lc), &fp), RTC_OK);
    CHECK_EQ_INT(fp.hash, RTC_DTLS_HASH_SHA1);
    CHECK_EQ_INT(fp.value[19], 0xdd);
    /* not NUL-terminated: only len bytes count */
    char nt[] = "sha-1 aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:ddXYZ";
    CHECK_EQ_INT(rtc_dtls_fingerprint_parse(nt, strlen(nt) - 3, &fp), RTC_OK);
    const char *bad[] = {
        "",
        "sha-256",
        "sha-256 ",
        "sha-1 aa:bb",                                                          /* short */
        "sha-1 aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee", /* long */
        "sha-1 aabb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd",     /* no colon */
        "sha-1 aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:",   /* trailing */
        "sha-1 :aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd",
        "sha-1 ag:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd", /* bad hex */
        "sha-1 a:abb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd",
        "sh@1 aa",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int r = rtc_dtls_fingerprint_parse(bad[i], strlen(bad[i]), &fp);
        if (r != RTC_ERR_PARSE) fprintf(stderr, "  accepted? [%s] -> %d\n", bad[i], r);
        CHECK_EQ_INT(r, RTC_ERR_PARSE);
    }
    const char *md5 = "md5 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";
    CHECK_EQ_INT(rtc_dtls_fingerprint_parse(md5, strlen(md5), &fp), RTC_ERR_UNSUPPORTED);
    CHECK_EQ_INT(rtc_dtls_fingerprint_parse("sha-3 00", 8, &fp), RTC_ERR_UNSUPPORTED);
    CHECK_STR(rtc_dtls_hash_name(RTC_DTLS_HASH_SHA512), "sha-512");
    CHECK(rtc_dtls_hash_name((rtc_dtls_hash)99) == NULL);
    fp.hash = RTC_DTLS_HASH_SHA1;
    fp.len = 32; /* inconsistent */
    CHECK_EQ_INT(rtc_dtls_fingerprint_format(&fp, out, sizeof out), RTC_ERR_INVALID);
}

static void test_pem_roundtrip(void) {
    rtc_dtls_cert *c = NULL, *d = NULL, *other = NULL;
    REQUIRE(rtc_dtls_cert_new(&c, NULL, NULL) == RTC_OK);
    REQUIRE(rtc_dtls_cert_new(&other, NULL, NULL) == RTC_OK);
    static char pem[8192], key[8192], key2[8192];
    REQUIRE(rtc_dtls_cert_to_pem(c, pem, sizeof pem, key, sizeof key) == RTC_OK);
    CHECK(strstr(pem, "BEGIN CERTIFICATE") != NULL);
    CHECK(strstr(key, "PRIVATE KEY") != NULL);
    CHECK_EQ_INT(rtc_dtls_cert_to_pem(c, pem, 10, NULL, 0), RTC_ERR_TOO_SMALL);
    REQUIRE(rtc_dtls_cert_to_pem(c, pem, sizeof pem, NULL, 0) == RTC_OK);
    CHECK_EQ_INT(rtc_dtls_cert_from_pem(&d, pem, strlen(pem), key, strlen(key), NULL), RTC_OK);
    REQUIRE(d != NULL);
    rtc_dtls_fingerprint f1, f2;
    rtc_dtls_cert_fingerprint(c, RTC_DTLS_HASH_SHA256, &f1, NULL, 0);
    rtc_dtls_cert_fingerprint(d, RTC_DTLS_HASH_SHA256, &f2, NULL, 0);
    CHECK_MEM(f1.value, f2.value, 32);
    rtc_dtls_cert_free(d);
    d = NULL;
    /* A key that does not belong to the certificate. */
    REQUIRE(rtc_dtls_cert_to_pem(other, key2, sizeof key2, key2, sizeof key2) == RTC_OK);
    CHECK_EQ_INT(rtc_dtls_cert_from_pem(&d, pem, strlen(pem), key2, strlen(key2), NULL),
                 RTC_ERR_PARSE);
    CHECK(d == NULL);
    CHECK_EQ_INT(rtc_dtls_cert_from_pem(&d, "garbage", 7, key, strlen(key), NULL), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_dtls_cert_from_pem(&d, pem, strlen(pem) / 2, key, strlen(key), NULL),
                 RTC_ERR_PARSE);
    rtc_dtls_cert_free(c);
    rtc_dtls_cert_free(other);
    rtc_dtls_cert_free(NULL);
}

static void test_validity_and_names(void) {
    rtc_dtls_cert_config cfg = {.now_unix = 1700000000, /* 2023-11-14 22:13:20 UTC */
                                .validity_days = 30,
                                .common_name = "cwebrtc-test"};
    rtc_dtls_cert *c = NULL;
    REQUIRE(rtc_dtls_cert_new(&c, &cfg, NULL) == RTC_OK);
    static char pem[8192];
    REQUIRE(rtc_dtls_cert_to_pem(c, pem, sizeof pem, NULL, 0) == RTC_OK);
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    REQUIRE(x != NULL);
    struct tm nb, na;
    CHECK(ASN1_TIME_to_tm(X509_get0_notBefore(x), &nb) == 1);
    CHECK(ASN1_TIME_to_tm(X509_get0_notAfter(x), &na) == 1);
    CHECK_EQ_INT(nb.tm_year + 1900, 2023);
    CHECK_EQ_INT(nb.tm_mon + 1, 11);
    CHECK_EQ_INT(nb.tm_mday, 13); /* back-dated one day */
    CHECK_EQ_INT(na.tm_mon + 1, 12);
    CHECK_EQ_INT(na.tm_mday, 14); /* + 30 days */
    char cn[64] = "";
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
    CHECK_STR(cn, "cwebrtc-test");
    CHECK_EQ_INT(X509_get_version(x), 2); /* v3 */
    /* Self-signed: issuer == subject, and the signature verifies with its own key. */
    CHECK(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0);
    EVP_PKEY *pk = X509_get0_pubkey(x);
    CHECK(pk && X509_verify(x, pk) == 1);
    CHECK(EVP_PKEY_is_a(pk, "EC"));
    X509_free(x);
    rtc_dtls_cert_free(c);
    /* Random names differ between certificates. */
    rtc_dtls_cert *c1 = NULL, *c2 = NULL;
    rtc_dtls_cert_new(&c1, NULL, NULL);
    rtc_dtls_cert_new(&c2, NULL, NULL);
    REQUIRE(c1 && c2);
    char p1[8192], p2[8192];
    rtc_dtls_cert_to_pem(c1, p1, sizeof p1, NULL, 0);
    rtc_dtls_cert_to_pem(c2, p2, sizeof p2, NULL, 0);
    CHECK(strcmp(p1, p2) != 0);
    rtc_dtls_cert_free(c1);
    rtc_dtls_cert_free(c2);
    rtc_dtls_cert_config badcfg = {.key_type = (rtc_dtls_key_type)7};
    CHECK_EQ_INT(rtc_dtls_cert_new(&c, &badcfg, NULL), RTC_ERR_INVALID);
}

static void test_setup_roles(void) {
    rtc_dtls_setup s;
    CHECK_EQ_INT(rtc_dtls_setup_parse("actpass", 7, &s), RTC_OK);
    CHECK_EQ_INT(s, RTC_DTLS_SETUP_ACTPASS);
    CHECK_EQ_INT(rtc_dtls_setup_parse("Active\r\n", 8, &s), RTC_OK);
    CHECK_EQ_INT(s, RTC_DTLS_SETUP_ACTIVE);
    CHECK_EQ_INT(rtc_dtls_setup_parse("passive", 7, &s), RTC_OK);
    CHECK_EQ_INT(s, RTC_DTLS_SETUP_PASSIVE);
    CHECK_EQ_INT(rtc_dtls_setup_parse("holdconn", 8, &s), RTC_OK);
    CHECK_EQ_INT(rtc_dtls_setup_parse("act", 3, &s), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_dtls_setup_parse("activex", 7, &s), RTC_ERR_PARSE);
    CHECK_STR(rtc_dtls_setup_name(RTC_DTLS_SETUP_PASSIVE), "passive");

    CHECK_EQ_INT(rtc_dtls_setup_for_answer(RTC_DTLS_SETUP_ACTPASS, &s), RTC_OK);
    CHECK_EQ_INT(s, RTC_DTLS_SETUP_ACTIVE);
    CHECK_EQ_INT(rtc_dtls_setup_for_answer(RTC_DTLS_SETUP_ACTIVE, &s), RTC_OK);
    CHECK_EQ_INT(s, RTC_DTLS_SETUP_PASSIVE);
    CHECK_EQ_INT(rtc_dtls_setup_for_answer(RTC_DTLS_SETUP_PASSIVE, &s), RTC_OK);
    CHECK_EQ_INT(s, RTC_DTLS_SETUP_ACTIVE);
    CHECK_EQ_INT(rtc_dtls_setup_for_answer(RTC_DTLS_SETUP_HOLDCONN, &s), RTC_ERR_INVALID);

    /* Re-answers keep the role; the pair stays consistent with the re-offer's actpass. */
    for (int role = 0; role < 2; role++) {
        rtc_dtls_setup keep = rtc_dtls_setup_for_role((rtc_dtls_role)role);
        rtc_dtls_role back;
        CHECK_EQ_INT(rtc_dtls_role_from_setup(keep, RTC_DTLS_SETUP_ACTPASS, &back), RTC_OK);
        CHECK_EQ_INT(back, role);
        CHECK_EQ_INT(rtc_dtls_role_from_setup(RTC_DTLS_SETUP_ACTPASS, keep, &back), RTC_OK);
        CHECK_EQ_INT(back, 1 - role);
    }
    /* local, remote -> role (or -1 for invalid) */
    const int A = RTC_DTLS_SETUP_ACTPASS, C = RTC_DTLS_SETUP_ACTIVE, P = RTC_DTLS_SETUP_PASSIVE,
              H = RTC_DTLS_SETUP_HOLDCONN;
    const int CL = RTC_DTLS_ROLE_CLIENT, SV = RTC_DTLS_ROLE_SERVER;
    const int table[][3] = {{C, P, CL}, {C, A, CL}, {P, C, SV}, {P, A, SV}, {A, C, SV}, {A, P, CL},
                            {A, A, -1}, {C, C, -1}, {P, P, -1}, {H, A, -1}, {A, H, -1}, {C, H, -1}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        rtc_dtls_role r = (rtc_dtls_role)77;
        int e =
            rtc_dtls_role_from_setup((rtc_dtls_setup)table[i][0], (rtc_dtls_setup)table[i][1], &r);
        if (table[i][2] < 0) {
            CHECK_EQ_INT(e, RTC_ERR_INVALID);
        } else {
            CHECK_EQ_INT(e, RTC_OK);
            CHECK_EQ_INT(r, table[i][2]);
        }
    }
}

int main(void) {
    RUN(test_generate_fast);
    RUN(test_fingerprints);
    RUN(test_fingerprint_parse);
    RUN(test_pem_roundtrip);
    RUN(test_validity_and_names);
    RUN(test_setup_roles);
    return TEST_DONE();
}
