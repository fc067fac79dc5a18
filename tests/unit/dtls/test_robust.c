/*
** Hostile and odd input: garbage datagrams in every state, oversized and non-DTLS
** datagrams, a Chromium-style ClientHello offering DTLS 1.3 with a >1.2 KB key share,
** fragmented over several records/datagrams (in order and reversed), bounded queues,
** and calls in the wrong state.
*/
#include "dtls_harness.h"
#include "test.h"

static rtc_dtls_cert *cert_a, *cert_b;
static rtc_dtls_fingerprint fp_a, fp_b;
static h_pair P;

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint8_t rnd8(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint8_t)(rng >> 24);
}

static void drain_all(rtc_dtls *d) {
    rtc_dtls_transmit t;
    rtc_dtls_event e;
    for (int i = 0; i < 10000 && rtc_dtls_poll_transmit(d, &t) == 1; i++) {
    }
    for (int i = 0; i < 10000 && rtc_dtls_poll_event(d, &e) == 1; i++) {
    }
}

/* Random datagrams: random first byte, and ones that look like DTLS records. */
static void feed_garbage(rtc_dtls *d, int n) {
    uint8_t buf[1500];
    for (int i = 0; i < n; i++) {
        size_t len = 1 + rnd8() * 5u % sizeof buf;
        for (size_t j = 0; j < len; j++)
            buf[j] = rnd8();
        if (i % 2 && len >= 13) {
            buf[0] = (uint8_t)(20 + rnd8() % 4); /* CCS, alert, handshake, app data */
            buf[1] = 0xfe;
            buf[2] = (i % 4 == 1) ? 0xfd : 0xff;
            size_t body = len - 13;
            buf[11] = (uint8_t)(body >> 8);
            buf[12] = (uint8_t)body;
            if (i % 8 == 1 && len > 25) { /* a plausible handshake header */
                buf[0] = 22;
                buf[3] = buf[4] = 0; /* epoch 0 */
                buf[13] = 1;         /* ClientHello */
            }
        }
        (void)rtc_dtls_handle_packet(d, h_now(), buf, len);
        drain_all(d);
    }
}

static void test_garbage_every_state(void) {
    /* A fresh server (implicitly started by garbage). */
    rtc_dtls *s = NULL, *c = NULL;
    rtc_dtls_config cs = h_config(RTC_DTLS_ROLE_SERVER, cert_b, &fp_a);
    rtc_dtls_config cc = h_config(RTC_DTLS_ROLE_CLIENT, cert_a, &fp_b);
    REQUIRE(rtc_dtls_new(&s, &cs, NULL) == RTC_OK);
    REQUIRE(rtc_dtls_new(&c, &cc, NULL) == RTC_OK);
    feed_garbage(s, 2000);
    /* A started client waiting for flight 4. */
    REQUIRE(rtc_dtls_start(c, h_now()) == RTC_OK);
    drain_all(c);
    feed_garbage(c, 2000);
    /* Not DTLS at all (RFC 7983 ranges of STUN, RTP) and size limits. */
    uint8_t stun[20] = {0x00, 0x01};
    uint8_t rtp[40] = {0x80};
    static uint8_t huge[20000];
    huge[0] = 23;
    CHECK_EQ_INT(rtc_dtls_handle_packet(c, h_now(), stun, sizeof stun), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_dtls_handle_packet(c, h_now(), rtp, sizeof rtp), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_dtls_handle_packet(c, h_now(), huge, sizeof huge), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_dtls_handle_packet(c, h_now(), huge, 5), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_dtls_handle_packet(c, h_now(), NULL, 0), RTC_ERR_PARSE);
    rtc_dtls_stats st;
    rtc_dtls_get_stats(c, &st);
    CHECK(st.dropped_in >= 5);
    /* Random garbage may well have failed the client: a well-formed plaintext epoch-0
    ** alert or a malformed handshake message aborts a DTLS 1.2 handshake (unauthenticated
    ** by design; ICE only passes datagrams from the selected 5-tuple). It must end in a
    ** clean state, never a crash. */
    rtc_dtls_state cs_state = rtc_dtls_get_state(c);
    CHECK(cs_state == RTC_DTLS_STATE_HANDSHAKING || cs_state == RTC_DTLS_STATE_FAILED);
    /* RFC 7983 §7 boundaries on a fresh server: 20..63 is DTLS, 19 and 64 are not. */
    rtc_dtls *s2 = NULL;
    REQUIRE(rtc_dtls_new(&s2, &cs, NULL) == RTC_OK);
    uint8_t rec[13] = {0};
    rec[0] = 19;
    CHECK_EQ_INT(rtc_dtls_handle_packet(s2, h_now(), rec, sizeof rec), RTC_ERR_PARSE);
    rec[0] = 64;
    CHECK_EQ_INT(rtc_dtls_handle_packet(s2, h_now(), rec, sizeof rec), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_dtls_get_state(s2), RTC_DTLS_STATE_NEW);
    rec[0] = 20;
    CHECK_EQ_INT(rtc_dtls_handle_packet(s2, h_now(), rec, sizeof rec), RTC_OK);
    rec[0] = 63;
    CHECK_EQ_INT(rtc_dtls_handle_packet(s2, h_now(), rec, sizeof rec), RTC_OK);
    rtc_dtls_free(s2);
    rtc_dtls_free(s);
    rtc_dtls_free(c);

    /* Garbage interleaved with a real handshake does not stop it. */
    REQUIRE(rtc_dtls_new(&s, &cs, NULL) == RTC_OK);
    REQUIRE(rtc_dtls_new(&c, &cc, NULL) == RTC_OK);
    h_init(&P, c, s, 31);
    rtc_dtls_start(c, h_now());
    for (int round = 0; round < 6; round++) {
        h_drain(&P, 0);
        h_drain(&P, 1);
        /* random records in front of the real traffic */
        for (int k = 0; k < 2; k++) {
            uint8_t g[100];
            for (size_t j = 0; j < sizeof g; j++)
                g[j] = rnd8();
            g[0] = 22;
            g[1] = 0xfe;
            g[2] = 0xfd;
            g[11] = 0;
            g[12] = 87;
            (void)rtc_dtls_handle_packet(P.s[k].d, h_now(), g, sizeof g);
        }
        h_deliver(&P, 0, h_now());
        h_deliver(&P, 1, h_now());
    }
    CHECK(h_run(&P, 5000));
    CHECK_EQ_INT(P.s[0].connected, 1);
    CHECK_EQ_INT(P.s[1].connected, 1);
    /* Garbage into connected sessions: dropped, the session survives. */
    feed_garbage(c, 500);
    feed_garbage(s, 500);
    CHECK_EQ_INT(rtc_dtls_get_state(c), RTC_DTLS_STATE_CONNECTED);
    CHECK_EQ_INT(rtc_dtls_get_state(s), RTC_DTLS_STATE_CONNECTED);
    uint8_t m[50] = {1, 2, 3};
    CHECK_EQ_INT(rtc_dtls_send(c, h_now(), m, sizeof m), RTC_OK);
    memset(&P.s[1].rx_msgs, 0, sizeof P.s[1].rx_msgs);
    P.s[1].rx_len = 0;
    h_run(&P, 2000);
    CHECK_EQ_INT(P.s[1].rx_msgs, 1);
    CHECK_MEM(P.s[1].rx, m, sizeof m);
    rtc_dtls_free(s);
    rtc_dtls_free(c);
}

/* ---- a Chromium-like ClientHello offering DTLS 1.3 with a post-quantum key share ---- */

typedef struct wbuf {
    uint8_t b[4096];
    size_t n;
} wbuf;
static void w8(wbuf *w, unsigned v) { w->b[w->n++] = (uint8_t)v; }
static void w16(wbuf *w, unsigned v) {
    w8(w, v >> 8);
    w8(w, v);
}
static void w24(wbuf *w, unsigned v) {
    w8(w, v >> 16);
    w16(w, v & 0xffff);
}
static void wfill(wbuf *w, size_t n, uint8_t v) {
    for (size_t i = 0; i < n; i++)
        w8(w, v + (uint8_t)i);
}

static size_t build_client_hello(uint8_t *body) {
    wbuf w = {.n = 0};
    w16(&w, 0xfefd);  /* legacy_version DTLS 1.2 (RFC 9147 §5.3) */
    wfill(&w, 32, 7); /* random */
    w8(&w, 0);        /* session id */
    w8(&w, 0);        /* cookie */
    w16(&w, 8);       /* cipher suites */
    w16(&w, 0x1301);  /* TLS_AES_128_GCM_SHA256 (1.3) */
    w16(&w, 0xc02b);  /* ECDHE-ECDSA-AES128-GCM-SHA256 */
    w16(&w, 0xc02f);  /* ECDHE-RSA-AES128-GCM-SHA256 */
    w16(&w, 0xc009);  /* ECDHE-ECDSA-AES128-SHA */
    w8(&w, 1);
    w8(&w, 0); /* null compression */
    size_t ext_len_at = w.n;
    w16(&w, 0);
    /* supported_versions: DTLS 1.3, DTLS 1.2 */
    w16(&w, 0x002b);
    w16(&w, 5);
    w8(&w, 4);
    w16(&w, 0xfefc);
    w16(&w, 0xfefd);
    /* supported_groups: X25519MLKEM768, x25519, secp256r1 */
    w16(&w, 0x000a);
    w16(&w, 8);
    w16(&w, 6);
    w16(&w, 0x11ec);
    w16(&w, 0x001d);
    w16(&w, 0x0017);
    /* ec_point_formats */
    w16(&w, 0x000b);
    w16(&w, 2);
    w8(&w, 1);
    w8(&w, 0);
    /* signature_algorithms: ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256, rsa_pkcs1_sha256 */
    w16(&w, 0x000d);
    w16(&w, 8);
    w16(&w, 6);
    w16(&w, 0x0403);
    w16(&w, 0x0804);
    w16(&w, 0x0401);
    /* use_srtp: AEAD_AES_128_GCM, AES128_CM_SHA1_80; empty MKI */
    w16(&w, 0x000e);
    w16(&w, 7);
    w16(&w, 4);
    w16(&w, 0x0007);
    w16(&w, 0x0001);
    w8(&w, 0);
    /* extended_master_secret, renegotiation_info */
    w16(&w, 0x0017);
    w16(&w, 0);
    w16(&w, 0xff01);
    w16(&w, 1);
    w8(&w, 0);
    /* key_share: X25519MLKEM768 (1216 bytes) + x25519 (32 bytes) */
    w16(&w, 0x0033);
    w16(&w, 2 + 4 + 1216 + 4 + 32);
    w16(&w, 4 + 1216 + 4 + 32);
    w16(&w, 0x11ec);
    w16(&w, 1216);
    wfill(&w, 1216, 3);
    w16(&w, 0x001d);
    w16(&w, 32);
    wfill(&w, 32, 9);
    size_t ext_len = w.n - ext_len_at - 2;
    w.b[ext_len_at] = (uint8_t)(ext_len >> 8);
    w.b[ext_len_at + 1] = (uint8_t)ext_len;
    memcpy(body, w.b, w.n);
    return w.n;
}

/* One handshake fragment in one record in one datagram (RFC 6347 §4.2.2, §4.1). */
static size_t build_fragment(uint8_t *out, const uint8_t *body, size_t body_len, size_t off,
                             size_t frag_len, uint64_t rec_seq) {
    wbuf w = {.n = 0};
    w8(&w, 22);
    w16(&w, 0xfeff); /* record version DTLS 1.0 in a ClientHello, as browsers send */
    w16(&w, 0);      /* epoch */
    w16(&w, 0);
    w16(&w, (unsigned)(rec_seq >> 16) & 0xffff);
    w16(&w, (unsigned)rec_seq & 0xffff);
    w16(&w, (unsigned)(12 + frag_len));
    w8(&w, 1); /* client_hello */
    w24(&w, (unsigned)body_len);
    w16(&w, 0); /* message_seq */
    w24(&w, (unsigned)off);
    w24(&w, (unsigned)frag_len);
    memcpy(w.b + w.n, body + off, frag_len);
    w.n += frag_len;
    memcpy(out, w.b, w.n);
    return w.n;
}

static void big_hello_case(bool reverse) {
    static uint8_t body[4096], dg[3][2048];
    size_t blen = build_client_hello(body);
    CHECK(blen > 1300);
    size_t frag = (blen + 2) / 3, lens[3];
    for (int i = 0; i < 3; i++) {
        size_t off = (size_t)i * frag;
        size_t fl = frag < blen - off ? frag : blen - off;
        lens[i] = build_fragment(dg[i], body, blen, off, fl, (uint64_t)i);
    }
    rtc_dtls *s = NULL;
    rtc_dtls_config cs = h_config(RTC_DTLS_ROLE_SERVER, cert_b, &fp_a);
    REQUIRE(rtc_dtls_new(&s, &cs, NULL) == RTC_OK);
    for (int k = 0; k < 3; k++) {
        int i = reverse ? 2 - k : k;
        CHECK_EQ_INT(rtc_dtls_handle_packet(s, h_now(), dg[i], lens[i]), RTC_OK);
    }
    /* The answer: a DTLS 1.2 ServerHello in the first datagram of flight 4. */
    rtc_dtls_transmit t;
    int n = 0;
    bool saw_server_hello = false;
    while (rtc_dtls_poll_transmit(s, &t) == 1) {
        n++;
        CHECK(t.len <= 1200);
        if (t.len > 13 + 12 + 2 && t.data[0] == 22 && t.data[13] == 2) {
            saw_server_hello = true;
            CHECK_EQ_INT(t.data[1], 0xfe);
            CHECK_EQ_INT(t.data[2], 0xfd); /* record: DTLS 1.2 */
            CHECK_EQ_INT(t.data[25], 0xfe);
            CHECK_EQ_INT(t.data[26], 0xfd); /* server_version DTLS 1.2 */
        }
    }
    CHECK(n >= 1);
    CHECK(saw_server_hello);
    CHECK_EQ_INT(rtc_dtls_get_state(s), RTC_DTLS_STATE_HANDSHAKING);
    rtc_dtls_event e;
    int failed = 0;
    while (rtc_dtls_poll_event(s, &e) == 1)
        failed += e.kind == RTC_DTLS_EVENT_FAILED;
    CHECK_EQ_INT(failed, 0);
    rtc_dtls_free(s);
}

static void test_big_fragmented_client_hello(void) {
    big_hello_case(false);
    big_hello_case(true);
}

/* ---- bounds ------------------------------------------------------------------------ */

static void connect_pair(rtc_dtls **c, rtc_dtls **s, bool server_late_fp) {
    rtc_dtls_config cs = h_config(RTC_DTLS_ROLE_SERVER, cert_b, server_late_fp ? NULL : &fp_a);
    rtc_dtls_config cc = h_config(RTC_DTLS_ROLE_CLIENT, cert_a, &fp_b);
    *c = *s = NULL;
    rtc_dtls_new(s, &cs, NULL);
    rtc_dtls_new(c, &cc, NULL);
    if (!*c || !*s) return;
    h_init(&P, *c, *s, 41);
    rtc_dtls_start(*c, h_now());
    h_run(&P, 5000);
}

static void test_output_queue_bounded(void) {
    rtc_dtls *c, *s;
    connect_pair(&c, &s, false);
    REQUIRE(c && s && P.s[0].connected);
    uint8_t m[1000];
    memset(m, 5, sizeof m);
    int ok = 0, again = 0;
    for (int i = 0; i < 500; i++) {
        int r = rtc_dtls_send(c, h_now(), m, sizeof m);
        if (r == RTC_OK)
            ok++;
        else if (r == RTC_ERR_AGAIN)
            again++;
    }
    CHECK(ok >= 16 && ok <= 130);
    CHECK(again > 0);
    /* Draining makes room again. */
    drain_all(c);
    CHECK_EQ_INT(rtc_dtls_send(c, h_now(), m, sizeof m), RTC_OK);
    rtc_dtls_free(c);
    rtc_dtls_free(s);
}

static void test_event_queue_bounded(void) {
    rtc_dtls *c, *s;
    connect_pair(&c, &s, false);
    REQUIRE(c && s && P.s[0].connected);
    uint8_t m[1000];
    memset(m, 6, sizeof m);
    /* 300 records into s without s draining its events. */
    for (int i = 0; i < 300; i++) {
        REQUIRE(rtc_dtls_send(c, h_now(), m, sizeof m) == RTC_OK);
        rtc_dtls_transmit t;
        while (rtc_dtls_poll_transmit(c, &t) == 1)
            rtc_dtls_handle_packet(s, h_now(), t.data, t.len);
    }
    rtc_dtls_stats st;
    rtc_dtls_get_stats(s, &st);
    CHECK(st.dropped_events > 0);
    rtc_dtls_event e;
    int n = 0;
    while (rtc_dtls_poll_event(s, &e) == 1 && n < 1000)
        n++;
    CHECK(n > 0 && n <= 64);
    CHECK_EQ_INT(n + (int)st.dropped_events, 300);
    /* Still works once drained. */
    REQUIRE(rtc_dtls_send(c, h_now(), m, 10) == RTC_OK);
    rtc_dtls_transmit t;
    while (rtc_dtls_poll_transmit(c, &t) == 1)
        rtc_dtls_handle_packet(s, h_now(), t.data, t.len);
    CHECK(rtc_dtls_poll_event(s, &e) == 1 && e.kind == RTC_DTLS_EVENT_DATA && e.len == 10);
    rtc_dtls_free(c);
    rtc_dtls_free(s);
}

static void test_input_queue_bounded(void) {
    rtc_dtls *c, *s;
    connect_pair(&c, &s, true);
    REQUIRE(c && s && P.s[0].connected);
    REQUIRE(rtc_dtls_get_state(s) == RTC_DTLS_STATE_AWAIT_FINGERPRINT);
    uint8_t m[500];
    memset(m, 7, sizeof m);
    int queued = 0, refused = 0;
    for (int i = 0; i < 100; i++) {
        REQUIRE(rtc_dtls_send(c, h_now(), m, sizeof m) == RTC_OK);
        rtc_dtls_transmit t;
        while (rtc_dtls_poll_transmit(c, &t) == 1) {
            int r = rtc_dtls_handle_packet(s, h_now(), t.data, t.len);
            if (r == RTC_OK)
                queued++;
            else if (r == RTC_ERR_NOMEM)
                refused++;
        }
    }
    CHECK_EQ_INT(queued, 32);
    CHECK_EQ_INT(refused, 68);
    rtc_dtls_event e;
    CHECK_EQ_INT(rtc_dtls_poll_event(s, &e), 0); /* nothing surfaced */
    REQUIRE(rtc_dtls_set_remote_fingerprints(s, h_now(), &fp_a, 1) == RTC_OK);
    int data = 0, connected = 0;
    while (rtc_dtls_poll_event(s, &e) == 1) {
        if (e.kind == RTC_DTLS_EVENT_DATA) data++;
        if (e.kind == RTC_DTLS_EVENT_CONNECTED) connected = data == 0; /* before any data */
    }
    CHECK_EQ_INT(connected, 1);
    CHECK_EQ_INT(data, 32);
    rtc_dtls_free(c);
    rtc_dtls_free(s);
}

static void test_misuse(void) {
    rtc_dtls *c = NULL, *x = NULL;
    rtc_dtls_config cc = h_config(RTC_DTLS_ROLE_CLIENT, cert_a, &fp_b);
    REQUIRE(rtc_dtls_new(&c, &cc, NULL) == RTC_OK);
    uint8_t rec[20] = {22, 0xfe, 0xfd};
    CHECK_EQ_INT(rtc_dtls_handle_packet(c, 0, rec, sizeof rec), RTC_ERR_MISUSE); /* not started */
    CHECK_EQ_INT(rtc_dtls_send(c, 0, rec, 5), RTC_ERR_MISUSE);
    rtc_dtls_srtp_keys k;
    CHECK_EQ_INT(rtc_dtls_get_srtp_keys(c, &k), RTC_ERR_MISUSE);
    uint8_t km[10];
    CHECK_EQ_INT(rtc_dtls_export_keying_material(c, "EXTRACTOR-dtls_srtp", km, 10), RTC_ERR_MISUSE);
    CHECK_EQ_INT(rtc_dtls_peer_fingerprint(c, RTC_DTLS_HASH_SHA256, NULL, NULL, 0), RTC_ERR_MISUSE);
    CHECK_EQ_INT(rtc_dtls_max_send(c), 0);
    CHECK_EQ_INT(rtc_dtls_next_timeout(c), RTC_TIME_NEVER);
    /* The deadline is on the caller's clock (any epoch) at now + the initial interval. */
    rtc_time virt = RTC_SEC(1000000);
    CHECK_EQ_INT(rtc_dtls_start(c, virt), RTC_OK);
    rtc_time due = rtc_dtls_next_timeout(c) - virt;
    /* default 400 ms minus the (wall-clock) time elapsed since OpenSSL armed it; the slack
    ** allows for a descheduled test process on a loaded machine */
    CHECK(due > RTC_MS(100) && due <= RTC_MS(400));
    rtc_dtls_handle_timeout(c, virt + RTC_MS(1)); /* early: nothing to do */
    rtc_dtls_transmit tx;
    CHECK_EQ_INT(rtc_dtls_poll_transmit(c, &tx), 1); /* the ClientHello ... */
    CHECK_EQ_INT(rtc_dtls_poll_transmit(c, &tx), 0); /* ... and no retransmission */
    CHECK(rtc_dtls_next_timeout(c) - (virt + RTC_MS(1)) > RTC_MS(50));
    CHECK_EQ_INT(rtc_dtls_start(c, 0), RTC_ERR_MISUSE);
    CHECK_EQ_INT(rtc_dtls_set_remote_fingerprints(c, 0, &fp_b, 0), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_dtls_close(c, 0), RTC_OK);
    CHECK_EQ_INT(rtc_dtls_handle_packet(c, 0, rec, sizeof rec), RTC_ERR_CLOSED);
    CHECK_EQ_INT(rtc_dtls_set_remote_fingerprints(c, 0, &fp_b, 1), RTC_ERR_MISUSE);
    rtc_dtls_free(c);
    rtc_dtls_free(NULL);
    /* Bad configurations. */
    rtc_dtls_config bad = cc;
    bad.cert = NULL;
    CHECK_EQ_INT(rtc_dtls_new(&x, &bad, NULL), RTC_ERR_INVALID);
    bad = cc;
    bad.mtu = 100;
    CHECK_EQ_INT(rtc_dtls_new(&x, &bad, NULL), RTC_ERR_INVALID);
    bad = cc;
    bad.n_remote_fingerprints = 9;
    CHECK_EQ_INT(rtc_dtls_new(&x, &bad, NULL), RTC_ERR_INVALID);
    bad = cc;
    bad.initial_rto = RTC_SEC(2);
    bad.max_rto = RTC_SEC(1);
    CHECK_EQ_INT(rtc_dtls_new(&x, &bad, NULL), RTC_ERR_INVALID);
    bad = cc;
    bad.role = (rtc_dtls_role)5;
    CHECK_EQ_INT(rtc_dtls_new(&x, &bad, NULL), RTC_ERR_INVALID);
    CHECK(x == NULL);
}

/* A counting allocator: every byte the core allocates through rtc_env is returned. */
static long live_bytes, live_blocks;
static void *count_realloc(void *ud, void *p, size_t old, size_t n) {
    live_bytes += (long)n - (long)old;
    if (!p && n) live_blocks++;
    if (p && !n) live_blocks--;
    if (!n) {
        free(p);
        return NULL;
    }
    return realloc(p, n);
}

static void test_env_allocations_balanced(void) {
    rtc_env env = {.realloc = count_realloc};
    rtc_dtls_config cs = h_config(RTC_DTLS_ROLE_SERVER, cert_b, &fp_a);
    rtc_dtls_config cc = h_config(RTC_DTLS_ROLE_CLIENT, cert_a, &fp_b);
    rtc_dtls *c = NULL, *s = NULL;
    REQUIRE(rtc_dtls_new(&s, &cs, &env) == RTC_OK);
    REQUIRE(rtc_dtls_new(&c, &cc, &env) == RTC_OK);
    CHECK(live_blocks == 2);
    h_init(&P, c, s, 51);
    rtc_dtls_start(c, h_now());
    CHECK(h_run(&P, 5000));
    uint8_t m[100] = {0};
    rtc_dtls_send(c, h_now(), m, sizeof m);
    rtc_dtls_send(c, h_now(), m, sizeof m); /* left undrained on purpose */
    rtc_dtls_close(s, h_now());
    rtc_dtls_free(c);
    rtc_dtls_free(s);
    CHECK_EQ_INT(live_bytes, 0);
    CHECK_EQ_INT(live_blocks, 0);
}

int main(void) {
    rtc_dtls_cert_new(&cert_a, NULL, NULL);
    rtc_dtls_cert_new(&cert_b, NULL, NULL);
    if (!cert_a || !cert_b) return 1;
    rtc_dtls_cert_fingerprint(cert_a, RTC_DTLS_HASH_SHA256, &fp_a, NULL, 0);
    rtc_dtls_cert_fingerprint(cert_b, RTC_DTLS_HASH_SHA256, &fp_b, NULL, 0);
    RUN(test_garbage_every_state);
    RUN(test_big_fragmented_client_hello);
    RUN(test_output_queue_bounded);
    RUN(test_event_queue_bounded);
    RUN(test_input_queue_bounded);
    RUN(test_misuse);
    RUN(test_env_allocations_balanced);
    rtc_dtls_cert_free(cert_a);
    rtc_dtls_cert_free(cert_b);
    return TEST_DONE();
}
