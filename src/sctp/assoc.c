/*
** The association: public API, handshake (RFC 9260 §5), shutdown and abort (§9),
** heartbeats (§8.3), timers, packet dispatch and the packet builder.
**
** State diagram (RFC 9260 §4, the part we implement; no restart):
**
**   CLOSED --connect/INIT--> COOKIE_WAIT --INIT-ACK/COOKIE-ECHO--> COOKIE_ECHOED
**     |   (peer INIT: answer INIT-ACK with a signed cookie, keep no state)    |
**     +--valid COOKIE-ECHO/COOKIE-ACK--> ESTABLISHED <--COOKIE-ACK------------+
**                                         |  shutdown()            peer SHUTDOWN
**                                  SHUTDOWN_PENDING               SHUTDOWN_RECEIVED
**                                  (all acked)|SHUTDOWN    (all acked)|SHUTDOWN-ACK
**                                  SHUTDOWN_SENT                  SHUTDOWN_ACK_SENT
**                                    SHUTDOWN-ACK|SHUTDOWN-COMPLETE  SHUTDOWN-COMPLETE|
**                                             +-------> DONE <------+
** In COOKIE_WAIT and COOKIE_ECHOED a peer INIT (the INIT collision every WebRTC pair
** goes through) is answered with our own tag and initial TSN unchanged (§5.2.1), so
** whichever COOKIE-ECHO arrives first establishes the same association on both sides.
*/
#define LOG_MODULE "sctp"
#include <string.h>

#include "sctp/sctp_int.h"

static rtc_time t_add(rtc_time a, rtc_time b) {
    if (a == RTC_TIME_NEVER || b == RTC_TIME_NEVER) return RTC_TIME_NEVER;
    if (b > 0 && a > RTC_TIME_NEVER - b) return RTC_TIME_NEVER;
    return a + b;
}

void rtc_sctp_config_default(rtc_sctp_config *c) {
    memset(c, 0, sizeof *c);
    c->local_port = 5000;
    c->remote_port = 5000;
    c->mtu = 1160;
    c->max_message_size = 256 * 1024;
    c->recv_window = 1024 * 1024;
    c->send_buffer = 4 * 1024 * 1024;
    c->rto_initial = RTC_MS(500);
    c->rto_min = RTC_MS(200);
    c->rto_max = RTC_SEC(10);
    c->delayed_ack = RTC_MS(100);
    c->heartbeat_interval = RTC_SEC(30);
    c->cookie_lifetime = RTC_SEC(60);
    c->max_retransmits = 10;
    c->max_init_retransmits = 8;
    c->zero_checksum = true;
}

rtc_sctp_send_opts rtc_sctp_send_opts_reliable(uint16_t stream, uint32_t ppid) {
    rtc_sctp_send_opts o;
    memset(&o, 0, sizeof o);
    o.stream = stream;
    o.ppid = ppid;
    o.max_retransmits = -1;
    o.max_lifetime_ms = -1;
    return o;
}

static uint32_t random_nonzero(rtc_sctp *s) {
    uint32_t v;
    do v = rtc_random_u32(&s->env);
    while (v == 0);
    return v;
}

int rtc_sctp_new(rtc_sctp **out, const rtc_sctp_config *cfg, const rtc_env *env) {
    if (!out) return RTC_ERR_INVALID;
    *out = NULL;
    rtc_sctp_config c;
    rtc_sctp_config_default(&c);
    if (cfg) {
        rtc_sctp_config d = c;
        c = *cfg;
        if (!c.mtu) c.mtu = d.mtu;
        if (!c.max_message_size) c.max_message_size = d.max_message_size;
        if (!c.recv_window) c.recv_window = d.recv_window;
        if (!c.send_buffer) c.send_buffer = d.send_buffer;
        if (c.rto_initial <= 0) c.rto_initial = d.rto_initial;
        if (c.rto_min <= 0) c.rto_min = d.rto_min;
        if (c.rto_max <= 0) c.rto_max = d.rto_max;
        if (c.delayed_ack <= 0) c.delayed_ack = d.delayed_ack;
        if (c.heartbeat_interval <= 0) c.heartbeat_interval = d.heartbeat_interval;
        if (c.cookie_lifetime <= 0) c.cookie_lifetime = d.cookie_lifetime;
        if (!c.max_retransmits) c.max_retransmits = d.max_retransmits;
        if (!c.max_init_retransmits) c.max_init_retransmits = d.max_init_retransmits;
    }
    if (c.mtu < 256 || c.mtu > 65535 || c.rto_min > c.rto_max) return RTC_ERR_INVALID;
    if (c.max_message_size > (1u << 30)) return RTC_ERR_INVALID;
    /* A message is delivered whole, so the receive buffer must hold the largest one
    ** plus some fragments of the next, or a legitimate peer could deadlock us. */
    uint64_t need = (uint64_t)c.max_message_size + 8u * c.mtu;
    if (c.recv_window < need) c.recv_window = (uint32_t)RTC_MIN(need, 0x7fffffffu);
    if (c.rto_initial < c.rto_min) c.rto_initial = c.rto_min;
    if (c.rto_initial > c.rto_max) c.rto_initial = c.rto_max;

    rtc_env e;
    rtc_env_copy(&e, env);
    rtc_sctp *s = rtc_calloc(&e, sizeof *s);
    if (!s) return RTC_ERR_NOMEM;
    s->env = e;
    s->cfg = c;
    s->pkt = rtc_calloc(&e, c.mtu);
    if (!s->pkt) {
        rtc_free(&e, s, sizeof *s);
        return RTC_ERR_NOMEM;
    }
    rtc_random(&s->env, s->secret, sizeof s->secret);
    s->state = RTC_SCTP_CLOSED;
    s->t1_at = s->t2_at = s->t3_at = s->sack_at = s->hb_at = s->reconf_at = RTC_TIME_NEVER;
    s->rto = c.rto_initial;
    s->out_streams = RTC_SCTP_MAX_STREAMS;
    *out = s;
    return RTC_OK;
}

static void ev_free(rtc_sctp *s, ev_node *n) {
    if (!n) return;
    if (n->msg) rx_msg_free(s, n->msg); /* the node is inside the message */
    else rtc_free(&s->env, n, sizeof *n);
}

void rtc_sctp_free(rtc_sctp *s) {
    if (!s) return;
    tx_free_all(s);
    rx_free_all(s);
    for (uint32_t i = 0; i < s->nstreams; i++) {
        stream *st = s->streams[i];
        while (st->pending) {
            rx_msg *m = st->pending;
            st->pending = m->next;
            rx_msg_free(s, m);
        }
        rtc_free(&s->env, st, sizeof *st);
    }
    rtc_free(&s->env, s->streams, s->cap_streams * sizeof *s->streams);
    while (s->ctl_head) {
        ctl_item *c = s->ctl_head;
        s->ctl_head = c->next;
        rtc_free(&s->env, c, sizeof *c + c->len);
    }
    while (s->ev_head) {
        ev_node *n = s->ev_head;
        s->ev_head = n->next;
        ev_free(s, n);
    }
    ev_free(s, s->ev_last);
    rtc_free(&s->env, s->peer_cookie, s->peer_cookie_len);
    rtc_free(&s->env, s->reconf_req_ids, 0);
    rtc_free(&s->env, s->deferred_ids, 0);
    rtc_free(&s->env, s->pkt, s->cfg.mtu);
    sctp_buf_flush(s);
    rtc_env e = s->env;
    rtc_free(&e, s, sizeof *s);
}

/* ---- recycled message buffers ---------------------------------------------------- */

#define BUF_MIN_CACHE 8192
#define BUF_MAX_CACHE (300 * 1024)

void *sctp_buf_get(rtc_sctp *s, size_t n, size_t *cap) {
    if (n >= BUF_MIN_CACHE) {
        for (size_t i = 0; i < RTC_ARRAY_LEN(s->bufcache); i++) {
            size_t c = s->bufcache[i].cap;
            if (s->bufcache[i].p && c >= n && c <= 2 * n) {
                void *p = s->bufcache[i].p;
                s->bufcache[i].p = NULL;
                *cap = c;
                return p;
            }
        }
    }
    *cap = n;
    return rtc_realloc(&s->env, NULL, 0, n);
}

void sctp_buf_put(rtc_sctp *s, void *p, size_t cap) {
    if (!p) return;
    if (cap >= BUF_MIN_CACHE && cap <= BUF_MAX_CACHE) {
        for (size_t i = 0; i < RTC_ARRAY_LEN(s->bufcache); i++) {
            if (!s->bufcache[i].p) {
                s->bufcache[i].p = p;
                s->bufcache[i].cap = cap;
                return;
            }
        }
    }
    rtc_free(&s->env, p, cap);
}

void sctp_buf_flush(rtc_sctp *s) {
    for (size_t i = 0; i < RTC_ARRAY_LEN(s->bufcache); i++) {
        rtc_free(&s->env, s->bufcache[i].p, s->bufcache[i].cap);
        s->bufcache[i].p = NULL;
    }
}

/* The caller's clock is monotonic, but a layer above may pass a stale `now` (the data
** channel manager answers an OPEN from inside its poll, with the time of its last
** call). Taking it would arm timers in the past: a spurious T3 at once, cwnd collapsed
** to one MTU and ssthresh to its floor for the rest of a transfer. Never go back. */
static void set_now(rtc_sctp *s, rtc_time now) {
    if (!s->have_now || now > s->now) s->now = now;
    s->have_now = true;
}

/* ---- streams --------------------------------------------------------------------- */

stream *sctp_stream(rtc_sctp *s, uint16_t id, bool create) {
    uint32_t lo = 0, hi = s->nstreams;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (s->streams[mid]->id < id) lo = mid + 1;
        else hi = mid;
    }
    if (lo < s->nstreams && s->streams[lo]->id == id) return s->streams[lo];
    if (!create) return NULL;
    if (s->nstreams == s->cap_streams) {
        uint32_t nc = s->cap_streams ? s->cap_streams * 2 : 8;
        stream **ns = rtc_realloc(&s->env, s->streams, s->cap_streams * sizeof *ns,
                                  nc * sizeof *ns);
        if (!ns) return NULL;
        s->streams = ns;
        s->cap_streams = nc;
    }
    stream *st = rtc_calloc(&s->env, sizeof *st);
    if (!st) return NULL;
    st->id = id;
    memmove(&s->streams[lo + 1], &s->streams[lo], (s->nstreams - lo) * sizeof *s->streams);
    s->streams[lo] = st;
    s->nstreams++;
    return st;
}

/* ---- output queues --------------------------------------------------------------- */

int sctp_ctl_push(rtc_sctp *s, const uint8_t *chunk, size_t len, uint32_t vtag, bool alone,
                  bool needs_crc) {
    if (s->nctl >= CTL_MAX || len + SCTP_COMMON_HDR > s->cfg.mtu) {
        s->st.dropped_chunks++;
        return RTC_ERR_NOMEM;
    }
    ctl_item *c = rtc_realloc(&s->env, NULL, 0, sizeof *c + len);
    if (!c) return RTC_ERR_NOMEM;
    c->next = NULL;
    c->vtag = vtag;
    c->t_bit_pkt = false;
    c->alone = alone;
    c->needs_crc = needs_crc;
    c->len = (uint16_t)len;
    memcpy(c->data, chunk, len);
    if (s->ctl_tail) s->ctl_tail->next = c;
    else s->ctl_head = c;
    s->ctl_tail = c;
    s->nctl++;
    return RTC_OK;
}

/* Drops queued control chunks of one type (a newer copy replaces them). */
static void ctl_drop_type(rtc_sctp *s, uint8_t type) {
    ctl_item **pp = &s->ctl_head, *last = NULL;
    while (*pp) {
        ctl_item *c = *pp;
        if (c->len && c->data[0] == type) {
            *pp = c->next;
            rtc_free(&s->env, c, sizeof *c + c->len);
            s->nctl--;
        } else {
            last = c;
            pp = &c->next;
        }
    }
    s->ctl_tail = last;
}

void sctp_event_push(rtc_sctp *s, const rtc_sctp_event *ev, rx_msg *msg) {
    if (!msg && s->nev_nonmsg >= EV_MAX_NONMSG) {
        RTC_LOGW(&s->env, "event queue full, dropping event %d", ev->kind);
        return;
    }
    ev_node *n = msg ? &msg->node : rtc_calloc(&s->env, sizeof *n);
    if (!n) return;
    memset(n, 0, sizeof *n);
    n->ev = *ev;
    n->msg = msg;
    if (!msg) s->nev_nonmsg++;
    if (s->ev_tail) s->ev_tail->next = n;
    else s->ev_head = n;
    s->ev_tail = n;
}

static void emit(rtc_sctp *s, rtc_sctp_event_kind k, uint16_t stream) {
    rtc_sctp_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = k;
    ev.stream = stream;
    sctp_event_push(s, &ev, NULL);
}

int rtc_sctp_poll_event(rtc_sctp *s, rtc_sctp_event *ev) {
    if (!s || !ev) return 0;
    if (s->ev_last) {
        ev_free(s, s->ev_last);
        s->ev_last = NULL;
    }
    ev_node *n = s->ev_head;
    if (!n) return 0;
    s->ev_head = n->next;
    if (!s->ev_head) s->ev_tail = NULL;
    if (!n->msg) s->nev_nonmsg--;
    *ev = n->ev;
    if (n->msg) {
        ev->data = n->msg->data;
        ev->len = n->msg->len;
    }
    s->ev_last = n;
    return 1;
}

/* ---- chunk writers --------------------------------------------------------------- */

static void write_init_params(rtc_sctp *s, rtc_writer *w) {
    /* RFC 5061 §4.2.7 Supported Extensions: RE-CONFIG (RFC 6525) and FORWARD-TSN. */
    rtc_write_u16(w, PT_SUPPORTED_EXT);
    rtc_write_u16(w, 6);
    rtc_write_u8(w, CT_RECONFIG);
    rtc_write_u8(w, CT_FORWARD_TSN);
    rtc_write_u16(w, 0);
    /* RFC 3758 §3.1 Forward-TSN-Supported. */
    rtc_write_u16(w, PT_FORWARD_TSN_SUPP);
    rtc_write_u16(w, 4);
    if (s->cfg.zero_checksum) { /* RFC 9653 §4: method 1 = DTLS */
        rtc_write_u16(w, PT_ZERO_CHECKSUM);
        rtc_write_u16(w, 8);
        rtc_write_u32(w, ZERO_CSUM_METHOD_DTLS);
    }
}

static void queue_init(rtc_sctp *s) {
    uint8_t b[64];
    rtc_writer w;
    rtc_writer_init(&w, b, sizeof b);
    rtc_write_u8(&w, CT_INIT);
    rtc_write_u8(&w, 0);
    size_t lo = rtc_write_reserve(&w, 2);
    rtc_write_u32(&w, s->my_vtag);
    rtc_write_u32(&w, s->cfg.recv_window);
    rtc_write_u16(&w, RTC_SCTP_MAX_STREAMS);
    rtc_write_u16(&w, RTC_SCTP_MAX_STREAMS);
    rtc_write_u32(&w, s->my_itsn);
    write_init_params(s, &w);
    rtc_write_u16_at(&w, lo, (uint16_t)w.len);
    ctl_drop_type(s, CT_INIT);
    sctp_ctl_push(s, b, w.len, 0, true, true);
}

static void queue_simple(rtc_sctp *s, uint8_t type, uint8_t flags) {
    uint8_t b[4] = {type, flags, 0, 4};
    sctp_ctl_push(s, b, 4, s->peer_vtag, type == CT_SHUTDOWN_COMPLETE, false);
}

static void queue_shutdown(rtc_sctp *s) {
    uint8_t b[8];
    rtc_writer w;
    rtc_writer_init(&w, b, sizeof b);
    rtc_write_u8(&w, CT_SHUTDOWN);
    rtc_write_u8(&w, 0);
    rtc_write_u16(&w, 8);
    rtc_write_u32(&w, s->rx_cum);
    ctl_drop_type(s, CT_SHUTDOWN);
    sctp_ctl_push(s, b, w.len, s->peer_vtag, false, false);
}

static void queue_abort(rtc_sctp *s, uint16_t cause) {
    uint8_t b[8];
    rtc_writer w;
    rtc_writer_init(&w, b, sizeof b);
    rtc_write_u8(&w, CT_ABORT);
    rtc_write_u8(&w, 0);
    rtc_write_u16(&w, cause ? 8 : 4);
    if (cause) {
        rtc_write_u16(&w, cause);
        rtc_write_u16(&w, 4);
    }
    sctp_ctl_push(s, b, w.len, s->peer_vtag, true, false);
}

static void queue_cookie_echo(rtc_sctp *s) {
    size_t n = 4 + s->peer_cookie_len;
    uint8_t *b = rtc_realloc(&s->env, NULL, 0, n + 3);
    if (!b) return;
    rtc_writer w;
    rtc_writer_init(&w, b, n + 3);
    rtc_write_u8(&w, CT_COOKIE_ECHO);
    rtc_write_u8(&w, 0);
    rtc_write_u16(&w, (uint16_t)n);
    rtc_write_bytes(&w, s->peer_cookie, s->peer_cookie_len);
    rtc_write_fill(&w, 0, (4 - (n & 3)) & 3);
    ctl_drop_type(s, CT_COOKIE_ECHO);
    sctp_ctl_push(s, b, w.len, s->peer_vtag, false, false);
    rtc_free(&s->env, b, n + 3);
}

static void queue_heartbeat(rtc_sctp *s) {
    uint8_t b[24];
    rtc_writer w;
    rtc_writer_init(&w, b, sizeof b);
    s->hb_nonce = rtc_random_u64(&s->env);
    rtc_write_u8(&w, CT_HEARTBEAT);
    rtc_write_u8(&w, 0);
    rtc_write_u16(&w, 24);
    rtc_write_u16(&w, PT_HEARTBEAT_INFO);
    rtc_write_u16(&w, 20);
    rtc_write_u64(&w, (uint64_t)s->now);
    rtc_write_u64(&w, s->hb_nonce);
    sctp_ctl_push(s, b, w.len, s->peer_vtag, false, false);
    s->hb_outstanding = true;
}

/* ---- state changes --------------------------------------------------------------- */

static void stop_timers(rtc_sctp *s) {
    s->t1_at = s->t2_at = s->t3_at = s->sack_at = s->hb_at = s->reconf_at = RTC_TIME_NEVER;
}

static void emit_closed(rtc_sctp *s, rtc_sctp_close_reason why, uint16_t cause) {
    if (s->closed_emitted) return;
    s->closed_emitted = true;
    rtc_sctp_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = RTC_SCTP_EV_CLOSED;
    ev.reason = why;
    ev.error_cause = cause;
    s->nev_nonmsg = 0; /* the final event always gets in */
    sctp_event_push(s, &ev, NULL);
}

void sctp_fail(rtc_sctp *s, rtc_sctp_close_reason why, uint16_t cause, bool send_abort) {
    if (s->state == RTC_SCTP_DONE) return;
    if (send_abort && s->peer_vtag) {
        /* Only the ABORT goes out: drop everything else queued. */
        while (s->ctl_head) {
            ctl_item *c = s->ctl_head;
            s->ctl_head = c->next;
            rtc_free(&s->env, c, sizeof *c + c->len);
        }
        s->ctl_tail = NULL;
        s->nctl = 0;
        queue_abort(s, cause);
    }
    RTC_LOGI(&s->env, "association closed: reason %d cause %u", why, cause);
    s->state = RTC_SCTP_DONE;
    stop_timers(s);
    tx_free_all(s);
    emit_closed(s, why, cause);
}

void sctp_error_hit(rtc_sctp *s) {
    s->err_count++;
    if (s->err_count > s->cfg.max_retransmits) sctp_fail(s, RTC_SCTP_CLOSE_TIMEOUT, 0, true);
}

static void start_hb(rtc_sctp *s) {
    s->hb_outstanding = false;
    s->hb_at = t_add(s->now, s->cfg.heartbeat_interval);
}

static void established(rtc_sctp *s) {
    s->state = RTC_SCTP_ESTABLISHED;
    s->t1_at = RTC_TIME_NEVER;
    s->err_count = 0;
    rtc_free(&s->env, s->peer_cookie, s->peer_cookie_len);
    s->peer_cookie = NULL;
    s->peer_cookie_len = 0;
    start_hb(s);
    emit(s, RTC_SCTP_EV_CONNECTED, 0);
    RTC_LOGI(&s->env, "association established (zero checksum %d)", s->send_zero_csum);
}

static void adopt_peer(rtc_sctp *s, uint32_t peer_vtag, uint32_t peer_itsn, uint32_t arwnd,
                       uint16_t peer_mis, uint8_t flags) {
    s->peer_vtag = peer_vtag;
    s->peer_itsn = peer_itsn;
    s->out_streams = RTC_MIN(peer_mis, RTC_SCTP_MAX_STREAMS);
    s->peer_fwd_tsn = flags & PEER_F_FWD;
    s->peer_reconfig = flags & PEER_F_RECONF;
    s->peer_zero_csum = flags & PEER_F_ZCS;
    /* RFC 9653 §5.2: zero checksums only towards a peer that announced the method. */
    s->send_zero_csum = s->cfg.zero_checksum && s->peer_zero_csum;
    s->reconf_my_seq = s->my_itsn;   /* RFC 6525 §5.1.1 */
    s->reconf_peer_seq = peer_itsn;
    tx_init(s, arwnd);
    rx_init(s, peer_itsn);
}

void sctp_check_shutdown(rtc_sctp *s) {
    if (s->state == RTC_SCTP_SHUTDOWN_PENDING && tx_all_acked(s)) {
        s->state = RTC_SCTP_SHUTDOWN_SENT;
        queue_shutdown(s);
        s->t2_count = 0;
        s->t2_at = t_add(s->now, s->rto);
        s->t3_at = RTC_TIME_NEVER;
    } else if (s->state == RTC_SCTP_SHUTDOWN_RECEIVED && tx_all_acked(s)) {
        s->state = RTC_SCTP_SHUTDOWN_ACK_SENT;
        queue_simple(s, CT_SHUTDOWN_ACK, 0);
        s->t2_count = 0;
        s->t2_at = t_add(s->now, s->rto);
        s->t3_at = RTC_TIME_NEVER;
    }
}

/* ---- public control API ---------------------------------------------------------- */

int rtc_sctp_connect(rtc_sctp *s, rtc_time now) {
    if (!s) return RTC_ERR_INVALID;
    set_now(s, now);
    if (s->state != RTC_SCTP_CLOSED) return RTC_ERR_MISUSE;
    s->connect_called = true;
    s->my_vtag = random_nonzero(s);
    s->my_itsn = rtc_random_u32(&s->env);
    s->state = RTC_SCTP_COOKIE_WAIT;
    queue_init(s);
    s->t1_count = 0;
    s->t1_rto = s->cfg.rto_initial;
    s->t1_at = t_add(now, s->t1_rto);
    return RTC_OK;
}

int rtc_sctp_shutdown(rtc_sctp *s, rtc_time now) {
    if (!s) return RTC_ERR_INVALID;
    set_now(s, now);
    switch (s->state) {
    case RTC_SCTP_DONE: return RTC_ERR_CLOSED;
    case RTC_SCTP_CLOSED:
    case RTC_SCTP_COOKIE_WAIT:
    case RTC_SCTP_COOKIE_ECHOED: sctp_fail(s, RTC_SCTP_CLOSE_LOCAL_ABORT, 0, false); return RTC_OK;
    case RTC_SCTP_ESTABLISHED:
        s->state = RTC_SCTP_SHUTDOWN_PENDING;
        sctp_check_shutdown(s);
        return RTC_OK;
    default: return RTC_OK; /* already shutting down */
    }
}

int rtc_sctp_abort(rtc_sctp *s, rtc_time now) {
    if (!s) return RTC_ERR_INVALID;
    set_now(s, now);
    if (s->state == RTC_SCTP_DONE) return RTC_ERR_CLOSED;
    bool tag_known = s->state >= RTC_SCTP_COOKIE_ECHOED;
    sctp_fail(s, RTC_SCTP_CLOSE_LOCAL_ABORT, EC_USER_ABORT, tag_known);
    return RTC_OK;
}

int rtc_sctp_send(rtc_sctp *s, rtc_time now, const rtc_sctp_send_opts *o, const uint8_t *data,
                  size_t len) {
    if (!s || !o || (!data && len)) return RTC_ERR_INVALID;
    set_now(s, now);
    if (s->state == RTC_SCTP_DONE) return RTC_ERR_CLOSED;
    if (s->state >= RTC_SCTP_SHUTDOWN_PENDING) return RTC_ERR_MISUSE;
    if (len == 0 || o->stream >= RTC_SCTP_MAX_STREAMS) return RTC_ERR_INVALID;
    uint32_t maxm = s->cfg.max_message_size;
    if (s->remote_max_msg && s->remote_max_msg < maxm) maxm = s->remote_max_msg;
    if (len > maxm) return RTC_ERR_INVALID;
    if (s->state == RTC_SCTP_ESTABLISHED && o->stream >= s->out_streams) return RTC_ERR_INVALID;
    return tx_enqueue(s, o, data, len);
}

size_t rtc_sctp_buffered_amount(const rtc_sctp *s, uint16_t id) {
    if (!s) return 0;
    stream *st = sctp_stream((rtc_sctp *)s, id, false);
    return st ? st->buffered : 0;
}

int rtc_sctp_set_buffered_amount_low(rtc_sctp *s, uint16_t id, size_t threshold) {
    if (!s || id >= RTC_SCTP_MAX_STREAMS) return RTC_ERR_INVALID;
    stream *st = sctp_stream(s, id, true);
    if (!st) return RTC_ERR_NOMEM;
    st->low_threshold = threshold;
    st->low_armed = st->buffered > threshold;
    return RTC_OK;
}

int rtc_sctp_set_stream_priority(rtc_sctp *s, uint16_t id, uint16_t priority) {
    if (!s || id >= RTC_SCTP_MAX_STREAMS) return RTC_ERR_INVALID;
    stream *st = sctp_stream(s, id, true);
    if (!st) return RTC_ERR_NOMEM;
    tx_set_weight(s, st, priority);
    return RTC_OK;
}

size_t rtc_sctp_buffered_total(const rtc_sctp *s) { return s ? s->tx_total : 0; }

void rtc_sctp_set_remote_max_message_size(rtc_sctp *s, uint32_t size) {
    if (s) s->remote_max_msg = size;
}

rtc_sctp_state rtc_sctp_get_state(const rtc_sctp *s) { return s ? s->state : RTC_SCTP_DONE; }

void rtc_sctp_get_stats(const rtc_sctp *s, rtc_sctp_stats *st) {
    if (!s || !st) return;
    *st = s->st;
    st->cwnd = s->cwnd;
    st->ssthresh = s->ssthresh;
    st->peer_rwnd = s->peer_rwnd;
    st->flight_size = s->flight;
    st->srtt = s->srtt;
    st->rto = s->rto;
    st->zero_checksum = s->send_zero_csum;
    st->out_streams = s->out_streams;
    st->peer_reconfig = s->peer_reconfig;
    st->peer_forward_tsn = s->peer_fwd_tsn;
}

/* ---- incoming chunks ------------------------------------------------------------- */

typedef struct init_info {
    uint32_t tag, arwnd, itsn;
    uint16_t os, mis;
    uint8_t flags;
    const uint8_t *cookie;
    size_t cookie_len;
} init_info;

/* INIT and INIT-ACK bodies (§3.3.2, §3.3.3). Unknown parameters are skipped. */
static int parse_init(rtc_reader *r, init_info *ii) {
    memset(ii, 0, sizeof *ii);
    ii->tag = rtc_read_u32(r);
    ii->arwnd = rtc_read_u32(r);
    ii->os = rtc_read_u16(r);
    ii->mis = rtc_read_u16(r);
    ii->itsn = rtc_read_u32(r);
    if (r->err) return RTC_ERR_PARSE;
    /* §3.3.2: a zero tag or zero stream count is a protocol violation. */
    if (ii->tag == 0 || ii->os == 0 || ii->mis == 0) return RTC_ERR_PARSE;
    uint16_t type;
    rtc_reader p;
    int more;
    while ((more = sctp_next_param(r, &type, &p)) == 1) {
        switch (type) {
        case PT_SUPPORTED_EXT:
            while (rtc_reader_left(&p)) {
                uint8_t ct = rtc_read_u8(&p);
                if (ct == CT_RECONFIG) ii->flags |= PEER_F_RECONF;
                if (ct == CT_FORWARD_TSN) ii->flags |= PEER_F_FWD;
            }
            break;
        case PT_FORWARD_TSN_SUPP: ii->flags |= PEER_F_FWD; break;
        case PT_ZERO_CHECKSUM:
            if (rtc_reader_left(&p) >= 4 && rtc_read_u32(&p) == ZERO_CSUM_METHOD_DTLS)
                ii->flags |= PEER_F_ZCS;
            break;
        case PT_STATE_COOKIE:
            ii->cookie_len = rtc_reader_left(&p);
            ii->cookie = rtc_read_ptr(&p, ii->cookie_len);
            break;
        default: break;
        }
    }
    return more < 0 ? RTC_ERR_PARSE : RTC_OK;
}

static void handle_init(rtc_sctp *s, rtc_reader *r) {
    init_info ii;
    if (parse_init(r, &ii) != RTC_OK) {
        s->st.dropped_packets++;
        return;
    }
    /* §9.2: an INIT while our SHUTDOWN-ACK is out is dropped (the peer will retry). */
    if (s->state == RTC_SCTP_SHUTDOWN_ACK_SENT || s->state == RTC_SCTP_DONE) return;
    uint32_t tag, itsn;
    if (s->state == RTC_SCTP_CLOSED) {
        /* Passive open: a fresh tag and TSN live only in the signed cookie (§5.1.3). */
        tag = random_nonzero(s);
        itsn = rtc_random_u32(&s->env);
    } else {
        /* §5.2.1 (collision) and §5.2.2: answer with our existing parameters. Restart
        ** (a new peer tag while established) is not supported, the cookie then fails
        ** the tag check of handle_cookie_echo. */
        tag = s->my_vtag;
        itsn = s->my_itsn;
    }
    uint8_t cookie[COOKIE_LEN];
    sctp_cookie_write(s, cookie, tag, itsn, ii.tag, ii.itsn, ii.arwnd, ii.os, ii.mis, ii.flags);
    uint8_t b[160];
    rtc_writer w;
    rtc_writer_init(&w, b, sizeof b);
    rtc_write_u8(&w, CT_INIT_ACK);
    rtc_write_u8(&w, 0);
    size_t lo = rtc_write_reserve(&w, 2);
    rtc_write_u32(&w, tag);
    rtc_write_u32(&w, s->cfg.recv_window);
    rtc_write_u16(&w, RTC_SCTP_MAX_STREAMS);
    rtc_write_u16(&w, RTC_SCTP_MAX_STREAMS);
    rtc_write_u32(&w, itsn);
    rtc_write_u16(&w, PT_STATE_COOKIE);
    rtc_write_u16(&w, 4 + COOKIE_LEN);
    rtc_write_bytes(&w, cookie, COOKIE_LEN);
    write_init_params(s, &w);
    rtc_write_u16_at(&w, lo, (uint16_t)w.len);
    if (w.err) return;
    /* The INIT-ACK goes to the tag of the INIT that asked; a newer INIT replaces it. */
    ctl_drop_type(s, CT_INIT_ACK);
    sctp_ctl_push(s, b, w.len, ii.tag, true, false);
}

static void handle_init_ack(rtc_sctp *s, rtc_reader *r) {
    if (s->state != RTC_SCTP_COOKIE_WAIT) return; /* §5.2.3: discard otherwise */
    init_info ii;
    if (parse_init(r, &ii) != RTC_OK || !ii.cookie || ii.cookie_len == 0 ||
        ii.cookie_len + 4 + SCTP_COMMON_HDR + 3 > s->cfg.mtu) {
        s->st.dropped_packets++;
        return;
    }
    uint8_t *c = rtc_realloc(&s->env, NULL, 0, ii.cookie_len);
    if (!c) return;
    memcpy(c, ii.cookie, ii.cookie_len);
    rtc_free(&s->env, s->peer_cookie, s->peer_cookie_len);
    s->peer_cookie = c;
    s->peer_cookie_len = ii.cookie_len;
    adopt_peer(s, ii.tag, ii.itsn, ii.arwnd, ii.mis, ii.flags);
    s->state = RTC_SCTP_COOKIE_ECHOED;
    ctl_drop_type(s, CT_INIT);
    queue_cookie_echo(s);
    s->t1_count = 0;
    s->t1_rto = s->cfg.rto_initial;
    s->t1_at = t_add(s->now, s->t1_rto);
}

static int handle_cookie_echo(rtc_sctp *s, uint32_t pkt_vtag, rtc_reader *r) {
    cookie_info ci;
    size_t n = rtc_reader_left(r);
    int rc = sctp_cookie_read(s, rtc_read_ptr(r, n), n, &ci);
    if (rc == RTC_ERR_TIMEOUT && pkt_vtag == ci.my_vtag) {
        /* §5.2.6: tell the peer its cookie is stale (measure: its age in µs). */
        uint8_t b[12];
        rtc_writer w;
        rtc_writer_init(&w, b, sizeof b);
        rtc_write_u8(&w, CT_ERROR);
        rtc_write_u8(&w, 0);
        rtc_write_u16(&w, 12);
        rtc_write_u16(&w, EC_STALE_COOKIE);
        rtc_write_u16(&w, 8);
        rtc_write_u32(&w, (uint32_t)RTC_MIN(s->now - ci.ts, (rtc_time)UINT32_MAX));
        sctp_ctl_push(s, b, w.len, ci.peer_vtag, false, false);
    }
    if (rc != RTC_OK || pkt_vtag != ci.my_vtag) {
        s->st.dropped_packets++;
        RTC_LOGD(&s->env, "cookie rejected (%d)", rc);
        return RTC_ERR_AUTH;
    }
    switch (s->state) {
    case RTC_SCTP_CLOSED:
        s->my_vtag = ci.my_vtag;
        s->my_itsn = ci.my_itsn;
        adopt_peer(s, ci.peer_vtag, ci.peer_itsn, ci.peer_arwnd, ci.peer_mis, ci.peer_flags);
        break;
    case RTC_SCTP_COOKIE_WAIT:
    case RTC_SCTP_COOKIE_ECHOED:
        if (ci.my_vtag != s->my_vtag || ci.my_itsn != s->my_itsn) return RTC_ERR_AUTH;
        if (s->state == RTC_SCTP_COOKIE_WAIT || ci.peer_vtag != s->peer_vtag)
            adopt_peer(s, ci.peer_vtag, ci.peer_itsn, ci.peer_arwnd, ci.peer_mis,
                       ci.peer_flags);
        ctl_drop_type(s, CT_INIT);
        ctl_drop_type(s, CT_COOKIE_ECHO);
        break;
    default:
        /* §5.2.4 case D: a duplicate of the cookie that set up this association. */
        if (ci.my_vtag == s->my_vtag && ci.peer_vtag == s->peer_vtag &&
            s->state != RTC_SCTP_DONE)
            queue_simple(s, CT_COOKIE_ACK, 0);
        return RTC_OK;
    }
    queue_simple(s, CT_COOKIE_ACK, 0);
    established(s);
    return RTC_OK;
}

static void handle_heartbeat(rtc_sctp *s, rtc_reader *r) {
    size_t n = rtc_reader_left(r);
    if (n > 512) return; /* an echo we would have to hold; refuse big ones */
    uint8_t b[520];
    rtc_writer w;
    rtc_writer_init(&w, b, sizeof b);
    rtc_write_u8(&w, CT_HEARTBEAT_ACK);
    rtc_write_u8(&w, 0);
    rtc_write_u16(&w, (uint16_t)(4 + n));
    rtc_write_bytes(&w, rtc_read_ptr(r, n), n);
    rtc_write_fill(&w, 0, (4 - (n & 3)) & 3);
    if (!w.err) sctp_ctl_push(s, b, w.len, s->peer_vtag, false, false);
}

static void handle_heartbeat_ack(rtc_sctp *s, rtc_reader *r) {
    if (rtc_read_u16(r) != PT_HEARTBEAT_INFO || rtc_read_u16(r) != 20) return;
    rtc_time ts = (rtc_time)rtc_read_u64(r);
    uint64_t nonce = rtc_read_u64(r);
    if (r->err || !s->hb_outstanding || nonce != s->hb_nonce || ts > s->now) return;
    s->hb_outstanding = false;
    s->err_count = 0;
    tx_rtt_sample(s, s->now - ts);
}

static uint16_t first_cause(rtc_reader *r) {
    if (rtc_reader_left(r) < 4) return 0;
    return rtc_read_u16(r);
}

static bool data_state(const rtc_sctp *s) {
    return s->state >= RTC_SCTP_ESTABLISHED && s->state <= RTC_SCTP_SHUTDOWN_ACK_SENT;
}

static void handle_shutdown(rtc_sctp *s, rtc_reader *r) {
    uint32_t cum = rtc_read_u32(r);
    if (r->err || !data_state(s)) return;
    tx_cum_ack_to(s, cum);
    if (s->state == RTC_SCTP_ESTABLISHED || s->state == RTC_SCTP_SHUTDOWN_PENDING) {
        s->state = RTC_SCTP_SHUTDOWN_RECEIVED;
        s->hb_at = RTC_TIME_NEVER;
    } else if (s->state == RTC_SCTP_SHUTDOWN_SENT) {
        /* §9.2: both sides sent SHUTDOWN: answer with SHUTDOWN-ACK at once. */
        s->state = RTC_SCTP_SHUTDOWN_ACK_SENT;
        ctl_drop_type(s, CT_SHUTDOWN);
        queue_simple(s, CT_SHUTDOWN_ACK, 0);
        s->t2_count = 0;
        s->t2_at = t_add(s->now, s->rto);
        return;
    }
    sctp_check_shutdown(s);
}

/* ---- packet input ---------------------------------------------------------------- */

int rtc_sctp_handle_packet(rtc_sctp *s, rtc_time now, const uint8_t *buf, size_t len) {
    if (!s || (!buf && len)) return RTC_ERR_INVALID;
    set_now(s, now);
    /* The last chunk's padding is not required here (some stacks omit it). */
    if (len < SCTP_COMMON_HDR + 4) {
        s->st.dropped_packets++;
        return RTC_ERR_PARSE;
    }
    rtc_reader r;
    rtc_reader_init(&r, buf, len);
    uint16_t sport = rtc_read_u16(&r), dport = rtc_read_u16(&r);
    uint32_t vtag = rtc_read_u32(&r);
    uint32_t csum = (uint32_t)buf[8] | (uint32_t)buf[9] << 8 | (uint32_t)buf[10] << 16 |
                    (uint32_t)buf[11] << 24;
    rtc_read_skip(&r, 4);
    uint8_t first = buf[12];
    /* RFC 9653 §5.3: a zero checksum is acceptable once we announced it, except on the
    ** INIT, which is sent before the peer can know. */
    if (!(csum == 0 && s->cfg.zero_checksum && first != CT_INIT) &&
        csum != sctp_packet_crc(buf, len)) {
        s->st.dropped_packets++;
        return RTC_ERR_AUTH;
    }
    if (sport != s->cfg.remote_port || dport != s->cfg.local_port) {
        s->st.dropped_packets++;
        return RTC_ERR_AUTH;
    }
    /* Validate the chunk layout before acting on anything (§3.2). */
    {
        rtc_reader v = r;
        unsigned nchunks = 0;
        while (rtc_reader_left(&v)) {
            rtc_read_u8(&v);
            rtc_read_u8(&v);
            uint16_t cl = rtc_read_u16(&v);
            if (v.err || cl < 4 || !rtc_read_skip(&v, cl - 4u)) {
                s->st.dropped_packets++;
                return RTC_ERR_PARSE;
            }
            rtc_read_skip(&v, RTC_MIN((size_t)((4 - (cl & 3)) & 3), rtc_reader_left(&v)));
            nchunks++;
        }
        /* §3.3.2: INIT is alone and carries tag 0; §8.5.1 for the rest. */
        if (first == CT_INIT && (nchunks != 1 || vtag != 0)) {
            s->st.dropped_packets++;
            return RTC_ERR_PARSE;
        }
    }
    if (s->state == RTC_SCTP_DONE) {
        /* §8.4: answer SHUTDOWN-ACK for an association we closed. */
        if (first == CT_SHUTDOWN_ACK) {
            uint8_t b[4] = {CT_SHUTDOWN_COMPLETE, 1, 0, 4};
            sctp_ctl_push(s, b, 4, vtag, true, false);
        }
        return RTC_ERR_CLOSED;
    }
    uint8_t flags1 = buf[13];
    bool tbit_ok = (first == CT_ABORT || first == CT_SHUTDOWN_COMPLETE) && (flags1 & 1);
    if (first == CT_INIT) {
        /* tag 0, checked above */
    } else if (first == CT_COOKIE_ECHO) {
        /* checked against the cookie's tag */
    } else if (tbit_ok) {
        if (!s->peer_vtag || vtag != s->peer_vtag) {
            s->st.dropped_packets++;
            return RTC_ERR_AUTH;
        }
    } else if (s->state == RTC_SCTP_CLOSED || vtag != s->my_vtag) {
        s->st.dropped_packets++;
        return RTC_ERR_AUTH;
    }
    s->st.packets_received++;
    s->st.bytes_received += len;

    bool got_data = false, dup = false, need_sack_now = false;
    int rc = RTC_OK;
    while (rtc_reader_left(&r) && s->state != RTC_SCTP_DONE) {
        uint8_t type = rtc_read_u8(&r);
        uint8_t fl = rtc_read_u8(&r);
        uint16_t cl = rtc_read_u16(&r);
        rtc_reader c = rtc_read_sub(&r, cl - 4u);
        rtc_read_skip(&r, RTC_MIN((size_t)((4 - (cl & 3)) & 3), rtc_reader_left(&r)));
        switch (type) {
        case CT_DATA:
            if (!data_state(s)) break;
            got_data = true;
            {
                int drc = rx_handle_data(s, &c, fl, &dup);
                if (drc < 0 && rc == RTC_OK) rc = drc;
            }
            if (dup) need_sack_now = true;
            break;
        case CT_SACK:
            if (!data_state(s)) break;
            if (tx_handle_sack(s, &c) == RTC_ERR_PARSE) rc = RTC_ERR_PARSE;
            break;
        case CT_INIT: handle_init(s, &c); break;
        case CT_INIT_ACK: handle_init_ack(s, &c); break;
        case CT_COOKIE_ECHO:
            if (handle_cookie_echo(s, vtag, &c) != RTC_OK) return RTC_ERR_AUTH;
            break;
        case CT_COOKIE_ACK:
            if (s->state == RTC_SCTP_COOKIE_ECHOED) {
                ctl_drop_type(s, CT_COOKIE_ECHO);
                established(s);
            }
            break;
        case CT_HEARTBEAT:
            if (data_state(s)) handle_heartbeat(s, &c);
            break;
        case CT_HEARTBEAT_ACK:
            if (data_state(s)) handle_heartbeat_ack(s, &c);
            break;
        case CT_ABORT:
            sctp_fail(s, RTC_SCTP_CLOSE_PEER_ABORT, first_cause(&c), false);
            break;
        case CT_SHUTDOWN: handle_shutdown(s, &c); break;
        case CT_SHUTDOWN_ACK:
            if (s->state == RTC_SCTP_SHUTDOWN_SENT || s->state == RTC_SCTP_SHUTDOWN_ACK_SENT) {
                queue_simple(s, CT_SHUTDOWN_COMPLETE, 0);
                s->state = RTC_SCTP_DONE;
                stop_timers(s);
                tx_free_all(s);
                emit_closed(s, RTC_SCTP_CLOSE_SHUTDOWN, 0);
            } else if (s->state < RTC_SCTP_ESTABLISHED) {
                uint8_t b[4] = {CT_SHUTDOWN_COMPLETE, 1, 0, 4};
                sctp_ctl_push(s, b, 4, vtag, true, false);
            }
            break;
        case CT_SHUTDOWN_COMPLETE:
            if (s->state == RTC_SCTP_SHUTDOWN_ACK_SENT) {
                s->state = RTC_SCTP_DONE;
                stop_timers(s);
                tx_free_all(s);
                emit_closed(s, RTC_SCTP_CLOSE_SHUTDOWN, 0);
            }
            break;
        case CT_ERROR: {
            uint16_t cause = first_cause(&c);
            if (cause == EC_STALE_COOKIE && s->state == RTC_SCTP_COOKIE_ECHOED) {
                /* §5.2.6: start over with a new INIT (cookie lifetime is ours to pick). */
                s->state = RTC_SCTP_COOKIE_WAIT;
                ctl_drop_type(s, CT_COOKIE_ECHO);
                queue_init(s);
                sctp_error_hit(s);
            }
            break;
        }
        case CT_FORWARD_TSN:
            if (!data_state(s)) break;
            got_data = true;
            need_sack_now = true; /* RFC 3758 §3.6: SACK at once */
            if (rx_handle_fwd_tsn(s, &c) == RTC_ERR_PARSE) rc = RTC_ERR_PARSE;
            break;
        case CT_RECONFIG:
            if (!data_state(s)) break;
            if (reconf_handle(s, &c) == RTC_ERR_PARSE) rc = RTC_ERR_PARSE;
            break;
        default:
            /* §3.2: the two high bits say what to do with an unknown chunk. */
            if (!(type & 0x80)) return rc;
            break;
        }
    }
    if (got_data && data_state(s)) {
        s->pkts_since_sack++;
        /* §6.2: SACK at least every second packet with DATA, at once on gaps or
        ** duplicates, otherwise within the delayed-ack time. */
        if (need_sack_now || s->pkts_since_sack >= 2 || s->rx_highest != s->rx_cum ||
            s->state == RTC_SCTP_SHUTDOWN_SENT) {
            s->sack_now = true;
            if (s->state == RTC_SCTP_SHUTDOWN_SENT) queue_shutdown(s);
        } else if (s->sack_at == RTC_TIME_NEVER) {
            s->sack_at = t_add(now, s->cfg.delayed_ack);
        }
    }
    return rc;
}

/* ---- timers ---------------------------------------------------------------------- */

rtc_time rtc_sctp_next_timeout(const rtc_sctp *s) {
    if (!s) return RTC_TIME_NEVER;
    rtc_time t = s->t1_at;
    t = RTC_MIN(t, s->t2_at);
    t = RTC_MIN(t, s->t3_at);
    t = RTC_MIN(t, s->sack_at);
    t = RTC_MIN(t, s->hb_at);
    t = RTC_MIN(t, s->reconf_at);
    return t;
}

int rtc_sctp_handle_timeout(rtc_sctp *s, rtc_time now) {
    if (!s) return RTC_ERR_INVALID;
    set_now(s, now);
    if (s->sack_at <= now) {
        s->sack_at = RTC_TIME_NEVER;
        s->sack_now = true;
    }
    if (s->t1_at <= now) {
        /* §6.3.3-like backoff for INIT and COOKIE-ECHO (T1-init, T1-cookie). */
        s->t1_count++;
        if (s->t1_count > s->cfg.max_init_retransmits) {
            sctp_fail(s, RTC_SCTP_CLOSE_TIMEOUT, 0, s->state == RTC_SCTP_COOKIE_ECHOED);
            return RTC_OK;
        }
        s->t1_rto = RTC_MIN(s->t1_rto * 2, s->cfg.rto_max);
        s->t1_at = t_add(now, s->t1_rto);
        if (s->state == RTC_SCTP_COOKIE_WAIT) queue_init(s);
        else if (s->state == RTC_SCTP_COOKIE_ECHOED) queue_cookie_echo(s);
        else s->t1_at = RTC_TIME_NEVER;
    }
    if (s->t3_at <= now) {
        s->t3_at = RTC_TIME_NEVER;
        tx_t3_expired(s);
        if (s->state == RTC_SCTP_DONE) return RTC_OK;
    }
    if (s->t2_at <= now) {
        /* §9.2: T2-shutdown retransmits SHUTDOWN or SHUTDOWN-ACK. */
        s->t2_count++;
        s->rto = RTC_MIN(s->rto * 2, s->cfg.rto_max);
        if (s->t2_count > s->cfg.max_retransmits) {
            sctp_fail(s, RTC_SCTP_CLOSE_TIMEOUT, 0, true);
            return RTC_OK;
        }
        s->t2_at = t_add(now, s->rto);
        if (s->state == RTC_SCTP_SHUTDOWN_SENT) queue_shutdown(s);
        else if (s->state == RTC_SCTP_SHUTDOWN_ACK_SENT) {
            ctl_drop_type(s, CT_SHUTDOWN_ACK);
            queue_simple(s, CT_SHUTDOWN_ACK, 0);
        } else s->t2_at = RTC_TIME_NEVER;
    }
    if (s->hb_at <= now) {
        sctp_buf_flush(s); /* idle long enough: give the recycled buffers back */
        if (s->state != RTC_SCTP_ESTABLISHED) {
            s->hb_at = RTC_TIME_NEVER;
        } else {
            if (s->hb_outstanding) {
                /* §8.3: an unanswered heartbeat counts as an error and backs off RTO. */
                s->rto = RTC_MIN(s->rto * 2, s->cfg.rto_max);
                sctp_error_hit(s);
                if (s->state == RTC_SCTP_DONE) return RTC_OK;
            }
            queue_heartbeat(s);
            s->hb_at = t_add(t_add(now, s->cfg.heartbeat_interval), s->rto);
        }
    }
    if (s->reconf_at <= now) {
        s->reconf_at = RTC_TIME_NEVER;
        reconf_timeout(s);
    }
    return RTC_OK;
}

/* ---- packet output --------------------------------------------------------------- */

static void write_common(rtc_sctp *s, rtc_writer *w, uint32_t vtag) {
    rtc_write_u16(w, s->cfg.local_port);
    rtc_write_u16(w, s->cfg.remote_port);
    rtc_write_u32(w, vtag);
    rtc_write_u32(w, 0);
}

int rtc_sctp_poll_transmit(rtc_sctp *s, const uint8_t **data, size_t *len) {
    if (!s || !data || !len) return 0;
    rtc_writer w;
    rtc_writer_init(&w, s->pkt, s->cfg.mtu);
    bool needs_crc = false, has_data_chunks = false;
    uint32_t vtag = s->peer_vtag;
    if (s->ctl_head) {
        ctl_item *c = s->ctl_head;
        vtag = c->vtag;
        write_common(s, &w, vtag);
        bool alone = c->alone;
        while (c && c->vtag == vtag && !(w.len > SCTP_COMMON_HDR && c->alone) &&
               w.cap - w.len >= c->len) {
            rtc_write_bytes(&w, c->data, c->len);
            needs_crc |= c->needs_crc;
            s->ctl_head = c->next;
            if (!s->ctl_head) s->ctl_tail = NULL;
            s->nctl--;
            ctl_item *next = c->next;
            rtc_free(&s->env, c, sizeof *c + c->len);
            c = next;
            if (alone) break;
        }
        if (alone) goto finish;
    } else {
        write_common(s, &w, vtag);
    }
    if (data_state(s) && vtag == s->peer_vtag) {
        bool data_ok = s->state == RTC_SCTP_ESTABLISHED ||
                       s->state == RTC_SCTP_SHUTDOWN_PENDING ||
                       s->state == RTC_SCTP_SHUTDOWN_RECEIVED;
        bool have_data = data_ok && tx_has_data_to_send(s);
        if (s->sack_now || (s->sack_at != RTC_TIME_NEVER && have_data)) {
            size_t before = w.len;
            rx_write_sack(s, &w);
            if (w.len > before) {
                s->sack_now = false;
                s->sack_at = RTC_TIME_NEVER;
                s->pkts_since_sack = 0;
            }
        }
        if (s->fwd_needed && s->peer_fwd_tsn) tx_write_fwd_tsn(s, &w);
        if (have_data && tx_write_data(s, &w, w.len == SCTP_COMMON_HDR) > 0)
            has_data_chunks = true;
    }
finish:
    if (w.err || w.len <= SCTP_COMMON_HDR) return 0;
    sctp_finish_packet(s->pkt, w.len, s->send_zero_csum && !needs_crc);
    s->st.packets_sent++;
    s->st.bytes_sent += w.len;
    if (has_data_chunks) s->last_send = s->now;
    *data = s->pkt;
    *len = w.len;
    return 1;
}

void sctp_emit_stream(rtc_sctp *s, rtc_sctp_event_kind k, uint16_t id) { emit(s, k, id); }
