/* Private structures of the core runtime, shared by core/src files and by
 * components that plug into core's seams. Not installed. */
#ifndef CTRIO_INTERNAL_H
#define CTRIO_INTERNAL_H

#include "ctrio.h"
#include "ctx.h"

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

/* Aborts with one line naming the current task and the last call site. Used
 * for API misuse that can only be a bug; kept under NDEBUG. */
_Noreturn void tr__misuse(const char *call, const char *fmt, ...) TR_PRINTF(2, 3);
#define TR__REQUIRE(cond, call, ...)                                           \
    do {                                                                       \
        if (TR__UNLIKELY(!(cond))) tr__misuse((call), __VA_ARGS__);            \
    } while (0)

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

/* A binary min-heap of timers keyed by (deadline, seq). */
typedef struct tr__heap {
    tr__timer **items; /* the heap array */
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
static inline bool tr__heap_empty(const tr__heap *h) { return h->len == 0 && !h->overflow; }
/* Grow the array to hold n timers (best effort, for hot paths to come). */
void tr__heap_reserve(tr__run *r, size_t n);
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
};
_Static_assert(sizeof(tr__scope) <= sizeof(tr_cancel_scope), "tr_cancel_scope too small");
#define TR__SCOPE_MAGIC 0x5c0be5u

void tr__scope_init(tr__scope *s, tr_time deadline);
void tr__scope_enter(tr_task *t, tr__scope *s);
int tr__scope_exit(tr_task *t, tr__scope *s, int rc);
void tr__scope_cancel(tr__run *r, tr__scope *s);
bool tr__task_cancelled(tr_task *t);
void tr__scope_timer_fired(tr__run *r, tr__timer *timer);
/* Moves a task between scopes' task lists (innermost scope changes). */
void tr__scope_attach_task(tr__scope *s, tr_task *t);
void tr__scope_detach_task(tr_task *t);
/* Re-parents scope s (a task's outermost own scope) under np. */
void tr__scope_reparent(tr__scope *s, tr__scope *np);
/* Delivers cancellation to blocked tasks in s's subtree. */
void tr__scope_deliver(tr__run *r, tr__scope *s);

/* ---- failures -------------------------------------------------------- */

/* A failure record: the public view plus the owned storage behind it. */
struct tr__record {
    tr_failure pub;   /* what users see; pub.next/children point at records */
    char strings[];   /* task name and message, NUL-terminated, owned */
};

tr__record *tr__record_new(tr__run *r, const tr_task *t, int code, const tr_failure *children);
void tr__records_free(tr__run *r, const tr_failure *list);
size_t tr__records_count(const tr_failure *list);
void tr__records_append(const tr_failure **head, const tr_failure *list);
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
    char *lo;                /* lowest usable address */
    size_t size;             /* usable bytes */
    const uint64_t *canary;  /* word below lo to check, NULL when guarded */
    struct tr__slab *slab;   /* owning slab */
} tr__stack;
#define TR__CANARY 0xc7a1c7a1c7a1c7a1ull

int tr__stack_get(size_t size, tr__stack *out);
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

struct tr_task {
    tr__ctx ctx;               /* saved context: must stay first */
    tr__run *run;              /* the run it belongs to */
    uint64_t id;               /* sequential per run; main is 1 */
    const char *name;          /* user's name, not copied */
    tr_task_fn fn;             /* body */
    void *arg;                 /* its argument */
    int state;                 /* enum tr__task_state */
    int rc;                    /* fn's result once done */
    int wake_value;            /* what tr_wait_task_rescheduled returns */
    tr_abort_fn abort_fn;      /* while blocked: how to abort the wait */
    void *abort_ctx;           /* its argument */
    tr__scope *scope;          /* innermost cancel scope */
    tr_task *scope_prev;       /* membership in scope->tasks */
    tr_task *scope_next;
    tr__nursery *nursery;      /* nursery it is a child of */
    tr__scope *home;           /* scope it was attached to there (its outermost) */
    tr_task *sib_prev;         /* membership in nursery->children */
    tr_task *sib_next;
    tr__nursery *open_nursery; /* innermost nursery this task opened */
    tr__timer sleep_timer;     /* deadline of tr_sleep* */
    uint64_t cancel_gen;       /* run->cancel_gen when cancel_cached was computed */
    bool cancel_cached;        /* cached tr__task_cancelled result */
    bool system;               /* a system task */
    tr__stack stack;           /* where it runs */
    const tr_failure *carried; /* failures passed up by joined nurseries */
    tr__local *locals;         /* task-local bindings */
    tr__start *start;          /* set while being started by tr_start */
    bool was_started;          /* tr_started was called */
    const char *wait_file;     /* call site of the current blocking call */
    int wait_line;
    char message[TR_FAIL_MESSAGE_MAX]; /* last tr_fail message */
};

/* ---- the run --------------------------------------------------------- */

/* The I/O backend seam (the only backend so far sleeps until a deadline). */
typedef struct tr__io_backend {
    /* Wait up to timeout (0: poll, TR_INF: until something arrives). */
    void (*wait)(void *ctx, tr_duration timeout);
    /* True when nothing registered could ever wake the loop. */
    bool (*idle)(void *ctx);
} tr__io_backend;
extern const tr__io_backend tr__io_sleep;

struct tr__run {
    tr_task *current;              /* running task, NULL in the scheduler */
    tr_task **runq;                /* runnable tasks for the next batch */
    size_t runq_len;
    tr_task **batch;               /* the batch being run */
    size_t batch_len;
    size_t batch_pos;              /* next index of batch to run */
    size_t queue_cap;              /* capacity of runq and batch */
    tr__heap heap;                 /* deadlines */
    tr__ctx sched_ctx;             /* the scheduler's context (thread stack) */
    const tr_clock *clock;
    void *clock_ctx;
    const tr_sched_policy *policy;
    void *policy_ctx;
    const tr__io_backend *io;      /* how the loop waits */
    void *io_ctx;
    tr_alloc_fn alloc;
    void *alloc_ctx;
    size_t stack_size;             /* default usable stack size */
    uint64_t next_id;              /* next task id */
    size_t live_tasks;             /* tasks spawned and not yet freed */
    uint64_t cancel_gen;           /* bumped whenever any cancellation changes */
    tr__scope *pending;            /* scopes cancelled during a delivery */
    bool delivering;               /* a delivery is in progress */
    tr_task *exited;               /* task that just exited, to free */
    tr_task *main;                 /* the main task */
    int main_rc;                   /* main's result */
    int system_rc;                 /* first failure of a system task */
    tr__nursery root;              /* system nursery: main + system tasks */
    const tr_failure *failures;    /* top-level failures for the report */
    size_t lost;                   /* failures lost to out of memory */
    bool hang;                     /* the clock declared a hang */
    const tr_run_opts *opts;       /* the caller's options */
};

extern _Thread_local tr__run *tr__current_run;
extern _Thread_local const char *tr__site_file;
extern _Thread_local int tr__site_line;

/* The current run and task; abort with a misuse message outside a task. */
tr__run *tr__need_run(const char *call);
tr_task *tr__need_task(const char *call);

void *tr__alloc(tr__run *r, size_t size);
void *tr__realloc(tr__run *r, void *p, size_t size);
void tr__free(tr__run *r, void *p);

/* ---- scheduling ------------------------------------------------------ */

int tr__queue_reserve(tr__run *r, size_t tasks);
void tr__make_runnable(tr__run *r, tr_task *t);
void tr__switch_away(tr__run *r, tr_task *cur);
void tr__start_batch(tr__run *r);
int tr__park(tr__run *r, tr_task *t, tr_abort_fn fn, void *ctx);
void tr__wake(tr__run *r, tr_task *t, int value);
void tr__try_abort(tr__run *r, tr_task *t);
tr_time tr__now(tr__run *r);

tr_task *tr__task_new(tr__run *r, tr_task_fn fn, void *arg, const tr_spawn_opts *o, int *rc);
void tr__task_free(tr__run *r, tr_task *t);
void tr__task_launch(tr__run *r, tr_task *t, tr__nursery *n, tr__scope *home);
void tr__dump_tasks(tr__run *r, FILE *f);


#endif
