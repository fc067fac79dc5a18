/*
** cwebrtc/turn_server.h: the TURN relay server core (RFC 8656), sans-IO.
**
** A TURN server relays between clients (which talk STUN/TURN and ChannelData to a
** listening address) and peers (which send plain datagrams to a relayed transport
** address). This core holds every allocation, permission, channel and credential and
** decides every byte; it owns no socket. The embedding program (apps/cwebrtc
** turn-server, or any event loop) opens the listening sockets and, when the core asks
** through the relay callbacks, one UDP socket per relayed address; it feeds datagrams
** in with handle_client()/handle_peer() and sends what poll_transmit() returns from the
** socket the transmit names.
**
** Safe by default: no relaying without long-term-credential authentication; peers on
** loopback, unspecified, link-local (169.254.169.254 included), multicast, broadcast,
** the IPv4-mapped/compatible/NAT64 forms of those, and private ranges (unless allowed)
** are refused with 403; stateless HMAC nonces expire (438); quotas give 486; error
** answers to unauthenticated requests are small and rate-limited, so the server cannot
** be used to amplify traffic toward a spoofed source.
**
** Threading: one rtc_turn_server is used by one thread at a time. To relay on several
** threads, run one server per thread, each with its own sockets (apps/cwebrtc
** turn-server: SO_REUSEPORT listeners, so the kernel keeps a client's 5-tuple on one
** thread, and the relay sockets a server opens watched by the same thread). Give them
** the same nonce key (rtc_turn_server_set_nonce_key) so a nonce one thread issued is
** valid on all, and, for quotas that hold across threads, the same quota hooks
** (rtc_turn_quota_ops). Nothing else is shared, so the per-packet path takes no lock.
*/
#ifndef CWEBRTC_TURN_SERVER_H
#define CWEBRTC_TURN_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cwebrtc/addr.h"
#include "cwebrtc/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rtc_turn_server rtc_turn_server;

/* Transport between client and server. */
typedef enum rtc_turn_transport {
    RTC_TURN_UDP = 0,
    RTC_TURN_TCP = 1, /* also TLS: framing is the same (RFC 8656 §12.5 padding) */
} rtc_turn_transport;

/* An address range for --allowed-peer-ip / --denied-peer-ip: first..last inclusive. */
typedef struct rtc_turn_ip_range {
    rtc_addr first, last; /* same family; ports ignored */
} rtc_turn_ip_range;

/*
** The relay-address provider, implemented by the embedding program.
** open:  reserve a relayed transport address of `family` (RTC_AF_INET/INET6) for a new
**        allocation (e.g. bind a UDP socket on a port in --min-port..--max-port).
**        `even_port`: the port must be even (EVEN-PORT); `reserve_next`: also reserve
**        port+1 and return a token for it in *token (RFC 8656 §7.2); `token_in`, when
**        not 0, asks for the port reserved under that token. Fill *relay with the
**        address peers will see and *handle with anything; return 0, or a negative
**        rtc_err (RTC_ERR_NOMEM => 508 Insufficient Capacity, RTC_ERR_NOT_FOUND for an
**        unknown token => 508 as well).
** close: release what open returned (allocation gone).
*/
typedef struct rtc_turn_relay_ops {
    int (*open)(void *ud, uint8_t family, bool even_port, bool reserve_next, uint64_t token_in,
                rtc_addr *relay, void **handle, uint64_t *token);
    void (*close)(void *ud, void *handle);
    void *ud;
} rtc_turn_relay_ops;

/*
** RFC 6062 TCP relaying, implemented by the embedding program (optional: without
** `listen` an Allocate with REQUESTED-TRANSPORT=TCP gets 442). The core does the STUN
** side (Connect, ConnectionBind, ConnectionAttempt, the 30 s timers); the app owns the
** TCP sockets and, once a data connection is bound, copies bytes between the two
** sockets itself (the core never sees relayed TCP data).
** listen:   open a TCP listening socket on a relayed address of `family`; like relay.open.
** unlisten: the allocation is gone: close the listener and every connection (pending or
**           bound) that belongs to it.
** connect:  start a connection from the relay `handle` to `peer` for Connect, known as
**           `conn_id`; report the outcome with rtc_turn_server_tcp_connected(). Return
**           0, or a negative rtc_err (then the client gets 447 at once).
** drop:     close the peer connection `conn_id` (never bound in time, or Connect failed late).
** bind:     the client's TCP connection (listener, client) just sent a ConnectionBind for
**           `conn_id` and its success answer is the next transmit on that connection;
**           after sending it, splice that connection with the peer connection.
*/
typedef struct rtc_turn_tcp_ops {
    int (*listen)(void *ud, uint8_t family, rtc_addr *relay, void **handle);
    void (*unlisten)(void *ud, void *handle);
    int (*connect)(void *ud, void *handle, const rtc_addr *peer, uint32_t conn_id);
    void (*drop)(void *ud, uint32_t conn_id);
    void (*bind)(void *ud, uint32_t conn_id, const rtc_addr *listener, const rtc_addr *client);
    void *ud;
} rtc_turn_tcp_ops;

/*
** Allocation quotas shared between several servers (optional; thread-safe, implemented
** by the embedding program). After the server's own checks (max_allocations, user_quota)
** pass, acquire() is asked for one more allocation of `username` (len bytes, not
** NUL-terminated): false => 486 Allocation Quota Reached. Every allocation that
** acquired calls release() exactly once when it ends (or fails to be created), on the
** thread that owns its server. Called only when allocations start and end, never per
** packet.
*/
typedef struct rtc_turn_quota_ops {
    bool (*acquire)(void *ud, const char *username, size_t len);
    void (*release)(void *ud, const char *username, size_t len);
    void *ud;
} rtc_turn_quota_ops;

typedef struct rtc_turn_server_config {
    const char *realm;          /* required, e.g. "example.org" */
    const char *software;       /* SOFTWARE attribute; NULL => none (the safer default) */
    rtc_turn_relay_ops relay;   /* required */
    uint32_t default_lifetime;  /* s; 0 => 600 */
    uint32_t max_lifetime;      /* s; 0 => 3600 */
    uint32_t permission_lifetime; /* s; 0 => 300 */
    uint32_t channel_lifetime;  /* s; 0 => 600 */
    rtc_time nonce_lifetime;    /* µs; 0 => 600 s */
    size_t max_allocations;     /* total; 0 => 100000 */
    size_t user_quota;          /* allocations per username; 0 => 1000 */
    size_t max_permissions;     /* per allocation; 0 => 64 */
    size_t max_channels;        /* per allocation; 0 => 64 */
    uint64_t bps_capacity;      /* per-allocation relayed bytes per second; 0 => unlimited */
    bool allow_private_peers;   /* RFC 1918 / fc00::/7 / 100.64/10 peers */
    bool allow_loopback_peers;  /* tests only: 127/8 and ::1 (coTURN's --allow-loopback-peers) */
    const rtc_turn_ip_range *allowed_peers; /* override the denials */
    size_t n_allowed_peers;
    const rtc_turn_ip_range *denied_peers;  /* deny in addition */
    size_t n_denied_peers;
    uint32_t unauth_rate;       /* 401 answers per second per source IP; 0 => 20 */
    rtc_turn_tcp_ops tcp;       /* RFC 6062; all NULL => TCP allocations refused (442) */
    rtc_turn_quota_ops quota;   /* optional shared quotas; both NULL => this server's own */
} rtc_turn_server_config;

/* Create a server; cfg is copied (strings and ranges too). The nonce key comes from
** env's random source. Returns RTC_OK, RTC_ERR_INVALID (no realm/relay ops),
** RTC_ERR_NOMEM. */
RTC_API int rtc_turn_server_new(rtc_turn_server **out, const rtc_turn_server_config *cfg,
                                const rtc_env *env);
/* Replace the nonce key (32 bytes; the default is random per server). Servers that share
** a realm and a key accept each other's nonces (the nonce binds the client IP and an
** expiry on the caller's clock, so they must also share that clock), which is what
** one server per thread needs: a client whose new socket is hashed to another thread
** is not sent 438. Outstanding nonces made under the old key become stale (438 with a
** fresh one). RTC_OK, RTC_ERR_INVALID (NULL). */
RTC_API int rtc_turn_server_set_nonce_key(rtc_turn_server *s, const uint8_t key[32]);
/* Frees everything and calls relay.close for every live allocation. NULL is a no-op. */
RTC_API void rtc_turn_server_free(rtc_turn_server *s);

/* Users for long-term credentials (RFC 8489 §9.2): the key MD5(user:realm:password) is
** stored, not the password. Adding an existing user replaces it. RTC_OK/INVALID/NOMEM. */
RTC_API int rtc_turn_server_add_user(rtc_turn_server *s, const char *username,
                                     const char *password);
/* The same with a precomputed 16-byte key (coTURN's "user:0x<hex>" form). */
RTC_API int rtc_turn_server_add_user_key(rtc_turn_server *s, const char *username,
                                         const uint8_t key[16]);
/* Forget all users and secrets (SIGHUP reload re-adds them). Allocations live on. */
RTC_API void rtc_turn_server_clear_credentials(rtc_turn_server *s);
/*
** TURN REST API shared secrets (coTURN --use-auth-secret --static-auth-secret): the
** username is "<unix-expiry>[:name]" and the password is base64(HMAC-SHA1(secret,
** username)). Several secrets may be active (rotation). `unix_now` (seconds since the
** epoch) must be kept current by the caller with rtc_turn_server_set_unix_time() so
** expired usernames are refused (the core reads no clock).
*/
RTC_API int rtc_turn_server_add_secret(rtc_turn_server *s, const char *secret);
RTC_API void rtc_turn_server_set_unix_time(rtc_turn_server *s, int64_t unix_now);

/*
** Feed one message that a client sent to one of our listening addresses.
** listener: our address it arrived on; client: its source; buf: one datagram (UDP) or
** one frame (TCP: a STUN message or ChannelData cut by rtc_framer). Borrowed.
** Returns RTC_OK (answers, if any, are in poll_transmit), RTC_ERR_PARSE (dropped).
** Never fails the server.
*/
RTC_API int rtc_turn_server_handle_client(rtc_turn_server *s, rtc_time now,
                                          rtc_turn_transport transport, const rtc_addr *listener,
                                          const rtc_addr *client, const uint8_t *buf, size_t len);
/* Feed a datagram a peer sent to relayed address `relay`. RTC_OK, or RTC_ERR_NOT_FOUND
** (no such allocation / no permission: dropped silently, RFC 8656 §11). */
RTC_API int rtc_turn_server_handle_peer(rtc_turn_server *s, rtc_time now, const rtc_addr *relay,
                                        const rtc_addr *peer, const uint8_t *buf, size_t len);
/* The client's TCP connection closed: its allocation ends (RFC 8656 §3.1). */
RTC_API void rtc_turn_server_client_closed(rtc_turn_server *s, const rtc_addr *listener,
                                           const rtc_addr *client);

/*
** RFC 6062. rtc_turn_server_tcp_connected(): the connection started by tcp.connect for
** `conn_id` is up (ok) or failed; the client gets the Connect success with CONNECTION-ID
** (then it has 30 s to ConnectionBind) or 447. RTC_OK, RTC_ERR_NOT_FOUND (unknown id:
** the app must close the socket).
** rtc_turn_server_tcp_peer_accepted(): a peer connected to the TCP relayed address
** `relay`; with a permission for its IP the client gets a ConnectionAttempt and
** *conn_id is set (RTC_OK); otherwise RTC_ERR_NOT_FOUND and the app closes it (§5.3).
*/
RTC_API int rtc_turn_server_tcp_connected(rtc_turn_server *s, rtc_time now, uint32_t conn_id,
                                          bool ok);
RTC_API int rtc_turn_server_tcp_peer_accepted(rtc_turn_server *s, rtc_time now,
                                              const rtc_addr *relay, const rtc_addr *peer,
                                              uint32_t *conn_id);

/* A datagram to send. from_relay: send from the relay socket (relay address `from`,
** handle as returned by relay.open) to a peer; else from listening address `from` to a
** client over `transport` (TCP: the bytes are a complete frame, padding included). */
typedef struct rtc_turn_transmit {
    bool from_relay;
    rtc_turn_transport transport;
    rtc_addr from, to;
    void *relay_handle;
    const uint8_t *data; /* borrowed: valid until the next call on the server */
    size_t len;
} rtc_turn_transmit;

/* 1 and *out when something is due, 0 when none. Drain after every handle_* call. */
RTC_API int rtc_turn_server_poll_transmit(rtc_turn_server *s, rtc_turn_transmit *out);
/* Expire allocations, permissions, channels and reservations. RTC_OK. */
RTC_API int rtc_turn_server_handle_timeout(rtc_turn_server *s, rtc_time now);
/* Earliest expiry, or RTC_TIME_NEVER. */
RTC_API rtc_time rtc_turn_server_next_timeout(const rtc_turn_server *s);

/* Counters for --metrics (Prometheus) and tests. */
typedef struct rtc_turn_server_stats {
    uint64_t allocations;        /* live */
    uint64_t allocations_total;  /* created since start */
    uint64_t relayed_packets, relayed_bytes; /* both directions */
    uint64_t auth_failures, denied_peers, quota_rejections, stale_nonces;
    uint64_t dropped;            /* malformed, no permission, rate-limited, over capacity */
} rtc_turn_server_stats;
RTC_API void rtc_turn_server_get_stats(const rtc_turn_server *s, rtc_turn_server_stats *st);

/* true when `peer` may be relayed to under the server's policy (for tests and tools). */
RTC_API bool rtc_turn_server_peer_allowed(const rtc_turn_server *s, const rtc_addr *peer);

#ifdef __cplusplus
}
#endif
#endif
