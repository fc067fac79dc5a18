/*
** src/net/resolve.c: host name resolution with getaddrinfo (blocking).
**
** getaddrinfo has no portable non-blocking form (getaddrinfo_a uses its own threads and
** signals), so this is a plain blocking helper: apps resolve before starting the loop,
** or on a helper thread that hands the result back with rtc_loop_post(). SRV records
** (RFC 5389 §9 / RFC 8489 §8) are not looked up: browsers do not use them either.
** rtc_net_resolve_async() runs the same call on a detached helper thread and returns the
** result to the loop through a node preallocated in the request, so delivery cannot
** fail; rtc_loop_free() waits for helpers, so a helper never outlives its loop.
*/
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>

#include "cwebrtc/loop.h"
#include "cwebrtc/net.h"
#include "net/loop_internal.h"
#include "util/util.h"

static bool contains(const rtc_addr *list, size_t n, const rtc_addr *a) {
    for (size_t i = 0; i < n; i++)
        if (rtc_addr_equal(&list[i], a)) return true;
    return false;
}

static bool family_ok(rtc_resolve_pref pref, const rtc_addr *a) {
    if (pref == RTC_RESOLVE_V4_ONLY) return a->family == RTC_AF_INET;
    if (pref == RTC_RESOLVE_V6_ONLY) return a->family == RTC_AF_INET6;
    return true;
}

int rtc_net_resolve(const char *host, uint16_t port, rtc_resolve_pref pref, rtc_addr *out,
                    size_t cap) {
    if (!host || !*host || !out || !cap || (unsigned)pref > RTC_RESOLVE_V6_ONLY)
        return RTC_ERR_INVALID;
    /* IP literals (also "[v6]") never touch DNS. */
    rtc_addr lit;
    char tmp[RTC_URI_HOST_MAX];
    size_t hl = strlen(host);
    if (hl >= sizeof tmp) return RTC_ERR_INVALID;
    memcpy(tmp, host, hl + 1);
    if (tmp[0] == '[' && hl > 2 && tmp[hl - 1] == ']') {
        memmove(tmp, tmp + 1, hl - 2);
        tmp[hl - 2] = '\0';
    }
    if (rtc_addr_parse_ip(&lit, tmp, port) == RTC_OK) {
        if (!family_ok(pref, &lit)) return RTC_ERR_NOT_FOUND;
        out[0] = lit;
        return 1;
    }

    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = pref == RTC_RESOLVE_V4_ONLY   ? AF_INET
                      : pref == RTC_RESOLVE_V6_ONLY ? AF_INET6
                                                    : AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM; /* one entry per address instead of one per socktype */
    /* AI_ADDRCONFIG: no IPv6 answers on a host without IPv6 (and vice versa). */
    hints.ai_flags = AI_ADDRCONFIG;
    int rc = getaddrinfo(tmp, NULL, &hints, &res);
    if (rc == EAI_BADFLAGS || (rc != 0 && rc != EAI_NONAME && rc != EAI_AGAIN)) {
        /* Some containers have no configured address at all: retry without ADDRCONFIG. */
        hints.ai_flags = 0;
        rc = getaddrinfo(tmp, NULL, &hints, &res);
    }
    if (rc != 0 || !res) return RTC_ERR_NOT_FOUND;

    size_t n = 0;
    /* Two passes give V4_FIRST / V6_FIRST; ANY keeps the resolver's RFC 6724 order. */
    for (int pass = 0; pass < 2 && n < cap; pass++) {
        for (struct addrinfo *ai = res; ai && n < cap; ai = ai->ai_next) {
            rtc_addr a;
            if (rtc_addr_from_sockaddr(&a, ai->ai_addr, ai->ai_addrlen) != RTC_OK) continue;
            a.port = port;
            if (!family_ok(pref, &a)) continue;
            if (pref == RTC_RESOLVE_V4_FIRST && (pass == 0) != (a.family == RTC_AF_INET)) continue;
            if (pref == RTC_RESOLVE_V6_FIRST && (pass == 0) != (a.family == RTC_AF_INET6)) continue;
            if (pref != RTC_RESOLVE_V4_FIRST && pref != RTC_RESOLVE_V6_FIRST && pass == 1) continue;
            if (contains(out, n, &a)) continue;
            out[n++] = a;
        }
    }
    freeaddrinfo(res);
    return n ? (int)n : RTC_ERR_NOT_FOUND;
}

int rtc_uri_resolve(const rtc_uri *uri, rtc_resolve_pref pref, rtc_addr *out, size_t cap) {
    if (!uri || !uri->host[0]) return RTC_ERR_INVALID;
    if (uri->host_is_ip) {
        if (!out || !cap) return RTC_ERR_INVALID;
        if (!family_ok(pref, &uri->ip)) return RTC_ERR_NOT_FOUND;
        out[0] = uri->ip;
        out[0].port = uri->port;
        return 1;
    }
    return rtc_net_resolve(uri->host, uri->port, pref, out, cap);
}

/* ---- asynchronous: a helper thread per look-up ------------------------------------ */

typedef struct resolve_req {
    rtc_loop_post_node node; /* handed to the loop when done: no allocation can fail then */
    rtc_loop *loop;
    rtc_env env;
    char host[RTC_URI_HOST_MAX];
    uint16_t port;
    rtc_resolve_pref pref;
    rtc_resolve_cb cb;
    void *ud;
    int result;
    rtc_addr addrs[RTC_RESOLVE_MAX];
} resolve_req;

static void resolve_deliver(rtc_loop *l, void *arg) {
    resolve_req *r = arg;
    rtc_env env = r->env;
    r->cb(l, r->result, r->result > 0 ? r->addrs : NULL, r->ud);
    rtc_free(&env, r, sizeof *r);
}

static void resolve_finish(resolve_req *r) {
    rtc_loop *l = r->loop; /* r may be freed by the loop as soon as it is posted */
    r->node.fn = resolve_deliver;
    r->node.ud = r;
    rtc_loop_helper_done(l, &r->node);
}

static void *resolve_thread(void *arg) {
    resolve_req *r = arg;
    r->result = rtc_net_resolve(r->host, r->port, r->pref, r->addrs, RTC_RESOLVE_MAX);
    resolve_finish(r);
    return NULL;
}

int rtc_net_resolve_async(rtc_loop *l, const char *host, uint16_t port, rtc_resolve_pref pref,
                          rtc_resolve_cb cb, void *ud) {
    if (!l || !host || !*host || !cb || (unsigned)pref > RTC_RESOLVE_V6_ONLY)
        return RTC_ERR_INVALID;
    size_t hl = strlen(host);
    if (hl >= RTC_URI_HOST_MAX) return RTC_ERR_INVALID;
    /* The loop's env is private; the default allocator is what helpers can rely on. */
    rtc_env env;
    rtc_env_copy(&env, NULL);
    resolve_req *r = rtc_calloc(&env, sizeof *r);
    if (!r) return RTC_ERR_NOMEM;
    r->env = env;
    r->loop = l;
    memcpy(r->host, host, hl + 1);
    r->port = port;
    r->pref = pref;
    r->cb = cb;
    r->ud = ud;
    rtc_loop_helper_begin(l);

    rtc_addr lit;
    char tmp[RTC_URI_HOST_MAX];
    memcpy(tmp, host, hl + 1);
    if (tmp[0] == '[' && hl > 2 && tmp[hl - 1] == ']') {
        memmove(tmp, tmp + 1, hl - 2);
        tmp[hl - 2] = '\0';
    }
    if (rtc_addr_parse_ip(&lit, tmp, port) == RTC_OK) {
        r->result = rtc_net_resolve(host, port, pref, r->addrs, RTC_RESOLVE_MAX);
        resolve_finish(r);
        return RTC_OK;
    }

    /* Helper threads take no signals: SIGINT and friends stay with the app's threads. */
    pthread_attr_t attr;
    pthread_t th;
    sigset_t all, old;
    sigfillset(&all);
    int rc = pthread_attr_init(&attr);
    if (rc == 0) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        rc = pthread_create(&th, &attr, resolve_thread, r);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        pthread_attr_destroy(&attr);
    }
    if (rc != 0) {
        rtc_loop_helper_cancel(l);
        rtc_free(&env, r, sizeof *r);
        errno = rc;
        return RTC_ERR_IO;
    }
    return RTC_OK;
}
