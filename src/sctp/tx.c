/*
** Sender side: the send FIFO, fragmentation, the ring of outstanding chunks, SACK
** processing, congestion control (RFC 9260 §7.2), RTO (§6.3) and PR-SCTP (RFC 3758).
**
** Messages wait in per-stream FIFOs, picked by a weighted fair queueing scheduler,
** and are cut into DATA chunks only when the congestion and receive windows allow, so
** a message's fragments get consecutive TSNs and a lifetime can still drop a message
** that never left. Each TSN in flight has a
** tx_chunk in a power-of-two ring indexed by TSN; the chunk points into its message,
** which is freed when the last chunk is acknowledged (no copies on the send path).
** Flight size counts payload plus the 16-byte DATA header, so tiny messages cannot put
** an unbounded number of chunks in flight.
*/
#define LOG_MODULE "sctp"
#include <string.h>

#include "sctp/sctp_int.h"

#define TX_RING_MAX (1u << 16)

static inline tx_chunk *slot(rtc_sctp *s, uint32_t tsn) { return &s->txr[tsn & (s->txr_cap - 1)]; }

static uint32_t mtu(const rtc_sctp *s) { return s->cfg.mtu; }

void tx_init(rtc_sctp *s, uint32_t arwnd) {
    s->next_tsn = s->my_itsn;
    s->cum_ack = s->my_itsn - 1;
    s->adv_ack = s->cum_ack;
    /* §7.2.1: initial cwnd = min(4*MTU, max(2*MTU, 4404)); ssthresh = peer's a_rwnd. */
    s->cwnd = RTC_MIN(4 * mtu(s), RTC_MAX(2 * mtu(s), 4404u));
    s->ssthresh = arwnd;
    s->peer_rwnd = arwnd;
    s->flight = 0;
    s->pba = 0;
    s->fast_recovery = false;
    s->fwd_needed = false;
    s->rtx_count = 0;
    s->rtt_pending = false;
}

static void msg_unref(rtc_sctp *s, tx_msg *m) {
    if (--m->refs) return;
    s->tx_total -= m->len;
    sctp_buf_put(s, m, m->cap);
}

static void buffered_sub(rtc_sctp *s, stream *st, size_t n) {
    st->buffered -= n;
    if (st->low_armed && st->buffered <= st->low_threshold) {
        st->low_armed = false;
        sctp_emit_stream(s, RTC_SCTP_EV_BUFFERED_AMOUNT_LOW, st->id);
    }
}

void tx_free_all(rtc_sctp *s) {
    if (s->txr) {
        for (uint32_t t = s->cum_ack + 1; t != s->next_tsn; t++) {
            tx_chunk *c = slot(s, t);
            if (c->msg) msg_unref(s, c->msg);
            c->msg = NULL;
        }
        rtc_free(&s->env, s->txr, s->txr_cap * sizeof *s->txr);
        s->txr = NULL;
        s->txr_cap = 0;
    }
    for (uint32_t i = 0; i < s->nstreams; i++) {
        stream *st = s->streams[i];
        while (st->q_head) {
            tx_msg *m = st->q_head;
            st->q_head = m->next;
            msg_unref(s, m);
        }
        st->q_tail = NULL;
        st->buffered = 0;
        st->queued_msgs = 0;
        st->hidx = 0;
    }
    s->nsched = 0;
    rtc_free(&s->env, s->sched, s->cap_sched * sizeof *s->sched);
    s->sched = NULL;
    s->cap_sched = 0;
    s->cur = NULL;
    s->nqueued = 0;
    s->cum_ack = s->next_tsn - 1;
    s->flight = 0;
    s->rtx_count = 0;
}

uint32_t tx_outstanding(const rtc_sctp *s) { return s->next_tsn - s->cum_ack - 1; }

bool tx_all_acked(const rtc_sctp *s) { return !s->nqueued && s->cum_ack + 1 == s->next_tsn; }

bool tx_has_data_to_send(const rtc_sctp *s) {
    return s->rtx_count > 0 || (s->nqueued && s->flight < s->cwnd);
}

/* ---- scheduler: weighted fair queueing between streams -------------------------- */

/* Self-clocked fair queueing (Golestani 1994), as RFC 8260 §3.6 sketches and dcsctp
** does without I-DATA: each stream's head message gets a virtual finish time
** F = max(V, F_prev) + size / weight; the stream with the smallest F sends its whole
** next message, and V becomes that F. Bytes are shared in proportion to the weights
** (1024:256 -> 4:1), equal weights take turns, and a stream that becomes active starts
** at the current V, so a small message waits only for the message being cut. */
#define DEFAULT_WEIGHT 256

static uint16_t weight_of(const stream *st) { return st->weight ? st->weight : DEFAULT_WEIGHT; }

static uint64_t vcost(const stream *st, const tx_msg *m) {
    return ((uint64_t)(m->len + DATA_HDR) << 16) / weight_of(st);
}

/* Serial comparison: virtual times wrap, live ones stay within 2^63 of each other. */
static bool sched_before(const stream *a, const stream *b) {
    int64_t d = (int64_t)(a->vfinish - b->vfinish);
    if (d) return d < 0;
    return (int64_t)(a->vseq - b->vseq) < 0;
}

static void sched_place(rtc_sctp *s, stream *st, uint32_t i) {
    s->sched[i] = st;
    st->hidx = i + 1;
}

static void sched_up(rtc_sctp *s, uint32_t i) {
    stream *st = s->sched[i];
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (!sched_before(st, s->sched[p])) break;
        sched_place(s, s->sched[p], i);
        i = p;
    }
    sched_place(s, st, i);
}

static void sched_down(rtc_sctp *s, uint32_t i) {
    stream *st = s->sched[i];
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= s->nsched) break;
        if (c + 1 < s->nsched && sched_before(s->sched[c + 1], s->sched[c])) c++;
        if (!sched_before(s->sched[c], st)) break;
        sched_place(s, s->sched[c], i);
        i = c;
    }
    sched_place(s, st, i);
}

/* Room for one more stream in the heap (before a message is queued). */
static bool sched_reserve(rtc_sctp *s) {
    if (s->nsched < s->cap_sched) return true;
    uint32_t nc = s->cap_sched ? s->cap_sched * 2 : 4;
    stream **n = rtc_realloc(&s->env, s->sched, s->cap_sched * sizeof *n, nc * sizeof *n);
    if (!n) return false;
    s->sched = n;
    s->cap_sched = nc;
    return true;
}

static void sched_add(rtc_sctp *s, stream *st) {
    if (st->hidx) return;
    uint64_t start = (int64_t)(st->vfinish - s->vtime) > 0 ? st->vfinish : s->vtime;
    st->vfinish = start + vcost(st, st->q_head);
    st->vseq = s->vseq++;
    s->nsched++; /* sched_reserve() made room */
    sched_place(s, st, s->nsched - 1);
    sched_up(s, s->nsched - 1);
}

static void sched_remove(rtc_sctp *s, stream *st) {
    if (!st->hidx) return;
    uint32_t i = st->hidx - 1;
    st->hidx = 0;
    stream *last = s->sched[--s->nsched];
    if (i == s->nsched) return;
    sched_place(s, last, i);
    sched_down(s, i);
    sched_up(s, last->hidx - 1);
}

/* The head message of st changed (the previous one left the queue). */
static void sched_next(rtc_sctp *s, stream *st) {
    if (!st->q_head) {
        sched_remove(s, st);
        return;
    }
    if (!st->hidx) return;
    st->vfinish += vcost(st, st->q_head);
    st->vseq = s->vseq++;
    sched_down(s, st->hidx - 1);
}

void tx_set_weight(rtc_sctp *s, stream *st, uint16_t w) {
    st->weight = w ? w : 1;
    /* A queued head message is charged at the new weight from now on. */
    if (st->hidx && st->q_head && st->q_head->off == 0 && s->cur != st->q_head) {
        st->vfinish = s->vtime + vcost(st, st->q_head);
        st->vseq = s->vseq++;
        sched_down(s, st->hidx - 1);
        sched_up(s, st->hidx - 1);
    }
}

int tx_enqueue(rtc_sctp *s, const rtc_sctp_send_opts *o, const uint8_t *d, size_t len) {
    if (s->tx_total && s->tx_total + len > s->cfg.send_buffer) return RTC_ERR_AGAIN;
    stream *st = sctp_stream(s, o->stream, true);
    if (!st) return RTC_ERR_NOMEM;
    if (st->reset != RST_NONE) return RTC_ERR_MISUSE;
    if (!st->hidx && !sched_reserve(s)) return RTC_ERR_NOMEM;
    size_t cap;
    tx_msg *m = sctp_buf_get(s, sizeof *m + len, &cap);
    if (!m) return RTC_ERR_NOMEM;
    memset(m, 0, sizeof *m);
    m->cap = cap;
    m->expires = o->max_lifetime_ms >= 0 ? s->now + RTC_MS(o->max_lifetime_ms) : RTC_TIME_NEVER;
    m->ppid = o->ppid;
    m->len = (uint32_t)len;
    m->refs = 1;
    m->max_rtx = o->max_retransmits;
    m->sid = o->stream;
    m->unordered = o->unordered;
    m->st = st;
    memcpy(m->data, d, len);
    if (st->q_tail) st->q_tail->next = m;
    else st->q_head = m;
    st->q_tail = m;
    s->nqueued++;
    sched_add(s, st);
    s->tx_total += len;
    st->buffered += len;
    st->queued_msgs++;
    if (st->buffered > st->low_threshold) st->low_armed = true;
    return RTC_OK;
}

static void flight_remove(rtc_sctp *s, tx_chunk *c) {
    if (!c->in_flight) return;
    c->in_flight = false;
    s->flight -= c->len + DATA_HDR;
}

/* Takes message m (the head of its stream's queue) out of the queue: it is fully cut,
** or its remaining bytes never will be. The next message comes from the next stream. */
static void fifo_pop(rtc_sctp *s, tx_msg *m) {
    stream *st = m->st;
    st->q_head = m->next;
    if (!st->q_head) st->q_tail = NULL;
    m->next = NULL;
    st->queued_msgs--;
    s->nqueued--;
    if (s->cur == m) s->cur = NULL;
    if (m->off < m->len) buffered_sub(s, st, m->len - m->off);
    sched_next(s, st);
    msg_unref(s, m);
}

static bool ring_ensure(rtc_sctp *s);

/* RFC 3758 §3.5 A3/A4: abandon a whole message: every chunk of it, sent or not. */
static void abandon_msg(rtc_sctp *s, tx_msg *m) {
    if (m->abandoned) return;
    m->abandoned = true;
    s->st.abandoned_messages++;
    for (uint32_t i = 0; i < m->nchunks; i++) {
        uint32_t t = m->first_tsn + i;
        if (tsn_le(t, s->cum_ack) || !tsn_lt(t, s->next_tsn)) continue;
        tx_chunk *c = slot(s, t);
        if (c->msg != m) continue; /* gap-acked ones too: the ack point may pass them */
        flight_remove(s, c);
        if (c->rtx) {
            c->rtx = false;
            s->rtx_count--;
        }
        c->state = TXC_ABANDONED;
    }
    /* A partly sent message: its unsent rest gets one TSN, a never-sent placeholder
    ** carrying the E flag, so the FORWARD-TSN covers a whole B..E run. Without it the
    ** next message's B fragment would directly follow a fragment without an end, which
    ** usrsctp rejects ("Illegal message sequence, missing end"); dcsctp and usrsctp do
    ** the same on their side. */
    if (m->nchunks > 0 && m->off < m->len && m == s->cur && ring_ensure(s)) {
        uint32_t tsn = s->next_tsn++;
        tx_chunk *c = slot(s, tsn);
        memset(c, 0, sizeof *c);
        c->msg = m;
        c->off = m->off;
        c->len = 0;
        c->flags = (uint8_t)(DATA_FLAG_E | (m->unordered ? DATA_FLAG_U : 0));
        c->state = TXC_ABANDONED;
        m->refs++;
        m->nchunks++;
        buffered_sub(s, m->st, m->len - m->off);
        m->off = m->len;
    }
}

/* Should chunk c be abandoned instead of retransmitted? */
static bool abandon_check(rtc_sctp *s, tx_chunk *c) {
    tx_msg *m = c->msg;
    if (m->abandoned) return true;
    if (!s->peer_fwd_tsn) return false; /* cannot tell the peer: stay reliable */
    if ((m->max_rtx >= 0 && c->nsent > (uint32_t)m->max_rtx) || m->expires <= s->now) {
        abandon_msg(s, m);
        return true;
    }
    return false;
}

/* RFC 3758 §3.5 C1: move the Advanced.Peer.Ack.Point over abandoned chunks; a move
** calls for a FORWARD-TSN (C2). */
static void advance_adv(rtc_sctp *s) {
    if (tsn_lt(s->adv_ack, s->cum_ack)) s->adv_ack = s->cum_ack;
    uint32_t before = s->adv_ack;
    while (tsn_lt(s->adv_ack + 1, s->next_tsn) && slot(s, s->adv_ack + 1)->state == TXC_ABANDONED)
        s->adv_ack++;
    if (before != s->adv_ack) s->fwd_needed = true;
}

void tx_rtt_sample(rtc_sctp *s, rtc_time r) {
    if (r < 0) return;
    /* §6.3.1 C2/C3 with alpha 1/8, beta 1/4. */
    if (s->srtt == 0) {
        s->srtt = r;
        s->rttvar = r / 2;
    } else {
        rtc_time d = s->srtt > r ? s->srtt - r : r - s->srtt;
        s->rttvar = (3 * s->rttvar + d) / 4;
        s->srtt = (7 * s->srtt + r) / 8;
    }
    rtc_time rto = s->srtt + 4 * s->rttvar;
    s->rto = RTC_MAX(s->cfg.rto_min, RTC_MIN(rto, s->cfg.rto_max));
}

/* Cumulative ack up to `cum` (SACK or SHUTDOWN). Returns bytes newly acknowledged. */
static uint32_t ack_cum(rtc_sctp *s, uint32_t cum) {
    uint32_t acked = 0;
    for (uint32_t t = s->cum_ack + 1; tsn_le(t, cum); t++) {
        tx_chunk *c = slot(s, t);
        if (c->state == TXC_OUT) acked += c->len + DATA_HDR;
        if (s->rtt_pending && s->rtt_tsn == t) {
            if (c->nsent == 1) tx_rtt_sample(s, s->now - c->sent_at);
            s->rtt_pending = false;
        }
        flight_remove(s, c);
        if (c->rtx) s->rtx_count--;
        if (c->msg) msg_unref(s, c->msg);
        memset(c, 0, sizeof *c);
    }
    s->cum_ack = cum;
    if (tsn_lt(s->adv_ack, cum)) s->adv_ack = cum;
    return acked;
}

static void after_ack(rtc_sctp *s, bool cum_advanced) {
    if (cum_advanced) s->err_count = 0; /* §8.3: the peer is alive */
    /* §6.3.2 R2/R3 */
    if (s->cum_ack + 1 == s->next_tsn) s->t3_at = RTC_TIME_NEVER;
    else if (cum_advanced || s->t3_at == RTC_TIME_NEVER) s->t3_at = s->now + s->rto;
    advance_adv(s);
    /* C3: the peer still has not moved past the point: repeat the FORWARD-TSN, but at
    ** most once per smoothed RTT (every SACK would flood it). */
    rtc_time gap = s->srtt ? s->srtt : s->rto;
    if (tsn_lt(s->cum_ack, s->adv_ack) && s->now - s->fwd_sent_at >= gap) s->fwd_needed = true;
    sctp_check_shutdown(s);
}

void tx_cum_ack_to(rtc_sctp *s, uint32_t cum) {
    if (!s->txr || tsn_le(cum, s->cum_ack) || !tsn_lt(cum, s->next_tsn)) return;
    ack_cum(s, cum);
    after_ack(s, true);
}

int tx_handle_sack(rtc_sctp *s, rtc_reader *r) {
    uint32_t cum = rtc_read_u32(r);
    uint32_t arwnd = rtc_read_u32(r);
    uint16_t ngap = rtc_read_u16(r);
    uint16_t ndup = rtc_read_u16(r);
    if (r->err || rtc_reader_left(r) < 4u * ngap + 4u * ndup) return RTC_ERR_PARSE;
    /* §6.2.1 D: an older SACK (cum below our ack point) is stale; one acking TSNs we
    ** never sent is bogus. */
    if (tsn_lt(cum, s->cum_ack) || !tsn_lt(cum, s->next_tsn)) return RTC_OK;
    uint32_t flight_before = s->flight;
    bool cum_advanced = cum != s->cum_ack;
    uint32_t acked = s->txr ? ack_cum(s, cum) : 0;
    uint32_t htna = cum; /* highest TSN newly acknowledged (§7.2.4 HTNA) */
    bool newly_gap = false;
    /* Walk the outstanding chunks and the gap blocks together: O(outstanding), even for
    ** a hostile SACK; blocks out of order or overlapping end the walk. */
    uint32_t t = cum + 1, prev_end = 0;
    for (uint16_t i = 0; i < ngap && s->txr; i++) {
        uint16_t start = rtc_read_u16(r), end = rtc_read_u16(r);
        if (start <= prev_end || end < start) break;
        prev_end = end;
        uint32_t bs = cum + start, be = cum + end;
        if (!tsn_lt(bs, s->next_tsn)) break;
        if (!tsn_lt(be, s->next_tsn)) be = s->next_tsn - 1;
        for (; tsn_lt(t, bs); t++) {
            tx_chunk *c = slot(s, t);
            if (c->state == TXC_ACKED) { /* reneged (§6.2.1): send it again */
                c->state = TXC_OUT;
                if (!c->rtx) {
                    c->rtx = true;
                    s->rtx_count++;
                }
            }
        }
        for (; tsn_le(t, be); t++) {
            tx_chunk *c = slot(s, t);
            if (c->state != TXC_OUT) continue;
            c->state = TXC_ACKED;
            acked += c->len + DATA_HDR;
            flight_remove(s, c);
            if (c->rtx) {
                c->rtx = false;
                s->rtx_count--;
            }
            if (s->rtt_pending && s->rtt_tsn == t) {
                if (c->nsent == 1) tx_rtt_sample(s, s->now - c->sent_at);
                s->rtt_pending = false;
            }
            htna = t;
            newly_gap = true;
        }
    }
    /* Duplicate TSN reports carry no information we use. */
    if (newly_gap) {
        /* §7.2.4: one miss indication for each outstanding TSN below HTNA. */
        bool enter_fr = false;
        for (uint32_t u = cum + 1; tsn_lt(u, htna); u++) {
            tx_chunk *c = slot(s, u);
            if (c->state != TXC_OUT || c->rtx || c->miss >= 3) continue;
            if (++c->miss == 3) {
                if (abandon_check(s, c)) continue;
                flight_remove(s, c);
                c->rtx = true;
                c->fast = true;
                s->rtx_count++;
                s->st.fast_retransmits++;
                enter_fr = true;
            }
        }
        if (enter_fr && !s->fast_recovery) {
            /* §7.2.3 / §7.2.4 rule 2: one cwnd reduction per loss event. */
            s->ssthresh = RTC_MAX(s->cwnd / 2, 4 * mtu(s));
            s->cwnd = s->ssthresh;
            s->pba = 0;
            s->fast_recovery = true;
            s->recover_tsn = s->next_tsn - 1;
        }
    }
    if (s->fast_recovery && tsn_le(s->recover_tsn, s->cum_ack)) s->fast_recovery = false;
    /* §7.2.1/§7.2.2: grow cwnd only on cumulative progress with a full window. */
    if (cum_advanced && !s->fast_recovery && flight_before + mtu(s) > s->cwnd) {
        if (s->cwnd <= s->ssthresh) {
            s->cwnd += RTC_MIN(acked, mtu(s));
        } else {
            s->pba += acked;
            if (s->pba >= s->cwnd) {
                s->pba -= s->cwnd;
                s->cwnd += mtu(s);
            }
        }
    }
    if (s->flight == 0) s->pba = 0;
    /* §6.2.1: rwnd = a_rwnd - bytes in flight. */
    s->peer_rwnd = arwnd > s->flight ? arwnd - s->flight : 0;
    /* A peer that answers our zero-window probes is slow to read, not gone: its SACKs
    ** keep the association alive however long the application takes (§6.1, §8.1). */
    if (arwnd < mtu(s)) s->err_count = 0;
    after_ack(s, cum_advanced);
    return RTC_OK;
}

void tx_t3_expired(rtc_sctp *s) {
    if (!s->txr || s->cum_ack + 1 == s->next_tsn) return;
    s->st.t3_expirations++;
    /* §6.3.3 E1-E3 and §7.2.3. */
    s->rto = RTC_MIN(s->rto * 2, s->cfg.rto_max);
    sctp_error_hit(s);
    if (s->state == RTC_SCTP_DONE) return;
    s->ssthresh = RTC_MAX(s->cwnd / 2, 4 * mtu(s));
    s->cwnd = mtu(s);
    s->pba = 0;
    s->fast_recovery = false;
    s->rtt_pending = false;
    for (uint32_t t = s->cum_ack + 1; t != s->next_tsn; t++) {
        tx_chunk *c = slot(s, t);
        if (c->state != TXC_OUT) continue;
        flight_remove(s, c);
        c->miss = 0;
        c->fast = false;
        if (abandon_check(s, c)) continue;
        if (!c->rtx) {
            c->rtx = true;
            s->rtx_count++;
        }
    }
    advance_adv(s);
    if (tsn_lt(s->cum_ack, s->adv_ack)) s->fwd_needed = true;
    s->t3_at = s->now + s->rto;
}

/* RFC 3758 §3.2: new cumulative TSN plus the last SSN skipped on each ordered stream. */
void tx_write_fwd_tsn(rtc_sctp *s, rtc_writer *w) {
    if (!s->txr) return;
    size_t room = w->cap - w->len;
    if (room < 8) return;
    size_t maxpairs = RTC_MIN((room - 8) / 4, 128u);
    uint16_t sids[128], ssns[128];
    size_t np = 0;
    uint32_t newcum = s->cum_ack;
    for (uint32_t t = s->cum_ack + 1; tsn_le(t, s->adv_ack); t++) {
        tx_chunk *c = slot(s, t);
        tx_msg *m = c->msg;
        if (m && !m->unordered) {
            size_t i;
            for (i = 0; i < np && sids[i] != m->sid; i++) {}
            if (i == np) {
                if (np == maxpairs) break; /* describe the rest in the next one */
                sids[np] = m->sid;
                ssns[np++] = m->ssn;
            } else if (ssn_lt(ssns[i], m->ssn)) {
                ssns[i] = m->ssn;
            }
        }
        newcum = t;
    }
    if (newcum == s->cum_ack) {
        s->fwd_needed = false;
        return;
    }
    rtc_write_u8(w, CT_FORWARD_TSN);
    rtc_write_u8(w, 0);
    rtc_write_u16(w, (uint16_t)(8 + 4 * np));
    rtc_write_u32(w, newcum);
    for (size_t i = 0; i < np; i++) {
        rtc_write_u16(w, sids[i]);
        rtc_write_u16(w, ssns[i]);
    }
    s->fwd_needed = false;
    s->fwd_sent_at = s->now;
}

static bool ring_ensure(rtc_sctp *s) {
    uint32_t need = tx_outstanding(s) + 1;
    if (need <= s->txr_cap) return true;
    if (need > TX_RING_MAX) return false;
    uint32_t nc = s->txr_cap ? s->txr_cap * 2 : 64;
    tx_chunk *n = rtc_calloc(&s->env, nc * sizeof *n);
    if (!n) return false;
    for (uint32_t t = s->cum_ack + 1; t != s->next_tsn; t++)
        n[t & (nc - 1)] = s->txr[t & (s->txr_cap - 1)];
    rtc_free(&s->env, s->txr, s->txr_cap * sizeof *s->txr);
    s->txr = n;
    s->txr_cap = nc;
    return true;
}

static void write_data_chunk(rtc_sctp *s, rtc_writer *w, uint32_t tsn, const tx_chunk *c) {
    const tx_msg *m = c->msg;
    rtc_write_u8(w, CT_DATA);
    rtc_write_u8(w, c->flags);
    rtc_write_u16(w, (uint16_t)(DATA_HDR + c->len));
    rtc_write_u32(w, tsn);
    rtc_write_u16(w, m->sid);
    rtc_write_u16(w, m->unordered ? 0 : m->ssn);
    rtc_write_u32(w, m->ppid);
    rtc_write_bytes(w, m->data + c->off, c->len);
    rtc_write_fill(w, 0, (4 - (c->len & 3)) & 3);
    s->st.data_chunks_sent++;
}

static size_t padded(size_t n) { return (n + 3) & ~(size_t)3; }

int tx_write_data(rtc_sctp *s, rtc_writer *w, bool first_in_pkt) {
    int n = 0;
    if (s->rtx_count) {
        /* §6.1 / §7.2.4: retransmissions go before new data, lowest TSN first; chunks
        ** marked by fast retransmit may go regardless of cwnd. */
        for (uint32_t t = s->cum_ack + 1; t != s->next_tsn && s->rtx_count; t++) {
            tx_chunk *c = slot(s, t);
            if (!c->rtx) continue;
            if (abandon_check(s, c)) continue;
            if (!c->fast && s->flight >= s->cwnd) break;
            if (w->cap - w->len < padded(DATA_HDR + c->len)) break;
            write_data_chunk(s, w, t, c);
            c->rtx = false;
            c->fast = false;
            s->rtx_count--;
            if (c->nsent < 255) c->nsent++;
            c->sent_at = s->now;
            c->in_flight = true;
            s->flight += c->len + DATA_HDR;
            s->st.retransmitted_chunks++;
            if (s->rtt_pending && s->rtt_tsn == t) s->rtt_pending = false; /* Karn */
            if (s->t3_at == RTC_TIME_NEVER) s->t3_at = s->now + s->rto;
            n++;
        }
        advance_adv(s);
        if (s->rtx_count) return n;
    }
    uint32_t frag = (mtu(s) - SCTP_COMMON_HDR - DATA_HDR) & ~3u;
    bool reset_ready = false;
    for (;;) {
        tx_msg *m = s->cur ? s->cur : (s->nsched ? s->sched[0]->q_head : NULL);
        if (!m) break;
        if (m->abandoned) {
            fifo_pop(s, m);
            reset_ready = true;
            continue;
        }
        if (m->off == 0 && m->sid >= s->out_streams) {
            /* Queued before the peer said how many streams it takes: it would reject
            ** the data (§6.9 Invalid Stream Identifier), so never send it. */
            s->st.abandoned_messages++;
            fifo_pop(s, m);
            reset_ready = true;
            continue;
        }
        if (m->expires <= s->now && s->peer_fwd_tsn) {
            /* Lifetime over before (all of) it left: drop it. Unsent messages need no
            ** FORWARD-TSN; a partly sent one is abandoned as a whole. */
            if (m->off == 0) s->st.abandoned_messages++;
            else abandon_msg(s, m);
            fifo_pop(s, m);
            reset_ready = true;
            advance_adv(s);
            continue;
        }
        if (s->flight >= s->cwnd) break;
        size_t room = w->cap - w->len;
        uint32_t remaining = m->len - m->off;
        uint32_t take = RTC_MIN(remaining, frag);
        if (room < DATA_HDR + 4) break;
        if (padded(DATA_HDR + take) > room) {
            /* Never fragment a message that fits whole in the next packet (more chunks,
            ** and fragmented unordered messages trip usrsctp, see docs/sctp.md); a
            ** message that needs fragments anyway may top up this packet. */
            uint32_t fit = (uint32_t)((room - DATA_HDR) & ~(size_t)3);
            if (remaining <= frag || fit < 256) break;
            take = RTC_MIN(take, fit);
        }
        if (s->peer_rwnd < take + DATA_HDR && s->flight > 0) break; /* §6.1 A/B */
        if (!ring_ensure(s)) break;
        if (!m->unordered && !m->ssn_set) {
            m->ssn = m->st->next_ssn++;
            m->ssn_set = true;
        }
        uint32_t tsn = s->next_tsn++;
        if (m->off == 0) s->vtime = m->st->vfinish; /* this message is in service */
        if (m->nchunks == 0) m->first_tsn = tsn;
        m->nchunks++;
        tx_chunk *c = slot(s, tsn);
        memset(c, 0, sizeof *c);
        c->msg = m;
        c->off = m->off;
        c->len = take;
        c->flags = (uint8_t)((m->off == 0 ? DATA_FLAG_B : 0) |
                             (m->off + take == m->len ? DATA_FLAG_E : 0) |
                             (m->unordered ? DATA_FLAG_U : 0));
        c->state = TXC_OUT;
        c->nsent = 1;
        c->sent_at = s->now;
        c->in_flight = true;
        m->refs++;
        m->off += take;
        s->flight += take + DATA_HDR;
        s->peer_rwnd = s->peer_rwnd > take + DATA_HDR ? s->peer_rwnd - (take + DATA_HDR) : 0;
        write_data_chunk(s, w, tsn, c);
        buffered_sub(s, m->st, take);
        if (!s->rtt_pending) {
            s->rtt_pending = true;
            s->rtt_tsn = tsn;
        }
        if (s->t3_at == RTC_TIME_NEVER) s->t3_at = s->now + s->rto;
        n++;
        if (m->off == m->len) {
            s->st.messages_sent++;
            if (m->st->reset == RST_WANTED && m->st->queued_msgs == 1) reset_ready = true;
            fifo_pop(s, m);
        } else {
            s->cur = m;
        }
    }
    (void)first_in_pkt;
    if (reset_ready && s->reconf_wanted) reconf_maybe_send(s);
    return n;
}
