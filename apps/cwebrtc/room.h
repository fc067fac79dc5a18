/*
** apps/cwebrtc/room.h: a "room peer", the C side of docs/signaling.md's convention, shared
** by `cwebrtc echo-bot`, `recv`, `send` and `chat`.
**
** It connects to the signaling server (ws.h), joins a room and keeps one rtc_peer per
** remote id: it offers to every id in `joined.peers` (creating the ordered `chat` channel
** first: the offerer creates it), waits for the offer of a `peer-joined` newcomer and
** answers it, trickles candidates both ways (remote ones that arrive before the remote
** description are queued, at most ROOM_MAX_EARLY_CANDIDATES per peer), and frees a peer on
** `bye`, `peer-left`, or when its connection fails or closes. Messages of one remote peer
** are processed strictly in order.
**
** The command sees each remote peer as an app_room_peer (rp->user is its own) and gets the
** data-channel callbacks of every peer. Everything runs on one rtc_loop thread.
*/
#ifndef CWEBRTC_APP_ROOM_H
#define CWEBRTC_APP_ROOM_H

#include <stdbool.h>
#include <stdint.h>

#include "cwebrtc/peer.h"

#define ROOM_MAX_EARLY_CANDIDATES 64
#define ROOM_MAX_PEERS            64

typedef struct app_room app_room;

typedef struct app_room_peer {
    char id[64];    /* the remote's id in the room */
    rtc_peer *peer; /* NULL once removed */
    uint32_t chat;  /* the `chat` channel's handle, 0 until known */
    bool chat_open;
    bool offerer;   /* we offered to this peer */
    bool connected; /* connection state reached connected */
    rtc_time added; /* when the peer was created */
    void *user;     /* the command's state */
    /* private */
    app_room *room;
    bool have_remote, dead;
    char **early; /* candidates received before the remote description (JSON text) */
    int n_early;
} app_room_peer;

typedef struct app_room_callbacks {
    void (*on_joined)(app_room *r, const char *my_id, void *ud);
    /* a peer connection was created for rp (before any offer/answer): create extra
    ** channels (e.g. negotiated ones) here */
    void (*on_peer_added)(app_room *r, app_room_peer *rp, void *ud);
    /* connection state changes (rtc_pc_connection_state) */
    void (*on_peer_state)(app_room *r, app_room_peer *rp, int state, const char *what, void *ud);
    /* rp is about to be freed (reason: "bye", "peer-left", "failed", "closed", "shutdown") */
    void (*on_peer_removed)(app_room *r, app_room_peer *rp, const char *reason, void *ud);
    /* data channel events, as in rtc_peer_callbacks */
    void (*on_data_channel)(app_room *r, app_room_peer *rp, uint32_t ch, const rtc_pc_dc_info *info,
                            void *ud);
    void (*on_open)(app_room *r, app_room_peer *rp, uint32_t ch, void *ud);
    void (*on_message)(app_room *r, app_room_peer *rp, uint32_t ch, bool binary,
                       const uint8_t *data, size_t len, void *ud);
    void (*on_buffered_amount_low)(app_room *r, app_room_peer *rp, uint32_t ch, void *ud);
    /* called before rp->chat / chat_open are reset when ch is the chat channel */
    void (*on_close)(app_room *r, app_room_peer *rp, uint32_t ch, void *ud);
    /* the signaling connection failed or closed, or the server refused our join: fatal */
    void (*on_fatal)(app_room *r, const char *why, void *ud);
    void *ud;
} app_room_callbacks;

/* Connect to `url` and join `room`. Returns 0, or -1 with a message on stderr. */
int app_room_new(app_room **out, rtc_loop *loop, const char *url, const char *room,
                 const app_room_callbacks *cb);
/* Call f on every live peer. */
void app_room_foreach(app_room *r, void (*f)(app_room_peer *rp, void *arg), void *arg);
int app_room_peer_count(const app_room *r);
const char *app_room_my_id(const app_room *r);
/* The time `joined` arrived (0 before). */
rtc_time app_room_joined_at(const app_room *r);
/*
** Leave cleanly: `bye` to every peer, close and free the peer connections (close_notify
** goes out), `leave`, a WebSocket close, running the loop up to `linger` to flush.
** Call outside any loop callback (after rtc_loop_run returned). Then app_room_free.
*/
void app_room_shutdown(app_room *r, rtc_time linger);
void app_room_free(app_room *r);

/*
** Without a signaling connection (fuzz/apps_room.c, tests): the room sends its `join` and
** every later message to send(json, len, send_ud) (NULL: dropped) and gets the server's
** messages from app_room_on_server_message. pcfg (NULL: defaults) configures every peer
** connection (e.g. one shared certificate); the peers bind to 127.0.0.1 only, so no
** candidate from a message makes packets leave the host. Returns 0, or -1.
*/
int app_room_new_offline(app_room **out, rtc_loop *loop, const char *room,
                         const rtc_pc_config *pcfg, const app_room_callbacks *cb,
                         void (*send)(const char *json, size_t len, void *ud), void *send_ud);
/* Handle one message from the signaling server (the text of one WebSocket message, any
** bytes): what the room does with every message its WebSocket delivers. */
void app_room_on_server_message(app_room *r, const char *msg, size_t len);

/* Helpers for commands: one JSON text message on a channel; 0 or an RTC_ERR code. */
int app_send_json(rtc_peer *p, uint32_t ch, const char *json);
/* Install SIGINT/SIGTERM handlers that stop `loop`; *flag (may be NULL) becomes 1. */
void app_stop_on_signals(rtc_loop *loop, volatile int *flag);

/*
** The life of a room command: a loop that SIGINT/SIGTERM stop, a room joined on it (*loop
** and *room are set before anything runs, for the callbacks), started(cb->ud) if given
** (watch stdin, ...), the loop until stopped, stopping(cb->ud) if given (stop the
** command's own timers and watchers), a clean app_room_shutdown with 1 s to flush, then
** both freed (*loop and *room become NULL). Returns 0, or -1 if the loop or the room could
** not be created (a message is on stderr). Stdout is made line-buffered.
*/
int app_room_main(rtc_loop **loop, app_room **room, const char *url, const char *room_name,
                  const app_room_callbacks *cb, void (*started)(void *ud),
                  void (*stopping)(void *ud));

#endif
