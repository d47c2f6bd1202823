/* Idle waiters (tr_wait_all_tasks_blocked) and clock holds: what the run
 * loop consults when no task is runnable. Waiters are kept sorted by
 * (cushion, arrival), so the loop looks only at the first. */
#include "internal.h"

/* One task waiting for the run to go idle; on that task's stack. */
typedef struct tr__idle_waiter {
    struct tr__idle_waiter *prev;
    struct tr__idle_waiter *next;
    tr_duration cushion; /* real time the run must stay idle */
    tr_task *task;       /* who waits */
} tr__idle_waiter;

static void insert_sorted(tr__run *r, tr__idle_waiter *w) {
    tr__idle_waiter **link = &r->idle_first, *prev = NULL;
    while (*link && (*link)->cushion <= w->cushion) {
        prev = *link;
        link = &(*link)->next;
    }
    w->prev = prev;
    w->next = *link;
    if (w->next) w->next->prev = w;
    *link = w;
}

static void unlink_waiter(tr__run *r, tr__idle_waiter *w) {
    if (w->prev) w->prev->next = w->next;
    else r->idle_first = w->next;
    if (w->next) w->next->prev = w->prev;
}

static int idle_abort(void *ctx, tr_task *t) {
    unlink_waiter(t->run, ctx);
    return TR_ABORT_SUCCEEDED;
}

tr_duration tr__idle_cushion(const tr__run *r) {
    return r->idle_first ? r->idle_first->cushion : TR_INF;
}

/* The run stayed idle for the smallest cushion: wake every waiter that has
 * it, in the order they came. */
void tr__idle_wake(tr__run *r) {
    tr_duration c = tr__idle_cushion(r);
    while (r->idle_first && r->idle_first->cushion == c) {
        tr__idle_waiter *w = r->idle_first;
        unlink_waiter(r, w);
        tr__wake(r, w->task, 0);
    }
}

#undef tr_wait_all_tasks_blocked
TR__UNSITED(int, tr_wait_all_tasks_blocked, (tr_duration cushion), (cushion))
int TR__AT(tr_wait_all_tasks_blocked)(tr_duration cushion) {
    tr_task *t = tr__need_task("tr_wait_all_tasks_blocked");
    if (cushion < 0) return -EINVAL;
    tr__idle_waiter w = {.cushion = cushion, .task = t};
    insert_sorted(t->run, &w);
    return tr__park(t->run, t, idle_abort, &w);
}

void tr_clock_hold(void) { tr__need_run("tr_clock_hold")->clock_holds++; }

void tr_clock_release(void) {
    tr__run *r = tr__need_run("tr_clock_release");
    TR__REQUIRE(r->clock_holds > 0, "tr_clock_release", "no clock hold to release");
    r->clock_holds--;
}
