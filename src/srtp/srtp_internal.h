/*
** src/srtp/srtp_internal.h: private pieces of the SRTP layer, shared by its .c files and
** exposed to tests/unit/srtp (which check the KDF, the keystream and the replay logic on
** their own, against RFC 3711 Appendix B). Internal symbols use the prefix rsrtp_, not
** srtp_, so that tests and benchmarks can link libsrtp2 beside us without interposition.
**
** The session is the RFC 3711 §3.2 "cryptographic context" split in two: the part shared
** by every SSRC (derived session keys held inside keyed EVP contexts, salts) lives in
** struct rtc_srtp; the per-SSRC part (ROC + highest sequence number, replay windows,
** SRTCP index) lives in rsrtp_stream, created on demand and bounded in number.
*/
#ifndef RTC_SRTP_INTERNAL_H
#define RTC_SRTP_INTERNAL_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>

#include "cwebrtc/srtp.h"
#include "util/buf.h"
#include "util/util.h"

/* RFC 3711 §4.3.1 key derivation labels. */
enum {
    RSRTP_LABEL_RTP_ENC = 0x00,
    RSRTP_LABEL_RTP_AUTH = 0x01,
    RSRTP_LABEL_RTP_SALT = 0x02,
    RSRTP_LABEL_RTCP_ENC = 0x03,
    RSRTP_LABEL_RTCP_AUTH = 0x04,
    RSRTP_LABEL_RTCP_SALT = 0x05,
};

#define RSRTP_AUTH_KEY_LEN   20 /* n_a = 160 bits for HMAC-SHA1 (RFC 3711 §4.2.1) */
#define RSRTP_GCM_TAG_LEN    16 /* RFC 7714 §14.2 */
#define RSRTP_RTCP_E_BIT     0x80000000u
#define RSRTP_RTCP_INDEX_MAX 0x7fffffffu
#define RSRTP_SEQ_MEDIAN     32768 /* 2^15 */

/*
** AES-CM PRF (RFC 3711 §4.3.3): out = first n octets of the AES-CM keystream under
** master_key (16 or 32 octets) with IV = (master_salt XOR label at octet 7) * 2^16.
** master_salt is 14 octets, or 12 for AEAD profiles (zero-padded to 14, as libsrtp and
** RFC 7714 §11 do). kdr = 0, so "index DIV kdr" is zero. `cipher` is a fetched AES-CTR
** of the master key's size (NULL: fetched here). RTC_OK or RTC_ERR_CRYPTO/INVALID.
*/
RTC_INTERNAL int rsrtp_kdf(EVP_CIPHER *cipher, const uint8_t *master_key, size_t key_len,
                           const uint8_t *master_salt, size_t salt_len, uint8_t label, uint8_t *out,
                           size_t n);

/*
** Tests only: replace the derived session values of the RTP (rtcp = false) or RTCP half
** with given ones (RFC 7714's vectors start from session keys, not master keys). `auth`
** (20 octets) is ignored for AEAD profiles; salt is 14 (AES-CM) or 12 (AEAD) octets.
*/
RTC_INTERNAL int rsrtp_set_session_keys(rtc_srtp *s, bool rtcp, const uint8_t *key,
                                        const uint8_t *salt, const uint8_t *auth);

/* AES-CM IV (RFC 3711 §4.1.1): (salt * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16). */
RTC_INTERNAL void rsrtp_cm_iv(uint8_t iv[16], const uint8_t salt[14], uint32_t ssrc,
                              uint64_t index);
/* AEAD IVs: RFC 7714 §8.1 (RTP) and §9.1 (RTCP), 12 octets, XOR the 12-octet salt. */
RTC_INTERNAL void rsrtp_gcm_rtp_iv(uint8_t iv[12], const uint8_t salt[12], uint32_t ssrc,
                                   uint32_t roc, uint16_t seq);
RTC_INTERNAL void rsrtp_gcm_rtcp_iv(uint8_t iv[12], const uint8_t salt[12], uint32_t ssrc,
                                    uint32_t index);

/* ---- replay and index estimation (replay.c) -------------------------------------------- */

/*
** Replay windows: the highest index accepted (`top`; for RTP the 48-bit ROC << 16 | SEQ,
** libsrtp's rdbx.index) and a ring bitmap of `words` * 64 bits where bit (i mod W) says
** index i was seen, valid for top - W < i <= top. A fresh RTP state is top = 0 with an
** empty bitmap (so index 0 is new).
*/
/*
** RFC 3711 §3.3.1 / Appendix A, with libsrtp's refinement (until the index passed 2^15 the
** ROC is taken as 0, so early reordering cannot guess ROC = -1). Sets *guess to the
** estimated index and returns guess - top (may be negative). Returns false when the guess
** would need ROC = 2^32 (index space exhausted).
*/
RTC_INTERNAL bool rsrtp_rtp_estimate(uint64_t top, uint16_t seq, uint64_t *guess, int64_t *delta);
/* RTC_OK, or RTC_ERR_REPLAY when delta is older than the window or already seen. */
RTC_INTERNAL int rsrtp_window_check(uint64_t top, const uint64_t *bits, uint32_t words,
                                    int64_t delta);
/* Record index top + delta (which passed the check); advances *top when delta > 0. */
RTC_INTERNAL void rsrtp_window_add(uint64_t *top, uint64_t *bits, uint32_t words, int64_t delta);

/* ---- streams (stream.c) ----------------------------------------------------------------- */

typedef struct rsrtp_stream {
    uint32_t ssrc;
    bool rtcp_seen;     /* inbound: an SRTCP packet was accepted (rtcp_top valid) */
    uint64_t rtp_top;   /* highest RTP index (ROC << 16 | seq) */
    uint64_t rtcp_top;  /* inbound: highest SRTCP index accepted */
    uint32_t rtcp_next; /* outbound: next SRTCP index to send */
    uint64_t bits[];    /* rtp_words words for RTP, then rtcp_words words for SRTCP */
} rsrtp_stream;

typedef struct rsrtp_table {
    rsrtp_stream **slots; /* open addressing, linear probing, NULL = empty */
    uint32_t cap;         /* power of two, or 0 */
    uint32_t count;
} rsrtp_table;

struct rtc_srtp {
    rtc_env env;
    rtc_srtp_direction dir;
    uint16_t profile;
    rtc_srtp_profile_info info;
    uint32_t rtp_words, rtcp_words; /* replay windows in 64-bit words */
    uint32_t max_streams;

    EVP_CIPHER *cipher; /* AES-128-CTR, AES-128-GCM or AES-256-GCM, fetched once */
    EVP_MAC *mac;       /* HMAC (AES-CM profiles), fetched once */
    EVP_CIPHER_CTX *rtp_cctx, *rtcp_cctx; /* keyed with the session keys */
    EVP_MAC_CTX *rtp_mctx, *rtcp_mctx;    /* keyed with the session auth keys */
    uint8_t rtp_salt[14], rtcp_salt[14];  /* session salts (12 used for AEAD) */

    rsrtp_table streams;
    rsrtp_stream *last; /* the stream of the previous packet: most calls hit it */
    rtc_srtp_stats stats;
};

/* Look up; find also makes the result the cached `last` stream, peek does not. */
RTC_INTERNAL rsrtp_stream *rsrtp_stream_find(rtc_srtp *s, uint32_t ssrc);
RTC_INTERNAL rsrtp_stream *rsrtp_stream_peek(const rtc_srtp *s, uint32_t ssrc);
/* Find or create; NULL with *err = RTC_ERR_NOMEM at the bound or on allocation failure. */
RTC_INTERNAL rsrtp_stream *rsrtp_stream_get(rtc_srtp *s, uint32_t ssrc, int *err);
RTC_INTERNAL int rsrtp_stream_remove(rtc_srtp *s, uint32_t ssrc);
RTC_INTERNAL void rsrtp_streams_free(rtc_srtp *s);

static inline uint64_t *rsrtp_stream_rtp_bits(rsrtp_stream *st) { return st->bits; }
static inline uint64_t *rsrtp_stream_rtcp_bits(const rtc_srtp *s, rsrtp_stream *st) {
    return st->bits + s->rtp_words;
}

#endif
