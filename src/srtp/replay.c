/*
** src/srtp/replay.c: packet index estimation (RFC 3711 §3.3.1, Appendix A) and the replay
** window (§3.3.2), shared by SRTP (48-bit index) and SRTCP (31-bit index).
**
** The window is a ring bitmap indexed by (index mod W) rather than a bitmap shifted on
** every packet: advancing by one clears one bit, whatever W is, so large windows
** (RFC 3711 allows any size >= 64) cost nothing per packet. Only a jump of d packets clears
** min(d, W) bits.
*/
#include "srtp/srtp_internal.h"

#include <string.h>

bool rsrtp_rtp_estimate(uint64_t top, uint16_t seq, uint64_t *guess, int64_t *delta) {
    /* libsrtp's srtp_rdbx_estimate_index(): while the highest index is at most 2^15 the
    ** ROC is 0 and the guess is the sequence number itself; RFC 3711 Appendix A would
    ** otherwise guess ROC - 1 = -1 for a reordered early packet. */
    if (top <= RSRTP_SEQ_MEDIAN) {
        *guess = seq;
        *delta = (int64_t)seq - (int64_t)top;
        return true;
    }
    uint32_t roc = (uint32_t)(top >> 16);
    uint16_t s_l = (uint16_t)top;
    uint64_t v; /* the guessed ROC, 64-bit so that 2^32 is visible */
    if (s_l < RSRTP_SEQ_MEDIAN) {
        /* A sequence number far above s_l belongs to the previous ROC (reordered across
        ** a wrap). top > 2^15 with s_l < 2^15 implies roc >= 1. */
        if ((int32_t)seq - (int32_t)s_l > RSRTP_SEQ_MEDIAN)
            v = (uint64_t)roc - 1;
        else
            v = roc;
    } else {
        /* A sequence number far below s_l means the counter wrapped. */
        if ((int32_t)s_l - RSRTP_SEQ_MEDIAN > (int32_t)seq)
            v = (uint64_t)roc + 1;
        else
            v = roc;
    }
    if (v > UINT32_MAX) return false;
    *guess = (v << 16) | seq;
    *delta = (int64_t)*guess - (int64_t)top;
    return true;
}

static inline bool bit_get(const uint64_t *bits, uint32_t words, uint64_t i) {
    uint64_t w = (i / 64) % words;
    return (bits[w] >> (i % 64)) & 1u;
}
static inline void bit_set(uint64_t *bits, uint32_t words, uint64_t i) {
    uint64_t w = (i / 64) % words;
    bits[w] |= (uint64_t)1 << (i % 64);
}

int rsrtp_window_check(uint64_t top, const uint64_t *bits, uint32_t words, int64_t delta) {
    if (delta > 0) return RTC_OK;
    int64_t w = (int64_t)words * 64;
    if (-delta >= w) return RTC_ERR_REPLAY; /* older than the window */
    if (bit_get(bits, words, (uint64_t)((int64_t)top + delta))) return RTC_ERR_REPLAY;
    return RTC_OK;
}

void rsrtp_window_add(uint64_t *top, uint64_t *bits, uint32_t words, int64_t delta) {
    uint64_t w = (uint64_t)words * 64;
    if (delta > 0) {
        /* Indices top+1 .. top+delta enter the window: clear their (stale) bits. */
        if ((uint64_t)delta >= w) {
            memset(bits, 0, (size_t)words * sizeof *bits);
        } else {
            uint64_t i = *top + 1, end = *top + (uint64_t)delta; /* inclusive */
            while (i <= end && (i % 64) != 0) {
                bits[(i / 64) % words] &= ~((uint64_t)1 << (i % 64));
                i++;
            }
            while (i + 63 <= end) { /* whole words */
                bits[(i / 64) % words] = 0;
                i += 64;
            }
            while (i <= end) {
                bits[(i / 64) % words] &= ~((uint64_t)1 << (i % 64));
                i++;
            }
        }
        *top += (uint64_t)delta;
    }
    bit_set(bits, words, (uint64_t)((int64_t)*top + (delta > 0 ? 0 : delta)));
}
