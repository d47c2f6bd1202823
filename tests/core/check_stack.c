/* Task stacks: custom sizes, overflow detection, many live tasks. */
#define _GNU_SOURCE
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "ctrio.h"
#include "internal.h"
#include "test_util.h"
#include "vclock.h"

/* Uses about depth KiB of stack in 1 KiB frames (smaller than any guard
 * page, so an overflow cannot step over the guard). */
__attribute__((noinline)) static int burn(int depth) {
    volatile char frame[1024];
    /* Byte by byte through the volatile lvalue: a memset through a cast that
     * drops volatile lets the compiler shrink the frame (clang does). */
    for (size_t i = 0; i < sizeof frame; i++) frame[i] = (char)(depth & 0x7f);
    if (depth <= 0) return frame[0];
    int below = burn(depth - 1);
    return below + frame[sizeof frame - 1] - (depth & 0x7f);
}

typedef struct burn_args {
    int kib;      /* how deep to go */
    int result;   /* what burn returned */
} burn_args;

static int burner(void *arg) {
    burn_args *b = arg;
    b->result = burn(b->kib);
    return 0;
}

/* A neighbour with a canary on its stack, checked after a sibling used most
 * of its own stack. */
static int neighbour(void *arg) {
    int *ok = arg;
    volatile unsigned char canary[2048];
    for (size_t i = 0; i < sizeof canary; i++) canary[i] = (unsigned char)(i * 7 + 3);
    int rc = tr_sleep(TR_SEC(1));
    for (size_t i = 0; i < sizeof canary; i++)
        if (canary[i] != (unsigned char)(i * 7 + 3)) return -EIO;
    *ok = 1;
    return rc;
}

static int custom_stack_main(void *arg) {
    (void)arg;
    size_t size = 1024 * 1024;
    int ok_before = 0, ok_after = 0;
    burn_args b = {.kib = (int)(size / 1024) * 3 / 4};
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_start_soon(&n, neighbour, &ok_before), 0);
    ck_assert_int_eq(tr_spawn(&n, burner, &b,
                              &(tr_spawn_opts){.name = "burner", .stack_size_bytes = size}),
                     0);
    ck_assert_int_eq(tr_start_soon(&n, neighbour, &ok_after), 0);
    int rc = tr_nursery_join(&n, 0);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(b.result, 0);
    ck_assert_int_eq(ok_before, 1);
    ck_assert_int_eq(ok_after, 1);
    return 0;
}

START_TEST(test_custom_stack_size_usable) {
    tr_time end = -1;
    ck_assert_int_eq(tr_test_run(custom_stack_main, NULL, &end), 0);
    ck_assert_int_eq(end, TR_SEC(1));
}
END_TEST

static int run_stack_main(void *arg) {
    burn_args *b = arg;
    b->result = burn(b->kib);
    return 0;
}

START_TEST(test_run_stack_size_option) {
    /* The run's stack size applies to main (and to children by default). */
    burn_args b = {.kib = 384};
    tr_run_opts o = {.stack_size_bytes = 512 * 1024};
    ck_assert_int_eq(tr_test_run_opts(run_stack_main, &b, &o, 0, NULL), 0);
    ck_assert_int_eq(b.result, 0);
}
END_TEST

static int default_stack_main(void *arg) {
    (void)arg;
    burn_args b = {.kib = (int)(TR_DEFAULT_STACK_SIZE / 1024) / 2};
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_start_soon(&n, burner, &b), 0);
    int rc = tr_nursery_join(&n, 0);
    ck_assert_int_eq(b.result, 0);
    return rc;
}

START_TEST(test_default_stack_usable) {
    ck_assert_int_eq(tr_test_run(default_stack_main, NULL, NULL), 0);
}
END_TEST

/* ---- Overflow ------------------------------------------------------------------ */

static int overflow_main(void *arg) {
    (void)arg;
    int ok = 0;
    /* Eight times the stack: must hit the guard page, not a neighbour. */
    burn_args b = {.kib = 64 * 8};
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_start_soon(&n, neighbour, &ok), 0);
    ck_assert_int_eq(tr_spawn(&n, burner, &b,
                              &(tr_spawn_opts){.name = "overflow", .stack_size_bytes = 64 * 1024}),
                     0);
    ck_assert_int_eq(tr_start_soon(&n, neighbour, &ok), 0);
    int rc = tr_nursery_join(&n, 0);
    return rc;
}

START_TEST(test_overflow_hits_guard_page) {
    tr_test_run(overflow_main, NULL, NULL);
    ck_abort_msg("a stack overflow went undetected");
}
END_TEST

/* ---- Canary: stacks past the guard-page budget -------------------------------------- */

/* Past vm.max_map_count / 8 guarded regions, stacks have no guard page
 * between them; the word below each region's bottom is a canary that every
 * switch away from the task checks. */
static bool canary_found; /* a task landed on an unguarded stack */

static int parked(void *arg) {
    (void)arg;
    if (tr_current_task()->canary) canary_found = true;
    int rc = tr_sleep_forever();
    return rc == -ECANCELED ? 0 : rc;
}

/* Does what an overflow of a few bytes past its stack's end does, then
 * offers a schedule point: the switch away from it must abort, naming the
 * task (before any other task runs and could see the damage). */
static int smasher(void *arg) {
    (void)arg;
    const uint64_t *canary = tr_current_task()->canary;
    ck_assert_msg(canary != NULL, "the smasher got a guarded stack");
    *(volatile uint64_t *)(uintptr_t)canary = 0;
    int rc = tr_checkpoint();
    ck_abort_msg("an overwritten canary went unnoticed by the switch (%d)", rc);
    return -EIO;
}

/* Records its task, then stays parked (so its region stays in use). */
static int parked_recorder(void *arg) {
    *(tr_task **)arg = tr_current_task();
    return parked(NULL);
}

static int canary_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    canary_found = false;
    /* The default budget is 8,191 guarded regions; 1M is far past any. */
    for (long i = 0; i < 1000000 && !canary_found; i += 1000) {
        for (int k = 0; k < 1000; k++)
            ck_assert_int_eq(tr_spawn(&n, parked, NULL,
                                      &(tr_spawn_opts){.stack_size_bytes = 16 * 1024}),
                             0);
        ck_assert_int_eq(tr_checkpoint(), 0); /* they run up to their sleep */
    }
    ck_assert_msg(canary_found, "no unguarded stack after 1M tasks");
    /* Unguarded regions are laid out at another stride than guarded ones:
     * tasks spawned one after the other still differ in page offset. */
    tr_task *t[8] = {0};
    const tr_spawn_opts small = {.stack_size_bytes = 16 * 1024};
    for (int i = 0; i < 8; i++) ck_assert_int_eq(tr_spawn(&n, parked_recorder, &t[i], &small), 0);
    ck_assert_int_eq(tr_checkpoint(), 0);
    for (int i = 0; i < 8; i++) ck_assert(t[i] && t[i]->canary);
#if TR__STACK_COLOURS > 1
    for (int i = 1; i < 8; i++)
        ck_assert_uint_ne((uintptr_t)t[i - 1] & 4095, (uintptr_t)t[i] & 4095);
#endif
    ck_assert_int_eq(tr_spawn(&n, smasher, NULL,
                              &(tr_spawn_opts){.name = "smasher", .stack_size_bytes = 16 * 1024}),
                     0);
    /* Stay runnable, so that the smasher's checkpoint switches to us. */
    for (int i = 0; i < 3; i++) ck_assert_int_eq(tr_checkpoint(), 0);
    return tr_nursery_join(&n, 0);
}

START_TEST(test_canary_overwrite_aborts) {
    tr_test_run(canary_main, NULL, NULL);
    ck_abort_msg("the run ended");
}
END_TEST

/* ---- Ten thousand tasks ------------------------------------------------------------ */

#define MANY 10000
static long many_cancelled, many_other;

static int forever(void *arg) {
    (void)arg;
    int rc = tr_sleep_forever();
    if (rc == -ECANCELED) many_cancelled++;
    else many_other++;
    return rc;
}

static int many_nursery_cancel_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = 0;
    for (int i = 0; i < MANY && rc == 0; i++) rc = tr_start_soon(&n, forever, NULL);
    ck_assert_int_eq(rc, 0);
    rc = tr_sleep(TR_SEC(1)); /* every child is blocked by now */
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(many_cancelled, 0);
    tr_nursery_cancel(&n);
    rc = tr_nursery_join(&n, 0);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(many_cancelled, MANY);
    ck_assert_int_eq(many_other, 0);
    ck_assert_ptr_null(tr_nursery_failures(&n));
    return rc;
}

START_TEST(test_many_tasks_cancelled_by_nursery) {
    many_cancelled = many_other = 0;
    tr_time end = -1;
    ck_assert_int_eq(tr_test_run(many_nursery_cancel_main, NULL, &end), 0);
    ck_assert_int_eq(end, TR_SEC(1));
}
END_TEST

static int many_move_on_main(void *arg) {
    (void)arg;
    tr_cancel_scope cs;
    ck_assert_int_eq(tr_move_on_after(&cs, TR_SEC(1)), 0);
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = 0;
    for (int i = 0; i < MANY && rc == 0; i++) rc = tr_start_soon(&n, forever, NULL);
    ck_assert_int_eq(rc, 0);
    rc = tr_nursery_join(&n, 0);
    ck_assert_int_eq(rc, -ECANCELED);
    ck_assert_int_eq(many_cancelled, MANY);
    rc = tr_scope_exit(&cs, rc);
    ck_assert_int_eq(rc, 0);
    ck_assert(tr_scope_cancelled_caught(&cs));
    return rc;
}

START_TEST(test_many_tasks_cancelled_by_scope) {
    many_cancelled = many_other = 0;
    tr_time end = -1;
    ck_assert_int_eq(tr_test_run(many_move_on_main, NULL, &end), 0);
    ck_assert_int_eq(end, TR_SEC(1));
    ck_assert_int_eq(many_other, 0);
}
END_TEST

/* ---- Spares: the run reuses its finished tasks' regions ------------------------ */

static TR_TASK_LOCAL(spare_tag, NULL);

typedef struct spare_seen {
    tr_task *task;
    uint64_t id;
    const char *name;
    void *tag;
    tr_time deadline;
    int checkpoint_rc;
    int burn_result;
} spare_seen;

/* Leaves what it can on its task: a task-local, a cancelled scope, a failure
 * with a message, and a deep stack. */
static int spare_leaves_traces(void *arg) {
    spare_seen *s = arg;
    s->task = tr_current_task();
    s->id = tr_task_id(s->task);
    ck_assert_int_eq(tr_task_local_set(&spare_tag, "old"), 0);
    s->burn_result = burn((int)(TR_DEFAULT_STACK_SIZE / 1024) / 2);
    tr_cancel_scope cs;
    tr_scope_enter(&cs, TR_INF);
    tr_scope_cancel(&cs);
    ck_assert_int_eq(tr_scope_exit(&cs, tr_checkpoint()), 0);
    return tr_fail(-EIO, "the first task failed");
}

static int spare_fresh(void *arg) {
    spare_seen *s = arg;
    s->task = tr_current_task();
    s->id = tr_task_id(s->task);
    s->name = tr_task_name(s->task);
    s->tag = tr_task_local_get(&spare_tag);
    s->deadline = tr_current_effective_deadline();
    s->checkpoint_rc = tr_checkpoint();
    s->burn_result = burn((int)(TR_DEFAULT_STACK_SIZE / 1024) / 2);
    return 0;
}

static int spare_main(void *arg) {
    (void)arg;
    spare_seen first = {0}, second = {0};
    tr_nursery n1, n2;
    tr_nursery_open(&n1);
    ck_assert_int_eq(tr_start_soon(&n1, spare_leaves_traces, &first), 0);
    ck_assert_int_eq(tr_nursery_join(&n1, 0), -EIO);
    tr_nursery_open(&n2);
    ck_assert_int_eq(tr_start_soon(&n2, spare_fresh, &second), 0);
    ck_assert_int_eq(tr_nursery_join(&n2, 0), 0);
    /* The second task runs on the first one's region (the most recently
     * freed spare), and nothing of the first one shows. */
    ck_assert_ptr_eq(second.task, first.task);
    ck_assert_uint_eq(second.id, first.id + 1);
    ck_assert_str_eq(second.name, "spare_fresh");
    ck_assert_ptr_null(second.tag);
    ck_assert_int_eq(second.deadline, TR_INF);
    ck_assert_int_eq(second.checkpoint_rc, 0);
    ck_assert_int_eq(first.burn_result, 0);
    ck_assert_int_eq(second.burn_result, 0);
    ck_assert_ptr_null(tr_nursery_failures(&n2));
    return 0;
}

START_TEST(test_spare_region_starts_fresh) {
    ck_assert_int_eq(tr_test_run(spare_main, NULL, NULL), 0);
}
END_TEST

typedef struct big_task {
    tr_task *task;
    int result;
} big_task;

#define BIG_STACK (1024 * 1024)

/* Uses three quarters of a BIG_STACK: it would overflow a default region. */
static int big_burner(void *arg) {
    big_task *b = arg;
    b->task = tr_current_task();
    b->result = burn(BIG_STACK / 1024 * 3 / 4);
    return 0;
}

static int record_task(void *arg) {
    *(tr_task **)arg = tr_current_task();
    return 0;
}

static int spawn_joined(tr_task_fn fn, void *arg, size_t stack_size) {
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = tr_spawn(&n, fn, arg, &(tr_spawn_opts){.stack_size_bytes = stack_size});
    ck_assert_int_eq(rc, 0);
    return tr_nursery_join(&n, 0);
}

static int sizes_main(void *arg) {
    (void)arg;
    big_task big1 = {0}, big2 = {0};
    tr_task *small = NULL;
    ck_assert_int_eq(spawn_joined(big_burner, &big1, BIG_STACK), 0);
    ck_assert_int_eq(spawn_joined(record_task, &small, 0), 0);
    ck_assert_int_eq(spawn_joined(big_burner, &big2, BIG_STACK), 0);
    /* Only regions of the run's default size are kept as its spares: the
     * default-size task did not get the big region, and the second big task
     * got a big one (a default region would have overflowed). */
    ck_assert_ptr_ne(small, big1.task);
    ck_assert_int_eq(big1.result, 0);
    ck_assert_int_eq(big2.result, 0);
    return 0;
}

START_TEST(test_spares_keep_their_size) {
    ck_assert_int_eq(tr_test_run(sizes_main, NULL, NULL), 0);
}
END_TEST

/* Tasks that run in turn must not keep their structs (and the stacks below
 * them) at the same offset in a page, or the CPU stalls loads on the other
 * task's stores (4K aliasing: stack.c). Tasks spawned one after the other
 * from fresh regions get neighbouring regions of alternating colours. (The
 * unguarded slabs' stride: test_canary_overwrite_aborts.) */
#define COLOURED 8
static int colours_main(void *arg) {
    (void)arg;
    tr_task *t[COLOURED] = {0};
    tr_nursery n;
    tr_nursery_open(&n);
    for (int i = 0; i < COLOURED; i++) ck_assert_int_eq(tr_start_soon(&n, record_task, &t[i]), 0);
    ck_assert_int_eq(tr_nursery_join(&n, 0), 0);
    for (int i = 0; i < COLOURED; i++) {
        const char *top = t[i]->stack.lo + t[i]->stack.size;
        size_t below_top = (size_t)(top - (const char *)t[i]);
        /* Still in the region's top page, above the canary area. */
        ck_assert_uint_ge(below_top, 64 + sizeof(tr_task));
        ck_assert_uint_le(below_top, 64 + sizeof(tr_task) + 63 +
                                         (TR__STACK_COLOURS - 1) * TR__STACK_COLOUR_BYTES);
#if TR__STACK_COLOURS > 1
        if (i == 0) continue;
        uintptr_t a = (uintptr_t)t[i - 1], b = (uintptr_t)t[i];
        ck_assert_msg((a & 4095) != (b & 4095), "tasks %d and %d share a page offset", i - 1, i);
#endif
    }
    return 0;
}

START_TEST(test_neighbours_differ_in_page_offset) {
    ck_assert_int_eq(tr_test_run(colours_main, NULL, NULL), 0);
}
END_TEST

static Suite *stack_suite(void) {
    Suite *s = suite_create("stack");
    TCase *tc = tcase_create("size");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_custom_stack_size_usable);
    tcase_add_test(tc, test_run_stack_size_option);
    tcase_add_test(tc, test_default_stack_usable);
    suite_add_tcase(s, tc);

    tc = tcase_create("spares");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_spare_region_starts_fresh);
    tcase_add_test(tc, test_spares_keep_their_size);
    tcase_add_test(tc, test_neighbours_differ_in_page_offset);
    suite_add_tcase(s, tc);

    tc = tcase_create("overflow");
    tcase_set_timeout(tc, 10);
#if TR_TEST_ASAN
    /* AddressSanitizer catches the SIGSEGV and reports a stack overflow; it
     * then exits with 1, or aborts when ASAN_OPTIONS says abort_on_error=1
     * (as ./dev does). */
    const char *asan_options = getenv("ASAN_OPTIONS");
    if (asan_options && strstr(asan_options, "abort_on_error=1"))
        tcase_add_test_raise_signal(tc, test_overflow_hits_guard_page, SIGABRT);
    else
        tcase_add_exit_test(tc, test_overflow_hits_guard_page, 1);
#else
    tcase_add_test_raise_signal(tc, test_overflow_hits_guard_page, SIGSEGV);
#endif
    suite_add_tcase(s, tc);

    tc = tcase_create("canary");
    tcase_set_timeout(tc, 60);
    tcase_add_test_raise_signal(tc, test_canary_overwrite_aborts, SIGABRT);
    suite_add_tcase(s, tc);

    tc = tcase_create("many");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_many_tasks_cancelled_by_nursery);
    tcase_add_test(tc, test_many_tasks_cancelled_by_scope);
    suite_add_tcase(s, tc);
    return s;
}

#include "check_main.h"
CTRIO_CHECK_MAIN(stack_suite)
