/* Private state of one simulated run (sim/src only). */
#ifndef CTRIO_SIM_INTERNAL_H
#define CTRIO_SIM_INTERNAL_H

#define XXH_STATIC_LINKING_ONLY /* XXH64_state_t on the stack, no allocation */
#include <xxhash.h>

#include "ctrio/sim.h"
#include "dlog.h"

typedef struct tr__trace tr__trace;

typedef struct tr__sim {
    tr__dlog log;           /* every decision of the run */
    XXH64_state_t hash;     /* the trace hash being built */
    tr_time start;          /* virtual time at the start */
    tr_time now;            /* virtual time now */
    uint64_t steps;         /* task steps so far */
    uint64_t max_steps;     /* limit on steps */
    tr_duration max_time;   /* limit on virtual time */
    tr_sim_policy policy;   /* how batches are ordered */
    bool limit_hit;         /* the step limit cancelled everything already */
    bool time_limit_hit;    /* the time limit cancelled everything already */
    bool no_record;         /* skip the trace hash and the log's recording */
    tr__trace *trace;       /* events for --trace / --timeline, or NULL */
    double cancel_rate;     /* injection probability per cancel point */
    uint64_t cancel_at;     /* inject at this cancel point (1-based), 0: no */
    tr_duration timer_jitter; /* at most this much added to every sleep */
    uint64_t cancel_points; /* cancel points so far */
    uint64_t faults;        /* cancellations injected so far */
    /* PCT (probabilistic concurrency testing, Burckhardt et al. 2010) */
    unsigned pct_depth;     /* d: bugs of depth d are found with p >= 1/(n k^(d-1)) */
    uint32_t *prio;         /* priority by task id (0: not seen yet) */
    size_t prio_cap;        /* entries in prio */
    uint64_t change[16];    /* steps at which the running task's priority drops */
    unsigned n_change;      /* change points (d - 1, at most 16) */
} tr__sim;

extern _Thread_local tr__sim *tr__current_sim;

int tr__sim_policy_init(tr__sim *s);
void tr__sim_policy_free(tr__sim *s);
/* Orders one batch according to the run's policy, reading the decisions it
 * needs from the "sched" stream. */
void tr__sim_order_batch(tr__sim *s, tr_task **batch, size_t n);
/* tr_sim_run with the decisions replayed from memory and the run's own log
 * kept (either may be NULL; the caller frees *keep). */
int tr__sim_run_log(tr_task_fn scenario, void *arg, const tr_sim_opts *opts,
                    const tr__dlog *replay, tr__dlog *keep, tr_sim_result *out);
/* As tr_sim_run, recording every event; the caller frees *trace. */
int tr__sim_run_traced(tr_task_fn scenario, void *arg, const tr_sim_opts *opts,
                       tr__trace **trace, tr_sim_result *out);
/* Shrinks a failing run's decision log (shrink.c): see tr_sim_main --shrink. */
int tr__sim_shrink(tr_task_fn scenario, void *arg, const tr_sim_opts *opts, uint64_t seed,
                   const char *save_path, FILE *out);
/* Trace export (trace.c). */
tr__trace *tr__trace_new(tr__sim *s);
tr_instrument *tr__trace_instrument(tr__trace *t);
void tr__trace_fault(tr__trace *t, const tr_task *task);
int tr__trace_write_json(const tr__trace *t, const char *path, uint64_t seed, int rc);
void tr__trace_write_timeline(const tr__trace *t, FILE *f);
void tr__trace_free(tr__trace *t);
bool tr__trace_first_divergence(const tr__trace *a, const tr__trace *b, FILE *f);
/* Installs the cancel-point hook when injection is on (inject.c). */
void tr__sim_install_hooks(tr__sim *s);

#endif
