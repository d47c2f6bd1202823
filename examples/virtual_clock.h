/* The clock every example runs on, and the one helper that starts a run.
 *
 * By default an example runs on the real system clock (tr_run(fn, arg,
 * NULL)), so you see and feel its sleeps. With CTRIO_VIRTUAL_TIME=1 in the
 * environment it runs on the tiny virtual clock below instead: time stands
 * still while any task can run, and when every task is blocked it jumps
 * straight to the earliest deadline. A run that sleeps for 6 s then takes
 * a few microseconds, prints exactly what it prints on the real clock, and
 * ends with the line `[virtual time: 6.000 s]`. The tests (CMakeLists.txt)
 * run every example this way.
 *
 * Header-only on purpose: each example is one C file plus this header. It is
 * a cut-down version of what the autojump component will offer. */
#ifndef CTRIO_EXAMPLES_VIRTUAL_CLOCK_H
#define CTRIO_EXAMPLES_VIRTUAL_CLOCK_H

#include <ctrio.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The virtual clock's whole state: the time the run reads. One run per
 * process, so one static variable per example is enough. */
static tr_time example_vclock_now_ns;

static inline tr_time example_vclock_now(void *ctx) {
    (void)ctx;
    return example_vclock_now_ns;
}

/* Every task is blocked and the earliest deadline is `deadline`: jump there
 * and tell the loop not to wait in real time at all. */
static inline tr_duration example_vclock_deadline_to_sleep_time(void *ctx, tr_time deadline) {
    (void)ctx;
    if (deadline == TR_INF) return TR_INF; /* nothing to jump to: wait for I/O */
    if (deadline > example_vclock_now_ns) example_vclock_now_ns = deadline;
    return 0;
}

/* Nothing can ever run again and no deadline is left: on a virtual clock
 * that is a bug (a deadlock), not a reason to wait forever. */
static inline bool example_vclock_hang_is_error(void *ctx) {
    (void)ctx;
    return true;
}

static const tr_clock example_vclock = {
    .start = NULL,
    .now = example_vclock_now,
    .deadline_to_sleep_time = example_vclock_deadline_to_sleep_time,
    .hang_is_error = example_vclock_hang_is_error,
};

/* True when CTRIO_VIRTUAL_TIME=1 is set. */
static inline bool example_virtual_time(void) {
    const char *v = getenv("CTRIO_VIRTUAL_TIME");
    return v && strcmp(v, "1") == 0;
}

/* The one line every example's main uses instead of tr_run(fn, arg, NULL):
 * runs fn(arg) on the system clock, or on the virtual clock when
 * CTRIO_VIRTUAL_TIME=1 (and then prints the virtual time the run ended at).
 * Returns tr_run's result. If the run fails, tr_run has already printed its
 * failure report (one block per failed task) on stderr. */
static inline int example_run(tr_task_fn fn, void *arg) {
    /* Line-buffered stdout, so that the examples' output and a failure
     * report on stderr come out in the order they happened, even in a pipe. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!example_virtual_time()) return tr_run(fn, arg, NULL);

    example_vclock_now_ns = 0;
    tr_run_opts opts = {.clock = &example_vclock};
    int rc = tr_run(fn, arg, &opts);
    printf("[virtual time: %.3f s]\n", (double)example_vclock_now_ns / 1e9);
    return rc;
}

/* Only for the example about blocking the whole thread by mistake
 * (tutorial_blocking_sleep.c): make d pass on the virtual clock without
 * giving the loop a chance to run anything, as a real blocking call does on
 * the real clock. Not something a ctrio program ever does otherwise. */
static inline void example_vclock_burn(tr_duration d) {
    example_vclock_now_ns = tr_time_add(example_vclock_now_ns, d);
}

#endif
