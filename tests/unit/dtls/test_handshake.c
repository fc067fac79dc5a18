/*
** DTLS handshakes between two of our cores in memory: both role assignments, roles from
** a=setup, SRTP profiles and exported keys, application data, close_notify, wrong and
** late fingerprints, loss/reordering/duplication (real time, short timers), fragmented
** flights (small MTU) and RSA certificates.
*/
#include "dtls_harness.h"
#include "test.h"

static rtc_dtls_cert *cert_a, *cert_b;
static rtc_dtls_fingerprint fp_a, fp_b;
static h_pair P; /* large: keep off the stack */

static void setup_certs(void) {
    rtc_dtls_cert_new(&cert_a, NULL, NULL);
    rtc_dtls_cert_new(&cert_b, NULL, NULL);
    rtc_dtls_cert_fingerprint(cert_a, RTC_DTLS_HASH_SHA256, &fp_a, NULL, 0);
    rtc_dtls_cert_fingerprint(cert_b, RTC_DTLS_HASH_SHA256, &fp_b, NULL, 0);
}

/* Creates a (cert_a) and b (cert_b) with the given roles and per-side config tweaks. */
static bool make_pair(rtc_dtls **a, rtc_dtls **b, rtc_dtls_role ra, rtc_dtls_config *ca_in,
                      rtc_dtls_config *cb_in) {
    rtc_dtls_config ca = ca_in ? *ca_in : h_config(ra, cert_a, &fp_b);
    rtc_dtls_config cb = cb_in ? *cb_in : h_config(1 - ra, cert_b, &fp_a);
    *a = *b = NULL;
    if (rtc_dtls_new(a, &ca, NULL) != RTC_OK) return false;
    if (rtc_dtls_new(b, &cb, NULL) != RTC_OK) return false;
    return true;
}

static void start_both(rtc_dtls *a, rtc_dtls *b) {
    rtc_time now = h_now();
    rtc_dtls_start(a, now);
    rtc_dtls_start(b, now);
}

static void check_keys_agree(rtc_dtls *a, rtc_dtls *b, uint16_t profile, size_t material_len) {
    rtc_dtls_srtp_keys ka, kb;
    CHECK_EQ_INT(rtc_dtls_get_srtp_keys(a, &ka), RTC_OK);
    CHECK_EQ_INT(rtc_dtls_get_srtp_keys(b, &kb), RTC_OK);
    CHECK_EQ_INT(ka.profile, profile);
    CHECK_EQ_INT(kb.profile, profile);
    CHECK_EQ_INT(ka.material_len, material_len);
    CHECK_MEM(ka.material, kb.material, material_len);
    CHECK_MEM(ka.local_key, kb.remote_key, ka.key_len);
    CHECK_MEM(ka.remote_key, kb.local_key, ka.key_len);
    CHECK_MEM(ka.local_salt, kb.remote_salt, ka.salt_len);
    CHECK_MEM(ka.remote_salt, kb.local_salt, ka.salt_len);
    /* The two directions must differ (a mix-up would give both the same key). */
    CHECK(memcmp(ka.local_key, ka.remote_key, ka.key_len) != 0);
    /* Layout (RFC 5764 §4.2): client_key | server_key | client_salt | server_salt. */
    rtc_dtls *client = rtc_dtls_get_role(a) == RTC_DTLS_ROLE_CLIENT ? a : b;
    rtc_dtls_srtp_keys *kc = client == a ? &ka : &kb;
    CHECK_MEM(kc->local_key, kc->material, kc->key_len);
    CHECK_MEM(kc->local_salt, kc->material + 2 * kc->key_len, kc->salt_len);
    uint8_t other[88];
    CHECK_EQ_INT(rtc_dtls_export_keying_material(a, "EXTRACTOR-dtls_srtp", other, material_len),
                 RTC_OK);
    CHECK_MEM(other, ka.material, material_len);
}

static void handshake_roles(rtc_dtls_role ra) {
    rtc_dtls *a, *b;
    REQUIRE(make_pair(&a, &b, ra, NULL, NULL));
    h_init(&P, a, b, 1);
    CHECK_EQ_INT(rtc_dtls_get_state(a), RTC_DTLS_STATE_NEW);
    start_both(a, b);
    CHECK(h_run(&P, 5000));
    CHECK_EQ_INT(rtc_dtls_get_state(a), RTC_DTLS_STATE_CONNECTED);
    CHECK_EQ_INT(rtc_dtls_get_state(b), RTC_DTLS_STATE_CONNECTED);
    CHECK_EQ_INT(P.s[0].connected, 1);
    CHECK_EQ_INT(P.s[1].connected, 1);
    CHECK_EQ_INT(P.s[0].failed + P.s[1].failed, 0);
    /* Server preference order: AEAD-AES-128-GCM is first in our list. */
    CHECK_EQ_INT(P.s[0].profile, RTC_DTLS_SRTP_AEAD_AES_128_GCM);
    CHECK_EQ_INT(P.s[1].profile, RTC_DTLS_SRTP_AEAD_AES_128_GCM);
    check_keys_agree(a, b, RTC_DTLS_SRTP_AEAD_AES_128_GCM, 56);
    /* Peer fingerprints as seen from inside the session. */
    rtc_dtls_fingerprint got;
    CHECK_EQ_INT(rtc_dtls_peer_fingerprint(a, RTC_DTLS_HASH_SHA256, &got, NULL, 0), RTC_OK);
    CHECK_MEM(got.value, fp_b.value, 32);
    CHECK_EQ_INT(rtc_dtls_next_timeout(a), RTC_TIME_NEVER);
    CHECK_EQ_INT(rtc_dtls_next_timeout(b), RTC_TIME_NEVER);
    /* Every datagram respects the default MTU of 1200. */
    rtc_dtls_stats st;
    rtc_dtls_get_stats(a, &st);
    CHECK(st.datagrams_out >= 2);
    CHECK_EQ_INT(st.dropped_out, 0);
    rtc_dtls_free(a);
    rtc_dtls_free(b);
}

static void test_client_server(void) { handshake_roles(RTC_DTLS_ROLE_CLIENT); }
static void test_server_client(void) { handshake_roles(RTC_DTLS_ROLE_SERVER); }

/* Offer/answer: the offerer says actpass, the answerer picks (RFC 5763 §5, RFC 8842 §5). */
static void test_roles_from_setup(void) {
    rtc_dtls_setup offers[] = {RTC_DTLS_SETUP_ACTPASS, RTC_DTLS_SETUP_ACTIVE,
                               RTC_DTLS_SETUP_PASSIVE};
    for (size_t i = 0; i < 3; i++) {
        rtc_dtls_setup answer;
        REQUIRE(rtc_dtls_setup_for_answer(offers[i], &answer) == RTC_OK);
        rtc_dtls_role r_off, r_ans;
        REQUIRE(rtc_dtls_role_from_setup(offers[i], answer, &r_off) == RTC_OK);
        REQUIRE(rtc_dtls_role_from_setup(answer, offers[i], &r_ans) == RTC_OK);
        CHECK(r_off != r_ans);
        rtc_dtls *a, *b;
        rtc_dtls_config ca = h_config(r_off, cert_a, &fp_b), cb = h_config(r_ans, cert_b, &fp_a);
        REQUIRE(make_pair(&a, &b, r_off, &ca, &cb));
        h_init(&P, a, b, 2);
        start_both(a, b);
        CHECK(h_run(&P, 5000));
        CHECK_EQ_INT(P.s[0].connected, 1);
        CHECK_EQ_INT(P.s[1].connected, 1);
        rtc_dtls_free(a);
        rtc_dtls_free(b);
    }
}

static void profile_case(const char *client_list, const char *server_list, uint16_t want,
                         size_t mat_len) {
    rtc_dtls *a, *b;
    rtc_dtls_config ca = h_config(RTC_DTLS_ROLE_CLIENT, cert_a, &fp_b);
    rtc_dtls_config cb = h_config(RTC_DTLS_ROLE_SERVER, cert_b, &fp_a);
    ca.srtp_profiles = client_list;
    cb.srtp_profiles = server_list;
    REQUIRE(make_pair(&a, &b, RTC_DTLS_ROLE_CLIENT, &ca, &cb));
    h_init(&P, a, b, 3);
    start_both(a, b);
    CHECK(h_run(&P, 5000));
    CHECK_EQ_INT(P.s[0].connected, 1);
    CHECK_EQ_INT(P.s[0].profile, want);
    check_keys_agree(a, b, want, mat_len);
    rtc_dtls_free(a);
    rtc_dtls_free(b);
}

static void test_srtp_profiles(void) {
    profile_case("SRTP_AES128_CM_SHA1_80", NULL, RTC_DTLS_SRTP_AES128_CM_SHA1_80, 60);
    profile_case("SRTP_AES128_CM_SHA1_32", NULL, RTC_DTLS_SRTP_AES128_CM_SHA1_32, 60);
    profile_case("SRTP_AEAD_AES_256_GCM:SRTP_AES128_CM_SHA1_80", NULL,
                 RTC_DTLS_SRTP_AEAD_AES_256_GCM, 88);
    profile_case(NULL, "SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM",
                 RTC_DTLS_SRTP_AES128_CM_SHA1_80, 60);
    size_t k, s;
    CHECK_EQ_INT(rtc_dtls_srtp_profile_lengths(0x0008, &k, &s), RTC_OK);
    CHECK_EQ_INT(2 * (k + s), 88);
    CHECK_EQ_INT(rtc_dtls_srtp_profile_lengths(0x0005, &k, &s), RTC_ERR_UNSUPPORTED);
    CHECK_STR(rtc_dtls_srtp_profile_name(0x0007), "SRTP_AEAD_AES_128_GCM");
    /* An unknown profile name is refused at creation. */
    rtc_dtls *x = NULL;
    rtc_dtls_config c = h_config(RTC_DTLS_ROLE_CLIENT, cert_a, &fp_b);
    c.srtp_profiles = "SRTP_BOGUS";
    CHECK(rtc_dtls_new(&x, &c, NULL) != RTC_OK);
    CHECK(x == NULL);
}

static void connected_pair(rtc_dtls **a, rtc_dtls **b, uint64_t seed) {
    *a = *b = NULL;
    if (!make_pair(a, b, RTC_DTLS_ROLE_CLIENT, NULL, NULL)) return;
    h_init(&P, *a, *b, seed);
    start_both(*a, *b);
    h_run(&P, 5000);
}

static void test_application_data(void) {
    rtc_dtls *a, *b;
    connected_pair(&a, &b, 4);
    REQUIRE(a && b && P.s[0].connected && P.s[1].connected);
    size_t max = rtc_dtls_max_send(a);
    CHECK(max > 1100 && max < 1200);
    uint8_t msg[1200];
    rtc_time now = h_now();
    size_t total_ab = 0, total_ba = 0;
    for (int i = 0; i < 20; i++) {
        size_t n = 1 + (size_t)(i * 97) % max;
        for (size_t j = 0; j < n; j++)
            msg[j] = (uint8_t)(i + j);
        CHECK_EQ_INT(rtc_dtls_send(a, now, msg, n), RTC_OK);
        total_ab += n;
        CHECK_EQ_INT(rtc_dtls_send(b, now, msg, n / 2 + 1), RTC_OK);
        total_ba += n / 2 + 1;
        h_run(&P, 2000);
    }
    CHECK_EQ_INT(P.s[1].rx_msgs, 20);
    CHECK_EQ_INT(P.s[1].rx_len, total_ab);
    CHECK_EQ_INT(P.s[0].rx_msgs, 20);
    CHECK_EQ_INT(P.s[0].rx_len, total_ba);
    /* Content check of the first message each way. */
    CHECK_EQ_INT(P.s[1].rx[0], 0);
    /* Oversized and empty sends are refused, not fragmented. */
    CHECK_EQ_INT(rtc_dtls_send(a, now, msg, max + 1), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_dtls_send(a, now, msg, 0), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_dtls_send(a, now, msg, max), RTC_OK);
    rtc_dtls_transmit t;
    REQUIRE(rtc_dtls_poll_transmit(a, &t) == 1);
    CHECK(t.len <= 1200);
    rtc_dtls_free(a);
    rtc_dtls_free(b);
}

static void test_close_notify(void) {
    rtc_dtls *a, *b;
    connected_pair(&a, &b, 5);
    REQUIRE(a && b && P.s[0].connected && P.s[1].connected);
    CHECK_EQ_INT(rtc_dtls_close(b, h_now()), RTC_OK);
    CHECK_EQ_INT(rtc_dtls_get_state(b), RTC_DTLS_STATE_CLOSED);
    h_run(&P, 2000);
    CHECK_EQ_INT(P.s[0].closed, 1);
    CHECK_EQ_INT(P.s[0].failed, 0);
    CHECK_EQ_INT(rtc_dtls_get_state(a), RTC_DTLS_STATE_CLOSED);
    uint8_t x = 1;
    CHECK_EQ_INT(rtc_dtls_send(a, h_now(), &x, 1), RTC_ERR_MISUSE);
    CHECK_EQ_INT(rtc_dtls_close(a, h_now()), RTC_OK); /* idempotent */
    rtc_dtls_free(a);
    rtc_dtls_free(b);
}

/* Wrong fingerprint configured on side `wrong_side` (0 = client a, 1 = server b). */
static void wrong_fp_case(int wrong_side) {
    rtc_dtls_fingerprint bad = fp_a;
    bad.value[5] ^= 0x40;
    rtc_dtls *a, *b;
    rtc_dtls_config ca = h_config(RTC_DTLS_ROLE_CLIENT, cert_a, wrong_side == 0 ? &bad : &fp_b);
    rtc_dtls_config cb = h_config(RTC_DTLS_ROLE_SERVER, cert_b, wrong_side == 1 ? &bad : &fp_a);
    REQUIRE(make_pair(&a, &b, RTC_DTLS_ROLE_CLIENT, &ca, &cb));
    h_init(&P, a, b, 6);
    start_both(a, b);
    CHECK(h_run(&P, 5000));
    h_side *w = &P.s[wrong_side], *o = &P.s[1 - wrong_side];
    CHECK_EQ_INT(w->mismatch, 1);
    CHECK_EQ_INT(w->failed, 1);
    CHECK_EQ_INT(w->fail_err, RTC_ERR_AUTH);
    CHECK_EQ_INT(w->connected, 0);
    CHECK_EQ_INT(w->alerts, 0); /* it sent the alert; it did not receive one */
    /* The other side is told with a fatal bad_certificate alert and fails too. */
    CHECK_EQ_INT(o->failed, 1);
    CHECK_EQ_INT(o->connected, 0);
    CHECK_EQ_INT(o->alerts, 1);
    CHECK_EQ_INT(o->last_alert_level, 2);
    CHECK_EQ_INT(o->last_alert_desc, 42);
    CHECK_EQ_INT(o->fail_err, RTC_ERR_AUTH);
    CHECK_EQ_INT(rtc_dtls_get_state(a), RTC_DTLS_STATE_FAILED);
    CHECK_EQ_INT(rtc_dtls_get_state(b), RTC_DTLS_STATE_FAILED);
    rtc_dtls_srtp_keys k;
    CHECK_EQ_INT(rtc_dtls_get_srtp_keys(a, &k), RTC_ERR_MISUSE);
    CHECK_EQ_INT(rtc_dtls_get_srtp_keys(b, &k), RTC_ERR_MISUSE);
    rtc_dtls_free(a);
    rtc_dtls_free(b);
}

static void test_wrong_fingerprint_client(void) { wrong_fp_case(0); }
static void test_wrong_fingerprint_server(void) { wrong_fp_case(1); }

/* Any one of several fingerprints (other hashes included) may match. */
static void test_fingerprint_list(void) {
    rtc_dtls_fingerprint list[3];
    rtc_dtls_fingerprint bad = fp_b;
    bad.value[0] ^= 1;
    list[0] = bad;
    rtc_dtls_cert_fingerprint(cert_b, RTC_DTLS_HASH_SHA512, &list[1], NULL, 0);
    list[2] = fp_b;
    list[2].value[31] ^= 0x80;
    rtc_dtls *a, *b;
    rtc_dtls_config ca = h_config(RTC_DTLS_ROLE_CLIENT, cert_a, NULL);
    ca.remote_fingerprints = list;
    ca.n_remote_fingerprints = 3;
    rtc_dtls_config cb = h_config(RTC_DTLS_ROLE_SERVER, cert_b, &fp_a);
    REQUIRE(make_pair(&a, &b, RTC_DTLS_ROLE_CLIENT, &ca, &cb));
    h_init(&P, a, b, 7);
    start_both(a, b);
    CHECK(h_run(&P, 5000));
    CHECK_EQ_INT(P.s[0].connected, 1);
    CHECK_EQ_INT(P.s[1].connected, 1);
    rtc_dtls_free(a);
    rtc_dtls_free(b);
}

/* The answer (with the fingerprint) arrives after the handshake finished on side `late`. */
static void late_fp_case(int late, bool correct) {
    rtc_dtls *a, *b;
    rtc_dtls_config ca = h_config(RTC_DTLS_ROLE_CLIENT, cert_a, late == 0 ? NULL : &fp_b);
    rtc_dtls_config cb = h_config(RTC_DTLS_ROLE_SERVER, cert_b, late == 1 ? NULL : &fp_a);
    REQUIRE(make_pair(&a, &b, RTC_DTLS_ROLE_CLIENT, &ca, &cb));
    h_init(&P, a, b, 8);
    start_both(a, b);
    CHECK(h_run(&P, 5000));
    h_side *l = &P.s[late], *o = &P.s[1 - late];
    CHECK_EQ_INT(rtc_dtls_get_state(l->d), RTC_DTLS_STATE_AWAIT_FINGERPRINT);
    CHECK_EQ_INT(l->connected, 0);
    CHECK_EQ_INT(o->connected, 1);
    /* Not verified yet: nothing may be surfaced or sent, no keys. */
    rtc_dtls_srtp_keys k;
    CHECK_EQ_INT(rtc_dtls_get_srtp_keys(l->d, &k), RTC_ERR_MISUSE);
    uint8_t msg[100];
    memset(msg, 0xab, sizeof msg);
    CHECK_EQ_INT(rtc_dtls_send(l->d, h_now(), msg, sizeof msg), RTC_ERR_MISUSE);
    /* The verified side sends data: it must wait in the late side. */
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(rtc_dtls_send(o->d, h_now(), msg, sizeof msg), 0);
    h_run(&P, 1000);
    CHECK_EQ_INT(l->rx_msgs, 0);
    /* The peer certificate is visible, which is how an application could log it. */
    char fpstr[RTC_DTLS_FINGERPRINT_STRLEN];
    CHECK_EQ_INT(rtc_dtls_peer_fingerprint(l->d, RTC_DTLS_HASH_SHA256, NULL, fpstr, sizeof fpstr),
                 RTC_OK);
    rtc_dtls_fingerprint want = late == 0 ? fp_b : fp_a;
    if (!correct) want.value[7] ^= 2;
    CHECK_EQ_INT(rtc_dtls_set_remote_fingerprints(l->d, h_now(), &want, 1), RTC_OK);
    h_run(&P, 2000);
    if (correct) {
        CHECK_EQ_INT(l->connected, 1);
        CHECK_EQ_INT(l->rx_msgs, 3);
        CHECK_EQ_INT(l->rx_len, 300);
        CHECK_EQ_INT(rtc_dtls_get_srtp_keys(l->d, &k), RTC_OK);
        check_keys_agree(a, b, RTC_DTLS_SRTP_AEAD_AES_128_GCM, 56);
        /* And the late side can now talk back. */
        CHECK_EQ_INT(rtc_dtls_send(l->d, h_now(), msg, 10), RTC_OK);
        h_run(&P, 1000);
        CHECK_EQ_INT(o->rx_len, 10);
        CHECK_EQ_INT(rtc_dtls_set_remote_fingerprints(l->d, h_now(), &want, 1), RTC_ERR_MISUSE);
    } else {
        CHECK_EQ_INT(l->connected, 0);
        CHECK_EQ_INT(l->mismatch, 1);
        CHECK_EQ_INT(l->failed, 1);
        CHECK_EQ_INT(l->fail_err, RTC_ERR_AUTH);
        CHECK_EQ_INT(l->rx_msgs, 0);
        /* The peer learns through close_notify. */
        CHECK_EQ_INT(o->closed, 1);
        CHECK_EQ_INT(rtc_dtls_get_state(o->d), RTC_DTLS_STATE_CLOSED);
    }
    rtc_dtls_free(a);
    rtc_dtls_free(b);
}

static void test_late_fingerprint_server(void) { late_fp_case(1, true); }
static void test_late_fingerprint_client(void) { late_fp_case(0, true); }
static void test_late_wrong_fingerprint(void) {
    late_fp_case(1, false);
    late_fp_case(0, false);
}

/* Fragmented flights (MTU 300) delivered in reverse order and duplicated. */
static void test_reorder_duplicate_small_mtu(void) {
    for (int role = 0; role < 2; role++) {
        rtc_dtls *a, *b;
        rtc_dtls_config ca = h_config((rtc_dtls_role)role, cert_a, &fp_b);
        rtc_dtls_config cb = h_config((rtc_dtls_role)(1 - role), cert_b, &fp_a);
        ca.mtu = cb.mtu = 300;
        REQUIRE(make_pair(&a, &b, (rtc_dtls_role)role, &ca, &cb));
        h_init(&P, a, b, 9);
        P.reorder = true;
        P.duplicate = true;
        start_both(a, b);
        CHECK(h_run(&P, 5000));
        CHECK_EQ_INT(P.s[0].connected, 1);
        CHECK_EQ_INT(P.s[1].connected, 1);
        /* The server's flight 4 (certificate etc.) needed several datagrams. */
        CHECK(P.s[0].sent + P.s[1].sent >= 6);
        check_keys_agree(a, b, RTC_DTLS_SRTP_AEAD_AES_128_GCM, 56);
        rtc_dtls_free(a);
        rtc_dtls_free(b);
    }
}

/* Loss in real time with a short timer: the first flight of each side is lost, then 20%
** random loss on a fragmented (MTU 400) handshake. */
static void test_loss_retransmission(void) {
    for (int role = 0; role < 2; role++) {
        rtc_dtls *a, *b;
        rtc_dtls_config ca = h_config((rtc_dtls_role)role, cert_a, &fp_b);
        rtc_dtls_config cb = h_config((rtc_dtls_role)(1 - role), cert_b, &fp_a);
        ca.initial_rto = cb.initial_rto = RTC_MS(30);
        ca.max_rto = cb.max_rto = RTC_MS(120);
        ca.mtu = cb.mtu = 400;
        REQUIRE(make_pair(&a, &b, (rtc_dtls_role)role, &ca, &cb));
        h_init(&P, a, b, 10 + (uint64_t)role);
        P.drop_mask[0] = 1; /* a's first datagram */
        P.drop_mask[1] = 1; /* b's first datagram */
        P.loss = 0.2;
        rtc_time t0 = h_now();
        start_both(a, b);
        CHECK(h_run(&P, 8000));
        rtc_time took = h_now() - t0;
        CHECK_EQ_INT(P.s[0].connected, 1);
        CHECK_EQ_INT(P.s[1].connected, 1);
        rtc_dtls_stats sa, sb;
        rtc_dtls_get_stats(a, &sa);
        rtc_dtls_get_stats(b, &sb);
        CHECK(sa.retransmit_timeouts + sb.retransmit_timeouts >= 1);
        CHECK(P.dropped >= 2);
        fprintf(stderr, "  loss run (a=%s): %lld ms, %llu dropped, %llu+%llu timer expiries\n",
                role ? "server" : "client", (long long)took / 1000, (unsigned long long)P.dropped,
                (unsigned long long)sa.retransmit_timeouts,
                (unsigned long long)sb.retransmit_timeouts);
        if (P.s[0].connected && P.s[1].connected)
            check_keys_agree(a, b, RTC_DTLS_SRTP_AEAD_AES_128_GCM, 56);
        rtc_dtls_free(a);
        rtc_dtls_free(b);
    }
}

/* A lost final flight: the server is connected, the client retransmits flight 5 and the
** server answers from its connected state. */
static void test_lost_final_flight(void) {
    rtc_dtls *a, *b;
    rtc_dtls_config ca = h_config(RTC_DTLS_ROLE_CLIENT, cert_a, &fp_b);
    rtc_dtls_config cb = h_config(RTC_DTLS_ROLE_SERVER, cert_b, &fp_a);
    ca.initial_rto = cb.initial_rto = RTC_MS(30);
    REQUIRE(make_pair(&a, &b, RTC_DTLS_ROLE_CLIENT, &ca, &cb));
    h_init(&P, a, b, 12);
    start_both(a, b);
    P.drop_once_type[1] = 20; /* flight 6 starts with the ChangeCipherSpec record */
    CHECK(h_run(&P, 5000));
    CHECK_EQ_INT(P.s[0].connected, 1);
    CHECK_EQ_INT(P.s[1].connected, 1);
    CHECK_EQ_INT(P.dropped, 1);
    rtc_dtls_free(a);
    rtc_dtls_free(b);
}

/* The final flight is lost while the server still waits for the fingerprint: the client's
** retransmitted flight 5 is held, and answered once the server has verified. */
static void test_lost_final_flight_late_fingerprint(void) {
    rtc_dtls *a, *b;
    rtc_dtls_config ca = h_config(RTC_DTLS_ROLE_CLIENT, cert_a, &fp_b);
    rtc_dtls_config cb = h_config(RTC_DTLS_ROLE_SERVER, cert_b, NULL);
    ca.initial_rto = cb.initial_rto = RTC_MS(30);
    ca.max_rto = cb.max_rto = RTC_MS(60);
    REQUIRE(make_pair(&a, &b, RTC_DTLS_ROLE_CLIENT, &ca, &cb));
    h_init(&P, a, b, 15);
    P.drop_once_type[1] = 20; /* the server's flight 6 (starts with ChangeCipherSpec) */
    start_both(a, b);
    CHECK(!h_run(&P, 300)); /* the client keeps retransmitting, the server holds */
    CHECK_EQ_INT(rtc_dtls_get_state(b), RTC_DTLS_STATE_AWAIT_FINGERPRINT);
    CHECK_EQ_INT(rtc_dtls_get_state(a), RTC_DTLS_STATE_HANDSHAKING);
    rtc_dtls_stats sb;
    rtc_dtls_get_stats(b, &sb);
    CHECK(sb.datagrams_in >= 3); /* ClientHello, flight 5, at least one retransmission */
    CHECK_EQ_INT(P.dropped, 1);
    CHECK_EQ_INT(rtc_dtls_set_remote_fingerprints(b, h_now(), &fp_a, 1), RTC_OK);
    CHECK(h_run(&P, 3000));
    CHECK_EQ_INT(P.s[0].connected, 1);
    CHECK_EQ_INT(P.s[1].connected, 1);
    check_keys_agree(a, b, RTC_DTLS_SRTP_AEAD_AES_128_GCM, 56);
    rtc_dtls_free(a);
    rtc_dtls_free(b);
}

/* Retransmission gives up: a client that never hears back fails with RTC_ERR_TIMEOUT. */
static void test_handshake_timeout(void) {
    rtc_dtls *a = NULL;
    rtc_dtls_config ca = h_config(RTC_DTLS_ROLE_CLIENT, cert_a, &fp_b);
    ca.initial_rto = RTC_MS(10);
    ca.max_rto = RTC_MS(20);
    REQUIRE(rtc_dtls_new(&a, &ca, NULL) == RTC_OK);
    rtc_time end = h_now() + RTC_SEC(5);
    REQUIRE(rtc_dtls_start(a, h_now()) == RTC_OK);
    int sent = 0, failed = 0, err = 0;
    while (h_now() < end && !failed) {
        rtc_dtls_transmit tx;
        while (rtc_dtls_poll_transmit(a, &tx) == 1)
            sent++;
        rtc_dtls_event ev;
        while (rtc_dtls_poll_event(a, &ev) == 1)
            if (ev.kind == RTC_DTLS_EVENT_FAILED) {
                failed = 1;
                err = ev.err;
            }
        rtc_time t = rtc_dtls_next_timeout(a), now = h_now();
        if (t == RTC_TIME_NEVER) break;
        if (t > now) {
            struct timespec ts = {0, (long)(t - now) * 1000};
            nanosleep(&ts, NULL);
        }
        rtc_dtls_handle_timeout(a, h_now());
    }
    CHECK_EQ_INT(failed, 1);
    CHECK_EQ_INT(err, RTC_ERR_TIMEOUT);
    CHECK(sent >= 10); /* the ClientHello and its retransmissions */
    CHECK_EQ_INT(rtc_dtls_next_timeout(a), RTC_TIME_NEVER);
    rtc_dtls_free(a);
}

static void test_rsa_certificates(void) {
    rtc_dtls_cert_config cc = {.key_type = RTC_DTLS_KEY_RSA_2048};
    rtc_dtls_cert *rsa = NULL;
    REQUIRE(rtc_dtls_cert_new(&rsa, &cc, NULL) == RTC_OK);
    rtc_dtls_fingerprint fp_rsa;
    REQUIRE(rtc_dtls_cert_fingerprint(rsa, RTC_DTLS_HASH_SHA384, &fp_rsa, NULL, 0) == RTC_OK);
    /* RSA server with an ECDSA client, both directions of roles. */
    for (int role = 0; role < 2; role++) {
        rtc_dtls *a, *b;
        rtc_dtls_config ca = h_config((rtc_dtls_role)role, cert_a, &fp_rsa);
        rtc_dtls_config cb = h_config((rtc_dtls_role)(1 - role), rsa, &fp_a);
        REQUIRE(make_pair(&a, &b, (rtc_dtls_role)role, &ca, &cb));
        h_init(&P, a, b, 13);
        start_both(a, b);
        CHECK(h_run(&P, 5000));
        CHECK_EQ_INT(P.s[0].connected, 1);
        CHECK_EQ_INT(P.s[1].connected, 1);
        rtc_dtls_free(a);
        rtc_dtls_free(b);
    }
    rtc_dtls_cert_free(rsa);
}

/* One certificate shared by many sessions; the sessions keep it alive. */
static void test_shared_certificate(void) {
    rtc_dtls_cert *shared = NULL;
    REQUIRE(rtc_dtls_cert_new(&shared, NULL, NULL) == RTC_OK);
    rtc_dtls_fingerprint fp_s;
    rtc_dtls_cert_fingerprint(shared, RTC_DTLS_HASH_SHA256, &fp_s, NULL, 0);
    enum { N = 4 };
    rtc_dtls *srv[N], *cli[N];
    for (int i = 0; i < N; i++) {
        rtc_dtls_config cs = h_config(RTC_DTLS_ROLE_SERVER, shared, &fp_a);
        rtc_dtls_config cc = h_config(RTC_DTLS_ROLE_CLIENT, cert_a, &fp_s);
        REQUIRE(rtc_dtls_new(&srv[i], &cs, NULL) == RTC_OK);
        REQUIRE(rtc_dtls_new(&cli[i], &cc, NULL) == RTC_OK);
    }
    rtc_dtls_cert_free(shared); /* our reference; the sessions hold theirs */
    for (int i = 0; i < N; i++) {
        h_init(&P, cli[i], srv[i], 20 + (uint64_t)i);
        start_both(cli[i], srv[i]);
        CHECK(h_run(&P, 5000));
        CHECK_EQ_INT(P.s[0].connected, 1);
        CHECK_EQ_INT(P.s[1].connected, 1);
    }
    for (int i = 0; i < N; i++) {
        rtc_dtls_free(srv[i]);
        rtc_dtls_free(cli[i]);
    }
}

/* A simulated clock (as tests/sim drives every core): virtual time starts far from the
** wall clock and advances 25 ms per hop. Without loss the handshake needs no timer, and
** every deadline the core reports is on the virtual clock. */
static void test_virtual_clock(void) {
    rtc_dtls *a, *b;
    REQUIRE(make_pair(&a, &b, RTC_DTLS_ROLE_CLIENT, NULL, NULL));
    rtc_dtls *side[2] = {a, b};
    rtc_time vnow = RTC_SEC(86400) * 365;
    rtc_dtls_start(a, vnow);
    rtc_dtls_start(b, vnow);
    int connected = 0, hops = 0;
    static uint8_t buf[2048];
    for (int round = 0; round < 20 && connected < 2; round++) {
        for (int k = 0; k < 2; k++) {
            rtc_time t = rtc_dtls_next_timeout(side[k]);
            CHECK(t == RTC_TIME_NEVER || (t > vnow - RTC_SEC(1) && t <= vnow + RTC_MS(400)));
            rtc_dtls_transmit tx;
            while (rtc_dtls_poll_transmit(side[k], &tx) == 1) {
                memcpy(buf, tx.data, tx.len);
                vnow += RTC_MS(25);
                hops++;
                CHECK_EQ_INT(rtc_dtls_handle_packet(side[1 - k], vnow, buf, tx.len), RTC_OK);
            }
            rtc_dtls_event ev;
            while (rtc_dtls_poll_event(side[k], &ev) == 1)
                connected += ev.kind == RTC_DTLS_EVENT_CONNECTED;
        }
    }
    CHECK_EQ_INT(connected, 2);
    CHECK_EQ_INT(hops, 4); /* flights 1, 4, 5, 6 at MTU 1200 */
    rtc_dtls_free(a);
    rtc_dtls_free(b);
}

/* A server starts on its first datagram without rtc_dtls_start (early ClientHello). */
static void test_server_implicit_start(void) {
    rtc_dtls *a, *b;
    REQUIRE(make_pair(&a, &b, RTC_DTLS_ROLE_CLIENT, NULL, NULL));
    h_init(&P, a, b, 14);
    rtc_dtls_start(a, h_now());
    CHECK(h_run(&P, 5000));
    CHECK_EQ_INT(P.s[0].connected, 1);
    CHECK_EQ_INT(P.s[1].connected, 1);
    CHECK_EQ_INT(rtc_dtls_start(b, h_now()), RTC_ERR_MISUSE);
    rtc_dtls_free(a);
    rtc_dtls_free(b);
}

int main(void) {
    setup_certs();
    if (!cert_a || !cert_b) {
        fprintf(stderr, "certificate creation failed\n");
        return 1;
    }
    RUN(test_client_server);
    RUN(test_server_client);
    RUN(test_roles_from_setup);
    RUN(test_srtp_profiles);
    RUN(test_application_data);
    RUN(test_close_notify);
    RUN(test_wrong_fingerprint_client);
    RUN(test_wrong_fingerprint_server);
    RUN(test_fingerprint_list);
    RUN(test_late_fingerprint_server);
    RUN(test_late_fingerprint_client);
    RUN(test_late_wrong_fingerprint);
    RUN(test_reorder_duplicate_small_mtu);
    RUN(test_loss_retransmission);
    RUN(test_lost_final_flight);
    RUN(test_lost_final_flight_late_fingerprint);
    RUN(test_handshake_timeout);
    RUN(test_rsa_certificates);
    RUN(test_shared_certificate);
    RUN(test_server_implicit_start);
    RUN(test_virtual_clock);
    rtc_dtls_cert_free(cert_a);
    rtc_dtls_cert_free(cert_b);
    return TEST_DONE();
}
