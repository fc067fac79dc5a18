/* The simulator itself: RFC 4787 mapping and filtering, link impairments, virtual time. */
#include <string.h>

#include "sim/netsim.h"
#include "test.h"

typedef struct sink {
    int count;
    rtc_addr last_src;
    rtc_time first_at, last_at;
} sink;

static void sink_recv(void *ud, rtc_time now, const rtc_addr *src, const rtc_addr *dst,
                      const uint8_t *buf, size_t len) {
    sink *s = ud;
    if (!s->count) s->first_at = now;
    s->count++;
    s->last_src = *src;
    s->last_at = now;
}

static void run_all(netsim *n) { netsim_run(n, netsim_now(n) + RTC_SEC(10), NULL, NULL, 1000000); }

static void test_nat_behaviours(void) {
    const netsim_nat_behaviour map_of[] = {NETSIM_EI, NETSIM_EI, NETSIM_EI, NETSIM_APD};
    const netsim_nat_behaviour filt_of[] = {NETSIM_EI, NETSIM_AD, NETSIM_APD, NETSIM_APD};
    for (int type = 0; type < 4; type++) {
        netsim *n;
        netsim_new(&n, 1);
        rtc_addr pub = netsim_addr("198.51.100.1");
        int nat = netsim_add_nat_type(n, &pub, (netsim_nat_type)type);
        sink h = {0}, s1 = {0}, s2 = {0};
        rtc_addr hip = netsim_addr("10.0.0.1"), ip1 = netsim_addr("192.0.2.1"),
                 ip2 = netsim_addr("192.0.2.2");
        netsim_add_host(n, &hip, nat, NULL, sink_recv, &h);
        netsim_add_host(n, &ip1, 0, NULL, sink_recv, &s1);
        netsim_add_host(n, &ip2, 0, NULL, sink_recv, &s2);
        rtc_addr hs = netsim_addr("10.0.0.1:5000"), a = netsim_addr("192.0.2.1:3478"),
                 a2 = netsim_addr("192.0.2.1:3479"), b = netsim_addr("192.0.2.2:3478");
        uint8_t x = 1;
        netsim_send(n, &hs, &a, &x, 1);
        run_all(n);
        REQUIRE(s1.count == 1);
        rtc_addr m1 = s1.last_src;
        CHECK(rtc_addr_equal_ip(&m1, &pub));
        /* filtering: from another IP, from another port of the same IP, from the same */
        netsim_send(n, &b, &m1, &x, 1);
        run_all(n);
        CHECK_EQ_INT(h.count, filt_of[type] == NETSIM_EI ? 1 : 0);
        int before = h.count;
        netsim_send(n, &a2, &m1, &x, 1);
        run_all(n);
        CHECK_EQ_INT(h.count - before, filt_of[type] == NETSIM_APD ? 0 : 1);
        before = h.count;
        netsim_send(n, &a, &m1, &x, 1);
        run_all(n);
        CHECK_EQ_INT(h.count - before, 1);
        CHECK(rtc_addr_equal(&h.last_src, &a));
        /* mapping: same destination IP other port, other IP */
        netsim_send(n, &hs, &a2, &x, 1);
        netsim_send(n, &hs, &b, &x, 1);
        run_all(n);
        bool same_port = rtc_addr_equal(&s1.last_src, &m1);
        bool same_ip = rtc_addr_equal(&s2.last_src, &m1);
        CHECK(same_port == (map_of[type] == NETSIM_EI));
        CHECK(same_ip == (map_of[type] == NETSIM_EI));
        /* a private address is not reachable from outside */
        before = h.count;
        netsim_send(n, &a, &hs, &x, 1);
        run_all(n);
        CHECK_EQ_INT(h.count, before);
        netsim_free(n);
    }
}

static void test_link_impairments(void) {
    netsim *n;
    netsim_new(&n, 2);
    sink r = {0};
    rtc_addr aip = netsim_addr("10.0.0.1"), bip = netsim_addr("10.0.0.2");
    netsim_link l = {.loss = 0.5, .delay = RTC_MS(20), .jitter = RTC_MS(10)};
    netsim_add_host(n, &aip, 0, &l, NULL, NULL);
    netsim_add_host(n, &bip, 0, NULL, sink_recv, &r);
    rtc_addr a = netsim_addr("10.0.0.1:1"), b = netsim_addr("10.0.0.2:1");
    uint8_t x = 0;
    for (int i = 0; i < 10000; i++)
        netsim_send(n, &a, &b, &x, 1);
    run_all(n);
    CHECK(r.count > 4700 && r.count < 5300);
    CHECK(r.first_at >= RTC_MS(20) && r.last_at <= RTC_MS(30) + 1);
    netsim_stats st;
    netsim_get_stats(n, &st);
    CHECK_EQ_INT(st.lost + st.delivered, 10000);

    netsim_link dup = {.duplicate = 1.0};
    netsim_set_link(n, 1, &dup);
    r.count = 0;
    netsim_send(n, &a, &b, &x, 1);
    run_all(n);
    CHECK_EQ_INT(r.count, 2);
    netsim_link blocked = {.block_udp = true};
    netsim_set_link(n, 1, &blocked);
    r.count = 0;
    netsim_send(n, &a, &b, &x, 1);
    run_all(n);
    CHECK_EQ_INT(r.count, 0);
    netsim_free(n);
}

typedef struct ticker {
    rtc_time next;
    int fired;
} ticker;
static rtc_time tick_next(void *ud) { return ((ticker *)ud)->next; }
static void tick_fire(void *ud, rtc_time now) {
    ticker *t = ud;
    t->fired++;
    t->next = now + RTC_SEC(3600);
}

/* A day of virtual time in a few steps: the loop jumps straight to the next deadline. */
static void test_virtual_time(void) {
    netsim *n;
    netsim_new(&n, 3);
    ticker t = {RTC_SEC(1), 0};
    netsim_add_actor(n, tick_next, tick_fire, &t);
    long steps = netsim_run(n, RTC_SEC(86400), NULL, NULL, 1000);
    CHECK_EQ_INT(t.fired, 24);
    CHECK_EQ_INT(steps, 24);
    CHECK_EQ_INT(netsim_now(n), RTC_SEC(86400));
    netsim_free(n);
}

int main(void) {
    RUN(test_nat_behaviours);
    RUN(test_link_impairments);
    RUN(test_virtual_time);
    return TEST_DONE();
}
