/* The I/O backend (whichever CTRIO_IO_BACKEND built: CI runs this suite on
 * epoll and on poll) and tokens: readiness, cancellation that leaves no
 * waiter behind, tr_notify_closing, -EBUSY, bad fds, socketpair ping-pong;
 * cross-thread tr_token_run_sync_soon under a bounded stress, tokens of
 * finished runs, and no system call per batch while a token exists. Real
 * fds only (pipes, socketpairs). */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctrio.h"
#include "io.h"

static void nonblocking_pipe(int p[2]) {
    ck_assert_int_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
}

static void close_fd(int fd) {
    tr_notify_closing(fd);
    close(fd);
}

static void spawn(tr_nursery *n, tr_task_fn fn, void *arg, const char *name) {
    ck_assert_int_eq(tr_spawn(n, fn, arg, &(tr_spawn_opts){.name = name}), 0);
}

/* Lets every other task run until it blocks (no I/O is ready meanwhile). */
static void settle(void) {
    for (int i = 0; i < 5; i++) ck_assert_int_eq(tr_checkpoint(), 0);
}

static tr_statistics stats(void) {
    tr_statistics s;
    tr_current_statistics(&s);
    return s;
}

/* ---- readiness ----------------------------------------------------------- */

static int pipe_rd, pipe_wr;
static int got_rc;
static char got_byte;

static int reader(void *arg) {
    (void)arg;
    got_rc = tr_wait_readable(pipe_rd);
    if (got_rc == 0) ck_assert_int_eq(read(pipe_rd, &got_byte, 1), 1);
    return 0;
}

static int readable_main(void *arg) {
    int p[2];
    (void)arg;
    nonblocking_pipe(p);
    pipe_rd = p[0];
    pipe_wr = p[1];
    got_rc = 1;
    tr_nursery n;
    tr_nursery_open(&n);
    spawn(&n, reader, NULL, "reader");
    settle();
    ck_assert_int_eq(got_rc, 1); /* still waiting */
    ck_assert_uint_eq(stats().io.tasks_waiting_read, 1);
    ck_assert_int_eq(write(pipe_wr, "x", 1), 1);
    ck_assert_int_eq(tr_nursery_join(&n, 0), 0);
    ck_assert_int_eq(got_rc, 0);
    ck_assert_int_eq(got_byte, 'x');
    ck_assert_uint_eq(stats().io.tasks_waiting_read, 0);
    /* A fresh pipe is writable at once; waiting is still a checkpoint. */
    ck_assert_int_eq(tr_wait_writable(pipe_wr), 0);
    close_fd(p[0]);
    close_fd(p[1]);
    return 0;
}

START_TEST(test_readable_and_writable) {
    ck_assert_int_eq(tr_run(readable_main, NULL, NULL), 0);
}
END_TEST

/* ---- cancellation ----------------------------------------------------------- */

static int cancelled_reader(void *arg) {
    tr_cancel_scope *cs = arg;
    tr_scope_enter(cs, TR_INF);
    got_rc = tr_wait_readable(pipe_rd);
    tr_scope_exit(cs, got_rc);
    return 0;
}

static int cancel_main(void *arg) {
    int p[2];
    (void)arg;
    nonblocking_pipe(p);
    pipe_rd = p[0];
    pipe_wr = p[1];
    tr_cancel_scope cs;
    tr_nursery n;
    tr_nursery_open(&n);
    spawn(&n, cancelled_reader, &cs, "reader");
    settle();
    tr_scope_cancel(&cs);
    ck_assert_int_eq(tr_nursery_join(&n, 0), 0);
    ck_assert_int_eq(got_rc, -ECANCELED);
    /* Nothing left registered: the same fd and direction can be waited on
     * again, and the data reaches the new waiter. */
    ck_assert_uint_eq(stats().io.tasks_waiting_read, 0);
    tr_nursery_open(&n);
    spawn(&n, reader, NULL, "reader2");
    settle();
    ck_assert_int_eq(write(pipe_wr, "y", 1), 1);
    ck_assert_int_eq(tr_nursery_join(&n, 0), 0);
    ck_assert_int_eq(got_rc, 0);
    ck_assert_int_eq(got_byte, 'y');
    /* Already cancelled: a checkpoint that fails even though fd is ready. */
    tr_scope_enter(&cs, TR_INF);
    tr_scope_cancel(&cs);
    ck_assert_int_eq(tr_wait_writable(pipe_wr), -ECANCELED);
    tr_scope_exit(&cs, -ECANCELED);
    ck_assert_uint_eq(stats().io.tasks_waiting_write, 0);
    close_fd(p[0]);
    close_fd(p[1]);
    return 0;
}

START_TEST(test_cancel_leaves_nothing) {
    ck_assert_int_eq(tr_run(cancel_main, NULL, NULL), 0);
}
END_TEST

/* ---- notify_closing, -EBUSY, bad fds ------------------------------------------- */

static int busy_rc[2];

static int busy_reader(void *arg) {
    int *slot = arg;
    *slot = tr_wait_readable(pipe_rd);
    return 0;
}

static int closing_main(void *arg) {
    int p[2];
    (void)arg;
    nonblocking_pipe(p);
    pipe_rd = p[0];
    busy_rc[0] = busy_rc[1] = 1;
    tr_nursery n;
    tr_nursery_open(&n);
    spawn(&n, busy_reader, &busy_rc[0], "first");
    settle();
    spawn(&n, busy_reader, &busy_rc[1], "second");
    settle();
    ck_assert_int_eq(busy_rc[1], -EBUSY);
    ck_assert_int_eq(busy_rc[0], 1);
    tr_notify_closing(p[0]);
    ck_assert_int_eq(tr_nursery_join(&n, 0), 0);
    ck_assert_int_eq(busy_rc[0], -EBADF);
    close(p[0]);
    close_fd(p[1]);
    /* A closed fd, a negative one. */
    ck_assert_int_eq(tr_wait_readable(p[0]), -EBADF);
    ck_assert_int_eq(tr_wait_readable(-1), -EINVAL);
    return 0;
}

START_TEST(test_notify_closing_busy_badf) {
    ck_assert_int_eq(tr_run(closing_main, NULL, NULL), 0);
}
END_TEST

/* ---- socketpair ping-pong ------------------------------------------------------ */

#define ROUNDS 2000

static int sv[2];

static int recv_byte(int fd, char *c) {
    for (;;) {
        ssize_t n = read(fd, c, 1);
        if (n == 1) return 0;
        if (n == 0) return -EPIPE;
        int rc = tr_wait_readable(fd);
        if (rc < 0) return rc;
    }
}

static int ponger(void *arg) {
    (void)arg;
    char c;
    for (int i = 0; i < ROUNDS; i++) {
        ck_assert_int_eq(recv_byte(sv[1], &c), 0);
        ck_assert_int_eq(write(sv[1], &c, 1), 1);
    }
    return 0;
}

static int pingpong_main(void *arg) {
    (void)arg;
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    tr_nursery n;
    tr_nursery_open(&n);
    spawn(&n, ponger, NULL, "ponger");
    for (int i = 0; i < ROUNDS; i++) {
        char c = (char)i, back;
        ck_assert_int_eq(write(sv[0], &c, 1), 1);
        ck_assert_int_eq(recv_byte(sv[0], &back), 0);
        ck_assert_int_eq(back, c);
    }
    ck_assert_int_eq(tr_nursery_join(&n, 0), 0);
    close_fd(sv[0]);
    close_fd(sv[1]);
    return 0;
}

START_TEST(test_socketpair_pingpong) {
    ck_assert_int_eq(tr_run(pingpong_main, NULL, NULL), 0);
}
END_TEST

/* ---- tokens ----------------------------------------------------------------- */

#define THREADS 4
#define CALLS 2000

typedef struct stress {
    tr_token token;
    int last[THREADS];     /* last sequence number seen per thread */
    int arrived;           /* callbacks run */
    bool out_of_order;
    tr_task *waiter;       /* main, waiting for all of them */
} stress;

typedef struct item {
    stress *s;
    int thread, seq;
} item;

static item items[THREADS][CALLS];

static void arrive(void *arg) {
    item *it = arg;
    stress *s = it->s;
    if (it->seq != s->last[it->thread] + 1) s->out_of_order = true;
    s->last[it->thread] = it->seq;
    if (++s->arrived == THREADS * CALLS) tr_reschedule(s->waiter, 0);
}

static void *producer(void *arg) {
    item *row = arg;
    for (int i = 0; i < CALLS; i++)
        ck_assert_int_eq(tr_token_run_sync_soon(row[i].s->token, arrive, &row[i]), 0);
    return NULL;
}

static int forever_abort(void *ctx, tr_task *t) {
    (void)ctx;
    (void)t;
    return TR_ABORT_SUCCEEDED;
}

static int stress_main(void *arg) {
    stress *s = arg;
    pthread_t th[THREADS];
    s->token = tr_current_token();
    ck_assert_uint_ne(s->token.tr__id, 0);
    s->waiter = tr_current_task();
    for (int t = 0; t < THREADS; t++) {
        s->last[t] = -1;
        for (int i = 0; i < CALLS; i++) items[t][i] = (item){s, t, i};
        ck_assert_int_eq(pthread_create(&th[t], NULL, producer, items[t]), 0);
    }
    ck_assert_int_eq(tr_wait_task_rescheduled(forever_abort, NULL), 0);
    for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
    return 0;
}

START_TEST(test_token_stress) {
    static stress s;
    ck_assert_int_eq(tr_run(stress_main, &s, NULL), 0);
    ck_assert_int_eq(s.arrived, THREADS * CALLS);
    ck_assert(!s.out_of_order);
    /* The run is over: its token fails cleanly. */
    ck_assert_int_eq(tr_token_run_sync_soon(s.token, arrive, &items[0][0]), -ESHUTDOWN);
    ck_assert_int_eq(tr_token_run_sync_soon((tr_token){0}, arrive, NULL), -EINVAL);
}
END_TEST

static int order_log[8];
static int order_len;

static void log_cb(void *arg) { order_log[order_len++] = (int)(intptr_t)arg; }

static int stuck_dropped;
static void never_runs(void *arg) {
    (void)arg;
    stuck_dropped = -1;
}

static int no_syscall_main(void *arg) {
    (void)arg;
    tr_token tok = tr_current_token();
    tr__run *r = tr__current_run;
    /* Callbacks from the run's own thread run in order at the next batch. */
    for (intptr_t i = 0; i < 4; i++) ck_assert_int_eq(tr_token_run_sync_soon(tok, log_cb, (void *)i), 0);
    ck_assert_int_eq(tr_checkpoint(), 0);
    ck_assert_int_eq(order_len, 4);
    for (int i = 0; i < 4; i++) ck_assert_int_eq(order_log[i], i);
    /* A token exists, nothing is pending: 10,000 batches, no kernel wait. */
    uint64_t polls = r->iox->polls;
    for (int i = 0; i < 10000; i++) ck_assert_int_eq(tr_checkpoint(), 0);
    ck_assert_uint_eq(r->iox->polls, polls);
    /* Queued as main exits: dropped, never run. */
    ck_assert_int_eq(tr_token_run_sync_soon(tok, never_runs, NULL), 0);
    return 0;
}

START_TEST(test_token_fifo_and_no_syscall_per_batch) {
    ck_assert_int_eq(tr_run(no_syscall_main, NULL, NULL), 0);
    ck_assert_int_eq(stuck_dropped, 0);
}
END_TEST

static int backend_main(void *arg) {
    (void)arg;
    tr_statistics s = stats();
    ck_assert_str_eq(s.io.backend, tr_io_backend_name());
    ck_assert_uint_eq(s.tasks_living, 1);
    ck_assert_int_eq(s.to_next_deadline, TR_INF);
    return 0;
}

START_TEST(test_statistics) {
    ck_assert_int_eq(tr_run(backend_main, NULL, NULL), 0);
    const char *b = tr_io_backend_name();
    ck_assert(strcmp(b, "epoll") == 0 || strcmp(b, "poll") == 0 || strcmp(b, "kqueue") == 0);
}
END_TEST

static Suite *io_suite(void) {
    Suite *s = suite_create("io");
    TCase *tc = tcase_create("fd");
    tcase_add_test(tc, test_readable_and_writable);
    tcase_add_test(tc, test_cancel_leaves_nothing);
    tcase_add_test(tc, test_notify_closing_busy_badf);
    tcase_add_test(tc, test_socketpair_pingpong);
    tcase_add_test(tc, test_statistics);
    suite_add_tcase(s, tc);
    tc = tcase_create("token");
    tcase_add_test(tc, test_token_stress);
    tcase_add_test(tc, test_token_fifo_and_no_syscall_per_batch);
    suite_add_tcase(s, tc);
    return s;
}

#include "check_main.h"
CTRIO_CHECK_MAIN(io_suite)
