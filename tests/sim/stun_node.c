/*
** tests/sim/stun_node.c: a STUN server node for the simulator (see netsim.h). Separate
** from netsim.c so that simulations that need no STUN do not link the STUN layer.
*/
#include <string.h>

#include "cwebrtc/stun.h"
#include "sim/netsim.h"

static void stun_recv(void *ud, rtc_time now, const rtc_addr *src, const rtc_addr *dst,
                      const uint8_t *buf, size_t len) {
    netsim *n = ud;
    rtc_stun_msg m;
    if (rtc_stun_parse(&m, buf, len) != RTC_OK) return;
    if (m.cls != RTC_STUN_REQUEST || m.method != RTC_STUN_BINDING) return;
    uint8_t out[128];
    rtc_stun_builder b;
    rtc_stun_build_response(&b, out, sizeof out, &m, RTC_STUN_SUCCESS);
    rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_MAPPED_ADDRESS, src);
    rtc_stun_add_fingerprint(&b);
    int k = rtc_stun_build_finish(&b);
    if (k > 0) netsim_send(n, dst, src, out, (size_t)k);
}

int netsim_add_stun_server(netsim *n, const rtc_addr *addr, const netsim_link *link) {
    return netsim_add_host(n, addr, 0, link, stun_recv, n);
}
