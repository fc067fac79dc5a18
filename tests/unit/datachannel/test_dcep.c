/* tests/unit/datachannel/test_dcep.c: the DCEP codec (RFC 8832 §5). */
#include "cwebrtc/datachannel.h"
#include "test.h"

/* An OPEN as Chrome sends it for createDataChannel("chat", {protocol: "json",
** maxRetransmits: 3, ordered: false}): type 3, channel type 0x81, priority 256,
** reliability 3, label "chat", protocol "json". Built by hand from §5.1. */
static const char *OPEN_HEX = "03 81 0100 00000003 0004 0004 63686174 6a736f6e";

static void test_parse_known_open(void) {
    uint8_t b[64];
    size_t n = test_unhex(OPEN_HEX, b, sizeof b);
    rtc_dcep_msg m;
    REQUIRE(rtc_dcep_parse(b, n, &m) == RTC_OK);
    CHECK_EQ_INT(m.type, RTC_DCEP_OPEN);
    CHECK_EQ_INT(m.channel_type, RTC_DCEP_PARTIAL_RELIABLE_REXMIT_UNORDERED);
    CHECK_EQ_INT(m.priority, 256);
    CHECK_EQ_INT(m.reliability, 3);
    CHECK_EQ_INT(m.label_len, 4);
    CHECK_MEM(m.label, "chat", 4);
    CHECK_EQ_INT(m.protocol_len, 4);
    CHECK_MEM(m.protocol, "json", 4);
    /* encode gives the same bytes back */
    uint8_t out[64];
    size_t on = sizeof out;
    REQUIRE(rtc_dcep_encode(&m, out, &on) == RTC_OK);
    CHECK_EQ_INT(on, n);
    CHECK_MEM(out, b, n);
}

static void test_roundtrip_all_types(void) {
    const uint8_t types[] = {0x00, 0x01, 0x02, 0x80, 0x81, 0x82};
    static uint8_t label[70000], proto[300];
    for (size_t i = 0; i < sizeof label; i++) label[i] = (uint8_t)(i * 7);
    for (size_t i = 0; i < sizeof proto; i++) proto[i] = (uint8_t)(i * 3 + 1);
    const size_t llens[] = {0, 1, 255, 65535};
    static uint8_t buf[12 + 65535 + 300];
    for (size_t t = 0; t < sizeof types; t++) {
        for (size_t li = 0; li < 4; li++) {
            rtc_dcep_msg m = {.type = RTC_DCEP_OPEN, .channel_type = types[t],
                              .priority = (uint16_t)(t * 1000 + 7), .reliability = 0xfffffff0u + (uint32_t)t,
                              .label = label, .label_len = (uint16_t)llens[li],
                              .protocol = proto, .protocol_len = (uint16_t)(li * 99)};
            size_t n = sizeof buf;
            REQUIRE(rtc_dcep_encode(&m, buf, &n) == RTC_OK);
            CHECK_EQ_INT(n, rtc_dcep_encoded_size(&m));
            CHECK_EQ_INT(n, 12 + llens[li] + li * 99);
            rtc_dcep_msg p;
            REQUIRE(rtc_dcep_parse(buf, n, &p) == RTC_OK);
            CHECK_EQ_INT(p.type, RTC_DCEP_OPEN);
            CHECK_EQ_INT(p.channel_type, types[t]);
            CHECK_EQ_INT(p.priority, m.priority);
            /* reliable channels carry 0 whatever was asked (§5.1: ignored) */
            CHECK_EQ_INT(p.reliability, (types[t] & 0x7f) == 0 ? 0 : m.reliability);
            CHECK_EQ_INT(p.label_len, m.label_len);
            CHECK_EQ_INT(p.protocol_len, m.protocol_len);
            if (p.label_len) CHECK_MEM(p.label, label, p.label_len);
            if (p.protocol_len) CHECK_MEM(p.protocol, proto, p.protocol_len);
        }
    }
}

static void test_ack(void) {
    rtc_dcep_msg m = {.type = RTC_DCEP_ACK};
    uint8_t b[4];
    size_t n = sizeof b;
    REQUIRE(rtc_dcep_encode(&m, b, &n) == RTC_OK);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(b[0], 0x02);
    rtc_dcep_msg p;
    CHECK_EQ_INT(rtc_dcep_parse(b, 1, &p), RTC_OK);
    CHECK_EQ_INT(p.type, RTC_DCEP_ACK);
    /* encode into no room */
    n = 0;
    CHECK_EQ_INT(rtc_dcep_encode(&m, b, &n), RTC_ERR_TOO_SMALL);
    CHECK_EQ_INT(n, 1);
}

static void test_malformed(void) {
    uint8_t b[64];
    size_t n = test_unhex(OPEN_HEX, b, sizeof b);
    rtc_dcep_msg m;
    /* empty */
    CHECK_EQ_INT(rtc_dcep_parse(b, 0, &m), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_dcep_parse(NULL, 0, &m), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_dcep_parse(b, n, NULL), RTC_ERR_INVALID);
    /* every truncation of a valid OPEN fails, without reading past the end: copy the
    ** prefix into an exact-size heap block so ASan would catch an overread */
    for (size_t k = 1; k < n; k++) {
        uint8_t *t = malloc(k);
        REQUIRE(t);
        memcpy(t, b, k);
        CHECK_EQ_INT(rtc_dcep_parse(t, k, &m), RTC_ERR_PARSE);
        free(t);
    }
    /* label length past the end */
    uint8_t c[64];
    memcpy(c, b, n);
    c[8] = 0x00, c[9] = 0x09; /* label 9, protocol 4, only 8 bytes follow */
    CHECK_EQ_INT(rtc_dcep_parse(c, n, &m), RTC_ERR_PARSE);
    c[8] = 0xff, c[9] = 0xff;
    CHECK_EQ_INT(rtc_dcep_parse(c, n, &m), RTC_ERR_PARSE);
    /* protocol length past the end */
    memcpy(c, b, n);
    c[11] = 5;
    CHECK_EQ_INT(rtc_dcep_parse(c, n, &m), RTC_ERR_PARSE);
    /* unknown channel types */
    const uint8_t bad_ct[] = {0x03, 0x7f, 0x83, 0xff, 0x40};
    for (size_t i = 0; i < sizeof bad_ct; i++) {
        memcpy(c, b, n);
        c[1] = bad_ct[i];
        CHECK_EQ_INT(rtc_dcep_parse(c, n, &m), RTC_ERR_PARSE);
    }
    /* unknown message types: 0x00, 0x01 (reserved), 0x04.. */
    const uint8_t bad_type[] = {0x00, 0x01, 0x04, 0xff};
    for (size_t i = 0; i < sizeof bad_type; i++) {
        memcpy(c, b, n);
        c[0] = bad_type[i];
        CHECK_EQ_INT(rtc_dcep_parse(c, n, &m), RTC_ERR_UNSUPPORTED);
    }
    /* trailing bytes after the protocol are tolerated (as Chrome/pion/libdatachannel) */
    memcpy(c, b, n);
    c[n] = 0;
    c[n + 1] = 0;
    CHECK_EQ_INT(rtc_dcep_parse(c, n + 2, &m), RTC_OK);
    CHECK_EQ_INT(m.protocol_len, 4);
}

static void test_encode_errors(void) {
    uint8_t b[64];
    size_t n = sizeof b;
    rtc_dcep_msg m = {.type = 0x05};
    CHECK_EQ_INT(rtc_dcep_encode(&m, b, &n), RTC_ERR_INVALID);
    m = (rtc_dcep_msg){.type = RTC_DCEP_OPEN, .channel_type = 0x03};
    CHECK_EQ_INT(rtc_dcep_encode(&m, b, &n), RTC_ERR_INVALID);
    m = (rtc_dcep_msg){.type = RTC_DCEP_OPEN, .label_len = 3, .label = NULL};
    CHECK_EQ_INT(rtc_dcep_encode(&m, b, &n), RTC_ERR_INVALID);
    m = (rtc_dcep_msg){.type = RTC_DCEP_OPEN, .label = (const uint8_t *)"abc", .label_len = 3};
    n = 14;
    CHECK_EQ_INT(rtc_dcep_encode(&m, b, &n), RTC_ERR_TOO_SMALL);
    CHECK_EQ_INT(n, 15);
    n = 15;
    CHECK_EQ_INT(rtc_dcep_encode(&m, b, &n), RTC_OK);
    CHECK_EQ_INT(rtc_dcep_encode(&m, b, NULL), RTC_ERR_INVALID);
}

/* Every byte string of length <= 3 and many random ones: parse never crashes and
** anything that parses re-encodes to a prefix of the input. */
static void test_exhaustive_short_and_random(void) {
    uint8_t b[3];
    rtc_dcep_msg m;
    for (uint32_t v = 0; v < (1u << 24); v += 97) {
        b[0] = (uint8_t)(v >> 16), b[1] = (uint8_t)(v >> 8), b[2] = (uint8_t)v;
        for (size_t k = 0; k <= 3; k++) {
            int r = rtc_dcep_parse(b, k, &m);
            if (k == 0) CHECK_EQ_INT(r, RTC_ERR_PARSE);
            else if (b[0] == RTC_DCEP_ACK) CHECK_EQ_INT(r, RTC_OK);
            else CHECK(r == RTC_ERR_PARSE || r == RTC_ERR_UNSUPPORTED);
        }
    }
    uint64_t s = 12345;
    uint8_t rb[40], out[64];
    int ok = 0;
    for (int i = 0; i < 200000; i++) {
        size_t len = (size_t)(s % 41);
        for (size_t j = 0; j < len; j++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            rb[j] = (uint8_t)(s >> 40);
        }
        if (len > 0 && (s & 1)) rb[0] = RTC_DCEP_OPEN;
        if (len > 11 && (s & 2)) rb[8] = 0, rb[10] = 0, rb[1] &= 0x82;
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        if (rtc_dcep_parse(rb, len, &m) == RTC_OK) {
            size_t on = sizeof out;
            REQUIRE(rtc_dcep_encode(&m, out, &on) == RTC_OK);
            CHECK(on <= len);
            if ((m.channel_type & 0x7f) != 0) CHECK_MEM(out, rb, on);
            ok++;
        }
    }
    CHECK(ok > 100); /* the generator does reach valid messages */
}

int main(void) {
    RUN(test_parse_known_open);
    RUN(test_roundtrip_all_types);
    RUN(test_ack);
    RUN(test_malformed);
    RUN(test_encode_errors);
    RUN(test_exhaustive_short_and_random);
    return TEST_DONE();
}
