/*
** fuzz/ice_candidate.c: the a=candidate line parser (RFC 8839 §5.1). Invariants: never
** crashes or reads past the input; whatever parses prints, and the printed line parses
** back to the same candidate (print/parse is a fixed point).
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cwebrtc/ice.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char line[4096];
    if (size >= sizeof line) size = sizeof line - 1;
    memcpy(line, data, size);
    line[size] = '\0';
    rtc_ice_candidate c, d;
    if (rtc_ice_candidate_parse(&c, line) != RTC_OK) return 0;
    char out[RTC_ICE_CANDIDATE_LINE_MAX];
    int n = rtc_ice_candidate_format(&c, out, sizeof out);
    if (n < 0) abort(); /* everything that parses must print */
    if (rtc_ice_candidate_parse(&d, out) != RTC_OK) abort();
    char out2[RTC_ICE_CANDIDATE_LINE_MAX];
    int n2 = rtc_ice_candidate_format(&d, out2, sizeof out2);
    if (n2 != n || memcmp(out, out2, (size_t)n) != 0) abort();
    return 0;
}
