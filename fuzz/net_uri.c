/* fuzz/net_uri.c: rtc_uri_parse on arbitrary text; accepted URIs must be consistent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cwebrtc/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char s[1024];
    if (size >= sizeof s) return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    rtc_uri u;
    const char *why = NULL;
    int r = rtc_uri_parse(&u, s, &why);
    if (r == RTC_OK) {
        if (why || !u.host[0] || u.port == 0 || strlen(u.host) >= sizeof u.host) abort();
        if (u.scheme < RTC_URI_STUN || u.scheme > RTC_URI_TURNS) abort();
        if (u.transport != RTC_URI_UDP && u.transport != RTC_URI_TCP) abort();
        if (u.host_is_ip && u.ip.port != u.port) abort();
    } else if (r != RTC_ERR_PARSE || !why) {
        abort();
    }
    return 0;
}
