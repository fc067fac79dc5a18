/*
** apps/cwebrtc/files.h: the receiving half of the page's file protocol (docs/signaling.md):
** `{"t":"file","id","name","size","sha256"}` on the chat channel, then `size` bytes as
** binary messages, then our `{"t":"file-ok","id","ok","sha256"}` verdict. Shared by
** `cwebrtc recv` and `cwebrtc chat`. One app_rx per remote peer (one file at a time, as
** the page sends them).
*/
#ifndef CWEBRTC_APP_FILES_H
#define CWEBRTC_APP_FILES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cwebrtc/peer.h"

#define APP_FILE_MAX_SIZE (1ull << 40) /* refuse offers larger than 1 TiB */

typedef struct app_rx app_rx;

/* out_dir NULL: verify only ("not saved"). peer_id is copied (for messages). */
app_rx *app_rx_new(const char *peer_id, const char *out_dir);
void app_rx_free(app_rx *rx);

/* Results of the calls below. */
#define APP_RX_NONE 0    /* consumed, nothing finished */
#define APP_RX_OK   1    /* a file was received and its SHA-256 matched */
#define APP_RX_BAD  (-1) /* a file failed (mismatch, bad offer, write error) */

/* A parsed text message with "t":"file" (others: APP_RX_NONE, not consumed). */
int app_rx_text(app_rx *rx, rtc_peer *p, uint32_t ch, json_t *msg);
/* A binary message on the chat channel. */
int app_rx_binary(app_rx *rx, rtc_peer *p, uint32_t ch, const uint8_t *data, size_t len);
/* A file is in progress (its peer leaving now is a failure). */
bool app_rx_busy(const app_rx *rx);

/* SHA-256 of a file as 64 hex digits; 0 or -1. */
int app_sha256_file(const char *path, char hex[65], uint64_t *size);
void app_hex(const uint8_t *d, size_t n, char *out);
/* "12.3 MB/s" style throughput for bytes over µs. */
double app_mbps(uint64_t bytes, int64_t us);

#endif
