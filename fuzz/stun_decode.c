/*
** fuzz/stun_decode.c: parse any bytes as STUN; when they parse, exercise every getter,
** re-encode the message attribute by attribute (raw values) with MI, MI-SHA256 and
** FINGERPRINT under a fixed key, and require that the re-encoding parses, verifies and
** carries the same attributes. Also checks that integrity verification of the input
** never crashes. Seeds: fuzz/corpus/stun_decode/ (RFC 5769 messages and others).
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cwebrtc/stun.h"

static void touch_getters(const rtc_stun_msg *m) {
    rtc_addr a;
    const uint8_t *p;
    size_t n;
    uint32_t u32;
    uint64_t u64;
    int code;
    const char *reason;
    uint16_t types[8], ch;
    uint8_t u8, u8b;
    bool bl;
    static const uint16_t addr_types[] = {RTC_STUN_ATTR_MAPPED_ADDRESS, RTC_STUN_ATTR_ALTERNATE_SERVER,
                                          RTC_STUN_ATTR_RESPONSE_ORIGIN, RTC_STUN_ATTR_OTHER_ADDRESS};
    static const uint16_t xor_types[] = {RTC_STUN_ATTR_XOR_MAPPED_ADDRESS, RTC_STUN_ATTR_XOR_PEER_ADDRESS,
                                         RTC_STUN_ATTR_XOR_RELAYED_ADDRESS};
    for (size_t i = 0; i < sizeof addr_types / sizeof addr_types[0]; i++)
        (void)rtc_stun_get_addr(m, addr_types[i], &a);
    for (size_t i = 0; i < sizeof xor_types / sizeof xor_types[0]; i++) {
        const rtc_stun_attr *at = rtc_stun_find(m, xor_types[i]);
        for (int k = 0; at && k < RTC_STUN_MAX_ATTRS; k++, at = rtc_stun_find_next(m, at))
            (void)rtc_stun_attr_xor_addr(m, at, &a);
    }
    (void)rtc_stun_get_bytes(m, RTC_STUN_ATTR_USERNAME, &p, &n);
    (void)rtc_stun_get_u32(m, RTC_STUN_ATTR_PRIORITY, &u32);
    (void)rtc_stun_get_u64(m, RTC_STUN_ATTR_ICE_CONTROLLING, &u64);
    (void)rtc_stun_get_error_code(m, &code, &reason, &n);
    (void)rtc_stun_get_unknown_attributes(m, types, 8);
    (void)rtc_stun_get_channel_number(m, &ch);
    (void)rtc_stun_get_requested_transport(m, &u8);
    (void)rtc_stun_get_family(m, RTC_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, &u8);
    (void)rtc_stun_get_even_port(m, &bl);
    (void)rtc_stun_get_address_error_code(m, &u8, &code, &reason, &n);
    (void)rtc_stun_get_icmp(m, &u8, &u8b, &u32);
    (void)rtc_stun_get_password_algorithm(m, &ch);
    (void)rtc_stun_get_password_algorithms(m, types, 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rtc_stun_msg m;
    (void)rtc_stun_message_size(data, size);
    (void)rtc_stun_is_message(data, size);
    int rc = rtc_stun_parse(&m, data, size);
    if (rc != RTC_OK && rc != RTC_ERR_UNSUPPORTED) return 0;

    rtc_stun_key key;
    rtc_stun_key_set(&key, (const uint8_t *)"fuzz-password", 13);
    (void)rtc_stun_check_integrity(&m, &key);
    touch_getters(&m);

    /* Re-encode the attributes that count, except integrity and fingerprint. */
    static uint8_t out[70000];
    rtc_stun_builder b;
    if (rtc_stun_build_init(&b, out, sizeof out, m.method, m.cls, m.tid) != RTC_OK) abort();
    int kept = 0;
    for (unsigned i = 0; i < m.n_attrs; i++) {
        const rtc_stun_attr *a = &m.attrs[i];
        if (a->type == RTC_STUN_ATTR_MESSAGE_INTEGRITY || a->type == RTC_STUN_ATTR_FINGERPRINT ||
            a->type == RTC_STUN_ATTR_MESSAGE_INTEGRITY_SHA256)
            continue;
        if (rtc_stun_add_attr(&b, a->type, rtc_stun_attr_value(&m, a), a->len) != RTC_OK) abort();
        kept++;
    }
    /* Re-encoding needs room for 3 more attributes; at most 64 may exist in total. */
    if (kept + 3 > RTC_STUN_MAX_ATTRS) return 0;
    rtc_stun_add_integrity(&b, &key);
    rtc_stun_add_integrity_sha256(&b, &key);
    rtc_stun_add_fingerprint(&b);
    int len = rtc_stun_build_finish(&b);
    if (len < 0) {
        if (len == RTC_ERR_TOO_SMALL) return 0; /* input near 64 KiB plus our additions */
        abort();
    }
    rtc_stun_msg m2;
    rc = rtc_stun_parse(&m2, out, (size_t)len);
    if (rc != RTC_OK && rc != RTC_ERR_UNSUPPORTED) abort();
    if (rtc_stun_check_integrity(&m2, &key) != RTC_OK) abort();
    if (m2.n_attrs != (unsigned)kept + 3 || m2.method != m.method || m2.cls != m.cls ||
        memcmp(m2.tid, m.tid, RTC_STUN_TID_LEN) != 0 || m2.n_unknown != m.n_unknown)
        abort();
    for (int i = 0; i < kept; i++)
        if (m2.attrs[i].type != m.attrs[i].type || m2.attrs[i].len != m.attrs[i].len) abort();
    return 0;
}
