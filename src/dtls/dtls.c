/*
** The DTLS 1.2 session: OpenSSL behind the sans-IO shape (RFC 6347, 5764, 8842).
**
** Datagram BIO. BIO_s_mem would merge a flight's records into one byte blob and lose the
** datagram boundaries DTLS depends on (and BIO_s_dgram_mem only arrived in OpenSSL 3.2),
** so the session installs its own BIO: every BIO write is one datagram appended to the
** output queue, every BIO read hands OpenSSL the one datagram rtc_dtls_handle_packet is
** processing (borrowed, no copy), or "retry" when there is none. MTU controls answer with
** the configured MTU and the SSL has SSL_OP_NO_QUERY_MTU + DTLS_set_link_mtu, otherwise
** OpenSSL falls back to a tiny MTU after two timeouts.
**
** Flights (RFC 6347 §4.2.4, no HelloVerifyRequest: ICE already proved the peer can
** receive at its address, and browsers do not use cookies either):
**
**      Client                                          Server
**      ClientHello                  -------->                                 Flight 1
**                                                      ServerHello
**                                                      Certificate*
**                                                      ServerKeyExchange
**                                                      CertificateRequest*
**                                   <--------          ServerHelloDone        Flight 4
**      Certificate*  ClientKeyExchange  CertificateVerify*
**      [ChangeCipherSpec] Finished  -------->                                 Flight 5
**                                                      [ChangeCipherSpec]
**                                   <--------          Finished               Flight 6
**
** Verification: the certificate hook (dtls_cert_verify_cb) compares the peer certificate
** with the expected fingerprints as soon as it arrives, so a mismatch aborts the
** handshake with a bad_certificate alert that fails the peer too. If the fingerprints are
** not known yet (the answer is late), the handshake completes, the session enters
** AWAIT_FINGERPRINT and holds every later datagram unread (bounded) until
** rtc_dtls_set_remote_fingerprints() decides. Nothing is surfaced before that.
**
** Timer: DTLS_set_timer_cb sets the initial interval (default 400 ms, shorter than RFC
** 6347's 1 s, which it allows, for fast setup on low-RTT paths) and doubles it up to a cap.
** OpenSSL keeps the deadline on its own wall clock; see the header.
*/
#include <string.h>

#include <openssl/err.h>
#include <openssl/srtp.h>

#include "dtls/dtls_internal.h"

#define LOG_MODULE "dtls"

/* Bounds on what a peer (or a caller that does not drain) can make us hold. */
#define OUTQ_MAX       64 /* datagrams waiting for poll_transmit */
#define OUTQ_MAX_BYTES (128 * 1024)
#define INQ_MAX        32 /* datagrams held while the fingerprint is unknown */
#define INQ_MAX_BYTES  (64 * 1024)
#define EVQ_MAX        64 /* events; the last EVQ_RESERVED only for state events */
#define EVQ_RESERVED   8
#define EVQ_MAX_BYTES  (256 * 1024)
/* Largest datagram accepted: one maximal record (2^14 + 2048 ciphertext, RFC 6347 §4.1
** via RFC 5246 §6.2.3) plus its header; nothing legitimate is larger. */
#define MAX_DATAGRAM_IN (16384 + 2048 + 13)
#define READ_LOOP_MAX   256 /* SSL_read calls per input, a safety net */

#define DEFAULT_INITIAL_RTO RTC_MS(400)
#define DEFAULT_MAX_RTO     RTC_SEC(8)
#define DEFAULT_MTU         1200
/* A connected session gives its record buffers (~32 KiB: OpenSSL's 16 KiB read and write
** buffers) back when it has not read or written for this long (see release_idle). */
#define IDLE_RELEASE RTC_MS(500)

typedef struct dgram {
    uint8_t *data;
    size_t len;
} dgram;

/* Rings grow on demand (from 4 entries up to their bound) and are given back with the
** record buffers when a connected session goes idle (release_idle): an idle session holds
** none of them. */
typedef struct dgram_queue {
    dgram *items;
    size_t cap, head, count, bytes, max, max_bytes;
} dgram_queue;

typedef struct evq_item {
    rtc_dtls_event ev;
    uint8_t *data; /* owned copy for DATA */
} evq_item;

struct rtc_dtls {
    rtc_env env;
    rtc_dtls_cert *cert;
    SSL *ssl;
    rtc_dtls_role role;
    rtc_dtls_state state;
    unsigned initial_rto_us, max_rto_us;
    uint16_t mtu;
    rtc_dtls_fingerprint fps[RTC_DTLS_MAX_REMOTE_FINGERPRINTS];
    size_t n_fps;

    /* The datagram the BIO hands to OpenSSL during one handle_packet (borrowed). */
    const uint8_t *in_ptr;
    size_t in_len;

    dgram_queue outq;
    uint8_t *out_held; /* the datagram last returned by poll_transmit */
    size_t out_held_len;
    dgram_queue inq;

    evq_item *evq; /* ring of ev_cap entries, grown up to EVQ_MAX (see dgram_queue) */
    size_t ev_cap, ev_head, ev_count, ev_bytes;
    uint8_t *ev_held;
    size_t ev_held_len;

    rtc_time next_timeout;
    rtc_time last_io;   /* connected: last call that needed the record buffers */
    bool bufs_touched;  /* ensure_buffers ran since the last entry point finished */
    bool bufs_held;     /* connected and the record buffers may be allocated */
    bool mismatch;       /* set by the certificate hook */
    bool close_notify;   /* peer's close_notify seen by the info callback */
    uint8_t fatal_alert; /* received fatal alert description + 1, 0 = none */
    uint16_t srtp_profile;
    rtc_dtls_stats stats;
};

/* ---- queues ---------------------------------------------------------------------- */

static void dq_init(dgram_queue *q, size_t max, size_t max_bytes) {
    q->items = NULL;
    q->cap = q->head = q->count = q->bytes = 0;
    q->max = max;
    q->max_bytes = max_bytes;
}

/* Grow ring *items (cap entries of size elem, `count` of them from `head`) to hold one more,
** at most max entries; the contents move to the front. false when out of memory. */
static bool ring_grow(const rtc_env *env, void **items, size_t *cap, size_t *head, size_t count,
                      size_t elem, size_t max) {
    if (count < *cap) return true;
    size_t ncap = *cap ? *cap * 2 : 4;
    if (ncap > max) ncap = max;
    if (ncap <= count) return false;
    uint8_t *n = rtc_calloc(env, ncap * elem);
    if (!n) return false;
    for (size_t i = 0; i < count; i++)
        memcpy(n + i * elem, (uint8_t *)*items + ((*head + i) % *cap) * elem, elem);
    rtc_free(env, *items, *cap * elem);
    *items = n;
    *cap = ncap;
    *head = 0;
    return true;
}

/* Give an empty ring back. */
static void ring_release(const rtc_env *env, void **items, size_t *cap, size_t *head,
                         size_t count, size_t elem) {
    if (count || !*items) return;
    rtc_free(env, *items, *cap * elem);
    *items = NULL;
    *cap = *head = 0;
}

static int dq_push(const rtc_env *env, dgram_queue *q, const uint8_t *p, size_t n) {
    if (q->count >= q->max || q->bytes + n > q->max_bytes) return RTC_ERR_NOMEM;
    void *items = q->items;
    bool grown = ring_grow(env, &items, &q->cap, &q->head, q->count, sizeof(dgram), q->max);
    q->items = items;
    if (!grown) return RTC_ERR_NOMEM;
    uint8_t *c = rtc_realloc(env, NULL, 0, n);
    if (!c) return RTC_ERR_NOMEM;
    memcpy(c, p, n);
    dgram *g = &q->items[(q->head + q->count) % q->cap];
    g->data = c;
    g->len = n;
    q->count++;
    q->bytes += n;
    return RTC_OK;
}

/* Pops the front datagram; the caller owns g->data. */
static bool dq_pop(dgram_queue *q, dgram *g) {
    if (q->count == 0) return false;
    *g = q->items[q->head];
    q->head = (q->head + 1) % q->cap;
    q->count--;
    q->bytes -= g->len;
    return true;
}

static void dq_release(const rtc_env *env, dgram_queue *q) {
    void *items = q->items;
    ring_release(env, &items, &q->cap, &q->head, q->count, sizeof(dgram));
    q->items = items;
}

static void dq_clear(const rtc_env *env, dgram_queue *q) {
    dgram g;
    while (dq_pop(q, &g))
        rtc_free(env, g.data, g.len);
    dq_release(env, q);
}

static void ev_push(rtc_dtls *d, const rtc_dtls_event *ev, const uint8_t *data, size_t len) {
    bool state_event = ev->kind != RTC_DTLS_EVENT_DATA && ev->kind != RTC_DTLS_EVENT_ALERT;
    size_t limit = state_event ? EVQ_MAX : EVQ_MAX - EVQ_RESERVED;
    if (d->ev_count >= limit || (data && d->ev_bytes + len > EVQ_MAX_BYTES)) {
        d->stats.dropped_events++;
        return;
    }
    void *items = d->evq;
    bool grown = ring_grow(&d->env, &items, &d->ev_cap, &d->ev_head, d->ev_count,
                           sizeof(evq_item), EVQ_MAX);
    d->evq = items;
    if (!grown) {
        d->stats.dropped_events++;
        return;
    }
    evq_item *it = &d->evq[(d->ev_head + d->ev_count) % d->ev_cap];
    it->ev = *ev;
    it->data = NULL;
    if (data) {
        it->data = rtc_realloc(&d->env, NULL, 0, len);
        if (!it->data) {
            d->stats.dropped_events++;
            return;
        }
        memcpy(it->data, data, len);
        it->ev.data = it->data;
        it->ev.len = len;
        d->ev_bytes += len;
    }
    d->ev_count++;
}

static void ev_simple(rtc_dtls *d, rtc_dtls_event_kind kind, int err) {
    rtc_dtls_event ev = {.kind = kind, .err = err};
    ev_push(d, &ev, NULL, 0);
}

/* ---- the datagram BIO -------------------------------------------------------------- */

static int bio_write(BIO *b, const char *data, int len) {
    rtc_dtls *d = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (!d || len <= 0) return 0;
    /* A full queue means the caller is not draining; dropping the datagram is what the
    ** network would do, and DTLS retransmission copes with it. */
    if (dq_push(&d->env, &d->outq, (const uint8_t *)data, (size_t)len) != RTC_OK)
        d->stats.dropped_out++;
    else
        d->stats.datagrams_out++;
    return len;
}

static int bio_read(BIO *b, char *buf, int len) {
    rtc_dtls *d = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (!d || !d->in_ptr || len <= 0) {
        BIO_set_retry_read(b);
        return -1;
    }
    size_t n = RTC_MIN((size_t)len, d->in_len);
    memcpy(buf, d->in_ptr, n);
    d->in_ptr = NULL;
    d->in_len = 0;
    return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
    rtc_dtls *d = BIO_get_data(b);
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU: return d ? d->mtu : DEFAULT_MTU;
    case BIO_CTRL_DGRAM_SET_MTU: return num;
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD: return 0; /* our MTU is the UDP payload size */
    case BIO_CTRL_DGRAM_MTU_EXCEEDED: return 0;
    case BIO_CTRL_PENDING: return (d && d->in_ptr) ? (long)d->in_len : 0;
    case BIO_CTRL_WPENDING: return 0;
    default: return 0;
    }
}

static int bio_create(BIO *b) {
    BIO_set_init(b, 1);
    return 1;
}

static int bio_destroy(BIO *b) { return 1; }

BIO_METHOD *dtls_bio_method_new(void) {
    /* A fixed type index instead of BIO_get_new_index(), which draws from a small
    ** process-wide pool: nothing looks this BIO up by type. */
    BIO_METHOD *m = BIO_meth_new(BIO_TYPE_SOURCE_SINK | 0xF0, "cwebrtc datagram");
    if (!m) return NULL;
    if (!BIO_meth_set_write(m, bio_write) || !BIO_meth_set_read(m, bio_read) ||
        !BIO_meth_set_ctrl(m, bio_ctrl) || !BIO_meth_set_create(m, bio_create) ||
        !BIO_meth_set_destroy(m, bio_destroy)) {
        BIO_meth_free(m);
        return NULL;
    }
    return m;
}

/* ---- OpenSSL callbacks --------------------------------------------------------------- */

static unsigned int timer_cb(SSL *s, unsigned int prev_us) {
    rtc_dtls *d = SSL_get_app_data(s);
    if (!d) return 1000000;
    if (prev_us == 0) return d->initial_rto_us;
    /* RFC 6347 §4.2.4.1: double on each expiry, up to a cap. */
    d->stats.retransmit_timeouts++;
    uint64_t next = (uint64_t)prev_us * 2;
    return (unsigned)RTC_MIN(next, (uint64_t)d->max_rto_us);
}

static void info_cb(const SSL *s, int where, int ret) {
    /* SSL_CB_READ_ALERT shares the SSL_CB_ALERT bit with SSL_CB_WRITE_ALERT: test both
    ** bits, or our own outgoing alerts would be reported as the peer's. */
    if (!(where & SSL_CB_ALERT) || !(where & SSL_CB_READ)) return;
    rtc_dtls *d = SSL_get_app_data(s);
    if (!d) return;
    uint8_t level = (uint8_t)((ret >> 8) & 0xff), desc = (uint8_t)(ret & 0xff);
    if (desc == SSL3_AD_CLOSE_NOTIFY) {
        d->close_notify = true; /* surfaces as CLOSED through SSL_ERROR_ZERO_RETURN */
        return;
    }
    if (level == SSL3_AL_FATAL) d->fatal_alert = (uint8_t)(desc + 1);
    rtc_dtls_event ev = {.kind = RTC_DTLS_EVENT_ALERT, .alert_level = level, .alert_desc = desc};
    ev_push(d, &ev, NULL, 0);
}

/* Does x match any expected fingerprint? Entries with unknown hashes never match. */
static bool fingerprint_matches(const rtc_dtls *d, X509 *x) {
    bool ok = false;
    for (size_t i = 0; i < d->n_fps; i++) {
        rtc_dtls_fingerprint got;
        if (dtls_x509_fingerprint(x, d->fps[i].hash, &got) != RTC_OK) continue;
        if (got.len == d->fps[i].len && rtc_ct_equal(got.value, d->fps[i].value, got.len))
            ok = true;
    }
    return ok;
}

int dtls_cert_verify_cb(X509_STORE_CTX *store, void *arg) {
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    rtc_dtls *d = ssl ? SSL_get_app_data(ssl) : NULL;
    X509 *leaf = X509_STORE_CTX_get0_cert(store);
    if (!d || !leaf) {
        X509_STORE_CTX_set_error(store, X509_V_ERR_UNSPECIFIED);
        return 0;
    }
    /* Unknown fingerprints: accept for now, rtc_dtls_set_remote_fingerprints decides
    ** before anything is surfaced. Known: decide now, so the peer learns of a mismatch
    ** through a bad_certificate alert and fails as well. */
    if (d->n_fps == 0 || fingerprint_matches(d, leaf)) return 1;
    d->mismatch = true;
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    return 0;
}

/* ---- state machine ----------------------------------------------------------------- */

static void update_timeout(rtc_dtls *d, rtc_time now) {
    struct timeval tv;
    if (d->state == RTC_DTLS_STATE_CONNECTED) {
        /* The only connected timer: give idle record buffers back (release_idle). */
        if (d->bufs_touched) {
            d->bufs_touched = false;
            d->bufs_held = true;
            d->last_io = now;
        }
        d->next_timeout = d->bufs_held ? d->last_io + IDLE_RELEASE : RTC_TIME_NEVER;
        return;
    }
    if (d->state != RTC_DTLS_STATE_HANDSHAKING || DTLSv1_get_timeout(d->ssl, &tv) != 1) {
        d->next_timeout = RTC_TIME_NEVER;
        return;
    }
    d->next_timeout = now + (rtc_time)tv.tv_sec * 1000000 + tv.tv_usec;
}

static void fail(rtc_dtls *d, int err) {
    if (d->state == RTC_DTLS_STATE_FAILED) return;
    dtls_log_ssl_errors(&d->env, "dtls failure");
    RTC_LOGD(&d->env, "session failed: %s", rtc_strerror(err));
    if (d->mismatch) ev_simple(d, RTC_DTLS_EVENT_FINGERPRINT_MISMATCH, RTC_ERR_AUTH);
    d->state = RTC_DTLS_STATE_FAILED;
    dq_clear(&d->env, &d->inq);
    ev_simple(d, RTC_DTLS_EVENT_FAILED, err);
}

/* After the handshake the record buffers are given back (SSL_free_buffers in
** handshake_done). OpenSSL 3.0's DTLS write path never re-creates a freed write buffer
** (it crashes in SSL_write; only the TLS path does), so every post-handshake call that may
** write -- SSL_read can retransmit a final flight or send an alert, SSL_write,
** SSL_shutdown -- first makes sure the buffers exist. A no-op when they do.
** An idle connected session gives them back again: every entry point ends in
** update_timeout, which notes the time of the last call that used them, and
** handle_timeout frees them IDLE_RELEASE after that (release_idle). Memory per connected
** idle session: -32 KiB (issue 6); the cost is two allocations when traffic resumes. */
static void ensure_buffers(rtc_dtls *d) {
    (void)SSL_alloc_buffers(d->ssl);
    d->bufs_touched = true;
}

static void release_idle(rtc_dtls *d, rtc_time now) {
    if (d->state != RTC_DTLS_STATE_CONNECTED || !d->bufs_held || d->bufs_touched ||
        now < d->last_io + IDLE_RELEASE)
        return;
    if (SSL_free_buffers(d->ssl) == 1) /* refused while a record is pending: try later */
        d->bufs_held = false;
    else
        d->last_io = now;
    /* and our own rings, when empty */
    dq_release(&d->env, &d->outq);
    dq_release(&d->env, &d->inq);
    void *items = d->evq;
    ring_release(&d->env, &items, &d->ev_cap, &d->ev_head, d->ev_count, sizeof(evq_item));
    d->evq = items;
}

static void send_close_notify(rtc_dtls *d) {
    ensure_buffers(d);
    ERR_clear_error();
    (void)SSL_shutdown(d->ssl);
    ERR_clear_error();
}

/* Why did OpenSSL give up? */
static int failure_reason(rtc_dtls *d) {
    if (d->mismatch) return RTC_ERR_AUTH;
    if (d->fatal_alert) {
        switch (d->fatal_alert - 1) {
        case SSL3_AD_BAD_CERTIFICATE:
        case SSL3_AD_UNSUPPORTED_CERTIFICATE:
        case SSL3_AD_CERTIFICATE_UNKNOWN:
        case SSL3_AD_CERTIFICATE_REVOKED:
        case SSL3_AD_CERTIFICATE_EXPIRED:
        case TLS1_AD_DECRYPT_ERROR:
        case TLS1_AD_ACCESS_DENIED: return RTC_ERR_AUTH;
        default: return RTC_ERR_CLOSED;
        }
    }
    return RTC_ERR_CRYPTO;
}

static void read_loop(rtc_dtls *d);

/* The peer certificate is known and so are the fingerprints: decide. */
static void verify_and_connect(rtc_dtls *d) {
    X509 *peer = SSL_get0_peer_certificate(d->ssl);
    if (!peer || !fingerprint_matches(d, peer)) {
        d->mismatch = true;
        fail(d, RTC_ERR_AUTH);
        /* No public API sends an arbitrary alert; close_notify at least tells the peer
        ** the session is over. */
        send_close_notify(d);
        return;
    }
    d->state = RTC_DTLS_STATE_CONNECTED;
    rtc_dtls_event ev = {.kind = RTC_DTLS_EVENT_CONNECTED, .srtp_profile = d->srtp_profile};
    ev_push(d, &ev, NULL, 0);
    RTC_LOGD(&d->env, "connected: %s, srtp profile 0x%04x", SSL_get_cipher_name(d->ssl),
             d->srtp_profile);
    /* Records OpenSSL already buffered (e.g. application data in the datagram that
    ** carried Finished), then the datagrams held while waiting. */
    read_loop(d);
    dgram g;
    while (d->state == RTC_DTLS_STATE_CONNECTED && dq_pop(&d->inq, &g)) {
        d->in_ptr = g.data;
        d->in_len = g.len;
        read_loop(d);
        d->in_ptr = NULL;
        rtc_free(&d->env, g.data, g.len);
    }
    dq_clear(&d->env, &d->inq);
}

static void handshake_done(rtc_dtls *d) {
    if (SSL_version(d->ssl) != DTLS1_2_VERSION) { /* cannot happen: min = max = 1.2 */
        fail(d, RTC_ERR_UNSUPPORTED);
        return;
    }
    SSL_set_mode(d->ssl, SSL_MODE_RELEASE_BUFFERS); /* see make_ctx in cert.c */
    SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile(d->ssl);
    d->srtp_profile = p ? (uint16_t)p->id : 0;
    if (d->n_fps == 0)
        d->state = RTC_DTLS_STATE_AWAIT_FINGERPRINT;
    else
        verify_and_connect(d);
    /* Give back the record buffers now (refused while records are pending); from here
    ** on RELEASE_BUFFERS and release_idle keep an idle session small. */
    if (SSL_free_buffers(d->ssl) == 1) d->bufs_touched = d->bufs_held = false;
}

static void read_loop(rtc_dtls *d) {
    uint8_t buf[16384];
    ensure_buffers(d);
    for (int i = 0; i < READ_LOOP_MAX && d->state == RTC_DTLS_STATE_CONNECTED; i++) {
        ERR_clear_error();
        int r = SSL_read(d->ssl, buf, sizeof buf);
        if (r > 0) {
            rtc_dtls_event ev = {.kind = RTC_DTLS_EVENT_DATA};
            ev_push(d, &ev, buf, (size_t)r);
            continue;
        }
        int e = SSL_get_error(d->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) break;
        if (e == SSL_ERROR_ZERO_RETURN || d->close_notify) {
            /* RFC 5246 §7.2.1: answer close_notify with our own. */
            d->state = RTC_DTLS_STATE_CLOSED;
            send_close_notify(d);
            ev_simple(d, RTC_DTLS_EVENT_CLOSED, RTC_OK);
            break;
        }
        fail(d, failure_reason(d));
        break;
    }
    ERR_clear_error();
}

static void drive(rtc_dtls *d) {
    if (d->state == RTC_DTLS_STATE_HANDSHAKING) {
        ERR_clear_error();
        int r = SSL_do_handshake(d->ssl);
        if (r == 1) {
            handshake_done(d);
        } else {
            int e = SSL_get_error(d->ssl, r);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) fail(d, failure_reason(d));
            ERR_clear_error();
        }
        return; /* handshake_done read what followed Finished if it could connect */
    }
    if (d->state == RTC_DTLS_STATE_CONNECTED) read_loop(d);
}

/* ---- public API ------------------------------------------------------------------- */

int rtc_dtls_new(rtc_dtls **out, const rtc_dtls_config *cfg, const rtc_env *env) {
    if (!out) return RTC_ERR_INVALID;
    *out = NULL;
    if (!cfg || !cfg->cert ||
        (cfg->role != RTC_DTLS_ROLE_CLIENT && cfg->role != RTC_DTLS_ROLE_SERVER))
        return RTC_ERR_INVALID;
    if (cfg->n_remote_fingerprints > RTC_DTLS_MAX_REMOTE_FINGERPRINTS ||
        (cfg->n_remote_fingerprints && !cfg->remote_fingerprints))
        return RTC_ERR_INVALID;
    rtc_time init = cfg->initial_rto ? cfg->initial_rto : DEFAULT_INITIAL_RTO;
    rtc_time max = cfg->max_rto ? cfg->max_rto : DEFAULT_MAX_RTO;
    if (init < RTC_MS(1) || max < init || max > RTC_SEC(60)) return RTC_ERR_INVALID;
    uint16_t mtu = cfg->mtu ? cfg->mtu : DEFAULT_MTU;
    if (mtu < 256) return RTC_ERR_INVALID; /* below OpenSSL's minimum link MTU */

    rtc_env e;
    rtc_env_copy(&e, env);
    rtc_dtls *d = rtc_calloc(&e, sizeof *d);
    if (!d) return RTC_ERR_NOMEM;
    d->env = e;
    d->role = cfg->role;
    d->state = RTC_DTLS_STATE_NEW;
    d->initial_rto_us = (unsigned)init;
    d->max_rto_us = (unsigned)max;
    d->mtu = mtu;
    d->next_timeout = RTC_TIME_NEVER;
    dq_init(&d->outq, OUTQ_MAX, OUTQ_MAX_BYTES);
    dq_init(&d->inq, INQ_MAX, INQ_MAX_BYTES);
    for (size_t i = 0; i < cfg->n_remote_fingerprints; i++)
        d->fps[d->n_fps++] = cfg->remote_fingerprints[i];
    d->cert = rtc_dtls_cert_ref(cfg->cert);

    int r = RTC_ERR_CRYPTO;
    ERR_clear_error();
    d->ssl = SSL_new(d->cert->ctx);
    BIO *bio = d->ssl ? BIO_new(d->cert->bio_method) : NULL;
    if (bio) {
        BIO_set_data(bio, d);
        SSL_set_bio(d->ssl, bio, bio); /* the SSL owns the one reference */
        SSL_set_app_data(d->ssl, d);
        SSL_set_options(d->ssl, SSL_OP_NO_QUERY_MTU);
        DTLS_set_timer_cb(d->ssl, timer_cb);
        SSL_set_info_callback(d->ssl, info_cb);
        r = RTC_OK;
        if (!DTLS_set_link_mtu(d->ssl, mtu)) r = RTC_ERR_INVALID;
        if (r == RTC_OK && cfg->srtp_profiles &&
            SSL_set_tlsext_use_srtp(d->ssl, cfg->srtp_profiles) != 0) /* 0 = success */
            r = RTC_ERR_INVALID;
        if (d->role == RTC_DTLS_ROLE_CLIENT)
            SSL_set_connect_state(d->ssl);
        else
            SSL_set_accept_state(d->ssl);
    }
    if (r != RTC_OK) {
        dtls_log_ssl_errors(&d->env, "dtls_new");
        rtc_dtls_free(d);
        return r;
    }
    *out = d;
    return RTC_OK;
}

void rtc_dtls_free(rtc_dtls *d) {
    if (!d) return;
    SSL_free(d->ssl); /* frees the BIO */
    dq_clear(&d->env, &d->outq);
    dq_clear(&d->env, &d->inq);
    rtc_free(&d->env, d->out_held, d->out_held_len);
    rtc_free(&d->env, d->ev_held, d->ev_held_len);
    while (d->ev_count) {
        evq_item *it = &d->evq[d->ev_head];
        rtc_free(&d->env, it->data, it->ev.len);
        d->ev_head = (d->ev_head + 1) % d->ev_cap;
        d->ev_count--;
    }
    rtc_free(&d->env, d->evq, d->ev_cap * sizeof(evq_item));
    rtc_dtls_cert_free(d->cert);
    rtc_env env = d->env;
    rtc_free(&env, d, sizeof *d);
}

int rtc_dtls_start(rtc_dtls *d, rtc_time now) {
    if (!d) return RTC_ERR_INVALID;
    if (d->state != RTC_DTLS_STATE_NEW) return RTC_ERR_MISUSE;
    d->state = RTC_DTLS_STATE_HANDSHAKING;
    if (d->role == RTC_DTLS_ROLE_CLIENT) drive(d); /* queues the ClientHello */
    update_timeout(d, now);
    return d->state == RTC_DTLS_STATE_FAILED ? RTC_ERR_CRYPTO : RTC_OK;
}

int rtc_dtls_handle_packet(rtc_dtls *d, rtc_time now, const uint8_t *buf, size_t len) {
    if (!d || (!buf && len)) return RTC_ERR_INVALID;
    /* RFC 7983 §7: DTLS content types occupy first bytes 20..63. A record header is 13
    ** bytes (RFC 6347 §4.1). */
    if (len < 13 || len > MAX_DATAGRAM_IN || buf[0] < 20 || buf[0] > 63) {
        d->stats.dropped_in++;
        return RTC_ERR_PARSE;
    }
    switch (d->state) {
    case RTC_DTLS_STATE_NEW:
        if (d->role == RTC_DTLS_ROLE_CLIENT) return RTC_ERR_MISUSE;
        d->state = RTC_DTLS_STATE_HANDSHAKING; /* RFC 5763 §5: an early ClientHello */
        break;
    case RTC_DTLS_STATE_CLOSED:
    case RTC_DTLS_STATE_FAILED: d->stats.dropped_in++; return RTC_ERR_CLOSED;
    case RTC_DTLS_STATE_AWAIT_FINGERPRINT:
        if (dq_push(&d->env, &d->inq, buf, len) != RTC_OK) {
            d->stats.dropped_in++;
            return RTC_ERR_NOMEM;
        }
        d->stats.datagrams_in++;
        return RTC_OK;
    default: break;
    }
    d->stats.datagrams_in++;
    d->in_ptr = buf;
    d->in_len = len;
    drive(d);
    d->in_ptr = NULL;
    d->in_len = 0;
    update_timeout(d, now);
    return RTC_OK;
}

int rtc_dtls_handle_timeout(rtc_dtls *d, rtc_time now) {
    if (!d) return RTC_ERR_INVALID;
    if (d->state == RTC_DTLS_STATE_CONNECTED) {
        release_idle(d, now);
        update_timeout(d, now);
        return RTC_OK;
    }
    if (d->state != RTC_DTLS_STATE_HANDSHAKING) return RTC_OK;
    if (now >= d->next_timeout) {
        ERR_clear_error();
        /* OpenSSL checks its own clock; early calls are no-ops. -1: it gave up after
        ** DTLS1_TMO_ALERT_COUNT expiries, or the retransmission itself failed. */
        if (DTLSv1_handle_timeout(d->ssl) < 0) fail(d, RTC_ERR_TIMEOUT);
        ERR_clear_error();
    }
    update_timeout(d, now);
    return RTC_OK;
}

rtc_time rtc_dtls_next_timeout(const rtc_dtls *d) { return d ? d->next_timeout : RTC_TIME_NEVER; }

int rtc_dtls_poll_transmit(rtc_dtls *d, rtc_dtls_transmit *out) {
    if (!d || !out) return 0;
    rtc_free(&d->env, d->out_held, d->out_held_len);
    d->out_held = NULL;
    d->out_held_len = 0;
    dgram g;
    if (!dq_pop(&d->outq, &g)) return 0;
    d->out_held = g.data;
    d->out_held_len = g.len;
    out->data = g.data;
    out->len = g.len;
    return 1;
}

int rtc_dtls_poll_event(rtc_dtls *d, rtc_dtls_event *out) {
    if (!d || !out) return 0;
    rtc_free(&d->env, d->ev_held, d->ev_held_len);
    d->ev_held = NULL;
    d->ev_held_len = 0;
    if (d->ev_count == 0) return 0;
    evq_item *it = &d->evq[d->ev_head];
    d->ev_head = (d->ev_head + 1) % d->ev_cap;
    d->ev_count--;
    *out = it->ev;
    if (it->data) {
        d->ev_held = it->data;
        d->ev_held_len = it->ev.len;
        d->ev_bytes -= it->ev.len;
    }
    return 1;
}

int rtc_dtls_set_remote_fingerprints(rtc_dtls *d, rtc_time now, const rtc_dtls_fingerprint *fps,
                                     size_t n) {
    if (!d || !fps || n == 0 || n > RTC_DTLS_MAX_REMOTE_FINGERPRINTS) return RTC_ERR_INVALID;
    if (d->state == RTC_DTLS_STATE_CONNECTED || d->state == RTC_DTLS_STATE_CLOSED ||
        d->state == RTC_DTLS_STATE_FAILED)
        return RTC_ERR_MISUSE;
    for (size_t i = 0; i < n; i++)
        d->fps[i] = fps[i];
    d->n_fps = n;
    if (d->state == RTC_DTLS_STATE_AWAIT_FINGERPRINT) verify_and_connect(d);
    update_timeout(d, now);
    return RTC_OK;
}

size_t rtc_dtls_max_send(const rtc_dtls *d) {
    if (!d || d->state != RTC_DTLS_STATE_CONNECTED) return 0;
    return DTLS_get_data_mtu(d->ssl);
}

int rtc_dtls_send(rtc_dtls *d, rtc_time now, const uint8_t *buf, size_t len) {
    if (!d || !buf) return RTC_ERR_INVALID;
    if (d->state != RTC_DTLS_STATE_CONNECTED) return RTC_ERR_MISUSE;
    if (len == 0 || len > rtc_dtls_max_send(d)) return RTC_ERR_INVALID;
    if (d->outq.count >= d->outq.max || d->outq.bytes + len + 64 > d->outq.max_bytes)
        return RTC_ERR_AGAIN;
    ensure_buffers(d);
    ERR_clear_error();
    int r = SSL_write(d->ssl, buf, (int)len);
    update_timeout(d, now);
    if (r != (int)len) {
        dtls_log_ssl_errors(&d->env, "SSL_write");
        return RTC_ERR_CRYPTO;
    }
    return RTC_OK;
}

int rtc_dtls_close(rtc_dtls *d, rtc_time now) {
    if (!d) return RTC_ERR_INVALID;
    if (d->state == RTC_DTLS_STATE_CLOSED || d->state == RTC_DTLS_STATE_FAILED) return RTC_OK;
    /* During the handshake OpenSSL refuses (nothing to protect an alert with yet); the
    ** state still ends. */
    if (d->state != RTC_DTLS_STATE_NEW) send_close_notify(d);
    d->state = RTC_DTLS_STATE_CLOSED;
    dq_clear(&d->env, &d->inq);
    d->next_timeout = RTC_TIME_NEVER;
    return RTC_OK;
}

rtc_dtls_state rtc_dtls_get_state(const rtc_dtls *d) {
    return d ? d->state : RTC_DTLS_STATE_FAILED;
}

rtc_dtls_role rtc_dtls_get_role(const rtc_dtls *d) { return d ? d->role : RTC_DTLS_ROLE_CLIENT; }

void rtc_dtls_get_stats(const rtc_dtls *d, rtc_dtls_stats *out) {
    if (!out) return;
    if (!d) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = d->stats;
}

int rtc_dtls_export_keying_material(const rtc_dtls *d, const char *label, uint8_t *out,
                                    size_t len) {
    if (!d || !label || !out || len == 0 || len > 1024) return RTC_ERR_INVALID;
    if (d->state != RTC_DTLS_STATE_CONNECTED) return RTC_ERR_MISUSE;
    ERR_clear_error();
    if (SSL_export_keying_material(d->ssl, out, len, label, strlen(label), NULL, 0, 0) != 1) {
        ERR_clear_error();
        return RTC_ERR_CRYPTO;
    }
    return RTC_OK;
}

int rtc_dtls_get_srtp_keys(const rtc_dtls *d, rtc_dtls_srtp_keys *out) {
    if (!d || !out) return RTC_ERR_INVALID;
    if (d->state != RTC_DTLS_STATE_CONNECTED) return RTC_ERR_MISUSE;
    size_t k, s;
    if (rtc_dtls_srtp_profile_lengths(d->srtp_profile, &k, &s) != RTC_OK)
        return RTC_ERR_UNSUPPORTED;
    memset(out, 0, sizeof *out);
    size_t total = 2 * (k + s);
    /* RFC 5764 §4.2: label "EXTRACTOR-dtls_srtp", no context. */
    int r = rtc_dtls_export_keying_material(d, "EXTRACTOR-dtls_srtp", out->material, total);
    if (r != RTC_OK) return r;
    const uint8_t *ck = out->material, *sk = out->material + k;
    const uint8_t *cs = out->material + 2 * k, *ss = out->material + 2 * k + s;
    bool client = d->role == RTC_DTLS_ROLE_CLIENT;
    memcpy(out->local_key, client ? ck : sk, k);
    memcpy(out->remote_key, client ? sk : ck, k);
    memcpy(out->local_salt, client ? cs : ss, s);
    memcpy(out->remote_salt, client ? ss : cs, s);
    out->profile = d->srtp_profile;
    out->key_len = (uint8_t)k;
    out->salt_len = (uint8_t)s;
    out->material_len = (uint8_t)total;
    return RTC_OK;
}

int rtc_dtls_peer_fingerprint(const rtc_dtls *d, rtc_dtls_hash hash, rtc_dtls_fingerprint *out,
                              char *buf, size_t size) {
    if (!d) return RTC_ERR_INVALID;
    X509 *peer = SSL_get0_peer_certificate(d->ssl);
    if (!peer) return RTC_ERR_MISUSE;
    rtc_dtls_fingerprint fp;
    int r = dtls_x509_fingerprint(peer, hash, &fp);
    if (r != RTC_OK) return r;
    return dtls_fingerprint_out(&fp, out, buf, size);
}
