/*
** TURN client core (RFC 8656, RFC 8489 §9.2): one allocation, its permissions and
** channels, and the requests that create and keep them. See include/cwebrtc/turn_client.h.
**
** State (RFC 8656 §6):
**
**     NEW --allocate--> ALLOCATING --success--> ALLOCATED --close--> CLOSING --> CLOSED
**                          |  ^ 401 (no creds) / 438: retry  |  437, refresh failure,
**                          |  |                              |  stream closed
**                          +--+--- 300/4xx/5xx/timeout ------+------> FAILED
**
** Every request is one rtc_stun_client transaction (retransmissions and timeouts on the
** caller's clock; one send and Ti over TCP). A turnc_txn slot remembers what the request
** was for, so that 401/438 answers can be retried with a new transaction and the
** answer routed to the permission or channel it concerns. Slots, permissions and
** channels are fixed-size tables allocated once: nothing a server sends grows memory.
**
** Authentication (RFC 8489 §9.2.3-§9.2.5): the Allocate goes first without credentials;
** a 401 carrying REALM and NONCE gives the key MD5(username:realm:password) and the
** request is repeated with USERNAME, REALM, NONCE and MESSAGE-INTEGRITY. Every later
** request carries them too. A 401 to a request that already carried credentials means
** they are wrong (no retry: an RTC_ERR_AUTH failure). 438 Stale Nonce is retried with
** the fresh nonce, at most TURNC_STALE_RETRIES times in a row. Once we hold a key, success
** responses must pass the integrity check and error responses that carry
** MESSAGE-INTEGRITY must pass it; others are dropped as if never received (§9.2.5), so
** the transaction keeps retransmitting. Error responses without integrity (401, 438,
** and what servers send before or instead of authenticating) are accepted.
**
** Not done: PASSWORD-ALGORITHMS / SHA-256 keys and the nonce cookie of RFC 8489 §9.2
** (coTURN and our server use MD5), EVEN-PORT/RESERVATION-TOKEN, dual allocations
** (ADDITIONAL-ADDRESS-FAMILY), DONT-FRAGMENT, TCP relaying (RFC 6062).
*/
#include <string.h>

#include "turn/client_int.h"
#include "util/buf.h"

#define LOG_MODULE "turn-client"

/* ---- helpers ------------------------------------------------------------------------ */

static bool fam_ok(uint8_t f) { return f == RTC_AF_INET || f == RTC_AF_INET6; }

static rtc_addr ip_only(const rtc_addr *a) {
    rtc_addr r = *a;
    r.port = 0;
    return r;
}

/* Map a STUN error code (0 = timeout) to the rtc_err of an event. */
static int code_err(int code) {
    switch (code) {
    case 0: return RTC_ERR_TIMEOUT;
    case RTC_STUN_ERR_UNAUTHENTICATED:
    case RTC_STUN_ERR_WRONG_CREDENTIALS:
    case RTC_STUN_ERR_FORBIDDEN: return RTC_ERR_AUTH;
    case RTC_STUN_ERR_ALLOCATION_MISMATCH: return RTC_ERR_CLOSED;
    case RTC_STUN_ERR_ALLOCATION_QUOTA_REACHED:
    case RTC_STUN_ERR_INSUFFICIENT_CAPACITY: return RTC_ERR_NOMEM;
    default: return RTC_ERR_UNSUPPORTED;
    }
}

/* One relayed address of one family (no dual allocation): a peer of the other family
** could only get 443 Peer Address Family Mismatch (RFC 8656 §9.1), so refuse it here. */
bool turnc_peer_family_ok(const rtc_turn_client *c, const rtc_addr *peer) {
    uint8_t want = c->family == RTC_AF_INET6 ? RTC_AF_INET6 : RTC_AF_INET;
    return peer->family == want;
}

turnc_perm *turnc_perm_find(rtc_turn_client *c, const rtc_addr *peer) {
    for (size_t i = 0; i < c->n_perms; i++)
        if (rtc_addr_equal_ip(&c->perms[i].ip, peer)) return &c->perms[i];
    return NULL;
}

turnc_chan *turnc_chan_by_peer(rtc_turn_client *c, const rtc_addr *peer) {
    for (size_t i = 0; i < c->n_chans; i++)
        if (rtc_addr_equal(&c->chans[i].peer, peer)) return &c->chans[i];
    return NULL;
}

turnc_chan *turnc_chan_by_number(rtc_turn_client *c, uint16_t number) {
    for (size_t i = 0; i < c->n_chans; i++)
        if (c->chans[i].number == number) return &c->chans[i];
    return NULL;
}

static bool chan_uses_ip(rtc_turn_client *c, const rtc_addr *ip) {
    for (size_t i = 0; i < c->n_chans; i++)
        if (c->chans[i].state != TE_FAILED && rtc_addr_equal_ip(&c->chans[i].peer, ip)) return true;
    return false;
}

static void perm_remove(rtc_turn_client *c, turnc_perm *p) {
    size_t i = (size_t)(p - c->perms);
    c->perms[i] = c->perms[--c->n_perms];
}

/* ---- requests ---------------------------------------------------------------------- */

static turnc_txn *txn_alloc(rtc_turn_client *c) {
    for (size_t i = 0; i < c->n_txns; i++)
        if (!c->txns[i].used) {
            memset(&c->txns[i], 0, sizeof c->txns[i]);
            c->txns[i].used = true;
            return &c->txns[i];
        }
    return NULL;
}

static void txn_drop_all(rtc_turn_client *c) {
    for (size_t i = 0; i < c->n_txns; i++)
        if (c->txns[i].used) {
            rtc_stun_client_cancel(c->stun, c->txns[i].tid);
            c->txns[i].used = false;
        }
    c->refresh_inflight = false;
}

/*
** Build and start one request. `proto` (may be NULL) supplies kind, peer, channel,
** refresh and the stale-retry count (a retry after 401/438 passes the old slot's copy).
*/
static int request(rtc_turn_client *c, rtc_time now, const turnc_txn *proto) {
    turnc_txn *t = txn_alloc(c);
    if (!t) return RTC_ERR_NOMEM;
    t->kind = proto->kind;
    t->peer = proto->peer;
    t->channel = proto->channel;
    t->refresh = proto->refresh;
    t->stale_retries = proto->stale_retries;
    t->authed = c->have_key;
    rtc_stun_client_new_tid(c->stun, t->tid);

    static const uint16_t methods[] = {0,
                                       RTC_STUN_ALLOCATE,
                                       RTC_STUN_REFRESH,
                                       RTC_STUN_REFRESH,
                                       RTC_STUN_CREATE_PERMISSION,
                                       RTC_STUN_CHANNEL_BIND};
    rtc_stun_builder b;
    rtc_stun_build_init(&b, c->scratch, sizeof c->scratch, methods[t->kind], RTC_STUN_REQUEST,
                        t->tid);
    switch (t->kind) {
    case TK_ALLOC:
        /* RFC 8656 §7.1: UDP relaying; IPv6 only on request (IPv4 is the default). */
        rtc_stun_add_requested_transport(&b, RTC_STUN_TRANSPORT_UDP);
        if (c->family == RTC_AF_INET6)
            rtc_stun_add_family(&b, RTC_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, RTC_STUN_FAMILY_IPV6);
        if (c->req_lifetime) rtc_stun_add_u32(&b, RTC_STUN_ATTR_LIFETIME, c->req_lifetime);
        break;
    case TK_REFRESH:
        if (c->req_lifetime) rtc_stun_add_u32(&b, RTC_STUN_ATTR_LIFETIME, c->req_lifetime);
        break;
    case TK_CLOSE: rtc_stun_add_u32(&b, RTC_STUN_ATTR_LIFETIME, 0); break; /* §8: delete */
    case TK_PERM: rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_PEER_ADDRESS, &t->peer); break;
    case TK_CHAN:
        rtc_stun_add_channel_number(&b, t->channel);
        rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_PEER_ADDRESS, &t->peer);
        break;
    }
    if (c->have_key) {
        rtc_stun_add_attr(&b, RTC_STUN_ATTR_USERNAME, c->username, strlen(c->username));
        rtc_stun_add_attr(&b, RTC_STUN_ATTR_REALM, c->realm, c->realm_len);
        rtc_stun_add_attr(&b, RTC_STUN_ATTR_NONCE, c->nonce, c->nonce_len);
        rtc_stun_add_integrity(&b, &c->key);
    }
    rtc_stun_add_fingerprint(&b);
    int n = rtc_stun_build_finish(&b);
    rtc_stun_txn_params p = {0};
    p.reliable = c->transport == RTC_TURN_TCP;
    p.src = c->local;
    p.dst = c->server;
    p.user = t;
    int rc = n < 0 ? n : rtc_stun_client_start(c->stun, now, c->scratch, (size_t)n, &p);
    if (rc != RTC_OK) {
        t->used = false;
        RTC_LOGW(&c->env, "cannot start %s: %s", rtc_stun_method_name(methods[t->kind]),
                 rtc_strerror(rc));
        return rc;
    }
    c->stats.requests_sent++;
    if (t->kind == TK_REFRESH) c->refresh_inflight = true;
    return RTC_OK;
}

static int request_kind(rtc_turn_client *c, rtc_time now, int kind, const rtc_addr *peer,
                        uint16_t channel, bool refresh) {
    turnc_txn proto = {0};
    proto.kind = (uint8_t)kind;
    if (peer) proto.peer = *peer;
    proto.channel = channel;
    proto.refresh = refresh;
    return request(c, now, &proto);
}

static int perm_send(rtc_turn_client *c, rtc_time now, turnc_perm *p) {
    int rc = request_kind(c, now, TK_PERM, &p->ip, 0, p->ever_ok);
    if (rc == RTC_OK) {
        p->inflight = true;
        if (p->state != TE_OK) p->state = TE_PENDING;
    }
    return rc;
}

static int chan_send(rtc_turn_client *c, rtc_time now, turnc_chan *ch) {
    int rc = request_kind(c, now, TK_CHAN, &ch->peer, ch->number, ch->ever_ok);
    if (rc == RTC_OK) {
        ch->inflight = true;
        if (ch->state != TE_OK) ch->state = TE_PENDING;
    }
    return rc;
}

/* ---- outcomes ---------------------------------------------------------------------- */

void turnc_fail(rtc_turn_client *c, int err, int code) {
    if (c->state == RTC_TURN_CLIENT_FAILED || c->state == RTC_TURN_CLIENT_CLOSED) return;
    RTC_LOGW(&c->env, "allocation failed: %s (STUN %d)", rtc_strerror(err), code);
    c->state = RTC_TURN_CLIENT_FAILED;
    txn_drop_all(c);
    rtc_turn_event ev = {0};
    ev.type = RTC_TURN_EV_FAILED;
    ev.error = err;
    ev.stun_code = code;
    turnc_event_push(c, &ev);
}

void turnc_closed(rtc_turn_client *c) {
    c->state = RTC_TURN_CLIENT_CLOSED;
    txn_drop_all(c);
    rtc_turn_event ev = {0};
    ev.type = RTC_TURN_EV_CLOSED;
    turnc_event_push(c, &ev);
}

/* Refresh at lifetime - 60 s (a minute for a Refresh's retransmissions, RFC 8656 §8),
** or at half the lifetime when that is later (short lifetimes). */
static void schedule_refresh(rtc_turn_client *c, rtc_time now, uint32_t lifetime) {
    c->lifetime = lifetime;
    c->expires = now + RTC_SEC(lifetime);
    rtc_time early = RTC_SEC(lifetime) - RTC_SEC(60), half = RTC_SEC(lifetime) / 2;
    c->refresh_at = now + (early > half ? early : half);
}

/* A refresh of an installed permission or channel that got no answer at all: the server
** still holds it for a while (refresh at 240/540 s, expiry at 300/600 s, a transaction
** gives up after 39.5 s), so keep it and try again shortly rather than lose it to one
** network outage. */
#define TURNC_RETRY_AFTER_TIMEOUT_US RTC_SEC(5)

static void perm_outcome(rtc_turn_client *c, rtc_time now, const turnc_txn *t, int err, int code) {
    turnc_perm *p = turnc_perm_find(c, &t->peer);
    if (!p) return; /* removed meanwhile */
    p->inflight = false;
    if (err == RTC_ERR_TIMEOUT && p->state == TE_OK) {
        p->due = now + TURNC_RETRY_AFTER_TIMEOUT_US;
        return;
    }
    rtc_turn_event ev = {0};
    ev.type = RTC_TURN_EV_PERMISSION;
    ev.peer = p->ip;
    ev.refresh = t->refresh;
    ev.error = err;
    ev.stun_code = code;
    if (err == RTC_OK) {
        p->state = TE_OK;
        p->ever_ok = true;
        p->due = now + c->perm_refresh;
    } else {
        p->state = TE_FAILED;
        p->due = now + RTC_TURN_PERMISSION_IDLE_US;
    }
    turnc_event_push(c, &ev);
}

static void chan_outcome(rtc_turn_client *c, rtc_time now, const turnc_txn *t, int err, int code) {
    turnc_chan *ch = turnc_chan_by_number(c, t->channel);
    if (!ch || !rtc_addr_equal(&ch->peer, &t->peer)) return;
    ch->inflight = false;
    if (err == RTC_ERR_TIMEOUT && ch->state == TE_OK) {
        ch->due = now + TURNC_RETRY_AFTER_TIMEOUT_US;
        return;
    }
    rtc_turn_event ev = {0};
    ev.type = RTC_TURN_EV_CHANNEL;
    ev.peer = ch->peer;
    ev.channel = ch->number;
    ev.refresh = t->refresh;
    ev.error = err;
    ev.stun_code = code;
    if (err == RTC_OK) {
        ch->state = TE_OK;
        ch->ever_ok = true;
        ch->due = now + c->chan_refresh;
        /* RFC 8656 §12.2: a ChannelBind also installs or refreshes the permission. */
        turnc_perm *p = turnc_perm_find(c, &ch->peer);
        if (p && !p->inflight) {
            p->state = TE_OK;
            p->ever_ok = true;
            p->due = now + c->perm_refresh;
        }
    } else {
        ch->state = TE_FAILED;
    }
    turnc_event_push(c, &ev);
}

/* A request ended without success: code = STUN error (0 = timed out). */
static void request_failed(rtc_turn_client *c, rtc_time now, const turnc_txn *t, int code) {
    int err = code_err(code);
    switch (t->kind) {
    case TK_ALLOC: turnc_fail(c, err, code); break;
    case TK_REFRESH:
        c->refresh_inflight = false;
        /* A lost Refresh is tried again while the allocation may still live. */
        if (code == 0 && now < c->expires) {
            if (request_kind(c, now, TK_REFRESH, NULL, 0, false) == RTC_OK) break;
        }
        turnc_fail(c, err, code);
        break;
    case TK_CLOSE: turnc_closed(c); break;
    case TK_PERM:
    case TK_CHAN:
        /* 437: the allocation itself is gone (server restart or expiry). */
        if (code == RTC_STUN_ERR_ALLOCATION_MISMATCH) {
            turnc_fail(c, err, code);
            break;
        }
        if (t->kind == TK_PERM)
            perm_outcome(c, now, t, err, code);
        else
            chan_outcome(c, now, t, err, code);
        break;
    }
}

static void allocated(rtc_turn_client *c, rtc_time now, const rtc_stun_msg *m) {
    /* RFC 8656 §7.3: XOR-RELAYED-ADDRESS (one per family; take the one we asked for),
    ** LIFETIME and XOR-MAPPED-ADDRESS. */
    uint8_t want = c->family == RTC_AF_INET6 ? RTC_AF_INET6 : RTC_AF_INET;
    bool have_relay = false;
    for (const rtc_stun_attr *a = rtc_stun_find(m, RTC_STUN_ATTR_XOR_RELAYED_ADDRESS); a;
         a = rtc_stun_find_next(m, a)) {
        rtc_addr r;
        if (rtc_stun_attr_xor_addr(m, a, &r) == RTC_OK && r.family == want) {
            c->relayed = r;
            have_relay = true;
            break;
        }
    }
    uint32_t life = 0;
    if (!have_relay || rtc_stun_get_u32(m, RTC_STUN_ATTR_LIFETIME, &life) != RTC_OK || life == 0) {
        turnc_fail(c, RTC_ERR_PARSE, 0);
        return;
    }
    if (rtc_stun_get_xor_addr(m, RTC_STUN_ATTR_XOR_MAPPED_ADDRESS, &c->mapped) != RTC_OK)
        memset(&c->mapped, 0, sizeof c->mapped);
    c->state = RTC_TURN_CLIENT_ALLOCATED;
    schedule_refresh(c, now, life);
    rtc_turn_event ev = {0};
    ev.type = RTC_TURN_EV_ALLOCATED;
    ev.relayed = c->relayed;
    ev.mapped = c->mapped;
    ev.lifetime = life;
    turnc_event_push(c, &ev);
    /* Permissions and channels asked for while allocating go out now. */
    for (size_t i = 0; i < c->n_perms; i++)
        if (c->perms[i].state == TE_WAIT) perm_send(c, now, &c->perms[i]);
    for (size_t i = 0; i < c->n_chans; i++)
        if (c->chans[i].state == TE_WAIT) chan_send(c, now, &c->chans[i]);
}

static void request_succeeded(rtc_turn_client *c, rtc_time now, const turnc_txn *t,
                              const rtc_stun_msg *m) {
    switch (t->kind) {
    case TK_ALLOC:
        if (c->state == RTC_TURN_CLIENT_ALLOCATING) allocated(c, now, m);
        break;
    case TK_REFRESH: {
        c->refresh_inflight = false;
        uint32_t life = 0;
        if (rtc_stun_get_u32(m, RTC_STUN_ATTR_LIFETIME, &life) != RTC_OK || life == 0) {
            turnc_fail(c, RTC_ERR_PARSE, 0);
            break;
        }
        schedule_refresh(c, now, life);
        c->stats.refreshes++;
        rtc_turn_event ev = {0};
        ev.type = RTC_TURN_EV_REFRESHED;
        ev.lifetime = life;
        turnc_event_push(c, &ev);
        break;
    }
    case TK_CLOSE: turnc_closed(c); break;
    case TK_PERM: perm_outcome(c, now, t, RTC_OK, 0); break;
    case TK_CHAN: chan_outcome(c, now, t, RTC_OK, 0); break;
    }
}

/* Copy REALM/NONCE from a 401/438; returns false when the answer lacks them or they do
** not fit. A new realm means a new key. */
static bool take_challenge(rtc_turn_client *c, const rtc_stun_msg *m, bool need_realm) {
    const uint8_t *realm = NULL, *nonce;
    size_t rlen = 0, nlen;
    if (rtc_stun_get_bytes(m, RTC_STUN_ATTR_NONCE, &nonce, &nlen) != RTC_OK || nlen == 0 ||
        nlen > TURNC_NONCE_MAX)
        return false;
    int rr = rtc_stun_get_bytes(m, RTC_STUN_ATTR_REALM, &realm, &rlen);
    if (rr != RTC_OK) {
        if (need_realm || !c->have_key) return false;
    } else if (rlen == 0 || rlen > TURNC_REALM_MAX) {
        return false;
    }
    memcpy(c->nonce, nonce, nlen);
    c->nonce[nlen] = 0;
    c->nonce_len = nlen;
    RTC_LOGD(&c->env, "nonce \"%.*s\" (%zu bytes), realm %s", (int)RTC_MIN(nlen, 64), c->nonce,
             nlen, rr == RTC_OK ? "given" : "kept");
    if (rr == RTC_OK && (!c->have_key || rlen != c->realm_len || memcmp(realm, c->realm, rlen))) {
        memcpy(c->realm, realm, rlen);
        c->realm[rlen] = 0;
        c->realm_len = rlen;
        if (rtc_stun_key_long_term(&c->key, RTC_STUN_PASSWORD_ALG_MD5, c->username,
                                   strlen(c->username), c->realm, c->realm_len, c->password,
                                   strlen(c->password), NULL) != RTC_OK)
            return false;
        c->have_key = true;
    }
    return true;
}

static void request_error(rtc_turn_client *c, rtc_time now, turnc_txn *t, const rtc_stun_msg *m,
                          int code) {
    if (code == RTC_STUN_ERR_UNAUTHENTICATED && !t->authed) {
        /* The first leg of the dance (RFC 8489 §9.2.5). */
        if (take_challenge(c, m, true)) {
            if (request(c, now, t) == RTC_OK) return;
            code = RTC_STUN_ERR_SERVER_ERROR;
        } else {
            c->stats.dropped++;
            turnc_fail(c, RTC_ERR_PARSE, code);
            return;
        }
    } else if (code == RTC_STUN_ERR_STALE_NONCE) {
        c->stats.stale_nonces++;
        if (t->stale_retries < TURNC_STALE_RETRIES && take_challenge(c, m, false)) {
            t->stale_retries++;
            if (request(c, now, t) == RTC_OK) return;
        }
    } else if (code == RTC_STUN_ERR_TRY_ALTERNATE && t->kind == TK_ALLOC) {
        /* RFC 8489 §10 / RFC 8656 §7.4: report it; the caller decides to follow. */
        rtc_turn_event ev = {0};
        if (rtc_stun_get_addr(m, RTC_STUN_ATTR_ALTERNATE_SERVER, &ev.alternate) != RTC_OK) {
            turnc_fail(c, RTC_ERR_PARSE, code);
            return;
        }
        ev.type = RTC_TURN_EV_ALTERNATE;
        ev.stun_code = code;
        c->state = RTC_TURN_CLIENT_FAILED;
        txn_drop_all(c);
        turnc_event_push(c, &ev);
        return;
    }
    request_failed(c, now, t, code);
}

void turnc_handle_response(rtc_turn_client *c, rtc_time now, const rtc_stun_msg *m) {
    void *user = NULL;
    if (rtc_stun_client_lookup(c->stun, m->tid, &user) != 1 || !user) {
        c->stats.dropped++; /* late retransmission answer or forged: RFC 8489 §6.3.3 */
        return;
    }
    turnc_txn *slot = user;
    /* §9.2.5: with a key, successes must be authenticated, and errors that carry
    ** integrity must carry it right. */
    if (slot->authed && c->have_key) {
        bool has_mi = m->mi >= 0 || m->mi256 >= 0;
        if ((m->cls == RTC_STUN_SUCCESS || has_mi) &&
            rtc_stun_check_integrity(m, &c->key) != RTC_OK) {
            c->stats.dropped++;
            RTC_LOGD(&c->env, "response failed the integrity check; dropped");
            return;
        }
    }
    rtc_stun_client_event ev;
    if (rtc_stun_client_handle_response(c->stun, now, m, &ev) != 1) return;
    turnc_txn t = *slot;
    slot->used = false;
    if (m->cls == RTC_STUN_SUCCESS) {
        request_succeeded(c, now, &t, m);
        return;
    }
    int code = 0;
    const char *reason = NULL;
    size_t reason_len = 0;
    if (rtc_stun_get_error_code(m, &code, &reason, &reason_len) != RTC_OK) {
        code = RTC_STUN_ERR_SERVER_ERROR;
        reason_len = 0;
    }
    RTC_LOGI(&c->env, "%s error %d \"%.*s\"%s", rtc_stun_method_name(m->method), code,
             (int)RTC_MIN(reason_len, 128), reason ? reason : "",
             t.authed ? " (authenticated)" : "");
    request_error(c, now, &t, m, code);
}

/* ---- lifecycle --------------------------------------------------------------------- */

int rtc_turn_client_new(rtc_turn_client **out, const rtc_turn_client_config *cfg,
                        const rtc_env *env) {
    if (!out || !cfg || !cfg->username || !cfg->password || !fam_ok(cfg->server.family))
        return RTC_ERR_INVALID;
    *out = NULL;
    if (cfg->family && !fam_ok(cfg->family)) return RTC_ERR_INVALID;
    if (cfg->transport != RTC_TURN_UDP && cfg->transport != RTC_TURN_TCP) return RTC_ERR_INVALID;
    if (strlen(cfg->username) == 0 || strlen(cfg->username) > TURNC_USERNAME_MAX ||
        strlen(cfg->password) > 1024)
        return RTC_ERR_INVALID;
    rtc_env e;
    rtc_env_copy(&e, env);
    rtc_turn_client *c = rtc_calloc(&e, sizeof *c);
    if (!c) return RTC_ERR_NOMEM;
    c->env = e;
    c->server = cfg->server;
    c->local = cfg->local;
    c->transport = cfg->transport;
    c->family = cfg->family;
    c->req_lifetime = cfg->lifetime;
    c->max_perms = cfg->max_permissions ? cfg->max_permissions : 16;
    c->max_chans = cfg->max_channels ? cfg->max_channels : 16;
    if (c->max_chans > RTC_TURN_CHANNEL_MAX - RTC_TURN_CHANNEL_MIN + 1)
        c->max_chans = RTC_TURN_CHANNEL_MAX - RTC_TURN_CHANNEL_MIN + 1;
    if (c->max_perms > 4096) c->max_perms = 4096;
    c->max_data_events = cfg->max_events ? cfg->max_events : 64;
    c->max_queued_bytes = cfg->max_queued_bytes ? cfg->max_queued_bytes : 256 * 1024;
    c->next_channel = RTC_TURN_CHANNEL_MIN;
    rtc_random(&c->env, c->ind_tid, sizeof c->ind_tid);
    if (cfg->permission_refresh < 0 || cfg->channel_refresh < 0) {
        rtc_free(&c->env, c, sizeof *c);
        return RTC_ERR_INVALID;
    }
    c->perm_refresh =
        cfg->permission_refresh ? cfg->permission_refresh : RTC_TURN_PERMISSION_REFRESH_US;
    c->chan_refresh = cfg->channel_refresh ? cfg->channel_refresh : RTC_TURN_CHANNEL_REFRESH_US;
    /* Every permission and channel may have one request out, plus Allocate/Refresh/close
    ** and one retry in flight while the old slot is being released. */
    c->n_txns = c->max_perms + c->max_chans + 4;
    c->ev_cap = c->max_data_events + TURNC_CONTROL_EVENTS + 2 * (c->max_perms + c->max_chans);
    rtc_stun_client_config sc = {0};
    sc.rto = cfg->rto;
    sc.rc = cfg->rc;
    sc.max_transactions = c->n_txns;
    c->username = rtc_strdup(&c->env, cfg->username);
    c->password = rtc_strdup(&c->env, cfg->password);
    c->perms = rtc_calloc(&c->env, c->max_perms * sizeof *c->perms);
    c->chans = rtc_calloc(&c->env, c->max_chans * sizeof *c->chans);
    c->txns = rtc_calloc(&c->env, c->n_txns * sizeof *c->txns);
    c->evq = rtc_calloc(&c->env, c->ev_cap * sizeof *c->evq);
    int rc = RTC_ERR_NOMEM;
    if (c->username && c->password && c->perms && c->chans && c->txns && c->evq)
        rc = rtc_stun_client_new(&c->stun, &sc, &c->env);
    if (rc == RTC_OK && c->transport == RTC_TURN_TCP)
        rc = rtc_framer_new(&c->framer, RTC_FRAME_STUN, 0, &c->env);
    if (rc != RTC_OK) {
        rtc_turn_client_free(c);
        return rc == RTC_ERR_INVALID ? RTC_ERR_INVALID : RTC_ERR_NOMEM;
    }
    *out = c;
    return RTC_OK;
}

void rtc_turn_client_free(rtc_turn_client *c) {
    if (!c) return;
    rtc_stun_client_free(c->stun);
    rtc_framer_free(c->framer);
    turnc_events_free(c);
    rtc_free(&c->env, c->polled, c->polled_len);
    rtc_free(&c->env, c->perms, c->max_perms * sizeof *c->perms);
    rtc_free(&c->env, c->chans, c->max_chans * sizeof *c->chans);
    rtc_free(&c->env, c->txns, c->n_txns * sizeof *c->txns);
    rtc_free(&c->env, c->evq, c->ev_cap * sizeof *c->evq);
    if (c->password) { /* wipe it; free with the size it had (rtc_strfree would measure 0) */
        size_t n = strlen(c->password) + 1;
        memset(c->password, 0, n);
        rtc_free(&c->env, c->password, n);
    }
    rtc_strfree(&c->env, c->username);
    rtc_stun_key_clear(&c->key);
    rtc_env env = c->env;
    rtc_free(&env, c, sizeof *c);
}

int rtc_turn_client_allocate(rtc_turn_client *c, rtc_time now) {
    if (!c) return RTC_ERR_INVALID;
    if (c->state != RTC_TURN_CLIENT_NEW) return RTC_ERR_MISUSE;
    int rc = request_kind(c, now, TK_ALLOC, NULL, 0, false);
    if (rc == RTC_OK) c->state = RTC_TURN_CLIENT_ALLOCATING;
    return rc;
}

int rtc_turn_client_close(rtc_turn_client *c, rtc_time now) {
    if (!c) return RTC_ERR_INVALID;
    if (c->state == RTC_TURN_CLIENT_CLOSING || c->state == RTC_TURN_CLIENT_CLOSED) return RTC_OK;
    if (c->state != RTC_TURN_CLIENT_ALLOCATED) {
        turnc_closed(c);
        return RTC_OK;
    }
    txn_drop_all(c);
    c->state = RTC_TURN_CLIENT_CLOSING;
    if (request_kind(c, now, TK_CLOSE, NULL, 0, false) != RTC_OK) turnc_closed(c);
    return RTC_OK;
}

int rtc_turn_client_refresh(rtc_turn_client *c, rtc_time now) {
    if (!c) return RTC_ERR_INVALID;
    if (c->state != RTC_TURN_CLIENT_ALLOCATED) return RTC_ERR_MISUSE;
    if (c->refresh_inflight) return RTC_OK;
    return request_kind(c, now, TK_REFRESH, NULL, 0, false);
}

/* ---- permissions and channels ------------------------------------------------------ */

static bool can_ask(const rtc_turn_client *c) {
    return c->state == RTC_TURN_CLIENT_NEW || c->state == RTC_TURN_CLIENT_ALLOCATING ||
           c->state == RTC_TURN_CLIENT_ALLOCATED;
}

int turnc_perm_add(rtc_turn_client *c, rtc_time now, const rtc_addr *peer, bool pinned,
                   turnc_perm **out) {
    turnc_perm *p = turnc_perm_find(c, peer);
    if (p) {
        if (pinned) p->pinned = true;
        *out = p;
        return RTC_OK;
    }
    if (c->n_perms >= c->max_perms) {
        /* Make room by forgetting a refused permission nobody pinned. */
        for (size_t i = 0; i < c->n_perms; i++)
            if (c->perms[i].state == TE_FAILED && !c->perms[i].pinned && !c->perms[i].inflight) {
                perm_remove(c, &c->perms[i]);
                break;
            }
        if (c->n_perms >= c->max_perms) return RTC_ERR_NOMEM;
    }
    p = &c->perms[c->n_perms++];
    memset(p, 0, sizeof *p);
    p->ip = ip_only(peer);
    p->pinned = pinned;
    p->state = TE_WAIT;
    p->last_used = now;
    if (c->state == RTC_TURN_CLIENT_ALLOCATED && perm_send(c, now, p) != RTC_OK) {
        c->n_perms--;
        return RTC_ERR_NOMEM;
    }
    *out = p;
    return RTC_OK;
}

int rtc_turn_client_create_permission(rtc_turn_client *c, rtc_time now, const rtc_addr *peer) {
    if (!c || !peer || !turnc_peer_family_ok(c, peer)) return RTC_ERR_INVALID;
    if (!can_ask(c)) return RTC_ERR_MISUSE;
    turnc_perm *p;
    int rc = turnc_perm_add(c, now, peer, true, &p);
    if (rc != RTC_OK) return rc;
    p->last_used = now;
    /* Asking again for a refused one retries it. */
    if (p->state == TE_FAILED && !p->inflight && c->state == RTC_TURN_CLIENT_ALLOCATED)
        perm_send(c, now, p);
    return RTC_OK;
}

int rtc_turn_client_remove_permission(rtc_turn_client *c, const rtc_addr *peer) {
    if (!c || !peer) return RTC_ERR_INVALID;
    turnc_perm *p = turnc_perm_find(c, peer);
    if (!p) return RTC_ERR_NOT_FOUND;
    p->pinned = false;
    p->last_used = 0; /* not used: dropped at its next refresh time */
    return RTC_OK;
}

int rtc_turn_client_bind_channel(rtc_turn_client *c, rtc_time now, const rtc_addr *peer) {
    if (!c || !peer || !turnc_peer_family_ok(c, peer) || peer->port == 0) return RTC_ERR_INVALID;
    if (!can_ask(c)) return RTC_ERR_MISUSE;
    turnc_chan *ch = turnc_chan_by_peer(c, peer);
    if (ch) {
        if (ch->state == TE_FAILED && !ch->inflight && c->state == RTC_TURN_CLIENT_ALLOCATED)
            chan_send(c, now, ch);
        return ch->number;
    }
    /* Numbers are never reused within an allocation: the server keeps a binding for
    ** 10 minutes and would refuse the number for another peer (RFC 8656 §12). */
    if (c->n_chans >= c->max_chans || c->next_channel > RTC_TURN_CHANNEL_MAX) return RTC_ERR_NOMEM;
    turnc_perm *p;
    int rc = turnc_perm_add(c, now, peer, false, &p);
    if (rc != RTC_OK) return rc;
    ch = &c->chans[c->n_chans++];
    memset(ch, 0, sizeof *ch);
    ch->peer = *peer;
    ch->number = c->next_channel++;
    ch->state = TE_WAIT;
    if (c->state == RTC_TURN_CLIENT_ALLOCATED && chan_send(c, now, ch) != RTC_OK) {
        c->n_chans--;
        return RTC_ERR_NOMEM;
    }
    return ch->number;
}

uint16_t rtc_turn_client_channel_of(const rtc_turn_client *c, const rtc_addr *peer) {
    if (!c || !peer) return 0;
    for (size_t i = 0; i < c->n_chans; i++)
        if (c->chans[i].state == TE_OK && rtc_addr_equal(&c->chans[i].peer, peer))
            return c->chans[i].number;
    return 0;
}

/* ---- timers ------------------------------------------------------------------------ */

static void maintain(rtc_turn_client *c, rtc_time now) {
    if (c->state != RTC_TURN_CLIENT_ALLOCATED) return;
    if (now >= c->expires) { /* every refresh failed to get through */
        turnc_fail(c, RTC_ERR_TIMEOUT, 0);
        return;
    }
    if (!c->refresh_inflight && now >= c->refresh_at)
        request_kind(c, now, TK_REFRESH, NULL, 0, false);
    for (size_t i = 0; i < c->n_perms && c->state == RTC_TURN_CLIENT_ALLOCATED;) {
        turnc_perm *p = &c->perms[i];
        if (p->state == TE_WAIT && !p->inflight) { /* could not be sent earlier */
            perm_send(c, now, p);
            i++;
            continue;
        }
        if (p->inflight || (p->state != TE_OK && p->state != TE_FAILED) || now < p->due) {
            i++;
            continue;
        }
        bool keep = p->pinned || chan_uses_ip(c, &p->ip) ||
                    p->last_used + RTC_TURN_PERMISSION_IDLE_US > now;
        if (!keep) {
            perm_remove(c, p); /* swapped: look at index i again */
            continue;
        }
        if (p->state == TE_OK) {
            if (perm_send(c, now, p) != RTC_OK) p->due = now + RTC_SEC(1);
        } else {
            p->due = now + RTC_TURN_PERMISSION_IDLE_US; /* refused but still wanted: wait */
        }
        i++;
    }
    for (size_t i = 0; i < c->n_chans && c->state == RTC_TURN_CLIENT_ALLOCATED; i++) {
        turnc_chan *ch = &c->chans[i];
        if (ch->state == TE_WAIT && !ch->inflight)
            chan_send(c, now, ch);
        else if (ch->state == TE_OK && !ch->inflight && now >= ch->due) {
            if (chan_send(c, now, ch) != RTC_OK) ch->due = now + RTC_SEC(1);
        }
    }
}

int rtc_turn_client_handle_timeout(rtc_turn_client *c, rtc_time now) {
    if (!c) return RTC_ERR_INVALID;
    rtc_stun_client_handle_timeout(c->stun, now);
    rtc_stun_client_event ev;
    while (rtc_stun_client_poll_event(c->stun, &ev) == 1) {
        turnc_txn *slot = ev.user;
        if (!slot || !slot->used) continue;
        turnc_txn t = *slot;
        slot->used = false;
        request_failed(c, now, &t, 0);
    }
    maintain(c, now);
    return RTC_OK;
}

rtc_time rtc_turn_client_next_timeout(const rtc_turn_client *c) {
    if (!c) return RTC_TIME_NEVER;
    rtc_time t = rtc_stun_client_next_timeout(c->stun);
    if (c->state != RTC_TURN_CLIENT_ALLOCATED) return t;
    if (c->expires < t) t = c->expires;
    if (!c->refresh_inflight && c->refresh_at < t) t = c->refresh_at;
    for (size_t i = 0; i < c->n_perms; i++) {
        const turnc_perm *p = &c->perms[i];
        if (!p->inflight && (p->state == TE_OK || p->state == TE_FAILED) && p->due < t) t = p->due;
    }
    for (size_t i = 0; i < c->n_chans; i++) {
        const turnc_chan *ch = &c->chans[i];
        if (!ch->inflight && ch->state == TE_OK && ch->due < t) t = ch->due;
    }
    return t;
}

int rtc_turn_client_poll_transmit(rtc_turn_client *c, rtc_turn_client_transmit *out) {
    if (!c || !out) return 0;
    rtc_stun_transmit st;
    if (rtc_stun_client_poll_transmit(c->stun, &st) != 1) return 0;
    out->src = st.src;
    out->dst = st.dst;
    out->transport = c->transport;
    out->data = st.data;
    out->len = st.len;
    return 1;
}

/* ---- getters ----------------------------------------------------------------------- */

rtc_turn_client_state rtc_turn_client_get_state(const rtc_turn_client *c) {
    return c ? c->state : RTC_TURN_CLIENT_FAILED;
}

int rtc_turn_client_get_relayed(const rtc_turn_client *c, rtc_addr *relayed, rtc_addr *mapped) {
    if (!c) return RTC_ERR_INVALID;
    if (c->state != RTC_TURN_CLIENT_ALLOCATED) return RTC_ERR_MISUSE;
    if (relayed) *relayed = c->relayed;
    if (mapped) *mapped = c->mapped;
    return RTC_OK;
}

rtc_time rtc_turn_client_expires(const rtc_turn_client *c) {
    return c && c->state == RTC_TURN_CLIENT_ALLOCATED ? c->expires : RTC_TIME_NEVER;
}

void rtc_turn_client_get_stats(const rtc_turn_client *c, rtc_turn_client_stats *st) {
    if (c && st) *st = c->stats;
}

int rtc_turn_client_uri_transport(const struct rtc_uri *uri, rtc_turn_transport *transport,
                                  bool *tls) {
    if (!uri || !transport || !tls) return RTC_ERR_INVALID;
    if (uri->scheme != RTC_URI_TURN && uri->scheme != RTC_URI_TURNS) return RTC_ERR_INVALID;
    bool secure = uri->scheme == RTC_URI_TURNS;
    if (uri->transport == RTC_URI_UDP) {
        if (secure) return RTC_ERR_UNSUPPORTED; /* DTLS to the server: not implemented */
        *transport = RTC_TURN_UDP;
    } else {
        *transport = RTC_TURN_TCP;
    }
    *tls = secure;
    return RTC_OK;
}

const char *rtc_turn_client_state_name(int state) {
    static const char *const names[] = {"new",     "allocating", "allocated",
                                        "closing", "closed",     "failed"};
    return state >= 0 && state < (int)RTC_ARRAY_LEN(names) ? names[state] : "unknown";
}
