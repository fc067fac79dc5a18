/* Helpers shared by the SDP unit tests: corpus file loading, a counting allocator, and a
** structural comparison of two descriptions through the public API. */
#ifndef RTC_TEST_SDP_UTIL_H
#define RTC_TEST_SDP_UTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cwebrtc/sdp.h"

#define SDP_CORPUS_DIR RTC_SOURCE_DIR "/tests/data/sdp/"

/* Reads a whole corpus file (NUL-terminated, *len without the NUL); NULL if missing. */
static inline char *sdp_load(const char *name, size_t *len) {
    char path[512];
    snprintf(path, sizeof path, "%s%s", SDP_CORPUS_DIR, name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return NULL;
    }
    size_t r;
    while ((r = fread(buf + n, 1, cap - 1 - n, f)) > 0) {
        n += r;
        if (n == cap - 1) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) break;
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

/* Serializes into a malloc'd string (NULL on failure). */
static inline char *sdp_text(const rtc_sdp *s) {
    int n = rtc_sdp_serialize(s, NULL, 0);
    if (n < 0) return NULL;
    char *buf = malloc((size_t)n + 1);
    if (!buf) return NULL;
    if (rtc_sdp_serialize(s, buf, (size_t)n + 1) != n) {
        free(buf);
        return NULL;
    }
    return buf;
}

static inline bool str_eq_null(const char *a, const char *b) {
    if (!a || !b) return a == b;
    return strcmp(a, b) == 0;
}

/* True when both descriptions have the same structure as seen through the public API. */
static inline bool sdp_same(const rtc_sdp *a, const rtc_sdp *b) {
    rtc_sdp_origin oa, ob;
    rtc_sdp_get_origin(a, &oa);
    rtc_sdp_get_origin(b, &ob);
    if (!str_eq_null(oa.username, ob.username) || !str_eq_null(oa.sess_id, ob.sess_id) ||
        !str_eq_null(oa.sess_version, ob.sess_version) || !str_eq_null(oa.address, ob.address) ||
        !str_eq_null(oa.nettype, ob.nettype) || !str_eq_null(oa.addrtype, ob.addrtype))
        return false;
    if (!str_eq_null(rtc_sdp_session_name(a), rtc_sdp_session_name(b))) return false;
    if (rtc_sdp_media_count(a) != rtc_sdp_media_count(b)) return false;
    for (int m = RTC_SDP_SESSION; m < (int)rtc_sdp_media_count(a); m++) {
        if (m >= 0) {
            rtc_sdp_media ma, mb;
            if (rtc_sdp_get_media(a, m, &ma) || rtc_sdp_get_media(b, m, &mb)) return false;
            if (!str_eq_null(ma.media, mb.media) || ma.port != mb.port ||
                ma.num_ports != mb.num_ports || !str_eq_null(ma.proto, mb.proto) ||
                ma.fmt_count != mb.fmt_count)
                return false;
            for (size_t i = 0; i < ma.fmt_count; i++)
                if (!str_eq_null(ma.fmts[i], mb.fmts[i])) return false;
        }
        rtc_sdp_conn ca, cb;
        int ra = rtc_sdp_get_connection(a, m, &ca), rb = rtc_sdp_get_connection(b, m, &cb);
        if (ra != rb) return false;
        if (ra == 0 && (!str_eq_null(ca.address, cb.address) ||
                        !str_eq_null(ca.addrtype, cb.addrtype)))
            return false;
        if (rtc_sdp_attr_count(a, m) != rtc_sdp_attr_count(b, m)) return false;
        for (size_t i = 0; i < rtc_sdp_attr_count(a, m); i++) {
            rtc_sdp_attr x, y;
            if (rtc_sdp_get_attr(a, m, i, &x) || rtc_sdp_get_attr(b, m, i, &y)) return false;
            if (!str_eq_null(x.name, y.name) || !str_eq_null(x.value, y.value)) return false;
        }
    }
    return true;
}

/* A counting allocator: tracks outstanding bytes by the sizes the library reports, and can
** fail the allocation number `fail_at` (counting from 0; -1 never fails). */
typedef struct count_alloc {
    long long outstanding;
    long allocs;
    long fail_at;
} count_alloc;

static inline void *count_realloc(void *ud, void *ptr, size_t old_size, size_t new_size) {
    count_alloc *c = ud;
    if (new_size == 0) {
        c->outstanding -= (long long)old_size;
        free(ptr);
        return NULL;
    }
    long n = c->allocs++;
    if (c->fail_at >= 0 && n == c->fail_at) return NULL;
    void *p = realloc(ptr, new_size);
    if (p) c->outstanding += (long long)new_size - (long long)(ptr ? old_size : 0);
    return p;
}

#endif
