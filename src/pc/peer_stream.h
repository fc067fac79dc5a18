/*
** src/pc/peer_stream.h: one TCP (optionally TLS) connection to a TURN server, owned by
** rtc_peer (peer.c) for the core's RTC_PC_EV_RELAY_STREAM. Private to the driver: the
** sans-IO core only sees plaintext bytes in and out.
**
** Non-blocking connect and TLS handshake on the loop; bytes written before the connection
** is up are queued (bounded); whole writes only (a message that does not fit is refused,
** like a lost datagram, so the TURN framing never breaks). When the fd is ready the stream
** does its own work (connect, handshake, flush) and then calls `cb` once, as the LAST thing
** it does: the callback reads with peer_stream_read() and may free the stream.
*/
#ifndef RTC_PC_PEER_STREAM_H
#define RTC_PC_PEER_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cwebrtc/addr.h"
#include "cwebrtc/common.h"
#include "cwebrtc/loop.h"

#define PC_HIDDEN __attribute__((visibility("hidden"))) extern

typedef struct peer_stream peer_stream;
typedef void (*peer_stream_cb)(peer_stream *s, void *ud);

typedef struct peer_stream_config {
    uint32_t id;          /* the core's stream id (kept for the caller) */
    rtc_addr server;
    bool tls;
    const char *name;     /* host from the URL: certificate name (or IP) to verify, SNI */
    const char *ca_file;  /* PEM CAs; NULL: the system's default paths */
    bool no_verify;       /* accept any certificate (tests only) */
    size_t max_queued;    /* bytes queued for writing; 0: 256 KiB */
} peer_stream_config;

/* RTC_OK, RTC_ERR_NOMEM, RTC_ERR_IO (no socket / immediate connect failure: errno),
** RTC_ERR_CRYPTO (TLS context: bad CA file). */
PC_HIDDEN int peer_stream_new(peer_stream **out, rtc_loop *loop, const peer_stream_config *cfg,
                              const rtc_env *env, peer_stream_cb cb, void *ud);
PC_HIDDEN void peer_stream_free(peer_stream *s); /* unwatch, close; NULL ok */
/* Plaintext read: bytes (> 0), 0 when nothing more now (or not connected yet),
** RTC_ERR_CLOSED once the connection failed or closed (see peer_stream_error). */
PC_HIDDEN int peer_stream_read(peer_stream *s, uint8_t *buf, size_t cap);
/* Queue (whole or not at all): RTC_OK, RTC_ERR_AGAIN (queue full: dropped), RTC_ERR_CLOSED.
** Written to the socket once 64 KiB are queued or at peer_stream_flush(), so one drain's
** messages leave in few system calls (TLS: records of up to 16 KiB). */
PC_HIDDEN int peer_stream_write(peer_stream *s, const uint8_t *data, size_t len);
PC_HIDDEN void peer_stream_flush(peer_stream *s);
PC_HIDDEN bool peer_stream_dead(const peer_stream *s);
PC_HIDDEN const char *peer_stream_error(const peer_stream *s); /* why it is dead, or "" */
PC_HIDDEN uint32_t peer_stream_id(const peer_stream *s);

#endif
