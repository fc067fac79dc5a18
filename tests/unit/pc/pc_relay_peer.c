/*
** tests/unit/pc/pc_relay_peer.c: two rtc_peer in one process, both with
** iceTransportPolicy "relay", through the TURN server(s) given on the command line (the
** native end of tests/integration/pc_relay.sh; a helper, not a ctest of its own).
**
**   pc_relay_peer --url URL [--url URL]... --user U --pass P [--ca FILE] [--insecure]
**                 [--messages N] [--size BYTES (<= 65536)] [--proto udp|tcp|tls] [--timeout S]
**                 [--expect-no-relay] [--trickle] [--verbose]
**
** Checks, in order: non-trickle offer/answer (each side's description after gathering;
** --trickle: descriptions at once, candidates trickled from the callbacks),
** only relay candidates signalled; the data channel opens; N messages cross each way, in
** order, content checked; the selected pair is relay/relay on both sides (stats), with
** relayProtocol --proto when given; the channel closes on both sides; close() on one side
** is seen by the other as connection state "closed" (close_notify through the relays).
** --expect-no-relay: the offerer must complete gathering WITHOUT a relay candidate (e.g. a
** turns: server whose certificate must not verify), then exit 0.
** Prints "ok: ..." lines; exits 0 on success, 1 on failure, 2 on usage errors.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cwebrtc/net.h"
#include "cwebrtc/peer.h"

#define MAX_URLS 8

typedef struct side {
    const char *name;
    rtc_peer *p;
    struct side *other;
    int gathered, relay_cands, other_cands;
    int opened, closed_ch, conn_closed, failed;
    uint32_t ch;
    int received, sent;
    int bad;
} side;

static int n_msgs = 20, msg_size = 1000;
static bool verbose, trickle;

static void payload(const char *from, int i, char *out) {
    int n = snprintf(out, (size_t)msg_size + 1, "%s %d ", from, i);
    for (int k = n; k < msg_size; k++) out[k] = (char)('a' + (i + k) % 26);
    out[msg_size] = 0;
}

static void log_cb(void *ud, int level, const char *module, const char *file, int line,
                   const char *msg) {
    (void)ud, (void)file, (void)line;
    static rtc_time t0;
    if (!t0) t0 = rtc_net_now();
    fprintf(stderr, "  %6.1f ms [%d %s] %s\n", (double)(rtc_net_now() - t0) / 1000.0, level, module, msg);
}

static void on_cand(rtc_peer *p, const char *c, const char *mid, int idx, void *ud) {
    (void)p;
    side *s = ud;
    if (verbose) fprintf(stderr, "%s: candidate '%s'\n", s->name, c);
    if (trickle) rtc_peer_add_ice_candidate(s->other->p, c, mid, idx); /* "" = end */
    if (!c[0]) return;
    if (strstr(c, " typ relay")) s->relay_cands++;
    else s->other_cands++;
}
static void on_gather(rtc_peer *p, int st, void *ud) {
    (void)p;
    if (verbose) fprintf(stderr, "%s: gathering state %d\n", ((side *)ud)->name, st);
    if (st == RTC_ICE_GATHERING_COMPLETE) ((side *)ud)->gathered = 1;
}
static void on_conn(rtc_peer *p, int st, int err, const char *what, void *ud) {
    (void)p, (void)err;
    side *s = ud;
    fprintf(stderr, "%s: connection %s%s%s\n", s->name, rtc_pc_connection_state_name(st),
            what ? ": " : "", what ? what : "");
    if (st == RTC_PC_CONNECTION_FAILED) s->failed = 1;
    if (st == RTC_PC_CONNECTION_CLOSED) s->conn_closed = 1;
}
/* Send until the send buffer refuses (RTC_ERR_AGAIN), go on at buffered-amount-low. */
static void send_more(rtc_peer *p, side *s) {
    static char buf[70000];
    while (s->sent < n_msgs) {
        payload(s->name, s->sent, buf);
        int rc = rtc_peer_send(p, s->ch, s->sent % 2 == 1, (const uint8_t *)buf, (size_t)msg_size);
        if (rc == RTC_ERR_AGAIN) return;
        if (rc != RTC_OK) {
            fprintf(stderr, "%s: send %d: %s\n", s->name, s->sent, rtc_strerror(rc));
            s->bad++;
            return;
        }
        s->sent++;
    }
}
static void on_low(rtc_peer *p, uint32_t ch, void *ud) {
    (void)ch;
    send_more(p, ud);
}
static void on_dc(rtc_peer *p, uint32_t ch, const rtc_pc_dc_info *info, void *ud) {
    (void)p, (void)info;
    ((side *)ud)->ch = ch;
}
static void on_open(rtc_peer *p, uint32_t ch, void *ud) {
    side *s = ud;
    s->ch = ch;
    s->opened = 1;
    rtc_peer_set_buffered_amount_low_threshold(p, ch, 256 * 1024);
    send_more(p, s);
}
static void on_msg(rtc_peer *p, uint32_t ch, bool bin, const uint8_t *d, size_t len, void *ud) {
    (void)p, (void)ch;
    side *s = ud;
    static char want[70000];
    payload(strcmp(s->name, "A") == 0 ? "B" : "A", s->received, want);
    if (len != (size_t)msg_size || memcmp(d, want, len) != 0 || bin != (s->received % 2 == 1)) {
        fprintf(stderr, "%s: message %d differs (len %zu, binary %d)\n", s->name, s->received, len, bin);
        s->bad++;
    }
    s->received++;
}
static void on_close(rtc_peer *p, uint32_t ch, void *ud) {
    (void)p, (void)ch;
    ((side *)ud)->closed_ch = 1;
}

static bool run_until(rtc_loop *l, const int *a, const int *b, rtc_time deadline) {
    while (rtc_net_now() < deadline) {
        if (*a && (!b || *b)) return true;
        rtc_loop_run_once(l, RTC_MS(20));
    }
    return *a && (!b || *b);
}

static int fail(const char *what) {
    fprintf(stderr, "FAIL: %s\n", what);
    return 1;
}

static const char *type_name(int t) {
    static const char *n[] = {"host", "srflx", "prflx", "relay"};
    return t >= 0 && t < 4 ? n[t] : "?";
}

int main(int argc, char **argv) {
    rtc_pc_ice_server servers[MAX_URLS];
    size_t n_servers = 0;
    const char *user = NULL, *pass = NULL, *ca = NULL, *proto = NULL;
    bool insecure = false, expect_none = false;
    int timeout_s = 20;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--insecure")) insecure = true;
        else if (!strcmp(a, "--expect-no-relay")) expect_none = true;
        else if (!strcmp(a, "--verbose")) verbose = true;
        else if (!strcmp(a, "--trickle")) trickle = true;
        else if (!v) return fprintf(stderr, "%s needs a value\n", a), 2;
        else if (!strcmp(a, "--url") && n_servers < MAX_URLS) servers[n_servers++].url = v, i++;
        else if (!strcmp(a, "--user")) user = v, i++;
        else if (!strcmp(a, "--pass")) pass = v, i++;
        else if (!strcmp(a, "--ca")) ca = v, i++;
        else if (!strcmp(a, "--proto")) proto = v, i++;
        else if (!strcmp(a, "--messages")) n_msgs = atoi(v), i++;
        else if (!strcmp(a, "--size")) msg_size = atoi(v), i++;
        else if (!strcmp(a, "--timeout")) timeout_s = atoi(v), i++;
        else return fprintf(stderr, "unknown argument %s\n", a), 2;
    }
    if (!n_servers || !user || !pass || n_msgs < 1 || msg_size < 16 || msg_size > 65536 ||
        timeout_s < 1)
        return fprintf(stderr, "usage: see the comment at the top of %s\n", __FILE__), 2;
    for (size_t i = 0; i < n_servers; i++) servers[i].username = user, servers[i].credential = pass;

    rtc_env env;
    memset(&env, 0, sizeof env);
    env.log = log_cb;
    env.log_level = verbose ? RTC_LOG_DEBUG : RTC_LOG_WARN;
    rtc_loop *loop;
    if (rtc_loop_new(&loop, NULL)) return fail("loop");
    side A = {.name = "A"}, B = {.name = "B"};
    A.other = &B;
    B.other = &A;
    side *sides[2] = {&A, &B};
    for (int i = 0; i < 2; i++) {
        rtc_peer_callbacks cb = {.on_ice_candidate = on_cand,
                                 .on_ice_gathering_state_change = on_gather,
                                 .on_connection_state_change = on_conn,
                                 .on_data_channel = on_dc,
                                 .on_open = on_open,
                                 .on_message = on_msg,
                                 .on_buffered_amount_low = on_low,
                                 .on_close = on_close,
                                 .ud = sides[i]};
        rtc_peer_config cfg;
        memset(&cfg, 0, sizeof cfg);
        rtc_addr_parse(&cfg.bind, "127.0.0.1", 0);
        cfg.pc.ice_servers = servers;
        cfg.pc.n_ice_servers = n_servers;
        cfg.pc.ice_transport_policy = RTC_PC_ICE_POLICY_RELAY;
        cfg.pc.ice_nomination_delay = RTC_MS(20);
        cfg.tls_ca_file = ca;
        cfg.tls_insecure = insecure;
        int rc = rtc_peer_new(&sides[i]->p, loop, &cfg, &cb, &env);
        if (rc != RTC_OK) {
            fprintf(stderr, "rtc_peer_new: %s\n", rtc_strerror(rc));
            return 1;
        }
    }
    rtc_time t0 = rtc_net_now();
    rtc_time deadline = t0 + RTC_SEC(timeout_s);
    static char sdp[1 << 16];
    if (rtc_peer_create_data_channel(A.p, "relay-test", NULL, &A.ch) != RTC_OK) return fail("channel");
    if (rtc_peer_create_offer(A.p, sdp, sizeof sdp) < 0 ||
        rtc_peer_set_local_description(A.p, RTC_PC_SDP_OFFER, NULL) != RTC_OK)
        return fail("offer");
    if (trickle) {
        /* Both descriptions before the loop runs (callbacks never run inside the calls), so
        ** every trickled candidate finds its peer ready; gathering may end much later
        ** (a TURN server that does not answer takes 39.5 s to give up on). */
        int n = rtc_pc_local_description(rtc_peer_pc(A.p), sdp, sizeof sdp);
        if (n <= 0 || rtc_peer_set_remote_description(B.p, RTC_PC_SDP_OFFER, sdp, (size_t)n) ||
            rtc_peer_create_answer(B.p, sdp, sizeof sdp) < 0 ||
            rtc_peer_set_local_description(B.p, RTC_PC_SDP_ANSWER, NULL) ||
            (n = rtc_pc_local_description(rtc_peer_pc(B.p), sdp, sizeof sdp)) <= 0 ||
            rtc_peer_set_remote_description(A.p, RTC_PC_SDP_ANSWER, sdp, (size_t)n))
            return fail("trickle offer/answer");
    } else if (!run_until(loop, &A.gathered, NULL, deadline)) return fail("offerer gathering did not complete");
    if (expect_none) {
        int rc = A.relay_cands == 0 && A.other_cands == 0 ? 0 : 1;
        printf("%s: offerer gathered %d relay candidates (none expected)\n", rc ? "FAIL" : "ok",
               A.relay_cands);
        rtc_peer_free(A.p);
        rtc_peer_free(B.p);
        rtc_loop_free(loop);
        return rc;
    }
    if (!trickle && (A.relay_cands < 1 || A.other_cands))
        return fail("offerer: no relay candidate, or non-relay ones");
    int n = trickle ? 0 : rtc_pc_local_description(rtc_peer_pc(A.p), sdp, sizeof sdp);
    if (!trickle) {
        if (n <= 0 || rtc_peer_set_remote_description(B.p, RTC_PC_SDP_OFFER, sdp, (size_t)n) != RTC_OK)
            return fail("set offer");
        if (rtc_peer_create_answer(B.p, sdp, sizeof sdp) < 0 ||
            rtc_peer_set_local_description(B.p, RTC_PC_SDP_ANSWER, NULL) != RTC_OK)
            return fail("answer");
        if (!run_until(loop, &B.gathered, NULL, deadline)) return fail("answerer gathering did not complete");
        if (B.relay_cands < 1 || B.other_cands) return fail("answerer: no relay candidate, or non-relay ones");
        n = rtc_pc_local_description(rtc_peer_pc(B.p), sdp, sizeof sdp);
        if (n <= 0 || rtc_peer_set_remote_description(A.p, RTC_PC_SDP_ANSWER, sdp, (size_t)n) != RTC_OK)
            return fail("set answer");
    }
    if (!run_until(loop, &A.opened, &B.opened, deadline) || A.failed || B.failed)
        return fail("the data channel did not open");
    if (A.other_cands || B.other_cands) return fail("a non-relay candidate was signalled");
    rtc_time t_open = rtc_net_now();
    printf("ok: relay candidates only (A %d, B %d); channel open after %lld ms\n", A.relay_cands,
           B.relay_cands, (long long)((t_open - t0) / 1000));
    int want_a = 0, want_b = 0;
    while (rtc_net_now() < deadline && (A.received < n_msgs || B.received < n_msgs))
        rtc_loop_run_once(loop, RTC_MS(20));
    want_a = A.received == n_msgs && !A.bad;
    want_b = B.received == n_msgs && !B.bad;
    if (!want_a || !want_b) {
        fprintf(stderr, "A sent %d received %d bad %d; B sent %d received %d bad %d\n", A.sent,
                A.received, A.bad, B.sent, B.received, B.bad);
        return fail("messages");
    }
    double secs = (double)(rtc_net_now() - t_open) / 1e6;
    printf("ok: %d messages of %d bytes each way, content checked, in %.0f ms (%.1f MB/s each way)\n",
           n_msgs, msg_size, secs * 1000, (double)n_msgs * msg_size / 1e6 / (secs > 0 ? secs : 1e-6));
    for (int i = 0; i < 2; i++) {
        rtc_pc_stats st;
        rtc_peer_get_stats(sides[i]->p, &st);
        char l[RTC_ADDR_STRLEN], r[RTC_ADDR_STRLEN];
        rtc_addr_fmt(&st.local_address, l, sizeof l);
        rtc_addr_fmt(&st.remote_address, r, sizeof r);
        printf("%s: selected pair %s %s -> %s %s, relayProtocol %s\n", sides[i]->name,
               type_name(st.local_candidate_type), l, type_name(st.remote_candidate_type), r,
               st.relay_protocol ? st.relay_protocol : "(none)");
        if (!st.has_selected_pair || st.local_candidate_type != RTC_ICE_CAND_RELAY ||
            st.remote_candidate_type != RTC_ICE_CAND_RELAY)
            return fail("the selected pair is not relay/relay");
        if (proto && (!st.relay_protocol || strcmp(proto, st.relay_protocol) != 0))
            return fail("relayProtocol is not the expected one");
    }
    printf("ok: selected pair relay/relay on both sides%s%s\n", proto ? ", relayProtocol " : "",
           proto ? proto : "");
    rtc_peer_close_channel(A.p, A.ch);
    if (!run_until(loop, &A.closed_ch, &B.closed_ch, deadline)) return fail("channel close");
    rtc_peer_close(A.p);
    if (!run_until(loop, &B.conn_closed, NULL, deadline)) return fail("B did not see A's close");
    printf("ok: channel closed on both sides; B saw A's close (connection closed)\n");
    rtc_peer_free(A.p);
    rtc_peer_free(B.p);
    /* let the allocations' release (Refresh LIFETIME=0) go out */
    for (int i = 0; i < 5; i++) rtc_loop_run_once(loop, RTC_MS(10));
    rtc_loop_free(loop);
    return 0;
}
