/* CRC-32 for FINGERPRINT (RFC 8489 §14.7), slicing-by-8: every STUN message a server or ICE
** agent sends or receives carries a FINGERPRINT, and util's byte-wise loop costs about
** 2 ns per byte (a 100-byte message: most of the parse time). Same result as rtc_crc32(). */
#include "stun/stun_int.h"
#include "util/buf.h"

#include "stun/crc32_tables.h"

uint32_t stun_crc32(const uint8_t *p, size_t n) {
    uint32_t crc = 0xFFFFFFFFu;
    const uint32_t(*T)[256] = stun_crc32_t8;
    while (n >= 8) {
        /* little-endian assembly of the next 8 bytes, written bytewise (no alignment or
        ** endianness assumptions) */
        uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                             (uint32_t)p[3] << 24);
        uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
                      (uint32_t)p[7] << 24;
        crc = T[7][lo & 0xff] ^ T[6][(lo >> 8) & 0xff] ^ T[5][(lo >> 16) & 0xff] ^
              T[4][lo >> 24] ^ T[3][hi & 0xff] ^ T[2][(hi >> 8) & 0xff] ^
              T[1][(hi >> 16) & 0xff] ^ T[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--) crc = T[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}
