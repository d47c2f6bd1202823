/* Scheduling: the run queue, parking and waking, and the checkpoints.
 *
 * Runnable tasks run in batches (Trio's model): a batch holds every task that
 * was runnable when it started, in the order the policy chose; a task made
 * runnable meanwhile waits for the next batch. Within a batch a task that
 * yields switches straight to the next task of the batch, without a trip
 * through the scheduler: one context switch per yield. */
#include "internal.h"

#include <stdio.h>

int tr__queue_grow(tr__run *r, size_t tasks) {
    size_t cap = r->queue_cap ? r->queue_cap : 16;
    while (cap < tasks) cap *= 2;
    tr_task **q = tr__realloc(r, r->runq, cap * sizeof *q);
    if (!q) return -ENOMEM;
    r->runq = q;
    tr_task **b = tr__realloc(r, r->batch, cap * sizeof *b);
    if (!b) return -ENOMEM;
    r->batch = b;
    r->queue_cap = cap;
    return 0;
}

void tr__stack_overflow(const tr_task *t) {
    fprintf(stderr, "ctrio: stack overflow in task '%s' (#%llu): its stack of %zu bytes "
                    "overflowed into a neighbour (detected by canary); give it a larger "
                    "stack_size_bytes\n",
            t->name, (unsigned long long)t->id, t->stack.size);
    abort();
}

/* Make the run queue the current batch, in the policy's order. */
void tr__start_batch(tr__run *r) {
    tr__swap_queues(r);
    if (r->policy && r->policy->order_batch && r->batch_len)
        r->policy->order_batch(r->policy_ctx, r->batch, r->batch_len);
    if (TR__UNLIKELY(r->killed)) r->batch_len = 0;
}



void tr__wake(tr__run *r, tr_task *t, int value) { tr__wake_as(r, t, value, false); }

/* Cancellation reached a blocked task: its abort function runs exactly once. */
void tr__try_abort(tr__run *r, tr_task *t) {
    tr_abort_fn fn = t->abort_fn;
    if (TR__UNLIKELY(r->killed) || t->state != TR__BLOCKED || !fn) return;
    t->abort_fn = NULL;
    if (fn(t->abort_ctx, t) == TR_ABORT_SUCCEEDED) tr__wake(r, t, -ECANCELED);
}

int tr__park(tr__run *r, tr_task *t, tr_abort_fn fn, void *ctx) {
    tr__park_prepare(r, t, fn, ctx);
    tr__prefetch_batch(r, 1); /* the one after the next, while the next runs */
    tr__switch_away(r, t);
    return t->wake_value;
}

tr_time tr__now(tr__run *r) { return r->clock->now(r->clock_ctx); }

/* ---- public: blocking and waking ------------------------------------- */

#undef tr_wait_task_rescheduled
TR__UNSITED(int, tr_wait_task_rescheduled, (tr_abort_fn abort_fn, void *ctx), (abort_fn, ctx))
int TR__AT(tr_wait_task_rescheduled)(tr_abort_fn abort_fn, void *ctx) {
    tr_task *t = tr__need_task("tr_wait_task_rescheduled");
    return tr__park(t->run, t, abort_fn, ctx);
}

void tr_reschedule(tr_task *task, int value) {
    TR__REQUIRE(task && task->state == TR__BLOCKED, "tr_reschedule",
                "task '%s' is not blocked", task ? task->name : "(null)");
    tr__wake(task->run, task, value);
}

/* ---- public: checkpoints --------------------------------------------- */

#undef tr_checkpoint
TR__UNSITED(int, tr_checkpoint, (void), ())
int TR__AT(tr_checkpoint)(void) {
    tr_task *t = tr__need_task("tr_checkpoint");
    return tr__checkpoint(t);
}

/* The library's halves of the inline fast paths (ctrio/hop.h). */

/* tr__checkpoint_begin when the run is not plain, or where the library
 * finishes the call itself. */
static __attribute__((noinline)) tr__hop checkpoint_begin_general(tr_task *t) {
    return tr__hop_begun(tr__hop_yield(t->run, t, TR__HOP_CANCEL_POINT), TR__HOP_CANCEL_POINT);
}

/* A checkpoint that found nothing else to run: its cancel point. */
static __attribute__((noinline)) tr__hop checkpoint_ran_on(tr_task *t) {
    return (tr__hop){.rc = tr__hop_answer(t, TR__HOP_CANCEL_POINT)};
}

/* The usual path makes no call but tail calls, so it saves no registers. */
tr__hop tr__checkpoint_begin(void) {
    tr__run *r = tr__need_run("tr_checkpoint"); /* (not t->run: see tr__fast_path_ok) */
    tr_task *t = r->current;
    if (!TR__HOP_BY_CALLER || !TR__LIKELY(r->plain)) return checkpoint_begin_general(t);
    tr__ctx *to = tr__yield_plan_as(r, t, true);
    if (TR__UNLIKELY(!to)) return checkpoint_ran_on(t);
    return (tr__hop){.from = &t->ctx, .to = to};
}

/* tr__hop_result: a task that exits frees itself (task_exit), so there is
 * nothing to reap. (Where contexts are tracked there is, but then the begin
 * calls never ask their callers to switch, and these are not called.) */
static inline __attribute__((always_inline)) int hop_end(void *from, int kind) {
    tr_task *t = from; /* (its context is its first member) */
#if TR__CTX_TRACKED
    return tr__hop_result(t, kind);
#else
    return tr__hop_answer(t, kind);
#endif
}

int tr__hop_end_cancel_point(void *from) { return hop_end(from, TR__HOP_CANCEL_POINT); }
int tr__hop_end_wake(void *from) { return hop_end(from, TR__HOP_WAKE_VALUE); }

#undef tr_checkpoint_if_cancelled
TR__UNSITED(int, tr_checkpoint_if_cancelled, (void), ())
int TR__AT(tr_checkpoint_if_cancelled)(void) {
    return tr__checkpoint_if_cancelled(tr__need_task("tr_checkpoint_if_cancelled"));
}

#undef tr_cancel_shielded_checkpoint
TR__UNSITED(int, tr_cancel_shielded_checkpoint, (void), ())
int TR__AT(tr_cancel_shielded_checkpoint)(void) {
    tr__yield(tr__need_task("tr_cancel_shielded_checkpoint"));
    return 0;
}

/* ---- public: sleeping ------------------------------------------------ */

static int sleep_abort(void *ctx, tr_task *t) {
    (void)ctx;
    tr__heap_remove(&t->run->heap, &t->sleep_timer);
    return TR_ABORT_SUCCEEDED;
}

static int forever_abort(void *ctx, tr_task *t) {
    (void)ctx;
    (void)t;
    return TR_ABORT_SUCCEEDED;
}

static int sleep_until(tr_task *t, tr_time when) {
    tr__run *r = t->run;
    if (when <= tr__now(r)) {
        return tr__checkpoint(t);
    }
    if (when == TR_INF) return tr__park(r, t, forever_abort, NULL); /* no deadline at all */
    if (TR__UNLIKELY(r->sleep_hook)) when = r->sleep_hook(r->sleep_hook_ctx, t, when);
    tr__heap_insert(r, &t->sleep_timer, when);
    return tr__park(r, t, sleep_abort, NULL);
}

#undef tr_sleep_until
TR__UNSITED(int, tr_sleep_until, (tr_time when), (when))
int TR__AT(tr_sleep_until)(tr_time when) {
    return sleep_until(tr__need_task("tr_sleep_until"), when);
}

#undef tr_sleep
TR__UNSITED(int, tr_sleep, (tr_duration d), (d))
int TR__AT(tr_sleep)(tr_duration d) {
    tr_task *t = tr__need_task("tr_sleep");
    if (d < 0) return -EINVAL;
    if (d == 0) {
        return tr__checkpoint(t);
    }
    return sleep_until(t, tr_time_add(tr__now(t->run), d));
}

#undef tr_sleep_forever
TR__UNSITED(int, tr_sleep_forever, (void), ())
int TR__AT(tr_sleep_forever)(void) {
    tr_task *t = tr__need_task("tr_sleep_forever");
    return tr__park(t->run, t, forever_abort, NULL);
}

tr_time tr_current_time(void) { return tr__now(tr__need_run("tr_current_time")); }

void tr__checkpoint_counts(uint64_t *schedule_points, uint64_t *cancel_points) {
    tr__run *r = tr__current_run;
    tr_task *t = r ? r->current : NULL;
    *schedule_points = t ? t->schedule_points : 0;
    *cancel_points = t ? t->cancel_points : 0;
}
