/*
** tests/unit/sctp/sctp_sim.h: two rtc_sctp associations wired through a deterministic
** in-memory network on a virtual clock.
**
** Each direction is a sim_link: seeded random loss, duplication, reordering (extra
** random delay), fixed one-way delay, and a bandwidth limit with a bounded drop-tail
** queue. The driver always advances time to the earliest of both associations'
** next_timeout() and both links' next arrival, so seconds of protocol time run in
** microseconds of CPU time, identically on every run.
*/
#ifndef RTC_TESTS_SCTP_SIM_H
#define RTC_TESTS_SCTP_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cwebrtc/sctp.h"

typedef struct sim_pkt {
    rtc_time at;
    uint64_t seq;
    size_t len, cap;
    uint8_t *data;
} sim_pkt;

/* Recycled packet buffers: a GiB transfer moves a million packets, and malloc/free per
** packet showed up in profiles. */
typedef struct sim_buf {
    uint8_t *p;
    size_t cap;
} sim_buf;

typedef struct sim_link {
    uint64_t rng;
    double loss, dup, reorder; /* probabilities 0..1 */
    rtc_time delay;            /* one-way */
    rtc_time reorder_extra;    /* max extra delay of a reordered packet */
    uint64_t bw;               /* bytes per second, 0 = unlimited */
    rtc_time max_queue;        /* drop-tail when the queue holds more than this delay */
    rtc_time busy_until;
    sim_pkt *heap;
    size_t n, cap;
    uint64_t seq;
    uint64_t sent, dropped, delivered;
    bool down;                 /* drop everything */
    sim_buf *pool;             /* free buffers */
    size_t npool, cappool;
} sim_link;

static inline uint64_t sim_rand(uint64_t *s) {
    /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static inline double sim_unit(uint64_t *s) { return (double)(sim_rand(s) >> 11) / 9007199254740992.0; }

static inline bool pkt_before(const sim_pkt *a, const sim_pkt *b) {
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static inline void link_push(sim_link *l, rtc_time at, const uint8_t *d, size_t len) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->heap = realloc(l->heap, l->cap * sizeof *l->heap);
        if (!l->heap) abort();
    }
    sim_pkt p = {at, l->seq++, len, 0, NULL};
    if (l->npool) {
        sim_buf b = l->pool[--l->npool];
        p.data = b.p;
        p.cap = b.cap;
    }
    if (p.cap < len || !p.data) {
        free(p.data);
        p.cap = len < 1500 ? 1500 : len;
        p.data = malloc(p.cap);
        if (!p.data) abort();
    }
    memcpy(p.data, d, len);
    size_t i = l->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!pkt_before(&p, &l->heap[parent])) break;
        l->heap[i] = l->heap[parent];
        i = parent;
    }
    l->heap[i] = p;
}

static inline sim_pkt link_pop(sim_link *l) {
    sim_pkt top = l->heap[0];
    sim_pkt last = l->heap[--l->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= l->n) break;
        if (c + 1 < l->n && pkt_before(&l->heap[c + 1], &l->heap[c])) c++;
        if (!pkt_before(&l->heap[c], &last)) break;
        l->heap[i] = l->heap[c];
        i = c;
    }
    if (l->n) l->heap[i] = last;
    return top;
}

/* Gives a popped packet's buffer back to the link. */
static inline void link_recycle(sim_link *l, sim_pkt *p) {
    if (l->npool == l->cappool) {
        l->cappool = l->cappool ? l->cappool * 2 : 64;
        l->pool = realloc(l->pool, l->cappool * sizeof *l->pool);
        if (!l->pool) abort();
    }
    l->pool[l->npool].p = p->data;
    l->pool[l->npool++].cap = p->cap;
    p->data = NULL;
}

static inline rtc_time link_next(const sim_link *l) { return l->n ? l->heap[0].at : RTC_TIME_NEVER; }

static inline void link_send(sim_link *l, rtc_time now, const uint8_t *d, size_t len) {
    l->sent++;
    if (l->down || sim_unit(&l->rng) < l->loss) {
        l->dropped++;
        return;
    }
    rtc_time depart = now;
    if (l->bw) {
        rtc_time start = l->busy_until > now ? l->busy_until : now;
        if (l->max_queue && start - now > l->max_queue) {
            l->dropped++;
            return;
        }
        depart = start + (rtc_time)((uint64_t)len * 1000000u / l->bw);
        l->busy_until = depart;
    }
    rtc_time at = depart + l->delay;
    if (l->reorder > 0 && sim_unit(&l->rng) < l->reorder)
        at += (rtc_time)(sim_unit(&l->rng) * (double)l->reorder_extra);
    link_push(l, at, d, len);
    if (l->dup > 0 && sim_unit(&l->rng) < l->dup) link_push(l, at + 1000, d, len);
}

static inline void link_free(sim_link *l) {
    for (size_t i = 0; i < l->n; i++) free(l->heap[i].data);
    for (size_t i = 0; i < l->npool; i++) free(l->pool[i].p);
    free(l->heap);
    free(l->pool);
    memset(l, 0, sizeof *l);
}

typedef struct sim sim;
typedef void (*sim_event_fn)(sim *s, int side, const rtc_sctp_event *ev);

struct sim {
    rtc_sctp *x[2];
    sim_link link[2]; /* link[i] carries packets from x[i] to x[1-i] */
    rtc_time now;
    sim_event_fn on_event;
    void *ud;
    uint64_t steps;
    bool no_events[2]; /* the application of side i stops reading (backpressure) */
    /* optional tap: called for every packet x[i] sends, before the link */
    void (*tap)(sim *s, int side, const uint8_t *d, size_t len);
};

static inline void sim_drain(sim *s, int side) {
    rtc_sctp *a = s->x[side];
    if (!a) return;
    for (int guard = 0; guard < 1000000; guard++) {
        const uint8_t *d;
        size_t len;
        rtc_sctp_event ev;
        if (rtc_sctp_poll_transmit(a, &d, &len)) {
            if (s->tap) s->tap(s, side, d, len);
            link_send(&s->link[side], s->now, d, len);
            continue;
        }
        if (!s->no_events[side] && rtc_sctp_poll_event(a, &ev)) {
            if (s->on_event) s->on_event(s, side, &ev);
            continue;
        }
        break;
    }
}

static inline void sim_drain_all(sim *s) {
    /* An event handler on one side may queue output on the other: loop to fixpoint. */
    for (int i = 0; i < 4; i++) {
        sim_drain(s, 0);
        sim_drain(s, 1);
    }
}

/* Advance to the next thing that happens. Returns false when nothing will. */
static inline bool sim_step(sim *s) {
    rtc_time t = RTC_TIME_NEVER;
    for (int i = 0; i < 2; i++) {
        if (s->x[i]) {
            rtc_time n = rtc_sctp_next_timeout(s->x[i]);
            if (n < t) t = n;
        }
        rtc_time n = link_next(&s->link[i]);
        if (n < t) t = n;
    }
    if (t == RTC_TIME_NEVER) return false;
    if (t > s->now) s->now = t;
    s->steps++;
    for (int i = 0; i < 2; i++) {
        while (link_next(&s->link[i]) <= s->now) {
            sim_pkt p = link_pop(&s->link[i]);
            if (s->x[1 - i]) {
                s->link[i].delivered++;
                rtc_sctp_handle_packet(s->x[1 - i], s->now, p.data, p.len);
            }
            link_recycle(&s->link[i], &p);
            sim_drain_all(s);
        }
    }
    for (int i = 0; i < 2; i++) {
        if (s->x[i] && rtc_sctp_next_timeout(s->x[i]) <= s->now) {
            rtc_sctp_handle_timeout(s->x[i], s->now);
            sim_drain_all(s);
        }
    }
    return true;
}

/* Run until done(s) says so, time passes `until`, or nothing is left to happen. */
static inline bool sim_run(sim *s, bool (*done)(sim *), rtc_time until) {
    for (uint64_t guard = 0; guard < 50000000ull; guard++) {
        if (done && done(s)) return true;
        if (s->now > until) return false;
        if (!sim_step(s)) return done ? done(s) : true;
    }
    return false;
}

static inline void sim_free(sim *s) {
    rtc_sctp_free(s->x[0]);
    rtc_sctp_free(s->x[1]);
    link_free(&s->link[0]);
    link_free(&s->link[1]);
}

#endif
