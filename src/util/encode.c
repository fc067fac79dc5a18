/* base64 (RFC 4648 standard alphabet) and hex. */
#include <string.h>

#include "util/util.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t rtc_base64_encoded_len(size_t n) { return ((n + 2) / 3) * 4 + 1; }

int rtc_base64_encode(const uint8_t *in, size_t n, char *out, size_t size) {
    size_t need = rtc_base64_encoded_len(n);
    if (size < need) return RTC_ERR_TOO_SMALL;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n) v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n) v |= in[i + 2];
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? b64[v & 63] : '=';
    }
    out[o] = '\0';
    return (int)o;
}

static int b64val(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

int rtc_base64_decode(const char *in, size_t n, uint8_t *out, size_t size) {
    while (n > 0 && in[n - 1] == '=') n--;
    if (n % 4 == 1) return RTC_ERR_PARSE;
    size_t need = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    if (need > size) return RTC_ERR_TOO_SMALL;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val(in[i]);
        if (v < 0) return RTC_ERR_PARSE;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    /* Leftover bits must be zero in canonical base64. */
    if (bits && (acc & ((1u << bits) - 1))) return RTC_ERR_PARSE;
    return (int)o;
}

int rtc_hex_encode(const uint8_t *in, size_t n, char *out, size_t size) {
    static const char hx[] = "0123456789abcdef";
    if (size < 2 * n + 1) return RTC_ERR_TOO_SMALL;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[in[i] >> 4];
        out[2 * i + 1] = hx[in[i] & 15];
    }
    out[2 * n] = '\0';
    return (int)(2 * n);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int rtc_hex_decode(const char *in, size_t n, uint8_t *out, size_t size) {
    if (n % 2) return RTC_ERR_PARSE;
    if (n / 2 > size) return RTC_ERR_TOO_SMALL;
    for (size_t i = 0; i < n; i += 2) {
        int hi = hexval(in[i]), lo = hexval(in[i + 1]);
        if (hi < 0 || lo < 0) return RTC_ERR_PARSE;
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return (int)(n / 2);
}
