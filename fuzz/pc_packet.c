/*
** fuzz/pc_packet.c: the stateful target (str0m's "receive"): a connection that has sent
** an offer and received an answer gets a stream of datagrams and timer ticks. Input
** records: [1 byte kind][2 bytes length][bytes]; kind & 3 == 3 advances time by the
** length in ms instead. Datagrams go through the RFC 7983 demultiplexer into ICE, DTLS
** (buffered or live) and everything above; outputs are drained after every call.
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
    "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\n"
    "a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:"
    "88:99:AA:BB:CC:DD:EE:FF\r\n"
    "a=setup:%s\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n";

static void drain(rtc_pc *pc) {
    rtc_pc_output o;
    for (int i = 0; i < 10000 && rtc_pc_poll_output(pc, &o) != RTC_PC_OUT_TIMEOUT; i++) {
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!cert && rtc_dtls_cert_new(&cert, NULL, NULL) != RTC_OK) return 0;
    if (size < 1) return 0;
    rtc_env env;
    rtc_test_rng rng;
    rtc_env_seeded(&env, &rng, 2);
    rtc_pc_config cfg = {.certificate = cert};
    rtc_pc *pc = NULL;
    if (rtc_pc_new(&pc, &cfg, &env) != RTC_OK) return 0;
    rtc_addr local, remote;
    rtc_addr_parse(&local, "192.0.2.1:4000", 0);
    rtc_addr_parse(&remote, "192.0.2.2:5000", 0);
    rtc_pc_add_local_address(pc, &local);
    rtc_pc_create_data_channel(pc, "f", NULL, NULL);
    static char buf[8192];
    rtc_pc_create_offer(pc, buf, sizeof buf);
    rtc_pc_set_local_description(pc, RTC_PC_SDP_OFFER, NULL);
    drain(pc);
    bool answered = false;
    rtc_time now = 1000000;
    size_t off = 1;
    while (off + 3 <= size) {
        uint8_t kind = data[off];
        size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
        off += 3;
        if ((kind & 3) == 3) {
            now += (rtc_time)len * 1000;
            rtc_pc_handle_timeout(pc, now);
        } else {
            if (len > size - off) len = size - off;
            rtc_pc_handle_packet(pc, now, &remote, &local, data + off, len);
            off += len;
        }
        if (!answered && (kind & 4)) {
            answered = true;
            int n = snprintf(buf, sizeof buf, answer_fmt, (data[0] & 1) ? "active" : "passive");
            rtc_pc_set_remote_description(pc, RTC_PC_SDP_ANSWER, buf, (size_t)n);
        }
        drain(pc);
    }
    rtc_pc_close(pc);
    drain(pc);
    rtc_pc_free(pc);
    return 0;
}
