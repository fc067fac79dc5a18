/* RFC 5769 test vectors, both ways: parse + verify, and encode reproducing every byte
** (including the 0x20 padding the RFC uses). Vectors from /work/shared/vectors/README.md. */
#include <string.h>

#include "cwebrtc/stun.h"
#include "test.h"

static const char *V21 =
    "000100582112a442b7e7a701bc34d686fa87dfae802200105354554e207465737420636c69656e74002400"
    "046e0001ff80290008932ff9b151263b36000600096576746a3a68367659202020000800149aeaa70cbfd8"
    "cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf";
static const char *V22 =
    "0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f722000200008000"
    "1a147e112a643000800142b91f599fd9e90c38c7489f92af9ba53f06be7d780280004c07d4c96";
static const char *V23 =
    "010100482112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220002000140002a1"
    "470113a9faa5d3f179bc25f4b5bed2b9d900080014a382954e4be67bf11784c97c8292c275bfe3ed418028"
    "0004c8fb0b4c";
static const char *V24 =
    "000100602112a44278ad3433c6ad72c029da412e00060012e3839ee38388e383aae38383e382afe382b9"
    "00000015001c662f2f3439396b39353464364f4c33346f4c394653547679363473410014000b6578616d70"
    "6c652e6f72670000080014f67024656dd64a3e02b8e0712e85c9a28ca89666";

static const char *PASS = "VOkJxbRl1RmTxUk/WvJxBt";
static const uint8_t TID1[12] = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                                 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};
static const uint8_t TID4[12] = {0x78, 0xad, 0x34, 0x33, 0xc6, 0xad,
                                 0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e};
static const char *USER4 = "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";

static void short_key(rtc_stun_key *k) {
    CHECK_EQ_INT(rtc_stun_key_set(k, (const uint8_t *)PASS, strlen(PASS)), RTC_OK);
}

static void test_2_1_parse(void) {
    uint8_t buf[256];
    size_t n = test_unhex(V21, buf, sizeof buf);
    REQUIRE(n == 108);
    CHECK(rtc_stun_is_message(buf, n));
    CHECK_EQ_INT(rtc_stun_message_size(buf, n), 108);
    rtc_stun_msg m;
    REQUIRE(rtc_stun_parse(&m, buf, n) == RTC_OK);
    CHECK_EQ_INT(m.cls, RTC_STUN_REQUEST);
    CHECK_EQ_INT(m.method, RTC_STUN_BINDING);
    CHECK_MEM(m.tid, TID1, 12);
    CHECK_EQ_INT(m.n_attrs, 6);
    CHECK(m.mi == 4 && m.fp == 5 && m.mi256 == -1);
    const uint8_t *p;
    size_t len;
    REQUIRE(rtc_stun_get_bytes(&m, RTC_STUN_ATTR_SOFTWARE, &p, &len) == RTC_OK);
    CHECK(len == 16 && memcmp(p, "STUN test client", 16) == 0);
    REQUIRE(rtc_stun_get_bytes(&m, RTC_STUN_ATTR_USERNAME, &p, &len) == RTC_OK);
    CHECK(len == 9 && memcmp(p, "evtj:h6vY", 9) == 0);
    uint32_t prio = 0;
    CHECK_EQ_INT(rtc_stun_get_u32(&m, RTC_STUN_ATTR_PRIORITY, &prio), RTC_OK);
    CHECK_EQ_INT(prio, 0x6e0001ffu);
    uint64_t tie = 0;
    CHECK_EQ_INT(rtc_stun_get_u64(&m, RTC_STUN_ATTR_ICE_CONTROLLED, &tie), RTC_OK);
    CHECK(tie == 0x932ff9b151263b36ull);
    CHECK_EQ_INT(rtc_stun_get_u64(&m, RTC_STUN_ATTR_ICE_CONTROLLING, &tie), RTC_ERR_NOT_FOUND);
    rtc_stun_key k;
    short_key(&k);
    CHECK_EQ_INT(rtc_stun_check_mi(&m, &k), RTC_OK);
    CHECK_EQ_INT(rtc_stun_check_integrity(&m, &k), RTC_OK);
    CHECK_EQ_INT(rtc_stun_check_mi_sha256(&m, &k), RTC_ERR_NOT_FOUND);
    rtc_stun_key bad;
    rtc_stun_key_set(&bad, (const uint8_t *)"VOkJxbRl1RmTxUk/WvJxBT", 22);
    CHECK_EQ_INT(rtc_stun_check_integrity(&m, &bad), RTC_ERR_AUTH);
    /* The 0x20 padding (bytes 73..75, after "evtj:h6vY") is covered by FINGERPRINT and
    ** MI: zeroing it breaks FINGERPRINT; without FINGERPRINT it breaks MI. */
    CHECK(buf[73] == 0x20 && buf[75] == 0x20);
    buf[74] = 0;
    CHECK_EQ_INT(rtc_stun_parse(&m, buf, n), RTC_ERR_AUTH);
    buf[3] = (uint8_t)(n - 8 - 20); /* drop FINGERPRINT */
    REQUIRE(rtc_stun_parse(&m, buf, n - 8) == RTC_OK);
    CHECK_EQ_INT(rtc_stun_check_integrity(&m, &k), RTC_ERR_AUTH);
    buf[74] = 0x20;
    REQUIRE(rtc_stun_parse(&m, buf, n - 8) == RTC_OK);
    CHECK_EQ_INT(rtc_stun_check_integrity(&m, &k), RTC_OK);
}

static void test_2_1_encode(void) {
    uint8_t want[256], out[256];
    size_t n = test_unhex(V21, want, sizeof want);
    rtc_stun_key k;
    short_key(&k);
    rtc_stun_builder b;
    CHECK_EQ_INT(rtc_stun_build_init(&b, out, sizeof out, RTC_STUN_BINDING, RTC_STUN_REQUEST, TID1),
                 RTC_OK);
    rtc_stun_build_set_padding(&b, 0x20);
    rtc_stun_add_string(&b, RTC_STUN_ATTR_SOFTWARE, "STUN test client");
    rtc_stun_add_u32(&b, RTC_STUN_ATTR_PRIORITY, 0x6e0001ffu);
    rtc_stun_add_u64(&b, RTC_STUN_ATTR_ICE_CONTROLLED, 0x932ff9b151263b36ull);
    rtc_stun_add_string(&b, RTC_STUN_ATTR_USERNAME, "evtj:h6vY");
    rtc_stun_add_integrity(&b, &k);
    rtc_stun_add_fingerprint(&b);
    int len = rtc_stun_build_finish(&b);
    CHECK_EQ_INT(len, (int)n);
    if (len == (int)n) CHECK_MEM(out, want, n);
}

static void test_2_2(void) {
    uint8_t buf[256], out[256];
    size_t n = test_unhex(V22, buf, sizeof buf);
    REQUIRE(n == 80);
    rtc_stun_msg m;
    REQUIRE(rtc_stun_parse(&m, buf, n) == RTC_OK);
    CHECK_EQ_INT(m.cls, RTC_STUN_SUCCESS);
    CHECK_EQ_INT(m.method, RTC_STUN_BINDING);
    CHECK_MEM(m.tid, TID1, 12);
    rtc_addr a, want;
    REQUIRE(rtc_stun_get_xor_addr(&m, RTC_STUN_ATTR_XOR_MAPPED_ADDRESS, &a) == RTC_OK);
    rtc_addr_parse(&want, "192.0.2.1:32853", 0);
    CHECK(rtc_addr_equal(&a, &want));
    char s[RTC_ADDR_STRLEN];
    rtc_addr_fmt(&a, s, sizeof s);
    CHECK_STR(s, "192.0.2.1:32853");
    rtc_stun_key k;
    short_key(&k);
    CHECK_EQ_INT(rtc_stun_check_integrity(&m, &k), RTC_OK);

    rtc_stun_builder b;
    rtc_stun_build_response(&b, out, sizeof out, &m, RTC_STUN_SUCCESS);
    rtc_stun_build_set_padding(&b, 0x20);
    rtc_stun_add_string(&b, RTC_STUN_ATTR_SOFTWARE, "test vector");
    rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_MAPPED_ADDRESS, &want);
    rtc_stun_add_integrity(&b, &k);
    rtc_stun_add_fingerprint(&b);
    int len = rtc_stun_build_finish(&b);
    CHECK_EQ_INT(len, (int)n);
    if (len == (int)n) CHECK_MEM(out, buf, n);
}

static void test_2_3(void) {
    uint8_t buf[256], out[256];
    size_t n = test_unhex(V23, buf, sizeof buf);
    REQUIRE(n == 92);
    rtc_stun_msg m;
    REQUIRE(rtc_stun_parse(&m, buf, n) == RTC_OK);
    rtc_addr a, want;
    REQUIRE(rtc_stun_get_xor_addr(&m, RTC_STUN_ATTR_XOR_MAPPED_ADDRESS, &a) == RTC_OK);
    REQUIRE(rtc_addr_parse(&want, "[2001:db8:1234:5678:11:2233:4455:6677]:32853", 0) == RTC_OK);
    CHECK(rtc_addr_equal(&a, &want));
    CHECK_EQ_INT(a.family, RTC_AF_INET6);
    CHECK_EQ_INT(a.port, 32853);
    rtc_stun_key k;
    short_key(&k);
    CHECK_EQ_INT(rtc_stun_check_integrity(&m, &k), RTC_OK);

    rtc_stun_builder b;
    rtc_stun_build_init(&b, out, sizeof out, RTC_STUN_BINDING, RTC_STUN_SUCCESS, TID1);
    rtc_stun_build_set_padding(&b, 0x20);
    rtc_stun_add_string(&b, RTC_STUN_ATTR_SOFTWARE, "test vector");
    rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_MAPPED_ADDRESS, &want);
    rtc_stun_add_integrity(&b, &k);
    rtc_stun_add_fingerprint(&b);
    int len = rtc_stun_build_finish(&b);
    CHECK_EQ_INT(len, (int)n);
    if (len == (int)n) CHECK_MEM(out, buf, n);
}

static void test_2_4(void) {
    uint8_t buf[256], out[256], raw[32], want_key[16];
    size_t n = test_unhex(V24, buf, sizeof buf);
    REQUIRE(n == 116);
    test_unhex("e8ca7ad59d5eb0518e312911d2dab2a9", want_key, sizeof want_key);
    rtc_stun_msg m;
    REQUIRE(rtc_stun_parse(&m, buf, n) == RTC_OK);
    CHECK_MEM(m.tid, TID4, 12);
    CHECK_EQ_INT(m.fp, -1);
    const uint8_t *p;
    size_t len;
    REQUIRE(rtc_stun_get_bytes(&m, RTC_STUN_ATTR_USERNAME, &p, &len) == RTC_OK);
    CHECK(len == 18 && memcmp(p, USER4, 18) == 0);
    REQUIRE(rtc_stun_get_bytes(&m, RTC_STUN_ATTR_NONCE, &p, &len) == RTC_OK);
    CHECK(len == 28 && memcmp(p, "f//499k954d6OL34oL9FSTvy64sA", 28) == 0);
    REQUIRE(rtc_stun_get_bytes(&m, RTC_STUN_ATTR_REALM, &p, &len) == RTC_OK);
    CHECK(len == 11 && memcmp(p, "example.org", 11) == 0);
    /* The caller passes the SASLprep'd password (see stun.h). */
    rtc_stun_key k;
    REQUIRE(rtc_stun_key_long_term(&k, RTC_STUN_PASSWORD_ALG_MD5, USER4, 18, "example.org", 11,
                                   "TheMatrIX", 9, raw) == RTC_OK);
    CHECK_MEM(raw, want_key, 16);
    CHECK_EQ_INT(rtc_stun_check_integrity(&m, &k), RTC_OK);
    rtc_stun_key wrong;
    rtc_stun_key_long_term(&wrong, RTC_STUN_PASSWORD_ALG_MD5, USER4, 18, "example.org", 11,
                           "TheMatrix", 9, NULL);
    CHECK_EQ_INT(rtc_stun_check_integrity(&m, &wrong), RTC_ERR_AUTH);

    rtc_stun_builder b;
    rtc_stun_build_init(&b, out, sizeof out, RTC_STUN_BINDING, RTC_STUN_REQUEST, TID4);
    rtc_stun_add_attr(&b, RTC_STUN_ATTR_USERNAME, USER4, 18);
    rtc_stun_add_string(&b, RTC_STUN_ATTR_NONCE, "f//499k954d6OL34oL9FSTvy64sA");
    rtc_stun_add_string(&b, RTC_STUN_ATTR_REALM, "example.org");
    rtc_stun_add_integrity(&b, &k);
    int olen = rtc_stun_build_finish(&b);
    CHECK_EQ_INT(olen, (int)n);
    if (olen == (int)n) CHECK_MEM(out, buf, n);
}

/* Every truncation of every vector is rejected cleanly (and never crashes). */
static void test_truncations(void) {
    const char *vs[] = {V21, V22, V23, V24};
    for (int i = 0; i < 4; i++) {
        uint8_t buf[256];
        size_t n = test_unhex(vs[i], buf, sizeof buf);
        for (size_t cut = 0; cut < n; cut++) {
            rtc_stun_msg m;
            CHECK(rtc_stun_parse(&m, buf, cut) == RTC_ERR_PARSE);
            CHECK(!rtc_stun_is_message(buf, cut));
            int sz = rtc_stun_message_size(buf, cut);
            CHECK(sz == (cut < 20 ? 0 : (int)n));
        }
    }
}

int main(void) {
    RUN(test_2_1_parse);
    RUN(test_2_1_encode);
    RUN(test_2_2);
    RUN(test_2_3);
    RUN(test_2_4);
    RUN(test_truncations);
    return TEST_DONE();
}
