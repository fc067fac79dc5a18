/*
** DTLS certificates: ephemeral self-signed ECDSA P-256 (or RSA-2048) certificates, PEM
** import/export, fingerprints, and the one SSL_CTX per certificate that every session
** using it shares (style.md "OpenSSL 3.0 recipe": one shared SSL_CTX per certificate).
**
** WebRTC certificates are never validated against a CA: the peer pins them through the
** SDP fingerprint (RFC 8122, RFC 8827 §6.5). So the certificate only needs to be a valid
** X.509 v3 structure carrying the public key; browsers use a random CN and ~30 days.
*/
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/srtp.h>

#include "dtls/dtls_internal.h"

#define LOG_MODULE "dtls"

/* Chrome's and Firefox's DTLS 1.2 suites: AEAD first, CBC kept for older peers. Only
** ECDHE: forward secrecy is required by RFC 8827 §6.5. */
#define DTLS_CIPHERS                                                                               \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                                   \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                                   \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"                                   \
    "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA"

void dtls_log_ssl_errors(const rtc_env *env, const char *what) {
    unsigned long e;
    int n = 0;
    while ((e = ERR_get_error()) != 0) {
        if (n++ < 4 && rtc_log_enabled(env, RTC_LOG_DEBUG)) {
            char buf[256];
            ERR_error_string_n(e, buf, sizeof buf);
            rtc_log(env, RTC_LOG_DEBUG, LOG_MODULE, __FILE__, __LINE__, "%s: %s", what, buf);
        }
    }
}

int dtls_x509_fingerprint(X509 *x, rtc_dtls_hash hash, rtc_dtls_fingerprint *fp) {
    const EVP_MD *md = dtls_hash_md(hash);
    if (!x || !md || !fp) return RTC_ERR_INVALID;
    unsigned int n = 0;
    if (X509_digest(x, md, fp->value, &n) != 1 || n != dtls_hash_len(hash)) {
        ERR_clear_error();
        return RTC_ERR_CRYPTO;
    }
    fp->hash = hash;
    fp->len = (uint8_t)n;
    return RTC_OK;
}

/* The SSL_CTX every session on this certificate uses. */
static int make_ctx(rtc_dtls_cert *c) {
    SSL_CTX *ctx = SSL_CTX_new(DTLS_method());
    if (!ctx) return RTC_ERR_CRYPTO;
    c->ctx = ctx;
    /* DTLS 1.2 only: OpenSSL 3.0 has no DTLS 1.3, and a peer offering 1.3 (Chromium)
    ** falls back to 1.2 through the legacy version field (RFC 9147 §5.3). */
    if (!SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) ||
        !SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION))
        return RTC_ERR_CRYPTO;
    /* NO_QUERY_MTU: there is no socket to ask; the session sets DTLS_set_link_mtu.
    ** NO_TICKET + cache off: every WebRTC session has fresh certificates, resumption
    ** would only be a way to skip the certificate (and thus fingerprint) exchange.
    ** NO_RENEGOTIATION: a renegotiation could swap the peer certificate after we
    ** verified it. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    /* NO_AUTO_CHAIN: a self-signed leaf needs no chain building at send time.
    ** SSL_MODE_RELEASE_BUFFERS (an idle session holds no 16 KiB record buffers) is set per
    ** session once the handshake is done: during the handshake it would free and
    ** reallocate the buffers around every flight (measured: ~10% of handshake CPU). */
    SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
    if (SSL_CTX_set1_groups_list(ctx, "X25519:P-256") != 1) return RTC_ERR_CRYPTO;
    if (SSL_CTX_set_cipher_list(ctx, DTLS_CIPHERS) != 1) return RTC_ERR_CRYPTO;
    /* Note the inverted convention: 0 means success (errata.md). */
    if (SSL_CTX_set_tlsext_use_srtp(ctx, RTC_DTLS_SRTP_DEFAULT_PROFILES) != 0)
        return RTC_ERR_CRYPTO;
    if (SSL_CTX_use_certificate(ctx, c->x509) != 1 || SSL_CTX_use_PrivateKey(ctx, c->pkey) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1)
        return RTC_ERR_CRYPTO;
    /* Both roles demand the peer's certificate (a server otherwise never asks for the
    ** client's, and the client's fingerprint would go unchecked). The check itself is
    ** dtls_cert_verify_cb: it replaces X509 chain validation, which has nothing to
    ** validate for a self-signed pinned certificate and would cost an extra signature
    ** verification per handshake; the CertificateVerify / ServerKeyExchange signatures
    ** still prove possession of the key. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_cert_verify_callback(ctx, dtls_cert_verify_cb, NULL);
    c->bio_method = dtls_bio_method_new();
    if (!c->bio_method) return RTC_ERR_NOMEM;
    return RTC_OK;
}

static void cert_destroy(rtc_dtls_cert *c) {
    if (!c) return;
    SSL_CTX_free(c->ctx);
    BIO_meth_free(c->bio_method);
    X509_free(c->x509);
    EVP_PKEY_free(c->pkey);
    rtc_env env = c->env;
    rtc_free(&env, c, sizeof *c);
}

static rtc_dtls_cert *cert_alloc(const rtc_env *env) {
    rtc_env e;
    rtc_env_copy(&e, env);
    rtc_dtls_cert *c = rtc_calloc(&e, sizeof *c);
    if (!c) return NULL;
    c->env = e;
    atomic_init(&c->refs, 1);
    return c;
}

static int make_x509(rtc_dtls_cert *c, const rtc_dtls_cert_config *cfg) {
    X509 *x = X509_new();
    if (!x) return RTC_ERR_NOMEM;
    c->x509 = x;
    if (X509_set_version(x, X509_VERSION_3) != 1) return RTC_ERR_CRYPTO;
    /* A positive 63-bit serial (RFC 5280 §4.1.2.2: positive, at most 20 octets). */
    uint64_t serial = rtc_random_u64(&c->env) >> 1;
    if (serial == 0) serial = 1;
    if (ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial) != 1) return RTC_ERR_CRYPTO;
    long days = cfg->validity_days ? (long)cfg->validity_days : 30;
    if (days > 3650) return RTC_ERR_INVALID;
    ASN1_TIME *nb, *na;
    if (cfg->now_unix) {
        time_t t = (time_t)cfg->now_unix;
        nb = X509_time_adj_ex(X509_getm_notBefore(x), -1, 0, &t);
        na = X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, &t);
    } else {
        nb = X509_gmtime_adj(X509_getm_notBefore(x), -86400L);
        na = X509_gmtime_adj(X509_getm_notAfter(x), days * 86400L);
    }
    if (!nb || !na) return RTC_ERR_CRYPTO;
    if (X509_set_pubkey(x, c->pkey) != 1) return RTC_ERR_CRYPTO;
    char cn[33];
    if (cfg->common_name) {
        size_t n = strlen(cfg->common_name);
        if (n == 0 || n > 64) return RTC_ERR_INVALID;
    } else {
        uint8_t r[8];
        rtc_random(&c->env, r, sizeof r);
        rtc_hex_encode(r, sizeof r, cn, sizeof cn);
    }
    const char *name_str = cfg->common_name ? cfg->common_name : cn;
    X509_NAME *name = X509_get_subject_name(x);
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)name_str, -1,
                                   -1, 0) != 1 ||
        X509_set_issuer_name(x, name) != 1)
        return RTC_ERR_CRYPTO;
    if (X509_sign(x, c->pkey, EVP_sha256()) <= 0) return RTC_ERR_CRYPTO;
    return RTC_OK;
}

int rtc_dtls_cert_new(rtc_dtls_cert **out, const rtc_dtls_cert_config *cfg, const rtc_env *env) {
    if (!out) return RTC_ERR_INVALID;
    *out = NULL;
    rtc_dtls_cert_config def = {0};
    if (!cfg) cfg = &def;
    if (cfg->key_type != RTC_DTLS_KEY_ECDSA_P256 && cfg->key_type != RTC_DTLS_KEY_RSA_2048)
        return RTC_ERR_INVALID;
    rtc_dtls_cert *c = cert_alloc(env);
    if (!c) return RTC_ERR_NOMEM;
    if (cfg->key_type == RTC_DTLS_KEY_ECDSA_P256)
        c->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    else
        c->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    int r = c->pkey ? make_x509(c, cfg) : RTC_ERR_CRYPTO;
    if (r == RTC_OK) r = make_ctx(c);
    if (r != RTC_OK) {
        dtls_log_ssl_errors(&c->env, "cert_new");
        cert_destroy(c);
        return r;
    }
    *out = c;
    return RTC_OK;
}

/* Never prompt on a terminal for a passphrase: encrypted keys are simply refused. */
static int no_password(char *buf, int size, int rwflag, void *u) { return 0; }

int rtc_dtls_cert_from_pem(rtc_dtls_cert **out, const char *cert_pem, size_t cert_len,
                           const char *key_pem, size_t key_len, const rtc_env *env) {
    if (!out || !cert_pem || !key_pem || cert_len > INT32_MAX || key_len > INT32_MAX)
        return RTC_ERR_INVALID;
    *out = NULL;
    rtc_dtls_cert *c = cert_alloc(env);
    if (!c) return RTC_ERR_NOMEM;
    int r = RTC_ERR_PARSE;
    BIO *b = BIO_new_mem_buf(cert_pem, (int)cert_len);
    if (b) {
        c->x509 = PEM_read_bio_X509(b, NULL, no_password, NULL);
        BIO_free(b);
    }
    b = BIO_new_mem_buf(key_pem, (int)key_len);
    if (b) {
        c->pkey = PEM_read_bio_PrivateKey(b, NULL, no_password, NULL);
        BIO_free(b);
    }
    if (c->x509 && c->pkey && X509_check_private_key(c->x509, c->pkey) == 1) r = make_ctx(c);
    if (r != RTC_OK) {
        dtls_log_ssl_errors(&c->env, "cert_from_pem");
        cert_destroy(c);
        return r;
    }
    *out = c;
    return RTC_OK;
}

static int bio_to_str(BIO *b, char *buf, size_t size) {
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    if (n <= 0 || !p) return RTC_ERR_CRYPTO;
    if ((size_t)n + 1 > size) return RTC_ERR_TOO_SMALL;
    memcpy(buf, p, (size_t)n);
    buf[n] = '\0';
    return RTC_OK;
}

int rtc_dtls_cert_to_pem(const rtc_dtls_cert *c, char *cert_buf, size_t cert_size, char *key_buf,
                         size_t key_size) {
    if (!c || !cert_buf) return RTC_ERR_INVALID;
    BIO *b = BIO_new(BIO_s_mem());
    if (!b) return RTC_ERR_NOMEM;
    int r =
        PEM_write_bio_X509(b, c->x509) == 1 ? bio_to_str(b, cert_buf, cert_size) : RTC_ERR_CRYPTO;
    BIO_free(b);
    if (r != RTC_OK || !key_buf) return r;
    b = BIO_new(BIO_s_mem());
    if (!b) return RTC_ERR_NOMEM;
    r = PEM_write_bio_PrivateKey(b, c->pkey, NULL, NULL, 0, NULL, NULL) == 1
            ? bio_to_str(b, key_buf, key_size)
            : RTC_ERR_CRYPTO;
    BIO_free(b);
    return r;
}

rtc_dtls_cert *rtc_dtls_cert_ref(rtc_dtls_cert *c) {
    if (c) atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    return c;
}

void rtc_dtls_cert_free(rtc_dtls_cert *c) {
    if (!c) return;
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1) cert_destroy(c);
}

int rtc_dtls_cert_fingerprint(const rtc_dtls_cert *c, rtc_dtls_hash hash, rtc_dtls_fingerprint *out,
                              char *buf, size_t size) {
    if (!c) return RTC_ERR_INVALID;
    rtc_dtls_fingerprint fp;
    int r = dtls_x509_fingerprint(c->x509, hash, &fp);
    if (r != RTC_OK) return r;
    return dtls_fingerprint_out(&fp, out, buf, size);
}
