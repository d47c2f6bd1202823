/* ctrio and threads: waking a run from another thread (trio.lowlevel's
 * TrioToken.run_sync_soon), running blocking work on worker threads
 * (trio.to_thread.run_sync) and calling back into the run from a worker
 * (trio.from_thread.run).
 *
 * Included by <ctrio.h>; do not include it on its own.
 */
#ifndef CTRIO_THREAD_H
#define CTRIO_THREAD_H

#ifdef __cplusplus
extern "C" {
#endif

/* A handle on one run, usable from any thread. A plain value: copy it,
 * keep it as long as you like; it never needs freeing, and once its run has
 * ended every call with it fails with -ESHUTDOWN (it never points at freed
 * memory). The zero value refers to no run. */
typedef struct tr_token {
    uint64_t tr__id; /* the run's process-wide id; 0: none */
} tr_token;

/* The current run's token. Task only; not a checkpoint. */
TR_API tr_token tr_current_token(void);

/* Queue fn(arg) to run in the run's own thread, soon, outside any task
 * (between batches: fn may call tr_reschedule, tr_scope_cancel, tr_event_set
 * and other non-blocking calls, but no checkpoint). Callable from any thread
 * (not from a signal handler: it takes a mutex). Callbacks run in the order
 * they were queued (FIFO across all threads: two calls made one after the
 * other by one thread run in that order). The loop is woken (eventfd, or a
 * pipe where there is none) if it sleeps.
 * Returns 0; -ESHUTDOWN when the token's run has ended or is ending (fn will
 * never run); -EINVAL for a zero token; -ENOMEM. Callbacks still queued when
 * the run ends are dropped without being called. */
TR_API int tr_token_run_sync_soon(tr_token token, void (*fn)(void *arg), void *arg);

/* A function run on a worker thread. */
typedef void *(*tr_thread_fn)(void *arg);

/* Options of tr_to_thread_run_sync; zero means "default". */
typedef struct tr_to_thread_opts {
    /* Bounds how many workers this call may share; NULL: the run's default
     * limiter of 40 threads (trio.to_thread.current_default_thread_limiter). */
    tr_capacity_limiter *limiter;
    /* false (default): cancellation waits for fn to finish and the call
     * returns its result (the thread cannot be interrupted). true: on
     * cancellation the call returns -ECANCELED at once and fn's result, when
     * it comes, is dropped (the thread is abandoned, as Trio's
     * abandon_on_cancel=True). */
    bool cancellable;
} tr_to_thread_opts;

/* Run fn(arg) on a worker thread and wait for it; its return value goes to
 * *result (if result is not NULL). Idle workers are reused (they exit after
 * 10 s without work). While fn runs, the run's clock is held
 * (tr_clock_hold): a virtual clock does not jump under it. fn may call
 * tr_from_thread_run. opts may be NULL. Checkpoint.
 * Returns 0; -ECANCELED (cancelled while waiting for a limiter token, or
 * while fn ran and opts->cancellable); -EAGAIN (no thread could be
 * created); -ENOMEM. Task only. */
TR_API TR_NODISCARD int tr_to_thread_run_sync(tr_thread_fn fn, void *arg, void **result,
                                              const tr_to_thread_opts *opts);
TR_API TR_NODISCARD int TR__AT(tr_to_thread_run_sync)(tr_thread_fn fn, void *arg, void **result,
                                                      const tr_to_thread_opts *opts);
#define tr_to_thread_run_sync(fn, arg, result, opts)                                    \
    (TR__SITE(tr_to_thread_run_sync), TR__AT(tr_to_thread_run_sync)((fn), (arg), (result), (opts)))

/* From a worker thread running a tr_to_thread_run_sync function: run fn(arg)
 * as a new system task of that run (it may block, sleep, do I/O; it is
 * cancelled if the run's main task exits first) and wait for it in this
 * thread. Returns fn's result; -ESHUTDOWN when the run has ended; -EINVAL
 * when called from a thread that is not a ctrio worker; -ENOMEM. */
TR_API int tr_from_thread_run(tr_task_fn fn, void *arg);

/* The number of worker threads alive in the process (busy or idle). */
TR_API size_t tr_thread_pool_size(void);

/* ------------------------------------------------------------------------ */
/* Signals                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct tr_signal_receiver tr_signal_receiver;

/* Catch signals[0..n) and queue them for tr_signal_receive
 * (trio.open_signal_receiver). Signals are delivered in the order they
 * first arrived; a signal that arrives again while still pending is
 * coalesced into the pending one (as Trio's). Each signal may belong to one
 * open receiver at a time. The previous handlers are restored by
 * tr_signal_receiver_close. Task only; not a checkpoint.
 * 0 and *rx; -EINVAL (n == 0, a signal that cannot be caught such as
 * SIGKILL, or one out of range); -EBUSY (a signal belongs to another open
 * receiver); -ENOMEM; a negative errno from pipe or sigaction. */
TR_API int tr_open_signal_receiver(const int *signals, size_t n, tr_signal_receiver **rx);

/* Wait for the next pending signal and store its number in *signum.
 * Checkpoint. 0, -ECANCELED, -EBADF (rx closed). Task only. */
TR_API TR_NODISCARD int tr_signal_receive(tr_signal_receiver *rx, int *signum);
TR_API TR_NODISCARD int TR__AT(tr_signal_receive)(tr_signal_receiver *rx, int *signum);
#define tr_signal_receive(rx, s) (TR__SITE(tr_signal_receive), TR__AT(tr_signal_receive)((rx), (s)))

/* Restore the previous handlers, drop pending signals and free rx. Tasks
 * waiting in tr_signal_receive wake with -EBADF. Task only. */
TR_API void tr_signal_receiver_close(tr_signal_receiver *rx);

#ifdef __cplusplus
}
#endif

#endif /* CTRIO_THREAD_H */
