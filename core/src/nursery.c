/* Nurseries: spawning, joining, failure collection, tr_start.
 *
 * A nursery is a cancel scope plus the set of its children. A child that
 * fails (returns < 0, other than -ECANCELED) is recorded and cancels the
 * nursery's scope; so does a child that ends cancelled (Trio adds its
 * Cancelled to the nursery). The parent waits in join until no child and no
 * pending start remains. */
#include "internal.h"

static tr__nursery *as_nursery(tr_nursery *n) { return (tr__nursery *)(void *)n; }

static tr__nursery *open_nursery(tr_nursery *pn, const char *call) {
    tr__nursery *n = as_nursery(pn);
    TR__REQUIRE(n && n->magic == TR__NURSERY_MAGIC, call, "nursery was never opened");
    return n;
}

static void nursery_init(tr__nursery *n, tr_task *parent) {
    tr__scope_init(&n->scope, TR_INF);
    n->scope.is_nursery = true;
    n->parent = parent;
    n->outer = NULL;
    n->children = NULL;
    n->n_children = 0;
    n->pending_starts = 0;
    n->failures = NULL;
    n->lost = 0;
    n->first_error = 0;
    n->magic = TR__NURSERY_MAGIC;
    n->saw_cancel = n->parent_waiting = n->closed = n->parent_aborted = false;
}

void tr__nursery_init_root(tr__run *r, tr__nursery *n) {
    (void)r;
    nursery_init(n, NULL);
    n->scope.entered = true;
}

static void open_in(tr_task *t, tr__nursery *n) {
    nursery_init(n, t);
    n->outer = t->open_nursery;
    t->open_nursery = n;
    tr__scope_enter(t, &n->scope);
}

void tr_nursery_open(tr_nursery *pn) { open_in(tr__need_task("tr_nursery_open"), as_nursery(pn)); }

/* ---- children ---------------------------------------------------------- */

static void unlink_child(tr__nursery *n, tr_task *t) {
    if (t->sib_prev) t->sib_prev->sib_next = t->sib_next;
    else n->children = t->sib_next;
    if (t->sib_next) t->sib_next->sib_prev = t->sib_prev;
    t->sib_prev = t->sib_next = NULL;
    n->n_children--;
}

/* The parent waits in join and nothing is left: the nursery closes now (no
 * task may spawn into it from here on, as in Trio), and the parent wakes. */
static void wake_parent_if_done(tr__run *r, tr__nursery *n) {
    if (n->parent_waiting && n->n_children == 0 && n->pending_starts == 0 &&
        n->parent->state == TR__BLOCKED) {
        n->closed = true;
        tr__wake(r, n->parent, 0);
    }
}

void tr__nursery_add_failure(tr__run *r, tr__nursery *n, int code, tr__record *rec) {
    if (!n->first_error) n->first_error = code;
    if (rec) tr__records_append(&n->failures, &rec->pub);
    else n->lost++;
    tr__scope_cancel(r, &n->scope);
}

/* tr__nursery_child_exited for a child that failed, ended cancelled,
 * carries failures or is main. */
static __attribute__((noinline)) void child_exited_eventfully(tr__run *r, tr__nursery *n,
                                                              tr_task *t, int rc) {
    if (rc < 0 && rc != -ECANCELED) {
        /* The failure the task passes on comes with the nursery failure it
         * joined last; earlier ones it went on from are dropped. */
        size_t dropped;
        const tr_failure *cause = tr__carried_take_newest(r, &t->carried, &dropped);
        tr__record *rec = tr__record_new(r, t, rc, cause);
        if (!rec) n->lost += tr__records_free(r, cause);
        tr__nursery_add_failure(r, n, rc, rec);
    } else {
        tr__carried_free(r, &t->carried);
        if (rc == -ECANCELED) {
            n->saw_cancel = true;
            tr__scope_cancel(r, &n->scope);
        }
    }
    if (t == r->main) {
        r->main_rc = rc;
        r->main = NULL; /* its region is freed next, and may hold a new task */
        tr__scope_cancel(r, &r->root.scope);
    }
    wake_parent_if_done(r, n);
}

/* The usual exit (a success) makes no call but tail calls. */
void tr__nursery_child_exited(tr__run *r, tr__nursery *n, tr_task *t) {
    int rc = t->rc;
    unlink_child(n, t);
    if (TR__UNLIKELY(rc < 0 || t->carried || t == r->main)) child_exited_eventfully(r, n, t, rc);
    else wake_parent_if_done(r, n);
}

/* ---- spawning ---------------------------------------------------------- */

static int spawn(tr__run *r, tr__nursery *n, tr_task_fn fn, void *arg,
                 const tr_spawn_opts *o, tr_task **out) {
    int rc;
    if (n->closed) return TR_ENURSERYCLOSED;
    if (!fn) return -EINVAL;
    tr_task *t = tr__task_spawn(r, n, fn, arg, o, &rc);
    if (!t) return rc;
    if (out) *out = t;
    return 0;
}

int tr_spawn(tr_nursery *pn, tr_task_fn fn, void *arg, const tr_spawn_opts *o) {
    tr__run *r = tr__need_run("tr_spawn");
    tr__nursery *n = open_nursery(pn, "tr_spawn");
    return spawn(r, n, fn, arg, o, NULL);
}

int tr_spawn_system_task(tr_task_fn fn, void *arg, const char *name) {
    tr__run *r = tr__need_run("tr_spawn_system_task");
    tr_task *t = NULL;
    int rc = spawn(r, &r->root, fn, arg, &(tr_spawn_opts){.name = name}, &t);
    if (rc == 0) t->system = true;
    return rc;
}

/* ---- joining ----------------------------------------------------------- */

/* Cancellation reached the parent waiting in join: pass it on to the
 * children by cancelling the nursery, and keep waiting for them. */
static int join_abort(void *ctx, tr_task *t) {
    tr__nursery *n = ctx;
    n->parent_aborted = true;
    tr__scope_cancel(t->run, &n->scope);
    return TR_ABORT_FAILED;
}

static int join(tr_task *t, tr__nursery *n, int body_rc) {
    tr__run *r = t->run;
    TR__REQUIRE(n->parent == t && !n->closed, "tr_nursery_join",
                "nursery is not open in this task");
    TR__REQUIRE(t->open_nursery == n, "tr_nursery_join", "nurseries joined out of order");
    if (body_rc < 0) {
        if (body_rc == -ECANCELED) n->saw_cancel = true;
        else if (!n->first_error) n->first_error = body_rc;
        tr__scope_cancel(r, &n->scope);
    }
    if (n->n_children || n->pending_starts) {
        n->parent_waiting = true;
        (void)tr__park(r, t, join_abort, n); /* woken once closed */
        n->parent_waiting = false;
    } else {
        /* Closed before the schedule point: a task that runs meanwhile
         * cannot spawn into it. */
        n->closed = true;
        tr__yield(t);
    }
    t->open_nursery = n->outer;
    tr__carried_push(&t->carried, n->failures);
    int rc = n->first_error;
    if (!rc && (n->saw_cancel || n->parent_aborted)) rc = -ECANCELED;
    if (!rc) rc = body_rc > 0 ? body_rc : 0;
    return tr__scope_exit(t, &n->scope, rc, "tr_nursery_join");
}

#undef tr_nursery_join
TR__UNSITED(int, tr_nursery_join, (tr_nursery *pn, int body_rc), (pn, body_rc))
int TR__AT(tr_nursery_join)(tr_nursery *pn, int body_rc) {
    tr_task *t = tr__need_task("tr_nursery_join");
    return join(t, open_nursery(pn, "tr_nursery_join"), body_rc);
}

void tr_nursery_cancel(tr_nursery *pn) {
    tr__run *r = tr__need_run("tr_nursery_cancel");
    tr__scope_cancel(r, &open_nursery(pn, "tr_nursery_cancel")->scope);
}

const tr_failure *tr_nursery_failures(const tr_nursery *pn) {
    return ((const tr__nursery *)(const void *)pn)->failures;
}

bool tr_nursery_cancelled_caught(const tr_nursery *pn) {
    return ((const tr__nursery *)(const void *)pn)->scope.caught;
}

size_t tr_nursery_failures_lost(const tr_nursery *pn) {
    return ((const tr__nursery *)(const void *)pn)->lost;
}

/* ---- tr_start ---------------------------------------------------------- */

/* The child runs in a temporary nursery of the starter until tr_started. */
TR__UNSITED(int, tr_start_spawn,
            (tr_nursery *pn, tr_task_fn fn, void *arg, const tr_spawn_opts *o, void **value_out),
            (pn, fn, arg, o, value_out))
int TR__AT(tr_start_spawn)(tr_nursery *pn, tr_task_fn fn, void *arg, const tr_spawn_opts *o,
                           void **value_out) {
    tr_task *t = tr__need_task("tr_start");
    tr__nursery *n = open_nursery(pn, "tr_start");
    tr__run *r = t->run;
    if (n->closed) return TR_ENURSERYCLOSED;
    tr__nursery temp;
    tr__start st = {.starter = t, .target = n, .temp = &temp};
    open_in(t, &temp);
    int rc = spawn(r, &temp, fn, arg, o, &st.child);
    if (rc == 0) {
        st.child->start = &st;
        n->pending_starts++;
    }
    int jrc = join(t, &temp, rc);
    if (rc == 0) {
        n->pending_starts--;
        wake_parent_if_done(r, n);
        rc = jrc;
    }
    /* The child may be gone (its stack reused): never touch st.child here. */
    if (!st.started && rc == 0) rc = TR_ENOTSTARTED;
    if (rc == 0 && value_out) *value_out = st.value;
    return rc;
}

int tr_started(void *value) {
    tr_task *t = tr__need_task("tr_started");
    tr__start *st = t->start;
    if (t->was_started) return -EALREADY;
    if (!st) return -EINVAL;
    tr__run *r = t->run;
    st->started = true;
    st->value = value;
    t->start = NULL;
    t->was_started = true;
    /* Move the task (or its outermost own scope) from temp to the target. */
    tr__scope *s = t->scope;
    if (s == t->home) {
        tr__scope_detach_task(t);
        tr__scope_attach_task(&st->target->scope, t);
    } else {
        while (s->parent != t->home) s = s->parent;
        tr__scope_reparent(s, &st->target->scope);
        tr__scope_moved(r, s);
    }
    t->home = &st->target->scope;
    unlink_child(st->temp, t);
    t->nursery = st->target;
    t->sib_prev = NULL;
    t->sib_next = st->target->children;
    if (t->sib_next) t->sib_next->sib_prev = t;
    st->target->children = t;
    st->target->n_children++;
    r->cancel_gen++;
    wake_parent_if_done(r, st->temp);
    return 0;
}
