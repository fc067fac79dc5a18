/*
** tests/sim/netsim.h: a deterministic network simulator for sans-IO cores.
**
** Virtual time, a seeded random generator, hosts with IP addresses, access links with
** loss / delay / jitter / duplication / reordering / blocked UDP, NAT boxes with the
** RFC 4787 behaviours (endpoint-independent, address-dependent or address-and-port-
** dependent mapping and filtering: full-cone, restricted, port-restricted, symmetric), a
** STUN server node (Binding -> XOR-MAPPED-ADDRESS) and a fake TURN-like relay node.
**
** Objects under test are "actors": a next_timeout() and an on_timeout() callback. The
** loop always advances virtual time to the earliest of all pending deliveries and actor
** deadlines (str0m's progress()), so hours of protocol time run in milliseconds and every
** run with the same seed is identical.
**
** Topology: a host is either public or behind exactly one NAT. A datagram from host A to
** address D goes over A's access link, through A's NAT (outbound mapping) when D is not on
** A's private network, then through the NAT owning D's public address (inbound filter
** and translation) when D is a NAT's address, then over the receiving host's access link.
** Private addresses are reachable only from behind the same NAT. No hairpinning.
**
** Ownership: the simulator copies every datagram; callbacks get borrowed bytes.
** Threading: single-threaded, like the cores it drives.
*/
#ifndef RTC_TESTS_NETSIM_H
#define RTC_TESTS_NETSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cwebrtc/addr.h"
#include "cwebrtc/common.h"

typedef struct netsim netsim;

/* A datagram arrives at a host: src as seen after NATs, dst the host's own address. */
typedef void (*netsim_recv_fn)(void *ud, rtc_time now, const rtc_addr *src, const rtc_addr *dst,
                               const uint8_t *buf, size_t len);

/* An access link; applies to both directions of a host's traffic. Zero = perfect. */
typedef struct netsim_link {
    double loss;      /* probability each datagram is lost, per traversal */
    rtc_time delay;   /* one-way base delay, µs */
    rtc_time jitter;  /* uniform extra delay in [0, jitter] */
    double duplicate; /* probability of a second copy (delayed by up to jitter+1 ms) */
    double reorder;   /* probability of holding a datagram back by reorder_delay */
    rtc_time reorder_delay;
    bool block_udp; /* drop everything (a firewall that blocks UDP) */
} netsim_link;

/* RFC 4787 §4.1 mapping and §5 filtering behaviours. */
typedef enum {
    NETSIM_EI = 0,  /* endpoint-independent */
    NETSIM_AD = 1,  /* address-dependent */
    NETSIM_APD = 2, /* address-and-port-dependent */
} netsim_nat_behaviour;

/* The classic names: full cone (EI map, EI filter), restricted cone (EI, AD), port-
** restricted cone (EI, APD), symmetric (APD, APD). */
typedef enum {
    NETSIM_NAT_FULL_CONE = 0,
    NETSIM_NAT_RESTRICTED = 1,
    NETSIM_NAT_PORT_RESTRICTED = 2,
    NETSIM_NAT_SYMMETRIC = 3,
} netsim_nat_type;

typedef struct netsim_stats {
    uint64_t sent, delivered, lost, blocked, unroutable, filtered, duplicated;
} netsim_stats;

/* Create / free. Returns 0 or RTC_ERR_NOMEM. The seed fixes every random decision. */
int netsim_new(netsim **out, uint64_t seed);
void netsim_free(netsim *n);

rtc_time netsim_now(const netsim *n);
/* Uniform 64-bit / [0,1) draws from the simulator's generator (tests may share it). */
uint64_t netsim_rand(netsim *n);
double netsim_uniform(netsim *n);
void netsim_get_stats(const netsim *n, netsim_stats *out);

/* A NAT with public IP `public_ip` (port ignored). Returns its id (> 0) or < 0. */
int netsim_add_nat(netsim *n, const rtc_addr *public_ip, netsim_nat_behaviour mapping,
                   netsim_nat_behaviour filtering);
int netsim_add_nat_type(netsim *n, const rtc_addr *public_ip, netsim_nat_type type);
/* Mappings idle (no outbound datagram) for longer than idle_timeout expire (RFC 4787
** §4.3; REQ-6: only outbound traffic refreshes). 0, the default, keeps them forever. */
int netsim_set_nat_timeout(netsim *n, int nat, rtc_time idle_timeout);

/*
** A host owning IP `ip` (port ignored); nat 0 = public, else a NAT id. link NULL =
** perfect. recv is called for every datagram delivered to any of its addresses.
** Returns the host id (> 0) or < 0.
*/
int netsim_add_host(netsim *n, const rtc_addr *ip, int nat, const netsim_link *link,
                    netsim_recv_fn recv, void *ud);
/* Another IP for the same host (dual-stack, several interfaces). Returns 0 or < 0. */
int netsim_host_add_ip(netsim *n, int host, const rtc_addr *ip);
/* Change a host's link at any time (e.g. cut it: block_udp = true). */
int netsim_set_link(netsim *n, int host, const netsim_link *link);

/* Send a datagram now from src (one of a host's addresses with its port) to dst. */
int netsim_send(netsim *n, const rtc_addr *src, const rtc_addr *dst, const uint8_t *buf,
                size_t len);

/* Actors: anything with timers. next_timeout returns RTC_TIME_NEVER when idle. */
typedef rtc_time (*netsim_next_fn)(void *ud);
typedef void (*netsim_fire_fn)(void *ud, rtc_time now);
int netsim_add_actor(netsim *n, netsim_next_fn next, netsim_fire_fn fire, void *ud);

/* Earliest pending delivery (RTC_TIME_NEVER when none). */
rtc_time netsim_next_delivery(const netsim *n);

/*
** One step: advance to the earliest delivery or actor deadline if it is <= until, deliver
** everything due then, fire every due actor. Returns true when it did something, false
** when nothing is due before `until` (time then moves to `until`).
*/
bool netsim_step(netsim *n, rtc_time until);
/* Steps until `until`, or until stop(ud) returns true (checked after each step), or
** max_steps. Returns the number of steps taken. */
long netsim_run(netsim *n, rtc_time until, bool (*stop)(void *ud), void *ud, long max_steps);

/* A STUN server answering Binding requests with XOR-MAPPED-ADDRESS (RFC 8489 §6.3.1)
** at `addr` (IP and port), public. Returns the host id (> 0) or < 0. */
int netsim_add_stun_server(netsim *n, const rtc_addr *addr, const netsim_link *link);

/*
** A fake relay (the forwarding part of TURN without the protocol): allocations get a
** port on the relay's public IP; datagrams to it from permitted peer IPs are handed to the
** allocation's owner through `deliver` (src = the peer, dst = the relayed address), and
** the owner sends from the relayed address with netsim_relay_send.
*/
typedef void (*netsim_relay_deliver_fn)(void *ud, rtc_time now, const rtc_addr *peer,
                                        const rtc_addr *relayed, const uint8_t *buf, size_t len);
int netsim_add_relay(netsim *n, const rtc_addr *ip, const netsim_link *link);
int netsim_relay_allocate(netsim *n, int relay_host, netsim_relay_deliver_fn deliver, void *ud,
                          rtc_addr *relayed);
int netsim_relay_permit(netsim *n, const rtc_addr *relayed, const rtc_addr *peer);
int netsim_relay_send(netsim *n, const rtc_addr *relayed, const rtc_addr *dst, const uint8_t *buf,
                      size_t len);

/* Convenience: parse an address literal ("10.0.0.1", "[2001:db8::1]:5000"); aborts on a
** typo, since test data is ours. */
rtc_addr netsim_addr(const char *s);

#endif
