/*
** src/srtp/stream.c: the per-SSRC state table (open addressing, linear probing,
** backward-shift deletion, so no tombstones accumulate).
**
** Bounded: at most s->max_streams entries. Inbound streams are created only for packets
** that authenticated (see srtp.c), so a peer without the key cannot add entries at all.
** A one-entry cache (s->last) serves the common case of consecutive packets of one SSRC.
*/
#define LOG_MODULE "srtp"
#include "srtp/srtp_internal.h"

#include <openssl/crypto.h>
#include <string.h>

static inline uint32_t slot_of(uint32_t ssrc, uint32_t mask) {
    uint32_t h = ssrc * 0x9E3779B1u; /* Fibonacci hashing: SSRCs may be sequential */
    h ^= h >> 15;
    return h & mask;
}

rsrtp_stream *rsrtp_stream_peek(const rtc_srtp *s, uint32_t ssrc) {
    if (s->last && s->last->ssrc == ssrc) return s->last;
    if (s->streams.cap == 0) return NULL;
    uint32_t mask = s->streams.cap - 1;
    for (uint32_t i = slot_of(ssrc, mask), n = 0; n < s->streams.cap; i = (i + 1) & mask, n++) {
        rsrtp_stream *st = s->streams.slots[i];
        if (!st) return NULL;
        if (st->ssrc == ssrc) return st;
    }
    return NULL;
}

rsrtp_stream *rsrtp_stream_find(rtc_srtp *s, uint32_t ssrc) {
    rsrtp_stream *st = rsrtp_stream_peek(s, ssrc);
    if (st) s->last = st;
    return st;
}

static void insert_slot(rsrtp_stream **slots, uint32_t cap, rsrtp_stream *st) {
    uint32_t mask = cap - 1;
    uint32_t i = slot_of(st->ssrc, mask);
    while (slots[i])
        i = (i + 1) & mask; /* a free slot exists: load stays <= 3/4 */
    slots[i] = st;
}

static int grow(rtc_srtp *s) {
    uint32_t ncap = s->streams.cap ? s->streams.cap * 2 : 8;
    rsrtp_stream **ns = rtc_calloc(&s->env, (size_t)ncap * sizeof *ns);
    if (!ns) return RTC_ERR_NOMEM;
    for (uint32_t i = 0; i < s->streams.cap; i++)
        if (s->streams.slots[i]) insert_slot(ns, ncap, s->streams.slots[i]);
    rtc_free(&s->env, s->streams.slots, (size_t)s->streams.cap * sizeof *ns);
    s->streams.slots = ns;
    s->streams.cap = ncap;
    return RTC_OK;
}

static size_t stream_size(const rtc_srtp *s) {
    return sizeof(rsrtp_stream) + (size_t)(s->rtp_words + s->rtcp_words) * sizeof(uint64_t);
}

rsrtp_stream *rsrtp_stream_get(rtc_srtp *s, uint32_t ssrc, int *err) {
    rsrtp_stream *st = rsrtp_stream_find(s, ssrc);
    if (st) return st;
    if (s->streams.count >= s->max_streams) {
        s->stats.stream_limit_hits++;
        RTC_LOGD(&s->env, "stream bound %u reached, ssrc %08x refused", s->max_streams, ssrc);
        *err = RTC_ERR_NOMEM;
        return NULL;
    }
    if ((uint64_t)(s->streams.count + 1) * 4 > (uint64_t)s->streams.cap * 3 && grow(s) != RTC_OK) {
        *err = RTC_ERR_NOMEM;
        return NULL;
    }
    st = rtc_calloc(&s->env, stream_size(s));
    if (!st) {
        *err = RTC_ERR_NOMEM;
        return NULL;
    }
    st->ssrc = ssrc;
    insert_slot(s->streams.slots, s->streams.cap, st);
    s->streams.count++;
    s->last = st;
    return st;
}

int rsrtp_stream_remove(rtc_srtp *s, uint32_t ssrc) {
    if (s->streams.cap == 0) return RTC_ERR_NOT_FOUND;
    uint32_t mask = s->streams.cap - 1;
    uint32_t i = slot_of(ssrc, mask);
    for (uint32_t n = 0;; i = (i + 1) & mask, n++) {
        if (n >= s->streams.cap || !s->streams.slots[i]) return RTC_ERR_NOT_FOUND;
        if (s->streams.slots[i]->ssrc == ssrc) break;
    }
    rsrtp_stream *victim = s->streams.slots[i];
    s->streams.slots[i] = NULL;
    /* Backward-shift: move later members of the probe run into the hole when their home
    ** slot does not lie cyclically in (hole, j]. */
    uint32_t hole = i;
    for (uint32_t j = (i + 1) & mask; s->streams.slots[j]; j = (j + 1) & mask) {
        uint32_t home = slot_of(s->streams.slots[j]->ssrc, mask);
        bool stays = (hole <= j) ? (hole < home && home <= j) : (hole < home || home <= j);
        if (!stays) {
            s->streams.slots[hole] = s->streams.slots[j];
            s->streams.slots[j] = NULL;
            hole = j;
        }
    }
    if (s->last == victim) s->last = NULL;
    OPENSSL_cleanse(victim, stream_size(s));
    rtc_free(&s->env, victim, stream_size(s));
    s->streams.count--;
    return RTC_OK;
}

void rsrtp_streams_free(rtc_srtp *s) {
    for (uint32_t i = 0; i < s->streams.cap; i++)
        rtc_free(&s->env, s->streams.slots[i], stream_size(s));
    rtc_free(&s->env, s->streams.slots, (size_t)s->streams.cap * sizeof(rsrtp_stream *));
    s->streams.slots = NULL;
    s->streams.cap = s->streams.count = 0;
    s->last = NULL;
}
