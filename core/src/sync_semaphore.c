/* trio.Semaphore: a counter with FIFO waiters; release hands its unit
 * straight to the oldest waiter instead of incrementing the value. */
#include "sync_internal.h"

/* A semaphore's state; tr_semaphore is its caller-allocated storage. */
typedef struct sem {
    tr__lot lot;  /* tasks waiting in acquire (only while value == 0) */
    size_t value; /* units available */
    size_t max;   /* bound of value, TR_UNBOUNDED for none */
} sem;
_Static_assert(sizeof(sem) <= sizeof(tr_semaphore), "tr_semaphore too small");

static sem *as_sem(tr_semaphore *s) { return (sem *)(void *)s; }
static const sem *as_csem(const tr_semaphore *s) { return (const sem *)(const void *)s; }

int tr_semaphore_init(tr_semaphore *s, size_t initial_value, size_t max_value) {
    if (initial_value > max_value) return -EINVAL;
    *as_sem(s) = (sem){.value = initial_value, .max = max_value};
    return 0;
}

static int try_take(sem *s) {
    if (s->value == 0) return -EWOULDBLOCK;
    s->value--;
    return 0;
}

#undef tr_semaphore_acquire
TR__UNSITED(int, tr_semaphore_acquire, (tr_semaphore *semaphore), (semaphore))
int TR__AT(tr_semaphore_acquire)(tr_semaphore *semaphore) {
    sem *s = as_sem(semaphore);
    tr_task *t = tr__need_task("tr_semaphore_acquire");
    int rc = tr__checkpoint_if_cancelled(t);
    if (rc) return rc;
    if (try_take(s) == 0) {
        tr__yield_unless_alone(t);
        return 0;
    }
    /* release hands us its unit directly: the value stays 0. */
    tr__lot_node n;
    return tr__lot_park(&s->lot, &n, t);
}

int tr_semaphore_acquire_nowait(tr_semaphore *s) { return try_take(as_sem(s)); }

int tr_semaphore_release(tr_semaphore *semaphore) {
    sem *s = as_sem(semaphore);
    if (s->value == s->max) return -EINVAL;
    if (tr__lot_wake(&s->lot, 1, 0)) return 0;
    s->value++;
    return 0;
}

size_t tr_semaphore_value(const tr_semaphore *s) { return as_csem(s)->value; }
size_t tr_semaphore_max_value(const tr_semaphore *s) { return as_csem(s)->max; }

void tr_semaphore_statistics(const tr_semaphore *s, tr_semaphore_stats *out) {
    out->tasks_waiting = as_csem(s)->lot.count;
}
