/* Cancel scopes, as Trio's CancelScope.
 *
 * Scopes form a tree (see struct tr__scope). A task is cancelled when, walking
 * up from its innermost scope, a cancelled scope comes before a shield. The
 * answer is cached per task and invalidated by a run-wide generation counter
 * that every cancellation or shield change bumps, so a checkpoint costs one
 * comparison in the common case. Cancelling walks only the scope's subtree
 * (skipping shielded and already cancelled branches), iteratively, so deep
 * nesting needs no recursion. */
#include "internal.h"

static tr__scope *as_scope(tr_cancel_scope *cs) { return (tr__scope *)(void *)cs; }
static const tr__scope *as_cscope(const tr_cancel_scope *cs) {
    return (const tr__scope *)(const void *)cs;
}

/* ---- the tree ---------------------------------------------------------- */

static void link_child(tr__scope *parent, tr__scope *s) {
    s->parent = parent;
    s->prev_sib = NULL;
    s->next_sib = parent ? parent->first_child : NULL;
    if (s->next_sib) s->next_sib->prev_sib = s;
    if (parent) parent->first_child = s;
}

static void unlink_child(tr__scope *s) {
    if (s->prev_sib) s->prev_sib->next_sib = s->next_sib;
    else if (s->parent) s->parent->first_child = s->next_sib;
    if (s->next_sib) s->next_sib->prev_sib = s->prev_sib;
    s->prev_sib = s->next_sib = NULL;
}

void tr__scope_reparent(tr__scope *s, tr__scope *np) {
    unlink_child(s);
    link_child(np, s);
}

static bool chain_cancelled(const tr__scope *s);
static void deliver_all(tr__run *r, tr__scope *s);

/* s was moved under a new parent (tr_started): if cancellation reaches it
 * there, the tasks blocked inside must hear of it now. */
void tr__scope_moved(tr__run *r, tr__scope *s) {
    r->cancel_gen++;
    if (!s->shield && !s->cancel_called && chain_cancelled(s->parent)) deliver_all(r, s);
}

/* ---- is it cancelled? ------------------------------------------------ */

static bool chain_cancelled(const tr__scope *s) {
    for (; s; s = s->parent) {
        if (s->cancel_called) return true;
        if (s->shield) return false;
    }
    return false;
}

bool tr__cancel_point_slow(tr_task *t) {
    tr__run *r = t->run;
    if (r->cancel_hook) r->cancel_hook(r->cancel_hook_ctx, t); /* may cancel */
    if (t->cached_gen != r->cancel_gen) {
        t->cancel_cached = chain_cancelled(t->scope);
        t->cached_gen = r->cancel_gen;
    }
    /* The fast path answers only "not cancelled", and never with a hook:
     * otherwise it stays closed, and the next cancel point comes here too
     * (and walks no scopes unless a cancellation changed). */
    t->cancel_gen = r->cancel_hook || t->cancel_cached ? r->cancel_gen - 1 : r->cancel_gen;
    return t->cancel_cached;
}

void tr__set_cancel_hook(tr__run *r, void (*fn)(void *ctx, tr_task *t), void *ctx) {
    r->cancel_hook = fn;
    r->cancel_hook_ctx = ctx;
    r->cancel_gen++; /* every cache goes stale: see tr__cancel_point */
}

/* ---- delivering a cancellation ---------------------------------------- */

static tr__scope *open_child(tr__scope *c) {
    while (c && (c->shield || c->cancel_called)) c = c->next_sib;
    return c;
}

/* Next scope of root's subtree after s in depth-first order, or NULL. */
static tr__scope *next_in_subtree(tr__scope *root, tr__scope *s) {
    tr__scope *c = open_child(s->first_child);
    if (c) return c;
    for (; s != root; s = s->parent) {
        tr__scope *sib = open_child(s->next_sib);
        if (sib) return sib;
    }
    return NULL;
}

void tr__scope_deliver(tr__run *r, tr__scope *root) {
    for (tr__scope *s = root; s; s = next_in_subtree(root, s)) {
        tr_task *next;
        for (tr_task *t = s->tasks; t; t = next) {
            next = t->scope_next;
            tr__try_abort(r, t);
        }
    }
}

/* Abort functions may cancel further scopes (a nursery's join cancels the
 * nursery); those wait on run->pending instead of recursing, so a deep task
 * tree cannot overflow a stack. */
static void deliver_all(tr__run *r, tr__scope *s) {
    if (r->delivering) {
        /* Once: an abort function may ask twice (a shield toggled off, on
         * and off again), and a second push would link s to itself. */
        if (s->queued) return;
        s->queued = true;
        s->pending_next = r->pending;
        r->pending = s;
        return;
    }
    r->delivering = true;
    tr__scope_deliver(r, s);
    while (r->pending) {
        tr__scope *p = r->pending;
        r->pending = p->pending_next;
        p->queued = false;
        if (p->entered) tr__scope_deliver(r, p);
    }
    r->delivering = false;
}

void tr__scope_cancel(tr__run *r, tr__scope *s) {
    if (s->cancel_called) return;
    s->cancel_called = true;
    r->cancel_gen++;
    tr__heap_remove(&r->heap, &s->timer);
    if (s->entered) deliver_all(r, s);
}

void tr__scope_timer_fired(tr__run *r, tr__timer *timer) {
    tr__scope_cancel(r, TR__CONTAINER_OF(timer, tr__scope, timer));
}

/* ---- enter and exit --------------------------------------------------- */

void tr__scope_init(tr__scope *s, tr_time deadline) {
    *s = (tr__scope){.magic = TR__SCOPE_MAGIC};
    s->timer.deadline = deadline;
    s->timer.kind = TR__TIMER_SCOPE;
    s->timer.heap_index = TR__NOT_IN_HEAP;
}

void tr__scope_enter(tr_task *t, tr__scope *s) {
    s->owner = t;
    s->entered = true;
    link_child(t->scope, s);
    tr__scope_detach_task(t);
    tr__scope_attach_task(s, t);
    if (s->timer.deadline != TR_INF && !s->cancel_called)
        tr__heap_insert(t->run, &s->timer, s->timer.deadline);
}

int tr__scope_exit(tr_task *t, tr__scope *s, int rc, const char *call) {
    tr__run *r = t->run;
    TR__REQUIRE(s->magic == TR__SCOPE_MAGIC && s->entered, call, "scope is not entered");
    TR__REQUIRE(s->owner == t, call, "scope was entered by task '%s'", s->owner->name);
    TR__REQUIRE(t->scope == s, call,
                "scopes exited out of order: an inner scope or nursery is still open");
    tr__heap_remove(&r->heap, &s->timer);
    /* As Trio's _close: a deadline that passed counts as a cancellation,
     * even when the timer has not fired yet or the work finished anyway. */
    if (!s->cancel_called && s->timer.deadline != TR_INF && s->timer.deadline <= tr__now(r))
        s->cancel_called = true;
    if (rc == -ECANCELED) {
        if (s->cancel_called && (s->shield || !chain_cancelled(s->parent))) {
            s->caught = true;
            rc = s->fail_mode ? -ETIMEDOUT : 0;
        }
    }
    tr__scope_detach_task(t);
    tr__scope_attach_task(s->parent, t);
    unlink_child(s);
    s->entered = false;
    return rc;
}

/* ---- public ------------------------------------------------------------ */

void tr_scope_prepare(tr_cancel_scope *cs) { tr__scope_init(as_scope(cs), TR_INF); }

void tr_scope_enter_prepared(tr_cancel_scope *cs) {
    tr__scope *s = as_scope(cs);
    tr_task *t = tr__need_task("tr_scope_enter_prepared");
    TR__REQUIRE(s->magic == TR__SCOPE_MAGIC && !s->entered && !s->owner,
                "tr_scope_enter_prepared", "scope is not freshly prepared");
    tr__scope_enter(t, s);
}

#undef tr_scope_enter
TR__UNSITED_VOID(tr_scope_enter, (tr_cancel_scope *cs, tr_time deadline), (cs, deadline))
void TR__AT(tr_scope_enter)(tr_cancel_scope *cs, tr_time deadline) {
    tr_task *t = tr__need_task("tr_scope_enter");
    /* Entering a scope the task is inside would make it its own ancestor.
     * Compared by address along the task's own scopes: the caller's storage
     * may be uninitialised, so its contents prove nothing. */
    for (const tr__scope *in = t->scope; in && in != t->home; in = in->parent)
        TR__REQUIRE(in != as_scope(cs), "tr_scope_enter", "scope is already entered (exit it first)");
    tr__scope_init(as_scope(cs), deadline);
    tr__scope_enter(t, as_scope(cs));
}

int tr_move_on_at(tr_cancel_scope *cs, tr_time when) {
    tr_scope_enter(cs, when);
    return 0;
}

int tr_move_on_after(tr_cancel_scope *cs, tr_duration d) {
    tr__run *r = tr__need_run("tr_move_on_after");
    if (d < 0) return -EINVAL;
    return tr_move_on_at(cs, tr_time_add(tr__now(r), d));
}

int tr_fail_at(tr_cancel_scope *cs, tr_time when) {
    tr_scope_enter(cs, when);
    as_scope(cs)->fail_mode = true;
    return 0;
}

int tr_fail_after(tr_cancel_scope *cs, tr_duration d) {
    tr__run *r = tr__need_run("tr_fail_after");
    if (d < 0) return -EINVAL;
    return tr_fail_at(cs, tr_time_add(tr__now(r), d));
}

#undef tr_scope_exit
TR__UNSITED(int, tr_scope_exit, (tr_cancel_scope *cs, int rc), (cs, rc))
int TR__AT(tr_scope_exit)(tr_cancel_scope *cs, int rc) {
    tr_task *t = tr__need_task("tr_scope_exit");
    TR__REQUIRE(!as_scope(cs)->is_nursery, "tr_scope_exit", "a nursery's scope is closed by tr_nursery_join");
    return tr__scope_exit(t, as_scope(cs), rc, "tr_scope_exit");
}

static tr__scope *checked(tr_cancel_scope *cs, const char *call) {
    tr__scope *s = as_scope(cs);
    TR__REQUIRE(s && s->magic == TR__SCOPE_MAGIC, call, "not a prepared or entered cancel scope");
    return s;
}

void tr_scope_cancel(tr_cancel_scope *cs) {
    tr__run *r = tr__need_run("tr_scope_cancel");
    tr__scope_cancel(r, checked(cs, "tr_scope_cancel"));
}

void tr_scope_set_deadline(tr_cancel_scope *cs, tr_time deadline) {
    tr__scope *s = checked(cs, "tr_scope_set_deadline");
    tr__run *r = tr__need_run("tr_scope_set_deadline");
    s->timer.deadline = deadline;
    if (!s->entered || s->cancel_called) return;
    if (deadline == TR_INF) {
        tr__heap_remove(&r->heap, &s->timer);
    } else if (deadline <= tr__now(r)) {
        tr__scope_cancel(r, s);
    } else if (s->timer.heap_index != TR__NOT_IN_HEAP) {
        tr__heap_rekey(r, &s->timer, deadline);
    } else {
        tr__heap_insert(r, &s->timer, deadline);
    }
}

tr_time tr_scope_deadline(const tr_cancel_scope *cs) { return as_cscope(cs)->timer.deadline; }

void tr_scope_set_shield(tr_cancel_scope *cs, bool shield) {
    tr__scope *s = checked(cs, "tr_scope_set_shield");
    tr__run *r = tr__need_run("tr_scope_set_shield");
    if (s->shield == shield) return;
    s->shield = shield;
    r->cancel_gen++;
    if (!shield && s->entered && !s->cancel_called && chain_cancelled(s->parent))
        deliver_all(r, s);
}

bool tr_scope_shield(const tr_cancel_scope *cs) { return as_cscope(cs)->shield; }
bool tr_scope_cancel_called(const tr_cancel_scope *cs) { return as_cscope(cs)->cancel_called; }
bool tr_scope_cancelled_caught(const tr_cancel_scope *cs) { return as_cscope(cs)->caught; }

tr_time tr_current_effective_deadline(void) {
    tr_task *t = tr__need_task("tr_current_effective_deadline");
    tr_time d = TR_INF;
    for (const tr__scope *s = t->scope; s; s = s->parent) {
        if (s->cancel_called) return -TR_INF;
        if (s->timer.deadline < d) d = s->timer.deadline;
        if (s->shield) break;
    }
    return d;
}
