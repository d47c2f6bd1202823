/* The main() of every Check suite.
 *
 * Each tests/<component>/check_<area>.c defines its tests and a function
 * that builds its suite, and ends with
 *
 *     CTRIO_CHECK_MAIN(area_suite)
 *
 * where `static Suite *area_suite(void)` returns the suite. The generated
 * main runs it with srunner_run_all(sr, CK_NORMAL), so Check prints its
 * summary line ("100%: Checks: 7, Failures: 0, Errors: 0") and one line per
 * failure, and returns 1 if any test failed, else 0.
 *
 * Each test runs in a forked child unless the environment says CK_FORK=no
 * (for valgrind or gdb). CK_RUN_SUITE, CK_RUN_CASE, CK_RUN_TAGS,
 * CK_DEFAULT_TIMEOUT and CK_TIMEOUT_MULTIPLIER work as Check documents. */
#ifndef CTRIO_CHECK_MAIN_H
#define CTRIO_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

#define CTRIO_CHECK_MAIN(make_suite_fn)                                        \
    int main(void) {                                                          \
        SRunner *ctrio_sr_ = srunner_create(make_suite_fn());                 \
        if (getenv("CK_FORK") == NULL) srunner_set_fork_status(ctrio_sr_, CK_FORK); \
        srunner_run_all(ctrio_sr_, CK_NORMAL);                                \
        int ctrio_failed_ = srunner_ntests_failed(ctrio_sr_);                 \
        srunner_free(ctrio_sr_);                                              \
        return ctrio_failed_ == 0 ? EXIT_SUCCESS : EXIT_FAILURE;              \
    }

#endif /* CTRIO_CHECK_MAIN_H */
