/*
** cwebrtc/pc.h: the peer connection (W3C RTCPeerConnection) as a sans-IO core.
**
** An rtc_pc composes every layer of a WebRTC data session over ONE UDP flow: JSEP
** offer/answer (RFC 8829) with SDP text in and out, an ICE agent (RFC 8445, trickle RFC
** 8838), one DTLS association (RFC 6347, fingerprints RFC 8122, roles RFC 8842), and on
** top of it an SCTP association (RFC 8261) carrying data channels (RFC 8831/8832). Media
** sections (transceivers) are parsed and, for now, rejected in answers (port 0); the
** demultiplexer already routes RTP/RTCP by first byte (RFC 7983) so media can slot in.
**
** Like every core in this library it owns no socket, reads no clock and starts no thread
** (str0m's Rtc is the model):
**   - the caller binds UDP sockets and announces their addresses with
**     rtc_pc_add_local_address() (host candidates);
**   - every received datagram goes in through rtc_pc_handle_packet(now, src, dst, ...);
**   - rtc_pc_poll_output() hands out, one at a time, datagrams to send (TRANSMIT), events
**     with W3C names (EVENT), and finally the time to call rtc_pc_handle_timeout() next
**     (TIMEOUT, which also means "nothing more for now").
**
** THE INVARIANT: after every call that mutates the connection (handle_packet,
** handle_timeout, the description calls, add_ice_candidate, data channel calls, close),
** drain rtc_pc_poll_output() until it returns RTC_PC_OUT_TIMEOUT, then sleep until that
** time or the next datagram. Reacting to an event by calling the API from inside that
** drain is fine (there are no callbacks here at all).
**
**     for (;;) {
**         rtc_pc_output o;
**         while (rtc_pc_poll_output(pc, &o) != RTC_PC_OUT_TIMEOUT)
**             if (o.kind == RTC_PC_OUT_TRANSMIT) sendto(o.transmit.src -> o.transmit.dst);
**             else on_event(&o.event);
**         wait_for_datagram_until(o.timeout);  // then ONE handle_packet or handle_timeout
**     }
**
** Time: calls without a `now` argument use the latest time given to handle_packet or
** handle_timeout (0 before the first). Advance it with rtc_pc_handle_timeout(pc, now)
** before a description call when the clock matters.
**
** Data channels are named by a handle (uint32_t, > 0, never reused within one rtc_pc),
** not by their SCTP stream id: the id of a non-negotiated channel depends on the DTLS
** role (even for the client, odd for the server, RFC 8832 §6) and is unknown (-1 in
** rtc_pc_dc_info) until the answer fixes that role, just as W3C's RTCDataChannel.id is
** null until then.
**
** Threading: an rtc_pc is used by one thread at a time; no locks, no globals. For a
** callback API on the library's event loop see cwebrtc/peer.h.
*/
#ifndef CWEBRTC_PC_H
#define CWEBRTC_PC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cwebrtc/addr.h"
#include "cwebrtc/common.h"
#include "cwebrtc/dtls.h"
#include "cwebrtc/ice.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rtc_pc rtc_pc;

/* ---- configuration (W3C RTCConfiguration) --------------------------------------------- */

/* One RTCIceServer: "stun:host[:port]", "turn:host[:port][?transport=udp|tcp]" or
** "turns:host[:port][?transport=tcp]" (TLS over TCP; turns:?transport=udp, i.e. DTLS, is
** refused). TURN over UDP uses the local UDP addresses; TURN over TCP/TLS needs a byte
** stream that the core does not own: see "TURN over TCP and TLS" below. */
typedef struct rtc_pc_ice_server {
    const char *url;        /* one URL; list a server twice for several URLs */
    const char *username;   /* TURN only */
    const char *credential; /* TURN only */
} rtc_pc_ice_server;

typedef enum rtc_pc_ice_policy {
    RTC_PC_ICE_POLICY_ALL = 0,   /* "all" */
    RTC_PC_ICE_POLICY_RELAY = 1, /* "relay": only relayed candidates are signalled/used */
} rtc_pc_ice_policy;

#define RTC_PC_MAX_ICE_SERVERS 8

typedef struct rtc_pc_config {
    const rtc_pc_ice_server *ice_servers; /* copied; at most RTC_PC_MAX_ICE_SERVERS */
    size_t n_ice_servers;
    int ice_transport_policy;   /* rtc_pc_ice_policy */
    rtc_dtls_cert *certificate; /* NULL: a fresh ECDSA P-256 one; else a reference is taken
                                   (share one certificate among many connections) */
    uint32_t max_message_size;  /* what we announce and accept; 0: 262144 */
    uint32_t max_channels;      /* data channels alive at once; 0: 1024 */
    size_t sctp_send_buffer;    /* bytes queued for sending, all channels; 0: 4 MiB */
    uint32_t sctp_recv_window;  /* 0: 1 MiB */
    rtc_time ice_nomination_delay; /* controlling agent: wait this long for a better pair
                                      before nominating the first valid one; 0: ICE's
                                      default (100 ms). Setup latency on a LAN is this. */
    const char *ice_ufrag;      /* tests: fixed credentials; NULL: random */
    const char *ice_pwd;
} rtc_pc_config;

/* ---- states (W3C names) -------------------------------------------------------------- */

typedef enum rtc_pc_signaling_state {
    RTC_PC_SIGNALING_STABLE = 0,
    RTC_PC_SIGNALING_HAVE_LOCAL_OFFER,
    RTC_PC_SIGNALING_HAVE_REMOTE_OFFER,
    RTC_PC_SIGNALING_HAVE_LOCAL_PRANSWER,
    RTC_PC_SIGNALING_HAVE_REMOTE_PRANSWER,
    RTC_PC_SIGNALING_CLOSED,
} rtc_pc_signaling_state;

typedef enum rtc_pc_connection_state {
    RTC_PC_CONNECTION_NEW = 0,
    RTC_PC_CONNECTION_CONNECTING,
    RTC_PC_CONNECTION_CONNECTED,
    RTC_PC_CONNECTION_DISCONNECTED,
    RTC_PC_CONNECTION_FAILED,
    RTC_PC_CONNECTION_CLOSED,
} rtc_pc_connection_state;

/* ICE connection and gathering states are rtc_ice_state / rtc_ice_gathering_state
** (cwebrtc/ice.h), which already follow the W3C names. */

typedef enum rtc_pc_sdp_type {
    RTC_PC_SDP_OFFER = 0,
    RTC_PC_SDP_PRANSWER,
    RTC_PC_SDP_ANSWER,
    RTC_PC_SDP_ROLLBACK,
} rtc_pc_sdp_type;

/* "stable", "have-local-offer", ...; "new", "connecting", ...; "offer", ... (static). */
RTC_API const char *rtc_pc_signaling_state_name(int s);
RTC_API const char *rtc_pc_connection_state_name(int s);
RTC_API const char *rtc_pc_sdp_type_name(int t);
/* Parse "offer", "pranswer", "answer", "rollback". RTC_OK or RTC_ERR_PARSE. */
RTC_API int rtc_pc_sdp_type_parse(const char *s, rtc_pc_sdp_type *out);

/* ---- lifecycle ----------------------------------------------------------------------- */

/*
** rtc_pc_new() — a connection in signaling state stable, connection state new.
** cfg NULL: defaults; copied (strings too). env NULL: defaults; copied (its ud must
** outlive the object). stun:/turn: URLs with IP literals are used directly; host names
** are announced with RTC_PC_EV_RESOLVE when gathering starts (answer rtc_pc_resolved).
** Returns RTC_OK, RTC_ERR_INVALID (bad URL, too many servers, TURN without credentials),
** RTC_ERR_NOMEM, RTC_ERR_CRYPTO (certificate generation).
*/
RTC_API int rtc_pc_new(rtc_pc **out, const rtc_pc_config *cfg, const rtc_env *env);
/* Frees everything; NULL is a no-op. Sends nothing: call rtc_pc_close() first and drain. */
RTC_API void rtc_pc_free(rtc_pc *pc);

/*
** rtc_pc_close() — W3C close(): data channels close (no events for them, as in the W3C
** API), SCTP ABORT and DTLS close_notify are queued, ICE stops, states become closed.
** Idempotent. Returns RTC_OK.
*/
RTC_API int rtc_pc_close(rtc_pc *pc);

/* Human-readable detail of the last failed call ("" if none). Borrowed until the next call. */
RTC_API const char *rtc_pc_last_error(const rtc_pc *pc);

/* ---- signaling (JSEP, RFC 8829) ------------------------------------------------------ */

/*
** rtc_pc_create_offer() / rtc_pc_create_answer() — write an offer (any state but
** have-remote-offer) or an answer (have-remote-offer) into buf (NUL-terminated) and
** remember it for rtc_pc_set_local_description(pc, type, NULL). The offer always has one
** m=application UDP/DTLS/SCTP webrtc-datachannel section, BUNDLE (max-bundle), trickle,
** a=setup:actpass; the answer accepts the offer's first data-channel section (in the
** offer's form, also the old DTLS/SCTP 5000 + a=sctpmap one) with a=setup:active (or
** passive for an "active" offer; in re-answers the established DTLS role) and rejects
** every other section (port 0, mid kept). Candidates gathered so far are included.
** Returns the length (>= 0), RTC_ERR_TOO_SMALL (buf NULL or small; the length needed is
** then what rtc_pc_pending_sdp_len() says), RTC_ERR_MISUSE (wrong state: see
** rtc_pc_last_error), RTC_ERR_CLOSED, RTC_ERR_NOMEM.
*/
RTC_API int rtc_pc_create_offer(rtc_pc *pc, char *buf, size_t size);
RTC_API int rtc_pc_create_answer(rtc_pc *pc, char *buf, size_t size);
/* Length (without NUL) of the description the last create_* built, 0 if none. */
RTC_API size_t rtc_pc_pending_sdp_len(const rtc_pc *pc);

/*
** rtc_pc_set_local_description() — apply our own offer/answer (sdp NULL: the last one
** created of that type; the W3C implicit form) or roll back (type ROLLBACK, sdp ignored).
** The first local description starts ICE gathering. Our ICE credentials and fingerprint
** must be unchanged (SDP munging of them is refused).
** rtc_pc_set_remote_description() — apply the peer's offer/answer (sdp borrowed, any
** size up to 1 MiB, CRLF or LF) or roll back.
** Allowed transitions (W3C / RFC 8829 §3.2): stable -> have-local-offer (local offer) or
** have-remote-offer (remote offer); have-local-offer -> stable (remote answer) or
** have-remote-pranswer; have-remote-offer -> stable (local answer) or
** have-local-pranswer; rollback from have-local-offer / have-remote-offer -> stable.
** Returns RTC_OK; RTC_ERR_MISUSE (wrong state for this type); RTC_ERR_PARSE (the text is
** not SDP: rtc_pc_last_error has the line); RTC_ERR_INVALID (valid SDP that cannot be
** used: no data-channel section, no ICE credentials or fingerprint, mids that do not
** match the offer, an answer with a=setup:actpass, ...); RTC_ERR_UNSUPPORTED (a
** fingerprint hash we cannot check); RTC_ERR_CLOSED; RTC_ERR_NOMEM.
** On any error nothing changes, except when memory runs out while the DTLS/SCTP
** transports are being created at the end of the first exchange (then the description is
** stored but the state stays where it was; close the connection).
*/
RTC_API int rtc_pc_set_local_description(rtc_pc *pc, rtc_pc_sdp_type type, const char *sdp);
RTC_API int rtc_pc_set_remote_description(rtc_pc *pc, rtc_pc_sdp_type type, const char *sdp,
                                          size_t len);

/*
** The current local / remote description as text (W3C localDescription with the
** candidates gathered so far and a=end-of-candidates once complete, remoteDescription
** as given), NUL-terminated. Returns the length, 0 when there is none,
** RTC_ERR_TOO_SMALL (call with NULL, 0 to learn the length).
*/
RTC_API int rtc_pc_local_description(const rtc_pc *pc, char *buf, size_t size);
RTC_API int rtc_pc_remote_description(const rtc_pc *pc, char *buf, size_t size);

/*
** rtc_pc_add_ice_candidate() — a trickled remote candidate (RTCIceCandidate.candidate:
** "candidate:..." with or without "a="), for the section named by mid (NULL: use
** mline_index). An empty or NULL candidate means end-of-candidates. Needs a remote
** description. Returns RTC_OK, 1 when ignored harmlessly (TCP, duplicate, stale, for a
** rejected or bundled-away section), RTC_ERR_MISUSE (no remote description),
** RTC_ERR_INVALID (unknown mid / index), RTC_ERR_PARSE, RTC_ERR_UNSUPPORTED, RTC_ERR_NOMEM
** (remote candidate bound reached), RTC_ERR_CLOSED.
*/
RTC_API int rtc_pc_add_ice_candidate(rtc_pc *pc, const char *candidate, const char *mid,
                                     int mline_index);

/*
** rtc_pc_restart_ice() — W3C restartIce(): new local ICE credentials and a new gathering
** (RFC 8445 §9); the next offer carries them and RTC_PC_EV_NEGOTIATION_NEEDED fires once
** stable. The selected pair keeps carrying data until the new checks select one. A remote
** offer with new credentials restarts our side the same way before we answer.
** Returns RTC_OK, RTC_ERR_CLOSED.
*/
RTC_API int rtc_pc_restart_ice(rtc_pc *pc);

/* ---- local transport addresses -------------------------------------------------------- */

/*
** Announce a local address the caller bound a UDP socket to (one per interface; the
** caller decides which interfaces to use). Datagrams in TRANSMIT outputs name it as
** `src`. With ice_transport_policy RELAY the address is used only to reach the TURN
** servers (no host candidate). The first 8 addresses are kept for TURN (the first of the
** server's family is used). Returns RTC_OK, RTC_ERR_INVALID, RTC_ERR_NOMEM, RTC_ERR_CLOSED.
*/
RTC_API int rtc_pc_add_local_address(rtc_pc *pc, const rtc_addr *local);

/* Answer an RTC_PC_EV_RESOLVE (addr NULL: it failed). Returns RTC_OK. */
RTC_API int rtc_pc_resolved(rtc_pc *pc, const char *name, const rtc_addr *addr);

/* ---- driving -------------------------------------------------------------------------- */

/*
** rtc_pc_handle_packet() — one received datagram (borrowed). src: the sender; dst: the
** local address it arrived on. Datagrams from one of our TURN servers go to its client
** first; the peer data inside re-enters as if sent by the peer to the relayed address.
** Then demultiplexed by first byte (RFC 7983 §7): 0-3 STUN (ICE), 20-63 DTLS; 128-191
** RTP/RTCP and anything else are counted and dropped (until media exists). DTLS that arrives before our DTLS role is known (a ClientHello beating the
** answer, RFC 5763 §5) is buffered: up to 16 datagrams / 32 KiB.
** Returns RTC_OK (consumed or dropped harmlessly), RTC_ERR_PARSE (malformed; dropped
** and counted), RTC_ERR_CLOSED. Never fatal to the connection.
*/
RTC_API int rtc_pc_handle_packet(rtc_pc *pc, rtc_time now, const rtc_addr *src,
                                 const rtc_addr *dst, const uint8_t *buf, size_t len);
/* Run due timers. Returns RTC_OK. */
RTC_API int rtc_pc_handle_timeout(rtc_pc *pc, rtc_time now);
/* The earliest deadline of all layers, RTC_TIME_NEVER when idle. */
RTC_API rtc_time rtc_pc_next_timeout(const rtc_pc *pc);

/*
** rtc_pc_accepts() — whether a datagram arriving on a shared socket belongs to this
** connection: a STUN message whose USERNAME starts with our ufrag, or anything from the
** remote address of a pair this connection has seen. Pure; for servers multiplexing many
** connections on one port.
*/
RTC_API bool rtc_pc_accepts(const rtc_pc *pc, const rtc_addr *src, const uint8_t *buf,
                            size_t len);

typedef enum rtc_pc_out_kind {
    RTC_PC_OUT_TIMEOUT = 0,
    RTC_PC_OUT_TRANSMIT = 1,
    RTC_PC_OUT_EVENT = 2,
} rtc_pc_out_kind;

typedef struct rtc_pc_transmit {
    rtc_addr src;        /* the local address (from rtc_pc_add_local_address) */
    rtc_addr dst;
    const uint8_t *data; /* borrowed until the next call on the rtc_pc */
    size_t len;
    uint32_t stream;     /* 0: a UDP datagram src -> dst. > 0: bytes to write, in order, on
                            the TCP/TLS connection to a TURN server that RTC_PC_EV_RELAY_STREAM
                            asked for with this `stream` id (dst is that server); drop them
                            if the connection is not there */
} rtc_pc_transmit;

typedef enum rtc_pc_event_type {
    /* W3C icecandidate: `candidate` ("candidate:..."), `sdp_mid`, `sdp_mline_index`.
    ** candidate "" (empty) is the end-of-candidates marker W3C fires when gathering
    ** completes. */
    RTC_PC_EV_ICE_CANDIDATE = 1,
    RTC_PC_EV_ICE_GATHERING_STATE_CHANGE,  /* `state`: rtc_ice_gathering_state */
    RTC_PC_EV_ICE_CONNECTION_STATE_CHANGE, /* `state`: rtc_ice_state */
    RTC_PC_EV_CONNECTION_STATE_CHANGE,     /* `state`: rtc_pc_connection_state; `error`
                                              and `what` say why on FAILED */
    RTC_PC_EV_SIGNALING_STATE_CHANGE,      /* `state`: rtc_pc_signaling_state */
    RTC_PC_EV_NEGOTIATION_NEEDED,          /* create and send a (new) offer */
    RTC_PC_EV_DATA_CHANNEL,                /* the peer opened `channel`; `info` */
    RTC_PC_EV_DC_OPEN,                     /* `channel` is open (ours or the peer's) */
    RTC_PC_EV_DC_MESSAGE,                  /* `channel`, `binary`, data/len (len may be 0) */
    RTC_PC_EV_DC_BUFFERED_AMOUNT_LOW,      /* `channel`'s bufferedAmount fell to its threshold */
    RTC_PC_EV_DC_CLOSING,                  /* the peer began closing `channel` */
    RTC_PC_EV_DC_CLOSE,                    /* `channel` is closed; its handle is now invalid */
    RTC_PC_EV_DC_ERROR,                    /* `channel` (0: none), `error`, `what` */
    RTC_PC_EV_RESOLVE,                     /* resolve `name` (a STUN/TURN server or an mDNS
                                              candidate) and call rtc_pc_resolved() */
    RTC_PC_EV_RELAY_STREAM,                /* open a TCP connection to `address` (with TLS
                                              when `tls`; `name` is the URL's host, to verify
                                              the certificate against) for TURN stream
                                              `stream`; see "TURN over TCP and TLS" */
} rtc_pc_event_type;

typedef struct rtc_pc_dc_info {
    uint32_t channel;       /* the handle */
    int32_t id;             /* SCTP stream id, -1 until the DTLS role is known */
    const char *label;      /* NUL-terminated, borrowed until the next call on the pc */
    const char *protocol;
    bool ordered;
    int32_t max_retransmits;      /* -1: not set */
    int32_t max_packet_life_time; /* ms; -1: not set */
    bool negotiated;
    int ready_state;              /* 0 connecting, 1 open, 2 closing, 3 closed (W3C order) */
    size_t buffered_amount;
    size_t buffered_amount_low_threshold;
    uint16_t priority;            /* ours, or what the peer's OPEN said */
    /* W3C RTCDataChannelStats: user messages and their payload bytes */
    uint64_t messages_sent, bytes_sent, messages_received, bytes_received;
} rtc_pc_dc_info;

typedef struct rtc_pc_event {
    rtc_pc_event_type type;
    int state;
    int error;              /* rtc_err, 0 if none */
    const char *what;       /* static English detail or NULL */
    const char *candidate;  /* ICE_CANDIDATE; borrowed until the next call */
    const char *sdp_mid;    /* ICE_CANDIDATE */
    int sdp_mline_index;    /* ICE_CANDIDATE */
    uint32_t channel;       /* DC events, DATA_CHANNEL */
    rtc_pc_dc_info info;    /* DATA_CHANNEL, DC_OPEN */
    bool binary;            /* DC_MESSAGE */
    const uint8_t *data;    /* DC_MESSAGE: borrowed until the next call on the pc */
    size_t len;
    const char *name;       /* RESOLVE, RELAY_STREAM */
    uint32_t stream;        /* RELAY_STREAM */
    rtc_addr address;       /* RELAY_STREAM: the TURN server */
    bool tls;               /* RELAY_STREAM: turns: (TLS over the TCP connection) */
} rtc_pc_event;

typedef struct rtc_pc_output {
    rtc_pc_out_kind kind;
    rtc_time timeout;         /* TIMEOUT: when to call handle_timeout (RTC_TIME_NEVER) */
    rtc_pc_transmit transmit; /* TRANSMIT */
    rtc_pc_event event;       /* EVENT */
} rtc_pc_output;

/*
** TURN over TCP and TLS (turn:?transport=tcp, turns:; RFC 8656 §3.1, RFC 7065). The core
** stays socket-free: when gathering reaches such a server it emits RTC_PC_EV_RELAY_STREAM
** (stream id, server address, TLS flag, host name) before anything for that stream. The
** driver then opens the connection (and runs TLS over it, verifying the server's
** certificate for `name`), writes the bytes of every TRANSMIT whose `stream` is that id in
** order (queue them while the connection is still being set up), and hands back:
**   rtc_pc_relay_stream_input()  the plaintext bytes read (any split; framing is done
**                                here). RTC_OK; RTC_ERR_NOT_FOUND (no such stream);
**                                RTC_ERR_PARSE when the stream is garbage: the relay is
**                                failed, close the connection; RTC_ERR_CLOSED.
**   rtc_pc_relay_stream_closed() the connection could not be opened, the TLS handshake or
**                                certificate check failed, or it closed/reset later: the
**                                allocation is gone, ICE stops counting on that relay.
**                                RTC_OK, RTC_ERR_NOT_FOUND, RTC_ERR_CLOSED.
** The allocated relayed candidate itself is UDP (what ICE uses); only the leg to the TURN
** server is a stream, so it works where outbound UDP is blocked. Drain poll_output after
** both calls, as after handle_packet. rtc_peer (cwebrtc/peer.h) does all this.
*/
RTC_API int rtc_pc_relay_stream_input(rtc_pc *pc, rtc_time now, uint32_t stream,
                                      const uint8_t *buf, size_t len);
RTC_API int rtc_pc_relay_stream_closed(rtc_pc *pc, rtc_time now, uint32_t stream);

/* Next output; returns out->kind. See the invariant above. */
RTC_API rtc_pc_out_kind rtc_pc_poll_output(rtc_pc *pc, rtc_pc_output *out);

RTC_API rtc_pc_signaling_state rtc_pc_signaling_state_get(const rtc_pc *pc);
RTC_API rtc_pc_connection_state rtc_pc_connection_state_get(const rtc_pc *pc);
RTC_API int rtc_pc_ice_connection_state_get(const rtc_pc *pc); /* rtc_ice_state */
RTC_API int rtc_pc_ice_gathering_state_get(const rtc_pc *pc);  /* rtc_ice_gathering_state */
/* Our DTLS role once known: RTC_DTLS_ROLE_CLIENT/SERVER, or -1. */
RTC_API int rtc_pc_dtls_role(const rtc_pc *pc);

/* ---- data channels (W3C RTCDataChannel) ------------------------------------------------ */

/* W3C RTCDataChannelInit; start from rtc_pc_dc_init_default(). */
typedef struct rtc_pc_dc_init {
    bool ordered;                 /* true */
    int32_t max_retransmits;      /* -1: not set */
    int32_t max_packet_life_time; /* ms; -1: not set (setting both is INVALID) */
    const char *protocol;         /* NULL: "" */
    bool negotiated;              /* false; true: no DCEP, `id` agreed out of band */
    uint16_t id;                  /* negotiated only: 0..65534 */
    uint16_t priority;            /* W3C RTCPriorityType as RFC 8832 carries it: 128 very-low,
                                     256 low (0 = default = low), 512 medium, 1024 high; the
                                     SCTP sender shares the link between channels in this
                                     proportion (weighted fair queueing, per message) */
} rtc_pc_dc_init;
RTC_API void rtc_pc_dc_init_default(rtc_pc_dc_init *init);

/*
** rtc_pc_create_data_channel() — W3C createDataChannel(label, init). init NULL: defaults.
** The channel opens (RTC_PC_EV_DC_OPEN) once DTLS and SCTP are up; the first channel of a
** connection without a negotiated data section fires RTC_PC_EV_NEGOTIATION_NEEDED.
** *channel receives the handle. Returns RTC_OK, RTC_ERR_INVALID (both reliability
** limits, id 65535, label/protocol > 65535 bytes), RTC_ERR_MISUSE (negotiated id in use),
** RTC_ERR_NOMEM (max_channels), RTC_ERR_CLOSED.
*/
RTC_API int rtc_pc_create_data_channel(rtc_pc *pc, const char *label, const rtc_pc_dc_init *init,
                                       uint32_t *channel);
/*
** rtc_pc_dc_send() — send one message (copied). binary false: a string (UTF-8, PPID 51).
** len 0 is allowed (RFC 8831 §6.6 empty message). Returns RTC_OK, RTC_ERR_NOT_FOUND,
** RTC_ERR_MISUSE (not open), RTC_ERR_TOO_SMALL (larger than the max message size, ours
** or the peer's a=max-message-size), RTC_ERR_AGAIN (send buffer full: wait for
** buffered-amount-low), RTC_ERR_CLOSED, RTC_ERR_NOMEM.
*/
RTC_API int rtc_pc_dc_send(rtc_pc *pc, uint32_t channel, bool binary, const uint8_t *data,
                           size_t len);
/* Begin closing (RFC 8831 §6.7); RTC_PC_EV_DC_CLOSE follows. RTC_OK, RTC_ERR_NOT_FOUND. */
RTC_API int rtc_pc_dc_close(rtc_pc *pc, uint32_t channel);
/* Describe a channel. RTC_OK or RTC_ERR_NOT_FOUND. */
RTC_API int rtc_pc_dc_get_info(rtc_pc *pc, uint32_t channel, rtc_pc_dc_info *info);
/* W3C bufferedAmount (0 for an unknown handle) and bufferedAmountLowThreshold. */
RTC_API size_t rtc_pc_dc_buffered_amount(const rtc_pc *pc, uint32_t channel);
RTC_API int rtc_pc_dc_set_buffered_amount_low_threshold(rtc_pc *pc, uint32_t channel,
                                                        size_t threshold);

/* ---- statistics (W3C getStats(), the basic members of each report type) ---------------- */

typedef struct rtc_pc_stats {
    /* "peer-connection" */
    uint32_t data_channels_opened, data_channels_closed;
    /* "transport" */
    uint64_t packets_sent, packets_received, bytes_sent, bytes_received;
    int dtls_state;          /* rtc_dtls_state, -1 before the DTLS session exists */
    int dtls_role;           /* -1 unknown */
    uint16_t srtp_cipher;    /* RTC_DTLS_SRTP_*, 0 none */
    int ice_state;           /* rtc_ice_state */
    /* "candidate-pair" (the selected one; has_selected_pair false when none) */
    bool has_selected_pair;
    rtc_addr local_address, remote_address;
    int local_candidate_type, remote_candidate_type; /* rtc_ice_cand_type */
    const char *relay_protocol; /* W3C relayProtocol of a relayed local candidate: "udp",
                                   "tcp" or "tls" (static); NULL otherwise */
    /* "certificate" */
    char local_fingerprint[RTC_DTLS_FINGERPRINT_STRLEN];
    char remote_fingerprint[RTC_DTLS_FINGERPRINT_STRLEN]; /* "" until known */
    /* "data-channel" totals */
    uint64_t messages_sent, messages_received, dc_bytes_sent, dc_bytes_received;
    /* demultiplexer */
    uint64_t dropped_packets; /* unknown first byte, RTP without media, malformed */
    uint64_t early_dtls_buffered, early_dtls_dropped;
} rtc_pc_stats;

RTC_API void rtc_pc_get_stats(const rtc_pc *pc, rtc_pc_stats *out);

/*
** rtc_pc_get_stats_json() — the W3C RTCStatsReport as a JSON array of report objects, each
** with "id", "type", "timestamp" (ms, the core's clock) and the W3C members of its type:
** "peer-connection" (dataChannelsOpened/Closed), "transport" (bytes/packets, dtlsState,
** dtlsRole, iceState, selectedCandidatePairId, certificate ids, srtpCipher),
** "candidate-pair" (every checklist pair: local/remoteCandidateId, state, nominated,
** priority, currentRoundTripTime in s; the selected one also bytes/packets),
** "local-candidate" / "remote-candidate" (address, port, protocol, candidateType),
** "certificate" (fingerprint, fingerprintAlgorithm) and one "data-channel" per channel
** (label, protocol, dataChannelIdentifier, state, messagesSent/Received,
** bytesSent/Received). Strings are JSON-escaped. Returns the length written (NUL added),
** RTC_ERR_TOO_SMALL if `size` is too small (nothing useful in buf), RTC_ERR_INVALID.
** 8 KiB holds a connection with a few pairs and channels.
*/
RTC_API int rtc_pc_get_stats_json(const rtc_pc *pc, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
