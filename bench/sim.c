/* Benchmarks of the deterministic simulator (sim/, <ctrio/sim.h>).
 *
 *   bench_sim steps [T [C]]   T tasks (default 100) each doing C
 *                             tr_checkpoint()s (default 100,000) in one
 *                             tr_sim_run under TR_SIM_RANDOM with the
 *                             decision log and the trace hash on, after a
 *                             warm-up run: sim_steps_per_s = simulated task
 *                             steps (tr_sim_result.steps) per wall second;
 *                             sim_over_plain_steps = wall time of the same
 *                             workload under tr_sim_run over plain tr_run
 *                             (information)
 *   bench_sim seeds [N]       the reference scenario (below) as a campaign
 *                             of N seeds (default 2,000; env SIM_SEEDS)
 *                             through tr_sim_main("--seeds N --jobs J
 *                             --quiet"), J = 1 then 2 (forked workers):
 *                             sim_seeds_per_s_j1, sim_seeds_per_s_j2, and
 *                             sim_jobs2_speedup = j2 / j1. Needs two CPUs
 *                             (bench/run pins this test to two)
 *   bench_sim policy [N]      the reference scenario for seeds 0..N-1
 *                             (default 500) under TR_SIM_RANDOM and under
 *                             TR_SIM_FIFO, in alternating rounds:
 *                             sim_random_over_fifo = wall time ratio;
 *                             sim_random_over_fifo_per_step = the same per
 *                             simulated step (the two policies give
 *                             different schedules, so different step counts)
 *   bench_sim log [N]         the reference scenario for seeds 0..N-1
 *                             (default 500) with and without .no_record, in
 *                             alternating rounds: sim_log_overhead = wall
 *                             time ratio recording / not recording; and
 *                             sim_log_overhead_steps, the same for the steps
 *                             workload (one decision per task step: the
 *                             worst case)
 *   bench_sim all             every test above, in one process
 *
 * The reference scenario: 20 tasks (10 producers, 10 consumers) exchange
 * 1,000 items over a memory channel with a buffer of 4; every send runs
 * under a 1 s fail_after and every producer pauses for a few simulated
 * microseconds every 10 items; every receive runs under a 50 us
 * move_on_after (which does fire while the producers pause), and every
 * received item is added to a tally under a tr_lock held across a
 * checkpoint. The run fails unless all 1,000 items arrive exactly once.
 *
 * Output: "RESULT <metric> <value> <unit>" lines; exit 1 when a run fails. */
#include "bench.h"

#include <ctrio.h>
#include <ctrio/sim.h>

#include <fcntl.h>
#include <unistd.h>

#define SIM_MAX_STEPS (UINT64_C(1) << 40)

/* Fails the program when a simulated run did not take place or failed. */
static void check_run(int rc, const tr_sim_result *r, const char *what) {
    if (rc < 0) {
        fprintf(stderr, "bench_sim: %s: tr_sim_run: %s\n", what, tr_strerror(rc));
        exit(1);
    }
    if (r && r->rc < 0) {
        fprintf(stderr, "bench_sim: %s failed: %s\n%s", what, tr_strerror(r->rc), r->report);
        exit(1);
    }
}

/* ---- steps: many tasks doing nothing but checkpoints ---------------------- */

typedef struct steps_cfg {
    long tasks, checkpoints;
} steps_cfg;

static int stepper(void *arg) {
    long n = *(const long *)arg;
    for (long i = 0; i < n; i++) {
        int rc = tr_checkpoint();
        if (rc) return rc;
    }
    return 0;
}

static int steps_main(void *arg) {
    steps_cfg *c = arg;
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = 0;
    for (long i = 0; i < c->tasks && !rc; i++) rc = tr_start_soon(&n, stepper, &c->checkpoints);
    return tr_nursery_join(&n, rc);
}

/* One simulated run of the steps workload; returns wall ns. */
static int64_t steps_sim(steps_cfg *c, bool no_record, tr_sim_result *r) {
    tr_sim_opts o = {.seed = 1, .policy = TR_SIM_RANDOM, .max_steps = SIM_MAX_STEPS,
                     .no_record = no_record};
    int64_t t0 = bench_wall_ns();
    int rc = tr_sim_run(steps_main, c, &o, r);
    int64_t ns = bench_wall_ns() - t0;
    check_run(rc, r, "steps");
    return ns;
}

static void test_steps(long tasks, long checkpoints) {
    steps_cfg warm = {tasks, 1000}, c = {tasks, checkpoints};
    tr_sim_result r;
    steps_sim(&warm, false, &r); /* stacks, caches, the log's first pages */
    int64_t ns = steps_sim(&c, false, &r);
    bench_result("sim_steps_per_s", (double)r.steps / ((double)ns / 1e9), "steps/s");
    /* The same workload on plain tr_run (no policy, no log, no hash). */
    int64_t t0 = bench_wall_ns();
    BENCH_CHECK(tr_run(steps_main, &c, NULL));
    int64_t plain = bench_wall_ns() - t0;
    bench_result("sim_over_plain_steps", (double)ns / (double)plain, "x");
}

/* ---- the reference scenario ------------------------------------------------ */

#define REF_PRODUCERS 10
#define REF_CONSUMERS 10
#define REF_ITEMS 1000
#define REF_PER_PRODUCER (REF_ITEMS / REF_PRODUCERS)

static struct {
    tr_lock lock;
    long count, sum;
} ref;

static int ref_producer(void *arg) {
    tr_send_channel *tx = arg; /* this task's clone: it closes it */
    int rc = 0;
    for (int i = 0; i < REF_PER_PRODUCER && !rc; i++) {
        int item = i + 1;
        tr_cancel_scope cs;
        if ((rc = tr_fail_after(&cs, TR_SEC(1)))) break;
        rc = tr_scope_exit(&cs, tr_channel_send(tx, &item));
        if (!rc && i % 10 == 9) rc = tr_sleep(TR_US(5 + tr_sim_choice(100)));
    }
    tr_channel_close(tx);
    return rc;
}

static int ref_consumer(void *arg) {
    tr_receive_channel *rx = arg;
    int rc = 0;
    for (;;) {
        int item = 0;
        tr_cancel_scope cs;
        if ((rc = tr_move_on_after(&cs, TR_US(50)))) break;
        rc = tr_scope_exit(&cs, tr_channel_receive(rx, &item));
        if (rc == TR_EENDOFCHANNEL) {
            rc = 0;
            break;
        }
        if (rc) break;
        if (tr_scope_cancelled_caught(&cs)) continue; /* timed out: try again */
        if ((rc = tr_lock_acquire(&ref.lock))) break;
        long seen = ref.count;
        rc = tr_checkpoint(); /* held across a checkpoint: contention */
        ref.count = seen + 1;
        ref.sum += item;
        int rel = tr_lock_release(&ref.lock);
        if ((rc = rc ? rc : rel)) break;
    }
    tr_channel_close(rx);
    return rc;
}

static int ref_scenario(void *arg) {
    (void)arg;
    ref.count = ref.sum = 0;
    tr_lock_init(&ref.lock);
    tr_send_channel *tx, *txc;
    tr_receive_channel *rx, *rxc;
    int rc = tr_open_memory_channel(&tx, &rx, 4, sizeof(int));
    if (rc) return rc;
    tr_nursery n;
    tr_nursery_open(&n);
    for (int i = 0; i < REF_PRODUCERS && !rc; i++)
        if (!(rc = tr_channel_clone(tx, &txc)))
            if ((rc = tr_spawn(&n, ref_producer, txc, &(tr_spawn_opts){.name = "producer"})))
                tr_channel_close(txc);
    for (int i = 0; i < REF_CONSUMERS && !rc; i++)
        if (!(rc = tr_channel_clone(rx, &rxc)))
            if ((rc = tr_spawn(&n, ref_consumer, rxc, &(tr_spawn_opts){.name = "consumer"})))
                tr_channel_close(rxc);
    tr_channel_close(tx);
    tr_channel_close(rx);
    rc = tr_nursery_join(&n, rc);
    if (rc) return rc;
    long want = (long)REF_PRODUCERS * REF_PER_PRODUCER * (REF_PER_PRODUCER + 1) / 2;
    if (ref.count != REF_ITEMS || ref.sum != want)
        return tr_fail(-EPROTO, "%ld items (sum %ld), expected %d (sum %ld)", ref.count, ref.sum,
                       REF_ITEMS, want);
    return 0;
}

/* Seeds 0..n-1 of the reference scenario in this process: wall ns, and the
 * steps in *steps. */
static int64_t ref_seeds(long n, tr_sim_policy policy, bool no_record, uint64_t *steps) {
    int64_t t0 = bench_wall_ns();
    for (long s = 0; s < n; s++) {
        tr_sim_result r;
        tr_sim_opts o = {.seed = (uint64_t)s, .policy = policy, .no_record = no_record};
        check_run(tr_sim_run(ref_scenario, NULL, &o, &r), &r, "reference scenario");
        *steps += r.steps;
    }
    return bench_wall_ns() - t0;
}

/* ---- seeds per second: the CLI's campaigns ---------------------------------- */

/* tr_sim_main --seeds n --jobs j --quiet, its summary line sent to
 * /dev/null; returns seeds per wall second. */
static double campaign(long n, int jobs) {
    char seeds[32], j[8];
    snprintf(seeds, sizeof seeds, "%ld", n);
    snprintf(j, sizeof j, "%d", jobs);
    char *argv[] = {"bench_sim", "--seeds", seeds, "--jobs", j, "--quiet", NULL};
    fflush(stdout);
    int saved = dup(1), null = open("/dev/null", O_WRONLY);
    if (saved < 0 || null < 0 || dup2(null, 1) < 0) {
        perror("bench_sim: /dev/null");
        exit(1);
    }
    close(null);
    int64_t t0 = bench_wall_ns();
    int status = tr_sim_main(6, argv, ref_scenario, NULL);
    int64_t ns = bench_wall_ns() - t0;
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    if (status != 0) {
        fprintf(stderr, "bench_sim: campaign --seeds %ld --jobs %d failed (exit %d)\n", n, jobs,
                status);
        exit(1);
    }
    return (double)n / ((double)ns / 1e9);
}

static void test_seeds(long n) {
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
        fprintf(stdout, "# bench_sim: one CPU only: --jobs 2 cannot be faster\n");
    campaign(n / 10 > 0 ? n / 10 : 1, 1); /* warm-up */
    double j1 = campaign(n, 1);
    double j2 = campaign(n, 2);
    bench_result("sim_seeds_per_s_j1", j1, "seeds/s");
    bench_result("sim_seeds_per_s_j2", j2, "seeds/s");
    bench_result("sim_jobs2_speedup", j2 / j1, "x");
}

/* ---- policy and recording overheads ------------------------------------------ */

#define ROUNDS 5

static void test_policy(long n) {
    int64_t t_random = 0, t_fifo = 0;
    uint64_t s_random = 0, s_fifo = 0;
    ref_seeds(n / 10 > 0 ? n / 10 : 1, TR_SIM_RANDOM, false, &s_random); /* warm-up */
    s_random = 0;
    long per = n / ROUNDS > 0 ? n / ROUNDS : 1;
    for (int k = 0; k < ROUNDS; k++) {
        t_random += ref_seeds(per, TR_SIM_RANDOM, false, &s_random);
        t_fifo += ref_seeds(per, TR_SIM_FIFO, false, &s_fifo);
    }
    bench_result("sim_ref_us_per_seed", (double)t_random / 1e3 / (double)(per * ROUNDS), "us/seed");
    bench_result("sim_random_over_fifo", (double)t_random / (double)t_fifo, "x");
    bench_result("sim_random_over_fifo_per_step",
                 ((double)t_random / (double)s_random) / ((double)t_fifo / (double)s_fifo), "x");
}

static void test_log(long n, long tasks, long checkpoints) {
    int64_t t_rec = 0, t_norec = 0;
    uint64_t s_rec = 0, s_norec = 0;
    ref_seeds(n / 10 > 0 ? n / 10 : 1, TR_SIM_RANDOM, false, &s_rec); /* warm-up */
    long per = n / ROUNDS > 0 ? n / ROUNDS : 1;
    for (int k = 0; k < ROUNDS; k++) {
        t_rec += ref_seeds(per, TR_SIM_RANDOM, false, &s_rec);
        t_norec += ref_seeds(per, TR_SIM_RANDOM, true, &s_norec);
    }
    bench_result("sim_log_overhead", (double)t_rec / (double)t_norec, "x");
    /* The steps workload: a decision per task step, nothing else to do. */
    steps_cfg c = {tasks, checkpoints / 4 > 0 ? checkpoints / 4 : 1};
    tr_sim_result r;
    int64_t rec = 0, norec = 0;
    for (int k = 0; k < 3; k++) {
        rec += steps_sim(&c, false, &r);
        norec += steps_sim(&c, true, &r);
    }
    bench_result("sim_log_overhead_steps", (double)rec / (double)norec, "x");
}

int main(int argc, char **argv) {
    const char *test = argc > 1 ? argv[1] : "all";
    if (!strcmp(test, "steps")) {
        test_steps(bench_count(argc, argv, 2, NULL, 100), bench_count(argc, argv, 3, NULL, 100000));
    } else if (!strcmp(test, "seeds")) {
        test_seeds(bench_count(argc, argv, 2, "SIM_SEEDS", 2000));
    } else if (!strcmp(test, "policy")) {
        test_policy(bench_count(argc, argv, 2, NULL, 500));
    } else if (!strcmp(test, "log")) {
        test_log(bench_count(argc, argv, 2, NULL, 500), 100, 100000);
    } else if (!strcmp(test, "all")) {
        test_steps(100, 100000);
        test_seeds(bench_count(0, argv, 2, "SIM_SEEDS", 2000));
        test_policy(500);
        test_log(500, 100, 100000);
    } else {
        fprintf(stderr, "usage: bench_sim steps [T [C]] | seeds [N] | policy [N] | log [N] | all\n");
        return 2;
    }
    return 0;
}
