/* apps/cwebrtc/ws.c: RFC 6455 client over one non-blocking TCP socket on rtc_loop (ws.h). */
#include "ws.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cwebrtc/net.h"

#define CONNECT_TIMEOUT RTC_SEC(5)

enum { ST_CONNECTING, ST_HANDSHAKE, ST_OPEN, ST_CLOSING, ST_DEAD };

struct app_ws {
    rtc_loop *loop;
    app_ws_callbacks cb;
    int fd;
    int state;
    bool watched;
    char host[256], path[512], hostport[300];
    char key[32]; /* base64 of 16 random bytes */
    uint8_t *out; /* pending output */
    size_t out_len, out_cap;
    uint8_t *in; /* unparsed input */
    size_t in_len, in_cap;
    char *msg; /* fragmented message being assembled */
    size_t msg_len;
    bool msg_active, msg_binary;
    rtc_timer timer; /* connect/handshake timeout, deferred failure, close linger */
    char why[512];
    app_ws_write_fn write; /* detached (fd < 0): where output goes instead of a socket */
    void *write_ud;
};

static void ws_die(app_ws *ws, const char *why);

static int buf_add(uint8_t **b, size_t *len, size_t *cap, const void *d, size_t n, size_t max) {
    if (*len + n > max) return -1;
    if (*len + n > *cap) {
        size_t nc = *cap ? *cap : 4096;
        while (nc < *len + n)
            nc *= 2;
        uint8_t *p = realloc(*b, nc);
        if (!p) return -1;
        *b = p;
        *cap = nc;
    }
    memcpy(*b + *len, d, n);
    *len += n;
    return 0;
}

static void want(app_ws *ws) {
    if (ws->fd < 0 && ws->write && ws->state != ST_DEAD) {
        /* detached: the transport takes everything at once */
        if (ws->out_len) ws->write(ws->out, ws->out_len, ws->write_ud);
        ws->out_len = 0;
        return;
    }
    if (!ws->watched) return;
    unsigned ev = RTC_LOOP_READ;
    if (ws->state == ST_CONNECTING || ws->out_len) ev |= RTC_LOOP_WRITE;
    rtc_loop_watch_modify(ws->loop, ws->fd, ev);
}

static int queue_frame(app_ws *ws, int opcode, const uint8_t *data, size_t len) {
    uint8_t h[14];
    size_t hl = 0;
    h[hl++] = (uint8_t)(0x80 | opcode);
    if (len < 126) {
        h[hl++] = (uint8_t)(0x80 | len);
    } else if (len < 65536) {
        h[hl++] = 0x80 | 126;
        h[hl++] = (uint8_t)(len >> 8);
        h[hl++] = (uint8_t)len;
    } else {
        h[hl++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            h[hl++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    uint8_t mask[4];
    if (RAND_bytes(mask, 4) != 1) return -1;
    memcpy(h + hl, mask, 4);
    hl += 4;
    if (ws->out_len + hl + len > APP_WS_MAX_OUT) return -1;
    if (buf_add(&ws->out, &ws->out_len, &ws->out_cap, h, hl, APP_WS_MAX_OUT)) return -1;
    size_t at = ws->out_len;
    if (len && buf_add(&ws->out, &ws->out_len, &ws->out_cap, data, len, APP_WS_MAX_OUT)) {
        ws->out_len -= hl;
        return -1;
    }
    for (size_t i = 0; i < len; i++)
        ws->out[at + i] ^= mask[i & 3];
    want(ws);
    return 0;
}

static void on_timer(rtc_loop *l, rtc_timer *t, void *ud) {
    (void)l;
    (void)t;
    app_ws *ws = ud;
    if (ws->state == ST_DEAD) return;
    if (ws->why[0]) {
        char why[512];
        snprintf(why, sizeof why, "%s", ws->why);
        ws_die(ws, why);
    } else if (ws->state == ST_CLOSING) {
        ws_die(ws, "closed");
    } else {
        ws_die(ws, ws->state == ST_CONNECTING ? "connection timed out"
                                              : "no WebSocket handshake answer");
    }
}

/* Report a failure from the loop, not from inside the caller's call. */
static void fail_later(app_ws *ws, const char *why) {
    if (!ws->why[0]) snprintf(ws->why, sizeof ws->why, "%.400s", why);
    rtc_loop_timer_start(ws->loop, &ws->timer, 0, on_timer, ws);
}

static void ws_die(app_ws *ws, const char *why) {
    if (ws->state == ST_DEAD) return;
    ws->state = ST_DEAD;
    rtc_loop_timer_stop(ws->loop, &ws->timer);
    if (ws->watched) rtc_loop_unwatch(ws->loop, ws->fd);
    ws->watched = false;
    if (ws->fd >= 0) close(ws->fd);
    ws->fd = -1;
    ws->out_len = 0;
    if (ws->cb.on_close) ws->cb.on_close(ws, why, ws->cb.ud);
}

static void b64(const uint8_t *in, size_t n, char *out) {
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

static int send_handshake_with_key(app_ws *ws) {
    char req[1200];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Protocol: cwebrtc-signal\r\n\r\n",
                     ws->path, ws->hostport, ws->key);
    if (n < 0 || (size_t)n >= sizeof req) return -1;
    return buf_add(&ws->out, &ws->out_len, &ws->out_cap, req, (size_t)n, APP_WS_MAX_OUT);
}

static int send_handshake(app_ws *ws) {
    uint8_t k[16];
    if (RAND_bytes(k, sizeof k) != 1) return -1;
    b64(k, sizeof k, ws->key);
    return send_handshake_with_key(ws);
}

/* Parse the 101 answer; returns bytes consumed, 0 if incomplete, -1 on error (why set). */
static long parse_handshake(app_ws *ws) {
    uint8_t *end = NULL;
    for (size_t i = 0; i + 3 < ws->in_len; i++)
        if (memcmp(ws->in + i, "\r\n\r\n", 4) == 0) {
            end = ws->in + i + 4;
            break;
        }
    if (!end) {
        if (ws->in_len > 16384) snprintf(ws->why, sizeof ws->why, "handshake answer too long");
        return ws->in_len > 16384 ? -1 : 0;
    }
    size_t hl = (size_t)(end - ws->in);
    char *h = malloc(hl + 1);
    if (!h) return -1;
    memcpy(h, ws->in, hl);
    h[hl] = 0;
    int status = 0;
    if (sscanf(h, "HTTP/1.1 %d", &status) != 1 || status != 101) {
        char *eol = strstr(h, "\r\n");
        if (eol) *eol = 0;
        snprintf(ws->why, sizeof ws->why, "server refused the WebSocket upgrade: %.120s", h);
        free(h);
        return -1;
    }
    /* expected accept = base64(SHA-1(key + GUID)) */
    char cat[128];
    snprintf(cat, sizeof cat, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", ws->key);
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned mdl = 0;
    char expect[64] = "";
    if (EVP_Digest(cat, strlen(cat), md, &mdl, EVP_sha1(), NULL) == 1) b64(md, mdl, expect);
    bool ok = false;
    for (char *line = strstr(h, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
        char *l = line + 2;
        if (strncasecmp(l, "Sec-WebSocket-Accept:", 21) == 0) {
            char *v = l + 21;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t el = strlen(expect);
            ok = el && strncmp(v, expect, el) == 0 && (v[el] == '\r' || v[el] == ' ');
        }
    }
    free(h);
    if (!ok) {
        snprintf(ws->why, sizeof ws->why, "bad Sec-WebSocket-Accept in the server's answer");
        return -1;
    }
    return (long)hl;
}

static void deliver(app_ws *ws) {
    if (ws->msg_binary) {
        ws_die(ws, "server sent a binary message (the protocol is text only)");
        return;
    }
    char *m = ws->msg;
    size_t n = ws->msg_len;
    ws->msg = NULL;
    ws->msg_len = 0;
    ws->msg_active = false;
    if (ws->cb.on_text) ws->cb.on_text(ws, m ? m : "", n, ws->cb.ud);
    free(m);
}

/* Parse frames from ws->in. Returns false if the connection died (ws may be dead). */
static bool parse_frames(app_ws *ws) {
    size_t pos = 0;
    bool alive = true;
    while (alive && ws->state != ST_DEAD) {
        uint8_t *p = ws->in + pos;
        size_t avail = ws->in_len - pos;
        if (avail < 2) break;
        bool fin = p[0] & 0x80;
        int op = p[0] & 0x0f;
        bool masked = p[1] & 0x80;
        uint64_t len = p[1] & 0x7f;
        size_t hl = 2;
        if (len == 126) {
            if (avail < 4) break;
            len = ((uint64_t)p[2] << 8) | p[3];
            hl = 4;
        } else if (len == 127) {
            if (avail < 10) break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = (len << 8) | p[2 + i];
            hl = 10;
        }
        /* RFC 6455 5.1/5.2/5.5: a server never masks; no extension is negotiated, so the
        ** RSV bits are 0; control frames are short and never fragmented. */
        if (masked) {
            ws_die(ws, "protocol error: masked frame from the server");
            return false;
        }
        if (p[0] & 0x70) {
            ws_die(ws, "protocol error: reserved bits set");
            return false;
        }
        if ((op & 0x8) && (!fin || len > 125)) {
            ws_die(ws, "protocol error: fragmented or oversized control frame");
            return false;
        }
        if (len > APP_WS_MAX_MSG) {
            ws_die(ws, "server message too large");
            return false;
        }
        if (avail < hl + len) break;
        uint8_t *d = p + hl;
        pos += hl + (size_t)len;
        if (op == 0x1 || op == 0x2 || op == 0x0) {
            if (op != 0 && ws->msg_active) {
                ws_die(ws, "protocol error: new message inside a fragmented one");
                return false;
            }
            if (op == 0 && !ws->msg_active) {
                ws_die(ws, "protocol error: continuation without a message");
                return false;
            }
            if (op != 0) {
                ws->msg_active = true;
                ws->msg_binary = op == 0x2;
            }
            if (ws->msg_len + len > APP_WS_MAX_MSG) {
                ws_die(ws, "server message too large");
                return false;
            }
            char *nm = realloc(ws->msg, ws->msg_len + (size_t)len + 1);
            if (!nm) {
                ws_die(ws, "out of memory");
                return false;
            }
            ws->msg = nm;
            memcpy(ws->msg + ws->msg_len, d, (size_t)len);
            ws->msg_len += (size_t)len;
            ws->msg[ws->msg_len] = 0;
            if (fin) deliver(ws);
        } else if (op == 0x8) {
            int code = len >= 2 ? (d[0] << 8 | d[1]) : 1005;
            char why[160];
            snprintf(why, sizeof why, "server closed the connection (%d%s%.*s)", code,
                     len > 2 ? " " : "", len > 2 ? (int)(len - 2 > 100 ? 100 : len - 2) : 0,
                     len > 2 ? (const char *)d + 2 : "");
            if (ws->state == ST_OPEN) queue_frame(ws, 0x8, d, len >= 2 ? 2 : 0);
            /* flush our close answer best-effort, then report */
            if (ws->out_len && ws->fd >= 0) {
                ssize_t w = send(ws->fd, ws->out, ws->out_len, MSG_NOSIGNAL);
                (void)w;
            }
            ws_die(ws, ws->state == ST_CLOSING ? "closed" : why);
            return false;
        } else if (op == 0x9) {
            /* nothing goes out after our close frame (RFC 6455 1.4), not even a pong */
            if (ws->state == ST_OPEN && queue_frame(ws, 0xA, d, (size_t)len)) {
                ws_die(ws, "cannot queue a pong");
                return false;
            }
        } else if (op == 0xA) {
            /* pong: nothing */
        } else {
            ws_die(ws, "protocol error: unknown opcode");
            return false;
        }
    }
    if (ws->state == ST_DEAD) return false;
    memmove(ws->in, ws->in + pos, ws->in_len - pos);
    ws->in_len -= pos;
    return true;
}

int app_ws_feed(app_ws *ws, const uint8_t *data, size_t len) {
    if (!ws || ws->state == ST_DEAD) return -1;
    if (buf_add(&ws->in, &ws->in_len, &ws->in_cap, data, len, APP_WS_MAX_MSG + 65536)) {
        ws_die(ws, "input buffer overflow");
        return -1;
    }
    if (ws->state == ST_HANDSHAKE) {
        long c = parse_handshake(ws);
        if (c < 0) {
            char why[512];
            snprintf(why, sizeof why, "%s", ws->why[0] ? ws->why : "bad handshake");
            ws->why[0] = 0;
            ws_die(ws, why);
            return -1;
        }
        if (c == 0) return 0;
        memmove(ws->in, ws->in + c, ws->in_len - (size_t)c);
        ws->in_len -= (size_t)c;
        ws->state = ST_OPEN;
        rtc_loop_timer_stop(ws->loop, &ws->timer);
        if (ws->cb.on_open) ws->cb.on_open(ws, ws->cb.ud);
        if (ws->state == ST_DEAD) return -1;
    }
    if (ws->state == ST_OPEN || ws->state == ST_CLOSING)
        if (!parse_frames(ws)) return -1;
    return 1;
}

static void on_fd(rtc_loop *l, int fd, unsigned ev, void *ud) {
    (void)l;
    app_ws *ws = ud;
    if (ws->state == ST_CONNECTING && (ev & (RTC_LOOP_WRITE | RTC_LOOP_ERROR))) {
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
            char why[400];
            snprintf(why, sizeof why, "cannot connect to %s: %s", ws->hostport, strerror(err));
            ws_die(ws, why);
            return;
        }
        ws->state = ST_HANDSHAKE;
        if (send_handshake(ws)) {
            ws_die(ws, "cannot build the handshake");
            return;
        }
    }
    if ((ev & RTC_LOOP_WRITE) && ws->out_len) {
        ssize_t w = send(fd, ws->out, ws->out_len, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            char why[300];
            snprintf(why, sizeof why, "connection to the signaling server lost: %s",
                     strerror(errno));
            ws_die(ws, why);
            return;
        }
        if (w > 0) {
            memmove(ws->out, ws->out + w, ws->out_len - (size_t)w);
            ws->out_len -= (size_t)w;
        }
    }
    if (ev & (RTC_LOOP_READ | RTC_LOOP_ERROR)) {
        for (int rounds = 0; rounds < 16 && ws->state != ST_DEAD; rounds++) {
            uint8_t buf[65536];
            ssize_t r = recv(fd, buf, sizeof buf, 0);
            if (r < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
                char why[300];
                snprintf(why, sizeof why, "connection to the signaling server lost: %s",
                         strerror(errno));
                ws_die(ws, why);
                return;
            }
            if (r == 0) {
                ws_die(ws, ws->state == ST_CLOSING ? "closed"
                           : ws->state == ST_OPEN
                               ? "the signaling server closed the connection"
                               : "the server closed the connection during the handshake");
                return;
            }
            int fr = app_ws_feed(ws, buf, (size_t)r);
            if (fr < 0) return;
            if (fr == 0) continue;
            if ((size_t)r < sizeof buf) break;
        }
    }
    if (ws->state != ST_DEAD) want(ws);
}

int app_ws_new(app_ws **out, rtc_loop *loop, const char *url, const app_ws_callbacks *cb, char *err,
               size_t errlen) {
    *out = NULL;
    if (strncmp(url, "ws://", 5) != 0) {
        snprintf(err, errlen,
                 "signal URL must start with ws:// (got '%s'; wss:// is not supported)", url);
        return -1;
    }
    const char *h = url + 5;
    const char *slash = strchr(h, '/');
    size_t hl = slash ? (size_t)(slash - h) : strlen(h);
    char hp[300];
    if (hl == 0 || hl >= sizeof hp) {
        snprintf(err, errlen, "bad signal URL '%s'", url);
        return -1;
    }
    memcpy(hp, h, hl);
    hp[hl] = 0;
    char hostport[300];
    snprintf(hostport, sizeof hostport, "%s", hp);
    char host[256], port[16] = "80";
    if (hp[0] == '[') {
        char *rb = strchr(hp, ']');
        if (!rb || (size_t)(rb - hp - 1) >= sizeof host) {
            snprintf(err, errlen, "bad signal URL '%s'", url);
            return -1;
        }
        memcpy(host, hp + 1, (size_t)(rb - hp - 1));
        host[rb - hp - 1] = 0;
        if (rb[1] == ':') snprintf(port, sizeof port, "%s", rb + 2);
    } else {
        char *c = strrchr(hp, ':');
        if (c) {
            snprintf(port, sizeof port, "%s", c + 1);
            *c = 0;
        }
        snprintf(host, sizeof host, "%.255s", hp);
    }
    char *pe;
    long pn = strtol(port, &pe, 10);
    if (!host[0] || *pe || pn <= 0 || pn > 65535) {
        snprintf(err, errlen, "bad host or port in signal URL '%s'", url);
        return -1;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int gr = getaddrinfo(host, port, &hints, &ai);
    if (gr || !ai) {
        snprintf(err, errlen, "cannot resolve '%s': %s", host, gai_strerror(gr));
        return -1;
    }
    app_ws *ws = calloc(1, sizeof *ws);
    if (!ws) {
        freeaddrinfo(ai);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    ws->loop = loop;
    if (cb) ws->cb = *cb;
    snprintf(ws->host, sizeof ws->host, "%s", host);
    snprintf(ws->hostport, sizeof ws->hostport, "%s", hostport);
    snprintf(ws->path, sizeof ws->path, "%s", slash ? slash : "/");
    ws->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (ws->fd < 0) {
        freeaddrinfo(ai);
        snprintf(err, errlen, "socket: %s", strerror(errno));
        free(ws);
        return -1;
    }
    int one = 1;
    setsockopt(ws->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int cr = connect(ws->fd, ai->ai_addr, ai->ai_addrlen);
    int cerr = errno;
    freeaddrinfo(ai);
    ws->state = ST_CONNECTING;
    if (rtc_loop_watch(loop, ws->fd, RTC_LOOP_READ | RTC_LOOP_WRITE, on_fd, ws) != RTC_OK) {
        close(ws->fd);
        free(ws);
        snprintf(err, errlen, "cannot watch the socket");
        return -1;
    }
    ws->watched = true;
    if (cr < 0 && cerr != EINPROGRESS) {
        char why[400];
        snprintf(why, sizeof why, "cannot connect to %s: %s", hostport, strerror(cerr));
        fail_later(ws, why);
    } else {
        rtc_loop_timer_start(loop, &ws->timer, rtc_net_now() + CONNECT_TIMEOUT, on_timer, ws);
    }
    *out = ws;
    return 0;
}

int app_ws_new_detached(app_ws **out, rtc_loop *loop, const char *key, app_ws_write_fn write,
                        void *write_ud, const app_ws_callbacks *cb) {
    *out = NULL;
    app_ws *ws = calloc(1, sizeof *ws);
    if (!ws) return -1;
    ws->loop = loop;
    if (cb) ws->cb = *cb;
    ws->fd = -1;
    ws->write = write;
    ws->write_ud = write_ud;
    snprintf(ws->host, sizeof ws->host, "detached");
    snprintf(ws->hostport, sizeof ws->hostport, "detached");
    snprintf(ws->path, sizeof ws->path, "/ws");
    ws->state = ST_HANDSHAKE;
    if (key) snprintf(ws->key, sizeof ws->key, "%s", key);
    if (key ? send_handshake_with_key(ws) : send_handshake(ws)) {
        free(ws->out);
        free(ws);
        return -1;
    }
    want(ws); /* the request goes to `write` */
    rtc_loop_timer_start(loop, &ws->timer, rtc_net_now() + CONNECT_TIMEOUT, on_timer, ws);
    *out = ws;
    return 0;
}

int app_ws_send_text(app_ws *ws, const char *msg, size_t len) {
    if (!ws || ws->state != ST_OPEN) return -1;
    return queue_frame(ws, 0x1, (const uint8_t *)msg, len);
}

void app_ws_close(app_ws *ws) {
    if (!ws || ws->state == ST_DEAD || ws->state == ST_CLOSING) return;
    if (ws->state != ST_OPEN) {
        fail_later(ws, "closed");
        return;
    }
    uint8_t code[2] = {0x03, 0xe8};
    queue_frame(ws, 0x8, code, 2);
    ws->state = ST_CLOSING;
    /* wait for the server's close frame, but not forever */
    rtc_loop_timer_start(ws->loop, &ws->timer, rtc_net_now() + RTC_SEC(2), on_timer, ws);
}

bool app_ws_flushed(const app_ws *ws) { return !ws || ws->state == ST_DEAD || ws->out_len == 0; }
bool app_ws_is_open(const app_ws *ws) { return ws && ws->state == ST_OPEN; }

void app_ws_free(app_ws *ws) {
    if (!ws) return;
    rtc_loop_timer_stop(ws->loop, &ws->timer);
    if (ws->watched) rtc_loop_unwatch(ws->loop, ws->fd);
    if (ws->fd >= 0) close(ws->fd);
    free(ws->out);
    free(ws->in);
    free(ws->msg);
    free(ws);
}
