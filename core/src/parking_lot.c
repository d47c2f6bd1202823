/* The parking lot (trio.lowlevel.ParkingLot): a strictly FIFO queue of
 * parked tasks, intrusive so that parking allocates nothing (each node lives
 * on its parked task's stack). Every other primitive is built on it. */
#include "sync_internal.h"

static tr__lot *as_lot(tr_parking_lot *lot) { return (tr__lot *)(void *)lot; }
static const tr__lot *as_clot(const tr_parking_lot *lot) {
    return (const tr__lot *)(const void *)lot;
}

/* Cancellation reached a parked task: take it out of the lot it is in now
 * (a repark may have moved it since it parked). */
int tr__lot_abort(void *ctx, tr_task *t) {
    (void)t;
    tr__lot_unlink(ctx);
    return TR_ABORT_SUCCEEDED;
}

/* The shielded variant refuses: the task stays queued until woken. */
static int lot_refuse_abort(void *ctx, tr_task *t) {
    (void)ctx;
    (void)t;
    return TR_ABORT_FAILED;
}

int tr__lot_park_shielded(tr__lot *lot, tr__lot_node *n, tr_task *t) {
    n->task = t;
    tr__lot_push(lot, n);
    return tr__park(t->run, t, lot_refuse_abort, n);
}

size_t tr__lot_wake(tr__lot *lot, size_t n, int value) {
    size_t woken = 0;
    tr__lot_node *node;
    while (woken < n && (node = tr__lot_pop(lot))) {
        tr_task *t = node->task;
        tr__wake(t->run, t, value);
        woken++;
    }
    return woken;
}

/* ---- public ------------------------------------------------------------ */

void tr_parking_lot_init(tr_parking_lot *lot) { *as_lot(lot) = (tr__lot){0}; }

#undef tr_parking_lot_park
TR__UNSITED(int, tr_parking_lot_park, (tr_parking_lot *lot), (lot))
int TR__AT(tr_parking_lot_park)(tr_parking_lot *lot) {
    tr_task *t = tr__need_task("tr_parking_lot_park");
    tr__lot_node n;
    return tr__lot_park(as_lot(lot), &n, t);
}

size_t tr_parking_lot_unpark(tr_parking_lot *lot, size_t n) { return tr__lot_wake(as_lot(lot), n, 0); }

size_t tr_parking_lot_unpark_all(tr_parking_lot *lot) {
    return tr__lot_wake(as_lot(lot), SIZE_MAX, 0);
}

tr_task *tr_parking_lot_unpark_one(tr_parking_lot *lot) {
    tr__lot_node *n = tr__lot_pop(as_lot(lot));
    if (!n) return NULL;
    tr_task *t = n->task;
    tr__wake(t->run, t, 0);
    return t;
}

size_t tr_parking_lot_repark(tr_parking_lot *lot, size_t n, tr_parking_lot *other) {
    tr__lot *from = as_lot(lot), *to = as_lot(other);
    size_t moved = 0;
    if (from == to) return 0;
    tr__lot_node *node;
    while (moved < n && (node = tr__lot_pop(from))) {
        tr__lot_push(to, node);
        moved++;
    }
    return moved;
}

size_t tr_parking_lot_repark_all(tr_parking_lot *lot, tr_parking_lot *other) {
    return tr_parking_lot_repark(lot, SIZE_MAX, other);
}

void tr_parking_lot_statistics(const tr_parking_lot *lot, tr_parking_lot_stats *out) {
    out->tasks_waiting = as_clot(lot)->count;
}
