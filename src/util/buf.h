/*
** src/util/buf.h: bounds-checked byte reader and writer (private).
**
** Every wire parser reads through rtc_reader and every encoder writes through
** rtc_writer: no raw pointer arithmetic in protocol code. Both are sticky on error:
** once a read runs past the end (or a write past capacity) `err` is set, further
** calls do nothing and return zeros, and the caller checks once at the end.
** All multi-byte integers are network byte order.
*/
#ifndef RTC_UTIL_BUF_H
#define RTC_UTIL_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct rtc_reader {
    const uint8_t *p;
    size_t len; /* remaining */
    bool err;
} rtc_reader;

static inline void rtc_reader_init(rtc_reader *r, const uint8_t *p, size_t len) {
    r->p = p;
    r->len = p ? len : 0;
    r->err = false;
}
static inline size_t rtc_reader_left(const rtc_reader *r) { return r->err ? 0 : r->len; }
static inline bool rtc_reader_need(rtc_reader *r, size_t n) {
    if (r->err || r->len < n) {
        r->err = true;
        return false;
    }
    return true;
}
static inline uint8_t rtc_read_u8(rtc_reader *r) {
    if (!rtc_reader_need(r, 1)) return 0;
    uint8_t v = r->p[0];
    r->p += 1;
    r->len -= 1;
    return v;
}
static inline uint16_t rtc_read_u16(rtc_reader *r) {
    if (!rtc_reader_need(r, 2)) return 0;
    uint16_t v = (uint16_t)((r->p[0] << 8) | r->p[1]);
    r->p += 2;
    r->len -= 2;
    return v;
}
static inline uint32_t rtc_read_u24(rtc_reader *r) {
    if (!rtc_reader_need(r, 3)) return 0;
    uint32_t v = ((uint32_t)r->p[0] << 16) | ((uint32_t)r->p[1] << 8) | r->p[2];
    r->p += 3;
    r->len -= 3;
    return v;
}
static inline uint32_t rtc_read_u32(rtc_reader *r) {
    if (!rtc_reader_need(r, 4)) return 0;
    uint32_t v = ((uint32_t)r->p[0] << 24) | ((uint32_t)r->p[1] << 16) |
                 ((uint32_t)r->p[2] << 8) | r->p[3];
    r->p += 4;
    r->len -= 4;
    return v;
}
static inline uint64_t rtc_read_u64(rtc_reader *r) {
    uint64_t hi = rtc_read_u32(r);
    uint64_t lo = rtc_read_u32(r);
    return (hi << 32) | lo;
}
/* Copies n bytes into out (which may be NULL to skip). */
static inline bool rtc_read_bytes(rtc_reader *r, void *out, size_t n) {
    if (!rtc_reader_need(r, n)) return false;
    if (out && n) memcpy(out, r->p, n);
    r->p += n;
    r->len -= n;
    return true;
}
/* Returns a pointer to the next n bytes (borrowed) and advances, or NULL. */
static inline const uint8_t *rtc_read_ptr(rtc_reader *r, size_t n) {
    if (!rtc_reader_need(r, n)) return NULL;
    const uint8_t *p = r->p;
    r->p += n;
    r->len -= n;
    return p;
}
static inline bool rtc_read_skip(rtc_reader *r, size_t n) { return rtc_read_bytes(r, NULL, n); }
/* A sub-reader over the next n bytes; the parent advances past them. */
static inline rtc_reader rtc_read_sub(rtc_reader *r, size_t n) {
    rtc_reader s;
    const uint8_t *p = rtc_read_ptr(r, n);
    rtc_reader_init(&s, p, p ? n : 0);
    if (!p) s.err = true;
    return s;
}

typedef struct rtc_writer {
    uint8_t *p;    /* start of the buffer */
    size_t cap;
    size_t len;    /* bytes written */
    bool err;      /* set when a write did not fit */
} rtc_writer;

static inline void rtc_writer_init(rtc_writer *w, uint8_t *p, size_t cap) {
    w->p = p;
    w->cap = p ? cap : 0;
    w->len = 0;
    w->err = false;
}
static inline bool rtc_writer_room(rtc_writer *w, size_t n) {
    if (w->err || w->cap - w->len < n) {
        w->err = true;
        return false;
    }
    return true;
}
static inline void rtc_write_u8(rtc_writer *w, uint8_t v) {
    if (!rtc_writer_room(w, 1)) return;
    w->p[w->len++] = v;
}
static inline void rtc_write_u16(rtc_writer *w, uint16_t v) {
    if (!rtc_writer_room(w, 2)) return;
    w->p[w->len++] = (uint8_t)(v >> 8);
    w->p[w->len++] = (uint8_t)v;
}
static inline void rtc_write_u24(rtc_writer *w, uint32_t v) {
    if (!rtc_writer_room(w, 3)) return;
    w->p[w->len++] = (uint8_t)(v >> 16);
    w->p[w->len++] = (uint8_t)(v >> 8);
    w->p[w->len++] = (uint8_t)v;
}
static inline void rtc_write_u32(rtc_writer *w, uint32_t v) {
    if (!rtc_writer_room(w, 4)) return;
    w->p[w->len++] = (uint8_t)(v >> 24);
    w->p[w->len++] = (uint8_t)(v >> 16);
    w->p[w->len++] = (uint8_t)(v >> 8);
    w->p[w->len++] = (uint8_t)v;
}
static inline void rtc_write_u64(rtc_writer *w, uint64_t v) {
    rtc_write_u32(w, (uint32_t)(v >> 32));
    rtc_write_u32(w, (uint32_t)v);
}
static inline void rtc_write_bytes(rtc_writer *w, const void *src, size_t n) {
    if (!rtc_writer_room(w, n)) return;
    if (n) memcpy(w->p + w->len, src, n);
    w->len += n;
}
static inline void rtc_write_fill(rtc_writer *w, uint8_t byte, size_t n) {
    if (!rtc_writer_room(w, n)) return;
    memset(w->p + w->len, byte, n);
    w->len += n;
}
/* Reserve n bytes to fill later (e.g. a length); returns their offset or SIZE_MAX. */
static inline size_t rtc_write_reserve(rtc_writer *w, size_t n) {
    if (!rtc_writer_room(w, n)) return SIZE_MAX;
    size_t off = w->len;
    memset(w->p + off, 0, n);
    w->len += n;
    return off;
}
/* Overwrite a u16/u32 at an earlier offset (no-op if out of range or after an error). */
static inline void rtc_write_u16_at(rtc_writer *w, size_t off, uint16_t v) {
    if (w->err || off > w->len || w->len - off < 2) return;
    w->p[off] = (uint8_t)(v >> 8);
    w->p[off + 1] = (uint8_t)v;
}
static inline void rtc_write_u32_at(rtc_writer *w, size_t off, uint32_t v) {
    if (w->err || off > w->len || w->len - off < 4) return;
    w->p[off] = (uint8_t)(v >> 24);
    w->p[off + 1] = (uint8_t)(v >> 16);
    w->p[off + 2] = (uint8_t)(v >> 8);
    w->p[off + 3] = (uint8_t)v;
}

/* Plain big-endian loads/stores for code that has already checked bounds. */
static inline uint16_t rtc_be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t rtc_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void rtc_put_be16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void rtc_put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

#endif
