/* ctrio autojump: the mock clock (Trio's trio.testing.MockClock), in C.
 *
 * A virtual clock for tests. Its time moves only when told to:
 *   - by tr_mock_clock_jump (a manual jump forward),
 *   - at a rate of virtual seconds per real second (tr_mock_clock_set_rate;
 *     0 by default: virtual time stands still in real time),
 *   - by autojump (tr_mock_clock_set_autojump_threshold): when no task of the
 *     run has been runnable for the threshold of real time, the run loop
 *     jumps virtual time exactly to the next deadline. With a threshold of 0
 *     a test that sleeps an hour ends at exactly 3600 s, in microseconds.
 *
 * Plug it into a run in one line:
 *
 *     tr_mock_clock *mc;
 *     if (tr_mock_clock_new(&mc) < 0) ...;
 *     tr_mock_clock_set_autojump_threshold(mc, 0);
 *     tr_run_opts o = {TR_MOCK_CLOCK_OPTS(mc)};    (or tr_mock_clock_opts(mc, &o))
 *     int rc = tr_run(fn, arg, &o);
 *     ... tr_mock_clock_now(mc) is the virtual time the run ended at ...
 *     tr_mock_clock_free(mc);
 *
 * Threads: a mock clock belongs to one thread, the one that runs the run it
 * is plugged into; its calls are neither checkpoints nor task only (they may
 * be made before, during and after a run). A clock may serve several runs one
 * after the other; its time carries over. */
#ifndef CTRIO_AUTOJUMP_H
#define CTRIO_AUTOJUMP_H

#include <ctrio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Opaque; created by tr_mock_clock_new, freed by tr_mock_clock_free. */
typedef struct tr_mock_clock tr_mock_clock;

/* The clock seam of a mock clock: use as tr_run_opts.clock with the
 * tr_mock_clock as clock_ctx. Its hang_is_error is true while autojump is on
 * (threshold != TR_INF): a run that can never progress then ends with
 * TR_EDEADLOCK and a task dump instead of hanging. */
TR_API extern const tr_clock tr_mock_clock_vtable;

/* Designated initialisers for tr_run_opts: {TR_MOCK_CLOCK_OPTS(mc), .quiet = true}. */
#define TR_MOCK_CLOCK_OPTS(mc) .clock = &tr_mock_clock_vtable, .clock_ctx = (mc)

/* Point opts at the mock clock (other fields untouched); returns opts. */
static inline tr_run_opts *tr_mock_clock_opts(tr_mock_clock *mc, tr_run_opts *opts) {
    opts->clock = &tr_mock_clock_vtable;
    opts->clock_ctx = mc;
    return opts;
}

/* A new clock at virtual time 0, rate 0, autojump off (threshold TR_INF),
 * jump log off. Stores it in *clock_out. 0, -EINVAL (clock_out NULL),
 * -ENOMEM. The caller frees it with tr_mock_clock_free, after the last run
 * that uses it has returned. */
TR_API TR_NODISCARD int tr_mock_clock_new(tr_mock_clock **clock_out);
/* Free a clock (NULL: nothing). */
TR_API void tr_mock_clock_free(tr_mock_clock *mc);

/* The clock's virtual time now, exact in nanoseconds (equal to what
 * tr_current_time returns in a run on this clock). */
TR_API tr_time tr_mock_clock_now(const tr_mock_clock *mc);

/* Virtual seconds that pass per real second: 0 (the default) stops time
 * between jumps, 1 follows real time, 2 runs twice as fast. The virtual time
 * does not move when the rate changes. 0, or -EINVAL for a negative or NaN
 * rate (nothing changes). */
TR_API int tr_mock_clock_set_rate(tr_mock_clock *mc, double rate);
TR_API double tr_mock_clock_rate(const tr_mock_clock *mc);

/* Move virtual time forward by d. Tasks whose deadlines are now due wake at
 * the run loop's next pass (right after the calling task's next schedule
 * point). 0, or -EINVAL for d < 0 (time unchanged). Saturates at TR_INF.
 * Logged with the cause "tr_mock_clock_jump". */
TR_API int tr_mock_clock_jump(tr_mock_clock *mc, tr_duration d);

/* The real time the run must stay idle (no runnable task) before virtual
 * time jumps to the next deadline: TR_INF (the default) never, 0 at once.
 * The loop reads it each time it goes idle, so a change made by a task
 * applies to the very next idle period. Idle waiters
 * (tr_wait_all_tasks_blocked) take precedence over autojump, as in Trio.
 * 0, or -EINVAL for t < 0 (nothing changes). */
TR_API int tr_mock_clock_set_autojump_threshold(tr_mock_clock *mc, tr_duration t);
TR_API tr_duration tr_mock_clock_autojump_threshold(const tr_mock_clock *mc);

/* ---- the jump log ------------------------------------------------------ */

/* One jump of virtual time, as the log sees it. */
typedef struct tr_mock_clock_jump_info {
    uint64_t index;    /* 1 for the clock's first jump, then sequential */
    tr_time from;      /* virtual time before the jump */
    tr_time to;        /* virtual time after it */
    bool autojump;     /* true: the run loop jumped; false: tr_mock_clock_jump */
    const char *cause; /* whose deadline (a task's name, "cancel scope"), or
                          "tr_mock_clock_jump"; valid during the call only */
} tr_mock_clock_jump_info;

/* Called once per jump (autojump or manual), after the time moved. */
typedef void (*tr_mock_clock_log_fn)(void *ctx, const tr_mock_clock_jump_info *jump);

/* Log every jump as one line on f ("ctrio: mock clock: jump #3 +3600.000000000 s
 * 0.000000000 -> 3600.000000000 s: autojump to the deadline of 'sleeper'"),
 * NULL: off (the default). f must stay open while the log is on. */
TR_API void tr_mock_clock_set_log(tr_mock_clock *mc, FILE *f);
/* Call fn(ctx, jump) for every jump instead (fn NULL: off). Replaces a FILE
 * log, and the other way round. */
TR_API void tr_mock_clock_set_log_fn(tr_mock_clock *mc, tr_mock_clock_log_fn fn, void *ctx);
/* How many jumps (autojumps and manual jumps that moved time) so far. */
TR_API uint64_t tr_mock_clock_jumps(const tr_mock_clock *mc);

#ifdef __cplusplus
}
#endif

#endif /* CTRIO_AUTOJUMP_H */
