/* The machine's floor for spawning many live tasks (bench_core alive): what
 * any runtime with a stack region per task pays before a task can run,
 * which is to make the page where its stack starts resident. Not linked
 * with ctrio.
 *
 *   floor_alive [N]   N regions of 64 KiB (default 1,000,000; env ALIVE_N)
 *                     in fresh mappings, as ctrio's slabs; the top page of
 *                     each is made resident and written, one 2 MiB block of
 *                     tops at a time, in three ways:
 *     alive_floor_touch:    a store to each top page (the fault does it);
 *     alive_floor_madvise:  MADV_POPULATE_WRITE on each top page, then the
 *                           store;
 *     alive_floor_batch:    one process_madvise(MADV_POPULATE_WRITE) for the
 *                           block's tops, then the stores (ctrio's way).
 *   and prints, besides each, alive<N>_spawn = the least of the three, in
 *   ns per task: no task struct, no context, no scheduler.
 *
 * Each way gets its own mappings, never touched before, and unmaps them
 * once measured. Linux only. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define REGION ((size_t)64 << 10)
#define PAGE ((size_t)4096)
#define BLOCK ((size_t)2 << 20)
#define PER_BLOCK (BLOCK / REGION)

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

enum way { TOUCH, MADVISE, BATCH };

/* Makes the top pages of the regions of one block resident, the way w asks. */
static void populate(char *block, enum way w, int pidfd) {
    struct iovec iov[PER_BLOCK];
    for (size_t i = 0; i < PER_BLOCK; i++)
        iov[i] = (struct iovec){.iov_base = block + (i + 1) * REGION - PAGE, .iov_len = PAGE};
    if (w == MADVISE)
        for (size_t i = 0; i < PER_BLOCK; i++)
            (void)madvise(iov[i].iov_base, PAGE, MADV_POPULATE_WRITE);
#if defined(SYS_process_madvise)
    if (w == BATCH) (void)syscall(SYS_process_madvise, pidfd, iov, PER_BLOCK, MADV_POPULATE_WRITE, 0);
#endif
    for (size_t i = 0; i < PER_BLOCK; i++)
        ((volatile uint64_t *)((char *)iov[i].iov_base + PAGE))[-1] = i;
}

/* ns per region for n regions the way w, in mappings of up to 8 MiB each
 * (ctrio's slab size), unmapped once measured. */
static double measure(long n, enum way w, int pidfd) {
    size_t blocks = ((size_t)n + PER_BLOCK - 1) / PER_BLOCK;
    size_t per_map = ((size_t)8 << 20) / BLOCK;
    size_t nmaps = (blocks + per_map - 1) / per_map, m = 0;
    char **maps = calloc(nmaps, sizeof *maps);
    if (!maps) exit(1);
    int64_t t0 = now_ns();
    for (size_t b = 0; b < blocks; b += per_map, m++) {
        size_t k = blocks - b < per_map ? blocks - b : per_map;
        /* One block more, to align the blocks to 2 MiB as page tables are. */
        char *map = mmap(NULL, (per_map + 1) * BLOCK, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (map == MAP_FAILED) {
            perror("floor_alive: mmap");
            exit(1);
        }
        maps[m] = map;
        (void)madvise(map, (per_map + 1) * BLOCK, MADV_NOHUGEPAGE);
        char *base = (char *)(((uintptr_t)map + BLOCK - 1) & ~(uintptr_t)(BLOCK - 1));
        for (size_t i = 0; i < k; i++) populate(base + i * BLOCK, w, pidfd);
    }
    double per_task = (double)(now_ns() - t0) / (double)(blocks * PER_BLOCK);
    for (size_t i = 0; i < m; i++) munmap(maps[i], (per_map + 1) * BLOCK);
    free(maps);
    return per_task;
}

int main(int argc, char **argv) {
    const char *env = getenv("ALIVE_N");
    long n = argc > 1 ? atol(argv[1]) : env ? atol(env) : 1000000;
    if (n <= 0) {
        fprintf(stderr, "usage: floor_alive [N > 0]\n");
        return 2;
    }
    int pidfd = -1;
#if defined(SYS_pidfd_open)
    pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
#endif
    static const char *names[] = {"alive_floor_touch", "alive_floor_madvise", "alive_floor_batch"};
    double best = 0;
    for (int w = TOUCH; w <= BATCH; w++) {
        if (w == BATCH && pidfd < 0) continue;
        double v = measure(n, (enum way)w, pidfd);
        printf("RESULT %s %.1f ns/task\n", names[w], v);
        if (best == 0 || v < best) best = v;
    }
    printf("RESULT alive%ld_spawn %.1f ns/task\n", n, best);
    return 0;
}
