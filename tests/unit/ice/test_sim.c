/*
** ICE agents over the deterministic network simulator: NAT types, loss, relay, trickle
** orders, restart, consent, peer-reflexive discovery, IPv6, dual-stack.
*/
#include <time.h>

#include "ice_harness.h"

/* ICE_SEED_OFFSET=<n> shifts every seed of the file: a way to run all scenarios over many
** random worlds by hand (for s in $(seq 1 200); do ICE_SEED_OFFSET=$s ./test_ice_sim; done). */
static int sim_new(netsim **n, uint64_t seed) {
    const char *off = getenv("ICE_SEED_OFFSET");
    if (off) {
        seed += strtoull(off, NULL, 10) * 1000003u;
        peer_seed_offset = strtoull(off, NULL, 10) * 7919u;
    }
    return netsim_new(n, seed);
}

static const char *A_IP[] = {"10.0.0.1"};
static const char *B_IP[] = {"10.1.0.1"};

typedef struct world {
    netsim *net;
    sim_peer a, b;
} world;

/* Both peers on public addresses (no NAT), default configs, a seeded run. */
static void world_init(world *w, uint64_t seed, const rtc_ice_config *ca, const rtc_ice_config *cb,
                       int nat_a, int nat_b, const netsim_link *la, const netsim_link *lb) {
    sim_new(&w->net, seed);
    rtc_ice_config dca = {0}, dcb = {0};
    dca.controlling = true;
    peer_init(&w->a, "A", w->net, ca ? ca : &dca, seed * 2 + 1, nat_a, la, A_IP, 1);
    peer_init(&w->b, "B", w->net, cb ? cb : &dcb, seed * 2 + 2, nat_b, lb, B_IP, 1);
}

static void world_free(world *w) {
    peer_free(&w->a);
    peer_free(&w->b);
    netsim_free(w->net);
}

static void test_host_host(void) {
    world w;
    netsim_link l = {.delay = RTC_MS(10)};
    world_init(&w, 1, NULL, NULL, 0, 0, &l, &l);
    peers_start(&w.a, &w.b);
    REQUIRE(run_until_connected(w.net, &w.a, &w.b, RTC_SEC(10)));
    rtc_time t = netsim_now(w.net);
    fprintf(stderr, "  host-host connected after %.1f ms of protocol time\n", (double)t / 1000.0);
    CHECK(t < RTC_MS(400));
    CHECK(rtc_addr_equal(&w.a.sel_remote, &w.b.addrs[0]));
    CHECK(rtc_addr_equal(&w.b.sel_remote, &w.a.addrs[0]));
    CHECK_EQ_INT(w.a.sel_ltype, RTC_ICE_CAND_HOST);
    CHECK_EQ_INT(w.a.sel_rtype, RTC_ICE_CAND_HOST);
    rtc_ice_pair_info pi[4];
    REQUIRE(rtc_ice_get_pairs(w.a.ice, pi, 4) == 1);
    CHECK(pi[0].selected && pi[0].nominated && pi[0].valid);
    CHECK_EQ_INT(pi[0].state, RTC_ICE_PAIR_SUCCEEDED);
    CHECK_EQ_INT(pi[0].rtt, RTC_MS(40)); /* 10 ms on each of the two access links, twice */
    CHECK(rtc_addr_equal(&pi[0].remote, &w.b.addrs[0]));
    /* data both ways */
    w.a.data_interval = RTC_MS(20);
    w.b.data_interval = RTC_MS(20);
    w.a.next_data_at = w.b.next_data_at = netsim_now(w.net);
    netsim_run(w.net, netsim_now(w.net) + RTC_SEC(2), NULL, NULL, 1000000);
    CHECK(w.b.rx_data >= 90);
    CHECK(w.a.rx_data >= 90);
    CHECK_EQ_INT(w.a.state, RTC_ICE_STATE_COMPLETED);
    CHECK_EQ_INT(w.b.state, RTC_ICE_STATE_COMPLETED);
    world_free(&w);
}

static const char *NAT_NAMES[] = {"full-cone", "restricted", "port-restricted", "symmetric"};

/* One side behind each NAT type, the other public; both learn srflx from a STUN server. */
static void test_nat_types(void) {
    for (int type = 0; type < 4; type++) {
        world w;
        netsim_link l = {.delay = RTC_MS(15), .jitter = RTC_MS(2)};
        netsim *net;
        sim_new(&net, 100 + (uint64_t)type);
        rtc_addr pub = netsim_addr("198.51.100.1"), stun = netsim_addr("192.0.2.1:3478");
        int nat = netsim_add_nat_type(net, &pub, (netsim_nat_type)type);
        netsim_add_stun_server(net, &stun, NULL);
        w.net = net;
        rtc_ice_config ca = {.controlling = true}, cb = {0};
        const char *bip[] = {"203.0.113.5"};
        peer_init(&w.a, "A", net, &ca, 7, nat, &l, A_IP, 1);
        peer_init(&w.b, "B", net, &cb, 8, 0, &l, bip, 1);
        rtc_ice_add_stun_server(w.a.ice, &stun);
        rtc_ice_add_stun_server(w.b.ice, &stun);
        peers_start(&w.a, &w.b);
        bool ok = run_until_connected(net, &w.a, &w.b, RTC_SEC(20));
        fprintf(stderr, "  A behind %s NAT: %s at %.0f ms, B's remote is %s\n", NAT_NAMES[type],
                ok ? "connected" : "NOT connected", (double)netsim_now(net) / 1000.0,
                rtc_ice_cand_type_name(w.b.sel_rtype));
        CHECK(ok);
        /* A's NAT-side address as B sees it is reflexive, never A's private host. */
        CHECK(w.b.sel_rtype == RTC_ICE_CAND_SRFLX || w.b.sel_rtype == RTC_ICE_CAND_PRFLX);
        CHECK(rtc_addr_equal_ip(&w.b.sel_remote, &pub));
        CHECK_EQ_INT(w.a.gathering, RTC_ICE_GATHERING_COMPLETE);
        /* data flows through the NAT */
        w.a.data_interval = RTC_MS(50);
        w.a.next_data_at = netsim_now(net);
        netsim_run(net, netsim_now(net) + RTC_SEC(1), NULL, NULL, 1000000);
        CHECK(w.b.rx_data >= 15);
        world_free(&w);
    }
}

/* Two NATed peers: symmetric vs restricted cone connects (the restricted side's filter
** admits the symmetric side's new mapping); symmetric vs port-restricted and symmetric vs
** symmetric cannot without a relay, and reach FAILED once both ends know all candidates;
** with a relayed candidate they connect. */
static int two_nats(int ta, int tb, bool relay, uint64_t seed, sim_peer *out_a_type) {
    world w;
    netsim_link l = {.delay = RTC_MS(20)};
    sim_new(&w.net, seed);
    rtc_addr pa = netsim_addr("198.51.100.1"), pb = netsim_addr("198.51.100.2");
    rtc_addr stun = netsim_addr("192.0.2.1:3478"), rip = netsim_addr("192.0.2.9");
    int na = netsim_add_nat_type(w.net, &pa, (netsim_nat_type)ta);
    int nb = netsim_add_nat_type(w.net, &pb, (netsim_nat_type)tb);
    netsim_add_stun_server(w.net, &stun, NULL);
    int relay_host = netsim_add_relay(w.net, &rip, NULL);
    rtc_ice_config ca = {.controlling = true}, cb = {0};
    peer_init(&w.a, "A", w.net, &ca, seed + 1, na, &l, A_IP, 1);
    peer_init(&w.b, "B", w.net, &cb, seed + 2, nb, &l, B_IP, 1);
    rtc_ice_add_stun_server(w.a.ice, &stun);
    rtc_ice_add_stun_server(w.b.ice, &stun);
    if (relay) peer_add_relay(&w.a, relay_host);
    peers_start(&w.a, &w.b);
    bool ok = run_until_connected(w.net, &w.a, &w.b, RTC_SEC(60));
    int result = ok ? 1 : 0;
    if (!ok) {
        netsim_run(w.net, RTC_SEC(90), NULL, NULL, 10000000);
        if (w.a.state == RTC_ICE_STATE_FAILED && w.b.state == RTC_ICE_STATE_FAILED) result = -1;
    } else {
        w.a.data_interval = RTC_MS(50);
        w.a.next_data_at = netsim_now(w.net);
        netsim_run(w.net, netsim_now(w.net) + RTC_SEC(1), NULL, NULL, 1000000);
        if (w.b.rx_data < 15) result = 0;
    }
    if (out_a_type) *out_a_type = w.a;
    fprintf(stderr, "  %s vs %s%s: %s at %.0f ms (A local %s, A remote %s)\n", NAT_NAMES[ta],
            NAT_NAMES[tb], relay ? " + relay" : "",
            result > 0   ? "connected"
            : result < 0 ? "failed"
                         : "stuck",
            (double)netsim_now(w.net) / 1000.0, rtc_ice_cand_type_name(w.a.sel_ltype),
            rtc_ice_cand_type_name(w.a.sel_rtype));
    world_free(&w);
    return result;
}

static void test_two_nats(void) {
    sim_peer a;
    CHECK_EQ_INT(two_nats(NETSIM_NAT_SYMMETRIC, NETSIM_NAT_RESTRICTED, false, 200, NULL), 1);
    CHECK_EQ_INT(two_nats(NETSIM_NAT_PORT_RESTRICTED, NETSIM_NAT_PORT_RESTRICTED, false, 201, NULL),
                 1);
    CHECK_EQ_INT(two_nats(NETSIM_NAT_SYMMETRIC, NETSIM_NAT_PORT_RESTRICTED, false, 202, NULL), -1);
    CHECK_EQ_INT(two_nats(NETSIM_NAT_SYMMETRIC, NETSIM_NAT_SYMMETRIC, false, 203, NULL), -1);
    CHECK_EQ_INT(two_nats(NETSIM_NAT_SYMMETRIC, NETSIM_NAT_SYMMETRIC, true, 204, &a), 1);
    CHECK_EQ_INT(a.sel_ltype, RTC_ICE_CAND_RELAY);
    CHECK(a.n_permissions >= 1);
}

/* 30% loss on one access link, plus jitter, duplication and reordering on the other. */
static void test_lossy(void) {
    uint64_t first = 300, last = 330;
    if (getenv("ICE_SEED")) first = strtoull(getenv("ICE_SEED"), NULL, 10), last = first + 1;
    for (uint64_t seed = first; seed < last; seed++) {
        world w;
        netsim_link la = {.delay = RTC_MS(30), .loss = 0.30};
        netsim_link lb = {.delay = RTC_MS(10),
                          .jitter = RTC_MS(30),
                          .duplicate = 0.1,
                          .reorder = 0.1,
                          .reorder_delay = RTC_MS(50)};
        world_init(&w, seed, NULL, NULL, 0, 0, &la, &lb);
        peers_start(&w.a, &w.b);
        bool ok = run_until_connected(w.net, &w.a, &w.b, RTC_SEC(30));
        if (!ok || seed == 300)
            fprintf(stderr, "  30%% loss seed %llu: %s at %.0f ms\n", (unsigned long long)seed,
                    ok ? "connected" : "NOT connected", (double)netsim_now(w.net) / 1000.0);
        CHECK(ok);
        /* and it stays up: consent survives the loss for two minutes */
        netsim_run(w.net, netsim_now(w.net) + RTC_SEC(120), NULL, NULL, 10000000);
        CHECK(w.a.state == RTC_ICE_STATE_CONNECTED || w.a.state == RTC_ICE_STATE_COMPLETED ||
              w.a.state == RTC_ICE_STATE_DISCONNECTED);
        CHECK(w.a.failed_at == 0 && w.b.failed_at == 0);
        world_free(&w);
    }
}

/* Both claim the same role: the 487 exchange (RFC 8445 §7.3.1.1) settles it. */
static void test_role_conflict(void) {
    for (int both_controlling = 0; both_controlling < 2; both_controlling++) {
        world w;
        rtc_ice_config c = {.controlling = both_controlling != 0};
        netsim_link l = {.delay = RTC_MS(5)};
        world_init(&w, 400 + (uint64_t)both_controlling, &c, &c, 0, 0, &l, &l);
        peers_start(&w.a, &w.b);
        REQUIRE(run_until_connected(w.net, &w.a, &w.b, RTC_SEC(10)));
        CHECK(rtc_ice_is_controlling(w.a.ice) != rtc_ice_is_controlling(w.b.ice));
        CHECK(w.a.n_role + w.b.n_role >= 1);
        rtc_ice_stats sa, sb;
        rtc_ice_get_stats(w.a.ice, &sa);
        rtc_ice_get_stats(w.b.ice, &sb);
        CHECK(sa.role_conflicts + sb.role_conflicts >= 1);
        /* the agent with the larger tie-breaker is controlling (§7.3.1.1) */
        world_free(&w);
    }
}

/* Trickle orders (RFC 8838): candidates before or after the credentials, end-of-
** candidates early or late, one side's candidates held back until the other connected. */
static void test_trickle_orders(void) {
    for (int order = 0; order < 6; order++) {
        world w;
        netsim_link l = {.delay = RTC_MS(10)};
        world_init(&w, 500 + (uint64_t)order, NULL, NULL, 0, 0, &l, &l);
        w.a.other = &w.b;
        w.b.other = &w.a;
        switch (order) {
        case 0: /* everything in order */ peers_start(&w.a, &w.b); break;
        case 1: /* candidates before the credentials on both sides */
            peer_gather(&w.a);
            peer_gather(&w.b);
            netsim_run(w.net, RTC_MS(300), NULL, NULL, 100000);
            peer_send_creds(&w.a, &w.b);
            peer_send_creds(&w.b, &w.a);
            break;
        case 2: /* B learns A's credentials late: A's checks reach B early (§7.3.1.3) */
            peer_send_creds(&w.b, &w.a);
            peer_gather(&w.a);
            peer_gather(&w.b);
            netsim_run(w.net, RTC_MS(500), NULL, NULL, 100000);
            peer_send_creds(&w.a, &w.b);
            break;
        case 3: /* A learns B's credentials late */
            peer_send_creds(&w.a, &w.b);
            peer_gather(&w.a);
            peer_gather(&w.b);
            netsim_run(w.net, RTC_MS(500), NULL, NULL, 100000);
            peer_send_creds(&w.b, &w.a);
            break;
        case 4: /* candidates and end-of-candidates held on both sides, released late */
            w.a.hold = w.b.hold = true;
            peers_start(&w.a, &w.b);
            netsim_run(w.net, RTC_MS(700), NULL, NULL, 100000);
            peer_release(&w.b);
            netsim_run(w.net, RTC_MS(900), NULL, NULL, 100000);
            peer_release(&w.a);
            break;
        case 5: /* only B's candidates, A's released after B already connected to A */
            w.a.hold = true;
            peers_start(&w.a, &w.b);
            netsim_run(w.net, RTC_SEC(2), NULL, NULL, 100000);
            peer_release(&w.a);
            break;
        }
        bool ok = run_until_connected(w.net, &w.a, &w.b, RTC_SEC(20));
        fprintf(stderr, "  trickle order %d: %s at %.0f ms\n", order, ok ? "connected" : "NOT",
                (double)netsim_now(w.net) / 1000.0);
        CHECK(ok);
        if (order == 2 || order == 3) {
            rtc_ice_stats s;
            rtc_ice_get_stats(order == 2 ? w.b.ice : w.a.ice, &s);
            CHECK(s.early_checks >= 1);
        }
        netsim_run(w.net, netsim_now(w.net) + RTC_SEC(3), NULL, NULL, 1000000);
        CHECK_EQ_INT(w.a.state, RTC_ICE_STATE_COMPLETED);
        CHECK_EQ_INT(w.b.state, RTC_ICE_STATE_COMPLETED);
        world_free(&w);
    }
}

/* B never signals candidates: A learns B's address from B's checks (peer-reflexive). */
static void test_peer_reflexive(void) {
    world w;
    netsim_link l = {.delay = RTC_MS(10)};
    world_init(&w, 600, NULL, NULL, 0, 0, &l, &l);
    w.b.no_signal = true;
    peers_start(&w.a, &w.b);
    REQUIRE(run_until_connected(w.net, &w.a, &w.b, RTC_SEC(10)));
    CHECK_EQ_INT(w.a.sel_rtype, RTC_ICE_CAND_PRFLX);
    CHECK(rtc_addr_equal(&w.a.sel_remote, &w.b.addrs[0]));
    world_free(&w);
}

static void test_ipv6_only(void) {
    netsim *net;
    sim_new(&net, 700);
    sim_peer a, b;
    const char *a6[] = {"2001:db8:a::1"}, *b6[] = {"2001:db8:b::1"};
    rtc_ice_config ca = {.controlling = true}, cb = {0};
    netsim_link l = {.delay = RTC_MS(10)};
    peer_init(&a, "A", net, &ca, 1, 0, &l, a6, 1);
    peer_init(&b, "B", net, &cb, 2, 0, &l, b6, 1);
    peers_start(&a, &b);
    REQUIRE(run_until_connected(net, &a, &b, RTC_SEC(10)));
    CHECK_EQ_INT(a.sel_remote.family, RTC_AF_INET6);
    CHECK(rtc_addr_equal(&a.sel_remote, &b.addrs[0]));
    peer_free(&a);
    peer_free(&b);
    netsim_free(net);
}

/* Dual stack (RFC 8421): IPv6 is preferred; and a better pair that succeeds later (B's
** IPv6 candidate trickled after connecting over IPv4) replaces the selected one. */
static void test_dual_stack_and_switch(void) {
    netsim *net;
    sim_new(&net, 800);
    sim_peer a, b;
    const char *ad[] = {"10.0.0.1", "2001:db8:a::1"}, *bd[] = {"10.1.0.1", "2001:db8:b::1"};
    rtc_ice_config ca = {.controlling = true}, cb = {0};
    netsim_link l = {.delay = RTC_MS(10)};
    peer_init(&a, "A", net, &ca, 1, 0, &l, ad, 2);
    peer_init(&b, "B", net, &cb, 2, 0, &l, bd, 2);
    peers_start(&a, &b);
    REQUIRE(run_until_connected(net, &a, &b, RTC_SEC(10)));
    CHECK_EQ_INT(a.sel_remote.family, RTC_AF_INET6);
    CHECK_EQ_INT(b.sel_remote.family, RTC_AF_INET6);
    peer_free(&a);
    peer_free(&b);
    netsim_free(net);

    sim_new(&net, 801);
    peer_init(&a, "A", net, &ca, 3, 0, &l, ad, 2);
    peer_init(&b, "B", net, &cb, 4, 0, &l, bd, 2);
    b.hold = true;
    peers_start(&a, &b);
    /* forward B's IPv4 candidate only, and B must not declare end-of-candidates */
    for (int i = 0; i < b.n_held; i++)
        if (b.held[i].addr.family == RTC_AF_INET) peer_forward_candidate(&b, &b.held[i]);
    REQUIRE(run_until_connected(net, &a, &b, RTC_SEC(10)));
    CHECK_EQ_INT(a.sel_remote.family, RTC_AF_INET);
    int before = a.n_selected;
    for (int i = 0; i < b.n_held; i++)
        if (b.held[i].addr.family == RTC_AF_INET6) peer_forward_candidate(&b, &b.held[i]);
    netsim_run(net, netsim_now(net) + RTC_SEC(3), NULL, NULL, 1000000);
    CHECK_EQ_INT(a.sel_remote.family, RTC_AF_INET6);
    CHECK_EQ_INT(b.sel_remote.family, RTC_AF_INET6);
    CHECK(a.n_selected > before);
    peer_free(&a);
    peer_free(&b);
    netsim_free(net);
}

/* RFC 7675: B disappears; A goes disconnected, then failed ~30 s after the last consent,
** and refuses to send from then on. */
static void test_consent_loss(void) {
    world w;
    netsim_link l = {.delay = RTC_MS(10)};
    world_init(&w, 900, NULL, NULL, 0, 0, &l, &l);
    peers_start(&w.a, &w.b);
    REQUIRE(run_until_connected(w.net, &w.a, &w.b, RTC_SEC(10)));
    w.a.data_interval = RTC_MS(100);
    w.a.next_data_at = netsim_now(w.net);
    netsim_run(w.net, RTC_SEC(60), NULL, NULL, 10000000);
    CHECK(w.a.failed_at == 0);
    CHECK_EQ_INT(w.a.tx_refused, 0);
    rtc_time cut = netsim_now(w.net);
    netsim_link dead = {.block_udp = true};
    netsim_set_link(w.net, w.b.host, &dead);
    netsim_run(w.net, cut + RTC_SEC(60), NULL, NULL, 10000000);
    double after = (double)(w.a.failed_at - cut) / 1e6;
    fprintf(stderr, "  consent lost: disconnected after %.1f s, failed after %.1f s\n",
            (double)(w.a.disconnected_at - cut) / 1e6, after);
    CHECK(w.a.failed_at > 0);
    CHECK(after >= 24.0 && after <= 30.5); /* 30 s after the last consent, <= 6 s before cut */
    CHECK(w.a.disconnected_at > cut && w.a.disconnected_at < w.a.failed_at);
    CHECK(w.a.tx_refused > 0);
    CHECK_EQ_INT(rtc_ice_send(w.a.ice, netsim_now(w.net), (const uint8_t *)"\x17", 1),
                 RTC_ERR_AUTH);
    world_free(&w);
}

/* ICE restart while data flows: the old pair carries data until the new one is selected. */
static void test_restart_during_data(void) {
    world w;
    netsim_link l = {.delay = RTC_MS(10)};
    world_init(&w, 1000, NULL, NULL, 0, 0, &l, &l);
    peers_start(&w.a, &w.b);
    REQUIRE(run_until_connected(w.net, &w.a, &w.b, RTC_SEC(10)));
    w.a.data_interval = RTC_MS(20);
    w.a.next_data_at = netsim_now(w.net);
    netsim_run(w.net, RTC_SEC(5), NULL, NULL, 10000000);
    uint64_t rx_before = w.b.rx_data;
    CHECK(rx_before > 100);
    char u1[300], u2[300];
    rtc_ice_get_local_credentials(w.a.ice, u1, sizeof u1, NULL, 0);
    /* A restarts (offer), B answers with a restart of its own; signaling takes 200 ms */
    w.a.hold = true;
    rtc_ice_restart(w.a.ice, netsim_now(w.net));
    peer_drain(&w.a);
    rtc_ice_get_local_credentials(w.a.ice, u2, sizeof u2, NULL, 0);
    CHECK(strcmp(u1, u2) != 0);
    netsim_run(w.net, netsim_now(w.net) + RTC_MS(200), NULL, NULL, 1000000);
    peer_send_creds(&w.a, &w.b);
    w.b.hold = true;
    rtc_ice_restart(w.b.ice, netsim_now(w.net));
    peer_drain(&w.b);
    netsim_run(w.net, netsim_now(w.net) + RTC_MS(200), NULL, NULL, 1000000);
    peer_send_creds(&w.b, &w.a);
    peer_release(&w.a);
    peer_release(&w.b);
    rtc_time restart_done = netsim_now(w.net);
    netsim_run(w.net, restart_done + RTC_SEC(60), NULL, NULL, 10000000);
    fprintf(stderr, "  restart: max gap in received data %.0f ms\n",
            (double)w.b.max_rx_gap / 1000.0);
    CHECK(w.b.max_rx_gap < RTC_MS(100));
    CHECK_EQ_INT(w.a.tx_refused, 0);
    CHECK(w.b.rx_data > rx_before + 2800);
    CHECK_EQ_INT(w.a.state, RTC_ICE_STATE_COMPLETED);
    CHECK_EQ_INT(w.b.state, RTC_ICE_STATE_COMPLETED);
    CHECK(w.a.failed_at == 0 && w.b.failed_at == 0);
    world_free(&w);
}

/* mDNS host candidates (browsers): resolved, failed, or never answered. */
static void test_mdns(void) {
    for (int mode = 0; mode < 4; mode++) {
        world w;
        netsim_link l = {.delay = RTC_MS(10)};
        world_init(&w, 1100 + (uint64_t)mode, NULL, NULL, 0, 0, &l, &l);
        w.b.mdns_hide = true;
        w.a.resolve_mode = mode;
        peers_start(&w.a, &w.b);
        REQUIRE(run_until_connected(w.net, &w.a, &w.b, RTC_SEC(10)));
        CHECK(w.a.resolve_requests >= 1);
        if (mode == 3) {
            /* the answer comes after the peer-reflexive candidate already connected: the
            ** two merge into one remote candidate, and the selected path stays */
            CHECK_EQ_INT(w.a.sel_rtype, RTC_ICE_CAND_PRFLX);
            CHECK_EQ_INT(peer_answer_late(&w.a), 1);
            rtc_ice_stats st;
            rtc_ice_get_stats(w.a.ice, &st);
            CHECK_EQ_INT(st.remote_candidates, 1);
            CHECK_EQ_INT(w.a.n_selected, 1);
        }
        netsim_run(w.net, netsim_now(w.net) + RTC_SEC(10), NULL, NULL, 1000000);
        fprintf(stderr, "  mDNS mode %d: A's remote is %s, state %s\n", mode,
                rtc_ice_cand_type_name(w.a.sel_rtype), rtc_ice_state_name(w.a.state));
        CHECK(rtc_addr_equal(&w.a.sel_remote, &w.b.addrs[0]));
        if (mode == 0) CHECK_EQ_INT(w.a.sel_rtype, RTC_ICE_CAND_HOST);
        CHECK_EQ_INT(w.a.state, RTC_ICE_STATE_COMPLETED);
        world_free(&w);
    }
}

/* An ICE-lite peer (RFC 8445 §2.5): the full agent controls and nominates. */
static void test_lite_peer(void) {
    world w;
    rtc_ice_config ca = {0}, cb = {.lite = true};
    netsim_link l = {.delay = RTC_MS(10)};
    world_init(&w, 1200, &ca, &cb, 0, 0, &l, &l);
    rtc_ice_set_remote_lite(w.a.ice, true);
    CHECK(rtc_ice_is_controlling(w.a.ice));
    peers_start(&w.a, &w.b);
    REQUIRE(run_until_connected(w.net, &w.a, &w.b, RTC_SEC(10)));
    w.a.data_interval = RTC_MS(50);
    w.a.next_data_at = netsim_now(w.net);
    netsim_run(w.net, netsim_now(w.net) + RTC_SEC(60), NULL, NULL, 10000000);
    CHECK(w.b.rx_data > 1000);
    CHECK(w.a.failed_at == 0 && w.b.failed_at == 0);
    rtc_ice_stats s;
    rtc_ice_get_stats(w.b.ice, &s);
    CHECK_EQ_INT(s.checks_sent, 0);
    world_free(&w);
}

/* A hostile signaling channel floods 10,000 remote candidates: the agent keeps within its
** bounds and still connects with the real candidates signalled first. */
static void test_flood(void) {
    world w;
    netsim_link l = {.delay = RTC_MS(10)};
    world_init(&w, 1300, NULL, NULL, 0, 0, &l, &l);
    peers_start(&w.a, &w.b);
    int nomem = 0;
    for (int i = 0; i < 10000; i++) {
        char line[200];
        snprintf(line, sizeof line, "candidate:%d 1 udp %u 10.%d.%d.%d %d typ host", i,
                 2000000000u + (unsigned)i, 20 + (i >> 16 & 0xff), i >> 8 & 0xff, i & 0xff,
                 1024 + i % 60000);
        int rc = rtc_ice_add_remote_candidate(w.a.ice, line);
        if (rc == RTC_ERR_NOMEM)
            nomem++;
        else
            CHECK(rc >= 0);
        peer_drain(&w.a);
    }
    rtc_ice_stats s;
    rtc_ice_get_stats(w.a.ice, &s);
    fprintf(stderr,
            "  flood: %zu remote candidates kept, %zu pairs, %zu dropped, %zu pairs refused\n",
            s.remote_candidates, s.pairs, s.remote_dropped, s.pairs_dropped);
    CHECK(s.remote_candidates <= 64);
    CHECK(s.pairs <= 100);
    CHECK(nomem >= 10000 - 64);
    REQUIRE(run_until_connected(w.net, &w.a, &w.b, RTC_SEC(30)));
    CHECK(rtc_addr_equal(&w.a.sel_remote, &w.b.addrs[0]));
    world_free(&w);
}

/* A firewall blocks all UDP on A: gathering still completes (the STUN request times out)
** and both agents reach FAILED once every pair has failed and end-of-candidates is known. */
static void test_blocked_udp(void) {
    world w;
    netsim_link blocked = {.block_udp = true}, l = {.delay = RTC_MS(10)};
    world_init(&w, 1500, NULL, NULL, 0, 0, &blocked, &l);
    rtc_addr stun = netsim_addr("192.0.2.1:3478");
    netsim_add_stun_server(w.net, &stun, NULL);
    rtc_ice_add_stun_server(w.a.ice, &stun);
    peers_start(&w.a, &w.b);
    netsim_run(w.net, RTC_SEC(60), NULL, NULL, 1000000);
    fprintf(stderr, "  blocked UDP: A gathered at %.1f s, A failed at %.1f s, B failed at %.1f s\n",
            (double)w.a.gathered_at / 1e6, (double)w.a.failed_at / 1e6,
            (double)w.b.failed_at / 1e6);
    CHECK_EQ_INT(w.a.gathering, RTC_ICE_GATHERING_COMPLETE);
    CHECK(w.a.gathered_at >= RTC_SEC(3) && w.a.gathered_at <= RTC_SEC(6));
    CHECK_EQ_INT(w.a.n_candidates, 1); /* host only */
    CHECK_EQ_INT(w.a.state, RTC_ICE_STATE_FAILED);
    CHECK_EQ_INT(w.b.state, RTC_ICE_STATE_FAILED);
    CHECK(w.a.failed_at > 0 && w.a.failed_at < RTC_SEC(20));
    CHECK(!w.a.have_sel && !w.b.have_sel);
    world_free(&w);
}

/* NAT bindings expire after 20 s idle (RFC 4787 §4.3): consent checks keep them alive;
** with consent checks made rare, keepalives (RFC 8445 §11, every 15 s) must. Without
** either the binding dies and the session fails. */
static void test_nat_binding_refresh(void) {
    for (int variant = 0; variant < 3; variant++) {
        world w;
        netsim_link l = {.delay = RTC_MS(10)};
        sim_new(&w.net, 1700 + (uint64_t)variant);
        rtc_addr pub = netsim_addr("198.51.100.1"), stun = netsim_addr("192.0.2.1:3478");
        int nat = netsim_add_nat_type(w.net, &pub, NETSIM_NAT_PORT_RESTRICTED);
        netsim_set_nat_timeout(w.net, nat, RTC_SEC(20));
        netsim_add_stun_server(w.net, &stun, NULL);
        rtc_ice_config ca = {.controlling = true}, cb = {0};
        if (variant >= 1) { /* consent checks every 100 s: keepalives must do the work */
            ca.consent_interval = cb.consent_interval = RTC_SEC(100);
            ca.consent_timeout = cb.consent_timeout = RTC_SEC(300);
            ca.disconnected_timeout = cb.disconnected_timeout = RTC_SEC(250);
        }
        if (variant == 2) /* ... and keepalives too rare for the NAT */
            ca.keepalive_interval = cb.keepalive_interval = RTC_SEC(25);
        const char *bip[] = {"203.0.113.5"};
        peer_init(&w.a, "A", w.net, &ca, 5, nat, &l, A_IP, 1);
        peer_init(&w.b, "B", w.net, &cb, 6, 0, &l, bip, 1);
        rtc_ice_add_stun_server(w.a.ice, &stun);
        peers_start(&w.a, &w.b);
        REQUIRE(run_until_connected(w.net, &w.a, &w.b, RTC_SEC(10)));
        rtc_time t0 = netsim_now(w.net);
        netsim_run(w.net, t0 + RTC_SEC(120), NULL, NULL, 10000000);
        /* B -> A data crosses A's NAT only while A's mapping lives */
        uint64_t rx = w.a.rx_data;
        w.b.data_interval = RTC_MS(500);
        w.b.next_data_at = netsim_now(w.net);
        netsim_run(w.net, netsim_now(w.net) + RTC_SEC(5), NULL, NULL, 1000000);
        bool flows = w.a.rx_data >= rx + 8;
        fprintf(stderr, "  NAT idle timeout 20 s, %s: data B->A after 2 min %s\n",
                variant == 0   ? "consent every ~5 s"
                : variant == 1 ? "keepalive every 15 s"
                               : "keepalive every 25 s",
                flows ? "flows" : "blocked");
        CHECK(flows == (variant != 2));
        world_free(&w);
    }
}

/* Hours of protocol time in milliseconds: two hours of consent checks and data over a
** lossy, jittery path; consent never lapses. */
static void test_two_hours(void) {
    world w;
    netsim_link l = {.delay = RTC_MS(25), .jitter = RTC_MS(10), .loss = 0.05};
    world_init(&w, 1600, NULL, NULL, 0, 0, &l, &l);
    peers_start(&w.a, &w.b);
    REQUIRE(run_until_connected(w.net, &w.a, &w.b, RTC_SEC(10)));
    w.a.data_interval = RTC_SEC(1);
    w.a.next_data_at = netsim_now(w.net);
    clock_t c0 = clock();
    netsim_run(w.net, RTC_SEC(7200), NULL, NULL, 100000000);
    double ms = (double)(clock() - c0) * 1000.0 / CLOCKS_PER_SEC;
    fprintf(stderr, "  2 h of protocol time in %.0f ms of CPU; %llu datagrams received\n", ms,
            (unsigned long long)w.b.rx_data);
    CHECK(w.a.failed_at == 0 && w.b.failed_at == 0);
    CHECK(w.b.rx_data > 6300); /* 7200 sent, 2 x 5% loss: ~6500 expected */
    CHECK_EQ_INT(w.a.tx_refused, 0);
    world_free(&w);
}

/* Determinism: the same seed gives the same run, to the microsecond. */
static void test_deterministic(void) {
    rtc_time t[2];
    uint64_t sent[2];
    for (int i = 0; i < 2; i++) {
        world w;
        netsim_link l = {.delay = RTC_MS(10), .jitter = RTC_MS(10), .loss = 0.2};
        world_init(&w, 1400, NULL, NULL, 0, 0, &l, &l);
        peers_start(&w.a, &w.b);
        run_until_connected(w.net, &w.a, &w.b, RTC_SEC(30));
        t[i] = netsim_now(w.net);
        netsim_stats st;
        netsim_get_stats(w.net, &st);
        sent[i] = st.sent;
        world_free(&w);
    }
    CHECK_EQ_INT(t[0], t[1]);
    CHECK_EQ_INT(sent[0], sent[1]);
}

int main(int argc, char **argv) {
    if (argc > 1) {
        if (!strcmp(argv[1], "restart")) RUN(test_restart_during_data);
        if (!strcmp(argv[1], "lossy")) RUN(test_lossy);
        if (!strcmp(argv[1], "switch")) RUN(test_dual_stack_and_switch);
        return TEST_DONE();
    }
    RUN(test_host_host);
    RUN(test_nat_types);
    RUN(test_two_nats);
    RUN(test_lossy);
    RUN(test_role_conflict);
    RUN(test_trickle_orders);
    RUN(test_peer_reflexive);
    RUN(test_ipv6_only);
    RUN(test_dual_stack_and_switch);
    RUN(test_consent_loss);
    RUN(test_restart_during_data);
    RUN(test_mdns);
    RUN(test_lite_peer);
    RUN(test_flood);
    RUN(test_blocked_udp);
    RUN(test_nat_binding_refresh);
    RUN(test_two_hours);
    RUN(test_deterministic);
    return TEST_DONE();
}
