/*
** fuzz/datachannel_manager.c: DCEP and user messages from a hostile peer into a channel
** manager, mixed with the local application's own calls.
**
** Two rtc_sctp associations are connected in memory; B has an rtc_dc manager, A is the
** "peer" driven raw by the input, a sequence of records [op u8][args...]:
**   0 A sends a message: stream u16, ppid selector u8, len u8, bytes (any PPID: DCEP
**     OPEN/ACK/garbage, string, binary, empty forms, deprecated ones)
**   1 B creates a channel: flags u8, id u16, label len u8, label bytes
**   2 B sends: id u16, len u16 (bounded), binary bit
**   3 B closes: id u16          4 A resets its outgoing stream: id u16
**   5 time passes: dt u8 (x 10 ms)   6 B sets a threshold: id u16, u16
** Packets are exchanged and all events drained after every record. The checks: no
** crash, leak or overread (ASan), a bounded channel count, and sane events.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cwebrtc/datachannel.h"

static uint64_t rng_state;
static void fz_random(void *ud, uint8_t *out, size_t len) {
    (void)ud;
    for (size_t i = 0; i < len; i++) {
        rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
        out[i] = (uint8_t)(rng_state >> 33);
    }
}

#define MAX_CH 16
#define MMS 4096

typedef struct {
    const uint8_t *p;
    size_t n;
} input;
static uint8_t in_u8(input *in) {
    if (!in->n) return 0;
    in->n--;
    return *in->p++;
}
static uint16_t in_u16(input *in) { return (uint16_t)(in_u8(in) << 8 | in_u8(in)); }

static void exchange(rtc_sctp *a, rtc_sctp *b, rtc_dc *dc, rtc_time now) {
    for (int i = 0; i < 2000; i++) {
        int any = 0;
        const uint8_t *d;
        size_t n;
        rtc_sctp_event sev;
        rtc_dc_event ev;
        while (rtc_dc_poll_event(dc, &ev) == 1) {
            any = 1;
            if (ev.kind == RTC_DC_EV_MESSAGE && (ev.len > MMS || !ev.data)) abort();
            if (ev.kind == RTC_DC_EV_OPEN && (ev.info.label == NULL || ev.info.protocol == NULL))
                abort();
            if (ev.kind == RTC_DC_EV_ERROR && (ev.error >= 0 || !ev.what)) abort();
        }
        if (rtc_dc_count(dc) > MAX_CH) abort();
        while (rtc_sctp_poll_event(a, &sev) == 1) any = 1;
        if (rtc_sctp_poll_transmit(a, &d, &n) == 1) {
            rtc_sctp_handle_packet(b, now, d, n);
            any = 1;
        }
        if (rtc_sctp_poll_transmit(b, &d, &n) == 1) {
            rtc_sctp_handle_packet(a, now, d, n);
            any = 1;
        }
        if (!any) break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rng_state = 7;
    rtc_env env = {NULL, fz_random, NULL, NULL, 0};
    rtc_sctp_config sc;
    rtc_sctp_config_default(&sc);
    sc.max_message_size = MMS;
    sc.recv_window = 64 * 1024;
    sc.send_buffer = 64 * 1024;
    rtc_dc_config dcfg;
    rtc_dc_config_default(&dcfg);
    dcfg.max_message_size = MMS;
    dcfg.max_channels = MAX_CH;
    dcfg.max_label_bytes = 2048;
    rtc_sctp *a = NULL, *b = NULL;
    rtc_dc *dc = NULL;
    uint8_t *buf = malloc(MMS);
    if (!buf) return 0;
    if (rtc_sctp_new(&a, &sc, &env) || rtc_sctp_new(&b, &sc, &env) ||
        rtc_dc_new(&dc, b, &dcfg, &env))
        goto out;
    rtc_time now = RTC_SEC(1);
    rtc_sctp_connect(a, now);
    exchange(a, b, dc, now);
    if (rtc_sctp_get_state(b) != RTC_SCTP_ESTABLISHED) abort();

    static const uint32_t ppids[8] = {50, 51, 53, 56, 57, 52, 54, 0xffffffffu};
    input in = {data, size};
    for (int step = 0; step < 256 && in.n; step++) {
        uint8_t op = in_u8(&in) % 7;
        uint16_t id;
        size_t n;
        switch (op) {
        case 0: {
            id = in_u16(&in) % 64;
            uint8_t sel = in_u8(&in);
            n = in_u8(&in);
            if (n > in.n) n = in.n;
            memcpy(buf, in.p, n);
            in.p += n, in.n -= n;
            rtc_sctp_send_opts o = rtc_sctp_send_opts_reliable(id, ppids[sel & 7]);
            o.unordered = sel & 8;
            if (n) (void)rtc_sctp_send(a, now, &o, buf, n);
            break;
        }
        case 1: {
            uint8_t f = in_u8(&in);
            rtc_dc_init init;
            rtc_dc_init_default(&init);
            init.negotiated = f & 1;
            init.ordered = f & 2;
            if (f & 4) init.max_retransmits = f >> 4;
            else if (f & 8) init.max_packet_life_time = (f >> 4) * 10;
            init.id = in_u16(&in) % 64;
            n = in_u8(&in) % 32;
            char label[33];
            for (size_t i = 0; i < n; i++) label[i] = (char)(in_u8(&in) | 1); /* no NUL */
            label[n] = 0;
            init.label = label;
            (void)rtc_dc_create(dc, now, &init, NULL);
            break;
        }
        case 2:
            id = in_u16(&in) % 64;
            n = in_u16(&in) % (MMS + 2);
            memset(buf, 0x5a, n < MMS ? n : MMS);
            (void)rtc_dc_send(dc, now, id, n & 1, buf, n);
            break;
        case 3: (void)rtc_dc_close(dc, now, in_u16(&in) % 64); break;
        case 4:
            id = in_u16(&in) % 64;
            (void)rtc_sctp_reset_streams(a, &id, 1);
            break;
        case 5:
            now += RTC_MS(10) * in_u8(&in);
            rtc_sctp_handle_timeout(a, now);
            rtc_sctp_handle_timeout(b, now);
            break;
        case 6:
            id = in_u16(&in) % 64;
            (void)rtc_dc_set_buffered_amount_low_threshold(dc, id, in_u16(&in));
            (void)rtc_dc_buffered_amount(dc, id);
            break;
        }
        exchange(a, b, dc, now);
    }
out:
    rtc_dc_free(dc);
    rtc_sctp_free(a);
    rtc_sctp_free(b);
    free(buf);
    return 0;
}
