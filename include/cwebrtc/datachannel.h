/*
** cwebrtc/datachannel.h: WebRTC data channels on one SCTP association (sans-IO).
**
** A data channel (RFC 8831) is a pair of SCTP streams with the same id, one in each
** direction, plus a label, a sub-protocol, an ordering and a reliability. The Data
** Channel Establishment Protocol (DCEP, RFC 8832) opens one in-band: the creator sends
** DATA_CHANNEL_OPEN on the new stream (PPID 50), the peer creates the channel and
** answers DATA_CHANNEL_ACK. A "negotiated" channel skips DCEP: both sides create it
** with an agreed id. To avoid both peers picking the same id, the DTLS client uses even
** stream ids and the DTLS server odd ones (RFC 8832 §6). Closing resets the outgoing
** stream (RFC 6525); the peer resets its own in turn, and once both directions are
** reset the channel is closed and its id free again (RFC 8831 §6.7).
**
** This header has two parts:
**   - the DCEP codec (rtc_dcep_*): pure functions, no allocation, usable on their own;
**   - the channel manager (rtc_dc): every channel of one rtc_sctp association.
**
** The manager sits ON TOP of an rtc_sctp that the caller owns and drives (see sctp.h):
** the caller still feeds rtc_sctp_handle_packet()/..._handle_timeout() and drains
** rtc_sctp_poll_transmit(), but it must NOT call rtc_sctp_poll_event() itself:
** rtc_dc_poll_event() pulls the association's events, turns them into channel events,
** and passes on association-level ones (RTC_DC_EV_SCTP_CONNECTED/_CLOSED). After every
** call that can change anything (rtc_sctp_handle_*, rtc_dc_create/send/close), drain
** rtc_dc_poll_event() and rtc_sctp_poll_transmit() until both return 0, then sleep until
** rtc_sctp_next_timeout(). (Events can queue packets, e.g. an ACK for an incoming OPEN,
** so poll events first, then transmits, and loop.)
**
** Channel ids are the SCTP stream ids (0..65534). A locally created channel becomes open
** when the association is established (as Chrome does: it need not wait for the ACK,
** RFC 8832 §6 allows sending right after the OPEN; until the ACK arrives its messages
** go out ordered so they cannot overtake the OPEN). A channel created by the peer is
** announced by RTC_DC_EV_OPEN with remote = true.
**
** Threading: an rtc_dc is not thread-safe and shares its rtc_sctp's thread: use both
** from one thread at a time. No callbacks other than the rtc_env's.
*/
#ifndef CWEBRTC_DATACHANNEL_H
#define CWEBRTC_DATACHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cwebrtc/common.h"
#include "cwebrtc/sctp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== DCEP codec (RFC 8832 §5) ================================================== */

#define RTC_DCEP_ACK 0x02  /* DATA_CHANNEL_ACK message type */
#define RTC_DCEP_OPEN 0x03 /* DATA_CHANNEL_OPEN message type */

/* Channel types (RFC 8832 §5.1): the high bit means unordered. */
#define RTC_DCEP_RELIABLE 0x00
#define RTC_DCEP_PARTIAL_RELIABLE_REXMIT 0x01
#define RTC_DCEP_PARTIAL_RELIABLE_TIMED 0x02
#define RTC_DCEP_RELIABLE_UNORDERED 0x80
#define RTC_DCEP_PARTIAL_RELIABLE_REXMIT_UNORDERED 0x81
#define RTC_DCEP_PARTIAL_RELIABLE_TIMED_UNORDERED 0x82

/* The fixed part of an OPEN: type, channel type, priority, reliability, 2 lengths. */
#define RTC_DCEP_OPEN_HEADER 12

/* W3C RTCPriorityType values carried in the priority field (RFC 8832 §5.1 refers to
** RFC 8831 §6.4; browsers use these numbers). */
#define RTC_DC_PRIORITY_VERY_LOW 128
#define RTC_DC_PRIORITY_LOW 256
#define RTC_DC_PRIORITY_MEDIUM 512
#define RTC_DC_PRIORITY_HIGH 1024

/* A parsed or to-be-encoded DCEP message. For parse results, label/protocol point into
** the parsed buffer (borrowed: valid while it is) and are NOT NUL-terminated. */
typedef struct rtc_dcep_msg {
    uint8_t type;          /* RTC_DCEP_OPEN or RTC_DCEP_ACK */
    uint8_t channel_type;  /* OPEN: one of RTC_DCEP_RELIABLE... */
    uint16_t priority;     /* OPEN */
    uint32_t reliability;  /* OPEN: max retransmissions (REXMIT) or lifetime in ms
                              (TIMED); ignored (sent as 0) for reliable channels */
    const uint8_t *label;  /* OPEN */
    uint16_t label_len;
    const uint8_t *protocol; /* OPEN */
    uint16_t protocol_len;
} rtc_dcep_msg;

/*
** Parses one DCEP message (the payload of an SCTP message with PPID 50). buf is
** borrowed; *out points into it. Bytes after the label and protocol of an OPEN are
** ignored, and so is anything after an ACK's type byte, as Chrome, libdatachannel and
** pion do (RFC 8832 defines no padding; tolerating it costs nothing).
** Returns RTC_OK; RTC_ERR_PARSE (empty, truncated, label/protocol running past the
** end, unknown channel type); RTC_ERR_UNSUPPORTED (unknown message type; RFC 8832
** defines only OPEN and ACK); RTC_ERR_INVALID (NULL out). Never reads past buf+len.
*/
RTC_API int rtc_dcep_parse(const uint8_t *buf, size_t len, rtc_dcep_msg *out);

/* Bytes needed to encode `m` (1 for an ACK). */
RTC_API size_t rtc_dcep_encoded_size(const rtc_dcep_msg *m);

/*
** Encodes `m` into buf (capacity *len in, bytes written out). Label/protocol are
** borrowed (label_len/protocol_len bytes; NULL allowed when the length is 0).
** Returns RTC_OK; RTC_ERR_TOO_SMALL (then *len holds the size needed);
** RTC_ERR_INVALID (unknown type or channel type, NULL pointer with a length).
*/
RTC_API int rtc_dcep_encode(const rtc_dcep_msg *m, uint8_t *buf, size_t *len);

/* ==== Channel manager =========================================================== */

typedef struct rtc_dc rtc_dc;

typedef struct rtc_dc_config {
    bool dtls_client;          /* our DTLS role: client allocates even ids, server odd
                                  (RFC 8832 §6). Must be known when the manager is made
                                  (the peer connection knows it from a=setup). */
    uint32_t max_message_size; /* our largest message, both directions: 256 KiB. Keep
                                  it equal to the rtc_sctp's max_message_size. */
    uint32_t max_channels;     /* channels alive at once (either side created them):
                                  1024. A peer's OPEN beyond it is refused by resetting
                                  its stream, and reported as RTC_DC_EV_ERROR. */
    size_t max_label_bytes;    /* label + protocol bytes held for all channels: 1 MiB,
                                  so OPENs with 64 KiB labels cannot grow us without
                                  bound. Beyond it an OPEN is refused like above. */
} rtc_dc_config;

/* Fills `cfg` with the defaults listed above (dtls_client false). */
RTC_API void rtc_dc_config_default(rtc_dc_config *cfg);

typedef enum rtc_dc_state {
    RTC_DC_CONNECTING = 0, /* local channel, association not up yet */
    RTC_DC_OPEN,           /* messages flow */
    RTC_DC_CLOSING,        /* a stream reset is under way (either side began it) */
    RTC_DC_CLOSED,         /* final; the id is freed once RTC_DC_EV_CLOSED is polled */
} rtc_dc_state;

/* How to create a channel (W3C RTCDataChannelInit). Start from rtc_dc_init_default(). */
typedef struct rtc_dc_init {
    const char *label;         /* NUL-terminated UTF-8, <= 65535 bytes; NULL = "" */
    const char *protocol;      /* idem */
    bool ordered;              /* default true */
    int32_t max_retransmits;   /* < 0 (default): not set; >= 0: partial reliability */
    int32_t max_packet_life_time; /* ms; < 0 (default): not set. Setting both: INVALID */
    uint16_t priority;         /* default RTC_DC_PRIORITY_LOW */
    bool negotiated;           /* true: no DCEP, `id` agreed out of band */
    uint16_t id;               /* negotiated only: 0..65534 */
} rtc_dc_init;

RTC_API void rtc_dc_init_default(rtc_dc_init *init);

/* A channel's description. Strings are borrowed from the manager (valid until the next
** call on it) and NUL-terminated; their lengths are authoritative (a peer's label may
** hold a 0 byte). */
typedef struct rtc_dc_info {
    uint16_t id;
    rtc_dc_state state;
    const char *label;
    size_t label_len;
    const char *protocol;
    size_t protocol_len;
    bool ordered;
    int32_t max_retransmits;      /* -1 when not set */
    int32_t max_packet_life_time; /* ms, -1 when not set */
    uint16_t priority;
    bool negotiated;
    bool remote;                  /* created by the peer's OPEN */
} rtc_dc_info;

/*
** Creates a manager over `sctp`, which is borrowed: it must outlive the manager, and
** from now on only the manager may call rtc_sctp_poll_event() on it. cfg/env: NULL means
** defaults; both copied. Returns RTC_OK, RTC_ERR_INVALID (NULL out/sctp, bad cfg:
** max_message_size 0, max_channels 0 or > 65535), RTC_ERR_NOMEM.
*/
RTC_API int rtc_dc_new(rtc_dc **out, rtc_sctp *sctp, const rtc_dc_config *cfg,
                       const rtc_env *env);
/* Frees the manager and its channels (sends nothing; NULL is a no-op). */
RTC_API void rtc_dc_free(rtc_dc *dc);

/*
** Creates a channel. Non-negotiated: picks the lowest free id of our parity and queues
** DATA_CHANNEL_OPEN on it (sent once the association is up). Negotiated: uses init->id.
** RTC_DC_EV_OPEN follows when the association is (or becomes) established.
** *id_out (may be NULL) receives the id.
** Returns RTC_OK; RTC_ERR_INVALID (NULL init, both reliability limits set, label or
** protocol > 65535 bytes, id 65535); RTC_ERR_MISUSE (negotiated id in use, or the
** association is closed/closing); RTC_ERR_NOMEM (allocation failed, max_channels or
** max_label_bytes reached, no free id of our parity); RTC_ERR_AGAIN (the association's
** send buffer cannot take the OPEN now).
*/
RTC_API int rtc_dc_create(rtc_dc *dc, rtc_time now, const rtc_dc_init *init, uint16_t *id_out);

/*
** Sends one message on an open channel: binary (PPID 53) or string (PPID 51; the bytes
** should be UTF-8, not checked). len 0 sends the empty-message form of RFC 8831 §6.6
** (one 0x00 byte, PPID 57 or 56). data is copied; NULL allowed when len is 0.
** Returns RTC_OK; RTC_ERR_TOO_SMALL (len > the max message size: ours, or the peer's
** from rtc_dc_set_remote_max_message_size(), whichever is smaller: the channel stays
** open); RTC_ERR_NOT_FOUND (no such channel); RTC_ERR_MISUSE (channel not open);
** RTC_ERR_AGAIN (the association's send buffer is full: wait for buffered-amount-low);
** RTC_ERR_CLOSED (association closed); RTC_ERR_NOMEM.
*/
RTC_API int rtc_dc_send(rtc_dc *dc, rtc_time now, uint16_t id, bool binary,
                        const uint8_t *data, size_t len);

/*
** Starts closing a channel (RFC 8831 §6.7): the outgoing stream is reset after the
** messages already queued on it, the peer resets its own, and RTC_DC_EV_CLOSED follows.
** No RTC_DC_EV_CLOSING is emitted for a local close (as in the W3C API). Closing a
** channel whose association is not established yet waits for it; a peer without
** RE-CONFIG support, or a dead association, closes the channel at once.
** Returns RTC_OK (also when already closing), RTC_ERR_NOT_FOUND.
*/
RTC_API int rtc_dc_close(rtc_dc *dc, rtc_time now, uint16_t id);

/* Channel state, or RTC_ERR_NOT_FOUND (never existed, or closed and polled). */
RTC_API int rtc_dc_get_state(const rtc_dc *dc, uint16_t id);
/* Fills *info. RTC_OK or RTC_ERR_NOT_FOUND. */
RTC_API int rtc_dc_get_info(const rtc_dc *dc, uint16_t id, rtc_dc_info *info);
/* Channels alive (any state before their CLOSED event was polled). */
RTC_API size_t rtc_dc_count(const rtc_dc *dc);

/* W3C bufferedAmount: bytes given to rtc_dc_send() on this channel and not yet sent the
** first time (the association's per-stream figure). 0 for an unknown id. */
RTC_API size_t rtc_dc_buffered_amount(const rtc_dc *dc, uint16_t id);
/* W3C bufferedAmountLowThreshold (default 0): RTC_DC_EV_BUFFERED_AMOUNT_LOW fires when
** bufferedAmount falls from above it to at or below it.
** Returns RTC_OK, RTC_ERR_NOT_FOUND, RTC_ERR_NOMEM. */
RTC_API int rtc_dc_set_buffered_amount_low_threshold(rtc_dc *dc, uint16_t id, size_t threshold);

/* The peer's a=max-message-size (0: it announced none, RFC 8841 §6 says assume 64 KiB;
** we pass the value on to the association as given). */
RTC_API void rtc_dc_set_remote_max_message_size(rtc_dc *dc, uint32_t size);

typedef enum rtc_dc_event_kind {
    RTC_DC_EV_OPEN = 1,          /* `id` is open; `info` describes it (remote = created
                                    by the peer, with its label and protocol) */
    RTC_DC_EV_MESSAGE,           /* `id`, `binary`, data/len (len may be 0) */
    RTC_DC_EV_BUFFERED_AMOUNT_LOW, /* `id`'s bufferedAmount fell to its threshold */
    RTC_DC_EV_CLOSING,           /* the peer began closing `id` */
    RTC_DC_EV_CLOSED,            /* `id` is closed; the id may be reused from now on */
    RTC_DC_EV_ERROR,             /* `error` (rtc_err) and `what` about `id` (65535: not
                                    about one channel), e.g. a malformed or refused OPEN,
                                    a message on an unknown stream, a failed reset */
    RTC_DC_EV_SCTP_CONNECTED,    /* the association is established */
    RTC_DC_EV_SCTP_CLOSED,       /* the association closed (`reason`, `error_cause`);
                                    every channel got RTC_DC_EV_CLOSED before this */
} rtc_dc_event_kind;

typedef struct rtc_dc_event {
    rtc_dc_event_kind kind;
    uint16_t id;
    rtc_dc_info info;             /* OPEN */
    bool binary;                  /* MESSAGE */
    const uint8_t *data;          /* MESSAGE: borrowed, valid until the next call on the
                                     manager or its association; never NULL */
    size_t len;                   /* MESSAGE */
    int error;                    /* ERROR: an rtc_err */
    const char *what;             /* ERROR: static English text */
    rtc_sctp_close_reason reason; /* SCTP_CLOSED */
    uint16_t error_cause;         /* SCTP_CLOSED */
} rtc_dc_event;

/* Next event: 1 and *ev filled, 0 when none. May queue packets on the association
** (ACKs, stream resets): drain rtc_sctp_poll_transmit() afterwards. */
RTC_API int rtc_dc_poll_event(rtc_dc *dc, rtc_dc_event *ev);

typedef struct rtc_dc_stats {
    uint64_t messages_sent, bytes_sent;         /* user messages and their bytes */
    uint64_t messages_received, bytes_received;
    uint64_t opens_received, opens_refused, dcep_errors;
    uint64_t dropped_messages;                  /* unknown stream, bad PPID, too large */
    uint32_t channels_opened, channels_closed;
} rtc_dc_stats;

RTC_API void rtc_dc_get_stats(const rtc_dc *dc, rtc_dc_stats *st);

#ifdef __cplusplus
}
#endif
#endif
