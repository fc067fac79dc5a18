/*
** STUN client transactions (RFC 8489 §6.2, §6.3.3, §6.3.4), sans-IO.
**
** Each slot is the RFC's transaction state: the request bytes, t0, RTO, Rc, Rm and how
** many transmissions are due or done. The UDP schedule is a pure function of t0:
**
**    transmission k (0-based) at  t0 + RTO * (2^k - 1),   k < Rc
**    timeout at                   t0 + RTO * (2^(Rc-1) - 1) + Rm * RTO
**
** so a caller that wakes late sends one (not several) retransmissions and the schedule
** does not drift. Over TCP/TLS (§6.2.2) there is one transmission and a timeout at
** t0 + Ti. The table is a flat array scanned linearly: it is bounded (64 by default) and
** lookups by transaction id are rare compared with the cost of the network round trip.
*/
#include <string.h>

#include "stun/stun_int.h"
#include "util/buf.h"

#define LOG_MODULE "stun"

#define DEFAULT_RTO RTC_MS(500)
#define DEFAULT_RC 7
#define DEFAULT_RM 16
#define DEFAULT_TI RTC_MS(39500)
#define DEFAULT_MAX 64
#define MAX_RC 16                 /* 2^15 * RTO stays far from overflow */
#define MAX_RM 64
#define MAX_RTO RTC_SEC(60)

enum { SLOT_FREE = 0, SLOT_ACTIVE, SLOT_TIMED_OUT };

typedef struct txn {
    int state;
    uint8_t tid[RTC_STUN_TID_LEN];
    uint16_t method;
    bool reliable;
    bool pending;        /* a transmission is due (poll_transmit) */
    int due;             /* transmissions scheduled so far (incl. pending) */
    int sent;            /* transmissions handed out by poll_transmit */
    int rc, rm;
    rtc_time t0, rto, ti;
    rtc_time due_at;     /* `now` when the latest transmission became due */
    uint8_t *msg;
    size_t len;
    rtc_addr src, dst;
    void *user;
} txn;

struct rtc_stun_client {
    rtc_env env;
    rtc_stun_client_config cfg;
    txn *slots;
    size_t n_slots; /* allocated */
    size_t count;   /* non-free */
    rtc_time last_now;
};

int rtc_stun_client_new(rtc_stun_client **out, const rtc_stun_client_config *cfg,
                        const rtc_env *env) {
    if (!out) return RTC_ERR_INVALID;
    *out = NULL;
    rtc_stun_client_config c = {0};
    if (cfg) c = *cfg;
    if (c.rto < 0 || c.rto > MAX_RTO || c.rc < 0 || c.rc > MAX_RC || c.rm < 0 || c.rm > MAX_RM ||
        c.ti < 0)
        return RTC_ERR_INVALID;
    if (!c.rto) c.rto = DEFAULT_RTO;
    if (!c.rc) c.rc = DEFAULT_RC;
    if (!c.rm) c.rm = DEFAULT_RM;
    if (!c.ti) c.ti = DEFAULT_TI;
    if (!c.max_transactions) c.max_transactions = DEFAULT_MAX;
    if (c.max_transactions > 65536) return RTC_ERR_INVALID;
    rtc_env e;
    rtc_env_copy(&e, env);
    rtc_stun_client *s = rtc_calloc(&e, sizeof *s);
    if (!s) return RTC_ERR_NOMEM;
    s->env = e;
    s->cfg = c;
    s->last_now = 0;
    *out = s;
    return RTC_OK;
}

static void slot_release(rtc_stun_client *c, txn *t) {
    rtc_free(&c->env, t->msg, t->len);
    memset(t, 0, sizeof *t);
    c->count--;
}

void rtc_stun_client_free(rtc_stun_client *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n_slots; i++)
        if (c->slots[i].state != SLOT_FREE) rtc_free(&c->env, c->slots[i].msg, c->slots[i].len);
    rtc_free(&c->env, c->slots, c->n_slots * sizeof(txn));
    rtc_env env = c->env;
    rtc_free(&env, c, sizeof *c);
}

void rtc_stun_client_new_tid(rtc_stun_client *c, uint8_t tid[RTC_STUN_TID_LEN]) {
    if (!c || !tid) return;
    rtc_random(&c->env, tid, RTC_STUN_TID_LEN);
}

static txn *find(const rtc_stun_client *c, const uint8_t *tid) {
    for (size_t i = 0; i < c->n_slots; i++) {
        txn *t = &c->slots[i];
        if (t->state == SLOT_ACTIVE && memcmp(t->tid, tid, RTC_STUN_TID_LEN) == 0) return t;
    }
    return NULL;
}

static txn *slot_alloc(rtc_stun_client *c) {
    for (size_t i = 0; i < c->n_slots; i++)
        if (c->slots[i].state == SLOT_FREE) return &c->slots[i];
    if (c->n_slots >= c->cfg.max_transactions) return NULL;
    size_t n = c->n_slots ? c->n_slots * 2 : 4;
    if (n > c->cfg.max_transactions) n = c->cfg.max_transactions;
    txn *s = rtc_realloc(&c->env, c->slots, c->n_slots * sizeof(txn), n * sizeof(txn));
    if (!s) return NULL;
    memset(s + c->n_slots, 0, (n - c->n_slots) * sizeof(txn));
    txn *t = &s[c->n_slots];
    c->slots = s;
    c->n_slots = n;
    return t;
}

int rtc_stun_client_start(rtc_stun_client *c, rtc_time now, const uint8_t *msg, size_t len,
                          const rtc_stun_txn_params *p) {
    if (!c || !msg) return RTC_ERR_INVALID;
    if (len > RTC_STUN_MAX_MSG_LEN || !rtc_stun_is_message(msg, len)) return RTC_ERR_INVALID;
    uint16_t type = rtc_be16(msg);
    if (stun_type_class(type) != RTC_STUN_REQUEST) return RTC_ERR_INVALID;
    if (p && (p->rto < 0 || p->rto > MAX_RTO || p->rc < 0 || p->rc > MAX_RC || p->rm < 0 ||
              p->rm > MAX_RM))
        return RTC_ERR_INVALID;
    if (find(c, msg + 8)) return RTC_ERR_INVALID;
    if (c->count >= c->cfg.max_transactions) return RTC_ERR_NOMEM;
    txn *t = slot_alloc(c);
    if (!t) return RTC_ERR_NOMEM;
    uint8_t *copy = rtc_calloc(&c->env, len);
    if (!copy) return RTC_ERR_NOMEM;
    memcpy(copy, msg, len);
    memset(t, 0, sizeof *t);
    t->state = SLOT_ACTIVE;
    memcpy(t->tid, msg + 8, RTC_STUN_TID_LEN);
    t->method = stun_type_method(type);
    t->msg = copy;
    t->len = len;
    t->reliable = p && p->reliable;
    t->rto = p && p->rto ? p->rto : c->cfg.rto;
    t->rc = p && p->rc ? p->rc : c->cfg.rc;
    t->rm = p && p->rm ? p->rm : c->cfg.rm;
    t->ti = c->cfg.ti;
    if (p) {
        t->src = p->src;
        t->dst = p->dst;
        t->user = p->user;
    }
    t->t0 = now;
    t->due = 1;
    t->pending = true;
    t->due_at = now;
    c->count++;
    if (now > c->last_now) c->last_now = now;
    return RTC_OK;
}

/* Time of transmission k (0-based) and of the final timeout. */
static rtc_time tx_time(const txn *t, int k) { return t->t0 + t->rto * ((1LL << k) - 1); }
static rtc_time end_time(const txn *t) {
    if (t->reliable) return t->t0 + t->ti;
    return tx_time(t, t->rc - 1) + (rtc_time)t->rm * t->rto;
}

int rtc_stun_client_poll_transmit(rtc_stun_client *c, rtc_stun_transmit *out) {
    if (!c || !out) return RTC_ERR_INVALID;
    for (size_t i = 0; i < c->n_slots; i++) {
        txn *t = &c->slots[i];
        if (t->state != SLOT_ACTIVE || !t->pending) continue;
        t->pending = false;
        t->sent++;
        out->data = t->msg;
        out->len = t->len;
        out->src = t->src;
        out->dst = t->dst;
        out->user = t->user;
        memcpy(out->tid, t->tid, RTC_STUN_TID_LEN);
        out->attempt = t->sent;
        return 1;
    }
    return 0;
}

static void fill_event(rtc_stun_client_event *ev, const txn *t, int result) {
    memset(ev, 0, sizeof *ev);
    ev->result = result;
    memcpy(ev->tid, t->tid, RTC_STUN_TID_LEN);
    ev->method = t->method;
    ev->rtt = -1;
    ev->transmissions = t->sent;
    ev->src = t->src;
    ev->dst = t->dst;
    ev->user = t->user;
}

int rtc_stun_client_handle_response(rtc_stun_client *c, rtc_time now, const rtc_stun_msg *m,
                                    rtc_stun_client_event *ev) {
    if (!c || !m) return RTC_ERR_INVALID;
    if (now > c->last_now) c->last_now = now;
    if (m->cls != RTC_STUN_SUCCESS && m->cls != RTC_STUN_ERROR) return 0;
    txn *t = find(c, m->tid);
    /* §6.3.3: a response for another method is not ours either. */
    if (!t || t->method != m->method) return 0;
    if (ev) {
        fill_event(ev, t, m->cls == RTC_STUN_SUCCESS ? RTC_STUN_TXN_SUCCESS : RTC_STUN_TXN_ERROR);
        if (m->cls == RTC_STUN_ERROR) {
            int code = 0;
            if (rtc_stun_get_error_code(m, &code, NULL, NULL) == RTC_OK) ev->error_code = code;
        }
        /* Karn's algorithm: a retransmitted request gives no usable RTT sample. */
        if (t->sent == 1 && t->due == 1 && now >= t->due_at) ev->rtt = now - t->due_at;
    }
    slot_release(c, t);
    return 1;
}

int rtc_stun_client_lookup(const rtc_stun_client *c, const uint8_t tid[RTC_STUN_TID_LEN],
                           void **user) {
    if (!c || !tid) return 0;
    txn *t = find(c, tid);
    if (!t) return 0;
    if (user) *user = t->user;
    return 1;
}

int rtc_stun_client_cancel(rtc_stun_client *c, const uint8_t tid[RTC_STUN_TID_LEN]) {
    if (!c || !tid) return 0;
    txn *t = find(c, tid);
    if (!t) return 0;
    slot_release(c, t);
    return 1;
}

int rtc_stun_client_handle_timeout(rtc_stun_client *c, rtc_time now) {
    if (!c) return RTC_ERR_INVALID;
    if (now > c->last_now) c->last_now = now;
    for (size_t i = 0; i < c->n_slots; i++) {
        txn *t = &c->slots[i];
        if (t->state != SLOT_ACTIVE) continue;
        if (!t->reliable) {
            /* Several missed deadlines collapse into one transmission. */
            while (t->due < t->rc && tx_time(t, t->due) <= now) {
                t->due++;
                t->pending = true;
                t->due_at = now;
            }
        }
        if (t->due >= (t->reliable ? 1 : t->rc) && now >= end_time(t)) {
            t->pending = false;
            t->state = SLOT_TIMED_OUT;
        }
    }
    return RTC_OK;
}

int rtc_stun_client_poll_event(rtc_stun_client *c, rtc_stun_client_event *ev) {
    if (!c || !ev) return RTC_ERR_INVALID;
    for (size_t i = 0; i < c->n_slots; i++) {
        txn *t = &c->slots[i];
        if (t->state != SLOT_TIMED_OUT) continue;
        fill_event(ev, t, RTC_STUN_TXN_TIMEOUT);
        slot_release(c, t);
        return 1;
    }
    return 0;
}

rtc_time rtc_stun_client_next_timeout(const rtc_stun_client *c) {
    if (!c) return RTC_TIME_NEVER;
    rtc_time best = RTC_TIME_NEVER;
    for (size_t i = 0; i < c->n_slots; i++) {
        const txn *t = &c->slots[i];
        rtc_time when;
        if (t->state == SLOT_FREE) continue;
        if (t->state == SLOT_TIMED_OUT || t->pending) when = c->last_now;
        else if (!t->reliable && t->due < t->rc) when = tx_time(t, t->due);
        else when = end_time(t);
        if (when < best) best = when;
    }
    return best;
}

size_t rtc_stun_client_count(const rtc_stun_client *c) { return c ? c->count : 0; }
