/* MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT (RFC 8489 §9, §14.5-§14.7). */
#include <string.h>

#include "stun/hash.h"
#include "stun/stun_int.h"
#include "util/util.h"
#include "util/buf.h"

#define LOG_MODULE "stun"

int rtc_stun_key_set(rtc_stun_key *k, const uint8_t *key, size_t len) {
    if (!k || (!key && len)) return RTC_ERR_INVALID;
    /* The block function is chosen at key setup and remembered in the key. */
    int hw = stun_hash_hw();
    stun_hmac_sha1_prepare(hw, key, len, k->sha1_inner, k->sha1_outer);
    stun_hmac_sha256_prepare(hw, key, len, k->sha256_inner, k->sha256_outer);
    k->valid = hw ? 2 : 1;
    return RTC_OK;
}

void rtc_stun_key_clear(rtc_stun_key *k) {
    if (!k) return;
    /* volatile writes so the wipe is not optimised away */
    volatile uint8_t *p = (volatile uint8_t *)k;
    for (size_t i = 0; i < sizeof *k; i++) p[i] = 0;
}

/* "a:b[:c]" into buf; returns its length or RTC_ERR_INVALID when too long. */
static int join3(uint8_t *buf, size_t cap, const char *a, size_t an, const char *b, size_t bn,
                 const char *c, size_t cn, bool three) {
    if ((an && !a) || (bn && !b) || (three && cn && !c)) return RTC_ERR_INVALID;
    size_t need = an + 1 + bn + (three ? 1 + cn : 0);
    if (an > cap || bn > cap || cn > cap || need > cap) return RTC_ERR_INVALID;
    rtc_writer w;
    rtc_writer_init(&w, buf, cap);
    rtc_write_bytes(&w, a, an);
    rtc_write_u8(&w, ':');
    rtc_write_bytes(&w, b, bn);
    if (three) {
        rtc_write_u8(&w, ':');
        rtc_write_bytes(&w, c, cn);
    }
    return w.err ? RTC_ERR_INVALID : (int)w.len;
}

int rtc_stun_key_long_term(rtc_stun_key *k, uint16_t alg, const char *username,
                           size_t username_len, const char *realm, size_t realm_len,
                           const char *password, size_t password_len, uint8_t raw[32]) {
    if (!k) return RTC_ERR_INVALID;
    uint8_t s[2048];
    int n = join3(s, sizeof s, username, username_len, realm, realm_len, password,
                  password_len, true);
    if (n < 0) return n;
    uint8_t key[32];
    size_t klen;
    int rc;
    if (alg == RTC_STUN_PASSWORD_ALG_MD5) {
        rc = rtc_md5(s, (size_t)n, key); /* key derivation is rare: OpenSSL is fine here */
        klen = RTC_MD5_LEN;
    } else if (alg == RTC_STUN_PASSWORD_ALG_SHA256) {
        stun_sha256 c;
        stun_sha256_init(&c, 0);
        stun_sha256_update(&c, s, (size_t)n);
        stun_sha256_final(&c, key);
        rc = RTC_OK;
        klen = RTC_SHA256_LEN;
    } else {
        rc = RTC_ERR_INVALID;
        klen = 0;
    }
    memset(s, 0, sizeof s);
    if (rc == RTC_OK) {
        rc = rtc_stun_key_set(k, key, klen);
        if (raw) {
            memset(raw, 0, 32);
            memcpy(raw, key, klen);
        }
    }
    memset(key, 0, sizeof key);
    return rc;
}

int rtc_stun_userhash(const char *username, size_t username_len, const char *realm,
                      size_t realm_len, uint8_t out[32]) {
    if (!out) return RTC_ERR_INVALID;
    uint8_t s[2048];
    int n = join3(s, sizeof s, username, username_len, realm, realm_len, NULL, 0, false);
    if (n < 0) return n;
    stun_sha256 c;
    stun_sha256_init(&c, 0);
    stun_sha256_update(&c, s, (size_t)n);
    stun_sha256_final(&c, out);
    return RTC_OK;
}

/* HMAC over buf[0..end) with the header length field replaced by `hdr_len` (the value it
** has when the integrity attribute is the last one, §14.5). */
static void mac_sha1(const rtc_stun_key *k, const uint8_t *buf, size_t end, uint16_t hdr_len,
                     uint8_t out[20]) {
    uint8_t l[2];
    rtc_put_be16(l, hdr_len);
    stun_sha1 c;
    stun_hmac_sha1_begin(&c, k->valid == 2, k->sha1_inner);
    stun_sha1_update(&c, buf, 2);
    stun_sha1_update(&c, l, 2);
    stun_sha1_update(&c, buf + 4, end - 4);
    stun_hmac_sha1_final(&c, k->sha1_outer, out);
}

static void mac_sha256(const rtc_stun_key *k, const uint8_t *buf, size_t end, uint16_t hdr_len,
                       uint8_t out[32]) {
    uint8_t l[2];
    rtc_put_be16(l, hdr_len);
    stun_sha256 c;
    stun_hmac_sha256_begin(&c, k->valid == 2, k->sha256_inner);
    stun_sha256_update(&c, buf, 2);
    stun_sha256_update(&c, l, 2);
    stun_sha256_update(&c, buf + 4, end - 4);
    stun_hmac_sha256_final(&c, k->sha256_outer, out);
}

/* Verify one integrity attribute at attrs[idx]. */
static int check_one(const rtc_stun_msg *m, int idx, const rtc_stun_key *k, bool sha256) {
    const rtc_stun_attr *a = &m->attrs[idx];
    size_t hdr_off = a->offset - 4;
    size_t end = a->offset + a->len; /* MI lengths are multiples of 4: no padding */
    if (end > m->len || hdr_off < RTC_STUN_HEADER_LEN) return RTC_ERR_AUTH;
    uint16_t hl = (uint16_t)(end - RTC_STUN_HEADER_LEN);
    uint8_t mac[32];
    if (sha256) {
        if (a->len < 16 || a->len > 32) return RTC_ERR_AUTH;
        mac_sha256(k, m->buf, hdr_off, hl, mac);
    } else {
        if (a->len != RTC_SHA1_LEN) return RTC_ERR_AUTH;
        mac_sha1(k, m->buf, hdr_off, hl, mac);
    }
    bool ok = rtc_ct_equal(mac, m->buf + a->offset, a->len);
    memset(mac, 0, sizeof mac);
    return ok ? RTC_OK : RTC_ERR_AUTH;
}

int rtc_stun_check_mi(const rtc_stun_msg *m, const rtc_stun_key *k) {
    if (!m || !k || !k->valid || !m->buf) return RTC_ERR_INVALID;
    if (m->mi < 0) return RTC_ERR_NOT_FOUND;
    return check_one(m, m->mi, k, false);
}

int rtc_stun_check_mi_sha256(const rtc_stun_msg *m, const rtc_stun_key *k) {
    if (!m || !k || !k->valid || !m->buf) return RTC_ERR_INVALID;
    if (m->mi256 < 0) return RTC_ERR_NOT_FOUND;
    return check_one(m, m->mi256, k, true);
}

int rtc_stun_check_integrity(const rtc_stun_msg *m, const rtc_stun_key *k) {
    if (!m || !k || !k->valid || !m->buf) return RTC_ERR_INVALID;
    if (m->mi < 0 && m->mi256 < 0) return RTC_ERR_NOT_FOUND;
    if (m->mi256 >= 0 && check_one(m, m->mi256, k, true) != RTC_OK) return RTC_ERR_AUTH;
    if (m->mi >= 0 && check_one(m, m->mi, k, false) != RTC_OK) return RTC_ERR_AUTH;
    return RTC_OK;
}

/* Append an integrity attribute: the header length first covers it (§14.5), then the MAC
** is computed over everything before it and written in place. */
static int add_mac(rtc_stun_builder *b, const rtc_stun_key *k, bool sha256) {
    if (!b) return RTC_ERR_INVALID;
    if (b->err) return b->err;
    if (!k || !k->valid || !b->buf) {
        b->err = RTC_ERR_INVALID;
        return b->err;
    }
    uint16_t type = sha256 ? RTC_STUN_ATTR_MESSAGE_INTEGRITY_SHA256 : RTC_STUN_ATTR_MESSAGE_INTEGRITY;
    uint8_t need = sha256 ? 1 : 0;
    if (b->stage > need) {
        b->err = RTC_ERR_MISUSE;
        return b->err;
    }
    size_t mlen = sha256 ? RTC_SHA256_LEN : RTC_SHA1_LEN;
    rtc_writer w;
    rtc_writer_init(&w, b->buf, b->cap);
    w.len = b->len;
    size_t start = w.len;
    rtc_write_u16(&w, type);
    rtc_write_u16(&w, (uint16_t)mlen);
    size_t at = rtc_write_reserve(&w, mlen);
    if (w.err || at == SIZE_MAX || w.len - RTC_STUN_HEADER_LEN > 0xFFFF) {
        b->err = RTC_ERR_TOO_SMALL;
        return b->err;
    }
    uint16_t hl = (uint16_t)(w.len - RTC_STUN_HEADER_LEN);
    if (sha256) mac_sha256(k, b->buf, start, hl, b->buf + at);
    else mac_sha1(k, b->buf, start, hl, b->buf + at);
    b->len = w.len;
    rtc_put_be16(b->buf + 2, hl);
    b->stage = sha256 ? 2 : 1;
    return RTC_OK;
}

int rtc_stun_add_integrity(rtc_stun_builder *b, const rtc_stun_key *k) {
    return add_mac(b, k, false);
}

int rtc_stun_add_integrity_sha256(rtc_stun_builder *b, const rtc_stun_key *k) {
    return add_mac(b, k, true);
}

int rtc_stun_add_fingerprint(rtc_stun_builder *b) {
    if (!b) return RTC_ERR_INVALID;
    if (b->err) return b->err;
    if (!b->buf) {
        b->err = RTC_ERR_INVALID;
        return b->err;
    }
    if (b->stage > 2) {
        b->err = RTC_ERR_MISUSE;
        return b->err;
    }
    rtc_writer w;
    rtc_writer_init(&w, b->buf, b->cap);
    w.len = b->len;
    size_t start = w.len;
    rtc_write_u16(&w, RTC_STUN_ATTR_FINGERPRINT);
    rtc_write_u16(&w, 4);
    size_t at = rtc_write_reserve(&w, 4);
    if (w.err || at == SIZE_MAX || w.len - RTC_STUN_HEADER_LEN > 0xFFFF) {
        b->err = RTC_ERR_TOO_SMALL;
        return b->err;
    }
    /* §14.7: the CRC covers the header with a length that includes FINGERPRINT. */
    rtc_put_be16(b->buf + 2, (uint16_t)(w.len - RTC_STUN_HEADER_LEN));
    uint32_t crc = rtc_crc32(0, b->buf, start) ^ RTC_STUN_FINGERPRINT_XOR;
    rtc_write_u32_at(&w, at, crc);
    b->len = w.len;
    b->stage = 3;
    return RTC_OK;
}
