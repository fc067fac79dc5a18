/*
** fuzz/ice_agent.c: a stateful target for the ICE agent's input path. The input is a
** script of opcodes that feed raw datagrams, correctly signed checks with fuzzed
** attributes, signed (or forged) answers to the agent's last request, remote candidates,
** credentials, restarts, resolutions, data and time. Invariants: no crash or leak; the
** bounds on remote candidates and pairs hold; after handle_timeout(now) and a full drain
** the agent never asks to be woken at or before `now` (no busy loop); time never goes back.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cwebrtc/ice.h"
#include "cwebrtc/stun.h"

#define LUFRAG "fuzL"
#define LPWD   "localpasswordlocalpassword"
#define RUFRAG "fuzR"
#define RPWD   "remotepasswordremotepassword"

typedef struct state {
    rtc_ice *ice;
    rtc_time now;
    rtc_addr local, local6, srcs[4];
    bool have_req;
    uint8_t req_tid[12];
    rtc_addr req_src, req_dst;
} state;

static void drain(state *s) {
    rtc_ice_transmit t;
    rtc_ice_event ev;
    for (int guard = 0; guard < 10000; guard++) {
        if (rtc_ice_poll_transmit(s->ice, &t) == 1) {
            rtc_stun_msg m;
            if (rtc_stun_parse(&m, t.data, t.len) == RTC_OK && m.cls == RTC_STUN_REQUEST) {
                s->have_req = true;
                memcpy(s->req_tid, m.tid, 12);
                s->req_src = t.src;
                s->req_dst = t.dst;
            }
            continue;
        }
        if (rtc_ice_poll_event(s->ice, &ev) == 1) continue;
        return;
    }
    abort(); /* a drain that never ends */
}

static void check_bounds(state *s) {
    rtc_ice_stats st;
    rtc_ice_get_stats(s->ice, &st);
    if (st.remote_candidates > 8 || st.pairs > 16) abort();
}

static const char *const LINES[] = {
    "candidate:1 1 udp 2130706431 10.9.9.9 6000 typ host",
    "candidate:2 1 udp 1694498815 198.51.100.1 7000 typ srflx raddr 10.9.9.9 rport 6000",
    "candidate:3 1 udp 16777215 192.0.2.9 3478 typ relay raddr 198.51.100.1 rport 7000",
    "candidate:4 1 udp 2130706431 2001:db8::9 6000 typ host",
    "candidate:5 1 udp 2130706431 abcd-1234.local 6000 typ host",
    "candidate:6 1 udp 2130706431 10.9.9.9 6000 typ host ufrag other",
    "candidate:7 1 tcp 2130706431 10.9.9.9 9 typ host tcptype passive",
    "candidate:8 1 udp 2130706431 10.9.9.10 6000 typ host generation 1",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rtc_env env;
    rtc_test_rng rng;
    rtc_env_seeded(&env, &rng, 11);
    rtc_ice_config cfg = {.ufrag = LUFRAG,
                          .pwd = LPWD,
                          .max_remote_candidates = 8,
                          .max_pairs = 16,
                          .controlling = size > 0 && (data[0] & 1)};
    state s;
    memset(&s, 0, sizeof s);
    if (rtc_ice_new(&s.ice, &cfg, &env) != RTC_OK) abort();
    rtc_addr_parse(&s.local, "10.0.0.1:5000", 0);
    rtc_addr_parse(&s.local6, "[2001:db8::1]:5000", 0);
    rtc_addr_parse(&s.srcs[0], "10.9.9.9:6000", 0);
    rtc_addr_parse(&s.srcs[1], "198.51.100.1:7000", 0);
    rtc_addr_parse(&s.srcs[2], "[2001:db8::9]:6000", 0);
    rtc_addr_parse(&s.srcs[3], "10.9.9.10:6000", 0);
    rtc_ice_add_host_address(s.ice, &s.local);
    rtc_ice_add_host_address(s.ice, &s.local6);
    rtc_addr stun, relayed;
    rtc_addr_parse(&stun, "192.0.2.1:3478", 0);
    rtc_addr_parse(&relayed, "192.0.2.9:50000", 0);
    rtc_ice_add_stun_server(s.ice, &stun);
    rtc_ice_add_relayed(s.ice, 7, &relayed, &s.local);
    rtc_ice_gather(s.ice, 0);
    drain(&s);

    rtc_stun_key lk, rk;
    rtc_stun_key_set(&lk, (const uint8_t *)LPWD, strlen(LPWD));
    rtc_stun_key_set(&rk, (const uint8_t *)RPWD, strlen(RPWD));
    uint8_t buf[1500];
    size_t i = 0;
    while (i + 1 < size) {
        uint8_t op = data[i] & 7, arg = data[i + 1];
        i += 2;
        const rtc_addr *src = &s.srcs[arg & 3];
        const rtc_addr *dst = (arg & 0x40) ? &s.local6 : (arg & 0x80) ? &relayed : &s.local;
        switch (op) {
        case 0: { /* raw datagram */
            size_t n = arg;
            if (n > size - i) n = size - i;
            rtc_ice_handle_packet(s.ice, s.now, src, dst, data + i, n);
            i += n;
            break;
        }
        case 1: /* time */
            s.now += (rtc_time)arg * RTC_MS(37);
            rtc_ice_handle_timeout(s.ice, s.now);
            drain(&s);
            if (rtc_ice_next_timeout(s.ice) <= s.now) abort();
            break;
        case 2: { /* a signed check; flags from arg, tie-breaker and extra bytes from input */
            uint8_t tid[12];
            memset(tid, (int)(i & 0xff), sizeof tid);
            tid[0] = arg;
            rtc_stun_builder b;
            rtc_stun_build_init(&b, buf, sizeof buf, RTC_STUN_BINDING, RTC_STUN_REQUEST, tid);
            rtc_stun_add_string(&b, RTC_STUN_ATTR_USERNAME,
                                (arg & 8) ? "zzzz:" RUFRAG : LUFRAG ":" RUFRAG);
            if (!(arg & 16)) rtc_stun_add_u32(&b, RTC_STUN_ATTR_PRIORITY, 0x6e0001ffu + arg);
            uint64_t tie = 0;
            for (int k = 0; k < 8 && i < size; k++)
                tie = tie << 8 | data[i++];
            if (arg & 32)
                rtc_stun_add_u64(
                    &b, (arg & 4) ? RTC_STUN_ATTR_ICE_CONTROLLING : RTC_STUN_ATTR_ICE_CONTROLLED,
                    tie);
            if (arg & 1) rtc_stun_add_flag(&b, RTC_STUN_ATTR_USE_CANDIDATE);
            if (arg & 2 && i + 2 < size) { /* an arbitrary extra attribute */
                uint16_t type = (uint16_t)(data[i] << 8 | data[i + 1]);
                size_t n = data[i + 2] % 32;
                i += 3;
                if (n > size - i) n = size - i;
                rtc_stun_add_attr(&b, type, data + i, n);
                i += n;
            }
            rtc_stun_add_integrity(&b, &lk);
            rtc_stun_add_fingerprint(&b);
            int n = rtc_stun_build_finish(&b);
            if (n > 0) rtc_ice_handle_packet(s.ice, s.now, src, dst, buf, (size_t)n);
            break;
        }
        case 3: { /* an answer to the agent's last request */
            if (!s.have_req) break;
            rtc_stun_msg fake;
            memset(&fake, 0, sizeof fake);
            fake.method = RTC_STUN_BINDING;
            fake.cls = RTC_STUN_REQUEST;
            memcpy(fake.tid, s.req_tid, 12);
            rtc_stun_builder b;
            if (arg & 1) {
                rtc_stun_build_init(&b, buf, sizeof buf, RTC_STUN_BINDING, RTC_STUN_ERROR,
                                    s.req_tid);
                rtc_stun_add_error_code(&b, (arg & 2) ? 487 : 400 + (arg >> 2), NULL);
            } else {
                rtc_stun_build_init(&b, buf, sizeof buf, RTC_STUN_BINDING, RTC_STUN_SUCCESS,
                                    s.req_tid);
                rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_MAPPED_ADDRESS,
                                      (arg & 4) ? src : &s.req_src);
            }
            if (!(arg & 8)) rtc_stun_add_integrity(&b, &rk);
            rtc_stun_add_fingerprint(&b);
            int n = rtc_stun_build_finish(&b);
            const rtc_addr *from = (arg & 16) ? src : &s.req_dst;
            if (n > 0) rtc_ice_handle_packet(s.ice, s.now, from, &s.req_src, buf, (size_t)n);
            break;
        }
        case 4: rtc_ice_add_remote_candidate(s.ice, LINES[arg % 8]); break;
        case 5:
            switch (arg % 6) {
            case 0: rtc_ice_set_remote_credentials(s.ice, RUFRAG, RPWD); break;
            case 1: rtc_ice_remote_end_of_candidates(s.ice); break;
            case 2: rtc_ice_restart(s.ice, s.now); break;
            case 3:
                rtc_ice_resolved(s.ice, "abcd-1234.local", (arg & 8) ? NULL : &s.srcs[0]);
                break;
            case 4: rtc_ice_set_remote_credentials(s.ice, "newR", RPWD "x"); break;
            case 5: rtc_ice_relay_failed(s.ice, 7); break;
            }
            break;
        case 6: {
            uint8_t d[8] = {0x17};
            rtc_ice_send(s.ice, s.now, d, sizeof d);
            break;
        }
        case 7:
            if (arg == 0xff)
                rtc_ice_close(s.ice);
            else {
                rtc_ice_candidate c;
                char line[300];
                snprintf(line, sizeof line, "candidate:%u 1 udp %u 10.%u.%u.1 %u typ host", arg,
                         arg * 1000u, arg, arg, 1000u + arg);
                if (rtc_ice_candidate_parse(&c, line) == RTC_OK)
                    rtc_ice_add_remote_candidate_struct(s.ice, &c);
            }
            break;
        }
        drain(&s);
        check_bounds(&s);
    }
    rtc_ice_free(s.ice);
    return 0;
}
