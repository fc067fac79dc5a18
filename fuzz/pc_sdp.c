/*
** fuzz/pc_sdp.c: a hostile remote description. The input is set as a remote offer (or,
** when the first byte is odd, as the answer to our own offer); then an answer is built
** and applied, a trickled candidate taken from the input's tail is added, and the local
** description is serialized. Nothing may crash, leak or grow without bound.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cwebrtc/pc.h"

static rtc_dtls_cert *cert;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!cert && rtc_dtls_cert_new(&cert, NULL, NULL) != RTC_OK) return 0;
    if (size < 1) return 0;
    rtc_env env;
    rtc_test_rng rng;
    rtc_env_seeded(&env, &rng, 1);
    rtc_pc_config cfg = {.certificate = cert};
    rtc_pc *pc = NULL;
    if (rtc_pc_new(&pc, &cfg, &env) != RTC_OK) return 0;
    rtc_addr a;
    rtc_addr_parse(&a, "192.0.2.1:4000", 0);
    rtc_pc_add_local_address(pc, &a);
    bool as_answer = data[0] & 1;
    const char *sdp = (const char *)data + 1;
    size_t len = size - 1;
    static char buf[1 << 16];
    if (as_answer) {
        rtc_pc_create_offer(pc, buf, sizeof buf);
        rtc_pc_set_local_description(pc, RTC_PC_SDP_OFFER, NULL);
        rtc_pc_set_remote_description(pc, RTC_PC_SDP_ANSWER, sdp, len);
    } else if (rtc_pc_set_remote_description(pc, RTC_PC_SDP_OFFER, sdp, len) == RTC_OK) {
        if (rtc_pc_create_answer(pc, buf, sizeof buf) > 0)
            rtc_pc_set_local_description(pc, RTC_PC_SDP_ANSWER, NULL);
    }
    /* the last line of the input as a trickled candidate */
    char cand[512];
    size_t start = len;
    while (start > 0 && sdp[start - 1] != '\n') start--;
    size_t cl = len - start < sizeof cand - 1 ? len - start : sizeof cand - 1;
    memcpy(cand, sdp + start, cl);
    cand[cl] = 0;
    rtc_pc_add_ice_candidate(pc, cand, NULL, 0);
    rtc_pc_output o;
    for (int i = 0; i < 1000 && rtc_pc_poll_output(pc, &o) != RTC_PC_OUT_TIMEOUT; i++) {
    }
    rtc_pc_local_description(pc, buf, sizeof buf);
    rtc_pc_create_offer(pc, buf, sizeof buf);
    rtc_pc_free(pc);
    return 0;
}
