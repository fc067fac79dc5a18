/* STUN message encoding into caller memory (RFC 8489 §5, §14; RFC 8656 §18). */
#include <string.h>

#include "stun/stun_int.h"
#include "util/buf.h"

#define LOG_MODULE "stun"

/* The builder is a public plain struct; internally each add runs an rtc_writer over the
** same memory and stores its position back. */
static rtc_writer wr_open(const rtc_stun_builder *b) {
    rtc_writer w;
    rtc_writer_init(&w, b->buf, b->cap);
    w.len = b->len;
    return w;
}

static int fail(rtc_stun_builder *b, int err) {
    if (!b->err) b->err = err;
    return b->err;
}

/* Store the writer's position and keep the header length current (§5). */
static int wr_close(rtc_stun_builder *b, rtc_writer *w) {
    if (w->err) return fail(b, RTC_ERR_TOO_SMALL);
    if (w->len - RTC_STUN_HEADER_LEN > 0xFFFF) return fail(b, RTC_ERR_TOO_SMALL);
    b->len = w->len;
    rtc_put_be16(b->buf + 2, (uint16_t)(b->len - RTC_STUN_HEADER_LEN));
    return RTC_OK;
}

int rtc_stun_build_init(rtc_stun_builder *b, uint8_t *buf, size_t cap, uint16_t method, int cls,
                        const uint8_t tid[RTC_STUN_TID_LEN]) {
    if (!b) return RTC_ERR_INVALID;
    memset(b, 0, sizeof *b);
    b->buf = buf;
    b->cap = buf ? cap : 0;
    if (!buf || !tid || method > 0xFFF || cls < 0 || cls > 3) return fail(b, RTC_ERR_INVALID);
    rtc_writer w = wr_open(b);
    rtc_write_u16(&w, stun_type_compose(method, cls));
    rtc_write_u16(&w, 0);
    rtc_write_u32(&w, RTC_STUN_MAGIC_COOKIE);
    rtc_write_bytes(&w, tid, RTC_STUN_TID_LEN);
    return wr_close(b, &w);
}

int rtc_stun_build_response(rtc_stun_builder *b, uint8_t *buf, size_t cap,
                            const rtc_stun_msg *req, int cls) {
    if (!req) {
        if (b) memset(b, 0, sizeof *b);
        if (b) b->err = RTC_ERR_INVALID;
        return RTC_ERR_INVALID;
    }
    if (cls != RTC_STUN_SUCCESS && cls != RTC_STUN_ERROR) {
        rtc_stun_build_init(b, buf, cap, req->method, cls, req->tid);
        return b ? fail(b, RTC_ERR_INVALID) : RTC_ERR_INVALID;
    }
    return rtc_stun_build_init(b, buf, cap, req->method, cls, req->tid);
}

int rtc_stun_build_error_response(rtc_stun_builder *b, uint8_t *buf, size_t cap,
                                  const rtc_stun_msg *req, int code, const char *reason) {
    int rc = rtc_stun_build_response(b, buf, cap, req, RTC_STUN_ERROR);
    if (rc) return rc;
    rc = rtc_stun_add_error_code(b, code, reason);
    /* §6.3.1.1: a 420 lists the unknown comprehension-required attributes. */
    if (!rc && code == RTC_STUN_ERR_UNKNOWN_ATTRIBUTE)
        rc = rtc_stun_add_unknown_attributes(b, req->unknown, req->n_unknown);
    return rc;
}

void rtc_stun_build_set_padding(rtc_stun_builder *b, uint8_t pad) {
    if (b) b->pad = pad;
}

/* Header checks common to every attribute: sticky error, order rules, value size. */
static int attr_begin(rtc_stun_builder *b, rtc_writer *w, uint16_t type, size_t len) {
    if (!b) return RTC_ERR_INVALID;
    if (b->err) return b->err;
    if (!b->buf) return fail(b, RTC_ERR_INVALID);
    if (len > 0xFFFF) return fail(b, RTC_ERR_INVALID);
    int need = type == RTC_STUN_ATTR_MESSAGE_INTEGRITY          ? 0
               : type == RTC_STUN_ATTR_MESSAGE_INTEGRITY_SHA256 ? 1
               : type == RTC_STUN_ATTR_FINGERPRINT              ? 2
                                                                : 0;
    if (b->stage > need) return fail(b, RTC_ERR_MISUSE);
    *w = wr_open(b);
    rtc_write_u16(w, type);
    rtc_write_u16(w, (uint16_t)len);
    return RTC_OK;
}

static int attr_end(rtc_stun_builder *b, rtc_writer *w, size_t len) {
    rtc_write_fill(w, b->pad, stun_pad4(len) - len);
    return wr_close(b, w);
}

int rtc_stun_add_attr(rtc_stun_builder *b, uint16_t type, const void *value, size_t len) {
    if (len && !value) return b ? fail(b, RTC_ERR_INVALID) : RTC_ERR_INVALID;
    /* Integrity attributes need the dedicated calls: they compute over the message. */
    if (type == RTC_STUN_ATTR_MESSAGE_INTEGRITY || type == RTC_STUN_ATTR_FINGERPRINT ||
        type == RTC_STUN_ATTR_MESSAGE_INTEGRITY_SHA256)
        return b ? fail(b, RTC_ERR_INVALID) : RTC_ERR_INVALID;
    rtc_writer w;
    int rc = attr_begin(b, &w, type, len);
    if (rc) return rc;
    rtc_write_bytes(&w, value, len);
    return attr_end(b, &w, len);
}

int rtc_stun_add_string(rtc_stun_builder *b, uint16_t type, const char *s) {
    if (!s) return b ? fail(b, RTC_ERR_INVALID) : RTC_ERR_INVALID;
    return rtc_stun_add_attr(b, type, s, strlen(s));
}

int rtc_stun_add_flag(rtc_stun_builder *b, uint16_t type) {
    return rtc_stun_add_attr(b, type, NULL, 0);
}

int rtc_stun_add_u32(rtc_stun_builder *b, uint16_t type, uint32_t v) {
    uint8_t x[4];
    rtc_put_be32(x, v);
    return rtc_stun_add_attr(b, type, x, sizeof x);
}

int rtc_stun_add_u64(rtc_stun_builder *b, uint16_t type, uint64_t v) {
    uint8_t x[8];
    rtc_put_be32(x, (uint32_t)(v >> 32));
    rtc_put_be32(x + 4, (uint32_t)v);
    return rtc_stun_add_attr(b, type, x, sizeof x);
}

static int add_address(rtc_stun_builder *b, uint16_t type, const rtc_addr *a, bool xor) {
    if (!a || (a->family != RTC_AF_INET && a->family != RTC_AF_INET6))
        return b ? fail(b, RTC_ERR_INVALID) : RTC_ERR_INVALID;
    if (!b || b->err || !b->buf) return b ? fail(b, RTC_ERR_INVALID) : RTC_ERR_INVALID;
    size_t n = a->family == RTC_AF_INET ? 4 : 16;
    uint8_t v[20];
    v[0] = 0;
    v[1] = a->family == RTC_AF_INET ? RTC_STUN_FAMILY_IPV4 : RTC_STUN_FAMILY_IPV6;
    uint16_t port = a->port;
    memcpy(v + 4, a->ip, n);
    if (xor) {
        /* §14.2: X-Port = port ^ top 16 bits of the cookie; X-Address = address ^
        ** (cookie || transaction id), the id being bytes 8..19 of our own header. */
        uint8_t mask[16];
        rtc_put_be32(mask, RTC_STUN_MAGIC_COOKIE);
        memcpy(mask + 4, b->buf + 8, RTC_STUN_TID_LEN);
        port ^= (uint16_t)(RTC_STUN_MAGIC_COOKIE >> 16);
        for (size_t i = 0; i < n; i++) v[4 + i] ^= mask[i];
    }
    rtc_put_be16(v + 2, port);
    return rtc_stun_add_attr(b, type, v, 4 + n);
}

int rtc_stun_add_addr(rtc_stun_builder *b, uint16_t type, const rtc_addr *a) {
    return add_address(b, type, a, false);
}
int rtc_stun_add_xor_addr(rtc_stun_builder *b, uint16_t type, const rtc_addr *a) {
    return add_address(b, type, a, true);
}

static int add_code(rtc_stun_builder *b, uint16_t type, uint8_t family, int code,
                    const char *reason) {
    if (code < 300 || code > 699) return b ? fail(b, RTC_ERR_INVALID) : RTC_ERR_INVALID;
    if (!reason) reason = rtc_stun_error_reason(code);
    size_t rlen = strlen(reason);
    if (rlen > 763) return b ? fail(b, RTC_ERR_INVALID) : RTC_ERR_INVALID;
    rtc_writer w;
    int rc = attr_begin(b, &w, type, 4 + rlen);
    if (rc) return rc;
    rtc_write_u8(&w, family);
    rtc_write_u8(&w, 0);
    rtc_write_u8(&w, (uint8_t)(code / 100));
    rtc_write_u8(&w, (uint8_t)(code % 100));
    rtc_write_bytes(&w, reason, rlen);
    return attr_end(b, &w, 4 + rlen);
}

int rtc_stun_add_error_code(rtc_stun_builder *b, int code, const char *reason) {
    return add_code(b, RTC_STUN_ATTR_ERROR_CODE, 0, code, reason);
}

int rtc_stun_add_address_error_code(rtc_stun_builder *b, uint8_t family, int code,
                                    const char *reason) {
    return add_code(b, RTC_STUN_ATTR_ADDRESS_ERROR_CODE, family, code, reason);
}

int rtc_stun_add_unknown_attributes(rtc_stun_builder *b, const uint16_t *types, size_t n) {
    if ((n && !types) || n > RTC_STUN_MAX_ATTRS)
        return b ? fail(b, RTC_ERR_INVALID) : RTC_ERR_INVALID;
    rtc_writer w;
    int rc = attr_begin(b, &w, RTC_STUN_ATTR_UNKNOWN_ATTRIBUTES, 2 * n);
    if (rc) return rc;
    for (size_t i = 0; i < n; i++) rtc_write_u16(&w, types[i]);
    return attr_end(b, &w, 2 * n);
}

int rtc_stun_add_channel_number(rtc_stun_builder *b, uint16_t channel) {
    return rtc_stun_add_u32(b, RTC_STUN_ATTR_CHANNEL_NUMBER, (uint32_t)channel << 16);
}

int rtc_stun_add_requested_transport(rtc_stun_builder *b, uint8_t proto) {
    return rtc_stun_add_u32(b, RTC_STUN_ATTR_REQUESTED_TRANSPORT, (uint32_t)proto << 24);
}

int rtc_stun_add_family(rtc_stun_builder *b, uint16_t type, uint8_t family) {
    if (type != RTC_STUN_ATTR_REQUESTED_ADDRESS_FAMILY &&
        type != RTC_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY)
        return b ? fail(b, RTC_ERR_INVALID) : RTC_ERR_INVALID;
    return rtc_stun_add_u32(b, type, (uint32_t)family << 24);
}

int rtc_stun_add_even_port(rtc_stun_builder *b, bool reserve_next) {
    uint8_t v = reserve_next ? 0x80 : 0;
    return rtc_stun_add_attr(b, RTC_STUN_ATTR_EVEN_PORT, &v, 1);
}

int rtc_stun_add_icmp(rtc_stun_builder *b, uint8_t icmp_type, uint8_t icmp_code,
                      uint32_t error_data) {
    uint8_t v[8] = {0, 0, icmp_type, icmp_code, 0, 0, 0, 0};
    rtc_put_be32(v + 4, error_data);
    return rtc_stun_add_attr(b, RTC_STUN_ATTR_ICMP, v, sizeof v);
}

int rtc_stun_add_password_algorithm(rtc_stun_builder *b, uint16_t alg) {
    return rtc_stun_add_u32(b, RTC_STUN_ATTR_PASSWORD_ALGORITHM, (uint32_t)alg << 16);
}

int rtc_stun_add_password_algorithms(rtc_stun_builder *b, const uint16_t *algs, size_t n) {
    if (!algs || n == 0 || n > RTC_STUN_MAX_ATTRS)
        return b ? fail(b, RTC_ERR_INVALID) : RTC_ERR_INVALID;
    rtc_writer w;
    int rc = attr_begin(b, &w, RTC_STUN_ATTR_PASSWORD_ALGORITHMS, 4 * n);
    if (rc) return rc;
    for (size_t i = 0; i < n; i++) {
        rtc_write_u16(&w, algs[i]);
        rtc_write_u16(&w, 0); /* no parameters for MD5 / SHA-256 */
    }
    return attr_end(b, &w, 4 * n);
}

int rtc_stun_build_finish(const rtc_stun_builder *b) {
    if (!b) return RTC_ERR_INVALID;
    if (b->err) return b->err;
    if (!b->buf || b->len < RTC_STUN_HEADER_LEN) return RTC_ERR_INVALID;
    return (int)b->len;
}

void rtc_stun_random_tid(const rtc_env *env, uint8_t tid[RTC_STUN_TID_LEN]) {
    if (!tid) return;
    rtc_env e;
    rtc_env_copy(&e, env);
    rtc_random(&e, tid, RTC_STUN_TID_LEN);
}
