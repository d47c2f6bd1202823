/* Benchmarks of the synchronization primitives and memory channels.
 * Definitions follow ../shared/peers/README.md so that the figures compare
 * with the peers' (Trio, Go, libdill) measured the same way.
 *
 *   bench_sync pingpong [N]    two tasks, two unbuffered channels: A sends
 *                              an 8-byte item to B, B sends it back; N round
 *                              trips (default 2,000,000): ns per round trip
 *   bench_sync stream [N]      one producer, one consumer, buffer 1024,
 *                              8-byte items, N items (default 20,000,000),
 *                              every send and receive a checkpoint:
 *                              stream_cap1024 = msgs/s
 *   bench_sync lock [N]        one task, N acquire + release pairs of an
 *                              uncontended tr_lock (default 20,000,000):
 *                              lock_uncontended = ns per pair
 *   bench_sync handoff [N]     two tasks loop acquire + release on one lock,
 *                              N hand-offs in all (default 4,000,000): each
 *                              release hands the lock to the other task:
 *                              lock_handoff = ns per hand-off
 *   bench_sync all [N]         every test above, in one process
 *
 * Output: "RESULT <metric> <value> <unit>" lines. */
#include "bench.h"

#include <ctrio.h>

/* ---- pingpong ---------------------------------------------------------- */

typedef struct pp {
    tr_send_channel *tx;    /* where this side sends */
    tr_receive_channel *rx; /* where it receives */
    long n;                 /* round trips */
} pp;

static int pp_a(void *arg) {
    pp *p = arg;
    uint64_t v = 0;
    for (long i = 0; i < p->n; i++) {
        BENCH_CHECK(tr_channel_send(p->tx, &v));
        BENCH_CHECK(tr_channel_receive(p->rx, &v));
        v++;
    }
    return 0;
}

static int pp_b(void *arg) {
    pp *p = arg;
    uint64_t v;
    for (long i = 0; i < p->n; i++) {
        BENCH_CHECK(tr_channel_receive(p->rx, &v));
        BENCH_CHECK(tr_channel_send(p->tx, &v));
    }
    return 0;
}

static int64_t pingpong_round(long n) {
    tr_send_channel *ping_tx, *pong_tx;
    tr_receive_channel *ping_rx, *pong_rx;
    BENCH_CHECK(tr_open_memory_channel(&ping_tx, &ping_rx, 0, sizeof(uint64_t)));
    BENCH_CHECK(tr_open_memory_channel(&pong_tx, &pong_rx, 0, sizeof(uint64_t)));
    pp a = {ping_tx, pong_rx, n}, b = {pong_tx, ping_rx, n};
    tr_nursery nursery;
    int64_t t0 = bench_wall_ns();
    tr_nursery_open(&nursery);
    BENCH_CHECK(tr_start_soon(&nursery, pp_a, &a));
    BENCH_CHECK(tr_start_soon(&nursery, pp_b, &b));
    BENCH_CHECK(tr_nursery_join(&nursery, 0));
    int64_t ns = bench_wall_ns() - t0;
    tr_channel_close(ping_tx);
    tr_channel_close(ping_rx);
    tr_channel_close(pong_tx);
    tr_channel_close(pong_rx);
    return ns;
}

static void bench_pingpong(long n) {
    pingpong_round(n / 20 + 1); /* warm-up */
    bench_result("pingpong", (double)pingpong_round(n) / (double)n, "ns");
}

/* ---- stream ------------------------------------------------------------ */

typedef struct stream {
    tr_send_channel *tx;
    tr_receive_channel *rx;
    long n;
    uint64_t sum; /* what the consumer saw, so nothing is optimised away */
} stream;

static int st_producer(void *arg) {
    stream *s = arg;
    for (uint64_t i = 0; i < (uint64_t)s->n; i++) BENCH_CHECK(tr_channel_send(s->tx, &i));
    tr_channel_close(s->tx);
    return 0;
}

static int st_consumer(void *arg) {
    stream *s = arg;
    uint64_t v;
    int rc;
    while ((rc = tr_channel_receive(s->rx, &v)) == 0) s->sum += v;
    if (rc != TR_EENDOFCHANNEL) BENCH_CHECK(rc);
    tr_channel_close(s->rx);
    return 0;
}

static int64_t stream_round(long n) {
    stream s = {.n = n};
    BENCH_CHECK(tr_open_memory_channel(&s.tx, &s.rx, 1024, sizeof(uint64_t)));
    tr_nursery nursery;
    int64_t t0 = bench_wall_ns();
    tr_nursery_open(&nursery);
    BENCH_CHECK(tr_start_soon(&nursery, st_producer, &s));
    BENCH_CHECK(tr_start_soon(&nursery, st_consumer, &s));
    BENCH_CHECK(tr_nursery_join(&nursery, 0));
    int64_t ns = bench_wall_ns() - t0;
    if (s.sum != (uint64_t)n * (uint64_t)(n - 1) / 2) {
        fprintf(stderr, "bench: stream lost items\n");
        exit(1);
    }
    return ns;
}

static void bench_stream(long n) {
    stream_round(n / 20 + 1);
    int64_t ns = stream_round(n);
    bench_result("stream_cap1024", (double)n * 1e9 / (double)ns, "msgs/s");
}

/* ---- locks ------------------------------------------------------------- */

static tr_lock bench_lock;

static void bench_lock_uncontended(long n) {
    tr_lock_init(&bench_lock);
    for (int round = 0; round < 2; round++) {
        long reps = round == 0 ? n / 20 + 1 : n;
        int64_t t0 = bench_wall_ns();
        for (long i = 0; i < reps; i++) {
            BENCH_CHECK(tr_lock_acquire(&bench_lock));
            BENCH_CHECK(tr_lock_release(&bench_lock));
        }
        int64_t ns = bench_wall_ns() - t0;
        if (round == 1) bench_result("lock_uncontended", (double)ns / (double)n, "ns");
    }
}

static int locker(void *arg) {
    long n = *(const long *)arg;
    for (long i = 0; i < n; i++) {
        BENCH_CHECK(tr_lock_acquire(&bench_lock));
        BENCH_CHECK(tr_lock_release(&bench_lock));
    }
    return 0;
}

static int64_t handoff_round(long per_task) {
    tr_nursery nursery;
    tr_lock_init(&bench_lock);
    int64_t t0 = bench_wall_ns();
    tr_nursery_open(&nursery);
    BENCH_CHECK(tr_start_soon(&nursery, locker, &per_task));
    BENCH_CHECK(tr_start_soon(&nursery, locker, &per_task));
    BENCH_CHECK(tr_nursery_join(&nursery, 0));
    return bench_wall_ns() - t0;
}

static void bench_lock_handoff(long n) {
    long per_task = n / 2;
    handoff_round(per_task / 20 + 1);
    bench_result("lock_handoff", (double)handoff_round(per_task) / (double)(2 * per_task), "ns");
}

/* ---- main ---------------------------------------------------------------- */

typedef struct job {
    const char *test; /* which test */
    long n;           /* its count, 0: default */
} job;

static long or_default(long n, long dflt) { return n ? n : dflt; }

static int run_main(void *arg) {
    const job *j = arg;
    bool all = strcmp(j->test, "all") == 0;
    if (all || strcmp(j->test, "pingpong") == 0) bench_pingpong(or_default(j->n, 2000000));
    if (all || strcmp(j->test, "stream") == 0) bench_stream(or_default(j->n, 20000000));
    if (all || strcmp(j->test, "lock") == 0) bench_lock_uncontended(or_default(j->n, 20000000));
    if (all || strcmp(j->test, "handoff") == 0) bench_lock_handoff(or_default(j->n, 4000000));
    return 0;
}

int main(int argc, char **argv) {
    job j = {.test = argc > 1 ? argv[1] : "all", .n = bench_count(argc, argv, 2, NULL, 0)};
    if (strcmp(j.test, "all") && strcmp(j.test, "pingpong") && strcmp(j.test, "stream") &&
        strcmp(j.test, "lock") && strcmp(j.test, "handoff")) {
        fprintf(stderr, "usage: bench_sync [all|pingpong|stream|lock|handoff] [N]\n");
        return 2;
    }
    int rc = tr_run(run_main, &j, NULL);
    if (rc < 0) {
        fprintf(stderr, "bench_sync: %s\n", tr_strerror(rc));
        return 1;
    }
    return 0;
}
