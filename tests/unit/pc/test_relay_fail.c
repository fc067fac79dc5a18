/*
** tests/unit/pc/test_relay_fail.c: both connections relay-only through our TURN server core
** over TCP (turn:?transport=tcp). When side 0's relay dies (its TCP stream closes, or the
** stream carries garbage and the TURN client gives up on it) the only pair goes with it:
** the connection must fail at once (well under 1 s of virtual time), not when consent
** expires 30 s later (RFC 7675).
*/
#include "pc_pair.h"
#include "test.h"

static bool side0_failed(pp_pair *p, void *ud) {
    return p->s[0].conn == RTC_PC_CONNECTION_FAILED;
}

/* mode 0: the app reports the stream closed; 1: the server "sends" garbage on it;
** 2: the server ends the allocation (client connection closed on its side) and the stream
** closes. */
static void run(int mode, uint64_t seed) {
    pp_pair p;
    REQUIRE(pp_init_turn(&p, seed, "turn:10.0.0.100:3478?transport=tcp", true) == 0);
    uint32_t ch;
    REQUIRE(rtc_pc_create_data_channel(p.s[0].pc, "relay-fail", NULL, &ch) == RTC_OK);
    REQUIRE(pp_negotiate(&p, 0) == 0);
    REQUIRE(pp_run_until(&p, pp_both_connected, NULL, RTC_SEC(10)));
    int guard = 0;
    while (p.s[0].n_opened < 1 && guard++ < 10000 && pp_step(&p)) {
    }
    REQUIRE(p.s[0].n_opened == 1);
    rtc_pc_stats st;
    rtc_pc_get_stats(p.s[0].pc, &st);
    REQUIRE(st.local_candidate_type == RTC_ICE_CAND_RELAY);
    pp_run_for(&p, RTC_SEC(2)); /* settled: nothing pending */
    REQUIRE(p.s[0].conn == RTC_PC_CONNECTION_CONNECTED);

    rtc_pc *pc0 = p.s[0].pc;
    rtc_time t0 = p.now;
    uint32_t stream = p.s[0].relay_stream.stream;
    if (mode == 0) {
        CHECK_EQ_INT(rtc_pc_relay_stream_closed(pc0, p.now, stream), RTC_OK);
    } else if (mode == 1) {
        static const uint8_t junk[8] = {0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4};
        CHECK_EQ_INT(rtc_pc_relay_stream_input(pc0, p.now, stream, junk, sizeof junk),
                     RTC_ERR_PARSE);
    } else {
        rtc_addr client = p.s[0].addr;
        client.port = (uint16_t)(40000 + stream); /* pc_pair.h: stream bytes come from here */
        rtc_turn_server_client_closed(p.srv, &p.srv_addr, &client);
        CHECK_EQ_INT(rtc_pc_relay_stream_closed(pc0, p.now, stream), RTC_OK);
    }
    pp_drain_all(&p);
    CHECK(pp_run_until(&p, side0_failed, NULL, RTC_SEC(1)));
    CHECK(p.now - t0 < RTC_SEC(1));
    CHECK_EQ_INT(p.s[0].conn, RTC_PC_CONNECTION_FAILED);
    CHECK_EQ_INT(p.s[0].ice, RTC_ICE_STATE_FAILED);
    pp_free(&p);
}

static void test_stream_closed(void) { run(0, 31); }
static void test_stream_garbage(void) { run(1, 32); }
static void test_server_dropped_allocation(void) { run(2, 33); }

int main(void) {
    RUN(test_stream_closed);
    RUN(test_stream_garbage);
    RUN(test_server_dropped_allocation);
    return TEST_DONE();
}
