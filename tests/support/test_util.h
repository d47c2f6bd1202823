/* Helpers shared by the test suites: an ordered event log, a counting
 * allocator that fails on demand, and a resident-set probe. */
#ifndef CTRIO_TEST_UTIL_H
#define CTRIO_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "ctrio.h"

/* True when built with AddressSanitizer (GCC and Clang spellings). */
#if defined(__SANITIZE_ADDRESS__)
#define TR_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TR_TEST_ASAN 1
#endif
#endif
#ifndef TR_TEST_ASAN
#define TR_TEST_ASAN 0
#endif

/* ---- Event log (one per thread) ---------------------------------------- */

/* Empties the log. */
void tr_test_log_reset(void);
/* Appends one line (a '\n' is added). */
void tr_test_log(const char *fmt, ...) TR_PRINTF(1, 2);
/* Appends one line prefixed with the run's virtual time as "S.mmm ", e.g.
 * "1.000 child1: exiting!". Task only (reads tr_current_time). */
void tr_test_logt(const char *fmt, ...) TR_PRINTF(1, 2);
/* Everything logged so far ("" when empty); valid until the next append. */
const char *tr_test_log_str(void);

/* ---- Counting allocator that fails on demand (a tr_alloc_fn) ----------- */

typedef struct tr_test_alloc {
    size_t fail_at;    /* 1-based index of the allocating call to fail; 0: never */
    bool fail_after;   /* true: every allocating call from fail_at on fails */
    size_t calls;      /* allocating calls (size > 0) seen so far */
    size_t failures;   /* how many of them were failed */
    long live;         /* blocks allocated and not yet freed */
    long frees;        /* frees seen (size 0 with a non-NULL ptr) */
} tr_test_alloc;

/* The realloc-style hook; ctx is a tr_test_alloc. */
void *tr_test_alloc_fn(void *ctx, void *ptr, size_t size);

/* ---- Process probes ---------------------------------------------------- */

/* Resident set size in bytes, from /proc/self/statm (-1 if unreadable). */
long tr_test_rss_bytes(void);
/* True when the test runs under valgrind (which preloads its own library):
 * valgrind keeps memory of its own resident and does not model the SSE
 * rounding mode. */
bool tr_test_under_valgrind(void);

#endif
