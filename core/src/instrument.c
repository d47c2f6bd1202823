/* Instruments (trio.abc.Instrument): hooks the run calls at each event.
 *
 * run->instruments is NULL while none is installed, so every hook site in
 * the hot paths costs one predictable branch. Instruments may be added and
 * removed from inside a hook: removal during a dispatch leaves a hole that
 * is closed when the outermost dispatch ends. While any instrument is
 * installed the switch path goes through the scheduler between batches
 * (run->io_idle is false), so every batch shows its I/O check, as Trio's. */
#include "io.h"

#include <math.h>
#include <stdio.h>

struct tr__instruments {
    tr_instrument **items; /* installed, in order; NULL: removed during a dispatch */
    size_t len;            /* slots used */
    size_t cap;            /* slots allocated */
    size_t live;           /* non-NULL slots */
    unsigned depth;        /* dispatches in progress */
};

static void publish(tr__run *r) {
    r->instruments = r->instr_store && r->instr_store->live ? r->instr_store : NULL;
    tr__run_update_plain(r);
    tr__io_update_idle(r);
}

static void compact(struct tr__instruments *s) {
    size_t j = 0;
    for (size_t i = 0; i < s->len; i++)
        if (s->items[i]) s->items[j++] = s->items[i];
    s->len = j;
}

static int add(tr__run *r, tr_instrument *ins) {
    struct tr__instruments *s = r->instr_store;
    if (!s) {
        s = tr__alloc(r, sizeof *s);
        if (!s) return -ENOMEM;
        *s = (struct tr__instruments){0};
        r->instr_store = s;
    }
    for (size_t i = 0; i < s->len; i++)
        if (s->items[i] == ins) return -EALREADY;
    if (s->len == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 4;
        tr_instrument **it = tr__realloc(r, s->items, cap * sizeof *it);
        if (!it) return -ENOMEM;
        s->items = it;
        s->cap = cap;
    }
    s->items[s->len++] = ins;
    s->live++;
    publish(r);
    return 0;
}

int tr_add_instrument(tr_instrument *ins) {
    tr__run *r = tr__current_run;
    TR__REQUIRE(r, "tr_add_instrument", "must be called inside tr_run");
    if (!ins) return -EINVAL;
    return add(r, ins);
}

int tr_remove_instrument(tr_instrument *ins) {
    tr__run *r = tr__current_run;
    TR__REQUIRE(r, "tr_remove_instrument", "must be called inside tr_run");
    struct tr__instruments *s = r->instr_store;
    for (size_t i = 0; s && ins && i < s->len; i++) {
        if (s->items[i] != ins) continue;
        s->items[i] = NULL;
        s->live--;
        if (s->depth == 0) compact(s);
        publish(r);
        return 0;
    }
    return -EINVAL;
}

int tr__instruments_init(tr__run *r, const tr_run_opts *o) {
    for (size_t i = 0; o && o->instruments && i < o->n_instruments; i++) {
        int rc = add(r, o->instruments[i]);
        if (rc < 0 && rc != -EALREADY) return rc;
    }
    return 0;
}

void tr__instruments_free(tr__run *r) {
    if (!r->instr_store) return;
    tr__free(r, r->instr_store->items);
    tr__free(r, r->instr_store);
    r->instr_store = NULL;
    r->instruments = NULL;
    tr__run_update_plain(r);
}

/* ---- dispatch ------------------------------------------------------------ */

/* The arguments of one event; which field is used depends on the hook. */
typedef struct event {
    enum tr__hook hook;
    tr_task *task;
    tr_duration timeout;
} event;

static void call(const tr_instrument *in, const event *e) {
    switch (e->hook) {
    case TR__HOOK_before_run: if (in->before_run) in->before_run(in->ctx); break;
    case TR__HOOK_after_run: if (in->after_run) in->after_run(in->ctx); break;
    case TR__HOOK_task_spawned: if (in->task_spawned) in->task_spawned(in->ctx, e->task); break;
    case TR__HOOK_task_scheduled:
        if (in->task_scheduled) in->task_scheduled(in->ctx, e->task);
        break;
    case TR__HOOK_before_task_step:
        if (in->before_task_step) in->before_task_step(in->ctx, e->task);
        break;
    case TR__HOOK_after_task_step:
        if (in->after_task_step) in->after_task_step(in->ctx, e->task);
        break;
    case TR__HOOK_task_exited: if (in->task_exited) in->task_exited(in->ctx, e->task); break;
    case TR__HOOK_before_io_wait:
        if (in->before_io_wait) in->before_io_wait(in->ctx, e->timeout);
        break;
    case TR__HOOK_after_io_wait:
        if (in->after_io_wait) in->after_io_wait(in->ctx, e->timeout);
        break;
    }
}

static void dispatch(tr__run *r, const event *e) {
    struct tr__instruments *s = r->instr_store;
    if (!s) return;
    s->depth++;
    for (size_t i = 0; i < s->len; i++)
        if (s->items[i]) call(s->items[i], e);
    if (--s->depth == 0 && s->live != s->len) compact(s);
}

void tr__instrument_run(tr__run *r, enum tr__hook hook) { dispatch(r, &(event){.hook = hook}); }

void tr__instrument_task(tr__run *r, enum tr__hook hook, tr_task *t) {
    dispatch(r, &(event){.hook = hook, .task = t});
}

void tr__instrument_io(tr__run *r, enum tr__hook hook, tr_duration timeout) {
    dispatch(r, &(event){.hook = hook, .timeout = timeout});
}

void tr__instrument_switch(tr__run *r, tr_task *from, tr_task *to) {
    if (from) tr__instrument_task(r, TR__HOOK_after_task_step, from);
    if (to && r->instruments) tr__instrument_task(r, TR__HOOK_before_task_step, to);
}

/* ---- the tracer ----------------------------------------------------------- */

typedef struct tracer {
    FILE *f;          /* where to print */
    tr_time sleep_at; /* clock reading at before_io_wait */
} tracer;

static _Thread_local tracer the_tracer;
static _Thread_local tr_instrument the_tracer_ins;

static FILE *out(void *ctx) { return ((tracer *)ctx)->f; }

/* A float as Python's repr prints it: the shortest form that reads back
 * exactly, with ".0" added to whole numbers. */
static void print_float(FILE *f, double x) {
    char buf[40];
    if (isinf(x)) {
        fputs(x > 0 ? "inf" : "-inf", f);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) break;
    }
    fputs(buf, f);
    if (!strpbrk(buf, ".en")) fputs(".0", f);
}

static void print_task(void *ctx, const char *msg, tr_task *t) {
    fprintf(out(ctx), "%s: %s\n", msg, tr_task_name(t));
}

static void t_before_run(void *ctx) { fputs("!!! run started\n", out(ctx)); }
static void t_after_run(void *ctx) {
    fputs("!!! run finished\n", out(ctx));
    fflush(out(ctx));
}
static void t_spawned(void *ctx, tr_task *t) { print_task(ctx, "### new task spawned", t); }
static void t_scheduled(void *ctx, tr_task *t) { print_task(ctx, "### task scheduled", t); }
static void t_before_step(void *ctx, tr_task *t) {
    print_task(ctx, ">>> about to run one step of task", t);
}
static void t_after_step(void *ctx, tr_task *t) { print_task(ctx, "<<< task step finished", t); }
static void t_exited(void *ctx, tr_task *t) { print_task(ctx, "### task exited", t); }

static void t_before_io(void *ctx, tr_duration timeout) {
    tracer *tr = ctx;
    if (timeout) {
        fputs("### waiting for I/O for up to ", tr->f);
        print_float(tr->f, timeout == TR_INF ? INFINITY : (double)timeout / 1e9);
        fputs(" seconds\n", tr->f);
    } else {
        fputs("### doing a quick check for I/O\n", tr->f);
    }
    tr->sleep_at = tr__now(tr__current_run);
}

static void t_after_io(void *ctx, tr_duration timeout) {
    tracer *tr = ctx;
    (void)timeout;
    fputs("### finished I/O check (took ", tr->f);
    print_float(tr->f, (double)(tr__now(tr__current_run) - tr->sleep_at) / 1e9);
    fputs(" seconds)\n", tr->f);
}

tr_instrument *tr_tracer(FILE *f) {
    the_tracer = (tracer){.f = f ? f : stdout};
    the_tracer_ins = (tr_instrument){
        .before_run = t_before_run,
        .after_run = t_after_run,
        .task_spawned = t_spawned,
        .task_scheduled = t_scheduled,
        .before_task_step = t_before_step,
        .after_task_step = t_after_step,
        .task_exited = t_exited,
        .before_io_wait = t_before_io,
        .after_io_wait = t_after_io,
        .ctx = &the_tracer,
    };
    return &the_tracer_ins;
}
