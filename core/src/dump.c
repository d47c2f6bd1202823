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

/* What a blocked task waits for. */
static void dump_wait(FILE *f, const tr_task *t) {
    if (t->state != TR__BLOCKED) return;
    if (t->wait_reason) fprintf(f, " on %s %d", t->wait_reason, t->wait_fd);
    else if (t->sleep_timer.heap_index != TR__NOT_IN_HEAP) fprintf(f, " in sleep");
    else if (!t->abort_fn) fprintf(f, " (uncancellable)");
    if (t->wait_site) fprintf(f, " at %s:%d", t->wait_site->file, t->wait_site->line);
}

/* The task's own scopes, innermost first: deadlines and cancellations that
 * have not been unwound yet. */
static void dump_scopes(FILE *f, const tr_task *t, int depth) {
    for (const tr__scope *s = t->scope; s && s != t->home->parent; s = s->parent) {
        if (s->owner != t || s->is_nursery) continue;
        if (!s->cancel_called && s->timer.heap_index == TR__NOT_IN_HEAP && !s->shield) continue;
        fprintf(f, "%*sscope", 2 * depth, "");
        if (s->timer.heap_index != TR__NOT_IN_HEAP)
            fprintf(f, " deadline %lld ns", (long long)s->timer.deadline);
        if (s->shield) fprintf(f, " shielded");
        if (s->cancel_called) fprintf(f, " cancelled, not yet unwound");
        fprintf(f, "\n");
    }
}

static void dump_task(FILE *f, const tr_task *t, int depth) {
    fprintf(f, "%*stask '%s' (#%llu) %s", 2 * depth, "", t->name, (unsigned long long)t->id,
            state_name(t->state));
    dump_wait(f, t);
    if (t->sleep_timer.heap_index != TR__NOT_IN_HEAP)
        fprintf(f, " until %lld ns", (long long)t->sleep_timer.deadline);
    fprintf(f, "\n");
    if (t->scope && t->home) dump_scopes(f, t, depth + 1);
    if (depth > 64) return;
    for (const tr__nursery *n = t->open_nursery; n; n = n->outer) dump_nursery(f, n, depth + 1);
}

/* Children are listed newest first; the order is the run's, deterministic. */
void tr__dump_tasks(tr__run *r, FILE *f) {
    for (const tr_task *t = r->root.children; t; t = t->sib_next) dump_task(f, t, 1);
    fflush(f);
}
