/*
** fuzz/stun_client.c: a stateful target for the client transaction table. The input is a
** script of one-byte opcodes (with operands) that starts transactions, delivers matching
** or mismatching responses, advances virtual time, cancels, and drains transmits and
** events. Invariants: the table never exceeds its bound, every transaction ends exactly
** once (response, timeout or cancel), time never makes a transmission go backwards, and
** at most Rc transmissions happen per transaction.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cwebrtc/stun.h"

#define MAXT 8

typedef struct {
    uint8_t tid[12];
    int live;
    int sends;
} shadow;

static int find_shadow(shadow *s, const uint8_t *tid) {
    for (int i = 0; i < 64; i++)
        if (s[i].live && memcmp(s[i].tid, tid, 12) == 0) return i;
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rtc_env env;
    rtc_test_rng rng;
    rtc_env_seeded(&env, &rng, 7);
    rtc_stun_client_config cfg = {0};
    cfg.max_transactions = MAXT;
    rtc_stun_client *c;
    if (rtc_stun_client_new(&c, &cfg, &env) != RTC_OK) abort();
    static shadow sh[64];
    memset(sh, 0, sizeof sh);
    int n_sh = 0, live = 0;
    rtc_time now = RTC_SEC(5);
    uint8_t buf[256];
    for (size_t i = 0; i + 1 < size; i += 2) {
        uint8_t op = data[i] % 6, arg = data[i + 1];
        if (op == 0 && n_sh < 64) { /* start */
            uint8_t tid[12];
            rtc_stun_client_new_tid(c, tid);
            rtc_stun_builder b;
            rtc_stun_build_init(&b, buf, sizeof buf, RTC_STUN_BINDING, RTC_STUN_REQUEST, tid);
            int len = rtc_stun_build_finish(&b);
            rtc_stun_txn_params p = {0};
            p.reliable = arg & 1;
            p.rc = (arg >> 1) & 7;
            p.rto = (rtc_time)((arg >> 4) & 3) * RTC_MS(100);
            int rc = rtc_stun_client_start(c, now, buf, (size_t)len, &p);
            if (rc == RTC_OK) {
                memcpy(sh[n_sh].tid, tid, 12);
                sh[n_sh].live = 1;
                n_sh++;
                live++;
            } else if (rc != RTC_ERR_NOMEM || live < MAXT) {
                abort();
            }
        } else if (op == 1 && n_sh) { /* response to shadow #arg (maybe dead) */
            shadow *s = &sh[arg % n_sh];
            rtc_stun_builder b;
            rtc_stun_build_init(&b, buf, sizeof buf, (arg & 0x80) ? RTC_STUN_ALLOCATE : RTC_STUN_BINDING,
                                (arg & 0x40) ? RTC_STUN_ERROR : RTC_STUN_SUCCESS, s->tid);
            if (arg & 0x40) rtc_stun_add_error_code(&b, 400 + (arg & 0x3f), NULL);
            int len = rtc_stun_build_finish(&b);
            rtc_stun_msg m;
            if (rtc_stun_parse(&m, buf, (size_t)len) != RTC_OK) abort();
            rtc_stun_client_event ev;
            int r = rtc_stun_client_handle_response(c, now, &m, &ev);
            int should = s->live && !(arg & 0x80);
            if (r != should) abort();
            if (r == 1) {
                s->live = 0;
                live--;
            }
        } else if (op == 2) { /* advance time */
            now += (rtc_time)arg * RTC_MS(arg & 1 ? 1 : 250);
            rtc_stun_client_handle_timeout(c, now);
        } else if (op == 3) { /* jump to next_timeout */
            rtc_time t = rtc_stun_client_next_timeout(c);
            if (t != RTC_TIME_NEVER && t > now) now = t;
            rtc_stun_client_handle_timeout(c, now);
        } else if (op == 4 && n_sh) { /* cancel */
            shadow *s = &sh[arg % n_sh];
            int r = rtc_stun_client_cancel(c, s->tid);
            if (r != s->live) abort();
            if (r) {
                s->live = 0;
                live--;
            }
        }
        /* always drain */
        rtc_stun_transmit t;
        for (int k = 0; k < 2 * MAXT && rtc_stun_client_poll_transmit(c, &t) == 1; k++) {
            int j = find_shadow(sh, t.tid);
            if (j < 0 || ++sh[j].sends > 7) abort();
        }
        rtc_stun_client_event ev;
        for (int k = 0; k < 2 * MAXT && rtc_stun_client_poll_event(c, &ev) == 1; k++) {
            int j = find_shadow(sh, ev.tid);
            if (j < 0 || ev.result != RTC_STUN_TXN_TIMEOUT) abort();
            sh[j].live = 0;
            live--;
        }
        if ((int)rtc_stun_client_count(c) != live || live > MAXT) abort();
    }
    rtc_stun_client_free(c);
    return 0;
}
