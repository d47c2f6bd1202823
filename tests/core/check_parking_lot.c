/* The parking lot and the low-level blocking calls it is built on: strict
 * FIFO order, unpark counts, repark, statistics, removal of cancelled
 * tasks, and tr_wait_task_rescheduled's abort protocol. */
#include <check.h>
#include <stdlib.h>

#include "ctrio.h"
#include "test_util.h"
#include "vclock.h"

static void run_ok(tr_task_fn fn, void *arg) {
    ck_assert_int_eq(tr_test_run(fn, arg, NULL), 0);
}

static void spawn(tr_nursery *n, tr_task_fn fn, void *arg, const char *name) {
    ck_assert_int_eq(tr_spawn(n, fn, arg, &(tr_spawn_opts){.name = name}), 0);
}

static size_t waiting(const tr_parking_lot *lot) {
    tr_parking_lot_stats st;
    tr_parking_lot_statistics(lot, &st);
    return st.tasks_waiting;
}

/* Lets every other task run until it blocks (the virtual clock only moves
 * when nothing can run). */
static void settle(void) { ck_assert_int_eq(tr_sleep(TR_SEC(1)), 0); }

static tr_parking_lot lot, other;

static int parker(void *arg) {
    (void)arg;
    int rc = tr_parking_lot_park(&lot);
    tr_test_log("%s woke %d", tr_task_name(tr_current_task()), rc);
    return 0;
}

/* Spawns parkers A, B, C (in that order) and waits until all are parked. */
static void three_parkers(tr_nursery *n) {
    tr_parking_lot_init(&lot);
    tr_parking_lot_init(&other);
    spawn(n, parker, NULL, "A");
    spawn(n, parker, NULL, "B");
    spawn(n, parker, NULL, "C");
    settle();
    ck_assert_uint_eq(waiting(&lot), 3);
}

/* ---- FIFO ---------------------------------------------------------------- */

static int fifo_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    three_parkers(&n);
    ck_assert_uint_eq(tr_parking_lot_unpark(&lot, 1), 1);
    ck_assert_uint_eq(waiting(&lot), 2);
    settle();
    tr_test_log("--");
    ck_assert_uint_eq(tr_parking_lot_unpark(&lot, 5), 2);
    ck_assert_uint_eq(tr_parking_lot_unpark(&lot, 1), 0);
    return tr_nursery_join(&n, 0);
}

START_TEST(test_fifo_unpark_counts) {
    tr_test_log_reset();
    run_ok(fifo_main, NULL);
    ck_assert_str_eq(tr_test_log_str(), "A woke 0\n--\nB woke 0\nC woke 0\n");
}
END_TEST

static int all_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    three_parkers(&n);
    ck_assert_uint_eq(tr_parking_lot_unpark_all(&lot), 3);
    ck_assert_uint_eq(waiting(&lot), 0);
    ck_assert_uint_eq(tr_parking_lot_unpark_all(&lot), 0);
    return tr_nursery_join(&n, 0);
}

START_TEST(test_unpark_all) {
    tr_test_log_reset();
    run_ok(all_main, NULL);
    ck_assert_str_eq(tr_test_log_str(), "A woke 0\nB woke 0\nC woke 0\n");
}
END_TEST

static int one_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    three_parkers(&n);
    tr_task *t = tr_parking_lot_unpark_one(&lot);
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(tr_task_name(t), "A");
    ck_assert_uint_eq(tr_parking_lot_unpark_all(&lot), 2);
    ck_assert_ptr_null(tr_parking_lot_unpark_one(&lot));
    return tr_nursery_join(&n, 0);
}

START_TEST(test_unpark_one_returns_task) {
    tr_test_log_reset();
    run_ok(one_main, NULL);
    ck_assert_str_eq(tr_test_log_str(), "A woke 0\nB woke 0\nC woke 0\n");
}
END_TEST

/* ---- repark ------------------------------------------------------------ */

static int repark_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    three_parkers(&n);
    ck_assert_uint_eq(tr_parking_lot_repark(&lot, 2, &other), 2);
    ck_assert_uint_eq(waiting(&lot), 1);
    ck_assert_uint_eq(waiting(&other), 2);
    /* Reparked tasks are asleep and only the new lot wakes them. */
    settle();
    ck_assert_str_eq(tr_test_log_str(), "");
    ck_assert_uint_eq(tr_parking_lot_unpark(&lot, 5), 1); /* C */
    settle();
    ck_assert_uint_eq(tr_parking_lot_repark_all(&other, &lot), 2);
    ck_assert_uint_eq(tr_parking_lot_repark(&lot, 1, &lot), 0);
    ck_assert_uint_eq(tr_parking_lot_unpark_all(&lot), 2); /* A, B */
    return tr_nursery_join(&n, 0);
}

START_TEST(test_repark) {
    tr_test_log_reset();
    run_ok(repark_main, NULL);
    ck_assert_str_eq(tr_test_log_str(), "C woke 0\nA woke 0\nB woke 0\n");
}
END_TEST

/* ---- cancellation --------------------------------------------------------- */

static tr_cancel_scope scope_b;

static int scoped_parker(void *arg) {
    (void)arg;
    tr_scope_enter(&scope_b, TR_INF);
    int rc = tr_parking_lot_park(&lot);
    tr_test_log("B woke %d", rc);
    ck_assert_int_eq(tr_scope_exit(&scope_b, rc), 0);
    return 0;
}

static int cancel_main(void *arg) {
    bool repark_first = arg != NULL;
    tr_nursery n;
    tr_parking_lot_init(&lot);
    tr_parking_lot_init(&other);
    tr_nursery_open(&n);
    spawn(&n, parker, NULL, "A");
    spawn(&n, scoped_parker, NULL, "B");
    spawn(&n, parker, NULL, "C");
    settle();
    tr_parking_lot *where = &lot;
    if (repark_first) {
        ck_assert_uint_eq(tr_parking_lot_repark_all(&lot, &other), 3);
        where = &other;
    }
    tr_scope_cancel(&scope_b);
    ck_assert_uint_eq(waiting(where), 2);
    settle();
    ck_assert_uint_eq(tr_parking_lot_unpark_all(where), 2);
    return tr_nursery_join(&n, 0);
}

START_TEST(test_cancel_removes_task) {
    tr_test_log_reset();
    run_ok(cancel_main, NULL);
    ck_assert_str_eq(tr_test_log_str(), "B woke -125\nA woke 0\nC woke 0\n");
}
END_TEST

START_TEST(test_cancel_after_repark_removes_from_new_lot) {
    tr_test_log_reset();
    run_ok(cancel_main, (void *)1);
    ck_assert_str_eq(tr_test_log_str(), "B woke -125\nA woke 0\nC woke 0\n");
}
END_TEST

static int precancelled_main(void *arg) {
    (void)arg;
    tr_parking_lot_init(&lot);
    tr_cancel_scope cs;
    tr_scope_enter(&cs, TR_INF);
    tr_scope_cancel(&cs);
    ck_assert_int_eq(tr_parking_lot_park(&lot), -ECANCELED);
    ck_assert_uint_eq(waiting(&lot), 0);
    ck_assert_int_eq(tr_scope_exit(&cs, -ECANCELED), 0);
    return 0;
}

START_TEST(test_park_when_cancelled) {
    run_ok(precancelled_main, NULL);
}
END_TEST

/* ---- tr_wait_task_rescheduled / tr_reschedule ----------------------------- */

typedef struct refusing {
    int aborts;         /* times the abort function ran */
    tr_task *sleeper;   /* the blocked task */
    bool refuse;        /* answer TR_ABORT_FAILED */
} refusing;

static int count_abort(void *ctx, tr_task *t) {
    refusing *r = ctx;
    ck_assert_ptr_eq(t, r->sleeper);
    r->aborts++;
    return r->refuse ? TR_ABORT_FAILED : TR_ABORT_SUCCEEDED;
}

static tr_cancel_scope sleeper_scope;

static int sleeper(void *arg) {
    refusing *r = arg;
    r->sleeper = tr_current_task();
    tr_scope_enter(&sleeper_scope, TR_INF);
    int rc = tr_wait_task_rescheduled(count_abort, r);
    tr_test_logt("sleeper %d", rc);
    rc = tr_scope_exit(&sleeper_scope, rc);
    return rc < 0 ? rc : 0;
}

static int refuse_main(void *arg) {
    refusing *r = arg;
    tr_nursery n;
    tr_nursery_open(&n);
    spawn(&n, sleeper, r, "sleeper");
    settle();
    tr_scope_cancel(&sleeper_scope);
    ck_assert_int_eq(r->aborts, 1);
    /* Cancelling again (level-triggered elsewhere) does not re-run it. */
    tr_scope_cancel(&sleeper_scope);
    settle();
    ck_assert_int_eq(r->aborts, 1);
    if (r->refuse) tr_reschedule(r->sleeper, 42);
    return tr_nursery_join(&n, 0);
}

START_TEST(test_abort_refused_stays_asleep) {
    refusing r = {.refuse = true};
    tr_test_log_reset();
    ck_assert_int_eq(tr_test_run(refuse_main, &r, NULL), 0);
    ck_assert_str_eq(tr_test_log_str(), "2.000 sleeper 42\n");
}
END_TEST

START_TEST(test_abort_succeeded_wakes_cancelled) {
    refusing r = {.refuse = false};
    tr_test_log_reset();
    ck_assert_int_eq(tr_test_run(refuse_main, &r, NULL), 0);
    ck_assert_str_eq(tr_test_log_str(), "1.000 sleeper -125\n");
}
END_TEST

static Suite *parking_lot_suite(void) {
    Suite *s = suite_create("parking_lot");
    TCase *tc = tcase_create("lot");
    tcase_add_test(tc, test_fifo_unpark_counts);
    tcase_add_test(tc, test_unpark_all);
    tcase_add_test(tc, test_unpark_one_returns_task);
    tcase_add_test(tc, test_repark);
    tcase_add_test(tc, test_cancel_removes_task);
    tcase_add_test(tc, test_cancel_after_repark_removes_from_new_lot);
    tcase_add_test(tc, test_park_when_cancelled);
    suite_add_tcase(s, tc);
    tc = tcase_create("lowlevel");
    tcase_add_test(tc, test_abort_refused_stays_asleep);
    tcase_add_test(tc, test_abort_succeeded_wakes_cancelled);
    suite_add_tcase(s, tc);
    return s;
}

#include "check_main.h"
CTRIO_CHECK_MAIN(parking_lot_suite)
