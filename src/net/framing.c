/*
** src/net/framing.c: message boundaries in a byte stream (pure; no sockets).
**
** Over TCP/TLS, STUN messages delimit themselves with the 16-bit length in their 20-byte
** header (RFC 8489 §6.2.2), and TURN ChannelData with the 16-bit length in its 4-byte
** header, padded to a multiple of 4 on stream transports (RFC 8656 §12.5). The first two
** bits tell them apart (00 = STUN, 01 = ChannelData; RFC 8656 §12 and RFC 7983 §7).
** ICE-TCP (RFC 6544) instead prefixes every packet with a 16-bit length (RFC 4571 §2).
**
** A peer controls these lengths, so the reassembly buffer is bounded by max_frame and
** grows only as far as the current frame needs: idle connections cost a small buffer.
*/
#include <string.h>

#include "cwebrtc/net.h"
#include "util/buf.h"
#include "util/util.h"

#define STUN_HEADER    20
#define STUN_COOKIE    0x2112A442u
#define CD_HEADER      4
#define FRAME_ABS_MAX  (STUN_HEADER + 65536) /* covers all three formats */
#define FRAMER_INITIAL 2048

int rtc_frame_peek(rtc_frame_mode mode, const uint8_t *buf, size_t len, size_t max_frame,
                   rtc_frame *out, size_t *wire_len) {
    size_t wl = 0;
    if (wire_len) *wire_len = 0;
    if (!buf && len) return RTC_ERR_INVALID;
    if (mode != RTC_FRAME_STUN && mode != RTC_FRAME_RFC4571) return RTC_ERR_INVALID;
    if (len == 0) return 0;
    rtc_reader r;
    rtc_reader_init(&r, buf, len);
    rtc_frame f;
    memset(&f, 0, sizeof f);
    size_t hdr;
    if (mode == RTC_FRAME_RFC4571) {
        if (len < 2) return 0;
        uint16_t l = rtc_read_u16(&r);
        hdr = 2;
        wl = 2 + (size_t)l;
        f.kind = RTC_FRAMEK_RFC4571;
        f.len = l;
    } else {
        uint8_t b0 = buf[0];
        if ((b0 >> 6) == 0) {
            /* STUN: check what we can as soon as we can. */
            if (len < 4) return 0;
            (void)rtc_read_u16(&r);
            uint16_t l = rtc_read_u16(&r);
            if (l % 4) return RTC_ERR_PARSE; /* RFC 8489 §5: always a multiple of 4 */
            wl = STUN_HEADER + (size_t)l;
            if (max_frame && wl > max_frame) return RTC_ERR_NOMEM;
            if (len >= 8 && rtc_read_u32(&r) != STUN_COOKIE) return RTC_ERR_PARSE;
            hdr = STUN_HEADER;
            f.kind = RTC_FRAMEK_STUN;
            f.len = wl;
        } else if ((b0 >> 6) == 1) {
            /* ChannelData: RFC 8656 §12 uses 0x4000-0x4FFF, but RFC 5766 allowed
               0x4000-0x7FFF and deployed clients (coTURN's own turnutils_uclient among
               them) still pick numbers up there, so the whole 01 prefix is framed. */
            if (len < 4) return 0;
            (void)rtc_read_u16(&r);
            uint16_t l = rtc_read_u16(&r);
            hdr = CD_HEADER;
            wl = CD_HEADER + (((size_t)l + 3) & ~(size_t)3);
            f.kind = RTC_FRAMEK_CHANNEL_DATA;
            f.len = CD_HEADER + (size_t)l;
        } else {
            return RTC_ERR_PARSE; /* 1x: neither STUN nor ChannelData: cannot resync */
        }
    }
    if (max_frame && wl > max_frame) return RTC_ERR_NOMEM;
    if (wire_len) *wire_len = wl;
    if (len < wl) return 0;
    f.data = mode == RTC_FRAME_RFC4571 ? buf + hdr : buf;
    (void)hdr;
    if (out) *out = f;
    return 1;
}

struct rtc_framer {
    rtc_env env;
    rtc_frame_mode mode;
    size_t max_frame;
    uint8_t *buf;
    size_t cap;
    size_t head; /* start of unconsumed bytes */
    size_t len;  /* unconsumed bytes from head */
    int err;     /* sticky */
};

int rtc_framer_new(rtc_framer **out, rtc_frame_mode mode, size_t max_frame, const rtc_env *env) {
    if (!out) return RTC_ERR_INVALID;
    *out = NULL;
    if (mode != RTC_FRAME_STUN && mode != RTC_FRAME_RFC4571) return RTC_ERR_INVALID;
    if (max_frame == 0 || max_frame > FRAME_ABS_MAX) max_frame = FRAME_ABS_MAX;
    rtc_env e;
    rtc_env_copy(&e, env);
    rtc_framer *f = rtc_calloc(&e, sizeof *f);
    if (!f) return RTC_ERR_NOMEM;
    f->env = e;
    f->mode = mode;
    f->max_frame = max_frame;
    *out = f;
    return RTC_OK;
}

void rtc_framer_free(rtc_framer *f) {
    if (!f) return;
    rtc_env e = f->env;
    rtc_free(&e, f->buf, f->cap);
    rtc_free(&e, f, sizeof *f);
}

size_t rtc_framer_pending(const rtc_framer *f) { return f ? f->len : 0; }

static int grow(rtc_framer *f, size_t want) {
    if (want <= f->cap) return RTC_OK;
    size_t n = f->cap ? f->cap : FRAMER_INITIAL;
    while (n < want)
        n *= 2;
    /* Never beyond what one frame may need (plus room for the next header). */
    size_t limit = f->max_frame < FRAMER_INITIAL ? FRAMER_INITIAL : f->max_frame;
    if (n > limit) n = limit;
    if (n < want) return RTC_ERR_NOMEM;
    uint8_t *p = rtc_realloc(&f->env, f->buf, f->cap, n);
    if (!p) return RTC_ERR_NOMEM;
    f->buf = p;
    f->cap = n;
    return RTC_OK;
}

/* Validate the front frame; grow so that it fits. Sets the sticky error. */
static int check_front(rtc_framer *f) {
    size_t wl = 0;
    int r = rtc_frame_peek(f->mode, f->buf + f->head, f->len, f->max_frame, NULL, &wl);
    if (r < 0) return f->err = r;
    if (r == 0 && wl > f->cap - f->head) {
        /* Compact first, then grow only if the frame still cannot fit. */
        if (f->head) {
            memmove(f->buf, f->buf + f->head, f->len);
            f->head = 0;
        }
        int g = grow(f, wl);
        if (g < 0) return f->err = g;
    }
    return r;
}

int rtc_framer_push(rtc_framer *f, const uint8_t *data, size_t len) {
    if (!f || (!data && len)) return RTC_ERR_INVALID;
    if (f->err) return f->err;
    if (!f->buf) {
        int g = grow(f, FRAMER_INITIAL);
        if (g < 0) return f->err = g;
    }
    if (f->len == 0) f->head = 0;
    if (f->head && f->head + f->len == f->cap) {
        memmove(f->buf, f->buf + f->head, f->len);
        f->head = 0;
    }
    size_t room = f->cap - f->head - f->len;
    size_t take = len < room ? len : room;
    if (take) memcpy(f->buf + f->head + f->len, data, take);
    f->len += take;
    int r = check_front(f);
    if (r < 0) return r;
    if (take == 0 && len > 0 && r == 0) {
        /* Full buffer, no complete frame, cannot grow: only possible when the buffer
           limit is below the frame size, which check_front reports. Be defensive. */
        return f->err = RTC_ERR_NOMEM;
    }
    return (int)(take > (size_t)INT32_MAX ? INT32_MAX : take);
}

int rtc_framer_next(rtc_framer *f, rtc_frame *out) {
    if (!f || !out) return RTC_ERR_INVALID;
    if (f->err) return f->err;
    size_t wl = 0;
    int r =
        rtc_frame_peek(f->mode, f->buf ? f->buf + f->head : NULL, f->len, f->max_frame, out, &wl);
    if (r < 0) return f->err = r;
    if (r == 0) {
        if (f->len) {
            r = check_front(f); /* make room for the rest of this frame */
            if (r < 0) return r;
        }
        return 0;
    }
    /* The frame stays readable in place until the next push/next call: consuming it
       only moves `head`, and push compacts before it overwrites anything. */
    f->head += wl;
    f->len -= wl;
    return 1;
}
