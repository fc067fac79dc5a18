/*
** cwebrtc/ice.h: the ICE agent (RFC 8445), trickle ICE (RFC 8838), consent freshness
** (RFC 7675), dual-stack candidate ordering (RFC 8421) and the SDP candidate grammar
** (RFC 8839).
**
** ICE finds a working path between two peers that may sit behind NATs: each side lists
** candidate transport addresses (host addresses of its interfaces, server-reflexive
** addresses a STUN server saw, relayed addresses on a TURN server, peer-reflexive
** addresses learned from checks), pairs its candidates with the peer's, and sends STUN
** Binding requests ("connectivity checks", authenticated with the peer's password) over
** each pair. The controlling agent nominates one working pair; both then send data on
** that selected pair and keep checking consent on it every few seconds.
**
** The agent is a sans-IO state machine, like every core in this library. It never opens
** a socket or reads a clock:
**
**   - the caller binds UDP sockets and tells the agent which local addresses it has
**     (rtc_ice_add_host_address), which STUN servers to ask for server-reflexive
**     addresses, and which relayed addresses a TURN client allocated;
**   - every received datagram goes in through rtc_ice_handle_packet(now, src, dst, ...);
**   - rtc_ice_poll_transmit() hands out datagrams to send (from which local address, to
**     which remote address, and through which relay if any);
**   - rtc_ice_poll_event() hands out local candidates to signal (trickle), state changes,
**     the selected pair, and requests the agent needs the caller to serve (resolve an
**     mDNS name, install a TURN permission);
**   - rtc_ice_next_timeout() says when to call rtc_ice_handle_timeout() next.
**
** The invariant (as str0m documents it): after EVERY call that mutates the agent
** (handle_packet, handle_timeout, add_*, set_*, gather, restart, send, close, resolved),
** drain rtc_ice_poll_transmit() and rtc_ice_poll_event() until they return 0, then read
** rtc_ice_next_timeout(). Calls that take no `now` use the last time the agent was given.
**
** One component (RTP/RTCP multiplexed, as WebRTC always does), UDP only. TCP candidates
** parse and print but are not paired (ICE-TCP, RFC 6544, is not implemented).
**
** Threading: an rtc_ice is used by one thread at a time; it has no locks and no globals.
** rtc_ice_candidate functions are pure and may run on any thread.
*/
#ifndef CWEBRTC_ICE_H
#define CWEBRTC_ICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cwebrtc/addr.h"
#include "cwebrtc/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- candidates (RFC 8445 §5.1, RFC 8839 §5.1) ------------------------------------- */

typedef enum rtc_ice_cand_type {
    RTC_ICE_CAND_HOST = 0,
    RTC_ICE_CAND_SRFLX = 1,
    RTC_ICE_CAND_PRFLX = 2,
    RTC_ICE_CAND_RELAY = 3,
} rtc_ice_cand_type;

typedef enum rtc_ice_transport {
    RTC_ICE_UDP = 0,
    RTC_ICE_TCP = 1,
} rtc_ice_transport;

/* RFC 6544 tcptype; NONE for UDP candidates. */
typedef enum rtc_ice_tcptype {
    RTC_ICE_TCPTYPE_NONE = 0,
    RTC_ICE_TCPTYPE_ACTIVE = 1,
    RTC_ICE_TCPTYPE_PASSIVE = 2,
    RTC_ICE_TCPTYPE_SO = 3,
} rtc_ice_tcptype;

#define RTC_ICE_FOUNDATION_MAX 32  /* RFC 8839: 1*32 ice-char */
#define RTC_ICE_UFRAG_MAX      256 /* RFC 8839 §5.4: ice-ufrag 4..256 chars */
#define RTC_ICE_PWD_MAX        256 /* RFC 8839 §5.4: ice-pwd 22..256 chars */
#define RTC_ICE_HOSTNAME_MAX   253 /* an FQDN (RFC 1035 §2.3.4) */
#define RTC_ICE_EXT_MAX        256 /* unknown extensions kept verbatim, this many bytes */
/* Longest line rtc_ice_candidate_format() can produce, with the NUL. */
#define RTC_ICE_CANDIDATE_LINE_MAX 1200

/*
** One candidate as the SDP a=candidate line carries it. Plain data (~1.1 KB): copy freely.
** When the connection address is a name (an mDNS "<uuid>.local" from a browser, or any
** FQDN) `hostname` holds it and addr.family is RTC_AF_NONE, addr.port the port.
*/
typedef struct rtc_ice_candidate {
    char foundation[RTC_ICE_FOUNDATION_MAX + 1];
    uint16_t component; /* 1..256; WebRTC uses 1 */
    uint8_t transport;  /* rtc_ice_transport */
    uint8_t type;       /* rtc_ice_cand_type */
    uint32_t priority;
    rtc_addr addr; /* family NONE when hostname is set */
    char hostname[RTC_ICE_HOSTNAME_MAX + 1];
    rtc_addr related;                  /* raddr/rport; family NONE when absent */
    uint8_t tcptype;                   /* rtc_ice_tcptype */
    int32_t generation;                /* -1 when absent */
    char ufrag[RTC_ICE_UFRAG_MAX + 1]; /* "" when absent */
    /* Unknown extensions ("network-id 1 network-cost 10"), verbatim, space-separated
    ** name/value pairs; printed back after the known ones. "" when none. */
    char ext[RTC_ICE_EXT_MAX + 1];
} rtc_ice_candidate;

/*
** rtc_ice_candidate_parse() — parse one candidate (RFC 8839 §5.1 grammar, plus RFC 6544
** tcptype and the generation/ufrag extensions browsers add).
**
** line:    "a=candidate:...", "candidate:..." or the attribute value alone; a trailing
**          CR/LF is accepted. Borrowed. Transport and typ compare case-insensitively.
**          Unknown extension pairs are kept in c->ext (up to RTC_ICE_EXT_MAX bytes; more is
**          dropped, never an error). Unknown transports and candidate types are
**          RTC_ERR_UNSUPPORTED (the line is valid, we cannot use it).
** Returns: RTC_OK, RTC_ERR_PARSE (malformed), RTC_ERR_UNSUPPORTED, RTC_ERR_INVALID (NULL).
** Never allocates.
*/
RTC_API int rtc_ice_candidate_parse(rtc_ice_candidate *c, const char *line);

/*
** rtc_ice_candidate_format() — "candidate:<foundation> 1 udp <prio> <addr> <port> typ
** <type> [raddr <a> rport <p>] [tcptype <t>] [generation <g>] [ufrag <u>] [<ext>]"
** (no "a=" prefix, no CRLF) into buf[0..size).
** Returns the length (>= 0), RTC_ERR_TOO_SMALL, or RTC_ERR_INVALID.
*/
RTC_API int rtc_ice_candidate_format(const rtc_ice_candidate *c, char *buf, size_t size);

/* "host", "srflx", "prflx", "relay" (static); "unknown" otherwise. */
RTC_API const char *rtc_ice_cand_type_name(int type);

/*
** RFC 8445 §5.1.2.1: priority = 2^24 * type_pref + 2^8 * local_pref + (256 - component).
** type_pref: host 126, prflx 110, srflx 100, relay 0 (the RFC's recommendations).
*/
RTC_API uint32_t rtc_ice_candidate_priority(int type, uint16_t local_pref, uint16_t component);

/* RFC 8445 §6.1.2.3: 2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0), G controlling, D controlled. */
RTC_API uint64_t rtc_ice_pair_priority(uint32_t controlling_prio, uint32_t controlled_prio);

/* ---- the agent ------------------------------------------------------------------------ */

typedef struct rtc_ice rtc_ice;

/* W3C RTCIceConnectionState. */
typedef enum rtc_ice_state {
    RTC_ICE_STATE_NEW = 0,
    RTC_ICE_STATE_CHECKING = 1,
    RTC_ICE_STATE_CONNECTED = 2,
    RTC_ICE_STATE_COMPLETED = 3,
    RTC_ICE_STATE_DISCONNECTED = 4,
    RTC_ICE_STATE_FAILED = 5,
    RTC_ICE_STATE_CLOSED = 6,
} rtc_ice_state;

/* W3C RTCIceGatheringState. */
typedef enum rtc_ice_gathering_state {
    RTC_ICE_GATHERING_NEW = 0,
    RTC_ICE_GATHERING_GATHERING = 1,
    RTC_ICE_GATHERING_COMPLETE = 2,
} rtc_ice_gathering_state;

/* Static names for logs: "new", "checking", ...; "gathering", "complete". */
RTC_API const char *rtc_ice_state_name(int state);
RTC_API const char *rtc_ice_gathering_state_name(int state);

/*
** Configuration; zero means the default for every field, so `rtc_ice_config c = {0};`
** is a valid full-ICE agent in the controlled role.
*/
typedef struct rtc_ice_config {
    bool controlling;  /* initial role (the JSEP offerer of a full-ICE pair) */
    bool lite;         /* we are an ICE-lite agent (RFC 8445 §2.5): host candidates
                          only, never send checks, controlled */
    const char *ufrag; /* local credentials; NULL => random 8 / 24 chars from the
                          ICE alphabet. Copied. ufrag 4..256, pwd 22..256 chars. */
    const char *pwd;
    uint64_t tie_breaker;          /* 0 => random (RFC 8445 §7.1.1) */
    rtc_time ta;                   /* check pacing; 0 => 50 ms (RFC 8445 §14.2) */
    rtc_time check_rto;            /* initial RTO of a check; 0 => 500 ms (§14.3) */
    int check_rc;                  /* transmissions per check transaction; 0 => 3. A check is
                                      up to 4 such transactions (~10 s, see check.c) */
    rtc_time nomination_delay;     /* controlling: wait this long after the first valid pair
                                      for a better one before nominating; 0 => 100 ms */
    rtc_time consent_interval;     /* RFC 7675 §5.1: mean interval of consent checks, each
                                      randomised to [0.8, 1.2] times it; 0 => 5 s */
    rtc_time consent_timeout;      /* RFC 7675: no consent for this long => failed; 0 => 30 s */
    rtc_time disconnected_timeout; /* no consent response for this long => disconnected;
                                      0 => 10 s */
    rtc_time keepalive_interval;   /* RFC 8445 §11: Binding indication on the selected pair
                                      when nothing was sent for this long; 0 => 15 s */
    rtc_time resolve_timeout;      /* a RESOLVE request not answered by then fails; 0 => 5 s */
    size_t max_remote_candidates;  /* bound (including peer-reflexive); 0 => 64 */
    size_t max_pairs;              /* checklist bound (RFC 8445 §6.1.2.5); 0 => 100 */
    size_t max_local_candidates;   /* 0 => 32 */
} rtc_ice_config;

/* A datagram to send. */
typedef struct rtc_ice_transmit {
    rtc_addr src; /* the local address (a socket the caller bound), or for relay_id != 0
                     the relayed address on the TURN server */
    rtc_addr dst;
    uint32_t relay_id;   /* 0: send from the socket bound to src. Otherwise send through the
                            relay the caller registered with this id (rtc_ice_add_relayed) */
    const uint8_t *data; /* borrowed from the agent; valid until the next call on it */
    size_t len;
} rtc_ice_transmit;

typedef enum rtc_ice_event_type {
    /* A new local candidate to signal to the peer (trickle, RFC 8838): `candidate`. */
    RTC_ICE_EVENT_CANDIDATE = 1,
    /* Gathering state changed: `state` (rtc_ice_gathering_state). On COMPLETE, signal
    ** end-of-candidates (a=end-of-candidates) to the peer. */
    RTC_ICE_EVENT_GATHERING_STATE = 2,
    /* Connection state changed: `state` (rtc_ice_state). */
    RTC_ICE_EVENT_STATE = 3,
    /* The selected pair changed: `local`, `remote`, `relay_id`, `local_type`,
    ** `remote_type`. Data goes there from now on. */
    RTC_ICE_EVENT_SELECTED_PAIR = 4,
    /* Please resolve `name` (an mDNS ".local" name or an FQDN from a remote candidate)
    ** and answer with rtc_ice_resolved(); unanswered requests fail after
    ** resolve_timeout. */
    RTC_ICE_EVENT_RESOLVE = 5,
    /* The relay `relay_id` should let packets from `remote` (an IP; the port is
    ** informative) in: a TURN CreatePermission (RFC 8656 §9). */
    RTC_ICE_EVENT_RELAY_PERMISSION = 6,
    /* Our role changed after a 487 role conflict (RFC 8445 §7.2.5.1, §7.3.1.1):
    ** `controlling`. */
    RTC_ICE_EVENT_ROLE = 7,
} rtc_ice_event_type;

typedef struct rtc_ice_event {
    int type;                            /* rtc_ice_event_type */
    int state;                           /* STATE, GATHERING_STATE */
    bool controlling;                    /* ROLE */
    rtc_ice_candidate candidate;         /* CANDIDATE */
    rtc_addr local, remote;              /* SELECTED_PAIR; RELAY_PERMISSION (remote) */
    uint32_t relay_id;                   /* SELECTED_PAIR, RELAY_PERMISSION */
    uint8_t local_type, remote_type;     /* SELECTED_PAIR (rtc_ice_cand_type) */
    char name[RTC_ICE_HOSTNAME_MAX + 1]; /* RESOLVE */
} rtc_ice_event;

/*
** rtc_ice_new() — create an agent. cfg NULL => defaults; env NULL => the default env
** (both copied; strings in cfg are copied).
** Returns RTC_OK, RTC_ERR_NOMEM, RTC_ERR_INVALID (bad credentials: length or characters).
*/
RTC_API int rtc_ice_new(rtc_ice **out, const rtc_ice_config *cfg, const rtc_env *env);
/* Frees the agent; NULL is a no-op. Nothing is sent. */
RTC_API void rtc_ice_free(rtc_ice *ice);

/*
** The local credentials (after rtc_ice_restart the new ones) copied into the buffers
** (NUL-terminated; RTC_ICE_UFRAG_MAX + 1 / RTC_ICE_PWD_MAX + 1 always suffice).
** Returns RTC_OK, RTC_ERR_TOO_SMALL, RTC_ERR_INVALID.
*/
RTC_API int rtc_ice_get_local_credentials(const rtc_ice *ice, char *ufrag, size_t ufrag_size,
                                          char *pwd, size_t pwd_size);

/* The current role (may change after a role conflict). */
RTC_API bool rtc_ice_is_controlling(const rtc_ice *ice);
/* Set the role before checks start (JSEP: offerer controlling, unless the peer is lite).
** Returns RTC_OK or RTC_ERR_MISUSE once checks have started. */
RTC_API int rtc_ice_set_controlling(rtc_ice *ice, bool controlling);

/* ---- local side -------------------------------------------------------------------- */

/*
** Add a local address the caller has bound a UDP socket to (address and port as bound:
** the agent never binds). Each becomes a host candidate; the caller enumerates
** interfaces and leaves out those it wants hidden. IPv6 and IPv4 candidates are
** interleaved by RFC 8421 local preferences (IPv6 first), in the order added per family.
** May be called before or after rtc_ice_gather (trickle). Returns RTC_OK,
** RTC_ERR_INVALID (any/port 0/bad family), RTC_ERR_NOMEM (max_local_candidates).
** Duplicates are ignored (RTC_OK).
*/
RTC_API int rtc_ice_add_host_address(rtc_ice *ice, const rtc_addr *local);

/* A STUN server to learn server-reflexive candidates from (RFC 8445 §5.1.1.2): a Binding
** request goes from every host base of the same family at rtc_ice_gather (or at once if
** gathering already ran). At most 8. Returns RTC_OK, RTC_ERR_INVALID, RTC_ERR_NOMEM. */
RTC_API int rtc_ice_add_stun_server(rtc_ice *ice, const rtc_addr *server);

/*
** Relayed candidates: the TURN client (src/turn) is the relay source; the agent only
** knows relays by a caller-chosen non-zero id.
**
**   rtc_ice_expect_relay(id)   before gathering completes: gathering stays "gathering"
**                               until this relay is added or fails;
**   rtc_ice_add_relayed(id, relayed, base)
**                               the allocation succeeded: `relayed` (the XOR-RELAYED-ADDRESS)
**                               becomes a relay candidate, `base` is the local socket the
**                               allocation uses (the related address in the SDP);
**   rtc_ice_relay_failed(id)    the allocation failed (or expired later: its pairs fail).
**
** The agent then asks for permissions with RTC_ICE_EVENT_RELAY_PERMISSION, transmits with
** relay_id set and src = relayed address (send through that TURN allocation), and expects
** datagrams received through the relay to come in via rtc_ice_handle_packet with src =
** the peer and dst = the relayed address. Returns RTC_OK, RTC_ERR_INVALID (id 0, bad
** address), RTC_ERR_NOMEM.
*/
RTC_API int rtc_ice_expect_relay(rtc_ice *ice, uint32_t relay_id);
RTC_API int rtc_ice_add_relayed(rtc_ice *ice, uint32_t relay_id, const rtc_addr *relayed,
                                const rtc_addr *base);
RTC_API int rtc_ice_relay_failed(rtc_ice *ice, uint32_t relay_id);

/*
** Start gathering at `now`: host candidates are emitted as CANDIDATE events at once,
** Binding requests go to the STUN servers. Gathering completes when every STUN server
** answered or timed out and every expected relay was added or failed; then a
** GATHERING_STATE COMPLETE event. Returns RTC_OK or RTC_ERR_MISUSE (closed).
*/
RTC_API int rtc_ice_gather(rtc_ice *ice, rtc_time now);

/* ---- remote side ------------------------------------------------------------------- */

/*
** The peer's ufrag and pwd (from its description). A different ufrag than before is an
** ICE restart by the peer (RFC 8445 §9): remote candidates and the checklist are dropped;
** the selected pair keeps carrying data until a new one is selected. Checks that arrived
** before the credentials (RFC 8445 §7.3.1.3) are then answered with triggered checks.
** Returns RTC_OK, RTC_ERR_INVALID (length or characters), RTC_ERR_MISUSE (closed).
*/
RTC_API int rtc_ice_set_remote_credentials(rtc_ice *ice, const char *ufrag, const char *pwd);

/* The peer is ICE-lite (a=ice-lite): we become controlling (RFC 8445 §6.1.1).
** Returns RTC_OK, RTC_ERR_MISUSE (both lite). */
RTC_API int rtc_ice_set_remote_lite(rtc_ice *ice, bool lite);

/*
** A remote candidate (trickled or from the description); any time, also before the
** credentials. The string form accepts what rtc_ice_candidate_parse accepts.
** Names (mDNS ".local", FQDN) produce a RESOLVE event; until resolved (or if resolution
** fails) a peer-reflexive candidate learned from the peer's checks still connects.
** Returns 0 when added, 1 when ignored without harm (TCP, other component, stale ufrag
** or generation, duplicate, after end-of-candidates of this generation), RTC_ERR_PARSE,
** RTC_ERR_UNSUPPORTED (unknown type/transport), RTC_ERR_NOMEM (max_remote_candidates
** reached: a flood stays within the bound), RTC_ERR_MISUSE (closed).
*/
RTC_API int rtc_ice_add_remote_candidate(rtc_ice *ice, const char *line);
RTC_API int rtc_ice_add_remote_candidate_struct(rtc_ice *ice, const rtc_ice_candidate *c);

/* The peer signalled end-of-candidates (RFC 8838 §8.2): once every pair has failed the
** agent may declare FAILED. Returns RTC_OK. */
RTC_API int rtc_ice_remote_end_of_candidates(rtc_ice *ice);

/*
** Answer a RESOLVE request: addr is the resolved address (port ignored; the candidate's
** port is used) or NULL when resolution failed. Unknown names are ignored.
** Returns 1 when at least one candidate was resolved, 0 otherwise.
*/
RTC_API int rtc_ice_resolved(rtc_ice *ice, const char *name, const rtc_addr *addr);

/* ---- driving ----------------------------------------------------------------------- */

/*
** Feed one received datagram. src: the sender; dst: the local address it arrived on
** (the socket's bound address, or a relayed address for datagrams from a TURN relay).
** buf borrowed for the call.
** Returns 0 when the datagram was STUN and consumed (or dropped: bad integrity,
**           unknown transaction, wrong credentials - RFC 8445 §7.3, RFC 8489 §6.3),
**         1 when it is not STUN: application data (DTLS/RTP/...) for the caller to pass
**           up (it also proves the path is alive),
**         RTC_ERR_PARSE (malformed STUN; dropped), RTC_ERR_INVALID (NULL),
**         RTC_ERR_CLOSED (closed).
*/
RTC_API int rtc_ice_handle_packet(rtc_ice *ice, rtc_time now, const rtc_addr *src,
                                  const rtc_addr *dst, const uint8_t *buf, size_t len);
/* Run timers due at `now` (checks, retransmissions, consent, keepalives, timeouts).
** Returns RTC_OK. */
RTC_API int rtc_ice_handle_timeout(rtc_ice *ice, rtc_time now);
/* 1 and *out filled when a datagram is due (data borrowed until the next call on ice),
** 0 when none. */
RTC_API int rtc_ice_poll_transmit(rtc_ice *ice, rtc_ice_transmit *out);
/* 1 and *out filled (copied) when an event is pending, 0 when none. */
RTC_API int rtc_ice_poll_event(rtc_ice *ice, rtc_ice_event *out);
/* When to call rtc_ice_handle_timeout; RTC_TIME_NEVER when idle. Work that is already due
** is reported as a time <= the last `now`. */
RTC_API rtc_time rtc_ice_next_timeout(const rtc_ice *ice);

/*
** Send application data on the selected pair (copied into the agent's bounded queue;
** comes out of rtc_ice_poll_transmit). Returns RTC_OK, RTC_ERR_AGAIN (no selected pair
** yet, or queue full), RTC_ERR_AUTH (consent expired: RFC 7675 §5.1 forbids sending),
** RTC_ERR_CLOSED, RTC_ERR_INVALID (len 0 or > 65535).
*/
RTC_API int rtc_ice_send(rtc_ice *ice, rtc_time now, const uint8_t *buf, size_t len);

/*
** The selected pair without copying data: where to send (src/relay_id/dst). Returns
** RTC_OK, RTC_ERR_AGAIN (none), RTC_ERR_AUTH (no consent). Any argument may be NULL.
*/
RTC_API int rtc_ice_get_selected(const rtc_ice *ice, rtc_addr *local, rtc_addr *remote,
                                 uint32_t *relay_id);

RTC_API rtc_ice_state rtc_ice_get_state(const rtc_ice *ice);
RTC_API rtc_ice_gathering_state rtc_ice_get_gathering_state(const rtc_ice *ice);

/*
** ICE restart (RFC 8445 §9): new local credentials and a new gathering from the same
** addresses, servers and relays (new CANDIDATE events), a new checklist. The peer's
** candidates and credentials are kept until rtc_ice_set_remote_credentials() brings a new
** ufrag (JSEP: the answerer applies the offer's credentials, then restarts; the offerer
** restarts, then applies the answer's). The current selected pair keeps carrying data (and
** stays selected) until the new checks select one. Also the way out of FAILED.
** Returns RTC_OK, RTC_ERR_MISUSE (closed).
*/
RTC_API int rtc_ice_restart(rtc_ice *ice, rtc_time now);

/* Close: state CLOSED, every transaction dropped, nothing more is sent. Idempotent. */
RTC_API int rtc_ice_close(rtc_ice *ice);

/* Statistics for tests and getStats(). */
typedef struct rtc_ice_stats {
    size_t local_candidates, remote_candidates, pairs;
    size_t checks_sent, checks_received, responses_received;
    size_t remote_dropped; /* remote candidates refused by the bound */
    size_t pairs_dropped;  /* pairs refused or pruned by the bound */
    size_t auth_failures;  /* checks/responses failing integrity or credentials */
    size_t role_conflicts; /* 487s sent or received */
    size_t early_checks;   /* checks answered before the remote credentials */
    size_t nominations;    /* selected-pair changes */
} rtc_ice_stats;
RTC_API void rtc_ice_get_stats(const rtc_ice *ice, rtc_ice_stats *out);

/* One candidate pair, as W3C RTCIceCandidatePairStats needs it. */
typedef enum rtc_ice_pair_state {
    RTC_ICE_PAIR_FROZEN = 0,
    RTC_ICE_PAIR_WAITING = 1,
    RTC_ICE_PAIR_IN_PROGRESS = 2,
    RTC_ICE_PAIR_SUCCEEDED = 3,
    RTC_ICE_PAIR_FAILED = 4,
} rtc_ice_pair_state;

typedef struct rtc_ice_pair_info {
    rtc_addr local, remote;          /* local: the base the pair sends from */
    uint8_t local_type, remote_type; /* rtc_ice_cand_type */
    uint32_t relay_id;
    int state; /* rtc_ice_pair_state */
    bool valid, nominated, selected;
    uint64_t priority; /* RFC 8445 §6.1.2.3 */
    rtc_time rtt;      /* last round trip of a check on it (Karn: unambiguous ones
                          only); -1 when none measured */
} rtc_ice_pair_info;

/* Copy up to `cap` pairs of the current checklist into out (may be NULL with cap 0).
** Returns how many pairs exist (possibly more than cap). */
RTC_API size_t rtc_ice_get_pairs(const rtc_ice *ice, rtc_ice_pair_info *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
