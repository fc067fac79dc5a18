/*
** The JSEP view of a description (RFC 8829): per-m-section transport parameters with the
** session-level fallbacks resolved, BUNDLE (RFC 9143), and the data-channel section (RFC 8841).
** Signaling state (stable / have-local-offer / ...) is the peer connection's business; these are
** pure functions of one description.
*/
#include <string.h>

#include "sdp/sdp_internal.h"

static bool is_rejected(const rtc_sdp *sdp, int m) {
    /* RFC 8829 §5.3.1 / RFC 9143 §7.5.3: port 0 rejects a section unless it is bundle-only */
    return sdp->media[m].port == 0 && !rtc_sdp_has_attr(sdp, m, "bundle-only");
}

int rtc_sdp_bundle_owner(const rtc_sdp *sdp, int m) {
    if (!sdp || m < 0 || (size_t)m >= sdp->nmedia) return RTC_ERR_INVALID;
    const char *mid = rtc_sdp_mid(sdp, m);
    if (!mid || is_rejected(sdp, m)) return m;
    rtc_sdp_group g;
    for (size_t nth = 0;; nth++) {
        int rc = rtc_sdp_group_get(sdp, nth, &g);
        if (rc == RTC_ERR_NOT_FOUND) return m;
        if (rc) return rc;
        if (!sdp_str_eq(g.semantics, "BUNDLE")) continue;
        bool member = false;
        for (size_t i = 0; i < g.count && !member; i++)
            member = g.mids[i].len == strlen(mid) && memcmp(g.mids[i].p, mid, g.mids[i].len) == 0;
        if (!member) continue;
        /* RFC 9143 §7.2.1 (offer) and §7.3.1 (answer): the BUNDLE-tag is the first
        ** identification-tag of the group; it names the section whose transport the whole
        ** group uses. Tags naming no section, or a rejected one, are skipped (§7.3.3: a
        ** rejected tagged section moves the tag to the next one). */
        for (size_t i = 0; i < g.count; i++) {
            for (size_t k = 0; k < sdp->nmedia && k <= (size_t)INT32_MAX; k++) {
                const char *km = rtc_sdp_mid(sdp, (int)k);
                if (!km || strlen(km) != g.mids[i].len || memcmp(km, g.mids[i].p, g.mids[i].len))
                    continue;
                if (sdp->media[k].port == 0) break; /* rejected or bundle-only: not a tag */
                return (int)k;
            }
        }
        return m; /* nothing usable in the group: the section stands alone */
    }
}

int rtc_sdp_transport_get(const rtc_sdp *sdp, int m, rtc_sdp_transport *out) {
    if (!sdp || !out || m < 0 || (size_t)m >= sdp->nmedia) return RTC_ERR_INVALID;
    memset(out, 0, sizeof *out);
    out->mid = rtc_sdp_mid(sdp, m);
    /* RFC 8839 §5.4: ice-ufrag/ice-pwd at media level override the session's */
    out->ufrag = rtc_sdp_ice_ufrag(sdp, m);
    if (!out->ufrag) out->ufrag = rtc_sdp_ice_ufrag(sdp, RTC_SDP_SESSION);
    out->pwd = rtc_sdp_ice_pwd(sdp, m);
    if (!out->pwd) out->pwd = rtc_sdp_ice_pwd(sdp, RTC_SDP_SESSION);
    out->ice_options = rtc_sdp_has_attr(sdp, m, "ice-options")
                           ? rtc_sdp_ice_options(sdp, m)
                           : rtc_sdp_ice_options(sdp, RTC_SDP_SESSION);
    /* RFC 8842 §5 / RFC 4145: a=setup at media level, else session level */
    int rc = rtc_sdp_setup_get(sdp, m, &out->setup);
    if (rc) return rc;
    if (out->setup == RTC_SDP_SETUP_NONE) {
        rc = rtc_sdp_setup_get(sdp, RTC_SDP_SESSION, &out->setup);
        if (rc) return rc;
    }
    /* RFC 8122 §5: media-level fingerprints replace the session-level ones */
    int level = rtc_sdp_has_attr(sdp, m, "fingerprint") ? m : RTC_SDP_SESSION;
    for (size_t i = 0;; i++) {
        rtc_sdp_fingerprint fp;
        rc = rtc_sdp_fingerprint_get(sdp, level, i, &fp);
        if (rc == RTC_ERR_NOT_FOUND) break;
        if (rc) return rc;
        if (out->fingerprint_count < RTC_SDP_TRANSPORT_MAX_FINGERPRINTS)
            out->fingerprints[out->fingerprint_count] = fp;
        out->fingerprint_count++;
    }
    if (out->fingerprint_count > RTC_SDP_TRANSPORT_MAX_FINGERPRINTS)
        out->fingerprint_count = RTC_SDP_TRANSPORT_MAX_FINGERPRINTS;
    const sdp_section *s = &sdp->media[m];
    for (size_t i = 0; i < s->nattrs; i++)
        if (strcmp(s->attrs[i].name, "candidate") == 0) out->candidate_count++;
    out->end_of_candidates = rtc_sdp_has_attr(sdp, m, "end-of-candidates") ||
                             rtc_sdp_has_attr(sdp, RTC_SDP_SESSION, "end-of-candidates");
    out->rtcp_mux = rtc_sdp_has_attr(sdp, m, "rtcp-mux");
    out->rtcp_rsize = rtc_sdp_has_attr(sdp, m, "rtcp-rsize");
    out->bundle_only = rtc_sdp_has_attr(sdp, m, "bundle-only");
    out->ice_lite = rtc_sdp_has_attr(sdp, RTC_SDP_SESSION, "ice-lite");
    out->rejected = is_rejected(sdp, m);
    rc = rtc_sdp_bundle_owner(sdp, m);
    if (rc < 0) return rc;
    out->transport_owner = rc;
    return RTC_OK;
}

static bool proto_is(const char *proto, const char *lit) { return strcmp(proto, lit) == 0; }

int rtc_sdp_datachannel_find(const rtc_sdp *sdp, rtc_sdp_datachannel *out) {
    if (!sdp || !out) return RTC_ERR_INVALID;
    for (size_t k = 0; k < sdp->nmedia && k <= (size_t)INT32_MAX; k++) {
        const sdp_section *s = &sdp->media[k];
        int m = (int)k;
        if (strcmp(s->media, "application") != 0) continue;
        bool modern = (proto_is(s->proto, "UDP/DTLS/SCTP") || proto_is(s->proto, "TCP/DTLS/SCTP")) &&
                      s->nfmts >= 1 && strcmp(s->fmts[0], "webrtc-datachannel") == 0;
        bool legacy = false;
        if (!modern && proto_is(s->proto, "DTLS/SCTP")) {
            /* a=sctpmap:<port> webrtc-datachannel <streams> */
            const char *v = NULL;
            for (int i = rtc_sdp_find_attr(sdp, m, "sctpmap", 0, &v); i >= 0 && !legacy;
                 i = rtc_sdp_find_attr(sdp, m, "sctpmap", (size_t)i + 1, &v))
                legacy = v && strstr(v, " webrtc-datachannel") != NULL;
        }
        if (!modern && !legacy) continue;
        memset(out, 0, sizeof *out);
        out->m = m;
        out->legacy = legacy;
        out->rejected = is_rejected(sdp, m);
        int rc = rtc_sdp_sctp_port(sdp, m, &out->sctp_port);
        if (rc == RTC_ERR_NOT_FOUND) {
            /* RFC 8841 §5.2: absent a=sctp-port means 5000; the legacy form puts the port in
            ** the fmt ("DTLS/SCTP 5000") */
            uint64_t p = 5000;
            if (legacy && !sdp_parse_u64(s->fmts[0], strlen(s->fmts[0]), &p)) return RTC_ERR_PARSE;
            if (p > 65535) return RTC_ERR_PARSE;
            out->sctp_port = (uint16_t)p;
        } else if (rc) {
            return rc;
        }
        return rtc_sdp_max_message_size(sdp, m, &out->max_message_size);
    }
    return RTC_ERR_NOT_FOUND;
}
