/*
** src/srtp/kdf.c: the profile table (RFC 5764 §4.1.2, RFC 7714 §14.2), the DTLS-SRTP key
** block split (RFC 5764 §4.2), the AES-CM key derivation (RFC 3711 §4.3) and IV layouts.
*/
#define LOG_MODULE "srtp"
#include "srtp/srtp_internal.h"

#include <openssl/crypto.h>
#include <string.h>

typedef struct profile_row {
    uint16_t id;
    const char *name;
    rtc_srtp_profile_info info;
} profile_row;

static const profile_row k_profiles[] = {
    {RTC_SRTP_AES128_CM_SHA1_80, "AES_CM_128_HMAC_SHA1_80", {16, 14, 10, 10, false}},
    /* RFC 5764 §4.1.2: the _32 profile shortens only the SRTP tag; SRTCP keeps 80 bits. */
    {RTC_SRTP_AES128_CM_SHA1_32, "AES_CM_128_HMAC_SHA1_32", {16, 14, 4, 10, false}},
    {RTC_SRTP_AEAD_AES_128_GCM, "AEAD_AES_128_GCM", {16, 12, 16, 16, true}},
    {RTC_SRTP_AEAD_AES_256_GCM, "AEAD_AES_256_GCM", {32, 12, 16, 16, true}},
};

static const profile_row *find_profile(uint16_t id) {
    for (size_t i = 0; i < RTC_ARRAY_LEN(k_profiles); i++)
        if (k_profiles[i].id == id) return &k_profiles[i];
    return NULL;
}

int rtc_srtp_profile_get_info(uint16_t profile, rtc_srtp_profile_info *out) {
    const profile_row *p = find_profile(profile);
    if (!p) return RTC_ERR_UNSUPPORTED;
    if (out) *out = p->info;
    return RTC_OK;
}

int rtc_srtp_profile_lengths(uint16_t profile, size_t *key_len, size_t *salt_len) {
    const profile_row *p = find_profile(profile);
    if (!p) return RTC_ERR_UNSUPPORTED;
    if (key_len) *key_len = p->info.key_len;
    if (salt_len) *salt_len = p->info.salt_len;
    return RTC_OK;
}

const char *rtc_srtp_profile_name(uint16_t profile) {
    const profile_row *p = find_profile(profile);
    return p ? p->name : NULL;
}

int rtc_srtp_split_keying_material(uint16_t profile, const uint8_t *material, size_t len,
                                   bool is_client, rtc_srtp_keys *local, rtc_srtp_keys *remote) {
    const profile_row *p = find_profile(profile);
    if (!p) return RTC_ERR_UNSUPPORTED;
    size_t k = p->info.key_len, sl = p->info.salt_len;
    if (!material || !local || !remote || len != 2 * (k + sl)) return RTC_ERR_INVALID;
    /* RFC 5764 §4.2: client_write_SRTP_master_key | server_write_SRTP_master_key |
    ** client_write_SRTP_master_salt | server_write_SRTP_master_salt. */
    rtc_reader r;
    rtc_reader_init(&r, material, len);
    rtc_srtp_keys client, server;
    memset(&client, 0, sizeof client);
    memset(&server, 0, sizeof server);
    client.profile = server.profile = profile;
    client.key_len = server.key_len = k;
    client.salt_len = server.salt_len = sl;
    rtc_read_bytes(&r, client.key, k);
    rtc_read_bytes(&r, server.key, k);
    rtc_read_bytes(&r, client.salt, sl);
    rtc_read_bytes(&r, server.salt, sl);
    if (r.err) return RTC_ERR_INVALID;
    *local = is_client ? client : server;
    *remote = is_client ? server : client;
    OPENSSL_cleanse(&client, sizeof client);
    OPENSSL_cleanse(&server, sizeof server);
    return RTC_OK;
}

int rsrtp_kdf(EVP_CIPHER *cipher, const uint8_t *master_key, size_t key_len,
              const uint8_t *master_salt, size_t salt_len, uint8_t label, uint8_t *out, size_t n) {
    if ((key_len != 16 && key_len != 32) || (salt_len != 14 && salt_len != 12) ||
        n > ((size_t)1 << 24))
        return RTC_ERR_INVALID;
    EVP_CIPHER *own = NULL;
    if (!cipher) {
        own = EVP_CIPHER_fetch(NULL, key_len == 16 ? "AES-128-CTR" : "AES-256-CTR", NULL);
        if (!own) return RTC_ERR_CRYPTO;
        cipher = own;
    }
    /* RFC 3711 §4.3.1: key_id = label || (index DIV kdr) = label || 0^48; x = key_id XOR
    ** master_salt, both right-aligned in 112 bits, so the label lands on octet 7. The
    ** 12-octet AEAD salt is zero-padded on the right to 14 (RFC 7714 §11, as libsrtp). The
    ** PRF input is x * 2^16 and AES-CM counts in the low 16 bits (§4.3.3). */
    uint8_t iv[16] = {0};
    memcpy(iv, master_salt, salt_len);
    iv[7] ^= label;
    int rc = RTC_ERR_CRYPTO;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int outl = 0;
    if (c && EVP_EncryptInit_ex2(c, cipher, master_key, iv, NULL) == 1) {
        memset(out, 0, n);
        if (EVP_EncryptUpdate(c, out, &outl, out, (int)n) == 1 && (size_t)outl == n) rc = RTC_OK;
    }
    EVP_CIPHER_CTX_free(c);
    EVP_CIPHER_free(own);
    return rc;
}

void rsrtp_cm_iv(uint8_t iv[16], const uint8_t salt[14], uint32_t ssrc, uint64_t index) {
    memcpy(iv, salt, 14);
    iv[14] = iv[15] = 0;
    iv[4] ^= (uint8_t)(ssrc >> 24);
    iv[5] ^= (uint8_t)(ssrc >> 16);
    iv[6] ^= (uint8_t)(ssrc >> 8);
    iv[7] ^= (uint8_t)ssrc;
    for (int i = 0; i < 6; i++)
        iv[13 - i] ^= (uint8_t)(index >> (8 * i));
}

void rsrtp_gcm_rtp_iv(uint8_t iv[12], const uint8_t salt[12], uint32_t ssrc, uint32_t roc,
                      uint16_t seq) {
    /* RFC 7714 §8.1: 00 00 | SSRC | ROC | SEQ, XOR the salt. */
    uint8_t b[12] = {0};
    rtc_put_be32(b + 2, ssrc);
    rtc_put_be32(b + 6, roc);
    rtc_put_be16(b + 10, seq);
    for (int i = 0; i < 12; i++)
        iv[i] = b[i] ^ salt[i];
}

void rsrtp_gcm_rtcp_iv(uint8_t iv[12], const uint8_t salt[12], uint32_t ssrc, uint32_t index) {
    /* RFC 7714 §9.1: 00 00 | SSRC | 00 00 | 0 + 31-bit SRTCP index, XOR the salt. */
    uint8_t b[12] = {0};
    rtc_put_be32(b + 2, ssrc);
    rtc_put_be32(b + 8, index & RSRTP_RTCP_INDEX_MAX);
    for (int i = 0; i < 12; i++)
        iv[i] = b[i] ^ salt[i];
}
