/* Ending a run from outside its tasks, for a simulator's limits.
 *
 * tr__run_abandon cancels every task so that it can unwind, and the run ends
 * with the given code. tr__run_kill is for tasks that will not unwind (a
 * retry loop that ignores -ECANCELED): no task runs again, the loop ends and
 * every task's stack is freed without running it. Memory the run allocated
 * is freed as always; memory the tasks' own code allocated is lost. */
#include "internal.h"

void tr__run_abandon(tr__run *r, int code) {
    if (!r->forced_rc) r->forced_rc = code;
    tr__scope_cancel(r, &r->root.scope);
}

void tr__run_kill(tr__run *r, int code) {
    if (!r->forced_rc) r->forced_rc = code;
    r->killed = true;
    tr__run_update_plain(r);
}

/* Pushes n's children on the stack of tasks to visit. */
static size_t push_children(const tr__nursery *n, tr_task **stack, size_t len) {
    for (tr_task *c = n->children; c; c = c->sib_next) stack[len++] = c;
    return len;
}

/* After the loop of a killed run: free every task that is left. Each task is
 * reached once, through the nursery it is a child of. */
void tr__free_remaining_tasks(tr__run *r) {
    size_t cap = r->live_tasks, len = 0;
    if (!cap) return;
    tr_task **stack = tr__alloc(r, cap * sizeof *stack);
    if (!stack) abort(); /* cannot free what cannot be found: nothing sane is left */
    len = push_children(&r->root, stack, len);
    while (len) {
        tr_task *t = stack[--len];
        for (const tr__nursery *n = t->open_nursery; n; n = n->outer) len = push_children(n, stack, len);
        if (t->locals) tr__locals_release(r, t->locals);
        tr__carried_free(r, &t->carried);
        tr__task_free(r, t);
    }
    tr__free(r, stack);
    r->idle_first = NULL; /* its waiters lived on the freed stacks */
}
