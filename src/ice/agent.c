/*
** src/ice/agent.c: the agent's lifecycle, local candidates (RFC 8445 §5.1), trickle
** (RFC 8838), remote candidates and their bounds, the output queues and the W3C states.
** Connectivity checks, nomination and consent live in check.c.
*/
#include <stdio.h>
#include <string.h>

#include "ice/ice_int.h"
#include "util/buf.h"

#define LOG_MODULE "ice"

#define DEF_TA               RTC_MS(50)
#define DEF_CHECK_RTO        RTC_MS(500)
#define DEF_CHECK_RC         3
#define DEF_NOMINATION_DELAY RTC_MS(100)
#define DEF_CONSENT_INTERVAL RTC_SEC(5)
#define DEF_CONSENT_TIMEOUT  RTC_SEC(30)
#define DEF_DISCONNECTED     RTC_SEC(10)
#define DEF_KEEPALIVE        RTC_SEC(15)
#define DEF_RESOLVE_TIMEOUT  RTC_SEC(5)
#define DEF_MAX_REMOTE       64
#define DEF_MAX_PAIRS        100
#define DEF_MAX_LOCAL        32
#define HARD_MAX_TABLE       4096

/* Server-reflexive requests (RFC 8445 §5.1.1.2 leaves the schedule to RFC 8489): a
** shorter give-up than checks, so an unreachable server does not hold gathering for 39 s. */
#define SRFLX_RC 4
#define SRFLX_RM 2

const char *rtc_ice_state_name(int s) {
    static const char *n[] = {"new",          "checking", "connected", "completed",
                              "disconnected", "failed",   "closed"};
    return s >= 0 && s <= RTC_ICE_STATE_CLOSED ? n[s] : "unknown";
}

const char *rtc_ice_gathering_state_name(int s) {
    static const char *n[] = {"new", "gathering", "complete"};
    return s >= 0 && s <= RTC_ICE_GATHERING_COMPLETE ? n[s] : "unknown";
}

static bool valid_ice_string(const char *s, size_t min, size_t max) {
    size_t n = strnlen(s, max + 1);
    if (n < min || n > max) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/'))
            return false;
    }
    return true;
}

static uint32_t str_hash(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h ? h : 1;
}

/* Make room for `need` elements of `elem` bytes in the table *arr (capacity *cap), at most
** `max`: doubles from `first`. Zeroes the new part. RTC_OK or RTC_ERR_NOMEM. Moves *arr. */
static int ice_grow(rtc_ice *ice, void **arr, size_t *cap, size_t elem, size_t need,
                    size_t first, size_t max) {
    if (need <= *cap) return RTC_OK;
    if (need > max) return RTC_ERR_NOMEM;
    size_t ncap = *cap ? *cap * 2 : first;
    if (ncap < need) ncap = need;
    if (ncap > max) ncap = max;
    uint8_t *n = rtc_realloc(&ice->env, *arr, *cap * elem, ncap * elem);
    if (!n) return RTC_ERR_NOMEM;
    memset(n + *cap * elem, 0, (ncap - *cap) * elem);
    *arr = n;
    *cap = ncap;
    return RTC_OK;
}

int ice_reserve_pair(rtc_ice *ice) {
    void *a = ice->pairs;
    int rc = ice_grow(ice, &a, &ice->pairs_cap, sizeof *ice->pairs, ice->n_pairs + 1, 4,
                      ice->cfg.max_pairs);
    ice->pairs = a;
    return rc;
}

/* ---- output queues ------------------------------------------------------------------ */

void ice_emit(rtc_ice *ice, const rtc_ice_event *ev) {
    if (ice->evq_len >= ice->evq_cap && ice->evq_cap < ICE_EVQ_CAP) {
        /* Grow the ring (events are ~1.2 KB; most of the time one or two are pending, and
        ** the ring is freed when it drains). */
        size_t ncap = ice->evq_cap ? ice->evq_cap * 2 : 1;
        if (ncap > ICE_EVQ_CAP) ncap = ICE_EVQ_CAP;
        rtc_ice_event *q = rtc_calloc(&ice->env, ncap * sizeof *q);
        if (q) {
            for (size_t i = 0; i < ice->evq_len; i++)
                q[i] = ice->evq[(ice->evq_head + i) % ice->evq_cap];
            rtc_free(&ice->env, ice->evq, ice->evq_cap * sizeof *ice->evq);
            ice->evq = q;
            ice->evq_cap = ncap;
            ice->evq_head = 0;
        }
    }
    if (ice->evq_len >= ice->evq_cap) {
        /* The caller drains after every call, so this only happens when it does not:
        ** dropping keeps memory bounded; the state can still be read with getters. */
        RTC_LOGW(&ice->env, "event queue full, event %d dropped", ev->type);
        return;
    }
    ice->evq[(ice->evq_head + ice->evq_len) % ice->evq_cap] = *ev;
    ice->evq_len++;
}

void ice_emit_state(rtc_ice *ice, int type, int state) {
    rtc_ice_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.state = state;
    ice_emit(ice, &ev);
}

/* The transmit ring: a copy of each datagram, grown on demand, freed when it drains. */
static void txq_release_if_empty(rtc_ice *ice) {
    if (ice->txq_len || !ice->txq) return;
    rtc_free(&ice->env, ice->txq, ice->txq_cap * sizeof *ice->txq);
    ice->txq = NULL;
    ice->txq_cap = ice->txq_head = 0;
}

int ice_queue_tx(rtc_ice *ice, const rtc_addr *src, const rtc_addr *dst, uint32_t relay_id,
                 const uint8_t *data, size_t len) {
    if (ice->closed) return RTC_ERR_CLOSED;
    if (ice->txq_len >= ICE_TXQ_CAP) return RTC_ERR_AGAIN;
    if (ice->txq_len == ice->txq_cap) {
        size_t ncap = ice->txq_cap ? ice->txq_cap * 2 : 4;
        if (ncap > ICE_TXQ_CAP) ncap = ICE_TXQ_CAP;
        ice_txq_entry *q = rtc_calloc(&ice->env, ncap * sizeof *q);
        if (!q) return RTC_ERR_NOMEM;
        for (size_t i = 0; i < ice->txq_len; i++)
            q[i] = ice->txq[(ice->txq_head + i) % ice->txq_cap];
        if (ice->txq) rtc_free(&ice->env, ice->txq, ice->txq_cap * sizeof *ice->txq);
        ice->txq = q;
        ice->txq_cap = ncap;
        ice->txq_head = 0;
    }
    uint8_t *copy = rtc_calloc(&ice->env, len);
    if (!copy) {
        txq_release_if_empty(ice);
        return RTC_ERR_NOMEM;
    }
    memcpy(copy, data, len);
    ice_txq_entry *e = &ice->txq[(ice->txq_head + ice->txq_len) % ice->txq_cap];
    e->src = *src;
    e->dst = *dst;
    e->relay_id = relay_id;
    e->data = copy;
    e->len = len;
    ice->txq_len++;
    return RTC_OK;
}

static void txq_clear(rtc_ice *ice) {
    while (ice->txq_len) {
        ice_txq_entry *e = &ice->txq[ice->txq_head];
        rtc_free(&ice->env, e->data, e->len);
        e->data = NULL;
        ice->txq_head = (ice->txq_head + 1) % ice->txq_cap;
        ice->txq_len--;
    }
    txq_release_if_empty(ice);
}

static void release_tx_out(rtc_ice *ice) {
    if (ice->tx_out) rtc_free(&ice->env, ice->tx_out, ice->tx_out_len);
    ice->tx_out = NULL;
    ice->tx_out_len = 0;
}

/* ---- creation ----------------------------------------------------------------------- */

static int new_credentials(rtc_ice *ice, const char *ufrag, const char *pwd) {
    if (ufrag) {
        if (!valid_ice_string(ufrag, 4, RTC_ICE_UFRAG_MAX)) return RTC_ERR_INVALID;
        memcpy(ice->local_ufrag, ufrag, strlen(ufrag) + 1);
    } else {
        rtc_random_ice_chars(&ice->env, ice->local_ufrag, 8);
    }
    if (pwd) {
        if (!valid_ice_string(pwd, 22, RTC_ICE_PWD_MAX)) return RTC_ERR_INVALID;
        memcpy(ice->local_pwd, pwd, strlen(pwd) + 1);
    } else {
        rtc_random_ice_chars(&ice->env, ice->local_pwd, 24);
    }
    return rtc_stun_key_set(&ice->local_key, (const uint8_t *)ice->local_pwd,
                            strlen(ice->local_pwd));
}

int rtc_ice_new(rtc_ice **out, const rtc_ice_config *cfg, const rtc_env *env) {
    if (!out) return RTC_ERR_INVALID;
    *out = NULL;
    rtc_ice_config c;
    memset(&c, 0, sizeof c);
    if (cfg) c = *cfg;
    if (c.ta < 0 || c.check_rto < 0 || c.check_rc < 0 || c.check_rc > 16 ||
        c.nomination_delay < 0 || c.consent_interval < 0 || c.consent_timeout < 0 ||
        c.disconnected_timeout < 0 || c.keepalive_interval < 0 || c.resolve_timeout < 0 ||
        c.max_remote_candidates > HARD_MAX_TABLE || c.max_pairs > HARD_MAX_TABLE ||
        c.max_local_candidates > HARD_MAX_TABLE)
        return RTC_ERR_INVALID;
    if (!c.ta) c.ta = DEF_TA;
    if (!c.check_rto) c.check_rto = DEF_CHECK_RTO;
    if (!c.check_rc) c.check_rc = DEF_CHECK_RC;
    if (!c.nomination_delay) c.nomination_delay = DEF_NOMINATION_DELAY;
    if (!c.consent_interval) c.consent_interval = DEF_CONSENT_INTERVAL;
    if (!c.consent_timeout) c.consent_timeout = DEF_CONSENT_TIMEOUT;
    if (!c.disconnected_timeout) c.disconnected_timeout = DEF_DISCONNECTED;
    if (!c.keepalive_interval) c.keepalive_interval = DEF_KEEPALIVE;
    if (!c.resolve_timeout) c.resolve_timeout = DEF_RESOLVE_TIMEOUT;
    if (!c.max_remote_candidates) c.max_remote_candidates = DEF_MAX_REMOTE;
    if (!c.max_pairs) c.max_pairs = DEF_MAX_PAIRS;
    if (!c.max_local_candidates) c.max_local_candidates = DEF_MAX_LOCAL;
    if (c.lite) c.controlling = false;

    rtc_env e;
    rtc_env_copy(&e, env);
    rtc_ice *ice = rtc_calloc(&e, sizeof *ice);
    if (!ice) return RTC_ERR_NOMEM;
    ice->env = e;
    c.ufrag = NULL;
    c.pwd = NULL;
    ice->cfg = c;
    ice->controlling = c.controlling;
    ice->sel_pair = -1;
    ice->nominate_at = RTC_TIME_NEVER;
    ice->last_check_at = INT64_MIN / 2;
    ice->last_nominate_at = INT64_MIN / 2;
    int rc = new_credentials(ice, cfg ? cfg->ufrag : NULL, cfg ? cfg->pwd : NULL);
    if (rc != RTC_OK) {
        rtc_free(&e, ice, sizeof *ice);
        return rc;
    }
    ice->tie_breaker = cfg && cfg->tie_breaker ? cfg->tie_breaker : rtc_random_u64(&ice->env);
    rtc_stun_client_config sc = {0};
    sc.rto = c.check_rto;
    sc.rc = c.check_rc;
    sc.max_transactions = c.max_pairs + ICE_MAX_SRFLX_TXN + 8;
    /* hosts, locals, remotes, pairs and the rings are grown on demand (ice_grow) */
    if (rtc_stun_client_new(&ice->stun, &sc, &e) != RTC_OK) {
        rtc_ice_free(ice);
        return RTC_ERR_NOMEM;
    }
    *out = ice;
    return RTC_OK;
}

void rtc_ice_free(rtc_ice *ice) {
    if (!ice) return;
    rtc_env e = ice->env;
    txq_clear(ice);
    release_tx_out(ice);
    rtc_stun_client_free(ice->stun);
    rtc_free(&e, ice->hosts, ice->hosts_cap * sizeof *ice->hosts);
    rtc_free(&e, ice->locals, ice->locals_cap * sizeof *ice->locals);
    rtc_free(&e, ice->remotes, ice->remotes_cap * sizeof *ice->remotes);
    rtc_free(&e, ice->pairs, ice->pairs_cap * sizeof *ice->pairs);
    rtc_free(&e, ice->evq, ice->evq_cap * sizeof *ice->evq);
    rtc_stun_key_clear(&ice->local_key);
    rtc_stun_key_clear(&ice->remote_key);
    memset(ice->local_pwd, 0, sizeof ice->local_pwd);
    memset(ice->remote_pwd, 0, sizeof ice->remote_pwd);
    rtc_free(&e, ice, sizeof *ice);
}

int rtc_ice_get_local_credentials(const rtc_ice *ice, char *ufrag, size_t ufrag_size, char *pwd,
                                  size_t pwd_size) {
    if (!ice) return RTC_ERR_INVALID;
    size_t ul = strlen(ice->local_ufrag), pl = strlen(ice->local_pwd);
    if (ufrag) {
        if (ufrag_size <= ul) return RTC_ERR_TOO_SMALL;
        memcpy(ufrag, ice->local_ufrag, ul + 1);
    }
    if (pwd) {
        if (pwd_size <= pl) return RTC_ERR_TOO_SMALL;
        memcpy(pwd, ice->local_pwd, pl + 1);
    }
    return RTC_OK;
}

bool rtc_ice_is_controlling(const rtc_ice *ice) { return ice && ice->controlling; }

int rtc_ice_set_controlling(rtc_ice *ice, bool controlling) {
    if (!ice) return RTC_ERR_INVALID;
    if (ice->stats.checks_sent || ice->closed) return RTC_ERR_MISUSE;
    if (ice->cfg.lite && controlling && !ice->remote_lite) return RTC_ERR_MISUSE;
    ice->controlling = controlling;
    ice_recompute_priorities(ice);
    return RTC_OK;
}

/* ---- local candidates ------------------------------------------------------------------ */

/* RFC 8445 §5.1.1.3: same type, base IP, server and transport => same foundation. A hash
** of those, printed in decimal, is short, stable and needs no table. */
static void make_foundation(char out[RTC_ICE_FOUNDATION_MAX + 1], int type, const rtc_addr *base,
                            const rtc_addr *server, uint32_t relay_id) {
    uint8_t buf[64];
    rtc_writer w;
    rtc_writer_init(&w, buf, sizeof buf);
    rtc_write_u8(&w, (uint8_t)type);
    rtc_write_u8(&w, base->family);
    rtc_write_bytes(&w, base->ip, 16);
    if (server) {
        rtc_write_u8(&w, server->family);
        rtc_write_bytes(&w, server->ip, 16);
        rtc_write_u16(&w, server->port);
    }
    rtc_write_u32(&w, relay_id);
    snprintf(out, RTC_ICE_FOUNDATION_MAX + 1, "%u", (unsigned)rtc_crc32(0, buf, w.len));
}

/* RFC 8421 §4: IPv6 and IPv4 interleaved, IPv6 first, in the order added per family. */
static uint16_t host_local_pref(const rtc_ice *ice, const rtc_addr *a) {
    unsigned rank = 0;
    for (size_t i = 0; i < ice->n_hosts; i++) {
        if (rtc_addr_equal(&ice->hosts[i], a)) break;
        if (ice->hosts[i].family == a->family) rank++;
    }
    unsigned pref = 65535u - 2u * rank - (a->family == RTC_AF_INET ? 1u : 0u);
    if (pref > 65535u || rank > 30000) pref = 1;
    return (uint16_t)pref;
}

static void local_to_candidate(const rtc_ice *ice, const ice_local *l, rtc_ice_candidate *c) {
    memset(c, 0, sizeof *c);
    memcpy(c->foundation, l->foundation, sizeof c->foundation);
    c->component = 1;
    c->transport = RTC_ICE_UDP;
    c->type = l->type;
    c->priority = l->priority;
    c->addr = l->addr;
    c->related = l->related;
    c->generation = 0;
    memcpy(c->ufrag, ice->local_ufrag, sizeof c->ufrag);
}

static int add_local(rtc_ice *ice, int type, const rtc_addr *addr, const rtc_addr *base,
                     const rtc_addr *related, uint16_t local_pref, const rtc_addr *server,
                     uint32_t relay_id, bool signal) {
    for (size_t i = 0; i < ice->n_locals; i++)
        if (ice->locals[i].type == type && rtc_addr_equal(&ice->locals[i].addr, addr) &&
            rtc_addr_equal(&ice->locals[i].base, base))
            return (int)i;
    void *grown = ice->locals;
    int grc = ice_grow(ice, &grown, &ice->locals_cap, sizeof *ice->locals, ice->n_locals + 1, 2,
                       ice->cfg.max_local_candidates);
    ice->locals = grown;
    if (grc != RTC_OK) return RTC_ERR_NOMEM;
    ice_local *l = &ice->locals[ice->n_locals];
    memset(l, 0, sizeof *l);
    l->type = (uint8_t)type;
    l->addr = *addr;
    l->base = *base;
    if (related) l->related = *related;
    l->local_pref = local_pref;
    l->relay_id = relay_id;
    l->priority = rtc_ice_candidate_priority(type, local_pref, 1);
    make_foundation(l->foundation, type, type == RTC_ICE_CAND_RELAY ? addr : base, server,
                    relay_id);
    int idx = (int)ice->n_locals++;
    ice->stats.local_candidates = ice->n_locals;
    if (signal) {
        rtc_ice_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = RTC_ICE_EVENT_CANDIDATE;
        local_to_candidate(ice, l, &ev.candidate);
        ice_emit(ice, &ev);
    }
    if (type == RTC_ICE_CAND_HOST || type == RTC_ICE_CAND_RELAY) ice_pair_local(ice, idx);
    return idx;
}

int ice_find_local_base(const rtc_ice *ice, const rtc_addr *dst) {
    for (size_t i = 0; i < ice->n_locals; i++) {
        const ice_local *l = &ice->locals[i];
        if ((l->type == RTC_ICE_CAND_HOST || l->type == RTC_ICE_CAND_RELAY) &&
            rtc_addr_equal(&l->addr, dst))
            return (int)i;
    }
    return -1;
}

/* RFC 8445 §7.1.1: PRIORITY in a check is the priority the local candidate would have as
** peer-reflexive (type preference 110, same local preference). */
int ice_local_prflx_priority(const rtc_ice *ice, int local) {
    return (int)rtc_ice_candidate_priority(RTC_ICE_CAND_PRFLX, ice->locals[local].local_pref, 1);
}

static void start_srflx(rtc_ice *ice, int host, int server) {
    const ice_local *h = &ice->locals[host];
    const rtc_addr *srv = &ice->servers[server];
    if (h->addr.family != srv->family) return;
    size_t slot = ICE_MAX_SRFLX_TXN;
    for (size_t i = 0; i < ICE_MAX_SRFLX_TXN; i++)
        if (!ice->srflx[i].active) {
            slot = i;
            break;
        }
    if (slot == ICE_MAX_SRFLX_TXN) return; /* bounded: more bases x servers are skipped */
    uint8_t buf[64], tid[RTC_STUN_TID_LEN];
    rtc_stun_client_new_tid(ice->stun, tid);
    rtc_stun_builder b;
    rtc_stun_build_init(&b, buf, sizeof buf, RTC_STUN_BINDING, RTC_STUN_REQUEST, tid);
    rtc_stun_add_fingerprint(&b);
    int n = rtc_stun_build_finish(&b);
    if (n < 0) return;
    rtc_stun_txn_params p;
    memset(&p, 0, sizeof p);
    p.rc = SRFLX_RC;
    p.rm = SRFLX_RM;
    p.src = h->base;
    p.dst = *srv;
    if (rtc_stun_client_start(ice->stun, ice->now, buf, (size_t)n, &p) != RTC_OK) return;
    ice->srflx[slot].active = true;
    ice->srflx[slot].host = host;
    ice->srflx[slot].server = server;
    memcpy(ice->srflx[slot].tid, tid, sizeof tid);
}

void ice_check_gathering_done(rtc_ice *ice) {
    if (!ice->gather_started || ice->gathering == RTC_ICE_GATHERING_COMPLETE) return;
    for (size_t i = 0; i < ICE_MAX_SRFLX_TXN; i++)
        if (ice->srflx[i].active) return;
    for (size_t i = 0; i < ice->n_relays; i++)
        if (ice->relays[i].state == 0) return;
    ice->gathering = RTC_ICE_GATHERING_COMPLETE;
    ice_emit_state(ice, RTC_ICE_EVENT_GATHERING_STATE, ice->gathering);
}

int rtc_ice_add_host_address(rtc_ice *ice, const rtc_addr *local) {
    if (!ice || !local) return RTC_ERR_INVALID;
    if (ice->closed) return RTC_ERR_MISUSE;
    if ((local->family != RTC_AF_INET && local->family != RTC_AF_INET6) || local->port == 0 ||
        rtc_addr_is_any(local))
        return RTC_ERR_INVALID;
    for (size_t i = 0; i < ice->n_hosts; i++)
        if (rtc_addr_equal(&ice->hosts[i], local)) return RTC_OK;
    void *grown = ice->hosts;
    int grc = ice_grow(ice, &grown, &ice->hosts_cap, sizeof *ice->hosts, ice->n_hosts + 1, 2,
                       ice->cfg.max_local_candidates);
    ice->hosts = grown;
    if (grc != RTC_OK) return RTC_ERR_NOMEM;
    ice->hosts[ice->n_hosts++] = *local;
    if (ice->gather_started) {
        int idx = add_local(ice, RTC_ICE_CAND_HOST, local, local, NULL, host_local_pref(ice, local),
                            NULL, 0, true);
        if (idx >= 0 && !ice->cfg.lite)
            for (size_t s = 0; s < ice->n_servers; s++)
                start_srflx(ice, idx, (int)s);
    }
    return RTC_OK;
}

int rtc_ice_add_stun_server(rtc_ice *ice, const rtc_addr *server) {
    if (!ice || !server) return RTC_ERR_INVALID;
    if (ice->closed) return RTC_ERR_MISUSE;
    if ((server->family != RTC_AF_INET && server->family != RTC_AF_INET6) || server->port == 0)
        return RTC_ERR_INVALID;
    if (ice->n_servers >= ICE_MAX_SERVERS) return RTC_ERR_NOMEM;
    ice->servers[ice->n_servers++] = *server;
    if (ice->gather_started && !ice->cfg.lite) {
        if (ice->gathering == RTC_ICE_GATHERING_COMPLETE) {
            ice->gathering = RTC_ICE_GATHERING_GATHERING;
            ice_emit_state(ice, RTC_ICE_EVENT_GATHERING_STATE, ice->gathering);
        }
        for (size_t i = 0; i < ice->n_locals; i++)
            if (ice->locals[i].type == RTC_ICE_CAND_HOST)
                start_srflx(ice, (int)i, (int)ice->n_servers - 1);
        ice_check_gathering_done(ice);
    }
    return RTC_OK;
}

static ice_relay *find_relay(rtc_ice *ice, uint32_t id) {
    for (size_t i = 0; i < ice->n_relays; i++)
        if (ice->relays[i].id == id) return &ice->relays[i];
    return NULL;
}

int rtc_ice_expect_relay(rtc_ice *ice, uint32_t relay_id) {
    if (!ice || !relay_id) return RTC_ERR_INVALID;
    if (ice->closed) return RTC_ERR_MISUSE;
    if (find_relay(ice, relay_id)) return RTC_OK;
    if (ice->n_relays >= ICE_MAX_RELAYS) return RTC_ERR_NOMEM;
    ice_relay *r = &ice->relays[ice->n_relays++];
    memset(r, 0, sizeof *r);
    r->id = relay_id;
    if (ice->gathering == RTC_ICE_GATHERING_COMPLETE) {
        ice->gathering = RTC_ICE_GATHERING_GATHERING;
        ice_emit_state(ice, RTC_ICE_EVENT_GATHERING_STATE, ice->gathering);
    }
    return RTC_OK;
}

static void add_relay_candidate(rtc_ice *ice, const ice_relay *r) {
    /* Relayed candidates share the host preference scheme by family (RFC 8421 §4 applies
    ** the same interleaving); their type preference 0 keeps them last. */
    uint16_t pref = r->relayed.family == RTC_AF_INET6 ? 65535 : 65534;
    add_local(ice, RTC_ICE_CAND_RELAY, &r->relayed, &r->relayed, &r->base, pref, NULL, r->id, true);
}

int rtc_ice_add_relayed(rtc_ice *ice, uint32_t relay_id, const rtc_addr *relayed,
                        const rtc_addr *base) {
    if (!ice || !relay_id || !relayed || !base) return RTC_ERR_INVALID;
    if (ice->closed) return RTC_ERR_MISUSE;
    if ((relayed->family != RTC_AF_INET && relayed->family != RTC_AF_INET6) || !relayed->port)
        return RTC_ERR_INVALID;
    int rc = rtc_ice_expect_relay(ice, relay_id);
    if (rc != RTC_OK) return rc;
    ice_relay *r = find_relay(ice, relay_id);
    r->state = 1;
    r->relayed = *relayed;
    r->base = *base;
    if (ice->gather_started) add_relay_candidate(ice, r);
    ice_check_gathering_done(ice);
    return RTC_OK;
}

int rtc_ice_relay_failed(rtc_ice *ice, uint32_t relay_id) {
    if (!ice || !relay_id) return RTC_ERR_INVALID;
    ice_relay *r = find_relay(ice, relay_id);
    if (!r) return RTC_OK;
    r->state = 2;
    /* Pairs on a relay that went away fail (their checks would go nowhere). */
    for (size_t i = 0; i < ice->n_pairs; i++) {
        ice_pair *p = &ice->pairs[i];
        if (ice->locals[p->local].relay_id == relay_id) {
            if (p->in_flight) rtc_stun_client_cancel(ice->stun, p->tid);
            p->in_flight = false;
            p->triggered = false;
            p->valid = false;
            p->state = PAIR_FAILED;
        }
    }
    /* So does the selected path when it went through that relay (also one kept across an
    ** ICE restart, sel_pair -1): switch or fail now, not when consent expires 30 s later. */
    if (ice->have_sel && ice->sel_relay == relay_id && !ice->closed) ice_selected_path_lost(ice);
    ice_check_gathering_done(ice);
    ice_update_state(ice);
    return RTC_OK;
}

static void gather_all(rtc_ice *ice) {
    ice->gather_started = true;
    ice->gathering = RTC_ICE_GATHERING_GATHERING;
    ice_emit_state(ice, RTC_ICE_EVENT_GATHERING_STATE, ice->gathering);
    for (size_t i = 0; i < ice->n_hosts; i++)
        add_local(ice, RTC_ICE_CAND_HOST, &ice->hosts[i], &ice->hosts[i], NULL,
                  host_local_pref(ice, &ice->hosts[i]), NULL, 0, true);
    if (!ice->cfg.lite) {
        size_t n = ice->n_locals;
        for (size_t i = 0; i < n; i++)
            if (ice->locals[i].type == RTC_ICE_CAND_HOST)
                for (size_t s = 0; s < ice->n_servers; s++)
                    start_srflx(ice, (int)i, (int)s);
        for (size_t i = 0; i < ice->n_relays; i++)
            if (ice->relays[i].state == 1) add_relay_candidate(ice, &ice->relays[i]);
    }
    ice_check_gathering_done(ice);
}

int rtc_ice_gather(rtc_ice *ice, rtc_time now) {
    if (!ice) return RTC_ERR_INVALID;
    if (ice->closed) return RTC_ERR_MISUSE;
    if (now > ice->now) ice->now = now;
    if (ice->gather_started) return RTC_OK;
    gather_all(ice);
    ice_update_state(ice);
    return RTC_OK;
}

/* A Binding response from a STUN server (already matched to ice->srflx[slot]). */
static void srflx_result(rtc_ice *ice, int slot, const rtc_stun_msg *m) {
    ice_srflx_txn *t = &ice->srflx[slot];
    t->active = false;
    rtc_addr mapped;
    if (m && m->cls == RTC_STUN_SUCCESS &&
        (rtc_stun_get_xor_addr(m, RTC_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped) == RTC_OK ||
         rtc_stun_get_addr(m, RTC_STUN_ATTR_MAPPED_ADDRESS, &mapped) == RTC_OK)) {
        const ice_local *h = &ice->locals[t->host];
        bool redundant = false;
        /* RFC 8445 §5.1.3: a server-reflexive candidate equal to a host one is redundant. */
        for (size_t i = 0; i < ice->n_locals; i++)
            if (ice->locals[i].type == RTC_ICE_CAND_HOST &&
                rtc_addr_equal(&ice->locals[i].addr, &mapped))
                redundant = true;
        if (!redundant && mapped.family == h->addr.family) {
            rtc_addr base = h->base;
            add_local(ice, RTC_ICE_CAND_SRFLX, &mapped, &base, &base, h->local_pref,
                      &ice->servers[t->server], 0, true);
        }
    }
    ice_check_gathering_done(ice);
}

/* Called by check.c for responses and timeouts it does not own. Returns true if the
** transaction was a server-reflexive request. */
bool ice_srflx_dispatch(rtc_ice *ice, const uint8_t tid[RTC_STUN_TID_LEN], const rtc_stun_msg *m);
bool ice_srflx_dispatch(rtc_ice *ice, const uint8_t tid[RTC_STUN_TID_LEN], const rtc_stun_msg *m) {
    for (int i = 0; i < ICE_MAX_SRFLX_TXN; i++)
        if (ice->srflx[i].active && memcmp(ice->srflx[i].tid, tid, RTC_STUN_TID_LEN) == 0) {
            srflx_result(ice, i, m);
            return true;
        }
    return false;
}

/* ---- remote side ----------------------------------------------------------------------- */

int rtc_ice_set_remote_credentials(rtc_ice *ice, const char *ufrag, const char *pwd) {
    if (!ice || !ufrag || !pwd) return RTC_ERR_INVALID;
    if (ice->closed) return RTC_ERR_MISUSE;
    /* RFC 8839 §5.4 asks for 4/22 characters; some stacks send shorter ufrags (3) in the
    ** wild, but accepting fewer than the RFC's minimum weakens nothing we rely on except
    ** the pwd, whose entropy we keep at >= 22. */
    if (!valid_ice_string(ufrag, 1, RTC_ICE_UFRAG_MAX) ||
        !valid_ice_string(pwd, 22, RTC_ICE_PWD_MAX))
        return RTC_ERR_INVALID;
    if (ice->have_remote && strcmp(ice->remote_ufrag, ufrag) == 0) {
        if (strcmp(ice->remote_pwd, pwd) == 0) return RTC_OK;
    } else if (ice->have_remote) {
        /* The peer restarted (RFC 8445 §9): a new checklist; the selected path stays. */
        uint32_t keep = str_hash(ufrag);
        ice_clear_checklist(ice);
        for (size_t i = 0; i < ice->n_remotes; i++) {
            ice_remote *r = &ice->remotes[i];
            if (r->used && r->ufrag_hash != keep) r->used = false;
        }
        ice->remote_eoc = false;
    }
    memcpy(ice->remote_ufrag, ufrag, strlen(ufrag) + 1);
    memcpy(ice->remote_pwd, pwd, strlen(pwd) + 1);
    rtc_stun_key_set(&ice->remote_key, (const uint8_t *)pwd, strlen(pwd));
    ice->have_remote = true;
    /* Drop candidates of another generation that came early, then pair the rest. */
    uint32_t h = str_hash(ufrag);
    for (size_t i = 0; i < ice->n_remotes; i++) {
        ice_remote *r = &ice->remotes[i];
        if (r->used && r->ufrag_hash && r->ufrag_hash != h) {
            r->used = false;
            ice_remove_remote_pairs(ice, (int)i);
        }
    }
    for (size_t i = 0; i < ice->n_remotes; i++)
        if (ice->remotes[i].used && !ice->remotes[i].resolving) {
            bool paired = false;
            for (size_t k = 0; k < ice->n_pairs; k++)
                if (ice->pairs[k].remote == (int)i) paired = true;
            if (!paired) ice_pair_remote(ice, (int)i);
        }
    ice_update_state(ice);
    return RTC_OK;
}

int rtc_ice_set_remote_lite(rtc_ice *ice, bool lite) {
    if (!ice) return RTC_ERR_INVALID;
    if (lite && ice->cfg.lite) return RTC_ERR_MISUSE;
    ice->remote_lite = lite;
    if (lite && !ice->controlling) {
        ice->controlling = true;
        ice_recompute_priorities(ice);
    }
    return RTC_OK;
}

static int alloc_remote(rtc_ice *ice) {
    for (size_t i = 0; i < ice->n_remotes; i++) {
        if (ice->remotes[i].used) continue;
        bool referenced = false;
        for (size_t k = 0; k < ice->n_pairs; k++)
            if (ice->pairs[k].remote == (int)i) referenced = true;
        if (!referenced) return (int)i;
    }
    if (ice->n_remotes >= ice->cfg.max_remote_candidates) return -1;
    if (ice->n_remotes == ice->remotes_cap) {
        /* Grown on demand up to the bound (a remote slot is ~340 bytes with its name). */
        void *grown = ice->remotes;
        int grc = ice_grow(ice, &grown, &ice->remotes_cap, sizeof *ice->remotes,
                           ice->n_remotes + 1, 2, ice->cfg.max_remote_candidates);
        ice->remotes = grown;
        if (grc != RTC_OK) return -1;
    }
    return (int)ice->n_remotes++;
    return -1;
}

static size_t remote_count(const rtc_ice *ice) {
    size_t n = 0;
    for (size_t i = 0; i < ice->n_remotes; i++)
        n += ice->remotes[i].used;
    return n;
}

/* Also used by check.c for peer-reflexive candidates. Returns the index or -1 (bound). */
int ice_add_remote(rtc_ice *ice, int type, const rtc_addr *addr, uint32_t priority,
                   const char *foundation, const char *hostname, uint32_t ufrag_hash);
int ice_add_remote(rtc_ice *ice, int type, const rtc_addr *addr, uint32_t priority,
                   const char *foundation, const char *hostname, uint32_t ufrag_hash) {
    int idx = alloc_remote(ice);
    if (idx < 0) {
        ice->stats.remote_dropped++;
        return -1;
    }
    ice_remote *r = &ice->remotes[idx];
    memset(r, 0, sizeof *r);
    r->used = true;
    r->type = (uint8_t)type;
    r->addr = *addr;
    r->priority = priority;
    r->ufrag_hash = ufrag_hash;
    snprintf(r->foundation, sizeof r->foundation, "%s", foundation);
    if (hostname && hostname[0]) {
        snprintf(r->hostname, sizeof r->hostname, "%s", hostname);
        r->resolving = true;
        r->resolve_deadline = ice->now + ice->cfg.resolve_timeout;
    }
    ice->stats.remote_candidates = remote_count(ice);
    return idx;
}

int rtc_ice_add_remote_candidate_struct(rtc_ice *ice, const rtc_ice_candidate *c) {
    if (!ice || !c) return RTC_ERR_INVALID;
    if (ice->closed) return RTC_ERR_MISUSE;
    if (c->type > RTC_ICE_CAND_RELAY || c->transport > RTC_ICE_TCP) return RTC_ERR_UNSUPPORTED;
    if (c->transport != RTC_ICE_UDP || c->component != 1) return 1;
    uint32_t uh = c->ufrag[0] ? str_hash(c->ufrag) : 0;
    if (uh && ice->have_remote && uh != str_hash(ice->remote_ufrag)) return 1; /* stale */
    if (!c->hostname[0]) {
        if ((c->addr.family != RTC_AF_INET && c->addr.family != RTC_AF_INET6) ||
            c->addr.port == 0 || rtc_addr_is_any(&c->addr))
            return 1;
    } else if (c->addr.port == 0) {
        return 1;
    }
    for (size_t i = 0; i < ice->n_remotes; i++) {
        ice_remote *r = &ice->remotes[i];
        if (!r->used) continue;
        if (c->hostname[0] ? (r->resolving && strcmp(r->hostname, c->hostname) == 0 &&
                              r->addr.port == c->addr.port)
                           : (!r->resolving && rtc_addr_equal(&r->addr, &c->addr))) {
            if (r->type == RTC_ICE_CAND_PRFLX && !c->hostname[0]) {
                /* Signalled after we learned it from a check (RFC 8445 §7.3.1.3): the
                ** signalled type and priority win; pairs keep their state. */
                r->type = c->type;
                r->priority = c->priority;
                snprintf(r->foundation, sizeof r->foundation, "%s", c->foundation);
                ice_recompute_priorities(ice);
                return 0;
            }
            return 1;
        }
    }
    rtc_addr a = c->addr;
    if (c->hostname[0]) a.family = RTC_AF_NONE;
    int idx = ice_add_remote(ice, c->type, &a, c->priority, c->foundation, c->hostname, uh);
    if (idx < 0) return RTC_ERR_NOMEM;
    if (c->hostname[0]) {
        rtc_ice_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = RTC_ICE_EVENT_RESOLVE;
        snprintf(ev.name, sizeof ev.name, "%s", c->hostname);
        ice_emit(ice, &ev);
    } else {
        ice_pair_remote(ice, idx);
    }
    ice_update_state(ice);
    return 0;
}

int rtc_ice_add_remote_candidate(rtc_ice *ice, const char *line) {
    if (!ice || !line) return RTC_ERR_INVALID;
    rtc_ice_candidate c;
    int rc = rtc_ice_candidate_parse(&c, line);
    if (rc != RTC_OK) return rc;
    return rtc_ice_add_remote_candidate_struct(ice, &c);
}

int rtc_ice_remote_end_of_candidates(rtc_ice *ice) {
    if (!ice) return RTC_ERR_INVALID;
    ice->remote_eoc = true;
    ice_update_state(ice);
    return RTC_OK;
}

int rtc_ice_resolved(rtc_ice *ice, const char *name, const rtc_addr *addr) {
    if (!ice || !name) return 0;
    int n = 0;
    for (size_t i = 0; i < ice->n_remotes; i++) {
        ice_remote *r = &ice->remotes[i];
        if (!r->used || !r->resolving || strcmp(r->hostname, name) != 0) continue;
        if (!addr || (addr->family != RTC_AF_INET && addr->family != RTC_AF_INET6)) {
            r->used = false; /* a peer-reflexive candidate may still connect */
            continue;
        }
        rtc_addr a = *addr;
        a.port = r->addr.port;
        r->resolving = false;
        /* Already known as peer-reflexive from the peer's checks? Upgrade that one. */
        bool merged = false;
        for (size_t k = 0; k < ice->n_remotes; k++) {
            ice_remote *o = &ice->remotes[k];
            if (k != i && o->used && !o->resolving && rtc_addr_equal(&o->addr, &a)) {
                if (o->type == RTC_ICE_CAND_PRFLX) {
                    o->type = r->type;
                    o->priority = r->priority;
                    memcpy(o->foundation, r->foundation, sizeof o->foundation);
                }
                r->used = false;
                merged = true;
                break;
            }
        }
        if (!merged) {
            r->addr = a;
            ice_pair_remote(ice, (int)i);
        }
        n = 1;
    }
    if (n) ice_recompute_priorities(ice);
    ice->stats.remote_candidates = remote_count(ice);
    ice_update_state(ice);
    return n;
}

/* ---- driving --------------------------------------------------------------------------- */

int rtc_ice_handle_packet(rtc_ice *ice, rtc_time now, const rtc_addr *src, const rtc_addr *dst,
                          const uint8_t *buf, size_t len) {
    if (!ice || !src || !dst || (!buf && len)) return RTC_ERR_INVALID;
    if (ice->closed) return RTC_ERR_CLOSED;
    if (now > ice->now) ice->now = now;
    if (!rtc_stun_is_message(buf, len)) return 1;
    int rc = ice_handle_stun(ice, src, dst, buf, len);
    ice_update_state(ice);
    return rc;
}

static void resolve_timeouts(rtc_ice *ice) {
    for (size_t i = 0; i < ice->n_remotes; i++) {
        ice_remote *r = &ice->remotes[i];
        if (r->used && r->resolving && ice->now >= r->resolve_deadline) {
            RTC_LOGD(&ice->env, "resolution of %s timed out", r->hostname);
            r->used = false;
        }
    }
    ice->stats.remote_candidates = remote_count(ice);
}

int rtc_ice_handle_timeout(rtc_ice *ice, rtc_time now) {
    if (!ice) return RTC_ERR_INVALID;
    if (ice->closed) return RTC_OK;
    if (now > ice->now) ice->now = now;
    resolve_timeouts(ice);
    ice_run_timers(ice);
    ice_update_state(ice);
    return RTC_OK;
}

int rtc_ice_poll_transmit(rtc_ice *ice, rtc_ice_transmit *out) {
    if (!ice || !out) return 0;
    release_tx_out(ice);
    if (ice->closed) return 0;
    if (ice->txq_len) {
        ice_txq_entry *e = &ice->txq[ice->txq_head];
        ice->txq_head = (ice->txq_head + 1) % ice->txq_cap;
        ice->txq_len--;
        ice->tx_out = e->data;
        ice->tx_out_len = e->len;
        e->data = NULL;
        out->src = e->src;
        out->dst = e->dst;
        out->relay_id = e->relay_id;
        out->data = ice->tx_out;
        out->len = ice->tx_out_len;
        txq_release_if_empty(ice);
        return 1;
    }
    rtc_stun_transmit t;
    if (rtc_stun_client_poll_transmit(ice->stun, &t) == 1) {
        out->src = t.src;
        out->dst = t.dst;
        out->relay_id = 0;
        int li = ice_find_local_base(ice, &t.src);
        if (li >= 0) out->relay_id = ice->locals[li].relay_id;
        out->data = t.data;
        out->len = t.len;
        if (ice->have_sel && rtc_addr_equal(&t.src, &ice->sel_local) &&
            rtc_addr_equal(&t.dst, &ice->sel_remote))
            ice->last_sent_sel = ice->now;
        return 1;
    }
    return 0;
}

int rtc_ice_poll_event(rtc_ice *ice, rtc_ice_event *out) {
    if (!ice || !out || !ice->evq_len) return 0;
    *out = ice->evq[ice->evq_head];
    ice->evq_head = (ice->evq_head + 1) % ice->evq_cap;
    ice->evq_len--;
    if (!ice->evq_len) { /* drained: give the ring back (events are ~1.2 KB each) */
        rtc_free(&ice->env, ice->evq, ice->evq_cap * sizeof *ice->evq);
        ice->evq = NULL;
        ice->evq_cap = ice->evq_head = 0;
    }
    return 1;
}

rtc_time rtc_ice_next_timeout(const rtc_ice *ice) {
    if (!ice || ice->closed) return RTC_TIME_NEVER;
    rtc_time t = ice_check_next_timeout(ice);
    for (size_t i = 0; i < ice->n_remotes; i++)
        if (ice->remotes[i].used && ice->remotes[i].resolving &&
            ice->remotes[i].resolve_deadline < t)
            t = ice->remotes[i].resolve_deadline;
    return t;
}

static bool consent_ok(const rtc_ice *ice) {
    return !ice->consent_failed && ice->now - ice->consent_last < ice->cfg.consent_timeout;
}

int rtc_ice_send(rtc_ice *ice, rtc_time now, const uint8_t *buf, size_t len) {
    if (!ice || !buf || len == 0 || len > 65535) return RTC_ERR_INVALID;
    if (ice->closed) return RTC_ERR_CLOSED;
    if (now > ice->now) ice->now = now;
    if (!ice->have_sel) return RTC_ERR_AGAIN;
    if (!consent_ok(ice)) return RTC_ERR_AUTH; /* RFC 7675 §5.1: stop sending */
    int rc = ice_queue_tx(ice, &ice->sel_local, &ice->sel_remote, ice->sel_relay, buf, len);
    if (rc == RTC_OK) ice->last_sent_sel = ice->now;
    return rc;
}

int rtc_ice_get_selected(const rtc_ice *ice, rtc_addr *local, rtc_addr *remote,
                         uint32_t *relay_id) {
    if (!ice) return RTC_ERR_INVALID;
    if (ice->closed) return RTC_ERR_CLOSED;
    if (!ice->have_sel) return RTC_ERR_AGAIN;
    if (local) *local = ice->sel_local;
    if (remote) *remote = ice->sel_remote;
    if (relay_id) *relay_id = ice->sel_relay;
    return consent_ok(ice) ? RTC_OK : RTC_ERR_AUTH;
}

rtc_ice_state rtc_ice_get_state(const rtc_ice *ice) {
    return ice ? (rtc_ice_state)ice->state : RTC_ICE_STATE_CLOSED;
}

rtc_ice_gathering_state rtc_ice_get_gathering_state(const rtc_ice *ice) {
    return ice ? (rtc_ice_gathering_state)ice->gathering : RTC_ICE_GATHERING_NEW;
}

int rtc_ice_restart(rtc_ice *ice, rtc_time now) {
    if (!ice) return RTC_ERR_INVALID;
    if (ice->closed) return RTC_ERR_MISUSE;
    if (now > ice->now) ice->now = now;
    new_credentials(ice, NULL, NULL);
    ice_clear_checklist(ice);
    for (size_t i = 0; i < ICE_MAX_SRFLX_TXN; i++)
        if (ice->srflx[i].active) {
            rtc_stun_client_cancel(ice->stun, ice->srflx[i].tid);
            ice->srflx[i].active = false;
        }
    /* The peer's candidates and credentials stay until it sends new ones (a JSEP answerer
    ** restarts after applying the offer's new credentials; an offerer's new local
    ** credentials are valid against the old remote ones until the answer comes). */
    ice->n_locals = 0;
    /* A restart is how an application recovers from FAILED (W3C restartIce()). */
    if (ice->consent_failed) {
        ice->consent_failed = false;
        ice->have_sel = false;
    }
    gather_all(ice);
    ice_update_state(ice);
    return RTC_OK;
}

int rtc_ice_close(rtc_ice *ice) {
    if (!ice) return RTC_ERR_INVALID;
    if (ice->closed) return RTC_OK;
    ice_clear_checklist(ice);
    for (size_t i = 0; i < ICE_MAX_SRFLX_TXN; i++)
        if (ice->srflx[i].active) {
            rtc_stun_client_cancel(ice->stun, ice->srflx[i].tid);
            ice->srflx[i].active = false;
        }
    txq_clear(ice);
    ice->closed = true;
    ice->have_sel = false;
    ice->state = RTC_ICE_STATE_CLOSED;
    ice_emit_state(ice, RTC_ICE_EVENT_STATE, RTC_ICE_STATE_CLOSED);
    return RTC_OK;
}

void rtc_ice_get_stats(const rtc_ice *ice, rtc_ice_stats *out) {
    if (!ice || !out) return;
    *out = ice->stats;
    out->pairs = ice->n_pairs;
    out->local_candidates = ice->n_locals;
}

/* ---- W3C connection state ------------------------------------------------------------- */

void ice_update_state(rtc_ice *ice) {
    if (ice->closed) return;
    int s;
    if (ice->have_sel &&
        (ice->consent_failed || ice->now - ice->consent_last >= ice->cfg.consent_timeout)) {
        if (!ice->consent_failed) RTC_LOGI(&ice->env, "consent expired (RFC 7675): failed");
        ice->consent_failed = true;
        s = RTC_ICE_STATE_FAILED;
    } else if (ice->have_sel) {
        if (ice->now - ice->consent_last >= ice->cfg.disconnected_timeout)
            s = RTC_ICE_STATE_DISCONNECTED;
        else if (ice->remote_eoc && ice->gathering == RTC_ICE_GATHERING_COMPLETE &&
                 ice->sel_pair >= 0 && !ice_checks_pending(ice))
            s = RTC_ICE_STATE_COMPLETED;
        else
            s = RTC_ICE_STATE_CONNECTED;
    } else {
        bool any_resolving = false;
        for (size_t i = 0; i < ice->n_remotes; i++)
            if (ice->remotes[i].used && ice->remotes[i].resolving) any_resolving = true;
        if (ice->n_pairs == 0 && !any_resolving) {
            /* Nothing to check yet: NEW, unless everything is known and nothing worked. */
            if (ice->remote_eoc && ice->have_remote &&
                ice->gathering == RTC_ICE_GATHERING_COMPLETE && ice->stats.checks_sent)
                s = RTC_ICE_STATE_FAILED;
            else
                s = ice->state == RTC_ICE_STATE_NEW ? RTC_ICE_STATE_NEW : ice->state;
        } else if (!ice_checks_pending(ice) && !any_resolving && ice->remote_eoc &&
                   ice->gathering == RTC_ICE_GATHERING_COMPLETE && ice->have_remote) {
            bool any_valid = false;
            for (size_t i = 0; i < ice->n_pairs; i++)
                any_valid |= ice->pairs[i].valid;
            s = any_valid ? RTC_ICE_STATE_CHECKING : RTC_ICE_STATE_FAILED;
        } else {
            s = RTC_ICE_STATE_CHECKING;
        }
    }
    if (s != ice->state) {
        RTC_LOGD(&ice->env, "state %s -> %s", rtc_ice_state_name(ice->state),
                 rtc_ice_state_name(s));
        ice->state = s;
        ice_emit_state(ice, RTC_ICE_EVENT_STATE, s);
    }
}
