/* The smallest ctrio program: one task that sleeps 1 ms. Built by
 * run-consumer.sh against an installed ctrio, through CMake and through
 * pkg-config; exits 0 only if tr_run returned 0. */
#include <ctrio.h>
#include <stdio.h>

static int nap(void *arg) {
    (void)arg;
    return tr_sleep(TR_MS(1));
}

int main(void) {
    int rc = tr_run(nap, NULL, NULL);
    if (rc != 0) {
        fprintf(stderr, "app: tr_run: %s\n", tr_strerror(rc));
        return 1;
    }
    puts("app: ok");
    return 0;
}
