/* The decision log. Values are recorded as drawn (replayed values too), so a
 * run's log can always be saved and replayed bit for bit. The text format:
 *
 *     ctrio-decisions 1
 *     seed 0x2a
 *     sched 5: 0 3 1 0 2
 *     user 0:
 *     fault 0:
 *     timers 0:
 */
#define _GNU_SOURCE
#include "dlog.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

const char *const tr__stream_names[TR__STREAM_COUNT] = {"sched", "user", "fault", "timers"};

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* xoshiro256**: small, fast, good enough for schedules. */
static uint64_t rng_next(uint64_t s[4]) {
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* splitmix64 spreads one 64-bit seed over the four words of state. */
static void rng_seed(uint64_t s[4], uint64_t seed) {
    for (int i = 0; i < 4; i++) {
        uint64_t z = (seed += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        s[i] = z ^ (z >> 31);
    }
}

/* Unbiased value in [0, bound): rejection on the low bits' remainder. */
static uint32_t rng_bounded(uint64_t s[4], uint32_t bound) {
    uint32_t threshold = (uint32_t)(-bound) % bound;
    for (;;) {
        uint32_t x = (uint32_t)(rng_next(s) >> 32);
        if (x >= threshold) return x % bound;
    }
}

void tr__dlog_init(tr__dlog *log, uint64_t seed) {
    memset(log, 0, sizeof *log);
    log->seed = seed;
    for (int i = 0; i < TR__STREAM_COUNT; i++) {
        const char *name = tr__stream_names[i];
        rng_seed(log->streams[i].rng, XXH64(name, strlen(name), seed));
    }
}

void tr__dlog_free(tr__dlog *log) {
    for (int i = 0; i < TR__STREAM_COUNT; i++) free(log->streams[i].values);
    memset(log, 0, sizeof *log);
}

static bool record(tr__stream_log *st, uint32_t v) {
    if (st->len == st->cap) {
        size_t cap = st->cap ? 2 * st->cap : 256;
        uint32_t *vals = realloc(st->values, cap * sizeof *vals);
        if (!vals) return false;
        st->values = vals;
        st->cap = cap;
    }
    st->values[st->len++] = v;
    return true;
}

uint32_t tr__dlog_next(tr__dlog *log, int s, uint32_t bound) {
    if (bound <= 1) return 0;
    tr__stream_log *st = &log->streams[s];
    uint32_t v;
    log->decisions++;
    if (st->len < st->replay_len) {
        v = st->values[st->len++] % bound; /* a shrunk or foreign log may overshoot */
        st->values[st->len - 1] = v;
        return v;
    }
    if (st->replay_len && st->len == st->replay_len) log->replay_exhausted = true;
    if (log->bytes) {
        /* Every stream reads the same input in decision order, 4 bytes a
         * value (little endian), zeros past its end: coverage-guided fuzzers
         * then steer schedules, faults and user choices alike. */
        uint32_t raw = 0;
        for (int b = 0; b < 4; b++, log->bytes_pos++)
            if (log->bytes_pos < log->nbytes) raw |= (uint32_t)log->bytes[log->bytes_pos] << (8 * b);
        v = raw % bound;
        if (!log->no_record && !record(st, v)) log->oom = true;
        return v;
    }
    /* Past its replayed values, a stream of a shrunk log gives zeros: the
     * simplest choice, the same every time. */
    v = log->zero_tail ? 0 : rng_bounded(st->rng, bound);
    if (!log->no_record && !record(st, v)) log->oom = true;
    return v;
}

int tr__dlog_save(const tr__dlog *log, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) return -errno;
    fprintf(f, "ctrio-decisions 1\nseed 0x%" PRIx64 "\n", log->seed);
    if (log->zero_tail) fprintf(f, "tail zero\n");
    for (int i = 0; i < TR__STREAM_COUNT; i++) {
        const tr__stream_log *st = &log->streams[i];
        fprintf(f, "%s %zu:", tr__stream_names[i], st->len);
        for (size_t k = 0; k < st->len; k++) fprintf(f, " %" PRIu32, st->values[k]);
        fputc('\n', f);
    }
    return fclose(f) == 0 ? 0 : -EIO;
}

static int load_stream(tr__dlog *log, FILE *f, int i) {
    char word[32];
    size_t n;
    if (fscanf(f, " %31[a-z] %zu:", word, &n) != 2 || strcmp(word, tr__stream_names[i]) != 0)
        return -EINVAL;
    tr__stream_log *st = &log->streams[i];
    for (size_t k = 0; k < n; k++) {
        uint32_t v;
        if (fscanf(f, " %" SCNu32, &v) != 1) return -EINVAL;
        if (!record(st, v)) return -ENOMEM;
    }
    st->replay_len = st->len;
    st->len = 0;
    return 0;
}

/* Loads a saved log: its seed replaces the log's, its values replay first. */
int tr__dlog_load(tr__dlog *log, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return -errno;
    int version = 0;
    uint64_t seed = 0;
    int rc = 0;
    if (fscanf(f, "ctrio-decisions %d seed %" SCNx64, &version, &seed) != 2 || version != 1)
        rc = -EINVAL;
    bool zero_tail = false;
    if (!rc) {
        char tail[16];
        long at = ftell(f);
        if (fscanf(f, " tail %15s", tail) == 1 && !strcmp(tail, "zero")) zero_tail = true;
        else fseek(f, at, SEEK_SET);
        tr__dlog_free(log);
        tr__dlog_init(log, seed);
        log->zero_tail = zero_tail;
    }
    for (int i = 0; i < TR__STREAM_COUNT && !rc; i++) rc = load_stream(log, f, i);
    fclose(f);
    return rc;
}

int tr__dlog_set_replay(tr__dlog *dst, const tr__dlog *src) {
    for (int i = 0; i < TR__STREAM_COUNT; i++) {
        const tr__stream_log *from = &src->streams[i];
        tr__stream_log *to = &dst->streams[i];
        to->len = 0;
        for (size_t k = 0; k < from->len; k++)
            if (!record(to, from->values[k])) return -ENOMEM;
        to->replay_len = to->len;
        to->len = 0;
    }
    dst->zero_tail = src->zero_tail;
    return 0;
}

size_t tr__dlog_size(const tr__dlog *log) {
    size_t n = 0;
    for (int i = 0; i < TR__STREAM_COUNT; i++) n += log->streams[i].len;
    return n;
}
