/* Tasks: creation on a pooled stack, entry, exit and freeing.
 *
 * The task struct sits at the top of its own stack region (below a 64-byte
 * canary area, and 0 or 512 bytes lower in every other region so that tasks
 * that run in turn do not share page offsets: stack.c), with copied
 * arguments right below it: spawning costs one stack region and no heap
 * allocation. A run keeps the regions of its finished tasks (of its default
 * stack size) as spares for its next spawns, which then make no call at all,
 * and returns them to the pool when it ends. */
#include "internal.h"
#include "track.h"

#include <stdarg.h>
#include <stdio.h>

#define ALIGN_DOWN(x, a) ((x) & ~(uintptr_t)((a) - 1))

static __attribute__((noinline)) _Noreturn void task_exit(tr_task *t, int rc);

/* Where every task starts. Where contexts are tracked (ASan, ucontext) it
 * first frees the task that exited last, as any code does that a switch
 * resumes (tr__reap). */
static void task_entry(void *arg) {
    tr_task *t = arg;
    tr__ctx_entered(&t->ctx, &t->run->sched_ctx);
    tr__reap(t->run);
    task_exit(t, t->fn(t->arg));
}

static size_t stack_size_for(const tr__run *r, const tr_spawn_opts *o) {
    return o && o->stack_size_bytes ? tr__stack_round(o->stack_size_bytes) : r->stack_size;
}

#if !TR__CTX_TRACKED /* (a ucontext_t alone spans many lines) */
_Static_assert(64 + (TR__STACK_COLOURS - 1) * TR__STACK_COLOUR_BYTES + sizeof(tr_task) + 63 <= 2048,
               "a task struct at its lowest must leave half the top page to the first frames");
#endif

/* Where the struct of a region's task goes: at the top, below the 64-byte
 * canary area and the region's colour offset (stack.c). The same place every
 * time the region is used. */
static tr_task *region_task(const tr__stack *st) {
    uintptr_t top = (uintptr_t)(st->lo + st->size) - 64 - tr__stack_colour_offset(st);
    return (tr_task *)ALIGN_DOWN(top - sizeof(tr_task), 64);
}

/* The run's most recently freed spare (there is one), taken off its list. */
static inline tr_task *pop_spare(tr__run *r) {
    tr_task *t = r->spares;
    r->spares = t->sib_next;
    if (r->spares) __builtin_prefetch(&r->spares->sib_next, 1); /* the next spawn's */
    return t;
}

/* A region of usable size `size` for a new task, as the task struct at its
 * top with run, stack and canary set: one of the run's spares when the size
 * is the run's default, else one from the pool. */
static tr_task *take_region(tr__run *r, size_t size, int *rc) {
    if (r->spares && size == r->stack_size) return pop_spare(r);
    tr__stack st;
    if ((*rc = tr__stack_get(size, &st)) != 0) return NULL;
    tr_task *t = region_task(&st);
    t->run = r;
    t->stack = st;
    t->canary = st.canary;
    return t;
}

/* Fills in t, whose region is taken (run, stack and canary set), to run
 * fn(arg) as `name` (NULL: "task") with its stack below `below`. */
static inline __attribute__((always_inline)) void task_init(tr__run *r, tr_task *t, tr_task_fn fn,
                                                            void *arg, const char *name,
                                                            char *below) {
    char *lo = t->stack.lo;
    tr__ctx_make(&t->ctx, lo, (size_t)(below - lo), task_entry, t, r->fpenv);
    t->id = r->next_id++;
    t->name = name ? name : "task";
    t->fn = fn;
    t->arg = arg;
    t->state = TR__NEW;
    t->rc = 0;
    t->wake_value = 0;
    t->schedule_points = 0;
    t->cancel_points = 0;
    memset(&t->TR__TASK_ZERO_FIRST, 0,
           offsetof(tr_task, TR__TASK_ZERO_END) - offsetof(tr_task, TR__TASK_ZERO_FIRST));
    t->sleep_timer.kind = TR__TIMER_SLEEP;
    t->sleep_timer.heap_index = TR__NOT_IN_HEAP;
    r->live_tasks++;
}

/* Attaches t to nursery n, under the nursery's scope, and queues it. plain:
 * r->plain is known to be set (no instrument to tell). */
static inline __attribute__((always_inline)) void task_launch(tr__run *r, tr_task *t,
                                                              tr__nursery *n, bool plain) {
    tr_task *spawner = r->current;
    t->nursery = n;
    t->sib_prev = NULL;
    t->sib_next = n->children;
    if (n->children) n->children->sib_prev = t;
    n->children = t;
    n->n_children++;
    t->home = &n->scope;
    tr__scope_attach_task(&n->scope, t);
    t->locals = spawner ? spawner->locals : NULL;
    if (t->locals) t->locals->refs++;
    if (!plain && TR__UNLIKELY(r->instruments)) tr__instrument_task(r, TR__HOOK_task_spawned, t);
    tr__make_runnable_as(r, t, plain);
}

/* tr__task_spawn in every case: options, a new region, instruments. */
static __attribute__((noinline)) tr_task *spawn_general(tr__run *r, tr__nursery *n,
                                                        tr_task_fn fn, void *arg,
                                                        const tr_spawn_opts *o, int *rc) {
    size_t size = stack_size_for(r, o);
    if (o && o->copy_size && (o->copy_size > size / 4 || !o->copy)) {
        *rc = -EINVAL;
        return NULL;
    }
    if ((*rc = tr__queue_reserve(r, r->live_tasks + 1)) != 0) return NULL;
    tr_task *t = take_region(r, size, rc);
    if (!t) return NULL;
    char *below = (char *)t;
    if (o && o->copy_size) { /* the copy goes right below the struct */
        below = (char *)ALIGN_DOWN((uintptr_t)t - o->copy_size, 16);
        memcpy(below, o->copy, o->copy_size);
        arg = below;
    }
    t->valgrind_stack_id = r->track_stacks ? TR__TRACK_STACK_REGISTER(t->stack.lo, below) : 0;
    task_init(r, t, fn, arg, o ? o->name : NULL, below);
    task_launch(r, t, n, false);
    return t;
}

/* The usual spawn makes no call: a spare region, no copied arguments, the
 * default stack size, room in the run queue, a plain run, no valgrind. */
tr_task *tr__task_spawn(tr__run *r, tr__nursery *n, tr_task_fn fn, void *arg,
                        const tr_spawn_opts *o, int *rc) {
    if (!TR__LIKELY(r->spares && r->plain && !r->track_stacks && r->live_tasks < r->queue_cap &&
                    (!o || (!o->copy_size && !o->stack_size_bytes))))
        return spawn_general(r, n, fn, arg, o, rc);
    /* Its valgrind_stack_id is 0 already: this run does not track stacks,
     * so spawn_general set it to 0 when the region first came to the run. */
    tr_task *t = pop_spare(r);
    task_init(r, t, fn, arg, o ? o->name : NULL, (char *)t);
    task_launch(r, t, n, true);
    return t;
}

void tr__task_spares_free(tr__run *r) {
    while (r->spares) {
        tr__stack st = r->spares->stack;
        r->spares = r->spares->sib_next;
        tr__stack_put(&st);
    }
}

/* Asks for the lines that running t to its end touches, the task after the
 * next one when a task exits. Where tasks are spawned by the thousand and
 * exit at once, it is a cold task whose lines have left L2 since it was
 * spawned: its context, its state, its body, its scope and nursery links,
 * and the stack line right below its struct (a new task's first frame).
 * Measured: spawn_join 29.5 -> 25.7 ns per task (bench_core spawn). */
static inline void prefetch_task(const tr_task *t) {
    tr__prefetch_resume(t);
    __builtin_prefetch((const char *)t - 64, 1);
    __builtin_prefetch(&t->fn);
    __builtin_prefetch(&t->sib_prev, 1);
}

static __attribute__((noinline)) _Noreturn void task_exit(tr_task *t, int rc) {
    tr__run *r = t->run;
    TR__REQUIRE(t->open_nursery == NULL, "return from a task",
                "task returned with a nursery still open (call tr_nursery_join)");
    TR__REQUIRE(t->scope == t->home, "return from a task",
                "task returned with a cancel scope still entered (call tr_scope_exit)");
    tr__check_canary(t);
    t->rc = rc;
    t->state = TR__DONE;
    tr__scope_detach_task(t);
    if (t->locals) tr__locals_release(r, t->locals);
    t->locals = NULL;
    tr__nursery_child_exited(r, t->nursery, t);
    tr_task *next;
    if (TR__LIKELY(r->plain)) {
        next = tr__next_in_batch_as(r, true);
    } else {
        next = tr__next_in_batch(r);
        if (r->instruments) {
            tr__instrument_task(r, TR__HOOK_task_exited, t);
            tr__instrument_switch(r, t, next);
        }
    }
    if (r->batch_pos < r->batch_len) prefetch_task(r->batch[r->batch_pos]);
    r->current = next;
    if (next) next->state = TR__RUNNING;
    tr__ctx *to = next ? &next->ctx : &r->sched_ctx;
#if TR__CTX_TRACKED
    /* ASan: its stack is unpoisoned and freed by whoever runs next, once
     * the fiber switch has left it (the ucontext back-end does the same). */
    r->exited = t;
#else
    /* Its region is freed now, while it still runs on it: only a spawn
     * takes a region, and none can run before the jump below. So no
     * resumed code has to look for a task to free (tr__reap). Nothing may
     * read t after this line. */
    tr__task_free(r, t);
#endif
    tr__ctx_exit_to(to);
}

/* ---- public ------------------------------------------------------------ */

tr_task *tr_current_task(void) {
    tr__run *r = tr__current_run;
    return r ? r->current : NULL;
}

const char *tr_task_name(const tr_task *t) { return t->name; }
uint64_t tr_task_id(const tr_task *t) { return t->id; }
tr_task *tr_task_parent(const tr_task *t) { return t->nursery ? t->nursery->parent : NULL; }

int tr_fail(int code, const char *fmt, ...) {
    tr_task *t = tr__need_task("tr_fail");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->message, sizeof t->message, fmt, ap);
    t->has_message = true;
    va_end(ap);
    return code;
}
