/* tests for src/net/sockaddr.c: the clock and rtc_addr <-> sockaddr conversions. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>

#include "cwebrtc/net.h"
#include "test.h"

static void test_clock(void) {
    rtc_time a = rtc_net_now();
    rtc_time b = rtc_net_now();
    CHECK(a > 0);
    CHECK(b >= a);
    struct timespec ts = {0, 2 * 1000 * 1000}; /* 2 ms */
    nanosleep(&ts, NULL);
    rtc_time c = rtc_net_now();
    CHECK(c - b >= 2000);
    CHECK(c - b < RTC_SEC(5));
}

static void test_v4_roundtrip(void) {
    rtc_addr a, b;
    REQUIRE(rtc_addr_parse(&a, "192.0.2.7:3478", 0) == RTC_OK);
    struct sockaddr_storage ss;
    socklen_t len = 0;
    REQUIRE(rtc_addr_to_sockaddr(&a, &ss, &len) == RTC_OK);
    CHECK_EQ_INT(len, sizeof(struct sockaddr_in));
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    CHECK_EQ_INT(sin->sin_family, AF_INET);
    CHECK_EQ_INT(ntohs(sin->sin_port), 3478);
    CHECK_EQ_INT(ntohl(sin->sin_addr.s_addr), 0xC0000207u);
    REQUIRE(rtc_addr_from_sockaddr(&b, (struct sockaddr *)&ss, len) == RTC_OK);
    CHECK(rtc_addr_equal(&a, &b));
    CHECK_EQ_INT(b.family, RTC_AF_INET);
}

static void test_v6_roundtrip_scope(void) {
    rtc_addr a, b;
    REQUIRE(rtc_addr_parse(&a, "[fe80::1%7]:5000", 0) == RTC_OK);
    CHECK_EQ_INT(a.scope_id, 7);
    struct sockaddr_storage ss;
    socklen_t len = 0;
    REQUIRE(rtc_addr_to_sockaddr(&a, &ss, &len) == RTC_OK);
    CHECK_EQ_INT(len, sizeof(struct sockaddr_in6));
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    CHECK_EQ_INT(s6->sin6_family, AF_INET6);
    CHECK_EQ_INT(s6->sin6_scope_id, 7);
    CHECK_EQ_INT(ntohs(s6->sin6_port), 5000);
    CHECK_EQ_INT(s6->sin6_addr.s6_addr[0], 0xfe);
    CHECK_EQ_INT(s6->sin6_addr.s6_addr[15], 1);
    REQUIRE(rtc_addr_from_sockaddr(&b, (struct sockaddr *)&ss, len) == RTC_OK);
    CHECK(rtc_addr_equal(&a, &b));
    CHECK_EQ_INT(b.scope_id, 7);
    CHECK_EQ_INT(b.family, RTC_AF_INET6);
}

static void test_v4_mapped(void) {
    /* v4 -> v4-mapped for a dual-stack socket, and back to plain v4 on receive. */
    rtc_addr a, b;
    REQUIRE(rtc_addr_parse(&a, "198.51.100.9:1234", 0) == RTC_OK);
    struct sockaddr_storage ss;
    socklen_t len;
    REQUIRE(rtc_addr_to_sockaddr_v6(&a, &ss, &len) == RTC_OK);
    CHECK_EQ_INT(len, sizeof(struct sockaddr_in6));
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    CHECK_EQ_INT(s6->sin6_family, AF_INET6);
    char txt[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &s6->sin6_addr, txt, sizeof txt);
    CHECK_STR(txt, "::ffff:198.51.100.9");
    REQUIRE(rtc_addr_from_sockaddr(&b, (struct sockaddr *)&ss, len) == RTC_OK);
    CHECK_EQ_INT(b.family, RTC_AF_INET);
    CHECK(rtc_addr_equal(&a, &b));
    /* v6 stays v6 with the _v6 variant */
    REQUIRE(rtc_addr_parse(&a, "[2001:db8::5]:9", 0) == RTC_OK);
    REQUIRE(rtc_addr_to_sockaddr_v6(&a, &ss, &len) == RTC_OK);
    REQUIRE(rtc_addr_from_sockaddr(&b, (struct sockaddr *)&ss, len) == RTC_OK);
    CHECK(rtc_addr_equal(&a, &b));
    /* a mapped rtc_addr given to the plain converter stays AF_INET6 on the wire */
    REQUIRE(rtc_addr_parse(&a, "[::ffff:10.0.0.1]:80", 0) == RTC_OK);
    REQUIRE(rtc_addr_to_sockaddr(&a, &ss, &len) == RTC_OK);
    CHECK_EQ_INT(ss.ss_family, AF_INET6);
    REQUIRE(rtc_addr_from_sockaddr(&b, (struct sockaddr *)&ss, len) == RTC_OK);
    CHECK_EQ_INT(b.family, RTC_AF_INET);
    CHECK_EQ_INT(b.ip[0], 10);
    CHECK_EQ_INT(b.ip[3], 1);
    CHECK_EQ_INT(b.port, 80);
}

static void test_bad_input(void) {
    rtc_addr a;
    memset(&a, 0, sizeof a);
    struct sockaddr_storage ss;
    socklen_t len;
    CHECK_EQ_INT(rtc_addr_to_sockaddr(&a, &ss, &len), RTC_ERR_INVALID); /* family 0 */
    a.family = 5;
    CHECK_EQ_INT(rtc_addr_to_sockaddr(&a, &ss, &len), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_addr_to_sockaddr(NULL, &ss, &len), RTC_ERR_INVALID);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    CHECK_EQ_INT(rtc_addr_from_sockaddr(&a, (struct sockaddr *)&sin, 4), RTC_ERR_INVALID);
    sin.sin_family = AF_UNIX;
    CHECK_EQ_INT(rtc_addr_from_sockaddr(&a, (struct sockaddr *)&sin, sizeof sin), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_addr_from_sockaddr(&a, NULL, 16), RTC_ERR_INVALID);
    struct sockaddr_in6 s6;
    memset(&s6, 0, sizeof s6);
    s6.sin6_family = AF_INET6;
    CHECK_EQ_INT(rtc_addr_from_sockaddr(&a, (struct sockaddr *)&s6, sizeof(struct sockaddr_in)),
                 RTC_ERR_INVALID);
}

int main(void) {
    RUN(test_clock);
    RUN(test_v4_roundtrip);
    RUN(test_v6_roundtrip_scope);
    RUN(test_v4_mapped);
    RUN(test_bad_input);
    return TEST_DONE();
}
