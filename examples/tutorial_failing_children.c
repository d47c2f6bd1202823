/* Errors in concurrent tasks (seed 004: "Errors in concurrent tasks", "explain
 * how cancellation is also used when one child raises an exception", "walk
 * through a multierror traceback"; seed 001: "Trio never discards
 * exceptions").
 *
 * Python version, for reference:
 *
 *     async def fails_after_1s(name):
 *         await trio.sleep(1)
 *         raise RuntimeError(f"{name} gave up")
 *
 *     async def sleeps_10s():
 *         print("sleeper: going to sleep for 10 seconds")
 *         await trio.sleep(10)
 *         print("sleeper: woke up")          # never printed
 *
 *     async def parent():
 *         async with trio.open_nursery() as nursery:
 *             nursery.start_soon(fails_after_1s, "child1")
 *             nursery.start_soon(fails_after_1s, "child2")
 *             nursery.start_soon(sleeps_10s)
 *
 * Both failing children wake at 1 s in the same batch and fail with
 * tr_fail(code, message), ctrio's `raise`. The first failure cancels the
 * rest of the nursery: the sleeper's tr_sleep returns -ECANCELED at 1 s
 * (cancellation is how a nursery stops the others when one child fails),
 * and a cancelled task is not a failure. The nursery keeps every failure;
 * tr_nursery_join returns the first one, and tr_nursery_failures lists all
 * of them (the C twin of a MultiError / ExceptionGroup).
 *
 * parent prints that list, then passes the failure on. The run then fails:
 * tr_run prints its report on stderr (one block per failed task, nested like
 * a traceback of an exception group) and this program exits with status 1.
 * That failure is the expected end of this example (the test checks for
 * it). */
#include <ctrio.h>
#include <stdio.h>

#include "virtual_clock.h"

static int fails_after_1s(void *arg) {
    const char *name = *(const char *const *)arg;
    int rc = tr_sleep(TR_SEC(1));
    if (rc < 0) return rc;
    printf("%s: failing now\n", name);
    return tr_fail(-EIO, "%s gave up", name); /* raise RuntimeError(...) */
}

static int sleeps_10s(void *arg) {
    (void)arg;
    printf("sleeper: going to sleep for 10 seconds\n");
    tr_time start = tr_current_time();
    int rc = tr_sleep(TR_SEC(10));
    if (rc < 0) {
        printf("sleeper: cancelled after %.1f seconds\n",
               (double)(tr_current_time() - start) / 1e9);
        return rc;
    }
    printf("sleeper: woke up\n"); /* never printed */
    return 0;
}

/* "EIO", or "error" for a code ctrio has no name for. */
static const char *code_name(int code) {
    const char *name = tr_error_name(code);
    return name ? name : "error";
}

static int parent(void *arg) {
    (void)arg;
    const char *child1 = "child1", *child2 = "child2";
    tr_nursery nursery;
    tr_nursery_open(&nursery);
    int rc = tr_start_soon_copy(&nursery, fails_after_1s, &child1, sizeof child1);
    if (rc == 0) rc = tr_start_soon_copy(&nursery, fails_after_1s, &child2, sizeof child2);
    if (rc == 0) rc = tr_start_soon(&nursery, sleeps_10s, NULL);
    rc = tr_nursery_join(&nursery, rc);
    if (rc < 0) {
        printf("parent: the nursery failed with %s, with these failures:\n", code_name(rc));
        for (const tr_failure *f = tr_nursery_failures(&nursery); f; f = f->next)
            printf("  task '%s' (#%llu): %s: %s\n", f->task_name, (unsigned long long)f->task_id,
                   code_name(f->code), f->message);
        return rc; /* pass it on: never discard a failure */
    }
    printf("parent: all done!\n"); /* not reached */
    return 0;
}

int main(void) {
    int rc = example_run(parent, NULL);
    return rc < 0;
}
