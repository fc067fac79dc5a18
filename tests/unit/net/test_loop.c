/* tests for src/net/loop.c: timers, cancel, wake/post from another thread, fds, stop. */
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cwebrtc/loop.h"
#include "cwebrtc/net.h"
#include "net/loop_internal.h"
#include "test.h"

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- timers --------------------------------------------------------------------- */

typedef struct rec {
    int order[2048];
    int n;
    rtc_time late; /* any timer that fired before its deadline sets this */
} rec;

typedef struct tctx {
    rec *r;
    int id;
    rtc_time deadline;
} tctx;

static void on_rec(rtc_loop *l, rtc_timer *t, void *ud) {
    tctx *c = ud;
    if (rtc_loop_now(l) < c->deadline) c->r->late = 1;
    if (c->r->n < 2048) c->r->order[c->r->n++] = c->id;
    CHECK(!rtc_timer_active(t));
}

static void run_until(rtc_loop *l, int *flag, int want, int max_iter) {
    for (int i = 0; i < max_iter && *flag < want; i++)
        rtc_loop_run_once(l, RTC_MS(100));
}

static bool force_ms_waits; /* second pass: the epoll_wait fallback */

static void test_timers_in_order(void) {
    rtc_loop *l = NULL;
    REQUIRE(rtc_loop_new(&l, NULL) == RTC_OK);
    if (force_ms_waits) rtc_loop_test_force_epoll_wait(l);
    rec r = {{0}, 0, 0};
    rtc_time now = rtc_net_now();
    rtc_timer t[5];
    tctx c[5];
    const int delays_ms[5] = {30, 10, 20, 10, 0};
    for (int i = 0; i < 5; i++) {
        rtc_timer_init(&t[i]);
        c[i] = (tctx){&r, i, now + RTC_MS(delays_ms[i])};
        REQUIRE(rtc_loop_timer_start(l, &t[i], c[i].deadline, on_rec, &c[i]) == RTC_OK);
        CHECK(rtc_timer_active(&t[i]));
    }
    CHECK_EQ_INT(rtc_loop_next_deadline(l), now);
    rtc_time t0 = rtc_net_now();
    run_until(l, &r.n, 5, 200);
    CHECK_EQ_INT(r.n, 5);
    const int want[5] = {4, 1, 3, 2, 0}; /* equal deadlines fire in arming order */
    for (int i = 0; i < 5; i++)
        CHECK_EQ_INT(r.order[i], want[i]);
    CHECK_EQ_INT(r.late, 0);
    CHECK(rtc_net_now() - now >= RTC_MS(30)); /* never early: measured from the deadlines' base */
    CHECK(rtc_net_now() - t0 < RTC_SEC(2));
    CHECK_EQ_INT(rtc_loop_next_deadline(l), RTC_TIME_NEVER);
    rtc_loop_free(l);
}

static void test_timer_cancel_and_move(void) {
    rtc_loop *l = NULL;
    REQUIRE(rtc_loop_new(&l, NULL) == RTC_OK);
    rec r = {{0}, 0, 0};
    rtc_time now = rtc_net_now();
    rtc_timer a, b, m, nv;
    rtc_timer_init(&a);
    rtc_timer_init(&b);
    rtc_timer_init(&m);
    rtc_timer_init(&nv);
    tctx ca = {&r, 1, now}, cb = {&r, 2, now + RTC_MS(5)}, cm = {&r, 3, now + RTC_MS(2)};
    REQUIRE(rtc_loop_timer_start(l, &a, ca.deadline, on_rec, &ca) == RTC_OK);
    REQUIRE(rtc_loop_timer_start(l, &b, cb.deadline, on_rec, &cb) == RTC_OK);
    /* m armed far away, then moved close: fires once, at the new time */
    REQUIRE(rtc_loop_timer_start(l, &m, now + RTC_SEC(60), on_rec, &cm) == RTC_OK);
    REQUIRE(rtc_loop_timer_start(l, &m, cm.deadline, on_rec, &cm) == RTC_OK);
    /* RTC_TIME_NEVER disarms (what a core's idle next_timeout() gives) */
    REQUIRE(rtc_loop_timer_start(l, &nv, now, on_rec, &ca) == RTC_OK);
    REQUIRE(rtc_loop_timer_start(l, &nv, RTC_TIME_NEVER, on_rec, &ca) == RTC_OK);
    CHECK(!rtc_timer_active(&nv));
    rtc_loop_timer_stop(l, &a);
    CHECK(!rtc_timer_active(&a));
    rtc_loop_timer_stop(l, &a); /* twice is fine */
    run_until(l, &r.n, 2, 100);
    for (int i = 0; i < 5; i++)
        rtc_loop_run_once(l, 0);
    CHECK_EQ_INT(r.n, 2);
    CHECK_EQ_INT(r.order[0], 3);
    CHECK_EQ_INT(r.order[1], 2);
    rtc_loop_free(l);
}

/* Timer callback stops another due timer, and re-arms itself "now" (next iteration). */
typedef struct chain {
    rtc_timer self, victim;
    int self_runs, victim_runs;
} chain;

static void on_victim(rtc_loop *l, rtc_timer *t, void *ud) { ((chain *)ud)->victim_runs++; }

static void on_self(rtc_loop *l, rtc_timer *t, void *ud) {
    chain *c = ud;
    c->self_runs++;
    rtc_loop_timer_stop(l, &c->victim);
    if (c->self_runs < 3) rtc_loop_timer_start(l, t, rtc_loop_now(l) - 1, on_self, c);
    /* reentrancy is refused, not recursed */
    CHECK_EQ_INT(rtc_loop_run_once(l, 0), RTC_ERR_REENTRANT);
    CHECK_EQ_INT(rtc_loop_run(l), RTC_ERR_REENTRANT);
}

static void test_timer_callbacks_mutate(void) {
    rtc_loop *l = NULL;
    REQUIRE(rtc_loop_new(&l, NULL) == RTC_OK);
    chain c;
    memset(&c, 0, sizeof c);
    rtc_time now = rtc_net_now();
    REQUIRE(rtc_loop_timer_start(l, &c.self, now - 10, on_self, &c) == RTC_OK);
    REQUIRE(rtc_loop_timer_start(l, &c.victim, now - 5, on_victim, &c) == RTC_OK);
    CHECK_EQ_INT(rtc_loop_run_once(l, 0), 1); /* self only: it stopped the victim */
    CHECK_EQ_INT(c.self_runs, 1);
    CHECK_EQ_INT(rtc_loop_run_once(l, 0), 1); /* re-armed due timer runs next iteration */
    CHECK_EQ_INT(rtc_loop_run_once(l, 0), 1);
    CHECK_EQ_INT(rtc_loop_run_once(l, 0), 0);
    CHECK_EQ_INT(c.self_runs, 3);
    CHECK_EQ_INT(c.victim_runs, 0);
    rtc_loop_free(l);
}

/* Heap stress: many due timers with pseudo-random deadlines and some stopped. */
static void test_timer_heap(void) {
    rtc_loop *l = NULL;
    REQUIRE(rtc_loop_new(&l, NULL) == RTC_OK);
    enum { T = 1000 };
    static rtc_timer t[T];
    static tctx c[T];
    static rec r;
    memset(&r, 0, sizeof r);
    rtc_time base = rtc_net_now() - RTC_SEC(10);
    uint32_t x = 12345;
    for (int i = 0; i < T; i++) {
        x = x * 1103515245u + 12345u;
        rtc_timer_init(&t[i]);
        c[i] = (tctx){&r, i, base + (rtc_time)(x >> 8) % 100000};
        REQUIRE(rtc_loop_timer_start(l, &t[i], c[i].deadline, on_rec, &c[i]) == RTC_OK);
    }
    int stopped = 0;
    for (int i = 0; i < T; i += 7) {
        rtc_loop_timer_stop(l, &t[i]);
        stopped++;
    }
    /* re-arm some to other (still past) deadlines */
    for (int i = 3; i < T; i += 11) {
        if (i % 7 == 0) continue;
        c[i].deadline = base + (rtc_time)((i * 7919) % 100000);
        rtc_loop_timer_start(l, &t[i], c[i].deadline, on_rec, &c[i]);
    }
    CHECK_EQ_INT(rtc_loop_run_once(l, 0), T - stopped);
    CHECK_EQ_INT(r.n, T - stopped);
    for (int i = 1; i < r.n; i++) {
        const tctx *p = &c[r.order[i - 1]], *q = &c[r.order[i]];
        CHECK(p->deadline <= q->deadline);
    }
    for (int i = 0; i < r.n; i++)
        CHECK(r.order[i] % 7 != 0);
    rtc_loop_free(l);
}

/* ---- threads -------------------------------------------------------------------- */

typedef struct xthread {
    rtc_loop *l;
    int delay_ms;
    int posts;
    pthread_t loop_thread;
    int ran;
    int in_order;
    int wrong_thread;
} xthread;

static void *waker(void *arg) {
    xthread *x = arg;
    sleep_ms(x->delay_ms);
    rtc_loop_wake(x->l);
    rtc_loop_wake(x->l); /* coalesced */
    return NULL;
}

static void test_wake_from_thread(void) {
    rtc_loop *l = NULL;
    REQUIRE(rtc_loop_new(&l, NULL) == RTC_OK);
    if (force_ms_waits) rtc_loop_test_force_epoll_wait(l);
    xthread x = {.l = l, .delay_ms = 30};
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, waker, &x) == 0);
    rtc_time t0 = rtc_net_now();
    int r = rtc_loop_run_once(l, RTC_SEC(10));
    rtc_time dt = rtc_net_now() - t0;
    pthread_join(th, NULL);
    CHECK_EQ_INT(r, 0);
    CHECK(dt >= RTC_MS(1)); /* it blocked (the waker's 30 ms started before t0, so no tighter bound) */
    CHECK(dt < RTC_SEC(5));
    /* the coalesced second wake costs at most one spare iteration */
    t0 = rtc_net_now();
    rtc_loop_run_once(l, RTC_MS(50));
    rtc_loop_run_once(l, RTC_MS(50));
    CHECK(rtc_net_now() - t0 >= RTC_MS(40)); /* the second call really waited */
    rtc_loop_free(l);
}

typedef struct post_arg {
    xthread *x;
    int seq;
} post_arg;

static void on_post(rtc_loop *l, void *ud) {
    post_arg *a = ud;
    if (!l) return;
    xthread *x = a->x;
    if (!pthread_equal(pthread_self(), x->loop_thread)) x->wrong_thread++;
    if (a->seq != x->ran) x->in_order = 0;
    x->ran++;
    if (x->ran == x->posts) rtc_loop_stop(l);
}

static void *poster(void *arg) {
    xthread *x = arg;
    static post_arg args[1000];
    for (int i = 0; i < x->posts; i++) {
        args[i] = (post_arg){x, i};
        while (rtc_loop_post(x->l, on_post, &args[i]) != RTC_OK)
            sleep_ms(1);
        if (i % 100 == 0) sleep_ms(1);
    }
    return NULL;
}

static void on_guard(rtc_loop *l, rtc_timer *t, void *ud) {
    *(int *)ud = 1;
    rtc_loop_stop(l);
}

static void test_post_from_thread(void) {
    rtc_loop *l = NULL;
    REQUIRE(rtc_loop_new(&l, NULL) == RTC_OK);
    xthread x = {.l = l, .posts = 1000, .loop_thread = pthread_self(), .in_order = 1};
    rtc_timer guard;
    int guard_fired = 0;
    rtc_timer_init(&guard);
    rtc_loop_timer_start(l, &guard, rtc_net_now() + RTC_SEC(10), on_guard, &guard_fired);
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, poster, &x) == 0);
    CHECK_EQ_INT(rtc_loop_run(l), RTC_OK); /* stopped by the last posted function */
    pthread_join(th, NULL);
    CHECK_EQ_INT(guard_fired, 0);
    CHECK_EQ_INT(x.ran, 1000);
    CHECK_EQ_INT(x.in_order, 1);
    CHECK_EQ_INT(x.wrong_thread, 0);
    rtc_loop_timer_stop(l, &guard);
    rtc_loop_free(l);
}

static void count_free(rtc_loop *l, void *ud) {
    int *c = ud;
    if (l == NULL)
        c[0]++;
    else
        c[1]++;
}

static void test_post_bound_and_free(void) {
    rtc_loop *l = NULL;
    REQUIRE(rtc_loop_new(&l, NULL) == RTC_OK);
    int c[2] = {0, 0};
    int ok = 0;
    for (int i = 0; i < RTC_LOOP_POST_MAX; i++)
        ok += rtc_loop_post(l, count_free, c) == RTC_OK;
    CHECK_EQ_INT(ok, RTC_LOOP_POST_MAX);
    CHECK_EQ_INT(rtc_loop_post(l, count_free, c), RTC_ERR_NOMEM);
    CHECK_EQ_INT(rtc_loop_post(l, NULL, c), RTC_ERR_INVALID);
    rtc_loop_free(l); /* pending functions release their ud with l == NULL */
    CHECK_EQ_INT(c[0], RTC_LOOP_POST_MAX);
    CHECK_EQ_INT(c[1], 0);
    rtc_loop_free(NULL);
}

/* ---- fds ------------------------------------------------------------------------ */

typedef struct fdctx {
    int calls;
    unsigned last;
    int other_fd;
    int unwatch_other;
    int close_self;
} fdctx;

static void on_fd(rtc_loop *l, int fd, unsigned ev, void *ud) {
    fdctx *c = ud;
    c->calls++;
    c->last = ev;
    if (ev & RTC_LOOP_READ) {
        char b[16];
        ssize_t r = read(fd, b, sizeof b);
        (void)r;
    }
    if (c->unwatch_other) CHECK_EQ_INT(rtc_loop_unwatch(l, c->other_fd), RTC_OK);
    if (c->close_self) CHECK_EQ_INT(rtc_loop_unwatch(l, fd), RTC_OK);
}

static void test_fd_readiness(void) {
    rtc_loop *l = NULL;
    REQUIRE(rtc_loop_new(&l, NULL) == RTC_OK);
    int p[2];
    REQUIRE(pipe(p) == 0);
    fdctx c;
    memset(&c, 0, sizeof c);
    REQUIRE(rtc_loop_watch(l, p[0], RTC_LOOP_READ, on_fd, &c) == RTC_OK);
    CHECK_EQ_INT(rtc_loop_watch(l, p[0], RTC_LOOP_READ, on_fd, &c), RTC_ERR_MISUSE);
    CHECK_EQ_INT(rtc_loop_run_once(l, 0), 0);
    CHECK_EQ_INT(write(p[1], "x", 1), 1);
    CHECK_EQ_INT(rtc_loop_run_once(l, RTC_SEC(2)), 1);
    CHECK_EQ_INT(c.calls, 1);
    CHECK_EQ_INT(c.last, RTC_LOOP_READ);
    CHECK_EQ_INT(rtc_loop_run_once(l, 0), 0); /* drained: level-triggered, nothing more */
    /* pause, then resume */
    CHECK_EQ_INT(rtc_loop_watch_modify(l, p[0], 0), RTC_OK);
    CHECK_EQ_INT(write(p[1], "y", 1), 1);
    CHECK_EQ_INT(rtc_loop_run_once(l, RTC_MS(20)), 0);
    CHECK_EQ_INT(rtc_loop_watch_modify(l, p[0], RTC_LOOP_READ), RTC_OK);
    CHECK_EQ_INT(rtc_loop_run_once(l, RTC_SEC(2)), 1);
    CHECK_EQ_INT(c.calls, 2);
    /* a paused watcher does not hear a hang-up either (no spinning on EPOLLHUP) */
    int q[2];
    REQUIRE(pipe(q) == 0);
    fdctx h;
    memset(&h, 0, sizeof h);
    REQUIRE(rtc_loop_watch(l, q[0], 0, on_fd, &h) == RTC_OK);
    rtc_net_close(q[1]);
    CHECK_EQ_INT(rtc_loop_run_once(l, RTC_MS(10)), 0);
    CHECK_EQ_INT(rtc_loop_watch_modify(l, q[0], RTC_LOOP_READ), RTC_OK);
    CHECK_EQ_INT(rtc_loop_run_once(l, RTC_SEC(2)), 1);
    CHECK(h.last & RTC_LOOP_READ);
    CHECK_EQ_INT(rtc_loop_unwatch(l, q[0]), RTC_OK);
    rtc_net_close(q[0]);
    /* write readiness */
    fdctx w;
    memset(&w, 0, sizeof w);
    w.close_self = 1;
    REQUIRE(rtc_loop_watch(l, p[1], RTC_LOOP_WRITE, on_fd, &w) == RTC_OK);
    CHECK_EQ_INT(rtc_loop_run_once(l, RTC_SEC(2)), 1);
    CHECK_EQ_INT(w.last, RTC_LOOP_WRITE);
    CHECK_EQ_INT(rtc_loop_unwatch(l, p[1]), RTC_ERR_NOT_FOUND); /* it unwatched itself */
    /* hang-up: closing the write end reports READ|ERROR (or READ with EOF) */
    rtc_net_close(p[1]);
    c.close_self = 1;
    CHECK_EQ_INT(rtc_loop_run_once(l, RTC_SEC(2)), 1);
    CHECK(c.last & RTC_LOOP_READ);
    CHECK_EQ_INT(rtc_loop_watch_modify(l, p[0], RTC_LOOP_READ), RTC_ERR_NOT_FOUND);
    CHECK_EQ_INT(rtc_loop_watch(l, -1, RTC_LOOP_READ, on_fd, &c), RTC_ERR_INVALID);
    rtc_net_close(p[0]);
    rtc_loop_free(l);
}

/* Two ready fds, each callback unwatches the other: exactly one runs (stale events). */
static void test_unwatch_in_batch(void) {
    rtc_loop *l = NULL;
    REQUIRE(rtc_loop_new(&l, NULL) == RTC_OK);
    int a[2], b[2];
    REQUIRE(pipe(a) == 0 && pipe(b) == 0);
    fdctx ca, cb;
    memset(&ca, 0, sizeof ca);
    memset(&cb, 0, sizeof cb);
    ca.other_fd = b[0];
    ca.unwatch_other = 1;
    cb.other_fd = a[0];
    cb.unwatch_other = 1;
    REQUIRE(rtc_loop_watch(l, a[0], RTC_LOOP_READ, on_fd, &ca) == RTC_OK);
    REQUIRE(rtc_loop_watch(l, b[0], RTC_LOOP_READ, on_fd, &cb) == RTC_OK);
    CHECK_EQ_INT(write(a[1], "1", 1), 1);
    CHECK_EQ_INT(write(b[1], "2", 1), 1);
    sleep_ms(1);
    CHECK_EQ_INT(rtc_loop_run_once(l, RTC_SEC(2)), 1);
    CHECK_EQ_INT(ca.calls + cb.calls, 1);
    int p[4] = {a[0], a[1], b[0], b[1]};
    rtc_loop_unwatch(l, a[0]);
    rtc_loop_unwatch(l, b[0]);
    for (int i = 0; i < 4; i++)
        rtc_net_close(p[i]);
    rtc_loop_free(l);
}

/* ---- stop ----------------------------------------------------------------------- */

static void on_stop(rtc_loop *l, rtc_timer *t, void *ud) {
    (*(int *)ud)++;
    rtc_loop_stop(l);
}

static void test_stop(void) {
    rtc_loop *l = NULL;
    REQUIRE(rtc_loop_new(&l, NULL) == RTC_OK);
    if (force_ms_waits) rtc_loop_test_force_epoll_wait(l);
    int fired = 0;
    rtc_timer t;
    rtc_timer_init(&t);
    rtc_loop_timer_start(l, &t, rtc_net_now() + RTC_MS(10), on_stop, &fired);
    rtc_time t0 = rtc_net_now();
    CHECK_EQ_INT(rtc_loop_run(l), RTC_OK);
    CHECK_EQ_INT(fired, 1);
    CHECK(rtc_net_now() - t0 >= RTC_MS(9));
    /* a stop before run: run returns after one iteration, without blocking */
    rtc_loop_stop(l);
    t0 = rtc_net_now();
    CHECK_EQ_INT(rtc_loop_run(l), RTC_OK);
    CHECK(rtc_net_now() - t0 < RTC_SEC(1));
    /* and the stop was consumed: the next run_once waits again */
    t0 = rtc_net_now();
    CHECK_EQ_INT(rtc_loop_run_once(l, RTC_MS(20)), 0);
    CHECK(rtc_net_now() - t0 >= RTC_MS(15));
    rtc_loop_free(l);
}

static void *stopper(void *arg) {
    sleep_ms(20);
    rtc_loop_stop(arg);
    return NULL;
}

static void test_stop_from_thread(void) {
    rtc_loop *l = NULL;
    REQUIRE(rtc_loop_new(&l, NULL) == RTC_OK);
    rtc_timer guard;
    int guard_fired = 0;
    rtc_timer_init(&guard);
    rtc_loop_timer_start(l, &guard, rtc_net_now() + RTC_SEC(10), on_guard, &guard_fired);
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, stopper, l) == 0);
    CHECK_EQ_INT(rtc_loop_run(l), RTC_OK);
    pthread_join(th, NULL);
    CHECK_EQ_INT(guard_fired, 0);
    rtc_loop_free(l);
}

int main(void) {
    RUN(test_timers_in_order);
    RUN(test_timer_cancel_and_move);
    RUN(test_timer_callbacks_mutate);
    RUN(test_timer_heap);
    RUN(test_wake_from_thread);
    RUN(test_post_from_thread);
    RUN(test_post_bound_and_free);
    RUN(test_fd_readiness);
    RUN(test_unwatch_in_batch);
    RUN(test_stop);
    RUN(test_stop_from_thread);
    force_ms_waits = true;
    RUN(test_timers_in_order);
    RUN(test_wake_from_thread);
    RUN(test_stop);
    return TEST_DONE();
}
