/*
** bench/pc: the peer connection end to end, both peers in one process.
**
**  1. setup, sans-IO: offer -> both channels open over an in-memory network with no delay on a
**     virtual clock: wall time is the CPU the whole setup costs (certificates shared; ICE,
**     DTLS handshake, SCTP, DCEP), 200 runs, p50/p99;
**  2. setup, real: two rtc_peer on one rtc_loop over UDP on 127.0.0.1, wall clock from
**     create_offer to both channels open (ICE nomination delay 1 ms), 200 runs, p50/p99;
**  3. throughput, sans-IO with DTLS: 64 KiB and 1 KiB messages one way, MB/s and messages/s;
**  4. throughput, real: two rtc_peer on one rtc_loop over UDP on 127.0.0.1 (the scenario
**     bench/pc/ndc_throughput.cjs measures for libdatachannel), bufferedAmount flow control,
**     64 KiB and 1 KiB messages for S seconds.
**
**   bench_pc mem [connections, default 1000]   memory per idle connected pc (mem.c)
**   bench_pc [runs, default 200; 0 skips the setup benches] [MiB for throughput, default 256]
**            [S seconds for the UDP throughput, default 3; 0 skips it]
** bench/pc/compare.sh runs this and node-datachannel in the same run and prints ratios.
*/
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cwebrtc/net.h"
#include "cwebrtc/peer.h"
#include "pc_pair.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, double *ms, int n) {
    qsort(ms, (size_t)n, sizeof *ms, cmpd);
    printf("%-44s p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms  (%d runs)\n", what, ms[n / 2],
           ms[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1], ms[n - 1], n);
}

static bool open_both(pp_pair *p, void *ud) { return p->s[0].n_opened >= 1 && p->s[1].n_opened >= 1; }

static void bench_setup_sansio(int runs, rtc_dtls_cert *cert) {
    double *ms = calloc((size_t)runs, sizeof *ms);
    double *virt = calloc((size_t)runs, sizeof *virt);
    rtc_pc_config cfg = {.certificate = cert, .ice_nomination_delay = 1000};
    int ok = 0;
    for (int r = 0; r < runs; r++) {
        pp_pair *p = calloc(1, sizeof *p);
        if (pp_init(p, (uint64_t)r + 1, &cfg, &cfg)) break;
        p->link[0].delay = p->link[1].delay = 0;
        double t0 = now_s();
        rtc_time v0 = p->now;
        rtc_pc_create_data_channel(p->s[0].pc, "b", NULL, NULL);
        if (pp_negotiate(p, 0) == 0 && pp_run_until(p, open_both, NULL, RTC_SEC(30))) {
            ms[ok] = (now_s() - t0) * 1e3;
            virt[ok] = (double)(p->now - v0) / 1e3;
            ok++;
        }
        pp_free(p);
        free(p);
    }
    report("setup sans-IO, CPU (wall, 0 delay)", ms, ok);
    report("setup sans-IO, virtual protocol time", virt, ok);
    free(ms);
    free(virt);
}

typedef struct rs {
    rtc_peer *p;
    struct rs *o;
    int opened;
} rs;
static void r_cand(rtc_peer *p, const char *c, const char *mid, int idx, void *ud) {
    rs *s = ud;
    if (c[0]) rtc_peer_add_ice_candidate(s->o->p, c, mid, idx);
}
static void r_open(rtc_peer *p, uint32_t ch, void *ud) { ((rs *)ud)->opened++; }

static void bench_setup_real(int runs, rtc_dtls_cert *cert) {
    double *ms = calloc((size_t)runs, sizeof *ms);
    rtc_loop *loop;
    if (rtc_loop_new(&loop, NULL)) return;
    int ok = 0;
    static char offer[8192], answer[8192];
    for (int r = 0; r < runs; r++) {
        rs s[2] = {{0}};
        s[0].o = &s[1];
        s[1].o = &s[0];
        for (int i = 0; i < 2; i++) {
            rtc_peer_callbacks cb = {.on_ice_candidate = r_cand, .on_open = r_open, .ud = &s[i]};
            rtc_peer_config c = {.pc = {.certificate = cert, .ice_nomination_delay = 1000}};
            rtc_addr_parse(&c.bind, "127.0.0.1", 0);
            if (rtc_peer_new(&s[i].p, loop, &c, &cb, NULL)) return;
        }
        double t0 = now_s();
        rtc_peer_create_data_channel(s[0].p, "b", NULL, NULL);
        rtc_peer_create_offer(s[0].p, offer, sizeof offer);
        rtc_peer_set_local_description(s[0].p, RTC_PC_SDP_OFFER, NULL);
        rtc_peer_set_remote_description(s[1].p, RTC_PC_SDP_OFFER, offer, strlen(offer));
        rtc_peer_create_answer(s[1].p, answer, sizeof answer);
        rtc_peer_set_local_description(s[1].p, RTC_PC_SDP_ANSWER, NULL);
        rtc_peer_set_remote_description(s[0].p, RTC_PC_SDP_ANSWER, answer, strlen(answer));
        while (now_s() - t0 < 5 && !(s[0].opened && s[1].opened)) rtc_loop_run_once(loop, RTC_MS(10));
        if (s[0].opened && s[1].opened) ms[ok++] = (now_s() - t0) * 1e3;
        rtc_peer_free(s[0].p);
        rtc_peer_free(s[1].p);
        rtc_loop_run_once(loop, 0);
    }
    rtc_loop_free(loop);
    report("setup rtc_peer over 127.0.0.1 UDP (wall)", ms, ok);
    free(ms);
}

static void bench_throughput(size_t msg, size_t total, rtc_dtls_cert *cert) {
    rtc_pc_config cfg = {.certificate = cert, .ice_nomination_delay = 1000};
    pp_pair *p = calloc(1, sizeof *p);
    if (pp_init(p, 77, &cfg, &cfg)) return;
    p->link[0].delay = p->link[1].delay = 0;
    p->s[0].keep_data = p->s[1].keep_data = false;
    uint32_t ch;
    rtc_pc_create_data_channel(p->s[0].pc, "t", NULL, &ch);
    if (pp_negotiate(p, 0) || !pp_run_until(p, open_both, NULL, RTC_SEC(30))) {
        printf("throughput: setup failed\n");
        return;
    }
    uint8_t *buf = calloc(1, msg);
    size_t sent = 0;
    double t0 = now_s();
    for (long guard = 0; guard < 100000000 && p->s[1].msg_bytes < total; guard++) {
        while (sent < total && rtc_pc_dc_send(p->s[0].pc, ch, true, buf, msg) == RTC_OK) sent += msg;
        pp_drain_all(p);
        if (!pp_step(p)) break;
    }
    double dt = now_s() - t0;
    printf("throughput %6zu B messages, DTLS, 0 delay:  %8.1f MB/s  %9.0f msg/s  (%.0f MiB)\n", msg,
           (double)p->s[1].msg_bytes / dt / 1e6, (double)p->s[1].msg_bytes / (double)msg / dt,
           (double)p->s[1].msg_bytes / 1048576.0);
    free(buf);
    pp_free(p);
    free(p);
}

typedef struct ts {
    rtc_peer *p;
    uint32_t ch;
    bool open, got_channel;
    const uint8_t *buf;
    size_t msg;
    uint64_t rx_bytes, rx_msgs;
    double t0, t1;
} ts;

static void t_pump(ts *s) {
    while (s->open && rtc_peer_send(s->p, s->ch, true, s->buf, s->msg) == RTC_OK) {
    }
}
static void t_open(rtc_peer *p, uint32_t ch, void *ud) {
    ts *s = ud;
    if (s->buf) { /* the sender */
        s->open = true;
        t_pump(s);
    }
}
static void t_dc(rtc_peer *p, uint32_t ch, const rtc_pc_dc_info *info, void *ud) {
    ((ts *)ud)->got_channel = true;
}
static void t_low(rtc_peer *p, uint32_t ch, void *ud) { t_pump(ud); }
static void t_msg(rtc_peer *p, uint32_t ch, bool bin, const uint8_t *d, size_t len, void *ud) {
    ts *s = ud;
    double t = now_s();
    if (s->rx_msgs == 0) s->t0 = t;
    s->rx_bytes += len;
    s->rx_msgs++;
    s->t1 = t;
}
static ts *t_peer_s[2];
static void t_cand(rtc_peer *p, const char *c, const char *mid, int idx, void *ud) {
    ts *o = ud == t_peer_s[0] ? t_peer_s[1] : t_peer_s[0];
    if (c[0]) rtc_peer_add_ice_candidate(o->p, c, mid, idx);
}

/* Same scenario as ndc_throughput.cjs: real sockets on 127.0.0.1, both peers in this process
** (one loop thread here; libdatachannel uses its own threads). The rate is what the receiver
** got between its first and last message. */
static void bench_throughput_udp(size_t msg, double secs, rtc_dtls_cert *cert) {
    rtc_loop *loop;
    if (rtc_loop_new(&loop, NULL)) return;
    uint8_t *buf = calloc(1, msg);
    ts s[2] = {{0}};
    t_peer_s[0] = &s[0];
    t_peer_s[1] = &s[1];
    s[0].buf = buf;
    s[0].msg = msg;
    for (int i = 0; i < 2; i++) {
        rtc_peer_callbacks cb = {.on_ice_candidate = t_cand, .on_open = t_open, .on_data_channel = t_dc,
                                 .on_buffered_amount_low = t_low, .on_message = t_msg, .ud = &s[i]};
        rtc_peer_config c = {.pc = {.certificate = cert, .ice_nomination_delay = 1000}};
        rtc_addr_parse(&c.bind, "127.0.0.1", 0);
        if (rtc_peer_new(&s[i].p, loop, &c, &cb, NULL)) {
            printf("throughput UDP: rtc_peer_new failed\n");
            return;
        }
    }
    static char offer[8192], answer[8192];
    rtc_peer_create_data_channel(s[0].p, "t", NULL, &s[0].ch);
    rtc_peer_set_buffered_amount_low_threshold(s[0].p, s[0].ch, 256 * 1024);
    rtc_peer_create_offer(s[0].p, offer, sizeof offer);
    rtc_peer_set_local_description(s[0].p, RTC_PC_SDP_OFFER, NULL);
    rtc_peer_set_remote_description(s[1].p, RTC_PC_SDP_OFFER, offer, strlen(offer));
    rtc_peer_create_answer(s[1].p, answer, sizeof answer);
    rtc_peer_set_local_description(s[1].p, RTC_PC_SDP_ANSWER, NULL);
    rtc_peer_set_remote_description(s[0].p, RTC_PC_SDP_ANSWER, answer, strlen(answer));
    double start = now_s();
    while (now_s() - start < secs + 10 && (s[1].rx_msgs == 0 || s[1].t1 - s[1].t0 < secs)) {
        rtc_loop_run_once(loop, RTC_MS(10));
        t_pump(&s[0]); /* in case a low event raced the last send */
    }
    double dt = s[1].t1 - s[1].t0;
    if (dt > 0)
        printf("throughput %6zu B messages, DTLS, UDP 127.0.0.1: %8.1f MB/s  %9.0f msg/s  (%.0f MiB)\n",
               msg, (double)s[1].rx_bytes / dt / 1e6, (double)s[1].rx_msgs / dt,
               (double)s[1].rx_bytes / 1048576.0);
    else
        printf("throughput %6zu B messages, DTLS, UDP 127.0.0.1: failed (nothing received)\n", msg);
    rtc_peer_free(s[0].p);
    rtc_peer_free(s[1].p);
    rtc_loop_run_once(loop, 0);
    rtc_loop_free(loop);
    free(buf);
}

int bench_pc_mem_init(void); /* mem.c */
int bench_pc_mem(int conns);

int main(int argc, char **argv) {
    if (bench_pc_mem_init()) fprintf(stderr, "bench_pc: OpenSSL memory counting unavailable\n");
    if (argc > 1 && !strcmp(argv[1], "mem")) return bench_pc_mem(argc > 2 ? atoi(argv[2]) : 1000);
    int runs = argc > 1 ? atoi(argv[1]) : 200;
    size_t mib = argc > 2 ? (size_t)atoi(argv[2]) : 256;
    double udp_s = argc > 3 ? atof(argv[3]) : 3;
    rtc_dtls_cert *cert = NULL;
    if (rtc_dtls_cert_new(&cert, NULL, NULL)) return 1;
    if (runs > 0) {
        bench_setup_sansio(runs, cert);
        bench_setup_real(runs, cert);
    }
    if (mib > 0) {
        bench_throughput(65536, mib << 20, cert);
        bench_throughput(1024, (mib << 20) / 8, cert);
    }
    if (udp_s > 0) {
        bench_throughput_udp(65536, udp_s, cert);
        bench_throughput_udp(1024, udp_s, cert);
    }
    rtc_dtls_cert_free(cert);
    return 0;
}
