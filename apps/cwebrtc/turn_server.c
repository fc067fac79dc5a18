/*
** cwebrtc turn-server: a TURN relay (RFC 8656) on the sans-IO core in src/turn, driven by
** N relay threads (--threads), each an rtc_loop with its own core, SO_REUSEPORT UDP
** listeners and the relay sockets of its allocations; they share only the nonce key,
** the quota counts and EVEN-PORT reservations (a mutex taken when allocations start and
** end, never per packet); thread 0 also runs TCP/TLS, metrics and signals. Listeners
** over UDP, TCP and TLS (IPv4/IPv6, several addresses); one UDP socket per relayed
** address (equal bursts sent with UDP GSO), bound in --min-port..--max-port on --relay-ip (advertised
** as --external-ip behind 1:1 NAT); RFC 6062 TCP relays (a listener per TCP allocation,
** peer connections spliced byte-for-byte with the client's data connection); long-term users
** (flags or a file) and coTURN-compatible REST secrets; Prometheus metrics; SIGTERM
** stops, SIGHUP reloads users and secrets. Option names follow coTURN's where the
** meaning is the same, in flags and in the `-c FILE` key=value config.
** Logs a line per allocation event at --verbose, never per packet.
*/
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "cmd.h"
#include "cwebrtc/loop.h"
#include "cwebrtc/net.h"
#include "cwebrtc/stun.h"
#include "cwebrtc/turn_server.h"

#define MAX_LISTEN 8
#define MAX_USERS_ARGS 64
#define MAX_RANGES 32
#define BATCH 32
#define MAX_TCP_CONNS 4096
#define TCP_IDLE_US RTC_SEC(120)
#define TCP_OUT_MAX (256 * 1024)
#define TLS_HANDSHAKE_US RTC_SEC(10) /* a TLS client must finish its handshake by then */
#define TLS_READS_PER_EVENT 64       /* fairness between connections (records, not bytes) */

typedef struct relay_sock relay_sock;
typedef struct tcp_conn tcp_conn;
typedef struct tcp_relay tcp_relay;
typedef struct peer_conn peer_conn;

#define SPLICE_HIWAT (64 * 1024) /* stop reading one side while the other has this queued */
#define MAX_PEER_CONNS 4096
#define MAX_THREADS 64
#define QUOTA_BUCKETS 4096
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* linux/udp.h: UDP GSO segment size (Linux 4.18) */
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#define GSO_MAX_BYTES 60000 /* one GSO send stays below the 64 KiB datagram limit */
#define GSO_MAX_SEG 1232    /* larger datagrams may exceed a path's MTU (1280 minus headers):
                            ** the kernel refuses GSO segments it would have to fragment */

typedef struct turn_shared turn_shared;

/* Counters a relay thread publishes for the metrics endpoint on thread 0 (relaxed atomic
** stores, no lock; one cache line per thread so the writers do not share one). */
enum { SNAP_ALLOCS, SNAP_ALLOCS_TOTAL, SNAP_PKTS, SNAP_BYTES, SNAP_AUTH, SNAP_DENIED, SNAP_QUOTA,
       SNAP_DROPPED, SNAP_STALE, SNAP_N };

/*
** One relay thread: its own loop, core, UDP listeners (SO_REUSEPORT when there are
** several threads) and the relay sockets its core opened. Thread 0 (the main thread)
** also holds the configuration, TCP/TLS, RFC 6062, metrics and signals; the others are
** copies of its configuration with those parts left out.
*/
typedef struct turn_app {
    rtc_loop *loop;
    rtc_turn_server *srv;
    rtc_timer timer;
    int idx;          /* thread number, 0 = main */
    int threads;      /* --threads (thread 0's copy is the configured value) */
    turn_shared *sh;
    pthread_t thread;
    bool started;
    rtc_time resv_next; /* earliest expiry of the EVEN-PORT reservations this thread made */
    _Alignas(64) _Atomic uint64_t snap[SNAP_N];
    /* listeners */
    rtc_addr listen[MAX_LISTEN];
    int n_listen;
    rtc_udp *udp[MAX_LISTEN];
    int tcp_fd[MAX_LISTEN];
    rtc_addr tcp_addr[MAX_LISTEN];
    bool no_tcp, no_udp, no_tls;
    bool no_gso; /* --no-gso, or the kernel refused UDP_SEGMENT once */
    /* TLS listeners (RFC 8656 §3.1: TURN over TLS over TCP, same framing as TCP) */
    rtc_addr tls_listen[MAX_LISTEN];
    int n_tls_listen;
    int tls_fd[MAX_LISTEN];
    rtc_addr tls_addr[MAX_LISTEN];
    uint16_t tls_port; /* --tls-listening-port: TLS beside every --listen address */
    char *cert, *pkey, *cipher_list;
    bool tls13_only;
    SSL_CTX *tls_ctx;
    /* relays */
    rtc_addr relay_ip[2]; /* v4, v6 */
    /* --external-ip PUBLIC[/PRIVATE] (1:1 NAT): relay sockets bound on PRIVATE (the relay
    ** IP of that family when not given) are advertised as PUBLIC, per family of PRIVATE. */
    rtc_addr ext_public[2], ext_private[2];
    uint16_t min_port, max_port, cursor;
    /* tcp */
    tcp_conn *conns;
    int n_conns;
    /* RFC 6062 */
    bool no_tcp_relay;
    peer_conn *peers;
    int n_peers;
    /* config sources for reload */
    const char *config_file, *user_file;
    char *users[MAX_USERS_ARGS];
    bool user_from_cfg[MAX_USERS_ARGS]; /* re-read from the -c file on SIGHUP */
    int n_users;
    char *secrets[8];
    bool secret_from_cfg[8];
    int n_secrets;
    bool use_auth_secret;
    bool in_config; /* apply() is reading the -c file */
    bool reloading; /* only credential keys are applied */
    int sig_pipe[2]; /* self-pipe: the SIGHUP handler writes, the loop reads */
    /* metrics */
    int metrics_fd;
    /* outgoing UDP datagrams, batched per socket into one sendmmsg */
    rtc_udp *tx_sock;
    size_t tx_n;
    rtc_udp_tx tx[BATCH];
    uint8_t txbuf[BATCH][2048];
    /* scratch */
    uint8_t rxbuf[BATCH][2048];
    rtc_udp_rx rx[BATCH];
    int verbose;
} turn_app;

struct relay_sock {
    turn_app *app;      /* the thread whose loop watches it */
    rtc_udp *u;
    rtc_addr addr;
    uint64_t token;     /* reservation token when parked in the shared reserved list */
    rtc_time reserved_until;
    int owner;          /* thread that parked it (wakes to expire it) */
    relay_sock *next;
};

typedef struct quota_user {
    struct quota_user *next;
    size_t n, len;
    char name[];
} quota_user;

/*
** What the relay threads share: allocation quotas (per username and in total, so
** --user-quota and --total-quota mean the same as with one thread) and EVEN-PORT
** reservations (the Allocate with the RESERVATION-TOKEN usually comes from another
** client socket, which the kernel may hash to another thread). Both behind one mutex
** that is only taken when an allocation starts or ends, never per packet.
*/
struct turn_shared {
    int n;
    turn_app *w[MAX_THREADS];
    pthread_mutex_t mu;
    size_t total, max_total, max_user;
    quota_user *users[QUOTA_BUCKETS];
    relay_sock *reserved; /* parked sockets are watched by no loop: any thread may claim one */
};

struct tcp_conn {
    turn_app *app;
    int fd;
    rtc_addr peer, local;
    rtc_framer *framer;
    rtc_timer idle;
    SSL *ssl;        /* TLS connections only */
    bool want_write; /* TLS needs the socket writable to make progress (handshake) */
    bool established; /* TLS: the first application bytes arrived */
    peer_conn *splice;      /* RFC 6062 data connection: bytes go to/from this peer */
    peer_conn *splice_next; /* ConnectionBind answered: splice after sending the answer */
    uint8_t *out;
    size_t out_len, out_cap;
    tcp_conn *prev, *next;
};

/* RFC 6062: a TCP listener on a relayed address, and the peer side of TCP connections. */
struct tcp_relay {
    turn_app *app;
    int fd;
    rtc_addr addr; /* as advertised (after --external-ip) */
};

struct peer_conn {
    turn_app *app;
    tcp_relay *relay;
    int fd;
    uint32_t id;
    bool connecting;
    tcp_conn *client; /* once bound */
    uint8_t *out;     /* client bytes the peer socket has not taken yet */
    size_t out_len, out_cap;
    peer_conn *prev, *next;
};

static turn_app *g_app;

static void flush(turn_app *a);
static void tx_flush(turn_app *a);

/* ---- relay sockets (the core's relay ops) ---------------------------------------------- */

static void on_relay(rtc_loop *l, int fd, unsigned ev, void *ud);

static relay_sock *relay_bind(turn_app *a, const rtc_addr *ip, uint16_t port) {
    rtc_udp_config cfg = {.bind = *ip};
    cfg.bind.port = port;
    rtc_udp *u;
    if (rtc_udp_new(&u, &cfg, NULL) != RTC_OK) return NULL;
    relay_sock *r = calloc(1, sizeof *r);
    if (!r) {
        rtc_udp_free(u);
        return NULL;
    }
    r->app = a;
    r->u = u;
    rtc_udp_local_addr(u, &r->addr);
    /* The core keys allocations by the advertised address, so r->addr is what peers see
    ** and what on_relay() reports; the socket itself stays bound on the private IP. */
    int k = r->addr.family == RTC_AF_INET6 ? 1 : 0;
    if (a->ext_public[k].family &&
        (!a->ext_private[k].family || rtc_addr_equal_ip(&a->ext_private[k], &r->addr))) {
        uint16_t p = r->addr.port;
        r->addr = a->ext_public[k];
        r->addr.port = p;
    }
    return r;
}

static void relay_sock_free(relay_sock *r) {
    if (!r) return;
    rtc_loop_unwatch(r->app->loop, rtc_udp_fd(r->u));
    rtc_udp_free(r->u);
    free(r);
}

/* Relay ports: thread k of N tries the port pairs (2m, 2m+1) with m % N == k first
** (pass 0), so threads do not race for the same ports and EVEN-PORT's port+1 is its own;
** pass 1 tries the whole range (bind() fails on ports in use, so a thread whose share is
** full, or a range smaller than 2N ports, still finds one). */
static bool port_skip(const turn_app *a, int pass, uint16_t port) {
    return pass == 0 && a->sh->n > 1 && (int)((port >> 1) % (unsigned)a->sh->n) != a->idx;
}

static int relay_open(void *ud, uint8_t family, bool even, bool reserve_next, uint64_t token_in,
                      rtc_addr *relay, void **handle, uint64_t *token) {
    turn_app *a = ud;
    turn_shared *sh = a->sh;
    relay_sock *r = NULL;
    if (token_in) {
        pthread_mutex_lock(&sh->mu);
        for (relay_sock **pp = &sh->reserved; *pp; pp = &(*pp)->next)
            if ((*pp)->token == token_in) {
                r = *pp;
                *pp = r->next;
                r->next = NULL;
                break;
            }
        pthread_mutex_unlock(&sh->mu);
        if (!r) return RTC_ERR_NOT_FOUND;
        r->app = a; /* watched by this thread's loop from now on */
    } else {
        const rtc_addr *ip = &a->relay_ip[family == RTC_AF_INET6 ? 1 : 0];
        if (!ip->family) return RTC_ERR_UNSUPPORTED;
        uint32_t span = (uint32_t)(a->max_port - a->min_port) + 1;
        uint32_t tries = (a->sh->n > 1 ? 2 : 1) * span;
        for (uint32_t j = 0; j < tries && !r; j++) {
            uint32_t i = j % span;
            uint16_t port = (uint16_t)(a->min_port + (a->cursor + i) % span);
            if (port_skip(a, (int)(j / span), port)) continue;
            if (even && (port & 1)) continue;
            if (reserve_next && port == a->max_port) continue;
            r = relay_bind(a, ip, port);
            if (r && reserve_next) {
                relay_sock *next = relay_bind(a, ip, (uint16_t)(port + 1));
                if (!next) {
                    relay_sock_free(r);
                    r = NULL;
                    continue;
                }
                uint8_t tb[8];
                FILE *f = fopen("/dev/urandom", "rb");
                if (!f || fread(tb, 1, 8, f) != 8) memset(tb, 0x5a, 8);
                if (f) fclose(f);
                memcpy(&next->token, tb, 8);
                if (!next->token) next->token = 1;
                next->reserved_until = rtc_net_now() + RTC_SEC(30); /* RFC 8656 §7.2: ~30 s */
                next->owner = a->idx;
                if (next->reserved_until < a->resv_next) a->resv_next = next->reserved_until;
                pthread_mutex_lock(&sh->mu);
                next->next = sh->reserved;
                sh->reserved = next;
                pthread_mutex_unlock(&sh->mu);
                *token = next->token;
            }
            if (r) a->cursor = (uint16_t)((a->cursor + i + 1) % span);
        }
        if (!r) return RTC_ERR_NOMEM;
    }
    rtc_loop_watch(a->loop, rtc_udp_fd(r->u), RTC_LOOP_READ, on_relay, r);
    *relay = r->addr;
    *handle = r;
    return RTC_OK;
}

static void relay_close(void *ud, void *handle) {
    turn_app *a = ud;
    relay_sock *r = handle;
    if (a->tx_n && a->tx_sock == r->u) tx_flush(a); /* nothing may point at a freed socket */
    relay_sock_free(r);
}

/* ---- output ------------------------------------------------------------------------------ */

static tcp_conn *find_conn(turn_app *a, const rtc_addr *local, const rtc_addr *peer) {
    for (tcp_conn *c = a->conns; c; c = c->next)
        if (rtc_addr_equal(&c->peer, peer) && rtc_addr_equal(&c->local, local)) return c;
    return NULL;
}

static void conn_close(tcp_conn *c, bool tell_core);

static void conn_update_watch(tcp_conn *c) {
    unsigned ev = c->splice && c->splice->out_len > SPLICE_HIWAT ? 0 : RTC_LOOP_READ;
    if (c->out_len || c->want_write) ev |= RTC_LOOP_WRITE;
    rtc_loop_watch_modify(c->app->loop, c->fd, ev);
}

/* TLS or plain: bytes written (> 0), RTC_ERR_AGAIN, or another negative code (drop). With
** SSL_MODE_ENABLE_PARTIAL_WRITE and ACCEPT_MOVING_WRITE_BUFFER, a retry after AGAIN may
** pass the same bytes from the queue, as OpenSSL requires. */
static int conn_send(tcp_conn *c, const uint8_t *data, size_t len) {
    if (!c->ssl) return rtc_tcp_send(c->fd, data, len);
    ERR_clear_error();
    int n = SSL_write(c->ssl, data, (int)(len > INT32_MAX ? INT32_MAX : len));
    if (n > 0) return n;
    int e = SSL_get_error(c->ssl, n);
    if (e == SSL_ERROR_WANT_WRITE) return RTC_ERR_AGAIN;
    if (e == SSL_ERROR_WANT_READ) return RTC_ERR_AGAIN; /* the next read event retries */
    return RTC_ERR_IO;
}

/* TLS or plain: bytes read (> 0), RTC_ERR_AGAIN, RTC_ERR_CLOSED or another error. */
static int conn_recv(tcp_conn *c, uint8_t *buf, size_t cap) {
    if (!c->ssl) return rtc_tcp_recv(c->fd, buf, cap);
    ERR_clear_error();
    int n = SSL_read(c->ssl, buf, (int)cap);
    c->want_write = false;
    if (n > 0) return n;
    int e = SSL_get_error(c->ssl, n);
    if (e == SSL_ERROR_WANT_READ) return RTC_ERR_AGAIN;
    if (e == SSL_ERROR_WANT_WRITE) {
        c->want_write = true;
        return RTC_ERR_AGAIN;
    }
    if (e == SSL_ERROR_ZERO_RETURN) return RTC_ERR_CLOSED;
    if (c->app->verbose > 1 && !c->established) {
        char s[RTC_ADDR_STRLEN];
        rtc_addr_fmt(&c->peer, s, sizeof s);
        fprintf(stderr, "turn-server: TLS handshake with %s failed: %s\n", s,
                ERR_reason_error_string(ERR_peek_error()) ? ERR_reason_error_string(ERR_peek_error())
                                                          : "connection lost");
    }
    return RTC_ERR_IO;
}

static void conn_write(tcp_conn *c, const uint8_t *data, size_t len) {
    size_t off = 0;
    if (c->out_len == 0) { /* nothing queued: try the socket first */
        while (off < len) {
            int n = conn_send(c, data + off, len - off);
            if (n == RTC_ERR_AGAIN) break;
            if (n < 0) {
                conn_close(c, true);
                return;
            }
            off += (size_t)n;
        }
    }
    if (off == len) return;
    size_t rest = len - off;
    if (c->out_len + rest > TCP_OUT_MAX) { /* a client that does not read: drop it */
        conn_close(c, true);
        return;
    }
    if (c->out_len + rest > c->out_cap) {
        size_t nc = c->out_cap ? c->out_cap * 2 : 8192;
        while (nc < c->out_len + rest) nc *= 2;
        uint8_t *p = realloc(c->out, nc);
        if (!p) {
            conn_close(c, true);
            return;
        }
        c->out = p;
        c->out_cap = nc;
    }
    memcpy(c->out + c->out_len, data + off, rest);
    c->out_len += rest;
    conn_update_watch(c);
}

static rtc_udp *listener_udp(turn_app *a, const rtc_addr *from) {
    for (int i = 0; i < a->n_listen; i++) {
        rtc_addr la;
        if (!a->udp[i]) continue;
        rtc_udp_local_addr(a->udp[i], &la);
        if (rtc_addr_equal(&la, from)) return a->udp[i];
    }
    return NULL;
}

/* Copy this thread's counters where the metrics thread reads them (not needed on thread
** 0, which serves the metrics itself). */
static void publish(turn_app *a) {
    if (a->idx == 0) return;
    rtc_turn_server_stats st;
    rtc_turn_server_get_stats(a->srv, &st);
    const uint64_t v[SNAP_N] = {st.allocations,   st.allocations_total, st.relayed_packets,
                                st.relayed_bytes, st.auth_failures,     st.denied_peers,
                                st.quota_rejections, st.dropped,        st.stale_nonces};
    for (int i = 0; i < SNAP_N; i++) atomic_store_explicit(&a->snap[i], v[i], memory_order_relaxed);
}

/* Send the pending batch (one sendmmsg). A full socket buffer drops the rest: UDP. The
** counters are published first, so a client that got an answer sees it in the metrics. */
/* How many datagrams from tx[off] can leave as one UDP GSO send: same destination, same
** length (the last one may be shorter), within GSO_MAX_BYTES. */
static size_t gso_run(const turn_app *a, size_t off) {
    const rtc_udp_tx *t = &a->tx[off];
    size_t k = 1, bytes = t->len;
    if (t->len > GSO_MAX_SEG || t->len == 0) return 1;
    while (off + k < a->tx_n && rtc_addr_equal(&a->tx[off + k].dst, &t->dst) &&
           a->tx[off + k].len <= t->len && bytes + a->tx[off + k].len <= GSO_MAX_BYTES) {
        bytes += a->tx[off + k].len;
        if (a->tx[off + k++].len < t->len) break; /* a shorter one ends the run */
    }
    return k;
}

/* One sendmsg with UDP_SEGMENT: the kernel builds one large datagram and cuts it into
** `n` datagrams as late as possible (one route lookup and socket pass for the burst).
** false: not sent (the caller falls back to sendmmsg; refusals turn GSO off). */
static bool gso_send(turn_app *a, size_t off, size_t n) {
    const rtc_udp_tx *t = &a->tx[off];
    struct sockaddr_storage ss;
    socklen_t sl;
    rtc_addr local;
    rtc_udp_local_addr(a->tx_sock, &local);
    int rc = local.family == RTC_AF_INET6 ? rtc_addr_to_sockaddr_v6(&t->dst, &ss, &sl)
                                          : rtc_addr_to_sockaddr(&t->dst, &ss, &sl);
    if (rc != RTC_OK) return false;
    struct iovec iov[BATCH];
    for (size_t i = 0; i < n; i++) iov[i] = (struct iovec){(void *)t[i].data, t[i].len};
    union {
        char buf[CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
    } ctrl;
    memset(&ctrl, 0, sizeof ctrl);
    struct msghdr mh = {.msg_name = &ss, .msg_namelen = sl, .msg_iov = iov, .msg_iovlen = n,
                        .msg_control = ctrl.buf, .msg_controllen = sizeof ctrl.buf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_UDP;
    cm->cmsg_type = UDP_SEGMENT;
    cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    uint16_t seg = (uint16_t)t->len;
    memcpy(CMSG_DATA(cm), &seg, sizeof seg);
    if (sendmsg(rtc_udp_fd(a->tx_sock), &mh, MSG_DONTWAIT) >= 0) return true;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return true; /* full buffer: dropped, as UDP */
    if (errno == EINVAL || errno == EIO || errno == ENOPROTOOPT || errno == EOPNOTSUPP)
        a->no_gso = true; /* no UDP GSO here (old kernel, no checksum offload): sendmmsg */
    return false;
}

/* Send the pending batch: runs of equal datagrams to one destination (a relayed burst)
** as one UDP GSO send each, the rest with sendmmsg. A full socket buffer drops the rest:
** UDP. The counters are published first, so a client that got an answer sees it in the
** metrics. */
static void tx_flush(turn_app *a) {
    if (a->tx_n) publish(a);
    size_t off = 0;
    while (off < a->tx_n) {
        size_t end = off;
        if (!a->no_gso) {
            /* [off, end): datagrams that are not part of a run of 2 or more */
            while (end < a->tx_n) {
                size_t k = gso_run(a, end);
                if (k >= 2) break;
                end++;
            }
        } else {
            end = a->tx_n;
        }
        while (off < end) {
            int k = rtc_udp_send_batch(a->tx_sock, a->tx + off, end - off);
            if (k <= 0) {
                off = a->tx_n; /* the socket refuses: drop the rest */
                break;
            }
            off += (size_t)k;
        }
        if (off >= a->tx_n) break;
        size_t k = gso_run(a, off);
        if (!gso_send(a, off, k)) {
            int m = rtc_udp_send_batch(a->tx_sock, a->tx + off, k);
            if (m <= 0) break;
        }
        off += k;
    }
    a->tx_n = 0;
    a->tx_sock = NULL;
}

static void tx_push(turn_app *a, rtc_udp *u, const rtc_addr *to, const uint8_t *data, size_t len) {
    if (len > sizeof a->txbuf[0]) return;
    if (a->tx_n && (a->tx_sock != u || a->tx_n == BATCH)) tx_flush(a);
    a->tx_sock = u;
    memcpy(a->txbuf[a->tx_n], data, len);
    a->tx[a->tx_n] = (rtc_udp_tx){.data = a->txbuf[a->tx_n], .len = len, .dst = *to};
    a->tx_n++;
}

static void flush(turn_app *a) {
    rtc_turn_transmit t;
    while (rtc_turn_server_poll_transmit(a->srv, &t) == 1) {
        if (t.from_relay) {
            relay_sock *r = t.relay_handle;
            tx_push(a, r->u, &t.to, t.data, t.len);
        } else if (t.transport == RTC_TURN_UDP) {
            rtc_udp *u = listener_udp(a, &t.from);
            if (u) tx_push(a, u, &t.to, t.data, t.len);
        } else {
            tcp_conn *c = find_conn(a, &t.from, &t.to);
            if (c) conn_write(c, t.data, t.len);
        }
    }
}

static void on_timer(rtc_loop *l, rtc_timer *t, void *ud);
static void rearm(turn_app *a) {
    rtc_time next = rtc_turn_server_next_timeout(a->srv);
    if (a->resv_next < next) next = a->resv_next; /* also expire unused EVEN-PORT reservations */
    rtc_loop_timer_start(a->loop, &a->timer, next, on_timer, a);
}

static void on_timer(rtc_loop *l, rtc_timer *t, void *ud) {
    turn_app *a = ud;
    rtc_time now = rtc_net_now();
    rtc_turn_server_set_unix_time(a->srv, (int64_t)time(NULL));
    rtc_turn_server_handle_timeout(a->srv, now);
    if (a->resv_next <= now) {
        a->resv_next = RTC_TIME_NEVER;
        pthread_mutex_lock(&a->sh->mu);
        for (relay_sock **pp = &a->sh->reserved; *pp;) {
            relay_sock *r = *pp;
            if (r->reserved_until <= now) {
                *pp = r->next;
                rtc_udp_free(r->u); /* never watched while parked */
                free(r);
                continue;
            }
            if (r->owner == a->idx && r->reserved_until < a->resv_next)
                a->resv_next = r->reserved_until;
            pp = &r->next;
        }
        pthread_mutex_unlock(&a->sh->mu);
    }
    flush(a);
    tx_flush(a);
    publish(a);
    rearm(a);
}

/* ---- input --------------------------------------------------------------------------------- */

static void on_relay(rtc_loop *l, int fd, unsigned ev, void *ud) {
    relay_sock *r = ud;
    turn_app *a = r->app;
    for (int i = 0; i < BATCH; i++) {
        a->rx[i].buf = a->rxbuf[i];
        a->rx[i].cap = sizeof a->rxbuf[i];
    }
    int n = rtc_udp_recv_batch(r->u, a->rx, BATCH);
    rtc_time now = rtc_net_now();
    rtc_addr raddr = r->addr;
    for (int i = 0; i < n; i++) {
        if (a->rx[i].truncated) continue;
        rtc_turn_server_handle_peer(a->srv, now, &raddr, &a->rx[i].src, a->rx[i].buf, a->rx[i].len);
        flush(a);
    }
    tx_flush(a);
    publish(a);
}

static void on_udp(rtc_loop *l, int fd, unsigned ev, void *ud) {
    turn_app *a = ud;
    rtc_udp *u = NULL;
    for (int i = 0; i < a->n_listen && !u; i++)
        if (a->udp[i] && rtc_udp_fd(a->udp[i]) == fd) u = a->udp[i];
    if (!u) return;
    rtc_addr local;
    rtc_udp_local_addr(u, &local);
    rtc_turn_server_set_unix_time(a->srv, (int64_t)time(NULL));
    for (int i = 0; i < BATCH; i++) {
        a->rx[i].buf = a->rxbuf[i];
        a->rx[i].cap = sizeof a->rxbuf[i];
    }
    int n = rtc_udp_recv_batch(u, a->rx, BATCH);
    rtc_time now = rtc_net_now();
    for (int i = 0; i < n; i++) {
        if (a->rx[i].truncated) continue;
        rtc_turn_server_handle_client(a->srv, now, RTC_TURN_UDP, &local, &a->rx[i].src,
                                      a->rx[i].buf, a->rx[i].len);
        flush(a);
    }
    tx_flush(a);
    publish(a);
    rearm(a);
}

static void peer_close(peer_conn *pc);

static void conn_close(tcp_conn *c, bool tell_core) {
    turn_app *a = c->app;
    if (c->splice) { /* a data connection ends with its peer connection (RFC 6062 §5.5) */
        peer_conn *pc = c->splice;
        c->splice = NULL;
        pc->client = NULL;
        peer_close(pc);
    }
    if (c->splice_next) { /* bound by the core but never spliced: nobody else owns it */
        peer_conn *pc = c->splice_next;
        c->splice_next = NULL;
        peer_close(pc);
    }
    rtc_loop_unwatch(a->loop, c->fd);
    rtc_loop_timer_stop(a->loop, &c->idle);
    if (c->ssl) {
        if (c->established) SSL_shutdown(c->ssl); /* best effort close_notify, no waiting */
        SSL_free(c->ssl);
    }
    rtc_net_close(c->fd);
    rtc_framer_free(c->framer);
    free(c->out);
    if (c->prev) c->prev->next = c->next;
    else a->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    a->n_conns--;
    rtc_addr local = c->local, peer = c->peer;
    free(c);
    /* RFC 8656 §3.1: closing the TCP connection ends its allocation. */
    if (tell_core) rtc_turn_server_client_closed(a->srv, &local, &peer);
}

static void on_idle(rtc_loop *l, rtc_timer *t, void *ud) { conn_close(ud, true); }

static bool peer_write(peer_conn *pc, const uint8_t *data, size_t len);
static void peer_update_watch(peer_conn *pc);
static void splice_start(tcp_conn *c, const uint8_t *rest, size_t rest_len);

/* Cut frames from `n` received bytes and hand them to the core. false: c was closed. */
static bool conn_input(tcp_conn *c, const uint8_t *buf, size_t n) {
    turn_app *a = c->app;
    rtc_addr local = c->local, peer = c->peer;
    size_t off = 0;
    while (off < n) {
        int r = rtc_framer_push(c->framer, buf + off, n - off);
        if (r < 0) {
            conn_close(c, true);
            return false;
        }
        off += (size_t)r;
        rtc_frame fr;
        while ((r = rtc_framer_next(c->framer, &fr)) == 1) {
            rtc_turn_server_handle_client(a->srv, rtc_net_now(), RTC_TURN_TCP, &local, &peer,
                                          fr.data, fr.len);
            flush(a);
            tx_flush(a);
            if (!find_conn(a, &local, &peer)) return false; /* closed while flushing */
            if (c->splice_next) {
                /* The ConnectionBind answer is out: from here on raw bytes. Whatever
                ** followed the request (in the framer, then the rest of buf) is peer
                ** data; the framer's bytes are the tail of what was pushed from buf. */
                size_t keep = rtc_framer_pending(c->framer);
                if (keep > off) keep = off; /* cannot happen: the frame ended inside buf */
                splice_start(c, buf + off - keep, n - (off - keep));
                return false;
            }
        }
        if (r < 0) {
            conn_close(c, true);
            return false;
        }
    }
    return true;
}

static void on_conn(rtc_loop *l, int fd, unsigned ev, void *ud) {
    tcp_conn *c = ud;
    turn_app *a = c->app;
    if ((ev & RTC_LOOP_WRITE) && c->out_len) {
        int n = conn_send(c, c->out, c->out_len);
        if (n > 0) {
            memmove(c->out, c->out + n, c->out_len - (size_t)n);
            c->out_len -= (size_t)n;
        } else if (n != RTC_ERR_AGAIN) {
            conn_close(c, true);
            return;
        }
        if (c->splice) peer_update_watch(c->splice); /* resume reading the peer */
    }
    /* A TLS connection reads on writability too: that is how a handshake blocked on a
    ** full socket (SSL_ERROR_WANT_WRITE) resumes, and SSL_read drives the handshake. */
    if (!(ev & (RTC_LOOP_READ | RTC_LOOP_ERROR)) && !(c->ssl && c->want_write)) {
        conn_update_watch(c);
        return;
    }
    rtc_turn_server_set_unix_time(a->srv, (int64_t)time(NULL));
    uint8_t buf[8192];
    /* Plain TCP: one read per event (level-triggered epoll calls again). TLS: OpenSSL may
    ** hold decrypted bytes the socket no longer signals, so read until it wants more,
    ** bounded for fairness; what is left past the bound is at most one record. */
    for (int it = 0;; it++) {
        if (it > 0 && (!c->ssl || (it >= TLS_READS_PER_EVENT && SSL_pending(c->ssl) == 0))) break;
        int n = conn_recv(c, buf, sizeof buf);
        if (n == RTC_ERR_AGAIN) break;
        if (n < 0) {
            conn_close(c, true);
            return;
        }
        c->established = true;
        rtc_loop_timer_start(l, &c->idle, rtc_net_now() + TCP_IDLE_US, on_idle, c);
        if (c->splice) {
            if (!peer_write(c->splice, buf, (size_t)n)) return;
            if (c->splice->out_len > SPLICE_HIWAT) break;
            continue;
        }
        if (!conn_input(c, buf, (size_t)n)) return;
    }
    conn_update_watch(c);
    rearm(a);
}

static void on_accept(rtc_loop *l, int fd, unsigned ev, void *ud) {
    turn_app *a = g_app;
    rtc_addr *local = ud;
    for (int i = 0; i < 32; i++) {
        int cfd;
        rtc_addr peer;
        if (rtc_tcp_accept(fd, &cfd, &peer) != RTC_OK) return;
        tcp_conn *c = a->n_conns < MAX_TCP_CONNS ? calloc(1, sizeof *c) : NULL;
        if (!c || rtc_framer_new(&c->framer, RTC_FRAME_STUN, 4096, NULL) != RTC_OK) {
            free(c);
            rtc_net_close(cfd);
            continue;
        }
        c->app = a;
        c->fd = cfd;
        c->peer = peer;
        c->local = *local;
        rtc_timer_init(&c->idle);
        bool tls = local >= a->tls_addr && local < a->tls_addr + MAX_LISTEN;
        if (tls && (!(c->ssl = SSL_new(a->tls_ctx)) || SSL_set_fd(c->ssl, cfd) != 1)) {
            SSL_free(c->ssl);
            rtc_framer_free(c->framer);
            free(c);
            rtc_net_close(cfd);
            continue;
        }
        if (tls) SSL_set_accept_state(c->ssl);
        c->next = a->conns;
        if (a->conns) a->conns->prev = c;
        a->conns = c;
        a->n_conns++;
        rtc_loop_watch(l, cfd, RTC_LOOP_READ, on_conn, c);
        rtc_loop_timer_start(l, &c->idle, rtc_net_now() + (tls ? TLS_HANDSHAKE_US : TCP_IDLE_US),
                             on_idle, c);
    }
}

/* ---- RFC 6062 TCP relaying: listeners, peer connections, splicing ------------------------- */

static void on_peer(rtc_loop *l, int fd, unsigned ev, void *ud);

static void peer_update_watch(peer_conn *pc) {
    unsigned ev = 0;
    if (pc->connecting) ev = RTC_LOOP_WRITE;
    else if (pc->client) {
        if (pc->client->out_len <= SPLICE_HIWAT) ev |= RTC_LOOP_READ;
        if (pc->out_len) ev |= RTC_LOOP_WRITE;
    } /* unbound: paused, the peer's bytes wait in the kernel until ConnectionBind */
    rtc_loop_watch_modify(pc->app->loop, pc->fd, ev);
}

static peer_conn *peer_new(turn_app *a, tcp_relay *r, int fd, uint32_t id, bool connecting) {
    peer_conn *pc = a->n_peers < MAX_PEER_CONNS ? calloc(1, sizeof *pc) : NULL;
    if (!pc) return NULL;
    pc->app = a;
    pc->relay = r;
    pc->fd = fd;
    pc->id = id;
    pc->connecting = connecting;
    if (rtc_loop_watch(a->loop, fd, connecting ? RTC_LOOP_WRITE : 0, on_peer, pc) != RTC_OK) {
        free(pc);
        return NULL;
    }
    pc->next = a->peers;
    if (a->peers) a->peers->prev = pc;
    a->peers = pc;
    a->n_peers++;
    return pc;
}

static void peer_close(peer_conn *pc) {
    turn_app *a = pc->app;
    if (pc->client) {
        tcp_conn *c = pc->client;
        pc->client = NULL;
        c->splice = NULL;
        conn_close(c, false);
    }
    rtc_loop_unwatch(a->loop, pc->fd);
    rtc_net_close(pc->fd);
    free(pc->out);
    if (pc->prev) pc->prev->next = pc->next;
    else a->peers = pc->next;
    if (pc->next) pc->next->prev = pc->prev;
    a->n_peers--;
    free(pc);
}

static peer_conn *peer_find(turn_app *a, uint32_t id) {
    for (peer_conn *pc = a->peers; pc; pc = pc->next)
        if (pc->id == id) return pc;
    return NULL;
}

/* Queue client bytes for the peer; false when pc (and its client) were closed. */
static bool peer_write(peer_conn *pc, const uint8_t *data, size_t len) {
    size_t off = 0;
    while (!pc->out_len && off < len) {
        int n = rtc_tcp_send(pc->fd, data + off, len - off);
        if (n == RTC_ERR_AGAIN) break;
        if (n < 0) {
            peer_close(pc);
            return false;
        }
        off += (size_t)n;
    }
    if (off < len) {
        size_t rest = len - off;
        if (pc->out_len + rest > pc->out_cap) {
            size_t nc = pc->out_cap ? pc->out_cap : 16384;
            while (nc < pc->out_len + rest) nc *= 2;
            uint8_t *p = realloc(pc->out, nc);
            if (!p) {
                peer_close(pc);
                return false;
            }
            pc->out = p;
            pc->out_cap = nc;
        }
        memcpy(pc->out + pc->out_len, data + off, rest);
        pc->out_len += rest;
    }
    peer_update_watch(pc);
    if (pc->client) conn_update_watch(pc->client);
    return true;
}

static void splice_start(tcp_conn *c, const uint8_t *rest, size_t rest_len) {
    peer_conn *pc = c->splice_next;
    c->splice_next = NULL;
    if (pc->client || pc->connecting) { /* cannot happen: the core binds an id once */
        conn_close(c, false);
        return;
    }
    c->splice = pc;
    pc->client = c;
    rtc_framer_free(c->framer);
    c->framer = NULL;
    if (rest_len && !peer_write(pc, rest, rest_len)) return;
    peer_update_watch(pc);
    conn_update_watch(c);
}

static void on_peer(rtc_loop *l, int fd, unsigned ev, void *ud) {
    peer_conn *pc = ud;
    turn_app *a = pc->app;
    if (pc->connecting) {
        int rc = rtc_tcp_connect_finish(fd);
        if (rc == RTC_ERR_AGAIN) return;
        pc->connecting = false;
        uint32_t id = pc->id;
        if (rc != RTC_OK) peer_close(pc);
        else peer_update_watch(pc);
        if (rtc_turn_server_tcp_connected(a->srv, rtc_net_now(), id, rc == RTC_OK) != RTC_OK &&
            rc == RTC_OK)
            peer_close(pc); /* the core gave up on it meanwhile */
        flush(a);
        tx_flush(a);
        rearm(a);
        return;
    }
    if (!pc->client) return;
    if ((ev & RTC_LOOP_WRITE) && pc->out_len) {
        int n = rtc_tcp_send(fd, pc->out, pc->out_len);
        if (n > 0) {
            memmove(pc->out, pc->out + n, pc->out_len - (size_t)n);
            pc->out_len -= (size_t)n;
        } else if (n != RTC_ERR_AGAIN) {
            peer_close(pc);
            return;
        }
        conn_update_watch(pc->client); /* resume reading the client */
    }
    if (ev & (RTC_LOOP_READ | RTC_LOOP_ERROR)) {
        uint8_t buf[16384];
        int n = rtc_tcp_recv(fd, buf, sizeof buf);
        if (n != RTC_ERR_AGAIN) {
            if (n <= 0) {
                peer_close(pc);
                return;
            }
            tcp_conn *c = pc->client;
            uint32_t id = pc->id;
            rtc_loop_timer_start(l, &c->idle, rtc_net_now() + TCP_IDLE_US, on_idle, c);
            conn_write(c, buf, (size_t)n); /* may close c, and with it pc */
            if (peer_find(a, id) != pc) return;
        }
    }
    peer_update_watch(pc);
}

static void on_relay_accept(rtc_loop *l, int fd, unsigned ev, void *ud) {
    tcp_relay *r = ud;
    turn_app *a = r->app;
    for (int i = 0; i < 16; i++) {
        int cfd;
        rtc_addr peer;
        if (rtc_tcp_accept(fd, &cfd, &peer) != RTC_OK) return;
        uint32_t id;
        if (rtc_turn_server_tcp_peer_accepted(a->srv, rtc_net_now(), &r->addr, &peer, &id) != RTC_OK) {
            rtc_net_close(cfd); /* §5.3: no permission => close */
            continue;
        }
        if (!peer_new(a, r, cfd, id, false)) rtc_net_close(cfd); /* the core drops it in 30 s */
        flush(a);
        tx_flush(a);
    }
    rearm(a);
}

static int tcp_listen_op(void *ud, uint8_t family, rtc_addr *relay, void **handle) {
    turn_app *a = ud;
    const rtc_addr *ip = &a->relay_ip[family == RTC_AF_INET6 ? 1 : 0];
    if (!ip->family) return RTC_ERR_UNSUPPORTED;
    tcp_relay *r = calloc(1, sizeof *r);
    if (!r) return RTC_ERR_NOMEM;
    r->app = a;
    r->fd = -1;
    uint32_t span = (uint32_t)(a->max_port - a->min_port) + 1;
    uint32_t tries = (a->sh->n > 1 ? 2 : 1) * span;
    for (uint32_t j = 0; j < tries && r->fd < 0; j++) {
        uint32_t i = j % span;
        rtc_addr b = *ip;
        b.port = (uint16_t)(a->min_port + (a->cursor + i) % span);
        if (port_skip(a, (int)(j / span), b.port)) continue;
        if (rtc_tcp_listen(&r->fd, &b, 16, &r->addr) != RTC_OK) r->fd = -1;
        else a->cursor = (uint16_t)((a->cursor + i + 1) % span);
    }
    if (r->fd < 0) {
        free(r);
        return RTC_ERR_NOMEM;
    }
    int k = family == RTC_AF_INET6 ? 1 : 0;
    if (a->ext_public[k].family &&
        (!a->ext_private[k].family || rtc_addr_equal_ip(&a->ext_private[k], &r->addr))) {
        uint16_t port = r->addr.port;
        r->addr = a->ext_public[k];
        r->addr.port = port;
    }
    rtc_loop_watch(a->loop, r->fd, RTC_LOOP_READ, on_relay_accept, r);
    *relay = r->addr;
    *handle = r;
    return RTC_OK;
}

static void tcp_unlisten_op(void *ud, void *handle) {
    turn_app *a = ud;
    tcp_relay *r = handle;
    for (peer_conn *pc = a->peers, *next; pc; pc = next) {
        next = pc->next;
        /* peer_close may close pc's client, never another peer_conn: `next` stays valid */
        if (pc->relay == r) peer_close(pc);
    }
    rtc_loop_unwatch(a->loop, r->fd);
    rtc_net_close(r->fd);
    free(r);
}

static int tcp_connect_op(void *ud, void *handle, const rtc_addr *peer, uint32_t id) {
    turn_app *a = ud;
    tcp_relay *r = handle;
    rtc_addr src = a->relay_ip[peer->family == RTC_AF_INET6 ? 1 : 0];
    src.port = 0; /* the relay's IP; its port is the listener's */
    int fd;
    int rc = rtc_tcp_connect(&fd, peer, &src);
    if (rc != RTC_OK && rc != RTC_ERR_AGAIN) return rc;
    if (!peer_new(a, r, fd, id, true)) { /* reported from on_peer, never from here */
        rtc_net_close(fd);
        return RTC_ERR_NOMEM;
    }
    return RTC_OK;
}

static void tcp_drop_op(void *ud, uint32_t id) {
    peer_conn *pc = peer_find(ud, id);
    if (pc && !pc->client) peer_close(pc);
}

static void tcp_bind_op(void *ud, uint32_t id, const rtc_addr *listener, const rtc_addr *client) {
    turn_app *a = ud;
    peer_conn *pc = peer_find(a, id);
    tcp_conn *c = find_conn(a, listener, client);
    if (pc && c && !pc->client && !pc->connecting) c->splice_next = pc;
    else if (pc && !pc->client) peer_close(pc);
}

/* ---- metrics (Prometheus text over a minimal HTTP/1.0 responder) ------------------------------ */

static void on_metrics(rtc_loop *l, int fd, unsigned ev, void *ud) {
    turn_app *a = ud;
    int cfd;
    if (rtc_tcp_accept(fd, &cfd, NULL) != RTC_OK) return;
    /* The request is ignored (any path answers); a short blocking-free write. The totals
    ** are thread 0's live counters plus what the other threads last published. */
    turn_shared *sh = a->sh;
    rtc_turn_server_stats st;
    rtc_turn_server_get_stats(a->srv, &st);
    uint64_t per[MAX_THREADS][SNAP_N];
    uint64_t v[SNAP_N] = {st.allocations,   st.allocations_total, st.relayed_packets,
                          st.relayed_bytes, st.auth_failures,     st.denied_peers,
                          st.quota_rejections, st.dropped,        st.stale_nonces};
    memcpy(per[0], v, sizeof v);
    for (int t = 1; t < sh->n; t++)
        for (int i = 0; i < SNAP_N; i++) {
            per[t][i] = atomic_load_explicit(&sh->w[t]->snap[i], memory_order_relaxed);
            v[i] += per[t][i];
        }
    static const char *const names[SNAP_N] = {
        "turn_allocations gauge",          "turn_allocations_total counter",
        "turn_relayed_packets_total counter", "turn_relayed_bytes_total counter",
        "turn_auth_failures_total counter", "turn_denied_peers_total counter",
        "turn_quota_rejections_total counter", "turn_dropped_total counter",
        "turn_stale_nonces_total counter"};
    static char body[16384], resp[16640];
    size_t bl = 0;
#define OUT(...)                                                                        \
    do {                                                                                \
        int k_ = snprintf(body + bl, sizeof body - bl, __VA_ARGS__);                    \
        if (k_ > 0) bl = bl + (size_t)k_ < sizeof body ? bl + (size_t)k_ : sizeof body - 1; \
    } while (0)
    for (int i = 0; i < SNAP_N; i++) {
        const char *sp = strchr(names[i], ' ');
        int nl = (int)(sp - names[i]);
        OUT("# TYPE %s\n%.*s %llu\n", names[i], nl, names[i], (unsigned long long)v[i]);
    }
    OUT("# TYPE turn_tcp_connections gauge\nturn_tcp_connections %d\n"
        "# TYPE turn_tcp_peer_connections gauge\nturn_tcp_peer_connections %d\n"
        "# TYPE turn_relay_threads gauge\nturn_relay_threads %d\n",
        a->n_conns, a->n_peers, sh->n);
    /* Per thread: how evenly the kernel's SO_REUSEPORT hash spreads the clients. */
    OUT("# TYPE turn_thread_allocations_total counter\n");
    for (int t = 0; t < sh->n; t++)
        OUT("turn_thread_allocations_total{thread=\"%d\"} %llu\n", t,
            (unsigned long long)per[t][SNAP_ALLOCS_TOTAL]);
    OUT("# TYPE turn_thread_relayed_packets_total counter\n");
    for (int t = 0; t < sh->n; t++)
        OUT("turn_thread_relayed_packets_total{thread=\"%d\"} %llu\n", t,
            (unsigned long long)per[t][SNAP_PKTS]);
#undef OUT
    int rl = snprintf(resp, sizeof resp,
                      "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                      bl, body);
    if (rl > 0)
        rtc_tcp_send(cfd, (const uint8_t *)resp,
                     (size_t)rl < sizeof resp ? (size_t)rl : sizeof resp - 1);
    rtc_net_close(cfd);
}

/* ---- options -------------------------------------------------------------------------------- */

typedef struct opts {
    rtc_turn_server_config cfg;
    rtc_turn_ip_range allowed[MAX_RANGES], denied[MAX_RANGES];
    char realm[256], software[128];
    uint16_t listening_port;
    rtc_addr listening_ip[MAX_LISTEN];
    int n_listening_ip;
    rtc_addr metrics;
    bool have_metrics;
} opts;

static int parse_range(const char *v, rtc_turn_ip_range *r) {
    char a[80], b[80];
    const char *dash = strchr(v, '-');
    if (dash && (size_t)(dash - v) < sizeof a) {
        memcpy(a, v, (size_t)(dash - v));
        a[dash - v] = 0;
        snprintf(b, sizeof b, "%s", dash + 1);
    } else {
        snprintf(a, sizeof a, "%s", v);
        snprintf(b, sizeof b, "%s", v);
    }
    if (rtc_addr_parse_ip(&r->first, a, 0) || rtc_addr_parse_ip(&r->last, b, 0) ||
        r->first.family != r->last.family)
        return -1;
    return 0;
}

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* One option, from the command line or the config file (name without dashes). */
static int apply(turn_app *a, opts *o, const char *name, const char *v) {
#define NEEDV()                                                                    \
    do {                                                                           \
        if (!v || !*v) {                                                           \
            fprintf(stderr, "cwebrtc turn-server: --%s needs a value\n", name);    \
            return -1;                                                             \
        }                                                                          \
    } while (0)
    if (a->reloading && strcmp(name, "user") && strcmp(name, "u") &&
        strcmp(name, "static-auth-secret") && strcmp(name, "user-file"))
        return 0; /* SIGHUP re-reads credentials only; everything else needs a restart */
    if (!strcmp(name, "listen")) {
        NEEDV();
        if (a->n_listen == MAX_LISTEN || rtc_addr_parse(&a->listen[a->n_listen], v, 3478)) return -1;
        a->n_listen++;
    } else if (!strcmp(name, "listening-ip") || !strcmp(name, "L")) {
        NEEDV();
        if (o->n_listening_ip == MAX_LISTEN || rtc_addr_parse_ip(&o->listening_ip[o->n_listening_ip], v, 0))
            return -1;
        o->n_listening_ip++;
    } else if (!strcmp(name, "listening-port") || !strcmp(name, "p")) {
        NEEDV();
        o->listening_port = (uint16_t)atoi(v);
    } else if (!strcmp(name, "relay-ip") || !strcmp(name, "E")) {
        NEEDV();
        rtc_addr ip;
        if (rtc_addr_parse_ip(&ip, v, 0)) return -1;
        a->relay_ip[ip.family == RTC_AF_INET6 ? 1 : 0] = ip;
    } else if (!strcmp(name, "external-ip") || !strcmp(name, "X")) {
        NEEDV();
        char pub[80];
        const char *slash = strchr(v, '/');
        size_t pl = slash ? (size_t)(slash - v) : strlen(v);
        if (pl >= sizeof pub) return -1;
        memcpy(pub, v, pl);
        pub[pl] = 0;
        rtc_addr pa, pr = {0};
        if (rtc_addr_parse_ip(&pa, pub, 0) || (slash && rtc_addr_parse_ip(&pr, slash + 1, 0))) return -1;
        int k = (slash ? pr.family : pa.family) == RTC_AF_INET6 ? 1 : 0;
        a->ext_public[k] = pa;
        a->ext_private[k] = pr;
    } else if (!strcmp(name, "stale-nonce")) {
        NEEDV();
        o->cfg.nonce_lifetime = RTC_SEC(atol(v) > 0 ? atol(v) : 600);
    } else if (!strcmp(name, "min-port")) {
        NEEDV();
        a->min_port = (uint16_t)atoi(v);
    } else if (!strcmp(name, "max-port")) {
        NEEDV();
        a->max_port = (uint16_t)atoi(v);
    } else if (!strcmp(name, "realm") || !strcmp(name, "r")) {
        NEEDV();
        snprintf(o->realm, sizeof o->realm, "%s", v);
    } else if (!strcmp(name, "user") || !strcmp(name, "u")) {
        NEEDV();
        if (a->n_users == MAX_USERS_ARGS || !strchr(v, ':')) return -1;
        a->user_from_cfg[a->n_users] = a->in_config;
        if (!(a->users[a->n_users] = xstrdup(v))) return -1;
        a->n_users++;
    } else if (!strcmp(name, "user-file")) {
        NEEDV();
        free((void *)a->user_file);
        a->user_file = xstrdup(v);
    } else if (!strcmp(name, "use-auth-secret")) {
        a->use_auth_secret = true;
    } else if (!strcmp(name, "static-auth-secret")) {
        NEEDV();
        if (a->n_secrets == 8) return -1;
        a->secret_from_cfg[a->n_secrets] = a->in_config;
        if (!(a->secrets[a->n_secrets] = xstrdup(v))) return -1;
        a->n_secrets++;
    } else if (!strcmp(name, "listen-tls")) {
        NEEDV();
        if (a->n_tls_listen == MAX_LISTEN || rtc_addr_parse(&a->tls_listen[a->n_tls_listen], v, 5349))
            return -1;
        a->n_tls_listen++;
    } else if (!strcmp(name, "tls-listening-port")) {
        NEEDV();
        a->tls_port = (uint16_t)atoi(v);
    } else if (!strcmp(name, "cert") || !strcmp(name, "pkey") || !strcmp(name, "cipher-list")) {
        NEEDV();
        char **dst = name[0] == 'c' ? (name[1] == 'e' ? &a->cert : &a->cipher_list) : &a->pkey;
        free(*dst);
        if (!(*dst = xstrdup(v))) return -1;
    } else if (!strcmp(name, "no-tls")) {
        a->no_tls = true;
    } else if (!strcmp(name, "no-tlsv1_2")) {
        a->tls13_only = true;
    } else if (!strcmp(name, "no-tlsv1") || !strcmp(name, "no-tlsv1_1") || !strcmp(name, "no-sslv3")) {
        /* never offered: the minimum is TLS 1.2 */
    } else if (!strcmp(name, "lt-cred-mech") || !strcmp(name, "a") || !strcmp(name, "fingerprint") ||
               !strcmp(name, "no-dtls") || !strcmp(name, "no-cli") ||
               !strcmp(name, "simple-log") || !strcmp(name, "n")) {
        /* coTURN flags that describe what we always do (or do not have): accepted. */
    } else if (!strcmp(name, "no-tcp-relay")) {
        a->no_tcp_relay = true;
    } else if (!strcmp(name, "no-tcp")) {
        a->no_tcp = true;
    } else if (!strcmp(name, "no-udp")) {
        a->no_udp = true;
    } else if (!strcmp(name, "no-gso")) {
        a->no_gso = true;
    } else if (!strcmp(name, "allow-loopback-peers")) {
        o->cfg.allow_loopback_peers = true;
    } else if (!strcmp(name, "allow-private-peers")) {
        o->cfg.allow_private_peers = true;
    } else if (!strcmp(name, "allowed-peer-ip") || !strcmp(name, "denied-peer-ip")) {
        NEEDV();
        bool allow = name[0] == 'a';
        size_t *n = allow ? &o->cfg.n_allowed_peers : &o->cfg.n_denied_peers;
        if (*n == MAX_RANGES || parse_range(v, allow ? &o->allowed[*n] : &o->denied[*n])) return -1;
        (*n)++;
    } else if (!strcmp(name, "software") || !strcmp(name, "server-name")) {
        NEEDV();
        snprintf(o->software, sizeof o->software, "%s", v);
    } else if (!strcmp(name, "total-quota")) {
        NEEDV();
        o->cfg.max_allocations = (size_t)atol(v);
    } else if (!strcmp(name, "user-quota")) {
        NEEDV();
        o->cfg.user_quota = (size_t)atol(v);
    } else if (!strcmp(name, "max-bps")) {
        NEEDV();
        o->cfg.bps_capacity = (uint64_t)atoll(v);
    } else if (!strcmp(name, "max-allocate-lifetime")) {
        NEEDV();
        o->cfg.max_lifetime = (uint32_t)atol(v);
    } else if (!strcmp(name, "metrics")) {
        NEEDV();
        if (rtc_addr_parse(&o->metrics, v, 9641)) return -1;
        o->have_metrics = true;
    } else if (!strcmp(name, "threads") || !strcmp(name, "relay-threads")) {
        NEEDV();
        /* coTURN's relay-threads=0 means one thread as well */
        char *end;
        long t = strtol(v, &end, 10);
        if (*end || t < (name[0] == 'r' ? 0 : 1) || t > MAX_THREADS) {
            fprintf(stderr, "cwebrtc turn-server: --%s wants 1..%d\n", name, MAX_THREADS);
            return -1;
        }
        a->threads = t ? (int)t : 1;
    } else if (!strcmp(name, "verbose") || !strcmp(name, "v")) {
        a->verbose++;
    } else if (!strcmp(name, "log-file") || !strcmp(name, "pidfile")) {
        /* accepted for coTURN compatibility; we log to stderr */
    } else {
        fprintf(stderr, "cwebrtc turn-server: unknown option '%s'\n", name);
        return -1;
    }
    return 0;
#undef NEEDV
}

static bool takes_value(const char *name) {
    static const char *no_value[] = {"use-auth-secret", "lt-cred-mech", "a", "fingerprint",
                                     "no-tls", "no-dtls", "no-cli", "simple-log", "n", "no-tcp",
                                     "no-tlsv1", "no-tlsv1_1", "no-tlsv1_2", "no-sslv3",
                                     "no-tcp-relay", "no-gso",
                                     "no-udp", "allow-loopback-peers", "allow-private-peers",
                                     "verbose", "v"};
    for (size_t i = 0; i < sizeof no_value / sizeof *no_value; i++)
        if (!strcmp(name, no_value[i])) return false;
    return true;
}

static int load_config(turn_app *a, opts *o, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cwebrtc turn-server: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[1024];
    int lineno = 0, rc = 0;
    a->in_config = true;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        p[strcspn(p, "\r\n")] = 0;
        if (!*p || *p == '#') continue;
        char *eq = strchr(p, '=');
        char *v = NULL;
        if (eq) {
            *eq = 0;
            v = eq + 1;
        }
        for (char *e = p + strlen(p); e > p && (e[-1] == ' ' || e[-1] == '\t');) *--e = 0;
        if (apply(a, o, p, v) != 0) {
            fprintf(stderr, "cwebrtc turn-server: %s:%d: bad line\n", path, lineno);
            rc = -1;
        }
    }
    fclose(f);
    a->in_config = false;
    return rc;
}

/*
** The credentials as configured (flags, -c, --user-file path), copied so that every
** relay thread loads them into its core from the same snapshot while thread 0 is free
** to re-read the config for the next SIGHUP. The last thread to drop it reports.
*/
typedef struct creds {
    atomic_int refs, errors;
    int n_users, n_secrets;
    char *users[MAX_USERS_ARGS];
    char *secrets[8];
    char *user_file;
    bool use_auth_secret, report;
} creds;

static void creds_unref(creds *c) {
    if (atomic_fetch_sub(&c->refs, 1) != 1) return;
    if (c->report)
        fprintf(stderr, "cwebrtc turn-server: reloaded credentials (%d users, %d secrets)%s\n",
                c->n_users, c->n_secrets, atomic_load(&c->errors) ? ", with errors" : "");
    for (int i = 0; i < c->n_users; i++) free(c->users[i]);
    for (int i = 0; i < c->n_secrets; i++) free(c->secrets[i]);
    free(c->user_file);
    free(c);
}

static creds *creds_snapshot(const turn_app *a, int refs) {
    creds *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    atomic_init(&c->refs, refs);
    atomic_init(&c->errors, 0);
    bool ok = true;
    for (int i = 0; i < a->n_users; i++)
        ok &= (c->users[c->n_users++] = xstrdup(a->users[i])) != NULL;
    for (int i = 0; i < a->n_secrets; i++)
        ok &= (c->secrets[c->n_secrets++] = xstrdup(a->secrets[i])) != NULL;
    if (a->user_file) ok &= (c->user_file = xstrdup(a->user_file)) != NULL;
    c->use_auth_secret = a->use_auth_secret;
    if (!ok) {
        atomic_store(&c->refs, 1);
        creds_unref(c);
        return NULL;
    }
    return c;
}

/* (Re)load users and secrets into one thread's core: flags, then --user-file. */
static int load_credentials(turn_app *a, creds *cr) {
    rtc_turn_server_clear_credentials(a->srv);
    int bad = 0;
    for (int i = 0; i < cr->n_users; i++) {
        const char *colon = strchr(cr->users[i], ':');
        char name[600];
        size_t nl = (size_t)(colon - cr->users[i]);
        if (nl >= sizeof name) {
            bad++;
            continue;
        }
        memcpy(name, cr->users[i], nl);
        name[nl] = 0;
        const char *pw = colon + 1;
        int rc;
        if (!strncmp(pw, "0x", 2) && strlen(pw) == 34) { /* coTURN's precomputed key form */
            uint8_t key[16];
            rc = RTC_ERR_PARSE;
            bool ok = true;
            for (int k = 0; k < 16 && ok; k++) {
                unsigned v;
                ok = sscanf(pw + 2 + 2 * k, "%2x", &v) == 1;
                key[k] = (uint8_t)v;
            }
            if (ok) rc = rtc_turn_server_add_user_key(a->srv, name, key);
        } else {
            rc = rtc_turn_server_add_user(a->srv, name, pw);
        }
        if (rc) bad++;
    }
    if (cr->user_file) {
        FILE *f = fopen(cr->user_file, "r");
        if (!f) {
            fprintf(stderr, "cwebrtc turn-server: cannot open %s\n", cr->user_file);
            bad++;
        }
        char line[1024];
        while (f && fgets(line, sizeof line, f)) {
            line[strcspn(line, "\r\n")] = 0;
            char *colon = strchr(line, ':');
            if (line[0] == '#' || !colon) continue;
            *colon = 0;
            if (rtc_turn_server_add_user(a->srv, line, colon + 1)) bad++;
        }
        if (f) fclose(f);
    }
    if (cr->use_auth_secret)
        for (int i = 0; i < cr->n_secrets; i++)
            if (rtc_turn_server_add_secret(a->srv, cr->secrets[i])) bad++;
    if (bad) atomic_fetch_add(&cr->errors, 1);
    return bad ? -1 : 0;
}

typedef struct reload_task {
    turn_app *w;
    creds *c;
} reload_task;

static void reload_on_thread(rtc_loop *l, void *ud) {
    reload_task *t = ud;
    if (l) load_credentials(t->w, t->c); /* l == NULL: the loop went away first */
    creds_unref(t->c);
    free(t);
}

/*
** SIGHUP: forget the users and secrets that came from the -c file, read the file again
** (credential keys only), then rebuild every thread's credentials from flags, the file
** and --user-file (posted to the other threads' loops; the "reloaded" line is printed
** once all of them have it). Live allocations keep their keys (RFC 8656 has no way to
** revoke them but Refresh, which then fails with 401 for a removed user).
*/
static void reload(turn_app *a, opts *o) {
    int k = 0;
    for (int i = 0; i < a->n_users; i++) {
        if (a->user_from_cfg[i]) {
            free(a->users[i]);
            continue;
        }
        a->user_from_cfg[k] = false;
        a->users[k++] = a->users[i];
    }
    a->n_users = k;
    k = 0;
    for (int i = 0; i < a->n_secrets; i++) {
        if (a->secret_from_cfg[i]) {
            free(a->secrets[i]);
            continue;
        }
        a->secret_from_cfg[k] = false;
        a->secrets[k++] = a->secrets[i];
    }
    a->n_secrets = k;
    if (a->config_file) {
        a->reloading = true;
        (void)load_config(a, o, a->config_file);
        a->reloading = false;
    }
    turn_shared *sh = a->sh;
    creds *c = creds_snapshot(a, sh->n);
    if (!c) {
        fprintf(stderr, "cwebrtc turn-server: reload failed: out of memory\n");
        return;
    }
    c->report = true;
    load_credentials(a, c);
    for (int t = 1; t < sh->n; t++) {
        reload_task *task = malloc(sizeof *task);
        if (task) *task = (reload_task){sh->w[t], c};
        if (!task || rtc_loop_post(sh->w[t]->loop, reload_on_thread, task) != RTC_OK) {
            free(task);
            atomic_fetch_add(&c->errors, 1);
            creds_unref(c);
        }
    }
    creds_unref(c);
}

static void on_sig_pipe(rtc_loop *l, int fd, unsigned ev, void *ud) {
    turn_app *a = g_app;
    uint8_t b[64];
    bool hup = false;
    ssize_t n;
    while ((n = read(fd, b, sizeof b)) > 0)
        for (ssize_t i = 0; i < n; i++) hup |= b[i] == 'H';
    if (hup) reload(a, ud);
}

/* Async-signal-safe: an atomic store plus eventfd write (stop) or a pipe write (HUP). */
static void on_signal(int sig) {
    if (!g_app) return;
    if (sig == SIGHUP) {
        int e = errno;
        char c = 'H';
        ssize_t w = write(g_app->sig_pipe[1], &c, 1); /* full pipe: a reload is pending */
        (void)w;
        errno = e;
    } else {
        turn_shared *sh = g_app->sh;
        for (int i = 0; i < sh->n; i++) rtc_loop_stop(sh->w[i]->loop);
    }
}

/* One SSL_CTX for every TLS listener: TLS 1.2+, the certificate chain and key from PEM
** files, buffers released while a connection is idle (memory per idle client). */
static int tls_setup(turn_app *a) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) goto fail;
    a->tls_ctx = ctx;
    SSL_CTX_set_min_proto_version(ctx, a->tls13_only ? TLS1_3_VERSION : TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (a->cipher_list && SSL_CTX_set_cipher_list(ctx, a->cipher_list) != 1) goto fail;
    if (SSL_CTX_use_certificate_chain_file(ctx, a->cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, a->pkey, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1)
        goto fail;
    return 0;
fail:;
    unsigned long e = ERR_peek_last_error();
    fprintf(stderr, "cwebrtc turn-server: TLS setup (--cert %s --pkey %s) failed: %s\n",
            a->cert ? a->cert : "?", a->pkey ? a->pkey : "?",
            e ? ERR_reason_error_string(e) : "out of memory");
    return -1;
}

static int usage(void) {
    fprintf(stderr,
            "usage: cwebrtc turn-server [--listen ADDR:PORT]... [--listening-ip IP --listening-port P]\n"
            "         --realm REALM [--relay-ip IP] [--min-port N --max-port N]\n"
            "         [--user NAME:PASSWORD]... [--user-file FILE]\n"
            "         [--use-auth-secret --static-auth-secret SECRET...]\n"
            "         [--allow-private-peers] [--allowed-peer-ip A[-B]] [--denied-peer-ip A[-B]]\n"
            "         [--total-quota N] [--user-quota N] [--max-bps N] [--software TEXT]\n"
            "         [--metrics ADDR:PORT] [--no-tcp] [--no-udp] [-c CONFIG] [--verbose]\n"
            "         [--cert FILE --pkey FILE [--listen-tls ADDR:PORT]... [--tls-listening-port N]\n"
            "          [--cipher-list LIST] [--no-tlsv1_2] [--no-tls]]\n"
            "         [--external-ip PUBLIC[/PRIVATE]] [--stale-nonce SECONDS] [--no-tcp-relay]\n"
            "         [--threads N (relay threads; default: one per online CPU, at most 64)] [--no-gso]\n");
    return EXIT_USAGE;
}

/* ---- relay threads ---------------------------------------------------------------------- */

static uint32_t name_hash(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* The cores' shared quota hooks (rtc_turn_quota_ops): one count per username and one in
** total for all threads, under the shared mutex (only when allocations start and end). */
static bool quota_acquire(void *ud, const char *user, size_t len) {
    turn_shared *sh = ud;
    quota_user **b = &sh->users[name_hash(user, len) % QUOTA_BUCKETS];
    bool ok = false;
    pthread_mutex_lock(&sh->mu);
    quota_user *u = *b;
    while (u && (u->len != len || memcmp(u->name, user, len) != 0)) u = u->next;
    if (sh->total < sh->max_total && (!u || u->n < sh->max_user)) {
        if (!u && (u = malloc(sizeof *u + len + 1)) != NULL) {
            u->n = 0;
            u->len = len;
            memcpy(u->name, user, len);
            u->name[len] = 0;
            u->next = *b;
            *b = u;
        }
        if (u) {
            u->n++;
            sh->total++;
            ok = true;
        }
    }
    pthread_mutex_unlock(&sh->mu);
    return ok;
}

static void quota_release(void *ud, const char *user, size_t len) {
    turn_shared *sh = ud;
    quota_user **pp = &sh->users[name_hash(user, len) % QUOTA_BUCKETS];
    pthread_mutex_lock(&sh->mu);
    while (*pp && ((*pp)->len != len || memcmp((*pp)->name, user, len) != 0)) pp = &(*pp)->next;
    if (*pp) {
        quota_user *u = *pp;
        if (sh->total) sh->total--;
        if (--u->n == 0) {
            *pp = u->next;
            free(u);
        }
    }
    pthread_mutex_unlock(&sh->mu);
}

static atomic_bool thread_failed;

static void *relay_thread(void *ud) {
    turn_app *w = ud;
    if (rtc_loop_run(w->loop) != RTC_OK) {
        fprintf(stderr, "cwebrtc turn-server: relay thread %d: event loop failed\n", w->idx);
        atomic_store(&thread_failed, true);
        rtc_loop_stop(w->sh->w[0]->loop);
    }
    return NULL;
}

/* Free what a relay thread (not thread 0) owns, after it has stopped. NULL is a no-op. */
static void worker_free(turn_app *w) {
    if (!w) return;
    rtc_turn_server_free(w->srv); /* closes its relay sockets */
    for (int i = 0; i < w->n_listen; i++)
        if (w->udp[i]) {
            rtc_loop_unwatch(w->loop, rtc_udp_fd(w->udp[i]));
            rtc_udp_free(w->udp[i]);
        }
    if (w->loop) rtc_loop_timer_stop(w->loop, &w->timer);
    rtc_loop_free(w->loop); /* runs a pending reload with l == NULL: its snapshot is released */
    free(w);
}

int cmd_turn_server(int argc, char **argv) {
    static turn_app app;
    static opts o;
    memset(&app, 0, sizeof app);
    memset(&o, 0, sizeof o);
    turn_app *a = &app;
    a->metrics_fd = -1;
    a->sig_pipe[0] = a->sig_pipe[1] = -1;
    for (int i = 0; i < MAX_LISTEN; i++) a->tcp_fd[i] = a->tls_fd[i] = -1;
    a->min_port = 49152;
    a->max_port = 65535;
    atomic_store(&thread_failed, false);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "-c")) {
            if (i + 1 >= argc || load_config(a, &o, argv[++i])) return usage();
            a->config_file = argv[i];
            continue;
        }
        if (arg[0] != '-') return usage();
        const char *name = arg + (arg[1] == '-' ? 2 : 1);
        char nbuf[64];
        const char *v = NULL;
        const char *eq = strchr(name, '=');
        if (eq && (size_t)(eq - name) < sizeof nbuf) {
            memcpy(nbuf, name, (size_t)(eq - name));
            nbuf[eq - name] = 0;
            v = eq + 1;
            name = nbuf;
        } else if (takes_value(name) && i + 1 < argc) {
            v = argv[++i];
        }
        if (apply(a, &o, name, v) != 0) return usage();
    }
    /* coTURN style --listening-ip/--listening-port become --listen entries. */
    for (int i = 0; i < o.n_listening_ip && a->n_listen < MAX_LISTEN; i++) {
        a->listen[a->n_listen] = o.listening_ip[i];
        a->listen[a->n_listen++].port = o.listening_port ? o.listening_port : 3478;
    }
    if (!a->n_listen || !o.realm[0] || a->min_port > a->max_port || a->min_port == 0) return usage();
    /* TLS: explicit --listen-tls, or (coTURN style) --tls-listening-port (5349 when only
    ** --cert is given) beside every listening IP. --no-tls turns the implicit ones off. */
    if (a->cert && !a->no_tls && (a->tls_port || !a->n_tls_listen)) {
        for (int i = 0; i < a->n_listen && a->n_tls_listen < MAX_LISTEN; i++) {
            a->tls_listen[a->n_tls_listen] = a->listen[i];
            a->tls_listen[a->n_tls_listen++].port = a->tls_port ? a->tls_port : 5349;
        }
    }
    if (a->n_tls_listen && (!a->cert || !a->pkey)) {
        fprintf(stderr, "cwebrtc turn-server: TLS listeners need --cert and --pkey\n");
        return EXIT_USAGE;
    }
    for (int k = 0; k < 2; k++) /* --external-ip P/PRIVATE: relay on PRIVATE by default */
        if (!a->relay_ip[k].family && a->ext_private[k].family) a->relay_ip[k] = a->ext_private[k];
    if (!a->relay_ip[0].family && !a->relay_ip[1].family) {
        /* Default relay IP: the first listening address of each family. */
        for (int i = 0; i < a->n_listen; i++) {
            int k = a->listen[i].family == RTC_AF_INET6 ? 1 : 0;
            if (!a->relay_ip[k].family && !rtc_addr_is_any(&a->listen[i])) {
                a->relay_ip[k] = a->listen[i];
                a->relay_ip[k].port = 0;
            }
        }
        if (!a->relay_ip[0].family && !a->relay_ip[1].family) {
            fprintf(stderr, "cwebrtc turn-server: --relay-ip is needed with wildcard listeners\n");
            return EXIT_USAGE;
        }
    }
    /* Relay threads: --threads / relay-threads, default one per online CPU. */
    static turn_shared sh;
    memset(&sh, 0, sizeof sh);
    if (!a->threads) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        a->threads = cpus < 1 ? 1 : cpus > MAX_THREADS ? MAX_THREADS : (int)cpus;
    }
    if (a->no_udp) a->threads = 1; /* the relay threads serve UDP listeners only */
    sh.n = a->threads;
    sh.max_total = o.cfg.max_allocations ? o.cfg.max_allocations : 100000;
    sh.max_user = o.cfg.user_quota ? o.cfg.user_quota : 1000;
    pthread_mutex_init(&sh.mu, NULL);
    a->sh = &sh;
    a->resv_next = RTC_TIME_NEVER;
    sh.w[0] = a;
    g_app = a;
    rtc_env env = {0};
    if (a->verbose) {
        env.log = rtc_log_stderr;
        env.log_level = a->verbose > 1 ? RTC_LOG_DEBUG : RTC_LOG_INFO;
    }
    o.cfg.realm = o.realm;
    o.cfg.software = o.software[0] ? o.software : NULL;
    o.cfg.allowed_peers = o.allowed;
    o.cfg.denied_peers = o.denied;
    bool tcp_relay = !a->no_tcp_relay && (!a->no_tcp || a->n_tls_listen);
    int rc = EXIT_FAIL;
    uint8_t nonce_key[32];
    creds *cr = NULL;
    /* The other threads: copies of the configuration without thread 0's parts. */
    for (int t = 1; t < sh.n; t++) {
        turn_app *w = malloc(sizeof *w);
        if (!w) {
            sh.n = t;
            fprintf(stderr, "cwebrtc turn-server: out of memory\n");
            goto out;
        }
        memcpy(w, a, sizeof *w);
        w->idx = t;
        w->n_users = w->n_secrets = 0;
        w->user_file = NULL;
        w->cert = w->pkey = w->cipher_list = NULL;
        w->no_tcp = true;
        w->n_tls_listen = 0;
        w->conns = NULL;
        w->peers = NULL;
        memset(w->udp, 0, sizeof w->udp);
        sh.w[t] = w;
    }
    if (RAND_bytes(nonce_key, sizeof nonce_key) != 1) {
        fprintf(stderr, "cwebrtc turn-server: no randomness for the nonce key\n");
        goto out;
    }
    for (int t = 0; t < sh.n; t++) {
        turn_app *w = sh.w[t];
        rtc_turn_server_config cfg = o.cfg;
        cfg.relay = (rtc_turn_relay_ops){relay_open, relay_close, w};
        if (tcp_relay)
            cfg.tcp = (rtc_turn_tcp_ops){tcp_listen_op, tcp_unlisten_op, tcp_connect_op, tcp_drop_op,
                                         tcp_bind_op, w}; /* only thread 0 has TCP clients */
        if (sh.n > 1) cfg.quota = (rtc_turn_quota_ops){quota_acquire, quota_release, &sh};
        rtc_timer_init(&w->timer);
        if (rtc_loop_new(&w->loop, NULL) != RTC_OK ||
            rtc_turn_server_new(&w->srv, &cfg, &env) != RTC_OK) {
            fprintf(stderr, "cwebrtc turn-server: cannot start (bad configuration?)\n");
            goto out;
        }
        /* One nonce key: a nonce from any thread is good on all. */
        rtc_turn_server_set_nonce_key(w->srv, nonce_key);
    }
    OPENSSL_cleanse(nonce_key, sizeof nonce_key);
    cr = creds_snapshot(a, 1);
    bool creds_ok = cr != NULL;
    for (int t = 0; t < sh.n && creds_ok; t++) creds_ok = load_credentials(sh.w[t], cr) == 0;
    if (cr) creds_unref(cr);
    if (!creds_ok) {
        fprintf(stderr, "cwebrtc turn-server: bad users or secrets\n");
        goto out;
    }
    for (int i = 0; i < a->n_listen; i++) {
        char s[RTC_ADDR_STRLEN];
        rtc_addr bound = a->listen[i];
        if (!a->no_udp) {
            /* One socket per thread on the same address (SO_REUSEPORT): the kernel hashes
            ** each client's 4-tuple to one of them, so a client stays on one thread. */
            for (int t = 0; t < sh.n; t++) {
                turn_app *w = sh.w[t];
                rtc_udp_config cfg = {.bind = bound, .rcvbuf = 4 << 20, .sndbuf = 4 << 20,
                                      .reuse_port = sh.n > 1};
                if (rtc_udp_new(&w->udp[i], &cfg, NULL) != RTC_OK) {
                    rtc_addr_fmt(&bound, s, sizeof s);
                    fprintf(stderr, "cwebrtc turn-server: cannot bind udp %s: %s\n", s, strerror(errno));
                    goto out;
                }
                rtc_udp_local_addr(w->udp[i], &bound); /* port 0: the others take the same port */
                rtc_loop_watch(w->loop, rtc_udp_fd(w->udp[i]), RTC_LOOP_READ, on_udp, w);
            }
            rtc_addr_fmt(&bound, s, sizeof s);
            printf("listening udp %s\n", s);
        }
        if (!a->no_tcp) {
            if (rtc_tcp_listen(&a->tcp_fd[i], &bound, 0, &a->tcp_addr[i]) != RTC_OK) {
                rtc_addr_fmt(&bound, s, sizeof s);
                fprintf(stderr, "cwebrtc turn-server: cannot listen tcp %s: %s\n", s, strerror(errno));
                goto out;
            }
            rtc_loop_watch(a->loop, a->tcp_fd[i], RTC_LOOP_READ, on_accept, &a->tcp_addr[i]);
            rtc_addr_fmt(&a->tcp_addr[i], s, sizeof s);
            printf("listening tcp %s\n", s);
        }
    }
    if (a->n_tls_listen && tls_setup(a) != 0) goto out;
    for (int i = 0; i < a->n_tls_listen; i++) {
        char s[RTC_ADDR_STRLEN];
        if (rtc_tcp_listen(&a->tls_fd[i], &a->tls_listen[i], 0, &a->tls_addr[i]) != RTC_OK) {
            rtc_addr_fmt(&a->tls_listen[i], s, sizeof s);
            fprintf(stderr, "cwebrtc turn-server: cannot listen tls %s: %s\n", s, strerror(errno));
            goto out;
        }
        rtc_loop_watch(a->loop, a->tls_fd[i], RTC_LOOP_READ, on_accept, &a->tls_addr[i]);
        rtc_addr_fmt(&a->tls_addr[i], s, sizeof s);
        printf("listening tls %s\n", s);
    }
    printf("relay threads %d\n", sh.n);
    if (o.have_metrics) {
        rtc_addr mb;
        if (rtc_tcp_listen(&a->metrics_fd, &o.metrics, 0, &mb) != RTC_OK) {
            fprintf(stderr, "cwebrtc turn-server: cannot listen for metrics\n");
            goto out;
        }
        rtc_loop_watch(a->loop, a->metrics_fd, RTC_LOOP_READ, on_metrics, a);
        char s[RTC_ADDR_STRLEN];
        rtc_addr_fmt(&mb, s, sizeof s);
        printf("metrics http://%s/metrics\n", s);
    }
    fflush(stdout);
    if (pipe2(a->sig_pipe, O_NONBLOCK | O_CLOEXEC) != 0 ||
        rtc_loop_watch(a->loop, a->sig_pipe[0], RTC_LOOP_READ, on_sig_pipe, &o) != RTC_OK) {
        fprintf(stderr, "cwebrtc turn-server: cannot create the signal pipe\n");
        goto out;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    for (int t = 0; t < sh.n; t++) rearm(sh.w[t]);
    /* The relay threads block the signals, so the handlers run on the main thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    bool started_all = true;
    for (int t = 1; t < sh.n; t++) {
        sh.w[t]->started = pthread_create(&sh.w[t]->thread, NULL, relay_thread, sh.w[t]) == 0;
        if (!sh.w[t]->started) started_all = false;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!started_all) fprintf(stderr, "cwebrtc turn-server: cannot start the relay threads\n");
    else if (rtc_loop_run(a->loop) == RTC_OK && !atomic_load(&thread_failed)) rc = EXIT_OK;
    signal(SIGHUP, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
out:
    for (int t = 1; t < sh.n; t++)
        if (sh.w[t] && sh.w[t]->started) {
            rtc_loop_stop(sh.w[t]->loop);
            pthread_join(sh.w[t]->thread, NULL);
        }
    for (int t = sh.n - 1; t >= 1; t--) worker_free(sh.w[t]);
    while (a->conns) conn_close(a->conns, false);
    rtc_turn_server_free(a->srv); /* closes every relay socket */
    while (sh.reserved) {
        relay_sock *r = sh.reserved;
        sh.reserved = r->next;
        rtc_udp_free(r->u);
        free(r);
    }
    for (int i = 0; i < QUOTA_BUCKETS; i++) /* empty once every core is freed; be safe */
        while (sh.users[i]) {
            quota_user *u = sh.users[i];
            sh.users[i] = u->next;
            free(u);
        }
    for (int i = 0; i < a->n_listen; i++) {
        if (a->udp[i]) {
            rtc_loop_unwatch(a->loop, rtc_udp_fd(a->udp[i]));
            rtc_udp_free(a->udp[i]);
        }
        if (a->tcp_fd[i] >= 0) {
            rtc_loop_unwatch(a->loop, a->tcp_fd[i]);
            rtc_net_close(a->tcp_fd[i]);
        }
    }
    for (int i = 0; i < MAX_LISTEN; i++)
        if (a->tls_fd[i] >= 0) {
            rtc_loop_unwatch(a->loop, a->tls_fd[i]);
            rtc_net_close(a->tls_fd[i]);
        }
    SSL_CTX_free(a->tls_ctx);
    free(a->cert);
    free(a->pkey);
    free(a->cipher_list);
    if (a->metrics_fd >= 0) {
        rtc_loop_unwatch(a->loop, a->metrics_fd);
        rtc_net_close(a->metrics_fd);
    }
    if (a->sig_pipe[0] >= 0) {
        if (a->loop) rtc_loop_unwatch(a->loop, a->sig_pipe[0]);
        close(a->sig_pipe[0]);
        close(a->sig_pipe[1]);
    }
    if (a->loop) rtc_loop_timer_stop(a->loop, &a->timer);
    rtc_loop_free(a->loop);
    for (int i = 0; i < a->n_users; i++) free(a->users[i]);
    for (int i = 0; i < a->n_secrets; i++) free(a->secrets[i]);
    free((void *)a->user_file);
    pthread_mutex_destroy(&sh.mu);
    g_app = NULL;
    return rc;
}
