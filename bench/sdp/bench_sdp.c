/*
** bench_sdp: parse / serialize / JSEP-view costs on real SDPs from tests/data/sdp/.
**   bench_sdp [file.sdp ...]   (default: the Chromium audio+video+data offer and the data offer)
** Prints per-operation CPU microseconds (process CPU time) and MB/s of SDP text parsed.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cwebrtc/sdp.h"

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *load(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[1 << 20];
    *len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    char *p = malloc(*len + 1);
    if (!p) return NULL;
    memcpy(p, buf, *len);
    p[*len] = 0;
    return p;
}

static void bench(const char *path) {
    size_t len;
    char *text = load(path, &len);
    if (!text) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    rtc_sdp *s;
    if (rtc_sdp_new(&s, NULL) || rtc_sdp_parse(s, text, len)) {
        fprintf(stderr, "%s: %s\n", path, rtc_sdp_error(s));
        exit(1);
    }
    const int iters = 3000;
    double t0 = cpu_now();
    for (int i = 0; i < iters; i++)
        if (rtc_sdp_parse(s, text, len) != RTC_OK) exit(1);
    double t_parse = (cpu_now() - t0) / iters;

    char *out = malloc(len * 2 + 1);
    if (!out) exit(1);
    t0 = cpu_now();
    for (int i = 0; i < iters; i++)
        if (rtc_sdp_serialize(s, out, len * 2 + 1) < 0) exit(1);
    double t_ser = (cpu_now() - t0) / iters;

    size_t nm = rtc_sdp_media_count(s);
    t0 = cpu_now();
    for (int i = 0; i < iters; i++) {
        for (size_t m = 0; m < nm; m++) {
            rtc_sdp_transport t;
            if (rtc_sdp_transport_get(s, (int)m, &t) != RTC_OK) exit(1);
        }
        rtc_sdp_datachannel dc;
        (void)rtc_sdp_datachannel_find(s, &dc);
    }
    double t_jsep = (cpu_now() - t0) / iters;

    size_t lines = 0;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    printf("%-28s %6zu B %4zu lines %zu m=: parse %7.1f us (%5.1f MB/s), serialize %6.1f us, "
           "transport view of all sections %6.1f us\n",
           name, len, lines, nm, t_parse * 1e6, (double)len / t_parse / 1e6, t_ser * 1e6,
           t_jsep * 1e6);
    free(out);
    free(text);
    rtc_sdp_free(s);
}

int main(int argc, char **argv) {
    if (argc > 1) {
        for (int i = 1; i < argc; i++) bench(argv[i]);
        return 0;
    }
    bench(RTC_SOURCE_DIR "/tests/data/sdp/chromium-av-dc-offer.sdp");
    bench(RTC_SOURCE_DIR "/tests/data/sdp/chromium-dc-offer.sdp");
    bench(RTC_SOURCE_DIR "/tests/data/sdp/aiortc-av-dc-offer.sdp");
    return 0;
}
