/*
** src/net/mdns.c: one-shot mDNS resolver on an rtc_loop (RFC 6762 §5.1).
**
** Each query gets its own ephemeral-port UDP sockets (IPv4, and IPv6 when the kernel has
** it). Sending from a port other than 5353 makes this a "one-shot" querier: responders
** answer by unicast to the source address and port, echoing our ID and question (§6.7),
** and the QU bit (§5.4) asks the same of responders that only look at that bit. So the
** answer arrives on the query's own socket; nothing has to share port 5353 with a system
** responder (avahi), and concurrent queries cannot see each other's answers.
**
** The query goes out on every up, multicast-capable interface (IP_MULTICAST_IF /
** IPV6_MULTICAST_IF per send), with IP TTL / hop limit 255 (§11) and loopback enabled so
** that a responder on this host (another browser tab, a test) hears it. It is repeated
** after timeout/4 (capped to [100 ms, 1 s]) and twice that, since a multicast datagram
** on Wi-Fi is easily lost; the first response naming an address for the name wins.
**
** Responders that ignore both §6.7 and QU answer to the group; for them one listener per
** resolver (port 5353, SO_REUSEADDR, joined to the groups on the queried interfaces) is
** open while queries are in flight, and a response there finishes every query whose name
** it answers. Whichever copy comes first wins; the later one finds no query.
**
** Known limits: responses are not checked for an on-link source or IP TTL 255 (§11):
** unicast answers to our random port with our random ID are accepted from anywhere, as
** a DNS stub resolver would.
*/
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "cwebrtc/loop.h"
#include "cwebrtc/mdns.h"
#include "cwebrtc/net.h"
#include "util/util.h"

#define LOG_MODULE "mdns"

#define MDNS_DEFAULT_TIMEOUT RTC_SEC(3)
#define MDNS_RETX_MIN        RTC_MS(100)
#define MDNS_RETX_MAX        RTC_SEC(1)
#define MDNS_RX_PER_WAKEUP   16 /* datagrams read per readiness callback: fairness bound */
#define MDNS_MAX_IFACES      64

typedef struct mdns_query {
    bool used;
    uint32_t id; /* public id, 0 when free */
    rtc_mdns *m;
    char name[RTC_MDNS_NAME_MAX + 2];
    rtc_udp *u4, *u6;
    rtc_timer retx, deadline;
    int sends_left;
    bool ever_sent;
    rtc_time interval;
    uint16_t dns_id;
    rtc_mdns_cb cb;
    void *ud;
    uint8_t msg[300]; /* the query: header + name (<= 255) + 2 questions' tails */
    size_t msg_len;
} mdns_query;

struct rtc_mdns {
    rtc_env env;
    rtc_loop *loop;
    rtc_mdns_config cfg;
    size_t max;
    mdns_query *q;
    uint32_t next_id;
    size_t pending;
    int listen4, listen6; /* group listeners on port 5353, -1 when closed */
};

int rtc_mdns_new(rtc_mdns **out, rtc_loop *l, const rtc_mdns_config *cfg, const rtc_env *env) {
    if (!out) return RTC_ERR_INVALID;
    *out = NULL;
    if (!l) return RTC_ERR_INVALID;
    rtc_env e;
    rtc_env_copy(&e, env);
    rtc_mdns *m = rtc_calloc(&e, sizeof *m);
    if (!m) return RTC_ERR_NOMEM;
    m->env = e;
    m->loop = l;
    if (cfg) m->cfg = *cfg;
    m->max = m->cfg.max_queries ? m->cfg.max_queries : RTC_MDNS_DEFAULT_MAX_QUERIES;
    if (m->max > 4096) m->max = 4096;
    m->q = rtc_calloc(&e, m->max * sizeof *m->q);
    if (!m->q) {
        rtc_free(&e, m, sizeof *m);
        return RTC_ERR_NOMEM;
    }
    m->next_id = 1;
    m->listen4 = m->listen6 = -1;
    *out = m;
    return RTC_OK;
}

static void listeners_close(rtc_mdns *m) {
    int *fds[2] = {&m->listen4, &m->listen6};
    for (int i = 0; i < 2; i++)
        if (*fds[i] >= 0) {
            rtc_loop_unwatch(m->loop, *fds[i]);
            rtc_net_close(*fds[i]);
            *fds[i] = -1;
        }
}

static void query_teardown(mdns_query *q) {
    rtc_mdns *m = q->m;
    rtc_loop_timer_stop(m->loop, &q->retx);
    rtc_loop_timer_stop(m->loop, &q->deadline);
    if (q->u4) {
        rtc_loop_unwatch(m->loop, rtc_udp_fd(q->u4));
        rtc_udp_free(q->u4);
    }
    if (q->u6) {
        rtc_loop_unwatch(m->loop, rtc_udp_fd(q->u6));
        rtc_udp_free(q->u6);
    }
    memset(q, 0, sizeof *q);
    m->pending--;
    if (m->pending == 0) listeners_close(m);
}

void rtc_mdns_free(rtc_mdns *m) {
    if (!m) return;
    for (size_t i = 0; i < m->max; i++)
        if (m->q[i].used) query_teardown(&m->q[i]);
    rtc_free(&m->env, m->q, m->max * sizeof *m->q);
    rtc_free(&m->env, m, sizeof *m);
}

size_t rtc_mdns_pending(const rtc_mdns *m) { return m ? m->pending : 0; }

/* Tear the query down first, then call back: the callback may free the resolver, so
** nothing of it is touched afterwards. */
static void query_finish(mdns_query *q, int result, const rtc_addr *addrs) {
    char name[sizeof q->name];
    memcpy(name, q->name, sizeof name);
    rtc_mdns_cb cb = q->cb;
    void *ud = q->ud;
    rtc_loop *l = q->m->loop;
    query_teardown(q);
    cb(l, result, name, addrs, ud);
}

int rtc_mdns_cancel(rtc_mdns *m, uint32_t id) {
    if (!m || id == 0) return RTC_ERR_NOT_FOUND;
    for (size_t i = 0; i < m->max; i++)
        if (m->q[i].used && m->q[i].id == id) {
            query_teardown(&m->q[i]);
            return RTC_OK;
        }
    return RTC_ERR_NOT_FOUND;
}

static bool send_to(mdns_query *q, rtc_udp *u, const rtc_addr *dst) {
    int r = rtc_udp_send(u, dst, q->msg, q->msg_len);
    if (r != RTC_OK) {
        RTC_LOGD(&q->m->env, "send failed: %s (errno %d)", rtc_strerror(r), errno);
        return false;
    }
    return true;
}

/* Send the query on interface `ifindex` (0 = the kernel's choice) of one family. */
static bool send_on(mdns_query *q, int family, uint32_t ifindex) {
    rtc_addr group;
    if (family == AF_INET) {
        if (!q->u4) return false;
        struct ip_mreqn mr;
        memset(&mr, 0, sizeof mr);
        mr.imr_ifindex = (int)ifindex;
        if (setsockopt(rtc_udp_fd(q->u4), IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof mr) != 0)
            return false;
        rtc_addr_parse_ip(&group, RTC_MDNS_GROUP_V4, RTC_MDNS_PORT);
        return send_to(q, q->u4, &group);
    }
    if (!q->u6) return false;
    int idx = (int)ifindex;
    if (setsockopt(rtc_udp_fd(q->u6), IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof idx) != 0)
        return false;
    rtc_addr_parse_ip(&group, RTC_MDNS_GROUP_V6, RTC_MDNS_PORT);
    group.scope_id = ifindex; /* ff02::/16 is link-scoped */
    return send_to(q, q->u6, &group);
}

/* The interfaces to query on for one family: cfg.ifindex, or every up interface with the
** MULTICAST flag and an address of that family. Returns the count (<= cap). */
static size_t list_ifaces(const rtc_mdns *m, int fam, uint32_t *out, size_t cap) {
    if (m->cfg.ifindex) {
        out[0] = m->cfg.ifindex;
        return 1;
    }
    struct ifaddrs *ifa = NULL;
    if (getifaddrs(&ifa) != 0) return 0;
    size_t n = 0;
    for (struct ifaddrs *i = ifa; i && n < cap; i = i->ifa_next) {
        if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || !(i->ifa_flags & IFF_MULTICAST)) continue;
        if (i->ifa_addr->sa_family != fam) continue;
        uint32_t idx = if_nametoindex(i->ifa_name);
        bool seen = idx == 0;
        for (size_t k = 0; k < n && !seen; k++)
            seen = out[k] == idx;
        if (!seen) out[n++] = idx;
    }
    freeifaddrs(ifa);
    return n;
}

/* One transmission round. Returns how many datagrams left. */
static int send_round(mdns_query *q) {
    const rtc_mdns_config *c = &q->m->cfg;
    int sent = 0;
    if (c->server.family == RTC_AF_INET || c->server.family == RTC_AF_INET6) {
        rtc_udp *u = c->server.family == RTC_AF_INET ? q->u4 : q->u6;
        if (u && send_to(q, u, &c->server)) sent++;
        return sent;
    }
    uint32_t idx[MDNS_MAX_IFACES];
    size_t n = list_ifaces(q->m, AF_INET, idx, MDNS_MAX_IFACES);
    for (size_t i = 0; i < n; i++)
        if (send_on(q, AF_INET, idx[i])) sent++;
    n = list_ifaces(q->m, AF_INET6, idx, MDNS_MAX_IFACES);
    for (size_t i = 0; i < n; i++)
        if (send_on(q, AF_INET6, idx[i])) sent++;
    return sent;
}

static void on_retx(rtc_loop *l, rtc_timer *t, void *ud) {
    mdns_query *q = ud;
    if (send_round(q) > 0) q->ever_sent = true;
    if (!q->ever_sent) {
        query_finish(q, RTC_ERR_IO, NULL);
        return;
    }
    if (--q->sends_left > 0) {
        rtc_loop_timer_start(l, t, rtc_loop_now(l) + q->interval, on_retx, q);
        q->interval *= 2;
    }
}

static void on_deadline(rtc_loop *l, rtc_timer *t, void *ud) {
    (void)l;
    (void)t;
    query_finish(ud, RTC_ERR_TIMEOUT, NULL);
}

static void on_readable(rtc_loop *l, int fd, unsigned events, void *ud) {
    (void)l;
    (void)events;
    mdns_query *q = ud;
    rtc_udp *u = (q->u4 && rtc_udp_fd(q->u4) == fd) ? q->u4 : q->u6;
    if (!u) return;
    uint8_t buf[RTC_MDNS_MSG_MAX];
    for (int k = 0; k < MDNS_RX_PER_WAKEUP; k++) {
        rtc_udp_rx rx = {.buf = buf, .cap = sizeof buf};
        if (rtc_udp_recv(u, &rx) != 1) return;
        if (rx.truncated) continue;
        rtc_mdns_addr found[RTC_MDNS_ADDR_MAX];
        uint16_t id = 0;
        int n = rtc_mdns_parse_response(buf, rx.len, q->name, found, RTC_MDNS_ADDR_MAX, &id);
        if (n <= 0) {
            if (n < 0) RTC_LOGD(&q->m->env, "dropped malformed response (%s)", rtc_strerror(n));
            continue;
        }
        /* §6.7: legacy unicast answers echo our ID; multicast-style answers carry 0. */
        if (id != q->dns_id && id != 0) continue;
        if (n > RTC_MDNS_ADDR_MAX) n = RTC_MDNS_ADDR_MAX;
        rtc_addr addrs[RTC_MDNS_ADDR_MAX];
        for (int i = 0; i < n; i++) {
            addrs[i] = found[i].addr;
            /* fe80::/10 means nothing without its link: the one the answer came in on */
            if (addrs[i].family == RTC_AF_INET6 && rtc_addr_is_link_local(&addrs[i]))
                addrs[i].scope_id = rx.ifindex;
        }
        query_finish(q, n, addrs);
        return; /* q (and maybe the resolver) is gone */
    }
}

/* A datagram on a group listener: a multicast answer may finish any query it names. */
static void on_group(rtc_loop *l, int fd, unsigned events, void *ud) {
    (void)l;
    (void)events;
    rtc_mdns *m = ud;
    uint8_t buf[RTC_MDNS_MSG_MAX];
    for (int k = 0; k < MDNS_RX_PER_WAKEUP; k++) {
        /* recvmsg for the arrival interface (IP_PKTINFO / IPV6_RECVPKTINFO): it scopes
        ** link-local IPv6 answers */
        union {
            struct cmsghdr align;
            uint8_t
                b[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
        } ctrl;
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = ctrl.b,
                            .msg_controllen = sizeof ctrl.b};
        ssize_t len = recvmsg(fd, &mh, MSG_DONTWAIT);
        if (len < 0) return;
        if (mh.msg_flags & MSG_TRUNC) continue;
        uint32_t ifindex = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
            if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
                struct in_pktinfo pi;
                memcpy(&pi, CMSG_DATA(c), sizeof pi);
                ifindex = (uint32_t)pi.ipi_ifindex;
            } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
                struct in6_pktinfo pi;
                memcpy(&pi, CMSG_DATA(c), sizeof pi);
                ifindex = pi.ipi6_ifindex;
            }
        }
        for (size_t i = 0; i < m->max; i++) {
            mdns_query *q = &m->q[i];
            if (!q->used || !q->cb) continue;
            rtc_mdns_addr found[RTC_MDNS_ADDR_MAX];
            int n =
                rtc_mdns_parse_response(buf, (size_t)len, q->name, found, RTC_MDNS_ADDR_MAX, NULL);
            if (n < 0) break; /* malformed (or a query): no name will match */
            if (n == 0) continue;
            if (n > RTC_MDNS_ADDR_MAX) n = RTC_MDNS_ADDR_MAX;
            rtc_addr addrs[RTC_MDNS_ADDR_MAX];
            for (int j = 0; j < n; j++) {
                addrs[j] = found[j].addr;
                if (addrs[j].family == RTC_AF_INET6 && rtc_addr_is_link_local(&addrs[j]))
                    addrs[j].scope_id = ifindex;
            }
            query_finish(q, n, addrs);
            return; /* the callback may have freed the resolver */
        }
    }
}

static int listener_open(rtc_mdns *m, int fam) {
    int fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    if (fam == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(RTC_MDNS_PORT);
        sl = sizeof *sin;
    } else {
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(RTC_MDNS_PORT);
        sl = sizeof *sin6;
    }
    /* Only datagrams for our own memberships: by default Linux delivers a group's traffic
    ** to every socket on the port once any socket on the host joined it on any link. */
    int zero = 0;
    if (fam == AF_INET) {
        (void)setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
        (void)setsockopt(fd, IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof zero);
    } else {
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
#ifdef IPV6_MULTICAST_ALL
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, &zero, sizeof zero);
#endif
    }
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0) goto fail;
    uint32_t idx[MDNS_MAX_IFACES];
    size_t n = list_ifaces(m, fam, idx, MDNS_MAX_IFACES), joined = 0;
    rtc_addr g;
    rtc_addr_parse_ip(&g, fam == AF_INET ? RTC_MDNS_GROUP_V4 : RTC_MDNS_GROUP_V6, 0);
    for (size_t i = 0; i < n; i++) {
        int r;
        if (fam == AF_INET) {
            struct ip_mreqn mr;
            memset(&mr, 0, sizeof mr);
            memcpy(&mr.imr_multiaddr, g.ip, 4);
            mr.imr_ifindex = (int)idx[i];
            r = setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof mr);
        } else {
            struct ipv6_mreq mr;
            memset(&mr, 0, sizeof mr);
            memcpy(&mr.ipv6mr_multiaddr, g.ip, 16);
            mr.ipv6mr_interface = idx[i];
            r = setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof mr);
        }
        if (r == 0) joined++;
    }
    if (joined == 0) goto fail;
    if (rtc_loop_watch(m->loop, fd, RTC_LOOP_READ, on_group, m) != RTC_OK) goto fail;
    return fd;
fail:
    RTC_LOGD(&m->env, "no IPv%d group listener: errno %d", fam == AF_INET ? 4 : 6, errno);
    rtc_net_close(fd);
    return -1;
}

static rtc_udp *open_socket(rtc_mdns *m, int family, mdns_query *q) {
    rtc_udp_config uc;
    memset(&uc, 0, sizeof uc);
    uc.bind.family = (uint8_t)family;
    uc.pktinfo = true; /* the arrival interface scopes link-local IPv6 answers */
    rtc_udp *u = NULL;
    if (rtc_udp_new(&u, &uc, &m->env) != RTC_OK) return NULL;
    int fd = rtc_udp_fd(u);
    int ttl = 255, one = 1; /* RFC 6762 §11: IP TTL / hop limit 255 */
    if (family == RTC_AF_INET) {
        (void)setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
        (void)setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof one);
    } else {
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof ttl);
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &one, sizeof one);
    }
    if (rtc_loop_watch(m->loop, fd, RTC_LOOP_READ, on_readable, q) != RTC_OK) {
        rtc_udp_free(u);
        return NULL;
    }
    return u;
}

int rtc_mdns_resolve(rtc_mdns *m, const char *name, rtc_time timeout, rtc_mdns_cb cb, void *ud,
                     uint32_t *id_out) {
    if (id_out) *id_out = 0;
    if (!m || !cb || rtc_mdns_name_check(name) != RTC_OK) return RTC_ERR_INVALID;
    mdns_query *q = NULL;
    for (size_t i = 0; i < m->max && !q; i++)
        if (!m->q[i].used) q = &m->q[i];
    if (!q) return RTC_ERR_NOMEM; /* the bound on queries in flight */
    memset(q, 0, sizeof *q);
    q->m = m;
    snprintf(q->name, sizeof q->name, "%s", name);
    q->dns_id = (uint16_t)(rtc_random_below(&m->env, 0xFFFF) + 1);
    int len = rtc_mdns_build_query(q->msg, sizeof q->msg, q->dns_id, name,
                                   RTC_MDNS_Q_A | RTC_MDNS_Q_AAAA, true);
    if (len <= 0) return RTC_ERR_INVALID;
    q->msg_len = (size_t)len;
    const rtc_mdns_config *c = &m->cfg;
    bool want4 = !c->no_ipv4, want6 = !c->no_ipv6;
    if (c->server.family) {
        want4 = c->server.family == RTC_AF_INET;
        want6 = c->server.family == RTC_AF_INET6;
    }
    q->used = true; /* so that teardown can run on the error paths below */
    m->pending++;
    if (want4) q->u4 = open_socket(m, RTC_AF_INET, q);
    if (want6) q->u6 = open_socket(m, RTC_AF_INET6, q);
    if (!q->u4 && !q->u6) {
        query_teardown(q);
        return RTC_ERR_IO;
    }
    if (!c->no_group_listen && !c->server.family) {
        /* best effort: the unicast path works without them */
        if (q->u4 && m->listen4 < 0) m->listen4 = listener_open(m, AF_INET);
        if (q->u6 && m->listen6 < 0) m->listen6 = listener_open(m, AF_INET6);
    }
    if (timeout <= 0) timeout = MDNS_DEFAULT_TIMEOUT;
    rtc_time iv = timeout / 4;
    q->interval = iv < MDNS_RETX_MIN ? MDNS_RETX_MIN : iv > MDNS_RETX_MAX ? MDNS_RETX_MAX : iv;
    q->sends_left = 1 + (c->retransmits == 0 ? 2 : c->retransmits < 0 ? 0 : c->retransmits);
    if (q->sends_left > 8) q->sends_left = 8;
    q->cb = cb;
    q->ud = ud;
    rtc_time now = rtc_net_now();
    /* The first send runs from the loop, so that even "no interface could send" is
    ** reported through the callback and never from inside this call. */
    if (rtc_loop_timer_start(m->loop, &q->retx, now, on_retx, q) != RTC_OK ||
        rtc_loop_timer_start(m->loop, &q->deadline, now + timeout, on_deadline, q) != RTC_OK) {
        query_teardown(q);
        return RTC_ERR_NOMEM;
    }
    q->id = m->next_id++;
    if (m->next_id == 0) m->next_id = 1;
    if (id_out) *id_out = q->id;
    return RTC_OK;
}
