/*
** bench/net_udp: loopback UDP echo, batched (recvmmsg/sendmmsg, 64 per call) against
** one syscall per datagram, with STUN-sized (108-byte) datagrams.
**
** A server thread echoes; a client thread keeps a window of datagrams in flight. We
** report datagrams per second and the server thread's CPU microseconds per datagram
** (CLOCK_THREAD_CPUTIME_ID), which is the figure that matters on a shared 2-core box.
** Usage: bench_net_udp [seconds per mode, default 2]
*/
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cwebrtc/net.h"

#define PKT    108
#define WINDOW 512

typedef struct bench {
    rtc_udp *srv, *cli;
    rtc_addr srv_addr;
    bool batched;
    atomic_int stop;
    uint64_t served;
    double srv_cpu_us;
} bench;

static double thread_cpu_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void *server(void *arg) {
    bench *b = arg;
    static uint8_t bufs[RTC_UDP_BATCH_MAX][2048];
    rtc_udp_rx rx[RTC_UDP_BATCH_MAX];
    rtc_udp_tx tx[RTC_UDP_BATCH_MAX];
    double c0 = thread_cpu_us();
    struct pollfd p = {.fd = rtc_udp_fd(b->srv), .events = POLLIN};
    while (!atomic_load(&b->stop)) {
        if (poll(&p, 1, 20) <= 0) continue;
        if (b->batched) {
            for (int i = 0; i < RTC_UDP_BATCH_MAX; i++)
                rx[i] = (rtc_udp_rx){.buf = bufs[i], .cap = sizeof bufs[i]};
            int n = rtc_udp_recv_batch(b->srv, rx, RTC_UDP_BATCH_MAX);
            if (n <= 0) continue;
            for (int i = 0; i < n; i++)
                tx[i] = (rtc_udp_tx){.data = rx[i].buf, .len = rx[i].len, .dst = rx[i].src};
            int s = rtc_udp_send_batch(b->srv, tx, (size_t)n);
            if (s > 0) b->served += (uint64_t)s;
        } else {
            for (int k = 0; k < RTC_UDP_BATCH_MAX; k++) {
                rx[0] = (rtc_udp_rx){.buf = bufs[0], .cap = sizeof bufs[0]};
                if (rtc_udp_recv(b->srv, &rx[0]) != 1) break;
                if (rtc_udp_send(b->srv, &rx[0].src, rx[0].buf, rx[0].len) == RTC_OK) b->served++;
            }
        }
    }
    b->srv_cpu_us = thread_cpu_us() - c0;
    return NULL;
}

static void run(bool batched, double seconds) {
    bench b;
    memset(&b, 0, sizeof b);
    b.batched = batched;
    rtc_udp_config c;
    memset(&c, 0, sizeof c);
    rtc_addr_parse(&c.bind, "127.0.0.1", 0);
    c.rcvbuf = c.sndbuf = 4 << 20;
    if (rtc_udp_new(&b.srv, &c, NULL) || rtc_udp_new(&b.cli, &c, NULL)) {
        fprintf(stderr, "socket setup failed\n");
        exit(1);
    }
    rtc_udp_local_addr(b.srv, &b.srv_addr);
    pthread_t th;
    pthread_create(&th, NULL, server, &b);

    static uint8_t pkt[PKT], rbufs[RTC_UDP_BATCH_MAX][2048];
    memset(pkt, 0x11, sizeof pkt);
    rtc_udp_tx tx[RTC_UDP_BATCH_MAX];
    for (int i = 0; i < RTC_UDP_BATCH_MAX; i++)
        tx[i] = (rtc_udp_tx){.data = pkt, .len = sizeof pkt, .dst = b.srv_addr};
    rtc_udp_rx rx[RTC_UDP_BATCH_MAX];
    long inflight = 0;
    uint64_t got = 0;
    rtc_time t0 = rtc_net_now(), end = t0 + (rtc_time)(seconds * 1e6), last_rx = t0;
    struct pollfd p = {.fd = rtc_udp_fd(b.cli), .events = POLLIN};
    while (rtc_net_now() < end) {
        if (inflight <= WINDOW - RTC_UDP_BATCH_MAX) {
            int s = rtc_udp_send_batch(b.cli, tx, RTC_UDP_BATCH_MAX);
            if (s > 0) inflight += s;
        }
        if (poll(&p, 1, 5) > 0) {
            for (int i = 0; i < RTC_UDP_BATCH_MAX; i++)
                rx[i] = (rtc_udp_rx){.buf = rbufs[i], .cap = sizeof rbufs[i]};
            int n = rtc_udp_recv_batch(b.cli, rx, RTC_UDP_BATCH_MAX);
            if (n > 0) {
                got += (uint64_t)n;
                inflight -= n;
                last_rx = rtc_net_now();
            }
        }
        if (rtc_net_now() - last_rx > RTC_MS(50)) { /* losses: refill the window */
            inflight = 0;
            last_rx = rtc_net_now();
        }
    }
    rtc_time dt = rtc_net_now() - t0;
    atomic_store(&b.stop, 1);
    pthread_join(th, NULL);
    rtc_udp_stats st;
    rtc_udp_stats_get(b.srv, &st);
    printf("%-8s echoed %9.0f dgram/s  server %.3f cpu-us/dgram  (%llu served, %.1f dgram per "
           "recv syscall)\n",
           batched ? "batched" : "single", got / (dt / 1e6), b.srv_cpu_us / (double)b.served,
           (unsigned long long)b.served,
           st.rx_syscalls ? (double)st.rx_packets / (double)st.rx_syscalls : 0.0);
    rtc_udp_free(b.srv);
    rtc_udp_free(b.cli);
}

int main(int argc, char **argv) {
    double secs = argc > 1 ? atof(argv[1]) : 2.0;
    if (secs <= 0 || secs > 60) secs = 2.0;
    run(false, secs);
    run(true, secs);
    return 0;
}
