/*
** SDP parser edge cases: malformed input (every error carries its line number), bounds,
** leniencies (LF, blank lines, missing final newline), typed accessors on bad values,
** allocation failure at every allocation, and seeded random mutations of corpus files.
*/
#include "sdp_test_util.h"
#include "test.h"

#define MIN_HEAD "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"

static int parse_str(rtc_sdp *s, const char *text) { return rtc_sdp_parse(s, text, strlen(text)); }

/* Expect RTC_ERR_PARSE with "line <n>:" at the start of the detail. */
static void expect_fail(const char *text, size_t len, int line, const char *what) {
    rtc_sdp *s;
    REQUIRE(rtc_sdp_new(&s, NULL) == RTC_OK);
    int rc = rtc_sdp_parse(s, text, len);
    CHECK_EQ_INT(rc, RTC_ERR_PARSE);
    char want[32];
    snprintf(want, sizeof want, "line %d:", line);
    if (strncmp(rtc_sdp_error(s), want, strlen(want)) != 0 ||
        (what && !strstr(rtc_sdp_error(s), what))) {
        rtc_test_failures++;
        fprintf(stderr, "  detail \"%s\", wanted \"%s ...%s\"\n", rtc_sdp_error(s), want,
                what ? what : "");
    }
    rtc_sdp_free(s);
}
#define FAILS(lit, line, what) expect_fail((lit), sizeof(lit) - 1, (line), (what))

static void test_malformed_structure(void) {
    FAILS("", 0, "empty");
    FAILS("\r\n\r\n", 2, "empty");
    FAILS("v=1\r\n", 1, "v=0");
    FAILS("o=- 1 2 IN IP4 1.2.3.4\r\nv=0\r\n", 1, "v=0");
    FAILS("v=0\r\ns=-\r\n", 2, "missing o=");
    FAILS("v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\n", 2, "missing s=");
    FAILS("v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\no=- 1 2 IN IP4 1.2.3.4\r\n", 3, "duplicate o=");
    FAILS("v=0\r\nv=0\r\n", 2, "duplicate v=");
    FAILS(MIN_HEAD "s=x\r\n", 5, "duplicate s=");
    FAILS("v=0\r\no=- 1 2 IN IP4\r\ns=-\r\n", 2, "6 fields");
    FAILS("v=0\r\no=- x 2 IN IP4 1.2.3.4\r\ns=-\r\n", 2, "digits");
    FAILS("v=0\r\no=- 1 2 IN IP4 1.2.3.4 extra\r\ns=-\r\n", 2, "6 fields");
    FAILS("v=0\r\nm=audio 9 RTP/AVP 0\r\n", 2, "before the o=");
    FAILS(MIN_HEAD "x=unknown\r\n", 5, "unknown line type");
    FAILS(MIN_HEAD "A=upper\r\n", 5, "expected");
    FAILS(MIN_HEAD "a\r\n", 5, "expected");
    FAILS(MIN_HEAD " a=leading-space\r\n", 5, "expected");
    FAILS(MIN_HEAD "m=audio 9 RTP/AVP 0\r\nt=0 0\r\n", 6, "not allowed in a media");
    FAILS(MIN_HEAD "m=audio 9 RTP/AVP 0\r\ns=x\r\n", 6, "not allowed in a media");
    FAILS(MIN_HEAD "m=audio 9 RTP/AVP 0\r\no=- 1 2 IN IP4 1.2.3.4\r\n", 6, "not allowed");
}

static void test_malformed_lines(void) {
    FAILS(MIN_HEAD "m=audio\r\n", 5, "m= line needs");
    FAILS(MIN_HEAD "m=audio 9\r\n", 5, "m= line needs");
    FAILS(MIN_HEAD "m=audio 9 RTP/AVP\r\n", 5, "at least one fmt");
    FAILS(MIN_HEAD "m=audio 9 RTP/AVP   \r\n", 5, "at least one fmt");
    FAILS(MIN_HEAD "m=audio 70000 RTP/AVP 0\r\n", 5, "bad port");
    FAILS(MIN_HEAD "m=audio -1 RTP/AVP 0\r\n", 5, "bad port");
    FAILS(MIN_HEAD "m=audio x RTP/AVP 0\r\n", 5, "bad port");
    FAILS(MIN_HEAD "m=audio 9/0 RTP/AVP 0\r\n", 5, "number of ports");
    FAILS(MIN_HEAD "m=audio 9/ RTP/AVP 0\r\n", 5, "number of ports");
    FAILS(MIN_HEAD "m=au\"dio 9 RTP/AVP 0\r\n", 5, "media type");
    FAILS(MIN_HEAD "m=audio 9 RTP/(AVP) 0\r\n", 5, "bad proto");
    FAILS(MIN_HEAD "c=IN IP4\r\n", 5, "3 fields");
    FAILS(MIN_HEAD "c=IN IP4 1.2.3.4 x\r\n", 5, "3 fields");
    FAILS(MIN_HEAD "b=AS\r\n", 5, "b= line");
    FAILS(MIN_HEAD "b=AS:x\r\n", 5, "bad bandwidth");
    FAILS(MIN_HEAD "b=:30\r\n", 5, "bandwidth type");
    FAILS(MIN_HEAD "b=AS:99999999999999999999999\r\n", 5, "bad bandwidth");
    FAILS("v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\nt=0\r\n", 4, "t= line");
    FAILS("v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\nt=now 0\r\n", 4, "t= line");
    FAILS(MIN_HEAD "a=\r\n", 5, "attribute name");
    FAILS(MIN_HEAD "a=:value\r\n", 5, "attribute name");
    FAILS(MIN_HEAD "a=two words\r\n", 5, "attribute name");
    FAILS(MIN_HEAD "a=ok\r\na=x(y):z\r\n", 6, "attribute name");
    /* truncation in the middle of a line type */
    FAILS(MIN_HEAD "m", 5, "expected");
    FAILS(MIN_HEAD "m=", 5, "m= line needs");
}

static void test_bad_bytes(void) {
    static const char nul[] = MIN_HEAD "a=foo:b\0r\r\n";
    expect_fail(nul, sizeof nul - 1, 5, "NUL");
    static const char nul_line[] = MIN_HEAD "\0\r\n";
    expect_fail(nul_line, sizeof nul_line - 1, 5, "NUL");
    FAILS(MIN_HEAD "a=foo\rbar\r\n", 5, "CR inside");
    FAILS(MIN_HEAD "a=foo\r\r\n", 5, "CR inside");
    /* high bytes (UTF-8) in values are fine */
    rtc_sdp *s;
    REQUIRE(rtc_sdp_new(&s, NULL) == RTC_OK);
    CHECK_EQ_INT(parse_str(s, "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=S\xc3\xa9\x61nce\r\n"), RTC_OK);
    CHECK_STR(rtc_sdp_session_name(s), "S\xc3\xa9\x61nce");
    rtc_sdp_free(s);
}

static void test_bounds(void) {
    rtc_sdp *s;
    REQUIRE(rtc_sdp_new(&s, NULL) == RTC_OK);
    rtc_sdp_limits lim = {64, 10, 2, 0};
    rtc_sdp_set_limits(s, &lim);
    char text[1024];
    /* a line of exactly 64 bytes passes, 65 fails (with CRLF, LF or at the end of input) */
    char val[80];
    memset(val, 'x', sizeof val);
    for (int endings = 0; endings < 3; endings++) {
        for (int extra = 0; extra <= 1; extra++) {
            int n = 64 - 2 - 4 + extra; /* "a=" + "abc:" */
            const char *eol = endings == 0 ? "\r\n" : endings == 1 ? "\n" : "";
            snprintf(text, sizeof text, MIN_HEAD "a=abc:%.*s%s", n, val, eol);
            int rc = parse_str(s, text);
            CHECK_EQ_INT(rc, extra ? RTC_ERR_PARSE : RTC_OK);
            if (extra) CHECK(strstr(rtc_sdp_error(s), "line 5: line longer than 64") != NULL);
        }
    }
    /* a huge line is rejected after looking at max_line_len + 2 bytes */
    size_t huge = 900 * 1024; /* under the 1 MiB input cap */
    char *big = malloc(huge + 64);
    REQUIRE(big);
    strcpy(big, MIN_HEAD "a=");
    size_t h = strlen(big);
    memset(big + h, 'y', huge);
    CHECK_EQ_INT(rtc_sdp_parse(s, big, h + huge), RTC_ERR_PARSE);
    CHECK(strstr(rtc_sdp_error(s), "line 5:") != NULL);
    rtc_sdp_set_limits(s, NULL); /* defaults: 4096 */
    CHECK_EQ_INT(rtc_sdp_parse(s, big, h + huge), RTC_ERR_PARSE);
    CHECK(strstr(rtc_sdp_error(s), "longer than 4096") != NULL);
    free(big);
    rtc_sdp_set_limits(s, &lim);

    /* 10 lines pass, 11 fail; blank lines do not count */
    snprintf(text, sizeof text, MIN_HEAD "a=1\r\n\r\na=2\r\na=3\r\na=4\r\na=5\r\na=6\r\n");
    CHECK_EQ_INT(parse_str(s, text), RTC_OK);
    snprintf(text, sizeof text, MIN_HEAD "a=1\r\na=2\r\na=3\r\na=4\r\na=5\r\na=6\r\na=7\r\n");
    CHECK_EQ_INT(parse_str(s, text), RTC_ERR_PARSE);
    CHECK(strstr(rtc_sdp_error(s), "line 11: more than 10 lines") != NULL);

    /* 2 media sections pass, 3 fail */
    snprintf(text, sizeof text, MIN_HEAD "m=audio 9 RTP/AVP 0\r\nm=video 9 RTP/AVP 96\r\n");
    CHECK_EQ_INT(parse_str(s, text), RTC_OK);
    snprintf(text, sizeof text,
             MIN_HEAD "m=audio 9 RTP/AVP 0\r\nm=video 9 RTP/AVP 96\r\nm=text 9 RTP/AVP 98\r\n");
    CHECK_EQ_INT(parse_str(s, text), RTC_ERR_PARSE);
    CHECK(strstr(rtc_sdp_error(s), "line 7: more than 2 media") != NULL);

    /* the whole input is capped too */
    rtc_sdp_limits cap_lim = {0, 0, 0, 57};
    rtc_sdp_set_limits(s, &cap_lim);
    snprintf(text, sizeof text, MIN_HEAD "a=0123456789\r\n");
    CHECK_EQ_INT(strlen(text), 57);
    CHECK_EQ_INT(parse_str(s, text), RTC_OK);
    snprintf(text, sizeof text, MIN_HEAD "a=01234567890\r\n");
    CHECK_EQ_INT(parse_str(s, text), RTC_ERR_PARSE);
    CHECK(strstr(rtc_sdp_error(s), "58 bytes exceeds 57") != NULL);

    big = malloc(RTC_SDP_DEFAULT_MAX_SIZE + 1);
    REQUIRE(big);
    memset(big, '\n', RTC_SDP_DEFAULT_MAX_SIZE + 1);
    memcpy(big, MIN_HEAD, strlen(MIN_HEAD));
    rtc_sdp_set_limits(s, NULL);
    CHECK_EQ_INT(rtc_sdp_parse(s, big, RTC_SDP_DEFAULT_MAX_SIZE), RTC_OK); /* blank lines */
    CHECK_EQ_INT(rtc_sdp_parse(s, big, RTC_SDP_DEFAULT_MAX_SIZE + 1), RTC_ERR_PARSE);
    free(big);

    /* many lines with the default limits: 8192 pass, 8193 fail */
    rtc_sdp_set_limits(s, NULL);
    size_t cap = 8200 * 8 + 128, n;
    char *many = malloc(cap);
    REQUIRE(many);
    for (int total = 8192; total <= 8193; total++) {
        n = (size_t)snprintf(many, cap, MIN_HEAD);
        for (int i = 4; i < total; i++) n += (size_t)snprintf(many + n, cap - n, "a=x:%d\n", i % 10);
        CHECK_EQ_INT(rtc_sdp_parse(s, many, n), total == 8192 ? RTC_OK : RTC_ERR_PARSE);
    }
    CHECK_EQ_INT(rtc_sdp_attr_count(s, RTC_SDP_SESSION), 8192 - 4);
    free(many);
    rtc_sdp_free(s);
}

static void test_failure_keeps_content(void) {
    rtc_sdp *s;
    REQUIRE(rtc_sdp_new(&s, NULL) == RTC_OK);
    CHECK_EQ_INT(parse_str(s, MIN_HEAD "a=keep:me\r\nm=audio 9 RTP/AVP 0\r\n"), RTC_OK);
    CHECK_STR(rtc_sdp_error(s), "");
    CHECK_EQ_INT(parse_str(s, MIN_HEAD "a=other\r\nm=audio 9\r\n"), RTC_ERR_PARSE);
    CHECK_STR(rtc_sdp_attr_value(s, RTC_SDP_SESSION, "keep"), "me");
    CHECK_EQ_INT(rtc_sdp_media_count(s), 1);
    CHECK(rtc_sdp_attr_value(s, RTC_SDP_SESSION, "other") == NULL);
    CHECK(strlen(rtc_sdp_error(s)) > 0);
    CHECK_EQ_INT(rtc_sdp_parse(NULL, "v=0", 3), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sdp_parse(s, NULL, 3), RTC_ERR_INVALID);
    rtc_sdp_free(s);
    rtc_sdp_free(NULL);
}

static void test_leniencies(void) {
    rtc_sdp *s;
    REQUIRE(rtc_sdp_new(&s, NULL) == RTC_OK);
    /* LF only, blank lines, no final newline, no t=, several spaces between fields */
    const char *in = "v=0\no=-  7 8 IN IP6 ::1\n\ns=-\n\n"
                     "m=audio  9  RTP/AVP  0 8\na=rtcp-mux\na=empty:";
    CHECK_EQ_INT(parse_str(s, in), RTC_OK);
    char *out = sdp_text(s);
    REQUIRE(out);
    CHECK_STR(out, "v=0\r\no=- 7 8 IN IP6 ::1\r\ns=-\r\nm=audio 9 RTP/AVP 0 8\r\n"
                   "a=rtcp-mux\r\na=empty:\r\n");
    /* a=empty: has an empty value, a=rtcp-mux none: both kept apart */
    CHECK_STR(rtc_sdp_attr_value(s, 0, "empty"), "");
    CHECK_STR(rtc_sdp_attr_value(s, 0, "rtcp-mux"), "");
    rtc_sdp_attr a;
    REQUIRE(rtc_sdp_get_attr(s, 0, 0, &a) == RTC_OK);
    CHECK(a.value == NULL);
    REQUIRE(rtc_sdp_get_attr(s, 0, 1, &a) == RTC_OK);
    CHECK(a.value != NULL && a.value[0] == 0);
    free(out);
    /* all RFC 8866 line types in a shuffled order come out in RFC order, verbatim */
    in = "v=0\r\no=jdoe 2890844526 2890842807 IN IP4 10.47.16.5\r\ns=SDP Seminar\r\n"
         "a=recvonly\r\nk=clear:x\r\nt=2873397496 2873404696\r\nr=7d 1h 0 25h\r\n"
         "z=2882844526 -1h\r\ni=A Seminar\r\nu=http://www.example.com/seminars/sdp.pdf\r\n"
         "e=j.doe@example.com (Jane Doe)\r\np=+1 617 555-6011\r\nc=IN IP4 224.2.17.12/127\r\n"
         "b=CT:128\r\nt=0 0\r\n"
         "m=audio 49170/2 RTP/AVP 0\r\na=x\r\nk=prompt\r\nb=AS:64\r\ni=audio\r\n"
         "c=IN IP4 224.2.17.13/127\r\n";
    CHECK_EQ_INT(parse_str(s, in), RTC_OK);
    out = sdp_text(s);
    REQUIRE(out);
    CHECK_STR(out, "v=0\r\no=jdoe 2890844526 2890842807 IN IP4 10.47.16.5\r\ns=SDP Seminar\r\n"
                   "i=A Seminar\r\nu=http://www.example.com/seminars/sdp.pdf\r\n"
                   "e=j.doe@example.com (Jane Doe)\r\np=+1 617 555-6011\r\n"
                   "c=IN IP4 224.2.17.12/127\r\nb=CT:128\r\nt=2873397496 2873404696\r\n"
                   "r=7d 1h 0 25h\r\nt=0 0\r\nz=2882844526 -1h\r\nk=clear:x\r\na=recvonly\r\n"
                   "m=audio 49170/2 RTP/AVP 0\r\ni=audio\r\nc=IN IP4 224.2.17.13/127\r\n"
                   "b=AS:64\r\nk=prompt\r\na=x\r\n");
    rtc_sdp_media md;
    REQUIRE(rtc_sdp_get_media(s, 0, &md) == RTC_OK);
    CHECK_EQ_INT(md.port, 49170);
    CHECK_EQ_INT(md.num_ports, 2);
    uint64_t bw;
    CHECK_EQ_INT(rtc_sdp_get_bandwidth(s, RTC_SDP_SESSION, "CT", &bw), RTC_OK);
    CHECK_EQ_INT(bw, 128);
    CHECK_EQ_INT(rtc_sdp_get_bandwidth(s, 0, "AS", &bw), RTC_OK);
    CHECK_EQ_INT(bw, 64);
    CHECK_EQ_INT(rtc_sdp_get_bandwidth(s, 0, "TIAS", &bw), RTC_ERR_NOT_FOUND);
    rtc_sdp_conn c;
    CHECK_EQ_INT(rtc_sdp_get_connection(s, 0, &c), RTC_OK);
    CHECK_STR(c.address, "224.2.17.13/127");
    CHECK_EQ_INT(rtc_sdp_direction_get(s, 0), RTC_SDP_RECVONLY); /* session fallback */
    /* idempotent: a second round gives the same text */
    rtc_sdp *s2;
    REQUIRE(rtc_sdp_new(&s2, NULL) == RTC_OK);
    CHECK_EQ_INT(parse_str(s2, out), RTC_OK);
    char *out2 = sdp_text(s2);
    CHECK(out2 && strcmp(out, out2) == 0);
    free(out2);
    free(out);
    rtc_sdp_free(s2);
    rtc_sdp_free(s);
}

static void test_bad_attribute_values(void) {
    rtc_sdp *s;
    REQUIRE(rtc_sdp_new(&s, NULL) == RTC_OK);
    const char *in = MIN_HEAD
        "a=group:BUNDLE\r\n"
        "a=fingerprint:sha-256 AB:CD\r\n"                /* too short for sha-256 */
        "a=fingerprint:sha-1 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:0\r\n"
        "a=fingerprint:foo-hash 0A:0b\r\n"               /* unknown hash: any length */
        "a=fingerprint:sha-256\r\n"
        "a=fingerprint:sha-1 AB-CD-EF-01-23-45-67-89-AB-CD-EF-01-23-45-67-89-AB-CD-EF-01\r\n"
        "a=setup:sideways\r\n"
        "a=ice-options:trickle renomination x-custom\r\n"
        "m=audio 9 RTP/AVP 96 97 98\r\n"
        "a=rtpmap:96 opus/48000/2\r\n"
        "a=rtpmap:97 nope\r\n"
        "a=fmtp:96 a=1; B = 2 ;c\r\n"
        "a=rtcp-fb:* nack\r\n"
        "a=rtcp-fb:200 nack\r\n"
        "a=extmap:0 urn:x\r\n"
        "a=extmap:15/sendonly urn:y attr1 attr2\r\n"
        "a=extmap:3/sideways urn:z\r\n"
        "a=ssrc:4294967296 cname:x\r\n"
        "a=ssrc:42\r\n"
        "a=ssrc-group:FID 1 x\r\n"
        "a=msid:a b c\r\n"
        "a=sctp-port:70000\r\n"
        "a=max-message-size:-1\r\n"
        "a=setup:ACTIVE\r\n";
    REQUIRE(parse_str(s, in) == RTC_OK);
    rtc_sdp_group g;
    CHECK_EQ_INT(rtc_sdp_group_get(s, 0, &g), RTC_OK);
    CHECK_EQ_INT(g.count, 0);
    rtc_sdp_fingerprint fp;
    CHECK_EQ_INT(rtc_sdp_fingerprint_get(s, RTC_SDP_SESSION, 0, &fp), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_sdp_fingerprint_get(s, RTC_SDP_SESSION, 1, &fp), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_sdp_fingerprint_get(s, RTC_SDP_SESSION, 2, &fp), RTC_OK);
    CHECK_STR(fp.hash, "foo-hash");
    CHECK_EQ_INT(fp.len, 2);
    CHECK_EQ_INT(fp.value[1], 0x0b);
    CHECK_EQ_INT(rtc_sdp_fingerprint_get(s, RTC_SDP_SESSION, 3, &fp), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_sdp_fingerprint_get(s, RTC_SDP_SESSION, 4, &fp), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_sdp_fingerprint_get(s, RTC_SDP_SESSION, 5, &fp), RTC_ERR_NOT_FOUND);
    rtc_sdp_setup setup;
    CHECK_EQ_INT(rtc_sdp_setup_get(s, RTC_SDP_SESSION, &setup), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_sdp_setup_get(s, 0, &setup), RTC_OK); /* case-insensitive */
    CHECK_EQ_INT(setup, RTC_SDP_SETUP_ACTIVE);
    CHECK_EQ_INT(rtc_sdp_ice_options(s, RTC_SDP_SESSION),
                 RTC_SDP_ICE_OPT_TRICKLE | RTC_SDP_ICE_OPT_RENOMINATION | RTC_SDP_ICE_OPT_OTHER);
    rtc_sdp_transport t;
    CHECK_EQ_INT(rtc_sdp_transport_get(s, 0, &t), RTC_ERR_PARSE); /* bad session fingerprint */
    rtc_sdp_rtpmap rm;
    CHECK_EQ_INT(rtc_sdp_rtpmap_find(s, 0, 96, &rm), RTC_OK);
    CHECK_EQ_INT(rtc_sdp_rtpmap_find(s, 0, 97, &rm), RTC_ERR_PARSE);
    rtc_sdp_str params, v;
    REQUIRE(rtc_sdp_fmtp_find(s, 0, 96, &params) == RTC_OK);
    CHECK_EQ_INT(rtc_sdp_fmtp_param(params, "b", &v), RTC_OK);
    CHECK(v.len == 1 && v.p[0] == '2');
    CHECK_EQ_INT(rtc_sdp_fmtp_param(params, "c", &v), RTC_OK);
    CHECK_EQ_INT(v.len, 0);
    CHECK_EQ_INT(rtc_sdp_fmtp_param(params, "d", &v), RTC_ERR_NOT_FOUND);
    rtc_sdp_rtcp_fb fb;
    CHECK_EQ_INT(rtc_sdp_rtcp_fb_get(s, 0, 0, &fb), RTC_OK);
    CHECK_EQ_INT(fb.pt, -1);
    CHECK_EQ_INT(rtc_sdp_rtcp_fb_get(s, 0, 1, &fb), RTC_ERR_PARSE);
    rtc_sdp_extmap ex;
    CHECK_EQ_INT(rtc_sdp_extmap_get(s, 0, 0, &ex), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_sdp_extmap_get(s, 0, 1, &ex), RTC_OK);
    CHECK_EQ_INT(ex.id, 15);
    CHECK_EQ_INT(ex.direction, RTC_SDP_SENDONLY);
    CHECK(ex.attributes.len == 11 && memcmp(ex.attributes.p, "attr1 attr2", 11) == 0);
    CHECK_EQ_INT(rtc_sdp_extmap_get(s, 0, 2, &ex), RTC_ERR_PARSE);
    rtc_sdp_ssrc ss;
    CHECK_EQ_INT(rtc_sdp_ssrc_get(s, 0, 0, &ss), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_sdp_ssrc_get(s, 0, 1, &ss), RTC_OK);
    CHECK_EQ_INT(ss.ssrc, 42);
    CHECK_EQ_INT(ss.attribute.len, 0);
    rtc_sdp_ssrc_group sg;
    CHECK_EQ_INT(rtc_sdp_ssrc_group_get(s, 0, 0, &sg), RTC_ERR_PARSE);
    rtc_sdp_msid ms;
    CHECK_EQ_INT(rtc_sdp_msid_get(s, 0, 0, &ms), RTC_ERR_PARSE);
    uint16_t port;
    CHECK_EQ_INT(rtc_sdp_sctp_port(s, 0, &port), RTC_ERR_PARSE);
    uint64_t mms;
    CHECK_EQ_INT(rtc_sdp_max_message_size(s, 0, &mms), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_sdp_sctp_port(s, RTC_SDP_SESSION, &port), RTC_ERR_INVALID);
    /* bad indexes */
    CHECK_EQ_INT(rtc_sdp_attr_count(s, 5), 0);
    CHECK_EQ_INT(rtc_sdp_attr_count(s, -2), 0);
    rtc_sdp_attr a;
    CHECK_EQ_INT(rtc_sdp_get_attr(s, 0, 999, &a), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sdp_transport_get(s, 1, &t), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sdp_bundle_owner(s, -1), RTC_ERR_INVALID);
    rtc_sdp_media md;
    CHECK_EQ_INT(rtc_sdp_get_media(s, RTC_SDP_SESSION, &md), RTC_ERR_INVALID);
    CHECK(rtc_sdp_ice_ufrag(s, 7) == NULL);
    rtc_sdp_free(s);
}

static void test_datachannel_variants(void) {
    rtc_sdp *s;
    REQUIRE(rtc_sdp_new(&s, NULL) == RTC_OK);
    rtc_sdp_datachannel dc;
    /* max-message-size 0 means unlimited; sctp-port absent means 5000 */
    CHECK_EQ_INT(parse_str(s, MIN_HEAD "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
                                       "a=max-message-size:0\r\n"),
                 RTC_OK);
    REQUIRE(rtc_sdp_datachannel_find(s, &dc) == RTC_OK);
    CHECK_EQ_INT(dc.max_message_size, 0);
    CHECK_EQ_INT(dc.sctp_port, 5000);
    /* TCP/DTLS/SCTP too; a rejected section is reported as such */
    CHECK_EQ_INT(parse_str(s, MIN_HEAD "m=audio 9 RTP/AVP 0\r\n"
                                       "m=application 0 TCP/DTLS/SCTP webrtc-datachannel\r\n"
                                       "a=sctp-port:5001\r\n"),
                 RTC_OK);
    REQUIRE(rtc_sdp_datachannel_find(s, &dc) == RTC_OK);
    CHECK_EQ_INT(dc.m, 1);
    CHECK_EQ_INT(dc.sctp_port, 5001);
    CHECK(dc.rejected);
    /* legacy with a different port in the fmt and no sctpmap port match */
    CHECK_EQ_INT(parse_str(s, MIN_HEAD "m=application 9 DTLS/SCTP 5002\r\n"
                                       "a=sctpmap:5002 webrtc-datachannel 1024\r\n"),
                 RTC_OK);
    REQUIRE(rtc_sdp_datachannel_find(s, &dc) == RTC_OK);
    CHECK(dc.legacy);
    CHECK_EQ_INT(dc.sctp_port, 5002);
    /* not data channels: other application protocols */
    CHECK_EQ_INT(parse_str(s, MIN_HEAD "m=application 9 DTLS/SCTP 5000\r\n"
                                       "a=sctpmap:5000 t38 1\r\n"
                                       "m=application 9 UDP/BFCP *\r\n"),
                 RTC_OK);
    CHECK_EQ_INT(rtc_sdp_datachannel_find(s, &dc), RTC_ERR_NOT_FOUND);
    rtc_sdp_free(s);
}

static void test_bundle(void) {
    rtc_sdp *s;
    REQUIRE(rtc_sdp_new(&s, NULL) == RTC_OK);
    /* the tag (first mid) is rejected: the next usable one owns the group (RFC 9143 §7.3.3);
    ** a section outside any group owns itself; an unknown mid in the group is skipped */
    CHECK_EQ_INT(parse_str(s, MIN_HEAD "a=group:BUNDLE zz a b c\r\na=group:LS a b\r\n"
                                       "m=audio 0 RTP/AVP 0\r\na=mid:a\r\n"
                                       "m=audio 9 RTP/AVP 0\r\na=mid:b\r\n"
                                       "m=audio 0 RTP/AVP 0\r\na=mid:c\r\na=bundle-only\r\n"
                                       "m=audio 9 RTP/AVP 0\r\na=mid:d\r\n"
                                       "m=audio 9 RTP/AVP 0\r\n"),
                 RTC_OK);
    CHECK_EQ_INT(rtc_sdp_bundle_owner(s, 0), 0); /* rejected: itself */
    CHECK_EQ_INT(rtc_sdp_bundle_owner(s, 1), 1);
    CHECK_EQ_INT(rtc_sdp_bundle_owner(s, 2), 1);
    CHECK_EQ_INT(rtc_sdp_bundle_owner(s, 3), 3);
    CHECK_EQ_INT(rtc_sdp_bundle_owner(s, 4), 4); /* no mid */
    rtc_sdp_transport t;
    REQUIRE(rtc_sdp_transport_get(s, 0, &t) == RTC_OK);
    CHECK(t.rejected);
    REQUIRE(rtc_sdp_transport_get(s, 2, &t) == RTC_OK);
    CHECK(!t.rejected && t.bundle_only);
    CHECK(!t.ice_lite);
    CHECK_EQ_INT(parse_str(s, MIN_HEAD "a=ice-lite\r\nm=audio 9 RTP/AVP 0\r\n"), RTC_OK);
    REQUIRE(rtc_sdp_transport_get(s, 0, &t) == RTC_OK);
    CHECK(t.ice_lite);
    rtc_sdp_free(s);
}

/* Every allocation of a parse fails once in turn: NOMEM, no leak, object still usable. */
static void test_alloc_failures(void) {
    size_t len;
    char *text = sdp_load("chromium-av-dc-offer.sdp", &len);
    REQUIRE(text);
    count_alloc ca = {0, 0, -1};
    rtc_env env = {0};
    env.realloc = count_realloc;
    env.ud = &ca;
    long total = -1;
    for (long k = 0; k < 20000; k++) {
        ca.allocs = 0;
        ca.fail_at = -1;
        rtc_sdp *s = NULL;
        if (rtc_sdp_new(&s, &env) != RTC_OK) {
            rtc_test_failures++;
            break;
        }
        REQUIRE(rtc_sdp_parse(s, MIN_HEAD "a=before\r\n", strlen(MIN_HEAD "a=before\r\n")) == 0);
        ca.allocs = 0;
        ca.fail_at = k;
        int rc = rtc_sdp_parse(s, text, len);
        ca.fail_at = -1;
        if (rc == RTC_OK) {
            total = k;
            rtc_sdp_free(s);
            break;
        }
        CHECK_EQ_INT(rc, RTC_ERR_NOMEM);
        CHECK(rtc_sdp_has_attr(s, RTC_SDP_SESSION, "before"));
        rtc_sdp_free(s);
        CHECK_EQ_INT(ca.outstanding, 0);
        if (ca.outstanding != 0) break;
    }
    CHECK(total > 300); /* one or two strings per line, ~160 lines */
    CHECK_EQ_INT(ca.outstanding, 0);
    fprintf(stderr, "  parse of chromium-av-dc-offer.sdp: %ld allocations\n", total);
    free(text);
}

/* Seeded byte mutations of corpus files: never a crash; whatever parses re-serializes to text
** that parses to the same structure and the same text (idempotence after one round). */
static void test_mutations(void) {
    static const char *files[] = {"chromium-dc-offer.sdp", "firefox-av-dc-offer.sdp",
                                  "aiortc-av-dc-offer.sdp", "gstreamer-av-dc-offer.sdp"};
    static const char alphabet[] = "\r\n \0=:/amvocstbkxz09-AZ*\xff";
    uint64_t x = 0x9e3779b97f4a7c15ull;
    int parsed = 0, rejected = 0;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        size_t len;
        char *orig = sdp_load(files[f], &len);
        REQUIRE(orig);
        char *buf = malloc(len + 64);
        REQUIRE(buf);
        for (int iter = 0; iter < 400; iter++) {
            memcpy(buf, orig, len);
            size_t n = len;
            int edits = 1 + (int)(x % 4);
            for (int e = 0; e < edits; e++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                size_t pos = (size_t)(x >> 8) % n;
                char c = alphabet[(x >> 40) % (sizeof alphabet - 1)];
                switch (x % 3) {
                case 0: buf[pos] = c; break;                           /* replace */
                case 1: memmove(buf + pos, buf + pos + 1, n - pos - 1); n--; break; /* delete */
                default: n = pos + (size_t)((x >> 20) % (n - pos));    /* truncate */
                }
                if (n == 0) break;
            }
            rtc_sdp *s, *s2;
            REQUIRE(rtc_sdp_new(&s, NULL) == RTC_OK);
            REQUIRE(rtc_sdp_new(&s2, NULL) == RTC_OK);
            if (rtc_sdp_parse(s, buf, n) == RTC_OK) {
                parsed++;
                char *t1 = sdp_text(s);
                REQUIRE(t1);
                CHECK_EQ_INT(rtc_sdp_parse(s2, t1, strlen(t1)), RTC_OK);
                CHECK(sdp_same(s, s2));
                char *t2 = sdp_text(s2);
                CHECK(t2 && strcmp(t1, t2) == 0);
                for (int m = 0; m < (int)rtc_sdp_media_count(s); m++) {
                    rtc_sdp_transport t;
                    (void)rtc_sdp_transport_get(s, m, &t);
                }
                free(t1);
                free(t2);
            } else {
                rejected++;
                CHECK(strncmp(rtc_sdp_error(s), "line ", 5) == 0);
            }
            rtc_sdp_free(s);
            rtc_sdp_free(s2);
        }
        free(buf);
        free(orig);
    }
    fprintf(stderr, "  mutations: %d parsed, %d rejected\n", parsed, rejected);
    CHECK(parsed > 100 && rejected > 100);
}

int main(void) {
    RUN(test_malformed_structure);
    RUN(test_malformed_lines);
    RUN(test_bad_bytes);
    RUN(test_bounds);
    RUN(test_failure_keeps_content);
    RUN(test_leniencies);
    RUN(test_bad_attribute_values);
    RUN(test_datachannel_variants);
    RUN(test_bundle);
    RUN(test_alloc_failures);
    RUN(test_mutations);
    return TEST_DONE();
}
