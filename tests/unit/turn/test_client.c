/* TURN client core (RFC 8656) against the TURN server core, wired together in memory on
** a virtual clock: the 401/438 dance, wrong password, refresh timing, permission and
** channel refresh, data both ways via indications and ChannelData, deallocation, a
** server restart (437), TCP framing, bounds, and malformed server answers. */
#include "cwebrtc/net.h"
#include "cwebrtc/stun.h"
#include "cwebrtc/turn_client.h"
#include "cwebrtc/turn_server.h"
#include "test.h"
#include "util/util.h"

#define REALM "example.org"

/* ---- the relay-address provider for the server ---------------------------------- */
typedef struct relays {
    int open, closed;
    uint16_t next_port;
} relays;
static int relay_open(void *ud, uint8_t family, bool even, bool reserve_next, uint64_t token_in,
                      rtc_addr *relay, void **handle, uint64_t *token) {
    relays *r = ud;
    if (!r->next_port) r->next_port = 50000;
    rtc_addr_parse_ip(relay, family == RTC_AF_INET6 ? "2001:db8::100" : "198.51.100.1",
                      r->next_port++);
    *handle = (void *)(uintptr_t)(++r->open);
    return RTC_OK;
}
static void relay_close(void *ud, void *handle) { ((relays *)ud)->closed++; }

/* ---- the world: one client, one server, peers; all in memory ---------------------- */
#define MAX_EV      256
#define MAX_PEER_RX 64
typedef struct world {
    rtc_env env;
    rtc_test_rng rng;
    rtc_turn_server *s;
    relays R;
    rtc_turn_client *c;
    rtc_addr client_addr, listener;
    rtc_turn_transport tr;
    rtc_time now;
    bool drop_to_server; /* lose every client->server datagram */
    int loss_pct;        /* lose this share of datagrams both ways (seeded) */
    uint64_t loss_state;
    size_t chunk; /* TCP: feed server output to the client in pieces this big */
    /* what the client reported */
    rtc_turn_event ev[MAX_EV];
    rtc_time ev_time[MAX_EV];
    uint8_t ev_data[MAX_EV][64];
    int n_ev;
    /* what reached peers through the relay */
    struct {
        rtc_addr from, to;
        uint8_t data[256];
        size_t len;
    } prx[MAX_PEER_RX];
    int n_prx;
    /* data the client got zero-copy from handle_packet */
    uint8_t zdata[256];
    size_t zlen;
    rtc_addr zpeer;
    uint16_t zchan;
    int n_zero;
    /* last control message the client sent (to forge answers) */
    uint8_t last_req[2048];
    size_t last_req_len;
} world;

static world W;

static void server_new(world *w) {
    rtc_turn_server_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.realm = REALM;
    cfg.relay = (rtc_turn_relay_ops){relay_open, relay_close, &w->R};
    REQUIRE(rtc_turn_server_new(&w->s, &cfg, &w->env) == RTC_OK);
    REQUIRE(rtc_turn_server_add_user(w->s, "alice", "secret") == RTC_OK);
}

static rtc_turn_client_config client_cfg(world *w, const char *pass) {
    rtc_turn_client_config cc;
    memset(&cc, 0, sizeof cc);
    cc.username = "alice";
    cc.password = pass;
    cc.server = w->listener;
    cc.local = w->client_addr;
    cc.transport = w->tr;
    return cc;
}

static void world_init(world *w, rtc_turn_transport tr, const char *pass, bool with_server) {
    memset(w, 0, sizeof *w);
    rtc_env_seeded(&w->env, &w->rng, 42);
    w->tr = tr;
    w->now = RTC_SEC(1000);
    rtc_addr_parse(&w->client_addr, "203.0.113.7:40000", 0);
    rtc_addr_parse(&w->listener, "192.0.2.10:3478", 0);
    if (with_server) server_new(w);
    rtc_turn_client_config cc = client_cfg(w, pass);
    REQUIRE(rtc_turn_client_new(&w->c, &cc, &w->env) == RTC_OK);
}

static void world_free(world *w) {
    rtc_turn_client_free(w->c);
    rtc_turn_server_free(w->s);
    w->c = NULL;
    w->s = NULL;
    CHECK_EQ_INT(w->R.open, w->R.closed);
}

static void take_events(world *w) {
    rtc_turn_event e;
    while (rtc_turn_client_poll_event(w->c, &e) == 1) {
        if (w->n_ev >= MAX_EV) continue;
        w->ev[w->n_ev] = e;
        w->ev_time[w->n_ev] = w->now;
        if (e.type == RTC_TURN_EV_DATA) {
            size_t n = e.len < 64 ? e.len : 64;
            memcpy(w->ev_data[w->n_ev], e.data, n);
        }
        w->n_ev++;
    }
}

/* Hand one server->client message to the client (UDP datagram or TCP bytes). */
static void to_client(world *w, const uint8_t *d, size_t n) {
    if (w->tr == RTC_TURN_UDP) {
        rtc_turn_data zd;
        if (rtc_turn_client_handle_packet(w->c, w->now, &w->listener, d, n, &zd) == 1) {
            memcpy(w->zdata, zd.data, zd.len < 256 ? zd.len : 256);
            w->zlen = zd.len;
            w->zpeer = zd.peer;
            w->zchan = zd.channel;
            w->n_zero++;
        }
    } else {
        size_t step = w->chunk ? w->chunk : n;
        for (size_t off = 0; off < n; off += step)
            rtc_turn_client_handle_stream(w->c, w->now, d + off, RTC_MIN(step, n - off));
    }
}

static bool lost(world *w) {
    if (!w->loss_pct) return false;
    w->loss_state = w->loss_state * 6364136223846793005ull + 1442695040888963407ull;
    return (int)((w->loss_state >> 33) % 100) < w->loss_pct;
}

static void to_server(world *w, const uint8_t *d, size_t n) {
    if (w->drop_to_server || !w->s || lost(w)) return;
    rtc_turn_server_handle_client(w->s, w->now, w->tr, &w->listener, &w->client_addr, d, n);
}

/* Move everything until quiet (bounded). */
static void pump(world *w) {
    for (int round = 0; round < 50; round++) {
        bool moved = false;
        rtc_turn_client_transmit t;
        while (rtc_turn_client_poll_transmit(w->c, &t) == 1) {
            moved = true;
            CHECK(rtc_addr_equal(&t.dst, &w->listener));
            if (t.len <= sizeof w->last_req) {
                memcpy(w->last_req, t.data, t.len);
                w->last_req_len = t.len;
            }
            to_server(w, t.data, t.len);
        }
        rtc_turn_transmit st;
        static uint8_t copy[70000];
        while (w->s && rtc_turn_server_poll_transmit(w->s, &st) == 1) {
            moved = true;
            if (st.from_relay) {
                if (w->n_prx < MAX_PEER_RX) {
                    w->prx[w->n_prx].from = st.from;
                    w->prx[w->n_prx].to = st.to;
                    memcpy(w->prx[w->n_prx].data, st.data, RTC_MIN(st.len, 256));
                    w->prx[w->n_prx].len = st.len;
                    w->n_prx++;
                }
            } else if (!lost(w)) {
                memcpy(copy, st.data, st.len);
                to_client(w, copy, st.len);
            }
        }
        take_events(w);
        if (!moved) return;
    }
}

/* Advance virtual time to `until`, running every timer on the way. */
static void advance(world *w, rtc_time until) {
    for (int i = 0; i < 100000; i++) {
        rtc_time t = rtc_turn_client_next_timeout(w->c);
        if (w->s) t = RTC_MIN(t, rtc_turn_server_next_timeout(w->s));
        if (t > until) break;
        if (t > w->now) w->now = t;
        rtc_turn_client_handle_timeout(w->c, w->now);
        if (w->s) rtc_turn_server_handle_timeout(w->s, w->now);
        pump(w);
    }
    w->now = until;
    rtc_turn_client_handle_timeout(w->c, w->now);
    if (w->s) rtc_turn_server_handle_timeout(w->s, w->now);
    pump(w);
}

static int count_ev(world *w, int type) {
    int n = 0;
    for (int i = 0; i < w->n_ev; i++)
        n += w->ev[i].type == type;
    return n;
}
static const rtc_turn_event *last_ev(world *w, int type) {
    for (int i = w->n_ev - 1; i >= 0; i--)
        if (w->ev[i].type == type) return &w->ev[i];
    return NULL;
}

static bool do_allocate(world *w) {
    if (rtc_turn_client_allocate(w->c, w->now) != RTC_OK) return false;
    pump(w);
    return rtc_turn_client_get_state(w->c) == RTC_TURN_CLIENT_ALLOCATED;
}

/* Peer -> relay -> client. Returns the server's verdict. */
static int peer_send(world *w, const rtc_addr *peer, const char *s) {
    rtc_addr relay;
    rtc_turn_client_get_relayed(w->c, &relay, NULL);
    int rc = rtc_turn_server_handle_peer(w->s, w->now, &relay, peer, (const uint8_t *)s, strlen(s));
    pump(w);
    return rc;
}

/* Client -> relay -> peer. Returns the encoded length. */
static int client_send(world *w, const rtc_addr *peer, const char *s) {
    uint8_t out[512];
    int n =
        rtc_turn_client_send(w->c, w->now, peer, (const uint8_t *)s, strlen(s), out, sizeof out);
    if (n > 0) {
        to_server(w, out, (size_t)n);
        pump(w);
    }
    return n;
}

static bool peer_got(world *w, const rtc_addr *peer, const char *s) {
    if (!w->n_prx) return false;
    size_t n = strlen(s);
    return w->prx[w->n_prx - 1].len == n && !memcmp(w->prx[w->n_prx - 1].data, s, n) &&
           rtc_addr_equal(&w->prx[w->n_prx - 1].to, peer);
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_allocate(void) {
    world *w = &W;
    world_init(w, RTC_TURN_UDP, "secret", true);
    CHECK_EQ_INT(rtc_turn_client_get_state(w->c), RTC_TURN_CLIENT_NEW);
    CHECK(rtc_turn_client_next_timeout(w->c) == RTC_TIME_NEVER);
    REQUIRE(do_allocate(w));
    const rtc_turn_event *e = last_ev(w, RTC_TURN_EV_ALLOCATED);
    REQUIRE(e != NULL);
    rtc_addr want_relay;
    rtc_addr_parse(&want_relay, "198.51.100.1:50000", 0);
    CHECK(rtc_addr_equal(&e->relayed, &want_relay));
    CHECK(rtc_addr_equal(&e->mapped, &w->client_addr));
    CHECK_EQ_INT(e->lifetime, 600);
    CHECK_EQ_INT(rtc_turn_client_expires(w->c), w->now + RTC_SEC(600));
    rtc_turn_client_stats st;
    rtc_turn_client_get_stats(w->c, &st);
    CHECK_EQ_INT(st.requests_sent, 2); /* unauthenticated, then with credentials */
    rtc_turn_server_stats ss;
    rtc_turn_server_get_stats(w->s, &ss);
    CHECK_EQ_INT(ss.allocations, 1);
    CHECK_EQ_INT(ss.auth_failures, 0);
    /* The next timer is the refresh at 540 s. */
    CHECK_EQ_INT(rtc_turn_client_next_timeout(w->c), w->now + RTC_SEC(540));
    CHECK_EQ_INT(rtc_turn_client_allocate(w->c, w->now), RTC_ERR_MISUSE);
    /* A forced refresh goes out at once and moves the schedule. */
    w->now += RTC_SEC(10);
    CHECK_EQ_INT(rtc_turn_client_refresh(w->c, w->now), RTC_OK);
    pump(w);
    CHECK_EQ_INT(count_ev(w, RTC_TURN_EV_REFRESHED), 1);
    CHECK_EQ_INT(rtc_turn_client_next_timeout(w->c), w->now + RTC_SEC(540));
    world_free(w);
}

static void test_wrong_password(void) {
    world *w = &W;
    world_init(w, RTC_TURN_UDP, "wrong", true);
    CHECK(!do_allocate(w));
    CHECK_EQ_INT(rtc_turn_client_get_state(w->c), RTC_TURN_CLIENT_FAILED);
    const rtc_turn_event *e = last_ev(w, RTC_TURN_EV_FAILED);
    REQUIRE(e != NULL);
    CHECK_EQ_INT(e->error, RTC_ERR_AUTH);
    CHECK_EQ_INT(e->stun_code, 401);
    rtc_turn_client_stats st;
    rtc_turn_client_get_stats(w->c, &st);
    CHECK_EQ_INT(st.requests_sent, 2); /* no retry loop on wrong credentials */
    CHECK(rtc_turn_client_next_timeout(w->c) == RTC_TIME_NEVER);
    CHECK_EQ_INT(rtc_turn_client_create_permission(w->c, w->now, &w->listener), RTC_ERR_MISUSE);
    world_free(w);
}

static void test_refresh_and_stale_nonce(void) {
    world *w = &W;
    world_init(w, RTC_TURN_UDP, "secret", true);
    REQUIRE(do_allocate(w));
    rtc_time t0 = w->now;
    advance(w, t0 + RTC_SEC(3600));
    CHECK_EQ_INT(rtc_turn_client_get_state(w->c), RTC_TURN_CLIENT_ALLOCATED);
    /* A refresh every 540 s: 6 in an hour; the first exactly at t0 + 540 s. */
    CHECK_EQ_INT(count_ev(w, RTC_TURN_EV_REFRESHED), 6);
    for (int i = 0; i < w->n_ev; i++)
        if (w->ev[i].type == RTC_TURN_EV_REFRESHED) {
            CHECK_EQ_INT(w->ev_time[i], t0 + RTC_SEC(540));
            CHECK_EQ_INT(w->ev[i].lifetime, 600);
            break;
        }
    rtc_turn_client_stats st;
    rtc_turn_client_get_stats(w->c, &st);
    /* The server's nonces last 600 s: later refreshes meet 438 and retry. */
    CHECK(st.stale_nonces >= 3);
    CHECK_EQ_INT(st.refreshes, 6);
    rtc_turn_server_stats ss;
    rtc_turn_server_get_stats(w->s, &ss);
    CHECK_EQ_INT(ss.allocations, 1);
    CHECK_EQ_INT(ss.allocations_total, 1);
    CHECK_EQ_INT(count_ev(w, RTC_TURN_EV_FAILED), 0);
    world_free(w);
}

static void test_requested_lifetime_and_v6(void) {
    world *w = &W;
    world_init(w, RTC_TURN_UDP, "secret", true);
    rtc_turn_client_free(w->c);
    rtc_turn_client_config cc = client_cfg(w, "secret");
    cc.lifetime = 3000;
    cc.family = RTC_AF_INET6;
    REQUIRE(rtc_turn_client_new(&w->c, &cc, &w->env) == RTC_OK);
    REQUIRE(do_allocate(w));
    const rtc_turn_event *e = last_ev(w, RTC_TURN_EV_ALLOCATED);
    REQUIRE(e);
    CHECK_EQ_INT(e->relayed.family, RTC_AF_INET6);
    CHECK_EQ_INT(e->lifetime, 3000);
    CHECK_EQ_INT(rtc_turn_client_next_timeout(w->c), w->now + RTC_SEC(2940));
    advance(w, w->now + RTC_SEC(9000));
    CHECK_EQ_INT(count_ev(w, RTC_TURN_EV_REFRESHED), 3);
    CHECK_EQ_INT(rtc_turn_client_get_state(w->c), RTC_TURN_CLIENT_ALLOCATED);
    world_free(w);
}

static void test_indications(void) {
    world *w = &W;
    world_init(w, RTC_TURN_UDP, "secret", true);
    REQUIRE(do_allocate(w));
    rtc_addr peer, other;
    rtc_addr_parse(&peer, "198.51.100.77:9000", 0);
    rtc_addr_parse(&other, "198.51.100.78:9000", 0);
    /* No permission on the server yet: the peer is not heard. */
    CHECK_EQ_INT(peer_send(w, &peer, "early"), RTC_ERR_NOT_FOUND);
    CHECK_EQ_INT(rtc_turn_client_create_permission(w->c, w->now, &peer), RTC_OK);
    pump(w);
    const rtc_turn_event *e = last_ev(w, RTC_TURN_EV_PERMISSION);
    REQUIRE(e);
    CHECK_EQ_INT(e->stun_code, 0);
    CHECK_EQ_INT(e->error, 0);
    CHECK(rtc_addr_equal_ip(&e->peer, &peer));
    /* Client -> peer by Send indication. */
    int n = client_send(w, &peer, "hello");
    CHECK(n > 20);
    CHECK(peer_got(w, &peer, "hello"));
    /* Peer -> client by Data indication, zero copy. */
    CHECK_EQ_INT(peer_send(w, &peer, "world"), RTC_OK);
    CHECK_EQ_INT(w->n_zero, 1);
    CHECK(w->zlen == 5 && !memcmp(w->zdata, "world", 5));
    CHECK(rtc_addr_equal(&w->zpeer, &peer));
    CHECK_EQ_INT(w->zchan, 0);
    /* The same through the event path (data == NULL). */
    uint8_t di[128];
    {
        rtc_stun_builder b;
        uint8_t tid[12] = {9};
        rtc_stun_build_init(&b, di, sizeof di, RTC_STUN_DATA, RTC_STUN_INDICATION, tid);
        rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_PEER_ADDRESS, &peer);
        rtc_stun_add_attr(&b, RTC_STUN_ATTR_DATA, "evt", 3);
        n = rtc_stun_build_finish(&b);
    }
    CHECK_EQ_INT(rtc_turn_client_handle_packet(w->c, w->now, &w->listener, di, (size_t)n, NULL), 0);
    take_events(w);
    e = last_ev(w, RTC_TURN_EV_DATA);
    REQUIRE(e);
    CHECK(e->len == 3 && !memcmp(w->ev_data[w->n_ev - 1], "evt", 3));
    CHECK(rtc_addr_equal(&e->peer, &peer));
    /* A Data indication from an IP we gave no permission: dropped. */
    {
        rtc_stun_builder b;
        uint8_t tid[12] = {10};
        rtc_stun_build_init(&b, di, sizeof di, RTC_STUN_DATA, RTC_STUN_INDICATION, tid);
        rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_PEER_ADDRESS, &other);
        rtc_stun_add_attr(&b, RTC_STUN_ATTR_DATA, "x", 1);
        n = rtc_stun_build_finish(&b);
    }
    int before = w->n_zero;
    CHECK_EQ_INT(rtc_turn_client_handle_packet(w->c, w->now, &w->listener, di, (size_t)n, NULL), 0);
    CHECK_EQ_INT(w->n_zero, before);
    /* From another source than the server: refused. */
    CHECK_EQ_INT(rtc_turn_client_handle_packet(w->c, w->now, &peer, di, (size_t)n, NULL),
                 RTC_ERR_NOT_FOUND);
    /* One family per allocation: an IPv6 peer on an IPv4 relay is refused locally. */
    rtc_addr v6peer;
    rtc_addr_parse(&v6peer, "[2001:db8::5]:80", 0);
    CHECK_EQ_INT(rtc_turn_client_create_permission(w->c, w->now, &v6peer), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_turn_client_bind_channel(w->c, w->now, &v6peer), RTC_ERR_INVALID);
    CHECK_EQ_INT(client_send(w, &v6peer, "v6"), RTC_ERR_INVALID);
    /* Sending to a new IP starts a permission by itself. */
    n = client_send(w, &other, "auto");
    CHECK(n > 0);
    e = last_ev(w, RTC_TURN_EV_PERMISSION);
    CHECK(e && rtc_addr_equal_ip(&e->peer, &other) && e->error == 0);
    CHECK_EQ_INT(peer_send(w, &other, "back"), RTC_OK);
    /* Pinned permission stays for an hour; the unpinned, unused one goes (the server
    ** then drops that peer). */
    advance(w, w->now + RTC_SEC(3600));
    CHECK_EQ_INT(peer_send(w, &peer, "still"), RTC_OK);
    CHECK(w->zlen == 5 && !memcmp(w->zdata, "still", 5));
    CHECK_EQ_INT(peer_send(w, &other, "gone"), RTC_ERR_NOT_FOUND);
    int refreshes = 0;
    for (int i = 0; i < w->n_ev; i++)
        if (w->ev[i].type == RTC_TURN_EV_PERMISSION && w->ev[i].refresh &&
            rtc_addr_equal_ip(&w->ev[i].peer, &peer)) {
            refreshes++;
            CHECK_EQ_INT(w->ev[i].error, 0);
        }
    CHECK_EQ_INT(refreshes, 15); /* every 240 s */
    /* Removing it: after its next refresh time it is gone on both sides. */
    CHECK_EQ_INT(rtc_turn_client_remove_permission(w->c, &peer), RTC_OK);
    advance(w, w->now + RTC_SEC(600));
    CHECK_EQ_INT(peer_send(w, &peer, "late"), RTC_ERR_NOT_FOUND);
    CHECK_EQ_INT(rtc_turn_client_remove_permission(w->c, &peer), RTC_ERR_NOT_FOUND);
    world_free(w);
}

static void test_channels(void) {
    world *w = &W;
    world_init(w, RTC_TURN_UDP, "secret", true);
    REQUIRE(do_allocate(w));
    rtc_addr peer;
    rtc_addr_parse(&peer, "198.51.100.77:9000", 0);
    int ch = rtc_turn_client_bind_channel(w->c, w->now, &peer);
    CHECK_EQ_INT(ch, 0x4000);
    /* Before the answer arrives, data still goes as a Send indication. */
    uint8_t out[128];
    int n = rtc_turn_client_send(w->c, w->now, &peer, (const uint8_t *)"ind", 3, out, sizeof out);
    CHECK(n > 20 && (out[0] & 0xC0) == 0);
    pump(w);
    const rtc_turn_event *e = last_ev(w, RTC_TURN_EV_CHANNEL);
    REQUIRE(e);
    CHECK_EQ_INT(e->channel, 0x4000);
    CHECK_EQ_INT(e->error, 0);
    CHECK_EQ_INT(rtc_turn_client_channel_of(w->c, &peer), 0x4000);
    CHECK_EQ_INT(rtc_turn_client_bind_channel(w->c, w->now, &peer), 0x4000); /* same peer */
    /* ChannelData both ways (UDP: 4 + 5 bytes, no padding). */
    n = client_send(w, &peer, "abcde");
    CHECK_EQ_INT(n, 9);
    CHECK(peer_got(w, &peer, "abcde"));
    CHECK_EQ_INT(peer_send(w, &peer, "fghij"), RTC_OK);
    CHECK(w->zlen == 5 && !memcmp(w->zdata, "fghij", 5) && w->zchan == 0x4000);
    CHECK(rtc_addr_equal(&w->zpeer, &peer));
    /* Another port of the same IP has no channel: indications. */
    rtc_addr peer2 = peer;
    peer2.port = 9001;
    n = client_send(w, &peer2, "p2");
    CHECK(n > 20 && peer_got(w, &peer2, "p2"));
    /* Two hours: channel re-bound every 540 s, permission every 240 s, data flows on the
    ** channel throughout (the server would drop either one if it lapsed). */
    for (int k = 0; k < 24; k++) {
        advance(w, w->now + RTC_SEC(300));
        char msg[16];
        snprintf(msg, sizeof msg, "c%d", k);
        CHECK_EQ_INT(client_send(w, &peer, msg), 4 + (int)strlen(msg));
        CHECK(peer_got(w, &peer, msg));
        CHECK_EQ_INT(peer_send(w, &peer, msg), RTC_OK);
        CHECK(w->zchan == 0x4000 && w->zlen == strlen(msg));
    }
    int chan_refresh = 0;
    for (int i = 0; i < w->n_ev; i++)
        if (w->ev[i].type == RTC_TURN_EV_CHANNEL && w->ev[i].refresh) chan_refresh++;
    CHECK_EQ_INT(chan_refresh, 13); /* 7200 s / 540 s */
    rtc_turn_client_stats st;
    rtc_turn_client_get_stats(w->c, &st);
    CHECK_EQ_INT(st.channel_out, 25);
    CHECK_EQ_INT(st.channel_in, 25);
    CHECK_EQ_INT(count_ev(w, RTC_TURN_EV_FAILED), 0);
    /* Channels exhaust their bound. */
    rtc_turn_client_free(w->c);
    rtc_turn_server_free(w->s);
    w->s = NULL;
    server_new(w);
    rtc_turn_client_config cc = client_cfg(w, "secret");
    cc.max_channels = 2;
    cc.max_permissions = 3;
    REQUIRE(rtc_turn_client_new(&w->c, &cc, &w->env) == RTC_OK);
    REQUIRE(do_allocate(w));
    rtc_addr p;
    for (int i = 0; i < 2; i++) {
        rtc_addr_parse(&p, "198.51.100.90:1000", 0);
        p.port = (uint16_t)(1000 + i);
        CHECK_EQ_INT(rtc_turn_client_bind_channel(w->c, w->now, &p), 0x4000 + i);
    }
    p.port = 2000;
    CHECK_EQ_INT(rtc_turn_client_bind_channel(w->c, w->now, &p), RTC_ERR_NOMEM);
    rtc_addr_parse(&p, "198.51.100.91:1", 0);
    CHECK_EQ_INT(rtc_turn_client_create_permission(w->c, w->now, &p), RTC_OK);
    rtc_addr_parse(&p, "198.51.100.92:1", 0);
    CHECK_EQ_INT(rtc_turn_client_create_permission(w->c, w->now, &p), RTC_OK);
    rtc_addr_parse(&p, "198.51.100.93:1", 0);
    CHECK_EQ_INT(rtc_turn_client_create_permission(w->c, w->now, &p), RTC_ERR_NOMEM);
    CHECK_EQ_INT(client_send(w, &p, "x"), RTC_ERR_NOMEM);
    pump(w);
    world_free(w);
}

static void test_forbidden_peer(void) {
    world *w = &W;
    world_init(w, RTC_TURN_UDP, "secret", true);
    REQUIRE(do_allocate(w));
    rtc_addr meta;
    rtc_addr_parse(&meta, "169.254.169.254:80", 0);
    CHECK_EQ_INT(rtc_turn_client_create_permission(w->c, w->now, &meta), RTC_OK);
    pump(w);
    const rtc_turn_event *e = last_ev(w, RTC_TURN_EV_PERMISSION);
    REQUIRE(e);
    CHECK_EQ_INT(e->stun_code, 403);
    CHECK_EQ_INT(e->error, RTC_ERR_AUTH);
    uint8_t out[64];
    CHECK_EQ_INT(
        rtc_turn_client_send(w->c, w->now, &meta, (const uint8_t *)"x", 1, out, sizeof out),
        RTC_ERR_AUTH);
    CHECK_EQ_INT(rtc_turn_client_bind_channel(w->c, w->now, &meta), 0x4000);
    pump(w);
    e = last_ev(w, RTC_TURN_EV_CHANNEL);
    CHECK(e && e->stun_code == 403);
    CHECK_EQ_INT(rtc_turn_client_get_state(w->c), RTC_TURN_CLIENT_ALLOCATED);
    world_free(w);
}

static void test_deallocate(void) {
    world *w = &W;
    world_init(w, RTC_TURN_UDP, "secret", true);
    REQUIRE(do_allocate(w));
    CHECK_EQ_INT(rtc_turn_client_close(w->c, w->now), RTC_OK);
    CHECK_EQ_INT(rtc_turn_client_get_state(w->c), RTC_TURN_CLIENT_CLOSING);
    pump(w);
    CHECK_EQ_INT(rtc_turn_client_get_state(w->c), RTC_TURN_CLIENT_CLOSED);
    CHECK_EQ_INT(count_ev(w, RTC_TURN_EV_CLOSED), 1);
    rtc_turn_server_stats ss;
    rtc_turn_server_get_stats(w->s, &ss);
    CHECK_EQ_INT(ss.allocations, 0);
    CHECK_EQ_INT(w->R.closed, 1);
    CHECK_EQ_INT(rtc_turn_client_close(w->c, w->now), RTC_OK); /* idempotent */
    CHECK(rtc_turn_client_next_timeout(w->c) == RTC_TIME_NEVER);
    world_free(w);
    /* Closing with the server unreachable still ends (after the transaction timeout). */
    world_init(w, RTC_TURN_UDP, "secret", true);
    REQUIRE(do_allocate(w));
    w->drop_to_server = true;
    rtc_turn_client_close(w->c, w->now);
    advance(w, w->now + RTC_SEC(60));
    CHECK_EQ_INT(rtc_turn_client_get_state(w->c), RTC_TURN_CLIENT_CLOSED);
    world_free(w);
    /* Closing before anything was allocated. */
    world_init(w, RTC_TURN_UDP, "secret", true);
    rtc_turn_client_close(w->c, w->now);
    take_events(w);
    CHECK_EQ_INT(count_ev(w, RTC_TURN_EV_CLOSED), 1);
    world_free(w);
}

static void test_server_restart(void) {
    world *w = &W;
    world_init(w, RTC_TURN_UDP, "secret", true);
    REQUIRE(do_allocate(w));
    rtc_addr peer;
    rtc_addr_parse(&peer, "198.51.100.77:9000", 0);
    rtc_turn_client_bind_channel(w->c, w->now, &peer);
    pump(w);
    /* The server process restarts: every allocation (and its nonce key) is gone. */
    rtc_turn_server_free(w->s);
    w->s = NULL;
    server_new(w);
    advance(w, w->now + RTC_SEC(300));
    CHECK_EQ_INT(rtc_turn_client_get_state(w->c), RTC_TURN_CLIENT_FAILED);
    const rtc_turn_event *e = last_ev(w, RTC_TURN_EV_FAILED);
    REQUIRE(e);
    CHECK_EQ_INT(e->stun_code, 437);
    CHECK_EQ_INT(e->error, RTC_ERR_CLOSED);
    rtc_turn_client_stats st;
    rtc_turn_client_get_stats(w->c, &st);
    CHECK(st.stale_nonces >= 1); /* the new server first refused the old nonce */
    CHECK(rtc_turn_client_next_timeout(w->c) == RTC_TIME_NEVER);
    world_free(w);
}

static void test_lossy_network(void) {
    world *w = &W;
    world_init(w, RTC_TURN_UDP, "secret", true);
    w->loss_pct = 25;
    w->loss_state = 12345;
    rtc_turn_client_allocate(w->c, w->now);
    pump(w);
    advance(w, w->now + RTC_SEC(60));
    REQUIRE(rtc_turn_client_get_state(w->c) == RTC_TURN_CLIENT_ALLOCATED);
    rtc_addr peer;
    rtc_addr_parse(&peer, "198.51.100.77:9000", 0);
    rtc_turn_client_create_permission(w->c, w->now, &peer);
    rtc_turn_client_bind_channel(w->c, w->now, &peer);
    advance(w, w->now + RTC_SEC(60));
    CHECK_EQ_INT(rtc_turn_client_channel_of(w->c, &peer), 0x4000);
    /* Three hours at 25% loss each way: every refresh gets through in the end. */
    advance(w, w->now + RTC_SEC(3 * 3600));
    CHECK_EQ_INT(rtc_turn_client_get_state(w->c), RTC_TURN_CLIENT_ALLOCATED);
    CHECK_EQ_INT(count_ev(w, RTC_TURN_EV_FAILED), 0);
    for (int i = 0; i < w->n_ev; i++)
        if (w->ev[i].type == RTC_TURN_EV_PERMISSION || w->ev[i].type == RTC_TURN_EV_CHANNEL)
            CHECK_EQ_INT(w->ev[i].error, 0);
    rtc_turn_server_stats ss;
    rtc_turn_server_get_stats(w->s, &ss);
    CHECK_EQ_INT(ss.allocations, 1);
    CHECK_EQ_INT(ss.allocations_total, 1);
    w->loss_pct = 0;
    CHECK_EQ_INT(client_send(w, &peer, "after"), 9);
    CHECK(peer_got(w, &peer, "after"));
    CHECK_EQ_INT(peer_send(w, &peer, "reply"), RTC_OK);
    CHECK(w->zchan == 0x4000 && w->zlen == 5);
    world_free(w);
    /* A 100 s outage: refreshes time out, are retried, and the allocation, permission
    ** and channel survive because the server still held them. */
    world_init(w, RTC_TURN_UDP, "secret", true);
    REQUIRE(do_allocate(w));
    rtc_turn_client_create_permission(w->c, w->now, &peer);
    rtc_turn_client_bind_channel(w->c, w->now, &peer);
    pump(w);
    advance(w, w->now + RTC_SEC(230));
    w->drop_to_server = true;
    advance(w, w->now + RTC_SEC(50)); /* the permission refresh at 240 s is lost */
    w->drop_to_server = false;
    advance(w, w->now + RTC_SEC(30)); /* retried: server permission refreshed before 300 s */
    CHECK_EQ_INT(peer_send(w, &peer, "alive"), RTC_OK);
    CHECK_EQ_INT(rtc_turn_client_channel_of(w->c, &peer), 0x4000);
    CHECK_EQ_INT(count_ev(w, RTC_TURN_EV_FAILED), 0);
    world_free(w);
}

static void test_timeouts(void) {
    world *w = &W;
    world_init(w, RTC_TURN_UDP, "secret", true);
    w->drop_to_server = true;
    rtc_turn_client_allocate(w->c, w->now);
    rtc_time t0 = w->now;
    advance(w, t0 + RTC_SEC(100));
    const rtc_turn_event *e = last_ev(w, RTC_TURN_EV_FAILED);
    REQUIRE(e);
    CHECK_EQ_INT(e->error, RTC_ERR_TIMEOUT);
    CHECK_EQ_INT(w->ev_time[w->n_ev - 1], t0 + RTC_MS(39500)); /* RFC 8489 §6.2.1 */
    world_free(w);
    /* Refreshes lost until the allocation expires: FAILED at the expiry, not before. */
    world_init(w, RTC_TURN_UDP, "secret", true);
    REQUIRE(do_allocate(w));
    t0 = w->now;
    w->drop_to_server = true;
    advance(w, t0 + RTC_SEC(700));
    e = last_ev(w, RTC_TURN_EV_FAILED);
    REQUIRE(e);
    CHECK_EQ_INT(e->error, RTC_ERR_TIMEOUT);
    CHECK_EQ_INT(w->ev_time[w->n_ev - 1], t0 + RTC_SEC(600));
    w->drop_to_server = false;
    world_free(w);
}

/* ---- a hand-driven server for malformed and unusual answers ----------------------- */

static int last_req(world *w, rtc_stun_msg *m) {
    rtc_turn_client_transmit t;
    int got = 0;
    while (rtc_turn_client_poll_transmit(w->c, &t) == 1) {
        memcpy(w->last_req, t.data, t.len);
        w->last_req_len = t.len;
        got = 1;
    }
    return got && rtc_stun_parse(m, w->last_req, w->last_req_len) == RTC_OK;
}

static rtc_stun_key alice_key(void) {
    rtc_stun_key k;
    rtc_stun_key_long_term(&k, RTC_STUN_PASSWORD_ALG_MD5, "alice", 5, REALM, strlen(REALM),
                           "secret", 6, NULL);
    return k;
}

/* Answer the first request with 401 + REALM/NONCE; returns the authenticated request. */
static bool fake_challenge(world *w, rtc_stun_msg *req) {
    rtc_stun_msg m;
    if (!last_req(w, &m)) return false;
    uint8_t buf[256];
    rtc_stun_builder b;
    rtc_stun_build_error_response(&b, buf, sizeof buf, &m, 401, NULL);
    rtc_stun_add_string(&b, RTC_STUN_ATTR_REALM, REALM);
    rtc_stun_add_string(&b, RTC_STUN_ATTR_NONCE, "nonce-1");
    int n = rtc_stun_build_finish(&b);
    rtc_turn_client_handle_packet(w->c, w->now, &w->listener, buf, (size_t)n, NULL);
    rtc_stun_key k = alice_key();
    return last_req(w, req) && rtc_stun_has(req, RTC_STUN_ATTR_MESSAGE_INTEGRITY) &&
           rtc_stun_check_integrity(req, &k) == RTC_OK;
}

static void fake_error(world *w, const rtc_stun_msg *req, int code, const rtc_addr *alt) {
    uint8_t buf[256];
    rtc_stun_builder b;
    rtc_stun_key k = alice_key();
    rtc_stun_build_error_response(&b, buf, sizeof buf, req, code, NULL);
    if (alt) rtc_stun_add_addr(&b, RTC_STUN_ATTR_ALTERNATE_SERVER, alt);
    rtc_stun_add_integrity(&b, &k);
    int n = rtc_stun_build_finish(&b);
    rtc_turn_client_handle_packet(w->c, w->now, &w->listener, buf, (size_t)n, NULL);
    take_events(w);
}

static void test_error_codes(void) {
    world *w = &W;
    static const struct {
        int code, err;
    } cases[] = {{486, RTC_ERR_NOMEM},  {508, RTC_ERR_NOMEM},       {442, RTC_ERR_UNSUPPORTED},
                 {437, RTC_ERR_CLOSED}, {440, RTC_ERR_UNSUPPORTED}, {500, RTC_ERR_UNSUPPORTED}};
    for (size_t i = 0; i < RTC_ARRAY_LEN(cases); i++) {
        world_init(w, RTC_TURN_UDP, "secret", false);
        rtc_turn_client_allocate(w->c, w->now);
        rtc_stun_msg req;
        REQUIRE(fake_challenge(w, &req));
        fake_error(w, &req, cases[i].code, NULL);
        const rtc_turn_event *e = last_ev(w, RTC_TURN_EV_FAILED);
        CHECK(e && e->stun_code == cases[i].code && e->error == cases[i].err);
        world_free(w);
    }
    /* 300 Try Alternate: reported with the address. */
    world_init(w, RTC_TURN_UDP, "secret", false);
    rtc_turn_client_allocate(w->c, w->now);
    rtc_stun_msg req;
    REQUIRE(fake_challenge(w, &req));
    rtc_addr alt;
    rtc_addr_parse(&alt, "192.0.2.99:3479", 0);
    fake_error(w, &req, 300, &alt);
    const rtc_turn_event *e = last_ev(w, RTC_TURN_EV_ALTERNATE);
    CHECK(e && rtc_addr_equal(&e->alternate, &alt) && e->stun_code == 300);
    CHECK_EQ_INT(rtc_turn_client_get_state(w->c), RTC_TURN_CLIENT_FAILED);
    world_free(w);
    /* 300 without ALTERNATE-SERVER: a parse failure. */
    world_init(w, RTC_TURN_UDP, "secret", false);
    rtc_turn_client_allocate(w->c, w->now);
    REQUIRE(fake_challenge(w, &req));
    fake_error(w, &req, 300, NULL);
    e = last_ev(w, RTC_TURN_EV_FAILED);
    CHECK(e && e->error == RTC_ERR_PARSE);
    world_free(w);
    /* Endless 438s: bounded retries, then failure. */
    world_init(w, RTC_TURN_UDP, "secret", false);
    rtc_turn_client_allocate(w->c, w->now);
    REQUIRE(fake_challenge(w, &req));
    for (int i = 0; i < 10 && rtc_turn_client_get_state(w->c) == RTC_TURN_CLIENT_ALLOCATING; i++) {
        uint8_t buf[256];
        rtc_stun_builder b;
        rtc_stun_build_error_response(&b, buf, sizeof buf, &req, 438, NULL);
        rtc_stun_add_string(&b, RTC_STUN_ATTR_NONCE, "nonce-2");
        int n = rtc_stun_build_finish(&b);
        rtc_turn_client_handle_packet(w->c, w->now, &w->listener, buf, (size_t)n, NULL);
        last_req(w, &req);
    }
    take_events(w);
    e = last_ev(w, RTC_TURN_EV_FAILED);
    CHECK(e && e->stun_code == 438);
    rtc_turn_client_stats st;
    rtc_turn_client_get_stats(w->c, &st);
    CHECK_EQ_INT(st.requests_sent, 5); /* first, authenticated, 3 stale retries */
    world_free(w);
}

static void test_malformed_answers(void) {
    world *w = &W;
    world_init(w, RTC_TURN_UDP, "secret", false);
    rtc_turn_client_allocate(w->c, w->now);
    rtc_stun_msg req;
    /* 401 without REALM: cannot authenticate. */
    {
        REQUIRE(last_req(w, &req));
        uint8_t buf[128];
        rtc_stun_builder b;
        rtc_stun_build_error_response(&b, buf, sizeof buf, &req, 401, NULL);
        rtc_stun_add_string(&b, RTC_STUN_ATTR_NONCE, "n");
        int n = rtc_stun_build_finish(&b);
        rtc_turn_client_handle_packet(w->c, w->now, &w->listener, buf, (size_t)n, NULL);
        take_events(w);
        const rtc_turn_event *e = last_ev(w, RTC_TURN_EV_FAILED);
        CHECK(e && e->error == RTC_ERR_PARSE);
    }
    world_free(w);

    world_init(w, RTC_TURN_UDP, "secret", false);
    rtc_turn_client_allocate(w->c, w->now);
    REQUIRE(fake_challenge(w, &req));
    /* Garbage and truncated messages: parse errors, no change. */
    uint8_t junk[64];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 37);
    CHECK_EQ_INT(rtc_turn_client_handle_packet(w->c, w->now, &w->listener, junk, sizeof junk, NULL),
                 RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_turn_client_handle_packet(w->c, w->now, &w->listener, junk, 3, NULL),
                 RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_turn_client_handle_packet(w->c, w->now, &w->listener, w->last_req, 19, NULL),
                 RTC_ERR_PARSE);
    /* A success with a wrong key: dropped as never received; still ALLOCATING. */
    uint8_t buf[256];
    rtc_stun_builder b;
    rtc_stun_key bad;
    rtc_stun_key_set(&bad, (const uint8_t *)"nope", 4);
    rtc_addr relay;
    rtc_addr_parse(&relay, "198.51.100.1:50000", 0);
    rtc_stun_build_response(&b, buf, sizeof buf, &req, RTC_STUN_SUCCESS);
    rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_RELAYED_ADDRESS, &relay);
    rtc_stun_add_u32(&b, RTC_STUN_ATTR_LIFETIME, 600);
    rtc_stun_add_integrity(&b, &bad);
    int n = rtc_stun_build_finish(&b);
    CHECK_EQ_INT(rtc_turn_client_handle_packet(w->c, w->now, &w->listener, buf, (size_t)n, NULL),
                 0);
    CHECK_EQ_INT(rtc_turn_client_get_state(w->c), RTC_TURN_CLIENT_ALLOCATING);
    /* The same without integrity: dropped too. */
    rtc_stun_build_response(&b, buf, sizeof buf, &req, RTC_STUN_SUCCESS);
    rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_RELAYED_ADDRESS, &relay);
    rtc_stun_add_u32(&b, RTC_STUN_ATTR_LIFETIME, 600);
    n = rtc_stun_build_finish(&b);
    rtc_turn_client_handle_packet(w->c, w->now, &w->listener, buf, (size_t)n, NULL);
    CHECK_EQ_INT(rtc_turn_client_get_state(w->c), RTC_TURN_CLIENT_ALLOCATING);
    /* A response to an unknown transaction: dropped. */
    rtc_stun_msg other = req;
    other.tid[0] ^= 0xFF;
    rtc_stun_key k = alice_key();
    rtc_stun_build_response(&b, buf, sizeof buf, &other, RTC_STUN_SUCCESS);
    rtc_stun_add_integrity(&b, &k);
    n = rtc_stun_build_finish(&b);
    rtc_turn_client_handle_packet(w->c, w->now, &w->listener, buf, (size_t)n, NULL);
    CHECK_EQ_INT(rtc_turn_client_get_state(w->c), RTC_TURN_CLIENT_ALLOCATING);
    /* ChannelData before allocation: dropped. */
    uint8_t cd[] = {0x40, 0x00, 0x00, 0x01, 'x'};
    CHECK_EQ_INT(rtc_turn_client_handle_packet(w->c, w->now, &w->listener, cd, sizeof cd, NULL), 0);
    /* An authenticated success without XOR-RELAYED-ADDRESS: FAILED (parse). */
    rtc_stun_build_response(&b, buf, sizeof buf, &req, RTC_STUN_SUCCESS);
    rtc_stun_add_u32(&b, RTC_STUN_ATTR_LIFETIME, 600);
    rtc_stun_add_integrity(&b, &k);
    n = rtc_stun_build_finish(&b);
    rtc_turn_client_handle_packet(w->c, w->now, &w->listener, buf, (size_t)n, NULL);
    take_events(w);
    const rtc_turn_event *e = last_ev(w, RTC_TURN_EV_FAILED);
    CHECK(e && e->error == RTC_ERR_PARSE);
    rtc_turn_client_stats st;
    rtc_turn_client_get_stats(w->c, &st);
    CHECK(st.dropped >= 6);
    world_free(w);

    /* Allocated by a hand-driven server; then malformed ChannelData and indications. */
    world_init(w, RTC_TURN_UDP, "secret", false);
    rtc_turn_client_allocate(w->c, w->now);
    REQUIRE(fake_challenge(w, &req));
    rtc_stun_build_response(&b, buf, sizeof buf, &req, RTC_STUN_SUCCESS);
    rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_RELAYED_ADDRESS, &relay);
    rtc_stun_add_u32(&b, RTC_STUN_ATTR_LIFETIME, 0); /* zero lifetime is not an allocation */
    rtc_stun_add_integrity(&b, &k);
    n = rtc_stun_build_finish(&b);
    rtc_turn_client_handle_packet(w->c, w->now, &w->listener, buf, (size_t)n, NULL);
    CHECK_EQ_INT(rtc_turn_client_get_state(w->c), RTC_TURN_CLIENT_FAILED);
    world_free(w);

    world_init(w, RTC_TURN_UDP, "secret", false);
    rtc_turn_client_allocate(w->c, w->now);
    REQUIRE(fake_challenge(w, &req));
    rtc_stun_build_response(&b, buf, sizeof buf, &req, RTC_STUN_SUCCESS);
    rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_RELAYED_ADDRESS, &relay);
    rtc_stun_add_u32(&b, RTC_STUN_ATTR_LIFETIME, 100);
    rtc_stun_add_integrity(&b, &k);
    n = rtc_stun_build_finish(&b);
    rtc_turn_client_handle_packet(w->c, w->now, &w->listener, buf, (size_t)n, NULL);
    REQUIRE(rtc_turn_client_get_state(w->c) == RTC_TURN_CLIENT_ALLOCATED);
    /* A short lifetime is refreshed at half of it (50 s), not at lifetime - 60 s. */
    CHECK_EQ_INT(rtc_turn_client_next_timeout(w->c), w->now + RTC_SEC(50));
    rtc_addr peer;
    rtc_addr_parse(&peer, "198.51.100.77:9000", 0);
    CHECK_EQ_INT(rtc_turn_client_bind_channel(w->c, w->now, &peer), 0x4000);
    rtc_turn_data zd;
    uint8_t cd_ok[] = {0x40, 0x00, 0x00, 0x02, 'h', 'i', 0, 0}; /* padded: fine on UDP */
    uint8_t cd_long[] = {0x40, 0x00, 0x00, 0x09, 'h', 'i'};     /* length past the end */
    uint8_t cd_unbound[] = {0x40, 0x07, 0x00, 0x01, 'h'};
    uint8_t cd_reserved[] = {0x50, 0x00, 0x00, 0x01, 'h'};
    uint8_t cd_trail[] = {0x40, 0x00, 0x00, 0x01, 'h', 0, 0, 0, 0, 0, 0}; /* > 3 extra bytes */
    CHECK_EQ_INT(
        rtc_turn_client_handle_packet(w->c, w->now, &w->listener, cd_ok, sizeof cd_ok, &zd), 1);
    CHECK(zd.len == 2 && !memcmp(zd.data, "hi", 2) && zd.channel == 0x4000);
    CHECK_EQ_INT(
        rtc_turn_client_handle_packet(w->c, w->now, &w->listener, cd_long, sizeof cd_long, &zd),
        RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_turn_client_handle_packet(w->c, w->now, &w->listener, cd_unbound,
                                               sizeof cd_unbound, &zd),
                 0);
    CHECK_EQ_INT(rtc_turn_client_handle_packet(w->c, w->now, &w->listener, cd_reserved,
                                               sizeof cd_reserved, &zd),
                 RTC_ERR_PARSE);
    CHECK_EQ_INT(
        rtc_turn_client_handle_packet(w->c, w->now, &w->listener, cd_trail, sizeof cd_trail, &zd),
        RTC_ERR_PARSE);
    /* A Data indication without DATA: parse error. */
    rtc_stun_build_init(&b, buf, sizeof buf, RTC_STUN_DATA, RTC_STUN_INDICATION, req.tid);
    rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_PEER_ADDRESS, &peer);
    n = rtc_stun_build_finish(&b);
    CHECK_EQ_INT(rtc_turn_client_handle_packet(w->c, w->now, &w->listener, buf, (size_t)n, &zd),
                 RTC_ERR_PARSE);
    /* A request sent to the client: ignored. */
    rtc_stun_build_init(&b, buf, sizeof buf, RTC_STUN_BINDING, RTC_STUN_REQUEST, req.tid);
    n = rtc_stun_build_finish(&b);
    CHECK_EQ_INT(rtc_turn_client_handle_packet(w->c, w->now, &w->listener, buf, (size_t)n, &zd), 0);
    CHECK_EQ_INT(rtc_turn_client_get_state(w->c), RTC_TURN_CLIENT_ALLOCATED);
    world_free(w);
}

static void test_tcp(void) {
    world *w = &W;
    world_init(w, RTC_TURN_TCP, "secret", true);
    w->chunk = 3; /* server bytes arrive in 3-byte pieces */
    REQUIRE(do_allocate(w));
    rtc_addr peer;
    rtc_addr_parse(&peer, "198.51.100.77:9000", 0);
    CHECK_EQ_INT(
        rtc_turn_client_handle_packet(w->c, w->now, &w->listener, (const uint8_t *)"xxxx", 4, NULL),
        RTC_ERR_MISUSE);
    CHECK_EQ_INT(rtc_turn_client_create_permission(w->c, w->now, &peer), RTC_OK);
    pump(w);
    CHECK(client_send(w, &peer, "indic") > 0);
    CHECK(peer_got(w, &peer, "indic"));
    CHECK_EQ_INT(peer_send(w, &peer, "data-ind"), RTC_OK);
    const rtc_turn_event *e = last_ev(w, RTC_TURN_EV_DATA);
    CHECK(e && e->len == 8 && !memcmp(w->ev_data[w->n_ev - 1], "data-ind", 8) && e->channel == 0);
    CHECK_EQ_INT(rtc_turn_client_bind_channel(w->c, w->now, &peer), 0x4000);
    pump(w);
    /* ChannelData padded to 4 over TCP: 4 + 5 -> 12. */
    CHECK_EQ_INT(client_send(w, &peer, "abcde"), 12);
    CHECK(peer_got(w, &peer, "abcde"));
    CHECK_EQ_INT(peer_send(w, &peer, "fghij"), RTC_OK);
    e = last_ev(w, RTC_TURN_EV_DATA);
    CHECK(e && e->len == 5 && !memcmp(w->ev_data[w->n_ev - 1], "fghij", 5) && e->channel == 0x4000);
    /* Several frames in one read: two padded ChannelData and a Data indication. */
    {
        uint8_t blob[128];
        size_t o = 0;
        const uint8_t f1[] = {0x40, 0x00, 0x00, 0x01, 'A', 0, 0, 0};
        const uint8_t f2[] = {0x40, 0x00, 0x00, 0x04, 'B', 'B', 'B', 'B'};
        memcpy(blob + o, f1, sizeof f1);
        o += sizeof f1;
        memcpy(blob + o, f2, sizeof f2);
        o += sizeof f2;
        rtc_stun_builder b;
        uint8_t tid[12] = {3};
        rtc_stun_build_init(&b, blob + o, sizeof blob - o, RTC_STUN_DATA, RTC_STUN_INDICATION, tid);
        rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_PEER_ADDRESS, &peer);
        rtc_stun_add_attr(&b, RTC_STUN_ATTR_DATA, "CCC", 3);
        o += (size_t)rtc_stun_build_finish(&b);
        int before = count_ev(w, RTC_TURN_EV_DATA);
        CHECK_EQ_INT(rtc_turn_client_handle_stream(w->c, w->now, blob, o), RTC_OK);
        take_events(w);
        CHECK_EQ_INT(count_ev(w, RTC_TURN_EV_DATA), before + 3);
        CHECK(w->ev[w->n_ev - 1].len == 3 && !memcmp(w->ev_data[w->n_ev - 1], "CCC", 3));
        CHECK(w->ev[w->n_ev - 2].len == 4 && w->ev[w->n_ev - 2].channel == 0x4000);
        CHECK(w->ev[w->n_ev - 3].len == 1 && w->ev_data[w->n_ev - 3][0] == 'A');
    }
    advance(w, w->now + RTC_SEC(1300));
    CHECK_EQ_INT(rtc_turn_client_get_state(w->c), RTC_TURN_CLIENT_ALLOCATED);
    CHECK_EQ_INT(peer_send(w, &peer, "later"), RTC_OK);
    /* The connection drops: the allocation is gone. */
    rtc_turn_client_stream_closed(w->c, w->now);
    take_events(w);
    e = last_ev(w, RTC_TURN_EV_FAILED);
    CHECK(e && e->error == RTC_ERR_CLOSED);
    rtc_turn_server_client_closed(w->s, &w->listener, &w->client_addr);
    world_free(w);
    /* A garbage stream fails the client. */
    world_init(w, RTC_TURN_TCP, "secret", true);
    REQUIRE(do_allocate(w));
    uint8_t junk[] = {0xC0, 1, 2, 3, 4, 5, 6, 7};
    CHECK_EQ_INT(rtc_turn_client_handle_stream(w->c, w->now, junk, sizeof junk), RTC_ERR_PARSE);
    CHECK_EQ_INT(rtc_turn_client_get_state(w->c), RTC_TURN_CLIENT_FAILED);
    rtc_turn_server_client_closed(w->s, &w->listener, &w->client_addr);
    world_free(w);
    /* Deallocation over TCP. */
    world_init(w, RTC_TURN_TCP, "secret", true);
    REQUIRE(do_allocate(w));
    rtc_turn_client_close(w->c, w->now);
    pump(w);
    CHECK_EQ_INT(rtc_turn_client_get_state(w->c), RTC_TURN_CLIENT_CLOSED);
    world_free(w);
}

static void test_event_bounds(void) {
    world *w = &W;
    world_init(w, RTC_TURN_UDP, "secret", true);
    rtc_turn_client_free(w->c);
    rtc_turn_client_config cc = client_cfg(w, "secret");
    cc.max_events = 8;
    cc.max_queued_bytes = 100;
    REQUIRE(rtc_turn_client_new(&w->c, &cc, &w->env) == RTC_OK);
    REQUIRE(do_allocate(w));
    rtc_addr peer;
    rtc_addr_parse(&peer, "198.51.100.77:9000", 0);
    rtc_turn_client_create_permission(w->c, w->now, &peer);
    pump(w);
    rtc_addr relay;
    rtc_turn_client_get_relayed(w->c, &relay, NULL);
    /* A flood the application does not poll: DATA events stop at the bounds. */
    uint8_t payload[30] = {0};
    for (int i = 0; i < 1000; i++) {
        rtc_turn_server_handle_peer(w->s, w->now, &relay, &peer, payload, sizeof payload);
        rtc_turn_transmit st;
        while (rtc_turn_server_poll_transmit(w->s, &st) == 1)
            rtc_turn_client_handle_packet(w->c, w->now, &w->listener, st.data, st.len, NULL);
    }
    int n = 0;
    rtc_turn_event e;
    while (rtc_turn_client_poll_event(w->c, &e) == 1 && n < 2000)
        n += e.type == RTC_TURN_EV_DATA;
    CHECK_EQ_INT(n, 3); /* 100 bytes / 30 */
    rtc_turn_client_stats st;
    rtc_turn_client_get_stats(w->c, &st);
    CHECK_EQ_INT(st.dropped, 997);
    world_free(w);
}

/* An allocator that fails from the n-th allocation on and counts live bytes (with its
** own deterministic random source, since both callbacks share `ud`). */
typedef struct failing {
    long long live;
    int countdown; /* < 0: never fail */
    uint64_t rnd;
} failing;
static void fail_random(void *ud, uint8_t *out, size_t len) {
    failing *f = ud;
    for (size_t i = 0; i < len; i++) {
        f->rnd = f->rnd * 6364136223846793005ull + 1442695040888963407ull;
        out[i] = (uint8_t)(f->rnd >> 56);
    }
}
static void *fail_realloc(void *ud, void *ptr, size_t old_size, size_t new_size) {
    failing *f = ud;
    if (new_size == 0) {
        free(ptr);
        f->live -= (long long)old_size;
        return NULL;
    }
    if (f->countdown == 0) return NULL;
    if (f->countdown > 0) f->countdown--;
    void *p = realloc(ptr, new_size);
    if (p) f->live += (long long)new_size - (long long)old_size;
    return p;
}

static void test_out_of_memory(void) {
    world *w = &W;
    int created = 0;
    for (int n = 0; n < 40; n++) {
        world_init(w, RTC_TURN_UDP, "secret", true);
        rtc_turn_client_free(w->c);
        w->c = NULL;
        failing f = {0, n, 99};
        rtc_env env = w->env;
        env.realloc = fail_realloc;
        env.random = fail_random;
        env.ud = &f;
        rtc_turn_client_config cc = client_cfg(w, "secret");
        int rc = rtc_turn_client_new(&w->c, &cc, &env);
        if (rc != RTC_OK) {
            CHECK_EQ_INT(rc, RTC_ERR_NOMEM);
            CHECK(w->c == NULL);
            CHECK_EQ_INT(f.live, 0);
            rtc_turn_server_free(w->s);
            w->s = NULL;
            continue;
        }
        created++;
        /* Run a session with the allocator failing from now on (DATA copies fail). */
        f.countdown = 0;
        if (do_allocate(w)) {
            rtc_addr peer;
            rtc_addr_parse(&peer, "198.51.100.77:9000", 0);
            rtc_turn_client_create_permission(w->c, w->now, &peer);
            pump(w);
            rtc_addr relay;
            rtc_turn_client_get_relayed(w->c, &relay, NULL);
            rtc_turn_server_handle_peer(w->s, w->now, &relay, &peer, (const uint8_t *)"x", 1);
            rtc_turn_transmit st;
            while (rtc_turn_server_poll_transmit(w->s, &st) == 1)
                rtc_turn_client_handle_packet(w->c, w->now, &w->listener, st.data, st.len, NULL);
            rtc_turn_client_stats cs;
            rtc_turn_client_get_stats(w->c, &cs);
            CHECK(cs.dropped >= 1); /* the event copy could not be made */
        }
        rtc_turn_client_close(w->c, w->now);
        pump(w);
        rtc_turn_client_free(w->c);
        w->c = NULL;
        CHECK_EQ_INT(f.live, 0);
        rtc_turn_server_free(w->s);
        w->s = NULL;
    }
    CHECK(created > 0 && created < 40);
}

static void test_uri_transport(void) {
    static const struct {
        const char *uri;
        int rc, tr, tls;
    } cases[] = {
        {"turn:example.org", RTC_OK, RTC_TURN_UDP, 0},
        {"turn:example.org?transport=udp", RTC_OK, RTC_TURN_UDP, 0},
        {"turn:192.0.2.1:3478?transport=tcp", RTC_OK, RTC_TURN_TCP, 0},
        {"turns:example.org", RTC_OK, RTC_TURN_TCP, 1},
        {"turns:[2001:db8::1]:443?transport=tcp", RTC_OK, RTC_TURN_TCP, 1},
        {"turns:example.org?transport=udp", RTC_ERR_UNSUPPORTED, 0, 0},
        {"stun:example.org", RTC_ERR_INVALID, 0, 0},
    };
    for (size_t i = 0; i < RTC_ARRAY_LEN(cases); i++) {
        rtc_uri u;
        REQUIRE(rtc_uri_parse(&u, cases[i].uri, NULL) == RTC_OK);
        rtc_turn_transport tr = 99;
        bool tls = false;
        int rc = rtc_turn_client_uri_transport(&u, &tr, &tls);
        CHECK_EQ_INT(rc, cases[i].rc);
        if (rc == RTC_OK) {
            CHECK_EQ_INT(tr, cases[i].tr);
            CHECK_EQ_INT(tls, cases[i].tls);
        }
    }
}

static void test_api_misuse(void) {
    rtc_turn_client *c = NULL;
    rtc_turn_client_config cc;
    memset(&cc, 0, sizeof cc);
    CHECK_EQ_INT(rtc_turn_client_new(&c, &cc, NULL), RTC_ERR_INVALID);
    cc.username = "u";
    cc.password = "p";
    CHECK_EQ_INT(rtc_turn_client_new(&c, &cc, NULL), RTC_ERR_INVALID); /* no server */
    rtc_addr_parse(&cc.server, "192.0.2.1:3478", 0);
    cc.family = 9;
    CHECK_EQ_INT(rtc_turn_client_new(&c, &cc, NULL), RTC_ERR_INVALID);
    cc.family = 0;
    REQUIRE(rtc_turn_client_new(&c, &cc, NULL) == RTC_OK);
    uint8_t out[64];
    CHECK_EQ_INT(rtc_turn_client_send(c, 0, &cc.server, out, 1, out, sizeof out), RTC_ERR_MISUSE);
    CHECK_EQ_INT(rtc_turn_client_handle_stream(c, 0, out, 1), RTC_ERR_MISUSE);
    CHECK_EQ_INT(rtc_turn_client_get_relayed(c, NULL, NULL), RTC_ERR_MISUSE);
    /* Permissions asked before the allocation wait for it. */
    CHECK_EQ_INT(rtc_turn_client_create_permission(c, 0, &cc.server), RTC_OK);
    rtc_turn_client_transmit t;
    CHECK_EQ_INT(rtc_turn_client_poll_transmit(c, &t), 0);
    CHECK_STR(rtc_turn_client_state_name(RTC_TURN_CLIENT_ALLOCATED), "allocated");
    rtc_turn_client_free(c);
    rtc_turn_client_free(NULL);
}

int main(void) {
    RUN(test_allocate);
    RUN(test_wrong_password);
    RUN(test_refresh_and_stale_nonce);
    RUN(test_requested_lifetime_and_v6);
    RUN(test_indications);
    RUN(test_channels);
    RUN(test_forbidden_peer);
    RUN(test_deallocate);
    RUN(test_server_restart);
    RUN(test_timeouts);
    RUN(test_lossy_network);
    RUN(test_error_codes);
    RUN(test_malformed_answers);
    RUN(test_tcp);
    RUN(test_event_bounds);
    RUN(test_out_of_memory);
    RUN(test_uri_transport);
    RUN(test_api_misuse);
    return TEST_DONE();
}
