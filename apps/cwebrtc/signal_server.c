/*
** cwebrtc signal-server --listen ADDR:PORT [--web DIR]: the rendezvous point of the demo.
**
** HTTP serves the web page (web/ of the source tree by default), GET /ws upgrades to a
** WebSocket that speaks the JSON protocol of docs/signaling.md: a client joins a room, learns
** the ids of the peers already there, and the server relays offer/answer/candidate/bye
** messages to the addressed peer of the same room with "from" set. The server never looks
** inside an SDP or a candidate: it is a mailbox with rooms, so a C client needs only a
** WebSocket and a JSON encoder to use it.
**
** libwebsockets (one poll loop, one thread) does HTTP and WebSocket framing; jansson parses
** and writes JSON. Everything a client can make us allocate is bounded: message size, rooms,
** peers per room, connections, a per-connection token bucket, and each connection's send
** queue (a client that does not read is disconnected instead of buffering without end).
** Nothing is logged per message unless --verbose.
*/
#include <errno.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "cmd.h"

#ifndef RTC_WEB_DIR
#define RTC_WEB_DIR "web"
#endif

#define ID_LEN          16  /* hex characters of a peer id (64 random bits) */
#define ROOM_NAME_MAX   64  /* bytes; [A-Za-z0-9_.-] */
#define ROOM_BUCKETS    256 /* hash buckets; rooms chain, the count is bounded */
#define QUEUE_MAX_MSGS  512 /* per connection */
#define QUEUE_MAX_BYTES (2u << 20)
#define HTTP_BODY_MAX   (64u << 10)
#define PATH_MAX_LEN    200

typedef struct limits {
    size_t max_message; /* bytes of one incoming WebSocket message */
    int max_rooms;
    int max_peers;       /* per room */
    int max_connections; /* WebSocket connections */
    double rate;         /* messages per second per connection (burst: 2 s worth) */
} limits;

typedef struct out_msg {
    struct out_msg *next;
    size_t len;
    unsigned char buf[]; /* LWS_PRE bytes of headroom, then len bytes of JSON */
} out_msg;

typedef struct room room;

/* Per-session data, allocated zeroed by libwebsockets for every connection (HTTP or WS). */
typedef struct conn {
    struct lws *wsi;
    bool is_ws;
    /* WebSocket side */
    room *room;
    char id[ID_LEN + 1];
    unsigned char *rx; /* reassembly of a fragmented message; grows up to max_message */
    size_t rx_len, rx_cap;
    out_msg *q_head, *q_tail;
    size_t q_msgs, q_bytes;
    double tokens;
    int64_t tokens_at; /* µs, monotonic */
    int close_status;  /* nonzero: close with this status once the queue is drained */
    bool close_now;    /* slow consumer: close without draining */
    /* HTTP side: POST /test-result body */
    char *body;
    size_t body_len;
    bool body_overflow;
} conn;

struct room {
    room *next; /* hash chain */
    char name[ROOM_NAME_MAX + 1];
    int n;
    conn **peers; /* max_peers slots */
};

typedef struct server {
    limits lim;
    const char *web_dir;
    FILE *test_log; /* POST /test-result appends here; NULL: endpoint disabled */
    bool verbose;
    room *buckets[ROOM_BUCKETS];
    int n_rooms;
    int n_conns;
    uint64_t n_relayed, n_errors;
} server;

static volatile sig_atomic_t g_stop;

static void on_signal(int sig) { g_stop = 1; }

static int64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static server *srv_of(struct lws *wsi) { return lws_context_user(lws_get_context(wsi)); }

/* ---- rooms ---- */

static unsigned room_hash(const char *s) {
    unsigned h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % ROOM_BUCKETS;
}

static room *room_find(server *s, const char *name) {
    for (room *r = s->buckets[room_hash(name)]; r; r = r->next)
        if (strcmp(r->name, name) == 0) return r;
    return NULL;
}

static room *room_create(server *s, const char *name) {
    room *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->peers = calloc((size_t)s->lim.max_peers, sizeof(*r->peers));
    if (!r->peers) {
        free(r);
        return NULL;
    }
    snprintf(r->name, sizeof(r->name), "%s", name);
    unsigned h = room_hash(name);
    r->next = s->buckets[h];
    s->buckets[h] = r;
    s->n_rooms++;
    return r;
}

static void room_destroy(server *s, room *r) {
    room **pp = &s->buckets[room_hash(r->name)];
    while (*pp && *pp != r)
        pp = &(*pp)->next;
    if (*pp) *pp = r->next;
    free(r->peers);
    free(r);
    s->n_rooms--;
}

static conn *room_peer(room *r, const char *id) {
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->peers[i]->id, id) == 0) return r->peers[i];
    return NULL;
}

static bool room_name_ok(const char *n) {
    size_t len = strlen(n);
    if (len == 0 || len > ROOM_NAME_MAX) return false;
    for (; *n; n++) {
        char c = *n;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

/* ---- the send queue ---- */

static void queue_free(conn *c) {
    out_msg *m = c->q_head;
    while (m) {
        out_msg *n = m->next;
        free(m);
        m = n;
    }
    c->q_head = c->q_tail = NULL;
    c->q_msgs = c->q_bytes = 0;
}

/* Queues obj (serialized compactly) for c. A connection whose queue is full is not reading:
** it is closed rather than allowed to grow our memory. Returns false if not queued. */
static bool send_json(conn *c, json_t *obj) {
    if (c->close_now) return false;
    size_t len = json_dumpb(obj, NULL, 0, JSON_COMPACT);
    if (len == 0) return false;
    if (c->q_msgs >= QUEUE_MAX_MSGS || c->q_bytes + len > QUEUE_MAX_BYTES) {
        /* Its socket is not writable, so no WRITEABLE callback would come to close it:
        ** have lws kill it from the service loop (CLOSED then cleans up). */
        c->close_now = true;
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        return false;
    }
    out_msg *m = malloc(sizeof(*m) + LWS_PRE + len);
    if (!m) return false;
    m->next = NULL;
    m->len = json_dumpb(obj, (char *)m->buf + LWS_PRE, len, JSON_COMPACT);
    if (m->len != len) {
        free(m);
        return false;
    }
    if (c->q_tail)
        c->q_tail->next = m;
    else
        c->q_head = m;
    c->q_tail = m;
    c->q_msgs++;
    c->q_bytes += len;
    lws_callback_on_writable(c->wsi);
    return true;
}

static void send_error(server *s, conn *c, const char *code, const char *detail,
                       const char *in_reply_to) {
    json_t *o = json_pack("{s:s, s:s, s:s}", "type", "error", "error", code, "detail", detail);
    if (!o) return;
    if (in_reply_to) json_object_set_new(o, "in_reply_to", json_string(in_reply_to));
    send_json(c, o);
    json_decref(o);
    s->n_errors++;
}

/* ---- protocol ---- */

static void leave_room(server *s, conn *c) {
    room *r = c->room;
    if (!r) return;
    for (int i = 0; i < r->n; i++) {
        if (r->peers[i] == c) {
            r->peers[i] = r->peers[--r->n];
            break;
        }
    }
    c->room = NULL;
    json_t *o = json_pack("{s:s, s:s}", "type", "peer-left", "id", c->id);
    for (int i = 0; o && i < r->n; i++)
        send_json(r->peers[i], o);
    json_decref(o);
    if (r->n == 0) room_destroy(s, r);
}

static void new_id(room *r, char out[ID_LEN + 1]) {
    static const char hex[] = "0123456789abcdef";
    for (int tries = 0; tries < 8; tries++) {
        uint8_t b[ID_LEN / 2];
        if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
            /* getrandom on Linux >= 3.17 does not fail for small requests; be safe anyway */
            for (size_t i = 0; i < sizeof(b); i++)
                b[i] = (uint8_t)rand();
        }
        for (size_t i = 0; i < sizeof(b); i++) {
            out[2 * i] = hex[b[i] >> 4];
            out[2 * i + 1] = hex[b[i] & 15];
        }
        out[ID_LEN] = '\0';
        if (!r || !room_peer(r, out)) return;
    }
}

static void handle_join(server *s, conn *c, json_t *msg) {
    const char *name = json_string_value(json_object_get(msg, "room"));
    if (c->room) {
        send_error(s, c, "already-joined", "leave the current room first", "join");
        return;
    }
    if (!name || !room_name_ok(name)) {
        send_error(s, c, "bad-room", "\"room\" must be 1-64 characters of A-Z a-z 0-9 _ - .",
                   "join");
        return;
    }
    room *r = room_find(s, name);
    if (!r) {
        if (s->n_rooms >= s->lim.max_rooms) {
            send_error(s, c, "too-many-rooms", "the server has no room for another room", "join");
            return;
        }
        r = room_create(s, name);
        if (!r) {
            send_error(s, c, "internal", "out of memory", "join");
            return;
        }
    } else if (r->n >= s->lim.max_peers) {
        send_error(s, c, "room-full", "the room has the maximum number of peers", "join");
        return;
    }
    new_id(r, c->id);
    json_t *peers = json_array();
    for (int i = 0; peers && i < r->n; i++)
        json_array_append_new(peers, json_string(r->peers[i]->id));
    json_t *o = json_pack("{s:s, s:s, s:s, s:o}", "type", "joined", "id", c->id, "room", r->name,
                          "peers", peers ? peers : json_array());
    if (o) send_json(c, o);
    json_decref(o);
    json_t *pj = json_pack("{s:s, s:s}", "type", "peer-joined", "id", c->id);
    for (int i = 0; pj && i < r->n; i++)
        send_json(r->peers[i], pj);
    json_decref(pj);
    r->peers[r->n++] = c;
    c->room = r;
}

static void handle_relay(server *s, conn *c, json_t *msg, const char *type) {
    if (!c->room) {
        send_error(s, c, "not-joined", "join a room before sending to a peer", type);
        return;
    }
    const char *to = json_string_value(json_object_get(msg, "to"));
    if (!to) {
        send_error(s, c, "bad-message", "\"to\" (a peer id string) is required", type);
        return;
    }
    conn *dst = room_peer(c->room, to);
    if (!dst) {
        send_error(s, c, "unknown-peer", "no peer with that id in this room", type);
        return;
    }
    if (dst == c) {
        send_error(s, c, "unknown-peer", "a peer cannot send to itself", type);
        return;
    }
    /* Relay the object as it came, minus "to", plus "from": the server never interprets
    ** the SDP or candidate it carries. */
    json_object_del(msg, "to");
    json_object_set_new(msg, "from", json_string(c->id));
    if (send_json(dst, msg))
        s->n_relayed++;
    else
        send_error(s, c, "peer-unreachable", "the peer is not reading its messages", type);
}

static bool rate_ok(server *s, conn *c) {
    int64_t t = now_us();
    double burst = s->lim.rate * 2;
    if (c->tokens_at == 0) {
        c->tokens = burst;
    } else {
        c->tokens += (double)(t - c->tokens_at) * s->lim.rate / 1e6;
        if (c->tokens > burst) c->tokens = burst;
    }
    c->tokens_at = t;
    if (c->tokens < 1) return false;
    c->tokens -= 1;
    return true;
}

static void handle_message(server *s, conn *c, const unsigned char *buf, size_t len) {
    if (!rate_ok(s, c)) {
        send_error(s, c, "rate-limited", "too many messages; slow down", NULL);
        return;
    }
    json_error_t jerr;
    json_t *msg = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!msg) {
        char detail[200];
        snprintf(detail, sizeof(detail), "malformed JSON at byte %d: %s", jerr.position, jerr.text);
        send_error(s, c, "bad-json", detail, NULL);
        return;
    }
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (!json_is_object(msg) || !type) {
        send_error(s, c, "bad-message", "a message is a JSON object with a string \"type\"", NULL);
    } else if (strcmp(type, "join") == 0) {
        handle_join(s, c, msg);
    } else if (strcmp(type, "leave") == 0) {
        if (!c->room) {
            send_error(s, c, "not-joined", "not in a room", type);
        } else {
            leave_room(s, c);
            json_t *o = json_pack("{s:s}", "type", "left");
            if (o) send_json(c, o);
            json_decref(o);
        }
    } else if (strcmp(type, "ping") == 0) {
        json_t *o = json_pack("{s:s}", "type", "pong");
        if (o) send_json(c, o);
        json_decref(o);
    } else if (strcmp(type, "offer") == 0 || strcmp(type, "answer") == 0 ||
               strcmp(type, "candidate") == 0 || strcmp(type, "bye") == 0) {
        handle_relay(s, c, msg, type);
    } else {
        send_error(s, c, "unknown-type",
                   "type must be join, leave, ping, offer, answer, candidate or bye", type);
    }
    json_decref(msg);
}

/* ---- HTTP ---- */

static const char *mime_of(const char *path) {
    static const struct {
        const char *ext, *mime;
    } map[] = {{".html", "text/html; charset=utf-8"},
               {".js", "text/javascript; charset=utf-8"},
               {".css", "text/css; charset=utf-8"},
               {".json", "application/json"},
               {".svg", "image/svg+xml"},
               {".png", "image/png"},
               {".ico", "image/x-icon"},
               {".txt", "text/plain; charset=utf-8"}};
    const char *dot = strrchr(path, '.');
    if (!dot || strchr(dot, '/')) return NULL;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(dot, map[i].ext) == 0) return map[i].mime;
    return NULL;
}

/* Only plain relative names below the web root: no "..", no hidden files, no odd bytes. */
static bool url_path_ok(const char *p) {
    size_t len = strlen(p);
    if (len == 0 || len > PATH_MAX_LEN || p[0] != '/') return false;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == '/'))
            return false;
        if (c == '/' && (p[i + 1] == '.' || p[i + 1] == '/')) return false;
    }
    return true;
}

static int http_done(struct lws *wsi) { return lws_http_transaction_completed(wsi) ? -1 : 0; }

static int http_status(struct lws *wsi, unsigned code) {
    if (lws_return_http_status(wsi, code, NULL)) return -1;
    return http_done(wsi);
}

static int serve_file(server *s, struct lws *wsi, const char *uri) {
    char path[PATH_MAX_LEN + 16];
    if (strcmp(uri, "/") == 0) uri = "/index.html";
    if (!url_path_ok(uri)) return http_status(wsi, HTTP_STATUS_NOT_FOUND);
    const char *mime = mime_of(uri);
    if (!mime) return http_status(wsi, HTTP_STATUS_NOT_FOUND);
    char full[4096];
    snprintf(path, sizeof(path), "%s", uri);
    if ((size_t)snprintf(full, sizeof(full), "%s%s", s->web_dir, path) >= sizeof(full))
        return http_status(wsi, HTTP_STATUS_NOT_FOUND);
    struct stat st;
    if (stat(full, &st) != 0 || !S_ISREG(st.st_mode))
        return http_status(wsi, HTTP_STATUS_NOT_FOUND);
    static const char extra[] =
        "Cache-Control: no-store\x0d\x0aX-Content-Type-Options: nosniff\x0d\x0a";
    int n = lws_serve_http_file(wsi, full, mime, extra, (int)strlen(extra));
    if (n < 0) return -1;
    if (n > 0) return http_done(wsi);
    return 0;
}

static void http_body_free(conn *c) {
    free(c->body);
    c->body = NULL;
    c->body_len = 0;
    c->body_overflow = false;
}

static int on_http(server *s, conn *c, struct lws *wsi, const char *uri) {
    if (!c || !uri) return -1;
    c->wsi = wsi;
    http_body_free(c);
    bool post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
    if (post) {
        if (strcmp(uri, "/test-result") != 0 || !s->test_log)
            return http_status(wsi, HTTP_STATUS_NOT_FOUND);
        c->body = malloc(HTTP_BODY_MAX);
        if (!c->body) return -1;
        return 0; /* the body arrives in LWS_CALLBACK_HTTP_BODY */
    }
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0)
        return http_status(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED); /* only GET and POST */
    if (strcmp(uri, "/ws") == 0) return http_status(wsi, HTTP_STATUS_BAD_REQUEST);
    return serve_file(s, wsi, uri);
}

static int on_http_body_done(server *s, conn *c, struct lws *wsi) {
    if (!c || !c->body) return http_status(wsi, HTTP_STATUS_NOT_FOUND);
    unsigned code = HTTP_STATUS_OK;
    json_t *o = NULL;
    if (c->body_overflow) {
        code = HTTP_STATUS_REQ_ENTITY_TOO_LARGE;
    } else if (!(o = json_loadb(c->body, c->body_len, 0, NULL))) {
        code = HTTP_STATUS_BAD_REQUEST;
    } else {
        /* One compact line per result, so a test script can grep and parse it. */
        json_dumpf(o, s->test_log, JSON_COMPACT);
        fputc('\n', s->test_log);
        fflush(s->test_log);
    }
    json_decref(o);
    http_body_free(c);
    return http_status(wsi, code);
}

/* ---- the libwebsockets callback ---- */

static void ws_cleanup(server *s, conn *c) {
    if (!c->is_ws) return;
    leave_room(s, c);
    queue_free(c);
    free(c->rx);
    c->rx = NULL;
    c->rx_cap = 0;
    c->is_ws = false;
    s->n_conns--;
}

static int on_ws_receive(server *s, conn *c, struct lws *wsi, const unsigned char *in, size_t len) {
    if (c->close_status || c->close_now) return 0; /* on the way out: ignore input */
    if (lws_frame_is_binary(wsi)) {
        /* Drop the rest of a binary message; answer once, at its end. */
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi))
            send_error(s, c, "bad-message", "binary frames are not accepted; send JSON text", NULL);
        return 0;
    }
    if (c->rx_len + len > s->lim.max_message) {
        char detail[96];
        snprintf(detail, sizeof(detail), "a message may have at most %zu bytes",
                 s->lim.max_message);
        send_error(s, c, "too-large", detail, NULL);
        c->rx_len = 0;
        c->close_status = LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE;
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, 5); /* if it never reads the error */
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (c->rx_len + len > c->rx_cap) {
        /* Most messages are small: grow on demand instead of holding max_message per client. */
        size_t cap = c->rx_cap ? c->rx_cap : 4096;
        while (cap < c->rx_len + len)
            cap *= 2;
        if (cap > s->lim.max_message) cap = s->lim.max_message;
        unsigned char *nb = realloc(c->rx, cap);
        if (!nb) return -1;
        c->rx = nb;
        c->rx_cap = cap;
    }
    if (len) memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi)) return 0;
    size_t n = c->rx_len;
    c->rx_len = 0;
    handle_message(s, c, c->rx, n);
    return 0;
}

static int on_ws_writeable(server *s, conn *c, struct lws *wsi) {
    if (c->close_now) return -1;
    out_msg *m = c->q_head;
    if (m) {
        c->q_head = m->next;
        if (!c->q_head) c->q_tail = NULL;
        c->q_msgs--;
        c->q_bytes -= m->len;
        int n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
        free(m);
        if (n < 0) return -1;
        if (c->q_head) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    }
    if (c->close_status && !c->q_head) {
        static const char why[] = "message too large";
        lws_close_reason(wsi, (enum lws_close_status)c->close_status, (unsigned char *)why,
                         sizeof(why) - 1);
        return -1;
    }
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len) {
    server *s = srv_of(wsi);
    conn *c = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        /* WebSocket upgrades only on /ws */
        char uri[16];
        if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 || strcmp(uri, "/ws") != 0)
            return -1;
        return 0;
    }
    case LWS_CALLBACK_ESTABLISHED:
        memset(c, 0, sizeof(*c));
        c->wsi = wsi;
        c->is_ws = true;
        s->n_conns++;
        if (s->n_conns > s->lim.max_connections) {
            send_error(s, c, "server-full", "too many connections; try again later", NULL);
            c->close_status = (enum lws_close_status)1013 /* RFC 6455 registry: Try Again Later */;
            lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, 5);
        }
        if (s->verbose) fprintf(stderr, "signal-server: connection open (%d)\n", s->n_conns);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (!c || !c->is_ws) return -1;
        return on_ws_receive(s, c, wsi, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (!c || !c->is_ws) return 0;
        return on_ws_writeable(s, c, wsi);
    case LWS_CALLBACK_CLOSED:
        if (c) {
            if (s->verbose) fprintf(stderr, "signal-server: connection closed\n");
            ws_cleanup(s, c);
        }
        return 0;
    case LWS_CALLBACK_HTTP: return on_http(s, c, wsi, (const char *)in);
    case LWS_CALLBACK_HTTP_BODY:
        if (c && c->body) {
            if (c->body_len + len > HTTP_BODY_MAX)
                c->body_overflow = true;
            else {
                memcpy(c->body + c->body_len, in, len);
                c->body_len += len;
            }
        }
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION: return on_http_body_done(s, c, wsi);
    case LWS_CALLBACK_HTTP_FILE_COMPLETION: return http_done(wsi);
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (c && !c->is_ws) http_body_free(c);
        return 0;
    default: break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---- command line ---- */

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: cwebrtc signal-server --listen ADDR:PORT [options]\n"
        "  --listen ADDR:PORT     e.g. 127.0.0.1:8080, [::1]:8080; port 0 picks a free port\n"
        "  --web DIR              directory of the web page (default %s)\n"
        "  --max-message BYTES    largest WebSocket message accepted (default 65536)\n"
        "  --max-rooms N          rooms at once (default 1000)\n"
        "  --max-peers N          peers per room (default 16)\n"
        "  --max-connections N    WebSocket connections at once (default 500)\n"
        "  --rate N               messages per second per connection, burst 2*N (default 100)\n"
        "  --test-log FILE        enable POST /test-result, appending each JSON body as a line\n"
        "  --verbose              log connections (never message contents)\n"
        "Prints \"listening http://ADDR:PORT/\" once ready. The protocol: docs/signaling.md.\n",
        RTC_WEB_DIR);
}

static bool parse_listen(const char *v, char *host, size_t host_len, int *port) {
    const char *colon;
    if (v[0] == '[') {
        const char *rb = strchr(v, ']');
        if (!rb || rb[1] != ':') return false;
        if ((size_t)(rb - v - 1) >= host_len) return false;
        memcpy(host, v + 1, (size_t)(rb - v - 1));
        host[rb - v - 1] = '\0';
        colon = rb + 1;
    } else {
        colon = strrchr(v, ':');
        if (!colon || (size_t)(colon - v) >= host_len) return false;
        memcpy(host, v, (size_t)(colon - v));
        host[colon - v] = '\0';
    }
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || p < 0 || p > 65535) return false;
    *port = (int)p;
    return host[0] != '\0';
}

static bool parse_num(const char *v, long lo, long hi, long *out) {
    if (!v) return false;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || end == v || n < lo || n > hi) return false;
    *out = n;
    return true;
}

static void lws_log_stderr(int level, const char *line) {
    fprintf(stderr, "signal-server: lws: %s", line);
}

int cmd_signal_server(int argc, char **argv) {
    server *s = calloc(1, sizeof(*s));
    if (!s) return EXIT_FAIL;
    s->lim = (limits){.max_message = 65536,
                      .max_rooms = 1000,
                      .max_peers = 16,
                      .max_connections = 500,
                      .rate = 100};
    s->web_dir = RTC_WEB_DIR;
    const char *listen = NULL, *test_log = NULL;
    int rc = EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        long n;
        if (app_opt(argc, argv, &i, "--listen", &v)) {
            if (!v) goto bad;
            listen = v;
        } else if (app_opt(argc, argv, &i, "--web", &v)) {
            if (!v) goto bad;
            s->web_dir = v;
        } else if (app_opt(argc, argv, &i, "--test-log", &v)) {
            if (!v) goto bad;
            test_log = v;
        } else if (app_opt(argc, argv, &i, "--max-message", &v)) {
            if (!parse_num(v, 64, 16 << 20, &n)) goto bad;
            s->lim.max_message = (size_t)n;
        } else if (app_opt(argc, argv, &i, "--max-rooms", &v)) {
            if (!parse_num(v, 1, 1000000, &n)) goto bad;
            s->lim.max_rooms = (int)n;
        } else if (app_opt(argc, argv, &i, "--max-peers", &v)) {
            if (!parse_num(v, 1, 1024, &n)) goto bad;
            s->lim.max_peers = (int)n;
        } else if (app_opt(argc, argv, &i, "--max-connections", &v)) {
            if (!parse_num(v, 1, 1000000, &n)) goto bad;
            s->lim.max_connections = (int)n;
        } else if (app_opt(argc, argv, &i, "--rate", &v)) {
            if (!parse_num(v, 1, 1000000, &n)) goto bad;
            s->lim.rate = (double)n;
        } else if (strcmp(argv[i], "--verbose") == 0) {
            s->verbose = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            rc = EXIT_OK;
            goto out;
        } else {
            fprintf(stderr, "signal-server: unknown option '%s'\n", argv[i]);
            goto bad;
        }
        continue;
    bad:
        fprintf(stderr, "signal-server: bad or missing value for %s\n", argv[i]);
        usage(stderr);
        goto out;
    }
    char host[64];
    int port = 0;
    if (!listen || !parse_listen(listen, host, sizeof(host), &port)) {
        fprintf(stderr, "signal-server: --listen ADDR:PORT is required\n");
        usage(stderr);
        goto out;
    }
    rc = EXIT_FAIL;
    if (test_log && !(s->test_log = fopen(test_log, "a"))) {
        fprintf(stderr, "signal-server: %s: %s\n", test_log, strerror(errno));
        goto out;
    }

    lws_set_log_level(s->verbose ? (LLL_ERR | LLL_WARN | LLL_NOTICE) : LLL_ERR, lws_log_stderr);
    static const struct lws_protocols protocols[] = {
        {"cwebrtc-signal", callback, sizeof(conn), 4096, 0, NULL, 0},
        {NULL, NULL, 0, 0, 0, NULL, 0}};
    /* Ping an idle WebSocket after 30 s, hang up after 60 s without an answer: a vanished
    ** peer leaves its room in bounded time even when no FIN or RST arrives. */
    static const lws_retry_bo_t retry = {.secs_since_valid_ping = 30,
                                         .secs_since_valid_hangup = 60};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_VALIDATE_UTF8 |
                   LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE;
    info.user = s;
    info.port = CONTEXT_PORT_NO_LISTEN;
    struct lws_context *ctx = lws_create_context(&info);
    if (!ctx) {
        fprintf(stderr, "signal-server: cannot create the libwebsockets context\n");
        goto out;
    }
    memset(&info, 0, sizeof(info));
    info.port = port;
    info.iface = host;
    info.protocols = protocols;
    info.retry_and_idle_policy = &retry;
    info.vhost_name = "cwebrtc";
    info.server_string = "cwebrtc";
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
    struct lws_vhost *vh = lws_create_vhost(ctx, &info);
    if (!vh) {
        fprintf(stderr, "signal-server: cannot listen on %s\n", listen);
        lws_context_destroy(ctx);
        goto out;
    }
    bool v6 = strchr(host, ':') != NULL;
    printf("listening http://%s%s%s:%d/\n", v6 ? "[" : "", host, v6 ? "]" : "",
           lws_get_vhost_listen_port(vh));
    fflush(stdout);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR and the loop sees g_stop */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    int n = 0;
    while (n >= 0 && !g_stop)
        n = lws_service(ctx, 0);
    lws_context_destroy(ctx); /* closes every connection: their CLOSED callbacks free rooms */
    for (int i = 0; i < ROOM_BUCKETS; i++) /* nothing should be left; be safe */
        while (s->buckets[i])
            room_destroy(s, s->buckets[i]);
    if (s->verbose)
        fprintf(stderr, "signal-server: stopped; %llu messages relayed, %llu errors\n",
                (unsigned long long)s->n_relayed, (unsigned long long)s->n_errors);
    rc = EXIT_OK;
out:
    if (s->test_log) fclose(s->test_log);
    free(s);
    return rc;
}
