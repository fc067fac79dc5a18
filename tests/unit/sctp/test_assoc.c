/*
** SCTP association tests: two of our associations through the simulated lossy link of
** sctp_sim.h (virtual time, seeded), plus hand-made hostile packets.
*/
#include <malloc.h>

#include "cwebrtc/sctp.h"
#include "sctp_sim.h"
#include "test.h"
#include "util/util.h"

struct tctx;
static int learn(sim *s, struct tctx *c, uint32_t *vtag, uint32_t *tsn);
static size_t mk_data(uint8_t *p, uint32_t vtag, uint32_t tsn, uint16_t sid, uint16_t ssn,
                      uint8_t flags, size_t plen);
static void set_crc(uint8_t *p, size_t len);

/* ---- a counting allocator (peak bytes of one association) ----------------------- */
typedef struct memcount {
    size_t cur, peak;
    bool fail;
    uint32_t fail_per_mille; /* random allocation failures */
    uint64_t fail_rng, failed;
} memcount;
typedef struct tenv {
    uint64_t rng;
    memcount mem;
} tenv;
static void *count_realloc(void *ud, void *p, size_t old, size_t n) {
    memcount *m = &((tenv *)ud)->mem;
    size_t before = p ? malloc_usable_size(p) : 0;
    if (n == 0) {
        m->cur -= before;
        free(p);
        return NULL;
    }
    if (m->fail) return NULL;
    if (m->fail_per_mille && sim_rand(&m->fail_rng) % 1000 < m->fail_per_mille) {
        m->failed++;
        return NULL;
    }
    void *q = realloc(p, n);
    if (!q) return NULL;
    m->cur = m->cur - before + malloc_usable_size(q);
    if (m->cur > m->peak) m->peak = m->cur;
    return q;
}
static void t_random(void *ud, uint8_t *out, size_t len) {
    tenv *e = ud;
    for (size_t i = 0; i < len; i++) out[i] = (uint8_t)(sim_rand(&e->rng) >> 17);
}

/* ---- per-test context ------------------------------------------------------------ */
#define MAXS 8
typedef struct stream_plan {
    uint16_t id;
    bool unordered;
    int32_t max_rtx, lifetime_ms;
    uint32_t total;       /* messages to send */
    uint32_t sent;        /* next index to send */
    uint32_t recv_count;
    int64_t last_index;   /* ordered: last index received */
    uint8_t *seen;        /* per index */
} stream_plan;

struct tctx {
    rtc_env env[2];
    tenv te[2];
    int connected[2], closed[2];
    rtc_sctp_close_reason reason[2];
    uint16_t cause[2];
    stream_plan sp[MAXS];
    int nsp;
    uint32_t min_len, max_len;
    uint64_t len_rng;
    uint64_t errors;      /* content, duplicate or order violations */
    uint64_t bytes;
    /* misc event counters */
    int reset_in[2], reset_done[2], low[2];
    uint16_t last_reset_stream[2];
    int msgs[2];
    uint32_t last_ppid[2];
    uint8_t last_msg[2][64];
    size_t last_len[2];
};
typedef struct tctx tctx;

static tctx *T;

static uint8_t pattern(uint16_t sid, uint32_t idx, size_t pos) {
    return (uint8_t)(sid * 31u + idx * 7u + pos * 13u + (pos >> 8));
}

static size_t msg_len(uint16_t sid, uint32_t idx) {
    uint64_t h = (uint64_t)sid * 0x9e3779b97f4a7c15ull ^ (idx + 1) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    uint32_t span = T->max_len - T->min_len + 1;
    return T->min_len + (size_t)(h % span);
}

static void fill_msg(uint8_t *b, uint16_t sid, uint32_t idx, size_t len) {
    b[0] = (uint8_t)(sid >> 8);
    b[1] = (uint8_t)sid;
    b[2] = (uint8_t)(idx >> 24);
    b[3] = (uint8_t)(idx >> 16);
    b[4] = (uint8_t)(idx >> 8);
    b[5] = (uint8_t)idx;
    for (size_t i = 6; i < len; i++) b[i] = pattern(sid, idx, i);
}

static stream_plan *plan_of(uint16_t sid) {
    for (int i = 0; i < T->nsp; i++)
        if (T->sp[i].id == sid) return &T->sp[i];
    return NULL;
}

static void check_msg(const rtc_sctp_event *ev) {
    stream_plan *p = plan_of(ev->stream);
    if (!p || ev->len < 6 || ev->ppid != 53u + ev->stream) {
        T->errors++;
        return;
    }
    uint16_t sid = (uint16_t)(ev->data[0] << 8 | ev->data[1]);
    uint32_t idx = (uint32_t)ev->data[2] << 24 | (uint32_t)ev->data[3] << 16 |
                   (uint32_t)ev->data[4] << 8 | ev->data[5];
    if (sid != ev->stream || idx >= p->total || ev->len != msg_len(sid, idx) ||
        ev->unordered != p->unordered) {
        T->errors++;
        return;
    }
    for (size_t i = 6; i < ev->len; i++)
        if (ev->data[i] != pattern(sid, idx, i)) {
            T->errors++;
            return;
        }
    if (p->seen[idx]) {
        T->errors++; /* duplicate */
        return;
    }
    p->seen[idx] = 1;
    if (!p->unordered) {
        bool reliable = p->max_rtx < 0 && p->lifetime_ms < 0;
        if ((reliable && idx != (uint32_t)(p->last_index + 1)) ||
            (!reliable && (int64_t)idx <= p->last_index))
            T->errors++;
        p->last_index = idx;
    }
    p->recv_count++;
    T->bytes += ev->len;
}

static void on_event(sim *s, int side, const rtc_sctp_event *ev) {
    (void)s;
    switch (ev->kind) {
    case RTC_SCTP_EV_CONNECTED: T->connected[side]++; break;
    case RTC_SCTP_EV_CLOSED:
        T->closed[side]++;
        T->reason[side] = ev->reason;
        T->cause[side] = ev->error_cause;
        break;
    case RTC_SCTP_EV_MESSAGE:
        T->msgs[side]++;
        T->last_ppid[side] = ev->ppid;
        T->last_len[side] = ev->len;
        memcpy(T->last_msg[side], ev->data, RTC_MIN(ev->len, sizeof T->last_msg[side]));
        if (side == 1 && T->nsp) {
            check_msg(ev);
        }
        break;
    case RTC_SCTP_EV_STREAM_RESET:
        T->reset_in[side]++;
        T->last_reset_stream[side] = ev->stream;
        break;
    case RTC_SCTP_EV_STREAM_RESET_DONE: T->reset_done[side]++; break;
    case RTC_SCTP_EV_BUFFERED_AMOUNT_LOW: T->low[side]++; break;
    default: break;
    }
}

static void ctx_init(tctx *c, uint64_t seed) {
    memset(c, 0, sizeof *c);
    T = c;
    for (int i = 0; i < 2; i++) {
        c->te[i].rng = seed * 2 + (uint64_t)i + 1;
        c->env[i].realloc = count_realloc;
        c->env[i].random = t_random;
        c->env[i].ud = &c->te[i];
    }
}

static void make_pair(sim *s, tctx *c, const rtc_sctp_config *cfg, uint64_t seed) {
    memset(s, 0, sizeof *s);
    for (int i = 0; i < 2; i++) {
        REQUIRE(rtc_sctp_new(&s->x[i], cfg, &c->env[i]) == RTC_OK);
        s->link[i].rng = seed * 7919 + (uint64_t)i;
        s->link[i].delay = RTC_MS(20);
    }
    s->on_event = on_event;
    s->now = RTC_SEC(1000);
}

static bool both_connected(sim *s) { (void)s; return T->connected[0] && T->connected[1]; }

static void test_handshake_collision(void) {
    tctx c;
    ctx_init(&c, 1);
    sim s;
    make_pair(&s, &c, NULL, 1);
    REQUIRE(s.x[0] && s.x[1]);
    CHECK_EQ_INT(rtc_sctp_connect(s.x[0], s.now), RTC_OK);
    CHECK_EQ_INT(rtc_sctp_connect(s.x[1], s.now), RTC_OK);
    CHECK_EQ_INT(rtc_sctp_connect(s.x[1], s.now), RTC_ERR_MISUSE);
    sim_drain_all(&s);
    CHECK(sim_run(&s, both_connected, s.now + RTC_SEC(5)));
    CHECK_EQ_INT(c.connected[0], 1);
    CHECK_EQ_INT(c.connected[1], 1);
    CHECK_EQ_INT(rtc_sctp_get_state(s.x[0]), RTC_SCTP_ESTABLISHED);
    CHECK_EQ_INT(rtc_sctp_get_state(s.x[1]), RTC_SCTP_ESTABLISHED);
    rtc_sctp_stats st;
    rtc_sctp_get_stats(s.x[0], &st);
    CHECK(st.zero_checksum && st.peer_reconfig && st.peer_forward_tsn);
    CHECK_EQ_INT(st.out_streams, 65535);
    /* A message each way over the collided association. */
    rtc_sctp_send_opts o = rtc_sctp_send_opts_reliable(3, 51);
    CHECK_EQ_INT(rtc_sctp_send(s.x[0], s.now, &o, (const uint8_t *)"hello", 5), RTC_OK);
    CHECK_EQ_INT(rtc_sctp_send(s.x[1], s.now, &o, (const uint8_t *)"world!", 6), RTC_OK);
    sim_drain_all(&s);
    sim_run(&s, NULL, s.now + RTC_SEC(1));
    CHECK_EQ_INT(c.msgs[1], 1);
    CHECK_EQ_INT(c.msgs[0], 1);
    CHECK_MEM(c.last_msg[1], "hello", 5);
    CHECK_MEM(c.last_msg[0], "world!", 6);
    CHECK_EQ_INT(c.last_ppid[0], 51);
    fprintf(stderr, "  memory per established association after one message each way: %zu bytes\n",
            c.te[0].mem.cur);
    CHECK(c.te[0].mem.cur < 64 * 1024);
    /* Both sides measured an RTT near 40 ms. */
    rtc_sctp_get_stats(s.x[0], &st);
    CHECK(st.srtt >= RTC_MS(40) && st.srtt < RTC_MS(300));
    sim_free(&s);
}

/* RFC 9653: zero checksums only towards a peer that announced them; a peer that did
** not announce them gets (and demands) CRC-32c. */
static int zero_seen[2], crc_seen[2];
static void csum_tap(sim *s, int side, const uint8_t *d, size_t len) {
    (void)s;
    if (len < 12) return;
    if (d[8] | d[9] | d[10] | d[11]) crc_seen[side]++;
    else zero_seen[side]++;
}

static void test_zero_checksum_negotiation(void) {
    tctx c;
    ctx_init(&c, 3);
    rtc_sctp_config on, off;
    rtc_sctp_config_default(&on);
    rtc_sctp_config_default(&off);
    off.zero_checksum = false;
    sim s;
    memset(&s, 0, sizeof s);
    REQUIRE(rtc_sctp_new(&s.x[0], &on, &c.env[0]) == RTC_OK);
    REQUIRE(rtc_sctp_new(&s.x[1], &off, &c.env[1]) == RTC_OK);
    s.on_event = on_event;
    s.now = RTC_SEC(1000);
    s.link[0].delay = s.link[1].delay = RTC_MS(10);
    memset(zero_seen, 0, sizeof zero_seen);
    memset(crc_seen, 0, sizeof crc_seen);
    s.tap = csum_tap;
    rtc_sctp_connect(s.x[0], s.now);
    rtc_sctp_connect(s.x[1], s.now);
    sim_drain_all(&s);
    CHECK(sim_run(&s, both_connected, s.now + RTC_SEC(5)));
    rtc_sctp_send_opts o = rtc_sctp_send_opts_reliable(1, 51);
    CHECK_EQ_INT(rtc_sctp_send(s.x[0], s.now, &o, (const uint8_t *)"a", 1), RTC_OK);
    CHECK_EQ_INT(rtc_sctp_send(s.x[1], s.now, &o, (const uint8_t *)"b", 1), RTC_OK);
    sim_drain_all(&s);
    sim_run(&s, NULL, s.now + RTC_SEC(1));
    CHECK_EQ_INT(c.msgs[0], 1);
    CHECK_EQ_INT(c.msgs[1], 1);
    CHECK_EQ_INT(zero_seen[0] + zero_seen[1], 0); /* nobody may send zero checksums */
    rtc_sctp_stats st;
    rtc_sctp_get_stats(s.x[0], &st);
    CHECK(!st.zero_checksum);
    /* The side that did not announce it rejects a zero checksum; the other accepts. */
    uint32_t vtag = 0, tsn = 0;
    REQUIRE(learn(&s, &c, &vtag, &tsn) == 0);
    uint8_t p[64];
    size_t n = mk_data(p, vtag, tsn, 1, 1, 3, 8);
    memset(p + 8, 0, 4);
    CHECK_EQ_INT(rtc_sctp_handle_packet(s.x[1], s.now, p, n), RTC_ERR_AUTH);
    set_crc(p, n);
    CHECK_EQ_INT(rtc_sctp_handle_packet(s.x[1], s.now, p, n), RTC_OK);
    sim_free(&s);
}

static void test_handshake_lossy_one_sided(void) {
    for (uint64_t seed = 1; seed <= 20; seed++) {
        tctx c;
        ctx_init(&c, seed);
        sim s;
        make_pair(&s, &c, NULL, seed);
        s.link[0].loss = s.link[1].loss = 0.4;
        rtc_sctp_connect(s.x[0], s.now);
        if (seed & 1) rtc_sctp_connect(s.x[1], s.now + 1);
        sim_drain_all(&s);
        sim_run(&s, both_connected, s.now + RTC_SEC(60));
        /* With 40% loss and 8 retries a failure is possible but must be reported. */
        CHECK((c.connected[0] && c.connected[1]) || c.closed[0]);
        if (!c.connected[0]) CHECK_EQ_INT(c.reason[0], RTC_SCTP_CLOSE_TIMEOUT);
        sim_free(&s);
    }
}

/* ---- bulk transfer with a plan of streams ------------------------------------------ */

static void pump(sim *s) {
    for (int round = 0; round < 100000; round++) {
        bool any = false;
        for (int i = 0; i < T->nsp; i++) {
            stream_plan *p = &T->sp[i];
            if (p->sent >= p->total) continue;
            size_t len = msg_len(p->id, p->sent);
            uint8_t *b = malloc(len);
            fill_msg(b, p->id, p->sent, len);
            rtc_sctp_send_opts o = rtc_sctp_send_opts_reliable(p->id, 53u + p->id);
            o.unordered = p->unordered;
            o.max_retransmits = p->max_rtx;
            o.max_lifetime_ms = p->lifetime_ms;
            int rc = rtc_sctp_send(s->x[0], s->now, &o, b, len);
            free(b);
            if (rc == RTC_OK) {
                p->sent++;
                any = true;
            } else if (rc == RTC_ERR_NOMEM) {
                return; /* test_nomem_chaos: try again later */
            } else if (rc != RTC_ERR_AGAIN) {
                T->errors++;
                return;
            }
        }
        if (!any) break;
    }
}

static bool transfer_done(sim *s) {
    for (int i = 0; i < T->nsp; i++) {
        stream_plan *p = &T->sp[i];
        if (p->sent < p->total) return false;
        bool reliable = p->max_rtx < 0 && p->lifetime_ms < 0;
        if (reliable && p->recv_count < p->total) return false;
    }
    return rtc_sctp_buffered_total(s->x[0]) == 0;
}

static void add_plan(tctx *c, uint16_t id, bool unordered, int32_t rtx, int32_t life,
                     uint32_t total) {
    stream_plan *p = &c->sp[c->nsp++];
    p->id = id;
    p->unordered = unordered;
    p->max_rtx = rtx;
    p->lifetime_ms = life;
    p->total = total;
    p->last_index = -1;
    p->seen = calloc(total, 1);
}

static void free_plans(tctx *c) {
    for (int i = 0; i < c->nsp; i++) free(c->sp[i].seen);
}

static void run_transfer(double loss, uint64_t seed, uint32_t per_stream, bool pr) {
    const char *sv = getenv("SCTP_TEST_SEED"); /* seed sweeps: SCTP_TEST_SEED=n */
    if (sv) seed += (uint64_t)atoll(sv) * 1000;
    tctx c;
    ctx_init(&c, seed);
    c.min_len = 6;
    c.max_len = 6000;
    add_plan(&c, 1, false, -1, -1, per_stream);
    add_plan(&c, 2, true, -1, -1, per_stream);
    if (pr) {
        add_plan(&c, 3, false, 1, -1, per_stream);
        add_plan(&c, 4, true, -1, 300, per_stream);
    }
    rtc_sctp_config cfg;
    rtc_sctp_config_default(&cfg);
    cfg.send_buffer = 256 * 1024;
    sim s;
    make_pair(&s, &c, &cfg, seed);
    for (int i = 0; i < 2; i++) {
        s.link[i].loss = loss;
        s.link[i].dup = loss / 4;
        s.link[i].reorder = loss / 2;
        s.link[i].reorder_extra = RTC_MS(30);
        s.link[i].bw = 10 * 1000 * 1000;
        s.link[i].max_queue = RTC_MS(200);
    }
    rtc_sctp_connect(s.x[0], s.now);
    rtc_sctp_connect(s.x[1], s.now);
    sim_drain_all(&s);
    rtc_time deadline = s.now + RTC_SEC(3600);
    for (uint64_t guard = 0; guard < 20000000 && !transfer_done(&s) && s.now < deadline; guard++) {
        if (c.closed[0] || c.closed[1]) break;
        pump(&s);
        sim_drain_all(&s);
        if (!sim_step(&s)) break;
    }
    CHECK(transfer_done(&s));
    CHECK_EQ_INT(c.errors, 0);
    CHECK_EQ_INT(c.closed[0] + c.closed[1], 0);
    for (int i = 0; i < c.nsp; i++) {
        stream_plan *p = &c.sp[i];
        bool reliable = p->max_rtx < 0 && p->lifetime_ms < 0;
        if (reliable) CHECK_EQ_INT(p->recv_count, p->total);
        else CHECK(p->recv_count <= p->total);
    }
    rtc_sctp_stats st;
    rtc_sctp_get_stats(s.x[0], &st);
    if (pr) {
        uint32_t lost = 0;
        for (int i = 2; i < 4; i++) lost += c.sp[i].total - c.sp[i].recv_count;
        /* Partial reliability dropped only messages it abandoned. */
        CHECK(lost <= st.abandoned_messages);
        /* Without a dropped packet the retransmission-limited stream loses nothing (the
        ** lifetime-limited one may: messages can outlive 300 ms in the send queue). */
        if (s.link[0].dropped == 0) CHECK_EQ_INT(c.sp[2].recv_count, c.sp[2].total);
        if (loss >= 0.1) CHECK(lost > 0);
    }
    if (loss > 0) CHECK(st.retransmitted_chunks > 0);
    fprintf(stderr,
            "  loss %.0f%%: %llu bytes in %.1f s virtual, %llu rtx, %llu fast, %llu t3, "
            "%llu abandoned, srtt %lld ms, %llu queue/loss drops\n",
            loss * 100, (unsigned long long)c.bytes, (double)(s.now - RTC_SEC(1000)) / 1e6,
            (unsigned long long)st.retransmitted_chunks, (unsigned long long)st.fast_retransmits,
            (unsigned long long)st.t3_expirations, (unsigned long long)st.abandoned_messages,
            (long long)(st.srtt / 1000), (unsigned long long)s.link[0].dropped);
    free_plans(&c);
    sim_free(&s);
}

static void test_transfer_0(void) { run_transfer(0, 11, 400, true); }
static void test_transfer_1(void) { run_transfer(0.01, 12, 400, true); }
static void test_transfer_10(void) { run_transfer(0.10, 13, 300, true); }
static void test_transfer_30(void) { run_transfer(0.30, 14, 150, true); }

/* ---- handshake security: forged and stale cookies ---------------------------------- */

typedef struct capture {
    uint8_t pkt[16][1500];
    size_t len[16];
    int side[16];
    int n;
} capture;
static capture CAP;
static void cap_tap(sim *s, int side, const uint8_t *d, size_t len) {
    (void)s;
    if (CAP.n < 16 && len <= 1500) {
        memcpy(CAP.pkt[CAP.n], d, len);
        CAP.len[CAP.n] = len;
        CAP.side[CAP.n] = side;
        CAP.n++;
    }
}
static int find_chunk(uint8_t type) {
    for (int i = 0; i < CAP.n; i++)
        if (CAP.len[i] > 12 && CAP.pkt[i][12] == type) return i;
    return -1;
}
static void set_crc(uint8_t *p, size_t len) {
    memset(p + 8, 0, 4);
    uint32_t c = rtc_crc32c(0, p, len);
    p[8] = (uint8_t)c;
    p[9] = (uint8_t)(c >> 8);
    p[10] = (uint8_t)(c >> 16);
    p[11] = (uint8_t)(c >> 24);
}

static void test_cookie_security(void) {
    tctx c;
    ctx_init(&c, 31);
    const tenv twin0 = c.te[1]; /* B's twins below draw the same cookie secret */
    sim s;
    make_pair(&s, &c, NULL, 31);
    memset(&CAP, 0, sizeof CAP);
    s.tap = cap_tap;
    s.link[0].down = true; /* capture A's COOKIE-ECHO but do not deliver it */
    rtc_sctp_connect(s.x[0], s.now);
    sim_drain_all(&s);
    /* deliver A's INIT by hand, and B's INIT-ACK via the link */
    int i_init = find_chunk(1);
    REQUIRE(i_init >= 0);
    CHECK_EQ_INT(rtc_sctp_handle_packet(s.x[1], s.now, CAP.pkt[i_init], CAP.len[i_init]), RTC_OK);
    sim_drain_all(&s);
    sim_run(&s, NULL, s.now + RTC_MS(100));
    int i_echo = find_chunk(10);
    REQUIRE(i_echo >= 0);
    uint8_t pkt[1500];
    size_t n = CAP.len[i_echo];
    /* The INIT packet carries a real CRC-32c (RFC 9653 never zeroes it). */
    memcpy(pkt, CAP.pkt[i_init], CAP.len[i_init]);
    uint32_t stored = pkt[8] | pkt[9] << 8 | pkt[10] << 16 | (uint32_t)pkt[11] << 24;
    set_crc(pkt, CAP.len[i_init]);
    uint32_t recomputed = pkt[8] | pkt[9] << 8 | pkt[10] << 16 | (uint32_t)pkt[11] << 24;
    CHECK_EQ_INT(stored, recomputed);
    CHECK(stored != 0);
    /* Forged: flip one bit in the cookie's tag field. */
    memcpy(pkt, CAP.pkt[i_echo], n);
    pkt[16 + 12] ^= 1;
    set_crc(pkt, n);
    CHECK_EQ_INT(rtc_sctp_handle_packet(s.x[1], s.now, pkt, n), RTC_ERR_AUTH);
    /* Corrupted CRC. */
    memcpy(pkt, CAP.pkt[i_echo], n);
    set_crc(pkt, n);
    pkt[8] ^= 0x55;
    CHECK_EQ_INT(rtc_sctp_handle_packet(s.x[1], s.now, pkt, n), RTC_ERR_AUTH);
    /* Stale: the real cookie, 61 s later, to B's twin (same secret; an association's
    ** clock never goes back, so B itself could not be asked at +1 s afterwards). */
    memcpy(pkt, CAP.pkt[i_echo], n);
    tenv twin[2] = {twin0, twin0};
    rtc_env twin_env[2] = {c.env[1], c.env[1]};
    rtc_sctp *b2[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++) {
        twin_env[i].ud = &twin[i];
        REQUIRE(rtc_sctp_new(&b2[i], NULL, &twin_env[i]) == RTC_OK);
    }
    CHECK_EQ_INT(rtc_sctp_handle_packet(b2[0], s.now + RTC_SEC(61), pkt, n), RTC_ERR_AUTH);
    CHECK_EQ_INT(rtc_sctp_get_state(b2[0]), RTC_SCTP_CLOSED);
    /* (the other twin takes it in time: the rejection was the age, not the secret) */
    CHECK_EQ_INT(rtc_sctp_handle_packet(b2[1], s.now + RTC_SEC(1), pkt, n), RTC_OK);
    CHECK_EQ_INT(rtc_sctp_get_state(b2[1]), RTC_SCTP_ESTABLISHED);
    CHECK_EQ_INT(rtc_sctp_get_state(s.x[1]), RTC_SCTP_CLOSED);
    CHECK_EQ_INT(c.connected[1], 0);
    /* The genuine cookie in time works (B answers statelessly, so it still can). */
    CHECK_EQ_INT(rtc_sctp_handle_packet(s.x[1], s.now + RTC_SEC(1), pkt, n), RTC_OK);
    sim_drain_all(&s);
    CHECK_EQ_INT(c.connected[1], 1);
    CHECK_EQ_INT(rtc_sctp_get_state(s.x[1]), RTC_SCTP_ESTABLISHED);
    /* Replaying it again is harmless (duplicate cookie, §5.2.4 D). */
    CHECK_EQ_INT(rtc_sctp_handle_packet(s.x[1], s.now + RTC_SEC(1), pkt, n), RTC_OK);
    CHECK_EQ_INT(c.connected[1], 1);
    rtc_sctp_free(b2[0]);
    rtc_sctp_free(b2[1]);
    sim_free(&s);
}

/* ---- stream reset, abort, shutdown ------------------------------------------------- */

static sim *RS;
static void reset_echo_event(sim *s, int side, const rtc_sctp_event *ev) {
    on_event(s, side, ev);
    /* The data channel rule (RFC 8831 §6.7): reset ours when the peer resets its. */
    if (ev->kind == RTC_SCTP_EV_STREAM_RESET && side == 1) {
        uint16_t id = ev->stream;
        rtc_sctp_reset_streams(RS->x[1], &id, 1);
    }
}

static void connect_pair(sim *s, tctx *c, const rtc_sctp_config *cfg, uint64_t seed) {
    make_pair(s, c, cfg, seed);
    rtc_sctp_connect(s->x[0], s->now);
    rtc_sctp_connect(s->x[1], s->now);
    sim_drain_all(s);
    sim_run(s, both_connected, s->now + RTC_SEC(5));
}

static void test_stream_reset(void) {
    tctx c;
    ctx_init(&c, 41);
    sim s;
    connect_pair(&s, &c, NULL, 41);
    REQUIRE(c.connected[0] && c.connected[1]);
    RS = &s;
    s.on_event = reset_echo_event;
    s.link[0].loss = s.link[1].loss = 0.1;
    rtc_sctp_send_opts o = rtc_sctp_send_opts_reliable(5, 51);
    for (int i = 0; i < 20; i++)
        CHECK_EQ_INT(rtc_sctp_send(s.x[0], s.now, &o, (const uint8_t *)"0123456789", 10), RTC_OK);
    uint16_t id = 5;
    CHECK_EQ_INT(rtc_sctp_reset_streams(s.x[0], &id, 1), RTC_OK);
    CHECK_EQ_INT(rtc_sctp_send(s.x[0], s.now, &o, (const uint8_t *)"x", 1), RTC_ERR_MISUSE);
    sim_drain_all(&s);
    sim_run(&s, NULL, s.now + RTC_SEC(20));
    CHECK_EQ_INT(c.msgs[1], 20);         /* queued data went first */
    CHECK_EQ_INT(c.reset_in[1], 1);      /* B saw A's reset ... */
    CHECK_EQ_INT(c.last_reset_stream[1], 5);
    CHECK_EQ_INT(c.reset_done[0], 1);    /* ... A's completed ... */
    CHECK_EQ_INT(c.reset_in[0], 1);      /* ... B reset its own in turn ... */
    CHECK_EQ_INT(c.reset_done[1], 1);    /* ... and that completed too. */
    /* The id is reusable and its SSN restarted (B accepts SSN 0 again). */
    CHECK_EQ_INT(rtc_sctp_send(s.x[0], s.now, &o, (const uint8_t *)"again", 5), RTC_OK);
    sim_drain_all(&s);
    sim_run(&s, NULL, s.now + RTC_SEC(10));
    CHECK_EQ_INT(c.msgs[1], 21);
    CHECK_MEM(c.last_msg[1], "again", 5);
    sim_free(&s);
}

/* Round-robin between streams: a small message on one channel is not stuck behind a
** bulk transfer queued earlier on another. */
static int arrival_of_small, arrivals;
static void fair_event(sim *s, int side, const rtc_sctp_event *ev) {
    on_event(s, side, ev);
    if (side == 1 && ev->kind == RTC_SCTP_EV_MESSAGE) {
        arrivals++;
        if (ev->stream == 2) arrival_of_small = arrivals;
    }
}

static void test_stream_fairness(void) {
    tctx c;
    ctx_init(&c, 44);
    sim s;
    connect_pair(&s, &c, NULL, 44);
    REQUIRE(c.connected[0] && c.connected[1]);
    s.on_event = fair_event;
    arrival_of_small = arrivals = 0;
    static uint8_t big[65536];
    rtc_sctp_send_opts bulk = rtc_sctp_send_opts_reliable(1, 53);
    for (int i = 0; i < 30; i++) CHECK_EQ_INT(rtc_sctp_send(s.x[0], s.now, &bulk, big, sizeof big), RTC_OK);
    rtc_sctp_send_opts chat = rtc_sctp_send_opts_reliable(2, 51);
    CHECK_EQ_INT(rtc_sctp_send(s.x[0], s.now, &chat, (const uint8_t *)"hi", 2), RTC_OK);
    sim_drain_all(&s);
    sim_run(&s, NULL, s.now + RTC_SEC(30));
    CHECK_EQ_INT(arrivals, 31);
    CHECK(arrival_of_small >= 1 && arrival_of_small <= 2);
    sim_free(&s);
}

/* ---- priorities: weighted fair queueing between streams (RFC 8831 §6.4) ---------- */

/* Saturated streams: each keeps >= 256 KiB queued; bytes delivered per stream are
** counted inside a window of virtual time after the start-up. */
#define PRIO_MAX 4
static struct {
    uint16_t id[PRIO_MAX];
    size_t msg_len[PRIO_MAX];
    uint64_t bytes[PRIO_MAX];
    int n;
    rtc_time from, to;
    int first_small;      /* arrival index of the small message, 0 = not yet */
    int bulk_before_small;
    rtc_time small_at;
} PR;
static void prio_event(sim *s, int side, const rtc_sctp_event *ev) {
    on_event(s, side, ev);
    if (side != 1 || ev->kind != RTC_SCTP_EV_MESSAGE) return;
    if (ev->stream == 9) {
        PR.small_at = s->now;
        return;
    }
    if (PR.small_at == 0) PR.bulk_before_small++;
    if (s->now < PR.from || s->now >= PR.to) return;
    for (int i = 0; i < PR.n; i++)
        if (PR.id[i] == ev->stream) PR.bytes[i] += ev->len;
}

static void prio_run(const uint16_t *prio, const size_t *len, int n, double loss, uint64_t seed) {
    static uint8_t buf[65536];
    tctx c;
    ctx_init(&c, seed);
    rtc_sctp_config cfg;
    rtc_sctp_config_default(&cfg);
    cfg.send_buffer = 16u << 20;
    sim s;
    connect_pair(&s, &c, &cfg, seed);
    REQUIRE(c.connected[0] && c.connected[1]);
    memset(&PR, 0, sizeof PR);
    PR.n = n;
    for (int i = 0; i < 2; i++) {
        s.link[i].bw = 2 * 1000 * 1000;
        s.link[i].max_queue = RTC_MS(100);
        s.link[i].loss = loss;
    }
    for (int i = 0; i < n; i++) {
        PR.id[i] = (uint16_t)(2 * i + 1);
        PR.msg_len[i] = len[i];
        CHECK_EQ_INT(rtc_sctp_set_stream_priority(s.x[0], PR.id[i], prio[i]), RTC_OK);
    }
    s.on_event = prio_event;
    PR.from = s.now + RTC_SEC(1);
    PR.to = s.now + RTC_SEC(7);
    while (s.now < PR.to) {
        for (int i = 0; i < n; i++) {
            rtc_sctp_send_opts o = rtc_sctp_send_opts_reliable(PR.id[i], 53);
            while (rtc_sctp_buffered_amount(s.x[0], PR.id[i]) < (256u << 10))
                REQUIRE(rtc_sctp_send(s.x[0], s.now, &o, buf, PR.msg_len[i]) == RTC_OK);
        }
        sim_drain_all(&s);
        if (!sim_step(&s)) break;
    }
    CHECK_EQ_INT(c.closed[0] + c.closed[1], 0);
    sim_free(&s);
}

static void test_stream_priority(void) {
    /* high (1024) vs low (256): 4:1 in bytes, whatever the message sizes */
    {
        uint16_t pr[2] = {1024, 256};
        size_t len[2] = {8000, 60000};
        prio_run(pr, len, 2, 0, 51);
        double r = (double)PR.bytes[0] / (double)PR.bytes[1];
        fprintf(stderr, "  priority 1024:256 -> %.2f MB : %.2f MB = %.2f\n", PR.bytes[0] / 1e6,
                PR.bytes[1] / 1e6, r);
        CHECK(PR.bytes[0] + PR.bytes[1] > 10u * 1000 * 1000); /* ~6 s at ~2 MB/s */
        CHECK(r > 3.6 && r < 4.4);
    }
    /* the same under 2% loss (retransmissions bypass the scheduler) */
    {
        uint16_t pr[2] = {1024, 256};
        size_t len[2] = {30000, 1000};
        prio_run(pr, len, 2, 0.02, 52);
        double r = (double)PR.bytes[0] / (double)PR.bytes[1];
        fprintf(stderr, "  priority 1024:256, 2%% loss -> %.2f\n", r);
        CHECK(PR.bytes[1] > 0 && r > 3.4 && r < 4.6);
    }
    /* equal priorities: 1:1 in bytes, with 1 KB against 64 KB messages */
    {
        uint16_t pr[2] = {256, 256};
        size_t len[2] = {1000, 65536};
        prio_run(pr, len, 2, 0, 53);
        double r = (double)PR.bytes[0] / (double)PR.bytes[1];
        fprintf(stderr, "  priority 256:256 -> %.2f\n", r);
        CHECK(r > 0.9 && r < 1.1);
    }
    /* the four W3C levels: 8:4:2:1 */
    {
        uint16_t pr[4] = {1024, 512, 256, 128};
        size_t len[4] = {50000, 16000, 4000, 1200};
        prio_run(pr, len, 4, 0, 54);
        fprintf(stderr, "  priority 1024:512:256:128 -> %.2f : %.2f : %.2f : 1\n",
                (double)PR.bytes[0] / (double)PR.bytes[3], (double)PR.bytes[1] / (double)PR.bytes[3],
                (double)PR.bytes[2] / (double)PR.bytes[3]);
        for (int i = 0; i < 3; i++) {
            double r = (double)PR.bytes[i] / (double)PR.bytes[3];
            double want = (double)(8 >> i);
            CHECK(r > want * 0.9 && r < want * 1.1);
        }
    }
    CHECK_EQ_INT(rtc_sctp_set_stream_priority(NULL, 1, 1), RTC_ERR_INVALID);
}

/* Counts DATA bytes of stream 1 that side 0 transmits after `armed` until stream 9's
** first chunk goes out. */
static bool small_armed, small_sent;
static uint64_t bulk_bytes_between;
static void small_tap(sim *s, int side, const uint8_t *d, size_t len) {
    (void)s;
    if (side != 0 || !small_armed || small_sent) return;
    for (size_t off = 12; off + 16 <= len;) {
        size_t cl = (size_t)d[off + 2] << 8 | d[off + 3];
        if (cl < 4) break;
        if (d[off] == 0) {
            uint16_t sid = (uint16_t)(d[off + 8] << 8 | d[off + 9]);
            if (sid == 9) {
                small_sent = true;
                return;
            }
            if (sid == 1) bulk_bytes_between += cl - 16;
        }
        off += (cl + 3) & ~(size_t)3;
    }
}

/* A small message is not stuck behind 100 MB queued on another stream, even at a
** lower priority: it waits only for the message being sent. */
static void test_priority_small_behind_bulk(void) {
    uint8_t *big = calloc(1, 65536);
    REQUIRE(big);
    for (int lowprio = 0; lowprio < 2; lowprio++) {
        tctx c;
        ctx_init(&c, 61);
        rtc_sctp_config cfg;
        rtc_sctp_config_default(&cfg);
        cfg.send_buffer = 128u << 20;
        sim s;
        connect_pair(&s, &c, &cfg, 61);
        REQUIRE(c.connected[0] && c.connected[1]);
        memset(&PR, 0, sizeof PR);
        PR.to = PR.from = 0;
        s.on_event = prio_event;
        for (int i = 0; i < 2; i++) {
            s.link[i].bw = 10 * 1000 * 1000;
            s.link[i].max_queue = RTC_MS(100);
        }
        rtc_sctp_set_stream_priority(s.x[0], 1, 1024);
        rtc_sctp_set_stream_priority(s.x[0], 9, lowprio ? 128 : 1024);
        rtc_sctp_send_opts bulk = rtc_sctp_send_opts_reliable(1, 53);
        size_t queued = 0;
        while (queued < 100u * 1000 * 1000) {
            REQUIRE(rtc_sctp_send(s.x[0], s.now, &bulk, big, 65536) == RTC_OK);
            queued += 65536;
        }
        sim_drain_all(&s);
        sim_run(&s, NULL, s.now + RTC_SEC(2)); /* the bulk transfer is running */
        int before = PR.bulk_before_small;
        rtc_time t0 = s.now;
        s.tap = small_tap;
        small_armed = true;
        small_sent = false;
        bulk_bytes_between = 0;
        rtc_sctp_send_opts chat = rtc_sctp_send_opts_reliable(9, 51);
        CHECK_EQ_INT(rtc_sctp_send(s.x[0], s.now, &chat, (const uint8_t *)"hi", 2), RTC_OK);
        sim_drain_all(&s);
        for (int g = 0; g < 1000000 && !PR.small_at && s.now < t0 + RTC_SEC(10); g++)
            if (!sim_step(&s)) break;
        fprintf(stderr, "  small message (priority %d) behind 100 MB: delivered after %lld ms, "
                "%llu bulk bytes sent before it, %d bulk messages delivered meanwhile\n",
                lowprio ? 128 : 1024, (long long)((PR.small_at - t0) / 1000),
                (unsigned long long)bulk_bytes_between, PR.bulk_before_small - before);
        CHECK(small_sent && PR.small_at > 0);
        /* It waited for the rest of the message being cut, nothing more (the latency
        ** beyond that is the data already in flight in the 100 ms link queue). */
        CHECK(bulk_bytes_between <= 65536);
        CHECK(PR.small_at - t0 < RTC_MS(300));
        CHECK(PR.bulk_before_small - before <= 20); /* not ~1500 */
        sim_free(&s);
    }
    free(big);
}

/* A stale `now` (a layer above that answers from inside its poll) must not move the
** clock back: timers armed in the past would fire at once (spurious T3, cwnd lost). */
static void test_stale_now(void) {
    tctx c;
    ctx_init(&c, 71);
    sim s;
    connect_pair(&s, &c, NULL, 71);
    REQUIRE(c.connected[0] && c.connected[1]);
    rtc_sctp_send_opts o = rtc_sctp_send_opts_reliable(1, 51);
    for (int i = 0; i < 20; i++) {
        CHECK_EQ_INT(rtc_sctp_send(s.x[1], i ? s.now - RTC_SEC(900) : 0, &o,
                                   (const uint8_t *)"late", 4), RTC_OK);
        sim_drain_all(&s);
        sim_run(&s, NULL, s.now + RTC_MS(30));
    }
    sim_run(&s, NULL, s.now + RTC_SEC(2));
    rtc_sctp_stats st;
    rtc_sctp_get_stats(s.x[1], &st);
    CHECK_EQ_INT(c.msgs[0], 20);
    CHECK_EQ_INT(st.t3_expirations, 0);
    CHECK_EQ_INT(st.retransmitted_chunks, 0);
    sim_free(&s);
}

/* The request overtakes its data: the peer answers "In progress", performs later. */
static void test_stream_reset_deferred(void) {
    tctx c;
    ctx_init(&c, 43);
    sim s;
    connect_pair(&s, &c, NULL, 43);
    REQUIRE(c.connected[0] && c.connected[1]);
    RS = &s;
    s.on_event = reset_echo_event;
    rtc_sctp_send_opts o = rtc_sctp_send_opts_reliable(9, 51);
    s.link[0].down = true; /* the data is lost once */
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(rtc_sctp_send(s.x[0], s.now, &o, (const uint8_t *)"abc", 3), RTC_OK);
    sim_drain_all(&s);
    s.link[0].down = false;
    uint16_t id = 9;
    CHECK_EQ_INT(rtc_sctp_reset_streams(s.x[0], &id, 1), RTC_OK);
    sim_drain_all(&s);
    sim_run(&s, NULL, s.now + RTC_SEC(10));
    CHECK_EQ_INT(c.msgs[1], 3);
    CHECK_EQ_INT(c.reset_in[1], 1); /* exactly once, after the data */
    CHECK_EQ_INT(c.reset_done[0], 1);
    CHECK_EQ_INT(c.reset_in[0], 1);
    CHECK_EQ_INT(c.reset_done[1], 1);
    sim_free(&s);
}

static void test_abort(void) {
    tctx c;
    ctx_init(&c, 51);
    sim s;
    connect_pair(&s, &c, NULL, 51);
    REQUIRE(c.connected[0] && c.connected[1]);
    CHECK_EQ_INT(rtc_sctp_abort(s.x[0], s.now), RTC_OK);
    CHECK_EQ_INT(rtc_sctp_abort(s.x[0], s.now), RTC_ERR_CLOSED);
    sim_drain_all(&s);
    sim_run(&s, NULL, s.now + RTC_SEC(1));
    CHECK_EQ_INT(c.closed[0], 1);
    CHECK_EQ_INT(c.reason[0], RTC_SCTP_CLOSE_LOCAL_ABORT);
    CHECK_EQ_INT(c.closed[1], 1);
    CHECK_EQ_INT(c.reason[1], RTC_SCTP_CLOSE_PEER_ABORT);
    CHECK_EQ_INT(c.cause[1], 12);
    rtc_sctp_send_opts o = rtc_sctp_send_opts_reliable(1, 51);
    CHECK_EQ_INT(rtc_sctp_send(s.x[1], s.now, &o, (const uint8_t *)"x", 1), RTC_ERR_CLOSED);
    sim_free(&s);
}

static bool both_closed(sim *s) { (void)s; return T->closed[0] && T->closed[1]; }

static void test_shutdown(void) {
    tctx c;
    ctx_init(&c, 61);
    sim s;
    connect_pair(&s, &c, NULL, 61);
    REQUIRE(c.connected[0] && c.connected[1]);
    s.link[0].loss = s.link[1].loss = 0.2;
    rtc_sctp_send_opts o = rtc_sctp_send_opts_reliable(1, 51);
    uint8_t big[20000];
    memset(big, 0xab, sizeof big);
    for (int i = 0; i < 30; i++) CHECK_EQ_INT(rtc_sctp_send(s.x[0], s.now, &o, big, sizeof big), RTC_OK);
    CHECK_EQ_INT(rtc_sctp_shutdown(s.x[0], s.now), RTC_OK);
    CHECK_EQ_INT(rtc_sctp_send(s.x[0], s.now, &o, big, 10), RTC_ERR_MISUSE);
    sim_drain_all(&s);
    CHECK(sim_run(&s, both_closed, s.now + RTC_SEC(120)));
    CHECK_EQ_INT(c.msgs[1], 30); /* everything queued before SHUTDOWN was delivered */
    CHECK_EQ_INT(c.reason[0], RTC_SCTP_CLOSE_SHUTDOWN);
    CHECK_EQ_INT(c.reason[1], RTC_SCTP_CLOSE_SHUTDOWN);
    CHECK_EQ_INT(rtc_sctp_get_state(s.x[0]), RTC_SCTP_DONE);
    CHECK_EQ_INT(rtc_sctp_next_timeout(s.x[0]), RTC_TIME_NEVER);
    sim_free(&s);

    /* Both sides shut down at once (§9.2 SHUTDOWN crossing SHUTDOWN). */
    ctx_init(&c, 62);
    connect_pair(&s, &c, NULL, 62);
    REQUIRE(c.connected[0] && c.connected[1]);
    CHECK_EQ_INT(rtc_sctp_send(s.x[0], s.now, &o, big, 5000), RTC_OK);
    CHECK_EQ_INT(rtc_sctp_send(s.x[1], s.now, &o, big, 5000), RTC_OK);
    CHECK_EQ_INT(rtc_sctp_shutdown(s.x[0], s.now), RTC_OK);
    CHECK_EQ_INT(rtc_sctp_shutdown(s.x[1], s.now), RTC_OK);
    sim_drain_all(&s);
    CHECK(sim_run(&s, both_closed, s.now + RTC_SEC(30)));
    CHECK_EQ_INT(c.msgs[0], 1);
    CHECK_EQ_INT(c.msgs[1], 1);
    CHECK_EQ_INT(c.reason[0], RTC_SCTP_CLOSE_SHUTDOWN);
    CHECK_EQ_INT(c.reason[1], RTC_SCTP_CLOSE_SHUTDOWN);
    sim_free(&s);
}

/* The receiving application stops reading for 10 minutes: the window closes, the
** sender probes, the association survives, and everything arrives once reading resumes. */
static void test_slow_reader(void) {
    tctx c;
    ctx_init(&c, 75);
    c.min_len = 6;
    c.max_len = 60000;
    add_plan(&c, 1, false, -1, -1, 200);
    rtc_sctp_config cfg;
    rtc_sctp_config_default(&cfg);
    cfg.max_message_size = 64 * 1024;
    cfg.recv_window = 128 * 1024;
    cfg.heartbeat_interval = RTC_TIME_NEVER; /* only the probes' SACKs show liveness */
    sim s;
    connect_pair(&s, &c, &cfg, 75);
    REQUIRE(c.connected[1]);
    s.no_events[1] = true;
    rtc_time resume = s.now + RTC_SEC(600);
    for (uint64_t guard = 0; guard < 2000000 && !transfer_done(&s); guard++) {
        if (c.closed[0] || c.closed[1]) break;
        if (s.now >= resume) s.no_events[1] = false;
        pump(&s);
        sim_drain_all(&s);
        if (!sim_step(&s)) break;
        if (s.no_events[1] && s.now >= resume) continue;
    }
    CHECK_EQ_INT(c.closed[0] + c.closed[1], 0);
    CHECK(transfer_done(&s));
    CHECK_EQ_INT(c.sp[0].recv_count, 200);
    CHECK_EQ_INT(c.errors, 0);
    CHECK(s.now >= resume);
    rtc_sctp_stats st, st1;
    rtc_sctp_get_stats(s.x[0], &st);
    rtc_sctp_get_stats(s.x[1], &st1);
    fprintf(stderr, "  slow reader: %llu T3 expirations, %llu chunks dropped by the full receiver\n",
            (unsigned long long)st.t3_expirations, (unsigned long long)st1.dropped_chunks);
    CHECK(st1.dropped_chunks > 0); /* the probes really hit a full window */
    free_plans(&c);
    sim_free(&s);
}

static void test_peer_vanishes(void) {
    tctx c;
    ctx_init(&c, 71);
    sim s;
    connect_pair(&s, &c, NULL, 71);
    REQUIRE(c.connected[0]);
    s.link[0].down = s.link[1].down = true;
    rtc_sctp_send_opts o = rtc_sctp_send_opts_reliable(1, 51);
    CHECK_EQ_INT(rtc_sctp_send(s.x[0], s.now, &o, (const uint8_t *)"lost", 4), RTC_OK);
    sim_drain_all(&s);
    sim_run(&s, NULL, s.now + RTC_SEC(600));
    CHECK_EQ_INT(c.closed[0], 1);
    CHECK_EQ_INT(c.reason[0], RTC_SCTP_CLOSE_TIMEOUT);
    /* B notices through heartbeats. */
    CHECK_EQ_INT(c.closed[1], 1);
    CHECK_EQ_INT(c.reason[1], RTC_SCTP_CLOSE_TIMEOUT);
    sim_free(&s);
}

/* ---- API edges ----------------------------------------------------------------------- */

static void test_api_edges(void) {
    tctx c;
    ctx_init(&c, 81);
    rtc_sctp_config cfg;
    rtc_sctp_config_default(&cfg);
    cfg.send_buffer = 10000;
    sim s;
    connect_pair(&s, &c, &cfg, 81);
    REQUIRE(c.connected[0]);
    rtc_sctp_send_opts o = rtc_sctp_send_opts_reliable(2, 51);
    uint8_t b[300000];
    memset(b, 1, sizeof b);
    CHECK_EQ_INT(rtc_sctp_send(s.x[0], s.now, &o, b, 0), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sctp_send(s.x[0], s.now, &o, b, 256 * 1024 + 1), RTC_ERR_INVALID);
    o.stream = 65535;
    CHECK_EQ_INT(rtc_sctp_send(s.x[0], s.now, &o, b, 10), RTC_ERR_INVALID);
    o.stream = 2;
    rtc_sctp_set_remote_max_message_size(s.x[0], 1000);
    CHECK_EQ_INT(rtc_sctp_send(s.x[0], s.now, &o, b, 1001), RTC_ERR_INVALID);
    rtc_sctp_set_remote_max_message_size(s.x[0], 0);
    /* Bounded send buffer: the first message may exceed it, the next must wait. */
    CHECK_EQ_INT(rtc_sctp_set_buffered_amount_low(s.x[0], 2, 100), RTC_OK);
    CHECK_EQ_INT(rtc_sctp_send(s.x[0], s.now, &o, b, 8000), RTC_OK);
    CHECK_EQ_INT(rtc_sctp_buffered_amount(s.x[0], 2), 8000);
    CHECK_EQ_INT(rtc_sctp_send(s.x[0], s.now, &o, b, 8000), RTC_ERR_AGAIN);
    sim_drain_all(&s);
    /* the initial cwnd (4 MTU) lets about half of it go at once */
    CHECK(rtc_sctp_buffered_amount(s.x[0], 2) > 100);
    CHECK(rtc_sctp_buffered_amount(s.x[0], 2) < 8000);
    CHECK_EQ_INT(c.low[0], 0);
    sim_run(&s, NULL, s.now + RTC_SEC(1));
    CHECK_EQ_INT(rtc_sctp_buffered_amount(s.x[0], 2), 0);
    CHECK_EQ_INT(c.low[0], 1);
    CHECK_EQ_INT(rtc_sctp_buffered_total(s.x[0]), 0);
    CHECK_EQ_INT(rtc_sctp_send(s.x[0], s.now, &o, b, 8000), RTC_OK);
    uint16_t bad = 65535;
    CHECK_EQ_INT(rtc_sctp_reset_streams(s.x[0], &bad, 1), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_sctp_reset_streams(s.x[0], &bad, 0), RTC_ERR_INVALID);
    sim_free(&s);
    /* Allocation failure is reported, not crashed on. */
    tenv te;
    memset(&te, 0, sizeof te);
    te.rng = 1;
    te.mem.fail = true;
    rtc_env e = {count_realloc, t_random, NULL, &te, 0};
    rtc_sctp *x = NULL;
    CHECK_EQ_INT(rtc_sctp_new(&x, NULL, &e), RTC_ERR_NOMEM);
    CHECK(x == NULL);
    rtc_sctp_free(NULL);
    cfg.mtu = 100;
    CHECK_EQ_INT(rtc_sctp_new(&x, &cfg, NULL), RTC_ERR_INVALID);
}

/* Random allocation failures on both sides during a lossy transfer: no crash, no leak
** (ASan), no corrupted, duplicated or lost message. */
static void test_nomem_chaos(void) {
    const char *sv = getenv("SCTP_TEST_SEED");
    uint64_t seed = 111 + (sv ? (uint64_t)atoll(sv) * 1000 : 0);
    tctx c;
    ctx_init(&c, seed);
    c.min_len = 6;
    c.max_len = 3000;
    add_plan(&c, 2, true, -1, -1, 300);
    sim s;
    connect_pair(&s, &c, NULL, seed);
    REQUIRE(c.connected[0] && c.connected[1]);
    for (int i = 0; i < 2; i++) {
        s.link[i].loss = 0.05;
        c.te[i].mem.fail_per_mille = 20;
        c.te[i].mem.fail_rng = seed * 77 + (uint64_t)i;
    }
    rtc_time end = s.now + RTC_SEC(120);
    for (uint64_t guard = 0; guard < 2000000 && s.now < end; guard++) {
        if (c.closed[0] || c.closed[1]) break;
        pump(&s);
        sim_drain_all(&s);
        if (!sim_step(&s)) break;
    }
    CHECK_EQ_INT(c.errors, 0);
    CHECK(c.te[0].mem.failed + c.te[1].mem.failed > 0);
    /* An acknowledged message is never lost to NOMEM: a chunk we cannot store or
    ** assemble stays unacknowledged and comes again. */
    CHECK_EQ_INT(c.sp[0].recv_count, 300);
    fprintf(stderr, "  %llu+%llu allocations failed; %u of 300 messages delivered\n",
            (unsigned long long)c.te[0].mem.failed, (unsigned long long)c.te[1].mem.failed,
            c.sp[0].recv_count);
    for (int i = 0; i < 2; i++) c.te[i].mem.fail_per_mille = 0;
    free_plans(&c);
    sim_free(&s);
}

/* ---- hostile peers ------------------------------------------------------------------- */

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static void wr32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

/* Learn B's tag and A's next TSN from one captured DATA packet A->B. */
static int learn(sim *s, struct tctx *c, uint32_t *vtag, uint32_t *tsn) {
    memset(&CAP, 0, sizeof CAP);
    s->tap = cap_tap;
    rtc_sctp_send_opts o = rtc_sctp_send_opts_reliable(1, 51);
    rtc_sctp_send(s->x[0], s->now, &o, (const uint8_t *)"probe", 5);
    sim_drain_all(s);
    sim_run(s, NULL, s->now + RTC_MS(500));
    s->tap = NULL;
    (void)c;
    for (int i = 0; i < CAP.n; i++)
        if (CAP.side[i] == 0 && CAP.pkt[i][12] == 0) {
            *vtag = rd32(CAP.pkt[i] + 4);
            *tsn = rd32(CAP.pkt[i] + 16) + 1;
            return 0;
        }
    return -1;
}

static size_t mk_data(uint8_t *p, uint32_t vtag, uint32_t tsn, uint16_t sid, uint16_t ssn,
                      uint8_t flags, size_t plen) {
    memset(p, 0, 16 + 16 + plen + 3);
    wr16(p, 5000);
    wr16(p + 2, 5000);
    wr32(p + 4, vtag);
    p[12] = 0;
    p[13] = flags;
    wr16(p + 14, (uint16_t)(16 + plen));
    wr32(p + 16, tsn);
    wr16(p + 20, sid);
    wr16(p + 22, ssn);
    wr32(p + 24, 53);
    for (size_t i = 0; i < plen; i++) p[28 + i] = (uint8_t)i;
    size_t n = (28 + plen + 3) & ~(size_t)3;
    set_crc(p, n);
    return n;
}

static void test_hostile_window(void) {
    tctx c;
    ctx_init(&c, 91);
    rtc_sctp_config cfg;
    rtc_sctp_config_default(&cfg);
    cfg.recv_window = 300 * 1024;
    cfg.max_message_size = 64 * 1024;
    sim s;
    make_pair(&s, &c, &cfg, 91);
    rtc_sctp_connect(s.x[0], s.now);
    rtc_sctp_connect(s.x[1], s.now);
    sim_drain_all(&s);
    sim_run(&s, both_connected, s.now + RTC_SEC(5));
    REQUIRE(c.connected[1]);
    uint32_t vtag = 0, tsn = 0;
    REQUIRE(learn(&s, &c, &vtag, &tsn) == 0);
    size_t base = c.te[1].mem.cur;
    uint8_t p[1300];
    /* 1) A flood of middle fragments beyond a hole, ignoring a_rwnd. */
    for (uint32_t i = 1; i < 20000; i++) {
        size_t n = mk_data(p, vtag, tsn + i, 1, 0, 0, 1100);
        rtc_sctp_handle_packet(s.x[1], s.now, p, n);
    }
    /* 2) Then fill the holes with big chunks of never-ending messages. */
    for (uint32_t i = 0; i < 20000; i++) {
        size_t n = mk_data(p, vtag, tsn + 20000 + i, 2, 0, (i == 0) ? 2 : 0, 1100);
        rtc_sctp_handle_packet(s.x[1], s.now, p, n);
    }
    size_t used = c.te[1].mem.peak - base;
    fprintf(stderr, "  hostile flood: B peak growth %zu KiB (window %u KiB)\n", used >> 10,
            cfg.recv_window >> 10);
    CHECK(used < 3u * cfg.recv_window + (2u << 20));
    rtc_sctp_stats st;
    rtc_sctp_get_stats(s.x[1], &st);
    CHECK(st.dropped_chunks > 0);
    /* 3) A message larger than max_message_size, delivered in order: B aborts. */
    sim s2;
    tctx c2;
    ctx_init(&c2, 92);
    connect_pair(&s2, &c2, &cfg, 92);
    REQUIRE(learn(&s2, &c2, &vtag, &tsn) == 0);
    for (uint32_t i = 0; i < 80 && !c2.closed[1]; i++) {
        size_t n = mk_data(p, vtag, tsn + i, 1, 1, (i == 0 ? 2 : 0) | (i == 79 ? 1 : 0), 1100);
        rtc_sctp_handle_packet(s2.x[1], s2.now, p, n);
        sim_drain_all(&s2);
    }
    CHECK_EQ_INT(c2.closed[1], 1);
    CHECK_EQ_INT(c2.reason[1], RTC_SCTP_CLOSE_PROTOCOL);
    sim_free(&s2);
    T = &c;
    sim_free(&s);
}

static void test_malformed_flood(void) {
    tctx c;
    sim s;
    uint64_t r = 5;
    uint8_t p[1200];
    int parse_errors = 0, restarts = 0;
    uint32_t vtag = 0, tsn = 0;
    memset(&s, 0, sizeof s);
    for (int it = 0; it < 200000; it++) {
        if (!s.x[1] || rtc_sctp_get_state(s.x[1]) == RTC_SCTP_DONE) {
            /* The flood may legitimately end an association (a SHUTDOWN or a protocol
            ** violation it contains): start another and keep going. */
            if (s.x[1]) {
                sim_drain_all(&s);
                if (getenv("SCTP_DEBUG")) fprintf(stderr, "closed reason %d cause %d state %d\n", c.reason[1], c.cause[1], rtc_sctp_get_state(s.x[1]));
                sim_free(&s);
            }
            ctx_init(&c, 101 + (uint64_t)restarts);
            connect_pair(&s, &c, NULL, 101 + (uint64_t)restarts);
            REQUIRE(c.connected[1]);
            REQUIRE(learn(&s, &c, &vtag, &tsn) == 0);
            restarts++;
        }
        size_t n = 16 + (sim_rand(&r) % 200) * 4;
        for (size_t i = 0; i < n; i++) p[i] = (uint8_t)sim_rand(&r);
        wr16(p, 5000);
        wr16(p + 2, 5000);
        wr32(p + 4, vtag);
        /* Mostly well-framed chunks of random types and contents. */
        size_t off = 12;
        while (off + 4 <= n) {
            size_t cl = 4 + (sim_rand(&r) % 64);
            if (off + cl > n) cl = n - off;
            uint8_t types[] = {0, 3, 4, 5, 6, 0, 8, 9, 11, 0, 130, 192, 2, 10, 1, 0xff};
            p[off] = types[sim_rand(&r) % sizeof types];
            /* no ABORT, INIT, SHUTDOWN or SHUTDOWN-COMPLETE: they end it legitimately */
            if (p[off] == 6 || p[off] == 1) p[off] = 0;
            if (sim_rand(&r) % 8) wr16(p + off + 2, (uint16_t)cl);
            if (p[off] == 0 && cl >= 8 && sim_rand(&r) % 2) wr32(p + off + 4, tsn + (uint32_t)(sim_rand(&r) % 64));
            off += (cl + 3) & ~(size_t)3;
        }
        if (sim_rand(&r) % 2) set_crc(p, n);
        else memset(p + 8, 0, 4);
        if (rtc_sctp_handle_packet(s.x[1], s.now, p, n) == RTC_ERR_PARSE) parse_errors++;
        if (it % 64 == 0) {
            /* keep B's output drained, as a real driver would */
            const uint8_t *d;
            size_t l;
            rtc_sctp_event ev;
            for (int k = 0; k < 1000 && rtc_sctp_poll_transmit(s.x[1], &d, &l); k++) {}
            for (int k = 0; k < 100000 && rtc_sctp_poll_event(s.x[1], &ev); k++) {}
        }
    }
    CHECK(parse_errors > 0);
    CHECK(restarts < 2000);
    fprintf(stderr, "  malformed flood: %d parse errors, %d associations\n", parse_errors,
            restarts);
    sim_free(&s);
}

#undef RUN
#define RUN(fn)                                                                         \
    do {                                                                                \
        const char *only_ = getenv("SCTP_TEST_ONLY");                                  \
        if (only_ && !strstr(#fn, only_)) break;                                        \
        int before_ = rtc_test_failures;                                                \
        rtc_test_current = #fn;                                                         \
        fn();                                                                           \
        fprintf(stderr, "%s %s\n", rtc_test_failures == before_ ? "ok  " : "FAIL", #fn); \
    } while (0)

int main(void) {
    RUN(test_handshake_collision);
    RUN(test_handshake_lossy_one_sided);
    RUN(test_zero_checksum_negotiation);
    RUN(test_api_edges);
    RUN(test_cookie_security);
    RUN(test_stream_reset);
    RUN(test_stream_reset_deferred);
    RUN(test_stream_fairness);
    RUN(test_stream_priority);
    RUN(test_priority_small_behind_bulk);
    RUN(test_stale_now);
    RUN(test_abort);
    RUN(test_shutdown);
    RUN(test_slow_reader);
    RUN(test_peer_vanishes);
    RUN(test_transfer_0);
    RUN(test_transfer_1);
    RUN(test_transfer_10);
    RUN(test_transfer_30);
    RUN(test_nomem_chaos);
    RUN(test_hostile_window);
    RUN(test_malformed_flood);
    return TEST_DONE();
}
