/*
** src/ice/ice_int.h: the agent's state block (private to src/ice).
**
** One component, one checklist (WebRTC bundles everything on one RTP/RTCP-muxed
** component). All tables are flat arrays grown on demand up to their configured bound
** (ice_grow in agent.c), and the transmit and event rings are freed whenever they drain: a
** connected agent with one host and one remote candidate holds about 5 KB (issue 6; 36.5 KB
** when the tables were allocated at their bounds). All are scanned linearly: they hold at
** most a few hundred entries, and a check's round trip dwarfs a scan. Pairs refer to
** candidates by index; remote slots are reused only when no pair refers to them (unresolved
** names never have pairs).
*/
#ifndef RTC_ICE_INT_H
#define RTC_ICE_INT_H

#include "cwebrtc/ice.h"
#include "cwebrtc/stun.h"
#include "util/util.h"

#define ICE_MAX_SERVERS   8
#define ICE_MAX_RELAYS    8
#define ICE_MAX_SRFLX_TXN 32
#define ICE_TXQ_CAP       128
#define ICE_EVQ_CAP       64
#define ICE_CHECK_BUF     1200

enum { PAIR_FROZEN = 0, PAIR_WAITING, PAIR_IN_PROGRESS, PAIR_SUCCEEDED, PAIR_FAILED };

typedef struct ice_local {
    uint8_t type;
    rtc_addr addr;    /* the candidate's transport address */
    rtc_addr base;    /* where we send from: host address, or the relayed address */
    rtc_addr related; /* raddr/rport in the SDP; family NONE for host */
    uint32_t priority;
    uint16_t local_pref;
    uint32_t relay_id;
    char foundation[RTC_ICE_FOUNDATION_MAX + 1];
} ice_local;

typedef struct ice_remote {
    bool used;
    bool resolving; /* hostname pending: addr not yet known, no pairs */
    uint8_t type;
    rtc_addr addr;
    uint32_t priority;
    uint32_t ufrag_hash; /* hash of the ufrag extension, 0 when absent */
    rtc_time resolve_deadline;
    char foundation[RTC_ICE_FOUNDATION_MAX + 1];
    char hostname[RTC_ICE_HOSTNAME_MAX + 1];
} ice_remote;

typedef struct ice_pair {
    int local, remote;
    uint64_t priority;
    uint8_t state;
    bool valid; /* a check succeeded: data may flow (RFC 8445 §7.2.5.3.2) */
    bool nominated;
    bool nominate_on_success; /* controlled: USE-CANDIDATE came before our check succeeded */
    bool triggered;           /* in the triggered-check FIFO (§6.1.4.1) */
    uint32_t trigger_seq;
    bool in_flight;
    uint8_t round; /* transaction round of the current check (check.c) */
    bool flight_nominating;
    bool flight_controlling; /* our role when the check left (for a 487, §7.2.5.1) */
    uint8_t tid[RTC_STUN_TID_LEN];
    /* The check this one replaced (§7.3.1.4): no longer retransmitted, still answered. */
    bool has_prev, prev_nominating, prev_controlling;
    rtc_time rtt; /* last unambiguous round trip (getStats); -1 when none */
    uint8_t prev_tid[RTC_STUN_TID_LEN];
} ice_pair;

typedef struct ice_srflx_txn {
    bool active;
    int host; /* index into locals (a host candidate) */
    int server;
    uint8_t tid[RTC_STUN_TID_LEN];
} ice_srflx_txn;

typedef struct ice_relay {
    uint32_t id;
    int state; /* 0 expected, 1 added, 2 failed */
    rtc_addr relayed, base;
} ice_relay;

typedef struct ice_txq_entry {
    rtc_addr src, dst;
    uint32_t relay_id;
    uint8_t *data;
    size_t len;
} ice_txq_entry;

struct rtc_ice {
    rtc_env env;
    rtc_ice_config cfg;
    rtc_stun_client *stun;
    rtc_time now;

    bool controlling;
    uint64_t tie_breaker;
    bool remote_lite;
    int state;
    int gathering;
    bool gather_started;
    bool closed;
    bool consent_failed; /* latched until a restart */
    bool remote_eoc;

    char local_ufrag[RTC_ICE_UFRAG_MAX + 1], local_pwd[RTC_ICE_PWD_MAX + 1];
    char remote_ufrag[RTC_ICE_UFRAG_MAX + 1], remote_pwd[RTC_ICE_PWD_MAX + 1];
    bool have_remote;
    rtc_stun_key local_key, remote_key;

    /* configured sources */
    rtc_addr *hosts;
    size_t n_hosts, hosts_cap;
    rtc_addr servers[ICE_MAX_SERVERS];
    size_t n_servers;
    ice_relay relays[ICE_MAX_RELAYS];
    size_t n_relays;
    ice_srflx_txn srflx[ICE_MAX_SRFLX_TXN];

    ice_local *locals;
    size_t n_locals, locals_cap;
    ice_remote *remotes;
    size_t remotes_cap; /* allocated slots, grown up to max_remote_candidates */
    size_t n_remotes;   /* slots in use or ever used (high-water mark) */
    ice_pair *pairs;
    size_t n_pairs, pairs_cap; /* grown by ice_reserve_pair (add_pair in check.c) */
    uint32_t trigger_seq;
    uint32_t prflx_seq;

    rtc_time last_check_at; /* Ta pacing */
    rtc_time nominate_at;   /* controlling: when to nominate; NEVER when not due */
    rtc_time last_nominate_at;

    /* The selected path. It survives an ICE restart (sel_pair = -1) and keeps carrying
    ** data until a new pair is selected (RFC 8445 §9). */
    bool have_sel;
    int sel_pair;
    rtc_addr sel_local, sel_remote;
    uint32_t sel_relay;
    uint8_t sel_ltype, sel_rtype;
    rtc_time consent_last; /* last proof of consent (RFC 7675 §5.1) */
    rtc_time consent_next;
    bool consent_in_flight;
    uint8_t consent_tid[RTC_STUN_TID_LEN];
    rtc_time last_sent_sel; /* keepalive (RFC 8445 §11) */

    ice_txq_entry *txq; /* ring grown from 4 up to ICE_TXQ_CAP, freed when it drains */
    size_t txq_cap, txq_head, txq_len;
    uint8_t *tx_out; /* the datagram last handed out, freed on the next call */
    size_t tx_out_len;

    rtc_ice_event *evq;
    size_t evq_cap, evq_head, evq_len; /* ring grown from 1 up to ICE_EVQ_CAP, freed when drained */

    rtc_ice_stats stats;
};

/* agent.c */
RTC_INTERNAL void ice_emit(rtc_ice *ice, const rtc_ice_event *ev);
RTC_INTERNAL void ice_emit_state(rtc_ice *ice, int type, int state);
RTC_INTERNAL int ice_queue_tx(rtc_ice *ice, const rtc_addr *src, const rtc_addr *dst,
                              uint32_t relay_id, const uint8_t *data, size_t len);
RTC_INTERNAL void ice_update_state(rtc_ice *ice);
RTC_INTERNAL void ice_check_gathering_done(rtc_ice *ice);
RTC_INTERNAL int ice_find_local_base(const rtc_ice *ice, const rtc_addr *dst);
RTC_INTERNAL int ice_local_prflx_priority(const rtc_ice *ice, int local);
/* Room for one more pair (below cfg.max_pairs): RTC_OK or RTC_ERR_NOMEM. May move
** ice->pairs: hold indexes, not pointers, across it. */
RTC_INTERNAL int ice_reserve_pair(rtc_ice *ice);

/* check.c */
RTC_INTERNAL void ice_pair_local(rtc_ice *ice, int local);
RTC_INTERNAL void ice_pair_remote(rtc_ice *ice, int remote);
RTC_INTERNAL void ice_recompute_priorities(rtc_ice *ice);
RTC_INTERNAL int ice_handle_stun(rtc_ice *ice, const rtc_addr *src, const rtc_addr *dst,
                                 const uint8_t *buf, size_t len);
RTC_INTERNAL void ice_run_timers(rtc_ice *ice);
RTC_INTERNAL rtc_time ice_check_next_timeout(const rtc_ice *ice);
RTC_INTERNAL void ice_handle_client_event(rtc_ice *ice, const rtc_stun_client_event *ev);
RTC_INTERNAL void ice_clear_checklist(rtc_ice *ice);
/* Drop every pair on remote candidate `remote` (the selected path itself survives). */
RTC_INTERNAL void ice_remove_remote_pairs(rtc_ice *ice, int remote);
RTC_INTERNAL void ice_select_pair(rtc_ice *ice, int pi);
/* The selected path is gone (its relay failed): switch to another valid pair or fail. */
RTC_INTERNAL void ice_selected_path_lost(rtc_ice *ice);
RTC_INTERNAL bool ice_checks_pending(const rtc_ice *ice);

#endif
