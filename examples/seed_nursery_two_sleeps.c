/* Twin of the README's "Tasks: units of concurrency" snippet (seed 003):
 *
 *     async with trio.open_nursery() as nursery:
 *         nursery.start_soon(trio.sleep, 1)
 *         nursery.start_soon(trio.sleep, 1)
 *
 * Two tasks that each sleep 1 second, so the block takes 1 second, not 2.
 * The nursery blocks at its end (tr_nursery_join) like Thread.join; if a
 * child failed, the nursery would cancel its other children and hand the
 * failure to the parent.
 *
 * tr_sleep takes a duration, not a void *, so it cannot be a task function
 * itself; sleep_for is the one-line adapter, and each task gets its own copy
 * of the duration through tr_start_soon_copy. The prints are not in the
 * seed; they only show what happens when. */
#include <ctrio.h>
#include <stdio.h>

#include "virtual_clock.h"

/* trio.sleep as a task: sleeps for *(tr_duration *)arg. */
static int sleep_for(void *arg) {
    return tr_sleep(*(const tr_duration *)arg);
}

static int main_task(void *arg) {
    (void)arg;
    tr_time start = tr_current_time();
    tr_duration one_second = TR_SEC(1);

    tr_nursery nursery;
    tr_nursery_open(&nursery);
    int rc = tr_start_soon_copy(&nursery, sleep_for, &one_second, sizeof one_second);
    if (rc == 0) rc = tr_start_soon_copy(&nursery, sleep_for, &one_second, sizeof one_second);
    rc = tr_nursery_join(&nursery, rc);
    if (rc < 0) return rc;

    printf("two 1-second sleeps took %.1f seconds together\n",
           (double)(tr_current_time() - start) / 1e9);
    return 0;
}

int main(void) {
    int rc = example_run(main_task, NULL);
    return rc < 0;
}
