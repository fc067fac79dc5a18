/*
** fuzz/turn_client.c: server answers fed into a TURN client core (RFC 8656).
**
** The input is a script. Byte 0 picks the transport (bit 0: TCP) and the requested
** family (bit 1: IPv6). Then each opcode byte (mod 10) is followed by its operands:
**   0 challenge   answer the last request with a well-formed 401 (REALM + NONCE)
**   1 success     answer the last request with an authenticated success carrying
**                 XOR-RELAYED-ADDRESS/XOR-MAPPED-ADDRESS/LIFETIME (lifetime from input)
**   2 raw         the next n bytes as one datagram (UDP) or stream bytes (TCP)
**   3 mutated     a response to the last request with fuzz-chosen class, error code and
**                 attributes (type, length, value from input), integrity optional
**   4 time        advance the clock by an input-chosen amount and run the timers
**   5 api         create_permission / bind_channel / send / refresh / close / remove
**   6 chandata    ChannelData with fuzz-chosen channel, length field and payload
**   7 dataind     a Data indication with a fuzz-chosen peer and payload
**   8 stale       438 with a new nonce to the last request
**   9 closed      (TCP) the stream closes; (UDP) a datagram from a wrong source
** Invariants checked: nothing crashes or leaks (ASan), every drain terminates, transmits
** go to the server, fit RTC_STUN_MAX_MSG_LEN and never leave a CLOSED or FAILED client,
** events carry a known type, DATA events
** respect the configured byte bound, the state is in range and terminal states stay
** terminal.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cwebrtc/stun.h"
#include "cwebrtc/turn_client.h"

typedef struct script {
    const uint8_t *p;
    size_t n, off;
} script;

static uint8_t u8(script *s) { return s->off < s->n ? s->p[s->off++] : 0; }
static uint16_t u16(script *s) { return (uint16_t)((u8(s) << 8) | u8(s)); }

static rtc_addr g_server, g_local;
static uint8_t g_last[RTC_STUN_MAX_MSG_LEN];
static size_t g_last_len;
static rtc_stun_key g_key;
static int g_state_terminal;

static void drain(rtc_turn_client *c) {
    rtc_turn_client_transmit t;
    int n = 0;
    while (rtc_turn_client_poll_transmit(c, &t) == 1) {
        if (++n > 10000) abort(); /* a drain must end */
        if (!rtc_addr_equal(&t.dst, &g_server) || t.len > sizeof g_last || t.len < 20) abort();
        /* CLOSED and FAILED are silent: every transaction was dropped on the way in. */
        int st0 = rtc_turn_client_get_state(c);
        if (st0 == RTC_TURN_CLIENT_CLOSED || st0 == RTC_TURN_CLIENT_FAILED) abort();
        memcpy(g_last, t.data, t.len);
        g_last_len = t.len;
    }
    rtc_turn_event e;
    n = 0;
    while (rtc_turn_client_poll_event(c, &e) == 1) {
        if (++n > 100000) abort();
        if (e.type < RTC_TURN_EV_ALLOCATED || e.type > RTC_TURN_EV_CLOSED) abort();
        if (e.type == RTC_TURN_EV_DATA && e.len > 4096) abort(); /* max_queued_bytes */
        if (e.type == RTC_TURN_EV_DATA && e.len) {
            volatile uint8_t sink = e.data[0] ^ e.data[e.len - 1]; /* borrowed bytes readable */
            (void)sink;
        }
    }
    int st = rtc_turn_client_get_state(c);
    if (st < RTC_TURN_CLIENT_NEW || st > RTC_TURN_CLIENT_FAILED) abort();
    bool terminal = st == RTC_TURN_CLIENT_CLOSED || st == RTC_TURN_CLIENT_FAILED;
    if (g_state_terminal && !terminal) abort();
    g_state_terminal = terminal;
}

static void feed(rtc_turn_client *c, rtc_time now, bool tcp, const uint8_t *b, size_t n) {
    if (tcp)
        rtc_turn_client_handle_stream(c, now, b, n);
    else {
        rtc_turn_data d;
        if (rtc_turn_client_handle_packet(c, now, &g_server, b, n, (n & 1) ? &d : NULL) == 1) {
            if (d.len && d.data[d.len - 1] == 0x5A) { /* touch the zero-copy bytes */
            }
        }
    }
}

static bool last_request(rtc_stun_msg *m) {
    return g_last_len && rtc_stun_parse(m, g_last, g_last_len) == RTC_OK &&
           m->cls == RTC_STUN_REQUEST;
}

static rtc_addr pick_addr(script *s, bool v6) {
    rtc_addr a;
    if (v6)
        rtc_addr_parse_ip(&a, "2001:db8::7", 0);
    else
        rtc_addr_parse_ip(&a, "198.51.100.7", 0);
    a.ip[v6 ? 15 : 3] = (uint8_t)(u8(s) & 3);
    a.port = (uint16_t)(9000 + (u8(s) & 3));
    return a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    script s = {data, size, 0};
    uint8_t mode = u8(&s);
    bool tcp = mode & 1, v6 = mode & 2;
    rtc_env env;
    rtc_test_rng rng;
    rtc_env_seeded(&env, &rng, 11);
    rtc_addr_parse(&g_server, "192.0.2.10:3478", 0);
    rtc_addr_parse(&g_local, "203.0.113.7:40000", 0);
    g_last_len = 0;
    g_state_terminal = 0;
    rtc_stun_key_long_term(&g_key, RTC_STUN_PASSWORD_ALG_MD5, "u", 1, "r", 1, "p", 1, NULL);
    rtc_turn_client_config cc = {0};
    cc.username = "u";
    cc.password = "p";
    cc.server = g_server;
    cc.local = g_local;
    cc.transport = tcp ? RTC_TURN_TCP : RTC_TURN_UDP;
    cc.family = v6 ? 6 : 0;
    cc.max_permissions = 4;
    cc.max_channels = 3;
    cc.max_events = 8;
    cc.max_queued_bytes = 4096;
    rtc_turn_client *c;
    if (rtc_turn_client_new(&c, &cc, &env) != RTC_OK) abort();
    rtc_time now = RTC_SEC(100);
    rtc_turn_client_allocate(c, now);
    drain(c);
    uint8_t buf[2048];
    for (int steps = 0; s.off < s.n && steps < 400; steps++) {
        uint8_t op = u8(&s) % 10;
        rtc_stun_msg req;
        rtc_stun_builder b;
        switch (op) {
        case 0:
            if (!last_request(&req)) break;
            rtc_stun_build_error_response(&b, buf, sizeof buf, &req, 401, NULL);
            rtc_stun_add_string(&b, RTC_STUN_ATTR_REALM, "r");
            rtc_stun_add_string(&b, RTC_STUN_ATTR_NONCE, "n1");
            feed(c, now, tcp, buf, (size_t)rtc_stun_build_finish(&b));
            break;
        case 1: {
            if (!last_request(&req)) break;
            rtc_addr relay = pick_addr(&s, v6 ^ (u8(&s) == 7));
            rtc_stun_build_response(&b, buf, sizeof buf, &req, RTC_STUN_SUCCESS);
            rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_RELAYED_ADDRESS, &relay);
            rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_MAPPED_ADDRESS, &g_local);
            rtc_stun_add_u32(&b, RTC_STUN_ATTR_LIFETIME, u16(&s));
            rtc_stun_add_integrity(&b, &g_key);
            feed(c, now, tcp, buf, (size_t)rtc_stun_build_finish(&b));
            break;
        }
        case 2: {
            size_t n = u8(&s);
            if (n > s.n - s.off) n = s.n - s.off;
            feed(c, now, tcp, s.p + s.off, n);
            s.off += n;
            break;
        }
        case 3: {
            if (!last_request(&req)) break;
            uint8_t kind = u8(&s);
            if (kind & 1)
                rtc_stun_build_error_response(&b, buf, sizeof buf, &req, 300 + u16(&s) % 400, NULL);
            else
                rtc_stun_build_response(&b, buf, sizeof buf, &req, RTC_STUN_SUCCESS);
            int nattr = u8(&s) % 6;
            for (int i = 0; i < nattr; i++) {
                uint16_t type = u16(&s);
                size_t n = u8(&s) % 40;
                if (n > s.n - s.off) n = s.n - s.off;
                rtc_stun_add_attr(&b, type, s.p + s.off, n);
                s.off += n;
            }
            if (kind & 2) rtc_stun_add_integrity(&b, &g_key);
            if (kind & 4) rtc_stun_add_fingerprint(&b);
            int n = rtc_stun_build_finish(&b);
            if (n > 0) feed(c, now, tcp, buf, (size_t)n);
            break;
        }
        case 4:
            now += (rtc_time)u16(&s) * RTC_MS(u8(&s) & 0x80 ? 1000 : 10);
            rtc_turn_client_handle_timeout(c, now);
            break;
        case 5: {
            uint8_t what = u8(&s) % 6;
            rtc_addr peer = pick_addr(&s, v6);
            if (what == 0)
                rtc_turn_client_create_permission(c, now, &peer);
            else if (what == 1)
                rtc_turn_client_bind_channel(c, now, &peer);
            else if (what == 2) {
                uint8_t out[256], pay[150];
                size_t n = 1 + u8(&s) % sizeof pay;
                memset(pay, 0x5A, n);
                int r =
                    rtc_turn_client_send(c, now, &peer, pay, n, out, (u8(&s) & 1) ? sizeof out : n);
                if (r > (int)sizeof out) abort();
            } else if (what == 3)
                rtc_turn_client_refresh(c, now);
            else if (what == 4)
                rtc_turn_client_remove_permission(c, &peer);
            else if (u8(&s) == 0xC1)
                rtc_turn_client_close(c, now);
            break;
        }
        case 6: {
            uint16_t ch = (uint16_t)(0x4000 | (u8(&s) & 0x03));
            if (u8(&s) == 0xFF) ch = u16(&s);
            uint16_t len = u8(&s);
            size_t avail = u8(&s) % 64;
            buf[0] = (uint8_t)(ch >> 8);
            buf[1] = (uint8_t)ch;
            buf[2] = (uint8_t)(len >> 8);
            buf[3] = (uint8_t)len;
            for (size_t i = 0; i < avail; i++)
                buf[4 + i] = u8(&s);
            feed(c, now, tcp, buf, 4 + avail);
            break;
        }
        case 7: {
            rtc_addr peer = pick_addr(&s, v6);
            uint8_t tid[12] = {0};
            rtc_stun_build_init(&b, buf, sizeof buf, RTC_STUN_DATA, RTC_STUN_INDICATION, tid);
            rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_PEER_ADDRESS, &peer);
            size_t n = u8(&s);
            if (n > s.n - s.off) n = s.n - s.off;
            rtc_stun_add_attr(&b, RTC_STUN_ATTR_DATA, s.p + s.off, n);
            s.off += n;
            feed(c, now, tcp, buf, (size_t)rtc_stun_build_finish(&b));
            break;
        }
        case 8: {
            if (!last_request(&req)) break;
            char nonce[8] = "n-";
            nonce[2] = (char)('a' + u8(&s) % 26);
            rtc_stun_build_error_response(&b, buf, sizeof buf, &req, 438, NULL);
            rtc_stun_add_string(&b, RTC_STUN_ATTR_NONCE, nonce);
            if (u8(&s) & 1) rtc_stun_add_string(&b, RTC_STUN_ATTR_REALM, "r");
            feed(c, now, tcp, buf, (size_t)rtc_stun_build_finish(&b));
            break;
        }
        case 9:
            if (tcp)
                rtc_turn_client_stream_closed(c, now);
            else {
                rtc_addr other = g_local;
                rtc_turn_client_handle_packet(c, now, &other, g_last, g_last_len, NULL);
            }
            break;
        }
        drain(c);
        rtc_time nt = rtc_turn_client_next_timeout(c);
        (void)nt;
    }
    rtc_turn_client_free(c);
    return 0;
}
