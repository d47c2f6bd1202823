/* Worker threads: tr_to_thread_run_sync with a warm pool (idle threads
 * reused), the default limiter, cancellation that waits (default) or
 * abandons (cancellable), the clock hold while a worker runs, and
 * tr_from_thread_run back into the run. */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <semaphore.h>
#include <unistd.h>
#include <stdlib.h>

#include "ctrio.h"
#include "internal.h"

static void *add_one(void *arg) { return (void *)((intptr_t)arg + 1); }

static int basic_main(void *arg) {
    (void)arg;
    void *res = NULL;
    ck_assert_int_eq(tr_to_thread_run_sync(add_one, (void *)41, &res, NULL), 0);
    ck_assert_int_eq((intptr_t)res, 42);
    size_t pool = tr_thread_pool_size();
    ck_assert_uint_ge(pool, 1);
    /* Sequential calls reuse the idle worker. */
    for (intptr_t i = 0; i < 200; i++) {
        ck_assert_int_eq(tr_to_thread_run_sync(add_one, (void *)i, &res, NULL), 0);
        ck_assert_int_eq((intptr_t)res, i + 1);
    }
    ck_assert_uint_eq(tr_thread_pool_size(), pool);
    ck_assert_uint_eq(tr__current_run->clock_holds, 0);
    ck_assert_int_eq(tr_to_thread_run_sync(NULL, NULL, NULL, NULL), -EINVAL);
    return 0;
}

START_TEST(test_to_thread_basic_and_reuse) {
    ck_assert_int_eq(tr_run(basic_main, NULL, NULL), 0);
}
END_TEST

/* ---- cancellation ----------------------------------------------------------- */

static sem_t started, release;

static void *blocker(void *arg) {
    sem_post(&started);
    sem_wait(&release);
    return arg;
}

typedef struct cancel_case {
    bool cancellable;
    int rc;
    void *res;
    tr_cancel_scope cs;
} cancel_case;

static int offload(void *arg) {
    cancel_case *c = arg;
    tr_scope_enter(&c->cs, TR_INF);
    c->rc = tr_to_thread_run_sync(blocker, (void *)7, &c->res,
                                  &(tr_to_thread_opts){.cancellable = c->cancellable});
    tr_scope_exit(&c->cs, c->rc);
    return 0;
}

static int cancel_main(void *arg) {
    cancel_case *c = arg;
    sem_init(&started, 0, 0);
    sem_init(&release, 0, 0);
    c->rc = 1;
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_start_soon(&n, offload, c), 0);
    for (int i = 0; i < 5; i++) ck_assert_int_eq(tr_checkpoint(), 0); /* offload dispatched */
    sem_wait(&started); /* the worker runs blocker */
    ck_assert_uint_eq(tr__current_run->clock_holds, 1);
    tr_scope_cancel(&c->cs);
    for (int i = 0; i < 5; i++) ck_assert_int_eq(tr_checkpoint(), 0);
    if (c->cancellable) {
        ck_assert_int_eq(c->rc, -ECANCELED); /* returned at once */
        sem_post(&release);
    } else {
        ck_assert_int_eq(c->rc, 1); /* still waiting for the thread */
        sem_post(&release);
    }
    ck_assert_int_eq(tr_nursery_join(&n, 0), 0);
    if (!c->cancellable) {
        ck_assert_int_eq(c->rc, 0);
        ck_assert_ptr_eq(c->res, (void *)7);
    }
    return 0;
}

START_TEST(test_to_thread_cancel) {
    cancel_case c = {.cancellable = _i == 1};
    ck_assert_int_eq(tr_run(cancel_main, &c, NULL), 0);
}
END_TEST

/* ---- back into the run --------------------------------------------------------- */

static int in_loop(void *arg) {
    int *x = arg;
    ck_assert_ptr_nonnull(tr_current_task());
    ck_assert_int_eq(tr_sleep(TR_MS(1)), 0);
    return *x * 2;
}

static void *worker_calls_back(void *arg) {
    int x = 21;
    (void)arg;
    return (void *)(intptr_t)tr_from_thread_run(in_loop, &x);
}

static int from_thread_main(void *arg) {
    (void)arg;
    void *res = NULL;
    ck_assert_int_eq(tr_to_thread_run_sync(worker_calls_back, NULL, &res, NULL), 0);
    ck_assert_int_eq((intptr_t)res, 42);
    /* Not a worker thread. */
    ck_assert_int_eq(tr_from_thread_run(in_loop, NULL), -EINVAL);
    return 0;
}

START_TEST(test_from_thread_run) {
    ck_assert_int_eq(tr_run(from_thread_main, NULL, NULL), 0);
}
END_TEST

/* ---- the limiter ----------------------------------------------------------------- */

static tr_capacity_limiter lim;
static int concurrent, max_concurrent;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *count_concurrency(void *arg) {
    pthread_mutex_lock(&mu);
    if (++concurrent > max_concurrent) max_concurrent = concurrent;
    pthread_mutex_unlock(&mu);
    usleep(2000);
    pthread_mutex_lock(&mu);
    concurrent--;
    pthread_mutex_unlock(&mu);
    return arg;
}

static int limited(void *arg) {
    (void)arg;
    return tr_to_thread_run_sync(count_concurrency, NULL, NULL,
                                 &(tr_to_thread_opts){.limiter = &lim});
}

static int limiter_main(void *arg) {
    (void)arg;
    tr_capacity_limiter_init(&lim, 2);
    tr_nursery n;
    tr_nursery_open(&n);
    for (int i = 0; i < 6; i++) ck_assert_int_eq(tr_start_soon(&n, limited, NULL), 0);
    ck_assert_int_eq(tr_nursery_join(&n, 0), 0);
    ck_assert_int_le(max_concurrent, 2);
    return 0;
}

START_TEST(test_to_thread_limiter) {
    ck_assert_int_eq(tr_run(limiter_main, NULL, NULL), 0);
}
END_TEST

static Suite *thread_suite(void) {
    Suite *s = suite_create("thread");
    TCase *tc = tcase_create("to_thread");
    tcase_add_test(tc, test_to_thread_basic_and_reuse);
    tcase_add_loop_test(tc, test_to_thread_cancel, 0, 2);
    tcase_add_test(tc, test_from_thread_run);
    tcase_add_test(tc, test_to_thread_limiter);
    suite_add_tcase(s, tc);
    return s;
}

#include "check_main.h"
CTRIO_CHECK_MAIN(thread_suite)
