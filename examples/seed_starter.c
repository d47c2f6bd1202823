/* Twin of the talk's "starting tasks dynamically" example (seed 000):
 *
 *     async def starter(nursery):
 *         for i in range(7):
 *             nursery.start_soon(sleepy, i)
 *         print("starter done")
 *
 *     async def main():
 *         async with trio.open_nursery() as nursery:
 *             nursery.start_soon(starter, nursery)
 *         print("all done")
 *
 * A task can start tasks in any nursery it has a pointer to, not only in
 * its own. The sleepy tasks are attached to main's nursery, not to starter:
 * starter can exit at once, but main cannot leave tr_nursery_join until all
 * seven sleepy tasks are done (6 seconds). */
#include <ctrio.h>
#include <stdio.h>

#include "virtual_clock.h"

static int sleepy(void *arg) {
    int seconds = *(const int *)arg;
    printf("Sleeping for %d seconds\n", seconds);
    int rc = tr_sleep(TR_SEC(seconds));
    if (rc < 0) return rc;
    printf("Slept %d seconds\n", seconds);
    return 0;
}

static int starter(void *arg) {
    tr_nursery *nursery = arg; /* main's nursery: it outlives this task */
    for (int i = 0; i < 7; i++) {
        int rc = tr_start_soon_copy(nursery, sleepy, &i, sizeof i);
        if (rc < 0) return rc;
    }
    printf("starter done\n");
    return 0;
}

static int main_task(void *arg) {
    (void)arg;
    tr_nursery nursery;
    tr_nursery_open(&nursery);
    int rc = tr_start_soon(&nursery, starter, &nursery);
    rc = tr_nursery_join(&nursery, rc);
    if (rc < 0) return rc;
    printf("all done\n");
    return 0;
}

int main(void) {
    int rc = example_run(main_task, NULL);
    return rc < 0;
}
