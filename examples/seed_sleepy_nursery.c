/* Twin of the talk's first nursery example (seed 000):
 *
 *     async def sleepy(seconds):
 *         print(f"Sleeping for {seconds} seconds")
 *         await trio.sleep(seconds)
 *         print(f"Slept {seconds} seconds")
 *
 *     async def main():
 *         async with trio.open_nursery() as nursery:
 *             for i in range(5):
 *                 nursery.start_soon(sleepy, i)
 *             print("Started all tasks")
 *         print("All done")
 *
 * The tasks run concurrently (4 seconds in all, not 0+1+2+3+4 = 10), and
 * "All done" is printed at the end: the nursery does not let main past
 * tr_nursery_join until every sleepy task has exited.
 *
 * nursery.start_soon(sleepy, i) gives each task its own i. In C the loop
 * variable dies with the loop, so tr_start_soon_copy copies it into the
 * task; sleepy's arg then points at that copy. */
#include <ctrio.h>
#include <stdio.h>

#include "virtual_clock.h"

static int sleepy(void *arg) {
    int seconds = *(const int *)arg;
    printf("Sleeping for %d seconds\n", seconds);
    int rc = tr_sleep(TR_SEC(seconds));
    if (rc < 0) return rc; /* cancelled: pass it on */
    printf("Slept %d seconds\n", seconds);
    return 0;
}

static int main_task(void *arg) {
    (void)arg;
    tr_nursery nursery;
    tr_nursery_open(&nursery);
    int rc = 0;
    for (int i = 0; i < 5 && rc == 0; i++) rc = tr_start_soon_copy(&nursery, sleepy, &i, sizeof i);
    if (rc == 0) printf("Started all tasks\n");
    rc = tr_nursery_join(&nursery, rc);
    if (rc < 0) return rc;
    printf("All done\n");
    return 0;
}

int main(void) {
    int rc = example_run(main_task, NULL);
    return rc < 0;
}
