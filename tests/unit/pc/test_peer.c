/*
** tests/unit/pc/test_peer.c: two rtc_peer (callback API) on one rtc_loop over real UDP
** sockets on 127.0.0.1: offer/answer with trickle done from the callbacks, a channel
** each way, messages, then a peer frees itself from inside its own callback. Callbacks
** must never run inside an rtc_peer_* call (checked with an "in call" flag).
*/
#include <stdio.h>
#include <string.h>

#include "cwebrtc/net.h"
#include "cwebrtc/peer.h"
#include "test.h"

typedef struct side {
    rtc_peer *p;
    struct side *other;
    int in_call; /* > 0 while the test is inside an rtc_peer_* call on this side */
    int reentrant_callbacks;
    int connected, opened, remote_channels, msgs, closed;
    uint32_t remote_ch;
    char last[64];
    bool free_on_message;
    bool freed;
} side;

static int g_pending_answer;

#define CALL(s, expr) ((s)->in_call++, (expr), (s)->in_call--)

static void check_ctx(side *s) {
    if (s->in_call) s->reentrant_callbacks++;
}

static void on_cand(rtc_peer *p, const char *c, const char *mid, int idx, void *ud) {
    side *s = ud;
    check_ctx(s);
    if (c[0]) rtc_peer_add_ice_candidate(s->other->p, c, mid, idx);
}

static void on_conn(rtc_peer *p, int st, int err, const char *what, void *ud) {
    side *s = ud;
    check_ctx(s);
    if (st == RTC_PC_CONNECTION_CONNECTED) s->connected++;
}

static void on_dc(rtc_peer *p, uint32_t ch, const rtc_pc_dc_info *info, void *ud) {
    side *s = ud;
    check_ctx(s);
    s->remote_channels++;
    s->remote_ch = ch;
}

static void on_open(rtc_peer *p, uint32_t ch, void *ud) {
    side *s = ud;
    check_ctx(s);
    s->opened++;
    /* answer from inside the callback: allowed */
    rtc_peer_send(p, ch, false, (const uint8_t *)"hi from open", 12);
}

static void on_msg(rtc_peer *p, uint32_t ch, bool bin, const uint8_t *d, size_t len, void *ud) {
    side *s = ud;
    check_ctx(s);
    s->msgs++;
    snprintf(s->last, sizeof s->last, "%.*s", (int)len, (const char *)d);
    if (s->free_on_message && !s->freed) {
        s->freed = true;
        rtc_peer_free(p); /* deferred until this callback returns */
    }
}

static void on_close(rtc_peer *p, uint32_t ch, void *ud) {
    side *s = ud;
    check_ctx(s);
    s->closed++;
}

static void test_two_peers(void) {
    rtc_loop *loop = NULL;
    REQUIRE(rtc_loop_new(&loop, NULL) == RTC_OK);
    side s[2];
    memset(s, 0, sizeof s);
    s[0].other = &s[1];
    s[1].other = &s[0];
    for (int i = 0; i < 2; i++) {
        rtc_peer_callbacks cb = {.on_ice_candidate = on_cand,
                                 .on_connection_state_change = on_conn,
                                 .on_data_channel = on_dc,
                                 .on_open = on_open,
                                 .on_message = on_msg,
                                 .on_close = on_close,
                                 .ud = &s[i]};
        rtc_peer_config cfg;
        memset(&cfg, 0, sizeof cfg);
        rtc_addr_parse(&cfg.bind, "127.0.0.1", 0);
        REQUIRE(rtc_peer_new(&s[i].p, loop, &cfg, &cb, NULL) == RTC_OK);
    }
    uint32_t ch = 0;
    int rc;
    CALL(&s[0], rc = rtc_peer_create_data_channel(s[0].p, "loop", NULL, &ch));
    REQUIRE(rc == RTC_OK);
    static char offer[8192], answer[8192];
    CALL(&s[0], rc = rtc_peer_create_offer(s[0].p, offer, sizeof offer));
    REQUIRE(rc > 0);
    CALL(&s[0], rc = rtc_peer_set_local_description(s[0].p, RTC_PC_SDP_OFFER, NULL));
    REQUIRE(rc == RTC_OK);
    CALL(&s[1], rc = rtc_peer_set_remote_description(s[1].p, RTC_PC_SDP_OFFER, offer, strlen(offer)));
    REQUIRE(rc == RTC_OK);
    CALL(&s[1], rc = rtc_peer_create_answer(s[1].p, answer, sizeof answer));
    REQUIRE(rc > 0);
    CALL(&s[1], rc = rtc_peer_set_local_description(s[1].p, RTC_PC_SDP_ANSWER, NULL));
    REQUIRE(rc == RTC_OK);
    CALL(&s[0], rc = rtc_peer_set_remote_description(s[0].p, RTC_PC_SDP_ANSWER, answer, strlen(answer)));
    REQUIRE(rc == RTC_OK);
    (void)g_pending_answer;
    rtc_time end = rtc_net_now() + RTC_SEC(10);
    while (rtc_net_now() < end && !(s[0].msgs >= 1 && s[1].msgs >= 1))
        rtc_loop_run_once(loop, RTC_MS(50));
    CHECK_EQ_INT(s[0].connected, 1);
    CHECK_EQ_INT(s[1].connected, 1);
    CHECK_EQ_INT(s[1].remote_channels, 1);
    CHECK(s[0].opened == 1 && s[1].opened == 1);
    CHECK_STR(s[0].last, "hi from open");
    CHECK_STR(s[1].last, "hi from open");
    rtc_pc_stats st;
    rtc_peer_get_stats(s[0].p, &st);
    CHECK(st.has_selected_pair && rtc_addr_is_loopback(&st.remote_address));
    /* side 1 frees itself from inside on_message */
    s[1].free_on_message = true;
    CALL(&s[0], rc = rtc_peer_send(s[0].p, ch, false, (const uint8_t *)"bye", 3));
    CHECK_EQ_INT(rc, RTC_OK);
    end = rtc_net_now() + RTC_SEC(5);
    while (rtc_net_now() < end && !s[1].freed) rtc_loop_run_once(loop, RTC_MS(50));
    CHECK(s[1].freed);
    CHECK_STR(s[1].last, "bye");
    /* side 0 learns of it (close_notify): the connection closes */
    end = rtc_net_now() + RTC_SEC(2);
    while (rtc_net_now() < end && rtc_pc_connection_state_get(rtc_peer_pc(s[0].p)) !=
                                      RTC_PC_CONNECTION_CLOSED)
        rtc_loop_run_once(loop, RTC_MS(50));
    CHECK_EQ_INT(rtc_pc_connection_state_get(rtc_peer_pc(s[0].p)), RTC_PC_CONNECTION_CLOSED);
    CHECK_EQ_INT(s[0].reentrant_callbacks, 0);
    CHECK_EQ_INT(s[1].reentrant_callbacks, 0);
    rtc_peer_free(s[0].p);
    rtc_loop_free(loop);
}

int main(void) {
    RUN(test_two_peers);
    return TEST_DONE();
}
