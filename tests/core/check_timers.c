/* The run's timer heap against a model: random inserts, removals and
 * re-keys at every position, equal deadlines, and the overflow list that
 * takes timers when the array cannot grow. The order is what users see:
 * deadlines fire earliest first, equal ones in the order they were set. */
#include <check.h>
#include <stdlib.h>

#include "internal.h"

/* ---- a run with nothing but an allocator ------------------------------ */

static long allocs_left; /* allocations that succeed; < 0: unlimited */

static void *test_alloc(void *ctx, void *p, size_t size) {
    (void)ctx;
    if (size == 0) {
        free(p);
        return NULL;
    }
    if (allocs_left == 0) return NULL;
    if (allocs_left > 0) allocs_left--;
    return realloc(p, size);
}

static uint64_t rng_state;
static uint64_t rng(void) { /* xorshift64*: the same sequence on every build */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

#define N 3000
static tr__timer timers[N];
static bool armed[N]; /* the model: which timers are set */

static void setup(tr__run *r, long allocs) {
    *r = (tr__run){.alloc = test_alloc};
    allocs_left = allocs;
    for (int i = 0; i < N; i++) {
        timers[i] = (tr__timer){.heap_index = TR__NOT_IN_HEAP, .kind = TR__TIMER_SLEEP};
        armed[i] = false;
    }
}

/* The model's minimum: earliest deadline, then lowest sequence number. */
static tr__timer *model_min(void) {
    tr__timer *best = NULL;
    for (int i = 0; i < N; i++) {
        tr__timer *t = &timers[i];
        if (!armed[i]) continue;
        if (!best || t->deadline < best->deadline ||
            (t->deadline == best->deadline && t->seq < best->seq))
            best = t;
    }
    return best;
}

/* Few distinct deadlines, so that ties are common. */
static tr_time random_deadline(void) { return (tr_time)(rng() % 200) * TR_MS(1); }

static void random_op(tr__run *r) {
    int i = (int)(rng() % N);
    uint64_t op = rng() % 3;
    if (!armed[i]) {
        tr__heap_insert(r, &timers[i], random_deadline());
        armed[i] = true;
    } else if (op == 0) {
        tr__heap_remove(&r->heap, &timers[i]);
        ck_assert_uint_eq(timers[i].heap_index, TR__NOT_IN_HEAP);
        armed[i] = false;
    } else {
        tr__heap_rekey(r, &timers[i], random_deadline());
    }
}

/* Pops everything as the run loop does (tr__heap_pop_due): the order must
 * be (deadline, seq) ascending, nothing may come out before its deadline,
 * and every armed timer must come out exactly once. */
static void drain_in_order(tr__run *r) {
    tr__timer *prev = NULL;
    size_t left = 0;
    for (int i = 0; i < N; i++) left += armed[i];
    while (!tr__heap_empty(&r->heap)) {
        tr__timer *m = tr__heap_min(&r->heap);
        ck_assert_ptr_eq(m, model_min());
        if (prev)
            ck_assert(prev->deadline < m->deadline ||
                      (prev->deadline == m->deadline && prev->seq < m->seq));
        ck_assert_ptr_null(tr__heap_pop_due(&r->heap, m->deadline - 1)); /* (deadlines >= 0) */
        ck_assert_ptr_eq(tr__heap_pop_due(&r->heap, m->deadline), m);
        ck_assert_uint_eq(m->heap_index, TR__NOT_IN_HEAP);
        armed[m - timers] = false;
        prev = m;
        left--;
    }
    ck_assert_uint_eq(left, 0);
    ck_assert_ptr_null(model_min());
}

START_TEST(test_heap_matches_model) {
    tr__run r;
    setup(&r, -1);
    rng_state = 0x9e3779b97f4a7c15ull;
    for (int step = 0; step < 60000; step++) {
        random_op(&r);
        if (step % 97 == 0) ck_assert_ptr_eq(tr__heap_min(&r.heap), model_min());
    }
    drain_in_order(&r);
    tr__heap_free(&r);
}
END_TEST

START_TEST(test_equal_deadlines_fire_in_set_order) {
    tr__run r;
    setup(&r, -1);
    for (int i = N - 1; i >= 0; i--) {
        tr__heap_insert(&r, &timers[i], TR_SEC(1));
        armed[i] = true;
    }
    /* Re-keying to the same deadline counts as setting it again: last. */
    tr__heap_rekey(&r, &timers[N - 1], TR_SEC(1));
    tr__timer *order[N];
    for (int k = 0; k < N; k++) {
        order[k] = tr__heap_min(&r.heap);
        tr__heap_remove(&r.heap, order[k]);
    }
    for (int k = 0; k < N - 1; k++) ck_assert_ptr_eq(order[k], &timers[N - 2 - k]);
    ck_assert_ptr_eq(order[N - 1], &timers[N - 1]);
    ck_assert(tr__heap_empty(&r.heap));
    tr__heap_free(&r);
}
END_TEST

/* With the allocator failing after the first array, later timers go to the
 * overflow list: nothing is lost and the order still holds. */
START_TEST(test_overflow_when_array_cannot_grow) {
    tr__run r;
    setup(&r, 1); /* one array of 64: the rest overflows */
    rng_state = 42;
    for (int step = 0; step < 20000; step++) random_op(&r);
    ck_assert_uint_eq(r.heap.cap, 64);
    ck_assert_ptr_nonnull(r.heap.overflow);
    drain_in_order(&r);
    tr__heap_free(&r);
}
END_TEST

static Suite *timers_suite(void) {
    Suite *s = suite_create("timers");
    TCase *tc = tcase_create("heap");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_heap_matches_model);
    tcase_add_test(tc, test_equal_deadlines_fire_in_set_order);
    tcase_add_test(tc, test_overflow_when_array_cannot_grow);
    suite_add_tcase(s, tc);
    return s;
}

#include "check_main.h"
CTRIO_CHECK_MAIN(timers_suite)
