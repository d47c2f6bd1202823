/* ctrio testing helpers: Trio's trio.testing.Sequencer and
 * assert_checkpoints / assert_no_checkpoints, in C. (The run-loop side of
 * Trio's testing support, tr_wait_all_tasks_blocked and clock holds, is in
 * <ctrio.h>; the mock clock is in <ctrio/autojump.h>; Check integration in
 * <ctrio/check.h>.)
 *
 * Include it after, or instead of, <ctrio.h>: it includes <ctrio.h>. */
#ifndef CTRIO_TESTING_H
#define CTRIO_TESTING_H

#include <ctrio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Sequencer: force tasks to run in a given order                           */
/* ------------------------------------------------------------------------ */

/* A sequencer (trio.testing.Sequencer): positions 0, 1, 2, ... each run in
 * turn, whatever order the tasks that claim them are scheduled in:
 *
 *     rc = tr_sequencer_wait(&seq, 2);     blocks until 0 and 1 are done
 *     if (rc < 0) return rc;
 *     ... the code at position 2 ...
 *     tr_sequencer_done(&seq, 2);          lets position 3 go
 *
 * Each position may be claimed once. A wait that is cancelled breaks the
 * sequencer for everyone (a test whose order is broken cannot go on): that
 * waiter and every other waiter, now and later, get TR_EBROKEN.
 *
 * Caller-allocated; all-zero bytes (`= {0}`, static storage) or
 * tr_sequencer_init make a fresh one. Allocates nothing. Belongs to one run:
 * it must stay where it is while a task waits on it. Treat the fields as
 * private. */
typedef struct tr_sequencer {
    int tr__released;     /* positions below it are done; it may run */
    bool tr__running;     /* position tr__released is claimed and not done */
    bool tr__broken;      /* a cancelled wait broke the sequence */
    struct tr__seq_waiter *tr__waiters; /* blocked claims, on their stacks */
} tr_sequencer;

/* Make seq fresh. Not a checkpoint; callable anywhere. */
TR_API void tr_sequencer_init(tr_sequencer *seq);

/* Claim position n and block until positions 0..n-1 are done. Task only.
 * Checkpoint for n > 0 (a schedule point even when it need not block);
 * position 0 never blocks and is not a checkpoint, as in Trio. Returns
 *   0            the caller holds position n: call tr_sequencer_done(seq, n);
 *   -EALREADY    n was claimed before (a bug in the test);
 *   TR_EBROKEN   the sequencer is broken: this wait was cancelled (that is
 *                what broke it; the task's failure message says so) or
 *                another one was;
 *   -EINVAL      n < 0.
 * After a failure the caller holds nothing and must not call done. */
TR_API TR_NODISCARD int tr_sequencer_wait(tr_sequencer *seq, int n);
TR_API TR_NODISCARD int TR__AT(tr_sequencer_wait)(tr_sequencer *seq, int n);
#define tr_sequencer_wait(s, n) (TR__SITE(tr_sequencer_wait), TR__AT(tr_sequencer_wait)((s), (n)))

/* Position n is done (n must be the position the caller holds): position
 * n + 1 may run. Call it on every path after a successful wait, failures
 * included (Trio's `finally`). 0, or -EINVAL when n is not the position
 * running now (on a broken sequencer: 0, nothing to do). Not a
 * checkpoint. */
TR_API int tr_sequencer_done(tr_sequencer *seq, int n);

/* ------------------------------------------------------------------------ */
/* Checkpoint assertions                                                     */
/* ------------------------------------------------------------------------ */

/* The code a failed assertion returns. */
#define TR_ASSERT_FAILED TR_EASSERT

/* Run a statement in the current task and check that it passed at least
 * one checkpoint (TR_ASSERT_CHECKPOINTS) or none at all
 * (TR_ASSERT_NO_CHECKPOINTS). As in Trio, a checkpoint means both a
 * schedule point and a cancel point: tr_cancel_shielded_checkpoint (a
 * schedule point only) and an uncancelled tr_checkpoint_if_cancelled (a
 * cancel point only) satisfy neither macro. On failure the enclosing
 * function (a task function or any function returning int) returns
 * TR_ASSERT_FAILED after tr_fail recorded
 * "check_x.c:42: TR_ASSERT_CHECKPOINTS(stmt): no checkpoint (...)" (the
 * file's base name), so the task fails with the site in its report:
 *
 *     TR_ASSERT_CHECKPOINTS(rc = tr_sleep(0));
 *     TR_ASSERT_NO_CHECKPOINTS(tr_event_set(&ev));
 *
 * The statement may contain commas. Task only. */
#define TR_ASSERT_CHECKPOINTS(...) TR__ASSERT_CHECKPOINTS_IMPL(true, #__VA_ARGS__, __VA_ARGS__)
#define TR_ASSERT_NO_CHECKPOINTS(...) TR__ASSERT_CHECKPOINTS_IMPL(false, #__VA_ARGS__, __VA_ARGS__)

/* Internals of the two macros: the current task's counts, and the check
 * that reports a failure (returns 0 or TR_ASSERT_FAILED). */
typedef struct tr__checkpoint_snapshot {
    uint64_t schedule_points; /* times the task offered a schedule point */
    uint64_t cancel_points;   /* times it checked for cancellation */
} tr__checkpoint_snapshot;
TR_API tr__checkpoint_snapshot tr__checkpoints_now(void);
TR_API int tr__assert_checkpoints(tr__checkpoint_snapshot before, bool expected,
                                  const char *file, int line, const char *stmt);
#define TR__ASSERT_CHECKPOINTS_IMPL(expected, text, ...)                                 \
    do {                                                                                 \
        tr__checkpoint_snapshot tr__cp_before_ = tr__checkpoints_now();                  \
        __VA_ARGS__;                                                                     \
        if (tr__assert_checkpoints(tr__cp_before_, (expected), __FILE__, __LINE__, text)) \
            return TR_ASSERT_FAILED;                                                     \
    } while (0)

#ifdef __cplusplus
}
#endif

#endif /* CTRIO_TESTING_H */
