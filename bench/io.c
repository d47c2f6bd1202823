/* Benchmarks of the production event loop.
 *
 *   bench_io fd_pingpong [N]   two tasks ping-pong one byte over an AF_UNIX
 *                              socketpair, N round trips (default 200,000,
 *                              or $FD_PINGPONG_N); each side waits with
 *                              tr_wait_readable, then reads (the pattern of
 *                              a uv_poll callback). One round trip = a
 *                              1-byte write one way and one back:
 *                              fd_pingpong (ns per round trip)
 *   bench_io fd_pingpong_readfirst [N]   the same, each side trying read()
 *                              first and waiting only on EAGAIN (Trio's
 *                              socket style: one more read per wake-up):
 *                              fd_pingpong_readfirst (ns per round trip)
 *   bench_io token [N]         a thread posts N tr_token_run_sync_soon
 *                              callbacks (default 100,000, or $TOKEN_N) one
 *                              at a time, blocking on a semaphore that the
 *                              callback posts (so the loop is asleep at
 *                              each post): token_latency (ns from the call
 *                              to the callback running in the loop) and
 *                              token_roundtrip (ns to post, run and wake the
 *                              poster); then N posted back to back:
 *                              token_throughput (ns per callback, from the
 *                              first post to the last callback)
 *   bench_io to_thread [N]     N tr_to_thread_run_sync calls of an empty
 *                              function (default 100,000, or $TO_THREAD_N)
 *                              with a warm pool, one after the other:
 *                              to_thread_roundtrip (ns); then 8 tasks
 *                              sharing N calls: to_thread_throughput (ns
 *                              per call)
 *
 * The libuv peer of fd_pingpong is bench/peers/libuv_fd_pingpong.c (not
 * linked with ctrio); bench/run io runs both in the same run.
 * Output: "RESULT <metric> <value> <unit>" lines. */
#define _GNU_SOURCE
#include "bench.h"

#include <ctrio.h>

#include <pthread.h>
#include <semaphore.h>
#include <sys/socket.h>
#include <unistd.h>

static long n_rounds;
static int sv[2];
static bool read_first;

/* One byte from fd: wait until readable, then read (or, with read_first,
 * read and wait only when nothing is there). */
static int recv_byte(int fd) {
    if (!read_first) {
        int rc = tr_wait_readable(fd);
        if (rc < 0) return rc;
    }
    for (;;) {
        char c;
        ssize_t n = read(fd, &c, 1);
        if (n == 1) return 0;
        if (n == 0) return -EPIPE;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return -errno;
        int rc = tr_wait_readable(fd);
        if (rc < 0) return rc;
    }
}

static int ponger(void *arg) {
    (void)arg;
    for (long i = 0; i < n_rounds; i++) {
        if (recv_byte(sv[1]) < 0 || write(sv[1], "x", 1) != 1) return -EIO;
    }
    return 0;
}

static int pingpong_main(void *arg) {
    const char *metric = arg;
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = tr_start_soon(&n, ponger, NULL);
    int64_t t0 = bench_wall_ns();
    for (long i = 0; rc == 0 && i < n_rounds; i++) {
        if (write(sv[0], "x", 1) != 1) rc = -EIO;
        else rc = recv_byte(sv[0]);
    }
    int64_t t1 = bench_wall_ns();
    rc = tr_nursery_join(&n, rc);
    if (rc == 0) printf("RESULT %s %.1f ns\n", metric, (double)(t1 - t0) / (double)n_rounds);
    tr_notify_closing(sv[0]);
    tr_notify_closing(sv[1]);
    return rc;
}

/* ---- tokens ------------------------------------------------------------------ */

static tr_token token;
static sem_t ran_sem;      /* posted by a callback (latency), or by the last one */
static int64_t posted_at;  /* when the poster called tr_token_run_sync_soon */
static int64_t latency_sum; /* loop thread only: sum of post-to-run times */
static long ran;           /* loop thread only: callbacks run (throughput) */

static void latency_cb(void *arg) {
    (void)arg;
    latency_sum += bench_wall_ns() - __atomic_load_n(&posted_at, __ATOMIC_ACQUIRE);
    sem_post(&ran_sem);
}

static void count_cb(void *arg) {
    (void)arg;
    if (++ran == n_rounds) sem_post(&ran_sem);
}

static void wait_sem(void) {
    while (sem_wait(&ran_sem) != 0) {
    }
}

static void *poster(void *arg) {
    int *rc = arg;
    int64_t t0 = bench_wall_ns();
    for (long i = 0; *rc == 0 && i < n_rounds; i++) {
        __atomic_store_n(&posted_at, bench_wall_ns(), __ATOMIC_RELEASE);
        *rc = tr_token_run_sync_soon(token, latency_cb, NULL);
        if (*rc == 0) wait_sem();
    }
    int64_t t1 = bench_wall_ns();
    if (*rc != 0) return NULL;
    /* latency_sum was written by the loop before each sem_post. */
    printf("RESULT token_latency %.1f ns\n", (double)latency_sum / (double)n_rounds);
    printf("RESULT token_roundtrip %.1f ns\n", (double)(t1 - t0) / (double)n_rounds);
    t0 = bench_wall_ns();
    for (long i = 0; *rc == 0 && i < n_rounds; i++) *rc = tr_token_run_sync_soon(token, count_cb, NULL);
    if (*rc != 0) return NULL;
    wait_sem();
    t1 = bench_wall_ns();
    printf("RESULT token_throughput %.1f ns/callback\n", (double)(t1 - t0) / (double)n_rounds);
    return NULL;
}

static void *join_thread(void *arg) {
    pthread_join(*(pthread_t *)arg, NULL);
    return NULL;
}

static int token_main(void *arg) {
    (void)arg;
    static int poster_rc;
    token = tr_current_token();
    if (sem_init(&ran_sem, 0, 0) != 0) return -errno;
    pthread_t th;
    if (pthread_create(&th, NULL, poster, &poster_rc) != 0) return -EAGAIN;
    /* The loop sleeps in the kernel while the poster works; joining happens
     * on a worker so the loop stays free. */
    int rc = tr_to_thread_run_sync(join_thread, &th, NULL, NULL);
    sem_destroy(&ran_sem);
    return rc ? rc : poster_rc;
}

/* ---- to_thread ------------------------------------------------------------------- */

static void *nothing(void *arg) { return arg; }

#define TO_THREAD_TASKS 8

static int to_thread_task(void *arg) {
    long calls = (long)(intptr_t)arg;
    int rc = 0;
    for (long i = 0; rc == 0 && i < calls; i++) rc = tr_to_thread_run_sync(nothing, NULL, NULL, NULL);
    return rc;
}

static int to_thread_main(void *arg) {
    (void)arg;
    int rc = tr_to_thread_run_sync(nothing, NULL, NULL, NULL); /* warm the pool */
    int64_t t0 = bench_wall_ns();
    for (long i = 0; rc == 0 && i < n_rounds; i++) rc = tr_to_thread_run_sync(nothing, NULL, NULL, NULL);
    int64_t t1 = bench_wall_ns();
    if (rc != 0) return rc;
    printf("RESULT to_thread_roundtrip %.1f ns\n", (double)(t1 - t0) / (double)n_rounds);
    /* Several tasks at once (the pool grows to TO_THREAD_TASKS workers). */
    long per_task = n_rounds / TO_THREAD_TASKS > 0 ? n_rounds / TO_THREAD_TASKS : 1;
    tr_nursery n;
    tr_nursery_open(&n);
    t0 = bench_wall_ns();
    for (int i = 0; rc == 0 && i < TO_THREAD_TASKS; i++)
        rc = tr_start_soon(&n, to_thread_task, (void *)(intptr_t)per_task);
    rc = tr_nursery_join(&n, rc);
    t1 = bench_wall_ns();
    if (rc == 0)
        printf("RESULT to_thread_throughput %.1f ns/call\n",
               (double)(t1 - t0) / (double)(per_task * TO_THREAD_TASKS));
    return rc;
}

int main(int argc, char **argv) {
    const char *test = argc > 1 ? argv[1] : "";
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(test, "fd_pingpong") == 0 || strcmp(test, "fd_pingpong_readfirst") == 0) {
        read_first = strcmp(test, "fd_pingpong_readfirst") == 0;
        n_rounds = bench_count(argc, argv, 2, "FD_PINGPONG_N", 200000);
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) return 1;
        int rc = tr_run(pingpong_main, (void *)test, NULL);
        close(sv[0]);
        close(sv[1]);
        return rc != 0;
    }
    if (strcmp(test, "token") == 0) {
        n_rounds = bench_count(argc, argv, 2, "TOKEN_N", 100000);
        return tr_run(token_main, NULL, NULL) != 0;
    }
    if (strcmp(test, "to_thread") == 0) {
        n_rounds = bench_count(argc, argv, 2, "TO_THREAD_N", 100000);
        return tr_run(to_thread_main, NULL, NULL) != 0;
    }
    fprintf(stderr, "usage: %s fd_pingpong|fd_pingpong_readfirst|token|to_thread [N]\n", argv[0]);
    return 2;
}
