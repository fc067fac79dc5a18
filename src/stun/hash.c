/* SHA-1 (FIPS 180-4 §6.1) and SHA-256 (§6.2), portable C, plus HMAC (RFC 2104) from
** precomputed pad states. See hash.h for why this exists beside OpenSSL. */
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "stun/hash.h"
#include "util/buf.h"

#define ROL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))
#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha1_block(uint32_t h[5], const uint8_t *p) {
    uint32_t w[80];
    for (int i = 0; i < 16; i++) w[i] = rtc_be32(p + 4 * i);
    for (int i = 16; i < 80; i++) w[i] = ROL(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5A827999u;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ED9EBA1u;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8F1BBCDCu;
        } else {
            f = b ^ c ^ d;
            k = 0xCA62C1D6u;
        }
        uint32_t t = ROL(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = ROL(b, 30);
        b = a;
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

static const uint32_t K256[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u,
    0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu,
    0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu,
    0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u,
    0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
    0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
    0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u,
    0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u,
    0xc67178f2u};

static void sha256_block(uint32_t h[8], const uint8_t *p) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++) w[i] = rtc_be32(p + 4 * i);
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t S1 = ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = hh + S1 + ch + K256[i] + w[i];
        uint32_t S0 = ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22);
        uint32_t mj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = S0 + mj;
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define STUN_HAVE_SHANI 1

/* x86 SHA extensions (SHA-NI): about 4x the portable code per block. The schedule
** below is the textbook one (Intel's "SHA extensions" paper), written as loops. */
__attribute__((target("sha,sse4.1,ssse3"))) static void sha1_block_ni(uint32_t h[5],
                                                                      const uint8_t *p) {
    const __m128i mask = _mm_set_epi64x(0x0001020304050607LL, 0x08090a0b0c0d0e0fLL);
    __m128i abcd = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)h), 0x1B);
    __m128i e0 = _mm_set_epi32((int)h[4], 0, 0, 0);
    __m128i abcd_save = abcd, e_save = e0;
    __m128i w[4], e, prev;
    for (int i = 0; i < 4; i++)
        w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), mask);
    e = _mm_add_epi32(e0, w[0]);
    prev = abcd;
    abcd = _mm_sha1rnds4_epu32(abcd, e, 0);
/* One group of 4 rounds g (>= 1) with round function f (an immediate). */
#define SHA1_GROUP(g, f)                                                                  \
    do {                                                                                  \
        if ((g) >= 4)                                                                     \
            w[(g)&3] = _mm_sha1msg2_epu32(                                                \
                _mm_xor_si128(_mm_sha1msg1_epu32(w[(g)&3], w[((g) + 1) & 3]),             \
                              w[((g) + 2) & 3]),                                          \
                w[((g) + 3) & 3]);                                                        \
        e = _mm_sha1nexte_epu32(prev, w[(g)&3]);                                          \
        prev = abcd;                                                                      \
        abcd = _mm_sha1rnds4_epu32(abcd, e, f);                                           \
    } while (0)
    for (int g = 1; g < 5; g++) SHA1_GROUP(g, 0);
    for (int g = 5; g < 10; g++) SHA1_GROUP(g, 1);
    for (int g = 10; g < 15; g++) SHA1_GROUP(g, 2);
    for (int g = 15; g < 20; g++) SHA1_GROUP(g, 3);
#undef SHA1_GROUP
    e0 = _mm_sha1nexte_epu32(prev, e_save);
    abcd = _mm_add_epi32(abcd, abcd_save);
    _mm_storeu_si128((__m128i *)h, _mm_shuffle_epi32(abcd, 0x1B));
    h[4] = (uint32_t)_mm_extract_epi32(e0, 3);
}

__attribute__((target("sha,sse4.1,ssse3"))) static void sha256_block_ni(uint32_t h[8],
                                                                        const uint8_t *p) {
    const __m128i mask = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)h), 0xB1);  /* CDAB */
    __m128i s1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(h + 4)), 0x1B); /* EFGH */
    __m128i s0 = _mm_alignr_epi8(tmp, s1, 8);    /* ABEF */
    s1 = _mm_blend_epi16(s1, tmp, 0xF0);         /* CDGH */
    __m128i s0_save = s0, s1_save = s1;
    __m128i w[4];
    for (int i = 0; i < 16; i++) {
        if (i < 4)
            w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), mask);
        else
            w[i & 3] = _mm_sha256msg2_epu32(
                _mm_add_epi32(_mm_sha256msg1_epu32(w[i & 3], w[(i + 1) & 3]),
                              _mm_alignr_epi8(w[(i + 3) & 3], w[(i + 2) & 3], 4)),
                w[(i + 3) & 3]);
        __m128i m = _mm_add_epi32(w[i & 3], _mm_loadu_si128((const __m128i *)&K256[4 * i]));
        s1 = _mm_sha256rnds2_epu32(s1, s0, m);
        s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(m, 0x0E));
    }
    s0 = _mm_add_epi32(s0, s0_save);
    s1 = _mm_add_epi32(s1, s1_save);
    tmp = _mm_shuffle_epi32(s0, 0x1B);           /* FEBA */
    s1 = _mm_shuffle_epi32(s1, 0xB1);            /* DCHG */
    s0 = _mm_blend_epi16(tmp, s1, 0xF0);         /* DCBA */
    s1 = _mm_alignr_epi8(s1, tmp, 8);            /* HGFE */
    _mm_storeu_si128((__m128i *)h, s0);
    _mm_storeu_si128((__m128i *)(h + 4), s1);
}

static int detect_sha_ni(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    bool sse = (c & bit_SSE4_1) && (c & bit_SSSE3);
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return sse && (b & (1u << 29)) ? 1 : 0; /* CPUID.7.0:EBX[29] = SHA */
}

/* CPUID traps to the hypervisor in VMs (measured here: ~30 us for the two leaves), so the
** answer is read once per process and kept: an immutable fact about the hardware, the
** same kind of process-wide constant as util's cached EVP_MAC handle, not protocol
** state. Racing first calls all store the same value. */
static _Atomic int sha_ni_state = -1;

int stun_hash_hw(void) {
    int v = atomic_load_explicit(&sha_ni_state, memory_order_relaxed);
    if (v < 0) {
        v = detect_sha_ni();
        atomic_store_explicit(&sha_ni_state, v, memory_order_relaxed);
    }
    return v;
}
#else
int stun_hash_hw(void) { return 0; }
#endif

/* The Merkle-Damgard framing is identical for both hashes; only the block function and
** state size differ, so one macro-free pair of helpers serves both. */
typedef void (*block_fn)(uint32_t *h, const uint8_t *p);

static void md_update(uint32_t *h, uint8_t buf[64], size_t *n, uint64_t *total,
                      block_fn blk, const uint8_t *p, size_t len) {
    *total += len;
    if (*n) {
        size_t take = 64 - *n < len ? 64 - *n : len;
        memcpy(buf + *n, p, take);
        *n += take;
        p += take;
        len -= take;
        if (*n < 64) return;
        blk(h, buf);
        *n = 0;
    }
    while (len >= 64) {
        blk(h, p);
        p += 64;
        len -= 64;
    }
    if (len) {
        memcpy(buf, p, len);
        *n = len;
    }
}

static void md_pad(uint32_t *h, uint8_t buf[64], size_t n, uint64_t total, block_fn blk) {
    uint64_t bits = total * 8;
    buf[n++] = 0x80;
    if (n > 56) {
        memset(buf + n, 0, 64 - n);
        blk(h, buf);
        n = 0;
    }
    memset(buf + n, 0, 56 - n);
    rtc_put_be32(buf + 56, (uint32_t)(bits >> 32));
    rtc_put_be32(buf + 60, (uint32_t)bits);
    blk(h, buf);
}

static const uint32_t IV1[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u,
                                0xC3D2E1F0u};
static const uint32_t IV256[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                                  0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};

static void sha1_blk_port(uint32_t *h, const uint8_t *p) { sha1_block(h, p); }
static void sha256_blk_port(uint32_t *h, const uint8_t *p) { sha256_block(h, p); }
#ifdef STUN_HAVE_SHANI
static void sha1_blk_hw(uint32_t *h, const uint8_t *p) { sha1_block_ni(h, p); }
static void sha256_blk_hw(uint32_t *h, const uint8_t *p) { sha256_block_ni(h, p); }
#define SHA1_FN(hw) ((hw) ? sha1_blk_hw : sha1_blk_port)
#define SHA256_FN(hw) ((hw) ? sha256_blk_hw : sha256_blk_port)
#else
#define SHA1_FN(hw) sha1_blk_port
#define SHA256_FN(hw) sha256_blk_port
#endif

void stun_sha1_init(stun_sha1 *c, int hw) {
    memcpy(c->h, IV1, sizeof IV1);
    c->hw = hw;
    c->total = 0;
    c->n = 0;
}
void stun_sha1_update(stun_sha1 *c, const uint8_t *p, size_t n) {
    if (n) md_update(c->h, c->buf, &c->n, &c->total, SHA1_FN(c->hw), p, n);
}
void stun_sha1_final(stun_sha1 *c, uint8_t out[20]) {
    md_pad(c->h, c->buf, c->n, c->total, SHA1_FN(c->hw));
    for (int i = 0; i < 5; i++) rtc_put_be32(out + 4 * i, c->h[i]);
}
void stun_sha256_init(stun_sha256 *c, int hw) {
    memcpy(c->h, IV256, sizeof IV256);
    c->hw = hw;
    c->total = 0;
    c->n = 0;
}
void stun_sha256_update(stun_sha256 *c, const uint8_t *p, size_t n) {
    if (n) md_update(c->h, c->buf, &c->n, &c->total, SHA256_FN(c->hw), p, n);
}
void stun_sha256_final(stun_sha256 *c, uint8_t out[32]) {
    md_pad(c->h, c->buf, c->n, c->total, SHA256_FN(c->hw));
    for (int i = 0; i < 8; i++) rtc_put_be32(out + 4 * i, c->h[i]);
}

void stun_hmac_sha1_prepare(int hw, const uint8_t *key, size_t len, uint32_t inner[5],
                            uint32_t outer[5]) {
    uint8_t k[64] = {0}, pad[64];
    if (len > 64) { /* RFC 2104: long keys are hashed first */
        stun_sha1 c;
        stun_sha1_init(&c, hw);
        stun_sha1_update(&c, key, len);
        stun_sha1_final(&c, k);
    } else if (len) {
        memcpy(k, key, len);
    }
    for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x36;
    memcpy(inner, IV1, sizeof IV1);
    SHA1_FN(hw)(inner, pad);
    for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x5c;
    memcpy(outer, IV1, sizeof IV1);
    SHA1_FN(hw)(outer, pad);
    memset(k, 0, sizeof k);
    memset(pad, 0, sizeof pad);
}

void stun_hmac_sha256_prepare(int hw, const uint8_t *key, size_t len, uint32_t inner[8],
                              uint32_t outer[8]) {
    uint8_t k[64] = {0}, pad[64];
    if (len > 64) {
        stun_sha256 c;
        stun_sha256_init(&c, hw);
        stun_sha256_update(&c, key, len);
        stun_sha256_final(&c, k);
    } else if (len) {
        memcpy(k, key, len);
    }
    for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x36;
    memcpy(inner, IV256, sizeof IV256);
    SHA256_FN(hw)(inner, pad);
    for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x5c;
    memcpy(outer, IV256, sizeof IV256);
    SHA256_FN(hw)(outer, pad);
    memset(k, 0, sizeof k);
    memset(pad, 0, sizeof pad);
}

void stun_hmac_sha1_begin(stun_sha1 *c, int hw, const uint32_t inner[5]) {
    memcpy(c->h, inner, 5 * sizeof(uint32_t));
    c->hw = hw;
    c->total = 64;
    c->n = 0;
}
void stun_hmac_sha1_final(stun_sha1 *c, const uint32_t outer[5], uint8_t out[20]) {
    uint8_t ih[20];
    stun_sha1_final(c, ih);
    memcpy(c->h, outer, 5 * sizeof(uint32_t));
    c->total = 64;
    c->n = 0;
    stun_sha1_update(c, ih, sizeof ih);
    stun_sha1_final(c, out);
}
void stun_hmac_sha256_begin(stun_sha256 *c, int hw, const uint32_t inner[8]) {
    memcpy(c->h, inner, 8 * sizeof(uint32_t));
    c->hw = hw;
    c->total = 64;
    c->n = 0;
}
void stun_hmac_sha256_final(stun_sha256 *c, const uint32_t outer[8], uint8_t out[32]) {
    uint8_t ih[32];
    stun_sha256_final(c, ih);
    memcpy(c->h, outer, 8 * sizeof(uint32_t));
    c->total = 64;
    c->n = 0;
    stun_sha256_update(c, ih, sizeof ih);
    stun_sha256_final(c, out);
}
