/* Twin of tasks-with-trace.py (seed 004, "Task switching illustrated"): the
 * tasks-intro program run with the tutorial's Tracer instrument, which
 * prints every event of the run loop:
 *
 *     class Tracer(trio.abc.Instrument):
 *         def before_run(self):            print("!!! run started")
 *         def task_spawned(self, task):    print(f"### new task spawned: {task.name}")
 *         def task_scheduled(self, task):  print(f"### task scheduled: {task.name}")
 *         def before_task_step(self, task):
 *             print(f">>> about to run one step of task: {task.name}")
 *         ...
 *     trio.run(parent, instruments=[Tracer()])
 *
 * ctrio ships that Tracer ready-made: tr_tracer(stdout). Differences from
 * Trio's trace, all by design: ctrio has no <init> or <call soon task>
 * housekeeping tasks (callbacks from other threads run in the loop itself),
 * so the trace starts with the main task; tasks run in spawn order (child1
 * first); and on the virtual clock every I/O check is a quick one, because
 * time jumps straight to the next deadline. */
#include <ctrio.h>
#include <stdio.h>

#include "virtual_clock.h"

static int child1(void *arg) {
    (void)arg;
    printf("  child1: started! sleeping now...\n");
    int rc = tr_sleep(TR_SEC(1));
    if (rc < 0) return rc;
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
    rc = tr_nursery_join(&nursery, rc);
    if (rc < 0) return rc;
    printf("parent: all done!\n");
    return 0;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    tr_instrument *tracer = tr_tracer(stdout);
    tr_run_opts opts = {.main_name = "parent", .instruments = &tracer, .n_instruments = 1};
    if (!example_virtual_time()) return tr_run(parent, NULL, &opts) < 0;
    int rc = tr_mock_clock_new(&example_clock);
    if (rc < 0) return 1;
    (void)tr_mock_clock_set_autojump_threshold(example_clock, 0);
    tr_mock_clock_opts(example_clock, &opts);
    rc = tr_run(parent, NULL, &opts);
    printf("[virtual time: %.3f s]\n", (double)tr_mock_clock_now(example_clock) / 1e9);
    tr_mock_clock_free(example_clock);
    return rc < 0;
}
