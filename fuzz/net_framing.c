/*
** fuzz/net_framing.c: the TCP stream framer (src/net/framing.c) against itself.
**
** Byte 0 picks the mode and the chunk pattern, byte 1 the max_frame. The rest is the
** stream, pushed in chunks; the frames (or the error) must be exactly those found by
** peeking the whole stream at once: chunking never changes what comes out.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cwebrtc/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    rtc_frame_mode mode = (data[0] & 1) ? RTC_FRAME_RFC4571 : RTC_FRAME_STUN;
    size_t step = (size_t)(data[0] >> 1) + 1;              /* 1..128 */
    size_t max_frame = data[1] ? (size_t)data[1] * 64 : 0; /* 64..16320 or unlimited */
    const uint8_t *s = data + 2;
    size_t n = size - 2;

    /* reference: peek over the whole buffer */
    size_t ref_off[4096], ref_len[4096];
    int ref_kind[4096];
    size_t nref = 0, pos = 0;
    int ref_err = 0;
    while (nref < 4096) {
        rtc_frame f;
        size_t wl;
        int r = rtc_frame_peek(mode, s + pos, n - pos, max_frame, &f, &wl);
        if (r < 0) {
            ref_err = r;
            break;
        }
        if (r == 0) break;
        ref_off[nref] = (size_t)(f.data - s);
        ref_len[nref] = f.len;
        ref_kind[nref] = f.kind;
        nref++;
        pos += wl;
    }
    if (nref == 4096) return 0;

    rtc_framer *fr = NULL;
    if (rtc_framer_new(&fr, mode, max_frame, NULL) != RTC_OK) abort();
    size_t got = 0, off = 0;
    int err = 0;
    while (off < n && !err) {
        size_t c = step < n - off ? step : n - off;
        size_t taken = 0;
        int guard = 0;
        do {
            int r = rtc_framer_push(fr, s + off + taken, c - taken);
            if (r < 0) {
                err = r;
                break;
            }
            taken += (size_t)r;
            rtc_frame f;
            while ((r = rtc_framer_next(fr, &f)) == 1) {
                if (got >= nref || f.len != ref_len[got] || (int)f.kind != ref_kind[got] ||
                    memcmp(f.data, s + ref_off[got], f.len) != 0)
                    abort();
                got++;
            }
            if (r < 0) {
                err = r;
                break;
            }
            if (++guard > 1000000) abort(); /* no progress */
        } while (taken < c);
        off += c;
    }
    if (got != nref) abort();
    if (err != ref_err) abort();
    rtc_framer_free(fr);
    return 0;
}
