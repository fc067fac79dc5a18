/*
** tests/test.h: a tiny test harness. A test file defines functions and lists them in
** main() with RUN(fn). CHECK() records a failure and continues; REQUIRE() stops the
** current test function. main() returns non-zero when anything failed.
*/
#ifndef RTC_TESTS_TEST_H
#define RTC_TESTS_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rtc_test_failures;
static int rtc_test_checks;
static const char *rtc_test_current = "";

#define CHECK(cond)                                                                   \
    do {                                                                              \
        rtc_test_checks++;                                                            \
        if (!(cond)) {                                                                \
            rtc_test_failures++;                                                      \
            fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__,      \
                    rtc_test_current, #cond);                                         \
        }                                                                             \
    } while (0)

#define REQUIRE(cond)                                                                 \
    do {                                                                              \
        rtc_test_checks++;                                                            \
        if (!(cond)) {                                                                \
            rtc_test_failures++;                                                      \
            fprintf(stderr, "%s:%d: %s: REQUIRE(%s) failed\n", __FILE__, __LINE__,    \
                    rtc_test_current, #cond);                                         \
            return;                                                                   \
        }                                                                             \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                            \
    do {                                                                              \
        long long va_ = (long long)(a), vb_ = (long long)(b);                         \
        rtc_test_checks++;                                                            \
        if (va_ != vb_) {                                                             \
            rtc_test_failures++;                                                      \
            fprintf(stderr, "%s:%d: %s: %s == %s failed (%lld != %lld)\n", __FILE__,  \
                    __LINE__, rtc_test_current, #a, #b, va_, vb_);                    \
        }                                                                             \
    } while (0)

#define CHECK_MEM(a, b, n)                                                            \
    do {                                                                              \
        rtc_test_checks++;                                                            \
        if (memcmp((a), (b), (n)) != 0) {                                             \
            rtc_test_failures++;                                                      \
            fprintf(stderr, "%s:%d: %s: memory %s != %s (%zu bytes)\n", __FILE__,     \
                    __LINE__, rtc_test_current, #a, #b, (size_t)(n));                 \
        }                                                                             \
    } while (0)

#define CHECK_STR(a, b)                                                               \
    do {                                                                              \
        const char *sa_ = (a), *sb_ = (b);                                            \
        rtc_test_checks++;                                                            \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                                  \
            rtc_test_failures++;                                                      \
            fprintf(stderr, "%s:%d: %s: \"%s\" != \"%s\"\n", __FILE__, __LINE__,      \
                    rtc_test_current, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");    \
        }                                                                             \
    } while (0)

#define RUN(fn)                                                                       \
    do {                                                                              \
        int before_ = rtc_test_failures;                                              \
        rtc_test_current = #fn;                                                       \
        fn();                                                                         \
        fprintf(stderr, "%s %s\n", rtc_test_failures == before_ ? "ok  " : "FAIL", #fn); \
    } while (0)

#define TEST_DONE()                                                                   \
    (fprintf(stderr, "%d checks, %d failures\n", rtc_test_checks, rtc_test_failures), \
     rtc_test_failures ? 1 : 0)

/* Hex string (spaces allowed) to bytes; returns the byte count. Aborts on bad hex:
** test data is ours, not the network's. */
static inline size_t test_unhex(const char *hex, uint8_t *out, size_t cap) {
    size_t n = 0;
    int hi = -1;
    for (const char *p = hex; *p; p++) {
        int v;
        if (*p >= '0' && *p <= '9') v = *p - '0';
        else if (*p >= 'a' && *p <= 'f') v = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F') v = *p - 'A' + 10;
        else if (*p == ' ' || *p == '\n' || *p == ':') continue;
        else abort();
        if (hi < 0) hi = v;
        else {
            if (n >= cap) abort();
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    if (hi >= 0) abort();
    return n;
}

#endif
