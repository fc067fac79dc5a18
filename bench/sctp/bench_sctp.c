/*
** bench/sctp: SCTP throughput between two associations in one process, no DTLS, no
** loss: ours against ours (with and without RFC 9653 zero checksums), and usrsctp
** against usrsctp (AF_CONN, usrsctp_init_nothreads) when libusrsctp was found.
** Prints MB/s of user data (wall clock), MB per CPU-second (the same bytes over the
** process CPU time: what to compare on a shared machine), messages/s, packets/s and
** CPU µs per packet (both directions' packets, the CPU of the whole process: both
** ends run on this thread), then ratios ours/usrsctp.
**
**   bench_sctp [MiB per run, default 256]
*/
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cwebrtc/sctp.h"

typedef struct result {
    double mbps, msgps, pktps, us_per_pkt, bytes_per_pkt;
    double mb_per_cpu_s; /* user bytes per CPU second: immune to a busy machine */
    int ok;
} result;

static double mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
static double cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
static rtc_time now_us(void) { return (rtc_time)(mono() * 1e6); }

/* ---- ours <-> ours ------------------------------------------------------------------ */

static uint64_t pkts;

/* Like a driver that handles each datagram completely (input, then the output it
** caused) before the next: packets alternate one at a time between the two ends, so
** every SACK the receiver's policy asks for (each 2nd packet) really goes out. */
static void xfer(rtc_sctp *x, rtc_sctp *y, rtc_time now) {
    const uint8_t *d;
    size_t n;
    for (;;) {
        bool any = false;
        if (rtc_sctp_poll_transmit(x, &d, &n)) {
            pkts++;
            rtc_sctp_handle_packet(y, now, d, n);
            any = true;
        }
        if (rtc_sctp_poll_transmit(y, &d, &n)) {
            pkts++;
            rtc_sctp_handle_packet(x, now, d, n);
            any = true;
        }
        if (!any) break;
    }
}

static result bench_ours(size_t msg, size_t total, bool zero_csum) {
    result r = {0};
    rtc_sctp_config cfg;
    rtc_sctp_config_default(&cfg);
    cfg.zero_checksum = zero_csum;
    rtc_sctp *a = NULL, *b = NULL;
    if (rtc_sctp_new(&a, &cfg, NULL) || rtc_sctp_new(&b, &cfg, NULL)) return r;
    rtc_time now = now_us();
    rtc_sctp_connect(a, now);
    rtc_sctp_connect(b, now);
    for (int i = 0; i < 10; i++) {
        xfer(a, b, now);
        xfer(b, a, now);
    }
    if (rtc_sctp_get_state(a) != RTC_SCTP_ESTABLISHED) return r;
    uint8_t *buf = malloc(msg);
    for (size_t i = 0; i < msg; i++) buf[i] = (uint8_t)(i * 7);
    rtc_sctp_send_opts o = rtc_sctp_send_opts_reliable(1, 53);
    size_t sent = 0, got = 0, msgs = 0;
    pkts = 0;
    double t0 = mono(), c0 = cpu();
    while (got < total) {
        now = now_us();
        while (sent < total && rtc_sctp_send(a, now, &o, buf, msg) == RTC_OK) sent += msg;
        xfer(a, b, now);
        rtc_sctp_event ev;
        while (rtc_sctp_poll_event(b, &ev))
            if (ev.kind == RTC_SCTP_EV_MESSAGE) {
                got += ev.len;
                msgs++;
            }
        xfer(b, a, now);
        if (rtc_sctp_next_timeout(a) <= now) rtc_sctp_handle_timeout(a, now);
        if (rtc_sctp_next_timeout(b) <= now) rtc_sctp_handle_timeout(b, now);
        while (rtc_sctp_poll_event(a, &ev)) {}
        if (mono() - t0 > 60) break;
    }
    double dt = mono() - t0, dc = cpu() - c0;
    rtc_sctp_stats st;
    rtc_sctp_get_stats(a, &st);
    if (getenv("BENCH_DEBUG")) {
        rtc_sctp_stats sb;
        rtc_sctp_get_stats(b, &sb);
        fprintf(stderr, "a sent %llu pkts, b sent %llu pkts, b got %llu\n", (unsigned long long)st.packets_sent, (unsigned long long)sb.packets_sent, (unsigned long long)sb.packets_received);
    }
    r.ok = got >= total;
    r.mb_per_cpu_s = (double)got / dc / 1e6;
    r.mbps = (double)got / dt / 1e6;
    r.msgps = (double)msgs / dt;
    r.pktps = (double)pkts / dt;
    r.us_per_pkt = dc * 1e6 / (double)pkts;
    r.bytes_per_pkt = (double)st.bytes_sent / (double)st.packets_sent;
    free(buf);
    rtc_sctp_free(a);
    rtc_sctp_free(b);
    return r;
}

/* ---- usrsctp <-> usrsctp ------------------------------------------------------------ */
#ifdef HAVE_USRSCTP
#include <arpa/inet.h>
#include <usrsctp.h>

typedef struct upkt {
    struct upkt *next;
    size_t len;
    uint8_t data[];
} upkt;
static upkt *qh, *qt;
static int conn_addr;

static int u_out(void *addr, void *buf, size_t len, uint8_t tos, uint8_t df) {
    (void)addr;
    (void)tos;
    (void)df;
    upkt *k = malloc(sizeof *k + len);
    if (!k) return -1;
    k->next = NULL;
    k->len = len;
    memcpy(k->data, buf, len);
    if (qt) qt->next = k;
    else qh = k;
    qt = k;
    pkts++;
    return 0;
}

static void u_pump(void) {
    for (int guard = 0; guard < 1000000 && qh; guard++) {
        upkt *k = qh;
        qh = k->next;
        if (!qh) qt = NULL;
        usrsctp_conninput(&conn_addr, k->data, k->len, 0);
        free(k);
    }
}

static struct socket *u_sock(uint16_t port) {
    struct socket *s = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL);
    if (!s) return NULL;
    usrsctp_set_non_blocking(s, 1);
    int on = 1;
    usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof on);
    usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof on);
    struct sockaddr_conn a;
    memset(&a, 0, sizeof a);
    a.sconn_family = AF_CONN;
    a.sconn_port = htons(port);
    a.sconn_addr = &conn_addr;
    usrsctp_bind(s, (struct sockaddr *)&a, sizeof a);
    return s;
}

static result bench_usrsctp(size_t msg, size_t total) {
    result r = {0};
    static bool inited;
    if (!inited) {
        inited = true;
        usrsctp_init_nothreads(0, u_out, NULL);
        usrsctp_sysctl_set_sctp_ecn_enable(0);
        usrsctp_sysctl_set_sctp_sendspace(4 * 1024 * 1024);
        usrsctp_sysctl_set_sctp_recvspace(1024 * 1024);
        usrsctp_register_address(&conn_addr);
    }
    struct socket *srv = u_sock(5001), *cli = u_sock(5000), *acc = NULL;
    if (!srv || !cli) return r;
    usrsctp_listen(srv, 1);
    struct sockaddr_conn to;
    memset(&to, 0, sizeof to);
    to.sconn_family = AF_CONN;
    to.sconn_port = htons(5001);
    to.sconn_addr = &conn_addr;
    usrsctp_connect(cli, (struct sockaddr *)&to, sizeof to);
    for (int i = 0; i < 100 && !acc; i++) {
        u_pump();
        acc = usrsctp_accept(srv, NULL, NULL);
    }
    if (!acc) return r;
    usrsctp_set_non_blocking(acc, 1);
    uint8_t *buf = malloc(msg), *rb = malloc(1 << 20);
    memset(buf, 7, msg);
    struct sctp_sndinfo si;
    memset(&si, 0, sizeof si);
    si.snd_sid = 1;
    si.snd_ppid = htonl(53);
    si.snd_flags = SCTP_EOR;
    size_t sent = 0, got = 0, msgs = 0;
    pkts = 0;
    double t0 = mono(), c0 = cpu();
    double last_tick = t0;
    while (got < total) {
        while (sent < total &&
               usrsctp_sendv(cli, buf, msg, NULL, 0, &si, sizeof si, SCTP_SENDV_SNDINFO, 0) >= 0)
            sent += msg;
        u_pump();
        for (;;) {
            struct sctp_rcvinfo ri;
            socklen_t il = sizeof ri;
            unsigned int it = 0;
            int flags = 0;
            ssize_t n = usrsctp_recvv(acc, rb, 1 << 20, NULL, NULL, &ri, &il, &it, &flags);
            if (n <= 0) break;
            if (flags & MSG_NOTIFICATION) continue;
            got += (size_t)n;
            if (flags & MSG_EOR) msgs++;
        }
        u_pump();
        double t = mono();
        if (t - last_tick >= 0.01) {
            usrsctp_handle_timers((uint32_t)((t - last_tick) * 1000));
            last_tick = t;
        }
        if (t - t0 > 60) break;
    }
    double dt = mono() - t0, dc = cpu() - c0;
    r.ok = got >= total;
    r.mb_per_cpu_s = (double)got / dc / 1e6;
    r.mbps = (double)got / dt / 1e6;
    r.msgps = (double)msgs / dt;
    r.pktps = (double)pkts / dt;
    r.us_per_pkt = dc * 1e6 / (double)pkts;
    r.bytes_per_pkt = 0;
    r.mb_per_cpu_s = (double)got / dc / 1e6;
    usrsctp_close(acc);
    usrsctp_close(cli);
    usrsctp_close(srv);
    u_pump();
    free(buf);
    free(rb);
    return r;
}
#endif

static void print(const char *name, size_t msg, result r) {
    printf("%-22s %5zu B msgs: %7.1f MB/s %8.1f MB/CPU-s %9.0f msg/s %8.0f pkt/s %5.2f us "
           "CPU/pkt%s\n",
           name, msg, r.mbps, r.mb_per_cpu_s, r.msgps, r.pktps, r.us_per_pkt,
           r.ok ? "" : "  (INCOMPLETE)");
}

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? (size_t)atoi(argv[1]) : 256;
    size_t total = mib << 20;
    size_t sizes[] = {65536, 1024};
    for (int i = 0; i < 2; i++) {
        size_t msg = sizes[i];
        size_t tot = msg == 1024 ? total / 4 : total;
        result zc = bench_ours(msg, tot, true);
        result crc = bench_ours(msg, tot, false);
        print("ours (zero checksum)", msg, zc);
        print("ours (CRC-32c)", msg, crc);
#ifdef HAVE_USRSCTP
        result u = bench_usrsctp(msg, tot);
        print("usrsctp 0.9.5", msg, u);
        if (u.mbps > 0)
            printf("  ours/usrsctp: MB per CPU-second %.2fx (zero checksum) %.2fx (CRC-32c); "
                   "wall MB/s %.2fx %.2fx; CPU per packet %.2fx %.2fx less\n",
                   zc.mb_per_cpu_s / u.mb_per_cpu_s, crc.mb_per_cpu_s / u.mb_per_cpu_s,
                   zc.mbps / u.mbps, crc.mbps / u.mbps, u.us_per_pkt / zc.us_per_pkt,
                   u.us_per_pkt / crc.us_per_pkt);
#else
        printf("  usrsctp not found at configure time: no reference numbers\n");
#endif
    }
    return 0;
}
