/*
** SDP-facing DTLS helpers: a=fingerprint (RFC 8122 §5), a=setup and the DTLS role
** (RFC 4145 §4, RFC 5763 §5, RFC 8842 §5), and the DTLS-SRTP profile table (RFC 5764
** §4.1.2, RFC 7714 §14.2). Pure functions over caller memory; no OpenSSL state.
*/
#include <string.h>

#include <openssl/evp.h>

#include "dtls/dtls_internal.h"

#define LOG_MODULE "dtls"

static const struct {
    rtc_dtls_hash hash;
    const char *name;
    size_t len;
} hashes[] = {
    {RTC_DTLS_HASH_SHA1, "sha-1", 20},     {RTC_DTLS_HASH_SHA224, "sha-224", 28},
    {RTC_DTLS_HASH_SHA256, "sha-256", 32}, {RTC_DTLS_HASH_SHA384, "sha-384", 48},
    {RTC_DTLS_HASH_SHA512, "sha-512", 64},
};

const char *rtc_dtls_hash_name(rtc_dtls_hash hash) {
    for (size_t i = 0; i < RTC_ARRAY_LEN(hashes); i++)
        if (hashes[i].hash == hash) return hashes[i].name;
    return NULL;
}

size_t dtls_hash_len(rtc_dtls_hash hash) {
    for (size_t i = 0; i < RTC_ARRAY_LEN(hashes); i++)
        if (hashes[i].hash == hash) return hashes[i].len;
    return 0;
}

const EVP_MD *dtls_hash_md(rtc_dtls_hash hash) {
    /* EVP_sha*() return static, pre-fetched-on-use method objects; X509_digest caches
    ** the SHA-1 digest of the certificate, so nothing here is fetched per packet. */
    switch (hash) {
    case RTC_DTLS_HASH_SHA1: return EVP_sha1();
    case RTC_DTLS_HASH_SHA224: return EVP_sha224();
    case RTC_DTLS_HASH_SHA256: return EVP_sha256();
    case RTC_DTLS_HASH_SHA384: return EVP_sha384();
    case RTC_DTLS_HASH_SHA512: return EVP_sha512();
    }
    return NULL;
}

static int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

static bool token_eq(const char *s, size_t n, const char *lit) {
    size_t m = strlen(lit);
    if (n != m) return false;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s[i]) != lit[i]) return false;
    return true;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int rtc_dtls_fingerprint_parse(const char *s, size_t len, rtc_dtls_fingerprint *out) {
    if (!s || !out) return RTC_ERR_INVALID;
    size_t i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    size_t name_start = i;
    while (i < len && s[i] != ' ' && s[i] != '\t')
        i++;
    size_t name_len = i - name_start;
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    /* Trailing whitespace (and a stray CR from an SDP line) is not part of the value. */
    size_t end = len;
    while (end > i &&
           (s[end - 1] == ' ' || s[end - 1] == '\t' || s[end - 1] == '\r' || s[end - 1] == '\n'))
        end--;
    if (name_len == 0 || i >= end) return RTC_ERR_PARSE;

    rtc_dtls_hash hash = 0;
    size_t want = 0;
    for (size_t k = 0; k < RTC_ARRAY_LEN(hashes); k++) {
        if (token_eq(s + name_start, name_len, hashes[k].name)) {
            hash = hashes[k].hash;
            want = hashes[k].len;
        }
    }
    if (!hash) {
        /* RFC 8122 §5 lists md5 and md2 for backwards compatibility only; we never accept
        ** them, and an unknown token may be a future hash: not malformed, just unusable. */
        for (size_t k = name_start; k < name_start + name_len; k++) {
            char c = s[k];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_'))
                return RTC_ERR_PARSE;
        }
        return RTC_ERR_UNSUPPORTED;
    }

    /* fingerprint = 2UHEX *(":" 2UHEX) (RFC 8122 §5; we accept lowercase as well). */
    size_t n = 0;
    while (i < end) {
        if (end - i < 2) return RTC_ERR_PARSE;
        int hi = hexval((unsigned char)s[i]), lo = hexval((unsigned char)s[i + 1]);
        if (hi < 0 || lo < 0) return RTC_ERR_PARSE;
        if (n >= want) return RTC_ERR_PARSE;
        out->value[n++] = (uint8_t)(hi << 4 | lo);
        i += 2;
        if (i < end) {
            if (s[i] != ':') return RTC_ERR_PARSE;
            i++;
            if (i >= end) return RTC_ERR_PARSE; /* trailing colon */
        }
    }
    if (n != want) return RTC_ERR_PARSE;
    out->hash = hash;
    out->len = (uint8_t)n;
    return RTC_OK;
}

int rtc_dtls_fingerprint_format(const rtc_dtls_fingerprint *fp, char *buf, size_t size) {
    static const char hex[] = "0123456789ABCDEF";
    if (!fp || !buf) return RTC_ERR_INVALID;
    const char *name = rtc_dtls_hash_name(fp->hash);
    if (!name || fp->len != dtls_hash_len(fp->hash)) return RTC_ERR_INVALID;
    size_t nl = strlen(name);
    size_t need = nl + 1 + (size_t)fp->len * 3; /* name, space, "XX:"*n - 1, NUL */
    if (size < need) return RTC_ERR_TOO_SMALL;
    memcpy(buf, name, nl);
    size_t o = nl;
    buf[o++] = ' ';
    for (size_t i = 0; i < fp->len; i++) {
        if (i) buf[o++] = ':';
        buf[o++] = hex[fp->value[i] >> 4];
        buf[o++] = hex[fp->value[i] & 15];
    }
    buf[o] = '\0';
    return (int)o;
}

int dtls_fingerprint_out(const rtc_dtls_fingerprint *fp, rtc_dtls_fingerprint *out, char *buf,
                         size_t size) {
    if (buf) {
        int r = rtc_dtls_fingerprint_format(fp, buf, size);
        if (r < 0) return r;
    }
    if (out) *out = *fp;
    return RTC_OK;
}

/* ---- a=setup --------------------------------------------------------------------- */

static const char *const setup_names[] = {"actpass", "active", "passive", "holdconn"};

int rtc_dtls_setup_parse(const char *s, size_t len, rtc_dtls_setup *out) {
    if (!s || !out) return RTC_ERR_INVALID;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\r' || s[len - 1] == '\n'))
        len--;
    while (len && s[0] == ' ') {
        s++;
        len--;
    }
    for (size_t i = 0; i < RTC_ARRAY_LEN(setup_names); i++) {
        if (token_eq(s, len, setup_names[i])) {
            *out = (rtc_dtls_setup)i;
            return RTC_OK;
        }
    }
    return RTC_ERR_PARSE;
}

const char *rtc_dtls_setup_name(rtc_dtls_setup s) {
    if ((unsigned)s >= RTC_ARRAY_LEN(setup_names)) return NULL;
    return setup_names[s];
}

int rtc_dtls_setup_for_answer(rtc_dtls_setup remote_offer, rtc_dtls_setup *out) {
    if (!out) return RTC_ERR_INVALID;
    switch (remote_offer) {
    case RTC_DTLS_SETUP_ACTPASS: /* RFC 5763 §5: "active" is RECOMMENDED */
    case RTC_DTLS_SETUP_PASSIVE: *out = RTC_DTLS_SETUP_ACTIVE; return RTC_OK;
    case RTC_DTLS_SETUP_ACTIVE: *out = RTC_DTLS_SETUP_PASSIVE; return RTC_OK;
    default: return RTC_ERR_INVALID; /* holdconn: not used with DTLS (RFC 8842 §5) */
    }
}

rtc_dtls_setup rtc_dtls_setup_for_role(rtc_dtls_role role) {
    return role == RTC_DTLS_ROLE_CLIENT ? RTC_DTLS_SETUP_ACTIVE : RTC_DTLS_SETUP_PASSIVE;
}

int rtc_dtls_role_from_setup(rtc_dtls_setup local, rtc_dtls_setup remote, rtc_dtls_role *out) {
    if (!out) return RTC_ERR_INVALID;
    if (local == RTC_DTLS_SETUP_ACTIVE &&
        (remote == RTC_DTLS_SETUP_PASSIVE || remote == RTC_DTLS_SETUP_ACTPASS)) {
        *out = RTC_DTLS_ROLE_CLIENT;
        return RTC_OK;
    }
    if (local == RTC_DTLS_SETUP_PASSIVE &&
        (remote == RTC_DTLS_SETUP_ACTIVE || remote == RTC_DTLS_SETUP_ACTPASS)) {
        *out = RTC_DTLS_ROLE_SERVER;
        return RTC_OK;
    }
    if (local == RTC_DTLS_SETUP_ACTPASS && remote == RTC_DTLS_SETUP_ACTIVE) {
        *out = RTC_DTLS_ROLE_SERVER;
        return RTC_OK;
    }
    if (local == RTC_DTLS_SETUP_ACTPASS && remote == RTC_DTLS_SETUP_PASSIVE) {
        *out = RTC_DTLS_ROLE_CLIENT;
        return RTC_OK;
    }
    return RTC_ERR_INVALID;
}

/* ---- DTLS-SRTP profiles ------------------------------------------------------------ */

static const struct {
    uint16_t id;
    const char *name;
    uint8_t key, salt;
} profiles[] = {
    {RTC_DTLS_SRTP_AES128_CM_SHA1_80, "SRTP_AES128_CM_SHA1_80", 16, 14},
    {RTC_DTLS_SRTP_AES128_CM_SHA1_32, "SRTP_AES128_CM_SHA1_32", 16, 14},
    {RTC_DTLS_SRTP_AEAD_AES_128_GCM, "SRTP_AEAD_AES_128_GCM", 16, 12},
    {RTC_DTLS_SRTP_AEAD_AES_256_GCM, "SRTP_AEAD_AES_256_GCM", 32, 12},
};

int rtc_dtls_srtp_profile_lengths(uint16_t profile, size_t *key_len, size_t *salt_len) {
    for (size_t i = 0; i < RTC_ARRAY_LEN(profiles); i++) {
        if (profiles[i].id == profile) {
            if (key_len) *key_len = profiles[i].key;
            if (salt_len) *salt_len = profiles[i].salt;
            return RTC_OK;
        }
    }
    return RTC_ERR_UNSUPPORTED;
}

const char *rtc_dtls_srtp_profile_name(uint16_t profile) {
    for (size_t i = 0; i < RTC_ARRAY_LEN(profiles); i++)
        if (profiles[i].id == profile) return profiles[i].name;
    return NULL;
}
