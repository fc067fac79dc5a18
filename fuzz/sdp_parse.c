/*
** fuzz/sdp_parse.c: parse any bytes as SDP under small bounds; when they parse, run every typed
** accessor and the JSEP view over every level, then require the serializer's invariants:
** the reported length matches, the text parses again, and a second serialization is identical
** (serialization is idempotent after one round). Seeds: fuzz/corpus/sdp_parse/ (small files
** from tests/data/sdp/, captured from Chromium and written after other stacks).
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cwebrtc/sdp.h"

static void touch(const rtc_sdp *s) {
    rtc_sdp_fingerprint fp;
    rtc_sdp_setup setup;
    rtc_sdp_group g;
    rtc_sdp_msid ms;
    rtc_sdp_rtpmap rm;
    rtc_sdp_rtcp_fb fb;
    rtc_sdp_extmap ex;
    rtc_sdp_ssrc ss;
    rtc_sdp_ssrc_group sg;
    rtc_sdp_str a, b;
    rtc_sdp_transport t;
    rtc_sdp_datachannel dc;
    rtc_sdp_media md;
    rtc_sdp_conn c;
    uint64_t u64;
    uint16_t u16;
    (void)rtc_sdp_get_sess_version(s, &u64);
    for (size_t k = 0; k < 8 && rtc_sdp_group_get(s, k, &g) != RTC_ERR_NOT_FOUND; k++) {}
    (void)rtc_sdp_msid_semantic(s, &a, &b);
    (void)rtc_sdp_datachannel_find(s, &dc);
    for (int m = RTC_SDP_SESSION; m < (int)rtc_sdp_media_count(s); m++) {
        (void)rtc_sdp_ice_ufrag(s, m);
        (void)rtc_sdp_ice_pwd(s, m);
        (void)rtc_sdp_ice_options(s, m);
        (void)rtc_sdp_setup_get(s, m, &setup);
        (void)rtc_sdp_direction_get(s, m);
        (void)rtc_sdp_mid(s, m);
        (void)rtc_sdp_get_connection(s, m, &c);
        (void)rtc_sdp_get_bandwidth(s, m, "AS", &u64);
        for (size_t k = 0; k < 64; k++) {
            int any = 0;
            any |= rtc_sdp_fingerprint_get(s, m, k, &fp) != RTC_ERR_NOT_FOUND;
            any |= rtc_sdp_msid_get(s, m, k, &ms) != RTC_ERR_NOT_FOUND;
            any |= rtc_sdp_rtcp_fb_get(s, m, k, &fb) != RTC_ERR_NOT_FOUND;
            any |= rtc_sdp_extmap_get(s, m, k, &ex) != RTC_ERR_NOT_FOUND;
            any |= rtc_sdp_ssrc_get(s, m, k, &ss) != RTC_ERR_NOT_FOUND;
            any |= rtc_sdp_ssrc_group_get(s, m, k, &sg) != RTC_ERR_NOT_FOUND;
            any |= rtc_sdp_candidate(s, m, k) != NULL;
            if (!any) break;
        }
        if (m < 0) continue;
        (void)rtc_sdp_transport_get(s, m, &t);
        (void)rtc_sdp_sctp_port(s, m, &u16);
        (void)rtc_sdp_max_message_size(s, m, &u64);
        if (rtc_sdp_get_media(s, m, &md) == RTC_OK) {
            for (size_t i = 0; i < md.fmt_count && i < 64; i++) {
                unsigned pt = (unsigned)strtoul(md.fmts[i], NULL, 10);
                (void)rtc_sdp_rtpmap_find(s, m, pt, &rm);
                if (rtc_sdp_fmtp_find(s, m, pt, &a) == RTC_OK)
                    (void)rtc_sdp_fmtp_param(a, "apt", &b);
            }
        }
    }
}

static char *serialize(const rtc_sdp *s, int *len) {
    *len = rtc_sdp_serialize(s, NULL, 0);
    if (*len < 0) abort();
    char *buf = malloc((size_t)*len + 1);
    if (!buf) abort();
    if (rtc_sdp_serialize(s, buf, (size_t)*len + 1) != *len) abort();
    if (strlen(buf) != (size_t)*len) abort(); /* no NUL can hide inside */
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rtc_sdp *s = NULL, *s2 = NULL;
    if (rtc_sdp_new(&s, NULL) != RTC_OK || rtc_sdp_new(&s2, NULL) != RTC_OK) abort();
    rtc_sdp_limits lim = {512, 512, 16, 64 * 1024};
    rtc_sdp_set_limits(s, &lim);
    if (rtc_sdp_parse(s, (const char *)data, size) == RTC_OK) {
        touch(s);
        int n1, n2;
        char *t1 = serialize(s, &n1);
        if (rtc_sdp_parse(s2, t1, (size_t)n1) != RTC_OK) abort();
        char *t2 = serialize(s2, &n2);
        if (n1 != n2 || memcmp(t1, t2, (size_t)n1) != 0) abort();
        free(t1);
        free(t2);
    } else if (strncmp(rtc_sdp_error(s), "line ", 5) != 0) {
        abort(); /* every parse error names its line */
    }
    rtc_sdp_free(s);
    rtc_sdp_free(s2);
    return 0;
}
