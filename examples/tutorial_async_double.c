/* Twin of the tutorial's first example (seeds 000, 001, 004):
 *
 *     async def async_double(x):
 *         return 2 * x
 *
 *     trio.run(async_double, 3)  # returns 6
 *
 * and of print_double, which awaits async_double and prints the result.
 *
 * In ctrio a task function has the signature `int fn(void *arg)`, and
 * tr_run(fn, arg, opts) is the runner, the synchronous function that calls
 * the first "async" function: it runs fn as the main task of a new run and
 * returns what fn returned. So tr_run(async_double, &three, NULL) returns 6.
 * (A result < 0 would mean failure: ctrio results are >= 0 on success.)
 *
 * Like the tutorial says, async_double is a pointless "async" function: it
 * never blocks. The interesting ones call other blocking functions; see
 * tutorial_double_sleep.c. */
#include <ctrio.h>
#include <stdio.h>

#include "virtual_clock.h"

/* A regular function. */
static int regular_double(int x) {
    return 2 * x;
}

/* An "async" function: a task function, runnable by tr_run or in a nursery. */
static int async_double(void *arg) {
    int x = *(const int *)arg;
    return 2 * x;
}

/* print(await async_double(x)): from inside a task, calling another task
 * function is a plain call (ctrio tasks are stackful, so there is no await
 * keyword to remember; the compiler's warn_unused_result on blocking calls
 * takes its place). Unlike the Python version it also returns the value, so
 * that tr_run hands it back to main() as it would for async_double. */
static int print_double(void *arg) {
    int doubled = async_double(arg);
    printf("%d\n", doubled);
    return doubled;
}

int main(void) {
    int three = 3;
    /* trio.run(async_double, 3) returns 6; so does this run, and it prints
     * the 6 on its way. */
    int rc = example_run(print_double, &three);
    if (rc < 0) return 1;
    return rc == regular_double(three) ? 0 : 1; /* same answer, 6 */
}
