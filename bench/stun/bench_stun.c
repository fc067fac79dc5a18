/*
** bench/stun: STUN Binding requests answered per second by `cwebrtc stun-server` and by
** coturn, loaded by the same client in the same run, printed as a ratio, with each
** server's CPU microseconds per answer (from /proc/PID/stat, all threads) — on 2 cores
** the client shares the machine with the server, so CPU per answer is the fairer figure.
**
** usage: bench_stun [--seconds S] [--window W] [--cwebrtc PATH] [--threads N]
** Traffic stays on 127.0.0.1; every process started is killed at the end.
*/

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../bench_proc.h"

#define BATCH 32

/* utime + stime of all threads of pid, in seconds. */
static void make_request(uint8_t req[20], uint64_t seq) {
    req[0] = 0x00, req[1] = 0x01, req[2] = 0, req[3] = 0; /* Binding request, no attributes */
    req[4] = 0x21, req[5] = 0x12, req[6] = 0xa4, req[7] = 0x42;
    memset(req + 8, 0xab, 4);
    memcpy(req + 12, &seq, 8);
}

/* One probe: true when the server answers within 100 ms. */
static int probe(int fd, const struct sockaddr_in *dst) {
    uint8_t req[20], resp[1500];
    make_request(req, 0);
    sendto(fd, req, 20, 0, (const struct sockaddr *)dst, sizeof *dst);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 100) <= 0) return 0;
    return recv(fd, resp, sizeof resp, 0) >= 20 && resp[0] == 0x01 && resp[1] == 0x01;
}

typedef struct result {
    double rate, cpu_us_per_answer;
    unsigned long long answers, sent;
} result;

static int load(int port, pid_t server, double seconds, int window, result *r) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    int big = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int up = 0;
    for (int i = 0; i < 100 && !up; i++) {
        up = probe(fd, &dst);
        if (!up) usleep(50000);
    }
    if (!up) {
        close(fd);
        return -1;
    }
    uint8_t reqs[BATCH][20], resps[BATCH][256];
    struct mmsghdr sm[BATCH], rm[BATCH];
    struct iovec siov[BATCH], riov[BATCH];
    for (int i = 0; i < BATCH; i++) {
        siov[i] = (struct iovec){reqs[i], 20};
        sm[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &dst, .msg_namelen = sizeof dst,
                                             .msg_iov = &siov[i], .msg_iovlen = 1}};
        riov[i] = (struct iovec){resps[i], sizeof resps[i]};
    }
    unsigned long long seq = 1, answers = 0, sent = 0;
    int outstanding = 0;
    double cpu0 = bench_proc_cpu(server), t0 = bench_now(), end = t0 + seconds;
    double t;
    while ((t = bench_now()) < end) {
        int room = window - outstanding;
        if (room > BATCH) room = BATCH;
        if (room > 0) {
            for (int i = 0; i < room; i++) make_request(reqs[i], seq++);
            int k = sendmmsg(fd, sm, (unsigned)room, 0);
            if (k > 0) {
                outstanding += k;
                sent += (unsigned long long)k;
            }
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 20) <= 0) {
            outstanding = 0; /* lost in a full socket buffer: refill the window */
            continue;
        }
        for (int i = 0; i < BATCH; i++)
            rm[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &riov[i], .msg_iovlen = 1}};
        int n = recvmmsg(fd, rm, BATCH, MSG_DONTWAIT, NULL);
        for (int i = 0; i < n; i++)
            if (rm[i].msg_len >= 20 && resps[i][0] == 0x01 && resps[i][1] == 0x01) answers++;
        if (n > 0) outstanding = outstanding > n ? outstanding - n : 0;
    }
    double cpu = bench_proc_cpu(server) - cpu0;
    double dt = t - t0;
    close(fd);
    r->answers = answers;
    r->sent = sent;
    r->rate = (double)answers / dt;
    r->cpu_us_per_answer = answers ? cpu * 1e6 / (double)answers : 0;
    return 0;
}

static int read_port(int fd) {
    char buf[512];
    size_t len = 0;
    double end = bench_now() + 5;
    while (bench_now() < end && len < sizeof buf - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0) continue;
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n <= 0) break;
        len += (size_t)n;
        buf[len] = 0;
        char *l = strstr(buf, "listening udp ");
        if (l && strchr(l, '\n')) {
            char *colon = strrchr(strtok(l + 14, "\n"), ':');
            return colon ? atoi(colon + 1) : -1;
        }
    }
    return -1;
}

int main(int argc, char **argv) {
    double seconds = 3;
    int window = 256;
    const char *threads = "1";
    char cw[4096];
    snprintf(cw, sizeof cw, "%s", argv[0]);
    char *slash = strrchr(cw, '/');
    if (slash) snprintf(slash + 1, sizeof cw - (size_t)(slash + 1 - cw), "cwebrtc");
    else snprintf(cw, sizeof cw, "cwebrtc");
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--window") && i + 1 < argc) window = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--cwebrtc") && i + 1 < argc) snprintf(cw, sizeof cw, "%s", argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = argv[++i];
        else {
            fprintf(stderr, "usage: bench_stun [--seconds S] [--window W] [--cwebrtc PATH] [--threads N]\n");
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    printf("bench/stun: Binding requests over UDP on 127.0.0.1, %.1f s per server, window %d, one client\n",
           seconds, window);

    result ours = {0}, ref = {0};
    int fd;
    char *ours_argv[] = {cw, "stun-server", "--listen", "127.0.0.1:0", "--no-tcp", "--threads",
                         (char *)threads, NULL};
    pid_t p1 = bench_spawn(ours_argv, &fd);
    int port = read_port(fd);
    if (port <= 0 || load(port, p1, seconds, window, &ours) != 0) {
        fprintf(stderr, "bench_stun: cwebrtc stun-server (%s) did not answer\n", cw);
        bench_stop(p1);
        return 1;
    }
    bench_stop(p1);
    close(fd);

    char portbuf[16];
    snprintf(portbuf, sizeof portbuf, "%d", bench_free_udp_port());
    char lp[64];
    snprintf(lp, sizeof lp, "--listening-port=%s", portbuf);
    char *coturn_argv[] = {"turnserver", "-n", "--listening-ip=127.0.0.1", lp, "--no-tls",
                           "--no-dtls", "--no-tcp", "--no-cli", "--no-auth", "--log-file=stdout",
                           "--simple-log", "--pidfile=/dev/null", NULL};
    pid_t p2 = bench_spawn(coturn_argv, &fd);
    int have_ref = load(atoi(portbuf), p2, seconds, window, &ref) == 0;
    bench_stop(p2);
    close(fd);

    printf("%-22s %12s %12s %14s\n", "server", "answers/s", "answered", "server CPU us/answer");
    printf("%-22s %12.0f %12llu %14.2f\n", "cwebrtc stun-server", ours.rate, ours.answers,
           ours.cpu_us_per_answer);
    if (!have_ref) {
        printf("coturn (turnserver) not available: no ratio\n");
        return 0;
    }
    printf("%-22s %12.0f %12llu %14.2f\n", "coturn 4.6", ref.rate, ref.answers,
           ref.cpu_us_per_answer);
    printf("ratio cwebrtc/coturn: answers/s %.2fx, CPU per answer %.2fx less\n",
           ref.rate > 0 ? ours.rate / ref.rate : 0,
           ours.cpu_us_per_answer > 0 ? ref.cpu_us_per_answer / ours.cpu_us_per_answer : 0);
    return 0;
}
