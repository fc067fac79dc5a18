/*
** Receiver side: TSN tracking and SACK generation (RFC 9260 §6.2), reassembly, ordered
** delivery per stream (§6.5, §6.6), and FORWARD-TSN (RFC 3758 §3.6).
**
** Received fragments sit in a ring indexed by TSN, [rx_base, rx_base + cap), beside a
** "received" flag per slot used for gap-ack blocks. A message is assembled (one copy)
** as soon as its B..E run is complete, and its fragments leave the ring; complete
** ordered messages wait per stream for their SSN. Everything held — fragments, waiting
** messages, and messages queued as events but not yet polled — is charged to rx_held,
** which the advertised a_rwnd subtracts from recv_window. A hostile peer that ignores
** a_rwnd finds its chunks dropped: only chunks that fill a hole may overshoot the
** window, by half of it (the one at cum+1 by a whole window), so memory stays bounded.
*/
#define LOG_MODULE "sctp"
#include <string.h>

#include "sctp/sctp_int.h"

#define RX_WINDOW_MAX (1u << 16)        /* TSNs beyond the ack point we track */
#define RX_CHUNK_COST (sizeof(rx_chunk) + 16)

static inline uint32_t ridx(const rtc_sctp *s, uint32_t t) { return t & (s->rxr_cap - 1); }
static inline bool in_ring(const rtc_sctp *s, uint32_t t) {
    return s->rxr_cap && !tsn_lt(t, s->rx_base) && t - s->rx_base < s->rxr_cap;
}
static inline rx_chunk *stored(const rtc_sctp *s, uint32_t t) {
    return in_ring(s, t) ? s->rxr[ridx(s, t)] : NULL;
}
static inline bool have(const rtc_sctp *s, uint32_t t) {
    if (tsn_le(t, s->rx_cum)) return true;
    return in_ring(s, t) && s->rx_have[ridx(s, t)];
}

uint32_t rx_arwnd(const rtc_sctp *s) {
    return s->rx_held < s->cfg.recv_window ? (uint32_t)(s->cfg.recv_window - s->rx_held) : 0;
}

static void free_chunk(rtc_sctp *s, uint32_t t) {
    rx_chunk *c = s->rxr[ridx(s, t)];
    if (!c) return;
    s->rxr[ridx(s, t)] = NULL;
    s->rx_held -= RX_CHUNK_COST + c->len;
    rtc_free(&s->env, c, sizeof *c + c->len);
}

void rx_free_all(rtc_sctp *s) {
    if (s->rxr) {
        for (uint32_t i = 0; i < s->rxr_cap; i++) {
            rx_chunk *c = s->rxr[i];
            if (c) {
                s->rx_held -= RX_CHUNK_COST + c->len;
                rtc_free(&s->env, c, sizeof *c + c->len);
            }
        }
        rtc_free(&s->env, s->rxr, s->rxr_cap * sizeof *s->rxr);
        rtc_free(&s->env, s->rx_have, s->rxr_cap);
    }
    s->rxr = NULL;
    s->rx_have = NULL;
    s->rxr_cap = 0;
}

void rx_init(rtc_sctp *s, uint32_t peer_itsn) {
    rx_free_all(s);
    s->rx_cum = peer_itsn - 1;
    s->rx_highest = s->rx_cum;
    s->rx_base = peer_itsn;
    s->ndups = 0;
    s->pkts_since_sack = 0;
    s->last_arwnd = rx_arwnd(s);
}

static bool ring_cover(rtc_sctp *s, uint32_t t) {
    uint32_t need = t - s->rx_base + 1;
    if (need <= s->rxr_cap) return true;
    uint32_t nc = s->rxr_cap ? s->rxr_cap : 64;
    while (nc < need) nc *= 2;
    if (nc > 2 * RX_WINDOW_MAX) return false;
    rx_chunk **nr = rtc_calloc(&s->env, nc * sizeof *nr);
    uint8_t *nh = rtc_calloc(&s->env, nc);
    if (!nr || !nh) {
        rtc_free(&s->env, nr, nc * sizeof *nr);
        rtc_free(&s->env, nh, nc);
        return false;
    }
    for (uint32_t i = 0; i < s->rxr_cap; i++) {
        uint32_t u = s->rx_base + i;
        nr[u & (nc - 1)] = s->rxr[ridx(s, u)];
        nh[u & (nc - 1)] = s->rx_have[ridx(s, u)];
    }
    rtc_free(&s->env, s->rxr, s->rxr_cap * sizeof *s->rxr);
    rtc_free(&s->env, s->rx_have, s->rxr_cap);
    s->rxr = nr;
    s->rx_have = nh;
    s->rxr_cap = nc;
    return true;
}

/* Move rx_base up past slots that are acknowledged and hold no fragment. */
static void advance_base(rtc_sctp *s) {
    while (s->rxr_cap && tsn_le(s->rx_base, s->rx_cum) && !s->rxr[ridx(s, s->rx_base)]) {
        s->rx_have[ridx(s, s->rx_base)] = 0;
        s->rx_base++;
    }
    if (!s->rxr_cap) s->rx_base = s->rx_cum + 1;
}

static void advance_cum(rtc_sctp *s) {
    uint32_t before = s->rx_cum;
    while (tsn_lt(s->rx_cum, s->rx_highest) && have(s, s->rx_cum + 1)) s->rx_cum++;
    if (before != s->rx_cum) reconf_after_cum_advance(s);
}

void rx_release(rtc_sctp *s, size_t held) {
    s->rx_held -= held;
    /* Window update: tell a sender that stalled on our window that it reopened. */
    uint32_t cur = rx_arwnd(s);
    uint32_t mtu = s->cfg.mtu;
    if (s->state >= RTC_SCTP_ESTABLISHED && s->state <= RTC_SCTP_SHUTDOWN_SENT &&
        ((s->last_arwnd < 2 * mtu && cur >= 2 * mtu) ||
         cur >= s->last_arwnd + s->cfg.recv_window / 4))
        s->sack_now = true;
}

void rx_msg_free(rtc_sctp *s, rx_msg *m) {
    size_t held = m->held;
    sctp_buf_put(s, m, m->cap);
    rx_release(s, held);
}

static void push_msg(rtc_sctp *s, rx_msg *m) {
    rtc_sctp_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = RTC_SCTP_EV_MESSAGE;
    ev.stream = m->sid;
    ev.ppid = m->ppid;
    ev.unordered = m->unordered;
    m->next = NULL;
    s->st.messages_received++;
    sctp_event_push(s, &ev, m);
}

static void drain_pending(rtc_sctp *s, stream *st) {
    while (st->pending && st->pending->ssn == st->expect_ssn) {
        rx_msg *m = st->pending;
        st->pending = m->next;
        if (!st->pending) st->pending_tail = NULL;
        st->expect_ssn++;
        push_msg(s, m);
    }
}

static void deliver(rtc_sctp *s, rx_msg *m) {
    if (m->unordered) {
        push_msg(s, m);
        return;
    }
    stream *st = sctp_stream(s, m->sid, false); /* created when its first chunk came */
    if (!st || ssn_lt(m->ssn, st->expect_ssn)) { /* stale after FORWARD-TSN */
        rx_msg_free(s, m);
        return;
    }
    if (m->ssn == st->expect_ssn) {
        st->expect_ssn++;
        push_msg(s, m);
        drain_pending(s, st);
        return;
    }
    /* Insert by SSN; arrival is mostly in order, so try the tail first. */
    m->next = NULL;
    if (!st->pending) {
        st->pending = st->pending_tail = m;
        return;
    }
    if (ssn_lt(st->pending_tail->ssn, m->ssn)) {
        st->pending_tail->next = m;
        st->pending_tail = m;
        return;
    }
    rx_msg **pp = &st->pending;
    while (*pp && ssn_lt((*pp)->ssn, m->ssn)) pp = &(*pp)->next;
    if (*pp && (*pp)->ssn == m->ssn) { /* two messages with one SSN: keep the first */
        rx_msg_free(s, m);
        return;
    }
    m->next = *pp;
    *pp = m;
}

/* Assemble the message around TSN t if all of its fragments are here. Returns
** RTC_ERR_NOMEM when the message buffer could not be allocated (nothing changed). */
static int try_assemble(rtc_sctp *s, uint32_t t) {
    uint32_t max_steps = s->cfg.max_message_size / 256 + 256;
    uint32_t steps = 0, e = t, b = t;
    rx_chunk *c = stored(s, t);
    while (!(c->flags & DATA_FLAG_E)) {
        c = stored(s, ++e);
        if (!c || (c->flags & DATA_FLAG_B)) return RTC_OK;
        if (++steps > max_steps) goto too_big;
    }
    c = stored(s, t);
    while (!(c->flags & DATA_FLAG_B)) {
        c = stored(s, --b);
        if (!c || (c->flags & DATA_FLAG_E)) return RTC_OK;
        if (++steps > max_steps) goto too_big;
    }
    rx_chunk *first = stored(s, b);
    size_t total = 0;
    for (uint32_t u = b;; u++) {
        rx_chunk *f = stored(s, u);
        /* All fragments of a message share stream, U bit and (ordered) SSN. */
        if (f->sid != first->sid || ((f->flags ^ first->flags) & DATA_FLAG_U) ||
            (!(first->flags & DATA_FLAG_U) && f->ssn != first->ssn)) {
            sctp_fail(s, RTC_SCTP_CLOSE_PROTOCOL, EC_PROTOCOL_VIOLATION, true);
            return RTC_OK;
        }
        total += f->len;
        if (u == e) break;
    }
    if (total > s->cfg.max_message_size) goto too_big;
    size_t cap;
    rx_msg *m = sctp_buf_get(s, sizeof *m + total, &cap);
    if (!m) return RTC_ERR_NOMEM;
    m->cap = cap;
    m->next = NULL;
    m->ppid = first->ppid;
    m->sid = first->sid;
    m->ssn = first->ssn;
    m->unordered = first->flags & DATA_FLAG_U;
    m->len = total;
    m->held = sizeof *m + total;
    s->rx_held += m->held;
    size_t off = 0;
    for (uint32_t u = b;; u++) {
        rx_chunk *f = stored(s, u);
        memcpy(m->data + off, f->data, f->len);
        off += f->len;
        free_chunk(s, u);
        if (u == e) break;
    }
    deliver(s, m);
    return RTC_OK;
too_big:
    RTC_LOGW(&s->env, "peer sent a message over max_message_size (%u)", s->cfg.max_message_size);
    sctp_fail(s, RTC_SCTP_CLOSE_PROTOCOL, EC_PROTOCOL_VIOLATION, true);
    return RTC_OK;
}

int rx_handle_data(rtc_sctp *s, rtc_reader *r, uint8_t flags, bool *dup) {
    *dup = false;
    uint32_t tsn = rtc_read_u32(r);
    uint16_t sid = rtc_read_u16(r);
    uint16_t ssn = rtc_read_u16(r);
    uint32_t ppid = rtc_read_u32(r);
    size_t len = rtc_reader_left(r);
    if (r->err || len == 0) return RTC_ERR_PARSE; /* §3.3.1: no user data is an error */
    s->st.data_chunks_received++;
    if (flags & 0x08) s->sack_now = true; /* RFC 7053 I bit: SACK immediately */
    if (have(s, tsn)) {
        *dup = true;
        s->st.duplicate_tsns_received++;
        if (s->ndups < RTC_ARRAY_LEN(s->dups)) s->dups[s->ndups++] = tsn;
        return RTC_OK;
    }
    if (sid >= RTC_SCTP_MAX_STREAMS || tsn - s->rx_cum > RX_WINDOW_MAX) {
        s->st.dropped_chunks++;
        return RTC_OK;
    }
    size_t cost = RX_CHUNK_COST + len;
    size_t win = s->cfg.recv_window, limit;
    if (tsn == s->rx_cum + 1) limit = 2 * win;
    else if (tsn_lt(tsn, s->rx_highest)) limit = win + win / 2;
    else limit = win; /* §6.2: with the window closed, drop TSNs above the highest */
    if (s->rx_held + cost > limit || !ring_cover(s, tsn)) {
        /* §6.2: a chunk dropped for want of room gets an immediate SACK showing what
        ** we do hold, so a zero-window prober learns we are alive. */
        s->st.dropped_chunks++;
        s->sack_now = true;
        return RTC_OK;
    }
    /* Ordered delivery needs the stream's state: make it now, while a failure can
    ** still leave the chunk unacknowledged for the peer to send again. */
    if (!(flags & DATA_FLAG_U) && !sctp_stream(s, sid, true)) return RTC_ERR_NOMEM;
    rx_chunk *c = rtc_realloc(&s->env, NULL, 0, sizeof *c + len);
    if (!c) return RTC_ERR_NOMEM;
    c->tsn = tsn;
    c->ppid = ppid;
    c->len = (uint32_t)len;
    c->sid = sid;
    c->ssn = ssn;
    c->flags = flags & (DATA_FLAG_B | DATA_FLAG_E | DATA_FLAG_U);
    memcpy(c->data, rtc_read_ptr(r, len), len);
    s->rxr[ridx(s, tsn)] = c;
    s->rx_have[ridx(s, tsn)] = 1;
    s->rx_held += cost;
    if (try_assemble(s, tsn) == RTC_ERR_NOMEM) {
        /* Forget the chunk: unacknowledged, it comes again and we retry. */
        free_chunk(s, tsn);
        s->rx_have[ridx(s, tsn)] = 0;
        return RTC_ERR_NOMEM;
    }
    if (tsn_lt(s->rx_highest, tsn)) s->rx_highest = tsn;
    advance_cum(s);
    advance_base(s);
    return RTC_OK;
}

int rx_handle_fwd_tsn(rtc_sctp *s, rtc_reader *r) {
    uint32_t newcum = rtc_read_u32(r);
    if (r->err) return RTC_ERR_PARSE;
    if (tsn_le(newcum, s->rx_cum)) return RTC_OK; /* old or duplicate */
    if (newcum - s->rx_cum > RX_WINDOW_MAX) return RTC_ERR_PARSE; /* beyond anything sent */
    /* Create the named streams first: on NOMEM nothing has changed yet. */
    {
        rtc_reader q = *r;
        while (rtc_reader_left(&q) >= 4) {
            uint16_t sid = rtc_read_u16(&q);
            rtc_read_u16(&q);
            if (!sctp_stream(s, sid, true)) return RTC_ERR_NOMEM;
        }
    }
    /* Drop every fragment up to the new ack point: their messages were abandoned. */
    if (s->rxr_cap) {
        for (uint32_t t = s->rx_base; tsn_le(t, newcum) && t - s->rx_base < s->rxr_cap; t++) {
            free_chunk(s, t);
            s->rx_have[ridx(s, t)] = 0;
        }
        if (newcum - s->rx_base >= s->rxr_cap) memset(s->rx_have, 0, s->rxr_cap);
    }
    s->rx_cum = newcum;
    if (tsn_lt(s->rx_highest, newcum)) s->rx_highest = newcum;
    s->rx_base = newcum + 1;
    /* Continuation fragments right after the new point belong to an abandoned message. */
    for (uint32_t t = newcum + 1; stored(s, t) && !(stored(s, t)->flags & DATA_FLAG_B); t++)
        free_chunk(s, t);
    /* Ordered streams skip the abandoned SSNs and deliver what was waiting behind them. */
    while (rtc_reader_left(r) >= 4 && s->state != RTC_SCTP_DONE) {
        uint16_t sid = rtc_read_u16(r);
        uint16_t ssn = rtc_read_u16(r);
        stream *st = sctp_stream(s, sid, true);
        if (!st || ssn_lt(ssn, st->expect_ssn)) continue;
        while (st->pending && ssn_le(st->pending->ssn, ssn)) {
            rx_msg *m = st->pending;
            st->pending = m->next;
            if (!st->pending) st->pending_tail = NULL;
            push_msg(s, m);
        }
        st->expect_ssn = (uint16_t)(ssn + 1);
        drain_pending(s, st);
    }
    advance_cum(s);
    reconf_after_cum_advance(s);
    advance_base(s);
    return RTC_OK;
}

void rx_reset_stream(rtc_sctp *s, uint16_t sid) {
    stream *st = sctp_stream(s, sid, false);
    if (!st) return;
    st->expect_ssn = 0;
    while (st->pending) {
        rx_msg *m = st->pending;
        st->pending = m->next;
        rx_msg_free(s, m);
    }
    st->pending_tail = NULL;
}

void rx_write_sack(rtc_sctp *s, rtc_writer *w) {
    size_t room = w->cap - w->len;
    if (room < 16) return;
    size_t ndups = RTC_MIN((size_t)s->ndups, (room - 16) / 4);
    size_t maxgaps = RTC_MIN((room - 16 - 4 * ndups) / 4, 0xffffu);
    size_t start = rtc_write_reserve(w, 16);
    uint32_t arwnd = rx_arwnd(s);
    uint16_t ngaps = 0;
    /* §3.3.4: gap blocks are offsets from the cumulative TSN ack. */
    uint32_t t = s->rx_cum + 1;
    while (tsn_le(t, s->rx_highest) && ngaps < maxgaps) {
        while (tsn_le(t, s->rx_highest) && !have(s, t)) t++;
        if (!tsn_le(t, s->rx_highest)) break;
        uint32_t bs = t;
        while (tsn_le(t, s->rx_highest) && have(s, t)) t++;
        uint32_t off_s = bs - s->rx_cum, off_e = t - 1 - s->rx_cum;
        if (off_e > 0xffff) break;
        rtc_write_u16(w, (uint16_t)off_s);
        rtc_write_u16(w, (uint16_t)off_e);
        ngaps++;
    }
    for (size_t i = 0; i < ndups; i++) rtc_write_u32(w, s->dups[i]);
    if (w->err) return;
    uint8_t *h = w->p + start;
    h[0] = CT_SACK;
    h[1] = 0;
    rtc_put_be16(h + 2, (uint16_t)(16 + 4 * ngaps + 4 * ndups));
    rtc_put_be32(h + 4, s->rx_cum);
    rtc_put_be32(h + 8, arwnd);
    rtc_put_be16(h + 12, ngaps);
    rtc_put_be16(h + 14, (uint16_t)ndups);
    s->ndups = 0;
    s->last_arwnd = arwnd;
}
