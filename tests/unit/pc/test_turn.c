/*
** tests/unit/pc/test_turn.c: both connections with iceTransportPolicy "relay" and a
** turn: server (our own TURN server core, in the same virtual network): allocations,
** permissions, channel binding, DTLS and a data channel all through the relay. Then the
** same over TCP and "TLS" (turn:?transport=tcp, turns:): the core asks for the stream with
** RTC_PC_EV_RELAY_STREAM before any byte of it, its transmits carry the stream id, and the
** harness feeds the server's bytes back through rtc_pc_relay_stream_input (also in 3-byte
** pieces); bad stream input is refused without harm; a stream that closes or carries
** garbage takes the relay (and with it the only pair) down.
*/
#include "pc_pair.h"
#include "test.h"

static bool done(pp_pair *p, void *ud) {
    return p->s[0].n_opened >= 1 && p->s[1].n_opened >= 1 && p->s[1].nmsgs >= 1;
}

static void run(bool relay_policy, uint64_t seed) {
    pp_pair p;
    REQUIRE(pp_init_turn(&p, seed, "turn:10.0.0.100:3478", relay_policy) == 0);
    uint32_t ch;
    REQUIRE(rtc_pc_create_data_channel(p.s[0].pc, "via-turn", NULL, &ch) == RTC_OK);
    REQUIRE(pp_negotiate(&p, 0) == 0);
    REQUIRE(pp_run_until(&p, pp_both_connected, NULL, RTC_SEC(10)));
    int guard = 0;
    while (p.s[0].n_opened < 1 && guard++ < 10000 && pp_step(&p)) {
    }
    REQUIRE(rtc_pc_dc_send(p.s[0].pc, ch, true, (const uint8_t *)"relayed", 7) == RTC_OK);
    pp_drain_all(&p);
    CHECK(pp_run_until(&p, done, NULL, RTC_SEC(10)));
    CHECK(p.s[1].nmsgs == 1 && p.s[1].msgs[0].len == 7 &&
          memcmp(p.s[1].msgs[0].data, "relayed", 7) == 0);
    for (int i = 0; i < 2; i++) {
        bool relay_cand = false, host_cand = false;
        for (int c = 0; c < p.s[i].ncands; c++) {
            if (strstr(p.s[i].cands[c], "typ relay")) relay_cand = true;
            if (strstr(p.s[i].cands[c], "typ host")) host_cand = true;
        }
        CHECK(relay_cand);
        CHECK(host_cand != relay_policy);
    }
    rtc_pc_stats st;
    rtc_pc_get_stats(p.s[0].pc, &st);
    if (relay_policy) {
        CHECK_EQ_INT(st.local_candidate_type, RTC_ICE_CAND_RELAY);
        CHECK(rtc_addr_equal_ip(&st.remote_address, &p.srv_addr)); /* the peer's relayed address */
    }
    rtc_pc_close(p.s[0].pc);
    pp_drain_all(&p);
    pp_run_for(&p, RTC_SEC(1));
    CHECK_EQ_INT(p.s[1].conn, RTC_PC_CONNECTION_CLOSED); /* close_notify went through the relay */
    pp_free(&p);
}

/* TURN over a stream. mode 0: TCP; 1: turns: with server bytes in 3-byte pieces;
** 2: TCP, then the stream closes; 3: TCP, then garbage on the stream. */
static void run_stream(int mode, uint64_t seed) {
    pp_pair p;
    REQUIRE(pp_init_turn(&p, seed,
                         mode == 1 ? "turns:10.0.0.100:3478" : "turn:10.0.0.100:3478?transport=tcp",
                         true) == 0);
    if (mode == 1) p.s[0].stream_chunk = p.s[1].stream_chunk = 3;
    uint32_t ch;
    REQUIRE(rtc_pc_create_data_channel(p.s[0].pc, "via-turn-tcp", NULL, &ch) == RTC_OK);
    REQUIRE(pp_negotiate(&p, 0) == 0);
    REQUIRE(pp_run_until(&p, pp_both_connected, NULL, RTC_SEC(10)));
    int guard = 0;
    while (p.s[0].n_opened < 1 && guard++ < 10000 && pp_step(&p)) {
    }
    REQUIRE(rtc_pc_dc_send(p.s[0].pc, ch, true, (const uint8_t *)"relayed", 7) == RTC_OK);
    pp_drain_all(&p);
    CHECK(pp_run_until(&p, done, NULL, RTC_SEC(10)));
    for (int i = 0; i < 2; i++) {
        pp_side *s = &p.s[i];
        CHECK_EQ_INT(s->n_relay_streams, 1);
        CHECK_EQ_INT(s->stream_tx_before_event, 0);
        CHECK_EQ_INT((int)s->relay_stream.stream, 1);
        CHECK(s->relay_stream.tls == (mode == 1));
        CHECK(rtc_addr_equal(&s->relay_stream.address, &p.srv_addr));
        CHECK(strcmp(s->relay_stream_name, "10.0.0.100") == 0);
        rtc_pc_stats st;
        rtc_pc_get_stats(s->pc, &st);
        CHECK_EQ_INT(st.local_candidate_type, RTC_ICE_CAND_RELAY);
        CHECK_EQ_INT(st.remote_candidate_type, RTC_ICE_CAND_RELAY);
        CHECK(st.relay_protocol && strcmp(st.relay_protocol, mode == 1 ? "tls" : "tcp") == 0);
        static char json[32768];
        CHECK(rtc_pc_get_stats_json(s->pc, json, sizeof json) > 0);
        CHECK(strstr(json, mode == 1 ? "\"relayProtocol\":\"tls\"" : "\"relayProtocol\":\"tcp\"") != NULL);
    }
    /* bad calls: unknown ids, NULL data; none of them harms the connection */
    rtc_pc *pc0 = p.s[0].pc;
    CHECK_EQ_INT(rtc_pc_relay_stream_input(pc0, p.now, 0, (const uint8_t *)"x", 1), RTC_ERR_NOT_FOUND);
    CHECK_EQ_INT(rtc_pc_relay_stream_input(pc0, p.now, 2, (const uint8_t *)"x", 1), RTC_ERR_NOT_FOUND);
    CHECK_EQ_INT(rtc_pc_relay_stream_input(pc0, p.now, 1, NULL, 5), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_pc_relay_stream_input(NULL, p.now, 1, NULL, 0), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_pc_relay_stream_closed(pc0, p.now, 9), RTC_ERR_NOT_FOUND);
    CHECK_EQ_INT(rtc_pc_relay_stream_closed(NULL, p.now, 1), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_pc_relay_stream_input(pc0, p.now, 1, (const uint8_t *)"", 0), RTC_OK);
    if (mode >= 2) {
        static const uint8_t junk[8] = {0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4};
        if (mode == 2) CHECK_EQ_INT(rtc_pc_relay_stream_closed(pc0, p.now, 1), RTC_OK);
        else CHECK_EQ_INT(rtc_pc_relay_stream_input(pc0, p.now, 1, junk, sizeof junk), RTC_ERR_PARSE);
        pp_drain_all(&p);
        /* The relay is gone, and with it the only (selected) pair: the connection fails
        ** at once (test_relay_fail.c checks the cases in detail), not 30 s later when
        ** consent would expire. */
        rtc_time t0 = p.now;
        for (int k = 0; k < 40 && p.s[0].conn != RTC_PC_CONNECTION_FAILED; k++) pp_run_for(&p, RTC_MS(25));
        CHECK_EQ_INT(p.s[0].conn, RTC_PC_CONNECTION_FAILED);
        CHECK(p.now - t0 <= RTC_SEC(1));
        rtc_pc_stats st;
        rtc_pc_get_stats(pc0, &st);
        CHECK(st.dropped_packets > 0 || mode == 2);
    } else {
        rtc_pc_close(p.s[0].pc);
        pp_drain_all(&p);
        pp_run_for(&p, RTC_SEC(1));
        CHECK_EQ_INT(p.s[1].conn, RTC_PC_CONNECTION_CLOSED); /* close_notify over the streams */
    }
    pp_free(&p);
}

static void test_relay_only(void) { run(true, 11); }
static void test_relay_tcp(void) { run_stream(0, 21); }
static void test_relay_tls_split(void) { run_stream(1, 22); }
static void test_relay_stream_closed(void) { run_stream(2, 23); }
static void test_relay_stream_garbage(void) { run_stream(3, 24); }
static void test_relay_and_host(void) { run(false, 12); }

int main(void) {
    RUN(test_relay_only);
    RUN(test_relay_and_host);
    RUN(test_relay_tcp);
    RUN(test_relay_tls_split);
    RUN(test_relay_stream_closed);
    RUN(test_relay_stream_garbage);
    return TEST_DONE();
}
