/*
** src/net/tcp.c: non-blocking TCP helpers on plain fds.
**
** TCP carries STUN/TURN (RFC 8489 §6.2.2, RFC 8656 §3.1 and RFC 6062) and ICE-TCP
** (RFC 6544). These helpers only open, accept, connect and move bytes; message
** boundaries are found by the pure framer in framing.c.
*/
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cwebrtc/net.h"

static int set_int(int fd, int level, int opt, int v) {
    return setsockopt(fd, level, opt, &v, sizeof v);
}

static int open_tcp(const rtc_addr *a) {
    if (!a || (a->family != RTC_AF_INET && a->family != RTC_AF_INET6)) {
        errno = EINVAL;
        return -1;
    }
    int af = a->family == RTC_AF_INET ? AF_INET : AF_INET6;
    int fd = socket(af, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) return -1;
    if (af == AF_INET6 && set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1)) {
        rtc_net_close(fd);
        return -1;
    }
    return fd;
}

int rtc_tcp_listen(int *fd_out, const rtc_addr *bind_addr, int backlog, rtc_addr *bound) {
    if (!fd_out) return RTC_ERR_INVALID;
    *fd_out = -1;
    if (!bind_addr || (bind_addr->family != RTC_AF_INET && bind_addr->family != RTC_AF_INET6))
        return RTC_ERR_INVALID;
    int fd = open_tcp(bind_addr);
    if (fd < 0) return RTC_ERR_IO;
    struct sockaddr_storage ss;
    socklen_t sl;
    rtc_addr_to_sockaddr(bind_addr, &ss, &sl);
    /* SO_REUSEADDR: a restarted server must not wait out TIME_WAIT of old connections. */
    if (set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) || bind(fd, (struct sockaddr *)&ss, sl) ||
        listen(fd, backlog > 0 ? backlog : SOMAXCONN) ||
        (bound && rtc_net_local_addr(fd, bound) != RTC_OK)) {
        rtc_net_close(fd);
        return RTC_ERR_IO;
    }
    *fd_out = fd;
    return RTC_OK;
}

int rtc_tcp_accept(int listen_fd, int *fd_out, rtc_addr *peer) {
    if (!fd_out) return RTC_ERR_INVALID;
    *fd_out = -1;
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR) continue;
            /* Connections that died before accept (ECONNABORTED) are not our error. */
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED || errno == EPROTO)
                return RTC_ERR_AGAIN;
            return RTC_ERR_IO;
        }
        /* Small STUN/TURN messages must not wait for Nagle. */
        (void)set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
        if (peer && rtc_addr_from_sockaddr(peer, (struct sockaddr *)&ss, sl) != RTC_OK)
            memset(peer, 0, sizeof *peer);
        *fd_out = fd;
        return RTC_OK;
    }
}

int rtc_tcp_connect(int *fd_out, const rtc_addr *dst, const rtc_addr *src) {
    if (!fd_out) return RTC_ERR_INVALID;
    *fd_out = -1;
    if (!dst || (dst->family != RTC_AF_INET && dst->family != RTC_AF_INET6) ||
        (src && src->family != dst->family))
        return RTC_ERR_INVALID;
    int fd = open_tcp(dst);
    if (fd < 0) return RTC_ERR_IO;
    (void)set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    struct sockaddr_storage ss;
    socklen_t sl;
    if (src) {
        rtc_addr_to_sockaddr(src, &ss, &sl);
        if (bind(fd, (struct sockaddr *)&ss, sl) != 0) goto fail;
    }
    rtc_addr_to_sockaddr(dst, &ss, &sl);
    if (connect(fd, (struct sockaddr *)&ss, sl) == 0) {
        *fd_out = fd;
        return RTC_OK;
    }
    if (errno == EINPROGRESS || errno == EINTR) {
        /* EINTR: the connect continues asynchronously, exactly like EINPROGRESS. */
        *fd_out = fd;
        return RTC_ERR_AGAIN;
    }
fail:;
    int e = errno;
    rtc_net_close(fd);
    errno = e;
    return RTC_ERR_IO;
}

int rtc_tcp_connect_finish(int fd) {
    int err = 0;
    socklen_t l = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) != 0) return RTC_ERR_IO;
    if (err) {
        errno = err;
        return RTC_ERR_IO;
    }
    /* No pending error: connected only if the peer name is known. */
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) return RTC_OK;
    if (errno == ENOTCONN) return RTC_ERR_AGAIN;
    return RTC_ERR_IO;
}

int rtc_tcp_send(int fd, const uint8_t *data, size_t len) {
    if (!data && len) return RTC_ERR_INVALID;
    if (!len) return 0;
    if (len > (size_t)INT32_MAX) len = (size_t)INT32_MAX; /* the count must fit an int */
    for (;;) {
        ssize_t r = send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r >= 0) return r ? (int)r : RTC_ERR_AGAIN;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return RTC_ERR_AGAIN;
        if (errno == EPIPE || errno == ECONNRESET) return RTC_ERR_CLOSED;
        return RTC_ERR_IO;
    }
}

int rtc_tcp_recv(int fd, uint8_t *buf, size_t cap) {
    if (!buf || !cap) return RTC_ERR_INVALID;
    if (cap > (size_t)INT32_MAX) cap = (size_t)INT32_MAX;
    for (;;) {
        ssize_t r = recv(fd, buf, cap, MSG_DONTWAIT);
        if (r > 0) return (int)r;
        if (r == 0) return RTC_ERR_CLOSED;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return RTC_ERR_AGAIN;
        if (errno == ECONNRESET || errno == EPIPE) return RTC_ERR_CLOSED;
        return RTC_ERR_IO;
    }
}
