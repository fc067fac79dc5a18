/*
** src/dtls/dtls_internal.h: pieces shared by the DTLS files (private).
**
** cert.c owns rtc_dtls_cert: key pair, X.509 certificate, the SSL_CTX configured for
** WebRTC and the BIO_METHOD of the datagram BIO (kept per certificate so that no global
** state exists). dtls.c owns the session. fingerprint.c holds the SDP-facing helpers.
*/
#ifndef RTC_DTLS_INTERNAL_H
#define RTC_DTLS_INTERNAL_H

#include <stdatomic.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "cwebrtc/dtls.h"
#include "util/util.h"

struct rtc_dtls_cert {
    rtc_env env;
    atomic_int refs;
    EVP_PKEY *pkey;
    X509 *x509;
    SSL_CTX *ctx;
    BIO_METHOD *bio_method; /* the datagram BIO; see dtls.c */
};

/* The EVP_MD for a hash, or NULL. */
RTC_INTERNAL const EVP_MD *dtls_hash_md(rtc_dtls_hash hash);
/* Digest length of a hash, 0 if unknown. */
RTC_INTERNAL size_t dtls_hash_len(rtc_dtls_hash hash);
/* Fingerprint of any X509 with hash; RTC_OK / RTC_ERR_INVALID / RTC_ERR_CRYPTO. */
RTC_INTERNAL int dtls_x509_fingerprint(X509 *x, rtc_dtls_hash hash, rtc_dtls_fingerprint *fp);
/* Fill out and/or buf from fp (shared by cert and peer fingerprint functions). */
RTC_INTERNAL int dtls_fingerprint_out(const rtc_dtls_fingerprint *fp, rtc_dtls_fingerprint *out,
                                      char *buf, size_t size);
/* Called by the SSL_CTX's certificate verification hook (dtls.c). */
RTC_INTERNAL int dtls_cert_verify_cb(X509_STORE_CTX *store, void *arg);
/* The datagram BIO method (dtls.c); NULL on failure. */
RTC_INTERNAL BIO_METHOD *dtls_bio_method_new(void);
/* Log and clear OpenSSL's error queue. */
RTC_INTERNAL void dtls_log_ssl_errors(const rtc_env *env, const char *what);

#endif
