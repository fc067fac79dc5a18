/*
** src/srtp/srtp.c: the SRTP/SRTCP session: key setup and protect/unprotect
** (RFC 3711 §3.3, §3.4; RFC 7714 §8, §9).
**
** Cost model (why the code looks like this): on a 1200-octet packet the cipher and the
** MAC are nearly all of the work, so the rest must not add fixed costs. Every EVP
** algorithm is fetched once in rtc_srtp_new() (implicit fetching by name costs more than
** the cipher on small packets), every context is keyed once (AES key schedule, HMAC
** ipad/opad) and then only re-IV'd per packet: EVP_CipherInit_ex2(ctx, NULL, NULL, iv)
** and EVP_MAC_init(ctx, NULL, 0, NULL) keep the key. The per-SSRC lookup is a one-entry
** cache in front of a hash table. Nothing here allocates per packet, except the first
** packet of a new SSRC.
**
** Order of checks on receive: cheap structural checks, then the replay window (before
** spending a MAC on a replay), then authentication, and only then any state change
** (stream creation, window update). A packet that fails changes nothing.
*/
#define LOG_MODULE "srtp"
#include "srtp/srtp_internal.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <string.h>

/* Longest packet accepted: RTP/RTCP ride UDP (65,507 octets at most) or RFC 4571 framing
** (65,535); anything longer is not a packet. Keeps every length well inside int. */
#define RSRTP_MAX_PACKET 65536u

/* ---- setup ------------------------------------------------------------------------------- */

static int mac_ctx_new(rtc_srtp *s, const uint8_t key[RSRTP_AUTH_KEY_LEN], EVP_MAC_CTX **out) {
    EVP_MAC_CTX *m = EVP_MAC_CTX_new(s->mac);
    if (!m) return RTC_ERR_CRYPTO;
    char digest[] = "SHA1";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_init(m, key, RSRTP_AUTH_KEY_LEN, params) != 1) {
        EVP_MAC_CTX_free(m);
        return RTC_ERR_CRYPTO;
    }
    *out = m;
    return RTC_OK;
}

static int cipher_ctx_new(rtc_srtp *s, const uint8_t *key, EVP_CIPHER_CTX **out) {
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (!c) return RTC_ERR_CRYPTO;
    /* The direction matters for GCM only (tag computed vs checked). */
    int enc = s->dir == RTC_SRTP_OUTBOUND ? 1 : 0;
    if (EVP_CipherInit_ex2(c, s->cipher, key, NULL, enc, NULL) != 1) {
        EVP_CIPHER_CTX_free(c);
        return RTC_ERR_CRYPTO;
    }
    *out = c;
    return RTC_OK;
}

static int window_words(uint32_t w, uint32_t *words) {
    if (w == 0) w = RTC_SRTP_DEFAULT_WINDOW;
    if (w < 64 || w > RTC_SRTP_MAX_WINDOW) return RTC_ERR_INVALID;
    *words = (w + 63) / 64;
    return RTC_OK;
}

/* Derive the six (AES-CM) or four (AEAD) session values and key the contexts. */
static int setup_keys(rtc_srtp *s, const rtc_srtp_keys *k) {
    int rc = RTC_ERR_CRYPTO;
    uint8_t enc[32], auth[RSRTP_AUTH_KEY_LEN];
    size_t salt_len = s->info.aead ? 12 : 14;
    EVP_CIPHER *ctr =
        EVP_CIPHER_fetch(NULL, k->key_len == 16 ? "AES-128-CTR" : "AES-256-CTR", NULL);
    if (!ctr) goto done;
    /* RTP: labels 0 (key), 1 (auth), 2 (salt); RTCP: 3, 4, 5 (RFC 3711 §4.3.2). */
    for (int rtcp = 0; rtcp <= 1; rtcp++) {
        uint8_t base = rtcp ? RSRTP_LABEL_RTCP_ENC : RSRTP_LABEL_RTP_ENC;
        uint8_t *salt = rtcp ? s->rtcp_salt : s->rtp_salt;
        if ((rc = rsrtp_kdf(ctr, k->key, k->key_len, k->salt, k->salt_len, base, enc,
                            k->key_len)) != RTC_OK ||
            (rc = rsrtp_kdf(ctr, k->key, k->key_len, k->salt, k->salt_len, base + 2, salt,
                            salt_len)) != RTC_OK)
            goto done;
        if ((rc = cipher_ctx_new(s, enc, rtcp ? &s->rtcp_cctx : &s->rtp_cctx)) != RTC_OK) goto done;
        if (!s->info.aead) {
            if ((rc = rsrtp_kdf(ctr, k->key, k->key_len, k->salt, k->salt_len, base + 1, auth,
                                sizeof auth)) != RTC_OK ||
                (rc = mac_ctx_new(s, auth, rtcp ? &s->rtcp_mctx : &s->rtp_mctx)) != RTC_OK)
                goto done;
        }
    }
    rc = RTC_OK;
done:
    OPENSSL_cleanse(enc, sizeof enc);
    OPENSSL_cleanse(auth, sizeof auth);
    EVP_CIPHER_free(ctr);
    return rc;
}

int rsrtp_set_session_keys(rtc_srtp *s, bool rtcp, const uint8_t *key, const uint8_t *salt,
                           const uint8_t *auth) {
    EVP_CIPHER_CTX **cc = rtcp ? &s->rtcp_cctx : &s->rtp_cctx;
    EVP_MAC_CTX **mc = rtcp ? &s->rtcp_mctx : &s->rtp_mctx;
    EVP_CIPHER_CTX_free(*cc);
    *cc = NULL;
    int rc = cipher_ctx_new(s, key, cc);
    if (rc != RTC_OK) return rc;
    memcpy(rtcp ? s->rtcp_salt : s->rtp_salt, salt, s->info.aead ? 12 : 14);
    if (!s->info.aead) {
        EVP_MAC_CTX_free(*mc);
        *mc = NULL;
        rc = mac_ctx_new(s, auth, mc);
    }
    return rc;
}

int rtc_srtp_new(rtc_srtp **out, const rtc_srtp_config *cfg, const rtc_env *env) {
    if (!out) return RTC_ERR_INVALID;
    *out = NULL;
    if (!cfg) return RTC_ERR_INVALID;
    rtc_srtp_profile_info info;
    int rc = rtc_srtp_profile_get_info(cfg->keys.profile, &info);
    if (rc != RTC_OK) return rc;
    if (cfg->keys.key_len != info.key_len || cfg->keys.salt_len != info.salt_len)
        return RTC_ERR_INVALID;
    if (cfg->direction != RTC_SRTP_OUTBOUND && cfg->direction != RTC_SRTP_INBOUND)
        return RTC_ERR_INVALID;
    uint32_t rtp_words, rtcp_words;
    if (window_words(cfg->replay_window, &rtp_words) != RTC_OK ||
        window_words(cfg->rtcp_replay_window, &rtcp_words) != RTC_OK)
        return RTC_ERR_INVALID;
    uint32_t max_streams = cfg->max_streams ? cfg->max_streams : RTC_SRTP_DEFAULT_MAX_STREAMS;
    if (max_streams > RTC_SRTP_MAX_STREAMS_LIMIT) return RTC_ERR_INVALID;

    rtc_env e;
    rtc_env_copy(&e, env);
    rtc_srtp *s = rtc_calloc(&e, sizeof *s);
    if (!s) return RTC_ERR_NOMEM;
    s->env = e;
    s->dir = cfg->direction;
    s->profile = cfg->keys.profile;
    s->info = info;
    s->rtp_words = rtp_words;
    s->rtcp_words = rtcp_words;
    s->max_streams = max_streams;

    const char *cname = !info.aead           ? "AES-128-CTR"
                        : info.key_len == 16 ? "AES-128-GCM"
                                             : "AES-256-GCM";
    s->cipher = EVP_CIPHER_fetch(NULL, cname, NULL);
    if (!info.aead) s->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!s->cipher || (!info.aead && !s->mac))
        rc = RTC_ERR_CRYPTO;
    else
        rc = setup_keys(s, &cfg->keys);
    if (rc != RTC_OK) {
        RTC_LOGE(&s->env, "session setup failed: %s", rtc_strerror(rc));
        rtc_srtp_free(s);
        return rc;
    }
    *out = s;
    return RTC_OK;
}

void rtc_srtp_free(rtc_srtp *s) {
    if (!s) return;
    rsrtp_streams_free(s);
    EVP_CIPHER_CTX_free(s->rtp_cctx); /* frees cleanse the key schedules */
    EVP_CIPHER_CTX_free(s->rtcp_cctx);
    EVP_MAC_CTX_free(s->rtp_mctx);
    EVP_MAC_CTX_free(s->rtcp_mctx);
    EVP_MAC_free(s->mac);
    EVP_CIPHER_free(s->cipher);
    rtc_env e = s->env;
    OPENSSL_cleanse(s, sizeof *s);
    rtc_free(&e, s, sizeof *s);
}

/* ---- helpers ------------------------------------------------------------------------------- */

/* RTP header length: fixed 12, CSRCs, and the RFC 3550 §5.3.1 / RFC 8285 extension. */
static int rtp_header_len(const uint8_t *p, size_t len, size_t *hdr) {
    rtc_reader r;
    rtc_reader_init(&r, p, len);
    uint8_t b0 = rtc_read_u8(&r);
    rtc_read_skip(&r, 11); /* M/PT, sequence number, timestamp, SSRC */
    rtc_read_skip(&r, 4u * (b0 & 0x0f));
    if (b0 & 0x10) {
        rtc_read_u16(&r); /* profile-defined */
        uint16_t words = rtc_read_u16(&r);
        rtc_read_skip(&r, 4u * words);
    }
    if (r.err || (b0 >> 6) != 2) return RTC_ERR_PARSE;
    *hdr = len - rtc_reader_left(&r);
    return RTC_OK;
}

/* out == in is in place; any other overlap would corrupt the input mid-cipher. */
static bool bad_overlap(const uint8_t *in, size_t in_len, const uint8_t *out, size_t out_cap) {
    if (out == in) return false;
    uintptr_t a = (uintptr_t)in, b = (uintptr_t)out;
    return a < b + out_cap && b < a + in_len;
}

static int cm_crypt(EVP_CIPHER_CTX *c, const uint8_t iv[16], const uint8_t *in, uint8_t *out,
                    size_t n) {
    int l = 0;
    if (EVP_CipherInit_ex2(c, NULL, NULL, iv, -1, NULL) != 1) return RTC_ERR_CRYPTO;
    if (n && (EVP_CipherUpdate(c, out, &l, in, (int)n) != 1 || (size_t)l != n))
        return RTC_ERR_CRYPTO;
    return RTC_OK;
}

/* HMAC-SHA1 over p[0..n) || extra[0..en) (RFC 3711 §4.2: M = Authenticated Portion || ROC). */
static int hmac_sha1(EVP_MAC_CTX *m, const uint8_t *p, size_t n, const uint8_t *extra, size_t en,
                     uint8_t out[RTC_SHA1_LEN]) {
    size_t ol = 0;
    if (EVP_MAC_init(m, NULL, 0, NULL) != 1 || EVP_MAC_update(m, p, n) != 1 ||
        (en && EVP_MAC_update(m, extra, en) != 1) ||
        EVP_MAC_final(m, out, &ol, RTC_SHA1_LEN) != 1 || ol != RTC_SHA1_LEN)
        return RTC_ERR_CRYPTO;
    return RTC_OK;
}

/*
** One AEAD pass (RFC 7714 §5): AAD a1||a2, then in[0..n) -> out[0..n). Encrypting writes
** the tag to `tag`; decrypting checks `tag` and returns RTC_ERR_AUTH on mismatch.
*/
static int gcm_crypt(EVP_CIPHER_CTX *c, bool enc, const uint8_t iv[12], const uint8_t *a1,
                     size_t n1, const uint8_t *a2, size_t n2, const uint8_t *in, uint8_t *out,
                     size_t n, uint8_t tag[RSRTP_GCM_TAG_LEN]) {
    int l = 0;
    if (EVP_CipherInit_ex2(c, NULL, NULL, iv, -1, NULL) != 1) return RTC_ERR_CRYPTO;
    if (EVP_CipherUpdate(c, NULL, &l, a1, (int)n1) != 1) return RTC_ERR_CRYPTO;
    if (n2 && EVP_CipherUpdate(c, NULL, &l, a2, (int)n2) != 1) return RTC_ERR_CRYPTO;
    if (n && (EVP_CipherUpdate(c, out, &l, in, (int)n) != 1 || (size_t)l != n))
        return RTC_ERR_CRYPTO;
    if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, RSRTP_GCM_TAG_LEN, tag) != 1)
        return RTC_ERR_CRYPTO;
    uint8_t fin[16];
    if (EVP_CipherFinal_ex(c, fin, &l) != 1) return enc ? RTC_ERR_CRYPTO : RTC_ERR_AUTH;
    if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, RSRTP_GCM_TAG_LEN, tag) != 1)
        return RTC_ERR_CRYPTO;
    return RTC_OK;
}

static int tally(rtc_srtp *s, int rc) {
    switch (rc) {
    case RTC_OK: s->stats.packets_ok++; break;
    case RTC_ERR_AUTH: s->stats.auth_failures++; break;
    case RTC_ERR_REPLAY: s->stats.replays++; break;
    case RTC_ERR_PARSE: s->stats.parse_errors++; break;
    default: break;
    }
    return rc;
}

/* ---- RTP ------------------------------------------------------------------------------------ */

static int protect_rtp(rtc_srtp *s, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                       size_t *out_len) {
    if (s->dir != RTC_SRTP_OUTBOUND) return RTC_ERR_MISUSE;
    size_t hdr, tag_len = s->info.rtp_tag_len;
    if (in_len > RSRTP_MAX_PACKET || rtp_header_len(in, in_len, &hdr) != RTC_OK)
        return RTC_ERR_PARSE;
    if (out_cap < in_len + tag_len) return RTC_ERR_TOO_SMALL;
    if (bad_overlap(in, in_len, out, out_cap)) return RTC_ERR_INVALID;
    uint16_t seq = rtc_be16(in + 2);
    uint32_t ssrc = rtc_be32(in + 8);
    int rc = RTC_OK;
    rsrtp_stream *st = rsrtp_stream_get(s, ssrc, &rc);
    if (!st) return rc;
    uint64_t index;
    int64_t delta;
    if (!rsrtp_rtp_estimate(st->rtp_top, seq, &index, &delta)) return RTC_ERR_MISUSE;
    /* A repeated sequence number is a retransmission (libsrtp's allow_repeat_tx); one older
    ** than the window could be a ROC misestimate, which would reuse keystream. */
    if (delta <= -(int64_t)s->rtp_words * 64) return RTC_ERR_REPLAY;
    uint32_t roc = (uint32_t)(index >> 16);
    if (out != in) memcpy(out, in, hdr);
    if (s->info.aead) {
        uint8_t iv[12];
        rsrtp_gcm_rtp_iv(iv, s->rtp_salt, ssrc, roc, seq);
        /* AAD is the whole header, CSRCs and extension included (RFC 7714 §8.2). */
        rc = gcm_crypt(s->rtp_cctx, true, iv, in, hdr, NULL, 0, in + hdr, out + hdr, in_len - hdr,
                       out + in_len);
    } else {
        uint8_t iv[16], mac[RTC_SHA1_LEN], rocb[4];
        rsrtp_cm_iv(iv, s->rtp_salt, ssrc, index);
        rtc_put_be32(rocb, roc);
        rc = cm_crypt(s->rtp_cctx, iv, in + hdr, out + hdr, in_len - hdr);
        if (rc == RTC_OK) rc = hmac_sha1(s->rtp_mctx, out, in_len, rocb, 4, mac);
        if (rc == RTC_OK) memcpy(out + in_len, mac, tag_len);
    }
    if (rc != RTC_OK) return rc;
    rsrtp_window_add(&st->rtp_top, rsrtp_stream_rtp_bits(st), s->rtp_words, delta);
    *out_len = in_len + tag_len;
    return RTC_OK;
}

static int unprotect_rtp(rtc_srtp *s, const uint8_t *in, size_t in_len, uint8_t *out,
                         size_t out_cap, size_t *out_len) {
    if (s->dir != RTC_SRTP_INBOUND) return RTC_ERR_MISUSE;
    size_t hdr, tag_len = s->info.rtp_tag_len;
    if (in_len > RSRTP_MAX_PACKET || in_len < tag_len) return RTC_ERR_PARSE;
    size_t body = in_len - tag_len; /* header + encrypted payload */
    if (rtp_header_len(in, body, &hdr) != RTC_OK) return RTC_ERR_PARSE;
    if (out_cap < body) return RTC_ERR_TOO_SMALL;
    if (bad_overlap(in, in_len, out, out_cap)) return RTC_ERR_INVALID;
    uint16_t seq = rtc_be16(in + 2);
    uint32_t ssrc = rtc_be32(in + 8);
    rsrtp_stream *st = rsrtp_stream_find(s, ssrc);
    uint64_t index;
    int64_t delta;
    /* An unknown SSRC is judged against a fresh state (top 0, empty window). */
    if (!rsrtp_rtp_estimate(st ? st->rtp_top : 0, seq, &index, &delta)) return RTC_ERR_REPLAY;
    if (st &&
        rsrtp_window_check(st->rtp_top, rsrtp_stream_rtp_bits(st), s->rtp_words, delta) != RTC_OK)
        return RTC_ERR_REPLAY;
    uint32_t roc = (uint32_t)(index >> 16);
    int rc;
    if (s->info.aead) {
        uint8_t iv[12], tag[RSRTP_GCM_TAG_LEN];
        memcpy(tag, in + body, sizeof tag);
        rsrtp_gcm_rtp_iv(iv, s->rtp_salt, ssrc, roc, seq);
        if (out != in) memcpy(out, in, hdr);
        rc = gcm_crypt(s->rtp_cctx, false, iv, in, hdr, NULL, 0, in + hdr, out + hdr, body - hdr,
                       tag);
        if (rc != RTC_OK) return rc;
    } else {
        uint8_t mac[RTC_SHA1_LEN], rocb[4];
        rtc_put_be32(rocb, roc);
        if ((rc = hmac_sha1(s->rtp_mctx, in, body, rocb, 4, mac)) != RTC_OK) return rc;
        if (!rtc_ct_equal(mac, in + body, tag_len)) return RTC_ERR_AUTH;
    }
    if (!st && !(st = rsrtp_stream_get(s, ssrc, &rc))) return rc;
    if (!s->info.aead) {
        uint8_t iv[16];
        rsrtp_cm_iv(iv, s->rtp_salt, ssrc, index);
        if (out != in) memcpy(out, in, hdr);
        if ((rc = cm_crypt(s->rtp_cctx, iv, in + hdr, out + hdr, body - hdr)) != RTC_OK) return rc;
    }
    rsrtp_window_add(&st->rtp_top, rsrtp_stream_rtp_bits(st), s->rtp_words, delta);
    *out_len = body;
    return RTC_OK;
}

/* ---- RTCP ----------------------------------------------------------------------------------- */

static int protect_rtcp(rtc_srtp *s, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                        size_t *out_len) {
    if (s->dir != RTC_SRTP_OUTBOUND) return RTC_ERR_MISUSE;
    size_t tag_len = s->info.rtcp_tag_len;
    if (in_len > RSRTP_MAX_PACKET || in_len < 8 || (in[0] >> 6) != 2) return RTC_ERR_PARSE;
    if (out_cap < in_len + 4 + tag_len) return RTC_ERR_TOO_SMALL;
    if (bad_overlap(in, in_len, out, out_cap)) return RTC_ERR_INVALID;
    uint32_t ssrc = rtc_be32(in + 4);
    int rc = RTC_OK;
    rsrtp_stream *st = rsrtp_stream_get(s, ssrc, &rc);
    if (!st) return rc;
    uint32_t index = st->rtcp_next;
    if (index > RSRTP_RTCP_INDEX_MAX) return RTC_ERR_MISUSE; /* RFC 3711 §9.2: rekey */
    uint8_t word[4];
    rtc_put_be32(word, RSRTP_RTCP_E_BIT | index);
    if (out != in) memcpy(out, in, 8);
    if (s->info.aead) {
        /* RFC 7714 §9.2: AAD = first 8 octets || E+index; output ciphertext || tag || E+index. */
        uint8_t iv[12];
        rsrtp_gcm_rtcp_iv(iv, s->rtcp_salt, ssrc, index);
        rc = gcm_crypt(s->rtcp_cctx, true, iv, in, 8, word, 4, in + 8, out + 8, in_len - 8,
                       out + in_len);
        if (rc != RTC_OK) return rc;
        memcpy(out + in_len + RSRTP_GCM_TAG_LEN, word, 4);
    } else {
        /* RFC 3711 §3.4: encrypt after the first 8 octets, then tag over all || E+index. */
        uint8_t iv[16], mac[RTC_SHA1_LEN];
        rsrtp_cm_iv(iv, s->rtcp_salt, ssrc, index);
        if ((rc = cm_crypt(s->rtcp_cctx, iv, in + 8, out + 8, in_len - 8)) != RTC_OK) return rc;
        memcpy(out + in_len, word, 4);
        if ((rc = hmac_sha1(s->rtcp_mctx, out, in_len + 4, NULL, 0, mac)) != RTC_OK) return rc;
        memcpy(out + in_len + 4, mac, tag_len);
    }
    st->rtcp_next = index + 1;
    *out_len = in_len + 4 + tag_len;
    return RTC_OK;
}

static int unprotect_rtcp(rtc_srtp *s, const uint8_t *in, size_t in_len, uint8_t *out,
                          size_t out_cap, size_t *out_len) {
    if (s->dir != RTC_SRTP_INBOUND) return RTC_ERR_MISUSE;
    size_t tag_len = s->info.rtcp_tag_len;
    if (in_len > RSRTP_MAX_PACKET || in_len < 8 + 4 + tag_len || (in[0] >> 6) != 2)
        return RTC_ERR_PARSE;
    size_t body = in_len - 4 - tag_len; /* the RTCP packet itself */
    /* AES-CM: ... || E+index || tag. AEAD (RFC 7714 §17): ... || tag || E+index. */
    const uint8_t *wordp = s->info.aead ? in + in_len - 4 : in + body;
    const uint8_t *tagp = s->info.aead ? in + body : in + in_len - tag_len;
    uint32_t word = rtc_be32(wordp);
    /* E = 0 is unencrypted SRTCP: we always encrypt and never accept a downgrade. */
    if (!(word & RSRTP_RTCP_E_BIT)) return RTC_ERR_UNSUPPORTED;
    uint32_t index = word & RSRTP_RTCP_INDEX_MAX;
    if (out_cap < body) return RTC_ERR_TOO_SMALL;
    if (bad_overlap(in, in_len, out, out_cap)) return RTC_ERR_INVALID;
    uint32_t ssrc = rtc_be32(in + 4);
    rsrtp_stream *st = rsrtp_stream_find(s, ssrc);
    int64_t delta = 0;
    if (st && st->rtcp_seen) {
        delta = (int64_t)index - (int64_t)st->rtcp_top;
        if (rsrtp_window_check(st->rtcp_top, rsrtp_stream_rtcp_bits(s, st), s->rtcp_words, delta) !=
            RTC_OK)
            return RTC_ERR_REPLAY;
    }
    int rc;
    if (s->info.aead) {
        uint8_t iv[12], tag[RSRTP_GCM_TAG_LEN], w[4];
        memcpy(tag, tagp, sizeof tag);
        memcpy(w, wordp, 4); /* in place, the plaintext never reaches these, but be plain */
        rsrtp_gcm_rtcp_iv(iv, s->rtcp_salt, ssrc, index);
        if (out != in) memcpy(out, in, 8);
        rc = gcm_crypt(s->rtcp_cctx, false, iv, in, 8, w, 4, in + 8, out + 8, body - 8, tag);
        if (rc != RTC_OK) return rc;
    } else {
        uint8_t mac[RTC_SHA1_LEN];
        if ((rc = hmac_sha1(s->rtcp_mctx, in, body + 4, NULL, 0, mac)) != RTC_OK) return rc;
        if (!rtc_ct_equal(mac, tagp, tag_len)) return RTC_ERR_AUTH;
    }
    if (!st && !(st = rsrtp_stream_get(s, ssrc, &rc))) return rc;
    if (!s->info.aead) {
        uint8_t iv[16];
        rsrtp_cm_iv(iv, s->rtcp_salt, ssrc, index);
        if (out != in) memcpy(out, in, 8);
        if ((rc = cm_crypt(s->rtcp_cctx, iv, in + 8, out + 8, body - 8)) != RTC_OK) return rc;
    }
    uint64_t *bits = rsrtp_stream_rtcp_bits(s, st);
    if (!st->rtcp_seen) {
        memset(bits, 0, (size_t)s->rtcp_words * sizeof *bits);
        st->rtcp_top = index;
        st->rtcp_seen = true;
        delta = 0;
    }
    rsrtp_window_add(&st->rtcp_top, bits, s->rtcp_words, delta);
    *out_len = body;
    return RTC_OK;
}

/* ---- public entry points ------------------------------------------------------------------ */

#define ARGS_OK(s, in, out, out_len) ((s) && (in) && (out) && (out_len))

int rtc_srtp_protect(rtc_srtp *s, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                     size_t *out_len) {
    if (!ARGS_OK(s, in, out, out_len)) return RTC_ERR_INVALID;
    return tally(s, protect_rtp(s, in, in_len, out, out_cap, out_len));
}

int rtc_srtp_unprotect(rtc_srtp *s, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                       size_t *out_len) {
    if (!ARGS_OK(s, in, out, out_len)) return RTC_ERR_INVALID;
    return tally(s, unprotect_rtp(s, in, in_len, out, out_cap, out_len));
}

int rtc_srtp_protect_rtcp(rtc_srtp *s, const uint8_t *in, size_t in_len, uint8_t *out,
                          size_t out_cap, size_t *out_len) {
    if (!ARGS_OK(s, in, out, out_len)) return RTC_ERR_INVALID;
    return tally(s, protect_rtcp(s, in, in_len, out, out_cap, out_len));
}

int rtc_srtp_unprotect_rtcp(rtc_srtp *s, const uint8_t *in, size_t in_len, uint8_t *out,
                            size_t out_cap, size_t *out_len) {
    if (!ARGS_OK(s, in, out, out_len)) return RTC_ERR_INVALID;
    return tally(s, unprotect_rtcp(s, in, in_len, out, out_cap, out_len));
}

int rtc_srtp_set_roc(rtc_srtp *s, uint32_t ssrc, uint32_t roc) {
    if (!s) return RTC_ERR_INVALID;
    int rc = RTC_OK;
    rsrtp_stream *st = rsrtp_stream_get(s, ssrc, &rc);
    if (!st) return rc;
    if (roc < (uint32_t)(st->rtp_top >> 16)) return RTC_ERR_REPLAY;
    st->rtp_top = ((uint64_t)roc << 16) | (st->rtp_top & 0xffff);
    memset(rsrtp_stream_rtp_bits(st), 0, (size_t)s->rtp_words * sizeof(uint64_t));
    return RTC_OK;
}

int rtc_srtp_get_roc(const rtc_srtp *s, uint32_t ssrc, uint32_t *roc) {
    if (!s || !roc) return RTC_ERR_INVALID;
    const rsrtp_stream *st = rsrtp_stream_peek(s, ssrc);
    if (!st) return RTC_ERR_NOT_FOUND;
    *roc = (uint32_t)(st->rtp_top >> 16);
    return RTC_OK;
}

int rtc_srtp_set_rtcp_index(rtc_srtp *s, uint32_t ssrc, uint32_t next_index) {
    if (!s || next_index > RSRTP_RTCP_INDEX_MAX) return RTC_ERR_INVALID;
    if (s->dir != RTC_SRTP_OUTBOUND) return RTC_ERR_MISUSE;
    int rc = RTC_OK;
    rsrtp_stream *st = rsrtp_stream_get(s, ssrc, &rc);
    if (!st) return rc;
    st->rtcp_next = next_index;
    return RTC_OK;
}

int rtc_srtp_remove_stream(rtc_srtp *s, uint32_t ssrc) {
    if (!s) return RTC_ERR_INVALID;
    return rsrtp_stream_remove(s, ssrc);
}

void rtc_srtp_get_stats(const rtc_srtp *s, rtc_srtp_stats *out) {
    if (!out) return;
    memset(out, 0, sizeof *out);
    if (!s) return;
    *out = s->stats;
    out->streams = s->streams.count;
}
