/* TURN server core, what one-server-per-thread needs: a shared nonce key (a nonce made by
** one server authenticates on another) and shared quota hooks (acquire/release balanced
** on every path: success, refusal, relay failure, Refresh(0), expiry, free). */
#include "cwebrtc/stun.h"
#include "cwebrtc/turn_server.h"
#include "test.h"

#define REALM "example.org"

#include "fake_relays.h"

/* A shared quota: at most `limit` allocations in all servers together. */
typedef struct quota {
    int live, limit, acquires, releases, refusals;
    char last_user[64];
} quota;
static bool q_acquire(void *ud, const char *user, size_t len) {
    quota *q = ud;
    snprintf(q->last_user, sizeof q->last_user, "%.*s", (int)len, user);
    if (q->live >= q->limit) {
        q->refusals++;
        return false;
    }
    q->live++;
    q->acquires++;
    return true;
}
static void q_release(void *ud, const char *user, size_t len) {
    quota *q = ud;
    q->live--;
    q->releases++;
}

typedef struct client {
    rtc_addr addr, listener;
    char user[64], pass[64], nonce[128];
    rtc_stun_key key;
    uint8_t resp[2048];
    size_t resp_len;
    rtc_stun_msg msg;
} client;

static rtc_time NOW;

static void client_init(client *c, uint16_t port) {
    memset(c, 0, sizeof *c);
    rtc_addr_parse_ip(&c->addr, "203.0.113.5", port);
    rtc_addr_parse(&c->listener, "192.0.2.10:3478", 0);
    snprintf(c->user, sizeof c->user, "alice");
    snprintf(c->pass, sizeof c->pass, "secret");
    rtc_stun_key_long_term(&c->key, RTC_STUN_PASSWORD_ALG_MD5, c->user, strlen(c->user), REALM,
                           strlen(REALM), c->pass, strlen(c->pass), NULL);
}

/* One request to server s; the error code (0 success, -1 no answer). */
static int request(rtc_turn_server *s, client *c, uint16_t method, uint32_t lifetime) {
    uint8_t buf[512], tid[12];
    rtc_stun_builder b;
    rtc_stun_random_tid(NULL, tid);
    rtc_stun_build_init(&b, buf, sizeof buf, method, RTC_STUN_REQUEST, tid);
    if (method == RTC_STUN_ALLOCATE) rtc_stun_add_requested_transport(&b, RTC_STUN_TRANSPORT_UDP);
    if (method == RTC_STUN_REFRESH) rtc_stun_add_u32(&b, RTC_STUN_ATTR_LIFETIME, lifetime);
    if (c->nonce[0]) {
        rtc_stun_add_string(&b, RTC_STUN_ATTR_USERNAME, c->user);
        rtc_stun_add_string(&b, RTC_STUN_ATTR_REALM, REALM);
        rtc_stun_add_string(&b, RTC_STUN_ATTR_NONCE, c->nonce);
        rtc_stun_add_integrity(&b, &c->key);
    }
    rtc_stun_add_fingerprint(&b);
    int len = rtc_stun_build_finish(&b);
    c->resp_len = 0;
    rtc_turn_server_handle_client(s, NOW, RTC_TURN_UDP, &c->listener, &c->addr, buf, (size_t)len);
    rtc_turn_transmit t;
    while (rtc_turn_server_poll_transmit(s, &t) == 1)
        if (!t.from_relay && t.len <= sizeof c->resp) {
            memcpy(c->resp, t.data, t.len);
            c->resp_len = t.len;
        }
    if (!c->resp_len || rtc_stun_parse(&c->msg, c->resp, c->resp_len) != RTC_OK) return -1;
    if (c->msg.cls == RTC_STUN_SUCCESS) return 0;
    int code = 0;
    rtc_stun_get_error_code(&c->msg, &code, NULL, NULL);
    const uint8_t *nonce;
    size_t nl;
    if ((code == 401 || code == 438) &&
        rtc_stun_get_bytes(&c->msg, RTC_STUN_ATTR_NONCE, &nonce, &nl) == RTC_OK &&
        nl < sizeof c->nonce) {
        memcpy(c->nonce, nonce, nl);
        c->nonce[nl] = 0;
    }
    return code;
}

static rtc_turn_server *make(relays *r, quota *q) { /* NULL on failure */
    rtc_turn_server_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.realm = REALM;
    cfg.relay = (rtc_turn_relay_ops){relay_open, relay_close, r};
    if (q) cfg.quota = (rtc_turn_quota_ops){q_acquire, q_release, q};
    rtc_turn_server *s = NULL;
    if (rtc_turn_server_new(&s, &cfg, NULL) != RTC_OK) return NULL;
    if (rtc_turn_server_add_user(s, "alice", "secret") != RTC_OK) {
        rtc_turn_server_free(s);
        return NULL;
    }
    return s;
}

static void test_shared_nonce_key(void) {
    relays r1 = {0}, r2 = {0};
    rtc_turn_server *a = make(&r1, NULL), *b = make(&r2, NULL);
    REQUIRE(a && b);
    NOW = RTC_SEC(1000);
    client c1, c2;
    client_init(&c1, 40000);
    client_init(&c2, 40001); /* the same client IP, another port: another thread */
    /* Random keys (the default): a's nonce is forged for b => 438 with b's own nonce. */
    CHECK_EQ_INT(request(a, &c1, RTC_STUN_ALLOCATE, 0), 401);
    memcpy(c2.nonce, c1.nonce, sizeof c2.nonce);
    CHECK_EQ_INT(request(b, &c2, RTC_STUN_ALLOCATE, 0), 438);
    /* One key for both: a nonce from a authenticates on b, and the other way round. */
    uint8_t key[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(i * 7 + 1);
    CHECK_EQ_INT(rtc_turn_server_set_nonce_key(a, key), RTC_OK);
    CHECK_EQ_INT(rtc_turn_server_set_nonce_key(b, key), RTC_OK);
    CHECK_EQ_INT(rtc_turn_server_set_nonce_key(NULL, key), RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_turn_server_set_nonce_key(a, NULL), RTC_ERR_INVALID);
    c1.nonce[0] = 0;
    CHECK_EQ_INT(request(a, &c1, RTC_STUN_ALLOCATE, 0), 401);
    memcpy(c2.nonce, c1.nonce, sizeof c2.nonce);
    CHECK_EQ_INT(request(b, &c2, RTC_STUN_ALLOCATE, 0), 0);
    CHECK_EQ_INT(request(a, &c1, RTC_STUN_ALLOCATE, 0), 0);
    /* Still bound to the client IP: another IP with that nonce gets 438. */
    client c3;
    client_init(&c3, 40002);
    rtc_addr_parse_ip(&c3.addr, "203.0.113.6", 40002);
    memcpy(c3.nonce, c1.nonce, sizeof c3.nonce);
    CHECK_EQ_INT(request(b, &c3, RTC_STUN_ALLOCATE, 0), 438);
    rtc_turn_server_free(a);
    rtc_turn_server_free(b);
    CHECK_EQ_INT(r1.open, r1.closed);
    CHECK_EQ_INT(r2.open, r2.closed);
    rtc_stun_key_clear(&c1.key);
    rtc_stun_key_clear(&c2.key);
    rtc_stun_key_clear(&c3.key);
}

static void test_shared_quota(void) {
    relays r1 = {0}, r2 = {0};
    quota q = {.limit = 2};
    rtc_turn_server *a = make(&r1, &q), *b = make(&r2, &q);
    REQUIRE(a && b);
    uint8_t key[32] = {1, 2, 3};
    rtc_turn_server_set_nonce_key(a, key);
    rtc_turn_server_set_nonce_key(b, key);
    NOW = RTC_SEC(1000);
    client c[4];
    for (int i = 0; i < 4; i++)
        client_init(&c[i], (uint16_t)(41000 + i));
    /* Two allocations on two servers fill the shared quota; the third is 486 on either. */
    CHECK_EQ_INT(request(a, &c[0], RTC_STUN_ALLOCATE, 0), 401);
    CHECK_EQ_INT(request(a, &c[0], RTC_STUN_ALLOCATE, 0), 0);
    CHECK_EQ_INT(request(b, &c[1], RTC_STUN_ALLOCATE, 0), 401);
    CHECK_EQ_INT(request(b, &c[1], RTC_STUN_ALLOCATE, 0), 0);
    CHECK_STR(q.last_user, "alice");
    CHECK_EQ_INT(request(a, &c[2], RTC_STUN_ALLOCATE, 0), 401);
    CHECK_EQ_INT(request(a, &c[2], RTC_STUN_ALLOCATE, 0), 486);
    CHECK_EQ_INT(q.live, 2);
    CHECK_EQ_INT(q.refusals, 1);
    rtc_turn_server_stats st;
    rtc_turn_server_get_stats(a, &st);
    CHECK_EQ_INT((int)st.quota_rejections, 1);
    /* Refresh(0) on b releases; then a has room. */
    CHECK_EQ_INT(request(b, &c[1], RTC_STUN_REFRESH, 0), 0);
    CHECK_EQ_INT(q.live, 1);
    CHECK_EQ_INT(request(a, &c[2], RTC_STUN_ALLOCATE, 0), 0);
    CHECK_EQ_INT(q.live, 2);
    /* A relay failure after acquire gives the slot back (508). */
    CHECK_EQ_INT(request(b, &c[1], RTC_STUN_REFRESH, 0), 437); /* gone */
    q.limit = 3;
    r2.fail = true;
    CHECK_EQ_INT(request(b, &c[3], RTC_STUN_ALLOCATE, 0), 401);
    CHECK_EQ_INT(request(b, &c[3], RTC_STUN_ALLOCATE, 0), 508);
    CHECK_EQ_INT(q.live, 2);
    r2.fail = false;
    CHECK_EQ_INT(request(b, &c[3], RTC_STUN_ALLOCATE, 0), 0);
    CHECK_EQ_INT(q.live, 3);
    /* Expiry releases (default lifetime 600 s), and free releases what is left. */
    NOW += RTC_SEC(601);
    rtc_turn_server_handle_timeout(b, NOW);
    CHECK_EQ_INT(q.live, 2);
    rtc_turn_server_free(a);
    CHECK_EQ_INT(q.live, 0);
    rtc_turn_server_free(b);
    CHECK_EQ_INT(q.acquires, q.releases);
    CHECK_EQ_INT(r1.open, r1.closed);
    CHECK_EQ_INT(r2.open, r2.closed);
    /* Half the hooks is a configuration error. */
    rtc_turn_server_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.realm = REALM;
    cfg.relay = (rtc_turn_relay_ops){relay_open, relay_close, &r1};
    cfg.quota.acquire = q_acquire;
    rtc_turn_server *s = NULL;
    CHECK_EQ_INT(rtc_turn_server_new(&s, &cfg, NULL), RTC_ERR_INVALID);
    CHECK(s == NULL);
    for (int i = 0; i < 4; i++)
        rtc_stun_key_clear(&c[i].key);
}

int main(void) {
    RUN(test_shared_nonce_key);
    RUN(test_shared_quota);
    return TEST_DONE();
}
