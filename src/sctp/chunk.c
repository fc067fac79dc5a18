/* Packet checksum (RFC 9260 §6.8, App. B; RFC 9653) and the state cookie (§5.1.3). */
#include <string.h>

#include "sctp/sctp_int.h"

/*
** CRC-32c over the packet with the checksum field taken as zero. RFC 9260 App. B
** transmits the reflected CRC least significant byte first, so the value rtc_crc32c
** returns goes into bytes 8..11 little-endian (as Linux' cpu_to_le32 and usrsctp do).
*/
int sctp_next_param(rtc_reader *r, uint16_t *type, rtc_reader *val) {
    if (rtc_reader_left(r) < 4) return 0;
    *type = rtc_read_u16(r);
    uint16_t plen = rtc_read_u16(r);
    if (plen < 4) return RTC_ERR_PARSE;
    *val = rtc_read_sub(r, plen - 4u);
    if (val->err) return RTC_ERR_PARSE;
    rtc_read_skip(r, RTC_MIN((size_t)((4 - (plen & 3)) & 3), rtc_reader_left(r)));
    return 1;
}

uint32_t sctp_packet_crc(const uint8_t *buf, size_t len) {
    static const uint8_t zero[4] = {0, 0, 0, 0};
    if (len < SCTP_COMMON_HDR) return 0;
    uint32_t c = rtc_crc32c(0, buf, 8);
    c = rtc_crc32c(c, zero, 4);
    return rtc_crc32c(c, buf + 12, len - 12);
}

void sctp_finish_packet(uint8_t *buf, size_t len, bool zero_csum) {
    uint32_t c = zero_csum ? 0 : sctp_packet_crc(buf, len);
    buf[8] = (uint8_t)c;
    buf[9] = (uint8_t)(c >> 8);
    buf[10] = (uint8_t)(c >> 16);
    buf[11] = (uint8_t)(c >> 24);
}

/*
** Cookie layout (80 bytes, opaque to the peer): "CWS1", timestamp (caller's clock, µs),
** my tag, my initial TSN, peer tag, peer initial TSN, peer a_rwnd, peer OS, peer MIS,
** peer capability flags, 3 zero bytes, HMAC-SHA256 over the first 48 bytes with the
** association's random secret. No memory addresses: a forged cookie can at most name
** tags, and the HMAC stops that.
*/
#define COOKIE_BODY 48
void sctp_cookie_write(const rtc_sctp *s, uint8_t out[COOKIE_LEN], uint32_t my_vtag,
                       uint32_t my_itsn, uint32_t peer_vtag, uint32_t peer_itsn,
                       uint32_t peer_arwnd, uint16_t peer_os, uint16_t peer_mis,
                       uint8_t peer_flags) {
    rtc_writer w;
    rtc_writer_init(&w, out, COOKIE_LEN);
    rtc_write_bytes(&w, "CWS1", 4);
    rtc_write_u64(&w, (uint64_t)s->now);
    rtc_write_u32(&w, my_vtag);
    rtc_write_u32(&w, my_itsn);
    rtc_write_u32(&w, peer_vtag);
    rtc_write_u32(&w, peer_itsn);
    rtc_write_u32(&w, peer_arwnd);
    rtc_write_u16(&w, peer_os);
    rtc_write_u16(&w, peer_mis);
    rtc_write_u8(&w, peer_flags);
    rtc_write_fill(&w, 0, COOKIE_BODY - w.len);
    uint8_t mac[RTC_SHA256_LEN];
    if (rtc_hmac_sha256(s->secret, sizeof s->secret, out, COOKIE_BODY, NULL, 0, NULL, 0, mac) !=
        RTC_OK)
        memset(mac, 0, sizeof mac); /* verification then fails: the handshake retries */
    memcpy(out + COOKIE_BODY, mac, RTC_SHA256_LEN);
}

int sctp_cookie_read(const rtc_sctp *s, const uint8_t *c, size_t len, cookie_info *ci) {
    if (len != COOKIE_LEN || memcmp(c, "CWS1", 4) != 0) return RTC_ERR_AUTH;
    uint8_t mac[RTC_SHA256_LEN];
    if (rtc_hmac_sha256(s->secret, sizeof s->secret, c, COOKIE_BODY, NULL, 0, NULL, 0, mac) !=
        RTC_OK)
        return RTC_ERR_AUTH;
    if (!rtc_ct_equal(mac, c + COOKIE_BODY, RTC_SHA256_LEN)) return RTC_ERR_AUTH;
    rtc_reader r;
    rtc_reader_init(&r, c + 4, COOKIE_BODY - 4);
    ci->ts = (rtc_time)rtc_read_u64(&r);
    ci->my_vtag = rtc_read_u32(&r);
    ci->my_itsn = rtc_read_u32(&r);
    ci->peer_vtag = rtc_read_u32(&r);
    ci->peer_itsn = rtc_read_u32(&r);
    ci->peer_arwnd = rtc_read_u32(&r);
    ci->peer_os = rtc_read_u16(&r);
    ci->peer_mis = rtc_read_u16(&r);
    ci->peer_flags = rtc_read_u8(&r);
    /* §5.1.5 step 3: the cookie's age is measured on our own clock. A cookie "from the
    ** future" cannot be ours (the secret is per association) unless the caller's clock
    ** went backwards; treat it as stale too. */
    if (s->now < ci->ts || s->now - ci->ts > s->cfg.cookie_lifetime) return RTC_ERR_TIMEOUT;
    return RTC_OK;
}
