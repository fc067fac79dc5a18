/*
** fuzz/apps_ws.c: hostile bytes from a "signaling server" to the cwebrtc app's WebSocket
** client (apps/cwebrtc/ws.c) through app_ws_feed, no socket: the HTTP upgrade answer, then
** frames (fragments, control frames, 16/64-bit lengths, masks, close codes, oversize).
**
** Input: byte 0 = flags, the rest = what the server sends.
**   bit 0: the stream starts after a valid 101 answer (prepended here), so the fuzzer
**          spends its time on frames; otherwise the input must carry the answer itself
**   bit 1: the client starts a close (app_ws_close) as soon as it is open
**   bit 2: the client echoes every text message (app_ws_send_text)
**   bit 3: the client starts a close after its first text message
**   bits 4-7: chunking of a second run over the same bytes (1, 2, 3, 5, 7, 13, 64, ...)
**
** Checks (abort = a finding): nothing crashes or leaks; a delivered message is
** NUL-terminated and within APP_WS_MAX_MSG; no callback after on_close, on_close at most
** once; everything the client writes is the upgrade request (with our key) followed by
** well-formed masked client frames (FIN, opcode text/close/pong, nothing after a close);
** and feeding the same bytes in one piece or in small chunks gives the same events and
** the same (unmasked) output.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cwebrtc/loop.h"
#include "ws.h"

#define KEY    "dGhlIHNhbXBsZSBub25jZQ=="
#define ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" /* RFC 6455 section 1.3's example */

static const char answer101[] = "HTTP/1.1 101 Switching Protocols\r\n"
                                "Upgrade: websocket\r\n"
                                "Connection: Upgrade\r\n"
                                "Sec-WebSocket-Accept: " ACCEPT "\r\n"
                                "Sec-WebSocket-Protocol: cwebrtc-signal\r\n\r\n";

/* One run's record: events as text, output bytes as written. */
typedef struct run {
    unsigned flags;
    bool closed, opened;
    int texts;
    uint64_t ev_hash; /* FNV-1a over the event records */
    size_t n_events;
    uint8_t *out;
    size_t out_len, out_cap;
} run;

static void check(bool ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "apps_ws: check failed: %s\n", what);
        abort();
    }
}

static void ev(run *r, const void *d, size_t n) {
    const uint8_t *p = d;
    uint64_t h = r->ev_hash ? r->ev_hash : 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull; /* record separator */
    r->ev_hash = h;
    r->n_events++;
}

static void on_write(const uint8_t *d, size_t n, void *ud) {
    run *r = ud;
    check(!r->closed, "write after on_close");
    if (r->out_len + n > r->out_cap) {
        size_t nc = r->out_cap ? r->out_cap : 4096;
        while (nc < r->out_len + n)
            nc *= 2;
        uint8_t *p = realloc(r->out, nc);
        check(p != NULL, "oom in the harness");
        r->out = p;
        r->out_cap = nc;
    }
    memcpy(r->out + r->out_len, d, n);
    r->out_len += n;
}

static void on_open(app_ws *ws, void *ud) {
    run *r = ud;
    check(!r->closed && !r->opened, "on_open twice or after on_close");
    r->opened = true;
    ev(r, "open", 4);
    if (r->flags & 2) app_ws_close(ws);
}

static void on_text(app_ws *ws, const char *msg, size_t len, void *ud) {
    run *r = ud;
    check(!r->closed && r->opened, "on_text before on_open or after on_close");
    check(len <= APP_WS_MAX_MSG, "message over APP_WS_MAX_MSG");
    check(msg[len] == 0, "message not NUL-terminated");
    ev(r, "text", 4);
    ev(r, msg, len);
    r->texts++;
    if (r->flags & 4) app_ws_send_text(ws, msg, len);
    if ((r->flags & 8) && r->texts == 1) app_ws_close(ws);
}

static void on_close(app_ws *ws, const char *why, void *ud) {
    (void)ws;
    run *r = ud;
    check(!r->closed, "on_close twice");
    check(why && why[0], "on_close without a reason");
    r->closed = true;
    ev(r, "close", 5);
    ev(r, why, strlen(why));
}

/* Check the client's output (request, then masked frames) and unmask it in place into a
** canonical form (mask bytes zeroed) so two runs compare. */
static void check_output(run *r) {
    uint8_t *o = r->out;
    size_t n = r->out_len;
    const char *req_end = NULL;
    for (size_t i = 0; i + 3 < n; i++)
        if (memcmp(o + i, "\r\n\r\n", 4) == 0) {
            req_end = (const char *)o + i + 4;
            break;
        }
    check(req_end != NULL, "no upgrade request written");
    check(n > 4 && memcmp(o, "GET /ws HTTP/1.1\r\n", 18) == 0, "request line");
    check(memmem(o, (size_t)(req_end - (const char *)o), "Sec-WebSocket-Key: " KEY "\r\n",
                 19 + strlen(KEY) + 2) != NULL,
          "request without our key");
    size_t pos = (size_t)(req_end - (const char *)o);
    bool saw_close = false;
    while (pos < n) {
        check(!saw_close, "a frame after our close frame");
        check(n - pos >= 2, "truncated frame header");
        uint8_t b0 = o[pos], b1 = o[pos + 1];
        check(b0 & 0x80, "client frame without FIN");
        check((b0 & 0x70) == 0, "client frame with RSV bits");
        int op = b0 & 0x0f;
        check(op == 0x1 || op == 0x8 || op == 0xA, "client frame opcode");
        check(b1 & 0x80, "unmasked client frame");
        uint64_t len = b1 & 0x7f;
        size_t hl = 2;
        if (len == 126) {
            check(n - pos >= 4, "truncated 16-bit length");
            len = (uint64_t)o[pos + 2] << 8 | o[pos + 3];
            check(len >= 126, "16-bit length not minimal");
            hl = 4;
        } else if (len == 127) {
            check(n - pos >= 10, "truncated 64-bit length");
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | o[pos + 2 + i];
            check(len >= 65536 && len < (1ull << 63), "64-bit length");
            hl = 10;
        }
        check(n - pos >= hl + 4 && n - pos - hl - 4 >= len, "truncated frame payload");
        uint8_t *mask = o + pos + hl;
        uint8_t *d = mask + 4;
        for (uint64_t i = 0; i < len; i++)
            d[i] ^= mask[i & 3];
        memset(mask, 0, 4);
        if (op == 0x8) {
            check(len == 0 || len == 2, "our close frame carries a code or nothing");
            saw_close = true;
        }
        pos += hl + 4 + (size_t)len;
    }
}

static rtc_loop *loop;

static void one_run(run *r, unsigned flags, const uint8_t *d, size_t n, size_t chunk) {
    memset(r, 0, sizeof *r);
    r->flags = flags;
    app_ws_callbacks cb = {.on_open = on_open, .on_text = on_text, .on_close = on_close, .ud = r};
    app_ws *ws = NULL;
    if (app_ws_new_detached(&ws, loop, KEY, on_write, r, &cb) != 0) abort();
    int last = 0;
    if (flags & 1) {
        last = app_ws_feed(ws, (const uint8_t *)answer101, sizeof answer101 - 1);
        check(last == 1 && r->opened, "the valid 101 answer was not accepted");
    }
    size_t pos = 0;
    while (pos < n && last >= 0) {
        size_t k = chunk && chunk < n - pos ? chunk : n - pos;
        last = app_ws_feed(ws, d + pos, k);
        check((last < 0) == r->closed, "feed's result disagrees with on_close");
        pos += k;
    }
    if (last < 0) check(app_ws_feed(ws, (const uint8_t *)"x", 1) == -1, "feed after death");
    check(app_ws_is_open(ws) ==
              (r->opened && !r->closed && !(flags & 2) && !((flags & 8) && r->texts > 0)),
          "app_ws_is_open");
    app_ws_free(ws);
    check_output(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!loop && rtc_loop_new(&loop, NULL) != RTC_OK) abort();
    if (size < 1) return 0;
    static const size_t chunks[16] = {1, 2, 3, 5, 7, 13, 64, 1, 2, 3, 4, 9, 100, 1000, 1, 6};
    unsigned flags = data[0];
    run a, b;
    one_run(&a, flags, data + 1, size - 1, 0);
    /* Chunking must not matter while the input stays under the handshake-answer bound
    ** (16 KiB, checked on what has arrived so far). */
    if (size - 1 <= 16384) {
        one_run(&b, flags, data + 1, size - 1, chunks[flags >> 4]);
        check(a.ev_hash == b.ev_hash && a.n_events == b.n_events,
              "events differ between one piece and chunks");
        check(a.out_len == b.out_len && memcmp(a.out, b.out, a.out_len) == 0,
              "output differs between one piece and chunks");
        free(b.out);
    }
    free(a.out);
    return 0;
}
