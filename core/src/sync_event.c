/* trio.Event: a flag that is set once and wakes every waiter. */
#include "sync_internal.h"

/* An event's state; tr_event is its caller-allocated storage. */
typedef struct event {
    tr__lot lot; /* tasks waiting for the flag */
    bool flag;   /* set once, never cleared */
} event;
_Static_assert(sizeof(event) <= sizeof(tr_event), "tr_event too small");

static event *as_event(tr_event *ev) { return (event *)(void *)ev; }
static const event *as_cevent(const tr_event *ev) { return (const event *)(const void *)ev; }

void tr_event_init(tr_event *ev) { *as_event(ev) = (event){0}; }

void tr_event_set(tr_event *ev) {
    event *e = as_event(ev);
    if (e->flag) return;
    e->flag = true;
    tr__lot_wake(&e->lot, SIZE_MAX, 0);
}

bool tr_event_is_set(const tr_event *ev) { return as_cevent(ev)->flag; }

#undef tr_event_wait
TR__UNSITED(int, tr_event_wait, (tr_event *ev), (ev))
int TR__AT(tr_event_wait)(tr_event *ev) {
    event *e = as_event(ev);
    tr_task *t = tr__need_task("tr_event_wait");
    if (e->flag) {
        return tr__checkpoint(t); /* trio.lowlevel.checkpoint() */
    }
    tr__lot_node n;
    return tr__lot_park(&e->lot, &n, t);
}

void tr_event_statistics(const tr_event *ev, tr_event_stats *out) {
    out->tasks_waiting = as_cevent(ev)->lot.count;
}
