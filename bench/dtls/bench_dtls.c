/*
** bench_dtls: DTLS 1.2 handshakes per second between two of our cores in memory, on one
** thread, with the CPU microseconds per handshake (both sides together: that is the
** work one machine does when it is both peers) and the memory held per connected session.
**
**   bench_dtls [handshakes=2000] [ecdsa|rsa]
**
** Certificates are created once and shared by every session (as a real application does);
** every handshake is a full one (no resumption) with ECDHE (X25519), ECDSA P-256
** signatures both ways, the fingerprint check and the DTLS-SRTP key export.
*/
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cwebrtc/dtls.h"

static double wall_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static double cpu_us(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1e6 +
           ru.ru_stime.tv_usec;
}

/* CPU time of this thread, charged to the side whose call it was. */
static double side_cpu[2];
static double thread_cpu_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Move datagrams both ways until neither side has anything to say. */
static int pump(rtc_dtls *a, rtc_dtls *b, int *connected) {
    rtc_dtls *side[2] = {a, b};
    for (int round = 0; round < 100; round++) {
        int moved = 0;
        for (int k = 0; k < 2; k++) {
            rtc_dtls_transmit t;
            while (rtc_dtls_poll_transmit(side[k], &t) == 1) {
                /* t.data stays valid until the next call on side[k]; copy it. */
                uint8_t buf[2048];
                size_t n = t.len < sizeof buf ? t.len : sizeof buf;
                memcpy(buf, t.data, n);
                double t = thread_cpu_us();
                rtc_dtls_handle_packet(side[1 - k], 0, buf, n);
                side_cpu[1 - k] += thread_cpu_us() - t;
                moved++;
            }
            rtc_dtls_event ev;
            while (rtc_dtls_poll_event(side[k], &ev) == 1) {
                if (ev.kind == RTC_DTLS_EVENT_CONNECTED) (*connected)++;
                if (ev.kind == RTC_DTLS_EVENT_FAILED) return -1;
            }
        }
        if (!moved) return 0;
    }
    return -1;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    rtc_dtls_cert_config cc = {.key_type = RTC_DTLS_KEY_ECDSA_P256};
    if (argc > 2 && strcmp(argv[2], "rsa") == 0) cc.key_type = RTC_DTLS_KEY_RSA_2048;
    if (n <= 0) n = 1;

    rtc_dtls_cert *ca = NULL, *cb = NULL;
    if (rtc_dtls_cert_new(&ca, &cc, NULL) || rtc_dtls_cert_new(&cb, &cc, NULL)) {
        fprintf(stderr, "cert_new failed\n");
        return 1;
    }
    rtc_dtls_fingerprint fa, fb;
    rtc_dtls_cert_fingerprint(ca, RTC_DTLS_HASH_SHA256, &fa, NULL, 0);
    rtc_dtls_cert_fingerprint(cb, RTC_DTLS_HASH_SHA256, &fb, NULL, 0);
    rtc_dtls_config cfg_c = {.role = RTC_DTLS_ROLE_CLIENT,
                             .cert = ca,
                             .remote_fingerprints = &fb,
                             .n_remote_fingerprints = 1};
    rtc_dtls_config cfg_s = {.role = RTC_DTLS_ROLE_SERVER,
                             .cert = cb,
                             .remote_fingerprints = &fa,
                             .n_remote_fingerprints = 1};

    /* Certificate creation cost (ECDSA: key, X.509, SSL_CTX). */
    double t0 = wall_us();
    int ncert = cc.key_type == RTC_DTLS_KEY_ECDSA_P256 ? 200 : 3;
    for (int i = 0; i < ncert; i++) {
        rtc_dtls_cert *c = NULL;
        rtc_dtls_cert_new(&c, &cc, NULL);
        rtc_dtls_cert_free(c);
    }
    double cert_us = (wall_us() - t0) / ncert;

    int ok = 0, connected = 0;
    double w0 = wall_us(), c0 = cpu_us();
    for (int i = 0; i < n; i++) {
        rtc_dtls *c = NULL, *s = NULL;
        if (rtc_dtls_new(&c, &cfg_c, NULL) || rtc_dtls_new(&s, &cfg_s, NULL)) return 1;
        double t = thread_cpu_us();
        rtc_dtls_start(c, 0);
        side_cpu[0] += thread_cpu_us() - t;
        rtc_dtls_start(s, 0);
        int before = connected;
        if (pump(c, s, &connected) == 0 && connected == before + 2) {
            rtc_dtls_srtp_keys k;
            if (rtc_dtls_get_srtp_keys(c, &k) == RTC_OK) ok++;
        }
        rtc_dtls_free(c);
        rtc_dtls_free(s);
    }
    double wall = wall_us() - w0, cpu = cpu_us() - c0;
    double client_cpu = side_cpu[0], server_cpu = side_cpu[1];

    /* Memory held per connected session (both ends of 100 pairs, glibc heap). */
    enum { M = 100 };
    static rtc_dtls *cs[M], *ss[M];
    struct mallinfo2 m0 = mallinfo2();
    int mem_ok = 0;
    for (int i = 0; i < M; i++) {
        rtc_dtls_new(&cs[i], &cfg_c, NULL);
        rtc_dtls_new(&ss[i], &cfg_s, NULL);
        rtc_dtls_start(cs[i], 0);
        rtc_dtls_start(ss[i], 0);
        int cn = 0;
        if (pump(cs[i], ss[i], &cn) == 0 && cn == 2) mem_ok++;
    }
    struct mallinfo2 m1 = mallinfo2();
    for (int i = 0; i < M; i++) {
        rtc_dtls_free(cs[i]);
        rtc_dtls_free(ss[i]);
    }

    printf("dtls handshakes (%s certificates, in memory, one thread)\n",
           cc.key_type == RTC_DTLS_KEY_ECDSA_P256 ? "ECDSA P-256" : "RSA-2048");
    printf("  handshakes completed     %d / %d\n", ok, n);
    printf("  handshakes per second    %.0f (wall)\n", n / (wall / 1e6));
    printf("  CPU per handshake        %.0f us (client + server)\n", cpu / n);
    printf("  handshakes per CPU-sec   %.0f\n", n / (cpu / 1e6));
    printf("  of which in the cores    client %.0f us, server %.0f us per handshake\n",
           client_cpu / n, server_cpu / n);
    printf("  server-side only         %.0f handshakes per CPU-second\n", n / (server_cpu / 1e6));
    printf("  certificate creation     %.0f us\n", cert_us);
    printf("  heap per connected session %.1f KiB (%d pairs)\n",
           (double)(m1.uordblks - m0.uordblks) / (2.0 * M) / 1024.0, mem_ok);
    rtc_dtls_cert_free(ca);
    rtc_dtls_cert_free(cb);
    return ok == n ? 0 : 1;
}
