/*
** src/net/loop_internal.h: hooks for src/net helpers that finish work on other threads
** (private). A helper thread registers with rtc_loop_helper_begin() on the loop thread;
** when done it hands back a preallocated post node with rtc_loop_helper_done(), which
** cannot fail (no allocation, no bound) and after which the helper must not touch the
** loop again. rtc_loop_free() waits for every registered helper to finish.
*/
#ifndef RTC_NET_LOOP_INTERNAL_H
#define RTC_NET_LOOP_INTERNAL_H

#include "cwebrtc/loop.h"
#include "util/util.h"

typedef struct rtc_loop_post_node {
    struct rtc_loop_post_node *next;
    rtc_loop_fn fn;
    void *ud;
    bool embedded; /* owned by the caller's struct: the loop must not free it */
} rtc_loop_post_node;

RTC_INTERNAL void rtc_loop_helper_begin(rtc_loop *l);
RTC_INTERNAL void rtc_loop_helper_done(rtc_loop *l, rtc_loop_post_node *n);
/* Undo a begin whose helper never started (e.g. pthread_create failed). */
RTC_INTERNAL void rtc_loop_helper_cancel(rtc_loop *l);

/* Tests: use the epoll_wait (millisecond) fallback as on kernels before 5.11. */
RTC_INTERNAL void rtc_loop_test_force_epoll_wait(rtc_loop *l);

#endif
