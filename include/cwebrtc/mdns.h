/*
** cwebrtc/mdns.h: Multicast DNS (RFC 6762) for ".local" ICE candidates.
**
** Browsers hide host addresses behind names such as
** "1f4712db-ea17-4bcf-a596-105139dfd8bf.local" (draft-ietf-mmusic-mdns-ice-candidates)
** and answer mDNS queries for them on the local link. To reach such a candidate we ask
** the link: a one-shot query (RFC 6762 §5.1) for the A and AAAA records of the name, sent
** to 224.0.0.251:5353 and [ff02::fb]:5353 from an ephemeral port, so that responders
** answer by unicast straight back to us (§6.7 "legacy unicast"; we also set the QU bit of
** §5.4). The first response that carries an address for the name wins.
**
** Two parts:
**  - a pure, sans-IO message codec (src/net/mdns_msg.c): build a query, parse a response
**    into the addresses for one name, and the responder side (parse a query, build an
**    answer for our own name) for a peer that publishes its own .local candidates.
**    Parsing is bounded and loop-safe (compression pointers must point backwards,
**    names are at most 255 bytes); malformed input gives RTC_ERR_PARSE, never a crash.
**  - a resolver (src/net/mdns.c) on an rtc_loop: rtc_mdns_resolve() sends the query on
**    every multicast-capable interface, retransmits, and calls back once with the
**    addresses, a timeout or a failure.
**
** Some responders answer only to the group, whatever the query asked (RFC 6762 §6 allows
** multicast answers). So while queries are in flight the resolver also listens on port
** 5353 (SO_REUSEADDR, sharing it with avahi or a browser) joined to both groups on the
** interfaces it queries, and accepts such an answer too (unless no_group_listen is set).
**
** Threading: the codec functions are pure, reentrant and thread-safe. An rtc_mdns
** resolver belongs to its loop's thread; callbacks run on that thread.
*/
#ifndef CWEBRTC_MDNS_H
#define CWEBRTC_MDNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cwebrtc/addr.h"
#include "cwebrtc/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RTC_MDNS_PORT     5353
#define RTC_MDNS_GROUP_V4 "224.0.0.251" /* RFC 6762 §3 */
#define RTC_MDNS_GROUP_V6 "ff02::fb"

#define RTC_MDNS_TYPE_A    1  /* RFC 1035 §3.2.2 */
#define RTC_MDNS_TYPE_AAAA 28 /* RFC 3596 */
#define RTC_MDNS_TYPE_ANY  255
#define RTC_MDNS_CLASS_IN  1
/* Top bit of a question's class: unicast response wanted (QU, RFC 6762 §5.4); of a
** record's class: cache-flush, the record set is unique (§10.2). */
#define RTC_MDNS_CLASS_TOP 0x8000u

/* Longest name in presentation form we accept ("label.local", RFC 1035 §2.3.4: 255
** bytes on the wire), without the NUL. */
#define RTC_MDNS_NAME_MAX 253
/* Largest mDNS message (RFC 6762 §17: up to 9000 bytes on the wire). */
#define RTC_MDNS_MSG_MAX 9000

/* Which address records to ask for / answer. */
#define RTC_MDNS_Q_A    0x1u
#define RTC_MDNS_Q_AAAA 0x2u

/* ==== Names ============================================================================= */

/*
** rtc_mdns_name_check() — is `name` a name we resolve: exactly one label and then
** "local", with an optional trailing dot ("x.local" or "x.local."), case-insensitive.
** The label is 1..63 letters, digits, '-' or '_' (browsers send a UUID; any such single
** label is accepted). Returns RTC_OK or RTC_ERR_INVALID. Pure.
** rtc_mdns_name_is_uuid() — true when the label is a textual UUID (8-4-4-4-12 hex), the
** form browsers use; informative only.
*/
RTC_API int rtc_mdns_name_check(const char *name);
RTC_API bool rtc_mdns_name_is_uuid(const char *name);

/* ==== Codec (pure) ======================================================================== */

/*
** rtc_mdns_build_query() — a query for `name` (any valid DNS name; dots separate labels,
** 1..63 bytes each, 255 bytes on the wire) with one question per bit of `types`
** (RTC_MDNS_Q_A then RTC_MDNS_Q_AAAA; the second question's name is a compression
** pointer to the first). `qu` sets the unicast-response bit (RFC 6762 §5.4). `id` is the
** DNS ID (RFC 6762 §18.1: zero for multicast queries; a one-shot resolver may use any,
** legacy-unicast responders echo it).
** buf/cap: caller's buffer. Returns the message length (> 0), RTC_ERR_TOO_SMALL,
** RTC_ERR_INVALID (bad name, types == 0).
*/
RTC_API int rtc_mdns_build_query(uint8_t *buf, size_t cap, uint16_t id, const char *name,
                                 unsigned types, bool qu);

/* One address learned from a response. */
typedef struct rtc_mdns_addr {
    rtc_addr addr;    /* family 4 (A) or 6 (AAAA), port 0 */
    uint32_t ttl;     /* seconds, as sent (never 0: goodbye records are not addresses) */
    bool cache_flush; /* the record set is unique (RFC 6762 §10.2) */
} rtc_mdns_addr;

/*
** rtc_mdns_parse_response() — validate a whole DNS response (header, questions, answer,
** authority and additional records, each name decoded with compression) and collect the
** A/AAAA records of class IN whose owner is `name` (compared case-insensitively;
** RFC 6762 §16) from every section, in packet order. A "goodbye" record (TTL 0, §10.1)
** is skipped. Records of other names and types are checked for well-formedness only.
** `id_out` (may be NULL) receives the DNS ID.
** out/cap: up to cap addresses are stored (out may be NULL when cap is 0).
** Returns the number of matching addresses found (may exceed cap; 0 = none), or
** RTC_ERR_PARSE: truncated, trailing bytes, QR bit clear (a query), opcode != 0,
** a compression loop or forward pointer, a name over 255 bytes, a label type other than
** 00, an A/AAAA record with a wrong RDLENGTH. RTC_ERR_INVALID for a bad `name`.
** A response with a non-zero RCODE yields 0 (RFC 6762 §18.11: silently ignored).
*/
RTC_API int rtc_mdns_parse_response(const uint8_t *buf, size_t len, const char *name,
                                    rtc_mdns_addr *out, size_t cap, uint16_t *id_out);

/* What a responder learns from a query for its name. */
typedef struct rtc_mdns_query_info {
    uint16_t id;    /* DNS ID, to echo in a legacy unicast response */
    unsigned types; /* RTC_MDNS_Q_A / _AAAA asked for `name` (ANY asks both) */
    bool qu;        /* some matching question has the unicast-response bit */
} rtc_mdns_query_info;

/*
** rtc_mdns_parse_query() — validate a whole DNS query (QR clear, opcode 0; questions and
** any known-answer records are decoded like responses) and tell whether it asks for the
** A/AAAA/ANY records of `name` in class IN (or ANY class 255).
** Returns 1 (info filled), 0 (well-formed, nothing for us), RTC_ERR_PARSE,
** RTC_ERR_INVALID (bad name or NULL info).
*/
RTC_API int rtc_mdns_parse_query(const uint8_t *buf, size_t len, const char *name,
                                 rtc_mdns_query_info *info);

/* Flags for rtc_mdns_build_response(). */
#define RTC_MDNS_RESP_LEGACY                                                                       \
    0x1u /* legacy unicast (RFC 6762 §6.7): echo `id`, repeat the                                 \
            question(s), no cache-flush bit; caller caps TTL at 10 */
/*
** rtc_mdns_build_response() — an authoritative answer (QR, AA) with one A or AAAA
** record per entry of addrs[0..n) whose family is selected by `types`; entries of other
** families are left out. Without RTC_MDNS_RESP_LEGACY the ID is 0, there is no question
** section and records carry the cache-flush bit (a host's address set is unique,
** RFC 6762 §10.2). The owner name is written once, then referenced by compression.
** How a responder answers a query that arrived from `src` (RFC 6762 §5.4, §6, §6.7):
**   src port != 5353          -> LEGACY, unicast to src, TTL <= 10 s
**   src port == 5353, info.qu -> unicast to src (no flag), TTL 120 s (§10)
**   otherwise                 -> multicast to the group (no flag), TTL 120 s
** Returns the length (> 0), RTC_ERR_TOO_SMALL, RTC_ERR_INVALID (bad name, no record
** of a wanted family, n > 64).
*/
RTC_API int rtc_mdns_build_response(uint8_t *buf, size_t cap, uint16_t id, const char *name,
                                    unsigned types, const rtc_addr *addrs, size_t n, uint32_t ttl,
                                    unsigned flags);

/* ==== Resolver on an rtc_loop ============================================================= */

typedef struct rtc_loop rtc_loop;
typedef struct rtc_mdns rtc_mdns;

/* Most addresses one result carries. */
#define RTC_MDNS_ADDR_MAX 8
/* Default bound on queries in flight per resolver. */
#define RTC_MDNS_DEFAULT_MAX_QUERIES 32

/* Zero-initialise, then set what you need (all-zero = the defaults). */
typedef struct rtc_mdns_config {
    size_t max_queries;   /* queries in flight at once; 0 = RTC_MDNS_DEFAULT_MAX_QUERIES */
    uint32_t ifindex;     /* 0 = every up, multicast-capable interface (loopback only when
                             it has the MULTICAST flag); else that interface only */
    bool no_ipv4;         /* do not query over IPv4 (224.0.0.251) */
    bool no_ipv6;         /* do not query over IPv6 (ff02::fb) */
    int retransmits;      /* extra transmissions within the timeout; 0 = 2, < 0 = none */
    bool no_group_listen; /* do not also listen on port 5353 of the groups (see below) */
    rtc_addr server;      /* TEST ONLY: family != 0 sends each query by unicast to this
                             address instead of the groups (for kernels or sandboxes
                             without multicast) */
} rtc_mdns_config;

/*
** The outcome of one resolve, delivered once on the loop thread:
**   result > 0:  addrs[0..result) (port 0; link-local IPv6 carries the scope_id of the
**                interface the answer came in on; IPv4 and/or IPv6, as the first response that
**                named any address carried them, at most RTC_MDNS_ADDR_MAX)
**   RTC_ERR_TIMEOUT: no answer in time (unknown name, nobody on the link)
**   RTC_ERR_IO:  no query could be sent at all (no usable interface, socket errors)
** `name` is the name as given to rtc_mdns_resolve; name and addrs are valid only during
** the call. The callback may call any rtc_mdns_* function, including rtc_mdns_free().
*/
typedef void (*rtc_mdns_cb)(rtc_loop *l, int result, const char *name, const rtc_addr *addrs,
                            void *ud);

/*
** rtc_mdns_new() — a resolver on loop `l` (which must outlive it). cfg and env may be NULL;
** both are copied. Opens no socket until a query starts.
** Returns RTC_OK, RTC_ERR_INVALID, RTC_ERR_NOMEM.
** rtc_mdns_free() — cancel every query (their callbacks do not run) and free. NULL is a
** no-op. Loop thread only.
*/
RTC_API int rtc_mdns_new(rtc_mdns **out, rtc_loop *l, const rtc_mdns_config *cfg,
                         const rtc_env *env);
RTC_API void rtc_mdns_free(rtc_mdns *m);

/*
** rtc_mdns_resolve() — start a one-shot query for `name` (checked by rtc_mdns_name_check)
** that gives up after `timeout` µs (<= 0 means 3 s). Fresh ephemeral-port sockets per
** query (IPv4 and IPv6), the query is sent at once, then retransmitted (RFC 6762 §5.1
** leaves the schedule to the querier; we use timeout/4, capped to [100 ms, 1 s] and
** doubling). cb runs exactly once unless the query is cancelled first, never from inside
** this call. `id_out` (may be NULL) receives a non-zero id for rtc_mdns_cancel.
** Returns RTC_OK, RTC_ERR_INVALID (bad name, NULL cb), RTC_ERR_NOMEM (max_queries in
** flight), RTC_ERR_IO (no socket could be opened; nothing was started).
** Loop thread only.
*/
RTC_API int rtc_mdns_resolve(rtc_mdns *m, const char *name, rtc_time timeout, rtc_mdns_cb cb,
                             void *ud, uint32_t *id_out);

/*
** rtc_mdns_cancel() — stop query `id`; its callback will not run. Returns RTC_OK or
** RTC_ERR_NOT_FOUND (unknown id, or already delivered). Loop thread only.
*/
RTC_API int rtc_mdns_cancel(rtc_mdns *m, uint32_t id);

/* Queries in flight. Loop thread only. */
RTC_API size_t rtc_mdns_pending(const rtc_mdns *m);

#ifdef __cplusplus
}
#endif
#endif
