/*
** tests/unit/datachannel/dc_pair.h: two data channel managers over two rtc_sctp
** associations, wired through an in-memory network on a virtual clock.
**
** Each direction is a FIFO-with-timestamps link: fixed one-way delay, seeded random
** loss, and (with `reorder`) a random extra delay that lets packets overtake each other.
** The driver always advances to the earliest of both associations' next_timeout() and
** both links' next arrival, so seconds of protocol time take milliseconds and every run
** is identical. Every event a manager emits is recorded (message bytes copied) so tests
** can check what arrived, in which order, exactly once.
*/
#ifndef RTC_TESTS_DC_PAIR_H
#define RTC_TESTS_DC_PAIR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cwebrtc/datachannel.h"
#include "cwebrtc/sctp.h"

typedef struct dp_pkt {
    rtc_time at;
    uint64_t seq;
    size_t len;
    uint8_t *data;
} dp_pkt;

typedef struct dp_link {
    uint64_t rng;
    double loss, reorder;
    rtc_time delay, reorder_extra;
    dp_pkt *p; /* unsorted; n is small */
    size_t n, cap;
    uint64_t seq, sent, dropped;
} dp_link;

typedef struct dp_rec {
    rtc_dc_event_kind kind;
    uint16_t id;
    bool binary, remote;
    uint8_t *data; /* MESSAGE: copy (malloc) */
    size_t len;
    char label[64], protocol[64];
    rtc_dc_info info;
    int error;
} dp_rec;

#define DP_MAX_REC 200000

typedef struct dp_side {
    rtc_sctp *s;
    rtc_dc *dc;
    rtc_env env;
    rtc_test_rng rng;
    dp_rec *rec;
    size_t nrec;
    bool keep_data; /* copy message bytes into rec (else only len; see on_message) */
    /* optional hook called for each event before it is recorded */
    void (*on_event)(struct dp_side *side, const rtc_dc_event *ev, void *ud);
    void *ud;
} dp_side;

struct dp_pair;
typedef struct dp_pair {
    dp_side side[2];
    dp_link link[2]; /* link[i]: from side i to side 1-i */
    rtc_time now;
    uint64_t steps;
    /* optional filter: return true to drop a packet side `from` sends */
    bool (*drop)(struct dp_pair *p, int from, const uint8_t *d, size_t len);
    void *drop_ud;
} dp_pair;

static inline uint64_t dp_rand(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static inline size_t dp_min(size_t a, size_t b) { return a < b ? a : b; }
static inline double dp_unit(uint64_t *s) { return (double)(dp_rand(s) >> 11) / 9007199254740992.0; }

static void dp_link_send(dp_link *l, rtc_time now, const uint8_t *d, size_t len) {
    l->sent++;
    if (l->loss > 0 && dp_unit(&l->rng) < l->loss) {
        l->dropped++;
        return;
    }
    rtc_time at = now + l->delay;
    if (l->reorder > 0 && dp_unit(&l->rng) < l->reorder)
        at += (rtc_time)(dp_unit(&l->rng) * (double)l->reorder_extra);
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->p = realloc(l->p, l->cap * sizeof *l->p);
        if (!l->p) abort();
    }
    dp_pkt p = {at, l->seq++, len, malloc(len ? len : 1)};
    if (!p.data) abort();
    memcpy(p.data, d, len);
    l->p[l->n++] = p;
}

/* Index of the earliest packet, or SIZE_MAX. */
static size_t dp_link_first(const dp_link *l) {
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < l->n; i++)
        if (best == SIZE_MAX || l->p[i].at < l->p[best].at ||
            (l->p[i].at == l->p[best].at && l->p[i].seq < l->p[best].seq))
            best = i;
    return best;
}
static rtc_time dp_link_next(const dp_link *l) {
    size_t i = dp_link_first(l);
    return i == SIZE_MAX ? RTC_TIME_NEVER : l->p[i].at;
}

static void dp_record(dp_side *sd, const rtc_dc_event *ev) {
    if (sd->on_event) sd->on_event(sd, ev, sd->ud);
    if (sd->nrec >= DP_MAX_REC) return;
    dp_rec *r = &sd->rec[sd->nrec++];
    memset(r, 0, sizeof *r);
    r->kind = ev->kind;
    r->id = ev->id;
    r->error = ev->error;
    if (ev->kind == RTC_DC_EV_MESSAGE) {
        r->binary = ev->binary;
        r->len = ev->len;
        if (sd->keep_data) {
            r->data = malloc(ev->len ? ev->len : 1);
            if (!r->data) abort();
            if (ev->len) memcpy(r->data, ev->data, ev->len);
        }
    } else if (ev->kind == RTC_DC_EV_OPEN) {
        r->info = ev->info;
        r->remote = ev->info.remote;
        snprintf(r->label, sizeof r->label, "%.*s", (int)dp_min(ev->info.label_len, 63),
                 ev->info.label);
        snprintf(r->protocol, sizeof r->protocol, "%.*s",
                 (int)dp_min(ev->info.protocol_len, 63), ev->info.protocol);
        r->info.label = r->label;
        r->info.protocol = r->protocol;
    }
}

static void dp_clear(dp_side *sd) {
    for (size_t i = 0; i < sd->nrec; i++) free(sd->rec[i].data);
    sd->nrec = 0;
}

/* Poll events, then transmits, until neither yields anything. */
static void dp_drain(dp_pair *p, int i) {
    dp_side *sd = &p->side[i];
    for (int guard = 0; guard < 1000000; guard++) {
        bool any = false;
        rtc_dc_event ev;
        while (rtc_dc_poll_event(sd->dc, &ev) == 1) {
            dp_record(sd, &ev);
            any = true;
        }
        const uint8_t *d;
        size_t len;
        while (rtc_sctp_poll_transmit(sd->s, &d, &len) == 1) {
            if (p->drop && p->drop(p, i, d, len)) continue;
            dp_link_send(&p->link[i], p->now, d, len);
            any = true;
        }
        if (!any) return;
    }
}

/* One step: advance to the next deadline or arrival. false when nothing is pending. */
static bool dp_step(dp_pair *p) {
    rtc_time t[4] = {rtc_sctp_next_timeout(p->side[0].s), rtc_sctp_next_timeout(p->side[1].s),
                     dp_link_next(&p->link[0]), dp_link_next(&p->link[1])};
    int k = 0;
    for (int j = 1; j < 4; j++)
        if (t[j] < t[k]) k = j;
    if (t[k] == RTC_TIME_NEVER) return false;
    if (t[k] > p->now) p->now = t[k];
    p->steps++;
    if (k < 2) {
        rtc_sctp_handle_timeout(p->side[k].s, p->now);
        dp_drain(p, k);
    } else {
        dp_link *l = &p->link[k - 2];
        size_t idx = dp_link_first(l);
        dp_pkt pk = l->p[idx];
        l->p[idx] = l->p[--l->n];
        int to = 1 - (k - 2);
        rtc_sctp_handle_packet(p->side[to].s, p->now, pk.data, pk.len);
        free(pk.data);
        dp_drain(p, to);
    }
    return true;
}

/* Runs until `until` (virtual) or until nothing is pending; bounded by steps. */
static void dp_run_for(dp_pair *p, rtc_time dur) {
    rtc_time end = p->now + dur;
    for (int guard = 0; guard < 5000000; guard++) {
        rtc_time t[4] = {rtc_sctp_next_timeout(p->side[0].s), rtc_sctp_next_timeout(p->side[1].s),
                         dp_link_next(&p->link[0]), dp_link_next(&p->link[1])};
        rtc_time m = t[0];
        for (int j = 1; j < 4; j++)
            if (t[j] < m) m = t[j];
        if (m > end) {
            p->now = end;
            return;
        }
        if (!dp_step(p)) return;
    }
}

typedef bool (*dp_pred)(dp_pair *p, void *ud);

/* Runs until pred is true or `limit` of virtual time passes. Returns pred's value. */
static bool dp_run_until(dp_pair *p, dp_pred pred, void *ud, rtc_time limit) {
    rtc_time end = p->now + limit;
    for (int guard = 0; guard < 5000000; guard++) {
        if (pred(p, ud)) return true;
        if (p->now > end || !dp_step(p)) break;
    }
    return pred(p, ud);
}

/* Optional allocator for both sides (set before dp_init); NULL = libc. */
static void *(*dp_realloc_hook)(void *ud, void *ptr, size_t old_size, size_t new_size);

/* Creates both sides: side 0 is the DTLS client (even ids), side 1 the server. */
static int dp_init(dp_pair *p, uint64_t seed, const rtc_sctp_config *scfg,
                   const rtc_dc_config *dcfg0, const rtc_dc_config *dcfg1) {
    memset(p, 0, sizeof *p);
    p->now = RTC_SEC(1);
    for (int i = 0; i < 2; i++) {
        dp_side *sd = &p->side[i];
        rtc_env_seeded(&sd->env, &sd->rng, seed * 2 + (uint64_t)i);
        sd->env.realloc = dp_realloc_hook;
        sd->rec = calloc(DP_MAX_REC, sizeof *sd->rec);
        if (!sd->rec) return -1;
        sd->keep_data = true;
        if (rtc_sctp_new(&sd->s, scfg, &sd->env)) return -1;
        rtc_dc_config c;
        rtc_dc_config_default(&c);
        const rtc_dc_config *given = i == 0 ? dcfg0 : dcfg1;
        if (given) c = *given;
        c.dtls_client = i == 0;
        if (rtc_dc_new(&sd->dc, sd->s, &c, &sd->env)) return -1;
        p->link[i].delay = RTC_MS(10);
        p->link[i].rng = seed * 7919 + (uint64_t)i + 1;
    }
    return 0;
}

static void dp_connect(dp_pair *p) {
    rtc_sctp_connect(p->side[0].s, p->now);
    rtc_sctp_connect(p->side[1].s, p->now);
    dp_drain(p, 0);
    dp_drain(p, 1);
}

static void dp_free(dp_pair *p) {
    for (int i = 0; i < 2; i++) {
        dp_side *sd = &p->side[i];
        rtc_dc_free(sd->dc);
        rtc_sctp_free(sd->s);
        dp_clear(sd);
        free(sd->rec);
        for (size_t j = 0; j < p->link[i].n; j++) free(p->link[i].p[j].data);
        free(p->link[i].p);
    }
    memset(p, 0, sizeof *p);
}

/* ---- queries over the recorded events ---- */

static size_t dp_count(const dp_side *sd, rtc_dc_event_kind kind, int id /* -1: any */) {
    size_t n = 0;
    for (size_t i = 0; i < sd->nrec; i++)
        if (sd->rec[i].kind == kind && (id < 0 || sd->rec[i].id == (uint16_t)id)) n++;
    return n;
}

static const dp_rec *dp_find(const dp_side *sd, rtc_dc_event_kind kind, int id) {
    for (size_t i = 0; i < sd->nrec; i++)
        if (sd->rec[i].kind == kind && (id < 0 || sd->rec[i].id == (uint16_t)id)) return &sd->rec[i];
    return NULL;
}

#endif
