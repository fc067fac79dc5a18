/* tests for src/net/uri.c and resolve.c: RFC 7064/7065 URIs, getaddrinfo wrapper. */
#include <string.h>

#include <pthread.h>

#include "cwebrtc/loop.h"
#include "cwebrtc/net.h"
#include "test.h"

typedef struct good_case {
    const char *uri;
    rtc_uri_scheme scheme;
    const char *host;
    uint16_t port;
    rtc_uri_transport transport;
    bool is_ip, port_explicit, transport_explicit;
} good_case;

static const good_case GOOD[] = {
    {"stun:stun.example.org", RTC_URI_STUN, "stun.example.org", 3478, RTC_URI_UDP, 0, 0, 0},
    {"stun:stun.l.google.com:19302", RTC_URI_STUN, "stun.l.google.com", 19302, RTC_URI_UDP, 0, 1,
     0},
    {"STUN:Example.COM", RTC_URI_STUN, "Example.COM", 3478, RTC_URI_UDP, 0, 0, 0},
    {"stuns:stun.example.org", RTC_URI_STUNS, "stun.example.org", 5349, RTC_URI_TCP, 0, 0, 0},
    {"stuns:stun.example.org:443", RTC_URI_STUNS, "stun.example.org", 443, RTC_URI_TCP, 0, 1, 0},
    {"stun:192.0.2.1", RTC_URI_STUN, "192.0.2.1", 3478, RTC_URI_UDP, 1, 0, 0},
    {"stun:192.0.2.1:1", RTC_URI_STUN, "192.0.2.1", 1, RTC_URI_UDP, 1, 1, 0},
    {"stun:[2001:db8::1]", RTC_URI_STUN, "2001:db8::1", 3478, RTC_URI_UDP, 1, 0, 0},
    {"stun:[2001:db8::1]:65535", RTC_URI_STUN, "2001:db8::1", 65535, RTC_URI_UDP, 1, 1, 0},
    {"stun:[fe80::1%252]:3478", RTC_URI_STUN, "fe80::1%2", 3478, RTC_URI_UDP, 1, 1, 0},
    {"stun:[fe80::1%3]", RTC_URI_STUN, "fe80::1%3", 3478, RTC_URI_UDP, 1, 0, 0},
    {"stun:localhost", RTC_URI_STUN, "localhost", 3478, RTC_URI_UDP, 0, 0, 0},
    {"stun:a-b_c.example.", RTC_URI_STUN, "a-b_c.example.", 3478, RTC_URI_UDP, 0, 0, 0},
    {"stun:host:03478", RTC_URI_STUN, "host", 3478, RTC_URI_UDP, 0, 1, 0},
    {"stun:1.example.123a", RTC_URI_STUN, "1.example.123a", 3478, RTC_URI_UDP, 0, 0, 0},
    {"turn:turn.example.org", RTC_URI_TURN, "turn.example.org", 3478, RTC_URI_UDP, 0, 0, 0},
    {"turn:turn.example.org?transport=udp", RTC_URI_TURN, "turn.example.org", 3478, RTC_URI_UDP, 0,
     0, 1},
    {"turn:turn.example.org?transport=tcp", RTC_URI_TURN, "turn.example.org", 3478, RTC_URI_TCP, 0,
     0, 1},
    {"turn:turn.example.org:3479?transport=TCP", RTC_URI_TURN, "turn.example.org", 3479,
     RTC_URI_TCP, 0, 1, 1},
    {"turns:turn.example.org", RTC_URI_TURNS, "turn.example.org", 5349, RTC_URI_TCP, 0, 0, 0},
    {"turns:turn.example.org:443?transport=tcp", RTC_URI_TURNS, "turn.example.org", 443,
     RTC_URI_TCP, 0, 1, 1},
    {"turns:turn.example.org?transport=udp", RTC_URI_TURNS, "turn.example.org", 5349, RTC_URI_UDP,
     0, 0, 1},
    {"turn:[::1]:3478?transport=udp", RTC_URI_TURN, "::1", 3478, RTC_URI_UDP, 1, 1, 1},
    {"turn:10.0.0.1?transport=tcp", RTC_URI_TURN, "10.0.0.1", 3478, RTC_URI_TCP, 1, 0, 1},
};

typedef struct bad_case {
    const char *uri;
    const char *why_contains; /* a word of the message, so errors stay clear */
} bad_case;

static const bad_case BAD[] = {
    {"", "scheme"},
    {"stun.example.org", "scheme"},
    {"http://example.org", "scheme"},
    {"stunx:host", "scheme"},
    {"stun:", "host"},
    {"stun://stun.example.org", "//"},
    {"stun:user@host", "user"},
    {"stun:host:", "port"},
    {"stun:host:0", "port"},
    {"stun:host:65536", "port"},
    {"stun:host:99999999999999999999", "port"},
    {"stun:host:12ab", "port"},
    {"stun:host:-1", "port"},
    {"stun:host?transport=udp", "query"},
    {"stuns:host?transport=tcp", "query"},
    {"turn:host?transport=sctp", "transport"},
    {"turn:host?transport=", "transport"},
    {"turn:host?foo=bar", "query"},
    {"turn:host?transport=udp&x=1", "one"},
    {"turn:host/path", "path"},
    {"turn:host:3478/path", "path"},
    {"stun:host#frag", "fragment"},
    {"stun:2001:db8::1", "brackets"},
    {"stun:[2001:db8::1", "]"},
    {"stun:[]", "empty"},
    {"stun:[192.0.2.1]", "IPv6"},
    {"stun:[2001:db8::g]", "IPv6"},
    {"stun:[fe80::1%eth0]", "zone"},
    {"stun:[::1]x", "after"},
    {"stun:1.2.3", "IPv4"},
    {"stun:1.2.3.256", "IPv4"},
    {"stun:1.2.3.4.5", "IPv4"},
    {"stun:host..example", "label"},
    {"stun:.host", "label"},
    {"stun:-host.example", "-"},
    {"stun:host-.example", "-"},
    {"stun:ho st", "character"},
    {"stun:h%41st", "percent"},
    {"stun:example.123", "IPv4"},
    {"stun:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com", "63"},
};

static void test_good(void) {
    for (size_t i = 0; i < sizeof GOOD / sizeof GOOD[0]; i++) {
        const good_case *g = &GOOD[i];
        rtc_uri u;
        const char *why = "unset";
        int rc = rtc_uri_parse(&u, g->uri, &why);
        if (rc != RTC_OK) fprintf(stderr, "  %s: %s\n", g->uri, why ? why : "?");
        CHECK_EQ_INT(rc, RTC_OK);
        if (rc) continue;
        CHECK(why == NULL);
        CHECK_EQ_INT(u.scheme, g->scheme);
        CHECK_STR(u.host, g->host);
        CHECK_EQ_INT(u.port, g->port);
        CHECK_EQ_INT(u.transport, g->transport);
        CHECK_EQ_INT(u.host_is_ip, g->is_ip);
        CHECK_EQ_INT(u.port_explicit, g->port_explicit);
        CHECK_EQ_INT(u.transport_explicit, g->transport_explicit);
        if (u.host_is_ip) CHECK_EQ_INT(u.ip.port, g->port);
    }
    rtc_uri u;
    REQUIRE(rtc_uri_parse(&u, "stun:[fe80::1%252]:9", NULL) == RTC_OK);
    CHECK_EQ_INT(u.ip.scope_id, 2);
    CHECK_EQ_INT(u.ip.family, RTC_AF_INET6);
    REQUIRE(rtc_uri_parse(&u, "turn:198.51.100.4:5000", NULL) == RTC_OK);
    rtc_addr want;
    rtc_addr_parse(&want, "198.51.100.4:5000", 0);
    CHECK(rtc_addr_equal(&u.ip, &want));
}

static void test_bad(void) {
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        const bad_case *b = &BAD[i];
        rtc_uri u;
        const char *why = NULL;
        int rc = rtc_uri_parse(&u, b->uri, &why);
        if (rc != RTC_ERR_PARSE || !why || !strstr(why, b->why_contains))
            fprintf(stderr, "  \"%s\": rc %d why \"%s\" (want \"%s\")\n", b->uri, rc,
                    why ? why : "(null)", b->why_contains);
        CHECK_EQ_INT(rc, RTC_ERR_PARSE);
        CHECK(why != NULL && strstr(why, b->why_contains) != NULL);
    }
    CHECK_EQ_INT(rtc_uri_parse(NULL, "stun:x", NULL), RTC_ERR_INVALID);
    rtc_uri u;
    CHECK_EQ_INT(rtc_uri_parse(&u, NULL, NULL), RTC_ERR_INVALID);
    /* a host name that does not fit is an error, not a truncation */
    char longuri[400] = "stun:";
    for (int i = 0; i < 300; i++)
        strcat(longuri, (i % 60 == 59) ? "." : "a");
    CHECK_EQ_INT(rtc_uri_parse(&u, longuri, NULL), RTC_ERR_PARSE);
}

static void test_resolve_literals(void) {
    rtc_addr out[4];
    CHECK_EQ_INT(rtc_net_resolve("192.0.2.9", 1234, RTC_RESOLVE_ANY, out, 4), 1);
    rtc_addr want;
    rtc_addr_parse(&want, "192.0.2.9:1234", 0);
    CHECK(rtc_addr_equal(&out[0], &want));
    CHECK_EQ_INT(rtc_net_resolve("[2001:db8::2]", 5, RTC_RESOLVE_ANY, out, 4), 1);
    CHECK_EQ_INT(out[0].family, RTC_AF_INET6);
    CHECK_EQ_INT(out[0].port, 5);
    CHECK_EQ_INT(rtc_net_resolve("192.0.2.9", 1, RTC_RESOLVE_V6_ONLY, out, 4), RTC_ERR_NOT_FOUND);
    CHECK_EQ_INT(rtc_net_resolve("", 1, RTC_RESOLVE_ANY, out, 4), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_net_resolve("x", 1, RTC_RESOLVE_ANY, out, 0), RTC_ERR_INVALID);
    rtc_uri u;
    REQUIRE(rtc_uri_parse(&u, "turns:[::1]", NULL) == RTC_OK);
    CHECK_EQ_INT(rtc_uri_resolve(&u, RTC_RESOLVE_ANY, out, 4), 1);
    CHECK_EQ_INT(out[0].port, 5349);
    CHECK(rtc_addr_is_loopback(&out[0]));
    CHECK_EQ_INT(rtc_uri_resolve(&u, RTC_RESOLVE_V4_ONLY, out, 4), RTC_ERR_NOT_FOUND);
}

static void test_resolve_names(void) {
    /* "localhost" comes from /etc/hosts (no network traffic). */
    rtc_addr out[8];
    int n = rtc_net_resolve("localhost", 3478, RTC_RESOLVE_V4_ONLY, out, 8);
    CHECK(n >= 1);
    for (int i = 0; i < n; i++) {
        CHECK_EQ_INT(out[i].family, RTC_AF_INET);
        CHECK_EQ_INT(out[i].port, 3478);
        CHECK(rtc_addr_is_loopback(&out[i]));
    }
    n = rtc_net_resolve("localhost", 1, RTC_RESOLVE_V6_FIRST, out, 8);
    CHECK(n >= 1);
    bool seen_v4 = false;
    for (int i = 0; i < n; i++) {
        if (out[i].family == RTC_AF_INET)
            seen_v4 = true;
        else
            CHECK(!seen_v4); /* every IPv6 result precedes every IPv4 one */
        for (int k = 0; k < i; k++)
            CHECK(!rtc_addr_equal(&out[i], &out[k])); /* no dups */
    }
    rtc_uri u;
    REQUIRE(rtc_uri_parse(&u, "stun:localhost:4000", NULL) == RTC_OK);
    n = rtc_uri_resolve(&u, RTC_RESOLVE_V4_FIRST, out, 8);
    CHECK(n >= 1);
    if (n >= 1) CHECK_EQ_INT(out[0].port, 4000);
    /* RFC 6761 §6.4: .invalid never resolves. */
    CHECK_EQ_INT(rtc_net_resolve("no-such-host.invalid", 1, RTC_RESOLVE_ANY, out, 8),
                 RTC_ERR_NOT_FOUND);
}

typedef struct async_res {
    int calls, result, pending;
    bool had_loop, on_loop_thread;
    pthread_t loop_thread;
    rtc_addr first;
} async_res;

static void on_resolved(rtc_loop *l, int result, const rtc_addr *addrs, void *ud) {
    async_res *a = ud;
    a->calls++;
    a->result = result;
    a->had_loop = l != NULL;
    a->on_loop_thread = pthread_equal(pthread_self(), a->loop_thread);
    if (result > 0) a->first = addrs[0];
    if (l && --a->pending == 0) rtc_loop_stop(l);
}

static void on_guard(rtc_loop *l, rtc_timer *t, void *ud) {
    *(int *)ud = 1;
    rtc_loop_stop(l);
}

static void test_resolve_async(void) {
    rtc_loop *l = NULL;
    REQUIRE(rtc_loop_new(&l, NULL) == RTC_OK);
    async_res a[3];
    memset(a, 0, sizeof a);
    for (int i = 0; i < 3; i++)
        a[i].loop_thread = pthread_self(), a[i].pending = 1;
    REQUIRE(rtc_net_resolve_async(l, "localhost", 3478, RTC_RESOLVE_V4_ONLY, on_resolved, &a[0]) ==
            RTC_OK);
    REQUIRE(rtc_net_resolve_async(l, "[::1]", 9, RTC_RESOLVE_ANY, on_resolved, &a[1]) == RTC_OK);
    /* a failure delivered the same way (no DNS: the literal has the wrong family) */
    REQUIRE(rtc_net_resolve_async(l, "192.0.2.1", 1, RTC_RESOLVE_V6_ONLY, on_resolved, &a[2]) ==
            RTC_OK);
    CHECK_EQ_INT(a[1].calls, 0); /* literals too are delivered through the loop */
    rtc_timer guard;
    int timed_out = 0;
    rtc_timer_init(&guard);
    rtc_loop_timer_start(l, &guard, rtc_net_now() + RTC_SEC(20), on_guard, &timed_out);
    for (int i = 0; i < 200 && (a[0].calls + a[1].calls + a[2].calls) < 3 && !timed_out; i++)
        rtc_loop_run_once(l, RTC_MS(100));
    CHECK_EQ_INT(timed_out, 0);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(a[i].calls, 1);
        CHECK(a[i].had_loop);
        CHECK(a[i].on_loop_thread);
    }
    CHECK(a[0].result >= 1);
    CHECK_EQ_INT(a[0].first.family, RTC_AF_INET);
    CHECK_EQ_INT(a[0].first.port, 3478);
    CHECK_EQ_INT(a[1].result, 1);
    CHECK(rtc_addr_is_loopback(&a[1].first));
    CHECK_EQ_INT(a[2].result, RTC_ERR_NOT_FOUND);
    rtc_loop_timer_stop(l, &guard);
    CHECK_EQ_INT(rtc_net_resolve_async(l, "", 1, RTC_RESOLVE_ANY, on_resolved, &a[0]),
                 RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_net_resolve_async(l, "x", 1, RTC_RESOLVE_ANY, NULL, &a[0]), RTC_ERR_INVALID);
    /* freeing the loop with a look-up in flight: free waits, cb gets l == NULL */
    async_res b;
    memset(&b, 0, sizeof b);
    REQUIRE(rtc_net_resolve_async(l, "localhost", 1, RTC_RESOLVE_ANY, on_resolved, &b) == RTC_OK);
    rtc_loop_free(l);
    CHECK_EQ_INT(b.calls, 1);
    CHECK(!b.had_loop);
}

int main(void) {
    RUN(test_good);
    RUN(test_bad);
    RUN(test_resolve_literals);
    RUN(test_resolve_names);
    RUN(test_resolve_async);
    return TEST_DONE();
}
