/*
** cwebrtc/stun.h: STUN messages (RFC 8489), their integrity, and client transactions.
**
** A STUN message is a 20-byte header (type = class + method, length, magic cookie,
** 96-bit transaction id) followed by TLV attributes padded to 4 bytes. This layer is
** sans-IO and allocation-free on the hot path:
**
**  - rtc_stun_parse() checks a datagram and fills an rtc_stun_msg that BORROWS the
**    buffer: it records (type, offset, length) of each attribute and offers typed
**    getters. No allocation, no env, no clock. Structural rules enforced: header, length,
**    attribute bounds and per-type lengths, at most RTC_STUN_MAX_ATTRS attributes,
**    FINGERPRINT last and correct (RFC 8489 §14.7), attributes after MESSAGE-INTEGRITY
**    ignored except MESSAGE-INTEGRITY-SHA256 and FINGERPRINT (§14.5; see
**    docs/stun.md), unknown comprehension-required attributes reported (§6.3.1).
**  - rtc_stun_builder writes a message into caller memory, attribute by attribute,
**    keeping the header length current, then MESSAGE-INTEGRITY(-SHA256) and
**    FINGERPRINT. The padding byte is the caller's choice (RFC 5769 pads with 0x20).
**  - rtc_stun_key holds a precomputed HMAC key (short-term: the password; long-term:
**    MD5 or SHA-256 of "username:realm:password", §9.2.2). Computing a MAC with it
**    neither allocates nor fetches OpenSSL algorithms.
**  - rtc_stun_client is a table of client transactions (§6.2): it decides when to
**    (re)transmit (RTO doubling, Rc, Rm over UDP; one send and Ti = 39.5 s over TCP) on
**    the caller's clock, matches responses by transaction id and reports success,
**    error or timeout.
**
** Passwords: RFC 8489 asks for OpaqueString (RFC 8265) processing of passwords and
** realms. This layer does NOT do Unicode preparation; the caller passes the prepared
** UTF-8 bytes (ASCII passwords, the overwhelming case in WebRTC, need none). RFC 5769
** §2.4's key uses "TheMatrIX", the SASLprep output of its password.
**
** Threading: rtc_stun_msg, rtc_stun_builder and rtc_stun_key are plain values with no
** shared state; functions on distinct values may run on any threads. An rtc_stun_client
** is used by one thread at a time.
*/
#ifndef CWEBRTC_STUN_H
#define CWEBRTC_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cwebrtc/addr.h"
#include "cwebrtc/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- constants ------------------------------------------------------------------- */

#define RTC_STUN_MAGIC_COOKIE 0x2112A442u
#define RTC_STUN_HEADER_LEN 20
#define RTC_STUN_TID_LEN 12
#define RTC_STUN_FINGERPRINT_XOR 0x5354554Eu /* RFC 8489 §14.7: "STUN" */
#define RTC_STUN_PORT 3478
#define RTC_STUNS_PORT 5349
/* Most attributes a parsed message may carry (all of them, including those ignored
** after MESSAGE-INTEGRITY); more is RTC_ERR_PARSE. Real messages carry < 20. */
#define RTC_STUN_MAX_ATTRS 64
/* Distinct unknown comprehension-required types recorded for a 420 response. */
#define RTC_STUN_MAX_UNKNOWN 16
/* Largest request rtc_stun_client_start() accepts (it keeps a copy; STUN over UDP should
** stay under the path MTU, RFC 8489 §6.1). The parser and the builder handle any
** consistent length up to 65535+20. */
#define RTC_STUN_MAX_MSG_LEN 4096

/* Message classes (RFC 8489 §5: bits C1 C0). */
typedef enum rtc_stun_class {
    RTC_STUN_REQUEST = 0,
    RTC_STUN_INDICATION = 1,
    RTC_STUN_SUCCESS = 2, /* success response */
    RTC_STUN_ERROR = 3,   /* error response */
} rtc_stun_class;

/* Methods (12 bits). RFC 8489, RFC 8656 (TURN), RFC 6062 (TURN TCP). */
#define RTC_STUN_BINDING 0x001
#define RTC_STUN_ALLOCATE 0x003
#define RTC_STUN_REFRESH 0x004
#define RTC_STUN_SEND 0x006
#define RTC_STUN_DATA 0x007
#define RTC_STUN_CREATE_PERMISSION 0x008
#define RTC_STUN_CHANNEL_BIND 0x009
#define RTC_STUN_CONNECT 0x00A
#define RTC_STUN_CONNECTION_BIND 0x00B
#define RTC_STUN_CONNECTION_ATTEMPT 0x00C

/* Attribute types. 0x0000-0x7FFF are comprehension-required, 0x8000-0xFFFF optional. */
#define RTC_STUN_ATTR_MAPPED_ADDRESS 0x0001
#define RTC_STUN_ATTR_USERNAME 0x0006
#define RTC_STUN_ATTR_MESSAGE_INTEGRITY 0x0008
#define RTC_STUN_ATTR_ERROR_CODE 0x0009
#define RTC_STUN_ATTR_UNKNOWN_ATTRIBUTES 0x000A
#define RTC_STUN_ATTR_CHANNEL_NUMBER 0x000C      /* RFC 8656 */
#define RTC_STUN_ATTR_LIFETIME 0x000D            /* RFC 8656 */
#define RTC_STUN_ATTR_XOR_PEER_ADDRESS 0x0012    /* RFC 8656, may repeat */
#define RTC_STUN_ATTR_DATA 0x0013                /* RFC 8656 */
#define RTC_STUN_ATTR_REALM 0x0014
#define RTC_STUN_ATTR_NONCE 0x0015
#define RTC_STUN_ATTR_XOR_RELAYED_ADDRESS 0x0016 /* RFC 8656, may repeat (v4 + v6) */
#define RTC_STUN_ATTR_REQUESTED_ADDRESS_FAMILY 0x0017 /* RFC 8656 */
#define RTC_STUN_ATTR_EVEN_PORT 0x0018           /* RFC 8656 */
#define RTC_STUN_ATTR_REQUESTED_TRANSPORT 0x0019 /* RFC 8656 */
#define RTC_STUN_ATTR_DONT_FRAGMENT 0x001A       /* RFC 8656 */
#define RTC_STUN_ATTR_MESSAGE_INTEGRITY_SHA256 0x001C
#define RTC_STUN_ATTR_PASSWORD_ALGORITHM 0x001D
#define RTC_STUN_ATTR_USERHASH 0x001E
#define RTC_STUN_ATTR_XOR_MAPPED_ADDRESS 0x0020
#define RTC_STUN_ATTR_RESERVATION_TOKEN 0x0022   /* RFC 8656 */
#define RTC_STUN_ATTR_PRIORITY 0x0024            /* RFC 8445 */
#define RTC_STUN_ATTR_USE_CANDIDATE 0x0025       /* RFC 8445 */
#define RTC_STUN_ATTR_CONNECTION_ID 0x002A       /* RFC 6062 */
#define RTC_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY 0x8000 /* RFC 8656 */
#define RTC_STUN_ATTR_ADDRESS_ERROR_CODE 0x8001  /* RFC 8656 */
#define RTC_STUN_ATTR_PASSWORD_ALGORITHMS 0x8002
#define RTC_STUN_ATTR_ALTERNATE_DOMAIN 0x8003
#define RTC_STUN_ATTR_ICMP 0x8004                /* RFC 8656 */
#define RTC_STUN_ATTR_SOFTWARE 0x8022
#define RTC_STUN_ATTR_ALTERNATE_SERVER 0x8023
#define RTC_STUN_ATTR_FINGERPRINT 0x8028
#define RTC_STUN_ATTR_ICE_CONTROLLED 0x8029      /* RFC 8445 */
#define RTC_STUN_ATTR_ICE_CONTROLLING 0x802A     /* RFC 8445 */
#define RTC_STUN_ATTR_RESPONSE_ORIGIN 0x802B     /* RFC 5780 */
#define RTC_STUN_ATTR_OTHER_ADDRESS 0x802C       /* RFC 5780 */

/* Error codes (ERROR-CODE class*100 + number). */
#define RTC_STUN_ERR_TRY_ALTERNATE 300
#define RTC_STUN_ERR_BAD_REQUEST 400
#define RTC_STUN_ERR_UNAUTHENTICATED 401
#define RTC_STUN_ERR_FORBIDDEN 403
#define RTC_STUN_ERR_MOBILITY_FORBIDDEN 405
#define RTC_STUN_ERR_UNKNOWN_ATTRIBUTE 420
#define RTC_STUN_ERR_ALLOCATION_MISMATCH 437
#define RTC_STUN_ERR_STALE_NONCE 438
#define RTC_STUN_ERR_ADDRESS_FAMILY_NOT_SUPPORTED 440
#define RTC_STUN_ERR_WRONG_CREDENTIALS 441
#define RTC_STUN_ERR_UNSUPPORTED_TRANSPORT 442
#define RTC_STUN_ERR_PEER_ADDRESS_FAMILY_MISMATCH 443
#define RTC_STUN_ERR_CONNECTION_ALREADY_EXISTS 446
#define RTC_STUN_ERR_CONNECTION_TIMEOUT 447
#define RTC_STUN_ERR_ALLOCATION_QUOTA_REACHED 486
#define RTC_STUN_ERR_ROLE_CONFLICT 487
#define RTC_STUN_ERR_SERVER_ERROR 500
#define RTC_STUN_ERR_INSUFFICIENT_CAPACITY 508

/* PASSWORD-ALGORITHM(S) values (RFC 8489 §18.5). */
#define RTC_STUN_PASSWORD_ALG_MD5 0x0001
#define RTC_STUN_PASSWORD_ALG_SHA256 0x0002

/* Address family octet used by address attributes and (REQUESTED|ADDITIONAL)-ADDRESS-FAMILY. */
#define RTC_STUN_FAMILY_IPV4 0x01
#define RTC_STUN_FAMILY_IPV6 0x02

/* REQUESTED-TRANSPORT protocol numbers. */
#define RTC_STUN_TRANSPORT_UDP 17
#define RTC_STUN_TRANSPORT_TCP 6

/* The reason phrase RFC 8489/8656 suggest for an error code ("" when unknown). Static. */
RTC_API const char *rtc_stun_error_reason(int code);
/* Names for logs and tools: "Binding", "Allocate", ... ("unknown" otherwise);
** "request", "indication", "success response", "error response"; attribute names such
** as "XOR-MAPPED-ADDRESS" (NULL when unknown). Static strings. */
RTC_API const char *rtc_stun_method_name(uint16_t method);
RTC_API const char *rtc_stun_class_name(int cls);
RTC_API const char *rtc_stun_attr_name(uint16_t type);

/* ---- quick classification (RFC 7983 demux, TCP framing) ------------------------- */

/*
** true when buf/len looks like exactly one STUN message: the two top bits are 0, the
** magic cookie is present, the length field is a multiple of 4 and equals len - 20.
** Cheap (reads 8 bytes); does not look at attributes. buf borrowed.
*/
RTC_API bool rtc_stun_is_message(const uint8_t *buf, size_t len);

/*
** For stream transports (RFC 8489 §6.2.2): the total size of the STUN message starting
** at buf, read from its header. Returns 20 + length (> 0), 0 when fewer than 20 bytes
** are available yet, or RTC_ERR_PARSE when the header is not a STUN header (top bits,
** cookie or length%4 wrong).
*/
RTC_API int rtc_stun_message_size(const uint8_t *buf, size_t len);

/* ---- parsed messages --------------------------------------------------------------- */

/* One attribute: its type and where its value lies in the message (no padding). */
typedef struct rtc_stun_attr {
    uint16_t type;
    uint16_t len;    /* value length in bytes, without padding */
    uint32_t offset; /* of the value, from the first byte of the message */
} rtc_stun_attr;

/*
** A parsed message. It borrows `buf`: keep the bytes alive and unchanged while you use
** the struct (attribute values are read from them). Plain data (~600 bytes); lives on
** the stack fine. Fields are read-only for the caller.
*/
typedef struct rtc_stun_msg {
    const uint8_t *buf; /* the message bytes (borrowed) */
    size_t len;         /* 20 + length field */
    uint16_t type;      /* the 14-bit message type as on the wire */
    uint16_t method;    /* RTC_STUN_BINDING, ... */
    uint8_t cls;        /* rtc_stun_class */
    uint8_t tid[RTC_STUN_TID_LEN];
    /* Attributes that count, in wire order: everything before MESSAGE-INTEGRITY, then
    ** MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT when present.
    ** Attributes that §14.5 says to ignore are not listed (n_ignored counts them). */
    uint16_t n_attrs;
    uint16_t n_ignored;
    rtc_stun_attr attrs[RTC_STUN_MAX_ATTRS];
    int16_t mi;     /* index in attrs of MESSAGE-INTEGRITY, -1 if absent */
    int16_t mi256;  /* index of MESSAGE-INTEGRITY-SHA256, -1 if absent */
    int16_t fp;     /* index of FINGERPRINT (already verified by parse), -1 if absent */
    /* Unknown comprehension-required types (deduplicated, first RTC_STUN_MAX_UNKNOWN).
    ** Non-zero makes rtc_stun_parse() return RTC_ERR_UNSUPPORTED. */
    uint16_t n_unknown;
    uint16_t unknown[RTC_STUN_MAX_UNKNOWN];
} rtc_stun_msg;

/*
** rtc_stun_parse() — check one STUN message and index its attributes.
**
** buf/len: exactly one message (a datagram, or one frame cut with
**          rtc_stun_message_size()); borrowed, and m keeps pointing into it.
** Returns: RTC_OK;
**          RTC_ERR_UNSUPPORTED: the message is well formed and m is FULLY valid, but it
**            carries unknown comprehension-required attributes (m->unknown): answer a
**            request with rtc_stun_build_error_response(..., 420, ...), drop other classes
**            (RFC 8489 §6.3.1-§6.3.4);
**          RTC_ERR_AUTH: FINGERPRINT present but wrong (m not valid; drop silently);
**          RTC_ERR_PARSE: not STUN or malformed (m not valid): bad header, length, bounds,
**            a known attribute of the wrong size, more than RTC_STUN_MAX_ATTRS attributes,
**            anything after FINGERPRINT;
**          RTC_ERR_INVALID: NULL arguments.
** Does not verify MESSAGE-INTEGRITY (that needs a key: rtc_stun_check_integrity()).
** Never allocates. Duplicate attributes are kept; getters return the first (§14).
*/
RTC_API int rtc_stun_parse(rtc_stun_msg *m, const uint8_t *buf, size_t len);

/* First attribute of `type` (among those that count), or NULL. */
RTC_API const rtc_stun_attr *rtc_stun_find(const rtc_stun_msg *m, uint16_t type);
/* Next attribute of the same type after `prev` (for repeated XOR-PEER-ADDRESS), or NULL. */
RTC_API const rtc_stun_attr *rtc_stun_find_next(const rtc_stun_msg *m,
                                                const rtc_stun_attr *prev);
/* Pointer to an attribute's value inside m->buf (len bytes; borrowed). */
RTC_API const uint8_t *rtc_stun_attr_value(const rtc_stun_msg *m, const rtc_stun_attr *a);
/* true when an attribute of `type` is present (USE-CANDIDATE, DONT-FRAGMENT, ...). */
RTC_API bool rtc_stun_has(const rtc_stun_msg *m, uint16_t type);

/*
** Typed getters. Each reads the FIRST attribute of the type and returns RTC_OK,
** RTC_ERR_NOT_FOUND when absent, or RTC_ERR_PARSE when its value is malformed.
** Outputs that point into the message (strings, byte ranges) are borrowed from m->buf
** and are not NUL-terminated.
*/
/* MAPPED-ADDRESS, ALTERNATE-SERVER, RESPONSE-ORIGIN, OTHER-ADDRESS (plain address). */
RTC_API int rtc_stun_get_addr(const rtc_stun_msg *m, uint16_t type, rtc_addr *out);
/* XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS, XOR-RELAYED-ADDRESS (XOR with cookie + tid). */
RTC_API int rtc_stun_get_xor_addr(const rtc_stun_msg *m, uint16_t type, rtc_addr *out);
/* The same two decoders on a given attribute (use with rtc_stun_find_next for repeats). */
RTC_API int rtc_stun_attr_addr(const rtc_stun_msg *m, const rtc_stun_attr *a, rtc_addr *out);
RTC_API int rtc_stun_attr_xor_addr(const rtc_stun_msg *m, const rtc_stun_attr *a,
                                   rtc_addr *out);
/* Raw value bytes: USERNAME, REALM, NONCE, SOFTWARE, DATA, USERHASH, CONNECTION-ID... */
RTC_API int rtc_stun_get_bytes(const rtc_stun_msg *m, uint16_t type, const uint8_t **p,
                               size_t *len);
/* The same value copied as a NUL-terminated string into buf[0..size). Returns the value
** length (>= 0), RTC_ERR_NOT_FOUND, RTC_ERR_PARSE, or RTC_ERR_TOO_SMALL (size <= len;
** buf then holds a truncated, NUL-terminated prefix). Embedded NULs are copied as is. */
RTC_API int rtc_stun_get_string(const rtc_stun_msg *m, uint16_t type, char *buf, size_t size);
/* 4-byte values: PRIORITY, LIFETIME, CONNECTION-ID, FINGERPRINT. */
RTC_API int rtc_stun_get_u32(const rtc_stun_msg *m, uint16_t type, uint32_t *v);
/* 8-byte values: ICE-CONTROLLED, ICE-CONTROLLING, RESERVATION-TOKEN. */
RTC_API int rtc_stun_get_u64(const rtc_stun_msg *m, uint16_t type, uint64_t *v);
/* ERROR-CODE: code = class*100 + number (300..699); reason borrowed UTF-8 (may be NULL
** when reason_len is NULL). */
RTC_API int rtc_stun_get_error_code(const rtc_stun_msg *m, int *code, const char **reason,
                                    size_t *reason_len);
/* UNKNOWN-ATTRIBUTES: copies up to `max` types, returns how many the attribute holds
** (>= 0) or RTC_ERR_NOT_FOUND / RTC_ERR_PARSE. */
RTC_API int rtc_stun_get_unknown_attributes(const rtc_stun_msg *m, uint16_t *types,
                                            size_t max);
/* CHANNEL-NUMBER (RFFU ignored). Any 16-bit value is returned; the TURN layer checks the
** 0x4000-0x4FFF range. */
RTC_API int rtc_stun_get_channel_number(const rtc_stun_msg *m, uint16_t *channel);
/* REQUESTED-TRANSPORT: the protocol number (17 = UDP, 6 = TCP). */
RTC_API int rtc_stun_get_requested_transport(const rtc_stun_msg *m, uint8_t *proto);
/* REQUESTED-ADDRESS-FAMILY / ADDITIONAL-ADDRESS-FAMILY: RTC_STUN_FAMILY_IPV4/_IPV6 (other
** values are returned as they are; the TURN server answers 440). */
RTC_API int rtc_stun_get_family(const rtc_stun_msg *m, uint16_t type, uint8_t *family);
/* EVEN-PORT: the R bit. */
RTC_API int rtc_stun_get_even_port(const rtc_stun_msg *m, bool *reserve_next);
/* ADDRESS-ERROR-CODE (RFC 8656 §18.12): family, code, reason (borrowed). */
RTC_API int rtc_stun_get_address_error_code(const rtc_stun_msg *m, uint8_t *family, int *code,
                                            const char **reason, size_t *reason_len);
/* ICMP (RFC 8656 §18.13). */
RTC_API int rtc_stun_get_icmp(const rtc_stun_msg *m, uint8_t *icmp_type, uint8_t *icmp_code,
                              uint32_t *error_data);
/* PASSWORD-ALGORITHM: the algorithm number (parameters, if any, are not returned). */
RTC_API int rtc_stun_get_password_algorithm(const rtc_stun_msg *m, uint16_t *alg);
/* PASSWORD-ALGORITHMS: copies up to `max` algorithm numbers, returns how many the
** attribute lists (>= 0) or RTC_ERR_NOT_FOUND / RTC_ERR_PARSE. */
RTC_API int rtc_stun_get_password_algorithms(const rtc_stun_msg *m, uint16_t *algs,
                                             size_t max);

/* ---- keys and integrity ------------------------------------------------------------ */

/*
** A MESSAGE-INTEGRITY key, precomputed for both HMAC-SHA1 (MI) and HMAC-SHA256
** (MI-SHA256). Plain data (~110 bytes), copy freely. Holds key-derived state: treat it
** like the password (never log it); rtc_stun_key_clear() wipes it. Setting one up costs
** about 0.3 us (long-term: ~1.2 us), several times a MAC: keep keys with the credentials
** (per ICE password, per TURN user) rather than rebuilding them per message.
*/
typedef struct rtc_stun_key {
    uint32_t sha1_inner[5], sha1_outer[5];
    uint32_t sha256_inner[8], sha256_outer[8];
    uint8_t valid; /* 0: unset; private otherwise (2 = SHA-NI usable on this CPU) */
} rtc_stun_key;

/* Any byte string as the HMAC key (RFC 8489 §9.1.1 short-term: the password bytes, as
** ICE uses). Returns RTC_OK or RTC_ERR_INVALID (key NULL with len > 0). */
RTC_API int rtc_stun_key_set(rtc_stun_key *k, const uint8_t *key, size_t len);
/*
** Long-term credentials (RFC 8489 §9.2.2): key = MD5(username ":" realm ":" password)
** for RTC_STUN_PASSWORD_ALG_MD5, SHA-256 of the same for RTC_STUN_PASSWORD_ALG_SHA256.
** Strings are UTF-8 bytes already prepared (see the top of this header). If `raw` is not
** NULL it receives the 16/32-byte key (TURN servers store it instead of passwords).
** Returns RTC_OK, RTC_ERR_INVALID (bad alg, NULL, or the three together > 2048 bytes),
** RTC_ERR_CRYPTO.
*/
RTC_API int rtc_stun_key_long_term(rtc_stun_key *k, uint16_t alg, const char *username,
                                   size_t username_len, const char *realm, size_t realm_len,
                                   const char *password, size_t password_len,
                                   uint8_t raw[32]);
RTC_API void rtc_stun_key_clear(rtc_stun_key *k);

/* USERHASH (RFC 8489 §14.4): SHA-256(username ":" realm). Returns RTC_OK/RTC_ERR_INVALID. */
RTC_API int rtc_stun_userhash(const char *username, size_t username_len, const char *realm,
                              size_t realm_len, uint8_t out[32]);

/*
** rtc_stun_check_integrity() — verify the message's integrity with `k`.
** Checks MESSAGE-INTEGRITY-SHA256 when present (a truncated one of 16..32 bytes is
** accepted, §14.6), and MESSAGE-INTEGRITY when present; both must match.
** Returns RTC_OK, RTC_ERR_NOT_FOUND (neither attribute present), RTC_ERR_AUTH (a
** mismatch), RTC_ERR_INVALID (NULL). Constant-time comparison; no allocation.
*/
RTC_API int rtc_stun_check_integrity(const rtc_stun_msg *m, const rtc_stun_key *k);
/* Only MESSAGE-INTEGRITY / only MESSAGE-INTEGRITY-SHA256; same returns. */
RTC_API int rtc_stun_check_mi(const rtc_stun_msg *m, const rtc_stun_key *k);
RTC_API int rtc_stun_check_mi_sha256(const rtc_stun_msg *m, const rtc_stun_key *k);

/* ---- building messages ------------------------------------------------------------- */

/*
** A builder writes one message into caller memory. Errors are sticky: after the first
** failure every add_* returns that error and rtc_stun_build_finish() reports it, so a
** sequence of adds can be checked once. The header length is kept current after every
** add, so the bytes are a valid message at any point. Fields are private.
** Order rules (RFC 8489 §14.5-§14.7): after MESSAGE-INTEGRITY only
** MESSAGE-INTEGRITY-SHA256 and FINGERPRINT may be added, after MESSAGE-INTEGRITY-SHA256
** only FINGERPRINT, after FINGERPRINT nothing (RTC_ERR_MISUSE).
*/
typedef struct rtc_stun_builder {
    uint8_t *buf;
    size_t cap;
    size_t len;
    int err;
    uint8_t pad;   /* padding byte, 0 by default */
    uint8_t stage; /* 0 attributes, 1 after MI, 2 after MI-SHA256, 3 after FINGERPRINT */
} rtc_stun_builder;

/*
** Start a message of `method` and `cls` with transaction id `tid` in buf[0..cap).
** buf is owned by the caller and must outlive the builder. Returns RTC_OK,
** RTC_ERR_TOO_SMALL (cap < 20), RTC_ERR_INVALID (NULL, method > 0xFFF, cls > 3).
*/
RTC_API int rtc_stun_build_init(rtc_stun_builder *b, uint8_t *buf, size_t cap, uint16_t method,
                                int cls, const uint8_t tid[RTC_STUN_TID_LEN]);
/* Start a response (cls SUCCESS or ERROR) to `req`: same method and transaction id. */
RTC_API int rtc_stun_build_response(rtc_stun_builder *b, uint8_t *buf, size_t cap,
                                    const rtc_stun_msg *req, int cls);
/*
** Start an error response to `req` with ERROR-CODE `code` and `reason` (NULL: the
** standard phrase). For 420 it also adds UNKNOWN-ATTRIBUTES listing req->unknown
** (RFC 8489 §6.3.1.1). The caller may add more (SOFTWARE, NONCE, ...), then integrity
** and FINGERPRINT, then finish.
*/
RTC_API int rtc_stun_build_error_response(rtc_stun_builder *b, uint8_t *buf, size_t cap,
                                          const rtc_stun_msg *req, int code,
                                          const char *reason);
/* Padding byte for the following attributes (RFC 5769 uses 0x20; default 0). */
RTC_API void rtc_stun_build_set_padding(rtc_stun_builder *b, uint8_t pad);

/* Every add_* returns RTC_OK or the sticky error: RTC_ERR_TOO_SMALL (buffer full),
** RTC_ERR_INVALID (bad value), RTC_ERR_MISUSE (order rules above). */
/* Any attribute with a raw value (len <= 65535; padded automatically). */
RTC_API int rtc_stun_add_attr(rtc_stun_builder *b, uint16_t type, const void *value,
                              size_t len);
/* A NUL-terminated string value (USERNAME, REALM, NONCE, SOFTWARE, ...). */
RTC_API int rtc_stun_add_string(rtc_stun_builder *b, uint16_t type, const char *s);
/* Zero-length attribute (USE-CANDIDATE, DONT-FRAGMENT). */
RTC_API int rtc_stun_add_flag(rtc_stun_builder *b, uint16_t type);
RTC_API int rtc_stun_add_u32(rtc_stun_builder *b, uint16_t type, uint32_t v);
RTC_API int rtc_stun_add_u64(rtc_stun_builder *b, uint16_t type, uint64_t v);
/* MAPPED-ADDRESS style (plain) and XOR-*-ADDRESS style (XOR with cookie/tid). */
RTC_API int rtc_stun_add_addr(rtc_stun_builder *b, uint16_t type, const rtc_addr *a);
RTC_API int rtc_stun_add_xor_addr(rtc_stun_builder *b, uint16_t type, const rtc_addr *a);
/* ERROR-CODE; code 300..699, reason NULL => rtc_stun_error_reason(code). */
RTC_API int rtc_stun_add_error_code(rtc_stun_builder *b, int code, const char *reason);
RTC_API int rtc_stun_add_unknown_attributes(rtc_stun_builder *b, const uint16_t *types,
                                            size_t n);
RTC_API int rtc_stun_add_channel_number(rtc_stun_builder *b, uint16_t channel);
RTC_API int rtc_stun_add_requested_transport(rtc_stun_builder *b, uint8_t proto);
/* REQUESTED-ADDRESS-FAMILY / ADDITIONAL-ADDRESS-FAMILY. */
RTC_API int rtc_stun_add_family(rtc_stun_builder *b, uint16_t type, uint8_t family);
RTC_API int rtc_stun_add_even_port(rtc_stun_builder *b, bool reserve_next);
RTC_API int rtc_stun_add_address_error_code(rtc_stun_builder *b, uint8_t family, int code,
                                            const char *reason);
RTC_API int rtc_stun_add_icmp(rtc_stun_builder *b, uint8_t icmp_type, uint8_t icmp_code,
                              uint32_t error_data);
/* PASSWORD-ALGORITHM (no parameters) and PASSWORD-ALGORITHMS (list, no parameters). */
RTC_API int rtc_stun_add_password_algorithm(rtc_stun_builder *b, uint16_t alg);
RTC_API int rtc_stun_add_password_algorithms(rtc_stun_builder *b, const uint16_t *algs,
                                             size_t n);
/* MESSAGE-INTEGRITY (HMAC-SHA1, 20 bytes) / MESSAGE-INTEGRITY-SHA256 (32 bytes) over
** everything so far (RFC 8489 §14.5/§14.6). */
RTC_API int rtc_stun_add_integrity(rtc_stun_builder *b, const rtc_stun_key *k);
RTC_API int rtc_stun_add_integrity_sha256(rtc_stun_builder *b, const rtc_stun_key *k);
/* FINGERPRINT (§14.7); must be the last attribute. */
RTC_API int rtc_stun_add_fingerprint(rtc_stun_builder *b);
/* The message length (>= 20) or the sticky error. The message is buf[0..length). */
RTC_API int rtc_stun_build_finish(const rtc_stun_builder *b);

/* A random transaction id from env (NULL: default env = OpenSSL RAND). */
RTC_API void rtc_stun_random_tid(const rtc_env *env, uint8_t tid[RTC_STUN_TID_LEN]);

/* ---- client transactions (RFC 8489 §6.2) ------------------------------------------- */

/*
** rtc_stun_client: a bounded table of outstanding client transactions. Sans-IO:
**
**   start(now, request bytes)     -> the request is due for transmission now
**   poll_transmit()               -> 1 and a datagram to send, until 0
**   handle_response(now, msg)     -> 1 when it matched an outstanding transaction
**                                    (the transaction is then finished)
**   handle_timeout(now)           -> schedules retransmissions / detects timeouts
**   poll_event()                  -> 1 and a TIMEOUT event, until 0
**   next_timeout()                -> when to call handle_timeout (RTC_TIME_NEVER: idle)
**
** After every start/handle_* call drain poll_transmit and poll_event.
** UDP (RFC 8489 §6.2.1): transmissions at t0 + RTO*(2^k - 1) for k = 0..Rc-1
** (0, 500, 1500, 3500, 7500, 15500, 31500 ms with the defaults), then a timeout at
** t0 + RTO*(2^(Rc-1) - 1) + Rm*RTO (39.5 s). Times are computed from t0, so a late
** caller does not shift the schedule. Reliable (TCP/TLS, §6.2.2): one transmission and
** a timeout after Ti (39.5 s).
** Integrity of responses is the caller's business: check it BEFORE handle_response
** (use rtc_stun_client_lookup to find the transaction's user pointer); a response that
** fails the check should simply not be passed in (RFC 8489 §6.3.3 says to discard it).
*/
typedef struct rtc_stun_client rtc_stun_client;

typedef struct rtc_stun_client_config {
    rtc_time rto;            /* initial RTO; 0 => 500 ms (RFC 8489 §6.2.1) */
    int rc;                  /* transmissions over UDP; 0 => 7 */
    int rm;                  /* final wait in RTOs; 0 => 16 */
    rtc_time ti;             /* reliable-transport timeout; 0 => 39.5 s */
    size_t max_transactions; /* bound on outstanding transactions; 0 => 64 */
} rtc_stun_client_config;

/* Per-transaction parameters for rtc_stun_client_start (all may be zero/NULL). */
typedef struct rtc_stun_txn_params {
    bool reliable;   /* TCP/TLS: send once, time out after ti */
    rtc_time rto;    /* 0 => the client's */
    int rc, rm;      /* 0 => the client's */
    rtc_addr src;    /* copied into each transmit; not interpreted */
    rtc_addr dst;
    void *user;      /* returned with the transmit, the result and lookup */
} rtc_stun_txn_params;

typedef struct rtc_stun_transmit {
    const uint8_t *data; /* points into the client; valid until the next call on it */
    size_t len;
    rtc_addr src, dst;
    void *user;
    uint8_t tid[RTC_STUN_TID_LEN];
    int attempt;         /* 1 for the first transmission, 2 for the first retransmit... */
} rtc_stun_transmit;

typedef enum rtc_stun_txn_result {
    RTC_STUN_TXN_SUCCESS = 1, /* success response */
    RTC_STUN_TXN_ERROR = 2,   /* error response; see error_code */
    RTC_STUN_TXN_TIMEOUT = 3, /* no response in time */
} rtc_stun_txn_result;

typedef struct rtc_stun_client_event {
    int result;          /* rtc_stun_txn_result */
    uint8_t tid[RTC_STUN_TID_LEN];
    uint16_t method;
    int error_code;      /* ERROR-CODE of an error response, 0 if absent or not an error */
    rtc_time rtt;        /* response time since the LAST transmission; -1 for timeouts and
                            when the request was retransmitted (Karn: ambiguous) */
    int transmissions;   /* how many times the request was sent */
    rtc_addr src, dst;   /* as given to start */
    void *user;
} rtc_stun_client_event;

/* Create a client. cfg NULL => defaults; env NULL => default env (copied). Returns
** RTC_OK, RTC_ERR_NOMEM, RTC_ERR_INVALID (negative values in cfg). */
RTC_API int rtc_stun_client_new(rtc_stun_client **out, const rtc_stun_client_config *cfg,
                                const rtc_env *env);
/* Frees the client and every outstanding transaction (no events). NULL is a no-op. */
RTC_API void rtc_stun_client_free(rtc_stun_client *c);
/* A fresh random transaction id from the client's env (for building the request). */
RTC_API void rtc_stun_client_new_tid(rtc_stun_client *c, uint8_t tid[RTC_STUN_TID_LEN]);
/*
** Start a transaction for the request msg/len (a complete request message, e.g. from a
** builder; the transaction id is read from it; copied, the caller keeps its buffer).
** p may be NULL. The first transmission is due at `now` (poll_transmit).
** Returns RTC_OK, RTC_ERR_INVALID (not a STUN request, len > RTC_STUN_MAX_MSG_LEN, or
** a transaction with the same id is outstanding), RTC_ERR_NOMEM (table full or
** allocation failed).
*/
RTC_API int rtc_stun_client_start(rtc_stun_client *c, rtc_time now, const uint8_t *msg,
                                  size_t len, const rtc_stun_txn_params *p);
/* 1 and *out filled when a datagram is due (data borrowed until the next call on c),
** 0 when none. */
RTC_API int rtc_stun_client_poll_transmit(rtc_stun_client *c, rtc_stun_transmit *out);
/*
** Offer a parsed message. When it is a success or error response whose transaction id
** matches an outstanding transaction, that transaction ends: returns 1 and fills *ev
** (ev may be NULL). Returns 0 when it matches nothing (or is not a response); the
** caller then drops it (RFC 8489 §6.3.3). RTC_ERR_INVALID on NULL c/m.
*/
RTC_API int rtc_stun_client_handle_response(rtc_stun_client *c, rtc_time now,
                                            const rtc_stun_msg *m, rtc_stun_client_event *ev);
/* 1 and *user set when tid names an outstanding transaction (to pick the key to verify
** a response with), else 0. */
RTC_API int rtc_stun_client_lookup(const rtc_stun_client *c, const uint8_t tid[RTC_STUN_TID_LEN],
                                   void **user);
/* Drop an outstanding transaction without an event. Returns 1 if it existed, else 0. */
RTC_API int rtc_stun_client_cancel(rtc_stun_client *c, const uint8_t tid[RTC_STUN_TID_LEN]);
/* Advance to `now`: retransmissions become due, expired transactions become TIMEOUT
** events. Returns RTC_OK. */
RTC_API int rtc_stun_client_handle_timeout(rtc_stun_client *c, rtc_time now);
/* 1 and *ev filled with a TIMEOUT result (the transaction is then gone), 0 when none. */
RTC_API int rtc_stun_client_poll_event(rtc_stun_client *c, rtc_stun_client_event *ev);
/* Earliest time handle_timeout has work; RTC_TIME_NEVER when idle. A transmission or
** event that is already due is reported as a time <= the last `now`. */
RTC_API rtc_time rtc_stun_client_next_timeout(const rtc_stun_client *c);
/* Outstanding transactions (including finished ones whose event is not yet polled). */
RTC_API size_t rtc_stun_client_count(const rtc_stun_client *c);

#ifdef __cplusplus
}
#endif
#endif
