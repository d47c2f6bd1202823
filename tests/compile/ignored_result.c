/* Must NOT compile with -Werror=unused-result: the C twin of Trio's
 * "coroutine was never awaited" (seed 001/004 broken_double_sleep) is a
 * blocking call whose result is dropped, and ctrio declares its blocking
 * calls warn_unused_result so the compiler catches it. */
#include <ctrio.h>

int broken_double_sleep(void *arg);
int broken_double_sleep(void *arg) {
    (void)arg;
    tr_sleep(1);
    return 0;
}
