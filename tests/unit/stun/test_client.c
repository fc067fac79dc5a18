/* STUN client transactions on a virtual clock (RFC 8489 §6.2.1, §6.2.2). */
#include <string.h>

#include "cwebrtc/stun.h"
#include "test.h"

#define T0 RTC_SEC(1000) /* arbitrary epoch: nothing may assume time starts at 0 */

static size_t make_req(uint8_t *buf, size_t cap, rtc_stun_client *c, uint16_t method) {
    uint8_t tid[12];
    rtc_stun_client_new_tid(c, tid);
    rtc_stun_builder b;
    rtc_stun_build_init(&b, buf, cap, method, RTC_STUN_REQUEST, tid);
    rtc_stun_add_string(&b, RTC_STUN_ATTR_SOFTWARE, "test");
    rtc_stun_add_fingerprint(&b);
    int n = rtc_stun_build_finish(&b);
    return n > 0 ? (size_t)n : 0;
}

static size_t make_resp(uint8_t *buf, size_t cap, const uint8_t *req, size_t req_len, int cls,
                        int code) {
    rtc_stun_msg m;
    if (rtc_stun_parse(&m, req, req_len) != RTC_OK) return 0;
    rtc_stun_builder b;
    if (cls == RTC_STUN_ERROR) rtc_stun_build_error_response(&b, buf, cap, &m, code, NULL);
    else rtc_stun_build_response(&b, buf, cap, &m, cls);
    int n = rtc_stun_build_finish(&b);
    return n > 0 ? (size_t)n : 0;
}

/* Drive the client to quiescence, recording transmit times (ms after T0) and the time of
** the timeout event. Always advances to next_timeout(), as a real loop would. */
static int drive(rtc_stun_client *c, rtc_time *tx_ms, int max_tx, rtc_time *timeout_ms) {
    int ntx = 0;
    rtc_time now = T0;
    *timeout_ms = -1;
    for (int iter = 0; iter < 1000; iter++) {
        rtc_stun_transmit t;
        while (rtc_stun_client_poll_transmit(c, &t) == 1)
            if (ntx < max_tx) tx_ms[ntx++] = (now - T0) / 1000;
        rtc_stun_client_event ev;
        while (rtc_stun_client_poll_event(c, &ev) == 1)
            if (ev.result == RTC_STUN_TXN_TIMEOUT) *timeout_ms = (now - T0) / 1000;
        rtc_time next = rtc_stun_client_next_timeout(c);
        if (next == RTC_TIME_NEVER) break;
        if (next > now) now = next;
        rtc_stun_client_handle_timeout(c, now);
    }
    return ntx;
}

static void test_udp_schedule(void) {
    rtc_env env;
    rtc_test_rng rng;
    rtc_env_seeded(&env, &rng, 1);
    rtc_stun_client *c;
    REQUIRE(rtc_stun_client_new(&c, NULL, &env) == RTC_OK);
    uint8_t req[128];
    size_t n = make_req(req, sizeof req, c, RTC_STUN_BINDING);
    REQUIRE(n > 0);
    CHECK_EQ_INT(rtc_stun_client_start(c, T0, req, n, NULL), RTC_OK);
    rtc_time tx[16], to;
    int ntx = drive(c, tx, 16, &to);
    const rtc_time want[7] = {0, 500, 1500, 3500, 7500, 15500, 31500};
    CHECK_EQ_INT(ntx, 7);
    for (int i = 0; i < 7 && i < ntx; i++) CHECK_EQ_INT(tx[i], want[i]);
    CHECK_EQ_INT(to, 39500);
    CHECK_EQ_INT(rtc_stun_client_count(c), 0);
    CHECK_EQ_INT(rtc_stun_client_next_timeout(c), RTC_TIME_NEVER);
    rtc_stun_client_free(c);
}

/* Exact edges: nothing 1 µs before a deadline, the retransmission exactly at it, and the
** timeout event not a microsecond early. The retransmitted bytes are the original ones. */
static void test_udp_edges(void) {
    rtc_stun_client *c;
    REQUIRE(rtc_stun_client_new(&c, NULL, NULL) == RTC_OK);
    uint8_t req[128];
    size_t n = make_req(req, sizeof req, c, RTC_STUN_BINDING);
    rtc_stun_transmit t;
    rtc_stun_client_event ev;
    int dummy = 7;
    rtc_stun_txn_params p = {0};
    p.user = &dummy;
    rtc_addr_parse(&p.dst, "192.0.2.9:3478", 0);
    REQUIRE(rtc_stun_client_start(c, T0, req, n, &p) == RTC_OK);
    REQUIRE(rtc_stun_client_poll_transmit(c, &t) == 1);
    CHECK(t.len == n && memcmp(t.data, req, n) == 0 && t.user == &dummy && t.attempt == 1);
    CHECK(rtc_addr_equal(&t.dst, &p.dst));
    CHECK_EQ_INT(rtc_stun_client_poll_transmit(c, &t), 0);
    CHECK_EQ_INT(rtc_stun_client_next_timeout(c), T0 + RTC_MS(500));
    rtc_stun_client_handle_timeout(c, T0 + RTC_MS(500) - 1);
    CHECK_EQ_INT(rtc_stun_client_poll_transmit(c, &t), 0);
    rtc_stun_client_handle_timeout(c, T0 + RTC_MS(500));
    REQUIRE(rtc_stun_client_poll_transmit(c, &t) == 1);
    CHECK(t.attempt == 2 && t.len == n && memcmp(t.data, req, n) == 0);
    /* a very late caller (at 4 s) gets ONE transmission for the three missed slots */
    rtc_stun_client_handle_timeout(c, T0 + RTC_MS(4000));
    CHECK_EQ_INT(rtc_stun_client_poll_transmit(c, &t), 1);
    CHECK_EQ_INT(rtc_stun_client_poll_transmit(c, &t), 0);
    CHECK_EQ_INT(rtc_stun_client_next_timeout(c), T0 + RTC_MS(7500)); /* schedule kept */
    rtc_stun_client_handle_timeout(c, T0 + RTC_MS(31500));
    CHECK_EQ_INT(rtc_stun_client_poll_transmit(c, &t), 1);
    rtc_stun_client_handle_timeout(c, T0 + RTC_MS(39500) - 1);
    CHECK_EQ_INT(rtc_stun_client_poll_event(c, &ev), 0);
    rtc_stun_client_handle_timeout(c, T0 + RTC_MS(39500));
    REQUIRE(rtc_stun_client_poll_event(c, &ev) == 1);
    CHECK(ev.result == RTC_STUN_TXN_TIMEOUT && ev.user == &dummy && ev.rtt == -1);
    CHECK_EQ_INT(ev.transmissions, 4); /* 0, 500, late 4000, 31500 */
    CHECK_EQ_INT(rtc_stun_client_count(c), 0);
    rtc_stun_client_free(c);
}

static void test_tcp_single_send(void) {
    rtc_stun_client *c;
    REQUIRE(rtc_stun_client_new(&c, NULL, NULL) == RTC_OK);
    uint8_t req[128];
    size_t n = make_req(req, sizeof req, c, RTC_STUN_ALLOCATE);
    rtc_stun_txn_params p = {0};
    p.reliable = true;
    REQUIRE(rtc_stun_client_start(c, T0, req, n, &p) == RTC_OK);
    rtc_time tx[16], to;
    int ntx = drive(c, tx, 16, &to);
    CHECK_EQ_INT(ntx, 1);
    CHECK_EQ_INT(tx[0], 0);
    CHECK_EQ_INT(to, 39500);
    rtc_stun_client_free(c);
}

static void test_custom_params(void) {
    rtc_stun_client_config cfg = {0};
    cfg.rto = RTC_MS(100);
    cfg.rc = 3;
    cfg.rm = 4;
    rtc_stun_client *c;
    REQUIRE(rtc_stun_client_new(&c, &cfg, NULL) == RTC_OK);
    uint8_t req[128];
    size_t n = make_req(req, sizeof req, c, RTC_STUN_BINDING);
    REQUIRE(rtc_stun_client_start(c, T0, req, n, NULL) == RTC_OK);
    rtc_time tx[16], to;
    int ntx = drive(c, tx, 16, &to);
    CHECK_EQ_INT(ntx, 3);
    CHECK(tx[0] == 0 && tx[1] == 100 && tx[2] == 300);
    CHECK_EQ_INT(to, 700);
    /* per-transaction override */
    n = make_req(req, sizeof req, c, RTC_STUN_BINDING);
    rtc_stun_txn_params p = {0};
    p.rto = RTC_MS(250);
    p.rc = 2;
    p.rm = 1;
    REQUIRE(rtc_stun_client_start(c, T0, req, n, &p) == RTC_OK);
    ntx = drive(c, tx, 16, &to);
    CHECK_EQ_INT(ntx, 2);
    CHECK(tx[0] == 0 && tx[1] == 250);
    CHECK_EQ_INT(to, 500);
    cfg.rc = -1;
    rtc_stun_client *bad = NULL;
    CHECK_EQ_INT(rtc_stun_client_new(&bad, &cfg, NULL), RTC_ERR_INVALID);
    CHECK(bad == NULL);
    rtc_stun_client_free(c);
}

static void test_responses(void) {
    rtc_stun_client *c;
    REQUIRE(rtc_stun_client_new(&c, NULL, NULL) == RTC_OK);
    uint8_t r1[128], r2[128], resp[256];
    size_t n1 = make_req(r1, sizeof r1, c, RTC_STUN_BINDING);
    size_t n2 = make_req(r2, sizeof r2, c, RTC_STUN_ALLOCATE);
    CHECK(memcmp(r1 + 8, r2 + 8, 12) != 0); /* random tids differ */
    int u1 = 1, u2 = 2;
    rtc_stun_txn_params p1 = {0}, p2 = {0};
    p1.user = &u1;
    p2.user = &u2;
    REQUIRE(rtc_stun_client_start(c, T0, r1, n1, &p1) == RTC_OK);
    REQUIRE(rtc_stun_client_start(c, T0, r2, n2, &p2) == RTC_OK);
    CHECK_EQ_INT(rtc_stun_client_start(c, T0, r2, n2, &p2), RTC_ERR_INVALID); /* dup tid */
    rtc_stun_transmit t;
    int sent = 0;
    while (rtc_stun_client_poll_transmit(c, &t) == 1 && sent < 10) sent++;
    CHECK_EQ_INT(sent, 2);
    void *u = NULL;
    CHECK(rtc_stun_client_lookup(c, r1 + 8, &u) == 1 && u == &u1);

    rtc_stun_msg m;
    rtc_stun_client_event ev;
    /* a request with the same tid is not a response */
    REQUIRE(rtc_stun_parse(&m, r1, n1) == RTC_OK);
    CHECK_EQ_INT(rtc_stun_client_handle_response(c, T0 + RTC_MS(20), &m, &ev), 0);
    /* success for txn 1 after 20 ms, no retransmission: RTT is measured */
    size_t rn = make_resp(resp, sizeof resp, r1, n1, RTC_STUN_SUCCESS, 0);
    REQUIRE(rtc_stun_parse(&m, resp, rn) == RTC_OK);
    CHECK_EQ_INT(rtc_stun_client_handle_response(c, T0 + RTC_MS(20), &m, &ev), 1);
    CHECK(ev.result == RTC_STUN_TXN_SUCCESS && ev.user == &u1 && ev.method == RTC_STUN_BINDING);
    CHECK_EQ_INT(ev.rtt, RTC_MS(20));
    CHECK_EQ_INT(ev.transmissions, 1);
    /* duplicate response: no longer matches */
    CHECK_EQ_INT(rtc_stun_client_handle_response(c, T0 + RTC_MS(21), &m, &ev), 0);
    /* a response with the right tid but another method does not match (§6.3.3) */
    rtc_stun_msg req2;
    REQUIRE(rtc_stun_parse(&req2, r2, n2) == RTC_OK);
    rtc_stun_builder b;
    rtc_stun_build_init(&b, resp, sizeof resp, RTC_STUN_REFRESH, RTC_STUN_SUCCESS, req2.tid);
    rn = (size_t)rtc_stun_build_finish(&b);
    REQUIRE(rtc_stun_parse(&m, resp, rn) == RTC_OK);
    CHECK_EQ_INT(rtc_stun_client_handle_response(c, T0 + RTC_MS(30), &m, &ev), 0);
    /* txn 2 retransmitted, then an error response: code reported, RTT ambiguous */
    rtc_stun_client_handle_timeout(c, T0 + RTC_MS(500));
    CHECK_EQ_INT(rtc_stun_client_poll_transmit(c, &t), 1);
    rn = make_resp(resp, sizeof resp, r2, n2, RTC_STUN_ERROR, 401);
    REQUIRE(rtc_stun_parse(&m, resp, rn) == RTC_OK);
    CHECK_EQ_INT(rtc_stun_client_handle_response(c, T0 + RTC_MS(600), &m, &ev), 1);
    CHECK(ev.result == RTC_STUN_TXN_ERROR && ev.error_code == 401 && ev.user == &u2);
    CHECK_EQ_INT(ev.rtt, -1);
    CHECK_EQ_INT(ev.transmissions, 2);
    CHECK_EQ_INT(rtc_stun_client_count(c), 0);
    CHECK_EQ_INT(rtc_stun_client_next_timeout(c), RTC_TIME_NEVER);
    rtc_stun_client_free(c);
}

static void test_bounds_and_misuse(void) {
    rtc_stun_client_config cfg = {0};
    cfg.max_transactions = 2;
    rtc_stun_client *c;
    REQUIRE(rtc_stun_client_new(&c, &cfg, NULL) == RTC_OK);
    uint8_t r[3][128];
    size_t n[3];
    for (int i = 0; i < 3; i++) n[i] = make_req(r[i], sizeof r[i], c, RTC_STUN_BINDING);
    CHECK_EQ_INT(rtc_stun_client_start(c, T0, r[0], n[0], NULL), RTC_OK);
    CHECK_EQ_INT(rtc_stun_client_start(c, T0, r[1], n[1], NULL), RTC_OK);
    CHECK_EQ_INT(rtc_stun_client_start(c, T0, r[2], n[2], NULL), RTC_ERR_NOMEM);
    CHECK_EQ_INT(rtc_stun_client_cancel(c, r[0] + 8), 1);
    CHECK_EQ_INT(rtc_stun_client_cancel(c, r[0] + 8), 0);
    CHECK_EQ_INT(rtc_stun_client_start(c, T0, r[2], n[2], NULL), RTC_OK);
    /* not a request / not STUN */
    uint8_t resp[128];
    size_t rn = make_resp(resp, sizeof resp, r[0], n[0], RTC_STUN_SUCCESS, 0);
    CHECK_EQ_INT(rtc_stun_client_start(c, T0, resp, rn, NULL), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_stun_client_start(c, T0, r[0], n[0] - 4, NULL), RTC_ERR_INVALID);
    /* the pending first transmission shows as due now */
    CHECK(rtc_stun_client_next_timeout(c) <= T0);
    rtc_stun_client_free(c); /* frees outstanding transactions (ASan checks leaks) */
    rtc_stun_client_free(NULL);
}

/* Allocation failures are reported, never crash. */
static int fail_after;
static void *failing_realloc(void *ud, void *ptr, size_t old, size_t size) {
    (void)ud;
    (void)old;
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    if (fail_after-- <= 0) return NULL;
    return realloc(ptr, size);
}

static void test_nomem(void) {
    rtc_env env = {0};
    env.realloc = failing_realloc;
    uint8_t req[128];
    for (int budget = 0; budget < 4; budget++) {
        fail_after = budget;
        rtc_stun_client *c = NULL;
        int rc = rtc_stun_client_new(&c, NULL, &env);
        if (rc != RTC_OK) {
            CHECK_EQ_INT(rc, RTC_ERR_NOMEM);
            continue;
        }
        size_t n = make_req(req, sizeof req, c, RTC_STUN_BINDING);
        rc = rtc_stun_client_start(c, T0, req, n, NULL);
        CHECK(rc == RTC_OK || rc == RTC_ERR_NOMEM);
        CHECK_EQ_INT(rtc_stun_client_count(c), rc == RTC_OK ? 1 : 0);
        rtc_stun_client_free(c);
    }
}

static void test_seeded_tids(void) {
    rtc_env e1, e2;
    rtc_test_rng s1, s2;
    rtc_env_seeded(&e1, &s1, 99);
    rtc_env_seeded(&e2, &s2, 99);
    uint8_t a[12], b[12], z[12] = {0};
    rtc_stun_random_tid(&e1, a);
    rtc_stun_random_tid(&e2, b);
    CHECK_MEM(a, b, 12);
    CHECK(memcmp(a, z, 12) != 0);
    rtc_stun_random_tid(&e1, b);
    CHECK(memcmp(a, b, 12) != 0);
}

int main(void) {
    RUN(test_udp_schedule);
    RUN(test_udp_edges);
    RUN(test_tcp_single_send);
    RUN(test_custom_params);
    RUN(test_responses);
    RUN(test_bounds_and_misuse);
    RUN(test_nomem);
    RUN(test_seeded_tids);
    return TEST_DONE();
}
