/* ctrio simulation: run a scenario under a seeded, fully reproducible
 * schedule on virtual time, and get back its result and a trace hash.
 *
 *     tr_sim_result r;
 *     tr_sim_run(scenario, arg, &(tr_sim_opts){.seed = 42, .policy = TR_SIM_RANDOM}, &r);
 *     // r.rc, r.trace_hash, r.steps, r.virtual_time, r.decisions
 *
 *     int main(int argc, char **argv) { return tr_sim_main(argc, argv, scenario, NULL); }
 *     // ./prog --seeds 10000 --jobs 2     ./prog --seed 0x2a --save run.log
 *
 * Every nondeterministic choice of a run (which runnable task steps next,
 * user choices) is read from one decision log with named sub-streams. A seed
 * generates the log (one small PRNG per stream, seeded from xxh64 of the
 * stream's name and the seed, so changing one stream leaves the others
 * alone); a saved log replays it exactly. Equal seeds give equal trace
 * hashes, in one process or two, in any order, on every build. */
#ifndef CTRIO_SIM_H
#define CTRIO_SIM_H

#include <ctrio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How runnable tasks are ordered. */
typedef enum tr_sim_policy {
    TR_SIM_RANDOM = 0, /* shuffle each batch (Trio's model, seeded) */
    TR_SIM_FIFO = 1,   /* no reordering: what production does */
    TR_SIM_PCT = 2,    /* random task priorities with pct_depth - 1 change points */
} tr_sim_policy;

/* Options; zero means "default" for every field. */
typedef struct tr_sim_opts {
    uint64_t seed;             /* the seed (0 is a seed like any other) */
    tr_sim_policy policy;      /* default TR_SIM_RANDOM */
    unsigned pct_depth;        /* PCT's bug depth d (default 3) */
    uint64_t max_steps;        /* task steps before TR_ESTEPLIMIT (default 1,000,000) */
    tr_duration max_time;      /* virtual time before TR_ETIMELIMIT (default 1 day) */
    const char *replay_file;   /* replay this saved decision log (then the seed) */
    const char *save_file;     /* save the run's decision log here */
    FILE *report;              /* where failure reports go (default: captured only) */
    /* Cancellation injection: at each cancel point (every blocking call),
     * with probability cancel_rate, cancel one of the task's enclosing scopes
     * (chosen from the "fault" stream). cancel_at = k > 0 instead cancels the
     * innermost enclosing scope at the k-th cancel point of the run (the
     * cancellation sweep's unit). The root scope is never chosen. */
    double cancel_rate;
    uint64_t cancel_at;
    /* Every sleep wakes up to this much later (0..timer_jitter ns, at most
     * ~4.29 s, from the "timers" stream): wake-ups that real machines delay,
     * and ties between equal deadlines broken differently. */
    tr_duration timer_jitter;
    /* Write a Chrome/Perfetto JSON trace of the run in virtual time (a track
     * per task, a slice per step; spawn, exit and fault instants; flow
     * arrows from parent to child) that opens in ui.perfetto.dev. */
    const char *trace_file;
    /* Print a compact text timeline of the run (spawns, steps, exits,
     * faults, in virtual time) here. */
    FILE *timeline;
    /* Neither record the decision log nor compute the trace hash (the
     * decisions are the same): only to measure what recording costs. */
    bool no_record;
    size_t stack_size_bytes;   /* per task (default: the core's) */
} tr_sim_opts;

/* What one run did. */
typedef struct tr_sim_result {
    int rc;                    /* the scenario's result (tr_run's) */
    uint64_t trace_hash;       /* xxh64 over every scheduling decision and its time */
    uint64_t steps;            /* task steps run */
    tr_time virtual_time;      /* virtual time at the end */
    uint64_t decisions;        /* decisions read from the log */
    bool replay_exhausted;     /* a replayed log ran out; the seed took over */
    uint64_t cancel_points;    /* cancel points passed (all tasks) */
    uint64_t faults;           /* cancellations injected */
    char report[4096];         /* the failure report, if any (truncated) */
} tr_sim_result;

/* Run scenario(arg) once under the simulator. Returns 0 when the run took
 * place (whatever the scenario returned: see out->rc), or -EINVAL (bad
 * options, or a replay file that is not a decision log), -ENOMEM, or the
 * negative errno of opening the replay, save or trace file (-ENOENT,
 * -EACCES, ...) or -EIO when writing one failed. When only the saving or
 * tracing failed, *out still holds the run's result. Not for use inside a
 * run. */
TR_API int tr_sim_run(tr_task_fn scenario, void *arg, const tr_sim_opts *opts,
                      tr_sim_result *out);

/* tr_sim_run with every decision taken from data[0..size) instead of the
 * seed: 4 bytes per decision, in the order the run makes them, zeros past
 * the end. For libFuzzer or AFL++: coverage then steers schedules, injected
 * faults and user choices (a fuzz target calls this from
 * LLVMFuzzerTestOneInput and aborts on a failure). With opts->save_file the
 * input becomes a saved log that --replay runs. Returns as tr_sim_run. */
TR_API int tr_sim_run_bytes(tr_task_fn scenario, void *arg, const uint8_t *data, size_t size,
                            const tr_sim_opts *opts, tr_sim_result *out);

/* A decision for user code, from the "user" stream: a number in [0, n)
 * (0 when n is 0), or true with probability p. Task only; not checkpoints.
 * Outside tr_sim_run they use a fixed PRNG, so code runs the same way in
 * production and tests. */
TR_API uint32_t tr_sim_choice(uint32_t n);
TR_API bool tr_sim_bool(double p);

/* The command line every simulation program gets: --seed S, --seeds N,
 * --start S, --jobs J, --policy fifo|random|pct[:D], --max-steps N,
 * --cancel-rate P, --cancel-at K, --sweep-cancel, --save FILE,
 * --replay FILE, --check-determinism, --keep-going, --quiet, --help.
 * Returns the process exit status: 0 when every run passed. */
TR_API int tr_sim_main(int argc, char **argv, tr_task_fn scenario, void *arg);

/* One fuzzer input: tr_sim_run_bytes, and on a failure the report goes to
 * stderr and the process aborts (what libFuzzer and AFL++ look for). */
TR_API int tr_sim_fuzz_one(tr_task_fn scenario, void *arg, const uint8_t *data, size_t size);

/* The program's entry point: main with the command line above, or, built
 * with -DCTRIO_FUZZ_TARGET (and clang's -fsanitize=fuzzer), libFuzzer's
 * LLVMFuzzerTestOneInput. */
#if defined(CTRIO_FUZZ_TARGET)
#define TR_SIM_MAIN(scenario, arg)                                                     \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);                      \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {                     \
        return tr_sim_fuzz_one((scenario), (arg), data, size);                         \
    }
#else
#define TR_SIM_MAIN(scenario, arg)                                                     \
    int main(int argc, char **argv) { return tr_sim_main(argc, argv, (scenario), (arg)); }
#endif

#ifdef __cplusplus
}
#endif
#endif /* CTRIO_SIM_H */
