/* Cancellation injection: the simulator's cancel-point hook. Reproducing
 * cancellation bugs is the first use case, so any blocking call may be the
 * one where a timeout fires: the hook cancels one of the task's enclosing
 * scopes (never the run's root), as a deadline there would have. */
#include "internal.h"
#include "sim_internal.h"

/* The n-th enclosing scope of t that is not cancelled yet, innermost first,
 * below the root; or the count of them when n is SIZE_MAX. */
static tr__scope *nth_scope(tr__run *r, tr_task *t, size_t n, size_t *count) {
    size_t i = 0;
    for (tr__scope *s = t->scope; s && s != &r->root.scope; s = s->parent) {
        if (s->cancel_called) continue;
        if (i++ == n) return s;
    }
    *count = i;
    return NULL;
}

static void hash_fault(tr__sim *s, const tr_task *t, size_t which) {
    if (s->no_record) return;
    uint64_t w[3] = {0x6661756c74 /* "fault" */, tr_task_id(t), which};
    XXH64_update(&s->hash, w, sizeof w);
}

static void cancel_point(void *ctx, tr_task *t) {
    tr__sim *s = ctx;
    tr__run *r = t->run;
    bool inject;
    s->cancel_points++;
    if (s->cancel_at) inject = s->cancel_points == s->cancel_at;
    else inject = s->cancel_rate > 0 &&
                  tr__dlog_next(&s->log, TR__STREAM_FAULT, 1u << 24) <
                      (uint32_t)(s->cancel_rate * (double)(1u << 24));
    if (!inject) return;
    size_t n = 0, which = 0;
    nth_scope(r, t, SIZE_MAX, &n);
    if (n == 0) return;
    if (!s->cancel_at) which = tr__dlog_next(&s->log, TR__STREAM_FAULT, (uint32_t)n);
    tr__scope *victim = nth_scope(r, t, which, &n);
    s->faults++;
    hash_fault(s, t, which);
    tr__trace_fault(s->trace, t);
    tr__scope_cancel(r, victim);
}

/* Timer jitter: a sleep wakes 0..timer_jitter ns late, from the "timers"
 * stream. */
static tr_time sleep_jitter(void *ctx, tr_task *t, tr_time when) {
    tr__sim *s = ctx;
    (void)t;
    return tr_time_add(when, tr__dlog_next(&s->log, TR__STREAM_TIMERS, (uint32_t)s->timer_jitter + 1));
}

/* Called from the clock's start hook, when the run exists. The cancel-point
 * hook is always on: the count of cancel points is what a cancellation sweep
 * iterates over. */
void tr__sim_install_hooks(tr__sim *s) {
    if (s->timer_jitter > 0) {
        tr__current_run->sleep_hook = sleep_jitter;
        tr__current_run->sleep_hook_ctx = s;
    }
    tr__set_cancel_hook(tr__current_run, cancel_point, s);
}
