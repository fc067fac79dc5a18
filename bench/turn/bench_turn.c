/*
** bench/turn: `cwebrtc turn-server` against coturn with the same load client and the
** same settings, in one run, printed as ratios:
**   - relayed packets per second through a channel (client -> server -> relay -> peer
**     -> relay -> server -> client, 2 relayed packets per round trip), with the loss
**     counted and the server's CPU microseconds per relayed packet (/proc/PID/stat);
**   - allocations per second (Allocate + Refresh(0), authenticated, one client).
** usage: bench_turn [--seconds S] [--window W] [--size BYTES] [--cwebrtc PATH]
** Everything stays on 127.0.0.1; every process started is killed at the end.
*/
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
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

static void run_server(pid_t pid, int port, double seconds, int window, int size, result *res) {
    memset(res, 0, sizeof *res);
    tclient c = {0};
    struct sockaddr_in ca, pa;
    c.fd = udp_socket(&ca);
    c.server = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    rtc_stun_key_long_term(&c.key, RTC_STUN_PASSWORD_ALG_MD5, USER, strlen(USER), REALM, strlen(REALM),
                           PASS, strlen(PASS), NULL);
    int code = -1;
    for (int i = 0; i < 50 && code != 0; i++) {
        code = request(&c, RTC_STUN_ALLOCATE, fill_alloc, NULL);
        if (code != 0) usleep(100000);
    }
    if (code != 0) {
        fprintf(stderr, "bench_turn: allocate failed (%d)\n", code);
        close(c.fd);
        return;
    }
    rtc_addr relay;
    rtc_stun_get_xor_addr(&c.msg, RTC_STUN_ATTR_XOR_RELAYED_ADDRESS, &relay);
    int peer = udp_socket(&pa);
    cb_arg cb = {.ch = 0x4000};
    uint8_t ip[4] = {127, 0, 0, 1};
    rtc_addr_set_ipv4(&cb.peer, ip, ntohs(pa.sin_port));
    if (request(&c, RTC_STUN_CHANNEL_BIND, fill_chan, &cb) != 0) {
        fprintf(stderr, "bench_turn: channel bind failed\n");
        close(c.fd);
        close(peer);
        return;
    }
    struct sockaddr_in relay_sa = {.sin_family = AF_INET, .sin_port = htons(relay.port)};
    memcpy(&relay_sa.sin_addr, relay.ip, 4);

    /* The load: ChannelData of `size` bytes; the peer echoes each datagram to the relay. */
    uint8_t out[BATCH][1600], in[BATCH][1600];
    for (int i = 0; i < BATCH; i++) {
        out[i][0] = 0x40, out[i][1] = 0x00;
        out[i][2] = (uint8_t)(size >> 8), out[i][3] = (uint8_t)size;
        memset(out[i] + 4, 0xab, (size_t)size);
    }
    size_t cd_len = 4 + (((size_t)size + 3) & ~(size_t)3);
    struct mmsghdr sm[BATCH], rm[BATCH], pm[BATCH];
    struct iovec siov[BATCH], riov[BATCH], piov[BATCH];
    for (int i = 0; i < BATCH; i++) {
        siov[i] = (struct iovec){out[i], cd_len};
        sm[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &c.server, .msg_namelen = sizeof c.server,
                                             .msg_iov = &siov[i], .msg_iovlen = 1}};
        riov[i] = (struct iovec){in[i], sizeof in[i]};
        piov[i] = (struct iovec){in[i], sizeof in[i]};
    }
    unsigned long long sent = 0, back = 0;
    int outstanding = 0;
    double cpu0 = bench_proc_cpu(pid), t0 = bench_now(), end = t0 + seconds, t;
    while ((t = bench_now()) < end) {
        int room = window - outstanding;
        if (room > BATCH) room = BATCH;
        if (room > 0) {
            int k = sendmmsg(c.fd, sm, (unsigned)room, 0);
            if (k > 0) outstanding += k, sent += (unsigned long long)k;
        }
        struct pollfd p[2] = {{.fd = peer, .events = POLLIN}, {.fd = c.fd, .events = POLLIN}};
        if (poll(p, 2, 50) <= 0) {
            outstanding = 0; /* lost: refill */
            continue;
        }
        if (p[0].revents & POLLIN) { /* the peer echoes to the relay */
            for (int i = 0; i < BATCH; i++)
                pm[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &piov[i], .msg_iovlen = 1}};
            int n = recvmmsg(peer, pm, BATCH, MSG_DONTWAIT, NULL);
            for (int i = 0; i < n; i++) {
                piov[i].iov_len = pm[i].msg_len;
                pm[i].msg_hdr.msg_name = &relay_sa;
                pm[i].msg_hdr.msg_namelen = sizeof relay_sa;
            }
            if (n > 0) sendmmsg(peer, pm, (unsigned)n, 0);
            for (int i = 0; i < BATCH; i++) piov[i].iov_len = sizeof in[i];
        }
        if (p[1].revents & POLLIN) {
            for (int i = 0; i < BATCH; i++)
                rm[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &riov[i], .msg_iovlen = 1}};
            int n = recvmmsg(c.fd, rm, BATCH, MSG_DONTWAIT, NULL);
            for (int i = 0; i < n; i++)
                if (rm[i].msg_len >= 4 && in[i][0] == 0x40) back++;
            if (n > 0) outstanding = outstanding > n ? outstanding - n : 0;
        }
    }
    double cpu = bench_proc_cpu(pid) - cpu0, dt = t - t0;
    /* Drain what is still in flight, then count the loss. */
    double dend = bench_now() + 0.3;
    while (bench_now() < dend) {
        struct pollfd p[2] = {{.fd = peer, .events = POLLIN}, {.fd = c.fd, .events = POLLIN}};
        if (poll(p, 2, 50) <= 0) continue;
        uint8_t b[1600];
        if (p[0].revents & POLLIN) {
            ssize_t r = recv(peer, b, sizeof b, MSG_DONTWAIT);
            if (r > 0) sendto(peer, b, (size_t)r, 0, (struct sockaddr *)&relay_sa, sizeof relay_sa);
        }
        if (p[1].revents & POLLIN && recv(c.fd, b, sizeof b, MSG_DONTWAIT) > 0) back++;
    }
    res->relayed = back * 2;
    res->pps = (double)(back * 2) / dt;
    res->cpu_us = back ? cpu * 1e6 / (double)(back * 2) : 0;
    res->loss_pct = sent ? 100.0 * (double)(sent - (back < sent ? back : sent)) / (double)sent : 0;

    /* Allocations per second: Allocate + Refresh(0), each from a fresh client socket
    ** (servers may keep a deleted 5-tuple blocked for a while); the nonce is reused
    ** while the server accepts it. */
    request(&c, RTC_STUN_REFRESH, fill_life0, NULL);
    unsigned long long allocs = 0;
    double a0 = bench_now(), aend = a0 + (seconds < 2 ? seconds : 2);
    while (bench_now() < aend) {
        struct sockaddr_in na;
        close(c.fd);
        c.fd = udp_socket(&na);
        if (request(&c, RTC_STUN_ALLOCATE, fill_alloc, NULL) != 0) break;
        if (request(&c, RTC_STUN_REFRESH, fill_life0, NULL) != 0) break;
        allocs++;
    }
    res->allocs_per_s = (double)allocs / (bench_now() - a0);
    res->ok = 1;
    close(c.fd);
    close(peer);
}

int main(int argc, char **argv) {
    double seconds = 3;
    int window = 64, size = 200;
    char cw[4096];
    snprintf(cw, sizeof cw, "%s", argv[0]);
    char *slash = strrchr(cw, '/');
    if (slash) snprintf(slash + 1, sizeof cw - (size_t)(slash + 1 - cw), "cwebrtc");
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--window") && i + 1 < argc) window = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--size") && i + 1 < argc) size = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--cwebrtc") && i + 1 < argc) snprintf(cw, sizeof cw, "%s", argv[++i]);
        else {
            fprintf(stderr, "usage: bench_turn [--seconds S] [--window W] [--size BYTES] [--cwebrtc PATH]\n");
            return 2;
        }
    }
    if (size < 1 || size > 1400) size = 200;
    signal(SIGPIPE, SIG_IGN);
    printf("bench/turn: UDP relay through a channel on 127.0.0.1, %d-byte payloads, window %d, %.1f s\n",
           size, window, seconds);
    char listen[64], userarg[64], port_s[16], lp[64];
    int p1 = bench_free_udp_port();
    snprintf(listen, sizeof listen, "127.0.0.1:%d", p1);
    snprintf(userarg, sizeof userarg, "%s:%s", USER, PASS);
    char *ours_argv[] = {cw, "turn-server", "--listen", listen, "--realm", REALM, "--user", userarg,
                         "--allow-loopback-peers", "--no-tcp", "--min-port", "40000",
                         "--max-port", "40999", NULL};
    result ours, ref;
    pid_t pid = bench_spawn(ours_argv, NULL);
    run_server(pid, p1, seconds, window, size, &ours);
    bench_stop(pid);
    int p2 = bench_free_udp_port();
    snprintf(port_s, sizeof port_s, "%d", p2);
    snprintf(lp, sizeof lp, "--listening-port=%s", port_s);
    char ua[80];
    snprintf(ua, sizeof ua, "--user=%s", userarg);
    char *coturn_argv[] = {"turnserver", "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", lp,
                           "--min-port=41000", "--max-port=41999", "--lt-cred-mech", ua,
                           "--realm=" REALM, "--allow-loopback-peers", "--no-tls", "--no-dtls",
                           "--no-tcp", "--no-cli", "--log-file=stdout", "--simple-log",
                           "--pidfile=/dev/null", NULL};
    pid = bench_spawn(coturn_argv, NULL);
    run_server(pid, p2, seconds, window, size, &ref);
    bench_stop(pid);
    printf("%-22s %14s %10s %18s %14s\n", "server", "relayed pkt/s", "loss %", "CPU us/relayed pkt",
           "allocations/s");
    if (ours.ok)
        printf("%-22s %14.0f %10.3f %18.2f %14.0f\n", "cwebrtc turn-server", ours.pps, ours.loss_pct,
               ours.cpu_us, ours.allocs_per_s);
    if (ref.ok)
        printf("%-22s %14.0f %10.3f %18.2f %14.0f\n", "coturn 4.6", ref.pps, ref.loss_pct, ref.cpu_us,
               ref.allocs_per_s);
    if (ours.ok && ref.ok)
        printf("ratio cwebrtc/coturn: relayed pkt/s %.2fx, CPU per packet %.2fx less, allocations/s %.2fx\n",
               ours.pps / (ref.pps > 0 ? ref.pps : 1), ours.cpu_us > 0 ? ref.cpu_us / ours.cpu_us : 0,
               ours.allocs_per_s / (ref.allocs_per_s > 0 ? ref.allocs_per_s : 1));
    return ours.ok ? 0 : 1;
}
