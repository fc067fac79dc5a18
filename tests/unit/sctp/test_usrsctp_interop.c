/*
** Interop with usrsctp (the SCTP stack of Chrome's and Firefox's data channels until
** recently) in one process over AF_CONN, in real time (usrsctp reads its own clock for
** RTT). Both directions, every channel type, both open roles and the INIT collision,
** stream reset both ways, shutdown both ways, and a lossy run. Skipped (exit 77 is not
** used by unit tests, so it just passes with a note) when libusrsctp is missing: see
** extra.cmake.
*/
#include "test.h"

#ifndef HAVE_USRSCTP
int main(void) {
    fprintf(stderr, "usrsctp not found at configure time: interop test skipped\n");
    return 0;
}
#else

#include "cwebrtc/sctp.h"
#include "usrsctp_peer.h"

typedef struct ipair {
    rtc_sctp *us;
    upeer up;
    int64_t last_ms;
    uint64_t rng;
    double loss, dup;
    int64_t reorder_us; /* > 0: each packet is delayed by a random 0..reorder_us */
    struct dq {
        int64_t at;
        int to_us;
        size_t len;
        uint8_t *data;
    } *q;
    size_t nq, capq;
    /* our events */
    int connected, closed, reset_in, reset_done;
    rtc_sctp_close_reason reason;
    /* messages received by each side: checked as they arrive */
    int got_us, got_up, bad;
    uint32_t next_ordered_us[8], next_ordered_up[8];
    uint8_t *seen_us[8], *seen_up[8];
    size_t acc;
    uint8_t *rbuf;
} ipair;

static uint64_t xs(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}
static bool lose(ipair *p) { return p->loss > 0 && (double)(xs(&p->rng) % 10000) < p->loss * 10000; }

/* Message content: [sid u16][idx u32] then a pattern. */
static size_t mk(uint8_t *b, uint16_t sid, uint32_t idx, size_t len) {
    b[0] = (uint8_t)(sid >> 8);
    b[1] = (uint8_t)sid;
    b[2] = (uint8_t)(idx >> 24);
    b[3] = (uint8_t)(idx >> 16);
    b[4] = (uint8_t)(idx >> 8);
    b[5] = (uint8_t)idx;
    for (size_t i = 6; i < len; i++) b[i] = (uint8_t)(idx * 3 + i * 7 + sid);
    return len;
}
static bool check(ipair *p, bool at_us, uint16_t sid, uint32_t ppid, bool unordered,
                  const uint8_t *d, size_t n) {
    if (n < 6 || sid >= 8 || ppid != 50u + sid) return false;
    uint32_t idx = (uint32_t)d[2] << 24 | (uint32_t)d[3] << 16 | (uint32_t)d[4] << 8 | d[5];
    if (((uint16_t)(d[0] << 8 | d[1])) != sid || idx >= 4096) return false;
    for (size_t i = 6; i < n; i++)
        if (d[i] != (uint8_t)(idx * 3 + i * 7 + sid)) return false;
    uint8_t **seen = at_us ? p->seen_us : p->seen_up;
    uint32_t *next = at_us ? p->next_ordered_us : p->next_ordered_up;
    if (!seen[sid]) seen[sid] = calloc(4096, 1);
    if (seen[sid][idx]) return false;
    seen[sid][idx] = 1;
    bool reliable_ordered = sid == 1 || sid == 5;
    if (reliable_ordered && idx != next[sid]) return false;
    if (!unordered && idx < next[sid]) return false;
    if (!unordered) next[sid] = idx + 1;
    if ((sid == 2 || sid == 4) != unordered) return false;
    return true;
}

static void deliver(ipair *p, int to_us, const uint8_t *d, size_t n) {
    if (to_us) rtc_sctp_handle_packet(p->us, up_now_us(), d, n);
    else up_input(&p->up, d, n);
}

/* The network between the two: loss, then optional duplication and reordering. */
static void net_send(ipair *p, int to_us, const uint8_t *d, size_t n) {
    if (lose(p)) return;
    int copies = (p->dup > 0 && (double)(xs(&p->rng) % 10000) < p->dup * 10000) ? 2 : 1;
    for (int c = 0; c < copies; c++) {
        int64_t delay = p->reorder_us ? (int64_t)(xs(&p->rng) % (uint64_t)p->reorder_us) : 0;
        if (!delay && c == 0) {
            deliver(p, to_us, d, n);
            continue;
        }
        if (p->nq == p->capq) {
            p->capq = p->capq ? 2 * p->capq : 64;
            p->q = realloc(p->q, p->capq * sizeof *p->q);
        }
        struct dq *e = &p->q[p->nq++];
        e->at = up_now_us() + delay;
        e->to_us = to_us;
        e->len = n;
        e->data = malloc(n);
        memcpy(e->data, d, n);
    }
}

static void net_run(ipair *p) {
    int64_t now = up_now_us();
    for (size_t i = 0; i < p->nq;) {
        if (p->q[i].at <= now) {
            struct dq e = p->q[i];
            p->q[i] = p->q[--p->nq];
            deliver(p, e.to_us, e.data, e.len);
            free(e.data);
        } else {
            i++;
        }
    }
}

static void step(ipair *p) {
    int64_t now = up_now_us();
    net_run(p);
    up_pkt *k;
    while ((k = up_pop(&p->up))) {
        if (getenv("SCTP_DEBUG") && k->len > 16 && k->data[12] == 6) {
            fprintf(stderr, "usrsctp ABORT: ");
            for (size_t i = 12; i < k->len; i++)
                fprintf(stderr, "%c", k->data[i] >= 32 && k->data[i] < 127 ? k->data[i] : '.');
            fprintf(stderr, "\n");
        }
        net_send(p, 1, k->data, k->len);
        free(k);
    }
    const uint8_t *d;
    size_t n;
    for (int i = 0; i < 100000 && rtc_sctp_poll_transmit(p->us, &d, &n); i++) {
        bool l = false;
        if (getenv("SCTP_TRACE")) {
            for (size_t off = 12; off + 4 <= n;) {
                uint8_t t = d[off];
                size_t cl = (size_t)d[off + 2] << 8 | d[off + 3];
                if (t == 0)
                    fprintf(stderr, "%s DATA tsn %08x sid %u fl %x len %zu\n", l ? "LOST" : "sent",
                            (unsigned)(d[off + 4] << 24 | d[off + 5] << 16 | d[off + 6] << 8 | d[off + 7]),
                            d[off + 8] << 8 | d[off + 9], d[off + 1], cl - 16);
                if (t == 192)
                    fprintf(stderr, "%s FWD newcum %08x pairs %zu\n", l ? "LOST" : "sent",
                            (unsigned)(d[off + 4] << 24 | d[off + 5] << 16 | d[off + 6] << 8 | d[off + 7]),
                            (cl - 8) / 4);
                off += (cl + 3) & ~(size_t)3;
                if (cl < 4) break;
            }
        }
        net_send(p, 0, d, n);
    }
    if (rtc_sctp_next_timeout(p->us) <= now) {
        rtc_sctp_handle_timeout(p->us, now);
        for (int i = 0; i < 100000 && rtc_sctp_poll_transmit(p->us, &d, &n); i++)
            net_send(p, 0, d, n);
    }
    int64_t ms = now / 1000;
    if (ms > p->last_ms) {
        usrsctp_handle_timers((uint32_t)(ms - p->last_ms));
        p->last_ms = ms;
    }
    rtc_sctp_event ev;
    while (rtc_sctp_poll_event(p->us, &ev)) {
        switch (ev.kind) {
        case RTC_SCTP_EV_CONNECTED: p->connected++; break;
        case RTC_SCTP_EV_CLOSED:
            p->closed++;
            p->reason = ev.reason;
            if (getenv("SCTP_DEBUG"))
                fprintf(stderr, "closed: reason %d cause %u\n", ev.reason, ev.error_cause);
            break;
        case RTC_SCTP_EV_STREAM_RESET: p->reset_in++; break;
        case RTC_SCTP_EV_STREAM_RESET_DONE: p->reset_done++; break;
        case RTC_SCTP_EV_MESSAGE:
            p->got_us++;
            if (!check(p, true, ev.stream, ev.ppid, ev.unordered, ev.data, ev.len)) p->bad++;
            break;
        default: break;
        }
    }
    up_msg m;
    for (int i = 0; i < 10000; i++) {
        int r = up_recv(&p->up, p->rbuf, 1 << 20, &p->acc, &m);
        if (r <= 0) break;
        p->got_up++;
        if (!check(p, false, m.sid, m.ppid, m.unordered, p->rbuf, m.len)) p->bad++;
    }
}

static int run_until(ipair *p, bool (*cond)(ipair *), int64_t max_us) {
    int64_t end = up_now_us() + max_us;
    while (up_now_us() < end) {
        step(p);
        if (cond && cond(p)) return 1;
        struct timespec ts = {0, 200000};
        if (!p->up.head) nanosleep(&ts, NULL);
        (void)0;
    }
    return 0;
}

static bool is_up(ipair *p) { return p->connected && p->up.sock && p->up.up; }

static int open_pair(ipair *p, int mode /* 0: we active, 1: usrsctp active, 2: both */) {
    memset(p, 0, sizeof *p);
    /* SCTP_INTEROP_SEED=n varies the loss pattern (sweeps) */
    p->rng = 0x12345678 + (getenv("SCTP_INTEROP_SEED") ? (uint64_t)atoll(getenv("SCTP_INTEROP_SEED")) : 0);
    p->rbuf = malloc(1 << 20);
    rtc_sctp_config cfg;
    rtc_sctp_config_default(&cfg);
    cfg.rto_min = RTC_MS(100);
    if (rtc_sctp_new(&p->us, &cfg, NULL) != RTC_OK) return -1;
    if (up_open(&p->up, mode != 0) != 0) return -1;
    p->last_ms = up_now_us() / 1000;
    if (mode != 1) rtc_sctp_connect(p->us, up_now_us());
    return run_until(p, is_up, 5000000) ? 0 : -1;
}

static void close_pair(ipair *p) {
    for (size_t i = 0; i < p->nq; i++) free(p->q[i].data);
    free(p->q);
    p->q = NULL;
    p->nq = p->capq = 0;
    up_close(&p->up);
    rtc_sctp_free(p->us);
    for (int i = 0; i < 8; i++) {
        free(p->seen_us[i]);
        free(p->seen_up[i]);
    }
    free(p->rbuf);
}

static bool open_or_close(ipair *p, int mode) {
    if (open_pair(p, mode) == 0) return true;
    fprintf(stderr, "open failed: ours %d state %d, usrsctp sock %p up %d\n", p->connected,
            rtc_sctp_get_state(p->us), (void *)p->up.sock, p->up.up);
    close_pair(p);
    return false;
}

static int want_us, want_up;
static bool got_all(ipair *p) { return p->got_us >= want_us && p->got_up >= want_up; }

/* Every channel type, both directions. sid 1 ordered, 2 unordered, 3 ordered with
** max 0 retransmissions, 4 unordered with a 1 s lifetime. */
static void exchange(ipair *p, int per_type) {
    static const size_t sizes[] = {1 + 5, 100, 1000, 1200, 5000, 65536, 200000};
    uint8_t *b = malloc(262144);
    int sent_us = 0, sent_up = 0, got_us0 = p->got_us, got_up0 = p->got_up;
    for (int i = 0; i < per_type; i++) {
        for (uint16_t sid = 1; sid <= 4; sid++) {
            size_t len = sizes[(i + sid) % 7];
            mk(b, sid, (uint32_t)i, len);
            rtc_sctp_send_opts o = rtc_sctp_send_opts_reliable(sid, 50u + sid);
            o.unordered = sid == 2 || sid == 4;
            if (sid == 3) o.max_retransmits = 0;
            if (sid == 4) o.max_lifetime_ms = 1000;
            int rc;
            for (int g = 0; g < 5000 && (rc = rtc_sctp_send(p->us, up_now_us(), &o, b, len)) == RTC_ERR_AGAIN; g++)
                step(p);
            CHECK_EQ_INT(rc, RTC_OK);
            sent_us++;
            int r;
            for (int g = 0; g < 5000 && (r = up_send(&p->up, sid, 50u + sid, o.unordered,
                                                     sid == 3 ? 0 : -1, sid == 4 ? 1000 : -1, b, len)) < 0 &&
                            errno == EWOULDBLOCK;
                 g++)
                step(p);
            CHECK_EQ_INT(r, 0);
            sent_up++;
            step(p);
        }
    }
    want_us = got_us0 + sent_up;
    want_up = got_up0 + sent_us;
    /* No loss here: even the partially reliable messages all arrive. */
    CHECK(run_until(p, got_all, 10000000));
    CHECK_EQ_INT(p->got_us, want_us);
    CHECK_EQ_INT(p->got_up, want_up);
    CHECK_EQ_INT(p->bad, 0);
    free(b);
}

static void test_we_connect(void) {
    static ipair p;
    REQUIRE(open_or_close(&p, 0));
    exchange(&p, 20);
    rtc_sctp_stats st;
    rtc_sctp_get_stats(p.us, &st);
    CHECK(st.peer_forward_tsn && st.peer_reconfig);
    CHECK(!st.zero_checksum); /* usrsctp 0.9.5 does not announce RFC 9653 */
    CHECK_EQ_INT(st.out_streams, 1024); /* what up_make_socket asked usrsctp for */
    close_pair(&p);
}

static void test_usrsctp_connects(void) {
    static ipair p;
    REQUIRE(open_or_close(&p, 1));
    exchange(&p, 20);
    close_pair(&p);
}

static void test_collision(void) {
    static ipair p;
    REQUIRE(open_or_close(&p, 2));
    CHECK_EQ_INT(p.connected, 1);
    exchange(&p, 5);
    close_pair(&p);
}

static bool reset_seen_by_up(ipair *p) { return p->up.resets_in > 0 && p->reset_done > 0; }
static bool reset_seen_by_us(ipair *p) { return p->reset_in > 0 && p->up.resets_out > 0; }

static void test_stream_reset(void) {
    static ipair p;
    REQUIRE(open_or_close(&p, 0));
    exchange(&p, 3);
    uint16_t id = 1;
    CHECK_EQ_INT(rtc_sctp_reset_streams(p.us, &id, 1), RTC_OK);
    CHECK(run_until(&p, reset_seen_by_up, 5000000));
    CHECK_EQ_INT(p.up.last_reset_stream, 1);
    CHECK_EQ_INT(up_reset(&p.up, 1), 0);
    CHECK(run_until(&p, reset_seen_by_us, 5000000));
    /* Stream 1 reused from SSN 0 both ways. */
    uint8_t b[64];
    mk(b, 1, 0, 64);
    p.next_ordered_us[1] = p.next_ordered_up[1] = 0;
    memset(p.seen_us[1], 0, 4096);
    memset(p.seen_up[1], 0, 4096);
    rtc_sctp_send_opts o = rtc_sctp_send_opts_reliable(1, 51);
    CHECK_EQ_INT(rtc_sctp_send(p.us, up_now_us(), &o, b, 64), RTC_OK);
    CHECK_EQ_INT(up_send(&p.up, 1, 51, false, -1, -1, b, 64), 0);
    want_us = p.got_us + 1;
    want_up = p.got_up + 1;
    CHECK(run_until(&p, got_all, 5000000));
    CHECK_EQ_INT(p.bad, 0);
    close_pair(&p);
}

static void test_lossy(void) {
    static ipair p;
    REQUIRE(open_or_close(&p, 0));
    p.loss = 0.05;
    p.dup = 0.02;
    p.reorder_us = 5000; /* every packet delayed 0..5 ms: reordering both ways */
    uint8_t b[3000];
    int n = 150;
    for (int i = 0; i < n; i++) {
        size_t len = 6 + (size_t)(i * 37) % 2900;
        mk(b, 5, (uint32_t)i, len);
        rtc_sctp_send_opts o = rtc_sctp_send_opts_reliable(5, 55);
        CHECK_EQ_INT(rtc_sctp_send(p.us, up_now_us(), &o, b, len), RTC_OK);
        CHECK_EQ_INT(up_send(&p.up, 5, 55, false, -1, -1, b, len), 0);
    }
    want_us = n;
    want_up = n;
    CHECK(run_until(&p, got_all, 30000000));
    CHECK_EQ_INT(p.got_us, n);
    CHECK_EQ_INT(p.got_up, n);
    CHECK_EQ_INT(p.bad, 0);
    rtc_sctp_stats st;
    rtc_sctp_get_stats(p.us, &st);
    CHECK(st.retransmitted_chunks > 0);
    fprintf(stderr, "  lossy+dup+reorder: we retransmitted %llu chunks, saw %llu duplicate TSNs\n",
            (unsigned long long)st.retransmitted_chunks,
            (unsigned long long)st.duplicate_tsns_received);
    close_pair(&p);
}

/* Partial reliability under loss: FORWARD-TSN both ways. Afterwards a reliable stream
** must still deliver everything, so neither side got stuck behind abandoned data. */
static int rel_target_us, rel_target_up;
static int count_sid(uint8_t *seen) {
    int n = 0;
    for (int i = 0; seen && i < 4096; i++) n += seen[i];
    return n;
}
static bool reliable_done(ipair *p) {
    return count_sid(p->seen_us[1]) >= rel_target_us && count_sid(p->seen_up[1]) >= rel_target_up;
}

static void test_lossy_partial_reliability(void) {
    static ipair p;
    REQUIRE(open_or_close(&p, 0));
    p.loss = getenv("SCTP_LOSS") ? atof(getenv("SCTP_LOSS")) : 0.10;
    uint8_t b[2000];
    int n = 200;
    for (int i = 0; i < n; i++) {
        for (uint16_t sid = 3; sid <= 4; sid++) {
            /* sid 4 stays below one fragment: usrsctp 0.9.5 aborts ("Illegal message
            ** sequence, missing end") when, after a FORWARD-TSN, a complete unordered
            ** message follows a partly received fragmented one on the same stream; see
            ** docs/sctp.md. Ordered sid 3 fragments freely. */
            size_t len = sid == 4 ? 6 + (size_t)(i * 53) % 1000 : 6 + (size_t)(i * 53) % 1900;
            mk(b, sid, (uint32_t)i, len);
            rtc_sctp_send_opts o = rtc_sctp_send_opts_reliable(sid, 50u + sid);
            o.unordered = sid == 4;
            if (sid == 3) o.max_retransmits = 0;
            else o.max_lifetime_ms = 200;
            CHECK_EQ_INT(rtc_sctp_send(p.us, up_now_us(), &o, b, len), RTC_OK);
            CHECK_EQ_INT(up_send(&p.up, sid, 50u + sid, sid == 4, sid == 3 ? 0 : -1,
                                 sid == 4 ? 200 : -1, b, len), 0);
        }
        if (i % 10 == 0) step(&p);
    }
    for (int i = 0; i < 20; i++) {
        mk(b, 1, (uint32_t)i, 100);
        rtc_sctp_send_opts o = rtc_sctp_send_opts_reliable(1, 51);
        CHECK_EQ_INT(rtc_sctp_send(p.us, up_now_us(), &o, b, 100), RTC_OK);
        CHECK_EQ_INT(up_send(&p.up, 1, 51, false, -1, -1, b, 100), 0);
    }
    rel_target_us = rel_target_up = 20;
    CHECK(run_until(&p, reliable_done, 30000000));
    /* The reliable stream may finish before the partially reliable backlogs (we weight
    ** streams by bytes, so its 100-byte messages go early; usrsctp serves round-robin):
    ** let the backlogs drain. Ours until nothing is queued; usrsctp's until nothing
    ** arrived for 3 s, longer than its backed-off retransmission timer (bounded). */
    for (int rounds = 0, quiet = 0; rounds < 40; rounds++) {
        int before = p.got_us + p.got_up;
        run_until(&p, NULL, 1000000);
        quiet = p.got_us + p.got_up == before ? quiet + 1 : 0;
        if (quiet >= 3 && rtc_sctp_buffered_total(p.us) == 0) break;
    }
    CHECK_EQ_INT(p.bad, 0); /* no duplicates, ordered stream 3 never went backwards */
    int got3_us = count_sid(p.seen_us[3]), got3_up = count_sid(p.seen_up[3]);
    int got4_us = count_sid(p.seen_us[4]), got4_up = count_sid(p.seen_up[4]);
    rtc_sctp_stats st;
    rtc_sctp_get_stats(p.us, &st);
    fprintf(stderr, "  PR at 10%% loss: we got %d+%d of %d+%d, usrsctp got %d+%d; we abandoned %llu\n",
            got3_us, got4_us, n, n, got3_up, got4_up, (unsigned long long)st.abandoned_messages);
    if (getenv("SCTP_DEBUG"))
        fprintf(stderr, "  ours: data rx %llu dup %llu dropped chunks %llu pkts dropped %llu msgs %llu\n",
                (unsigned long long)st.data_chunks_received, (unsigned long long)st.duplicate_tsns_received,
                (unsigned long long)st.dropped_chunks, (unsigned long long)st.dropped_packets,
                (unsigned long long)st.messages_received);
    if (getenv("SCTP_DEBUG")) {
        for (int i = 0; i < n; i++) fputc(p.seen_us[3] && p.seen_us[3][i] ? '1' : '0', stderr);
        fputc('\n', stderr);
    }
    if (p.loss >= 0.05) {
        CHECK(got3_us < n || got4_us < n);      /* usrsctp abandoned some ... */
        CHECK(got3_up < n || got4_up < n);      /* ... and so did we */
        CHECK(st.abandoned_messages > 0);
    }
    CHECK(got3_us > n / 2 && got3_up > n / 2);  /* but most arrived */
    close_pair(&p);
}

/* 16 MiB each way in 64 KiB messages, every byte checked: windows, cwnd growth and
** SACK handling against usrsctp at full speed. */
static void test_bulk(void) {
    static ipair p;
    REQUIRE(open_or_close(&p, 0));
    static uint8_t b[65536];
    int n = 256, sent_us = 0, sent_up = 0;
    int64_t t0 = up_now_us();
    for (int guard = 0; guard < 2000000 && (sent_us < n || sent_up < n); guard++) {
        if (sent_us < n) {
            mk(b, 5, (uint32_t)sent_us, sizeof b);
            rtc_sctp_send_opts o = rtc_sctp_send_opts_reliable(5, 55);
            if (rtc_sctp_send(p.us, up_now_us(), &o, b, sizeof b) == RTC_OK) sent_us++;
        }
        if (sent_up < n) {
            mk(b, 5, (uint32_t)sent_up, sizeof b);
            if (up_send(&p.up, 5, 55, false, -1, -1, b, sizeof b) == 0) sent_up++;
        }
        step(&p);
    }
    want_us = want_up = n;
    CHECK(run_until(&p, got_all, 30000000));
    CHECK_EQ_INT(p.got_us, n);
    CHECK_EQ_INT(p.got_up, n);
    CHECK_EQ_INT(p.bad, 0);
    fprintf(stderr, "  bulk: 2 x 16 MiB in %.2f s\n", (double)(up_now_us() - t0) / 1e6);
    close_pair(&p);
}

static bool both_closed(ipair *p) { return p->closed && p->up.closed; }

static void test_shutdown_both_ways(void) {
    static ipair p;
    REQUIRE(open_or_close(&p, 0));
    exchange(&p, 2);
    CHECK_EQ_INT(rtc_sctp_shutdown(p.us, up_now_us()), RTC_OK);
    CHECK(run_until(&p, both_closed, 5000000));
    CHECK_EQ_INT(p.reason, RTC_SCTP_CLOSE_SHUTDOWN);
    close_pair(&p);

    REQUIRE(open_or_close(&p, 1));
    exchange(&p, 2);
    usrsctp_shutdown(p.up.sock, SHUT_WR);
    CHECK(run_until(&p, both_closed, 5000000));
    CHECK_EQ_INT(p.reason, RTC_SCTP_CLOSE_SHUTDOWN);
    close_pair(&p);
}

int main(void) {
    RUN(test_we_connect);
    RUN(test_usrsctp_connects);
    RUN(test_collision);
    RUN(test_stream_reset);
    RUN(test_lossy);
    RUN(test_bulk);
    RUN(test_lossy_partial_reliability);
    RUN(test_shutdown_both_ways);
    return TEST_DONE();
}
#endif
