/*
** turn_probe: drive the TURN client core against a real TURN server (coTURN in
** tests/integration/turnclient_coturn.sh). It opens a UDP echo peer on 127.0.0.1 and
** then, over UDP or TCP to the server:
**   allocate (401 dance) -> permission -> data both ways by Send/Data indications ->
**   channel -> data both ways by ChannelData -> forced Refresh -> (optionally) wait so
**   that permission/channel refreshes and stale nonces happen -> data again ->
**   deallocate -> check the relay no longer delivers.
** Prints one line per verified step and exits 0 only when every step verified
** (1 on a failed step, 2 on usage errors). With --expect-auth-failure it exits 0 only
** when the allocation fails with RTC_ERR_AUTH.
** Not a ctest test: built by tests/unit/turn/extra.cmake.
*/
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cwebrtc/net.h"
#include "cwebrtc/turn_client.h"

typedef struct probe {
    rtc_turn_client *c;
    bool tcp;
    rtc_udp *sock; /* UDP to the server */
    int tcp_fd;    /* TCP to the server */
    rtc_udp *peer; /* the echo peer */
    rtc_addr server, local, peer_addr, relayed;
    /* what happened */
    int allocated, failed, closed, refreshed, perm_ok, perm_fail, chan_ok, chan_fail;
    int fail_err, fail_code;
    int perm_refreshes, chan_refreshes;
    uint8_t got[2048];
    size_t got_len;
    uint16_t got_chan;
    rtc_addr got_peer;
    int n_got;
    int peer_rx;       /* datagrams the echo peer received from the relayed address */
    int peer_rx_other; /* from anything else */
    int raw_rx;        /* datagrams/reads from the server at the socket level */
} probe;

static probe P; /* one probe per process; die() and finish() release it */

static int finish(int rc) {
    rtc_turn_client_free(P.c);
    rtc_udp_free(P.sock);
    rtc_udp_free(P.peer);
    rtc_net_close(P.tcp_fd);
    memset(&P, 0, sizeof P);
    P.tcp_fd = -1;
    return rc;
}

static int die(const char *what) {
    fprintf(stderr, "FAIL: %s\n", what);
    return finish(1);
}

static void on_data(probe *p, const rtc_addr *peer, uint16_t chan, const uint8_t *d, size_t n) {
    p->got_len = n < sizeof p->got ? n : sizeof p->got;
    memcpy(p->got, d, p->got_len);
    p->got_chan = chan;
    p->got_peer = *peer;
    p->n_got++;
}

static void drain(probe *p) {
    rtc_turn_client_transmit t;
    while (rtc_turn_client_poll_transmit(p->c, &t) == 1) {
        if (!p->tcp) {
            rtc_udp_send(p->sock, &t.dst, t.data, t.len);
            continue;
        }
        size_t off = 0;
        for (int i = 0; i < 1000 && off < t.len; i++) {
            int n = rtc_tcp_send(p->tcp_fd, t.data + off, t.len - off);
            if (n > 0)
                off += (size_t)n;
            else if (n == RTC_ERR_AGAIN)
                poll(&(struct pollfd){p->tcp_fd, POLLOUT, 0}, 1, 10);
            else
                break;
        }
    }
    rtc_turn_event e;
    while (rtc_turn_client_poll_event(p->c, &e) == 1) {
        char a[RTC_ADDR_STRLEN], b[RTC_ADDR_STRLEN];
        switch (e.type) {
        case RTC_TURN_EV_ALLOCATED:
            p->allocated++;
            p->relayed = e.relayed;
            rtc_addr_fmt(&e.relayed, a, sizeof a);
            rtc_addr_fmt(&e.mapped, b, sizeof b);
            printf("allocated relayed %s mapped %s lifetime %u\n", a, b, e.lifetime);
            break;
        case RTC_TURN_EV_REFRESHED:
            p->refreshed++;
            printf("refreshed lifetime %u\n", e.lifetime);
            break;
        case RTC_TURN_EV_PERMISSION:
            if (e.error)
                p->perm_fail++;
            else if (e.refresh)
                p->perm_refreshes++;
            else
                p->perm_ok++;
            rtc_addr_fmt_ip(&e.peer, a, sizeof a);
            printf("permission %s%s: %s %d\n", a, e.refresh ? " (refresh)" : "",
                   e.error ? rtc_strerror(e.error) : "ok", e.stun_code);
            break;
        case RTC_TURN_EV_CHANNEL:
            if (e.error)
                p->chan_fail++;
            else if (e.refresh)
                p->chan_refreshes++;
            else
                p->chan_ok++;
            printf("channel 0x%04x%s: %s %d\n", e.channel, e.refresh ? " (refresh)" : "",
                   e.error ? rtc_strerror(e.error) : "ok", e.stun_code);
            break;
        case RTC_TURN_EV_DATA: on_data(p, &e.peer, e.channel, e.data, e.len); break;
        case RTC_TURN_EV_ALTERNATE:
            p->failed++;
            rtc_addr_fmt(&e.alternate, a, sizeof a);
            printf("alternate server %s\n", a);
            break;
        case RTC_TURN_EV_FAILED:
            p->failed++;
            p->fail_err = e.error;
            p->fail_code = e.stun_code;
            printf("failed: %s (STUN %d)\n", rtc_strerror(e.error), e.stun_code);
            break;
        case RTC_TURN_EV_CLOSED:
            p->closed++;
            printf("closed\n");
            break;
        }
    }
}

/* One round of I/O: wait up to max_ms for the server socket, the peer or a timer. */
static void step(probe *p, int max_ms) {
    rtc_time now = rtc_net_now();
    rtc_time next = rtc_turn_client_next_timeout(p->c);
    int wait = max_ms;
    if (next != RTC_TIME_NEVER) {
        rtc_time d = next <= now ? 0 : (next - now + 999) / 1000;
        if (d < wait) wait = (int)d;
    }
    struct pollfd fds[2] = {{p->tcp ? p->tcp_fd : rtc_udp_fd(p->sock), POLLIN, 0},
                            {rtc_udp_fd(p->peer), POLLIN, 0}};
    poll(fds, 2, wait);
    now = rtc_net_now();
    uint8_t buf[4096];
    if (fds[0].revents) {
        if (p->tcp) {
            int n = rtc_tcp_recv(p->tcp_fd, buf, sizeof buf);
            if (n > 0) p->raw_rx++;
            if (n > 0)
                rtc_turn_client_handle_stream(p->c, now, buf, (size_t)n);
            else if (n == RTC_ERR_CLOSED)
                rtc_turn_client_stream_closed(p->c, now);
        } else {
            for (int i = 0; i < 64; i++) {
                rtc_udp_rx rx = {.buf = buf, .cap = sizeof buf};
                if (rtc_udp_recv(p->sock, &rx) != 1) break;
                p->raw_rx++;
                rtc_turn_data d;
                if (rtc_turn_client_handle_packet(p->c, now, &rx.src, buf, rx.len, &d) == 1)
                    on_data(p, &d.peer, d.channel, d.data, d.len);
            }
        }
    }
    if (fds[1].revents) {
        for (int i = 0; i < 64; i++) {
            rtc_udp_rx rx = {.buf = buf, .cap = sizeof buf};
            if (rtc_udp_recv(p->peer, &rx) != 1) break;
            if (p->allocated && rtc_addr_equal(&rx.src, &p->relayed)) {
                p->peer_rx++;
                rtc_udp_send(p->peer, &rx.src, buf, rx.len); /* echo */
            } else {
                p->peer_rx_other++;
            }
        }
    }
    rtc_turn_client_handle_timeout(p->c, now);
    drain(p);
}

/* Run until *flag changes or ms pass. */
static bool wait_for(probe *p, const int *flag, int ms) {
    int start = *flag;
    rtc_time end = rtc_net_now() + RTC_MS(ms);
    while (*flag == start && rtc_net_now() < end)
        step(p, 50);
    return *flag != start;
}

static void pass_time(probe *p, int ms) {
    rtc_time end = rtc_net_now() + RTC_MS(ms);
    while (rtc_net_now() < end)
        step(p, 50);
}

/* Send msg to the echo peer through the relay and wait for the echo. */
static bool echo(probe *p, const char *msg, bool want_channel) {
    uint8_t out[512];
    int n = rtc_turn_client_send(p->c, rtc_net_now(), &p->peer_addr, (const uint8_t *)msg,
                                 strlen(msg), out, sizeof out);
    if (n <= 0) {
        fprintf(stderr, "send: %s\n", rtc_strerror(n));
        return false;
    }
    bool is_chan = (out[0] & 0xC0) == 0x40;
    if (is_chan != want_channel) {
        fprintf(stderr, "send used %s\n", is_chan ? "ChannelData" : "a Send indication");
        return false;
    }
    if (p->tcp) {
        size_t off = 0;
        for (int i = 0; i < 1000 && off < (size_t)n; i++) {
            int k = rtc_tcp_send(p->tcp_fd, out + off, (size_t)n - off);
            if (k > 0)
                off += (size_t)k;
            else
                poll(&(struct pollfd){p->tcp_fd, POLLOUT, 0}, 1, 10);
        }
    } else {
        rtc_udp_send(p->sock, &p->server, out, (size_t)n);
    }
    drain(p);
    int rx_before = p->peer_rx;
    rtc_time end = rtc_net_now() + RTC_MS(3000);
    while (rtc_net_now() < end) {
        int before = p->n_got;
        step(p, 50);
        if (p->n_got != before && p->got_len == strlen(msg) && !memcmp(p->got, msg, p->got_len)) {
            if (!rtc_addr_equal(&p->got_peer, &p->peer_addr)) {
                fprintf(stderr, "echo came from the wrong peer\n");
                return false;
            }
            if ((p->got_chan != 0) != want_channel) {
                fprintf(stderr, "echo came %s\n",
                        p->got_chan ? "as ChannelData" : "in a Data indication");
                return false;
            }
            if (p->peer_rx <= rx_before) return false;
            return true;
        }
    }
    fprintf(stderr, "no echo for \"%s\" (peer got %d)\n", msg, p->peer_rx - rx_before);
    return false;
}

int main(int argc, char **argv) {
    const char *server = NULL, *uri = NULL, *user = "test", *pass = "test123";
    bool expect_auth_fail = false, v6 = false, verbose = false;
    int soak_ms = 0;
    rtc_time perm_refresh = 0, chan_refresh = 0;
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep stdout and stderr in order in logs */
    P.tcp_fd = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tcp"))
            P.tcp = true;
        else if (!strcmp(argv[i], "--expect-auth-failure"))
            expect_auth_fail = true;
        else if (!strcmp(argv[i], "--v6"))
            v6 = true; /* IPv6 relay (REQUESTED-ADDRESS-FAMILY), ::1 peer */
        else if (!strcmp(argv[i], "--verbose"))
            verbose = true;
        else if (i + 1 < argc && !strcmp(argv[i], "--server"))
            server = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--uri"))
            uri = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--user"))
            user = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--pass"))
            pass = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--soak-ms"))
            soak_ms = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--perm-refresh-ms"))
            perm_refresh = RTC_MS(atoi(argv[++i]));
        else if (i + 1 < argc && !strcmp(argv[i], "--chan-refresh-ms"))
            chan_refresh = RTC_MS(atoi(argv[++i]));
        else {
            fprintf(stderr, "usage: turn_probe (--server IP:PORT [--tcp] | --uri turn:...) [--v6]\n"
                            "  [--user U --pass P] [--soak-ms N --perm-refresh-ms N "
                            "--chan-refresh-ms N]\n  [--expect-auth-failure] [--verbose]\n");
            return 2;
        }
    }
    if (uri) { /* turn:HOST[:PORT][?transport=udp|tcp] (RFC 7065) */
        rtc_uri u;
        rtc_turn_transport tr;
        bool tls;
        if (rtc_uri_parse(&u, uri, NULL) != RTC_OK ||
            rtc_turn_client_uri_transport(&u, &tr, &tls) != RTC_OK)
            return die("bad --uri");
        if (tls) return die("turns: needs TLS, which this probe does not do");
        if (rtc_uri_resolve(&u, RTC_RESOLVE_ANY, &P.server, 1) < 1)
            return die("cannot resolve --uri");
        P.tcp = tr == RTC_TURN_TCP;
    } else if (!server || rtc_addr_parse(&P.server, server, 3478) != RTC_OK) {
        return die("bad --server");
    }

    rtc_udp_config pc = {0};
    rtc_addr_parse_ip(&pc.bind, v6 ? "::1" : "127.0.0.1", 0);
    if (rtc_udp_new(&P.peer, &pc, NULL) != RTC_OK) return die("echo peer socket");
    rtc_udp_local_addr(P.peer, &P.peer_addr);
    if (P.tcp) {
        int rc = rtc_tcp_connect(&P.tcp_fd, &P.server, NULL);
        for (int i = 0; rc == RTC_ERR_AGAIN && i < 300; i++) {
            poll(&(struct pollfd){P.tcp_fd, POLLOUT, 0}, 1, 10);
            rc = rtc_tcp_connect_finish(P.tcp_fd);
        }
        if (rc != RTC_OK) return die("tcp connect");
        rtc_net_local_addr(P.tcp_fd, &P.local);
    } else {
        rtc_udp_config uc = {0};
        rtc_addr_parse_ip(&uc.bind, P.server.family == RTC_AF_INET6 ? "::1" : "127.0.0.1", 0);
        if (rtc_udp_new(&P.sock, &uc, NULL) != RTC_OK) return die("client socket");
        rtc_udp_local_addr(P.sock, &P.local);
    }
    rtc_turn_client_config cc = {0};
    cc.username = user;
    cc.password = pass;
    cc.server = P.server;
    cc.local = P.local;
    cc.transport = P.tcp ? RTC_TURN_TCP : RTC_TURN_UDP;
    cc.family = v6 ? RTC_AF_INET6 : 0;
    cc.rto = RTC_MS(200);
    cc.permission_refresh = perm_refresh;
    cc.channel_refresh = chan_refresh;
    rtc_env env = *rtc_env_default();
    if (verbose) { /* the client's log on stderr */
        env.log = rtc_log_stderr;
        env.log_level = RTC_LOG_DEBUG;
    }
    if (rtc_turn_client_new(&P.c, &cc, &env) != RTC_OK) return die("client");
    const char *tr = P.tcp ? (v6 ? "tcp6" : "tcp") : (v6 ? "udp6" : "udp");

    rtc_turn_client_allocate(P.c, rtc_net_now());
    drain(&P);
    rtc_time end = rtc_net_now() + RTC_SEC(10);
    while (!P.allocated && !P.failed && rtc_net_now() < end)
        step(&P, 50);
    if (expect_auth_fail) {
        if (P.failed && P.fail_err == RTC_ERR_AUTH && P.fail_code == 401) {
            printf("ok %s: wrong password refused (401)\n", tr);
            return finish(0);
        }
        return die("expected an authentication failure");
    }
    if (!P.allocated) return die("allocate");
    rtc_addr relayed, mapped;
    rtc_turn_client_get_relayed(P.c, &relayed, &mapped);
    if (!rtc_addr_equal(&mapped, &P.local)) return die("mapped address is not our socket's");
    if (relayed.family != (v6 ? RTC_AF_INET6 : RTC_AF_INET)) return die("relayed address family");
    printf("ok %s: allocate\n", tr);

    if (rtc_turn_client_create_permission(P.c, rtc_net_now(), &P.peer_addr) != RTC_OK)
        return die("create_permission");
    drain(&P);
    if (!wait_for(&P, &P.perm_ok, 5000)) return die("permission");
    printf("ok %s: permission\n", tr);
    for (int i = 0; i < 3; i++) {
        char msg[64];
        snprintf(msg, sizeof msg, "indication-%s-%d", tr, i);
        if (!echo(&P, msg, false)) return die("data by Send/Data indications");
    }
    printf("ok %s: data both ways by indications\n", tr);

    int ch = rtc_turn_client_bind_channel(P.c, rtc_net_now(), &P.peer_addr);
    if (ch < 0x4000) return die("bind_channel");
    drain(&P);
    if (!wait_for(&P, &P.chan_ok, 5000)) return die("channel bind");
    for (int i = 0; i < 3; i++) {
        char msg[64];
        snprintf(msg, sizeof msg, "channel-%s-%d-%s", tr, i, i == 1 ? "odd" : "x"); /* padding */
        if (!echo(&P, msg, true)) return die("data by ChannelData");
    }
    printf("ok %s: channel 0x%04x, data both ways by ChannelData\n", tr, ch);

    if (rtc_turn_client_refresh(P.c, rtc_net_now()) != RTC_OK) return die("refresh");
    drain(&P);
    if (!wait_for(&P, &P.refreshed, 5000)) return die("refresh answer");
    printf("ok %s: refresh\n", tr);

    if (soak_ms > 0) {
        /* Long enough for the server's short permission/channel lifetimes and nonce
        ** expiry to bite: data must still flow on the channel afterwards. */
        pass_time(&P, soak_ms);
        if (P.failed) return die("allocation lost during the soak");
        if (!echo(&P, "after-soak", true)) return die("data after the soak");
        if (perm_refresh && P.perm_refreshes < 1) return die("no permission refresh");
        if (chan_refresh && P.chan_refreshes < 1) return die("no channel refresh");
        if (rtc_turn_client_refresh(P.c, rtc_net_now()) != RTC_OK) return die("refresh 2");
        drain(&P);
        if (!wait_for(&P, &P.refreshed, 5000)) return die("refresh after the soak");
        rtc_turn_client_stats st;
        rtc_turn_client_get_stats(P.c, &st);
        printf("ok %s: after %d ms: %d permission and %d channel refreshes, %llu stale nonces\n",
               tr, soak_ms, P.perm_refreshes, P.chan_refreshes,
               (unsigned long long)st.stale_nonces);
    }

    rtc_turn_client_close(P.c, rtc_net_now());
    drain(&P);
    if (!wait_for(&P, &P.closed, 5000)) return die("deallocate");
    /* The relay is gone: the peer's datagrams to it reach nobody. */
    /* coTURN keeps relaying for up to about a second after it answered the deletion
    ** (measured here: a ChannelData 100 ms later still came through), so wait first. */
    pass_time(&P, 2000);
    int before = P.raw_rx;
    rtc_udp_send(P.peer, &relayed, (const uint8_t *)"ghost", 5);
    pass_time(&P, 300);
    if (P.raw_rx != before) return die("the server still relays after deallocation");
    printf("ok %s: deallocate\n", tr);

    printf("ok %s: all steps verified\n", tr);
    return finish(0);
}
