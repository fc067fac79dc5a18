/*
** cwebrtc send FILE --room R [--signal URL] [--peers K]
**
** Joins room R, waits until K peers' `chat` channels are open, then sends FILE to each per
** the page protocol: `{"t":"file",...}` then the bytes as binary messages of 64 KiB (16 KiB
** if the peer's max-message-size is smaller), keeping each channel's bufferedAmount under
** SEND_HIGH_WATER (resumed on buffered-amount-low, and by a 20 ms retry timer). Waits for
** every peer's `file-ok`, prints setup time (joined -> K channels open) and throughput,
** closes the channels and connections (bye) and exits 0 only if every file-ok matched our
** SHA-256. A peer that leaves or whose connection fails before its file-ok: exit 1.
*/
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "cwebrtc/net.h"
#include "files.h"
#include "room.h"

#define SEND_CHUNK       (64u << 10)
#define SEND_SMALL_CHUNK (16u << 10)
#define SEND_HIGH_WATER  (2u << 20)
#define SEND_LOW         (512u << 10)

typedef struct target {
    bool active; /* the file is being sent to this peer */
    bool answered, ok;
    uint64_t off;
    size_t chunk;
    uint32_t chat;  /* the channel the file goes on */
    rtc_time setup; /* peer connection created -> chat channel open */
    rtc_time start, done;
} target;

typedef struct snd {
    rtc_loop *loop;
    app_room *room;
    const char *room_name, *path, *name;
    int fd;
    uint64_t size;
    char sha[65];
    char file_id[40];
    long want_peers;
    int open_chats, active, answered;
    bool started, failed, finished;
    rtc_time t_start, t_open, setup; /* setup: the slowest peer's */
    rtc_timer retry;
} snd;

static uint8_t chunk_buf[SEND_CHUNK];

/* Returns true if this peer still has bytes to send. */
static bool pump(snd *s, app_room_peer *rp) {
    target *t = rp->user;
    if (!t || !t->active || !rp->chat_open) return false;
    while (t->off < s->size) {
        if (rtc_peer_buffered_amount(rp->peer, rp->chat) >= SEND_HIGH_WATER) return true;
        size_t n = s->size - t->off < t->chunk ? (size_t)(s->size - t->off) : t->chunk;
        ssize_t r = pread(s->fd, chunk_buf, n, (off_t)t->off);
        if (r != (ssize_t)n) {
            fprintf(stderr, "send: read error on %s: %s\n", s->path,
                    r < 0 ? strerror(errno) : "short read");
            s->failed = true;
            rtc_loop_stop(s->loop);
            return false;
        }
        int rc = rtc_peer_send(rp->peer, rp->chat, true, chunk_buf, n);
        if (rc == RTC_ERR_AGAIN) return true;
        if (rc == RTC_ERR_TOO_SMALL && t->chunk > SEND_SMALL_CHUNK) {
            t->chunk = SEND_SMALL_CHUNK;
            continue;
        }
        if (rc != RTC_OK) {
            fprintf(stderr, "send: peer %s: send failed: %s\n", rp->id, rtc_strerror(rc));
            s->failed = true;
            rtc_loop_stop(s->loop);
            return false;
        }
        t->off += n;
    }
    return false;
}

static void pump_one(app_room_peer *rp, void *arg) {
    void **a = arg;
    if (pump(a[0], rp)) *(bool *)a[1] = true;
}

static void on_retry(rtc_loop *l, rtc_timer *tm, void *ud) {
    snd *s = ud;
    bool more = false;
    void *a[2] = {s, &more};
    app_room_foreach(s->room, pump_one, a);
    if (more && !s->failed) rtc_loop_timer_start(l, tm, rtc_loop_now(l) + RTC_MS(20), on_retry, s);
}

static void start_one(app_room_peer *rp, void *arg) {
    snd *s = arg;
    target *t = rp->user;
    if (!t || !rp->chat_open || s->active >= s->want_peers) return;
    json_t *m = json_pack("{s:s,s:s,s:s,s:I,s:s}", "t", "file", "id", s->file_id, "name", s->name,
                          "size", (json_int_t)s->size, "sha256", s->sha);
    char *j = m ? json_dumps(m, JSON_COMPACT) : NULL;
    json_decref(m);
    int rc = j ? app_send_json(rp->peer, rp->chat, j) : RTC_ERR_NOMEM;
    free(j);
    if (rc != RTC_OK) {
        fprintf(stderr, "send: peer %s: cannot send the file offer: %s\n", rp->id,
                rtc_strerror(rc));
        s->failed = true;
        rtc_loop_stop(s->loop);
        return;
    }
    t->active = true;
    t->chat = rp->chat;
    t->chunk = SEND_CHUNK;
    t->start = rtc_net_now();
    s->active++;
    rtc_peer_set_buffered_amount_low_threshold(rp->peer, rp->chat, SEND_LOW);
}

static void maybe_start(snd *s) {
    if (s->started || s->open_chats < s->want_peers) return;
    s->started = true;
    s->t_open = rtc_net_now();
    printf("%ld peer(s) ready %.3f s after joining; setup %.3f s (peer connection created -> chat "
           "open); "
           "sending %s (%llu bytes)\n",
           s->want_peers, (double)(s->t_open - app_room_joined_at(s->room)) / 1e6,
           (double)s->setup / 1e6, s->name, (unsigned long long)s->size);
    s->t_start = rtc_net_now();
    app_room_foreach(s->room, start_one, s);
    on_retry(s->loop, &s->retry, s);
}

static void on_joined(app_room *r, const char *id, void *ud) {
    (void)r;
    snd *s = ud;
    printf("ready room=%s id=%s; waiting for %ld peer(s)\n", s->room_name, id, s->want_peers);
}

static void on_peer_added(app_room *r, app_room_peer *rp, void *ud) {
    (void)r;
    (void)ud;
    rp->user = calloc(1, sizeof(target));
}

static void on_open(app_room *r, app_room_peer *rp, uint32_t ch, void *ud) {
    (void)r;
    snd *s = ud;
    if (ch != rp->chat) return;
    target *t = rp->user;
    if (t) t->setup = rtc_net_now() - rp->added;
    if (t && t->setup > s->setup) s->setup = t->setup;
    s->open_chats++;
    maybe_start(s);
}

static void on_low(app_room *r, app_room_peer *rp, uint32_t ch, void *ud) {
    (void)r;
    snd *s = ud;
    if (ch == rp->chat && pump(s, rp) && !rtc_timer_active(&s->retry))
        rtc_loop_timer_start(s->loop, &s->retry, rtc_loop_now(s->loop) + RTC_MS(20), on_retry, s);
}

static void on_message(app_room *r, app_room_peer *rp, uint32_t ch, bool bin, const uint8_t *d,
                       size_t len, void *ud) {
    (void)r;
    snd *s = ud;
    target *t = rp->user;
    if (bin || ch != rp->chat || !t) return;
    json_t *m = json_loadb((const char *)d, len, 0, NULL);
    const char *ty = json_string_value(json_object_get(m, "t"));
    const char *id = json_string_value(json_object_get(m, "id"));
    if (ty && strcmp(ty, "file-ok") == 0 && id && strcmp(id, s->file_id) == 0 && t->active &&
        !t->answered) {
        const char *sha = json_string_value(json_object_get(m, "sha256"));
        t->answered = true;
        t->ok = json_is_true(json_object_get(m, "ok")) && sha && strcmp(sha, s->sha) == 0;
        t->done = rtc_net_now();
        s->answered++;
        int64_t us = t->done - t->start;
        if (t->ok)
            printf("peer %s: file-ok, sha256 matches: %llu bytes in %.3f s (%.1f MB/s)\n", rp->id,
                   (unsigned long long)s->size, (double)us / 1e6, app_mbps(s->size, us));
        else
            fprintf(stderr, "send: peer %s: file-ok says %s (sha256 %s, ours %s)\n", rp->id,
                    json_is_true(json_object_get(m, "ok")) ? "ok" : "NOT ok", sha ? sha : "?",
                    s->sha);
        if (!t->ok) s->failed = true;
        if (s->answered >= s->active) {
            s->finished = true;
            int64_t all = t->done - s->t_start;
            printf("sent %s to %d peer(s): %llu bytes each in %.3f s, %.1f MB/s%s; setup %.3f s\n",
                   s->name, s->active, (unsigned long long)s->size, (double)all / 1e6,
                   app_mbps(s->size * (uint64_t)s->active, all), s->active > 1 ? " total" : "",
                   (double)s->setup / 1e6);
            rtc_loop_stop(s->loop);
        }
    } else if (ty && strcmp(ty, "chat") == 0) {
        const char *text = json_string_value(json_object_get(m, "text"));
        printf("[%s] %s\n", rp->id, text ? text : "");
    }
    json_decref(m);
}

static void on_close(app_room *r, app_room_peer *rp, uint32_t ch, void *ud) {
    (void)r;
    snd *s = ud;
    target *t = rp->user;
    if (ch == rp->chat && rp->chat_open && !s->started) s->open_chats--;
    if (!t || !t->active || ch != t->chat) return;
    if (t->active && !t->answered && !s->finished) {
        fprintf(stderr, "send: peer %s closed the chat channel before its file-ok\n", rp->id);
        s->failed = true;
        rtc_loop_stop(s->loop);
    }
}

static void on_peer_removed(app_room *r, app_room_peer *rp, const char *reason, void *ud) {
    (void)r;
    snd *s = ud;
    target *t = rp->user;
    if (t && t->active && !t->answered && !s->finished) {
        fprintf(stderr,
                "send: peer %s went away (%s) after %llu of %llu bytes, before its file-ok\n",
                rp->id, reason, (unsigned long long)t->off, (unsigned long long)s->size);
        s->failed = true;
        rtc_loop_stop(s->loop);
    }
    if (rp->chat_open && !s->started) s->open_chats--;
    free(t);
    rp->user = NULL;
}

static void on_fatal(app_room *r, const char *why, void *ud) {
    (void)r;
    snd *s = ud;
    fprintf(stderr, "send: %s\n", why);
    if (!s->finished) s->failed = true;
    rtc_loop_stop(s->loop);
}

static void stopping(void *ud) {
    snd *s = ud;
    rtc_loop_timer_stop(s->loop, &s->retry);
}

int cmd_send(int argc, char **argv) {
    snd s;
    memset(&s, 0, sizeof s);
    s.want_peers = 1;
    s.fd = -1;
    const char *url = APP_DEFAULT_SIGNAL, *v;
    for (int i = 1; i < argc; i++) {
        if (app_opt(argc, argv, &i, "--room", &v)) {
            if (!v) goto usage;
            s.room_name = v;
        } else if (app_opt(argc, argv, &i, "--signal", &v)) {
            if (!v) goto usage;
            url = v;
        } else if (app_opt(argc, argv, &i, "--peers", &v)) {
            char *end;
            if (!v || (s.want_peers = strtol(v, &end, 10)) < 1 || s.want_peers > ROOM_MAX_PEERS ||
                *end)
                goto usage;
        } else if (argv[i][0] != '-' && !s.path) {
            s.path = argv[i];
        } else {
            goto usage;
        }
    }
    if (!s.room_name || !s.path) goto usage;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (app_sha256_file(s.path, s.sha, &s.size) != 0) {
        fprintf(stderr, "send: cannot read %s: %s\n", s.path, strerror(errno));
        return EXIT_FAIL;
    }
    s.fd = open(s.path, O_RDONLY | O_CLOEXEC);
    if (s.fd < 0) {
        fprintf(stderr, "send: cannot open %s: %s\n", s.path, strerror(errno));
        return EXIT_FAIL;
    }
    const char *b = strrchr(s.path, '/');
    s.name = b ? b + 1 : s.path;
    snprintf(s.file_id, sizeof s.file_id, "%llx-%llx", (unsigned long long)rtc_net_now(),
             (unsigned long long)getpid());
    app_room_callbacks cb = {.on_joined = on_joined,
                             .on_peer_added = on_peer_added,
                             .on_peer_removed = on_peer_removed,
                             .on_open = on_open,
                             .on_message = on_message,
                             .on_buffered_amount_low = on_low,
                             .on_close = on_close,
                             .on_fatal = on_fatal,
                             .ud = &s};
    int mrc = app_room_main(&s.loop, &s.room, url, s.room_name, &cb, NULL, stopping);
    close(s.fd);
    if (mrc != 0) return EXIT_FAIL;
    if (!s.failed && !s.finished) {
        fprintf(stderr, "send: interrupted before every file-ok arrived\n");
        return EXIT_FAIL;
    }
    return s.failed ? EXIT_FAIL : EXIT_OK;
usage:
    fprintf(stderr, "usage: cwebrtc send FILE --room R [--signal ws://HOST:PORT/ws] [--peers K]\n");
    return EXIT_USAGE;
}
