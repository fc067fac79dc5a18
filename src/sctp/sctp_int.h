/*
** src/sctp/sctp_int.h: the association's state (the RFC 9260 "TCB") shared by the
** files of src/sctp (private).
**
**   assoc.c   public API, handshake (§5), shutdown/abort (§9), heartbeat (§8.3),
**             timers, packet dispatch and the packet builder (poll_transmit)
**   tx.c      send queue, fragmentation, SACK processing, congestion control (§7),
**             RTO (§6.3), retransmission, PR-SCTP abandonment (RFC 3758)
**   rx.c      TSN tracking, SACK generation (§6.2), reassembly, ordered delivery,
**             FORWARD-TSN reception
**   reconf.c  RE-CONFIG stream reset (RFC 6525)
**   chunk.c   wire constants, checksum, cookie signing
*/
#ifndef RTC_SCTP_INT_H
#define RTC_SCTP_INT_H

#include "cwebrtc/sctp.h"
#include "util/buf.h"
#include "util/util.h"

/* ---- wire constants (RFC 9260 §3.2, RFC 3758, RFC 6525, RFC 9653) ---------------- */
enum {
    CT_DATA = 0, CT_INIT = 1, CT_INIT_ACK = 2, CT_SACK = 3, CT_HEARTBEAT = 4,
    CT_HEARTBEAT_ACK = 5, CT_ABORT = 6, CT_SHUTDOWN = 7, CT_SHUTDOWN_ACK = 8, CT_ERROR = 9,
    CT_COOKIE_ECHO = 10, CT_COOKIE_ACK = 11, CT_SHUTDOWN_COMPLETE = 14, CT_RECONFIG = 130,
    CT_FORWARD_TSN = 192,
};
enum {
    PT_HEARTBEAT_INFO = 1, PT_STATE_COOKIE = 7, PT_UNRECOGNIZED = 8,
    PT_COOKIE_PRESERVATIVE = 9, PT_SUPPORTED_ADDR = 12, PT_OUT_RESET = 13, PT_IN_RESET = 14,
    PT_TSN_RESET = 15, PT_RECONF_RESP = 16, PT_ADD_OUT = 17, PT_ADD_IN = 18,
    PT_ZERO_CHECKSUM = 0x8001, PT_SUPPORTED_EXT = 0x8008, PT_FORWARD_TSN_SUPP = 0xC000,
};
/* Error causes (§3.3.10) */
enum {
    EC_INVALID_STREAM = 1, EC_MISSING_PARAM = 2, EC_STALE_COOKIE = 3, EC_NO_RESOURCES = 4,
    EC_UNRECOGNIZED_CHUNK = 6, EC_PROTOCOL_VIOLATION = 13, EC_USER_ABORT = 12,
};
/* RE-CONFIG results (RFC 6525 §4.4) */
enum {
    RR_NOTHING = 0, RR_PERFORMED = 1, RR_DENIED = 2, RR_WRONG_SSN = 3, RR_IN_PROGRESS_ERR = 4,
    RR_BAD_SEQ = 5, RR_IN_PROGRESS = 6,
};
#define DATA_FLAG_E 0x01
#define DATA_FLAG_B 0x02
#define DATA_FLAG_U 0x04
#define SCTP_COMMON_HDR 12
#define DATA_HDR 16
#define ZERO_CSUM_METHOD_DTLS 1

/* Serial number arithmetic (RFC 1982) for TSNs and SSNs. */
static inline bool tsn_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool tsn_le(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static inline bool ssn_lt(uint16_t a, uint16_t b) { return (int16_t)(uint16_t)(a - b) < 0; }
static inline bool ssn_le(uint16_t a, uint16_t b) { return (int16_t)(uint16_t)(a - b) <= 0; }

/* ---- sender side ---------------------------------------------------------------- */
typedef struct tx_msg {
    struct tx_msg *next;   /* send FIFO link */
    rtc_time expires;      /* RTC_TIME_NEVER when no lifetime */
    uint32_t ppid;
    uint32_t len;
    uint32_t off;          /* bytes already cut into chunks */
    uint32_t refs;         /* chunks in the ring + 1 while in the FIFO */
    int32_t max_rtx;       /* < 0: reliable */
    uint16_t sid, ssn;
    bool unordered, abandoned, ssn_set;
    struct stream *st;
    size_t cap;            /* allocation size (buffers are recycled, see sctp_buf_get) */
    uint32_t first_tsn;    /* TSN of the first chunk (fragments get consecutive TSNs) */
    uint32_t nchunks;      /* chunks cut so far */
    uint8_t data[];
} tx_msg;

enum { TXC_OUT = 0, TXC_ACKED = 1, TXC_ABANDONED = 2 };
typedef struct tx_chunk {
    tx_msg *msg;
    rtc_time sent_at;
    uint32_t off, len;
    uint8_t flags;       /* B/E/U as on the wire */
    uint8_t state;       /* TXC_* (ACKED = gap-acknowledged) */
    uint8_t nsent;       /* transmissions so far (saturates) */
    uint8_t miss;        /* miss indications (§7.2.4) */
    bool in_flight;      /* counted in flight_size */
    bool rtx;            /* marked for retransmission */
    bool fast;           /* marked by fast retransmit (send ignoring cwnd once) */
} tx_chunk;

/* ---- receiver side -------------------------------------------------------------- */
typedef struct rx_chunk {
    uint32_t tsn, ppid, len;
    uint16_t sid, ssn;
    uint8_t flags;
    uint8_t data[];
} rx_chunk;

/* Event queue node. A message's node lives inside its rx_msg, so queueing a message
** never allocates (and never loses an acknowledged message to NOMEM). */
typedef struct ev_node {
    struct ev_node *next;
    rtc_sctp_event ev;
    struct rx_msg *msg;
} ev_node;

typedef struct rx_msg {
    struct rx_msg *next;
    ev_node node;
    uint32_t ppid;
    uint16_t sid, ssn;
    bool unordered;
    size_t len;
    size_t held;           /* bytes charged to rx_held */
    size_t cap;            /* allocation size */
    uint8_t data[];
} rx_msg;

/* One stream id, both directions; created on first use. */
typedef struct stream {
    uint16_t id;
    uint16_t next_ssn;     /* outgoing */
    uint16_t expect_ssn;   /* incoming ordered */
    uint8_t reset;         /* RST_* for our outgoing side */
    bool low_armed;        /* buffered went above threshold since the last event */
    size_t buffered;       /* bytes queued, not yet sent once */
    size_t low_threshold;
    uint32_t queued_msgs;  /* messages not yet fully cut into chunks */
    rx_msg *pending;       /* complete ordered messages waiting for their SSN, by SSN */
    rx_msg *pending_tail;
    tx_msg *q_head, *q_tail;          /* messages not yet fully cut into chunks */
    /* Scheduler (tx.c): weighted fair queueing between streams with queued messages. */
    uint16_t weight;       /* priority (RFC 8831 §6.4); 0 = default 256 (W3C "low") */
    uint32_t hidx;         /* 1 + index in s->sched while it has queued messages, else 0 */
    uint64_t vfinish;      /* virtual finish time of the head message (or the last one) */
    uint64_t vseq;         /* tie-break: order in which finish times were assigned */
} stream;
enum { RST_NONE = 0, RST_WANTED = 1, RST_SENT = 2 };

/* Control chunks waiting to be sent (already encoded). */
typedef struct ctl_item {
    struct ctl_item *next;
    uint32_t vtag;
    bool t_bit_pkt;        /* packet must be sent with this vtag (OOTB replies) */
    bool alone;            /* INIT / INIT-ACK / SHUTDOWN-COMPLETE: own packet */
    bool needs_crc;        /* INIT: never zero checksum (RFC 9653 §5.2) */
    uint16_t len;
    uint8_t data[];
} ctl_item;
#define CTL_MAX 16

#define EV_MAX_NONMSG 200000

/* ---- the association ------------------------------------------------------------ */
struct rtc_sctp {
    rtc_env env;
    rtc_sctp_config cfg;
    rtc_sctp_state state;
    rtc_time now;          /* latest time given; never moves back (set_now) */
    bool have_now;
    uint8_t secret[32];

    /* tags and negotiated parameters */
    uint32_t my_vtag, peer_vtag;
    uint32_t my_itsn, peer_itsn;
    uint16_t out_streams;  /* min(ours, peer's MIS) */
    bool peer_fwd_tsn, peer_reconfig, peer_zero_csum;
    bool send_zero_csum;
    uint32_t remote_max_msg;
    uint8_t *peer_cookie;  /* cookie to echo (COOKIE-ECHOED) */
    size_t peer_cookie_len;
    bool connect_called;

    /* timers (RTC_TIME_NEVER when stopped) */
    rtc_time t1_at, t2_at, t3_at, sack_at, hb_at, reconf_at;
    uint32_t t1_count, t2_count;
    rtc_time t1_rto;
    uint32_t err_count;    /* association error counter (§8.1) */
    bool hb_outstanding;
    uint64_t hb_nonce;
    rtc_time last_send;

    /* RTO (§6.3) */
    rtc_time srtt, rttvar, rto;
    bool rtt_pending;
    uint32_t rtt_tsn;

    /* sender */
    /* Streams with queued messages sit in a min-heap by the virtual finish time of
    ** their head message (self-clocked weighted fair queueing, RFC 8260 §3.6 / the
    ** dcsctp scheduler): whole messages, since fragments of a message need consecutive
    ** TSNs without I-DATA; bytes shared in proportion to the streams' priorities, equal
    ** priorities round-robin, and a small message never waits behind another stream's
    ** backlog, only behind the message being cut. */
    stream **sched;                    /* heap of streams with queued messages */
    uint32_t nsched, cap_sched;
    uint64_t vtime;                    /* virtual time: finish time of the last pick */
    uint64_t vseq;
    tx_msg *cur;                       /* message partly cut into chunks, or NULL */
    uint32_t nqueued;                  /* messages in all stream queues */
    size_t tx_total;                   /* bytes of live messages (send buffer use) */
    uint32_t next_tsn;                 /* next TSN to assign */
    uint32_t cum_ack;                  /* peer's cumulative TSN ack */
    uint32_t adv_ack;                  /* Advanced.Peer.Ack.Point (RFC 3758 §3.5) */
    tx_chunk *txr;                     /* ring indexed by tsn & (txr_cap - 1) */
    uint32_t txr_cap;
    uint32_t flight, cwnd, ssthresh, pba, peer_rwnd;
    bool fast_recovery;
    uint32_t recover_tsn;
    bool fwd_needed;
    rtc_time fwd_sent_at;
    uint32_t rtx_count;                /* chunks marked rtx */

    /* receiver */
    uint32_t rx_cum;                   /* cumulative TSN ack point */
    uint32_t rx_highest;               /* highest TSN received */
    uint32_t rx_base;                  /* lowest TSN the ring may hold */
    rx_chunk **rxr;                    /* ring: stored fragments */
    uint8_t *rx_have;                  /* ring: received flags */
    uint32_t rxr_cap;
    size_t rx_held;                    /* bytes charged against recv_window */
    uint32_t dups[16];
    uint32_t ndups;
    uint32_t pkts_since_sack;
    bool sack_now;
    uint32_t last_arwnd;

    /* streams: sorted array of pointers */
    stream **streams;
    uint32_t nstreams, cap_streams;

    /* RE-CONFIG (RFC 6525) */
    uint32_t reconf_my_seq;            /* next request sequence number we use */
    uint32_t reconf_peer_seq;          /* next request seq we expect from the peer */
    uint32_t reconf_last_result;       /* result for reconf_peer_seq - 1 */
    bool reconf_outstanding;
    uint32_t reconf_req_seq;
    uint16_t *reconf_req_ids;          /* streams in the outstanding request */
    uint32_t reconf_req_n;
    uint32_t reconf_wanted;            /* streams in RST_WANTED */
    uint32_t reconf_tries;
    bool reconf_inprog;                /* retry after "In progress", not a loss */
    bool deferred_reset;
    uint32_t deferred_tsn;
    uint16_t *deferred_ids;
    uint32_t deferred_n;               /* 0 = all streams */

    /* output */
    ctl_item *ctl_head, *ctl_tail;
    uint32_t nctl;
    uint8_t *pkt;                      /* packet buffer, cfg.mtu bytes */
    ev_node *ev_head, *ev_tail, *ev_last;
    uint32_t nev_nonmsg;
    bool closed_emitted;

    /* A few recycled message buffers: a bulk transfer of 64 KiB messages otherwise
    ** makes glibc trim and regrow its heap on almost every message (page faults cost
    ** more than the protocol). Flushed when idle (heartbeat timer). */
    struct {
        void *p;
        size_t cap;
    } bufcache[4];

    rtc_sctp_stats st;
};

/* chunk.c */
RTC_INTERNAL uint32_t sctp_packet_crc(const uint8_t *buf, size_t len);
RTC_INTERNAL void sctp_finish_packet(uint8_t *buf, size_t len, bool zero_csum);
/* Next TLV parameter of a chunk (RFC 9260 §3.2.1): 1 with *type and the value in *val, the
** padding skipped; 0 at the end (fewer than 4 bytes left); RTC_ERR_PARSE when malformed. */
RTC_INTERNAL int sctp_next_param(rtc_reader *r, uint16_t *type, rtc_reader *val);
#define COOKIE_LEN 80
RTC_INTERNAL void sctp_cookie_write(const rtc_sctp *s, uint8_t out[COOKIE_LEN],
                                    uint32_t my_vtag, uint32_t my_itsn, uint32_t peer_vtag,
                                    uint32_t peer_itsn, uint32_t peer_arwnd, uint16_t peer_os,
                                    uint16_t peer_mis, uint8_t peer_flags);
typedef struct cookie_info {
    rtc_time ts;
    uint32_t my_vtag, my_itsn, peer_vtag, peer_itsn, peer_arwnd;
    uint16_t peer_os, peer_mis;
    uint8_t peer_flags;
} cookie_info;
/* RTC_OK, RTC_ERR_AUTH (forged), RTC_ERR_TIMEOUT (stale) */
RTC_INTERNAL int sctp_cookie_read(const rtc_sctp *s, const uint8_t *c, size_t len,
                                  cookie_info *ci);
#define PEER_F_FWD 1
#define PEER_F_RECONF 2
#define PEER_F_ZCS 4

/* assoc.c */
RTC_INTERNAL stream *sctp_stream(rtc_sctp *s, uint16_t id, bool create);
RTC_INTERNAL int sctp_ctl_push(rtc_sctp *s, const uint8_t *chunk, size_t len, uint32_t vtag,
                               bool alone, bool needs_crc);
RTC_INTERNAL void sctp_event_push(rtc_sctp *s, const rtc_sctp_event *ev, rx_msg *msg);
RTC_INTERNAL void sctp_fail(rtc_sctp *s, rtc_sctp_close_reason why, uint16_t cause,
                            bool send_abort);
RTC_INTERNAL void sctp_error_hit(rtc_sctp *s);
/* Buffer of at least n bytes (*cap gets its real size); NULL on NOMEM. */
RTC_INTERNAL void *sctp_buf_get(rtc_sctp *s, size_t n, size_t *cap);
RTC_INTERNAL void sctp_buf_put(rtc_sctp *s, void *p, size_t cap);
RTC_INTERNAL void sctp_buf_flush(rtc_sctp *s); /* error counter++ (§8.1) */
RTC_INTERNAL void sctp_check_shutdown(rtc_sctp *s);
RTC_INTERNAL void sctp_emit_stream(rtc_sctp *s, rtc_sctp_event_kind k, uint16_t id);

/* tx.c */
RTC_INTERNAL void tx_init(rtc_sctp *s, uint32_t peer_arwnd);
RTC_INTERNAL void tx_free_all(rtc_sctp *s);
RTC_INTERNAL int tx_enqueue(rtc_sctp *s, const rtc_sctp_send_opts *o, const uint8_t *d,
                            size_t len);
RTC_INTERNAL int tx_handle_sack(rtc_sctp *s, rtc_reader *r);
RTC_INTERNAL void tx_t3_expired(rtc_sctp *s);
RTC_INTERNAL void tx_write_fwd_tsn(rtc_sctp *s, rtc_writer *w);
/* Appends retransmissions and new DATA that fit; returns chunks written. */
RTC_INTERNAL int tx_write_data(rtc_sctp *s, rtc_writer *w, bool first_in_pkt);
RTC_INTERNAL bool tx_all_acked(const rtc_sctp *s);
RTC_INTERNAL bool tx_has_data_to_send(const rtc_sctp *s);
RTC_INTERNAL void tx_rtt_sample(rtc_sctp *s, rtc_time rtt);
RTC_INTERNAL void tx_cum_ack_to(rtc_sctp *s, uint32_t cum); /* SHUTDOWN's cum ack */
RTC_INTERNAL uint32_t tx_outstanding(const rtc_sctp *s);
RTC_INTERNAL void tx_set_weight(rtc_sctp *s, stream *st, uint16_t weight);

/* rx.c */
RTC_INTERNAL void rx_init(rtc_sctp *s, uint32_t peer_itsn);
RTC_INTERNAL void rx_free_all(rtc_sctp *s);
RTC_INTERNAL int rx_handle_data(rtc_sctp *s, rtc_reader *chunk, uint8_t flags, bool *dup);
RTC_INTERNAL int rx_handle_fwd_tsn(rtc_sctp *s, rtc_reader *r);
RTC_INTERNAL void rx_write_sack(rtc_sctp *s, rtc_writer *w);
RTC_INTERNAL uint32_t rx_arwnd(const rtc_sctp *s);
RTC_INTERNAL void rx_release(rtc_sctp *s, size_t held);
RTC_INTERNAL void rx_msg_free(rtc_sctp *s, rx_msg *m);
RTC_INTERNAL void rx_reset_stream(rtc_sctp *s, uint16_t sid);

/* reconf.c */
RTC_INTERNAL int reconf_handle(rtc_sctp *s, rtc_reader *r);
RTC_INTERNAL void reconf_maybe_send(rtc_sctp *s);
RTC_INTERNAL void reconf_timeout(rtc_sctp *s);
RTC_INTERNAL void reconf_after_cum_advance(rtc_sctp *s);

#endif
