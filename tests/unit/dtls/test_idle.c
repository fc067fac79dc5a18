/*
** tests/unit/dtls/test_idle.c: a connected session gives its record buffers back when idle
** (dtls.c release_idle, issue 6: memory per idle peer connection).
**
** OpenSSL's allocations are counted through CRYPTO_set_mem_functions (set first thing in
** main, before OpenSSL allocates anything). After traffic both sides hold their 16 KiB read
** and write buffers and arm a timer; before the deadline nothing changes; at the deadline
** the buffers go and next_timeout is NEVER again; traffic and close_notify still work after.
*/
#include <openssl/crypto.h>
#include <stdlib.h>

#include "dtls_harness.h"
#include "test.h"

static long long ssl_live; /* bytes OpenSSL holds */

static void *c_malloc(size_t n, const char *f, int l) {
    (void)f;
    (void)l;
    size_t *p = malloc(n + 16);
    if (!p) return NULL;
    *p = n;
    ssl_live += (long long)n;
    return (char *)p + 16;
}
static void c_free(void *ptr, const char *f, int l) {
    (void)f;
    (void)l;
    if (!ptr) return;
    size_t *p = (size_t *)((char *)ptr - 16);
    ssl_live -= (long long)*p;
    free(p);
}
static void *c_realloc(void *ptr, size_t n, const char *f, int l) {
    if (!ptr) return c_malloc(n, f, l);
    if (n == 0) {
        c_free(ptr, f, l);
        return NULL;
    }
    size_t *p = (size_t *)((char *)ptr - 16);
    size_t old = *p;
    size_t *q = realloc(p, n + 16);
    if (!q) return NULL;
    *q = n;
    ssl_live += (long long)n - (long long)old;
    return (char *)q + 16;
}

static h_pair P;

/* ma goes a -> b and mb b -> a; b_first: b sends before a. */
static void exchange(rtc_dtls *a, rtc_dtls *b, const char *ma, const char *mb, bool b_first) {
    P.s[0].rx_len = P.s[1].rx_len = 0;
    if (b_first) CHECK_EQ_INT(rtc_dtls_send(b, h_now(), (const uint8_t *)mb, strlen(mb)), RTC_OK);
    CHECK_EQ_INT(rtc_dtls_send(a, h_now(), (const uint8_t *)ma, strlen(ma)), RTC_OK);
    if (!b_first) CHECK_EQ_INT(rtc_dtls_send(b, h_now(), (const uint8_t *)mb, strlen(mb)), RTC_OK);
    CHECK(h_run(&P, 5000));
    CHECK_EQ_INT(P.s[1].rx_len, strlen(ma));
    CHECK_MEM(P.s[1].rx, ma, strlen(ma));
    CHECK_EQ_INT(P.s[0].rx_len, strlen(mb));
    CHECK_MEM(P.s[0].rx, mb, strlen(mb));
}

static void test_idle_release(void) {
    rtc_dtls_cert *ca = NULL, *cb = NULL;
    REQUIRE(rtc_dtls_cert_new(&ca, NULL, NULL) == RTC_OK);
    REQUIRE(rtc_dtls_cert_new(&cb, NULL, NULL) == RTC_OK);
    rtc_dtls_fingerprint fa, fb;
    REQUIRE(rtc_dtls_cert_fingerprint(ca, RTC_DTLS_HASH_SHA256, &fa, NULL, 0) == RTC_OK);
    REQUIRE(rtc_dtls_cert_fingerprint(cb, RTC_DTLS_HASH_SHA256, &fb, NULL, 0) == RTC_OK);
    rtc_dtls_config c0 = h_config(RTC_DTLS_ROLE_CLIENT, ca, &fb);
    rtc_dtls_config c1 = h_config(RTC_DTLS_ROLE_SERVER, cb, &fa);
    rtc_dtls *a = NULL, *b = NULL;
    REQUIRE(rtc_dtls_new(&a, &c0, NULL) == RTC_OK);
    REQUIRE(rtc_dtls_new(&b, &c1, NULL) == RTC_OK);
    h_init(&P, a, b, 7);
    CHECK_EQ_INT(rtc_dtls_start(b, h_now()), RTC_OK);
    CHECK_EQ_INT(rtc_dtls_start(a, h_now()), RTC_OK);
    REQUIRE(h_run(&P, 5000));
    REQUIRE(rtc_dtls_get_state(a) == RTC_DTLS_STATE_CONNECTED);
    REQUIRE(rtc_dtls_get_state(b) == RTC_DTLS_STATE_CONNECTED);
    /* right after the handshake: buffers already given back, no timer */
    CHECK_EQ_INT(rtc_dtls_next_timeout(a), RTC_TIME_NEVER);
    CHECK_EQ_INT(rtc_dtls_next_timeout(b), RTC_TIME_NEVER);
    long long idle0 = ssl_live;

    rtc_time t0 = h_now();
    exchange(a, b, "hello from a", "hello from b", false);
    long long busy = ssl_live;
    /* read + write buffer on each side: at least 4 x 16 KiB */
    CHECK(busy - idle0 >= 4 * 16384);
    rtc_time da = rtc_dtls_next_timeout(a), db = rtc_dtls_next_timeout(b);
    CHECK(da != RTC_TIME_NEVER && db != RTC_TIME_NEVER);
    CHECK(da >= t0 && da <= h_now() + RTC_SEC(2)); /* armed on the caller's clock */

    /* before the deadline: nothing happens */
    CHECK_EQ_INT(rtc_dtls_handle_timeout(a, da - 1), RTC_OK);
    CHECK_EQ_INT(rtc_dtls_handle_timeout(b, db - 1), RTC_OK);
    CHECK_EQ_INT(ssl_live, busy);
    CHECK_EQ_INT(rtc_dtls_next_timeout(a), da);

    /* at the deadline: both give their record buffers back */
    CHECK_EQ_INT(rtc_dtls_handle_timeout(a, da), RTC_OK);
    CHECK_EQ_INT(rtc_dtls_handle_timeout(b, db), RTC_OK);
    CHECK_EQ_INT(rtc_dtls_next_timeout(a), RTC_TIME_NEVER);
    CHECK_EQ_INT(rtc_dtls_next_timeout(b), RTC_TIME_NEVER);
    CHECK(busy - ssl_live >= 4 * 16384);
    CHECK(ssl_live <= idle0 + 1024);
    fprintf(stderr, "  OpenSSL heap, both sides: idle %lld B, busy %lld B, after release %lld B\n",
            idle0, busy, ssl_live);

    /* traffic resumes (buffers come back); a full-size record, then b speaks first */
    char big[1001];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    exchange(a, b, big, "and back", false);
    exchange(a, b, "client second", "server first", true);
    CHECK(ssl_live - idle0 >= 4 * 16384);
    CHECK(rtc_dtls_next_timeout(a) != RTC_TIME_NEVER);

    /* released again, then close_notify must still go out and arrive */
    rtc_time late = h_now() + RTC_SEC(1);
    rtc_dtls_handle_timeout(a, late);
    rtc_dtls_handle_timeout(b, late);
    CHECK(ssl_live <= idle0 + 1024);
    CHECK_EQ_INT(rtc_dtls_close(a, h_now()), RTC_OK);
    CHECK(h_run(&P, 5000));
    CHECK_EQ_INT(rtc_dtls_get_state(b), RTC_DTLS_STATE_CLOSED);
    CHECK_EQ_INT(P.s[1].closed, 1);
    CHECK_EQ_INT(P.s[0].failed + P.s[1].failed, 0);

    rtc_dtls_free(a);
    rtc_dtls_free(b);
    rtc_dtls_cert_free(ca);
    rtc_dtls_cert_free(cb);
}

int main(void) {
    /* must precede every OpenSSL allocation; fails (returns 0) under a sanitizer runtime
    ** that already made OpenSSL allocate: then the byte checks are skipped */
    if (!CRYPTO_set_mem_functions(c_malloc, c_realloc, c_free)) {
        fprintf(stderr, "  CRYPTO_set_mem_functions refused: OpenSSL already allocated\n");
        return 77;
    }
    RUN(test_idle_release);
    return TEST_DONE();
}
