/*
** fuzz/pc_relay_stream.c: the peer connection's TURN-over-TCP input
** (rtc_pc_relay_stream_input / rtc_pc_relay_stream_closed, pc.h "TURN over TCP and TLS").
** A connection with one turn:192.0.2.100:3478?transport=tcp server (an IP literal: no
** RESOLVE) and relay-only policy starts gathering, which asks for the stream with
** RTC_PC_EV_RELAY_STREAM; the fuzzer's bytes are then that stream, cut where it chooses,
** interleaved with time advances.
** Input: [1 byte flags: bit 0 DTLS role of the answer, bit 1 TLS (turns:)] then records
** [1 byte kind][2 bytes length][bytes]: kind & 3 == 3 advances time by `length` ms;
** kind == 0x7e reports the stream closed; otherwise `length` bytes are stream input. After
** the first record with kind & 4 the remote answer (one host candidate) is applied, so
** checks go through the relay (permissions, channel binding, ChannelData).
**
** Seeds (fuzz/corpus/pc_relay_stream/) are real answers of our TURN server core to this
** exact connection (same seeded randomness, so the transaction ids match): the 401 with
** realm and nonce, the Allocate success, CreatePermission / ChannelBind answers and
** ChannelData frames of the peer's checks. Regenerate them with
**   cc -DPC_RELAY_STREAM_GEN -I include fuzz/pc_relay_stream.c <build>/libcwebrtc.a \
**      -lssl -lcrypto -o gen && ./gen fuzz/corpus/pc_relay_stream
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cwebrtc/pc.h"

static rtc_dtls_cert *cert;
static const char answer_fmt[] =
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"
    "a=candidate:1 1 udp 2122260223 192.0.2.2 5000 typ host\r\n"
    "a=end-of-candidates\r\n"
    "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\n"
    "a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:"
    "88:99:AA:BB:CC:DD:EE:FF\r\n"
    "a=setup:%s\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n";

typedef void (*fx_sink)(void *ud, const rtc_pc_transmit *t);

typedef struct fx {
    rtc_pc *pc;
    rtc_env env;
    rtc_test_rng rng;
    rtc_time now;
    uint32_t stream; /* from RELAY_STREAM; 0 until then */
    bool answered, role_active;
    fx_sink sink; /* generator: where the stream's bytes go */
    void *ud;
} fx;

static void fx_drain(fx *f) {
    rtc_pc_output o;
    for (int i = 0; i < 10000 && rtc_pc_poll_output(f->pc, &o) != RTC_PC_OUT_TIMEOUT; i++) {
        if (o.kind == RTC_PC_OUT_EVENT && o.event.type == RTC_PC_EV_RELAY_STREAM && !f->stream)
            f->stream = o.event.stream;
        if (o.kind == RTC_PC_OUT_TRANSMIT && f->sink) f->sink(f->ud, &o.transmit);
    }
}

static int fx_setup(fx *f, uint8_t flags) {
    memset(f, 0, sizeof *f);
    rtc_env_seeded(&f->env, &f->rng, 3);
    rtc_pc_ice_server turn = {(flags & 2) ? "turns:192.0.2.100:3478"
                                          : "turn:192.0.2.100:3478?transport=tcp",
                              "user", "secret"};
    rtc_pc_config cfg = {.certificate = cert, .ice_servers = &turn, .n_ice_servers = 1,
                         .ice_transport_policy = RTC_PC_ICE_POLICY_RELAY};
    if (rtc_pc_new(&f->pc, &cfg, &f->env) != RTC_OK) return -1;
    f->role_active = flags & 1;
    f->now = 1000000;
    rtc_addr local;
    rtc_addr_parse(&local, "192.0.2.1:4000", 0);
    rtc_pc_add_local_address(f->pc, &local);
    rtc_pc_create_data_channel(f->pc, "f", NULL, NULL);
    static char buf[8192];
    rtc_pc_create_offer(f->pc, buf, sizeof buf);
    rtc_pc_set_local_description(f->pc, RTC_PC_SDP_OFFER, NULL);
    rtc_pc_handle_timeout(f->pc, f->now);
    fx_drain(f);
    return 0;
}

/* One input record. */
static void fx_record(fx *f, uint8_t kind, const uint8_t *b, size_t len) {
    if ((kind & 3) == 3) {
        f->now += (rtc_time)len * 1000;
        rtc_pc_handle_timeout(f->pc, f->now);
    } else if (kind == 0x7e) {
        rtc_pc_relay_stream_closed(f->pc, f->now, f->stream ? f->stream : 1);
    } else {
        rtc_pc_relay_stream_input(f->pc, f->now, f->stream ? f->stream : 1, b, len);
    }
    if (!f->answered && (kind & 4)) {
        static char buf[8192];
        f->answered = true;
        int n = snprintf(buf, sizeof buf, answer_fmt, f->role_active ? "active" : "passive");
        rtc_pc_set_remote_description(f->pc, RTC_PC_SDP_ANSWER, buf, (size_t)n);
    }
    fx_drain(f);
}

static void fx_free(fx *f) {
    rtc_pc_close(f->pc);
    f->sink = NULL;
    fx_drain(f);
    rtc_pc_free(f->pc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!cert && rtc_dtls_cert_new(&cert, NULL, NULL) != RTC_OK) return 0;
    if (size < 1) return 0;
    fx f;
    if (fx_setup(&f, data[0]) != 0) return 0;
    size_t off = 1;
    while (off + 3 <= size) {
        uint8_t kind = data[off];
        size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
        off += 3;
        if ((kind & 3) == 3) {
            fx_record(&f, kind, NULL, len);
        } else {
            if (len > size - off) len = size - off;
            fx_record(&f, kind, data + off, len);
            off += len;
        }
    }
    fx_free(&f);
    return 0;
}

#ifdef PC_RELAY_STREAM_GEN
/* ---- seed generator: the same connection against our TURN server core ---------------- */
#include "cwebrtc/net.h"
#include "cwebrtc/stun.h"
#include "cwebrtc/turn_server.h"

typedef struct gen {
    rtc_turn_server *srv;
    rtc_addr srv_addr, client, peer;
    rtc_time *now;
    uint8_t to_client[65536]; /* server bytes for the connection, not yet recorded */
    size_t n_to_client;
    uint8_t from_client[65536]; /* the connection's bytes, not yet framed */
    size_t n_from_client;
} gen;

static int relay_open(void *ud, uint8_t family, bool even, bool reserve, uint64_t token_in,
                      rtc_addr *relay, void **handle, uint64_t *token) {
    (void)family, (void)even, (void)reserve, (void)token_in;
    gen *g = ud;
    *relay = g->srv_addr;
    relay->port = 50000;
    *handle = NULL;
    *token = 0;
    return RTC_OK;
}
static void relay_close(void *ud, void *handle) { (void)ud, (void)handle; }

static void gen_srv_drain(gen *g) {
    rtc_turn_transmit tx;
    for (int i = 0; i < 1000 && rtc_turn_server_poll_transmit(g->srv, &tx) == 1; i++) {
        if (tx.from_relay) {
            /* the "peer" answers checks (so a pair is selected and a channel bound) and
            ** echoes everything else (DTLS comes back as ChannelData) */
            uint8_t copy[2048];
            size_t n = tx.len < sizeof copy ? tx.len : sizeof copy;
            memcpy(copy, tx.data, n);
            rtc_stun_msg m;
            if (rtc_stun_parse(&m, tx.data, tx.len) == RTC_OK && m.cls == RTC_STUN_REQUEST) {
                rtc_stun_key k;
                static const char pwd[] = "0123456789abcdefghijkl";
                rtc_stun_key_set(&k, (const uint8_t *)pwd, strlen(pwd));
                rtc_stun_builder b;
                rtc_stun_build_response(&b, copy, sizeof copy, &m, RTC_STUN_SUCCESS);
                rtc_stun_add_xor_addr(&b, RTC_STUN_ATTR_XOR_MAPPED_ADDRESS, &tx.from);
                rtc_stun_add_integrity(&b, &k);
                rtc_stun_add_fingerprint(&b);
                int rn = rtc_stun_build_finish(&b);
                if (rn <= 0) continue;
                n = (size_t)rn;
            }
            rtc_addr relay = tx.from, peer = tx.to;
            rtc_turn_server_handle_peer(g->srv, *g->now, &relay, &peer, copy, n);
        } else if (g->n_to_client + tx.len <= sizeof g->to_client) {
            memcpy(g->to_client + g->n_to_client, tx.data, tx.len);
            g->n_to_client += tx.len;
        }
    }
}

static void gen_sink(void *ud, const rtc_pc_transmit *t) {
    gen *g = ud;
    if (!t->stream || g->n_from_client + t->len > sizeof g->from_client) return;
    memcpy(g->from_client + g->n_from_client, t->data, t->len);
    g->n_from_client += t->len;
    for (;;) {
        rtc_frame fr;
        size_t wire = 0;
        if (rtc_frame_peek(RTC_FRAME_STUN, g->from_client, g->n_from_client, 0, &fr, &wire) != 1)
            break;
        rtc_turn_server_handle_client(g->srv, *g->now, RTC_TURN_TCP, &g->srv_addr, &g->client,
                                      fr.data, fr.len);
        memmove(g->from_client, g->from_client + wire, g->n_from_client - wire);
        g->n_from_client -= wire;
    }
    gen_srv_drain(g);
}

static void put_rec(FILE *out, uint8_t kind, const uint8_t *b, size_t len) {
    uint8_t h[3] = {kind, (uint8_t)(len >> 8), (uint8_t)len};
    fwrite(h, 1, 3, out);
    if (b && (kind & 3) != 3) fwrite(b, 1, len, out);
}

/* variant 0: whole server answers; 1: cut in 1-7 byte pieces; 2: + stream closed at the
** end; 3: no answer (allocation only). */
static int gen_one(const char *dir, int variant) {
    char path[512];
    snprintf(path, sizeof path, "%s/seed-gen-%d", dir, variant);
    FILE *out = fopen(path, "wb");
    if (!out) return -1;
    fx f;
    gen *g = calloc(1, sizeof *g);
    if (!g) return -1;
    rtc_env env;
    rtc_test_rng rng;
    rtc_env_seeded(&env, &rng, 77);
    rtc_addr_parse(&g->srv_addr, "192.0.2.100:3478", 0);
    rtc_addr_parse(&g->client, "192.0.2.1:40001", 0);
    rtc_turn_server_config sc = {.realm = "example.org",
                                 .relay = {.open = relay_open, .close = relay_close, .ud = g},
                                 .allow_private_peers = true};
    if (rtc_turn_server_new(&g->srv, &sc, &env) != RTC_OK) return -1;
    rtc_turn_server_add_user(g->srv, "user", "secret");
    uint8_t flags = 0;
    fwrite(&flags, 1, 1, out);
    /* fx_setup with the sink attached from the start (the Allocate leaves in setup) */
    memset(&f, 0, sizeof f);
    g->now = &f.now;
    {
        /* replicate fx_setup, but with the sink set before the first drain */
        rtc_env_seeded(&f.env, &f.rng, 3);
        rtc_pc_ice_server turn = {"turn:192.0.2.100:3478?transport=tcp", "user", "secret"};
        rtc_pc_config cfg = {.certificate = cert, .ice_servers = &turn, .n_ice_servers = 1,
                             .ice_transport_policy = RTC_PC_ICE_POLICY_RELAY};
        if (rtc_pc_new(&f.pc, &cfg, &f.env) != RTC_OK) return -1;
        f.now = 1000000;
        f.sink = gen_sink;
        f.ud = g;
        rtc_addr local;
        rtc_addr_parse(&local, "192.0.2.1:4000", 0);
        rtc_pc_add_local_address(f.pc, &local);
        rtc_pc_create_data_channel(f.pc, "f", NULL, NULL);
        static char buf[8192];
        rtc_pc_create_offer(f.pc, buf, sizeof buf);
        rtc_pc_set_local_description(f.pc, RTC_PC_SDP_OFFER, NULL);
        rtc_pc_handle_timeout(f.pc, f.now);
        fx_drain(&f);
    }
    int recs = 0;
    for (int step = 0; step < 60 && recs < 40; step++) {
        if (g->n_to_client) {
            uint8_t kind = variant == 3 ? 0 : 4; /* the answer goes in after the first */
            if (variant == 1) {
                size_t off = 0;
                while (off < g->n_to_client) {
                    size_t n = 1 + (size_t)(rand() % 7);
                    if (n > g->n_to_client - off) n = g->n_to_client - off;
                    put_rec(out, kind, g->to_client + off, n);
                    uint8_t piece[8];
                    memcpy(piece, g->to_client + off, n);
                    off += n;
                    fx_record(&f, kind, piece, n);
                }
            } else {
                static uint8_t chunk[65536];
                size_t n = g->n_to_client;
                memcpy(chunk, g->to_client, n);
                g->n_to_client = 0;
                put_rec(out, kind, chunk, n);
                fx_record(&f, kind, chunk, n);
                recs++;
                continue;
            }
            g->n_to_client = 0;
            recs++;
            continue;
        }
        put_rec(out, 3, NULL, 50);
        fx_record(&f, 3, NULL, 50);
        rtc_turn_server_handle_timeout(g->srv, f.now);
        gen_srv_drain(g);
    }
    if (variant == 2) put_rec(out, 0x7e, NULL, 0);
    put_rec(out, 3, NULL, 2000);
    fclose(out);
    fprintf(stderr, "%s: %d server records, pc state %d\n", path, recs,
            (int)rtc_pc_connection_state_get(f.pc));
    fx_free(&f);
    rtc_turn_server_free(g->srv);
    free(g);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    if (rtc_dtls_cert_new(&cert, NULL, NULL) != RTC_OK) return 1;
    for (int v = 0; v < 4; v++)
        if (gen_one(argv[1], v) != 0) return 1;
    return 0;
}
#endif
