/*
** fuzz/apps_room.c: hostile signaling-server messages to the cwebrtc app's room peer
** (apps/cwebrtc/room.c) through app_room_on_server_message, no socket: JSON of any shape
** (joined / peer-joined / peer-left / offer / answer / candidate / bye / error with wrong
** types, missing fields, huge arrays), or no JSON at all.
**
** Input: messages separated by '\n', handed to one offline room in order (real rtc_peers
** are created, bound to 127.0.0.1; the loop is never run, so no packet is ever sent).
**
** Checks (abort = a finding): nothing crashes or leaks; every message the room sends is a
** JSON object with a known "type", and offer/answer/candidate/bye carry a "to" that is a
** live peer of the room (offer/answer with an "sdp" string); at most ROOM_MAX_PEERS peers;
** on_fatal at most once; on_joined gives a NUL-terminated id under 64 bytes.
*/
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cwebrtc/dtls.h"
#include "cwebrtc/loop.h"
#include "room.h"

static rtc_loop *loop;
static rtc_dtls_cert *cert;

typedef struct state {
    app_room *room;
    int fatal;
    int sent;
} state;

static void check(bool ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "apps_room: check failed: %s\n", what);
        abort();
    }
}

typedef struct find {
    const char *id;
    bool found;
} find;

static void find_cb(app_room_peer *rp, void *arg) {
    find *f = arg;
    check(memchr(rp->id, 0, sizeof rp->id) != NULL, "peer id not terminated");
    if (strcmp(rp->id, f->id) == 0) f->found = true;
}

static void on_send(const char *js, size_t len, void *ud) {
    state *s = ud;
    s->sent++;
    check(strlen(js) == len, "send length");
    json_error_t e;
    json_t *m = json_loadb(js, len, JSON_REJECT_DUPLICATES, &e);
    check(json_is_object(m), "the room sent something that is not a JSON object");
    const char *type = json_string_value(json_object_get(m, "type"));
    check(type != NULL, "the room sent a message without a type");
    if (strcmp(type, "join") == 0) {
        check(json_is_string(json_object_get(m, "room")), "join without room");
    } else if (strcmp(type, "leave") == 0) {
    } else if (strcmp(type, "offer") == 0 || strcmp(type, "answer") == 0 ||
               strcmp(type, "candidate") == 0 || strcmp(type, "bye") == 0) {
        const char *to = json_string_value(json_object_get(m, "to"));
        check(to != NULL, "peer message without to");
        if (s->room) {
            find f = {.id = to};
            app_room_foreach(s->room, find_cb, &f);
            check(f.found, "peer message to an id that is not a live peer");
        }
        if (type[0] == 'o' || type[0] == 'a') {
            const char *sdp = json_string_value(json_object_get(m, "sdp"));
            check(sdp && strncmp(sdp, "v=0", 3) == 0, "offer/answer without an SDP");
        }
    } else {
        check(false, "the room sent an unknown type");
    }
    json_decref(m);
}

static void on_joined(app_room *r, const char *my_id, void *ud) {
    (void)r;
    (void)ud;
    check(my_id && strlen(my_id) < 64, "joined id");
}

static void on_fatal(app_room *r, const char *why, void *ud) {
    (void)r;
    state *s = ud;
    check(why && why[0], "fatal without a reason");
    s->fatal++;
    check(s->fatal == 1, "on_fatal twice");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!loop && rtc_loop_new(&loop, NULL) != RTC_OK) abort();
    if (!cert && rtc_dtls_cert_new(&cert, NULL, NULL) != RTC_OK) abort();
    state s = {0};
    rtc_pc_config pcfg = {.certificate = cert};
    app_room_callbacks cb = {.on_joined = on_joined, .on_fatal = on_fatal, .ud = &s};
    app_room *r = NULL;
    if (app_room_new_offline(&r, loop, "fuzz", &pcfg, &cb, on_send, &s) != 0) abort();
    check(s.sent == 1, "no join sent");
    s.room = r;
    size_t pos = 0;
    while (pos < size) {
        const uint8_t *nl = memchr(data + pos, '\n', size - pos);
        size_t n = nl ? (size_t)(nl - (data + pos)) : size - pos;
        app_room_on_server_message(r, (const char *)data + pos, n);
        check(app_room_peer_count(r) <= ROOM_MAX_PEERS, "too many peers");
        pos += n + 1;
    }
    app_room_free(r);
    return 0;
}
