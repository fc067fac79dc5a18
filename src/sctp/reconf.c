/*
** Stream reset with RE-CONFIG (RFC 6525), as data channels close (RFC 8831 §6.7).
**
** Outgoing: rtc_sctp_reset_streams() marks streams RST_WANTED; once a stream's queued
** messages have all been cut into chunks it joins the next Outgoing SSN Reset Request
** (one request outstanding at a time, §5.1.1), which names our last assigned TSN. On
** "Success - Performed" the stream's SSN restarts at 0 and RESET_DONE is emitted.
** "In progress" (the peer still misses data before our last TSN) is retried with a
** new request sequence number after an RTO, as Chrome's dcsctp does.
**
** Incoming: a request whose last assigned TSN we have cumulatively received is
** performed at once (expected SSN back to 0, STREAM_RESET emitted per stream);
** otherwise we answer "In progress" and perform it when the sender asks again, with
** the same sequence number (usrsctp) or a new one (dcsctp). This
** keeps no deferred state; its cost is that a peer which sends new data on a stream
** before its reset is performed (WebRTC peers do not) could have that data confused
** with the stream's old SSNs.
*/
#define LOG_MODULE "sctp"
#include <string.h>

#include "sctp/sctp_int.h"

#define RECONF_MAX_IDS 256

static void queue_response(rtc_sctp *s, uint32_t seq, uint32_t result) {
    uint8_t b[16];
    rtc_writer w;
    rtc_writer_init(&w, b, sizeof b);
    rtc_write_u8(&w, CT_RECONFIG);
    rtc_write_u8(&w, 0);
    rtc_write_u16(&w, 16);
    rtc_write_u16(&w, PT_RECONF_RESP);
    rtc_write_u16(&w, 12);
    rtc_write_u32(&w, seq);
    rtc_write_u32(&w, result);
    sctp_ctl_push(s, b, w.len, s->peer_vtag, false, false);
}

static void send_request(rtc_sctp *s) {
    uint8_t b[20 + 2 * RECONF_MAX_IDS + 2];
    rtc_writer w;
    rtc_writer_init(&w, b, sizeof b);
    uint16_t plen = (uint16_t)(16 + 2 * s->reconf_req_n);
    rtc_write_u8(&w, CT_RECONFIG);
    rtc_write_u8(&w, 0);
    rtc_write_u16(&w, (uint16_t)(4 + plen));
    rtc_write_u16(&w, PT_OUT_RESET);
    rtc_write_u16(&w, plen);
    rtc_write_u32(&w, s->reconf_req_seq);
    rtc_write_u32(&w, s->reconf_peer_seq - 1); /* last response we sent */
    rtc_write_u32(&w, s->next_tsn - 1);        /* Sender's Last Assigned TSN */
    for (uint32_t i = 0; i < s->reconf_req_n; i++) rtc_write_u16(&w, s->reconf_req_ids[i]);
    rtc_write_fill(&w, 0, (4 - (w.len & 3)) & 3);
    sctp_ctl_push(s, b, w.len, s->peer_vtag, false, false);
    s->reconf_at = s->now + s->rto;
}

void reconf_maybe_send(rtc_sctp *s) {
    if (s->reconf_outstanding || !s->reconf_wanted || !s->peer_reconfig) return;
    if (s->state != RTC_SCTP_ESTABLISHED) return;
    if (!s->reconf_req_ids) {
        s->reconf_req_ids = rtc_calloc(&s->env, RECONF_MAX_IDS * sizeof(uint16_t));
        if (!s->reconf_req_ids) return;
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->nstreams && n < RECONF_MAX_IDS; i++) {
        stream *st = s->streams[i];
        if (st->reset == RST_WANTED && st->queued_msgs == 0) {
            st->reset = RST_SENT;
            s->reconf_wanted--;
            s->reconf_req_ids[n++] = st->id;
        }
    }
    if (!n) return;
    s->reconf_req_n = n;
    s->reconf_req_seq = s->reconf_my_seq++;
    s->reconf_outstanding = true;
    s->reconf_tries = 0;
    send_request(s);
}

void reconf_timeout(rtc_sctp *s) {
    if (!s->reconf_outstanding || s->state != RTC_SCTP_ESTABLISHED) return;
    /* RFC 6525 §5.1.1: retransmit on timeout; this counts as an association error. */
    if (!s->reconf_inprog) {
        s->reconf_tries++;
        sctp_error_hit(s);
        if (s->state == RTC_SCTP_DONE) return;
    }
    s->reconf_inprog = false;
    send_request(s);
}

void reconf_after_cum_advance(rtc_sctp *s) { (void)s; }

static void finish_request(rtc_sctp *s, bool ok) {
    for (uint32_t i = 0; i < s->reconf_req_n; i++) {
        stream *st = sctp_stream(s, s->reconf_req_ids[i], false);
        if (!st) continue;
        st->reset = RST_NONE;
        if (ok) st->next_ssn = 0;
        sctp_emit_stream(s, ok ? RTC_SCTP_EV_STREAM_RESET_DONE : RTC_SCTP_EV_STREAM_RESET_FAILED,
                         st->id);
    }
    s->reconf_outstanding = false;
    s->reconf_req_n = 0;
    s->reconf_at = RTC_TIME_NEVER;
    reconf_maybe_send(s);
}

static uint32_t perform_out_reset(rtc_sctp *s, uint32_t last_tsn, rtc_reader *ids) {
    if (tsn_lt(s->rx_cum, last_tsn)) return RR_IN_PROGRESS;
    if (!rtc_reader_left(ids)) { /* no list: all streams (§4.1) */
        for (uint32_t i = 0; i < s->nstreams; i++) {
            rx_reset_stream(s, s->streams[i]->id);
            sctp_emit_stream(s, RTC_SCTP_EV_STREAM_RESET, s->streams[i]->id);
        }
        return RR_PERFORMED;
    }
    while (rtc_reader_left(ids) >= 2) {
        uint16_t id = rtc_read_u16(ids);
        rx_reset_stream(s, id);
        sctp_emit_stream(s, RTC_SCTP_EV_STREAM_RESET, id);
    }
    return RR_PERFORMED;
}

int reconf_handle(rtc_sctp *s, rtc_reader *r) {
    uint16_t type;
    rtc_reader p;
    int more = 0;
    while (s->state != RTC_SCTP_DONE && (more = sctp_next_param(r, &type, &p)) == 1) {
        switch (type) {
        case PT_OUT_RESET:
        case PT_IN_RESET:
        case PT_TSN_RESET:
        case PT_ADD_OUT:
        case PT_ADD_IN: {
            uint32_t seq = rtc_read_u32(&p);
            if (p.err) return RTC_ERR_PARSE;
            uint32_t result;
            if (seq == s->reconf_peer_seq) {
                if (type == PT_OUT_RESET) {
                    rtc_read_u32(&p); /* response seq: nothing of ours to tie it to */
                    uint32_t last_tsn = rtc_read_u32(&p);
                    if (p.err) return RTC_ERR_PARSE;
                    result = perform_out_reset(s, last_tsn, &p);
                } else {
                    /* WebRTC only uses outgoing resets; the rest is declined (§5.2). */
                    result = RR_DENIED;
                }
                s->reconf_peer_seq++;
                s->reconf_last_result = result;
            } else if (seq == s->reconf_peer_seq - 1) {
                /* A retransmission: the same answer, except that a deferred reset
                ** ("In progress") is performed once we have its data (usrsctp
                ** retransmits the same request, dcsctp sends a new one). */
                result = s->reconf_last_result;
                if (result == RR_IN_PROGRESS && type == PT_OUT_RESET) {
                    rtc_read_u32(&p);
                    uint32_t last_tsn = rtc_read_u32(&p);
                    if (p.err) return RTC_ERR_PARSE;
                    result = perform_out_reset(s, last_tsn, &p);
                    s->reconf_last_result = result;
                }
            } else {
                result = RR_BAD_SEQ;
            }
            queue_response(s, seq, result);
            break;
        }
        case PT_RECONF_RESP: {
            uint32_t seq = rtc_read_u32(&p);
            uint32_t result = rtc_read_u32(&p);
            if (p.err) return RTC_ERR_PARSE;
            if (!s->reconf_outstanding || seq != s->reconf_req_seq) break;
            if (result == RR_PERFORMED || result == RR_NOTHING) {
                finish_request(s, true);
            } else if (result == RR_IN_PROGRESS) {
                s->reconf_req_seq = s->reconf_my_seq++;
                s->reconf_at = s->now + s->rto;
                s->reconf_inprog = true;
                s->reconf_tries++;
                if (s->reconf_tries > 4 * s->cfg.max_retransmits) finish_request(s, false);
            } else {
                finish_request(s, false);
            }
            break;
        }
        default: break;
        }
    }
    return more < 0 ? RTC_ERR_PARSE : RTC_OK;
}

int rtc_sctp_reset_streams(rtc_sctp *s, const uint16_t *ids, size_t n) {
    if (!s || !ids || n == 0) return RTC_ERR_INVALID;
    if (s->state == RTC_SCTP_DONE) return RTC_ERR_CLOSED;
    if (s->state != RTC_SCTP_ESTABLISHED || !s->peer_reconfig) return RTC_ERR_MISUSE;
    for (size_t i = 0; i < n; i++)
        if (ids[i] >= RTC_SCTP_MAX_STREAMS) return RTC_ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        stream *st = sctp_stream(s, ids[i], true);
        if (!st) return RTC_ERR_NOMEM;
        if (st->reset == RST_NONE) {
            st->reset = RST_WANTED;
            s->reconf_wanted++;
        }
    }
    reconf_maybe_send(s);
    return RTC_OK;
}
