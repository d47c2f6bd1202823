/* Private to autojump/ and its tests: the real clock a mock clock reads to
 * apply its rate, replaceable so that tests of the rate never read the wall
 * clock. Not installed. */
#ifndef CTRIO_MOCK_CLOCK_INTERNAL_H
#define CTRIO_MOCK_CLOCK_INTERNAL_H

#include "ctrio/autojump.h"

/* Reads real time in ns (CLOCK_MONOTONIC by default). */
typedef tr_time (*tr__mock_real_clock_fn)(void *ctx);

/* Replace mc's real clock (fn NULL: back to CLOCK_MONOTONIC). Virtual time
 * is kept: the rate's base is re-read from the new clock. */
void tr__mock_clock_set_real_clock(tr_mock_clock *mc, tr__mock_real_clock_fn fn, void *ctx);

#endif
