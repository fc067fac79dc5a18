/*
** src/pc/peer.c: rtc_peer, the callback API on src/net's loop over the sans-IO rtc_pc.
**
** One UDP socket per peer, one loop timer. Every entry point follows the same shape:
** mutate the core, then schedule a drain on the loop (a timer at "now"), so callbacks only
** ever run from the loop's dispatch (readable socket, timer, resolver result), never
** inside a call the application made. The drain polls the core until TIMEOUT, sends
** transmits with sendmmsg batches, calls back for events, and re-arms the timer.
** A peer freed from its own callback is only marked; the drain frees it on the way out.
**
** TURN over TCP/TLS: on RTC_PC_EV_RELAY_STREAM the drain opens a peer_stream (non-blocking
** connect, TLS with certificate verification; peer_stream.c); transmits tagged with that
** stream id are written to it; what it reads goes to rtc_pc_relay_stream_input. A stream
** that died is reported with rtc_pc_relay_stream_closed and freed at the start of the next
** drain (never while its own code is on the stack).
*/
#include <stdio.h>
#include <string.h>

#include "cwebrtc/net.h"
#include "cwebrtc/peer.h"
#include "pc/peer_stream.h"
#include "util/util.h"

#define LOG_MODULE "peer"

#define PEER_RX_BATCH 16
#define PEER_RX_SIZE 2048
#define PEER_TX_BATCH 32

struct rtc_peer {
    rtc_env env;
    rtc_loop *loop;
    rtc_pc *pc;
    rtc_udp *udp;
    rtc_addr local;
    rtc_timer timer;
    rtc_peer_callbacks cb;
    bool draining, dead, watched;
    int resolving; /* outstanding async resolutions (they hold a pointer to us) */
    rtc_udp_tx tx[PEER_TX_BATCH];
    uint8_t *txbuf; /* PEER_TX_BATCH * 1500-ish copies: transmit data is borrowed */
    size_t ntx;
    uint8_t rxbuf[PEER_RX_BATCH][PEER_RX_SIZE];
    peer_stream *streams[RTC_PC_MAX_ICE_SERVERS]; /* TURN over TCP/TLS */
    char *tls_ca_file;
    bool tls_insecure;
};

#define PEER_TX_SLOT 2048

static void peer_destroy(rtc_peer *p);
static bool drain(rtc_peer *p);
static void reap_streams(rtc_peer *p);
static void stream_write(rtc_peer *p, const rtc_pc_transmit *t);
static void peer_detach(rtc_peer *p);

static void on_timer(rtc_loop *l, rtc_timer *t, void *ud) {
    rtc_peer *p = ud;
    rtc_pc_handle_timeout(p->pc, rtc_loop_now(l));
    drain(p);
}

/* Run the drain from the loop soon (never from inside the caller's call). */
static void schedule(rtc_peer *p) {
    if (!p->draining) rtc_loop_timer_start(p->loop, &p->timer, 0, on_timer, p);
}

/* Give the core the current time before a mutation that takes none. */
static void touch(rtc_peer *p) { rtc_pc_handle_timeout(p->pc, rtc_net_now()); }

static void flush_streams(rtc_peer *p) {
    for (size_t i = 0; i < RTC_PC_MAX_ICE_SERVERS; i++) peer_stream_flush(p->streams[i]);
}

static void flush_tx(rtc_peer *p) {
    size_t off = 0;
    while (off < p->ntx) {
        int n = rtc_udp_send_batch(p->udp, p->tx + off, p->ntx - off);
        if (n <= 0) break; /* socket buffer full: UDP is lossy, the layers retransmit */
        off += (size_t)n;
    }
    p->ntx = 0;
}

struct resolve_ctx {
    rtc_peer *p;
    char name[256];
};

static void on_resolved(rtc_loop *l, int result, const rtc_addr *addrs, void *ud) {
    struct resolve_ctx *c = ud;
    rtc_peer *p = c->p;
    p->resolving--;
    if (l && !p->dead) {
        rtc_pc_resolved(p->pc, c->name, result > 0 ? &addrs[0] : NULL);
        schedule(p);
    }
    rtc_free(&p->env, c, sizeof *c);
    if (p->dead && p->resolving == 0 && !p->draining) peer_destroy(p);
}

/* ---- TURN streams ---- */

static peer_stream **stream_slot(rtc_peer *p, uint32_t id) {
    return id >= 1 && id <= RTC_PC_MAX_ICE_SERVERS ? &p->streams[id - 1] : NULL;
}

/* Report dead streams to the core and free them. Only from drain() or a stream's own
** callback (both are places where no stream code is below us on the stack but that one). */
static void reap_streams(rtc_peer *p) {
    for (size_t i = 0; i < RTC_PC_MAX_ICE_SERVERS; i++) {
        peer_stream *s = p->streams[i];
        if (!s || !peer_stream_dead(s)) continue;
        p->streams[i] = NULL;
        rtc_pc_relay_stream_closed(p->pc, rtc_net_now(), (uint32_t)(i + 1));
        peer_stream_free(s);
    }
}

static void stream_write(rtc_peer *p, const rtc_pc_transmit *t) {
    peer_stream **slot = stream_slot(p, t->stream);
    if (!slot || !*slot) return; /* not opened, or already gone: a lost message */
    peer_stream_write(*slot, t->data, t->len); /* AGAIN: queue full, lost; CLOSED: reaped */
}

static void on_stream(peer_stream *s, void *ud) {
    rtc_peer *p = ud;
    uint32_t id = peer_stream_id(s);
    rtc_time now = rtc_loop_now(p->loop);
    /* Bounded: 64 reads of up to 32 KiB per wake-up; level-triggered readiness brings us
    ** back for the rest (TLS records already decrypted are read in the same loop). */
    uint8_t *buf = (uint8_t *)p->rxbuf; /* the datagram batch buffer, free between reads */
    for (int i = 0; i < 64; i++) {
        int n = peer_stream_read(s, buf, sizeof p->rxbuf);
        if (n <= 0) break;
        if (rtc_pc_relay_stream_input(p->pc, now, id, buf, (size_t)n) == RTC_ERR_PARSE) {
            /* garbage from the server: the core failed the relay; drop the connection */
            peer_stream_free(s);
            *stream_slot(p, id) = NULL;
            break;
        }
    }
    drain(p); /* reaps s if it died */
}

static void open_stream(rtc_peer *p, const rtc_pc_event *e) {
    peer_stream **slot = stream_slot(p, e->stream);
    if (!slot || *slot) return;
    peer_stream_config sc;
    memset(&sc, 0, sizeof sc);
    sc.id = e->stream;
    sc.server = e->address;
    sc.tls = e->tls;
    sc.name = e->name;
    sc.ca_file = p->tls_ca_file;
    sc.no_verify = p->tls_insecure;
    if (peer_stream_new(slot, p->loop, &sc, &p->env, on_stream, p) != RTC_OK) {
        *slot = NULL;
        rtc_pc_relay_stream_closed(p->pc, rtc_net_now(), e->stream);
    }
}

static void dispatch(rtc_peer *p, const rtc_pc_event *e) {
    const rtc_peer_callbacks *cb = &p->cb;
    switch (e->type) {
    case RTC_PC_EV_ICE_CANDIDATE:
        if (cb->on_ice_candidate)
            cb->on_ice_candidate(p, e->candidate, e->sdp_mid, e->sdp_mline_index, cb->ud);
        break;
    case RTC_PC_EV_ICE_GATHERING_STATE_CHANGE:
        if (cb->on_ice_gathering_state_change) cb->on_ice_gathering_state_change(p, e->state, cb->ud);
        break;
    case RTC_PC_EV_ICE_CONNECTION_STATE_CHANGE:
        if (cb->on_ice_connection_state_change)
            cb->on_ice_connection_state_change(p, e->state, cb->ud);
        break;
    case RTC_PC_EV_CONNECTION_STATE_CHANGE:
        if (cb->on_connection_state_change)
            cb->on_connection_state_change(p, e->state, e->error, e->what, cb->ud);
        break;
    case RTC_PC_EV_SIGNALING_STATE_CHANGE:
        if (cb->on_signaling_state_change) cb->on_signaling_state_change(p, e->state, cb->ud);
        break;
    case RTC_PC_EV_NEGOTIATION_NEEDED:
        if (cb->on_negotiation_needed) cb->on_negotiation_needed(p, cb->ud);
        break;
    case RTC_PC_EV_DATA_CHANNEL:
        if (cb->on_data_channel) cb->on_data_channel(p, e->channel, &e->info, cb->ud);
        break;
    case RTC_PC_EV_DC_OPEN:
        if (cb->on_open) cb->on_open(p, e->channel, cb->ud);
        break;
    case RTC_PC_EV_DC_MESSAGE:
        if (cb->on_message) cb->on_message(p, e->channel, e->binary, e->data, e->len, cb->ud);
        break;
    case RTC_PC_EV_DC_BUFFERED_AMOUNT_LOW:
        if (cb->on_buffered_amount_low) cb->on_buffered_amount_low(p, e->channel, cb->ud);
        break;
    case RTC_PC_EV_DC_CLOSING:
        if (cb->on_closing) cb->on_closing(p, e->channel, cb->ud);
        break;
    case RTC_PC_EV_DC_CLOSE:
        if (cb->on_close) cb->on_close(p, e->channel, cb->ud);
        break;
    case RTC_PC_EV_DC_ERROR:
        if (cb->on_error) cb->on_error(p, e->channel, e->error, e->what, cb->ud);
        break;
    case RTC_PC_EV_RELAY_STREAM:
        open_stream(p, e);
        break;
    case RTC_PC_EV_RESOLVE: {
        struct resolve_ctx *c = rtc_calloc(&p->env, sizeof *c);
        if (!c) {
            rtc_pc_resolved(p->pc, e->name, NULL);
            break;
        }
        c->p = p;
        snprintf(c->name, sizeof c->name, "%s", e->name);
        p->resolving++;
        if (rtc_net_resolve_async(p->loop, c->name, 0, RTC_RESOLVE_V4_FIRST, on_resolved, c) != RTC_OK) {
            p->resolving--;
            rtc_pc_resolved(p->pc, c->name, NULL);
            rtc_free(&p->env, c, sizeof *c);
        }
        break;
    }
    }
}

/* Returns false when the peer was freed (from a callback) and must not be touched. */
static bool drain(rtc_peer *p) {
    if (p->draining) return true;
    p->draining = true;
    reap_streams(p);
    rtc_pc_output o;
    for (int guard = 0; guard < 1000000 && !p->dead; guard++) {
        if (rtc_pc_poll_output(p->pc, &o) == RTC_PC_OUT_TIMEOUT) break;
        if (o.kind == RTC_PC_OUT_TRANSMIT && o.transmit.stream) {
            stream_write(p, &o.transmit);
        } else if (o.kind == RTC_PC_OUT_TRANSMIT) {
            if (o.transmit.len > PEER_TX_SLOT) continue;
            if (p->ntx == PEER_TX_BATCH) flush_tx(p);
            uint8_t *slot = p->txbuf + p->ntx * PEER_TX_SLOT;
            memcpy(slot, o.transmit.data, o.transmit.len);
            rtc_udp_tx *t = &p->tx[p->ntx++];
            memset(t, 0, sizeof *t);
            t->data = slot;
            t->len = o.transmit.len;
            t->dst = o.transmit.dst;
            t->src = o.transmit.src;
            t->src.port = 0;
        } else {
            flush_tx(p); /* keep order between sends and what the callback may send */
            dispatch(p, &o.event);
        }
    }
    flush_tx(p);
    flush_streams(p);
    p->draining = false;
    if (p->dead) {
        if (p->resolving == 0)
            peer_destroy(p);
        else
            peer_detach(p); /* the last resolver callback frees it */
        return false;
    }
    /* a stream that died while writing is reported from the next drain, right away */
    bool dead_stream = false;
    for (size_t i = 0; i < RTC_PC_MAX_ICE_SERVERS; i++)
        if (p->streams[i] && peer_stream_dead(p->streams[i])) dead_stream = true;
    rtc_loop_timer_start(p->loop, &p->timer, dead_stream ? 0 : rtc_pc_next_timeout(p->pc), on_timer, p);
    return true;
}

static void peer_detach(rtc_peer *p) {
    if (p->watched) rtc_loop_unwatch(p->loop, rtc_udp_fd(p->udp));
    p->watched = false;
    for (size_t i = 0; i < RTC_PC_MAX_ICE_SERVERS; i++) {
        peer_stream_free(p->streams[i]);
        p->streams[i] = NULL;
    }
    rtc_loop_timer_stop(p->loop, &p->timer);
}

static void on_readable(rtc_loop *l, int fd, unsigned events, void *ud) {
    rtc_peer *p = ud;
    rtc_udp_rx rx[PEER_RX_BATCH];
    for (int round = 0; round < 8; round++) {
        for (int i = 0; i < PEER_RX_BATCH; i++) {
            memset(&rx[i], 0, sizeof rx[i]);
            rx[i].buf = p->rxbuf[i];
            rx[i].cap = PEER_RX_SIZE;
        }
        int n = rtc_udp_recv_batch(p->udp, rx, PEER_RX_BATCH);
        if (n <= 0) break;
        rtc_time now = rtc_loop_now(l);
        for (int i = 0; i < n; i++) {
            if (rx[i].truncated) continue;
            rtc_addr dst = rx[i].dst;
            if (rtc_addr_is_any(&dst) || dst.family == 0) dst = p->local;
            dst.port = p->local.port;
            rtc_pc_handle_packet(p->pc, now, &rx[i].src, &dst, rx[i].buf, rx[i].len);
        }
        if (!drain(p) || n < PEER_RX_BATCH) break;
    }
}

int rtc_peer_new(rtc_peer **out, rtc_loop *loop, const rtc_peer_config *cfg,
                 const rtc_peer_callbacks *cb, const rtc_env *env) {
    if (!out || !loop) return RTC_ERR_INVALID;
    *out = NULL;
    rtc_peer_config def;
    if (!cfg) {
        memset(&def, 0, sizeof def);
        cfg = &def;
    }
    rtc_env e;
    rtc_env_copy(&e, env);
    rtc_peer *p = rtc_calloc(&e, sizeof *p);
    if (!p) return RTC_ERR_NOMEM;
    p->env = e;
    p->loop = loop;
    if (cb) p->cb = *cb;
    rtc_timer_init(&p->timer);
    int rc = RTC_ERR_NOMEM;
    p->txbuf = rtc_calloc(&p->env, PEER_TX_BATCH * PEER_TX_SLOT);
    if (!p->txbuf) goto fail;
    p->tls_insecure = cfg->tls_insecure;
    if (cfg->tls_ca_file && !(p->tls_ca_file = rtc_strdup(&p->env, cfg->tls_ca_file))) goto fail;
    rc = rtc_pc_new(&p->pc, &cfg->pc, env);
    if (rc < 0) goto fail;
    rtc_udp_config uc;
    memset(&uc, 0, sizeof uc);
    uc.bind = cfg->bind;
    if (!uc.bind.family) uc.bind.family = RTC_AF_INET;
    bool wildcard = rtc_addr_is_any(&uc.bind);
    uc.pktinfo = wildcard;
    rc = rtc_udp_new(&p->udp, &uc, &p->env);
    if (rc < 0) goto fail;
    rtc_udp_local_addr(p->udp, &p->local);
    if (wildcard) {
        rtc_iface_addr ifs[32];
        unsigned fl = RTC_IFACE_NO_IPV6 | (cfg->include_loopback ? RTC_IFACE_LOOPBACK : 0);
        int n = rtc_net_interfaces(ifs, 32, fl);
        for (int i = 0; i < n && i < 32; i++) {
            rtc_addr a = ifs[i].addr;
            a.port = p->local.port;
            rtc_pc_add_local_address(p->pc, &a);
        }
    } else {
        rtc_pc_add_local_address(p->pc, &p->local);
    }
    rc = rtc_loop_watch(loop, rtc_udp_fd(p->udp), RTC_LOOP_READ, on_readable, p);
    if (rc < 0) goto fail;
    p->watched = true;
    *out = p;
    return RTC_OK;
fail:
    peer_destroy(p);
    return rc;
}

static void peer_destroy(rtc_peer *p) {
    peer_detach(p);
    rtc_udp_free(p->udp);
    rtc_pc_free(p->pc);
    if (p->txbuf) rtc_free(&p->env, p->txbuf, PEER_TX_BATCH * PEER_TX_SLOT);
    rtc_strfree(&p->env, p->tls_ca_file);
    rtc_env e = p->env;
    rtc_free(&e, p, sizeof *p);
}

void rtc_peer_free(rtc_peer *p) {
    if (!p || p->dead) return;
    /* close_notify goes out now, synchronously: no callback runs for it */
    rtc_pc_close(p->pc);
    rtc_pc_output o;
    for (int i = 0; i < 64 && rtc_pc_poll_output(p->pc, &o) != RTC_PC_OUT_TIMEOUT; i++)
        if (o.kind == RTC_PC_OUT_TRANSMIT && o.transmit.stream) {
            stream_write(p, &o.transmit); /* best effort: the connection closes next */
        } else if (o.kind == RTC_PC_OUT_TRANSMIT) {
            rtc_addr src = o.transmit.src;
            rtc_udp_tx t = {.data = o.transmit.data, .len = o.transmit.len, .dst = o.transmit.dst, .src = src};
            t.src.port = 0;
            rtc_udp_send_batch(p->udp, &t, 1);
        }
    flush_streams(p);
    p->dead = true;
    if (!p->draining && p->resolving == 0) peer_destroy(p);
    else if (!p->draining)
        peer_detach(p); /* resolutions still hold a pointer: the last one frees us */
}

rtc_pc *rtc_peer_pc(rtc_peer *p) { return p ? p->pc : NULL; }
void rtc_peer_local_addr(const rtc_peer *p, rtc_addr *out) {
    if (p && out) *out = p->local;
}

#define WRAP(expr)                                                                         \
    do {                                                                                   \
        if (!p || p->dead) return RTC_ERR_INVALID;                                         \
        touch(p);                                                                          \
        int rc_ = (expr);                                                                  \
        schedule(p);                                                                       \
        return rc_;                                                                        \
    } while (0)

int rtc_peer_create_offer(rtc_peer *p, char *buf, size_t size) { WRAP(rtc_pc_create_offer(p->pc, buf, size)); }
int rtc_peer_create_answer(rtc_peer *p, char *buf, size_t size) { WRAP(rtc_pc_create_answer(p->pc, buf, size)); }
int rtc_peer_set_local_description(rtc_peer *p, rtc_pc_sdp_type type, const char *sdp) {
    WRAP(rtc_pc_set_local_description(p->pc, type, sdp));
}
int rtc_peer_set_remote_description(rtc_peer *p, rtc_pc_sdp_type type, const char *sdp, size_t len) {
    WRAP(rtc_pc_set_remote_description(p->pc, type, sdp, len));
}
int rtc_peer_add_ice_candidate(rtc_peer *p, const char *candidate, const char *mid, int idx) {
    WRAP(rtc_pc_add_ice_candidate(p->pc, candidate, mid, idx));
}
int rtc_peer_create_data_channel(rtc_peer *p, const char *label, const rtc_pc_dc_init *init,
                                 uint32_t *channel) {
    WRAP(rtc_pc_create_data_channel(p->pc, label, init, channel));
}
int rtc_peer_send(rtc_peer *p, uint32_t channel, bool binary, const uint8_t *data, size_t len) {
    WRAP(rtc_pc_dc_send(p->pc, channel, binary, data, len));
}
int rtc_peer_close_channel(rtc_peer *p, uint32_t channel) { WRAP(rtc_pc_dc_close(p->pc, channel)); }
int rtc_peer_set_buffered_amount_low_threshold(rtc_peer *p, uint32_t channel, size_t threshold) {
    WRAP(rtc_pc_dc_set_buffered_amount_low_threshold(p->pc, channel, threshold));
}
int rtc_peer_close(rtc_peer *p) { WRAP(rtc_pc_close(p->pc)); }

size_t rtc_peer_buffered_amount(const rtc_peer *p, uint32_t channel) {
    return p ? rtc_pc_dc_buffered_amount(p->pc, channel) : 0;
}
void rtc_peer_get_stats(const rtc_peer *p, rtc_pc_stats *out) {
    if (p) rtc_pc_get_stats(p->pc, out);
}
