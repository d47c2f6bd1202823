/* Event, Lock, StrictFIFOLock, Semaphore, Condition and CapacityLimiter,
 * ported from Trio's test_sync.py: FIFO fairness (the ABCABC pattern),
 * hand-off on release, error codes for misuse, condition ordering, limiter
 * resizing, and cancellation that leaves every object untouched. */
#include <check.h>
#include <stdlib.h>

#include "ctrio.h"
#include "ctrio/testing.h"
#include "test_util.h"
#include "vclock.h"

static void run_ok(tr_task_fn fn, void *arg) {
    ck_assert_int_eq(tr_test_run(fn, arg, NULL), 0);
}

static void spawn(tr_nursery *n, tr_task_fn fn, void *arg, const char *name) {
    ck_assert_int_eq(tr_spawn(n, fn, arg, &(tr_spawn_opts){.name = name}), 0);
}

static const char *me(void) { return tr_task_name(tr_current_task()); }

/* Lets every other task run until it blocks. */
static void settle(void) { ck_assert_int_eq(tr_sleep(TR_SEC(1)), 0); }

/* Enters a scope and cancels it at once. */
static void enter_cancelled(tr_cancel_scope *cs) {
    tr_scope_enter(cs, TR_INF);
    tr_scope_cancel(cs);
}

/* ---- Event --------------------------------------------------------------- */

static tr_event ev;

static int event_waiter(void *arg) {
    (void)arg;
    int rc = tr_event_wait(&ev);
    tr_test_logt("%s %d", me(), rc);
    return rc;
}

static int event_main(void *arg) {
    (void)arg;
    tr_event_init(&ev);
    ck_assert(!tr_event_is_set(&ev));
    tr_nursery n;
    tr_nursery_open(&n);
    spawn(&n, event_waiter, NULL, "A");
    spawn(&n, event_waiter, NULL, "B");
    settle();
    tr_event_stats st;
    tr_event_statistics(&ev, &st);
    ck_assert_uint_eq(st.tasks_waiting, 2);
    tr_event_set(&ev);
    tr_event_set(&ev);
    ck_assert(tr_event_is_set(&ev));
    tr_event_statistics(&ev, &st);
    ck_assert_uint_eq(st.tasks_waiting, 0);
    int rc = tr_nursery_join(&n, 0);
    /* Already set: still a schedule point and a cancel point. */
    tr_nursery_open(&n);
    spawn(&n, event_waiter, NULL, "C");
    ck_assert_int_eq(tr_event_wait(&ev), 0);
    tr_test_log("main after wait");
    tr_cancel_scope cs;
    enter_cancelled(&cs);
    ck_assert_int_eq(tr_event_wait(&ev), -ECANCELED);
    ck_assert_int_eq(tr_scope_exit(&cs, -ECANCELED), 0);
    return tr_nursery_join(&n, rc);
}

START_TEST(test_event) {
    tr_test_log_reset();
    run_ok(event_main, NULL);
    ck_assert_str_eq(tr_test_log_str(), "1.000 A 0\n1.000 B 0\nmain after wait\n1.000 C 0\n");
}
END_TEST

static int event_cancel_main(void *arg) {
    (void)arg;
    tr_event_init(&ev);
    tr_cancel_scope cs;
    ck_assert_int_eq(tr_move_on_after(&cs, TR_SEC(2)), 0);
    int rc = tr_event_wait(&ev);
    ck_assert_int_eq(rc, -ECANCELED);
    ck_assert_int_eq(tr_current_time(), TR_SEC(2));
    tr_event_stats st;
    tr_event_statistics(&ev, &st);
    ck_assert_uint_eq(st.tasks_waiting, 0);
    ck_assert(!tr_event_is_set(&ev));
    return tr_scope_exit(&cs, rc);
}

START_TEST(test_event_wait_cancelled) {
    run_ok(event_cancel_main, NULL);
}
END_TEST

/* ---- Fairness: the ABCABC pattern ------------------------------------------ */

enum lock_kind { K_LOCK, K_FIFO_LOCK, K_SEMAPHORE, K_LIMITER, K_CONDITION };

static tr_lock lock;
static tr_strict_fifo_lock fifo_lock;
static tr_semaphore sem;
static tr_capacity_limiter limiter;
static tr_condition cond;

static int lk_acquire(int kind) {
    switch (kind) {
    case K_LOCK: return tr_lock_acquire(&lock);
    case K_FIFO_LOCK: return tr_lock_acquire(&fifo_lock);
    case K_SEMAPHORE: return tr_semaphore_acquire(&sem);
    case K_LIMITER: return tr_capacity_limiter_acquire(&limiter);
    default: return tr_condition_acquire(&cond);
    }
}

static int lk_release(int kind) {
    switch (kind) {
    case K_LOCK: return tr_lock_release(&lock);
    case K_FIFO_LOCK: return tr_lock_release(&fifo_lock);
    case K_SEMAPHORE: return tr_semaphore_release(&sem);
    case K_LIMITER: return tr_capacity_limiter_release(&limiter);
    default: return tr_condition_release(&cond);
    }
}

static void lk_init(int kind) {
    tr_lock_init(&lock);
    tr_lock_init(&fifo_lock);
    ck_assert_int_eq(tr_semaphore_init(&sem, 1, TR_UNBOUNDED), 0);
    tr_capacity_limiter_init(&limiter, 1);
    tr_condition_init(&cond, NULL);
    (void)kind;
}

static int loopy(void *arg) {
    int kind = *(const int *)arg;
    tr_test_log("start %s", me());
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(lk_acquire(kind), 0);
        tr_test_log("%s", me());
        ck_assert_int_eq(lk_release(kind), 0);
    }
    return 0;
}

static int fair_main(void *arg) {
    lk_init(*(int *)arg);
    tr_nursery n;
    tr_nursery_open(&n);
    spawn(&n, loopy, arg, "A");
    spawn(&n, loopy, arg, "B");
    spawn(&n, loopy, arg, "C");
    return tr_nursery_join(&n, 0);
}

START_TEST(test_fair_abcabc) {
    int kind = _i;
    tr_test_log_reset();
    run_ok(fair_main, &kind);
    ck_assert_str_eq(tr_test_log_str(),
                     "start A\nstart B\nstart C\nA\nB\nC\nA\nB\nC\nA\nB\nC\n");
}
END_TEST

/* ---- Lock ----------------------------------------------------------------- */

static tr_task *holder_task;

static int lock_waiter(void *arg) {
    (void)arg;
    ck_assert_int_eq(tr_lock_acquire(&lock), 0);
    tr_test_log("%s got it", me());
    ck_assert_ptr_eq(tr_current_task(), holder_task);
    return tr_lock_release(&lock);
}

static int lock_handoff_main(void *arg) {
    (void)arg;
    tr_lock_init(&lock);
    tr_lock_stats st;
    tr_lock_statistics(&lock, &st);
    ck_assert(!st.locked && !st.owner && st.tasks_waiting == 0);
    ck_assert_int_eq(tr_lock_acquire(&lock), 0);
    ck_assert(tr_lock_locked(&lock));
    ck_assert_int_eq(tr_lock_acquire(&lock), -EDEADLK);
    ck_assert_int_eq(tr_lock_acquire_nowait(&lock), -EDEADLK);
    tr_nursery n;
    tr_nursery_open(&n);
    spawn(&n, lock_waiter, NULL, "B");
    settle();
    tr_lock_statistics(&lock, &st);
    ck_assert(st.locked);
    ck_assert_ptr_eq(st.owner, tr_current_task());
    ck_assert_uint_eq(st.tasks_waiting, 1);
    ck_assert_int_eq(tr_lock_release(&lock), 0);
    /* Handed to B before B even ran: the releaser cannot barge back in. */
    tr_lock_statistics(&lock, &st);
    holder_task = st.owner;
    ck_assert_ptr_nonnull(st.owner);
    ck_assert_str_eq(tr_task_name(st.owner), "B");
    ck_assert_uint_eq(st.tasks_waiting, 0);
    ck_assert_int_eq(tr_lock_acquire_nowait(&lock), -EWOULDBLOCK);
    ck_assert_int_eq(tr_lock_release(&lock), -EPERM);
    int rc = tr_nursery_join(&n, 0);
    ck_assert(!tr_lock_locked(&lock));
    ck_assert_int_eq(tr_lock_acquire_nowait(&lock), 0);
    ck_assert_int_eq(tr_lock_release(&lock), 0);
    ck_assert_int_eq(tr_lock_release(&lock), -EPERM);
    return rc;
}

START_TEST(test_lock_handoff_and_errors) {
    tr_test_log_reset();
    run_ok(lock_handoff_main, NULL);
    ck_assert_str_eq(tr_test_log_str(), "B got it\n");
}
END_TEST

static int lock_other_release(void *arg) {
    (void)arg;
    ck_assert_int_eq(tr_lock_release(&lock), -EPERM);
    ck_assert_int_eq(tr_lock_acquire_nowait(&lock), -EWOULDBLOCK);
    return 0;
}

static int lock_cancel_waiter(void *arg) {
    tr_cancel_scope *cs = arg;
    tr_scope_enter(cs, TR_INF);
    int rc = tr_lock_acquire(&lock);
    ck_assert_int_eq(rc, -ECANCELED);
    return tr_scope_exit(cs, rc);
}

static int lock_cancel_main(void *arg) {
    (void)arg;
    tr_lock_init(&lock);
    /* A free lock stays free when acquire is cancelled. */
    tr_cancel_scope cs;
    enter_cancelled(&cs);
    ck_assert_int_eq(tr_lock_acquire(&lock), -ECANCELED);
    ck_assert(!tr_lock_locked(&lock));
    ck_assert_int_eq(tr_scope_exit(&cs, -ECANCELED), 0);
    /* A blocked acquirer leaves the queue when cancelled. */
    ck_assert_int_eq(tr_lock_acquire(&lock), 0);
    tr_nursery n;
    tr_nursery_open(&n);
    spawn(&n, lock_other_release, NULL, "other");
    spawn(&n, lock_cancel_waiter, &cs, "waiter");
    settle();
    tr_lock_stats st;
    tr_lock_statistics(&lock, &st);
    ck_assert_uint_eq(st.tasks_waiting, 1);
    tr_scope_cancel(&cs);
    tr_lock_statistics(&lock, &st);
    ck_assert_uint_eq(st.tasks_waiting, 0);
    ck_assert_int_eq(tr_nursery_join(&n, 0), 0);
    ck_assert_int_eq(tr_lock_release(&lock), 0);
    ck_assert(!tr_lock_locked(&lock));
    return 0;
}

START_TEST(test_lock_cancel_leaves_state) {
    run_ok(lock_cancel_main, NULL);
}
END_TEST

/* ---- Semaphore ------------------------------------------------------------- */

static int sem_waiter(void *arg) {
    (void)arg;
    ck_assert_int_eq(tr_semaphore_acquire(&sem), 0);
    tr_test_log("%s got it", me());
    return 0;
}

static int sem_main(void *arg) {
    (void)arg;
    tr_semaphore s2;
    ck_assert_int_eq(tr_semaphore_init(&s2, 3, 2), -EINVAL);
    ck_assert_int_eq(tr_semaphore_init(&sem, 1, 2), 0);
    ck_assert_uint_eq(tr_semaphore_value(&sem), 1);
    ck_assert_uint_eq(tr_semaphore_max_value(&sem), 2);
    ck_assert_int_eq(tr_semaphore_release(&sem), 0);
    ck_assert_uint_eq(tr_semaphore_value(&sem), 2);
    ck_assert_int_eq(tr_semaphore_release(&sem), -EINVAL);
    ck_assert_uint_eq(tr_semaphore_value(&sem), 2);
    ck_assert_int_eq(tr_semaphore_acquire(&sem), 0);
    ck_assert_int_eq(tr_semaphore_acquire_nowait(&sem), 0);
    ck_assert_int_eq(tr_semaphore_acquire_nowait(&sem), -EWOULDBLOCK);
    /* Cancelled acquire: value unchanged (here: a free unit stays free). */
    ck_assert_int_eq(tr_semaphore_release(&sem), 0);
    tr_cancel_scope cs;
    enter_cancelled(&cs);
    ck_assert_int_eq(tr_semaphore_acquire(&sem), -ECANCELED);
    ck_assert_int_eq(tr_scope_exit(&cs, -ECANCELED), 0);
    ck_assert_uint_eq(tr_semaphore_value(&sem), 1);
    ck_assert_int_eq(tr_semaphore_acquire(&sem), 0);
    /* Hand-off: release with a waiter gives the unit to it directly. */
    tr_nursery n;
    tr_nursery_open(&n);
    spawn(&n, sem_waiter, NULL, "B");
    settle();
    tr_semaphore_stats st;
    tr_semaphore_statistics(&sem, &st);
    ck_assert_uint_eq(st.tasks_waiting, 1);
    ck_assert_int_eq(tr_semaphore_release(&sem), 0);
    ck_assert_uint_eq(tr_semaphore_value(&sem), 0);
    ck_assert_int_eq(tr_semaphore_acquire_nowait(&sem), -EWOULDBLOCK);
    tr_semaphore_statistics(&sem, &st);
    ck_assert_uint_eq(st.tasks_waiting, 0);
    return tr_nursery_join(&n, 0);
}

START_TEST(test_semaphore) {
    tr_test_log_reset();
    run_ok(sem_main, NULL);
    ck_assert_str_eq(tr_test_log_str(), "B got it\n");
}
END_TEST

/* ---- Condition ------------------------------------------------------------- */

static int cond_waiter(void *arg) {
    (void)arg;
    ck_assert_int_eq(tr_condition_acquire(&cond), 0);
    tr_test_log("%s waits", me());
    int rc = tr_condition_wait(&cond);
    ck_assert(tr_lock_locked(tr_condition_lock(&cond)));
    tr_test_log("%s woke %d", me(), rc);
    ck_assert_int_eq(tr_condition_release(&cond), 0);
    return rc;
}

static int cond_main(void *arg) {
    (void)arg;
    tr_lock_init(&lock);
    tr_condition_init(&cond, &lock);
    ck_assert_ptr_eq(tr_condition_lock(&cond), &lock);
    ck_assert_int_eq(tr_condition_wait(&cond), -EPERM);
    ck_assert_int_eq(tr_condition_notify(&cond, 1), -EPERM);
    ck_assert_int_eq(tr_condition_notify_all(&cond), -EPERM);
    tr_nursery n;
    tr_nursery_open(&n);
    spawn(&n, cond_waiter, NULL, "A");
    spawn(&n, cond_waiter, NULL, "B");
    spawn(&n, cond_waiter, NULL, "C");
    settle();
    tr_condition_stats st;
    tr_condition_statistics(&cond, &st);
    ck_assert_uint_eq(st.tasks_waiting, 3);
    ck_assert(!st.lock_statistics.locked);
    ck_assert_int_eq(tr_condition_acquire(&cond), 0);
    ck_assert(tr_condition_locked(&cond));
    ck_assert_int_eq(tr_condition_notify(&cond, 1), 1);
    /* Notified waiters queue on the lock: they run after we release. */
    tr_condition_statistics(&cond, &st);
    ck_assert_uint_eq(st.tasks_waiting, 2);
    ck_assert_uint_eq(st.lock_statistics.tasks_waiting, 1);
    settle();
    tr_test_log("main releases");
    ck_assert_int_eq(tr_condition_release(&cond), 0);
    settle();
    ck_assert_int_eq(tr_condition_acquire(&cond), 0);
    ck_assert_int_eq(tr_condition_notify_all(&cond), 2);
    ck_assert_int_eq(tr_condition_notify_all(&cond), 0);
    ck_assert_int_eq(tr_condition_release(&cond), 0);
    return tr_nursery_join(&n, 0);
}

START_TEST(test_condition_notify_order) {
    tr_test_log_reset();
    run_ok(cond_main, NULL);
    ck_assert_str_eq(tr_test_log_str(), "A waits\nB waits\nC waits\nmain releases\nA woke 0\n"
                                        "B woke 0\nC woke 0\n");
}
END_TEST

static int cond_cancel_waiter(void *arg) {
    tr_cancel_scope *cs = arg;
    ck_assert_int_eq(tr_condition_acquire(&cond), 0);
    tr_scope_enter(cs, TR_INF);
    int rc = tr_condition_wait(&cond);
    ck_assert_int_eq(rc, -ECANCELED);
    /* Cancelled, but the lock is ours again (it was handed over by main). */
    tr_lock_stats st;
    tr_lock_statistics(tr_condition_lock(&cond), &st);
    ck_assert_ptr_eq(st.owner, tr_current_task());
    tr_test_logt("waiter has the lock again");
    rc = tr_scope_exit(cs, rc);
    ck_assert_int_eq(tr_condition_release(&cond), 0);
    return rc;
}

static int cond_cancel_main(void *arg) {
    (void)arg;
    tr_condition_init(&cond, NULL);
    /* In a cancelled scope: wait still returns with the lock held. */
    ck_assert_int_eq(tr_condition_acquire(&cond), 0);
    tr_cancel_scope cs;
    enter_cancelled(&cs);
    ck_assert_int_eq(tr_condition_wait(&cond), -ECANCELED);
    ck_assert(tr_condition_locked(&cond));
    ck_assert_int_eq(tr_scope_exit(&cs, -ECANCELED), 0);
    /* Cancelled while blocked, and while main holds the lock: the waiter
     * waits (shielded) for the lock before returning. */
    tr_nursery n;
    tr_nursery_open(&n);
    spawn(&n, cond_cancel_waiter, &cs, "waiter");
    ck_assert_int_eq(tr_condition_release(&cond), 0);
    settle();
    ck_assert_int_eq(tr_condition_acquire(&cond), 0);
    tr_scope_cancel(&cs);
    tr_condition_stats st;
    tr_condition_statistics(&cond, &st);
    ck_assert_uint_eq(st.tasks_waiting, 0);
    settle();
    tr_test_logt("main releases");
    ck_assert_int_eq(tr_condition_release(&cond), 0);
    return tr_nursery_join(&n, 0);
}

START_TEST(test_condition_cancel_reacquires) {
    tr_test_log_reset();
    run_ok(cond_cancel_main, NULL);
    ck_assert_str_eq(tr_test_log_str(), "2.000 main releases\n2.000 waiter has the lock again\n");
}
END_TEST

/* ---- Capacity limiter ------------------------------------------------------- */

static size_t lim_borrowed(void) { return tr_capacity_limiter_borrowed_tokens(&limiter); }

static int lim_holder(void *arg) {
    tr_event *release = arg;
    ck_assert_int_eq(tr_capacity_limiter_acquire(&limiter), 0);
    tr_test_logt("%s got a token", me());
    ck_assert_int_eq(tr_event_wait(release), 0);
    return tr_capacity_limiter_release(&limiter);
}

static int limiter_basic_main(void *arg) {
    (void)arg;
    tr_capacity_limiter_init(&limiter, 2);
    int x, y, z;
    ck_assert_uint_eq(tr_capacity_limiter_total_tokens(&limiter), 2);
    ck_assert_int_eq(tr_capacity_limiter_acquire_on_behalf_of_nowait(&limiter, &x), 0);
    ck_assert_int_eq(tr_capacity_limiter_acquire_on_behalf_of_nowait(&limiter, &x), -EDEADLK);
    ck_assert_int_eq(tr_capacity_limiter_acquire_on_behalf_of(&limiter, &x), -EDEADLK);
    ck_assert(tr_capacity_limiter_is_borrower(&limiter, &x));
    ck_assert(!tr_capacity_limiter_is_borrower(&limiter, &y));
    ck_assert_int_eq(tr_capacity_limiter_acquire_on_behalf_of(&limiter, &y), 0);
    ck_assert_uint_eq(tr_capacity_limiter_available_tokens(&limiter), 0);
    ck_assert_int_eq(tr_capacity_limiter_acquire_on_behalf_of_nowait(&limiter, &z), -EWOULDBLOCK);
    ck_assert_int_eq(tr_capacity_limiter_acquire_nowait(&limiter), -EWOULDBLOCK);
    ck_assert_int_eq(tr_capacity_limiter_release_on_behalf_of(&limiter, &z), -EPERM);
    ck_assert_int_eq(tr_capacity_limiter_release(&limiter), -EPERM);
    tr_capacity_limiter_stats st;
    tr_capacity_limiter_statistics(&limiter, &st);
    ck_assert_uint_eq(st.borrowed_tokens, 2);
    ck_assert_uint_eq(st.total_tokens, 2);
    ck_assert_uint_eq(st.tasks_waiting, 0);
    /* Cancelled acquire: nothing borrowed, nothing queued. */
    ck_assert_int_eq(tr_capacity_limiter_release_on_behalf_of(&limiter, &y), 0);
    tr_cancel_scope cs;
    enter_cancelled(&cs);
    ck_assert_int_eq(tr_capacity_limiter_acquire_on_behalf_of(&limiter, &z), -ECANCELED);
    ck_assert_int_eq(tr_scope_exit(&cs, -ECANCELED), 0);
    ck_assert_uint_eq(lim_borrowed(), 1);
    ck_assert(!tr_capacity_limiter_is_borrower(&limiter, &z));
    ck_assert_int_eq(tr_capacity_limiter_release_on_behalf_of(&limiter, &x), 0);
    ck_assert_uint_eq(lim_borrowed(), 0);
    /* Infinite capacity. */
    ck_assert_int_eq(tr_capacity_limiter_set_total_tokens(&limiter, TR_UNBOUNDED), 0);
    static int many[1000];
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(tr_capacity_limiter_acquire_on_behalf_of_nowait(&limiter, &many[i]), 0);
    ck_assert_uint_eq(tr_capacity_limiter_available_tokens(&limiter), TR_UNBOUNDED);
    for (int i = 0; i < 1000; i++) ck_assert(tr_capacity_limiter_is_borrower(&limiter, &many[i]));
    for (int i = 999; i >= 0; i -= 2)
        ck_assert_int_eq(tr_capacity_limiter_release_on_behalf_of(&limiter, &many[i]), 0);
    for (int i = 0; i < 1000; i++)
        ck_assert(tr_capacity_limiter_is_borrower(&limiter, &many[i]) == (i % 2 == 0));
    for (int i = 0; i < 1000; i += 2)
        ck_assert_int_eq(tr_capacity_limiter_release_on_behalf_of(&limiter, &many[i]), 0);
    ck_assert_uint_eq(lim_borrowed(), 0);
    return 0;
}

START_TEST(test_limiter_basics) {
    run_ok(limiter_basic_main, NULL);
}
END_TEST

static int limiter_resize_main(void *arg) {
    (void)arg;
    tr_event release;
    tr_event_init(&release);
    tr_capacity_limiter_init(&limiter, 1);
    tr_nursery n;
    tr_nursery_open(&n);
    spawn(&n, lim_holder, &release, "A");
    spawn(&n, lim_holder, &release, "B");
    spawn(&n, lim_holder, &release, "C");
    spawn(&n, lim_holder, &release, "D");
    settle(); /* t=1: A holds, B C D wait */
    tr_capacity_limiter_stats st;
    tr_capacity_limiter_statistics(&limiter, &st);
    ck_assert_uint_eq(st.tasks_waiting, 3);
    /* Growing wakes as many waiters as there are new tokens, oldest first. */
    ck_assert_int_eq(tr_capacity_limiter_set_total_tokens(&limiter, 3), 0);
    ck_assert_uint_eq(lim_borrowed(), 3);
    tr_capacity_limiter_statistics(&limiter, &st);
    ck_assert_uint_eq(st.tasks_waiting, 1);
    settle(); /* t=2 */
    /* Shrinking below the tokens out: releases do not wake D until fewer
     * than 1 token is out. */
    ck_assert_int_eq(tr_capacity_limiter_set_total_tokens(&limiter, 1), 0);
    ck_assert_uint_eq(tr_capacity_limiter_available_tokens(&limiter), 0);
    tr_event_set(&release);
    settle(); /* t=3: A B C released; D got the last one and released */
    ck_assert_uint_eq(lim_borrowed(), 0);
    return tr_nursery_join(&n, 0);
}

START_TEST(test_limiter_resize_with_waiters) {
    tr_test_log_reset();
    run_ok(limiter_resize_main, NULL);
    ck_assert_str_eq(tr_test_log_str(), "0.000 A got a token\n1.000 B got a token\n"
                                        "1.000 C got a token\n2.000 D got a token\n");
}
END_TEST

/* The release order under a shrunk total: D must wait for all three. */
static tr_event rel_a, rel_b, rel_c;

static int lim_holder_own(void *arg) {
    tr_event *release = arg;
    ck_assert_int_eq(tr_capacity_limiter_acquire(&limiter), 0);
    tr_test_logt("%s got a token", me());
    ck_assert_int_eq(tr_event_wait(release), 0);
    tr_test_logt("%s releases", me());
    return tr_capacity_limiter_release(&limiter);
}

static int limiter_shrink_main(void *arg) {
    (void)arg;
    tr_event never;
    tr_event_init(&rel_a);
    tr_event_init(&rel_b);
    tr_event_init(&rel_c);
    tr_event_init(&never);
    tr_capacity_limiter_init(&limiter, 3);
    tr_nursery n;
    tr_nursery_open(&n);
    spawn(&n, lim_holder_own, &rel_a, "A");
    spawn(&n, lim_holder_own, &rel_b, "B");
    spawn(&n, lim_holder_own, &rel_c, "C");
    spawn(&n, lim_holder_own, &rel_a, "D");
    settle();
    ck_assert_int_eq(tr_capacity_limiter_set_total_tokens(&limiter, 1), 0);
    tr_event_set(&rel_a);
    settle();
    tr_event_set(&rel_b);
    settle();
    tr_test_logt("main: D still waits");
    tr_event_set(&rel_c);
    return tr_nursery_join(&n, 0);
}

START_TEST(test_limiter_shrink_waits_for_releases) {
    tr_test_log_reset();
    run_ok(limiter_shrink_main, NULL);
    ck_assert_str_eq(tr_test_log_str(),
                     "0.000 A got a token\n0.000 B got a token\n0.000 C got a token\n"
                     "1.000 A releases\n2.000 B releases\n3.000 main: D still waits\n"
                     "3.000 C releases\n3.000 D got a token\n3.000 D releases\n");
}
END_TEST

/* The borrower table comes from the run's allocator: an out-of-memory sweep
 * gets a clean -ENOMEM and leaks nothing. */
static int limiter_oom_main(void *arg) {
    (void)arg;
    static int b[20];
    tr_capacity_limiter_init(&limiter, TR_UNBOUNDED);
    int got = 0, rc = 0;
    for (int i = 0; i < 20; i++) {
        rc = tr_capacity_limiter_acquire_on_behalf_of_nowait(&limiter, &b[i]);
        if (rc) break;
        got++;
    }
    ck_assert(rc == 0 || rc == -ENOMEM);
    ck_assert_uint_eq(lim_borrowed(), (size_t)got);
    for (int i = 0; i < got; i++)
        ck_assert_int_eq(tr_capacity_limiter_release_on_behalf_of(&limiter, &b[i]), 0);
    return rc;
}

START_TEST(test_limiter_oom_sweep) {
    for (size_t k = 1; k < 12; k++) {
        tr_test_alloc a = {.fail_at = k};
        tr_run_opts o = {.alloc = tr_test_alloc_fn, .alloc_ctx = &a, .quiet = true};
        int rc = tr_test_run_opts(limiter_oom_main, NULL, &o, 0, NULL);
        ck_assert(rc == 0 || rc == -ENOMEM);
        ck_assert_int_eq(a.live, 0);
    }
}
END_TEST

/* ---- every blocking call in a cancelled scope ------------------------------ */

static int all_cancelled_main(void *arg) {
    (void)arg;
    lk_init(0);
    tr_event_init(&ev);
    tr_parking_lot lot;
    tr_parking_lot_init(&lot);
    tr_cancel_scope cs;
    enter_cancelled(&cs);
    for (int round = 0; round < 2; round++) {
        ck_assert_int_eq(tr_lock_acquire(&lock), -ECANCELED);
        ck_assert_int_eq(tr_lock_acquire(&fifo_lock), -ECANCELED);
        ck_assert_int_eq(tr_semaphore_acquire(&sem), -ECANCELED);
        ck_assert_int_eq(tr_capacity_limiter_acquire(&limiter), -ECANCELED);
        ck_assert_int_eq(tr_condition_acquire(&cond), -ECANCELED);
        ck_assert_int_eq(tr_event_wait(&ev), -ECANCELED);
        ck_assert_int_eq(tr_parking_lot_park(&lot), -ECANCELED);
        tr_event_set(&ev);
    }
    ck_assert(!tr_lock_locked(&lock));
    ck_assert(!tr_lock_locked(&fifo_lock));
    ck_assert(!tr_condition_locked(&cond));
    ck_assert_uint_eq(tr_semaphore_value(&sem), 1);
    ck_assert_uint_eq(lim_borrowed(), 0);
    ck_assert_int_eq(tr_scope_exit(&cs, -ECANCELED), 0);
    return 0;
}

START_TEST(test_every_blocking_call_cancelled) {
    run_ok(all_cancelled_main, NULL);
}
END_TEST

/* Uncontended acquires are still schedule points. */
static int bystander(void *arg) {
    (void)arg;
    tr_test_log("bystander");
    return 0;
}

static int sched_point_main(void *arg) {
    int kind = *(int *)arg;
    lk_init(kind);
    tr_nursery n;
    tr_nursery_open(&n);
    spawn(&n, bystander, NULL, "bystander");
    ck_assert_int_eq(lk_acquire(kind), 0);
    tr_test_log("acquired");
    ck_assert_int_eq(lk_release(kind), 0);
    return tr_nursery_join(&n, 0);
}

START_TEST(test_acquire_is_schedule_point) {
    int kind = _i;
    tr_test_log_reset();
    run_ok(sched_point_main, &kind);
    ck_assert_str_eq(tr_test_log_str(), "bystander\nacquired\n");
}
END_TEST

/* Alone (nothing else runnable), an acquire skips the run queue but is
 * still a checkpoint: a schedule point and a cancel point. */
static int lone_acquire_main(void *arg) {
    int kind = *(int *)arg;
    int rc = -1;
    lk_init(kind);
    TR_ASSERT_CHECKPOINTS(rc = lk_acquire(kind));
    ck_assert_int_eq(rc, 0);
    return lk_release(kind);
}

START_TEST(test_lone_acquire_is_checkpoint) {
    int kind = _i;
    run_ok(lone_acquire_main, &kind);
}
END_TEST

/* ---- A limiter with tokens still out when the run ends --------------------- */

static int borrow_and_leave(void *arg) {
    tr_capacity_limiter *l = arg;
    static int borrowers[3];
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(tr_capacity_limiter_acquire_on_behalf_of_nowait(l, &borrowers[i]), 0);
    return 0; /* never released: the run frees the borrower table itself */
}

START_TEST(test_limiter_table_freed_at_run_end) {
    tr_test_alloc a = {0};
    tr_run_opts o = {.alloc = tr_test_alloc_fn, .alloc_ctx = &a};
    tr_capacity_limiter l;
    tr_capacity_limiter_init(&l, 10);
    ck_assert_int_eq(tr_test_run_opts(borrow_and_leave, &l, &o, 0, NULL), 0);
    ck_assert_int_gt(a.calls, 0);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

static Suite *sync_suite(void) {
    Suite *s = suite_create("sync");
    TCase *abandoned = tcase_create("abandoned");
    tcase_add_test(abandoned, test_limiter_table_freed_at_run_end);
    suite_add_tcase(s, abandoned);
    TCase *tc = tcase_create("event");
    tcase_add_test(tc, test_event);
    tcase_add_test(tc, test_event_wait_cancelled);
    suite_add_tcase(s, tc);
    tc = tcase_create("fairness");
    tcase_add_loop_test(tc, test_fair_abcabc, K_LOCK, K_CONDITION + 1);
    tcase_add_loop_test(tc, test_acquire_is_schedule_point, K_LOCK, K_CONDITION + 1);
    tcase_add_loop_test(tc, test_lone_acquire_is_checkpoint, K_LOCK, K_CONDITION + 1);
    suite_add_tcase(s, tc);
    tc = tcase_create("lock");
    tcase_add_test(tc, test_lock_handoff_and_errors);
    tcase_add_test(tc, test_lock_cancel_leaves_state);
    tcase_add_test(tc, test_semaphore);
    suite_add_tcase(s, tc);
    tc = tcase_create("condition");
    tcase_add_test(tc, test_condition_notify_order);
    tcase_add_test(tc, test_condition_cancel_reacquires);
    suite_add_tcase(s, tc);
    tc = tcase_create("limiter");
    tcase_add_test(tc, test_limiter_basics);
    tcase_add_test(tc, test_limiter_resize_with_waiters);
    tcase_add_test(tc, test_limiter_shrink_waits_for_releases);
    tcase_add_test(tc, test_limiter_oom_sweep);
    suite_add_tcase(s, tc);
    tc = tcase_create("cancel");
    tcase_add_test(tc, test_every_blocking_call_cancelled);
    suite_add_tcase(s, tc);
    return s;
}

#include "check_main.h"
CTRIO_CHECK_MAIN(sync_suite)
