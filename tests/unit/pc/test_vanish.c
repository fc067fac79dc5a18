/*
** tests/unit/pc/test_vanish.c: a peer that vanishes in the middle of a transfer.
**
** Two connections exchange a large stream on one channel; at some point every packet in
** both directions is dropped (the remote process died, the network went away). The side
** that is still there must notice through consent freshness (RFC 7675: no answer for 30 s
** -> the pair is dead), report ICE and connection state "failed", give the channel an
** error ("sctp-failure") and then close it once the association gives up, refuse further sends, and free everything (the ASan build
** checks that nothing leaks). Virtual time; the links drop instead of delivering.
*/
#include "pc_pair.h"
#include "test.h"

#define CHUNK 16384

static bool chan_open(pp_pair *p, void *ud) {
    (void)ud;
    return p->s[0].n_opened >= 1 && p->s[1].n_opened >= 1;
}

static bool failed(pp_pair *p, void *ud) {
    int i = *(int *)ud;
    return p->s[i].conn == RTC_PC_CONNECTION_FAILED;
}

/* W3C: a channel whose transport fails gets an error (RTCError "sctp-failure") before its
** close. Counts, per side, errors on the watched channel that came before any close. */
typedef struct err_watch {
    uint32_t ch;
    int before_close, sctp_failure;
} err_watch;

static void on_ev(pp_side *s, const rtc_pc_event *ev, void *ud) {
    err_watch *w = ud;
    if (ev->type != RTC_PC_EV_DC_ERROR || ev->channel != w->ch) return;
    if (s->n_closed == 0) w->before_close++;
    if (ev->what && strncmp(ev->what, "sctp-failure", 12) == 0) w->sctp_failure++;
}

/* Keep side 0's send buffer topped up, as a file sender does. */
static void refill(pp_pair *p, uint32_t ch, const uint8_t *chunk, uint64_t *queued) {
    while (rtc_pc_dc_buffered_amount(p->s[0].pc, ch) < 4 * CHUNK) {
        int rc = rtc_pc_dc_send(p->s[0].pc, ch, true, chunk, CHUNK);
        if (rc != RTC_OK) break;
        *queued += CHUNK;
    }
}

static void run_vanish(int who_vanishes) {
    pp_pair p;
    REQUIRE(pp_init(&p, 40 + (uint64_t)who_vanishes, NULL, NULL) == 0);
    for (int i = 0; i < 2; i++) p.s[i].keep_data = false;
    uint32_t ch = 0;
    REQUIRE(rtc_pc_create_data_channel(p.s[0].pc, "file", NULL, &ch) == RTC_OK);
    pp_drain_all(&p);
    REQUIRE(pp_negotiate(&p, 0) == 0);
    REQUIRE(pp_run_until(&p, pp_both_connected, NULL, RTC_SEC(10)));
    REQUIRE(pp_run_until(&p, chan_open, NULL, RTC_SEC(5)));

    static uint8_t chunk[CHUNK];
    for (size_t i = 0; i < sizeof chunk; i++) chunk[i] = (uint8_t)(i * 13 + 1);
    uint64_t queued = 0, target = 2u << 20;
    /* move 2 MiB, topping up the sender between steps */
    for (int guard = 0; guard < 200000 && p.s[1].msg_bytes < target; guard++) {
        refill(&p, ch, chunk, &queued);
        if (!pp_step(&p)) break;
    }
    REQUIRE(p.s[1].msg_bytes >= target);
    CHECK(rtc_pc_dc_buffered_amount(p.s[0].pc, ch) > 0); /* mid-transfer */

    /* the peer vanishes: nothing crosses in either direction from now on */
    rtc_time cut_at = p.now;
    p.link[0].cut = p.link[1].cut = true;
    int survivor = 1 - who_vanishes;
    REQUIRE(pp_run_until(&p, failed, &survivor, RTC_SEC(60)));
    rtc_time took = p.now - cut_at;
    fprintf(stderr, "  side %d failed %.1f s after the peer vanished (error %d: %s)\n", survivor,
            (double)took / 1e6, p.s[survivor].fail_error,
            p.s[survivor].fail_what ? p.s[survivor].fail_what : "-");
    /* RFC 7675 §5.1: consent expires 30 s after the last answer; allow the check interval */
    CHECK(took >= RTC_SEC(25) && took <= RTC_SEC(40));
    CHECK_EQ_INT(p.s[survivor].ice, RTC_ICE_STATE_FAILED);
    CHECK_EQ_INT(rtc_pc_connection_state_get(p.s[survivor].pc), RTC_PC_CONNECTION_FAILED);
    /* Like browsers, a failed ICE transport alone does not close the channels (an ICE
    ** restart may still bring the connection back); the association gives up by itself
    ** once its retransmissions are exhausted (RFC 9260 Association.Max.Retrans). */
    pp_side *s = &p.s[survivor];
    uint32_t sch = survivor == 0 ? ch : p.s[1].remote_ch[0];
    err_watch w = {.ch = sch};
    s->on_event = on_ev;
    s->ud = &w;
    rtc_time t_fail = p.now;
    for (int k = 0; k < 60 && s->n_closed == 0; k++) pp_run_for(&p, RTC_SEC(10));
    fprintf(stderr, "  channel closed %.0f s after the failure (closed %d, errors %d)\n",
            (double)(p.now - t_fail) / 1e6, s->n_closed, s->n_errors);
    CHECK(s->n_closed >= 1);
    /* the association failed (retransmissions exhausted): error first, then close */
    CHECK(s->n_errors >= 1);
    CHECK(w.before_close >= 1);
    CHECK(w.sctp_failure >= 1);
    CHECK(rtc_pc_dc_send(s->pc, sch, true, chunk, 10) != RTC_OK);
    /* nothing is sent any more: no retransmission storm toward a dead address */
    uint64_t sent_before = p.link[survivor].sent;
    pp_run_for(&p, RTC_SEC(120));
    CHECK(p.link[survivor].sent - sent_before <= 2);
    rtc_time nt = rtc_pc_next_timeout(s->pc);
    CHECK(nt == RTC_TIME_NEVER || nt > p.now); /* no busy deadline */
    pp_free(&p);
}

static void test_receiver_vanishes(void) { run_vanish(1); }
static void test_sender_vanishes(void) { run_vanish(0); }

int main(void) {
    RUN(test_receiver_vanishes);
    RUN(test_sender_vanishes);
    return TEST_DONE();
}
