/*
** cwebrtc/peer.h: rtc_peer, a W3C-style RTCPeerConnection with callbacks, driven by the
** library's event loop (cwebrtc/loop.h).
**
** rtc_peer wraps the sans-IO core (cwebrtc/pc.h): it owns one UDP socket, announces its
** address(es) as host candidates, feeds every datagram to the core, sends what the core
** transmits, arms one loop timer for the core's next deadline, resolves STUN/TURN host
** names off the loop thread, and turns the core's events into the callbacks below. For
** TURN over TCP (turn:?transport=tcp) and TLS (turns:) it also owns one non-blocking TCP
** connection per such server, with TLS (OpenSSL) over it: see tls_* below.
**
** Callback rules (the reason this layer exists, see docs/pc.md):
**   - callbacks run on the loop thread, from the loop's dispatch, never from inside an
**     rtc_peer_* call the application made: a call that produces events (e.g.
**     rtc_peer_set_remote_description) schedules them for the next loop iteration;
**   - no lock is held while a callback runs (there are none: one thread owns the loop);
**   - any rtc_peer_* call is allowed from a callback, including rtc_peer_free() on the
**     peer that is calling back (the free is deferred until the callback returns).
**
** Threading: every rtc_peer_* function must be called on the loop's thread (or before the
** loop runs). From another thread, use rtc_loop_post() to run the call on the loop.
*/
#ifndef CWEBRTC_PEER_H
#define CWEBRTC_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cwebrtc/loop.h"
#include "cwebrtc/pc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rtc_peer rtc_peer;

/* W3C event handlers; any may be NULL. `ud` is rtc_peer_callbacks.ud. */
typedef struct rtc_peer_callbacks {
    /* candidate "" (empty) = end of candidates (W3C's null candidate). */
    void (*on_ice_candidate)(rtc_peer *p, const char *candidate, const char *sdp_mid,
                             int sdp_mline_index, void *ud);
    void (*on_ice_gathering_state_change)(rtc_peer *p, int state, void *ud);
    void (*on_ice_connection_state_change)(rtc_peer *p, int state, void *ud);
    /* error/what explain a FAILED state (e.g. RTC_ERR_AUTH: fingerprint mismatch). */
    void (*on_connection_state_change)(rtc_peer *p, int state, int error, const char *what,
                                       void *ud);
    void (*on_signaling_state_change)(rtc_peer *p, int state, void *ud);
    void (*on_negotiation_needed)(rtc_peer *p, void *ud);
    /* the peer opened a channel (its `open` follows) */
    void (*on_data_channel)(rtc_peer *p, uint32_t channel, const rtc_pc_dc_info *info, void *ud);
    void (*on_open)(rtc_peer *p, uint32_t channel, void *ud);
    /* data borrowed for the call */
    void (*on_message)(rtc_peer *p, uint32_t channel, bool binary, const uint8_t *data,
                       size_t len, void *ud);
    void (*on_buffered_amount_low)(rtc_peer *p, uint32_t channel, void *ud);
    void (*on_closing)(rtc_peer *p, uint32_t channel, void *ud);
    void (*on_close)(rtc_peer *p, uint32_t channel, void *ud);
    void (*on_error)(rtc_peer *p, uint32_t channel, int error, const char *what, void *ud);
    void *ud;
} rtc_peer_callbacks;

typedef struct rtc_peer_config {
    rtc_pc_config pc;       /* the core's configuration */
    rtc_addr bind;          /* socket address; family 0: IPv4 any, ephemeral port. A specific
                               IP (e.g. 127.0.0.1) is the only host candidate; with the
                               wildcard every IPv4 interface address is one */
    bool include_loopback;  /* wildcard: also 127.0.0.1 (tests, same-host peers) */
    /* turns: servers (TLS over TCP). The certificate is verified by default, against the
    ** system's CAs and the URL's host (a name, or an IP literal matched against the
    ** certificate's IP SAN); a failed check fails that relay (logged at WARN). */
    const char *tls_ca_file; /* PEM file of CAs to trust instead of the system's (copied);
                                e.g. a test's self-signed server certificate; an
                                unreadable file fails the turns: relays (logged) */
    bool tls_insecure;       /* accept any certificate (tests only: no authentication) */
} rtc_peer_config;

/*
** rtc_peer_new() — create a peer on `loop` (borrowed; must outlive the peer). cfg NULL:
** defaults. cb copied (NULL: no callbacks). env copied (NULL: defaults).
** Returns RTC_OK, RTC_ERR_INVALID, RTC_ERR_NOMEM, RTC_ERR_IO (socket), or what
** rtc_pc_new returns.
*/
RTC_API int rtc_peer_new(rtc_peer **out, rtc_loop *loop, const rtc_peer_config *cfg,
                         const rtc_peer_callbacks *cb, const rtc_env *env);
/* Close (close_notify is sent), unwatch the socket and free. NULL is a no-op. Safe from a
** callback of this peer. */
RTC_API void rtc_peer_free(rtc_peer *p);

/* The core, for calls not wrapped here (stats, info). Do not drive it yourself. */
RTC_API rtc_pc *rtc_peer_pc(rtc_peer *p);
/* The socket's bound address (port known after rtc_peer_new). */
RTC_API void rtc_peer_local_addr(const rtc_peer *p, rtc_addr *out);

/* The W3C methods; same contracts as the rtc_pc_* functions of the same names. */
RTC_API int rtc_peer_create_offer(rtc_peer *p, char *buf, size_t size);
RTC_API int rtc_peer_create_answer(rtc_peer *p, char *buf, size_t size);
RTC_API int rtc_peer_set_local_description(rtc_peer *p, rtc_pc_sdp_type type, const char *sdp);
RTC_API int rtc_peer_set_remote_description(rtc_peer *p, rtc_pc_sdp_type type, const char *sdp,
                                            size_t len);
RTC_API int rtc_peer_add_ice_candidate(rtc_peer *p, const char *candidate, const char *mid,
                                       int mline_index);
RTC_API int rtc_peer_create_data_channel(rtc_peer *p, const char *label,
                                         const rtc_pc_dc_init *init, uint32_t *channel);
RTC_API int rtc_peer_send(rtc_peer *p, uint32_t channel, bool binary, const uint8_t *data,
                          size_t len);
RTC_API int rtc_peer_close_channel(rtc_peer *p, uint32_t channel);
RTC_API size_t rtc_peer_buffered_amount(const rtc_peer *p, uint32_t channel);
RTC_API int rtc_peer_set_buffered_amount_low_threshold(rtc_peer *p, uint32_t channel,
                                                       size_t threshold);
RTC_API int rtc_peer_close(rtc_peer *p);
RTC_API void rtc_peer_get_stats(const rtc_peer *p, rtc_pc_stats *out);

#ifdef __cplusplus
}
#endif
#endif
