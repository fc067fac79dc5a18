/*
** tests/unit/ice/ice_harness.h: ICE agents on the simulated network (tests/sim/netsim.h).
**
** A sim_peer wraps one rtc_ice: a netsim host for its addresses, an actor for its timers,
** signaling to its `other` peer (immediate, or held back to test trickle orders), an
** optional mDNS obfuscation of its host candidates, a fake relay allocation, and a data
** pump that sends application datagrams on the selected pair.
*/
#ifndef ICE_HARNESS_H
#define ICE_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cwebrtc/ice.h"
#include "sim/netsim.h"
#include "test.h"

#define PEER_MAX_HELD  128
#define PEER_MAX_NAMES 8

typedef struct sim_peer {
    const char *name;
    netsim *net;
    rtc_ice *ice;
    rtc_env env;
    rtc_test_rng rng;
    struct sim_peer *other;
    int host;
    rtc_addr addrs[4];
    int n_addrs;

    /* signaling */
    bool hold; /* queue candidates and end-of-candidates */
    rtc_ice_candidate held[PEER_MAX_HELD];
    int n_held;
    bool eoc_held;
    bool no_signal; /* never signal candidates (peer-reflexive tests) */
    bool mdns_hide; /* signal host candidates as "<name>.local" */
    char names[PEER_MAX_NAMES][64];
    rtc_addr name_addr[PEER_MAX_NAMES];
    int n_names;
    int resolve_mode; /* how WE answer RESOLVE: 0 resolve, 1 fail, 2 never, 3 later */
    int resolve_requests;
    char late_name[RTC_ICE_HOSTNAME_MAX + 1]; /* resolve_mode 3: the held-back name */

    /* relay */
    int relay_host;
    rtc_addr relayed;

    /* observation */
    int state, gathering;
    bool controlling;
    bool have_sel;
    rtc_addr sel_local, sel_remote;
    uint8_t sel_ltype, sel_rtype;
    rtc_time connected_at, failed_at, disconnected_at, gathered_at;
    int n_selected, n_role, n_candidates, n_permissions;
    int states_seen; /* bit mask of states */

    /* optional interception, e.g. a TURN client sharing the host socket (turn_sim.c):
    ** return true when the datagram / transmit was consumed */
    bool (*recv_hook)(struct sim_peer *p, rtc_time now, const rtc_addr *src, const rtc_addr *dst,
                      const uint8_t *buf, size_t len);
    bool (*tx_hook)(struct sim_peer *p, const rtc_ice_transmit *t);
    void (*event_hook)(struct sim_peer *p, const rtc_ice_event *ev);
    void *hook_ud;

    /* data pump */
    rtc_time data_interval, next_data_at;
    uint64_t tx_ok, tx_refused, rx_data;
    rtc_time last_rx, max_rx_gap;
} sim_peer;

static inline void peer_drain(sim_peer *p);

/* Added to every peer's seed (see ICE_SEED_OFFSET in test_sim.c). */
static uint64_t peer_seed_offset;

/* ICE_TEST_LOG=1: agents log at DEBUG and every datagram is printed. */
static inline bool harness_log(void) {
    static int on = -1;
    if (on < 0) on = getenv("ICE_TEST_LOG") != NULL;
    return on == 1;
}

static inline void peer_recv(void *ud, rtc_time now, const rtc_addr *src, const rtc_addr *dst,
                             const uint8_t *buf, size_t len) {
    sim_peer *p = ud;
    if (harness_log())
        fprintf(stderr, "%10.3f %s rx len %zu type %02x%02x\n", (double)now / 1e6, p->name, len,
                len ? buf[0] : 0, len > 1 ? buf[1] : 0);
    if (p->recv_hook && p->recv_hook(p, now, src, dst, buf, len)) return;
    int rc = rtc_ice_handle_packet(p->ice, now, src, dst, buf, len);
    if (rc == 1) {
        p->rx_data++;
        if (p->last_rx && now - p->last_rx > p->max_rx_gap) p->max_rx_gap = now - p->last_rx;
        p->last_rx = now;
    }
    peer_drain(p);
}

static inline void peer_relay_deliver(void *ud, rtc_time now, const rtc_addr *peer,
                                      const rtc_addr *relayed, const uint8_t *buf, size_t len) {
    peer_recv(ud, now, peer, relayed, buf, len);
}

static inline rtc_time peer_next(void *ud) {
    sim_peer *p = ud;
    rtc_time t = rtc_ice_next_timeout(p->ice);
    if (p->data_interval && p->next_data_at < t) t = p->next_data_at;
    return t;
}

static inline void peer_fire(void *ud, rtc_time now) {
    sim_peer *p = ud;
    if (p->data_interval && now >= p->next_data_at) {
        uint8_t d[100];
        memset(d, 0x17, sizeof d); /* a DTLS-looking first byte: never STUN (RFC 7983) */
        int rc = rtc_ice_send(p->ice, now, d, sizeof d);
        if (rc == RTC_OK)
            p->tx_ok++;
        else
            p->tx_refused++;
        p->next_data_at = now + p->data_interval;
    }
    if (rtc_ice_next_timeout(p->ice) <= now) rtc_ice_handle_timeout(p->ice, now);
    peer_drain(p);
}

static inline void peer_forward_candidate(sim_peer *p, const rtc_ice_candidate *c) {
    if (!p->other || p->no_signal) return;
    int rc = rtc_ice_add_remote_candidate_struct(p->other->ice, c);
    CHECK(rc >= 0);
    peer_drain(p->other);
}

static inline void peer_forward_eoc(sim_peer *p) {
    if (!p->other) return;
    rtc_ice_remote_end_of_candidates(p->other->ice);
    peer_drain(p->other);
}

static inline void peer_event(sim_peer *p, const rtc_ice_event *ev) {
    rtc_time now = netsim_now(p->net);
    if (p->event_hook) p->event_hook(p, ev);
    switch (ev->type) {
    case RTC_ICE_EVENT_CANDIDATE: {
        p->n_candidates++;
        rtc_ice_candidate c = ev->candidate;
        /* the line must survive printing and parsing, as it would over signaling */
        char line[RTC_ICE_CANDIDATE_LINE_MAX];
        CHECK(rtc_ice_candidate_format(&c, line, sizeof line) > 0);
        CHECK_EQ_INT(rtc_ice_candidate_parse(&c, line), RTC_OK);
        if (p->mdns_hide && c.type == RTC_ICE_CAND_HOST && p->n_names < PEER_MAX_NAMES) {
            int k = p->n_names++;
            snprintf(p->names[k], sizeof p->names[k], "%08x-%s-%d.local",
                     (unsigned)(netsim_rand(p->net) & 0xffffffffu), p->name, k);
            p->name_addr[k] = c.addr;
            snprintf(c.hostname, sizeof c.hostname, "%s", p->names[k]);
            uint16_t port = c.addr.port;
            memset(&c.addr, 0, sizeof c.addr);
            c.addr.port = port;
        }
        if (p->hold) {
            if (p->n_held < PEER_MAX_HELD) p->held[p->n_held++] = c;
        } else {
            peer_forward_candidate(p, &c);
        }
        break;
    }
    case RTC_ICE_EVENT_GATHERING_STATE:
        p->gathering = ev->state;
        if (ev->state == RTC_ICE_GATHERING_COMPLETE) {
            p->gathered_at = now;
            if (p->hold)
                p->eoc_held = true;
            else
                peer_forward_eoc(p);
        }
        break;
    case RTC_ICE_EVENT_STATE:
        p->state = ev->state;
        p->states_seen |= 1 << ev->state;
        if ((ev->state == RTC_ICE_STATE_CONNECTED || ev->state == RTC_ICE_STATE_COMPLETED) &&
            !p->connected_at)
            p->connected_at = now;
        if (ev->state == RTC_ICE_STATE_FAILED && !p->failed_at) p->failed_at = now;
        if (ev->state == RTC_ICE_STATE_DISCONNECTED && !p->disconnected_at)
            p->disconnected_at = now;
        break;
    case RTC_ICE_EVENT_SELECTED_PAIR:
        p->have_sel = true;
        p->n_selected++;
        p->sel_local = ev->local;
        p->sel_remote = ev->remote;
        p->sel_ltype = ev->local_type;
        p->sel_rtype = ev->remote_type;
        break;
    case RTC_ICE_EVENT_RESOLVE: {
        p->resolve_requests++;
        if (p->resolve_mode == 3) snprintf(p->late_name, sizeof p->late_name, "%s", ev->name);
        if (p->resolve_mode >= 2) break;
        const sim_peer *o = p->other;
        const rtc_addr *found = NULL;
        for (int i = 0; o && i < o->n_names; i++)
            if (strcmp(o->names[i], ev->name) == 0) found = &o->name_addr[i];
        rtc_ice_resolved(p->ice, ev->name, p->resolve_mode == 0 ? found : NULL);
        break;
    }
    case RTC_ICE_EVENT_RELAY_PERMISSION:
        p->n_permissions++;
        netsim_relay_permit(p->net, &ev->local, &ev->remote);
        break;
    case RTC_ICE_EVENT_ROLE:
        p->n_role++;
        p->controlling = ev->controlling;
        break;
    }
}

static inline void peer_drain(sim_peer *p) {
    for (int guard = 0; guard < 100000; guard++) {
        rtc_ice_transmit t;
        rtc_ice_event ev;
        if (rtc_ice_poll_transmit(p->ice, &t) == 1) {
            if (harness_log()) {
                char a1[RTC_ADDR_STRLEN], a2[RTC_ADDR_STRLEN];
                rtc_addr_fmt(&t.src, a1, sizeof a1);
                rtc_addr_fmt(&t.dst, a2, sizeof a2);
                fprintf(stderr, "%10.3f %s tx %s -> %s len %zu type %02x%02x\n",
                        (double)netsim_now(p->net) / 1e6, p->name, a1, a2, t.len, t.data[0],
                        t.len > 1 ? t.data[1] : 0);
            }
            if (p->tx_hook && p->tx_hook(p, &t)) continue;
            if (t.relay_id)
                netsim_relay_send(p->net, &t.src, &t.dst, t.data, t.len);
            else
                netsim_send(p->net, &t.src, &t.dst, t.data, t.len);
            continue;
        }
        if (rtc_ice_poll_event(p->ice, &ev) == 1) {
            peer_event(p, &ev);
            continue;
        }
        break;
    }
}

/* Create the agent and its netsim host with the given addresses (ports 5000, 5001...). */
static inline int peer_init(sim_peer *p, const char *name, netsim *net, const rtc_ice_config *cfg,
                            uint64_t seed, int nat, const netsim_link *link, const char *const *ips,
                            int n_ips) {
    memset(p, 0, sizeof *p);
    p->name = name;
    p->net = net;
    rtc_env_seeded(&p->env, &p->rng, seed + peer_seed_offset);
    if (harness_log()) {
        p->env.log = rtc_log_stderr;
        p->env.log_level = RTC_LOG_DEBUG;
    }
    if (rtc_ice_new(&p->ice, cfg, &p->env) != RTC_OK) return -1;
    p->controlling = rtc_ice_is_controlling(p->ice);
    for (int i = 0; i < n_ips && i < 4; i++) {
        rtc_addr a = netsim_addr(ips[i]);
        if (i == 0)
            p->host = netsim_add_host(net, &a, nat, link, peer_recv, p);
        else
            netsim_host_add_ip(net, p->host, &a);
        a.port = (uint16_t)(5000 + i);
        p->addrs[p->n_addrs++] = a;
        rtc_ice_add_host_address(p->ice, &a);
    }
    netsim_add_actor(net, peer_next, peer_fire, p);
    return 0;
}

static inline void peer_add_relay(sim_peer *p, int relay_host) {
    p->relay_host = relay_host;
    netsim_relay_allocate(p->net, relay_host, peer_relay_deliver, p, &p->relayed);
    rtc_ice_add_relayed(p->ice, 1, &p->relayed, &p->addrs[0]);
}

/* Answer a RESOLVE held back by resolve_mode 3. Returns what rtc_ice_resolved returned. */
static inline int peer_answer_late(sim_peer *p) {
    const sim_peer *o = p->other;
    for (int i = 0; o && i < o->n_names; i++)
        if (strcmp(o->names[i], p->late_name) == 0) {
            int rc = rtc_ice_resolved(p->ice, p->late_name, &o->name_addr[i]);
            peer_drain(p);
            return rc;
        }
    return -1;
}

static inline void peer_free(sim_peer *p) { rtc_ice_free(p->ice); }

static inline void peer_send_creds(sim_peer *from, sim_peer *to) {
    char u[RTC_ICE_UFRAG_MAX + 1], w[RTC_ICE_PWD_MAX + 1];
    REQUIRE(rtc_ice_get_local_credentials(from->ice, u, sizeof u, w, sizeof w) == RTC_OK);
    CHECK_EQ_INT(rtc_ice_set_remote_credentials(to->ice, u, w), RTC_OK);
    peer_drain(to);
}

static inline void peer_release(sim_peer *p) {
    p->hold = false;
    for (int i = 0; i < p->n_held; i++)
        peer_forward_candidate(p, &p->held[i]);
    p->n_held = 0;
    if (p->eoc_held) {
        p->eoc_held = false;
        peer_forward_eoc(p);
    }
}

static inline void peer_gather(sim_peer *p) {
    rtc_ice_gather(p->ice, netsim_now(p->net));
    peer_drain(p);
}

/* Link two peers, exchange credentials, gather both. */
static inline void peers_start(sim_peer *a, sim_peer *b) {
    a->other = b;
    b->other = a;
    peer_send_creds(a, b);
    peer_send_creds(b, a);
    peer_gather(a);
    peer_gather(b);
}

static inline bool both_connected(void *ud) {
    sim_peer **pp = ud;
    return pp[0]->have_sel && pp[1]->have_sel &&
           (pp[0]->state == RTC_ICE_STATE_CONNECTED || pp[0]->state == RTC_ICE_STATE_COMPLETED) &&
           (pp[1]->state == RTC_ICE_STATE_CONNECTED || pp[1]->state == RTC_ICE_STATE_COMPLETED);
}

/* Run until both have a selected pair and are connected/completed, or `limit`. */
static inline bool run_until_connected(netsim *net, sim_peer *a, sim_peer *b, rtc_time limit) {
    sim_peer *pp[2] = {a, b};
    netsim_run(net, limit, both_connected, pp, 10000000);
    return both_connected(pp);
}

#endif
