/* trio.Condition: waiters park in the condition's own lot; notify moves
 * them, in order, onto the lock's lot, so that they return from wait as the
 * lock is handed to them. */
#include "sync_internal.h"

/* A condition's state; tr_condition is its caller-allocated storage. */
typedef struct cond {
    tr__lock *lock;  /* the bound lock: &own or the caller's */
    tr__lot lot;     /* tasks waiting for a notify */
    tr__lock own;    /* the lock used when none was given */
} cond;
_Static_assert(sizeof(cond) <= sizeof(tr_condition), "tr_condition too small");

static cond *as_cond(tr_condition *c) { return (cond *)(void *)c; }
static const cond *as_ccond(const tr_condition *c) { return (const cond *)(const void *)c; }
static tr_lock *pub_lock(tr__lock *l) { return (tr_lock *)(void *)l; }

void tr_condition_init(tr_condition *c, tr_lock *lock) {
    cond *k = as_cond(c);
    *k = (cond){0};
    k->lock = lock ? tr__as_lock(lock) : &k->own;
}

tr_lock *tr_condition_lock(tr_condition *c) { return pub_lock(as_cond(c)->lock); }

#undef tr_condition_acquire
TR__UNSITED(int, tr_condition_acquire, (tr_condition *c), (c))
int TR__AT(tr_condition_acquire)(tr_condition *c) {
    /* TR__AT, not the macro or the public symbol: the caller's site is kept. */
    return TR__AT(tr_lock_acquire)(pub_lock(as_cond(c)->lock));
}

int tr_condition_acquire_nowait(tr_condition *c) {
    return tr_lock_acquire_nowait(pub_lock(as_cond(c)->lock));
}

int tr_condition_release(tr_condition *c) { return tr_lock_release(pub_lock(as_cond(c)->lock)); }

bool tr_condition_locked(const tr_condition *c) { return as_ccond(c)->lock->owner != NULL; }

#undef tr_condition_wait
TR__UNSITED(int, tr_condition_wait, (tr_condition *c), (c))
int TR__AT(tr_condition_wait)(tr_condition *c) {
    cond *k = as_cond(c);
    tr_task *t = tr__need_task("tr_condition_wait");
    if (k->lock->owner != t) return -EPERM;
    int rc = tr_lock_release(pub_lock(k->lock));
    (void)rc; /* cannot fail: t owns the lock */
    tr__lot_node n;
    rc = tr__lot_park(&k->lot, &n, t);
    /* Woken normally, t was reparked onto the lock's lot and the lock was
     * handed to it. Cancelled, it was taken out of whichever lot it was in
     * and must get the lock back before returning, whatever happens. */
    if (rc == -ECANCELED) tr__lock_acquire_shielded(k->lock, t);
    return rc;
}

static int notify(tr_condition *c, size_t n) {
    cond *k = as_cond(c);
    if (k->lock->owner != tr__need_task("tr_condition_notify")) return -EPERM;
    size_t moved = 0;
    tr__lot_node *node;
    while (moved < n && (node = tr__lot_pop(&k->lot))) {
        tr__lot_push(&k->lock->lot, node);
        moved++;
    }
    return moved > INT32_MAX ? INT32_MAX : (int)moved;
}

int tr_condition_notify(tr_condition *c, size_t n) { return notify(c, n); }
int tr_condition_notify_all(tr_condition *c) { return notify(c, SIZE_MAX); }

void tr_condition_statistics(const tr_condition *c, tr_condition_stats *out) {
    const cond *k = as_ccond(c);
    out->tasks_waiting = k->lot.count;
    tr_lock_statistics(pub_lock(k->lock), &out->lock_statistics);
}
