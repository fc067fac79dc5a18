/*
** The builder: construct offers and answers programmatically, check the exact text, read the
** result back through the JSEP view, and check argument validation and bounds.
*/
#include "sdp_test_util.h"
#include "test.h"

static const char want_offer[] =
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0 1\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "b=AS:64\r\n"
    "a=ice-ufrag:abcd\r\n"
    "a=ice-pwd:0123456789abcdefghijkl\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
    "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=sendrecv\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:abcd\r\n"
    "a=ice-pwd:0123456789abcdefghijkl\r\n"
    "a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
    "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n"
    "a=setup:actpass\r\n"
    "a=mid:1\r\n"
    "a=sctp-port:5000\r\n"
    "a=max-message-size:262144\r\n";

static int build_offer(rtc_sdp *s) {
    rtc_sdp_fingerprint fp = {"sha-256", 32, {0}};
    for (int i = 0; i < 32; i++) fp.value[i] = (uint8_t)((i % 16) * 0x11);
    int rc = rtc_sdp_set_origin(s, NULL, 4611731400430051336ull, 2, NULL);
    rc = rc ? rc : rtc_sdp_add_attr(s, RTC_SDP_SESSION, "group", "BUNDLE 0 1");
    rc = rc ? rc : rtc_sdp_add_attr(s, RTC_SDP_SESSION, "extmap-allow-mixed", NULL);
    rc = rc ? rc : rtc_sdp_add_attr(s, RTC_SDP_SESSION, "msid-semantic", " WMS");
    int a = rtc_sdp_add_media(s, "audio", 9, "UDP/TLS/RTP/SAVPF", "111 0");
    if (a != 0) return a < 0 ? a : -100;
    int d = rtc_sdp_add_media(s, "application", 9, "UDP/DTLS/SCTP", "webrtc-datachannel");
    if (d != 1) return d < 0 ? d : -101;
    for (int m = 0; m < 2 && !rc; m++) {
        rc = rtc_sdp_set_connection(s, m, "0.0.0.0");
        if (m == 0) rc = rc ? rc : rtc_sdp_add_bandwidth(s, m, "AS", 64);
        rc = rc ? rc : rtc_sdp_add_attr(s, m, "ice-ufrag", "abcd");
        rc = rc ? rc : rtc_sdp_add_attr(s, m, "ice-pwd", "0123456789abcdefghijkl");
        if (m == 0) rc = rc ? rc : rtc_sdp_add_attr(s, m, "ice-options", "trickle");
        rc = rc ? rc : rtc_sdp_add_fingerprint(s, m, &fp);
        rc = rc ? rc : rtc_sdp_add_setup(s, m, RTC_SDP_SETUP_ACTPASS);
        rc = rc ? rc : rtc_sdp_add_attrf(s, m, "mid", "%d", m);
    }
    rc = rc ? rc : rtc_sdp_add_direction(s, 0, RTC_SDP_SENDRECV);
    rc = rc ? rc : rtc_sdp_add_attr(s, 0, "rtcp-mux", NULL);
    rc = rc ? rc : rtc_sdp_add_rtpmap(s, 0, 111, "opus", 48000, 2);
    rc = rc ? rc : rtc_sdp_add_attrf(s, 0, "fmtp", "%u minptime=10;useinbandfec=1", 111u);
    rc = rc ? rc : rtc_sdp_add_rtpmap(s, 0, 0, "PCMU", 8000, 0);
    rc = rc ? rc : rtc_sdp_add_attr(s, 1, "sctp-port", "5000");
    rc = rc ? rc : rtc_sdp_add_attrf(s, 1, "max-message-size", "%u", 262144u);
    return rc;
}

static void test_build_offer(void) {
    rtc_sdp *s;
    REQUIRE(rtc_sdp_new(&s, NULL) == RTC_OK);
    CHECK_EQ_INT(build_offer(s), RTC_OK);
    char *text = sdp_text(s);
    REQUIRE(text);
    CHECK_STR(text, want_offer);
    /* the same bytes are in the corpus, where tools/browser/check-offers.sh showed Chromium
    ** accepts them (and its answer is chromium-answer-to-cwebrtc-built.sdp) */
    size_t flen;
    char *file = sdp_load("cwebrtc-built-offer.sdp", &flen);
    CHECK(file && strcmp(file, want_offer) == 0);
    free(file);
    /* the exact length is reported and a one-byte-short buffer is refused */
    int n = rtc_sdp_serialize(s, NULL, 0);
    CHECK_EQ_INT(n, (int)strlen(want_offer));
    char small[64];
    CHECK_EQ_INT(rtc_sdp_serialize(s, small, sizeof small), RTC_ERR_TOO_SMALL);
    char *exact = malloc((size_t)n + 1);
    REQUIRE(exact);
    CHECK_EQ_INT(rtc_sdp_serialize(s, exact, (size_t)n), RTC_ERR_TOO_SMALL); /* no room for NUL */
    CHECK_EQ_INT(rtc_sdp_serialize(s, exact, (size_t)n + 1), n);
    free(exact);

    /* the JSEP view of what we built, straight and after a parse */
    rtc_sdp *p;
    REQUIRE(rtc_sdp_new(&p, NULL) == RTC_OK);
    REQUIRE(rtc_sdp_parse(p, text, strlen(text)) == RTC_OK);
    CHECK(sdp_same(s, p));
    const rtc_sdp *both[2] = {s, p};
    for (int k = 0; k < 2; k++) {
        rtc_sdp_transport t;
        REQUIRE(rtc_sdp_transport_get(both[k], 1, &t) == RTC_OK);
        CHECK_STR(t.ufrag, "abcd");
        CHECK_EQ_INT(t.fingerprint_count, 1);
        CHECK_EQ_INT(t.fingerprints[0].value[15], 0xff);
        CHECK_EQ_INT(t.setup, RTC_SDP_SETUP_ACTPASS);
        CHECK_EQ_INT(t.transport_owner, 0);
        CHECK_EQ_INT(t.ice_options, 0);
        rtc_sdp_datachannel dc;
        REQUIRE(rtc_sdp_datachannel_find(both[k], &dc) == RTC_OK);
        CHECK_EQ_INT(dc.m, 1);
        CHECK_EQ_INT(dc.max_message_size, 262144);
        rtc_sdp_rtpmap rm;
        REQUIRE(rtc_sdp_rtpmap_find(both[k], 0, 111, &rm) == RTC_OK);
        CHECK_EQ_INT(rm.channels, 2);
        uint64_t v;
        CHECK_EQ_INT(rtc_sdp_get_sess_version(both[k], &v), RTC_OK);
        CHECK_EQ_INT(v, 2);
    }
    free(text);
    rtc_sdp_free(p);
    rtc_sdp_free(s);
}

/* Turn a parsed offer into an answer the way the peer connection will: new origin, setup
** active, own credentials, reject a section, strip candidates. */
static void test_edit_into_answer(void) {
    size_t len;
    char *text = sdp_load("chromium-av-dc-offer.sdp", &len);
    REQUIRE(text);
    rtc_sdp *s;
    REQUIRE(rtc_sdp_new(&s, NULL) == RTC_OK);
    REQUIRE(rtc_sdp_parse(s, text, len) == RTC_OK);
    CHECK_EQ_INT(rtc_sdp_set_origin(s, "-", 1, 1, "::1"), RTC_OK);
    rtc_sdp_origin o;
    rtc_sdp_get_origin(s, &o);
    CHECK_STR(o.addrtype, "IP6");
    int removed = 0;
    for (int m = 0; m < 3; m++) {
        CHECK_EQ_INT(rtc_sdp_set_attr(s, m, "setup", "active"), RTC_OK);
        CHECK_EQ_INT(rtc_sdp_set_attr(s, m, "ice-ufrag", "zzzz"), RTC_OK);
        int r = rtc_sdp_remove_attrs(s, m, "candidate");
        CHECK(r >= 0);
        removed += r;
        CHECK_EQ_INT(rtc_sdp_candidate(s, m, 0) == NULL, 1);
    }
    CHECK(removed >= 1);
    CHECK_EQ_INT(rtc_sdp_set_media_port(s, 1, 0), RTC_OK);
    CHECK_EQ_INT(rtc_sdp_set_attr(s, 2, "new-attr", NULL), RTC_OK); /* absent: appended */
    CHECK_EQ_INT(rtc_sdp_remove_attrs(s, 2, "does-not-exist"), 0);
    rtc_sdp_transport t;
    REQUIRE(rtc_sdp_transport_get(s, 1, &t) == RTC_OK);
    CHECK(t.rejected);
    CHECK_EQ_INT(t.transport_owner, 1);
    CHECK_EQ_INT(t.setup, RTC_SDP_SETUP_ACTIVE);
    CHECK_STR(t.ufrag, "zzzz");
    CHECK_EQ_INT(t.candidate_count, 0);
    REQUIRE(rtc_sdp_transport_get(s, 2, &t) == RTC_OK);
    CHECK_EQ_INT(t.transport_owner, 0);
    /* the edited description survives a text round trip, and the line bookkeeping is right:
    ** the builder's line bound counts what is really serialized */
    char *out = sdp_text(s);
    REQUIRE(out);
    rtc_sdp *p;
    REQUIRE(rtc_sdp_new(&p, NULL) == RTC_OK);
    REQUIRE(rtc_sdp_parse(p, out, strlen(out)) == RTC_OK);
    CHECK(sdp_same(s, p));
    CHECK(strstr(out, "a=candidate") == NULL);
    CHECK(strstr(out, "m=video 0 UDP/TLS/RTP/SAVPF") != NULL);
    CHECK(strstr(out, "\r\na=new-attr\r\n") != NULL);
    /* a clone is an independent deep copy */
    rtc_sdp *cl;
    REQUIRE(rtc_sdp_clone(&cl, s) == RTC_OK);
    CHECK(sdp_same(s, cl));
    char *cl_text = sdp_text(cl);
    CHECK(cl_text && strcmp(cl_text, out) == 0);
    free(cl_text);
    CHECK_EQ_INT(rtc_sdp_set_attr(cl, 0, "mid", "changed"), RTC_OK);
    CHECK_STR(rtc_sdp_mid(s, 0), "0");
    CHECK_STR(rtc_sdp_mid(cl, 0), "changed");
    rtc_sdp_free(cl);
    CHECK_EQ_INT(rtc_sdp_clone(NULL, s), RTC_ERR_INVALID);
    size_t lines = 0;
    for (const char *c = out; *c; c++) lines += *c == '\n';
    rtc_sdp_limits lim = {0, lines, 0, 0};
    rtc_sdp_set_limits(s, &lim);
    CHECK_EQ_INT(rtc_sdp_add_attr(s, 0, "one-more", NULL), RTC_ERR_NOMEM);
    lim.max_lines = lines + 1;
    rtc_sdp_set_limits(s, &lim);
    CHECK_EQ_INT(rtc_sdp_add_attr(s, 0, "one-more", NULL), RTC_OK);
    CHECK_EQ_INT(rtc_sdp_add_attr(s, 0, "two-more", NULL), RTC_ERR_NOMEM);
    free(out);
    free(text);
    rtc_sdp_free(p);
    rtc_sdp_free(s);
}

static void test_builder_validation(void) {
    rtc_sdp *s;
    REQUIRE(rtc_sdp_new(&s, NULL) == RTC_OK);
    CHECK_EQ_INT(rtc_sdp_add_attr(s, RTC_SDP_SESSION, "bad name", "x"), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sdp_add_attr(s, RTC_SDP_SESSION, "name:colon", "x"), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sdp_add_attr(s, RTC_SDP_SESSION, "", "x"), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sdp_add_attr(s, RTC_SDP_SESSION, NULL, "x"), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sdp_add_attr(s, RTC_SDP_SESSION, "ok", "inject\r\na=evil"), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sdp_add_attr(s, RTC_SDP_SESSION, "ok", "lf\nx"), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sdp_add_attr(s, 0, "ok", "no media yet"), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sdp_set_attr(s, RTC_SDP_SESSION, "ok", "x\r"), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sdp_add_media(s, "au dio", 9, "RTP/AVP", "0"), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sdp_add_media(s, "audio", 9, "RTP AVP", "0"), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sdp_add_media(s, "audio", 9, "RTP/AVP", ""), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sdp_add_media(s, "audio", 9, "RTP/AVP", "  "), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sdp_add_media(s, "audio", 9, "RTP/AVP", "0\r\n"), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sdp_add_media(s, "audio", 9, "", "0"), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sdp_set_origin(s, "with space", 1, 1, NULL), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sdp_set_origin(s, NULL, 1, 1, "1.2.3.4 5"), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sdp_set_session_name(s, ""), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sdp_set_session_name(s, "a\nb"), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sdp_set_session_name(s, "My session"), RTC_OK);
    CHECK_EQ_INT(rtc_sdp_set_connection(s, RTC_SDP_SESSION, "a b"), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sdp_add_bandwidth(s, RTC_SDP_SESSION, "A:S", 1), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sdp_add_rtpmap(s, RTC_SDP_SESSION, 128, "x", 8000, 0), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sdp_add_rtpmap(s, RTC_SDP_SESSION, 96, "x/y", 8000, 0), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sdp_add_setup(s, RTC_SDP_SESSION, RTC_SDP_SETUP_NONE), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sdp_add_direction(s, RTC_SDP_SESSION, (rtc_sdp_direction)9), RTC_ERR_INVALID);
    rtc_sdp_fingerprint fp = {"sha-256", 0, {0}};
    CHECK_EQ_INT(rtc_sdp_add_fingerprint(s, RTC_SDP_SESSION, &fp), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sdp_set_media_port(s, 0, 1), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sdp_remove_attrs(s, 3, "x"), RTC_ERR_INVALID);
    /* nothing above changed the description except the session name */
    char *text = sdp_text(s);
    REQUIRE(text);
    CHECK_STR(text, "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=My session\r\nt=0 0\r\n");
    free(text);

    /* bounds: line length and media count */
    rtc_sdp_limits lim = {40, 0, 1, 0};
    rtc_sdp_set_limits(s, &lim);
    CHECK_EQ_INT(rtc_sdp_add_attr(s, RTC_SDP_SESSION, "x", "012345678901234567890123456789012345"),
                 RTC_OK); /* exactly 40 */
    CHECK_EQ_INT(rtc_sdp_add_attr(s, RTC_SDP_SESSION, "x", "0123456789012345678901234567890123456"),
                 RTC_ERR_NOMEM);
    CHECK_EQ_INT(rtc_sdp_add_attrf(s, RTC_SDP_SESSION, "x", "%0300d", 1), RTC_ERR_NOMEM);
    CHECK_EQ_INT(rtc_sdp_add_media(s, "audio", 9, "RTP/AVP", "0"), 0);
    CHECK_EQ_INT(rtc_sdp_add_media(s, "audio", 9, "RTP/AVP", "0"), RTC_ERR_NOMEM);
    CHECK(strstr(rtc_sdp_error(s), "media") != NULL);
    rtc_sdp_set_limits(s, NULL);
    CHECK_EQ_INT(rtc_sdp_add_attrf(s, RTC_SDP_SESSION, "long", "%0300d", 7), RTC_OK);
    CHECK_EQ_INT(strlen(rtc_sdp_attr_value(s, RTC_SDP_SESSION, "long")), 300);
    CHECK_EQ_INT(rtc_sdp_set_connection(s, 0, "2001:db8::1"), RTC_OK);
    CHECK_EQ_INT(rtc_sdp_set_connection(s, 0, "192.0.2.1"), RTC_OK); /* replaces */
    rtc_sdp_conn c;
    REQUIRE(rtc_sdp_get_connection(s, 0, &c) == RTC_OK);
    CHECK_STR(c.addrtype, "IP4");
    CHECK_STR(c.address, "192.0.2.1");
    CHECK_EQ_INT(rtc_sdp_new(NULL, NULL), RTC_ERR_INVALID);
    rtc_sdp_free(s);
}

/* Builder calls under allocation failure: each fails cleanly with NOMEM and nothing leaks. */
static void test_builder_alloc_failures(void) {
    count_alloc ca = {0, 0, -1};
    rtc_env env = {0};
    env.realloc = count_realloc;
    env.ud = &ca;
    int ok_at = -1;
    for (long k = 0; k < 2000; k++) {
        rtc_sdp *s = NULL;
        ca.allocs = 0;
        ca.fail_at = k;
        int rc = rtc_sdp_new(&s, &env);
        if (rc == RTC_OK) rc = build_offer(s);
        ca.fail_at = -1;
        if (rc == RTC_OK) {
            char *text = sdp_text(s);
            CHECK(text && strcmp(text, want_offer) == 0);
            free(text);
            ok_at = (int)k;
        } else {
            CHECK_EQ_INT(rc, RTC_ERR_NOMEM);
        }
        rtc_sdp_free(s);
        CHECK_EQ_INT(ca.outstanding, 0);
        if (rc == RTC_OK || ca.outstanding) break;
    }
    CHECK(ok_at > 50);
}

int main(void) {
    RUN(test_build_offer);
    RUN(test_edit_into_answer);
    RUN(test_builder_validation);
    RUN(test_builder_alloc_failures);
    return TEST_DONE();
}
