/* tr_sim_run: one run of a scenario on virtual time (autojump at once) under
 * a seeded scheduling policy, hashing every scheduling decision. */
#define _GNU_SOURCE
#include "ctrio/sim.h"
#include "dlog.h"
#include "internal.h"
#include "sim_internal.h"

#include <stdlib.h>
#include <string.h>

_Thread_local tr__sim *tr__current_sim;

/* ---- the trace hash ------------------------------------------------------ */

/* Folds one word into the run's trace hash. */
static void hash_word(tr__sim *s, uint64_t w) {
    if (!s->no_record) XXH64_update(&s->hash, &w, sizeof w);
}

/* ---- the clock: virtual time that jumps as soon as every task waits ------ */

static tr_time sim_now(void *ctx) { return ((tr__sim *)ctx)->now; }

static tr_duration sim_sleep_time(void *ctx, tr_time deadline) {
    return deadline <= ((tr__sim *)ctx)->now ? 0 : TR_INF;
}

static bool sim_hang(void *ctx) {
    (void)ctx;
    return true;
}

static tr_duration sim_threshold(void *ctx) {
    (void)ctx;
    return 0;
}

static void sim_jump(void *ctx, tr_time deadline, const char *cause) {
    tr__sim *s = ctx;
    (void)cause;
    if (deadline - s->start > s->max_time) {
        /* Cancel everything once; if tasks still wait (shielded) and ask for
         * time again, stop running them. */
        if (s->time_limit_hit) tr__run_kill(tr__current_run, TR_ETIMELIMIT);
        else tr__run_abandon(tr__current_run, TR_ETIMELIMIT);
        s->time_limit_hit = true;
        return;
    }
    s->now = deadline;
    hash_word(s, 0x6a756d70); /* "jump" */
    hash_word(s, (uint64_t)deadline);
}

/* The run exists now (and is current): install the simulator's hooks. */
static void sim_start(void *ctx) { tr__sim_install_hooks(ctx); }

static const tr_clock sim_clock = {
    .start = sim_start,
    .now = sim_now,
    .deadline_to_sleep_time = sim_sleep_time,
    .hang_is_error = sim_hang,
    .autojump_threshold = sim_threshold,
    .autojump = sim_jump,
};

/* ---- the scheduling policy ------------------------------------------------ */

/* Steps past the limit: cancel everything once; if tasks still do not end
 * (they ignore cancellation) by twice the limit, stop running them. */
static void check_limits(tr__sim *s) {
    if (s->steps <= s->max_steps) return;
    if (!s->limit_hit) {
        s->limit_hit = true;
        tr__run_abandon(tr__current_run, TR_ESTEPLIMIT);
    } else if (s->steps > 2 * s->max_steps) {
        tr__run_kill(tr__current_run, TR_ESTEPLIMIT);
    }
}

static void sim_order(void *ctx, tr_task **batch, size_t n) {
    tr__sim *s = ctx;
    tr__sim_order_batch(s, batch, n);
    if (!s->no_record) {
        hash_word(s, (uint64_t)s->now);
        for (size_t i = 0; i < n; i++) hash_word(s, tr_task_id(batch[i]));
    }
    s->steps += n;
    check_limits(s);
}

static const tr_sched_policy sim_policy = {.order_batch = sim_order};

/* ---- one run ---------------------------------------------------------------- */

static int sim_init(tr__sim *s, const tr_sim_opts *o, const tr__dlog *replay) {
    memset(s, 0, sizeof *s);
    tr__dlog_init(&s->log, o->seed);
    s->policy = o->policy;
    s->pct_depth = o->pct_depth ? o->pct_depth : 3;
    s->max_steps = o->max_steps ? o->max_steps : 1000000;
    s->max_time = o->max_time ? o->max_time : TR_SEC(86400);
    if (o->cancel_rate < 0 || o->cancel_rate > 1) return -EINVAL;
    s->cancel_rate = o->cancel_rate;
    if (o->timer_jitter < 0) return -EINVAL;
    /* The bound given to the decision log is jitter + 1, a uint32_t. */
    s->timer_jitter = o->timer_jitter > UINT32_MAX - 1 ? UINT32_MAX - 1 : o->timer_jitter;
    s->no_record = o->no_record;
    s->log.no_record = o->no_record;
    s->cancel_at = o->cancel_at;
    s->start = s->now = 0;
    int rc = o->replay_file ? tr__dlog_load(&s->log, o->replay_file) : 0;
    if (!rc && replay) {
        s->log.seed = replay->seed;
        rc = tr__dlog_set_replay(&s->log, replay);
    }
    /* A replayed log brings its own seed: the hash starts from that one. */
    XXH64_reset(&s->hash, s->log.seed);
    return rc;
}

/* Keeps the report in the result (truncated) and passes it on if asked. */
static void capture_report(tr_sim_result *out, const char *buf, size_t len, const tr_sim_opts *o) {
    if (!buf) return;
    size_t n = len < sizeof out->report - 1 ? len : sizeof out->report - 1;
    memcpy(out->report, buf, n);
    out->report[n] = '\0';
    if (o->report && len) fwrite(buf, 1, len, o->report);
}

/* One run; replay (may be NULL) supplies the decisions in memory, and keep
 * (may be NULL) receives the run's decision log, which the caller frees. */
static int run_impl(tr_task_fn scenario, void *arg, const tr_sim_opts *opts, const tr__dlog *replay,
                    tr__dlog *keep, tr__trace **keep_trace, const uint8_t *bytes, size_t nbytes,
                    tr_sim_result *out) {
    tr_sim_opts defaults = {0};
    const tr_sim_opts *o = opts ? opts : &defaults;
    if (!scenario || !out || o->policy > TR_SIM_PCT) return -EINVAL;
    memset(out, 0, sizeof *out);
    tr__sim *s = malloc(sizeof *s);
    if (!s) return -ENOMEM;
    int rc = sim_init(s, o, replay);
    if (bytes) {
        s->log.bytes = bytes;
        s->log.nbytes = nbytes;
        s->log.zero_tail = true; /* a saved fuzzer input replays exactly */
    }
    if (rc == 0) rc = tr__sim_policy_init(s);
    if (rc != 0) {
        tr__sim_policy_free(s);
        tr__dlog_free(&s->log);
        free(s);
        return rc;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    tr_run_opts ro = {.clock = &sim_clock, .clock_ctx = s, .policy = &sim_policy,
                      .policy_ctx = s, .report = mem ? mem : o->report,
                      .quiet = !mem && !o->report, .stack_size_bytes = o->stack_size_bytes,
                      .leave_sigint = true}; /* Ctrl-C stops a campaign, not a seed */
    tr_instrument *ins[1];
    if (o->trace_file || o->timeline || keep_trace) {
        s->trace = tr__trace_new(s);
        if (s->trace) {
            ins[0] = tr__trace_instrument(s->trace);
            ro.instruments = ins;
            ro.n_instruments = 1;
        }
    }
    tr__current_sim = s;
    out->rc = tr_run(scenario, arg, &ro);
    tr__current_sim = NULL;
    if (mem) fclose(mem);
    capture_report(out, buf, len, o);
    free(buf);
    hash_word(s, (uint64_t)(int64_t)out->rc);
    out->trace_hash = XXH64_digest(&s->hash);
    out->steps = s->steps;
    out->virtual_time = s->now;
    out->decisions = s->log.decisions;
    out->replay_exhausted = s->log.replay_exhausted;
    out->cancel_points = s->cancel_points;
    out->faults = s->faults;
    rc = o->save_file ? tr__dlog_save(&s->log, o->save_file) : 0;
    if (s->trace) {
        if (o->timeline) tr__trace_write_timeline(s->trace, o->timeline);
        int trc = o->trace_file ? tr__trace_write_json(s->trace, o->trace_file, s->log.seed, out->rc) : 0;
        if (!rc) rc = trc;
        if (keep_trace) *keep_trace = s->trace;
        else tr__trace_free(s->trace);
    }
    tr__sim_policy_free(s);
    if (keep) *keep = s->log;
    else tr__dlog_free(&s->log);
    free(s);
    return rc;
}

int tr__sim_run_log(tr_task_fn scenario, void *arg, const tr_sim_opts *opts,
                    const tr__dlog *replay, tr__dlog *keep, tr_sim_result *out) {
    return run_impl(scenario, arg, opts, replay, keep, NULL, NULL, 0, out);
}

int tr__sim_run_traced(tr_task_fn scenario, void *arg, const tr_sim_opts *opts,
                       tr__trace **trace, tr_sim_result *out) {
    *trace = NULL;
    return run_impl(scenario, arg, opts, NULL, NULL, trace, NULL, 0, out);
}

int tr_sim_run(tr_task_fn scenario, void *arg, const tr_sim_opts *opts, tr_sim_result *out) {
    return run_impl(scenario, arg, opts, NULL, NULL, NULL, NULL, 0, out);
}

int tr_sim_run_bytes(tr_task_fn scenario, void *arg, const uint8_t *data, size_t size,
                     const tr_sim_opts *opts, tr_sim_result *out) {
    static const uint8_t none;
    return run_impl(scenario, arg, opts, NULL, NULL, NULL, data ? data : &none, data ? size : 0, out);
}

/* ---- decisions for user code ---------------------------------------------- */

/* Outside a simulation: a fixed PRNG, the same on every run. */
static _Thread_local uint64_t fallback_state = 0x853c49e6748fea9bull;

static uint32_t fallback(uint32_t n) {
    fallback_state = fallback_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)((fallback_state >> 33) % n);
}

uint32_t tr_sim_choice(uint32_t n) {
    if (n <= 1) return 0;
    tr__sim *s = tr__current_sim;
    if (!s) return fallback(n);
    uint32_t v = tr__dlog_next(&s->log, TR__STREAM_USER, n);
    hash_word(s, 0x75736572 ^ ((uint64_t)v << 32)); /* "user" */
    return v;
}

bool tr_sim_bool(double p) {
    if (p <= 0) return false;
    if (p >= 1) return true;
    return tr_sim_choice(1u << 24) < (uint32_t)(p * (double)(1u << 24));
}

int tr_sim_fuzz_one(tr_task_fn scenario, void *arg, const uint8_t *data, size_t size) {
    tr_sim_result r;
    int rc = tr_sim_run_bytes(scenario, arg, data, size, NULL, &r);
    if (rc < 0) {
        fprintf(stderr, "ctrio: tr_sim_run_bytes: %s\n", tr_strerror(rc));
        abort();
    }
    if (r.rc < 0) {
        fprintf(stderr, "ctrio: the scenario failed with %s (trace hash 0x%016llx):\n%s",
                tr_strerror(r.rc), (unsigned long long)r.trace_hash, r.report);
        abort();
    }
    return 0;
}
