/* See vclock.h. */
#include "vclock.h"

static tr_time vclock_now(void *ctx) {
    return ((tr_test_vclock *)ctx)->now;
}

static tr_duration vclock_deadline_to_sleep_time(void *ctx, tr_time deadline) {
    tr_test_vclock *c = ctx;
    if (deadline == TR_INF) return TR_INF; /* nothing to jump to: wait for I/O */
    if (deadline > c->now) c->now = deadline;
    return 0;
}

static bool vclock_hang_is_error(void *ctx) {
    (void)ctx;
    return true;
}

const tr_clock tr_test_vclock_vtable = {
    .start = NULL,
    .now = vclock_now,
    .deadline_to_sleep_time = vclock_deadline_to_sleep_time,
    .hang_is_error = vclock_hang_is_error,
};

int tr_test_run_opts(tr_task_fn fn, void *arg, const tr_run_opts *opts, tr_time start,
                     tr_time *end_time) {
    tr_test_vclock clock = {.now = start};
    tr_run_opts o = {0};
    if (opts) o = *opts;
    o.clock = &tr_test_vclock_vtable;
    o.clock_ctx = &clock;
    int rc = tr_run(fn, arg, &o);
    if (end_time) *end_time = clock.now;
    return rc;
}

int tr_test_run(tr_task_fn fn, void *arg, tr_time *end_time) {
    return tr_test_run_opts(fn, arg, NULL, 0, end_time);
}
