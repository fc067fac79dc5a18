/*
** tests/unit/pc/test_connect.c: two peer connections in one process, virtual time:
** offer/answer with trickle, ICE, DTLS, SCTP, data channels both ways, messages of every
** size, close; a wrong fingerprint; renegotiation keeping the DTLS role; early DTLS.
*/
#include "pc_pair.h"
#include "test.h"

static bool chan_open(pp_pair *p, void *ud) {
    int *want = ud; /* want[0] opened on side 0, want[1] on side 1 */
    return p->s[0].n_opened >= want[0] && p->s[1].n_opened >= want[1];
}

static bool msgs_at(pp_pair *p, void *ud) {
    int *want = ud;
    return p->s[0].nmsgs >= want[0] && p->s[1].nmsgs >= want[1];
}

static bool closed_both(pp_pair *p, void *ud) {
    int *want = ud;
    return p->s[0].n_closed >= want[0] && p->s[1].n_closed >= want[1];
}

static void test_connect_and_talk(void) {
    pp_pair p;
    REQUIRE(pp_init(&p, 1, NULL, NULL) == 0);
    uint32_t ch = 0;
    rtc_pc_dc_init init;
    rtc_pc_dc_init_default(&init);
    init.protocol = "chat-v1";
    REQUIRE(rtc_pc_create_data_channel(p.s[0].pc, "chat", &init, &ch) == RTC_OK);
    CHECK(ch > 0);
    rtc_pc_dc_info info;
    REQUIRE(rtc_pc_dc_get_info(p.s[0].pc, ch, &info) == RTC_OK);
    CHECK_EQ_INT(info.id, -1); /* unknown before the DTLS role */
    CHECK_STR(info.label, "chat");
    pp_drain_all(&p);
    CHECK_EQ_INT(p.s[0].nn, 1);

    REQUIRE(pp_negotiate(&p, 0) == 0);
    CHECK_EQ_INT(rtc_pc_signaling_state_get(p.s[0].pc), RTC_PC_SIGNALING_STABLE);
    CHECK_EQ_INT(rtc_pc_signaling_state_get(p.s[1].pc), RTC_PC_SIGNALING_STABLE);
    /* answerer says active: it is the DTLS client */
    CHECK_EQ_INT(rtc_pc_dtls_role(p.s[0].pc), RTC_DTLS_ROLE_SERVER);
    CHECK_EQ_INT(rtc_pc_dtls_role(p.s[1].pc), RTC_DTLS_ROLE_CLIENT);
    CHECK(p.s[0].ncands >= 1 && p.s[1].ncands >= 1);

    rtc_time t0 = p.now;
    REQUIRE(pp_run_until(&p, pp_both_connected, NULL, RTC_SEC(10)));
    fprintf(stderr, "  connected after %.1f ms virtual\n", (double)(p.now - t0) / 1000.0);
    int want[2] = {1, 1};
    REQUIRE(pp_run_until(&p, chan_open, want, RTC_SEC(5)));
    CHECK_EQ_INT(p.s[1].n_remote_ch, 1);
    CHECK_STR(p.s[1].remote_label[0], "chat");
    uint32_t bch = p.s[1].remote_ch[0];
    REQUIRE(rtc_pc_dc_get_info(p.s[1].pc, bch, &info) == RTC_OK);
    CHECK_STR(info.protocol, "chat-v1");
    CHECK_EQ_INT(info.id % 2, 1); /* created by the DTLS server: odd */
    CHECK(p.s[0].gather == RTC_ICE_GATHERING_COMPLETE);
    CHECK(p.s[0].end_of_candidates);

    /* text, binary, empty, large; both directions */
    static uint8_t big[200000];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 7 + 3);
    CHECK_EQ_INT(rtc_pc_dc_send(p.s[0].pc, ch, false, (const uint8_t *)"hello", 5), RTC_OK);
    CHECK_EQ_INT(rtc_pc_dc_send(p.s[0].pc, ch, true, (const uint8_t *)"\x00\x01\x02", 3), RTC_OK);
    CHECK_EQ_INT(rtc_pc_dc_send(p.s[0].pc, ch, false, NULL, 0), RTC_OK);
    CHECK_EQ_INT(rtc_pc_dc_send(p.s[0].pc, ch, true, NULL, 0), RTC_OK);
    CHECK_EQ_INT(rtc_pc_dc_send(p.s[0].pc, ch, true, big, sizeof big), RTC_OK);
    CHECK_EQ_INT(rtc_pc_dc_send(p.s[1].pc, bch, false, (const uint8_t *)"world", 5), RTC_OK);
    /* over the max message size (256 KiB): refused, channel stays open */
    static uint8_t huge[262145];
    CHECK_EQ_INT(rtc_pc_dc_send(p.s[1].pc, bch, true, huge, sizeof huge), RTC_ERR_TOO_SMALL);
    pp_drain_all(&p);
    int wm[2] = {1, 5};
    REQUIRE(pp_run_until(&p, msgs_at, wm, RTC_SEC(10)));
    pp_side *b = &p.s[1];
    CHECK(b->msgs[0].channel == bch && !b->msgs[0].binary && b->msgs[0].len == 5 &&
          memcmp(b->msgs[0].data, "hello", 5) == 0);
    CHECK(b->msgs[1].binary && b->msgs[1].len == 3 && memcmp(b->msgs[1].data, "\0\1\2", 3) == 0);
    CHECK(!b->msgs[2].binary && b->msgs[2].len == 0);
    CHECK(b->msgs[3].binary && b->msgs[3].len == 0);
    CHECK(b->msgs[4].binary && b->msgs[4].len == sizeof big &&
          memcmp(b->msgs[4].data, big, sizeof big) == 0);
    CHECK(p.s[0].msgs[0].channel == ch && p.s[0].msgs[0].len == 5 &&
          memcmp(p.s[0].msgs[0].data, "world", 5) == 0);

    /* a channel from the other side, unordered and partially reliable */
    uint32_t ch2 = 0;
    rtc_pc_dc_init_default(&init);
    init.ordered = false;
    init.max_retransmits = 0;
    REQUIRE(rtc_pc_create_data_channel(p.s[1].pc, "fast", &init, &ch2) == RTC_OK);
    pp_drain_all(&p);
    CHECK_EQ_INT(p.s[1].nn, 0); /* the data section exists: no renegotiation */
    int want2[2] = {2, 2};
    REQUIRE(pp_run_until(&p, chan_open, want2, RTC_SEC(5)));
    CHECK_EQ_INT(p.s[0].n_remote_ch, 1);
    CHECK_STR(p.s[0].remote_label[0], "fast");
    REQUIRE(rtc_pc_dc_get_info(p.s[0].pc, p.s[0].remote_ch[0], &info) == RTC_OK);
    CHECK(!info.ordered && info.max_retransmits == 0);
    CHECK_EQ_INT(info.id % 2, 0); /* created by the DTLS client: even */

    /* negotiated channel with id 7 on both sides */
    uint32_t n0 = 0, n1 = 0;
    rtc_pc_dc_init_default(&init);
    init.negotiated = true;
    init.id = 7;
    REQUIRE(rtc_pc_create_data_channel(p.s[0].pc, "neg", &init, &n0) == RTC_OK);
    REQUIRE(rtc_pc_create_data_channel(p.s[1].pc, "neg", &init, &n1) == RTC_OK);
    CHECK_EQ_INT(rtc_pc_create_data_channel(p.s[1].pc, "dup", &init, NULL), RTC_ERR_MISUSE);
    pp_drain_all(&p);
    int want3[2] = {3, 3};
    REQUIRE(pp_run_until(&p, chan_open, want3, RTC_SEC(5)));
    CHECK_EQ_INT(rtc_pc_dc_send(p.s[1].pc, n1, false, (const uint8_t *)"seven", 5), RTC_OK);
    pp_drain_all(&p);
    int wm2[2] = {2, 5};
    REQUIRE(pp_run_until(&p, msgs_at, wm2, RTC_SEC(5)));
    CHECK(p.s[0].msgs[1].channel == n0 && p.s[0].msgs[1].len == 5);

    /* stats */
    rtc_pc_stats st;
    rtc_pc_get_stats(p.s[0].pc, &st);
    CHECK(st.has_selected_pair);
    CHECK(rtc_addr_equal(&st.remote_address, &p.s[1].addr));
    CHECK_EQ_INT(st.dtls_state, RTC_DTLS_STATE_CONNECTED);
    CHECK_EQ_INT(st.data_channels_opened, 3);
    CHECK(st.messages_sent == 5 && st.messages_received == 2);
    CHECK(st.remote_fingerprint[0] != 0 && strncmp(st.remote_fingerprint, "sha-256 ", 8) == 0);

    /* close from side 0: both sides see close */
    REQUIRE(rtc_pc_dc_close(p.s[0].pc, ch) == RTC_OK);
    CHECK_EQ_INT(rtc_pc_dc_send(p.s[0].pc, ch, false, (const uint8_t *)"x", 1), RTC_ERR_MISUSE);
    pp_drain_all(&p);
    int wc[2] = {1, 1};
    REQUIRE(pp_run_until(&p, closed_both, wc, RTC_SEC(5)));
    CHECK(p.s[0].closed[0] == ch && p.s[1].closed[0] == bch);
    CHECK_EQ_INT(rtc_pc_dc_get_info(p.s[0].pc, ch, &info), RTC_ERR_NOT_FOUND);
    /* the other channels still work */
    CHECK_EQ_INT(rtc_pc_dc_send(p.s[0].pc, n0, true, (const uint8_t *)"ok", 2), RTC_OK);
    pp_drain_all(&p);
    int wm3[2] = {2, 6};
    CHECK(pp_run_until(&p, msgs_at, wm3, RTC_SEC(5)));

    /* close the connection: the peer learns it (DTLS close_notify) */
    rtc_pc_close(p.s[0].pc);
    pp_drain_all(&p);
    pp_run_for(&p, RTC_SEC(1));
    CHECK_EQ_INT(rtc_pc_connection_state_get(p.s[0].pc), RTC_PC_CONNECTION_CLOSED);
    CHECK_EQ_INT(p.s[1].conn, RTC_PC_CONNECTION_CLOSED);
    pp_free(&p);
}

/* A description whose fingerprint is not the certificate's: DTLS fails clearly. */
static void test_wrong_fingerprint(void) {
    pp_pair p;
    REQUIRE(pp_init(&p, 2, NULL, NULL) == 0);
    REQUIRE(rtc_pc_create_data_channel(p.s[0].pc, "x", NULL, NULL) == RTC_OK);
    static char offer[8192], answer[8192];
    pp_tick(&p);
    REQUIRE(rtc_pc_create_offer(p.s[0].pc, offer, sizeof offer) > 0);
    REQUIRE(rtc_pc_set_local_description(p.s[0].pc, RTC_PC_SDP_OFFER, NULL) == RTC_OK);
    REQUIRE(rtc_pc_set_remote_description(p.s[1].pc, RTC_PC_SDP_OFFER, offer, strlen(offer)) == 0);
    p.s[1].has_remote = true;
    REQUIRE(rtc_pc_create_answer(p.s[1].pc, answer, sizeof answer) > 0);
    REQUIRE(rtc_pc_set_local_description(p.s[1].pc, RTC_PC_SDP_ANSWER, NULL) == RTC_OK);
    /* flip one hex digit of the answer's fingerprint */
    char *fp = strstr(answer, "a=fingerprint:sha-256 ");
    REQUIRE(fp);
    char *d = fp + strlen("a=fingerprint:sha-256 ");
    *d = *d == 'A' ? 'B' : 'A';
    REQUIRE(rtc_pc_set_remote_description(p.s[0].pc, RTC_PC_SDP_ANSWER, answer, strlen(answer)) == 0);
    p.s[0].has_remote = true;
    pp_drain_all(&p);
    pp_run_for(&p, RTC_SEC(5));
    CHECK_EQ_INT(p.s[0].conn, RTC_PC_CONNECTION_FAILED);
    CHECK_EQ_INT(p.s[0].fail_error, RTC_ERR_AUTH);
    CHECK(p.s[0].fail_what && strstr(p.s[0].fail_what, "fingerprint"));
    CHECK(p.s[1].conn != RTC_PC_CONNECTION_CONNECTED || p.s[1].n_opened == 0);
    CHECK_EQ_INT(p.s[0].n_opened, 0);
    pp_free(&p);
}

/* Re-offers from either side keep the DTLS role and the association. */
static void test_renegotiation(void) {
    pp_pair p;
    REQUIRE(pp_init(&p, 3, NULL, NULL) == 0);
    uint32_t ch;
    REQUIRE(rtc_pc_create_data_channel(p.s[0].pc, "a", NULL, &ch) == RTC_OK);
    REQUIRE(pp_negotiate(&p, 0) == 0);
    int want[2] = {1, 1};
    REQUIRE(pp_run_until(&p, chan_open, want, RTC_SEC(10)));
    int r0 = rtc_pc_dtls_role(p.s[0].pc), r1 = rtc_pc_dtls_role(p.s[1].pc);
    CHECK(r0 != r1 && r0 >= 0 && r1 >= 0);
    /* the answerer (DTLS client) re-offers: its offer says actpass, the answer must keep
    ** side 0 the server (setup:passive) */
    static char offer[8192], answer[8192];
    pp_tick(&p);
    REQUIRE(rtc_pc_create_offer(p.s[1].pc, offer, sizeof offer) > 0);
    CHECK(strstr(offer, "a=setup:actpass") != NULL);
    REQUIRE(rtc_pc_set_local_description(p.s[1].pc, RTC_PC_SDP_OFFER, offer) == RTC_OK);
    REQUIRE(rtc_pc_set_remote_description(p.s[0].pc, RTC_PC_SDP_OFFER, offer, strlen(offer)) == 0);
    REQUIRE(rtc_pc_create_answer(p.s[0].pc, answer, sizeof answer) > 0);
    CHECK(strstr(answer, "a=setup:passive") != NULL);
    REQUIRE(rtc_pc_set_local_description(p.s[0].pc, RTC_PC_SDP_ANSWER, NULL) == RTC_OK);
    REQUIRE(rtc_pc_set_remote_description(p.s[1].pc, RTC_PC_SDP_ANSWER, answer, strlen(answer)) == 0);
    CHECK_EQ_INT(rtc_pc_dtls_role(p.s[0].pc), r0);
    CHECK_EQ_INT(rtc_pc_dtls_role(p.s[1].pc), r1);
    /* and the original offerer again */
    REQUIRE(pp_negotiate(&p, 0) == 0);
    CHECK_EQ_INT(rtc_pc_dtls_role(p.s[0].pc), r0);
    CHECK_EQ_INT(rtc_pc_dtls_role(p.s[1].pc), r1);
    /* a re-answer that flips the role is refused */
    pp_tick(&p);
    REQUIRE(rtc_pc_create_offer(p.s[0].pc, offer, sizeof offer) > 0);
    REQUIRE(rtc_pc_set_local_description(p.s[0].pc, RTC_PC_SDP_OFFER, NULL) == RTC_OK);
    REQUIRE(rtc_pc_set_remote_description(p.s[1].pc, RTC_PC_SDP_OFFER, offer, strlen(offer)) == 0);
    REQUIRE(rtc_pc_create_answer(p.s[1].pc, answer, sizeof answer) > 0);
    char *su = strstr(answer, "a=setup:active\r\n");
    REQUIRE(su);
    static char flipped[8192];
    snprintf(flipped, sizeof flipped, "%.*sa=setup:passive\r\n%s", (int)(su - answer), answer,
             su + strlen("a=setup:active\r\n"));
    memcpy(answer, flipped, strlen(flipped) + 1);
    CHECK_EQ_INT(rtc_pc_set_remote_description(p.s[0].pc, RTC_PC_SDP_ANSWER, answer, strlen(answer)),
                 RTC_ERR_INVALID);
    CHECK(strstr(rtc_pc_last_error(p.s[0].pc), "DTLS role") != NULL);
    CHECK_EQ_INT(rtc_pc_signaling_state_get(p.s[0].pc), RTC_PC_SIGNALING_HAVE_LOCAL_OFFER);
    REQUIRE(rtc_pc_set_local_description(p.s[0].pc, RTC_PC_SDP_ROLLBACK, NULL) == RTC_OK);
    REQUIRE(rtc_pc_set_remote_description(p.s[1].pc, RTC_PC_SDP_ROLLBACK, NULL, 0) == RTC_OK);
    /* the data still flows after all that */
    pp_drain_all(&p);
    CHECK_EQ_INT(rtc_pc_dc_send(p.s[0].pc, ch, false, (const uint8_t *)"after", 5), RTC_OK);
    pp_drain_all(&p);
    int wm[2] = {0, 1};
    CHECK(pp_run_until(&p, msgs_at, wm, RTC_SEC(5)));
    CHECK_EQ_INT(p.s[0].conn, RTC_PC_CONNECTION_CONNECTED);
    pp_free(&p);
}

/* Glare: both offer; one rolls back and answers. */
static void test_glare_rollback(void) {
    pp_pair p;
    REQUIRE(pp_init(&p, 4, NULL, NULL) == 0);
    REQUIRE(rtc_pc_create_data_channel(p.s[0].pc, "g0", NULL, NULL) == RTC_OK);
    REQUIRE(rtc_pc_create_data_channel(p.s[1].pc, "g1", NULL, NULL) == RTC_OK);
    static char o0[8192], o1[8192];
    pp_tick(&p);
    REQUIRE(rtc_pc_create_offer(p.s[0].pc, o0, sizeof o0) > 0);
    REQUIRE(rtc_pc_create_offer(p.s[1].pc, o1, sizeof o1) > 0);
    REQUIRE(rtc_pc_set_local_description(p.s[0].pc, RTC_PC_SDP_OFFER, NULL) == RTC_OK);
    REQUIRE(rtc_pc_set_local_description(p.s[1].pc, RTC_PC_SDP_OFFER, NULL) == RTC_OK);
    CHECK_EQ_INT(rtc_pc_set_remote_description(p.s[1].pc, RTC_PC_SDP_OFFER, o0, strlen(o0)),
                 RTC_ERR_MISUSE);
    CHECK(strstr(rtc_pc_last_error(p.s[1].pc), "have-local-offer") != NULL);
    /* side 1 is "polite": rolls back, then answers */
    REQUIRE(rtc_pc_set_local_description(p.s[1].pc, RTC_PC_SDP_ROLLBACK, NULL) == RTC_OK);
    CHECK_EQ_INT(rtc_pc_signaling_state_get(p.s[1].pc), RTC_PC_SIGNALING_STABLE);
    REQUIRE(rtc_pc_set_remote_description(p.s[1].pc, RTC_PC_SDP_OFFER, o0, strlen(o0)) == RTC_OK);
    p.s[1].has_remote = true;
    static char ans[8192];
    REQUIRE(rtc_pc_create_answer(p.s[1].pc, ans, sizeof ans) > 0);
    REQUIRE(rtc_pc_set_local_description(p.s[1].pc, RTC_PC_SDP_ANSWER, NULL) == RTC_OK);
    REQUIRE(rtc_pc_set_remote_description(p.s[0].pc, RTC_PC_SDP_ANSWER, ans, strlen(ans)) == RTC_OK);
    p.s[0].has_remote = true;
    pp_drain_all(&p);
    int want[2] = {2, 2};
    REQUIRE(pp_run_until(&p, chan_open, want, RTC_SEC(10)));
    CHECK_EQ_INT(p.s[0].n_remote_ch, 1);
    CHECK_EQ_INT(p.s[1].n_remote_ch, 1);
    CHECK_STR(p.s[0].remote_label[0], "g1");
    CHECK_STR(p.s[1].remote_label[0], "g0");
    pp_free(&p);
}

/* The answer is held back: the answerer's DTLS ClientHello reaches the offerer first. */
static void test_early_dtls(void) {
    pp_pair p;
    REQUIRE(pp_init(&p, 5, NULL, NULL) == 0);
    REQUIRE(rtc_pc_create_data_channel(p.s[0].pc, "e", NULL, NULL) == RTC_OK);
    static char offer[8192], answer[8192];
    pp_tick(&p);
    REQUIRE(rtc_pc_create_offer(p.s[0].pc, offer, sizeof offer) > 0);
    REQUIRE(rtc_pc_set_local_description(p.s[0].pc, RTC_PC_SDP_OFFER, NULL) == RTC_OK);
    REQUIRE(rtc_pc_set_remote_description(p.s[1].pc, RTC_PC_SDP_OFFER, offer, strlen(offer)) == 0);
    p.s[1].has_remote = true;
    REQUIRE(rtc_pc_create_answer(p.s[1].pc, answer, sizeof answer) > 0);
    REQUIRE(rtc_pc_set_local_description(p.s[1].pc, RTC_PC_SDP_ANSWER, NULL) == RTC_OK);
    pp_drain_all(&p);
    pp_run_for(&p, RTC_SEC(2));
    /* Our controlled agent starts DTLS only on the nominated pair, so a real early
    ** ClientHello comes from browsers; inject DTLS-looking datagrams instead to check the
    ** bounded buffer (16 datagrams) and that they are consumed without harm later. */
    uint8_t junk[100];
    memset(junk, 0xEE, sizeof junk);
    junk[0] = 22;
    for (int i = 0; i < 20; i++)
        CHECK_EQ_INT(rtc_pc_handle_packet(p.s[0].pc, p.now, &p.s[1].addr, &p.s[0].addr, junk,
                                          sizeof junk), RTC_OK);
    rtc_pc_stats st;
    rtc_pc_get_stats(p.s[0].pc, &st);
    CHECK_EQ_INT(st.early_dtls_buffered, 16);
    CHECK_EQ_INT(st.early_dtls_dropped, 4);
    pp_tick(&p);
    REQUIRE(rtc_pc_set_remote_description(p.s[0].pc, RTC_PC_SDP_ANSWER, answer, strlen(answer)) == 0);
    p.s[0].has_remote = true;
    pp_drain_all(&p);
    int want[2] = {1, 1};
    CHECK(pp_run_until(&p, chan_open, want, RTC_SEC(10)));
    pp_free(&p);
}

static bool low_seen(pp_pair *p, void *ud) { return p->s[0].n_low > *(int *)ud; }

/* bufferedAmount, bufferedAmountLowThreshold and its event; a channel closed before it
** reached the wire; rtc_pc_accepts on a shared socket. */
static void test_buffered_and_misc(void) {
    pp_pair p;
    REQUIRE(pp_init(&p, 6, NULL, NULL) == 0);
    p.s[1].keep_data = false;
    uint32_t gone = 0, ch = 0;
    REQUIRE(rtc_pc_create_data_channel(p.s[0].pc, "gone", NULL, &gone) == RTC_OK);
    REQUIRE(rtc_pc_dc_close(p.s[0].pc, gone) == RTC_OK);
    pp_drain_all(&p);
    CHECK(p.s[0].n_closed == 1 && p.s[0].closed[0] == gone);
    CHECK_EQ_INT(rtc_pc_dc_close(p.s[0].pc, gone), RTC_ERR_NOT_FOUND);
    REQUIRE(rtc_pc_create_data_channel(p.s[0].pc, "bulk", NULL, &ch) == RTC_OK);
    REQUIRE(pp_negotiate(&p, 0) == 0);
    int want[2] = {1, 1};
    REQUIRE(pp_run_until(&p, chan_open, want, RTC_SEC(10)));
    CHECK_EQ_INT(p.s[1].n_remote_ch, 1); /* "gone" never reached the peer */
    REQUIRE(rtc_pc_dc_set_buffered_amount_low_threshold(p.s[0].pc, ch, 65536) == RTC_OK);
    static uint8_t chunk[65536];
    /* (the DCEP OPEN leaving the stream may already have fired one at threshold 0) */
    int lows_before = p.s[0].n_low;
    int queued = 0;
    while (queued < 200 && rtc_pc_dc_send(p.s[0].pc, ch, true, chunk, sizeof chunk) == RTC_OK) queued++;
    CHECK(queued > 4);
    CHECK(rtc_pc_dc_buffered_amount(p.s[0].pc, ch) > 65536);
    rtc_pc_dc_info info;
    REQUIRE(rtc_pc_dc_get_info(p.s[0].pc, ch, &info) == RTC_OK);
    CHECK_EQ_INT(info.buffered_amount_low_threshold, 65536);
    pp_drain_all(&p);
    CHECK(pp_run_until(&p, low_seen, &lows_before, RTC_SEC(30)));
    CHECK(rtc_pc_dc_buffered_amount(p.s[0].pc, ch) <= 65536);
    int wm[2] = {0, queued};
    CHECK(pp_run_until(&p, msgs_at, wm, RTC_SEC(30)));
    CHECK_EQ_INT(p.s[1].msg_bytes, (uint64_t)queued * sizeof chunk);
    /* rtc_pc_accepts: traffic from the selected remote, and checks naming our ufrag */
    uint8_t dtls_rec[13] = {23, 254, 253};
    CHECK(rtc_pc_accepts(p.s[0].pc, &p.s[1].addr, dtls_rec, sizeof dtls_rec));
    rtc_addr stranger;
    rtc_addr_parse(&stranger, "10.9.9.9:1234", 0);
    CHECK(!rtc_pc_accepts(p.s[0].pc, &stranger, dtls_rec, sizeof dtls_rec));
    pp_free(&p);
}

static const char *ufrag_of(rtc_pc *pc, char *buf, size_t size) {
    if (rtc_pc_local_description(pc, buf, size) <= 0) return "";
    char *u = strstr(buf, "a=ice-ufrag:");
    if (!u) return "";
    u += strlen("a=ice-ufrag:");
    u[strcspn(u, "\r\n")] = 0;
    return u;
}

/* W3C restartIce(): new credentials on both sides, the association survives. */
static void test_ice_restart(void) {
    pp_pair p;
    REQUIRE(pp_init(&p, 7, NULL, NULL) == 0);
    uint32_t ch;
    REQUIRE(rtc_pc_create_data_channel(p.s[0].pc, "r", NULL, &ch) == RTC_OK);
    REQUIRE(pp_negotiate(&p, 0) == 0);
    int want[2] = {1, 1};
    REQUIRE(pp_run_until(&p, chan_open, want, RTC_SEC(10)));
    static char b1[8192], b2[8192];
    char u0[300], u1[300];
    snprintf(u0, sizeof u0, "%s", ufrag_of(p.s[0].pc, b1, sizeof b1));
    snprintf(u1, sizeof u1, "%s", ufrag_of(p.s[1].pc, b2, sizeof b2));
    int nn = p.s[0].nn;
    REQUIRE(rtc_pc_restart_ice(p.s[0].pc) == RTC_OK);
    pp_drain_all(&p);
    CHECK_EQ_INT(p.s[0].nn, nn + 1);
    REQUIRE(pp_negotiate(&p, 0) == 0);
    CHECK(strcmp(u0, ufrag_of(p.s[0].pc, b1, sizeof b1)) != 0);
    CHECK(strcmp(u1, ufrag_of(p.s[1].pc, b2, sizeof b2)) != 0); /* the answerer restarted too */
    pp_run_for(&p, RTC_SEC(3));
    CHECK_EQ_INT(p.s[0].conn, RTC_PC_CONNECTION_CONNECTED);
    CHECK_EQ_INT(p.s[1].conn, RTC_PC_CONNECTION_CONNECTED);
    CHECK(p.s[0].ice == RTC_ICE_STATE_CONNECTED || p.s[0].ice == RTC_ICE_STATE_COMPLETED);
    CHECK_EQ_INT(rtc_pc_dc_send(p.s[0].pc, ch, false, (const uint8_t *)"again", 5), RTC_OK);
    pp_drain_all(&p);
    int wm[2] = {0, 1};
    CHECK(pp_run_until(&p, msgs_at, wm, RTC_SEC(5)));
    /* long after: consent on the new pair keeps it alive (RFC 7675: 30 s without fails) */
    pp_run_for(&p, RTC_SEC(40));
    CHECK_EQ_INT(p.s[0].conn, RTC_PC_CONNECTION_CONNECTED);
    CHECK_EQ_INT(p.s[1].conn, RTC_PC_CONNECTION_CONNECTED);
    pp_free(&p);
}

int main(void) {
    RUN(test_connect_and_talk);
    RUN(test_wrong_fingerprint);
    RUN(test_renegotiation);
    RUN(test_glare_rollback);
    RUN(test_early_dtls);
    RUN(test_buffered_and_misc);
    RUN(test_ice_restart);
    return TEST_DONE();
}
