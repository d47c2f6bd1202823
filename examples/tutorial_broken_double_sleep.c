/* Twin of the tutorial's "Warning: don't forget to await" (seeds 001, 004):
 *
 *     async def broken_double_sleep(x):
 *         print("*yawn* Going to sleep")
 *         start_time = time.perf_counter()
 *         # Whoops, we forgot the 'await'!
 *         trio.sleep(2 * x)
 *         sleep_time = time.perf_counter() - start_time
 *         print(f"Woke up after {sleep_time:.2f} seconds, feeling well rested!")
 *
 * In Python, forgetting `await` means the sleep never runs, and all you get
 * is "RuntimeWarning: coroutine 'sleep' was never awaited".
 *
 * C has no `await`: calling tr_sleep() always sleeps. The C twin of the
 * mistake is ignoring what a blocking call returns. tr_sleep returns
 * -ECANCELED when the task is cancelled before the time is up, and code that
 * drops that result carries on as if it had slept, deaf to timeouts and to
 * its nursery's cancellation. So every blocking call in ctrio.h is declared
 * warn_unused_result, and writing it as a bare statement,
 *
 *     tr_sleep(TR_SEC(2 * x));
 *
 * makes the compiler say (gcc):
 *
 *     warning: ignoring return value of 'tr_sleep' declared with attribute
 *     'warn_unused_result' [-Wunused-result]
 *
 * That warning is this program's "coroutine was never awaited": if you see
 * it, fix it first. Build with -DSHOW_BROKEN_DOUBLE_SLEEP to see it; the
 * default build below is the correct version.
 *
 * The time comes from tr_current_time(), the run's clock (the system clock,
 * or the virtual clock under CTRIO_VIRTUAL_TIME=1), where Python used
 * time.perf_counter(). */
#include <ctrio.h>
#include <stdio.h>

#include "virtual_clock.h"

static int double_sleep_and_report(void *arg) {
    int x = *(const int *)arg;
    printf("*yawn* Going to sleep\n");
    tr_time start_time = tr_current_time();

#ifdef SHOW_BROKEN_DOUBLE_SLEEP
    /* Whoops, we ignored the result! The compiler warns right here. */
    tr_sleep(TR_SEC(2 * x));
#else
    /* Correct: look at the result and pass a cancellation on. */
    int rc = tr_sleep(TR_SEC(2 * x));
    if (rc < 0) return rc;
#endif

    double sleep_time = (double)(tr_current_time() - start_time) / 1e9;
    printf("Woke up after %.2f seconds, feeling well rested!\n", sleep_time);
    return 0;
}

int main(void) {
    int x = 3;
    int rc = example_run(double_sleep_and_report, &x);
    return rc < 0;
}
