/*
** bench/pc/mem.c: memory per connected idle peer connection with one channel (issue 6 (c)),
** `bench_pc mem [connections, default 1000]`.
**
** N/2 pairs of rtc_pc over the in-memory network of tests/unit/pc/pc_pair.h (one shared
** certificate, as an application would use), each with one channel open and one message each
** way, then one second of virtual idle time. Then, per connection:
**   - rtc_env: every byte the library allocates through its environment (exact);
**   - OpenSSL: every byte OpenSSL holds, through CRYPTO_set_mem_functions (exact);
**   - heap: glibc's in-use bytes (mallinfo2 delta, minus the harness's own queues), a cross-check
**     that nothing escapes both counters;
**   - a breakdown (over the first 100 connections: backtraces are slow) by the source file and
**     function that asked: each allocation is tagged with
**     the first return address in this executable outside the allocators; the addresses are
**     named by addr2line at the end (needs -g: build RelWithDebInfo).
*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <link.h>
#include <execinfo.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pc_pair.h"

#define HDR 16 /* keeps malloc's alignment */
#define MAX_SITES 4096

typedef struct site {
    void *addr[3]; /* the first return addresses in this executable above the allocator */
    void *lib[6];  /* OpenSSL: the frames inside libcrypto/libssl (named by dladdr) */
    long long bytes, count;
    int openssl;
} site;

static site sites[MAX_SITES];
static int nsites;
static long long env_bytes, ssl_bytes;
static int counting; /* tag sites only for a sample of connections (backtrace is slow) */
static void *exe_base;
static uintptr_t exe_lo, exe_hi; /* the executable's mapped range */
static char exe_path[4096];

static bool in_exe(void *a) { return (uintptr_t)a >= exe_lo && (uintptr_t)a < exe_hi; }

static int phdr_cb(struct dl_phdr_info *info, size_t size, void *ud) {
    (void)size;
    (void)ud;
    /* the first object listed is the executable itself */
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (!exe_lo || lo < exe_lo) exe_lo = lo;
        if (hi > exe_hi) exe_hi = hi;
    }
    return 1;
}

/* The first three frames in this executable above the allocator callback (bt[1] is the
** callback itself). Which of them names the allocating code is decided at the end, when
** addr2line has named them: the first one outside src/util/env.c (rtc_calloc & co, which
** may or may not have their own frame). For OpenSSL every frame inside libcrypto/libssl is
** skipped, so the first exe frame is our code that called into OpenSSL. */
static int site_of(int openssl) {
    void *bt[40];
    int n = backtrace(bt, 40);
    void *a[3] = {0}, *lib[6] = {0};
    int k = 0, nl = 0;
    for (int i = 2; i < n && k < 3; i++) {
        if (in_exe(bt[i])) a[k++] = bt[i];
        else if (openssl && nl < 6 && !k) lib[nl++] = bt[i];
    }
    /* open-addressing hash of the triple */
    static int slot[2 * MAX_SITES]; /* site index + 1; 0 = empty */
    uintptr_t h = ((uintptr_t)a[0] * 31 + (uintptr_t)a[1]) * 31 + (uintptr_t)a[2] + (uintptr_t)openssl;
    for (int i = 0; i < 6; i++) h = h * 31 + (uintptr_t)lib[i];
    h ^= h >> 17;
    for (size_t i = 0; i < 2 * MAX_SITES; i++) {
        size_t j = (h + i) % (2 * MAX_SITES);
        int s = slot[j] - 1;
        if (s < 0) {
            if (nsites == MAX_SITES) return -1;
            memcpy(sites[nsites].addr, a, sizeof a);
            memcpy(sites[nsites].lib, lib, sizeof lib);
            sites[nsites].openssl = openssl;
            slot[j] = nsites + 1;
            return nsites++;
        }
        if (!memcmp(sites[s].addr, a, sizeof a) && !memcmp(sites[s].lib, lib, sizeof lib) &&
            sites[s].openssl == openssl)
            return s;
    }
    return -1;
}

typedef struct tag {
    size_t size;
    int site;
} tag;

static void *tagged_realloc(void *ptr, size_t size, int site_id, long long *total) {
    tag *old = ptr ? (tag *)((char *)ptr - HDR) : NULL;
    if (old) {
        *total -= (long long)old->size;
        if (old->site >= 0) {
            sites[old->site].bytes -= (long long)old->size;
            sites[old->site].count--;
        }
    }
    if (size == 0) {
        free(old);
        return NULL;
    }
    tag *t = realloc(old, size + HDR);
    if (!t) return NULL;
    t->size = size;
    t->site = site_id;
    *total += (long long)size;
    if (site_id >= 0) {
        sites[site_id].bytes += (long long)size;
        sites[site_id].count++;
    }
    return (char *)t + HDR;
}

static void *env_realloc(void *ud, void *ptr, size_t old_size, size_t new_size) {
    (void)ud;
    (void)old_size;
    int s = counting && new_size ? site_of(0) : -1;
    return tagged_realloc(ptr, new_size, s, &env_bytes);
}

static void *ssl_malloc(size_t n, const char *file, int line) {
    (void)file;
    (void)line;
    int s = counting && n ? site_of(1) : -1;
    return tagged_realloc(NULL, n, s, &ssl_bytes);
}
static void *ssl_realloc(void *p, size_t n, const char *file, int line) {
    (void)file;
    (void)line;
    int s = counting && n ? site_of(1) : -1;
    return tagged_realloc(p, n, s, &ssl_bytes);
}
static void ssl_free(void *p, const char *file, int line) {
    (void)file;
    (void)line;
    if (p) tagged_realloc(p, 0, -1, &ssl_bytes);
}

/* Called first thing in main, before OpenSSL allocates anything. */
int bench_pc_mem_init(void) {
    Dl_info di;
    if (!dladdr((void *)bench_pc_mem_init, &di)) return -1;
    exe_base = di.dli_fbase;
    dl_iterate_phdr(phdr_cb, NULL);
    ssize_t n = readlink("/proc/self/exe", exe_path, sizeof exe_path - 1);
    if (n > 0) exe_path[n] = 0;
    void *bt[4];
    (void)backtrace(bt, 4); /* loads libgcc_s now, not while counting */
    return CRYPTO_set_mem_functions(ssl_malloc, ssl_realloc, ssl_free) ? 0 : -1;
}

static bool opened(pp_pair *p, void *ud) {
    (void)ud;
    return p->s[0].n_opened >= 1 && p->s[1].n_opened >= 1 && p->s[0].nmsgs >= 1 && p->s[1].nmsgs >= 1;
}

typedef struct group {
    char name[1100];
    long long bytes, count;
} group;

static void add_group(group *g, int *ng, int max, const char *name, const site *s) {
    for (int i = 0; i < *ng; i++)
        if (!strcmp(g[i].name, name)) {
            g[i].bytes += s->bytes;
            g[i].count += s->count;
            return;
        }
    if (*ng == max) return;
    snprintf(g[*ng].name, sizeof g[*ng].name, "%s", name);
    g[*ng].bytes = s->bytes;
    g[*ng].count = s->count;
    (*ng)++;
}

static int cmp_group(const void *a, const void *b) {
    long long x = ((const group *)a)->bytes, y = ((const group *)b)->bytes;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Name every live site with addr2line (one call) and print per-file and per-function sums. */
static void breakdown(int conns) {
    char tmpl[] = "/tmp/bench_pc_mem.XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0) return;
    FILE *f = fdopen(fd, "w");
    static int live[MAX_SITES];
    int nlive = 0;
    for (int i = 0; i < nsites; i++)
        if (sites[i].bytes > 0) {
            live[nlive++] = i;
            for (int k = 0; k < 3; k++) /* return address - 1: inside the call instruction */
                fprintf(f, "%#lx\n",
                        sites[i].addr[k] ? (unsigned long)((char *)sites[i].addr[k] - (char *)exe_base - 1) : 0ul);
        }
    fclose(f);
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "addr2line -f -s -e '%s' < %s", exe_path, tmpl);
    FILE *p = popen(cmd, "r");
    static group files[512], funcs[1024];
    int nf = 0, nfn = 0;
    for (int k = 0; p && k < nlive; k++) {
        char fn[3][256], loc[3][256];
        bool ok = true;
        for (int j = 0; j < 3 && ok; j++) {
            ok = fgets(fn[j], sizeof fn[j], p) && fgets(loc[j], sizeof loc[j], p);
            if (!ok) break;
            fn[j][strcspn(fn[j], "\n")] = 0;
            loc[j][strcspn(loc[j], ":\n")] = 0;
        }
        if (!ok) break;
        int j = 0;
        while (j < 2 && (!strcmp(loc[j], "env.c") || !strcmp(loc[j], "mem.c"))) j++;
        const site *s = &sites[live[k]];
        char name[1100];
        snprintf(name, sizeof name, "%s%s", s->openssl ? "OpenSSL via " : "", loc[j]);
        add_group(files, &nf, 512, name, s);
        snprintf(name, sizeof name, "%s%s:%s", s->openssl ? "OpenSSL via " : "", loc[j], fn[j]);
        if (s->openssl && getenv("BENCH_PC_MEM_OPENSSL")) { /* name OpenSSL's exported frames */
            for (int q = 5; q >= 0; q--) {
                Dl_info di;
                if (!s->lib[q] || !dladdr(s->lib[q], &di) || !di.dli_sname) continue;
                size_t L = strlen(name);
                snprintf(name + L, sizeof name - L, " < %s", di.dli_sname);
            }
        }
        add_group(funcs, &nfn, 1024, name, s);
    }
    if (p) pclose(p);
    unlink(tmpl);
    qsort(files, (size_t)nf, sizeof *files, cmp_group);
    qsort(funcs, (size_t)nfn, sizeof *funcs, cmp_group);
    printf("  by source file that allocated (KiB per connection, allocations per connection):\n");
    for (int i = 0; i < nf && files[i].bytes > 0; i++)
        printf("    %8.1f KiB %6.1f  %s\n", (double)files[i].bytes / conns / 1024.0,
               (double)files[i].count / conns, files[i].name);
    printf("  largest call sites:\n");
    int top = getenv("BENCH_PC_MEM_OPENSSL") ? 40 : 16;
    for (int i = 0; i < nfn && i < top && funcs[i].bytes > 0; i++)
        printf("    %8.1f KiB %6.1f  %s\n", (double)funcs[i].bytes / conns / 1024.0,
               (double)funcs[i].count / conns, funcs[i].name);
}

int bench_pc_mem(int conns) {
    int npairs = conns / 2 > 0 ? conns / 2 : 1;
    conns = npairs * 2;
    pp_pair **pairs = calloc((size_t)npairs, sizeof *pairs);
    if (!pairs) return 1;
    for (int i = 0; i < npairs; i++)
        if (!(pairs[i] = calloc(1, sizeof **pairs))) return 1;
    rtc_dtls_cert *cert = NULL;
    if (rtc_dtls_cert_new(&cert, NULL, NULL)) return 1;
    rtc_pc_config cfg = {.certificate = cert};
    static rtc_test_rng rng0;
    long long env0 = env_bytes, ssl0 = ssl_bytes;
    struct mallinfo2 m0 = mallinfo2();
    int connected = 0, sampled = npairs < 50 ? npairs : 50;
    for (int i = 0; i < npairs; i++) {
        pp_pair *p = pairs[i];
        counting = i < sampled;
        memset(p, 0, sizeof *p);
        p->now = RTC_SEC(1);
        for (int k = 0; k < 2; k++) {
            pp_side *s = &p->s[k];
            rtc_env_seeded(&s->env, &s->rng, (uint64_t)(i * 2 + k + 100));
            s->env.realloc = env_realloc;
            s->trickle = true;
            if (rtc_pc_new(&s->pc, &cfg, &s->env)) return 1;
            uint8_t ip[4] = {10, (uint8_t)(i / 200), (uint8_t)(i % 200), (uint8_t)(k + 1)};
            rtc_addr_set_ipv4(&s->addr, ip, 5000);
            if (rtc_pc_add_local_address(s->pc, &s->addr)) return 1;
            p->link[k].delay = RTC_MS(1);
        }
        pp_tick(p);
        uint32_t ch;
        if (rtc_pc_create_data_channel(p->s[0].pc, "c", NULL, &ch) || pp_negotiate(p, 0)) return 1;
        int guard = 0;
        while (p->s[0].n_opened < 1 && guard++ < 1000 && pp_step(p)) {
        }
        rtc_pc_dc_send(p->s[0].pc, ch, false, (const uint8_t *)"ping", 4);
        pp_drain_all(p);
        while (p->s[1].nmsgs < 1 && guard++ < 2000 && pp_step(p)) {
        }
        if (p->s[1].n_remote_ch == 1)
            rtc_pc_dc_send(p->s[1].pc, p->s[1].remote_ch[0], false, (const uint8_t *)"pong", 4);
        pp_drain_all(p);
        if (pp_run_until(p, opened, NULL, RTC_SEC(5)) && pp_both_connected(p, NULL)) connected++;
    }
    for (int i = 0; i < npairs; i++) {
        counting = i < sampled;
        pp_run_for(pairs[i], RTC_SEC(1)); /* go idle */
    }
    counting = 0;
    struct mallinfo2 m1 = mallinfo2();
    long long harness = 0; /* the pair harness's own allocations after the baseline */
    for (int i = 0; i < npairs; i++)
        for (int k = 0; k < 2; k++) {
            harness += (long long)(pairs[i]->link[k].cap * sizeof(pp_pkt));
            for (size_t q = 0; q < pairs[i]->link[k].n; q++) harness += (long long)pairs[i]->link[k].p[q].len;
            for (int c = 0; c < pairs[i]->s[k].ncands; c++)
                harness += (long long)strlen(pairs[i]->s[k].cands[c]) + 1;
            for (int c = 0; c < pairs[i]->s[k].nmsgs; c++) harness += (long long)pairs[i]->s[k].msgs[c].len;
        }
    long long env = env_bytes - env0, ssl = ssl_bytes - ssl0;
    long long heap = (long long)m1.uordblks - (long long)m0.uordblks - harness;
    printf("memory per connected idle peer connection, one channel, %d connections (%d connected "
           "pairs, one shared certificate):\n",
           conns, connected);
    printf("  %.1f KiB in total = %.1f KiB through rtc_env + %.1f KiB OpenSSL\n",
           (double)(env + ssl) / conns / 1024.0, (double)env / conns / 1024.0,
           (double)ssl / conns / 1024.0);
    printf("  cross-check, glibc in-use heap delta: %.1f KiB per connection (includes %d B of tag "
           "headers per allocation and malloc's own chunk overhead)\n",
           (double)heap / conns / 1024.0, HDR);
    printf("  breakdown over the first %d connections:\n", 2 * sampled);
    breakdown(2 * sampled);
    for (int i = 0; i < npairs; i++) {
        pp_free(pairs[i]);
        free(pairs[i]);
    }
    free(pairs);
    rtc_dtls_cert_free(cert);
    (void)rng0;
    printf("  after freeing everything: %lld B still counted through rtc_env (must be 0)\n",
           env_bytes - env0);
    return connected == npairs && env_bytes == env0 ? 0 : 1;
}
