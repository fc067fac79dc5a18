/*
** The rtc_sdp object: lifecycle, generic line and attribute access, and the builder.
** Parsing is in parse.c, serialization in write.c, typed attribute readers in attrs.c,
** the JSEP view in jsep.c.
*/
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sdp/sdp_internal.h"

#define LOG_MODULE "sdp"

/* ---- small helpers --------------------------------------------------------------------- */

char *sdp_strndup(const rtc_env *env, const char *p, size_t n) {
    char *d = rtc_calloc(env, n + 1);
    if (d && n) memcpy(d, p, n);
    return d;
}

int sdp_grow(const rtc_env *env, void **arr, size_t *cap, size_t n, size_t elem) {
    if (n < *cap) return RTC_OK;
    size_t nc = *cap ? *cap * 2 : 4;
    void *p = rtc_realloc(env, *arr, *cap * elem, nc * elem);
    if (!p) return RTC_ERR_NOMEM;
    *arr = p;
    *cap = nc;
    return RTC_OK;
}

bool sdp_is_token_char(int c) {
    /* RFC 8866 §9 token-char: %x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39 / %x41-5A / %x5E-7E */
    return c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2A || c == 0x2B || c == 0x2D ||
           c == 0x2E || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) ||
           (c >= 0x5E && c <= 0x7E);
}

bool sdp_is_token(const char *p, size_t n) {
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++)
        if (!sdp_is_token_char((unsigned char)p[i])) return false;
    return true;
}

bool sdp_parse_u64(const char *p, size_t n, uint64_t *out) {
    if (n == 0 || n > 20) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return false;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

int sdp_set_fmts(const rtc_env *env, sdp_section *s, const char *p, size_t n) {
    /* Count first so the array has exactly nfmts slots (sdp_section_clear frees that size). */
    const char *q = p, *end = p + n;
    rtc_sdp_str tok;
    size_t count = 0;
    while (sdp_next_token(&q, end, &tok)) count++;
    if (count == 0) return RTC_ERR_PARSE; /* RFC 8866 §5.14: 1*(SP fmt) */
    char **f = rtc_calloc(env, count * sizeof(char *));
    if (!f) return RTC_ERR_NOMEM;
    s->fmts = f;
    s->nfmts = count;
    q = p;
    for (size_t i = 0; i < count && sdp_next_token(&q, end, &tok); i++)
        if (!(f[i] = sdp_strndup(env, tok.p, tok.len))) return RTC_ERR_NOMEM;
    return RTC_OK;
}

void sdp_section_clear(const rtc_env *env, sdp_section *s) {
    rtc_strfree(env, s->media);
    rtc_strfree(env, s->proto);
    for (size_t i = 0; i < s->nfmts; i++) rtc_strfree(env, s->fmts[i]);
    rtc_free(env, s->fmts, s->nfmts * sizeof(char *));
    for (size_t i = 0; i < s->nlines; i++) rtc_strfree(env, s->lines[i].text);
    rtc_free(env, s->lines, s->caplines * sizeof(sdp_line));
    for (size_t i = 0; i < s->nconns; i++) {
        rtc_strfree(env, s->conns[i].nettype);
        rtc_strfree(env, s->conns[i].addrtype);
        rtc_strfree(env, s->conns[i].address);
    }
    rtc_free(env, s->conns, s->capconns * sizeof(sdp_conn));
    for (size_t i = 0; i < s->nbws; i++) rtc_strfree(env, s->bws[i]);
    rtc_free(env, s->bws, s->capbws * sizeof(char *));
    for (size_t i = 0; i < s->nattrs; i++) {
        rtc_strfree(env, s->attrs[i].name);
        rtc_strfree(env, s->attrs[i].value);
    }
    rtc_free(env, s->attrs, s->capattrs * sizeof(sdp_attr));
    memset(s, 0, sizeof *s);
}

void sdp_content_clear(rtc_sdp *sdp) {
    const rtc_env *env = &sdp->env;
    char **strs[] = {&sdp->o_user, &sdp->o_id,  &sdp->o_ver, &sdp->o_net,
                     &sdp->o_addrtype, &sdp->o_addr, &sdp->name, &sdp->timing};
    for (size_t i = 0; i < RTC_ARRAY_LEN(strs); i++) {
        rtc_strfree(env, *strs[i]);
        *strs[i] = NULL;
    }
    sdp_section_clear(env, &sdp->session);
    for (size_t i = 0; i < sdp->nmedia; i++) sdp_section_clear(env, &sdp->media[i]);
    rtc_free(env, sdp->media, sdp->capmedia * sizeof(sdp_section));
    sdp->media = NULL;
    sdp->nmedia = sdp->capmedia = 0;
    sdp->total_lines = 0;
}

sdp_section *sdp_level(const rtc_sdp *sdp, int m) {
    if (!sdp) return NULL;
    if (m == RTC_SDP_SESSION) return (sdp_section *)&sdp->session;
    if (m < 0 || (size_t)m >= sdp->nmedia) return NULL;
    return &sdp->media[m];
}

size_t sdp_count_lines(const rtc_sdp *sdp) {
    size_t n = 3 + (sdp->timing ? 1 : 0); /* v o s t */
    for (int m = RTC_SDP_SESSION; m < (int)sdp->nmedia; m++) {
        const sdp_section *s = sdp_level(sdp, m);
        n += s->nlines + s->nconns + s->nbws + s->nattrs + (m >= 0 ? 1 : 0);
    }
    return n;
}

static void set_error(rtc_sdp *sdp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(rtc_sdp *sdp, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sdp->err, sizeof sdp->err, fmt, ap);
    va_end(ap);
    RTC_LOGD(&sdp->env, "%s", sdp->err);
}

/* ---- lifecycle ------------------------------------------------------------------------- */

static int set_str(rtc_sdp *sdp, char **slot, const char *v) {
    char *d = rtc_strdup(&sdp->env, v);
    if (!d) return RTC_ERR_NOMEM;
    rtc_strfree(&sdp->env, *slot);
    *slot = d;
    return RTC_OK;
}

int sdp_set_defaults(rtc_sdp *sdp) {
    /* RFC 8829 §5.2.1: "o=- <id> <version> IN IP4 127.0.0.1", "s=-", "t=0 0". */
    if (set_str(sdp, &sdp->o_user, "-") || set_str(sdp, &sdp->o_id, "0") ||
        set_str(sdp, &sdp->o_ver, "0") || set_str(sdp, &sdp->o_net, "IN") ||
        set_str(sdp, &sdp->o_addrtype, "IP4") || set_str(sdp, &sdp->o_addr, "127.0.0.1") ||
        set_str(sdp, &sdp->name, "-") || set_str(sdp, &sdp->timing, "0 0"))
        return RTC_ERR_NOMEM;
    sdp->total_lines = sdp_count_lines(sdp);
    return RTC_OK;
}

int rtc_sdp_new(rtc_sdp **out, const rtc_env *env) {
    if (!out) return RTC_ERR_INVALID;
    *out = NULL;
    rtc_env e;
    rtc_env_copy(&e, env);
    rtc_sdp *sdp = rtc_calloc(&e, sizeof *sdp);
    if (!sdp) return RTC_ERR_NOMEM;
    sdp->env = e;
    rtc_sdp_set_limits(sdp, NULL);
    if (sdp_set_defaults(sdp) != RTC_OK) {
        rtc_sdp_free(sdp);
        return RTC_ERR_NOMEM;
    }
    *out = sdp;
    return RTC_OK;
}

int rtc_sdp_clone(rtc_sdp **out, const rtc_sdp *src) {
    if (!out || !src) return RTC_ERR_INVALID;
    *out = NULL;
    /* Through text: every description the parser or the builder accepts serializes to text
    ** the parser accepts within the same limits (the round-trip tests and the fuzz target
    ** check this), so the copy is exact and needs no second deep-copy routine to maintain. */
    int n = rtc_sdp_serialize(src, NULL, 0);
    if (n < 0) return RTC_ERR_INVALID;
    char *text = rtc_calloc(&src->env, (size_t)n + 1);
    if (!text) return RTC_ERR_NOMEM;
    rtc_sdp *c = NULL;
    int rc = rtc_sdp_serialize(src, text, (size_t)n + 1) == n ? RTC_OK : RTC_ERR_INVALID;
    if (rc == RTC_OK) rc = rtc_sdp_new(&c, &src->env);
    if (rc == RTC_OK) {
        rtc_sdp_limits lim = src->lim;
        if (lim.max_size < (size_t)n) lim.max_size = (size_t)n; /* built beyond the input cap */
        c->lim = lim;
        rc = rtc_sdp_parse(c, text, (size_t)n);
        c->lim = src->lim;
        if (rc == RTC_ERR_PARSE) rc = RTC_ERR_INVALID; /* cannot happen; see above */
    }
    rtc_free(&src->env, text, (size_t)n + 1);
    if (rc) {
        rtc_sdp_free(c);
        return rc;
    }
    *out = c;
    return RTC_OK;
}

void rtc_sdp_free(rtc_sdp *sdp) {
    if (!sdp) return;
    sdp_content_clear(sdp);
    rtc_env env = sdp->env;
    rtc_free(&env, sdp, sizeof *sdp);
}

void rtc_sdp_set_limits(rtc_sdp *sdp, const rtc_sdp_limits *limits) {
    if (!sdp) return;
    rtc_sdp_limits l = limits ? *limits : (rtc_sdp_limits){0, 0, 0, 0};
    if (!l.max_size) l.max_size = RTC_SDP_DEFAULT_MAX_SIZE;
    if (!l.max_line_len) l.max_line_len = RTC_SDP_DEFAULT_MAX_LINE_LEN;
    if (!l.max_lines) l.max_lines = RTC_SDP_DEFAULT_MAX_LINES;
    if (!l.max_media) l.max_media = RTC_SDP_DEFAULT_MAX_MEDIA;
    sdp->lim = l;
}

const char *rtc_sdp_error(const rtc_sdp *sdp) { return sdp ? sdp->err : ""; }

/* ---- session and media lines ----------------------------------------------------------- */

int rtc_sdp_get_origin(const rtc_sdp *sdp, rtc_sdp_origin *out) {
    if (!sdp || !out) return RTC_ERR_INVALID;
    out->username = sdp->o_user;
    out->sess_id = sdp->o_id;
    out->sess_version = sdp->o_ver;
    out->nettype = sdp->o_net;
    out->addrtype = sdp->o_addrtype;
    out->address = sdp->o_addr;
    return RTC_OK;
}

int rtc_sdp_get_sess_version(const rtc_sdp *sdp, uint64_t *out) {
    if (!sdp || !out) return RTC_ERR_INVALID;
    return sdp_parse_u64(sdp->o_ver, strlen(sdp->o_ver), out) ? RTC_OK : RTC_ERR_PARSE;
}

const char *rtc_sdp_session_name(const rtc_sdp *sdp) { return sdp ? sdp->name : NULL; }

size_t rtc_sdp_media_count(const rtc_sdp *sdp) { return sdp ? sdp->nmedia : 0; }

int rtc_sdp_get_media(const rtc_sdp *sdp, int m, rtc_sdp_media *out) {
    if (!sdp || !out || m < 0 || (size_t)m >= sdp->nmedia) return RTC_ERR_INVALID;
    const sdp_section *s = &sdp->media[m];
    out->media = s->media;
    out->port = s->port;
    out->num_ports = s->num_ports;
    out->proto = s->proto;
    out->fmt_count = s->nfmts;
    out->fmts = (const char *const *)s->fmts;
    return RTC_OK;
}

int rtc_sdp_get_connection(const rtc_sdp *sdp, int m, rtc_sdp_conn *out) {
    const sdp_section *s = sdp_level(sdp, m);
    if (!s || !out) return RTC_ERR_INVALID;
    if (s->nconns == 0) return RTC_ERR_NOT_FOUND;
    out->nettype = s->conns[0].nettype;
    out->addrtype = s->conns[0].addrtype;
    out->address = s->conns[0].address;
    return RTC_OK;
}

int rtc_sdp_get_bandwidth(const rtc_sdp *sdp, int m, const char *type, uint64_t *out) {
    const sdp_section *s = sdp_level(sdp, m);
    if (!s || !type || !out) return RTC_ERR_INVALID;
    size_t tl = strlen(type);
    for (size_t i = 0; i < s->nbws; i++) {
        const char *b = s->bws[i];
        if (strncmp(b, type, tl) == 0 && b[tl] == ':')
            return sdp_parse_u64(b + tl + 1, strlen(b + tl + 1), out) ? RTC_OK : RTC_ERR_PARSE;
    }
    return RTC_ERR_NOT_FOUND;
}

/* ---- generic attributes ---------------------------------------------------------------- */

size_t rtc_sdp_attr_count(const rtc_sdp *sdp, int m) {
    const sdp_section *s = sdp_level(sdp, m);
    return s ? s->nattrs : 0;
}

int rtc_sdp_get_attr(const rtc_sdp *sdp, int m, size_t i, rtc_sdp_attr *out) {
    const sdp_section *s = sdp_level(sdp, m);
    if (!s || !out || i >= s->nattrs) return RTC_ERR_INVALID;
    out->name = s->attrs[i].name;
    out->value = s->attrs[i].value;
    return RTC_OK;
}

int rtc_sdp_find_attr(const rtc_sdp *sdp, int m, const char *name, size_t from,
                      const char **value) {
    const sdp_section *s = sdp_level(sdp, m);
    if (!s || !name) return RTC_ERR_NOT_FOUND;
    for (size_t i = from; i < s->nattrs; i++) {
        if (strcmp(s->attrs[i].name, name) == 0) {
            if (value) *value = s->attrs[i].value;
            return i > (size_t)INT32_MAX ? RTC_ERR_NOT_FOUND : (int)i;
        }
    }
    return RTC_ERR_NOT_FOUND;
}

bool rtc_sdp_has_attr(const rtc_sdp *sdp, int m, const char *name) {
    return rtc_sdp_find_attr(sdp, m, name, 0, NULL) >= 0;
}

const char *rtc_sdp_attr_value(const rtc_sdp *sdp, int m, const char *name) {
    const char *v = NULL;
    if (rtc_sdp_find_attr(sdp, m, name, 0, &v) < 0) return NULL;
    return v ? v : "";
}

/* ---- builder --------------------------------------------------------------------------- */

static bool clean_text(const char *v) {
    /* RFC 8866 §9 byte-string / text: anything but NUL, CR, LF */
    return v && !strpbrk(v, "\r\n");
}

static int room_for_line(rtc_sdp *sdp, size_t line_len) {
    if (line_len > sdp->lim.max_line_len) {
        set_error(sdp, "line of %zu bytes exceeds the limit of %zu", line_len,
                  sdp->lim.max_line_len);
        return RTC_ERR_NOMEM;
    }
    if (sdp->total_lines + 1 > sdp->lim.max_lines) {
        set_error(sdp, "more than %zu lines", sdp->lim.max_lines);
        return RTC_ERR_NOMEM;
    }
    return RTC_OK;
}

static int fmt_u64(char *buf, size_t size, uint64_t v) {
    return snprintf(buf, size, "%llu", (unsigned long long)v);
}

int rtc_sdp_set_origin(rtc_sdp *sdp, const char *username, uint64_t sess_id,
                       uint64_t sess_version, const char *address) {
    if (!sdp) return RTC_ERR_INVALID;
    if (!username) username = "-";
    if (!address) address = "127.0.0.1";
    /* username and address are single fields of the o= line: no spaces (RFC 8866 §5.2) */
    if (!sdp_is_token(username, strlen(username)) || !*address || strpbrk(address, " \r\n"))
        return RTC_ERR_INVALID;
    char id[24], ver[24];
    fmt_u64(id, sizeof id, sess_id);
    fmt_u64(ver, sizeof ver, sess_version);
    size_t len = 2 + strlen(username) + 1 + strlen(id) + 1 + strlen(ver) + 4 + 4 + strlen(address);
    if (len > sdp->lim.max_line_len) return RTC_ERR_NOMEM;
    const rtc_env *env = &sdp->env;
    char *n[6] = {rtc_strdup(env, username), rtc_strdup(env, id), rtc_strdup(env, ver),
                  rtc_strdup(env, "IN"), rtc_strdup(env, strchr(address, ':') ? "IP6" : "IP4"),
                  rtc_strdup(env, address)};
    char **slots[6] = {&sdp->o_user, &sdp->o_id, &sdp->o_ver, &sdp->o_net, &sdp->o_addrtype,
                       &sdp->o_addr};
    bool ok = true;
    for (int i = 0; i < 6; i++) ok = ok && n[i];
    for (int i = 0; i < 6; i++) {
        if (ok) {
            rtc_strfree(env, *slots[i]);
            *slots[i] = n[i];
        } else {
            rtc_strfree(env, n[i]);
        }
    }
    return ok ? RTC_OK : RTC_ERR_NOMEM;
}

int rtc_sdp_set_session_name(rtc_sdp *sdp, const char *name) {
    if (!sdp || !name || !*name || !clean_text(name)) return RTC_ERR_INVALID;
    if (2 + strlen(name) > sdp->lim.max_line_len) return RTC_ERR_NOMEM;
    return set_str(sdp, &sdp->name, name);
}

int rtc_sdp_add_media(rtc_sdp *sdp, const char *media, uint16_t port, const char *proto,
                      const char *fmts) {
    if (!sdp || !media || !proto || !fmts) return RTC_ERR_INVALID;
    if (!sdp_is_token(media, strlen(media)) || !clean_text(fmts)) return RTC_ERR_INVALID;
    for (const char *p = proto; *p; p++)
        if (!sdp_is_token_char((unsigned char)*p) && *p != '/') return RTC_ERR_INVALID;
    if (!*proto) return RTC_ERR_INVALID;
    if (sdp->nmedia >= sdp->lim.max_media) {
        set_error(sdp, "more than %zu media sections", sdp->lim.max_media);
        return RTC_ERR_NOMEM;
    }
    int rc = room_for_line(sdp, 2 + strlen(media) + 6 + 1 + strlen(proto) + 1 + strlen(fmts));
    if (rc) return rc;
    const rtc_env *env = &sdp->env;
    sdp_section s;
    memset(&s, 0, sizeof s);
    int rc2 = sdp_set_fmts(env, &s, fmts, strlen(fmts));
    if (rc2) {
        sdp_section_clear(env, &s);
        return rc2 == RTC_ERR_PARSE ? RTC_ERR_INVALID : rc2;
    }
    s.port = port;
    s.media = rtc_strdup(env, media);
    s.proto = rtc_strdup(env, proto);
    if (!s.media || !s.proto ||
        sdp_grow(env, (void **)&sdp->media, &sdp->capmedia, sdp->nmedia, sizeof s)) {
        sdp_section_clear(env, &s);
        return RTC_ERR_NOMEM;
    }
    sdp->media[sdp->nmedia] = s;
    sdp->total_lines++;
    return (int)sdp->nmedia++;
}

int rtc_sdp_set_media_port(rtc_sdp *sdp, int m, uint16_t port) {
    if (!sdp || m < 0 || (size_t)m >= sdp->nmedia) return RTC_ERR_INVALID;
    sdp->media[m].port = port;
    return RTC_OK;
}

int rtc_sdp_set_connection(rtc_sdp *sdp, int m, const char *address) {
    sdp_section *s = sdp_level(sdp, m);
    if (!s || !address || !*address || strpbrk(address, " \r\n")) return RTC_ERR_INVALID;
    const rtc_env *env = &sdp->env;
    int rc = s->nconns ? RTC_OK : room_for_line(sdp, 2 + 7 + strlen(address));
    if (rc) return rc;
    if (s->nconns == 0 && sdp_grow(env, (void **)&s->conns, &s->capconns, 0, sizeof(sdp_conn)))
        return RTC_ERR_NOMEM;
    sdp_conn c = {rtc_strdup(env, "IN"), rtc_strdup(env, strchr(address, ':') ? "IP6" : "IP4"),
                  rtc_strdup(env, address)};
    if (!c.nettype || !c.addrtype || !c.address) {
        rtc_strfree(env, c.nettype);
        rtc_strfree(env, c.addrtype);
        rtc_strfree(env, c.address);
        return RTC_ERR_NOMEM;
    }
    if (s->nconns) {
        rtc_strfree(env, s->conns[0].nettype);
        rtc_strfree(env, s->conns[0].addrtype);
        rtc_strfree(env, s->conns[0].address);
    } else {
        s->nconns = 1;
        sdp->total_lines++;
    }
    s->conns[0] = c;
    return RTC_OK;
}

int rtc_sdp_add_bandwidth(rtc_sdp *sdp, int m, const char *type, uint64_t value) {
    sdp_section *s = sdp_level(sdp, m);
    if (!s || !type || !sdp_is_token(type, strlen(type)) || strchr(type, ':'))
        return RTC_ERR_INVALID;
    char buf[128];
    int n = snprintf(buf, sizeof buf, "%s:%llu", type, (unsigned long long)value);
    if (n < 0 || (size_t)n >= sizeof buf) return RTC_ERR_INVALID;
    int rc = room_for_line(sdp, 2 + (size_t)n);
    if (rc) return rc;
    if (sdp_grow(&sdp->env, (void **)&s->bws, &s->capbws, s->nbws, sizeof(char *)))
        return RTC_ERR_NOMEM;
    char *d = rtc_strdup(&sdp->env, buf);
    if (!d) return RTC_ERR_NOMEM;
    s->bws[s->nbws++] = d;
    sdp->total_lines++;
    return RTC_OK;
}

static int check_attr(rtc_sdp *sdp, const char *name, const char *value) {
    if (!name || !sdp_is_token(name, strlen(name)) || strchr(name, ':')) return RTC_ERR_INVALID;
    if (value && !clean_text(value)) return RTC_ERR_INVALID;
    return RTC_OK;
}

int rtc_sdp_add_attr(rtc_sdp *sdp, int m, const char *name, const char *value) {
    sdp_section *s = sdp_level(sdp, m);
    if (!s) return RTC_ERR_INVALID;
    int rc = check_attr(sdp, name, value);
    if (rc) return rc;
    rc = room_for_line(sdp, 2 + strlen(name) + (value ? 1 + strlen(value) : 0));
    if (rc) return rc;
    if (sdp_grow(&sdp->env, (void **)&s->attrs, &s->capattrs, s->nattrs, sizeof(sdp_attr)))
        return RTC_ERR_NOMEM;
    sdp_attr a = {rtc_strdup(&sdp->env, name), value ? rtc_strdup(&sdp->env, value) : NULL};
    if (!a.name || (value && !a.value)) {
        rtc_strfree(&sdp->env, a.name);
        rtc_strfree(&sdp->env, a.value);
        return RTC_ERR_NOMEM;
    }
    s->attrs[s->nattrs++] = a;
    sdp->total_lines++;
    return RTC_OK;
}

int rtc_sdp_add_attrf(rtc_sdp *sdp, int m, const char *name, const char *fmt, ...) {
    if (!sdp || !fmt) return RTC_ERR_INVALID;
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return RTC_ERR_INVALID;
    if ((size_t)n < sizeof small) return rtc_sdp_add_attr(sdp, m, name, small);
    if ((size_t)n > sdp->lim.max_line_len) return RTC_ERR_NOMEM;
    char *big = rtc_calloc(&sdp->env, (size_t)n + 1);
    if (!big) return RTC_ERR_NOMEM;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = rtc_sdp_add_attr(sdp, m, name, big);
    rtc_free(&sdp->env, big, (size_t)n + 1);
    return rc;
}

int rtc_sdp_set_attr(rtc_sdp *sdp, int m, const char *name, const char *value) {
    sdp_section *s = sdp_level(sdp, m);
    if (!s) return RTC_ERR_INVALID;
    int rc = check_attr(sdp, name, value);
    if (rc) return rc;
    int i = rtc_sdp_find_attr(sdp, m, name, 0, NULL);
    if (i < 0) return rtc_sdp_add_attr(sdp, m, name, value);
    if (2 + strlen(name) + (value ? 1 + strlen(value) : 0) > sdp->lim.max_line_len)
        return RTC_ERR_NOMEM;
    char *d = NULL;
    if (value && !(d = rtc_strdup(&sdp->env, value))) return RTC_ERR_NOMEM;
    rtc_strfree(&sdp->env, s->attrs[i].value);
    s->attrs[i].value = d;
    return RTC_OK;
}

int rtc_sdp_remove_attrs(rtc_sdp *sdp, int m, const char *name) {
    sdp_section *s = sdp_level(sdp, m);
    if (!s || !name) return RTC_ERR_INVALID;
    size_t w = 0, removed = 0;
    for (size_t r = 0; r < s->nattrs; r++) {
        if (strcmp(s->attrs[r].name, name) == 0) {
            rtc_strfree(&sdp->env, s->attrs[r].name);
            rtc_strfree(&sdp->env, s->attrs[r].value);
            removed++;
        } else {
            s->attrs[w++] = s->attrs[r];
        }
    }
    s->nattrs = w;
    sdp->total_lines -= removed;
    return (int)removed;
}

int rtc_sdp_add_fingerprint(rtc_sdp *sdp, int m, const rtc_sdp_fingerprint *fp) {
    if (!fp || fp->len == 0 || fp->len > RTC_SDP_FINGERPRINT_MAX ||
        !sdp_is_token(fp->hash, strnlen(fp->hash, sizeof fp->hash)) ||
        strnlen(fp->hash, sizeof fp->hash) == sizeof fp->hash)
        return RTC_ERR_INVALID;
    /* RFC 8122 §5: uppercase hex pairs separated by ':' (browsers send uppercase). */
    char buf[sizeof fp->hash + 1 + RTC_SDP_FINGERPRINT_MAX * 3];
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(fp->hash);
    memcpy(buf, fp->hash, n);
    buf[n++] = ' ';
    for (size_t i = 0; i < fp->len; i++) {
        if (i) buf[n++] = ':';
        buf[n++] = hex[fp->value[i] >> 4];
        buf[n++] = hex[fp->value[i] & 15];
    }
    buf[n] = 0;
    return rtc_sdp_add_attr(sdp, m, "fingerprint", buf);
}

int rtc_sdp_add_setup(rtc_sdp *sdp, int m, rtc_sdp_setup setup) {
    const char *v = rtc_sdp_setup_name(setup);
    return v ? rtc_sdp_add_attr(sdp, m, "setup", v) : RTC_ERR_INVALID;
}

int rtc_sdp_add_direction(rtc_sdp *sdp, int m, rtc_sdp_direction d) {
    const char *v = rtc_sdp_direction_name(d);
    return v ? rtc_sdp_add_attr(sdp, m, v, NULL) : RTC_ERR_INVALID;
}

int rtc_sdp_add_rtpmap(rtc_sdp *sdp, int m, unsigned pt, const char *encoding,
                       uint32_t clock_rate, unsigned channels) {
    if (pt > 127 || !encoding || !sdp_is_token(encoding, strlen(encoding)) ||
        strchr(encoding, '/') || clock_rate == 0)
        return RTC_ERR_INVALID;
    if (channels)
        return rtc_sdp_add_attrf(sdp, m, "rtpmap", "%u %s/%u/%u", pt, encoding,
                                 (unsigned)clock_rate, channels);
    return rtc_sdp_add_attrf(sdp, m, "rtpmap", "%u %s/%u", pt, encoding, (unsigned)clock_rate);
}
