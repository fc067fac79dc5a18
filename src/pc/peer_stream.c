/*
** src/pc/peer_stream.c: the TCP/TLS leg to a TURN server for rtc_peer (see peer_stream.h).
**
** TLS runs OpenSSL directly on the non-blocking fd (SSL_set_fd): SSL_connect/SSL_read/
** SSL_write are retried on WANT_READ/WANT_WRITE from the loop's readiness callbacks. The
** server certificate is verified by default (system CAs, or cfg->ca_file) against the URL's
** host: a name with SSL_set1_host + SNI, an IP literal with X509_VERIFY_PARAM_set1_ip_asc.
*/
#include "pc/peer_stream.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cwebrtc/net.h"
#include "util/util.h"

#define LOG_MODULE "peer"
#define STREAM_QUEUE_DEFAULT (256 * 1024)
#define TLS_CHUNK 16384
#define STREAM_BATCH (64 * 1024) /* queued bytes that trigger a write before the flush */

enum { ST_CONNECTING, ST_HANDSHAKE, ST_OPEN, ST_DEAD };

struct peer_stream {
    rtc_env env;
    rtc_loop *loop;
    uint32_t id;
    int fd;
    bool watched;
    int state;
    unsigned interest;
    bool tls_want_write; /* the last TLS call wants the fd writable */
    SSL_CTX *ctx;
    SSL *ssl;
    uint8_t *q; /* queued plaintext: q[head .. head+len) */
    size_t head, len, cap;
    char err[160];
    uint64_t dropped, written; /* messages refused (queue full) / queued */
    peer_stream_cb cb;
    void *ud;
};

/* what: the failed step ("TCP connect"); why: the reason */
static void set_dead(peer_stream *s, const char *what, const char *why) {
    if (s->state == ST_DEAD) return;
    s->state = ST_DEAD;
    snprintf(s->err, sizeof s->err, "%s: %s", what, why);
    RTC_LOGW(&s->env, "TURN stream %u: %s", s->id, s->err);
}

static void update_interest(peer_stream *s) {
    unsigned want = 0;
    switch (s->state) {
    case ST_CONNECTING: want = RTC_LOOP_WRITE; break;
    case ST_HANDSHAKE: want = RTC_LOOP_READ | (s->tls_want_write ? RTC_LOOP_WRITE : 0); break;
    case ST_OPEN: want = RTC_LOOP_READ | (s->len || s->tls_want_write ? RTC_LOOP_WRITE : 0); break;
    default: want = 0; break;
    }
    if (s->watched && want != s->interest && rtc_loop_watch_modify(s->loop, s->fd, want) == RTC_OK)
        s->interest = want;
}

/* The reason a TLS call failed, for the log and peer_stream_error. */
static void tls_fail(peer_stream *s, const char *what) {
    long v = s->ssl ? SSL_get_verify_result(s->ssl) : X509_V_OK;
    char buf[120];
    if (v != X509_V_OK) {
        snprintf(buf, sizeof buf, "certificate verify failed: %s", X509_verify_cert_error_string(v));
    } else {
        unsigned long e = ERR_peek_last_error();
        if (e)
            ERR_error_string_n(e, buf, sizeof buf);
        else
            snprintf(buf, sizeof buf, "connection closed (%s)", errno ? strerror(errno) : "EOF");
    }
    ERR_clear_error();
    set_dead(s, what, buf);
}

static int tls_start(peer_stream *s, const peer_stream_config *cfg) {
    s->ctx = SSL_CTX_new(TLS_client_method());
    if (!s->ctx) return RTC_ERR_NOMEM;
    SSL_CTX_set_min_proto_version(s->ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(s->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (!cfg->no_verify) {
        int ok = cfg->ca_file ? SSL_CTX_load_verify_locations(s->ctx, cfg->ca_file, NULL)
                              : SSL_CTX_set_default_verify_paths(s->ctx);
        if (ok != 1) {
            RTC_LOGW(&s->env, "TURN stream %u: cannot load CA file %s", cfg->id,
                     cfg->ca_file ? cfg->ca_file : "(system)");
            ERR_clear_error();
            return RTC_ERR_CRYPTO;
        }
        SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER, NULL);
    }
    s->ssl = SSL_new(s->ctx);
    if (!s->ssl || SSL_set_fd(s->ssl, s->fd) != 1) return RTC_ERR_NOMEM;
    if (cfg->name && cfg->name[0]) {
        rtc_addr ip;
        bool literal = rtc_addr_parse_ip(&ip, cfg->name, 0) == RTC_OK;
        if (!cfg->no_verify) {
            int ok = literal ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s->ssl), cfg->name)
                             : SSL_set1_host(s->ssl, cfg->name);
            if (ok != 1) return RTC_ERR_INVALID;
        }
        if (!literal) SSL_set_tlsext_host_name(s->ssl, cfg->name); /* SNI: names only */
    }
    SSL_set_connect_state(s->ssl);
    return RTC_OK;
}

static void flush(peer_stream *s) {
    while (s->state == ST_OPEN && s->len) {
        if (s->ssl) {
            size_t n = s->len < TLS_CHUNK ? s->len : TLS_CHUNK;
            ERR_clear_error();
            int r = SSL_write(s->ssl, s->q + s->head, (int)n);
            if (r <= 0) {
                int e = SSL_get_error(s->ssl, r);
                s->tls_want_write = e == SSL_ERROR_WANT_WRITE;
                if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) break;
                tls_fail(s, "TLS write");
                break;
            }
            s->tls_want_write = false;
            s->head += (size_t)r;
            s->len -= (size_t)r;
        } else {
            int r = rtc_tcp_send(s->fd, s->q + s->head, s->len);
            if (r == RTC_ERR_AGAIN) break;
            if (r < 0) {
                set_dead(s, "TCP write", r == RTC_ERR_CLOSED ? "connection reset" : strerror(errno));
                break;
            }
            s->head += (size_t)r;
            s->len -= (size_t)r;
        }
    }
    if (!s->len) s->head = 0;
}

static void handshake(peer_stream *s) {
    ERR_clear_error();
    int r = SSL_connect(s->ssl);
    if (r == 1) {
        s->state = ST_OPEN;
        s->tls_want_write = false;
        RTC_LOGI(&s->env, "TURN stream %u: TLS up (%s, %s)", s->id, SSL_get_version(s->ssl),
                 SSL_get_cipher_name(s->ssl));
        return;
    }
    int e = SSL_get_error(s->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        s->tls_want_write = e == SSL_ERROR_WANT_WRITE;
        return;
    }
    tls_fail(s, "TLS handshake");
}

static void on_fd(rtc_loop *l, int fd, unsigned events, void *ud) {
    (void)l;
    (void)fd;
    peer_stream *s = ud;
    if (s->state == ST_CONNECTING) {
        int r = rtc_tcp_connect_finish(s->fd);
        if (r == RTC_OK) {
            s->state = s->ssl ? ST_HANDSHAKE : ST_OPEN;
        } else if (r != RTC_ERR_AGAIN) {
            set_dead(s, "TCP connect", strerror(errno));
        } else if (events & RTC_LOOP_ERROR) {
            set_dead(s, "TCP connect", "socket error");
        }
    }
    if (s->state == ST_HANDSHAKE) handshake(s);
    if (s->state == ST_OPEN) flush(s);
    update_interest(s);
    s->cb(s, s->ud); /* last: it may free s */
}

int peer_stream_new(peer_stream **out, rtc_loop *loop, const peer_stream_config *cfg,
                    const rtc_env *env, peer_stream_cb cb, void *ud) {
    if (!out || !loop || !cfg || !cb) return RTC_ERR_INVALID;
    *out = NULL;
    rtc_env e;
    rtc_env_copy(&e, env);
    peer_stream *s = rtc_calloc(&e, sizeof *s);
    if (!s) return RTC_ERR_NOMEM;
    s->env = e;
    s->loop = loop;
    s->id = cfg->id;
    s->fd = -1;
    s->cb = cb;
    s->ud = ud;
    s->cap = cfg->max_queued ? cfg->max_queued : STREAM_QUEUE_DEFAULT;
    int rc = RTC_ERR_NOMEM;
    s->q = rtc_calloc(&s->env, s->cap);
    if (!s->q) goto fail;
    rc = rtc_tcp_connect(&s->fd, &cfg->server, NULL);
    if (rc != RTC_OK && rc != RTC_ERR_AGAIN) {
        char a[RTC_ADDR_STRLEN];
        rtc_addr_fmt(&cfg->server, a, sizeof a);
        RTC_LOGW(&s->env, "TURN stream %u: connect to %s: %s", cfg->id, a, strerror(errno));
        goto fail;
    }
    s->state = rc == RTC_OK ? ST_OPEN : ST_CONNECTING;
    if (cfg->tls) {
        rc = tls_start(s, cfg);
        if (rc < 0) goto fail;
        if (s->state == ST_OPEN) s->state = ST_HANDSHAKE;
    }
    s->interest = RTC_LOOP_READ | RTC_LOOP_WRITE;
    rc = rtc_loop_watch(loop, s->fd, s->interest, on_fd, s);
    if (rc < 0) goto fail;
    s->watched = true;
    *out = s;
    return RTC_OK;
fail:
    peer_stream_free(s);
    return rc;
}

void peer_stream_free(peer_stream *s) {
    if (!s) return;
    if (s->dropped)
        RTC_LOGI(&s->env, "TURN stream %u: %llu of %llu messages dropped (write queue full)", s->id,
                 (unsigned long long)s->dropped, (unsigned long long)(s->dropped + s->written));
    if (s->watched) rtc_loop_unwatch(s->loop, s->fd);
    if (s->ssl) {
        if (s->state == ST_OPEN) SSL_shutdown(s->ssl); /* best effort close_notify */
        SSL_free(s->ssl);
    }
    SSL_CTX_free(s->ctx);
    ERR_clear_error();
    rtc_net_close(s->fd);
    if (s->q) rtc_free(&s->env, s->q, s->cap);
    rtc_env e = s->env;
    rtc_free(&e, s, sizeof *s);
}

int peer_stream_read(peer_stream *s, uint8_t *buf, size_t cap) {
    if (!s || !buf || !cap) return RTC_ERR_INVALID;
    if (s->state == ST_DEAD) return RTC_ERR_CLOSED;
    if (s->state != ST_OPEN) return 0;
    if (s->ssl) {
        ERR_clear_error();
        int r = SSL_read(s->ssl, buf, (int)(cap > 65536 ? 65536 : cap));
        if (r > 0) return r;
        int e = SSL_get_error(s->ssl, r);
        if (e == SSL_ERROR_WANT_READ) return 0;
        if (e == SSL_ERROR_WANT_WRITE) {
            s->tls_want_write = true;
            update_interest(s);
            return 0;
        }
        if (e == SSL_ERROR_ZERO_RETURN) set_dead(s, "TLS read", "closed by the server (close_notify)");
        else tls_fail(s, "TLS read");
        return RTC_ERR_CLOSED;
    }
    int r = rtc_tcp_recv(s->fd, buf, cap);
    if (r > 0) return r;
    if (r == RTC_ERR_AGAIN) return 0;
    set_dead(s, "TCP read", r == RTC_ERR_CLOSED ? "closed by the server" : strerror(errno));
    return RTC_ERR_CLOSED;
}

int peer_stream_write(peer_stream *s, const uint8_t *data, size_t len) {
    if (!s || (!data && len)) return RTC_ERR_INVALID;
    if (s->state == ST_DEAD) return RTC_ERR_CLOSED;
    if (len > s->cap - s->len) {
        s->dropped++;
        return RTC_ERR_AGAIN;
    }
    s->written++;
    if (s->head + s->len + len > s->cap) {
        memmove(s->q, s->q + s->head, s->len);
        s->head = 0;
    }
    memcpy(s->q + s->head + s->len, data, len);
    s->len += len;
    if (s->len >= STREAM_BATCH) peer_stream_flush(s); /* else at the caller's flush */
    return s->state == ST_DEAD ? RTC_ERR_CLOSED : RTC_OK;
}

void peer_stream_flush(peer_stream *s) {
    if (!s) return;
    flush(s);
    update_interest(s);
}

bool peer_stream_dead(const peer_stream *s) { return !s || s->state == ST_DEAD; }
const char *peer_stream_error(const peer_stream *s) { return s ? s->err : ""; }
uint32_t peer_stream_id(const peer_stream *s) { return s ? s->id : 0; }
