/*
** bench/ice: two figures for the ICE agent (issue 3).
**
**  1. Virtual-time connect time of a host-host pair: two agents wired in memory with a
**     fixed one-way delay, driven by a loop that always advances to the earliest deadline;
**     reported in ms of protocol time from gathering to both sides having a selected pair.
**  2. CPU microseconds per connectivity check handled: a controlled agent answers N
**     authenticated Binding requests (parse, MESSAGE-INTEGRITY check, role/pair logic,
**     signed response with FINGERPRINT); CPU time from CLOCK_PROCESS_CPUTIME_ID.
**
** usage: bench_ice [--checks N]
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cwebrtc/ice.h"
#include "cwebrtc/stun.h"

#define QCAP 256

typedef struct pkt {
    rtc_time at;
    int to;
    rtc_addr src, dst;
    size_t len;
    uint8_t data[1500];
} pkt;

static pkt q[QCAP];
static int nq;

static void drain(rtc_ice *ice, int self, rtc_time now, rtc_time delay, rtc_ice *other,
                  int *selected) {
    rtc_ice_transmit t;
    rtc_ice_event ev;
    for (;;) {
        if (rtc_ice_poll_transmit(ice, &t) == 1) {
            if (nq < QCAP && t.len <= sizeof q[0].data) {
                pkt *p = &q[nq++];
                p->at = now + delay;
                p->to = 1 - self;
                p->src = t.src;
                p->dst = t.dst;
                p->len = t.len;
                memcpy(p->data, t.data, t.len);
            }
            continue;
        }
        if (rtc_ice_poll_event(ice, &ev) == 1) {
            if (ev.type == RTC_ICE_EVENT_CANDIDATE)
                rtc_ice_add_remote_candidate_struct(other, &ev.candidate);
            if (ev.type == RTC_ICE_EVENT_GATHERING_STATE && ev.state == RTC_ICE_GATHERING_COMPLETE)
                rtc_ice_remote_end_of_candidates(other);
            if (ev.type == RTC_ICE_EVENT_SELECTED_PAIR) *selected = 1;
            continue;
        }
        break;
    }
}

/* A counting allocator (size kept in a header) to report the agent's memory. */
static size_t live_bytes, peak_bytes;
static void *count_realloc(void *ud, void *ptr, size_t old, size_t n) {
    size_t *h = ptr ? (size_t *)ptr - 2 : NULL;
    if (h) live_bytes -= h[0];
    if (n == 0) {
        free(h);
        return NULL;
    }
    size_t *nh = realloc(h, n + 2 * sizeof(size_t));
    if (!nh) {
        if (h) live_bytes += h[0];
        return NULL;
    }
    nh[0] = n;
    live_bytes += n;
    if (live_bytes > peak_bytes) peak_bytes = live_bytes;
    return nh + 2;
}

static double connect_time_ms(rtc_time delay) {
    rtc_env env[2];
    rtc_test_rng rng[2];
    rtc_ice *a[2];
    int sel[2] = {0, 0};
    nq = 0;
    for (int i = 0; i < 2; i++) {
        rtc_env_seeded(&env[i], &rng[i], 1 + (uint64_t)i);
        env[i].realloc = count_realloc;
        rtc_ice_config c = {.controlling = i == 0};
        if (rtc_ice_new(&a[i], &c, &env[i]) != RTC_OK) abort();
        rtc_addr h;
        rtc_addr_parse(&h, i ? "10.0.0.2:5000" : "10.0.0.1:5000", 0);
        rtc_ice_add_host_address(a[i], &h);
    }
    for (int i = 0; i < 2; i++) {
        char u[300], p[300];
        rtc_ice_get_local_credentials(a[i], u, sizeof u, p, sizeof p);
        rtc_ice_set_remote_credentials(a[1 - i], u, p);
    }
    rtc_time now = 0;
    for (int i = 0; i < 2; i++) {
        rtc_ice_gather(a[i], now);
        drain(a[i], i, now, delay, a[1 - i], &sel[i]);
        drain(a[1 - i], 1 - i, now, delay, a[i], &sel[1 - i]);
    }
    for (int steps = 0; steps < 100000 && !(sel[0] && sel[1]); steps++) {
        rtc_time t = RTC_TIME_NEVER;
        int which = -1;
        for (int i = 0; i < nq; i++)
            if (q[i].at < t) t = q[i].at, which = i;
        for (int i = 0; i < 2; i++) {
            rtc_time n = rtc_ice_next_timeout(a[i]);
            if (n < t) t = n, which = -2 - i;
        }
        if (t == RTC_TIME_NEVER) break;
        if (t > now) now = t;
        if (which >= 0) {
            pkt p = q[which];
            q[which] = q[--nq];
            rtc_ice_handle_packet(a[p.to], now, &p.src, &p.dst, p.data, p.len);
            drain(a[p.to], p.to, now, delay, a[1 - p.to], &sel[p.to]);
        } else {
            int i = -2 - which;
            rtc_ice_handle_timeout(a[i], now);
            drain(a[i], i, now, delay, a[1 - i], &sel[i]);
        }
    }
    if (getenv("BENCH_DEBUG"))
        fprintf(stderr, "sel %d %d now %lld nq %d\n", sel[0], sel[1], (long long)now, nq);
    double ms = (sel[0] && sel[1]) ? (double)now / 1000.0 : -1;
    if (delay == RTC_MS(10))
        printf("ice agent memory, connected host-host pair: %zu bytes per agent (peak %zu)\n",
               live_bytes / 2, peak_bytes / 2);
    rtc_ice_free(a[0]);
    rtc_ice_free(a[1]);
    return ms;
}

static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
static double wall_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    long n = 200000;
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--checks")) n = atol(argv[++i]);

    const rtc_time delays[] = {0, RTC_MS(10), RTC_MS(50)};
    for (size_t i = 0; i < 3; i++)
        printf("ice connect host-host, one-way delay %3lld ms: %.1f ms of protocol time\n",
               (long long)(delays[i] / 1000), connect_time_ms(delays[i]));

    rtc_env env;
    rtc_test_rng rng;
    rtc_env_seeded(&env, &rng, 9);
    rtc_ice_config c = {.ufrag = "benL", .pwd = "localpasswordlocalpassword"};
    rtc_ice *ice;
    if (rtc_ice_new(&ice, &c, &env) != RTC_OK) return 1;
    rtc_addr local, remote;
    rtc_addr_parse(&local, "10.0.0.1:5000", 0);
    rtc_addr_parse(&remote, "10.0.0.2:6000", 0);
    rtc_ice_add_host_address(ice, &local);
    rtc_ice_set_remote_credentials(ice, "benR", "remotepasswordremotepassword");
    rtc_ice_gather(ice, 0);
    rtc_ice_transmit t;
    rtc_ice_event ev;
    while (rtc_ice_poll_event(ice, &ev) == 1) {
    }
    rtc_stun_key k;
    rtc_stun_key_set(&k, (const uint8_t *)"localpasswordlocalpassword", 26);
    uint8_t req[256], tid[12] = {0};
    rtc_stun_builder b;
    rtc_stun_build_init(&b, req, sizeof req, RTC_STUN_BINDING, RTC_STUN_REQUEST, tid);
    rtc_stun_add_string(&b, RTC_STUN_ATTR_USERNAME, "benL:benR");
    rtc_stun_add_u32(&b, RTC_STUN_ATTR_PRIORITY, 1862270975u);
    rtc_stun_add_u64(&b, RTC_STUN_ATTR_ICE_CONTROLLING, 12345);
    rtc_stun_add_integrity(&b, &k);
    rtc_stun_add_fingerprint(&b);
    int len = rtc_stun_build_finish(&b);
    if (len <= 0) return 1;
    long answered = 0;
    double c0 = cpu_s(), w0 = wall_s();
    for (long i = 0; i < n; i++) {
        rtc_ice_handle_packet(ice, 1000 + i, &remote, &local, req, (size_t)len);
        while (rtc_ice_poll_transmit(ice, &t) == 1)
            answered++;
        while (rtc_ice_poll_event(ice, &ev) == 1) {
        }
    }
    double c1 = cpu_s(), w1 = wall_s();
    printf("ice checks answered: %ld of %ld; %.3f us CPU per check (%.3f us wall)\n", answered, n,
           (c1 - c0) * 1e6 / (double)n, (w1 - w0) * 1e6 / (double)n);
    rtc_ice_free(ice);
    return answered == n ? 0 : 1;
}
