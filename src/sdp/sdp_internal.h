/*
** src/sdp/sdp_internal.h: the representation behind rtc_sdp (private).
**
** Each level (the session, each m= section) keeps its lines by kind: typed fields for the lines
** JSEP needs (o=, s=, t=, m=, c=, b=, a=) and a verbatim list for the rest (i u e p r z k and
** extra t=). Serialization writes them in RFC 8866 §5 order, which is the order a well-formed
** description already has, so well-formed input round-trips byte for byte. Every string is a
** separate allocation through the object's rtc_env; sizes are tracked (strlen + 1) so custom
** allocators get exact old sizes back.
*/
#ifndef RTC_SDP_INTERNAL_H
#define RTC_SDP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cwebrtc/sdp.h"
#include "util/util.h"

typedef struct sdp_attr {
    char *name;
    char *value; /* NULL: property attribute ("a=rtcp-mux") */
} sdp_attr;

typedef struct sdp_line {
    char type;  /* 'i', 'u', 'e', 'p', 't', 'r', 'z', 'k' */
    char *text; /* everything after "x=" */
} sdp_line;

typedef struct sdp_conn {
    char *nettype, *addrtype, *address;
} sdp_conn;

typedef struct sdp_section {
    /* m= line; NULL/0 for the session part */
    char *media;
    uint16_t port, num_ports;
    char *proto;
    char **fmts;
    size_t nfmts;

    sdp_line *lines;
    size_t nlines, caplines;
    sdp_conn *conns;
    size_t nconns, capconns;
    char **bws; /* "AS:30" verbatim, checked as <token>:<digits> */
    size_t nbws, capbws;
    sdp_attr *attrs;
    size_t nattrs, capattrs;
} sdp_section;

struct rtc_sdp {
    rtc_env env;
    rtc_sdp_limits lim;

    char *o_user, *o_id, *o_ver, *o_net, *o_addrtype, *o_addr;
    char *name;
    char *timing; /* first t= value; NULL when absent */
    sdp_section session;
    sdp_section *media;
    size_t nmedia, capmedia;
    size_t total_lines; /* all lines as serialized, for the builder's bound */

    char err[192];
};

/* ---- sdp.c ---- */
RTC_INTERNAL char *sdp_strndup(const rtc_env *env, const char *p, size_t n);
RTC_INTERNAL void sdp_section_clear(const rtc_env *env, sdp_section *s);
RTC_INTERNAL void sdp_content_clear(rtc_sdp *sdp);
RTC_INTERNAL int sdp_grow(const rtc_env *env, void **arr, size_t *cap, size_t n, size_t elem);
/* The level for `m` (RTC_SDP_SESSION or a media index), or NULL for a bad index. */
RTC_INTERNAL sdp_section *sdp_level(const rtc_sdp *sdp, int m);
RTC_INTERNAL bool sdp_is_token_char(int c);
RTC_INTERNAL bool sdp_is_token(const char *p, size_t n);
/* Decimal digits only, no sign, no overflow. */
RTC_INTERNAL bool sdp_parse_u64(const char *p, size_t n, uint64_t *out);
/* Default content (v=0, o=- 0 0 IN IP4 127.0.0.1, s=-, t=0 0). */
RTC_INTERNAL int sdp_set_defaults(rtc_sdp *sdp);
RTC_INTERNAL size_t sdp_count_lines(const rtc_sdp *sdp);
/* Fill s->fmts from a space-separated list. RTC_ERR_PARSE when empty, RTC_ERR_NOMEM. On
** NOMEM the partial array stays in `s` for sdp_section_clear(). */
RTC_INTERNAL int sdp_set_fmts(const rtc_env *env, sdp_section *s, const char *p, size_t n);

/* ---- attrs.c ---- */
/* Next space-separated token of [*p, end): skips spaces/tabs first; false at the end. */
RTC_INTERNAL bool sdp_next_token(const char **p, const char *end, rtc_sdp_str *tok);
RTC_INTERNAL bool sdp_str_eq(rtc_sdp_str s, const char *lit);
RTC_INTERNAL int sdp_parse_fingerprint(const char *v, rtc_sdp_fingerprint *out);

#endif
