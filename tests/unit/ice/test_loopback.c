/*
** Two ICE agents in two processes over real UDP sockets on 127.0.0.1: candidates and
** credentials go over a socketpair (the "signaling"), the agents connect, A sends
** datagrams on the selected pair and B echoes them. Built twice: test_ice_loopback with
** plain POSIX sockets (src/net may not be in a layer subset), and test_ice_net_loopback
** (tests/unit/ice/extra.cmake, -DICE_USE_RTC_NET) with src/net's rtc_udp sockets, clock
** and interface enumeration. Bounded by a 10 s wall-clock deadline per process; the
** child is reaped (and killed by PID on timeout).
*/
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cwebrtc/ice.h"
#include "test.h"
#ifdef ICE_USE_RTC_NET
#include "cwebrtc/net.h"
#endif

static rtc_time mono_now(void) {
#ifdef ICE_USE_RTC_NET
    return rtc_net_now();
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (rtc_time)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
#endif
}

typedef struct side {
    rtc_ice *ice;
    int udp, sig;
#ifdef ICE_USE_RTC_NET
    rtc_udp *u;
#endif
    rtc_addr local;
    char inbuf[65536];
    size_t inlen;
    bool selected;
    int rx, echoes, sent;
    bool bye;
} side;

static void sig_send(side *s, const char *line) {
    size_t n = strlen(line), off = 0;
    while (off < n) {
        ssize_t w = write(s->sig, line + off, n - off);
        if (w <= 0) return;
        off += (size_t)w;
    }
}

static void drain(side *s, bool echo_side) {
    rtc_ice_transmit t;
    rtc_ice_event ev;
    for (;;) {
        if (rtc_ice_poll_transmit(s->ice, &t) == 1) {
#ifdef ICE_USE_RTC_NET
            rtc_udp_send(s->u, &t.dst, t.data, t.len);
#else
            struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(t.dst.port)};
            memcpy(&to.sin_addr, t.dst.ip, 4);
            sendto(s->udp, t.data, t.len, 0, (struct sockaddr *)&to, sizeof to);
#endif
            continue;
        }
        if (rtc_ice_poll_event(s->ice, &ev) == 1) {
            char line[RTC_ICE_CANDIDATE_LINE_MAX + 16];
            if (ev.type == RTC_ICE_EVENT_CANDIDATE) {
                char c[RTC_ICE_CANDIDATE_LINE_MAX];
                if (rtc_ice_candidate_format(&ev.candidate, c, sizeof c) > 0) {
                    snprintf(line, sizeof line, "cand %s\n", c);
                    sig_send(s, line);
                }
            } else if (ev.type == RTC_ICE_EVENT_GATHERING_STATE &&
                       ev.state == RTC_ICE_GATHERING_COMPLETE) {
                sig_send(s, "eoc\n");
            } else if (ev.type == RTC_ICE_EVENT_SELECTED_PAIR) {
                s->selected = true;
            }
            continue;
        }
        break;
    }
    (void)echo_side;
}

static void handle_line(side *s, char *line) {
    if (!strncmp(line, "creds ", 6)) {
        char *u = line + 6, *p = strchr(u, ' ');
        if (!p) return;
        *p++ = '\0';
        rtc_ice_set_remote_credentials(s->ice, u, p);
    } else if (!strncmp(line, "cand ", 5)) {
        rtc_ice_add_remote_candidate(s->ice, line + 5);
    } else if (!strcmp(line, "eoc")) {
        rtc_ice_remote_end_of_candidates(s->ice);
    } else if (!strcmp(line, "bye")) {
        s->bye = true;
    }
}

/* Runs one side until done; returns 0 on success. */
static int run_side(int sig, bool controlling, uint64_t seed) {
    side s;
    memset(&s, 0, sizeof s);
    s.sig = sig;
    rtc_env env;
    rtc_test_rng rng;
    rtc_env_seeded(&env, &rng, seed);
    rtc_ice_config cfg = {.controlling = controlling};
    if (rtc_ice_new(&s.ice, &cfg, &env) != RTC_OK) return 10;
#ifdef ICE_USE_RTC_NET
    /* the host address comes from interface enumeration, as an application would do it */
    rtc_iface_addr ifs[16];
    int nif = rtc_net_interfaces(ifs, 16, RTC_IFACE_LOOPBACK | RTC_IFACE_NO_IPV6);
    bool have_lo = false;
    for (int i = 0; i < nif && i < 16; i++)
        have_lo |= ifs[i].loopback;
    if (!have_lo) return 12;
    rtc_udp_config uc;
    memset(&uc, 0, sizeof uc);
    rtc_addr_parse(&uc.bind, "127.0.0.1:0", 0);
    if (rtc_udp_new(&s.u, &uc, NULL) != RTC_OK) return 11;
    s.udp = rtc_udp_fd(s.u);
    rtc_udp_local_addr(s.u, &s.local);
#else
    s.udp = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (s.udp < 0 || bind(s.udp, (struct sockaddr *)&sa, sizeof sa) != 0) return 11;
    socklen_t sl = sizeof sa;
    getsockname(s.udp, (struct sockaddr *)&sa, &sl);
    rtc_addr_set_ipv4(&s.local, (const uint8_t *)&sa.sin_addr, ntohs(sa.sin_port));
#endif
    rtc_ice_add_host_address(s.ice, &s.local);
    char u[300], p[300], line[700];
    rtc_ice_get_local_credentials(s.ice, u, sizeof u, p, sizeof p);
    snprintf(line, sizeof line, "creds %s %s\n", u, p);
    sig_send(&s, line);
    rtc_ice_gather(s.ice, mono_now());
    drain(&s, !controlling);
    rtc_time deadline = mono_now() + RTC_SEC(10), next_data = 0;
    int rc = 1;
    while (mono_now() < deadline) {
        rtc_time now = mono_now();
        rtc_time nt = rtc_ice_next_timeout(s.ice);
        if (controlling && s.selected && s.sent < 50 && next_data < nt) nt = next_data;
        int wait_ms = nt == RTC_TIME_NEVER ? 100 : (int)((nt - now) / 1000);
        if (wait_ms < 0) wait_ms = 0;
        if (wait_ms > 100) wait_ms = 100;
        struct pollfd pf[2] = {{.fd = s.udp, .events = POLLIN}, {.fd = s.sig, .events = POLLIN}};
        poll(pf, 2, wait_ms);
        now = mono_now();
        if (pf[0].revents & POLLIN) {
            uint8_t buf[2048];
            rtc_addr src;
            ssize_t n = -1;
#ifdef ICE_USE_RTC_NET
            rtc_udp_rx rx = {.buf = buf, .cap = sizeof buf};
            if (rtc_udp_recv(s.u, &rx) == 1) {
                n = (ssize_t)rx.len;
                src = rx.src;
            }
#else
            struct sockaddr_in from;
            socklen_t fl = sizeof from;
            n = recvfrom(s.udp, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
            if (n > 0)
                rtc_addr_set_ipv4(&src, (const uint8_t *)&from.sin_addr, ntohs(from.sin_port));
#endif
            if (n > 0) {
                if (rtc_ice_handle_packet(s.ice, now, &src, &s.local, buf, (size_t)n) == 1) {
                    if (controlling)
                        s.echoes++;
                    else if (rtc_ice_send(s.ice, now, buf, (size_t)n) == RTC_OK)
                        s.rx++;
                }
            }
        }
        if (pf[1].revents & (POLLIN | POLLHUP)) {
            ssize_t n = read(s.sig, s.inbuf + s.inlen, sizeof s.inbuf - 1 - s.inlen);
            if (n > 0) {
                s.inlen += (size_t)n;
                char *start = s.inbuf, *nl;
                while ((nl = memchr(start, '\n', s.inlen - (size_t)(start - s.inbuf)))) {
                    *nl = '\0';
                    handle_line(&s, start);
                    start = nl + 1;
                }
                s.inlen -= (size_t)(start - s.inbuf);
                memmove(s.inbuf, start, s.inlen);
            } else if (!controlling) {
                break; /* the parent went away */
            }
        }
        if (rtc_ice_next_timeout(s.ice) <= now) rtc_ice_handle_timeout(s.ice, now);
        if (controlling && s.selected && s.sent < 50 && now >= next_data) {
            uint8_t d[100];
            memset(d, 0x17, sizeof d);
            if (rtc_ice_send(s.ice, now, d, sizeof d) == RTC_OK) s.sent++;
            next_data = now + RTC_MS(5);
        }
        drain(&s, !controlling);
        if (controlling && s.echoes >= 45) {
            sig_send(&s, "bye\n");
            rc = 0;
            break;
        }
        if (!controlling && s.bye) {
            rc = s.rx >= 45 ? 0 : 2;
            break;
        }
    }
    if (controlling)
        fprintf(stderr, "  loopback: sent %d, echoed %d, %s\n", s.sent, s.echoes,
                rtc_ice_state_name(rtc_ice_get_state(s.ice)));
#ifdef ICE_USE_RTC_NET
    rtc_udp_free(s.u);
#else
    close(s.udp);
#endif
    rtc_ice_free(s.ice);
    return rc;
}

static void test_two_processes(void) {
    int sp[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        close(sp[0]);
        _exit(run_side(sp[1], false, 2));
    }
    close(sp[1]);
    int rc = run_side(sp[0], true, 1);
    close(sp[0]);
    int status = 0;
    for (int i = 0; i < 200; i++) { /* up to 2 s more for the child */
        if (waitpid(pid, &status, WNOHANG) == pid) break;
        if (i == 199) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
        }
        usleep(10000);
    }
    CHECK_EQ_INT(rc, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void) {
    RUN(test_two_processes);
    return TEST_DONE();
}
