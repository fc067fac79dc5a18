/*
** tests/unit/pc/test_stats.c: getStats() with W3C names (rtc_pc_get_stats_json) and the
** per-channel counters of rtc_pc_dc_info, on two connected peer connections.
*/
#include "pc_pair.h"
#include "test.h"

static bool chan_open(pp_pair *p, void *ud) {
    (void)ud;
    return p->s[0].n_opened >= 1 && p->s[1].n_opened >= 1;
}

static bool msgs_at(pp_pair *p, void *ud) {
    return p->s[1].nmsgs >= *(int *)ud;
}

/* The report object of `type` that contains `needle`, or NULL. */
static const char *find_report(const char *json, const char *type, const char *needle) {
    char key[64];
    snprintf(key, sizeof key, "\"type\":\"%s\"", type);
    for (const char *p = json; (p = strstr(p, key)) != NULL; p++) {
        const char *start = p, *end = strchr(p, '}');
        while (start > json && *start != '{') start--;
        if (!end) return NULL;
        const char *hit = strstr(start, needle);
        if (hit && hit < end) return start;
    }
    return NULL;
}

static void test_stats_json(void) {
    pp_pair p;
    REQUIRE(pp_init(&p, 7, NULL, NULL) == 0);
    uint32_t ch = 0;
    rtc_pc_dc_init init;
    rtc_pc_dc_init_default(&init);
    init.protocol = "p\"q\\r\x01"; /* needs escaping */
    REQUIRE(rtc_pc_create_data_channel(p.s[0].pc, "files", &init, &ch) == RTC_OK);
    pp_drain_all(&p);
    REQUIRE(pp_negotiate(&p, 0) == 0);
    REQUIRE(pp_run_until(&p, pp_both_connected, NULL, RTC_SEC(10)));
    REQUIRE(pp_run_until(&p, chan_open, NULL, RTC_SEC(5)));
    static const uint8_t msg[1000];
    for (int i = 0; i < 3; i++) REQUIRE(rtc_pc_dc_send(p.s[0].pc, ch, true, msg, sizeof msg) == 0);
    int want = 3;
    REQUIRE(pp_run_until(&p, msgs_at, &want, RTC_SEC(5)));

    rtc_pc_dc_info info;
    REQUIRE(rtc_pc_dc_get_info(p.s[0].pc, ch, &info) == RTC_OK);
    CHECK(info.messages_sent == 3 && info.bytes_sent == 3000);
    REQUIRE(rtc_pc_dc_get_info(p.s[1].pc, p.s[1].remote_ch[0], &info) == RTC_OK);
    CHECK(info.messages_received == 3 && info.bytes_received == 3000);

    static char js[16384];
    int n = rtc_pc_get_stats_json(p.s[0].pc, js, sizeof js);
    REQUIRE(n > 0);
    CHECK_EQ_INT((int)strlen(js), n);
    fprintf(stderr, "  %d bytes: %.300s...\n", n, js);
    CHECK(js[0] == '[' && js[n - 1] == ']');
    CHECK(find_report(js, "peer-connection", "\"dataChannelsOpened\":1") != NULL);
    const char *t = find_report(js, "transport", "\"dtlsState\":\"connected\"");
    CHECK(t != NULL);
    CHECK(find_report(js, "transport", "\"selectedCandidatePairId\":\"CP") != NULL);
    CHECK(find_report(js, "transport", "\"dtlsRole\":\"server\"") != NULL);
    const char *cp = find_report(js, "candidate-pair", "\"nominated\":true");
    CHECK(cp != NULL);
    CHECK(find_report(js, "candidate-pair", "\"state\":\"succeeded\"") != NULL);
    CHECK(find_report(js, "local-candidate", "\"address\":\"10.0.0.1\"") != NULL);
    CHECK(find_report(js, "remote-candidate", "\"port\":5000") != NULL);
    CHECK(find_report(js, "certificate", "\"fingerprintAlgorithm\":\"sha-256\"") != NULL);
    const char *dc = find_report(js, "data-channel", "\"label\":\"files\"");
    CHECK(dc != NULL);
    CHECK(find_report(js, "data-channel", "\"messagesSent\":3") != NULL);
    CHECK(find_report(js, "data-channel", "\"bytesSent\":3000") != NULL);
    CHECK(find_report(js, "data-channel", "\"state\":\"open\"") != NULL);
    CHECK(strstr(js, "\"protocol\":\"p\\\"q\\\\r\\u0001\"") != NULL);
    /* the selected pair id names a real candidate-pair report */
    const char *sel = t ? strstr(t, "\"selectedCandidatePairId\":\"") : NULL;
    if (sel) {
        char id[200];
        sel += strlen("\"selectedCandidatePairId\":\"");
        size_t k = 0;
        while (sel[k] && sel[k] != '"' && k + 1 < sizeof id) { id[k] = sel[k]; k++; }
        id[k] = 0;
        char needle[220];
        snprintf(needle, sizeof needle, "{\"id\":\"%s\"", id);
        CHECK(strstr(js, needle) != NULL);
    }
    /* too small: an error, never a truncated report */
    char small[64];
    CHECK_EQ_INT(rtc_pc_get_stats_json(p.s[0].pc, small, sizeof small), RTC_ERR_TOO_SMALL);
    CHECK_EQ_INT(rtc_pc_get_stats_json(p.s[0].pc, NULL, 0), RTC_ERR_TOO_SMALL);
    CHECK_EQ_INT(rtc_pc_get_stats_json(NULL, js, sizeof js), RTC_ERR_INVALID);
    pp_free(&p);
}

/* Channel priorities reach the SCTP scheduler through the peer connection: two saturated
** channels, high (1024) and low (256), share the link about 4:1. */
static bool two_open(pp_pair *p, void *ud) {
    (void)ud;
    return p->s[0].n_opened >= 2 && p->s[1].n_opened >= 2;
}

static void test_priority(void) {
    pp_pair p;
    REQUIRE(pp_init(&p, 9, NULL, NULL) == 0);
    p.s[1].keep_data = false;
    uint32_t hi = 0, lo = 0;
    rtc_pc_dc_init init;
    rtc_pc_dc_init_default(&init);
    init.priority = 1024;
    REQUIRE(rtc_pc_create_data_channel(p.s[0].pc, "hi", &init, &hi) == RTC_OK);
    init.priority = 0; /* default: low */
    REQUIRE(rtc_pc_create_data_channel(p.s[0].pc, "lo", &init, &lo) == RTC_OK);
    pp_drain_all(&p);
    REQUIRE(pp_negotiate(&p, 0) == 0);
    REQUIRE(pp_run_until(&p, two_open, NULL, RTC_SEC(10)));
    rtc_pc_dc_info info;
    for (int k = 0; k < p.s[1].n_remote_ch; k++) {
        REQUIRE(rtc_pc_dc_get_info(p.s[1].pc, p.s[1].remote_ch[k], &info) == RTC_OK);
        CHECK_EQ_INT(info.priority, strcmp(info.label, "hi") == 0 ? 1024 : 256);
    }
    static const uint8_t msg[16384];
    uint32_t rhi = 0;
    for (int k = 0; k < p.s[1].n_remote_ch; k++)
        if (strcmp(p.s[1].remote_label[k], "hi") == 0) rhi = p.s[1].remote_ch[k];
    uint64_t got_hi = 0, got_lo = 0;
    for (int guard = 0; guard < 400000 && got_hi + got_lo < (8u << 20); guard++) {
        uint32_t chs[2] = {hi, lo};
        for (int k = 0; k < 2; k++)
            while (rtc_pc_dc_buffered_amount(p.s[0].pc, chs[k]) < 256 * 1024 &&
                   rtc_pc_dc_send(p.s[0].pc, chs[k], true, msg, sizeof msg) == RTC_OK) {
            }
        if (!pp_step(&p)) break;
        rtc_pc_dc_info a;
        got_hi = got_lo = 0;
        for (int k = 0; k < p.s[1].n_remote_ch; k++) {
            if (rtc_pc_dc_get_info(p.s[1].pc, p.s[1].remote_ch[k], &a) != RTC_OK) continue;
            if (p.s[1].remote_ch[k] == rhi) got_hi = a.bytes_received;
            else got_lo = a.bytes_received;
        }
    }
    double ratio = got_lo ? (double)got_hi / (double)got_lo : 0;
    fprintf(stderr, "  high %llu B, low %llu B: %.2f:1\n", (unsigned long long)got_hi,
            (unsigned long long)got_lo, ratio);
    CHECK(got_hi + got_lo >= (8u << 20));
    CHECK(ratio > 3.0 && ratio < 5.0);
    pp_free(&p);
}

int main(void) {
    RUN(test_stats_json);
    RUN(test_priority);
    return TEST_DONE();
}
