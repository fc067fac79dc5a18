/*
** tests/unit/sctp/test_bulk.c: GiB-scale transfers between two of our associations
** through the simulated network of sctp_sim.h (virtual clock, seeded).
**
** One scenario per run (argv[1]; default loss0; "all" runs every one); extra.cmake
** registers each as its own ctest test so CI's -j2 runs them side by side. In the
** normal build the four move 512 + 256 + 160 + 96 MiB = 1 GiB of reliable user data;
** under ASan 1/32 of that. Each scenario mixes loss, duplication, reordering and a
** bandwidth limit with a drop-tail queue (more loss), and every channel type at once:
**
**   stream 1  reliable ordered     priority 1024  65 % of the MiB   SHA-256 of the stream
**   stream 2  reliable unordered   priority 256   25 %              SHA-256 multiset sum
**   stream 5  reliable ordered, the other way     10 %              SHA-256 of the stream
**   stream 3  max 1 retransmission, ordered  128  +5 %              per message
**   stream 4  lifetime 300 ms, unordered     512  +5 %, <= 1150 B   per message
**
** so the reliable streams carry exactly the scenario's MiB (1 GiB over the four) and the
** partially reliable ones 10 % more.
** Every delivered message is checked whole (its bytes are a counter-based PRNG of
** stream, index and position, regenerated on receipt), exactly once (bitmap), in order
** where ordered; reliable streams must deliver everything and their SHA-256 (over the
** delivered stream, or for unordered delivery the sum of per-message digests) must
** equal the sender's; partially reliable streams may lose only messages the sender
** abandoned. Messages are 6 B to 64 KiB (fragmented). Prints MiB, virtual and wall
** time, retransmissions.
**
** Knobs: SCTP_BULK_MB=n (MiB per scenario), SCTP_TEST_SEED=n (seed sweeps).
*/
#include <openssl/evp.h>
#include <time.h>

#include "cwebrtc/sctp.h"
#include "sctp_sim.h"
#include "test.h"
#include "util/util.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

typedef struct scenario {
    const char *name;
    unsigned mib;           /* user bytes, all streams, normal build */
    double loss, dup, reorder;
    int reorder_ms, delay_ms, mbps, queue_ms;
    uint32_t max_retransmits; /* association failure threshold (0: default 10) */
    uint64_t seed;
} scenario;

/* 30 % loss both ways fails a retransmission (data or SACK lost) half the time; with
** the default 10 consecutive failures allowed, a 96 MiB run would meet such a streak
** (p ~ 0.5^11 per loss episode, thousands of episodes). A path that lossy calls for a
** higher Association.Max.Retrans; the others use the default. */
static const scenario SCENARIOS[] = {
    {"loss0", 512, 0.00, 0.005, 0.005, 2, 5, 1000, 20, 0, 1},
    {"loss1", 256, 0.01, 0.005, 0.01, 10, 10, 200, 50, 0, 2},
    {"loss10", 160, 0.10, 0.020, 0.05, 20, 15, 100, 60, 0, 3},
    {"loss30", 96, 0.30, 0.050, 0.10, 30, 10, 100, 60, 30, 4},
};

/* ---- message content: a counter-based PRNG, so nothing is stored --------------------- */

static inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t run_seed;

static inline uint64_t msg_key(uint16_t sid, uint32_t idx) {
    return mix64(run_seed ^ ((uint64_t)sid << 48) ^ ((uint64_t)idx * 0x9e3779b97f4a7c15ull));
}

/* 6..64 KiB: a third small (6..99), a third one packet or less, a third fragmented.
** Stream 4 (300 ms lifetime, like game state) sends only the first two kinds: a 64 KiB
** message at its share of a lossy link takes longer than its lifetime. */
static size_t msg_len(uint16_t sid, uint32_t idx) {
    uint64_t h = mix64(msg_key(sid, idx) + 1);
    switch (h % (sid == 4 ? 2 : 3)) {
    case 0: return 6 + (size_t)((h >> 8) % 94);
    case 1: return 100 + (size_t)((h >> 8) % 1050);
    default: return 1150 + (size_t)((h >> 8) % (65536 - 1150 + 1));
    }
}

/* Bytes 0-5: stream and index; then 8-byte words of mix64(key + word number). */
static void fill_msg(uint8_t *b, uint16_t sid, uint32_t idx, size_t len) {
    b[0] = (uint8_t)(sid >> 8);
    b[1] = (uint8_t)sid;
    b[2] = (uint8_t)(idx >> 24);
    b[3] = (uint8_t)(idx >> 16);
    b[4] = (uint8_t)(idx >> 8);
    b[5] = (uint8_t)idx;
    uint64_t key = msg_key(sid, idx);
    size_t pos = 6, k = 0;
    for (; pos + 8 <= len; pos += 8, k++) {
        uint64_t v = mix64(key + k);
        memcpy(b + pos, &v, 8);
    }
    if (pos < len) {
        uint64_t v = mix64(key + k);
        memcpy(b + pos, &v, len - pos);
    }
}

static bool check_content(const uint8_t *b, uint16_t sid, uint32_t idx, size_t len) {
    uint64_t key = msg_key(sid, idx);
    size_t pos = 6, k = 0;
    for (; pos + 8 <= len; pos += 8, k++) {
        uint64_t v = mix64(key + k), got;
        memcpy(&got, b + pos, 8);
        if (got != v) return false;
    }
    if (pos < len) {
        uint64_t v = mix64(key + k);
        if (memcmp(b + pos, &v, len - pos) != 0) return false;
    }
    return true;
}

/* ---- streams ------------------------------------------------------------------------- */

typedef struct plan {
    uint16_t id;
    int from;              /* sending side */
    bool unordered;
    int32_t max_rtx, lifetime_ms;
    uint16_t priority;
    uint64_t budget;       /* bytes to send */
    size_t max_buffered;   /* keep at most this much queued */
    /* sender */
    uint64_t sent_bytes;
    uint32_t sent;         /* messages accepted by rtc_sctp_send */
    uint8_t *next;         /* the next message, generated once, retried on AGAIN */
    size_t next_len;
    bool have_next;
    EVP_MD_CTX *sha_tx;
    uint64_t sum_tx[4];
    /* receiver */
    uint8_t *seen;         /* bitmap by index */
    size_t seen_cap;       /* bytes */
    uint32_t recv;
    uint64_t recv_bytes;
    int64_t last;
    EVP_MD_CTX *sha_rx;
    uint64_t sum_rx[4];
} plan;

#define NPLAN 5
typedef struct bulk {
    plan p[NPLAN];
    uint64_t errors, dup_deliveries, order_errors, content_errors;
    int closed[2];
    int connected[2];
    EVP_MD_CTX *md1; /* scratch for per-message digests */
} bulk;
static bulk *B;

static bool reliable(const plan *p) { return p->max_rtx < 0 && p->lifetime_ms < 0; }

static void sum_add(uint64_t acc[4], const uint8_t d[32]) {
    /* 256-bit addition: an order-independent digest of a multiset of messages */
    unsigned __int128 carry = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t w;
        memcpy(&w, d + 8 * i, 8);
        carry += (unsigned __int128)acc[i] + w;
        acc[i] = (uint64_t)carry;
        carry >>= 64;
    }
}

static void msg_digest_add(uint64_t acc[4], const uint8_t *d, size_t len) {
    uint8_t h[32];
    unsigned hl = 32;
    EVP_DigestInit_ex(B->md1, EVP_sha256(), NULL);
    EVP_DigestUpdate(B->md1, d, len);
    EVP_DigestFinal_ex(B->md1, h, &hl);
    sum_add(acc, h);
}

static plan *plan_of(int to_side, uint16_t sid) {
    for (int i = 0; i < NPLAN; i++)
        if (B->p[i].id == sid && B->p[i].from == 1 - to_side) return &B->p[i];
    return NULL;
}

static void seen_grow(plan *p, uint32_t n) {
    size_t need = n / 8 + 1;
    if (need <= p->seen_cap) return;
    size_t nc = p->seen_cap ? p->seen_cap : 1024;
    while (nc < need) nc *= 2;
    p->seen = realloc(p->seen, nc);
    if (!p->seen) abort();
    memset(p->seen + p->seen_cap, 0, nc - p->seen_cap);
    p->seen_cap = nc;
}

static void on_message(int side, const rtc_sctp_event *ev) {
    plan *p = plan_of(side, ev->stream);
    if (!p || ev->len < 6 || ev->ppid != 53 || ev->unordered != p->unordered) {
        B->errors++;
        return;
    }
    const uint8_t *d = ev->data;
    uint16_t sid = (uint16_t)(d[0] << 8 | d[1]);
    uint32_t idx = (uint32_t)d[2] << 24 | (uint32_t)d[3] << 16 | (uint32_t)d[4] << 8 | d[5];
    if (sid != ev->stream || idx >= p->sent || ev->len != msg_len(sid, idx)) {
        B->errors++;
        return;
    }
    if (!check_content(d, sid, idx, ev->len)) {
        B->content_errors++;
        return;
    }
    if (p->seen[idx / 8] & (1u << (idx % 8))) {
        B->dup_deliveries++;
        return;
    }
    p->seen[idx / 8] |= (uint8_t)(1u << (idx % 8));
    if (!p->unordered) {
        if ((reliable(p) && idx != (uint32_t)(p->last + 1)) || (int64_t)idx <= p->last)
            B->order_errors++;
        p->last = idx;
    }
    p->recv++;
    p->recv_bytes += ev->len;
    if (reliable(p)) {
        if (p->unordered) msg_digest_add(p->sum_rx, d, ev->len);
        else EVP_DigestUpdate(p->sha_rx, d, ev->len);
    }
}

static void on_event(sim *s, int side, const rtc_sctp_event *ev) {
    (void)s;
    switch (ev->kind) {
    case RTC_SCTP_EV_CONNECTED: B->connected[side]++; break;
    case RTC_SCTP_EV_CLOSED: B->closed[side]++; break;
    case RTC_SCTP_EV_MESSAGE: on_message(side, ev); break;
    default: break;
    }
}

/* Keep every stream's queue topped up, without generating a message twice when the
** send buffer is full. */
static void pump(sim *s) {
    for (int i = 0; i < NPLAN; i++) {
        plan *p = &B->p[i];
        rtc_sctp *x = s->x[p->from];
        while (p->sent_bytes < p->budget && rtc_sctp_buffered_amount(x, p->id) < p->max_buffered) {
            if (!p->have_next) {
                p->next_len = msg_len(p->id, p->sent);
                fill_msg(p->next, p->id, p->sent, p->next_len);
                p->have_next = true;
            }
            rtc_sctp_send_opts o = rtc_sctp_send_opts_reliable(p->id, 53);
            o.unordered = p->unordered;
            o.max_retransmits = p->max_rtx;
            o.max_lifetime_ms = p->lifetime_ms;
            int rc = rtc_sctp_send(x, s->now, &o, p->next, p->next_len);
            if (rc == RTC_ERR_AGAIN) break;
            if (rc != RTC_OK) {
                B->errors++;
                p->sent_bytes = p->budget; /* stop this stream */
                break;
            }
            if (reliable(p)) {
                if (p->unordered) msg_digest_add(p->sum_tx, p->next, p->next_len);
                else EVP_DigestUpdate(p->sha_tx, p->next, p->next_len);
            }
            p->have_next = false;
            p->sent++;
            p->sent_bytes += p->next_len;
            seen_grow(p, p->sent);
        }
    }
}

static bool done(sim *s) {
    for (int i = 0; i < NPLAN; i++) {
        plan *p = &B->p[i];
        if (p->sent_bytes < p->budget) return false;
        if (reliable(p) && p->recv < p->sent) return false;
    }
    return rtc_sctp_buffered_total(s->x[0]) == 0 && rtc_sctp_buffered_total(s->x[1]) == 0;
}

static double wall_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void t_random(void *ud, uint8_t *out, size_t len) {
    uint64_t *st = ud;
    for (size_t i = 0; i < len; i++) out[i] = (uint8_t)(sim_rand(st) >> 17);
}

static void run_scenario(const scenario *sc) {
    double w0 = wall_now();
    uint64_t seed = sc->seed;
    const char *ev = getenv("SCTP_TEST_SEED");
    if (ev) seed += (uint64_t)atoll(ev) * 1000;
    run_seed = mix64(seed * 0x2545f4914f6cdd1dull);
    uint64_t total = (uint64_t)sc->mib << 20;
    if (UNDER_ASAN) total /= 32;
    if ((ev = getenv("SCTP_BULK_MB"))) total = (uint64_t)atoll(ev) << 20;

    bulk b;
    memset(&b, 0, sizeof b);
    B = &b;
    b.md1 = EVP_MD_CTX_new();
    REQUIRE(b.md1);
    /* id, from, unordered, max_rtx, lifetime, priority, share in 1/100, queue KiB (the
    ** lifetime stream keeps a short queue, or its messages would expire waiting) */
    const struct {
        uint16_t id;
        int from;
        bool unordered;
        int32_t rtx, life;
        uint16_t prio;
        unsigned share, queue_kib;
    } spec[NPLAN] = {
        {1, 0, false, -1, -1, 1024, 65, 1024}, {2, 0, true, -1, -1, 256, 25, 1024},
        {3, 0, false, 1, -1, 128, 5, 256},     {4, 0, true, -1, 300, 512, 5, 4},
        {5, 1, false, -1, -1, 256, 10, 1024},
    };
    for (int i = 0; i < NPLAN; i++) {
        plan *p = &b.p[i];
        p->id = spec[i].id;
        p->from = spec[i].from;
        p->unordered = spec[i].unordered;
        p->max_rtx = spec[i].rtx;
        p->lifetime_ms = spec[i].life;
        p->priority = spec[i].prio;
        p->budget = total / 100 * spec[i].share;
        p->max_buffered = (size_t)spec[i].queue_kib << 10;
        p->last = -1;
        p->next = malloc(65536);
        p->sha_tx = EVP_MD_CTX_new();
        p->sha_rx = EVP_MD_CTX_new();
        REQUIRE(p->next && p->sha_tx && p->sha_rx);
        EVP_DigestInit_ex(p->sha_tx, EVP_sha256(), NULL);
        EVP_DigestInit_ex(p->sha_rx, EVP_sha256(), NULL);
        seen_grow(p, 1);
    }

    rtc_sctp_config cfg;
    rtc_sctp_config_default(&cfg);
    cfg.send_buffer = 8u << 20;
    if (sc->max_retransmits) cfg.max_retransmits = sc->max_retransmits;
    uint64_t rng[2] = {seed * 2 + 1, seed * 2 + 2};
    rtc_env env[2];
    sim s;
    memset(&s, 0, sizeof s);
    for (int i = 0; i < 2; i++) {
        memset(&env[i], 0, sizeof env[i]);
        env[i].random = t_random;
        env[i].ud = &rng[i];
        REQUIRE(rtc_sctp_new(&s.x[i], &cfg, &env[i]) == RTC_OK);
        sim_link *l = &s.link[i];
        l->rng = seed * 7919 + (uint64_t)i;
        l->loss = sc->loss;
        l->dup = sc->dup;
        l->reorder = sc->reorder;
        l->reorder_extra = RTC_MS(sc->reorder_ms);
        l->delay = RTC_MS(sc->delay_ms);
        l->bw = (uint64_t)sc->mbps * 1000 * 1000 / 8;
        l->max_queue = RTC_MS(sc->queue_ms);
    }
    for (int i = 0; i < NPLAN; i++)
        CHECK_EQ_INT(rtc_sctp_set_stream_priority(s.x[b.p[i].from], b.p[i].id, b.p[i].priority),
                     RTC_OK);
    s.on_event = on_event;
    s.now = RTC_SEC(1000);
    rtc_time t0 = s.now;
    rtc_sctp_connect(s.x[0], s.now);
    rtc_sctp_connect(s.x[1], s.now);
    sim_drain_all(&s);
    for (uint64_t guard = 0; guard < 2000000000ull; guard++) {
        if (b.closed[0] || b.closed[1] || done(&s)) break;
        if (b.connected[0] && b.connected[1]) {
            pump(&s);
            sim_drain_all(&s);
        }
        if (!sim_step(&s)) break;
    }
    double wall = wall_now() - w0;

    CHECK(done(&s));
    CHECK_EQ_INT(b.closed[0] + b.closed[1], 0);
    CHECK_EQ_INT(b.errors, 0);
    CHECK_EQ_INT(b.content_errors, 0);
    CHECK_EQ_INT(b.dup_deliveries, 0);
    CHECK_EQ_INT(b.order_errors, 0);
    rtc_sctp_stats st[2];
    rtc_sctp_get_stats(s.x[0], &st[0]);
    rtc_sctp_get_stats(s.x[1], &st[1]);
    uint64_t delivered = 0, pr_lost = 0, sent = 0;
    for (int i = 0; i < NPLAN; i++) {
        plan *p = &b.p[i];
        delivered += p->recv_bytes;
        sent += p->sent_bytes;
        CHECK(p->sent_bytes >= p->budget);
        if (reliable(p)) {
            CHECK_EQ_INT(p->recv, p->sent);
            CHECK_EQ_INT(p->recv_bytes, p->sent_bytes);
            if (p->unordered) {
                CHECK_MEM(p->sum_tx, p->sum_rx, sizeof p->sum_tx);
            } else {
                uint8_t h1[32], h2[32];
                unsigned l1 = 32, l2 = 32;
                EVP_DigestFinal_ex(p->sha_tx, h1, &l1);
                EVP_DigestFinal_ex(p->sha_rx, h2, &l2);
                CHECK_MEM(h1, h2, 32);
            }
        } else {
            CHECK(p->recv <= p->sent);
            pr_lost += p->sent - p->recv;
        }
    }
    /* Partial reliability dropped only messages the sender abandoned (side 0 sends
    ** both partially reliable streams). */
    CHECK(pr_lost <= st[0].abandoned_messages);
    if (sc->loss > 0) CHECK(st[0].retransmitted_chunks > 0);
    uint64_t rel = b.p[0].recv_bytes + b.p[1].recv_bytes + b.p[4].recv_bytes;
    CHECK(rel + (uint64_t)(total / 100) >= total); /* budgets round down */
    /* partially reliable streams deliver (at 30 % loss a 300 ms lifetime, barely above
    ** the minimum RTO, may lose every message of a small run) */
    CHECK(b.p[2].recv > 0);
    /* no packet of the data direction lost: nothing may be abandoned for retransmissions */
    if (s.link[0].dropped == 0) CHECK_EQ_INT(b.p[2].recv, b.p[2].sent);
    if (sc->loss < 0.3) CHECK(b.p[3].recv > 0);
    double vsecs = (double)(s.now - t0) / 1e6;
    fprintf(stderr,
            "  %s: %.1f MiB sent, %.1f MiB delivered (%.1f MiB reliable, checked by SHA-256) in %.1f s virtual, "
            "%.2f s wall (%.0f MiB/s); loss %.0f%% dup %.1f%% reorder %.1f%% %d Mbit/s %d ms; "
            "%llu+%llu packets, %llu link drops; rtx %llu (fast %llu, T3 %llu), abandoned %llu of "
            "which %llu lost, srtt %lld ms\n",
            sc->name, (double)sent / 1048576.0, (double)delivered / 1048576.0,
            (double)rel / 1048576.0, vsecs,
            wall, (double)delivered / 1048576.0 / wall, sc->loss * 100, sc->dup * 100,
            sc->reorder * 100, sc->mbps, sc->delay_ms, (unsigned long long)s.link[0].sent,
            (unsigned long long)s.link[1].sent,
            (unsigned long long)(s.link[0].dropped + s.link[1].dropped),
            (unsigned long long)(st[0].retransmitted_chunks + st[1].retransmitted_chunks),
            (unsigned long long)(st[0].fast_retransmits + st[1].fast_retransmits),
            (unsigned long long)(st[0].t3_expirations + st[1].t3_expirations),
            (unsigned long long)st[0].abandoned_messages, (unsigned long long)pr_lost,
            (long long)(st[0].srtt / 1000));
    fprintf(stderr, "    partially reliable: max-rtx stream %u of %u delivered, lifetime stream %u of %u\n",
            b.p[2].recv, b.p[2].sent, b.p[3].recv, b.p[3].sent);
    for (int i = 0; i < NPLAN; i++) {
        plan *p = &b.p[i];
        free(p->next);
        free(p->seen);
        EVP_MD_CTX_free(p->sha_tx);
        EVP_MD_CTX_free(p->sha_rx);
    }
    EVP_MD_CTX_free(b.md1);
    sim_free(&s);
}

int main(int argc, char **argv) {
    const char *which = argc > 1 ? argv[1] : "loss0";
    bool any = false;
    for (size_t i = 0; i < RTC_ARRAY_LEN(SCENARIOS); i++) {
        if (strcmp(which, "all") != 0 && strcmp(which, SCENARIOS[i].name) != 0) continue;
        any = true;
        rtc_test_current = SCENARIOS[i].name;
        int before = rtc_test_failures;
        run_scenario(&SCENARIOS[i]);
        fprintf(stderr, "%s bulk %s\n", rtc_test_failures == before ? "ok  " : "FAIL",
                SCENARIOS[i].name);
    }
    if (!any) {
        fprintf(stderr, "unknown scenario %s (loss0, loss1, loss10, loss30, all)\n", which);
        return 2;
    }
    return TEST_DONE();
}
