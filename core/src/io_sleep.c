/* The I/O backend used until a real one is selected: it has no file
 * descriptors, so waiting is sleeping until the next deadline. */
#define _GNU_SOURCE
#include "io.h"

#include <time.h>
#include <unistd.h>

static void sleep_wait(void *ctx, tr_duration timeout) {
    (void)ctx;
    if (timeout <= 0) return;
    if (timeout == TR_INF) {
        /* Nothing can wake the loop: wait for a signal (which ends the
         * process unless it has a handler). */
        pause();
        return;
    }
    struct timespec ts = {.tv_sec = timeout / 1000000000, .tv_nsec = timeout % 1000000000};
    nanosleep(&ts, NULL);
}

static bool sleep_idle(void *ctx) {
    (void)ctx;
    return true;
}

const tr__io_backend tr__io_sleep = {.wait = sleep_wait, .idle = sleep_idle};
