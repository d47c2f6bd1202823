/* The decision log: every nondeterministic choice of a simulated run, in
 * named sub-streams. Generated from a seed, or replayed from a saved log. */
#ifndef CTRIO_SIM_DLOG_H
#define CTRIO_SIM_DLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The sub-streams. Each has its own PRNG, so changing how often one stream is
 * read leaves the values of the others alone. */
enum tr__stream {
    TR__STREAM_SCHED,  /* which runnable task steps next */
    TR__STREAM_USER,   /* tr_sim_choice, tr_sim_bool */
    TR__STREAM_FAULT,  /* injected cancellations */
    TR__STREAM_TIMERS, /* jitter added to sleeps */
    TR__STREAM_COUNT
};

/* One stream: a PRNG, the values drawn so far, and a replay cursor. */
typedef struct tr__stream_log {
    uint64_t rng[4];   /* xoshiro256** state, seeded from xxh64(name, seed) */
    uint32_t *values;  /* every value drawn, in order */
    size_t len, cap;   /* values used / allocated */
    size_t replay_len; /* values loaded from a saved log (replayed first) */
} tr__stream_log;

typedef struct tr__dlog {
    uint64_t seed;                            /* what generates values past replay */
    tr__stream_log streams[TR__STREAM_COUNT];
    uint64_t decisions;                       /* values drawn in all streams */
    bool replay_exhausted;                    /* a stream read past its saved values */
    bool oom;                                 /* recording failed for lack of memory */
    bool no_record;                           /* draw values without keeping them */
    bool zero_tail;                           /* past a replayed log: 0, not the seed */
    const uint8_t *bytes;                     /* a fuzzer's input: decisions come from it */
    size_t nbytes, bytes_pos;                 /* its size, and how much was read */
} tr__dlog;

extern const char *const tr__stream_names[TR__STREAM_COUNT];

void tr__dlog_init(tr__dlog *log, uint64_t seed);
void tr__dlog_free(tr__dlog *log);
/* A value in [0, bound) from stream s (bound 0 or 1: always 0, not recorded). */
uint32_t tr__dlog_next(tr__dlog *log, int s, uint32_t bound);
/* Save as text / load a saved log for replay. 0 or a negative errno. */
int tr__dlog_save(const tr__dlog *log, const char *path);
int tr__dlog_load(tr__dlog *log, const char *path);
/* Makes dst (initialised) replay the values src drew; 0 or -ENOMEM. */
int tr__dlog_set_replay(tr__dlog *dst, const tr__dlog *src);
/* Values drawn, all streams. */
size_t tr__dlog_size(const tr__dlog *log);

#endif
