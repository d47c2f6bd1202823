/* Benchmarks of ctrio's core: context switch, spawn+join, many live tasks,
 * timers. Definitions are those of ../shared/peers/README.md, so the figures
 * compare with the peers' (Trio, Go, libuv) measured the same way.
 *
 *   bench_core switch [N]   two tasks ping-pong through tr_checkpoint(), N
 *                           checkpoints in all (default 10,000,000):
 *                           switch = ns per one-way switch
 *   bench_core spawn [N]    nursery open, 1,000 empty tasks, join; repeated
 *                           until N tasks (default 1,000,000), after a
 *                           warm-up round: spawn_join = ns per task
 *   bench_core alive [N]    N tasks (default 1,000,000; env ALIVE_N) blocked
 *                           in tr_sleep_forever, then cancelled:
 *                           alive<N>_spawn ns/task, alive<N>_rss B/task,
 *                           alive<N>_cancel ns/task
 *   bench_core timers [N]   N tasks (default 100,000; env TIMERS_N); task i
 *                           sleeps until start + 50 ms + ((i*7919) mod
 *                           100000) us: timers_cpu_per_timer = CPU ns per
 *                           timer from the gate opening to the last wake-up
 *
 * Each test is meant to run in a fresh process (bench/run does that): the
 * alive test's first-touch costs count, as they do for the peers.
 * Output: "RESULT <metric> <value> <unit>" lines. */
#include "bench.h"

#include <ctrio.h>


#include "syscalls.h"

/* ---- switch ------------------------------------------------------------ */

static int yielder(void *arg) {
    long n = *(const long *)arg;
    for (long i = 0; i < n; i++)
        if (tr_checkpoint() < 0) return -ECANCELED;
    return 0;
}

/* Two yielders of n checkpoints each; returns elapsed ns. */
static int64_t switch_round(long n) {
    tr_nursery nursery;
    int64_t t0 = bench_wall_ns();
    tr_nursery_open(&nursery);
    BENCH_CHECK(tr_start_soon(&nursery, yielder, &n));
    BENCH_CHECK(tr_start_soon(&nursery, yielder, &n));
    BENCH_CHECK(tr_nursery_join(&nursery, 0));
    return bench_wall_ns() - t0;
}

static int main_switch(void *arg) {
    long total = *(long *)arg;
    long per_task = total / 2;
    switch_round(10000); /* warm-up: stacks, caches, branch predictors */
    int64_t ns = switch_round(per_task);
    bench_result("switch", (double)ns / (double)(2 * per_task), "ns/switch");
    return 0;
}

/* ---- spawn + join ------------------------------------------------------ */

#define SPAWN_BATCH 1000

static int empty_task(void *arg) {
    (void)arg;
    return 0;
}

static void spawn_round(void) {
    tr_nursery nursery;
    tr_nursery_open(&nursery);
    for (int i = 0; i < SPAWN_BATCH; i++) BENCH_CHECK(tr_start_soon(&nursery, empty_task, NULL));
    BENCH_CHECK(tr_nursery_join(&nursery, 0));
}

static int main_spawn(void *arg) {
    long rounds = *(long *)arg / SPAWN_BATCH;
    if (rounds < 1) rounds = 1;
    spawn_round(); /* warm-up: fills the stack pool */
    int64_t t0 = bench_wall_ns();
    for (long r = 0; r < rounds; r++) spawn_round();
    int64_t ns = bench_wall_ns() - t0;
    bench_result("spawn_join", (double)ns / (double)(rounds * SPAWN_BATCH), "ns/task");
    return 0;
}

/* ---- alive N ----------------------------------------------------------- */

static long alive_blocked;

static int sleeper(void *arg) {
    (void)arg;
    alive_blocked++;
    int rc = tr_sleep_forever();
    return rc == -ECANCELED ? 0 : rc;
}

static int main_alive(void *arg) {
    long n = *(long *)arg;
    char metric[64];
    tr_nursery nursery;
    long maps0 = bench_mappings();
    int64_t rss0 = bench_rss_bytes();
    int64_t t0 = bench_wall_ns();
    tr_nursery_open(&nursery);
    for (long i = 0; i < n; i++) BENCH_CHECK(tr_start_soon(&nursery, sleeper, NULL));
    /* The children run in the next batch; this task runs after them. */
    while (alive_blocked < n) BENCH_CHECK(tr_checkpoint());
    int64_t t1 = bench_wall_ns();
    int64_t rss1 = bench_rss_bytes();
    tr_nursery_cancel(&nursery);
    int rc = tr_nursery_join(&nursery, 0);
    int64_t t2 = bench_wall_ns();
    long maps1 = bench_mappings();
    if (rc < 0) {
        fprintf(stderr, "bench: alive: join -> %s\n", tr_strerror(rc));
        return rc;
    }
    snprintf(metric, sizeof metric, "alive%ld_spawn", n);
    bench_result(metric, (double)(t1 - t0) / (double)n, "ns/task");
    snprintf(metric, sizeof metric, "alive%ld_rss", n);
    bench_result(metric, (double)(rss1 - rss0) / (double)n, "B/task");
    snprintf(metric, sizeof metric, "alive%ld_cancel", n);
    bench_result(metric, (double)(t2 - t1) / (double)n, "ns/task");
    snprintf(metric, sizeof metric, "alive%ld_mappings", n);
    bench_result(metric, (double)(maps1 - maps0), "maps");
    return 0;
}

/* ---- timers ------------------------------------------------------------ */

/* 50 ms + ((i*7919) mod 100000) us: 100k distinct durations in [50, 150) ms
 * in a scrambled order (the peers' schedule). */
static tr_duration timer_delay(long i) { return TR_MS(50) + TR_US((i * 7919L) % 100000L); }

static struct {
    long n;
    tr_task **gate;      /* tasks waiting for the gate, by index; NULL: gone */
    long at_gate;        /* tasks that reached the gate */
    tr_time start;       /* the gate's opening on the run's clock */
    long left;           /* timers still to fire */
    tr_task *main;       /* main, while it waits for the last timer */
    int64_t max_late, sum_late;
} tm;

static int leave_slot(void *ctx, tr_task *task) {
    (void)task;
    *(tr_task **)ctx = NULL;
    return TR_ABORT_SUCCEEDED;
}

static int timer_task(void *arg) {
    long i = (long)(intptr_t)arg;
    tm.gate[i] = tr_current_task();
    tm.at_gate++;
    int rc = tr_wait_task_rescheduled(leave_slot, &tm.gate[i]);
    if (rc < 0) return 0;
    tr_time deadline = tm.start + timer_delay(i);
    if (tr_sleep_until(deadline) < 0) return 0;
    int64_t late = tr_current_time() - deadline;
    tm.sum_late += late;
    if (late > tm.max_late) tm.max_late = late;
    if (--tm.left == 0 && tm.main) {
        tr_task *m = tm.main;
        tm.main = NULL;
        tr_reschedule(m, 0);
    }
    /* Stay alive until the measurement is over, so that task exits are not
     * part of it (the peers do the same). */
    rc = tr_sleep_forever();
    return rc == -ECANCELED ? 0 : rc;
}

static int main_timers(void *arg) {
    long n = *(long *)arg;
    tr_nursery nursery;
    tm.n = n;
    tm.left = n;
    tm.gate = calloc((size_t)n, sizeof *tm.gate);
    if (!tm.gate) return -ENOMEM;
    int64_t t0 = bench_wall_ns();
    tr_nursery_open(&nursery);
    for (long i = 0; i < n; i++)
        BENCH_CHECK(tr_start_soon(&nursery, timer_task, (void *)(intptr_t)i));
    while (tm.at_gate < n) BENCH_CHECK(tr_checkpoint());
    int64_t t1 = bench_wall_ns();
    long sys1 = bench_syscalls;
    bench_max_oversleep = 0;
    int64_t c1 = bench_cpu_ns();
    /* The gate opens: every task computes its deadline from start. */
    tm.start = tr_current_time();
    int64_t t2 = bench_wall_ns();
    for (long i = 0; i < n; i++) {
        tr_task *t = tm.gate[i];
        tm.gate[i] = NULL;
        if (t) tr_reschedule(t, 0);
    }
    tm.main = tr_current_task();
    BENCH_CHECK(tr_wait_task_rescheduled(leave_slot, &tm.main));
    int64_t c3 = bench_cpu_ns();
    long sys3 = bench_syscalls;
    int64_t t3 = bench_wall_ns();
    tr_nursery_cancel(&nursery);
    int rc = tr_nursery_join(&nursery, 0);
    int64_t t4 = bench_wall_ns();
    free(tm.gate);
    if (rc < 0) {
        fprintf(stderr, "bench: timers: join -> %s\n", tr_strerror(rc));
        return rc;
    }
    bench_result("timers_spawn_blocked", (double)(t1 - t0) / (double)n, "ns/task");
    bench_result("timers_phase_wall", (double)(t3 - t2) / 1e6, "ms");
    bench_result("timers_cpu_per_timer", (double)(c3 - c1) / (double)n, "ns/timer");
#ifdef BENCH_WRAP_SYSCALLS
    bench_result("timers_syscalls_per_timer", (double)(sys3 - sys1) / (double)n, "calls/timer");
    bench_result("timers_max_oversleep", (double)bench_max_oversleep / 1e6, "ms");
#else
    (void)sys1, (void)sys3;
#endif
    bench_result("timers_max_late", (double)tm.max_late / 1e6, "ms");
    bench_result("timers_mean_late", (double)tm.sum_late / 1e6 / (double)n, "ms");
    bench_result("timers_teardown", (double)(t4 - t3) / (double)n, "ns/task");
    return 0;
}

/* ---- main -------------------------------------------------------------- */

int main(int argc, char **argv) {
    const char *test = argc > 1 ? argv[1] : "";
    tr_task_fn fn;
    long n;
    if (!strcmp(test, "switch")) {
        fn = main_switch;
        n = bench_count(argc, argv, 2, "SWITCH_N", 10000000);
    } else if (!strcmp(test, "spawn")) {
        fn = main_spawn;
        n = bench_count(argc, argv, 2, "SPAWN_N", 1000000);
    } else if (!strcmp(test, "alive")) {
        fn = main_alive;
        n = bench_count(argc, argv, 2, "ALIVE_N", 1000000);
    } else if (!strcmp(test, "timers")) {
        fn = main_timers;
        n = bench_count(argc, argv, 2, "TIMERS_N", 100000);
    } else {
        fprintf(stderr, "usage: %s switch|spawn|alive|timers [N]\n", argv[0]);
        return 2;
    }
    int rc = tr_run(fn, &n, NULL);
    if (rc < 0) {
        fprintf(stderr, "bench: %s: tr_run -> %s\n", test, tr_strerror(rc));
        return 1;
    }
    return 0;
}
