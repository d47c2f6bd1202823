/* Must compile with -Werror=unused-result: the same call, its result
 * checked. */
#include <ctrio.h>

int double_sleep(void *arg);
int double_sleep(void *arg) {
    (void)arg;
    int rc = tr_sleep(1);
    if (rc < 0) return rc;
    if (tr_sleep(1) < 0) return -ECANCELED;
    return 0;
}
