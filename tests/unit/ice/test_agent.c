/*
** The agent's input path with hand-made STUN messages: authentication (RFC 8445 §7.3,
** RFC 8489 §9.1.3), early checks before the remote description (§7.3.1.3), role
** conflicts (§7.3.1.1, §7.2.5.1), responses from unexpected addresses (§7.2.5.2.1),
** bounds, API misuse and allocation failures.
*/
#include <stdlib.h>
#include <string.h>

#include "cwebrtc/ice.h"
#include "cwebrtc/stun.h"
#include "test.h"

#define LUFRAG "locL"
#define LPWD   "localpasswordlocalpassword"
#define RUFRAG "remR"
#define RPWD   "remotepasswordremotepassword"

typedef struct fx {
    rtc_ice *ice;
    rtc_env env;
    rtc_test_rng rng;
    rtc_addr local, remote;
    rtc_time now;
} fx;

static void fx_init(fx *f, bool controlling, uint64_t tie) {
    memset(f, 0, sizeof *f);
    rtc_env_seeded(&f->env, &f->rng, 42);
    rtc_ice_config c = {
        .controlling = controlling, .ufrag = LUFRAG, .pwd = LPWD, .tie_breaker = tie};
    if (rtc_ice_new(&f->ice, &c, &f->env) != RTC_OK) abort();
    rtc_addr_parse(&f->local, "10.0.0.1:5000", 0);
    rtc_addr_parse(&f->remote, "10.9.9.9:6000", 0);
    rtc_ice_add_host_address(f->ice, &f->local);
    rtc_ice_gather(f->ice, 0);
}

/* Drain everything; return the number of transmits, keeping the last one in out/out_len. */
static int fx_drain(fx *f, uint8_t *out, size_t *out_len, rtc_addr *dst, int *events) {
    int n = 0;
    rtc_ice_transmit t;
    rtc_ice_event ev;
    while (rtc_ice_poll_transmit(f->ice, &t) == 1) {
        n++;
        if (out && t.len <= 1500) {
            memcpy(out, t.data, t.len);
            *out_len = t.len;
        }
        if (dst) *dst = t.dst;
    }
    while (rtc_ice_poll_event(f->ice, &ev) == 1)
        if (events) events[ev.type]++;
    return n;
}

typedef struct check_opts {
    const char *username; /* NULL => LUFRAG ":" RUFRAG */
    const char *key;      /* NULL => LPWD */
    bool no_mi, no_fp, no_username, no_priority, use_candidate;
    int role; /* 0 none, 1 controlling, 2 controlled */
    uint64_t tie;
} check_opts;

static size_t make_check(uint8_t *buf, size_t cap, const check_opts *o, uint8_t tid[12]) {
    for (int i = 0; i < 12; i++)
        tid[i] = (uint8_t)(rand() & 0xff);
    rtc_stun_builder b;
    rtc_stun_build_init(&b, buf, cap, RTC_STUN_BINDING, RTC_STUN_REQUEST, tid);
    if (!o->no_username)
        rtc_stun_add_string(&b, RTC_STUN_ATTR_USERNAME,
                            o->username ? o->username : LUFRAG ":" RUFRAG);
    if (!o->no_priority) rtc_stun_add_u32(&b, RTC_STUN_ATTR_PRIORITY, 1862270975u);
    if (o->role == 1) rtc_stun_add_u64(&b, RTC_STUN_ATTR_ICE_CONTROLLING, o->tie);
    if (o->role == 2) rtc_stun_add_u64(&b, RTC_STUN_ATTR_ICE_CONTROLLED, o->tie);
    if (o->use_candidate) rtc_stun_add_flag(&b, RTC_STUN_ATTR_USE_CANDIDATE);
    if (!o->no_mi) {
        rtc_stun_key k;
        const char *pw = o->key ? o->key : LPWD;
        rtc_stun_key_set(&k, (const uint8_t *)pw, strlen(pw));
        rtc_stun_add_integrity(&b, &k);
    }
    if (!o->no_fp) rtc_stun_add_fingerprint(&b);
    int n = rtc_stun_build_finish(&b);
    return n > 0 ? (size_t)n : 0;
}

static int response_code(const uint8_t *buf, size_t len, rtc_stun_msg *m) {
    if (rtc_stun_parse(m, buf, len) != RTC_OK) return -1;
    if (m->cls == RTC_STUN_SUCCESS) return 200;
    int code = 0;
    rtc_stun_get_error_code(m, &code, NULL, NULL);
    return code;
}

static void test_auth(void) {
    fx f;
    fx_init(&f, false, 1);
    fx_drain(&f, NULL, NULL, NULL, NULL);
    uint8_t req[512], out[1500], tid[12];
    size_t len, out_len = 0;
    rtc_stun_msg m;
    struct {
        check_opts o;
        int expect; /* response code, 0 = no response */
    } cases[] = {
        {{.key = "wrongpasswordwrongpassword"}, 401},
        {{.username = "nope:" RUFRAG}, 401},
        {{.username = LUFRAG}, 401},             /* no colon */
        {{.username = LUFRAG "x:" RUFRAG}, 401}, /* prefix of the right ufrag only */
        {{.no_username = true}, 400},
        {{.no_mi = true}, 400},
        {{.no_fp = true}, 0}, /* not ICE (RFC 8445 §7.3): dropped */
        {{.no_priority = true}, 400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        len = make_check(req, sizeof req, &cases[i].o, tid);
        CHECK_EQ_INT(rtc_ice_handle_packet(f.ice, 0, &f.remote, &f.local, req, len), 0);
        int n = fx_drain(&f, out, &out_len, NULL, NULL);
        if (cases[i].expect == 0) {
            CHECK_EQ_INT(n, 0);
            continue;
        }
        REQUIRE(n == 1);
        int code = response_code(out, out_len, &m);
        if (code != cases[i].expect) fprintf(stderr, "case %zu: got %d\n", i, code);
        CHECK_EQ_INT(code, cases[i].expect);
        CHECK(memcmp(m.tid, tid, 12) == 0);
        if (code == 401 || code == 400) CHECK(m.mi < 0 || code == 400);
    }
    rtc_ice_stats s;
    rtc_ice_get_stats(f.ice, &s);
    CHECK_EQ_INT(s.remote_candidates, 0); /* nothing learned from unauthenticated checks */
    CHECK_EQ_INT(s.auth_failures, 4);
    rtc_ice_free(f.ice);
}

/* A valid check before the remote description: answered, remembered (bounded), and
** answered with a triggered check once the credentials arrive. */
static void test_early_check(void) {
    fx f;
    fx_init(&f, false, 1);
    fx_drain(&f, NULL, NULL, NULL, NULL);
    uint8_t req[512], out[1500], tid[12];
    size_t out_len = 0;
    check_opts o = {.role = 1, .tie = 99, .use_candidate = true};
    size_t len = make_check(req, sizeof req, &o, tid);
    CHECK_EQ_INT(rtc_ice_handle_packet(f.ice, 1000, &f.remote, &f.local, req, len), 0);
    rtc_addr dst;
    REQUIRE(fx_drain(&f, out, &out_len, &dst, NULL) == 1);
    rtc_stun_msg m;
    REQUIRE(response_code(out, out_len, &m) == 200);
    CHECK(rtc_addr_equal(&dst, &f.remote));
    rtc_addr mapped;
    CHECK_EQ_INT(rtc_stun_get_xor_addr(&m, RTC_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped), RTC_OK);
    CHECK(rtc_addr_equal(&mapped, &f.remote));
    rtc_stun_key lk;
    rtc_stun_key_set(&lk, (const uint8_t *)LPWD, strlen(LPWD));
    CHECK_EQ_INT(rtc_stun_check_mi(&m, &lk), RTC_OK); /* signed with our password */
    CHECK(m.fp >= 0);
    /* no check can go out yet: we do not know the peer's password */
    CHECK_EQ_INT(rtc_ice_handle_timeout(f.ice, 100000), RTC_OK);
    CHECK_EQ_INT(fx_drain(&f, NULL, NULL, NULL, NULL), 0);
    rtc_ice_stats s;
    rtc_ice_get_stats(f.ice, &s);
    CHECK_EQ_INT(s.early_checks, 1);
    CHECK_EQ_INT(s.remote_candidates, 1);
    /* the description arrives: a triggered check goes to the remembered source */
    CHECK_EQ_INT(rtc_ice_set_remote_credentials(f.ice, RUFRAG, RPWD), RTC_OK);
    CHECK(rtc_ice_next_timeout(f.ice) <= 100000);
    rtc_ice_handle_timeout(f.ice, 100000);
    REQUIRE(fx_drain(&f, out, &out_len, &dst, NULL) == 1);
    CHECK(rtc_addr_equal(&dst, &f.remote));
    REQUIRE(rtc_stun_parse(&m, out, out_len) == RTC_OK);
    CHECK_EQ_INT(m.cls, RTC_STUN_REQUEST);
    char user[64];
    CHECK(rtc_stun_get_string(&m, RTC_STUN_ATTR_USERNAME, user, sizeof user) > 0);
    CHECK_STR(user, RUFRAG ":" LUFRAG);
    rtc_stun_key rk;
    rtc_stun_key_set(&rk, (const uint8_t *)RPWD, strlen(RPWD));
    CHECK_EQ_INT(rtc_stun_check_mi(&m, &rk), RTC_OK);
    CHECK(rtc_stun_has(&m, RTC_STUN_ATTR_ICE_CONTROLLED));
    /* answer it: the controlled agent then selects the pair (USE-CANDIDATE was remembered) */
    uint8_t resp[256];
    rtc_stun_builder b;
    rtc_stun_build_response(&b, resp, sizeof resp, &m, RTC_STUN_SUCCESS);
    rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_MAPPED_ADDRESS, &f.local);
    rtc_stun_add_integrity(&b, &rk);
    rtc_stun_add_fingerprint(&b);
    int rn = rtc_stun_build_finish(&b);
    REQUIRE(rn > 0);
    int events[16] = {0};
    CHECK_EQ_INT(rtc_ice_handle_packet(f.ice, 120000, &f.remote, &f.local, resp, (size_t)rn), 0);
    fx_drain(&f, NULL, NULL, NULL, events);
    CHECK_EQ_INT(events[RTC_ICE_EVENT_SELECTED_PAIR], 1);
    rtc_addr sl, sr;
    CHECK_EQ_INT(rtc_ice_get_selected(f.ice, &sl, &sr, NULL), RTC_OK);
    CHECK(rtc_addr_equal(&sr, &f.remote));
    CHECK(rtc_addr_equal(&sl, &f.local));
    rtc_ice_free(f.ice);
}

/* §7.2.5.2.1: a response that does not come from where the check went fails the pair. */
static void test_unexpected_source(void) {
    fx f;
    fx_init(&f, true, 1);
    rtc_ice_set_remote_credentials(f.ice, RUFRAG, RPWD);
    char line[128];
    snprintf(line, sizeof line, "candidate:1 1 udp 2130706431 10.9.9.9 6000 typ host");
    CHECK_EQ_INT(rtc_ice_add_remote_candidate(f.ice, line), 0);
    rtc_ice_remote_end_of_candidates(f.ice);
    fx_drain(&f, NULL, NULL, NULL, NULL);
    rtc_ice_handle_timeout(f.ice, 0);
    uint8_t out[1500];
    size_t out_len = 0;
    REQUIRE(fx_drain(&f, out, &out_len, NULL, NULL) == 1);
    rtc_stun_msg m;
    REQUIRE(rtc_stun_parse(&m, out, out_len) == RTC_OK);
    rtc_stun_key rk;
    rtc_stun_key_set(&rk, (const uint8_t *)RPWD, strlen(RPWD));
    uint8_t resp[256];
    rtc_stun_builder b;
    /* unsigned response: dropped, retransmissions continue */
    rtc_stun_build_response(&b, resp, sizeof resp, &m, RTC_STUN_SUCCESS);
    rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_MAPPED_ADDRESS, &f.local);
    rtc_stun_add_fingerprint(&b);
    int rn = rtc_stun_build_finish(&b);
    CHECK_EQ_INT(rtc_ice_handle_packet(f.ice, 1000, &f.remote, &f.local, resp, (size_t)rn), 0);
    rtc_ice_stats s;
    rtc_ice_get_stats(f.ice, &s);
    CHECK_EQ_INT(s.auth_failures, 1);
    CHECK_EQ_INT(s.responses_received, 0);
    /* signed, but from another port */
    rtc_stun_build_response(&b, resp, sizeof resp, &m, RTC_STUN_SUCCESS);
    rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_MAPPED_ADDRESS, &f.local);
    rtc_stun_add_integrity(&b, &rk);
    rtc_stun_add_fingerprint(&b);
    rn = rtc_stun_build_finish(&b);
    rtc_addr other;
    rtc_addr_parse(&other, "10.9.9.9:6001", 0);
    CHECK_EQ_INT(rtc_ice_handle_packet(f.ice, 2000, &other, &f.local, resp, (size_t)rn), 0);
    fx_drain(&f, NULL, NULL, NULL, NULL);
    CHECK_EQ_INT(rtc_ice_get_state(f.ice), RTC_ICE_STATE_FAILED);
    CHECK_EQ_INT(rtc_ice_get_selected(f.ice, NULL, NULL, NULL), RTC_ERR_AGAIN);
    /* the real response arriving later changes nothing: the transaction is over */
    CHECK_EQ_INT(rtc_ice_handle_packet(f.ice, 3000, &f.remote, &f.local, resp, (size_t)rn), 0);
    CHECK_EQ_INT(rtc_ice_get_selected(f.ice, NULL, NULL, NULL), RTC_ERR_AGAIN);
    rtc_ice_free(f.ice);
}

/* §7.3.1.1: the larger tie-breaker keeps its role. */
static void test_role_conflict_rules(void) {
    for (int we_controlling = 0; we_controlling < 2; we_controlling++) {
        for (int we_win = 0; we_win < 2; we_win++) {
            fx f;
            fx_init(&f, we_controlling != 0, 1000);
            fx_drain(&f, NULL, NULL, NULL, NULL);
            check_opts o = {.role = we_controlling ? 1 : 2, .tie = we_win ? 10 : 100000};
            uint8_t req[512], out[1500], tid[12];
            size_t out_len = 0;
            size_t len = make_check(req, sizeof req, &o, tid);
            int events[16] = {0};
            rtc_ice_handle_packet(f.ice, 0, &f.remote, &f.local, req, len);
            REQUIRE(fx_drain(&f, out, &out_len, NULL, events) == 1);
            rtc_stun_msg m;
            int code = response_code(out, out_len, &m);
            /* controlling & we win: 487; controlling & we lose: switch, 200;
            ** controlled & we win: switch to controlling, 200; controlled & lose: 487 */
            bool expect_487 = we_controlling ? we_win : !we_win;
            CHECK_EQ_INT(code, expect_487 ? 487 : 200);
            CHECK_EQ_INT(events[RTC_ICE_EVENT_ROLE], expect_487 ? 0 : 1);
            CHECK_EQ_INT(rtc_ice_is_controlling(f.ice),
                         expect_487 ? we_controlling != 0 : we_controlling == 0);
            if (expect_487) {
                rtc_stun_key lk;
                rtc_stun_key_set(&lk, (const uint8_t *)LPWD, strlen(LPWD));
                CHECK_EQ_INT(rtc_stun_check_mi(&m, &lk), RTC_OK);
            }
            rtc_ice_free(f.ice);
        }
    }
}

/* 10,000 early checks from distinct sources: each answered, at most the bound kept. */
static void test_check_flood(void) {
    fx f;
    fx_init(&f, false, 1);
    fx_drain(&f, NULL, NULL, NULL, NULL);
    uint8_t req[512], tid[12];
    check_opts o = {.role = 1, .tie = 5};
    int answered = 0;
    for (int i = 0; i < 10000; i++) {
        rtc_addr src = f.remote;
        src.ip[2] = (uint8_t)(i >> 8);
        src.ip[3] = (uint8_t)i;
        src.port = (uint16_t)(1024 + i);
        size_t len = make_check(req, sizeof req, &o, tid);
        rtc_ice_handle_packet(f.ice, i, &src, &f.local, req, len);
        answered += fx_drain(&f, NULL, NULL, NULL, NULL);
    }
    rtc_ice_stats s;
    rtc_ice_get_stats(f.ice, &s);
    CHECK_EQ_INT(answered, 10000);
    CHECK(s.remote_candidates <= 64);
    CHECK(s.pairs <= 100);
    CHECK(s.remote_dropped >= 10000 - 64);
    rtc_ice_free(f.ice);
}

/* Answer the agent's pending check (the last transmit in out/out_len) as the peer would. */
static void answer(fx *f, const uint8_t *out, size_t out_len, rtc_time now) {
    rtc_stun_msg m;
    if (rtc_stun_parse(&m, out, out_len) != RTC_OK) return;
    rtc_stun_key rk;
    rtc_stun_key_set(&rk, (const uint8_t *)RPWD, strlen(RPWD));
    uint8_t resp[256];
    rtc_stun_builder b;
    rtc_stun_build_response(&b, resp, sizeof resp, &m, RTC_STUN_SUCCESS);
    rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_MAPPED_ADDRESS, &f->local);
    rtc_stun_add_integrity(&b, &rk);
    rtc_stun_add_fingerprint(&b);
    int rn = rtc_stun_build_finish(&b);
    if (rn > 0) rtc_ice_handle_packet(f->ice, now, &f->remote, &f->local, resp, (size_t)rn);
}

/* RFC 8445 §11 keepalives when consent checks are rare, RFC 7675 timing when they are not
** answered: consent requests every 4-6 s, failure exactly 30 s after the last answer. */
static void test_keepalive_and_consent_timing(void) {
    for (int variant = 0; variant < 2; variant++) {
        fx f;
        memset(&f, 0, sizeof f);
        rtc_env_seeded(&f.env, &f.rng, 43);
        rtc_ice_config c = {.ufrag = LUFRAG, .pwd = LPWD};
        if (variant == 0) {
            c.consent_interval = RTC_SEC(100);
            c.consent_timeout = RTC_SEC(300);
            c.disconnected_timeout = RTC_SEC(200);
        }
        REQUIRE(rtc_ice_new(&f.ice, &c, &f.env) == RTC_OK);
        rtc_addr_parse(&f.local, "10.0.0.1:5000", 0);
        rtc_addr_parse(&f.remote, "10.9.9.9:6000", 0);
        rtc_ice_add_host_address(f.ice, &f.local);
        rtc_ice_gather(f.ice, 0);
        rtc_ice_set_remote_credentials(f.ice, RUFRAG, RPWD);
        fx_drain(&f, NULL, NULL, NULL, NULL);
        uint8_t req[512], out[1500], tid[12];
        size_t out_len = 0;
        check_opts o = {.role = 1, .tie = 99, .use_candidate = true};
        size_t len = make_check(req, sizeof req, &o, tid);
        rtc_ice_handle_packet(f.ice, 0, &f.remote, &f.local, req, len);
        fx_drain(&f, NULL, NULL, NULL, NULL);
        rtc_ice_handle_timeout(f.ice, 0);
        REQUIRE(fx_drain(&f, out, &out_len, NULL, NULL) == 1);
        answer(&f, out, out_len, 1000);
        fx_drain(&f, NULL, NULL, NULL, NULL);
        REQUIRE(rtc_ice_get_selected(f.ice, NULL, NULL, NULL) == RTC_OK);
        int indications = 0, requests = 0;
        uint8_t last_tid[12] = {0};
        rtc_time last_req = 0, min_gap = RTC_TIME_NEVER, max_gap = 0, failed_at = 0;
        for (int step = 0; step < 10000; step++) {
            rtc_time t = rtc_ice_next_timeout(f.ice);
            if (t > RTC_SEC(variant == 0 ? 40 : 45)) break;
            rtc_ice_handle_timeout(f.ice, t);
            rtc_ice_transmit tx;
            while (rtc_ice_poll_transmit(f.ice, &tx) == 1) {
                rtc_stun_msg m;
                if (rtc_stun_parse(&m, tx.data, tx.len) != RTC_OK) continue;
                if (m.cls == RTC_STUN_INDICATION) indications++;
                if (m.cls == RTC_STUN_REQUEST) {
                    requests++;
                    /* first transmission of each consent transaction (a new id) */
                    if (memcmp(m.tid, last_tid, 12) != 0) {
                        memcpy(last_tid, m.tid, 12);
                        if (last_req) {
                            if (t - last_req < min_gap) min_gap = t - last_req;
                            if (t - last_req > max_gap) max_gap = t - last_req;
                        }
                        last_req = t;
                    }
                }
            }
            rtc_ice_event ev;
            while (rtc_ice_poll_event(f.ice, &ev) == 1)
                if (ev.type == RTC_ICE_EVENT_STATE && ev.state == RTC_ICE_STATE_FAILED)
                    failed_at = t;
        }
        if (variant == 0) {
            CHECK_EQ_INT(requests, 0);
            CHECK(indications >= 2 && indications <= 3); /* at ~15 s and ~30 s */
        } else {
            CHECK(min_gap >= RTC_MS(4000) && max_gap <= RTC_MS(6000));
            CHECK_EQ_INT(failed_at, 1000 + RTC_SEC(30));
            CHECK_EQ_INT(rtc_ice_send(f.ice, RTC_SEC(45), (const uint8_t *)"\x17", 1),
                         RTC_ERR_AUTH);
        }
        rtc_ice_free(f.ice);
    }
}

static void test_misuse(void) {
    rtc_ice *ice;
    rtc_ice_config bad = {.ufrag = "ab"};
    CHECK_EQ_INT(rtc_ice_new(&ice, &bad, NULL), RTC_ERR_INVALID);
    rtc_ice_config bad2 = {.pwd = "short"};
    CHECK_EQ_INT(rtc_ice_new(&ice, &bad2, NULL), RTC_ERR_INVALID);
    rtc_ice_config bad3 = {.ufrag = "has space"};
    CHECK_EQ_INT(rtc_ice_new(&ice, &bad3, NULL), RTC_ERR_INVALID);
    rtc_ice_free(NULL);
    fx f;
    fx_init(&f, false, 1);
    CHECK_EQ_INT(rtc_ice_set_remote_credentials(f.ice, "abcd", "short"), RTC_ERR_INVALID);
    rtc_addr any;
    rtc_addr_parse(&any, "0.0.0.0:5000", 0);
    CHECK_EQ_INT(rtc_ice_add_host_address(f.ice, &any), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_ice_send(f.ice, 0, (const uint8_t *)"x", 1), RTC_ERR_AGAIN);
    CHECK_EQ_INT(rtc_ice_add_remote_candidate(f.ice, "garbage"), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_ice_add_remote_candidate(
                     f.ice, "candidate:1 1 tcp 1 1.2.3.4 9 typ host tcptype active"),
                 1);
    CHECK_EQ_INT(rtc_ice_add_remote_candidate(f.ice, "candidate:1 2 udp 1 1.2.3.4 9 typ host"), 1);
    CHECK_EQ_INT(rtc_ice_add_remote_candidate(f.ice, "candidate:1 1 udp 1 1.2.3.4 9 typ host"), 0);
    CHECK_EQ_INT(rtc_ice_add_remote_candidate(f.ice, "candidate:1 1 udp 1 1.2.3.4 9 typ host"), 1);
    /* non-STUN is the caller's (DTLS, RTP); malformed STUN is an error, never fatal */
    uint8_t dtls[] = {0x16, 0xfe, 0xfd, 0, 0};
    CHECK_EQ_INT(rtc_ice_handle_packet(f.ice, 0, &f.remote, &f.local, dtls, sizeof dtls), 1);
    uint8_t bad_stun[24] = {0x00, 0x01, 0x00, 0x04, 0x21, 0x12, 0xA4, 0x42};
    bad_stun[20] = 0x00;
    bad_stun[21] = 0x24; /* PRIORITY with length 0xFFFF */
    bad_stun[22] = 0xff;
    bad_stun[23] = 0xff;
    CHECK_EQ_INT(rtc_ice_handle_packet(f.ice, 0, &f.remote, &f.local, bad_stun, sizeof bad_stun),
                 RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_ice_close(f.ice), RTC_OK);
    CHECK_EQ_INT(rtc_ice_get_state(f.ice), RTC_ICE_STATE_CLOSED);
    CHECK_EQ_INT(rtc_ice_handle_packet(f.ice, 0, &f.remote, &f.local, dtls, sizeof dtls),
                 RTC_ERR_CLOSED);
    CHECK_EQ_INT(rtc_ice_next_timeout(f.ice), RTC_TIME_NEVER);
    rtc_ice_transmit t;
    CHECK_EQ_INT(rtc_ice_poll_transmit(f.ice, &t), 0);
    CHECK_EQ_INT(rtc_ice_close(f.ice), RTC_OK);
    rtc_ice_free(f.ice);
}

/* Every allocation failure in rtc_ice_new is reported, never a crash or a leak. */
typedef struct failalloc {
    int left;
} failalloc;
static void *fail_realloc(void *ud, void *ptr, size_t old, size_t n) {
    failalloc *fa = ud;
    if (n == 0) {
        free(ptr);
        return NULL;
    }
    if (fa->left-- <= 0) return NULL;
    return realloc(ptr, n);
}
static void test_nomem(void) {
    int ok_at = -1;
    for (int k = 0; k < 30 && ok_at < 0; k++) {
        failalloc fa = {k};
        rtc_env e = {.realloc = fail_realloc, .ud = &fa};
        rtc_ice *ice = NULL;
        int rc = rtc_ice_new(&ice, NULL, &e);
        if (rc == RTC_OK) {
            ok_at = k;
            rtc_ice_free(ice);
        } else {
            CHECK_EQ_INT(rc, RTC_ERR_NOMEM);
            CHECK(ice == NULL);
        }
    }
    CHECK(ok_at > 0);
}

int main(void) {
    RUN(test_auth);
    RUN(test_early_check);
    RUN(test_unexpected_source);
    RUN(test_role_conflict_rules);
    RUN(test_check_flood);
    RUN(test_keepalive_and_consent_timing);
    RUN(test_misuse);
    RUN(test_nomem);
    return TEST_DONE();
}
