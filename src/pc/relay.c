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
** TCP and TLS transports (turn:?transport=tcp, turns:) need a stream the core does not
** own; they are skipped with a warning for now.
*/
#include <string.h>

#include "pc/pc_int.h"
#include "util/util.h"

#define LOG_MODULE "pc"
#define PC_TURN_BUF 2048

void pc_relay_start(rtc_pc *pc) {
    for (size_t i = 0; i < pc->n_servers; i++) {
        pc_server *s = &pc->servers[i];
        if (!s->turn || s->started || !s->addr.family) continue;
        s->started = true;
        if (!s->udp) {
            RTC_LOGW(&pc->env, "TURN server %s: only UDP is supported yet; skipped", s->host);
            continue;
        }
        const rtc_addr *local = NULL;
        for (size_t k = 0; k < pc->n_locals && !local; k++)
            if (pc->locals[k].family == s->addr.family) local = &pc->locals[k];
        if (!local) {
            RTC_LOGW(&pc->env, "TURN server %s: no local address of its family", s->host);
            continue;
        }
        if (pc->n_relays >= RTC_PC_MAX_ICE_SERVERS) continue;
        if (!pc->turn_buf && !(pc->turn_buf = rtc_calloc(&pc->env, PC_TURN_BUF))) return;
        rtc_turn_client_config c;
        memset(&c, 0, sizeof c);
        c.username = s->username;
        c.password = s->credential;
        c.server = s->addr;
        c.local = *local;
        c.transport = RTC_TURN_UDP;
        c.family = s->addr.family;
        size_t k = pc->n_relays;
        if (rtc_turn_client_new(&pc->relays[k].c, &c, &pc->env) < 0) continue;
        pc->relays[k].server = s->addr;
        pc->relays[k].local = *local;
        pc->n_relays++;
        rtc_ice_expect_relay(pc->ice, (uint32_t)(k + 1));
        rtc_turn_client_allocate(pc->relays[k].c, pc->now);
    }
}

bool pc_relay_input(rtc_pc *pc, rtc_time now, const rtc_addr *src, const rtc_addr *dst,
                    const uint8_t *buf, size_t len) {
    for (size_t k = 0; k < pc->n_relays; k++) {
        if (!rtc_addr_equal(src, &pc->relays[k].server)) continue;
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
        while (rtc_turn_client_poll_event(pc->relays[k].c, &ev) == 1) {
            switch (ev.type) {
            case RTC_TURN_EV_ALLOCATED:
                rtc_ice_add_relayed(pc->ice, id, &ev.relayed, &pc->relays[k].local);
                break;
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
        if (rtc_turn_client_poll_transmit(pc->relays[k].c, &t) == 1) {
            out->src = t.src;
            out->dst = t.dst;
            out->data = t.data;
            out->len = t.len;
            return true;
        }
    }
    return false;
}

bool pc_relay_encode(rtc_pc *pc, uint32_t relay_id, const rtc_addr *dst, const uint8_t *data,
                     size_t len, rtc_pc_transmit *out) {
    if (relay_id == 0 || relay_id > pc->n_relays || !pc->turn_buf) return false;
    size_t k = relay_id - 1;
    int n = rtc_turn_client_send(pc->relays[k].c, pc->now, dst, data, len, pc->turn_buf,
                                 PC_TURN_BUF);
    if (n <= 0) return false;
    out->src = pc->relays[k].local;
    out->dst = pc->relays[k].server;
    out->data = pc->turn_buf;
    out->len = (size_t)n;
    return true;
}

void pc_relay_permission(rtc_pc *pc, uint32_t relay_id, const rtc_addr *peer) {
    if (relay_id == 0 || relay_id > pc->n_relays) return;
    rtc_turn_client_create_permission(pc->relays[relay_id - 1].c, pc->now, peer);
}

void pc_relay_selected(rtc_pc *pc, uint32_t relay_id, const rtc_addr *peer) {
    if (relay_id == 0 || relay_id > pc->n_relays) return;
    rtc_turn_client_bind_channel(pc->relays[relay_id - 1].c, pc->now, peer);
}

rtc_time pc_relay_next_timeout(const rtc_pc *pc) {
    rtc_time t = RTC_TIME_NEVER;
    for (size_t k = 0; k < pc->n_relays; k++)
        t = RTC_MIN(t, rtc_turn_client_next_timeout(pc->relays[k].c));
    return t;
}

void pc_relay_timeout(rtc_pc *pc, rtc_time now) {
    for (size_t k = 0; k < pc->n_relays; k++)
        if (rtc_turn_client_next_timeout(pc->relays[k].c) <= now)
            rtc_turn_client_handle_timeout(pc->relays[k].c, now);
}

void pc_relay_close(rtc_pc *pc) {
    for (size_t k = 0; k < pc->n_relays; k++) rtc_turn_client_close(pc->relays[k].c, pc->now);
}

void pc_relay_free(rtc_pc *pc) {
    for (size_t k = 0; k < pc->n_relays; k++) rtc_turn_client_free(pc->relays[k].c);
    pc->n_relays = 0;
    if (pc->turn_buf) rtc_free(&pc->env, pc->turn_buf, PC_TURN_BUF);
    pc->turn_buf = NULL;
}
