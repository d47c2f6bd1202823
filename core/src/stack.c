/* Task stacks: mmap'd slabs of equal regions, cached per thread.
 *
 * The kernel allows vm.max_map_count mappings (65530 by default) and every
 * guard page splits a mapping in two, so one guard page per stack cannot reach
 * 1,000,000 tasks. The trade-off made here:
 *   - the first stacks of a process (up to max_map_count / 8 of them) come
 *     from guarded slabs: [meta][guard][region][guard][region]...; overflowing
 *     such a stack dies with SIGSEGV;
 *   - past that budget, slabs have one guard page at the bottom and none
 *     between regions: [guard][meta][region][region]... The top word of each
 *     region is a canary that the region above overflows into first, and the
 *     scheduler checks it on every switch away from a task, aborting with a
 *     message that names the task. Such an overflow is detected, not
 *     prevented.
 * A task's struct lives at the top of its region, so a task that blocks at
 * once costs one resident page. Regions are never zeroed; when a slab is
 * created the top page of every region is faulted in and written (canary,
 * free-list link), one 2 MiB block of tops at a time: see populate_block. */
#define _GNU_SOURCE
#include "internal.h"
#include "track.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <threads.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define SLAB_BYTES ((size_t)8 << 20)    /* target size of an unguarded slab */
#define GUARDED_REGIONS 16              /* regions per guarded slab (even: see
                                           tr__stack_colour_offset) */
#define CACHE_BYTES ((size_t)32 << 20)  /* slab bytes a thread keeps between runs */

typedef struct tr__slab {
    struct tr__slab *next;  /* the pool's slabs */
    char *map;              /* the mapping */
    size_t map_len;         /* its length */
    size_t nregions;        /* regions in the slab */
    bool guarded;           /* a guard page below every region */
} tr__slab;

/* Free regions of one size. */
typedef struct tr__pool {
    struct tr__pool *next;  /* the thread's pools */
    size_t size;            /* usable region size, a page multiple */
    tr__slab *slabs;        /* every slab of this size */
    char *free_top;         /* top of the most recently freed region */
    size_t free_count;      /* regions on the free list */
} tr__pool;

void *(*tr__stack_mmap_hook)(size_t len);

static _Thread_local tr__pool *pools;
/* Set once pidfd_open or process_madvise has been refused (older kernels take
 * only a few advice values through process_madvise; seccomp filters): from
 * then on each top is populated with its own madvise. */
static atomic_bool batch_refused;
static atomic_long guarded_budget = -1;
static tss_t cache_key;
static once_flag cache_once = ONCE_FLAG_INIT;

static size_t page_size(void) {
    static size_t ps;
    if (!ps) ps = (size_t)sysconf(_SC_PAGESIZE);
    return ps;
}

size_t tr__stack_round(size_t size) {
    size_t ps = page_size();
    if (size < 4 * ps) size = 4 * ps;
    return (size + ps - 1) & ~(ps - 1);
}

/* The free-list link and slab pointer of a free region sit at its top,
 * where the task struct goes once it is in use. */
typedef struct free_link {
    char *next_top;
    tr__slab *slab;
} free_link;
#define LINK_OF(top) ((free_link *)((top) - 64 - sizeof(free_link)))

/* The region below top (of slab s) goes on p's free list. */
static inline void free_push(tr__pool *p, tr__slab *s, char *top) {
    *LINK_OF(top) = (free_link){.next_top = p->free_top, .slab = s};
    p->free_top = top;
    p->free_count++;
}

static long budget_init(void) {
    long v = 65530;
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    if (f) {
        if (fscanf(f, "%ld", &v) != 1) v = 65530;
        fclose(f);
    }
    return v / 8;
}

/* Takes n regions of the guarded budget, or returns false. */
static bool take_guarded(long n) {
    long cur = atomic_load(&guarded_budget);
    if (cur < 0) {
        long init = budget_init();
        atomic_compare_exchange_strong(&guarded_budget, &cur, init);
        cur = atomic_load(&guarded_budget);
    }
    while (cur >= n)
        if (atomic_compare_exchange_weak(&guarded_budget, &cur, cur - n)) return true;
    return false;
}

static void *map_slab(size_t len) {
    if (tr__stack_mmap_hook) return tr__stack_mmap_hook(len);
    return mmap(NULL, len, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
}

static char *region_lo(const tr__slab *s, size_t size, size_t i) {
    size_t ps = page_size();
    if (s->guarded) return s->map + ps + i * (size + ps) + ps;
    return s->map + 2 * ps + i * size;
}

static char *region_top(const tr__slab *s, size_t size, size_t i) {
    return region_lo(s, size, i) + size;
}

#define BLOCK_SHIFT 21 /* 2 MiB: the span of one last-level page table */
#define BLOCK_MAX 32   /* regions populated per call (bounds the iovec array) */

/* The first of the regions below `end` whose top pages lie in the same 2 MiB
 * block as region end - 1's, at most BLOCK_MAX of them. */
static size_t block_start(const tr__slab *s, size_t size, size_t end) {
    uintptr_t block = (uintptr_t)(region_top(s, size, end - 1) - 1) >> BLOCK_SHIFT;
    size_t i = end - 1;
    while (i > 0 && end - i < BLOCK_MAX &&
           (uintptr_t)(region_top(s, size, i - 1) - 1) >> BLOCK_SHIFT == block)
        i--;
    return i;
}

/* Errors that mean "never on this system": old kernel, seccomp filter. */
static void note_refusal(void) {
    if (errno == EINVAL || errno == ENOSYS || errno == EPERM)
        atomic_store_explicit(&batch_refused, true, memory_order_relaxed);
}

/* One process_madvise for the pages, or false if it did not run. */
static bool populate_batch(int pidfd, const struct iovec *iov, size_t n) {
#if defined(SYS_process_madvise)
    if (pidfd < 0) return false;
    if (syscall(SYS_process_madvise, pidfd, iov, n, MADV_POPULATE_WRITE, 0) >= 0) return true;
    note_refusal();
#else
    (void)pidfd, (void)iov, (void)n;
#endif
    return false;
}

/* Faults in the top pages of regions [from, end), which share a 2 MiB block,
 * then writes their canaries and puts them on the free list. Per region, in
 * CPU time, on the shadow-paging VM we benchmark on: a store to an untouched
 * page ~14 us; MADV_POPULATE_WRITE then the store ~11 us with one madvise per
 * region, ~9 us with one call per block. The store still traps into the
 * hypervisor once, which maps these pages one at a time (it prefetches only
 * within the aligned 8-page group of a faulting page, and tops are 64 KiB
 * apart). Blocks, not whole slabs: populating a slab's tops (4-5 new page
 * tables) in one call made the hypervisor drop the mappings of the slabs
 * before it, so every task faulted again when it first ran; three new page
 * tables in one call did it, two did not (KVM's write-flooding heuristic). */
static void populate_block(tr__pool *p, tr__slab *s, int pidfd, size_t from, size_t end) {
    size_t ps = page_size();
    struct iovec iov[BLOCK_MAX];
    for (size_t i = from; i < end; i++)
        iov[i - from] = (struct iovec){.iov_base = region_top(s, p->size, i) - ps, .iov_len = ps};
    if (!populate_batch(pidfd, iov, end - from))
        for (size_t i = 0; i < end - from; i++)
            (void)madvise(iov[i].iov_base, ps, MADV_POPULATE_WRITE);
    for (size_t i = end; i-- > from;) {
        char *top = region_top(s, p->size, i);
        ((uint64_t *)top)[-1] = TR__CANARY;
        free_push(p, s, top);
    }
}

/* A pidfd of this process for process_madvise, or -1. Not under valgrind,
 * which (3.19) does not know pidfd_open and would warn in every process. */
static int open_self(void) {
    int fd = -1;
#if defined(SYS_pidfd_open) && defined(SYS_process_madvise)
    if (atomic_load_explicit(&batch_refused, memory_order_relaxed) || TR__TRACK_STACKS_WANTED())
        return -1;
    fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    if (fd < 0) note_refusal();
#endif
    return fd;
}

/* Populates every region's top page, block by block, and frees the regions. */
static void populate_slab(tr__pool *p, tr__slab *s) {
    int pidfd = open_self();
    for (size_t end = s->nregions; end > 0;) {
        size_t from = block_start(s, p->size, end);
        populate_block(p, s, pidfd, from, end);
        end = from;
    }
    if (pidfd >= 0) close(pidfd);
}

static int slab_protect(tr__slab *s, size_t size) {
    size_t ps = page_size();
    if (!s->guarded) return mprotect(s->map, ps, PROT_NONE);
    for (size_t i = 0; i < s->nregions; i++)
        if (mprotect(region_lo(s, size, i) - ps, ps, PROT_NONE) != 0) return -1;
    return 0;
}

/* Out of line: inlined, it made tr__stack_get save six registers per call. */
static __attribute__((noinline, cold)) int pool_grow(tr__pool *p) {
    size_t ps = page_size();
    bool guarded = take_guarded(GUARDED_REGIONS);
    size_t n = guarded ? GUARDED_REGIONS : (SLAB_BYTES / p->size ? SLAB_BYTES / p->size : 1);
    if (n > 1) n &= ~(size_t)1; /* even: the colours alternate into the next slab */
    size_t len = guarded ? ps + n * (p->size + ps) : 2 * ps + n * p->size;
    char *map = map_slab(len);
    if (map == MAP_FAILED) goto fail;
    tr__slab *s = (tr__slab *)(map + (guarded ? 0 : ps));
    *s = (tr__slab){.next = p->slabs, .map = map, .map_len = len, .nregions = n,
                    .guarded = guarded};
    if (slab_protect(s, p->size) != 0) {
        munmap(map, len);
        goto fail;
    }
    (void)madvise(map, len, MADV_NOHUGEPAGE);
    /* The word below region 0 of an unguarded slab is the meta page's last. */
    if (!guarded) ((uint64_t *)(map + 2 * ps))[-1] = TR__CANARY;
    p->slabs = s;
    populate_slab(p, s);
    return 0;
fail:
    if (guarded) atomic_fetch_add(&guarded_budget, GUARDED_REGIONS);
    return -ENOMEM;
}

static void release_all(void *unused);

static void cache_key_init(void) { (void)tss_create(&cache_key, release_all); }

static tr__pool *pool_for(size_t size) {
    for (tr__pool *p = pools; p; p = p->next)
        if (p->size == size) return p;
    call_once(&cache_once, cache_key_init);
    /* The pool header lives in its own small mapping: it outlives runs and
     * must not go through a run's allocator. */
    tr__pool *p = mmap(NULL, sizeof *p, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    *p = (tr__pool){.next = pools, .size = size};
    pools = p;
    (void)tss_set(cache_key, p);
    return p;
}

/* Every region's top, and so every task struct, sits at the same offset in
 * its page, and so does each task's stack below it. Two tasks that run in
 * turn then touch the same fields at addresses equal in their low 12 bits,
 * and the CPU holds back a load whose low bits match a store still on its
 * way to the cache (4K aliasing), until it knows their addresses differ:
 * about 1.5 ns of a 33.4 ns channel round trip (bench/README.md). So the
 * struct of a region of index i in its slab sits (i % TR__STACK_COLOURS) *
 * TR__STACK_COLOUR_BYTES lower: neighbours, which tasks spawned one after
 * the other from fresh regions get, differ (spares, reused last freed first,
 * may not). Found by index, not address bits: guarded regions are 17 pages
 * apart. */
size_t tr__stack_colour_offset(const tr__stack *st) {
    const tr__slab *s = st->slab;
    size_t stride = st->size + (s->guarded ? page_size() : 0);
    size_t i = (size_t)(st->lo - region_lo(s, st->size, 0)) / stride;
    return (i % TR__STACK_COLOURS) * TR__STACK_COLOUR_BYTES;
}

int tr__stack_get(size_t size, tr__stack *out) {
    tr__pool *p = pool_for(size);
    if (!p) return -ENOMEM;
    if (!p->free_top && pool_grow(p) != 0) return -ENOMEM;
    char *top = p->free_top;
    free_link *l = LINK_OF(top);
    p->free_top = l->next_top;
    p->free_count--;
    /* The next get reads the next link, on a page of its own: ask for it now
     * rather than wait for it then. */
    if (l->next_top) __builtin_prefetch(LINK_OF(l->next_top), 1);
    out->lo = top - size;
    out->size = size;
    out->slab = l->slab;
    out->canary = l->slab->guarded ? NULL : (const uint64_t *)out->lo - 1;
    return 0;
}

void tr__stack_put(const tr__stack *s) {
    tr__pool *p = pool_for(s->size);
    char *top = s->lo + s->size;
    /* The canary at top[-1] is not rewritten: this region's task never
     * touches it, only an overflow of the region above does, and that
     * task's next switch must still see it. */
    free_push(p, s->slab, top);
}

static void unmap_slab(tr__slab *s) {
    if (s->guarded) atomic_fetch_add(&guarded_budget, (long)s->nregions);
    munmap(s->map, s->map_len);
}

/* Keeps at most CACHE_BYTES of slabs per pool (all regions must be free:
 * called when no run is active on this thread). */
void tr__stack_trim(void) {
    for (tr__pool *p = pools; p; p = p->next) {
        size_t kept = 0;
        tr__slab **link = &p->slabs;
        p->free_top = NULL;
        p->free_count = 0;
        while (*link) {
            tr__slab *s = *link;
            if (kept + s->map_len > CACHE_BYTES && kept > 0) {
                *link = s->next;
                unmap_slab(s);
                continue;
            }
            kept += s->map_len;
            for (size_t i = s->nregions; i-- > 0;) free_push(p, s, region_top(s, p->size, i));
            link = &s->next;
        }
    }
}

/* Thread exit: unmap everything this thread cached. */
static void release_all(void *unused) {
    (void)unused;
    while (pools) {
        tr__pool *p = pools;
        pools = p->next;
        while (p->slabs) {
            tr__slab *s = p->slabs;
            p->slabs = s->next;
            unmap_slab(s);
        }
        munmap(p, sizeof *p);
    }
}
