/*
** cwebrtc/addr.h: a transport address (IPv4 or IPv6, port), as plain data.
**
** rtc_addr is a small value type: copy it freely, compare with rtc_addr_equal().
** It never holds a hostname; resolution lives in src/net. Conversions to and from
** struct sockaddr are in cwebrtc/net.h so that the cores need no socket headers.
*/
#ifndef CWEBRTC_ADDR_H
#define CWEBRTC_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cwebrtc/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rtc_family {
    RTC_AF_NONE = 0,
    RTC_AF_INET = 4,
    RTC_AF_INET6 = 6,
} rtc_family;

typedef struct rtc_addr {
    uint8_t family;   /* rtc_family */
    uint16_t port;    /* host byte order */
    uint8_t ip[16];   /* network byte order; IPv4 uses the first 4 bytes */
    uint32_t scope_id; /* IPv6 link-local scope, else 0 */
} rtc_addr;

/* Longest string rtc_addr_fmt() writes, with "[v6%scope]:port" and the NUL. */
#define RTC_ADDR_STRLEN 64

/* Build an address from 4 or 16 raw bytes (network order) and a port. */
RTC_API void rtc_addr_set_ipv4(rtc_addr *a, const uint8_t ip[4], uint16_t port);
RTC_API void rtc_addr_set_ipv6(rtc_addr *a, const uint8_t ip[16], uint16_t port);

/*
** Parse "1.2.3.4", "1.2.3.4:5", "::1", "[::1]:5", "[fe80::1%2]:5" (numeric only).
** A missing port leaves `default_port`. Returns RTC_OK or RTC_ERR_PARSE.
*/
RTC_API int rtc_addr_parse(rtc_addr *a, const char *s, uint16_t default_port);

/* Parse only an IP literal (no brackets, no port) into a; port set to `port`. */
RTC_API int rtc_addr_parse_ip(rtc_addr *a, const char *ip, uint16_t port);

/* "1.2.3.4:5" or "[::1]:5" into buf. Returns the length, or RTC_ERR_TOO_SMALL. */
RTC_API int rtc_addr_fmt(const rtc_addr *a, char *buf, size_t size);

/* The IP alone ("1.2.3.4", "::1"). Returns the length, or RTC_ERR_TOO_SMALL. */
RTC_API int rtc_addr_fmt_ip(const rtc_addr *a, char *buf, size_t size);

/* Same family, IP and port (scope ignored unless both are link-local v6). */
RTC_API bool rtc_addr_equal(const rtc_addr *a, const rtc_addr *b);
/* Same family and IP; ports ignored. */
RTC_API bool rtc_addr_equal_ip(const rtc_addr *a, const rtc_addr *b);

RTC_API bool rtc_addr_is_loopback(const rtc_addr *a);
RTC_API bool rtc_addr_is_link_local(const rtc_addr *a);
RTC_API bool rtc_addr_is_any(const rtc_addr *a);        /* 0.0.0.0 or :: */
RTC_API bool rtc_addr_is_v4_mapped(const rtc_addr *a);  /* ::ffff:a.b.c.d */
RTC_API bool rtc_addr_is_private(const rtc_addr *a);    /* RFC 1918 / fc00::/7 */

/* A 32-bit hash of family, IP and port, for hash tables. */
RTC_API uint32_t rtc_addr_hash(const rtc_addr *a);

#ifdef __cplusplus
}
#endif
#endif
