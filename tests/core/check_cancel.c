/* Cancel scopes: deadlines, absorption, level-triggered cancellation,
 * shields, effective deadlines and misuse. */
#define _GNU_SOURCE
#include <check.h>
#include <signal.h>
#include <stdlib.h>

#include "ctrio.h"
#include "test_util.h"
#include "vclock.h"

/* Runs fn on the virtual clock and checks its result and end time. */
static void run_expect(tr_task_fn fn, void *arg, int rc, tr_time end) {
    tr_time t = -1;
    ck_assert_int_eq(tr_test_run(fn, arg, &t), rc);
    ck_assert_int_eq(t, end);
}

/* ---- move_on / fail_after ----------------------------------------------- */

static int move_on_main(void *arg) {
    (void)arg;
    tr_cancel_scope cs;
    ck_assert_int_eq(tr_move_on_after(&cs, TR_SEC(1)), 0);
    ck_assert_int_eq(tr_scope_deadline(&cs), TR_SEC(1));
    ck_assert(!tr_scope_cancel_called(&cs));
    int rc = tr_sleep(TR_SEC(5));
    ck_assert_int_eq(rc, -ECANCELED);
    ck_assert_int_eq(tr_current_time(), TR_SEC(1));
    ck_assert(tr_scope_cancel_called(&cs));
    ck_assert(!tr_scope_cancelled_caught(&cs));
    rc = tr_scope_exit(&cs, rc);
    ck_assert_int_eq(rc, 0);
    ck_assert(tr_scope_cancelled_caught(&cs));
    /* Outside the scope nothing is cancelled any more. */
    ck_assert_int_eq(tr_checkpoint(), 0);
    return 0;
}

START_TEST(test_move_on_after_sleep) {
    run_expect(move_on_main, NULL, 0, TR_SEC(1));
}
END_TEST

static int move_on_at_main(void *arg) {
    (void)arg;
    tr_cancel_scope cs;
    ck_assert_int_eq(tr_move_on_at(&cs, TR_MS(2500)), 0);
    int rc = tr_sleep_forever();
    ck_assert_int_eq(rc, -ECANCELED);
    ck_assert_int_eq(tr_current_time(), TR_MS(2500));
    return tr_scope_exit(&cs, rc);
}

START_TEST(test_move_on_at_sleep_forever) {
    run_expect(move_on_at_main, NULL, 0, TR_MS(2500));
}
END_TEST

static int in_time_main(void *arg) {
    (void)arg;
    tr_cancel_scope cs;
    ck_assert_int_eq(tr_move_on_after(&cs, TR_SEC(5)), 0);
    int rc = tr_sleep(TR_SEC(2));
    ck_assert_int_eq(rc, 0);
    rc = tr_scope_exit(&cs, rc);
    ck_assert_int_eq(rc, 0);
    ck_assert(!tr_scope_cancel_called(&cs));
    ck_assert(!tr_scope_cancelled_caught(&cs));
    ck_assert_int_eq(tr_fail_after(&cs, TR_SEC(5)), 0);
    rc = tr_sleep(TR_SEC(1));
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(tr_scope_exit(&cs, rc), 0);
    ck_assert(!tr_scope_cancelled_caught(&cs));
    return 0;
}

START_TEST(test_scope_not_expired) {
    /* The seed's move_on_after(10) around a shorter sleep: no effect. */
    run_expect(in_time_main, NULL, 0, TR_SEC(3));
}
END_TEST

static int fail_after_main(void *arg) {
    (void)arg;
    tr_cancel_scope cs;
    ck_assert_int_eq(tr_fail_after(&cs, TR_SEC(2)), 0);
    int rc = tr_sleep(TR_SEC(3));
    ck_assert_int_eq(rc, -ECANCELED);
    ck_assert_int_eq(tr_current_time(), TR_SEC(2));
    rc = tr_scope_exit(&cs, rc);
    ck_assert_int_eq(rc, -ETIMEDOUT);
    /* Trio's fail_at is move_on_at + "raise TooSlowError if cancelled_caught". */
    ck_assert(tr_scope_cancelled_caught(&cs));

    ck_assert_int_eq(tr_fail_at(&cs, TR_SEC(4)), 0);
    rc = tr_sleep_forever();
    ck_assert_int_eq(tr_current_time(), TR_SEC(4));
    ck_assert_int_eq(tr_scope_exit(&cs, rc), -ETIMEDOUT);
    return 0;
}

START_TEST(test_fail_after_timedout) {
    run_expect(fail_after_main, NULL, 0, TR_SEC(4));
}
END_TEST

static int negative_main(void *arg) {
    (void)arg;
    tr_cancel_scope cs;
    ck_assert_int_eq(tr_move_on_after(&cs, -1), -EINVAL);
    ck_assert_int_eq(tr_fail_after(&cs, -TR_SEC(1)), -EINVAL);
    /* Nothing was entered: no deadline applies, and a new scope nests fine. */
    ck_assert_int_eq(tr_current_effective_deadline(), TR_INF);
    tr_cancel_scope other;
    tr_scope_enter(&other, TR_INF);
    ck_assert_int_eq(tr_checkpoint(), 0);
    ck_assert_int_eq(tr_scope_exit(&other, 0), 0);
    return 0;
}

START_TEST(test_negative_timeout_is_einval) {
    run_expect(negative_main, NULL, 0, 0);
}
END_TEST

static int zero_timeout_main(void *arg) {
    (void)arg;
    tr_cancel_scope cs;
    /* Trio: move_on_after(0) cancels at the first checkpoint. */
    ck_assert_int_eq(tr_move_on_after(&cs, 0), 0);
    int rc = tr_sleep(TR_SEC(1));
    ck_assert_int_eq(rc, -ECANCELED);
    ck_assert_int_eq(tr_current_time(), 0);
    rc = tr_checkpoint();
    ck_assert_int_eq(rc, -ECANCELED);
    ck_assert_int_eq(tr_scope_exit(&cs, rc), 0);
    ck_assert(tr_scope_cancelled_caught(&cs));
    return 0;
}

START_TEST(test_zero_timeout_cancels_at_once) {
    run_expect(zero_timeout_main, NULL, 0, 0);
}
END_TEST

/* ---- Level-triggered ------------------------------------------------------ */

/* A checkpoint is a schedule point, then a cancel point: a cancellation made
 * by another task while this one waits at the schedule point is what the
 * cancel point reports, and the next checkpoint reports it again. (Where
 * the caller finishes the switch itself, its inline end sees the run's
 * cancel generation changed and asks the library.) */
static tr_cancel_scope away_scope;
static int away_checkpoints;

static int away_canceller(void *arg) {
    (void)arg;
    tr_test_log("canceller: main passed %d checkpoints", away_checkpoints);
    tr_scope_cancel(&away_scope);
    return 0;
}

static int away_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    tr_scope_enter(&away_scope, TR_INF);
    ck_assert_int_eq(tr_checkpoint(), 0); /* the cancel point's cache is fresh */
    away_checkpoints++;
    ck_assert_int_eq(tr_start_soon(&n, away_canceller, NULL), 0);
    int rc = tr_checkpoint(); /* away while the canceller runs */
    tr_test_log("main: %s", tr_error_name(rc));
    ck_assert_int_eq(rc, -ECANCELED);
    ck_assert_int_eq(tr_checkpoint(), -ECANCELED);
    ck_assert_int_eq(tr_scope_exit(&away_scope, rc), 0);
    ck_assert(tr_scope_cancelled_caught(&away_scope));
    return tr_nursery_join(&n, 0);
}

START_TEST(test_cancelled_while_away_at_a_checkpoint) {
    tr_test_log_reset();
    run_expect(away_main, NULL, 0, 0);
    ck_assert_str_eq(tr_test_log_str(),
                     "canceller: main passed 1 checkpoints\n"
                     "main: ECANCELED\n");
}
END_TEST

static int level_main(void *arg) {
    (void)arg;
    tr_cancel_scope cs;
    tr_scope_enter(&cs, TR_INF);
    ck_assert_int_eq(tr_checkpoint(), 0);
    ck_assert_int_eq(tr_checkpoint_if_cancelled(), 0);
    tr_scope_cancel(&cs);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(tr_checkpoint(), -ECANCELED);
        ck_assert_int_eq(tr_checkpoint_if_cancelled(), -ECANCELED);
        ck_assert_int_eq(tr_sleep(0), -ECANCELED);
        ck_assert_int_eq(tr_sleep(TR_SEC(1)), -ECANCELED);
        ck_assert_int_eq(tr_sleep_until(TR_SEC(1)), -ECANCELED);
        ck_assert_int_eq(tr_sleep_forever(), -ECANCELED);
        ck_assert_int_eq(tr_cancel_shielded_checkpoint(), 0);
    }
    /* No time passed: every call returned at once. */
    ck_assert_int_eq(tr_current_time(), 0);
    ck_assert_int_eq(tr_scope_exit(&cs, -ECANCELED), 0);
    ck_assert_int_eq(tr_checkpoint(), 0);
    ck_assert_int_eq(tr_checkpoint_if_cancelled(), 0);
    return 0;
}

START_TEST(test_level_triggered) {
    run_expect(level_main, NULL, 0, 0);
}
END_TEST

static int other_task(void *arg) {
    (void)arg;
    tr_test_log("other");
    return 0;
}

static int cic_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_start_soon(&n, other_task, NULL), 0);
    /* Not cancelled: returns at once, no schedule point. */
    ck_assert_int_eq(tr_checkpoint_if_cancelled(), 0);
    tr_test_log("main");
    return tr_nursery_join(&n, 0);
}

START_TEST(test_checkpoint_if_cancelled_no_yield) {
    tr_test_log_reset();
    run_expect(cic_main, NULL, 0, 0);
    ck_assert_str_eq(tr_test_log_str(), "main\nother\n");
}
END_TEST

static int shielded_cp_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_start_soon(&n, other_task, NULL), 0);
    tr_nursery_cancel(&n);
    /* Never a cancel point, always a schedule point. */
    ck_assert_int_eq(tr_cancel_shielded_checkpoint(), 0);
    tr_test_log("main");
    ck_assert_int_eq(tr_checkpoint(), -ECANCELED);
    return tr_nursery_join(&n, -ECANCELED);
}

START_TEST(test_cancel_shielded_checkpoint) {
    /* other_task never checkpoints, so it runs to completion. The body's
     * -ECANCELED is absorbed by the nursery's own cancelled scope. */
    tr_test_log_reset();
    run_expect(shielded_cp_main, NULL, 0, 0);
    ck_assert_str_eq(tr_test_log_str(), "other\nmain\n");
}
END_TEST

/* ---- Which scope absorbs -------------------------------------------------- */

static int outermost_main(void *arg) {
    (void)arg;
    tr_cancel_scope outer, inner;
    tr_scope_enter(&outer, TR_INF);
    tr_scope_enter(&inner, TR_INF);
    tr_scope_cancel(&inner);
    tr_scope_cancel(&outer);
    int rc = tr_checkpoint();
    ck_assert_int_eq(rc, -ECANCELED);
    rc = tr_scope_exit(&inner, rc);
    ck_assert_int_eq(rc, -ECANCELED);
    ck_assert(!tr_scope_cancelled_caught(&inner));
    ck_assert(tr_scope_cancel_called(&inner));
    rc = tr_scope_exit(&outer, rc);
    ck_assert_int_eq(rc, 0);
    ck_assert(tr_scope_cancelled_caught(&outer));
    return 0;
}

START_TEST(test_outermost_cancelled_scope_absorbs) {
    run_expect(outermost_main, NULL, 0, 0);
}
END_TEST

static int outermost_deadline_main(void *arg) {
    (void)arg;
    tr_cancel_scope outer, inner;
    ck_assert_int_eq(tr_move_on_after(&outer, TR_SEC(1)), 0);
    ck_assert_int_eq(tr_fail_after(&inner, TR_SEC(2)), 0);
    int rc = tr_sleep(TR_SEC(5));
    ck_assert_int_eq(rc, -ECANCELED);
    ck_assert_int_eq(tr_current_time(), TR_SEC(1));
    /* Level-triggered: returns at once, so the inner deadline never fires. */
    rc = tr_sleep(TR_SEC(5));
    ck_assert_int_eq(rc, -ECANCELED);
    ck_assert_int_eq(tr_current_time(), TR_SEC(1));
    ck_assert(!tr_scope_cancel_called(&inner));
    rc = tr_scope_exit(&inner, rc);
    ck_assert_int_eq(rc, -ECANCELED);
    ck_assert(!tr_scope_cancelled_caught(&inner));
    rc = tr_scope_exit(&outer, rc);
    ck_assert_int_eq(rc, 0);
    return 0;
}

START_TEST(test_outer_deadline_passes_through_fail_after) {
    run_expect(outermost_deadline_main, NULL, 0, TR_SEC(1));
}
END_TEST

static int inner_only_main(void *arg) {
    (void)arg;
    tr_cancel_scope outer, inner;
    tr_scope_enter(&outer, TR_INF);
    ck_assert_int_eq(tr_move_on_after(&inner, TR_SEC(1)), 0);
    int rc = tr_sleep(TR_SEC(3));
    ck_assert_int_eq(rc, -ECANCELED);
    rc = tr_scope_exit(&inner, rc);
    ck_assert_int_eq(rc, 0);
    ck_assert(tr_scope_cancelled_caught(&inner));
    rc = tr_sleep(TR_SEC(1));
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(tr_current_time(), TR_SEC(2));
    rc = tr_scope_exit(&outer, rc);
    ck_assert(!tr_scope_cancelled_caught(&outer));
    ck_assert(!tr_scope_cancel_called(&outer));
    return rc;
}

START_TEST(test_inner_scope_absorbs_own_cancel) {
    run_expect(inner_only_main, NULL, 0, TR_SEC(2));
}
END_TEST

static int shield_absorbs_main(void *arg) {
    (void)arg;
    tr_cancel_scope outer, inner;
    tr_scope_enter(&outer, TR_INF);
    tr_scope_enter(&inner, TR_INF);
    tr_scope_set_shield(&inner, true);
    ck_assert(tr_scope_shield(&inner));
    tr_scope_cancel(&outer);
    ck_assert_int_eq(tr_checkpoint(), 0);
    tr_scope_cancel(&inner);
    int rc = tr_checkpoint();
    ck_assert_int_eq(rc, -ECANCELED);
    /* The outer cancellation does not reach through the shield: the inner
     * scope absorbs its own. */
    rc = tr_scope_exit(&inner, rc);
    ck_assert_int_eq(rc, 0);
    ck_assert(tr_scope_cancelled_caught(&inner));
    rc = tr_checkpoint();
    ck_assert_int_eq(rc, -ECANCELED);
    rc = tr_scope_exit(&outer, rc);
    ck_assert_int_eq(rc, 0);
    ck_assert(tr_scope_cancelled_caught(&outer));
    return 0;
}

START_TEST(test_shielded_inner_absorbs) {
    run_expect(shield_absorbs_main, NULL, 0, 0);
}
END_TEST

static int passthrough_main(void *arg) {
    (void)arg;
    tr_cancel_scope cs;
    /* A cancelled scope returns any other result unchanged. */
    tr_scope_enter(&cs, TR_INF);
    tr_scope_cancel(&cs);
    ck_assert_int_eq(tr_scope_exit(&cs, -EIO), -EIO);
    ck_assert(!tr_scope_cancelled_caught(&cs));
    tr_scope_enter(&cs, TR_INF);
    tr_scope_cancel(&cs);
    ck_assert_int_eq(tr_scope_exit(&cs, 5), 5);
    tr_scope_enter(&cs, TR_INF);
    tr_scope_cancel(&cs);
    ck_assert_int_eq(tr_scope_exit(&cs, TR_EBROKEN), TR_EBROKEN);
    ck_assert_int_eq(tr_fail_after(&cs, 0), 0);
    ck_assert_int_eq(tr_scope_exit(&cs, -EPIPE), -EPIPE);
    /* A scope that was not cancelled does not absorb -ECANCELED. */
    tr_scope_enter(&cs, TR_INF);
    ck_assert_int_eq(tr_scope_exit(&cs, -ECANCELED), -ECANCELED);
    ck_assert(!tr_scope_cancelled_caught(&cs));
    return 0;
}

START_TEST(test_other_results_pass_through) {
    run_expect(passthrough_main, NULL, 0, 0);
}
END_TEST

/* ---- Shields ----------------------------------------------------------------- */

static int shield_main(void *arg) {
    (void)arg;
    tr_cancel_scope outer, shield;
    ck_assert_int_eq(tr_move_on_after(&outer, TR_SEC(1)), 0);
    tr_scope_enter(&shield, TR_INF);
    tr_scope_set_shield(&shield, true);
    int rc = tr_sleep(TR_SEC(2));
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(tr_current_time(), TR_SEC(2));
    ck_assert(tr_scope_cancel_called(&outer));
    rc = tr_scope_exit(&shield, rc);
    ck_assert_int_eq(rc, 0);
    rc = tr_checkpoint();
    ck_assert_int_eq(rc, -ECANCELED);
    return tr_scope_exit(&outer, rc);
}

START_TEST(test_shield_lets_sleep_complete) {
    run_expect(shield_main, NULL, 0, TR_SEC(2));
}
END_TEST

typedef struct unshield_args {
    tr_cancel_scope *scope; /* the scope to change */
    tr_duration after;      /* when */
} unshield_args;

static int unshielder(void *arg) {
    unshield_args *a = arg;
    int rc = tr_sleep(a->after);
    ck_assert_int_eq(rc, 0);
    tr_scope_set_shield(a->scope, false);
    return 0;
}

static int unshield_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_cancel_scope outer, shield;
    tr_nursery_open(&n);
    unshield_args a = {.scope = &shield, .after = TR_SEC(3)};
    ck_assert_int_eq(tr_start_soon(&n, unshielder, &a), 0);
    ck_assert_int_eq(tr_move_on_after(&outer, TR_SEC(1)), 0);
    tr_scope_enter(&shield, TR_INF);
    tr_scope_set_shield(&shield, true);
    int rc = tr_sleep(TR_SEC(10));
    ck_assert_int_eq(rc, -ECANCELED);
    ck_assert_int_eq(tr_current_time(), TR_SEC(3));
    ck_assert(!tr_scope_shield(&shield));
    rc = tr_scope_exit(&shield, rc);
    ck_assert_int_eq(rc, -ECANCELED);
    rc = tr_scope_exit(&outer, rc);
    ck_assert_int_eq(rc, 0);
    return tr_nursery_join(&n, rc);
}

START_TEST(test_unshield_wakes_blocked_task) {
    run_expect(unshield_main, NULL, 0, TR_SEC(3));
}
END_TEST

static int shield_toggle_main(void *arg) {
    (void)arg;
    tr_cancel_scope outer, inner;
    tr_scope_enter(&outer, TR_INF);
    tr_scope_cancel(&outer);
    tr_scope_enter(&inner, TR_INF);
    ck_assert_int_eq(tr_checkpoint(), -ECANCELED);
    tr_scope_set_shield(&inner, true);
    ck_assert_int_eq(tr_checkpoint(), 0);
    ck_assert_int_eq(tr_current_effective_deadline(), TR_INF);
    tr_scope_set_shield(&inner, false);
    ck_assert_int_eq(tr_checkpoint(), -ECANCELED);
    ck_assert_int_eq(tr_current_effective_deadline(), -TR_INF);
    int rc = tr_scope_exit(&inner, -ECANCELED);
    return tr_scope_exit(&outer, rc);
}

START_TEST(test_shield_toggle) {
    run_expect(shield_toggle_main, NULL, 0, 0);
}
END_TEST

/* ---- Deadlines moved ---------------------------------------------------------- */

typedef struct mover_args {
    tr_cancel_scope *scope; /* the scope to change */
    tr_duration after;      /* when */
    tr_time deadline;       /* its new deadline */
} mover_args;

static int mover(void *arg) {
    mover_args *a = arg;
    int rc = tr_sleep(a->after);
    ck_assert_int_eq(rc, 0);
    tr_scope_set_deadline(a->scope, a->deadline);
    ck_assert_int_eq(tr_scope_deadline(a->scope), a->deadline);
    return 0;
}

/* main sleeps `sleep` inside a scope with deadline `initial` while a sibling
 * moves it; expects the sleep to end with `rc` at `woke`. */
typedef struct move_case {
    tr_time initial, after, moved_to;
    tr_duration sleep;
    int rc;
    tr_time woke;
} move_case;

static const move_case move_cases[] = {
    /* earlier: wakes at the new deadline */
    {TR_SEC(10), TR_SEC(1), TR_SEC(2), TR_SEC(100), -ECANCELED, TR_SEC(2)},
    /* later: the old deadline no longer fires */
    {TR_SEC(1), TR_MS(500), TR_SEC(4), TR_SEC(3), 0, TR_SEC(3)},
    /* later, then still cancelled at the new one */
    {TR_SEC(1), TR_MS(500), TR_SEC(4), TR_SEC(10), -ECANCELED, TR_SEC(4)},
    /* into the past: wakes at once */
    {TR_INF, TR_SEC(2), TR_SEC(1), TR_SEC(100), -ECANCELED, TR_SEC(2)},
    /* removed */
    {TR_SEC(1), TR_MS(500), TR_INF, TR_SEC(2), 0, TR_SEC(2)},
    /* exactly now */
    {TR_SEC(9), TR_SEC(3), TR_SEC(3), TR_SEC(100), -ECANCELED, TR_SEC(3)},
};

static int move_main(void *arg) {
    const move_case *c = arg;
    tr_nursery n;
    tr_cancel_scope cs;
    tr_nursery_open(&n);
    mover_args a = {.scope = &cs, .after = c->after, .deadline = c->moved_to};
    ck_assert_int_eq(tr_start_soon(&n, mover, &a), 0);
    tr_scope_enter(&cs, c->initial);
    ck_assert_int_eq(tr_scope_deadline(&cs), c->initial);
    int rc = tr_sleep(c->sleep);
    ck_assert_int_eq(rc, c->rc);
    ck_assert_int_eq(tr_current_time(), c->woke);
    ck_assert_int_eq(tr_scope_cancel_called(&cs), c->rc == -ECANCELED);
    rc = tr_scope_exit(&cs, rc);
    ck_assert_int_eq(rc, 0);
    return tr_nursery_join(&n, 0);
}

START_TEST(test_deadline_moved) {
    const move_case *c = &move_cases[_i];
    tr_time end = -1;
    ck_assert_int_eq(tr_test_run(move_main, (void *)c, &end), 0);
    tr_time expect_end = c->woke > c->after ? c->woke : c->after;
    ck_assert_int_eq(end, expect_end);
}
END_TEST

static int set_deadline_self_main(void *arg) {
    (void)arg;
    tr_cancel_scope cs;
    ck_assert_int_eq(tr_move_on_after(&cs, TR_SEC(10)), 0);
    tr_scope_set_deadline(&cs, TR_SEC(2));
    ck_assert_int_eq(tr_scope_deadline(&cs), TR_SEC(2));
    ck_assert_int_eq(tr_current_effective_deadline(), TR_SEC(2));
    int rc = tr_sleep(TR_SEC(5));
    ck_assert_int_eq(rc, -ECANCELED);
    ck_assert_int_eq(tr_current_time(), TR_SEC(2));
    rc = tr_scope_exit(&cs, rc);
    /* Into the past from the task itself: the next checkpoint is cancelled. */
    tr_scope_enter(&cs, TR_INF);
    tr_scope_set_deadline(&cs, TR_SEC(1));
    ck_assert(tr_scope_cancel_called(&cs));
    ck_assert_int_eq(tr_checkpoint(), -ECANCELED);
    return tr_scope_exit(&cs, -ECANCELED) + rc;
}

START_TEST(test_set_deadline_self) {
    run_expect(set_deadline_self_main, NULL, 0, TR_SEC(2));
}
END_TEST

/* ---- Prepared scopes ---------------------------------------------------------- */

static int prepared_main(void *arg) {
    (void)arg;
    tr_cancel_scope cs;
    tr_scope_prepare(&cs);
    ck_assert(!tr_scope_cancel_called(&cs));
    ck_assert_int_eq(tr_scope_deadline(&cs), TR_INF);
    ck_assert(!tr_scope_shield(&cs));
    tr_scope_cancel(&cs);
    ck_assert(tr_scope_cancel_called(&cs));
    /* Cancelling before entry changes nothing outside. */
    ck_assert_int_eq(tr_checkpoint(), 0);
    tr_scope_enter_prepared(&cs);
    int rc = tr_checkpoint();
    ck_assert_int_eq(rc, -ECANCELED);
    rc = tr_scope_exit(&cs, rc);
    ck_assert_int_eq(rc, 0);
    ck_assert(tr_scope_cancelled_caught(&cs));

    /* A deadline and a shield set before entry apply once entered. */
    tr_cancel_scope outer;
    tr_scope_enter(&outer, TR_INF);
    tr_scope_cancel(&outer);
    tr_scope_prepare(&cs);
    tr_scope_set_deadline(&cs, TR_SEC(3));
    tr_scope_set_shield(&cs, true);
    ck_assert_int_eq(tr_scope_deadline(&cs), TR_SEC(3));
    tr_scope_enter_prepared(&cs);
    ck_assert_int_eq(tr_current_effective_deadline(), TR_SEC(3));
    rc = tr_sleep(TR_SEC(10));
    ck_assert_int_eq(rc, -ECANCELED);
    ck_assert_int_eq(tr_current_time(), TR_SEC(3));
    rc = tr_scope_exit(&cs, rc);
    ck_assert_int_eq(rc, 0);
    return tr_scope_exit(&outer, tr_checkpoint());
}

START_TEST(test_prepare_cancel_enter) {
    run_expect(prepared_main, NULL, 0, TR_SEC(3));
}
END_TEST

/* ---- Cancel from another task; idempotence --------------------------------------- */

static int canceller(void *arg) {
    tr_cancel_scope *cs = arg;
    int rc = tr_sleep(TR_SEC(1));
    ck_assert_int_eq(rc, 0);
    tr_scope_cancel(cs);
    tr_scope_cancel(cs);
    ck_assert(tr_scope_cancel_called(cs));
    tr_test_logt("cancelled");
    return 0;
}

static int cancel_other_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_cancel_scope cs;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_start_soon(&n, canceller, &cs), 0);
    tr_scope_enter(&cs, TR_INF);
    int rc = tr_sleep_forever();
    tr_test_logt("woke %s", tr_error_name(rc));
    rc = tr_scope_exit(&cs, rc);
    ck_assert(tr_scope_cancelled_caught(&cs));
    tr_scope_cancel(&cs); /* after exit: harmless (Trio allows cancel() after exit) */
    ck_assert_int_eq(tr_checkpoint(), 0);
    return tr_nursery_join(&n, rc);
}

START_TEST(test_cancel_from_other_task) {
    tr_test_log_reset();
    run_expect(cancel_other_main, NULL, 0, TR_SEC(1));
    ck_assert_str_eq(tr_test_log_str(), "1.000 cancelled\n1.000 woke ECANCELED\n");
}
END_TEST

static int idempotent_main(void *arg) {
    (void)arg;
    tr_cancel_scope cs;
    ck_assert_int_eq(tr_move_on_after(&cs, TR_SEC(1)), 0);
    tr_scope_cancel(&cs);
    tr_scope_cancel(&cs);
    int rc = tr_sleep(TR_SEC(5));
    ck_assert_int_eq(rc, -ECANCELED);
    tr_scope_cancel(&cs);
    ck_assert_int_eq(tr_checkpoint(), -ECANCELED);
    ck_assert_int_eq(tr_current_time(), 0);
    rc = tr_scope_exit(&cs, rc);
    ck_assert_int_eq(rc, 0);
    ck_assert(tr_scope_cancelled_caught(&cs));
    /* The old deadline does not fire after the scope is gone. */
    rc = tr_sleep(TR_SEC(2));
    ck_assert_int_eq(rc, 0);
    return 0;
}

START_TEST(test_cancel_idempotent) {
    run_expect(idempotent_main, NULL, 0, TR_SEC(2));
}
END_TEST

/* ---- Effective deadline ---------------------------------------------------------- */

static int effective_main(void *arg) {
    (void)arg;
    tr_cancel_scope a, b, c, d, e;
    ck_assert_int_eq(tr_current_effective_deadline(), TR_INF);
    tr_scope_enter(&a, TR_INF);
    ck_assert_int_eq(tr_current_effective_deadline(), TR_INF);
    ck_assert_int_eq(tr_move_on_after(&b, TR_SEC(5)), 0);
    ck_assert_int_eq(tr_current_effective_deadline(), TR_SEC(5));
    ck_assert_int_eq(tr_move_on_at(&c, TR_SEC(3)), 0);
    ck_assert_int_eq(tr_current_effective_deadline(), TR_SEC(3));
    ck_assert_int_eq(tr_move_on_at(&d, TR_SEC(10)), 0);
    ck_assert_int_eq(tr_current_effective_deadline(), TR_SEC(3));
    /* A shield stops the search. */
    tr_scope_enter(&e, TR_SEC(7));
    tr_scope_set_shield(&e, true);
    ck_assert_int_eq(tr_current_effective_deadline(), TR_SEC(7));
    tr_scope_set_deadline(&e, TR_INF);
    ck_assert_int_eq(tr_current_effective_deadline(), TR_INF);
    tr_scope_set_shield(&e, false);
    ck_assert_int_eq(tr_current_effective_deadline(), TR_SEC(3));
    ck_assert_int_eq(tr_scope_exit(&e, 0), 0);
    ck_assert_int_eq(tr_scope_exit(&d, 0), 0);
    ck_assert_int_eq(tr_scope_exit(&c, 0), 0);
    ck_assert_int_eq(tr_current_effective_deadline(), TR_SEC(5));
    /* Cancelled: -TR_INF, also from an outer scope. */
    tr_scope_cancel(&a);
    ck_assert_int_eq(tr_current_effective_deadline(), -TR_INF);
    tr_scope_enter(&c, TR_SEC(20));
    ck_assert_int_eq(tr_current_effective_deadline(), -TR_INF);
    tr_scope_set_shield(&c, true);
    ck_assert_int_eq(tr_current_effective_deadline(), TR_SEC(20));
    ck_assert_int_eq(tr_scope_exit(&c, 0), 0);
    ck_assert_int_eq(tr_scope_exit(&b, -ECANCELED), -ECANCELED);
    ck_assert_int_eq(tr_scope_exit(&a, -ECANCELED), 0);
    ck_assert_int_eq(tr_current_effective_deadline(), TR_INF);
    return 0;
}

START_TEST(test_effective_deadline) {
    run_expect(effective_main, NULL, 0, 0);
}
END_TEST

static int effective_later_main(void *arg) {
    (void)arg;
    int rc = tr_sleep(TR_SEC(4));
    ck_assert_int_eq(rc, 0);
    tr_cancel_scope cs;
    ck_assert_int_eq(tr_move_on_after(&cs, TR_SEC(2)), 0);
    /* Deadlines are absolute times on the run's clock. */
    ck_assert_int_eq(tr_scope_deadline(&cs), TR_SEC(6));
    ck_assert_int_eq(tr_current_effective_deadline(), TR_SEC(6));
    return tr_scope_exit(&cs, 0);
}

START_TEST(test_deadlines_are_absolute) {
    run_expect(effective_later_main, NULL, 0, TR_SEC(4));
}
END_TEST

/* ---- Many nested scopes ------------------------------------------------------------ */

#define DEEP 5000
static tr_cancel_scope deep[DEEP];

/* _i: 0 none cancelled, 1 bottom (outermost) cancelled, 2 top cancelled. */
static int deep_main(void *arg) {
    int which = (int)(intptr_t)arg;
    for (int i = 0; i < DEEP; i++) tr_scope_enter(&deep[i], TR_SEC(DEEP + 10 - i));
    ck_assert_int_eq(tr_current_effective_deadline(), TR_SEC(11));
    if (which == 1) tr_scope_cancel(&deep[0]);
    if (which == 2) tr_scope_cancel(&deep[DEEP - 1]);
    int rc = tr_checkpoint();
    ck_assert_int_eq(rc, which ? -ECANCELED : 0);
    for (int i = DEEP - 1; i >= 0; i--) {
        rc = tr_scope_exit(&deep[i], rc);
        if (which == 1) ck_assert_int_eq(rc, i == 0 ? 0 : -ECANCELED);
        else ck_assert_int_eq(rc, 0);
    }
    if (which == 1) ck_assert(tr_scope_cancelled_caught(&deep[0]));
    if (which == 2) ck_assert(tr_scope_cancelled_caught(&deep[DEEP - 1]));
    ck_assert_int_eq(tr_current_effective_deadline(), TR_INF);
    /* Once more, all the way to the innermost deadline. */
    for (int i = 0; i < DEEP; i++) tr_scope_enter(&deep[i], TR_SEC(DEEP + 10 - i));
    rc = tr_sleep_forever();
    ck_assert_int_eq(tr_current_time(), TR_SEC(11));
    for (int i = DEEP - 1; i >= 0; i--) rc = tr_scope_exit(&deep[i], rc);
    ck_assert(tr_scope_cancelled_caught(&deep[DEEP - 1]));
    return rc;
}

START_TEST(test_deep_nesting) {
    run_expect(deep_main, (void *)(intptr_t)_i, 0, TR_SEC(11));
}
END_TEST

/* ---- Misuse ---------------------------------------------------------------------- */

static int out_of_order_main(void *arg) {
    (void)arg;
    tr_cancel_scope a, b;
    tr_scope_enter(&a, TR_INF);
    tr_scope_enter(&b, TR_INF);
    tr_scope_exit(&a, 0); /* must abort */
    return 0;
}

START_TEST(test_exit_out_of_order_aborts) {
    tr_test_run(out_of_order_main, NULL, NULL);
    ck_abort_msg("out-of-order tr_scope_exit returned");
}
END_TEST

static int exit_unentered_main(void *arg) {
    (void)arg;
    tr_cancel_scope a, b;
    tr_scope_enter(&a, TR_INF);
    tr_scope_prepare(&b);
    tr_scope_exit(&b, 0); /* never entered: must abort */
    return 0;
}

START_TEST(test_exit_unentered_aborts) {
    tr_test_run(exit_unentered_main, NULL, NULL);
    ck_abort_msg("tr_scope_exit of an unentered scope returned");
}
END_TEST

/* ---- Suite ------------------------------------------------------------------------- */

/* ---- Review findings --------------------------------------------------------- */

/* TR_INF means never: sleeping until it is sleeping forever, so a deadline
 * around it is what ends it. */
static int sleep_until_inf_main(void *arg) {
    (void)arg;
    tr_cancel_scope cs;
    ck_assert_int_eq(tr_move_on_after(&cs, TR_SEC(5)), 0);
    int rc = tr_sleep_until(TR_INF);
    ck_assert_int_eq(rc, -ECANCELED);
    ck_assert_int_eq(tr_current_time(), TR_SEC(5));
    rc = tr_sleep(TR_INF);
    ck_assert_int_eq(rc, -ECANCELED);
    return tr_scope_exit(&cs, rc);
}

START_TEST(test_sleep_until_inf_is_forever) {
    ck_assert_int_eq(tr_test_run(sleep_until_inf_main, NULL, NULL), 0);
}
END_TEST

/* A hang that cancellation cannot end (the task is shielded) still ends the
 * run with TR_EDEADLOCK, instead of aborting the process. */
static int shielded_forever(void *arg) {
    (void)arg;
    tr_cancel_scope cs;
    tr_scope_enter(&cs, TR_INF);
    tr_scope_set_shield(&cs, true);
    int rc = tr_sleep_forever();
    return tr_scope_exit(&cs, rc);
}

START_TEST(test_unbreakable_hang_ends_the_run) {
    FILE *devnull = fopen("/dev/null", "w");
    tr_run_opts o = {.report = devnull};
    ck_assert_int_eq(tr_test_run_opts(shielded_forever, NULL, &o, 0, NULL), TR_EDEADLOCK);
    fclose(devnull);
}
END_TEST

static int enter_twice_main(void *arg) {
    (void)arg;
    tr_cancel_scope cs;
    tr_scope_enter(&cs, TR_INF);
    tr_scope_enter(&cs, TR_INF); /* misuse: already entered */
    return 0;
}

START_TEST(test_enter_entered_scope_aborts) {
    tr_test_run(enter_twice_main, NULL, NULL);
}
END_TEST

/* Trio's _close: a scope whose deadline has passed is cancel_called at
 * exit even when no timer fired yet and its work never saw it (here: no
 * checkpoint at all inside `with move_on_after(0): pass`). */
static int passed_deadline_main(void *arg) {
    (void)arg;
    tr_cancel_scope cs;
    ck_assert_int_eq(tr_move_on_after(&cs, 0), 0);
    ck_assert_int_eq(tr_scope_exit(&cs, 0), 0);
    ck_assert(tr_scope_cancel_called(&cs));
    ck_assert(!tr_scope_cancelled_caught(&cs));
    return 0;
}

START_TEST(test_passed_deadline_is_cancel_called_at_exit) {
    ck_assert_int_eq(tr_test_run(passed_deadline_main, NULL, NULL), 0);
}
END_TEST

/* ---- An abort function that toggles a shield during a delivery ----------- */

/* B's abort function runs while a cancellation is being delivered; it
 * unshields A's scope, shields it again and unshields it once more. Each
 * unshielding asks for a delivery to A's scope; the second must not queue
 * the scope again (it used to link it to itself: the delivery never ended). */
static tr_cancel_scope toggled;
static int toggled_rc, toggler_rc;

static int toggle_abort(void *ctx, tr_task *t) {
    (void)ctx, (void)t;
    tr_scope_set_shield(&toggled, false);
    tr_scope_set_shield(&toggled, true);
    tr_scope_set_shield(&toggled, false);
    return TR_ABORT_SUCCEEDED;
}

static int shielded_sleeper(void *arg) {
    (void)arg;
    tr_scope_prepare(&toggled);
    tr_scope_set_shield(&toggled, true);
    tr_scope_enter_prepared(&toggled);
    toggled_rc = tr_sleep_forever();
    return tr_scope_exit(&toggled, toggled_rc);
}

static int toggler(void *arg) {
    (void)arg;
    toggler_rc = tr_wait_task_rescheduled(toggle_abort, NULL);
    return toggler_rc;
}

static int toggle_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_start_soon(&n, shielded_sleeper, NULL), 0);
    ck_assert_int_eq(tr_start_soon(&n, toggler, NULL), 0);
    ck_assert_int_eq(tr_sleep(TR_SEC(1)), 0);
    tr_nursery_cancel(&n);
    return tr_nursery_join(&n, 0);
}

START_TEST(test_shield_toggled_in_abort_fn) {
    toggled_rc = toggler_rc = 1;
    run_expect(toggle_main, NULL, 0, TR_SEC(1));
    ck_assert_int_eq(toggled_rc, -ECANCELED);
    ck_assert_int_eq(toggler_rc, -ECANCELED);
}
END_TEST

static Suite *cancel_suite(void) {
    Suite *s = suite_create("cancel");
    TCase *review = tcase_create("review");
    tcase_set_timeout(review, 10);
    tcase_add_test(review, test_sleep_until_inf_is_forever);
    tcase_add_test(review, test_passed_deadline_is_cancel_called_at_exit);
    tcase_add_test(review, test_unbreakable_hang_ends_the_run);
    tcase_add_test_raise_signal(review, test_enter_entered_scope_aborts, SIGABRT);
    suite_add_tcase(s, review);
    TCase *tc = tcase_create("timeouts");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_move_on_after_sleep);
    tcase_add_test(tc, test_move_on_at_sleep_forever);
    tcase_add_test(tc, test_scope_not_expired);
    tcase_add_test(tc, test_fail_after_timedout);
    tcase_add_test(tc, test_negative_timeout_is_einval);
    tcase_add_test(tc, test_zero_timeout_cancels_at_once);
    tcase_add_test(tc, test_deadlines_are_absolute);
    suite_add_tcase(s, tc);

    tc = tcase_create("level");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_level_triggered);
    tcase_add_test(tc, test_cancelled_while_away_at_a_checkpoint);
    tcase_add_test(tc, test_checkpoint_if_cancelled_no_yield);
    tcase_add_test(tc, test_cancel_shielded_checkpoint);
    suite_add_tcase(s, tc);

    tc = tcase_create("absorb");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_outermost_cancelled_scope_absorbs);
    tcase_add_test(tc, test_outer_deadline_passes_through_fail_after);
    tcase_add_test(tc, test_inner_scope_absorbs_own_cancel);
    tcase_add_test(tc, test_shielded_inner_absorbs);
    tcase_add_test(tc, test_other_results_pass_through);
    suite_add_tcase(s, tc);

    tc = tcase_create("shield");
    tcase_add_test(tc, test_shield_toggled_in_abort_fn);
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_shield_lets_sleep_complete);
    tcase_add_test(tc, test_unshield_wakes_blocked_task);
    tcase_add_test(tc, test_shield_toggle);
    suite_add_tcase(s, tc);

    tc = tcase_create("deadline");
    tcase_set_timeout(tc, 10);
    tcase_add_loop_test(tc, test_deadline_moved, 0, (int)(sizeof move_cases / sizeof move_cases[0]));
    tcase_add_test(tc, test_set_deadline_self);
    tcase_add_test(tc, test_prepare_cancel_enter);
    tcase_add_test(tc, test_cancel_from_other_task);
    tcase_add_test(tc, test_cancel_idempotent);
    tcase_add_test(tc, test_effective_deadline);
    suite_add_tcase(s, tc);

    tc = tcase_create("deep");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_deep_nesting, 0, 3);
    suite_add_tcase(s, tc);

    tc = tcase_create("misuse");
    tcase_set_timeout(tc, 10);
    tcase_add_test_raise_signal(tc, test_exit_out_of_order_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, test_exit_unentered_aborts, SIGABRT);
    suite_add_tcase(s, tc);
    return s;
}

#include "check_main.h"
CTRIO_CHECK_MAIN(cancel_suite)
