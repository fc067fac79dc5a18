/*
** src/stun/hash.h: SHA-1 and SHA-256 with resumable HMAC states (private to src/stun).
**
** Why not OpenSSL here: util's rtc_hmac_sha1() creates an EVP_MAC_CTX and resolves the
** digest by name on every call, which costs more than hashing a 100-byte STUN message.
** STUN keys are long-lived (an ICE password, a TURN user's key), so rtc_stun_key keeps
** the compression state after absorbing key^ipad and key^opad once; a MAC then costs
** only the message blocks plus one outer block, with no allocation. Correctness is
** checked against OpenSSL (util) and the RFC 5769 vectors in tests/unit/stun.
*/
#ifndef RTC_STUN_HASH_H
#define RTC_STUN_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

typedef struct stun_sha1 {
    uint32_t h[5];
    int hw; /* 1: use SHA-NI (only when stun_hash_hw() said so) */
    uint64_t total; /* bytes absorbed */
    uint8_t buf[64];
    size_t n; /* bytes in buf */
} stun_sha1;

typedef struct stun_sha256 {
    uint32_t h[8];
    int hw;
    uint64_t total;
    uint8_t buf[64];
    size_t n;
} stun_sha256;

/* 1 when this CPU has the x86 SHA extensions (CPUID read once per process, cached). */
RTC_INTERNAL int stun_hash_hw(void);

/* `hw` selects the SHA-NI block function; pass 0 for portable code. */
RTC_INTERNAL void stun_sha1_init(stun_sha1 *c, int hw);
RTC_INTERNAL void stun_sha1_update(stun_sha1 *c, const uint8_t *p, size_t n);
RTC_INTERNAL void stun_sha1_final(stun_sha1 *c, uint8_t out[20]);
RTC_INTERNAL void stun_sha256_init(stun_sha256 *c, int hw);
RTC_INTERNAL void stun_sha256_update(stun_sha256 *c, const uint8_t *p, size_t n);
RTC_INTERNAL void stun_sha256_final(stun_sha256 *c, uint8_t out[32]);

/* HMAC precomputation: the chaining values after one block of key^ipad / key^opad. */
RTC_INTERNAL void stun_hmac_sha1_prepare(int hw, const uint8_t *key, size_t len,
                                         uint32_t inner[5], uint32_t outer[5]);
RTC_INTERNAL void stun_hmac_sha256_prepare(int hw, const uint8_t *key, size_t len,
                                           uint32_t inner[8], uint32_t outer[8]);
/* Start an HMAC from prepared state; finish with stun_hmac_*_final. */
RTC_INTERNAL void stun_hmac_sha1_begin(stun_sha1 *c, int hw, const uint32_t inner[5]);
RTC_INTERNAL void stun_hmac_sha1_final(stun_sha1 *c, const uint32_t outer[5], uint8_t out[20]);
RTC_INTERNAL void stun_hmac_sha256_begin(stun_sha256 *c, int hw, const uint32_t inner[8]);
RTC_INTERNAL void stun_hmac_sha256_final(stun_sha256 *c, const uint32_t outer[8],
                                         uint8_t out[32]);

#endif
