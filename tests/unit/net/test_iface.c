/* tests for src/net/ifaddrs.c: interface enumeration. */
#include <net/if.h>
#include <string.h>

#include "cwebrtc/net.h"
#include "test.h"

#define CAP 64

static void test_loopback_when_asked(void) {
    rtc_iface_addr a[CAP];
    int n = rtc_net_interfaces(a, CAP, RTC_IFACE_LOOPBACK);
    REQUIRE(n >= 1);
    bool found = false;
    for (int i = 0; i < n && i < CAP; i++) {
        if (a[i].addr.family == RTC_AF_INET && a[i].addr.ip[0] == 127 && a[i].addr.ip[3] == 1) {
            found = true;
            CHECK(a[i].loopback);
            CHECK_STR(a[i].name, "lo");
            CHECK_EQ_INT(a[i].index, if_nametoindex("lo"));
            CHECK_EQ_INT(a[i].prefix_len, 8);
            CHECK_EQ_INT(a[i].addr.port, 0);
        }
    }
    CHECK(found);
}

static void test_default_skips(void) {
    rtc_iface_addr a[CAP];
    int n = rtc_net_interfaces(a, CAP, 0);
    CHECK(n >= 0);
    for (int i = 0; i < n && i < CAP; i++) {
        CHECK(!a[i].loopback);
        CHECK(!rtc_addr_is_loopback(&a[i].addr));
        CHECK(!(a[i].addr.family == RTC_AF_INET6 && a[i].link_local));
        CHECK(a[i].index > 0);
        CHECK(a[i].name[0] != '\0');
        CHECK(!rtc_addr_is_any(&a[i].addr));
    }
    /* the loopback listing is a superset */
    rtc_iface_addr b[CAP];
    int m = rtc_net_interfaces(b, CAP, RTC_IFACE_LOOPBACK);
    CHECK(m > n);
}

static void test_family_filters(void) {
    rtc_iface_addr a[CAP];
    int n = rtc_net_interfaces(a, CAP, RTC_IFACE_LOOPBACK | RTC_IFACE_NO_IPV4);
    for (int i = 0; i < n && i < CAP; i++)
        CHECK_EQ_INT(a[i].addr.family, RTC_AF_INET6);
    n = rtc_net_interfaces(a, CAP, RTC_IFACE_LOOPBACK | RTC_IFACE_NO_IPV6);
    CHECK(n >= 1);
    for (int i = 0; i < n && i < CAP; i++)
        CHECK_EQ_INT(a[i].addr.family, RTC_AF_INET);
    CHECK_EQ_INT(
        rtc_net_interfaces(a, CAP, RTC_IFACE_LOOPBACK | RTC_IFACE_NO_IPV4 | RTC_IFACE_NO_IPV6), 0);
    /* link-local IPv6 only on request, with its scope */
    n = rtc_net_interfaces(a, CAP, RTC_IFACE_LINK_LOCAL | RTC_IFACE_NO_IPV4);
    for (int i = 0; i < n && i < CAP; i++)
        if (a[i].link_local) CHECK_EQ_INT(a[i].addr.scope_id, a[i].index);
}

static void test_small_array(void) {
    rtc_iface_addr a[CAP], one[1];
    int n = rtc_net_interfaces(a, CAP, RTC_IFACE_LOOPBACK);
    REQUIRE(n >= 1);
    memset(one, 0xee, sizeof one);
    int m = rtc_net_interfaces(one, 1, RTC_IFACE_LOOPBACK);
    CHECK_EQ_INT(m, n); /* the count, even when only one fits */
    CHECK(rtc_addr_equal(&one[0].addr, &a[0].addr));
    CHECK_EQ_INT(rtc_net_interfaces(NULL, 0, RTC_IFACE_LOOPBACK), n);
    CHECK_EQ_INT(rtc_net_interfaces(NULL, 1, 0), RTC_ERR_INVALID);
}

int main(void) {
    RUN(test_loopback_when_asked);
    RUN(test_default_skips);
    RUN(test_family_filters);
    RUN(test_small_array);
    return TEST_DONE();
}
