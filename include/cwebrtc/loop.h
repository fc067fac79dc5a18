/*
** cwebrtc/loop.h: a single-threaded event loop (epoll) that drives sans-IO cores.
**
** An rtc_loop runs on ONE thread, the one that calls rtc_loop_run()/rtc_loop_run_once().
** It watches file descriptors (read/write readiness) and keeps timers with absolute
** microsecond deadlines on the rtc_net_now() clock. A core's next_timeout() becomes a
** timer; a socket becoming readable becomes handle_packet() calls; after each call the
** app drains the core's poll_output() and (re)arms the timer:
**
**     static void on_timer(rtc_loop *l, rtc_timer *t, void *ud) {
**         app *a = ud;
**         rtc_x_handle_timeout(a->x, rtc_loop_now(l));
**         drain(a);                                   // sends, events
**         rtc_loop_timer_start(l, t, rtc_x_next_timeout(a->x), on_timer, a);
**     }
**
** Other threads may only call rtc_loop_wake(), rtc_loop_post() and rtc_loop_stop();
** everything else belongs to the loop thread. Callbacks run on the loop thread, one at a
** time, never while the loop holds a lock, and never from inside an rtc_loop_* call the
** user made (except run/run_once), so a callback may call any rtc_loop_* function,
** including unwatching its own fd, stopping its own timer or freeing its own state.
**
** Why epoll: Linux is the target, level-triggered epoll scales to thousands of sockets
** with O(ready) work per wakeup, and eventfd gives a cheap cross-thread wake-up.
*/
#ifndef CWEBRTC_LOOP_H
#define CWEBRTC_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cwebrtc/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rtc_loop rtc_loop;

/* Readiness bits for fd watchers. RTC_LOOP_ERROR is only ever reported (EPOLLERR or
** EPOLLHUP), always together with the requested READ/WRITE bits so that the next
** read/write call sees the error. */
#define RTC_LOOP_READ  0x1u
#define RTC_LOOP_WRITE 0x2u
#define RTC_LOOP_ERROR 0x4u

typedef void (*rtc_loop_fd_cb)(rtc_loop *l, int fd, unsigned events, void *ud);

/*
** A timer is caller-owned memory the loop links into its heap (no allocation per arm).
** Zero-initialise it (or rtc_timer_init) before first use; its fields are private.
** A timer must be stopped (or have fired) before its memory is freed or reused.
*/
typedef struct rtc_timer rtc_timer;
typedef void (*rtc_loop_timer_cb)(rtc_loop *l, rtc_timer *t, void *ud);
struct rtc_timer {
    /* private */
    rtc_time deadline;
    uint64_t seq;    /* arming order: equal deadlines fire first-armed first */
    size_t heap_pos; /* 1-based index in the loop's heap; 0 = not armed */
    rtc_loop_timer_cb cb;
    void *ud;
};

/*
** A function posted from any thread. `l` is the loop when it runs on the loop thread;
** it is NULL when the loop is freed before the function ran, so that the function can
** still release `ud` (it then runs on the thread calling rtc_loop_free).
*/
typedef void (*rtc_loop_fn)(rtc_loop *l, void *ud);

/*
** rtc_loop_new() — create a loop (epoll fd + eventfd). env may be NULL; it is copied.
** Returns RTC_OK, RTC_ERR_NOMEM, RTC_ERR_IO.
** rtc_loop_free() — close the loop's own fds (never the watched fds, which the caller
** owns), run pending posted functions with l == NULL, forget timers. NULL is a no-op.
** Call it on the loop thread after run has returned, with no other thread still posting.
*/
RTC_API int rtc_loop_new(rtc_loop **out, const rtc_env *env);
RTC_API void rtc_loop_free(rtc_loop *l);

/*
** rtc_loop_run() — dispatch until rtc_loop_stop(). Returns RTC_OK after a stop, or
** RTC_ERR_IO if epoll fails. rtc_loop_run_once() — wait at most `timeout` µs
** (0 = do not wait, RTC_TIME_NEVER or negative = until something happens; waiting is
** also cut short by the earliest timer), dispatch ready fds, due timers and posted
** functions once, and return how many callbacks ran (>= 0), or RTC_ERR_IO,
** or RTC_ERR_REENTRANT when called from inside a callback of the same loop.
** Loop thread only.
*/
RTC_API int rtc_loop_run(rtc_loop *l);
RTC_API int rtc_loop_run_once(rtc_loop *l, rtc_time timeout);

/*
** rtc_loop_stop() — make rtc_loop_run() return after the current iteration. A stop
** requested while the loop is not running makes the next run return at once (after one
** iteration). rtc_loop_run_once() ignores the request (it only returns early once,
** because of the wake-up). Any thread; async-signal-safe (an atomic store and a write
** to an eventfd), so a SIGINT handler may call it.
*/
RTC_API void rtc_loop_stop(rtc_loop *l);

/*
** rtc_loop_wake() — interrupt a blocking wait so the loop iterates again. Any thread;
** async-signal-safe; coalesced (many wakes before the loop runs cost one iteration).
*/
RTC_API void rtc_loop_wake(rtc_loop *l);

/*
** rtc_loop_post() — queue fn(l, ud) to run on the loop thread, in posting order, and wake
** the loop. Any thread. The queue is bounded (RTC_LOOP_POST_MAX entries pending);
** returns RTC_OK, RTC_ERR_NOMEM (allocation failed or the bound was reached; fn will
** not run), RTC_ERR_INVALID.
*/
#define RTC_LOOP_POST_MAX 65536
RTC_API int rtc_loop_post(rtc_loop *l, rtc_loop_fn fn, void *ud);

/*
** rtc_loop_now() — the time cached at the start of the current dispatch round (cheap;
** what callbacks should pass to cores as `now`). rtc_net_now() reads the clock afresh.
** Loop thread only.
*/
RTC_API rtc_time rtc_loop_now(const rtc_loop *l);

/*
** rtc_loop_watch() — call cb(l, fd, events, ud) whenever fd is ready for any of `events`
** (RTC_LOOP_READ | RTC_LOOP_WRITE; level-triggered: it is called again on the next
** iteration while still ready; 0 registers it paused, and a paused watcher hears
** nothing, not even a hang-up). One watcher per fd; the caller keeps owning the fd and
** must unwatch it before closing it. Returns RTC_OK, RTC_ERR_INVALID, RTC_ERR_MISUSE
** (already watched), RTC_ERR_NOMEM, RTC_ERR_IO.
** rtc_loop_watch_modify() — change the interest set (e.g. add WRITE while output is
** blocked); events 0 pauses the watcher. RTC_ERR_NOT_FOUND if not watched.
** rtc_loop_unwatch() — stop watching; safe from any callback, including fd's own: no
** callback for fd runs after it returns. RTC_ERR_NOT_FOUND if not watched.
** Loop thread only.
*/
RTC_API int rtc_loop_watch(rtc_loop *l, int fd, unsigned events, rtc_loop_fd_cb cb, void *ud);
RTC_API int rtc_loop_watch_modify(rtc_loop *l, int fd, unsigned events);
RTC_API int rtc_loop_unwatch(rtc_loop *l, int fd);

/* Make a timer ready for use (equivalent to zeroing it). */
RTC_API void rtc_timer_init(rtc_timer *t);
/* True while armed (between start and firing/stop). */
RTC_API bool rtc_timer_active(const rtc_timer *t);

/*
** rtc_loop_timer_start() — arm (or re-arm, moving it) `t` to call cb(l, t, ud) once at
** or after `deadline` (absolute rtc_net_now() µs; a past deadline fires on the next
** iteration). RTC_TIME_NEVER stops the timer instead, which suits a core's
** next_timeout() directly. Timers with equal deadlines fire in arming order. A timer
** armed from inside a timer callback with a deadline already due runs in the NEXT
** iteration, so a zero-delay re-arm cannot starve fds.
** Returns RTC_OK, RTC_ERR_INVALID, RTC_ERR_NOMEM (heap growth failed; t unchanged).
** rtc_loop_timer_stop() — disarm; no-op if not armed. Loop thread only.
*/
RTC_API int rtc_loop_timer_start(rtc_loop *l, rtc_timer *t, rtc_time deadline, rtc_loop_timer_cb cb,
                                 void *ud);
RTC_API void rtc_loop_timer_stop(rtc_loop *l, rtc_timer *t);

/* Deadline of the earliest armed timer, or RTC_TIME_NEVER. Loop thread only. */
RTC_API rtc_time rtc_loop_next_deadline(const rtc_loop *l);

#ifdef __cplusplus
}
#endif
#endif
