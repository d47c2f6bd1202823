/* ctrio instruments and introspection: trio.abc.Instrument,
 * trio.lowlevel.current_statistics, and a task-tree dump.
 *
 * Included by <ctrio.h>; do not include it on its own.
 */
#ifndef CTRIO_INSTRUMENT_H
#define CTRIO_INSTRUMENT_H

#ifdef __cplusplus
extern "C" {
#endif

/* The hooks, in Trio's order, as one list (name, parameters). Every hook
 * runs in the run's thread, synchronously; it must not block or call a
 * checkpoint. A task passed to a hook is valid during the call only.
 *   before_run        the run starts (before main is spawned)
 *   after_run         every task has exited
 *   task_spawned      a task was created (then it is scheduled)
 *   task_scheduled    a task became runnable
 *   before_task_step  the task is about to run, until it next switches away
 *   after_task_step   the task switched away (blocked, yielded or exited)
 *   task_exited       the task returned (before its after_task_step)
 *   before_io_wait    the loop is about to wait for I/O for up to timeout
 *                     ns (0: a quick check; TR_INF: no deadline)
 *   after_io_wait     the wait is over (same timeout) */
#define TR_INSTRUMENT_HOOKS(X)                                                  \
    X(before_run, (void *ctx))                                                  \
    X(after_run, (void *ctx))                                                   \
    X(task_spawned, (void *ctx, tr_task *task))                                 \
    X(task_scheduled, (void *ctx, tr_task *task))                               \
    X(before_task_step, (void *ctx, tr_task *task))                             \
    X(after_task_step, (void *ctx, tr_task *task))                              \
    X(task_exited, (void *ctx, tr_task *task))                                  \
    X(before_io_wait, (void *ctx, tr_duration timeout))                         \
    X(after_io_wait, (void *ctx, tr_duration timeout))

/* An instrument: any hook may be NULL. Caller-allocated; it must stay valid
 * while installed. */
typedef struct tr_instrument {
#define TR__HOOK_FIELD(name, params) void(*name) params;
    TR_INSTRUMENT_HOOKS(TR__HOOK_FIELD)
#undef TR__HOOK_FIELD
    void *ctx; /* passed to every hook */
} tr_instrument;

/* Install an instrument in the current run; it sees every event from now on
 * (instruments added at tr_run through tr_run_opts.instruments also see
 * before_run). Hooks of several instruments run in the order they were
 * added. 0; -EALREADY (already installed); -ENOMEM. Not a checkpoint; may
 * be called from a task or from a hook. */
TR_API int tr_add_instrument(tr_instrument *ins);

/* Uninstall it: it sees no later event (not even after_run). 0, or -EINVAL
 * when it is not installed (for instance removed twice). Not a checkpoint;
 * may be called from a task or from a hook. */
TR_API int tr_remove_instrument(tr_instrument *ins);

/* A ready instrument that prints every event to f (NULL: stdout) in the
 * format of the Trio tutorial's Tracer ("### new task spawned: parent",
 * ">>> about to run one step of task: parent", ...). Durations are in
 * seconds on the run's clock. The returned instrument is static storage
 * shared by the thread: install it in one run at a time. */
TR_API tr_instrument *tr_tracer(FILE *f);

/* ------------------------------------------------------------------------ */
/* Statistics and the task dump                                              */
/* ------------------------------------------------------------------------ */

/* trio.lowlevel.current_statistics(). */
typedef struct tr_statistics {
    size_t tasks_living;          /* tasks spawned that have not exited */
    size_t tasks_runnable;        /* tasks ready to run in the next batch */
    tr_duration to_next_deadline; /* ns until the earliest deadline; TR_INF: none */
    size_t run_sync_soon_queue_size; /* callbacks queued by tr_token_run_sync_soon */
    struct {
        const char *backend;      /* "epoll", "poll" or "kqueue" */
        size_t tasks_waiting_read;  /* tasks in tr_wait_readable */
        size_t tasks_waiting_write; /* tasks in tr_wait_writable */
    } io;
} tr_statistics;

/* Fill *out for the current run. Task only; not a checkpoint. */
TR_API void tr_current_statistics(tr_statistics *out);

/* Print the current run's task tree to f: every nursery with its tasks,
 * each task's name, id, state, what it is blocked on (fd, sleep, other) and
 * the call site (file:line) of the blocking call, its pending deadlines and
 * the cancelled scopes it has not unwound yet. With
 * tr_run_opts.dump_on_sigquit, SIGQUIT prints the same to stderr from the
 * loop. Call from a task (or a hook) of the run. */
TR_API void tr_dump_tasks(FILE *f);

#ifdef __cplusplus
}
#endif

#endif /* CTRIO_INSTRUMENT_H */
