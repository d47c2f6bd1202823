/* Nurseries: the seed examples, failures and their reports, tr_start,
 * system tasks. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrio.h"
#include "test_util.h"
#include "vclock.h"

static void run_expect(tr_task_fn fn, void *arg, int rc, tr_time end) {
    tr_time t = -1;
    ck_assert_int_eq(tr_test_run(fn, arg, &t), rc);
    ck_assert_int_eq(t, end);
}

/* ---- The tutorial's tasks-intro ------------------------------------------- */

static tr_duration child1_sleep, child2_sleep;

static int child1(void *arg) {
    (void)arg;
    tr_test_logt("  child1: started! sleeping now...");
    int rc = tr_sleep(child1_sleep);
    tr_test_logt("  child1: exiting!");
    return rc;
}

static int child2(void *arg) {
    (void)arg;
    tr_test_logt("  child2: started! sleeping now...");
    int rc = tr_sleep(child2_sleep);
    tr_test_logt("  child2: exiting!");
    return rc;
}

static int parent(void *arg) {
    (void)arg;
    tr_test_logt("parent: started!");
    tr_nursery n;
    tr_nursery_open(&n);
    tr_test_logt("parent: spawning child1...");
    int rc = tr_start_soon(&n, child1, NULL);
    tr_test_logt("parent: spawning child2...");
    if (rc == 0) rc = tr_start_soon(&n, child2, NULL);
    tr_test_logt("parent: waiting for children to finish...");
    rc = tr_nursery_join(&n, rc);
    tr_test_logt("parent: all done!");
    return rc;
}

START_TEST(test_tasks_intro) {
    tr_test_log_reset();
    child1_sleep = child2_sleep = TR_SEC(1);
    run_expect(parent, NULL, 0, TR_SEC(1));
    /* FIFO: children run in spawn order; equal deadlines wake in the order
     * they were set. */
    ck_assert_str_eq(tr_test_log_str(),
                     "0.000 parent: started!\n"
                     "0.000 parent: spawning child1...\n"
                     "0.000 parent: spawning child2...\n"
                     "0.000 parent: waiting for children to finish...\n"
                     "0.000   child1: started! sleeping now...\n"
                     "0.000   child2: started! sleeping now...\n"
                     "1.000   child1: exiting!\n"
                     "1.000   child2: exiting!\n"
                     "1.000 parent: all done!\n");
}
END_TEST

START_TEST(test_tasks_intro_3s_1s) {
    tr_test_log_reset();
    child1_sleep = TR_SEC(3);
    child2_sleep = TR_SEC(1);
    run_expect(parent, NULL, 0, TR_SEC(3));
    ck_assert_str_eq(tr_test_log_str(),
                     "0.000 parent: started!\n"
                     "0.000 parent: spawning child1...\n"
                     "0.000 parent: spawning child2...\n"
                     "0.000 parent: waiting for children to finish...\n"
                     "0.000   child1: started! sleeping now...\n"
                     "0.000   child2: started! sleeping now...\n"
                     "1.000   child2: exiting!\n"
                     "3.000   child1: exiting!\n"
                     "3.000 parent: all done!\n");
}
END_TEST

/* ---- Seed 000: sleepy ------------------------------------------------------- */

static int sleepy(void *arg) {
    int seconds = *(int *)arg;
    tr_test_logt("Sleeping for %d seconds", seconds);
    int rc = tr_sleep(TR_SEC(seconds));
    if (rc == 0) tr_test_logt("Slept %d seconds", seconds);
    else tr_test_logt("sleepy %d: %s", seconds, tr_error_name(rc));
    return rc;
}

static int sleepy5_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = 0;
    for (int i = 0; i < 5 && rc == 0; i++) rc = tr_start_soon_copy(&n, sleepy, &i, sizeof i);
    tr_test_logt("Started all tasks");
    rc = tr_nursery_join(&n, rc);
    tr_test_logt("All done");
    return rc;
}

START_TEST(test_seed_sleepy_five) {
    tr_test_log_reset();
    run_expect(sleepy5_main, NULL, 0, TR_SEC(4));
    ck_assert_str_eq(tr_test_log_str(),
                     "0.000 Started all tasks\n"
                     "0.000 Sleeping for 0 seconds\n"
                     "0.000 Sleeping for 1 seconds\n"
                     "0.000 Sleeping for 2 seconds\n"
                     "0.000 Sleeping for 3 seconds\n"
                     "0.000 Sleeping for 4 seconds\n"
                     "0.000 Slept 0 seconds\n"
                     "1.000 Slept 1 seconds\n"
                     "2.000 Slept 2 seconds\n"
                     "3.000 Slept 3 seconds\n"
                     "4.000 Slept 4 seconds\n"
                     "4.000 All done\n");
}
END_TEST

static int starter(void *arg) {
    tr_nursery *n = arg;
    for (int i = 0; i < 7; i++) {
        int rc = tr_start_soon_copy(n, sleepy, &i, sizeof i);
        if (rc) return rc;
    }
    tr_test_logt("starter done");
    return 0;
}

static int starter_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = tr_start_soon(&n, starter, &n);
    rc = tr_nursery_join(&n, rc);
    tr_test_logt("all done");
    return rc;
}

START_TEST(test_seed_starter) {
    /* The sleepy tasks belong to the nursery, not to starter: starter can
     * return at once, main cannot. */
    tr_test_log_reset();
    run_expect(starter_main, NULL, 0, TR_SEC(6));
    const char *log = tr_test_log_str();
    ck_assert_ptr_nonnull(strstr(log, "0.000 starter done\n0.000 Sleeping for 0 seconds\n"));
    ck_assert_ptr_nonnull(strstr(log, "6.000 Slept 6 seconds\n6.000 all done\n"));
    const char *end = log + strlen(log) - strlen("6.000 all done\n");
    ck_assert_str_eq(end, "6.000 all done\n");
}
END_TEST

static int move_on_nursery_main(void *arg) {
    (void)arg;
    tr_cancel_scope cs;
    ck_assert_int_eq(tr_move_on_after(&cs, TR_SEC(3)), 0);
    tr_nursery n;
    tr_nursery_open(&n);
    int ten = 10;
    int rc = tr_start_soon_copy(&n, sleepy, &ten, sizeof ten);
    rc = tr_nursery_join(&n, rc);
    /* The cancellation reached the nursery; its own scope was not cancelled,
     * so join passes it on to the scope that was. */
    ck_assert_int_eq(rc, -ECANCELED);
    ck_assert_ptr_null(tr_nursery_failures(&n));
    rc = tr_scope_exit(&cs, rc);
    ck_assert_int_eq(rc, 0);
    ck_assert(tr_scope_cancelled_caught(&cs));
    tr_test_logt("All done");
    return rc;
}

START_TEST(test_seed_move_on_around_nursery) {
    tr_test_log_reset();
    run_expect(move_on_nursery_main, NULL, 0, TR_SEC(3));
    ck_assert_str_eq(tr_test_log_str(),
                     "0.000 Sleeping for 10 seconds\n"
                     "3.000 sleepy 10: ECANCELED\n"
                     "3.000 All done\n");
}
END_TEST

/* ---- Seed 003's foot-gun ------------------------------------------------------ */

static int sleep10(void *arg) {
    (void)arg;
    return tr_sleep(TR_SEC(10));
}

static int footgun_inside(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    tr_cancel_scope cs;
    ck_assert_int_eq(tr_move_on_after(&cs, TR_SEC(5)), 0);
    int rc = tr_start_soon(&n, sleep10, NULL);
    rc = tr_scope_exit(&cs, rc);
    ck_assert(!tr_scope_cancelled_caught(&cs));
    return tr_nursery_join(&n, rc);
}

static int footgun_outside(void *arg) {
    (void)arg;
    tr_cancel_scope cs;
    ck_assert_int_eq(tr_move_on_after(&cs, TR_SEC(5)), 0);
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = tr_start_soon(&n, sleep10, NULL);
    rc = tr_nursery_join(&n, rc);
    rc = tr_scope_exit(&cs, rc);
    ck_assert(tr_scope_cancelled_caught(&cs));
    return rc;
}

START_TEST(test_seed_footgun) {
    /* A scope around start_soon alone is a no-op: the wait is in join. */
    run_expect(footgun_inside, NULL, 0, TR_SEC(10));
    run_expect(footgun_outside, NULL, 0, TR_SEC(5));
}
END_TEST

/* ---- Failures ----------------------------------------------------------------- */

static int fails_after_1s(void *arg) {
    (void)arg;
    int rc = tr_sleep(TR_SEC(1));
    ck_assert_int_eq(rc, 0);
    return tr_fail(-EPIPE, "bad %d", 7);
}

static int sibling(void *arg) {
    (void)arg;
    int rc = tr_sleep(TR_SEC(10));
    tr_test_logt("%s: %s", tr_task_name(tr_current_task()), tr_error_name(rc));
    return rc;
}

static int failing_child_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_spawn(&n, sibling, NULL, &(tr_spawn_opts){.name = "good1"}), 0);
    ck_assert_int_eq(tr_start_soon(&n, fails_after_1s, NULL), 0);
    ck_assert_int_eq(tr_spawn(&n, sibling, NULL, &(tr_spawn_opts){.name = "good2"}), 0);
    int rc = tr_sleep(TR_SEC(5));
    tr_test_logt("body: %s", tr_error_name(rc));
    rc = tr_nursery_join(&n, rc);
    tr_test_logt("join: %s", tr_error_name(rc));
    ck_assert_int_eq(rc, -EPIPE);
    /* Only real failures are kept: the cancelled siblings are not. */
    const tr_failure *f = tr_nursery_failures(&n);
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(f->task_name, "fails_after_1s");
    ck_assert_int_eq(f->task_id, 3);
    ck_assert_int_eq(f->code, -EPIPE);
    ck_assert_str_eq(f->message, "bad 7");
    ck_assert_ptr_null(f->children);
    ck_assert_ptr_null(f->next);
    ck_assert_int_eq(tr_nursery_failures_lost(&n), 0);
    return 0;
}

/* The order in which one cancellation wakes several tasks is not part of
 * the contract: check each line and that join's comes last. */
static void assert_log_lines_then_last(const char *const *lines, size_t n, const char *last) {
    const char *log = tr_test_log_str();
    size_t total = strlen(last);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(strstr(log, lines[i]) != NULL, "missing \"%s\" in:\n%s", lines[i], log);
        total += strlen(lines[i]);
    }
    ck_assert_int_eq(strlen(log), total);
    ck_assert_str_eq(log + strlen(log) - strlen(last), last);
}

START_TEST(test_failing_child_cancels_siblings_and_body) {
    tr_test_log_reset();
    run_expect(failing_child_main, NULL, 0, TR_SEC(1));
    static const char *const lines[] = {
        "1.000 good1: ECANCELED\n", "1.000 good2: ECANCELED\n", "1.000 body: ECANCELED\n"};
    assert_log_lines_then_last(lines, 3, "1.000 join: EPIPE\n");
}
END_TEST

static int fail_one(void *arg) {
    (void)arg;
    int rc = tr_sleep(TR_SEC(1));
    ck_assert_int_eq(rc, 0);
    return tr_fail(-EPIPE, "one");
}

static int fail_two(void *arg) {
    (void)arg;
    int rc = tr_sleep(TR_SEC(10));
    return tr_fail(-EBADF, "two after %s", tr_error_name(rc));
}

static int fail_three(void *arg) {
    (void)arg;
    tr_cancel_scope cs;
    tr_scope_enter(&cs, TR_INF);
    tr_scope_set_shield(&cs, true);
    int rc = tr_sleep(TR_SEC(2));
    rc = tr_scope_exit(&cs, rc);
    ck_assert_int_eq(rc, 0);
    return tr_fail(TR_EBROKEN, "three");
}

static int returns_plain_code(void *arg) {
    (void)arg;
    tr_cancel_scope cs;
    tr_scope_enter(&cs, TR_INF);
    tr_scope_set_shield(&cs, true);
    int rc = tr_sleep(TR_MS(1500));
    ck_assert_int_eq(rc, 0);
    rc = tr_scope_exit(&cs, rc);
    return -EIO; /* no tr_fail: message "" */
}

static int several_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_start_soon(&n, fail_one, NULL), 0);
    ck_assert_int_eq(tr_start_soon(&n, fail_two, NULL), 0);
    ck_assert_int_eq(tr_start_soon(&n, fail_three, NULL), 0);
    ck_assert_int_eq(tr_start_soon(&n, returns_plain_code, NULL), 0);
    int rc = tr_nursery_join(&n, 0);
    ck_assert_int_eq(rc, -EPIPE);
    ck_assert_int_eq(tr_current_time(), TR_SEC(2));
    const tr_failure *f = tr_nursery_failures(&n);
    static const struct {
        const char *name;
        uint64_t id;
        int code;
        const char *message;
    } expect[] = {
        {"fail_one", 2, -EPIPE, "one"},
        {"fail_two", 3, -EBADF, "two after ECANCELED"},
        {"returns_plain_code", 5, -EIO, ""},
        {"fail_three", 4, TR_EBROKEN, "three"},
    };
    for (size_t i = 0; i < 4; i++, f = f->next) {
        ck_assert_ptr_nonnull(f);
        ck_assert_str_eq(f->task_name, expect[i].name);
        ck_assert_int_eq(f->task_id, expect[i].id);
        ck_assert_int_eq(f->code, expect[i].code);
        ck_assert_str_eq(f->message, expect[i].message);
    }
    ck_assert_ptr_null(f);
    return 0;
}

START_TEST(test_several_failures_kept_in_order) {
    run_expect(several_main, NULL, 0, TR_SEC(2));
}
END_TEST

static int long_message(void *arg) {
    (void)arg;
    char big[400];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    return tr_fail(-EPIPE, "%s", big);
}

static int long_message_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_start_soon(&n, long_message, NULL), 0);
    ck_assert_int_eq(tr_nursery_join(&n, 0), -EPIPE);
    const tr_failure *f = tr_nursery_failures(&n);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(strlen(f->message), TR_FAIL_MESSAGE_MAX - 1);
    return 0;
}

START_TEST(test_fail_message_truncated) {
    run_expect(long_message_main, NULL, 0, 0);
}
END_TEST

static int grandchild_fails(void *arg) {
    (void)arg;
    return tr_fail(-EPIPE, "deep %d", 3);
}

static int middle(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_start_soon(&n, grandchild_fails, NULL), 0);
    return tr_nursery_join(&n, 0);
}

static int nested_failure_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_start_soon(&n, middle, NULL), 0);
    int rc = tr_nursery_join(&n, 0);
    ck_assert_int_eq(rc, -EPIPE);
    const tr_failure *f = tr_nursery_failures(&n);
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(f->task_name, "middle");
    ck_assert_int_eq(f->code, -EPIPE);
    ck_assert_ptr_null(f->next);
    /* The grandchild's failure, passed up by middle's nursery. */
    const tr_failure *g = f->children;
    ck_assert_ptr_nonnull(g);
    ck_assert_str_eq(g->task_name, "grandchild_fails");
    ck_assert_int_eq(g->task_id, 3);
    ck_assert_int_eq(g->code, -EPIPE);
    ck_assert_str_eq(g->message, "deep 3");
    ck_assert_ptr_null(g->next);
    return 0;
}

START_TEST(test_nested_failures_passed_up) {
    run_expect(nested_failure_main, NULL, 0, 0);
}
END_TEST

static int body_failure_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_spawn(&n, sibling, NULL, &(tr_spawn_opts){.name = "kid1"}), 0);
    ck_assert_int_eq(tr_spawn(&n, sibling, NULL, &(tr_spawn_opts){.name = "kid2"}), 0);
    int rc = tr_sleep(TR_SEC(1));
    ck_assert_int_eq(rc, 0);
    rc = tr_nursery_join(&n, -EIO);
    tr_test_logt("join: %d", rc);
    ck_assert_int_eq(rc, -EIO);
    return 0;
}

START_TEST(test_body_failure_cancels_children) {
    tr_test_log_reset();
    run_expect(body_failure_main, NULL, 0, TR_SEC(1));
    char last[64];
    snprintf(last, sizeof last, "1.000 join: %d\n", -EIO);
    static const char *const lines[] = {"1.000 kid1: ECANCELED\n", "1.000 kid2: ECANCELED\n"};
    assert_log_lines_then_last(lines, 2, last);
}
END_TEST

static int body_first_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_start_soon(&n, fail_two, NULL), 0);
    int rc = tr_checkpoint();
    ck_assert_int_eq(rc, 0);
    /* The body's failure comes first; the child's, caused by the cancel,
     * is kept but is not the result. */
    rc = tr_nursery_join(&n, -EINTR);
    ck_assert_int_eq(rc, -EINTR);
    const tr_failure *f = tr_nursery_failures(&n);
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(f->task_name, "fail_two");
    ck_assert_int_eq(f->code, -EBADF);
    return 0;
}

START_TEST(test_body_failure_is_first) {
    run_expect(body_first_main, NULL, 0, 0);
}
END_TEST

/* ---- Closed nurseries, spawn options ---------------------------------------------- */

static int must_not_run(void *arg) {
    (void)arg;
    ck_abort_msg("a task whose spawn failed ran");
    return 0;
}

static int closed_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_nursery_join(&n, 0), 0);
    ck_assert_int_eq(tr_start_soon(&n, must_not_run, NULL), TR_ENURSERYCLOSED);
    int x = 1;
    ck_assert_int_eq(tr_start_soon_copy(&n, must_not_run, &x, sizeof x), TR_ENURSERYCLOSED);
    void *v = NULL;
    ck_assert_int_eq(tr_start(&n, must_not_run, NULL, &v), TR_ENURSERYCLOSED);
    int rc = tr_sleep(TR_SEC(1));
    return rc;
}

START_TEST(test_spawn_into_joined_nursery) {
    run_expect(closed_main, NULL, 0, TR_SEC(1));
}
END_TEST

static int late_spawner(void *arg) {
    tr_nursery *n = arg;
    int rc = tr_sleep(TR_SEC(1));
    ck_assert_int_eq(rc, 0);
    return tr_start_soon(n, must_not_run, NULL);
}

static int closed_from_child_main(void *arg) {
    (void)arg;
    tr_nursery outer, inner;
    tr_nursery_open(&outer);
    tr_nursery_open(&inner);
    ck_assert_int_eq(tr_nursery_join(&inner, 0), 0);
    ck_assert_int_eq(tr_start_soon(&outer, late_spawner, &inner), 0);
    int rc = tr_nursery_join(&outer, 0);
    ck_assert_int_eq(rc, TR_ENURSERYCLOSED);
    ck_assert_str_eq(tr_nursery_failures(&outer)->task_name, "late_spawner");
    return 0;
}

START_TEST(test_spawn_into_joined_nursery_from_child) {
    tr_run_opts o = {.quiet = true};
    tr_time end = -1;
    ck_assert_int_eq(tr_test_run_opts(closed_from_child_main, NULL, &o, 0, &end), 0);
    ck_assert_int_eq(end, TR_SEC(1));
}
END_TEST

typedef struct copy_args {
    int a;
    char s[16];
    void *self; /* the address of the original */
} copy_args;

static int copy_child(void *arg) {
    copy_args *c = arg;
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_ne(c, c->self);
    tr_test_log("a=%d s=%s", c->a, c->s);
    c->a = 99; /* the copy belongs to the task */
    return 0;
}

static int copy_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    copy_args args = {.a = 1, .s = "first"};
    args.self = &args;
    ck_assert_int_eq(tr_start_soon_copy(&n, copy_child, &args, sizeof args), 0);
    args.a = 2;
    strcpy(args.s, "second");
    ck_assert_int_eq(tr_start_soon_copy(&n, copy_child, &args, sizeof args), 0);
    args.a = 3;
    strcpy(args.s, "changed");
    int rc = tr_nursery_join(&n, 0);
    ck_assert_int_eq(args.a, 3);
    return rc;
}

START_TEST(test_start_soon_copy) {
    tr_test_log_reset();
    run_expect(copy_main, NULL, 0, 0);
    ck_assert_str_eq(tr_test_log_str(), "a=1 s=first\na=2 s=second\n");
}
END_TEST

static int log_name(void *arg) {
    tr_test_log("%s %s", tr_task_name(tr_current_task()), (const char *)arg);
    return 0;
}

static int names_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_spawn(&n, log_name, "x", &(tr_spawn_opts){.name = "custom"}), 0);
    ck_assert_int_eq(tr_spawn(&n, log_name, "y", NULL), 0);
    ck_assert_int_eq(tr_spawn(&n, log_name, "z", &(tr_spawn_opts){0}), 0);
    ck_assert_int_eq(tr_start_soon(&n, log_name, "w"), 0);
    /* copy_size beyond a quarter of the stack: -EINVAL, nothing runs. */
    static char huge[1 << 20];
    ck_assert_int_eq(tr_spawn(&n, must_not_run, NULL,
                              &(tr_spawn_opts){.copy = huge, .copy_size = sizeof huge}),
                     -EINVAL);
    ck_assert_int_eq(tr_spawn(&n, must_not_run, NULL,
                              &(tr_spawn_opts){.stack_size_bytes = 256 * 1024,
                                               .copy = huge,
                                               .copy_size = 64 * 1024 + 1}),
                     -EINVAL);
    return tr_nursery_join(&n, 0);
}

START_TEST(test_spawn_names_and_invalid_copy) {
    tr_test_log_reset();
    run_expect(names_main, NULL, 0, 0);
    ck_assert_str_eq(tr_test_log_str(), "custom x\ntask y\ntask z\nlog_name w\n");
}
END_TEST

/* ---- The failure report ------------------------------------------------------------- */

static int worker(void *arg) {
    (void)arg;
    int rc = tr_sleep(TR_SEC(1));
    ck_assert_int_eq(rc, 0);
    return tr_fail(-EPIPE, "lost peer %s", "db-7");
}

static int cancelled_sleeper(void *arg) {
    (void)arg;
    return tr_sleep_forever();
}

static int report_main(void *arg) {
    (void)arg;
    /* First a cancellation absorbed by a scope: never reported. */
    tr_cancel_scope cs;
    ck_assert_int_eq(tr_move_on_after(&cs, TR_MS(500)), 0);
    tr_nursery n1;
    tr_nursery_open(&n1);
    ck_assert_int_eq(tr_start_soon(&n1, cancelled_sleeper, NULL), 0);
    int rc = tr_nursery_join(&n1, 0);
    rc = tr_scope_exit(&cs, rc);
    ck_assert_int_eq(rc, 0);
    /* Then a real failure that reaches the top. */
    tr_nursery n2;
    tr_nursery_open(&n2);
    ck_assert_int_eq(tr_start_soon(&n2, worker, NULL), 0);
    return tr_nursery_join(&n2, 0);
}

START_TEST(test_failure_report) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    tr_run_opts o = {.report = f};
    tr_time end = -1;
    ck_assert_int_eq(tr_test_run_opts(report_main, NULL, &o, 0, &end), -EPIPE);
    ck_assert_int_eq(end, TR_MS(1500));
    fclose(f);
    ck_assert_ptr_nonnull(buf);
    ck_assert_ptr_nonnull(strstr(buf, "worker"));
    ck_assert_ptr_nonnull(strstr(buf, "EPIPE"));
    ck_assert_ptr_nonnull(strstr(buf, "lost peer db-7"));
    ck_assert_ptr_null(strstr(buf, "cancelled_sleeper"));
    ck_assert_ptr_null(strstr(buf, "ECANCELED"));
    free(buf);
}
END_TEST

START_TEST(test_quiet_prints_no_report) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    tr_run_opts o = {.report = f, .quiet = true};
    ck_assert_int_eq(tr_test_run_opts(report_main, NULL, &o, 0, NULL), -EPIPE);
    fclose(f);
    ck_assert_int_eq(len, 0);
    free(buf);
}
END_TEST

static int absorbed_only_main(void *arg) {
    (void)arg;
    tr_cancel_scope cs;
    ck_assert_int_eq(tr_move_on_after(&cs, TR_SEC(1)), 0);
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_start_soon(&n, cancelled_sleeper, NULL), 0);
    int rc = tr_nursery_join(&n, 0);
    rc = tr_scope_exit(&cs, rc);
    return rc ? rc : -EINTR; /* a failure without task failures */
}

START_TEST(test_absorbed_cancellations_not_reported) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    tr_run_opts o = {.report = f};
    ck_assert_int_eq(tr_test_run_opts(absorbed_only_main, NULL, &o, 0, NULL), -EINTR);
    fclose(f);
    ck_assert(buf == NULL || strstr(buf, "cancelled_sleeper") == NULL);
    ck_assert(buf == NULL || strstr(buf, "ECANCELED") == NULL);
    free(buf);
}
END_TEST

/* ---- tr_start ------------------------------------------------------------------------- */

static int server(void *arg) {
    intptr_t port = (intptr_t)arg;
    tr_test_logt("server setting up");
    int rc = tr_sleep(TR_SEC(1));
    if (rc) return rc;
    rc = tr_started((void *)port);
    ck_assert_int_eq(rc, 0);
    tr_test_logt("server started");
    rc = tr_sleep(TR_SEC(5));
    tr_test_logt("server done: %s", rc ? tr_error_name(rc) : "ok");
    return rc;
}

static int start_value_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    void *v = NULL;
    int rc = tr_start_spawn(&n, server, (void *)(intptr_t)8080, &(tr_spawn_opts){.name = "srv"}, &v);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_eq(v, (void *)(intptr_t)8080);
    tr_test_logt("start returned");
    rc = tr_start(&n, server, (void *)(intptr_t)1, NULL); /* value_out NULL is fine */
    ck_assert_int_eq(rc, 0);
    return tr_nursery_join(&n, 0);
}

START_TEST(test_start_delivers_value) {
    tr_test_log_reset();
    run_expect(start_value_main, NULL, 0, TR_SEC(7));
    ck_assert_str_eq(tr_test_log_str(),
                     "0.000 server setting up\n"
                     "1.000 server started\n"
                     "1.000 start returned\n"
                     "1.000 server setting up\n"
                     "2.000 server started\n"
                     "6.000 server done: ok\n"
                     "7.000 server done: ok\n");
}
END_TEST

static int start_cancelled_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_start_soon(&n, sleep10, NULL), 0);
    /* Until tr_started the child runs under the caller's scopes. */
    tr_cancel_scope cs;
    ck_assert_int_eq(tr_move_on_after(&cs, TR_MS(500)), 0);
    void *v = (void *)1;
    int rc = tr_start(&n, server, NULL, &v);
    ck_assert_int_eq(rc, -ECANCELED);
    ck_assert_ptr_eq(v, (void *)1);
    ck_assert_int_eq(tr_current_time(), TR_MS(500));
    rc = tr_scope_exit(&cs, rc);
    ck_assert_int_eq(rc, 0);
    ck_assert(tr_scope_cancelled_caught(&cs));
    /* The nursery is untouched: sleep10 still runs to its end. */
    rc = tr_nursery_join(&n, 0);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_null(tr_nursery_failures(&n));
    return 0;
}

START_TEST(test_start_cancelled_by_caller_scope) {
    tr_test_log_reset();
    run_expect(start_cancelled_main, NULL, 0, TR_SEC(10));
    ck_assert_str_eq(tr_test_log_str(), "0.000 server setting up\n");
}
END_TEST

static int outlives_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    tr_cancel_scope cs;
    ck_assert_int_eq(tr_move_on_after(&cs, TR_SEC(2)), 0);
    void *v = NULL;
    int rc = tr_start(&n, server, (void *)(intptr_t)5, &v);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_eq(v, (void *)(intptr_t)5);
    rc = tr_sleep_forever();
    tr_test_logt("caller scope: %s", tr_error_name(rc));
    rc = tr_scope_exit(&cs, rc);
    ck_assert_int_eq(rc, 0);
    return tr_nursery_join(&n, rc);
}

START_TEST(test_started_task_outlives_caller_scope) {
    tr_test_log_reset();
    run_expect(outlives_main, NULL, 0, TR_SEC(6));
    ck_assert_str_eq(tr_test_log_str(),
                     "0.000 server setting up\n"
                     "1.000 server started\n"
                     "2.000 caller scope: ECANCELED\n"
                     "6.000 server done: ok\n");
}
END_TEST

static int start_into(void *arg) {
    tr_nursery *target = arg;
    void *v = NULL;
    int rc = tr_start(target, server, (void *)(intptr_t)3, &v);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_eq(v, (void *)(intptr_t)3);
    return rc;
}

static int recheck_main(void *arg) {
    (void)arg;
    tr_nursery outer, target;
    tr_nursery_open(&outer);
    tr_nursery_open(&target);
    ck_assert_int_eq(tr_start_soon(&outer, start_into, &target), 0);
    int rc = tr_checkpoint(); /* start_into calls tr_start first */
    ck_assert_int_eq(rc, 0);
    /* Trio: the task runs under the caller's (uncancelled) scopes until it
     * calls started(), then moves into the cancelled nursery. */
    tr_nursery_cancel(&target);
    rc = tr_nursery_join(&target, 0);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(tr_current_time(), TR_SEC(1));
    return tr_nursery_join(&outer, rc);
}

START_TEST(test_started_into_cancelled_nursery) {
    tr_test_log_reset();
    run_expect(recheck_main, NULL, 0, TR_SEC(1));
    ck_assert_str_eq(tr_test_log_str(),
                     "0.000 server setting up\n"
                     "1.000 server started\n"
                     "1.000 server done: ECANCELED\n");
}
END_TEST

static int fails_before_started(void *arg) {
    (void)arg;
    int rc = tr_sleep(TR_SEC(1));
    ck_assert_int_eq(rc, 0);
    return tr_fail(-EPIPE, "cannot bind");
}

static int returns_without_started(void *arg) {
    (void)arg;
    return 0;
}

static int starts_twice(void *arg) {
    (void)arg;
    ck_assert_int_eq(tr_started((void *)1), 0);
    ck_assert_int_eq(tr_started((void *)2), -EALREADY);
    return 0;
}

static int plain_child_calls_started(void *arg) {
    (void)arg;
    ck_assert_int_eq(tr_started(NULL), -EINVAL);
    return 0;
}

static int start_errors_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    void *v = NULL;
    /* Trio: an error before started() is raised by start(), not by the
     * nursery, which stays uncancelled. */
    int rc = tr_start(&n, fails_before_started, NULL, &v);
    ck_assert_int_eq(rc, -EPIPE);
    ck_assert_int_eq(tr_current_time(), TR_SEC(1));
    rc = tr_start(&n, returns_without_started, NULL, &v);
    ck_assert_int_eq(rc, TR_ENOTSTARTED);
    rc = tr_start(&n, starts_twice, NULL, &v);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_eq(v, (void *)1);
    ck_assert_int_eq(tr_start_soon(&n, plain_child_calls_started, NULL), 0);
    ck_assert_int_eq(tr_started(NULL), -EINVAL); /* main was not started */
    rc = tr_nursery_join(&n, 0);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_null(tr_nursery_failures(&n));
    return 0;
}

START_TEST(test_start_errors) {
    run_expect(start_errors_main, NULL, 0, TR_SEC(1));
}
END_TEST

static int slow_start(void *arg) {
    (void)arg;
    int rc = tr_sleep(TR_SEC(2));
    if (rc) return rc;
    rc = tr_started(NULL);
    ck_assert_int_eq(rc, 0);
    rc = tr_sleep(TR_SEC(1));
    tr_test_logt("slow_start done");
    return rc;
}

static int start_caller(void *arg) {
    tr_nursery *target = arg;
    int rc = tr_start(target, slow_start, NULL, NULL);
    tr_test_logt("start returned %d", rc);
    return rc;
}

static int pending_main(void *arg) {
    (void)arg;
    tr_nursery outer, target;
    tr_nursery_open(&outer);
    tr_nursery_open(&target);
    ck_assert_int_eq(tr_start_soon(&outer, start_caller, &target), 0);
    int rc = tr_checkpoint(); /* start_caller runs first and calls tr_start */
    ck_assert_int_eq(rc, 0);
    rc = tr_nursery_join(&target, 0);
    tr_test_logt("target joined %d", rc);
    return tr_nursery_join(&outer, rc);
}

START_TEST(test_pending_start_keeps_nursery_open) {
    tr_test_log_reset();
    run_expect(pending_main, NULL, 0, TR_SEC(3));
    ck_assert_str_eq(tr_test_log_str(),
                     "2.000 start returned 0\n"
                     "3.000 slow_start done\n"
                     "3.000 target joined 0\n");
}
END_TEST

/* ---- System tasks, join as a schedule point ---------------------------------------------- */

static int system_task(void *arg) {
    (void)arg;
    ck_assert_ptr_null(tr_task_parent(tr_current_task()));
    tr_test_logt("system started");
    int rc = tr_sleep_forever();
    tr_test_logt("system woke: %s", tr_error_name(rc));
    return rc;
}

static int system_main(void *arg) {
    (void)arg;
    ck_assert_int_eq(tr_spawn_system_task(system_task, NULL, "sys"), 0);
    int rc = tr_sleep(TR_SEC(1));
    ck_assert_int_eq(rc, 0);
    tr_test_logt("main exiting");
    return 7;
}

START_TEST(test_system_task_cancelled_when_main_exits) {
    /* Trio: system tasks are cancelled after main returns; the Cancelled
     * they end with is absorbed, not a failure of the run. */
    tr_test_log_reset();
    run_expect(system_main, NULL, 7, TR_SEC(1));
    ck_assert_str_eq(tr_test_log_str(),
                     "0.000 system started\n"
                     "1.000 main exiting\n"
                     "1.000 system woke: ECANCELED\n");
}
END_TEST

static int system_fails(void *arg) {
    (void)arg;
    int rc = tr_sleep(TR_SEC(1));
    ck_assert_int_eq(rc, 0);
    return tr_fail(-EPIPE, "system broke");
}

static int system_fail_main(void *arg) {
    (void)arg;
    ck_assert_int_eq(tr_spawn_system_task(system_fails, NULL, "sysfail"), 0);
    int rc = tr_sleep(TR_SEC(10));
    tr_test_logt("main: %s", tr_error_name(rc));
    return rc;
}

START_TEST(test_system_task_failure_ends_run) {
    tr_test_log_reset();
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    tr_run_opts o = {.report = f};
    tr_time end = -1;
    ck_assert_int_eq(tr_test_run_opts(system_fail_main, NULL, &o, 0, &end), -EPIPE);
    fclose(f);
    ck_assert_int_eq(end, TR_SEC(1));
    ck_assert_str_eq(tr_test_log_str(), "1.000 main: ECANCELED\n");
    ck_assert_ptr_nonnull(buf);
    ck_assert_ptr_nonnull(strstr(buf, "sysfail"));
    ck_assert_ptr_nonnull(strstr(buf, "system broke"));
    free(buf);
}
END_TEST

/* Once main has exited, its stack region may hold a new task; that task's
 * exit is not main's, and the run still returns main's result. */
static tr_task *exited_main;

static int late_child(void *arg) {
    (void)arg;
    ck_assert_msg(tr_current_task() == exited_main,
                  "the late task should reuse main's region (else this tests nothing)");
    return 0;
}

static int survivor(void *arg) {
    (void)arg;
    tr_cancel_scope cs;
    tr_scope_enter(&cs, TR_INF);
    tr_scope_set_shield(&cs, true);
    ck_assert_int_eq(tr_sleep(TR_SEC(2)), 0); /* main exits meanwhile, at 1 s */
    ck_assert_int_eq(tr_spawn_system_task(late_child, NULL, "late"), 0);
    ck_assert_int_eq(tr_sleep(TR_SEC(1)), 0);
    return tr_scope_exit(&cs, 0);
}

static int main_exits_first(void *arg) {
    (void)arg;
    exited_main = tr_current_task();
    ck_assert_int_eq(tr_spawn_system_task(survivor, NULL, "survivor"), 0);
    ck_assert_int_eq(tr_sleep(TR_SEC(1)), 0);
    return 7;
}

START_TEST(test_task_in_mains_region_is_not_main) {
    run_expect(main_exits_first, NULL, 7, TR_SEC(3));
}
END_TEST

static int logs_child(void *arg) {
    (void)arg;
    tr_test_log("child");
    return 0;
}

static int empty_join_main(void *arg) {
    (void)arg;
    tr_nursery outer, empty;
    tr_nursery_open(&outer);
    ck_assert_int_eq(tr_start_soon(&outer, logs_child, NULL), 0);
    tr_nursery_open(&empty);
    int rc = tr_nursery_join(&empty, 0);
    ck_assert_int_eq(rc, 0);
    tr_test_log("main after empty join");
    return tr_nursery_join(&outer, 0);
}

START_TEST(test_empty_join_is_schedule_point) {
    tr_test_log_reset();
    run_expect(empty_join_main, NULL, 0, 0);
    ck_assert_str_eq(tr_test_log_str(), "child\nmain after empty join\n");
}
END_TEST

static int nursery_cancel_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_spawn(&n, sibling, NULL, &(tr_spawn_opts){.name = "k"}), 0);
    int rc = tr_sleep(TR_SEC(2));
    ck_assert_int_eq(rc, 0);
    tr_nursery_cancel(&n);
    rc = tr_checkpoint();
    ck_assert_int_eq(rc, -ECANCELED);
    /* The nursery's own scope was cancelled: join absorbs it, and says so. */
    rc = tr_nursery_join(&n, rc);
    ck_assert(tr_nursery_cancelled_caught(&n));
    tr_nursery quiet;
    tr_nursery_open(&quiet);
    ck_assert_int_eq(tr_nursery_join(&quiet, 0), 0);
    ck_assert(!tr_nursery_cancelled_caught(&quiet));
    return rc;
}

START_TEST(test_nursery_cancel) {
    tr_test_log_reset();
    run_expect(nursery_cancel_main, NULL, 0, TR_SEC(2));
    ck_assert_str_eq(tr_test_log_str(), "2.000 k: ECANCELED\n");
}
END_TEST

/* ---- Suite ----------------------------------------------------------------------------- */

/* ---- Closing (review findings) ----------------------------------------------- */

/* A task that tries to spawn into a nursery while its parent is in join's
 * last schedule point (no children left) finds it closed, as in Trio. */
static int closing_spawn_rc = 1;

static int closing_child(void *arg) {
    (void)arg;
    return 0;
}

static int closing_spawner(void *arg) {
    closing_spawn_rc = tr_start_soon((tr_nursery *)arg, closing_child, NULL);
    return 0;
}

static int close_race_main(void *arg) {
    (void)arg;
    tr_nursery outer, n;
    tr_nursery_open(&outer);
    tr_nursery_open(&n);
    int rc = tr_start_soon(&outer, closing_spawner, &n);
    rc = tr_nursery_join(&n, rc); /* no children: closes, then yields */
    if (rc) return rc;
    return tr_nursery_join(&outer, 0);
}

START_TEST(test_no_spawn_into_a_closing_nursery) {
    closing_spawn_rc = 1;
    ck_assert_int_eq(tr_test_run(close_race_main, NULL, NULL), 0);
    ck_assert_int_eq(closing_spawn_rc, TR_ENURSERYCLOSED);
}
END_TEST

static int fails_with(void *arg) { return tr_fail(*(int *)arg, "failed with %d", *(int *)arg); }

static int two_nurseries_main(void *arg) {
    const tr_failure **lists = arg;
    static int eio = -EIO, epipe = -EPIPE;
    static tr_nursery n1, n2;
    tr_nursery_open(&n1);
    int rc = tr_start_soon(&n1, fails_with, &eio);
    ck_assert_int_eq(tr_nursery_join(&n1, rc), -EIO);
    tr_nursery_open(&n2);
    rc = tr_start_soon(&n2, fails_with, &epipe);
    ck_assert_int_eq(tr_nursery_join(&n2, rc), -EPIPE);
    lists[0] = tr_nursery_failures(&n1);
    lists[1] = tr_nursery_failures(&n2);
    /* Each nursery's list holds its own failure only. */
    ck_assert_ptr_nonnull(lists[0]);
    ck_assert_int_eq(lists[0]->code, -EIO);
    ck_assert_ptr_null(lists[0]->next);
    ck_assert_ptr_nonnull(lists[1]);
    ck_assert_int_eq(lists[1]->code, -EPIPE);
    ck_assert_ptr_null(lists[1]->next);
    return 0;
}

START_TEST(test_failure_lists_stay_per_nursery) {
    const tr_failure *lists[2];
    ck_assert_int_eq(tr_test_run(two_nurseries_main, lists, NULL), 0);
}
END_TEST

static Suite *nursery_suite(void) {
    Suite *s = suite_create("nursery");
    TCase *closing = tcase_create("closing");
    tcase_add_test(closing, test_no_spawn_into_a_closing_nursery);
    tcase_add_test(closing, test_failure_lists_stay_per_nursery);
    suite_add_tcase(s, closing);
    TCase *tc = tcase_create("seeds");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_tasks_intro);
    tcase_add_test(tc, test_tasks_intro_3s_1s);
    tcase_add_test(tc, test_seed_sleepy_five);
    tcase_add_test(tc, test_seed_starter);
    tcase_add_test(tc, test_seed_move_on_around_nursery);
    tcase_add_test(tc, test_seed_footgun);
    suite_add_tcase(s, tc);

    tc = tcase_create("failures");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_failing_child_cancels_siblings_and_body);
    tcase_add_test(tc, test_several_failures_kept_in_order);
    tcase_add_test(tc, test_fail_message_truncated);
    tcase_add_test(tc, test_nested_failures_passed_up);
    tcase_add_test(tc, test_body_failure_cancels_children);
    tcase_add_test(tc, test_body_failure_is_first);
    tcase_add_test(tc, test_nursery_cancel);
    suite_add_tcase(s, tc);

    tc = tcase_create("spawn");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_spawn_into_joined_nursery);
    tcase_add_test(tc, test_spawn_into_joined_nursery_from_child);
    tcase_add_test(tc, test_start_soon_copy);
    tcase_add_test(tc, test_spawn_names_and_invalid_copy);
    tcase_add_test(tc, test_empty_join_is_schedule_point);
    suite_add_tcase(s, tc);

    tc = tcase_create("report");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_failure_report);
    tcase_add_test(tc, test_quiet_prints_no_report);
    tcase_add_test(tc, test_absorbed_cancellations_not_reported);
    suite_add_tcase(s, tc);

    tc = tcase_create("start");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_start_delivers_value);
    tcase_add_test(tc, test_start_cancelled_by_caller_scope);
    tcase_add_test(tc, test_started_task_outlives_caller_scope);
    tcase_add_test(tc, test_started_into_cancelled_nursery);
    tcase_add_test(tc, test_start_errors);
    tcase_add_test(tc, test_pending_start_keeps_nursery_open);
    suite_add_tcase(s, tc);

    tc = tcase_create("system");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_system_task_cancelled_when_main_exits);
    tcase_add_test(tc, test_system_task_failure_ends_run);
    tcase_add_test(tc, test_task_in_mains_region_is_not_main);
    suite_add_tcase(s, tc);
    return s;
}

#include "check_main.h"
CTRIO_CHECK_MAIN(nursery_suite)
