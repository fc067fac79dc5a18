/*
** cwebrtc/srtp.h: SRTP and SRTCP (RFC 3711) with AES-CM/HMAC-SHA1 and AES-GCM (RFC 7714).
**
** SRTP encrypts the payload of each RTP packet (the header, CSRCs and header extension
** stay in the clear but are authenticated) and appends an authentication tag; SRTCP
** encrypts everything after the first 8 octets of an RTCP compound packet and appends
** E-bit + 31-bit SRTCP index and the tag. Both sides derive per-session keys from one
** master key and salt (RFC 3711 §4.3, kdr = 0), and keep per-SSRC state: the rollover
** counter (ROC) that extends the 16-bit sequence number to a 48-bit packet index
** (estimated from the sequence number, RFC 3711 §3.3.1 and Appendix A) and a replay
** window (§3.3.2). MKI is not supported (WebRTC never uses it).
**
** One rtc_srtp object is one direction of one DTLS-SRTP association: an OUTBOUND session
** protects what we send with the local keys, an INBOUND session unprotects what we
** receive with the remote keys. rtc_srtp_split_keying_material() cuts the RFC 5764 §4.2
** exporter block (client_key|server_key|client_salt|server_salt) into the two key sets.
** Per-SSRC streams are created on demand; inbound, only after a packet authenticated, and
** never more than `max_streams` (a peer without the key cannot make us allocate, and one
** with the key cannot make us allocate without bound).
**
** Implementation: OpenSSL 3 EVP. Ciphers and MACs are fetched and keyed once per session;
** protecting or unprotecting a packet does not allocate in this library (OpenSSL 3.0's
** HMAC may allocate internally, see docs/srtp.md). No globals, no clocks, no I/O.
**
** Buffers: every protect/unprotect takes `in`/`in_len` (borrowed) and writes `out` with
** capacity `out_cap`, returning the length in *out_len. `out == in` is allowed (in place);
** any other overlap is refused with RTC_ERR_INVALID (as are NULL pointers). On an error
** `out` holds unspecified bytes (e.g. in-place GCM decryption writes plaintext before the
** tag is known to be wrong): drop the packet.
**
** Threading: an rtc_srtp is used by one thread at a time; distinct objects are
** independent. The profile and key helpers are pure functions.
*/
#ifndef CWEBRTC_SRTP_H
#define CWEBRTC_SRTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cwebrtc/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- profiles: DTLS-SRTP protection profile ids (RFC 5764 §4.1.2, RFC 7714 §14.2) ---- */

#define RTC_SRTP_AES128_CM_SHA1_80 0x0001 /* 16-octet key, 14 salt, 10-octet tags */
#define RTC_SRTP_AES128_CM_SHA1_32 0x0002 /* as above, 4-octet RTP tag, 10-octet SRTCP tag */
#define RTC_SRTP_AEAD_AES_128_GCM  0x0007 /* 16-octet key, 12 salt, 16-octet tag */
#define RTC_SRTP_AEAD_AES_256_GCM  0x0008 /* 32-octet key, 12 salt, 16-octet tag */

#define RTC_SRTP_MAX_KEY_LEN  32
#define RTC_SRTP_MAX_SALT_LEN 14
/* Octets protect adds at most: RTP: tag (16 for GCM); RTCP: index word + tag. */
#define RTC_SRTP_MAX_RTP_OVERHEAD  16
#define RTC_SRTP_MAX_RTCP_OVERHEAD 20

typedef struct rtc_srtp_profile_info {
    size_t key_len;      /* master key octets (16 or 32) */
    size_t salt_len;     /* master salt octets (14 AES-CM, 12 AEAD) */
    size_t rtp_tag_len;  /* 10, 4 or 16 */
    size_t rtcp_tag_len; /* 10 or 16 (SRTCP always uses 80 bits for AES-CM, RFC 5764 §4.1.2) */
    bool aead;           /* RFC 7714 AES-GCM */
} rtc_srtp_profile_info;

/* Lengths of a profile. Returns RTC_OK or RTC_ERR_UNSUPPORTED (unknown id). */
RTC_API int rtc_srtp_profile_get_info(uint16_t profile, rtc_srtp_profile_info *out);
/* Shorthand: master key and salt lengths. RTC_OK or RTC_ERR_UNSUPPORTED. */
RTC_API int rtc_srtp_profile_lengths(uint16_t profile, size_t *key_len, size_t *salt_len);
/* A static name ("AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM", ...) or NULL. */
RTC_API const char *rtc_srtp_profile_name(uint16_t profile);

/* ---- keys ------------------------------------------------------------------------------ */

/* A master key and salt for one direction. Wipe it when done (it is key material). */
typedef struct rtc_srtp_keys {
    uint16_t profile;
    uint8_t key[RTC_SRTP_MAX_KEY_LEN];
    uint8_t salt[RTC_SRTP_MAX_SALT_LEN];
    size_t key_len;
    size_t salt_len;
} rtc_srtp_keys;

/*
** rtc_srtp_split_keying_material() — split the DTLS exporter output (label
** "EXTRACTOR-dtls_srtp", RFC 5764 §4.2: client_key|server_key|client_salt|server_salt).
**
** material/len: borrowed; len must be 2 * (key_len + salt_len) of the profile (60 for
**               AES-CM-128, 56 for AEAD-AES-128-GCM, 88 for AEAD-AES-256-GCM).
** is_client:    true when we were the DTLS client: then `local` gets the client half.
** local:        keys to protect what we send (OUTBOUND). remote: to unprotect (INBOUND).
** Returns:      RTC_OK, RTC_ERR_UNSUPPORTED (profile), RTC_ERR_INVALID (length, NULL).
*/
RTC_API int rtc_srtp_split_keying_material(uint16_t profile, const uint8_t *material, size_t len,
                                           bool is_client, rtc_srtp_keys *local,
                                           rtc_srtp_keys *remote);

/* ---- sessions -------------------------------------------------------------------------- */

typedef enum rtc_srtp_direction {
    RTC_SRTP_OUTBOUND = 1, /* protect / protect_rtcp only */
    RTC_SRTP_INBOUND = 2,  /* unprotect / unprotect_rtcp only */
} rtc_srtp_direction;

#define RTC_SRTP_DEFAULT_WINDOW      128   /* packets; libsrtp's default too */
#define RTC_SRTP_MAX_WINDOW          32768 /* RFC 3711 §3.3.2 puts no upper bound; we do */
#define RTC_SRTP_DEFAULT_MAX_STREAMS 256   /* SSRCs per session */
#define RTC_SRTP_MAX_STREAMS_LIMIT   65536

typedef struct rtc_srtp_config {
    rtc_srtp_direction direction;
    rtc_srtp_keys keys;          /* copied; profile, key and salt (see split_keying_material) */
    uint32_t replay_window;      /* RTP replay window in packets; 0 => 128. Rounded up to a
                                    multiple of 64; 64..32768. Outbound: how far back a
                                    retransmitted sequence number may go (libsrtp semantics). */
    uint32_t rtcp_replay_window; /* SRTCP window; 0 => 128; same rules */
    uint32_t max_streams;        /* SSRCs this session keeps state for; 0 => 256 */
} rtc_srtp_config;

typedef struct rtc_srtp rtc_srtp;

/*
** rtc_srtp_new() — derive the session keys (RFC 3711 §4.3, RFC 7714 §11) and set up the
** ciphers. `cfg` is copied; `env` (NULL: defaults) is copied and used for memory and logs.
** Returns RTC_OK, RTC_ERR_INVALID (bad direction/lengths/window), RTC_ERR_UNSUPPORTED
** (profile), RTC_ERR_NOMEM, RTC_ERR_CRYPTO. *out is NULL on failure.
*/
RTC_API int rtc_srtp_new(rtc_srtp **out, const rtc_srtp_config *cfg, const rtc_env *env);
/* Free the session and wipe its keys. NULL is a no-op. */
RTC_API void rtc_srtp_free(rtc_srtp *s);

/*
** rtc_srtp_protect() — RTP to SRTP (RFC 3711 §3.3, RFC 7714 §8). OUTBOUND sessions.
**
** Encrypts only the payload (after CSRCs and header extension); the padding bit and the
** header are untouched. out_cap must be >= in_len + rtp_tag_len.
** Returns: RTC_OK, RTC_ERR_TOO_SMALL (out_cap), RTC_ERR_PARSE (not an RTP packet),
**          RTC_ERR_REPLAY (sequence number older than the window; repeats are allowed
**          because retransmissions repeat them), RTC_ERR_NOMEM (a new SSRC beyond
**          max_streams), RTC_ERR_MISUSE (inbound session, or the 48-bit index is
**          exhausted: rekey), RTC_ERR_CRYPTO.
*/
RTC_API int rtc_srtp_protect(rtc_srtp *s, const uint8_t *in, size_t in_len, uint8_t *out,
                             size_t out_cap, size_t *out_len);

/*
** rtc_srtp_unprotect() — SRTP to RTP. INBOUND sessions. The ROC is estimated from the
** sequence number; the replay window is checked before and updated after authentication.
** out_cap must be >= in_len - rtp_tag_len.
** Returns: RTC_OK, RTC_ERR_TOO_SMALL, RTC_ERR_PARSE (malformed or shorter than a tag),
**          RTC_ERR_AUTH (tag mismatch: tampered, wrong key, or wrong ROC guess),
**          RTC_ERR_REPLAY (seen, or older than the window), RTC_ERR_NOMEM (an
**          authentic packet from a new SSRC beyond max_streams), RTC_ERR_MISUSE,
**          RTC_ERR_CRYPTO. A failed packet changes no state.
*/
RTC_API int rtc_srtp_unprotect(rtc_srtp *s, const uint8_t *in, size_t in_len, uint8_t *out,
                               size_t out_cap, size_t *out_len);

/*
** rtc_srtp_protect_rtcp() — RTCP to SRTCP (RFC 3711 §3.4, RFC 7714 §9). OUTBOUND.
** Encrypts after the first 8 octets, sets E=1, uses the sender SSRC's next SRTCP index
** (0 first, RFC 3711 §3.3.2; see rtc_srtp_set_rtcp_index). out_cap >= in_len + 4 + tag.
** Returns: RTC_OK, RTC_ERR_TOO_SMALL, RTC_ERR_PARSE (shorter than 8 octets or not
**          version 2), RTC_ERR_NOMEM (SSRC bound), RTC_ERR_MISUSE (inbound session, or the
**          31-bit index is exhausted: rekey), RTC_ERR_CRYPTO.
*/
RTC_API int rtc_srtp_protect_rtcp(rtc_srtp *s, const uint8_t *in, size_t in_len, uint8_t *out,
                                  size_t out_cap, size_t *out_len);

/*
** rtc_srtp_unprotect_rtcp() — SRTCP to RTCP. INBOUND. Packets with E=0 are rejected with
** RTC_ERR_UNSUPPORTED (we always encrypt; accepting them would let a downgrade through).
** out_cap >= in_len - 4 - tag.
** Returns: RTC_OK, RTC_ERR_TOO_SMALL, RTC_ERR_PARSE, RTC_ERR_AUTH, RTC_ERR_REPLAY,
**          RTC_ERR_UNSUPPORTED,
**          RTC_ERR_NOMEM, RTC_ERR_MISUSE, RTC_ERR_CRYPTO. A failed packet changes no state.
*/
RTC_API int rtc_srtp_unprotect_rtcp(rtc_srtp *s, const uint8_t *in, size_t in_len, uint8_t *out,
                                    size_t out_cap, size_t *out_len);

/*
** Per-SSRC state, for signalling-driven setups and tests.
** set_roc:        set the ROC of `ssrc` (creating its stream), keep the low 16 bits of the
**                 highest index and clear the replay window (what libsrtp's
**                 srtp_set_stream_roc does). RTC_OK, RTC_ERR_REPLAY (ROC would go
**                 backwards), RTC_ERR_NOMEM.
** get_roc:        RTC_OK or RTC_ERR_NOT_FOUND.
** set_rtcp_index: OUTBOUND: the SRTCP index the next protect_rtcp of `ssrc` uses (< 2^31),
**                 creating the stream. RTC_OK, RTC_ERR_INVALID, RTC_ERR_MISUSE, RTC_ERR_NOMEM.
** remove_stream:  forget `ssrc` (e.g. after RTCP BYE). RTC_OK or RTC_ERR_NOT_FOUND.
*/
RTC_API int rtc_srtp_set_roc(rtc_srtp *s, uint32_t ssrc, uint32_t roc);
RTC_API int rtc_srtp_get_roc(const rtc_srtp *s, uint32_t ssrc, uint32_t *roc);
RTC_API int rtc_srtp_set_rtcp_index(rtc_srtp *s, uint32_t ssrc, uint32_t next_index);
RTC_API int rtc_srtp_remove_stream(rtc_srtp *s, uint32_t ssrc);

/* Counters since creation (plain values, copied out). */
typedef struct rtc_srtp_stats {
    uint64_t packets_ok;        /* RTP + RTCP protected or unprotected */
    uint64_t auth_failures;     /* RTC_ERR_AUTH */
    uint64_t replays;           /* RTC_ERR_REPLAY */
    uint64_t parse_errors;      /* RTC_ERR_PARSE */
    uint64_t stream_limit_hits; /* RTC_ERR_NOMEM for a new SSRC */
    uint32_t streams;           /* SSRCs currently tracked */
} rtc_srtp_stats;
RTC_API void rtc_srtp_get_stats(const rtc_srtp *s, rtc_srtp_stats *out);

#ifdef __cplusplus
}
#endif
#endif
