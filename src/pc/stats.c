/*
** src/pc/stats.c: getStats() as the W3C RTCStatsReport, written as JSON.
**
** One JSON array of report objects, each with "id", "type" and "timestamp" and the
** members of its W3C dictionary (webrtc-stats): "peer-connection", "transport",
** "candidate-pair" (every pair of the checklist), "local-candidate" / "remote-candidate"
** (those the pairs use), "certificate" (local, and remote once known) and one
** "data-channel" per channel. Names and enum strings are the W3C ones so tools written for
** browsers' stats read ours. The timestamp is the core's clock (the `now` the caller
** passes in) in milliseconds.
*/
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pc_int.h"
#include "util/util.h"

#define STATS_MAX_PAIRS 64

typedef struct jw {
    char *buf;
    size_t size, len; /* len may pass size: then only counted */
} jw;

static void jw_raw(jw *w, const char *s, size_t n) {
    if (w->len < w->size) {
        size_t room = w->size - w->len;
        memcpy(w->buf + w->len, s, n < room ? n : room);
    }
    w->len += n;
}

static void jw_fmt(jw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jw_fmt(jw *w, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    jw_raw(w, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A JSON string: quotes, backslashes and control characters escaped (RFC 8259 §7). */
static void jw_str(jw *w, const char *s) {
    jw_raw(w, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\') {
            char e[2] = {'\\', (char)*p};
            jw_raw(w, e, 2);
        } else if (*p < 0x20) {
            jw_fmt(w, "\\u%04x", *p);
        } else {
            jw_raw(w, (const char *)p, 1);
        }
    }
    jw_raw(w, "\"", 1);
}

static void jw_key(jw *w, const char *k) {
    jw_raw(w, ",", 1);
    jw_str(w, k);
    jw_raw(w, ":", 1);
}

static void jw_kstr(jw *w, const char *k, const char *v) {
    jw_key(w, k);
    jw_str(w, v);
}

static void jw_kint(jw *w, const char *k, uint64_t v) {
    jw_key(w, k);
    jw_fmt(w, "%" PRIu64, v);
}

/* Opens a report: {"id":..,"type":..,"timestamp":.. (the caller adds members, then "}"). */
static void jw_report(jw *w, bool *first, const char *type, const char *id, rtc_time now) {
    jw_raw(w, *first ? "{" : ",{", *first ? 1 : 2);
    *first = false;
    jw_str(w, "id");
    jw_raw(w, ":", 1);
    jw_str(w, id);
    jw_kstr(w, "type", type);
    jw_key(w, "timestamp");
    jw_fmt(w, "%.3f", (double)now / 1000.0);
}

static const char *dtls_state_name(const rtc_pc *pc) {
    if (pc->dtls_failed) return "failed";
    if (pc->dtls_closed) return "closed";
    if (pc->dtls_connected) return "connected";
    if (pc->dtls_started) return "connecting";
    return "new";
}

/* W3C RTCIceTransportState from our ICE state. */
static const char *ice_state_w3c(int s) {
    switch (s) {
    case RTC_ICE_STATE_CHECKING: return "checking";
    case RTC_ICE_STATE_CONNECTED: return "connected";
    case RTC_ICE_STATE_COMPLETED: return "completed";
    case RTC_ICE_STATE_FAILED: return "failed";
    case RTC_ICE_STATE_DISCONNECTED: return "disconnected";
    case RTC_ICE_STATE_CLOSED: return "closed";
    default: return "new";
    }
}

static const char *pair_state_w3c(int s) {
    switch (s) {
    case RTC_ICE_PAIR_WAITING: return "waiting";
    case RTC_ICE_PAIR_IN_PROGRESS: return "in-progress";
    case RTC_ICE_PAIR_SUCCEEDED: return "succeeded";
    case RTC_ICE_PAIR_FAILED: return "failed";
    default: return "frozen";
    }
}

static const char *chan_state_w3c(int ready) {
    static const char *const names[] = {"connecting", "open", "closing", "closed"};
    return ready >= 0 && ready <= 3 ? names[ready] : "closed";
}

/* A candidate's report id: C<l|r><type>_<address>_<port>, stable across calls. */
static void cand_id(char *out, size_t size, bool local, const rtc_addr *a, int type) {
    char ip[RTC_ADDR_STRLEN];
    rtc_addr_fmt_ip(a, ip, sizeof ip);
    for (char *p = ip; *p; p++)
        if (*p == ':' || *p == '.') *p = '-';
    snprintf(out, size, "C%c%s_%s_%u", local ? 'l' : 'r', rtc_ice_cand_type_name(type), ip,
             (unsigned)a->port);
}

static void cand_report(jw *w, bool *first, rtc_time now, bool local, const rtc_addr *a,
                        int type, const char *relay_protocol) {
    char id[96], ip[RTC_ADDR_STRLEN];
    cand_id(id, sizeof id, local, a, type);
    rtc_addr_fmt_ip(a, ip, sizeof ip);
    jw_report(w, first, local ? "local-candidate" : "remote-candidate", id, now);
    jw_kstr(w, "transportId", "T01");
    jw_kstr(w, "address", ip);
    jw_kint(w, "port", a->port);
    jw_kstr(w, "protocol", "udp");
    jw_kstr(w, "candidateType", rtc_ice_cand_type_name(type));
    if (relay_protocol) jw_kstr(w, "relayProtocol", relay_protocol); /* local relay only */
    jw_raw(w, "}", 1);
}

static bool seen_before(const rtc_ice_pair_info *pairs, size_t k, bool local) {
    for (size_t j = 0; j < k; j++) {
        const rtc_ice_pair_info *a = &pairs[j], *b = &pairs[k];
        if (local ? (a->local_type == b->local_type && rtc_addr_equal(&a->local, &b->local))
                  : (a->remote_type == b->remote_type && rtc_addr_equal(&a->remote, &b->remote)))
            return true;
    }
    return false;
}

static void fingerprint_report(jw *w, bool *first, rtc_time now, const char *id,
                               const char *fp) {
    /* "sha-256 AB:CD..." -> algorithm and value */
    const char *sp = strchr(fp, ' ');
    char alg[16] = "";
    if (sp && (size_t)(sp - fp) < sizeof alg) memcpy(alg, fp, (size_t)(sp - fp));
    jw_report(w, first, "certificate", id, now);
    jw_kstr(w, "fingerprint", sp ? sp + 1 : fp);
    jw_kstr(w, "fingerprintAlgorithm", alg);
    jw_raw(w, "}", 1);
}

int rtc_pc_get_stats_json(const rtc_pc *pc, char *buf, size_t size) {
    if (!pc || (!buf && size)) return RTC_ERR_INVALID;
    jw w = {buf, size, 0};
    bool first = true;
    rtc_time now = pc->now;
    rtc_pc_stats st;
    rtc_pc_get_stats(pc, &st);
    jw_raw(&w, "[", 1);

    jw_report(&w, &first, "peer-connection", "P", now);
    jw_kint(&w, "dataChannelsOpened", st.data_channels_opened);
    jw_kint(&w, "dataChannelsClosed", st.data_channels_closed);
    jw_raw(&w, "}", 1);

    rtc_ice_pair_info pairs[STATS_MAX_PAIRS];
    size_t np = pc->ice ? rtc_ice_get_pairs(pc->ice, pairs, STATS_MAX_PAIRS) : 0;
    if (np > STATS_MAX_PAIRS) np = STATS_MAX_PAIRS;
    char sel_id[200] = "";

    for (size_t k = 0; k < np; k++) {
        const rtc_ice_pair_info *pi = &pairs[k];
        char lid[96], rid[96], pid[200];
        cand_id(lid, sizeof lid, true, &pi->local, pi->local_type);
        cand_id(rid, sizeof rid, false, &pi->remote, pi->remote_type);
        snprintf(pid, sizeof pid, "CP%s_%s", lid + 2, rid + 2);
        if (pi->selected) snprintf(sel_id, sizeof sel_id, "%s", pid);
        jw_report(&w, &first, "candidate-pair", pid, now);
        jw_kstr(&w, "transportId", "T01");
        jw_kstr(&w, "localCandidateId", lid);
        jw_kstr(&w, "remoteCandidateId", rid);
        jw_kstr(&w, "state", pair_state_w3c(pi->state));
        jw_key(&w, "nominated");
        jw_fmt(&w, "%s", pi->nominated ? "true" : "false");
        jw_kint(&w, "priority", pi->priority);
        if (pi->rtt >= 0) {
            jw_key(&w, "currentRoundTripTime");
            jw_fmt(&w, "%.6f", (double)pi->rtt / 1e6);
        }
        if (pi->selected) { /* the transport's counters are the selected pair's */
            jw_kint(&w, "packetsSent", st.packets_sent);
            jw_kint(&w, "packetsReceived", st.packets_received);
            jw_kint(&w, "bytesSent", st.bytes_sent);
            jw_kint(&w, "bytesReceived", st.bytes_received);
        }
        jw_raw(&w, "}", 1);
    }
    for (size_t k = 0; k < np; k++) {
        const rtc_ice_pair_info *pi = &pairs[k];
        if (!seen_before(pairs, k, true))
            cand_report(&w, &first, now, true, &pi->local, pi->local_type,
                        pi->relay_id ? pc_relay_protocol(pc, pi->relay_id) : NULL);
        if (!seen_before(pairs, k, false))
            cand_report(&w, &first, now, false, &pi->remote, pi->remote_type, NULL);
    }

    jw_report(&w, &first, "transport", "T01", now);
    jw_kint(&w, "packetsSent", st.packets_sent);
    jw_kint(&w, "packetsReceived", st.packets_received);
    jw_kint(&w, "bytesSent", st.bytes_sent);
    jw_kint(&w, "bytesReceived", st.bytes_received);
    jw_kstr(&w, "dtlsState", dtls_state_name(pc));
    jw_kstr(&w, "iceState", ice_state_w3c(pc->ice_state));
    if (pc->dtls_role >= 0)
        jw_kstr(&w, "dtlsRole", pc->dtls_role == RTC_DTLS_ROLE_CLIENT ? "client" : "server");
    if (sel_id[0]) jw_kstr(&w, "selectedCandidatePairId", sel_id);
    jw_kstr(&w, "localCertificateId", "CERTlocal");
    if (pc->remote_fp_str[0]) jw_kstr(&w, "remoteCertificateId", "CERTremote");
    if (st.srtp_cipher) jw_kstr(&w, "srtpCipher", rtc_dtls_srtp_profile_name(st.srtp_cipher));
    jw_raw(&w, "}", 1);

    fingerprint_report(&w, &first, now, "CERTlocal", pc->local_fp_str);
    if (pc->remote_fp_str[0]) fingerprint_report(&w, &first, now, "CERTremote", pc->remote_fp_str);

    for (size_t i = 0; i < pc->n_chans; i++) {
        const pc_chan *c = pc->chans[i];
        char id[32];
        snprintf(id, sizeof id, "D%u", c->handle);
        jw_report(&w, &first, "data-channel", id, now);
        jw_kstr(&w, "label", c->label);
        jw_kstr(&w, "protocol", c->protocol);
        if (c->id >= 0) jw_kint(&w, "dataChannelIdentifier", (uint64_t)c->id);
        jw_kstr(&w, "state", chan_state_w3c(c->ready));
        jw_kint(&w, "messagesSent", c->msgs_sent);
        jw_kint(&w, "bytesSent", c->bytes_sent);
        jw_kint(&w, "messagesReceived", c->msgs_recv);
        jw_kint(&w, "bytesReceived", c->bytes_recv);
        jw_raw(&w, "}", 1);
    }
    jw_raw(&w, "]", 1);
    if (w.len + 1 > size) return RTC_ERR_TOO_SMALL;
    buf[w.len] = '\0';
    return (int)w.len;
}
