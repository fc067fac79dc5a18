/* tests/unit/net/test_mdns_msg.c: the mDNS/DNS message codec (RFC 1035, RFC 6762) on
** hand-built packets: compression, loops, truncation, oversized names, responder side. */
#include <string.h>

#include "cwebrtc/mdns.h"
#include "test.h"

/* "abc.local" in wire form */
#define ABC_LOCAL "03 616263 05 6c6f63616c 00"

static size_t hx(const char *h, uint8_t *out) { return test_unhex(h, out, 1024); }

static void test_names(void) {
    CHECK_EQ_INT(rtc_mdns_name_check("1f4712db-ea17-4bcf-a596-105139dfd8bf.local"), RTC_OK);
    CHECK_EQ_INT(rtc_mdns_name_check("abc.local."), RTC_OK);
    CHECK_EQ_INT(rtc_mdns_name_check("ABC.LOCAL"), RTC_OK);
    CHECK_EQ_INT(rtc_mdns_name_check("my_host-2.local"), RTC_OK);
    CHECK_EQ_INT(rtc_mdns_name_check(".local"), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_mdns_name_check("local"), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_mdns_name_check("a.b.local"), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_mdns_name_check("abc.example.com"), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_mdns_name_check("abc.localx"), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_mdns_name_check("a bc.local"), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_mdns_name_check("abc.local.."), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_mdns_name_check(NULL), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_mdns_name_check(""), RTC_ERR_INVALID);
    char lab[80];
    memset(lab, 'a', 63);
    strcpy(lab + 63, ".local");
    CHECK_EQ_INT(rtc_mdns_name_check(lab), RTC_OK);
    memset(lab, 'a', 64);
    strcpy(lab + 64, ".local");
    CHECK_EQ_INT(rtc_mdns_name_check(lab), RTC_ERR_INVALID);
    CHECK(rtc_mdns_name_is_uuid("1f4712db-ea17-4bcf-a596-105139dfd8bf.local"));
    CHECK(rtc_mdns_name_is_uuid("1F4712DB-EA17-4BCF-A596-105139DFD8BF.local."));
    CHECK(!rtc_mdns_name_is_uuid("1f4712db-ea17-4bcf-a596-105139dfd8bg.local"));
    CHECK(!rtc_mdns_name_is_uuid("1f4712dbaea17-4bcf-a596-105139dfd8bf.local"));
    CHECK(!rtc_mdns_name_is_uuid("abc.local"));
}

static void test_build_query(void) {
    uint8_t buf[512], want[512];
    int n = rtc_mdns_build_query(buf, sizeof buf, 0x1234, "abc.local",
                                 RTC_MDNS_Q_A | RTC_MDNS_Q_AAAA, true);
    size_t wl = hx("1234 0000 0002 0000 0000 0000 " ABC_LOCAL " 0001 8001  c00c 001c 8001", want);
    CHECK_EQ_INT(n, (int)wl);
    CHECK_MEM(buf, want, wl);
    /* A only, no QU, trailing dot accepted */
    n = rtc_mdns_build_query(buf, sizeof buf, 0, "abc.local.", RTC_MDNS_Q_A, false);
    wl = hx("0000 0000 0001 0000 0000 0000 " ABC_LOCAL " 0001 0001", want);
    CHECK_EQ_INT(n, (int)wl);
    CHECK_MEM(buf, want, wl);
    /* every too-small buffer is refused, never overrun */
    for (size_t cap = 0; cap < wl; cap++)
        CHECK_EQ_INT(rtc_mdns_build_query(buf, cap, 0, "abc.local", RTC_MDNS_Q_A, false),
                     RTC_ERR_TOO_SMALL);
    CHECK_EQ_INT(rtc_mdns_build_query(buf, sizeof buf, 0, "abc.local", 0, false), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_mdns_build_query(buf, sizeof buf, 0, "a..local", 1, false), RTC_ERR_INVALID);
    char big[300];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    for (int i = 60; i < 290; i += 61)
        big[i] = '.'; /* labels of 60, total > 255 */
    CHECK_EQ_INT(rtc_mdns_build_query(buf, sizeof buf, 0, big, 1, false), RTC_ERR_INVALID);

    /* the responder side reads it back */
    n = rtc_mdns_build_query(buf, sizeof buf, 0x4321, "abc.local", RTC_MDNS_Q_A | RTC_MDNS_Q_AAAA,
                             true);
    rtc_mdns_query_info qi;
    CHECK_EQ_INT(rtc_mdns_parse_query(buf, (size_t)n, "ABC.local", &qi), 1);
    CHECK_EQ_INT(qi.id, 0x4321);
    CHECK_EQ_INT(qi.types, RTC_MDNS_Q_A | RTC_MDNS_Q_AAAA);
    CHECK(qi.qu);
    CHECK_EQ_INT(rtc_mdns_parse_query(buf, (size_t)n, "xyz.local", &qi), 0);
    CHECK_EQ_INT(rtc_mdns_parse_response(buf, (size_t)n, "abc.local", NULL, 0, NULL),
                 RTC_ERR_PARSE);
    /* ANY question, class IN without QU */
    wl = hx("0000 0000 0001 0000 0000 0000 " ABC_LOCAL " 00ff 0001", want);
    CHECK_EQ_INT(rtc_mdns_parse_query(want, wl, "abc.local", &qi), 1);
    CHECK_EQ_INT(qi.types, RTC_MDNS_Q_A | RTC_MDNS_Q_AAAA);
    CHECK(!qi.qu);
    /* a PTR question for the name asks nothing we answer */
    wl = hx("0000 0000 0001 0000 0000 0000 " ABC_LOCAL " 000c 0001", want);
    CHECK_EQ_INT(rtc_mdns_parse_query(want, wl, "abc.local", &qi), 0);
}

/* A multicast-style response: ID 0, no question, A (cache-flush, TTL 120) then AAAA by
** a compression pointer, then an unrelated TXT record for another name. */
static const char *RESP =
    "0000 8400 0000 0002 0000 0001 " ABC_LOCAL " 0001 8001 00000078 0004 c0a8010a"
    " c00c 001c 8001 00000078 0010 fe800000000000000000000000000001"
    " 03 787978 c010 0010 0001 00000078 0003 026869";

static void test_parse_response(void) {
    uint8_t p[512];
    size_t n = hx(RESP, p);
    rtc_mdns_addr a[4];
    uint16_t id = 99;
    CHECK_EQ_INT(rtc_mdns_parse_response(p, n, "abc.local", a, 4, &id), 2);
    CHECK_EQ_INT(id, 0);
    CHECK_EQ_INT(a[0].addr.family, RTC_AF_INET);
    CHECK_MEM(a[0].addr.ip, "\xc0\xa8\x01\x0a", 4);
    CHECK_EQ_INT(a[0].ttl, 120);
    CHECK(a[0].cache_flush);
    CHECK_EQ_INT(a[1].addr.family, RTC_AF_INET6);
    CHECK_EQ_INT(a[1].addr.ip[0], 0xfe);
    CHECK_EQ_INT(a[1].addr.ip[15], 0x01);
    /* case-insensitive (RFC 6762 §16), with or without the trailing dot */
    CHECK_EQ_INT(rtc_mdns_parse_response(p, n, "ABC.Local.", a, 4, NULL), 2);
    /* the TXT owner "xyx.local" (compressed into the first name's "local") */
    CHECK_EQ_INT(rtc_mdns_parse_response(p, n, "xyx.local", a, 4, NULL), 0);
    CHECK_EQ_INT(rtc_mdns_parse_response(p, n, "abd.local", a, 4, NULL), 0);
    /* count beyond cap is reported, only cap stored */
    CHECK_EQ_INT(rtc_mdns_parse_response(p, n, "abc.local", a, 1, NULL), 2);
    CHECK_EQ_INT(rtc_mdns_parse_response(p, n, "abc.local", NULL, 0, NULL), 2);
    /* every truncation is malformed (counts promise more), never a crash */
    for (size_t k = 0; k < n; k++)
        CHECK_EQ_INT(rtc_mdns_parse_response(p, k, "abc.local", a, 4, NULL), RTC_ERR_PARSE);
    /* a trailing byte */
    p[n] = 0;
    CHECK_EQ_INT(rtc_mdns_parse_response(p, n + 1, "abc.local", a, 4, NULL), RTC_ERR_PARSE);
    /* non-zero RCODE: ignored */
    p[3] = 0x03;
    CHECK_EQ_INT(rtc_mdns_parse_response(p, n, "abc.local", a, 4, NULL), 0);
    p[3] = 0x00;
    /* opcode != 0 */
    p[2] = 0x84 | 0x08;
    CHECK_EQ_INT(rtc_mdns_parse_response(p, n, "abc.local", a, 4, NULL), RTC_ERR_PARSE);
    p[2] = 0x84;
    CHECK_EQ_INT(rtc_mdns_parse_response(p, n, "abc.local", a, 4, NULL), 2);
    CHECK_EQ_INT(rtc_mdns_parse_response(p, n, "bad..local", a, 4, NULL), RTC_ERR_INVALID);
}

static void test_legacy_unicast(void) {
    /* a legacy unicast answer (§6.7): echoed ID, question repeated, answer compressed
    ** onto the question's name; plus a goodbye record that must not count. */
    uint8_t p[512];
    size_t n = hx("beef 8400 0001 0002 0000 0000 " ABC_LOCAL " 0001 0001"
                  " c00c 0001 0001 0000000a 0004 0a000001"
                  " c00c 0001 0001 00000000 0004 0a000002",
                  p);
    rtc_mdns_addr a[4];
    uint16_t id = 0;
    CHECK_EQ_INT(rtc_mdns_parse_response(p, n, "abc.local", a, 4, &id), 1);
    CHECK_EQ_INT(id, 0xbeef);
    CHECK_MEM(a[0].addr.ip, "\x0a\x00\x00\x01", 4);
    CHECK_EQ_INT(a[0].ttl, 10);
    CHECK(!a[0].cache_flush);
}

static void expect_parse_err(const char *hex, const char *what) {
    uint8_t p[1024];
    size_t n = hx(hex, p);
    rtc_mdns_addr a[2];
    int r = rtc_mdns_parse_response(p, n, "abc.local", a, 2, NULL);
    if (r != RTC_ERR_PARSE) fprintf(stderr, "  case: %s -> %d\n", what, r);
    CHECK_EQ_INT(r, RTC_ERR_PARSE);
}

static void test_malformed(void) {
    /* pointer to itself */
    expect_parse_err("0000 8400 0000 0001 0000 0000 c00c 0001 0001 00000078 0004 01020304", "self");
    /* two pointers pointing at each other (the first is a forward pointer) */
    expect_parse_err("0000 8400 0000 0001 0000 0000 c00e c00c 0001 0001 00000078 0004 01020304",
                     "pair");
    /* a label followed by a pointer back to its own start */
    expect_parse_err("0000 8400 0000 0001 0000 0000 0161 c00c 0001 0001 00000078 0004 01020304",
                     "label loop");
    /* a second name that re-enters the first one, whose pointer goes back into the second */
    expect_parse_err("0000 8400 0001 0001 0000 0000 0161 c012 0001 0001"
                     " 0162 c00c 0001 0001 00000078 0004 01020304",
                     "cross loop");
    /* pointer beyond the message */
    expect_parse_err("0000 8400 0000 0001 0000 0000 c0ff 0001 0001 00000078 0004 01020304", "oob");
    /* extended label types 01 and 10 */
    expect_parse_err("0000 8400 0000 0001 0000 0000 4161 00 0001 0001 00000078 0004 01020304",
                     "0x40");
    expect_parse_err("0000 8400 0000 0001 0000 0000 8161 00 0001 0001 00000078 0004 01020304",
                     "0x80");
    /* A with RDLENGTH 5, AAAA with 4 */
    expect_parse_err(
        "0000 8400 0000 0001 0000 0000 " ABC_LOCAL " 0001 0001 00000078 0005 0102030405", "A len");
    expect_parse_err("0000 8400 0000 0001 0000 0000 " ABC_LOCAL " 001c 0001 00000078 0004 01020304",
                     "AAAA len");
    /* RDLENGTH past the end */
    expect_parse_err("0000 8400 0000 0001 0000 0000 " ABC_LOCAL " 0010 0001 00000078 00ff 01",
                     "rdlen");
    /* a query where a response is expected */
    expect_parse_err("0000 0000 0000 0001 0000 0000 " ABC_LOCAL " 0001 0001 00000078 0004 01020304",
                     "QR clear");
    /* counts promising records that are not there */
    expect_parse_err("0000 8400 0000 ffff ffff ffff", "counts");
    expect_parse_err("0000 8400", "short header");

    /* oversized names: 5 labels of 60 bytes (> 255) directly ... */
    char hex[4096] = "0000 8400 0000 0001 0000 0000 ";
    for (int i = 0; i < 5; i++) {
        strcat(hex, "3c");
        for (int k = 0; k < 60; k++)
            strcat(hex, "61");
    }
    strcat(hex, "00 0001 0001 00000078 0004 01020304");
    expect_parse_err(hex, "long name");
    /* ... and through compression: a 4x60-label name in a question (244 bytes, fine), and
    ** an answer "x" + pointer to it (> 255 once joined) */
    strcpy(hex, "0000 8400 0001 0001 0000 0000 ");
    for (int i = 0; i < 4; i++) {
        strcat(hex, "3c");
        for (int k = 0; k < 60; k++)
            strcat(hex, "61");
    }
    strcat(hex, "00 0001 0001 0a 78787878787878787878 c00c 0001 0001 00000078 0004 01020304");
    expect_parse_err(hex, "long compressed name");
    /* the same with a short prefix is accepted (the check is not too strict) */
    strcpy(hex, "0000 8400 0001 0001 0000 0000 ");
    for (int i = 0; i < 4; i++) {
        strcat(hex, "3c");
        for (int k = 0; k < 60; k++)
            strcat(hex, "61");
    }
    strcat(hex, "00 0001 0001 01 78 c00c 0001 0001 00000078 0004 01020304");
    uint8_t p[1024];
    size_t n = hx(hex, p);
    CHECK_EQ_INT(rtc_mdns_parse_response(p, n, "abc.local", NULL, 0, NULL), 0);
}

static void test_build_response(void) {
    rtc_addr addrs[3];
    rtc_addr_parse_ip(&addrs[0], "192.168.1.10", 0);
    rtc_addr_parse_ip(&addrs[1], "fe80::1", 0);
    rtc_addr_parse_ip(&addrs[2], "10.0.0.7", 0);
    uint8_t buf[512], want[512];
    /* multicast form, A only: ID 0, no question, cache-flush, 2 answers, second compressed */
    int n = rtc_mdns_build_response(buf, sizeof buf, 0x7777, "abc.local", RTC_MDNS_Q_A, addrs, 3,
                                    120, 0);
    size_t wl = hx("0000 8400 0000 0002 0000 0000 " ABC_LOCAL " 0001 8001 00000078 0004 c0a8010a"
                   " c00c 0001 8001 00000078 0004 0a000007",
                   want);
    CHECK_EQ_INT(n, (int)wl);
    CHECK_MEM(buf, want, wl);
    /* legacy unicast with both families round-trips through the parser */
    n = rtc_mdns_build_response(buf, sizeof buf, 0x7777, "abc.local",
                                RTC_MDNS_Q_A | RTC_MDNS_Q_AAAA, addrs, 3, 10, RTC_MDNS_RESP_LEGACY);
    REQUIRE(n > 0);
    rtc_mdns_addr a[4];
    uint16_t id = 0;
    CHECK_EQ_INT(rtc_mdns_parse_response(buf, (size_t)n, "abc.local", a, 4, &id), 3);
    CHECK_EQ_INT(id, 0x7777);
    CHECK(rtc_addr_equal_ip(&a[0].addr, &addrs[0]));
    CHECK(rtc_addr_equal_ip(&a[1].addr, &addrs[1]));
    CHECK(rtc_addr_equal_ip(&a[2].addr, &addrs[2]));
    CHECK(!a[0].cache_flush);
    CHECK_EQ_INT(a[2].ttl, 10);
    for (int cap = 0; cap < n; cap++)
        CHECK_EQ_INT(rtc_mdns_build_response(buf, (size_t)cap, 1, "abc.local", 3, addrs, 3, 10,
                                             RTC_MDNS_RESP_LEGACY),
                     RTC_ERR_TOO_SMALL);
    /* nothing of the wanted family */
    CHECK_EQ_INT(
        rtc_mdns_build_response(buf, sizeof buf, 0, "abc.local", RTC_MDNS_Q_AAAA, addrs, 1, 120, 0),
        RTC_ERR_INVALID);
}

/* Seeded mutations of valid packets: any result but a crash (ASan watches). */
static void test_mutations(void) {
    uint8_t base[512], p[512];
    size_t n = hx(RESP, base);
    uint64_t s = 0x9e3779b97f4a7c15ull;
    int ok = 0, bad = 0;
    for (int it = 0; it < 20000; it++) {
        memcpy(p, base, n);
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        int flips = 1 + (int)(s % 4);
        for (int f = 0; f < flips; f++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            p[(s >> 8) % n] = (uint8_t)(s >> 32);
        }
        size_t len = (it % 3 == 0) ? (size_t)((s >> 40) % (n + 1)) : n;
        rtc_mdns_addr a[2];
        int r = rtc_mdns_parse_response(p, len, "abc.local", a, 2, NULL);
        if (r >= 0)
            ok++;
        else if (r == RTC_ERR_PARSE)
            bad++;
        else
            CHECK(0);
        rtc_mdns_query_info qi;
        r = rtc_mdns_parse_query(p, len, "abc.local", &qi);
        CHECK(r == 0 || r == 1 || r == RTC_ERR_PARSE);
    }
    CHECK(ok > 0);
    CHECK(bad > 0);
}

int main(void) {
    RUN(test_names);
    RUN(test_build_query);
    RUN(test_parse_response);
    RUN(test_legacy_unicast);
    RUN(test_malformed);
    RUN(test_build_response);
    RUN(test_mutations);
    return TEST_DONE();
}
