/*
** tests/unit/pc/test_turn.c: both connections with iceTransportPolicy "relay" and a
** turn: server (our own TURN server core, in the same virtual network): allocations,
** permissions, channel binding, DTLS and a data channel all through the relay.
*/
#include "pc_pair.h"
#include "test.h"

static uint16_t next_port = 50000;

static int relay_open(void *ud, uint8_t family, bool even, bool reserve, uint64_t token_in,
                      rtc_addr *relay, void **handle, uint64_t *token) {
    const rtc_addr *srv = ud;
    *relay = *srv;
    relay->port = next_port++;
    *handle = NULL;
    *token = 0;
    return RTC_OK;
}
static void relay_close(void *ud, void *handle) {}

static bool done(pp_pair *p, void *ud) {
    return p->s[0].n_opened >= 1 && p->s[1].n_opened >= 1 && p->s[1].nmsgs >= 1;
}

static void run(bool relay_policy, uint64_t seed) {
    pp_pair p;
    static rtc_addr srv_addr;
    rtc_addr_parse(&srv_addr, "10.0.0.100:3478", 0);
    rtc_pc_ice_server turn = {"turn:10.0.0.100:3478", "user", "secret"};
    rtc_pc_config cfg = {.ice_servers = &turn, .n_ice_servers = 1,
                         .ice_transport_policy = relay_policy ? RTC_PC_ICE_POLICY_RELAY : 0};
    REQUIRE(pp_init(&p, seed, &cfg, &cfg) == 0);
    rtc_env env;
    rtc_test_rng rng;
    rtc_env_seeded(&env, &rng, seed + 99);
    rtc_turn_server_config sc = {.realm = "example.org",
                                 .relay = {.open = relay_open, .close = relay_close, .ud = &srv_addr},
                                 .allow_private_peers = true};
    REQUIRE(rtc_turn_server_new(&p.srv, &sc, &env) == RTC_OK);
    REQUIRE(rtc_turn_server_add_user(p.srv, "user", "secret") == RTC_OK);
    p.srv_addr = srv_addr;
    p.link[2].delay = RTC_MS(5);
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
        CHECK(rtc_addr_equal_ip(&st.remote_address, &srv_addr)); /* the peer's relayed address */
    }
    rtc_pc_close(p.s[0].pc);
    pp_drain_all(&p);
    pp_run_for(&p, RTC_SEC(1));
    CHECK_EQ_INT(p.s[1].conn, RTC_PC_CONNECTION_CLOSED); /* close_notify went through the relay */
    rtc_turn_server_free(p.srv);
    p.srv = NULL;
    pp_free(&p);
}

static void test_relay_only(void) { run(true, 11); }
static void test_relay_and_host(void) { run(false, 12); }

int main(void) {
    RUN(test_relay_only);
    RUN(test_relay_and_host);
    return TEST_DONE();
}
