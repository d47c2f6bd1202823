/* tr_run and the run loop: wait for I/O or the next deadline, fire due
 * timers, run one batch of runnable tasks; repeat until no task is left. */
#include "io.h"
#include "track.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

_Thread_local tr__run *tr__current_run TR__TLS_MODEL;
_Thread_local const tr__site *tr__site_at TR__TLS_MODEL;

/* ---- misuse ------------------------------------------------------------ */

void tr__misuse(const char *call, const char *fmt, ...) {
    tr__run *r = tr__current_run;
    tr_task *t = r ? r->current : NULL;
    va_list ap;
    fprintf(stderr, "ctrio: misuse in %s", call);
    if (t) fprintf(stderr, " by task '%s' (#%llu)", t->name, (unsigned long long)t->id);
    else if (!r) fprintf(stderr, " outside tr_run");
    const tr__site *site = tr__site_at; /* (recorded for this call, or for an earlier one) */
    if (site && site->call && !strcmp(site->call, call))
        fprintf(stderr, " at %s:%d", site->file, site->line);
    fprintf(stderr, ": ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    fflush(stderr);
    abort();
}

void tr__outside_task(const char *call) {
    tr__misuse(call, "must be called from a task inside tr_run");
}

/* ---- memory ------------------------------------------------------------ */

static void *libc_alloc(void *ctx, void *p, size_t size) {
    (void)ctx;
    if (size == 0) {
        free(p);
        return NULL;
    }
    return realloc(p, size);
}

void *tr__realloc(tr__run *r, void *p, size_t size) { return r->alloc(r->alloc_ctx, p, size); }
void *tr__alloc(tr__run *r, size_t size) { return r->alloc(r->alloc_ctx, NULL, size); }
void tr__free(tr__run *r, void *p) {
    if (p) r->alloc(r->alloc_ctx, p, 0);
}

/* ---- the loop ---------------------------------------------------------- */

/* Asks for the lines of the task whose sleep ends next, if that is what
 * the earliest timer is, so that they are in cache when it fires: with many
 * sleepers, a woken task is one nobody touched since it went to sleep.
 * Reading the timer's kind first would wait for the very line this asks
 * for, so the addresses are computed as integers: for a scope's timer they
 * point at no task, which a prefetch tolerates (it never faults), and no
 * pointer outside an object is formed. */
static void prefetch_next_sleeper(const tr__heap *h) {
    if (!h->len) return;
    const tr__timer *m = h->items[0].timer;
    __builtin_prefetch(m, 1);
    tr__prefetch_resume_at((uintptr_t)m - offsetof(tr_task, sleep_timer));
}

/* Fires every due deadline; returns whether any fired. */
static bool fire_timers(tr__run *r) {
    tr_time now = tr__now(r);
    tr__timer *m;
    bool fired = false;
    while ((m = tr__heap_pop_due(&r->heap, now))) {
        prefetch_next_sleeper(&r->heap);
        if (m->kind == TR__TIMER_SLEEP) tr__wake(r, TR__CONTAINER_OF(m, tr_task, sleep_timer), 0);
        else tr__scope_timer_fired(r, m);
        fired = true;
    }
    return fired;
}

/* Nothing can ever run again: report, then cancel everything so tasks can
 * unwind; the run ends with TR_EDEADLOCK. */
static void declare_hang(tr__run *r) {
    FILE *f = r->opts && r->opts->report ? r->opts->report : stderr;
    r->hang = true;
    if (!(r->opts && r->opts->quiet)) {
        fprintf(f, "ctrio: deadlock: no task can ever run again (no runnable task, no "
                   "deadline, no I/O, no clock hold); cancelling every task\n");
        tr__dump_tasks(r, f);
    }
    tr__scope_cancel(r, &r->root.scope);
}

/* The backend is asked last but one: the system clock has no
 * hang_is_error, and this runs before every blocking wait. */
static bool is_hang(tr__run *r, const tr__timer *next) {
    return !next && !r->idle_first && !r->clock_holds && r->clock->hang_is_error &&
           r->io->idle(r->io_ctx) && r->clock->hang_is_error(r->clock_ctx);
}

static tr_duration autojump_threshold(tr__run *r, const tr__timer *next) {
    const tr_clock *c = r->clock;
    if (!next || r->clock_holds || !c->autojump_threshold || !c->autojump) return TR_INF;
    tr_duration t = c->autojump_threshold(r->clock_ctx);
    return t < 0 ? 0 : t;
}

/* What a deadline belongs to, for the clock's jump log. */
static const char *deadline_cause(const tr__timer *m) {
    if (m->kind == TR__TIMER_SLEEP) return TR__CONTAINER_OF(m, tr_task, sleep_timer)->name;
    const tr__scope *s = TR__CONTAINER_OF(m, tr__scope, timer);
    return s->owner ? s->owner->name : "cancel scope";
}

enum idle_action { IDLE_NONE, IDLE_WAKE_WAITERS, IDLE_AUTOJUMP };

/* How long to wait, as Trio's loop decides: until the next deadline (on the
 * clock's terms); with idle waiters, at most the smallest cushion (and no
 * autojump while anyone waits); otherwise at most the autojump threshold. */
static tr_duration idle_timeout(tr__run *r, const tr__timer *next, enum idle_action *action) {
    tr_duration t = r->clock->deadline_to_sleep_time(r->clock_ctx, next ? next->deadline : TR_INF);
    if (t < 0) t = 0;
    *action = IDLE_NONE;
    if (r->idle_first) {
        tr_duration cushion = tr__idle_cushion(r);
        if (cushion < t) {
            t = cushion;
            *action = IDLE_WAKE_WAITERS;
        }
    } else {
        tr_duration jump = autojump_threshold(r, next);
        if (jump < t) {
            t = jump;
            *action = IDLE_AUTOJUMP;
        }
    }
    return t;
}

/* A blocking wait must be interruptible by other threads and by the
 * signals the run handles: they write the wake-up fd, created here on the
 * first blocking wait of such a run. Returns whether the loop may block. */
static bool prepare_to_block(tr__run *r) {
    if (TR__UNLIKELY(r->sig_owner)) {
        if (!r->entries) (void)tr__entries_open(r); /* publishes the fd to the handler */
        /* A signal that came before the fd existed woke nobody: look now,
         * with a sequentially consistent load (the handler sets the flag,
         * then reads the fd: one of the two sides must see the other's
         * store, on every CPU). Once per blocking wait: no hot path. */
        if (atomic_load(&tr__signals_seen)) tr__signals_act(r);
        if (r->runq_len) return false;
    }
    return !r->entries || tr__entries_sleep(r);
}

/* One wait on the I/O backend (0: a quick check), then what arrived from
 * outside the run: callbacks of other threads, signals. Inline: a frame
 * live across the kernel wait costs a mispredicted return after it. */
static inline __attribute__((always_inline)) void io_wait(tr__run *r, tr_duration timeout) {
    if (TR__UNLIKELY(r->instruments)) tr__instrument_io(r, TR__HOOK_before_io_wait, timeout);
    bool blocking = timeout > 0 && prepare_to_block(r);
    if (blocking || !r->io->idle(r->io_ctx)) r->io->wait(r->io_ctx, blocking ? timeout : 0);
    if (blocking && r->entries) tr__entries_awake(r);
    if (r->entries && tr__entries_pending(r)) tr__entries_run(r);
    if (TR__UNLIKELY(r->sig_owner)) tr__signals_check(r);
    tr__io_update_idle(r);
    if (TR__UNLIKELY(r->instruments)) tr__instrument_io(r, TR__HOOK_after_io_wait, timeout);
}

static void wait_for_events(tr__run *r) {
    if (r->runq_len) {
        if (!atomic_load_explicit(&r->io_idle, memory_order_relaxed)) io_wait(r, 0);
        if (!tr__heap_empty(&r->heap)) fire_timers(r);
        return;
    }
    tr__timer *next = tr__heap_min(&r->heap);
    if (is_hang(r, next)) {
        if (!r->hang) declare_hang(r);
        if (r->runq_len) return;
        /* Cancellation could not reach them (a shield, an abort that
         * refused): stop running tasks at all; the run still ends, with
         * TR_EDEADLOCK, and frees everything it owns. */
        tr__run_kill(r, TR_EDEADLOCK);
        return;
    }
    enum idle_action action;
    io_wait(r, idle_timeout(r, next, &action));
    if (!tr__heap_empty(&r->heap) && fire_timers(r)) action = IDLE_NONE;
    if (r->runq_len || action == IDLE_NONE) return;
    if (action == IDLE_WAKE_WAITERS) {
        tr__idle_wake(r);
    } else {
        next = tr__heap_min(&r->heap);
        if (!next) return;
        r->clock->autojump(r->clock_ctx, next->deadline, deadline_cause(next));
        /* Virtual time is at the deadline now: fire what is due in this
         * pass rather than in a second one, unless the I/O side must be
         * looked at first (fd waiters, callbacks from other threads). */
        if (atomic_load_explicit(&r->io_idle, memory_order_relaxed)) fire_timers(r);
    }
}

static void run_batch(tr__run *r) {
    tr__start_batch(r);
    while (r->batch_pos < r->batch_len) {
        tr_task *t = r->batch[r->batch_pos++];
        tr__prefetch_batch(r, 0); /* the next one, while t runs */
        t->state = TR__RUNNING;
        r->current = t;
        if (TR__UNLIKELY(r->instruments)) tr__instrument_switch(r, NULL, t);
        tr__ctx_switch(&r->sched_ctx, &t->ctx);
        tr__reap(r);
    }
    r->current = NULL;
}

static void loop(tr__run *r) {
    while (r->live_tasks > 0 && !r->killed) {
        wait_for_events(r);
        run_batch(r);
    }
}

/* ---- tr_run ------------------------------------------------------------ */

static size_t default_stack(void) {
#if defined(__SANITIZE_ADDRESS__)
    return 4 * TR_DEFAULT_STACK_SIZE;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return 4 * TR_DEFAULT_STACK_SIZE;
#else
    return TR_DEFAULT_STACK_SIZE;
#endif
#else
    return TR_DEFAULT_STACK_SIZE;
#endif
}

static tr__run *run_new(const tr_run_opts *o) {
    tr_alloc_fn alloc = o && o->alloc ? o->alloc : libc_alloc;
    void *actx = o && o->alloc ? o->alloc_ctx : NULL;
    tr__run *r = alloc(actx, NULL, sizeof *r);
    if (!r) return NULL;
    *r = (tr__run){.alloc = alloc, .alloc_ctx = actx, .opts = o, .next_id = 1, .cancel_gen = 1};
    r->clock = o && o->clock ? o->clock : &tr_system_clock;
    r->clock_ctx = o && o->clock ? o->clock_ctx : NULL;
    r->policy = o ? o->policy : NULL;
    r->policy_ctx = o ? o->policy_ctx : NULL;
    tr__run_update_plain(r);
    r->io = &tr__io_os;
    r->io_ctx = r;
    atomic_init(&r->io_idle, true);
    r->fpenv = tr__ctx_fpenv();
    r->track_stacks = TR__TRACK_STACKS_WANTED();
    r->stack_size = tr__stack_round(o && o->stack_size_bytes ? o->stack_size_bytes : default_stack());
    tr__nursery_init_root(r, &r->root);
    return r;
}

static void run_free(tr__run *r) {
    tr__task_spares_free(r);
    tr__signals_stop(r);
    tr__entries_close(r);
    tr__io_free(r);
    tr__instruments_free(r);
    tr__records_free(r, r->root.failures);
    tr__free_all_owned(r);
    tr__heap_free(r);
    tr__free(r, r->runq);
    tr__free(r, r->batch);
    tr__free(r, r);
}

static int run_result(const tr__run *r) {
    if (r->forced_rc) return r->forced_rc;
    if (r->hang) return TR_EDEADLOCK;
    if (r->interrupted) return -EINTR;
    if (r->main_rc < 0 && r->main_rc != -ECANCELED) return r->main_rc;
    if (r->root.first_error) return r->root.first_error;
    return r->main_rc;
}

int tr_run(tr_task_fn main_fn, void *arg, const tr_run_opts *opts) {
    TR__REQUIRE(!tr__current_run, "tr_run", "tr_run may not be nested");
    if (!main_fn) return -EINVAL;
    tr__run *r = run_new(opts);
    if (!r) return -ENOMEM;
    int rc = tr__instruments_init(r, opts);
    if (rc < 0) {
        run_free(r);
        return rc;
    }
    const char *name = opts && opts->main_name ? opts->main_name : "main";
    tr__current_run = r;
    if (TR__UNLIKELY(r->instruments)) tr__instrument_run(r, TR__HOOK_before_run);
    /* As in Trio, instruments see the run start before main is spawned. */
    r->main = tr__task_spawn(r, &r->root, main_fn, arg, &(tr_spawn_opts){.name = name}, &rc);
    if (!r->main) {
        if (TR__UNLIKELY(r->instruments)) tr__instrument_run(r, TR__HOOK_after_run);
        tr__current_run = NULL;
        run_free(r);
        return rc;
    }
    if (r->clock->start) r->clock->start(r->clock_ctx);
    tr__signals_start(r);
    loop(r);
    if (r->killed) tr__free_remaining_tasks(r);
    if (TR__UNLIKELY(r->instruments)) tr__instrument_run(r, TR__HOOK_after_run);
    tr__signals_stop(r);
    tr__current_run = NULL;
    rc = run_result(r);
    if (r->interrupted && !(opts && opts->quiet))
        fprintf(opts && opts->report ? opts->report : stderr,
                "ctrio: interrupted by SIGINT: every task was cancelled; tr_run returns "
                "-EINTR\n");
    if (rc < 0 && rc != -ECANCELED && !(opts && opts->quiet))
        tr__report_print(opts && opts->report ? opts->report : stderr, rc, r->root.failures,
                         r->root.lost);
    run_free(r);
    tr__stack_trim();
    return rc;
}
