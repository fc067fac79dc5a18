/*
** src/datachannel/dcep.c: the Data Channel Establishment Protocol codec (RFC 8832 §5).
**
**  DATA_CHANNEL_OPEN (§5.1)
**   0                   1                   2                   3
**   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
**  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
**  |  Message Type |  Channel Type |            Priority           |
**  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
**  |                    Reliability Parameter                      |
**  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
**  |         Label Length          |       Protocol Length         |
**  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
**  \                             Label                             /
**  \                            Protocol                           /
**
**  DATA_CHANNEL_ACK (§5.2): one byte, 0x02.
**
** Pure functions: no allocation, no state; parse output borrows the input.
*/
#include "cwebrtc/datachannel.h"
#include "util/buf.h"

static bool valid_channel_type(uint8_t t) {
    switch (t) {
    case RTC_DCEP_RELIABLE:
    case RTC_DCEP_PARTIAL_RELIABLE_REXMIT:
    case RTC_DCEP_PARTIAL_RELIABLE_TIMED:
    case RTC_DCEP_RELIABLE_UNORDERED:
    case RTC_DCEP_PARTIAL_RELIABLE_REXMIT_UNORDERED:
    case RTC_DCEP_PARTIAL_RELIABLE_TIMED_UNORDERED:
        return true;
    default:
        return false;
    }
}

int rtc_dcep_parse(const uint8_t *buf, size_t len, rtc_dcep_msg *out) {
    if (!out) return RTC_ERR_INVALID;
    memset(out, 0, sizeof *out);
    rtc_reader r;
    rtc_reader_init(&r, buf, len);
    uint8_t type = rtc_read_u8(&r);
    if (r.err) return RTC_ERR_PARSE;
    out->type = type;
    if (type == RTC_DCEP_ACK) return RTC_OK;
    if (type != RTC_DCEP_OPEN) return RTC_ERR_UNSUPPORTED;
    out->channel_type = rtc_read_u8(&r);
    out->priority = rtc_read_u16(&r);
    out->reliability = rtc_read_u32(&r);
    out->label_len = rtc_read_u16(&r);
    out->protocol_len = rtc_read_u16(&r);
    out->label = rtc_read_ptr(&r, out->label_len);
    out->protocol = rtc_read_ptr(&r, out->protocol_len);
    if (r.err) return RTC_ERR_PARSE;
    if (!valid_channel_type(out->channel_type)) return RTC_ERR_PARSE;
    return RTC_OK;
}

size_t rtc_dcep_encoded_size(const rtc_dcep_msg *m) {
    if (!m || m->type != RTC_DCEP_OPEN) return 1;
    return RTC_DCEP_OPEN_HEADER + (size_t)m->label_len + m->protocol_len;
}

int rtc_dcep_encode(const rtc_dcep_msg *m, uint8_t *buf, size_t *len) {
    if (!m || !len) return RTC_ERR_INVALID;
    if (m->type != RTC_DCEP_OPEN && m->type != RTC_DCEP_ACK) return RTC_ERR_INVALID;
    if (m->type == RTC_DCEP_OPEN &&
        (!valid_channel_type(m->channel_type) || (m->label_len && !m->label) ||
         (m->protocol_len && !m->protocol)))
        return RTC_ERR_INVALID;
    size_t need = rtc_dcep_encoded_size(m);
    if (!buf || *len < need) {
        *len = need;
        return RTC_ERR_TOO_SMALL;
    }
    rtc_writer w;
    rtc_writer_init(&w, buf, *len);
    rtc_write_u8(&w, m->type);
    if (m->type == RTC_DCEP_OPEN) {
        rtc_write_u8(&w, m->channel_type);
        rtc_write_u16(&w, m->priority);
        /* §5.1: the parameter "is ignored" for reliable channels; send 0 there. */
        rtc_write_u32(&w, (m->channel_type & 0x7f) == RTC_DCEP_RELIABLE ? 0 : m->reliability);
        rtc_write_u16(&w, m->label_len);
        rtc_write_u16(&w, m->protocol_len);
        rtc_write_bytes(&w, m->label, m->label_len);
        rtc_write_bytes(&w, m->protocol, m->protocol_len);
    }
    if (w.err) return RTC_ERR_TOO_SMALL; /* cannot happen: size checked above */
    *len = w.len;
    return RTC_OK;
}
