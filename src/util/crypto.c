/* Digests and HMACs through OpenSSL 3 (EVP_Q_digest, EVP_MAC); no deprecated APIs. */
#include <stdatomic.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "util/util.h"

static int digest(const char *name, const void *p, size_t n, uint8_t *out, size_t out_len) {
    size_t len = 0;
    if (!EVP_Q_digest(NULL, name, NULL, p, n, out, &len) || len != out_len)
        return RTC_ERR_CRYPTO;
    return RTC_OK;
}

int rtc_md5(const void *p, size_t n, uint8_t out[RTC_MD5_LEN]) {
    return digest("MD5", p, n, out, RTC_MD5_LEN);
}
int rtc_sha1(const void *p, size_t n, uint8_t out[RTC_SHA1_LEN]) {
    return digest("SHA1", p, n, out, RTC_SHA1_LEN);
}
int rtc_sha256(const void *p, size_t n, uint8_t out[RTC_SHA256_LEN]) {
    return digest("SHA256", p, n, out, RTC_SHA256_LEN);
}

/* HMAC via EVP_MAC. Fetching an algorithm costs more than hashing a STUN message, so
** the HMAC implementation is fetched once and kept: an immutable, process-wide handle
** (the only static in util), published with an atomic compare-and-swap. */
static _Atomic(EVP_MAC *) hmac_alg;

static EVP_MAC *hmac_get(void) {
    EVP_MAC *m = atomic_load(&hmac_alg);
    if (m) return m;
    EVP_MAC *fresh = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!fresh) return NULL;
    EVP_MAC *expected = NULL;
    if (!atomic_compare_exchange_strong(&hmac_alg, &expected, fresh)) {
        EVP_MAC_free(fresh);
        return expected;
    }
    return fresh;
}

static int hmac3(const char *md, const uint8_t *key, size_t key_len, const uint8_t *p1,
                 size_t n1, const uint8_t *p2, size_t n2, const uint8_t *p3, size_t n3,
                 uint8_t *out, size_t out_len) {
    int rc = RTC_ERR_CRYPTO;
    EVP_MAC *mac = hmac_get();
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)md, 0);
    params[1] = OSSL_PARAM_construct_end();
    static const uint8_t empty_key[1];
    if (!key || key_len == 0) { /* OpenSSL rejects a NULL key; HMAC with "" is valid */
        key = empty_key;
        key_len = 0;
    }
    size_t len = 0;
    if (ctx && EVP_MAC_init(ctx, key, key_len, params) &&
        (!p1 || !n1 || EVP_MAC_update(ctx, p1, n1)) &&
        (!p2 || !n2 || EVP_MAC_update(ctx, p2, n2)) &&
        (!p3 || !n3 || EVP_MAC_update(ctx, p3, n3)) && EVP_MAC_final(ctx, out, &len, out_len) &&
        len == out_len)
        rc = RTC_OK;
    EVP_MAC_CTX_free(ctx);
    return rc;
}

int rtc_hmac_sha1(const uint8_t *key, size_t key_len, const uint8_t *p1, size_t n1,
                  const uint8_t *p2, size_t n2, const uint8_t *p3, size_t n3,
                  uint8_t out[RTC_SHA1_LEN]) {
    return hmac3("SHA1", key, key_len, p1, n1, p2, n2, p3, n3, out, RTC_SHA1_LEN);
}

int rtc_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *p1, size_t n1,
                    const uint8_t *p2, size_t n2, const uint8_t *p3, size_t n3,
                    uint8_t out[RTC_SHA256_LEN]) {
    return hmac3("SHA256", key, key_len, p1, n1, p2, n2, p3, n3, out, RTC_SHA256_LEN);
}

bool rtc_ct_equal(const void *a, const void *b, size_t n) {
    return CRYPTO_memcmp(a, b, n) == 0;
}
