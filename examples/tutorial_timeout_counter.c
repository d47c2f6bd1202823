/* Twin of the tutorial's timeout example (seed 004):
 *
 *     async def counter():
 *         for i in range(100000):
 *             print(i)
 *             await trio.sleep(1)
 *
 *     async def main():
 *         with trio.fail_after(10):
 *             await counter()
 *
 * fail_after is move_on_after that complains: when its deadline cancels the
 * work inside, leaving the scope does not quietly carry on but raises
 * TooSlowError. In C, tr_fail_after(&cs, TR_SEC(10)) ... tr_scope_exit(&cs,
 * rc) turns the absorbed cancellation into -ETIMEDOUT.
 *
 * counter prints 0 to 9, one a second; at 10 s its sleep returns
 * -ECANCELED, counter returns that, and the scope turns it into -ETIMEDOUT.
 * main returns it, so the run fails: tr_run prints a failure report on
 * stderr and returns -ETIMEDOUT, and this program exits with status 1, as
 * the Python program dies with TooSlowError. That failure is the expected
 * end of this example (the test checks for it). */
#include <ctrio.h>
#include <stdio.h>

#include "virtual_clock.h"

static int counter(void) {
    for (int i = 0; i < 100000; i++) {
        printf("%d\n", i);
        int rc = tr_sleep(TR_SEC(1));
        if (rc < 0) return rc; /* -ECANCELED at 10 s */
    }
    return 0;
}

static int main_task(void *arg) {
    (void)arg;
    tr_cancel_scope cs;
    int rc = tr_fail_after(&cs, TR_SEC(10));
    if (rc < 0) return rc;
    rc = counter();
    rc = tr_scope_exit(&cs, rc); /* -ECANCELED -> -ETIMEDOUT */
    if (rc < 0) return tr_fail(rc, "counter did not finish within 10 seconds");
    return 0;
}

int main(void) {
    int rc = example_run(main_task, NULL);
    return rc < 0;
}
