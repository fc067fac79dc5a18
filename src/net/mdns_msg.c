/*
** src/net/mdns_msg.c: the DNS message codec mDNS needs (RFC 1035 §4, RFC 6762 §18).
**
** Pure and sans-IO (no socket, clock or allocation), so the fuzzer can drive it. Names are
** handled in wire form (length-prefixed labels, at most 255 bytes with the root label,
** RFC 1035 §2.3.4) so that a label holding a '.' cannot alias another name, and compared
** with ASCII case folding (RFC 6762 §16: mDNS names are case-insensitive; label lengths
** are < 64 and so never change under folding).
**
** Compression (RFC 1035 §4.1.4) is where DNS parsers loop or overrun. Every pointer must
** point strictly before the place the current run of labels started; that bound only
** shrinks, so decoding a name ends after a finite number of jumps whatever the input
** (a hop counter and the 255-byte name limit back it up).
*/
#include <string.h>

#include "cwebrtc/mdns.h"
#include "util/buf.h"
#include "util/util.h"

#define DNS_HDR_LEN           12
#define DNS_WIRE_NAME_MAX     255 /* RFC 1035 §2.3.4, including the root label */
#define DNS_MAX_HOPS          127
#define DNS_FLAG_QR           0x8000u
#define DNS_FLAG_AA           0x0400u
#define DNS_PTR_FIRST_NAME    0xC00Cu /* a pointer to offset 12: the first name after the header */
#define MDNS_RESP_MAX_RECORDS 64

/* Presentation name -> wire form. Accepts one optional trailing dot. Returns the wire
** length (with the root byte) or -1. */
static int name_to_wire(const char *name, uint8_t *wire, size_t cap) {
    if (!name || !name[0]) return -1;
    size_t n = strlen(name);
    if (n > RTC_MDNS_NAME_MAX + 1) return -1;
    if (name[n - 1] == '.') n--;
    if (n == 0) return -1;
    size_t out = 0, i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && name[j] != '.')
            j++;
        size_t lab = j - i;
        if (lab == 0 || lab > 63) return -1;
        if (out + 1 + lab + 1 > cap || out + 1 + lab + 1 > DNS_WIRE_NAME_MAX) return -1;
        wire[out++] = (uint8_t)lab;
        memcpy(wire + out, name + i, lab);
        out += lab;
        i = j + 1;                      /* past the dot (or past the end) */
        if (j < n && i == n) return -1; /* "a..": an empty label before the trailing dot */
    }
    wire[out++] = 0;
    return (int)out;
}

static uint8_t fold(uint8_t c) { return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c; }

static bool wire_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
    if (alen != blen) return false;
    for (size_t i = 0; i < alen; i++)
        if (fold(a[i]) != fold(b[i])) return false;
    return true;
}

/*
** Decode the name at the reader's position of msg[0..msglen) into wire[256]; the reader
** ends after the name (after the first pointer, if any). Returns the wire length or -1.
*/
static int read_name(const uint8_t *msg, size_t msglen, rtc_reader *r, uint8_t *wire) {
    rtc_reader cur = *r;
    bool jumped = false;
    size_t out = 0;
    int hops = 0;
    size_t bound = msglen - rtc_reader_left(&cur); /* where this run of labels started */
    for (;;) {
        uint8_t b = rtc_read_u8(&cur);
        if (cur.err) return -1;
        if ((b & 0xC0) == 0xC0) {
            uint8_t lo = rtc_read_u8(&cur);
            if (cur.err) return -1;
            size_t target = ((size_t)(b & 0x3F) << 8) | lo;
            if (target >= bound || ++hops > DNS_MAX_HOPS) return -1; /* loop or forward */
            if (!jumped) {
                *r = cur;
                jumped = true;
            }
            bound = target;
            rtc_reader_init(&cur, msg + target, msglen - target);
            continue;
        }
        if (b & 0xC0) return -1; /* 01/10: extended and binary labels (RFC 6891 §5) */
        if (b == 0) {
            if (out + 1 > DNS_WIRE_NAME_MAX) return -1;
            wire[out++] = 0;
            break;
        }
        if (out + 1 + (size_t)b + 1 > DNS_WIRE_NAME_MAX) return -1;
        wire[out++] = b;
        if (!rtc_read_bytes(&cur, wire + out, b)) return -1;
        out += b;
    }
    if (!jumped) *r = cur;
    return (int)out;
}

typedef struct walk {
    const uint8_t *want; /* wire form of the name of interest */
    size_t want_len;
    /* response mode */
    rtc_mdns_addr *out;
    size_t cap;
    size_t found;
    /* query mode */
    rtc_mdns_query_info *qi;
    bool asked;
} walk;

/* Walk a whole message. want_qr: required QR bit. Returns RTC_OK or RTC_ERR_PARSE. */
static int walk_msg(const uint8_t *buf, size_t len, bool want_qr, walk *w, uint16_t *id_out,
                    uint16_t *rcode_out) {
    if (!buf || len < DNS_HDR_LEN || len > 65535) return RTC_ERR_PARSE;
    rtc_reader r;
    rtc_reader_init(&r, buf, len);
    uint16_t id = rtc_read_u16(&r);
    uint16_t flags = rtc_read_u16(&r);
    uint32_t qd = rtc_read_u16(&r);
    uint32_t rr = (uint32_t)rtc_read_u16(&r) + rtc_read_u16(&r) + rtc_read_u16(&r);
    if (r.err) return RTC_ERR_PARSE;
    if (((flags & DNS_FLAG_QR) != 0) != want_qr) return RTC_ERR_PARSE;
    if (((flags >> 11) & 0xF) != 0) return RTC_ERR_PARSE; /* RFC 6762 §18.3: opcode 0 only */
    if (id_out) *id_out = id;
    if (rcode_out) *rcode_out = flags & 0xF;
    uint8_t name[DNS_WIRE_NAME_MAX + 1];
    /* Counts are only promises: each entry costs >= 5 bytes, so the loops are bounded by
    ** the message length as well as by the 16-bit counts. */
    for (uint32_t i = 0; i < qd; i++) {
        int nl = read_name(buf, len, &r, name);
        if (nl < 0) return RTC_ERR_PARSE;
        uint16_t qtype = rtc_read_u16(&r);
        uint16_t qclass = rtc_read_u16(&r);
        if (r.err) return RTC_ERR_PARSE;
        if (w->qi && wire_equal(name, (size_t)nl, w->want, w->want_len)) {
            uint16_t c = qclass & 0x7FFF;
            unsigned t = qtype == RTC_MDNS_TYPE_A      ? RTC_MDNS_Q_A
                         : qtype == RTC_MDNS_TYPE_AAAA ? RTC_MDNS_Q_AAAA
                         : qtype == RTC_MDNS_TYPE_ANY  ? (RTC_MDNS_Q_A | RTC_MDNS_Q_AAAA)
                                                       : 0;
            if (t && (c == RTC_MDNS_CLASS_IN || c == RTC_MDNS_TYPE_ANY)) {
                w->qi->types |= t;
                if (qclass & RTC_MDNS_CLASS_TOP) w->qi->qu = true;
                w->asked = true;
            }
        }
    }
    for (uint32_t i = 0; i < rr; i++) {
        int nl = read_name(buf, len, &r, name);
        if (nl < 0) return RTC_ERR_PARSE;
        uint16_t type = rtc_read_u16(&r);
        uint16_t klass = rtc_read_u16(&r);
        uint32_t ttl = rtc_read_u32(&r);
        uint16_t rdlen = rtc_read_u16(&r);
        rtc_reader rd = rtc_read_sub(&r, rdlen);
        if (r.err) return RTC_ERR_PARSE;
        if ((klass & 0x7FFF) != RTC_MDNS_CLASS_IN) continue;
        if (type != RTC_MDNS_TYPE_A && type != RTC_MDNS_TYPE_AAAA) continue;
        size_t alen = type == RTC_MDNS_TYPE_A ? 4 : 16;
        if (rdlen != alen) return RTC_ERR_PARSE; /* RFC 1035 §3.4.1, RFC 3596 §2.2 */
        if (w->qi || !wire_equal(name, (size_t)nl, w->want, w->want_len)) continue;
        if (ttl == 0) continue; /* goodbye (RFC 6762 §10.1): the address is going away */
        if (w->found < w->cap && w->out) {
            rtc_mdns_addr *a = &w->out[w->found];
            memset(a, 0, sizeof *a);
            uint8_t ip[16];
            rtc_read_bytes(&rd, ip, alen);
            if (alen == 4)
                rtc_addr_set_ipv4(&a->addr, ip, 0);
            else
                rtc_addr_set_ipv6(&a->addr, ip, 0);
            a->ttl = ttl;
            a->cache_flush = (klass & RTC_MDNS_CLASS_TOP) != 0;
        }
        w->found++;
    }
    if (rtc_reader_left(&r) != 0) return RTC_ERR_PARSE; /* trailing bytes */
    return RTC_OK;
}

int rtc_mdns_parse_response(const uint8_t *buf, size_t len, const char *name, rtc_mdns_addr *out,
                            size_t cap, uint16_t *id_out) {
    uint8_t want[DNS_WIRE_NAME_MAX + 1];
    int wl = name_to_wire(name, want, sizeof want);
    if (wl < 0 || (cap && !out)) return RTC_ERR_INVALID;
    walk w = {.want = want, .want_len = (size_t)wl, .out = out, .cap = cap};
    uint16_t rcode = 0;
    int rc = walk_msg(buf, len, true, &w, id_out, &rcode);
    if (rc < 0) return rc;
    if (rcode != 0) return 0; /* RFC 6762 §18.11 */
    return w.found > (size_t)INT32_MAX ? INT32_MAX : (int)w.found;
}

int rtc_mdns_parse_query(const uint8_t *buf, size_t len, const char *name,
                         rtc_mdns_query_info *info) {
    uint8_t want[DNS_WIRE_NAME_MAX + 1];
    int wl = name_to_wire(name, want, sizeof want);
    if (wl < 0 || !info) return RTC_ERR_INVALID;
    memset(info, 0, sizeof *info);
    walk w = {.want = want, .want_len = (size_t)wl, .qi = info};
    int rc = walk_msg(buf, len, false, &w, &info->id, NULL);
    if (rc < 0) return rc;
    return w.asked ? 1 : 0;
}

/* The name: in full the first time, then as a pointer to that first copy (RFC 1035 4.1.4). */
static void write_name(rtc_writer *w, const uint8_t *wire, int wl, bool *first) {
    if (*first)
        rtc_write_bytes(w, wire, (size_t)wl);
    else
        rtc_write_u16(w, DNS_PTR_FIRST_NAME);
    *first = false;
}

static uint16_t question_count(unsigned types) {
    return (uint16_t)(((types & RTC_MDNS_Q_A) ? 1 : 0) + ((types & RTC_MDNS_Q_AAAA) ? 1 : 0));
}

/* One question per type asked (A, then AAAA). */
static void write_questions(rtc_writer *w, const uint8_t *wire, int wl, unsigned types,
                            uint16_t qclass, bool *first) {
    const uint16_t qtypes[2] = {RTC_MDNS_TYPE_A, RTC_MDNS_TYPE_AAAA};
    for (int k = 0; k < 2; k++) {
        if (!(types & (1u << k))) continue;
        write_name(w, wire, wl, first);
        rtc_write_u16(w, qtypes[k]);
        rtc_write_u16(w, qclass);
    }
}

int rtc_mdns_build_query(uint8_t *buf, size_t cap, uint16_t id, const char *name, unsigned types,
                         bool qu) {
    uint8_t wire[DNS_WIRE_NAME_MAX + 1];
    int wl = name_to_wire(name, wire, sizeof wire);
    types &= RTC_MDNS_Q_A | RTC_MDNS_Q_AAAA;
    if (wl < 0 || types == 0) return RTC_ERR_INVALID;
    rtc_writer w;
    rtc_writer_init(&w, buf, cap);
    uint16_t nq = question_count(types);
    rtc_write_u16(&w, id);
    rtc_write_u16(&w, 0); /* standard query, RD clear (RFC 6762 §18.2-18.6) */
    rtc_write_u16(&w, nq);
    rtc_write_u16(&w, 0);
    rtc_write_u16(&w, 0);
    rtc_write_u16(&w, 0);
    uint16_t qclass = (uint16_t)(RTC_MDNS_CLASS_IN | (qu ? RTC_MDNS_CLASS_TOP : 0));
    bool first = true;
    write_questions(&w, wire, wl, types, qclass, &first);
    if (w.err) return RTC_ERR_TOO_SMALL;
    return (int)w.len;
}

int rtc_mdns_build_response(uint8_t *buf, size_t cap, uint16_t id, const char *name, unsigned types,
                            const rtc_addr *addrs, size_t n, uint32_t ttl, unsigned flags) {
    uint8_t wire[DNS_WIRE_NAME_MAX + 1];
    int wl = name_to_wire(name, wire, sizeof wire);
    types &= RTC_MDNS_Q_A | RTC_MDNS_Q_AAAA;
    if (wl < 0 || types == 0 || (n && !addrs) || n > MDNS_RESP_MAX_RECORDS) return RTC_ERR_INVALID;
    uint16_t an = 0;
    for (size_t i = 0; i < n; i++) {
        if (addrs[i].family == RTC_AF_INET && (types & RTC_MDNS_Q_A)) an++;
        if (addrs[i].family == RTC_AF_INET6 && (types & RTC_MDNS_Q_AAAA)) an++;
    }
    if (an == 0) return RTC_ERR_INVALID;
    bool legacy = (flags & RTC_MDNS_RESP_LEGACY) != 0;
    uint16_t nq = legacy ? question_count(types) : 0;
    rtc_writer w;
    rtc_writer_init(&w, buf, cap);
    rtc_write_u16(&w, legacy ? id : 0); /* RFC 6762 §18.1 */
    rtc_write_u16(&w, (uint16_t)(DNS_FLAG_QR | DNS_FLAG_AA));
    rtc_write_u16(&w, nq);
    rtc_write_u16(&w, an);
    rtc_write_u16(&w, 0);
    rtc_write_u16(&w, 0);
    bool first = true;
    /* §6.7: the question is repeated so that the legacy resolver accepts the answer. */
    if (legacy) write_questions(&w, wire, wl, types, RTC_MDNS_CLASS_IN, &first);
    uint16_t klass = (uint16_t)(RTC_MDNS_CLASS_IN | (legacy ? 0 : RTC_MDNS_CLASS_TOP));
    for (size_t i = 0; i < n; i++) {
        const rtc_addr *a = &addrs[i];
        bool v4 = a->family == RTC_AF_INET && (types & RTC_MDNS_Q_A);
        bool v6 = a->family == RTC_AF_INET6 && (types & RTC_MDNS_Q_AAAA);
        if (!v4 && !v6) continue;
        write_name(&w, wire, wl, &first);
        rtc_write_u16(&w, v4 ? RTC_MDNS_TYPE_A : RTC_MDNS_TYPE_AAAA);
        rtc_write_u16(&w, klass);
        rtc_write_u32(&w, ttl);
        rtc_write_u16(&w, v4 ? 4 : 16);
        rtc_write_bytes(&w, a->ip, v4 ? 4 : 16);
    }
    if (w.err) return RTC_ERR_TOO_SMALL;
    return (int)w.len;
}

/* ---- names -------------------------------------------------------------------------- */

static bool label_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* Length of the single label before ".local[.]", or 0 when the name is not of that form. */
static size_t local_label_len(const char *name) {
    if (!name) return 0;
    size_t n = strnlen(name, RTC_MDNS_NAME_MAX + 2);
    if (n > RTC_MDNS_NAME_MAX + 1) return 0;
    if (n && name[n - 1] == '.') n--;
    static const char suffix[] = ".local";
    size_t sl = sizeof suffix - 1;
    if (n <= sl) return 0;
    size_t lab = n - sl;
    for (size_t i = 0; i < sl; i++)
        if (fold((uint8_t)name[lab + i]) != (uint8_t)suffix[i]) return 0;
    if (lab > 63) return 0;
    for (size_t i = 0; i < lab; i++)
        if (!label_char(name[i])) return 0;
    return lab;
}

int rtc_mdns_name_check(const char *name) {
    return local_label_len(name) ? RTC_OK : RTC_ERR_INVALID;
}

bool rtc_mdns_name_is_uuid(const char *name) {
    if (local_label_len(name) != 36) return false;
    for (int i = 0; i < 36; i++) {
        char c = name[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-'
                 : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}
