/*
** tests/unit/dtls/dtls_harness.h: two rtc_dtls cores wired together in memory.
**
** The link can drop datagrams (a fixed mask of indices per direction plus a seeded random
** loss rate), reverse the order of each batch (reordering within a flight), and duplicate.
** Time is the real monotonic clock: OpenSSL keeps the DTLS retransmission deadline on its
** own wall clock (see include/cwebrtc/dtls.h), so a lossy handshake can only complete in
** real time. Without loss nothing ever waits, so lossless tests take no longer than the
** crypto. Every loop is bounded by a wall-clock deadline.
*/
#ifndef DTLS_HARNESS_H
#define DTLS_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "cwebrtc/dtls.h"

#define H_MAX_FLIGHT 128
#define H_RX_MAX     65536

typedef struct h_dgram {
    uint8_t data[2048];
    size_t len;
} h_dgram;

typedef struct h_side {
    rtc_dtls *d;
    /* datagrams in flight towards this side */
    h_dgram in[H_MAX_FLIGHT];
    size_t n_in;
    /* what the harness saw */
    int connected, failed, mismatch, closed, alerts;
    int fail_err;
    uint16_t profile;
    uint8_t last_alert_desc, last_alert_level;
    uint8_t rx[H_RX_MAX];
    size_t rx_len;
    int rx_msgs;
    uint64_t sent; /* datagrams this side transmitted */
} h_side;

typedef struct h_pair {
    h_side s[2];
    uint64_t drop_mask[2]; /* bit i: drop the i-th datagram sent by side k (i < 64) */
    /* Drop the first datagram from side k whose first byte (record type) is this value,
    ** e.g. 20 (ChangeCipherSpec) = the first flight 6 or flight 5. Timing-independent,
    ** unlike an index: a slow machine may add retransmissions before it. */
    uint8_t drop_once_type[2];
    double loss;    /* random loss on both directions after the mask */
    bool reorder;   /* deliver each batch in reverse order */
    bool duplicate; /* deliver every datagram twice */
    uint64_t rng;
    uint64_t dropped;
} h_pair;

static inline rtc_time h_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (rtc_time)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline double h_rand(h_pair *p) {
    p->rng ^= p->rng << 13;
    p->rng ^= p->rng >> 7;
    p->rng ^= p->rng << 17;
    return (double)(p->rng >> 11) / 9007199254740992.0;
}

static inline void h_init(h_pair *p, rtc_dtls *a, rtc_dtls *b, uint64_t seed) {
    memset(p, 0, sizeof *p);
    p->s[0].d = a;
    p->s[1].d = b;
    p->rng = seed ? seed : 88172645463325252ULL;
}

/* Drain one side's events and transmissions. Returns how many things happened. */
static inline int h_drain(h_pair *p, int k) {
    h_side *me = &p->s[k], *peer = &p->s[1 - k];
    int n = 0;
    rtc_dtls_transmit t;
    while (rtc_dtls_poll_transmit(me->d, &t) == 1) {
        n++;
        uint64_t idx = me->sent++;
        bool drop =
            (idx < 64 && (p->drop_mask[k] >> idx) & 1) || (p->loss > 0 && h_rand(p) < p->loss);
        if (p->drop_once_type[k] && t.len > 0 && t.data[0] == p->drop_once_type[k]) {
            drop = true;
            p->drop_once_type[k] = 0;
        }
        if (drop || t.len > sizeof peer->in[0].data || peer->n_in >= H_MAX_FLIGHT) {
            p->dropped++;
            continue;
        }
        memcpy(peer->in[peer->n_in].data, t.data, t.len);
        peer->in[peer->n_in++].len = t.len;
    }
    rtc_dtls_event ev;
    while (rtc_dtls_poll_event(me->d, &ev) == 1) {
        n++;
        switch (ev.kind) {
        case RTC_DTLS_EVENT_CONNECTED:
            me->connected++;
            me->profile = ev.srtp_profile;
            break;
        case RTC_DTLS_EVENT_FINGERPRINT_MISMATCH: me->mismatch++; break;
        case RTC_DTLS_EVENT_FAILED:
            me->failed++;
            me->fail_err = ev.err;
            break;
        case RTC_DTLS_EVENT_ALERT:
            me->alerts++;
            me->last_alert_desc = ev.alert_desc;
            me->last_alert_level = ev.alert_level;
            break;
        case RTC_DTLS_EVENT_CLOSED: me->closed++; break;
        case RTC_DTLS_EVENT_DATA:
            me->rx_msgs++;
            if (me->rx_len + ev.len <= H_RX_MAX) {
                memcpy(me->rx + me->rx_len, ev.data, ev.len);
                me->rx_len += ev.len;
            }
            break;
        default: break;
        }
    }
    return n;
}

/* Deliver everything in flight towards side k. */
static inline int h_deliver(h_pair *p, int k, rtc_time now) {
    h_side *me = &p->s[k];
    size_t n = me->n_in;
    if (n == 0) return 0;
    static h_dgram batch[H_MAX_FLIGHT];
    memcpy(batch, me->in, n * sizeof batch[0]);
    me->n_in = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = p->reorder ? n - 1 - i : i;
        for (int rep = 0; rep < (p->duplicate ? 2 : 1); rep++)
            (void)rtc_dtls_handle_packet(me->d, now, batch[j].data, batch[j].len);
    }
    return (int)n;
}

static inline bool h_settled_state(rtc_dtls_state s) {
    return s == RTC_DTLS_STATE_CONNECTED || s == RTC_DTLS_STATE_FAILED ||
           s == RTC_DTLS_STATE_CLOSED || s == RTC_DTLS_STATE_AWAIT_FINGERPRINT;
}

/* Run until both sides settled and nothing is in flight, or max_ms of real time passed.
** Returns true when settled. */
static inline bool h_run(h_pair *p, int max_ms) {
    rtc_time end = h_now() + (rtc_time)max_ms * 1000;
    for (int iter = 0; iter < 1000000; iter++) {
        rtc_time now = h_now();
        if (now > end) return false;
        int activity = h_drain(p, 0) + h_drain(p, 1);
        activity += h_deliver(p, 0, now) + h_deliver(p, 1, now);
        if (activity) continue;
        if (h_settled_state(rtc_dtls_get_state(p->s[0].d)) &&
            h_settled_state(rtc_dtls_get_state(p->s[1].d)))
            return true;
        rtc_time t0 = rtc_dtls_next_timeout(p->s[0].d), t1 = rtc_dtls_next_timeout(p->s[1].d);
        rtc_time t = t0 < t1 ? t0 : t1;
        if (t == RTC_TIME_NEVER) return false; /* stuck: nobody will ever act */
        if (t > now) {
            rtc_time wait = t - now;
            if (wait > 20000) wait = 20000;
            struct timespec ts = {0, (long)wait * 1000};
            nanosleep(&ts, NULL);
            now = h_now();
        }
        rtc_dtls_handle_timeout(p->s[0].d, now);
        rtc_dtls_handle_timeout(p->s[1].d, now);
    }
    return false;
}

/* A config with the peer's sha-256 fingerprint pinned. */
static inline rtc_dtls_config h_config(rtc_dtls_role role, rtc_dtls_cert *mine,
                                       rtc_dtls_fingerprint *peer_fp) {
    rtc_dtls_config c;
    memset(&c, 0, sizeof c);
    c.role = role;
    c.cert = mine;
    if (peer_fp) {
        c.remote_fingerprints = peer_fp;
        c.n_remote_fingerprints = 1;
    }
    return c;
}

#endif
