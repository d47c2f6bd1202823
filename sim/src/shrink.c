/* Shrinking a failing run: delta debugging over its decision log.
 *
 * A failing run's log (every value it drew, per stream) is made shorter and
 * its values lower, one change at a time, keeping a change only when the run
 * still fails with the same code. Past its last value each stream of a
 * shrunk log gives zeros (the log's "tail zero" mode), so every candidate is
 * one fixed run. The result is the smallest schedule found that shows the
 * bug, saved to a file that --replay runs. */
#include "sim_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Runs a shrink may make before it stops with what it has. */
#define SHRINK_BUDGET 3000u

typedef struct shrinker {
    tr_task_fn scenario;  /* what fails */
    void *arg;
    tr_sim_opts opts;     /* the failing run's options, without files */
    int target_rc;        /* the failure to keep */
    unsigned runs;        /* candidates tried */
} shrinker;

/* Does the candidate log still fail the same way? */
static bool still_fails(shrinker *k, const tr__dlog *cand) {
    if (k->runs >= SHRINK_BUDGET) return false;
    k->runs++;
    tr_sim_result r;
    int rc = tr__sim_run_log(k->scenario, k->arg, &k->opts, cand, NULL, &r);
    return rc == 0 && r.rc == k->target_rc;
}

/* Tries the log without values [at, at + n) of one stream. */
static bool try_remove(shrinker *k, tr__dlog *d, tr__stream_log *st, size_t at, size_t n) {
    uint32_t *saved = malloc(n * sizeof *saved);
    if (!saved) return false;
    memcpy(saved, st->values + at, n * sizeof *saved);
    memmove(st->values + at, st->values + at + n, (st->len - at - n) * sizeof *saved);
    st->len -= n;
    bool kept = still_fails(k, d);
    if (!kept) {
        memmove(st->values + at + n, st->values + at, (st->len - at) * sizeof *saved);
        memcpy(st->values + at, saved, n * sizeof *saved);
        st->len += n;
    }
    free(saved);
    return kept;
}

/* Tries one value lower. */
static bool try_value(shrinker *k, tr__dlog *d, tr__stream_log *st, size_t i, uint32_t v) {
    uint32_t old = st->values[i];
    st->values[i] = v;
    if (still_fails(k, d)) return true;
    st->values[i] = old;
    return false;
}

/* Removes chunks of halving size, then lowers values to 0 or to half. */
static bool shrink_stream(shrinker *k, tr__dlog *d, tr__stream_log *st) {
    bool progress = false;
    for (size_t chunk = (st->len + 1) / 2; chunk >= 1; chunk /= 2) {
        for (size_t at = 0; at + chunk <= st->len;) {
            if (try_remove(k, d, st, at, chunk)) progress = true;
            else at += chunk;
        }
    }
    for (size_t i = 0; i < st->len; i++) {
        uint32_t v = st->values[i];
        if (v == 0) continue;
        if (try_value(k, d, st, i, 0) || (v > 1 && try_value(k, d, st, i, v / 2))) progress = true;
    }
    return progress;
}

static void print_sizes(FILE *out, const tr__dlog *d) {
    for (int i = 0; i < TR__STREAM_COUNT; i++)
        fprintf(out, "%s%s %zu", i ? ", " : "", tr__stream_names[i], d->streams[i].len);
}

int tr__sim_shrink(tr_task_fn scenario, void *arg, const tr_sim_opts *opts, uint64_t seed,
                   const char *save_path, FILE *out) {
    shrinker k = {.scenario = scenario, .arg = arg, .opts = *opts};
    k.opts.seed = seed;
    k.opts.save_file = NULL;
    k.opts.trace_file = NULL; /* thousands of candidates: no traces, no timelines */
    k.opts.timeline = NULL;
    tr__dlog log;
    tr_sim_result r;
    /* The failing run: the seed's, or the replayed log's (then replayed from
     * memory by every candidate). */
    int rc = tr__sim_run_log(scenario, arg, &k.opts, NULL, &log, &r);
    k.opts.replay_file = NULL;
    if (rc) return rc;
    if (r.rc >= 0) {
        tr__dlog_free(&log);
        fprintf(out, "shrink: seed 0x%" PRIx64 " passes: nothing to shrink\n", seed);
        return 0;
    }
    k.target_rc = r.rc;
    log.zero_tail = true;
    size_t before = tr__dlog_size(&log);
    fprintf(out, "shrink: %zu decisions (", before);
    print_sizes(out, &log);
    fprintf(out, ")\n");
    if (!still_fails(&k, &log)) {
        fprintf(out, "shrink: the failure does not replay from its own log; nothing saved\n");
        tr__dlog_free(&log);
        return -EIO;
    }
    bool progress = true;
    while (progress && k.runs < SHRINK_BUDGET) {
        progress = false;
        for (int i = 0; i < TR__STREAM_COUNT; i++) progress |= shrink_stream(&k, &log, &log.streams[i]);
    }
    rc = tr__dlog_save(&log, save_path);
    fprintf(out, "shrink: %zu -> %zu decisions (", before, tr__dlog_size(&log));
    print_sizes(out, &log);
    fprintf(out, ") in %u runs%s; %s %s\n", k.runs, k.runs >= SHRINK_BUDGET ? " (budget spent)" : "",
            rc ? "could not save" : "saved to", save_path);
    tr__dlog_free(&log);
    return rc;
}
