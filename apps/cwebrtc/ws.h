/*
** apps/cwebrtc/ws.h: a small WebSocket client (RFC 6455, ws:// only) on rtc_loop.
**
** Why not libwebsockets' client: Debian's libwebsockets is built without
** LWS_WITH_EXTERNAL_POLL, so it cannot hand its sockets to our epoll loop; running its own
** poll beside ours would mean polling both on a timer. The client side of RFC 6455 is
** small (an HTTP upgrade, masked frames out, unmasked frames in), so it lives here: one
** non-blocking TCP socket watched by the rtc_loop, one thread, no locks.
**
** Callbacks run from the loop's dispatch, never inside an app_ws_* call. After on_close
** the connection is dead (sends fail); free it with app_ws_free, but not from inside one
** of its own callbacks.
** Bounded: an outgoing queue of APP_WS_MAX_OUT bytes, incoming messages of at most
** APP_WS_MAX_MSG bytes (a larger one closes the connection with 1009).
*/
#ifndef CWEBRTC_APP_WS_H
#define CWEBRTC_APP_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cwebrtc/loop.h"

#define APP_WS_MAX_OUT (8u << 20)
#define APP_WS_MAX_MSG (1u << 20)

typedef struct app_ws app_ws;

typedef struct app_ws_callbacks {
    void (*on_open)(app_ws *ws, void *ud);
    /* one complete text message (NUL-terminated copy; data borrowed for the call) */
    void (*on_text)(app_ws *ws, const char *msg, size_t len, void *ud);
    /* the connection failed or closed; `why` is a readable reason */
    void (*on_close)(app_ws *ws, const char *why, void *ud);
    void *ud;
} app_ws_callbacks;

/* Parse the URL and start connecting (name resolution is synchronous). Returns 0, or -1
** with a message in err (bad URL, unknown host, socket failure). */
int app_ws_new(app_ws **out, rtc_loop *loop, const char *url, const app_ws_callbacks *cb, char *err,
               size_t errlen);
/* Queue one text message. 0, or -1 (not open, closed, or the outgoing bound reached). */
int app_ws_send_text(app_ws *ws, const char *msg, size_t len);
/* Start a clean close (close frame 1000); on_close follows. */
void app_ws_close(app_ws *ws);
/* True when nothing is queued for sending (or the connection is dead). */
bool app_ws_flushed(const app_ws *ws);
bool app_ws_is_open(const app_ws *ws);
void app_ws_free(app_ws *ws);

/*
** The byte-processing part, without a socket (fuzz/apps_ws.c, tests).
**
** app_ws_new_detached: a connection whose handshake request is already "sent": it waits
** for the server's 101 answer. Everything it would write to the socket (the request, the
** masked frames) goes to write(data, len, write_ud) instead, synchronously. key: the
** request's Sec-WebSocket-Key (its Sec-WebSocket-Accept is checked; NULL: random, as for a
** real connection). The 5 s handshake timer is armed on `loop` as for app_ws_new.
** Returns 0, or -1 (out of memory).
**
** app_ws_feed: process bytes received from the server (what on_fd does with each recv()):
** the upgrade answer, then frames (fragments reassembled, pings answered, close answered).
** Unlike the socket path, the callbacks run from inside this call. Returns -1 when the
** connection is dead (on_close was called), 0 while the upgrade answer is incomplete, 1
** otherwise.
*/
typedef void (*app_ws_write_fn)(const uint8_t *data, size_t len, void *ud);
int app_ws_new_detached(app_ws **out, rtc_loop *loop, const char *key, app_ws_write_fn write,
                        void *write_ud, const app_ws_callbacks *cb);
int app_ws_feed(app_ws *ws, const uint8_t *data, size_t len);

#endif
