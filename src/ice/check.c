/*
** src/ice/check.c: the checklist (RFC 8445 §6.1.2), connectivity checks (§7.2, §7.3),
** nomination (§8), consent freshness (RFC 7675) and keepalives (§11).
**
** Pair states (§6.1.2.6):
**
**      Frozen --unfreeze--> Waiting --check sent--> In-Progress --success--> Succeeded
**                              ^                          |
**                              +---- triggered check -----+--failure/timeout--> Failed
**
** Pairs are formed only with host and relayed local candidates: a server-reflexive
** candidate is replaced by its base and the duplicate removed (§6.1.2.4), so it never
** forms a pair. A successful check marks the checked pair itself valid: its data path
** (base -> remote) is what the valid pair of §7.2.5.3.2 would use. The local peer-
** reflexive candidate that §7.2.5.3.1 would add sends from the same base, is never
** signalled, and so is not kept.
*/
#include <stdio.h>
#include <string.h>

#include "ice/ice_int.h"

#define LOG_MODULE "ice"

bool ice_srflx_dispatch(rtc_ice *ice, const uint8_t tid[RTC_STUN_TID_LEN], const rtc_stun_msg *m);
int ice_add_remote(rtc_ice *ice, int type, const rtc_addr *addr, uint32_t priority,
                   const char *foundation, const char *hostname, uint32_t ufrag_hash);

/* ---- pairs ----------------------------------------------------------------------------- */

static uint64_t pair_prio(const rtc_ice *ice, int l, int r) {
    uint32_t lp = ice->locals[l].priority, rp = ice->remotes[r].priority;
    return ice->controlling ? rtc_ice_pair_priority(lp, rp) : rtc_ice_pair_priority(rp, lp);
}

static void consider_nomination(rtc_ice *ice);

void ice_recompute_priorities(rtc_ice *ice) {
    for (size_t i = 0; i < ice->n_pairs; i++)
        ice->pairs[i].priority = pair_prio(ice, ice->pairs[i].local, ice->pairs[i].remote);
    /* A pair may now beat the selected one (a peer-reflexive candidate signalled later). */
    consider_nomination(ice);
}

static bool same_foundation(const rtc_ice *ice, const ice_pair *a, const ice_pair *b) {
    return strcmp(ice->locals[a->local].foundation, ice->locals[b->local].foundation) == 0 &&
           strcmp(ice->remotes[a->remote].foundation, ice->remotes[b->remote].foundation) == 0;
}

bool ice_checks_pending(const rtc_ice *ice) {
    for (size_t i = 0; i < ice->n_pairs; i++) {
        const ice_pair *p = &ice->pairs[i];
        if (p->state == PAIR_FROZEN || p->state == PAIR_WAITING || p->state == PAIR_IN_PROGRESS ||
            p->triggered)
            return true;
    }
    return false;
}

static bool pairable(const ice_local *l, const ice_remote *r) {
    if (!r->used || r->resolving) return false;
    if (l->type != RTC_ICE_CAND_HOST && l->type != RTC_ICE_CAND_RELAY) return false;
    if (l->addr.family != r->addr.family) return false;
    /* RFC 8445 §6.1.2.2: link-local IPv6 only with link-local. */
    if (l->addr.family == RTC_AF_INET6 &&
        rtc_addr_is_link_local(&l->addr) != rtc_addr_is_link_local(&r->addr))
        return false;
    return true;
}

static void request_permission(rtc_ice *ice, int l, int r) {
    const ice_local *lc = &ice->locals[l];
    if (!lc->relay_id) return;
    for (size_t i = 0; i < ice->n_pairs; i++) {
        const ice_pair *p = &ice->pairs[i];
        if (ice->locals[p->local].relay_id == lc->relay_id && p->remote != r &&
            rtc_addr_equal_ip(&ice->remotes[p->remote].addr, &ice->remotes[r].addr))
            return; /* permissions are per IP (RFC 8656 §9): already asked */
    }
    rtc_ice_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = RTC_ICE_EVENT_RELAY_PERMISSION;
    ev.relay_id = lc->relay_id;
    ev.local = lc->addr;
    ev.remote = ice->remotes[r].addr;
    ice_emit(ice, &ev);
}

static int find_pair(const rtc_ice *ice, int l, int r) {
    for (size_t i = 0; i < ice->n_pairs; i++)
        if (ice->pairs[i].local == l && ice->pairs[i].remote == r) return (int)i;
    return -1;
}

/* Add a pair within the bound (§6.1.2.5): when full, a new pair replaces the lowest-
** priority pair that is not being checked, valid or selected, if it is better. */
static int add_pair(rtc_ice *ice, int l, int r) {
    int existing = find_pair(ice, l, r);
    if (existing >= 0) return existing;
    uint64_t prio = pair_prio(ice, l, r);
    int slot = -1;
    if (ice->n_pairs < ice->cfg.max_pairs && ice_reserve_pair(ice) == RTC_OK) {
        slot = (int)ice->n_pairs++;
    } else {
        int worst = -1;
        for (size_t i = 0; i < ice->n_pairs; i++) {
            const ice_pair *p = &ice->pairs[i];
            if (p->state == PAIR_IN_PROGRESS || p->valid || p->in_flight || (int)i == ice->sel_pair)
                continue;
            if (worst < 0 || p->priority < ice->pairs[worst].priority) worst = (int)i;
        }
        ice->stats.pairs_dropped++;
        if (worst < 0 || ice->pairs[worst].priority >= prio) return -1;
        slot = worst;
    }
    ice_pair *p = &ice->pairs[slot];
    memset(p, 0, sizeof *p);
    p->rtt = -1;
    p->local = l;
    p->remote = r;
    p->priority = prio;
    /* §6.1.2.6: the first pair of a foundation waits, the others are frozen. */
    p->state = PAIR_WAITING;
    for (size_t i = 0; i < ice->n_pairs; i++) {
        const ice_pair *o = &ice->pairs[i];
        if ((int)i != slot && same_foundation(ice, o, p) &&
            (o->state == PAIR_WAITING || o->state == PAIR_IN_PROGRESS)) {
            p->state = PAIR_FROZEN;
            break;
        }
    }
    ice->stats.pairs = ice->n_pairs;
    request_permission(ice, l, r);
    return slot;
}

void ice_pair_local(rtc_ice *ice, int local) {
    for (size_t r = 0; r < ice->n_remotes; r++)
        if (pairable(&ice->locals[local], &ice->remotes[r])) add_pair(ice, local, (int)r);
}

void ice_pair_remote(rtc_ice *ice, int remote) {
    for (size_t l = 0; l < ice->n_locals; l++)
        if (pairable(&ice->locals[l], &ice->remotes[remote])) add_pair(ice, (int)l, remote);
}

void ice_remove_remote_pairs(rtc_ice *ice, int remote) {
    size_t w = 0;
    int new_sel = -1;
    for (size_t i = 0; i < ice->n_pairs; i++) {
        ice_pair *p = &ice->pairs[i];
        if (p->remote == remote) {
            if (p->in_flight) rtc_stun_client_cancel(ice->stun, p->tid);
            continue;
        }
        if ((int)i == ice->sel_pair) new_sel = (int)w;
        if (w != i) ice->pairs[w] = *p;
        w++;
    }
    ice->n_pairs = w;
    ice->sel_pair = new_sel;
    ice->stats.pairs = w;
}

void ice_clear_checklist(rtc_ice *ice) {
    for (size_t i = 0; i < ice->n_pairs; i++)
        if (ice->pairs[i].in_flight) rtc_stun_client_cancel(ice->stun, ice->pairs[i].tid);
    if (ice->consent_in_flight) rtc_stun_client_cancel(ice->stun, ice->consent_tid);
    ice->consent_in_flight = false;
    ice->n_pairs = 0;
    ice->sel_pair = -1;
    ice->nominate_at = RTC_TIME_NEVER;
    ice->stats.pairs = 0;
}

static void trigger(rtc_ice *ice, ice_pair *p) {
    if (p->triggered) return;
    p->triggered = true;
    p->trigger_seq = ++ice->trigger_seq;
    p->state = PAIR_WAITING;
}

/* ---- sending checks (§7.2.4) ----------------------------------------------------------- */

static int build_request(rtc_ice *ice, uint8_t *buf, size_t cap, const uint8_t *tid, int local,
                         bool use_candidate) {
    char user[2 * RTC_ICE_UFRAG_MAX + 2];
    size_t ru = strlen(ice->remote_ufrag), lu = strlen(ice->local_ufrag);
    memcpy(user, ice->remote_ufrag, ru);
    user[ru] = ':';
    memcpy(user + ru + 1, ice->local_ufrag, lu + 1);
    rtc_stun_builder b;
    rtc_stun_build_init(&b, buf, cap, RTC_STUN_BINDING, RTC_STUN_REQUEST, tid);
    rtc_stun_add_string(&b, RTC_STUN_ATTR_USERNAME, user);
    rtc_stun_add_u32(&b, RTC_STUN_ATTR_PRIORITY, (uint32_t)ice_local_prflx_priority(ice, local));
    rtc_stun_add_u64(
        &b, ice->controlling ? RTC_STUN_ATTR_ICE_CONTROLLING : RTC_STUN_ATTR_ICE_CONTROLLED,
        ice->tie_breaker);
    if (use_candidate) rtc_stun_add_flag(&b, RTC_STUN_ATTR_USE_CANDIDATE);
    rtc_stun_add_integrity(&b, &ice->remote_key);
    rtc_stun_add_fingerprint(&b);
    return rtc_stun_build_finish(&b);
}

/* A check is up to ICE_CHECK_ROUNDS STUN transactions of check_rc transmissions each
** (RFC 8489 §6.2.1 schedule inside a round: 0, RTO, 3 RTO; the round ends 2 RTO after its
** last transmission). RFC 8445 §14.3 leaves the retransmission policy open; plain RFC 8489
** doubling would space the last tries 8 and 16 s apart, which on a lossy link is where a
** pair is lost. Rounds cap the gap at ~1 s and fail a pair after ~10 s, like browsers. */
#define ICE_CHECK_ROUNDS 4
#define ICE_CHECK_RM     2

static void send_check_round(rtc_ice *ice, int pi, bool nominate, int round);

static void send_check(rtc_ice *ice, int pi, bool nominate) {
    send_check_round(ice, pi, nominate, 1);
}

static void send_check_round(rtc_ice *ice, int pi, bool nominate, int round) {
    ice_pair *p = &ice->pairs[pi];
    p->round = (uint8_t)round;
    if (p->in_flight) {
        /* §7.3.1.4 "cancel": no more retransmissions, but a response to it still counts
        ** (otherwise two agents whose checks cross keep cancelling the very transactions
        ** whose answers are on the way, when the RTT exceeds Ta). */
        rtc_stun_client_cancel(ice->stun, p->tid);
        p->in_flight = false;
        p->has_prev = true;
        memcpy(p->prev_tid, p->tid, sizeof p->tid);
        p->prev_nominating = p->flight_nominating;
        p->prev_controlling = p->flight_controlling;
    }
    uint8_t buf[ICE_CHECK_BUF], tid[RTC_STUN_TID_LEN];
    rtc_stun_client_new_tid(ice->stun, tid);
    int n = build_request(ice, buf, sizeof buf, tid, p->local, nominate);
    if (n < 0) {
        p->state = PAIR_FAILED;
        return;
    }
    rtc_stun_txn_params tp;
    memset(&tp, 0, sizeof tp);
    tp.src = ice->locals[p->local].base;
    tp.dst = ice->remotes[p->remote].addr;
    tp.rm = ICE_CHECK_RM;
    if (rtc_stun_client_start(ice->stun, ice->now, buf, (size_t)n, &tp) != RTC_OK) return;
    p->in_flight = true;
    p->flight_nominating = nominate;
    p->flight_controlling = ice->controlling;
    memcpy(p->tid, tid, sizeof tid);
    if (p->state != PAIR_SUCCEEDED) p->state = PAIR_IN_PROGRESS;
    p->triggered = false;
    ice->stats.checks_sent++;
    if (rtc_log_enabled(&ice->env, RTC_LOG_DEBUG)) {
        char a[RTC_ADDR_STRLEN], b2[RTC_ADDR_STRLEN];
        rtc_addr_fmt(&tp.src, a, sizeof a);
        rtc_addr_fmt(&tp.dst, b2, sizeof b2);
        RTC_LOGD(&ice->env, "%s check pair %d %s -> %s%s", ice->local_ufrag, pi, a, b2,
                 nominate ? " USE-CANDIDATE" : "");
    }
}

static void send_consent(rtc_ice *ice) {
    if (ice->sel_pair < 0) return;
    const ice_pair *p = &ice->pairs[ice->sel_pair];
    if (ice->consent_in_flight) rtc_stun_client_cancel(ice->stun, ice->consent_tid);
    uint8_t buf[ICE_CHECK_BUF];
    rtc_stun_client_new_tid(ice->stun, ice->consent_tid);
    int n = build_request(ice, buf, sizeof buf, ice->consent_tid, p->local, false);
    if (n < 0) return;
    rtc_stun_txn_params tp;
    memset(&tp, 0, sizeof tp);
    tp.src = ice->locals[p->local].base;
    tp.dst = ice->remotes[p->remote].addr;
    /* RFC 7675 §5.1: retransmit at the check RTO, give up before the next check is due. */
    tp.rc = 4;
    tp.rm = 2;
    if (rtc_stun_client_start(ice->stun, ice->now, buf, (size_t)n, &tp) == RTC_OK)
        ice->consent_in_flight = true;
}

static rtc_time consent_interval(rtc_ice *ice) {
    /* RFC 7675 §5.1: uniformly in [0.8, 1.2] x the interval. */
    rtc_time base = ice->cfg.consent_interval;
    rtc_time span = base * 2 / 5;
    uint32_t r = rtc_random_below(&ice->env, 1000);
    return base - base / 5 + span * (rtc_time)r / 1000;
}

void ice_select_pair(rtc_ice *ice, int pi) {
    /* RFC 7675 §5.1: once consent is lost only an ICE restart brings the session back. */
    if (ice->consent_failed) return;
    ice_pair *p = &ice->pairs[pi];
    p->nominated = true;
    const ice_local *l = &ice->locals[p->local];
    const ice_remote *r = &ice->remotes[p->remote];
    bool same = ice->have_sel && rtc_addr_equal(&ice->sel_local, &l->base) &&
                rtc_addr_equal(&ice->sel_remote, &r->addr) && ice->sel_relay == l->relay_id;
    if (pi != ice->sel_pair) ice->consent_next = ice->now + consent_interval(ice);
    ice->sel_pair = pi;
    /* The successful check that led here is fresh consent (RFC 7675 §5.1), also when an
    ** ICE restart re-selects the same addresses with new credentials. */
    ice->consent_last = ice->now;
    ice->sel_ltype = l->type;
    ice->sel_rtype = r->type;
    if (!same) {
        ice->have_sel = true;
        ice->sel_local = l->base;
        ice->sel_remote = r->addr;
        ice->sel_relay = l->relay_id;
        ice->last_sent_sel = ice->now;
        ice->stats.nominations++;
        rtc_ice_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = RTC_ICE_EVENT_SELECTED_PAIR;
        ev.local = ice->sel_local;
        ev.remote = ice->sel_remote;
        ev.relay_id = ice->sel_relay;
        ev.local_type = ice->sel_ltype;
        ev.remote_type = ice->sel_rtype;
        ice_emit(ice, &ev);
        RTC_LOGD(&ice->env, "%s selected pair %d", ice->local_ufrag, pi);
    }
}

/* Controlling, regular nomination (§8.1.1): nominate the best valid pair once no better
** pair can still succeed, or after nomination_delay. Renominate when a better pair
** becomes valid later (the controlled side follows the latest nomination). */
static void consider_nomination(rtc_ice *ice) {
    if (!ice->controlling || ice->cfg.lite || ice->consent_failed) return;
    int best = -1;
    for (size_t i = 0; i < ice->n_pairs; i++)
        if (ice->pairs[i].valid && (best < 0 || ice->pairs[i].priority > ice->pairs[best].priority))
            best = (int)i;
    if (best < 0) return;
    if (ice->sel_pair >= 0 && ice->pairs[ice->sel_pair].priority >= ice->pairs[best].priority)
        return;
    if (ice->pairs[best].in_flight && ice->pairs[best].flight_nominating) return;
    bool better_pending = false;
    for (size_t i = 0; i < ice->n_pairs; i++) {
        const ice_pair *p = &ice->pairs[i];
        if (p->priority > ice->pairs[best].priority &&
            (p->state == PAIR_WAITING || p->state == PAIR_IN_PROGRESS || p->state == PAIR_FROZEN))
            better_pending = true;
    }
    rtc_time at = better_pending ? ice->now + ice->cfg.nomination_delay : ice->now;
    /* Paced like checks, so a nomination that cannot leave (transaction table full) does
    ** not make the agent spin. */
    if (at < ice->last_nominate_at + ice->cfg.ta) at = ice->last_nominate_at + ice->cfg.ta;
    if (at < ice->nominate_at) ice->nominate_at = at;
}

static void do_nominate(rtc_ice *ice) {
    ice->nominate_at = RTC_TIME_NEVER;
    ice->last_nominate_at = ice->now;
    int best = -1;
    for (size_t i = 0; i < ice->n_pairs; i++)
        if (ice->pairs[i].valid && (best < 0 || ice->pairs[i].priority > ice->pairs[best].priority))
            best = (int)i;
    if (best < 0 || !ice->have_remote) return;
    if (ice->sel_pair >= 0 && ice->pairs[ice->sel_pair].priority >= ice->pairs[best].priority)
        return;
    send_check(ice, best, true);
}

/* The selected path went away under us (its relay died: agent.c rtc_ice_relay_failed). Data
** moves at once to the best remaining valid pair, nominated ones first (RFC 8445 §8.1.2: any
** valid pair may carry data; the controlling side nominates it so the peer follows); with no
** valid pair left the session is lost for good, as after a consent failure (RFC 7675 §5.1):
** FAILED now instead of when consent would have expired 30 s later. */
void ice_selected_path_lost(rtc_ice *ice) {
    if (!ice->have_sel || ice->consent_failed) return;
    int best = -1;
    for (size_t i = 0; i < ice->n_pairs; i++) {
        const ice_pair *p = &ice->pairs[i];
        if (!p->valid || p->state == PAIR_FAILED) continue;
        if (best < 0) {
            best = (int)i;
            continue;
        }
        const ice_pair *b = &ice->pairs[best];
        if (p->nominated != b->nominated ? p->nominated : p->priority > b->priority) best = (int)i;
    }
    if (best < 0) {
        RTC_LOGI(&ice->env, "%s selected path's relay failed, no other valid pair: failed",
                 ice->local_ufrag);
        ice->sel_pair = -1;
        ice->consent_failed = true;
        return;
    }
    RTC_LOGI(&ice->env, "%s selected path's relay failed: moving to pair %d", ice->local_ufrag,
             best);
    ice->have_sel = false; /* a new path: SELECTED_PAIR even if it was nominated before */
    ice->sel_pair = -1;
    ice_select_pair(ice, best);
    if (ice->controlling && !ice->cfg.lite && ice->have_remote) {
        send_check(ice, best, true);
        ice->last_nominate_at = ice->now;
    }
}

/* ---- incoming requests (§7.3) ---------------------------------------------------------- */

static void respond_error(rtc_ice *ice, const rtc_stun_msg *req, const rtc_addr *src,
                          const rtc_addr *dst, uint32_t relay_id, int code, bool sign) {
    uint8_t buf[256];
    rtc_stun_builder b;
    rtc_stun_build_error_response(&b, buf, sizeof buf, req, code, NULL);
    if (sign) rtc_stun_add_integrity(&b, &ice->local_key);
    rtc_stun_add_fingerprint(&b);
    int n = rtc_stun_build_finish(&b);
    if (n > 0) ice_queue_tx(ice, dst, src, relay_id, buf, (size_t)n);
}

static int handle_request(rtc_ice *ice, const rtc_stun_msg *m, int parse_rc, const rtc_addr *src,
                          const rtc_addr *dst) {
    if (m->method != RTC_STUN_BINDING) return 0;
    int li = ice_find_local_base(ice, dst);
    if (li < 0) return 0; /* not one of our bases: the caller routed it wrongly */
    uint32_t relay_id = ice->locals[li].relay_id;
    /* RFC 8445 §7.3: FINGERPRINT is mandatory in checks; without it, not ICE: drop. */
    if (m->fp < 0) return 0;
    const uint8_t *user;
    size_t ulen;
    if (rtc_stun_get_bytes(m, RTC_STUN_ATTR_USERNAME, &user, &ulen) != RTC_OK || m->mi < 0) {
        respond_error(ice, m, src, dst, relay_id, RTC_STUN_ERR_BAD_REQUEST, false);
        return 0;
    }
    size_t lu = strlen(ice->local_ufrag);
    /* RFC 8445 §7.3: USERNAME is "<our ufrag>:<their ufrag>"; RFC 8489 §9.1.3: unknown
    ** username or bad integrity -> 401 without integrity. */
    if (ulen <= lu || memcmp(user, ice->local_ufrag, lu) != 0 || user[lu] != ':' ||
        rtc_stun_check_mi(m, &ice->local_key) != RTC_OK) {
        ice->stats.auth_failures++;
        respond_error(ice, m, src, dst, relay_id, RTC_STUN_ERR_UNAUTHENTICATED, false);
        return 0;
    }
    if (parse_rc == RTC_ERR_UNSUPPORTED) {
        respond_error(ice, m, src, dst, relay_id, RTC_STUN_ERR_UNKNOWN_ATTRIBUTE, true);
        return 0;
    }
    uint32_t prio;
    if (rtc_stun_get_u32(m, RTC_STUN_ATTR_PRIORITY, &prio) != RTC_OK) {
        respond_error(ice, m, src, dst, relay_id, RTC_STUN_ERR_BAD_REQUEST, true);
        return 0;
    }
    ice->stats.checks_received++;

    /* §7.3.1.1 role conflicts. */
    uint64_t their;
    bool they_controlling = rtc_stun_get_u64(m, RTC_STUN_ATTR_ICE_CONTROLLING, &their) == RTC_OK;
    bool they_controlled =
        !they_controlling && rtc_stun_get_u64(m, RTC_STUN_ATTR_ICE_CONTROLLED, &their) == RTC_OK;
    if ((they_controlling && ice->controlling) || (they_controlled && !ice->controlling)) {
        ice->stats.role_conflicts++;
        bool we_win = ice->tie_breaker >= their;
        bool switch_role = ice->controlling ? !we_win : we_win;
        if (ice->cfg.lite && !ice->controlling) switch_role = false;
        if (switch_role) {
            ice->controlling = !ice->controlling;
            ice_recompute_priorities(ice);
            rtc_ice_event ev;
            memset(&ev, 0, sizeof ev);
            ev.type = RTC_ICE_EVENT_ROLE;
            ev.controlling = ice->controlling;
            ice_emit(ice, &ev);
        } else {
            respond_error(ice, m, src, dst, relay_id, RTC_STUN_ERR_ROLE_CONFLICT, true);
            return 0;
        }
    }

    /* §7.3.1.3: an unknown source is a peer-reflexive candidate (bounded like the rest). */
    int ri = -1;
    for (size_t i = 0; i < ice->n_remotes; i++)
        if (ice->remotes[i].used && !ice->remotes[i].resolving &&
            rtc_addr_equal(&ice->remotes[i].addr, src)) {
            ri = (int)i;
            break;
        }
    if (ri < 0) {
        char f[RTC_ICE_FOUNDATION_MAX + 1];
        snprintf(f, sizeof f, "prflx%u", (unsigned)++ice->prflx_seq);
        ri = ice_add_remote(ice, RTC_ICE_CAND_PRFLX, src, prio, f, NULL, 0);
    }
    if (!ice->have_remote) ice->stats.early_checks++;

    /* §7.3.1.2: the success response, from the address the request came to. */
    uint8_t buf[256];
    rtc_stun_builder b;
    rtc_stun_build_response(&b, buf, sizeof buf, m, RTC_STUN_SUCCESS);
    rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_MAPPED_ADDRESS, src);
    rtc_stun_add_integrity(&b, &ice->local_key);
    rtc_stun_add_fingerprint(&b);
    int n = rtc_stun_build_finish(&b);
    if (n > 0) ice_queue_tx(ice, dst, src, relay_id, buf, (size_t)n);
    if (ri < 0) return 0; /* bound reached: answered, not remembered */

    int pi = find_pair(ice, li, ri);
    if (pi < 0) pi = add_pair(ice, li, ri);
    if (pi < 0) return 0;
    ice_pair *p = &ice->pairs[pi];
    bool use_cand = rtc_stun_has(m, RTC_STUN_ATTR_USE_CANDIDATE);

    if (ice->cfg.lite) {
        /* A lite agent never checks: the request proves the path (RFC 8445 §2.5). */
        p->valid = true;
        p->state = PAIR_SUCCEEDED;
        if (use_cand || (pi == ice->sel_pair)) ice_select_pair(ice, pi);
        if (pi == ice->sel_pair) ice->consent_last = ice->now;
        return 0;
    }
    /* §7.3.1.4 triggered checks, also for an In-Progress pair: its transaction is replaced
    ** by a new one, so a check lost on the way out is retried as soon as the path is
    ** shown to work in the other direction. */
    if (p->state != PAIR_SUCCEEDED) trigger(ice, p);
    /* §7.3.1.5: the controlled agent follows USE-CANDIDATE (and the latest one). */
    if (use_cand && !ice->controlling) {
        if (p->valid)
            ice_select_pair(ice, pi);
        else
            p->nominate_on_success = true;
    }
    return 0;
}

/* ---- responses (§7.2.5) ---------------------------------------------------------------- */

/* The pair whose current (or cancelled previous) check has this transaction id. */
static int pair_by_tid(const rtc_ice *ice, const uint8_t *tid, bool *prev) {
    for (size_t i = 0; i < ice->n_pairs; i++) {
        const ice_pair *p = &ice->pairs[i];
        if (p->in_flight && memcmp(p->tid, tid, RTC_STUN_TID_LEN) == 0) {
            if (prev) *prev = false;
            return (int)i;
        }
        if (prev && p->has_prev && memcmp(p->prev_tid, tid, RTC_STUN_TID_LEN) == 0) {
            *prev = true;
            return (int)i;
        }
    }
    return -1;
}

static void unfreeze_foundation(rtc_ice *ice, const ice_pair *ok) {
    for (size_t i = 0; i < ice->n_pairs; i++) {
        ice_pair *p = &ice->pairs[i];
        if (p->state == PAIR_FROZEN && same_foundation(ice, p, ok)) p->state = PAIR_WAITING;
    }
}

static void check_succeeded(rtc_ice *ice, int pi, bool nominating) {
    ice_pair *p = &ice->pairs[pi];
    p->state = PAIR_SUCCEEDED;
    p->valid = true;
    unfreeze_foundation(ice, p);
    if (pi == ice->sel_pair) ice->consent_last = ice->now;
    if (ice->controlling) {
        if (nominating)
            ice_select_pair(ice, pi);
        else
            consider_nomination(ice);
    } else if (p->nominate_on_success) {
        p->nominate_on_success = false;
        ice_select_pair(ice, pi);
    }
}

static int handle_response(rtc_ice *ice, const rtc_stun_msg *m, const rtc_addr *src,
                           const rtc_addr *dst) {
    rtc_stun_client_event ev;
    memset(&ev, 0, sizeof ev);
    /* Server-reflexive requests: unauthenticated by design (RFC 8489 §9 none for Binding). */
    for (int i = 0; i < ICE_MAX_SRFLX_TXN; i++)
        if (ice->srflx[i].active && memcmp(ice->srflx[i].tid, m->tid, RTC_STUN_TID_LEN) == 0) {
            if (rtc_stun_client_handle_response(ice->stun, ice->now, m, &ev) == 1)
                ice_srflx_dispatch(ice, m->tid, m);
            return 0;
        }
    bool via_prev = false;
    int pi = pair_by_tid(ice, m->tid, &via_prev);
    bool consent =
        ice->consent_in_flight && memcmp(ice->consent_tid, m->tid, RTC_STUN_TID_LEN) == 0;
    if (pi < 0 && !consent) { /* unknown transaction (RFC 8489 §6.3.3) */
        RTC_LOGD(&ice->env, "%s response for no transaction", ice->local_ufrag);
        return 0;
    }
    /* Responses are signed with the password the request used: the peer's (§7.2.5.1). An
    ** unsigned or forged answer is dropped and the retransmissions carry on. */
    if (rtc_stun_check_mi(m, &ice->remote_key) != RTC_OK) {
        ice->stats.auth_failures++;
        RTC_LOGD(&ice->env, "%s response failed integrity", ice->local_ufrag);
        return 0;
    }
    if (via_prev) {
        if (m->cls == RTC_STUN_ERROR) rtc_stun_get_error_code(m, &ev.error_code, NULL, NULL);
    } else if (rtc_stun_client_handle_response(ice->stun, ice->now, m, &ev) != 1) {
        return 0;
    }
    ice->stats.responses_received++;

    if (consent) {
        ice->consent_in_flight = false;
        const ice_pair *sp = ice->sel_pair >= 0 ? &ice->pairs[ice->sel_pair] : NULL;
        if (m->cls == RTC_STUN_SUCCESS && sp &&
            rtc_addr_equal(src, &ice->remotes[sp->remote].addr) &&
            rtc_addr_equal(dst, &ice->locals[sp->local].base))
            ice->consent_last = ice->now;
        return 0;
    }
    ice_pair *p = &ice->pairs[pi];
    bool nominating, controlling;
    if (via_prev) {
        p->has_prev = false;
        nominating = p->prev_nominating;
        controlling = p->prev_controlling;
    } else {
        p->in_flight = false;
        nominating = p->flight_nominating;
        controlling = p->flight_controlling;
    }
    /* §7.2.5.2.1: the response must come from where the request went, to where it came
    ** from; otherwise the pair fails (a NAT in the way or an attacker). */
    if (!rtc_addr_equal(src, &ice->remotes[p->remote].addr) ||
        !rtc_addr_equal(dst, &ice->locals[p->local].base)) {
        if (p->in_flight) rtc_stun_client_cancel(ice->stun, p->tid);
        p->in_flight = false;
        p->has_prev = false;
        p->triggered = false;
        p->state = PAIR_FAILED;
        return 0;
    }
    if (m->cls == RTC_STUN_ERROR) {
        if (ev.error_code == RTC_STUN_ERR_ROLE_CONFLICT) {
            /* §7.2.5.1: switch role if we still hold the one the request claimed. */
            ice->stats.role_conflicts++;
            if (controlling == ice->controlling && !ice->cfg.lite) {
                ice->controlling = !ice->controlling;
                ice_recompute_priorities(ice);
                rtc_ice_event rev;
                memset(&rev, 0, sizeof rev);
                rev.type = RTC_ICE_EVENT_ROLE;
                rev.controlling = ice->controlling;
                ice_emit(ice, &rev);
            }
            if (!p->in_flight) trigger(ice, p);
        } else if (!p->in_flight && !p->valid) {
            p->state = PAIR_FAILED;
        }
        return 0;
    }
    /* A success for the cancelled check makes the current one (if it is a plain check)
    ** redundant. */
    if (!via_prev && ev.rtt >= 0) p->rtt = ev.rtt;
    if (via_prev && p->in_flight && !p->flight_nominating) {
        rtc_stun_client_cancel(ice->stun, p->tid);
        p->in_flight = false;
    }
    check_succeeded(ice, pi, nominating);
    return 0;
}

int ice_handle_stun(rtc_ice *ice, const rtc_addr *src, const rtc_addr *dst, const uint8_t *buf,
                    size_t len) {
    rtc_stun_msg m;
    int rc = rtc_stun_parse(&m, buf, len);
    if (rc != RTC_OK && rc != RTC_ERR_UNSUPPORTED) return rc == RTC_ERR_AUTH ? 0 : RTC_ERR_PARSE;
    switch (m.cls) {
    case RTC_STUN_REQUEST: return handle_request(ice, &m, rc, src, dst);
    case RTC_STUN_SUCCESS:
    case RTC_STUN_ERROR:
        if (rc == RTC_ERR_UNSUPPORTED) return 0; /* §6.3.3: drop */
        return handle_response(ice, &m, src, dst);
    default: return 0; /* indications: keepalives (§11), nothing to do */
    }
}

void ice_handle_client_event(rtc_ice *ice, const rtc_stun_client_event *ev) {
    if (ev->result != RTC_STUN_TXN_TIMEOUT) return;
    if (ice_srflx_dispatch(ice, ev->tid, NULL)) return;
    if (ice->consent_in_flight && memcmp(ice->consent_tid, ev->tid, RTC_STUN_TID_LEN) == 0) {
        ice->consent_in_flight = false; /* the 30 s rule decides, not one transaction */
        return;
    }
    int pi = pair_by_tid(ice, ev->tid, NULL);
    if (pi < 0) return;
    ice_pair *p = &ice->pairs[pi];
    p->in_flight = false;
    if (p->round < ICE_CHECK_ROUNDS && ice->have_remote) {
        send_check_round(ice, pi, p->flight_nominating, p->round + 1);
        return;
    }
    if (!p->valid) p->state = PAIR_FAILED;
}

/* ---- timers ---------------------------------------------------------------------------- */

static bool can_check(const rtc_ice *ice) {
    return ice->have_remote && !ice->cfg.lite && !ice->closed;
}

/* §6.1.4.2: the next pair to check: triggered first (FIFO), then the best Waiting, then
** the best Frozen whose foundation has nothing Waiting or In-Progress. */
static int next_check_pair(rtc_ice *ice, bool commit) {
    int best = -1;
    for (size_t i = 0; i < ice->n_pairs; i++)
        if (ice->pairs[i].triggered &&
            (best < 0 || ice->pairs[i].trigger_seq < ice->pairs[best].trigger_seq))
            best = (int)i;
    if (best >= 0) return best;
    for (size_t i = 0; i < ice->n_pairs; i++)
        if (ice->pairs[i].state == PAIR_WAITING &&
            (best < 0 || ice->pairs[i].priority > ice->pairs[best].priority))
            best = (int)i;
    if (best >= 0) return best;
    for (size_t i = 0; i < ice->n_pairs; i++) {
        const ice_pair *p = &ice->pairs[i];
        if (p->state != PAIR_FROZEN) continue;
        bool blocked = false;
        for (size_t k = 0; k < ice->n_pairs; k++) {
            const ice_pair *o = &ice->pairs[k];
            if ((o->state == PAIR_WAITING || o->state == PAIR_IN_PROGRESS) &&
                same_foundation(ice, o, p))
                blocked = true;
        }
        if (!blocked && (best < 0 || p->priority > ice->pairs[best].priority)) best = (int)i;
    }
    if (best >= 0 && commit) ice->pairs[best].state = PAIR_WAITING;
    return best;
}

rtc_time ice_check_next_timeout(const rtc_ice *ice) {
    rtc_time t = rtc_stun_client_next_timeout(ice->stun);
    if (can_check(ice) && next_check_pair((rtc_ice *)ice, false) >= 0) {
        rtc_time c = ice->last_check_at + ice->cfg.ta;
        if (c < t) t = c;
    }
    if (ice->nominate_at < t) t = ice->nominate_at;
    if (ice->have_sel && !ice->consent_failed) {
        if (ice->sel_pair >= 0 && !ice->cfg.lite && ice->have_remote && ice->consent_next < t)
            t = ice->consent_next;
        rtc_time d = ice->consent_last + ice->cfg.disconnected_timeout;
        if (d > ice->now && d < t) t = d;
        rtc_time f = ice->consent_last + ice->cfg.consent_timeout;
        if (f < t) t = f;
        rtc_time k = ice->last_sent_sel + ice->cfg.keepalive_interval;
        if (ice->sel_pair >= 0 && k < t) t = k;
    }
    return t;
}

void ice_run_timers(rtc_ice *ice) {
    rtc_stun_client_handle_timeout(ice->stun, ice->now);
    rtc_stun_client_event ev;
    while (rtc_stun_client_poll_event(ice->stun, &ev) == 1)
        ice_handle_client_event(ice, &ev);

    if (can_check(ice) && ice->now >= ice->last_check_at + ice->cfg.ta) {
        int pi = next_check_pair(ice, true);
        if (pi >= 0) {
            send_check(ice, pi, false);
            ice->last_check_at = ice->now;
        }
    }
    if (ice->controlling) consider_nomination(ice);
    if (ice->nominate_at <= ice->now) do_nominate(ice);
    if (ice->have_sel && !ice->consent_failed && ice->sel_pair >= 0 && !ice->cfg.lite &&
        ice->have_remote && ice->now >= ice->consent_next) {
        send_consent(ice);
        ice->consent_next = ice->now + consent_interval(ice);
        ice->last_sent_sel = ice->now;
    }
    if (ice->have_sel && !ice->consent_failed && ice->sel_pair >= 0 &&
        ice->now >= ice->last_sent_sel + ice->cfg.keepalive_interval) {
        /* RFC 8445 §11: a Binding indication keeps NAT bindings when nothing else flows. */
        uint8_t buf[32], tid[RTC_STUN_TID_LEN];
        rtc_stun_client_new_tid(ice->stun, tid);
        rtc_stun_builder b;
        rtc_stun_build_init(&b, buf, sizeof buf, RTC_STUN_BINDING, RTC_STUN_INDICATION, tid);
        rtc_stun_add_fingerprint(&b);
        int n = rtc_stun_build_finish(&b);
        if (n > 0)
            ice_queue_tx(ice, &ice->sel_local, &ice->sel_remote, ice->sel_relay, buf, (size_t)n);
        ice->last_sent_sel = ice->now;
    }
}

size_t rtc_ice_get_pairs(const rtc_ice *ice, rtc_ice_pair_info *out, size_t cap) {
    if (!ice) return 0;
    for (size_t i = 0; i < ice->n_pairs && i < cap && out; i++) {
        const ice_pair *p = &ice->pairs[i];
        const ice_local *l = &ice->locals[p->local];
        const ice_remote *r = &ice->remotes[p->remote];
        rtc_ice_pair_info *o = &out[i];
        memset(o, 0, sizeof *o);
        o->local = l->base;
        o->remote = r->addr;
        o->local_type = l->type;
        o->remote_type = r->type;
        o->relay_id = l->relay_id;
        o->state = p->state;
        o->valid = p->valid;
        o->nominated = p->nominated;
        o->selected = (int)i == ice->sel_pair;
        o->priority = p->priority;
        o->rtt = p->rtt;
    }
    return ice->n_pairs;
}
