/*
** src/net/uri.c: stun:/stuns: (RFC 7064 §3.1) and turn:/turns: (RFC 7065 §3.1) URIs.
**
**   stunURI = scheme ":" host [ ":" port ]                       scheme = stun / stuns
**   turnURI = scheme ":" host [ ":" port ] [ "?transport=" transport ]
**   transport = "udp" / "tcp" / transport-ext                    scheme = turn / turns
**
** host is RFC 3986's: an IP-literal in brackets, an IPv4 address or a reg-name. These
** URIs have no "//" authority, userinfo, path or fragment; each is an error with its own
** message because users paste "stun://stun.example.org:3478" and deserve to know why it
** fails. Pure: no DNS, no OS calls.
*/
#include <string.h>

#include "cwebrtc/net.h"

#define FAIL(msg)                                                                                  \
    do {                                                                                           \
        if (why) *why = (msg);                                                                     \
        return RTC_ERR_PARSE;                                                                      \
    } while (0)

static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

static bool ieq(const char *a, size_t n, const char *b) {
    if (strlen(b) != n) return false;
    for (size_t i = 0; i < n; i++)
        if (lower(a[i]) != b[i]) return false;
    return true;
}

/* RFC 1123 host name: labels of [A-Za-z0-9-_], 1..63 chars, not starting or ending with
   '-'; a final dot is allowed; the last label is not all digits (that would be a
   malformed IPv4 address such as "1.2.3" or "1.2.3.256", which resolvers treat
   inconsistently). '_' is tolerated because internal names use it. */
static const char *check_hostname(const char *h, size_t n) {
    if (n == 0) return "missing host";
    if (n > 253 + 1) return "host name too long";
    size_t start = 0;
    bool last_all_digits = false;
    size_t end = n;
    if (h[n - 1] == '.') end = n - 1;
    if (end == 0) return "bad host name";
    for (size_t i = 0; i <= end; i++) {
        if (i == end || h[i] == '.') {
            size_t ll = i - start;
            if (ll == 0) return "empty label in host name";
            if (ll > 63) return "host name label longer than 63";
            if (h[start] == '-' || h[i - 1] == '-')
                return "host name label starts or ends with '-'";
            last_all_digits = true;
            for (size_t k = start; k < i; k++)
                if (!is_digit(h[k])) last_all_digits = false;
            start = i + 1;
            continue;
        }
        char c = h[i];
        if (c == '%') return "percent-encoding in host is not supported";
        if (!(is_alpha(c) || is_digit(c) || c == '-' || c == '_'))
            return "invalid character in host";
    }
    if (last_all_digits) return "bad IPv4 address";
    return NULL;
}

int rtc_uri_parse(rtc_uri *out, const char *s, const char **why) {
    if (why) *why = NULL;
    if (!out || !s) {
        if (why) *why = "null argument";
        return RTC_ERR_INVALID;
    }
    memset(out, 0, sizeof *out);

    /* scheme ":" */
    const char *colon = strchr(s, ':');
    if (!colon) FAIL("missing scheme (expected stun:, stuns:, turn: or turns:)");
    size_t sl = (size_t)(colon - s);
    if (ieq(s, sl, "stun"))
        out->scheme = RTC_URI_STUN;
    else if (ieq(s, sl, "stuns"))
        out->scheme = RTC_URI_STUNS;
    else if (ieq(s, sl, "turn"))
        out->scheme = RTC_URI_TURN;
    else if (ieq(s, sl, "turns"))
        out->scheme = RTC_URI_TURNS;
    else
        FAIL("unknown scheme (expected stun:, stuns:, turn: or turns:)");
    bool is_turn = out->scheme == RTC_URI_TURN || out->scheme == RTC_URI_TURNS;
    bool secure = out->scheme == RTC_URI_STUNS || out->scheme == RTC_URI_TURNS;

    const char *p = colon + 1;
    if (p[0] == '/' && p[1] == '/') FAIL("'//' is not allowed (write stun:host, not stun://host)");

    /* The host part ends at ':' (port), '?' (query) or the end; brackets protect v6. */
    const char *h = p, *hend;
    if (*p == '[') {
        const char *close = strchr(p, ']');
        if (!close) FAIL("missing ']' after IPv6 address");
        size_t n = (size_t)(close - p - 1);
        if (n == 0) FAIL("empty IPv6 address");
        if (n >= sizeof out->host) FAIL("IPv6 address too long");
        char lit[RTC_URI_HOST_MAX];
        memcpy(lit, p + 1, n);
        lit[n] = '\0';
        /* RFC 6874 writes the zone separator as "%25"; accept it and a bare '%'. */
        char *pct = strchr(lit, '%');
        if (pct && pct[1] == '2' && pct[2] == '5') memmove(pct + 1, pct + 3, strlen(pct + 3) + 1);
        if (pct && !is_digit(pct[1])) FAIL("IPv6 zone must be a numeric interface index");
        rtc_addr a;
        if (rtc_addr_parse_ip(&a, lit, 0) != RTC_OK || a.family != RTC_AF_INET6)
            FAIL("bad IPv6 address in brackets");
        memcpy(out->host, lit, strlen(lit) + 1);
        out->host_is_ip = true;
        out->ip = a;
        hend = close + 1;
        if (*hend && *hend != ':' && *hend != '?') FAIL("unexpected character after ']'");
    } else {
        hend = p;
        while (*hend && *hend != ':' && *hend != '?' && *hend != '/' && *hend != '@' &&
               *hend != '#')
            hend++;
        if (*hend == '@') FAIL("user information (user@) is not allowed in the URI");
        if (*hend == ':' && strchr(hend + 1, ':')) FAIL("an IPv6 address must be in brackets");
        size_t n = (size_t)(hend - h);
        if (n == 0) FAIL("missing host");
        if (n >= sizeof out->host) FAIL("host name too long");
        memcpy(out->host, h, n);
        out->host[n] = '\0';
        rtc_addr a;
        bool v4 = true;
        for (size_t i = 0; i < n; i++)
            if (!is_digit(h[i]) && h[i] != '.') v4 = false;
        if (v4) {
            if (rtc_addr_parse_ip(&a, out->host, 0) != RTC_OK || a.family != RTC_AF_INET)
                FAIL("bad IPv4 address");
            out->host_is_ip = true;
            out->ip = a;
        } else {
            const char *err = check_hostname(h, n);
            if (err) FAIL(err);
        }
    }

    p = hend;
    out->port = secure ? 5349 : 3478; /* RFC 7064 §3.2, RFC 7065 §3.2 */
    if (*p == ':') {
        p++;
        unsigned long v = 0;
        const char *d = p;
        while (is_digit(*p)) {
            v = v * 10 + (unsigned long)(*p - '0');
            if (v > 65535) FAIL("port out of range (1-65535)");
            p++;
        }
        if (p == d) FAIL(*p == ':' || !*p || *p == '?' ? "missing port after ':'" : "bad port");
        if (*p && *p != '?' && *p != '/' && *p != '#') FAIL("bad port");
        if (v == 0) FAIL("port out of range (1-65535)");
        out->port = (uint16_t)v;
        out->port_explicit = true;
    }

    out->transport = secure ? RTC_URI_TCP : RTC_URI_UDP;
    if (*p == '?') {
        if (!is_turn) FAIL("a stun: URI takes no query (?transport= is for turn: only)");
        p++;
        static const char key[] = "transport=";
        if (strncmp(p, key, sizeof key - 1) != 0)
            FAIL("unknown query parameter (only ?transport=)");
        p += sizeof key - 1;
        const char *v = p;
        while (*p && *p != '&' && *p != '#' && *p != '/')
            p++;
        size_t vl = (size_t)(p - v);
        if (vl == 0) FAIL("empty transport");
        if (ieq(v, vl, "udp"))
            out->transport = RTC_URI_UDP;
        else if (ieq(v, vl, "tcp"))
            out->transport = RTC_URI_TCP;
        else
            FAIL("unsupported transport (udp or tcp)");
        out->transport_explicit = true;
        if (*p == '&') FAIL("only one query parameter is allowed");
    }
    if (*p == '/') FAIL("a path is not allowed in the URI");
    if (*p == '#') FAIL("a fragment is not allowed in the URI");
    if (*p) FAIL("unexpected characters after the host");
    if (out->host_is_ip) out->ip.port = out->port;
    return RTC_OK;
}
