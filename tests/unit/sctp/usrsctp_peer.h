/*
** tests/unit/sctp/usrsctp_peer.h: usrsctp (Debian libusrsctp-dev) as an in-process
** reference peer over AF_CONN, without its threads (usrsctp_init_nothreads): packets it
** wants to send land in a queue here, packets for it go in with usrsctp_conninput(),
** and its timers advance by usrsctp_handle_timers(elapsed ms). usrsctp is one global
** stack per process, so up_global_init() runs once; each upeer is one AF_CONN
** "address" (the pointer) with one one-to-one socket. Shared by the interop test and
** bench/sctp (which includes this file by relative path).
*/
#ifndef RTC_TESTS_USRSCTP_PEER_H
#define RTC_TESTS_USRSCTP_PEER_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <usrsctp.h>

typedef struct up_pkt {
    struct up_pkt *next;
    size_t len;
    uint8_t data[];
} up_pkt;

typedef struct upeer {
    struct socket *sock;   /* the association's socket */
    struct socket *lsock;  /* listening socket (passive side) until accept() */
    up_pkt *head, *tail;   /* packets usrsctp sent, for the other side */
    size_t queued;
    bool up, closed;       /* SCTP_COMM_UP seen / COMM_LOST or SHUTDOWN_COMP seen */
    int resets_in;         /* SCTP_STREAM_RESET_EVENT with INCOMING_SSN */
    int resets_out;        /* ... with OUTGOING_SSN (our reset completed) */
    uint16_t last_reset_stream;
} upeer;

static int up_output(void *addr, void *buf, size_t len, uint8_t tos, uint8_t set_df) {
    (void)tos;
    (void)set_df;
    upeer *p = addr;
    up_pkt *k = malloc(sizeof *k + len);
    if (!k) return -1;
    k->next = NULL;
    k->len = len;
    memcpy(k->data, buf, len);
    if (p->tail) p->tail->next = k;
    else p->head = k;
    p->tail = k;
    p->queued++;
    return 0;
}

static up_pkt *up_pop(upeer *p) {
    up_pkt *k = p->head;
    if (!k) return NULL;
    p->head = k->next;
    if (!p->head) p->tail = NULL;
    p->queued--;
    return k;
}

static void up_global_init(void) {
    static bool done;
    if (done) return;
    done = true;
    usrsctp_init_nothreads(0, up_output, NULL);
    usrsctp_sysctl_set_sctp_ecn_enable(0);
    usrsctp_sysctl_set_sctp_pr_enable(1);
    usrsctp_sysctl_set_sctp_reconfig_enable(1);
    usrsctp_sysctl_set_sctp_rto_min_default(250); /* above our delayed SACK */
    usrsctp_sysctl_set_sctp_rto_initial_default(300);
    usrsctp_sysctl_set_sctp_init_rto_max_default(1000);
    usrsctp_sysctl_set_sctp_delayed_sack_time_default(20);
    usrsctp_sysctl_set_sctp_sendspace(4 * 1024 * 1024);
    usrsctp_sysctl_set_sctp_recvspace(4 * 1024 * 1024);
}

static struct socket *up_make_socket(upeer *p) {
    struct socket *s = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL);
    if (!s) return NULL;
    usrsctp_set_non_blocking(s, 1);
    int on = 1;
    usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof on);
    usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof on);
    struct sctp_assoc_value av = {SCTP_ALL_ASSOC, SCTP_ENABLE_RESET_STREAM_REQ};
    usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &av, sizeof av);
    struct sctp_initmsg im = {1024, 1024, 0, 0};
    usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_INITMSG, &im, sizeof im);
    uint16_t evs[] = {SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT, SCTP_SHUTDOWN_EVENT};
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++) {
        struct sctp_event ev = {SCTP_ALL_ASSOC, evs[i], 1};
        usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof ev);
    }
    struct sockaddr_conn a;
    memset(&a, 0, sizeof a);
    a.sconn_family = AF_CONN;
    a.sconn_port = htons(5000);
    a.sconn_addr = p;
    if (usrsctp_bind(s, (struct sockaddr *)&a, sizeof a) < 0) {
        usrsctp_close(s);
        return NULL;
    }
    (void)p;
    return s;
}

/* active: connect now; passive: listen and accept once the handshake completed. */
static int up_open(upeer *p, bool active) {
    memset(p, 0, sizeof *p);
    up_global_init();
    usrsctp_register_address(p);
    struct socket *s = up_make_socket(p);
    if (!s) return -1;
    if (active) {
        struct sockaddr_conn a;
        memset(&a, 0, sizeof a);
        a.sconn_family = AF_CONN;
        a.sconn_port = htons(5000);
        a.sconn_addr = p;
        int rc = usrsctp_connect(s, (struct sockaddr *)&a, sizeof a);
        if (rc < 0 && errno != EINPROGRESS) {
            usrsctp_close(s);
            return -1;
        }
        p->sock = s;
    } else {
        if (usrsctp_listen(s, 1) < 0) {
            usrsctp_close(s);
            return -1;
        }
        p->lsock = s;
    }
    return 0;
}

static void up_close(upeer *p) {
    if (p->sock) usrsctp_close(p->sock);
    if (p->lsock) usrsctp_close(p->lsock);
    p->sock = p->lsock = NULL;
    /* let usrsctp flush whatever closing produced, then forget it */
    usrsctp_handle_timers(0);
    up_pkt *k;
    while ((k = up_pop(p))) free(k);
    usrsctp_deregister_address(p);
}

static void up_input(upeer *p, const uint8_t *d, size_t n) { usrsctp_conninput(p, d, n, 0); }

/* Polls the accept (passive side). */
static void up_poll_accept(upeer *p) {
    if (p->sock || !p->lsock) return;
    struct socket *s = usrsctp_accept(p->lsock, NULL, NULL);
    if (s) {
        usrsctp_set_non_blocking(s, 1);
        p->sock = s;
    }
}

typedef struct up_msg {
    uint16_t sid;
    uint32_t ppid;
    bool unordered;
    size_t len;
} up_msg;

/* Reads one complete message (or handles notifications). Returns 1 with a message in
** buf and *m, 0 when nothing complete is available. `acc` accumulates partial deliveries. */
static int up_recv(upeer *p, uint8_t *buf, size_t cap, size_t *acc, up_msg *m) {
    up_poll_accept(p);
    if (!p->sock) return 0;
    for (int guard = 0; guard < 100000; guard++) {
        struct sctp_rcvinfo ri;
        socklen_t il = sizeof ri;
        unsigned int it = 0;
        int flags = 0;
        struct sockaddr_conn from;
        socklen_t fl = sizeof from;
        if (*acc >= cap) return -1;
        ssize_t n = usrsctp_recvv(p->sock, buf + *acc, cap - *acc, (struct sockaddr *)&from, &fl,
                                  &ri, &il, &it, &flags);
        if (n < 0) return 0;
        if (n == 0) {
            p->closed = true;
            return 0;
        }
        if (flags & MSG_NOTIFICATION) {
            union sctp_notification *nt = (union sctp_notification *)(buf + *acc);
            if (nt->sn_header.sn_type == SCTP_ASSOC_CHANGE) {
                uint16_t st = nt->sn_assoc_change.sac_state;
                if (st == SCTP_COMM_UP) p->up = true;
                if (st == SCTP_COMM_LOST || st == SCTP_SHUTDOWN_COMP) p->closed = true;
            } else if (nt->sn_header.sn_type == SCTP_STREAM_RESET_EVENT) {
                struct sctp_stream_reset_event *e = &nt->sn_strreset_event;
                if (!(e->strreset_flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED))) {
                    if (e->strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN) p->resets_in++;
                    if (e->strreset_flags & SCTP_STREAM_RESET_OUTGOING_SSN) p->resets_out++;
                    if (e->strreset_length > sizeof *e) p->last_reset_stream = e->strreset_stream_list[0];
                }
            } else if (nt->sn_header.sn_type == SCTP_SHUTDOWN_EVENT) {
                p->closed = true;
            }
            continue;
        }
        *acc += (size_t)n;
        if (flags & MSG_EOR) {
            m->sid = ri.rcv_sid;
            m->ppid = ntohl(ri.rcv_ppid);
            m->unordered = ri.rcv_flags & SCTP_UNORDERED;
            m->len = *acc;
            *acc = 0;
            return 1;
        }
    }
    return 0;
}

/* Sends one message. Returns 0, or -1 with errno (EWOULDBLOCK when the buffer is full). */
static int up_send(upeer *p, uint16_t sid, uint32_t ppid, bool unordered, int rtx, int ttl_ms,
                   const uint8_t *d, size_t n) {
    if (!p->sock) {
        errno = ENOTCONN;
        return -1;
    }
    struct sctp_sendv_spa spa;
    memset(&spa, 0, sizeof spa);
    spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
    spa.sendv_sndinfo.snd_sid = sid;
    spa.sendv_sndinfo.snd_ppid = htonl(ppid);
    spa.sendv_sndinfo.snd_flags = (uint16_t)(SCTP_EOR | (unordered ? SCTP_UNORDERED : 0));
    if (rtx >= 0 || ttl_ms >= 0) {
        spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
        spa.sendv_prinfo.pr_policy = rtx >= 0 ? SCTP_PR_SCTP_RTX : SCTP_PR_SCTP_TTL;
        spa.sendv_prinfo.pr_value = (uint32_t)(rtx >= 0 ? rtx : ttl_ms);
    }
    ssize_t r = usrsctp_sendv(p->sock, d, n, NULL, 0, &spa, sizeof spa, SCTP_SENDV_SPA, 0);
    return r < 0 ? -1 : 0;
}

static int up_reset(upeer *p, uint16_t sid) {
    uint8_t b[sizeof(struct sctp_reset_streams) + 2];
    struct sctp_reset_streams *rs = (struct sctp_reset_streams *)b;
    memset(b, 0, sizeof b);
    rs->srs_assoc_id = SCTP_ALL_ASSOC;
    rs->srs_flags = SCTP_STREAM_RESET_OUTGOING;
    rs->srs_number_streams = 1;
    rs->srs_stream_list[0] = sid;
    return usrsctp_setsockopt(p->sock, IPPROTO_SCTP, SCTP_RESET_STREAMS, rs, (socklen_t)sizeof b);
}

static int64_t up_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#endif
