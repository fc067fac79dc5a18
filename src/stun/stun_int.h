/* src/stun/stun_int.h: helpers shared by the STUN source files (private). */
#ifndef RTC_STUN_INT_H
#define RTC_STUN_INT_H

#include "cwebrtc/stun.h"
#include "util/util.h"

/* Message type <-> (method, class), RFC 8489 §5 Figure 3: M11..M7 C1 M6..M4 C0 M3..M0. */
static inline uint16_t stun_type_compose(uint16_t method, int cls) {
    return (uint16_t)((method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2) |
                      ((cls & 1) << 4) | ((cls & 2) << 7));
}
static inline uint16_t stun_type_method(uint16_t type) {
    return (uint16_t)((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));
}
static inline int stun_type_class(uint16_t type) {
    return ((type >> 4) & 1) | ((type >> 7) & 2);
}
static inline size_t stun_pad4(size_t n) { return (n + 3) & ~(size_t)3; }

/* Validates an attribute value length for its type (RFC 8489 §14, RFC 8656 §18).
** Returns true when acceptable; unknown types accept any length. */
RTC_INTERNAL bool stun_attr_len_ok(uint16_t type, const uint8_t *v, size_t len);
/* true when `type` is a comprehension-required attribute this layer knows. */
RTC_INTERNAL bool stun_attr_known(uint16_t type);

#endif
