/* The clock every example runs on, and the one helper that starts a run.
 *
 * By default an example runs on the real system clock (tr_run(fn, arg,
 * NULL)), so you see and feel its sleeps. With CTRIO_VIRTUAL_TIME=1 in the
 * environment it runs on ctrio's mock clock (ctrio/autojump.h) with autojump
 * at once: time stands still while any task can run, and when every task is
 * blocked it jumps straight to the earliest deadline. A run that sleeps for
 * 6 s then takes a few microseconds, prints exactly what it prints on the
 * real clock, and ends with the line `[virtual time: 6.000 s]`. The tests
 * (CMakeLists.txt) run every example this way. */
#ifndef CTRIO_EXAMPLES_VIRTUAL_CLOCK_H
#define CTRIO_EXAMPLES_VIRTUAL_CLOCK_H

#include <ctrio.h>
#include <ctrio/autojump.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The run's mock clock, while CTRIO_VIRTUAL_TIME=1 runs one. */
static tr_mock_clock *example_clock;

/* True when CTRIO_VIRTUAL_TIME=1 is set. */
static inline bool example_virtual_time(void) {
    const char *v = getenv("CTRIO_VIRTUAL_TIME");
    return v && strcmp(v, "1") == 0;
}

/* tr_run on the system clock, or with CTRIO_VIRTUAL_TIME=1 on ctrio's mock
 * clock with autojump at once: virtual time jumps to the next deadline as
 * soon as every task waits, so the example finishes instantly and ends at an
 * exact virtual time, which it prints. */
static inline int example_run(tr_task_fn fn, void *arg) {
    /* Line-buffered stdout, so that the examples' output and a failure
     * report on stderr come out in the order they happened, even in a pipe. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!example_virtual_time()) return tr_run(fn, arg, NULL);
    int rc = tr_mock_clock_new(&example_clock);
    if (rc < 0) return rc;
    (void)tr_mock_clock_set_autojump_threshold(example_clock, 0);
    tr_run_opts opts = {TR_MOCK_CLOCK_OPTS(example_clock)};
    rc = tr_run(fn, arg, &opts);
    printf("[virtual time: %.3f s]\n", (double)tr_mock_clock_now(example_clock) / 1e9);
    tr_mock_clock_free(example_clock);
    example_clock = NULL;
    return rc;
}

/* Only for the example about blocking the whole thread by mistake
 * (tutorial_blocking_sleep.c): make d pass on the virtual clock without
 * giving the loop a chance to run anything, as a real blocking call does on
 * the real clock. Not something a ctrio program ever does otherwise. */
static inline void example_vclock_burn(tr_duration d) {
    (void)tr_mock_clock_jump(example_clock, d);
}

#endif
