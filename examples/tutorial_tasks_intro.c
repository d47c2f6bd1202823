/* Twin of tasks-intro.py as seeds 002 and 004 give it: two children that
 * each sleep 1 second run concurrently, so the whole program takes 1 second,
 * not 2.
 *
 *     async def parent():
 *         print("parent: started!")
 *         async with trio.open_nursery() as nursery:
 *             print("parent: spawning child1...")
 *             nursery.start_soon(child1)
 *             print("parent: spawning child2...")
 *             nursery.start_soon(child2)
 *             print("parent: waiting for children to finish...")
 *             # -- we exit the nursery block here --
 *         print("parent: all done!")
 *
 * `async with trio.open_nursery()` becomes tr_nursery_open(&n) ...
 * tr_nursery_join(&n, rc): join is the end of the `async with` block, where
 * the parent waits for every child to exit. rc is the result of the code in
 * the block (0 here; a failure there would cancel the children).
 *
 * ctrio runs children in spawn order, so child1 prints first; in Trio the
 * order may vary. Both children wake at the same instant, and timers that
 * expire together fire in the order they were set, so child1 exits first. */
#include <ctrio.h>
#include <stdio.h>

#include "virtual_clock.h"

static int child1(void *arg) {
    (void)arg;
    printf("  child1: started! sleeping now...\n");
    int rc = tr_sleep(TR_SEC(1));
    if (rc < 0) return rc; /* cancelled: pass it on, print nothing */
    printf("  child1: exiting!\n");
    return 0;
}

static int child2(void *arg) {
    (void)arg;
    printf("  child2: started! sleeping now...\n");
    int rc = tr_sleep(TR_SEC(1));
    if (rc < 0) return rc;
    printf("  child2: exiting!\n");
    return 0;
}

static int parent(void *arg) {
    (void)arg;
    printf("parent: started!\n");
    tr_nursery nursery;
    tr_nursery_open(&nursery);
    printf("parent: spawning child1...\n");
    int rc = tr_start_soon(&nursery, child1, NULL);
    if (rc == 0) {
        printf("parent: spawning child2...\n");
        rc = tr_start_soon(&nursery, child2, NULL);
    }
    if (rc == 0) printf("parent: waiting for children to finish...\n");
    /* -- we exit the nursery block here -- */
    rc = tr_nursery_join(&nursery, rc);
    if (rc < 0) return rc;
    printf("parent: all done!\n");
    return 0;
}

int main(void) {
    int rc = example_run(parent, NULL);
    return rc < 0;
}
