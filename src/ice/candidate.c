/*
** src/ice/candidate.c: the a=candidate line (RFC 8839 §5.1) and the priority formulas
** (RFC 8445 §5.1.2.1, §6.1.2.3).
**
**   candidate-attribute = "candidate" ":" foundation SP component-id SP transport SP
**                         priority SP connection-address SP port SP cand-type
**                         [SP rel-addr] [SP rel-port] *(SP cand-extension)
**
** The parser walks tokens separated by single or repeated spaces (browsers send single
** spaces; being lenient with repeats costs nothing). Every token is bounded by the
** field it lands in; nothing is allocated.
*/
#include <stdio.h>
#include <string.h>

#include "cwebrtc/ice.h"
#include "util/util.h"

#define LOG_MODULE "ice"

typedef struct tok {
    const char *p;
    size_t n;
} tok;

typedef struct scanner {
    const char *s;
    size_t len, pos;
} scanner;

static bool next_tok(scanner *sc, tok *t) {
    while (sc->pos < sc->len && (sc->s[sc->pos] == ' ' || sc->s[sc->pos] == '\t'))
        sc->pos++;
    if (sc->pos >= sc->len) return false;
    size_t start = sc->pos;
    while (sc->pos < sc->len && sc->s[sc->pos] != ' ' && sc->s[sc->pos] != '\t')
        sc->pos++;
    t->p = sc->s + start;
    t->n = sc->pos - start;
    return true;
}

static bool tok_ieq(const tok *t, const char *lit) {
    size_t n = strlen(lit);
    if (t->n != n) return false;
    for (size_t i = 0; i < n; i++) {
        char a = t->p[i], b = lit[i];
        if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
        if (a != b) return false;
    }
    return true;
}

static bool is_ice_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/* Decimal, at most max_digits digits, value <= max. */
static bool tok_uint(const tok *t, size_t max_digits, uint64_t max, uint64_t *out) {
    if (t->n == 0 || t->n > max_digits) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->p[i] < '0' || t->p[i] > '9') return false;
        v = v * 10 + (uint64_t)(t->p[i] - '0');
    }
    if (v > max) return false;
    *out = v;
    return true;
}

static bool tok_copy(const tok *t, char *dst, size_t size) {
    if (t->n + 1 > size) return false;
    memcpy(dst, t->p, t->n);
    dst[t->n] = '\0';
    return true;
}

/* connection-address: an IP literal, else a hostname (FQDN / mDNS name). */
static int parse_conn_addr(const tok *t, rtc_addr *a, char *host, size_t host_size) {
    char buf[RTC_ICE_HOSTNAME_MAX + 1];
    if (!tok_copy(t, buf, sizeof buf)) return RTC_ERR_PARSE;
    memset(a, 0, sizeof *a);
    if (host) host[0] = '\0';
    if (rtc_addr_parse_ip(a, buf, 0) == RTC_OK) return RTC_OK;
    /* RFC 1035 letters/digits/hyphen/dots (and '_' seen in the wild); not an IP. */
    for (size_t i = 0; i < t->n; i++) {
        char c = buf[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '_';
        if (!ok) return RTC_ERR_PARSE;
    }
    if (!host)
        return RTC_ERR_PARSE; /* raddr must be an IP (RFC 8839 allows FQDN; none
                                 seen in practice, and we never need it) */
    if (strlen(buf) + 1 > host_size) return RTC_ERR_PARSE;
    memcpy(host, buf, strlen(buf) + 1);
    memset(a, 0, sizeof *a);
    return RTC_OK;
}

int rtc_ice_candidate_parse(rtc_ice_candidate *c, const char *line) {
    if (!c || !line) return RTC_ERR_INVALID;
    memset(c, 0, sizeof *c);
    c->generation = -1;
    size_t len = strnlen(line, RTC_ICE_CANDIDATE_LINE_MAX * 4);
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
        len--;
    if (len >= 2 && line[0] == 'a' && line[1] == '=') {
        line += 2;
        len -= 2;
    }
    if (len >= 10 && strncmp(line, "candidate:", 10) == 0) {
        line += 10;
        len -= 10;
    }
    /* CR and LF end an SDP line (RFC 8866 §5): inside one they are not data. */
    for (size_t i = 0; i < len; i++)
        if (line[i] == '\r' || line[i] == '\n') return RTC_ERR_PARSE;
    scanner sc = {line, len, 0};
    tok t;
    uint64_t v;
    int unsupported = 0;

    if (!next_tok(&sc, &t) || t.n > RTC_ICE_FOUNDATION_MAX) return RTC_ERR_PARSE;
    for (size_t i = 0; i < t.n; i++)
        if (!is_ice_char(t.p[i])) return RTC_ERR_PARSE;
    tok_copy(&t, c->foundation, sizeof c->foundation);

    if (!next_tok(&sc, &t) || !tok_uint(&t, 3, 256, &v) || v == 0) return RTC_ERR_PARSE;
    c->component = (uint16_t)v;

    if (!next_tok(&sc, &t)) return RTC_ERR_PARSE;
    if (tok_ieq(&t, "udp"))
        c->transport = RTC_ICE_UDP;
    else if (tok_ieq(&t, "tcp"))
        c->transport = RTC_ICE_TCP;
    else
        unsupported = 1; /* transport-extension = token: valid, not ours */

    if (!next_tok(&sc, &t) || !tok_uint(&t, 10, UINT32_MAX, &v)) return RTC_ERR_PARSE;
    c->priority = (uint32_t)v;

    tok addr_tok;
    if (!next_tok(&sc, &addr_tok)) return RTC_ERR_PARSE;
    if (parse_conn_addr(&addr_tok, &c->addr, c->hostname, sizeof c->hostname) != RTC_OK)
        return RTC_ERR_PARSE;

    if (!next_tok(&sc, &t) || !tok_uint(&t, 5, 65535, &v)) return RTC_ERR_PARSE;
    c->addr.port = (uint16_t)v;

    if (!next_tok(&sc, &t) || !tok_ieq(&t, "typ")) return RTC_ERR_PARSE;
    if (!next_tok(&sc, &t)) return RTC_ERR_PARSE;
    if (tok_ieq(&t, "host"))
        c->type = RTC_ICE_CAND_HOST;
    else if (tok_ieq(&t, "srflx"))
        c->type = RTC_ICE_CAND_SRFLX;
    else if (tok_ieq(&t, "prflx"))
        c->type = RTC_ICE_CAND_PRFLX;
    else if (tok_ieq(&t, "relay"))
        c->type = RTC_ICE_CAND_RELAY;
    else {
        for (size_t i = 0; i < t.n; i++)
            if (!is_ice_char(t.p[i]) && t.p[i] != '-' && t.p[i] != '.') return RTC_ERR_PARSE;
        unsupported = 1;
    }

    /* raddr/rport (in that order per the grammar), then extension pairs. */
    size_t ext_len = 0;
    bool seen_raddr = false, seen_rport = false;
    while (next_tok(&sc, &t)) {
        tok val;
        if (!next_tok(&sc, &val)) return RTC_ERR_PARSE; /* name without value */
        if (tok_ieq(&t, "raddr") && !seen_raddr) {
            uint16_t port = c->related.port;
            if (parse_conn_addr(&val, &c->related, NULL, 0) != RTC_OK) return RTC_ERR_PARSE;
            c->related.port = port;
            seen_raddr = true;
        } else if (tok_ieq(&t, "rport") && !seen_rport) {
            if (!tok_uint(&val, 5, 65535, &v)) return RTC_ERR_PARSE;
            c->related.port = (uint16_t)v;
            seen_rport = true;
        } else if (tok_ieq(&t, "tcptype") && c->tcptype == RTC_ICE_TCPTYPE_NONE) {
            if (tok_ieq(&val, "active"))
                c->tcptype = RTC_ICE_TCPTYPE_ACTIVE;
            else if (tok_ieq(&val, "passive"))
                c->tcptype = RTC_ICE_TCPTYPE_PASSIVE;
            else if (tok_ieq(&val, "so"))
                c->tcptype = RTC_ICE_TCPTYPE_SO;
            else
                return RTC_ERR_PARSE;
        } else if (tok_ieq(&t, "generation") && c->generation < 0) {
            if (!tok_uint(&val, 10, INT32_MAX, &v)) return RTC_ERR_PARSE;
            c->generation = (int32_t)v;
        } else if (tok_ieq(&t, "ufrag") && c->ufrag[0] == '\0') {
            for (size_t i = 0; i < val.n; i++)
                if (!is_ice_char(val.p[i])) return RTC_ERR_PARSE;
            if (!tok_copy(&val, c->ufrag, sizeof c->ufrag)) return RTC_ERR_PARSE;
        } else {
            /* Unknown extension (RFC 8839: extension-att-name SP extension-att-value):
            ** kept verbatim while it fits, silently dropped beyond. */
            size_t need = (ext_len ? 1 : 0) + t.n + 1 + val.n;
            if (ext_len + need <= RTC_ICE_EXT_MAX) {
                if (ext_len) c->ext[ext_len++] = ' ';
                memcpy(c->ext + ext_len, t.p, t.n);
                ext_len += t.n;
                c->ext[ext_len++] = ' ';
                memcpy(c->ext + ext_len, val.p, val.n);
                ext_len += val.n;
                c->ext[ext_len] = '\0';
            }
        }
    }
    if (seen_raddr != seen_rport && seen_rport) return RTC_ERR_PARSE; /* rport alone */
    if (c->transport == RTC_ICE_UDP && c->tcptype != RTC_ICE_TCPTYPE_NONE) return RTC_ERR_PARSE;
    return unsupported ? RTC_ERR_UNSUPPORTED : RTC_OK;
}

const char *rtc_ice_cand_type_name(int type) {
    switch (type) {
    case RTC_ICE_CAND_HOST: return "host";
    case RTC_ICE_CAND_SRFLX: return "srflx";
    case RTC_ICE_CAND_PRFLX: return "prflx";
    case RTC_ICE_CAND_RELAY: return "relay";
    default: return "unknown";
    }
}

static const char *tcptype_name(int t) {
    switch (t) {
    case RTC_ICE_TCPTYPE_ACTIVE: return "active";
    case RTC_ICE_TCPTYPE_PASSIVE: return "passive";
    case RTC_ICE_TCPTYPE_SO: return "so";
    default: return NULL;
    }
}

int rtc_ice_candidate_format(const rtc_ice_candidate *c, char *buf, size_t size) {
    if (!c || !buf) return RTC_ERR_INVALID;
    if (c->type > RTC_ICE_CAND_RELAY || c->transport > RTC_ICE_TCP) return RTC_ERR_INVALID;
    char ip[RTC_ADDR_STRLEN];
    const char *conn;
    if (c->hostname[0]) {
        conn = c->hostname;
    } else {
        if (rtc_addr_fmt_ip(&c->addr, ip, sizeof ip) < 0) return RTC_ERR_INVALID;
        conn = ip;
    }
    int n = snprintf(buf, size, "candidate:%s %u %s %u %s %u typ %s",
                     c->foundation[0] ? c->foundation : "0", (unsigned)c->component,
                     c->transport == RTC_ICE_TCP ? "tcp" : "udp", (unsigned)c->priority, conn,
                     (unsigned)c->addr.port, rtc_ice_cand_type_name(c->type));
    if (n < 0) return RTC_ERR_INVALID;
    size_t len = (size_t)n;
#define APPEND(...)                                                                                \
    do {                                                                                           \
        int m_ =                                                                                   \
            snprintf(len < size ? buf + len : NULL, len < size ? size - len : 0, __VA_ARGS__);     \
        if (m_ < 0) return RTC_ERR_INVALID;                                                        \
        len += (size_t)m_;                                                                         \
    } while (0)
    if (c->related.family == RTC_AF_INET || c->related.family == RTC_AF_INET6) {
        char rip[RTC_ADDR_STRLEN];
        if (rtc_addr_fmt_ip(&c->related, rip, sizeof rip) < 0) return RTC_ERR_INVALID;
        APPEND(" raddr %s rport %u", rip, (unsigned)c->related.port);
    }
    if (tcptype_name(c->tcptype)) APPEND(" tcptype %s", tcptype_name(c->tcptype));
    if (c->generation >= 0) APPEND(" generation %d", (int)c->generation);
    if (c->ufrag[0]) APPEND(" ufrag %s", c->ufrag);
    if (c->ext[0]) APPEND(" %s", c->ext);
#undef APPEND
    if (len >= size) return RTC_ERR_TOO_SMALL;
    return (int)len;
}

uint32_t rtc_ice_candidate_priority(int type, uint16_t local_pref, uint16_t component) {
    uint32_t type_pref;
    switch (type) {
    case RTC_ICE_CAND_HOST: type_pref = 126; break;
    case RTC_ICE_CAND_PRFLX: type_pref = 110; break;
    case RTC_ICE_CAND_SRFLX: type_pref = 100; break;
    default: type_pref = 0; break;
    }
    if (component == 0 || component > 256) component = 1;
    return (type_pref << 24) + ((uint32_t)local_pref << 8) + (256u - component);
}

uint64_t rtc_ice_pair_priority(uint32_t g, uint32_t d) {
    uint64_t mn = g < d ? g : d, mx = g > d ? g : d;
    return (mn << 32) + 2 * mx + (g > d ? 1 : 0);
}
