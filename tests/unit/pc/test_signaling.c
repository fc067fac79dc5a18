/*
** tests/unit/pc/test_signaling.c: the JSEP surface without a network: descriptions in
** the wrong state, unparsable or unusable SDP, rollback, and every real offer of
** tests/data/sdp answered (Chromium, Firefox, libdatachannel, pion, aiortc, the legacy
** DTLS/SCTP form).
*/
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cwebrtc/pc.h"
#include "cwebrtc/sdp.h"
#include "test.h"

static rtc_pc *mkpc(uint64_t seed, rtc_env *env, rtc_test_rng *rng) {
    rtc_env_seeded(env, rng, seed);
    rtc_pc *pc = NULL;
    if (rtc_pc_new(&pc, NULL, env) != RTC_OK) return NULL;
    rtc_addr a;
    rtc_addr_parse(&a, "192.0.2.10:4000", 0);
    rtc_pc_add_local_address(pc, &a);
    return pc;
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    if (b) b[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return b;
}

static int drain(rtc_pc *pc) {
    int n = 0;
    rtc_pc_output o;
    while (rtc_pc_poll_output(pc, &o) != RTC_PC_OUT_TIMEOUT && n < 100000) n++;
    return n;
}

static void test_wrong_state(void) {
    rtc_env env;
    rtc_test_rng rng;
    rtc_pc *pc = mkpc(1, &env, &rng);
    REQUIRE(pc);
    char buf[8192];
    CHECK_EQ_INT(rtc_pc_signaling_state_get(pc), RTC_PC_SIGNALING_STABLE);
    CHECK_EQ_INT(rtc_pc_create_answer(pc, buf, sizeof buf), RTC_ERR_MISUSE);
    CHECK(strstr(rtc_pc_last_error(pc), "stable") != NULL);
    CHECK_EQ_INT(rtc_pc_set_local_description(pc, RTC_PC_SDP_ANSWER, NULL), RTC_ERR_MISUSE);
    CHECK_EQ_INT(rtc_pc_set_local_description(pc, RTC_PC_SDP_OFFER, NULL), RTC_ERR_MISUSE);
    CHECK_EQ_INT(rtc_pc_set_local_description(pc, RTC_PC_SDP_ROLLBACK, NULL), RTC_ERR_MISUSE);
    CHECK_EQ_INT(rtc_pc_add_ice_candidate(pc, "candidate:1 1 udp 1 1.2.3.4 5 typ host", "0", 0),
                 RTC_ERR_MISUSE);
    int n = rtc_pc_create_offer(pc, buf, sizeof buf);
    REQUIRE(n > 0);
    CHECK_EQ_INT(rtc_pc_create_offer(pc, buf, 10), RTC_ERR_TOO_SMALL);
    CHECK_EQ_INT((int)rtc_pc_pending_sdp_len(pc), n);
    /* our own offer as a remote answer in stable: wrong state */
    CHECK_EQ_INT(rtc_pc_set_remote_description(pc, RTC_PC_SDP_ANSWER, buf, (size_t)n),
                 RTC_ERR_MISUSE);
    CHECK(strstr(rtc_pc_last_error(pc), "answer") != NULL);
    REQUIRE(rtc_pc_set_local_description(pc, RTC_PC_SDP_OFFER, NULL) == RTC_OK);
    CHECK_EQ_INT(rtc_pc_signaling_state_get(pc), RTC_PC_SIGNALING_HAVE_LOCAL_OFFER);
    CHECK_EQ_INT(rtc_pc_set_remote_description(pc, RTC_PC_SDP_OFFER, buf, (size_t)n),
                 RTC_ERR_MISUSE);
    CHECK_EQ_INT(rtc_pc_set_local_description(pc, RTC_PC_SDP_ANSWER, NULL), RTC_ERR_MISUSE);
    /* the ICE agent started gathering at the first local description */
    drain(pc);
    CHECK(rtc_pc_ice_gathering_state_get(pc) != RTC_ICE_GATHERING_NEW);
    char ld[8192];
    int ln = rtc_pc_local_description(pc, ld, sizeof ld);
    CHECK(ln > 0 && strstr(ld, "a=candidate:") != NULL);
    CHECK_EQ_INT(rtc_pc_local_description(pc, NULL, 0), RTC_ERR_TOO_SMALL);
    /* rollback to stable, twice is an error */
    CHECK_EQ_INT(rtc_pc_set_local_description(pc, RTC_PC_SDP_ROLLBACK, NULL), RTC_OK);
    CHECK_EQ_INT(rtc_pc_signaling_state_get(pc), RTC_PC_SIGNALING_STABLE);
    CHECK_EQ_INT(rtc_pc_set_remote_description(pc, RTC_PC_SDP_ROLLBACK, NULL, 0), RTC_ERR_MISUSE);
    CHECK_EQ_INT(rtc_pc_local_description(pc, ld, sizeof ld), 0);
    rtc_pc_close(pc);
    CHECK_EQ_INT(rtc_pc_create_offer(pc, buf, sizeof buf), RTC_ERR_CLOSED);
    CHECK_EQ_INT(rtc_pc_signaling_state_get(pc), RTC_PC_SIGNALING_CLOSED);
    rtc_pc_free(pc);
}

static void test_bad_sdp(void) {
    rtc_env env;
    rtc_test_rng rng;
    rtc_pc *pc = mkpc(2, &env, &rng);
    REQUIRE(pc);
    const char *junk = "hello world";
    CHECK_EQ_INT(rtc_pc_set_remote_description(pc, RTC_PC_SDP_OFFER, junk, strlen(junk)),
                 RTC_ERR_PARSE);
    CHECK(strstr(rtc_pc_last_error(pc), "not valid SDP") != NULL);
    CHECK_EQ_INT(rtc_pc_signaling_state_get(pc), RTC_PC_SIGNALING_STABLE);
    const char *nodc = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
                       "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n";
    CHECK_EQ_INT(rtc_pc_set_remote_description(pc, RTC_PC_SDP_OFFER, nodc, strlen(nodc)),
                 RTC_ERR_INVALID);
    CHECK(strstr(rtc_pc_last_error(pc), "data-channel") != NULL);
    const char *noice = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
                        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"
                        "a=mid:0\r\na=sctp-port:5000\r\n";
    CHECK_EQ_INT(rtc_pc_set_remote_description(pc, RTC_PC_SDP_OFFER, noice, strlen(noice)),
                 RTC_ERR_INVALID);
    CHECK(strstr(rtc_pc_last_error(pc), "ice-ufrag") != NULL);
    const char *nofp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
                       "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"
                       "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\n"
                       "a=mid:0\r\na=sctp-port:5000\r\n";
    CHECK_EQ_INT(rtc_pc_set_remote_description(pc, RTC_PC_SDP_OFFER, nofp, strlen(nofp)),
                 RTC_ERR_INVALID);
    CHECK(strstr(rtc_pc_last_error(pc), "fingerprint") != NULL);
    const char *md5 = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
                      "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"
                      "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\n"
                      "a=fingerprint:md5 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n"
                      "a=mid:0\r\na=sctp-port:5000\r\n";
    CHECK_EQ_INT(rtc_pc_set_remote_description(pc, RTC_PC_SDP_OFFER, md5, strlen(md5)),
                 RTC_ERR_UNSUPPORTED);
    CHECK_EQ_INT(rtc_pc_signaling_state_get(pc), RTC_PC_SIGNALING_STABLE);
    CHECK_EQ_INT(rtc_pc_remote_description(pc, NULL, 0), 0);
    /* SDP munging of our own credentials is refused */
    char offer[8192];
    REQUIRE(rtc_pc_create_offer(pc, offer, sizeof offer) > 0);
    char *u = strstr(offer, "a=ice-ufrag:");
    REQUIRE(u);
    u[strlen("a=ice-ufrag:")] ^= 1;
    CHECK_EQ_INT(rtc_pc_set_local_description(pc, RTC_PC_SDP_OFFER, offer), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_pc_signaling_state_get(pc), RTC_PC_SIGNALING_STABLE);
    rtc_pc_free(pc);
}

/* Answer offer `text`; check the answer is well-formed and accepts the data section. */
static void answer_one(const char *name, const char *text, size_t len) {
    rtc_env env;
    rtc_test_rng rng;
    rtc_pc *pc = mkpc(3, &env, &rng);
    REQUIRE(pc);
    rtc_sdp *o = NULL;
    REQUIRE(rtc_sdp_new(&o, NULL) == RTC_OK);
    REQUIRE(rtc_sdp_parse(o, text, len) == RTC_OK);
    rtc_sdp_datachannel odc;
    bool has_dc = rtc_sdp_datachannel_find(o, &odc) == RTC_OK && !odc.rejected;
    int rc = rtc_pc_set_remote_description(pc, RTC_PC_SDP_OFFER, text, len);
    if (!has_dc) {
        CHECK_EQ_INT(rc, RTC_ERR_INVALID);
        rtc_sdp_free(o);
        rtc_pc_free(pc);
        return;
    }
    if (rc != RTC_OK) fprintf(stderr, "  %s: %s\n", name, rtc_pc_last_error(pc));
    CHECK_EQ_INT(rc, RTC_OK);
    static char ans[65536];
    int n = rtc_pc_create_answer(pc, ans, sizeof ans);
    CHECK(n > 0);
    if (n > 0) {
        CHECK_EQ_INT(rtc_pc_set_local_description(pc, RTC_PC_SDP_ANSWER, NULL), RTC_OK);
        rtc_sdp *a = NULL;
        REQUIRE(rtc_sdp_new(&a, NULL) == RTC_OK);
        CHECK_EQ_INT(rtc_sdp_parse(a, ans, (size_t)n), RTC_OK);
        CHECK_EQ_INT(rtc_sdp_media_count(a), rtc_sdp_media_count(o)); /* RFC 8829 §5.3.1 */
        rtc_sdp_datachannel adc;
        CHECK_EQ_INT(rtc_sdp_datachannel_find(a, &adc), RTC_OK);
        CHECK_EQ_INT(adc.m, odc.m);
        CHECK(!adc.rejected);
        CHECK(adc.legacy == odc.legacy);
        rtc_sdp_transport t;
        CHECK_EQ_INT(rtc_sdp_transport_get(a, adc.m, &t), RTC_OK);
        CHECK(t.setup == RTC_SDP_SETUP_ACTIVE || t.setup == RTC_SDP_SETUP_PASSIVE);
        CHECK(t.ufrag && t.pwd && t.fingerprint_count == 1);
        const char *om = rtc_sdp_mid(o, odc.m), *am = rtc_sdp_mid(a, adc.m);
        CHECK((!om && am && strcmp(am, "0") == 0) || (om && am && strcmp(om, am) == 0));
        for (size_t i = 0; i < rtc_sdp_media_count(a); i++) {
            rtc_sdp_media m;
            rtc_sdp_get_media(a, (int)i, &m);
            if ((int)i != adc.m) CHECK_EQ_INT(m.port, 0);
        }
        /* never echo attributes we do not implement (Chromium's a=sctp-init) */
        CHECK(strstr(ans, "sctp-init") == NULL);
        rtc_sdp_free(a);
    }
    CHECK_EQ_INT(rtc_pc_signaling_state_get(pc), RTC_PC_SIGNALING_STABLE);
    CHECK_EQ_INT(rtc_pc_dtls_role(pc), RTC_DTLS_ROLE_CLIENT); /* we answered active */
    drain(pc);
    rtc_sdp_free(o);
    rtc_pc_free(pc);
}

static void test_corpus_offers(void) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/data/sdp", RTC_SOURCE_DIR);
    DIR *d = opendir(dir);
    REQUIRE(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 10 || strcmp(e->d_name + l - 10, "-offer.sdp") != 0) continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len;
        char *t = slurp(path, &len);
        CHECK(t != NULL);
        if (!t) continue;
        int before = rtc_test_failures;
        answer_one(e->d_name, t, len);
        if (rtc_test_failures != before) fprintf(stderr, "  ... in %s\n", e->d_name);
        free(t);
        n++;
    }
    closedir(d);
    fprintf(stderr, "  answered %d offers\n", n);
    CHECK(n >= 10);
}

/* The Chromium offer with a trickled candidate, including one for a bad mid. */
static void test_chromium_offer_candidates(void) {
    char path[2048];
    snprintf(path, sizeof path, "%s/tests/data/sdp/chromium-dc-offer.sdp", RTC_SOURCE_DIR);
    size_t len;
    char *t = slurp(path, &len);
    REQUIRE(t);
    rtc_env env;
    rtc_test_rng rng;
    rtc_pc *pc = mkpc(4, &env, &rng);
    REQUIRE(pc);
    REQUIRE(rtc_pc_set_remote_description(pc, RTC_PC_SDP_OFFER, t, len) == RTC_OK);
    CHECK_EQ_INT(rtc_pc_signaling_state_get(pc), RTC_PC_SIGNALING_HAVE_REMOTE_OFFER);
    CHECK_EQ_INT(rtc_pc_create_offer(pc, NULL, 0), RTC_ERR_MISUSE);
    const char *c = "candidate:1 1 udp 2122260223 127.0.0.2 50000 typ host generation 0";
    CHECK_EQ_INT(rtc_pc_add_ice_candidate(pc, c, "0", -1), RTC_OK);
    CHECK_EQ_INT(rtc_pc_add_ice_candidate(pc, c, "nope", -1), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_pc_add_ice_candidate(pc, c, NULL, 5), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_pc_add_ice_candidate(pc, "candidate:garbage", "0", 0), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_pc_add_ice_candidate(pc, "", "0", 0), RTC_OK); /* end-of-candidates */
    char ans[8192];
    int n = rtc_pc_create_answer(pc, ans, sizeof ans);
    REQUIRE(n > 0);
    CHECK(strstr(ans, "a=group:BUNDLE 0\r\n") != NULL);
    CHECK(strstr(ans, "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n") != NULL);
    CHECK(strstr(ans, "a=setup:active\r\n") != NULL);
    CHECK(strstr(ans, "a=sctp-port:5000\r\n") != NULL);
    CHECK(strstr(ans, "a=max-message-size:262144\r\n") != NULL);
    CHECK(strstr(ans, "a=ice-options:trickle\r\n") != NULL);
    /* a remote pranswer path: have-local-pranswer -> answer */
    CHECK_EQ_INT(rtc_pc_set_local_description(pc, RTC_PC_SDP_PRANSWER, ans), RTC_OK);
    CHECK_EQ_INT(rtc_pc_signaling_state_get(pc), RTC_PC_SIGNALING_HAVE_LOCAL_PRANSWER);
    CHECK_EQ_INT(rtc_pc_set_local_description(pc, RTC_PC_SDP_ANSWER, ans), RTC_OK);
    CHECK_EQ_INT(rtc_pc_signaling_state_get(pc), RTC_PC_SIGNALING_STABLE);
    char rd[8192];
    CHECK_EQ_INT(rtc_pc_remote_description(pc, rd, sizeof rd), (int)len);
    drain(pc);
    free(t);
    rtc_pc_free(pc);
}

static void test_names(void) {
    CHECK_STR(rtc_pc_signaling_state_name(RTC_PC_SIGNALING_HAVE_REMOTE_PRANSWER),
              "have-remote-pranswer");
    CHECK_STR(rtc_pc_connection_state_name(RTC_PC_CONNECTION_DISCONNECTED), "disconnected");
    rtc_pc_sdp_type t;
    CHECK(rtc_pc_sdp_type_parse("rollback", &t) == RTC_OK && t == RTC_PC_SDP_ROLLBACK);
    CHECK_EQ_INT(rtc_pc_sdp_type_parse("Offer", &t), RTC_ERR_PARSE);
    rtc_pc *pc = NULL;
    rtc_pc_ice_server bad = {"http://x", NULL, NULL};
    rtc_pc_config cfg = {.ice_servers = &bad, .n_ice_servers = 1};
    CHECK_EQ_INT(rtc_pc_new(&pc, &cfg, NULL), RTC_ERR_INVALID);
    rtc_pc_ice_server turn = {"turn:192.0.2.1:3478", NULL, NULL};
    cfg.ice_servers = &turn;
    CHECK_EQ_INT(rtc_pc_new(&pc, &cfg, NULL), RTC_ERR_INVALID);
    rtc_pc_ice_server dtls_turn = {"turns:192.0.2.1?transport=udp", "u", "p"};
    cfg.ice_servers = &dtls_turn;
    CHECK_EQ_INT(rtc_pc_new(&pc, &cfg, NULL), RTC_ERR_INVALID); /* TURN over DTLS (RFC 7350) */
    rtc_pc_ice_server tcp_turn = {"turns:192.0.2.1", "u", "p"};
    cfg.ice_servers = &tcp_turn;
    REQUIRE(rtc_pc_new(&pc, &cfg, NULL) == RTC_OK); /* accepted, not used yet */
    rtc_pc_free(pc);
    pc = NULL;
    rtc_pc_ice_server stun[2] = {{"stun:192.0.2.1", NULL, NULL}, {"stun:stun.example.org", NULL, NULL}};
    cfg.ice_servers = stun;
    cfg.n_ice_servers = 2;
    REQUIRE(rtc_pc_new(&pc, &cfg, NULL) == RTC_OK);
    char offer[4096];
    REQUIRE(rtc_pc_create_offer(pc, offer, sizeof offer) > 0);
    REQUIRE(rtc_pc_set_local_description(pc, RTC_PC_SDP_OFFER, NULL) == RTC_OK);
    rtc_pc_output o;
    bool resolve = false;
    for (int i = 0; i < 100 && rtc_pc_poll_output(pc, &o) != RTC_PC_OUT_TIMEOUT; i++)
        if (o.kind == RTC_PC_OUT_EVENT && o.event.type == RTC_PC_EV_RESOLVE)
            resolve = strcmp(o.event.name, "stun.example.org") == 0;
    CHECK(resolve);
    rtc_addr a;
    rtc_addr_parse(&a, "192.0.2.2", 0);
    CHECK_EQ_INT(rtc_pc_resolved(pc, "stun.example.org", &a), RTC_OK);
    drain(pc);
    rtc_pc_free(pc);
}

int main(void) {
    RUN(test_wrong_state);
    RUN(test_bad_sdp);
    RUN(test_corpus_offers);
    RUN(test_chromium_offer_candidates);
    RUN(test_names);
    return TEST_DONE();
}
