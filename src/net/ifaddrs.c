/*
** src/net/ifaddrs.c: local interface addresses (getifaddrs), for ICE host candidates
** (RFC 8445 §5.1.1.1) and for servers that bind per address.
*/
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>

#include "cwebrtc/net.h"

static uint8_t prefix_len(const struct sockaddr *mask) {
    if (!mask) return 0;
    const uint8_t *p;
    size_t n;
    if (mask->sa_family == AF_INET) {
        p = (const uint8_t *)&((const struct sockaddr_in *)mask)->sin_addr;
        n = 4;
    } else if (mask->sa_family == AF_INET6) {
        p = (const uint8_t *)&((const struct sockaddr_in6 *)mask)->sin6_addr;
        n = 16;
    } else {
        return 0;
    }
    uint8_t bits = 0;
    for (size_t i = 0; i < n; i++)
        for (int b = 7; b >= 0; b--) {
            if (!(p[i] >> b & 1)) return bits;
            bits++;
        }
    return bits;
}

int rtc_net_interfaces(rtc_iface_addr *out, size_t cap, unsigned flags) {
    if (!out && cap) return RTC_ERR_INVALID;
    struct ifaddrs *list = NULL;
    if (getifaddrs(&list) != 0) return RTC_ERR_IO;
    int count = 0;
    for (struct ifaddrs *ifa = list; ifa; ifa = ifa->ifa_next) {
        if (!ifa->ifa_addr || !(ifa->ifa_flags & IFF_UP)) continue;
        int af = ifa->ifa_addr->sa_family;
        if (af != AF_INET && af != AF_INET6) continue;
        if (af == AF_INET && (flags & RTC_IFACE_NO_IPV4)) continue;
        if (af == AF_INET6 && (flags & RTC_IFACE_NO_IPV6)) continue;
        rtc_iface_addr e;
        memset(&e, 0, sizeof e);
        socklen_t sl = af == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
        if (rtc_addr_from_sockaddr(&e.addr, ifa->ifa_addr, sl) != RTC_OK) continue;
        if (rtc_addr_is_any(&e.addr)) continue;
        e.loopback = (ifa->ifa_flags & IFF_LOOPBACK) || rtc_addr_is_loopback(&e.addr);
        e.link_local = rtc_addr_is_link_local(&e.addr);
        if (e.loopback && !(flags & RTC_IFACE_LOOPBACK)) continue;
        /* IPv6 link-local needs a scope on every use and is useless off-link; ICE skips it
           by default (RFC 8445 §5.1.1.1). IPv4 link-local (169.254/16) is kept: it is the
           only address of some directly cabled hosts. */
        if (e.link_local && af == AF_INET6 && !(flags & RTC_IFACE_LINK_LOCAL)) continue;
        size_t nl = strnlen(ifa->ifa_name, RTC_IFNAME_MAX - 1);
        memcpy(e.name, ifa->ifa_name, nl);
        e.index = if_nametoindex(ifa->ifa_name);
        if (af == AF_INET6 && e.link_local && !e.addr.scope_id) e.addr.scope_id = e.index;
        e.prefix_len = prefix_len(ifa->ifa_netmask);
        if ((size_t)count < cap) out[count] = e;
        if (count < INT32_MAX) count++;
    }
    freeifaddrs(list);
    return count;
}
