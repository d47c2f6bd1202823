/* Scheduling policies for simulated runs. Each orders one batch of runnable
 * tasks (Trio's model: a batch is every task runnable when it starts) and
 * reads its choices from the decision log's "sched" stream, so a replayed
 * log reproduces the order exactly. */
#include "sim_internal.h"

#include <errno.h>
#include <stdlib.h>

/* Steps over which PCT spreads its change points. */
#define PCT_HORIZON 10000u

/* Fisher-Yates: n - 1 decisions per batch. */
static void shuffle(tr__sim *s, tr_task **b, size_t n) {
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = tr__dlog_next(&s->log, TR__STREAM_SCHED, (uint32_t)(i + 1));
        tr_task *t = b[i];
        b[i] = b[j];
        b[j] = t;
    }
}

/* ---- PCT ------------------------------------------------------------------ */

int tr__sim_policy_init(tr__sim *s) {
    if (s->policy != TR_SIM_PCT) return 0;
    if (s->pct_depth < 1 || s->pct_depth > 17) return -EINVAL;
    s->n_change = s->pct_depth - 1;
    for (unsigned i = 0; i < s->n_change; i++)
        s->change[i] = tr__dlog_next(&s->log, TR__STREAM_SCHED, PCT_HORIZON);
    return 0;
}

void tr__sim_policy_free(tr__sim *s) {
    free(s->prio);
    s->prio = NULL;
    s->prio_cap = 0;
}

/* A task's priority; new tasks get a random one above every change value. */
static uint32_t priority(tr__sim *s, tr_task *t) {
    uint64_t id = tr_task_id(t);
    if (id >= s->prio_cap) {
        size_t cap = s->prio_cap ? s->prio_cap : 64;
        while (cap <= id) cap *= 2;
        uint32_t *p = realloc(s->prio, cap * sizeof *p);
        if (!p) return 1u << 30; /* out of memory: a fixed priority, still deterministic */
        for (size_t i = s->prio_cap; i < cap; i++) p[i] = 0;
        s->prio = p;
        s->prio_cap = cap;
    }
    if (!s->prio[id]) s->prio[id] = 32 + tr__dlog_next(&s->log, TR__STREAM_SCHED, 1u << 30);
    return s->prio[id];
}

static bool higher(tr__sim *s, tr_task *a, tr_task *b) {
    uint32_t pa = priority(s, a), pb = priority(s, b);
    return pa > pb || (pa == pb && tr_task_id(a) < tr_task_id(b));
}

/* Highest priority first (insertion sort: batches are small, and the order
 * of ties is fixed by task id). At a change point, the task that is about to
 * run drops below every other. */
static void pct(tr__sim *s, tr_task **b, size_t n) {
    for (size_t i = 1; i < n; i++) {
        tr_task *t = b[i];
        size_t j = i;
        for (; j > 0 && higher(s, t, b[j - 1]); j--) b[j] = b[j - 1];
        b[j] = t;
    }
    for (unsigned c = 0; c < s->n_change; c++) {
        if (s->change[c] < s->steps || s->change[c] >= s->steps + n) continue;
        uint64_t id = tr_task_id(b[0]);
        if (id < s->prio_cap) s->prio[id] = 1 + c; /* below all initial priorities */
    }
}

void tr__sim_order_batch(tr__sim *s, tr_task **batch, size_t n) {
    switch (s->policy) {
    case TR_SIM_FIFO: break;
    case TR_SIM_RANDOM: shuffle(s, batch, n); break;
    case TR_SIM_PCT: pct(s, batch, n); break;
    }
}
