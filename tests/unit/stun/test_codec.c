/* STUN codec: attribute round trips, malformed input, integrity rules, 420, builder rules,
** and the own SHA-1/SHA-256/HMAC checked against OpenSSL (util). */
#include <stddef.h>
#include <string.h>

#include "cwebrtc/stun.h"
#include "stun/hash.h"
#include "stun/stun_int.h"
#include "test.h"
#include "util/util.h"

static const uint8_t TID[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

/* ---- hashes against OpenSSL ----------------------------------------------------------- */
static void test_hash_vs_openssl(void) {
    rtc_env env;
    rtc_test_rng rng;
    rtc_env_seeded(&env, &rng, 42);
    uint8_t key[200], msg[608]; /* +7 for the unaligned CRC offsets */
    rtc_env_copy(&env, &env);
    int hw_avail = stun_hash_hw();
    if (!hw_avail) fprintf(stderr, "note: no SHA-NI here, only the portable code is tested\n");
    for (int iter = 0; iter < 600; iter++) {
        int hw = hw_avail && (iter & 1); /* both block functions against OpenSSL */
        size_t kl = (size_t)((iter / 2) % 140);      /* covers keys longer than a block */
        size_t ml = (size_t)(((iter / 2) * 37) % 600); /* covers all block-boundary cases */
        env.random(env.ud, key, sizeof key);
        env.random(env.ud, msg, sizeof msg);
        uint8_t a[32], b[32];
        CHECK_EQ_INT(rtc_crc32(rtc_crc32(0, msg + iter % 7, ml / 3), msg + iter % 7 + ml / 3, ml - ml / 3),
                     rtc_crc32(0, msg + iter % 7, ml)); /* incremental = one shot */
        /* plain digests */
        stun_sha256 c2;
        stun_sha256_init(&c2, hw);
        stun_sha256_update(&c2, msg, ml / 3);
        stun_sha256_update(&c2, msg + ml / 3, ml - ml / 3);
        stun_sha256_final(&c2, a);
        REQUIRE(rtc_sha256(msg, ml, b) == RTC_OK);
        CHECK_MEM(a, b, 32);
        stun_sha1 c1;
        stun_sha1_init(&c1, hw);
        stun_sha1_update(&c1, msg, ml);
        stun_sha1_final(&c1, a);
        REQUIRE(rtc_sha1(msg, ml, b) == RTC_OK);
        CHECK_MEM(a, b, 20);
        /* HMACs from precomputed pads, message split in 3 pieces as STUN does */
        uint32_t in1[5], out1[5], in2[8], out2[8];
        stun_hmac_sha1_prepare(hw, key, kl, in1, out1);
        stun_hmac_sha1_begin(&c1, hw, in1);
        size_t s1 = ml < 2 ? ml : 2, s2 = ml < 4 ? ml - s1 : 2;
        stun_sha1_update(&c1, msg, s1);
        stun_sha1_update(&c1, msg + s1, s2);
        stun_sha1_update(&c1, msg + s1 + s2, ml - s1 - s2);
        stun_hmac_sha1_final(&c1, out1, a);
        REQUIRE(rtc_hmac_sha1(key, kl, msg, ml, NULL, 0, NULL, 0, b) == RTC_OK);
        CHECK_MEM(a, b, 20);
        stun_hmac_sha256_prepare(hw, key, kl, in2, out2);
        stun_hmac_sha256_begin(&c2, hw, in2);
        stun_sha256_update(&c2, msg, ml);
        stun_hmac_sha256_final(&c2, out2, a);
        REQUIRE(rtc_hmac_sha256(key, kl, msg, ml, NULL, 0, NULL, 0, b) == RTC_OK);
        CHECK_MEM(a, b, 32);
    }
}

/* ---- round trip of every attribute ---------------------------------------------------- */
static void test_roundtrip_all(void) {
    uint8_t buf[1500];
    rtc_stun_builder b;
    rtc_addr v4, v6, p2, got;
    rtc_addr_parse(&v4, "192.0.2.1:32853", 0);
    rtc_addr_parse(&v6, "[2001:db8::1]:3478", 0);
    rtc_addr_parse(&p2, "198.51.100.7:9", 0);
    uint8_t token[8] = {9, 8, 7, 6, 5, 4, 3, 2}, data[5] = {0xde, 0xad, 0xbe, 0xef, 0x00};
    uint8_t uh[32];
    CHECK_EQ_INT(rtc_stun_userhash("user", 4, "realm", 5, uh), RTC_OK);
    uint16_t algs[2] = {RTC_STUN_PASSWORD_ALG_SHA256, RTC_STUN_PASSWORD_ALG_MD5};
    uint16_t unk[3] = {0x0003, 0x7f00, 0x0042};
    rtc_stun_key k;
    rtc_stun_key_set(&k, (const uint8_t *)"pw", 2);

    REQUIRE(rtc_stun_build_init(&b, buf, sizeof buf, RTC_STUN_ALLOCATE, RTC_STUN_ERROR, TID) == 0);
    rtc_stun_add_addr(&b, RTC_STUN_ATTR_MAPPED_ADDRESS, &v6);
    rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_MAPPED_ADDRESS, &v6);
    rtc_stun_add_string(&b, RTC_STUN_ATTR_USERNAME, "alice");
    rtc_stun_add_attr(&b, RTC_STUN_ATTR_USERHASH, uh, 32);
    rtc_stun_add_error_code(&b, 438, NULL);
    rtc_stun_add_string(&b, RTC_STUN_ATTR_REALM, "example.org");
    rtc_stun_add_string(&b, RTC_STUN_ATTR_NONCE, "nonce-123");
    rtc_stun_add_password_algorithms(&b, algs, 2);
    rtc_stun_add_password_algorithm(&b, RTC_STUN_PASSWORD_ALG_SHA256);
    rtc_stun_add_unknown_attributes(&b, unk, 3);
    rtc_stun_add_string(&b, RTC_STUN_ATTR_SOFTWARE, "cwebrtc");
    rtc_stun_add_addr(&b, RTC_STUN_ATTR_ALTERNATE_SERVER, &v4);
    rtc_stun_add_u32(&b, RTC_STUN_ATTR_PRIORITY, 0x7e7f00ffu);
    rtc_stun_add_flag(&b, RTC_STUN_ATTR_USE_CANDIDATE);
    rtc_stun_add_u64(&b, RTC_STUN_ATTR_ICE_CONTROLLED, 0x0102030405060708ull);
    rtc_stun_add_u64(&b, RTC_STUN_ATTR_ICE_CONTROLLING, 0xfffefdfcfbfaf9f8ull);
    rtc_stun_add_channel_number(&b, 0x4001);
    rtc_stun_add_u32(&b, RTC_STUN_ATTR_LIFETIME, 600);
    rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_PEER_ADDRESS, &v4);
    rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_PEER_ADDRESS, &p2);
    rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_PEER_ADDRESS, &v6);
    rtc_stun_add_attr(&b, RTC_STUN_ATTR_DATA, data, sizeof data);
    rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_RELAYED_ADDRESS, &v4);
    rtc_stun_add_family(&b, RTC_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, RTC_STUN_FAMILY_IPV6);
    rtc_stun_add_even_port(&b, true);
    rtc_stun_add_requested_transport(&b, RTC_STUN_TRANSPORT_UDP);
    rtc_stun_add_flag(&b, RTC_STUN_ATTR_DONT_FRAGMENT);
    rtc_stun_add_attr(&b, RTC_STUN_ATTR_RESERVATION_TOKEN, token, 8);
    rtc_stun_add_family(&b, RTC_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, RTC_STUN_FAMILY_IPV6);
    rtc_stun_add_address_error_code(&b, RTC_STUN_FAMILY_IPV6, 440, NULL);
    rtc_stun_add_icmp(&b, 3, 13, 0xabcdef01u);
    rtc_stun_add_u32(&b, RTC_STUN_ATTR_CONNECTION_ID, 0x11223344u);
    rtc_stun_add_addr(&b, RTC_STUN_ATTR_RESPONSE_ORIGIN, &p2);
    rtc_stun_add_integrity(&b, &k);
    rtc_stun_add_integrity_sha256(&b, &k);
    rtc_stun_add_fingerprint(&b);
    int len = rtc_stun_build_finish(&b);
    REQUIRE(len > 0);

    rtc_stun_msg m;
    REQUIRE(rtc_stun_parse(&m, buf, (size_t)len) == RTC_OK);
    CHECK_EQ_INT(m.method, RTC_STUN_ALLOCATE);
    CHECK_EQ_INT(m.cls, RTC_STUN_ERROR);
    CHECK_EQ_INT(m.n_attrs, 36);
    CHECK_EQ_INT(m.n_unknown, 0);
    CHECK_EQ_INT(rtc_stun_check_integrity(&m, &k), RTC_OK);
    CHECK_EQ_INT(rtc_stun_check_mi(&m, &k), RTC_OK);
    CHECK_EQ_INT(rtc_stun_check_mi_sha256(&m, &k), RTC_OK);

    CHECK(rtc_stun_get_addr(&m, RTC_STUN_ATTR_MAPPED_ADDRESS, &got) == 0 && rtc_addr_equal(&got, &v6));
    CHECK(rtc_stun_get_xor_addr(&m, RTC_STUN_ATTR_XOR_MAPPED_ADDRESS, &got) == 0 &&
          rtc_addr_equal(&got, &v6));
    /* the XOR form differs on the wire from the plain one */
    const rtc_stun_attr *xa = rtc_stun_find(&m, RTC_STUN_ATTR_XOR_MAPPED_ADDRESS);
    const rtc_stun_attr *pa = rtc_stun_find(&m, RTC_STUN_ATTR_MAPPED_ADDRESS);
    REQUIRE(xa && pa);
    CHECK(memcmp(rtc_stun_attr_value(&m, xa), rtc_stun_attr_value(&m, pa), 20) != 0);
    const uint8_t *p;
    size_t n;
    CHECK(rtc_stun_get_bytes(&m, RTC_STUN_ATTR_USERNAME, &p, &n) == 0 && n == 5 &&
          !memcmp(p, "alice", 5));
    CHECK(rtc_stun_get_bytes(&m, RTC_STUN_ATTR_USERHASH, &p, &n) == 0 && n == 32 &&
          !memcmp(p, uh, 32));
    int code = 0;
    const char *reason;
    size_t rl;
    CHECK(rtc_stun_get_error_code(&m, &code, &reason, &rl) == 0 && code == 438 &&
          rl == strlen("Stale Nonce") && !memcmp(reason, "Stale Nonce", rl));
    CHECK(rtc_stun_get_bytes(&m, RTC_STUN_ATTR_REALM, &p, &n) == 0 && n == 11);
    CHECK(rtc_stun_get_bytes(&m, RTC_STUN_ATTR_NONCE, &p, &n) == 0 && n == 9);
    uint16_t galgs[4] = {0};
    CHECK_EQ_INT(rtc_stun_get_password_algorithms(&m, galgs, 4), 2);
    CHECK(galgs[0] == RTC_STUN_PASSWORD_ALG_SHA256 && galgs[1] == RTC_STUN_PASSWORD_ALG_MD5);
    uint16_t alg = 0;
    CHECK(rtc_stun_get_password_algorithm(&m, &alg) == 0 && alg == RTC_STUN_PASSWORD_ALG_SHA256);
    uint16_t gunk[2];
    CHECK_EQ_INT(rtc_stun_get_unknown_attributes(&m, gunk, 2), 3); /* count, 2 copied */
    CHECK(gunk[0] == 0x0003 && gunk[1] == 0x7f00);
    CHECK(rtc_stun_get_bytes(&m, RTC_STUN_ATTR_SOFTWARE, &p, &n) == 0 && n == 7);
    CHECK(rtc_stun_get_addr(&m, RTC_STUN_ATTR_ALTERNATE_SERVER, &got) == 0 &&
          rtc_addr_equal(&got, &v4));
    uint32_t u32;
    uint64_t u64;
    CHECK(rtc_stun_get_u32(&m, RTC_STUN_ATTR_PRIORITY, &u32) == 0 && u32 == 0x7e7f00ffu);
    CHECK(rtc_stun_has(&m, RTC_STUN_ATTR_USE_CANDIDATE));
    CHECK(rtc_stun_get_u64(&m, RTC_STUN_ATTR_ICE_CONTROLLED, &u64) == 0 &&
          u64 == 0x0102030405060708ull);
    CHECK(rtc_stun_get_u64(&m, RTC_STUN_ATTR_ICE_CONTROLLING, &u64) == 0 &&
          u64 == 0xfffefdfcfbfaf9f8ull);
    uint16_t ch;
    CHECK(rtc_stun_get_channel_number(&m, &ch) == 0 && ch == 0x4001);
    CHECK(rtc_stun_get_u32(&m, RTC_STUN_ATTR_LIFETIME, &u32) == 0 && u32 == 600);
    /* XOR-PEER-ADDRESS repeats: iterate */
    const rtc_stun_attr *a = rtc_stun_find(&m, RTC_STUN_ATTR_XOR_PEER_ADDRESS);
    const rtc_addr *want[3] = {&v4, &p2, &v6};
    int cnt = 0;
    for (; a && cnt < 10; a = rtc_stun_find_next(&m, a), cnt++)
        CHECK(cnt < 3 && rtc_stun_attr_xor_addr(&m, a, &got) == 0 && rtc_addr_equal(&got, want[cnt]));
    CHECK_EQ_INT(cnt, 3);
    CHECK(rtc_stun_get_bytes(&m, RTC_STUN_ATTR_DATA, &p, &n) == 0 && n == 5 && !memcmp(p, data, 5));
    CHECK(rtc_stun_get_xor_addr(&m, RTC_STUN_ATTR_XOR_RELAYED_ADDRESS, &got) == 0 &&
          rtc_addr_equal(&got, &v4));
    uint8_t fam;
    CHECK(rtc_stun_get_family(&m, RTC_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, &fam) == 0 &&
          fam == RTC_STUN_FAMILY_IPV6);
    CHECK(rtc_stun_get_family(&m, RTC_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, &fam) == 0 &&
          fam == RTC_STUN_FAMILY_IPV6);
    bool r = false;
    CHECK(rtc_stun_get_even_port(&m, &r) == 0 && r);
    uint8_t proto;
    CHECK(rtc_stun_get_requested_transport(&m, &proto) == 0 && proto == 17);
    CHECK(rtc_stun_has(&m, RTC_STUN_ATTR_DONT_FRAGMENT));
    CHECK(rtc_stun_get_u64(&m, RTC_STUN_ATTR_RESERVATION_TOKEN, &u64) == 0 &&
          u64 == 0x0908070605040302ull);
    CHECK(rtc_stun_get_address_error_code(&m, &fam, &code, &reason, &rl) == 0 && fam == 2 &&
          code == 440 && rl == strlen("Address Family not Supported"));
    uint8_t it, ic;
    CHECK(rtc_stun_get_icmp(&m, &it, &ic, &u32) == 0 && it == 3 && ic == 13 && u32 == 0xabcdef01u);
    CHECK(rtc_stun_get_u32(&m, RTC_STUN_ATTR_CONNECTION_ID, &u32) == 0 && u32 == 0x11223344u);
    CHECK(rtc_stun_get_addr(&m, RTC_STUN_ATTR_RESPONSE_ORIGIN, &got) == 0 &&
          rtc_addr_equal(&got, &p2));
    CHECK_EQ_INT(rtc_stun_get_u32(&m, RTC_STUN_ATTR_OTHER_ADDRESS, &u32), RTC_ERR_NOT_FOUND);
    char str[16];
    CHECK_EQ_INT(rtc_stun_get_string(&m, RTC_STUN_ATTR_REALM, str, sizeof str), 11);
    CHECK_STR(str, "example.org");
    CHECK_EQ_INT(rtc_stun_get_string(&m, RTC_STUN_ATTR_REALM, str, 11), RTC_ERR_TOO_SMALL);
    CHECK_STR(str, "example.or");
    CHECK_EQ_INT(rtc_stun_get_string(&m, RTC_STUN_ATTR_NONCE, str, 10), 9);
    CHECK_EQ_INT(rtc_stun_get_string(&m, RTC_STUN_ATTR_ALTERNATE_DOMAIN, str, 10), RTC_ERR_NOT_FOUND);
    CHECK_STR(str, "");
    /* names cover every attribute in this message */
    for (unsigned i = 0; i < m.n_attrs; i++) CHECK(rtc_stun_attr_name(m.attrs[i].type) != NULL);
    CHECK_STR(rtc_stun_method_name(m.method), "Allocate");
    CHECK_STR(rtc_stun_class_name(m.cls), "error response");
    CHECK(rtc_stun_attr_name(0x7777) == NULL);

    /* The MI matches an independent HMAC (OpenSSL) over the bytes before it with the
    ** length field ending at MI. */
    const rtc_stun_attr *mi = &m.attrs[m.mi];
    uint8_t tmp[1500], mac[20];
    memcpy(tmp, buf, mi->offset - 4);
    tmp[2] = (uint8_t)((mi->offset + 20 - 20) >> 8);
    tmp[3] = (uint8_t)(mi->offset + 20 - 20);
    rtc_hmac_sha1((const uint8_t *)"pw", 2, tmp, mi->offset - 4, NULL, 0, NULL, 0, mac);
    CHECK_MEM(mac, buf + mi->offset, 20);
}

/* ---- long-term keys -------------------------------------------------------------------- */
static void test_long_term_sha256(void) {
    rtc_stun_key k1, k2;
    uint8_t raw[32], want[32];
    CHECK_EQ_INT(rtc_stun_key_long_term(&k1, RTC_STUN_PASSWORD_ALG_SHA256, "u", 1, "r", 1, "p", 1,
                                        raw), RTC_OK);
    rtc_sha256("u:r:p", 5, want);
    CHECK_MEM(raw, want, 32);
    rtc_stun_key_set(&k2, want, 32);
    CHECK_MEM(&k1, &k2, offsetof(rtc_stun_key, valid));
    CHECK_EQ_INT(rtc_stun_key_long_term(&k1, 7, "u", 1, "r", 1, "p", 1, NULL), RTC_ERR_INVALID);
    static char big[3000];
    memset(big, 'a', sizeof big);
    CHECK_EQ_INT(rtc_stun_key_long_term(&k1, RTC_STUN_PASSWORD_ALG_MD5, big, 1500, "r", 1, big,
                                        1000, NULL), RTC_ERR_INVALID);
    rtc_stun_userhash("u", 1, "r", 1, raw);
    rtc_sha256("u:r", 3, want);
    CHECK_MEM(raw, want, 32);
    rtc_stun_key_clear(&k1);
    CHECK(!k1.valid);
    rtc_stun_msg m;
    memset(&m, 0, sizeof m);
    CHECK_EQ_INT(rtc_stun_check_integrity(&m, &k1), RTC_ERR_INVALID);
}

/* ---- helpers to hand-craft messages ------------------------------------------------- */
static size_t put_hdr(uint8_t *b, uint16_t type) {
    memset(b, 0, 20);
    b[0] = (uint8_t)(type >> 8);
    b[1] = (uint8_t)type;
    b[4] = 0x21, b[5] = 0x12, b[6] = 0xa4, b[7] = 0x42;
    memcpy(b + 8, TID, 12);
    return 20;
}
static size_t put_attr(uint8_t *b, size_t at, uint16_t type, const void *v, uint16_t len,
                       uint8_t pad) {
    b[at] = (uint8_t)(type >> 8), b[at + 1] = (uint8_t)type;
    b[at + 2] = (uint8_t)(len >> 8), b[at + 3] = (uint8_t)len;
    if (len) memcpy(b + at + 4, v, len);
    size_t p = (4 - (len & 3)) & 3;
    memset(b + at + 4 + len, pad, p);
    return at + 4 + len + p;
}
static void set_len(uint8_t *b, size_t total) {
    b[2] = (uint8_t)((total - 20) >> 8);
    b[3] = (uint8_t)(total - 20);
}
static size_t put_fp(uint8_t *b, size_t at) {
    set_len(b, at + 8);
    uint32_t crc = rtc_crc32(0, b, at) ^ 0x5354554Eu;
    uint8_t v[4] = {(uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8), (uint8_t)crc};
    return put_attr(b, at, RTC_STUN_ATTR_FINGERPRINT, v, 4, 0);
}

static void test_header_errors(void) {
    uint8_t b[64];
    rtc_stun_msg m;
    size_t n = put_hdr(b, 0x0001);
    set_len(b, n);
    CHECK_EQ_INT(rtc_stun_parse(&m, b, n), RTC_OK);
    CHECK_EQ_INT(m.n_attrs, 0);
    b[0] = 0x40; /* top bits */
    CHECK_EQ_INT(rtc_stun_parse(&m, b, n), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_stun_message_size(b, n), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_stun_message_size(b, 1), RTC_ERR_PARSE);
    b[0] = 0;
    b[7] = 0x43; /* cookie */
    CHECK_EQ_INT(rtc_stun_parse(&m, b, n), RTC_ERR_PARSE);
    b[7] = 0x42;
    n = put_attr(b, n, RTC_STUN_ATTR_PRIORITY, "\0\0\0\1", 4, 0);
    set_len(b, n);
    CHECK_EQ_INT(rtc_stun_parse(&m, b, n), RTC_OK);
    b[3] = 6; /* length not a multiple of 4 */
    CHECK_EQ_INT(rtc_stun_parse(&m, b, n), RTC_ERR_PARSE);
    b[3] = 12; /* longer than the datagram */
    CHECK_EQ_INT(rtc_stun_parse(&m, b, n), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_stun_message_size(b, n), 32);
    b[3] = 4; /* shorter than the datagram (trailing bytes) */
    CHECK_EQ_INT(rtc_stun_parse(&m, b, n), RTC_ERR_PARSE);
    set_len(b, n);
    b[23] = 8; /* attribute length beyond the message */
    CHECK_EQ_INT(rtc_stun_parse(&m, b, n), RTC_ERR_PARSE);
    b[23] = 3; /* PRIORITY must be 4 bytes */
    CHECK_EQ_INT(rtc_stun_parse(&m, b, n), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_stun_parse(NULL, b, n), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_stun_parse(&m, NULL, 0), RTC_ERR_PARSE);
}

/* Padding must exist, but may hold any value. */
static void test_padding(void) {
    uint8_t b[64];
    rtc_stun_msg m;
    size_t n = put_hdr(b, 0x0001);
    n = put_attr(b, n, RTC_STUN_ATTR_USERNAME, "abcde", 5, 0xAB);
    set_len(b, n);
    CHECK_EQ_INT(rtc_stun_parse(&m, b, n), RTC_OK);
    const uint8_t *p;
    size_t l;
    CHECK(rtc_stun_get_bytes(&m, RTC_STUN_ATTR_USERNAME, &p, &l) == 0 && l == 5);
    /* without its padding, the last attribute runs past the (4-aligned) message */
    b[23] = 8;
    CHECK_EQ_INT(rtc_stun_parse(&m, b, n), RTC_OK);
    b[23] = 9; /* value 9 needs 12 bytes, only 8 present */
    CHECK_EQ_INT(rtc_stun_parse(&m, b, n), RTC_ERR_PARSE);
}

static void test_per_type_lengths(void) {
    struct { uint16_t type; uint16_t bad_len; } cases[] = {
        {RTC_STUN_ATTR_XOR_MAPPED_ADDRESS, 12}, {RTC_STUN_ATTR_MAPPED_ADDRESS, 4},
        {RTC_STUN_ATTR_MESSAGE_INTEGRITY, 16},  {RTC_STUN_ATTR_MESSAGE_INTEGRITY_SHA256, 12},
        {RTC_STUN_ATTR_FINGERPRINT, 8},         {RTC_STUN_ATTR_ICE_CONTROLLING, 4},
        {RTC_STUN_ATTR_USE_CANDIDATE, 4},       {RTC_STUN_ATTR_LIFETIME, 8},
        {RTC_STUN_ATTR_CHANNEL_NUMBER, 2},      {RTC_STUN_ATTR_ERROR_CODE, 2},
        {RTC_STUN_ATTR_EVEN_PORT, 4},           {RTC_STUN_ATTR_USERHASH, 20},
        {RTC_STUN_ATTR_UNKNOWN_ATTRIBUTES, 3},  {RTC_STUN_ATTR_USERNAME, 516},
        {RTC_STUN_ATTR_REALM, 764},             {RTC_STUN_ATTR_PASSWORD_ALGORITHMS, 2},
        {RTC_STUN_ATTR_PASSWORD_ALGORITHM, 8},  {RTC_STUN_ATTR_ICMP, 4},
    };
    static uint8_t b[1200], zero[800];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = put_hdr(b, 0x0001);
        n = put_attr(b, n, cases[i].type, zero, cases[i].bad_len, 0);
        set_len(b, n);
        rtc_stun_msg m;
        int rc = rtc_stun_parse(&m, b, n);
        if (rc != RTC_ERR_PARSE) fprintf(stderr, "type 0x%04x len %u -> %d\n", cases[i].type, cases[i].bad_len, rc);
        CHECK_EQ_INT(rc, RTC_ERR_PARSE);
    }
    /* well-sized but invalid values are caught by the getters */
    size_t n = put_hdr(b, 0x0001);
    n = put_attr(b, n, RTC_STUN_ATTR_XOR_MAPPED_ADDRESS, "\0\3\0\0\0\0\0\0", 8, 0); /* family 3 */
    n = put_attr(b, n, RTC_STUN_ATTR_ERROR_CODE, "\0\0\2\0", 4, 0);                /* class 2 */
    n = put_attr(b, n, RTC_STUN_ATTR_MAPPED_ADDRESS, zero, 20, 0); /* family 0, len 20 */
    set_len(b, n);
    rtc_stun_msg m;
    REQUIRE(rtc_stun_parse(&m, b, n) == RTC_OK);
    rtc_addr a;
    int code;
    CHECK_EQ_INT(rtc_stun_get_xor_addr(&m, RTC_STUN_ATTR_XOR_MAPPED_ADDRESS, &a), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_stun_get_addr(&m, RTC_STUN_ATTR_MAPPED_ADDRESS, &a), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_stun_get_error_code(&m, &code, NULL, NULL), RTC_ERR_PARSE);
}

static void test_flood(void) {
    static uint8_t b[2000];
    rtc_stun_msg m;
    for (int count = 63; count <= 66; count++) {
        size_t n = put_hdr(b, 0x0001);
        for (int i = 0; i < count; i++) n = put_attr(b, n, 0x8123, NULL, 0, 0);
        set_len(b, n);
        CHECK_EQ_INT(rtc_stun_parse(&m, b, n), count <= RTC_STUN_MAX_ATTRS ? RTC_OK : RTC_ERR_PARSE);
    }
    /* a flood hiding after MESSAGE-INTEGRITY still counts */
    size_t n = put_hdr(b, 0x0001);
    uint8_t mi[20] = {0};
    n = put_attr(b, n, RTC_STUN_ATTR_MESSAGE_INTEGRITY, mi, 20, 0);
    for (int i = 0; i < 100; i++) n = put_attr(b, n, 0x0003, NULL, 0, 0);
    set_len(b, n);
    CHECK_EQ_INT(rtc_stun_parse(&m, b, n), RTC_ERR_PARSE);
}

static void test_fingerprint_rules(void) {
    uint8_t b[128];
    rtc_stun_msg m;
    size_t n = put_hdr(b, 0x0001);
    n = put_attr(b, n, RTC_STUN_ATTR_SOFTWARE, "x", 1, 0);
    n = put_fp(b, n);
    CHECK_EQ_INT(rtc_stun_parse(&m, b, n), RTC_OK);
    CHECK(m.fp == 1);
    uint32_t fp;
    CHECK_EQ_INT(rtc_stun_get_u32(&m, RTC_STUN_ATTR_FINGERPRINT, &fp), RTC_OK);
    b[n - 1] ^= 1;
    CHECK_EQ_INT(rtc_stun_parse(&m, b, n), RTC_ERR_AUTH);
    b[n - 1] ^= 1;
    /* anything after FINGERPRINT: rejected */
    size_t n2 = put_attr(b, n, RTC_STUN_ATTR_SOFTWARE, "y", 1, 0);
    set_len(b, n2);
    CHECK_EQ_INT(rtc_stun_parse(&m, b, n2), RTC_ERR_PARSE);
}

/* RFC 8489 §14.5: after MI only MI-SHA256 and FINGERPRINT count; others are ignored. */
static void test_after_mi_ignored(void) {
    uint8_t buf[256];
    rtc_stun_key k;
    rtc_stun_key_set(&k, (const uint8_t *)"secret", 6);
    rtc_stun_builder b;
    rtc_stun_build_init(&b, buf, sizeof buf, RTC_STUN_BINDING, RTC_STUN_REQUEST, TID);
    rtc_stun_add_string(&b, RTC_STUN_ATTR_USERNAME, "a:b");
    rtc_stun_add_integrity(&b, &k);
    int len = rtc_stun_build_finish(&b);
    REQUIRE(len > 0);
    size_t n = (size_t)len;
    /* hand-append SOFTWARE, an unknown comprehension-required type and a bad-length
    ** PRIORITY after MI, then MI-SHA256-less FINGERPRINT */
    n = put_attr(buf, n, RTC_STUN_ATTR_SOFTWARE, "evil", 4, 0);
    n = put_attr(buf, n, 0x0003, "\0\0\0\0", 4, 0);
    n = put_attr(buf, n, RTC_STUN_ATTR_PRIORITY, "\1", 1, 0);
    n = put_fp(buf, n);
    rtc_stun_msg m;
    REQUIRE(rtc_stun_parse(&m, buf, n) == RTC_OK);
    CHECK_EQ_INT(m.n_ignored, 3);
    CHECK_EQ_INT(m.n_unknown, 0);
    CHECK(!rtc_stun_has(&m, RTC_STUN_ATTR_SOFTWARE));
    CHECK(!rtc_stun_has(&m, RTC_STUN_ATTR_PRIORITY));
    CHECK(m.fp >= 0);
    CHECK_EQ_INT(rtc_stun_check_integrity(&m, &k), RTC_OK);
    /* MI with the wrong key */
    rtc_stun_key k2;
    rtc_stun_key_set(&k2, (const uint8_t *)"secreT", 6);
    CHECK_EQ_INT(rtc_stun_check_integrity(&m, &k2), RTC_ERR_AUTH);
    /* After MI-SHA256, a later MI is ignored too */
    rtc_stun_build_init(&b, buf, sizeof buf, RTC_STUN_BINDING, RTC_STUN_REQUEST, TID);
    rtc_stun_add_integrity_sha256(&b, &k);
    len = rtc_stun_build_finish(&b);
    n = put_attr(buf, (size_t)len, RTC_STUN_ATTR_MESSAGE_INTEGRITY, buf, 20, 0);
    set_len(buf, n);
    REQUIRE(rtc_stun_parse(&m, buf, n) == RTC_OK);
    CHECK(m.mi == -1 && m.mi256 == 0 && m.n_ignored == 1);
    CHECK_EQ_INT(rtc_stun_check_integrity(&m, &k), RTC_OK);
}

/* A truncated MESSAGE-INTEGRITY-SHA256 (16 bytes, §14.6) verifies. */
static void test_mi_sha256_truncated(void) {
    uint8_t buf[128];
    rtc_stun_key k;
    rtc_stun_key_set(&k, (const uint8_t *)"key", 3);
    size_t n = put_hdr(buf, 0x0001);
    n = put_attr(buf, n, RTC_STUN_ATTR_USERNAME, "u", 1, 0);
    size_t at = n;
    set_len(buf, n + 4 + 16);
    uint8_t mac[32];
    rtc_hmac_sha256((const uint8_t *)"key", 3, buf, at, NULL, 0, NULL, 0, mac);
    n = put_attr(buf, n, RTC_STUN_ATTR_MESSAGE_INTEGRITY_SHA256, mac, 16, 0);
    rtc_stun_msg m;
    REQUIRE(rtc_stun_parse(&m, buf, n) == RTC_OK);
    CHECK_EQ_INT(rtc_stun_check_integrity(&m, &k), RTC_OK);
    CHECK_EQ_INT(rtc_stun_check_mi(&m, &k), RTC_ERR_NOT_FOUND);
    buf[n - 1] ^= 0x80;
    CHECK_EQ_INT(rtc_stun_check_integrity(&m, &k), RTC_ERR_AUTH);
}

static void test_unknown_and_420(void) {
    uint8_t b[256], out[256];
    size_t n = put_hdr(b, 0x0001);
    n = put_attr(b, n, RTC_STUN_ATTR_USERNAME, "u", 1, 0);
    n = put_attr(b, n, 0x0003, "\0\0\0\0", 4, 0); /* CHANGE-REQUEST: we do not know it */
    n = put_attr(b, n, 0xC057, "\0\1\0\0", 4, 0); /* optional: ignored */
    n = put_attr(b, n, 0x7FFF, NULL, 0, 0);
    n = put_attr(b, n, 0x0003, "\0\0\0\0", 4, 0); /* duplicate: listed once */
    set_len(b, n);
    rtc_stun_msg m;
    REQUIRE(rtc_stun_parse(&m, b, n) == RTC_ERR_UNSUPPORTED);
    CHECK_EQ_INT(m.n_unknown, 2);
    CHECK(m.unknown[0] == 0x0003 && m.unknown[1] == 0x7FFF);
    CHECK(rtc_stun_has(&m, 0xC057)); /* optional ones are still listed for the curious */

    rtc_stun_builder bl;
    CHECK_EQ_INT(rtc_stun_build_error_response(&bl, out, sizeof out, &m, 420, NULL), RTC_OK);
    rtc_stun_add_fingerprint(&bl);
    int len = rtc_stun_build_finish(&bl);
    REQUIRE(len > 0);
    rtc_stun_msg r;
    REQUIRE(rtc_stun_parse(&r, out, (size_t)len) == RTC_OK);
    CHECK_EQ_INT(r.cls, RTC_STUN_ERROR);
    CHECK_EQ_INT(r.method, RTC_STUN_BINDING);
    CHECK_MEM(r.tid, TID, 12);
    int code = 0;
    const char *reason;
    size_t rl;
    CHECK(rtc_stun_get_error_code(&r, &code, &reason, &rl) == 0 && code == 420 &&
          rl == 17 && !memcmp(reason, "Unknown Attribute", 17));
    uint16_t t[4];
    CHECK_EQ_INT(rtc_stun_get_unknown_attributes(&r, t, 4), 2);
    CHECK(t[0] == 0x0003 && t[1] == 0x7FFF);
    /* wire check of the ERROR-CODE value: 0 0 class=4 number=20 */
    const rtc_stun_attr *ea = rtc_stun_find(&r, RTC_STUN_ATTR_ERROR_CODE);
    REQUIRE(ea);
    const uint8_t *ev = rtc_stun_attr_value(&r, ea);
    CHECK(ev[0] == 0 && ev[1] == 0 && ev[2] == 4 && ev[3] == 20);
}

static void test_builder_rules(void) {
    uint8_t buf[128];
    rtc_stun_key k;
    rtc_stun_key_set(&k, (const uint8_t *)"k", 1);
    rtc_stun_builder b;
    rtc_stun_build_init(&b, buf, sizeof buf, RTC_STUN_BINDING, RTC_STUN_REQUEST, TID);
    CHECK_EQ_INT(rtc_stun_add_integrity(&b, &k), RTC_OK);
    CHECK_EQ_INT(rtc_stun_add_string(&b, RTC_STUN_ATTR_SOFTWARE, "x"), RTC_ERR_MISUSE);
    CHECK_EQ_INT(rtc_stun_build_finish(&b), RTC_ERR_MISUSE); /* sticky */

    rtc_stun_build_init(&b, buf, sizeof buf, RTC_STUN_BINDING, RTC_STUN_REQUEST, TID);
    CHECK_EQ_INT(rtc_stun_add_integrity_sha256(&b, &k), RTC_OK);
    CHECK_EQ_INT(rtc_stun_add_integrity(&b, &k), RTC_ERR_MISUSE);

    rtc_stun_build_init(&b, buf, sizeof buf, RTC_STUN_BINDING, RTC_STUN_REQUEST, TID);
    CHECK_EQ_INT(rtc_stun_add_fingerprint(&b), RTC_OK);
    CHECK_EQ_INT(rtc_stun_add_fingerprint(&b), RTC_ERR_MISUSE);

    rtc_stun_build_init(&b, buf, sizeof buf, RTC_STUN_BINDING, RTC_STUN_REQUEST, TID);
    CHECK_EQ_INT(rtc_stun_add_attr(&b, RTC_STUN_ATTR_FINGERPRINT, "abcd", 4), RTC_ERR_INVALID);

    /* too small: exact fit works, one byte less fails, stays failed */
    for (size_t cap = 20; cap <= 48; cap++) {
        rtc_stun_build_init(&b, buf, cap, RTC_STUN_BINDING, RTC_STUN_REQUEST, TID);
        rtc_stun_add_string(&b, RTC_STUN_ATTR_USERNAME, "abc"); /* 8 bytes */
        rtc_stun_add_integrity(&b, &k);                         /* 24 */
        rtc_stun_add_fingerprint(&b);                           /* 8 */
        int len = rtc_stun_build_finish(&b);
        CHECK_EQ_INT(len, cap >= 60 ? 60 : RTC_ERR_TOO_SMALL);
    }
    rtc_stun_build_init(&b, buf, 60, RTC_STUN_BINDING, RTC_STUN_REQUEST, TID);
    rtc_stun_add_string(&b, RTC_STUN_ATTR_USERNAME, "abc");
    rtc_stun_add_integrity(&b, &k);
    rtc_stun_add_fingerprint(&b);
    CHECK_EQ_INT(rtc_stun_build_finish(&b), 60);
    CHECK_EQ_INT(rtc_stun_build_init(&b, buf, 19, 1, 0, TID), RTC_ERR_TOO_SMALL);
    CHECK_EQ_INT(rtc_stun_build_init(&b, buf, 64, 0x1000, 0, TID), RTC_ERR_INVALID);
    rtc_stun_build_init(&b, buf, sizeof buf, 1, 0, TID);
    CHECK_EQ_INT(rtc_stun_add_error_code(&b, 250, NULL), RTC_ERR_INVALID);
    rtc_addr none;
    memset(&none, 0, sizeof none);
    rtc_stun_build_init(&b, buf, sizeof buf, 1, 0, TID);
    CHECK_EQ_INT(rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_MAPPED_ADDRESS, &none), RTC_ERR_INVALID);
    rtc_stun_key bad;
    memset(&bad, 0, sizeof bad);
    rtc_stun_build_init(&b, buf, sizeof buf, 1, 0, TID);
    CHECK_EQ_INT(rtc_stun_add_integrity(&b, &bad), RTC_ERR_INVALID);
}

/* Method/class bits map to the wire type exactly as RFC 8489 §5 Figure 3 says. */
static void test_type_bits(void) {
    uint8_t buf[32];
    rtc_stun_builder b;
    struct { uint16_t method; int cls; uint16_t wire; } v[] = {
        {RTC_STUN_BINDING, RTC_STUN_REQUEST, 0x0001},   {RTC_STUN_BINDING, RTC_STUN_INDICATION, 0x0011},
        {RTC_STUN_BINDING, RTC_STUN_SUCCESS, 0x0101},   {RTC_STUN_BINDING, RTC_STUN_ERROR, 0x0111},
        {RTC_STUN_ALLOCATE, RTC_STUN_REQUEST, 0x0003},  {RTC_STUN_SEND, RTC_STUN_INDICATION, 0x0016},
        {RTC_STUN_DATA, RTC_STUN_INDICATION, 0x0017},   {RTC_STUN_CHANNEL_BIND, RTC_STUN_ERROR, 0x0119},
        {RTC_STUN_CONNECTION_ATTEMPT, RTC_STUN_INDICATION, 0x001c}, {0xFFF, RTC_STUN_ERROR, 0x3FFF},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        rtc_stun_build_init(&b, buf, sizeof buf, v[i].method, v[i].cls, TID);
        CHECK_EQ_INT((buf[0] << 8) | buf[1], v[i].wire);
        rtc_stun_msg m;
        CHECK_EQ_INT(rtc_stun_parse(&m, buf, 20), RTC_OK);
        CHECK(m.method == v[i].method && m.cls == v[i].cls);
    }
}

/* RFC 8489 §6.2.2: over TCP the length field frames messages. */
static void test_stream_framing(void) {
    uint8_t stream[512];
    size_t used = 0;
    rtc_stun_builder b;
    const char *names[3] = {"first", "second-one", "3"};
    for (int i = 0; i < 3; i++) {
        uint8_t tid[12] = {(uint8_t)i};
        rtc_stun_build_init(&b, stream + used, sizeof stream - used, RTC_STUN_BINDING,
                            RTC_STUN_REQUEST, tid);
        rtc_stun_add_string(&b, RTC_STUN_ATTR_SOFTWARE, names[i]);
        rtc_stun_add_fingerprint(&b);
        int n = rtc_stun_build_finish(&b);
        REQUIRE(n > 0);
        used += (size_t)n;
    }
    size_t avail = used - 5; /* the last message arrived only partly */
    size_t off = 0;
    int got = 0;
    for (int guard = 0; guard < 10; guard++) {
        int sz = rtc_stun_message_size(stream + off, avail - off);
        REQUIRE(sz >= 0);
        if (sz == 0 || (size_t)sz > avail - off) break; /* need more bytes */
        rtc_stun_msg m;
        REQUIRE(rtc_stun_parse(&m, stream + off, (size_t)sz) == RTC_OK);
        CHECK_EQ_INT(m.tid[0], got);
        char sw[16];
        CHECK_EQ_INT(rtc_stun_get_string(&m, RTC_STUN_ATTR_SOFTWARE, sw, sizeof sw),
                     (int)strlen(names[got]));
        got++;
        off += (size_t)sz;
    }
    CHECK_EQ_INT(got, 2);
    /* ChannelData (first bits 01) is not STUN */
    uint8_t cd[8] = {0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4};
    CHECK_EQ_INT(rtc_stun_message_size(cd, sizeof cd), RTC_ERR_PARSE);
    CHECK(!rtc_stun_is_message(cd, sizeof cd));
}

int main(void) {
    RUN(test_stream_framing);
    RUN(test_hash_vs_openssl);
    RUN(test_roundtrip_all);
    RUN(test_long_term_sha256);
    RUN(test_header_errors);
    RUN(test_padding);
    RUN(test_per_type_lengths);
    RUN(test_flood);
    RUN(test_fingerprint_rules);
    RUN(test_after_mi_ignored);
    RUN(test_mi_sha256_truncated);
    RUN(test_unknown_and_420);
    RUN(test_builder_rules);
    RUN(test_type_bits);
    return TEST_DONE();
}
