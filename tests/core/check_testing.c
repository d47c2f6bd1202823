/* Trio's testing helpers in C: the sequencer, the checkpoint assertions,
 * tr_wait_all_tasks_blocked (ordering, cushions, cancellation) and clock
 * holds. Ported from Trio's test_testing.py where Trio has a test. */
#define _GNU_SOURCE
#include <check.h>
#include <signal.h>
#include <string.h>

#include "ctrio.h"
#include "ctrio/autojump.h"
#include "ctrio/check.h"
#include "ctrio/testing.h"
#include "test_util.h"

/* Runs fn on a mock clock with autojump 0; returns the result and leaves
 * the failure report (if any) in report. */
static char report[TR_CK_REPORT_MAX];
static int run_capture(tr_task_fn fn, void *arg) {
    return tr_ck_run_report(fn, arg, NULL, report, sizeof report);
}

/* ---- sequencer ---------------------------------------------------------- */

static tr_sequencer seq;

#define SEQ_STEP(n, name)                                  \
    do {                                                   \
        int rc_ = tr_sequencer_wait(&seq, (n));            \
        if (rc_ < 0) return rc_;                           \
        tr_test_log("%s %d", (name), (n));                 \
        if (tr_sequencer_done(&seq, (n)) < 0) return -EINVAL; \
    } while (0)

static int f1(void *arg) {
    (void)arg;
    SEQ_STEP(1, "f1");
    SEQ_STEP(3, "f1");
    SEQ_STEP(4, "f1");
    return 0;
}

static int f2(void *arg) {
    (void)arg;
    SEQ_STEP(0, "f2");
    SEQ_STEP(2, "f2");
    return 0;
}

/* Trio's test_Sequencer. */
static int sequencer_order(void *arg) {
    (void)arg;
    for (int round = 0; round < 2; round++) {
        tr_sequencer_init(&seq);
        tr_nursery n;
        tr_nursery_open(&n);
        int rc = round == 0 ? tr_start_soon(&n, f1, NULL) : tr_start_soon(&n, f2, NULL);
        if (rc == 0) rc = round == 0 ? tr_start_soon(&n, f2, NULL) : tr_start_soon(&n, f1, NULL);
        if (rc == 0) rc = tr_sequencer_wait(&seq, 5);
        if (rc == 0) {
            rc = tr_wait_all_tasks_blocked(0);
            tr_test_log("main 5");
            (void)tr_sequencer_done(&seq, 5);
        }
        rc = tr_nursery_join(&n, rc);
        if (rc < 0) return rc;
    }
    return 0;
}

START_TEST(test_sequencer_order) {
    tr_test_log_reset();
    tr_ck_run(sequencer_order, NULL);
    const char *once = "f2 0\nf1 1\nf2 2\nf1 3\nf1 4\nmain 5\n";
    char both[128];
    snprintf(both, sizeof both, "%s%s", once, once);
    ck_assert_str_eq(tr_test_log_str(), both);
}
END_TEST

static int sequencer_reuse(void *arg) {
    (void)arg;
    tr_sequencer_init(&seq);
    if (tr_sequencer_wait(&seq, 0) != 0) return -EINVAL;
    if (tr_sequencer_wait(&seq, 0) != -EALREADY) return -EINVAL; /* running */
    if (tr_sequencer_done(&seq, 0) != 0) return -EINVAL;
    if (tr_sequencer_done(&seq, 0) != -EINVAL) return -EINVAL;   /* not running */
    if (tr_sequencer_wait(&seq, 0) != -EALREADY) return -EINVAL; /* done */
    if (tr_sequencer_wait(&seq, -1) != -EINVAL) return -EINVAL;
    if (tr_sequencer_done(&seq, 7) != -EINVAL) return -EINVAL;
    return 0;
}

START_TEST(test_sequencer_reuse) {
    tr_ck_run(sequencer_reuse, NULL);
}
END_TEST

/* A waiting claim is a claim too: a second wait on it is a reuse. */
static int wait_two(void *arg) {
    (void)arg;
    int rc = tr_sequencer_wait(&seq, 2);
    tr_test_log("wait(2) -> %s", tr_error_name(rc) ? tr_error_name(rc) : "0");
    return rc == 0 ? tr_sequencer_done(&seq, 2) : rc;
}

static int sequencer_reuse_waiting(void *arg) {
    (void)arg;
    tr_sequencer_init(&seq);
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = tr_start_soon(&n, wait_two, NULL);
    if (rc == 0) rc = tr_wait_all_tasks_blocked(0);
    if (rc == 0 && tr_sequencer_wait(&seq, 2) != -EALREADY) rc = -EINVAL;
    if (rc == 0) rc = tr_sequencer_wait(&seq, 0);
    if (rc == 0) rc = tr_sequencer_done(&seq, 0);
    if (rc == 0) rc = tr_sequencer_wait(&seq, 1);
    if (rc == 0) rc = tr_sequencer_done(&seq, 1);
    return tr_nursery_join(&n, rc);
}

START_TEST(test_sequencer_reuse_waiting) {
    tr_test_log_reset();
    tr_ck_run(sequencer_reuse_waiting, NULL);
    ck_assert_str_eq(tr_test_log_str(), "wait(2) -> 0\n");
}
END_TEST

/* Trio's test_Sequencer_cancel: a cancelled wait breaks it for everyone. */
static int seq_child(void *arg) {
    int i = *(int *)arg;
    tr_cancel_scope cs;
    tr_scope_enter(&cs, TR_INF);
    if (i == 1) tr_scope_cancel(&cs);
    int rc = tr_sequencer_wait(&seq, i);
    tr_test_log("seq(%d) %s", i, rc == TR_EBROKEN ? "TR_EBROKEN" : tr_strerror(rc));
    if (rc == 0) (void)tr_sequencer_done(&seq, i);
    (void)tr_scope_exit(&cs, rc);
    return 0;
}

static int sequencer_cancel(void *arg) {
    (void)arg;
    tr_sequencer_init(&seq);
    tr_nursery n;
    tr_nursery_open(&n);
    int one = 1, two = 2;
    int rc = tr_start_soon_copy(&n, seq_child, &one, sizeof one);
    if (rc == 0) rc = tr_start_soon_copy(&n, seq_child, &two, sizeof two);
    if (rc == 0) rc = tr_sequencer_wait(&seq, 0);
    if (rc == 0) rc = tr_sequencer_done(&seq, 0);
    rc = tr_nursery_join(&n, rc);
    if (rc < 0) return rc;
    rc = tr_sequencer_wait(&seq, 3);
    tr_test_log("seq(3) %s", rc == TR_EBROKEN ? "TR_EBROKEN" : tr_strerror(rc));
    return 0;
}

START_TEST(test_sequencer_cancel_breaks) {
    tr_test_log_reset();
    tr_ck_run(sequencer_cancel, NULL);
    ck_assert_str_eq(tr_test_log_str(), "seq(1) TR_EBROKEN\nseq(2) TR_EBROKEN\nseq(3) TR_EBROKEN\n");
}
END_TEST

/* The broken wait's failure names the cause. */
static int cancelled_wait_fails(void *arg) {
    (void)arg;
    tr_sequencer_init(&seq);
    tr_cancel_scope cs;
    tr_scope_enter(&cs, TR_INF);
    tr_scope_cancel(&cs);
    int rc = tr_sequencer_wait(&seq, 4);
    (void)tr_scope_exit(&cs, 0);
    return rc;
}

START_TEST(test_sequencer_cancel_message) {
    ck_assert_int_eq(run_capture(cancelled_wait_fails, NULL), TR_EBROKEN);
    ck_assert_ptr_nonnull(strstr(report, "tr_sequencer_wait(4) cancelled: sequence broken"));
}
END_TEST

/* ---- checkpoint assertions --------------------------------------------- */

/* Trio's test_assert_checkpoints and test_assert_no_checkpoints. */
static int assertions_pass(void *arg) {
    (void)arg;
    int rc = 0, x = 0;
    TR_ASSERT_CHECKPOINTS(rc = tr_checkpoint());
    TR_ASSERT_CHECKPOINTS(rc = tr_sleep(TR_SEC(1)));
    /* A cancel point and a schedule point together make a checkpoint. */
    TR_ASSERT_CHECKPOINTS(rc = tr_checkpoint_if_cancelled(), tr_cancel_shielded_checkpoint());
    TR_ASSERT_NO_CHECKPOINTS(x = 1 + 1);
    TR_ASSERT_NO_CHECKPOINTS(tr_clock_hold(), tr_clock_release());
    return rc + x - 2;
}

START_TEST(test_assertions_pass) {
    tr_ck_run(assertions_pass, NULL);
}
END_TEST

static int assert_line;

/* Each case is one failing assertion; `which` picks it. */
static int failing_assertion(void *arg) {
    int which = *(int *)arg, rc = 0, x = 0;
    switch (which) {
    case 0: assert_line = __LINE__; TR_ASSERT_CHECKPOINTS(x = 1 + 1); break;
    case 1: assert_line = __LINE__; TR_ASSERT_CHECKPOINTS(rc = tr_checkpoint_if_cancelled()); break;
    case 2: assert_line = __LINE__; TR_ASSERT_CHECKPOINTS(tr_cancel_shielded_checkpoint()); break;
    case 3: assert_line = __LINE__; TR_ASSERT_NO_CHECKPOINTS(rc = tr_checkpoint()); break;
    case 4: assert_line = __LINE__; TR_ASSERT_NO_CHECKPOINTS(rc = tr_checkpoint_if_cancelled()); break;
    case 5: assert_line = __LINE__; TR_ASSERT_NO_CHECKPOINTS(tr_cancel_shielded_checkpoint()); break;
    default: break;
    }
    return rc + x;
}

static const char *const failing_want[] = {
    "TR_ASSERT_CHECKPOINTS(x = 1 + 1): no checkpoint (neither kind)",
    "TR_ASSERT_CHECKPOINTS(rc = tr_checkpoint_if_cancelled()): no checkpoint (cancel point, "
    "no schedule point)",
    "TR_ASSERT_CHECKPOINTS(tr_cancel_shielded_checkpoint()): no checkpoint (schedule point, "
    "no cancel point)",
    "TR_ASSERT_NO_CHECKPOINTS(rc = tr_checkpoint()): passed a checkpoint",
    "TR_ASSERT_NO_CHECKPOINTS(rc = tr_checkpoint_if_cancelled()): passed a cancel point",
    "TR_ASSERT_NO_CHECKPOINTS(tr_cancel_shielded_checkpoint()): passed a schedule point",
};

START_TEST(test_assertions_fail_with_site) {
    int which = _i;
    char want[256];
    ck_assert_int_eq(run_capture(failing_assertion, &which), TR_ASSERT_FAILED);
    snprintf(want, sizeof want, "check_testing.c:%d: %s", assert_line, failing_want[which]);
    ck_assert_msg(strstr(report, want), "want: %s\nreport:\n%s", want, report);
}
END_TEST

/* ---- tr_wait_all_tasks_blocked ------------------------------------------- */

/* Trio's test_wait_all_tasks_blocked. */
static int busy_bee(void *arg) {
    (void)arg;
    for (int i = 0; i < 10; i++)
        if (tr_checkpoint() < 0) return -ECANCELED;
    tr_test_log("busy bee exhausted");
    return 0;
}

static int waiting_for_bee(void *arg) {
    (void)arg;
    int rc = tr_wait_all_tasks_blocked(0);
    tr_test_log("quiet at last!");
    return rc;
}

static int bee_scenario(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = tr_start_soon(&n, busy_bee, NULL);
    if (rc == 0) rc = tr_start_soon(&n, waiting_for_bee, NULL);
    if (rc == 0) rc = tr_start_soon(&n, waiting_for_bee, NULL);
    return tr_nursery_join(&n, rc);
}

START_TEST(test_wait_all_tasks_blocked_order) {
    tr_test_log_reset();
    tr_ck_run(bee_scenario, NULL);
    ck_assert_str_eq(tr_test_log_str(), "busy bee exhausted\nquiet at last!\nquiet at last!\n");
}
END_TEST

static int cancelled_while_waiting(void *arg) {
    (void)arg;
    int rc = tr_wait_all_tasks_blocked(0);
    if (rc == -ECANCELED) tr_test_log("ok");
    return rc;
}

static int waiter_cancelled(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = tr_start_soon(&n, cancelled_while_waiting, NULL);
    if (rc == 0) rc = tr_checkpoint(); /* let it block */
    tr_nursery_cancel(&n);
    rc = tr_nursery_join(&n, rc);
    return rc == -ECANCELED ? 0 : rc;
}

START_TEST(test_wait_all_tasks_blocked_cancel) {
    tr_test_log_reset();
    tr_ck_run(waiter_cancelled, NULL);
    ck_assert_str_eq(tr_test_log_str(), "ok\n");
}
END_TEST

static int bad_cushion(void *arg) {
    (void)arg;
    return tr_wait_all_tasks_blocked(-1) == -EINVAL ? 0 : -EINVAL;
}

START_TEST(test_wait_all_tasks_blocked_einval) {
    tr_ck_run(bad_cushion, NULL);
}
END_TEST

/* Trio's test_wait_all_tasks_blocked_with_cushion, on a mock clock at rate
 * 1 (the cushions are real time): a waiter wakes only once the others have
 * stayed blocked for its cushion; smaller cushions first, ties in order. */
static int blink(void *arg) {
    (void)arg;
    tr_test_log("blink start");
    for (int i = 0; i < 3; i++)
        if (tr_sleep(TR_MS(10)) < 0) return -ECANCELED;
    tr_test_log("blink end");
    return 0;
}

static int wait_cushion(void *arg) {
    tr_duration c = *(tr_duration *)arg;
    int rc = tr_wait_all_tasks_blocked(c);
    tr_test_log("wait %lld ms end", (long long)(c / TR_MS(1)));
    return rc;
}

static int cushion_scenario(void *arg) {
    (void)arg;
    tr_duration c0 = 0, c20 = TR_MS(20), c30 = TR_MS(30);
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = tr_start_soon(&n, blink, NULL);
    if (rc == 0) rc = tr_start_soon_copy(&n, wait_cushion, &c0, sizeof c0);
    if (rc == 0) rc = tr_start_soon_copy(&n, wait_cushion, &c20, sizeof c20);
    if (rc == 0) rc = tr_start_soon_copy(&n, wait_cushion, &c20, sizeof c20);
    if (rc == 0) rc = tr_start_soon_copy(&n, wait_cushion, &c30, sizeof c30);
    return tr_nursery_join(&n, rc);
}

START_TEST(test_wait_all_tasks_blocked_cushion) {
    tr_mock_clock *mc;
    ck_assert_int_eq(tr_mock_clock_new(&mc), 0);
    ck_assert_int_eq(tr_mock_clock_set_rate(mc, 1), 0);
    tr_test_log_reset();
    tr_ck_run_clock(cushion_scenario, NULL, mc);
    ck_assert_str_eq(tr_test_log_str(), "blink start\nwait 0 ms end\nblink end\n"
                                        "wait 20 ms end\nwait 20 ms end\nwait 30 ms end\n");
    tr_mock_clock_free(mc);
}
END_TEST

/* ---- clock holds --------------------------------------------------------- */

static int nested_holds(void *arg) {
    (void)arg;
    tr_clock_hold();
    tr_clock_hold();
    tr_clock_release();
    tr_clock_release();
    return 0;
}

START_TEST(test_holds_nest) {
    tr_ck_run(nested_holds, NULL);
}
END_TEST

static int release_without_hold(void *arg) {
    (void)arg;
    tr_clock_release();
    return 0;
}

START_TEST(test_release_without_hold_aborts) {
    tr_run_opts o = {.quiet = true};
    (void)tr_run(release_without_hold, NULL, &o);
}
END_TEST

static Suite *testing_suite(void) {
    Suite *s = suite_create("testing");
    TCase *tc = tcase_create("sequencer");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_sequencer_order);
    tcase_add_test(tc, test_sequencer_reuse);
    tcase_add_test(tc, test_sequencer_reuse_waiting);
    tcase_add_test(tc, test_sequencer_cancel_breaks);
    tcase_add_test(tc, test_sequencer_cancel_message);
    suite_add_tcase(s, tc);

    tc = tcase_create("checkpoints");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_assertions_pass);
    tcase_add_loop_test(tc, test_assertions_fail_with_site, 0, 6);
    suite_add_tcase(s, tc);

    tc = tcase_create("wait_all_tasks_blocked");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_wait_all_tasks_blocked_order);
    tcase_add_test(tc, test_wait_all_tasks_blocked_cancel);
    tcase_add_test(tc, test_wait_all_tasks_blocked_einval);
    tcase_add_test(tc, test_wait_all_tasks_blocked_cushion);
    suite_add_tcase(s, tc);

    tc = tcase_create("holds");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_holds_nest);
    tcase_add_test_raise_signal(tc, test_release_without_hold_aborts, SIGABRT);
    suite_add_tcase(s, tc);
    return s;
}

#include "check_main.h"
CTRIO_CHECK_MAIN(testing_suite)
