/* rtc_addr: parse, print, compare. Numeric only; names are resolved in src/net. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

void rtc_addr_set_ipv4(rtc_addr *a, const uint8_t ip[4], uint16_t port) {
    memset(a, 0, sizeof *a);
    a->family = RTC_AF_INET;
    memcpy(a->ip, ip, 4);
    a->port = port;
}

void rtc_addr_set_ipv6(rtc_addr *a, const uint8_t ip[16], uint16_t port) {
    memset(a, 0, sizeof *a);
    a->family = RTC_AF_INET6;
    memcpy(a->ip, ip, 16);
    a->port = port;
}

int rtc_addr_parse_ip(rtc_addr *a, const char *ip, uint16_t port) {
    char tmp[64];
    size_t n = strlen(ip);
    if (n == 0 || n >= sizeof tmp) return RTC_ERR_PARSE;
    memcpy(tmp, ip, n + 1);
    uint32_t scope = 0;
    char *pct = strchr(tmp, '%');
    if (pct) {
        *pct = '\0';
        char *end;
        unsigned long s = strtoul(pct + 1, &end, 10);
        if (*end != '\0' || end == pct + 1 || s > UINT32_MAX) return RTC_ERR_PARSE;
        scope = (uint32_t)s;
    }
    uint8_t buf[16];
    if (!pct && inet_pton(AF_INET, tmp, buf) == 1) {
        rtc_addr_set_ipv4(a, buf, port);
        return RTC_OK;
    }
    if (inet_pton(AF_INET6, tmp, buf) == 1) {
        rtc_addr_set_ipv6(a, buf, port);
        a->scope_id = scope;
        return RTC_OK;
    }
    return RTC_ERR_PARSE;
}

static int parse_port(const char *s, uint16_t *out) {
    if (!*s) return RTC_ERR_PARSE;
    unsigned long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return RTC_ERR_PARSE;
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > 65535) return RTC_ERR_PARSE;
    }
    *out = (uint16_t)v;
    return RTC_OK;
}

int rtc_addr_parse(rtc_addr *a, const char *s, uint16_t default_port) {
    if (!a || !s) return RTC_ERR_INVALID;
    char host[64];
    uint16_t port = default_port;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || (size_t)(close - s - 1) >= sizeof host) return RTC_ERR_PARSE;
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = '\0';
        if (close[1] == ':') {
            if (parse_port(close + 2, &port) != RTC_OK) return RTC_ERR_PARSE;
        } else if (close[1] != '\0') {
            return RTC_ERR_PARSE;
        }
        int rc = rtc_addr_parse_ip(a, host, port);
        if (rc == RTC_OK && a->family != RTC_AF_INET6) return RTC_ERR_PARSE;
        return rc;
    }
    const char *colon = strchr(s, ':');
    if (colon && strchr(colon + 1, ':')) return rtc_addr_parse_ip(a, s, port); /* bare v6 */
    if (colon) {
        if ((size_t)(colon - s) >= sizeof host) return RTC_ERR_PARSE;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        if (parse_port(colon + 1, &port) != RTC_OK) return RTC_ERR_PARSE;
        int rc = rtc_addr_parse_ip(a, host, port);
        if (rc == RTC_OK && a->family != RTC_AF_INET) return RTC_ERR_PARSE;
        return rc;
    }
    return rtc_addr_parse_ip(a, s, port);
}

int rtc_addr_fmt_ip(const rtc_addr *a, char *buf, size_t size) {
    char tmp[RTC_ADDR_STRLEN];
    if (a->family == RTC_AF_INET) {
        inet_ntop(AF_INET, a->ip, tmp, sizeof tmp);
    } else if (a->family == RTC_AF_INET6) {
        inet_ntop(AF_INET6, a->ip, tmp, sizeof tmp);
        if (a->scope_id) {
            size_t l = strlen(tmp);
            snprintf(tmp + l, sizeof tmp - l, "%%%u", (unsigned)a->scope_id);
        }
    } else {
        snprintf(tmp, sizeof tmp, "(none)");
    }
    size_t n = strlen(tmp);
    if (n + 1 > size) return RTC_ERR_TOO_SMALL;
    memcpy(buf, tmp, n + 1);
    return (int)n;
}

int rtc_addr_fmt(const rtc_addr *a, char *buf, size_t size) {
    char ip[RTC_ADDR_STRLEN], tmp[RTC_ADDR_STRLEN + 8];
    rtc_addr_fmt_ip(a, ip, sizeof ip);
    int n;
    if (a->family == RTC_AF_INET6)
        n = snprintf(tmp, sizeof tmp, "[%s]:%u", ip, (unsigned)a->port);
    else
        n = snprintf(tmp, sizeof tmp, "%s:%u", ip, (unsigned)a->port);
    if (n < 0 || (size_t)n + 1 > size) return RTC_ERR_TOO_SMALL;
    memcpy(buf, tmp, (size_t)n + 1);
    return n;
}

static size_t ip_len(const rtc_addr *a) {
    return a->family == RTC_AF_INET ? 4 : a->family == RTC_AF_INET6 ? 16 : 0;
}

bool rtc_addr_equal_ip(const rtc_addr *a, const rtc_addr *b) {
    if (a->family != b->family) return false;
    if (memcmp(a->ip, b->ip, ip_len(a)) != 0) return false;
    if (a->family == RTC_AF_INET6 && rtc_addr_is_link_local(a) && a->scope_id && b->scope_id &&
        a->scope_id != b->scope_id)
        return false;
    return true;
}

bool rtc_addr_equal(const rtc_addr *a, const rtc_addr *b) {
    return a->port == b->port && rtc_addr_equal_ip(a, b);
}

bool rtc_addr_is_loopback(const rtc_addr *a) {
    static const uint8_t v6lo[16] = {[15] = 1};
    if (a->family == RTC_AF_INET) return a->ip[0] == 127;
    if (a->family == RTC_AF_INET6) return memcmp(a->ip, v6lo, 16) == 0;
    return false;
}

bool rtc_addr_is_link_local(const rtc_addr *a) {
    if (a->family == RTC_AF_INET) return a->ip[0] == 169 && a->ip[1] == 254;
    if (a->family == RTC_AF_INET6) return a->ip[0] == 0xfe && (a->ip[1] & 0xc0) == 0x80;
    return false;
}

bool rtc_addr_is_any(const rtc_addr *a) {
    static const uint8_t zero[16];
    size_t n = ip_len(a);
    return n && memcmp(a->ip, zero, n) == 0;
}

bool rtc_addr_is_v4_mapped(const rtc_addr *a) {
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return a->family == RTC_AF_INET6 && memcmp(a->ip, prefix, 12) == 0;
}

bool rtc_addr_is_private(const rtc_addr *a) {
    if (a->family == RTC_AF_INET)
        return a->ip[0] == 10 || (a->ip[0] == 172 && (a->ip[1] & 0xf0) == 16) ||
               (a->ip[0] == 192 && a->ip[1] == 168);
    if (a->family == RTC_AF_INET6) return (a->ip[0] & 0xfe) == 0xfc;
    return false;
}

uint32_t rtc_addr_hash(const rtc_addr *a) {
    /* FNV-1a over the fields that equality looks at. */
    uint32_t h = 2166136261u;
    h = (h ^ a->family) * 16777619u;
    for (size_t i = 0; i < ip_len(a); i++) h = (h ^ a->ip[i]) * 16777619u;
    h = (h ^ (uint8_t)(a->port >> 8)) * 16777619u;
    h = (h ^ (uint8_t)a->port) * 16777619u;
    return h;
}
