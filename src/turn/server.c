/*
** TURN server core (RFC 8656), sans-IO. See include/cwebrtc/turn_server.h.
**
** State, as RFC 8656 §2.2 names it: an allocation is keyed by its 5-tuple (transport,
** client address, listening address) and by each relayed transport address; it holds
** the authenticated username and key, an expiry, permissions (peer IPs, 300 s) and
** channel bindings (number <-> peer address, 600 s). Two chained hash tables index
** allocations by 5-tuple and by relayed address; permissions and channels are small
** bounded arrays per allocation (a handful in practice, at most max_permissions /
** max_channels).
**
** Expiry: allocations are swept once a second (handle_timeout); permissions and
** channels are checked when used and swept with their allocation.
**
** Nonces are stateless (RFC 8489 §9.2.1 leaves the format to the server): 16 hex digits
** of the expiry time (the caller's µs clock) followed by 24 hex digits of
** HMAC-SHA256(nonce key, expiry || client IP). A nonce is valid until it expires and
** only for the client IP it was issued to; no table grows with the number of clients.
*/
#include <stdio.h>
#include <string.h>

#include "cwebrtc/stun.h"
#include "cwebrtc/turn_server.h"
#include "turn/server_int.h"
#include "util/buf.h"
#include "util/util.h"

#define LOG_MODULE "turn"

/* ---- small helpers -------------------------------------------------------------- */

static uint32_t str_hash(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static uint32_t tuple_hash(int transport, const rtc_addr *listener, const rtc_addr *client) {
    return rtc_addr_hash(client) * 31u + rtc_addr_hash(listener) * 7u + (uint32_t)transport;
}

static bool family_ok(uint8_t fam) { return fam == RTC_AF_INET || fam == RTC_AF_INET6; }

/* ---- peer address policy (RFC 8656 §21.1 and the safe defaults) ---------- */

static bool in_range(const rtc_turn_ip_range *r, const rtc_addr *a) {
    if (r->first.family != a->family) return false;
    size_t n = a->family == RTC_AF_INET ? 4 : 16;
    return memcmp(a->ip, r->first.ip, n) >= 0 && memcmp(a->ip, r->last.ip, n) <= 0;
}

/* The IPv4 address embedded in an IPv6 one that maps or translates to IPv4:
** ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible, deprecated), 64:ff9b::a.b.c.d
** (NAT64 well-known prefix, RFC 6052) and 64:ff9b:1::/48 (local-use NAT64, RFC 8215). */
static bool embedded_v4(const rtc_addr *a, rtc_addr *v4) {
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t compat[12] = {0};
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t nat64_local[6] = {0, 0x64, 0xff, 0x9b, 0, 1};
    if (a->family != RTC_AF_INET6) return false;
    bool is = memcmp(a->ip, mapped, 12) == 0 || memcmp(a->ip, nat64, 12) == 0 ||
              memcmp(a->ip, nat64_local, 6) == 0;
    /* ::a.b.c.d, but not :: and ::1 themselves (handled as IPv6 below). */
    if (!is && memcmp(a->ip, compat, 12) == 0 && (a->ip[12] | a->ip[13]) != 0) is = true;
    if (!is) return false;
    rtc_addr_set_ipv4(v4, a->ip + 12, a->port);
    return true;
}

static bool v4_denied(const rtc_turn_server *s, const uint8_t *ip) {
    if (ip[0] == 0) return true;                                   /* 0/8 "this network" */
    if (ip[0] == 127) return !s->cfg.allow_loopback_peers;         /* loopback */
    if (ip[0] == 169 && ip[1] == 254) return true;                 /* link-local, metadata */
    if (ip[0] >= 224) return true;                                 /* multicast, 240/4, bcast */
    bool priv = ip[0] == 10 || (ip[0] == 172 && (ip[1] & 0xf0) == 16) ||
                (ip[0] == 192 && ip[1] == 168) || (ip[0] == 100 && (ip[1] & 0xc0) == 64) ||
                (ip[0] == 192 && ip[1] == 0 && ip[2] == 0);       /* + CGN, IETF protocol */
    return priv && !s->cfg.allow_private_peers;
}

static bool v6_denied(const rtc_turn_server *s, const uint8_t *ip) {
    static const uint8_t zero[16] = {0};
    static const uint8_t loop[16] = {[15] = 1};
    if (memcmp(ip, zero, 16) == 0) return true;                    /* :: */
    if (memcmp(ip, loop, 16) == 0) return !s->cfg.allow_loopback_peers;
    if (ip[0] == 0xff) return true;                                /* multicast */
    if (ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80) return true;      /* link-local fe80::/10 */
    if (ip[0] == 0xfe && (ip[1] & 0xc0) == 0xc0) return true;      /* site-local fec0::/10 */
    if ((ip[0] & 0xfe) == 0xfc) return !s->cfg.allow_private_peers; /* ULA fc00::/7 */
    return false;
}

bool rtc_turn_server_peer_allowed(const rtc_turn_server *s, const rtc_addr *peer) {
    if (!s || !peer || !family_ok(peer->family)) return false;
    for (size_t i = 0; i < s->cfg.n_denied_peers; i++)
        if (in_range(&s->cfg.denied_peers[i], peer)) return false;
    for (size_t i = 0; i < s->cfg.n_allowed_peers; i++)
        if (in_range(&s->cfg.allowed_peers[i], peer)) return true;
    rtc_addr v4;
    if (peer->family == RTC_AF_INET) return !v4_denied(s, peer->ip);
    if (embedded_v4(peer, &v4)) {
        for (size_t i = 0; i < s->cfg.n_denied_peers; i++)
            if (in_range(&s->cfg.denied_peers[i], &v4)) return false;
        return !v4_denied(s, v4.ip);
    }
    return !v6_denied(s, peer->ip);
}

/* ---- users, secrets, per-user counts --------------------------------------------- */

static user_entry *user_find(const rtc_turn_server *s, const char *name, size_t len) {
    if (!s->user_buckets) return NULL;
    uint32_t h = str_hash(name, len);
    for (user_entry *u = s->user_buckets[h & (s->n_user_buckets - 1)]; u; u = u->next)
        if (u->hash == h && u->name_len == len && memcmp(u->name, name, len) == 0) return u;
    return NULL;
}

/* Find or create; NULL on allocation failure. */
static user_entry *user_get(rtc_turn_server *s, const char *name, size_t len) {
    user_entry *u = user_find(s, name, len);
    if (u) return u;
    if (len > RTC_TURN_MAX_USERNAME) return NULL;
    if (s->n_users + 1 > s->n_user_buckets) { /* grow: keep load <= 1 */
        size_t nb = s->n_user_buckets ? s->n_user_buckets * 2 : 64;
        user_entry **b = rtc_calloc(&s->env, nb * sizeof *b);
        if (!b) return NULL;
        for (size_t i = 0; i < s->n_user_buckets; i++) {
            user_entry *e = s->user_buckets[i];
            while (e) {
                user_entry *next = e->next;
                e->next = b[e->hash & (nb - 1)];
                b[e->hash & (nb - 1)] = e;
                e = next;
            }
        }
        rtc_free(&s->env, s->user_buckets, s->n_user_buckets * sizeof *b);
        s->user_buckets = b;
        s->n_user_buckets = nb;
    }
    u = rtc_calloc(&s->env, sizeof *u + len + 1);
    if (!u) return NULL;
    u->hash = str_hash(name, len);
    u->name_len = len;
    memcpy(u->name, name, len);
    u->next = s->user_buckets[u->hash & (s->n_user_buckets - 1)];
    s->user_buckets[u->hash & (s->n_user_buckets - 1)] = u;
    s->n_users++;
    return u;
}

int rtc_turn_server_add_user_key(rtc_turn_server *s, const char *username, const uint8_t key[16]) {
    if (!s || !username || !key || !*username) return RTC_ERR_INVALID;
    user_entry *u = user_get(s, username, strlen(username));
    if (!u) return RTC_ERR_NOMEM;
    memcpy(u->key, key, 16);
    u->has_key = true;
    return RTC_OK;
}

int rtc_turn_server_add_user(rtc_turn_server *s, const char *username, const char *password) {
    if (!s || !username || !password) return RTC_ERR_INVALID;
    rtc_stun_key k;
    uint8_t raw[32];
    int rc = rtc_stun_key_long_term(&k, RTC_STUN_PASSWORD_ALG_MD5, username, strlen(username),
                                    s->cfg.realm, strlen(s->cfg.realm), password,
                                    strlen(password), raw);
    rtc_stun_key_clear(&k);
    if (rc) return rc;
    rc = rtc_turn_server_add_user_key(s, username, raw);
    memset(raw, 0, sizeof raw);
    return rc;
}

void rtc_turn_server_clear_credentials(rtc_turn_server *s) {
    if (!s) return;
    /* Entries that still count allocations stay, without a key. */
    for (size_t i = 0; i < s->n_user_buckets; i++)
        for (user_entry *u = s->user_buckets[i]; u; u = u->next) {
            memset(u->key, 0, sizeof u->key);
            u->has_key = false;
        }
    for (size_t i = 0; i < s->n_secrets; i++) {
        memset(s->secrets[i], 0, strlen(s->secrets[i]));
        rtc_strfree(&s->env, s->secrets[i]);
    }
    s->n_secrets = 0;
}

int rtc_turn_server_add_secret(rtc_turn_server *s, const char *secret) {
    if (!s || !secret || !*secret) return RTC_ERR_INVALID;
    if (s->n_secrets == RTC_TURN_MAX_SECRETS) return RTC_ERR_NOMEM;
    s->secrets[s->n_secrets] = rtc_strdup(&s->env, secret);
    if (!s->secrets[s->n_secrets]) return RTC_ERR_NOMEM;
    s->n_secrets++;
    return RTC_OK;
}

void rtc_turn_server_set_unix_time(rtc_turn_server *s, int64_t unix_now) {
    if (s) s->unix_now = unix_now;
}

/*
** The long-term key for `username`, from the user table or, failing that, from a REST
** secret (username "<expiry>[:name]" still valid). Tries each secret in turn: the MI
** check decides which one the client used. Returns the number of candidate keys.
*/
static int user_keys(rtc_turn_server *s, const uint8_t *name, size_t len,
                     uint8_t keys[][16], int max) {
    int n = 0;
    user_entry *u = user_find(s, (const char *)name, len);
    if (u && u->has_key && n < max) memcpy(keys[n++], u->key, 16);
    if (s->n_secrets == 0 || len == 0 || len > RTC_TURN_MAX_USERNAME) return n;
    /* The timestamp is the part before the first ':' (or the whole name). */
    int64_t expiry = 0;
    size_t i = 0;
    for (; i < len && name[i] != ':'; i++) {
        if (name[i] < '0' || name[i] > '9' || i >= 18) return n;
        expiry = expiry * 10 + (name[i] - '0');
    }
    if (i == 0 || expiry <= s->unix_now) return n;
    for (size_t k = 0; k < s->n_secrets && n < max; k++) {
        uint8_t mac[RTC_SHA1_LEN];
        char pwd[64];
        const char *sec = s->secrets[k];
        if (rtc_hmac_sha1((const uint8_t *)sec, strlen(sec), name, len, NULL, 0, NULL, 0, mac))
            continue;
        int pl = rtc_base64_encode(mac, sizeof mac, pwd, sizeof pwd);
        rtc_stun_key tmp;
        uint8_t raw[32];
        if (pl > 0 && rtc_stun_key_long_term(&tmp, RTC_STUN_PASSWORD_ALG_MD5, (const char *)name,
                                             len, s->cfg.realm, strlen(s->cfg.realm), pwd,
                                             (size_t)pl, raw) == RTC_OK)
            memcpy(keys[n++], raw, 16);
        rtc_stun_key_clear(&tmp);
    }
    return n;
}

/* ---- nonces ---------------------------------------------------------------------- */

static void nonce_mac(const rtc_turn_server *s, uint64_t expiry, const rtc_addr *client,
                      char out[25]) {
    uint8_t msg[8 + 16], mac[RTC_SHA256_LEN];
    for (int i = 0; i < 8; i++) msg[i] = (uint8_t)(expiry >> (56 - 8 * i));
    size_t ipn = client->family == RTC_AF_INET ? 4 : 16;
    memcpy(msg + 8, client->ip, ipn);
    rtc_hmac_sha256(s->nonce_key, sizeof s->nonce_key, msg, 8 + ipn, NULL, 0, NULL, 0, mac);
    rtc_hex_encode(mac, 12, out, 25);
}

static void nonce_make(const rtc_turn_server *s, rtc_time now, const rtc_addr *client,
                       char out[RTC_TURN_NONCE_LEN + 1]) {
    uint64_t expiry = (uint64_t)(now + s->nonce_lifetime);
    snprintf(out, 17, "%016llx", (unsigned long long)expiry);
    nonce_mac(s, expiry, client, out + 16);
}

/* 1 valid, 0 stale (right MAC, expired), -1 forged or malformed. */
static int nonce_check(const rtc_turn_server *s, rtc_time now, const rtc_addr *client,
                       const uint8_t *nonce, size_t len) {
    if (len != RTC_TURN_NONCE_LEN) return -1;
    uint8_t eb[8];
    if (rtc_hex_decode((const char *)nonce, 16, eb, sizeof eb) != 8) return -1;
    uint64_t expiry = 0;
    for (int i = 0; i < 8; i++) expiry = expiry << 8 | eb[i];
    char mac[25];
    nonce_mac(s, expiry, client, mac);
    if (!rtc_ct_equal(mac, nonce + 16, 24)) return -1;
    return (int64_t)expiry > now ? 1 : 0;
}

/* ---- output queue ----------------------------------------------------------------- */

/* A slot to write one datagram into; NULL (and a drop counted) when the queue is full. */
static out_slot *out_begin(rtc_turn_server *s) {
    if (s->out_count == RTC_TURN_OUT_SLOTS) {
        s->stats.dropped++;
        return NULL;
    }
    out_slot *o = &s->out[(s->out_head + s->out_count) % RTC_TURN_OUT_SLOTS];
    memset(&o->t, 0, sizeof o->t);
    return o;
}

static void out_commit(rtc_turn_server *s, out_slot *o, size_t len) {
    o->t.data = o->buf;
    o->t.len = len;
    s->out_count++;
}

int rtc_turn_server_poll_transmit(rtc_turn_server *s, rtc_turn_transmit *out) {
    if (!s || !out || s->out_count == 0) return 0;
    *out = s->out[s->out_head].t;
    s->out_head = (s->out_head + 1) % RTC_TURN_OUT_SLOTS;
    s->out_count--;
    return 1;
}

/* Queue a STUN message built in o->buf to the client of `req_ctx`. */
static void out_to_client(rtc_turn_server *s, out_slot *o, const req_ctx *r, size_t len) {
    o->t.from_relay = false;
    o->t.transport = r->transport;
    o->t.from = *r->listener;
    o->t.to = *r->client;
    out_commit(s, o, len);
}

/* ---- allocations -------------------------------------------------------------------- */

static int table_grow(rtc_turn_server *s) {
    size_t nb = s->n_buckets ? s->n_buckets * 2 : 256;
    alloc_t **bt = rtc_calloc(&s->env, nb * sizeof *bt);
    relay_link **br = rtc_calloc(&s->env, nb * sizeof *br);
    if (!bt || !br) {
        rtc_free(&s->env, bt, nb * sizeof *bt);
        rtc_free(&s->env, br, nb * sizeof *br);
        return RTC_ERR_NOMEM;
    }
    for (alloc_t *a = s->all; a; a = a->all_next) {
        a->next_tuple = bt[a->tuple_hash & (nb - 1)];
        bt[a->tuple_hash & (nb - 1)] = a;
        for (int i = 0; i < 2; i++)
            if (a->relay[i].family) {
                uint32_t h = rtc_addr_hash(&a->relay[i]) & (uint32_t)(nb - 1);
                a->rl[i].next = br[h];
                br[h] = &a->rl[i];
            }
    }
    rtc_free(&s->env, s->by_tuple, s->n_buckets * sizeof *bt);
    rtc_free(&s->env, s->by_relay, s->n_buckets * sizeof *br);
    s->by_tuple = bt;
    s->by_relay = br;
    s->n_buckets = nb;
    return RTC_OK;
}

static alloc_t *alloc_by_tuple(const rtc_turn_server *s, int transport, const rtc_addr *listener,
                               const rtc_addr *client) {
    if (!s->n_buckets) return NULL;
    uint32_t h = tuple_hash(transport, listener, client);
    for (alloc_t *a = s->by_tuple[h & (s->n_buckets - 1)]; a; a = a->next_tuple)
        if (a->tuple_hash == h && a->transport == transport && rtc_addr_equal(&a->client, client) &&
            rtc_addr_equal(&a->listener, listener))
            return a;
    return NULL;
}

static alloc_t *alloc_by_relay(const rtc_turn_server *s, const rtc_addr *relay, int *which) {
    if (!s->n_buckets) return NULL;
    uint32_t h = rtc_addr_hash(relay) & (uint32_t)(s->n_buckets - 1);
    for (relay_link *l = s->by_relay[h]; l; l = l->next)
        if (!l->a->tcp_relay && rtc_addr_equal(&l->a->relay[l->slot], relay)) {
            *which = l->slot;
            return l->a;
        }
    return NULL;
}

/* The RFC 6062 allocation listening on TCP `relay` (a UDP relay may share IP:port). */
static alloc_t *alloc_by_tcp_relay(const rtc_turn_server *s, const rtc_addr *relay) {
    if (!s->n_buckets) return NULL;
    uint32_t h = rtc_addr_hash(relay) & (uint32_t)(s->n_buckets - 1);
    for (relay_link *l = s->by_relay[h]; l; l = l->next)
        if (l->a->tcp_relay && rtc_addr_equal(&l->a->relay[l->slot], relay)) return l->a;
    return NULL;
}

static void pending_unlink(rtc_turn_server *s, tcp_pending *p) {
    for (tcp_pending **pp = &s->pending; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    s->n_pending--;
    rtc_free(&s->env, p, sizeof *p);
}

static void alloc_free(rtc_turn_server *s, alloc_t *a) {
    uint32_t mask = (uint32_t)(s->n_buckets - 1);
    for (alloc_t **pp = &s->by_tuple[a->tuple_hash & mask]; *pp; pp = &(*pp)->next_tuple)
        if (*pp == a) {
            *pp = a->next_tuple;
            break;
        }
    for (int i = 0; i < 2; i++) {
        if (!a->relay[i].family) continue;
        for (relay_link **pp = &s->by_relay[rtc_addr_hash(&a->relay[i]) & mask]; *pp;
             pp = &(*pp)->next)
            if (*pp == &a->rl[i]) {
                *pp = a->rl[i].next;
                break;
            }
    }
    for (alloc_t **pp = &s->all; *pp; pp = &(*pp)->all_next)
        if (*pp == a) {
            *pp = a->all_next;
            break;
        }
    /* The app's unlisten closes every connection of a TCP relay, pending ones included. */
    for (tcp_pending **pp = &s->pending; *pp;) {
        tcp_pending *p = *pp;
        if (p->a == a) {
            *pp = p->next;
            s->n_pending--;
            rtc_free(&s->env, p, sizeof *p);
        } else {
            pp = &p->next;
        }
    }
    if (a->tcp_relay) s->cfg.tcp.unlisten(s->cfg.tcp.ud, a->handle[0]);
    else
        for (int i = 0; i < 2; i++)
            if (a->relay[i].family) s->cfg.relay.close(s->cfg.relay.ud, a->handle[i]);
    if (a->quota_held) s->cfg.quota.release(s->cfg.quota.ud, a->username, a->username_len);
    user_entry *u = user_find(s, a->username, a->username_len);
    if (u && u->allocations) u->allocations--;
    if (s->stats.allocations) s->stats.allocations--;
    RTC_LOGD(&s->env, "allocation ended (%zu live)", (size_t)s->stats.allocations);
    rtc_stun_key_clear(&a->key);
    rtc_free(&s->env, a->perms, a->cap_perms * sizeof *a->perms);
    rtc_free(&s->env, a->chans, a->cap_chans * sizeof *a->chans);
    rtc_free(&s->env, a, sizeof *a + a->username_len + 1);
}

static perm_t *perm_find(alloc_t *a, const rtc_addr *peer, rtc_time now) {
    for (size_t i = 0; i < a->n_perms; i++)
        if (a->perms[i].expires > now && rtc_addr_equal_ip(&a->perms[i].ip, peer)) return &a->perms[i];
    return NULL;
}

static int perm_install(rtc_turn_server *s, alloc_t *a, const rtc_addr *peer, rtc_time now) {
    rtc_time exp = now + RTC_SEC(s->cfg.permission_lifetime);
    for (size_t i = 0; i < a->n_perms; i++)
        if (rtc_addr_equal_ip(&a->perms[i].ip, peer)) {
            a->perms[i].expires = exp;
            return RTC_OK;
        }
    /* Reuse an expired slot before growing. */
    for (size_t i = 0; i < a->n_perms; i++)
        if (a->perms[i].expires <= now) {
            a->perms[i].ip = *peer;
            a->perms[i].expires = exp;
            return RTC_OK;
        }
    if (a->n_perms >= s->cfg.max_permissions) return RTC_ERR_NOMEM;
    if (a->n_perms == a->cap_perms) {
        size_t nc = a->cap_perms ? a->cap_perms * 2 : 2;
        perm_t *np = rtc_realloc(&s->env, a->perms, a->cap_perms * sizeof *np, nc * sizeof *np);
        if (!np) return RTC_ERR_NOMEM;
        a->perms = np;
        a->cap_perms = nc;
    }
    a->perms[a->n_perms].ip = *peer;
    a->perms[a->n_perms].expires = exp;
    a->n_perms++;
    return RTC_OK;
}

static chan_t *chan_by_number(alloc_t *a, uint16_t num, rtc_time now) {
    for (size_t i = 0; i < a->n_chans; i++)
        if (a->chans[i].number == num && a->chans[i].expires > now) return &a->chans[i];
    return NULL;
}

static chan_t *chan_by_peer(alloc_t *a, const rtc_addr *peer, rtc_time now) {
    for (size_t i = 0; i < a->n_chans; i++)
        if (a->chans[i].expires > now && rtc_addr_equal(&a->chans[i].peer, peer)) return &a->chans[i];
    return NULL;
}

/* ---- request handling ------------------------------------------------------------- */

static void add_tail(rtc_turn_server *s, rtc_stun_builder *b, const req_ctx *r) {
    if (s->cfg.software) rtc_stun_add_string(b, RTC_STUN_ATTR_SOFTWARE, s->cfg.software);
    if (r->have_key) rtc_stun_add_integrity(b, &r->key);
    if (r->msg->fp >= 0) rtc_stun_add_fingerprint(b);
}

static void send_error(rtc_turn_server *s, const req_ctx *r, int code, const char *reason) {
    RTC_LOGD(&s->env, "%s: error %d %s", rtc_stun_method_name(r->msg->method), code,
             reason ? reason : rtc_stun_error_reason(code));
    out_slot *o = out_begin(s);
    if (!o) return;
    rtc_stun_builder b;
    rtc_stun_build_error_response(&b, o->buf, sizeof o->buf, r->msg, code, reason);
    add_tail(s, &b, r);
    int n = rtc_stun_build_finish(&b);
    if (n > 0) out_to_client(s, o, r, (size_t)n);
}

/* Per-source rate limit for unauthenticated answers (401/438): a fixed table of
** buckets hashed by IP, so memory stays constant whatever the number of sources. */
static bool unauth_allowed(rtc_turn_server *s, rtc_time now, const rtc_addr *client) {
    rtc_addr ip = *client;
    ip.port = 0;
    rate_bucket *rb = &s->rate[rtc_addr_hash(&ip) % RTC_TURN_RATE_BUCKETS];
    if (now - rb->window_start >= RTC_SEC(1) || now < rb->window_start) {
        rb->window_start = now;
        rb->count = 0;
    }
    if (rb->count >= s->cfg.unauth_rate) return false;
    rb->count++;
    return true;
}

static void send_challenge(rtc_turn_server *s, const req_ctx *r, int code) {
    if (!unauth_allowed(s, r->now, r->client)) {
        s->stats.dropped++;
        return;
    }
    out_slot *o = out_begin(s);
    if (!o) return;
    char nonce[RTC_TURN_NONCE_LEN + 1];
    nonce_make(s, r->now, r->client, nonce);
    rtc_stun_builder b;
    rtc_stun_build_error_response(&b, o->buf, sizeof o->buf, r->msg, code, NULL);
    rtc_stun_add_string(&b, RTC_STUN_ATTR_REALM, s->cfg.realm);
    rtc_stun_add_string(&b, RTC_STUN_ATTR_NONCE, nonce);
    if (s->cfg.software) rtc_stun_add_string(&b, RTC_STUN_ATTR_SOFTWARE, s->cfg.software);
    if (r->msg->fp >= 0) rtc_stun_add_fingerprint(&b);
    int n = rtc_stun_build_finish(&b);
    if (n > 0) out_to_client(s, o, r, (size_t)n);
}

/*
** RFC 8489 §9.2.4: long-term credential check. On success fills r->key, r->username.
** Returns true when the request may proceed; otherwise the answer is already queued.
*/
static bool authenticate(rtc_turn_server *s, req_ctx *r) {
    const rtc_stun_msg *m = r->msg;
    const uint8_t *user, *realm, *nonce;
    size_t ulen, rlen, nlen;
    if (m->mi < 0) {
        send_challenge(s, r, RTC_STUN_ERR_UNAUTHENTICATED);
        return false;
    }
    if (rtc_stun_get_bytes(m, RTC_STUN_ATTR_USERNAME, &user, &ulen) != RTC_OK ||
        rtc_stun_get_bytes(m, RTC_STUN_ATTR_REALM, &realm, &rlen) != RTC_OK ||
        rtc_stun_get_bytes(m, RTC_STUN_ATTR_NONCE, &nonce, &nlen) != RTC_OK) {
        send_error(s, r, RTC_STUN_ERR_BAD_REQUEST, NULL);
        return false;
    }
    int nv = nonce_check(s, r->now, r->client, nonce, nlen);
    if (nv <= 0) {
        /* A forged nonce is treated like a stale one: the client gets a fresh one. */
        s->stats.stale_nonces++;
        send_challenge(s, r, RTC_STUN_ERR_STALE_NONCE);
        return false;
    }
    if (rlen != strlen(s->cfg.realm) || memcmp(realm, s->cfg.realm, rlen) != 0 ||
        ulen > RTC_TURN_MAX_USERNAME) {
        s->stats.auth_failures++;
        send_challenge(s, r, RTC_STUN_ERR_UNAUTHENTICATED);
        return false;
    }
    uint8_t keys[1 + RTC_TURN_MAX_SECRETS][16];
    int nk = user_keys(s, user, ulen, keys, (int)RTC_ARRAY_LEN(keys));
    for (int i = 0; i < nk; i++) {
        rtc_stun_key k;
        rtc_stun_key_set(&k, keys[i], 16);
        if (rtc_stun_check_integrity(m, &k) == RTC_OK) {
            r->key = k;
            r->have_key = true;
            memcpy(r->username, user, ulen);
            r->username_len = ulen;
            memset(keys, 0, sizeof keys);
            return true;
        }
        rtc_stun_key_clear(&k);
    }
    memset(keys, 0, sizeof keys);
    s->stats.auth_failures++;
    send_challenge(s, r, RTC_STUN_ERR_UNAUTHENTICATED);
    return false;
}

/* The allocation's user must be the one who authenticated this request (§7.3). */
static bool same_user(const alloc_t *a, const req_ctx *r) {
    return a->username_len == r->username_len && memcmp(a->username, r->username, r->username_len) == 0;
}

static void handle_binding(rtc_turn_server *s, req_ctx *r) {
    out_slot *o = out_begin(s);
    if (!o) return;
    rtc_stun_builder b;
    rtc_stun_build_response(&b, o->buf, sizeof o->buf, r->msg, RTC_STUN_SUCCESS);
    rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_MAPPED_ADDRESS, r->client);
    add_tail(s, &b, r);
    int n = rtc_stun_build_finish(&b);
    if (n > 0) out_to_client(s, o, r, (size_t)n);
}

static void allocate_success(rtc_turn_server *s, req_ctx *r, alloc_t *a) {
    out_slot *o = out_begin(s);
    if (!o) return;
    rtc_stun_builder b;
    rtc_stun_build_response(&b, o->buf, sizeof o->buf, r->msg, RTC_STUN_SUCCESS);
    for (int i = 0; i < 2; i++)
        if (a->relay[i].family) rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_RELAYED_ADDRESS, &a->relay[i]);
    rtc_time left = a->expires - r->now;
    rtc_stun_add_u32(&b, RTC_STUN_ATTR_LIFETIME, (uint32_t)(left > 0 ? (left + 999999) / 1000000 : 0));
    if (a->token) rtc_stun_add_u64(&b, RTC_STUN_ATTR_RESERVATION_TOKEN, a->token);
    rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_MAPPED_ADDRESS, r->client);
    add_tail(s, &b, r);
    int n = rtc_stun_build_finish(&b);
    if (n > 0) out_to_client(s, o, r, (size_t)n);
}

static uint32_t clamp_lifetime(const rtc_turn_server *s, const rtc_stun_msg *m) {
    uint32_t want;
    if (rtc_stun_get_u32(m, RTC_STUN_ATTR_LIFETIME, &want) != RTC_OK) want = s->cfg.default_lifetime;
    if (want < s->cfg.default_lifetime) want = s->cfg.default_lifetime; /* §7.2: at least default */
    if (want > s->cfg.max_lifetime) want = s->cfg.max_lifetime;
    return want;
}

static void handle_allocate(rtc_turn_server *s, req_ctx *r) {
    const rtc_stun_msg *m = r->msg;
    alloc_t *a = alloc_by_tuple(s, r->transport, r->listener, r->client);
    if (a) {
        /* A retransmitted Allocate gets the same success (§7.2 step 1); anything else 437. */
        if (memcmp(a->alloc_tid, m->tid, RTC_STUN_TID_LEN) == 0 && authenticate(s, r) && same_user(a, r))
            allocate_success(s, r, a);
        else if (r->have_key || memcmp(a->alloc_tid, m->tid, RTC_STUN_TID_LEN) != 0)
            send_error(s, r, RTC_STUN_ERR_ALLOCATION_MISMATCH, NULL);
        return;
    }
    if (!authenticate(s, r)) return;
    uint8_t proto;
    if (rtc_stun_get_requested_transport(m, &proto) != RTC_OK) {
        send_error(s, r, RTC_STUN_ERR_BAD_REQUEST, "REQUESTED-TRANSPORT missing");
        return;
    }
    bool tcp = proto == 6 && s->cfg.tcp.listen;
    if (proto != RTC_STUN_TRANSPORT_UDP && !tcp) {
        send_error(s, r, RTC_STUN_ERR_UNSUPPORTED_TRANSPORT, NULL);
        return;
    }
    /* RFC 6062 §5.1: a TCP allocation needs a TCP/TLS control connection, and has no
    ** EVEN-PORT, RESERVATION-TOKEN or second address family. */
    if (tcp && (r->transport != RTC_TURN_TCP || rtc_stun_find(m, RTC_STUN_ATTR_EVEN_PORT) ||
                rtc_stun_find(m, RTC_STUN_ATTR_RESERVATION_TOKEN) ||
                rtc_stun_find(m, RTC_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY))) {
        send_error(s, r, RTC_STUN_ERR_BAD_REQUEST, "TCP relay needs a TCP connection");
        return;
    }
    uint8_t fam = 0, addfam = 0;
    uint64_t token_in = 0;
    bool has_fam = rtc_stun_get_family(m, RTC_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, &fam) == RTC_OK;
    bool has_add = rtc_stun_get_family(m, RTC_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, &addfam) == RTC_OK;
    bool has_token = rtc_stun_get_u64(m, RTC_STUN_ATTR_RESERVATION_TOKEN, &token_in) == RTC_OK;
    bool even = false, reserve_next = false;
    bool has_even = rtc_stun_get_even_port(m, &reserve_next) == RTC_OK;
    even = has_even;
    /* §7.2 step 4-7: mutually exclusive attributes. */
    if ((has_token && (has_even || has_fam || has_add)) || (has_fam && has_add) ||
        (has_add && addfam != RTC_STUN_FAMILY_IPV6)) {
        send_error(s, r, RTC_STUN_ERR_BAD_REQUEST, NULL);
        return;
    }
    if (has_fam && fam != RTC_STUN_FAMILY_IPV4 && fam != RTC_STUN_FAMILY_IPV6) {
        send_error(s, r, RTC_STUN_ERR_ADDRESS_FAMILY_NOT_SUPPORTED, NULL);
        return;
    }
    user_entry *u = user_get(s, (const char *)r->username, r->username_len);
    if (!u || s->stats.allocations >= s->cfg.max_allocations || u->allocations >= s->cfg.user_quota) {
        s->stats.quota_rejections++;
        send_error(s, r, RTC_STUN_ERR_ALLOCATION_QUOTA_REACHED, NULL);
        return;
    }
    if (s->stats.allocations + 1 > s->n_buckets && table_grow(s) != RTC_OK) {
        send_error(s, r, RTC_STUN_ERR_INSUFFICIENT_CAPACITY, NULL);
        return;
    }
    /* Shared quotas (several servers, one per thread) after our own checks. */
    bool held = false;
    if (s->cfg.quota.acquire) {
        if (!s->cfg.quota.acquire(s->cfg.quota.ud, (const char *)r->username, r->username_len)) {
            s->stats.quota_rejections++;
            send_error(s, r, RTC_STUN_ERR_ALLOCATION_QUOTA_REACHED, NULL);
            return;
        }
        held = true;
    }
    a = rtc_calloc(&s->env, sizeof *a + r->username_len + 1);
    if (!a) {
        if (held) s->cfg.quota.release(s->cfg.quota.ud, (const char *)r->username, r->username_len);
        send_error(s, r, RTC_STUN_ERR_INSUFFICIENT_CAPACITY, NULL);
        return;
    }
    uint8_t fams[2] = {has_fam && fam == RTC_STUN_FAMILY_IPV6 ? RTC_AF_INET6 : RTC_AF_INET,
                       has_add ? RTC_AF_INET6 : 0};
    int failed = 0;
    if (tcp) {
        int rc = s->cfg.tcp.listen(s->cfg.tcp.ud, fams[0], &a->relay[0], &a->handle[0]);
        if (rc != RTC_OK) {
            memset(&a->relay[0], 0, sizeof a->relay[0]);
            failed = rc == RTC_ERR_UNSUPPORTED ? 440 : 508;
        }
        a->tcp_relay = rc == RTC_OK;
    }
    for (int i = 0; i < 2 && fams[i] && !tcp; i++) {
        uint64_t tok = 0;
        int rc = s->cfg.relay.open(s->cfg.relay.ud, fams[i], even && i == 0, reserve_next && i == 0,
                                   i == 0 ? token_in : 0, &a->relay[i], &a->handle[i], &tok);
        if (rc != RTC_OK) {
            memset(&a->relay[i], 0, sizeof a->relay[i]);
            failed = rc == RTC_ERR_UNSUPPORTED ? 440 : 508;
            break;
        }
        if (i == 0 && reserve_next) a->token = tok;
    }
    if (failed) {
        for (int i = 0; i < 2 && !tcp; i++)
            if (a->relay[i].family) s->cfg.relay.close(s->cfg.relay.ud, a->handle[i]);
        rtc_free(&s->env, a, sizeof *a + r->username_len + 1);
        if (held) s->cfg.quota.release(s->cfg.quota.ud, (const char *)r->username, r->username_len);
        send_error(s, r, failed, NULL);
        return;
    }
    a->transport = r->transport;
    a->listener = *r->listener;
    a->client = *r->client;
    a->tuple_hash = tuple_hash(r->transport, r->listener, r->client);
    memcpy(a->alloc_tid, m->tid, RTC_STUN_TID_LEN);
    memcpy(a->username, r->username, r->username_len);
    a->username_len = r->username_len;
    a->key = r->key;
    a->quota_held = held;
    a->expires = r->now + RTC_SEC(clamp_lifetime(s, m));
    a->bucket_time = r->now;
    uint32_t mask = (uint32_t)(s->n_buckets - 1);
    a->next_tuple = s->by_tuple[a->tuple_hash & mask];
    s->by_tuple[a->tuple_hash & mask] = a;
    for (int i = 0; i < 2; i++)
        if (a->relay[i].family) {
            uint32_t h = rtc_addr_hash(&a->relay[i]) & mask;
            a->rl[i].a = a;
            a->rl[i].slot = i;
            a->rl[i].next = s->by_relay[h];
            s->by_relay[h] = &a->rl[i];
        }
    a->all_next = s->all;
    s->all = a;
    u->allocations++;
    s->stats.allocations++;
    s->stats.allocations_total++;
    if (rtc_log_enabled(&s->env, RTC_LOG_INFO)) {
        char c[RTC_ADDR_STRLEN], rl[RTC_ADDR_STRLEN];
        rtc_addr_fmt(r->client, c, sizeof c);
        rtc_addr_fmt(&a->relay[0], rl, sizeof rl);
        RTC_LOGI(&s->env, "allocation %s -> relay %s user %.*s", c, rl, (int)r->username_len,
                 (const char *)r->username);
    }
    allocate_success(s, r, a);
}

static void simple_success(rtc_turn_server *s, req_ctx *r, bool lifetime, uint32_t secs) {
    out_slot *o = out_begin(s);
    if (!o) return;
    rtc_stun_builder b;
    rtc_stun_build_response(&b, o->buf, sizeof o->buf, r->msg, RTC_STUN_SUCCESS);
    if (lifetime) rtc_stun_add_u32(&b, RTC_STUN_ATTR_LIFETIME, secs);
    add_tail(s, &b, r);
    int n = rtc_stun_build_finish(&b);
    if (n > 0) out_to_client(s, o, r, (size_t)n);
}

/* Common prologue of Refresh/CreatePermission/ChannelBind: allocation + auth + owner. */
static alloc_t *authed_alloc(rtc_turn_server *s, req_ctx *r) {
    alloc_t *a = alloc_by_tuple(s, r->transport, r->listener, r->client);
    if (!authenticate(s, r)) return NULL;
    if (!a || !same_user(a, r)) {
        send_error(s, r, RTC_STUN_ERR_ALLOCATION_MISMATCH, NULL);
        return NULL;
    }
    return a;
}

static void handle_refresh(rtc_turn_server *s, req_ctx *r) {
    alloc_t *a = authed_alloc(s, r);
    if (!a) return;
    uint32_t want;
    bool has = rtc_stun_get_u32(r->msg, RTC_STUN_ATTR_LIFETIME, &want) == RTC_OK;
    uint8_t fam;
    if (rtc_stun_get_family(r->msg, RTC_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, &fam) == RTC_OK) {
        uint8_t af = fam == RTC_STUN_FAMILY_IPV6 ? RTC_AF_INET6 : RTC_AF_INET;
        if (a->relay[0].family != af && a->relay[1].family != af) {
            send_error(s, r, RTC_STUN_ERR_PEER_ADDRESS_FAMILY_MISMATCH, NULL);
            return;
        }
    }
    if (has && want == 0) {
        simple_success(s, r, true, 0);
        alloc_free(s, a);
        return;
    }
    uint32_t secs = clamp_lifetime(s, r->msg);
    a->expires = r->now + RTC_SEC(secs);
    simple_success(s, r, true, secs);
}

/* Reads and checks every XOR-PEER-ADDRESS; answers and returns false on a bad one. */
static bool check_peer(rtc_turn_server *s, req_ctx *r, alloc_t *a, const rtc_addr *peer) {
    if (!rtc_turn_server_peer_allowed(s, peer)) {
        s->stats.denied_peers++;
        send_error(s, r, RTC_STUN_ERR_FORBIDDEN, "Peer address not allowed");
        return false;
    }
    if (a->relay[0].family != peer->family && a->relay[1].family != peer->family) {
        send_error(s, r, RTC_STUN_ERR_PEER_ADDRESS_FAMILY_MISMATCH, NULL);
        return false;
    }
    return true;
}

static void handle_create_permission(rtc_turn_server *s, req_ctx *r) {
    alloc_t *a = authed_alloc(s, r);
    if (!a) return;
    const rtc_stun_attr *at = rtc_stun_find(r->msg, RTC_STUN_ATTR_XOR_PEER_ADDRESS);
    if (!at) {
        send_error(s, r, RTC_STUN_ERR_BAD_REQUEST, "XOR-PEER-ADDRESS missing");
        return;
    }
    /* §9.2: all or nothing — check every address before installing any. */
    rtc_addr peers[16];
    size_t n = 0;
    for (; at; at = rtc_stun_find_next(r->msg, at)) {
        if (n == RTC_ARRAY_LEN(peers) || rtc_stun_attr_xor_addr(r->msg, at, &peers[n]) != RTC_OK) {
            send_error(s, r, RTC_STUN_ERR_BAD_REQUEST, NULL);
            return;
        }
        if (!check_peer(s, r, a, &peers[n])) return;
        n++;
    }
    for (size_t i = 0; i < n; i++)
        if (perm_install(s, a, &peers[i], r->now) != RTC_OK) {
            send_error(s, r, RTC_STUN_ERR_INSUFFICIENT_CAPACITY, "Too many permissions");
            return;
        }
    simple_success(s, r, false, 0);
}

static void handle_channel_bind(rtc_turn_server *s, req_ctx *r) {
    alloc_t *a = authed_alloc(s, r);
    if (!a) return;
    uint16_t num;
    rtc_addr peer;
    /* RFC 8656 §12 narrowed channels to 0x4000-0x4FFF; RFC 5766 clients (coTURN's
    ** turnutils_uclient picks random numbers up to 0x7FFF) still use the old range, which
    ** RFC 7983 demultiplexing keeps unambiguous (first byte 64..127 is never RTP/DTLS). */
    if (rtc_stun_get_channel_number(r->msg, &num) != RTC_OK || num < 0x4000 || num > 0x7FFF ||
        rtc_stun_get_xor_addr(r->msg, RTC_STUN_ATTR_XOR_PEER_ADDRESS, &peer) != RTC_OK) {
        send_error(s, r, RTC_STUN_ERR_BAD_REQUEST, NULL);
        return;
    }
    if (!check_peer(s, r, a, &peer)) return;
    chan_t *byn = chan_by_number(a, num, r->now);
    chan_t *byp = chan_by_peer(a, &peer, r->now);
    /* §11.2: a channel is bound to one peer and a peer to one channel. */
    if (byn != byp) {
        send_error(s, r, RTC_STUN_ERR_BAD_REQUEST, "Channel or peer already bound");
        return;
    }
    chan_t *c = byn;
    if (!c) {
        for (size_t i = 0; i < a->n_chans && !c; i++)
            if (a->chans[i].expires <= r->now) c = &a->chans[i];
        if (!c) {
            if (a->n_chans >= s->cfg.max_channels) {
                send_error(s, r, RTC_STUN_ERR_INSUFFICIENT_CAPACITY, "Too many channels");
                return;
            }
            if (a->n_chans == a->cap_chans) {
                size_t nc = a->cap_chans ? a->cap_chans * 2 : 2;
                chan_t *np = rtc_realloc(&s->env, a->chans, a->cap_chans * sizeof *np, nc * sizeof *np);
                if (!np) {
                    send_error(s, r, RTC_STUN_ERR_INSUFFICIENT_CAPACITY, NULL);
                    return;
                }
                a->chans = np;
                a->cap_chans = nc;
            }
            c = &a->chans[a->n_chans++];
        }
        c->number = num;
        c->peer = peer;
    }
    if (perm_install(s, a, &peer, r->now) != RTC_OK) {
        send_error(s, r, RTC_STUN_ERR_INSUFFICIENT_CAPACITY, "Too many permissions");
        return;
    }
    c->expires = r->now + RTC_SEC(s->cfg.channel_lifetime);
    simple_success(s, r, false, 0);
}

/* Token bucket for --bps-capacity; true when `len` bytes may be relayed now. */
static bool bandwidth_ok(rtc_turn_server *s, alloc_t *a, rtc_time now, size_t len) {
    if (!s->cfg.bps_capacity) return true;
    rtc_time dt = now - a->bucket_time;
    if (dt > 0) {
        uint64_t add = (uint64_t)dt * s->cfg.bps_capacity / 1000000u;
        a->bucket = add > s->cfg.bps_capacity || a->bucket + add > s->cfg.bps_capacity
                        ? s->cfg.bps_capacity
                        : a->bucket + add;
        a->bucket_time = now;
    }
    if (a->bucket < len) return false;
    a->bucket -= len;
    return true;
}

/* Queue `data` from the allocation's relay (of the peer's family) to `peer`. */
static void relay_to_peer(rtc_turn_server *s, alloc_t *a, rtc_time now, const rtc_addr *peer,
                          const uint8_t *data, size_t len) {
    int i = a->relay[0].family == peer->family ? 0 : a->relay[1].family == peer->family ? 1 : -1;
    if (i < 0 || len > RTC_TURN_MAX_DATA || !bandwidth_ok(s, a, now, len)) {
        s->stats.dropped++;
        return;
    }
    out_slot *o = out_begin(s);
    if (!o) return;
    memcpy(o->buf, data, len);
    o->t.from_relay = true;
    o->t.from = a->relay[i];
    o->t.to = *peer;
    o->t.relay_handle = a->handle[i];
    out_commit(s, o, len);
    s->stats.relayed_packets++;
    s->stats.relayed_bytes += len;
}

/* ---- RFC 6062 TCP relaying ------------------------------------------------------------- */

static tcp_pending *pending_find(const rtc_turn_server *s, uint32_t id) {
    for (tcp_pending *p = s->pending; p; p = p->next)
        if (p->id == id) return p;
    return NULL;
}

static tcp_pending *pending_new(rtc_turn_server *s, alloc_t *a, const rtc_addr *peer, rtc_time now) {
    if (s->n_pending >= RTC_TURN_TCP_PENDING_MAX) return NULL;
    tcp_pending *p = rtc_calloc(&s->env, sizeof *p);
    if (!p) return NULL;
    do { /* unique, non-zero: ids are unguessable so a stranger cannot bind */
        rtc_random(&s->env, (uint8_t *)&p->id, sizeof p->id);
    } while (!p->id || pending_find(s, p->id));
    p->a = a;
    p->peer = *peer;
    p->expires = now + RTC_TURN_TCP_BIND_US;
    p->next = s->pending;
    s->pending = p;
    s->n_pending++;
    return p;
}

/* §5.2: Connect: open a TCP connection from the relayed address to the peer. */
static void handle_connect(rtc_turn_server *s, req_ctx *r) {
    alloc_t *a = authed_alloc(s, r);
    if (!a) return;
    rtc_addr peer;
    if (!a->tcp_relay ||
        rtc_stun_get_xor_addr(r->msg, RTC_STUN_ATTR_XOR_PEER_ADDRESS, &peer) != RTC_OK) {
        send_error(s, r, RTC_STUN_ERR_BAD_REQUEST, NULL);
        return;
    }
    if (!check_peer(s, r, a, &peer)) return;
    for (tcp_pending *p = s->pending; p; p = p->next)
        if (p->a == a && rtc_addr_equal(&p->peer, &peer)) {
            send_error(s, r, RTC_STUN_ERR_CONNECTION_ALREADY_EXISTS, NULL);
            return;
        }
    tcp_pending *p = pending_new(s, a, &peer, r->now);
    if (!p) {
        send_error(s, r, RTC_STUN_ERR_INSUFFICIENT_CAPACITY, NULL);
        return;
    }
    p->connecting = true;
    memcpy(p->tid, r->msg->tid, RTC_STUN_TID_LEN);
    if (s->cfg.tcp.connect(s->cfg.tcp.ud, a->handle[0], &peer, p->id) != RTC_OK) {
        pending_unlink(s, p);
        send_error(s, r, RTC_STUN_ERR_CONNECTION_TIMEOUT, NULL);
    }
}

/* The Connect answer, built later than its request: integrity with the allocation's key. */
static void connect_answer(rtc_turn_server *s, tcp_pending *p, int code) {
    alloc_t *a = p->a;
    out_slot *o = out_begin(s);
    if (!o) return;
    rtc_stun_builder b;
    rtc_stun_build_init(&b, o->buf, sizeof o->buf, RTC_STUN_CONNECT,
                        code ? RTC_STUN_ERROR : RTC_STUN_SUCCESS, p->tid);
    if (code) rtc_stun_add_error_code(&b, code, NULL);
    else rtc_stun_add_u32(&b, RTC_STUN_ATTR_CONNECTION_ID, p->id);
    if (s->cfg.software) rtc_stun_add_string(&b, RTC_STUN_ATTR_SOFTWARE, s->cfg.software);
    rtc_stun_add_integrity(&b, &a->key);
    rtc_stun_add_fingerprint(&b);
    int n = rtc_stun_build_finish(&b);
    if (n <= 0) return;
    o->t.from_relay = false;
    o->t.transport = (rtc_turn_transport)a->transport;
    o->t.from = a->listener;
    o->t.to = a->client;
    out_commit(s, o, (size_t)n);
}

int rtc_turn_server_tcp_connected(rtc_turn_server *s, rtc_time now, uint32_t conn_id, bool ok) {
    if (!s) return RTC_ERR_INVALID;
    tcp_pending *p = pending_find(s, conn_id);
    if (!p || !p->connecting) return RTC_ERR_NOT_FOUND;
    if (!ok) {
        connect_answer(s, p, RTC_STUN_ERR_CONNECTION_TIMEOUT);
        pending_unlink(s, p);
        return RTC_OK;
    }
    p->connecting = false;
    p->expires = now + RTC_TURN_TCP_BIND_US;
    (void)perm_install(s, p->a, &p->peer, now); /* the client asked for this peer */
    connect_answer(s, p, 0);
    return RTC_OK;
}

/* §5.3: a peer connected to the relayed address: tell the client if it may. */
int rtc_turn_server_tcp_peer_accepted(rtc_turn_server *s, rtc_time now, const rtc_addr *relay,
                                      const rtc_addr *peer, uint32_t *conn_id) {
    if (!s || !relay || !peer || !conn_id) return RTC_ERR_INVALID;
    alloc_t *a = alloc_by_tcp_relay(s, relay);
    if (!a || a->expires <= now || !perm_find(a, peer, now)) {
        s->stats.dropped++;
        return RTC_ERR_NOT_FOUND;
    }
    out_slot *o = out_begin(s);
    if (!o) return RTC_ERR_NOMEM;
    tcp_pending *p = pending_new(s, a, peer, now);
    if (!p) {
        s->stats.dropped++;
        return RTC_ERR_NOMEM;
    }
    uint8_t tid[RTC_STUN_TID_LEN];
    rtc_random(&s->env, tid, sizeof tid);
    rtc_stun_builder b;
    rtc_stun_build_init(&b, o->buf, sizeof o->buf, RTC_STUN_CONNECTION_ATTEMPT, RTC_STUN_INDICATION,
                        tid);
    rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_PEER_ADDRESS, peer);
    rtc_stun_add_u32(&b, RTC_STUN_ATTR_CONNECTION_ID, p->id);
    rtc_stun_add_fingerprint(&b);
    int n = rtc_stun_build_finish(&b);
    if (n <= 0) {
        pending_unlink(s, p);
        return RTC_ERR_TOO_SMALL;
    }
    o->t.from_relay = false;
    o->t.transport = (rtc_turn_transport)a->transport;
    o->t.from = a->listener;
    o->t.to = a->client;
    out_commit(s, o, (size_t)n);
    *conn_id = p->id;
    return RTC_OK;
}

/* §5.4: ConnectionBind on a new TCP connection makes it the data connection of conn_id. */
static void handle_connection_bind(rtc_turn_server *s, req_ctx *r) {
    if (r->transport != RTC_TURN_TCP || alloc_by_tuple(s, r->transport, r->listener, r->client)) {
        send_error(s, r, RTC_STUN_ERR_BAD_REQUEST, NULL);
        return;
    }
    if (!authenticate(s, r)) return;
    uint32_t id;
    tcp_pending *p = rtc_stun_get_u32(r->msg, RTC_STUN_ATTR_CONNECTION_ID, &id) == RTC_OK
                         ? pending_find(s, id)
                         : NULL;
    /* Only the allocation's own user may take the connection. */
    if (!p || p->connecting || !same_user(p->a, r) || !s->cfg.tcp.bind) {
        send_error(s, r, RTC_STUN_ERR_BAD_REQUEST, "Unknown CONNECTION-ID");
        return;
    }
    simple_success(s, r, false, 0);
    pending_unlink(s, p);
    s->cfg.tcp.bind(s->cfg.tcp.ud, id, r->listener, r->client);
}

static void handle_send(rtc_turn_server *s, req_ctx *r) {
    alloc_t *a = alloc_by_tuple(s, r->transport, r->listener, r->client);
    rtc_addr peer;
    const uint8_t *data;
    size_t len;
    /* §10.2: indications are never answered; anything wrong drops them. */
    if (!a || rtc_stun_get_xor_addr(r->msg, RTC_STUN_ATTR_XOR_PEER_ADDRESS, &peer) != RTC_OK ||
        rtc_stun_get_bytes(r->msg, RTC_STUN_ATTR_DATA, &data, &len) != RTC_OK ||
        !perm_find(a, &peer, r->now)) {
        s->stats.dropped++;
        return;
    }
    relay_to_peer(s, a, r->now, &peer, data, len);
}

static int handle_channel_data(rtc_turn_server *s, rtc_time now, int transport,
                               const rtc_addr *listener, const rtc_addr *client, const uint8_t *buf,
                               size_t len) {
    if (len < 4) return RTC_ERR_PARSE;
    uint16_t num = rtc_be16(buf), dlen = rtc_be16(buf + 2);
    /* Over UDP the datagram may carry padding after the data (§12.4); never less. */
    if ((size_t)dlen + 4 > len) return RTC_ERR_PARSE;
    alloc_t *a = alloc_by_tuple(s, transport, listener, client);
    chan_t *c = a ? chan_by_number(a, num, now) : NULL;
    if (!c || !perm_find(a, &c->peer, now)) {
        s->stats.dropped++;
        return RTC_ERR_NOT_FOUND;
    }
    relay_to_peer(s, a, now, &c->peer, buf + 4, dlen);
    return RTC_OK;
}

int rtc_turn_server_handle_client(rtc_turn_server *s, rtc_time now, rtc_turn_transport transport,
                                  const rtc_addr *listener, const rtc_addr *client,
                                  const uint8_t *buf, size_t len) {
    if (!s || !listener || !client || (!buf && len)) return RTC_ERR_INVALID;
    if (len >= 1 && (buf[0] & 0xC0) == 0x40)
        return handle_channel_data(s, now, transport, listener, client, buf, len);
    rtc_stun_msg m;
    int rc = rtc_stun_parse(&m, buf, len);
    if (rc != RTC_OK && rc != RTC_ERR_UNSUPPORTED) {
        s->stats.dropped++;
        return RTC_ERR_PARSE;
    }
    req_ctx r = {.now = now, .transport = transport, .listener = listener, .client = client, .msg = &m};
    if (m.cls == RTC_STUN_INDICATION) {
        if (rc == RTC_OK && m.method == RTC_STUN_SEND) handle_send(s, &r);
        return RTC_OK;
    }
    if (m.cls != RTC_STUN_REQUEST) return RTC_OK; /* responses to a server: drop */
    if (rc == RTC_ERR_UNSUPPORTED) {
        send_error(s, &r, RTC_STUN_ERR_UNKNOWN_ATTRIBUTE, NULL);
        return RTC_OK;
    }
    switch (m.method) {
    case RTC_STUN_BINDING: handle_binding(s, &r); break;
    case RTC_STUN_ALLOCATE: handle_allocate(s, &r); break;
    case RTC_STUN_REFRESH: handle_refresh(s, &r); break;
    case RTC_STUN_CREATE_PERMISSION: handle_create_permission(s, &r); break;
    case RTC_STUN_CHANNEL_BIND: handle_channel_bind(s, &r); break;
    case RTC_STUN_CONNECT: handle_connect(s, &r); break;
    case RTC_STUN_CONNECTION_BIND: handle_connection_bind(s, &r); break;
    default: send_error(s, &r, RTC_STUN_ERR_BAD_REQUEST, "Unsupported method"); break;
    }
    r.key = (rtc_stun_key){0};
    return RTC_OK;
}

int rtc_turn_server_handle_peer(rtc_turn_server *s, rtc_time now, const rtc_addr *relay,
                                const rtc_addr *peer, const uint8_t *buf, size_t len) {
    if (!s || !relay || !peer || (!buf && len)) return RTC_ERR_INVALID;
    int which;
    alloc_t *a = alloc_by_relay(s, relay, &which);
    if (!a || a->expires <= now || !perm_find(a, peer, now) || len > RTC_TURN_MAX_DATA ||
        !bandwidth_ok(s, a, now, len)) {
        s->stats.dropped++;
        return RTC_ERR_NOT_FOUND;
    }
    out_slot *o = out_begin(s);
    if (!o) return RTC_ERR_NOMEM;
    chan_t *c = chan_by_peer(a, peer, now);
    size_t n;
    if (c) {
        /* ChannelData (§12.4); over TCP padded to 4 (§12.5). */
        rtc_put_be16(o->buf, c->number);
        rtc_put_be16(o->buf + 2, (uint16_t)len);
        memcpy(o->buf + 4, buf, len);
        n = 4 + len;
        if (a->transport == RTC_TURN_TCP)
            while (n % 4) o->buf[n++] = 0;
    } else {
        /* Data indication (§11.4) with a fresh random transaction id. */
        uint8_t tid[RTC_STUN_TID_LEN];
        rtc_random(&s->env, tid, sizeof tid);
        rtc_stun_builder b;
        rtc_stun_build_init(&b, o->buf, sizeof o->buf, RTC_STUN_DATA, RTC_STUN_INDICATION, tid);
        rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_PEER_ADDRESS, peer);
        rtc_stun_add_attr(&b, RTC_STUN_ATTR_DATA, buf, len);
        int bn = rtc_stun_build_finish(&b);
        if (bn <= 0) {
            s->stats.dropped++;
            return RTC_ERR_TOO_SMALL;
        }
        n = (size_t)bn;
    }
    o->t.from_relay = false;
    o->t.transport = (rtc_turn_transport)a->transport;
    o->t.from = a->listener;
    o->t.to = a->client;
    out_commit(s, o, n);
    s->stats.relayed_packets++;
    s->stats.relayed_bytes += len;
    return RTC_OK;
}

void rtc_turn_server_client_closed(rtc_turn_server *s, const rtc_addr *listener,
                                   const rtc_addr *client) {
    if (!s || !listener || !client) return;
    alloc_t *a = alloc_by_tuple(s, RTC_TURN_TCP, listener, client);
    if (a) alloc_free(s, a);
}

int rtc_turn_server_handle_timeout(rtc_turn_server *s, rtc_time now) {
    if (!s) return RTC_ERR_INVALID;
    if (now < s->next_sweep) return RTC_OK;
    s->next_sweep = now + RTC_SEC(1);
    /* RFC 6062: Connects that never finished get 447; unbound connections are closed. */
    for (tcp_pending **pp = &s->pending; *pp;) {
        tcp_pending *p = *pp;
        if (p->expires > now) {
            pp = &p->next;
            continue;
        }
        if (p->connecting) connect_answer(s, p, RTC_STUN_ERR_CONNECTION_TIMEOUT);
        s->cfg.tcp.drop(s->cfg.tcp.ud, p->id);
        *pp = p->next;
        s->n_pending--;
        rtc_free(&s->env, p, sizeof *p);
    }
    alloc_t *a = s->all;
    while (a) {
        alloc_t *next = a->all_next;
        if (a->expires <= now) {
            alloc_free(s, a);
        } else {
            /* Compact expired permissions and channels. */
            size_t w = 0;
            for (size_t i = 0; i < a->n_perms; i++)
                if (a->perms[i].expires > now) a->perms[w++] = a->perms[i];
            a->n_perms = w;
            w = 0;
            for (size_t i = 0; i < a->n_chans; i++)
                if (a->chans[i].expires > now) a->chans[w++] = a->chans[i];
            a->n_chans = w;
        }
        a = next;
    }
    return RTC_OK;
}

rtc_time rtc_turn_server_next_timeout(const rtc_turn_server *s) {
    if (!s || !s->all) return RTC_TIME_NEVER;
    return s->next_sweep;
}

void rtc_turn_server_get_stats(const rtc_turn_server *s, rtc_turn_server_stats *st) {
    if (s && st) *st = s->stats;
}

/* ---- lifecycle ------------------------------------------------------------------------ */

static int copy_ranges(rtc_turn_server *s, const rtc_turn_ip_range *src, size_t n,
                       rtc_turn_ip_range **dst) {
    *dst = NULL;
    if (!n) return RTC_OK;
    *dst = rtc_calloc(&s->env, n * sizeof **dst);
    if (!*dst) return RTC_ERR_NOMEM;
    memcpy(*dst, src, n * sizeof **dst);
    return RTC_OK;
}

int rtc_turn_server_new(rtc_turn_server **out, const rtc_turn_server_config *cfg,
                        const rtc_env *env) {
    if (!out) return RTC_ERR_INVALID;
    *out = NULL;
    if (!cfg || !cfg->realm || !*cfg->realm || strlen(cfg->realm) > 255 || !cfg->relay.open ||
        !cfg->relay.close)
        return RTC_ERR_INVALID;
    if (!cfg->quota.acquire != !cfg->quota.release) return RTC_ERR_INVALID; /* both or none */
    if (cfg->tcp.listen && (!cfg->tcp.unlisten || !cfg->tcp.connect || !cfg->tcp.drop || !cfg->tcp.bind))
        return RTC_ERR_INVALID; /* RFC 6062 needs every hook */
    rtc_env e;
    rtc_env_copy(&e, env);
    rtc_turn_server *s = rtc_calloc(&e, sizeof *s);
    if (!s) return RTC_ERR_NOMEM;
    s->env = e;
    s->cfg = *cfg;
    s->cfg.realm = NULL;
    s->cfg.software = NULL;
#define DEF(f, v) if (!s->cfg.f) s->cfg.f = (v)
    DEF(default_lifetime, 600);
    DEF(max_lifetime, 3600);
    DEF(permission_lifetime, 300);
    DEF(channel_lifetime, 600);
    DEF(max_allocations, 100000);
    DEF(user_quota, 1000);
    DEF(max_permissions, RTC_TURN_MAX_PERMS);
    DEF(max_channels, RTC_TURN_MAX_CHANS);
    if (s->cfg.max_permissions > RTC_TURN_MAX_PERMS) s->cfg.max_permissions = RTC_TURN_MAX_PERMS;
    if (s->cfg.max_channels > RTC_TURN_MAX_CHANS) s->cfg.max_channels = RTC_TURN_MAX_CHANS;
    DEF(unauth_rate, 20);
#undef DEF
    if (s->cfg.default_lifetime > s->cfg.max_lifetime) s->cfg.default_lifetime = s->cfg.max_lifetime;
    s->nonce_lifetime = cfg->nonce_lifetime ? cfg->nonce_lifetime : RTC_SEC(600);
    rtc_random(&s->env, s->nonce_key, sizeof s->nonce_key);
    rtc_turn_ip_range *al = NULL, *de = NULL;
    s->realm_buf = rtc_strdup(&s->env, cfg->realm);
    s->software_buf = cfg->software ? rtc_strdup(&s->env, cfg->software) : NULL;
    if (!s->realm_buf || (cfg->software && !s->software_buf) ||
        copy_ranges(s, cfg->allowed_peers, cfg->n_allowed_peers, &al) ||
        copy_ranges(s, cfg->denied_peers, cfg->n_denied_peers, &de)) {
        s->cfg.allowed_peers = al;
        s->cfg.denied_peers = de;
        rtc_turn_server_free(s);
        return RTC_ERR_NOMEM;
    }
    s->cfg.realm = s->realm_buf;
    s->cfg.software = s->software_buf;
    s->cfg.allowed_peers = al;
    s->cfg.denied_peers = de;
    *out = s;
    return RTC_OK;
}

int rtc_turn_server_set_nonce_key(rtc_turn_server *s, const uint8_t key[32]) {
    if (!s || !key) return RTC_ERR_INVALID;
    memcpy(s->nonce_key, key, sizeof s->nonce_key);
    return RTC_OK;
}

void rtc_turn_server_free(rtc_turn_server *s) {
    if (!s) return;
    while (s->all) alloc_free(s, s->all);
    rtc_turn_server_clear_credentials(s);
    for (size_t i = 0; i < s->n_user_buckets; i++) {
        user_entry *u = s->user_buckets[i];
        while (u) {
            user_entry *next = u->next;
            rtc_free(&s->env, u, sizeof *u + u->name_len + 1);
            u = next;
        }
    }
    rtc_free(&s->env, s->user_buckets, s->n_user_buckets * sizeof *s->user_buckets);
    rtc_free(&s->env, s->by_tuple, s->n_buckets * sizeof *s->by_tuple);
    rtc_free(&s->env, s->by_relay, s->n_buckets * sizeof *s->by_relay);
    rtc_free(&s->env, (void *)s->cfg.allowed_peers, s->cfg.n_allowed_peers * sizeof(rtc_turn_ip_range));
    rtc_free(&s->env, (void *)s->cfg.denied_peers, s->cfg.n_denied_peers * sizeof(rtc_turn_ip_range));
    rtc_strfree(&s->env, s->realm_buf);
    rtc_strfree(&s->env, s->software_buf);
    memset(s->nonce_key, 0, sizeof s->nonce_key);
    rtc_env e = s->env;
    rtc_free(&e, s, sizeof *s);
}
