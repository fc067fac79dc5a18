/* TURN server core (RFC 8656): auth dance, allocations, permissions, channels, relaying,
** peer-address policy, quotas, REST secrets, expiry, rate limits, memory per allocation. */
#include "cwebrtc/stun.h"
#include "cwebrtc/turn_server.h"
#include "test.h"
#include "util/util.h"

#define REALM "example.org"

#include "fake_relays.h"

/* ---- a counting allocator, to find leaks and measure memory per allocation ------- */
typedef struct counting {
    long long live_bytes, live_blocks;
} counting;
static void *count_realloc(void *ud, void *ptr, size_t old_size, size_t new_size) {
    counting *c = ud;
    if (new_size == 0) {
        free(ptr);
        c->live_bytes -= (long long)old_size;
        c->live_blocks--;
        return NULL;
    }
    void *p = realloc(ptr, new_size);
    if (!p) return NULL;
    c->live_bytes += (long long)new_size - (long long)old_size;
    if (!ptr) c->live_blocks++;
    return p;
}

/* ---- a client --------------------------------------------------------------------- */
typedef struct client {
    rtc_addr addr, listener;
    int transport;
    char user[128], pass[128];
    char nonce[128];
    rtc_stun_key key;
    uint8_t resp[2048];
    size_t resp_len;
    rtc_stun_msg msg;
} client;

static rtc_turn_server *S;
static relays R;
static rtc_time NOW;

static void client_init(client *c, const char *ip, uint16_t port, const char *user, const char *pass) {
    memset(c, 0, sizeof *c);
    rtc_addr_parse_ip(&c->addr, ip, port);
    rtc_addr_parse(&c->listener, "192.0.2.10:3478", 0);
    snprintf(c->user, sizeof c->user, "%s", user);
    snprintf(c->pass, sizeof c->pass, "%s", pass);
    rtc_stun_key_long_term(&c->key, RTC_STUN_PASSWORD_ALG_MD5, user, strlen(user), REALM,
                           strlen(REALM), pass, strlen(pass), NULL);
}

/* Drain the server's output; returns how many transmits, keeps the last to-client STUN
** message in c (parsed), and copies the last relay transmit into *relay_tx. */
static int drain(client *c, rtc_turn_transmit *relay_tx, uint8_t *relay_data) {
    rtc_turn_transmit t;
    int n = 0;
    while (rtc_turn_server_poll_transmit(S, &t) == 1) {
        n++;
        if (t.from_relay) {
            if (relay_tx) {
                *relay_tx = t;
                memcpy(relay_data, t.data, t.len);
            }
        } else if (c) {
            memcpy(c->resp, t.data, t.len);
            c->resp_len = t.len;
        }
    }
    return n;
}

/* Start a request of `method` with the client's credentials (when it has a nonce). */
static void req_begin(client *c, rtc_stun_builder *b, uint8_t *buf, size_t cap, uint16_t method) {
    uint8_t tid[12];
    rtc_stun_random_tid(NULL, tid);
    rtc_stun_build_init(b, buf, cap, method, RTC_STUN_REQUEST, tid);
}

static void req_auth(client *c, rtc_stun_builder *b) {
    if (c->nonce[0]) {
        rtc_stun_add_string(b, RTC_STUN_ATTR_USERNAME, c->user);
        rtc_stun_add_string(b, RTC_STUN_ATTR_REALM, REALM);
        rtc_stun_add_string(b, RTC_STUN_ATTR_NONCE, c->nonce);
        rtc_stun_add_integrity(b, &c->key);
    }
    rtc_stun_add_fingerprint(b);
}

/* Send, drain, parse the answer. Returns the error code (0 = success, -1 = no answer). */
static int exchange(client *c, const uint8_t *buf, int len) {
    c->resp_len = 0;
    rtc_turn_server_handle_client(S, NOW, c->transport, &c->listener, &c->addr, buf, (size_t)len);
    drain(c, NULL, NULL);
    if (!c->resp_len) return -1;
    int rc = rtc_stun_parse(&c->msg, c->resp, c->resp_len);
    if (rc != RTC_OK) return -2;
    if (c->msg.cls == RTC_STUN_SUCCESS) return 0;
    int code = 0;
    rtc_stun_get_error_code(&c->msg, &code, NULL, NULL);
    const uint8_t *nonce;
    size_t nl;
    if ((code == 401 || code == 438) &&
        rtc_stun_get_bytes(&c->msg, RTC_STUN_ATTR_NONCE, &nonce, &nl) == RTC_OK && nl < sizeof c->nonce) {
        memcpy(c->nonce, nonce, nl);
        c->nonce[nl] = 0;
    }
    return code;
}

static uint8_t ALLOC_PROTO = RTC_STUN_TRANSPORT_UDP; /* 6: RFC 6062 TCP allocations */

static int allocate_ex(client *c, void (*extra)(rtc_stun_builder *)) {
    uint8_t buf[512];
    rtc_stun_builder b;
    for (int attempt = 0; attempt < 3; attempt++) {
        req_begin(c, &b, buf, sizeof buf, RTC_STUN_ALLOCATE);
        rtc_stun_add_requested_transport(&b, ALLOC_PROTO);
        if (extra) extra(&b);
        req_auth(c, &b);
        int code = exchange(c, buf, rtc_stun_build_finish(&b));
        if (code != 401 && code != 438) return code;
        if (attempt > 0 && code == 401) return code; /* credentials refused */
    }
    return -3;
}
static int allocate(client *c) { return allocate_ex(c, NULL); }

static int simple(client *c, uint16_t method, void (*fill)(rtc_stun_builder *, void *), void *arg) {
    uint8_t buf[512];
    rtc_stun_builder b;
    req_begin(c, &b, buf, sizeof buf, method);
    if (fill) fill(&b, arg);
    req_auth(c, &b);
    return exchange(c, buf, rtc_stun_build_finish(&b));
}

static void fill_peer(rtc_stun_builder *b, void *arg) {
    rtc_stun_add_xor_addr(b, RTC_STUN_ATTR_XOR_PEER_ADDRESS, arg);
}
typedef struct chan_arg {
    uint16_t num;
    rtc_addr peer;
} chan_arg;
static void fill_chan(rtc_stun_builder *b, void *arg) {
    chan_arg *c = arg;
    rtc_stun_add_channel_number(b, c->num);
    rtc_stun_add_xor_addr(b, RTC_STUN_ATTR_XOR_PEER_ADDRESS, &c->peer);
}
static void fill_lifetime0(rtc_stun_builder *b, void *arg) {
    rtc_stun_add_u32(b, RTC_STUN_ATTR_LIFETIME, 0);
}

static void setup_cfg(rtc_turn_server_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    memset(&R, 0, sizeof R);
    cfg->realm = REALM;
    cfg->relay = (rtc_turn_relay_ops){relay_open, relay_close, &R};
}

static void setup(void) {
    rtc_turn_server_config cfg;
    setup_cfg(&cfg);
    REQUIRE(rtc_turn_server_new(&S, &cfg, NULL) == RTC_OK);
    REQUIRE(rtc_turn_server_add_user(S, "alice", "secret") == RTC_OK);
    NOW = RTC_SEC(1000);
}

static void teardown(void) {
    rtc_turn_server_free(S);
    S = NULL;
    CHECK_EQ_INT(R.open, R.closed);
}

static void test_auth_dance(void) {
    setup();
    client c;
    client_init(&c, "203.0.113.7", 40000, "alice", "secret");
    uint8_t buf[256];
    rtc_stun_builder b;
    req_begin(&c, &b, buf, sizeof buf, RTC_STUN_ALLOCATE);
    rtc_stun_add_requested_transport(&b, RTC_STUN_TRANSPORT_UDP);
    rtc_stun_add_fingerprint(&b);
    CHECK_EQ_INT(exchange(&c, buf, rtc_stun_build_finish(&b)), 401);
    CHECK(rtc_stun_has(&c.msg, RTC_STUN_ATTR_REALM));
    CHECK(strlen(c.nonce) == 40);
    CHECK(!rtc_stun_has(&c.msg, RTC_STUN_ATTR_SOFTWARE)); /* none unless configured */
    CHECK_EQ_INT(allocate(&c), 0);
    /* The success is authenticated with the same key. */
    CHECK_EQ_INT(rtc_stun_check_integrity(&c.msg, &c.key), RTC_OK);
    rtc_addr relay, mapped;
    CHECK_EQ_INT(rtc_stun_get_xor_addr(&c.msg, RTC_STUN_ATTR_XOR_RELAYED_ADDRESS, &relay), RTC_OK);
    CHECK_EQ_INT(rtc_stun_get_xor_addr(&c.msg, RTC_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped), RTC_OK);
    CHECK(rtc_addr_equal(&mapped, &c.addr));
    uint32_t life = 0;
    rtc_stun_get_u32(&c.msg, RTC_STUN_ATTR_LIFETIME, &life);
    CHECK_EQ_INT(life, 600);
    /* A second Allocate on the same 5-tuple with a new transaction: 437. */
    CHECK_EQ_INT(allocate(&c), 437);
    /* Wrong password: 401 and counted. */
    client bad;
    client_init(&bad, "203.0.113.8", 40000, "alice", "wrong");
    CHECK_EQ_INT(allocate(&bad), 401);
    client nobody;
    client_init(&nobody, "203.0.113.9", 40000, "mallory", "secret");
    CHECK_EQ_INT(allocate(&nobody), 401);
    rtc_turn_server_stats st;
    rtc_turn_server_get_stats(S, &st);
    CHECK_EQ_INT(st.auth_failures, 2);
    CHECK_EQ_INT(st.allocations, 1);
    /* Stale nonce after the nonce lifetime (600 s): 438, then the retry succeeds. */
    NOW += RTC_SEC(601);
    client late;
    client_init(&late, "203.0.113.10", 40000, "alice", "secret");
    strcpy(late.nonce, c.nonce); /* an old nonce (and for another IP: also refused) */
    req_begin(&late, &b, buf, sizeof buf, RTC_STUN_ALLOCATE);
    rtc_stun_add_requested_transport(&b, RTC_STUN_TRANSPORT_UDP);
    req_auth(&late, &b);
    CHECK_EQ_INT(exchange(&late, buf, rtc_stun_build_finish(&b)), 438);
    CHECK_EQ_INT(allocate(&late), 0);
    /* A forged nonce of the right shape: 438 (a fresh nonce is offered). */
    client forged;
    client_init(&forged, "203.0.113.11", 40000, "alice", "secret");
    strcpy(forged.nonce, "00000fffffffffff000000000000000000000000");
    req_begin(&forged, &b, buf, sizeof buf, RTC_STUN_ALLOCATE);
    rtc_stun_add_requested_transport(&b, RTC_STUN_TRANSPORT_UDP);
    req_auth(&forged, &b);
    CHECK_EQ_INT(exchange(&forged, buf, rtc_stun_build_finish(&b)), 438);
    teardown();
}

static void test_relay_paths(void) {
    setup();
    client c;
    client_init(&c, "203.0.113.7", 40000, "alice", "secret");
    REQUIRE(allocate(&c) == 0);
    rtc_addr relay, peer;
    rtc_stun_get_xor_addr(&c.msg, RTC_STUN_ATTR_XOR_RELAYED_ADDRESS, &relay);
    rtc_addr_parse(&peer, "198.51.100.77:9000", 0);
    uint8_t pkt[64], out[2048];
    rtc_turn_transmit t;
    /* Peer data before any permission is dropped. */
    CHECK_EQ_INT(rtc_turn_server_handle_peer(S, NOW, &relay, &peer, (const uint8_t *)"hi", 2),
                 RTC_ERR_NOT_FOUND);
    CHECK_EQ_INT(drain(&c, NULL, NULL), 0);
    CHECK_EQ_INT(simple(&c, RTC_STUN_CREATE_PERMISSION, fill_peer, &peer), 0);
    /* Send indication -> datagram from the relay to the peer. */
    rtc_stun_builder b;
    uint8_t tid[12] = {1};
    rtc_stun_build_init(&b, pkt, sizeof pkt, RTC_STUN_SEND, RTC_STUN_INDICATION, tid);
    rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_PEER_ADDRESS, &peer);
    rtc_stun_add_attr(&b, RTC_STUN_ATTR_DATA, "hello", 5);
    int n = rtc_stun_build_finish(&b);
    memset(&t, 0, sizeof t);
    rtc_turn_server_handle_client(S, NOW, RTC_TURN_UDP, &c.listener, &c.addr, pkt, (size_t)n);
    CHECK_EQ_INT(drain(&c, &t, out), 1);
    CHECK(t.from_relay && rtc_addr_equal(&t.from, &relay) && rtc_addr_equal(&t.to, &peer));
    CHECK(t.len == 5 && memcmp(out, "hello", 5) == 0);
    /* Peer -> relay -> Data indication to the client. */
    CHECK_EQ_INT(rtc_turn_server_handle_peer(S, NOW, &relay, &peer, (const uint8_t *)"world", 5), RTC_OK);
    c.resp_len = 0;
    drain(&c, NULL, NULL);
    REQUIRE(c.resp_len > 0);
    rtc_stun_msg m;
    REQUIRE(rtc_stun_parse(&m, c.resp, c.resp_len) == RTC_OK);
    CHECK(m.method == RTC_STUN_DATA && m.cls == RTC_STUN_INDICATION);
    rtc_addr from;
    const uint8_t *d;
    size_t dl;
    CHECK(rtc_stun_get_xor_addr(&m, RTC_STUN_ATTR_XOR_PEER_ADDRESS, &from) == RTC_OK && rtc_addr_equal(&from, &peer));
    CHECK(rtc_stun_get_bytes(&m, RTC_STUN_ATTR_DATA, &d, &dl) == RTC_OK && dl == 5 && !memcmp(d, "world", 5));
    /* A different IP without permission is dropped; another port of the same IP passes. */
    rtc_addr other;
    rtc_addr_parse(&other, "198.51.100.78:9000", 0);
    CHECK_EQ_INT(rtc_turn_server_handle_peer(S, NOW, &relay, &other, pkt, 4), RTC_ERR_NOT_FOUND);
    rtc_addr_parse(&other, "198.51.100.77:9001", 0);
    CHECK_EQ_INT(rtc_turn_server_handle_peer(S, NOW, &relay, &other, pkt, 4), RTC_OK);
    drain(&c, NULL, NULL);

    /* Channels. */
    chan_arg ca = {0x4001, peer};
    CHECK_EQ_INT(simple(&c, RTC_STUN_CHANNEL_BIND, fill_chan, &ca), 0);
    chan_arg bad = {0x3fff, peer};
    CHECK_EQ_INT(simple(&c, RTC_STUN_CHANNEL_BIND, fill_chan, &bad), 400);
    chan_arg clash = {0x4001, other}; /* same channel, another peer */
    CHECK_EQ_INT(simple(&c, RTC_STUN_CHANNEL_BIND, fill_chan, &clash), 400);
    chan_arg clash2 = {0x4002, peer}; /* same peer, another channel */
    CHECK_EQ_INT(simple(&c, RTC_STUN_CHANNEL_BIND, fill_chan, &clash2), 400);
    CHECK_EQ_INT(simple(&c, RTC_STUN_CHANNEL_BIND, fill_chan, &ca), 0); /* refresh */
    /* Peer -> ChannelData (UDP: no padding). */
    rtc_turn_server_handle_peer(S, NOW, &relay, &peer, (const uint8_t *)"abcde", 5);
    c.resp_len = 0;
    drain(&c, NULL, NULL);
    CHECK_EQ_INT(c.resp_len, 9);
    CHECK(c.resp[0] == 0x40 && c.resp[1] == 0x01 && c.resp[3] == 5 && !memcmp(c.resp + 4, "abcde", 5));
    /* Client ChannelData -> peer. */
    uint8_t cd[] = {0x40, 0x01, 0x00, 0x03, 'x', 'y', 'z', 0};
    rtc_turn_server_handle_client(S, NOW, RTC_TURN_UDP, &c.listener, &c.addr, cd, sizeof cd);
    memset(&t, 0, sizeof t);
    CHECK_EQ_INT(drain(&c, &t, out), 1);
    CHECK(t.len == 3 && !memcmp(out, "xyz", 3) && rtc_addr_equal(&t.to, &peer));
    /* Unbound channel, truncated ChannelData: dropped. */
    uint8_t cd2[] = {0x40, 0x09, 0x00, 0x01, 'q'};
    rtc_turn_server_handle_client(S, NOW, RTC_TURN_UDP, &c.listener, &c.addr, cd2, sizeof cd2);
    uint8_t cd3[] = {0x40, 0x01, 0x00, 0x09, 'q'};
    CHECK_EQ_INT(rtc_turn_server_handle_client(S, NOW, RTC_TURN_UDP, &c.listener, &c.addr, cd3, sizeof cd3),
                 RTC_ERR_PARSE);
    CHECK_EQ_INT(drain(&c, NULL, NULL), 0);
    /* Permissions expire after 300 s without refresh (the channel refresh renewed it). */
    NOW += RTC_SEC(301);
    rtc_turn_server_handle_timeout(S, NOW);
    CHECK_EQ_INT(rtc_turn_server_handle_peer(S, NOW, &relay, &peer, pkt, 4), RTC_ERR_NOT_FOUND);
    /* Refresh with lifetime 0 deletes the allocation and closes the relay. */
    CHECK_EQ_INT(simple(&c, RTC_STUN_REFRESH, fill_lifetime0, NULL), 0);
    CHECK_EQ_INT(R.closed, 1);
    CHECK_EQ_INT(simple(&c, RTC_STUN_REFRESH, NULL, NULL), 437);
    teardown();
}

static void test_tcp_padding_and_close(void) {
    setup();
    client c;
    client_init(&c, "203.0.113.7", 40000, "alice", "secret");
    c.transport = RTC_TURN_TCP;
    REQUIRE(allocate(&c) == 0);
    rtc_addr relay, peer;
    rtc_stun_get_xor_addr(&c.msg, RTC_STUN_ATTR_XOR_RELAYED_ADDRESS, &relay);
    rtc_addr_parse(&peer, "198.51.100.77:9000", 0);
    chan_arg ca = {0x4000, peer};
    CHECK_EQ_INT(simple(&c, RTC_STUN_CHANNEL_BIND, fill_chan, &ca), 0);
    rtc_turn_server_handle_peer(S, NOW, &relay, &peer, (const uint8_t *)"abcde", 5);
    c.resp_len = 0;
    drain(&c, NULL, NULL);
    CHECK_EQ_INT(c.resp_len, 12); /* 4 + 5 padded to 8 over TCP (RFC 8656 §12.5) */
    rtc_turn_server_client_closed(S, &c.listener, &c.addr);
    CHECK_EQ_INT(R.closed, 1);
    teardown();
}

static void test_peer_policy(void) {
    setup();
    const char *denied[] = {"127.0.0.1", "::1", "::ffff:127.0.0.1", "0.0.0.0", "::",
                            "169.254.169.254", "fe80::1", "224.0.0.1", "10.0.0.1",
                            "192.168.1.1", "172.16.0.1", "fc00::1", "255.255.255.255",
                            "64:ff9b::a9fe:a9fe", "::ffff:10.0.0.1", "::127.0.0.1", "ff02::1",
                            "100.64.0.1"};
    for (size_t i = 0; i < RTC_ARRAY_LEN(denied); i++) {
        rtc_addr a;
        REQUIRE(rtc_addr_parse_ip(&a, denied[i], 1) == RTC_OK);
        if (rtc_turn_server_peer_allowed(S, &a)) fprintf(stderr, "allowed: %s\n", denied[i]);
        CHECK(!rtc_turn_server_peer_allowed(S, &a));
    }
    const char *allowed[] = {"198.51.100.1", "2001:db8::1", "8.8.8.8", "::ffff:8.8.8.8"};
    for (size_t i = 0; i < RTC_ARRAY_LEN(allowed); i++) {
        rtc_addr a;
        rtc_addr_parse_ip(&a, allowed[i], 1);
        CHECK(rtc_turn_server_peer_allowed(S, &a));
    }
    /* Over the wire: CreatePermission for a denied peer is 403 and installs nothing. */
    client c;
    client_init(&c, "203.0.113.7", 40000, "alice", "secret");
    REQUIRE(allocate(&c) == 0);
    rtc_addr meta;
    rtc_addr_parse(&meta, "169.254.169.254:80", 0);
    CHECK_EQ_INT(simple(&c, RTC_STUN_CREATE_PERMISSION, fill_peer, &meta), 403);
    rtc_addr v6;
    rtc_addr_parse(&v6, "[2001:db8::5]:80", 0);
    CHECK_EQ_INT(simple(&c, RTC_STUN_CREATE_PERMISSION, fill_peer, &v6), 443); /* v4 relay only */
    rtc_turn_server_stats st;
    rtc_turn_server_get_stats(S, &st);
    CHECK_EQ_INT(st.denied_peers, 1);
    teardown();

    /* Flags: private peers allowed; an allowed range overrides a default denial; a
    ** denied range wins over everything. */
    rtc_turn_server_config cfg;
    setup_cfg(&cfg);
    cfg.allow_private_peers = true;
    rtc_turn_ip_range allow, deny;
    rtc_addr_parse_ip(&allow.first, "127.0.0.5", 0);
    rtc_addr_parse_ip(&allow.last, "127.0.0.9", 0);
    rtc_addr_parse_ip(&deny.first, "10.1.0.0", 0);
    rtc_addr_parse_ip(&deny.last, "10.1.255.255", 0);
    cfg.allowed_peers = &allow;
    cfg.n_allowed_peers = 1;
    cfg.denied_peers = &deny;
    cfg.n_denied_peers = 1;
    REQUIRE(rtc_turn_server_new(&S, &cfg, NULL) == RTC_OK);
    rtc_addr a;
    rtc_addr_parse_ip(&a, "10.0.0.1", 0);
    CHECK(rtc_turn_server_peer_allowed(S, &a));
    rtc_addr_parse_ip(&a, "10.1.2.3", 0);
    CHECK(!rtc_turn_server_peer_allowed(S, &a));
    rtc_addr_parse_ip(&a, "127.0.0.7", 0);
    CHECK(rtc_turn_server_peer_allowed(S, &a));
    rtc_addr_parse_ip(&a, "127.0.0.1", 0);
    CHECK(!rtc_turn_server_peer_allowed(S, &a));
    rtc_addr_parse_ip(&a, "169.254.169.254", 0);
    CHECK(!rtc_turn_server_peer_allowed(S, &a));
    teardown();
}

static void test_rest_secret_and_quota(void) {
    rtc_turn_server_config cfg;
    setup_cfg(&cfg);
    cfg.user_quota = 2;
    REQUIRE(rtc_turn_server_new(&S, &cfg, NULL) == RTC_OK);
    rtc_turn_server_add_secret(S, "oldsecret");
    rtc_turn_server_add_secret(S, "s3cr3t");
    rtc_turn_server_set_unix_time(S, 1700000000);
    NOW = RTC_SEC(5);
    const char *user = "1700003600:bob";
    uint8_t mac[20];
    char pwd[64];
    rtc_hmac_sha1((const uint8_t *)"s3cr3t", 6, (const uint8_t *)user, strlen(user), NULL, 0, NULL, 0, mac);
    rtc_base64_encode(mac, 20, pwd, sizeof pwd);
    client c[3];
    for (int i = 0; i < 3; i++) client_init(&c[i], "203.0.113.7", (uint16_t)(40000 + i), user, pwd);
    CHECK_EQ_INT(allocate(&c[0]), 0);
    CHECK_EQ_INT(allocate(&c[1]), 0);
    CHECK_EQ_INT(allocate(&c[2]), 486); /* quota per user */
    rtc_turn_server_stats st;
    rtc_turn_server_get_stats(S, &st);
    CHECK_EQ_INT(st.quota_rejections, 1);
    /* Expired REST username. */
    rtc_turn_server_set_unix_time(S, 1700003601);
    client late;
    client_init(&late, "203.0.113.8", 40000, user, pwd);
    CHECK_EQ_INT(allocate(&late), 401);
    /* After a reload without secrets, nobody authenticates; live allocations remain. */
    rtc_turn_server_clear_credentials(S);
    rtc_turn_server_get_stats(S, &st);
    CHECK_EQ_INT(st.allocations, 2);
    /* Allocations expire at their lifetime. */
    NOW += RTC_SEC(601);
    CHECK(rtc_turn_server_next_timeout(S) <= NOW);
    rtc_turn_server_handle_timeout(S, NOW);
    rtc_turn_server_get_stats(S, &st);
    CHECK_EQ_INT(st.allocations, 0);
    CHECK_EQ_INT(R.closed, 2);
    CHECK_EQ_INT(rtc_turn_server_next_timeout(S), RTC_TIME_NEVER);
    teardown();
}

static void test_bad_input_and_limits(void) {
    setup();
    client c;
    client_init(&c, "203.0.113.7", 40000, "alice", "secret");
    /* Unknown comprehension-required attribute: 420. Unknown method: 400. Binding: 200. */
    uint8_t buf[256];
    rtc_stun_builder b;
    req_begin(&c, &b, buf, sizeof buf, RTC_STUN_ALLOCATE);
    rtc_stun_add_attr(&b, 0x7ff0, "abcd", 4);
    CHECK_EQ_INT(exchange(&c, buf, rtc_stun_build_finish(&b)), 420);
    req_begin(&c, &b, buf, sizeof buf, 0x0ff);
    CHECK_EQ_INT(exchange(&c, buf, rtc_stun_build_finish(&b)), 400);
    req_begin(&c, &b, buf, sizeof buf, RTC_STUN_BINDING);
    CHECK_EQ_INT(exchange(&c, buf, rtc_stun_build_finish(&b)), 0);
    /* Garbage of every length never crashes and never answers. */
    rtc_test_rng rng;
    rtc_env env;
    rtc_env_seeded(&env, &rng, 7);
    for (int i = 0; i < 2000; i++) {
        uint8_t junk[300];
        size_t n = (size_t)(i % 300);
        env.random(env.ud, junk, n);
        if (i % 3 == 0 && n >= 20) { /* a STUN-looking header with random attributes */
            junk[0] = 0;
            junk[1] = 3;
            junk[2] = (uint8_t)((n - 20) >> 8);
            junk[3] = (uint8_t)((n - 20) & 0xfc);
            junk[4] = 0x21, junk[5] = 0x12, junk[6] = 0xa4, junk[7] = 0x42;
        }
        rtc_turn_server_handle_client(S, NOW, RTC_TURN_UDP, &c.listener, &c.addr, junk, n);
        rtc_turn_transmit t;
        while (rtc_turn_server_poll_transmit(S, &t) == 1) {
            rtc_stun_msg m; /* anything answered must be a well-formed STUN error */
            CHECK(rtc_stun_parse(&m, t.data, t.len) == RTC_OK && m.cls == RTC_STUN_ERROR);
        }
    }
    /* 401 answers are rate-limited per source IP (20/s by default). */
    int answered = 0;
    NOW += RTC_SEC(10);
    for (int i = 0; i < 100; i++) {
        client x;
        client_init(&x, "203.0.113.99", (uint16_t)(1000 + i), "alice", "secret");
        req_begin(&x, &b, buf, sizeof buf, RTC_STUN_ALLOCATE);
        rtc_stun_add_requested_transport(&b, RTC_STUN_TRANSPORT_UDP);
        if (exchange(&x, buf, rtc_stun_build_finish(&b)) == 401) answered++;
    }
    CHECK_EQ_INT(answered, 20);
    /* Relay exhaustion: 508. */
    R.fail = true;
    CHECK_EQ_INT(allocate(&c), 508);
    R.fail = false;
    /* TCP relaying (RFC 6062) is not offered yet: 442; and the empty datagram is dropped. */
    client t;
    client_init(&t, "203.0.113.7", 1, "alice", "secret"); /* same IP: nonces are per IP */
    strcpy(t.nonce, c.nonce);
    req_begin(&t, &b, buf, sizeof buf, RTC_STUN_ALLOCATE);
    rtc_stun_add_requested_transport(&b, RTC_STUN_TRANSPORT_TCP);
    req_auth(&t, &b);
    CHECK_EQ_INT(exchange(&t, buf, rtc_stun_build_finish(&b)), 442);
    CHECK_EQ_INT(exchange(&t, buf, 0), -1);
    teardown();
}

/* 10,000 allocations created and freed: no leak (counting allocator and ASan), and the
** memory per idle allocation with one permission and one channel. */
static void test_many_allocations(void) {
    counting cnt = {0};
    rtc_env env = {.realloc = count_realloc, .ud = &cnt};
    rtc_turn_server_config cfg;
    setup_cfg(&cfg);
    cfg.max_allocations = 20000;
    cfg.user_quota = 20000;
    REQUIRE(rtc_turn_server_new(&S, &cfg, &env) == RTC_OK);
    rtc_turn_server_add_user(S, "alice", "secret");
    NOW = RTC_SEC(1);
    long long base = cnt.live_bytes;
    enum { N = 10000 };
    static client c; /* reused: one nonce serves every port of one IP */
    client_init(&c, "203.0.113.7", 1, "alice", "secret");
    rtc_addr peer;
    rtc_addr_parse(&peer, "198.51.100.77:9000", 0);
    int ok = 0;
    for (int i = 0; i < N; i++) {
        c.addr.port = (uint16_t)(1 + i);
        if (allocate(&c) == 0) ok++;
        chan_arg ca = {0x4000, peer};
        simple(&c, RTC_STUN_CHANNEL_BIND, fill_chan, &ca);
    }
    CHECK_EQ_INT(ok, N);
    long long per = (cnt.live_bytes - base) / N;
    fprintf(stderr, "memory per allocation (1 permission, 1 channel): %lld bytes\n", per);
    CHECK(per < 2048);
    for (int i = 0; i < N; i++) {
        c.addr.port = (uint16_t)(1 + i);
        CHECK(simple(&c, RTC_STUN_REFRESH, fill_lifetime0, NULL) == 0);
    }
    rtc_turn_server_stats st;
    rtc_turn_server_get_stats(S, &st);
    CHECK_EQ_INT(st.allocations, 0);
    CHECK_EQ_INT(R.closed, N);
    rtc_turn_server_free(S);
    S = NULL;
    CHECK_EQ_INT(cnt.live_bytes, 0);
    CHECK_EQ_INT(cnt.live_blocks, 0);
}

/* ---- RFC 6062: a fake TCP side --------------------------------------------------- */
typedef struct tcpfake {
    int listens, unlistens, connects, drops, binds;
    uint32_t last_connect, last_drop, last_bind;
    rtc_addr bind_client;
    bool fail_connect;
} tcpfake;
static tcpfake TF;
static int tf_listen(void *ud, uint8_t family, rtc_addr *relay, void **handle) {
    rtc_addr_parse(relay, "198.51.100.1:60000", 0);
    relay->port = (uint16_t)(relay->port + TF.listens);
    *handle = (void *)(uintptr_t)(++TF.listens);
    return RTC_OK;
}
static void tf_unlisten(void *ud, void *handle) { TF.unlistens++; }
static int tf_connect(void *ud, void *handle, const rtc_addr *peer, uint32_t id) {
    TF.connects++;
    TF.last_connect = id;
    return TF.fail_connect ? RTC_ERR_IO : RTC_OK;
}
static void tf_drop(void *ud, uint32_t id) {
    TF.drops++;
    TF.last_drop = id;
}
static void tf_bind(void *ud, uint32_t id, const rtc_addr *l, const rtc_addr *c) {
    TF.binds++;
    TF.last_bind = id;
    TF.bind_client = *c;
}
static void fill_connid(rtc_stun_builder *b, void *arg) {
    rtc_stun_add_u32(b, RTC_STUN_ATTR_CONNECTION_ID, *(uint32_t *)arg);
}

static void test_tcp_relay(void) {
    rtc_turn_server_config cfg;
    setup_cfg(&cfg);
    memset(&TF, 0, sizeof TF);
    cfg.tcp = (rtc_turn_tcp_ops){tf_listen, tf_unlisten, tf_connect, tf_drop, tf_bind, NULL};
    REQUIRE(rtc_turn_server_new(&S, &cfg, NULL) == RTC_OK);
    REQUIRE(rtc_turn_server_add_user(S, "alice", "secret") == RTC_OK);
    REQUIRE(rtc_turn_server_add_user(S, "bob", "pw") == RTC_OK);
    NOW = RTC_SEC(1000);
    ALLOC_PROTO = 6;
    client u, c, d, e;
    client_init(&u, "203.0.113.7", 40001, "alice", "secret");
    CHECK_EQ_INT(allocate(&u), 400); /* §5.1: TCP allocations only over TCP/TLS */
    client_init(&c, "203.0.113.7", 40000, "alice", "secret");
    c.transport = RTC_TURN_TCP;
    REQUIRE(allocate(&c) == 0);
    CHECK_EQ_INT(TF.listens, 1);
    CHECK_EQ_INT(R.open, 0); /* no UDP relay for a TCP allocation */
    rtc_addr relay, peer, peer2, priv;
    CHECK(rtc_stun_get_xor_addr(&c.msg, RTC_STUN_ATTR_XOR_RELAYED_ADDRESS, &relay) == RTC_OK);
    CHECK_EQ_INT(relay.port, 60000);
    rtc_addr_parse(&peer, "198.51.100.77:80", 0);
    rtc_addr_parse(&peer2, "198.51.100.78:80", 0);
    rtc_addr_parse(&priv, "10.0.0.1:80", 0);

    /* Connect: answered when the app reports the connection. */
    CHECK_EQ_INT(simple(&c, RTC_STUN_CONNECT, fill_peer, &peer), -1);
    CHECK_EQ_INT(TF.connects, 1);
    CHECK_EQ_INT(simple(&c, RTC_STUN_CONNECT, fill_peer, &peer), 446);
    CHECK_EQ_INT(simple(&c, RTC_STUN_CONNECT, fill_peer, &priv), 403);
    CHECK(rtc_turn_server_tcp_connected(S, NOW, 12345, true) == RTC_ERR_NOT_FOUND);
    CHECK(rtc_turn_server_tcp_connected(S, NOW, TF.last_connect, true) == RTC_OK);
    c.resp_len = 0;
    drain(&c, NULL, NULL);
    REQUIRE(rtc_stun_parse(&c.msg, c.resp, c.resp_len) == RTC_OK);
    CHECK(c.msg.cls == RTC_STUN_SUCCESS && c.msg.method == RTC_STUN_CONNECT);
    CHECK(rtc_stun_check_integrity(&c.msg, &c.key) == RTC_OK);
    uint32_t id = 0;
    CHECK(rtc_stun_get_u32(&c.msg, RTC_STUN_ATTR_CONNECTION_ID, &id) == RTC_OK);
    CHECK_EQ_INT(id, TF.last_connect);

    /* ConnectionBind: a new TCP connection, the allocation's own user only. */
    client_init(&e, "203.0.113.7", 40003, "bob", "pw");
    e.transport = RTC_TURN_TCP;
    strcpy(e.nonce, c.nonce);
    CHECK_EQ_INT(simple(&e, RTC_STUN_CONNECTION_BIND, fill_connid, &id), 400);
    client_init(&d, "203.0.113.7", 40002, "alice", "secret");
    strcpy(d.nonce, c.nonce);
    CHECK_EQ_INT(simple(&d, RTC_STUN_CONNECTION_BIND, fill_connid, &id), 400); /* over UDP */
    d.transport = RTC_TURN_TCP;
    uint32_t bogus = id + 1;
    CHECK_EQ_INT(simple(&d, RTC_STUN_CONNECTION_BIND, fill_connid, &bogus), 400);
    CHECK_EQ_INT(simple(&c, RTC_STUN_CONNECTION_BIND, fill_connid, &id), 400); /* control conn */
    CHECK_EQ_INT(TF.binds, 0);
    CHECK_EQ_INT(simple(&d, RTC_STUN_CONNECTION_BIND, fill_connid, &id), 0);
    CHECK_EQ_INT(TF.binds, 1);
    CHECK_EQ_INT(TF.last_bind, id);
    CHECK(rtc_addr_equal(&TF.bind_client, &d.addr));
    CHECK_EQ_INT(simple(&d, RTC_STUN_CONNECTION_BIND, fill_connid, &id), 400); /* once */

    /* Failures: at once (447), reported (447), and never reported (447 after 30 s). */
    TF.fail_connect = true;
    CHECK_EQ_INT(simple(&c, RTC_STUN_CONNECT, fill_peer, &peer2), 447);
    TF.fail_connect = false;
    CHECK_EQ_INT(simple(&c, RTC_STUN_CONNECT, fill_peer, &peer2), -1);
    CHECK(rtc_turn_server_tcp_connected(S, NOW, TF.last_connect, false) == RTC_OK);
    c.resp_len = 0;
    drain(&c, NULL, NULL);
    REQUIRE(rtc_stun_parse(&c.msg, c.resp, c.resp_len) == RTC_OK);
    int code = 0;
    rtc_stun_get_error_code(&c.msg, &code, NULL, NULL);
    CHECK_EQ_INT(code, 447);
    CHECK_EQ_INT(simple(&c, RTC_STUN_CONNECT, fill_peer, &peer2), -1);
    uint32_t slow = TF.last_connect;

    /* Peer-initiated (§5.3): only with a permission; then a ConnectionAttempt. */
    rtc_addr inpeer;
    rtc_addr_parse(&inpeer, "198.51.100.90:5555", 0);
    uint32_t in_id = 0;
    CHECK(rtc_turn_server_tcp_peer_accepted(S, NOW, &relay, &inpeer, &in_id) == RTC_ERR_NOT_FOUND);
    CHECK_EQ_INT(simple(&c, RTC_STUN_CREATE_PERMISSION, fill_peer, &inpeer), 0);
    rtc_addr udp_same = relay; /* a UDP relay may share IP:port: not this allocation */
    CHECK(rtc_turn_server_handle_peer(S, NOW, &udp_same, &inpeer, (const uint8_t *)"x", 1) ==
          RTC_ERR_NOT_FOUND);
    CHECK(rtc_turn_server_tcp_peer_accepted(S, NOW, &relay, &inpeer, &in_id) == RTC_OK);
    c.resp_len = 0;
    drain(&c, NULL, NULL);
    REQUIRE(rtc_stun_parse(&c.msg, c.resp, c.resp_len) == RTC_OK);
    CHECK(c.msg.cls == RTC_STUN_INDICATION && c.msg.method == RTC_STUN_CONNECTION_ATTEMPT);
    uint32_t got = 0;
    rtc_addr gp;
    CHECK(rtc_stun_get_u32(&c.msg, RTC_STUN_ATTR_CONNECTION_ID, &got) == RTC_OK && got == in_id);
    CHECK(rtc_stun_get_xor_addr(&c.msg, RTC_STUN_ATTR_XOR_PEER_ADDRESS, &gp) == RTC_OK &&
          rtc_addr_equal(&gp, &inpeer));

    /* 30 s later: the slow Connect gets 447 and both unbound connections are dropped. */
    NOW += RTC_SEC(31);
    c.resp_len = 0;
    rtc_turn_server_handle_timeout(S, NOW);
    drain(&c, NULL, NULL);
    CHECK_EQ_INT(TF.drops, 2);
    REQUIRE(rtc_stun_parse(&c.msg, c.resp, c.resp_len) == RTC_OK);
    code = 0;
    rtc_stun_get_error_code(&c.msg, &code, NULL, NULL);
    CHECK_EQ_INT(code, 447);
    CHECK(rtc_turn_server_tcp_connected(S, NOW, slow, true) == RTC_ERR_NOT_FOUND);

    /* The control connection closes: the allocation and its listener go. */
    rtc_turn_server_client_closed(S, &c.listener, &c.addr);
    CHECK_EQ_INT(TF.unlistens, 1);
    ALLOC_PROTO = RTC_STUN_TRANSPORT_UDP;
    teardown();

    /* Without tcp ops: 442, as before RFC 6062 support. */
    setup();
    ALLOC_PROTO = 6;
    client_init(&c, "203.0.113.7", 40000, "alice", "secret");
    c.transport = RTC_TURN_TCP;
    CHECK_EQ_INT(allocate(&c), 442);
    ALLOC_PROTO = RTC_STUN_TRANSPORT_UDP;
    teardown();
}

int main(void) {
    RUN(test_auth_dance);
    RUN(test_relay_paths);
    RUN(test_tcp_padding_and_close);
    RUN(test_peer_policy);
    RUN(test_rest_secret_and_quota);
    RUN(test_bad_input_and_limits);
    RUN(test_many_allocations);
    RUN(test_tcp_relay);
    return TEST_DONE();
}
