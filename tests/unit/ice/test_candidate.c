/* a=candidate grammar (RFC 8839 §5.1), priorities (RFC 8445 §5.1.2.1, §6.1.2.3). */
#include <string.h>

#include "cwebrtc/ice.h"
#include "test.h"

static void round_trip(const char *in, const char *expect_out) {
    rtc_ice_candidate c;
    CHECK_EQ_INT(rtc_ice_candidate_parse(&c, in), RTC_OK);
    char buf[RTC_ICE_CANDIDATE_LINE_MAX];
    int n = rtc_ice_candidate_format(&c, buf, sizeof buf);
    CHECK(n > 0);
    CHECK_STR(buf, expect_out);
    /* and the output parses to the same struct */
    rtc_ice_candidate d;
    CHECK_EQ_INT(rtc_ice_candidate_parse(&d, buf), RTC_OK);
    CHECK(memcmp(&c, &d, sizeof c) == 0);
}

static void test_chrome_lines(void) {
    rtc_ice_candidate c;
    const char *l =
        "a=candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr "
        "192.168.1.10 rport 46154 generation 0 ufrag EsAw network-id 1 network-cost 10\r\n";
    REQUIRE(rtc_ice_candidate_parse(&c, l) == RTC_OK);
    CHECK_STR(c.foundation, "842163049");
    CHECK_EQ_INT(c.component, 1);
    CHECK_EQ_INT(c.transport, RTC_ICE_UDP);
    CHECK_EQ_INT(c.priority, 1677729535u);
    CHECK_EQ_INT(c.addr.family, RTC_AF_INET);
    CHECK_EQ_INT(c.addr.port, 46154);
    CHECK_EQ_INT(c.type, RTC_ICE_CAND_SRFLX);
    CHECK_EQ_INT(c.related.family, RTC_AF_INET);
    CHECK_EQ_INT(c.related.port, 46154);
    CHECK_EQ_INT(c.generation, 0);
    CHECK_STR(c.ufrag, "EsAw");
    CHECK_STR(c.ext, "network-id 1 network-cost 10");

    round_trip("candidate:1 1 UDP 2130706431 10.0.0.1 5000 typ host",
               "candidate:1 1 udp 2130706431 10.0.0.1 5000 typ host");
    round_trip("candidate:abc+/ 1 udp 2122262783 2001:db8::1 9 typ host generation 2",
               "candidate:abc+/ 1 udp 2122262783 2001:db8::1 9 typ host generation 2");
    round_trip("candidate:3 1 tcp 1518280447 10.0.0.1 9 typ host tcptype active",
               "candidate:3 1 tcp 1518280447 10.0.0.1 9 typ host tcptype active");
    round_trip("candidate:4 1 udp 16777215 198.51.100.9 3478 typ relay raddr 0.0.0.0 rport 0",
               "candidate:4 1 udp 16777215 198.51.100.9 3478 typ relay raddr 0.0.0.0 rport 0");
    /* mDNS name as browsers send it */
    CHECK_EQ_INT(
        rtc_ice_candidate_parse(&c, "candidate:9 1 udp 2113937151 "
                                    "4b6e1a6c-6a2c-4e07-9a3f-2c2b9c6f0b11.local 54321 typ host"),
        RTC_OK);
    CHECK_STR(c.hostname, "4b6e1a6c-6a2c-4e07-9a3f-2c2b9c6f0b11.local");
    CHECK_EQ_INT(c.addr.family, RTC_AF_NONE);
    CHECK_EQ_INT(c.addr.port, 54321);
    round_trip("candidate:9 1 udp 2113937151 x.local 1 typ host",
               "candidate:9 1 udp 2113937151 x.local 1 typ host");
}

static void test_bad_lines(void) {
    rtc_ice_candidate c;
    const char *bad[] = {
        "",
        "candidate:",
        "candidate:1",
        "candidate:1 0 udp 1 1.2.3.4 5 typ host",           /* component 0 */
        "candidate:1 257 udp 1 1.2.3.4 5 typ host",         /* component > 256 */
        "candidate:1 1 udp 99999999999 1.2.3.4 5 typ host", /* priority > 2^32 */
        "candidate:1 1 udp 1 1.2.3.4 65536 typ host",       /* port */
        "candidate:1 1 udp 1 1.2.3.4 5 type host",
        "candidate:1 1 udp 1 1.2.3.4 5 typ",
        "candidate:1 1 udp 1 1.2.3.4 5 typ host raddr",   /* name without value */
        "candidate:1 1 udp 1 1.2.3.4 5 typ host rport 7", /* rport without raddr */
        "candidate:1 1 udp 1 1.2.3.4 5 typ host raddr bad!addr rport 1",
        "candidate:1 1 udp 1 bad^host 5 typ host",
        "candidate:f\x01 1 udp 1 1.2.3.4 5 typ host",
        "candidate:123456789012345678901234567890123 1 udp 1 1.2.3.4 5 typ host", /* 33 */
        "candidate:1 1 udp 1 1.2.3.4 5 typ host tcptype active", /* tcptype on udp */
        "candidate:1 1 udp 1 1.2.3.4 5 typ host generation x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = rtc_ice_candidate_parse(&c, bad[i]);
        if (rc != RTC_ERR_PARSE) fprintf(stderr, "accepted: %s (%d)\n", bad[i], rc);
        CHECK_EQ_INT(rc, RTC_ERR_PARSE);
    }
    CHECK_EQ_INT(rtc_ice_candidate_parse(&c, "candidate:1 1 sctp 1 1.2.3.4 5 typ host"),
                 RTC_ERR_UNSUPPORTED);
    CHECK_EQ_INT(rtc_ice_candidate_parse(&c, "candidate:1 1 udp 1 1.2.3.4 5 typ weird"),
                 RTC_ERR_UNSUPPORTED);
    CHECK_EQ_INT(rtc_ice_candidate_parse(NULL, "x"), RTC_ERR_INVALID);
    /* An overlong extension list is truncated, never an error. */
    char longl[2000];
    int n = snprintf(longl, sizeof longl, "candidate:1 1 udp 1 1.2.3.4 5 typ host");
    for (int i = 0; i < 60 && n < 1900; i++)
        n += snprintf(longl + n, sizeof longl - (size_t)n, " x%d yyyyyyyy", i);
    CHECK_EQ_INT(rtc_ice_candidate_parse(&c, longl), RTC_OK);
    CHECK(strlen(c.ext) <= RTC_ICE_EXT_MAX);
    CHECK(strncmp(c.ext, "x0 yyyyyyyy x1", 14) == 0);
    char small[10];
    CHECK_EQ_INT(rtc_ice_candidate_format(&c, small, sizeof small), RTC_ERR_TOO_SMALL);
}

static void test_priorities(void) {
    /* RFC 8445 §5.1.2.1 with the recommended type preferences. */
    CHECK_EQ_INT(rtc_ice_candidate_priority(RTC_ICE_CAND_HOST, 65535, 1), 2130706431u);
    CHECK_EQ_INT(rtc_ice_candidate_priority(RTC_ICE_CAND_SRFLX, 65535, 1), 1694498815u);
    CHECK_EQ_INT(rtc_ice_candidate_priority(RTC_ICE_CAND_PRFLX, 65535, 1), 1862270975u);
    CHECK_EQ_INT(rtc_ice_candidate_priority(RTC_ICE_CAND_RELAY, 65535, 1), 16777215u);
    CHECK_EQ_INT(rtc_ice_candidate_priority(RTC_ICE_CAND_HOST, 65535, 2), 2130706430u);
    /* §6.1.2.3 */
    uint64_t g = 2130706431u, d = 1694498815u;
    CHECK(rtc_ice_pair_priority(g, d) == (d << 32) + 2 * g + 1);
    CHECK(rtc_ice_pair_priority(d, g) == (d << 32) + 2 * g);
    CHECK(rtc_ice_pair_priority(5, 5) == (5ull << 32) + 10);
}

int main(void) {
    RUN(test_chrome_lines);
    RUN(test_bad_lines);
    RUN(test_priorities);
    return TEST_DONE();
}
