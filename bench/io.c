/* Benchmarks of the production event loop.
 *
 *   bench_io fd_pingpong [N]   two tasks ping-pong one byte over a
 *                              socketpair through tr_wait_readable, N round
 *                              trips (default 200,000): ns per round trip
 *   bench_io token [N]         a thread posts N tr_token_run_sync_soon
 *                              callbacks one at a time, each waiting for the
 *                              previous to run: token_latency (ns, post to
 *                              run and back); then N posted back to back:
 *                              token_throughput_ns (ns per callback)
 *   bench_io to_thread [N]     N tr_to_thread_run_sync calls of an empty
 *                              function with a warm pool:
 *                              to_thread_roundtrip (ns)
 *
 * The libuv peer of fd_pingpong (libuv.fd_pingpong) is
 * ../shared/peers' program when present; bench/run io runs both.
 * Output: "RESULT <metric> <value> <unit>" lines. */
#define _GNU_SOURCE
#include "bench.h"

#include <ctrio.h>

#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

static long n_rounds;
static int sv[2];

static int recv_byte(int fd) {
    char c;
    for (;;) {
        ssize_t n = read(fd, &c, 1);
        if (n == 1) return 0;
        if (n == 0) return -EPIPE;
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
    (void)arg;
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
    if (rc == 0) printf("RESULT fd_pingpong %.1f ns/roundtrip\n", (double)(t1 - t0) / n_rounds);
    tr_notify_closing(sv[0]);
    tr_notify_closing(sv[1]);
    return rc;
}

/* ---- tokens ------------------------------------------------------------------ */

static tr_token token;
static atomic_long ran;

static void bump(void *arg) {
    (void)arg;
    atomic_fetch_add_explicit(&ran, 1, memory_order_release);
}

static void *poster(void *arg) {
    tr_task *main_task = arg;
    (void)main_task;
    int64_t t0 = bench_wall_ns();
    for (long i = 0; i < n_rounds; i++) {
        (void)tr_token_run_sync_soon(token, bump, NULL);
        while (atomic_load_explicit(&ran, memory_order_acquire) <= i) {
        }
    }
    int64_t t1 = bench_wall_ns();
    printf("RESULT token_latency %.1f ns\n", (double)(t1 - t0) / n_rounds);
    atomic_store(&ran, 0);
    t0 = bench_wall_ns();
    for (long i = 0; i < n_rounds; i++) (void)tr_token_run_sync_soon(token, bump, NULL);
    while (atomic_load_explicit(&ran, memory_order_acquire) < n_rounds) {
    }
    t1 = bench_wall_ns();
    printf("RESULT token_throughput %.1f ns/callback\n", (double)(t1 - t0) / n_rounds);
    return NULL;
}

static void *join_thread(void *arg) {
    pthread_join(*(pthread_t *)arg, NULL);
    return NULL;
}

static int token_main(void *arg) {
    (void)arg;
    token = tr_current_token();
    pthread_t th;
    if (pthread_create(&th, NULL, poster, NULL) != 0) return -EAGAIN;
    /* The loop sleeps in the kernel while the poster works; joining happens
     * on a worker so the loop stays free. */
    return tr_to_thread_run_sync(join_thread, &th, NULL, NULL);
}

/* ---- to_thread ------------------------------------------------------------------- */

static void *nothing(void *arg) { return arg; }

static int to_thread_main(void *arg) {
    (void)arg;
    int rc = tr_to_thread_run_sync(nothing, NULL, NULL, NULL); /* warm the pool */
    int64_t t0 = bench_wall_ns();
    for (long i = 0; rc == 0 && i < n_rounds; i++) rc = tr_to_thread_run_sync(nothing, NULL, NULL, NULL);
    int64_t t1 = bench_wall_ns();
    if (rc == 0) printf("RESULT to_thread_roundtrip %.1f ns\n", (double)(t1 - t0) / n_rounds);
    return rc;
}

int main(int argc, char **argv) {
    const char *test = argc > 1 ? argv[1] : "";
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(test, "fd_pingpong") == 0) {
        n_rounds = bench_count(argc, argv, 2, "PINGPONG_N", 200000);
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) return 1;
        int rc = tr_run(pingpong_main, NULL, NULL);
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
    fprintf(stderr, "usage: %s fd_pingpong|token|to_thread [N]\n", argv[0]);
    return 2;
}
