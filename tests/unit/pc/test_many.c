/*
** tests/unit/pc/test_many.c: 100 peer connections in one process (50 connected pairs,
** one data channel each, sharing one certificate), then the memory an idle connected
** connection holds: exactly (bytes allocated through rtc_env) and in total (glibc's
** in-use heap, which includes OpenSSL's SSL objects; not meaningful under ASan).
*/
#include <malloc.h>
#include <time.h>

#include "pc_pair.h"
#include "test.h"

#define PAIRS 50

/* rtc_test_rng first, so the seeded random callback still finds its state in ud. */
typedef struct counted {
    rtc_test_rng rng;
    long long bytes, peak;
} counted;

static void *count_realloc(void *ud, void *ptr, size_t old_size, size_t new_size) {
    counted *c = ud;
    if (new_size == 0) {
        free(ptr);
        c->bytes -= (long long)old_size;
        return NULL;
    }
    void *p = realloc(ptr, new_size);
    if (p) {
        c->bytes += (long long)new_size - (long long)old_size;
        if (c->bytes > c->peak) c->peak = c->bytes;
    }
    return p;
}

static bool opened(pp_pair *p, void *ud) {
    (void)ud;
    return p->s[0].n_opened >= 1 && p->s[1].n_opened >= 1 && p->s[0].nmsgs >= 1 &&
           p->s[1].nmsgs >= 1;
}

static double wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void test_hundred(void) {
    static counted cnt[PAIRS][2];
    pp_pair **pairs = calloc(PAIRS, sizeof *pairs);
    REQUIRE(pairs);
    for (int i = 0; i < PAIRS; i++) {
        pairs[i] = calloc(1, sizeof **pairs);
        REQUIRE(pairs[i]);
    }
    rtc_dtls_cert *cert = NULL;
    REQUIRE(rtc_dtls_cert_new(&cert, NULL, NULL) == RTC_OK);
    rtc_pc_config cfg = {.certificate = cert};
    struct mallinfo2 m0 = mallinfo2();
    double t0 = wall_ms();
    int connected = 0;
    for (int i = 0; i < PAIRS; i++) {
        pp_pair *p = pairs[i];
        /* pp_init with counting environments */
        memset(p, 0, sizeof *p);
        p->now = RTC_SEC(1);
        for (int k = 0; k < 2; k++) {
            pp_side *s = &p->s[k];
            rtc_env_seeded(&s->env, &cnt[i][k].rng, (uint64_t)(i * 2 + k + 100));
            s->env.ud = &cnt[i][k];
            s->env.realloc = count_realloc;
            s->trickle = true;
            REQUIRE(rtc_pc_new(&s->pc, &cfg, &s->env) == RTC_OK);
            uint8_t ip[4] = {10, (uint8_t)(i / 200), (uint8_t)(i % 200), (uint8_t)(k + 1)};
            rtc_addr_set_ipv4(&s->addr, ip, 5000);
            REQUIRE(rtc_pc_add_local_address(s->pc, &s->addr) == RTC_OK);
            p->link[k].delay = RTC_MS(1);
        }
        pp_tick(p);
        uint32_t ch;
        REQUIRE(rtc_pc_create_data_channel(p->s[0].pc, "c", NULL, &ch) == RTC_OK);
        REQUIRE(pp_negotiate(p, 0) == 0);
        int guard = 0;
        while (p->s[0].n_opened < 1 && guard++ < 1000 && pp_step(p)) {
        }
        REQUIRE(rtc_pc_dc_send(p->s[0].pc, ch, false, (const uint8_t *)"ping", 4) == RTC_OK);
        pp_drain_all(p);
        while (p->s[1].nmsgs < 1 && guard++ < 2000 && pp_step(p)) {
        }
        REQUIRE(p->s[1].n_remote_ch == 1);
        REQUIRE(rtc_pc_dc_send(p->s[1].pc, p->s[1].remote_ch[0], false, (const uint8_t *)"pong", 4) == 0);
        pp_drain_all(p);
        if (pp_run_until(p, opened, NULL, RTC_SEC(5)) && pp_both_connected(p, NULL)) connected++;
    }
    double t1 = wall_ms();
    CHECK_EQ_INT(connected, PAIRS);
    /* let every pair go idle: delayed SACKs etc. */
    for (int i = 0; i < PAIRS; i++) pp_run_for(pairs[i], RTC_SEC(1));
    struct mallinfo2 m1 = mallinfo2();
    long long env_total = 0;
    for (int i = 0; i < PAIRS; i++)
        for (int k = 0; k < 2; k++) env_total += cnt[i][k].bytes;
    /* harness memory allocated after the baseline: link queues and candidate copies */
    long long harness = 0;
    for (int i = 0; i < PAIRS; i++)
        for (int k = 0; k < 2; k++) {
            harness += (long long)(pairs[i]->link[k].cap * sizeof(pp_pkt));
            for (int c = 0; c < pairs[i]->s[k].ncands; c++)
                harness += (long long)strlen(pairs[i]->s[k].cands[c]) + 1;
            for (int c = 0; c < pairs[i]->s[k].nmsgs; c++) harness += 1;
        }
    long long heap = (long long)m1.uordblks - (long long)m0.uordblks - harness;
    fprintf(stderr, "  %d connections connected in %.0f ms wall (setup incl. DTLS crypto)\n",
            2 * PAIRS, t1 - t0);
    fprintf(stderr, "  per idle connected pc: %.1f KiB through rtc_env, %.1f KiB heap in total"
#if defined(__SANITIZE_ADDRESS__)
                    " (ASan build: heap figure meaningless)"
#endif
                    "\n",
            (double)env_total / (2.0 * PAIRS) / 1024.0, (double)heap / (2.0 * PAIRS) / 1024.0);
    CHECK(env_total > 0);
    for (int i = 0; i < PAIRS; i++) {
        pp_free(pairs[i]);
        free(pairs[i]);
    }
    free(pairs);
    rtc_dtls_cert_free(cert);
    for (int i = 0; i < PAIRS; i++)
        for (int k = 0; k < 2; k++) CHECK_EQ_INT(cnt[i][k].bytes, 0); /* no leak via env */
}

int main(void) {
    RUN(test_hundred);
    return TEST_DONE();
}
