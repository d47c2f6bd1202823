/* ctrio: Trio's structured concurrency for C.
 *
 * This header is the contract: what is not declared here is not API.
 * Conventions used by every call below:
 *   - Fallible calls return int: >= 0 on success, a negative errno value or
 *     one of the TR_E* codes (below -4095) on failure; errno is never used.
 *   - "Checkpoint" means the call checks for cancellation and offers a
 *     schedule point, even when it does not block (Trio's rule). A checkpoint
 *     inside a cancelled, unshielded scope returns -ECANCELED, every time,
 *     until the task leaves that scope (cancellation is level-triggered).
 *   - Time is int64_t nanoseconds on the run's clock; TR_INF means "never".
 *   - Calls marked "task only" must be made from a task inside tr_run;
 *     calling them elsewhere is a bug and aborts with a one-line message that
 *     names the call site.
 */
#ifndef CTRIO_H
#define CTRIO_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The alignment of the opaque objects below, in either language. */
#ifdef __cplusplus
#define TR__ALIGNAS(n) alignas(n)
#else
#define TR__ALIGNAS(n) _Alignas(n)
#endif

#if defined(CTRIO_BUILDING) && defined(__GNUC__)
#define TR_API __attribute__((visibility("default")))
#else
#define TR_API
#endif

/* Blocking calls are declared so that ignoring their result is a warning:
 * the C twin of Trio's "coroutine was never awaited". */
#if defined(__GNUC__)
#define TR_NODISCARD __attribute__((warn_unused_result))
#define TR_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TR_NODISCARD
#define TR_PRINTF(f, a)
#endif

/* ------------------------------------------------------------------------ */
/* Time                                                                      */
/* ------------------------------------------------------------------------ */

typedef int64_t tr_time;     /* absolute time on the run's clock, ns */
typedef int64_t tr_duration; /* a span of time, ns */

#define TR_INF INT64_MAX /* "no deadline"; arithmetic saturates at it */
/* "No limit", for sizes and counts (a channel's buffer, a limiter's tokens,
 * a semaphore's maximum). */
#define TR_UNBOUNDED SIZE_MAX
#define TR_NS(x) ((tr_duration)(x))
#define TR_US(x) ((tr_duration)(x) * 1000)
#define TR_MS(x) ((tr_duration)(x) * 1000000)
#define TR_SEC(x) ((tr_duration)(x) * 1000000000)

/* a + d, saturating at TR_INF (and at -TR_INF for large negative d). */
static inline tr_time tr_time_add(tr_time a, tr_duration d) {
    if (d > 0 && a > TR_INF - d) return TR_INF;
    if (d < 0 && a < -TR_INF - d) return -TR_INF;
    return a + d;
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

/* Codes of ctrio's own, for what errno lacks. All are below -4095 so that
 * they can never collide with a negative errno value. */
#define TR_ERRORS_OWN(X)                                                        \
    X(TR_EENDOFCHANNEL, -4097, "end of channel: every sender is closed")        \
    X(TR_ENOTSTARTED, -4098, "child task exited without calling tr_started")    \
    X(TR_ENURSERYCLOSED, -4099, "nursery is closed to new tasks")               \
    X(TR_EDEADLOCK, -4100, "deadlock: no task can ever run again")              \
    X(TR_EBROKEN, -4101, "resource is broken by an earlier failure")            \
    X(TR_ESTEPLIMIT, -4102, "simulation step limit reached (livelock?)")        \
    X(TR_ETIMELIMIT, -4103, "simulation virtual-time limit reached")            \
    X(TR_EASSERT, -4104, "test assertion failed")

/* The errno values ctrio returns, with the meaning they have in ctrio. */
#define TR_ERRORS_ERRNO(X)                                                      \
    X(ECANCELED, -ECANCELED, "cancelled")                                       \
    X(ETIMEDOUT, -ETIMEDOUT, "deadline of a fail_after/fail_at scope expired")  \
    X(EPIPE, -EPIPE, "peer gone: the other end is closed or broken")            \
    X(EBADF, -EBADF, "handle is already closed")                                \
    X(EWOULDBLOCK, -EWOULDBLOCK, "operation would block")                       \
    X(EBUSY, -EBUSY, "another task is already using this resource")             \
    X(ENOMEM, -ENOMEM, "out of memory")                                         \
    X(EINVAL, -EINVAL, "invalid argument")                                      \
    X(EALREADY, -EALREADY, "already done: this may happen only once")          \
    X(EINTR, -EINTR, "interrupted")

enum tr_error_code {
#define TR__ENUM(name, value, text) name = value,
    TR_ERRORS_OWN(TR__ENUM)
#undef TR__ENUM
};

/* The name and meaning of any code ctrio returns ("ECANCELED: cancelled");
 * for other negative errno values, strerror's text. Never NULL; the string is
 * static. */
TR_API const char *tr_strerror(int code);

/* The symbolic name of a code ("ECANCELED", "TR_EDEADLOCK", and on glibc any
 * errno name such as "EIO"), or NULL when the code has none. */
TR_API const char *tr_error_name(int code);

/* ------------------------------------------------------------------------ */
/* Seams: clock and scheduler policy                                         */
/* ------------------------------------------------------------------------ */

typedef struct tr_task tr_task;

/* A clock, as Trio's trio.abc.Clock. The run calls these from its own
 * thread only. */
typedef struct tr_clock {
    /* Called once when the run starts. May be NULL. */
    void (*start)(void *ctx);
    /* The current time on this clock. */
    tr_time (*now)(void *ctx);
    /* No task is runnable and the earliest deadline is `deadline` (TR_INF:
     * none). Return how long the loop may wait for I/O in real time (0: do
     * not wait, TR_INF: wait until I/O arrives). A virtual clock may advance
     * its time here (autojump). */
    tr_duration (*deadline_to_sleep_time)(void *ctx, tr_time deadline);
    /* Called when no task can ever run again: nothing runnable, no deadline,
     * no I/O that could arrive, no clock hold. Return true to end the run
     * with TR_EDEADLOCK (after a report of the task tree and a cancellation
     * of every task); false (or a NULL hook) to wait forever, as production
     * code does. */
    bool (*hang_is_error)(void *ctx);
    /* Autojump (optional, both or neither): the real time the loop must stay
     * idle (no runnable task) before virtual time jumps to the next deadline,
     * TR_INF for never, 0 for at once. Asked every time the loop goes idle,
     * so a change applies from the next idle period on. While any task waits
     * in tr_wait_all_tasks_blocked there is no autojump (as in Trio): the
     * waiters wake after their cushion first. */
    tr_duration (*autojump_threshold)(void *ctx);
    /* Move virtual time forward to `deadline`: the loop stayed idle for the
     * threshold, with no clock hold. `cause` says which deadline (a task's
     * sleep, a scope's deadline) for the clock's jump log. */
    void (*autojump)(void *ctx, tr_time deadline, const char *cause);
} tr_clock;

/* The system clock: CLOCK_MONOTONIC, never a hang error. */
TR_API extern const tr_clock tr_system_clock;

/* A scheduler policy decides the order in which a batch of runnable tasks
 * runs. Each batch holds every task that became runnable before the batch
 * started; a task made runnable during a batch runs in the next one. */
typedef struct tr_sched_policy {
    /* Permute batch[0..n) in place. Called for every batch, even of one task,
     * so a policy sees every step (a simulator counts and hashes them). NULL
     * keeps FIFO order. */
    void (*order_batch)(void *ctx, tr_task **batch, size_t n);
} tr_sched_policy;

/* ------------------------------------------------------------------------ */
/* Run                                                                       */
/* ------------------------------------------------------------------------ */

typedef int (*tr_task_fn)(void *arg);

/* realloc-style allocator: size 0 frees ptr and returns NULL; otherwise it
 * returns a block of `size` bytes (ptr NULL: new) or NULL when out of
 * memory. */
typedef void *(*tr_alloc_fn)(void *ctx, void *ptr, size_t size);

/* Options of one run; zero means "default" for every field, so the struct
 * can grow. */
typedef struct tr_run_opts {
    const tr_clock *clock;        /* NULL: tr_system_clock */
    void *clock_ctx;              /* passed to every clock hook */
    const tr_sched_policy *policy; /* NULL: FIFO */
    void *policy_ctx;             /* passed to every policy hook */
    tr_alloc_fn alloc;            /* NULL: libc realloc/free */
    void *alloc_ctx;              /* passed to alloc */
    size_t stack_size_bytes;      /* 0: TR_DEFAULT_STACK_SIZE */
    const char *main_name;        /* NULL: "main" */
    FILE *report;                 /* where a failure report goes; NULL: stderr */
    bool quiet;                   /* true: print no failure report */
    /* Signals (see ctrio/thread.h). By default a run on the process's main
     * signal disposition turns SIGINT into the cancellation of every task and
     * tr_run returns -EINTR after a report (Trio's KeyboardInterrupt); true
     * leaves SIGINT alone. */
    bool leave_sigint;
    /* true: SIGQUIT (Ctrl-\) prints tr_dump_tasks to stderr and the run goes
     * on (opt-in: SIGQUIT otherwise keeps its default, a core dump). */
    bool dump_on_sigquit;
    /* Instruments installed before the run starts (they see before_run);
     * see ctrio/instrument.h. */
    struct tr_instrument *const *instruments;
    size_t n_instruments;
} tr_run_opts;

/* Default usable stack size of a task. Each stack is reserved in virtual
 * memory; only the pages a task touches cost RAM (a task blocked right away
 * costs one page). Under AddressSanitizer the default is 4x larger. */
#define TR_DEFAULT_STACK_SIZE ((size_t)64 * 1024)

/* Runs main(arg) as the first task of a new run and returns when every task
 * of the run has exited. Returns main's result, or:
 *   -EINVAL  main is NULL (nothing ran);
 *   -ENOMEM  the run could not be set up (nothing ran);
 *   TR_EDEADLOCK  the clock declared a hang (see tr_clock.hang_is_error).
 * When the result is a failure (< 0) that carries task failures, a report
 * with one block per failed task goes to opts->report unless opts->quiet.
 * Not a checkpoint. tr_run may not be called from inside a run on the same
 * thread (that aborts); two threads may each run their own. Everything the
 * run allocated is freed before it returns. */
TR_API int tr_run(tr_task_fn main, void *arg, const tr_run_opts *opts);

/* ------------------------------------------------------------------------ */
/* Checkpoints, sleeping and time (task only)                               */
/* ------------------------------------------------------------------------ */

/* Call-site capture for blocking calls (and scope entry and exit): the
 * macros below record file:line in the current thread before the call, so a
 * misuse abort and a task dump can name the line. Each such call has two
 * entries: the macro calls TR__AT(name), and the function called by its
 * address (or with the macro #undef'd) records that no site is known, so a
 * report never names the line of an earlier call. A call that blocks goes
 * on under its own site when its task runs again, and a misuse abort names
 * the site only when it was recorded for the call that aborts. With GCC and
 * clang the record is one store of a pointer to a static tr__site; other
 * compilers record nothing (tr__site_at stays NULL). */
#ifdef __cplusplus
#define TR__THREAD_LOCAL thread_local
#else
#define TR__THREAD_LOCAL _Thread_local
#endif
/* The initial-exec model: one instruction per access instead of a call to
 * __tls_get_addr when ctrio is a shared library (the variables are small,
 * so even a dlopen'ed libctrio fits in glibc's static TLS reserve). */
#if defined(__GNUC__) || defined(__clang__)
#define TR__TLS_MODEL __attribute__((tls_model("initial-exec")))
#else
#define TR__TLS_MODEL
#endif
typedef struct tr__site {
    const char *file;
    int line;
    const char *call; /* the call it was recorded for */
} tr__site;
TR_API extern TR__THREAD_LOCAL const tr__site *tr__site_at TR__TLS_MODEL;
#if defined(__GNUC__) || defined(__clang__)
#define TR__SITE(name)                                                                  \
    __extension__({                                                                     \
        static const tr__site tr__site_here_ = {__FILE__, __LINE__, #name};             \
        tr__site_at = &tr__site_here_;                                                  \
    })
#else
#define TR__SITE(name) ((void)(tr__site_at = 0)) /* (no stale site from another call) */
#endif
/* The entry a call's macro calls: it leaves the recorded site in place. */
#define TR__AT(name) tr__at_##name

#include "ctrio/hop.h"

/* A schedule point and cancel point: = trio.sleep(0). Returns 0 or
 * -ECANCELED. */
TR_API TR_NODISCARD int tr_checkpoint(void);
TR_API TR_NODISCARD int TR__AT(tr_checkpoint)(void);
#if defined(TR__HOP_INLINE)
#define tr_checkpoint() (TR__SITE(tr_checkpoint), tr__checkpoint_inline())
#else
#define tr_checkpoint() (TR__SITE(tr_checkpoint), TR__AT(tr_checkpoint)())
#endif

/* Returns -ECANCELED (after a schedule point) if the task is cancelled,
 * otherwise 0 immediately without a schedule point. */
TR_API TR_NODISCARD int tr_checkpoint_if_cancelled(void);
TR_API TR_NODISCARD int TR__AT(tr_checkpoint_if_cancelled)(void);
#define tr_checkpoint_if_cancelled()                                                    \
    (TR__SITE(tr_checkpoint_if_cancelled), TR__AT(tr_checkpoint_if_cancelled)())

/* A schedule point that is never a cancel point. Always returns 0. */
TR_API int tr_cancel_shielded_checkpoint(void);
TR_API int TR__AT(tr_cancel_shielded_checkpoint)(void);
#define tr_cancel_shielded_checkpoint()                                                 \
    (TR__SITE(tr_cancel_shielded_checkpoint), TR__AT(tr_cancel_shielded_checkpoint)())

/* Sleep for d (a checkpoint even for d == 0). 0 when the time is up,
 * -ECANCELED if cancelled first, -EINVAL for d < 0. */
TR_API TR_NODISCARD int tr_sleep(tr_duration d);
TR_API TR_NODISCARD int TR__AT(tr_sleep)(tr_duration d);
#define tr_sleep(d) (TR__SITE(tr_sleep), TR__AT(tr_sleep)(d))

/* Sleep until the clock reads t (a checkpoint even when t has passed).
 * 0 or -ECANCELED. */
TR_API TR_NODISCARD int tr_sleep_until(tr_time t);
TR_API TR_NODISCARD int TR__AT(tr_sleep_until)(tr_time t);
#define tr_sleep_until(t) (TR__SITE(tr_sleep_until), TR__AT(tr_sleep_until)(t))

/* Sleep until cancelled: always returns -ECANCELED. */
TR_API TR_NODISCARD int tr_sleep_forever(void);
TR_API TR_NODISCARD int TR__AT(tr_sleep_forever)(void);
#define tr_sleep_forever() (TR__SITE(tr_sleep_forever), TR__AT(tr_sleep_forever)())

/* The run's clock now. Not a checkpoint. */
TR_API tr_time tr_current_time(void);

/* The earliest deadline among the current task's enclosing scopes up to the
 * innermost shield; -TR_INF if the task is already cancelled; TR_INF if
 * none. Not a checkpoint. */
TR_API tr_time tr_current_effective_deadline(void);

/* ------------------------------------------------------------------------ */
/* Testing support in the run loop                                           */
/* ------------------------------------------------------------------------ */

/* Block until every other task of the run is blocked and has been for
 * `cushion` of real time (0: as soon as nothing else is runnable). Waiters
 * with the smallest cushion wake first (ties: in the order they waited), and
 * before any autojump of a virtual clock. Checkpoint. 0, -ECANCELED,
 * -EINVAL (cushion < 0). */
TR_API TR_NODISCARD int tr_wait_all_tasks_blocked(tr_duration cushion);
TR_API TR_NODISCARD int TR__AT(tr_wait_all_tasks_blocked)(tr_duration cushion);
#define tr_wait_all_tasks_blocked(c)                                                    \
    (TR__SITE(tr_wait_all_tasks_blocked), TR__AT(tr_wait_all_tasks_blocked)(c))

/* Hold the clock: while a hold is out, a virtual clock does not autojump
 * and the run is not declared hung, because work outside the loop's
 * knowledge (a worker thread, real I/O) may still make a task runnable.
 * Holds nest; every hold needs one release. Task only; not checkpoints. */
TR_API void tr_clock_hold(void);
TR_API void tr_clock_release(void);

/* ------------------------------------------------------------------------ */
/* Tasks                                                                     */
/* ------------------------------------------------------------------------ */

/* The running task (NULL outside a run). */
TR_API tr_task *tr_current_task(void);
/* A task's name (the function's name unless set at spawn). */
TR_API const char *tr_task_name(const tr_task *t);
/* A task's id: 1 for main, then sequential in spawn order, per run. */
TR_API uint64_t tr_task_id(const tr_task *t);
/* The task that opened the nursery this task runs in (NULL for main and
 * system tasks). */
TR_API tr_task *tr_task_parent(const tr_task *t);

/* Records a message for the current task's failure and returns code, so
 * `return tr_fail(-EIO, "read %s", path);` fails the task with a report that
 * says which task failed, with what and why. The message is truncated to
 * TR_FAIL_MESSAGE_MAX - 1 bytes. Task only; not a checkpoint. */
#define TR_FAIL_MESSAGE_MAX 160
TR_API int tr_fail(int code, const char *fmt, ...) TR_PRINTF(2, 3);

/* ------------------------------------------------------------------------ */
/* Cancel scopes                                                             */
/* ------------------------------------------------------------------------ */

/* Caller-allocated (on the task's stack, usually); treat as opaque. */
typedef struct tr_cancel_scope {
    TR__ALIGNAS(16) unsigned char tr__opaque[160];
} tr_cancel_scope;

/* Prepare a scope without entering it, so that it can be cancelled, given a
 * deadline or a shield before tr_scope_enter_prepared. Not a checkpoint. */
TR_API void tr_scope_prepare(tr_cancel_scope *cs);
/* Enter a prepared scope in the current task. Task only. */
TR_API void tr_scope_enter_prepared(tr_cancel_scope *cs);

/* Prepare and enter a scope with a deadline (TR_INF: none). Task only; not a
 * checkpoint. */
TR_API void tr_scope_enter(tr_cancel_scope *cs, tr_time deadline);
TR_API void TR__AT(tr_scope_enter)(tr_cancel_scope *cs, tr_time deadline);
#define tr_scope_enter(cs, d) (TR__SITE(tr_scope_enter), TR__AT(tr_scope_enter)((cs), (d)))
/* Enter a scope cancelled d from now (move_on_after). -EINVAL (and nothing
 * entered) for d < 0. */
TR_API TR_NODISCARD int tr_move_on_after(tr_cancel_scope *cs, tr_duration d);
/* Enter a scope cancelled at t. Always 0. */
TR_API int tr_move_on_at(tr_cancel_scope *cs, tr_time t);
/* As move_on_after/at, but tr_scope_exit turns an absorbed cancellation into
 * -ETIMEDOUT (Trio's fail_after / TooSlowError). */
TR_API TR_NODISCARD int tr_fail_after(tr_cancel_scope *cs, tr_duration d);
TR_API int tr_fail_at(tr_cancel_scope *cs, tr_time t);

/* Leave the scope; rc is the result of the work done inside it. The scope
 * absorbs a cancellation (-ECANCELED -> 0, or -ETIMEDOUT for fail_*) when it
 * is cancelled itself and no enclosing scope's cancellation reaches through
 * it; any other rc is returned unchanged. The scope must be the task's
 * innermost (exiting out of order aborts). Not a checkpoint. */
TR_API int tr_scope_exit(tr_cancel_scope *cs, int rc);
TR_API int TR__AT(tr_scope_exit)(tr_cancel_scope *cs, int rc);
#define tr_scope_exit(cs, rc) (TR__SITE(tr_scope_exit), TR__AT(tr_scope_exit)((cs), (rc)))

/* Cancel the scope: from any task of the run, before or after entry;
 * idempotent. Blocked tasks inside wake with -ECANCELED. Not a checkpoint. */
TR_API void tr_scope_cancel(tr_cancel_scope *cs);
/* Move the deadline (earlier or later, TR_INF for none). A deadline in the
 * past cancels at once. */
TR_API void tr_scope_set_deadline(tr_cancel_scope *cs, tr_time deadline);
TR_API tr_time tr_scope_deadline(const tr_cancel_scope *cs);
/* Shield the inside from enclosing cancellations. Removing a shield wakes a
 * blocked task that is now cancelled. */
TR_API void tr_scope_set_shield(tr_cancel_scope *cs, bool shield);
TR_API bool tr_scope_shield(const tr_cancel_scope *cs);
/* True once the scope was cancelled (by call or by its deadline). */
TR_API bool tr_scope_cancel_called(const tr_cancel_scope *cs);
/* True when tr_scope_exit absorbed a cancellation. */
TR_API bool tr_scope_cancelled_caught(const tr_cancel_scope *cs);

/* ------------------------------------------------------------------------ */
/* Nurseries                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct tr_nursery {
    TR__ALIGNAS(16) unsigned char tr__opaque[320];
} tr_nursery;

/* One failed task, as kept by a nursery and printed by tr_run. The list is
 * owned by the task that joined the nursery; it stays valid until that task
 * exits (or, for the main task, until tr_run returns). */
typedef struct tr_failure {
    const struct tr_failure *next;     /* next failure of the same nursery */
    const struct tr_failure *children; /* failures this task's nurseries passed up */
    const char *task_name;             /* copied at failure time */
    uint64_t task_id;                  /* tr_task_id of the failed task */
    int code;                          /* what it returned */
    const char *message;               /* its tr_fail message, or "" */
} tr_failure;

/* Open a nursery in the current task; its scope becomes the task's innermost
 * scope. Task only; not a checkpoint; cannot fail. */
TR_API void tr_nursery_open(tr_nursery *n);

/* Spawn options; zero means "default" for every field. */
typedef struct tr_spawn_opts {
    const char *name;         /* must outlive the task; NULL: "task" */
    size_t stack_size_bytes;  /* 0: the run's stack size */
    const void *copy;         /* bytes copied into the task; fn's arg then points at them */
    size_t copy_size;         /* how many (at most a quarter of the stack) */
} tr_spawn_opts;

/* Start fn(arg) as a child of n; it runs from the next batch on. Not a
 * checkpoint. 0, or TR_ENURSERYCLOSED (n was joined), -ENOMEM, -EINVAL
 * (copy_size too large). A call that fails runs nothing. */
TR_API int tr_spawn(tr_nursery *n, tr_task_fn fn, void *arg, const tr_spawn_opts *opts);
/* tr_spawn with the function's name as the task's name. */
#define tr_start_soon(n, fn, arg) tr__spawn_named((n), (fn), (arg), #fn, NULL, 0)
/* tr_spawn with *args copied into the task (fn gets a pointer to the copy). */
#define tr_start_soon_copy(n, fn, args, size)                                         \
    tr__spawn_named((n), (fn), NULL, #fn, (args), (size))
/* The macros' options, built here rather than as a compound literal (which
 * C++ has not). */
static inline int tr__spawn_named(tr_nursery *n, tr_task_fn fn, void *arg, const char *name,
                                  const void *copy, size_t copy_size) {
    tr_spawn_opts o = {name, 0, copy, copy_size}; /* (every field: C++ warns of fewer) */
    return tr_spawn(n, fn, arg, &o);
}

/* Start fn(arg) and wait until it calls tr_started(value): the child runs
 * under the caller's scopes until then, and then moves into n (its
 * cancellation is re-checked at that moment). Checkpoint (except when it
 * fails at once with TR_ENURSERYCLOSED, starting nothing). Returns 0 and
 * stores the value in *value_out (if not NULL); or the child's failure if it
 * failed before tr_started; TR_ENOTSTARTED if it returned without calling
 * it; TR_ENURSERYCLOSED, -ENOMEM, -EINVAL as tr_spawn; -ECANCELED. A pending
 * start keeps n open. */
TR_API TR_NODISCARD int tr_start_spawn(tr_nursery *n, tr_task_fn fn, void *arg,
                                       const tr_spawn_opts *opts, void **value_out);
TR_API TR_NODISCARD int TR__AT(tr_start_spawn)(tr_nursery *n, tr_task_fn fn, void *arg,
                                               const tr_spawn_opts *opts, void **value_out);
#define tr_start(n, fn, arg, value_out)                                                 \
    (TR__SITE(tr_start), tr__start_named((n), (fn), (arg), #fn, (value_out)))
static inline TR_NODISCARD int tr__start_named(tr_nursery *n, tr_task_fn fn, void *arg,
                                               const char *name, void **value_out) {
    tr_spawn_opts o = {name, 0, NULL, 0}; /* (as tr__spawn_named) */
    return TR__AT(tr_start_spawn)(n, fn, arg, &o, value_out);
}

/* Called by a task started with tr_start: hands value to the starter and
 * moves this task into the target nursery. 0; -EALREADY when called twice;
 * -EINVAL when the task was not started with tr_start. Not a checkpoint. */
TR_API int tr_started(void *value);

/* Close the nursery: wait until every child (and pending start) has exited,
 * then leave the nursery's scope. body_rc is the result of the code that ran
 * inside the nursery: a failure (< 0) cancels the children as a failing
 * child would. Returns the first real failure (the body's or a child's);
 * otherwise -ECANCELED if a cancellation reached the nursery and its scope
 * did not absorb it; otherwise body_rc (0 or a positive result of the body,
 * passed through). Every failure is kept: see
 * tr_nursery_failures. Checkpoint (a schedule point always; a cancel point
 * while children remain, where cancellation is passed on to them). */
TR_API TR_NODISCARD int tr_nursery_join(tr_nursery *n, int body_rc);
TR_API TR_NODISCARD int TR__AT(tr_nursery_join)(tr_nursery *n, int body_rc);
#define tr_nursery_join(n, rc) (TR__SITE(tr_nursery_join), TR__AT(tr_nursery_join)((n), (rc)))

/* Cancel every task in the nursery (its scope). Not a checkpoint. */
TR_API void tr_nursery_cancel(tr_nursery *n);
/* After join: true when the nursery's own scope absorbed a cancellation
 * (Trio's nursery.cancel_scope.cancelled_caught): join returned 0, but the
 * work inside was cut short. */
TR_API bool tr_nursery_cancelled_caught(const tr_nursery *n);

/* After join: the failed children, first failure first (NULL: none), and how
 * many failures could not be recorded for lack of memory (their codes still
 * count for join's result). */
TR_API const tr_failure *tr_nursery_failures(const tr_nursery *n);
TR_API size_t tr_nursery_failures_lost(const tr_nursery *n);

/* Spawn a system task: not a child of main, cancelled when main exits; its
 * failure ends the run like main's. Task only; not a checkpoint. */
TR_API int tr_spawn_system_task(tr_task_fn fn, void *arg, const char *name);

/* ------------------------------------------------------------------------ */
/* Task-local storage (Trio's contextvars)                                   */
/* ------------------------------------------------------------------------ */

/* A key: define one per variable with static storage. A child task starts
 * with its parent's values at spawn; later changes on either side are not
 * seen by the other. */
typedef struct tr_task_local {
    const char *name;    /* for diagnostics */
    void *default_value; /* what get returns when nothing was set */
} tr_task_local;
#define TR_TASK_LOCAL(var, default_value) tr_task_local var = {#var, (default_value)}

/* The current task's value for key. Task only. */
TR_API void *tr_task_local_get(const tr_task_local *key);
/* Set the current task's value. 0 or -ENOMEM. Task only. */
TR_API int tr_task_local_set(const tr_task_local *key, void *value);

/* ------------------------------------------------------------------------ */
/* Low level: blocking and waking (for building new primitives)             */
/* ------------------------------------------------------------------------ */

enum { TR_ABORT_FAILED = 0, TR_ABORT_SUCCEEDED = 1 };

/* Called exactly once, synchronously, when cancellation reaches a task
 * blocked in tr_wait_task_rescheduled. Return TR_ABORT_SUCCEEDED after
 * undoing the registration that would have woken the task (the task then
 * wakes with -ECANCELED), or TR_ABORT_FAILED to keep it asleep until
 * something calls tr_reschedule. */
typedef int (*tr_abort_fn)(void *ctx, tr_task *task);

/* Block the current task until tr_reschedule(task, value) and return value
 * (or -ECANCELED if abort_fn agreed to a cancellation). If the task is
 * already cancelled, abort_fn runs at once. A schedule point always. Task
 * only. */
TR_API int tr_wait_task_rescheduled(tr_abort_fn abort_fn, void *ctx);
TR_API int TR__AT(tr_wait_task_rescheduled)(tr_abort_fn abort_fn, void *ctx);
#define tr_wait_task_rescheduled(f, c)                                                  \
    (TR__SITE(tr_wait_task_rescheduled), TR__AT(tr_wait_task_rescheduled)((f), (c)))

/* Make a task blocked in tr_wait_task_rescheduled runnable; it will return
 * value. Rescheduling a task that is not blocked is a bug and aborts. Not a
 * checkpoint; callable from any task of the run. */
TR_API void tr_reschedule(tr_task *task, int value);

#ifdef __cplusplus
}
#endif

/* The rest of core's API, one header per area. */
#include "ctrio/sync.h"
#include "ctrio/channel.h"
#include "ctrio/io.h"
#include "ctrio/thread.h"
#include "ctrio/instrument.h"

#endif /* CTRIO_H */
