/* fuzz/net_mdns.c: the mDNS/DNS message parsers on arbitrary bytes. Accepted responses
** must be self-consistent; the responder side parses the same bytes as a query, and a
** response rebuilt from what was found must parse back to the same addresses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cwebrtc/mdns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *names[] = {"abc.local", "1f4712db-ea17-4bcf-a596-105139dfd8bf.local"};
    for (size_t k = 0; k < 2; k++) {
        rtc_mdns_addr a[8];
        uint16_t id = 0;
        int n = rtc_mdns_parse_response(data, size, names[k], a, 8, &id);
        if (n < 0 && n != RTC_ERR_PARSE) abort();
        if (n > 0) {
            size_t m = n > 8 ? 8 : (size_t)n;
            rtc_addr addrs[8];
            for (size_t i = 0; i < m; i++) {
                if (a[i].addr.family != RTC_AF_INET && a[i].addr.family != RTC_AF_INET6) abort();
                if (a[i].ttl == 0) abort();
                addrs[i] = a[i].addr;
            }
            uint8_t out[2048];
            int w = rtc_mdns_build_response(out, sizeof out, id, names[k],
                                            RTC_MDNS_Q_A | RTC_MDNS_Q_AAAA, addrs, m, 10,
                                            RTC_MDNS_RESP_LEGACY);
            if (w <= 0) abort();
            rtc_mdns_addr b[8];
            uint16_t id2 = 0;
            if (rtc_mdns_parse_response(out, (size_t)w, names[k], b, 8, &id2) != (int)m) abort();
            if (id2 != id) abort();
            for (size_t i = 0; i < m; i++)
                if (!rtc_addr_equal_ip(&a[i].addr, &b[i].addr)) abort();
        }
        rtc_mdns_query_info qi;
        int q = rtc_mdns_parse_query(data, size, names[k], &qi);
        if (q != 0 && q != 1 && q != RTC_ERR_PARSE) abort();
        if (q == 1 && qi.types == 0) abort();
    }
    return 0;
}
