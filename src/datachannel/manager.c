/*
** src/datachannel/manager.c: the data channels of one SCTP association (RFC 8831, 8832).
**
** Per channel (one stream id in both directions):
**
**          local create                       peer's DATA_CHANNEL_OPEN
**               |                                        |  (ACK sent back, §6)
**               v          association up                v
**         CONNECTING ---------------------------------> OPEN
**               |                                        |
**               |  rtc_dc_close()  or  peer resets its outgoing stream (§6.7 of 8831)
**               +-------------------------+--------------+
**                                         v
**                                      CLOSING   we reset our outgoing stream too
**                                         |
**                                         |  our reset done AND the peer's reset seen
**                                         v
**                                      CLOSED    id freed when RTC_DC_EV_CLOSED is polled
**
** Events that do not carry message data go through a small queue (`evq`); a message is
** handed out straight from the association's event (zero copy). rtc_dc_poll_event()
** empties the queue before it pulls the next association event, so the queue holds at
** most what one association event produces (one event per channel for CONNECTED and
** CLOSED) plus one OPEN per channel created locally: it is bounded by max_channels.
**
** Channels live in an array sorted by id (binary search): lookups are per message, and
** a dense 65535-entry table would cost 512 KiB per association against a 32 KiB aim.
*/
#define LOG_MODULE "dc"
#include <string.h>

#include "cwebrtc/datachannel.h"
#include "util/buf.h"
#include "util/util.h"

#define NO_ID 65535u

typedef struct dc_chan {
    uint16_t id;
    uint8_t state; /* rtc_dc_state */
    bool negotiated, remote, ordered;
    bool acked;       /* may send unordered: ACK (or any data) seen, or no DCEP at all */
    bool ack_owed;    /* we still have to send an ACK (the send buffer was full) */
    bool out_reset;   /* we decided to reset our outgoing stream */
    bool out_wait_up; /* ...but the association is not up yet: do it on CONNECTED */
    bool out_done;    /* our reset completed */
    bool in_done;     /* the peer reset its outgoing stream */
    int32_t max_rtx, max_life;
    uint16_t priority;
    size_t low_threshold;
    char *strings;    /* label NUL protocol NUL, one allocation */
    size_t label_len, protocol_len;
} dc_chan;

typedef struct dc_qev {
    uint8_t kind;
    uint16_t id;
    int error;
    const char *what;
    rtc_sctp_close_reason reason;
    uint16_t cause;
    bool detached; /* CLOSED of a channel already taken out of the table (see on_open) */
} dc_qev;

struct rtc_dc {
    rtc_env env;
    rtc_sctp *sctp;
    rtc_dc_config cfg;
    dc_chan **ch; /* sorted by id */
    size_t n, cap;
    size_t label_bytes;
    dc_qev *q; /* ring */
    size_t qhead, qlen, qcap;
    bool up, dead;
    uint32_t remote_mms;
    rtc_time now;
    size_t acks_owed;
    rtc_dc_stats st;
};

static const uint8_t empty_byte[1] = {0};

void rtc_dc_config_default(rtc_dc_config *cfg) {
    if (!cfg) return;
    memset(cfg, 0, sizeof *cfg);
    cfg->max_message_size = 256 * 1024;
    cfg->max_channels = 1024;
    cfg->max_label_bytes = 1024 * 1024;
}

void rtc_dc_init_default(rtc_dc_init *init) {
    if (!init) return;
    memset(init, 0, sizeof *init);
    init->ordered = true;
    init->max_retransmits = -1;
    init->max_packet_life_time = -1;
    init->priority = RTC_DC_PRIORITY_LOW;
}

/* ---- channel table ----------------------------------------------------------------- */

/* Index of `id`, or of where it would be inserted (with *found false). */
static size_t chan_pos(const rtc_dc *dc, uint16_t id, bool *found) {
    size_t lo = 0, hi = dc->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (dc->ch[mid]->id < id) lo = mid + 1;
        else hi = mid;
    }
    *found = lo < dc->n && dc->ch[lo]->id == id;
    return lo;
}

static dc_chan *chan_find(const rtc_dc *dc, uint16_t id) {
    bool found;
    size_t i = chan_pos(dc, id, &found);
    return found ? dc->ch[i] : NULL;
}

/* Creates and inserts a channel with copies of label/protocol. NULL on NOMEM or bounds
** (the caller has checked that the id is free). */
static dc_chan *chan_add(rtc_dc *dc, uint16_t id, const uint8_t *label, size_t llen,
                         const uint8_t *proto, size_t plen) {
    if (dc->n >= dc->cfg.max_channels) return NULL;
    if (llen + plen > dc->cfg.max_label_bytes - RTC_MIN(dc->label_bytes, dc->cfg.max_label_bytes))
        return NULL;
    if (dc->n == dc->cap) {
        size_t ncap = dc->cap ? dc->cap * 2 : 4;
        if (ncap > dc->cfg.max_channels) ncap = dc->cfg.max_channels;
        dc_chan **nch = rtc_realloc(&dc->env, dc->ch, dc->cap * sizeof *nch, ncap * sizeof *nch);
        if (!nch) return NULL;
        dc->ch = nch;
        dc->cap = ncap;
    }
    dc_chan *c = rtc_calloc(&dc->env, sizeof *c);
    if (!c) return NULL;
    c->strings = rtc_calloc(&dc->env, llen + plen + 2);
    if (!c->strings) {
        rtc_free(&dc->env, c, sizeof *c);
        return NULL;
    }
    if (llen) memcpy(c->strings, label, llen);
    if (plen) memcpy(c->strings + llen + 1, proto, plen);
    c->label_len = llen;
    c->protocol_len = plen;
    c->id = id;
    c->max_rtx = -1;
    c->max_life = -1;
    bool found;
    size_t i = chan_pos(dc, id, &found);
    memmove(&dc->ch[i + 1], &dc->ch[i], (dc->n - i) * sizeof *dc->ch);
    dc->ch[i] = c;
    dc->n++;
    dc->label_bytes += llen + plen;
    return c;
}

static void chan_free(rtc_dc *dc, dc_chan *c) {
    rtc_free(&dc->env, c->strings, c->label_len + c->protocol_len + 2);
    rtc_free(&dc->env, c, sizeof *c);
}

static void chan_remove(rtc_dc *dc, uint16_t id) {
    bool found;
    size_t i = chan_pos(dc, id, &found);
    if (!found) return;
    dc_chan *c = dc->ch[i];
    /* The id may be reused by a new channel: it must start with the default threshold. */
    if (c->low_threshold && !dc->dead) (void)rtc_sctp_set_buffered_amount_low(dc->sctp, id, 0);
    if (c->ack_owed) dc->acks_owed--;
    dc->label_bytes -= c->label_len + c->protocol_len;
    memmove(&dc->ch[i], &dc->ch[i + 1], (dc->n - i - 1) * sizeof *dc->ch);
    dc->n--;
    chan_free(dc, c);
}

/* ---- event queue ------------------------------------------------------------------- */

static void q_push(rtc_dc *dc, uint8_t kind, uint16_t id, int error, const char *what) {
    if (dc->qlen == dc->qcap) {
        size_t ncap = dc->qcap ? dc->qcap * 2 : 8;
        dc_qev *nq = rtc_calloc(&dc->env, ncap * sizeof *nq);
        if (!nq) {
            /* Losing an event is better than crashing; it only happens under NOMEM. */
            RTC_LOGE(&dc->env, "event queue: out of memory, event %d for %u lost", kind, id);
            return;
        }
        for (size_t i = 0; i < dc->qlen; i++) nq[i] = dc->q[(dc->qhead + i) % dc->qcap];
        rtc_free(&dc->env, dc->q, dc->qcap * sizeof *dc->q);
        dc->q = nq;
        dc->qcap = ncap;
        dc->qhead = 0;
    }
    dc_qev *e = &dc->q[(dc->qhead + dc->qlen) % dc->qcap];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->id = id;
    e->error = error;
    e->what = what;
    dc->qlen++;
}

static void q_error(rtc_dc *dc, uint16_t id, int err, const char *what) {
    RTC_LOGW(&dc->env, "channel %u: %s", id, what);
    q_push(dc, RTC_DC_EV_ERROR, id, err, what);
}

/* ---- lifecycle --------------------------------------------------------------------- */

int rtc_dc_new(rtc_dc **out, rtc_sctp *sctp, const rtc_dc_config *cfg, const rtc_env *env) {
    if (!out) return RTC_ERR_INVALID;
    *out = NULL;
    if (!sctp) return RTC_ERR_INVALID;
    rtc_dc_config c;
    if (cfg) c = *cfg;
    else rtc_dc_config_default(&c);
    if (c.max_message_size == 0 || c.max_channels == 0 || c.max_channels > 65535)
        return RTC_ERR_INVALID;
    rtc_env e;
    rtc_env_copy(&e, env);
    rtc_dc *dc = rtc_calloc(&e, sizeof *dc);
    if (!dc) return RTC_ERR_NOMEM;
    dc->env = e;
    dc->sctp = sctp;
    dc->cfg = c;
    rtc_sctp_state s = rtc_sctp_get_state(sctp);
    dc->up = s == RTC_SCTP_ESTABLISHED;
    dc->dead = s == RTC_SCTP_DONE;
    *out = dc;
    return RTC_OK;
}

void rtc_dc_free(rtc_dc *dc) {
    if (!dc) return;
    for (size_t i = 0; i < dc->n; i++) chan_free(dc, dc->ch[i]);
    rtc_free(&dc->env, dc->ch, dc->cap * sizeof *dc->ch);
    rtc_free(&dc->env, dc->q, dc->qcap * sizeof *dc->q);
    rtc_env e = dc->env;
    rtc_free(&e, dc, sizeof *dc);
}

/* ---- sending ----------------------------------------------------------------------- */

static int send_dcep(rtc_dc *dc, uint16_t id, const uint8_t *b, size_t len) {
    /* RFC 8832 §6: DCEP messages go reliable and ordered, like the data they precede. */
    rtc_sctp_send_opts o = rtc_sctp_send_opts_reliable(id, RTC_SCTP_PPID_DCEP);
    return rtc_sctp_send(dc->sctp, dc->now, &o, b, len);
}

static void send_ack(rtc_dc *dc, dc_chan *c) {
    static const uint8_t ack[1] = {RTC_DCEP_ACK};
    int r = send_dcep(dc, c->id, ack, 1);
    /* AGAIN/NOMEM: the send buffer is full. MISUSE: our reset of the stream's previous
    ** channel is still in flight (see on_open). Both pass: retry on later polls. */
    if (r == RTC_ERR_AGAIN || r == RTC_ERR_NOMEM || r == RTC_ERR_MISUSE) {
        if (!c->ack_owed) dc->acks_owed++;
        c->ack_owed = true;
        return;
    }
    if (c->ack_owed) dc->acks_owed--;
    c->ack_owed = false;
    if (r < 0) q_error(dc, c->id, r, "could not send DATA_CHANNEL_ACK");
}

static void retry_acks(rtc_dc *dc) {
    for (size_t i = 0; i < dc->n && dc->acks_owed; i++) {
        dc_chan *c = dc->ch[i];
        if (!c->ack_owed) continue;
        if (c->state != RTC_DC_OPEN) { /* closing: the peer no longer needs it */
            c->ack_owed = false;
            dc->acks_owed--;
            continue;
        }
        send_ack(dc, c);
        if (c->ack_owed) return; /* still full: try again on a later poll */
    }
}

static void mark_closed(rtc_dc *dc, dc_chan *c) {
    if (c->state == RTC_DC_CLOSED) return;
    c->state = RTC_DC_CLOSED;
    dc->st.channels_closed++;
    q_push(dc, RTC_DC_EV_CLOSED, c->id, 0, NULL);
}

static void check_closed(rtc_dc *dc, dc_chan *c) {
    if (c->out_done && c->in_done) mark_closed(dc, c);
}

/* Resets our outgoing stream of `c` (RFC 8831 §6.7). */
static void start_reset(rtc_dc *dc, dc_chan *c) {
    if (c->out_reset && !c->out_wait_up) return;
    c->out_reset = true;
    if (dc->dead) {
        mark_closed(dc, c);
        return;
    }
    if (!dc->up) {
        c->out_wait_up = true;
        return;
    }
    c->out_wait_up = false;
    int r = rtc_sctp_reset_streams(dc->sctp, &c->id, 1);
    if (r == RTC_OK) return;
    /* MISUSE: the peer has no RE-CONFIG or the association is going down; CLOSED: it is
    ** gone. Either way no reset will ever complete: the channel is closed now. */
    if (r != RTC_ERR_MISUSE && r != RTC_ERR_CLOSED)
        q_error(dc, c->id, r, "stream reset failed; channel closed");
    c->out_done = c->in_done = true;
    mark_closed(dc, c);
}

int rtc_dc_create(rtc_dc *dc, rtc_time now, const rtc_dc_init *init, uint16_t *id_out) {
    if (!dc || !init) return RTC_ERR_INVALID;
    if (init->max_retransmits >= 0 && init->max_packet_life_time >= 0) return RTC_ERR_INVALID;
    const char *label = init->label ? init->label : "";
    const char *proto = init->protocol ? init->protocol : "";
    size_t llen = strlen(label), plen = strlen(proto);
    if (llen > 65535 || plen > 65535) return RTC_ERR_INVALID;
    if (init->negotiated && init->id >= NO_ID) return RTC_ERR_INVALID;
    rtc_sctp_state ss = rtc_sctp_get_state(dc->sctp);
    if (dc->dead || ss >= RTC_SCTP_SHUTDOWN_PENDING) return RTC_ERR_MISUSE;
    dc->now = now;

    uint16_t id;
    if (init->negotiated) {
        if (chan_find(dc, init->id)) return RTC_ERR_MISUSE;
        id = init->id;
    } else {
        /* RFC 8832 §6: the DTLS client takes even ids, the server odd ones. */
        uint32_t cand = dc->cfg.dtls_client ? 0 : 1;
        while (cand < NO_ID && chan_find(dc, (uint16_t)cand)) cand += 2;
        if (cand >= NO_ID) return RTC_ERR_NOMEM;
        id = (uint16_t)cand;
    }
    if (dc->n >= dc->cfg.max_channels) return RTC_ERR_NOMEM;

    uint8_t ct = init->max_retransmits >= 0        ? RTC_DCEP_PARTIAL_RELIABLE_REXMIT
                 : init->max_packet_life_time >= 0 ? RTC_DCEP_PARTIAL_RELIABLE_TIMED
                                                   : RTC_DCEP_RELIABLE;
    if (!init->ordered) ct |= 0x80;

    /* RFC 8831 §6.4: the channel's priority weights its stream in the association's
    ** scheduler (the OPEN itself goes out at that priority too). */
    int pr = rtc_sctp_set_stream_priority(dc->sctp, id, init->priority);
    if (pr < 0) return pr;
    if (!init->negotiated) {
        /* Queue the OPEN first: if the association cannot take it, nothing changes. */
        rtc_dcep_msg m = {
            .type = RTC_DCEP_OPEN,
            .channel_type = ct,
            .priority = init->priority,
            .reliability = (uint32_t)(init->max_retransmits >= 0 ? init->max_retransmits
                                      : init->max_packet_life_time >= 0
                                          ? init->max_packet_life_time
                                          : 0),
            .label = (const uint8_t *)label,
            .label_len = (uint16_t)llen,
            .protocol = (const uint8_t *)proto,
            .protocol_len = (uint16_t)plen,
        };
        if (llen + plen > dc->cfg.max_label_bytes - RTC_MIN(dc->label_bytes, dc->cfg.max_label_bytes))
            return RTC_ERR_NOMEM;
        uint8_t small[256];
        size_t need = rtc_dcep_encoded_size(&m), blen = need;
        uint8_t *b = need <= sizeof small ? small : rtc_calloc(&dc->env, need);
        if (!b) return RTC_ERR_NOMEM;
        int r = rtc_dcep_encode(&m, b, &blen);
        if (r == RTC_OK) r = send_dcep(dc, id, b, blen);
        if (b != small) rtc_free(&dc->env, b, need);
        if (r == RTC_ERR_INVALID) r = RTC_ERR_TOO_SMALL; /* OPEN over max message size */
        if (r < 0) return r;
    }
    dc_chan *c = chan_add(dc, id, (const uint8_t *)label, llen, (const uint8_t *)proto, plen);
    if (!c) {
        /* The OPEN is already queued; close the stream again so the peer's channel
        ** (if it opens one) goes away. Rare: only under NOMEM. */
        if (!init->negotiated && dc->up) (void)rtc_sctp_reset_streams(dc->sctp, &id, 1);
        return RTC_ERR_NOMEM;
    }
    c->negotiated = init->negotiated;
    c->ordered = init->ordered;
    c->acked = init->negotiated;
    c->max_rtx = init->max_retransmits >= 0 ? init->max_retransmits : -1;
    c->max_life = init->max_retransmits < 0 && init->max_packet_life_time >= 0
                      ? init->max_packet_life_time
                      : -1;
    c->priority = init->priority;
    c->state = RTC_DC_CONNECTING;
    if (dc->up) {
        c->state = RTC_DC_OPEN;
        dc->st.channels_opened++;
        q_push(dc, RTC_DC_EV_OPEN, id, 0, NULL);
    }
    if (id_out) *id_out = id;
    return RTC_OK;
}

int rtc_dc_send(rtc_dc *dc, rtc_time now, uint16_t id, bool binary, const uint8_t *data,
                size_t len) {
    if (!dc || (len && !data)) return RTC_ERR_INVALID;
    dc_chan *c = chan_find(dc, id);
    if (!c) return RTC_ERR_NOT_FOUND;
    if (c->state != RTC_DC_OPEN) return RTC_ERR_MISUSE;
    if (dc->dead) return RTC_ERR_CLOSED;
    uint32_t mms = dc->cfg.max_message_size;
    if (dc->remote_mms && dc->remote_mms < mms) mms = dc->remote_mms;
    if (len > mms) return RTC_ERR_TOO_SMALL;
    dc->now = now;
    uint32_t ppid;
    if (len == 0) {
        /* RFC 8831 §6.6: SCTP cannot carry an empty message; send one 0x00 byte. */
        ppid = binary ? RTC_SCTP_PPID_BINARY_EMPTY : RTC_SCTP_PPID_STRING_EMPTY;
        data = empty_byte;
    } else {
        ppid = binary ? RTC_SCTP_PPID_BINARY : RTC_SCTP_PPID_STRING;
    }
    rtc_sctp_send_opts o = {
        .stream = id,
        .ppid = ppid,
        /* RFC 8832 §6: ordered until the ACK, so no message can overtake the OPEN. */
        .unordered = !c->ordered && c->acked,
        .max_retransmits = c->max_rtx,
        .max_lifetime_ms = c->max_life,
    };
    int r = rtc_sctp_send(dc->sctp, now, &o, data, len ? len : 1);
    if (r == RTC_ERR_INVALID) return RTC_ERR_TOO_SMALL; /* the association's limit */
    if (r < 0) return r;
    dc->st.messages_sent++;
    dc->st.bytes_sent += len;
    return RTC_OK;
}

int rtc_dc_close(rtc_dc *dc, rtc_time now, uint16_t id) {
    if (!dc) return RTC_ERR_INVALID;
    dc_chan *c = chan_find(dc, id);
    if (!c) return RTC_ERR_NOT_FOUND;
    if (c->state == RTC_DC_CLOSING || c->state == RTC_DC_CLOSED) return RTC_OK;
    dc->now = now;
    c->state = RTC_DC_CLOSING;
    start_reset(dc, c);
    return RTC_OK;
}

/* ---- queries ----------------------------------------------------------------------- */

int rtc_dc_get_state(const rtc_dc *dc, uint16_t id) {
    const dc_chan *c = dc ? chan_find(dc, id) : NULL;
    return c ? (int)c->state : RTC_ERR_NOT_FOUND;
}

static void fill_info(const dc_chan *c, rtc_dc_info *info) {
    info->id = c->id;
    info->state = (rtc_dc_state)c->state;
    info->label = c->strings;
    info->label_len = c->label_len;
    info->protocol = c->strings + c->label_len + 1;
    info->protocol_len = c->protocol_len;
    info->ordered = c->ordered;
    info->max_retransmits = c->max_rtx;
    info->max_packet_life_time = c->max_life;
    info->priority = c->priority;
    info->negotiated = c->negotiated;
    info->remote = c->remote;
}

int rtc_dc_get_info(const rtc_dc *dc, uint16_t id, rtc_dc_info *info) {
    const dc_chan *c = dc ? chan_find(dc, id) : NULL;
    if (!c) return RTC_ERR_NOT_FOUND;
    if (info) fill_info(c, info);
    return RTC_OK;
}

size_t rtc_dc_count(const rtc_dc *dc) { return dc ? dc->n : 0; }

size_t rtc_dc_buffered_amount(const rtc_dc *dc, uint16_t id) {
    if (!dc || !chan_find(dc, id)) return 0;
    return rtc_sctp_buffered_amount(dc->sctp, id);
}

int rtc_dc_set_buffered_amount_low_threshold(rtc_dc *dc, uint16_t id, size_t threshold) {
    dc_chan *c = dc ? chan_find(dc, id) : NULL;
    if (!c) return RTC_ERR_NOT_FOUND;
    int r = rtc_sctp_set_buffered_amount_low(dc->sctp, id, threshold);
    if (r == RTC_OK) c->low_threshold = threshold;
    return r;
}

void rtc_dc_set_remote_max_message_size(rtc_dc *dc, uint32_t size) {
    if (!dc) return;
    dc->remote_mms = size;
    rtc_sctp_set_remote_max_message_size(dc->sctp, size);
}

void rtc_dc_get_stats(const rtc_dc *dc, rtc_dc_stats *st) {
    if (!st) return;
    if (!dc) {
        memset(st, 0, sizeof *st);
        return;
    }
    *st = dc->st;
}

/* ---- receiving --------------------------------------------------------------------- */

static void on_open(rtc_dc *dc, uint16_t id, const rtc_dcep_msg *m) {
    dc->st.opens_received++;
    dc_chan *c = chan_find(dc, id);
    if (c && c->state == RTC_DC_CLOSING && c->in_done) {
        /* The peer reset its side of the old channel and now reuses the id, so it has
        ** also performed our reset: only its answer is missing (lost, or behind this
        ** OPEN). The old channel is closed; take it out of the table now so the new one
        ** can be created, and let its CLOSED event (queued first) not touch the table. */
        size_t before = dc->qlen;
        c->out_done = true;
        mark_closed(dc, c);
        if (dc->qlen > before) dc->q[(dc->qhead + dc->qlen - 1) % dc->qcap].detached = true;
        chan_remove(dc, id);
        c = NULL;
    }
    if (c) {
        /* Both sides picked the same id (a peer ignoring the even/odd rule) or a
        ** duplicate OPEN: keep the channel we have. */
        dc->st.dcep_errors++;
        q_error(dc, id, RTC_ERR_PARSE, "DATA_CHANNEL_OPEN for a stream already in use");
        return;
    }
    c = chan_add(dc, id, m->label, m->label_len, m->protocol, m->protocol_len);
    if (!c) {
        /* RFC 8832 §6: a channel we cannot open is closed by resetting its stream. */
        dc->st.opens_refused++;
        q_error(dc, id, RTC_ERR_NOMEM, "DATA_CHANNEL_OPEN refused: channel or label limit");
        if (dc->up) (void)rtc_sctp_reset_streams(dc->sctp, &id, 1);
        return;
    }
    uint8_t kind = m->channel_type & 0x7f;
    int32_t param = m->reliability > INT32_MAX ? INT32_MAX : (int32_t)m->reliability;
    c->remote = true;
    c->acked = true; /* the peer sent the OPEN: it may send and receive unordered */
    c->ordered = !(m->channel_type & 0x80);
    c->max_rtx = kind == RTC_DCEP_PARTIAL_RELIABLE_REXMIT ? param : -1;
    c->max_life = kind == RTC_DCEP_PARTIAL_RELIABLE_TIMED ? param : -1;
    c->priority = m->priority;
    /* Our side of the channel sends at the priority the peer asked for (RFC 8831 §6.4);
    ** NOMEM here only leaves the default weight. */
    (void)rtc_sctp_set_stream_priority(dc->sctp, id, m->priority);
    c->state = RTC_DC_OPEN;
    dc->st.channels_opened++;
    q_push(dc, RTC_DC_EV_OPEN, id, 0, NULL);
    send_ack(dc, c);
}

static void on_dcep(rtc_dc *dc, uint16_t id, const uint8_t *data, size_t len) {
    rtc_dcep_msg m;
    int r = rtc_dcep_parse(data, len, &m);
    if (r < 0) {
        dc->st.dcep_errors++;
        q_error(dc, id, r, r == RTC_ERR_UNSUPPORTED ? "unknown DCEP message type"
                                                    : "malformed DCEP message");
        return;
    }
    if (m.type == RTC_DCEP_OPEN) {
        on_open(dc, id, &m);
        return;
    }
    dc_chan *c = chan_find(dc, id);
    if (c && !c->remote && !c->negotiated) c->acked = true;
    else RTC_LOGD(&dc->env, "stray DATA_CHANNEL_ACK on stream %u ignored", id);
}

/* A user message from the association. Returns 1 and fills *ev when it is delivered. */
static int on_message(rtc_dc *dc, const rtc_sctp_event *sev, rtc_dc_event *ev) {
    bool binary, empty;
    switch (sev->ppid) {
    case RTC_SCTP_PPID_DCEP:
        on_dcep(dc, sev->stream, sev->data, sev->len);
        return 0;
    case RTC_SCTP_PPID_STRING: binary = false, empty = false; break;
    case RTC_SCTP_PPID_BINARY: binary = true, empty = false; break;
    case RTC_SCTP_PPID_STRING_EMPTY: binary = false, empty = true; break;
    case RTC_SCTP_PPID_BINARY_EMPTY: binary = true, empty = true; break;
    default:
        /* 52/54 (deprecated partial messages, RFC 8831 §8) and anything else. */
        dc->st.dropped_messages++;
        q_error(dc, sev->stream, RTC_ERR_UNSUPPORTED, "message with an unknown PPID dropped");
        return 0;
    }
    dc_chan *c = chan_find(dc, sev->stream);
    if (!c || c->in_done || (c->state != RTC_DC_OPEN && c->state != RTC_DC_CLOSING)) {
        dc->st.dropped_messages++;
        q_error(dc, sev->stream, RTC_ERR_NOT_FOUND, "message on a stream without a channel");
        return 0;
    }
    if (!empty && sev->len > dc->cfg.max_message_size) {
        dc->st.dropped_messages++;
        q_error(dc, sev->stream, RTC_ERR_PARSE, "message over max-message-size dropped");
        return 0;
    }
    /* Data from the peer on our stream means it has processed our OPEN (Chrome does the
    ** same): the ACK is implied. */
    c->acked = true;
    memset(ev, 0, sizeof *ev);
    ev->kind = RTC_DC_EV_MESSAGE;
    ev->id = sev->stream;
    ev->binary = binary;
    ev->data = empty || !sev->data ? empty_byte : sev->data;
    ev->len = empty ? 0 : sev->len;
    dc->st.messages_received++;
    dc->st.bytes_received += ev->len;
    return 1;
}

static void on_connected(rtc_dc *dc) {
    if (dc->up) return;
    dc->up = true;
    q_push(dc, RTC_DC_EV_SCTP_CONNECTED, NO_ID, 0, NULL);
    for (size_t i = 0; i < dc->n; i++) {
        dc_chan *c = dc->ch[i];
        if (c->state == RTC_DC_CONNECTING) {
            c->state = RTC_DC_OPEN;
            dc->st.channels_opened++;
            q_push(dc, RTC_DC_EV_OPEN, c->id, 0, NULL);
        }
    }
    /* Closes asked for before the association was up. Iterate by id: start_reset may
    ** close a channel but never removes one from the table. */
    for (size_t i = 0; i < dc->n; i++)
        if (dc->ch[i]->out_wait_up) start_reset(dc, dc->ch[i]);
}

/* W3C webrtc-pc §6.2 "announcing a data channel as closed": when the transport went away
** with an error, each channel not yet closed gets an RTCError with errorDetail
** "sctp-failure" before its close. A graceful SHUTDOWN or our own ABORT (rtc_sctp_abort:
** the application closed) is no error. The `what` texts start with "sctp-failure" so the
** W3C detail can be read off them. */
static void abnormal_end(int reason, int *err, const char **what) {
    switch (reason) {
    case RTC_SCTP_CLOSE_PEER_ABORT:
        *err = RTC_ERR_CLOSED;
        *what = "sctp-failure: the peer aborted the association";
        break;
    case RTC_SCTP_CLOSE_TIMEOUT:
        *err = RTC_ERR_TIMEOUT;
        *what = "sctp-failure: the association timed out (retransmissions exhausted)";
        break;
    case RTC_SCTP_CLOSE_PROTOCOL:
        *err = RTC_ERR_PARSE;
        *what = "sctp-failure: the association was aborted (the peer broke the protocol)";
        break;
    default:
        *err = 0;
        *what = NULL;
        break;
    }
}

static void on_closed(rtc_dc *dc, const rtc_sctp_event *sev) {
    dc->up = false;
    dc->dead = true;
    int err;
    const char *what;
    abnormal_end((int)sev->reason, &err, &what);
    for (size_t i = 0; i < dc->n; i++) {
        if (err && dc->ch[i]->state != RTC_DC_CLOSED) q_error(dc, dc->ch[i]->id, err, what);
        mark_closed(dc, dc->ch[i]);
    }
    q_push(dc, RTC_DC_EV_SCTP_CLOSED, NO_ID, 0, NULL);
    if (!dc->qlen) return;
    dc_qev *e = &dc->q[(dc->qhead + dc->qlen - 1) % dc->qcap];
    if (e->kind == RTC_DC_EV_SCTP_CLOSED) {
        e->reason = sev->reason;
        e->cause = sev->error_cause;
    }
}

static void on_sctp_event(rtc_dc *dc, const rtc_sctp_event *sev) {
    dc_chan *c;
    switch (sev->kind) {
    case RTC_SCTP_EV_CONNECTED: on_connected(dc); break;
    case RTC_SCTP_EV_CLOSED: on_closed(dc, sev); break;
    case RTC_SCTP_EV_STREAM_RESET:
        /* RFC 8831 §6.7: the peer closed its side; close ours for the same id. */
        c = chan_find(dc, sev->stream);
        if (!c || c->state == RTC_DC_CLOSED) break;
        c->in_done = true;
        if (c->state != RTC_DC_CLOSING) {
            c->state = RTC_DC_CLOSING;
            q_push(dc, RTC_DC_EV_CLOSING, c->id, 0, NULL);
        }
        start_reset(dc, c);
        check_closed(dc, c);
        break;
    case RTC_SCTP_EV_STREAM_RESET_DONE:
        c = chan_find(dc, sev->stream);
        /* out_reset: a late answer for a previous channel on this id is not ours */
        if (!c || c->state == RTC_DC_CLOSED || !c->out_reset) break;
        c->out_done = true;
        check_closed(dc, c);
        break;
    case RTC_SCTP_EV_STREAM_RESET_FAILED:
        c = chan_find(dc, sev->stream);
        if (!c || c->state == RTC_DC_CLOSED || !c->out_reset) break;
        q_error(dc, c->id, RTC_ERR_MISUSE, "the peer refused to reset the stream");
        c->out_done = c->in_done = true;
        mark_closed(dc, c);
        break;
    case RTC_SCTP_EV_BUFFERED_AMOUNT_LOW:
        c = chan_find(dc, sev->stream);
        if (c && (c->state == RTC_DC_OPEN || c->state == RTC_DC_CLOSING))
            q_push(dc, RTC_DC_EV_BUFFERED_AMOUNT_LOW, c->id, 0, NULL);
        break;
    case RTC_SCTP_EV_MESSAGE: break; /* handled by the caller */
    }
}

/* Pops one queued event into *ev. 0 when the queued entry is stale. */
static int q_pop(rtc_dc *dc, rtc_dc_event *ev) {
    dc_qev e = dc->q[dc->qhead];
    dc->qhead = (dc->qhead + 1) % dc->qcap;
    dc->qlen--;
    memset(ev, 0, sizeof *ev);
    ev->kind = (rtc_dc_event_kind)e.kind;
    ev->id = e.id;
    ev->error = e.error;
    ev->what = e.what;
    ev->reason = e.reason;
    ev->error_cause = e.cause;
    ev->data = empty_byte;
    if (e.kind == RTC_DC_EV_OPEN) {
        dc_chan *c = chan_find(dc, e.id);
        if (!c) return 0;
        fill_info(c, &ev->info);
    } else if (e.kind == RTC_DC_EV_CLOSED && !e.detached) {
        chan_remove(dc, e.id); /* the id is free from here on */
    }
    return 1;
}

int rtc_dc_poll_event(rtc_dc *dc, rtc_dc_event *ev) {
    if (!dc || !ev) return 0;
    for (;;) {
        if (dc->acks_owed && dc->up) retry_acks(dc);
        if (dc->qlen) {
            if (q_pop(dc, ev)) return 1;
            continue;
        }
        rtc_sctp_event sev;
        if (!rtc_sctp_poll_event(dc->sctp, &sev)) return 0;
        if (sev.kind == RTC_SCTP_EV_MESSAGE) {
            if (on_message(dc, &sev, ev)) return 1;
        } else {
            on_sctp_event(dc, &sev);
        }
    }
}
