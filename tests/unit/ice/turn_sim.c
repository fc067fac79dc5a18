/*
** ICE with the real TURN cores (src/turn client and server) on the simulator: both peers
** behind symmetric NATs, which fails without a relay (test_ice_sim), connect through an
** allocation on a simulated TURN server: Allocate with long-term credentials,
** CreatePermission from RELAY_PERMISSION events, Send indications, then ChannelData once
** the selected pair's channel is bound. Built only when the turn layer is in the build
** (tests/unit/ice/extra.cmake).
*/
#include "cwebrtc/turn_client.h"
#include "cwebrtc/turn_server.h"
#include "ice_harness.h"

#define RELAY_ID 1

typedef struct turn_node {
    netsim *net;
    rtc_turn_server *srv;
    rtc_env env;
    rtc_test_rng rng;
    rtc_addr listener;
    uint16_t next_port;
} turn_node;

typedef struct turn_side {
    sim_peer *p;
    rtc_turn_client *c;
    rtc_env env;
    rtc_test_rng rng;
    rtc_addr server, local, relayed;
    bool allocated;
} turn_side;

/* ---- the server node ------------------------------------------------------------------- */

static int relay_open(void *ud, uint8_t family, bool even_port, bool reserve_next,
                      uint64_t token_in, rtc_addr *relay, void **handle, uint64_t *token) {
    turn_node *t = ud;
    if (family != RTC_AF_INET) return RTC_ERR_UNSUPPORTED;
    *relay = t->listener;
    relay->port = t->next_port;
    t->next_port = (uint16_t)(t->next_port + 2);
    *handle = NULL;
    if (token) *token = 0;
    return RTC_OK;
}
static void relay_close(void *ud, void *handle) {}

static void server_drain(turn_node *t) {
    rtc_turn_transmit tx;
    while (rtc_turn_server_poll_transmit(t->srv, &tx) == 1)
        netsim_send(t->net, &tx.from, &tx.to, tx.data, tx.len);
}

static void server_recv(void *ud, rtc_time now, const rtc_addr *src, const rtc_addr *dst,
                        const uint8_t *buf, size_t len) {
    turn_node *t = ud;
    if (dst->port == t->listener.port)
        rtc_turn_server_handle_client(t->srv, now, RTC_TURN_UDP, dst, src, buf, len);
    else
        rtc_turn_server_handle_peer(t->srv, now, dst, src, buf, len);
    server_drain(t);
}
static rtc_time server_next(void *ud) {
    return rtc_turn_server_next_timeout(((turn_node *)ud)->srv);
}
static void server_fire(void *ud, rtc_time now) {
    turn_node *t = ud;
    rtc_turn_server_handle_timeout(t->srv, now);
    server_drain(t);
}

static int turn_node_init(turn_node *t, netsim *net, const char *ip) {
    memset(t, 0, sizeof *t);
    t->net = net;
    t->listener = netsim_addr(ip);
    t->listener.port = 3478;
    t->next_port = 49152;
    rtc_env_seeded(&t->env, &t->rng, 77);
    rtc_turn_server_config cfg = {.realm = "sim.example",
                                  .relay = {.open = relay_open, .close = relay_close, .ud = t}};
    if (rtc_turn_server_new(&t->srv, &cfg, &t->env) != RTC_OK) return -1;
    rtc_turn_server_add_user(t->srv, "alice", "secret-password");
    netsim_add_host(net, &t->listener, 0, NULL, server_recv, t);
    netsim_add_actor(net, server_next, server_fire, t);
    return 0;
}

/* ---- the client side, glued to one sim_peer -------------------------------------------- */

static void turn_drain(turn_side *s) {
    rtc_turn_client_transmit tx;
    rtc_turn_event ev;
    for (int guard = 0; guard < 10000; guard++) {
        if (rtc_turn_client_poll_transmit(s->c, &tx) == 1) {
            netsim_send(s->p->net, &tx.src, &tx.dst, tx.data, tx.len);
            continue;
        }
        if (rtc_turn_client_poll_event(s->c, &ev) == 1) {
            if (ev.type == RTC_TURN_EV_ALLOCATED) {
                s->allocated = true;
                s->relayed = ev.relayed;
                rtc_ice_add_relayed(s->p->ice, RELAY_ID, &ev.relayed, &s->local);
                peer_drain(s->p);
            } else if (ev.type == RTC_TURN_EV_FAILED) {
                rtc_ice_relay_failed(s->p->ice, RELAY_ID);
                peer_drain(s->p);
            } else if (ev.type == RTC_TURN_EV_DATA) {
                rtc_time now = netsim_now(s->p->net);
                if (rtc_ice_handle_packet(s->p->ice, now, &ev.peer, &s->relayed, ev.data, ev.len) ==
                    1)
                    s->p->rx_data++;
                peer_drain(s->p);
            }
            continue;
        }
        return;
    }
}

static bool side_recv(sim_peer *p, rtc_time now, const rtc_addr *src, const rtc_addr *dst,
                      const uint8_t *buf, size_t len) {
    turn_side *s = p->hook_ud;
    if (!rtc_addr_equal(src, &s->server)) return false;
    rtc_turn_data d;
    if (rtc_turn_client_handle_packet(s->c, now, src, buf, len, &d) == 1) {
        /* peer data through the relay: for ICE it arrived on the relayed address */
        if (rtc_ice_handle_packet(p->ice, now, &d.peer, &s->relayed, d.data, d.len) == 1)
            p->rx_data++;
        peer_drain(p);
    }
    turn_drain(s);
    return true;
}

static bool side_tx(sim_peer *p, const rtc_ice_transmit *t) {
    if (t->relay_id != RELAY_ID) return false;
    turn_side *s = p->hook_ud;
    uint8_t out[1600];
    int n =
        rtc_turn_client_send(s->c, netsim_now(p->net), &t->dst, t->data, t->len, out, sizeof out);
    if (n > 0) netsim_send(p->net, &s->local, &s->server, out, (size_t)n);
    turn_drain(s);
    return true;
}

static void side_event(sim_peer *p, const rtc_ice_event *ev) {
    turn_side *s = p->hook_ud;
    rtc_time now = netsim_now(p->net);
    if (ev->type == RTC_ICE_EVENT_RELAY_PERMISSION && ev->relay_id == RELAY_ID)
        rtc_turn_client_create_permission(s->c, now, &ev->remote);
    if (ev->type == RTC_ICE_EVENT_SELECTED_PAIR && ev->relay_id == RELAY_ID)
        rtc_turn_client_bind_channel(s->c, now, &ev->remote); /* ChannelData from now on */
    turn_drain(s);
}

static rtc_time side_next(void *ud) { return rtc_turn_client_next_timeout(((turn_side *)ud)->c); }
static void side_fire(void *ud, rtc_time now) {
    turn_side *s = ud;
    rtc_turn_client_handle_timeout(s->c, now);
    turn_drain(s);
}

static int side_init(turn_side *s, sim_peer *p, const turn_node *t, uint64_t seed) {
    memset(s, 0, sizeof *s);
    s->p = p;
    s->server = t->listener;
    s->local = p->addrs[0];
    rtc_env_seeded(&s->env, &s->rng, seed);
    rtc_turn_client_config cfg = {.username = "alice",
                                  .password = "secret-password",
                                  .server = t->listener,
                                  .local = s->local};
    if (rtc_turn_client_new(&s->c, &cfg, &s->env) != RTC_OK) return -1;
    p->recv_hook = side_recv;
    p->tx_hook = side_tx;
    p->event_hook = side_event;
    p->hook_ud = s;
    rtc_ice_expect_relay(p->ice, RELAY_ID);
    netsim_add_actor(p->net, side_next, side_fire, s);
    rtc_turn_client_allocate(s->c, netsim_now(p->net));
    turn_drain(s);
    return 0;
}

static void test_symmetric_nats_via_turn(void) {
    for (int both = 0; both < 2; both++) {
        netsim *net;
        netsim_new(&net, 2100 + (uint64_t)both);
        netsim_link l = {.delay = RTC_MS(15), .jitter = RTC_MS(3)};
        rtc_addr pa = netsim_addr("198.51.100.1"), pb = netsim_addr("198.51.100.2");
        rtc_addr stun = netsim_addr("192.0.2.1:3478");
        int na = netsim_add_nat_type(net, &pa, NETSIM_NAT_SYMMETRIC);
        int nb = netsim_add_nat_type(net, &pb, NETSIM_NAT_SYMMETRIC);
        netsim_add_stun_server(net, &stun, NULL);
        turn_node tn;
        REQUIRE(turn_node_init(&tn, net, "192.0.2.50") == 0);
        sim_peer a, b;
        const char *aip[] = {"10.0.0.1"}, *bip[] = {"10.1.0.1"};
        rtc_ice_config ca = {.controlling = true}, cb = {0};
        peer_init(&a, "A", net, &ca, 31, na, &l, aip, 1);
        peer_init(&b, "B", net, &cb, 32, nb, &l, bip, 1);
        rtc_ice_add_stun_server(a.ice, &stun);
        rtc_ice_add_stun_server(b.ice, &stun);
        turn_side ta, tb;
        REQUIRE(side_init(&ta, &a, &tn, 41) == 0);
        if (both) REQUIRE(side_init(&tb, &b, &tn, 42) == 0);
        peers_start(&a, &b);
        bool ok = run_until_connected(net, &a, &b, RTC_SEC(30));
        fprintf(stderr, "  symmetric NATs, TURN on %s: %s at %.0f ms (A local %s, B local %s)\n",
                both ? "both" : "A", ok ? "connected" : "NOT connected",
                (double)netsim_now(net) / 1000.0, rtc_ice_cand_type_name(a.sel_ltype),
                rtc_ice_cand_type_name(b.sel_ltype));
        CHECK(ok);
        CHECK(ta.allocated);
        CHECK(a.sel_ltype == RTC_ICE_CAND_RELAY || b.sel_ltype == RTC_ICE_CAND_RELAY);
        /* data both ways for 2 s, then for 10 minutes of refreshes and consent */
        a.data_interval = b.data_interval = RTC_MS(20);
        a.next_data_at = b.next_data_at = netsim_now(net);
        netsim_run(net, netsim_now(net) + RTC_SEC(2), NULL, NULL, 10000000);
        CHECK(a.rx_data >= 80 && b.rx_data >= 80);
        a.data_interval = b.data_interval = RTC_SEC(1);
        netsim_run(net, netsim_now(net) + RTC_SEC(600), NULL, NULL, 100000000);
        CHECK(a.failed_at == 0 && b.failed_at == 0);
        CHECK(a.rx_data >= 600 && b.rx_data >= 600);
        rtc_turn_client_stats st;
        rtc_turn_client_get_stats(ta.c, &st);
        fprintf(stderr, "  TURN client A: %llu refreshes, %llu ChannelData out of %llu\n",
                (unsigned long long)st.refreshes, (unsigned long long)st.channel_out,
                (unsigned long long)st.data_out);
        if (a.sel_ltype == RTC_ICE_CAND_RELAY) CHECK(st.channel_out > 0);
        rtc_turn_client_free(ta.c);
        if (both) rtc_turn_client_free(tb.c);
        peer_free(&a);
        peer_free(&b);
        rtc_turn_server_free(tn.srv);
        netsim_free(net);
    }
}

int main(void) {
    RUN(test_symmetric_nats_via_turn);
    return TEST_DONE();
}
