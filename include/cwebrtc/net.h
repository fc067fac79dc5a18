/*
** cwebrtc/net.h: the operating-system edge of cwebrtc (sockets, clock, DNS, interfaces).
**
** The protocol cores are sans-IO: they never read a clock or touch a socket. This header
** (with cwebrtc/loop.h, the event loop) is the optional "batteries" layer that an
** application or the cwebrtc apps use to feed those cores: a monotonic clock in rtc_time
** units, rtc_addr <-> struct sockaddr conversions, non-blocking UDP sockets with batched
** receive/send (recvmmsg/sendmmsg) and per-datagram local addresses, non-blocking TCP
** helpers, pure byte-stream framing for STUN/TURN over TCP (RFC 8489 §6.2.2, RFC 8656
** §12.5) and RFC 4571, interface enumeration, and STUN/TURN URI parsing (RFC 7064/7065)
** with blocking name resolution. Linux only (epoll, recvmmsg, eventfd).
**
** Errors: functions return RTC_OK (or a count) and a negative rtc_err on failure. When
** RTC_ERR_IO is returned, errno still holds the system error for the caller to inspect.
** Non-blocking calls that cannot make progress return RTC_ERR_AGAIN.
**
** Threading: every object here is used by one thread at a time (normally the thread that
** runs its rtc_loop). The pure functions (framing, URI parsing, conversions, clock) are
** reentrant and thread-safe. rtc_net_resolve() blocks; see its comment.
*/
#ifndef CWEBRTC_NET_H
#define CWEBRTC_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cwebrtc/addr.h"
#include "cwebrtc/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Clock ========================================================================= */

/*
** rtc_net_now() — CLOCK_MONOTONIC in microseconds. This is the only clock read in the
** library; pass its value as `now` to the cores. Never jumps with wall-clock changes.
** Thread-safe, async-signal-safe.
*/
RTC_API rtc_time rtc_net_now(void);

/* ==== rtc_addr <-> struct sockaddr ==================================================== */

/*
** rtc_addr_to_sockaddr() — fill `ss` (and `*len`) from `a`: AF_INET or AF_INET6 with
** sin6_scope_id = a->scope_id. Returns RTC_OK, or RTC_ERR_INVALID for a family other
** than 4/6.
**
** rtc_addr_to_sockaddr_v6() — the same, but an IPv4 address becomes ::ffff:a.b.c.d
** (AF_INET6), as needed to send to IPv4 peers from a dual-stack (V6ONLY=0) socket.
*/
RTC_API int rtc_addr_to_sockaddr(const rtc_addr *a, struct sockaddr_storage *ss, socklen_t *len);
RTC_API int rtc_addr_to_sockaddr_v6(const rtc_addr *a, struct sockaddr_storage *ss, socklen_t *len);

/*
** rtc_addr_from_sockaddr() — convert an AF_INET/AF_INET6 sockaddr of `len` bytes.
** A v4-mapped IPv6 address (::ffff:a.b.c.d, seen on dual-stack sockets) is returned as
** plain IPv4 so that one peer always has one rtc_addr. Returns RTC_OK, or
** RTC_ERR_INVALID (NULL, short length, other family).
*/
RTC_API int rtc_addr_from_sockaddr(rtc_addr *a, const struct sockaddr *sa, socklen_t len);

/* Close a socket fd; never retried on EINTR (Linux frees the fd anyway); fd < 0 is a
** no-op; errno is preserved. */
RTC_API void rtc_net_close(int fd);
/* getsockname()/getpeername() as rtc_addr. RTC_OK or RTC_ERR_IO. */
RTC_API int rtc_net_local_addr(int fd, rtc_addr *out);
RTC_API int rtc_net_peer_addr(int fd, rtc_addr *out);

/* ==== UDP ============================================================================= */

typedef struct rtc_udp rtc_udp;

/* Most datagrams one batched call moves through a single recvmmsg/sendmmsg. */
#define RTC_UDP_BATCH_MAX 64

/* Zero-initialise, then set what you need: all-zero means "IPv4 any, ephemeral port". */
typedef struct rtc_udp_config {
    rtc_addr bind;   /* family 4 or 6 (0 => 4); IP may be any (0.0.0.0 / ::);
                        port 0 => ephemeral (see rtc_udp_local_addr) */
    bool dual_stack; /* IPv6 only: IPV6_V6ONLY=0 (default: V6ONLY=1, always set
                        explicitly so /proc/sys/net/ipv6/bindv6only does not matter) */
    bool pktinfo;    /* report each datagram's local destination address/interface
                        (IP_PKTINFO / IPV6_RECVPKTINFO); needed on wildcard-bound
                        sockets of multi-homed hosts. Costs one cmsg per datagram. */
    bool reuse_port; /* SO_REUSEPORT: several sockets (threads) share one port */
    int rcvbuf;      /* SO_RCVBUF bytes; 0 = OS default. SO_RCVBUFFORCE is tried
                        first (beyond rmem_max when privileged), else the kernel
                        caps the value at net.core.rmem_max. */
    int sndbuf;      /* SO_SNDBUF bytes; 0 = OS default (same rule, wmem_max) */
} rtc_udp_config;

/* One received datagram. The caller fills buf/cap; the socket fills the rest. */
typedef struct rtc_udp_rx {
    uint8_t *buf;     /* in: caller's buffer (borrowed) */
    size_t cap;       /* in: its size; 1500..65536 typical */
    size_t len;       /* out: bytes stored (<= cap) */
    bool truncated;   /* out: the datagram was longer than cap (rest discarded) */
    rtc_addr src;     /* out: sender (v4-mapped sources are unmapped to IPv4) */
    rtc_addr dst;     /* out: local address it arrived on, port = bound port. With
                         pktinfo this is the exact destination IP; without it, the
                         bound address (possibly the wildcard). */
    uint32_t ifindex; /* out: arrival interface index with pktinfo, else 0 */
} rtc_udp_rx;

/* One datagram to send. */
typedef struct rtc_udp_tx {
    const uint8_t *data; /* borrowed for the call */
    size_t len;
    rtc_addr dst; /* destination */
    rtc_addr src; /* optional source IP (port ignored): family 0 lets the kernel
                     choose. Set it to rx.dst when answering on a wildcard-bound
                     pktinfo socket so the reply leaves from the address the
                     request reached (IP_PKTINFO / IPV6_PKTINFO ipi_spec_dst). */
} rtc_udp_tx;

/* Counters kept by each socket (read with rtc_udp_stats_get; never reset). */
typedef struct rtc_udp_stats {
    uint64_t rx_packets, rx_bytes, rx_truncated;
    uint64_t tx_packets, tx_bytes;
    uint64_t tx_dropped;               /* refused by the kernel for that datagram (EHOSTUNREACH,
                                          EMSGSIZE, family mismatch, ...): UDP is lossy anyway */
    uint64_t rx_syscalls, tx_syscalls; /* recvmmsg/recvmsg and sendmmsg/sendmsg calls */
} rtc_udp_stats;

/*
** rtc_udp_new() — open a non-blocking, close-on-exec UDP socket and bind it.
** cfg may be NULL (IPv4 any, ephemeral). env may be NULL (defaults); it is copied.
** Returns RTC_OK, RTC_ERR_INVALID, RTC_ERR_NOMEM, RTC_ERR_IO (errno set, e.g.
** EADDRINUSE). Preallocates its batch scratch space (about 20 KiB per socket): the
** receive and send paths never allocate.
*/
RTC_API int rtc_udp_new(rtc_udp **out, const rtc_udp_config *cfg, const rtc_env *env);
/* Close the socket and free. NULL is a no-op. Unwatch its fd from any loop first. */
RTC_API void rtc_udp_free(rtc_udp *u);

/* The fd, for rtc_loop_watch(). Owned by u: do not close it. */
RTC_API int rtc_udp_fd(const rtc_udp *u);
/* The bound address (with the actual port when cfg->bind.port was 0). */
RTC_API void rtc_udp_local_addr(const rtc_udp *u, rtc_addr *out);
RTC_API void rtc_udp_stats_get(const rtc_udp *u, rtc_udp_stats *out);

/*
** rtc_udp_recv_batch() — receive up to n datagrams into rx[0..n) without blocking
** (recvmmsg, in slices of RTC_UDP_BATCH_MAX).
** Returns the number received (>= 1), RTC_ERR_AGAIN when none was waiting, or
** RTC_ERR_IO. Transient ICMP-caused errors (ECONNREFUSED etc.) are skipped.
** rtc_udp_recv() is the single-datagram form (returns 1 or an error).
*/
RTC_API int rtc_udp_recv_batch(rtc_udp *u, rtc_udp_rx *rx, size_t n);
RTC_API int rtc_udp_recv(rtc_udp *u, rtc_udp_rx *rx);

/*
** rtc_udp_send_batch() — send tx[0..n) in order without blocking (sendmmsg).
** Returns how many entries were consumed from the front: sent, or dropped because the
** kernel refused that one datagram (counted in tx_dropped). Less than n means the socket
** buffer filled: wait for RTC_LOOP_WRITE and send the rest, or drop them. Returns
** RTC_ERR_AGAIN when not even the first could be queued, RTC_ERR_IO on a socket-level
** failure. IPv4 destinations on a dual-stack IPv6 socket are mapped automatically.
** rtc_udp_send() is the single form: RTC_OK, RTC_ERR_AGAIN, RTC_ERR_IO (errno set; the
** datagram is also counted in tx_dropped when refused).
*/
RTC_API int rtc_udp_send_batch(rtc_udp *u, const rtc_udp_tx *tx, size_t n);
RTC_API int rtc_udp_send(rtc_udp *u, const rtc_addr *dst, const uint8_t *data, size_t len);

/* ==== TCP (plain fds) ================================================================== */

/*
** rtc_tcp_listen() — socket + SO_REUSEADDR (+ IPV6_V6ONLY=1 for IPv6) + bind + listen,
** non-blocking, close-on-exec. bind->port 0 = ephemeral; `bound` (may be NULL) gets the
** actual address. backlog <= 0 means SOMAXCONN. *fd_out = the listening fd (caller
** closes with rtc_net_close). Returns RTC_OK, RTC_ERR_INVALID, RTC_ERR_IO.
*/
RTC_API int rtc_tcp_listen(int *fd_out, const rtc_addr *bind, int backlog, rtc_addr *bound);

/*
** rtc_tcp_accept() — accept one connection: non-blocking, close-on-exec, TCP_NODELAY.
** `peer` may be NULL. Returns RTC_OK, RTC_ERR_AGAIN (none pending; also for a
** connection aborted before accept), RTC_ERR_IO (e.g. EMFILE: errno set).
*/
RTC_API int rtc_tcp_accept(int listen_fd, int *fd_out, rtc_addr *peer);

/*
** rtc_tcp_connect() — start a non-blocking connect to dst, optionally from `src`
** (NULL = any; port 0 = ephemeral). Returns RTC_OK when connected at once, RTC_ERR_AGAIN
** when in progress (then watch RTC_LOOP_WRITE and call rtc_tcp_connect_finish), or
** RTC_ERR_IO/RTC_ERR_INVALID (no fd is left open; *fd_out = -1).
** rtc_tcp_connect_finish() — RTC_OK when connected, RTC_ERR_AGAIN when still in
** progress, RTC_ERR_IO with errno = the connect error (ECONNREFUSED, ...).
*/
RTC_API int rtc_tcp_connect(int *fd_out, const rtc_addr *dst, const rtc_addr *src);
RTC_API int rtc_tcp_connect_finish(int fd);

/*
** rtc_tcp_send() — write what fits (MSG_NOSIGNAL: no SIGPIPE). Returns bytes written
** (> 0, may be < len; 0 when len is 0), RTC_ERR_AGAIN, RTC_ERR_CLOSED (EPIPE/ECONNRESET),
** RTC_ERR_IO.
** rtc_tcp_recv() — read up to cap bytes. Returns bytes (> 0), RTC_ERR_CLOSED on orderly
** EOF or reset, RTC_ERR_AGAIN, RTC_ERR_IO.
*/
RTC_API int rtc_tcp_send(int fd, const uint8_t *data, size_t len);
RTC_API int rtc_tcp_recv(int fd, uint8_t *buf, size_t cap);

/* ==== Stream framing (pure: no sockets) ================================================= */

/*
** A byte stream (TCP/TLS) carries whole messages back to back; these helpers find their
** boundaries. Two modes:
**   RTC_FRAME_STUN: STUN and TURN ChannelData interleaved, as on a TURN/STUN TCP
**     connection. First two bits 00 => STUN, total = 20 + length field (RFC 8489 §6.2.2;
**     the length must be a multiple of 4 and the magic cookie must be present).
**     First two bits 01 => ChannelData, total = 4 + length padded up to 4 (RFC 8656
**     §12.5: over TCP the padding is on the wire). Anything else is garbage: the stream
**     cannot be resynchronised and the connection must be dropped.
**   RTC_FRAME_RFC4571: 16-bit length prefix then that many bytes (RFC 4571 §2), used by
**     ICE-TCP (RFC 6544) only. A zero length frame is legal and delivered.
*/
typedef enum rtc_frame_mode {
    RTC_FRAME_STUN = 1,
    RTC_FRAME_RFC4571 = 2,
} rtc_frame_mode;

typedef enum rtc_frame_kind {
    RTC_FRAMEK_STUN = 1,         /* data = the whole STUN message, header included */
    RTC_FRAMEK_CHANNEL_DATA = 2, /* data = ChannelData header + payload, WITHOUT the TCP
                                    padding (len = 4 + length field) */
    RTC_FRAMEK_RFC4571 = 3,      /* data = the payload, without the 2-byte prefix */
} rtc_frame_kind;

typedef struct rtc_frame {
    rtc_frame_kind kind;
    const uint8_t *data; /* see rtc_framer_next / rtc_frame_peek for lifetime */
    size_t len;
} rtc_frame;

/*
** rtc_frame_peek() — stateless: look at the front of buf[0..len).
** Returns 1 and fills `out` (data points into buf) and `*wire_len` (bytes to consume,
** padding included) when a whole frame is there; 0 when more bytes are needed (then
** `*wire_len` is the total needed if the header was complete, else 0); RTC_ERR_PARSE
** on garbage; RTC_ERR_NOMEM ("a bound was reached") when the frame would exceed
** max_frame wire bytes (0 = no limit beyond the format's own 16-bit length). Garbage
** is reported as early as the bytes allow (first byte, STUN length % 4, magic cookie,
** reserved channel numbers 0x5000-0x7FFF), so a byte-at-a-time attacker is cut off.
*/
RTC_API int rtc_frame_peek(rtc_frame_mode mode, const uint8_t *buf, size_t len, size_t max_frame,
                           rtc_frame *out, size_t *wire_len);

/* A reassembler with a bounded buffer that grows only as far as max_frame. */
typedef struct rtc_framer rtc_framer;

/*
** rtc_framer_new() — max_frame is the largest accepted frame on the wire (0 = 65536+20,
** enough for any STUN, ChannelData or RFC 4571 frame). Memory stays <= about max_frame.
** Returns RTC_OK, RTC_ERR_INVALID, RTC_ERR_NOMEM.
*/
RTC_API int rtc_framer_new(rtc_framer **out, rtc_frame_mode mode, size_t max_frame,
                           const rtc_env *env);
RTC_API void rtc_framer_free(rtc_framer *f); /* NULL is a no-op */

/*
** rtc_framer_push() — copy in as much of data[0..len) as fits in the buffer.
** Returns the number of bytes taken (0..len; 0 only when a complete frame is waiting to
** be taken by rtc_framer_next), or a sticky error: RTC_ERR_PARSE (garbage) or
** RTC_ERR_NOMEM (a frame over max_frame, or allocation failed). After an error drop
** the connection.
**
** rtc_framer_next() — 1 and a frame (data points into the framer, valid until the next
** push/next/free), 0 when more bytes are needed, or the sticky error.
**
** Typical use with bytes `b[0..n)` just read from a socket:
**     size_t off = 0; int r;
**     do {
**         if ((r = rtc_framer_push(f, b + off, n - off)) < 0) goto drop;
**         off += (size_t)r;
**         rtc_frame fr;
**         while ((r = rtc_framer_next(f, &fr)) == 1) handle(fr.kind, fr.data, fr.len);
**         if (r < 0) goto drop;
**     } while (off < n);
** Threading: one thread at a time per framer.
*/
RTC_API int rtc_framer_push(rtc_framer *f, const uint8_t *data, size_t len);
RTC_API int rtc_framer_next(rtc_framer *f, rtc_frame *out);
/* Bytes buffered but not yet returned as frames. */
RTC_API size_t rtc_framer_pending(const rtc_framer *f);

/* ==== Interfaces ======================================================================== */

#define RTC_IFNAME_MAX 16 /* IF_NAMESIZE, including the NUL */

typedef struct rtc_iface_addr {
    rtc_addr addr;             /* port 0; IPv6 link-local carries scope_id = index */
    char name[RTC_IFNAME_MAX]; /* "eth0" */
    uint32_t index;            /* if_nametoindex(name) */
    uint8_t prefix_len;        /* from the netmask */
    bool loopback;
    bool link_local; /* 169.254/16 or fe80::/10 */
} rtc_iface_addr;

/* Flags for rtc_net_interfaces(). */
#define RTC_IFACE_LOOPBACK   0x1u /* include loopback addresses (127/8, ::1) */
#define RTC_IFACE_LINK_LOCAL 0x2u /* include IPv6 link-local (fe80::/10) */
#define RTC_IFACE_NO_IPV4    0x4u
#define RTC_IFACE_NO_IPV6    0x8u

/*
** rtc_net_interfaces() — list addresses of interfaces that are up (getifaddrs), skipping
** loopback and IPv6 link-local unless the flags ask for them. Writes at most `cap`
** entries in getifaddrs order; returns the number of usable addresses found (may exceed
** cap: call again with a bigger array), or RTC_ERR_IO. Thread-safe.
*/
RTC_API int rtc_net_interfaces(rtc_iface_addr *out, size_t cap, unsigned flags);

/* ==== STUN/TURN URIs (RFC 7064, RFC 7065) =============================================== */

typedef enum rtc_uri_scheme {
    RTC_URI_STUN = 1,  /* stun:  host[:port]               default port 3478 */
    RTC_URI_STUNS = 2, /* stuns: host[:port] (TLS)         default port 5349 */
    RTC_URI_TURN = 3,  /* turn:  host[:port][?transport=udp|tcp]   default 3478 */
    RTC_URI_TURNS = 4, /* turns: host[:port][?transport=udp|tcp]   default 5349 */
} rtc_uri_scheme;

typedef enum rtc_uri_transport {
    RTC_URI_UDP = 1,
    RTC_URI_TCP = 2,
} rtc_uri_transport;

#define RTC_URI_HOST_MAX 256

typedef struct rtc_uri {
    rtc_uri_scheme scheme;
    rtc_uri_transport transport; /* explicit ?transport=, else UDP for stun:/turn:, TCP for
                                    stuns:/turns: (TLS over TCP). turns:?transport=udp
                                    means DTLS (RFC 7350). */
    bool transport_explicit;
    char host[RTC_URI_HOST_MAX]; /* host name or IP literal, without [] brackets */
    bool host_is_ip;             /* then `ip` holds it (with `port`) */
    rtc_addr ip;
    uint16_t port; /* explicit, or the scheme's default */
    bool port_explicit;
} rtc_uri;

/*
** rtc_uri_parse() — parse "stun:host", "turns:[2001:db8::1]:5349?transport=tcp", ...
** Scheme names are case-insensitive; no "//" authority, userinfo, path or fragment
** (RFC 7064 §3.1); ports 1..65535; "transport" is the only query key and only for
** turn:/turns: (RFC 7065 §3.1). Host names may hold letters, digits, '-', '_' and '.'
** (labels of 1..63 chars, no empty label); percent-encoding is rejected; IPv6 literals
** must be bracketed and may carry a numeric zone ("[fe80::1%252]" per RFC 6874, or
** "[fe80::1%2]"); zone names would need an OS lookup and are rejected to keep parsing pure.
** Returns RTC_OK or RTC_ERR_PARSE; `*why` (may be NULL) then gets a static English
** reason ("missing host", "bad port", ...). Pure, thread-safe.
*/
RTC_API int rtc_uri_parse(rtc_uri *out, const char *s, const char **why);

/* Family preference for resolution. */
typedef enum rtc_resolve_pref {
    RTC_RESOLVE_ANY = 0,      /* resolver order (RFC 6724 via getaddrinfo) */
    RTC_RESOLVE_V4_FIRST = 1, /* all IPv4 results, then IPv6 */
    RTC_RESOLVE_V6_FIRST = 2,
    RTC_RESOLVE_V4_ONLY = 3,
    RTC_RESOLVE_V6_ONLY = 4,
} rtc_resolve_pref;

/*
** rtc_net_resolve() — getaddrinfo(host) into up to `cap` addresses with `port`, ordered
** by `pref`, duplicates removed. IP literals are returned without DNS.
** BLOCKS for as long as the system resolver takes (seconds on a bad network): never call
** it on a loop thread that serves traffic; run it before the loop starts, or on a helper
** thread that hands the result back with rtc_loop_post(). Thread-safe.
** Returns the number of addresses (>= 1, at most cap), RTC_ERR_NOT_FOUND (no such name,
** no address of the wanted family, or DNS failure), RTC_ERR_INVALID.
** rtc_uri_resolve() does the same for uri->host/uri->port (SRV lookups are not done).
*/
RTC_API int rtc_net_resolve(const char *host, uint16_t port, rtc_resolve_pref pref, rtc_addr *out,
                            size_t cap);
RTC_API int rtc_uri_resolve(const rtc_uri *uri, rtc_resolve_pref pref, rtc_addr *out, size_t cap);

/* Resolution off the loop thread (the loop itself is declared in cwebrtc/loop.h). */
typedef struct rtc_loop rtc_loop;
#define RTC_RESOLVE_MAX 16
typedef void (*rtc_resolve_cb)(rtc_loop *l, int result, const rtc_addr *addrs, void *ud);

/*
** rtc_net_resolve_async() — run rtc_net_resolve(host, port, pref) on a short-lived
** helper thread and deliver the outcome on the loop's thread:
**     cb(l, result, addrs, ud)
** `result` is what rtc_net_resolve returned: a count (addrs[0..result), at most
** RTC_RESOLVE_MAX) or a negative rtc_err (RTC_ERR_NOT_FOUND, ...). `addrs` is valid only
** during cb. When this returns RTC_OK, cb runs exactly once, never from inside this call:
** on the loop thread with l set, or with l == NULL from rtc_loop_free() if the loop is
** freed first (rtc_loop_free waits for running look-ups, which can take as long as the
** system resolver does). `ud` must stay valid until cb has run; host is copied.
** IP literals are answered without a thread (still through the loop).
** Returns RTC_OK, RTC_ERR_INVALID, RTC_ERR_NOMEM, RTC_ERR_IO (no thread could start).
** Threading: any thread (it only registers a helper and posts); cb runs on the loop.
*/
RTC_API int rtc_net_resolve_async(rtc_loop *l, const char *host, uint16_t port,
                                  rtc_resolve_pref pref, rtc_resolve_cb cb, void *ud);

#ifdef __cplusplus
}
#endif
#endif
