/* Private structures of the core runtime, shared by core/src files and by
 * components that plug into core's seams. Not installed. */
#ifndef CTRIO_INTERNAL_H
#define CTRIO_INTERNAL_H

#include "ctrio.h"
#include "ctx.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define TR__UNUSED(x) ((void)(x))
#define TR__LIKELY(x) __builtin_expect(!!(x), 1)
#define TR__UNLIKELY(x) __builtin_expect(!!(x), 0)
#define TR__CONTAINER_OF(p, type, field) ((type *)((char *)(p) - offsetof(type, field)))

typedef struct tr__run tr__run;
typedef struct tr__scope tr__scope;
typedef struct tr__nursery tr__nursery;
typedef struct tr__record tr__record;
typedef struct tr__local tr__local;

/* ---- misuse ------------------------------------------------------------ */

/* Aborts with one line naming the current task, and the call site when the
 * one recorded (TR__SITE) is call's own. Used for API misuse that can only
 * be a bug; kept under NDEBUG. */
_Noreturn void tr__misuse(const char *call, const char *fmt, ...) TR_PRINTF(2, 3);
#define TR__REQUIRE(cond, call, ...)                                           \
    do {                                                                       \
        if (TR__UNLIKELY(!(cond))) tr__misuse((call), __VA_ARGS__);            \
    } while (0)

/* The public symbol of a call whose macro records its site (TR__SITE in
 * ctrio.h): reached by address, or with the macro #undef'd, so no site is
 * known for this call and none of an earlier call may stand for it. The
 * body is TR__AT(name). */
#define TR__UNSITED(ret, name, params, args)                                   \
    ret name params {                                                          \
        tr__site_at = NULL;                                                    \
        return TR__AT(name) args;                                              \
    }
#define TR__UNSITED_VOID(name, params, args)                                   \
    void name params {                                                         \
        tr__site_at = NULL;                                                    \
        TR__AT(name) args;                                                     \
    }

/* ---- timers ------------------------------------------------------------ */

enum { TR__TIMER_SLEEP = 1, TR__TIMER_SCOPE = 2 };

/* One deadline in the run's heap, embedded in its owner (a task's sleep or a
 * scope's deadline); the kind says which. */
typedef struct tr__timer {
    tr_time deadline;  /* when it fires */
    uint64_t seq;      /* tie-break between equal deadlines: insertion order */
    size_t heap_index; /* position in the heap, or one of the two markers below */
    int kind;          /* TR__TIMER_SLEEP or TR__TIMER_SCOPE */
    struct tr__timer *ovf_prev; /* links in the overflow list (TR__IN_OVERFLOW) */
    struct tr__timer *ovf_next;
} tr__timer;
#define TR__NOT_IN_HEAP SIZE_MAX
#define TR__IN_OVERFLOW (SIZE_MAX - 1)

/* One slot of the heap: the key is copied in, so comparisons touch only the
 * contiguous array and never the timers (which live on task stacks, one page
 * each: dereferencing them made every level of a sift a TLB miss). */
typedef struct tr__heap_entry {
    tr_time deadline;  /* copy of timer->deadline */
    uint64_t seq;      /* copy of timer->seq */
    tr__timer *timer;  /* the timer, whose heap_index points back here */
} tr__heap_entry;

/* A binary min-heap of timers keyed by (deadline, seq). */
typedef struct tr__heap {
    tr__heap_entry *items; /* the heap array */
    size_t len;        /* timers in the heap */
    size_t cap;        /* allocated length of items */
    uint64_t next_seq; /* next sequence number to hand out */
    tr__timer *overflow; /* timers that did not fit (the array could not grow) */
} tr__heap;

/* Never fails: when the array cannot grow, the timer goes to a linked
 * overflow list that is scanned linearly (slow, but nothing is lost). */
void tr__heap_insert(tr__run *r, tr__timer *t, tr_time deadline);
void tr__heap_remove(tr__heap *h, tr__timer *t);
void tr__heap_rekey(tr__run *r, tr__timer *t, tr_time deadline);
tr__timer *tr__heap_min(const tr__heap *h);
/* Takes out and returns the earliest timer if its deadline is <= now (it
 * reads the heap's copy of the key: the timer is touched only once due). */
tr__timer *tr__heap_pop_due(tr__heap *h, tr_time now);
static inline bool tr__heap_empty(const tr__heap *h) { return h->len == 0 && !h->overflow; }
void tr__heap_free(tr__run *r);

/* ---- cancel scopes --------------------------------------------------- */

/* A cancel scope. Scopes form a tree: a scope's parent is the scope that was
 * innermost where it was entered (for a nursery's children: the nursery's
 * scope). Tasks hang off their innermost scope, so cancelling walks just the
 * affected subtree. */
struct tr__scope {
    tr__scope *parent;      /* enclosing scope, NULL at the root */
    tr__scope *first_child; /* scopes entered directly inside this one */
    tr__scope *prev_sib;    /* siblings under the same parent */
    tr__scope *next_sib;
    tr_task *tasks;         /* tasks whose innermost scope this is */
    tr_task *owner;         /* task that entered it */
    tr__timer timer;        /* the deadline, in the heap while entered */
    tr__scope *pending_next; /* in run->pending while awaiting delivery */
    uint32_t magic;         /* TR__SCOPE_MAGIC while prepared/entered */
    bool cancel_called;     /* cancelled by call or deadline */
    bool shield;            /* enclosing cancellations do not reach inside */
    bool entered;           /* between enter and exit */
    bool exited;            /* exit happened */
    bool fail_mode;         /* fail_after/at: absorbed cancel -> -ETIMEDOUT */
    bool caught;            /* exit absorbed a cancellation */
    bool is_nursery;        /* the scope of a nursery */
    bool queued;            /* in run->pending (at most once) */
};
_Static_assert(sizeof(tr__scope) <= sizeof(tr_cancel_scope), "tr_cancel_scope too small");
#define TR__SCOPE_MAGIC 0x5c0be5u

void tr__scope_init(tr__scope *s, tr_time deadline);
void tr__scope_enter(tr_task *t, tr__scope *s);
/* call: the public call exiting it, as a misuse abort names it. */
int tr__scope_exit(tr_task *t, tr__scope *s, int rc, const char *call);
void tr__scope_cancel(tr__run *r, tr__scope *s);
/* The current task's schedule points and cancel points so far, for
 * checkpoint assertions (0 and 0 outside a task). */
void tr__checkpoint_counts(uint64_t *schedule_points, uint64_t *cancel_points);
void tr__scope_timer_fired(tr__run *r, tr__timer *timer);
/* Moves a task between scopes' task lists (innermost scope changes). */
static inline void tr__scope_attach_task(tr__scope *s, tr_task *t);
static inline void tr__scope_detach_task(tr_task *t);
/* Re-parents scope s (a task's outermost own scope) under np. */
void tr__scope_reparent(tr__scope *s, tr__scope *np);
void tr__scope_moved(tr__run *r, tr__scope *s);
/* Delivers cancellation to blocked tasks in s's subtree. */
void tr__scope_deliver(tr__run *r, tr__scope *s);

/* ---- failures -------------------------------------------------------- */

/* A failure record: the public view plus the owned storage behind it. */
struct tr__record {
    tr_failure pub;   /* what users see; pub.next/children point at records */
    const tr_failure *group_next; /* on a task's carried stack: the group below */
    char strings[];   /* task name and message, NUL-terminated, owned */
};

tr__record *tr__record_new(tr__run *r, const tr_task *t, int code, const tr_failure *children);
/* Frees a list and everything nested in it; returns how many records. */
size_t tr__records_free(tr__run *r, const tr_failure *list);
void tr__records_append(const tr_failure **head, const tr_failure *list);
/* A task's carried failures are a stack of groups, one per joined nursery
 * that failed, newest first; a nursery's own list is never relinked. */
void tr__carried_push(const tr_failure **carried, const tr_failure *group);
/* Keeps the newest group (returned) and frees the others; *freed counts them. */
const tr_failure *tr__carried_take_newest(tr__run *r, const tr_failure **carried, size_t *freed);
size_t tr__carried_free(tr__run *r, const tr_failure **carried);
void tr__report_print(FILE *f, int rc, const tr_failure *list, size_t lost);
const char *tr__error_text(int code);

/* ---- nurseries ------------------------------------------------------- */

struct tr__nursery {
    tr__scope scope;             /* the nursery's cancel scope */
    tr_task *parent;             /* task that opened it */
    tr__nursery *outer;          /* parent task's enclosing open nursery */
    tr_task *children;           /* live children, a doubly linked list */
    size_t n_children;           /* live children */
    size_t pending_starts;       /* tr_start calls in flight into it */
    const tr_failure *failures;  /* failed children, in order */
    size_t lost;                 /* failures not recorded (out of memory) */
    int first_error;             /* first real failure code, 0 if none */
    uint32_t magic;              /* TR__NURSERY_MAGIC while open or joined */
    bool saw_cancel;             /* a child or the body ended cancelled */
    bool parent_waiting;         /* parent blocked in join */
    bool closed;                 /* join finished: no new children */
    bool parent_aborted;         /* cancellation reached the parent in join */
};
_Static_assert(sizeof(tr__nursery) <= sizeof(tr_nursery), "tr_nursery too small");
#define TR__NURSERY_MAGIC 0x7a55e7u

void tr__nursery_child_exited(tr__run *r, tr__nursery *n, tr_task *child);
void tr__nursery_add_failure(tr__run *r, tr__nursery *n, int code, tr__record *rec);
void tr__nursery_init_root(tr__run *r, tr__nursery *n);

/* ---- stacks ---------------------------------------------------------- */

/* A stack region handed out by the pool. The task struct lives at its top. */
typedef struct tr__stack {
    size_t size;             /* usable bytes */
    char *lo;                /* lowest usable address */
    const uint64_t *canary;  /* word below lo to check, NULL when guarded */
    struct tr__slab *slab;   /* owning slab */
} tr__stack;
#define TR__CANARY 0xc7a1c7a1c7a1c7a1ull

int tr__stack_get(size_t size, tr__stack *out);
/* How far below its usual place the task struct of st's region goes: see
 * stack.c. The largest, with the struct and the canary area above it, must
 * leave most of the top page to the task's first frames, so that a task that
 * blocks at once still costs one resident page. */
#ifndef TR__STACK_COLOURS
#define TR__STACK_COLOURS 2
#endif
#ifndef TR__STACK_COLOUR_BYTES
#define TR__STACK_COLOUR_BYTES 512
#endif
size_t tr__stack_colour_offset(const tr__stack *st);
void tr__stack_put(const tr__stack *s);
void tr__stack_trim(void);
size_t tr__stack_round(size_t size);

/* Fault injection for tests: when non-NULL, called instead of mmap for new
 * stack slabs (return MAP_FAILED to simulate exhaustion). */
extern void *(*tr__stack_mmap_hook)(size_t len);

/* ---- task-local storage ---------------------------------------------- */

/* An immutable, reference-counted chain of (key, value) shared between a
 * parent and the children spawned after a set. */
struct tr__local {
    tr__local *next;          /* older bindings */
    const tr_task_local *key; /* which variable */
    void *value;              /* its value */
    size_t refs;              /* tasks and nodes pointing here */
};
void tr__locals_release(tr__run *r, tr__local *l);

/* ---- tasks ----------------------------------------------------------- */

enum tr__task_state { TR__NEW, TR__RUNNABLE, TR__RUNNING, TR__BLOCKED, TR__DONE };

/* A pending tr_start handshake, on the starter's stack. */
typedef struct tr__start {
    tr_task *starter;     /* task waiting in tr_start */
    tr_task *child;       /* the task being started */
    tr__nursery *target;  /* where the child moves on tr_started */
    tr__nursery *temp;    /* the starter's temporary nursery */
    void *value;          /* what tr_started passed */
    bool started;         /* tr_started was called */
} tr__start;

/* Field order is about cache lines: a run of 100,000 sleeping tasks visits
 * each one cold, so what every switch, park, wake and cancel point touches
 * sits in the first two 64-byte lines (tasks are placed 64-byte aligned), the
 * sleep timer in the third, and the rest (touched at spawn, exit and on slow
 * paths) after. */
struct tr_task {
    /* ---- line 0: the switch */
    tr__ctx ctx;               /* saved context: must stay first */
    tr__run *run;              /* the run it belongs to */
    uint64_t schedule_points;  /* times it offered a schedule point */
    uint64_t cancel_gen;       /* = run->cancel_gen: a cancel point may answer
                                  "not cancelled" at once (tr__cancel_point) */
    const uint64_t *canary;    /* = stack.canary, beside the other hot fields */
    /* ---- line 1: cancel points, parking and waking */
    uint64_t cancel_points;    /* times it checked for cancellation */
    int state;                 /* enum tr__task_state */
    int wake_value;            /* what tr_wait_task_rescheduled returns */
    /* Every field from abort_fn up to sleep_timer starts as zero: spawning
     * clears them with one memset (see TR__TASK_ZERO_*). */
    tr_abort_fn abort_fn;      /* while blocked: how to abort the wait */
    void *abort_ctx;           /* its argument */
    const tr__site *wait_site; /* site of the call that blocked or yielded (tr__switch_planned) */
    bool cancel_cached;        /* is it cancelled, as of cached_gen */
    bool system;               /* a system task */
    bool was_started;          /* tr_started was called */
    bool has_message;          /* message holds a tr_fail message (else: none) */
    /* ---- line 2 */
    const char *wait_reason;   /* what it blocks on, for the dump (NULL: see abort_fn) */
    int wait_fd;               /* the fd, when wait_reason names one */
    tr__nursery *open_nursery; /* innermost nursery this task opened */
    const tr_failure *carried; /* failed joined nurseries' lists (a stack of groups) */
    tr__start *start;          /* set while being started by tr_start */
    tr__timer sleep_timer;     /* deadline of tr_sleep* */
    /* ---- lines 3 and 4: spawn and exit */
    uint64_t cached_gen;       /* run->cancel_gen when cancel_cached was computed */
    uint64_t id;               /* sequential per run; main is 1 */
    const char *name;          /* user's name, not copied */
    tr_task_fn fn;             /* body */
    void *arg;                 /* its argument */
    unsigned valgrind_stack_id; /* valgrind's id for the stack, 0 if none */
    int rc;                    /* fn's result once done */
    /* Set by task_launch, which always follows task_init (stack
     * regions are reused: nothing here may be left unwritten). */
    tr__scope *scope;          /* innermost cancel scope */
    tr_task *scope_prev;       /* membership in scope->tasks */
    tr_task *scope_next;
    tr__nursery *nursery;      /* nursery it is a child of */
    tr__scope *home;           /* scope it was attached to there (its outermost) */
    tr_task *sib_prev;         /* membership in nursery->children */
    tr_task *sib_next;         /* (and in run->spares once freed) */
    tr__local *locals;         /* task-local bindings */
    tr__stack stack;           /* where it runs: set when the region is taken
                                  from the pool, kept while it is a spare; a
                                  spare's spawn and exit read only its size */
    /* ---- cold */
    char message[TR_FAIL_MESSAGE_MAX]; /* last tr_fail message, if has_message:
                                          not initialized at spawn (one cache line
                                          less to touch per task) */
};
#define TR__TASK_ZERO_FIRST abort_fn
#define TR__TASK_ZERO_END sleep_timer
#if !TR__CTX_TRACKED /* (a ucontext_t alone spans many lines) */
_Static_assert(offsetof(struct tr_task, canary) + sizeof(void *) <= 64, "line 0 overflows");
_Static_assert(offsetof(struct tr_task, has_message) < 128, "line 1 overflows");
_Static_assert(offsetof(struct tr_task, stack.size) + sizeof(size_t) <= 320, "line 4 overflows");
#endif

/* ---- the run --------------------------------------------------------- */

/* The I/O backend seam lives in io.h. */
struct tr__io_backend;
struct tr__io;
struct tr__entries;
struct tr__instruments;
struct tr__sigrx;

struct tr__run {
    tr_task *current;              /* running task, NULL in the scheduler */
    tr_task **runq;                /* runnable tasks for the next batch */
    size_t runq_len;
    tr_task **batch;               /* the batch being run */
    size_t batch_len;
    size_t batch_pos;              /* next index of batch to run */
    size_t queue_cap;              /* capacity of runq and batch */
    bool plain;                    /* no instrument, no policy, not killed
                                      (tr__run_update_plain) */
    tr__heap heap;                 /* deadlines */
    tr__ctx sched_ctx;             /* the scheduler's context (thread stack) */
    const tr_clock *clock;
    void *clock_ctx;
    const tr_sched_policy *policy;
    void *policy_ctx;
    const struct tr__io_backend *io; /* how the loop waits (io.h) */
    void *io_ctx;
    /* Nothing to poll between batches (no fd waiter, no callback or signal
     * pending, no instrument): the switch path may start the next batch
     * itself. Atomic because other threads and signal handlers clear it
     * (token.c, signal.c); read relaxed on the hot path. */
    _Atomic bool io_idle;
    struct tr__io *iox;            /* fd waiters and the kernel backend (io_wait.c) */
    struct tr__entries *entries;   /* cross-thread callback queue (token.c), or NULL */
    struct tr__instruments *instruments; /* installed instruments, NULL when none */
    struct tr__instruments *instr_store; /* their storage, kept while empty */
    struct tr__sigrx *receivers;   /* open signal receivers (signal.c) */
    tr_capacity_limiter *default_limiter; /* to_thread's default, created on use */
    bool sig_owner;                /* this run handles SIGINT / SIGQUIT */
    bool interrupted;              /* SIGINT arrived: the run ends with -EINTR */
    tr_alloc_fn alloc;
    void *alloc_ctx;
    size_t stack_size;             /* default usable stack size */
    uint64_t next_id;              /* next task id */
    size_t live_tasks;             /* tasks spawned and not yet freed */
    uint64_t cancel_gen;           /* bumped whenever any cancellation changes */
    tr__scope *pending;            /* scopes cancelled during a delivery */
    bool delivering;               /* a delivery is in progress */
    tr_task *exited;               /* TR__CTX_TRACKED: the task that just
                                      exited, for the next to run to free
                                      (tr__reap) */
    tr_task *spares;               /* freed tasks whose regions (of the default
                                      size) the next spawns reuse, linked by
                                      sib_next; back to the pool at the end */
    tr_task *main;                 /* the main task */
    int main_rc;                   /* main's result */
    int system_rc;                 /* first failure of a system task */
    tr__nursery root;              /* system nursery: main + system tasks */
    struct tr__owned *owned;       /* blocks to free at the end (owned.c) */
    struct tr__idle_waiter *idle_first; /* tr_wait_all_tasks_blocked, sorted */
    size_t clock_holds;            /* tr_clock_hold count */
    const tr_failure *failures;    /* top-level failures for the report */
    size_t lost;                   /* failures lost to out of memory */
    bool hang;                     /* the clock declared a hang */
    int forced_rc;                 /* set by tr__run_abandon: the run's result */
    /* Called at every cancel point of every task, before the answer is
     * computed (a simulator injects cancellations here). NULL: none. Set
     * with tr__set_cancel_hook only. */
    void (*cancel_hook)(void *ctx, tr_task *t);
    void *cancel_hook_ctx;
    /* Called when a task starts to sleep until `when`; returns the deadline
     * to use (a simulator adds jitter here). NULL: none. */
    tr_time (*sleep_hook)(void *ctx, tr_task *t, tr_time when);
    void *sleep_hook_ctx;
    bool killed;                   /* tr__run_kill: run no task again */
    bool track_stacks;             /* register stacks with valgrind */
    uint64_t fpenv;                /* FP control words new tasks start with */
    const tr_run_opts *opts;       /* the caller's options */
};

extern _Thread_local tr__run *tr__current_run TR__TLS_MODEL;

/* The current run and task; abort with a misuse message outside a task. */
_Noreturn void tr__outside_task(const char *call);
static inline tr__run *tr__need_run(const char *call) {
    tr__run *r = tr__current_run;
    if (TR__UNLIKELY(!r || !r->current)) tr__outside_task(call);
    return r;
}
static inline tr_task *tr__need_task(const char *call) { return tr__need_run(call)->current; }

void *tr__alloc(tr__run *r, size_t size);
/* Blocks freed at the end of the run if nobody freed them before (owned.c). */
void *tr__alloc_owned(tr__run *r, size_t size);
void tr__free_owned(tr__run *r, void *p);
void tr__free_all_owned(tr__run *r);
void *tr__realloc(tr__run *r, void *p, size_t size);
void tr__free(tr__run *r, void *p);

/* ---- scheduling ------------------------------------------------------ */

/* t has exited: a region of the run's default size becomes one of its
 * spares (for the next spawns), any other goes back to the pool. Called by
 * the exiting task itself on its way out, or (TR__CTX_TRACKED) by the next
 * to run, and for tasks a killed run never finishes. */
static inline void tr__task_free(tr__run *r, tr_task *t) {
    if (t->valgrind_stack_id) TR__TRACK_STACK_DEREGISTER(t->valgrind_stack_id);
    TR__TRACK_STACK_UNPOISON(t->stack.lo, t->stack.size);
    r->live_tasks--;
    if (TR__LIKELY(t->stack.size == r->stack_size)) {
        t->sib_next = r->spares;
        r->spares = t;
        return;
    }
    tr__stack st = t->stack;
    tr__stack_put(&st);
}
void tr__task_spares_free(tr__run *r); /* returns the run's spare regions to the pool */

int tr__queue_grow(tr__run *r, size_t tasks);
static inline int tr__queue_reserve(tr__run *r, size_t tasks) {
    return tasks <= r->queue_cap ? 0 : tr__queue_grow(r, tasks);
}
/* Instrument hooks (instrument.c); the hot call sites test r->instruments
 * first, one predictable branch each. */
enum tr__hook {
#define TR__HOOK_ENUM(name, params) TR__HOOK_##name,
    TR_INSTRUMENT_HOOKS(TR__HOOK_ENUM)
#undef TR__HOOK_ENUM
};
void tr__instrument_run(tr__run *r, enum tr__hook hook);
void tr__instrument_task(tr__run *r, enum tr__hook hook, tr_task *t);
void tr__instrument_io(tr__run *r, enum tr__hook hook, tr_duration timeout);
/* from ends its step (NULL: nobody), then to begins one (NULL: nobody). */
void tr__instrument_switch(tr__run *r, tr_task *from, tr_task *to);
void tr__instruments_free(tr__run *r);
int tr__instruments_init(tr__run *r, const tr_run_opts *o);

/* r->plain: the switch's hot paths test this one flag instead of each of
 * instruments, policy and killed. Called wherever one of them changes. */
static inline void tr__run_update_plain(tr__run *r) {
    r->plain = !r->instruments && !r->policy && !r->killed;
}

/* t goes to the back of the run queue. plain: r->plain is known to be set. */
static inline __attribute__((always_inline)) void tr__make_runnable_as(tr__run *r, tr_task *t,
                                                                      bool plain) {
    t->state = TR__RUNNABLE;
    r->runq[r->runq_len++] = t;
    if (!plain && TR__UNLIKELY(r->instruments)) tr__instrument_task(r, TR__HOOK_task_scheduled, t);
}
static inline void tr__make_runnable(tr__run *r, tr_task *t) { tr__make_runnable_as(r, t, false); }
/* Frees the task that exited last, once its stack is no longer in use:
 * where contexts are tracked only (TR__CTX_TRACKED: ASan, which must see
 * the fiber switch leave a stack before it is unpoisoned, and ucontext).
 * Elsewhere a task frees its region itself on its way out (task_exit) and
 * this is a no-op. */
static inline void tr__reap(tr__run *r) {
#if TR__CTX_TRACKED
    if (r->exited) {
        tr__task_free(r, r->exited);
        r->exited = NULL;
    }
#else
    (void)r;
#endif
}
void tr__start_batch(tr__run *r);
_Noreturn void tr__stack_overflow(const tr_task *t);
/* Unguarded stacks (past the guard-page budget) have a canary below them. */
static inline void tr__check_canary(const tr_task *t) {
    if (t->canary && TR__UNLIKELY(*t->canary != TR__CANARY)) tr__stack_overflow(t);
}
int tr__park(tr__run *r, tr_task *t, tr_abort_fn fn, void *ctx);
void tr__wake(tr__run *r, tr_task *t, int value);
void tr__try_abort(tr__run *r, tr_task *t);
tr_time tr__now(tr__run *r);

/* A new task running fn(arg), a child of nursery n under its scope, queued
 * to run; NULL with *rc set (-ENOMEM, -EINVAL) when it cannot be. */
tr_task *tr__task_spawn(tr__run *r, tr__nursery *n, tr_task_fn fn, void *arg,
                        const tr_spawn_opts *o, int *rc);
void tr__dump_tasks(tr__run *r, FILE *f);
/* End the run with code: cancel every task, or stop running tasks at all and
 * free them (abandon.c). */
void tr__run_abandon(tr__run *r, int code);
void tr__run_kill(tr__run *r, int code);
void tr__free_remaining_tasks(tr__run *r);
/* Idle waiters (idle.c): the smallest cushion (TR_INF: none), and waking
 * the waiters that have it. */
tr_duration tr__idle_cushion(const tr__run *r);
void tr__idle_wake(tr__run *r);

/* ---- the switch (inline: it is the hottest path) ---------------------- */

/* The run queue becomes the batch (FIFO order), the old batch array the
 * new, empty run queue. */
static inline void tr__swap_queues(tr__run *r) {
    tr_task **b = r->batch;
    r->batch = r->runq;
    r->batch_len = r->runq_len;
    r->runq = b;
    r->runq_len = 0;
    r->batch_pos = 0;
}

/* Between two batches the scheduler would only look at deadlines and I/O:
 * with neither, a batch may start (or a yield return) without it. */
static inline bool tr__between_batches_idle(const tr__run *r) {
    return tr__heap_empty(&r->heap) && atomic_load_explicit(&r->io_idle, memory_order_relaxed);
}

/* The next task of the batch. When the scheduler would have nothing to do
 * between batches (no deadline to check, no I/O to poll), the next batch
 * starts right here instead of through a switch to the scheduler. plain:
 * r->plain is known to be set. */
static inline __attribute__((always_inline)) tr_task *tr__next_in_batch_as(tr__run *r,
                                                                           bool plain) {
    if (TR__LIKELY(r->batch_pos < r->batch_len)) return r->batch[r->batch_pos++];
    if (r->runq_len && tr__between_batches_idle(r)) {
        /* tr__start_batch, inline when there is no policy to order it. */
        if (!plain && (r->policy || TR__UNLIKELY(r->killed))) {
            tr__start_batch(r);
            return r->batch_pos < r->batch_len ? r->batch[r->batch_pos++] : NULL;
        }
        if (r->runq_len == 1) { /* a batch of one: no need to swap the arrays */
            r->runq_len = 0;
            return r->runq[0];
        }
        tr__swap_queues(r);
        r->batch_pos = 1;
        return r->batch[0];
    }
    return NULL;
}
static inline tr_task *tr__next_in_batch(tr__run *r) { return tr__next_in_batch_as(r, false); }

/* cur has been queued or blocked: choose the next task and make it current.
 * Returns the context to switch to, or NULL when cur itself runs on. plain:
 * r->plain is known to be set. */
static inline __attribute__((always_inline)) tr__ctx *tr__switch_plan_as(tr__run *r, tr_task *cur,
                                                                       bool plain) {
    cur->schedule_points++;
    tr_task *next = tr__next_in_batch_as(r, plain);
    if (!plain && TR__UNLIKELY(r->instruments)) tr__instrument_switch(r, cur, next);
    r->current = next;
    if (next == cur) {
        cur->state = TR__RUNNING;
        return NULL;
    }
    tr__check_canary(cur);
    if (!next) return &r->sched_ctx;
    next->state = TR__RUNNING;
    return &next->ctx;
}
static inline __attribute__((always_inline)) tr__ctx *tr__switch_plan(tr__run *r, tr_task *cur) {
    return TR__LIKELY(r->plain) ? tr__switch_plan_as(r, cur, true)
                                : tr__switch_plan_as(r, cur, false);
}

/* cur (the current task) goes to the back of the run queue: tr__make_runnable
 * then tr__switch_plan, with one test of r->plain for both. */
static inline __attribute__((always_inline)) tr__ctx *tr__yield_plan_as(tr__run *r, tr_task *cur,
                                                                      bool plain) {
    tr__make_runnable_as(r, cur, plain);
    return tr__switch_plan_as(r, cur, plain);
}
static inline __attribute__((always_inline)) tr__ctx *tr__yield_plan(tr__run *r, tr_task *cur) {
    return TR__LIKELY(r->plain) ? tr__yield_plan_as(r, cur, true)
                                : tr__yield_plan_as(r, cur, false);
}

/* Back in cur after a switch: where contexts are tracked, free the task
 * that exited meanwhile. cur->run, not a run pointer kept from before: only
 * rbp survives the switch in a register (ctx.h), and cur is there already;
 * keeping r too would spill it to the stack and reload it on the way in. */
static inline __attribute__((always_inline)) void tr__switched_back(tr_task *cur) {
    tr__reap(cur->run);
}

/* Asks for the lines a resume of t touches first: its context and its
 * state. Where tasks are many and each runs rarely (timers, a million
 * sleepers), a task about to be resumed is one nobody touched for long. */
static inline void tr__prefetch_resume_at(uintptr_t t) { /* (t: the task's address) */
    __builtin_prefetch((const void *)(t + offsetof(tr_task, ctx)));
    __builtin_prefetch((const void *)(t + offsetof(tr_task, state)), 1);
}
static inline void tr__prefetch_resume(const tr_task *t) { tr__prefetch_resume_at((uintptr_t)t); }

/* The same for a task of the batch: the next one (ahead 0) or a later one. */
static inline void tr__prefetch_batch(const tr__run *r, size_t ahead) {
    size_t i = r->batch_pos + ahead;
    if (i < r->batch_len) tr__prefetch_resume(r->batch[i]);
}

/* cur switches to `to`, a plan's answer (NULL: cur runs on); returns when
 * cur runs again. Its call goes on under its own site (kept in wait_site by
 * the park or the yield that planned the switch), not under the one the
 * tasks that ran meanwhile recorded last. (The callers' inline switches
 * need not: their call is over once the task runs again.) */
static inline __attribute__((always_inline)) void tr__switch_planned(tr_task *cur, tr__ctx *to) {
    if (!to) return;
    tr__ctx_switch(&cur->ctx, to);
    tr__site_at = cur->wait_site;
    tr__switched_back(cur);
}

/* cur has been queued or blocked: run the next task; returns when cur runs
 * again. */
static inline __attribute__((always_inline)) void tr__switch_away(tr__run *r, tr_task *cur) {
    tr__switch_planned(cur, tr__switch_plan(r, cur));
}

/* Nothing else can run and the scheduler has nothing to do between batches
 * (no deadline, no I/O to poll, no policy, no instrument): a yield would
 * queue the task, start a batch of one and pick it again. */
static inline bool tr__yield_is_noop(const tr__run *r) {
    return r->batch_pos == r->batch_len && r->runq_len == 0 && tr__between_batches_idle(r) &&
           r->plain;
}

/* A schedule point that is never a cancel point: t (the current task) goes
 * to the back of the run queue and the next runnable task runs. */
static inline __attribute__((always_inline)) void tr__yield(tr_task *t) {
    t->wait_site = tr__site_at;
    tr__switch_planned(t, tr__yield_plan(t->run, t));
}

/* The same, for the schedule point of an operation that usually runs with
 * nothing else runnable (an uncontended acquire): a lone task skips the
 * queue, with the same outcome. The test costs a few instructions when
 * other tasks are runnable, which is why checkpoints and channels (mostly
 * used with a peer) do without it. */
static inline __attribute__((always_inline)) void tr__yield_unless_alone(tr_task *t) {
    if (tr__yield_is_noop(t->run)) {
        t->schedule_points++;
        return;
    }
    tr__yield(t);
}

/* A cancel point: counts it, then answers whether t is cancelled. One test
 * on the fast path, which answers "not cancelled": t->cancel_gen equals the
 * run's only while that answer holds, no cancel hook is installed and no
 * cancellation changed since the slow path looked. Otherwise the slow path
 * runs (and calls the hook); the answer itself stays cached (cached_gen)
 * until a cancellation changes, so a cancelled task's cancel points walk no
 * scopes either. */
bool tr__cancel_point_slow(tr_task *t);
static inline bool tr__cancel_point(tr_task *t) {
    t->cancel_points++;
    if (TR__LIKELY(t->cancel_gen == t->run->cancel_gen)) return false;
    return tr__cancel_point_slow(t);
}
/* tr__park up to the switch: t (the current task) is blocked until
 * tr__wake; fn(ctx) is how cancellation aborts the wait. Inline where the
 * blocking operation is hot: a task resumes where it parked, and every
 * called frame between the switch and the user's code is one more return
 * the return-stack predictor gets wrong (the stack of return addresses it
 * holds is the other task's). fast: tr__fast_path_ok(r, t) held when the
 * blocking call began. */
static inline __attribute__((always_inline)) void tr__park_prepare_as(tr__run *r, tr_task *t,
                                                                      tr_abort_fn fn, void *ctx,
                                                                      bool fast) {
    t->abort_fn = fn;
    t->abort_ctx = ctx;
    t->state = TR__BLOCKED;
    t->wait_site = tr__site_at;
    if (fast) t->cancel_points++; /* tr__fast_path_ok(r, t): it answers no */
    else if (tr__cancel_point(t)) tr__try_abort(r, t);
}
static inline __attribute__((always_inline)) void tr__park_prepare(tr__run *r, tr_task *t,
                                                                   tr_abort_fn fn, void *ctx) {
    tr__park_prepare_as(r, t, fn, ctx, false);
}

/* A blocking call's fast path may be taken: the run r is plain and t's
 * cancel points answer "not cancelled" at once (no cancel hook, no
 * cancellation), and go on doing so until t blocks, for nothing on the way
 * changes them. A call that begins with it tests no instrument, policy or
 * cancellation on the way, and calls no function but to copy an item of an
 * uncommon size. The hot calls pass r as read from tr__current_run, not as
 * t->run: r->current then t->run made two more loads in a row before the
 * switch could begin (switch 7.65 -> 7.13 ns, pingpong 41.9 -> 37.3 ns). */
static inline bool tr__fast_path_ok(const tr__run *r, const tr_task *t) {
    return r->plain && t->cancel_gen == r->cancel_gen;
}

/* tr__wake with r->plain known to be set (fast) or not. */
static inline __attribute__((always_inline)) void tr__wake_as(tr__run *r, tr_task *t, int value,
                                                              bool fast) {
    /* After tr__run_kill the tasks are freed: teardown (signal receivers,
     * fd waiters) may still try to wake them. */
    if (!fast && TR__UNLIKELY(r->killed)) return;
    t->abort_fn = NULL;
    t->wake_value = value;
    tr__make_runnable_as(r, t, fast);
}

/* Whether a caller's inline fast path may switch (ctrio/hop.h). Where it
 * cannot (contexts announced to ASan, the ucontext back-end, other CPUs),
 * a begin call does the whole call itself and never asks for a switch. */
#if TR__CTX_TRACKED || !defined(TR__HOP_SWITCH_AVAILABLE)
#define TR__HOP_BY_CALLER 0
#else
#define TR__HOP_BY_CALLER 1
#endif
_Static_assert(offsetof(struct tr_task, ctx) == 0, "tr__hop_end_* find the task from its context");
#if TR__HOP_BY_CALLER /* the callers' inline ends read these (ctrio/hop.h) */
_Static_assert(offsetof(struct tr_task, run) == TR__HOP_TASK_RUN &&
                   offsetof(struct tr_task, cancel_gen) == TR__HOP_TASK_CANCEL_GEN &&
                   offsetof(struct tr_task, cancel_points) == TR__HOP_TASK_CANCEL_POINTS &&
                   offsetof(struct tr_task, wake_value) == TR__HOP_TASK_WAKE_VALUE &&
                   offsetof(struct tr__run, cancel_gen) == TR__HOP_RUN_CANCEL_GEN,
               "ctrio/hop.h's offsets of the task and run fields");
_Static_assert(sizeof(((tr_task *)0)->cancel_gen) == 8 && sizeof(((tr_task *)0)->wake_value) ==
                   sizeof(int) && sizeof(((tr__run *)0)->cancel_gen) == 8,
               "ctrio/hop.h's sizes of the task and run fields");
#endif

/* The library's halves of the callers' inline fast paths (ctrio/hop.h):
 * what a blocking call returns once its task runs again. */
enum tr__hop_kind {
    TR__HOP_WAKE_VALUE,   /* the value it was woken with (set to 0 by a yield) */
    TR__HOP_CANCEL_POINT, /* 0, or -ECANCELED when cancelled by now */
};
/* What a blocking call of this kind returns once t runs again. */
static inline __attribute__((always_inline)) int tr__hop_answer(tr_task *t, int kind) {
    return kind == TR__HOP_WAKE_VALUE ? t->wake_value : (tr__cancel_point(t) ? -ECANCELED : 0);
}

/* A blocking call of this kind whose switch is planned (to, NULL: t runs
 * on): the switch for the caller to make, or the call's result when t runs
 * on without one. */
static inline __attribute__((always_inline)) tr__hop tr__hop_planned(tr_task *t, int kind,
                                                                     tr__ctx *to) {
    if (!to) return (tr__hop){.rc = tr__hop_answer(t, kind)};
    return (tr__hop){.from = &t->ctx, .to = to};
}

/* The same for a call that ends with a yield (t, the current task, goes to
 * the back of the run queue). */
static inline __attribute__((always_inline)) tr__hop tr__hop_yield(tr__run *r, tr_task *t,
                                                                   int kind) {
    return tr__hop_planned(t, kind, tr__yield_plan(r, t));
}

/* Back in t after a hop's switch: the call's result (tr__hop_end_*). */
static inline __attribute__((always_inline)) int tr__hop_result(tr_task *t, int kind) {
    tr__switched_back(t);
    return tr__hop_answer(t, kind);
}

/* A planned call finished in the library: the out-of-line functions, and
 * every call where the caller cannot switch. */
static inline __attribute__((always_inline)) int tr__hop_here(tr__hop h, int kind) {
    if (!h.to) return (int)h.rc;
    /* The call's site is put back when the task runs again, as by
     * tr__switch_planned, but from a local: the yields a hop plans (a
     * checkpoint, a send or receive that succeeded) keep wait_site out of
     * their fast paths, where the caller finishes the switch. */
    const tr__site *site = tr__site_at;
    tr__ctx_switch((tr__ctx *)h.from, (tr__ctx *)h.to);
    tr__site_at = site;
    return tr__hop_result((tr_task *)h.from, kind);
}

/* What a begin call returns for a planned call: the plan itself, or the
 * result where the caller cannot switch (TR__HOP_BY_CALLER). */
static inline __attribute__((always_inline)) tr__hop tr__hop_begun(tr__hop h, int kind) {
#if TR__HOP_BY_CALLER
    (void)kind;
    return h;
#else
    return (tr__hop){.rc = tr__hop_here(h, kind)};
#endif
}

/* trio.lowlevel.checkpoint() for the current task t: a schedule point, then
 * a cancel point. 0 or -ECANCELED. */
static inline __attribute__((always_inline)) int tr__checkpoint(tr_task *t) {
    tr__yield(t);
    return tr__cancel_point(t) ? -ECANCELED : 0;
}

/* trio.lowlevel.checkpoint_if_cancelled() for the current task t:
 * -ECANCELED after a schedule point when t is cancelled, else 0 at once. */
static inline int tr__checkpoint_if_cancelled(tr_task *t) {
    if (TR__LIKELY(!tr__cancel_point(t))) return 0;
    tr__yield(t);
    return -ECANCELED;
}

/* Installs (fn non-NULL) or removes the run's cancel hook. */
void tr__set_cancel_hook(tr__run *r, void (*fn)(void *ctx, tr_task *t), void *ctx);

/* ---- inline list operations ------------------------------------------ */

static inline void tr__scope_attach_task(tr__scope *s, tr_task *t) {
    t->scope = s;
    t->scope_prev = NULL;
    t->scope_next = s->tasks;
    if (s->tasks) s->tasks->scope_prev = t;
    s->tasks = t;
    t->cancel_gen = t->cached_gen = 0; /* the run's generation starts at 1 */
}

static inline void tr__scope_detach_task(tr_task *t) {
    tr__scope *s = t->scope;
    if (t->scope_prev) t->scope_prev->scope_next = t->scope_next;
    else s->tasks = t->scope_next;
    if (t->scope_next) t->scope_next->scope_prev = t->scope_prev;
    t->scope_prev = t->scope_next = NULL;
}

#endif
