/*
** cwebrtc/dtls.h: DTLS 1.2 for WebRTC as a sans-IO core (RFC 6347, 5763, 5764, 8122, 8842).
**
** A DTLS session secures the one UDP 5-tuple ICE selected: SCTP (data channels) runs
** inside it as application data, and SRTP takes its keys from it (DTLS-SRTP, RFC 5764).
** Neither side has a CA-signed certificate: each creates a self-signed one and puts its
** hash in the SDP (a=fingerprint, RFC 8122); the session accepts any certificate during
** the handshake and then compares the peer's certificate with the fingerprints the remote
** SDP announced. Nothing is surfaced (no application data, no SRTP keys, no CONNECTED
** event) until that comparison has passed. Which side is the DTLS client follows a=setup
** (RFC 5763 §5, RFC 8842 §5): see rtc_dtls_role_from_setup().
**
** The core is a state machine like every other layer: the caller hands in datagrams
** (rtc_dtls_handle_packet) and timer expiries (rtc_dtls_handle_timeout), and drains
** datagrams to send (rtc_dtls_poll_transmit), events (rtc_dtls_poll_event) and the next
** deadline (rtc_dtls_next_timeout). Every mutating call must be followed by a complete
** drain of poll_transmit and poll_event. The implementation wraps OpenSSL 3.0 with a
** datagram BIO (one BIO write = one datagram out, one BIO read = one datagram in).
**
** One exception to "time is passed in": OpenSSL measures the DTLS retransmission
** deadline against its own wall clock (ssl/d1_lib.c dtls1_start_timer). next_timeout
** translates OpenSSL's remaining time into the caller's clock at the moment of each call,
** and handle_timeout retransmits only when OpenSSL's clock agrees the deadline passed.
** So under a simulated clock the handshake works as long as nothing is lost; loss and
** retransmission need real time (the tests do that with a short initial timer).
**
** Certificates (rtc_dtls_cert) are created once and shared by many sessions: each holds
** the key pair, the X.509 certificate and one OpenSSL SSL_CTX. They are reference counted
** (atomically) and immutable, so sessions on different threads may share one.
**
** Memory: the core's own allocations (queues, the object) go through rtc_env; OpenSSL's
** internal allocations do not (OpenSSL's allocator hooks are process-global). Randomness
** inside the handshake comes from OpenSSL's DRBG for the same reason; rtc_env.random is
** used for certificate serial numbers and common names.
**
** Threading: a rtc_dtls is used by one thread at a time. A rtc_dtls_cert may be shared.
*/
#ifndef CWEBRTC_DTLS_H
#define CWEBRTC_DTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cwebrtc/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- fingerprints (RFC 8122 §5) ------------------------------------------------ */

typedef enum rtc_dtls_hash {
    RTC_DTLS_HASH_SHA1 = 1,
    RTC_DTLS_HASH_SHA224 = 2,
    RTC_DTLS_HASH_SHA256 = 3,
    RTC_DTLS_HASH_SHA384 = 4,
    RTC_DTLS_HASH_SHA512 = 5,
} rtc_dtls_hash;

#define RTC_DTLS_FINGERPRINT_MAX 64 /* bytes: SHA-512 */
/* "sha-512 " + 64 * "XX:" - 1 + NUL */
#define RTC_DTLS_FINGERPRINT_STRLEN (8 + 64 * 3)

/* A certificate fingerprint: the hash of the DER certificate (RFC 8122 §5). */
typedef struct rtc_dtls_fingerprint {
    rtc_dtls_hash hash;
    uint8_t len; /* digest length, matches `hash` */
    uint8_t value[RTC_DTLS_FINGERPRINT_MAX];
} rtc_dtls_fingerprint;

/*
** rtc_dtls_fingerprint_parse() — parse an a=fingerprint value, e.g. "sha-256 AB:CD:...".
** The hash name is case-insensitive (RFC 8122 §5 "hash-func" is a token), hex digits may be
** either case, pairs are separated by ':', surrounding spaces are ignored. The digest length
** must match the hash. `s` need not be NUL-terminated.
** Returns RTC_OK, RTC_ERR_PARSE (malformed), RTC_ERR_UNSUPPORTED (md5, md2, unknown hash).
*/
RTC_API int rtc_dtls_fingerprint_parse(const char *s, size_t len, rtc_dtls_fingerprint *out);

/*
** rtc_dtls_fingerprint_format() — write "sha-256 AB:CD:..." (uppercase hex, as browsers do)
** into buf (NUL-terminated). RTC_DTLS_FINGERPRINT_STRLEN always suffices.
** Returns the string length, RTC_ERR_TOO_SMALL or RTC_ERR_INVALID.
*/
RTC_API int rtc_dtls_fingerprint_format(const rtc_dtls_fingerprint *fp, char *buf, size_t size);

/* The SDP name of a hash ("sha-256"), or NULL for an unknown value. */
RTC_API const char *rtc_dtls_hash_name(rtc_dtls_hash hash);

/* ---- a=setup and the DTLS role (RFC 4145 §4, RFC 5763 §5, RFC 8842 §5) ---------------- */

typedef enum rtc_dtls_setup {
    RTC_DTLS_SETUP_ACTPASS = 0,
    RTC_DTLS_SETUP_ACTIVE = 1,
    RTC_DTLS_SETUP_PASSIVE = 2,
    RTC_DTLS_SETUP_HOLDCONN = 3,
} rtc_dtls_setup;

typedef enum rtc_dtls_role {
    RTC_DTLS_ROLE_CLIENT = 0, /* sends the ClientHello ("active") */
    RTC_DTLS_ROLE_SERVER = 1, /* waits for it ("passive") */
} rtc_dtls_role;

/* Parse an a=setup value (case-insensitive, not NUL-terminated). RTC_OK or RTC_ERR_PARSE. */
RTC_API int rtc_dtls_setup_parse(const char *s, size_t len, rtc_dtls_setup *out);
/* "actpass", "active", "passive", "holdconn", or NULL. */
RTC_API const char *rtc_dtls_setup_name(rtc_dtls_setup s);

/*
** rtc_dtls_setup_for_answer() — the a=setup an answerer puts in its answer, given the
** offer's. RFC 8842 §5.3: the answerer MUST choose "active" or "passive"; RFC 5763 §5
** recommends "active" (browsers do that, and it saves a round trip because the answerer's
** ClientHello can leave as soon as ICE allows). An offer of "active" gets "passive".
** Returns RTC_OK, or RTC_ERR_INVALID for an offer of "holdconn" (not used for DTLS, RFC 8842 §5).
*/
RTC_API int rtc_dtls_setup_for_answer(rtc_dtls_setup remote_offer, rtc_dtls_setup *out);

/*
** rtc_dtls_setup_for_role() — "active" for a client, "passive" for a server: what an
** answerer puts in a re-answer to keep the role of the established association (re-offers
** and re-answers that do not ask for a new DTLS association keep it, RFC 8842 §5).
*/
RTC_API rtc_dtls_setup rtc_dtls_setup_for_role(rtc_dtls_role role);

/*
** rtc_dtls_role_from_setup() — the DTLS role once both a=setup values are known (after the
** answer). The offerer uses "actpass" (RFC 8842 §5.2) and learns its role from the answer;
** the answerer's own value decides for it. "active" is the client.
**   local active  + remote passive|actpass -> client
**   local passive + remote active|actpass  -> server
**   local actpass + remote active          -> server;  + remote passive -> client
** Any other pair (both actpass, both active, both passive, holdconn) is RTC_ERR_INVALID.
*/
RTC_API int rtc_dtls_role_from_setup(rtc_dtls_setup local, rtc_dtls_setup remote,
                                     rtc_dtls_role *out);

/* ---- certificates ------------------------------------------------------------------ */

typedef struct rtc_dtls_cert rtc_dtls_cert;

typedef enum rtc_dtls_key_type {
    RTC_DTLS_KEY_ECDSA_P256 = 0, /* default, what browsers use; key + cert in ~0.1 ms */
    RTC_DTLS_KEY_RSA_2048 = 1,   /* for old peers; key generation takes ~50-200 ms */
} rtc_dtls_key_type;

typedef struct rtc_dtls_cert_config {
    rtc_dtls_key_type key_type;
    /* Validity start in seconds since 1970 UTC (wall clock). 0: OpenSSL reads the current
    ** time (the only clock read here). The certificate is back-dated one day for skew. */
    int64_t now_unix;
    uint32_t validity_days;  /* 0: 30 days */
    const char *common_name; /* NULL: random (from rtc_env.random), as browsers do */
} rtc_dtls_cert_config;

/*
** rtc_dtls_cert_new() — create an ephemeral self-signed certificate and its SSL_CTX
** (DTLS 1.2 only, groups X25519:P-256, use_srtp, peer certificate required, no session
** cache, no renegotiation). cfg may be NULL (ECDSA P-256, 30 days, random CN).
** env: copied; memory for the object and the random CN/serial. May be NULL.
** Returns RTC_OK (one reference in *out), RTC_ERR_NOMEM, RTC_ERR_CRYPTO, RTC_ERR_INVALID.
*/
RTC_API int rtc_dtls_cert_new(rtc_dtls_cert **out, const rtc_dtls_cert_config *cfg,
                              const rtc_env *env);

/*
** rtc_dtls_cert_from_pem() — import a certificate and its private key (PEM, borrowed; the
** strings need not be NUL-terminated). The key must match the certificate.
** Returns RTC_OK, RTC_ERR_PARSE (bad PEM or key mismatch), RTC_ERR_NOMEM, RTC_ERR_CRYPTO.
*/
RTC_API int rtc_dtls_cert_from_pem(rtc_dtls_cert **out, const char *cert_pem, size_t cert_len,
                                   const char *key_pem, size_t key_len, const rtc_env *env);

/*
** rtc_dtls_cert_to_pem() — write the certificate (and, if key_buf is not NULL, the
** unencrypted private key) as PEM, NUL-terminated. Sizes of 4096 fit P-256 and RSA-2048.
** Returns RTC_OK or RTC_ERR_TOO_SMALL / RTC_ERR_CRYPTO.
*/
RTC_API int rtc_dtls_cert_to_pem(const rtc_dtls_cert *c, char *cert_buf, size_t cert_size,
                                 char *key_buf, size_t key_size);

/* Add a reference (sessions do this themselves). Returns c. Thread-safe. */
RTC_API rtc_dtls_cert *rtc_dtls_cert_ref(rtc_dtls_cert *c);
/* Drop a reference; the last one frees. NULL is a no-op. Thread-safe. */
RTC_API void rtc_dtls_cert_free(rtc_dtls_cert *c);

/*
** rtc_dtls_cert_fingerprint() — the certificate's fingerprint with `hash`, as a struct
** (out may be NULL) and/or as an a=fingerprint string (buf may be NULL).
** Returns RTC_OK, RTC_ERR_INVALID, RTC_ERR_TOO_SMALL, RTC_ERR_CRYPTO.
*/
RTC_API int rtc_dtls_cert_fingerprint(const rtc_dtls_cert *c, rtc_dtls_hash hash,
                                      rtc_dtls_fingerprint *out, char *buf, size_t size);

/* ---- DTLS-SRTP (RFC 5764 §4.1.2, RFC 7714 §14.2) ----------------------------------------- */

#define RTC_DTLS_SRTP_AES128_CM_SHA1_80 0x0001
#define RTC_DTLS_SRTP_AES128_CM_SHA1_32 0x0002
#define RTC_DTLS_SRTP_AEAD_AES_128_GCM  0x0007
#define RTC_DTLS_SRTP_AEAD_AES_256_GCM  0x0008

/* The OpenSSL profile list offered by default, most preferred first. */
#define RTC_DTLS_SRTP_DEFAULT_PROFILES                                                             \
    "SRTP_AEAD_AES_128_GCM:SRTP_AEAD_AES_256_GCM:SRTP_AES128_CM_SHA1_80:SRTP_AES128_CM_SHA1_32"

/*
** Keys for one direction each. RFC 5764 §4.2: the exporter output with label
** "EXTRACTOR-dtls_srtp" is client_key | server_key | client_salt | server_salt; the client
** protects what it sends with the client half. `local_*` protect what this side sends,
** `remote_*` unprotect what it receives. `material` is the raw exporter output.
*/
typedef struct rtc_dtls_srtp_keys {
    uint16_t profile; /* RTC_DTLS_SRTP_* */
    uint8_t key_len;  /* 16 or 32 */
    uint8_t salt_len; /* 14 (AES-CM) or 12 (AEAD, RFC 7714 §14.2) */
    uint8_t local_key[32], local_salt[14];
    uint8_t remote_key[32], remote_salt[14];
    uint8_t material[2 * (32 + 14)];
    uint8_t material_len; /* 60, 56 or 88 */
} rtc_dtls_srtp_keys;

/* Key and salt length of a profile: RTC_OK or RTC_ERR_UNSUPPORTED. */
RTC_API int rtc_dtls_srtp_profile_lengths(uint16_t profile, size_t *key_len, size_t *salt_len);
/* The OpenSSL name of a profile ("SRTP_AES128_CM_SHA1_80"), or NULL. */
RTC_API const char *rtc_dtls_srtp_profile_name(uint16_t profile);

/* ---- the session ------------------------------------------------------------------- */

typedef struct rtc_dtls rtc_dtls;

#define RTC_DTLS_MAX_REMOTE_FINGERPRINTS 8

typedef struct rtc_dtls_config {
    rtc_dtls_role role;
    rtc_dtls_cert *cert; /* required; the session takes its own reference */
    /* Expected peer fingerprints (any match passes, RFC 8122 §5); may be empty and set
    ** later with rtc_dtls_set_remote_fingerprints(). Copied. */
    const rtc_dtls_fingerprint *remote_fingerprints;
    size_t n_remote_fingerprints;
    /* Retransmission timer (RFC 6347 §4.2.4.1): initial interval, doubled on each
    ** expiry up to max. 0: 400 ms initial, 8 s max. OpenSSL gives up after 12 expiries. */
    rtc_time initial_rto;
    rtc_time max_rto;
    uint16_t mtu; /* largest datagram we send; 0: 1200 (fits TURN and IPv6 paths) */
    /* use_srtp profiles as an OpenSSL list (preference order when we are the server);
    ** NULL: RTC_DTLS_SRTP_DEFAULT_PROFILES. use_srtp is always offered: OpenSSL cannot
    ** switch it off per session, and WebRTC always wants it. */
    const char *srtp_profiles;
} rtc_dtls_config;

typedef enum rtc_dtls_state {
    RTC_DTLS_STATE_NEW = 0,           /* created; a client waits for rtc_dtls_start() */
    RTC_DTLS_STATE_HANDSHAKING,       /* flights in progress */
    RTC_DTLS_STATE_AWAIT_FINGERPRINT, /* handshake done, remote fingerprint not yet known */
    RTC_DTLS_STATE_CONNECTED,         /* verified; keys and application data available */
    RTC_DTLS_STATE_CLOSED,            /* close_notify sent or received */
    RTC_DTLS_STATE_FAILED,            /* handshake failure, fingerprint mismatch, fatal alert */
} rtc_dtls_state;

typedef enum rtc_dtls_event_kind {
    RTC_DTLS_EVENT_NONE = 0,
    /* Handshake complete AND peer certificate matched a remote fingerprint. `srtp_profile`
    ** is the negotiated profile (0 if the peer did not negotiate use_srtp). */
    RTC_DTLS_EVENT_CONNECTED,
    /* The peer's certificate matched none of the expected fingerprints. FAILED follows. */
    RTC_DTLS_EVENT_FINGERPRINT_MISMATCH,
    /* Terminal failure; `err` says why (RTC_ERR_AUTH, RTC_ERR_CRYPTO, RTC_ERR_TIMEOUT...). */
    RTC_DTLS_EVENT_FAILED,
    /* An alert other than close_notify arrived; `alert_level` 1 warning, 2 fatal
    ** (a fatal one is followed by FAILED), `alert_desc` as in RFC 5246 §7.2. */
    RTC_DTLS_EVENT_ALERT,
    /* The peer sent close_notify (RFC 5246 §7.2.1). Terminal. */
    RTC_DTLS_EVENT_CLOSED,
    /* Application data (one DTLS record), `data`/`len` borrowed until the next call. */
    RTC_DTLS_EVENT_DATA,
} rtc_dtls_event_kind;

typedef struct rtc_dtls_event {
    rtc_dtls_event_kind kind;
    int err;
    uint8_t alert_level, alert_desc;
    uint16_t srtp_profile;
    const uint8_t *data;
    size_t len;
} rtc_dtls_event;

/* One datagram to send on the session's 5-tuple; data borrowed until the next call. */
typedef struct rtc_dtls_transmit {
    const uint8_t *data;
    size_t len;
} rtc_dtls_transmit;

/* Counters for tests and stats. */
typedef struct rtc_dtls_stats {
    uint64_t datagrams_in, datagrams_out;
    uint64_t dropped_in;     /* not DTLS, oversized, or input queue full */
    uint64_t dropped_out;    /* output queue full (treated as loss) */
    uint64_t dropped_events; /* event queue full (application data lost) */
    uint64_t retransmit_timeouts;
} rtc_dtls_stats;

/*
** rtc_dtls_new() — a session in state NEW. cfg and its arrays are copied; a reference to
** cfg->cert is taken. env copied (NULL: defaults).
** Returns RTC_OK, RTC_ERR_INVALID (no cert, bad role/mtu/profiles, >8 fingerprints),
** RTC_ERR_NOMEM, RTC_ERR_CRYPTO.
*/
RTC_API int rtc_dtls_new(rtc_dtls **out, const rtc_dtls_config *cfg, const rtc_env *env);
/* Free the session (no close_notify is sent; call rtc_dtls_close first). NULL is a no-op. */
RTC_API void rtc_dtls_free(rtc_dtls *d);

/*
** rtc_dtls_start() — begin the handshake: a client queues its ClientHello; a server just
** becomes ready (a server also starts implicitly on its first datagram, so an offerer can
** accept a ClientHello that beats the answer, RFC 5763 §5).
** Returns RTC_OK, RTC_ERR_MISUSE (already started), RTC_ERR_CRYPTO.
*/
RTC_API int rtc_dtls_start(rtc_dtls *d, rtc_time now);

/*
** rtc_dtls_handle_packet() — one received datagram (borrowed). Its first byte must be a
** DTLS content type (20..63, RFC 7983 §7); records OpenSSL rejects (bad MAC, bad epoch,
** malformed) are dropped silently as RFC 6347 §4.1.2.7 asks. Failures and alerts arrive
** as events. While the remote fingerprint is unknown after the handshake, datagrams are
** queued (up to 32 / 64 KiB) and processed once it is verified.
** Returns RTC_OK, RTC_ERR_PARSE (not DTLS or larger than 18 KiB; dropped),
** RTC_ERR_MISUSE (a client not started), RTC_ERR_CLOSED (closed or failed; dropped),
** RTC_ERR_NOMEM (input queue full; dropped).
*/
RTC_API int rtc_dtls_handle_packet(rtc_dtls *d, rtc_time now, const uint8_t *buf, size_t len);

/* Run OpenSSL's retransmission timer if it expired. Connected: the only timer gives the
** record buffers (~32 KiB) back 500 ms after the last send or receive. Returns RTC_OK. */
RTC_API int rtc_dtls_handle_timeout(rtc_dtls *d, rtc_time now);

/* Next deadline on the caller's clock, or RTC_TIME_NEVER. See the header comment. */
RTC_API rtc_time rtc_dtls_next_timeout(const rtc_dtls *d);

/* Next datagram to send: 1 (filled), 0 (none). Data valid until the next call on d. */
RTC_API int rtc_dtls_poll_transmit(rtc_dtls *d, rtc_dtls_transmit *out);
/* Next event: 1 (filled), 0 (none). Event data valid until the next call on d. */
RTC_API int rtc_dtls_poll_event(rtc_dtls *d, rtc_dtls_event *out);

/*
** rtc_dtls_set_remote_fingerprints() — set (replace) the expected peer fingerprints, e.g.
** when the answer arrives after the handshake started. If the handshake is already done,
** the peer certificate is checked now: CONNECTED, or FINGERPRINT_MISMATCH + FAILED (and a
** close_notify to the peer). While the handshake runs, the check happens when the peer's
** Certificate arrives or, if it already did, when the handshake completes (so that the
** peer can still be told) -- in every case before anything is surfaced.
** Copied; 1..8 entries; entries with unsupported hashes never match.
** Returns RTC_OK, RTC_ERR_INVALID, RTC_ERR_MISUSE (already verified, closed or failed).
*/
RTC_API int rtc_dtls_set_remote_fingerprints(rtc_dtls *d, rtc_time now,
                                             const rtc_dtls_fingerprint *fps, size_t n);

/*
** rtc_dtls_send() — send application data (an SCTP packet) as one record in one datagram.
** Returns RTC_OK, RTC_ERR_MISUSE (not CONNECTED), RTC_ERR_INVALID (len 0 or larger than
** rtc_dtls_max_send()), RTC_ERR_AGAIN (output queue full: drain poll_transmit first),
** RTC_ERR_CRYPTO.
*/
RTC_API int rtc_dtls_send(rtc_dtls *d, rtc_time now, const uint8_t *buf, size_t len);
/* Largest payload rtc_dtls_send accepts (MTU minus record overhead), 0 before CONNECTED. */
RTC_API size_t rtc_dtls_max_send(const rtc_dtls *d);

/*
** rtc_dtls_close() — send close_notify (RFC 5246 §7.2.1) and enter CLOSED. Idempotent.
** Returns RTC_OK.
*/
RTC_API int rtc_dtls_close(rtc_dtls *d, rtc_time now);

RTC_API rtc_dtls_state rtc_dtls_get_state(const rtc_dtls *d);
RTC_API rtc_dtls_role rtc_dtls_get_role(const rtc_dtls *d);
RTC_API void rtc_dtls_get_stats(const rtc_dtls *d, rtc_dtls_stats *out);

/*
** rtc_dtls_get_srtp_keys() — the negotiated SRTP profile and its keys (RFC 5764 §4.2).
** Returns RTC_OK, RTC_ERR_MISUSE (not CONNECTED), RTC_ERR_UNSUPPORTED (no profile
** negotiated), RTC_ERR_CRYPTO. Never log the result.
*/
RTC_API int rtc_dtls_get_srtp_keys(const rtc_dtls *d, rtc_dtls_srtp_keys *out);

/*
** rtc_dtls_export_keying_material() — RFC 5705 exporter (no context) into out/len.
** Returns RTC_OK, RTC_ERR_MISUSE (not CONNECTED), RTC_ERR_INVALID, RTC_ERR_CRYPTO.
*/
RTC_API int rtc_dtls_export_keying_material(const rtc_dtls *d, const char *label, uint8_t *out,
                                            size_t len);

/*
** rtc_dtls_peer_fingerprint() — the peer certificate's fingerprint with `hash` (struct
** and/or string, either may be NULL). Available once the peer's Certificate arrived.
** Returns RTC_OK, RTC_ERR_MISUSE (no peer certificate yet), RTC_ERR_INVALID, ...
*/
RTC_API int rtc_dtls_peer_fingerprint(const rtc_dtls *d, rtc_dtls_hash hash,
                                      rtc_dtls_fingerprint *out, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
