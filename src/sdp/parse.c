/*
** SDP text -> rtc_sdp (RFC 8866 §5, §9).
**
** The parser is line-oriented and strict about structure but liberal about content: each line
** must be "<letter>=<value>", the line types must be the ones RFC 8866 allows at their level,
** and the lines that carry structure (v o s c b t m, attribute names) must follow the grammar;
** attribute values are kept verbatim and checked only by the typed accessors that read them, so
** an attribute we do not know, or one a stack words unusually, never rejects a description.
**
** Bounds (rtc_sdp_limits) are checked while scanning, before anything is allocated for a line:
** a line longer than max_line_len is rejected after reading at most max_line_len + 2 bytes of it.
** Lines are cut from the input with the bounds-checked rtc_reader; within a line, fields are
** (pointer, length) slices that never leave the line (rtc_sdp_str, sdp_next_token).
** The whole input is parsed into a scratch object that replaces the caller's only on success.
**
** Leniencies, each seen in the wild: LF without CR; blank lines (GStreamer and hand-edited SDPs
** end with an extra CRLF); a missing final line ending (some signaling servers trim it); a
** missing t= line; several spaces between fields. Rejected although some parsers accept them:
** unknown line types (RFC 8866 §5 says to ignore the whole description), NUL bytes, CR inside
** a line, leading whitespace.
*/
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sdp/sdp_internal.h"
#include "util/buf.h"

#define LOG_MODULE "sdp"

typedef struct parser {
    rtc_sdp *t; /* scratch object being filled */
    size_t lineno;
    char *err;
    size_t err_size;
} parser;

static int fail(parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(parser *ps, const char *fmt, ...) {
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(ps->err, ps->err_size, "line %zu: %s", ps->lineno, msg);
    RTC_LOGD(&ps->t->env, "parse failed: %s", ps->err);
    return RTC_ERR_PARSE;
}

static int oom(parser *ps) {
    snprintf(ps->err, ps->err_size, "line %zu: out of memory", ps->lineno);
    return RTC_ERR_NOMEM;
}

/* Split [v, v+n) into at most `max` space-separated tokens; returns the count, or max + 1 when
** there are more. */
static size_t split(const char *v, size_t n, rtc_sdp_str *toks, size_t max) {
    const char *p = v, *end = v + n;
    size_t k = 0;
    rtc_sdp_str tok;
    while (sdp_next_token(&p, end, &tok)) {
        if (k == max) return max + 1;
        toks[k++] = tok;
    }
    return k;
}

static char *dup_str(parser *ps, rtc_sdp_str s) { return sdp_strndup(&ps->t->env, s.p, s.len); }

static bool is_digits(rtc_sdp_str s) {
    uint64_t v;
    return sdp_parse_u64(s.p, s.len, &v);
}

static int parse_origin(parser *ps, const char *v, size_t n) {
    /* o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address> (§5.2) */
    rtc_sdp_str f[6];
    if (split(v, n, f, 6) != 6) return fail(ps, "o= line needs 6 fields");
    /* sess-id and sess-version are numeric strings; 20 digits hold any 64-bit value, and we
    ** allow up to 32 so a stack that sends a longer decimal number still parses. */
    for (int i = 1; i <= 2; i++) {
        if (f[i].len > 32) return fail(ps, "o= line: session id/version too long");
        for (size_t j = 0; j < f[i].len; j++)
            if (f[i].p[j] < '0' || f[i].p[j] > '9')
                return fail(ps, "o= line: session id/version must be digits");
    }
    if (!sdp_is_token(f[3].p, f[3].len) || !sdp_is_token(f[4].p, f[4].len))
        return fail(ps, "o= line: bad nettype/addrtype");
    rtc_sdp *t = ps->t;
    if (!(t->o_user = dup_str(ps, f[0])) || !(t->o_id = dup_str(ps, f[1])) ||
        !(t->o_ver = dup_str(ps, f[2])) || !(t->o_net = dup_str(ps, f[3])) ||
        !(t->o_addrtype = dup_str(ps, f[4])) || !(t->o_addr = dup_str(ps, f[5])))
        return oom(ps);
    return RTC_OK;
}

static int push_line(parser *ps, sdp_section *s, char type, const char *v, size_t n) {
    const rtc_env *env = &ps->t->env;
    if (sdp_grow(env, (void **)&s->lines, &s->caplines, s->nlines, sizeof(sdp_line)))
        return oom(ps);
    char *d = sdp_strndup(env, v, n);
    if (!d) return oom(ps);
    s->lines[s->nlines].type = type;
    s->lines[s->nlines].text = d;
    s->nlines++;
    return RTC_OK;
}

static int parse_conn(parser *ps, sdp_section *s, const char *v, size_t n) {
    /* c=<nettype> <addrtype> <connection-address> (§5.7) */
    rtc_sdp_str f[3];
    if (split(v, n, f, 3) != 3) return fail(ps, "c= line needs 3 fields");
    if (!sdp_is_token(f[0].p, f[0].len) || !sdp_is_token(f[1].p, f[1].len))
        return fail(ps, "c= line: bad nettype/addrtype");
    const rtc_env *env = &ps->t->env;
    if (sdp_grow(env, (void **)&s->conns, &s->capconns, s->nconns, sizeof(sdp_conn)))
        return oom(ps);
    sdp_conn *c = &s->conns[s->nconns];
    memset(c, 0, sizeof *c);
    s->nconns++; /* counted before filling so a partial entry is freed with the section */
    if (!(c->nettype = dup_str(ps, f[0])) || !(c->addrtype = dup_str(ps, f[1])) ||
        !(c->address = dup_str(ps, f[2])))
        return oom(ps);
    return RTC_OK;
}

static int parse_bw(parser *ps, sdp_section *s, const char *v, size_t n) {
    /* b=<bwtype>:<bandwidth> (§5.8) */
    const char *colon = memchr(v, ':', n);
    if (!colon) return fail(ps, "b= line needs <type>:<value>");
    size_t tl = (size_t)(colon - v);
    uint64_t bw;
    if (!sdp_is_token(v, tl)) return fail(ps, "b= line: bad bandwidth type");
    if (!sdp_parse_u64(colon + 1, n - tl - 1, &bw)) return fail(ps, "b= line: bad bandwidth");
    const rtc_env *env = &ps->t->env;
    if (sdp_grow(env, (void **)&s->bws, &s->capbws, s->nbws, sizeof(char *))) return oom(ps);
    if (!(s->bws[s->nbws] = sdp_strndup(env, v, n))) return oom(ps);
    s->nbws++;
    return RTC_OK;
}

static int parse_timing(parser *ps, const char *v, size_t n) {
    /* t=<start-time> <stop-time> (§5.9); extra t= lines are kept verbatim */
    rtc_sdp_str f[2];
    if (split(v, n, f, 2) != 2 || !is_digits(f[0]) || !is_digits(f[1]))
        return fail(ps, "t= line needs <start> <stop> as decimal numbers");
    if (ps->t->timing) return push_line(ps, &ps->t->session, 't', v, n);
    if (!(ps->t->timing = sdp_strndup(&ps->t->env, v, n))) return oom(ps);
    return RTC_OK;
}

static int parse_media(parser *ps, const char *v, size_t n) {
    /* m=<media> <port>[/<number of ports>] <proto> 1*(SP <fmt>) (§5.14) */
    rtc_sdp *t = ps->t;
    if (t->nmedia >= t->lim.max_media)
        return fail(ps, "more than %zu media sections", t->lim.max_media);
    const char *p = v, *end = v + n;
    rtc_sdp_str media, port, proto;
    if (!sdp_next_token(&p, end, &media) || !sdp_next_token(&p, end, &port) ||
        !sdp_next_token(&p, end, &proto))
        return fail(ps, "m= line needs <media> <port> <proto> <fmt>...");
    if (!sdp_is_token(media.p, media.len)) return fail(ps, "m= line: bad media type");
    const char *slash = memchr(port.p, '/', port.len);
    size_t pl = slash ? (size_t)(slash - port.p) : port.len;
    uint64_t portv, nports = 0;
    if (!sdp_parse_u64(port.p, pl, &portv) || portv > 65535)
        return fail(ps, "m= line: bad port");
    if (slash && (!sdp_parse_u64(slash + 1, port.len - pl - 1, &nports) || nports == 0 ||
                  nports > 65535))
        return fail(ps, "m= line: bad number of ports");
    /* proto = token *("/" token) */
    for (size_t i = 0; i < proto.len; i++)
        if (!sdp_is_token_char((unsigned char)proto.p[i]) && proto.p[i] != '/')
            return fail(ps, "m= line: bad proto");
    if (sdp_grow(&t->env, (void **)&t->media, &t->capmedia, t->nmedia, sizeof(sdp_section)))
        return oom(ps);
    sdp_section *s = &t->media[t->nmedia];
    memset(s, 0, sizeof *s);
    t->nmedia++;
    s->port = (uint16_t)portv;
    s->num_ports = (uint16_t)nports;
    int rc = sdp_set_fmts(&t->env, s, p, (size_t)(end - p));
    if (rc == RTC_ERR_PARSE) return fail(ps, "m= line needs at least one fmt");
    if (rc) return oom(ps);
    if (!(s->media = dup_str(ps, media)) || !(s->proto = dup_str(ps, proto))) return oom(ps);
    return RTC_OK;
}

static int parse_attr(parser *ps, sdp_section *s, const char *v, size_t n) {
    /* a=<attribute-name>[:<attribute-value>] (§5.13); the name is a token */
    const char *colon = memchr(v, ':', n);
    size_t nl = colon ? (size_t)(colon - v) : n;
    if (!sdp_is_token(v, nl)) return fail(ps, "a= line: bad attribute name");
    const rtc_env *env = &ps->t->env;
    if (sdp_grow(env, (void **)&s->attrs, &s->capattrs, s->nattrs, sizeof(sdp_attr)))
        return oom(ps);
    sdp_attr *a = &s->attrs[s->nattrs];
    a->name = sdp_strndup(env, v, nl);
    a->value = colon ? sdp_strndup(env, colon + 1, n - nl - 1) : NULL;
    s->nattrs++;
    if (!a->name || (colon && !a->value)) return oom(ps);
    return RTC_OK;
}

static int parse_into(parser *ps, const char *text, size_t len) {
    rtc_sdp *t = ps->t;
    const size_t maxl = t->lim.max_line_len;
    size_t lines = 0;
    bool seen_v = false, seen_o = false, seen_s = false;
    sdp_section *cur = &t->session;
    int rc;
    rtc_reader r;
    rtc_reader_init(&r, (const uint8_t *)text, len);

    while (rtc_reader_left(&r) > 0) {
        ps->lineno++;
        size_t avail = rtc_reader_left(&r);
        /* A line of maxl bytes plus CRLF is maxl + 2 bytes: never look further. */
        size_t scan = avail < maxl + 2 ? avail : maxl + 2;
        const uint8_t *nl = memchr(r.p, '\n', scan);
        size_t n, take;
        if (nl) {
            n = (size_t)(nl - r.p);
            take = n + 1;
        } else if (avail <= maxl + 1) {
            n = take = avail; /* last line without a line ending */
        } else {
            return fail(ps, "line longer than %zu bytes", maxl);
        }
        const char *line = (const char *)rtc_read_ptr(&r, take);
        if (!line) return fail(ps, "internal: line outside the input");
        if (n && line[n - 1] == '\r') n--;
        if (n > maxl) return fail(ps, "line longer than %zu bytes", maxl);
        if (memchr(line, '\0', n)) return fail(ps, "NUL byte");
        if (memchr(line, '\r', n)) return fail(ps, "CR inside a line");
        if (n == 0) continue;
        if (++lines > t->lim.max_lines) return fail(ps, "more than %zu lines", t->lim.max_lines);
        if (n < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z')
            return fail(ps, "expected <type>=<value>");
        const char type = line[0];
        const char *v = line + 2;
        const size_t vn = n - 2;
        const bool in_media = t->nmedia > 0;

        if (!seen_v) {
            if (type != 'v' || vn != 1 || v[0] != '0') return fail(ps, "first line must be v=0");
            seen_v = true;
            continue;
        }
        if (in_media && strchr("vosuepztr", type))
            return fail(ps, "%c= is not allowed in a media section", type);
        switch (type) {
        case 'v': return fail(ps, "duplicate v= line");
        case 'o':
            if (seen_o) return fail(ps, "duplicate o= line");
            seen_o = true;
            rc = parse_origin(ps, v, vn);
            break;
        case 's':
            if (seen_s) return fail(ps, "duplicate s= line");
            seen_s = true;
            rc = (t->name = sdp_strndup(&t->env, v, vn)) ? RTC_OK : oom(ps);
            break;
        case 'i': case 'u': case 'e': case 'p': case 'r': case 'z': case 'k':
            rc = push_line(ps, cur, type, v, vn);
            break;
        case 'c': rc = parse_conn(ps, cur, v, vn); break;
        case 'b': rc = parse_bw(ps, cur, v, vn); break;
        case 't': rc = parse_timing(ps, v, vn); break;
        case 'm':
            if (!seen_o || !seen_s) return fail(ps, "m= before the o= and s= lines");
            rc = parse_media(ps, v, vn);
            if (rc == RTC_OK) cur = &t->media[t->nmedia - 1];
            break;
        case 'a': rc = parse_attr(ps, cur, v, vn); break;
        default: return fail(ps, "unknown line type '%c'", type);
        }
        if (rc) return rc;
    }
    if (!seen_v) return fail(ps, "empty description (no v= line)");
    if (!seen_o) return fail(ps, "missing o= line");
    if (!seen_s) return fail(ps, "missing s= line");
    return RTC_OK;
}

int rtc_sdp_parse(rtc_sdp *sdp, const char *text, size_t len) {
    if (!sdp || (!text && len)) return RTC_ERR_INVALID;
    rtc_sdp tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.env = sdp->env;
    tmp.lim = sdp->lim;
    parser ps = {&tmp, 0, sdp->err, sizeof sdp->err};
    if (len > tmp.lim.max_size) {
        snprintf(sdp->err, sizeof sdp->err, "line 1: description of %zu bytes exceeds %zu", len,
                 tmp.lim.max_size);
        return RTC_ERR_PARSE;
    }
    int rc = parse_into(&ps, text ? text : "", len);
    if (rc) {
        sdp_content_clear(&tmp);
        return rc;
    }
    sdp_content_clear(sdp);
    *sdp = tmp; /* same env and limits; err is empty in tmp */
    sdp->total_lines = sdp_count_lines(sdp);
    return RTC_OK;
}
