/* A virtual clock for tests: time moves only when every task is blocked, and
 * then jumps straight to the next deadline (an autojump threshold of 0). No
 * test reads the wall clock; runs under it assert exact virtual times. */
#ifndef CTRIO_TEST_VCLOCK_H
#define CTRIO_TEST_VCLOCK_H

#include "ctrio.h"

/* The clock's state: clock_ctx of a run points at one of these. */
typedef struct tr_test_vclock {
    tr_time now; /* the virtual time the run reads */
} tr_test_vclock;

/* now returns ctx->now; deadline_to_sleep_time jumps now to a finite deadline
 * in the future and always returns 0; hang_is_error returns true, so a run
 * that can never progress ends with TR_EDEADLOCK instead of hanging. */
extern const tr_clock tr_test_vclock_vtable;

/* tr_run(fn, arg) on a fresh virtual clock starting at 0, quiet = false.
 * Stores the virtual time at the end of the run in *end_time (if not NULL).
 * Returns tr_run's result. */
int tr_test_run(tr_task_fn fn, void *arg, tr_time *end_time);

/* As tr_test_run, with the other options taken from *opts (NULL: all zero)
 * and the clock starting at start. opts->clock and clock_ctx are ignored. */
int tr_test_run_opts(tr_task_fn fn, void *arg, const tr_run_opts *opts, tr_time start,
                     tr_time *end_time);

#endif
