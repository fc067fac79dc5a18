/*
** cwebrtc stun HOST[:PORT]: one STUN binding transaction (RFC 8489) over UDP or TCP,
** driven by the library's sans-IO rtc_stun_client on an rtc_loop. Prints the server,
** the local and mapped addresses, the RTT and the server's SOFTWARE.
** Exit 0 only when a valid success response with a mapped address arrived.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "cwebrtc/loop.h"
#include "cwebrtc/net.h"
#include "cwebrtc/stun.h"

typedef struct stun_app {
    rtc_loop *loop;
    rtc_stun_client *client;
    rtc_udp *udp;
    int tcp_fd;
    bool tcp, tcp_connected, show_software_missing;
    rtc_framer *framer;
    rtc_addr server, local;
    rtc_timer timer;
    rtc_time last_tx;
    int transmissions;
    int exit_code; /* -1 while running */
    uint8_t req[RTC_STUN_MAX_MSG_LEN];
    int req_len;
} stun_app;

static void finish(stun_app *a, int code) {
    if (a->exit_code < 0) a->exit_code = code;
    rtc_loop_stop(a->loop);
}

static void fail(stun_app *a, const char *fmt, const char *detail) {
    char s[RTC_ADDR_STRLEN];
    rtc_addr_fmt(&a->server, s, sizeof s);
    fprintf(stderr, "cwebrtc stun: %s: ", s);
    fprintf(stderr, fmt, detail);
    fputc('\n', stderr);
    finish(a, EXIT_FAIL);
}

static void flush_transmits(stun_app *a) {
    rtc_stun_transmit tx;
    while (rtc_stun_client_poll_transmit(a->client, &tx) == 1) {
        a->last_tx = rtc_net_now();
        a->transmissions = tx.attempt;
        if (a->tcp) {
            size_t off = 0;
            while (off < tx.len) {
                /* A ~100-byte request on a fresh connection always fits the socket
                ** buffer; RTC_ERR_AGAIN here would mean a wedged connection. */
                int n = rtc_tcp_send(a->tcp_fd, tx.data + off, tx.len - off);
                if (n < 0) {
                    fail(a, "send failed: %s", strerror(errno));
                    return;
                }
                off += (size_t)n;
            }
        } else {
            int rc = rtc_udp_send(a->udp, &tx.dst, tx.data, tx.len);
            /* A refused datagram (e.g. ICMP unreachable on loopback) is just a lost one:
            ** the transaction retransmits and eventually times out. */
            (void)rc;
        }
    }
}

static void on_timer(rtc_loop *l, rtc_timer *t, void *ud);

static void rearm(stun_app *a) {
    rtc_loop_timer_start(a->loop, &a->timer, rtc_stun_client_next_timeout(a->client), on_timer, a);
}

static void report_event(stun_app *a, const rtc_stun_client_event *ev, const rtc_stun_msg *m) {
    char s[RTC_ADDR_STRLEN];
    if (ev->result == RTC_STUN_TXN_TIMEOUT) {
        char why[96];
        snprintf(why, sizeof why, "%d transmission%s", ev->transmissions,
                 ev->transmissions == 1 ? "" : "s");
        fail(a, "no response (timed out after %s)", why);
        return;
    }
    if (ev->result == RTC_STUN_TXN_ERROR) {
        char why[160];
        const char *reason = NULL;
        size_t rlen = 0;
        int code = 0;
        rtc_stun_get_error_code(m, &code, &reason, &rlen);
        snprintf(why, sizeof why, "%d %.*s", code, (int)(rlen > 100 ? 100 : rlen),
                 reason ? reason : "");
        fail(a, "error response: %s", why);
        return;
    }
    rtc_addr mapped;
    int rc = rtc_stun_get_xor_addr(m, RTC_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped);
    if (rc == RTC_ERR_NOT_FOUND) rc = rtc_stun_get_addr(m, RTC_STUN_ATTR_MAPPED_ADDRESS, &mapped);
    if (rc != RTC_OK) {
        fail(a, "malformed response: %s",
             rc == RTC_ERR_NOT_FOUND ? "no (XOR-)MAPPED-ADDRESS" : "bad mapped address");
        return;
    }
    rtc_time rtt = rtc_net_now() - a->last_tx;
    rtc_addr_fmt(&a->server, s, sizeof s);
    printf("server    %s (%s)\n", s, a->tcp ? "tcp" : "udp");
    rtc_addr_fmt(&a->local, s, sizeof s);
    printf("local     %s\n", s);
    rtc_addr_fmt(&mapped, s, sizeof s);
    printf("mapped    %s\n", s);
    printf("rtt       %.3f ms%s\n", (double)rtt / 1000.0,
           a->transmissions > 1 ? " (after retransmission)" : "");
    const uint8_t *sw;
    size_t swlen;
    if (rtc_stun_get_bytes(m, RTC_STUN_ATTR_SOFTWARE, &sw, &swlen) == RTC_OK) {
        printf("software  ");
        for (size_t i = 0; i < swlen && i < 200; i++)
            putchar(sw[i] >= 0x20 && sw[i] < 0x7f ? sw[i] : '?');
        putchar('\n');
    } else {
        printf("software  (none)\n");
    }
    fflush(stdout);
    finish(a, EXIT_OK);
}

/* One message from the server's transport address. */
static void handle_message(stun_app *a, const uint8_t *buf, size_t len) {
    rtc_stun_msg m;
    int rc = rtc_stun_parse(&m, buf, len);
    if (rc == RTC_ERR_UNSUPPORTED) rc = RTC_OK; /* unknown attributes in a response: §6.3.3 */
    if (rc != RTC_OK) {
        fail(a, "malformed response (%s)", rtc_strerror(rc));
        return;
    }
    rtc_stun_client_event ev;
    if (rtc_stun_client_handle_response(a->client, rtc_net_now(), &m, &ev) == 1)
        report_event(a, &ev, &m);
    /* Anything else (a stray or duplicate response) is dropped, as RFC 8489 §6.3 says. */
}

static void on_udp(rtc_loop *l, int fd, unsigned events, void *ud) {
    stun_app *a = ud;
    uint8_t bufs[8][1500];
    rtc_udp_rx rx[8];
    for (int i = 0; i < 8; i++) {
        rx[i].buf = bufs[i];
        rx[i].cap = sizeof bufs[i];
    }
    int n = rtc_udp_recv_batch(a->udp, rx, 8);
    for (int i = 0; i < n && a->exit_code < 0; i++) {
        if (!rtc_addr_equal(&rx[i].src, &a->server)) continue; /* not our server */
        handle_message(a, rx[i].buf, rx[i].len);
    }
}

static void on_tcp(rtc_loop *l, int fd, unsigned events, void *ud) {
    stun_app *a = ud;
    if (!a->tcp_connected) {
        int rc = rtc_tcp_connect_finish(fd);
        if (rc == RTC_ERR_AGAIN) return;
        if (rc != RTC_OK) {
            fail(a, "connect failed: %s", strerror(errno));
            return;
        }
        a->tcp_connected = true;
        rtc_net_local_addr(fd, &a->local);
        rtc_loop_watch_modify(l, fd, RTC_LOOP_READ);
        rtc_stun_txn_params p = {.reliable = true, .dst = a->server};
        if (rtc_stun_client_start(a->client, rtc_net_now(), a->req, (size_t)a->req_len, &p) !=
            RTC_OK) {
            fail(a, "%s", "cannot start the transaction");
            return;
        }
        flush_transmits(a);
        rearm(a);
        return;
    }
    uint8_t buf[4096];
    int n = rtc_tcp_recv(fd, buf, sizeof buf);
    if (n == RTC_ERR_AGAIN) return;
    if (n < 0) {
        fail(a, "%s", n == RTC_ERR_CLOSED ? "connection closed before a response" : "read failed");
        return;
    }
    size_t off = 0;
    while (off < (size_t)n && a->exit_code < 0) {
        int r = rtc_framer_push(a->framer, buf + off, (size_t)n - off);
        if (r < 0) {
            fail(a, "malformed response stream (%s)", rtc_strerror(r));
            return;
        }
        off += (size_t)r;
        rtc_frame fr;
        while (a->exit_code < 0 && (r = rtc_framer_next(a->framer, &fr)) == 1) {
            if (fr.kind == RTC_FRAMEK_STUN) handle_message(a, fr.data, fr.len);
        }
        if (r < 0) {
            fail(a, "malformed response stream (%s)", rtc_strerror(r));
            return;
        }
    }
}

static void on_timer(rtc_loop *l, rtc_timer *t, void *ud) {
    stun_app *a = ud;
    rtc_stun_client_handle_timeout(a->client, rtc_net_now());
    flush_transmits(a);
    rtc_stun_client_event ev;
    while (a->exit_code < 0 && rtc_stun_client_poll_event(a->client, &ev) == 1)
        report_event(a, &ev, NULL);
    if (a->exit_code < 0) rearm(a);
}

static int usage_err(const char *msg) {
    fprintf(stderr, "cwebrtc stun: %s\nusage: cwebrtc stun HOST[:PORT] [--tcp] [--rto MS]\n", msg);
    return EXIT_USAGE;
}

/* Accepts "host", "host:port", "[v6]:port", "v6", and stun:/stuns: URIs. */
static int parse_target(const char *arg, rtc_uri *uri) {
    const char *why = NULL;
    char buf[RTC_URI_HOST_MAX + 32];
    if (strncmp(arg, "stun:", 5) == 0 || strncmp(arg, "stuns:", 6) == 0)
        return rtc_uri_parse(uri, arg, &why);
    /* A bare IPv6 literal has several colons and no brackets: bracket it. */
    const char *c = strchr(arg, ':');
    if (c && strchr(c + 1, ':') && arg[0] != '[')
        snprintf(buf, sizeof buf, "stun:[%s]", arg);
    else
        snprintf(buf, sizeof buf, "stun:%s", arg);
    return rtc_uri_parse(uri, buf, &why);
}

int cmd_stun(int argc, char **argv) {
    const char *target = NULL;
    bool tcp = false;
    long rto_ms = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--tcp") == 0) {
            tcp = true;
        } else if (app_opt(argc, argv, &i, "--rto", &v)) {
            char *end;
            if (!v || (rto_ms = strtol(v, &end, 10)) <= 0 || *end || rto_ms > 60000)
                return usage_err("--rto needs milliseconds (1..60000)");
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage_err("unknown option");
        } else if (!target) {
            target = argv[i];
        } else {
            return usage_err("one server only");
        }
    }
    if (!target) return usage_err("missing HOST");
    rtc_uri uri;
    if (parse_target(target, &uri) != RTC_OK) return usage_err("bad HOST[:PORT]");
    if (uri.scheme == RTC_URI_STUNS) {
        fprintf(stderr, "cwebrtc stun: stuns: (STUN over TLS) is not supported yet\n");
        return EXIT_FAIL;
    }
    stun_app a = {.exit_code = -1, .tcp = tcp, .tcp_fd = -1};
    rtc_addr addrs[4];
    int n = rtc_uri_resolve(&uri, RTC_RESOLVE_ANY, addrs, 4);
    if (n < 1) {
        fprintf(stderr, "cwebrtc stun: cannot resolve '%s': %s\n", uri.host,
                n == RTC_ERR_NOT_FOUND ? "no such host" : rtc_strerror(n));
        return EXIT_FAIL;
    }
    a.server = addrs[0];

    rtc_stun_client_config ccfg = {.rto = RTC_MS(rto_ms)};
    if (rtc_loop_new(&a.loop, NULL) != RTC_OK || rtc_stun_client_new(&a.client, &ccfg, NULL) != RTC_OK) {
        fprintf(stderr, "cwebrtc stun: out of memory\n");
        return EXIT_FAIL;
    }
    rtc_timer_init(&a.timer);

    /* The request: Binding with SOFTWARE and FINGERPRINT (RFC 8489 §14.7 recommends it). */
    uint8_t tid[RTC_STUN_TID_LEN];
    rtc_stun_client_new_tid(a.client, tid);
    rtc_stun_builder b;
    char sw[64];
    snprintf(sw, sizeof sw, "cwebrtc %s", rtc_version());
    rtc_stun_build_init(&b, a.req, sizeof a.req, RTC_STUN_BINDING, RTC_STUN_REQUEST, tid);
    rtc_stun_add_string(&b, RTC_STUN_ATTR_SOFTWARE, sw);
    rtc_stun_add_fingerprint(&b);
    a.req_len = rtc_stun_build_finish(&b);

    int rc = EXIT_FAIL;
    if (tcp) {
        if (rtc_framer_new(&a.framer, RTC_FRAME_STUN, 0, NULL) != RTC_OK) goto out;
        int r = rtc_tcp_connect(&a.tcp_fd, &a.server, NULL);
        if (r != RTC_OK && r != RTC_ERR_AGAIN) {
            char s[RTC_ADDR_STRLEN];
            rtc_addr_fmt(&a.server, s, sizeof s);
            fprintf(stderr, "cwebrtc stun: %s: connect failed: %s\n", s, strerror(errno));
            goto out;
        }
        rtc_loop_watch(a.loop, a.tcp_fd, RTC_LOOP_WRITE, on_tcp, &a);
        if (r == RTC_OK) on_tcp(a.loop, a.tcp_fd, RTC_LOOP_WRITE, &a);
        /* Bound the connect itself: the transaction's Ti starts once connected. */
        rtc_loop_timer_start(a.loop, &a.timer, rtc_net_now() + RTC_SEC(40), on_timer, &a);
    } else {
        rtc_udp_config ucfg = {0};
        ucfg.bind.family = a.server.family;
        if (rtc_udp_new(&a.udp, &ucfg, NULL) != RTC_OK) {
            fprintf(stderr, "cwebrtc stun: cannot open a UDP socket: %s\n", strerror(errno));
            goto out;
        }
        rtc_udp_local_addr(a.udp, &a.local);
        rtc_loop_watch(a.loop, rtc_udp_fd(a.udp), RTC_LOOP_READ, on_udp, &a);
        rtc_stun_txn_params p = {.dst = a.server};
        if (rtc_stun_client_start(a.client, rtc_net_now(), a.req, (size_t)a.req_len, &p) != RTC_OK)
            goto out;
        flush_transmits(&a);
        rearm(&a);
    }
    while (a.exit_code < 0) {
        if (rtc_loop_run(a.loop) != RTC_OK) break;
    }
    rc = a.exit_code < 0 ? EXIT_FAIL : a.exit_code;
out:
    if (a.tcp_fd >= 0) {
        rtc_loop_unwatch(a.loop, a.tcp_fd);
        rtc_net_close(a.tcp_fd);
    }
    if (a.udp) {
        rtc_loop_unwatch(a.loop, rtc_udp_fd(a.udp));
        rtc_udp_free(a.udp);
    }
    rtc_loop_timer_stop(a.loop, &a.timer);
    rtc_framer_free(a.framer);
    rtc_stun_client_free(a.client);
    rtc_loop_free(a.loop);
    return rc;
}
