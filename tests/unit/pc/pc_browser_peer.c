/*
** tests/unit/pc/pc_browser_peer.c: the native end of the browser end-to-end tests
** (tests/integration/pc_chromium.sh and pc_firefox.sh with tools/browser/run.sh and
** pages/peer.html).
**
**   pc_browser_peer answer CHAN   the browser offers: read its offer from the page
**                                 server's mailbox CHAN-offer, answer (non-trickle, after
**                                 gathering) to CHAN-answer, echo every message back
**   pc_browser_peer offer CHAN N SIZE
**                                 we offer with channel "cwebrtc-test", send N messages of
**                                 SIZE bytes the way peer.html builds them, check each echo
**
** TURN (optional, environment): PEER_TURN_URL (a turn:/turns: URL), PEER_TURN_USER,
** PEER_TURN_PASS, PEER_POLICY=relay (iceTransportPolicy), PEER_TLS_CA (CA file for turns:).
** The selected pair is logged ("native: selected pair local relay/tcp remote relay") at
** the first message.
**
** Signaling is plain HTTP/1.0 to $HARNESS_URL's host and $HARNESS_PORT (127.0.0.1), JSON
** {"type":...,"sdp":...}. Exits 0 on success; logs to stderr. A test helper, not library
** code: it blocks, uses sockets and reads the clock.
*/
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cwebrtc/net.h"
#include "cwebrtc/peer.h"

static int port;

static int http(const char *method, const char *path, const char *body, char *out, size_t cap) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    static char req[1 << 17];
    size_t bl = body ? strlen(body) : 0;
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: %zu\r\n"
                                     "Content-Type: application/json\r\n\r\n%s",
                     method, path, bl, body ? body : "");
    if (n < 0 || (size_t)n >= sizeof req || write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, out + got, cap - 1 - got);
        if (r <= 0) break;
        got += (size_t)r;
        if (got == cap - 1) break;
    }
    close(fd);
    out[got] = 0;
    int status = 0;
    sscanf(out, "HTTP/%*s %d", &status);
    char *b = strstr(out, "\r\n\r\n");
    if (b) memmove(out, b + 4, strlen(b + 4) + 1);
    return status;
}

/* JSON string helpers, enough for SDP (ASCII, CRLF, quotes). */
static void json_escape(const char *s, char *out, size_t cap) {
    size_t o = 0;
    for (; *s && o + 7 < cap; s++) {
        if (*s == '"' || *s == '\\') out[o++] = '\\', out[o++] = *s;
        else if (*s == '\r') out[o++] = '\\', out[o++] = 'r';
        else if (*s == '\n') out[o++] = '\\', out[o++] = 'n';
        else out[o++] = *s;
    }
    out[o] = 0;
}

static int json_get_sdp(const char *json, char *out, size_t cap) {
    const char *p = strstr(json, "\"sdp\"");
    if (!p) return -1;
    p = strchr(p + 5, '"');
    if (!p) return -1;
    p++;
    size_t o = 0;
    for (; *p && *p != '"' && o + 1 < cap; p++) {
        if (*p == '\\') {
            p++;
            if (*p == 'r') out[o++] = '\r';
            else if (*p == 'n') out[o++] = '\n';
            else if (*p == 't') out[o++] = '\t';
            else if (*p == 'u') {
                unsigned v = 0;
                sscanf(p + 1, "%4x", &v);
                out[o++] = (char)v;
                p += 4;
            } else out[o++] = *p;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = 0;
    return (int)o;
}

typedef struct st {
    bool offerer;
    int n, size, echoed, sent, opened, failed, closed;
    uint32_t ch;
    int gathered;
    bool pair_logged;
} st;

static const char *cand_type(int t) {
    static const char *n[] = {"host", "srflx", "prflx", "relay"};
    return t >= 0 && t < 4 ? n[t] : "?";
}

static void log_pair(rtc_peer *p, st *s) {
    if (s->pair_logged) return;
    s->pair_logged = true;
    rtc_pc_stats ps;
    rtc_peer_get_stats(p, &ps);
    fprintf(stderr, "native: selected pair local %s/%s remote %s\n", cand_type(ps.local_candidate_type),
            ps.relay_protocol ? ps.relay_protocol : "-", cand_type(ps.remote_candidate_type));
}

static void on_gather(rtc_peer *p, int s, void *ud) {
    if (s == RTC_ICE_GATHERING_COMPLETE) ((st *)ud)->gathered = 1;
}
static void on_conn(rtc_peer *p, int s, int err, const char *what, void *ud) {
    fprintf(stderr, "native: connection %s%s%s\n", rtc_pc_connection_state_name(s), what ? ": " : "",
            what ? what : "");
    if (s == RTC_PC_CONNECTION_FAILED) ((st *)ud)->failed = 1;
    if (s == RTC_PC_CONNECTION_CLOSED) ((st *)ud)->closed = 1;
}
static void payload(int i, int size, char *out) {
    int n = snprintf(out, (size_t)size + 1, "msg %d ", i);
    for (int k = n; k < size; k++) out[k] = 'x';
    out[size] = 0;
}
static void on_open(rtc_peer *p, uint32_t ch, void *ud) {
    st *s = ud;
    s->opened++;
    fprintf(stderr, "native: channel %u open\n", ch);
    if (!s->offerer) return;
    static char buf[300000];
    for (int i = 0; i < s->n; i++) {
        payload(i, s->size, buf);
        if (rtc_peer_send(p, ch, false, (const uint8_t *)buf, (size_t)s->size) == RTC_OK) s->sent++;
    }
}
static void on_msg(rtc_peer *p, uint32_t ch, bool bin, const uint8_t *d, size_t len, void *ud) {
    st *s = ud;
    log_pair(p, s);
    if (!s->offerer) {
        rtc_peer_send(p, ch, bin, d, len); /* echo */
        s->echoed++;
        return;
    }
    static char want[300000];
    payload(s->echoed, s->size, want);
    if (len != (size_t)s->size || memcmp(d, want, len) != 0) {
        fprintf(stderr, "native: echo %d differs\n", s->echoed);
        s->failed = 1;
    }
    s->echoed++;
}

static void log_cb(void *ud, int level, const char *module, const char *file, int line,
                   const char *msg) {
    (void)ud, (void)level, (void)file, (void)line;
    fprintf(stderr, "native: [%s] %s\n", module, msg);
}

static void run_until(rtc_loop *l, int *flag, int want, rtc_time dur) {
    rtc_time end = rtc_net_now() + dur;
    while (rtc_net_now() < end && *flag < want) rtc_loop_run_once(l, RTC_MS(50));
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s answer CHAN | offer CHAN N SIZE\n", argv[0]);
        return 2;
    }
    const char *ps = getenv("HARNESS_PORT");
    port = ps ? atoi(ps) : 0;
    if (port <= 0) return 2;
    st s = {0};
    s.offerer = strcmp(argv[1], "offer") == 0;
    s.n = argc > 3 ? atoi(argv[3]) : 10;
    s.size = argc > 4 ? atoi(argv[4]) : 32;
    if (s.size < 8 || s.size > 262144) return 2;
    rtc_loop *loop;
    if (rtc_loop_new(&loop, NULL)) return 1;
    rtc_peer_callbacks cb = {.on_ice_gathering_state_change = on_gather,
                             .on_connection_state_change = on_conn,
                             .on_open = on_open,
                             .on_message = on_msg,
                             .ud = &s};
    rtc_peer_config cfg;
    memset(&cfg, 0, sizeof cfg);
    rtc_addr_parse(&cfg.bind, "127.0.0.1", 0);
    rtc_pc_ice_server turn = {getenv("PEER_TURN_URL"), getenv("PEER_TURN_USER"), getenv("PEER_TURN_PASS")};
    if (turn.url && turn.url[0]) {
        cfg.pc.ice_servers = &turn;
        cfg.pc.n_ice_servers = 1;
    }
    const char *policy = getenv("PEER_POLICY");
    if (policy && strcmp(policy, "relay") == 0) cfg.pc.ice_transport_policy = RTC_PC_ICE_POLICY_RELAY;
    cfg.tls_ca_file = getenv("PEER_TLS_CA");
    rtc_peer *p;
    rtc_env env;
    memset(&env, 0, sizeof env);
    env.log = log_cb;
    env.log_level = RTC_LOG_WARN;
    int rc = rtc_peer_new(&p, loop, &cfg, &cb, &env);
    if (rc != RTC_OK) {
        fprintf(stderr, "native: rtc_peer_new: %s\n", rtc_strerror(rc));
        return 1;
    }
    static char body[1 << 17], sdp[1 << 16], esc[1 << 17], msg[(1 << 17) + 64];
    char path[256];
    const char *chan = argv[2];
    if (!s.offerer) {
        snprintf(path, sizeof path, "/msg/%s-offer?wait=30", chan);
        if (http("GET", path, NULL, body, sizeof body) != 200 || json_get_sdp(body, sdp, sizeof sdp) < 0) {
            fprintf(stderr, "native: no offer\n");
            return 1;
        }
        if (rtc_peer_set_remote_description(p, RTC_PC_SDP_OFFER, sdp, strlen(sdp)) != RTC_OK) {
            fprintf(stderr, "native: offer refused: %s\n", rtc_pc_last_error(rtc_peer_pc(p)));
            return 1;
        }
        if (rtc_peer_create_answer(p, sdp, sizeof sdp) < 0 ||
            rtc_peer_set_local_description(p, RTC_PC_SDP_ANSWER, NULL) != RTC_OK) {
            fprintf(stderr, "native: answer failed: %s\n", rtc_pc_last_error(rtc_peer_pc(p)));
            return 1;
        }
        run_until(loop, &s.gathered, 1, RTC_SEC(5));
        rtc_pc_local_description(rtc_peer_pc(p), sdp, sizeof sdp);
        json_escape(sdp, esc, sizeof esc);
        snprintf(msg, sizeof msg, "{\"type\":\"answer\",\"sdp\":\"%s\"}", esc);
        snprintf(path, sizeof path, "/msg/%s-answer", chan);
        if (http("POST", path, msg, body, sizeof body) != 200) return 1;
        /* echo until the browser is done and the run ends (the harness kills us) */
        run_until(loop, &s.closed, 1, RTC_SEC(60));
        fprintf(stderr, "native: echoed %d messages\n", s.echoed);
    } else {
        if (rtc_peer_create_data_channel(p, "cwebrtc-test", NULL, &s.ch) != RTC_OK) return 1;
        if (rtc_peer_create_offer(p, sdp, sizeof sdp) < 0 ||
            rtc_peer_set_local_description(p, RTC_PC_SDP_OFFER, NULL) != RTC_OK)
            return 1;
        run_until(loop, &s.gathered, 1, RTC_SEC(5));
        rtc_pc_local_description(rtc_peer_pc(p), sdp, sizeof sdp);
        json_escape(sdp, esc, sizeof esc);
        snprintf(msg, sizeof msg, "{\"type\":\"offer\",\"sdp\":\"%s\"}", esc);
        snprintf(path, sizeof path, "/msg/%s-offer", chan);
        if (http("POST", path, msg, body, sizeof body) != 200) return 1;
        /* Keep the loop running while waiting for the answer: the browser's connectivity
        ** checks and its early ClientHello (RFC 5763 §5) arrive before the answer does. */
        snprintf(path, sizeof path, "/msg/%s-answer?wait=0", chan);
        int status = 0;
        rtc_time end = rtc_net_now() + RTC_SEC(30);
        while (rtc_net_now() < end && (status = http("GET", path, NULL, body, sizeof body)) == 204)
            rtc_loop_run_once(loop, RTC_MS(20));
        if (status != 200 || json_get_sdp(body, sdp, sizeof sdp) < 0) {
            fprintf(stderr, "native: no answer\n");
            return 1;
        }
        rtc_pc_stats es;
        rtc_peer_get_stats(p, &es);
        fprintf(stderr, "native: %llu early DTLS datagrams buffered before the answer\n",
                (unsigned long long)es.early_dtls_buffered);
        if (rtc_peer_set_remote_description(p, RTC_PC_SDP_ANSWER, sdp, strlen(sdp)) != RTC_OK) {
            fprintf(stderr, "native: answer refused: %s\n", rtc_pc_last_error(rtc_peer_pc(p)));
            return 1;
        }
        run_until(loop, &s.echoed, s.n, RTC_SEC(30));
        fprintf(stderr, "native: sent %d, echoed %d%s\n", s.sent, s.echoed, s.failed ? " (FAILED)" : "");
        if (s.echoed != s.n || s.failed) return 1;
        run_until(loop, &s.closed, 1, RTC_SEC(60));
    }
    rtc_peer_free(p);
    rtc_loop_free(loop);
    return s.failed;
}
