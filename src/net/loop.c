/*
** src/net/loop.c: one-thread epoll event loop with fd watchers, a timer heap, a
** cross-thread wake-up (eventfd) and a posted-function queue.
**
** Shape of one iteration (rtc_loop_run_once):
**   1. wait in epoll for at most min(caller's timeout, earliest timer - now); no wait at
**      all when functions are already posted or a stop is pending;
**   2. read the clock once (rtc_loop_now) and dispatch ready fds;
**   3. fire due timers (only those armed before this step: a callback that re-arms a
**      timer "now" runs it next iteration, so timers cannot starve sockets);
**   4. take the posted-function list under the mutex, release it, run the list.
** Callbacks therefore never run with the mutex held, and never re-enter run_once.
**
** Stale events: an fd callback may unwatch and close another fd whose event is later in
** the same epoll batch, and the fd number may be reused and watched again at once. Each
** watch gets a generation number stored in the epoll data, so stale events are skipped.
**
** Why epoll and level-triggered: Linux is the target, epoll costs O(ready) per wake-up,
** and level-triggered readiness lets a UDP callback read one batch and yield to the
** other sockets without losing the rest (they report ready again next iteration).
*/
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "cwebrtc/loop.h"
#include "cwebrtc/net.h"
#include "net/loop_internal.h"
#include "util/util.h"

#define LOG_MODULE  "loop"
#define LOOP_EVENTS 256
#define WAKE_TAG    UINT64_MAX

typedef struct watcher {
    rtc_loop_fd_cb cb;
    void *ud;
    unsigned events;
    uint32_t gen;
    bool active;
} watcher;

typedef rtc_loop_post_node post_node;

struct rtc_loop {
    rtc_env env;
    int epfd;
    int evfd;
    rtc_time now;
    bool in_dispatch;
    bool no_pwait2; /* kernel without epoll_pwait2: fall back to ms waits */
    atomic_int stop;
    atomic_int wake_pending;

    watcher *w; /* indexed by fd */
    size_t wcap;
    uint32_t gen;

    rtc_timer **heap; /* min-heap on (deadline, seq); heap_pos is 1-based */
    size_t heap_len, heap_cap;
    uint64_t timer_seq;

    pthread_mutex_t mu; /* guards the post list and `helpers` only */
    pthread_cond_t helpers_done;
    post_node *post_head, *post_tail;
    size_t post_count; /* user posts only (helper nodes are not bounded) */
    int helpers;       /* helper threads still running (see loop_internal.h) */
    atomic_int post_nonempty;

    struct epoll_event events[LOOP_EVENTS];
};

/* ---- lifecycle ------------------------------------------------------------------ */

int rtc_loop_new(rtc_loop **out, const rtc_env *env) {
    if (!out) return RTC_ERR_INVALID;
    *out = NULL;
    rtc_env e;
    rtc_env_copy(&e, env);
    rtc_loop *l = rtc_calloc(&e, sizeof *l);
    if (!l) return RTC_ERR_NOMEM;
    l->env = e;
    l->evfd = -1;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) goto fail;
    l->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->evfd < 0) goto fail;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WAKE_TAG};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->evfd, &ev) != 0) goto fail;
    if (pthread_mutex_init(&l->mu, NULL) != 0) goto fail;
    if (pthread_cond_init(&l->helpers_done, NULL) != 0) {
        pthread_mutex_destroy(&l->mu);
        goto fail;
    }
    atomic_init(&l->stop, 0);
    atomic_init(&l->wake_pending, 0);
    atomic_init(&l->post_nonempty, 0);
    l->now = rtc_net_now();
    *out = l;
    return RTC_OK;
fail:;
    int saved = errno;
    rtc_net_close(l->evfd);
    rtc_net_close(l->epfd);
    rtc_free(&e, l, sizeof *l);
    errno = saved;
    return RTC_ERR_IO;
}

void rtc_loop_free(rtc_loop *l) {
    if (!l) return;
    /* Helper threads (rtc_net_resolve_async) still hold the loop: wait for them. */
    pthread_mutex_lock(&l->mu);
    while (l->helpers > 0)
        pthread_cond_wait(&l->helpers_done, &l->mu);
    /* Posted functions still get to release their `ud` (documented: l == NULL). */
    post_node *p = l->post_head;
    l->post_head = l->post_tail = NULL;
    l->post_count = 0;
    pthread_mutex_unlock(&l->mu);
    while (p) {
        post_node *next = p->next;
        rtc_loop_fn fn = p->fn;
        void *ud = p->ud;
        if (!p->embedded) rtc_free(&l->env, p, sizeof *p);
        fn(NULL, ud);
        p = next;
    }
    for (size_t i = 0; i < l->heap_len; i++)
        l->heap[i]->heap_pos = 0;
    pthread_cond_destroy(&l->helpers_done);
    pthread_mutex_destroy(&l->mu);
    rtc_net_close(l->evfd);
    rtc_net_close(l->epfd);
    rtc_env e = l->env;
    rtc_free(&e, l->heap, l->heap_cap * sizeof *l->heap);
    rtc_free(&e, l->w, l->wcap * sizeof *l->w);
    rtc_free(&e, l, sizeof *l);
}

rtc_time rtc_loop_now(const rtc_loop *l) { return l ? l->now : rtc_net_now(); }

/* ---- cross-thread --------------------------------------------------------------- */

void rtc_loop_wake(rtc_loop *l) {
    if (!l) return;
    /* Coalesce: only the first waker since the loop last drained the eventfd writes. */
    if (atomic_exchange(&l->wake_pending, 1) == 0) {
        uint64_t one = 1;
        int saved = errno; /* async-signal-safe callers must not see errno change */
        ssize_t r = write(l->evfd, &one, sizeof one);
        (void)r; /* EAGAIN means the counter is already non-zero: a wake is pending */
        errno = saved;
    }
}

void rtc_loop_stop(rtc_loop *l) {
    if (!l) return;
    atomic_store(&l->stop, 1);
    rtc_loop_wake(l);
}

int rtc_loop_post(rtc_loop *l, rtc_loop_fn fn, void *ud) {
    if (!l || !fn) return RTC_ERR_INVALID;
    /* Allocated outside the lock, through env (which must then be thread-safe; libc's is). */
    post_node *n = rtc_calloc(&l->env, sizeof *n);
    if (!n) return RTC_ERR_NOMEM;
    n->fn = fn;
    n->ud = ud;
    pthread_mutex_lock(&l->mu);
    if (l->post_count >= RTC_LOOP_POST_MAX) {
        pthread_mutex_unlock(&l->mu);
        rtc_free(&l->env, n, sizeof *n);
        return RTC_ERR_NOMEM;
    }
    if (l->post_tail)
        l->post_tail->next = n;
    else
        l->post_head = n;
    l->post_tail = n;
    l->post_count++;
    atomic_store(&l->post_nonempty, 1);
    pthread_mutex_unlock(&l->mu);
    rtc_loop_wake(l);
    return RTC_OK;
}

void rtc_loop_helper_begin(rtc_loop *l) {
    pthread_mutex_lock(&l->mu);
    l->helpers++;
    pthread_mutex_unlock(&l->mu);
}

void rtc_loop_helper_cancel(rtc_loop *l) {
    pthread_mutex_lock(&l->mu);
    if (--l->helpers == 0) pthread_cond_broadcast(&l->helpers_done);
    pthread_mutex_unlock(&l->mu);
}

void rtc_loop_helper_done(rtc_loop *l, rtc_loop_post_node *n) {
    n->next = NULL;
    n->embedded = true;
    pthread_mutex_lock(&l->mu);
    if (l->post_tail)
        l->post_tail->next = n;
    else
        l->post_head = n;
    l->post_tail = n;
    atomic_store(&l->post_nonempty, 1);
    /* Wake before the count drops: once it is 0, rtc_loop_free may proceed. */
    rtc_loop_wake(l);
    if (--l->helpers == 0) pthread_cond_broadcast(&l->helpers_done);
    pthread_mutex_unlock(&l->mu);
}

/* ---- fd watchers ---------------------------------------------------------------- */

static uint32_t to_epoll(unsigned ev) {
    uint32_t e = 0;
    if (ev & RTC_LOOP_READ) e |= EPOLLIN;
    if (ev & RTC_LOOP_WRITE) e |= EPOLLOUT;
    return e;
}

int rtc_loop_watch(rtc_loop *l, int fd, unsigned events, rtc_loop_fd_cb cb, void *ud) {
    if (!l || fd < 0 || !cb || (events & ~(RTC_LOOP_READ | RTC_LOOP_WRITE)) || fd == l->evfd ||
        fd == l->epfd)
        return RTC_ERR_INVALID;
    if ((size_t)fd >= l->wcap) {
        size_t n = l->wcap ? l->wcap : 64;
        while (n <= (size_t)fd)
            n *= 2;
        watcher *w = rtc_realloc(&l->env, l->w, l->wcap * sizeof *w, n * sizeof *w);
        if (!w) return RTC_ERR_NOMEM;
        memset(w + l->wcap, 0, (n - l->wcap) * sizeof *w);
        l->w = w;
        l->wcap = n;
    }
    watcher *w = &l->w[fd];
    if (w->active) return RTC_ERR_MISUSE;
    uint32_t gen = ++l->gen;
    if (gen == UINT32_MAX) gen = l->gen = 1; /* keep clear of WAKE_TAG's high half */
    struct epoll_event ev = {.events = to_epoll(events),
                             .data.u64 = ((uint64_t)gen << 32) | (uint32_t)fd};
    /* A paused watcher (events 0) stays out of the epoll set: epoll reports EPOLLHUP and
       EPOLLERR even for an empty interest set, which would spin a level-triggered loop. */
    if (events && epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) return RTC_ERR_IO;
    w->cb = cb;
    w->ud = ud;
    w->events = events;
    w->gen = gen;
    w->active = true;
    return RTC_OK;
}

int rtc_loop_watch_modify(rtc_loop *l, int fd, unsigned events) {
    if (!l || fd < 0 || (events & ~(RTC_LOOP_READ | RTC_LOOP_WRITE))) return RTC_ERR_INVALID;
    if ((size_t)fd >= l->wcap || !l->w[fd].active) return RTC_ERR_NOT_FOUND;
    watcher *w = &l->w[fd];
    if (w->events == events) return RTC_OK;
    struct epoll_event ev = {.events = to_epoll(events),
                             .data.u64 = ((uint64_t)w->gen << 32) | (uint32_t)fd};
    int op = !w->events ? EPOLL_CTL_ADD : !events ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
    if (epoll_ctl(l->epfd, op, fd, &ev) != 0) return RTC_ERR_IO;
    w->events = events;
    return RTC_OK;
}

int rtc_loop_unwatch(rtc_loop *l, int fd) {
    if (!l || fd < 0) return RTC_ERR_INVALID;
    if ((size_t)fd >= l->wcap || !l->w[fd].active) return RTC_ERR_NOT_FOUND;
    /* EBADF/ENOENT here means the caller closed the fd first: the kernel already
       dropped it from the set, which is what we wanted anyway. */
    if (l->w[fd].events) (void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
    memset(&l->w[fd], 0, sizeof l->w[fd]);
    return RTC_OK;
}

/* ---- timers --------------------------------------------------------------------- */

void rtc_timer_init(rtc_timer *t) {
    if (t) memset(t, 0, sizeof *t);
}

bool rtc_timer_active(const rtc_timer *t) { return t && t->heap_pos != 0; }

static bool earlier(const rtc_timer *a, const rtc_timer *b) {
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void heap_set(rtc_loop *l, size_t i, rtc_timer *t) {
    l->heap[i] = t;
    t->heap_pos = i + 1;
}

static void sift_up(rtc_loop *l, size_t i) {
    rtc_timer *t = l->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!earlier(t, l->heap[parent])) break;
        heap_set(l, i, l->heap[parent]);
        i = parent;
    }
    heap_set(l, i, t);
}

static void sift_down(rtc_loop *l, size_t i) {
    rtc_timer *t = l->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= l->heap_len) break;
        if (c + 1 < l->heap_len && earlier(l->heap[c + 1], l->heap[c])) c++;
        if (!earlier(l->heap[c], t)) break;
        heap_set(l, i, l->heap[c]);
        i = c;
    }
    heap_set(l, i, t);
}

static void heap_remove(rtc_loop *l, rtc_timer *t) {
    size_t i = t->heap_pos - 1;
    t->heap_pos = 0;
    l->heap_len--;
    if (i == l->heap_len) return;
    heap_set(l, i, l->heap[l->heap_len]);
    sift_down(l, i);
    sift_up(l, l->heap[i]->heap_pos - 1);
}

void rtc_loop_timer_stop(rtc_loop *l, rtc_timer *t) {
    if (!l || !t || !t->heap_pos) return;
    if (t->heap_pos > l->heap_len || l->heap[t->heap_pos - 1] != t) return; /* not ours */
    heap_remove(l, t);
}

int rtc_loop_timer_start(rtc_loop *l, rtc_timer *t, rtc_time deadline, rtc_loop_timer_cb cb,
                         void *ud) {
    if (!l || !t || (!cb && deadline != RTC_TIME_NEVER)) return RTC_ERR_INVALID;
    if (deadline == RTC_TIME_NEVER) {
        rtc_loop_timer_stop(l, t);
        return RTC_OK;
    }
    if (!t->heap_pos) {
        if (l->heap_len == l->heap_cap) {
            size_t n = l->heap_cap ? l->heap_cap * 2 : 16;
            rtc_timer **h = rtc_realloc(&l->env, l->heap, l->heap_cap * sizeof *h, n * sizeof *h);
            if (!h) return RTC_ERR_NOMEM;
            l->heap = h;
            l->heap_cap = n;
        }
        t->deadline = deadline;
        t->seq = l->timer_seq++;
        t->cb = cb;
        t->ud = ud;
        heap_set(l, l->heap_len++, t);
        sift_up(l, l->heap_len - 1);
        return RTC_OK;
    }
    t->deadline = deadline;
    t->seq = l->timer_seq++;
    t->cb = cb;
    t->ud = ud;
    size_t i = t->heap_pos - 1;
    sift_up(l, i);
    sift_down(l, t->heap_pos - 1);
    return RTC_OK;
}

rtc_time rtc_loop_next_deadline(const rtc_loop *l) {
    return l && l->heap_len ? l->heap[0]->deadline : RTC_TIME_NEVER;
}

/* ---- dispatch ------------------------------------------------------------------- */

static int wait_events(rtc_loop *l, rtc_time wait_us) {
    int n;
    if (!l->no_pwait2) {
        struct timespec ts, *tp = NULL;
        if (wait_us >= 0) {
            ts.tv_sec = (time_t)(wait_us / 1000000);
            ts.tv_nsec = (long)(wait_us % 1000000) * 1000;
            tp = &ts;
        }
        n = epoll_pwait2(l->epfd, l->events, LOOP_EVENTS, tp, NULL);
        if (n >= 0 || errno != ENOSYS) return n;
        l->no_pwait2 = true;
    }
    int ms = -1;
    if (wait_us >= 0) {
        rtc_time m = (wait_us + 999) / 1000; /* round up: never wake before a deadline */
        ms = m > INT_MAX ? INT_MAX : (int)m;
    }
    return epoll_wait(l->epfd, l->events, LOOP_EVENTS, ms);
}

void rtc_loop_test_force_epoll_wait(rtc_loop *l) { l->no_pwait2 = true; }

static int dispatch_posts(rtc_loop *l) {
    if (!atomic_load(&l->post_nonempty)) return 0;
    pthread_mutex_lock(&l->mu);
    post_node *p = l->post_head;
    l->post_head = l->post_tail = NULL;
    l->post_count = 0;
    atomic_store(&l->post_nonempty, 0);
    pthread_mutex_unlock(&l->mu);
    int ran = 0;
    while (p) {
        post_node *next = p->next;
        rtc_loop_fn fn = p->fn;
        void *ud = p->ud;
        if (!p->embedded) rtc_free(&l->env, p, sizeof *p);
        fn(l, ud);
        ran++;
        p = next;
    }
    return ran;
}

int rtc_loop_run_once(rtc_loop *l, rtc_time timeout) {
    if (!l) return RTC_ERR_INVALID;
    if (l->in_dispatch) return RTC_ERR_REENTRANT;
    rtc_time now = rtc_net_now();
    rtc_time wait = (timeout < 0 || timeout == RTC_TIME_NEVER) ? -1 : timeout;
    if (l->heap_len) {
        rtc_time d = l->heap[0]->deadline;
        rtc_time until = d <= now ? 0 : d - now;
        if (wait < 0 || until < wait) wait = until;
    }
    /* A pending stop needs no shortcut here: rtc_loop_stop() also wakes the eventfd. */
    if (atomic_load(&l->post_nonempty)) wait = 0;

    int n = wait_events(l, wait);
    if (n < 0) {
        if (errno != EINTR) return RTC_ERR_IO;
        n = 0; /* a signal (perhaps the one that called rtc_loop_stop): just iterate */
    }
    l->in_dispatch = true;
    l->now = rtc_net_now();
    int ran = 0;
    for (int i = 0; i < n; i++) {
        uint64_t tag = l->events[i].data.u64;
        uint32_t re = l->events[i].events;
        if (tag == WAKE_TAG) {
            uint64_t v;
            ssize_t r = read(l->evfd, &v, sizeof v);
            (void)r;
            /* Cleared after the read, so the eventfd is never left pending with the flag
               at 0. A wake landing between the read and the store is absorbed without a
               write, which is fine: this iteration has not run its posts yet. */
            atomic_store(&l->wake_pending, 0);
            continue;
        }
        int fd = (int)(uint32_t)tag;
        uint32_t gen = (uint32_t)(tag >> 32);
        if ((size_t)fd >= l->wcap) continue;
        watcher *w = &l->w[fd];
        if (!w->active || w->gen != gen) continue; /* unwatched earlier in this batch */
        unsigned ev = 0;
        if (re & EPOLLIN) ev |= RTC_LOOP_READ;
        if (re & EPOLLOUT) ev |= RTC_LOOP_WRITE;
        if (re & (EPOLLERR | EPOLLHUP)) ev |= RTC_LOOP_ERROR | w->events;
        ev &= w->events | RTC_LOOP_ERROR;
        if (!ev) continue;
        w->cb(l, fd, ev, w->ud);
        ran++;
    }

    /* Timers due now, armed before this point (see the file comment). */
    uint64_t seq_limit = l->timer_seq;
    while (l->heap_len) {
        rtc_timer *t = l->heap[0];
        if (t->deadline > l->now || t->seq >= seq_limit) break;
        heap_remove(l, t);
        t->cb(l, t, t->ud);
        ran++;
    }
    ran += dispatch_posts(l);
    l->in_dispatch = false;
    return ran;
}

int rtc_loop_run(rtc_loop *l) {
    if (!l) return RTC_ERR_INVALID;
    if (l->in_dispatch) return RTC_ERR_REENTRANT;
    for (;;) {
        int r = rtc_loop_run_once(l, RTC_TIME_NEVER);
        if (r < 0) return r;
        if (atomic_exchange(&l->stop, 0)) return RTC_OK;
    }
}
