/*
** TURN client data path (RFC 8656 §11 Send/Data indications, §12 ChannelData) and the
** event queue. See include/cwebrtc/turn_client.h.
**
** Outgoing data is encoded straight into caller memory (no queue to bound). Incoming
** data from a datagram is handed back zero-copy when the caller asks for it; otherwise
** (and always on a stream, where one read may hold many frames) it becomes a DATA event
** holding a copy. DATA events are bounded by count and by bytes; control events have a
** reserve of their own, so a flood of peer data cannot push out an ALLOCATED or FAILED.
*/
#include <string.h>

#include "turn/client_int.h"
#include "util/buf.h"

#define LOG_MODULE "turn-client"

/* ---- events ------------------------------------------------------------------------ */

int turnc_event_push(rtc_turn_client *c, const rtc_turn_event *ev) {
    bool is_data = ev->type == RTC_TURN_EV_DATA;
    if (c->ev_count >= c->ev_cap || (is_data && (c->ev_data >= c->max_data_events ||
                                                 c->ev_bytes + ev->len > c->max_queued_bytes))) {
        c->stats.dropped++;
        return RTC_ERR_NOMEM;
    }
    turnc_event *slot = &c->evq[(c->ev_head + c->ev_count) % c->ev_cap];
    slot->ev = *ev;
    slot->buf = NULL;
    if (is_data) {
        slot->buf = rtc_calloc(&c->env, ev->len ? ev->len : 1);
        if (!slot->buf) {
            c->stats.dropped++;
            return RTC_ERR_NOMEM;
        }
        memcpy(slot->buf, ev->data, ev->len);
        slot->ev.data = slot->buf;
        c->ev_data++;
        c->ev_bytes += ev->len;
    }
    c->ev_count++;
    return RTC_OK;
}

void turnc_events_free(rtc_turn_client *c) {
    if (!c->evq) return;
    while (c->ev_count) {
        turnc_event *e = &c->evq[c->ev_head];
        if (e->buf) rtc_free(&c->env, e->buf, e->ev.len ? e->ev.len : 1);
        c->ev_head = (c->ev_head + 1) % c->ev_cap;
        c->ev_count--;
    }
}

int rtc_turn_client_poll_event(rtc_turn_client *c, rtc_turn_event *out) {
    if (!c || !out) return 0;
    if (c->polled) {
        rtc_free(&c->env, c->polled, c->polled_len ? c->polled_len : 1);
        c->polled = NULL;
        c->polled_len = 0;
    }
    if (!c->ev_count) return 0;
    turnc_event *e = &c->evq[c->ev_head];
    c->ev_head = (c->ev_head + 1) % c->ev_cap;
    c->ev_count--;
    *out = e->ev;
    if (e->buf) {
        c->polled = e->buf; /* freed at the next poll_event or free */
        c->polled_len = e->ev.len;
        c->ev_data--;
        c->ev_bytes -= e->ev.len;
        e->buf = NULL;
    }
    return 1;
}

/* ---- incoming ---------------------------------------------------------------------- */

static int deliver(rtc_turn_client *c, const rtc_addr *peer, uint16_t channel, const uint8_t *p,
                   size_t n, rtc_turn_data *data) {
    c->stats.data_in++;
    if (channel) c->stats.channel_in++;
    if (data) {
        data->peer = *peer;
        data->channel = channel;
        data->data = p;
        data->len = n;
        return 1;
    }
    rtc_turn_event ev = {0};
    ev.type = RTC_TURN_EV_DATA;
    ev.peer = *peer;
    ev.channel = channel;
    ev.data = p;
    ev.len = n;
    turnc_event_push(c, &ev);
    return 0;
}

/* RFC 8656 §12.6: ChannelData from the server. Over UDP the datagram may carry padding
** after the payload; over a stream the framer has already cut the padding off. */
static int channel_data(rtc_turn_client *c, rtc_time now, const uint8_t *buf, size_t len,
                        bool stream, rtc_turn_data *data) {
    rtc_reader r;
    rtc_reader_init(&r, buf, len);
    uint16_t number = rtc_read_u16(&r);
    uint16_t n = rtc_read_u16(&r);
    const uint8_t *p = rtc_read_ptr(&r, n);
    if (r.err || number < RTC_TURN_CHANNEL_MIN || number > RTC_TURN_CHANNEL_MAX ||
        (stream && rtc_reader_left(&r) != 0) || rtc_reader_left(&r) > 3) {
        c->stats.dropped++;
        return RTC_ERR_PARSE;
    }
    turnc_chan *ch = turnc_chan_by_number(c, number);
    /* The server may relay on the channel as soon as it processed our ChannelBind,
    ** before its answer reaches us: accept pending channels too. */
    if (!ch || ch->state == TE_WAIT || ch->state == TE_FAILED) {
        c->stats.dropped++;
        return 0;
    }
    turnc_perm *pm = turnc_perm_find(c, &ch->peer);
    if (pm) pm->last_used = now;
    return deliver(c, &ch->peer, number, p ? p : buf, n, data);
}

/* RFC 8656 §11.6: a Data indication. */
static int data_indication(rtc_turn_client *c, rtc_time now, const rtc_stun_msg *m,
                           rtc_turn_data *data) {
    rtc_addr peer;
    const uint8_t *p;
    size_t n;
    if (rtc_stun_get_xor_addr(m, RTC_STUN_ATTR_XOR_PEER_ADDRESS, &peer) != RTC_OK ||
        rtc_stun_get_bytes(m, RTC_STUN_ATTR_DATA, &p, &n) != RTC_OK) {
        c->stats.dropped++;
        return RTC_ERR_PARSE;
    }
    /* Only from peers we installed a permission for (§11.6 "SHOULD"). */
    turnc_perm *pm = turnc_perm_find(c, &peer);
    if (!pm || pm->state == TE_WAIT) {
        c->stats.dropped++;
        return 0;
    }
    pm->last_used = now;
    return deliver(c, &peer, 0, p, n, data);
}

int turnc_input(rtc_turn_client *c, rtc_time now, const uint8_t *buf, size_t len, bool stream,
                rtc_turn_data *data) {
    if (len < 4) {
        c->stats.dropped++;
        return RTC_ERR_PARSE;
    }
    /* RFC 8656 §12.5 / RFC 7983: first two bits 01 = ChannelData, 00 = STUN. */
    if ((buf[0] & 0xC0) == 0x40) {
        if (c->state != RTC_TURN_CLIENT_ALLOCATED) {
            c->stats.dropped++;
            return 0;
        }
        return channel_data(c, now, buf, len, stream, data);
    }
    rtc_stun_msg m;
    int rc = rtc_stun_parse(&m, buf, len);
    if (rc == RTC_ERR_UNSUPPORTED) {
        /* Unknown comprehension-required attributes: a response is still ours to end
        ** (its error/success meaning is clear); an indication is dropped (§6.3.4). */
        if (m.cls != RTC_STUN_SUCCESS && m.cls != RTC_STUN_ERROR) {
            c->stats.dropped++;
            return 0;
        }
    } else if (rc != RTC_OK) {
        c->stats.dropped++;
        return RTC_ERR_PARSE;
    }
    if (m.cls == RTC_STUN_SUCCESS || m.cls == RTC_STUN_ERROR) {
        turnc_handle_response(c, now, &m);
        return 0;
    }
    if (m.cls == RTC_STUN_INDICATION && m.method == RTC_STUN_DATA &&
        c->state == RTC_TURN_CLIENT_ALLOCATED)
        return data_indication(c, now, &m, data);
    c->stats.dropped++; /* requests, other indications */
    return 0;
}

int rtc_turn_client_handle_packet(rtc_turn_client *c, rtc_time now, const rtc_addr *src,
                                  const uint8_t *buf, size_t len, rtc_turn_data *data) {
    if (!c || !buf) return RTC_ERR_INVALID;
    if (c->transport != RTC_TURN_UDP) return RTC_ERR_MISUSE;
    if (src && !rtc_addr_equal(src, &c->server)) {
        c->stats.dropped++;
        return RTC_ERR_NOT_FOUND;
    }
    return turnc_input(c, now, buf, len, false, data);
}

int rtc_turn_client_handle_stream(rtc_turn_client *c, rtc_time now, const uint8_t *buf,
                                  size_t len) {
    if (!c || (!buf && len)) return RTC_ERR_INVALID;
    if (c->transport != RTC_TURN_TCP) return RTC_ERR_MISUSE;
    size_t off = 0;
    int r = RTC_OK;
    /* Every round takes bytes or hands out at least one frame; a round that does neither
    ** would repeat forever, so it ends the loop. */
    while (r >= 0) {
        r = rtc_framer_push(c->framer, buf + off, len - off);
        if (r < 0) break;
        off += (size_t)r;
        bool progress = r > 0;
        rtc_frame fr;
        while ((r = rtc_framer_next(c->framer, &fr)) == 1) {
            progress = true;
            turnc_input(c, now, fr.data, fr.len, true, NULL);
            if (c->state == RTC_TURN_CLIENT_CLOSED) return RTC_OK;
        }
        if (off >= len || !progress) break;
    }
    if (r < 0) {
        c->stats.dropped++;
        turnc_fail(c, RTC_ERR_PARSE, 0);
        return RTC_ERR_PARSE;
    }
    return RTC_OK;
}

void rtc_turn_client_stream_closed(rtc_turn_client *c, rtc_time now) {
    if (!c) return;
    /* RFC 8656 §3.1: the allocation ends with the connection. A pending deallocation
    ** has thereby happened: CLOSED; otherwise the allocation was lost: FAILED. */
    if (c->state == RTC_TURN_CLIENT_CLOSING)
        turnc_closed(c);
    else
        turnc_fail(c, RTC_ERR_CLOSED, 0);
}

/* ---- outgoing ---------------------------------------------------------------------- */

int rtc_turn_client_send(rtc_turn_client *c, rtc_time now, const rtc_addr *peer,
                         const uint8_t *data, size_t len, uint8_t *out, size_t cap) {
    if (!c || !peer || !out || (!data && len) || len == 0 || len > 65535 ||
        !turnc_peer_family_ok(c, peer))
        return RTC_ERR_INVALID;
    if (c->state != RTC_TURN_CLIENT_ALLOCATED) return RTC_ERR_MISUSE;
    turnc_perm *p = turnc_perm_find(c, peer);
    if (!p) {
        int rc = turnc_perm_add(c, now, peer, false, &p);
        if (rc != RTC_OK) return rc;
    }
    if (p->state == TE_FAILED) return RTC_ERR_AUTH;
    p->last_used = now;
    turnc_chan *ch = turnc_chan_by_peer(c, peer);
    if (ch && ch->state == TE_OK) {
        /* RFC 8656 §12.5: 4-byte header; over TCP padded to a multiple of 4. */
        size_t total = 4 + len;
        if (c->transport == RTC_TURN_TCP) total = (total + 3) & ~(size_t)3;
        if (cap < total) return RTC_ERR_TOO_SMALL;
        rtc_writer w;
        rtc_writer_init(&w, out, cap);
        rtc_write_u16(&w, ch->number);
        rtc_write_u16(&w, (uint16_t)len);
        rtc_write_bytes(&w, data, len);
        rtc_write_fill(&w, 0, total - 4 - len);
        if (w.err) return RTC_ERR_TOO_SMALL;
        c->stats.data_out++;
        c->stats.channel_out++;
        return (int)total;
    }
    /* RFC 8656 §11.1: Send indication with XOR-PEER-ADDRESS and DATA. Indications are
    ** unauthenticated and get no answer, so their transaction id matches nothing; a
    ** random prefix drawn once plus a counter keeps them distinct without a call to the
    ** random source per packet (OpenSSL RAND cost 2.6 us of the 2.7 us per send). */
    uint8_t tid[RTC_STUN_TID_LEN];
    memcpy(tid, c->ind_tid, sizeof tid);
    uint32_t k = ++c->ind_count;
    for (int i = 0; i < 4; i++)
        tid[8 + i] ^= (uint8_t)(k >> (8 * (3 - i)));
    rtc_stun_builder b;
    rtc_stun_build_init(&b, out, cap, RTC_STUN_SEND, RTC_STUN_INDICATION, tid);
    rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_PEER_ADDRESS, peer);
    rtc_stun_add_attr(&b, RTC_STUN_ATTR_DATA, data, len);
    int n = rtc_stun_build_finish(&b);
    if (n < 0) return n == RTC_ERR_TOO_SMALL ? n : RTC_ERR_INVALID;
    c->stats.data_out++;
    return n;
}
