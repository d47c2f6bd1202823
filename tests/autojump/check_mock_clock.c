/* The mock clock: rate, jump, exact virtual time, autojump (and how it meets
 * tr_wait_all_tasks_blocked and clock holds), hang detection, the jump log.
 * Ported from Trio's test_mock_clock.py where Trio has a test. */
#define _GNU_SOURCE
#include <check.h>
#include <math.h>
#include <string.h>

#include "ctrio.h"
#include "ctrio/autojump.h"
#include "ctrio/check.h"
#include "mock_clock_internal.h"
#include "test_util.h"

/* ---- helpers ------------------------------------------------------------ */

/* A real clock the test sets by hand (tr__mock_clock_set_real_clock). */
static tr_time fake_real_ns;
static tr_time fake_real(void *ctx) {
    (void)ctx;
    return fake_real_ns;
}

static tr_mock_clock *new_clock(tr_duration threshold) {
    tr_mock_clock *mc = NULL;
    ck_assert_int_eq(tr_mock_clock_new(&mc), 0);
    ck_assert_ptr_nonnull(mc);
    if (threshold != TR_INF) ck_assert_int_eq(tr_mock_clock_set_autojump_threshold(mc, threshold), 0);
    return mc;
}

/* tr_run(fn, arg) on mc, quiet, with the report (if any) in report_file. */
static int run_on(tr_mock_clock *mc, tr_task_fn fn, void *arg, FILE *report_file) {
    tr_run_opts o = {TR_MOCK_CLOCK_OPTS(mc), .report = report_file, .quiet = report_file == NULL};
    return tr_run(fn, arg, &o);
}

/* Everything written to f so far. */
static const char *slurp(FILE *f) {
    static char buf[8192];
    fflush(f);
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    return buf;
}

static tr_mock_clock *the_clock; /* the clock of the current test's run */

/* ---- the clock on its own (no run) -------------------------------------- */

START_TEST(test_defaults) {
    tr_mock_clock *mc = new_clock(TR_INF);
    ck_assert_int_eq(tr_mock_clock_now(mc), 0);
    ck_assert(tr_mock_clock_rate(mc) == 0);
    ck_assert_int_eq(tr_mock_clock_autojump_threshold(mc), TR_INF);
    ck_assert_uint_eq(tr_mock_clock_jumps(mc), 0);
    ck_assert(!tr_mock_clock_vtable.hang_is_error(mc));
    ck_assert_int_eq(tr_mock_clock_new(NULL), -EINVAL);
    tr_mock_clock_free(mc);
    tr_mock_clock_free(NULL);
}
END_TEST

/* Trio's test_mock_clock, on a fake real clock, in exact nanoseconds. */
START_TEST(test_rate_and_jump) {
    tr_mock_clock *mc = new_clock(TR_INF);
    const tr_clock *v = &tr_mock_clock_vtable;
    fake_real_ns = TR_SEC(123);
    tr__mock_clock_set_real_clock(mc, fake_real, NULL);
    ck_assert_int_eq(tr_mock_clock_jump(mc, TR_MS(1200)), 0);
    ck_assert_int_eq(tr_mock_clock_now(mc), TR_MS(1200));
    ck_assert_int_eq(tr_mock_clock_jump(mc, -1), -EINVAL);
    ck_assert_int_eq(tr_mock_clock_now(mc), TR_MS(1200));
    ck_assert_int_eq(v->deadline_to_sleep_time(mc, TR_MS(1100)), 0);
    ck_assert_int_eq(v->deadline_to_sleep_time(mc, TR_MS(1200)), 0);
    ck_assert_int_eq(v->deadline_to_sleep_time(mc, TR_MS(1300)), TR_INF);
    ck_assert_int_eq(v->deadline_to_sleep_time(mc, TR_INF), TR_INF);

    ck_assert_int_eq(tr_mock_clock_set_rate(mc, -1), -EINVAL);
    ck_assert_int_eq(tr_mock_clock_set_rate(mc, NAN), -EINVAL);
    ck_assert_int_eq(tr_mock_clock_set_rate(mc, INFINITY), -EINVAL);
    ck_assert(tr_mock_clock_rate(mc) == 0);
    ck_assert_int_eq(tr_mock_clock_set_rate(mc, 2), 0);
    ck_assert_int_eq(tr_mock_clock_now(mc), TR_MS(1200));
    fake_real_ns += TR_SEC(1);
    ck_assert_int_eq(v->now(mc), TR_MS(3200));
    ck_assert_int_eq(v->deadline_to_sleep_time(mc, TR_MS(3100)), 0);
    ck_assert_int_eq(v->deadline_to_sleep_time(mc, TR_MS(3200)), 0);
    ck_assert_int_eq(v->deadline_to_sleep_time(mc, TR_MS(4200)), TR_MS(500));

    ck_assert_int_eq(tr_mock_clock_set_rate(mc, 0.5), 0);
    ck_assert_int_eq(tr_mock_clock_now(mc), TR_MS(3200));
    ck_assert_int_eq(v->deadline_to_sleep_time(mc, TR_MS(4200)), TR_SEC(2));
    ck_assert_int_eq(tr_mock_clock_jump(mc, TR_MS(800)), 0);
    ck_assert_int_eq(tr_mock_clock_now(mc), TR_SEC(4));
    fake_real_ns += TR_SEC(1);
    ck_assert_int_eq(tr_mock_clock_now(mc), TR_MS(4500));
    /* Rounded up: the loop must never wake a nanosecond early. */
    ck_assert_int_eq(tr_mock_clock_set_rate(mc, 3), 0);
    ck_assert_int_eq(v->deadline_to_sleep_time(mc, TR_MS(4500) + 1), 1);
    ck_assert_int_eq(v->deadline_to_sleep_time(mc, TR_MS(4500) + 4), 2);
    ck_assert_int_eq(tr_mock_clock_set_rate(mc, 0), 0);
    fake_real_ns += TR_SEC(100);
    ck_assert_int_eq(tr_mock_clock_now(mc), TR_MS(4500));
    tr_mock_clock_free(mc);
}
END_TEST

START_TEST(test_threshold_and_hang_hook) {
    tr_mock_clock *mc = new_clock(TR_INF);
    const tr_clock *v = &tr_mock_clock_vtable;
    ck_assert_ptr_nonnull(v->autojump_threshold);
    ck_assert_ptr_nonnull(v->autojump);
    ck_assert_int_eq(v->autojump_threshold(mc), TR_INF);
    ck_assert_int_eq(tr_mock_clock_set_autojump_threshold(mc, -1), -EINVAL);
    ck_assert_int_eq(tr_mock_clock_autojump_threshold(mc), TR_INF);
    ck_assert_int_eq(tr_mock_clock_set_autojump_threshold(mc, 0), 0);
    ck_assert_int_eq(v->autojump_threshold(mc), 0);
    ck_assert(v->hang_is_error(mc));
    ck_assert_int_eq(tr_mock_clock_set_autojump_threshold(mc, TR_MS(5)), 0);
    ck_assert_int_eq(v->autojump_threshold(mc), TR_MS(5));
    ck_assert(v->hang_is_error(mc));
    ck_assert_int_eq(tr_mock_clock_set_autojump_threshold(mc, TR_INF), 0);
    ck_assert(!v->hang_is_error(mc));
    /* The autojump hook moves exactly to the deadline, never backwards. */
    v->autojump(mc, TR_SEC(10), "t");
    ck_assert_int_eq(tr_mock_clock_now(mc), TR_SEC(10));
    v->autojump(mc, TR_SEC(5), "t");
    ck_assert_int_eq(tr_mock_clock_now(mc), TR_SEC(10));
    ck_assert_uint_eq(tr_mock_clock_jumps(mc), 1);
    ck_assert_int_eq(tr_mock_clock_jump(mc, 0), 0);
    ck_assert_uint_eq(tr_mock_clock_jumps(mc), 1);
    ck_assert_int_eq(tr_mock_clock_jump(mc, TR_INF), 0);
    ck_assert_int_eq(tr_mock_clock_now(mc), TR_INF);
    tr_mock_clock_free(mc);
}
END_TEST

static tr_mock_clock_jump_info seen[4];
static char seen_cause[4][32];
static int n_seen;
static void record_jump(void *ctx, const tr_mock_clock_jump_info *j) {
    ck_assert_ptr_eq(ctx, &n_seen);
    if (n_seen < 4) {
        seen[n_seen] = *j;
        snprintf(seen_cause[n_seen], sizeof seen_cause[0], "%s", j->cause);
    }
    n_seen++;
}

START_TEST(test_log_fn_and_file) {
    tr_mock_clock *mc = new_clock(TR_INF);
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    tr_mock_clock_set_log_fn(mc, record_jump, &n_seen);
    ck_assert_int_eq(tr_mock_clock_jump(mc, TR_SEC(2)), 0);
    tr_mock_clock_vtable.autojump(mc, TR_MS(3500), "sleeper");
    ck_assert_int_eq(n_seen, 2);
    ck_assert_uint_eq(seen[0].index, 1);
    ck_assert_int_eq(seen[0].from, 0);
    ck_assert_int_eq(seen[0].to, TR_SEC(2));
    ck_assert(!seen[0].autojump);
    ck_assert_str_eq(seen_cause[0], "tr_mock_clock_jump");
    ck_assert_uint_eq(seen[1].index, 2);
    ck_assert_int_eq(seen[1].from, TR_SEC(2));
    ck_assert_int_eq(seen[1].to, TR_MS(3500));
    ck_assert(seen[1].autojump);
    ck_assert_str_eq(seen_cause[1], "sleeper");

    tr_mock_clock_set_log(mc, f); /* replaces the function */
    ck_assert_int_eq(tr_mock_clock_jump(mc, TR_NS(1)), 0);
    tr_mock_clock_vtable.autojump(mc, TR_SEC(3600), "cancel scope");
    ck_assert_int_eq(n_seen, 2);
    ck_assert_str_eq(slurp(f),
                     "ctrio: mock clock: jump #3 +0.000000001 s 3.500000000 -> 3.500000001 s: "
                     "tr_mock_clock_jump\n"
                     "ctrio: mock clock: jump #4 +3596.499999999 s 3.500000001 -> "
                     "3600.000000000 s: autojump to the deadline of 'cancel scope'\n");
    tr_mock_clock_set_log(mc, NULL);
    ck_assert_int_eq(tr_mock_clock_jump(mc, TR_SEC(1)), 0);
    ck_assert_uint_eq(tr_mock_clock_jumps(mc), 5);
    fclose(f);
    tr_mock_clock_free(mc);
}
END_TEST

/* ---- autojump in a run --------------------------------------------------- */

static int sleep_an_hour(void *arg) {
    (void)arg;
    int rc = tr_sleep(TR_SEC(3600));
    if (rc < 0) return rc;
    return tr_current_time() == TR_SEC(3600) ? 0 : tr_fail(-EINVAL, "woke at %lld",
                                                          (long long)tr_current_time());
}

START_TEST(test_autojump_hour_exact) {
    tr_mock_clock *mc = new_clock(0);
    ck_assert_int_eq(run_on(mc, sleep_an_hour, NULL, NULL), 0);
    ck_assert_int_eq(tr_mock_clock_now(mc), TR_SEC(3600));
    ck_assert_uint_eq(tr_mock_clock_jumps(mc), 1);
    tr_mock_clock_free(mc);
}
END_TEST

START_TEST(test_ck_run_helper) {
    tr_ck_run(sleep_an_hour, NULL);
    tr_mock_clock *mc = new_clock(0);
    tr_ck_run_clock(sleep_an_hour, NULL, mc);
    ck_assert_int_eq(tr_mock_clock_now(mc), TR_SEC(3600));
    tr_mock_clock_free(mc);
}
END_TEST

/* Trio's test_mock_clock_autojump, first half: sleeps of 10*i s, exact. */
static int sleep_series(void *arg) {
    (void)arg;
    tr_time start = tr_current_time();
    for (int i = 0; i < 10; i++) {
        int rc = tr_sleep(TR_SEC(10 * i));
        if (rc < 0) return rc;
        if (tr_current_time() != start + TR_SEC(10 * i)) return tr_fail(-EINVAL, "i=%d", i);
        start = tr_current_time();
    }
    return 0;
}

START_TEST(test_autojump_series) {
    tr_mock_clock *mc = new_clock(0);
    ck_assert_int_eq(run_on(mc, sleep_series, NULL, NULL), 0);
    ck_assert_int_eq(tr_mock_clock_now(mc), TR_SEC(450));
    tr_mock_clock_free(mc);
}
END_TEST

/* Trio's test_mock_clock_autojump, second half: waiters with a cushion
 * below the threshold wake without time moving; a threshold change applies
 * at once. */
static int threshold_changes(void *arg) {
    (void)arg;
    tr_time t = tr_current_time();
    (void)tr_mock_clock_set_autojump_threshold(the_clock, TR_MS(20));
    int rc = tr_wait_all_tasks_blocked(0);
    if (rc < 0 || tr_current_time() != t) return tr_fail(-EINVAL, "cushion 0 moved time");
    rc = tr_wait_all_tasks_blocked(TR_MS(10));
    if (rc < 0 || tr_current_time() != t) return tr_fail(-EINVAL, "cushion 10ms moved time");
    (void)tr_mock_clock_set_autojump_threshold(the_clock, TR_SEC(10000));
    rc = tr_wait_all_tasks_blocked(0);
    if (rc < 0) return rc;
    (void)tr_mock_clock_set_autojump_threshold(the_clock, 0);
    rc = tr_sleep(TR_SEC(100000)); /* would hang if the change were not seen */
    if (rc < 0) return rc;
    return tr_current_time() == t + TR_SEC(100000) ? 0 : tr_fail(-EINVAL, "inexact");
}

START_TEST(test_autojump_threshold_change_applies) {
    the_clock = new_clock(0);
    ck_assert_int_eq(run_on(the_clock, threshold_changes, NULL, NULL), 0);
    tr_mock_clock_free(the_clock);
}
END_TEST

/* Trio's test_mock_clock_autojump_preset and _interference: a threshold set
 * before the run is used; another clock's threshold is not. */
START_TEST(test_autojump_preset_and_interference) {
    tr_mock_clock *other = new_clock(TR_MS(1));
    tr_mock_clock *mc = new_clock(TR_MS(100));
    ck_assert_int_eq(tr_mock_clock_set_autojump_threshold(mc, TR_MS(10)), 0);
    ck_assert_int_eq(run_on(mc, sleep_an_hour, NULL, NULL), 0);
    ck_assert_int_eq(tr_mock_clock_now(mc), TR_SEC(3600));
    ck_assert_int_eq(tr_mock_clock_now(other), 0);
    tr_mock_clock_free(mc);
    tr_mock_clock_free(other);
}
END_TEST

/* Trio's test_mock_clock_autojump_0_and_wait_all_tasks_blocked_0. */
static int sleeper100(void *arg) {
    (void)arg;
    int rc = tr_sleep(TR_SEC(100));
    tr_test_logt("yawn");
    return rc;
}

static int waiter0(void *arg) {
    (void)arg;
    int rc = tr_wait_all_tasks_blocked(0);
    if (rc < 0) return rc;
    tr_test_logt("waiter woke");
    rc = tr_sleep(TR_SEC(1000));
    tr_test_logt("waiter done");
    return rc;
}

static int waiter_cushion(void *arg) {
    (void)arg;
    int rc = tr_wait_all_tasks_blocked(TR_MS(10));
    tr_test_logt("waiter done");
    return rc;
}

static int two_children(void *arg) {
    tr_task_fn *fns = arg;
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = tr_spawn(&n, fns[0], NULL, &(tr_spawn_opts){.name = "a"});
    if (rc == 0) rc = tr_spawn(&n, fns[1], NULL, &(tr_spawn_opts){.name = "b"});
    return tr_nursery_join(&n, rc);
}

START_TEST(test_autojump_and_wait_all_tasks_blocked_0) {
    tr_mock_clock *mc = new_clock(0);
    tr_task_fn fns[2] = {sleeper100, waiter0};
    tr_test_log_reset();
    ck_assert_int_eq(run_on(mc, two_children, fns, NULL), 0);
    ck_assert_str_eq(tr_test_log_str(), "0.000 waiter woke\n100.000 yawn\n1000.000 waiter done\n");
    tr_mock_clock_free(mc);
}
END_TEST

/* Trio's ..._wait_all_tasks_blocked_nonzero: a waiter (even with a cushion
 * above the threshold) wakes before any autojump. */
START_TEST(test_autojump_and_wait_all_tasks_blocked_cushion) {
    tr_mock_clock *mc = new_clock(0);
    tr_task_fn fns[2] = {sleeper100, waiter_cushion};
    tr_test_log_reset();
    ck_assert_int_eq(run_on(mc, two_children, fns, NULL), 0);
    ck_assert_str_eq(tr_test_log_str(), "0.000 waiter done\n100.000 yawn\n");
    tr_mock_clock_free(mc);
}
END_TEST

/* ---- manual jumps in a run --------------------------------------------- */

static int sleeper5(void *arg) {
    (void)arg;
    tr_test_logt("sleeper start");
    int rc = tr_sleep(TR_SEC(5));
    tr_test_logt("sleeper woke");
    return rc;
}

/* Trio's test_wait_all_tasks_blocked_with_timeouts: autojump off; a jump
 * from a task wakes what is due at the loop's next pass. */
static int jumper(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = tr_start_soon(&n, sleeper5, NULL);
    if (rc == 0) rc = tr_wait_all_tasks_blocked(0);
    if (rc == 0) {
        tr_test_logt("jump 10");
        rc = tr_mock_clock_jump(the_clock, TR_SEC(10));
    }
    if (rc == 0) rc = tr_wait_all_tasks_blocked(0);
    if (rc == 0) tr_test_logt("all blocked again");
    return tr_nursery_join(&n, rc);
}

START_TEST(test_jump_wakes_due_tasks) {
    the_clock = new_clock(TR_INF);
    tr_test_log_reset();
    ck_assert_int_eq(run_on(the_clock, jumper, NULL, NULL), 0);
    ck_assert_str_eq(tr_test_log_str(), "0.000 sleeper start\n0.000 jump 10\n"
                                        "10.000 sleeper woke\n10.000 all blocked again\n");
    ck_assert_int_eq(tr_mock_clock_now(the_clock), TR_SEC(10));
    tr_mock_clock_free(the_clock);
}
END_TEST

/* ---- rate in a run ------------------------------------------------------ */

static int rate_sleep(void *arg) {
    (void)arg;
    tr_time t0 = tr_current_time();
    int rc = tr_sleep(TR_SEC(20)); /* 20 ms of real time at rate 1000 */
    if (rc < 0) return rc;
    tr_duration d = tr_current_time() - t0;
    return d >= TR_SEC(20) ? 0 : tr_fail(-EINVAL, "woke early: %lld", (long long)d);
}

START_TEST(test_rate_in_run) {
    tr_mock_clock *mc = new_clock(TR_INF);
    ck_assert_int_eq(tr_mock_clock_set_rate(mc, 1000), 0);
    ck_assert_int_eq(run_on(mc, rate_sleep, NULL, NULL), 0);
    ck_assert_uint_eq(tr_mock_clock_jumps(mc), 0);
    tr_mock_clock_free(mc);
}
END_TEST

/* ---- holds --------------------------------------------------------------- */

static tr_time hour_woke_at;
static int hour_sleeper(void *arg) {
    (void)arg;
    int rc = tr_sleep(TR_SEC(3600));
    hour_woke_at = tr_current_time();
    return rc;
}

/* A hold stops autojump: with the clock at rate 1, the holder's 10 ms
 * sleep passes in real time while the hour-long sleep stays asleep; once the
 * hold is released, time jumps to the hour. */
static int holder(void *arg) {
    (void)arg;
    tr_clock_hold();
    int rc = tr_sleep(TR_MS(10));
    tr_time at = tr_current_time();
    tr_clock_release();
    if (rc < 0) return rc;
    if (hour_woke_at != -1 || at >= TR_SEC(3600)) return tr_fail(-EINVAL, "jumped under a hold");
    return 0;
}

START_TEST(test_hold_blocks_autojump) {
    tr_mock_clock *mc = new_clock(0);
    ck_assert_int_eq(tr_mock_clock_set_rate(mc, 1), 0);
    tr_task_fn fns[2] = {hour_sleeper, holder};
    hour_woke_at = -1;
    ck_assert_int_eq(run_on(mc, two_children, fns, NULL), 0);
    ck_assert_int_ge(hour_woke_at, TR_SEC(3600));
    ck_assert_int_lt(hour_woke_at, TR_SEC(3601));
    ck_assert_uint_eq(tr_mock_clock_jumps(mc), 1);
    tr_mock_clock_free(mc);
}
END_TEST

/* ---- hang detection ---------------------------------------------------- */

static int stuck_forever(void *arg) {
    (void)arg;
    return tr_sleep_forever();
}

START_TEST(test_hang_is_deadlock_with_report) {
    tr_mock_clock *mc = new_clock(0);
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    tr_task_fn fns[2] = {stuck_forever, sleeper5};
    ck_assert_int_eq(run_on(mc, two_children, fns, f), TR_EDEADLOCK);
    const char *report = slurp(f);
    ck_assert_ptr_nonnull(strstr(report, "deadlock"));
    ck_assert_ptr_nonnull(strstr(report, "task 'a'"));
    ck_assert_ptr_nonnull(strstr(report, "check_mock_clock.c:"));
    ck_assert_int_eq(tr_mock_clock_now(mc), TR_SEC(5));
    fclose(f);
    tr_mock_clock_free(mc);
}
END_TEST

/* A hold keeps the run from being declared hung until it is released. */
static tr_time released_at;
static int hold_then_release(void *arg) {
    (void)arg;
    tr_clock_hold();
    int rc = tr_sleep(TR_MS(5));
    released_at = tr_current_time();
    tr_clock_release();
    if (rc < 0) return rc;
    return tr_sleep_forever();
}

START_TEST(test_hold_blocks_hang) {
    tr_mock_clock *mc = new_clock(0);
    ck_assert_int_eq(tr_mock_clock_set_rate(mc, 1), 0);
    tr_task_fn fns[2] = {stuck_forever, hold_then_release};
    released_at = -1;
    ck_assert_int_eq(run_on(mc, two_children, fns, NULL), TR_EDEADLOCK);
    ck_assert_int_ge(released_at, TR_MS(5));
    tr_mock_clock_free(mc);
}
END_TEST

/* ---- the jump log in a run: each jump names the deadline's owner -------- */

static int scope_timeout(void *arg) {
    (void)arg;
    tr_cancel_scope cs;
    int rc = tr_move_on_after(&cs, TR_SEC(3));
    if (rc < 0) return rc;
    rc = tr_sleep(TR_SEC(10));
    return tr_scope_exit(&cs, rc);
}

static int log_scenario(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = tr_spawn(&n, sleeper5, NULL, &(tr_spawn_opts){.name = "sleeper"});
    if (rc == 0) rc = tr_spawn(&n, scope_timeout, NULL, &(tr_spawn_opts){.name = "timeout"});
    return tr_nursery_join(&n, rc);
}

START_TEST(test_jump_log_in_run) {
    tr_mock_clock *mc = new_clock(0);
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    tr_mock_clock_set_log(mc, f);
    tr_test_log_reset();
    ck_assert_int_eq(run_on(mc, log_scenario, NULL, NULL), 0);
    ck_assert_str_eq(slurp(f),
                     "ctrio: mock clock: jump #1 +3.000000000 s 0.000000000 -> 3.000000000 s: "
                     "autojump to the deadline of 'timeout'\n"
                     "ctrio: mock clock: jump #2 +2.000000000 s 3.000000000 -> 5.000000000 s: "
                     "autojump to the deadline of 'sleeper'\n");
    fclose(f);
    tr_mock_clock_free(mc);
}
END_TEST

static Suite *mock_clock_suite(void) {
    Suite *s = suite_create("mock_clock");
    TCase *tc = tcase_create("clock");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_rate_and_jump);
    tcase_add_test(tc, test_threshold_and_hang_hook);
    tcase_add_test(tc, test_log_fn_and_file);
    suite_add_tcase(s, tc);

    tc = tcase_create("autojump");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_autojump_hour_exact);
    tcase_add_test(tc, test_ck_run_helper);
    tcase_add_test(tc, test_autojump_series);
    tcase_add_test(tc, test_autojump_threshold_change_applies);
    tcase_add_test(tc, test_autojump_preset_and_interference);
    tcase_add_test(tc, test_autojump_and_wait_all_tasks_blocked_0);
    tcase_add_test(tc, test_autojump_and_wait_all_tasks_blocked_cushion);
    tcase_add_test(tc, test_jump_log_in_run);
    suite_add_tcase(s, tc);

    tc = tcase_create("run");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_jump_wakes_due_tasks);
    tcase_add_test(tc, test_rate_in_run);
    tcase_add_test(tc, test_hold_blocks_autojump);
    tcase_add_test(tc, test_hang_is_deadlock_with_report);
    tcase_add_test(tc, test_hold_blocks_hang);
    suite_add_tcase(s, tc);
    return s;
}

#include "check_main.h"
CTRIO_CHECK_MAIN(mock_clock_suite)
