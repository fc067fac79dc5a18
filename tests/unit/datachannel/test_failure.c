/*
** tests/unit/datachannel/test_failure.c: the association ends abnormally (the peer's ABORT,
** retransmissions exhausted) -> every channel not yet closed gets RTC_DC_EV_ERROR (W3C
** RTCError errorDetail "sctp-failure": `what` starts with it) and then RTC_DC_EV_CLOSED,
** in that order, before RTC_DC_EV_SCTP_CLOSED. A graceful SHUTDOWN and our own ABORT (the
** application closing) close the channels without an error.
*/
#include "dc_pair.h"
#include "test.h"

#define NCH 5

typedef struct seen {
    int errors, sctp_failure_whats;
    int err_code;
    int order_bad; /* a CLOSED for an id before its ERROR, or an ERROR after its CLOSED */
    bool errored[65536], closed[65536];
} seen;

static void hook(dp_side *sd, const rtc_dc_event *ev, void *ud) {
    (void)sd;
    seen *s = ud;
    if (ev->kind == RTC_DC_EV_ERROR) {
        s->errors++;
        s->err_code = ev->error;
        if (ev->what && strncmp(ev->what, "sctp-failure", 12) == 0) s->sctp_failure_whats++;
        if (s->closed[ev->id]) s->order_bad++;
        s->errored[ev->id] = true;
    } else if (ev->kind == RTC_DC_EV_CLOSED) {
        s->closed[ev->id] = true;
    }
}

static bool both_connected(dp_pair *p, void *ud) {
    (void)ud;
    return dp_count(&p->side[0], RTC_DC_EV_SCTP_CONNECTED, -1) &&
           dp_count(&p->side[1], RTC_DC_EV_SCTP_CONNECTED, -1);
}

static bool closed_side(dp_pair *p, void *ud) {
    return dp_count(&p->side[*(int *)ud], RTC_DC_EV_SCTP_CLOSED, -1) > 0;
}

static seen *seen_new(void) {
    seen *s = calloc(1, sizeof *s);
    if (!s) abort();
    return s;
}

/* Both sides up with NCH open channels (ids in ids[]); hooks installed. */
static int setup(dp_pair *p, uint64_t seed, seen *sn[2], uint16_t ids[NCH]) {
    if (dp_init(p, seed, NULL, NULL, NULL)) return -1;
    for (int i = 0; i < 2; i++) {
        sn[i] = seen_new();
        p->side[i].on_event = hook;
        p->side[i].ud = sn[i];
    }
    dp_connect(p);
    if (!dp_run_until(p, both_connected, NULL, RTC_SEC(5))) return -1;
    for (int i = 0; i < NCH; i++) {
        rtc_dc_init in;
        rtc_dc_init_default(&in);
        in.label = "c";
        if (rtc_dc_create(p->side[i & 1].dc, p->now, &in, &ids[i]) != RTC_OK) return -1;
        dp_drain(p, i & 1);
    }
    dp_run_for(p, RTC_MS(300));
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < NCH; i++)
            if (rtc_dc_get_state(p->side[s].dc, ids[i]) != RTC_DC_OPEN) return -1;
    return 0;
}

/* Every channel errored then closed on side `s` (or, want_errors false, closed only). */
static void check_side(dp_pair *p, int s, const seen *sn, const uint16_t ids[NCH], bool want_errors,
                       int code) {
    CHECK_EQ_INT(dp_count(&p->side[s], RTC_DC_EV_CLOSED, -1), NCH);
    CHECK_EQ_INT(dp_count(&p->side[s], RTC_DC_EV_SCTP_CLOSED, -1), 1);
    CHECK(p->side[s].rec[p->side[s].nrec - 1].kind == RTC_DC_EV_SCTP_CLOSED);
    CHECK_EQ_INT(sn->order_bad, 0);
    if (!want_errors) {
        CHECK_EQ_INT(dp_count(&p->side[s], RTC_DC_EV_ERROR, -1), 0);
        return;
    }
    CHECK_EQ_INT(sn->errors, NCH);
    CHECK_EQ_INT(sn->sctp_failure_whats, NCH);
    CHECK_EQ_INT(sn->err_code, code);
    for (int i = 0; i < NCH; i++) {
        CHECK_EQ_INT(dp_count(&p->side[s], RTC_DC_EV_ERROR, ids[i]), 1);
        const dp_rec *er = dp_find(&p->side[s], RTC_DC_EV_ERROR, ids[i]);
        CHECK(er && er->error == code);
        /* the ERROR comes right before the channel's CLOSED */
        size_t e = SIZE_MAX, c = SIZE_MAX;
        for (size_t k = 0; k < p->side[s].nrec; k++) {
            if (p->side[s].rec[k].id != ids[i]) continue;
            if (p->side[s].rec[k].kind == RTC_DC_EV_ERROR) e = k;
            if (p->side[s].rec[k].kind == RTC_DC_EV_CLOSED) c = k;
        }
        CHECK(e != SIZE_MAX && c != SIZE_MAX && e < c);
    }
}

static void test_peer_abort(void) {
    dp_pair p;
    seen *sn[2] = {0};
    uint16_t ids[NCH];
    REQUIRE(setup(&p, 21, sn, ids) == 0);
    rtc_sctp_abort(p.side[0].s, p.now);
    dp_drain(&p, 0);
    int one = 1;
    CHECK(dp_run_until(&p, closed_side, &one, RTC_SEC(1)));
    dp_run_for(&p, RTC_MS(100));
    check_side(&p, 1, sn[1], ids, true, RTC_ERR_CLOSED); /* received the ABORT */
    check_side(&p, 0, sn[0], ids, false, 0);             /* aborted itself: no error */
    dp_free(&p);
    free(sn[0]);
    free(sn[1]);
}

static void test_clean_shutdown(void) {
    dp_pair p;
    seen *sn[2] = {0};
    uint16_t ids[NCH];
    REQUIRE(setup(&p, 22, sn, ids) == 0);
    REQUIRE(rtc_sctp_shutdown(p.side[0].s, p.now) == RTC_OK);
    dp_drain(&p, 0);
    int zero = 0, one = 1;
    CHECK(dp_run_until(&p, closed_side, &zero, RTC_SEC(5)));
    CHECK(dp_run_until(&p, closed_side, &one, RTC_SEC(5)));
    check_side(&p, 0, sn[0], ids, false, 0);
    check_side(&p, 1, sn[1], ids, false, 0);
    dp_free(&p);
    free(sn[0]);
    free(sn[1]);
}

/* The network goes away with data in flight: side 0's retransmissions run out. */
static void test_retransmissions_exhausted(void) {
    dp_pair p;
    seen *sn[2] = {0};
    uint16_t ids[NCH];
    REQUIRE(setup(&p, 23, sn, ids) == 0);
    p.link[0].loss = p.link[1].loss = 1.0;
    REQUIRE(rtc_dc_send(p.side[0].dc, p.now, ids[0], true, (const uint8_t *)"lost", 4) == RTC_OK);
    dp_drain(&p, 0);
    int zero = 0;
    CHECK(dp_run_until(&p, closed_side, &zero, RTC_SEC(600)));
    check_side(&p, 0, sn[0], ids, true, RTC_ERR_TIMEOUT);
    dp_free(&p);
    free(sn[0]);
    free(sn[1]);
}

/* A channel that was already closed when the association fails gets no error. */
static void test_closed_channel_no_error(void) {
    dp_pair p;
    seen *sn[2] = {0};
    uint16_t ids[NCH];
    REQUIRE(setup(&p, 24, sn, ids) == 0);
    REQUIRE(rtc_dc_close(p.side[0].dc, p.now, ids[0]) == RTC_OK);
    dp_drain(&p, 0);
    dp_run_for(&p, RTC_MS(500));
    REQUIRE(dp_count(&p.side[1], RTC_DC_EV_CLOSED, ids[0]) == 1);
    rtc_sctp_abort(p.side[0].s, p.now);
    dp_drain(&p, 0);
    int one = 1;
    CHECK(dp_run_until(&p, closed_side, &one, RTC_SEC(1)));
    CHECK_EQ_INT(sn[1]->errors, NCH - 1);
    CHECK_EQ_INT(dp_count(&p.side[1], RTC_DC_EV_ERROR, ids[0]), 0);
    CHECK_EQ_INT(sn[1]->order_bad, 0);
    dp_free(&p);
    free(sn[0]);
    free(sn[1]);
}

int main(void) {
    RUN(test_peer_abort);
    RUN(test_clean_shutdown);
    RUN(test_retransmissions_exhausted);
    RUN(test_closed_channel_no_error);
    return TEST_DONE();
}
