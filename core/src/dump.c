/* The task tree, for hang reports: each nursery with its children, each
 * task's state and the call site it is blocked at. */
#include "internal.h"

#include <stdio.h>

static const char *state_name(int s) {
    switch (s) {
    case TR__NEW: return "new";
    case TR__RUNNABLE: return "runnable";
    case TR__RUNNING: return "running";
    case TR__BLOCKED: return "blocked";
    default: return "done";
    }
}

static void dump_task(FILE *f, const tr_task *t, int depth);

static void dump_nursery(FILE *f, const tr__nursery *n, int depth) {
    fprintf(f, "%*snursery (%zu children%s%s)\n", 2 * depth, "", n->n_children,
            n->scope.cancel_called ? ", cancelled" : "", n->parent_waiting ? ", joining" : "");
    for (const tr_task *c = n->children; c; c = c->sib_next) dump_task(f, c, depth + 1);
}

static void dump_task(FILE *f, const tr_task *t, int depth) {
    fprintf(f, "%*stask '%s' (#%llu) %s", 2 * depth, "", t->name, (unsigned long long)t->id,
            state_name(t->state));
    if (t->state == TR__BLOCKED && t->wait_file) fprintf(f, " at %s:%d", t->wait_file, t->wait_line);
    if (t->sleep_timer.heap_index != TR__NOT_IN_HEAP)
        fprintf(f, " until %lld ns", (long long)t->sleep_timer.deadline);
    fprintf(f, "\n");
    if (depth > 64) return;
    for (const tr__nursery *n = t->open_nursery; n; n = n->outer) dump_nursery(f, n, depth + 1);
}

/* Children are listed newest first; the order is the run's, deterministic. */
void tr__dump_tasks(tr__run *r, FILE *f) {
    for (const tr_task *t = r->root.children; t; t = t->sib_next) dump_task(f, t, 1);
    fflush(f);
}
