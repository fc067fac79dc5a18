/* tests for src/net/framing.c: STUN/ChannelData and RFC 4571 framing, byte by byte. */
#include <string.h>

#include "cwebrtc/net.h"
#include "test.h"

/* ---- stream builders ------------------------------------------------------------ */

typedef struct expect {
    rtc_frame_kind kind;
    size_t off, len; /* where the frame's reported bytes sit in the stream */
} expect;

typedef struct stream {
    uint8_t *b;
    size_t len, cap;
    expect ex[512];
    size_t n;
} stream;

static void put(stream *s, uint8_t v) {
    if (s->len < s->cap) s->b[s->len] = v;
    s->len++;
}

static void add_stun(stream *s, uint16_t body, uint8_t seed) {
    size_t start = s->len;
    put(s, 0x00);
    put(s, 0x01); /* Binding request */
    put(s, (uint8_t)(body >> 8));
    put(s, (uint8_t)body);
    put(s, 0x21);
    put(s, 0x12);
    put(s, 0xA4);
    put(s, 0x42);
    for (int i = 0; i < 12; i++)
        put(s, (uint8_t)(seed + i)); /* transaction id */
    for (size_t i = 0; i < body; i++)
        put(s, (uint8_t)(seed ^ i));
    s->ex[s->n++] = (expect){RTC_FRAMEK_STUN, start, (size_t)20 + body};
}

static void add_cd(stream *s, uint16_t channel, uint16_t len, uint8_t seed) {
    size_t start = s->len;
    put(s, (uint8_t)(channel >> 8));
    put(s, (uint8_t)channel);
    put(s, (uint8_t)(len >> 8));
    put(s, (uint8_t)len);
    for (size_t i = 0; i < len; i++)
        put(s, (uint8_t)(seed + 3 * i));
    while ((s->len - start) % 4)
        put(s, 0); /* RFC 8656 §12.5 padding over TCP */
    s->ex[s->n++] = (expect){RTC_FRAMEK_CHANNEL_DATA, start, (size_t)4 + len};
}

static void add_4571(stream *s, uint16_t len, uint8_t seed) {
    put(s, (uint8_t)(len >> 8));
    put(s, (uint8_t)len);
    size_t start = s->len;
    for (size_t i = 0; i < len; i++)
        put(s, (uint8_t)(seed * 5 + i));
    s->ex[s->n++] = (expect){RTC_FRAMEK_RFC4571, start, len};
}

/* ---- the documented consumer loop --------------------------------------------- */

typedef struct got {
    size_t n;
    int err;
    size_t bad; /* frames that did not match expectations */
} got;

static void check_frame(const stream *s, got *g, const rtc_frame *fr) {
    if (g->n >= s->n) {
        g->bad++;
        g->n++;
        return;
    }
    const expect *e = &s->ex[g->n++];
    if (fr->kind != e->kind || fr->len != e->len || memcmp(fr->data, s->b + e->off, e->len) != 0)
        g->bad++;
}

/* Feed s in chunks whose sizes cycle through `sizes` (0-terminated). */
static got feed(rtc_framer *f, const stream *s, const size_t *sizes) {
    got g = {0, 0, 0};
    size_t pos = 0, si = 0;
    while (pos < s->len && !g.err) {
        size_t chunk = sizes[si];
        si = sizes[si + 1] ? si + 1 : 0;
        if (chunk > s->len - pos) chunk = s->len - pos;
        const uint8_t *b = s->b + pos;
        size_t off = 0;
        int guard = 0;
        do {
            int r = rtc_framer_push(f, b + off, chunk - off);
            if (r < 0) {
                g.err = r;
                break;
            }
            off += (size_t)r;
            rtc_frame fr;
            while ((r = rtc_framer_next(f, &fr)) == 1)
                check_frame(s, &g, &fr);
            if (r < 0) {
                g.err = r;
                break;
            }
        } while (off < chunk && ++guard < 100000);
        pos += chunk;
    }
    return g;
}

static stream *new_stream(size_t cap) {
    stream *s = calloc(1, sizeof *s);
    s->b = malloc(cap);
    s->cap = cap;
    return s;
}
static void free_stream(stream *s) {
    free(s->b);
    free(s);
}

static void mixed(stream *s) {
    add_stun(s, 8, 1);
    add_cd(s, 0x4000, 5, 2);
    add_stun(s, 0, 3);
    add_cd(s, 0x4fff, 0, 4);
    add_cd(s, 0x4001, 4, 5);
    add_stun(s, 1200, 6);
    add_cd(s, 0x4abc, 1499, 7);
    add_stun(s, 4, 8);
}

static void test_peek(void) {
    uint8_t b[64] = {0};
    rtc_frame fr;
    size_t wl = 99;
    /* empty and partial headers */
    CHECK_EQ_INT(rtc_frame_peek(RTC_FRAME_STUN, b, 0, 0, &fr, &wl), 0);
    CHECK_EQ_INT(wl, 0);
    size_t n =
        test_unhex("0001 0008 2112a442 000102030405060708090a0b 0000000000000000", b, sizeof b);
    CHECK_EQ_INT(n, 28);
    CHECK_EQ_INT(rtc_frame_peek(RTC_FRAME_STUN, b, 3, 0, &fr, &wl), 0);
    CHECK_EQ_INT(wl, 0);
    CHECK_EQ_INT(rtc_frame_peek(RTC_FRAME_STUN, b, 4, 0, &fr, &wl), 0);
    CHECK_EQ_INT(wl, 28);
    CHECK_EQ_INT(rtc_frame_peek(RTC_FRAME_STUN, b, 27, 0, &fr, &wl), 0);
    CHECK_EQ_INT(rtc_frame_peek(RTC_FRAME_STUN, b, 28, 0, &fr, &wl), 1);
    CHECK_EQ_INT(fr.kind, RTC_FRAMEK_STUN);
    CHECK_EQ_INT(fr.len, 28);
    CHECK(fr.data == b);
    CHECK_EQ_INT(rtc_frame_peek(RTC_FRAME_STUN, b, 28, 27, &fr, &wl), RTC_ERR_NOMEM);
    CHECK_EQ_INT(rtc_frame_peek(RTC_FRAME_STUN, b, 28, 28, &fr, &wl), 1);
    /* length not a multiple of 4 */
    b[3] = 7;
    CHECK_EQ_INT(rtc_frame_peek(RTC_FRAME_STUN, b, 4, 0, &fr, &wl), RTC_ERR_PARSE);
    b[3] = 8;
    /* bad magic cookie, detected once 8 bytes are in */
    b[7] = 0x43;
    CHECK_EQ_INT(rtc_frame_peek(RTC_FRAME_STUN, b, 7, 0, &fr, &wl), 0);
    CHECK_EQ_INT(rtc_frame_peek(RTC_FRAME_STUN, b, 8, 0, &fr, &wl), RTC_ERR_PARSE);
    /* garbage first byte, detected at once */
    b[0] = 0x80;
    CHECK_EQ_INT(rtc_frame_peek(RTC_FRAME_STUN, b, 1, 0, &fr, &wl), RTC_ERR_PARSE);
    b[0] = 0xC0;
    CHECK_EQ_INT(rtc_frame_peek(RTC_FRAME_STUN, b, 1, 0, &fr, &wl), RTC_ERR_PARSE);
    /* ChannelData: length 5 -> 8 bytes padded + 4 header on the wire, 9 reported */
    n = test_unhex("4000 0005 0102030405 000000", b, sizeof b);
    CHECK_EQ_INT(rtc_frame_peek(RTC_FRAME_STUN, b, 11, 0, &fr, &wl), 0);
    CHECK_EQ_INT(wl, 12);
    CHECK_EQ_INT(rtc_frame_peek(RTC_FRAME_STUN, b, n, 0, &fr, &wl), 1);
    CHECK_EQ_INT(fr.kind, RTC_FRAMEK_CHANNEL_DATA);
    CHECK_EQ_INT(fr.len, 9);
    CHECK_EQ_INT(wl, 12);
    /* RFC 5766 channel numbers 0x5000-0x7FFF (legacy clients such as coTURN's
    ** turnutils_uclient still use them) frame like any ChannelData. */
    b[0] = 0x50;
    CHECK_EQ_INT(rtc_frame_peek(RTC_FRAME_STUN, b, n, 0, &fr, &wl), 1);
    b[0] = 0x7f;
    CHECK_EQ_INT(rtc_frame_peek(RTC_FRAME_STUN, b, n, 0, &fr, &wl), 1);
    CHECK_EQ_INT(fr.kind, RTC_FRAMEK_CHANNEL_DATA);
    /* RFC 4571 */
    n = test_unhex("0003 aabbcc 0000", b, sizeof b);
    CHECK_EQ_INT(rtc_frame_peek(RTC_FRAME_RFC4571, b, 1, 0, &fr, &wl), 0);
    CHECK_EQ_INT(rtc_frame_peek(RTC_FRAME_RFC4571, b, 4, 0, &fr, &wl), 0);
    CHECK_EQ_INT(wl, 5);
    CHECK_EQ_INT(rtc_frame_peek(RTC_FRAME_RFC4571, b, n, 0, &fr, &wl), 1);
    CHECK_EQ_INT(fr.kind, RTC_FRAMEK_RFC4571);
    CHECK_EQ_INT(fr.len, 3);
    CHECK(fr.data == b + 2);
    CHECK_EQ_INT(rtc_frame_peek(RTC_FRAME_RFC4571, b + 5, 2, 0, &fr, &wl), 1); /* zero-length */
    CHECK_EQ_INT(fr.len, 0);
    CHECK_EQ_INT(rtc_frame_peek(RTC_FRAME_RFC4571, b, n, 4, &fr, &wl), RTC_ERR_NOMEM);
    CHECK_EQ_INT(rtc_frame_peek((rtc_frame_mode)9, b, n, 0, &fr, &wl), RTC_ERR_INVALID);
}

static void run_chunks(rtc_frame_mode mode, stream *s, const size_t *sizes, const char *what) {
    rtc_framer *f = NULL;
    REQUIRE(rtc_framer_new(&f, mode, 0, NULL) == RTC_OK);
    got g = feed(f, s, sizes);
    if (g.err || g.n != s->n || g.bad)
        fprintf(stderr, "  %s: err %d, frames %zu/%zu, bad %zu\n", what, g.err, g.n, s->n, g.bad);
    CHECK_EQ_INT(g.err, 0);
    CHECK_EQ_INT(g.n, s->n);
    CHECK_EQ_INT(g.bad, 0);
    CHECK_EQ_INT(rtc_framer_pending(f), 0);
    rtc_framer_free(f);
}

static const size_t ONE[] = {1, 0};
static const size_t ODD[] = {1, 2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 97, 1021, 4099, 0};
static const size_t ALL[] = {1u << 30, 0};

static void test_stun_stream(void) {
    stream *s = new_stream(1 << 20);
    mixed(s);
    REQUIRE(s->len <= s->cap);
    run_chunks(RTC_FRAME_STUN, s, ONE, "byte by byte");
    run_chunks(RTC_FRAME_STUN, s, ODD, "odd chunks");
    run_chunks(RTC_FRAME_STUN, s, ALL, "all at once");
    free_stream(s);
}

/* Many random messages, including the largest legal ones (buffer growth). */
static void test_stun_stream_random(void) {
    stream *s = new_stream(4 << 20);
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < 300 && s->n < 500; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint16_t len = (uint16_t)(x % 3000);
        if (i % 50 == 0) len = 65532;
        if (x & 1)
            add_stun(s, (uint16_t)(len & ~3u), (uint8_t)i);
        else
            add_cd(s, (uint16_t)(0x4000 | (x >> 20 & 0xfff)), i % 50 == 0 ? 65535 : len,
                   (uint8_t)i);
    }
    REQUIRE(s->len <= s->cap);
    run_chunks(RTC_FRAME_STUN, s, ODD, "random odd chunks");
    run_chunks(RTC_FRAME_STUN, s, ALL, "random all at once");
    free_stream(s);
}

static void test_rfc4571_stream(void) {
    stream *s = new_stream(1 << 20);
    add_4571(s, 0, 1);
    add_4571(s, 1, 2);
    add_4571(s, 100, 3);
    add_4571(s, 65535, 4);
    add_4571(s, 3, 5);
    REQUIRE(s->len <= s->cap);
    run_chunks(RTC_FRAME_RFC4571, s, ONE, "4571 byte by byte");
    run_chunks(RTC_FRAME_RFC4571, s, ODD, "4571 odd");
    free_stream(s);
}

/* Oversize frames are rejected as soon as their header shows the length. */
static void test_oversize(void) {
    stream *s = new_stream(1 << 16);
    add_stun(s, 100, 1);
    add_stun(s, 2000, 2);
    add_stun(s, 4, 3);
    rtc_framer *f = NULL;
    REQUIRE(rtc_framer_new(&f, RTC_FRAME_STUN, 1000, NULL) == RTC_OK);
    got g = feed(f, s, ONE);
    CHECK_EQ_INT(g.err, RTC_ERR_NOMEM);
    CHECK_EQ_INT(g.n, 1);
    CHECK_EQ_INT(g.bad, 0);
    /* sticky */
    rtc_frame fr;
    CHECK_EQ_INT(rtc_framer_next(f, &fr), RTC_ERR_NOMEM);
    CHECK_EQ_INT(rtc_framer_push(f, s->b, 1), RTC_ERR_NOMEM);
    rtc_framer_free(f);
    /* the same with the bytes all at once: frame 1 still comes out first */
    REQUIRE(rtc_framer_new(&f, RTC_FRAME_STUN, 1000, NULL) == RTC_OK);
    g = feed(f, s, ALL);
    CHECK_EQ_INT(g.err, RTC_ERR_NOMEM);
    CHECK_EQ_INT(g.n, 1);
    rtc_framer_free(f);
    /* ChannelData over the limit */
    stream *c = new_stream(1 << 16);
    add_cd(c, 0x4000, 997, 1); /* 4 + 1000 padded = 1004 > 1000 */
    REQUIRE(rtc_framer_new(&f, RTC_FRAME_STUN, 1000, NULL) == RTC_OK);
    g = feed(f, c, ONE);
    CHECK_EQ_INT(g.err, RTC_ERR_NOMEM);
    CHECK_EQ_INT(g.n, 0);
    rtc_framer_free(f);
    free_stream(c);
    free_stream(s);
}

static void test_garbage(void) {
    static const uint8_t bad_starts[][8] = {
        {0x80},
        {0xff},
        {0xc0},
        {0x00, 0x01, 0x00, 0x02},                         /* STUN length 2 */
        {0x00, 0x01, 0x00, 0x04, 0x21, 0x12, 0xa4, 0x43}, /* bad cookie */
        /* (HTTP "GET "/"POST" look like ChannelData 0x4745/0x504f: idle timeouts end them) */
        {0x16, 0x03, 0x01, 0x00},                         /* TLS record on a plain port */
    };
    for (size_t i = 0; i < sizeof bad_starts / sizeof bad_starts[0]; i++) {
        stream *s = new_stream(4096);
        add_stun(s, 12, 1);
        add_cd(s, 0x4001, 3, 2);
        for (size_t k = 0; k < 8; k++)
            put(s, bad_starts[i][k]);
        s->n = 2;
        add_stun(s, 4, 9); /* never reached */
        rtc_framer *f = NULL;
        REQUIRE(rtc_framer_new(&f, RTC_FRAME_STUN, 0, NULL) == RTC_OK);
        got g = feed(f, s, ONE);
        CHECK_EQ_INT(g.err, RTC_ERR_PARSE);
        CHECK_EQ_INT(g.n, 2);
        CHECK_EQ_INT(g.bad, 0);
        rtc_framer_free(f);
        REQUIRE(rtc_framer_new(&f, RTC_FRAME_STUN, 0, NULL) == RTC_OK);
        g = feed(f, s, ALL);
        CHECK_EQ_INT(g.err, RTC_ERR_PARSE);
        CHECK_EQ_INT(g.n, 2);
        rtc_framer_free(f);
        free_stream(s);
    }
}

static void *fail_after(void *ud, void *ptr, size_t old_size, size_t new_size) {
    int *budget = ud;
    (void)old_size;
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    if (*budget <= 0) return NULL;
    (*budget)--;
    return realloc(ptr, new_size);
}

static void test_api_edges(void) {
    rtc_framer *f = NULL;
    CHECK_EQ_INT(rtc_framer_new(&f, (rtc_frame_mode)0, 0, NULL), RTC_ERR_INVALID);
    CHECK(f == NULL);
    CHECK_EQ_INT(rtc_framer_new(NULL, RTC_FRAME_STUN, 0, NULL), RTC_ERR_INVALID);
    REQUIRE(rtc_framer_new(&f, RTC_FRAME_STUN, 0, NULL) == RTC_OK);
    rtc_frame fr;
    CHECK_EQ_INT(rtc_framer_next(f, &fr), 0);
    CHECK_EQ_INT(rtc_framer_push(f, NULL, 0), 0);
    CHECK_EQ_INT(rtc_framer_push(f, NULL, 3), RTC_ERR_INVALID);
    const uint8_t part[] = {0x00, 0x01, 0x00};
    CHECK_EQ_INT(rtc_framer_push(f, part, 3), 3);
    CHECK_EQ_INT(rtc_framer_pending(f), 3);
    CHECK_EQ_INT(rtc_framer_next(f, &fr), 0);
    rtc_framer_free(f);
    rtc_framer_free(NULL);
    /* a failing allocator: NOMEM, not a crash */
    rtc_env env;
    memset(&env, 0, sizeof env);
    env.realloc = fail_after;
    int budget = 0;
    env.ud = &budget;
    CHECK_EQ_INT(rtc_framer_new(&f, RTC_FRAME_STUN, 0, &env), RTC_ERR_NOMEM);
    budget = 1; /* the object, but not its buffer */
    REQUIRE(rtc_framer_new(&f, RTC_FRAME_STUN, 0, &env) == RTC_OK);
    CHECK_EQ_INT(rtc_framer_push(f, part, 3), RTC_ERR_NOMEM);
    CHECK_EQ_INT(rtc_framer_next(f, &fr), RTC_ERR_NOMEM);
    rtc_framer_free(f);
    /* growth failing in the middle of a big frame */
    budget = 2;
    REQUIRE(rtc_framer_new(&f, RTC_FRAME_STUN, 0, &env) == RTC_OK);
    stream *s = new_stream(1 << 16);
    add_stun(s, 8000, 1);
    got g = feed(f, s, ODD);
    CHECK_EQ_INT(g.err, RTC_ERR_NOMEM);
    rtc_framer_free(f);
    free_stream(s);
}

int main(void) {
    RUN(test_peek);
    RUN(test_stun_stream);
    RUN(test_stun_stream_random);
    RUN(test_rfc4571_stream);
    RUN(test_oversize);
    RUN(test_garbage);
    RUN(test_api_edges);
    return TEST_DONE();
}
