/* The production clock: CLOCK_MONOTONIC. */
#define _GNU_SOURCE
#include "internal.h"

#include <time.h>

static tr_time system_now(void *ctx) {
    struct timespec ts;
    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (tr_time)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static tr_duration system_sleep_time(void *ctx, tr_time deadline) {
    if (deadline == TR_INF) return TR_INF;
    tr_duration d = deadline - system_now(ctx);
    return d > 0 ? d : 0;
}

const tr_clock tr_system_clock = {
    .now = system_now,
    .deadline_to_sleep_time = system_sleep_time,
};
