/*
** Typed readers for the attributes WebRTC uses. Each parses the stored value on every call and
** returns slices into it (no allocation), so a description costs nothing for attributes nobody
** reads, and a malformed value fails only the accessor that reads it (RTC_ERR_PARSE).
*/
#include <string.h>

#include "sdp/sdp_internal.h"

/* ---- small lexing helpers -------------------------------------------------------------- */

static bool is_space(char c) { return c == ' ' || c == '\t'; }

bool sdp_next_token(const char **p, const char *end, rtc_sdp_str *tok) {
    const char *q = *p;
    while (q < end && is_space(*q)) q++;
    if (q == end) {
        *p = q;
        return false;
    }
    const char *s = q;
    while (q < end && !is_space(*q)) q++;
    tok->p = s;
    tok->len = (size_t)(q - s);
    *p = q;
    return true;
}

bool sdp_str_eq(rtc_sdp_str s, const char *lit) {
    size_t n = strlen(lit);
    return s.len == n && memcmp(s.p, lit, n) == 0;
}

static int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

static bool str_ieq(rtc_sdp_str s, const char *lit) {
    size_t n = strlen(lit);
    if (s.len != n) return false;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s.p[i]) != lower((unsigned char)lit[i])) return false;
    return true;
}

static bool str_u64(rtc_sdp_str s, uint64_t *out) { return sdp_parse_u64(s.p, s.len, out); }

/* The nth value of a=<name> at level m; RTC_ERR_NOT_FOUND when there are fewer. A property
** attribute yields "" (the typed readers then report RTC_ERR_PARSE where a value is needed). */
static int nth_value(const rtc_sdp *sdp, int m, const char *name, size_t nth, const char **v) {
    int i = -1;
    for (size_t k = 0; k <= nth; k++) {
        i = rtc_sdp_find_attr(sdp, m, name, (size_t)(i + 1), v);
        if (i < 0) return RTC_ERR_NOT_FOUND;
    }
    if (!*v) *v = "";
    return RTC_OK;
}

/* Leading "<pt> " of rtpmap/fmtp/rtcp-fb: the payload type and the rest after one space. */
static bool split_pt(const char *v, uint64_t *pt, const char **rest) {
    const char *sp = strchr(v, ' ');
    size_t n = sp ? (size_t)(sp - v) : strlen(v);
    if (!sdp_parse_u64(v, n, pt)) return false;
    *rest = sp ? sp + 1 : v + n;
    return true;
}

/* ---- ICE ------------------------------------------------------------------------------- */

const char *rtc_sdp_ice_ufrag(const rtc_sdp *sdp, int m) {
    const char *v = NULL;
    return rtc_sdp_find_attr(sdp, m, "ice-ufrag", 0, &v) >= 0 && v ? v : NULL;
}

const char *rtc_sdp_ice_pwd(const rtc_sdp *sdp, int m) {
    const char *v = NULL;
    return rtc_sdp_find_attr(sdp, m, "ice-pwd", 0, &v) >= 0 && v ? v : NULL;
}

unsigned rtc_sdp_ice_options(const rtc_sdp *sdp, int m) {
    unsigned flags = 0;
    const char *v = NULL;
    for (int i = rtc_sdp_find_attr(sdp, m, "ice-options", 0, &v); i >= 0;
         i = rtc_sdp_find_attr(sdp, m, "ice-options", (size_t)i + 1, &v)) {
        if (!v) continue;
        /* RFC 8839 §5.6 separates tags with SP; libdatachannel sends "ice2,trickle", so a
        ** comma separates too (',' is not an ice-char, so this cannot split a real tag). */
        size_t n = strlen(v), i = 0;
        while (i < n) {
            while (i < n && (is_space(v[i]) || v[i] == ',')) i++;
            size_t st = i;
            while (i < n && !is_space(v[i]) && v[i] != ',') i++;
            if (i == st) break;
            rtc_sdp_str tok = {v + st, i - st};
            if (sdp_str_eq(tok, "trickle")) flags |= RTC_SDP_ICE_OPT_TRICKLE;
            else if (sdp_str_eq(tok, "ice2")) flags |= RTC_SDP_ICE_OPT_ICE2;
            else if (sdp_str_eq(tok, "renomination")) flags |= RTC_SDP_ICE_OPT_RENOMINATION;
            else flags |= RTC_SDP_ICE_OPT_OTHER;
        }
    }
    return flags;
}

const char *rtc_sdp_candidate(const rtc_sdp *sdp, int m, size_t nth) {
    const char *v = NULL;
    return nth_value(sdp, m, "candidate", nth, &v) == RTC_OK ? v : NULL;
}

/* ---- DTLS ------------------------------------------------------------------------------ */

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

int sdp_parse_fingerprint(const char *v, rtc_sdp_fingerprint *out) {
    /* RFC 8122 §5: fingerprint-attribute = hash-func SP fingerprint;
    ** fingerprint = 2UHEX *(":" 2UHEX). Lowercase hex is accepted too (Firefox once sent it). */
    static const struct {
        const char *name;
        size_t len;
    } known[] = {{"sha-1", 20},   {"sha-224", 28}, {"sha-256", 32}, {"sha-384", 48},
                 {"sha-512", 64}, {"md5", 16},     {"md2", 16}};
    const char *p = v, *end = v + strlen(v);
    rtc_sdp_str hash, fp, extra;
    if (!sdp_next_token(&p, end, &hash) || !sdp_next_token(&p, end, &fp) ||
        sdp_next_token(&p, end, &extra))
        return RTC_ERR_PARSE;
    if (hash.len >= sizeof out->hash || !sdp_is_token(hash.p, hash.len)) return RTC_ERR_PARSE;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < hash.len; i++) out->hash[i] = (char)lower((unsigned char)hash.p[i]);
    /* "XX" then ":XX" repeated: 3n - 1 characters for n bytes */
    if (fp.len < 2 || (fp.len + 1) % 3 != 0) return RTC_ERR_PARSE;
    size_t n = (fp.len + 1) / 3;
    if (n > RTC_SDP_FINGERPRINT_MAX) return RTC_ERR_PARSE;
    for (size_t i = 0; i < n; i++) {
        const char *q = fp.p + 3 * i;
        int hi = hexval((unsigned char)q[0]), lo = hexval((unsigned char)q[1]);
        if (hi < 0 || lo < 0 || (i + 1 < n && q[2] != ':')) return RTC_ERR_PARSE;
        out->value[i] = (uint8_t)(hi << 4 | lo);
    }
    out->len = (uint8_t)n;
    for (size_t i = 0; i < RTC_ARRAY_LEN(known); i++)
        if (strcmp(out->hash, known[i].name) == 0 && known[i].len != n) return RTC_ERR_PARSE;
    return RTC_OK;
}

int rtc_sdp_fingerprint_get(const rtc_sdp *sdp, int m, size_t nth, rtc_sdp_fingerprint *out) {
    const char *v = NULL;
    if (!out) return RTC_ERR_INVALID;
    int rc = nth_value(sdp, m, "fingerprint", nth, &v);
    return rc ? rc : sdp_parse_fingerprint(v, out);
}

static const char *const setup_names[] = {NULL, "actpass", "active", "passive", "holdconn"};

const char *rtc_sdp_setup_name(rtc_sdp_setup s) {
    return (unsigned)s < RTC_ARRAY_LEN(setup_names) ? setup_names[s] : NULL;
}

int rtc_sdp_setup_get(const rtc_sdp *sdp, int m, rtc_sdp_setup *out) {
    if (!out) return RTC_ERR_INVALID;
    *out = RTC_SDP_SETUP_NONE;
    const char *v = NULL;
    if (rtc_sdp_find_attr(sdp, m, "setup", 0, &v) < 0) return RTC_OK;
    /* RFC 4145 §4: role = "active" / "passive" / "actpass" / "holdconn" (token, compared
    ** case-insensitively as libwebrtc does). */
    rtc_sdp_str s = {v ? v : "", v ? strlen(v) : 0};
    for (size_t i = 1; i < RTC_ARRAY_LEN(setup_names); i++) {
        if (str_ieq(s, setup_names[i])) {
            *out = (rtc_sdp_setup)i;
            return RTC_OK;
        }
    }
    return RTC_ERR_PARSE;
}

/* ---- direction, mid, groups, msid ------------------------------------------------------ */

static const char *const dir_names[] = {"sendrecv", "sendonly", "recvonly", "inactive"};

const char *rtc_sdp_direction_name(rtc_sdp_direction d) {
    return (unsigned)d < RTC_ARRAY_LEN(dir_names) ? dir_names[d] : NULL;
}

static bool level_direction(const rtc_sdp *sdp, int m, rtc_sdp_direction *out) {
    const sdp_section *s = sdp_level(sdp, m);
    if (!s) return false;
    /* The last one wins if a stack sends several (none should). */
    bool found = false;
    for (size_t i = 0; i < s->nattrs; i++) {
        for (size_t d = 0; d < RTC_ARRAY_LEN(dir_names); d++) {
            if (strcmp(s->attrs[i].name, dir_names[d]) == 0) {
                *out = (rtc_sdp_direction)d;
                found = true;
            }
        }
    }
    return found;
}

rtc_sdp_direction rtc_sdp_direction_get(const rtc_sdp *sdp, int m) {
    rtc_sdp_direction d = RTC_SDP_SENDRECV;
    if (m != RTC_SDP_SESSION && level_direction(sdp, m, &d)) return d;
    if (level_direction(sdp, RTC_SDP_SESSION, &d)) return d;
    return RTC_SDP_SENDRECV;
}

const char *rtc_sdp_mid(const rtc_sdp *sdp, int m) {
    if (m == RTC_SDP_SESSION) return NULL;
    const char *v = NULL;
    return rtc_sdp_find_attr(sdp, m, "mid", 0, &v) >= 0 && v ? v : NULL;
}

int rtc_sdp_find_mid(const rtc_sdp *sdp, const char *mid) {
    if (!sdp || !mid) return RTC_ERR_NOT_FOUND;
    for (size_t m = 0; m < sdp->nmedia && m <= (size_t)INT32_MAX; m++) {
        const char *v = rtc_sdp_mid(sdp, (int)m);
        if (v && strcmp(v, mid) == 0) return (int)m;
    }
    return RTC_ERR_NOT_FOUND;
}

int rtc_sdp_group_get(const rtc_sdp *sdp, size_t nth, rtc_sdp_group *out) {
    const char *v = NULL;
    if (!out) return RTC_ERR_INVALID;
    int rc = nth_value(sdp, RTC_SDP_SESSION, "group", nth, &v);
    if (rc) return rc;
    /* RFC 5888 §5: group-attribute = "group:" semantics *(SP identification-tag) */
    const char *p = v, *end = v + strlen(v);
    rtc_sdp_str tok;
    memset(out, 0, sizeof *out);
    if (!sdp_next_token(&p, end, &out->semantics) ||
        !sdp_is_token(out->semantics.p, out->semantics.len))
        return RTC_ERR_PARSE;
    while (sdp_next_token(&p, end, &tok)) {
        if (out->count == RTC_SDP_GROUP_MAX) return RTC_ERR_PARSE;
        out->mids[out->count++] = tok;
    }
    return RTC_OK;
}

int rtc_sdp_msid_get(const rtc_sdp *sdp, int m, size_t nth, rtc_sdp_msid *out) {
    const char *v = NULL;
    if (!out) return RTC_ERR_INVALID;
    int rc = nth_value(sdp, m, "msid", nth, &v);
    if (rc) return rc;
    /* RFC 8830 §2: msid-value = msid-id [ SP msid-appdata ] */
    const char *p = v, *end = v + strlen(v);
    rtc_sdp_str extra;
    memset(out, 0, sizeof *out);
    if (!sdp_next_token(&p, end, &out->stream)) return RTC_ERR_PARSE;
    sdp_next_token(&p, end, &out->track);
    if (sdp_next_token(&p, end, &extra)) return RTC_ERR_PARSE;
    return RTC_OK;
}

int rtc_sdp_msid_semantic(const rtc_sdp *sdp, rtc_sdp_str *semantic, rtc_sdp_str *ids) {
    const char *v = NULL;
    if (!semantic || !ids) return RTC_ERR_INVALID;
    int rc = nth_value(sdp, RTC_SDP_SESSION, "msid-semantic", 0, &v);
    if (rc) return rc;
    /* Chromium writes "a=msid-semantic: WMS <ids>" (a space after the colon). */
    const char *p = v, *end = v + strlen(v);
    if (!sdp_next_token(&p, end, semantic)) return RTC_ERR_PARSE;
    while (p < end && is_space(*p)) p++;
    const char *e = end;
    while (e > p && is_space(e[-1])) e--;
    ids->p = p;
    ids->len = (size_t)(e - p);
    return RTC_OK;
}

/* ---- RTP: rtpmap, fmtp, rtcp-fb, extmap, ssrc, ssrc-group ------------------------------- */

int rtc_sdp_rtpmap_find(const rtc_sdp *sdp, int m, unsigned pt, rtc_sdp_rtpmap *out) {
    if (!out) return RTC_ERR_INVALID;
    const char *v = NULL;
    for (int i = rtc_sdp_find_attr(sdp, m, "rtpmap", 0, &v); i >= 0;
         i = rtc_sdp_find_attr(sdp, m, "rtpmap", (size_t)i + 1, &v)) {
        /* RFC 8866 §6.6: a=rtpmap:<payload type> <encoding name>/<clock rate>[/<params>] */
        uint64_t p64, rate, ch = 0;
        const char *rest;
        if (!v || !split_pt(v, &p64, &rest) || p64 > 127) return RTC_ERR_PARSE;
        if (p64 != pt) continue;
        const char *end = rest + strlen(rest);
        while (end > rest && is_space(end[-1])) end--;
        const char *s1 = memchr(rest, '/', (size_t)(end - rest));
        if (!s1 || s1 == rest) return RTC_ERR_PARSE;
        const char *s2 = memchr(s1 + 1, '/', (size_t)(end - s1 - 1));
        const char *rate_end = s2 ? s2 : end;
        if (!sdp_parse_u64(s1 + 1, (size_t)(rate_end - s1 - 1), &rate) || rate == 0 ||
            rate > UINT32_MAX)
            return RTC_ERR_PARSE;
        if (s2 && (!sdp_parse_u64(s2 + 1, (size_t)(end - s2 - 1), &ch) || ch > 255))
            return RTC_ERR_PARSE;
        out->pt = (unsigned)p64;
        out->encoding.p = rest;
        out->encoding.len = (size_t)(s1 - rest);
        out->clock_rate = (uint32_t)rate;
        out->channels = (unsigned)ch;
        return RTC_OK;
    }
    return RTC_ERR_NOT_FOUND;
}

int rtc_sdp_fmtp_find(const rtc_sdp *sdp, int m, unsigned pt, rtc_sdp_str *params) {
    if (!params) return RTC_ERR_INVALID;
    const char *v = NULL;
    for (int i = rtc_sdp_find_attr(sdp, m, "fmtp", 0, &v); i >= 0;
         i = rtc_sdp_find_attr(sdp, m, "fmtp", (size_t)i + 1, &v)) {
        /* RFC 8866 §6.15: a=fmtp:<format> <format specific parameters> */
        uint64_t p64;
        const char *rest;
        if (!v || !split_pt(v, &p64, &rest)) return RTC_ERR_PARSE;
        if (p64 != pt) continue;
        params->p = rest;
        params->len = strlen(rest);
        return RTC_OK;
    }
    return RTC_ERR_NOT_FOUND;
}

int rtc_sdp_fmtp_param(rtc_sdp_str params, const char *key, rtc_sdp_str *value) {
    if (!key || !value || (!params.p && params.len)) return RTC_ERR_NOT_FOUND;
    const char *s = params.p;
    size_t i = 0, n = params.len;
    while (i < n) {
        size_t e = i; /* end of this "key=value" */
        while (e < n && s[e] != ';') e++;
        size_t a = i;
        while (a < e && is_space(s[a])) a++;
        size_t eq = a;
        while (eq < e && s[eq] != '=') eq++;
        size_t ke = eq;
        while (ke > a && is_space(s[ke - 1])) ke--;
        if (str_ieq((rtc_sdp_str){s + a, ke - a}, key)) {
            size_t vs = eq < e ? eq + 1 : e, ve = e;
            while (vs < ve && is_space(s[vs])) vs++;
            while (ve > vs && is_space(s[ve - 1])) ve--;
            value->p = s + vs;
            value->len = ve - vs;
            return RTC_OK;
        }
        i = e + 1;
    }
    return RTC_ERR_NOT_FOUND;
}

int rtc_sdp_rtcp_fb_get(const rtc_sdp *sdp, int m, size_t nth, rtc_sdp_rtcp_fb *out) {
    const char *v = NULL;
    if (!out) return RTC_ERR_INVALID;
    int rc = nth_value(sdp, m, "rtcp-fb", nth, &v);
    if (rc) return rc;
    /* RFC 4585 §4.2: rtcp-fb-pt SP rtcp-fb-val; rtcp-fb-pt = "*" / fmt */
    const char *p = v, *end = v + strlen(v);
    rtc_sdp_str pt, rest;
    memset(out, 0, sizeof *out);
    if (!sdp_next_token(&p, end, &pt) || !sdp_next_token(&p, end, &out->type))
        return RTC_ERR_PARSE;
    uint64_t p64;
    if (sdp_str_eq(pt, "*")) out->pt = -1;
    else if (str_u64(pt, &p64) && p64 <= 127) out->pt = (int)p64;
    else return RTC_ERR_PARSE;
    /* the subtype is the rest of the line ("pli", "fir", "rpsi", "app foo") */
    if (sdp_next_token(&p, end, &rest)) {
        const char *e = end;
        while (e > rest.p && is_space(e[-1])) e--;
        out->subtype.p = rest.p;
        out->subtype.len = (size_t)(e - rest.p);
    }
    return RTC_OK;
}

int rtc_sdp_extmap_get(const rtc_sdp *sdp, int m, size_t nth, rtc_sdp_extmap *out) {
    const char *v = NULL;
    if (!out) return RTC_ERR_INVALID;
    int rc = nth_value(sdp, m, "extmap", nth, &v);
    if (rc) return rc;
    /* RFC 8285 §8: a=extmap:<value>["/"<direction>] <URI> <extensionattributes> */
    const char *p = v, *end = v + strlen(v);
    rtc_sdp_str idf, rest;
    memset(out, 0, sizeof *out);
    if (!sdp_next_token(&p, end, &idf) || !sdp_next_token(&p, end, &out->uri))
        return RTC_ERR_PARSE;
    const char *slash = memchr(idf.p, '/', idf.len);
    size_t il = slash ? (size_t)(slash - idf.p) : idf.len;
    uint64_t id;
    if (!sdp_parse_u64(idf.p, il, &id) || id == 0 || id > 255) return RTC_ERR_PARSE;
    out->id = (unsigned)id;
    if (slash) {
        rtc_sdp_str d = {slash + 1, idf.len - il - 1};
        bool ok = false;
        for (size_t k = 0; k < RTC_ARRAY_LEN(dir_names); k++) {
            if (sdp_str_eq(d, dir_names[k])) {
                out->direction = (rtc_sdp_direction)k;
                ok = true;
            }
        }
        if (!ok) return RTC_ERR_PARSE;
        out->has_direction = true;
    }
    if (sdp_next_token(&p, end, &rest)) {
        const char *e = end;
        while (e > rest.p && is_space(e[-1])) e--;
        out->attributes.p = rest.p;
        out->attributes.len = (size_t)(e - rest.p);
    }
    return RTC_OK;
}

int rtc_sdp_ssrc_get(const rtc_sdp *sdp, int m, size_t nth, rtc_sdp_ssrc *out) {
    const char *v = NULL;
    if (!out) return RTC_ERR_INVALID;
    int rc = nth_value(sdp, m, "ssrc", nth, &v);
    if (rc) return rc;
    /* RFC 5576 §4.1: a=ssrc:<ssrc-id> <attribute>[:<value>] */
    const char *sp = strchr(v, ' ');
    size_t n = sp ? (size_t)(sp - v) : strlen(v);
    uint64_t ssrc;
    memset(out, 0, sizeof *out);
    if (!sdp_parse_u64(v, n, &ssrc) || ssrc > UINT32_MAX) return RTC_ERR_PARSE;
    out->ssrc = (uint32_t)ssrc;
    if (!sp) return RTC_OK;
    const char *a = sp + 1, *end = v + strlen(v);
    const char *colon = memchr(a, ':', (size_t)(end - a));
    const char *ae = colon ? colon : end;
    if (!sdp_is_token(a, (size_t)(ae - a))) return RTC_ERR_PARSE;
    out->attribute.p = a;
    out->attribute.len = (size_t)(ae - a);
    if (colon) {
        out->value.p = colon + 1;
        out->value.len = (size_t)(end - colon - 1);
    }
    return RTC_OK;
}

int rtc_sdp_ssrc_group_get(const rtc_sdp *sdp, int m, size_t nth, rtc_sdp_ssrc_group *out) {
    const char *v = NULL;
    if (!out) return RTC_ERR_INVALID;
    int rc = nth_value(sdp, m, "ssrc-group", nth, &v);
    if (rc) return rc;
    /* RFC 5576 §4.2: a=ssrc-group:<semantics> <ssrc-id> ... */
    const char *p = v, *end = v + strlen(v);
    rtc_sdp_str tok;
    memset(out, 0, sizeof *out);
    if (!sdp_next_token(&p, end, &out->semantics) ||
        !sdp_is_token(out->semantics.p, out->semantics.len))
        return RTC_ERR_PARSE;
    while (sdp_next_token(&p, end, &tok)) {
        uint64_t s;
        if (out->count == RTC_SDP_SSRC_GROUP_MAX || !str_u64(tok, &s) || s > UINT32_MAX)
            return RTC_ERR_PARSE;
        out->ssrcs[out->count++] = (uint32_t)s;
    }
    return RTC_OK;
}

/* ---- SCTP (RFC 8841) ------------------------------------------------------------------- */

int rtc_sdp_sctp_port(const rtc_sdp *sdp, int m, uint16_t *out) {
    if (!out || m < 0 || !sdp_level(sdp, m)) return RTC_ERR_INVALID;
    const char *v = NULL;
    uint64_t port;
    if (rtc_sdp_find_attr(sdp, m, "sctp-port", 0, &v) >= 0) {
        /* RFC 8841 §5.2: sctp-port-attr = "a=sctp-port:" portnumber */
        if (!v) return RTC_ERR_PARSE;
        size_t n = strlen(v);
        while (n && is_space(v[n - 1])) n--;
        if (!sdp_parse_u64(v, n, &port) || port > 65535) return RTC_ERR_PARSE;
        *out = (uint16_t)port;
        return RTC_OK;
    }
    if (rtc_sdp_find_attr(sdp, m, "sctpmap", 0, &v) >= 0) {
        /* draft-ietf-mmusic-sctp-sdp-05: a=sctpmap:<port> <protocol> [<streams>] */
        uint64_t p64;
        const char *rest;
        if (!v || !split_pt(v, &p64, &rest) || p64 > 65535) return RTC_ERR_PARSE;
        *out = (uint16_t)p64;
        return RTC_OK;
    }
    return RTC_ERR_NOT_FOUND;
}

int rtc_sdp_max_message_size(const rtc_sdp *sdp, int m, uint64_t *out) {
    if (!out || m < 0 || !sdp_level(sdp, m)) return RTC_ERR_INVALID;
    const char *v = NULL;
    /* RFC 8841 §6: absent means 64 KiB; 0 means the peer accepts any size */
    *out = 65536;
    if (rtc_sdp_find_attr(sdp, m, "max-message-size", 0, &v) < 0) return RTC_OK;
    if (!v) return RTC_ERR_PARSE;
    size_t n = strlen(v);
    while (n && is_space(v[n - 1])) n--;
    if (!sdp_parse_u64(v, n, out)) return RTC_ERR_PARSE;
    return RTC_OK;
}
