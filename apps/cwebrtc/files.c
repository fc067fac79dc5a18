/* apps/cwebrtc/files.c: receiving files per the page protocol (files.h). */
#include "files.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cwebrtc/net.h"
#include "room.h"

struct app_rx {
    char peer[64];
    char *out_dir;
    bool active;
    char id[128], name[256];
    uint64_t size, got;
    char want[65];
    EVP_MD_CTX *md;
    FILE *f;
    char tmp_path[1024], final_path[1024];
    rtc_time start;
    int last_decile;
    bool tty;
};

void app_hex(const uint8_t *d, size_t n, char *out) {
    static const char x[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = x[d[i] >> 4];
        out[2 * i + 1] = x[d[i] & 15];
    }
    out[2 * n] = 0;
}

double app_mbps(uint64_t bytes, int64_t us) { return us > 0 ? (double)bytes / (double)us : 0.0; }

int app_sha256_file(const char *path, char hex[65], uint64_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        fclose(f);
        return -1;
    }
    static uint8_t buf[1 << 16];
    size_t n;
    uint64_t total = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        EVP_DigestUpdate(md, buf, n);
        total += n;
    }
    int err = ferror(f);
    fclose(f);
    uint8_t d[32];
    unsigned dl = 0;
    EVP_DigestFinal_ex(md, d, &dl);
    EVP_MD_CTX_free(md);
    if (err) return -1;
    app_hex(d, 32, hex);
    if (size) *size = total;
    return 0;
}

app_rx *app_rx_new(const char *peer_id, const char *out_dir) {
    app_rx *rx = calloc(1, sizeof *rx);
    if (!rx) return NULL;
    snprintf(rx->peer, sizeof rx->peer, "%s", peer_id);
    if (out_dir && !(rx->out_dir = strdup(out_dir))) {
        free(rx);
        return NULL;
    }
    rx->tty = isatty(STDOUT_FILENO);
    return rx;
}

static void rx_reset(app_rx *rx, bool keep_file) {
    if (rx->f) {
        fclose(rx->f);
        rx->f = NULL;
        if (!keep_file) unlink(rx->tmp_path);
    }
    EVP_MD_CTX_free(rx->md);
    rx->md = NULL;
    rx->active = false;
}

void app_rx_free(app_rx *rx) {
    if (!rx) return;
    if (rx->active)
        fprintf(stderr, "file '%s' from %s: incomplete (%llu of %llu bytes)\n", rx->name, rx->peer,
                (unsigned long long)rx->got, (unsigned long long)rx->size);
    rx_reset(rx, false);
    free(rx->out_dir);
    free(rx);
}

bool app_rx_busy(const app_rx *rx) { return rx && rx->active; }

/* A file name from the network, made safe to create in out_dir: its last path component,
** [A-Za-z0-9._-] kept, anything else '_', no leading dot. */
static void safe_name(const char *in, char *out, size_t cap) {
    const char *b = strrchr(in, '/');
    b = b ? b + 1 : in;
    const char *bs = strrchr(b, '\\');
    b = bs ? bs + 1 : b;
    size_t o = 0;
    for (; *b && o + 1 < cap && o < 200; b++) {
        char c = *b;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_';
        out[o++] = ok ? c : '_';
    }
    out[o] = 0;
    if (o == 0) snprintf(out, cap, "file");
    if (out[0] == '.') out[0] = '_';
}

static int send_verdict(app_rx *rx, rtc_peer *p, uint32_t ch, bool ok, const char *hex) {
    json_t *m =
        json_pack("{s:s,s:s,s:b,s:s}", "t", "file-ok", "id", rx->id, "ok", ok, "sha256", hex);
    char *s = m ? json_dumps(m, JSON_COMPACT) : NULL;
    json_decref(m);
    int rc = s ? app_send_json(p, ch, s) : RTC_ERR_NOMEM;
    free(s);
    if (rc != RTC_OK)
        fprintf(stderr, "file '%s': cannot send file-ok: %s\n", rx->name, rtc_strerror(rc));
    return rc;
}

static void progress(app_rx *rx) {
    int pct = rx->size ? (int)(rx->got * 100 / rx->size) : 100;
    double mbps = app_mbps(rx->got, rtc_net_now() - rx->start);
    if (rx->tty) {
        char bar[31];
        int fill = pct * 30 / 100;
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : ' ';
        bar[30] = 0;
        printf("\r%s [%s] %3d%% %.1f MB/s", rx->name, bar, pct, mbps);
        if (rx->got >= rx->size) printf("\n");
        fflush(stdout);
    } else if (pct / 10 > rx->last_decile) {
        rx->last_decile = pct / 10;
        printf("progress %s %d%% %llu/%llu bytes %.1f MB/s\n", rx->name, pct,
               (unsigned long long)rx->got, (unsigned long long)rx->size, mbps);
        fflush(stdout);
    }
}

static int finish(app_rx *rx, rtc_peer *p, uint32_t ch) {
    uint8_t d[32];
    unsigned dl = 0;
    char hex[65];
    EVP_DigestFinal_ex(rx->md, d, &dl);
    app_hex(d, 32, hex);
    bool ok = strcmp(hex, rx->want) == 0;
    bool write_ok = true;
    if (rx->f) {
        write_ok = fflush(rx->f) == 0 && !ferror(rx->f);
        write_ok = fclose(rx->f) == 0 && write_ok;
        rx->f = NULL;
        if (ok && write_ok) write_ok = rename(rx->tmp_path, rx->final_path) == 0;
        if (!ok || !write_ok) unlink(rx->tmp_path);
    }
    int64_t us = rtc_net_now() - rx->start;
    send_verdict(rx, p, ch, ok, hex);
    if (ok && write_ok)
        printf("received %s from %s: %llu bytes in %.3f s (%.1f MB/s), sha256 %s ok%s%s\n",
               rx->name, rx->peer, (unsigned long long)rx->size, (double)us / 1e6,
               app_mbps(rx->size, us), hex, rx->out_dir ? ", saved to " : ", not saved",
               rx->out_dir ? rx->final_path : "");
    else if (!ok)
        fprintf(stderr, "received %s from %s: SHA-256 MISMATCH (got %s, announced %s)\n", rx->name,
                rx->peer, hex, rx->want);
    else
        fprintf(stderr, "received %s from %s: cannot write %s: %s\n", rx->name, rx->peer,
                rx->final_path, strerror(errno));
    fflush(stdout);
    rx_reset(rx, ok && write_ok);
    return ok && write_ok ? APP_RX_OK : APP_RX_BAD;
}

int app_rx_text(app_rx *rx, rtc_peer *p, uint32_t ch, json_t *msg) {
    const char *t = json_string_value(json_object_get(msg, "t"));
    if (!t || strcmp(t, "file") != 0) return APP_RX_NONE;
    if (rx->active) {
        fprintf(stderr, "file from %s: a new offer while '%s' is incomplete; the old one failed\n",
                rx->peer, rx->name);
        rx_reset(rx, false);
        return APP_RX_BAD;
    }
    const char *id = json_string_value(json_object_get(msg, "id"));
    const char *name = json_string_value(json_object_get(msg, "name"));
    const char *sha = json_string_value(json_object_get(msg, "sha256"));
    json_t *sz = json_object_get(msg, "size");
    if (!id || !name || !sha || strlen(sha) != 64 || strlen(id) >= sizeof rx->id ||
        !json_is_integer(sz) || json_integer_value(sz) < 0 ||
        (uint64_t)json_integer_value(sz) > APP_FILE_MAX_SIZE) {
        fprintf(stderr, "file from %s: malformed file offer ignored\n", rx->peer);
        return APP_RX_BAD;
    }
    snprintf(rx->id, sizeof rx->id, "%s", id);
    safe_name(name, rx->name, sizeof rx->name);
    for (int i = 0; i < 64; i++)
        rx->want[i] = (char)((sha[i] >= 'A' && sha[i] <= 'F') ? sha[i] + 32 : sha[i]);
    rx->want[64] = 0;
    rx->size = (uint64_t)json_integer_value(sz);
    rx->got = 0;
    rx->last_decile = 0;
    rx->start = rtc_net_now();
    rx->md = EVP_MD_CTX_new();
    if (!rx->md || EVP_DigestInit_ex(rx->md, EVP_sha256(), NULL) != 1) {
        rx_reset(rx, false);
        return APP_RX_BAD;
    }
    if (rx->out_dir) {
        snprintf(rx->final_path, sizeof rx->final_path, "%s/%s", rx->out_dir, rx->name);
        snprintf(rx->tmp_path, sizeof rx->tmp_path, "%s/.%s.part", rx->out_dir, rx->name);
        rx->f = fopen(rx->tmp_path, "wb");
        if (!rx->f) {
            fprintf(stderr, "file '%s': cannot create %s: %s\n", rx->name, rx->tmp_path,
                    strerror(errno));
            EVP_MD_CTX_free(rx->md);
            rx->md = NULL;
            return APP_RX_BAD;
        }
    }
    rx->active = true;
    printf("receiving %s (%llu bytes) from %s\n", rx->name, (unsigned long long)rx->size, rx->peer);
    fflush(stdout);
    if (rx->size == 0) return finish(rx, p, ch);
    return APP_RX_NONE;
}

int app_rx_binary(app_rx *rx, rtc_peer *p, uint32_t ch, const uint8_t *data, size_t len) {
    if (!rx->active) {
        fprintf(stderr, "binary message of %zu bytes from %s without a file offer ignored\n", len,
                rx->peer);
        return APP_RX_NONE;
    }
    if (rx->got + len > rx->size) {
        fprintf(stderr, "file '%s' from %s: more bytes than announced (%llu)\n", rx->name, rx->peer,
                (unsigned long long)rx->size);
        char zero[65];
        memset(zero, '0', 64);
        zero[64] = 0;
        send_verdict(rx, p, ch, false, zero);
        rx_reset(rx, false);
        return APP_RX_BAD;
    }
    EVP_DigestUpdate(rx->md, data, len);
    if (rx->f && fwrite(data, 1, len, rx->f) != len) {
        fprintf(stderr, "file '%s': write error: %s\n", rx->name, strerror(errno));
        send_verdict(rx, p, ch, false, rx->want);
        rx_reset(rx, false);
        return APP_RX_BAD;
    }
    rx->got += len;
    progress(rx);
    if (rx->got == rx->size) return finish(rx, p, ch);
    return APP_RX_NONE;
}
