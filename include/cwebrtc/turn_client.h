/*
** cwebrtc/turn_client.h: a TURN client allocation (RFC 8656, RFC 8489), sans-IO.
**
** One rtc_turn_client is one allocation on one TURN server, reached over one transport
** (UDP, or a TCP/TLS byte stream). The core builds and parses every TURN message but
** owns no socket and reads no clock:
**
**   allocate(now)             Allocate with the long-term-credential dance: the first
**                             request goes without credentials, the 401 brings REALM and
**                             NONCE, the retry carries USERNAME/REALM/NONCE and
**                             MESSAGE-INTEGRITY keyed with MD5(user:realm:password);
**                             438 Stale Nonce is retried with the new nonce.
**   poll_transmit()           control messages (requests, retransmitted on the caller's
**                             clock by rtc_stun_client) to write to the server;
**   handle_packet(now, ...)   one datagram from the server (UDP): a response, a Data
**                             indication or ChannelData;
**   handle_stream(now, ...)   bytes read from the TCP/TLS connection (framed here, RFC
**                             8489 §6.2.2 and RFC 8656 §12.5 padding);
**   poll_event()              ALLOCATED (relayed + mapped address, lifetime), REFRESHED,
**                             PERMISSION, CHANNEL, DATA ("data from peer X"), ALTERNATE,
**                             FAILED, CLOSED;
**   handle_timeout(now) / next_timeout()   retransmissions and the refresh schedule.
**
** What the core keeps alive by itself once allocated: the allocation (Refresh at
** lifetime - 60 s, or half the lifetime when that is later), every permission in its
** table (CreatePermission every 240 s, before the server's 300 s expiry) while it is
** pinned (asked for with create_permission or used by a channel) or was used in the
** last 300 s, and every channel (ChannelBind again every 540 s, before 600 s).
** close(now) sends Refresh LIFETIME=0 (deallocation) and ends with CLOSED.
**
** Sending to a peer: rtc_turn_client_send() encodes a Send indication, or ChannelData
** once a channel to that exact peer address is confirmed, into caller memory; the caller
** writes the bytes to the server (as a datagram, or onto the stream: they are framed).
** No data queue exists on the sending side.
**
** TLS (turns:) is the driver's business: it terminates TLS and feeds the plaintext
** stream here exactly like TCP. DTLS (turns:?transport=udp) is not supported.
**
** The invariant: after EVERY call that mutates the client (allocate, close,
** create_permission, bind_channel, send, handle_*), drain rtc_turn_client_poll_transmit()
** and rtc_turn_client_poll_event() until they return 0, then read next_timeout.
**
** Plugging into ICE (include/cwebrtc/ice.h): one client per relay id. ICE
** RELAY_PERMISSION -> create_permission; an ICE transmit with relay_id -> send() to its
** dst; SELECTED_PAIR with a relay_id -> bind_channel(remote); ALLOCATED ->
** rtc_ice_add_relayed(id, relayed, local); FAILED/ALTERNATE -> rtc_ice_relay_failed(id);
** DATA -> rtc_ice_handle_packet(src = peer, dst = relayed). See docs/turn_client.md.
**
** Threading: one rtc_turn_client is used by one thread at a time; no globals, no locks.
*/
#ifndef CWEBRTC_TURN_CLIENT_H
#define CWEBRTC_TURN_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cwebrtc/addr.h"
#include "cwebrtc/common.h"
#include "cwebrtc/turn_server.h" /* rtc_turn_transport: RTC_TURN_UDP / RTC_TURN_TCP */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rtc_turn_client rtc_turn_client;

/* Worst-case bytes send() adds around a payload (Send indication to an IPv6 peer with
** DATA padding; ChannelData needs 4 + 3 padding). */
#define RTC_TURN_CLIENT_OVERHEAD 52
/* The protocol's fixed timers (RFC 8656 §9, §12): what this client schedules. */
#define RTC_TURN_PERMISSION_REFRESH_US RTC_SEC(240) /* server expiry: 300 s */
#define RTC_TURN_PERMISSION_IDLE_US    RTC_SEC(300) /* unpinned and unused this long: dropped */
#define RTC_TURN_CHANNEL_REFRESH_US    RTC_SEC(540) /* server expiry: 600 s */
#define RTC_TURN_CHANNEL_MIN           0x4000
#define RTC_TURN_CHANNEL_MAX           0x4FFF

typedef struct rtc_turn_client_config {
    const char *username;         /* long-term credentials (copied); required */
    const char *password;         /* UTF-8, already OpaqueString-prepared (ASCII: as is) */
    rtc_addr server;              /* the server's address (resolved by the caller) */
    rtc_addr local;               /* our address toward it; copied into transmits only */
    rtc_turn_transport transport; /* RTC_TURN_UDP (default) or RTC_TURN_TCP (also TLS) */
    uint8_t family;               /* relayed address family: 0 or RTC_AF_INET => IPv4 (no
                                     attribute sent), RTC_AF_INET6 => REQUESTED-ADDRESS-FAMILY */
    uint32_t lifetime;            /* s; requested LIFETIME, 0 => none (server default 600) */
    size_t max_permissions;       /* permission table bound; 0 => 16 */
    size_t max_channels;          /* channel table bound; 0 => 16 */
    size_t max_events;            /* queued DATA events; 0 => 64 (other events have a reserve
                                     of 32 + 2 per permission and channel slot) */
    size_t max_queued_bytes;      /* payload bytes in queued DATA events; 0 => 256 KiB */
    rtc_time rto;                 /* initial retransmission timeout; 0 => 500 ms */
    int rc;                       /* UDP transmissions per request; 0 => 7 (RFC 8489) */
    rtc_time permission_refresh;  /* µs; 0 => RTC_TURN_PERMISSION_REFRESH_US; shorter only
                                    for servers configured with short permission lifetimes */
    rtc_time channel_refresh;     /* µs; 0 => RTC_TURN_CHANNEL_REFRESH_US (same remark) */
} rtc_turn_client_config;

typedef enum rtc_turn_client_state {
    RTC_TURN_CLIENT_NEW = 0,
    RTC_TURN_CLIENT_ALLOCATING = 1,
    RTC_TURN_CLIENT_ALLOCATED = 2,
    RTC_TURN_CLIENT_CLOSING = 3, /* Refresh LIFETIME=0 outstanding */
    RTC_TURN_CLIENT_CLOSED = 4,
    RTC_TURN_CLIENT_FAILED = 5, /* terminal: make a new client to try again */
} rtc_turn_client_state;

typedef enum rtc_turn_event_type {
    /* The allocation exists: relayed, mapped, lifetime. */
    RTC_TURN_EV_ALLOCATED = 1,
    /* A Refresh succeeded: lifetime. */
    RTC_TURN_EV_REFRESHED = 2,
    /* A CreatePermission for peer (IP; port 0) finished: stun_code 0 = installed (or
    ** refreshed: `refresh`), else the server's error (403 forbidden peer, ...) or
    ** error = RTC_ERR_TIMEOUT. Failed permissions stay in the table as refused. */
    RTC_TURN_EV_PERMISSION = 3,
    /* A ChannelBind for peer (IP and port) finished: channel, stun_code/error as above. */
    RTC_TURN_EV_CHANNEL = 4,
    /* Data from peer (Data indication or ChannelData on `channel`, 0 for indications):
    ** data/len, borrowed until the next poll_event or free. */
    RTC_TURN_EV_DATA = 5,
    /* 300 Try Alternate to the Allocate: `alternate` (ALTERNATE-SERVER). Terminal: the
    ** client is FAILED; create a new one for that server. */
    RTC_TURN_EV_ALTERNATE = 6,
    /* The allocation failed or was lost. error: RTC_ERR_AUTH (401 with credentials:
    ** wrong user/password/realm), RTC_ERR_TIMEOUT (no answer), RTC_ERR_PARSE (a
    ** malformed success), RTC_ERR_CLOSED (437: the server lost the allocation, e.g. it
    ** restarted; or the stream closed), RTC_ERR_NOMEM (486 quota, 508 capacity) or
    ** RTC_ERR_UNSUPPORTED (442, 440, other codes); stun_code holds the STUN code. */
    RTC_TURN_EV_FAILED = 7,
    /* close() finished (the server answered the LIFETIME=0 Refresh, or it timed out). */
    RTC_TURN_EV_CLOSED = 8,
} rtc_turn_event_type;

typedef struct rtc_turn_event {
    int type;                 /* rtc_turn_event_type */
    int error;                /* rtc_err (0 on success) */
    int stun_code;            /* STUN ERROR-CODE that caused it, 0 if none */
    bool refresh;             /* PERMISSION/CHANNEL: a refresh rather than the first */
    rtc_addr relayed, mapped; /* ALLOCATED */
    uint32_t lifetime;        /* ALLOCATED, REFRESHED: seconds granted */
    rtc_addr peer;            /* PERMISSION, CHANNEL, DATA */
    uint16_t channel;         /* CHANNEL, DATA (0: Data indication) */
    rtc_addr alternate;       /* ALTERNATE */
    const uint8_t *data;      /* DATA */
    size_t len;
} rtc_turn_event;

/* A control message to write to the server (data borrowed until the next call on c). */
typedef struct rtc_turn_client_transmit {
    rtc_addr src, dst; /* config local and server */
    rtc_turn_transport transport;
    const uint8_t *data;
    size_t len;
} rtc_turn_client_transmit;

/* Peer data handed straight back from handle_packet (zero copy; borrowed from buf). */
typedef struct rtc_turn_data {
    rtc_addr peer;
    uint16_t channel; /* 0: it came in a Data indication */
    const uint8_t *data;
    size_t len;
} rtc_turn_data;

typedef struct rtc_turn_client_stats {
    uint64_t requests_sent;           /* transactions started (retransmissions not counted) */
    uint64_t refreshes;               /* successful allocation refreshes */
    uint64_t stale_nonces;            /* 438s handled */
    uint64_t data_in, data_out;       /* peer datagrams received / encoded by send() */
    uint64_t channel_in, channel_out; /* of those, as ChannelData */
    uint64_t dropped;                 /* malformed, unknown peer/channel, unauthenticated
                                         response, queue full */
} rtc_turn_client_stats;

/*
** rtc_turn_client_new() — create a client (state NEW; nothing is sent until allocate).
** cfg and its strings are copied; env NULL => the default env (copied).
** Returns RTC_OK, RTC_ERR_INVALID (NULL, no username/password, server address family
** not 4/6, bad family/transport), RTC_ERR_NOMEM.
*/
RTC_API int rtc_turn_client_new(rtc_turn_client **out, const rtc_turn_client_config *cfg,
                                const rtc_env *env);
/* Frees everything (nothing is sent; call close() first to deallocate). NULL: no-op. */
RTC_API void rtc_turn_client_free(rtc_turn_client *c);

/* Start the Allocate at `now`. Returns RTC_OK, RTC_ERR_MISUSE (not NEW), RTC_ERR_NOMEM. */
RTC_API int rtc_turn_client_allocate(rtc_turn_client *c, rtc_time now);

/*
** Deallocate: Refresh with LIFETIME 0 (RFC 8656 §8), then CLOSED. Pending requests are
** dropped. When nothing is allocated (NEW, ALLOCATING, FAILED) the client becomes CLOSED
** at once (with a CLOSED event). Idempotent. Returns RTC_OK.
*/
RTC_API int rtc_turn_client_close(rtc_turn_client *c, rtc_time now);

/* Refresh the allocation now (e.g. after a network change, or to test a server) instead
** of at its scheduled time. Returns RTC_OK (also when one is already in flight) or
** RTC_ERR_MISUSE (not ALLOCATED). */
RTC_API int rtc_turn_client_refresh(rtc_turn_client *c, rtc_time now);

/*
** Ask for (and keep refreshing) a permission for peer's IP (RFC 8656 §9; the port is
** ignored). Pinned: refreshed until remove_permission. Asking again for an existing
** one re-pins it (and retries it when it had failed). Before ALLOCATED the request
** waits and is sent right after the allocation succeeds.
** Returns RTC_OK, RTC_ERR_INVALID (peer's family is not the relayed family: one
** allocation relays one family), RTC_ERR_NOMEM (table full),
** RTC_ERR_MISUSE (closing, closed or failed).
*/
RTC_API int rtc_turn_client_create_permission(rtc_turn_client *c, rtc_time now,
                                              const rtc_addr *peer);
/* Stop refreshing a permission (it ends on the server within 300 s); channels to that
** IP keep it pinned. Returns RTC_OK or RTC_ERR_NOT_FOUND. */
RTC_API int rtc_turn_client_remove_permission(rtc_turn_client *c, const rtc_addr *peer);

/*
** Bind a channel to peer (IP and port; RFC 8656 §12) and keep it bound. Returns the
** channel number (0x4000..0x4FFF, > 0) — the same number when that peer has one — or
** RTC_ERR_NOMEM (table full or numbers exhausted), RTC_ERR_INVALID, RTC_ERR_MISUSE.
** send() switches to ChannelData when the CHANNEL event reports success.
*/
RTC_API int rtc_turn_client_bind_channel(rtc_turn_client *c, rtc_time now, const rtc_addr *peer);

/*
** Encode `len` bytes for peer into out[0..cap): ChannelData (padded to 4 over TCP) when
** a channel to that exact address is bound, else a Send indication (RFC 8656 §11.1).
** Write the result to the server. When peer's IP has no permission yet, a (non-pinned)
** CreatePermission is started and the data is still encoded (over a stream it arrives
** after the permission; over UDP the first datagram may be dropped by the server).
** Returns the encoded length (> 0), RTC_ERR_MISUSE (not ALLOCATED), RTC_ERR_AUTH (the
** server refused a permission for that IP), RTC_ERR_TOO_SMALL (cap too small; len +
** RTC_TURN_CLIENT_OVERHEAD always suffices), RTC_ERR_INVALID (len 0 or > 65535, peer
** not of the relayed family),
** RTC_ERR_NOMEM (permission table full).
*/
RTC_API int rtc_turn_client_send(rtc_turn_client *c, rtc_time now, const rtc_addr *peer,
                                 const uint8_t *data, size_t len, uint8_t *out, size_t cap);

/*
** One datagram from the server (UDP transport; src must be the server address, other
** sources are dropped with RTC_ERR_NOT_FOUND; NULL skips the check, e.g. on a connected
** socket). buf borrowed.
** Returns 0 when consumed (a response, or dropped harmlessly); 1 when it was peer data
** and `data` was not NULL: *data then points into buf (zero copy). With data == NULL
** peer data becomes a DATA event (copied, bounded). RTC_ERR_PARSE for malformed input
** (dropped; never fatal), RTC_ERR_MISUSE on a TCP client.
*/
RTC_API int rtc_turn_client_handle_packet(rtc_turn_client *c, rtc_time now, const rtc_addr *src,
                                          const uint8_t *buf, size_t len, rtc_turn_data *data);
/*
** Bytes read from the TCP/TLS connection to the server (any split). Every complete frame
** is processed; peer data becomes DATA events. Returns RTC_OK; RTC_ERR_PARSE when the
** stream is garbage (the client is then FAILED with RTC_ERR_PARSE: drop the connection);
** RTC_ERR_MISUSE on a UDP client.
*/
RTC_API int rtc_turn_client_handle_stream(rtc_turn_client *c, rtc_time now, const uint8_t *buf,
                                          size_t len);
/* The TCP/TLS connection closed: the allocation is gone (RFC 8656 §3.1). FAILED with
** RTC_ERR_CLOSED unless already CLOSED. */
RTC_API void rtc_turn_client_stream_closed(rtc_turn_client *c, rtc_time now);

/* Run timers due at now (retransmissions, refreshes). Returns RTC_OK. */
RTC_API int rtc_turn_client_handle_timeout(rtc_turn_client *c, rtc_time now);
/* 1 and *out when a control message is due, 0 when none. */
RTC_API int rtc_turn_client_poll_transmit(rtc_turn_client *c, rtc_turn_client_transmit *out);
/* 1 and *out (copied; DATA bytes borrowed until the next poll_event/free), 0 when none. */
RTC_API int rtc_turn_client_poll_event(rtc_turn_client *c, rtc_turn_event *out);
/* When to call handle_timeout; RTC_TIME_NEVER when idle. */
RTC_API rtc_time rtc_turn_client_next_timeout(const rtc_turn_client *c);

RTC_API rtc_turn_client_state rtc_turn_client_get_state(const rtc_turn_client *c);
/* The relayed / mapped address once ALLOCATED: RTC_OK or RTC_ERR_MISUSE. */
RTC_API int rtc_turn_client_get_relayed(const rtc_turn_client *c, rtc_addr *relayed,
                                        rtc_addr *mapped);
/* Server-side expiry time of the allocation (caller's clock), RTC_TIME_NEVER if none. */
RTC_API rtc_time rtc_turn_client_expires(const rtc_turn_client *c);
/* The channel bound (confirmed) to peer, or 0. */
RTC_API uint16_t rtc_turn_client_channel_of(const rtc_turn_client *c, const rtc_addr *peer);
RTC_API void rtc_turn_client_get_stats(const rtc_turn_client *c, rtc_turn_client_stats *st);

/*
** From a parsed turn:/turns: URI (rtc_uri_parse, cwebrtc/net.h; RFC 7065): the transport
** to configure and whether the driver must run TLS under the stream (turns: over TCP).
** The caller resolves uri->host/port into cfg.server. Returns RTC_OK, RTC_ERR_INVALID
** (NULL, or a stun:/stuns: URI), RTC_ERR_UNSUPPORTED (turns:?transport=udp, i.e. DTLS,
** RFC 7350). Pure.
*/
struct rtc_uri;
RTC_API int rtc_turn_client_uri_transport(const struct rtc_uri *uri, rtc_turn_transport *transport,
                                          bool *tls);
/* "new", "allocating", ... (static). */
RTC_API const char *rtc_turn_client_state_name(int state);

#ifdef __cplusplus
}
#endif
#endif
