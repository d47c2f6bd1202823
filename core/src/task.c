/* Tasks: creation on a pooled stack, entry, exit and freeing.
 *
 * The task struct sits at the top of its own stack region (below a 64-byte
 * canary area), with copied arguments right below it: spawning costs one
 * stack from the pool and no heap allocation. */
#include "internal.h"
#include "track.h"

#include <stdarg.h>
#include <stdio.h>

#define ALIGN_DOWN(x, a) ((x) & ~(uintptr_t)((a) - 1))

static _Noreturn void task_exit(tr_task *t, int rc);

static void task_entry(void *arg) {
    tr_task *t = arg;
    tr__ctx_entered(&t->ctx, &t->run->sched_ctx);
    tr__reap(t->run);
    task_exit(t, t->fn(t->arg));
}

static size_t stack_size_for(const tr__run *r, const tr_spawn_opts *o) {
    return o && o->stack_size_bytes ? tr__stack_round(o->stack_size_bytes) : r->stack_size;
}

/* Place the task struct and the copied arguments at the top of the stack. */
static tr_task *carve(tr__run *r, const tr__stack *st, const tr_spawn_opts *o, void **copy_out) {
    uintptr_t top = (uintptr_t)(st->lo + st->size) - 64;
    tr_task *t = (tr_task *)ALIGN_DOWN(top - sizeof(tr_task), 64);
    char *below = (char *)t;
    *copy_out = NULL;
    if (o && o->copy_size) {
        below = (char *)ALIGN_DOWN((uintptr_t)t - o->copy_size, 16);
        memcpy(below, o->copy, o->copy_size);
        *copy_out = below;
    }
    t->valgrind_stack_id = r->track_stacks ? TR__TRACK_STACK_REGISTER(st->lo, below) : 0;
    tr__ctx_make(&t->ctx, st->lo, (size_t)(below - st->lo), task_entry, t, r->fpenv);
    return t;
}

tr_task *tr__task_new(tr__run *r, tr_task_fn fn, void *arg, const tr_spawn_opts *o, int *rc) {
    size_t size = stack_size_for(r, o);
    tr__stack st;
    void *copy;
    if (o && o->copy_size && (o->copy_size > size / 4 || !o->copy)) {
        *rc = -EINVAL;
        return NULL;
    }
    if ((*rc = tr__queue_reserve(r, r->live_tasks + 1)) != 0) return NULL;
    if ((*rc = tr__stack_get(size, &st)) != 0) return NULL;
    tr_task *t = carve(r, &st, o, &copy);
    t->run = r;
    t->id = r->next_id++;
    t->name = o && o->name ? o->name : "task";
    t->fn = fn;
    t->arg = copy ? copy : arg;
    t->state = TR__NEW;
    t->rc = 0;
    t->wake_value = 0;
    t->schedule_points = 0;
    t->cancel_points = 0;
    memset(&t->TR__TASK_ZERO_FIRST, 0,
           offsetof(tr_task, TR__TASK_ZERO_END) - offsetof(tr_task, TR__TASK_ZERO_FIRST));
    t->sleep_timer.kind = TR__TIMER_SLEEP;
    t->sleep_timer.heap_index = TR__NOT_IN_HEAP;
    t->stack = st;
    t->canary = st.canary;
    r->live_tasks++;
    return t;
}

/* Attach a new task to nursery n under scope home and queue it. */
void tr__task_launch(tr__run *r, tr_task *t, tr__nursery *n, tr__scope *home) {
    tr_task *spawner = r->current;
    t->nursery = n;
    t->sib_prev = NULL;
    t->sib_next = n->children;
    if (n->children) n->children->sib_prev = t;
    n->children = t;
    n->n_children++;
    t->home = home;
    tr__scope_attach_task(home, t);
    t->locals = spawner ? spawner->locals : NULL;
    if (t->locals) t->locals->refs++;
    if (TR__UNLIKELY(r->instruments)) tr__instrument_task(r, TR__HOOK_task_spawned, t);
    tr__make_runnable(r, t);
}

void tr__task_free(tr__run *r, tr_task *t) {
    tr__stack st = t->stack;
    if (t->valgrind_stack_id) TR__TRACK_STACK_DEREGISTER(t->valgrind_stack_id);
    TR__TRACK_STACK_UNPOISON(st.lo, st.size);
    tr__stack_put(&st);
    r->live_tasks--;
}

static _Noreturn void task_exit(tr_task *t, int rc) {
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
    /* Its stack is freed by whoever runs next, once we are off it. */
    r->exited = t;
    tr_task *next = tr__next_in_batch(r);
    if (TR__UNLIKELY(r->instruments)) {
        tr__instrument_task(r, TR__HOOK_task_exited, t);
        tr__instrument_switch(r, t, next);
    }
    r->current = next;
    if (next) next->state = TR__RUNNING;
    tr__ctx_switch(NULL, next ? &next->ctx : &r->sched_ctx);
    abort(); /* not reached: a finished task is never resumed */
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
