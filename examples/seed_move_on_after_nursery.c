/* Twin of the talk's cancellation example (seed 000):
 *
 *     async def main():
 *         with trio.move_on_after(3):
 *             async with trio.open_nursery() as nursery:
 *                 nursery.start_soon(sleepy, 10)
 *         print("All done")
 *
 * `with trio.move_on_after(3):` becomes tr_move_on_after(&cs, TR_SEC(3))
 * ... tr_scope_exit(&cs, rc). After 3 seconds the scope is cancelled: the
 * cancellation reaches every task inside it, sleepy included, at its next
 * checkpoint (here: its tr_sleep returns -ECANCELED, and sleepy returns
 * that, which is how a C task "lets Cancelled propagate"). The nursery's
 * join then reports -ECANCELED, and tr_scope_exit absorbs it because it
 * belongs to this very scope: rc becomes 0 and main goes on, after 3
 * seconds instead of 10. "Slept 10 seconds" is never printed.
 *
 * The other ways in (seed 000 names them): tr_fail_after (exit turns the
 * absorbed cancellation into -ETIMEDOUT, see tutorial_timeout_counter.c),
 * tr_move_on_at, and cancelling the nursery's scope by hand with
 * tr_nursery_cancel. */
#include <ctrio.h>
#include <stdio.h>

#include "virtual_clock.h"

static int sleepy(void *arg) {
    int seconds = *(const int *)arg;
    printf("Sleeping for %d seconds\n", seconds);
    int rc = tr_sleep(TR_SEC(seconds));
    if (rc < 0) return rc; /* cancelled after 3 s: pass it on */
    printf("Slept %d seconds\n", seconds);
    return 0;
}

static int main_task(void *arg) {
    (void)arg;
    tr_cancel_scope cs;
    int rc = tr_move_on_after(&cs, TR_SEC(3));
    if (rc < 0) return rc; /* only for a negative duration */

    tr_nursery nursery;
    tr_nursery_open(&nursery);
    int ten = 10;
    rc = tr_start_soon_copy(&nursery, sleepy, &ten, sizeof ten);
    rc = tr_nursery_join(&nursery, rc); /* -ECANCELED after 3 s */

    rc = tr_scope_exit(&cs, rc); /* absorbs this scope's cancellation: 0 */
    if (rc < 0) return rc;
    printf("All done\n");
    return 0;
}

int main(void) {
    int rc = example_run(main_task, NULL);
    return rc < 0;
}
