/* Twin of the README's "Cancellation & Timeouts" example (seed 003):
 *
 *     with trio.move_on_after(10):
 *         await trio.sleep(12)
 *         print("done sleeping")
 *     print("exited `with` block")
 *
 * After 10 seconds the scope is cancelled: tr_sleep returns -ECANCELED, so
 * "done sleeping" is skipped (in Python the Cancelled exception skips it),
 * and tr_scope_exit absorbs the scope's own cancellation (rc becomes 0), so
 * the code after the block runs, 10 seconds in. */
#include <ctrio.h>
#include <stdio.h>

#include "virtual_clock.h"

static int main_task(void *arg) {
    (void)arg;
    tr_cancel_scope cs;
    int rc = tr_move_on_after(&cs, TR_SEC(10));
    if (rc < 0) return rc;

    rc = tr_sleep(TR_SEC(12));
    if (rc == 0) printf("done sleeping\n"); /* not reached: cancelled at 10 s */

    rc = tr_scope_exit(&cs, rc); /* -ECANCELED -> 0 */
    if (rc < 0) return rc;
    printf("exited `with` block\n");
    return 0;
}

int main(void) {
    int rc = example_run(main_task, NULL);
    return rc < 0;
}
