/* STUN message parsing and typed getters (RFC 8489 §5, §6.3, §14; RFC 8656 §18). */
#include <string.h>

#include "stun/stun_int.h"
#include "util/util.h"
#include "util/buf.h"

#define LOG_MODULE "stun"

/* Upper bounds on string-like values (RFC 8489 §14.3, §14.8, §14.9, §14.10, §14.15). */
#define STUN_MAX_USERNAME 513
#define STUN_MAX_TEXT 763 /* REALM, NONCE, SOFTWARE: < 128 characters, <= 763 bytes */

const char *rtc_stun_error_reason(int code) {
    switch (code) {
    case 300: return "Try Alternate";
    case 400: return "Bad Request";
    case 401: return "Unauthenticated";
    case 403: return "Forbidden";
    case 405: return "Mobility Forbidden";
    case 420: return "Unknown Attribute";
    case 437: return "Allocation Mismatch";
    case 438: return "Stale Nonce";
    case 440: return "Address Family not Supported";
    case 441: return "Wrong Credentials";
    case 442: return "Unsupported Transport Protocol";
    case 443: return "Peer Address Family Mismatch";
    case 446: return "Connection Already Exists";
    case 447: return "Connection Timeout or Failure";
    case 486: return "Allocation Quota Reached";
    case 487: return "Role Conflict";
    case 500: return "Server Error";
    case 508: return "Insufficient Capacity";
    default: return "";
    }
}

const char *rtc_stun_method_name(uint16_t method) {
    switch (method) {
    case RTC_STUN_BINDING: return "Binding";
    case RTC_STUN_ALLOCATE: return "Allocate";
    case RTC_STUN_REFRESH: return "Refresh";
    case RTC_STUN_SEND: return "Send";
    case RTC_STUN_DATA: return "Data";
    case RTC_STUN_CREATE_PERMISSION: return "CreatePermission";
    case RTC_STUN_CHANNEL_BIND: return "ChannelBind";
    case RTC_STUN_CONNECT: return "Connect";
    case RTC_STUN_CONNECTION_BIND: return "ConnectionBind";
    case RTC_STUN_CONNECTION_ATTEMPT: return "ConnectionAttempt";
    default: return "unknown";
    }
}

const char *rtc_stun_class_name(int cls) {
    switch (cls) {
    case RTC_STUN_REQUEST: return "request";
    case RTC_STUN_INDICATION: return "indication";
    case RTC_STUN_SUCCESS: return "success response";
    case RTC_STUN_ERROR: return "error response";
    default: return "unknown";
    }
}

const char *rtc_stun_attr_name(uint16_t type) {
    switch (type) {
    case RTC_STUN_ATTR_MAPPED_ADDRESS: return "MAPPED-ADDRESS";
    case RTC_STUN_ATTR_USERNAME: return "USERNAME";
    case RTC_STUN_ATTR_MESSAGE_INTEGRITY: return "MESSAGE-INTEGRITY";
    case RTC_STUN_ATTR_ERROR_CODE: return "ERROR-CODE";
    case RTC_STUN_ATTR_UNKNOWN_ATTRIBUTES: return "UNKNOWN-ATTRIBUTES";
    case RTC_STUN_ATTR_CHANNEL_NUMBER: return "CHANNEL-NUMBER";
    case RTC_STUN_ATTR_LIFETIME: return "LIFETIME";
    case RTC_STUN_ATTR_XOR_PEER_ADDRESS: return "XOR-PEER-ADDRESS";
    case RTC_STUN_ATTR_DATA: return "DATA";
    case RTC_STUN_ATTR_REALM: return "REALM";
    case RTC_STUN_ATTR_NONCE: return "NONCE";
    case RTC_STUN_ATTR_XOR_RELAYED_ADDRESS: return "XOR-RELAYED-ADDRESS";
    case RTC_STUN_ATTR_REQUESTED_ADDRESS_FAMILY: return "REQUESTED-ADDRESS-FAMILY";
    case RTC_STUN_ATTR_EVEN_PORT: return "EVEN-PORT";
    case RTC_STUN_ATTR_REQUESTED_TRANSPORT: return "REQUESTED-TRANSPORT";
    case RTC_STUN_ATTR_DONT_FRAGMENT: return "DONT-FRAGMENT";
    case RTC_STUN_ATTR_MESSAGE_INTEGRITY_SHA256: return "MESSAGE-INTEGRITY-SHA256";
    case RTC_STUN_ATTR_PASSWORD_ALGORITHM: return "PASSWORD-ALGORITHM";
    case RTC_STUN_ATTR_USERHASH: return "USERHASH";
    case RTC_STUN_ATTR_XOR_MAPPED_ADDRESS: return "XOR-MAPPED-ADDRESS";
    case RTC_STUN_ATTR_RESERVATION_TOKEN: return "RESERVATION-TOKEN";
    case RTC_STUN_ATTR_PRIORITY: return "PRIORITY";
    case RTC_STUN_ATTR_USE_CANDIDATE: return "USE-CANDIDATE";
    case RTC_STUN_ATTR_CONNECTION_ID: return "CONNECTION-ID";
    case RTC_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY: return "ADDITIONAL-ADDRESS-FAMILY";
    case RTC_STUN_ATTR_ADDRESS_ERROR_CODE: return "ADDRESS-ERROR-CODE";
    case RTC_STUN_ATTR_PASSWORD_ALGORITHMS: return "PASSWORD-ALGORITHMS";
    case RTC_STUN_ATTR_ALTERNATE_DOMAIN: return "ALTERNATE-DOMAIN";
    case RTC_STUN_ATTR_ICMP: return "ICMP";
    case RTC_STUN_ATTR_SOFTWARE: return "SOFTWARE";
    case RTC_STUN_ATTR_ALTERNATE_SERVER: return "ALTERNATE-SERVER";
    case RTC_STUN_ATTR_FINGERPRINT: return "FINGERPRINT";
    case RTC_STUN_ATTR_ICE_CONTROLLED: return "ICE-CONTROLLED";
    case RTC_STUN_ATTR_ICE_CONTROLLING: return "ICE-CONTROLLING";
    case RTC_STUN_ATTR_RESPONSE_ORIGIN: return "RESPONSE-ORIGIN";
    case RTC_STUN_ATTR_OTHER_ADDRESS: return "OTHER-ADDRESS";
    default: return NULL;
    }
}

bool rtc_stun_is_message(const uint8_t *buf, size_t len) {
    if (!buf || len < RTC_STUN_HEADER_LEN) return false;
    if (buf[0] & 0xC0) return false;
    uint16_t mlen = rtc_be16(buf + 2);
    return (mlen & 3) == 0 && rtc_be32(buf + 4) == RTC_STUN_MAGIC_COOKIE &&
           (size_t)mlen + RTC_STUN_HEADER_LEN == len;
}

int rtc_stun_message_size(const uint8_t *buf, size_t len) {
    if (!buf && len) return RTC_ERR_INVALID;
    if (len < RTC_STUN_HEADER_LEN) {
        /* Reject early what can already be seen not to be STUN. */
        if (len >= 1 && (buf[0] & 0xC0)) return RTC_ERR_PARSE;
        return 0;
    }
    uint16_t mlen = rtc_be16(buf + 2);
    if ((buf[0] & 0xC0) || (mlen & 3) || rtc_be32(buf + 4) != RTC_STUN_MAGIC_COOKIE)
        return RTC_ERR_PARSE;
    return (int)mlen + RTC_STUN_HEADER_LEN;
}

bool stun_attr_known(uint16_t type) {
    switch (type) {
    case RTC_STUN_ATTR_MAPPED_ADDRESS:
    case RTC_STUN_ATTR_USERNAME:
    case RTC_STUN_ATTR_MESSAGE_INTEGRITY:
    case RTC_STUN_ATTR_ERROR_CODE:
    case RTC_STUN_ATTR_UNKNOWN_ATTRIBUTES:
    case RTC_STUN_ATTR_CHANNEL_NUMBER:
    case RTC_STUN_ATTR_LIFETIME:
    case RTC_STUN_ATTR_XOR_PEER_ADDRESS:
    case RTC_STUN_ATTR_DATA:
    case RTC_STUN_ATTR_REALM:
    case RTC_STUN_ATTR_NONCE:
    case RTC_STUN_ATTR_XOR_RELAYED_ADDRESS:
    case RTC_STUN_ATTR_REQUESTED_ADDRESS_FAMILY:
    case RTC_STUN_ATTR_EVEN_PORT:
    case RTC_STUN_ATTR_REQUESTED_TRANSPORT:
    case RTC_STUN_ATTR_DONT_FRAGMENT:
    case RTC_STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
    case RTC_STUN_ATTR_PASSWORD_ALGORITHM:
    case RTC_STUN_ATTR_USERHASH:
    case RTC_STUN_ATTR_XOR_MAPPED_ADDRESS:
    case RTC_STUN_ATTR_RESERVATION_TOKEN:
    case RTC_STUN_ATTR_PRIORITY:
    case RTC_STUN_ATTR_USE_CANDIDATE:
    case RTC_STUN_ATTR_CONNECTION_ID:
        return true;
    default:
        return false;
    }
}

/* PASSWORD-ALGORITHMS is a list of (alg u16, param len u16, params padded to 4);
** PASSWORD-ALGORITHM is exactly one such entry (RFC 8489 §14.11, §14.12).
** Returns the number of entries, or -1 when malformed. */
static int pw_algs_walk(const uint8_t *v, size_t len, uint16_t *algs, size_t max) {
    rtc_reader r;
    rtc_reader_init(&r, v, len);
    int n = 0;
    while (rtc_reader_left(&r) > 0) {
        uint16_t alg = rtc_read_u16(&r);
        uint16_t plen = rtc_read_u16(&r);
        if (!rtc_read_skip(&r, stun_pad4(plen)) || r.err) return -1;
        if (algs && (size_t)n < max) algs[n] = alg;
        if (n == RTC_STUN_MAX_ATTRS) return -1; /* a hostile list cannot make us loop long */
        n++;
    }
    return r.err ? -1 : n;
}

bool stun_attr_len_ok(uint16_t type, const uint8_t *v, size_t len) {
    switch (type) {
    case RTC_STUN_ATTR_MAPPED_ADDRESS:
    case RTC_STUN_ATTR_XOR_MAPPED_ADDRESS:
    case RTC_STUN_ATTR_XOR_PEER_ADDRESS:
    case RTC_STUN_ATTR_XOR_RELAYED_ADDRESS:
    case RTC_STUN_ATTR_ALTERNATE_SERVER:
    case RTC_STUN_ATTR_RESPONSE_ORIGIN:
    case RTC_STUN_ATTR_OTHER_ADDRESS:
        return len == 8 || len == 20;
    case RTC_STUN_ATTR_USERNAME:
        return len <= STUN_MAX_USERNAME;
    case RTC_STUN_ATTR_REALM:
    case RTC_STUN_ATTR_NONCE:
    case RTC_STUN_ATTR_SOFTWARE:
        return len <= STUN_MAX_TEXT;
    case RTC_STUN_ATTR_ALTERNATE_DOMAIN:
        return len <= 255;
    case RTC_STUN_ATTR_USERHASH:
        return len == 32;
    case RTC_STUN_ATTR_MESSAGE_INTEGRITY:
        return len == RTC_SHA1_LEN;
    case RTC_STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
        return len >= 16 && len <= 32 && (len & 3) == 0;
    case RTC_STUN_ATTR_FINGERPRINT:
    case RTC_STUN_ATTR_PRIORITY:
    case RTC_STUN_ATTR_LIFETIME:
    case RTC_STUN_ATTR_CHANNEL_NUMBER:
    case RTC_STUN_ATTR_REQUESTED_TRANSPORT:
    case RTC_STUN_ATTR_REQUESTED_ADDRESS_FAMILY:
    case RTC_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY:
    case RTC_STUN_ATTR_CONNECTION_ID:
        return len == 4;
    case RTC_STUN_ATTR_ICE_CONTROLLED:
    case RTC_STUN_ATTR_ICE_CONTROLLING:
    case RTC_STUN_ATTR_RESERVATION_TOKEN:
    case RTC_STUN_ATTR_ICMP:
        return len == 8;
    case RTC_STUN_ATTR_USE_CANDIDATE:
    case RTC_STUN_ATTR_DONT_FRAGMENT:
        return len == 0;
    case RTC_STUN_ATTR_EVEN_PORT:
        return len == 1;
    case RTC_STUN_ATTR_ERROR_CODE:
        return len >= 4 && len <= 4 + STUN_MAX_TEXT;
    case RTC_STUN_ATTR_ADDRESS_ERROR_CODE:
        return len >= 4 && len <= 4 + STUN_MAX_TEXT;
    case RTC_STUN_ATTR_UNKNOWN_ATTRIBUTES:
        return (len & 1) == 0;
    case RTC_STUN_ATTR_PASSWORD_ALGORITHM:
        return pw_algs_walk(v, len, NULL, 0) == 1;
    case RTC_STUN_ATTR_PASSWORD_ALGORITHMS:
        return pw_algs_walk(v, len, NULL, 0) >= 1;
    default:
        return true;
    }
}

static void note_unknown(rtc_stun_msg *m, uint16_t type) {
    for (unsigned i = 0; i < m->n_unknown; i++)
        if (m->unknown[i] == type) return;
    if (m->n_unknown < RTC_STUN_MAX_UNKNOWN) m->unknown[m->n_unknown++] = type;
}

int rtc_stun_parse(rtc_stun_msg *m, const uint8_t *buf, size_t len) {
    if (!m || (!buf && len)) return RTC_ERR_INVALID;
    m->buf = buf;
    m->len = len;
    m->n_attrs = 0;
    m->n_ignored = 0;
    m->mi = m->mi256 = m->fp = -1;
    m->n_unknown = 0;
    if (!rtc_stun_is_message(buf, len)) return RTC_ERR_PARSE;

    rtc_reader r;
    rtc_reader_init(&r, buf, len);
    m->type = rtc_read_u16(&r);
    m->method = stun_type_method(m->type);
    m->cls = (uint8_t)stun_type_class(m->type);
    rtc_read_skip(&r, 6); /* length (checked), cookie (checked) */
    rtc_read_bytes(&r, m->tid, RTC_STUN_TID_LEN);

    /* stage: 0 before MI; 1 after MI (only MI-SHA256 and FINGERPRINT count);
    ** 2 after MI-SHA256 (only FINGERPRINT counts); 3 after FINGERPRINT (nothing may follow). */
    int stage = 0;
    unsigned total = 0;
    while (rtc_reader_left(&r) > 0) {
        if (stage == 3) return RTC_ERR_PARSE; /* §14.7: FINGERPRINT is the last attribute */
        if (++total > RTC_STUN_MAX_ATTRS) return RTC_ERR_PARSE;
        uint32_t off_hdr = (uint32_t)(len - rtc_reader_left(&r));
        uint16_t type = rtc_read_u16(&r);
        uint16_t alen = rtc_read_u16(&r);
        const uint8_t *v = rtc_read_ptr(&r, alen);
        /* The padding must be present; its bytes may hold anything (RFC 5769 uses 0x20). */
        if (!v || !rtc_read_skip(&r, stun_pad4(alen) - alen)) return RTC_ERR_PARSE;

        bool counts;
        if (stage == 0) counts = true;
        else if (stage == 1)
            counts = type == RTC_STUN_ATTR_MESSAGE_INTEGRITY_SHA256 ||
                     type == RTC_STUN_ATTR_FINGERPRINT;
        else counts = type == RTC_STUN_ATTR_FINGERPRINT;
        if (!counts) { /* §14.5/§14.6: ignored, neither validated nor reported */
            m->n_ignored++;
            continue;
        }
        if (!stun_attr_len_ok(type, v, alen)) return RTC_ERR_PARSE;
        int16_t idx = (int16_t)m->n_attrs;
        rtc_stun_attr *a = &m->attrs[m->n_attrs++];
        a->type = type;
        a->len = alen;
        a->offset = off_hdr + 4;
        if (type == RTC_STUN_ATTR_MESSAGE_INTEGRITY) {
            m->mi = idx;
            stage = 1;
        } else if (type == RTC_STUN_ATTR_MESSAGE_INTEGRITY_SHA256) {
            m->mi256 = idx;
            stage = 2;
        } else if (type == RTC_STUN_ATTR_FINGERPRINT) {
            m->fp = idx;
            stage = 3;
        } else if (type < 0x8000 && !stun_attr_known(type)) {
            note_unknown(m, type);
        }
    }
    if (r.err) return RTC_ERR_PARSE;

    if (m->fp >= 0) {
        /* §14.7: CRC-32 of everything before the attribute, XOR 0x5354554E. The header
        ** length already includes FINGERPRINT because it is last. */
        const rtc_stun_attr *a = &m->attrs[m->fp];
        uint32_t want = rtc_be32(buf + a->offset);
        uint32_t got = rtc_crc32(0, buf, a->offset - 4) ^ RTC_STUN_FINGERPRINT_XOR;
        if (want != got) return RTC_ERR_AUTH;
    }
    return m->n_unknown ? RTC_ERR_UNSUPPORTED : RTC_OK;
}

const rtc_stun_attr *rtc_stun_find(const rtc_stun_msg *m, uint16_t type) {
    if (!m) return NULL;
    for (unsigned i = 0; i < m->n_attrs; i++)
        if (m->attrs[i].type == type) return &m->attrs[i];
    return NULL;
}

const rtc_stun_attr *rtc_stun_find_next(const rtc_stun_msg *m, const rtc_stun_attr *prev) {
    if (!m || !prev || prev < m->attrs || prev >= m->attrs + m->n_attrs) return NULL;
    for (const rtc_stun_attr *a = prev + 1; a < m->attrs + m->n_attrs; a++)
        if (a->type == prev->type) return a;
    return NULL;
}

const uint8_t *rtc_stun_attr_value(const rtc_stun_msg *m, const rtc_stun_attr *a) {
    if (!m || !a || !m->buf || (size_t)a->offset + a->len > m->len) return NULL;
    return m->buf + a->offset;
}

bool rtc_stun_has(const rtc_stun_msg *m, uint16_t type) { return rtc_stun_find(m, type) != NULL; }

/* A reader over the first attribute of `type` after checking its length rules. */
static int attr_reader(const rtc_stun_msg *m, uint16_t type, rtc_reader *r) {
    const rtc_stun_attr *a = rtc_stun_find(m, type);
    if (!a) return RTC_ERR_NOT_FOUND;
    const uint8_t *v = rtc_stun_attr_value(m, a);
    if (!v || !stun_attr_len_ok(type, v, a->len)) return RTC_ERR_PARSE;
    rtc_reader_init(r, v, a->len);
    return RTC_OK;
}

/* RFC 8489 §14.1/§14.2: 0, family, port, address; XOR variants use cookie and tid. */
static int decode_addr(const rtc_stun_msg *m, const rtc_stun_attr *a, rtc_addr *out, bool xor) {
    if (!m || !a || !out) return RTC_ERR_INVALID;
    const uint8_t *v = rtc_stun_attr_value(m, a);
    if (!v) return RTC_ERR_PARSE;
    rtc_reader r;
    rtc_reader_init(&r, v, a->len);
    rtc_read_u8(&r);
    uint8_t fam = rtc_read_u8(&r);
    uint16_t port = rtc_read_u16(&r);
    uint8_t ip[16];
    uint8_t mask[16];
    rtc_put_be32(mask, RTC_STUN_MAGIC_COOKIE);
    memcpy(mask + 4, m->tid, RTC_STUN_TID_LEN);
    if (xor) port ^= (uint16_t)(RTC_STUN_MAGIC_COOKIE >> 16);
    memset(out, 0, sizeof *out);
    if (fam == RTC_STUN_FAMILY_IPV4 && a->len == 8) {
        rtc_read_bytes(&r, ip, 4);
        if (xor)
            for (int i = 0; i < 4; i++) ip[i] ^= mask[i];
        rtc_addr_set_ipv4(out, ip, port);
    } else if (fam == RTC_STUN_FAMILY_IPV6 && a->len == 20) {
        rtc_read_bytes(&r, ip, 16);
        if (xor)
            for (int i = 0; i < 16; i++) ip[i] ^= mask[i];
        rtc_addr_set_ipv6(out, ip, port);
    } else {
        return RTC_ERR_PARSE;
    }
    return r.err ? RTC_ERR_PARSE : RTC_OK;
}

int rtc_stun_attr_addr(const rtc_stun_msg *m, const rtc_stun_attr *a, rtc_addr *out) {
    return decode_addr(m, a, out, false);
}
int rtc_stun_attr_xor_addr(const rtc_stun_msg *m, const rtc_stun_attr *a, rtc_addr *out) {
    return decode_addr(m, a, out, true);
}
int rtc_stun_get_addr(const rtc_stun_msg *m, uint16_t type, rtc_addr *out) {
    const rtc_stun_attr *a = rtc_stun_find(m, type);
    return a ? decode_addr(m, a, out, false) : RTC_ERR_NOT_FOUND;
}
int rtc_stun_get_xor_addr(const rtc_stun_msg *m, uint16_t type, rtc_addr *out) {
    const rtc_stun_attr *a = rtc_stun_find(m, type);
    return a ? decode_addr(m, a, out, true) : RTC_ERR_NOT_FOUND;
}

int rtc_stun_get_bytes(const rtc_stun_msg *m, uint16_t type, const uint8_t **p, size_t *len) {
    rtc_reader r;
    int rc = attr_reader(m, type, &r);
    if (rc) return rc;
    if (p) *p = r.p;
    if (len) *len = r.len;
    return RTC_OK;
}

int rtc_stun_get_string(const rtc_stun_msg *m, uint16_t type, char *buf, size_t size) {
    if (!buf || size == 0) return RTC_ERR_INVALID;
    buf[0] = 0;
    const uint8_t *p;
    size_t len;
    int rc = rtc_stun_get_bytes(m, type, &p, &len);
    if (rc) return rc;
    size_t n = len < size - 1 ? len : size - 1;
    memcpy(buf, p, n);
    buf[n] = 0;
    return len < size ? (int)len : RTC_ERR_TOO_SMALL;
}

int rtc_stun_get_u32(const rtc_stun_msg *m, uint16_t type, uint32_t *v) {
    rtc_reader r;
    int rc = attr_reader(m, type, &r);
    if (rc) return rc;
    if (r.len != 4) return RTC_ERR_PARSE;
    uint32_t x = rtc_read_u32(&r);
    if (v) *v = x;
    return RTC_OK;
}

int rtc_stun_get_u64(const rtc_stun_msg *m, uint16_t type, uint64_t *v) {
    rtc_reader r;
    int rc = attr_reader(m, type, &r);
    if (rc) return rc;
    if (r.len != 8) return RTC_ERR_PARSE;
    uint64_t x = rtc_read_u64(&r);
    if (v) *v = x;
    return RTC_OK;
}

/* ERROR-CODE and ADDRESS-ERROR-CODE share: 21 reserved bits, class (3 bits), number
** (8 bits, 0..99), reason (RFC 8489 §14.8; RFC 8656 §18.12 puts the family in octet 0). */
static int decode_code(rtc_reader *r, int *code, const char **reason, size_t *reason_len) {
    rtc_read_u16(r);
    uint8_t cls = rtc_read_u8(r) & 0x07;
    uint8_t num = rtc_read_u8(r);
    if (r->err || cls < 3 || cls > 6 || num > 99) return RTC_ERR_PARSE;
    if (code) *code = cls * 100 + num;
    if (reason) *reason = (const char *)r->p;
    if (reason_len) *reason_len = rtc_reader_left(r);
    return RTC_OK;
}

int rtc_stun_get_error_code(const rtc_stun_msg *m, int *code, const char **reason,
                            size_t *reason_len) {
    rtc_reader r;
    int rc = attr_reader(m, RTC_STUN_ATTR_ERROR_CODE, &r);
    return rc ? rc : decode_code(&r, code, reason, reason_len);
}

int rtc_stun_get_address_error_code(const rtc_stun_msg *m, uint8_t *family, int *code,
                                    const char **reason, size_t *reason_len) {
    rtc_reader r;
    int rc = attr_reader(m, RTC_STUN_ATTR_ADDRESS_ERROR_CODE, &r);
    if (rc) return rc;
    if (family) *family = r.p[0];
    return decode_code(&r, code, reason, reason_len);
}

int rtc_stun_get_unknown_attributes(const rtc_stun_msg *m, uint16_t *types, size_t max) {
    rtc_reader r;
    int rc = attr_reader(m, RTC_STUN_ATTR_UNKNOWN_ATTRIBUTES, &r);
    if (rc) return rc;
    size_t n = r.len / 2;
    for (size_t i = 0; i < n; i++) {
        uint16_t t = rtc_read_u16(&r);
        if (types && i < max) types[i] = t;
    }
    return (int)n;
}

int rtc_stun_get_channel_number(const rtc_stun_msg *m, uint16_t *channel) {
    rtc_reader r;
    int rc = attr_reader(m, RTC_STUN_ATTR_CHANNEL_NUMBER, &r);
    if (rc) return rc;
    uint16_t ch = rtc_read_u16(&r);
    if (channel) *channel = ch;
    return RTC_OK;
}

int rtc_stun_get_requested_transport(const rtc_stun_msg *m, uint8_t *proto) {
    rtc_reader r;
    int rc = attr_reader(m, RTC_STUN_ATTR_REQUESTED_TRANSPORT, &r);
    if (rc) return rc;
    uint8_t p = rtc_read_u8(&r);
    if (proto) *proto = p;
    return RTC_OK;
}

int rtc_stun_get_family(const rtc_stun_msg *m, uint16_t type, uint8_t *family) {
    if (type != RTC_STUN_ATTR_REQUESTED_ADDRESS_FAMILY &&
        type != RTC_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY)
        return RTC_ERR_INVALID;
    rtc_reader r;
    int rc = attr_reader(m, type, &r);
    if (rc) return rc;
    uint8_t f = rtc_read_u8(&r);
    if (family) *family = f;
    return RTC_OK;
}

int rtc_stun_get_even_port(const rtc_stun_msg *m, bool *reserve_next) {
    rtc_reader r;
    int rc = attr_reader(m, RTC_STUN_ATTR_EVEN_PORT, &r);
    if (rc) return rc;
    uint8_t b = rtc_read_u8(&r);
    if (reserve_next) *reserve_next = (b & 0x80) != 0;
    return RTC_OK;
}

int rtc_stun_get_icmp(const rtc_stun_msg *m, uint8_t *icmp_type, uint8_t *icmp_code,
                      uint32_t *error_data) {
    rtc_reader r;
    int rc = attr_reader(m, RTC_STUN_ATTR_ICMP, &r);
    if (rc) return rc;
    rtc_read_u16(&r); /* reserved */
    uint8_t t = rtc_read_u8(&r), c = rtc_read_u8(&r);
    uint32_t d = rtc_read_u32(&r);
    if (icmp_type) *icmp_type = t;
    if (icmp_code) *icmp_code = c;
    if (error_data) *error_data = d;
    return RTC_OK;
}

int rtc_stun_get_password_algorithm(const rtc_stun_msg *m, uint16_t *alg) {
    rtc_reader r;
    int rc = attr_reader(m, RTC_STUN_ATTR_PASSWORD_ALGORITHM, &r);
    if (rc) return rc;
    uint16_t a = rtc_read_u16(&r);
    if (alg) *alg = a;
    return RTC_OK;
}

int rtc_stun_get_password_algorithms(const rtc_stun_msg *m, uint16_t *algs, size_t max) {
    rtc_reader r;
    int rc = attr_reader(m, RTC_STUN_ATTR_PASSWORD_ALGORITHMS, &r);
    if (rc) return rc;
    int n = pw_algs_walk(r.p, r.len, algs, max);
    return n < 0 ? RTC_ERR_PARSE : n;
}
