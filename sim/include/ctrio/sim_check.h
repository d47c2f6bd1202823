/* ctrio simulation + Check (libcheck): fuzz a scenario's interleavings over
 * many seeds inside a Check test, and fail with the command that replays
 * the first failing seed.
 *
 * Header-only, so the library itself never depends on Check: include it in
 * a test file after <check.h> is available on the include path.
 *
 *     static int scenario(void *arg) { ... tr_start_soon, tr_lock, ... }
 *     START_TEST(test_scenario) { tr_ck_sim(scenario, NULL); } END_TEST
 *
 * tr_ck_sim(fn, arg) runs fn(arg) under tr_sim_run once per seed. The
 * environment chooses the seeds and the policy:
 *
 *   CTRIO_SEEDS=N        seeds to run (default 100) ...
 *   CTRIO_SEED_START=S   ... from S on (default 0): S, S+1, ..., S+N-1
 *   CTRIO_SEED=S         run this one seed only (overrides the two above)
 *   CTRIO_POLICY=P       random (default), fifo, pct or pct:D (PCT of depth
 *                        D, 1..17, default 3)
 *
 * Numbers are decimal or 0x hex; an empty variable counts as unset; a bad
 * value fails the test with a message naming the variable. A run fails when
 * the scenario's result is an error (< 0), including the simulator's own
 * TR_ESTEPLIMIT and TR_ETIMELIMIT and tr_run's TR_EDEADLOCK. On the first
 * failing seed the Check test fails at the line of the tr_ck_sim call; the
 * message holds the seed, the error, the trace hash, the exact command that
 * replays that seed:
 *
 *     replay: CTRIO_SEED=0x1d CTRIO_POLICY=random /path/to/check_mytest
 *
 * (the binary from /proc/self/exe), whether running the seed once more gave
 * the same trace hash, and then the simulator's failure report (which task
 * failed, with what, the task tree). The report comes last because Check
 * truncates long messages (CK_MAX_MSG_SIZE, 4 KiB by default).
 *
 * tr_ck_sim_opts(fn, arg, opts) does the same with the caller's tr_sim_opts
 * for everything but the seed (max_steps, max_time, cancel_rate, ...); its
 * policy and pct_depth are the default when CTRIO_POLICY is unset. The
 * replay command holds the seed and the policy: the other options are in the
 * test's code and apply to the replay as well.
 *
 * tr_ck_sim_check(...) is the engine of both, returning the message instead
 * of failing, for tests of tests and for other frameworks. */
#ifndef CTRIO_SIM_CHECK_H
#define CTRIO_SIM_CHECK_H

#include <check.h>
#include <ctrio.h>
#include <ctrio/sim.h>

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#ifdef __linux__
/* From <unistd.h>, which declares it only under POSIX feature macros; a
 * test file compiled as strict C11 may not have them. */
extern ssize_t readlink(const char *restrict path, char *restrict buf, size_t len);
#endif

/* Size of the Check message (Check truncates at 4 KiB unless told). */
#define TR_CK_SIM_MSG_MAX 4000

/* What the environment asked for. */
typedef struct tr_ck_sim_env {
    uint64_t start;        /* first seed */
    uint64_t count;        /* seeds to run */
    tr_sim_policy policy;  /* scheduling policy */
    unsigned pct_depth;    /* PCT's depth (policy TR_SIM_PCT) */
    bool single;           /* CTRIO_SEED was given */
} tr_ck_sim_env;

/* What a tr_ck_sim_check call did. */
typedef struct tr_ck_sim_outcome {
    uint64_t runs;          /* seeds run (the replay check not counted) */
    bool failed;            /* a seed failed */
    uint64_t seed;          /* the failing seed (when failed) */
    bool replay_same;       /* running the failing seed again gave the same hash */
    tr_ck_sim_env env;      /* the parsed environment */
    tr_sim_result result;   /* the failing seed's result, else the last run's */
} tr_ck_sim_outcome;

/* Parses a seed or count: decimal or 0x hex, no sign, no trailing garbage,
 * no overflow. 0 or -EINVAL. */
static inline int tr_ck_sim_parse_u64(const char *s, uint64_t *out) {
    int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s) return -EINVAL;
    uint64_t v = 0;
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9') d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f') d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F') d = (unsigned)(*s - 'A' + 10);
        else return -EINVAL;
        if (v > (UINT64_MAX - d) / (uint64_t)base) return -EINVAL;
        v = v * (uint64_t)base + d;
    }
    *out = v;
    return 0;
}

/* A variable's value; NULL when unset or empty. */
static inline const char *tr_ck_sim_getenv(const char *name) {
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* Reads CTRIO_SEED, CTRIO_SEEDS, CTRIO_SEED_START and CTRIO_POLICY into
 * *env, with the policy of base (may be NULL) as the default. 0, or -EINVAL
 * with what is wrong in msg[0..size). */
static inline int tr_ck_sim_parse_env(tr_ck_sim_env *env, const tr_sim_opts *base, char *msg,
                                      size_t size) {
    memset(env, 0, sizeof *env);
    env->count = 100;
    env->policy = base ? base->policy : TR_SIM_RANDOM;
    env->pct_depth = base && base->pct_depth ? base->pct_depth : 3;
    if (size) msg[0] = '\0';
    const char *v;
    if ((v = tr_ck_sim_getenv("CTRIO_SEED_START")) && tr_ck_sim_parse_u64(v, &env->start)) {
        snprintf(msg, size, "tr_ck_sim: bad CTRIO_SEED_START='%s': expected a seed, decimal or 0x hex", v);
        return -EINVAL;
    }
    if ((v = tr_ck_sim_getenv("CTRIO_SEEDS")) && (tr_ck_sim_parse_u64(v, &env->count) || !env->count)) {
        snprintf(msg, size, "tr_ck_sim: bad CTRIO_SEEDS='%s': expected a number of seeds >= 1, "
                 "decimal or 0x hex", v);
        return -EINVAL;
    }
    if ((v = tr_ck_sim_getenv("CTRIO_SEED"))) {
        if (tr_ck_sim_parse_u64(v, &env->start)) {
            snprintf(msg, size, "tr_ck_sim: bad CTRIO_SEED='%s': expected a seed, decimal or 0x hex", v);
            return -EINVAL;
        }
        env->count = 1;
        env->single = true;
    }
    if ((v = tr_ck_sim_getenv("CTRIO_POLICY"))) {
        uint64_t d = 3;
        if (!strcmp(v, "random")) env->policy = TR_SIM_RANDOM;
        else if (!strcmp(v, "fifo")) env->policy = TR_SIM_FIFO;
        else if (!strcmp(v, "pct") || (!strncmp(v, "pct:", 4) && !tr_ck_sim_parse_u64(v + 4, &d) &&
                                       d >= 1 && d <= 17)) {
            env->policy = TR_SIM_PCT;
            env->pct_depth = (unsigned)d;
        } else {
            snprintf(msg, size, "tr_ck_sim: bad CTRIO_POLICY='%s': expected random, fifo, pct or "
                     "pct:D with D in 1..17", v);
            return -EINVAL;
        }
    }
    return 0;
}

/* The policy as CTRIO_POLICY spells it. */
static inline const char *tr_ck_sim_policy_name(const tr_ck_sim_env *env, char *buf, size_t size) {
    if (env->policy == TR_SIM_FIFO) return "fifo";
    if (env->policy == TR_SIM_PCT) {
        snprintf(buf, size, "pct:%u", env->pct_depth);
        return buf;
    }
    return "random";
}

/* The running binary's path, quoted for a POSIX shell when it needs it. */
static inline void tr_ck_sim_self(char *out, size_t size) {
    char path[1024] = "";
#ifdef __linux__
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    path[n > 0 ? (size_t)n : 0] = '\0';
#endif
    if (!path[0]) snprintf(path, sizeof path, "%s", "<test binary>");
    bool plain = true;
    for (const char *p = path; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+,:=@%", *p))
            plain = false;
    if (plain || !strcmp(path, "<test binary>")) {
        snprintf(out, size, "%s", path);
        return;
    }
    size_t o = 0;
    if (o + 1 < size) out[o++] = '\'';
    for (const char *p = path; *p && o + 5 < size; p++) {
        if (*p == '\'') {
            memcpy(out + o, "'\\''", 4);
            o += 4;
        } else {
            out[o++] = *p;
        }
    }
    if (o + 1 < size) out[o++] = '\'';
    out[o < size ? o : size - 1] = '\0';
}

/* The engine of tr_ck_sim: runs fn(arg) for the seeds and policy of the
 * environment (see the top of this file), the other options from base (may
 * be NULL), until the first failing seed. name is what the message calls
 * the scenario. Returns 0 when every seed passed (msg: a summary line); 1
 * when a seed failed (msg: the failure, with the seed, the trace hash, the
 * replay command and the report); -EINVAL for a bad environment variable
 * (msg says which); another negative code when tr_sim_run itself failed
 * (msg says which seed). out (may be NULL) gets the details. */
static inline int tr_ck_sim_check(tr_task_fn fn, void *arg, const char *name,
                                  const tr_sim_opts *base, char *msg, size_t size,
                                  tr_ck_sim_outcome *out) {
    tr_ck_sim_outcome local;
    tr_ck_sim_outcome *oc = out ? out : &local;
    memset(oc, 0, sizeof *oc);
    int rc = tr_ck_sim_parse_env(&oc->env, base, msg, size);
    if (rc) return rc;
    const tr_ck_sim_env *env = &oc->env;
    tr_sim_opts o = base ? *base : (tr_sim_opts){0};
    o.policy = env->policy;
    o.pct_depth = env->pct_depth;
    o.save_file = NULL; /* one file for many seeds would keep only the last */
    char pol[16];
    const char *policy = tr_ck_sim_policy_name(env, pol, sizeof pol);
    tr_sim_result *r = &oc->result;
    for (uint64_t i = 0; i < env->count; i++) {
        o.seed = env->start + i;
        rc = tr_sim_run(fn, arg, &o, r);
        if (rc < 0) {
            snprintf(msg, size, "tr_ck_sim(%s): tr_sim_run failed at seed 0x%" PRIx64 ": %s (%d)",
                     name, o.seed, tr_strerror(rc), rc);
            return rc;
        }
        oc->runs++;
        if (r->rc >= 0) continue;
        oc->failed = true;
        oc->seed = o.seed;
        /* Run the seed again: the same hash says the replay command works. */
        tr_sim_result *again = malloc(sizeof *again);
        oc->replay_same = again && tr_sim_run(fn, arg, &o, again) == 0 &&
                          again->trace_hash == r->trace_hash && again->rc == r->rc;
        char self[1200];
        tr_ck_sim_self(self, sizeof self);
        const char *err = tr_error_name(r->rc);
        int n = snprintf(
            msg, size,
            "tr_ck_sim(%s) failed at seed 0x%" PRIx64 " (policy %s; seed %" PRIu64 " of %" PRIu64
            "): %s (%d) after %" PRIu64 " steps at virtual time %.6f s\n"
            "replay: CTRIO_SEED=0x%" PRIx64 " CTRIO_POLICY=%s %s\n"
            "trace hash 0x%016" PRIx64 "; %s\n",
            name, o.seed, policy, i + 1, env->count, err ? err : tr_strerror(r->rc), r->rc,
            r->steps, (double)r->virtual_time / 1e9, o.seed, policy, self, r->trace_hash,
            oc->replay_same ? "run again: the same failure with the same trace hash"
            : again        ? "RUN AGAIN IT DIFFERED (nondeterminism escaped the simulator: real "
                             "time, threads, state kept between runs?)"
                           : "not run again (out of memory)");
        free(again);
        if (n >= 0 && (size_t)n + 1 < size) { /* then the report, as much as fits */
            size_t len = strlen(r->report), room = size - (size_t)n - 1;
            if (len > room) len = room;
            memcpy(msg + n, r->report, len);
            msg[(size_t)n + len] = '\0';
        }
        return 1;
    }
    snprintf(msg, size, "tr_ck_sim(%s): %" PRIu64 " seed%s from 0x%" PRIx64 " passed (policy %s)",
             name, oc->runs, oc->runs == 1 ? "" : "s", env->start, policy);
    return 0;
}

#define tr_ck_sim(fn, arg) tr__ck_sim((fn), (arg), NULL, #fn)
#define tr_ck_sim_opts(fn, arg, opts) tr__ck_sim((fn), (arg), (opts), #fn)

#define tr__ck_sim(fn, arg, opts, name)                                                     \
    do {                                                                                    \
        char tr__ck_sim_msg_[TR_CK_SIM_MSG_MAX];                                            \
        int tr__ck_sim_rc_ = tr_ck_sim_check((fn), (arg), (name), (opts), tr__ck_sim_msg_,  \
                                             sizeof tr__ck_sim_msg_, NULL);                 \
        ck_assert_msg(tr__ck_sim_rc_ == 0, "%s", tr__ck_sim_msg_);                          \
    } while (0)

#endif /* CTRIO_SIM_CHECK_H */
