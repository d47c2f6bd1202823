/* Task-local storage: Trio's contextvars, translated. */
#define _GNU_SOURCE
#include <check.h>
#include <signal.h>
#include <string.h>

#include "ctrio.h"
#include "test_util.h"
#include "vclock.h"

static TR_TASK_LOCAL(color, (void *)"none");
static TR_TASK_LOCAL(level, NULL);
static TR_TASK_LOCAL(CONN_ID, NULL);

static void run_expect(tr_task_fn fn, void *arg, int rc, tr_time end) {
    tr_time t = -1;
    ck_assert_int_eq(tr_test_run(fn, arg, &t), rc);
    ck_assert_int_eq(t, end);
}

static const char *color_now(void) {
    return tr_task_local_get(&color);
}

START_TEST(test_key_macro) {
    ck_assert_str_eq(color.name, "color");
    ck_assert_str_eq(color.default_value, "none");
    ck_assert_str_eq(CONN_ID.name, "CONN_ID");
    ck_assert_ptr_null(CONN_ID.default_value);
}
END_TEST

static int default_main(void *arg) {
    (void)arg;
    ck_assert_str_eq(color_now(), "none");
    ck_assert_ptr_null(tr_task_local_get(&level));
    ck_assert_int_eq(tr_task_local_set(&color, "red"), 0);
    ck_assert_str_eq(color_now(), "red");
    /* Keys are independent. */
    ck_assert_ptr_null(tr_task_local_get(&level));
    ck_assert_int_eq(tr_task_local_set(&level, (void *)(intptr_t)3), 0);
    ck_assert_ptr_eq(tr_task_local_get(&level), (void *)(intptr_t)3);
    ck_assert_str_eq(color_now(), "red");
    /* Values survive schedule points and sleeps. */
    int rc = tr_sleep(TR_SEC(1));
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(color_now(), "red");
    /* Setting NULL stores NULL; it does not bring back the default. */
    ck_assert_int_eq(tr_task_local_set(&color, NULL), 0);
    ck_assert_ptr_null(tr_task_local_get(&color));
    ck_assert_int_eq(tr_task_local_set(&color, "blue"), 0);
    ck_assert_str_eq(color_now(), "blue");
    return 0;
}

START_TEST(test_default_set_get) {
    run_expect(default_main, NULL, 0, TR_SEC(1));
}
END_TEST

static int fresh_main(void *arg) {
    (void)arg;
    ck_assert_str_eq(color_now(), "none");
    return tr_task_local_set(&color, "green");
}

START_TEST(test_values_do_not_leak_across_runs) {
    for (int i = 0; i < 3; i++) run_expect(fresh_main, NULL, 0, 0);
}
END_TEST

static int grandchild(void *arg) {
    (void)arg;
    tr_test_log("grandchild sees %s", color_now());
    return 0;
}

static int child(void *arg) {
    (void)arg;
    tr_test_log("child sees %s", color_now());
    int rc = tr_task_local_set(&color, "child-red");
    if (rc) return rc;
    tr_nursery n;
    tr_nursery_open(&n);
    rc = tr_start_soon(&n, grandchild, NULL);
    /* Changed after the grandchild's spawn: it must not see this. */
    if (rc == 0) rc = tr_task_local_set(&color, "child-late");
    rc = tr_nursery_join(&n, rc);
    rc = tr_checkpoint();
    tr_test_log("child still sees %s", color_now());
    return rc;
}

static int inherit_main(void *arg) {
    (void)arg;
    ck_assert_int_eq(tr_task_local_set(&color, "red"), 0);
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_start_soon(&n, child, NULL), 0);
    /* The child got "red" at spawn; this later change is not seen by it. */
    ck_assert_int_eq(tr_task_local_set(&color, "blue"), 0);
    int rc = tr_checkpoint();
    ck_assert_int_eq(rc, 0);
    tr_test_log("main sees %s", color_now());
    rc = tr_nursery_join(&n, 0);
    /* And the child's own set is not seen by main. */
    tr_test_log("main after join sees %s", color_now());
    return rc;
}

START_TEST(test_child_inherits_at_spawn) {
    tr_test_log_reset();
    run_expect(inherit_main, NULL, 0, 0);
    ck_assert_str_eq(tr_test_log_str(),
                     "child sees red\n"
                     "main sees blue\n"
                     "grandchild sees child-red\n"
                     "child still sees child-late\n"
                     "main after join sees blue\n");
}
END_TEST

static int unset_child(void *arg) {
    (void)arg;
    ck_assert_str_eq(color_now(), "none");
    ck_assert_ptr_null(tr_task_local_get(&level));
    return 0;
}

static int unset_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_start_soon(&n, unset_child, NULL), 0);
    return tr_nursery_join(&n, 0);
}

START_TEST(test_child_of_unset_parent_sees_default) {
    run_expect(unset_main, NULL, 0, 0);
}
END_TEST

/* ---- Seed 003: CONN_ID ---------------------------------------------------- */

static int handle(void) {
    intptr_t conn = (intptr_t)tr_task_local_get(&CONN_ID);
    for (int msg = 0; msg < 2; msg++) {
        tr_test_logt("conn %ld got msg %d", (long)conn, msg);
        int rc = tr_sleep(TR_SEC(1));
        if (rc) return rc;
    }
    return 0;
}

static int handle_task(void *arg) {
    (void)arg;
    return handle();
}

typedef struct conn_args {
    long id;      /* the connection's id (a uuid in the seed) */
    bool spawn;   /* handle in a child task instead of inline */
} conn_args;

static int server(void *arg) {
    const conn_args *c = arg;
    int rc = tr_task_local_set(&CONN_ID, (void *)(intptr_t)c->id);
    if (rc) return rc;
    if (!c->spawn) return handle();
    tr_nursery n;
    tr_nursery_open(&n);
    rc = tr_start_soon(&n, handle_task, NULL);
    return tr_nursery_join(&n, rc);
}

static int serve_main(void *arg) {
    bool spawn = (bool)(intptr_t)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = 0;
    for (long id = 101; id <= 103 && rc == 0; id++) {
        conn_args c = {.id = id, .spawn = spawn};
        rc = tr_start_soon_copy(&n, server, &c, sizeof c);
    }
    ck_assert_ptr_null(tr_task_local_get(&CONN_ID));
    return tr_nursery_join(&n, rc);
}

START_TEST(test_seed_conn_id) {
    tr_test_log_reset();
    run_expect(serve_main, (void *)(intptr_t)_i, 0, TR_SEC(2));
    ck_assert_str_eq(tr_test_log_str(),
                     "0.000 conn 101 got msg 0\n"
                     "0.000 conn 102 got msg 0\n"
                     "0.000 conn 103 got msg 0\n"
                     "1.000 conn 101 got msg 1\n"
                     "1.000 conn 102 got msg 1\n"
                     "1.000 conn 103 got msg 1\n");
}
END_TEST

/* ---- Misuse ----------------------------------------------------------------- */

START_TEST(test_get_outside_run_aborts) {
    void *v = tr_task_local_get(&color);
    ck_abort_msg("tr_task_local_get outside a run returned %p", v);
}
END_TEST

START_TEST(test_set_outside_run_aborts) {
    int rc = tr_task_local_set(&color, "x");
    ck_abort_msg("tr_task_local_set outside a run returned %d", rc);
}
END_TEST

static Suite *tls_suite(void) {
    Suite *s = suite_create("tls");
    TCase *tc = tcase_create("tls");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_key_macro);
    tcase_add_test(tc, test_default_set_get);
    tcase_add_test(tc, test_values_do_not_leak_across_runs);
    tcase_add_test(tc, test_child_inherits_at_spawn);
    tcase_add_test(tc, test_child_of_unset_parent_sees_default);
    tcase_add_loop_test(tc, test_seed_conn_id, 0, 2);
    suite_add_tcase(s, tc);

    tc = tcase_create("misuse");
    tcase_set_timeout(tc, 10);
    tcase_add_test_raise_signal(tc, test_get_outside_run_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, test_set_outside_run_aborts, SIGABRT);
    suite_add_tcase(s, tc);
    return s;
}

#include "check_main.h"
CTRIO_CHECK_MAIN(tls_suite)
