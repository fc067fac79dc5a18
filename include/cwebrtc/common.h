/*
** cwebrtc/common.h: the vocabulary every layer shares.
**
** Time, error codes, and the environment through which a sans-IO core gets memory,
** randomness and logging. No core reads a clock, opens a socket, starts a thread or
** keeps a global: the caller passes `now` in and gets bytes, events and the next
** deadline back (see docs/architecture.md).
**
** Threading: nothing here is shared state; an rtc_env may be used by many objects as
** long as its callbacks are themselves safe for the threads that use those objects.
*/
#ifndef CWEBRTC_COMMON_H
#define CWEBRTC_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks every public function: the library builds with -fvisibility=hidden. */
#define RTC_API __attribute__((visibility("default")))

/* Microseconds on the caller's monotonic clock; the epoch is arbitrary. */
typedef int64_t rtc_time;
#define RTC_TIME_NEVER INT64_MAX
#define RTC_MS(x) ((rtc_time)(x) * 1000)
#define RTC_SEC(x) ((rtc_time)(x) * 1000000)

/*
** Errors: functions return >= 0 on success (a count or length where documented) and a
** negative rtc_err on failure. The list is short and its numbers never change.
*/
typedef enum rtc_err {
    RTC_OK = 0,
    RTC_ERR_INVALID = -1,    /* bad argument from the caller */
    RTC_ERR_MISUSE = -2,     /* wrong state or order */
    RTC_ERR_NOMEM = -3,      /* allocation failed or a bound was reached */
    RTC_ERR_TOO_SMALL = -4,  /* caller's buffer too small */
    RTC_ERR_PARSE = -5,      /* malformed input from the network */
    RTC_ERR_AUTH = -6,       /* integrity, fingerprint or authentication failed */
    RTC_ERR_REPLAY = -7,     /* replayed packet */
    RTC_ERR_REENTRANT = -8,  /* called from inside a callback on the same object */
    RTC_ERR_CRYPTO = -9,     /* OpenSSL failed; detail in the log */
    RTC_ERR_UNSUPPORTED = -10, /* valid input we do not implement (e.g. unknown
                                  comprehension-required STUN attribute) */
    RTC_ERR_TIMEOUT = -11,   /* a transaction or operation ran out of time */
    RTC_ERR_IO = -12,        /* a system call failed (src/net only); errno kept */
    RTC_ERR_NOT_FOUND = -13, /* name resolution or lookup found nothing */
    RTC_ERR_CLOSED = -14,    /* the object or peer is closed */
    RTC_ERR_AGAIN = -15,     /* nothing to do now, try later (non-blocking I/O) */
} rtc_err;

/* A static English string for an rtc_err (or "unknown error"). Never NULL. */
RTC_API const char *rtc_strerror(int err);

/* Log levels, most severe first. */
typedef enum rtc_log_level {
    RTC_LOG_NONE = 0,
    RTC_LOG_ERROR = 1,
    RTC_LOG_WARN = 2,
    RTC_LOG_INFO = 3,
    RTC_LOG_DEBUG = 4,
    RTC_LOG_TRACE = 5,
} rtc_log_level;

/*
** The environment: everything a core would otherwise take from the OS.
** NULL callbacks mean the defaults: libc realloc/free, OpenSSL RAND_bytes, no logging.
** The library copies the struct; `ud` is passed back to every callback.
**
** realloc: lua_Alloc shape. new_size == 0 frees `ptr` and returns NULL.
** random:  fills `out` with `len` unpredictable bytes (ufrag/pwd, tie-breakers,
**          transaction ids, TSNs, SSRCs). Tests install a seeded generator.
** log:     called only for levels <= log_level. `msg` is formatted, no newline.
*/
typedef struct rtc_env {
    void *(*realloc)(void *ud, void *ptr, size_t old_size, size_t new_size);
    void (*random)(void *ud, uint8_t *out, size_t len);
    void (*log)(void *ud, int level, const char *module, const char *file, int line,
                const char *msg);
    void *ud;
    int log_level; /* rtc_log_level; 0 (NONE) by default: the library is silent */
} rtc_env;

/* The default environment (all NULL, silent). */
RTC_API const rtc_env *rtc_env_default(void);

/*
** A deterministic random source for tests and simulations: fill `env` so that its
** random callback draws from a xoshiro-style generator seeded with `seed`. `state`
** must outlive every object created with `env`. Never use it in production.
*/
typedef struct rtc_test_rng {
    uint64_t s[4];
} rtc_test_rng;
RTC_API void rtc_env_seeded(rtc_env *env, rtc_test_rng *state, uint64_t seed);

/* A stderr logger suitable for apps and debugging: prints "LEVEL module: msg". */
RTC_API void rtc_log_stderr(void *ud, int level, const char *module, const char *file, int line,
                    const char *msg);

/* Library version string, e.g. "0.1.0". */
RTC_API const char *rtc_version(void);

#ifdef __cplusplus
}
#endif
#endif
