/* ctrio + Check (libcheck): run async code inside a Check test.
 *
 * Header-only, so the library itself never depends on Check: include it in a
 * test file after <check.h> is available on the include path.
 *
 *     static int scenario(void *arg) {
 *         int rc = tr_sleep(TR_SEC(3600));           an hour, in microseconds
 *         if (rc < 0) return rc;
 *         if (tr_current_time() != TR_SEC(3600)) return tr_fail(-EINVAL, "late");
 *         return 0;
 *     }
 *     START_TEST(test_scenario) { tr_ck_run(scenario, NULL); } END_TEST
 *
 * tr_ck_run(fn, arg) runs fn(arg) under tr_run on a fresh mock clock with
 * autojump threshold 0 (time jumps as soon as every task is blocked; a hang
 * ends the run with TR_EDEADLOCK and a task dump). When the run's result is
 * an error (< 0) the Check test fails at the line of the tr_ck_run call,
 * with the error's name and tr_run's failure report (which task failed, with
 * what, and why) as the message. A result >= 0 passes.
 *
 * tr_ck_run_clock(fn, arg, mc) does the same on a mock clock of the
 * caller's, as it is (rate, threshold, log, time), so the test can set it up
 * first and read its time afterwards. */
#ifndef CTRIO_CHECK_H
#define CTRIO_CHECK_H

#include <check.h>
#include <ctrio.h>
#include <ctrio/autojump.h>

#include <stdio.h>

/* How much of tr_run's failure report goes into the Check message. */
#define TR_CK_REPORT_MAX 4096

/* The engine of tr_ck_run: runs fn(arg) on mc (NULL: a fresh mock clock with
 * autojump 0) with the failure report captured into report[0..size) (NUL-
 * terminated, truncated; "" when there is none). Returns tr_run's result, or
 * -ENOMEM when no clock could be made. */
static inline int tr_ck_run_report(tr_task_fn fn, void *arg, tr_mock_clock *mc, char *report,
                                   size_t size) {
    tr_mock_clock *own = NULL;
    report[0] = '\0';
    if (!mc) {
        int rc = tr_mock_clock_new(&own);
        if (rc < 0) return rc;
        (void)tr_mock_clock_set_autojump_threshold(own, 0);
        mc = own;
    }
    FILE *f = tmpfile(); /* NULL: the report goes to stderr instead */
    tr_run_opts opts = {TR_MOCK_CLOCK_OPTS(mc), .report = f};
    int rc = tr_run(fn, arg, &opts);
    if (f) {
        rewind(f);
        size_t n = fread(report, 1, size - 1, f);
        report[n] = '\0';
        fclose(f);
    }
    tr_mock_clock_free(own);
    return rc;
}

#define tr_ck_run(fn, arg) tr_ck_run_clock((fn), (arg), NULL)

#define tr_ck_run_clock(fn, arg, mc)                                                        \
    do {                                                                                    \
        char tr__ck_report_[TR_CK_REPORT_MAX];                                              \
        int tr__ck_rc_ = tr_ck_run_report((fn), (arg), (mc), tr__ck_report_,                \
                                          sizeof tr__ck_report_);                           \
        ck_assert_msg(tr__ck_rc_ >= 0, "tr_ck_run(%s) failed: %d %s\n%s", #fn, tr__ck_rc_,   \
                      tr_strerror(tr__ck_rc_), tr__ck_report_);                             \
    } while (0)

#endif /* CTRIO_CHECK_H */
