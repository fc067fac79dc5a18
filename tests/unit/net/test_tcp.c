/* tests for src/net/tcp.c with the loop and the framer: a framed STUN/ChannelData stream
   over loopback TCP, written in many small pieces, reassembled and echoed. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "cwebrtc/loop.h"
#include "cwebrtc/net.h"
#include "test.h"

typedef struct tcp_test {
    rtc_loop *l;
    int lfd, srv_fd, cli_fd;
    rtc_framer *fr;
    /* client side */
    uint8_t stream[512];
    size_t stream_len, sent, chunk;
    bool connected;
    rtc_timer send_timer, guard;
    uint8_t echo[512];
    size_t echo_len;
    /* server side */
    int frames;
    size_t frame_lens[8];
    int kinds[8];
    bool timed_out;
    int errors;
} tcp_test;

static size_t build_stream(uint8_t *b) {
    size_t n = 0;
    /* STUN Binding request, 80-byte body */
    const uint8_t hdr[8] = {0x00, 0x01, 0x00, 80, 0x21, 0x12, 0xA4, 0x42};
    memcpy(b + n, hdr, 8);
    n += 8;
    for (int i = 0; i < 12 + 80; i++)
        b[n++] = (uint8_t)(i * 3 + 1);
    /* ChannelData, 7 bytes, padded to 8 */
    const uint8_t cd[4] = {0x40, 0x00, 0x00, 7};
    memcpy(b + n, cd, 4);
    n += 4;
    for (int i = 0; i < 8; i++)
        b[n++] = i < 7 ? (uint8_t)(0xA0 + i) : 0;
    /* STUN with an empty body */
    const uint8_t h2[8] = {0x01, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42};
    memcpy(b + n, h2, 8);
    n += 8;
    for (int i = 0; i < 12; i++)
        b[n++] = (uint8_t)(0x55 + i);
    return n;
}

static void on_guard(rtc_loop *l, rtc_timer *t, void *ud) {
    ((tcp_test *)ud)->timed_out = true;
    rtc_loop_stop(l);
}

static void on_server_data(rtc_loop *l, int fd, unsigned ev, void *ud) {
    tcp_test *T = ud;
    uint8_t buf[64]; /* small on purpose: frames span reads too */
    int n = rtc_tcp_recv(fd, buf, sizeof buf);
    if (n == RTC_ERR_AGAIN) return;
    if (n < 0) {
        rtc_loop_unwatch(l, fd);
        return;
    }
    size_t off = 0;
    int r;
    do {
        r = rtc_framer_push(T->fr, buf + off, (size_t)n - off);
        if (r < 0) {
            T->errors++;
            return;
        }
        off += (size_t)r;
        rtc_frame f;
        while ((r = rtc_framer_next(T->fr, &f)) == 1) {
            if (T->frames < 8) {
                T->frame_lens[T->frames] = f.len;
                T->kinds[T->frames] = f.kind;
            }
            T->frames++;
            /* echo: STUN as is; ChannelData re-padded for the stream (RFC 8656 §12.5) */
            uint8_t out[256];
            size_t ol = f.len;
            memcpy(out, f.data, f.len);
            while (ol % 4)
                out[ol++] = 0;
            size_t w = 0;
            for (int tries = 0; w < ol && tries < 1000; tries++) {
                int s = rtc_tcp_send(fd, out + w, ol - w);
                if (s > 0)
                    w += (size_t)s;
                else if (s != RTC_ERR_AGAIN)
                    break;
            }
            if (w != ol) T->errors++;
        }
        if (r < 0) {
            T->errors++;
            return;
        }
    } while (off < (size_t)n);
}

static void on_accept(rtc_loop *l, int fd, unsigned ev, void *ud) {
    tcp_test *T = ud;
    int cfd;
    rtc_addr peer;
    int r = rtc_tcp_accept(fd, &cfd, &peer);
    if (r != RTC_OK) return;
    CHECK(rtc_addr_is_loopback(&peer));
    T->srv_fd = cfd;
    CHECK_EQ_INT(rtc_loop_watch(l, cfd, RTC_LOOP_READ, on_server_data, T), RTC_OK);
}

static void on_client_data(rtc_loop *l, int fd, unsigned ev, void *ud) {
    tcp_test *T = ud;
    int n = rtc_tcp_recv(fd, T->echo + T->echo_len, sizeof T->echo - T->echo_len);
    if (n > 0)
        T->echo_len += (size_t)n;
    else if (n != RTC_ERR_AGAIN)
        rtc_loop_unwatch(l, fd);
    if (T->echo_len >= T->stream_len) rtc_loop_stop(l);
}

/* Sends the next small piece each iteration: 1, 2, 3, ... bytes per write. */
static void on_send(rtc_loop *l, rtc_timer *t, void *ud) {
    tcp_test *T = ud;
    if (T->sent >= T->stream_len) return;
    size_t c = T->chunk++ % 7 + 1;
    if (c > T->stream_len - T->sent) c = T->stream_len - T->sent;
    int s = rtc_tcp_send(T->cli_fd, T->stream + T->sent, c);
    if (s > 0)
        T->sent += (size_t)s;
    else if (s != RTC_ERR_AGAIN)
        T->errors++;
    if (T->sent < T->stream_len) rtc_loop_timer_start(l, t, rtc_loop_now(l) + 200, on_send, T);
}

static void on_client_connect(rtc_loop *l, int fd, unsigned ev, void *ud) {
    tcp_test *T = ud;
    int r = rtc_tcp_connect_finish(fd);
    if (r == RTC_ERR_AGAIN) return;
    if (r != RTC_OK) {
        T->errors++;
        rtc_loop_stop(l);
        return;
    }
    T->connected = true;
    rtc_loop_unwatch(l, fd);
    rtc_loop_watch(l, fd, RTC_LOOP_READ, on_client_data, T);
    rtc_loop_timer_start(l, &T->send_timer, rtc_loop_now(l), on_send, T);
}

static void run_stream(const char *lo) {
    tcp_test T;
    memset(&T, 0, sizeof T);
    T.srv_fd = T.cli_fd = T.lfd = -1;
    REQUIRE(rtc_loop_new(&T.l, NULL) == RTC_OK);
    REQUIRE(rtc_framer_new(&T.fr, RTC_FRAME_STUN, 1024, NULL) == RTC_OK);
    T.stream_len = build_stream(T.stream);
    rtc_addr bind_addr, bound;
    REQUIRE(rtc_addr_parse_ip(&bind_addr, lo, 0) == RTC_OK);
    int rc = rtc_tcp_listen(&T.lfd, &bind_addr, 0, &bound);
    if (rc != RTC_OK && bind_addr.family == RTC_AF_INET6) {
        fprintf(stderr, "  (no %s: skipped)\n", lo);
        rtc_framer_free(T.fr);
        rtc_loop_free(T.l);
        return;
    }
    REQUIRE(rc == RTC_OK);
    CHECK(bound.port != 0);
    REQUIRE(rtc_loop_watch(T.l, T.lfd, RTC_LOOP_READ, on_accept, &T) == RTC_OK);
    rc = rtc_tcp_connect(&T.cli_fd, &bound, NULL);
    REQUIRE(rc == RTC_OK || rc == RTC_ERR_AGAIN);
    REQUIRE(rtc_loop_watch(T.l, T.cli_fd, RTC_LOOP_WRITE, on_client_connect, &T) == RTC_OK);
    rtc_loop_timer_start(T.l, &T.guard, rtc_net_now() + RTC_SEC(10), on_guard, &T);
    CHECK_EQ_INT(rtc_loop_run(T.l), RTC_OK);
    CHECK(!T.timed_out);
    CHECK(T.connected);
    CHECK_EQ_INT(T.errors, 0);
    CHECK_EQ_INT(T.frames, 3);
    CHECK_EQ_INT(T.kinds[0], RTC_FRAMEK_STUN);
    CHECK_EQ_INT(T.frame_lens[0], 100);
    CHECK_EQ_INT(T.kinds[1], RTC_FRAMEK_CHANNEL_DATA);
    CHECK_EQ_INT(T.frame_lens[1], 11);
    CHECK_EQ_INT(T.kinds[2], RTC_FRAMEK_STUN);
    CHECK_EQ_INT(T.frame_lens[2], 20);
    CHECK_EQ_INT(T.echo_len, T.stream_len);
    CHECK_MEM(T.echo, T.stream, T.stream_len);
    CHECK(T.chunk > 20); /* really written in many pieces */

    /* orderly close: the server sees RTC_ERR_CLOSED */
    rtc_loop_unwatch(T.l, T.cli_fd);
    rtc_net_close(T.cli_fd);
    rtc_loop_unwatch(T.l, T.srv_fd);
    struct pollfd p = {.fd = T.srv_fd, .events = POLLIN};
    CHECK_EQ_INT(poll(&p, 1, 2000), 1);
    uint8_t b[8];
    CHECK_EQ_INT(rtc_tcp_recv(T.srv_fd, b, sizeof b), RTC_ERR_CLOSED);
    /* and writing to the closed peer reports CLOSED, without SIGPIPE */
    int s = 0;
    for (int i = 0; i < 50 && s >= 0; i++) {
        s = rtc_tcp_send(T.srv_fd, b, sizeof b);
        if (s >= 0) poll(NULL, 0, 5);
    }
    CHECK_EQ_INT(s, RTC_ERR_CLOSED);
    rtc_loop_timer_stop(T.l, &T.guard);
    rtc_loop_timer_stop(T.l, &T.send_timer);
    rtc_loop_unwatch(T.l, T.lfd);
    rtc_net_close(T.srv_fd);
    rtc_net_close(T.lfd);
    rtc_framer_free(T.fr);
    rtc_loop_free(T.l);
}

static void test_stream_v4(void) { run_stream("127.0.0.1"); }
static void test_stream_v6(void) { run_stream("::1"); }

static void test_refused_and_misc(void) {
    /* find a closed port: listen, note the port, close */
    rtc_addr a, bound;
    rtc_addr_parse_ip(&a, "127.0.0.1", 0);
    int lfd;
    REQUIRE(rtc_tcp_listen(&lfd, &a, 1, &bound) == RTC_OK);
    rtc_net_close(lfd);
    int fd = -1;
    int rc = rtc_tcp_connect(&fd, &bound, NULL);
    if (rc == RTC_ERR_AGAIN) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        CHECK_EQ_INT(poll(&p, 1, 2000), 1);
        rc = rtc_tcp_connect_finish(fd);
        CHECK_EQ_INT(rc, RTC_ERR_IO);
        CHECK_EQ_INT(errno, ECONNREFUSED);
        rtc_net_close(fd);
    } else {
        CHECK_EQ_INT(rc, RTC_ERR_IO);
        CHECK_EQ_INT(fd, -1);
    }
    /* accept with nothing pending */
    REQUIRE(rtc_tcp_listen(&lfd, &a, 0, NULL) == RTC_OK);
    int cfd;
    CHECK_EQ_INT(rtc_tcp_accept(lfd, &cfd, NULL), RTC_ERR_AGAIN);
    /* listening twice on one port fails */
    rtc_addr la;
    REQUIRE(rtc_net_local_addr(lfd, &la) == RTC_OK);
    int l2;
    CHECK_EQ_INT(rtc_tcp_listen(&l2, &la, 0, NULL), RTC_ERR_IO);
    CHECK_EQ_INT(l2, -1);
    rtc_net_close(lfd);
    /* bad arguments */
    rtc_addr none;
    memset(&none, 0, sizeof none);
    CHECK_EQ_INT(rtc_tcp_listen(&l2, &none, 0, NULL), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_tcp_connect(&fd, &none, NULL), RTC_ERR_INVALID);
    rtc_addr v6;
    rtc_addr_parse_ip(&v6, "::1", 1);
    CHECK_EQ_INT(rtc_tcp_connect(&fd, &bound, &v6), RTC_ERR_INVALID); /* family mix */
    uint8_t b[1];
    CHECK_EQ_INT(rtc_tcp_recv(-1, b, 1), RTC_ERR_IO);
}

int main(void) {
    RUN(test_stream_v4);
    RUN(test_stream_v6);
    RUN(test_refused_and_misc);
    return TEST_DONE();
}
