/* Twin of the README's "possible foot-gun" (seed 003), both forms.
 *
 * start_soon returns at once, so a cancel scope around just the spawning of
 * a task is basically a no-op: the waiting happens when the nursery joins
 * its children, outside the scope, and no timeout fires:
 *
 *     async with trio.open_nursery() as n:
 *         with trio.move_on_after(5):
 *             n.start_soon(trio.sleep, 10)
 *
 * (10 seconds.) A child runs under its nursery's scopes, not under the
 * scopes its spawner was in when it called tr_start_soon. Written instead
 * with the scope around the whole nursery, the timeout covers the join and
 * the child:
 *
 *     with trio.move_on_after(5):
 *         async with trio.open_nursery() as n:
 *             n.start_soon(trio.sleep, 10)
 *
 * (5 seconds.) This program runs the first form, then the second: 15
 * seconds in all. The prints are not in the seed; they show what happens. */
#include <ctrio.h>
#include <stdio.h>

#include "virtual_clock.h"

/* trio.sleep as a task: sleeps for *(tr_duration *)arg. */
static int sleep_for(void *arg) {
    return tr_sleep(*(const tr_duration *)arg);
}

static double seconds_since(tr_time start) {
    return (double)(tr_current_time() - start) / 1e9;
}

/* The foot-gun: the scope closes right after the spawn, long before the
 * 10-second sleep ends; the join waits the whole 10 seconds. */
static int scope_around_start_soon(void) {
    tr_time start = tr_current_time();
    tr_duration ten = TR_SEC(10);

    tr_nursery n;
    tr_nursery_open(&n);

    tr_cancel_scope cs;
    int rc = tr_move_on_after(&cs, TR_SEC(5));
    if (rc == 0) {
        rc = tr_start_soon_copy(&n, sleep_for, &ten, sizeof ten);
        rc = tr_scope_exit(&cs, rc); /* nothing blocked in here: no timeout */
    }

    rc = tr_nursery_join(&n, rc); /* waits the full 10 seconds */
    if (rc < 0) return rc;
    printf("timeout around start_soon only: no timeout, done after %.1f seconds\n",
           seconds_since(start));
    return 0;
}

/* The right way: the scope contains the nursery, so its deadline cancels the
 * join and the child after 5 seconds. */
static int scope_around_nursery(void) {
    tr_time start = tr_current_time();
    tr_duration ten = TR_SEC(10);

    tr_cancel_scope cs;
    int rc = tr_move_on_after(&cs, TR_SEC(5));
    if (rc < 0) return rc;

    tr_nursery n;
    tr_nursery_open(&n);
    rc = tr_start_soon_copy(&n, sleep_for, &ten, sizeof ten);
    rc = tr_nursery_join(&n, rc); /* -ECANCELED after 5 seconds */

    rc = tr_scope_exit(&cs, rc); /* absorbed: 0 */
    if (rc < 0) return rc;
    printf("timeout around the nursery: timed out, done after %.1f seconds (cancelled: %s)\n",
           seconds_since(start), tr_scope_cancelled_caught(&cs) ? "yes" : "no");
    return 0;
}

static int main_task(void *arg) {
    (void)arg;
    int rc = scope_around_start_soon();
    if (rc < 0) return rc;
    return scope_around_nursery();
}

int main(void) {
    int rc = example_run(main_task, NULL);
    return rc < 0;
}
