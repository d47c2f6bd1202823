/* trio.Lock and trio.StrictFIFOLock: a task-owned mutex with FIFO hand-off.
 * Release makes the oldest waiter the owner before it even runs, so the
 * releaser cannot barge back in; acquire_nowait refuses while anyone waits
 * for the same reason. */
#include "sync_internal.h"

static const tr__lock *as_clock(const tr_lock *l) { return (const tr__lock *)(const void *)l; }

void tr_lock_init(tr_lock *l) { *tr__as_lock(l) = (tr__lock){0}; }

/* The uncontended path of every acquire: 0, -EWOULDBLOCK or -EDEADLK. */
static inline int try_take(tr__lock *l, tr_task *t) {
    if (TR__LIKELY(!l->owner && !l->lot.first)) {
        l->owner = t;
        return 0;
    }
    return l->owner == t ? -EDEADLK : -EWOULDBLOCK;
}

#undef tr_lock_acquire
TR__UNSITED(int, tr_lock_acquire, (tr_lock *lock), (lock))
int TR__AT(tr_lock_acquire)(tr_lock *lock) {
    tr__lock *l = tr__as_lock(lock);
    tr_task *t = tr__need_task("tr_lock_acquire");
    int rc = tr__checkpoint_if_cancelled(t);
    if (rc) return rc;
    rc = try_take(l, t);
    if (TR__LIKELY(rc == 0)) {
        tr__yield_unless_alone(t);
        return 0;
    }
    if (rc == -EDEADLK) return rc;
    /* The releaser makes us the owner before waking us. */
    tr__lot_node n;
    return tr__lot_park(&l->lot, &n, t);
}

int tr_lock_acquire_nowait(tr_lock *lock) {
    return try_take(tr__as_lock(lock), tr__need_task("tr_lock_acquire_nowait"));
}

void tr__lock_acquire_shielded(tr__lock *l, tr_task *t) {
    if (try_take(l, t) == 0) return;
    tr__lot_node n;
    (void)tr__lot_park_shielded(&l->lot, &n, t);
}

int tr_lock_release(tr_lock *lock) {
    tr__lock *l = tr__as_lock(lock);
    tr_task *t = tr__need_task("tr_lock_release");
    if (TR__UNLIKELY(l->owner != t)) return -EPERM;
    tr__lot_node *n = tr__lot_pop(&l->lot);
    if (TR__LIKELY(!n)) {
        l->owner = NULL;
        return 0;
    }
    l->owner = n->task;
    tr__wake(n->task->run, n->task, 0);
    return 0;
}

bool tr_lock_locked(const tr_lock *l) { return as_clock(l)->owner != NULL; }

void tr_lock_statistics(const tr_lock *lock, tr_lock_stats *out) {
    const tr__lock *l = as_clock(lock);
    out->locked = l->owner != NULL;
    out->owner = l->owner;
    out->tasks_waiting = l->lot.count;
}
