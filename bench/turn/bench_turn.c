/*
** bench/turn: `cwebrtc turn-server` against coturn with the same load client and the
** same settings, in one run, printed as ratios:
**   - relayed packets per second through a channel (client -> server -> relay -> peer
**     -> relay -> server -> client, 2 relayed packets per round trip), with the loss
**     counted and the server's CPU microseconds per relayed packet (/proc/PID/stat);
**   - allocations per second (Allocate + Refresh(0), authenticated, one client).
** usage: bench_turn [--seconds S] [--window W] [--size BYTES] [--flows N]
**                   [--threads N[,N...]] [--cwebrtc PATH]
** (a thread count written "2n" runs ours with --no-gso, for an A/B of UDP GSO)
** --flows: N clients with an allocation and a peer each (the window is split between
** them), so a multi-threaded server can spread them; --threads: run ours once per
** listed thread count (default 1), coturn once with its default threading.
** Everything stays on 127.0.0.1; every process started is killed at the end.
*/
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../bench_proc.h"

#include "cwebrtc/stun.h"

#define USER "bench"
#define PASS "benchpass"
#define REALM "bench.example"
#define BATCH 32

static int udp_socket(struct sockaddr_in *bound) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int big = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&a, sizeof a);
    socklen_t l = sizeof *bound;
    getsockname(fd, (struct sockaddr *)bound, &l);
    return fd;
}

/* A TURN client speaking just enough STUN for the benchmark. */
typedef struct tclient {
    int fd;
    struct sockaddr_in server;
    rtc_stun_key key;
    char nonce[256];
    uint8_t resp[1500];
    rtc_stun_msg msg;
} tclient;

/* Send a request, wait up to 1 s for the matching answer; returns the error code
** (0 success, -1 no answer). Handles one 401/438 round to learn the nonce. */
static int request(tclient *c, uint16_t method, int (*fill)(rtc_stun_builder *, void *), void *arg) {
    for (int round = 0; round < 3; round++) {
        uint8_t buf[512], tid[12];
        rtc_stun_random_tid(NULL, tid);
        rtc_stun_builder b;
        rtc_stun_build_init(&b, buf, sizeof buf, method, RTC_STUN_REQUEST, tid);
        if (fill) fill(&b, arg);
        if (c->nonce[0]) {
            rtc_stun_add_string(&b, RTC_STUN_ATTR_USERNAME, USER);
            rtc_stun_add_string(&b, RTC_STUN_ATTR_REALM, REALM);
            rtc_stun_add_string(&b, RTC_STUN_ATTR_NONCE, c->nonce);
            rtc_stun_add_integrity(&b, &c->key);
        }
        rtc_stun_add_fingerprint(&b);
        int n = rtc_stun_build_finish(&b);
        sendto(c->fd, buf, (size_t)n, 0, (struct sockaddr *)&c->server, sizeof c->server);
        double end = bench_now() + 1;
        int code = -1;
        while (bench_now() < end) {
            struct pollfd p = {.fd = c->fd, .events = POLLIN};
            if (poll(&p, 1, 100) <= 0) continue;
            ssize_t r = recv(c->fd, c->resp, sizeof c->resp, 0);
            if (r <= 0 || rtc_stun_parse(&c->msg, c->resp, (size_t)r) != RTC_OK) continue;
            if (memcmp(c->msg.tid, tid, 12) != 0) continue;
            if (c->msg.cls == RTC_STUN_SUCCESS) return 0;
            rtc_stun_get_error_code(&c->msg, &code, NULL, NULL);
            break;
        }
        if (code != 401 && code != 438) return code;
        const uint8_t *nonce;
        size_t nl;
        if (rtc_stun_get_bytes(&c->msg, RTC_STUN_ATTR_NONCE, &nonce, &nl) != RTC_OK || nl >= sizeof c->nonce)
            return code;
        memcpy(c->nonce, nonce, nl);
        c->nonce[nl] = 0;
    }
    return -1;
}

static int fill_alloc(rtc_stun_builder *b, void *arg) {
    return rtc_stun_add_requested_transport(b, RTC_STUN_TRANSPORT_UDP);
}
static int fill_life0(rtc_stun_builder *b, void *arg) { return rtc_stun_add_u32(b, RTC_STUN_ATTR_LIFETIME, 0); }
typedef struct cb_arg {
    uint16_t ch;
    rtc_addr peer;
} cb_arg;
static int fill_chan(rtc_stun_builder *b, void *arg) {
    cb_arg *a = arg;
    rtc_stun_add_channel_number(b, a->ch);
    return rtc_stun_add_xor_addr(b, RTC_STUN_ATTR_XOR_PEER_ADDRESS, &a->peer);
}

typedef struct result {
    double pps, cpu_us, loss_pct, allocs_per_s;
    unsigned long long relayed;
    int ok;
} result;

/* One load flow: a client with an allocation and a channel to its own peer socket. */
typedef struct flow {
    tclient c;
    int peer;
    struct sockaddr_in relay_sa;
    int outstanding;
    unsigned long long sent, back;
} flow;

#define MAX_FLOWS 64

static int flow_setup(flow *f, int port) {
    struct sockaddr_in ca, pa;
    f->c.fd = udp_socket(&ca);
    f->peer = -1;
    f->c.server = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                       .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    rtc_stun_key_long_term(&f->c.key, RTC_STUN_PASSWORD_ALG_MD5, USER, strlen(USER), REALM,
                           strlen(REALM), PASS, strlen(PASS), NULL);
    int code = -1;
    for (int i = 0; i < 50 && code != 0; i++) {
        code = request(&f->c, RTC_STUN_ALLOCATE, fill_alloc, NULL);
        if (code != 0) usleep(100000);
    }
    if (code != 0) {
        fprintf(stderr, "bench_turn: allocate failed (%d)\n", code);
        return -1;
    }
    rtc_addr relay;
    rtc_stun_get_xor_addr(&f->c.msg, RTC_STUN_ATTR_XOR_RELAYED_ADDRESS, &relay);
    f->peer = udp_socket(&pa);
    cb_arg cb = {.ch = 0x4000};
    uint8_t ip[4] = {127, 0, 0, 1};
    rtc_addr_set_ipv4(&cb.peer, ip, ntohs(pa.sin_port));
    if (request(&f->c, RTC_STUN_CHANNEL_BIND, fill_chan, &cb) != 0) {
        fprintf(stderr, "bench_turn: channel bind failed\n");
        return -1;
    }
    f->relay_sa = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(relay.port)};
    memcpy(&f->relay_sa.sin_addr, relay.ip, 4);
    return 0;
}

static void flow_close(flow *f) {
    if (f->c.fd >= 0) close(f->c.fd);
    if (f->peer >= 0) close(f->peer);
    rtc_stun_key_clear(&f->c.key);
}

/* `flows` clients (separate sockets, so SO_REUSEPORT may hash them to different server
** threads), `window` messages in flight in total, split evenly between the flows. */
static void run_server(pid_t pid, int port, double seconds, int window, int size, int nflows,
                       result *res) {
    memset(res, 0, sizeof *res);
    static flow fl[MAX_FLOWS];
    memset(fl, 0, sizeof fl);
    for (int i = 0; i < nflows; i++) fl[i].c.fd = fl[i].peer = -1;
    for (int i = 0; i < nflows; i++)
        if (flow_setup(&fl[i], port) != 0) {
            for (int k = 0; k < nflows; k++) flow_close(&fl[k]);
            return;
        }
    int per_window = window / nflows > 0 ? window / nflows : 1;

    /* The load: ChannelData of `size` bytes; the peer echoes each datagram to the relay. */
    static uint8_t out[BATCH][1600], in[BATCH][1600];
    for (int i = 0; i < BATCH; i++) {
        out[i][0] = 0x40, out[i][1] = 0x00;
        out[i][2] = (uint8_t)(size >> 8), out[i][3] = (uint8_t)size;
        memset(out[i] + 4, 0xab, (size_t)size);
    }
    size_t cd_len = 4 + (((size_t)size + 3) & ~(size_t)3);
    struct mmsghdr sm[BATCH], rm[BATCH], pm[BATCH];
    struct iovec siov[BATCH], riov[BATCH], piov[BATCH];
    struct sockaddr_in server = fl[0].c.server;
    for (int i = 0; i < BATCH; i++) {
        siov[i] = (struct iovec){out[i], cd_len};
        sm[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &server, .msg_namelen = sizeof server,
                                             .msg_iov = &siov[i], .msg_iovlen = 1}};
        riov[i] = (struct iovec){in[i], sizeof in[i]};
        piov[i] = (struct iovec){in[i], sizeof in[i]};
    }
    struct pollfd p[2 * MAX_FLOWS];
    double cpu0 = bench_proc_cpu(pid), t0 = bench_now(), end = t0 + seconds, t;
    while ((t = bench_now()) < end) {
        for (int f = 0; f < nflows; f++) {
            int room = per_window - fl[f].outstanding;
            if (room > BATCH) room = BATCH;
            if (room > 0) {
                int k = sendmmsg(fl[f].c.fd, sm, (unsigned)room, 0);
                if (k > 0) fl[f].outstanding += k, fl[f].sent += (unsigned long long)k;
            }
            p[2 * f] = (struct pollfd){.fd = fl[f].peer, .events = POLLIN};
            p[2 * f + 1] = (struct pollfd){.fd = fl[f].c.fd, .events = POLLIN};
        }
        if (poll(p, (nfds_t)(2 * nflows), 50) <= 0) {
            for (int f = 0; f < nflows; f++) fl[f].outstanding = 0; /* lost: refill */
            continue;
        }
        for (int f = 0; f < nflows; f++) {
            if (p[2 * f].revents & POLLIN) { /* the peer echoes to the relay */
                for (int i = 0; i < BATCH; i++)
                    pm[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &piov[i], .msg_iovlen = 1}};
                int n = recvmmsg(fl[f].peer, pm, BATCH, MSG_DONTWAIT, NULL);
                for (int i = 0; i < n; i++) {
                    piov[i].iov_len = pm[i].msg_len;
                    pm[i].msg_hdr.msg_name = &fl[f].relay_sa;
                    pm[i].msg_hdr.msg_namelen = sizeof fl[f].relay_sa;
                }
                if (n > 0) sendmmsg(fl[f].peer, pm, (unsigned)n, 0);
                for (int i = 0; i < BATCH; i++) piov[i].iov_len = sizeof in[i];
            }
            if (p[2 * f + 1].revents & POLLIN) {
                for (int i = 0; i < BATCH; i++)
                    rm[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &riov[i], .msg_iovlen = 1}};
                int n = recvmmsg(fl[f].c.fd, rm, BATCH, MSG_DONTWAIT, NULL);
                for (int i = 0; i < n; i++)
                    if (rm[i].msg_len >= 4 && in[i][0] == 0x40) fl[f].back++;
                if (n > 0) fl[f].outstanding = fl[f].outstanding > n ? fl[f].outstanding - n : 0;
            }
        }
    }
    double cpu = bench_proc_cpu(pid) - cpu0, dt = t - t0;
    /* Drain what is still in flight, then count the loss. */
    double dend = bench_now() + 0.3;
    while (bench_now() < dend) {
        for (int f = 0; f < nflows; f++) {
            p[2 * f] = (struct pollfd){.fd = fl[f].peer, .events = POLLIN};
            p[2 * f + 1] = (struct pollfd){.fd = fl[f].c.fd, .events = POLLIN};
        }
        if (poll(p, (nfds_t)(2 * nflows), 50) <= 0) continue;
        uint8_t b[1600];
        for (int f = 0; f < nflows; f++) {
            if (p[2 * f].revents & POLLIN) {
                ssize_t r = recv(fl[f].peer, b, sizeof b, MSG_DONTWAIT);
                if (r > 0)
                    sendto(fl[f].peer, b, (size_t)r, 0, (struct sockaddr *)&fl[f].relay_sa,
                           sizeof fl[f].relay_sa);
            }
            if (p[2 * f + 1].revents & POLLIN && recv(fl[f].c.fd, b, sizeof b, MSG_DONTWAIT) > 0)
                fl[f].back++;
        }
    }
    unsigned long long sent = 0, back = 0;
    for (int f = 0; f < nflows; f++) {
        sent += fl[f].sent;
        back += fl[f].back;
    }
    res->relayed = back * 2;
    res->pps = (double)(back * 2) / dt;
    res->cpu_us = back ? cpu * 1e6 / (double)(back * 2) : 0;
    res->loss_pct = sent ? 100.0 * (double)(sent - (back < sent ? back : sent)) / (double)sent : 0;

    /* Allocations per second: Allocate + Refresh(0), each from a fresh client socket
    ** (servers may keep a deleted 5-tuple blocked for a while); the nonce is reused
    ** while the server accepts it (with several threads, the fresh sockets land on any
    ** thread: the shared nonce key is what keeps this at one round trip). */
    tclient *c = &fl[0].c;
    for (int f = 0; f < nflows; f++) request(&fl[f].c, RTC_STUN_REFRESH, fill_life0, NULL);
    unsigned long long allocs = 0;
    double a0 = bench_now(), aend = a0 + (seconds < 2 ? seconds : 2);
    while (bench_now() < aend) {
        struct sockaddr_in na;
        close(c->fd);
        c->fd = udp_socket(&na);
        if (request(c, RTC_STUN_ALLOCATE, fill_alloc, NULL) != 0) break;
        if (request(c, RTC_STUN_REFRESH, fill_life0, NULL) != 0) break;
        allocs++;
    }
    res->allocs_per_s = (double)allocs / (bench_now() - a0);
    res->ok = 1;
    for (int f = 0; f < nflows; f++) flow_close(&fl[f]);
}

static void print_row(const char *name, const result *r) {
    if (r->ok)
        printf("%-26s %14.0f %10.3f %18.2f %14.0f\n", name, r->pps, r->loss_pct, r->cpu_us, r->allocs_per_s);
    else
        printf("%-26s %14s\n", name, "failed");
}

int main(int argc, char **argv) {
    double seconds = 3;
    int window = 64, size = 200, nflows = 1;
    int threads[8] = {1}, nthreads = 1;
    bool no_gso[8] = {false};
    char cw[4096];
    snprintf(cw, sizeof cw, "%s", argv[0]);
    char *slash = strrchr(cw, '/');
    if (slash) snprintf(slash + 1, sizeof cw - (size_t)(slash + 1 - cw), "cwebrtc");
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--window") && i + 1 < argc) window = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--size") && i + 1 < argc) size = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--flows") && i + 1 < argc) nflows = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            nthreads = 0;
            for (char *tok = strtok(argv[++i], ","); tok && nthreads < 8; tok = strtok(NULL, ","))
                if (atoi(tok) >= 1 && atoi(tok) <= 64) {
                    no_gso[nthreads] = tok[strlen(tok) - 1] == 'n'; /* "2n": --threads 2 --no-gso */
                    threads[nthreads++] = atoi(tok);
                }
            if (!nthreads) threads[nthreads++] = 1;
        } else if (!strcmp(argv[i], "--cwebrtc") && i + 1 < argc) snprintf(cw, sizeof cw, "%s", argv[++i]);
        else {
            fprintf(stderr, "usage: bench_turn [--seconds S] [--window W] [--size BYTES] [--flows N]\n"
                            "                  [--threads N[,N...]] [--cwebrtc PATH]\n");
            return 2;
        }
    }
    if (size < 1 || size > 1400) size = 200;
    if (nflows < 1 || nflows > MAX_FLOWS) nflows = 1;
    if (window < nflows) window = nflows;
    signal(SIGPIPE, SIG_IGN);
    printf("bench/turn: UDP relay through a channel on 127.0.0.1, %d-byte payloads, %d flow(s), "
           "window %d in total, %.1f s\n",
           size, nflows, window, seconds);
    char listen[64], userarg[64], port_s[16], lp[64], tbuf[16];
    snprintf(userarg, sizeof userarg, "%s:%s", USER, PASS);
    result ours[8], ref;
    for (int k = 0; k < nthreads; k++) {
        int p1 = bench_free_udp_port();
        snprintf(listen, sizeof listen, "127.0.0.1:%d", p1);
        snprintf(tbuf, sizeof tbuf, "%d", threads[k]);
        char *ours_argv[] = {cw, "turn-server", "--listen", listen, "--realm", REALM, "--user", userarg,
                             "--allow-loopback-peers", "--no-tcp", "--min-port", "40000",
                             "--max-port", "40999", "--threads", tbuf, no_gso[k] ? "--no-gso" : NULL, NULL};
        pid_t pid = bench_spawn(ours_argv, NULL);
        run_server(pid, p1, seconds, window, size, nflows, &ours[k]);
        bench_stop(pid);
    }
    int p2 = bench_free_udp_port();
    snprintf(port_s, sizeof port_s, "%d", p2);
    snprintf(lp, sizeof lp, "--listening-port=%s", port_s);
    char ua[80];
    snprintf(ua, sizeof ua, "--user=%s", userarg);
    /* coturn with its default threading (on Linux: UDP listener sockets per CPU with
    ** SO_REUSEPORT, relay threads chosen by coturn). */
    char *coturn_argv[] = {"turnserver", "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", lp,
                           "--min-port=41000", "--max-port=41999", "--lt-cred-mech", ua,
                           "--realm=" REALM, "--allow-loopback-peers", "--no-tls", "--no-dtls",
                           "--no-tcp", "--no-cli", "--log-file=stdout", "--simple-log",
                           "--pidfile=/dev/null", NULL};
    pid_t pid = bench_spawn(coturn_argv, NULL);
    run_server(pid, p2, seconds, window, size, nflows, &ref);
    bench_stop(pid);
    printf("%-26s %14s %10s %18s %14s\n", "server", "relayed pkt/s", "loss %", "CPU us/relayed pkt",
           "allocations/s");
    int ok = 1;
    for (int k = 0; k < nthreads; k++) {
        char name[64];
        snprintf(name, sizeof name, "cwebrtc --threads %d%s", threads[k], no_gso[k] ? " --no-gso" : "");
        print_row(name, &ours[k]);
        ok &= ours[k].ok;
    }
    print_row("coturn 4.6", &ref);
    for (int k = 0; k < nthreads && ref.ok; k++)
        if (ours[k].ok)
            printf("ratio cwebrtc --threads %d%s / coturn: relayed pkt/s %.2fx, CPU per packet %.2fx less, "
                   "allocations/s %.2fx\n",
                   threads[k], no_gso[k] ? " --no-gso" : "", ours[k].pps / (ref.pps > 0 ? ref.pps : 1),
                   ours[k].cpu_us > 0 ? ref.cpu_us / ours[k].cpu_us : 0,
                   ours[k].allocs_per_s / (ref.allocs_per_s > 0 ? ref.allocs_per_s : 1));
    return ok ? 0 : 1;
}
