/*
** src/pc/relay.c: TURN relays for the peer connection (RFC 8656 over UDP), plugged into
** ICE as include/cwebrtc/turn_client.h describes: one rtc_turn_client per turn: server,
** known to ICE by relay id (index + 1).
**
**   gathering starts        -> rtc_ice_expect_relay + Allocate
**   ALLOCATED               -> rtc_ice_add_relayed(id, relayed, local socket)
**   FAILED / ALTERNATE      -> rtc_ice_relay_failed(id)
**   ICE RELAY_PERMISSION    -> CreatePermission
**   ICE SELECTED_PAIR relay -> ChannelBind (data then goes as 4-byte-header ChannelData)
**   ICE/DTLS out via relay  -> Send indication / ChannelData to the server
**   datagram from a server  -> the client unwraps peer data -> the demultiplexer, as if it
**                              came from the peer to the relayed address
** TCP and TLS transports (turn:?transport=tcp, turns:): the client is a TCP client and the
** core asks the driver for the stream with RTC_PC_EV_RELAY_STREAM (stream id = relay id);
** its transmits carry that id, the driver feeds back what it reads
** (rtc_pc_relay_stream_input) or that the connection is gone (rtc_pc_relay_stream_closed).
** TLS is entirely the driver's: the bytes are identical to TCP. Sockets stay out of here.
*/
#include <string.h>

#include "pc/pc_int.h"
#include "util/util.h"

#define LOG_MODULE "pc"
#define PC_TURN_BUF 2048

/* A TURN server named by host name gets its relay slot (and ICE its expectation) when
** gathering starts, so gathering waits for the resolution; the client follows when the
** address comes (or the slot fails when it does not). */
void pc_relay_start(rtc_pc *pc) {
    for (size_t i = 0; i < pc->n_servers; i++) {
        pc_server *s = &pc->servers[i];
        if (!s->turn || s->started) continue;
        size_t k = s->relay_slot ? s->relay_slot - 1u : pc->n_relays;
        if (!s->relay_slot) {
            if (pc->n_relays >= RTC_PC_MAX_ICE_SERVERS) continue;
            memset(&pc->relays[k], 0, sizeof pc->relays[k]);
            pc->n_relays++;
            s->relay_slot = (uint8_t)(k + 1);
            rtc_ice_expect_relay(pc->ice, (uint32_t)(k + 1));
        }
        uint32_t id = (uint32_t)(k + 1);
        if (!s->addr.family && !s->unresolved) continue; /* waiting for rtc_pc_resolved */
        s->started = true;
        const rtc_addr *local = NULL;
        for (size_t j = 0; j < pc->n_locals && !local && !s->unresolved; j++)
            if (pc->locals[j].family == s->addr.family) local = &pc->locals[j];
        if (s->unresolved) {
            RTC_LOGW(&pc->env, "TURN server %s: name not resolved", s->host);
        } else if (!local) {
            RTC_LOGW(&pc->env, "TURN server %s: no local address of its family", s->host);
        } else if (!pc->turn_buf && !(pc->turn_buf = rtc_calloc(&pc->env, PC_TURN_BUF))) {
            /* no memory: this relay fails */
        } else {
            rtc_turn_client_config c;
            memset(&c, 0, sizeof c);
            c.username = s->username;
            c.password = s->credential;
            c.server = s->addr;
            c.local = *local;
            c.transport = s->udp ? RTC_TURN_UDP : RTC_TURN_TCP;
            c.family = s->addr.family;
            /* The driver hears about a stream before its first bytes (the Allocate):
            ** events come out of poll_output before transmits. */
            if (rtc_turn_client_new(&pc->relays[k].c, &c, &pc->env) == RTC_OK &&
                (s->udp || pc_queue(pc, RTC_PC_EV_RELAY_STREAM, s->tls, id, s->host) == RTC_OK)) {
                pc->relays[k].server = s->addr;
                pc->relays[k].local = *local;
                pc->relays[k].stream = !s->udp;
                pc->relays[k].tls = s->tls;
                rtc_turn_client_allocate(pc->relays[k].c, pc->now);
                continue;
            }
            rtc_turn_client_free(pc->relays[k].c);
            pc->relays[k].c = NULL;
        }
        rtc_ice_relay_failed(pc->ice, id);
    }
}

bool pc_relay_input(rtc_pc *pc, rtc_time now, const rtc_addr *src, const rtc_addr *dst,
                    const uint8_t *buf, size_t len) {
    for (size_t k = 0; k < pc->n_relays; k++) {
        if (!pc->relays[k].c || pc->relays[k].stream || !rtc_addr_equal(src, &pc->relays[k].server))
            continue;
        rtc_turn_data d;
        int rc = rtc_turn_client_handle_packet(pc->relays[k].c, now, src, buf, len, &d);
        if (rc == 1 && d.len > 0) {
            rtc_addr relayed;
            if (rtc_turn_client_get_relayed(pc->relays[k].c, &relayed, NULL) == RTC_OK)
                pc_demux_up(pc, now, &d.peer, &relayed, d.data, d.len);
        } else if (rc < 0) {
            pc->dropped++;
        }
        return true;
    }
    return false;
}

void pc_relay_pump(rtc_pc *pc) {
    for (size_t k = 0; k < pc->n_relays; k++) {
        rtc_turn_event ev;
        uint32_t id = (uint32_t)(k + 1);
        while (pc->relays[k].c && rtc_turn_client_poll_event(pc->relays[k].c, &ev) == 1) {
            switch (ev.type) {
            case RTC_TURN_EV_ALLOCATED: {
                char a[RTC_ADDR_STRLEN];
                rtc_addr_fmt(&ev.relayed, a, sizeof a);
                int rc = rtc_ice_add_relayed(pc->ice, id, &ev.relayed, &pc->relays[k].local);
                RTC_LOGI(&pc->env, "TURN allocation %u over %s: relayed %s (%s)", id,
                         pc_relay_protocol(pc, id), a, rtc_strerror(rc));
                break;
            }
            case RTC_TURN_EV_FAILED:
            case RTC_TURN_EV_ALTERNATE:
                RTC_LOGW(&pc->env, "TURN allocation %u failed: %s (STUN %d)", id,
                         rtc_strerror(ev.error), ev.stun_code);
                rtc_ice_relay_failed(pc->ice, id);
                break;
            case RTC_TURN_EV_DATA: {
                rtc_addr relayed;
                if (rtc_turn_client_get_relayed(pc->relays[k].c, &relayed, NULL) == RTC_OK)
                    pc_demux_up(pc, pc->now, &ev.peer, &relayed, ev.data, ev.len);
                break;
            }
            default:
                break;
            }
        }
    }
}

bool pc_relay_poll_transmit(rtc_pc *pc, rtc_pc_transmit *out) {
    for (size_t k = 0; k < pc->n_relays; k++) {
        rtc_turn_client_transmit t;
        if (pc->relays[k].c && rtc_turn_client_poll_transmit(pc->relays[k].c, &t) == 1) {
            out->src = t.src;
            out->dst = t.dst;
            out->data = t.data;
            out->len = t.len;
            out->stream = pc->relays[k].stream ? (uint32_t)(k + 1) : 0;
            return true;
        }
    }
    return false;
}

bool pc_relay_encode(rtc_pc *pc, uint32_t relay_id, const rtc_addr *dst, const uint8_t *data,
                     size_t len, rtc_pc_transmit *out) {
    if (relay_id == 0 || relay_id > pc->n_relays || !pc->turn_buf || !pc->relays[relay_id - 1].c)
        return false;
    size_t k = relay_id - 1;
    int n = rtc_turn_client_send(pc->relays[k].c, pc->now, dst, data, len, pc->turn_buf,
                                 PC_TURN_BUF);
    if (n <= 0) return false;
    out->src = pc->relays[k].local;
    out->dst = pc->relays[k].server;
    out->data = pc->turn_buf;
    out->len = (size_t)n;
    out->stream = pc->relays[k].stream ? relay_id : 0;
    return true;
}

void pc_relay_permission(rtc_pc *pc, uint32_t relay_id, const rtc_addr *peer) {
    if (relay_id == 0 || relay_id > pc->n_relays || !pc->relays[relay_id - 1].c) return;
    rtc_turn_client_create_permission(pc->relays[relay_id - 1].c, pc->now, peer);
}

void pc_relay_selected(rtc_pc *pc, uint32_t relay_id, const rtc_addr *peer) {
    if (relay_id == 0 || relay_id > pc->n_relays || !pc->relays[relay_id - 1].c) return;
    rtc_turn_client_bind_channel(pc->relays[relay_id - 1].c, pc->now, peer);
}

rtc_time pc_relay_next_timeout(const rtc_pc *pc) {
    rtc_time t = RTC_TIME_NEVER;
    for (size_t k = 0; k < pc->n_relays; k++)
        if (pc->relays[k].c) t = RTC_MIN(t, rtc_turn_client_next_timeout(pc->relays[k].c));
    return t;
}

void pc_relay_timeout(rtc_pc *pc, rtc_time now) {
    for (size_t k = 0; k < pc->n_relays; k++)
        if (pc->relays[k].c && rtc_turn_client_next_timeout(pc->relays[k].c) <= now)
            rtc_turn_client_handle_timeout(pc->relays[k].c, now);
}

void pc_relay_close(rtc_pc *pc) {
    for (size_t k = 0; k < pc->n_relays; k++)
        if (pc->relays[k].c) rtc_turn_client_close(pc->relays[k].c, pc->now);
}

void pc_relay_free(rtc_pc *pc) {
    for (size_t k = 0; k < pc->n_relays; k++) rtc_turn_client_free(pc->relays[k].c);
    pc->n_relays = 0;
    if (pc->turn_buf) rtc_free(&pc->env, pc->turn_buf, PC_TURN_BUF);
    pc->turn_buf = NULL;
}

const char *pc_relay_protocol(const rtc_pc *pc, uint32_t relay_id) {
    if (relay_id == 0 || relay_id > pc->n_relays || !pc->relays[relay_id - 1].c) return NULL;
    if (!pc->relays[relay_id - 1].stream) return "udp";
    return pc->relays[relay_id - 1].tls ? "tls" : "tcp";
}

static rtc_turn_client *stream_client(rtc_pc *pc, uint32_t stream) {
    if (stream == 0 || stream > pc->n_relays || !pc->relays[stream - 1].stream) return NULL;
    /* c is non-NULL for every stream relay (stream is set only with a client) */
    return pc->relays[stream - 1].c;
}

int rtc_pc_relay_stream_input(rtc_pc *pc, rtc_time now, uint32_t stream, const uint8_t *buf,
                              size_t len) {
    if (!pc || (!buf && len)) return RTC_ERR_INVALID;
    if (now > pc->now) pc->now = now;
    rtc_turn_client *c = stream_client(pc, stream);
    if (!c) return RTC_ERR_NOT_FOUND;
    pc->bytes_received += len;
    /* Peer data becomes DATA events, which pc_relay_pump hands to the demultiplexer. */
    int rc = rtc_turn_client_handle_stream(c, pc->now, buf, len);
    if (rc < 0) {
        RTC_LOGW(&pc->env, "TURN stream %u: %s from the server; dropping the relay", stream,
                 rtc_strerror(rc));
        pc->dropped++;
    }
    return rc < 0 ? rc : RTC_OK;
}

int rtc_pc_relay_stream_closed(rtc_pc *pc, rtc_time now, uint32_t stream) {
    if (!pc) return RTC_ERR_INVALID;
    if (now > pc->now) pc->now = now;
    rtc_turn_client *c = stream_client(pc, stream);
    if (!c) return RTC_ERR_NOT_FOUND;
    /* FAILED (RTC_ERR_CLOSED) unless already closed: pc_relay_pump tells ICE. */
    rtc_turn_client_stream_closed(c, pc->now);
    return pc->closed ? RTC_ERR_CLOSED : RTC_OK;
}
