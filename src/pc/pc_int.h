/*
** src/pc/pc_int.h: the peer connection's private state, shared by pc.c (driving, demux,
** channels, stats) and jsep.c (offer/answer, signaling states).
*/
#ifndef RTC_PC_INT_H
#define RTC_PC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cwebrtc/datachannel.h"
#include "cwebrtc/dtls.h"
#include "cwebrtc/ice.h"
#include "cwebrtc/pc.h"
#include "cwebrtc/sctp.h"
#include "cwebrtc/sdp.h"
#include "cwebrtc/turn_client.h"

#define PC_INTERNAL __attribute__((visibility("hidden"))) extern

#define PC_MID_MAX 64
#define PC_EARLY_DTLS_MAX 16          /* datagrams buffered before the DTLS role is known */
#define PC_EARLY_DTLS_BYTES (32 * 1024)
#define PC_EVQ_MAX 1024               /* internal events (state changes, candidates) */
#define PC_MAX_LOCAL_CANDS 64

/* One data channel as the application sees it (W3C RTCDataChannel). */
typedef struct pc_chan {
    uint32_t handle;
    int32_t id; /* SCTP stream id; -1 until the DTLS role is known */
    char *label, *protocol;
    bool ordered, negotiated, remote;
    int32_t max_rexmit, max_life;
    uint16_t priority; /* RFC 8832 value; 0 = default (low) */
    int ready; /* 0 connecting, 1 open, 2 closing, 3 closed */
    bool in_dc; /* created in the rtc_dc manager */
    size_t threshold;
    uint64_t msgs_sent, bytes_sent, msgs_recv, bytes_recv; /* W3C data-channel stats */
} pc_chan;

/* A queued event; strings owned by the entry until it is handed out. */
typedef struct pc_ev {
    rtc_pc_event_type type;
    int state, error;
    const char *what;
    uint32_t channel;
    char *str; /* candidate or name */
} pc_ev;

typedef struct pc_server {
    bool turn;
    bool started; /* TURN: a client exists (or it was skipped) */
    bool udp;     /* TURN over plain UDP; else over a TCP stream the driver opens */
    bool tls;     /* turns: (TLS over that stream) */
    bool unresolved;    /* TURN: the host name did not resolve */
    uint8_t relay_slot; /* TURN: relay id (index + 1 into rtc_pc.relays), 0 before gathering */
    char *host;
    uint16_t port;
    rtc_addr addr; /* family NONE until known */
    char *username, *credential;
} pc_server;

struct rtc_pc {
    rtc_env env;
    rtc_time now;
    char err[256];

    /* configuration */
    rtc_dtls_cert *cert;
    rtc_dtls_fingerprint local_fp;
    char local_fp_str[RTC_DTLS_FINGERPRINT_STRLEN];
    uint32_t max_message_size, max_channels, recv_window;
    size_t send_buffer;
    int policy;
    pc_server servers[RTC_PC_MAX_ICE_SERVERS];
    size_t n_servers;
    rtc_addr locals[8]; /* addresses given by rtc_pc_add_local_address */
    size_t n_locals;

    /* TURN: one allocation per turn: server; relay id = index + 1 = stream id of the
    ** TCP/TLS ones (the driver owns those connections, see relay.c) */
    struct {
        rtc_turn_client *c;
        rtc_addr server, local;
        bool stream, tls;
    } relays[RTC_PC_MAX_ICE_SERVERS];
    size_t n_relays;
    bool relays_closed;
    uint8_t *turn_buf; /* encoding scratch for Send indications / ChannelData */

    /* ICE */
    rtc_ice *ice;
    char ufrag[RTC_ICE_UFRAG_MAX + 1], pwd[RTC_ICE_PWD_MAX + 1];
    bool gathering;
    int ice_state, gather_state;
    char *lcand[PC_MAX_LOCAL_CANDS];
    size_t n_lcand;
    bool remote_creds_set;
    char remote_ufrag[RTC_ICE_UFRAG_MAX + 1];

    /* signaling */
    int sig;
    char *created;         /* the last create_offer/create_answer text */
    size_t created_len;
    rtc_pc_sdp_type created_type;
    char *local_sdp, *remote_sdp; /* current or pending descriptions (as applied) */
    rtc_pc_sdp_type local_type, remote_type;
    char *prev_local_sdp, *prev_remote_sdp; /* for rollback */
    rtc_pc_sdp_type prev_local_type, prev_remote_type;
    uint64_t sess_id, sess_version;
    bool negotiated;        /* an offer/answer exchange completed once */
    bool have_dc_section;   /* a data-channel section is negotiated */
    char mid[PC_MID_MAX + 1];
    int mline;              /* index of the data section in our descriptions */
    bool legacy_sctp;       /* the peer used DTLS/SCTP + a=sctpmap */
    uint16_t remote_sctp_port;
    uint64_t remote_max_message_size;
    rtc_dtls_fingerprint remote_fps[RTC_DTLS_MAX_REMOTE_FINGERPRINTS];
    size_t n_remote_fps;
    char remote_fp_str[RTC_DTLS_FINGERPRINT_STRLEN];
    int dtls_role; /* -1 unknown */
    rtc_sdp *rparsed;       /* the remote description in effect (pending or current) */
    int r_owner;            /* its section whose transport we use (BUNDLE tag) */
    int r_dc;               /* its data-channel section */
    /* The m= sections of the last completed negotiation, in order: NULL for the data
    ** section (index mline), else the text of a rejected section ("m=audio 0 ...\r\n
    ** c=...\r\na=mid:...\r\n"), which every later offer repeats (RFC 8829 §5.2.2). */
    char **sections;
    size_t n_sections;
    bool nn_pending;        /* negotiation-needed condition holds */
    bool nn_fired;
    bool restart_pending;   /* rtc_pc_restart_ice() until the next exchange completes */

    /* transports */
    rtc_dtls *dtls;
    bool dtls_started, dtls_connected, dtls_failed, dtls_closed;
    int dtls_err;
    const char *dtls_what;
    bool have_selected;
    rtc_addr sel_local, sel_remote;
    int sel_ltype, sel_rtype;
    uint32_t sel_relay;
    rtc_sctp *sctp;
    rtc_dc *dc;
    bool sctp_connected;
    uint16_t srtp_profile;
    struct {
        uint8_t *data;
        size_t len;
    } early[PC_EARLY_DTLS_MAX];
    size_t n_early, early_bytes;

    /* channels */
    pc_chan **chans;
    size_t n_chans, cap_chans;
    uint32_t next_handle;

    /* events */
    pc_ev *evq;
    size_t evq_head, evq_len, evq_cap;
    char *held; /* string of the event last handed out */
    rtc_pc_dc_info tmp_info;
    int conn_state;
    bool closed;

    /* stats */
    uint64_t packets_sent, packets_received, bytes_sent, bytes_received;
    uint64_t dropped, early_buffered, early_dropped;
    uint32_t dc_opened, dc_closed;
};

/* pc.c */
PC_INTERNAL void pc_seterr(rtc_pc *pc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
PC_INTERNAL int pc_queue(rtc_pc *pc, rtc_pc_event_type type, int state, uint32_t channel,
                         const char *str);
PC_INTERNAL char *pc_strdup(rtc_pc *pc, const char *s, size_t len);
PC_INTERNAL void pc_set_signaling(rtc_pc *pc, int s);
PC_INTERNAL int pc_start_transports(rtc_pc *pc);
PC_INTERNAL void pc_check_negotiation_needed(rtc_pc *pc);
PC_INTERNAL int pc_start_gathering(rtc_pc *pc);

/* relay.c */
PC_INTERNAL void pc_relay_start(rtc_pc *pc);
PC_INTERNAL bool pc_relay_input(rtc_pc *pc, rtc_time now, const rtc_addr *src, const rtc_addr *dst,
                                const uint8_t *buf, size_t len);
PC_INTERNAL void pc_relay_pump(rtc_pc *pc);
PC_INTERNAL bool pc_relay_poll_transmit(rtc_pc *pc, rtc_pc_transmit *out);
PC_INTERNAL bool pc_relay_encode(rtc_pc *pc, uint32_t relay_id, const rtc_addr *dst,
                                 const uint8_t *data, size_t len, rtc_pc_transmit *out);
PC_INTERNAL void pc_relay_permission(rtc_pc *pc, uint32_t relay_id, const rtc_addr *peer);
PC_INTERNAL void pc_relay_selected(rtc_pc *pc, uint32_t relay_id, const rtc_addr *peer);
PC_INTERNAL rtc_time pc_relay_next_timeout(const rtc_pc *pc);
PC_INTERNAL void pc_relay_timeout(rtc_pc *pc, rtc_time now);
PC_INTERNAL void pc_relay_close(rtc_pc *pc);
PC_INTERNAL void pc_relay_free(rtc_pc *pc);
PC_INTERNAL const char *pc_relay_protocol(const rtc_pc *pc, uint32_t relay_id);
PC_INTERNAL void pc_demux_up(rtc_pc *pc, rtc_time now, const rtc_addr *src, const rtc_addr *dst,
                             const uint8_t *buf, size_t len);

/* jsep.c */
PC_INTERNAL void pc_jsep_free(rtc_pc *pc);

#endif
