/*
** dtls_peer: drives one rtc_dtls core over a real UDP socket, for interop tests against
** third-party DTLS stacks (tests/integration/dtls_openssl.sh runs it against
** `openssl s_server` / `s_client`). Not a library piece: sockets and clocks live here.
**
**   dtls_peer server <bind-ip> [options]        prints "PORT <n>" once bound (port 0)
**   dtls_peer client <ip> <port> [options]
** options:
**   --fp "sha-256 AB:.."    expected peer fingerprint (repeatable); none = accept after
**                           the handshake by setting the peer's own fingerprint (testing only)
**   --cert F --key F        PEM certificate/key (default: fresh ECDSA P-256)
**   --profiles LIST         use_srtp list (OpenSSL names)
**   --send TEXT             send TEXT as application data once connected
**   --expect TEXT           wait until application data containing TEXT arrived
**   --wait-close            wait for the peer's close_notify before exiting
**   --timeout MS            give up after MS (default 10000)
** Output lines: FINGERPRINT <fp>, PORT <n>, CONNECTED profile=0x.... , KEYMAT <HEX>,
** DATA <text>, ALERT <level> <desc>, CLOSED, FAILED <err>. Exit 0 on success.
*/
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cwebrtc/dtls.h"

static rtc_time mono_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (rtc_time)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[2][16384];
    static int which;
    char *b = buf[which++ & 1];
    *len = fread(b, 1, sizeof buf[0] - 1, f);
    b[*len] = 0;
    fclose(f);
    return b;
}

static int usage(void) {
    fprintf(stderr, "usage: dtls_peer server <ip> [opts] | client <ip> <port> [opts]\n");
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 3) return usage();
    int is_server = strcmp(argv[1], "server") == 0;
    if (!is_server && strcmp(argv[1], "client") != 0) return usage();
    const char *ip = argv[2];
    int port = 0, argi = 3;
    if (!is_server) {
        if (argc < 4) return usage();
        port = atoi(argv[3]);
        argi = 4;
    }
    rtc_dtls_fingerprint fps[RTC_DTLS_MAX_REMOTE_FINGERPRINTS];
    size_t nfps = 0;
    const char *cert_path = NULL, *key_path = NULL, *profiles = NULL, *send_text = NULL,
               *expect = NULL;
    int timeout_ms = 10000, wait_close = 0;
    for (int i = argi; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--wait-close") == 0) {
            wait_close = 1;
            continue;
        }
        if (!v) return usage();
        i++;
        if (strcmp(a, "--fp") == 0) {
            if (nfps >= RTC_DTLS_MAX_REMOTE_FINGERPRINTS ||
                rtc_dtls_fingerprint_parse(v, strlen(v), &fps[nfps]) != RTC_OK) {
                fprintf(stderr, "bad fingerprint: %s\n", v);
                return 2;
            }
            nfps++;
        } else if (strcmp(a, "--cert") == 0)
            cert_path = v;
        else if (strcmp(a, "--key") == 0)
            key_path = v;
        else if (strcmp(a, "--profiles") == 0)
            profiles = v;
        else if (strcmp(a, "--send") == 0)
            send_text = v;
        else if (strcmp(a, "--expect") == 0)
            expect = v;
        else if (strcmp(a, "--timeout") == 0)
            timeout_ms = atoi(v);
        else
            return usage();
    }

    rtc_dtls_cert *cert = NULL;
    if (cert_path && key_path) {
        size_t cl, kl;
        char *c = read_file(cert_path, &cl), *k = read_file(key_path, &kl);
        if (!c || !k || rtc_dtls_cert_from_pem(&cert, c, cl, k, kl, NULL) != RTC_OK) {
            fprintf(stderr, "cannot load %s / %s\n", cert_path, key_path);
            return 1;
        }
    } else if (rtc_dtls_cert_new(&cert, NULL, NULL) != RTC_OK) {
        fprintf(stderr, "cert_new failed\n");
        return 1;
    }
    char fpstr[RTC_DTLS_FINGERPRINT_STRLEN];
    rtc_dtls_cert_fingerprint(cert, RTC_DTLS_HASH_SHA256, NULL, fpstr, sizeof fpstr);
    printf("FINGERPRINT %s\n", fpstr);
    fflush(stdout);

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    if (fd < 0 || inet_pton(AF_INET, ip, &sa.sin_addr) != 1) return 1;
    if (is_server) {
        if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) return 1;
        socklen_t sl = sizeof sa;
        getsockname(fd, (struct sockaddr *)&sa, &sl);
        printf("PORT %d\n", ntohs(sa.sin_port));
        fflush(stdout);
    } else {
        sa.sin_port = htons((uint16_t)port);
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) return 1;
    }

    rtc_dtls_config cfg = {.role = is_server ? RTC_DTLS_ROLE_SERVER : RTC_DTLS_ROLE_CLIENT,
                           .cert = cert,
                           .remote_fingerprints = nfps ? fps : NULL,
                           .n_remote_fingerprints = nfps,
                           .srtp_profiles = profiles};
    rtc_dtls *d = NULL;
    if (rtc_dtls_new(&d, &cfg, NULL) != RTC_OK) {
        fprintf(stderr, "rtc_dtls_new failed\n");
        return 1;
    }
    rtc_dtls_start(d, mono_now());

    rtc_time deadline = mono_now() + (rtc_time)timeout_ms * 1000;
    int connected = 0, done = 0, rc = 1, got_expected = expect == NULL, closed = 0;
    int peer_known = !is_server;
    static uint8_t buf[65536];
    while (!done && mono_now() < deadline) {
        rtc_dtls_transmit t;
        while (rtc_dtls_poll_transmit(d, &t) == 1) {
            if (send(fd, t.data, t.len, 0) < 0 && errno != ECONNREFUSED)
                fprintf(stderr, "send: %s\n", strerror(errno));
        }
        rtc_dtls_event ev;
        while (rtc_dtls_poll_event(d, &ev) == 1) {
            switch (ev.kind) {
            case RTC_DTLS_EVENT_CONNECTED: {
                connected = 1;
                printf("CONNECTED profile=0x%04x\n", ev.srtp_profile);
                rtc_dtls_srtp_keys k;
                if (rtc_dtls_get_srtp_keys(d, &k) == RTC_OK) {
                    printf("KEYMAT ");
                    for (int i = 0; i < k.material_len; i++)
                        printf("%02X", k.material[i]);
                    printf("\n");
                }
                if (send_text)
                    rtc_dtls_send(d, mono_now(), (const uint8_t *)send_text, strlen(send_text));
                break;
            }
            case RTC_DTLS_EVENT_DATA:
                printf("DATA %.*s\n", (int)ev.len, (const char *)ev.data);
                if (expect && memmem(ev.data, ev.len, expect, strlen(expect))) got_expected = 1;
                break;
            case RTC_DTLS_EVENT_ALERT:
                printf("ALERT %d %d\n", ev.alert_level, ev.alert_desc);
                break;
            case RTC_DTLS_EVENT_CLOSED:
                printf("CLOSED\n");
                closed = 1;
                break;
            case RTC_DTLS_EVENT_FINGERPRINT_MISMATCH: printf("MISMATCH\n"); break;
            case RTC_DTLS_EVENT_FAILED:
                printf("FAILED %s\n", rtc_strerror(ev.err));
                done = 1;
                break;
            default: break;
            }
            fflush(stdout);
        }
        if (rtc_dtls_get_state(d) == RTC_DTLS_STATE_AWAIT_FINGERPRINT) {
            /* No --fp: pin what the peer presented (interop checks only). */
            rtc_dtls_fingerprint pf;
            rtc_dtls_peer_fingerprint(d, RTC_DTLS_HASH_SHA256, &pf, NULL, 0);
            rtc_dtls_set_remote_fingerprints(d, mono_now(), &pf, 1);
            continue;
        }
        if (connected && got_expected && (!wait_close || closed)) {
            rc = 0;
            break;
        }
        if (closed) break;
        rtc_time now = mono_now(), next = rtc_dtls_next_timeout(d);
        rtc_time wait = (next == RTC_TIME_NEVER ? deadline : next) - now;
        if (wait > 100000) wait = 100000;
        if (wait < 0) wait = 0;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)(wait / 1000)) > 0) {
            struct sockaddr_in from;
            socklen_t fl = sizeof from;
            ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
            if (n > 0) {
                if (!peer_known) { /* the server follows its first client */
                    connect(fd, (struct sockaddr *)&from, fl);
                    peer_known = 1;
                }
                rtc_dtls_handle_packet(d, mono_now(), buf, (size_t)n);
            }
        }
        rtc_dtls_handle_timeout(d, mono_now());
    }
    if (rc == 0 && !closed) {
        rtc_dtls_close(d, mono_now());
        rtc_dtls_transmit t;
        while (rtc_dtls_poll_transmit(d, &t) == 1)
            (void)send(fd, t.data, t.len, 0);
    }
    if (rc != 0)
        printf("RESULT fail\n");
    else
        printf("RESULT ok\n");
    rtc_dtls_free(d);
    rtc_dtls_cert_free(cert);
    close(fd);
    return rc;
}
