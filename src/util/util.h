/*
** src/util/util.h: small shared pieces with no protocol knowledge (private).
**
** Memory, randomness and logging always go through an rtc_env (never a global), so a
** core stays deterministic under a seeded environment. Crypto helpers wrap OpenSSL 3
** (EVP_MAC / EVP_Q_digest; no deprecated APIs).
*/
#ifndef RTC_UTIL_UTIL_H
#define RTC_UTIL_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cwebrtc/addr.h"
#include "cwebrtc/common.h"

#define RTC_INTERNAL __attribute__((visibility("hidden"))) extern
#define RTC_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define RTC_MIN(a, b) ((a) < (b) ? (a) : (b))
#define RTC_MAX(a, b) ((a) > (b) ? (a) : (b))

/* ---- environment: memory ------------------------------------------------------- */
/* Fill an env from a user pointer (NULL => defaults). Always yields a usable env. */
RTC_INTERNAL void rtc_env_copy(rtc_env *dst, const rtc_env *src);
/* Allocate n bytes, zeroed. NULL on failure. */
RTC_INTERNAL void *rtc_calloc(const rtc_env *env, size_t n);
/* Resize; on failure returns NULL and leaves ptr untouched. */
RTC_INTERNAL void *rtc_realloc(const rtc_env *env, void *ptr, size_t old_n, size_t new_n);
/* Free (old size passed for allocators that want it; 0 is accepted). NULL is a no-op. */
RTC_INTERNAL void rtc_free(const rtc_env *env, void *ptr, size_t n);
/* Duplicate a string (NULL => NULL). */
RTC_INTERNAL char *rtc_strdup(const rtc_env *env, const char *s);
RTC_INTERNAL void rtc_strfree(const rtc_env *env, char *s);

/* ---- environment: randomness --------------------------------------------------- */
RTC_INTERNAL void rtc_random(const rtc_env *env, void *out, size_t len);
RTC_INTERNAL uint32_t rtc_random_u32(const rtc_env *env);
RTC_INTERNAL uint64_t rtc_random_u64(const rtc_env *env);
/* Uniform in [0, n) (n > 0). */
RTC_INTERNAL uint32_t rtc_random_below(const rtc_env *env, uint32_t n);
/* n chars from the ICE alphabet [A-Za-z0-9+/] plus a NUL (out must hold n+1). */
RTC_INTERNAL void rtc_random_ice_chars(const rtc_env *env, char *out, size_t n);

/* ---- environment: logging ------------------------------------------------------ */
RTC_INTERNAL bool rtc_log_enabled(const rtc_env *env, int level);
RTC_INTERNAL void rtc_log(const rtc_env *env, int level, const char *module, const char *file,
                          int line, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Each .c file defines LOG_MODULE before using these; `env` is a const rtc_env *. */
#define RTC_LOGE(env, ...) \
    rtc_log((env), RTC_LOG_ERROR, LOG_MODULE, __FILE__, __LINE__, __VA_ARGS__)
#define RTC_LOGW(env, ...) \
    rtc_log((env), RTC_LOG_WARN, LOG_MODULE, __FILE__, __LINE__, __VA_ARGS__)
#define RTC_LOGI(env, ...) \
    rtc_log((env), RTC_LOG_INFO, LOG_MODULE, __FILE__, __LINE__, __VA_ARGS__)
#define RTC_LOGD(env, ...)                                                         \
    do {                                                                           \
        if (rtc_log_enabled((env), RTC_LOG_DEBUG))                                 \
            rtc_log((env), RTC_LOG_DEBUG, LOG_MODULE, __FILE__, __LINE__, __VA_ARGS__); \
    } while (0)

/* ---- encodings ----------------------------------------------------------------- */
/* Standard base64 with padding. Returns the output length (no NUL is counted, one is
** written when there is room), or RTC_ERR_TOO_SMALL. rtc_base64_encoded_len() includes
** room for the NUL. */
RTC_INTERNAL size_t rtc_base64_encoded_len(size_t n);
RTC_INTERNAL int rtc_base64_encode(const uint8_t *in, size_t n, char *out, size_t size);
/* Decodes standard base64 (padding optional, no whitespace). RTC_ERR_PARSE on bad input. */
RTC_INTERNAL int rtc_base64_decode(const char *in, size_t n, uint8_t *out, size_t size);
/* Lowercase hex, NUL-terminated. Returns 2n or RTC_ERR_TOO_SMALL. */
RTC_INTERNAL int rtc_hex_encode(const uint8_t *in, size_t n, char *out, size_t size);
/* Hex (either case, no separators) to bytes. Returns byte count or RTC_ERR_PARSE/TOO_SMALL. */
RTC_INTERNAL int rtc_hex_decode(const char *in, size_t n, uint8_t *out, size_t size);

/* ---- checksums ----------------------------------------------------------------- */
/* CRC-32 (IEEE 802.3, as zlib and STUN FINGERPRINT use). Start with crc = 0. */
RTC_INTERNAL uint32_t rtc_crc32(uint32_t crc, const uint8_t *p, size_t n);
/* CRC-32c (Castagnoli, as SCTP uses; RFC 9260 App. B). Start with crc = 0. The returned
** value is the final CRC as an integer; SCTP stores it little-endian on the wire. */
RTC_INTERNAL uint32_t rtc_crc32c(uint32_t crc, const uint8_t *p, size_t n);

/* ---- crypto (OpenSSL 3) -------------------------------------------------------- */
#define RTC_SHA1_LEN 20
#define RTC_SHA256_LEN 32
#define RTC_SHA384_LEN 48
#define RTC_SHA512_LEN 64
#define RTC_MD5_LEN 16
/* Digests: return RTC_OK or RTC_ERR_CRYPTO. */
RTC_INTERNAL int rtc_md5(const void *p, size_t n, uint8_t out[RTC_MD5_LEN]);
RTC_INTERNAL int rtc_sha1(const void *p, size_t n, uint8_t out[RTC_SHA1_LEN]);
RTC_INTERNAL int rtc_sha256(const void *p, size_t n, uint8_t out[RTC_SHA256_LEN]);
/* HMACs over up to 3 concatenated pieces (pieces with NULL/0 are skipped), so STUN can
** hash header + body without copying. */
RTC_INTERNAL int rtc_hmac_sha1(const uint8_t *key, size_t key_len, const uint8_t *p1, size_t n1,
                               const uint8_t *p2, size_t n2, const uint8_t *p3, size_t n3,
                               uint8_t out[RTC_SHA1_LEN]);
RTC_INTERNAL int rtc_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *p1,
                                 size_t n1, const uint8_t *p2, size_t n2, const uint8_t *p3,
                                 size_t n3, uint8_t out[RTC_SHA256_LEN]);
/* Constant-time comparison; true when equal. */
RTC_INTERNAL bool rtc_ct_equal(const void *a, const void *b, size_t n);

#endif
