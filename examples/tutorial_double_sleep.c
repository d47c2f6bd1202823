/* Twin of the tutorial's double_sleep (seeds 001, 004):
 *
 *     async def double_sleep(x):
 *         await trio.sleep(2 * x)
 *
 *     trio.run(double_sleep, 3)  # does nothing for 6 seconds then returns
 *
 * The "async sandwich": tr_run -> double_sleep -> tr_sleep. Only the
 * functions on the path between tr_run and a blocking ctrio call have to be
 * task code; helpers along the way are ordinary C functions. */
#include <ctrio.h>
#include <stdio.h>

#include "virtual_clock.h"

static int double_sleep(void *arg) {
    int x = *(const int *)arg;
    /* tr_sleep is a checkpoint: 0 when the time is up, -ECANCELED if the
     * task was cancelled first. Pass a failure on, like an exception. */
    return tr_sleep(TR_SEC(2 * x));
}

int main(void) {
    int x = 3;
    int rc = example_run(double_sleep, &x); /* does nothing for 6 seconds */
    return rc < 0;
}
