/* Twin of tasks-intro.py as seed 001 (the Colab notebook) gives it: child1
 * sleeps 3 seconds, child2 1 second; they run concurrently, so child2 exits
 * first and the whole program takes 3 seconds, not 4. (tutorial_tasks_intro.c
 * is the 1 s + 1 s version of seeds 002 and 004.)
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
 * ctrio runs children in spawn order, so child1 starts first (the seed's
 * Trio output shows child2 first: in Trio the order may vary). */
#include <ctrio.h>
#include <stdio.h>

#include "virtual_clock.h"

static int child1(void *arg) {
    (void)arg;
    printf("  child1: started! sleeping now...\n");
    int rc = tr_sleep(TR_SEC(3));
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
