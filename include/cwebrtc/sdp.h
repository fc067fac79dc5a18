/*
** cwebrtc/sdp.h: session descriptions (SDP, RFC 8866) as WebRTC peers exchange them.
**
** An SDP is text: a session part (v=, o=, s=, c=, b=, t=, a= ...) followed by media sections,
** each opened by an m= line ("m=audio 9 UDP/TLS/RTP/SAVPF 111 0") and holding its own c=, b=
** and a= lines. Everything WebRTC negotiates lives in a= attributes: ICE credentials
** (RFC 8839), DTLS fingerprints and roles (RFC 8122, 8842), BUNDLE (RFC 9143), codecs and
** header extensions (RFC 8866 §6, 8285), SCTP for data channels (RFC 8841).
**
** rtc_sdp is an owned, mutable description. rtc_sdp_parse() fills it from text; the builder
** calls construct one; rtc_sdp_serialize() writes it out. Attributes are kept in order as
** (name, value) pairs, known or not, so an SDP from any stack re-serializes byte for byte
** (apart from line endings: input may use CRLF or LF, output is always CRLF). Typed accessors
** read the attributes WebRTC uses without copying them; they parse lazily, so an unusual value
** in one attribute never makes a whole description unreadable, and the accessor that needs it
** reports RTC_ERR_PARSE. rtc_sdp_transport_get() and friends at the end give the JSEP view
** (RFC 8829) the peer connection needs; signaling state itself lives in the peer connection.
**
** Media sections are addressed by index 0..rtc_sdp_media_count()-1; RTC_SDP_SESSION (-1) means
** the session part wherever a function takes `m`.
**
** Bounds: input is limited in line length, line count and media sections (rtc_sdp_limits), so
** a hostile peer cannot make us allocate without bound; the builder respects the same bounds.
**
** Ownership: every `const char *` and rtc_sdp_str returned here is borrowed from the rtc_sdp
** and stays valid until the next call that mutates that object (parse, any builder call) or
** rtc_sdp_free(). Strings passed in are copied.
**
** Threading: an rtc_sdp is used by one thread at a time; distinct objects are independent.
** Const functions may run concurrently on one object if nothing mutates it meanwhile.
*/
#ifndef CWEBRTC_SDP_H
#define CWEBRTC_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cwebrtc/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rtc_sdp rtc_sdp;

#define RTC_SDP_SESSION (-1) /* `m` argument meaning "the session part" */

/* A borrowed slice of a stored value: not NUL-terminated, `len` bytes at `p`. */
typedef struct rtc_sdp_str {
    const char *p;
    size_t len;
} rtc_sdp_str;

/* Input bounds. Zero fields take the defaults below. */
typedef struct rtc_sdp_limits {
    size_t max_line_len; /* bytes per line without its line ending */
    size_t max_lines;    /* lines in the whole description */
    size_t max_media;    /* m= sections */
    size_t max_size;     /* bytes of input text to rtc_sdp_parse() */
} rtc_sdp_limits;
#define RTC_SDP_DEFAULT_MAX_LINE_LEN 4096
#define RTC_SDP_DEFAULT_MAX_LINES 8192
#define RTC_SDP_DEFAULT_MAX_MEDIA 256
#define RTC_SDP_DEFAULT_MAX_SIZE (1024 * 1024) /* real SDPs are 1-100 KB */

/* ---- the object ------------------------------------------------------------------- */

/*
** rtc_sdp_new() — a minimal valid description: v=0, o=- 0 0 IN IP4 127.0.0.1, s=-, t=0 0,
** no attributes, no media. `env` may be NULL (defaults); it is copied.
** Returns RTC_OK, RTC_ERR_INVALID (out NULL), RTC_ERR_NOMEM.
*/
RTC_API int rtc_sdp_new(rtc_sdp **out, const rtc_env *env);

/*
** rtc_sdp_clone() — a deep copy of `src` (same env and limits) into a new object *out.
** Returns RTC_OK, RTC_ERR_INVALID, RTC_ERR_NOMEM.
*/
RTC_API int rtc_sdp_clone(rtc_sdp **out, const rtc_sdp *src);

/* rtc_sdp_free() — frees the object and everything borrowed from it. NULL is a no-op. */
RTC_API void rtc_sdp_free(rtc_sdp *sdp);

/* Replace the input bounds used by later rtc_sdp_parse() and builder calls (NULL: defaults). */
RTC_API void rtc_sdp_set_limits(rtc_sdp *sdp, const rtc_sdp_limits *limits);

/*
** rtc_sdp_parse() — replace the content of `sdp` with the description in text[0..len).
** CRLF and LF line endings are both accepted, blank lines are skipped, a missing final line
** ending is tolerated. Required: v=0 first, then exactly one o= and one s= before any m=; t= is
** optional (JSEP requires it, some gateways omit it). Line types other than those RFC 8866
** allows at the level where they appear, NUL bytes, stray CRs, input beyond the bounds and
** malformed v=/o=/c=/b=/t=/m= lines or attribute names are errors. Attribute values are kept
** verbatim; the typed accessors check them when read.
** On failure the object keeps its previous content, and rtc_sdp_error() describes the problem
** with its line number ("line 7: m= line: bad port").
** Returns RTC_OK, RTC_ERR_PARSE (malformed, or over a bound), RTC_ERR_NOMEM (allocation
** failed), RTC_ERR_INVALID (NULL arguments).
*/
RTC_API int rtc_sdp_parse(rtc_sdp *sdp, const char *text, size_t len);

/* The detail of the last failed parse or builder call ("" if none). Borrowed. */
RTC_API const char *rtc_sdp_error(const rtc_sdp *sdp);

/*
** rtc_sdp_serialize() — write the description as text with CRLF line endings and a NUL.
** Lines come out in RFC 8866 §5 order (v o s i u e p c b t r z k a, then each m= section with
** i c b k a); attributes in their stored order. With buf == NULL (size 0) only the length is
** computed. Returns the text length without the NUL (>= 0), or RTC_ERR_TOO_SMALL when
** `size` is not at least that length + 1 (then nothing useful is in buf).
*/
RTC_API int rtc_sdp_serialize(const rtc_sdp *sdp, char *buf, size_t size);

/* ---- session and media lines ---------------------------------------------------------- */

typedef struct rtc_sdp_origin {
    const char *username;     /* "-" for WebRTC stacks */
    const char *sess_id;      /* decimal digits as sent */
    const char *sess_version; /* decimal digits as sent */
    const char *nettype;      /* "IN" */
    const char *addrtype;     /* "IP4" / "IP6" */
    const char *address;
} rtc_sdp_origin;

/* The o= line (RFC 8866 §5.2). Always RTC_OK on a valid object. */
RTC_API int rtc_sdp_get_origin(const rtc_sdp *sdp, rtc_sdp_origin *out);
/* sess-version as a number (JSEP increments it on every new local description, RFC 8829 §5.2.2).
** RTC_OK, or RTC_ERR_PARSE when it does not fit 64 bits. */
RTC_API int rtc_sdp_get_sess_version(const rtc_sdp *sdp, uint64_t *out);
/* s= (RFC 8866 §5.3): "-" for WebRTC stacks. Never NULL on a valid object. */
RTC_API const char *rtc_sdp_session_name(const rtc_sdp *sdp);

/* Number of m= sections. */
RTC_API size_t rtc_sdp_media_count(const rtc_sdp *sdp);

typedef struct rtc_sdp_media {
    const char *media;       /* "audio", "video", "application", ... */
    uint16_t port;           /* 0: rejected or bundle-only (RFC 8866 §5.14, RFC 9143 §7.5.3) */
    uint16_t num_ports;      /* the "/n" after the port; 0 when absent */
    const char *proto;       /* "UDP/TLS/RTP/SAVPF", "UDP/DTLS/SCTP", "DTLS/SCTP", ... */
    size_t fmt_count;
    const char *const *fmts; /* fmt_count entries: payload types, or "webrtc-datachannel" */
} rtc_sdp_media;

/* The m= line of section m. RTC_OK or RTC_ERR_INVALID (no such section). */
RTC_API int rtc_sdp_get_media(const rtc_sdp *sdp, int m, rtc_sdp_media *out);

typedef struct rtc_sdp_conn {
    const char *nettype;  /* "IN" */
    const char *addrtype; /* "IP4" / "IP6" */
    const char *address;  /* as sent, including any "/ttl" */
} rtc_sdp_conn;

/* The first c= of section m (or of the session). RTC_OK, RTC_ERR_NOT_FOUND, RTC_ERR_INVALID. */
RTC_API int rtc_sdp_get_connection(const rtc_sdp *sdp, int m, rtc_sdp_conn *out);
/* The b=<type>:<value> of section m with that type (e.g. "AS", "TIAS").
** RTC_OK, RTC_ERR_NOT_FOUND, RTC_ERR_INVALID. */
RTC_API int rtc_sdp_get_bandwidth(const rtc_sdp *sdp, int m, const char *type, uint64_t *out);

/* ---- attributes, generic -------------------------------------------------------------- */

typedef struct rtc_sdp_attr {
    const char *name;  /* "rtpmap" */
    const char *value; /* text after the first ':'; NULL for a property attribute (a=rtcp-mux) */
} rtc_sdp_attr;

/* Number of a= lines of section m (0 for a bad index). */
RTC_API size_t rtc_sdp_attr_count(const rtc_sdp *sdp, int m);
/* The i-th a= line of section m. RTC_OK or RTC_ERR_INVALID. */
RTC_API int rtc_sdp_get_attr(const rtc_sdp *sdp, int m, size_t i, rtc_sdp_attr *out);
/*
** rtc_sdp_find_attr() — the first a=<name> of section m at index >= `from` (names compare
** exactly, RFC 8866 §5.13). Stores its value in *value when value != NULL (NULL for a property
** attribute). Returns the index (>= 0) or RTC_ERR_NOT_FOUND. Iterate with from = index + 1.
*/
RTC_API int rtc_sdp_find_attr(const rtc_sdp *sdp, int m, const char *name, size_t from,
                              const char **value);
/* True when section m has a=<name> (with or without a value). */
RTC_API bool rtc_sdp_has_attr(const rtc_sdp *sdp, int m, const char *name);
/* The value of the first a=<name> of section m; NULL when absent; "" for a property attribute. */
RTC_API const char *rtc_sdp_attr_value(const rtc_sdp *sdp, int m, const char *name);

/* ---- typed accessors (they parse on each call; RTC_ERR_PARSE = malformed value) ----------- */
/* Where an attribute may appear at session or media level (ice-ufrag, ice-pwd, ice-options,
** fingerprint, setup), these readers look only at the level given; rtc_sdp_transport_get()
** resolves media level first with the session as fallback (RFC 8839 §5.4, RFC 8122 §5), and
** rtc_sdp_direction_get() does the same for the direction (RFC 8866 §6.7). */

/* a=ice-ufrag / a=ice-pwd (RFC 8839 §5.4). NULL when absent at that level. */
RTC_API const char *rtc_sdp_ice_ufrag(const rtc_sdp *sdp, int m);
RTC_API const char *rtc_sdp_ice_pwd(const rtc_sdp *sdp, int m);

/* a=ice-options tokens (RFC 8839 §5.6). */
#define RTC_SDP_ICE_OPT_TRICKLE 0x1u /* RFC 8838 */
#define RTC_SDP_ICE_OPT_ICE2 0x2u    /* RFC 8445 */
#define RTC_SDP_ICE_OPT_RENOMINATION 0x4u
#define RTC_SDP_ICE_OPT_OTHER 0x80000000u /* some token we do not know */
/* OR of RTC_SDP_ICE_OPT_* over every a=ice-options of the level (0 when none). */
RTC_API unsigned rtc_sdp_ice_options(const rtc_sdp *sdp, int m);

#define RTC_SDP_FINGERPRINT_MAX 64 /* bytes: SHA-512 */
typedef struct rtc_sdp_fingerprint {
    char hash[16];   /* lowercase hash name: "sha-256", "sha-1", ... */
    uint8_t len;     /* digest bytes */
    uint8_t value[RTC_SDP_FINGERPRINT_MAX];
} rtc_sdp_fingerprint;
/*
** rtc_sdp_fingerprint_get() — the nth a=fingerprint of section m (RFC 8122 §5): "hash XX:XX:...".
** The digest length must fit the hash for the hashes RFC 8122 lists; unknown hashes pass with
** any length up to 64 (the DTLS layer decides what it supports).
** Returns RTC_OK, RTC_ERR_NOT_FOUND (fewer than nth+1), RTC_ERR_PARSE.
*/
RTC_API int rtc_sdp_fingerprint_get(const rtc_sdp *sdp, int m, size_t nth, rtc_sdp_fingerprint *out);

typedef enum rtc_sdp_setup {
    RTC_SDP_SETUP_NONE = 0, /* absent */
    RTC_SDP_SETUP_ACTPASS,
    RTC_SDP_SETUP_ACTIVE,
    RTC_SDP_SETUP_PASSIVE,
    RTC_SDP_SETUP_HOLDCONN,
} rtc_sdp_setup;
/* a=setup (RFC 4145 §4, RFC 8842 §5). RTC_OK (NONE when absent) or RTC_ERR_PARSE. */
RTC_API int rtc_sdp_setup_get(const rtc_sdp *sdp, int m, rtc_sdp_setup *out);
/* "actpass", "active", "passive", "holdconn", or NULL. */
RTC_API const char *rtc_sdp_setup_name(rtc_sdp_setup s);

typedef enum rtc_sdp_direction {
    RTC_SDP_SENDRECV = 0,
    RTC_SDP_SENDONLY,
    RTC_SDP_RECVONLY,
    RTC_SDP_INACTIVE,
} rtc_sdp_direction;
/* The direction of section m: its own a=sendrecv/sendonly/recvonly/inactive, else the
** session's, else sendrecv (RFC 8866 §6.7). For m = RTC_SDP_SESSION, the session's. */
RTC_API rtc_sdp_direction rtc_sdp_direction_get(const rtc_sdp *sdp, int m);
/* "sendrecv", "sendonly", "recvonly", "inactive", or NULL. */
RTC_API const char *rtc_sdp_direction_name(rtc_sdp_direction d);

/* a=mid of section m (RFC 9143 §14.1). NULL when absent. */
RTC_API const char *rtc_sdp_mid(const rtc_sdp *sdp, int m);
/* The index of the section whose a=mid equals `mid`, or RTC_ERR_NOT_FOUND. */
RTC_API int rtc_sdp_find_mid(const rtc_sdp *sdp, const char *mid);

#define RTC_SDP_GROUP_MAX 64 /* identification tags per a=group that the accessor returns */
typedef struct rtc_sdp_group {
    rtc_sdp_str semantics; /* "BUNDLE", "LS", ... */
    size_t count;
    rtc_sdp_str mids[RTC_SDP_GROUP_MAX];
} rtc_sdp_group;
/* The nth session-level a=group (RFC 5888 §5). RTC_OK, RTC_ERR_NOT_FOUND, RTC_ERR_PARSE
** (also for more than RTC_SDP_GROUP_MAX tags). */
RTC_API int rtc_sdp_group_get(const rtc_sdp *sdp, size_t nth, rtc_sdp_group *out);

typedef struct rtc_sdp_msid {
    rtc_sdp_str stream; /* "-" means no stream (RFC 8830 §2) */
    rtc_sdp_str track;  /* len 0 when absent */
} rtc_sdp_msid;
/* The nth a=msid of section m (RFC 8830 §2). RTC_OK, RTC_ERR_NOT_FOUND, RTC_ERR_PARSE. */
RTC_API int rtc_sdp_msid_get(const rtc_sdp *sdp, int m, size_t nth, rtc_sdp_msid *out);
/* Session a=msid-semantic (e.g. " WMS a b"): the semantic token into *semantic and the rest,
** trimmed, into *ids (may be empty). RTC_OK, RTC_ERR_NOT_FOUND, RTC_ERR_PARSE. */
RTC_API int rtc_sdp_msid_semantic(const rtc_sdp *sdp, rtc_sdp_str *semantic, rtc_sdp_str *ids);

/* The nth a=candidate value of section m, raw (the ICE layer parses the grammar, RFC 8839
** §5.1). NULL when there are fewer. */
RTC_API const char *rtc_sdp_candidate(const rtc_sdp *sdp, int m, size_t nth);

typedef struct rtc_sdp_rtpmap {
    unsigned pt;          /* 0..127 */
    rtc_sdp_str encoding; /* "opus", "VP8", "rtx", ... */
    uint32_t clock_rate;
    unsigned channels;    /* 0 when absent (audio default is 1) */
} rtc_sdp_rtpmap;
/* The a=rtpmap of payload type `pt` in section m (RFC 8866 §6.6).
** RTC_OK, RTC_ERR_NOT_FOUND, RTC_ERR_PARSE (a malformed rtpmap met while searching). */
RTC_API int rtc_sdp_rtpmap_find(const rtc_sdp *sdp, int m, unsigned pt, rtc_sdp_rtpmap *out);
/* The parameters of a=fmtp:<pt> (RFC 8866 §6.15), e.g. "minptime=10;useinbandfec=1".
** RTC_OK, RTC_ERR_NOT_FOUND, RTC_ERR_PARSE. */
RTC_API int rtc_sdp_fmtp_find(const rtc_sdp *sdp, int m, unsigned pt, rtc_sdp_str *params);
/* One "key=value" from a ';'-separated fmtp parameter list (keys case-insensitive, spaces
** around ';' ignored). RTC_OK or RTC_ERR_NOT_FOUND. */
RTC_API int rtc_sdp_fmtp_param(rtc_sdp_str params, const char *key, rtc_sdp_str *value);

typedef struct rtc_sdp_rtcp_fb {
    int pt;              /* payload type, or -1 for "*" */
    rtc_sdp_str type;    /* "nack", "ccm", "goog-remb", "transport-cc" */
    rtc_sdp_str subtype; /* "pli", "fir", ...; len 0 when absent */
} rtc_sdp_rtcp_fb;
/* The nth a=rtcp-fb of section m (RFC 4585 §4.2). RTC_OK, RTC_ERR_NOT_FOUND, RTC_ERR_PARSE. */
RTC_API int rtc_sdp_rtcp_fb_get(const rtc_sdp *sdp, int m, size_t nth, rtc_sdp_rtcp_fb *out);

typedef struct rtc_sdp_extmap {
    unsigned id;                 /* 1..14 one-byte, 1..255 two-byte (RFC 8285 §5) */
    rtc_sdp_direction direction; /* SENDRECV when absent */
    bool has_direction;
    rtc_sdp_str uri;
    rtc_sdp_str attributes;      /* extension attributes after the URI; len 0 when none */
} rtc_sdp_extmap;
/* The nth a=extmap of section m (RFC 8285 §8). RTC_OK, RTC_ERR_NOT_FOUND, RTC_ERR_PARSE. */
RTC_API int rtc_sdp_extmap_get(const rtc_sdp *sdp, int m, size_t nth, rtc_sdp_extmap *out);

typedef struct rtc_sdp_ssrc {
    uint32_t ssrc;
    rtc_sdp_str attribute; /* "cname", "msid", ...; len 0 for a bare "a=ssrc:N" */
    rtc_sdp_str value;     /* len 0 when the attribute has no value */
} rtc_sdp_ssrc;
/* The nth a=ssrc of section m (RFC 5576 §4.1). RTC_OK, RTC_ERR_NOT_FOUND, RTC_ERR_PARSE. */
RTC_API int rtc_sdp_ssrc_get(const rtc_sdp *sdp, int m, size_t nth, rtc_sdp_ssrc *out);

#define RTC_SDP_SSRC_GROUP_MAX 16
typedef struct rtc_sdp_ssrc_group {
    rtc_sdp_str semantics; /* "FID", "SIM", "FEC-FR" */
    size_t count;
    uint32_t ssrcs[RTC_SDP_SSRC_GROUP_MAX];
} rtc_sdp_ssrc_group;
/* The nth a=ssrc-group of section m (RFC 5576 §4.2). RTC_OK, RTC_ERR_NOT_FOUND,
** RTC_ERR_PARSE (also for more than RTC_SDP_SSRC_GROUP_MAX SSRCs). */
RTC_API int rtc_sdp_ssrc_group_get(const rtc_sdp *sdp, int m, size_t nth,
                                   rtc_sdp_ssrc_group *out);

/*
** rtc_sdp_sctp_port() — the SCTP port of a data-channel section: a=sctp-port (RFC 8841 §5),
** else the legacy a=sctpmap:<port> webrtc-datachannel <streams> (draft-ietf-mmusic-sctp-sdp-05,
** still sent with "m=application N DTLS/SCTP 5000").
** RTC_OK, RTC_ERR_NOT_FOUND, RTC_ERR_PARSE, RTC_ERR_INVALID.
*/
RTC_API int rtc_sdp_sctp_port(const rtc_sdp *sdp, int m, uint16_t *out);
/* a=max-message-size (RFC 8841 §6): absent gives 65536; 0 means "no limit" and is returned as 0.
** RTC_OK, RTC_ERR_PARSE, RTC_ERR_INVALID. */
RTC_API int rtc_sdp_max_message_size(const rtc_sdp *sdp, int m, uint64_t *out);

/* ---- JSEP view (RFC 8829, 9143, 8841) -------------------------------------------------- */

#define RTC_SDP_TRANSPORT_MAX_FINGERPRINTS 4
/* What the ICE and DTLS transports of one m= section need, levels already resolved. */
typedef struct rtc_sdp_transport {
    const char *mid;               /* NULL when absent */
    const char *ufrag;             /* media level, else session level; NULL when absent */
    const char *pwd;
    unsigned ice_options;          /* RTC_SDP_ICE_OPT_* (media level, else session) */
    rtc_sdp_setup setup;           /* media level, else session; NONE when absent */
    size_t fingerprint_count;      /* media-level fingerprints if any, else session's; the
                                      first RTC_SDP_TRANSPORT_MAX_FINGERPRINTS are returned */
    rtc_sdp_fingerprint fingerprints[RTC_SDP_TRANSPORT_MAX_FINGERPRINTS];
    size_t candidate_count;        /* a=candidate lines in the section */
    bool end_of_candidates;        /* a=end-of-candidates here or at session level (RFC 8838) */
    bool rtcp_mux;
    bool rtcp_rsize;
    bool bundle_only;              /* a=bundle-only (RFC 9143 §6) */
    bool ice_lite;                 /* session-level a=ice-lite (RFC 8839 §5.3) */
    bool rejected;                 /* port 0 and not bundle-only */
    int transport_owner;           /* index of the section whose transport this one uses:
                                      the BUNDLE tag of its group, or m itself */
} rtc_sdp_transport;
/*
** rtc_sdp_transport_get() — the transport view of section m, exactly as written in that section
** (with the session-level fallbacks). For a bundled section the transport actually used is the
** owner's: read rtc_sdp_transport_get(sdp, t.transport_owner) — RFC 9143 §8 lets a subsequent
** offer carry the transport attributes only in the BUNDLE-tag section.
** Returns RTC_OK, RTC_ERR_INVALID (bad m), RTC_ERR_PARSE (a malformed fingerprint, setup, or
** BUNDLE group).
*/
RTC_API int rtc_sdp_transport_get(const rtc_sdp *sdp, int m, rtc_sdp_transport *out);

/*
** rtc_sdp_bundle_owner() — the section whose transport section m uses (RFC 9143 §7): for a
** section in an a=group:BUNDLE, the first section of that group (in the group's tag order)
** that exists and is not rejected, i.e. the BUNDLE-tag; for any other section, m itself.
** Returns the index (>= 0), RTC_ERR_INVALID, RTC_ERR_PARSE.
*/
RTC_API int rtc_sdp_bundle_owner(const rtc_sdp *sdp, int m);

typedef struct rtc_sdp_datachannel {
    int m;                     /* index of the section */
    uint16_t sctp_port;        /* a=sctp-port, else the legacy sctpmap port, else 5000 */
    uint64_t max_message_size; /* 65536 when absent; 0 = no limit (RFC 8841 §6) */
    bool legacy;               /* "DTLS/SCTP <port>" + a=sctpmap form */
    bool rejected;             /* port 0 and not bundle-only */
} rtc_sdp_datachannel;
/*
** rtc_sdp_datachannel_find() — the first m=application section that carries data channels:
** proto UDP/DTLS/SCTP or TCP/DTLS/SCTP with fmt webrtc-datachannel (RFC 8841 §4), or legacy
** DTLS/SCTP with an a=sctpmap ... webrtc-datachannel.
** Returns RTC_OK, RTC_ERR_NOT_FOUND, RTC_ERR_PARSE (bad sctp-port or max-message-size).
*/
RTC_API int rtc_sdp_datachannel_find(const rtc_sdp *sdp, rtc_sdp_datachannel *out);

/* ---- builder ---------------------------------------------------------------------------- */
/* Builder calls return RTC_OK (or an index), RTC_ERR_INVALID (NULL or malformed arguments:
** values with CR, LF or NUL, names that are not tokens, bad index), or RTC_ERR_NOMEM
** (allocation failed or a bound of rtc_sdp_limits would be exceeded). On failure the
** description is unchanged. */

/* Set o=<username> <sess_id> <sess_version> IN IP4|IP6 <address> (IP6 when the address has a
** ':'). username NULL means "-", address NULL means "127.0.0.1" (RFC 8829 §5.2.1). */
RTC_API int rtc_sdp_set_origin(rtc_sdp *sdp, const char *username, uint64_t sess_id,
                               uint64_t sess_version, const char *address);
/* Set s= ("-" is what JSEP sends; an empty name is not allowed by RFC 8866 §5.3). */
RTC_API int rtc_sdp_set_session_name(rtc_sdp *sdp, const char *name);

/* Append a media section "m=<media> <port> <proto> <fmts>" (fmts space-separated, at least
** one). Returns its index (>= 0) or an error. */
RTC_API int rtc_sdp_add_media(rtc_sdp *sdp, const char *media, uint16_t port, const char *proto,
                              const char *fmts);
/* Change the port of section m (0 rejects it, RFC 8829 §5.3.1). */
RTC_API int rtc_sdp_set_media_port(rtc_sdp *sdp, int m, uint16_t port);
/* Set (replace) the c= line of section m or the session: "IN IP4|IP6 <address>". */
RTC_API int rtc_sdp_set_connection(rtc_sdp *sdp, int m, const char *address);
/* Add b=<type>:<value> to section m or the session. */
RTC_API int rtc_sdp_add_bandwidth(rtc_sdp *sdp, int m, const char *type, uint64_t value);

/* Append a=<name>[:<value>] to section m or the session (value NULL: property attribute). */
RTC_API int rtc_sdp_add_attr(rtc_sdp *sdp, int m, const char *name, const char *value);
/* The same with a printf-formatted value. */
RTC_API int rtc_sdp_add_attrf(rtc_sdp *sdp, int m, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Replace the value of the first a=<name> of section m, or append one when absent. */
RTC_API int rtc_sdp_set_attr(rtc_sdp *sdp, int m, const char *name, const char *value);
/* Remove every a=<name> of section m. Returns the number removed (>= 0) or RTC_ERR_INVALID. */
RTC_API int rtc_sdp_remove_attrs(rtc_sdp *sdp, int m, const char *name);

/* Typed helpers for the common WebRTC attributes (each appends one a= line). */
RTC_API int rtc_sdp_add_fingerprint(rtc_sdp *sdp, int m, const rtc_sdp_fingerprint *fp);
RTC_API int rtc_sdp_add_setup(rtc_sdp *sdp, int m, rtc_sdp_setup setup);
RTC_API int rtc_sdp_add_direction(rtc_sdp *sdp, int m, rtc_sdp_direction d);
RTC_API int rtc_sdp_add_rtpmap(rtc_sdp *sdp, int m, unsigned pt, const char *encoding,
                               uint32_t clock_rate, unsigned channels /* 0: omit */);

#ifdef __cplusplus
}
#endif
#endif
