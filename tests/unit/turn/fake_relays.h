/*
** tests/unit/turn/fake_relays.h: a relay-address provider for the TURN server core's tests
** (no sockets): IPv4 198.51.100.1 / IPv6 2001:db8::100 with ports counting up from 50000,
** EVEN-PORT and reservations honoured, opens and closes counted, `fail` refuses.
*/
#ifndef RTC_TESTS_FAKE_RELAYS_H
#define RTC_TESTS_FAKE_RELAYS_H

#include <stdbool.h>
#include <stdint.h>

#include "cwebrtc/turn_server.h"

typedef struct relays {
    int open, closed;
    uint16_t next_port;
    bool fail;
} relays;

static int relay_open(void *ud, uint8_t family, bool even, bool reserve_next, uint64_t token_in,
                      rtc_addr *relay, void **handle, uint64_t *token) {
    relays *r = ud;
    if (r->fail) return RTC_ERR_NOMEM;
    if (!r->next_port) r->next_port = 50000;
    if (even && (r->next_port & 1)) r->next_port++;
    const char *ip = family == RTC_AF_INET6 ? "2001:db8::100" : "198.51.100.1";
    rtc_addr_parse_ip(relay, ip, r->next_port);
    r->next_port += reserve_next ? 2 : 1;
    if (reserve_next) *token = 0x1122334455667788ull;
    *handle = (void *)(uintptr_t)(r->open + 1);
    r->open++;
    return RTC_OK;
}
static void relay_close(void *ud, void *handle) { ((relays *)ud)->closed++; }

#endif
