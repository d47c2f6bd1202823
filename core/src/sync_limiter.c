/* trio.CapacityLimiter: tokens lent to borrowers, FIFO waiters, a total
 * that can change at run time. The borrowers form a set (one token each),
 * kept in an open-addressing table that exists only while tokens are out. */
#include "sync_internal.h"

/* A limiter's state; tr_capacity_limiter is its caller-allocated storage. */
typedef struct limiter {
    tr__lot lot;          /* waiting acquirers (nodes inside struct waiter) */
    size_t total;         /* the limit, TR_UNBOUNDED for none */
    size_t borrowed;      /* tokens out = borrowers in the table */
    const void **table;   /* borrower set, linear probing; NULL while empty */
    size_t cap;           /* slots in table, a power of two (0: no table) */
    tr__run *run;         /* the run whose allocator owns table */
} limiter;
_Static_assert(sizeof(limiter) <= sizeof(tr_capacity_limiter), "tr_capacity_limiter too small");

/* A waiting acquirer, on its stack. */
typedef struct waiter {
    tr__lot_node node;    /* its place in the lot */
    const void *borrower; /* on whose behalf it waits */
} waiter;

static limiter *as_lim(tr_capacity_limiter *l) { return (limiter *)(void *)l; }
static const limiter *as_clim(const tr_capacity_limiter *l) {
    return (const limiter *)(const void *)l;
}

/* ---- the borrower set ---------------------------------------------------- */

static size_t slot_of(const limiter *l, const void *b) {
    uint64_t h = (uint64_t)(uintptr_t)b * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 32) & (l->cap - 1);
}

/* The slot holding b, or SIZE_MAX. */
static size_t find(const limiter *l, const void *b) {
    if (!l->cap) return SIZE_MAX;
    for (size_t i = slot_of(l, b);; i = (i + 1) & (l->cap - 1)) {
        if (l->table[i] == b) return i;
        if (!l->table[i]) return SIZE_MAX;
    }
}

static void put(limiter *l, const void *b) {
    size_t i = slot_of(l, b);
    while (l->table[i]) i = (i + 1) & (l->cap - 1);
    l->table[i] = b;
}

/* Make room for one more borrower (load factor at most 1/2). */
static int reserve_one(limiter *l) {
    if ((l->borrowed + 1) * 2 <= l->cap) return 0;
    tr__run *r = l->run ? l->run : tr__need_run("tr_capacity_limiter_acquire");
    size_t ncap = l->cap ? l->cap * 2 : 8;
    const void **nt = tr__alloc_owned(r, ncap * sizeof *nt);
    if (!nt) return -ENOMEM;
    memset(nt, 0, ncap * sizeof *nt);
    const void **old = l->table;
    size_t ocap = l->cap;
    l->table = nt;
    l->cap = ncap;
    l->run = r;
    for (size_t i = 0; i < ocap; i++)
        if (old[i]) put(l, old[i]);
    tr__free_owned(r, old);
    return 0;
}

static void insert(limiter *l, const void *b) {
    put(l, b);
    l->borrowed++;
}

/* Remove slot i, shifting later entries of its probe run back. */
static void remove_at(limiter *l, size_t i) {
    size_t mask = l->cap - 1;
    l->table[i] = NULL;
    for (size_t j = (i + 1) & mask; l->table[j]; j = (j + 1) & mask) {
        const void *b = l->table[j];
        size_t home = slot_of(l, b);
        /* b may move to i when i lies cyclically in [home, j). */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            l->table[i] = b;
            l->table[j] = NULL;
            i = j;
        }
    }
    l->borrowed--;
}

/* No token is out: give the table back (it exists only while needed). */
static void maybe_free(limiter *l) {
    if (l->borrowed || !l->table) return;
    tr__free_owned(l->run, l->table);
    l->table = NULL;
    l->cap = 0;
    l->run = NULL;
}

/* ---- tokens ---------------------------------------------------------------- */

static size_t available(const limiter *l) {
    if (l->total == TR_UNBOUNDED) return SIZE_MAX;
    return l->total > l->borrowed ? l->total - l->borrowed : 0;
}

/* Hand free tokens to the oldest waiters. */
static int wake_waiters(limiter *l) {
    while (available(l) && l->lot.first) {
        waiter *w = (waiter *)(void *)l->lot.first;
        int rc = 0;
        /* Two tasks waited for one borrower: the second one gets the error
         * acquire_nowait would have given it. */
        if (find(l, w->borrower) != SIZE_MAX) rc = -EDEADLK;
        else if (reserve_one(l) != 0) return -ENOMEM;
        tr__lot_pop(&l->lot);
        if (rc == 0) insert(l, w->borrower);
        tr__wake(w->node.task->run, w->node.task, rc);
    }
    return 0;
}

static int try_take(limiter *l, const void *borrower) {
    if (find(l, borrower) != SIZE_MAX) return -EDEADLK;
    if (!available(l) || l->lot.first) return -EWOULDBLOCK;
    if (reserve_one(l) != 0) return -ENOMEM;
    insert(l, borrower);
    return 0;
}

/* ---- public ------------------------------------------------------------ */

void tr_capacity_limiter_init(tr_capacity_limiter *l, size_t total_tokens) {
    *as_lim(l) = (limiter){.total = total_tokens};
}

#undef tr_capacity_limiter_acquire_on_behalf_of
TR__UNSITED(int, tr_capacity_limiter_acquire_on_behalf_of,
            (tr_capacity_limiter *lim, const void *borrower), (lim, borrower))
int TR__AT(tr_capacity_limiter_acquire_on_behalf_of)(tr_capacity_limiter *lim,
                                                      const void *borrower) {
    limiter *l = as_lim(lim);
    tr_task *t = tr__need_task("tr_capacity_limiter_acquire_on_behalf_of");
    int rc = tr__checkpoint_if_cancelled(t);
    if (rc) return rc;
    rc = try_take(l, borrower);
    if (rc == 0) tr__yield_unless_alone(t);
    if (rc != -EWOULDBLOCK) return rc;
    waiter w = {.borrower = borrower};
    return tr__lot_park(&l->lot, &w.node, t);
}

#undef tr_capacity_limiter_acquire
TR__UNSITED(int, tr_capacity_limiter_acquire, (tr_capacity_limiter *l), (l))
int TR__AT(tr_capacity_limiter_acquire)(tr_capacity_limiter *l) {
    tr_task *t = tr__need_task("tr_capacity_limiter_acquire");
    return TR__AT(tr_capacity_limiter_acquire_on_behalf_of)(l, t); /* (the caller's site) */
}

int tr_capacity_limiter_acquire_on_behalf_of_nowait(tr_capacity_limiter *l, const void *borrower) {
    return try_take(as_lim(l), borrower);
}

int tr_capacity_limiter_acquire_nowait(tr_capacity_limiter *l) {
    return try_take(as_lim(l), tr__need_task("tr_capacity_limiter_acquire_nowait"));
}

int tr_capacity_limiter_release_on_behalf_of(tr_capacity_limiter *lim, const void *borrower) {
    limiter *l = as_lim(lim);
    size_t i = find(l, borrower);
    if (i == SIZE_MAX) return -EPERM;
    remove_at(l, i);
    (void)wake_waiters(l); /* a slot was just freed: cannot run out of memory */
    maybe_free(l);
    return 0;
}

int tr_capacity_limiter_release(tr_capacity_limiter *l) {
    return tr_capacity_limiter_release_on_behalf_of(l, tr__need_task("tr_capacity_limiter_release"));
}

int tr_capacity_limiter_set_total_tokens(tr_capacity_limiter *lim, size_t total_tokens) {
    limiter *l = as_lim(lim);
    l->total = total_tokens;
    int rc = wake_waiters(l);
    maybe_free(l);
    return rc;
}

size_t tr_capacity_limiter_total_tokens(const tr_capacity_limiter *l) { return as_clim(l)->total; }
size_t tr_capacity_limiter_borrowed_tokens(const tr_capacity_limiter *l) {
    return as_clim(l)->borrowed;
}
size_t tr_capacity_limiter_available_tokens(const tr_capacity_limiter *l) {
    return available(as_clim(l));
}

bool tr_capacity_limiter_is_borrower(const tr_capacity_limiter *l, const void *borrower) {
    return find(as_clim(l), borrower) != SIZE_MAX;
}

void tr_capacity_limiter_statistics(const tr_capacity_limiter *lim, tr_capacity_limiter_stats *out) {
    const limiter *l = as_clim(lim);
    out->borrowed_tokens = l->borrowed;
    out->total_tokens = l->total;
    out->tasks_waiting = l->lot.count;
}
