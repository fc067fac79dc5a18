/*
** tests/sim/netsim.c: see netsim.h. Flat arrays scanned linearly: a simulation holds a
** handful of hosts, NAT mappings and in-flight datagrams, and clarity beats a heap here.
*/
#include "sim/netsim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAT_PORT_BASE   40000
#define RELAY_PORT_BASE 50000

typedef struct host {
    int nat;
    netsim_link link;
    netsim_recv_fn recv;
    void *ud;
    rtc_addr ips[8];
    int n_ips;
} host;

typedef struct mapping {
    int nat;
    rtc_addr priv; /* private ip:port */
    rtc_addr key;  /* the remote part that selects this mapping (per mapping behaviour) */
    uint16_t pub_port;
    rtc_time last_out; /* RFC 4787 REQ-6: outbound traffic refreshes the mapping */
} mapping;

typedef struct permission {
    int mapping;
    rtc_addr remote; /* ip:port contacted through the mapping */
} permission;

typedef struct nat {
    rtc_addr pub;
    netsim_nat_behaviour map, filter;
    uint16_t next_port;
    rtc_time idle_timeout; /* 0: mappings never expire */
} nat;

typedef struct packet {
    rtc_time at;
    uint64_t seq;
    int host;          /* receiving host */
    rtc_addr src, dst; /* as delivered */
    uint8_t *data;
    size_t len;
} packet;

typedef struct actor {
    netsim_next_fn next;
    netsim_fire_fn fire;
    void *ud;
} actor;

typedef struct allocation {
    int relay_host;
    rtc_addr relayed;
    netsim_relay_deliver_fn deliver;
    void *ud;
    rtc_addr perms[64];
    int n_perms;
} allocation;

struct netsim {
    rtc_time now;
    uint64_t rng[4];
    uint64_t seq;
    host *hosts; /* index 0 unused: ids start at 1 */
    int n_hosts;
    nat *nats;
    int n_nats;
    mapping *maps;
    int n_maps;
    permission *perms;
    int n_perms;
    packet *q;
    int n_q, cap_q;
    actor *actors;
    int n_actors;
    allocation *allocs;
    int n_allocs;
    netsim_stats stats;
};

/* ---- randomness: xoshiro256** seeded with splitmix64 -------------------------------- */

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t netsim_rand(netsim *n) {
    uint64_t *s = n->rng;
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

double netsim_uniform(netsim *n) { return (double)(netsim_rand(n) >> 11) / 9007199254740992.0; }

static void *grow(void *p, int *cap, int need, size_t elem) {
    if (need <= *cap) return p;
    int nc = *cap ? *cap * 2 : 16;
    while (nc < need)
        nc *= 2;
    void *q = realloc(p, (size_t)nc * elem);
    if (!q) abort(); /* test infrastructure: out of memory is fatal */
    memset((char *)q + (size_t)*cap * elem, 0, (size_t)(nc - *cap) * elem);
    *cap = nc;
    return q;
}

#define PUSH(arr, count, elem_ptr)                                                                 \
    do {                                                                                           \
        (arr) = realloc((arr), (size_t)((count) + 1) * sizeof *(arr));                             \
        if (!(arr)) abort();                                                                       \
        (arr)[(count)] = *(elem_ptr);                                                              \
        (count)++;                                                                                 \
    } while (0)

int netsim_new(netsim **out, uint64_t seed) {
    netsim *n = calloc(1, sizeof *n);
    if (!n) return RTC_ERR_NOMEM;
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) {
        x += 0x9E3779B97F4A7C15ull;
        uint64_t z = x;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        n->rng[i] = z ^ (z >> 31);
    }
    host dummy;
    memset(&dummy, 0, sizeof dummy);
    PUSH(n->hosts, n->n_hosts, &dummy);
    nat dn;
    memset(&dn, 0, sizeof dn);
    PUSH(n->nats, n->n_nats, &dn);
    *out = n;
    return 0;
}

void netsim_free(netsim *n) {
    if (!n) return;
    for (int i = 0; i < n->n_q; i++)
        free(n->q[i].data);
    free(n->q);
    free(n->hosts);
    free(n->nats);
    free(n->maps);
    free(n->perms);
    free(n->actors);
    free(n->allocs);
    free(n);
}

rtc_time netsim_now(const netsim *n) { return n->now; }
void netsim_get_stats(const netsim *n, netsim_stats *out) { *out = n->stats; }

rtc_addr netsim_addr(const char *s) {
    rtc_addr a;
    if (rtc_addr_parse(&a, s, 0) != RTC_OK) {
        fprintf(stderr, "netsim_addr: bad literal %s\n", s);
        abort();
    }
    return a;
}

int netsim_add_nat(netsim *n, const rtc_addr *public_ip, netsim_nat_behaviour mapping,
                   netsim_nat_behaviour filtering) {
    nat x;
    memset(&x, 0, sizeof x);
    x.pub = *public_ip;
    x.pub.port = 0;
    x.map = mapping;
    x.filter = filtering;
    x.next_port = NAT_PORT_BASE;
    PUSH(n->nats, n->n_nats, &x);
    return n->n_nats - 1;
}

int netsim_set_nat_timeout(netsim *n, int nat_id, rtc_time idle_timeout) {
    if (nat_id <= 0 || nat_id >= n->n_nats) return RTC_ERR_INVALID;
    n->nats[nat_id].idle_timeout = idle_timeout;
    return 0;
}

int netsim_add_nat_type(netsim *n, const rtc_addr *public_ip, netsim_nat_type type) {
    switch (type) {
    case NETSIM_NAT_FULL_CONE: return netsim_add_nat(n, public_ip, NETSIM_EI, NETSIM_EI);
    case NETSIM_NAT_RESTRICTED: return netsim_add_nat(n, public_ip, NETSIM_EI, NETSIM_AD);
    case NETSIM_NAT_PORT_RESTRICTED: return netsim_add_nat(n, public_ip, NETSIM_EI, NETSIM_APD);
    case NETSIM_NAT_SYMMETRIC: return netsim_add_nat(n, public_ip, NETSIM_APD, NETSIM_APD);
    }
    return RTC_ERR_INVALID;
}

int netsim_add_host(netsim *n, const rtc_addr *ip, int nat_id, const netsim_link *link,
                    netsim_recv_fn recv, void *ud) {
    if (nat_id < 0 || nat_id >= n->n_nats) return RTC_ERR_INVALID;
    host h;
    memset(&h, 0, sizeof h);
    h.nat = nat_id;
    if (link) h.link = *link;
    h.recv = recv;
    h.ud = ud;
    h.ips[0] = *ip;
    h.ips[0].port = 0;
    h.n_ips = 1;
    PUSH(n->hosts, n->n_hosts, &h);
    return n->n_hosts - 1;
}

int netsim_host_add_ip(netsim *n, int id, const rtc_addr *ip) {
    if (id <= 0 || id >= n->n_hosts) return RTC_ERR_INVALID;
    host *h = &n->hosts[id];
    if (h->n_ips >= 8) return RTC_ERR_NOMEM;
    h->ips[h->n_ips] = *ip;
    h->ips[h->n_ips].port = 0;
    h->n_ips++;
    return 0;
}

int netsim_set_link(netsim *n, int id, const netsim_link *link) {
    if (id <= 0 || id >= n->n_hosts) return RTC_ERR_INVALID;
    if (link)
        n->hosts[id].link = *link;
    else
        memset(&n->hosts[id].link, 0, sizeof n->hosts[id].link);
    return 0;
}

int netsim_add_actor(netsim *n, netsim_next_fn next, netsim_fire_fn fire, void *ud) {
    actor a = {next, fire, ud};
    PUSH(n->actors, n->n_actors, &a);
    return n->n_actors - 1;
}

/* ---- routing ------------------------------------------------------------------------- */

static int host_by_ip(const netsim *n, const rtc_addr *a) {
    for (int i = 1; i < n->n_hosts; i++)
        for (int k = 0; k < n->hosts[i].n_ips; k++)
            if (rtc_addr_equal_ip(&n->hosts[i].ips[k], a)) return i;
    return 0;
}

static int nat_by_ip(const netsim *n, const rtc_addr *a) {
    for (int i = 1; i < n->n_nats; i++)
        if (rtc_addr_equal_ip(&n->nats[i].pub, a)) return i;
    return 0;
}

static rtc_addr mapping_key(netsim_nat_behaviour b, const rtc_addr *remote) {
    rtc_addr k;
    memset(&k, 0, sizeof k);
    if (b == NETSIM_AD) {
        k = *remote;
        k.port = 0;
    } else if (b == NETSIM_APD) {
        k = *remote;
    }
    return k;
}

static bool key_equal(const rtc_addr *a, const rtc_addr *b) {
    if (a->family == RTC_AF_NONE || b->family == RTC_AF_NONE) return a->family == b->family;
    return rtc_addr_equal(a, b);
}

/* RFC 4787 §4.1: outbound translation; creates the mapping and records the permission. */
/* An idle mapping expires (RFC 4787 §4.3); a dead mapping gets NAT id 0 and never matches. */
static bool mapping_alive(netsim *n, mapping *m) {
    const nat *x = &n->nats[m->nat];
    if (x->idle_timeout && n->now - m->last_out > x->idle_timeout) {
        m->nat = 0;
        return false;
    }
    return true;
}

static rtc_addr nat_outbound(netsim *n, int nat_id, const rtc_addr *priv, const rtc_addr *remote) {
    nat *x = &n->nats[nat_id];
    rtc_addr key = mapping_key(x->map, remote);
    int mi = -1;
    for (int i = 0; i < n->n_maps; i++)
        if (n->maps[i].nat == nat_id && rtc_addr_equal(&n->maps[i].priv, priv) &&
            key_equal(&n->maps[i].key, &key) && mapping_alive(n, &n->maps[i])) {
            mi = i;
            break;
        }
    if (mi < 0) {
        mapping m;
        memset(&m, 0, sizeof m);
        m.nat = nat_id;
        m.priv = *priv;
        m.key = key;
        m.pub_port = x->next_port++;
        PUSH(n->maps, n->n_maps, &m);
        mi = n->n_maps - 1;
    }
    n->maps[mi].last_out = n->now;
    bool known = false;
    for (int i = 0; i < n->n_perms; i++)
        if (n->perms[i].mapping == mi && rtc_addr_equal(&n->perms[i].remote, remote)) known = true;
    if (!known) {
        permission p = {mi, *remote};
        PUSH(n->perms, n->n_perms, &p);
    }
    rtc_addr pub = x->pub;
    pub.port = n->maps[mi].pub_port;
    return pub;
}

/* RFC 4787 §5: inbound filtering. Returns the private destination or false. */
static bool nat_inbound(netsim *n, int nat_id, const rtc_addr *pub, const rtc_addr *remote,
                        rtc_addr *priv) {
    nat *x = &n->nats[nat_id];
    for (int i = 0; i < n->n_maps; i++) {
        mapping *m = &n->maps[i];
        if (m->nat != nat_id || m->pub_port != pub->port) continue;
        if (!mapping_alive(n, m)) return false;
        bool ok = x->filter == NETSIM_EI;
        for (int k = 0; !ok && k < n->n_perms; k++) {
            permission *p = &n->perms[k];
            if (p->mapping != i) continue;
            if (x->filter == NETSIM_AD ? rtc_addr_equal_ip(&p->remote, remote)
                                       : rtc_addr_equal(&p->remote, remote))
                ok = true;
        }
        if (!ok) return false;
        *priv = m->priv;
        return true;
    }
    return false;
}

static bool link_pass(netsim *n, const netsim_link *l, rtc_time *delay) {
    if (l->block_udp) {
        n->stats.blocked++;
        return false;
    }
    if (l->loss > 0 && netsim_uniform(n) < l->loss) {
        n->stats.lost++;
        return false;
    }
    *delay += l->delay;
    if (l->jitter > 0) *delay += (rtc_time)(netsim_uniform(n) * (double)(l->jitter + 1));
    if (l->reorder > 0 && netsim_uniform(n) < l->reorder) *delay += l->reorder_delay;
    return true;
}

static void enqueue(netsim *n, rtc_time at, int host_id, const rtc_addr *src, const rtc_addr *dst,
                    const uint8_t *buf, size_t len) {
    n->q = grow(n->q, &n->cap_q, n->n_q + 1, sizeof *n->q);
    packet *p = &n->q[n->n_q++];
    p->at = at;
    p->seq = n->seq++;
    p->host = host_id;
    p->src = *src;
    p->dst = *dst;
    p->data = malloc(len ? len : 1);
    if (!p->data) abort();
    if (len) memcpy(p->data, buf, len);
    p->len = len;
}

int netsim_send(netsim *n, const rtc_addr *src, const rtc_addr *dst, const uint8_t *buf,
                size_t len) {
    n->stats.sent++;
    int from = host_by_ip(n, src);
    if (!from) {
        n->stats.unroutable++;
        return RTC_ERR_INVALID;
    }
    host *fh = &n->hosts[from];
    rtc_time delay = 0;
    if (!link_pass(n, &fh->link, &delay)) return 0;
    rtc_addr s = *src, d = *dst;
    int to = host_by_ip(n, dst);
    int dnat = nat_by_ip(n, dst);
    if (to) {
        int tnat = n->hosts[to].nat;
        if (tnat && tnat != fh->nat) {
            n->stats.unroutable++; /* a private address behind someone else's NAT */
            return 0;
        }
        if (fh->nat && fh->nat != tnat) s = nat_outbound(n, fh->nat, src, dst);
    } else if (dnat) {
        if (fh->nat == dnat) {
            n->stats.unroutable++; /* no hairpinning */
            return 0;
        }
        if (fh->nat) s = nat_outbound(n, fh->nat, src, dst);
        rtc_addr priv;
        if (!nat_inbound(n, dnat, dst, &s, &priv)) {
            n->stats.filtered++;
            return 0;
        }
        d = priv;
        to = host_by_ip(n, &priv);
        if (!to) {
            n->stats.unroutable++;
            return 0;
        }
    } else {
        n->stats.unroutable++;
        return 0;
    }
    host *th = &n->hosts[to];
    if (!link_pass(n, &th->link, &delay)) return 0;
    enqueue(n, n->now + delay, to, &s, &d, buf, len);
    double dup = fh->link.duplicate > th->link.duplicate ? fh->link.duplicate : th->link.duplicate;
    if (dup > 0 && netsim_uniform(n) < dup) {
        n->stats.duplicated++;
        rtc_time extra = (rtc_time)(netsim_uniform(n) * (double)(fh->link.jitter + 1000));
        enqueue(n, n->now + delay + extra, to, &s, &d, buf, len);
    }
    return 0;
}

rtc_time netsim_next_delivery(const netsim *n) {
    rtc_time t = RTC_TIME_NEVER;
    for (int i = 0; i < n->n_q; i++)
        if (n->q[i].at < t) t = n->q[i].at;
    return t;
}

static bool deliver_one(netsim *n) {
    int best = -1;
    for (int i = 0; i < n->n_q; i++)
        if (n->q[i].at <= n->now && (best < 0 || n->q[i].at < n->q[best].at ||
                                     (n->q[i].at == n->q[best].at && n->q[i].seq < n->q[best].seq)))
            best = i;
    if (best < 0) return false;
    packet p = n->q[best];
    n->q[best] = n->q[--n->n_q];
    host *h = &n->hosts[p.host];
    n->stats.delivered++;
    if (h->recv) h->recv(h->ud, n->now, &p.src, &p.dst, p.data, p.len);
    free(p.data);
    return true;
}

bool netsim_step(netsim *n, rtc_time until) {
    rtc_time t = netsim_next_delivery(n);
    for (int i = 0; i < n->n_actors; i++) {
        rtc_time a = n->actors[i].next(n->actors[i].ud);
        if (a < t) t = a;
    }
    if (t > until) {
        if (until > n->now) n->now = until;
        return false;
    }
    if (t > n->now) n->now = t;
    /* Everything that is due at this instant: datagrams first (in send order), then the
    ** actors whose deadline has come. Datagrams sent while delivering with zero delay are
    ** due too; the bound keeps a zero-delay ping-pong from spinning forever. */
    for (int guard = 0; guard < 100000 && deliver_one(n); guard++) {
    }
    for (int i = 0; i < n->n_actors; i++)
        if (n->actors[i].next(n->actors[i].ud) <= n->now)
            n->actors[i].fire(n->actors[i].ud, n->now);
    return true;
}

long netsim_run(netsim *n, rtc_time until, bool (*stop)(void *ud), void *ud, long max_steps) {
    long steps = 0;
    while (steps < max_steps) {
        if (stop && stop(ud)) break;
        if (!netsim_step(n, until)) break;
        steps++;
    }
    return steps;
}

/* ---- relay node ------------------------------------------------------------------------ */

static void relay_recv(void *ud, rtc_time now, const rtc_addr *src, const rtc_addr *dst,
                       const uint8_t *buf, size_t len) {
    netsim *n = ud;
    for (int i = 0; i < n->n_allocs; i++) {
        allocation *a = &n->allocs[i];
        if (!rtc_addr_equal(&a->relayed, dst)) continue;
        bool ok = false;
        for (int k = 0; k < a->n_perms; k++)
            if (rtc_addr_equal_ip(&a->perms[k], src)) ok = true;
        if (!ok) {
            n->stats.filtered++; /* RFC 8656 §9: no permission, no delivery */
            return;
        }
        a->deliver(a->ud, now, src, dst, buf, len);
        return;
    }
}

int netsim_add_relay(netsim *n, const rtc_addr *ip, const netsim_link *link) {
    return netsim_add_host(n, ip, 0, link, relay_recv, n);
}

int netsim_relay_allocate(netsim *n, int relay_host, netsim_relay_deliver_fn deliver, void *ud,
                          rtc_addr *relayed) {
    if (relay_host <= 0 || relay_host >= n->n_hosts) return RTC_ERR_INVALID;
    allocation a;
    memset(&a, 0, sizeof a);
    a.relay_host = relay_host;
    a.relayed = n->hosts[relay_host].ips[0];
    a.relayed.port = (uint16_t)(RELAY_PORT_BASE + n->n_allocs);
    a.deliver = deliver;
    a.ud = ud;
    PUSH(n->allocs, n->n_allocs, &a);
    *relayed = a.relayed;
    return 0;
}

int netsim_relay_permit(netsim *n, const rtc_addr *relayed, const rtc_addr *peer) {
    for (int i = 0; i < n->n_allocs; i++) {
        allocation *a = &n->allocs[i];
        if (!rtc_addr_equal(&a->relayed, relayed)) continue;
        for (int k = 0; k < a->n_perms; k++)
            if (rtc_addr_equal_ip(&a->perms[k], peer)) return 0;
        if (a->n_perms >= 64) return RTC_ERR_NOMEM;
        a->perms[a->n_perms++] = *peer;
        return 0;
    }
    return RTC_ERR_NOT_FOUND;
}

int netsim_relay_send(netsim *n, const rtc_addr *relayed, const rtc_addr *dst, const uint8_t *buf,
                      size_t len) {
    for (int i = 0; i < n->n_allocs; i++)
        if (rtc_addr_equal(&n->allocs[i].relayed, relayed))
            return netsim_send(n, relayed, dst, buf, len);
    return RTC_ERR_NOT_FOUND;
}
