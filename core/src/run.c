/* tr_run and the run loop: wait for I/O or the next deadline, fire due
 * timers, run one batch of runnable tasks; repeat until no task is left. */
#include "internal.h"
#include "track.h"

#include <stdarg.h>
#include <stdio.h>

_Thread_local tr__run *tr__current_run;
_Thread_local const char *tr__site_file;
_Thread_local int tr__site_line;

/* ---- misuse ------------------------------------------------------------ */

void tr__misuse(const char *call, const char *fmt, ...) {
    tr__run *r = tr__current_run;
    tr_task *t = r ? r->current : NULL;
    va_list ap;
    fprintf(stderr, "ctrio: misuse in %s", call);
    if (t) fprintf(stderr, " by task '%s' (#%llu)", t->name, (unsigned long long)t->id);
    else if (!r) fprintf(stderr, " outside tr_run");
    if (tr__site_file) fprintf(stderr, " near %s:%d", tr__site_file, tr__site_line);
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

static void fire_timers(tr__run *r) {
    tr_time now = tr__now(r);
    tr__timer *m;
    while ((m = tr__heap_min(&r->heap)) && m->deadline <= now) {
        tr__heap_remove(&r->heap, m);
        if (m->kind == TR__TIMER_SLEEP) tr__wake(r, TR__CONTAINER_OF(m, tr_task, sleep_timer), 0);
        else tr__scope_timer_fired(r, m);
    }
}

/* Nothing can ever run again: report, then cancel everything so tasks can
 * unwind; the run ends with TR_EDEADLOCK. */
static void declare_hang(tr__run *r) {
    FILE *f = r->opts && r->opts->report ? r->opts->report : stderr;
    r->hang = true;
    if (!(r->opts && r->opts->quiet)) {
        fprintf(f, "ctrio: deadlock: no task can ever run again (no runnable task, no "
                   "deadline, no I/O); cancelling every task\n");
        tr__dump_tasks(r, f);
    }
    tr__scope_cancel(r, &r->root.scope);
}

static void wait_for_events(tr__run *r) {
    if (r->runq_len == 0) {
        tr__timer *m = tr__heap_min(&r->heap);
        if (!m && r->io->idle(r->io_ctx) && r->clock->hang_is_error &&
            r->clock->hang_is_error(r->clock_ctx)) {
            if (!r->hang) declare_hang(r);
            if (r->runq_len) return;
            fprintf(stderr, "ctrio: deadlock persists after cancelling every task\n");
            abort();
        }
        tr_duration wait = r->clock->deadline_to_sleep_time(r->clock_ctx, m ? m->deadline : TR_INF);
        r->io->wait(r->io_ctx, wait);
    } else if (!r->io->idle(r->io_ctx)) {
        r->io->wait(r->io_ctx, 0);
    }
    if (!tr__heap_empty(&r->heap)) fire_timers(r);
}

static void run_batch(tr__run *r) {
    tr__start_batch(r);
    while (r->batch_pos < r->batch_len) {
        tr_task *t = r->batch[r->batch_pos++];
        t->state = TR__RUNNING;
        r->current = t;
        tr__ctx_switch(&r->sched_ctx, &t->ctx);
        tr__reap(r);
    }
    r->current = NULL;
}

static void loop(tr__run *r) {
    while (r->live_tasks > 0) {
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
    r->io = &tr__io_sleep;
    r->io_idle = true;
    r->fpenv = tr__ctx_fpenv();
    r->track_stacks = TR__TRACK_STACKS_WANTED();
    r->stack_size = tr__stack_round(o && o->stack_size_bytes ? o->stack_size_bytes : default_stack());
    tr__nursery_init_root(r, &r->root);
    return r;
}

static void run_free(tr__run *r) {
    tr__free_all_owned(r);
    tr__records_free(r, r->root.failures);
    tr__heap_free(r);
    tr__free(r, r->runq);
    tr__free(r, r->batch);
    tr__free(r, r);
}

static int run_result(const tr__run *r) {
    if (r->hang) return TR_EDEADLOCK;
    if (r->main_rc < 0 && r->main_rc != -ECANCELED) return r->main_rc;
    if (r->root.first_error) return r->root.first_error;
    return r->main_rc;
}

int tr_run(tr_task_fn main_fn, void *arg, const tr_run_opts *opts) {
    TR__REQUIRE(!tr__current_run, "tr_run", "tr_run may not be nested");
    if (!main_fn) return -EINVAL;
    tr__run *r = run_new(opts);
    if (!r) return -ENOMEM;
    int rc;
    const char *name = opts && opts->main_name ? opts->main_name : "main";
    tr_task *m = tr__task_new(r, main_fn, arg, &(tr_spawn_opts){.name = name}, &rc);
    if (!m) {
        run_free(r);
        return rc;
    }
    r->main = m;
    tr__task_launch(r, m, &r->root, &r->root.scope);
    if (r->clock->start) r->clock->start(r->clock_ctx);
    tr__current_run = r;
    loop(r);
    tr__current_run = NULL;
    rc = run_result(r);
    if (rc < 0 && rc != -ECANCELED && !(opts && opts->quiet))
        tr__report_print(opts && opts->report ? opts->report : stderr, rc, r->root.failures,
                         r->root.lost);
    run_free(r);
    tr__stack_trim();
    return rc;
}
