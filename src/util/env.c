/* Error strings, the environment (memory, randomness, logging) and the test RNG. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "util/util.h"

const char *rtc_version(void) { return "0.1.0"; }

const char *rtc_strerror(int err) {
    switch (err) {
    case RTC_OK: return "ok";
    case RTC_ERR_INVALID: return "invalid argument";
    case RTC_ERR_MISUSE: return "call in the wrong state or order";
    case RTC_ERR_NOMEM: return "out of memory or limit reached";
    case RTC_ERR_TOO_SMALL: return "buffer too small";
    case RTC_ERR_PARSE: return "malformed input";
    case RTC_ERR_AUTH: return "authentication failed";
    case RTC_ERR_REPLAY: return "replayed packet";
    case RTC_ERR_REENTRANT: return "reentrant call from a callback";
    case RTC_ERR_CRYPTO: return "cryptographic operation failed";
    case RTC_ERR_UNSUPPORTED: return "not supported";
    case RTC_ERR_TIMEOUT: return "timed out";
    case RTC_ERR_IO: return "system I/O error";
    case RTC_ERR_NOT_FOUND: return "not found";
    case RTC_ERR_CLOSED: return "closed";
    case RTC_ERR_AGAIN: return "try again";
    default: return err > 0 ? "ok" : "unknown error";
    }
}

static const rtc_env default_env;
const rtc_env *rtc_env_default(void) { return &default_env; }

void rtc_env_copy(rtc_env *dst, const rtc_env *src) { *dst = src ? *src : default_env; }

void *rtc_calloc(const rtc_env *env, size_t n) {
    if (n == 0) n = 1;
    if (env && env->realloc) {
        void *p = env->realloc(env->ud, NULL, 0, n);
        if (p) memset(p, 0, n);
        return p;
    }
    return calloc(1, n);
}

void *rtc_realloc(const rtc_env *env, void *ptr, size_t old_n, size_t new_n) {
    if (new_n == 0) new_n = 1;
    if (env && env->realloc) return env->realloc(env->ud, ptr, old_n, new_n);
    return realloc(ptr, new_n);
}

void rtc_free(const rtc_env *env, void *ptr, size_t n) {
    if (!ptr) return;
    if (env && env->realloc) {
        env->realloc(env->ud, ptr, n, 0);
        return;
    }
    free(ptr);
}

char *rtc_strdup(const rtc_env *env, const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = rtc_calloc(env, n);
    if (d) memcpy(d, s, n);
    return d;
}

void rtc_strfree(const rtc_env *env, char *s) {
    if (s) rtc_free(env, s, strlen(s) + 1);
}

void rtc_random(const rtc_env *env, void *out, size_t len) {
    if (len == 0) return;
    if (env && env->random) {
        env->random(env->ud, out, len);
        return;
    }
    /* RAND_bytes only fails when the OS entropy source is broken; there is no safe
    ** fallback for key material, so leave the buffer zeroed and let the log say so. */
    if (RAND_bytes(out, (int)len) != 1) {
        memset(out, 0, len);
        rtc_log(env, RTC_LOG_ERROR, "util", __FILE__, __LINE__, "RAND_bytes failed");
    }
}

uint32_t rtc_random_u32(const rtc_env *env) {
    uint8_t b[4];
    rtc_random(env, b, 4);
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

uint64_t rtc_random_u64(const rtc_env *env) {
    return ((uint64_t)rtc_random_u32(env) << 32) | rtc_random_u32(env);
}

uint32_t rtc_random_below(const rtc_env *env, uint32_t n) {
    if (n <= 1) return 0;
    /* Rejection sampling keeps the distribution uniform. */
    uint32_t limit = UINT32_MAX - (UINT32_MAX % n);
    for (;;) {
        uint32_t v = rtc_random_u32(env);
        if (v < limit) return v % n;
    }
}

void rtc_random_ice_chars(const rtc_env *env, char *out, size_t n) {
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i++) out[i] = alphabet[rtc_random_below(env, 64)];
    out[n] = '\0';
}

bool rtc_log_enabled(const rtc_env *env, int level) {
    return env && env->log && level > RTC_LOG_NONE && level <= env->log_level;
}

void rtc_log(const rtc_env *env, int level, const char *module, const char *file, int line,
             const char *fmt, ...) {
    if (!rtc_log_enabled(env, level)) return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    env->log(env->ud, level, module, file, line, msg);
}

void rtc_log_stderr(void *ud, int level, const char *module, const char *file, int line,
                    const char *msg) {
    static const char *names[] = {"NONE", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"};
    const char *ln = (level >= 0 && level <= RTC_LOG_TRACE) ? names[level] : "?";
    fprintf(stderr, "%-5s %s: %s\n", ln, module ? module : "-", msg);
}

/* xoshiro256** seeded through splitmix64: fast, good enough for simulations. */
static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t test_rng_next(rtc_test_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static void test_rng_fill(void *ud, uint8_t *out, size_t len) {
    rtc_test_rng *r = ud;
    while (len) {
        uint64_t v = test_rng_next(r);
        size_t n = len < 8 ? len : 8;
        memcpy(out, &v, n);
        out += n;
        len -= n;
    }
}

void rtc_env_seeded(rtc_env *env, rtc_test_rng *state, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) {
        uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        state->s[i] = z ^ (z >> 31);
    }
    memset(env, 0, sizeof *env);
    env->random = test_rng_fill;
    env->ud = state;
}
