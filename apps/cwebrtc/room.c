/* apps/cwebrtc/room.c: the room peer shared by the C peer commands (room.h). */
#include "room.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cwebrtc/net.h"
#include "ws.h"

struct app_room {
    rtc_loop *loop;
    app_room_callbacks cb;
    app_ws *ws;
    char room[80];
    char url[512];
    char my_id[64];
    rtc_time joined_at;
    bool joined, fatal, shutting_down;
    app_room_peer *peers[ROOM_MAX_PEERS];
    int n_peers;
    rtc_timer reap;
    rtc_pc_config pcfg;
    /* offline (app_room_new_offline): no ws; what would go to the server goes here */
    void (*send)(const char *json, size_t len, void *ud);
    void *send_ud;
    bool offline;
};

static void room_fatal(app_room *r, const char *why) {
    if (r->fatal || r->shutting_down) return;
    r->fatal = true;
    if (r->cb.on_fatal) r->cb.on_fatal(r, why, r->cb.ud);
}

static void send_msg(app_room *r, json_t *m) {
    if (!m) return;
    char *s = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    if (!s) return;
    if (r->offline) {
        if (r->send) r->send(s, strlen(s), r->send_ud);
    } else if (app_ws_send_text(r->ws, s, strlen(s)) != 0 && !r->shutting_down)
        fprintf(stderr, "signal: cannot send to the signaling server (closed or queue full)\n");
    free(s);
}

static app_room_peer *find_peer(app_room *r, const char *id) {
    for (int i = 0; i < r->n_peers; i++)
        if (!r->peers[i]->dead && strcmp(r->peers[i]->id, id) == 0) return r->peers[i];
    return NULL;
}

static void reap(rtc_loop *l, rtc_timer *t, void *ud);

static void remove_peer(app_room_peer *rp, const char *reason) {
    if (rp->dead) return;
    app_room *r = rp->room;
    rp->dead = true;
    if (r->cb.on_peer_removed) r->cb.on_peer_removed(r, rp, reason, r->cb.ud);
    rtc_loop_timer_start(r->loop, &r->reap, 0, reap, r);
}

static void free_peer(app_room_peer *rp) {
    rtc_peer_free(rp->peer);
    for (int i = 0; i < rp->n_early; i++)
        free(rp->early[i]);
    free(rp->early);
    free(rp);
}

static void reap(rtc_loop *l, rtc_timer *t, void *ud) {
    (void)l;
    (void)t;
    app_room *r = ud;
    int k = 0;
    for (int i = 0; i < r->n_peers; i++) {
        if (r->peers[i]->dead)
            free_peer(r->peers[i]);
        else
            r->peers[k++] = r->peers[i];
    }
    r->n_peers = k;
}

/* ---- rtc_peer callbacks (ud = app_room_peer) ---- */

static void p_on_candidate(rtc_peer *p, const char *cand, const char *mid, int idx, void *ud) {
    (void)p;
    app_room_peer *rp = ud;
    if (rp->dead) return;
    json_t *c = cand && cand[0] ? json_pack("{s:s,s:s?,s:i}", "candidate", cand, "sdpMid", mid,
                                            "sdpMLineIndex", idx)
                                : json_null();
    send_msg(rp->room,
             json_pack("{s:s,s:s,s:o}", "type", "candidate", "to", rp->id, "candidate", c));
}

static void p_on_conn(rtc_peer *p, int state, int error, const char *what, void *ud) {
    (void)p;
    (void)error;
    app_room_peer *rp = ud;
    if (rp->dead) return;
    app_room *r = rp->room;
    if (state == RTC_PC_CONNECTION_CONNECTED) rp->connected = true;
    if (r->cb.on_peer_state) r->cb.on_peer_state(r, rp, state, what, r->cb.ud);
    if (state == RTC_PC_CONNECTION_FAILED)
        remove_peer(rp, "failed");
    else if (state == RTC_PC_CONNECTION_CLOSED)
        remove_peer(rp, "closed");
}

static void p_on_dc(rtc_peer *p, uint32_t ch, const rtc_pc_dc_info *info, void *ud) {
    (void)p;
    app_room_peer *rp = ud;
    if (rp->dead) return;
    if (!rp->chat && info && info->label && strcmp(info->label, "chat") == 0) rp->chat = ch;
    if (rp->room->cb.on_data_channel)
        rp->room->cb.on_data_channel(rp->room, rp, ch, info, rp->room->cb.ud);
}

static void p_on_open(rtc_peer *p, uint32_t ch, void *ud) {
    (void)p;
    app_room_peer *rp = ud;
    if (rp->dead) return;
    if (ch == rp->chat) rp->chat_open = true;
    if (rp->room->cb.on_open) rp->room->cb.on_open(rp->room, rp, ch, rp->room->cb.ud);
}

static void p_on_msg(rtc_peer *p, uint32_t ch, bool bin, const uint8_t *d, size_t len, void *ud) {
    (void)p;
    app_room_peer *rp = ud;
    if (rp->dead) return;
    if (rp->room->cb.on_message)
        rp->room->cb.on_message(rp->room, rp, ch, bin, d, len, rp->room->cb.ud);
}

static void p_on_low(rtc_peer *p, uint32_t ch, void *ud) {
    (void)p;
    app_room_peer *rp = ud;
    if (rp->dead) return;
    if (rp->room->cb.on_buffered_amount_low)
        rp->room->cb.on_buffered_amount_low(rp->room, rp, ch, rp->room->cb.ud);
}

static void p_on_close(rtc_peer *p, uint32_t ch, void *ud) {
    (void)p;
    app_room_peer *rp = ud;
    if (rp->dead) return;
    /* the command still sees rp->chat / chat_open as they were */
    if (rp->room->cb.on_close) rp->room->cb.on_close(rp->room, rp, ch, rp->room->cb.ud);
    if (ch == rp->chat) {
        rp->chat = 0;
        rp->chat_open = false;
    }
}

static void p_on_error(rtc_peer *p, uint32_t ch, int error, const char *what, void *ud) {
    (void)p;
    app_room_peer *rp = ud;
    if (rp->dead) return;
    fprintf(stderr, "peer %s: channel %u: error %s%s%s\n", rp->id, ch, rtc_strerror(error),
            what ? ": " : "", what ? what : "");
}

static app_room_peer *add_peer(app_room *r, const char *id, bool offerer) {
    if (strlen(id) >= sizeof((app_room_peer *)0)->id) return NULL;
    if (r->n_peers >= ROOM_MAX_PEERS) {
        fprintf(stderr, "signal: too many peers (%d), ignoring %s\n", ROOM_MAX_PEERS, id);
        return NULL;
    }
    app_room_peer *rp = calloc(1, sizeof *rp);
    if (!rp) return NULL;
    snprintf(rp->id, sizeof rp->id, "%s", id);
    rp->room = r;
    rp->offerer = offerer;
    rp->added = rtc_net_now();
    rtc_peer_callbacks cb = {.on_ice_candidate = p_on_candidate,
                             .on_connection_state_change = p_on_conn,
                             .on_data_channel = p_on_dc,
                             .on_open = p_on_open,
                             .on_message = p_on_msg,
                             .on_buffered_amount_low = p_on_low,
                             .on_close = p_on_close,
                             .on_error = p_on_error,
                             .ud = rp};
    rtc_peer_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.pc = r->pcfg;
    cfg.include_loopback = true;
    /* offline (fuzzing): a hostile remote candidate must not make packets leave the host */
    if (r->offline) rtc_addr_parse(&cfg.bind, "127.0.0.1:0", 0);
    int rc = rtc_peer_new(&rp->peer, r->loop, &cfg, &cb, NULL);
    if (rc != RTC_OK) {
        fprintf(stderr, "peer %s: cannot create a peer connection: %s\n", id, rtc_strerror(rc));
        free(rp);
        return NULL;
    }
    r->peers[r->n_peers++] = rp;
    if (r->cb.on_peer_added) r->cb.on_peer_added(r, rp, r->cb.ud);
    return rp;
}

static char *make_sdp(rtc_peer *p, bool offer) {
    size_t cap = 16384;
    for (int tries = 0; tries < 2; tries++) {
        char *buf = malloc(cap);
        if (!buf) return NULL;
        int n = offer ? rtc_peer_create_offer(p, buf, cap) : rtc_peer_create_answer(p, buf, cap);
        if (n >= 0) return buf;
        free(buf);
        if (n != RTC_ERR_TOO_SMALL) return NULL;
        cap = rtc_pc_pending_sdp_len(rtc_peer_pc(p)) + 1;
    }
    return NULL;
}

static void send_description(app_room_peer *rp, bool offer) {
    char *sdp = make_sdp(rp->peer, offer);
    rtc_pc_sdp_type t = offer ? RTC_PC_SDP_OFFER : RTC_PC_SDP_ANSWER;
    if (!sdp || rtc_peer_set_local_description(rp->peer, t, NULL) != RTC_OK) {
        fprintf(stderr, "peer %s: cannot create the %s: %s\n", rp->id, offer ? "offer" : "answer",
                rtc_pc_last_error(rtc_peer_pc(rp->peer)));
        free(sdp);
        remove_peer(rp, "failed");
        return;
    }
    send_msg(rp->room, json_pack("{s:s,s:s,s:s}", "type", offer ? "offer" : "answer", "to", rp->id,
                                 "sdp", sdp));
    free(sdp);
}

static void offer_to(app_room *r, const char *id) {
    if (find_peer(r, id)) return;
    app_room_peer *rp = add_peer(r, id, true);
    if (!rp) return;
    if (rtc_peer_create_data_channel(rp->peer, "chat", NULL, &rp->chat) != RTC_OK) {
        fprintf(stderr, "peer %s: cannot create the chat channel\n", id);
        remove_peer(rp, "failed");
        return;
    }
    send_description(rp, true);
}

static void add_candidate(app_room_peer *rp, json_t *c) {
    const char *cand = "";
    const char *mid = NULL;
    int idx = 0;
    if (json_is_object(c)) {
        json_t *v = json_object_get(c, "candidate");
        if (json_is_string(v)) cand = json_string_value(v);
        v = json_object_get(c, "sdpMid");
        if (json_is_string(v)) mid = json_string_value(v);
        v = json_object_get(c, "sdpMLineIndex");
        if (json_is_integer(v)) idx = (int)json_integer_value(v);
    }
    int rc = rtc_peer_add_ice_candidate(rp->peer, cand, mid, idx);
    if (rc < 0)
        fprintf(stderr, "peer %s: candidate refused (%s): %s\n", rp->id, rtc_strerror(rc),
                rtc_pc_last_error(rtc_peer_pc(rp->peer)));
}

static void flush_early(app_room_peer *rp) {
    for (int i = 0; i < rp->n_early; i++) {
        json_t *c = json_loads(rp->early[i], 0, NULL);
        if (!rp->dead) add_candidate(rp, c);
        json_decref(c);
        free(rp->early[i]);
    }
    free(rp->early);
    rp->early = NULL;
    rp->n_early = 0;
}

static void on_remote_description(app_room *r, const char *from, bool offer, json_t *m) {
    json_t *sdpj = json_object_get(m, "sdp");
    if (!json_is_string(sdpj)) {
        fprintf(stderr, "signal: %s from %s without sdp\n", offer ? "offer" : "answer", from);
        return;
    }
    app_room_peer *rp = find_peer(r, from);
    if (!rp && offer) rp = add_peer(r, from, false);
    if (!rp) {
        if (!offer) fprintf(stderr, "signal: answer from unknown peer %s ignored\n", from);
        return;
    }
    const char *sdp = json_string_value(sdpj);
    int rc = rtc_peer_set_remote_description(rp->peer, offer ? RTC_PC_SDP_OFFER : RTC_PC_SDP_ANSWER,
                                             sdp, json_string_length(sdpj));
    if (rc != RTC_OK) {
        fprintf(stderr, "peer %s: remote %s refused: %s\n", from, offer ? "offer" : "answer",
                rtc_pc_last_error(rtc_peer_pc(rp->peer)));
        return;
    }
    rp->have_remote = true;
    if (offer) send_description(rp, false);
    if (!rp->dead) flush_early(rp);
}

static void on_candidate_msg(app_room *r, const char *from, json_t *m) {
    app_room_peer *rp = find_peer(r, from);
    if (!rp) return; /* e.g. candidates of a peer we already dropped */
    json_t *c = json_object_get(m, "candidate");
    if (rp->have_remote) {
        add_candidate(rp, c);
        return;
    }
    if (rp->n_early >= ROOM_MAX_EARLY_CANDIDATES) {
        fprintf(stderr, "peer %s: too many candidates before its description; dropped one\n", from);
        return;
    }
    char *s = c ? json_dumps(c, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    char **ne = realloc(rp->early, sizeof *ne * (size_t)(rp->n_early + 1));
    if (!s || !ne) {
        free(s);
        if (ne) rp->early = ne;
        return;
    }
    rp->early = ne;
    rp->early[rp->n_early++] = s;
}

static void ws_on_open(app_ws *ws, void *ud) {
    (void)ws;
    app_room *r = ud;
    send_msg(r, json_pack("{s:s,s:s}", "type", "join", "room", r->room));
}

static void ws_on_text(app_ws *ws, const char *msg, size_t len, void *ud) {
    (void)ws;
    app_room_on_server_message(ud, msg, len);
}

void app_room_on_server_message(app_room *r, const char *msg, size_t len) {
    json_error_t jerr;
    json_t *m = json_loadb(msg, len, JSON_REJECT_DUPLICATES, &jerr);
    const char *type = json_string_value(json_object_get(m, "type"));
    if (!type) {
        fprintf(stderr, "signal: unparsable message from the server ignored\n");
        json_decref(m);
        return;
    }
    const char *from = json_string_value(json_object_get(m, "from"));
    if (strcmp(type, "joined") == 0) {
        const char *id = json_string_value(json_object_get(m, "id"));
        snprintf(r->my_id, sizeof r->my_id, "%s", id ? id : "?");
        r->joined = true;
        r->joined_at = rtc_net_now();
        if (r->cb.on_joined) r->cb.on_joined(r, r->my_id, r->cb.ud);
        json_t *peers = json_object_get(m, "peers");
        size_t i;
        json_t *v;
        json_array_foreach(peers, i, v) {
            if (json_is_string(v)) offer_to(r, json_string_value(v));
        }
    } else if (strcmp(type, "peer-joined") == 0) {
        const char *id = json_string_value(json_object_get(m, "id"));
        if (id && !find_peer(r, id)) add_peer(r, id, false); /* and wait for its offer */
    } else if (strcmp(type, "peer-left") == 0) {
        const char *id = json_string_value(json_object_get(m, "id"));
        app_room_peer *rp = id ? find_peer(r, id) : NULL;
        if (rp) remove_peer(rp, "peer-left");
    } else if (strcmp(type, "error") == 0) {
        const char *code = json_string_value(json_object_get(m, "error"));
        const char *detail = json_string_value(json_object_get(m, "detail"));
        const char *irt = json_string_value(json_object_get(m, "in_reply_to"));
        char why[512];
        snprintf(why, sizeof why, "signaling server error: %s%s%s%s%s", code ? code : "?",
                 detail ? ": " : "", detail ? detail : "", irt ? " (in reply to " : "",
                 irt ? irt : "");
        if (irt) strncat(why, ")", sizeof why - strlen(why) - 1);
        fprintf(stderr, "%s\n", why);
        if (!r->joined || (irt && strcmp(irt, "join") == 0)) room_fatal(r, why);
    } else if (!from) {
        /* pong, left: nothing to do */
    } else if (strcmp(type, "offer") == 0 || strcmp(type, "answer") == 0) {
        on_remote_description(r, from, type[0] == 'o', m);
    } else if (strcmp(type, "candidate") == 0) {
        on_candidate_msg(r, from, m);
    } else if (strcmp(type, "bye") == 0) {
        app_room_peer *rp = find_peer(r, from);
        if (rp) remove_peer(rp, "bye");
    }
    json_decref(m);
}

static void ws_on_close(app_ws *ws, const char *why, void *ud) {
    (void)ws;
    app_room *r = ud;
    char msg[1024];
    snprintf(msg, sizeof msg, "signaling connection to %.512s: %.400s", r->url, why);
    room_fatal(r, msg);
}

int app_room_new(app_room **out, rtc_loop *loop, const char *url, const char *room,
                 const app_room_callbacks *cb) {
    *out = NULL;
    if (!room || !room[0] || strlen(room) > 64) {
        fprintf(stderr, "bad room name\n");
        return -1;
    }
    app_room *r = calloc(1, sizeof *r);
    if (!r) return -1;
    r->loop = loop;
    if (cb) r->cb = *cb;
    snprintf(r->room, sizeof r->room, "%s", room);
    snprintf(r->url, sizeof r->url, "%s", url);
    app_ws_callbacks wcb = {
        .on_open = ws_on_open, .on_text = ws_on_text, .on_close = ws_on_close, .ud = r};
    char err[512];
    if (app_ws_new(&r->ws, loop, url, &wcb, err, sizeof err) != 0) {
        fprintf(stderr, "signaling: %s\n", err);
        free(r);
        return -1;
    }
    *out = r;
    return 0;
}

int app_room_new_offline(app_room **out, rtc_loop *loop, const char *room,
                         const rtc_pc_config *pcfg, const app_room_callbacks *cb,
                         void (*send)(const char *json, size_t len, void *ud), void *send_ud) {
    *out = NULL;
    if (!room || !room[0] || strlen(room) > 64) return -1;
    app_room *r = calloc(1, sizeof *r);
    if (!r) return -1;
    r->loop = loop;
    if (cb) r->cb = *cb;
    if (pcfg) r->pcfg = *pcfg;
    r->offline = true;
    r->send = send;
    r->send_ud = send_ud;
    snprintf(r->room, sizeof r->room, "%s", room);
    snprintf(r->url, sizeof r->url, "offline");
    ws_on_open(NULL, r); /* the join */
    *out = r;
    return 0;
}

void app_room_foreach(app_room *r, void (*f)(app_room_peer *rp, void *arg), void *arg) {
    for (int i = 0; i < r->n_peers; i++)
        if (!r->peers[i]->dead) f(r->peers[i], arg);
}

int app_room_peer_count(const app_room *r) {
    int n = 0;
    for (int i = 0; i < r->n_peers; i++)
        n += !r->peers[i]->dead;
    return n;
}

const char *app_room_my_id(const app_room *r) { return r->my_id; }
rtc_time app_room_joined_at(const app_room *r) { return r->joined_at; }

void app_room_shutdown(app_room *r, rtc_time linger) {
    if (!r) return;
    /* let the last messages on the chat channels (a file-ok, chat lines) go out first */
    rtc_time end = rtc_net_now() + RTC_MS(500);
    for (;;) {
        size_t pending = 0;
        for (int i = 0; i < r->n_peers; i++)
            if (!r->peers[i]->dead && r->peers[i]->chat)
                pending += rtc_peer_buffered_amount(r->peers[i]->peer, r->peers[i]->chat);
        if (!pending || rtc_net_now() >= end) break;
        rtc_loop_run_once(r->loop, RTC_MS(10));
    }
    for (int i = 0; i < r->n_peers; i++) {
        app_room_peer *rp = r->peers[i];
        if (rp->dead) continue;
        if (app_ws_is_open(r->ws)) send_msg(r, json_pack("{s:s,s:s}", "type", "bye", "to", rp->id));
        rtc_peer_close(rp->peer);
    }
    /* let the closes (SCTP ABORT / close_notify) reach the wire */
    end = rtc_net_now() + RTC_MS(50);
    while (rtc_net_now() < end)
        rtc_loop_run_once(r->loop, RTC_MS(10));
    r->shutting_down = true;
    for (int i = 0; i < r->n_peers; i++)
        if (!r->peers[i]->dead) remove_peer(r->peers[i], "shutdown");
    rtc_loop_timer_stop(r->loop, &r->reap);
    reap(r->loop, &r->reap, r);
    if (app_ws_is_open(r->ws)) {
        send_msg(r, json_pack("{s:s}", "type", "leave"));
        app_ws_close(r->ws);
    }
    end = rtc_net_now() + linger;
    while (rtc_net_now() < end && !app_ws_flushed(r->ws))
        rtc_loop_run_once(r->loop, RTC_MS(10));
}

void app_room_free(app_room *r) {
    if (!r) return;
    r->shutting_down = true;
    for (int i = 0; i < r->n_peers; i++)
        free_peer(r->peers[i]);
    rtc_loop_timer_stop(r->loop, &r->reap);
    app_ws_free(r->ws);
    free(r);
}

int app_send_json(rtc_peer *p, uint32_t ch, const char *json) {
    return rtc_peer_send(p, ch, false, (const uint8_t *)json, strlen(json));
}

static rtc_loop *g_stop_loop;
static volatile int *g_stop_flag;

static void on_stop_signal(int sig) {
    (void)sig;
    if (g_stop_flag) *g_stop_flag = 1;
    if (g_stop_loop) rtc_loop_stop(g_stop_loop);
}

int app_room_main(rtc_loop **loop, app_room **room, const char *url, const char *room_name,
                  const app_room_callbacks *cb, void (*started)(void *ud),
                  void (*stopping)(void *ud)) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    *room = NULL;
    if (rtc_loop_new(loop, NULL) != RTC_OK) {
        fprintf(stderr, "cannot create the event loop\n");
        *loop = NULL;
        return -1;
    }
    app_stop_on_signals(*loop, NULL);
    if (app_room_new(room, *loop, url, room_name, cb) != 0) {
        rtc_loop_free(*loop);
        *loop = NULL;
        *room = NULL;
        return -1;
    }
    if (started) started(cb->ud);
    rtc_loop_run(*loop);
    if (stopping) stopping(cb->ud);
    app_room_shutdown(*room, RTC_SEC(1));
    app_room_free(*room);
    rtc_loop_free(*loop);
    *room = NULL;
    *loop = NULL;
    return 0;
}

void app_stop_on_signals(rtc_loop *loop, volatile int *flag) {
    g_stop_loop = loop;
    g_stop_flag = flag;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}
