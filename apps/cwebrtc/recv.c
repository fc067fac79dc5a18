/*
** cwebrtc recv --room R [--signal URL] [--out DIR] [--count N]
**
** Joins room R and receives files sent per the page protocol on the `chat` channel
** (files.h); prints `[id] text` for chat lines. Exits 0 after N verified files (default 1),
** 1 on a SHA-256 mismatch, a failed write, a sender that leaves mid-file, or a signaling
** failure. After the last file it waits (at most 2 s) for the sender to close first, so
** that our file-ok is surely delivered.
*/
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "cwebrtc/net.h"
#include "files.h"
#include "room.h"

typedef struct rcv {
    rtc_loop *loop;
    app_room *room;
    const char *room_name, *out;
    long count, done;
    bool failed, finished;
    rtc_timer linger;
} rcv;

static void stop_now(rtc_loop *l, rtc_timer *t, void *ud) {
    (void)t;
    (void)ud;
    rtc_loop_stop(l);
}

static void on_joined(app_room *r, const char *id, void *ud) {
    (void)r;
    rcv *s = ud;
    printf("ready room=%s id=%s\n", s->room_name, id);
    fflush(stdout);
}

static void on_peer_added(app_room *r, app_room_peer *rp, void *ud) {
    (void)r;
    rcv *s = ud;
    rp->user = app_rx_new(rp->id, s->out);
}

static void on_peer_state(app_room *r, app_room_peer *rp, int state, const char *what, void *ud) {
    (void)r;
    (void)ud;
    if (state == RTC_PC_CONNECTION_CONNECTED)
        printf("peer %s connected (%.3f s)\n", rp->id, (double)(rtc_net_now() - rp->added) / 1e6);
    else if (state == RTC_PC_CONNECTION_FAILED)
        fprintf(stderr, "peer %s: connection failed%s%s\n", rp->id, what ? ": " : "",
                what ? what : "");
    fflush(stdout);
}

static void on_peer_removed(app_room *r, app_room_peer *rp, const char *reason, void *ud) {
    rcv *s = ud;
    if (app_rx_busy(rp->user) && !s->finished) {
        fprintf(stderr, "recv: peer %s went away (%s) in the middle of a file\n", rp->id, reason);
        s->failed = true;
        rtc_loop_stop(s->loop);
    }
    app_rx_free(rp->user);
    rp->user = NULL;
    printf("peer %s closed (%s)\n", rp->id, reason);
    fflush(stdout);
    /* done and the sender has closed: nothing left to wait for */
    if (s->finished && app_room_peer_count(r) == 0) rtc_loop_stop(s->loop);
}

static void result(rcv *s, int rc) {
    if (rc == APP_RX_BAD) {
        s->failed = true;
        rtc_loop_stop(s->loop);
    } else if (rc == APP_RX_OK && ++s->done >= s->count && !s->finished) {
        s->finished = true;
        rtc_loop_timer_start(s->loop, &s->linger, rtc_net_now() + RTC_SEC(2), stop_now, s);
    }
}

static void on_message(app_room *r, app_room_peer *rp, uint32_t ch, bool bin, const uint8_t *d,
                       size_t len, void *ud) {
    (void)r;
    rcv *s = ud;
    if (ch != rp->chat || !rp->user) return;
    if (bin) {
        result(s, app_rx_binary(rp->user, rp->peer, ch, d, len));
        return;
    }
    json_t *m = json_loadb((const char *)d, len, 0, NULL);
    const char *t = json_string_value(json_object_get(m, "t"));
    if (t && strcmp(t, "chat") == 0) {
        const char *text = json_string_value(json_object_get(m, "text"));
        printf("[%s] %s\n", rp->id, text ? text : "");
        fflush(stdout);
    } else if (t && strcmp(t, "file") == 0) {
        result(s, app_rx_text(rp->user, rp->peer, ch, m));
    }
    json_decref(m);
}

static void on_fatal(app_room *r, const char *why, void *ud) {
    (void)r;
    rcv *s = ud;
    fprintf(stderr, "recv: %s\n", why);
    if (!s->finished) s->failed = true;
    rtc_loop_stop(s->loop);
}

static void stopping(void *ud) {
    rcv *s = ud;
    rtc_loop_timer_stop(s->loop, &s->linger);
}

int cmd_recv(int argc, char **argv) {
    rcv s;
    memset(&s, 0, sizeof s);
    s.count = 1;
    const char *url = APP_DEFAULT_SIGNAL, *v;
    for (int i = 1; i < argc; i++) {
        if (app_opt(argc, argv, &i, "--room", &v)) {
            if (!v) goto usage;
            s.room_name = v;
        } else if (app_opt(argc, argv, &i, "--signal", &v)) {
            if (!v) goto usage;
            url = v;
        } else if (app_opt(argc, argv, &i, "--out", &v)) {
            if (!v) goto usage;
            s.out = v;
        } else if (app_opt(argc, argv, &i, "--count", &v)) {
            char *end;
            if (!v || (s.count = strtol(v, &end, 10)) < 1 || *end) goto usage;
        } else {
            goto usage;
        }
    }
    if (!s.room_name) goto usage;
    if (s.out) {
        struct stat st;
        if (stat(s.out, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "recv: --out %s is not a directory\n", s.out);
            return EXIT_USAGE;
        }
    }
    app_room_callbacks cb = {.on_joined = on_joined,
                             .on_peer_added = on_peer_added,
                             .on_peer_state = on_peer_state,
                             .on_peer_removed = on_peer_removed,
                             .on_message = on_message,
                             .on_fatal = on_fatal,
                             .ud = &s};
    if (app_room_main(&s.loop, &s.room, url, s.room_name, &cb, NULL, stopping) != 0)
        return EXIT_FAIL;
    if (!s.failed && s.done < s.count) {
        fprintf(stderr, "recv: interrupted after %ld of %ld file(s)\n", s.done, s.count);
        return EXIT_FAIL;
    }
    return s.failed ? EXIT_FAIL : EXIT_OK;
usage:
    fprintf(stderr,
            "usage: cwebrtc recv --room R [--signal ws://HOST:PORT/ws] [--out DIR] [--count N]\n");
    return EXIT_USAGE;
}
