/* Private state of the TURN server core (src/turn/server.c). */
#ifndef RTC_TURN_SERVER_INT_H
#define RTC_TURN_SERVER_INT_H

#include "cwebrtc/stun.h"
#include "cwebrtc/turn_server.h"

#define RTC_TURN_MAX_USERNAME 513 /* RFC 8489 §14.3: < 513 bytes */
#define RTC_TURN_MAX_SECRETS 8
#define RTC_TURN_NONCE_LEN 40     /* 16 hex expiry + 24 hex MAC */
#define RTC_TURN_MAX_PERMS 64     /* hard cap per allocation */
#define RTC_TURN_MAX_CHANS 64
#define RTC_TURN_OUT_SLOTS 16     /* one input produces at most one or two outputs */
#define RTC_TURN_MAX_DATA 1600    /* largest relayed payload (UDP path MTU class) */
#define RTC_TURN_RATE_BUCKETS 1024
#define RTC_TURN_TCP_PENDING_MAX 1024   /* RFC 6062 connections waiting for Connect/Bind */
#define RTC_TURN_TCP_BIND_US 30000000  /* §5.2/§5.3: 30 s to ConnectionBind */

typedef struct user_entry {
    struct user_entry *next;
    uint32_t hash;
    bool has_key;
    uint8_t key[16];       /* MD5(user:realm:password) */
    size_t allocations;    /* live allocations of this username (quota) */
    size_t name_len;
    char name[];           /* name_len bytes + NUL */
} user_entry;

typedef struct perm_t {
    rtc_addr ip; /* port ignored (§9) */
    rtc_time expires;
} perm_t;

typedef struct chan_t {
    uint16_t number;
    rtc_addr peer;
    rtc_time expires;
} chan_t;

typedef struct alloc_t alloc_t;

/* An RFC 6062 peer connection the core still cares about: connecting (Connect sent to
** the app, answer pending) or waiting for the client's ConnectionBind. */
typedef struct tcp_pending {
    struct tcp_pending *next;
    uint32_t id;
    alloc_t *a;
    rtc_addr peer;
    bool connecting;
    uint8_t tid[RTC_STUN_TID_LEN]; /* the Connect request's */
    rtc_time expires;
} tcp_pending;
typedef struct relay_link {
    alloc_t *a;
    int slot;
    struct relay_link *next;
} relay_link;

struct alloc_t {
    alloc_t *next_tuple, *all_next;
    relay_link rl[2];
    uint32_t tuple_hash;
    int transport;
    bool tcp_relay;        /* RFC 6062 allocation: relay[0] is a TCP listener */
    bool quota_held;       /* cfg.quota.acquire said yes: release when freed */
    rtc_addr listener, client;
    rtc_addr relay[2];     /* [0] the requested family, [1] the additional IPv6 one */
    void *handle[2];
    uint64_t token;        /* RESERVATION-TOKEN handed out, 0 if none */
    uint8_t alloc_tid[RTC_STUN_TID_LEN];
    rtc_stun_key key;
    rtc_time expires;
    uint64_t bucket;       /* bandwidth token bucket, bytes */
    rtc_time bucket_time;
    /* Grown on demand (an idle allocation has one or two of each): memory per
    ** allocation stays near sizeof(alloc_t) + the username. */
    size_t n_perms, n_chans, cap_perms, cap_chans;
    perm_t *perms;
    chan_t *chans;
    size_t username_len;
    char username[]; /* username_len bytes + NUL */
};

typedef struct out_slot {
    rtc_turn_transmit t;
    uint8_t buf[RTC_TURN_MAX_DATA + 100];
} out_slot;

typedef struct rate_bucket {
    rtc_time window_start;
    uint32_t count;
} rate_bucket;

/* One client request being handled. */
typedef struct req_ctx {
    rtc_time now;
    int transport;
    const rtc_addr *listener, *client;
    const rtc_stun_msg *msg;
    bool have_key;
    rtc_stun_key key;
    size_t username_len;
    uint8_t username[RTC_TURN_MAX_USERNAME + 1];
} req_ctx;

struct rtc_turn_server {
    rtc_env env;
    rtc_turn_server_config cfg; /* realm/software/ranges point at our own copies */
    char *realm_buf, *software_buf;
    rtc_time nonce_lifetime;
    uint8_t nonce_key[32];
    int64_t unix_now;
    char *secrets[RTC_TURN_MAX_SECRETS];
    size_t n_secrets;
    user_entry **user_buckets;
    size_t n_user_buckets, n_users;
    alloc_t *all;
    alloc_t **by_tuple;
    relay_link **by_relay;
    size_t n_buckets;
    rtc_time next_sweep;
    tcp_pending *pending; /* RFC 6062, at most RTC_TURN_TCP_PENDING_MAX */
    size_t n_pending;
    rtc_turn_server_stats stats;
    rate_bucket rate[RTC_TURN_RATE_BUCKETS];
    out_slot out[RTC_TURN_OUT_SLOTS];
    size_t out_head, out_count;
};

#endif
