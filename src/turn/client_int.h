/* Private state of the TURN client (include/cwebrtc/turn_client.h), shared by
** client.c (allocation, requests, timers) and client_data.c (data path, events). */
#ifndef RTC_TURN_CLIENT_INT_H
#define RTC_TURN_CLIENT_INT_H

#include "cwebrtc/net.h"
#include "cwebrtc/stun.h"
#include "cwebrtc/turn_client.h"
#include "util/util.h"

/* RFC 8489 §14.3/§14.9/§14.10: USERNAME < 513 bytes, REALM and NONCE < 763 bytes. */
#define TURNC_USERNAME_MAX   512
#define TURNC_REALM_MAX      762
#define TURNC_NONCE_MAX      762
#define TURNC_STALE_RETRIES  3  /* 438s in a row for one request before giving up */
#define TURNC_CONTROL_EVENTS 32 /* event slots kept for non-DATA events (plus tables) */

typedef enum turnc_kind { TK_ALLOC = 1, TK_REFRESH, TK_CLOSE, TK_PERM, TK_CHAN } turnc_kind;

/* One outstanding request; the rtc_stun_client transaction's user pointer. */
typedef struct turnc_txn {
    bool used;
    uint8_t kind; /* turnc_kind */
    bool authed;  /* carried USERNAME/REALM/NONCE/MESSAGE-INTEGRITY */
    bool refresh; /* PERM/CHAN: renewing an installed one */
    uint8_t stale_retries;
    uint8_t tid[RTC_STUN_TID_LEN];
    rtc_addr peer; /* PERM (port 0) / CHAN */
    uint16_t channel;
} turnc_txn;

typedef enum turnc_entry_state { TE_WAIT = 0, TE_PENDING, TE_OK, TE_FAILED } turnc_entry_state;

typedef struct turnc_perm {
    rtc_addr ip;   /* port 0 */
    uint8_t state; /* turnc_entry_state */
    bool pinned;   /* create_permission asked for it */
    bool inflight;
    bool ever_ok;
    rtc_time due; /* OK: next refresh; FAILED unpinned: removal */
    rtc_time last_used;
} turnc_perm;

typedef struct turnc_chan {
    rtc_addr peer;
    uint16_t number;
    uint8_t state;
    bool inflight;
    bool ever_ok;
    rtc_time due; /* next ChannelBind refresh */
} turnc_chan;

typedef struct turnc_event {
    rtc_turn_event ev;
    uint8_t *buf; /* owned copy of DATA bytes */
} turnc_event;

struct rtc_turn_client {
    rtc_env env;
    char *username, *password;
    rtc_addr server, local;
    rtc_turn_transport transport;
    uint8_t family;
    uint32_t req_lifetime;
    size_t max_perms, max_chans, max_data_events, max_queued_bytes;
    rtc_time perm_refresh, chan_refresh;

    rtc_turn_client_state state;
    rtc_stun_client *stun;
    rtc_framer *framer; /* TCP only */

    char realm[TURNC_REALM_MAX + 1];
    size_t realm_len;
    char nonce[TURNC_NONCE_MAX + 1];
    size_t nonce_len;
    bool have_key;
    rtc_stun_key key;

    rtc_addr relayed, mapped;
    uint32_t lifetime;
    rtc_time expires; /* server-side expiry estimate */
    rtc_time refresh_at;
    bool refresh_inflight;

    turnc_perm *perms;
    size_t n_perms;
    turnc_chan *chans;
    size_t n_chans;
    uint16_t next_channel;
    turnc_txn *txns;
    size_t n_txns;

    turnc_event *evq; /* ring */
    size_t ev_cap, ev_head, ev_count, ev_data, ev_bytes;
    uint8_t *polled; /* DATA bytes of the last polled event */
    size_t polled_len;

    uint8_t ind_tid[RTC_STUN_TID_LEN]; /* Send indications: random once, then counted */
    uint32_t ind_count;
    rtc_turn_client_stats stats;
    uint8_t scratch[RTC_STUN_MAX_MSG_LEN];
};

/* client.c */
RTC_INTERNAL bool turnc_peer_family_ok(const rtc_turn_client *c, const rtc_addr *peer);
RTC_INTERNAL turnc_perm *turnc_perm_find(rtc_turn_client *c, const rtc_addr *peer);
RTC_INTERNAL turnc_chan *turnc_chan_by_peer(rtc_turn_client *c, const rtc_addr *peer);
RTC_INTERNAL turnc_chan *turnc_chan_by_number(rtc_turn_client *c, uint16_t number);
RTC_INTERNAL int turnc_perm_add(rtc_turn_client *c, rtc_time now, const rtc_addr *peer, bool pinned,
                                turnc_perm **out);
RTC_INTERNAL void turnc_handle_response(rtc_turn_client *c, rtc_time now, const rtc_stun_msg *m);
RTC_INTERNAL void turnc_fail(rtc_turn_client *c, int err, int code);
RTC_INTERNAL void turnc_closed(rtc_turn_client *c);

/* client_data.c */
RTC_INTERNAL int turnc_event_push(rtc_turn_client *c, const rtc_turn_event *ev);
RTC_INTERNAL void turnc_events_free(rtc_turn_client *c);
/* Handle one message (a STUN message or ChannelData) from the server. Returns 1 with
** *data filled for peer data when data != NULL, 0 when consumed, or RTC_ERR_PARSE. */
RTC_INTERNAL int turnc_input(rtc_turn_client *c, rtc_time now, const uint8_t *buf, size_t len,
                             bool stream, rtc_turn_data *data);

#endif
