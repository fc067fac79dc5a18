/*
** cwebrtc echo-bot --room R [--signal URL] [--negotiated-id N]...
**
** Joins room R and echoes every message on every data channel of every peer back on the
** same channel, same kind (text/binary), same bytes: the `chat` channel, channels the
** remote creates (any label or reliability), and negotiated channels pre-created with
** --negotiated-id (label "negotiated") on every peer connection.
**
** Memory bound: an echo that the connection cannot take now (SCTP send buffer full,
** RTC_ERR_AGAIN) waits in a per-channel queue, drained on buffered-amount-low and by a
** 20 ms retry timer. A channel whose queue would exceed ECHO_MAX_QUEUE bytes is closed with
** an error line (its sender outran us by more than that), so a fast sender can never make
** the bot allocate without bound.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "cwebrtc/net.h"
#include "room.h"

#define ECHO_MAX_QUEUE     (16u << 20)
#define ECHO_LOW_THRESHOLD (256u << 10)
#define MAX_NEGOTIATED     16

typedef struct qmsg {
    struct qmsg *next;
    bool binary;
    size_t len;
    uint8_t data[];
} qmsg;

typedef struct chq {
    struct chq *next;
    uint32_t ch;
    qmsg *head, *tail;
    size_t bytes;
} chq;

typedef struct bot {
    rtc_loop *loop;
    app_room *room;
    const char *room_name;
    int neg_ids[MAX_NEGOTIATED];
    int n_neg;
    bool fatal;
    rtc_timer retry;
} bot;

static chq **find_q(app_room_peer *rp, uint32_t ch) {
    chq **pp = (chq **)&rp->user;
    while (*pp && (*pp)->ch != ch)
        pp = &(*pp)->next;
    return pp;
}

static void free_q(chq *q) {
    while (q->head) {
        qmsg *m = q->head;
        q->head = m->next;
        free(m);
    }
    free(q);
}

static void drop_q(app_room_peer *rp, uint32_t ch) {
    chq **pp = find_q(rp, ch);
    if (!*pp) return;
    chq *q = *pp;
    *pp = q->next;
    free_q(q);
}

/* Send queued echoes while the connection takes them. Returns true if some remain. */
static bool drain_q(app_room_peer *rp, chq *q) {
    while (q->head) {
        qmsg *m = q->head;
        int rc = rtc_peer_send(rp->peer, q->ch, m->binary, m->data, m->len);
        if (rc == RTC_ERR_AGAIN) return true;
        if (rc != RTC_OK)
            fprintf(stderr, "echo-bot: peer %s channel %u: echo failed: %s\n", rp->id, q->ch,
                    rtc_strerror(rc));
        q->head = m->next;
        if (!q->head) q->tail = NULL;
        q->bytes -= m->len;
        free(m);
    }
    return false;
}

static void retry_all(app_room_peer *rp, void *arg) {
    bool *pending = arg;
    for (chq *q = rp->user; q; q = q->next)
        if (drain_q(rp, q)) *pending = true;
}

static void on_retry(rtc_loop *l, rtc_timer *t, void *ud) {
    bot *b = ud;
    bool pending = false;
    app_room_foreach(b->room, retry_all, &pending);
    if (pending) rtc_loop_timer_start(l, t, rtc_loop_now(l) + RTC_MS(20), on_retry, b);
}

static void on_message(app_room *r, app_room_peer *rp, uint32_t ch, bool bin, const uint8_t *d,
                       size_t len, void *ud) {
    (void)r;
    bot *b = ud;
    chq **pp = find_q(rp, ch);
    if (!*pp || !(*pp)->head) {
        int rc = rtc_peer_send(rp->peer, ch, bin, d, len);
        if (rc == RTC_OK) return;
        if (rc != RTC_ERR_AGAIN) {
            fprintf(stderr, "echo-bot: peer %s channel %u: echo of %zu bytes failed: %s\n", rp->id,
                    ch, len, rtc_strerror(rc));
            return;
        }
    }
    if (!*pp) {
        chq *q = calloc(1, sizeof *q);
        if (!q) return;
        q->ch = ch;
        *pp = q;
        rtc_peer_set_buffered_amount_low_threshold(rp->peer, ch, ECHO_LOW_THRESHOLD);
    }
    chq *q = *pp;
    if (q->bytes + len > ECHO_MAX_QUEUE) {
        fprintf(stderr,
                "echo-bot: peer %s channel %u: more than %u MiB of echoes waiting; closing the "
                "channel\n",
                rp->id, ch, ECHO_MAX_QUEUE >> 20);
        printf("error peer=%s channel=%u echo queue full, channel closed\n", rp->id, ch);
        drop_q(rp, ch);
        rtc_peer_close_channel(rp->peer, ch);
        return;
    }
    qmsg *m = malloc(sizeof *m + len);
    if (!m) return;
    m->next = NULL;
    m->binary = bin;
    m->len = len;
    if (len) memcpy(m->data, d, len);
    if (q->tail)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
    q->bytes += len;
    if (!rtc_timer_active(&b->retry))
        rtc_loop_timer_start(b->loop, &b->retry, rtc_loop_now(b->loop) + RTC_MS(20), on_retry, b);
}

static void on_low(app_room *r, app_room_peer *rp, uint32_t ch, void *ud) {
    (void)r;
    (void)ud;
    chq **pp = find_q(rp, ch);
    if (*pp) drain_q(rp, *pp);
}

static void on_close(app_room *r, app_room_peer *rp, uint32_t ch, void *ud) {
    (void)r;
    (void)ud;
    drop_q(rp, ch);
}

static void on_peer_added(app_room *r, app_room_peer *rp, void *ud) {
    (void)r;
    bot *b = ud;
    for (int i = 0; i < b->n_neg; i++) {
        rtc_pc_dc_init init;
        rtc_pc_dc_init_default(&init);
        init.negotiated = true;
        init.id = (uint16_t)b->neg_ids[i];
        uint32_t ch;
        int rc = rtc_peer_create_data_channel(rp->peer, "negotiated", &init, &ch);
        if (rc != RTC_OK)
            fprintf(stderr, "echo-bot: peer %s: negotiated channel id %d: %s\n", rp->id,
                    b->neg_ids[i], rtc_strerror(rc));
    }
}

static void on_peer_state(app_room *r, app_room_peer *rp, int state, const char *what, void *ud) {
    (void)r;
    (void)ud;
    (void)what;
    if (state == RTC_PC_CONNECTION_CONNECTED) {
        printf("peer %s connected (%.3f s after it appeared)\n", rp->id,
               (double)(rtc_net_now() - rp->added) / 1e6);
        fflush(stdout);
    }
}

static void on_peer_removed(app_room *r, app_room_peer *rp, const char *reason, void *ud) {
    (void)r;
    (void)ud;
    chq *q = rp->user;
    while (q) {
        chq *n = q->next;
        free_q(q);
        q = n;
    }
    rp->user = NULL;
    printf("peer %s closed (%s)\n", rp->id, reason);
    fflush(stdout);
}

static void on_joined(app_room *r, const char *id, void *ud) {
    (void)r;
    bot *b = ud;
    printf("ready room=%s id=%s\n", b->room_name, id);
    fflush(stdout);
}

static void on_fatal(app_room *r, const char *why, void *ud) {
    (void)r;
    bot *b = ud;
    fprintf(stderr, "echo-bot: %s\n", why);
    b->fatal = true;
    rtc_loop_stop(b->loop);
}

static int add_neg(bot *b, const char *v) {
    /* "7" or "7,8,9" */
    while (v && *v) {
        char *end;
        long n = strtol(v, &end, 10);
        if (end == v || n < 0 || n > 65534 || b->n_neg >= MAX_NEGOTIATED || (*end && *end != ','))
            return -1;
        for (int i = 0; i < b->n_neg; i++)
            if (b->neg_ids[i] == n) return -1;
        b->neg_ids[b->n_neg++] = (int)n;
        v = *end ? end + 1 : end;
    }
    return 0;
}

static void stopping(void *ud) {
    bot *b = ud;
    rtc_loop_timer_stop(b->loop, &b->retry);
}

int cmd_echo_bot(int argc, char **argv) {
    bot b;
    memset(&b, 0, sizeof b);
    const char *url = APP_DEFAULT_SIGNAL, *v;
    for (int i = 1; i < argc; i++) {
        if (app_opt(argc, argv, &i, "--room", &v)) {
            if (!v) goto usage;
            b.room_name = v;
        } else if (app_opt(argc, argv, &i, "--signal", &v)) {
            if (!v) goto usage;
            url = v;
        } else if (app_opt(argc, argv, &i, "--negotiated-id", &v)) {
            if (!v || add_neg(&b, v)) {
                fprintf(stderr,
                        "echo-bot: --negotiated-id wants distinct ids 0..65534 (at most %d)\n",
                        MAX_NEGOTIATED);
                return EXIT_USAGE;
            }
        } else {
            goto usage;
        }
    }
    if (!b.room_name) goto usage;
    app_room_callbacks cb = {.on_joined = on_joined,
                             .on_peer_added = on_peer_added,
                             .on_peer_state = on_peer_state,
                             .on_peer_removed = on_peer_removed,
                             .on_message = on_message,
                             .on_buffered_amount_low = on_low,
                             .on_close = on_close,
                             .on_fatal = on_fatal,
                             .ud = &b};
    if (app_room_main(&b.loop, &b.room, url, b.room_name, &cb, NULL, stopping) != 0)
        return EXIT_FAIL;
    return b.fatal ? EXIT_FAIL : EXIT_OK;
usage:
    fprintf(
        stderr,
        "usage: cwebrtc echo-bot --room R [--signal ws://HOST:PORT/ws] [--negotiated-id N]...\n");
    return EXIT_USAGE;
}
