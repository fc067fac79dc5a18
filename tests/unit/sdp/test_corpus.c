/*
** The SDP corpus (tests/data/sdp/): every file parses, re-serializes byte for byte, parses again
** to the same structure, parses identically from LF line endings, and every typed accessor
** reads every attribute it knows. Then per-file checks of what each stack sends.
*/
#include <dirent.h>

#include "sdp_test_util.h"
#include "test.h"

static rtc_sdp *load_parse(const char *name) {
    size_t len;
    char *text = sdp_load(name, &len);
    if (!text) {
        fprintf(stderr, "cannot read %s\n", name);
        return NULL;
    }
    rtc_sdp *s = NULL;
    if (rtc_sdp_new(&s, NULL) != RTC_OK) {
        free(text);
        return NULL;
    }
    int rc = rtc_sdp_parse(s, text, len);
    if (rc != RTC_OK) {
        fprintf(stderr, "%s: %s (%s)\n", name, rtc_strerror(rc), rtc_sdp_error(s));
        rtc_sdp_free(s);
        s = NULL;
    }
    free(text);
    return s;
}

static bool str_is(rtc_sdp_str s, const char *lit) {
    return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

/* Every typed accessor over every attribute of every level: nothing in the corpus is malformed,
** so each must succeed; counts must match the generic view. */
static void check_all_accessors(const char *name, const rtc_sdp *s) {
    for (int m = RTC_SDP_SESSION; m < (int)rtc_sdp_media_count(s); m++) {
        size_t n_fp = 0, n_fb = 0, n_ext = 0, n_ssrc = 0, n_grp = 0, n_msid = 0, n_cand = 0;
        for (size_t i = 0; i < rtc_sdp_attr_count(s, m); i++) {
            rtc_sdp_attr a;
            REQUIRE(rtc_sdp_get_attr(s, m, i, &a) == RTC_OK);
            n_fp += strcmp(a.name, "fingerprint") == 0;
            n_fb += strcmp(a.name, "rtcp-fb") == 0;
            n_ext += strcmp(a.name, "extmap") == 0;
            n_ssrc += strcmp(a.name, "ssrc") == 0;
            n_grp += strcmp(a.name, "ssrc-group") == 0;
            n_msid += strcmp(a.name, "msid") == 0;
            n_cand += strcmp(a.name, "candidate") == 0;
        }
        size_t k;
        rtc_sdp_fingerprint fp;
        for (k = 0; rtc_sdp_fingerprint_get(s, m, k, &fp) == RTC_OK; k++) CHECK(fp.len >= 20);
        CHECK_EQ_INT(k, n_fp);
        rtc_sdp_rtcp_fb fb;
        for (k = 0; rtc_sdp_rtcp_fb_get(s, m, k, &fb) == RTC_OK; k++) CHECK(fb.type.len > 0);
        CHECK_EQ_INT(k, n_fb);
        rtc_sdp_extmap ex;
        for (k = 0; rtc_sdp_extmap_get(s, m, k, &ex) == RTC_OK; k++) CHECK(ex.uri.len > 0);
        CHECK_EQ_INT(k, n_ext);
        rtc_sdp_ssrc ss;
        for (k = 0; rtc_sdp_ssrc_get(s, m, k, &ss) == RTC_OK; k++) CHECK(ss.attribute.len > 0);
        CHECK_EQ_INT(k, n_ssrc);
        rtc_sdp_ssrc_group sg;
        for (k = 0; rtc_sdp_ssrc_group_get(s, m, k, &sg) == RTC_OK; k++) CHECK(sg.count >= 2);
        CHECK_EQ_INT(k, n_grp);
        rtc_sdp_msid ms;
        for (k = 0; rtc_sdp_msid_get(s, m, k, &ms) == RTC_OK; k++) CHECK(ms.stream.len > 0);
        CHECK_EQ_INT(k, n_msid);
        for (k = 0; rtc_sdp_candidate(s, m, k); k++) CHECK(strlen(rtc_sdp_candidate(s, m, k)) > 10);
        CHECK_EQ_INT(k, n_cand);
        rtc_sdp_setup setup;
        CHECK_EQ_INT(rtc_sdp_setup_get(s, m, &setup), RTC_OK);
        if (m < 0) continue;

        rtc_sdp_media md;
        REQUIRE(rtc_sdp_get_media(s, m, &md) == RTC_OK);
        rtc_sdp_transport tr;
        int rc = rtc_sdp_transport_get(s, m, &tr);
        CHECK_EQ_INT(rc, RTC_OK);
        if (rc) fprintf(stderr, "%s m=%d: transport: %s\n", name, m, rtc_strerror(rc));
        /* every WebRTC section has credentials and a fingerprint at some level */
        CHECK(tr.ufrag != NULL);
        CHECK(tr.pwd != NULL);
        CHECK(tr.fingerprint_count >= 1);
        CHECK(tr.mid != NULL);
        CHECK(tr.transport_owner >= 0 && tr.transport_owner < (int)rtc_sdp_media_count(s));
        CHECK(rtc_sdp_find_mid(s, tr.mid) == m);
        /* each RTP payload type in the m= line has a known static type or an rtpmap */
        if (strstr(md.proto, "RTP/")) {
            for (size_t i = 0; i < md.fmt_count; i++) {
                unsigned pt = (unsigned)atoi(md.fmts[i]);
                rtc_sdp_rtpmap rm;
                rc = rtc_sdp_rtpmap_find(s, m, pt, &rm);
                if (pt < 35 && rc == RTC_ERR_NOT_FOUND) continue; /* static (RFC 3551) */
                CHECK_EQ_INT(rc, RTC_OK);
                if (rc == RTC_OK) {
                    CHECK_EQ_INT(rm.pt, pt);
                    CHECK(rm.clock_rate >= 8000);
                }
                rtc_sdp_str params;
                rc = rtc_sdp_fmtp_find(s, m, pt, &params);
                CHECK(rc == RTC_OK || rc == RTC_ERR_NOT_FOUND);
            }
        }
    }
    rtc_sdp_group g;
    for (size_t k = 0; rtc_sdp_group_get(s, k, &g) != RTC_ERR_NOT_FOUND; k++) {
        CHECK_EQ_INT(rtc_sdp_group_get(s, k, &g), RTC_OK);
        if (k > 8) break;
    }
}

static int corpus_files(char names[][128], int max) {
    DIR *d = opendir(SDP_CORPUS_DIR);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        size_t l = strlen(e->d_name);
        if (l > 4 && l < 128 && strcmp(e->d_name + l - 4, ".sdp") == 0) strcpy(names[n++], e->d_name);
    }
    closedir(d);
    return n;
}

static void test_corpus_roundtrip(void) {
    char names[64][128];
    int n = corpus_files(names, 64);
    CHECK(n >= 35);
    for (int i = 0; i < n; i++) {
        size_t len;
        char *text = sdp_load(names[i], &len);
        REQUIRE(text);
        rtc_sdp *a = load_parse(names[i]);
        CHECK(a != NULL);
        if (!a) {
            free(text);
            continue;
        }
        /* serialize(parse(x)) == x: the corpus files are CRLF, as the stacks send them */
        char *out = sdp_text(a);
        REQUIRE(out);
        CHECK_EQ_INT(strlen(out), len);
        if (strcmp(out, text) != 0) {
            rtc_test_failures++;
            fprintf(stderr, "%s: serialize(parse(x)) != x\n", names[i]);
        }
        /* parse(serialize(parse(x))) has the same structure */
        rtc_sdp *b;
        REQUIRE(rtc_sdp_new(&b, NULL) == RTC_OK);
        CHECK_EQ_INT(rtc_sdp_parse(b, out, strlen(out)), RTC_OK);
        CHECK(sdp_same(a, b));
        /* LF-only input: same structure, CRLF output again */
        char *lf = malloc(len + 1);
        REQUIRE(lf);
        size_t k = 0;
        for (size_t j = 0; j < len; j++)
            if (text[j] != '\r') lf[k++] = text[j];
        lf[k] = 0;
        rtc_sdp *c;
        REQUIRE(rtc_sdp_new(&c, NULL) == RTC_OK);
        CHECK_EQ_INT(rtc_sdp_parse(c, lf, k), RTC_OK);
        CHECK(sdp_same(a, c));
        char *out2 = sdp_text(c);
        CHECK(out2 && strcmp(out2, text) == 0);
        check_all_accessors(names[i], a);
        free(out2);
        free(lf);
        free(out);
        free(text);
        rtc_sdp_free(a);
        rtc_sdp_free(b);
        rtc_sdp_free(c);
    }
}

static void test_chromium_dc_offer(void) {
    rtc_sdp *s = load_parse("chromium-dc-offer.sdp");
    REQUIRE(s);
    CHECK_EQ_INT(rtc_sdp_media_count(s), 1);
    rtc_sdp_media md;
    REQUIRE(rtc_sdp_get_media(s, 0, &md) == RTC_OK);
    CHECK_STR(md.media, "application");
    CHECK_STR(md.proto, "UDP/DTLS/SCTP");
    CHECK_EQ_INT(md.fmt_count, 1);
    CHECK_STR(md.fmts[0], "webrtc-datachannel");
    CHECK(md.port != 0); /* after gathering: the port of the default candidate */
    rtc_sdp_origin o;
    rtc_sdp_get_origin(s, &o);
    CHECK_STR(o.username, "-");
    CHECK_STR(o.address, "127.0.0.1");
    uint64_t ver;
    CHECK_EQ_INT(rtc_sdp_get_sess_version(s, &ver), RTC_OK);
    CHECK_EQ_INT(ver, 2);
    rtc_sdp_group g;
    REQUIRE(rtc_sdp_group_get(s, 0, &g) == RTC_OK);
    CHECK(str_is(g.semantics, "BUNDLE"));
    CHECK_EQ_INT(g.count, 1);
    CHECK(str_is(g.mids[0], "0"));
    CHECK_EQ_INT(rtc_sdp_group_get(s, 1, &g), RTC_ERR_NOT_FOUND);
    rtc_sdp_transport t;
    REQUIRE(rtc_sdp_transport_get(s, 0, &t) == RTC_OK);
    CHECK_STR(t.mid, "0");
    CHECK_EQ_INT(t.fingerprint_count, 1);
    CHECK_STR(t.fingerprints[0].hash, "sha-256");
    CHECK_EQ_INT(t.fingerprints[0].len, 32);
    CHECK_EQ_INT(t.setup, RTC_SDP_SETUP_ACTPASS);
    CHECK(t.ufrag && strlen(t.ufrag) >= 4);
    CHECK(t.pwd && strlen(t.pwd) >= 22);
    CHECK_EQ_INT(t.ice_options, RTC_SDP_ICE_OPT_TRICKLE);
    CHECK(t.candidate_count >= 1);
    CHECK(!t.end_of_candidates); /* Chromium does not send it */
    CHECK_EQ_INT(t.transport_owner, 0);
    CHECK(!t.rejected);
    CHECK(strstr(rtc_sdp_candidate(s, 0, 0), "127.0.0.1") != NULL);
    rtc_sdp_datachannel dc;
    REQUIRE(rtc_sdp_datachannel_find(s, &dc) == RTC_OK);
    CHECK_EQ_INT(dc.m, 0);
    CHECK_EQ_INT(dc.sctp_port, 5000);
    CHECK_EQ_INT(dc.max_message_size, 262144);
    CHECK(!dc.legacy);
    rtc_sdp_str sem, ids;
    CHECK_EQ_INT(rtc_sdp_msid_semantic(s, &sem, &ids), RTC_OK);
    CHECK(str_is(sem, "WMS"));
    CHECK_EQ_INT(ids.len, 0);
    CHECK(rtc_sdp_has_attr(s, RTC_SDP_SESSION, "extmap-allow-mixed"));
    rtc_sdp_conn c;
    CHECK_EQ_INT(rtc_sdp_get_connection(s, 0, &c), RTC_OK);
    CHECK_STR(c.address, "127.0.0.1");
    rtc_sdp_free(s);
}

static void check_chromium_audio(const rtc_sdp *s, int m) {
    rtc_sdp_media md;
    REQUIRE(rtc_sdp_get_media(s, m, &md) == RTC_OK);
    CHECK_STR(md.media, "audio");
    CHECK_STR(md.proto, "UDP/TLS/RTP/SAVPF");
    CHECK(md.fmt_count >= 5);
    CHECK_STR(md.fmts[0], "111");
    rtc_sdp_rtpmap rm;
    REQUIRE(rtc_sdp_rtpmap_find(s, m, 111, &rm) == RTC_OK);
    CHECK(str_is(rm.encoding, "opus"));
    CHECK_EQ_INT(rm.clock_rate, 48000);
    CHECK_EQ_INT(rm.channels, 2);
    rtc_sdp_str params, v;
    REQUIRE(rtc_sdp_fmtp_find(s, m, 111, &params) == RTC_OK);
    CHECK_EQ_INT(rtc_sdp_fmtp_param(params, "useinbandfec", &v), RTC_OK);
    CHECK(str_is(v, "1"));
    CHECK_EQ_INT(rtc_sdp_fmtp_param(params, "MINPTIME", &v), RTC_OK);
    CHECK(str_is(v, "10"));
    CHECK_EQ_INT(rtc_sdp_fmtp_param(params, "stereo", &v), RTC_ERR_NOT_FOUND);
    REQUIRE(rtc_sdp_rtpmap_find(s, m, 0, &rm) == RTC_OK);
    CHECK(str_is(rm.encoding, "PCMU"));
    CHECK_EQ_INT(rm.channels, 0);
    CHECK_EQ_INT(rtc_sdp_rtpmap_find(s, m, 55, &rm), RTC_ERR_NOT_FOUND);
    CHECK(rtc_sdp_has_attr(s, m, "rtcp-mux"));
    CHECK_EQ_INT(rtc_sdp_direction_get(s, m), RTC_SDP_SENDRECV);
    rtc_sdp_msid ms;
    REQUIRE(rtc_sdp_msid_get(s, m, 0, &ms) == RTC_OK);
    CHECK(ms.stream.len == 36 && ms.track.len == 36); /* UUIDs */
    rtc_sdp_extmap ex;
    bool has_mid_ext = false;
    for (size_t k = 0; rtc_sdp_extmap_get(s, m, k, &ex) == RTC_OK; k++)
        if (str_is(ex.uri, "urn:ietf:params:rtp-hdrext:sdes:mid")) has_mid_ext = ex.id == 4;
    CHECK(has_mid_ext);
    rtc_sdp_ssrc ss;
    REQUIRE(rtc_sdp_ssrc_get(s, m, 0, &ss) == RTC_OK);
    CHECK(str_is(ss.attribute, "cname"));
    CHECK_EQ_INT(ss.value.len, 16);
}

static void check_chromium_video(const rtc_sdp *s, int m) {
    rtc_sdp_media md;
    REQUIRE(rtc_sdp_get_media(s, m, &md) == RTC_OK);
    CHECK_STR(md.media, "video");
    CHECK(md.fmt_count >= 10);
    rtc_sdp_rtpmap rm;
    REQUIRE(rtc_sdp_rtpmap_find(s, m, 96, &rm) == RTC_OK);
    CHECK(str_is(rm.encoding, "VP8"));
    CHECK_EQ_INT(rm.clock_rate, 90000);
    REQUIRE(rtc_sdp_rtpmap_find(s, m, 97, &rm) == RTC_OK);
    CHECK(str_is(rm.encoding, "rtx"));
    rtc_sdp_str params, v;
    REQUIRE(rtc_sdp_fmtp_find(s, m, 97, &params) == RTC_OK);
    CHECK_EQ_INT(rtc_sdp_fmtp_param(params, "apt", &v), RTC_OK);
    CHECK(str_is(v, "96"));
    /* feedback for VP8: nack, nack pli, ccm fir, transport-cc, goog-remb */
    int nack = 0, pli = 0, fir = 0;
    rtc_sdp_rtcp_fb fb;
    for (size_t k = 0; rtc_sdp_rtcp_fb_get(s, m, k, &fb) == RTC_OK; k++) {
        if (fb.pt != 96) continue;
        if (str_is(fb.type, "nack") && fb.subtype.len == 0) nack++;
        if (str_is(fb.type, "nack") && str_is(fb.subtype, "pli")) pli++;
        if (str_is(fb.type, "ccm") && str_is(fb.subtype, "fir")) fir++;
    }
    CHECK(nack == 1 && pli == 1 && fir == 1);
    int h264 = 0;
    for (size_t i = 0; i < md.fmt_count; i++)
        if (rtc_sdp_rtpmap_find(s, m, (unsigned)atoi(md.fmts[i]), &rm) == RTC_OK &&
            str_is(rm.encoding, "H264"))
            h264++;
    CHECK(h264 >= 2);
    CHECK(rtc_sdp_has_attr(s, m, "rtcp-rsize"));
}

static void test_chromium_av_offer(void) {
    rtc_sdp *s = load_parse("chromium-av-offer.sdp");
    REQUIRE(s);
    CHECK_EQ_INT(rtc_sdp_media_count(s), 2);
    check_chromium_audio(s, 0);
    check_chromium_video(s, 1);
    rtc_sdp_group g;
    REQUIRE(rtc_sdp_group_get(s, 0, &g) == RTC_OK);
    CHECK_EQ_INT(g.count, 2);
    CHECK(str_is(g.mids[1], "1"));
    CHECK_EQ_INT(rtc_sdp_bundle_owner(s, 1), 0);
    rtc_sdp_ssrc_group sg;
    REQUIRE(rtc_sdp_ssrc_group_get(s, 1, 0, &sg) == RTC_OK);
    CHECK(str_is(sg.semantics, "FID"));
    CHECK_EQ_INT(sg.count, 2);
    rtc_sdp_datachannel dc;
    CHECK_EQ_INT(rtc_sdp_datachannel_find(s, &dc), RTC_ERR_NOT_FOUND);
    rtc_sdp_str sem, ids;
    CHECK_EQ_INT(rtc_sdp_msid_semantic(s, &sem, &ids), RTC_OK);
    CHECK_EQ_INT(ids.len, 36);
    rtc_sdp_free(s);
}

static void test_chromium_av_dc_offer(void) {
    rtc_sdp *s = load_parse("chromium-av-dc-offer.sdp");
    REQUIRE(s);
    CHECK_EQ_INT(rtc_sdp_media_count(s), 3);
    check_chromium_audio(s, 0);
    check_chromium_video(s, 1);
    rtc_sdp_datachannel dc;
    REQUIRE(rtc_sdp_datachannel_find(s, &dc) == RTC_OK);
    CHECK_EQ_INT(dc.m, 2);
    CHECK_EQ_INT(dc.sctp_port, 5000);
    for (int m = 0; m < 3; m++) CHECK_EQ_INT(rtc_sdp_bundle_owner(s, m), 0);
    rtc_sdp_free(s);
}

static void test_chromium_answers(void) {
    rtc_sdp *s = load_parse("chromium-dc-answer.sdp");
    REQUIRE(s);
    rtc_sdp_transport t;
    REQUIRE(rtc_sdp_transport_get(s, 0, &t) == RTC_OK);
    CHECK_EQ_INT(t.setup, RTC_SDP_SETUP_ACTIVE);
    CHECK_EQ_INT(t.fingerprint_count, 1);
    rtc_sdp_datachannel dc;
    REQUIRE(rtc_sdp_datachannel_find(s, &dc) == RTC_OK);
    CHECK_EQ_INT(dc.sctp_port, 5000);
    rtc_sdp_free(s);

    s = load_parse("chromium-av-answer.sdp");
    REQUIRE(s);
    CHECK_EQ_INT(rtc_sdp_media_count(s), 3);
    check_chromium_audio(s, 0);
    for (int m = 0; m < 3; m++) {
        REQUIRE(rtc_sdp_transport_get(s, m, &t) == RTC_OK);
        CHECK_EQ_INT(t.setup, RTC_SDP_SETUP_ACTIVE);
        CHECK_EQ_INT(t.transport_owner, 0);
    }
    CHECK_EQ_INT(rtc_sdp_direction_get(s, 1), RTC_SDP_SENDRECV);
    rtc_sdp_free(s);
}

static void test_chromium_snap(void) {
    rtc_sdp *s = load_parse("chromium-dc-snap-offer.sdp");
    REQUIRE(s);
    const char *v = rtc_sdp_attr_value(s, 0, "sctp-init");
    CHECK(v && strlen(v) > 20); /* kept verbatim, never interpreted */
    CHECK_EQ_INT(rtc_sdp_ice_options(s, 0), RTC_SDP_ICE_OPT_TRICKLE | RTC_SDP_ICE_OPT_OTHER);
    rtc_sdp_free(s);
}

static void test_firefox(void) {
    rtc_sdp *s = load_parse("firefox-av-dc-offer.sdp");
    REQUIRE(s);
    rtc_sdp_origin o;
    rtc_sdp_get_origin(s, &o);
    CHECK_STR(o.username, "mozilla...THIS_IS_SDPARTA-99.0");
    CHECK_EQ_INT(rtc_sdp_media_count(s), 3);
    rtc_sdp_transport t;
    /* fingerprint only at session level: the fallback */
    CHECK_EQ_INT(rtc_sdp_fingerprint_get(s, 0, 0, NULL), RTC_ERR_INVALID);
    rtc_sdp_fingerprint fp;
    CHECK_EQ_INT(rtc_sdp_fingerprint_get(s, 0, 0, &fp), RTC_ERR_NOT_FOUND);
    REQUIRE(rtc_sdp_transport_get(s, 0, &t) == RTC_OK);
    CHECK_EQ_INT(t.fingerprint_count, 1);
    CHECK_EQ_INT(t.fingerprints[0].value[0], 0x05);
    CHECK_EQ_INT(t.setup, RTC_SDP_SETUP_ACTPASS);
    CHECK_EQ_INT(t.ice_options, RTC_SDP_ICE_OPT_TRICKLE); /* session level */
    CHECK(t.end_of_candidates);
    CHECK_EQ_INT(t.candidate_count, 2);
    CHECK_STR(t.ufrag, "8c4e2a1f");
    /* max-bundle: video and data are bundle-only with port 0, owned by mid 0 */
    REQUIRE(rtc_sdp_transport_get(s, 1, &t) == RTC_OK);
    CHECK(t.bundle_only);
    CHECK(!t.rejected);
    CHECK_EQ_INT(t.transport_owner, 0);
    rtc_sdp_extmap ex;
    REQUIRE(rtc_sdp_extmap_get(s, 0, 1, &ex) == RTC_OK);
    CHECK_EQ_INT(ex.id, 2);
    CHECK(ex.has_direction);
    CHECK_EQ_INT(ex.direction, RTC_SDP_RECVONLY);
    rtc_sdp_datachannel dc;
    REQUIRE(rtc_sdp_datachannel_find(s, &dc) == RTC_OK);
    CHECK_EQ_INT(dc.m, 2);
    CHECK_EQ_INT(dc.max_message_size, 1073741823);
    CHECK(!dc.rejected);
    CHECK_EQ_INT(rtc_sdp_direction_get(s, RTC_SDP_SESSION), RTC_SDP_SENDRECV);
    rtc_sdp_str sem, ids;
    CHECK_EQ_INT(rtc_sdp_msid_semantic(s, &sem, &ids), RTC_OK);
    CHECK(str_is(ids, "*"));
    rtc_sdp_free(s);

    s = load_parse("firefox-dc-answer.sdp");
    REQUIRE(s);
    REQUIRE(rtc_sdp_transport_get(s, 0, &t) == RTC_OK);
    CHECK_EQ_INT(t.setup, RTC_SDP_SETUP_ACTIVE);
    CHECK_EQ_INT(t.fingerprint_count, 1);
    rtc_sdp_free(s);
}

static void test_safari(void) {
    rtc_sdp *s = load_parse("safari-av-offer.sdp");
    REQUIRE(s);
    CHECK(strstr(rtc_sdp_candidate(s, 0, 1), ".local ") != NULL);
    rtc_sdp_rtpmap rm;
    REQUIRE(rtc_sdp_rtpmap_find(s, 1, 96, &rm) == RTC_OK);
    CHECK(str_is(rm.encoding, "H264"));
    rtc_sdp_str params, v;
    REQUIRE(rtc_sdp_fmtp_find(s, 1, 96, &params) == RTC_OK);
    CHECK_EQ_INT(rtc_sdp_fmtp_param(params, "profile-level-id", &v), RTC_OK);
    CHECK(str_is(v, "640c1f"));
    rtc_sdp_ssrc ss;
    REQUIRE(rtc_sdp_ssrc_get(s, 0, 1, &ss) == RTC_OK);
    CHECK_EQ_INT(ss.ssrc, 3870542717u);
    CHECK(str_is(ss.attribute, "msid"));
    CHECK_EQ_INT(ss.value.len, 36 + 1 + 36);
    rtc_sdp_free(s);
}

static void test_pion(void) {
    rtc_sdp *s = load_parse("pion-dc-offer.sdp");
    REQUIRE(s);
    rtc_sdp_transport t;
    REQUIRE(rtc_sdp_transport_get(s, 0, &t) == RTC_OK);
    CHECK_EQ_INT(t.fingerprint_count, 1); /* session level */
    CHECK_EQ_INT(t.candidate_count, 4);
    CHECK(t.end_of_candidates);
    CHECK_EQ_INT(t.ice_options, 0);
    rtc_sdp_datachannel dc;
    REQUIRE(rtc_sdp_datachannel_find(s, &dc) == RTC_OK);
    CHECK_EQ_INT(dc.max_message_size, 65536); /* absent: RFC 8841 §6 default */
    rtc_sdp_str sem, ids;
    CHECK_EQ_INT(rtc_sdp_msid_semantic(s, &sem, &ids), RTC_OK);
    CHECK(str_is(sem, "WMS*")); /* pion's spelling, a single token */
    rtc_sdp_free(s);

    s = load_parse("pion-av-answer.sdp");
    REQUIRE(s);
    rtc_sdp_rtcp_fb fb;
    REQUIRE(rtc_sdp_rtcp_fb_get(s, 1, 0, &fb) == RTC_OK);
    CHECK_EQ_INT(fb.pt, 96);
    CHECK(str_is(fb.type, "goog-remb"));
    CHECK_EQ_INT(fb.subtype.len, 0); /* trailing space ignored */
    CHECK_EQ_INT(rtc_sdp_direction_get(s, 1), RTC_SDP_RECVONLY);
    CHECK_EQ_INT(rtc_sdp_direction_get(s, 0), RTC_SDP_SENDRECV);
    REQUIRE(rtc_sdp_transport_get(s, 1, &t) == RTC_OK);
    CHECK_EQ_INT(t.setup, RTC_SDP_SETUP_ACTIVE);
    CHECK_EQ_INT(t.transport_owner, 0);
    rtc_sdp_free(s);
}

static void test_aiortc(void) {
    rtc_sdp *s = load_parse("aiortc-av-dc-offer.sdp");
    REQUIRE(s);
    rtc_sdp_transport t;
    REQUIRE(rtc_sdp_transport_get(s, 0, &t) == RTC_OK);
    CHECK_EQ_INT(t.fingerprint_count, 3);
    CHECK_STR(t.fingerprints[0].hash, "sha-256");
    CHECK_EQ_INT(t.fingerprints[0].len, 32);
    CHECK_STR(t.fingerprints[1].hash, "sha-384");
    CHECK_EQ_INT(t.fingerprints[1].len, 48);
    CHECK_STR(t.fingerprints[2].hash, "sha-512");
    CHECK_EQ_INT(t.fingerprints[2].len, 64);
    CHECK_EQ_INT(t.fingerprints[2].value[63], 0x72);
    rtc_sdp_datachannel dc;
    REQUIRE(rtc_sdp_datachannel_find(s, &dc) == RTC_OK);
    CHECK_EQ_INT(dc.m, 2);
    CHECK(dc.legacy);
    CHECK_EQ_INT(dc.sctp_port, 5000);
    CHECK_EQ_INT(dc.max_message_size, 65536);
    rtc_sdp_free(s);
}

static void test_libdatachannel(void) {
    rtc_sdp *s = load_parse("libdatachannel-dc-offer.sdp");
    REQUIRE(s);
    /* everything at session level */
    CHECK(rtc_sdp_ice_ufrag(s, 0) == NULL);
    CHECK_STR(rtc_sdp_ice_ufrag(s, RTC_SDP_SESSION), "Jm5A");
    rtc_sdp_transport t;
    REQUIRE(rtc_sdp_transport_get(s, 0, &t) == RTC_OK);
    CHECK_STR(t.ufrag, "Jm5A");
    CHECK_STR(t.pwd, "Kb6LmTTVPKYjUJ2E30UYQe");
    CHECK_EQ_INT(t.setup, RTC_SDP_SETUP_ACTPASS);
    CHECK_EQ_INT(t.fingerprint_count, 1);
    CHECK_EQ_INT(t.ice_options, RTC_SDP_ICE_OPT_ICE2 | RTC_SDP_ICE_OPT_TRICKLE);
    rtc_sdp_group g;
    REQUIRE(rtc_sdp_group_get(s, 1, &g) == RTC_OK);
    CHECK(str_is(g.semantics, "LS"));
    rtc_sdp_origin o;
    rtc_sdp_get_origin(s, &o);
    CHECK_STR(o.username, "rtc");
    rtc_sdp_free(s);
}

static void test_gstreamer(void) {
    rtc_sdp *s = load_parse("gstreamer-av-dc-offer.sdp");
    REQUIRE(s);
    CHECK_EQ_INT(rtc_sdp_find_mid(s, "audio1"), 1);
    CHECK_EQ_INT(rtc_sdp_find_mid(s, "nope"), RTC_ERR_NOT_FOUND);
    rtc_sdp_transport t;
    REQUIRE(rtc_sdp_transport_get(s, 1, &t) == RTC_OK);
    CHECK(t.bundle_only);
    CHECK_EQ_INT(t.transport_owner, 0);
    rtc_sdp_rtpmap rm;
    REQUIRE(rtc_sdp_rtpmap_find(s, 1, 97, &rm) == RTC_OK);
    CHECK(str_is(rm.encoding, "OPUS"));
    rtc_sdp_datachannel dc;
    REQUIRE(rtc_sdp_datachannel_find(s, &dc) == RTC_OK);
    CHECK_EQ_INT(dc.m, 2);
    CHECK(!dc.rejected);
    CHECK_STR(rtc_sdp_attr_value(s, 0, "framerate"), "30");
    rtc_sdp_free(s);
}

static void test_legacy(void) {
    rtc_sdp *s = load_parse("legacy-chrome-dc-offer.sdp");
    REQUIRE(s);
    rtc_sdp_datachannel dc;
    REQUIRE(rtc_sdp_datachannel_find(s, &dc) == RTC_OK);
    CHECK(dc.legacy);
    CHECK_EQ_INT(dc.sctp_port, 5000);
    uint16_t port;
    CHECK_EQ_INT(rtc_sdp_sctp_port(s, 0, &port), RTC_OK);
    CHECK_EQ_INT(port, 5000);
    CHECK_EQ_INT(rtc_sdp_bundle_owner(s, 0), 0);
    CHECK_STR(rtc_sdp_mid(s, 0), "data");
    rtc_sdp_free(s);
}

/* Chromium's answers to offers of other stacks (captured with check-offers.sh --save). */
static void test_chromium_answers_to_others(void) {
    static const struct {
        const char *file;
        int media;
        bool legacy;
    } cases[] = {{"chromium-answer-to-firefox-av-dc.sdp", 3, false},
                 {"chromium-answer-to-aiortc-av-dc.sdp", 3, true},
                 {"chromium-answer-to-legacy-chrome-dc.sdp", 1, true},
                 {"chromium-answer-to-cwebrtc-built.sdp", 2, false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rtc_sdp *s = load_parse(cases[i].file);
        REQUIRE(s);
        CHECK_EQ_INT(rtc_sdp_media_count(s), cases[i].media);
        for (int m = 0; m < cases[i].media; m++) {
            rtc_sdp_transport t;
            REQUIRE(rtc_sdp_transport_get(s, m, &t) == RTC_OK);
            CHECK_EQ_INT(t.setup, RTC_SDP_SETUP_ACTIVE); /* RFC 5763 §5: the answerer is active */
            CHECK_EQ_INT(t.fingerprint_count, 1);
            CHECK_EQ_INT(t.transport_owner, 0);
        }
        rtc_sdp_datachannel dc;
        REQUIRE(rtc_sdp_datachannel_find(s, &dc) == RTC_OK);
        CHECK_EQ_INT(dc.legacy, cases[i].legacy); /* Chromium answers the legacy form in kind */
        CHECK_EQ_INT(dc.sctp_port, 5000);
        CHECK_EQ_INT(dc.max_message_size, cases[i].legacy ? 65536 : 262144);
        rtc_sdp_free(s);
    }
}

/* JSEP roles by file name: offers ("*-offer.sdp") say actpass in every section (RFC 8842 §5.2,
** what every stack does), answers ("*-answer.sdp", "*-answer-to-*") active or passive, never
** actpass (RFC 8842 §5.3). */
static void test_setup_roles_by_name(void) {
    char names[64][128];
    int n = corpus_files(names, 64), offers = 0, answers = 0;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(names[i]);
        bool offer = l > 10 && strcmp(names[i] + l - 10, "-offer.sdp") == 0;
        bool answer = strstr(names[i], "-answer-to-") ||
                      (l > 11 && strcmp(names[i] + l - 11, "-answer.sdp") == 0);
        if (offer == answer) continue; /* neither (none today) */
        rtc_sdp *s = load_parse(names[i]);
        REQUIRE(s);
        offers += offer;
        answers += answer;
        for (int m = 0; m < (int)rtc_sdp_media_count(s); m++) {
            rtc_sdp_transport t;
            REQUIRE(rtc_sdp_transport_get(s, m, &t) == RTC_OK);
            if (t.rejected) continue;
            bool ok = offer ? t.setup == RTC_SDP_SETUP_ACTPASS
                            : (t.setup == RTC_SDP_SETUP_ACTIVE || t.setup == RTC_SDP_SETUP_PASSIVE);
            if (!ok) {
                rtc_test_failures++;
                fprintf(stderr, "%s m=%d: setup %s in an %s\n", names[i], m,
                        rtc_sdp_setup_name(t.setup) ? rtc_sdp_setup_name(t.setup) : "(none)",
                        offer ? "offer" : "answer");
            }
        }
        rtc_sdp_free(s);
    }
    CHECK(offers >= 15);
    CHECK(answers >= 12);
}

/* Real Firefox 153 (Debian firefox-esr) and real libdatachannel 0.24.5 (npm node-datachannel). */
static void test_real_firefox_libdatachannel(void) {
    rtc_sdp *s = load_parse("firefox-real-dc-offer.sdp");
    REQUIRE(s);
    rtc_sdp_origin o;
    rtc_sdp_get_origin(s, &o);
    CHECK_STR(o.username, "mozilla...THIS_IS_SDPARTA-99.0");
    CHECK_EQ_INT(rtc_sdp_fingerprint_get(s, RTC_SDP_SESSION, 0, &(rtc_sdp_fingerprint){0}), RTC_OK);
    rtc_sdp_transport t;
    REQUIRE(rtc_sdp_transport_get(s, 0, &t) == RTC_OK);
    CHECK_EQ_INT(t.fingerprint_count, 1); /* from the session */
    CHECK_EQ_INT(t.ice_options, RTC_SDP_ICE_OPT_TRICKLE); /* from the session */
    CHECK_EQ_INT(t.ufrag ? strlen(t.ufrag) : 0, 8);
    CHECK_EQ_INT(t.pwd ? strlen(t.pwd) : 0, 32);
    rtc_sdp_datachannel dc;
    REQUIRE(rtc_sdp_datachannel_find(s, &dc) == RTC_OK);
    CHECK_EQ_INT(dc.max_message_size, 1073741823);
    rtc_sdp_free(s);

    s = load_parse("firefox-real-av-dc-offer.sdp");
    REQUIRE(s);
    CHECK_EQ_INT(rtc_sdp_media_count(s), 3);
    rtc_sdp_rtpmap rm;
    REQUIRE(rtc_sdp_rtpmap_find(s, 0, 109, &rm) == RTC_OK);
    CHECK(rm.clock_rate == 48000 && rm.channels == 2);
    REQUIRE(rtc_sdp_rtpmap_find(s, 0, 9, &rm) == RTC_OK);
    CHECK_EQ_INT(rm.channels, 1); /* "G722/8000/1" */
    rtc_sdp_extmap ex;
    REQUIRE(rtc_sdp_extmap_get(s, 0, 1, &ex) == RTC_OK);
    CHECK(ex.has_direction && ex.direction == RTC_SDP_RECVONLY);
    rtc_sdp_msid ms;
    REQUIRE(rtc_sdp_msid_get(s, 1, 0, &ms) == RTC_OK);
    CHECK(ms.stream.len == 38 && ms.stream.p[0] == '{'); /* "{uuid}" */
    rtc_sdp_free(s);

    s = load_parse("firefox-real-answer-to-chromium-av-dc.sdp");
    REQUIRE(s);
    CHECK_EQ_INT(rtc_sdp_media_count(s), 3);
    REQUIRE(rtc_sdp_datachannel_find(s, &dc) == RTC_OK);
    CHECK_EQ_INT(dc.m, 2);
    rtc_sdp_free(s);

    s = load_parse("libdatachannel-real-dc-offer.sdp");
    REQUIRE(s);
    rtc_sdp_get_origin(s, &o);
    CHECK_STR(o.username, "rtc");
    REQUIRE(rtc_sdp_transport_get(s, 0, &t) == RTC_OK);
    CHECK_EQ_INT(t.ice_options, RTC_SDP_ICE_OPT_ICE2 | RTC_SDP_ICE_OPT_TRICKLE); /* "ice2,trickle" */
    CHECK_EQ_INT(t.fingerprint_count, 1);
    CHECK(t.end_of_candidates);
    CHECK_EQ_INT(t.setup, RTC_SDP_SETUP_ACTPASS);
    rtc_sdp_free(s);

    s = load_parse("libdatachannel-real-av-dc-offer.sdp");
    REQUIRE(s);
    CHECK_EQ_INT(rtc_sdp_media_count(s), 3);
    CHECK_STR(rtc_sdp_mid(s, 0), "audio");
    REQUIRE(rtc_sdp_rtpmap_find(s, 1, 97, &rm) == RTC_OK);
    CHECK(rm.encoding.len == 3 && memcmp(rm.encoding.p, "RTX", 3) == 0); /* upper case */
    rtc_sdp_group g;
    REQUIRE(rtc_sdp_group_get(s, 0, &g) == RTC_OK);
    CHECK_EQ_INT(g.count, 3);
    for (int m = 0; m < 3; m++) CHECK_EQ_INT(rtc_sdp_bundle_owner(s, m), 0);
    rtc_sdp_free(s);

    s = load_parse("libdatachannel-real-answer-to-chromium-dc.sdp");
    REQUIRE(s);
    REQUIRE(rtc_sdp_transport_get(s, 0, &t) == RTC_OK);
    CHECK_EQ_INT(t.setup, RTC_SDP_SETUP_ACTIVE);
    rtc_sdp_free(s);
}

int main(void) {
    RUN(test_corpus_roundtrip);
    RUN(test_chromium_dc_offer);
    RUN(test_chromium_av_offer);
    RUN(test_chromium_av_dc_offer);
    RUN(test_chromium_answers);
    RUN(test_chromium_snap);
    RUN(test_firefox);
    RUN(test_safari);
    RUN(test_pion);
    RUN(test_aiortc);
    RUN(test_libdatachannel);
    RUN(test_gstreamer);
    RUN(test_legacy);
    RUN(test_chromium_answers_to_others);
    RUN(test_setup_roles_by_name);
    RUN(test_real_firefox_libdatachannel);
    return TEST_DONE();
}
