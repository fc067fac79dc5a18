/*
** src/net/sockaddr.c: the monotonic clock and rtc_addr <-> struct sockaddr.
**
** The clock lives here and nowhere else in the library (cores take `now` as input).
*/
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cwebrtc/net.h"

rtc_time rtc_net_now(void) {
    struct timespec ts;
    /* CLOCK_MONOTONIC cannot fail with a valid pointer on Linux; the vDSO makes it cheap. */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (rtc_time)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int to_sockaddr(const rtc_addr *a, struct sockaddr_storage *ss, socklen_t *len,
                       bool map_v4) {
    if (!a || !ss || !len) return RTC_ERR_INVALID;
    memset(ss, 0, sizeof *ss);
    if (a->family == RTC_AF_INET && !map_v4) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(a->port);
        memcpy(&sin->sin_addr, a->ip, 4);
        *len = sizeof *sin;
        return RTC_OK;
    }
    if (a->family == RTC_AF_INET || a->family == RTC_AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(a->port);
        if (a->family == RTC_AF_INET) {
            /* ::ffff:a.b.c.d (RFC 4291 §2.5.5.2) for a dual-stack socket. */
            sin6->sin6_addr.s6_addr[10] = 0xff;
            sin6->sin6_addr.s6_addr[11] = 0xff;
            memcpy(&sin6->sin6_addr.s6_addr[12], a->ip, 4);
        } else {
            memcpy(&sin6->sin6_addr, a->ip, 16);
            sin6->sin6_scope_id = a->scope_id;
        }
        *len = sizeof *sin6;
        return RTC_OK;
    }
    return RTC_ERR_INVALID;
}

int rtc_addr_to_sockaddr(const rtc_addr *a, struct sockaddr_storage *ss, socklen_t *len) {
    return to_sockaddr(a, ss, len, false);
}

int rtc_addr_to_sockaddr_v6(const rtc_addr *a, struct sockaddr_storage *ss, socklen_t *len) {
    return to_sockaddr(a, ss, len, true);
}

int rtc_addr_from_sockaddr(rtc_addr *a, const struct sockaddr *sa, socklen_t len) {
    if (!a || !sa || len < (socklen_t)sizeof(sa_family_t)) return RTC_ERR_INVALID;
    memset(a, 0, sizeof *a);
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        a->family = RTC_AF_INET;
        a->port = ntohs(sin->sin_port);
        memcpy(a->ip, &sin->sin_addr, 4);
        return RTC_OK;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        a->port = ntohs(sin6->sin6_port);
        if (memcmp(sin6->sin6_addr.s6_addr, mapped, 12) == 0) {
            /* One peer, one rtc_addr: a dual-stack socket reports IPv4 peers mapped. */
            a->family = RTC_AF_INET;
            memcpy(a->ip, &sin6->sin6_addr.s6_addr[12], 4);
            return RTC_OK;
        }
        a->family = RTC_AF_INET6;
        memcpy(a->ip, &sin6->sin6_addr, 16);
        a->scope_id = sin6->sin6_scope_id;
        return RTC_OK;
    }
    return RTC_ERR_INVALID;
}

void rtc_net_close(int fd) {
    if (fd < 0) return;
    /* Linux always releases the fd, even when close() reports EINTR: never retry. */
    int saved = errno;
    (void)close(fd);
    errno = saved;
}

int rtc_net_local_addr(int fd, rtc_addr *out) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (!out || getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return RTC_ERR_IO;
    return rtc_addr_from_sockaddr(out, (struct sockaddr *)&ss, len) == RTC_OK ? RTC_OK : RTC_ERR_IO;
}

int rtc_net_peer_addr(int fd, rtc_addr *out) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (!out || getpeername(fd, (struct sockaddr *)&ss, &len) != 0) return RTC_ERR_IO;
    return rtc_addr_from_sockaddr(out, (struct sockaddr *)&ss, len) == RTC_OK ? RTC_OK : RTC_ERR_IO;
}
