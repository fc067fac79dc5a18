/*
** Fuzz target: the TURN server core's input paths. The input is a sequence of records
** [kind:1][len:2][bytes...]; kind picks client-over-UDP, client-over-TCP, peer-to-relay,
** a time step, or an RFC 6062 event (a Connect's outcome, a peer connecting to the TCP
** relay). Before the fuzzed records, a real authenticated UDP allocation with a
** permission and a channel, and a TCP allocation (RFC 6062) on the client's TCP
** connection, are made so the fuzzer reaches the relaying and Connect/ConnectionBind code.
*/
#include <stdint.h>
#include <string.h>

#include "cwebrtc/stun.h"
#include "cwebrtc/turn_server.h"

static int relay_open(void *ud, uint8_t family, bool even, bool reserve_next, uint64_t token_in,
                      rtc_addr *relay, void **handle, uint64_t *token) {
    static uint16_t port = 40000;
    uint8_t ip[4] = {198, 51, 100, 1};
    rtc_addr_set_ipv4(relay, ip, port++);
    *handle = NULL;
    if (reserve_next) *token = 42;
    return RTC_OK;
}
static void relay_close(void *ud, void *handle) {}

static uint32_t last_conn_id;
static int tcp_listen(void *ud, uint8_t family, rtc_addr *relay, void **handle) {
    uint8_t ip[4] = {198, 51, 100, 2};
    rtc_addr_set_ipv4(relay, ip, 60000);
    *handle = NULL;
    return RTC_OK;
}
static void tcp_unlisten(void *ud, void *handle) {}
static int tcp_connect(void *ud, void *handle, const rtc_addr *peer, uint32_t id) {
    last_conn_id = id;
    return RTC_OK;
}
static void tcp_drop(void *ud, uint32_t id) {}
static void tcp_bind(void *ud, uint32_t id, const rtc_addr *l, const rtc_addr *c) {}

static void drain(rtc_turn_server *s, uint8_t *nonce, size_t *nlen) {
    rtc_turn_transmit t;
    while (rtc_turn_server_poll_transmit(s, &t) == 1) {
        rtc_stun_msg m;
        const uint8_t *n;
        size_t l;
        if (nonce && !t.from_relay && rtc_stun_parse(&m, t.data, t.len) == RTC_OK &&
            rtc_stun_get_bytes(&m, RTC_STUN_ATTR_NONCE, &n, &l) == RTC_OK && l < 64) {
            memcpy(nonce, n, l);
            *nlen = l;
        }
    }
}

static void request(rtc_turn_server *s, rtc_time now, int transport, const rtc_addr *l,
                    const rtc_addr *c, uint16_t method, const rtc_stun_key *k, const char *nonce, const rtc_addr *peer,
                    uint8_t *nbuf, size_t *nlen) {
    uint8_t buf[512], tid[12] = {method};
    rtc_stun_builder b;
    rtc_stun_build_init(&b, buf, sizeof buf, method, RTC_STUN_REQUEST, tid);
    if (method == RTC_STUN_ALLOCATE)
        rtc_stun_add_requested_transport(&b, transport == RTC_TURN_TCP ? 6 : RTC_STUN_TRANSPORT_UDP);
    if (method == RTC_STUN_CHANNEL_BIND) rtc_stun_add_channel_number(&b, 0x4000);
    if (peer) rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_PEER_ADDRESS, peer);
    if (nonce) {
        rtc_stun_add_string(&b, RTC_STUN_ATTR_USERNAME, "u");
        rtc_stun_add_string(&b, RTC_STUN_ATTR_REALM, "r");
        rtc_stun_add_string(&b, RTC_STUN_ATTR_NONCE, nonce);
        rtc_stun_add_integrity(&b, k);
    }
    int n = rtc_stun_build_finish(&b);
    rtc_turn_server_handle_client(s, now, (rtc_turn_transport)transport, l, c, buf, (size_t)n);
    drain(s, nbuf, nlen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rtc_turn_server_config cfg = {.realm = "r",
                                  .relay = {relay_open, relay_close, NULL},
                                  .tcp = {tcp_listen, tcp_unlisten, tcp_connect, tcp_drop, tcp_bind, NULL}};
    last_conn_id = 0;
    rtc_turn_server *s;
    if (rtc_turn_server_new(&s, &cfg, NULL) != RTC_OK) return 0;
    rtc_turn_server_add_user(s, "u", "p");
    rtc_turn_server_add_secret(s, "secret");
    rtc_addr l, c, peer, relay;
    rtc_addr_parse(&l, "192.0.2.1:3478", 0);
    rtc_addr_parse(&c, "203.0.113.5:5000", 0);
    rtc_addr_parse(&peer, "198.51.100.9:7000", 0);
    rtc_addr_parse(&relay, "198.51.100.1:40000", 0);
    rtc_stun_key k;
    rtc_stun_key_long_term(&k, RTC_STUN_PASSWORD_ALG_MD5, "u", 1, "r", 1, "p", 1, NULL);
    rtc_time now = 1000000;
    uint8_t nonce[65] = {0};
    size_t nlen = 0;
    request(s, now, RTC_TURN_UDP, &l, &c, RTC_STUN_ALLOCATE, &k, NULL, NULL, nonce, &nlen);
    nonce[nlen] = 0;
    request(s, now, RTC_TURN_UDP, &l, &c, RTC_STUN_ALLOCATE, &k, (const char *)nonce, NULL, NULL, NULL);
    request(s, now, RTC_TURN_UDP, &l, &c, RTC_STUN_CHANNEL_BIND, &k, (const char *)nonce, &peer, NULL,
            NULL);
    request(s, now, RTC_TURN_TCP, &l, &c, RTC_STUN_ALLOCATE, &k, (const char *)nonce, NULL, NULL, NULL);
    request(s, now, RTC_TURN_TCP, &l, &c, RTC_STUN_CREATE_PERMISSION, &k, (const char *)nonce, &peer,
            NULL, NULL);
    request(s, now, RTC_TURN_TCP, &l, &c, RTC_STUN_CONNECT, &k, (const char *)nonce, &peer, NULL, NULL);
    rtc_addr tcp_relay;
    rtc_addr_parse(&tcp_relay, "198.51.100.2:60000", 0);

    size_t off = 0;
    while (off + 3 <= size) {
        uint8_t kind = data[off];
        size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
        off += 3;
        if (len > size - off) len = size - off;
        const uint8_t *p = data + off;
        off += len;
        switch (kind % 6) {
        case 0: rtc_turn_server_handle_client(s, now, RTC_TURN_UDP, &l, &c, p, len); break;
        case 1: rtc_turn_server_handle_client(s, now, RTC_TURN_TCP, &l, &c, p, len); break;
        case 2: rtc_turn_server_handle_peer(s, now, &relay, &peer, p, len); break;
        case 3:
            now += (rtc_time)(len ? p[0] : 1) * 1000000;
            rtc_turn_server_handle_timeout(s, now);
            break;
        case 4: /* the app reports the last Connect (or a fuzzed id) */
            rtc_turn_server_tcp_connected(s, now, len >= 4 ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
                                                                 (uint32_t)p[2] << 8 | p[3]
                                                           : last_conn_id,
                                          len & 1);
            break;
        case 5: {
            uint32_t id;
            rtc_turn_server_tcp_peer_accepted(s, now, &tcp_relay, &peer, &id);
            break;
        }
        }
        drain(s, NULL, NULL);
    }
    rtc_turn_server_free(s);
    return 0;
}
