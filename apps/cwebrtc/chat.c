/*
** cwebrtc chat --room R [--signal URL] [--out DIR]
**
** stdin lines become `{"t":"chat","text":LINE}` to every peer whose `chat` channel is open;
** incoming chat lines print as `[id] text`; incoming files are received and verified as by
** `cwebrtc recv` (saved to --out DIR, otherwise reported as not saved).
** Lines typed while no peer's channel is open wait (at most CHAT_MAX_PENDING); they go out
** once every peer we know of has its channel open, or CHAT_GRACE after the first one opened. On
*EOF: pending lines wait at most 30 s for a
** peer (exit 1 if none came), then we linger 1 s for replies, close and exit 0.
*/
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "cwebrtc/net.h"
#include "files.h"
#include "room.h"

#define CHAT_MAX_PENDING 1000
#define CHAT_MAX_LINE    16384
#define CHAT_GRACE       RTC_SEC(3)

typedef struct chat {
    rtc_loop *loop;
    app_room *room;
    const char *room_name, *out;
    char *pending[CHAT_MAX_PENDING];
    int n_pending;
    char line[CHAT_MAX_LINE + 1];
    size_t line_len;
    bool eof, failed, stdin_watched, discard;
    rtc_timer timer; /* EOF: wait for a peer, then linger */
    rtc_timer grace; /* pending lines: wait for the other peers' channels a little */
    int sent_to;
} chat;

static void stop_cb(rtc_loop *l, rtc_timer *t, void *ud) {
    (void)t;
    chat *c = ud;
    if (c->n_pending) {
        fprintf(stderr, "chat: nobody joined to read %d line(s)\n", c->n_pending);
        c->failed = true;
    }
    rtc_loop_stop(l);
}

static void send_line(app_room_peer *rp, void *arg) {
    const char *json = arg;
    if (!rp->chat_open) return;
    int rc = app_send_json(rp->peer, rp->chat, json);
    if (rc != RTC_OK) fprintf(stderr, "chat: to %s: %s\n", rp->id, rtc_strerror(rc));
}

static void count_open(app_room_peer *rp, void *arg) {
    int *n = arg;
    n[0] += rp->chat_open;
    n[1]++;
}

static void flush_now(rtc_loop *l, rtc_timer *t, void *ud);

/* Send the pending lines once every peer we know of has its channel open, or
** CHAT_GRACE after the first one opened, to those that are open by then. */
static void flush(chat *c, bool force) {
    int n[2] = {0, 0};
    app_room_foreach(c->room, count_open, n);
    if (!n[0] || !c->n_pending) return;
    if (n[0] < n[1] && !force) {
        if (!rtc_timer_active(&c->grace))
            rtc_loop_timer_start(c->loop, &c->grace, rtc_net_now() + CHAT_GRACE, flush_now, c);
        return;
    }
    rtc_loop_timer_stop(c->loop, &c->grace);
    for (int i = 0; i < c->n_pending; i++) {
        json_t *m = json_pack("{s:s,s:s}", "t", "chat", "text", c->pending[i]);
        char *j = m ? json_dumps(m, JSON_COMPACT) : NULL;
        json_decref(m);
        if (j) app_room_foreach(c->room, send_line, j);
        free(j);
        free(c->pending[i]);
    }
    c->n_pending = 0;
    if (c->eof) rtc_loop_timer_start(c->loop, &c->timer, rtc_net_now() + RTC_SEC(1), stop_cb, c);
}

static void flush_now(rtc_loop *l, rtc_timer *t, void *ud) {
    (void)l;
    (void)t;
    flush(ud, true);
}

static void add_line(chat *c) {
    c->line[c->line_len] = 0;
    if (c->line_len && c->line[c->line_len - 1] == '\r') c->line[--c->line_len] = 0;
    if (c->n_pending >= CHAT_MAX_PENDING) {
        fprintf(stderr, "chat: too many lines waiting for a peer; dropped one\n");
    } else {
        /* JSON strings must be UTF-8: jansson refuses anything else, so check here */
        json_t *probe = json_stringn(c->line, c->line_len);
        if (!probe) {
            fprintf(stderr, "chat: line is not valid UTF-8; not sent\n");
        } else {
            json_decref(probe);
            char *s = strdup(c->line);
            if (s) c->pending[c->n_pending++] = s;
        }
    }
    c->line_len = 0;
    flush(c, false);
}

static void on_stdin(rtc_loop *l, int fd, unsigned ev, void *ud) {
    (void)ev;
    chat *c = ud;
    char buf[4096];
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (r <= 0) {
        if (c->line_len) add_line(c);
        rtc_loop_unwatch(l, fd);
        c->stdin_watched = false;
        c->eof = true;
        rtc_loop_timer_start(l, &c->timer, rtc_net_now() + (c->n_pending ? RTC_SEC(30) : 0),
                             stop_cb, c);
        return;
    }
    for (ssize_t i = 0; i < r; i++) {
        if (buf[i] == '\n') {
            if (c->discard)
                c->discard = false, c->line_len = 0;
            else
                add_line(c);
        } else if (c->line_len < CHAT_MAX_LINE) {
            c->line[c->line_len++] = buf[i];
        } else if (!c->discard) {
            fprintf(stderr, "chat: line longer than %d bytes; not sent\n", CHAT_MAX_LINE);
            c->discard = true;
        }
    }
}

static void on_joined(app_room *r, const char *id, void *ud) {
    (void)r;
    chat *c = ud;
    fprintf(stderr, "joined room %s as %s\n", c->room_name, id);
}

static void on_peer_added(app_room *r, app_room_peer *rp, void *ud) {
    (void)r;
    chat *c = ud;
    rp->user = app_rx_new(rp->id, c->out);
}

static void on_peer_removed(app_room *r, app_room_peer *rp, const char *reason, void *ud) {
    (void)r;
    (void)ud;
    app_rx_free(rp->user);
    rp->user = NULL;
    fprintf(stderr, "* %s left (%s)\n", rp->id, reason);
}

static void on_open(app_room *r, app_room_peer *rp, uint32_t ch, void *ud) {
    (void)r;
    chat *c = ud;
    if (ch != rp->chat) return;
    fprintf(stderr, "* %s connected\n", rp->id);
    flush(c, false);
}

static void on_message(app_room *r, app_room_peer *rp, uint32_t ch, bool bin, const uint8_t *d,
                       size_t len, void *ud) {
    (void)r;
    (void)ud;
    if (ch != rp->chat || !rp->user) return;
    if (bin) {
        app_rx_binary(rp->user, rp->peer, ch, d, len);
        return;
    }
    json_t *m = json_loadb((const char *)d, len, 0, NULL);
    const char *t = json_string_value(json_object_get(m, "t"));
    if (t && strcmp(t, "chat") == 0) {
        const char *text = json_string_value(json_object_get(m, "text"));
        printf("[%s] %s\n", rp->id, text ? text : "");
        fflush(stdout);
    } else if (t && strcmp(t, "file") == 0) {
        app_rx_text(rp->user, rp->peer, ch, m);
    } else if (t && strcmp(t, "file-ok") == 0) {
        printf("[%s] file-ok %s\n", rp->id,
               json_is_true(json_object_get(m, "ok")) ? "ok" : "NOT ok");
    }
    json_decref(m);
}

static void on_fatal(app_room *r, const char *why, void *ud) {
    (void)r;
    chat *c = ud;
    fprintf(stderr, "chat: %s\n", why);
    c->failed = true;
    rtc_loop_stop(c->loop);
}

static void started(void *ud) {
    chat *c = ud;
    /* stdin may be a file (epoll refuses regular files): then read it all now */
    if (rtc_loop_watch(c->loop, STDIN_FILENO, RTC_LOOP_READ, on_stdin, c) == RTC_OK) {
        c->stdin_watched = true;
    } else {
        while (!c->eof)
            on_stdin(c->loop, STDIN_FILENO, RTC_LOOP_READ, c);
    }
}

static void stopping(void *ud) {
    chat *c = ud;
    if (c->stdin_watched) rtc_loop_unwatch(c->loop, STDIN_FILENO);
    rtc_loop_timer_stop(c->loop, &c->timer);
    rtc_loop_timer_stop(c->loop, &c->grace);
}

int cmd_chat(int argc, char **argv) {
    chat *c = calloc(1, sizeof *c);
    if (!c) return EXIT_FAIL;
    const char *url = APP_DEFAULT_SIGNAL, *v;
    int rc = EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        if (app_opt(argc, argv, &i, "--room", &v)) {
            if (!v) goto usage;
            c->room_name = v;
        } else if (app_opt(argc, argv, &i, "--signal", &v)) {
            if (!v) goto usage;
            url = v;
        } else if (app_opt(argc, argv, &i, "--out", &v)) {
            struct stat st;
            if (!v || stat(v, &st) != 0 || !S_ISDIR(st.st_mode)) goto usage;
            c->out = v;
        } else {
            goto usage;
        }
    }
    if (!c->room_name) goto usage;
    app_room_callbacks cb = {.on_joined = on_joined,
                             .on_peer_added = on_peer_added,
                             .on_peer_removed = on_peer_removed,
                             .on_open = on_open,
                             .on_message = on_message,
                             .on_fatal = on_fatal,
                             .ud = c};
    rc = EXIT_FAIL;
    if (app_room_main(&c->loop, &c->room, url, c->room_name, &cb, started, stopping) == 0)
        rc = c->failed ? EXIT_FAIL : EXIT_OK;
    for (int i = 0; i < c->n_pending; i++)
        free(c->pending[i]);
    free(c);
    return rc;
usage:
    fprintf(stderr, "usage: cwebrtc chat --room R [--signal ws://HOST:PORT/ws] [--out DIR]\n");
    free(c);
    return rc;
}
