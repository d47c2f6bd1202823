/* Helpers shared by ctrio's benchmark programs (the .c files of bench/).
 *
 * Every program prints lines "RESULT <metric> <value> <unit>", the format
 * that ../shared/peers/stats.py collects over repeated runs, so that our
 * figures and the peers' can be summarised the same way. */
#ifndef CTRIO_BENCH_H
#define CTRIO_BENCH_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* Wall clock, ns (CLOCK_MONOTONIC: the clock tr_system_clock reads). */
static inline int64_t bench_wall_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* CPU time (user + system) of the whole process, ns. */
static inline int64_t bench_cpu_ns(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
    int64_t us = ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
                 ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
    return us * 1000;
}

/* Resident set size, bytes (second field of /proc/self/statm). */
static inline int64_t bench_rss_bytes(void) {
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    int got = fscanf(f, "%ld %ld", &size, &resident);
    fclose(f);
    if (got != 2) return -1;
    return (int64_t)resident * sysconf(_SC_PAGESIZE);
}

/* Number of memory mappings (lines of /proc/self/maps). */
static inline long bench_mappings(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return -1;
    long lines = 0;
    for (int c; (c = getc(f)) != EOF;)
        lines += c == '\n';
    fclose(f);
    return lines;
}

static inline void bench_result(const char *metric, double value, const char *unit) {
    printf("RESULT %s %.3f %s\n", metric, value, unit);
    fflush(stdout);
}

/* A count from argv[idx], else from the environment variable env, else dflt. */
static inline long bench_count(int argc, char **argv, int idx, const char *env, long dflt) {
    const char *s = argc > idx ? argv[idx] : (env ? getenv(env) : NULL);
    if (!s || !*s) return dflt;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v <= 0) {
        fprintf(stderr, "bench: bad count '%s'\n", s);
        exit(2);
    }
    return v;
}

/* Exit with a message when a ctrio call that cannot fail in a benchmark did. */
#define BENCH_CHECK(expr)                                                          \
    do {                                                                           \
        int bench_rc_ = (expr);                                                    \
        if (bench_rc_ < 0) {                                                       \
            fprintf(stderr, "bench: %s:%d: %s -> %s\n", __FILE__, __LINE__, #expr, \
                    tr_strerror(bench_rc_));                                       \
            exit(1);                                                               \
        }                                                                          \
    } while (0)

#endif
