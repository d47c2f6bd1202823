/* Out-of-memory sweep: every allocation of a run, failed in turn, gives a
 * clean result (the normal one or -ENOMEM), never a crash, and leaks
 * nothing. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "ctrio.h"
#include "test_util.h"
#include "vclock.h"

static TR_TASK_LOCAL(tag, NULL);

typedef struct worker_args {
    int index;
    char name[24];
} worker_args;

/* Propagates -ENOMEM from whatever it calls; otherwise sleeps. */
static int worker(void *arg) {
    worker_args *w = arg;
    if (strncmp(w->name, "worker-", 7) != 0) return tr_fail(-EINVAL, "bad copy");
    void *inherited = tr_task_local_get(&tag);
    if (inherited != (void *)(intptr_t)1) return tr_fail(-EINVAL, "bad local");
    int rc = tr_task_local_set(&tag, (void *)(intptr_t)(10 + w->index));
    if (rc) return rc;
    rc = tr_sleep(TR_SEC(1 + w->index));
    return rc;
}

static int failer(void *arg) {
    (void)arg;
    int rc = tr_sleep(TR_MS(2500));
    if (rc) return rc;
    return tr_fail(-EPIPE, "failer %s", "gave up");
}

static int started_child(void *arg) {
    (void)arg;
    int rc = tr_task_local_set(&tag, (void *)(intptr_t)7);
    if (rc) return rc;
    rc = tr_started((void *)(intptr_t)5);
    if (rc) return rc;
    return tr_sleep_forever();
}

static int grand(void *arg) {
    (void)arg;
    int rc = tr_sleep(TR_SEC(3)); /* cancelled at 2.5 s by failer's failure */
    if (rc == -ENOMEM) return rc;
    return tr_fail(TR_EBROKEN, "grand after %d", rc);
}

static int middle(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = tr_start_soon(&n, grand, NULL);
    return tr_nursery_join(&n, rc);
}

/* The normal result is -EPIPE at 2.5 s: failer fails and cancels the rest;
 * middle then fails too (grand fails when cancelled), so n keeps two
 * failures, one with a nested one. */
static int scenario(void *arg) {
    int *main_ran = arg;
    *main_ran = 1;
    int rc = tr_task_local_set(&tag, (void *)(intptr_t)1);
    if (rc) return rc;
    tr_cancel_scope cs;
    rc = tr_move_on_after(&cs, TR_SEC(60));
    if (rc) return rc;
    tr_nursery n;
    tr_nursery_open(&n);
    int body = 0;
    for (int i = 0; i < 3 && body == 0; i++) {
        worker_args w = {.index = i};
        snprintf(w.name, sizeof w.name, "worker-%d", i);
        body = tr_start_soon_copy(&n, worker, &w, sizeof w);
    }
    if (body == 0) body = tr_start_soon(&n, failer, NULL);
    if (body == 0) body = tr_spawn(&n, middle, NULL, &(tr_spawn_opts){.name = "middle"});
    void *v = NULL;
    if (body == 0) {
        body = tr_start(&n, started_child, NULL, &v);
        if (body == 0 && v != (void *)(intptr_t)5) body = tr_fail(-EINVAL, "bad start value");
    }
    if (body == 0) {
        tr_cancel_scope inner;
        tr_scope_enter(&inner, TR_INF);
        body = tr_sleep(TR_SEC(10));
        body = tr_scope_exit(&inner, body);
    }
    rc = tr_nursery_join(&n, body);
    /* Walk every failure kept, as a user would. */
    for (const tr_failure *f = tr_nursery_failures(&n); f; f = f->next) {
        if (!f->task_name || !f->message) return tr_fail(-EINVAL, "bad failure record");
        for (const tr_failure *c = f->children; c; c = c->next)
            if (!c->task_name || !c->message) return tr_fail(-EINVAL, "bad child record");
    }
    rc = tr_scope_exit(&cs, rc);
    if (tr_task_local_get(&tag) != (void *)(intptr_t)1) return tr_fail(-EINVAL, "main local");
    return rc;
}

/* Result of the scenario with no allocation failing. */
static int normal_result(tr_test_alloc *a, FILE *report) {
    int main_ran = 0;
    tr_run_opts o = {.alloc = tr_test_alloc_fn, .alloc_ctx = a, .report = report};
    tr_time end = -1;
    int rc = tr_test_run_opts(scenario, &main_ran, &o, 0, &end);
    ck_assert_int_eq(main_ran, 1);
    ck_assert_int_eq(end, TR_MS(2500));
    return rc;
}

START_TEST(test_scenario_without_failures) {
    FILE *report = fopen("/dev/null", "w");
    ck_assert_ptr_nonnull(report);
    tr_test_alloc a = {0};
    ck_assert_int_eq(normal_result(&a, report), -EPIPE);
    ck_assert_int_gt(a.calls, 5);
    ck_assert_int_eq(a.live, 0);
    fclose(report);
}
END_TEST

/* _i == 0: fail only the Nth allocation; 1: fail it and every later one. */
START_TEST(test_oom_sweep) {
    FILE *report = fopen("/dev/null", "w");
    ck_assert_ptr_nonnull(report);
    tr_test_alloc probe = {0};
    ck_assert_int_eq(normal_result(&probe, report), -EPIPE);
    size_t n_enomem = 0, n_normal = 0;
    for (size_t n = 1; n < 100000; n++) {
        tr_test_alloc a = {.fail_at = n, .fail_after = _i == 1};
        int main_ran = 0;
        tr_run_opts o = {.alloc = tr_test_alloc_fn, .alloc_ctx = &a, .report = report};
        int rc = tr_test_run_opts(scenario, &main_ran, &o, 0, NULL);
        ck_assert_msg(rc == -EPIPE || rc == -ENOMEM,
                      "fail_at=%zu: tr_run returned %d (%s)", n, rc, tr_strerror(rc));
        ck_assert_msg(a.live == 0, "fail_at=%zu: %ld blocks leaked", n, a.live);
        if (rc == -ENOMEM) n_enomem++;
        else n_normal++;
        if (a.failures == 0) {
            /* The run made fewer than n allocations: the sweep is complete. */
            ck_assert_int_eq(rc, -EPIPE);
            ck_assert_int_eq(n, probe.calls + 1);
            break;
        }
    }
    ck_assert_int_gt(n_enomem, 0);
    ck_assert_int_gt(n_normal, 0);
    fclose(report);
}
END_TEST

static int spawn_until_enomem(void *arg) {
    long *spawned = arg;
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = 0;
    while (rc == 0 && *spawned < 2000) {
        rc = tr_start_soon(&n, failer, NULL);
        if (rc == 0) (*spawned)++;
    }
    ck_assert(rc == 0 || rc == -ENOMEM);
    /* A failed spawn ran nothing; the nursery still works. */
    tr_nursery_cancel(&n);
    return tr_nursery_join(&n, 0);
}

START_TEST(test_spawn_reports_enomem) {
    /* A budget of allocations: the run gets going, spawns fail later. */
    long spawned = 0;
    tr_test_alloc a = {.fail_at = 40, .fail_after = true};
    tr_run_opts o = {.alloc = tr_test_alloc_fn, .alloc_ctx = &a, .quiet = true};
    int rc = tr_test_run_opts(spawn_until_enomem, &spawned, &o, 0, NULL);
    ck_assert(rc == 0 || rc == -ENOMEM);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

static int setter(void *arg) {
    (void)arg;
    int rc = 0;
    static tr_task_local keys[64];
    for (int i = 0; i < 64 && rc == 0; i++) {
        keys[i].name = "k";
        rc = tr_task_local_set(&keys[i], (void *)(intptr_t)(i + 1));
    }
    if (rc) return rc;
    for (int i = 0; i < 64; i++)
        if (tr_task_local_get(&keys[i]) != (void *)(intptr_t)(i + 1)) return -EINVAL;
    return 0;
}

START_TEST(test_task_local_set_sweep) {
    for (size_t n = 1; n < 10000; n++) {
        tr_test_alloc a = {.fail_at = n};
        tr_run_opts o = {.alloc = tr_test_alloc_fn, .alloc_ctx = &a, .quiet = true};
        int rc = tr_test_run_opts(setter, NULL, &o, 0, NULL);
        ck_assert_msg(rc == 0 || rc == -ENOMEM, "fail_at=%zu: %d", n, rc);
        ck_assert_int_eq(a.live, 0);
        if (a.failures == 0) break;
    }
}
END_TEST

static Suite *oom_suite(void) {
    Suite *s = suite_create("oom");
    TCase *tc = tcase_create("oom");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_scenario_without_failures);
    tcase_add_loop_test(tc, test_oom_sweep, 0, 2);
    tcase_add_test(tc, test_spawn_reports_enomem);
    tcase_add_test(tc, test_task_local_set_sweep);
    suite_add_tcase(s, tc);
    return s;
}

#include "check_main.h"
CTRIO_CHECK_MAIN(oom_suite)
