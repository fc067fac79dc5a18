/*
** src/pc/pc.c: the peer connection core: lifecycle, the RFC 7983 demultiplexer, the
** output pump that moves data between ICE, DTLS, SCTP and the channel manager, data
** channels with W3C semantics, derived states and stats. Offer/answer is in jsep.c.
**
** Data path (str0m's shape, direct calls, no internal queues except the layers' own):
**   in:  UDP --first byte--> STUN: rtc_ice_handle_packet
**                            DTLS: rtc_dtls_handle_packet --DATA event--> rtc_sctp_handle_packet
**   out: rtc_dc/rtc_sctp --packet--> rtc_dtls_send --datagram--> TRANSMIT on ICE's
**        selected pair; STUN from ICE goes out as is.
** poll_output() runs that pump one output at a time; DTLS datagrams and channel messages
** are handed out borrowed (zero copy) from the layer that holds them.
**
** Costs worth knowing: channels are found by linear search (a connection rarely has more
** than a handful; max_channels bounds the worst case), and every poll_output call polls
** each layer's event queue once, which is a few compares when they are empty.
*/
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cwebrtc/net.h"
#include "cwebrtc/stun.h"
#include "pc/pc_int.h"
#include "util/util.h"

#define LOG_MODULE "pc"

/* ---- small helpers ----------------------------------------------------------------------- */

void pc_seterr(rtc_pc *pc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pc->err, sizeof pc->err, fmt, ap);
    va_end(ap);
    RTC_LOGD(&pc->env, "%s", pc->err);
}

const char *rtc_pc_last_error(const rtc_pc *pc) { return pc ? pc->err : ""; }

char *pc_strdup(rtc_pc *pc, const char *s, size_t len) {
    char *d = rtc_calloc(&pc->env, len + 1);
    if (!d) return NULL;
    if (len) memcpy(d, s, len);
    return d;
}

static void str_free(rtc_pc *pc, char *s) {
    if (s) rtc_free(&pc->env, s, strlen(s) + 1);
}

const char *rtc_pc_signaling_state_name(int s) {
    static const char *n[] = {"stable", "have-local-offer", "have-remote-offer",
                              "have-local-pranswer", "have-remote-pranswer", "closed"};
    return s >= 0 && s < 6 ? n[s] : "unknown";
}

const char *rtc_pc_connection_state_name(int s) {
    static const char *n[] = {"new", "connecting", "connected", "disconnected", "failed", "closed"};
    return s >= 0 && s < 6 ? n[s] : "unknown";
}

const char *rtc_pc_sdp_type_name(int t) {
    static const char *n[] = {"offer", "pranswer", "answer", "rollback"};
    return t >= 0 && t < 4 ? n[t] : "unknown";
}

int rtc_pc_sdp_type_parse(const char *s, rtc_pc_sdp_type *out) {
    for (int t = 0; t < 4 && s; t++)
        if (strcmp(s, rtc_pc_sdp_type_name(t)) == 0) {
            if (out) *out = (rtc_pc_sdp_type)t;
            return RTC_OK;
        }
    return RTC_ERR_PARSE;
}

void rtc_pc_dc_init_default(rtc_pc_dc_init *init) {
    if (!init) return;
    memset(init, 0, sizeof *init);
    init->ordered = true;
    init->max_retransmits = -1;
    init->max_packet_life_time = -1;
}

/* ---- event queue ---------------------------------------------------------------------- */

int pc_queue(rtc_pc *pc, rtc_pc_event_type type, int state, uint32_t channel, const char *str) {
    if (pc->evq_len == pc->evq_cap) {
        if (pc->evq_cap >= PC_EVQ_MAX) {
            /* Only state changes and candidates queue here, and they are bounded by the
            ** layers' own bounds; reaching this means the caller stopped draining. */
            RTC_LOGW(&pc->env, "event queue full; event %d dropped", (int)type);
            return RTC_ERR_NOMEM;
        }
        size_t ncap = pc->evq_cap ? pc->evq_cap * 2 : 16;
        pc_ev *nq = rtc_calloc(&pc->env, ncap * sizeof *nq);
        if (!nq) return RTC_ERR_NOMEM;
        for (size_t i = 0; i < pc->evq_len; i++)
            nq[i] = pc->evq[(pc->evq_head + i) % pc->evq_cap];
        if (pc->evq) rtc_free(&pc->env, pc->evq, pc->evq_cap * sizeof *pc->evq);
        pc->evq = nq;
        pc->evq_cap = ncap;
        pc->evq_head = 0;
    }
    pc_ev *e = &pc->evq[(pc->evq_head + pc->evq_len) % pc->evq_cap];
    memset(e, 0, sizeof *e);
    e->type = type;
    e->state = state;
    e->channel = channel;
    if (str) {
        e->str = pc_strdup(pc, str, strlen(str));
        if (!e->str) return RTC_ERR_NOMEM;
    }
    pc->evq_len++;
    return RTC_OK;
}

static pc_ev *queue_last(rtc_pc *pc) {
    return pc->evq_len ? &pc->evq[(pc->evq_head + pc->evq_len - 1) % pc->evq_cap] : NULL;
}

void pc_set_signaling(rtc_pc *pc, int s) {
    if (pc->sig == s) return;
    pc->sig = s;
    pc_queue(pc, RTC_PC_EV_SIGNALING_STATE_CHANGE, s, 0, NULL);
}

void pc_check_negotiation_needed(rtc_pc *pc) {
    /* W3C §4.7.3 in short: a data channel exists but no data section is negotiated. Fired
    ** only in stable (the W3C "operations chain empty and stable" condition). */
    if (pc->closed) return;
    if (!pc->restart_pending && (pc->have_dc_section || pc->n_chans == 0)) return;
    if (pc->sig != RTC_PC_SIGNALING_STABLE || pc->nn_fired) return;
    pc->nn_fired = true;
    pc_queue(pc, RTC_PC_EV_NEGOTIATION_NEEDED, 0, 0, NULL);
}

/* ---- channels -------------------------------------------------------------------------- */

static pc_chan *chan_by_handle(const rtc_pc *pc, uint32_t h) {
    for (size_t i = 0; i < pc->n_chans; i++)
        if (pc->chans[i]->handle == h) return pc->chans[i];
    return NULL;
}

static pc_chan *chan_by_id(const rtc_pc *pc, uint16_t id) {
    for (size_t i = 0; i < pc->n_chans; i++)
        if (pc->chans[i]->id == (int32_t)id && pc->chans[i]->in_dc) return pc->chans[i];
    return NULL;
}

static void chan_free(rtc_pc *pc, pc_chan *c) {
    str_free(pc, c->label);
    str_free(pc, c->protocol);
    rtc_free(&pc->env, c, sizeof *c);
}

static void chan_remove(rtc_pc *pc, pc_chan *c) {
    for (size_t i = 0; i < pc->n_chans; i++)
        if (pc->chans[i] == c) {
            pc->chans[i] = pc->chans[--pc->n_chans];
            break;
        }
    chan_free(pc, c);
}

static pc_chan *chan_add(rtc_pc *pc, const char *label, size_t llen, const char *proto,
                         size_t plen) {
    if (pc->n_chans >= pc->max_channels) return NULL;
    if (pc->n_chans == pc->cap_chans) {
        size_t ncap = pc->cap_chans ? pc->cap_chans * 2 : 4;
        pc_chan **n = rtc_realloc(&pc->env, pc->chans, pc->cap_chans * sizeof *n, ncap * sizeof *n);
        if (!n) return NULL;
        pc->chans = n;
        pc->cap_chans = ncap;
    }
    pc_chan *c = rtc_calloc(&pc->env, sizeof *c);
    if (!c) return NULL;
    c->label = pc_strdup(pc, label ? label : "", llen);
    c->protocol = pc_strdup(pc, proto ? proto : "", plen);
    if (!c->label || !c->protocol) {
        chan_free(pc, c);
        return NULL;
    }
    c->handle = ++pc->next_handle;
    c->id = -1;
    c->max_rexmit = c->max_life = -1;
    c->ordered = true;
    pc->chans[pc->n_chans++] = c;
    return c;
}

/* Create a channel in the manager (once it exists). */
static int chan_realize(rtc_pc *pc, pc_chan *c) {
    rtc_dc_init in;
    rtc_dc_init_default(&in);
    in.label = c->label;
    in.protocol = c->protocol;
    in.ordered = c->ordered;
    in.max_retransmits = c->max_rexmit;
    in.max_packet_life_time = c->max_life;
    in.negotiated = c->negotiated;
    in.id = c->negotiated ? (uint16_t)c->id : 0;
    if (c->priority) in.priority = c->priority;
    uint16_t id = 0;
    int rc = rtc_dc_create(pc->dc, pc->now, &in, &id);
    if (rc < 0) return rc;
    c->id = id;
    c->in_dc = true;
    if (c->threshold) rtc_dc_set_buffered_amount_low_threshold(pc->dc, id, c->threshold);
    return RTC_OK;
}

static void fill_info(rtc_pc *pc, const pc_chan *c, rtc_pc_dc_info *info) {
    memset(info, 0, sizeof *info);
    info->channel = c->handle;
    info->id = c->id;
    info->label = c->label;
    info->protocol = c->protocol;
    info->ordered = c->ordered;
    info->max_retransmits = c->max_rexmit;
    info->max_packet_life_time = c->max_life;
    info->negotiated = c->negotiated;
    info->priority = c->priority ? c->priority : RTC_DC_PRIORITY_LOW;
    info->ready_state = c->ready;
    info->buffered_amount = c->in_dc ? rtc_dc_buffered_amount(pc->dc, (uint16_t)c->id) : 0;
    info->buffered_amount_low_threshold = c->threshold;
    info->messages_sent = c->msgs_sent;
    info->bytes_sent = c->bytes_sent;
    info->messages_received = c->msgs_recv;
    info->bytes_received = c->bytes_recv;
}

int rtc_pc_create_data_channel(rtc_pc *pc, const char *label, const rtc_pc_dc_init *init,
                               uint32_t *channel) {
    if (!pc) return RTC_ERR_INVALID;
    if (pc->closed) return RTC_ERR_CLOSED;
    rtc_pc_dc_init def;
    if (!init) {
        rtc_pc_dc_init_default(&def);
        init = &def;
    }
    size_t llen = label ? strlen(label) : 0, plen = init->protocol ? strlen(init->protocol) : 0;
    if (llen > 65535 || plen > 65535 || (init->max_retransmits >= 0 && init->max_packet_life_time >= 0) ||
        (init->negotiated && init->id >= 65535)) {
        pc_seterr(pc, "create_data_channel: label/protocol over 65535 bytes, both "
                      "max_retransmits and max_packet_life_time, or id 65535");
        return RTC_ERR_INVALID;
    }
    if (init->negotiated)
        for (size_t i = 0; i < pc->n_chans; i++)
            if (pc->chans[i]->id == (int32_t)init->id) {
                pc_seterr(pc, "create_data_channel: id %u is in use", init->id);
                return RTC_ERR_MISUSE;
            }
    pc_chan *c = chan_add(pc, label, llen, init->protocol, plen);
    if (!c) return RTC_ERR_NOMEM;
    c->ordered = init->ordered;
    c->max_rexmit = init->max_retransmits < 0 ? -1 : init->max_retransmits;
    c->max_life = init->max_packet_life_time < 0 ? -1 : init->max_packet_life_time;
    c->negotiated = init->negotiated;
    if (init->negotiated) c->id = init->id;
    c->priority = init->priority;
    if (pc->dc) {
        int rc = chan_realize(pc, c);
        if (rc < 0) {
            chan_remove(pc, c);
            return rc;
        }
    }
    if (channel) *channel = c->handle;
    pc_check_negotiation_needed(pc);
    return RTC_OK;
}

int rtc_pc_dc_send(rtc_pc *pc, uint32_t channel, bool binary, const uint8_t *data, size_t len) {
    if (!pc) return RTC_ERR_INVALID;
    if (pc->closed) return RTC_ERR_CLOSED;
    pc_chan *c = chan_by_handle(pc, channel);
    if (!c) return RTC_ERR_NOT_FOUND;
    if (!c->in_dc || c->ready != 1) return RTC_ERR_MISUSE;
    int rc = rtc_dc_send(pc->dc, pc->now, (uint16_t)c->id, binary, data, len);
    if (rc == RTC_OK) {
        c->msgs_sent++;
        c->bytes_sent += len;
    }
    return rc;
}

int rtc_pc_dc_close(rtc_pc *pc, uint32_t channel) {
    if (!pc) return RTC_ERR_INVALID;
    pc_chan *c = chan_by_handle(pc, channel);
    if (!c) return RTC_ERR_NOT_FOUND;
    if (c->ready >= 2) return RTC_OK;
    if (!c->in_dc) {
        /* Never reached the wire: closed at once (the event still comes from poll). */
        c->ready = 3;
        pc_queue(pc, RTC_PC_EV_DC_CLOSE, 0, c->handle, NULL);
        return RTC_OK;
    }
    c->ready = 2;
    return rtc_dc_close(pc->dc, pc->now, (uint16_t)c->id);
}

int rtc_pc_dc_get_info(rtc_pc *pc, uint32_t channel, rtc_pc_dc_info *info) {
    if (!pc || !info) return RTC_ERR_INVALID;
    pc_chan *c = chan_by_handle(pc, channel);
    if (!c) return RTC_ERR_NOT_FOUND;
    fill_info(pc, c, info);
    return RTC_OK;
}

size_t rtc_pc_dc_buffered_amount(const rtc_pc *pc, uint32_t channel) {
    if (!pc) return 0;
    pc_chan *c = chan_by_handle(pc, channel);
    return c && c->in_dc ? rtc_dc_buffered_amount(pc->dc, (uint16_t)c->id) : 0;
}

int rtc_pc_dc_set_buffered_amount_low_threshold(rtc_pc *pc, uint32_t channel, size_t threshold) {
    if (!pc) return RTC_ERR_INVALID;
    pc_chan *c = chan_by_handle(pc, channel);
    if (!c) return RTC_ERR_NOT_FOUND;
    c->threshold = threshold;
    if (c->in_dc) return rtc_dc_set_buffered_amount_low_threshold(pc->dc, (uint16_t)c->id, threshold);
    return RTC_OK;
}

/* ---- lifecycle --------------------------------------------------------------------------- */

static int parse_servers(rtc_pc *pc, const rtc_pc_config *cfg) {
    if (cfg->n_ice_servers > RTC_PC_MAX_ICE_SERVERS) {
        pc_seterr(pc, "at most %d ICE servers", RTC_PC_MAX_ICE_SERVERS);
        return RTC_ERR_INVALID;
    }
    for (size_t i = 0; i < cfg->n_ice_servers; i++) {
        const rtc_pc_ice_server *s = &cfg->ice_servers[i];
        rtc_uri u;
        const char *why = NULL;
        if (!s->url || rtc_uri_parse(&u, s->url, &why) < 0) {
            pc_seterr(pc, "ICE server URL '%s': %s", s->url ? s->url : "(null)",
                      why ? why : "missing");
            return RTC_ERR_INVALID;
        }
        pc_server *d = &pc->servers[pc->n_servers];
        d->turn = u.scheme == RTC_URI_TURN || u.scheme == RTC_URI_TURNS;
        if (d->turn && (!s->username || !s->credential)) {
            pc_seterr(pc, "TURN server '%s' needs a username and a credential", s->url);
            return RTC_ERR_INVALID;
        }
        if (u.scheme == RTC_URI_STUNS) {
            pc_seterr(pc, "stuns: is not supported; use stun:");
            return RTC_ERR_INVALID;
        }
        if (d->turn) {
            rtc_turn_transport tr;
            bool tls = false;
            if (rtc_turn_client_uri_transport(&u, &tr, &tls) < 0) {
                pc_seterr(pc, "TURN server '%s': unsupported transport (DTLS)", s->url);
                return RTC_ERR_INVALID;
            }
            d->udp = tr == RTC_TURN_UDP && !tls;
            d->tls = tls;
        }
        d->host = rtc_strdup(&pc->env, u.host);
        d->username = s->username ? rtc_strdup(&pc->env, s->username) : NULL;
        d->credential = s->credential ? rtc_strdup(&pc->env, s->credential) : NULL;
        if (!d->host || (s->username && !d->username) || (s->credential && !d->credential)) {
            pc->n_servers++;
            return RTC_ERR_NOMEM;
        }
        d->port = u.port;
        if (u.host_is_ip) d->addr = u.ip, d->addr.port = u.port;
        pc->n_servers++;
    }
    return RTC_OK;
}

int rtc_pc_new(rtc_pc **out, const rtc_pc_config *cfg, const rtc_env *env) {
    if (!out) return RTC_ERR_INVALID;
    *out = NULL;
    rtc_pc_config defcfg;
    if (!cfg) {
        memset(&defcfg, 0, sizeof defcfg);
        cfg = &defcfg;
    }
    rtc_env e;
    rtc_env_copy(&e, env);
    rtc_pc *pc = rtc_calloc(&e, sizeof *pc);
    if (!pc) return RTC_ERR_NOMEM;
    pc->env = e;
    pc->dtls_role = -1;
    pc->max_message_size = cfg->max_message_size ? cfg->max_message_size : 262144;
    pc->max_channels = cfg->max_channels ? cfg->max_channels : 1024;
    pc->send_buffer = cfg->sctp_send_buffer;
    pc->recv_window = cfg->sctp_recv_window;
    pc->policy = cfg->ice_transport_policy;
    pc->mline = 0;
    snprintf(pc->mid, sizeof pc->mid, "0");
    pc->sess_id = rtc_random_u64(&pc->env) >> 2; /* RFC 8829 §5.2.1: < 2^63 */
    int rc = parse_servers(pc, cfg);
    if (rc < 0) goto fail;
    if (cfg->certificate) {
        pc->cert = rtc_dtls_cert_ref(cfg->certificate);
    } else {
        rc = rtc_dtls_cert_new(&pc->cert, NULL, &pc->env);
        if (rc < 0) goto fail;
    }
    rc = rtc_dtls_cert_fingerprint(pc->cert, RTC_DTLS_HASH_SHA256, &pc->local_fp, pc->local_fp_str,
                                   sizeof pc->local_fp_str);
    if (rc < 0) goto fail;
    rtc_ice_config ic = {0};
    ic.ufrag = cfg->ice_ufrag;
    ic.pwd = cfg->ice_pwd;
    ic.nomination_delay = cfg->ice_nomination_delay;
    rc = rtc_ice_new(&pc->ice, &ic, &pc->env);
    if (rc < 0) goto fail;
    rc = rtc_ice_get_local_credentials(pc->ice, pc->ufrag, sizeof pc->ufrag, pc->pwd,
                                       sizeof pc->pwd);
    if (rc < 0) goto fail;
    for (size_t i = 0; i < pc->n_servers; i++)
        if (!pc->servers[i].turn && pc->servers[i].addr.family)
            rtc_ice_add_stun_server(pc->ice, &pc->servers[i].addr);
    *out = pc;
    return RTC_OK;
fail:
    rtc_pc_free(pc);
    return rc;
}

void rtc_pc_free(rtc_pc *pc) {
    if (!pc) return;
    rtc_dc_free(pc->dc);
    rtc_sctp_free(pc->sctp);
    rtc_dtls_free(pc->dtls);
    rtc_ice_free(pc->ice);
    rtc_dtls_cert_free(pc->cert);
    pc_relay_free(pc);
    for (size_t i = 0; i < pc->n_servers; i++) {
        rtc_strfree(&pc->env, pc->servers[i].host);
        rtc_strfree(&pc->env, pc->servers[i].username);
        rtc_strfree(&pc->env, pc->servers[i].credential);
    }
    for (size_t i = 0; i < pc->n_lcand; i++) str_free(pc, pc->lcand[i]);
    for (size_t i = 0; i < pc->n_early; i++) rtc_free(&pc->env, pc->early[i].data, pc->early[i].len);
    for (size_t i = 0; i < pc->n_chans; i++) chan_free(pc, pc->chans[i]);
    if (pc->chans) rtc_free(&pc->env, pc->chans, pc->cap_chans * sizeof *pc->chans);
    for (size_t i = 0; i < pc->evq_len; i++) str_free(pc, pc->evq[(pc->evq_head + i) % pc->evq_cap].str);
    if (pc->evq) rtc_free(&pc->env, pc->evq, pc->evq_cap * sizeof *pc->evq);
    str_free(pc, pc->held);
    pc_jsep_free(pc);
    rtc_env e = pc->env;
    rtc_free(&e, pc, sizeof *pc);
}

int rtc_pc_close(rtc_pc *pc) {
    if (!pc) return RTC_ERR_INVALID;
    if (pc->closed) return RTC_OK;
    /* W3C close(): channels go to closed without events; SCTP ABORT and DTLS
    ** close_notify are queued for the final drain. */
    if (pc->sctp && pc->sctp_connected) rtc_sctp_abort(pc->sctp, pc->now);
    pc->closed = true; /* TURN allocations are released after close_notify went out */
    for (size_t i = 0; i < pc->n_chans; i++) chan_free(pc, pc->chans[i]);
    pc->n_chans = 0;
    /* Pending events other than state changes are moot now. */
    for (size_t i = 0; i < pc->evq_len; i++) str_free(pc, pc->evq[(pc->evq_head + i) % pc->evq_cap].str);
    pc->evq_len = 0;
    pc->sig = RTC_PC_SIGNALING_CLOSED;
    pc->ice_state = RTC_ICE_STATE_CLOSED;
    pc->conn_state = RTC_PC_CONNECTION_CLOSED;
    return RTC_OK;
}

int rtc_pc_add_local_address(rtc_pc *pc, const rtc_addr *local) {
    if (!pc || !local) return RTC_ERR_INVALID;
    if (pc->closed) return RTC_ERR_CLOSED;
    if (pc->n_locals < sizeof pc->locals / sizeof pc->locals[0]) pc->locals[pc->n_locals++] = *local;
    /* "relay" policy: no host candidates at all; the sockets only reach the TURN servers */
    if (pc->policy == RTC_PC_ICE_POLICY_RELAY) return rtc_addr_is_any(local) || !local->port ? RTC_ERR_INVALID : RTC_OK;
    return rtc_ice_add_host_address(pc->ice, local);
}

int pc_start_gathering(rtc_pc *pc) {
    pc->gathering = true;
    for (size_t i = 0; i < pc->n_servers; i++)
        if (!pc->servers[i].addr.family) pc_queue(pc, RTC_PC_EV_RESOLVE, 0, 0, pc->servers[i].host);
    pc_relay_start(pc); /* relays are expected before gathering can complete */
    return rtc_ice_gather(pc->ice, pc->now);
}

int rtc_pc_resolved(rtc_pc *pc, const char *name, const rtc_addr *addr) {
    if (!pc || !name) return RTC_ERR_INVALID;
    if (pc->closed) return RTC_ERR_CLOSED;
    bool server = false;
    for (size_t i = 0; i < pc->n_servers; i++) {
        pc_server *s = &pc->servers[i];
        if (s->addr.family || strcmp(s->host, name) != 0) continue;
        server = true;
        if (!addr) {
            s->unresolved = true; /* its relay (if TURN) fails in pc_relay_start */
            continue;
        }
        s->addr = *addr;
        s->addr.port = s->port;
        if (!s->turn) rtc_ice_add_stun_server(pc->ice, &s->addr);
    }
    if (server && pc->gathering) pc_relay_start(pc);
    if (!server) rtc_ice_resolved(pc->ice, name, addr);
    return RTC_OK;
}

/* ---- transports ------------------------------------------------------------------------- */

static void start_dtls_client(rtc_pc *pc) {
    if (!pc->dtls || pc->dtls_started || pc->dtls_role != RTC_DTLS_ROLE_CLIENT) return;
    if (!pc->have_selected) return; /* the ClientHello needs a path */
    pc->dtls_started = true;
    rtc_dtls_start(pc->dtls, pc->now);
}

int pc_start_transports(rtc_pc *pc) {
    if (pc->dtls) {
        /* Renegotiation: the association stays; only the peer's size limit may change. */
        if (pc->dc) rtc_dc_set_remote_max_message_size(pc->dc, (uint32_t)RTC_MIN(pc->remote_max_message_size, UINT32_MAX));
        return RTC_OK;
    }
    rtc_dtls_config dc = {0};
    dc.role = (rtc_dtls_role)pc->dtls_role;
    dc.cert = pc->cert;
    dc.remote_fingerprints = pc->remote_fps;
    dc.n_remote_fingerprints = pc->n_remote_fps;
    int rc = rtc_dtls_new(&pc->dtls, &dc, &pc->env);
    if (rc < 0) {
        pc_seterr(pc, "DTLS session: %s", rtc_strerror(rc));
        return rc;
    }
    rtc_sctp_config sc;
    rtc_sctp_config_default(&sc);
    sc.local_port = 5000;
    sc.remote_port = pc->remote_sctp_port ? pc->remote_sctp_port : 5000;
    sc.max_message_size = pc->max_message_size;
    if (pc->send_buffer) sc.send_buffer = pc->send_buffer;
    if (pc->recv_window) sc.recv_window = pc->recv_window;
    rc = rtc_sctp_new(&pc->sctp, &sc, &pc->env);
    if (rc < 0) goto fail;
    rtc_dc_config dcc;
    rtc_dc_config_default(&dcc);
    dcc.dtls_client = pc->dtls_role == RTC_DTLS_ROLE_CLIENT;
    dcc.max_message_size = pc->max_message_size;
    dcc.max_channels = pc->max_channels;
    rc = rtc_dc_new(&pc->dc, pc->sctp, &dcc, &pc->env);
    if (rc < 0) goto fail;
    rtc_dc_set_remote_max_message_size(pc->dc, (uint32_t)RTC_MIN(pc->remote_max_message_size, UINT32_MAX));
    for (size_t i = 0; i < pc->n_chans; i++) {
        pc_chan *c = pc->chans[i];
        if (c->in_dc || c->ready >= 2) continue;
        int r = chan_realize(pc, c);
        if (r < 0) {
            RTC_LOGW(&pc->env, "channel %u could not be created: %s", c->handle, rtc_strerror(r));
            c->ready = 3;
            pc_queue(pc, RTC_PC_EV_DC_ERROR, 0, c->handle, NULL);
            pc_ev *e = queue_last(pc);
            if (e) {
                e->error = r;
                e->what = "the channel could not be created on the association";
            }
            pc_queue(pc, RTC_PC_EV_DC_CLOSE, 0, c->handle, NULL);
        }
    }
    if (pc->dtls_role == RTC_DTLS_ROLE_SERVER) {
        pc->dtls_started = true;
        rtc_dtls_start(pc->dtls, pc->now);
    } else {
        start_dtls_client(pc);
    }
    /* A ClientHello that beat the answer (RFC 5763 §5). */
    for (size_t i = 0; i < pc->n_early; i++) {
        rtc_dtls_handle_packet(pc->dtls, pc->now, pc->early[i].data, pc->early[i].len);
        rtc_free(&pc->env, pc->early[i].data, pc->early[i].len);
    }
    pc->n_early = 0;
    pc->early_bytes = 0;
    return RTC_OK;
fail:
    pc_seterr(pc, "SCTP association: %s", rtc_strerror(rc));
    rtc_dc_free(pc->dc);
    rtc_sctp_free(pc->sctp);
    rtc_dtls_free(pc->dtls);
    pc->dc = NULL;
    pc->sctp = NULL;
    pc->dtls = NULL;
    return rc;
}

/* ---- input ----------------------------------------------------------------------------- */

static int buffer_early_dtls(rtc_pc *pc, const uint8_t *buf, size_t len) {
    if (pc->n_early >= PC_EARLY_DTLS_MAX || pc->early_bytes + len > PC_EARLY_DTLS_BYTES) {
        pc->early_dropped++;
        return RTC_OK; /* the peer retransmits its flight */
    }
    uint8_t *d = rtc_calloc(&pc->env, len);
    if (!d) return RTC_ERR_NOMEM;
    memcpy(d, buf, len);
    pc->early[pc->n_early].data = d;
    pc->early[pc->n_early].len = len;
    pc->n_early++;
    pc->early_bytes += len;
    pc->early_buffered++;
    return RTC_OK;
}

static int demux(rtc_pc *pc, rtc_time now, const rtc_addr *src, const rtc_addr *dst,
                 const uint8_t *buf, size_t len);

int rtc_pc_handle_packet(rtc_pc *pc, rtc_time now, const rtc_addr *src, const rtc_addr *dst,
                         const uint8_t *buf, size_t len) {
    if (!pc || !src || !dst || (!buf && len)) return RTC_ERR_INVALID;
    if (now > pc->now) pc->now = now;
    if (pc->closed) return RTC_ERR_CLOSED;
    pc->packets_received++;
    pc->bytes_received += len;
    if (len == 0) {
        pc->dropped++;
        return RTC_ERR_PARSE;
    }
    if (pc_relay_input(pc, now, src, dst, buf, len)) return RTC_OK;
    return demux(pc, now, src, dst, buf, len);
}

void pc_demux_up(rtc_pc *pc, rtc_time now, const rtc_addr *src, const rtc_addr *dst,
                 const uint8_t *buf, size_t len) {
    if (len) (void)demux(pc, now, src, dst, buf, len);
}

static int demux(rtc_pc *pc, rtc_time now, const rtc_addr *src, const rtc_addr *dst,
                 const uint8_t *buf, size_t len) {
    uint8_t b = buf[0];
    /* RFC 7983 §7: [0..3] STUN, [16..19] ZRTP, [20..63] DTLS, [64..79] TURN channel,
    ** [128..191] RTP/RTCP. */
    if (b <= 3) {
        int rc = rtc_ice_handle_packet(pc->ice, now, src, dst, buf, len);
        if (rc < 0 && rc != RTC_ERR_CLOSED) pc->dropped++;
        return rc < 0 && rc != RTC_ERR_CLOSED ? RTC_ERR_PARSE : RTC_OK;
    }
    if (b >= 20 && b <= 63) {
        if (!pc->dtls) return buffer_early_dtls(pc, buf, len);
        int rc = rtc_dtls_handle_packet(pc->dtls, now, buf, len);
        if (rc == RTC_ERR_PARSE) {
            pc->dropped++;
            return RTC_ERR_PARSE;
        }
        return RTC_OK;
    }
    /* TURN ChannelData (64..79) only comes from a TURN server we use; media (128..191)
    ** waits for transceivers. Both are counted and dropped for now. */
    pc->dropped++;
    return RTC_OK;
}

static void run_timeouts(rtc_pc *pc) {
    rtc_time now = pc->now;
    if (rtc_ice_next_timeout(pc->ice) <= now) rtc_ice_handle_timeout(pc->ice, now);
    if (pc->dtls && rtc_dtls_next_timeout(pc->dtls) <= now) rtc_dtls_handle_timeout(pc->dtls, now);
    if (pc->sctp && rtc_sctp_next_timeout(pc->sctp) <= now) rtc_sctp_handle_timeout(pc->sctp, now);
    pc_relay_timeout(pc, now);
}

int rtc_pc_handle_timeout(rtc_pc *pc, rtc_time now) {
    if (!pc) return RTC_ERR_INVALID;
    if (now > pc->now) pc->now = now;
    if (pc->closed) return RTC_OK;
    run_timeouts(pc);
    return RTC_OK;
}

rtc_time rtc_pc_next_timeout(const rtc_pc *pc) {
    if (!pc) return RTC_TIME_NEVER;
    if (pc->closed) return RTC_TIME_NEVER;
    rtc_time t = rtc_ice_next_timeout(pc->ice);
    if (pc->dtls) t = RTC_MIN(t, rtc_dtls_next_timeout(pc->dtls));
    if (pc->sctp) t = RTC_MIN(t, rtc_sctp_next_timeout(pc->sctp));
    return RTC_MIN(t, pc_relay_next_timeout(pc));
}

bool rtc_pc_accepts(const rtc_pc *pc, const rtc_addr *src, const uint8_t *buf, size_t len) {
    if (!pc || !buf || len == 0) return false;
    if (pc->have_selected && src && rtc_addr_equal(src, &pc->sel_remote)) return true;
    if (buf[0] > 3 || len < 20) return false;
    /* STUN: USERNAME is "<our ufrag>:<their ufrag>" in checks sent to us (RFC 8445 §7.2.2). */
    rtc_stun_msg m;
    if (rtc_stun_parse(&m, buf, len) < 0) return false;
    const uint8_t *u;
    size_t ul;
    if (rtc_stun_get_bytes(&m, RTC_STUN_ATTR_USERNAME, &u, &ul) < 0) return false;
    size_t n = strlen(pc->ufrag);
    return ul > n && memcmp(u, pc->ufrag, n) == 0 && u[n] == ':';
}

/* ---- the pump ---------------------------------------------------------------------------- */

static void update_conn_state(rtc_pc *pc) {
    if (pc->closed) return;
    int s;
    int ice = pc->ice_state;
    if (pc->dtls_failed || ice == RTC_ICE_STATE_FAILED)
        s = RTC_PC_CONNECTION_FAILED;
    else if (pc->dtls_closed)
        s = RTC_PC_CONNECTION_CLOSED;
    else if (ice == RTC_ICE_STATE_DISCONNECTED)
        s = RTC_PC_CONNECTION_DISCONNECTED;
    else if ((ice == RTC_ICE_STATE_CONNECTED || ice == RTC_ICE_STATE_COMPLETED) && pc->dtls_connected)
        s = RTC_PC_CONNECTION_CONNECTED;
    else if (ice != RTC_ICE_STATE_NEW || pc->dtls_started)
        s = RTC_PC_CONNECTION_CONNECTING;
    else
        s = RTC_PC_CONNECTION_NEW;
    if (s == pc->conn_state) return;
    pc->conn_state = s;
    pc_queue(pc, RTC_PC_EV_CONNECTION_STATE_CHANGE, s, 0, NULL);
    pc_ev *e = queue_last(pc);
    if (e && s == RTC_PC_CONNECTION_FAILED) {
        if (pc->dtls_failed) {
            e->error = pc->dtls_err ? pc->dtls_err : RTC_ERR_CRYPTO;
            e->what = pc->dtls_what ? pc->dtls_what : "DTLS handshake failed";
        } else {
            e->error = RTC_ERR_TIMEOUT;
            e->what = "ICE failed: no candidate pair works";
        }
    }
}

static void pump_ice(rtc_pc *pc) {
    rtc_ice_event ev;
    while (rtc_ice_poll_event(pc->ice, &ev) == 1) {
        switch (ev.type) {
        case RTC_ICE_EVENT_CANDIDATE: {
            if (pc->policy == RTC_PC_ICE_POLICY_RELAY && ev.candidate.type != RTC_ICE_CAND_RELAY)
                break;
            char line[RTC_ICE_CANDIDATE_LINE_MAX];
            if (rtc_ice_candidate_format(&ev.candidate, line, sizeof line) < 0) break;
            if (pc->n_lcand < PC_MAX_LOCAL_CANDS) {
                char *c = pc_strdup(pc, line, strlen(line));
                if (c) pc->lcand[pc->n_lcand++] = c;
            }
            pc_queue(pc, RTC_PC_EV_ICE_CANDIDATE, 0, 0, line);
            break;
        }
        case RTC_ICE_EVENT_GATHERING_STATE:
            pc->gather_state = ev.state;
            pc_queue(pc, RTC_PC_EV_ICE_GATHERING_STATE_CHANGE, ev.state, 0, NULL);
            /* W3C: the null candidate marks the end of gathering. */
            if (ev.state == RTC_ICE_GATHERING_COMPLETE)
                pc_queue(pc, RTC_PC_EV_ICE_CANDIDATE, 0, 0, "");
            break;
        case RTC_ICE_EVENT_STATE:
            pc->ice_state = ev.state;
            pc_queue(pc, RTC_PC_EV_ICE_CONNECTION_STATE_CHANGE, ev.state, 0, NULL);
            break;
        case RTC_ICE_EVENT_SELECTED_PAIR:
            pc->have_selected = true;
            pc->sel_local = ev.local;
            pc->sel_remote = ev.remote;
            pc->sel_ltype = ev.local_type;
            pc->sel_rtype = ev.remote_type;
            pc->sel_relay = ev.relay_id;
            if (ev.relay_id) pc_relay_selected(pc, ev.relay_id, &ev.remote);
            start_dtls_client(pc);
            break;
        case RTC_ICE_EVENT_RESOLVE:
            pc_queue(pc, RTC_PC_EV_RESOLVE, 0, 0, ev.name);
            break;
        case RTC_ICE_EVENT_RELAY_PERMISSION:
            pc_relay_permission(pc, ev.relay_id, &ev.remote);
            break;
        default:
            break; /* ROLE: informational */
        }
    }
}

static void pump_dtls(rtc_pc *pc) {
    if (!pc->dtls) return;
    rtc_dtls_event ev;
    while (rtc_dtls_poll_event(pc->dtls, &ev) == 1) {
        switch (ev.kind) {
        case RTC_DTLS_EVENT_CONNECTED:
            pc->dtls_connected = true;
            pc->srtp_profile = ev.srtp_profile;
            /* RFC 8841 §10 / 8831 §6.1: both sides open the association (an INIT
            ** collision is normal). */
            if (pc->sctp) rtc_sctp_connect(pc->sctp, pc->now);
            break;
        case RTC_DTLS_EVENT_FINGERPRINT_MISMATCH:
            pc->dtls_err = RTC_ERR_AUTH;
            pc->dtls_what = "the peer's DTLS certificate does not match the a=fingerprint of "
                            "its description";
            break;
        case RTC_DTLS_EVENT_FAILED:
            pc->dtls_failed = true;
            if (!pc->dtls_err) {
                pc->dtls_err = ev.err;
                pc->dtls_what = "DTLS handshake failed";
            }
            break;
        case RTC_DTLS_EVENT_CLOSED:
            pc->dtls_closed = true;
            if (pc->sctp) rtc_sctp_abort(pc->sctp, pc->now);
            break;
        case RTC_DTLS_EVENT_DATA:
            if (pc->sctp) rtc_sctp_handle_packet(pc->sctp, pc->now, ev.data, ev.len);
            break;
        default:
            break;
        }
    }
}

/* Translate one manager event; true when it produced an output event in *out. */
static bool dc_event(rtc_pc *pc, const rtc_dc_event *ev, rtc_pc_event *out) {
    pc_chan *c = chan_by_id(pc, ev->id);
    memset(out, 0, sizeof *out);
    switch (ev->kind) {
    case RTC_DC_EV_OPEN:
        if (!c && ev->info.remote) {
            c = chan_add(pc, ev->info.label, ev->info.label_len, ev->info.protocol,
                         ev->info.protocol_len);
            if (!c) {
                /* Over our bound: refuse by closing it. */
                rtc_dc_close(pc->dc, pc->now, ev->id);
                return false;
            }
            c->id = ev->id;
            c->in_dc = true;
            c->remote = true;
            c->ordered = ev->info.ordered;
            c->max_rexmit = ev->info.max_retransmits;
            c->max_life = ev->info.max_packet_life_time;
            c->negotiated = ev->info.negotiated;
            c->priority = ev->info.priority;
            c->ready = 1;
            pc->dc_opened++;
            /* W3C: "datachannel" first, then the channel's "open". */
            pc_queue(pc, RTC_PC_EV_DC_OPEN, 0, c->handle, NULL);
            out->type = RTC_PC_EV_DATA_CHANNEL;
            out->channel = c->handle;
            fill_info(pc, c, &out->info);
            return true;
        }
        if (!c) return false;
        c->ready = 1;
        pc->dc_opened++;
        out->type = RTC_PC_EV_DC_OPEN;
        out->channel = c->handle;
        fill_info(pc, c, &out->info);
        return true;
    case RTC_DC_EV_MESSAGE:
        if (!c) return false;
        c->msgs_recv++;
        c->bytes_recv += ev->len;
        out->type = RTC_PC_EV_DC_MESSAGE;
        out->channel = c->handle;
        out->binary = ev->binary;
        out->data = ev->data;
        out->len = ev->len;
        return true;
    case RTC_DC_EV_BUFFERED_AMOUNT_LOW:
        if (!c) return false;
        out->type = RTC_PC_EV_DC_BUFFERED_AMOUNT_LOW;
        out->channel = c->handle;
        return true;
    case RTC_DC_EV_CLOSING:
        if (!c) return false;
        c->ready = 2;
        out->type = RTC_PC_EV_DC_CLOSING;
        out->channel = c->handle;
        return true;
    case RTC_DC_EV_CLOSED:
        if (!c) return false;
        out->type = RTC_PC_EV_DC_CLOSE;
        out->channel = c->handle;
        pc->dc_closed++;
        chan_remove(pc, c);
        return true;
    case RTC_DC_EV_ERROR:
        out->type = RTC_PC_EV_DC_ERROR;
        out->channel = c ? c->handle : 0;
        out->error = ev->error;
        out->what = ev->what;
        return true;
    case RTC_DC_EV_SCTP_CONNECTED:
        pc->sctp_connected = true;
        return false;
    case RTC_DC_EV_SCTP_CLOSED:
        pc->sctp_connected = false;
        return false;
    }
    return false;
}

static void pop_event(rtc_pc *pc, rtc_pc_event *out) {
    pc_ev e = pc->evq[pc->evq_head];
    pc->evq_head = (pc->evq_head + 1) % pc->evq_cap;
    pc->evq_len--;
    memset(out, 0, sizeof *out);
    out->type = e.type;
    out->state = e.state;
    out->error = e.error;
    out->what = e.what;
    out->channel = e.channel;
    pc->held = e.str; /* freed at the next poll */
    if (e.type == RTC_PC_EV_ICE_CANDIDATE) {
        out->candidate = e.str;
        out->sdp_mid = pc->mid;
        out->sdp_mline_index = pc->mline;
    } else if (e.type == RTC_PC_EV_RESOLVE) {
        out->name = e.str;
    } else if (e.type == RTC_PC_EV_RELAY_STREAM) { /* queued by relay.c */
        out->name = e.str;
        out->stream = e.channel;
        out->tls = e.state != 0;
        if (e.channel >= 1 && e.channel <= pc->n_relays) out->address = pc->relays[e.channel - 1].server;
    } else if (e.type == RTC_PC_EV_DC_OPEN || e.type == RTC_PC_EV_DC_CLOSE) {
        pc_chan *c = chan_by_handle(pc, e.channel);
        if (c) {
            fill_info(pc, c, &out->info);
            if (e.type == RTC_PC_EV_DC_CLOSE) {
                pc->dc_closed++;
                chan_remove(pc, c); /* a channel closed before it reached the wire */
            }
        }
    }
}

rtc_pc_out_kind rtc_pc_poll_output(rtc_pc *pc, rtc_pc_output *out) {
    if (!out) return RTC_PC_OUT_TIMEOUT;
    memset(out, 0, sizeof *out);
    out->kind = RTC_PC_OUT_TIMEOUT;
    out->timeout = RTC_TIME_NEVER;
    if (!pc) return RTC_PC_OUT_TIMEOUT;
    str_free(pc, pc->held);
    pc->held = NULL;
    if (pc->closed) {
        /* The final drain: close_notify (and the SCTP ABORT inside DTLS) go out once. */
        if (pc->dtls && !pc->dtls_closed && pc->dtls_connected) {
            const uint8_t *d;
            size_t l;
            while (pc->sctp && rtc_sctp_poll_transmit(pc->sctp, &d, &l) == 1)
                rtc_dtls_send(pc->dtls, pc->now, d, l);
            rtc_dtls_close(pc->dtls, pc->now);
            pc->dtls_closed = true;
        }
        rtc_dtls_transmit t;
        if (pc->dtls && pc->have_selected && rtc_dtls_poll_transmit(pc->dtls, &t) == 1) {
            if (pc->sel_relay) {
                if (!pc_relay_encode(pc, pc->sel_relay, &pc->sel_remote, t.data, t.len,
                                     &out->transmit))
                    return RTC_PC_OUT_TIMEOUT;
            } else {
                out->transmit.src = pc->sel_local;
                out->transmit.dst = pc->sel_remote;
                out->transmit.data = t.data;
                out->transmit.len = t.len;
            }
            out->kind = RTC_PC_OUT_TRANSMIT;
            pc->packets_sent++;
            pc->bytes_sent += out->transmit.len;
            return out->kind;
        }
        if (!pc->relays_closed) {
            pc->relays_closed = true;
            pc_relay_close(pc); /* Refresh LIFETIME=0 (RFC 8656 §8) */
        }
        if (pc_relay_poll_transmit(pc, &out->transmit)) {
            out->kind = RTC_PC_OUT_TRANSMIT;
            return out->kind;
        }
        if (pc->evq_len) {
            out->kind = RTC_PC_OUT_EVENT;
            pop_event(pc, &out->event);
            return out->kind;
        }
        return RTC_PC_OUT_TIMEOUT;
    }
    for (int guard = 0; guard < 100000; guard++) {
        pc_relay_pump(pc); /* first: an ALLOCATED makes ICE emit a candidate below */
        pump_ice(pc);
        pump_dtls(pc);
        update_conn_state(pc);
        if (pc->evq_len) {
            out->kind = RTC_PC_OUT_EVENT;
            pop_event(pc, &out->event);
            return out->kind;
        }
        /* TURN control first: a CreatePermission that ICE's RELAY_PERMISSION just asked
        ** for must reach the server before the check it permits (over TCP/TLS it then
        ** always does; before, the first check was dropped and waited 500 ms). */
        if (pc_relay_poll_transmit(pc, &out->transmit)) {
            out->kind = RTC_PC_OUT_TRANSMIT;
            pc->packets_sent++;
            pc->bytes_sent += out->transmit.len;
            return out->kind;
        }
        rtc_ice_transmit it;
        if (rtc_ice_poll_transmit(pc->ice, &it) == 1) {
            if (it.relay_id) {
                if (!pc_relay_encode(pc, it.relay_id, &it.dst, it.data, it.len, &out->transmit)) {
                    pc->dropped++;
                    continue;
                }
            } else {
                out->transmit.src = it.src;
                out->transmit.dst = it.dst;
                out->transmit.data = it.data;
                out->transmit.len = it.len;
            }
            out->kind = RTC_PC_OUT_TRANSMIT;
            pc->packets_sent++;
            pc->bytes_sent += it.len;
            return out->kind;
        }
        if (pc->dtls) {
            rtc_dtls_transmit t;
            if (rtc_dtls_poll_transmit(pc->dtls, &t) == 1) {
                rtc_addr l, r;
                uint32_t relay = 0;
                if (rtc_ice_get_selected(pc->ice, &l, &r, &relay) < 0) {
                    pc->dropped++; /* no path (or no consent, RFC 7675 §5.1): a loss */
                    continue;
                }
                if (relay) {
                    if (!pc_relay_encode(pc, relay, &r, t.data, t.len, &out->transmit)) {
                        pc->dropped++;
                        continue;
                    }
                } else {
                    out->transmit.src = l;
                    out->transmit.dst = r;
                    out->transmit.data = t.data;
                    out->transmit.len = t.len;
                }
                out->kind = RTC_PC_OUT_TRANSMIT;
                pc->packets_sent++;
                pc->bytes_sent += out->transmit.len;
                return out->kind;
            }
        }
        if (pc->dc) {
            rtc_dc_event dev;
            if (rtc_dc_poll_event(pc->dc, &dev) == 1) {
                if (dc_event(pc, &dev, &out->event)) {
                    out->kind = RTC_PC_OUT_EVENT;
                    return out->kind;
                }
                continue;
            }
        }
        if (pc->sctp) {
            const uint8_t *d;
            size_t l;
            if (rtc_sctp_poll_transmit(pc->sctp, &d, &l) == 1) {
                if (pc->dtls_connected && !pc->dtls_closed && !pc->dtls_failed)
                    rtc_dtls_send(pc->dtls, pc->now, d, l);
                continue;
            }
        }
        break;
    }
    out->timeout = rtc_pc_next_timeout(pc);
    return RTC_PC_OUT_TIMEOUT;
}

/* ---- state getters and stats --------------------------------------------------------------- */

rtc_pc_signaling_state rtc_pc_signaling_state_get(const rtc_pc *pc) {
    return pc ? (rtc_pc_signaling_state)pc->sig : RTC_PC_SIGNALING_CLOSED;
}
rtc_pc_connection_state rtc_pc_connection_state_get(const rtc_pc *pc) {
    return pc ? (rtc_pc_connection_state)pc->conn_state : RTC_PC_CONNECTION_CLOSED;
}
int rtc_pc_ice_connection_state_get(const rtc_pc *pc) { return pc ? pc->ice_state : RTC_ICE_STATE_CLOSED; }
int rtc_pc_ice_gathering_state_get(const rtc_pc *pc) { return pc ? pc->gather_state : 0; }
int rtc_pc_dtls_role(const rtc_pc *pc) { return pc ? pc->dtls_role : -1; }

void rtc_pc_get_stats(const rtc_pc *pc, rtc_pc_stats *out) {
    if (!out) return;
    memset(out, 0, sizeof *out);
    if (!pc) return;
    out->data_channels_opened = pc->dc_opened;
    out->data_channels_closed = pc->dc_closed;
    out->packets_sent = pc->packets_sent;
    out->packets_received = pc->packets_received;
    out->bytes_sent = pc->bytes_sent;
    out->bytes_received = pc->bytes_received;
    out->dtls_state = pc->dtls ? (int)rtc_dtls_get_state(pc->dtls) : -1;
    out->dtls_role = pc->dtls_role;
    out->srtp_cipher = pc->srtp_profile;
    out->ice_state = pc->ice_state;
    out->has_selected_pair = pc->have_selected;
    out->local_address = pc->sel_local;
    out->remote_address = pc->sel_remote;
    out->local_candidate_type = pc->sel_ltype;
    out->relay_protocol = pc->have_selected ? pc_relay_protocol(pc, pc->sel_relay) : NULL;
    out->remote_candidate_type = pc->sel_rtype;
    snprintf(out->local_fingerprint, sizeof out->local_fingerprint, "%s", pc->local_fp_str);
    snprintf(out->remote_fingerprint, sizeof out->remote_fingerprint, "%s", pc->remote_fp_str);
    if (pc->dc) {
        rtc_dc_stats ds;
        rtc_dc_get_stats(pc->dc, &ds);
        out->messages_sent = ds.messages_sent;
        out->messages_received = ds.messages_received;
        out->dc_bytes_sent = ds.bytes_sent;
        out->dc_bytes_received = ds.bytes_received;
    }
    out->dropped_packets = pc->dropped;
    out->early_dtls_buffered = pc->early_buffered;
    out->early_dtls_dropped = pc->early_dropped;
}
