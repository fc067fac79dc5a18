/* src/util: reader/writer bounds, addresses, base64/hex, CRCs, digests, test RNG. */
#include "test.h"
#include "util/buf.h"
#include "util/util.h"

static void test_reader_bounds(void) {
    const uint8_t b[] = {1, 2, 3, 4, 5};
    rtc_reader r;
    rtc_reader_init(&r, b, sizeof b);
    CHECK_EQ_INT(rtc_read_u16(&r), 0x0102);
    CHECK_EQ_INT(rtc_read_u24(&r), 0x030405);
    CHECK(!r.err);
    CHECK_EQ_INT(rtc_read_u8(&r), 0); /* past the end */
    CHECK(r.err);
    CHECK_EQ_INT(rtc_read_u32(&r), 0); /* sticky */
    rtc_reader_init(&r, b, sizeof b);
    rtc_reader s = rtc_read_sub(&r, 2);
    CHECK_EQ_INT(rtc_reader_left(&s), 2);
    CHECK_EQ_INT(rtc_reader_left(&r), 3);
    rtc_reader t = rtc_read_sub(&r, 4);
    CHECK(t.err && r.err);
}

static void test_writer_bounds(void) {
    uint8_t b[6];
    rtc_writer w;
    rtc_writer_init(&w, b, sizeof b);
    rtc_write_u32(&w, 0xdeadbeef);
    size_t off = rtc_write_reserve(&w, 2);
    rtc_write_u16_at(&w, off, 0x1234);
    CHECK(!w.err);
    CHECK_EQ_INT(w.len, 6);
    rtc_write_u8(&w, 1);
    CHECK(w.err);
    CHECK_EQ_INT(w.len, 6);
    const uint8_t want[] = {0xde, 0xad, 0xbe, 0xef, 0x12, 0x34};
    CHECK_MEM(b, want, 6);
}

static void test_addr(void) {
    rtc_addr a, b;
    char s[RTC_ADDR_STRLEN];
    CHECK_EQ_INT(rtc_addr_parse(&a, "192.0.2.1:32853", 0), RTC_OK);
    CHECK_EQ_INT(a.family, RTC_AF_INET);
    CHECK_EQ_INT(a.port, 32853);
    rtc_addr_fmt(&a, s, sizeof s);
    CHECK_STR(s, "192.0.2.1:32853");
    CHECK_EQ_INT(rtc_addr_parse(&b, "[2001:db8::1]:443", 0), RTC_OK);
    rtc_addr_fmt(&b, s, sizeof s);
    CHECK_STR(s, "[2001:db8::1]:443");
    CHECK_EQ_INT(rtc_addr_parse(&b, "::1", 9), RTC_OK);
    CHECK(rtc_addr_is_loopback(&b) && b.port == 9);
    CHECK_EQ_INT(rtc_addr_parse(&b, "[fe80::1%3]:5", 0), RTC_OK);
    CHECK(rtc_addr_is_link_local(&b) && b.scope_id == 3);
    CHECK_EQ_INT(rtc_addr_parse(&b, "1.2.3.4:99999", 0), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_addr_parse(&b, "1.2.3:4", 0), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_addr_parse(&b, "[1.2.3.4]:4", 0), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_addr_parse(&b, "example.com", 0), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_addr_parse(&b, "", 0), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_addr_parse(&b, "192.0.2.1", 7), RTC_OK);
    CHECK(!rtc_addr_equal(&a, &b));
    CHECK(rtc_addr_equal_ip(&a, &b));
    b.port = a.port;
    CHECK(rtc_addr_equal(&a, &b));
    CHECK(rtc_addr_hash(&a) == rtc_addr_hash(&b));
    CHECK_EQ_INT(rtc_addr_fmt(&a, s, 4), RTC_ERR_TOO_SMALL);
    CHECK_EQ_INT(rtc_addr_parse(&b, "10.1.2.3", 0), RTC_OK);
    CHECK(rtc_addr_is_private(&b));
    CHECK_EQ_INT(rtc_addr_parse(&b, "0.0.0.0", 0), RTC_OK);
    CHECK(rtc_addr_is_any(&b));
}

static void test_base64_hex(void) {
    /* RFC 4648 §10 vectors. */
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char e[16];
        uint8_t d[16];
        int n = rtc_base64_encode((const uint8_t *)in[i], strlen(in[i]), e, sizeof e);
        CHECK_EQ_INT(n, strlen(out[i]));
        CHECK_STR(e, out[i]);
        n = rtc_base64_decode(out[i], strlen(out[i]), d, sizeof d);
        CHECK_EQ_INT(n, strlen(in[i]));
        CHECK(memcmp(d, in[i], (size_t)n) == 0);
    }
    uint8_t d[8];
    CHECK_EQ_INT(rtc_base64_decode("Zm9v!", 5, d, sizeof d), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_base64_decode("Zm9vYmFy", 8, d, 3), RTC_ERR_TOO_SMALL);
    char h[8];
    const uint8_t hb[] = {0xab, 0x01, 0xff};
    CHECK_EQ_INT(rtc_hex_encode(hb, 3, h, sizeof h), 6);
    CHECK_STR(h, "ab01ff");
    CHECK_EQ_INT(rtc_hex_decode("AB01fF", 6, d, sizeof d), 3);
    CHECK_MEM(d, hb, 3);
    CHECK_EQ_INT(rtc_hex_decode("zz", 2, d, sizeof d), RTC_ERR_PARSE);
}

static void test_crc(void) {
    const uint8_t s[] = "123456789";
    CHECK_EQ_INT(rtc_crc32(0, s, 9), 0xCBF43926u);
    CHECK_EQ_INT(rtc_crc32c(0, s, 9), 0xE3069283u);
    /* Incremental equals one-shot. */
    CHECK_EQ_INT(rtc_crc32c(rtc_crc32c(0, s, 4), s + 4, 5), 0xE3069283u);
    CHECK_EQ_INT(rtc_crc32(rtc_crc32(0, s, 3), s + 3, 6), 0xCBF43926u);
    /* RFC 3720 B.4: 32 bytes of zeros / of 0xff / ascending. */
    uint8_t z[32] = {0}, f[32], inc[32];
    memset(f, 0xff, 32);
    for (int i = 0; i < 32; i++) inc[i] = (uint8_t)i;
    CHECK_EQ_INT(rtc_crc32c(0, z, 32), 0x8A9136AAu);
    CHECK_EQ_INT(rtc_crc32c(0, f, 32), 0x62A8AB43u);
    CHECK_EQ_INT(rtc_crc32c(0, inc, 32), 0x46DD794Eu);
}

/* Bit-at-a-time references, independent of the table code under test. */
static uint32_t ref_crc(uint32_t poly, const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
    }
    return ~c;
}

static void test_crc_random(void) {
    rtc_env env;
    rtc_test_rng rng;
    rtc_env_seeded(&env, &rng, 99);
    uint8_t buf[600];
    env.random(env.ud, buf, sizeof buf);
    for (size_t n = 0; n < 200; n++) {
        size_t off = n % 9, len = (n * 37) % 580;
        CHECK_EQ_INT(rtc_crc32(0, buf + off, len), ref_crc(0xEDB88320u, buf + off, len));
        CHECK_EQ_INT(rtc_crc32c(0, buf + off, len), ref_crc(0x82F63B78u, buf + off, len));
        CHECK_EQ_INT(rtc_crc32(rtc_crc32(0, buf + off, len / 3), buf + off + len / 3, len - len / 3),
                     rtc_crc32(0, buf + off, len));
    }
}

static void test_crypto(void) {
    uint8_t out[32];
    char hex[65];
    CHECK_EQ_INT(rtc_md5("abc", 3, out), RTC_OK);
    rtc_hex_encode(out, 16, hex, sizeof hex);
    CHECK_STR(hex, "900150983cd24fb0d6963f7d28e17f72");
    CHECK_EQ_INT(rtc_sha1("abc", 3, out), RTC_OK);
    rtc_hex_encode(out, 20, hex, sizeof hex);
    CHECK_STR(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
    /* RFC 2202 test case 2 and RFC 4231 test case 2 ("Jefe"), split in pieces. */
    const uint8_t *msg = (const uint8_t *)"what do ya want for nothing?";
    CHECK_EQ_INT(rtc_hmac_sha1((const uint8_t *)"Jefe", 4, msg, 10, msg + 10, 18, NULL, 0, out),
                 RTC_OK);
    rtc_hex_encode(out, 20, hex, sizeof hex);
    CHECK_STR(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    CHECK_EQ_INT(rtc_hmac_sha256((const uint8_t *)"Jefe", 4, msg, 5, msg + 5, 5, msg + 10, 18, out),
                 RTC_OK);
    rtc_hex_encode(out, 32, hex, sizeof hex);
    CHECK_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    CHECK(rtc_ct_equal("abc", "abc", 3));
    CHECK(!rtc_ct_equal("abc", "abd", 3));
}

static void test_rng(void) {
    rtc_env e1, e2;
    rtc_test_rng r1, r2;
    rtc_env_seeded(&e1, &r1, 42);
    rtc_env_seeded(&e2, &r2, 42);
    CHECK(rtc_random_u64(&e1) == rtc_random_u64(&e2));
    char ufrag[17];
    rtc_random_ice_chars(&e1, ufrag, 16);
    CHECK_EQ_INT(strlen(ufrag), 16);
    for (int i = 0; i < 1000; i++) CHECK(rtc_random_below(&e1, 7) < 7);
    /* The production source gives different values each call. */
    CHECK(rtc_random_u64(NULL) != rtc_random_u64(NULL));
}

static void test_strerror(void) {
    CHECK_STR(rtc_strerror(RTC_ERR_PARSE), "malformed input");
    CHECK_STR(rtc_strerror(-999), "unknown error");
}

int main(void) {
    RUN(test_reader_bounds);
    RUN(test_writer_bounds);
    RUN(test_addr);
    RUN(test_base64_hex);
    RUN(test_crc);
    RUN(test_crc_random);
    RUN(test_crypto);
    RUN(test_rng);
    RUN(test_strerror);
    return TEST_DONE();
}
