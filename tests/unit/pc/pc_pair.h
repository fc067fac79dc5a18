/*
** tests/unit/pc/pc_pair.h: two rtc_pc objects wired through an in-memory network on a
** virtual clock, with signaling done by direct calls.
**
** Side i owns address 10.0.0.(i+1):5000. Each direction is a FIFO with a fixed one-way
** delay (no loss: OpenSSL's DTLS retransmission timer runs on the wall clock, so the
** handshake must not depend on retransmissions in virtual time). The driver always
** advances to the earliest of both connections' next_timeout() and the next arrival.
** Every event is recorded (messages copied) so tests can check what arrived.
** Candidates trickle to the peer as soon as it has a remote description (earlier ones
** wait in the harness, as a signaling channel would hold them).
*/
#ifndef RTC_TESTS_PC_PAIR_H
#define RTC_TESTS_PC_PAIR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cwebrtc/net.h"
#include "cwebrtc/pc.h"
#include "cwebrtc/turn_server.h"

typedef struct pp_pkt {
    rtc_time at;
    uint64_t seq;
    rtc_addr src, dst;
    size_t len;
    uint8_t *data;
    uint32_t stream; /* > 0: bytes of TURN stream `stream` (TCP/TLS to p->srv), not a datagram */
} pp_pkt;

typedef struct pp_link {
    rtc_time delay;
    pp_pkt *p;
    size_t n, cap;
    uint64_t seq, sent;
    bool cut; /* drop everything */
} pp_link;

typedef struct pp_msg {
    uint32_t channel;
    bool binary;
    size_t len;
    uint8_t *data;
} pp_msg;

#define PP_MAX 256
#define PP_MAX_MSG 4096

typedef struct pp_side {
    rtc_pc *pc;
    rtc_env env;
    rtc_test_rng rng;
    rtc_addr addr;
    bool has_remote; /* a remote description was set: candidates may be delivered */
    bool trickle;    /* forward candidates to the peer (default true) */
    char *cands[PP_MAX];
    int ncands, delivered;
    bool end_of_candidates;
    int sig, conn, ice, gather;
    int sig_changes, conn_changes, nn;
    int fail_error;
    const char *fail_what;
    uint32_t remote_ch[PP_MAX];
    char remote_label[PP_MAX][32];
    int n_remote_ch;
    uint32_t opened[PP_MAX];
    int n_opened;
    uint32_t closed[PP_MAX];
    int n_closed, n_closing, n_low, n_errors;
    pp_msg msgs[PP_MAX_MSG];
    int nmsgs;
    uint64_t msg_bytes;
    bool keep_data;
    /* TURN over TCP/TLS: the RELAY_STREAM events seen (the harness "connects" at once:
    ** stream bytes travel as packets tagged with the stream id, from port 40000 + id) */
    int n_relay_streams;
    rtc_pc_event relay_stream; /* the last one (name not kept) */
    char relay_stream_name[64];
    int stream_tx_before_event; /* stream transmits seen before their RELAY_STREAM: a bug */
    size_t stream_chunk;        /* feed server bytes in pieces of this size (0: whole) */
    /* optional hook for each event (after it is recorded) */
    void (*on_event)(struct pp_side *s, const rtc_pc_event *ev, void *ud);
    void *ud;
} pp_side;

typedef struct pp_pair {
    pp_side s[2];
    pp_link link[3]; /* link[i]: from side i; link[2]: from the TURN server (if any) */
    rtc_turn_server *srv; /* optional: datagrams to its IP go to it, not to the other side */
    rtc_addr srv_addr;
    rtc_env srv_env;    /* pp_init_turn: the server's seeded env */
    rtc_test_rng srv_rng;
    uint16_t srv_next_port;
    rtc_time now;
    uint64_t steps;
} pp_pair;

static inline void pp_link_send(pp_link *l, rtc_time now, const rtc_addr *src, const rtc_addr *dst,
                         const uint8_t *d, size_t len) {
    l->sent++;
    if (l->cut) return;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->p = realloc(l->p, l->cap * sizeof *l->p);
        if (!l->p) abort();
    }
    pp_pkt p = {now + l->delay, l->seq++, *src, *dst, len, malloc(len ? len : 1), 0};
    if (!p.data) abort();
    memcpy(p.data, d, len);
    l->p[l->n++] = p;
}

/* FIFO with a constant delay: the oldest packet is first. */
static inline rtc_time pp_link_next(const pp_link *l) { return l->n ? l->p[0].at : RTC_TIME_NEVER; }

static inline void pp_record(pp_pair *p, int i, const rtc_pc_event *ev) {
    pp_side *s = &p->s[i];
    switch (ev->type) {
    case RTC_PC_EV_ICE_CANDIDATE:
        if (ev->candidate[0] == 0) {
            s->end_of_candidates = true;
        } else if (s->ncands < PP_MAX) {
            s->cands[s->ncands] = strdup(ev->candidate);
            s->ncands++;
        }
        break;
    case RTC_PC_EV_ICE_GATHERING_STATE_CHANGE: s->gather = ev->state; break;
    case RTC_PC_EV_ICE_CONNECTION_STATE_CHANGE: s->ice = ev->state; break;
    case RTC_PC_EV_CONNECTION_STATE_CHANGE:
        s->conn = ev->state;
        s->conn_changes++;
        if (ev->state == RTC_PC_CONNECTION_FAILED) {
            s->fail_error = ev->error;
            s->fail_what = ev->what;
        }
        break;
    case RTC_PC_EV_SIGNALING_STATE_CHANGE:
        s->sig = ev->state;
        s->sig_changes++;
        break;
    case RTC_PC_EV_NEGOTIATION_NEEDED: s->nn++; break;
    case RTC_PC_EV_DATA_CHANNEL:
        if (s->n_remote_ch < PP_MAX) {
            snprintf(s->remote_label[s->n_remote_ch], 32, "%s", ev->info.label);
            s->remote_ch[s->n_remote_ch++] = ev->channel;
        }
        break;
    case RTC_PC_EV_DC_OPEN:
        if (s->n_opened < PP_MAX) s->opened[s->n_opened++] = ev->channel;
        break;
    case RTC_PC_EV_DC_MESSAGE:
        s->msg_bytes += ev->len;
        if (s->nmsgs < PP_MAX_MSG) {
            pp_msg *m = &s->msgs[s->nmsgs++];
            m->channel = ev->channel;
            m->binary = ev->binary;
            m->len = ev->len;
            m->data = NULL;
            if (s->keep_data) {
                m->data = malloc(ev->len ? ev->len : 1);
                if (!m->data) abort();
                if (ev->len) memcpy(m->data, ev->data, ev->len);
            }
        }
        break;
    case RTC_PC_EV_DC_BUFFERED_AMOUNT_LOW: s->n_low++; break;
    case RTC_PC_EV_DC_CLOSING: s->n_closing++; break;
    case RTC_PC_EV_DC_CLOSE:
        if (s->n_closed < PP_MAX) s->closed[s->n_closed++] = ev->channel;
        break;
    case RTC_PC_EV_DC_ERROR: s->n_errors++; break;
    case RTC_PC_EV_RELAY_STREAM:
        s->n_relay_streams++;
        s->relay_stream = *ev;
        snprintf(s->relay_stream_name, sizeof s->relay_stream_name, "%s", ev->name ? ev->name : "");
        break;
    default: break;
    }
    if (s->on_event) s->on_event(s, ev, s->ud);
}

/* Deliver candidates of side i that the peer has not seen, once it can take them. */
static inline void pp_trickle(pp_pair *p, int i) {
    pp_side *s = &p->s[i], *o = &p->s[1 - i];
    if (!s->trickle || !o->has_remote) return;
    while (s->delivered < s->ncands) {
        rtc_pc_add_ice_candidate(o->pc, s->cands[s->delivered], "0", 0);
        s->delivered++;
    }
}

static inline bool pp_drain(pp_pair *p, int i) {
    pp_side *s = &p->s[i];
    bool any = false;
    for (int guard = 0; guard < 1000000; guard++) {
        rtc_pc_output o;
        if (rtc_pc_poll_output(s->pc, &o) == RTC_PC_OUT_TIMEOUT) break;
        any = true;
        if (o.kind == RTC_PC_OUT_TRANSMIT && o.transmit.stream) {
            if (s->n_relay_streams == 0) s->stream_tx_before_event++;
            rtc_addr from = s->addr;
            from.port = (uint16_t)(40000 + o.transmit.stream);
            pp_link_send(&p->link[i], p->now, &from, &o.transmit.dst, o.transmit.data,
                         o.transmit.len);
            p->link[i].p[p->link[i].n - 1].stream = o.transmit.stream;
        } else if (o.kind == RTC_PC_OUT_TRANSMIT)
            pp_link_send(&p->link[i], p->now, &o.transmit.src, &o.transmit.dst, o.transmit.data,
                         o.transmit.len);
        else
            pp_record(p, i, &o.event);
    }
    return any;
}

static inline void pp_drain_all(pp_pair *p) {
    for (int k = 0; k < 4; k++) {
        bool any = pp_drain(p, 0) | pp_drain(p, 1);
        pp_trickle(p, 0);
        pp_trickle(p, 1);
        if (!any) break;
    }
    pp_drain(p, 0);
    pp_drain(p, 1);
}

/* One step: advance to the next deadline or arrival. false when nothing is pending. */
static inline void pp_srv_drain(pp_pair *p) {
    rtc_turn_transmit tx;
    while (p->srv && rtc_turn_server_poll_transmit(p->srv, &tx) == 1) {
        pp_link_send(&p->link[2], p->now, &tx.from, &tx.to, tx.data, tx.len);
        if (!tx.from_relay && tx.transport == RTC_TURN_TCP)
            p->link[2].p[p->link[2].n - 1].stream = (uint32_t)(tx.to.port - 40000);
    }
}

static inline rtc_time pp_next(const pp_pair *p, rtc_time *t) {
    t[0] = rtc_pc_next_timeout(p->s[0].pc);
    t[1] = rtc_pc_next_timeout(p->s[1].pc);
    t[2] = pp_link_next(&p->link[0]);
    t[3] = pp_link_next(&p->link[1]);
    t[4] = pp_link_next(&p->link[2]);
    t[5] = p->srv ? rtc_turn_server_next_timeout(p->srv) : RTC_TIME_NEVER;
    rtc_time m = t[0];
    for (int j = 1; j < 6; j++)
        if (t[j] < m) m = t[j];
    return m;
}

static inline bool pp_step(pp_pair *p) {
    rtc_time t[6];
    pp_next(p, t);
    int k = 0;
    for (int j = 1; j < 6; j++)
        if (t[j] < t[k]) k = j;
    if (t[k] == RTC_TIME_NEVER) return false;
    if (t[k] > p->now) p->now = t[k];
    p->steps++;
    if (k < 2) {
        rtc_pc_handle_timeout(p->s[k].pc, p->now);
    } else if (k == 5) {
        rtc_turn_server_handle_timeout(p->srv, p->now);
        pp_srv_drain(p);
    } else {
        pp_link *l = &p->link[k - 2];
        pp_pkt pk = l->p[0];
        memmove(l->p, l->p + 1, (l->n - 1) * sizeof *l->p);
        l->n--;
        if (p->srv && pk.stream && rtc_addr_equal_ip(&pk.dst, &p->srv_addr)) {
            /* one message per transmit: hand the server the frame without TCP padding */
            rtc_frame fr;
            size_t wire = 0;
            if (rtc_frame_peek(RTC_FRAME_STUN, pk.data, pk.len, 0, &fr, &wire) == 1)
                rtc_turn_server_handle_client(p->srv, p->now, RTC_TURN_TCP, &pk.dst, &pk.src,
                                              fr.data, fr.len);
            pp_srv_drain(p);
        } else if (pk.stream) {
            int to = rtc_addr_equal_ip(&pk.dst, &p->s[0].addr) ? 0 : 1;
            size_t step = p->s[to].stream_chunk ? p->s[to].stream_chunk : pk.len;
            for (size_t off = 0; off < pk.len; off += step)
                rtc_pc_relay_stream_input(p->s[to].pc, p->now, pk.stream, pk.data + off,
                                          pk.len - off < step ? pk.len - off : step);
        } else if (p->srv && rtc_addr_equal_ip(&pk.dst, &p->srv_addr)) {
            if (rtc_addr_equal(&pk.dst, &p->srv_addr))
                rtc_turn_server_handle_client(p->srv, p->now, RTC_TURN_UDP, &pk.dst, &pk.src,
                                              pk.data, pk.len);
            else
                rtc_turn_server_handle_peer(p->srv, p->now, &pk.dst, &pk.src, pk.data, pk.len);
            pp_srv_drain(p);
        } else {
            int to = k == 4 ? (rtc_addr_equal_ip(&pk.dst, &p->s[0].addr) ? 0 : 1) : 1 - (k - 2);
            rtc_pc_handle_packet(p->s[to].pc, p->now, &pk.src, &pk.dst, pk.data, pk.len);
        }
        free(pk.data);
    }
    pp_drain_all(p);
    return true;
}

typedef bool (*pp_pred)(pp_pair *p, void *ud);

/* Runs until pred holds or `limit` of virtual time passes. Returns pred's value. */
static inline bool pp_run_until(pp_pair *p, pp_pred pred, void *ud, rtc_time limit) {
    rtc_time end = p->now + limit;
    for (int guard = 0; guard < 2000000; guard++) {
        if (pred && pred(p, ud)) return true;
        rtc_time t[6];
        rtc_time m = pp_next(p, t);
        if (m > end) {
            p->now = end;
            break;
        }
        if (!pp_step(p)) break;
    }
    return pred ? pred(p, ud) : true;
}

static inline void pp_run_for(pp_pair *p, rtc_time dur) { pp_run_until(p, NULL, NULL, dur); }

/* Set both clocks to p->now (description calls use the last time given). */
static inline void pp_tick(pp_pair *p) {
    rtc_pc_handle_timeout(p->s[0].pc, p->now);
    rtc_pc_handle_timeout(p->s[1].pc, p->now);
}

static inline int pp_init(pp_pair *p, uint64_t seed, const rtc_pc_config *cfg0,
                   const rtc_pc_config *cfg1) {
    memset(p, 0, sizeof *p);
    p->now = RTC_SEC(1);
    for (int i = 0; i < 2; i++) {
        pp_side *s = &p->s[i];
        rtc_env_seeded(&s->env, &s->rng, seed * 2 + (uint64_t)i);
        s->trickle = true;
        s->keep_data = true;
        int rc = rtc_pc_new(&s->pc, i ? cfg1 : cfg0, &s->env);
        if (rc) return rc;
        uint8_t ip[4] = {10, 0, 0, (uint8_t)(i + 1)};
        rtc_addr_set_ipv4(&s->addr, ip, 5000);
        rc = rtc_pc_add_local_address(s->pc, &s->addr);
        if (rc) return rc;
        p->link[i].delay = RTC_MS(5);
    }
    pp_tick(p);
    return 0;
}

static inline void pp_free(pp_pair *p) {
    for (int i = 0; i < 2; i++) {
        pp_side *s = &p->s[i];
        rtc_pc_free(s->pc);
        for (int k = 0; k < s->ncands; k++) free(s->cands[k]);
        for (int k = 0; k < s->nmsgs; k++) free(s->msgs[k].data);
    }
    for (int i = 0; i < 3; i++) {
        for (size_t k = 0; k < p->link[i].n; k++) free(p->link[i].p[k].data);
        free(p->link[i].p);
    }
    rtc_turn_server_free(p->srv);
    memset(p, 0, sizeof *p);
}

/* The relay hooks of the TURN server core: relayed addresses are the server's own IP with
** ports counting up from 50000 (no sockets: the harness routes by address). */
static inline int pp_relay_open(void *ud, uint8_t family, bool even, bool reserve,
                                uint64_t token_in, rtc_addr *relay, void **handle,
                                uint64_t *token) {
    pp_pair *p = ud;
    (void)family, (void)even, (void)reserve, (void)token_in;
    *relay = p->srv_addr;
    relay->port = p->srv_next_port++;
    *handle = NULL;
    *token = 0;
    return RTC_OK;
}
static inline void pp_relay_close(void *ud, void *handle) { (void)ud, (void)handle; }

/*
** pp_init with both sides configured with one TURN URL (user "user", password "secret")
** pointing at our TURN server core at 10.0.0.100:3478 (realm example.org, private peers
** allowed) in the same virtual network, 5 ms from both sides; relay_only sets
** iceTransportPolicy "relay". pp_free frees the server. Returns 0 or the first error.
*/
static inline int pp_init_turn(pp_pair *p, uint64_t seed, const char *url, bool relay_only) {
    rtc_pc_ice_server turn = {url, "user", "secret"};
    rtc_pc_config cfg = {.ice_servers = &turn, .n_ice_servers = 1,
                         .ice_transport_policy = relay_only ? RTC_PC_ICE_POLICY_RELAY : 0};
    int rc = pp_init(p, seed, &cfg, &cfg);
    if (rc) return rc;
    rtc_addr_parse(&p->srv_addr, "10.0.0.100:3478", 0);
    p->srv_next_port = 50000;
    rtc_env_seeded(&p->srv_env, &p->srv_rng, seed + 99);
    rtc_turn_server_config sc = {.realm = "example.org",
                                 .relay = {.open = pp_relay_open, .close = pp_relay_close, .ud = p},
                                 .allow_private_peers = true};
    if ((rc = rtc_turn_server_new(&p->srv, &sc, &p->srv_env)) != RTC_OK) return rc;
    if ((rc = rtc_turn_server_add_user(p->srv, "user", "secret")) != RTC_OK) return rc;
    p->link[2].delay = RTC_MS(5);
    return 0;
}

/* offerer o -> answerer 1-o, the whole exchange. Returns 0 or the first error. */
static inline int pp_negotiate(pp_pair *p, int o) {
    static char offer[65536], answer[65536];
    pp_side *a = &p->s[o], *b = &p->s[1 - o];
    pp_tick(p);
    int rc = rtc_pc_create_offer(a->pc, offer, sizeof offer);
    if (rc < 0) return rc;
    if ((rc = rtc_pc_set_local_description(a->pc, RTC_PC_SDP_OFFER, NULL)) < 0) return rc;
    pp_drain_all(p);
    if ((rc = rtc_pc_set_remote_description(b->pc, RTC_PC_SDP_OFFER, offer, strlen(offer))) < 0)
        return rc;
    b->has_remote = true;
    pp_drain_all(p);
    if ((rc = rtc_pc_create_answer(b->pc, answer, sizeof answer)) < 0) return rc;
    if ((rc = rtc_pc_set_local_description(b->pc, RTC_PC_SDP_ANSWER, NULL)) < 0) return rc;
    pp_drain_all(p);
    if ((rc = rtc_pc_set_remote_description(a->pc, RTC_PC_SDP_ANSWER, answer, strlen(answer))) < 0)
        return rc;
    a->has_remote = true;
    pp_drain_all(p);
    return 0;
}

static inline bool pp_both_connected(pp_pair *p, void *ud) {
    (void)ud;
    return p->s[0].conn == RTC_PC_CONNECTION_CONNECTED &&
           p->s[1].conn == RTC_PC_CONNECTION_CONNECTED;
}

#endif
