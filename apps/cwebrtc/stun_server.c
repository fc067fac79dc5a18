/*
** cwebrtc stun-server --listen ADDR:PORT: answers STUN Binding requests (RFC 8489) over
** UDP and TCP. Nothing is logged per packet. The seed of the TURN server.
**
** UDP path: recvmmsg a batch, answer each request into a per-thread array, sendmmsg the
** answers; no allocation per packet. --threads N runs N loops, each with its own
** SO_REUSEPORT socket per listen address, so the kernel spreads clients across them.
** TCP: connections live on thread 0, each with a bounded framer and an idle timeout;
** the number of connections is bounded.
*/
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "cwebrtc/loop.h"
#include "cwebrtc/net.h"
#include "cwebrtc/stun.h"

#define MAX_LISTEN 8
#define MAX_THREADS 16
#define BATCH 64
#define MAX_TCP_CONNS 1024
#define TCP_IDLE_US RTC_SEC(30)
#define TCP_MAX_FRAME 4096

typedef struct server server;
typedef struct worker worker;

typedef struct tcp_conn {
    worker *w;
    int fd;
    rtc_addr peer, local;
    rtc_framer *framer;
    rtc_timer idle;
    struct tcp_conn *prev, *next;
} tcp_conn;

typedef struct udp_ep {
    worker *w;
    rtc_udp *u;
    bool wildcard;
} udp_ep;

struct worker {
    server *srv;
    int index;
    rtc_loop *loop;
    pthread_t thread;
    rtc_udp *udp[MAX_LISTEN];
    udp_ep ep[MAX_LISTEN];
    int n_udp;
    int listen_fd[MAX_LISTEN];
    int n_listen;
    tcp_conn *conns;
    int n_conns;
    uint8_t rxbuf[BATCH][1500];
    uint8_t txbuf[BATCH][RTC_STUN_MAX_MSG_LEN > 1500 ? 1500 : RTC_STUN_MAX_MSG_LEN];
    rtc_udp_rx rx[BATCH];
    rtc_udp_tx tx[BATCH];
    uint64_t answered, dropped;
};

struct server {
    rtc_addr listen[MAX_LISTEN];
    int n_listen;
    int threads;
    bool tcp;
    char software[128];
    worker workers[MAX_THREADS];
};

static server *g_server; /* for the signal handler only */

/*
** Answer one request. Returns the response length, or 0 to drop the message (RFC 8489
** §6.3: indications and responses to a server, malformed messages, bad fingerprints).
*/
static size_t answer(const server *s, const uint8_t *req, size_t len, const rtc_addr *src,
                     uint8_t *out, size_t cap) {
    rtc_stun_msg m;
    int rc = rtc_stun_parse(&m, req, len);
    if ((rc != RTC_OK && rc != RTC_ERR_UNSUPPORTED) || m.cls != RTC_STUN_REQUEST) return 0;
    rtc_stun_builder b;
    if (rc == RTC_ERR_UNSUPPORTED) {
        /* Unknown comprehension-required attributes: 420 + UNKNOWN-ATTRIBUTES (§6.3.1.1). */
        rtc_stun_build_error_response(&b, out, cap, &m, RTC_STUN_ERR_UNKNOWN_ATTRIBUTE, NULL);
    } else if (m.method != RTC_STUN_BINDING) {
        rtc_stun_build_error_response(&b, out, cap, &m, RTC_STUN_ERR_BAD_REQUEST,
                                      "Unsupported method");
    } else {
        rtc_stun_build_response(&b, out, cap, &m, RTC_STUN_SUCCESS);
        rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_MAPPED_ADDRESS, src);
    }
    if (s->software[0]) rtc_stun_add_string(&b, RTC_STUN_ATTR_SOFTWARE, s->software);
    /* Mirror the client's FINGERPRINT use (§7.3: include it when the request had it). */
    if (m.fp >= 0) rtc_stun_add_fingerprint(&b);
    int n = rtc_stun_build_finish(&b);
    return n > 0 ? (size_t)n : 0;
}

static void on_udp(rtc_loop *l, int fd, unsigned events, void *ud) {
    udp_ep *ep = ud;
    worker *w = ep->w;
    rtc_udp *u = ep->u;
    /* Bounded work per readiness callback so TCP and timers are not starved. */
    for (int round = 0; round < 8; round++) {
        for (int i = 0; i < BATCH; i++) {
            w->rx[i].buf = w->rxbuf[i];
            w->rx[i].cap = sizeof w->rxbuf[i];
        }
        int n = rtc_udp_recv_batch(u, w->rx, BATCH);
        if (n <= 0) return;
        size_t nt = 0;
        for (int i = 0; i < n; i++) {
            if (w->rx[i].truncated) continue;
            size_t r = answer(w->srv, w->rx[i].buf, w->rx[i].len, &w->rx[i].src, w->txbuf[nt],
                              sizeof w->txbuf[nt]);
            if (!r) {
                w->dropped++;
                continue;
            }
            w->tx[nt].data = w->txbuf[nt];
            w->tx[nt].len = r;
            w->tx[nt].dst = w->rx[i].src;
            /* On a wildcard socket (pktinfo on) answer from the address the request
            ** reached, or a multi-homed client drops the answer. */
            w->tx[nt].src = w->rx[i].dst;
            if (!ep->wildcard) memset(&w->tx[nt].src, 0, sizeof w->tx[nt].src);
            nt++;
        }
        size_t sent = 0;
        while (sent < nt) {
            int k = rtc_udp_send_batch(u, w->tx + sent, nt - sent);
            if (k <= 0) break; /* socket buffer full: UDP answers may be lost */
            sent += (size_t)k;
        }
        w->answered += sent;
        if (n < BATCH) return;
    }
}

static void conn_close(tcp_conn *c) {
    worker *w = c->w;
    rtc_loop_unwatch(w->loop, c->fd);
    rtc_loop_timer_stop(w->loop, &c->idle);
    rtc_net_close(c->fd);
    rtc_framer_free(c->framer);
    if (c->prev) c->prev->next = c->next;
    else w->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    w->n_conns--;
    free(c);
}

static void on_idle(rtc_loop *l, rtc_timer *t, void *ud) { conn_close(ud); }

static void on_conn(rtc_loop *l, int fd, unsigned events, void *ud) {
    tcp_conn *c = ud;
    uint8_t buf[4096];
    int n = rtc_tcp_recv(fd, buf, sizeof buf);
    if (n == RTC_ERR_AGAIN) return;
    if (n < 0) {
        conn_close(c);
        return;
    }
    rtc_loop_timer_start(l, &c->idle, rtc_net_now() + TCP_IDLE_US, on_idle, c);
    size_t off = 0;
    while (off < (size_t)n) {
        int r = rtc_framer_push(c->framer, buf + off, (size_t)n - off);
        if (r < 0) {
            conn_close(c); /* garbage or an oversize frame: the stream cannot resync */
            return;
        }
        off += (size_t)r;
        rtc_frame fr;
        while ((r = rtc_framer_next(c->framer, &fr)) == 1) {
            if (fr.kind != RTC_FRAMEK_STUN) continue;
            uint8_t out[1500];
            size_t len = answer(c->w->srv, fr.data, fr.len, &c->peer, out, sizeof out);
            size_t sent = 0;
            while (sent < len) {
                int k = rtc_tcp_send(fd, out + sent, len - sent);
                if (k < 0) {
                    /* A client that does not read its answers gets disconnected rather
                    ** than making us buffer without bound. */
                    conn_close(c);
                    return;
                }
                sent += (size_t)k;
            }
            c->w->answered++;
        }
        if (r < 0) {
            conn_close(c);
            return;
        }
    }
}

static void on_accept(rtc_loop *l, int fd, unsigned events, void *ud) {
    worker *w = ud;
    for (int i = 0; i < 32; i++) {
        int cfd;
        rtc_addr peer;
        int rc = rtc_tcp_accept(fd, &cfd, &peer);
        if (rc != RTC_OK) return;
        tcp_conn *c = w->n_conns < MAX_TCP_CONNS ? calloc(1, sizeof *c) : NULL;
        if (!c || rtc_framer_new(&c->framer, RTC_FRAME_STUN, TCP_MAX_FRAME, NULL) != RTC_OK) {
            free(c);
            rtc_net_close(cfd);
            continue;
        }
        c->w = w;
        c->fd = cfd;
        c->peer = peer;
        rtc_timer_init(&c->idle);
        c->next = w->conns;
        if (w->conns) w->conns->prev = c;
        w->conns = c;
        w->n_conns++;
        rtc_loop_watch(l, cfd, RTC_LOOP_READ, on_conn, c);
        rtc_loop_timer_start(l, &c->idle, rtc_net_now() + TCP_IDLE_US, on_idle, c);
    }
}

static void *worker_main(void *arg) {
    worker *w = arg;
    rtc_loop_run(w->loop);
    return NULL;
}

static void on_signal(int sig) {
    (void)sig;
    if (!g_server) return;
    for (int t = 0; t < g_server->threads; t++)
        if (g_server->workers[t].loop) rtc_loop_stop(g_server->workers[t].loop);
}

static int usage_err(const char *msg) {
    fprintf(stderr,
            "cwebrtc stun-server: %s\nusage: cwebrtc stun-server --listen ADDR:PORT [--listen ...] "
            "[--threads N] [--no-tcp] [--software TEXT]\n",
            msg);
    return EXIT_USAGE;
}

int cmd_stun_server(int argc, char **argv) {
    static server srv;
    memset(&srv, 0, sizeof srv);
    srv.threads = 1;
    srv.tcp = true;
    snprintf(srv.software, sizeof srv.software, "cwebrtc %s", rtc_version());
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (app_opt(argc, argv, &i, "--listen", &v)) {
            if (!v) return usage_err("--listen needs ADDR:PORT");
            if (srv.n_listen == MAX_LISTEN) return usage_err("too many --listen");
            if (rtc_addr_parse(&srv.listen[srv.n_listen], v, RTC_STUN_PORT) != RTC_OK)
                return usage_err("bad --listen address (numeric IPv4 or [IPv6] with :PORT)");
            srv.n_listen++;
        } else if (app_opt(argc, argv, &i, "--threads", &v)) {
            srv.threads = v ? atoi(v) : 0;
            if (srv.threads < 1 || srv.threads > MAX_THREADS) return usage_err("--threads 1..16");
        } else if (app_opt(argc, argv, &i, "--software", &v)) {
            if (!v) return usage_err("--software needs TEXT ('' for none)");
            snprintf(srv.software, sizeof srv.software, "%s", v);
        } else if (strcmp(argv[i], "--no-tcp") == 0) {
            srv.tcp = false;
        } else {
            return usage_err("unknown argument");
        }
    }
    if (srv.n_listen == 0) return usage_err("at least one --listen ADDR:PORT");
    g_server = &srv;

    int rc = EXIT_FAIL;
    for (int t = 0; t < srv.threads; t++) {
        worker *w = &srv.workers[t];
        w->srv = &srv;
        w->index = t;
        if (rtc_loop_new(&w->loop, NULL) != RTC_OK) {
            fprintf(stderr, "cwebrtc stun-server: cannot create a loop\n");
            goto out;
        }
    }
    for (int li = 0; li < srv.n_listen; li++) {
        rtc_addr bound = srv.listen[li];
        for (int t = 0; t < srv.threads; t++) {
            worker *w = &srv.workers[t];
            rtc_udp_config cfg = {.bind = bound, .reuse_port = srv.threads > 1,
                                  .pktinfo = rtc_addr_is_any(&bound),
                                  .rcvbuf = 4 << 20, .sndbuf = 4 << 20};
            rtc_udp *u;
            if (rtc_udp_new(&u, &cfg, NULL) != RTC_OK) {
                char s[RTC_ADDR_STRLEN];
                rtc_addr_fmt(&bound, s, sizeof s);
                fprintf(stderr, "cwebrtc stun-server: cannot bind udp %s: %s\n", s, strerror(errno));
                goto out;
            }
            rtc_udp_local_addr(u, &bound); /* port 0 becomes the real port for the others */
            w->ep[w->n_udp] = (udp_ep){w, u, cfg.pktinfo};
            rtc_loop_watch(w->loop, rtc_udp_fd(u), RTC_LOOP_READ, on_udp, &w->ep[w->n_udp]);
            w->udp[w->n_udp++] = u;
        }
        char s[RTC_ADDR_STRLEN];
        rtc_addr_fmt(&bound, s, sizeof s);
        printf("listening udp %s\n", s);
        if (srv.tcp) {
            worker *w = &srv.workers[0];
            int fd;
            rtc_addr tb;
            if (rtc_tcp_listen(&fd, &bound, 0, &tb) != RTC_OK) {
                fprintf(stderr, "cwebrtc stun-server: cannot listen on tcp %s: %s\n", s,
                        strerror(errno));
                goto out;
            }
            w->listen_fd[w->n_listen++] = fd;
            rtc_loop_watch(w->loop, fd, RTC_LOOP_READ, on_accept, w);
            rtc_addr_fmt(&tb, s, sizeof s);
            printf("listening tcp %s\n", s);
        }
    }
    fflush(stdout);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    for (int t = 1; t < srv.threads; t++)
        pthread_create(&srv.workers[t].thread, NULL, worker_main, &srv.workers[t]);
    rtc_loop_run(srv.workers[0].loop);
    on_signal(0);
    for (int t = 1; t < srv.threads; t++) pthread_join(srv.workers[t].thread, NULL);
    rc = EXIT_OK;
out:
    for (int t = 0; t < srv.threads; t++) {
        worker *w = &srv.workers[t];
        while (w->conns) conn_close(w->conns);
        for (int i = 0; i < w->n_udp; i++) {
            rtc_loop_unwatch(w->loop, rtc_udp_fd(w->udp[i]));
            rtc_udp_free(w->udp[i]);
        }
        for (int i = 0; i < w->n_listen; i++) {
            rtc_loop_unwatch(w->loop, w->listen_fd[i]);
            rtc_net_close(w->listen_fd[i]);
        }
        rtc_loop_free(w->loop);
    }
    g_server = NULL;
    return rc;
}
