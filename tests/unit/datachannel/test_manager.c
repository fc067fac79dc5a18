/*
** tests/unit/datachannel/test_manager.c: two rtc_dc managers over two rtc_sctp
** associations in memory (dc_pair.h): DCEP open from each side, negotiated channels,
** every channel type, string/binary/empty messages up to max-message-size, close from
** each side with id reuse, buffered-amount-low while streaming, and hostile DCEP input.
*/
#include "dc_pair.h"
#include "test.h"

static bool both_connected(dp_pair *p, void *ud) {
    (void)ud;
    return dp_count(&p->side[0], RTC_DC_EV_SCTP_CONNECTED, -1) &&
           dp_count(&p->side[1], RTC_DC_EV_SCTP_CONNECTED, -1);
}

typedef struct {
    int side;
    rtc_dc_event_kind kind;
    int id;
    size_t n;
} want_t;
static bool have_n(dp_pair *p, void *ud) {
    const want_t *w = ud;
    return dp_count(&p->side[w->side], w->kind, w->id) >= w->n;
}
static bool wait_for(dp_pair *p, int side, rtc_dc_event_kind kind, int id, size_t n, rtc_time lim) {
    want_t w = {side, kind, id, n};
    return dp_run_until(p, have_n, &w, lim);
}

static int setup(dp_pair *p, uint64_t seed) {
    if (dp_init(p, seed, NULL, NULL, NULL)) return -1;
    dp_connect(p);
    return dp_run_until(p, both_connected, NULL, RTC_SEC(5)) ? 0 : -1;
}

static int create(dp_pair *p, int side, const char *label, const char *proto, bool ordered,
                  int rtx, int life, uint16_t *id) {
    rtc_dc_init in;
    rtc_dc_init_default(&in);
    in.label = label;
    in.protocol = proto;
    in.ordered = ordered;
    in.max_retransmits = rtx;
    in.max_packet_life_time = life;
    int r = rtc_dc_create(p->side[side].dc, p->now, &in, id);
    dp_drain(p, side);
    return r;
}

static int send_msg(dp_pair *p, int side, uint16_t id, bool binary, const void *d, size_t n) {
    int r = rtc_dc_send(p->side[side].dc, p->now, id, binary, d, n);
    dp_drain(p, side);
    return r;
}

/* ---- tests ----------------------------------------------------------------------- */

static void test_open_from_each_side(void) {
    dp_pair p;
    REQUIRE(setup(&p, 1) == 0);
    uint16_t a0 = 999, a1 = 999, b0 = 999;
    REQUIRE(create(&p, 0, "chat", "json", true, -1, -1, &a0) == RTC_OK);
    REQUIRE(create(&p, 0, "second", "", true, -1, -1, &a1) == RTC_OK);
    REQUIRE(create(&p, 1, "from-b", "proto-b", true, -1, -1, &b0) == RTC_OK);
    /* RFC 8832 §6: DTLS client even ids, server odd */
    CHECK_EQ_INT(a0, 0);
    CHECK_EQ_INT(a1, 2);
    CHECK_EQ_INT(b0, 1);
    CHECK_EQ_INT(rtc_dc_get_state(p.side[0].dc, a0), RTC_DC_OPEN);
    REQUIRE(wait_for(&p, 1, RTC_DC_EV_OPEN, -1, 3, RTC_SEC(2)));
    REQUIRE(wait_for(&p, 0, RTC_DC_EV_OPEN, -1, 3, RTC_SEC(2)));
    /* B learned A's channels with label and protocol */
    const dp_rec *r = dp_find(&p.side[1], RTC_DC_EV_OPEN, a0);
    REQUIRE(r);
    CHECK(r->remote);
    CHECK_STR(r->label, "chat");
    CHECK_STR(r->protocol, "json");
    CHECK(r->info.ordered);
    CHECK_EQ_INT(r->info.max_retransmits, -1);
    CHECK_EQ_INT(r->info.priority, RTC_DC_PRIORITY_LOW);
    r = dp_find(&p.side[0], RTC_DC_EV_OPEN, b0);
    REQUIRE(r);
    CHECK(r->remote);
    CHECK_STR(r->label, "from-b");
    CHECK_STR(r->protocol, "proto-b");
    r = dp_find(&p.side[0], RTC_DC_EV_OPEN, a0);
    REQUIRE(r);
    CHECK(!r->remote);
    CHECK_EQ_INT(rtc_dc_count(p.side[0].dc), 3);
    CHECK_EQ_INT(rtc_dc_count(p.side[1].dc), 3);

    /* messages both ways on both kinds of channels */
    REQUIRE(send_msg(&p, 0, a0, false, "hello", 5) == RTC_OK);
    REQUIRE(send_msg(&p, 1, a0, true, "\x01\x02", 2) == RTC_OK);
    REQUIRE(send_msg(&p, 1, b0, false, "from b", 6) == RTC_OK);
    REQUIRE(send_msg(&p, 0, b0, true, "x", 1) == RTC_OK);
    dp_run_for(&p, RTC_MS(500));
    r = dp_find(&p.side[1], RTC_DC_EV_MESSAGE, a0);
    REQUIRE(r);
    CHECK(!r->binary);
    CHECK_EQ_INT(r->len, 5);
    CHECK_MEM(r->data, "hello", 5);
    r = dp_find(&p.side[0], RTC_DC_EV_MESSAGE, a0);
    REQUIRE(r);
    CHECK(r->binary);
    CHECK_MEM(r->data, "\x01\x02", 2);
    r = dp_find(&p.side[0], RTC_DC_EV_MESSAGE, b0);
    REQUIRE(r);
    CHECK_MEM(r->data, "from b", 6);
    CHECK_EQ_INT(dp_count(&p.side[1], RTC_DC_EV_MESSAGE, b0), 1);
    CHECK_EQ_INT(dp_count(&p.side[0], RTC_DC_EV_ERROR, -1), 0);
    CHECK_EQ_INT(dp_count(&p.side[1], RTC_DC_EV_ERROR, -1), 0);
    rtc_dc_stats st;
    rtc_dc_get_stats(p.side[1].dc, &st);
    CHECK_EQ_INT(st.opens_received, 2);
    CHECK_EQ_INT(st.messages_received, 2);
    /* misuse */
    CHECK_EQ_INT(rtc_dc_send(p.side[0].dc, p.now, 77, false, (const uint8_t *)"a", 1), RTC_ERR_NOT_FOUND);
    CHECK_EQ_INT(rtc_dc_send(p.side[0].dc, p.now, a0, false, NULL, 1), RTC_ERR_INVALID);
    dp_free(&p);
}

static void test_create_before_connect(void) {
    /* Channels made before the association is up open when it comes up; sends before
    ** that are refused (W3C: InvalidStateError while connecting). */
    dp_pair p;
    REQUIRE(dp_init(&p, 2, NULL, NULL, NULL) == 0);
    uint16_t id, neg;
    REQUIRE(create(&p, 0, "early", "", true, -1, -1, &id) == RTC_OK);
    rtc_dc_init in;
    rtc_dc_init_default(&in);
    in.negotiated = true;
    in.id = 42;
    REQUIRE(rtc_dc_create(p.side[0].dc, p.now, &in, &neg) == RTC_OK);
    CHECK_EQ_INT(neg, 42);
    CHECK_EQ_INT(rtc_dc_get_state(p.side[0].dc, id), RTC_DC_CONNECTING);
    CHECK_EQ_INT(rtc_dc_send(p.side[0].dc, p.now, id, false, (const uint8_t *)"x", 1), RTC_ERR_MISUSE);
    REQUIRE(rtc_dc_create(p.side[1].dc, p.now, &in, NULL) == RTC_OK);
    dp_connect(&p);
    REQUIRE(wait_for(&p, 1, RTC_DC_EV_OPEN, id, 1, RTC_SEC(5)));
    REQUIRE(wait_for(&p, 0, RTC_DC_EV_OPEN, id, 1, RTC_SEC(5)));
    CHECK_EQ_INT(dp_count(&p.side[0], RTC_DC_EV_OPEN, 42), 1);
    CHECK_EQ_INT(dp_count(&p.side[1], RTC_DC_EV_OPEN, 42), 1);
    /* SCTP_CONNECTED comes before the channel opens */
    CHECK(p.side[0].rec[0].kind == RTC_DC_EV_SCTP_CONNECTED);
    CHECK_EQ_INT(rtc_dc_get_state(p.side[0].dc, id), RTC_DC_OPEN);
    dp_free(&p);
}

static void test_negotiated(void) {
    dp_pair p;
    REQUIRE(setup(&p, 3) == 0);
    rtc_dc_init in;
    rtc_dc_init_default(&in);
    in.negotiated = true;
    in.id = 7; /* odd, created by the even side too: negotiated ids ignore parity */
    in.label = "neg";
    in.ordered = false;
    REQUIRE(rtc_dc_create(p.side[0].dc, p.now, &in, NULL) == RTC_OK);
    REQUIRE(rtc_dc_create(p.side[1].dc, p.now, &in, NULL) == RTC_OK);
    CHECK_EQ_INT(rtc_dc_create(p.side[1].dc, p.now, &in, NULL), RTC_ERR_MISUSE); /* in use */
    in.id = 65535;
    CHECK_EQ_INT(rtc_dc_create(p.side[1].dc, p.now, &in, NULL), RTC_ERR_INVALID);
    dp_drain(&p, 0);
    dp_drain(&p, 1);
    for (int i = 0; i < 10; i++) {
        uint8_t m[2] = {(uint8_t)i, 0xaa};
        REQUIRE(send_msg(&p, i & 1, 7, true, m, 2) == RTC_OK);
    }
    dp_run_for(&p, RTC_MS(500));
    CHECK_EQ_INT(dp_count(&p.side[0], RTC_DC_EV_MESSAGE, 7), 5);
    CHECK_EQ_INT(dp_count(&p.side[1], RTC_DC_EV_MESSAGE, 7), 5);
    rtc_dc_stats st;
    rtc_dc_get_stats(p.side[1].dc, &st);
    CHECK_EQ_INT(st.opens_received, 0); /* no DCEP for negotiated channels */
    rtc_dc_get_stats(p.side[0].dc, &st);
    CHECK_EQ_INT(st.opens_received, 0);
    /* a non-negotiated channel skips the negotiated id: side 1 (odd) gets 1, 3, 5, 9 */
    uint16_t ids[4];
    for (int i = 0; i < 4; i++) REQUIRE(create(&p, 1, "x", "", true, -1, -1, &ids[i]) == RTC_OK);
    CHECK_EQ_INT(ids[0], 1);
    CHECK_EQ_INT(ids[3], 9);
    dp_free(&p);
}

/* Every channel type over a lossy, reordering link: reliable ones deliver every
** message exactly once (in order when ordered); partially reliable ones at most once. */
static void run_types(double loss, uint64_t seed) {
    dp_pair p;
    REQUIRE(setup(&p, seed) == 0);
    p.link[0].loss = p.link[1].loss = loss;
    p.link[0].reorder = p.link[1].reorder = loss > 0 ? 0.05 : 0;
    p.link[0].reorder_extra = p.link[1].reorder_extra = RTC_MS(30);
    struct {
        bool ordered;
        int rtx, life;
        uint8_t type;
    } t[6] = {{true, -1, -1, 0x00}, {true, 0, -1, 0x01}, {true, -1, 800, 0x02},
              {false, -1, -1, 0x80}, {false, 1, -1, 0x81}, {false, -1, 1500, 0x82}};
    /* Lifetimes count from rtc_dc_send(), queueing included: at the start of slow start
    ** 360 messages wait a few RTTs for cwnd, so short lifetimes drop messages that never
    ** left even without loss (correct PR-SCTP behaviour, but not what this checks). */
    uint16_t id[6];
    enum { N = 60 };
    for (int k = 0; k < 6; k++) {
        REQUIRE(create(&p, 0, "t", "", t[k].ordered, t[k].rtx, t[k].life, &id[k]) == RTC_OK);
        /* data right behind the OPEN, before any ACK (RFC 8832 §6): also on unordered
        ** channels it must not overtake the OPEN */
        for (int i = 0; i < N; i++) {
            uint8_t m[300];
            memset(m, (uint8_t)k, sizeof m);
            m[0] = (uint8_t)i;
            REQUIRE(send_msg(&p, 0, id[k], true, m, 100 + (size_t)i * 3) == RTC_OK);
        }
    }
    dp_run_for(&p, RTC_SEC(30));
    for (int k = 0; k < 6; k++) {
        const dp_rec *o = dp_find(&p.side[1], RTC_DC_EV_OPEN, id[k]);
        REQUIRE(o);
        CHECK_EQ_INT(o->info.ordered, t[k].ordered);
        CHECK_EQ_INT(o->info.max_retransmits, t[k].rtx);
        CHECK_EQ_INT(o->info.max_packet_life_time, t[k].life);
        bool seen[N] = {0};
        int last = -1, count = 0;
        bool in_order = true;
        for (size_t i = 0; i < p.side[1].nrec; i++) {
            const dp_rec *r = &p.side[1].rec[i];
            if (r->kind != RTC_DC_EV_MESSAGE || r->id != id[k]) continue;
            CHECK(r > o); /* never before the OPEN */
            int seq = r->data[0];
            REQUIRE(seq < N);
            CHECK_EQ_INT(r->len, 100 + (size_t)seq * 3);
            CHECK(!seen[seq]); /* exactly once */
            seen[seq] = true;
            if (seq < last) in_order = false;
            last = seq;
            count++;
        }
        bool reliable = t[k].rtx < 0 && t[k].life < 0;
        if (reliable) CHECK_EQ_INT(count, N);
        else CHECK(count <= N);
        if (t[k].ordered) CHECK(in_order);
        if (loss == 0) CHECK_EQ_INT(count, N);
        if (loss > 0 && k == 0) fprintf(stderr, "  loss %.0f%%:", loss * 100);
        if (loss > 0) fprintf(stderr, " type 0x%02x %d/%d", t[k].type, count, N);
    }
    if (loss > 0) fprintf(stderr, "\n");
    CHECK_EQ_INT(dp_count(&p.side[1], RTC_DC_EV_ERROR, -1), 0);
    dp_free(&p);
}
static void test_types_no_loss(void) { run_types(0, 4); }
static void test_types_loss_10(void) { run_types(0.10, 5); }
static void test_types_loss_30(void) { run_types(0.30, 6); }

static void test_message_kinds_and_sizes(void) {
    dp_pair p;
    REQUIRE(setup(&p, 7) == 0);
    uint16_t id;
    REQUIRE(create(&p, 0, "sizes", "", true, -1, -1, &id) == RTC_OK);
    REQUIRE(wait_for(&p, 1, RTC_DC_EV_OPEN, id, 1, RTC_SEC(2)));
    dp_clear(&p.side[1]);
    const size_t max = 256 * 1024;
    const size_t sizes[] = {0, 1, 2, 1000, 1147, 1148, 1200, 4096, 65535, 65536, 100001, max};
    uint8_t *big = malloc(max + 1);
    REQUIRE(big);
    for (size_t i = 0; i <= max; i++) big[i] = (uint8_t)(i * 31 + (i >> 8));
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        for (int bin = 0; bin < 2; bin++) {
            REQUIRE(send_msg(&p, 0, id, bin, sizes[k] ? big : NULL, sizes[k]) == RTC_OK);
            dp_run_for(&p, RTC_MS(300));
        }
    }
    CHECK_EQ_INT(send_msg(&p, 0, id, true, big, max + 1), RTC_ERR_TOO_SMALL);
    CHECK_EQ_INT(rtc_dc_get_state(p.side[0].dc, id), RTC_DC_OPEN); /* still usable */
    dp_run_for(&p, RTC_SEC(2));
    size_t k = 0;
    for (size_t i = 0; i < p.side[1].nrec; i++) {
        const dp_rec *r = &p.side[1].rec[i];
        if (r->kind != RTC_DC_EV_MESSAGE) continue;
        REQUIRE(k < 2 * (sizeof sizes / sizeof sizes[0]));
        size_t want = sizes[k / 2];
        CHECK_EQ_INT(r->len, want);
        CHECK_EQ_INT(r->binary, (int)(k % 2));
        if (r->len == want && want) CHECK_MEM(r->data, big, want);
        k++;
    }
    CHECK_EQ_INT(k, 2 * (sizeof sizes / sizeof sizes[0]));
    /* the peer's smaller a=max-message-size bounds our sends */
    rtc_dc_set_remote_max_message_size(p.side[0].dc, 1000);
    CHECK_EQ_INT(send_msg(&p, 0, id, false, big, 1001), RTC_ERR_TOO_SMALL);
    CHECK_EQ_INT(send_msg(&p, 0, id, false, big, 1000), RTC_OK);
    free(big);
    dp_free(&p);
}

static bool closed_both(dp_pair *p, void *ud) {
    uint16_t id = *(const uint16_t *)ud;
    return dp_count(&p->side[0], RTC_DC_EV_CLOSED, id) && dp_count(&p->side[1], RTC_DC_EV_CLOSED, id);
}

static void test_close_and_reuse(void) {
    dp_pair p;
    REQUIRE(setup(&p, 8) == 0);
    uint16_t a, b;
    REQUIRE(create(&p, 0, "a-first", "", true, -1, -1, &a) == RTC_OK);
    REQUIRE(create(&p, 1, "b-first", "", true, -1, -1, &b) == RTC_OK);
    REQUIRE(wait_for(&p, 1, RTC_DC_EV_OPEN, a, 1, RTC_SEC(2)));
    REQUIRE(wait_for(&p, 0, RTC_DC_EV_OPEN, b, 1, RTC_SEC(2)));
    /* queued messages still arrive before the close takes effect */
    REQUIRE(send_msg(&p, 0, a, false, "last words", 10) == RTC_OK);

    /* 1. the creator (A) closes its channel */
    REQUIRE(rtc_dc_close(p.side[0].dc, p.now, a) == RTC_OK);
    CHECK_EQ_INT(rtc_dc_get_state(p.side[0].dc, a), RTC_DC_CLOSING);
    CHECK_EQ_INT(rtc_dc_send(p.side[0].dc, p.now, a, false, (const uint8_t *)"x", 1), RTC_ERR_MISUSE);
    CHECK_EQ_INT(rtc_dc_close(p.side[0].dc, p.now, a), RTC_OK); /* idempotent */
    dp_drain(&p, 0);
    REQUIRE(dp_run_until(&p, closed_both, &a, RTC_SEC(5)));
    CHECK_EQ_INT(dp_count(&p.side[1], RTC_DC_EV_MESSAGE, a), 1);
    CHECK_EQ_INT(dp_count(&p.side[1], RTC_DC_EV_CLOSING, a), 1); /* peer-initiated */
    CHECK_EQ_INT(dp_count(&p.side[0], RTC_DC_EV_CLOSING, a), 0); /* local: no event */
    CHECK_EQ_INT(rtc_dc_get_state(p.side[0].dc, a), RTC_ERR_NOT_FOUND);
    CHECK_EQ_INT(rtc_dc_get_state(p.side[1].dc, a), RTC_ERR_NOT_FOUND);
    CHECK_EQ_INT(rtc_dc_close(p.side[0].dc, p.now, a), RTC_ERR_NOT_FOUND);

    /* 2. the id is reused, and works */
    uint16_t a2;
    REQUIRE(create(&p, 0, "a-second", "p2", true, -1, -1, &a2) == RTC_OK);
    CHECK_EQ_INT(a2, a);
    REQUIRE(wait_for(&p, 1, RTC_DC_EV_OPEN, a2, 2, RTC_SEC(2)));
    REQUIRE(send_msg(&p, 0, a2, false, "again", 5) == RTC_OK);
    REQUIRE(send_msg(&p, 1, a2, false, "back", 4) == RTC_OK);
    dp_run_for(&p, RTC_MS(300));
    CHECK_EQ_INT(dp_count(&p.side[1], RTC_DC_EV_MESSAGE, a2), 2);
    CHECK_EQ_INT(dp_count(&p.side[0], RTC_DC_EV_MESSAGE, a2), 1);
    rtc_dc_info info;
    REQUIRE(rtc_dc_get_info(p.side[1].dc, a2, &info) == RTC_OK);
    CHECK_STR(info.label, "a-second");
    CHECK_STR(info.protocol, "p2");

    /* 3. the side that did NOT create the channel closes it (B closes a2) */
    dp_clear(&p.side[0]);
    dp_clear(&p.side[1]);
    REQUIRE(rtc_dc_close(p.side[1].dc, p.now, a2) == RTC_OK);
    dp_drain(&p, 1);
    REQUIRE(dp_run_until(&p, closed_both, &a2, RTC_SEC(5)));
    CHECK_EQ_INT(dp_count(&p.side[0], RTC_DC_EV_CLOSING, a2), 1);

    /* 4. B closes its own channel; both sides' other channels are untouched */
    REQUIRE(rtc_dc_close(p.side[1].dc, p.now, b) == RTC_OK);
    dp_drain(&p, 1);
    REQUIRE(dp_run_until(&p, closed_both, &b, RTC_SEC(5)));
    CHECK_EQ_INT(rtc_dc_count(p.side[0].dc), 0);
    CHECK_EQ_INT(rtc_dc_count(p.side[1].dc), 0);
    uint16_t b2;
    REQUIRE(create(&p, 1, "b-second", "", true, -1, -1, &b2) == RTC_OK);
    CHECK_EQ_INT(b2, b);
    REQUIRE(wait_for(&p, 0, RTC_DC_EV_OPEN, b2, 1, RTC_SEC(2)));

    /* 5. many open/close cycles of the same id: bounded state */
    for (int cycle = 0; cycle < 20; cycle++) {
        dp_clear(&p.side[0]);
        dp_clear(&p.side[1]);
        uint16_t c;
        REQUIRE(create(&p, 0, "cycle", "", cycle & 1, -1, -1, &c) == RTC_OK);
        CHECK_EQ_INT(c, 0);
        REQUIRE(send_msg(&p, 0, c, true, "m", 1) == RTC_OK);
        REQUIRE(wait_for(&p, 1, RTC_DC_EV_OPEN, c, 1, RTC_SEC(2)));
        REQUIRE(rtc_dc_close(p.side[cycle % 2].dc, p.now, c) == RTC_OK);
        dp_drain(&p, cycle % 2);
        REQUIRE(dp_run_until(&p, closed_both, &c, RTC_SEC(5)));
        CHECK_EQ_INT(dp_count(&p.side[1], RTC_DC_EV_MESSAGE, c), 1);
    }
    CHECK_EQ_INT(rtc_dc_count(p.side[0].dc), 1);
    dp_free(&p);
}

typedef struct {
    dp_pair *p;
    uint16_t id;
    size_t total, sent, high, peak_buffered, peak_total, lows, chunk;
    uint64_t sum_sent;
    uint8_t *buf;
} stream_t;

static void pump(stream_t *s) {
    rtc_dc *dc = s->p->side[0].dc;
    /* the W3C pattern: send while bufferedAmount is under a high-water mark */
    for (int guard = 0; guard < 10000 && s->sent < s->total; guard++) {
        if (rtc_dc_buffered_amount(dc, s->id) > s->high) break;
        size_t n = dp_min(s->chunk, s->total - s->sent);
        for (size_t i = 0; i < n; i++) s->buf[i] = (uint8_t)((s->sent + i) * 131 >> 3);
        int r = rtc_dc_send(dc, s->p->now, s->id, true, s->buf, n);
        if (r == RTC_ERR_AGAIN) break;
        if (r != RTC_OK) return;
        for (size_t i = 0; i < n; i++) s->sum_sent += s->buf[i] * (uint64_t)(s->sent + i + 1);
        s->sent += n;
        size_t b = rtc_dc_buffered_amount(dc, s->id), t = rtc_sctp_buffered_total(s->p->side[0].s);
        if (b > s->peak_buffered) s->peak_buffered = b;
        if (t > s->peak_total) s->peak_total = t;
    }
}

static void on_low(dp_side *sd, const rtc_dc_event *ev, void *ud) {
    (void)sd;
    stream_t *s = ud;
    if (ev->kind != RTC_DC_EV_BUFFERED_AMOUNT_LOW || ev->id != s->id) return;
    s->lows++;
    pump(s); /* calling back into the manager from an event is fine: events are polled */
}

typedef struct {
    size_t got;
    uint64_t sum;
    size_t msgs;
} sink_t;
static void on_sink(dp_side *sd, const rtc_dc_event *ev, void *ud) {
    (void)sd;
    sink_t *k = ud;
    if (ev->kind != RTC_DC_EV_MESSAGE) return;
    for (size_t i = 0; i < ev->len; i++) k->sum += ev->data[i] * (uint64_t)(k->got + i + 1);
    k->got += ev->len;
    k->msgs++;
}

static bool stream_done(dp_pair *p, void *ud) {
    (void)p;
    stream_t *s = ud;
    sink_t *k = s->p->side[1].ud;
    return k->got >= s->total;
}

static void test_buffered_amount_low_streaming(void) {
    dp_pair p;
    REQUIRE(setup(&p, 9) == 0);
    p.link[0].loss = 0.01;
    p.side[1].keep_data = false; /* the sink checks a running sum instead */
    uint16_t id;
    REQUIRE(create(&p, 0, "file", "", true, -1, -1, &id) == RTC_OK);
    REQUIRE(wait_for(&p, 1, RTC_DC_EV_OPEN, id, 1, RTC_SEC(2)));
    stream_t s = {&p, id, 16u << 20, 0, 256 * 1024, 0, 0, 0, 16 * 1024, 0, NULL};
    s.buf = malloc(s.chunk);
    REQUIRE(s.buf);
    sink_t k = {0, 0, 0};
    p.side[0].on_event = on_low;
    p.side[0].ud = &s;
    p.side[1].on_event = on_sink;
    p.side[1].ud = &k;
    REQUIRE(rtc_dc_set_buffered_amount_low_threshold(p.side[0].dc, id, 64 * 1024) == RTC_OK);
    CHECK_EQ_INT(rtc_dc_set_buffered_amount_low_threshold(p.side[0].dc, 99, 1), RTC_ERR_NOT_FOUND);
    pump(&s);
    dp_drain(&p, 0);
    /* the record array would fill with 1024 messages * ... : keep only counts */
    bool done = dp_run_until(&p, stream_done, &s, RTC_SEC(120));
    CHECK(done);
    CHECK_EQ_INT(k.got, s.total);
    CHECK(k.sum == s.sum_sent);
    CHECK(s.lows > 10);
    /* bounded memory: never more than the high-water mark plus one chunk queued */
    CHECK(s.peak_buffered <= s.high + s.chunk);
    CHECK(s.peak_total < 4u << 20);
    fprintf(stderr, "  16 MiB in %zu messages, %zu low events, peak buffered %zu KiB, peak "
            "send buffer %zu KiB, %.1f s virtual\n",
            k.msgs, s.lows, s.peak_buffered / 1024, s.peak_total / 1024,
            (double)(p.now - RTC_SEC(1)) / 1e6);
    free(s.buf);
    dp_free(&p);
}

/* ---- hostile or broken peers: raw SCTP messages sent past A's manager ---------------- */

static void raw(dp_pair *p, uint16_t stream, uint32_t ppid, const uint8_t *d, size_t n) {
    rtc_sctp_send_opts o = rtc_sctp_send_opts_reliable(stream, ppid);
    int r = rtc_sctp_send(p->side[0].s, p->now, &o, d, n);
    CHECK_EQ_INT(r, RTC_OK);
    dp_drain(p, 0);
    dp_run_for(p, RTC_MS(200));
}

static void test_hostile_dcep(void) {
    dp_pair p;
    rtc_dc_config c1;
    rtc_dc_config_default(&c1);
    c1.max_channels = 3;
    c1.max_label_bytes = 100;
    REQUIRE(dp_init(&p, 10, NULL, NULL, &c1) == 0);
    dp_connect(&p);
    REQUIRE(dp_run_until(&p, both_connected, NULL, RTC_SEC(5)));
    uint8_t b[200];
    /* truncated OPEN, label past the end, unknown type, unknown channel type, empty */
    size_t n = test_unhex("03 00 0100 00000000 0004", b, sizeof b);
    raw(&p, 10, RTC_SCTP_PPID_DCEP, b, n);
    n = test_unhex("03 00 0100 00000000 00ff 0000 6162", b, sizeof b);
    raw(&p, 12, RTC_SCTP_PPID_DCEP, b, n);
    n = test_unhex("07 00", b, sizeof b);
    raw(&p, 14, RTC_SCTP_PPID_DCEP, b, n);
    n = test_unhex("03 05 0100 00000000 0000 0000", b, sizeof b);
    raw(&p, 16, RTC_SCTP_PPID_DCEP, b, n);
    CHECK_EQ_INT(rtc_dc_count(p.side[1].dc), 0);
    CHECK_EQ_INT(dp_count(&p.side[1], RTC_DC_EV_ERROR, -1), 4);
    CHECK_EQ_INT(dp_count(&p.side[1], RTC_DC_EV_OPEN, -1), 0);
    /* data on a stream without a channel, unknown PPID, stray ACK */
    raw(&p, 20, RTC_SCTP_PPID_STRING, (const uint8_t *)"zz", 2);
    raw(&p, 20, 52, (const uint8_t *)"zz", 2);
    raw(&p, 20, RTC_SCTP_PPID_DCEP, (const uint8_t *)"\x02", 1);
    CHECK_EQ_INT(dp_count(&p.side[1], RTC_DC_EV_ERROR, -1), 6);
    CHECK_EQ_INT(dp_count(&p.side[1], RTC_DC_EV_MESSAGE, -1), 0);
    /* a label over max_label_bytes is refused */
    memset(b, 'L', sizeof b);
    n = test_unhex("03 00 0100 00000000 0065 0000", b, sizeof b); /* label 101 */
    raw(&p, 22, RTC_SCTP_PPID_DCEP, b, 12 + 101);
    CHECK_EQ_INT(rtc_dc_count(p.side[1].dc), 0);
    /* the channel bound: 3 accepted, the 4th refused (and its stream reset) */
    n = test_unhex("03 00 0100 00000000 0001 0000 41", b, sizeof b);
    for (uint16_t s = 30; s < 38; s += 2) raw(&p, s, RTC_SCTP_PPID_DCEP, b, n);
    CHECK_EQ_INT(rtc_dc_count(p.side[1].dc), 3);
    rtc_dc_stats st;
    rtc_dc_get_stats(p.side[1].dc, &st);
    CHECK_EQ_INT(st.opens_refused, 2);
    CHECK_EQ_INT(st.dcep_errors, 4);
    /* a duplicate OPEN for a live channel is an error, not a second channel */
    raw(&p, 30, RTC_SCTP_PPID_DCEP, b, n);
    CHECK_EQ_INT(rtc_dc_count(p.side[1].dc), 3);
    CHECK_EQ_INT(dp_count(&p.side[1], RTC_DC_EV_OPEN, 30), 1);
    /* the accepted channels work: data right behind the raw OPEN arrives */
    raw(&p, 32, RTC_SCTP_PPID_BINARY, (const uint8_t *)"ok", 2);
    raw(&p, 32, RTC_SCTP_PPID_STRING_EMPTY, (const uint8_t *)"\0", 1);
    CHECK_EQ_INT(dp_count(&p.side[1], RTC_DC_EV_MESSAGE, 32), 2);
    /* ... and B's manager answered each accepted OPEN with an ACK: A's association got
    ** DCEP messages that A's manager sees as stray ACKs (no channel on A): no error */
    CHECK_EQ_INT(dp_count(&p.side[0], RTC_DC_EV_ERROR, -1), 0);
    CHECK_EQ_INT(rtc_sctp_get_state(p.side[1].s), RTC_SCTP_ESTABLISHED);
    dp_free(&p);
}

static void test_association_closes(void) {
    dp_pair p;
    REQUIRE(setup(&p, 11) == 0);
    uint16_t ids[5];
    for (int i = 0; i < 5; i++) REQUIRE(create(&p, i & 1, "c", "", true, -1, -1, &ids[i]) == RTC_OK);
    dp_run_for(&p, RTC_MS(300));
    CHECK_EQ_INT(rtc_dc_count(p.side[0].dc), 5);
    rtc_sctp_abort(p.side[0].s, p.now);
    dp_drain(&p, 0);
    dp_run_for(&p, RTC_MS(300));
    for (int s = 0; s < 2; s++) {
        CHECK_EQ_INT(dp_count(&p.side[s], RTC_DC_EV_CLOSED, -1), 5);
        CHECK_EQ_INT(dp_count(&p.side[s], RTC_DC_EV_SCTP_CLOSED, -1), 1);
        CHECK(p.side[s].rec[p.side[s].nrec - 1].kind == RTC_DC_EV_SCTP_CLOSED);
        CHECK_EQ_INT(rtc_dc_count(p.side[s].dc), 0);
    }
    CHECK_EQ_INT(create(&p, 0, "late", "", true, -1, -1, NULL), RTC_ERR_MISUSE);
    dp_free(&p);
}

static void test_close_before_up(void) {
    dp_pair p;
    REQUIRE(dp_init(&p, 12, NULL, NULL, NULL) == 0);
    uint16_t id, keep;
    REQUIRE(create(&p, 0, "gone", "", true, -1, -1, &id) == RTC_OK);
    REQUIRE(create(&p, 0, "kept", "", true, -1, -1, &keep) == RTC_OK);
    REQUIRE(rtc_dc_close(p.side[0].dc, p.now, id) == RTC_OK);
    dp_connect(&p);
    REQUIRE(dp_run_until(&p, closed_both, &id, RTC_SEC(5)));
    CHECK_EQ_INT(dp_count(&p.side[0], RTC_DC_EV_OPEN, id), 0);
    CHECK_EQ_INT(rtc_dc_get_state(p.side[0].dc, keep), RTC_DC_OPEN);
    CHECK_EQ_INT(rtc_dc_get_state(p.side[1].dc, keep), RTC_DC_OPEN);
    dp_free(&p);
}

static void test_api_edges(void) {
    rtc_dc *dc = NULL;
    rtc_sctp *s = NULL;
    REQUIRE(rtc_sctp_new(&s, NULL, NULL) == RTC_OK);
    CHECK_EQ_INT(rtc_dc_new(NULL, s, NULL, NULL), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_dc_new(&dc, NULL, NULL, NULL), RTC_ERR_INVALID);
    rtc_dc_config c;
    rtc_dc_config_default(&c);
    c.max_channels = 0;
    CHECK_EQ_INT(rtc_dc_new(&dc, s, &c, NULL), RTC_ERR_INVALID);
    REQUIRE(rtc_dc_new(&dc, s, NULL, NULL) == RTC_OK);
    rtc_dc_init in;
    rtc_dc_init_default(&in);
    in.max_retransmits = 1;
    in.max_packet_life_time = 1;
    CHECK_EQ_INT(rtc_dc_create(dc, 0, &in, NULL), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_dc_create(dc, 0, NULL, NULL), RTC_ERR_INVALID);
    rtc_dc_event ev;
    CHECK_EQ_INT(rtc_dc_poll_event(dc, &ev), 0);
    CHECK_EQ_INT(rtc_dc_buffered_amount(dc, 5), 0);
    CHECK_EQ_INT(rtc_dc_get_info(dc, 5, NULL), RTC_ERR_NOT_FOUND);
    rtc_dc_free(dc);
    rtc_dc_free(NULL);
    rtc_sctp_free(s);
}

/* Drops the first packet from side 0 that carries a RE-CONFIG chunk (130) holding a
** Re-configuration Response parameter (16), RFC 6525 §3.1/§4.4. */
static bool drop_first_reconf_response(dp_pair *p, int from, const uint8_t *d, size_t len) {
    int *left = p->drop_ud;
    if (from != 0 || *left <= 0 || len < 12) return false;
    size_t off = 12;
    while (off + 4 <= len) {
        size_t clen = (size_t)d[off + 2] << 8 | d[off + 3];
        if (clen < 4 || off + clen > len) break;
        if (d[off] == 130) {
            for (size_t q = off + 4; q + 4 <= off + clen;) {
                size_t plen = (size_t)d[q + 2] << 8 | d[q + 3];
                if ((d[q] << 8 | d[q + 1]) == 16) {
                    (*left)--;
                    return true;
                }
                if (plen < 4) break;
                q += (plen + 3) & ~(size_t)3;
            }
        }
        off += (clen + 3) & ~(size_t)3;
    }
    return false;
}

/* A closes a channel, and the answer to B's part of the close is lost. A sees the
** channel closed and reuses the id at once, while B still waits for that answer: B must
** accept the new OPEN (the old channel is closed first) and the new channel must work
** in both directions once B's reset request has been answered on retransmission. */
static void test_reuse_while_peer_still_closing(void) {
    dp_pair p;
    REQUIRE(setup(&p, 14) == 0);
    uint16_t id, id2;
    REQUIRE(create(&p, 0, "old", "", true, -1, -1, &id) == RTC_OK);
    REQUIRE(wait_for(&p, 1, RTC_DC_EV_OPEN, id, 1, RTC_SEC(2)));
    int drops = 1;
    p.drop = drop_first_reconf_response;
    p.drop_ud = &drops;
    REQUIRE(rtc_dc_close(p.side[0].dc, p.now, id) == RTC_OK);
    dp_drain(&p, 0);
    REQUIRE(wait_for(&p, 0, RTC_DC_EV_CLOSED, id, 1, RTC_SEC(5)));
    CHECK_EQ_INT(drops, 0); /* the answer was dropped */
    CHECK_EQ_INT(rtc_dc_get_state(p.side[1].dc, id), RTC_DC_CLOSING);
    REQUIRE(create(&p, 0, "new", "", true, -1, -1, &id2) == RTC_OK);
    CHECK_EQ_INT(id2, id);
    REQUIRE(send_msg(&p, 0, id2, false, "fresh", 5) == RTC_OK);
    REQUIRE(wait_for(&p, 1, RTC_DC_EV_MESSAGE, id2, 1, RTC_SEC(5)));
    /* B: old CLOSED, then new OPEN, then the message */
    size_t i_closed = SIZE_MAX, i_open2 = SIZE_MAX, i_msg = SIZE_MAX, opens = 0;
    for (size_t i = 0; i < p.side[1].nrec; i++) {
        const dp_rec *r = &p.side[1].rec[i];
        if (r->id != id) continue;
        if (r->kind == RTC_DC_EV_CLOSED && i_closed == SIZE_MAX) i_closed = i;
        if (r->kind == RTC_DC_EV_OPEN && ++opens == 2) i_open2 = i;
        if (r->kind == RTC_DC_EV_MESSAGE) i_msg = i;
    }
    CHECK(i_closed < i_open2);
    CHECK(i_open2 < i_msg);
    REQUIRE(i_open2 != SIZE_MAX);
    CHECK_STR(p.side[1].rec[i_open2].label, "new");
    dp_run_for(&p, RTC_SEC(5)); /* B's reset request is retransmitted and answered */
    CHECK_EQ_INT(rtc_dc_get_state(p.side[1].dc, id), RTC_DC_OPEN);
    CHECK_EQ_INT(rtc_dc_get_state(p.side[0].dc, id), RTC_DC_OPEN);
    REQUIRE(send_msg(&p, 1, id, false, "reply", 5) == RTC_OK);
    REQUIRE(wait_for(&p, 0, RTC_DC_EV_MESSAGE, id, 1, RTC_SEC(5)));
    CHECK_EQ_INT(dp_count(&p.side[1], RTC_DC_EV_ERROR, -1), 0);
    CHECK_EQ_INT(dp_count(&p.side[0], RTC_DC_EV_ERROR, -1), 0);
    /* and it closes normally again */
    dp_clear(&p.side[0]);
    dp_clear(&p.side[1]);
    REQUIRE(rtc_dc_close(p.side[1].dc, p.now, id) == RTC_OK);
    dp_drain(&p, 1);
    REQUIRE(dp_run_until(&p, closed_both, &id, RTC_SEC(5)));
    CHECK_EQ_INT(rtc_dc_count(p.side[0].dc), 0);
    CHECK_EQ_INT(rtc_dc_count(p.side[1].dc), 0);
    dp_free(&p);
}

/* Counting allocator: a size header in front of every block, so the count does not
** depend on the old_size callers pass. Counts both sides together. */
static long long mem_now, mem_peak;
static void *count_realloc(void *ud, void *ptr, size_t old_size, size_t new_size) {
    (void)ud, (void)old_size;
    size_t *h = ptr ? (size_t *)ptr - 2 : NULL;
    if (h) mem_now -= (long long)h[0];
    if (new_size == 0) {
        free(h);
        return NULL;
    }
    size_t *nh = realloc(h, new_size + 2 * sizeof(size_t));
    if (!nh) {
        if (h) mem_now += (long long)h[0];
        return NULL;
    }
    nh[0] = new_size;
    mem_now += (long long)new_size;
    if (mem_now > mem_peak) mem_peak = mem_now;
    return nh + 2;
}

/* Memory of one idle association with its manager and one open channel (issue 5 aims
** at < 32 KiB idle for association + channel). Measured, printed and bounded. */
/* RFC 8831 §6.4: a channel's priority weights its stream in the association's sender.
** Side 0 opens "high" (1024) and "low" (256); both sides keep both channels saturated
** (side 1 sends at the priorities the OPENs carried). Bytes received in a window after
** the start-up are ~4:1 each way; message sizes differ on purpose (fairness in bytes). */
typedef struct {
    uint16_t id[2];
    uint64_t bytes[2];
    rtc_time from;
    dp_pair *p;
} prio_count_t;
static void on_prio_msg(dp_side *sd, const rtc_dc_event *ev, void *ud) {
    (void)sd;
    prio_count_t *c = ud;
    if (ev->kind != RTC_DC_EV_MESSAGE || c->p->now < c->from) return;
    for (int i = 0; i < 2; i++)
        if (ev->id == c->id[i]) c->bytes[i] += ev->len;
}

static void test_priority(void) {
    dp_pair p;
    REQUIRE(setup(&p, 21) == 0);
    p.side[0].keep_data = p.side[1].keep_data = false;
    uint16_t id[2];
    const uint16_t prio[2] = {RTC_DC_PRIORITY_HIGH, RTC_DC_PRIORITY_LOW};
    for (int i = 0; i < 2; i++) {
        rtc_dc_init in;
        rtc_dc_init_default(&in);
        in.label = i ? "low" : "high";
        in.priority = prio[i];
        REQUIRE(rtc_dc_create(p.side[0].dc, p.now, &in, &id[i]) == RTC_OK);
        dp_drain(&p, 0);
    }
    REQUIRE(wait_for(&p, 1, RTC_DC_EV_OPEN, -1, 2, RTC_SEC(2)));
    rtc_dc_info info;
    REQUIRE(rtc_dc_get_info(p.side[1].dc, id[0], &info) == RTC_OK);
    CHECK_EQ_INT(info.priority, RTC_DC_PRIORITY_HIGH);
    prio_count_t cnt[2];
    memset(cnt, 0, sizeof cnt);
    for (int sd = 0; sd < 2; sd++) {
        cnt[sd].id[0] = id[0];
        cnt[sd].id[1] = id[1];
        cnt[sd].from = p.now + RTC_MS(300);
        cnt[sd].p = &p;
        p.side[sd].on_event = on_prio_msg;
        p.side[sd].ud = &cnt[sd];
    }
    static uint8_t buf[40000];
    const size_t len[2] = {5000, 40000};
    rtc_time end = p.now + RTC_MS(800);
    while (p.now < end) {
        for (int sd = 0; sd < 2; sd++) {
            for (int i = 0; i < 2; i++)
                while (rtc_dc_buffered_amount(p.side[sd].dc, id[i]) < (256u << 10))
                    REQUIRE(rtc_dc_send(p.side[sd].dc, p.now, id[i], true, buf, len[i]) == RTC_OK);
            dp_drain(&p, sd);
        }
        if (!dp_step(&p)) break;
    }
    for (int sd = 0; sd < 2; sd++) {
        /* Lossless link: no timeout. Side 1 answers the OPENs from inside its poll, where
        ** the manager once passed a stale time to the association, which armed T3 in the
        ** past and left side 1 at a collapsed cwnd (2.9 MB against 50 MB here). */
        rtc_sctp_stats st;
        rtc_sctp_get_stats(p.side[sd].s, &st);
        CHECK_EQ_INT(st.t3_expirations, 0);
        CHECK_EQ_INT(st.retransmitted_chunks, 0);
    }
    for (int sd = 0; sd < 2; sd++) {
        /* cnt[sd] counts what side sd received: side 1-sd sent it */
        double r = cnt[sd].bytes[1] ? (double)cnt[sd].bytes[0] / (double)cnt[sd].bytes[1] : 0;
        fprintf(stderr, "  side %d -> %d: high %.1f MB, low %.1f MB, ratio %.2f\n", 1 - sd, sd,
                cnt[sd].bytes[0] / 1e6, cnt[sd].bytes[1] / 1e6, r);
        CHECK(cnt[sd].bytes[1] > 2000000);
        CHECK(r > 3.5 && r < 4.5);
    }
    for (int sd = 0; sd < 2; sd++) p.side[sd].on_event = NULL;
    dp_free(&p);
}

static void test_memory_idle(void) {
    dp_pair p;
    dp_realloc_hook = count_realloc;
    mem_now = mem_peak = 0;
    int r = setup(&p, 13);
    dp_realloc_hook = NULL;
    REQUIRE(r == 0);
    long long base = mem_now;
    uint16_t id;
    REQUIRE(create(&p, 0, "chat", "", true, -1, -1, &id) == RTC_OK);
    REQUIRE(wait_for(&p, 1, RTC_DC_EV_OPEN, id, 1, RTC_SEC(2)));
    REQUIRE(send_msg(&p, 0, id, false, "hello", 5) == RTC_OK);
    REQUIRE(send_msg(&p, 1, id, false, "hello", 5) == RTC_OK);
    dp_run_for(&p, RTC_SEC(5)); /* acks settle, nothing queued */
    long long with_ch = mem_now;
    /* a manager alone (no association memory) with that one channel */
    size_t per_side = (size_t)with_ch / 2;
    fprintf(stderr, "  idle memory, both sides together: %lld B connected, %lld B with one "
            "open channel (%zu B per side)\n", base, with_ch, per_side);
    CHECK(per_side < 32 * 1024);
    /* 100 channels cost little more than their labels */
    for (int i = 0; i < 100; i++) REQUIRE(create(&p, 0, "chat", "", true, -1, -1, NULL) == RTC_OK);
    dp_run_for(&p, RTC_SEC(5));
    fprintf(stderr, "  +100 channels: %lld B more (both sides)\n", mem_now - with_ch);
    CHECK(mem_now - with_ch < 100 * 2 * 512);
    dp_free(&p);
    CHECK_EQ_INT(mem_now, 0); /* everything went back through the env */
}

int main(void) {
    RUN(test_api_edges);
    RUN(test_open_from_each_side);
    RUN(test_create_before_connect);
    RUN(test_negotiated);
    RUN(test_types_no_loss);
    RUN(test_types_loss_10);
    RUN(test_types_loss_30);
    RUN(test_message_kinds_and_sizes);
    RUN(test_close_and_reuse);
    RUN(test_close_before_up);
    RUN(test_reuse_while_peer_still_closing);
    RUN(test_association_closes);
    RUN(test_hostile_dcep);
    RUN(test_buffered_amount_low_streaming);
    RUN(test_priority);
    RUN(test_memory_idle);
    return TEST_DONE();
}
