/* Private parts shared by the synchronization primitives and the channels:
 * the intrusive parking-lot queue and the checkpoint helpers. Not
 * installed. */
#ifndef CTRIO_SYNC_INTERNAL_H
#define CTRIO_SYNC_INTERNAL_H

#include "internal.h"

/* One parked task's place in a lot; it lives on that task's stack for as
 * long as the task is parked. Primitives that need more per waiter embed it
 * (see channel.c). */
typedef struct tr__lot_node {
    struct tr__lot_node *prev; /* towards the front of the queue */
    struct tr__lot_node *next; /* towards the back */
    struct tr__lot *lot;       /* the lot it is queued in (repark changes it) */
    tr_task *task;             /* the parked task */
} tr__lot_node;

/* A FIFO of parked tasks. All-zero bytes are an empty lot. */
typedef struct tr__lot {
    tr__lot_node *first; /* oldest, woken first */
    tr__lot_node *last;  /* newest */
    size_t count;        /* nodes queued */
} tr__lot;
_Static_assert(sizeof(tr__lot) <= sizeof(tr_parking_lot), "tr_parking_lot too small");

/* Queue node at the back of lot. */
static inline void tr__lot_push(tr__lot *lot, tr__lot_node *n) {
    n->lot = lot;
    n->next = NULL;
    n->prev = lot->last;
    if (lot->last) lot->last->next = n;
    else lot->first = n;
    lot->last = n;
    lot->count++;
}

/* Take node out of the lot it is queued in. */
static inline void tr__lot_unlink(tr__lot_node *n) {
    tr__lot *lot = n->lot;
    if (n->prev) n->prev->next = n->next;
    else lot->first = n->next;
    if (n->next) n->next->prev = n->prev;
    else lot->last = n->prev;
    lot->count--;
    n->lot = NULL;
}

/* Take the oldest node out of lot (NULL when empty); the caller wakes it.
 * (tr__lot_unlink for the first node: it has no prev, and lot is known.) */
static inline tr__lot_node *tr__lot_pop(tr__lot *lot) {
    tr__lot_node *n = lot->first;
    if (!n) return NULL;
    tr__lot_node *next = n->next;
    lot->first = next;
    if (next) next->prev = NULL;
    else lot->last = NULL;
    lot->count--;
    n->lot = NULL;
    return n;
}

/* A parked task's abort function: takes its node (ctx) out of its lot. */
int tr__lot_abort(void *ctx, tr_task *t);

/* Park task t (the current task) in lot with node n (on t's stack) until a
 * wake; a cancellation takes n out of whatever lot it is in by then. Up to
 * the switch (tr__hop_planned): the wake value or -ECANCELED comes when t
 * runs again. r: t's run. fast: tr__fast_path_ok(r, t) held when the call began. */
static inline __attribute__((always_inline)) tr__hop tr__lot_park_hop_as(tr__lot *lot,
                                                                         tr__lot_node *n,
                                                                         tr__run *r, tr_task *t,
                                                                         bool fast) {
    n->task = t;
    tr__lot_push(lot, n);
    tr__park_prepare_as(r, t, tr__lot_abort, n, fast);
    return tr__hop_planned(t, TR__HOP_WAKE_VALUE, tr__switch_plan_as(r, t, fast));
}

/* The same, whole: returns the wake value, or -ECANCELED. Inline: see
 * tr__park_prepare. */
static inline __attribute__((always_inline)) int tr__lot_park(tr__lot *lot, tr__lot_node *n,
                                                              tr_task *t) {
    return tr__hop_here(tr__lot_park_hop_as(lot, n, t->run, t, false), TR__HOP_WAKE_VALUE);
}

/* As tr__lot_park, but cancellation cannot reach the task: it waits until
 * woken (Condition.wait's shielded re-acquire). */
int tr__lot_park_shielded(tr__lot *lot, tr__lot_node *n, tr_task *t);

/* Wake up to n of lot's oldest tasks with value; returns how many. */
size_t tr__lot_wake(tr__lot *lot, size_t n, int value);

/* ---- the lock, for the condition ------------------------------------------ */

/* A lock's state; tr_lock is its caller-allocated storage. */
typedef struct tr__lock {
    tr__lot lot;    /* waiting acquirers, oldest first */
    tr_task *owner; /* holder, or NULL */
} tr__lock;
_Static_assert(sizeof(tr__lock) <= sizeof(tr_lock), "tr_lock too small");

static inline tr__lock *tr__as_lock(tr_lock *l) { return (tr__lock *)(void *)l; }

/* Acquire for task t with no cancel point: take the lock at once if free,
 * else wait for it whatever happens (used after a cancelled wait). */
void tr__lock_acquire_shielded(tr__lock *l, tr_task *t);

#endif
