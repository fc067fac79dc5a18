/*
** A TURN relay that dies under the selected pair (rtc_ice_relay_failed): the agent must not
** wait 30 s for consent to expire. With no other valid pair it goes FAILED within the call;
** with a valid host pair it moves data there at once (RFC 8445 §8.1.2: any valid pair may
** carry data) and stays connected.
*/
#include <stdlib.h>
#include <string.h>

#include "cwebrtc/ice.h"
#include "cwebrtc/stun.h"
#include "test.h"

#define LUFRAG   "locL"
#define LPWD     "localpasswordlocalpassword"
#define RUFRAG   "remR"
#define RPWD     "remotepasswordremotepassword"
#define RELAY_ID 7u

typedef struct rf {
    rtc_ice *ice;
    rtc_env env;
    rtc_test_rng rng;
    rtc_addr host, relayed, remote;
    bool answer_host, answer_relay;
    int states[8];       /* RTC_ICE_EVENT_STATE count by state */
    int selected;        /* RTC_ICE_EVENT_SELECTED_PAIR count */
    int sel_ltype;       /* local type of the last selected pair */
    uint32_t sel_relay;  /* relay id of the last selected pair */
    int nominations_out; /* checks with USE-CANDIDATE the agent sent */
    rtc_addr nom_src, nom_dst; /* the last of them */
    rtc_addr only_dst;   /* family NONE: answer any destination; else only this one */
} rf;

static void rf_init(rf *f, bool controlling) {
    memset(f, 0, sizeof *f);
    rtc_env_seeded(&f->env, &f->rng, 7);
    rtc_ice_config c = {.controlling = controlling, .ufrag = LUFRAG, .pwd = LPWD, .tie_breaker = 5};
    if (rtc_ice_new(&f->ice, &c, &f->env) != RTC_OK) abort();
    rtc_addr_parse(&f->host, "10.0.0.1:5000", 0);
    rtc_addr_parse(&f->relayed, "198.51.100.1:40000", 0);
    rtc_addr_parse(&f->remote, "10.9.9.9:6000", 0);
    rtc_ice_add_host_address(f->ice, &f->host);
    rtc_ice_gather(f->ice, 0);
    if (rtc_ice_add_relayed(f->ice, RELAY_ID, &f->relayed, &f->host) != RTC_OK) abort();
    rtc_ice_set_remote_credentials(f->ice, RUFRAG, RPWD);
    rtc_ice_add_remote_candidate(f->ice, "candidate:1 1 udp 2130706431 10.9.9.9 6000 typ host");
    rtc_ice_remote_end_of_candidates(f->ice);
}

static void rf_events(rf *f) {
    rtc_ice_event ev;
    while (rtc_ice_poll_event(f->ice, &ev) == 1) {
        if (ev.type == RTC_ICE_EVENT_STATE && ev.state >= 0 && ev.state < 8) f->states[ev.state]++;
        if (ev.type == RTC_ICE_EVENT_SELECTED_PAIR) {
            f->selected++;
            f->sel_ltype = ev.local_type;
            f->sel_relay = ev.relay_id;
        }
    }
}

/* Deliver the agent's output: its checks on an answered path get a success response from
** the peer (the relay is transparent: the peer sees the relayed address). */
static void rf_pump(rf *f, rtc_time now) {
    rtc_ice_transmit t;
    while (rtc_ice_poll_transmit(f->ice, &t) == 1) {
        rtc_stun_msg m;
        if (rtc_stun_parse(&m, t.data, t.len) != RTC_OK || m.cls != RTC_STUN_REQUEST) continue;
        if (rtc_stun_find(&m, RTC_STUN_ATTR_USE_CANDIDATE)) {
            f->nominations_out++;
            f->nom_src = t.src;
            f->nom_dst = t.dst;
        }
        bool relay = t.relay_id == RELAY_ID;
        if (relay ? !f->answer_relay : !f->answer_host) continue;
        if (f->only_dst.family != RTC_AF_NONE && !relay && !rtc_addr_equal(&t.dst, &f->only_dst))
            continue;
        rtc_addr from = t.dst, to = t.src;
        rtc_stun_key rk;
        rtc_stun_key_set(&rk, (const uint8_t *)RPWD, strlen(RPWD));
        uint8_t resp[256];
        rtc_stun_builder b;
        rtc_stun_build_response(&b, resp, sizeof resp, &m, RTC_STUN_SUCCESS);
        rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_MAPPED_ADDRESS, &to);
        rtc_stun_add_integrity(&b, &rk);
        rtc_stun_add_fingerprint(&b);
        int rn = rtc_stun_build_finish(&b);
        if (rn > 0) rtc_ice_handle_packet(f->ice, now, &from, &to, resp, (size_t)rn);
    }
    rf_events(f);
}

/* The controlling peer's check to `dst` (one of our addresses), nominating or not. */
static void rf_peer_check(rf *f, rtc_time now, const rtc_addr *dst, bool use_candidate) {
    uint8_t buf[512], tid[RTC_STUN_TID_LEN];
    for (int i = 0; i < RTC_STUN_TID_LEN; i++)
        tid[i] = (uint8_t)(rand() & 0xff);
    rtc_stun_builder b;
    rtc_stun_build_init(&b, buf, sizeof buf, RTC_STUN_BINDING, RTC_STUN_REQUEST, tid);
    rtc_stun_add_string(&b, RTC_STUN_ATTR_USERNAME, LUFRAG ":" RUFRAG);
    rtc_stun_add_u32(&b, RTC_STUN_ATTR_PRIORITY, 1862270975u);
    rtc_stun_add_u64(&b, RTC_STUN_ATTR_ICE_CONTROLLING, 99);
    if (use_candidate) rtc_stun_add_flag(&b, RTC_STUN_ATTR_USE_CANDIDATE);
    rtc_stun_key k;
    rtc_stun_key_set(&k, (const uint8_t *)LPWD, strlen(LPWD));
    rtc_stun_add_integrity(&b, &k);
    rtc_stun_add_fingerprint(&b);
    int n = rtc_stun_build_finish(&b);
    if (n > 0) rtc_ice_handle_packet(f->ice, now, &f->remote, dst, buf, (size_t)n);
    rf_pump(f, now);
}

/* Run the agent's timers until `until`, answering as configured. */
static rtc_time rf_run(rf *f, rtc_time from, rtc_time until) {
    rtc_time now = from;
    for (int i = 0; i < 10000; i++) {
        rtc_time t = rtc_ice_next_timeout(f->ice);
        if (t > until) break;
        if (t > now) now = t;
        rtc_ice_handle_timeout(f->ice, now);
        rf_pump(f, now);
    }
    return until;
}

/* Controlled agent, the peer nominates the relayed pair: connected through the relay. */
static bool rf_connect_via_relay(rf *f, rtc_time *now) {
    rf_pump(f, *now);
    rf_peer_check(f, *now, &f->relayed, true);
    *now = rf_run(f, *now, *now + RTC_MS(500));
    uint32_t relay = 0;
    int st = rtc_ice_get_state(f->ice);
    return rtc_ice_get_selected(f->ice, NULL, NULL, &relay) == RTC_OK && relay == RELAY_ID &&
           (st == RTC_ICE_STATE_CONNECTED || st == RTC_ICE_STATE_COMPLETED);
}

static void test_relay_fail_no_alternative(void) {
    rf f;
    rf_init(&f, false);
    f.answer_relay = true; /* the host path is blocked: its checks go unanswered */
    rtc_time now = 0;
    REQUIRE(rf_connect_via_relay(&f, &now));
    CHECK_EQ_INT(f.sel_relay, RELAY_ID);
    memset(f.states, 0, sizeof f.states);
    CHECK_EQ_INT(rtc_ice_relay_failed(f.ice, RELAY_ID), RTC_OK);
    /* within the call, no timer needed */
    rf_events(&f);
    CHECK_EQ_INT(f.states[RTC_ICE_STATE_FAILED], 1);
    CHECK_EQ_INT(rtc_ice_get_state(f.ice), RTC_ICE_STATE_FAILED);
    CHECK(rtc_ice_send(f.ice, now, (const uint8_t *)"\x17", 1) != RTC_OK);
    /* stays failed (only a restart recovers), even if the peer nominates again */
    rf_peer_check(&f, now + 1000, &f.host, true);
    rf_run(&f, now + 1000, now + RTC_SEC(2));
    CHECK_EQ_INT(rtc_ice_get_state(f.ice), RTC_ICE_STATE_FAILED);
    /* a restart recovers */
    CHECK_EQ_INT(rtc_ice_restart(f.ice, now + RTC_SEC(2)), RTC_OK);
    CHECK(rtc_ice_get_state(f.ice) != RTC_ICE_STATE_FAILED);
    rtc_ice_free(f.ice);
}

static void test_relay_fail_switches_to_host(void) {
    rf f;
    rf_init(&f, false);
    f.answer_relay = true;
    f.answer_host = true;
    rtc_time now = 0;
    REQUIRE(rf_connect_via_relay(&f, &now));
    /* the host pair becomes valid too (the controlling peer does not nominate it) */
    rf_peer_check(&f, now, &f.host, false);
    now = rf_run(&f, now, now + RTC_MS(500));
    uint32_t relay = 0;
    REQUIRE(rtc_ice_get_selected(f.ice, NULL, NULL, &relay) == RTC_OK);
    REQUIRE(relay == RELAY_ID);
    rtc_ice_pair_info pi[8];
    size_t np = rtc_ice_get_pairs(f.ice, pi, 8);
    int valid_host = 0;
    for (size_t i = 0; i < np; i++)
        if (pi[i].valid && pi[i].local_type == RTC_ICE_CAND_HOST) valid_host++;
    REQUIRE(valid_host == 1);

    memset(f.states, 0, sizeof f.states);
    f.selected = 0;
    CHECK_EQ_INT(rtc_ice_relay_failed(f.ice, RELAY_ID), RTC_OK);
    rf_events(&f);
    CHECK_EQ_INT(f.selected, 1);
    CHECK_EQ_INT(f.sel_ltype, RTC_ICE_CAND_HOST);
    CHECK_EQ_INT(f.sel_relay, 0);
    CHECK_EQ_INT(f.states[RTC_ICE_STATE_FAILED], 0);
    CHECK_EQ_INT(f.states[RTC_ICE_STATE_DISCONNECTED], 0);
    rtc_addr l, r;
    CHECK_EQ_INT(rtc_ice_get_selected(f.ice, &l, &r, &relay), RTC_OK);
    CHECK(rtc_addr_equal(&l, &f.host));
    CHECK(rtc_addr_equal(&r, &f.remote));
    CHECK_EQ_INT(relay, 0);
    /* data now leaves from the host address, not through the dead relay */
    rtc_ice_transmit t;
    while (rtc_ice_poll_transmit(f.ice, &t) == 1) {
    }
    CHECK_EQ_INT(rtc_ice_send(f.ice, now, (const uint8_t *)"\x17", 1), RTC_OK);
    int data = 0;
    while (rtc_ice_poll_transmit(f.ice, &t) == 1)
        if (t.len == 1) {
            data++;
            CHECK(rtc_addr_equal(&t.src, &f.host));
            CHECK_EQ_INT(t.relay_id, 0);
        }
    CHECK_EQ_INT(data, 1);
    /* and the session lives on past the old consent deadline: consent on the host pair */
    f.answer_relay = false;
    rf_run(&f, now, now + RTC_SEC(40));
    int st = rtc_ice_get_state(f.ice);
    CHECK(st == RTC_ICE_STATE_CONNECTED || st == RTC_ICE_STATE_COMPLETED);
    CHECK_EQ_INT(f.states[RTC_ICE_STATE_FAILED], 0);
    rtc_ice_free(f.ice);
}

/* Controlling: the relayed pair was nominated (the host pair's remote candidate has a tiny
** priority, so the relayed pair ranks higher). When the relay dies the agent moves to the
** valid host pair and nominates it (USE-CANDIDATE) so the controlled peer follows. */
static void test_relay_fail_controlling_renominates(void) {
    rf f;
    rf_init(&f, true);
    /* a second remote candidate with priority 1: only the host path to it works */
    REQUIRE(rtc_ice_add_remote_candidate(f.ice, "candidate:2 1 udp 1 10.9.9.8 6000 typ host") ==
            RTC_OK);
    rtc_addr low;
    rtc_addr_parse(&low, "10.9.9.8:6000", 0);
    f.answer_relay = true;
    f.answer_host = true;
    f.only_dst = low; /* host checks to 10.9.9.9 go unanswered */
    rtc_time now = 0;
    now = rf_run(&f, now, RTC_SEC(20));
    uint32_t relay = 0;
    rtc_addr l, r;
    REQUIRE(rtc_ice_get_selected(f.ice, &l, &r, &relay) == RTC_OK);
    REQUIRE(relay == RELAY_ID);
    int noms = f.nominations_out;
    memset(f.states, 0, sizeof f.states);
    f.selected = 0;
    CHECK_EQ_INT(rtc_ice_relay_failed(f.ice, RELAY_ID), RTC_OK);
    rf_events(&f);
    CHECK_EQ_INT(f.selected, 1);
    CHECK_EQ_INT(f.sel_ltype, RTC_ICE_CAND_HOST);
    CHECK_EQ_INT(f.states[RTC_ICE_STATE_FAILED], 0);
    CHECK_EQ_INT(rtc_ice_get_selected(f.ice, &l, &r, &relay), RTC_OK);
    CHECK(rtc_addr_equal(&l, &f.host) && rtc_addr_equal(&r, &low) && relay == 0);
    /* the nomination of the new pair left in the same call */
    rf_pump(&f, now);
    CHECK_EQ_INT(f.nominations_out, noms + 1);
    CHECK(rtc_addr_equal(&f.nom_src, &f.host) && rtc_addr_equal(&f.nom_dst, &low));
    rf_run(&f, now, now + RTC_SEC(40));
    CHECK_EQ_INT(f.states[RTC_ICE_STATE_FAILED], 0);
    CHECK_EQ_INT(rtc_ice_get_selected(f.ice, &l, &r, &relay), RTC_OK);
    CHECK(rtc_addr_equal(&r, &low) && relay == 0);
    rtc_ice_free(f.ice);
}

/* A relay that is not on the selected path fails only its own pairs. */
static void test_other_relay_fail_keeps_selection(void) {
    rf f;
    rf_init(&f, false);
    f.answer_relay = true;
    rtc_time now = 0;
    REQUIRE(rf_connect_via_relay(&f, &now));
    REQUIRE(rtc_ice_expect_relay(f.ice, 9) == RTC_OK);
    memset(f.states, 0, sizeof f.states);
    f.selected = 0;
    CHECK_EQ_INT(rtc_ice_relay_failed(f.ice, 9), RTC_OK);
    rf_events(&f);
    CHECK_EQ_INT(f.selected, 0);
    CHECK_EQ_INT(f.states[RTC_ICE_STATE_FAILED], 0);
    CHECK_EQ_INT(rtc_ice_get_state(f.ice), RTC_ICE_STATE_CONNECTED);
    uint32_t relay = 0;
    CHECK_EQ_INT(rtc_ice_get_selected(f.ice, NULL, NULL, &relay), RTC_OK);
    CHECK_EQ_INT(relay, RELAY_ID);
    rtc_ice_free(f.ice);
}

int main(void) {
    RUN(test_relay_fail_no_alternative);
    RUN(test_relay_fail_switches_to_host);
    RUN(test_relay_fail_controlling_renominates);
    RUN(test_other_relay_fail_keeps_selection);
    return TEST_DONE();
}
