/*
** tests/unit/pc/test_nomem.c: every allocation of a connection's setup fails once, in turn
** (Lua's ltests "failnext" idea): creation, channel, offer, local and remote descriptions,
** answer and a drain. Each call must fail cleanly or succeed; nothing may crash or leak
** (the ASan build checks leaks), and the rtc_env byte count must return to zero.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cwebrtc/pc.h"
#include "test.h"

typedef struct failenv {
    rtc_test_rng rng; /* first: the seeded random callback reads it through ud */
    long n, fail_at;
    long long bytes;
    bool failed;
} failenv;

static void *fail_realloc(void *ud, void *ptr, size_t old_size, size_t new_size) {
    failenv *f = ud;
    if (new_size == 0) {
        free(ptr);
        f->bytes -= (long long)old_size;
        return NULL;
    }
    if (++f->n == f->fail_at) {
        f->failed = true;
        return NULL;
    }
    void *p = realloc(ptr, new_size);
    if (p) f->bytes += (long long)new_size - (long long)old_size;
    return p;
}

static void drain(rtc_pc *pc) {
    rtc_pc_output o;
    for (int i = 0; i < 10000 && rtc_pc_poll_output(pc, &o) != RTC_PC_OUT_TIMEOUT; i++) {
    }
}

/* Returns true when the whole sequence ran without reaching fail_at. */
static bool run_once(long fail_at, rtc_dtls_cert *cert, const char *answer_for_b) {
    failenv f = {.fail_at = fail_at};
    rtc_env env;
    rtc_env_seeded(&env, &f.rng, 5);
    env.ud = &f;
    env.realloc = fail_realloc;
    rtc_pc_config cfg = {.certificate = cert};
    rtc_pc *a = NULL, *b = NULL;
    if (rtc_pc_new(&a, &cfg, &env) == RTC_OK) {
        rtc_addr addr;
        rtc_addr_parse(&addr, "10.0.0.1:5000", 0);
        rtc_pc_add_local_address(a, &addr);
        rtc_pc_create_data_channel(a, "x", NULL, NULL);
        static char offer[8192], answer[8192];
        if (rtc_pc_create_offer(a, offer, sizeof offer) > 0 &&
            rtc_pc_set_local_description(a, RTC_PC_SDP_OFFER, NULL) == RTC_OK) {
            drain(a);
            rtc_test_rng r2;
            rtc_env e2;
            rtc_env_seeded(&e2, &r2, 6);
            if (rtc_pc_new(&b, &cfg, &e2) == RTC_OK &&
                rtc_pc_set_remote_description(b, RTC_PC_SDP_OFFER, offer, strlen(offer)) == 0 &&
                rtc_pc_create_answer(b, answer, sizeof answer) > 0) {
                rtc_pc_set_remote_description(a, RTC_PC_SDP_ANSWER, answer, strlen(answer));
                drain(a);
                rtc_pc_add_ice_candidate(a, "candidate:1 1 udp 1 10.0.0.2 5000 typ host", "0", 0);
                rtc_pc_local_description(a, offer, sizeof offer);
                drain(a);
            }
        }
        /* a remote offer into a second connection of the failing env */
        rtc_pc *c = NULL;
        if (rtc_pc_new(&c, &cfg, &env) == RTC_OK) {
            const char *o = answer_for_b;
            if (rtc_pc_set_remote_description(c, RTC_PC_SDP_OFFER, o, strlen(o)) == RTC_OK &&
                rtc_pc_create_answer(c, answer, sizeof answer) > 0)
                rtc_pc_set_local_description(c, RTC_PC_SDP_ANSWER, NULL);
            drain(c);
            rtc_pc_free(c);
        }
    }
    rtc_pc_close(a);
    drain(a);
    rtc_pc_free(a);
    rtc_pc_free(b);
    CHECK_EQ_INT(f.bytes, 0);
    return !f.failed;
}

static void test_fail_each_allocation(void) {
    rtc_dtls_cert *cert = NULL;
    REQUIRE(rtc_dtls_cert_new(&cert, NULL, NULL) == RTC_OK);
    char path[2048];
    snprintf(path, sizeof path, "%s/tests/data/sdp/chromium-av-dc-offer.sdp", RTC_SOURCE_DIR);
    FILE *fp = fopen(path, "rb");
    REQUIRE(fp);
    static char offer[65536];
    size_t n = fread(offer, 1, sizeof offer - 1, fp);
    fclose(fp);
    offer[n] = 0;
    long k;
    for (k = 1; k < 5000; k++)
        if (run_once(k, cert, offer)) break;
    fprintf(stderr, "  %ld allocation failure points survived\n", k - 1);
    CHECK(k > 20 && k < 5000);
    rtc_dtls_cert_free(cert);
}

int main(void) {
    RUN(test_fail_each_allocation);
    return TEST_DONE();
}
