/* Twin of the tutorial's warning about blocking the thread (seed 004, "Best
 * GIL ever"): take tasks-intro (tutorial_tasks_intro.c) and replace the
 * calls to trio.sleep with calls to time.sleep. The output becomes:
 *
 *     parent: started!
 *     parent: spawning child1...
 *     parent: spawning child2...
 *     parent: waiting for children to finish...
 *       child1: started! sleeping now...
 *         [... pauses for 1 second ...]
 *       child1: exiting!
 *       child2: started! sleeping now...
 *         [... pauses for 1 second ...]
 *       child2: exiting!
 *     parent: all done!
 *
 * (the seed shows child2 first: Trio's order may vary, ctrio's is spawn
 * order). A blocking call that is not a ctrio call is not a checkpoint:
 * the task keeps the thread for the whole second, and every other task
 * just has to wait, so the program takes 2 seconds instead of 1. ctrio,
 * like Trio, switches tasks only at checkpoints.
 *
 * blocking_sleep plays time.sleep: nanosleep on the real clock; on the
 * virtual clock (CTRIO_VIRTUAL_TIME=1) it moves virtual time forward by
 * the same amount without letting the loop run, which is what a blocking
 * call does. Never do this in a real ctrio program. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <ctrio.h>
#include <stdio.h>
#include <time.h>

#include "virtual_clock.h"

/* time.sleep(seconds): blocks the whole thread, so every task. */
static void blocking_sleep(int seconds) {
    if (example_virtual_time()) {
        example_vclock_burn(TR_SEC(seconds));
        return;
    }
    struct timespec left = {.tv_sec = seconds, .tv_nsec = 0};
    while (nanosleep(&left, &left) != 0) {
    }
}

static int child1(void *arg) {
    (void)arg;
    printf("  child1: started! sleeping now...\n");
    blocking_sleep(1); /* not a checkpoint: nothing else runs meanwhile */
    printf("  child1: exiting!\n");
    return 0;
}

static int child2(void *arg) {
    (void)arg;
    printf("  child2: started! sleeping now...\n");
    blocking_sleep(1);
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
