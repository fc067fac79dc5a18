/* tests for src/net/udp.c: batched UDP on loopback (127.0.0.1 and ::1), port 0 only. */
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "cwebrtc/net.h"
#include "test.h"

#define N 64

static bool have_v6(void) {
    rtc_udp_config c;
    memset(&c, 0, sizeof c);
    rtc_addr_parse(&c.bind, "::1", 0);
    rtc_udp *u = NULL;
    if (rtc_udp_new(&u, &c, NULL) != RTC_OK) return false;
    rtc_udp_free(u);
    return true;
}

static rtc_udp *open_udp(const char *bind, bool pktinfo, bool dual) {
    rtc_udp_config c;
    memset(&c, 0, sizeof c);
    if (rtc_addr_parse(&c.bind, bind, 0) != RTC_OK) return NULL;
    c.pktinfo = pktinfo;
    c.dual_stack = dual;
    rtc_udp *u = NULL;
    if (rtc_udp_new(&u, &c, NULL) != RTC_OK) return NULL;
    return u;
}

/* Wait (bounded, 2 s) for readability. */
static bool wait_readable(rtc_udp *u) {
    struct pollfd p = {.fd = rtc_udp_fd(u), .events = POLLIN};
    return poll(&p, 1, 2000) == 1;
}

/* Receive exactly `want` datagrams into rx (bounded number of attempts). */
static int recv_all(rtc_udp *u, rtc_udp_rx *rx, int want) {
    int got = 0;
    for (int tries = 0; tries < 50 && got < want; tries++) {
        if (!wait_readable(u)) break;
        int r = rtc_udp_recv_batch(u, rx + got, (size_t)(want - got));
        if (r > 0)
            got += r;
        else if (r != RTC_ERR_AGAIN)
            return r;
    }
    return got;
}

static void echo_batch(const char *loopback) {
    rtc_udp *srv = open_udp(loopback, false, false), *cli = open_udp(loopback, false, false);
    REQUIRE(srv && cli);
    rtc_addr sa, ca;
    rtc_udp_local_addr(srv, &sa);
    rtc_udp_local_addr(cli, &ca);
    CHECK(sa.port != 0);
    CHECK(ca.port != 0);
    CHECK(sa.port != ca.port);

    static uint8_t payload[N][200];
    rtc_udp_tx tx[N];
    for (int i = 0; i < N; i++) {
        size_t len = 20 + (size_t)i * 2;
        for (size_t k = 0; k < len; k++)
            payload[i][k] = (uint8_t)(i * 7 + k);
        tx[i] = (rtc_udp_tx){.data = payload[i], .len = len, .dst = sa};
    }
    rtc_udp_stats st;
    CHECK_EQ_INT(rtc_udp_send_batch(cli, tx, N), N);
    rtc_udp_stats_get(cli, &st);
    CHECK_EQ_INT(st.tx_syscalls, 1); /* one sendmmsg for all 64 */
    CHECK_EQ_INT(st.tx_packets, N);

    static uint8_t bufs[N][256];
    rtc_udp_rx rx[N];
    for (int i = 0; i < N; i++)
        rx[i] = (rtc_udp_rx){.buf = bufs[i], .cap = sizeof bufs[i]};
    CHECK_EQ_INT(recv_all(srv, rx, N), N);
    rtc_udp_stats_get(srv, &st);
    CHECK(st.rx_syscalls <= 3); /* batched: loopback queues all 64 before we read */
    CHECK_EQ_INT(st.rx_packets, N);
    for (int i = 0; i < N; i++) {
        CHECK_EQ_INT(rx[i].len, 20 + i * 2);
        CHECK(!rx[i].truncated);
        CHECK_MEM(rx[i].buf, payload[i], rx[i].len);
        CHECK(rtc_addr_equal(&rx[i].src, &ca));
        CHECK(rtc_addr_equal(&rx[i].dst, &sa));
    }
    /* echo back in one batch, addressed from the received sources */
    rtc_udp_tx back[N];
    for (int i = 0; i < N; i++)
        back[i] = (rtc_udp_tx){.data = rx[i].buf, .len = rx[i].len, .dst = rx[i].src};
    CHECK_EQ_INT(rtc_udp_send_batch(srv, back, N), N);
    static uint8_t bufs2[N][256];
    rtc_udp_rx rx2[N];
    for (int i = 0; i < N; i++)
        rx2[i] = (rtc_udp_rx){.buf = bufs2[i], .cap = sizeof bufs2[i]};
    CHECK_EQ_INT(recv_all(cli, rx2, N), N);
    for (int i = 0; i < N; i++) {
        CHECK_EQ_INT(rx2[i].len, 20 + i * 2);
        CHECK_MEM(rx2[i].buf, payload[i], rx2[i].len);
        CHECK(rtc_addr_equal(&rx2[i].src, &sa));
    }
    /* nothing left: non-blocking */
    CHECK_EQ_INT(rtc_udp_recv(cli, &rx2[0]), RTC_ERR_AGAIN);
    rtc_udp_free(srv);
    rtc_udp_free(cli);
}

static void test_echo_v4(void) { echo_batch("127.0.0.1"); }
static void test_echo_v6(void) {
    if (!have_v6()) {
        fprintf(stderr, "  (no ::1 here; skipped)\n");
        return;
    }
    echo_batch("::1");
}

/* More than RTC_UDP_BATCH_MAX in one call: sliced internally. */
static void test_batch_over_max(void) {
    rtc_udp *srv = open_udp("127.0.0.1", false, false), *cli = open_udp("127.0.0.1", false, false);
    REQUIRE(srv && cli);
    rtc_addr sa;
    rtc_udp_local_addr(srv, &sa);
    enum { M = 150 };
    static uint8_t data[M][4];
    static rtc_udp_tx tx[M];
    for (int i = 0; i < M; i++) {
        data[i][0] = (uint8_t)i;
        data[i][1] = (uint8_t)(i >> 8);
        tx[i] = (rtc_udp_tx){.data = data[i], .len = 4, .dst = sa};
    }
    CHECK_EQ_INT(rtc_udp_send_batch(cli, tx, M), M);
    static uint8_t bufs[M][8];
    static rtc_udp_rx rx[M];
    for (int i = 0; i < M; i++)
        rx[i] = (rtc_udp_rx){.buf = bufs[i], .cap = sizeof bufs[i]};
    CHECK_EQ_INT(recv_all(srv, rx, M), M);
    for (int i = 0; i < M; i++) {
        CHECK_EQ_INT(rx[i].len, 4);
        CHECK_EQ_INT(rx[i].buf[0] | rx[i].buf[1] << 8, i); /* order preserved on loopback */
    }
    rtc_udp_stats st;
    rtc_udp_stats_get(cli, &st);
    CHECK_EQ_INT(st.tx_syscalls, 3);
    rtc_udp_free(srv);
    rtc_udp_free(cli);
}

/* Wildcard + pktinfo: the local destination is reported, and replies leave from it. */
static void pktinfo_case(const char *any, const char *lo, bool dual, const char *cli_bind) {
    rtc_udp *srv = open_udp(any, true, dual), *cli = open_udp(cli_bind, false, false);
    REQUIRE(srv && cli);
    rtc_addr sa, dst, lo_addr, ca;
    rtc_udp_local_addr(srv, &sa);
    rtc_udp_local_addr(cli, &ca);
    REQUIRE(rtc_addr_parse_ip(&lo_addr, lo, sa.port) == RTC_OK);
    dst = lo_addr;
    const uint8_t msg[] = "ping";
    REQUIRE(rtc_udp_send(cli, &dst, msg, sizeof msg) == RTC_OK);
    uint8_t buf[64];
    rtc_udp_rx rx = {.buf = buf, .cap = sizeof buf};
    REQUIRE(recv_all(srv, &rx, 1) == 1);
    CHECK(rtc_addr_equal(&rx.dst, &lo_addr));
    CHECK_EQ_INT(rx.dst.family, lo_addr.family);
    CHECK_EQ_INT(rx.ifindex, if_nametoindex("lo"));
    CHECK(rtc_addr_equal(&rx.src, &ca));
    CHECK_EQ_INT(rx.src.family, ca.family); /* v4-mapped source unmapped */
    rtc_udp_tx tx = {.data = buf, .len = rx.len, .dst = rx.src, .src = rx.dst};
    CHECK_EQ_INT(rtc_udp_send_batch(srv, &tx, 1), 1);
    rtc_udp_rx rx2 = {.buf = buf, .cap = sizeof buf};
    REQUIRE(recv_all(cli, &rx2, 1) == 1);
    CHECK(rtc_addr_equal(&rx2.src, &lo_addr));
    CHECK_EQ_INT(rx2.len, sizeof msg);
    rtc_udp_free(srv);
    rtc_udp_free(cli);
}

static void test_pktinfo_v4(void) { pktinfo_case("0.0.0.0", "127.0.0.1", false, "127.0.0.1"); }
static void test_pktinfo_v6(void) {
    if (!have_v6()) return;
    pktinfo_case("::", "::1", false, "::1");
}
static void test_dual_stack(void) {
    if (!have_v6()) return;
    pktinfo_case("::", "127.0.0.1", true, "127.0.0.1");
    pktinfo_case("::", "::1", true, "::1");
}

/* A V6ONLY socket cannot reach IPv4 peers: dropped and counted, the batch goes on. */
static void test_family_mismatch(void) {
    if (!have_v6()) return;
    rtc_udp *u6 = open_udp("::1", false, false), *peer = open_udp("::1", false, false);
    rtc_udp *u4 = open_udp("127.0.0.1", false, false);
    REQUIRE(u6 && peer && u4);
    rtc_addr pa, a4;
    rtc_udp_local_addr(peer, &pa);
    rtc_udp_local_addr(u4, &a4);
    const uint8_t d[3] = {1, 2, 3};
    rtc_udp_tx tx[3] = {{.data = d, .len = 3, .dst = a4},
                        {.data = d, .len = 3, .dst = pa},
                        {.data = d, .len = 3, .dst = a4}};
    CHECK_EQ_INT(rtc_udp_send_batch(u6, tx, 3), 3);
    rtc_udp_stats st;
    rtc_udp_stats_get(u6, &st);
    CHECK_EQ_INT(st.tx_dropped, 2);
    CHECK_EQ_INT(st.tx_packets, 1);
    CHECK_EQ_INT(rtc_udp_send(u6, &a4, d, 3), RTC_ERR_IO);
    CHECK_EQ_INT(rtc_udp_send(u4, &pa, d, 3), RTC_ERR_IO);
    uint8_t buf[8];
    rtc_udp_rx rx = {.buf = buf, .cap = sizeof buf};
    CHECK_EQ_INT(recv_all(peer, &rx, 1), 1);
    CHECK_EQ_INT(rx.len, 3);
    rtc_udp_free(u6);
    rtc_udp_free(u4);
    rtc_udp_free(peer);
}

static void test_truncation_and_options(void) {
    rtc_udp_config c;
    memset(&c, 0, sizeof c);
    rtc_addr_parse(&c.bind, "127.0.0.1", 0);
    c.rcvbuf = 1 << 16;
    c.sndbuf = 1 << 16;
    rtc_udp *u = NULL;
    REQUIRE(rtc_udp_new(&u, &c, NULL) == RTC_OK);
    int v = 0;
    socklen_t l = sizeof v;
    REQUIRE(getsockopt(rtc_udp_fd(u), SOL_SOCKET, SO_RCVBUF, &v, &l) == 0);
    CHECK(v >= 1 << 16);
    rtc_addr a;
    rtc_udp_local_addr(u, &a);
    uint8_t big[100];
    memset(big, 0xab, sizeof big);
    REQUIRE(rtc_udp_send(u, &a, big, sizeof big) == RTC_OK); /* to itself */
    uint8_t small[10];
    rtc_udp_rx rx = {.buf = small, .cap = sizeof small};
    REQUIRE(recv_all(u, &rx, 1) == 1);
    CHECK(rx.truncated);
    CHECK_EQ_INT(rx.len, 10);
    rtc_udp_stats st;
    rtc_udp_stats_get(u, &st);
    CHECK_EQ_INT(st.rx_truncated, 1);
    CHECK_EQ_INT(rtc_udp_recv(u, &rx), RTC_ERR_AGAIN);

    /* binding the same port twice fails with RTC_ERR_IO / EADDRINUSE */
    memset(&c, 0, sizeof c);
    c.bind = a;
    rtc_udp *u2 = NULL;
    CHECK_EQ_INT(rtc_udp_new(&u2, &c, NULL), RTC_ERR_IO);
    CHECK_EQ_INT(errno, EADDRINUSE);
    CHECK(u2 == NULL);
    /* bad config */
    c.bind.family = 9;
    CHECK_EQ_INT(rtc_udp_new(&u2, &c, NULL), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_udp_new(NULL, NULL, NULL), RTC_ERR_INVALID);
    /* default config: IPv4 any, ephemeral */
    REQUIRE(rtc_udp_new(&u2, NULL, NULL) == RTC_OK);
    rtc_udp_local_addr(u2, &a);
    CHECK_EQ_INT(a.family, RTC_AF_INET);
    CHECK(rtc_addr_is_any(&a));
    CHECK(a.port != 0);
    rtc_udp_free(u2);
    rtc_udp_free(u);
    rtc_udp_free(NULL);
}

/* Two sockets share a port with reuse_port. */
static void test_reuse_port(void) {
    rtc_udp_config c;
    memset(&c, 0, sizeof c);
    rtc_addr_parse(&c.bind, "127.0.0.1", 0);
    c.reuse_port = true;
    rtc_udp *a = NULL, *b = NULL;
    REQUIRE(rtc_udp_new(&a, &c, NULL) == RTC_OK);
    rtc_udp_local_addr(a, &c.bind);
    CHECK_EQ_INT(rtc_udp_new(&b, &c, NULL), RTC_OK);
    rtc_udp_free(a);
    rtc_udp_free(b);
}

int main(void) {
    RUN(test_echo_v4);
    RUN(test_echo_v6);
    RUN(test_batch_over_max);
    RUN(test_pktinfo_v4);
    RUN(test_pktinfo_v6);
    RUN(test_dual_stack);
    RUN(test_family_mismatch);
    RUN(test_truncation_and_options);
    RUN(test_reuse_port);
    return TEST_DONE();
}
