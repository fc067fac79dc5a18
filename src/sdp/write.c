/*
** rtc_sdp -> SDP text, CRLF line endings (RFC 8866 §5: "<type>=<value>" lines ending in CRLF).
**
** Order is the one RFC 8866 §5 prescribes: v o s i u e p c b t r z k a at session level, then per
** m= section m i c b k a. Within a kind, lines keep their stored order; this is the order a
** well-formed description already has, which is what makes serialize(parse(x)) == x.
** One pass computes the length and, when the buffer is big enough, fills it (snprintf-style).
*/
#include <stdio.h>
#include <string.h>

#include "sdp/sdp_internal.h"

typedef struct out {
    char *buf;
    size_t size;
    size_t len; /* bytes the text needs so far (may exceed size) */
} out;

static void put(out *o, const char *s, size_t n) {
    if (o->buf && o->len < o->size && n) {
        size_t room = o->size - o->len;
        memcpy(o->buf + o->len, s, n < room ? n : room);
    }
    o->len += n;
}
static void puts_(out *o, const char *s) { put(o, s, strlen(s)); }

static void line(out *o, char type, const char *a, const char *sep, const char *b) {
    char head[2] = {type, '='};
    put(o, head, 2);
    puts_(o, a);
    if (b) {
        puts_(o, sep);
        puts_(o, b);
    }
    put(o, "\r\n", 2);
}

static void verbatim(out *o, const sdp_section *s, const char *types) {
    for (size_t i = 0; i < s->nlines; i++)
        if (strchr(types, s->lines[i].type)) line(o, s->lines[i].type, s->lines[i].text, "", NULL);
}

static void conns_bws(out *o, const sdp_section *s) {
    for (size_t i = 0; i < s->nconns; i++) {
        put(o, "c=", 2);
        puts_(o, s->conns[i].nettype);
        put(o, " ", 1);
        puts_(o, s->conns[i].addrtype);
        put(o, " ", 1);
        puts_(o, s->conns[i].address);
        put(o, "\r\n", 2);
    }
    for (size_t i = 0; i < s->nbws; i++) line(o, 'b', s->bws[i], "", NULL);
}

static void attrs(out *o, const sdp_section *s) {
    for (size_t i = 0; i < s->nattrs; i++) line(o, 'a', s->attrs[i].name, ":", s->attrs[i].value);
}

int rtc_sdp_serialize(const rtc_sdp *sdp, char *buf, size_t size) {
    if (!sdp || (!buf && size)) return RTC_ERR_INVALID;
    out o = {buf, size, 0};
    put(&o, "v=0\r\n", 5);
    put(&o, "o=", 2);
    const char *of[6] = {sdp->o_user, sdp->o_id, sdp->o_ver, sdp->o_net, sdp->o_addrtype,
                         sdp->o_addr};
    for (int i = 0; i < 6; i++) {
        if (i) put(&o, " ", 1);
        puts_(&o, of[i]);
    }
    put(&o, "\r\n", 2);
    line(&o, 's', sdp->name, "", NULL);
    const sdp_section *ss = &sdp->session;
    /* i u e p come before c=, in RFC order (§5) */
    verbatim(&o, ss, "i");
    verbatim(&o, ss, "u");
    verbatim(&o, ss, "e");
    verbatim(&o, ss, "p");
    conns_bws(&o, ss);
    if (sdp->timing) line(&o, 't', sdp->timing, "", NULL);
    verbatim(&o, ss, "tr"); /* extra t= with their r= lines, in their stored order */
    verbatim(&o, ss, "z");
    verbatim(&o, ss, "k");
    attrs(&o, ss);
    for (size_t m = 0; m < sdp->nmedia; m++) {
        const sdp_section *s = &sdp->media[m];
        char num[16];
        put(&o, "m=", 2);
        puts_(&o, s->media);
        snprintf(num, sizeof num, " %u", (unsigned)s->port);
        puts_(&o, num);
        if (s->num_ports) {
            snprintf(num, sizeof num, "/%u", (unsigned)s->num_ports);
            puts_(&o, num);
        }
        put(&o, " ", 1);
        puts_(&o, s->proto);
        for (size_t i = 0; i < s->nfmts; i++) {
            put(&o, " ", 1);
            puts_(&o, s->fmts[i]);
        }
        put(&o, "\r\n", 2);
        verbatim(&o, s, "i");
        conns_bws(&o, s);
        verbatim(&o, s, "k");
        attrs(&o, s);
    }
    if (o.len > (size_t)INT32_MAX) return RTC_ERR_TOO_SMALL;
    if (!buf) return (int)o.len;
    if (o.len >= size) return RTC_ERR_TOO_SMALL;
    buf[o.len] = '\0';
    return (int)o.len;
}
