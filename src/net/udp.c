/*
** src/net/udp.c: non-blocking UDP sockets with batched I/O (recvmmsg/sendmmsg).
**
** The receive and send paths never allocate: each socket owns preallocated scratch
** arrays (mmsghdr, iovec, sockaddr, cmsg) for RTC_UDP_BATCH_MAX datagrams, so a server
** answering STUN at full rate costs one syscall per batch each way. A socket is used by
** one thread at a time, so the scratch needs no lock.
**
** Local destination addresses (IP_PKTINFO / IPV6_RECVPKTINFO, RFC 3542 §6) are decoded
** only when asked for: ICE on a wildcard-bound socket of a multi-homed host needs to
** know which local candidate a check arrived on, and a server must answer from that
** same address (the tx `src`, sent as IPV6_PKTINFO / IP_PKTINFO ipi_spec_dst).
*/
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cwebrtc/net.h"
#include "util/util.h"

#define LOG_MODULE "net"

/* Room for one in6_pktinfo and one in_pktinfo cmsg (dual-stack sockets may get either). */
#define UDP_CTRL_LEN                                                                               \
    (CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo)))

typedef union udp_ctrl {
    struct cmsghdr align;
    uint8_t buf[UDP_CTRL_LEN];
} udp_ctrl;

struct rtc_udp {
    rtc_env env;
    int fd;
    int af; /* AF_INET or AF_INET6 */
    bool dual_stack;
    bool pktinfo;
    rtc_addr local;
    rtc_udp_stats stats;
    struct mmsghdr msgs[RTC_UDP_BATCH_MAX];
    struct iovec iov[RTC_UDP_BATCH_MAX];
    struct sockaddr_storage names[RTC_UDP_BATCH_MAX];
    udp_ctrl ctrl[RTC_UDP_BATCH_MAX];
    uint16_t tx_index[RTC_UDP_BATCH_MAX]; /* msgs[k] carries tx[tx_index[k]] */
};

static int set_int(int fd, int level, int opt, int v) {
    return setsockopt(fd, level, opt, &v, sizeof v);
}

int rtc_udp_new(rtc_udp **out, const rtc_udp_config *cfg, const rtc_env *env) {
    if (!out) return RTC_ERR_INVALID;
    *out = NULL;
    rtc_udp_config def;
    if (!cfg) {
        memset(&def, 0, sizeof def);
        cfg = &def;
    }
    rtc_addr bind_addr = cfg->bind;
    if (bind_addr.family == RTC_AF_NONE) {
        uint16_t port = bind_addr.port;
        memset(&bind_addr, 0, sizeof bind_addr);
        bind_addr.family = RTC_AF_INET;
        bind_addr.port = port;
    }
    if (bind_addr.family != RTC_AF_INET && bind_addr.family != RTC_AF_INET6) return RTC_ERR_INVALID;
    if (cfg->rcvbuf < 0 || cfg->sndbuf < 0) return RTC_ERR_INVALID;

    rtc_env e;
    rtc_env_copy(&e, env);
    rtc_udp *u = rtc_calloc(&e, sizeof *u);
    if (!u) return RTC_ERR_NOMEM;
    u->env = e;
    u->af = bind_addr.family == RTC_AF_INET ? AF_INET : AF_INET6;
    u->dual_stack = u->af == AF_INET6 && cfg->dual_stack;
    u->pktinfo = cfg->pktinfo;
    u->fd = socket(u->af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
    if (u->fd < 0) goto fail;

    /* Always explicit: the default depends on net.ipv6.bindv6only. */
    if (u->af == AF_INET6 && set_int(u->fd, IPPROTO_IPV6, IPV6_V6ONLY, u->dual_stack ? 0 : 1))
        goto fail;
    if (cfg->reuse_port && set_int(u->fd, SOL_SOCKET, SO_REUSEPORT, 1)) goto fail;
    /* The *FORCE variants exceed net.core.[rw]mem_max when we have CAP_NET_ADMIN (a
       server under bursts wants that); without it, the plain option silently caps. */
    if (cfg->rcvbuf && set_int(u->fd, SOL_SOCKET, SO_RCVBUFFORCE, cfg->rcvbuf) &&
        set_int(u->fd, SOL_SOCKET, SO_RCVBUF, cfg->rcvbuf))
        goto fail;
    if (cfg->sndbuf && set_int(u->fd, SOL_SOCKET, SO_SNDBUFFORCE, cfg->sndbuf) &&
        set_int(u->fd, SOL_SOCKET, SO_SNDBUF, cfg->sndbuf))
        goto fail;
    if (u->pktinfo) {
        if (u->af == AF_INET6) {
            if (set_int(u->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)) goto fail;
            /* IPv4 datagrams on a dual-stack socket report through IP_PKTINFO. */
            if (u->dual_stack && set_int(u->fd, IPPROTO_IP, IP_PKTINFO, 1)) goto fail;
        } else if (set_int(u->fd, IPPROTO_IP, IP_PKTINFO, 1)) {
            goto fail;
        }
    }

    struct sockaddr_storage ss;
    socklen_t sl;
    if (rtc_addr_to_sockaddr(&bind_addr, &ss, &sl) != RTC_OK) {
        errno = EINVAL;
        goto fail;
    }
    if (bind(u->fd, (struct sockaddr *)&ss, sl) != 0) goto fail;
    if (rtc_net_local_addr(u->fd, &u->local) != RTC_OK) goto fail;
    if (u->af == AF_INET6 && bind_addr.family == RTC_AF_INET6)
        u->local.scope_id = bind_addr.scope_id;
    *out = u;
    return RTC_OK;

fail:;
    int saved = errno;
    if (rtc_log_enabled(&e, RTC_LOG_WARN)) {
        char a[RTC_ADDR_STRLEN];
        rtc_addr_fmt(&bind_addr, a, sizeof a);
        RTC_LOGW(&e, "udp socket on %s: %s", a, strerror(saved));
    }
    if (u->fd >= 0) rtc_net_close(u->fd);
    rtc_free(&e, u, sizeof *u);
    errno = saved;
    return RTC_ERR_IO;
}

void rtc_udp_free(rtc_udp *u) {
    if (!u) return;
    rtc_net_close(u->fd);
    rtc_env e = u->env;
    rtc_free(&e, u, sizeof *u);
}

int rtc_udp_fd(const rtc_udp *u) { return u ? u->fd : -1; }

void rtc_udp_local_addr(const rtc_udp *u, rtc_addr *out) {
    if (u && out) *out = u->local;
}

void rtc_udp_stats_get(const rtc_udp *u, rtc_udp_stats *out) {
    if (u && out) *out = u->stats;
}

/* ---- receive -------------------------------------------------------------------- */

static void decode_pktinfo(const rtc_udp *u, struct msghdr *mh, rtc_udp_rx *rx) {
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
            c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof pi);
            rtc_addr_set_ipv4(&rx->dst, (const uint8_t *)&pi.ipi_addr, u->local.port);
            rx->ifindex = (uint32_t)pi.ipi_ifindex;
            return;
        }
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
            c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
            struct in6_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof pi);
            struct sockaddr_in6 s6;
            memset(&s6, 0, sizeof s6);
            s6.sin6_family = AF_INET6;
            s6.sin6_port = htons(u->local.port);
            s6.sin6_addr = pi.ipi6_addr;
            rtc_addr_from_sockaddr(&rx->dst, (struct sockaddr *)&s6, sizeof s6);
            rx->ifindex = pi.ipi6_ifindex;
            if (rtc_addr_is_link_local(&rx->dst)) rx->dst.scope_id = pi.ipi6_ifindex;
            return;
        }
    }
}

/* One recvmmsg over rx[0..n), n <= RTC_UDP_BATCH_MAX. */
static int recv_slice(rtc_udp *u, rtc_udp_rx *rx, size_t n) {
    for (size_t i = 0; i < n; i++) {
        u->iov[i].iov_base = rx[i].buf;
        u->iov[i].iov_len = rx[i].buf ? rx[i].cap : 0;
        struct msghdr *mh = &u->msgs[i].msg_hdr;
        mh->msg_name = &u->names[i];
        mh->msg_namelen = sizeof u->names[i];
        mh->msg_iov = &u->iov[i];
        mh->msg_iovlen = 1;
        mh->msg_control = u->pktinfo ? u->ctrl[i].buf : NULL;
        mh->msg_controllen = u->pktinfo ? sizeof u->ctrl[i].buf : 0;
        mh->msg_flags = 0;
        u->msgs[i].msg_len = 0;
    }
    int r;
    /* ICMP errors queued on the socket (e.g. ECONNREFUSED) fail one call and are then
       cleared; retry a bounded number of times so they cannot hide real datagrams. */
    for (int tries = 0;; tries++) {
        u->stats.rx_syscalls++;
        r = recvmmsg(u->fd, u->msgs, (unsigned)n, MSG_DONTWAIT, NULL);
        if (r >= 0) break;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return RTC_ERR_AGAIN;
        if ((errno == EINTR || errno == ECONNREFUSED || errno == EHOSTUNREACH ||
             errno == ENETUNREACH || errno == EMSGSIZE) &&
            tries < 8)
            continue;
        return RTC_ERR_IO;
    }
    for (int i = 0; i < r; i++) {
        struct msghdr *mh = &u->msgs[i].msg_hdr;
        size_t got = u->msgs[i].msg_len;
        rtc_udp_rx *x = &rx[i];
        x->truncated = (mh->msg_flags & MSG_TRUNC) != 0;
        x->len = got > x->cap ? x->cap : got;
        if (rtc_addr_from_sockaddr(&x->src, (struct sockaddr *)&u->names[i], mh->msg_namelen) !=
            RTC_OK)
            memset(&x->src, 0, sizeof x->src);
        x->dst = u->local;
        x->ifindex = 0;
        if (u->pktinfo) decode_pktinfo(u, mh, x);
        u->stats.rx_packets++;
        u->stats.rx_bytes += x->len;
        if (x->truncated) u->stats.rx_truncated++;
    }
    return r;
}

int rtc_udp_recv_batch(rtc_udp *u, rtc_udp_rx *rx, size_t n) {
    if (!u || (!rx && n)) return RTC_ERR_INVALID;
    size_t done = 0;
    while (done < n) {
        size_t want = RTC_MIN(n - done, (size_t)RTC_UDP_BATCH_MAX);
        int r = recv_slice(u, rx + done, want);
        if (r < 0) {
            if (done) break; /* report what we have; the error will recur if real */
            return r;
        }
        done += (size_t)r;
        if ((size_t)r < want) break; /* drained: skip a syscall that would say EAGAIN */
    }
    return done ? (int)done : RTC_ERR_AGAIN;
}

int rtc_udp_recv(rtc_udp *u, rtc_udp_rx *rx) { return rtc_udp_recv_batch(u, rx, 1); }

/* ---- send ----------------------------------------------------------------------- */

/* The destination as this socket's family needs it; false when it cannot be reached
   from this socket (IPv6 peer on an IPv4 socket, IPv4 peer on a V6ONLY socket). */
static bool dst_name(const rtc_udp *u, const rtc_addr *dst, struct sockaddr_storage *ss,
                     socklen_t *len) {
    if (u->af == AF_INET) {
        rtc_addr d = *dst;
        if (d.family == RTC_AF_INET6) {
            if (!rtc_addr_is_v4_mapped(&d)) return false;
            uint8_t v4[4];
            memcpy(v4, d.ip + 12, 4);
            rtc_addr_set_ipv4(&d, v4, dst->port);
        }
        return rtc_addr_to_sockaddr(&d, ss, len) == RTC_OK;
    }
    if (dst->family == RTC_AF_INET6) return rtc_addr_to_sockaddr(dst, ss, len) == RTC_OK;
    if (dst->family == RTC_AF_INET && u->dual_stack)
        return rtc_addr_to_sockaddr_v6(dst, ss, len) == RTC_OK;
    return false;
}

/* Control message choosing the source address; returns its length (0 = none, -1 = bad). */
static int src_ctrl(const rtc_udp *u, const rtc_addr *src, udp_ctrl *ctrl) {
    if (!src || src->family == RTC_AF_NONE) return 0;
    memset(ctrl, 0, sizeof *ctrl);
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_control = ctrl->buf;
    if (u->af == AF_INET) {
        if (src->family != RTC_AF_INET) return -1;
        mh.msg_controllen = CMSG_SPACE(sizeof(struct in_pktinfo));
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
        struct in_pktinfo pi;
        memset(&pi, 0, sizeof pi);
        memcpy(&pi.ipi_spec_dst, src->ip, 4);
        memcpy(CMSG_DATA(c), &pi, sizeof pi);
        return (int)mh.msg_controllen;
    }
    if (src->family == RTC_AF_INET && !u->dual_stack) return -1;
    mh.msg_controllen = CMSG_SPACE(sizeof(struct in6_pktinfo));
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
    struct in6_pktinfo pi;
    memset(&pi, 0, sizeof pi);
    if (src->family == RTC_AF_INET) {
        /* Linux's udp_sendmsg accepts a v4-mapped IPV6_PKTINFO on dual-stack sockets. */
        pi.ipi6_addr.s6_addr[10] = 0xff;
        pi.ipi6_addr.s6_addr[11] = 0xff;
        memcpy(&pi.ipi6_addr.s6_addr[12], src->ip, 4);
    } else {
        memcpy(&pi.ipi6_addr, src->ip, 16);
        pi.ipi6_ifindex = src->scope_id;
    }
    memcpy(CMSG_DATA(c), &pi, sizeof pi);
    return (int)mh.msg_controllen;
}

/* Errors that concern one datagram (or the path to one peer), not the socket. */
static bool per_datagram_error(int e) {
    return e != EBADF && e != ENOTSOCK && e != EFAULT && e != EOPNOTSUPP && e != EAGAIN &&
           e != EWOULDBLOCK && e != EINTR;
}

int rtc_udp_send_batch(rtc_udp *u, const rtc_udp_tx *tx, size_t n) {
    if (!u || (!tx && n)) return RTC_ERR_INVALID;
    size_t consumed = 0;
    while (consumed < n) {
        /* Build one batch of up to RTC_UDP_BATCH_MAX sendable datagrams starting at
           `consumed`; unreachable-by-family entries before the first one are dropped. */
        size_t k = 0, i = consumed;
        for (; i < n && k < RTC_UDP_BATCH_MAX; i++) {
            socklen_t nl;
            int cl = -1;
            if (!dst_name(u, &tx[i].dst, &u->names[k], &nl) ||
                (cl = src_ctrl(u, &tx[i].src, &u->ctrl[k])) < 0 || (!tx[i].data && tx[i].len)) {
                if (k) break; /* send what is queued first, keep order */
                u->stats.tx_dropped++;
                consumed = i + 1;
                continue;
            }
            u->iov[k].iov_base = (void *)tx[i].data;
            u->iov[k].iov_len = tx[i].len;
            struct msghdr *mh = &u->msgs[k].msg_hdr;
            mh->msg_name = &u->names[k];
            mh->msg_namelen = nl;
            mh->msg_iov = &u->iov[k];
            mh->msg_iovlen = 1;
            mh->msg_control = cl ? u->ctrl[k].buf : NULL;
            mh->msg_controllen = (size_t)cl;
            mh->msg_flags = 0;
            u->tx_index[k] = (uint16_t)(i - consumed);
            k++;
        }
        if (!k) continue; /* everything scanned was dropped; loop re-checks consumed < n */
        u->stats.tx_syscalls++;
        int r = sendmmsg(u->fd, u->msgs, (unsigned)k, MSG_DONTWAIT);
        if (r > 0) {
            for (int j = 0; j < r; j++) {
                u->stats.tx_packets++;
                u->stats.tx_bytes += u->iov[j].iov_len;
            }
            /* msgs[r-1] was tx[consumed + tx_index[r-1]]; everything before it is done. */
            consumed += (size_t)u->tx_index[r - 1] + 1;
            continue; /* a short count: the next call reports the error of the next one */
        }
        int e = errno;
        if (e == EINTR) continue;
        if (e == EAGAIN || e == EWOULDBLOCK) break;
        if (per_datagram_error(e)) {
            /* ENOBUFS too: retrying at once would spin while the qdisc is full. */
            RTC_LOGD(&u->env, "udp send dropped: %s", strerror(e));
            u->stats.tx_dropped++;
            consumed += (size_t)u->tx_index[0] + 1;
            continue;
        }
        if (consumed) break;
        errno = e;
        return RTC_ERR_IO;
    }
    return consumed ? (int)consumed : RTC_ERR_AGAIN;
}

int rtc_udp_send(rtc_udp *u, const rtc_addr *dst, const uint8_t *data, size_t len) {
    if (!u || !dst || (!data && len)) return RTC_ERR_INVALID;
    struct sockaddr_storage ss;
    socklen_t sl;
    if (!dst_name(u, dst, &ss, &sl)) {
        u->stats.tx_dropped++;
        errno = EAFNOSUPPORT;
        return RTC_ERR_IO;
    }
    for (;;) {
        u->stats.tx_syscalls++;
        ssize_t r = sendto(u->fd, data, len, MSG_DONTWAIT, (struct sockaddr *)&ss, sl);
        if (r >= 0) {
            u->stats.tx_packets++;
            u->stats.tx_bytes += len;
            return RTC_OK;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return RTC_ERR_AGAIN;
        if (per_datagram_error(errno)) u->stats.tx_dropped++;
        return RTC_ERR_IO;
    }
}
