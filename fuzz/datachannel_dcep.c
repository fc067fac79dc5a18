/*
** fuzz/datachannel_dcep.c: the DCEP codec (RFC 8832 §5).
**
** Whatever parses must re-encode, the encoding must parse back to the same message, and
** the encoded size must match rtc_dcep_encoded_size(). The parser must never read past
** the input (ASan catches that: libFuzzer hands us an exact-size heap copy).
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cwebrtc/datachannel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rtc_dcep_msg m;
    if (rtc_dcep_parse(data, size, &m) != RTC_OK) return 0;
    size_t need = rtc_dcep_encoded_size(&m);
    if (need > size) abort(); /* a parsed message never grows on re-encoding */
    uint8_t *out = malloc(need ? need : 1);
    if (!out) return 0;
    size_t n = need;
    if (rtc_dcep_encode(&m, out, &n) != RTC_OK || n != need) abort();
    rtc_dcep_msg m2;
    if (rtc_dcep_parse(out, n, &m2) != RTC_OK) abort();
    if (m2.type != m.type || m2.channel_type != m.channel_type || m2.priority != m.priority ||
        m2.label_len != m.label_len || m2.protocol_len != m.protocol_len ||
        (m.label_len && memcmp(m2.label, m.label, m.label_len)) ||
        (m.protocol_len && memcmp(m2.protocol, m.protocol, m.protocol_len)))
        abort();
    /* too-small buffers are refused, never overrun */
    size_t small = n ? n - 1 : 0;
    if (n && (rtc_dcep_encode(&m, out, &small) != RTC_ERR_TOO_SMALL || small != need)) abort();
    free(out);
    return 0;
}
