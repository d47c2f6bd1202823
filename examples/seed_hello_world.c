/* Twin of the README's first example (seed 003):
 *
 *     async def main():
 *         print("Hello...")
 *         await trio.sleep(1)
 *         print("...world!")
 *
 *     trio.run(main)
 */
#include <ctrio.h>
#include <stdio.h>

#include "virtual_clock.h"

static int main_task(void *arg) {
    (void)arg;
    printf("Hello...\n");
    int rc = tr_sleep(TR_SEC(1)); /* 1-second delay */
    if (rc < 0) return rc;
    printf("...world!\n");
    return 0;
}

int main(void) {
    int rc = example_run(main_task, NULL);
    return rc < 0;
}
