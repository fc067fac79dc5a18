/*
** cwebrtc/sctp.h: an SCTP association for WebRTC data channels (sans-IO).
**
** SCTP (RFC 9260) carries data channel messages inside DTLS (RFC 8261): every DTLS
** application-data record holds exactly one SCTP packet, and there is no IP or UDP
** below it, so ports are just labels (5000 by default) and a path MTU is configured,
** not discovered. One rtc_sctp is one association with one peer. It speaks the subset
** that WebRTC uses: the 4-way handshake with an HMAC-signed state cookie (including
** the INIT collision that happens when both peers connect at once, the normal case in
** WebRTC), DATA/SACK with fragmentation, ordered and unordered delivery, congestion
** control and retransmission (RFC 9260 §6-7), partial reliability (RFC 3758
** FORWARD-TSN), stream reset (RFC 6525 RE-CONFIG), SHUTDOWN and ABORT, and the zero
** checksum of RFC 9653 when both sides announce it (DTLS already protects integrity).
** Not supported: multi-homing, I-DATA (RFC 8260 interleaving), association restart,
** adding streams.
**
** A user message goes out on a stream id with a payload protocol identifier (PPID,
** which DCEP uses for string/binary/control), ordered or unordered, fully reliable or
** partially reliable (abandoned after N retransmissions or after a lifetime). Messages
** arrive whole, with their stream id and PPID.
**
** Drive it like every core in this library (see docs/architecture.md):
**   - rtc_sctp_handle_packet() with each decrypted DTLS record, rtc_sctp_handle_timeout()
**     when rtc_sctp_next_timeout() has passed, rtc_sctp_send()/..._reset_streams()/
**     ..._shutdown()/..._abort() as the application wishes;
**   - after EVERY such call, drain rtc_sctp_poll_transmit() (each packet goes into one
**     DTLS record) and rtc_sctp_poll_event() until both return 0, then sleep until
**     rtc_sctp_next_timeout().
** The core reads no clock: `now` is the caller's monotonic time in µs, and poll_* use
** the latest `now` given to any call.
**
** Threading: an rtc_sctp is not thread-safe; use it from one thread at a time. There
** are no callbacks other than those of the rtc_env (memory, randomness, logging).
*/
#ifndef CWEBRTC_SCTP_H
#define CWEBRTC_SCTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cwebrtc/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rtc_sctp rtc_sctp;

/* Well-known PPIDs (RFC 8831 §8, RFC 8832 §8.1). The association does not interpret them. */
#define RTC_SCTP_PPID_DCEP 50
#define RTC_SCTP_PPID_STRING 51
#define RTC_SCTP_PPID_BINARY 53
#define RTC_SCTP_PPID_STRING_EMPTY 56
#define RTC_SCTP_PPID_BINARY_EMPTY 57

/* Stream ids 0..65534 are usable (65535 is reserved by RFC 8832 §6; we announce 65535
** streams in each direction, as browsers do). */
#define RTC_SCTP_MAX_STREAMS 65535

/*
** Configuration. Call rtc_sctp_config_default() first, then change what you need.
** Times are rtc_time (µs). Zero in a size/count field means "use the default".
*/
typedef struct rtc_sctp_config {
    uint16_t local_port;        /* 5000: the SDP a=sctp-port values */
    uint16_t remote_port;       /* 5000 */
    uint32_t mtu;               /* largest SCTP packet we send, bytes. Default 1160:
                                   the 1200-byte datagram WebRTC stacks assume, minus
                                   up to 40 bytes of DTLS 1.2 record overhead */
    uint32_t max_message_size;  /* largest message we accept and send: 256 KiB. A peer
                                   exceeding it is aborted (announce it in SDP
                                   a=max-message-size). */
    uint32_t recv_window;       /* receive buffer: bytes held for reassembly and not yet
                                   polled, advertised as a_rwnd. Default 1 MiB; raised
                                   to max_message_size + 8 MTU if smaller (messages are
                                   delivered whole). */
    size_t send_buffer;         /* bytes accepted by rtc_sctp_send() and not yet
                                   acknowledged, all streams together. Default 4 MiB. */
    rtc_time rto_initial;       /* 500 ms (RFC 9260 says 1 s; browsers use less) */
    rtc_time rto_min;           /* 200 ms (RFC: 1 s; see docs/sctp.md for why lower) */
    rtc_time rto_max;           /* 10 s (RFC: 60 s; a data channel is useless long
                                   before that) */
    rtc_time delayed_ack;       /* 100 ms (RFC 9260 §6.2 allows 200; less keeps peers
                                   with a low minimum RTO from spurious timeouts),
                                   and a SACK for every 2nd packet anyway */
    rtc_time heartbeat_interval;/* 30 s; RTC_TIME_NEVER disables heartbeats */
    rtc_time cookie_lifetime;   /* 60 s, Valid Cookie Life of RFC 9260 §5.1.3 */
    uint32_t max_retransmits;   /* Association.Max.Retrans: 10 */
    uint32_t max_init_retransmits; /* Max.Init.Retransmits: 8 */
    bool zero_checksum;         /* announce RFC 9653 Zero Checksum Acceptable (method 1,
                                   DTLS). Default true: only ever run SCTP under DTLS. */
} rtc_sctp_config;

/* Fills `cfg` with the defaults listed above. */
RTC_API void rtc_sctp_config_default(rtc_sctp_config *cfg);

/*
** Creates an association in the CLOSED state. It answers an incoming INIT at once
** (passive open); call rtc_sctp_connect() to send an INIT too (WebRTC: both sides do).
** cfg: NULL means defaults; copied. env: NULL means defaults; copied (its `ud` must
** outlive the object). A 32-byte cookie secret and the verification tag and initial
** TSN come from env->random.
** Returns RTC_OK, RTC_ERR_INVALID (bad config: mtu < 256 or > 65535), RTC_ERR_NOMEM.
*/
RTC_API int rtc_sctp_new(rtc_sctp **out, const rtc_sctp_config *cfg, const rtc_env *env);
/* Frees everything; NULL is a no-op. Sends nothing (call rtc_sctp_abort() first for that). */
RTC_API void rtc_sctp_free(rtc_sctp *s);

/*
** Active open: queues an INIT (RFC 9260 §5.1). Returns RTC_OK, or RTC_ERR_MISUSE when
** not CLOSED (including when a peer's INIT already started the association: fine).
*/
RTC_API int rtc_sctp_connect(rtc_sctp *s, rtc_time now);

/*
** One SCTP packet (one DTLS record's plaintext; borrowed, not kept).
** Returns RTC_OK when the packet was accepted (even if some chunks were ignored as
** RFC 9260 §3.2 asks); RTC_ERR_PARSE: a malformed chunk layout drops the whole packet,
** a malformed chunk inside a well-formed packet is skipped (the others take effect);
** RTC_ERR_AUTH: bad checksum, wrong verification tag or ports, forged or stale cookie
** (dropped whole); RTC_ERR_NOMEM: a chunk could not be stored (it stays unacknowledged,
** so the peer sends it again); RTC_ERR_CLOSED: the association is closed. Drops are
** counted in the stats; none of these is fatal to the association.
*/
RTC_API int rtc_sctp_handle_packet(rtc_sctp *s, rtc_time now, const uint8_t *buf, size_t len);

/* Runs expired timers (retransmission, delayed SACK, heartbeat, shutdown...). RTC_OK. */
RTC_API int rtc_sctp_handle_timeout(rtc_sctp *s, rtc_time now);

/* The earliest time at which rtc_sctp_handle_timeout() wants to run, or RTC_TIME_NEVER. */
RTC_API rtc_time rtc_sctp_next_timeout(const rtc_sctp *s);

/*
** Next packet to send, built on demand. On 1, *data and *len point into the association
** (valid until the next call on `s`); send them as one DTLS record. 0: nothing to send.
*/
RTC_API int rtc_sctp_poll_transmit(rtc_sctp *s, const uint8_t **data, size_t *len);

/* ---- sending ------------------------------------------------------------------- */

typedef struct rtc_sctp_send_opts {
    uint16_t stream;          /* 0..65534 */
    uint32_t ppid;            /* payload protocol identifier, host order */
    bool unordered;           /* U bit: deliver as soon as complete */
    int32_t max_retransmits;  /* < 0: unlimited; >= 0: abandon after that many
                                 retransmissions (RFC 3758; 0 = send once) */
    int32_t max_lifetime_ms;  /* < 0: unlimited; >= 0: abandon when not acknowledged
                                 within this many ms of rtc_sctp_send() */
} rtc_sctp_send_opts;

/* opts for a reliable ordered message on `stream` with `ppid`. */
RTC_API rtc_sctp_send_opts rtc_sctp_send_opts_reliable(uint16_t stream, uint32_t ppid);

/*
** Queues one message (copied). It may be sent before the association is up; it goes
** out once it is. Messages of one stream keep their order when opts->unordered is false.
** Streams with queued messages share the link by weighted fair queueing on their
** priorities (rtc_sctp_set_stream_priority), one whole message at a time: equal
** priorities take turns, and a bulk transfer on one stream does not starve the others. A message queued before the
** association is up on a stream the peer does not accept is dropped (counted in
** abandoned_messages).
** Returns RTC_OK;
**   RTC_ERR_AGAIN    the send buffer (cfg.send_buffer) has no room for `len` now: wait
**                    for RTC_SCTP_EV_BUFFERED_AMOUNT_LOW or a drop of buffered amount
**                    (a message larger than the whole buffer goes in when it is empty);
**   RTC_ERR_INVALID  len == 0 (SCTP cannot carry an empty message: RFC 8831 §6.6 sends
**                    one 0x00 byte with PPID 56/57), len > max message size (ours or
**                    the peer's), stream 65535, NULL data;
**   RTC_ERR_MISUSE   the stream is being reset (wait for RTC_SCTP_EV_STREAM_RESET_DONE)
**                    or the association is shutting down;
**   RTC_ERR_CLOSED   the association is closed or aborted;
**   RTC_ERR_NOMEM    allocation failed.
*/
RTC_API int rtc_sctp_send(rtc_sctp *s, rtc_time now, const rtc_sctp_send_opts *opts,
                          const uint8_t *data, size_t len);

/*
** Buffered amount of `stream`: bytes of messages given to rtc_sctp_send() and not yet
** transmitted for the first time (W3C RTCDataChannel.bufferedAmount semantics).
*/
RTC_API size_t rtc_sctp_buffered_amount(const rtc_sctp *s, uint16_t stream);
/* Emit RTC_SCTP_EV_BUFFERED_AMOUNT_LOW for `stream` whenever its buffered amount falls
** from above `threshold` to at or below it (W3C bufferedAmountLowThreshold; default 0).
** Returns RTC_OK, RTC_ERR_INVALID (stream 65535), RTC_ERR_NOMEM. */
RTC_API int rtc_sctp_set_buffered_amount_low(rtc_sctp *s, uint16_t stream, size_t threshold);
/* Total bytes held for sending (queued + in flight), all streams: what counts against
** cfg.send_buffer. */
RTC_API size_t rtc_sctp_buffered_total(const rtc_sctp *s);

/*
** Sets the scheduling priority of our outgoing `stream` (RFC 8831 §6.4; the W3C
** RTCPriorityType numbers of datachannel.h: very-low 128, low 256, medium 512, high
** 1024). Streams with queued messages get bytes in proportion to their priorities
** (weighted fair queueing, RFC 8260 §3.6): saturated streams of priority 1024 and 256
** send 4:1; equal priorities take turns. Messages are never split between streams
** (no I-DATA), so a message waits at most for the one being sent. Default 256; 0 is
** taken as 1. Kept across stream resets. Returns RTC_OK, RTC_ERR_INVALID (NULL, stream
** 65535), RTC_ERR_NOMEM.
*/
RTC_API int rtc_sctp_set_stream_priority(rtc_sctp *s, uint16_t stream, uint16_t priority);

/* The peer's max message size (from SDP a=max-message-size; 0 means no limit beyond
** ours). Sends larger than min(ours, peer's) fail with RTC_ERR_INVALID. */
RTC_API void rtc_sctp_set_remote_max_message_size(rtc_sctp *s, uint32_t size);

/*
** Resets our outgoing streams (RFC 6525 §5.1.2 Outgoing SSN Reset Request): the data
** channel close procedure of RFC 8831 §6.7. Messages already queued on those streams
** are still sent first; new sends on them fail with RTC_ERR_MISUSE until
** RTC_SCTP_EV_STREAM_RESET_DONE for the stream, after which the id may be reused (its
** SSN restarts at 0). When the peer resets ITS outgoing stream you get
** RTC_SCTP_EV_STREAM_RESET; the data channel layer then resets ours with this call.
** Requests are batched and retransmitted by the core (one outstanding at a time).
** Returns RTC_OK, RTC_ERR_INVALID (n == 0, id 65535), RTC_ERR_MISUSE (peer did not
** announce RE-CONFIG, or the association is closing), RTC_ERR_CLOSED, RTC_ERR_NOMEM.
*/
RTC_API int rtc_sctp_reset_streams(rtc_sctp *s, const uint16_t *streams, size_t n);

/*
** Graceful close (RFC 9260 §9.2): queued data is delivered first, then SHUTDOWN.
** RTC_SCTP_EV_CLOSED (reason SHUTDOWN) follows. Returns RTC_OK, RTC_ERR_CLOSED.
** Before the association is up this is an abort without a packet.
*/
RTC_API int rtc_sctp_shutdown(rtc_sctp *s, rtc_time now);

/*
** Immediate close: queues an ABORT (when the peer's tag is known), drops all data and
** emits RTC_SCTP_EV_CLOSED (reason LOCAL_ABORT). Returns RTC_OK, RTC_ERR_CLOSED.
*/
RTC_API int rtc_sctp_abort(rtc_sctp *s, rtc_time now);

/* ---- events -------------------------------------------------------------------- */

typedef enum rtc_sctp_event_kind {
    RTC_SCTP_EV_CONNECTED = 1,        /* association established (COOKIE-ACK sent/received) */
    RTC_SCTP_EV_MESSAGE,              /* a whole message: stream, ppid, unordered, data/len */
    RTC_SCTP_EV_STREAM_RESET,         /* the peer reset its outgoing stream `stream`: its
                                         incoming side is closed (RFC 8831 §6.7) */
    RTC_SCTP_EV_STREAM_RESET_DONE,    /* our reset of `stream` completed: id reusable */
    RTC_SCTP_EV_STREAM_RESET_FAILED,  /* the peer denied our reset of `stream` */
    RTC_SCTP_EV_BUFFERED_AMOUNT_LOW,  /* `stream`'s buffered amount fell to its threshold */
    RTC_SCTP_EV_CLOSED,               /* final: `reason` (and `error_cause` from an ABORT) */
} rtc_sctp_event_kind;

typedef enum rtc_sctp_close_reason {
    RTC_SCTP_CLOSE_SHUTDOWN = 1,   /* graceful SHUTDOWN, either side */
    RTC_SCTP_CLOSE_PEER_ABORT,     /* the peer sent ABORT */
    RTC_SCTP_CLOSE_LOCAL_ABORT,    /* rtc_sctp_abort(), or shutdown before established */
    RTC_SCTP_CLOSE_TIMEOUT,        /* max retransmissions (data, INIT, COOKIE, SHUTDOWN,
                                      heartbeat) reached: the peer is unreachable */
    RTC_SCTP_CLOSE_PROTOCOL,       /* we aborted: the peer broke a rule or a bound
                                      (e.g. a message over max_message_size) */
} rtc_sctp_close_reason;

typedef struct rtc_sctp_event {
    rtc_sctp_event_kind kind;
    uint16_t stream;       /* MESSAGE, STREAM_RESET*, BUFFERED_AMOUNT_LOW */
    uint32_t ppid;         /* MESSAGE */
    bool unordered;        /* MESSAGE */
    const uint8_t *data;   /* MESSAGE: borrowed; valid until the next call on the object */
    size_t len;            /* MESSAGE */
    rtc_sctp_close_reason reason; /* CLOSED */
    uint16_t error_cause;  /* CLOSED with PEER_ABORT/PROTOCOL: first error cause code, or 0 */
} rtc_sctp_event;

/* Next event: 1 and *ev filled, or 0 when none. MESSAGE data stays valid until the next
** call on `s`. Polling messages frees receive buffer, which may queue a window-update
** SACK: drain rtc_sctp_poll_transmit() afterwards. */
RTC_API int rtc_sctp_poll_event(rtc_sctp *s, rtc_sctp_event *ev);

/* ---- state and statistics ------------------------------------------------------ */

typedef enum rtc_sctp_state {
    RTC_SCTP_CLOSED = 0,
    RTC_SCTP_COOKIE_WAIT,
    RTC_SCTP_COOKIE_ECHOED,
    RTC_SCTP_ESTABLISHED,
    RTC_SCTP_SHUTDOWN_PENDING,
    RTC_SCTP_SHUTDOWN_SENT,
    RTC_SCTP_SHUTDOWN_RECEIVED,
    RTC_SCTP_SHUTDOWN_ACK_SENT,
    RTC_SCTP_DONE,            /* closed after having been used: final */
} rtc_sctp_state;

RTC_API rtc_sctp_state rtc_sctp_get_state(const rtc_sctp *s);

typedef struct rtc_sctp_stats {
    uint64_t packets_sent, packets_received;
    uint64_t bytes_sent, bytes_received;      /* SCTP packet bytes */
    uint64_t data_chunks_sent, data_chunks_received;
    uint64_t retransmitted_chunks, fast_retransmits, t3_expirations;
    uint64_t abandoned_messages;              /* PR-SCTP, sender side */
    uint64_t messages_sent, messages_received;
    uint64_t duplicate_tsns_received;
    uint64_t dropped_packets;                 /* bad checksum, tag, ports, or malformed */
    uint64_t dropped_chunks;                  /* outside the window or over the buffer */
    uint32_t cwnd, ssthresh, peer_rwnd, flight_size;
    rtc_time srtt, rto;                       /* 0 srtt until measured */
    uint16_t out_streams;                     /* streams we may send on: min(65535, peer's
                                                 inbound count); valid once connected */
    bool zero_checksum;                       /* we send zero checksums (both announced) */
    bool peer_reconfig, peer_forward_tsn;     /* the peer announced these extensions */
} rtc_sctp_stats;

RTC_API void rtc_sctp_get_stats(const rtc_sctp *s, rtc_sctp_stats *st);

#ifdef __cplusplus
}
#endif
#endif
