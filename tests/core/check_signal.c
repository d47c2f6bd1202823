/* Signals: SIGINT raised inside a run cancels every task and tr_run returns
 * -EINTR with a report; leave_sigint keeps the program's own handler;
 * signal receivers deliver in arrival order, coalesce repeats, wake a
 * blocked receiver, refuse a signal another receiver owns, and restore the
 * previous handler on close. */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ctrio.h"

static int sigint_main(void *arg) {
    int *rc = arg;
    raise(SIGINT);
    *rc = tr_sleep_forever(); /* the cancellation reaches here */
    return *rc;
}

START_TEST(test_sigint_cancels_and_returns_eintr) {
    char *buf = NULL;
    size_t len = 0;
    FILE *report = open_memstream(&buf, &len);
    int inner = 1;
    signal(SIGINT, SIG_DFL); /* Check's forked child inherits a handler */
    int rc = tr_run(sigint_main, &inner, &(tr_run_opts){.report = report});
    fclose(report);
    ck_assert_int_eq(rc, -EINTR);
    ck_assert_int_eq(inner, -ECANCELED);
    ck_assert_ptr_nonnull(strstr(buf, "interrupted by SIGINT"));
    free(buf);
    /* The default disposition is back. */
    struct sigaction sa;
    sigaction(SIGINT, NULL, &sa);
    ck_assert(sa.sa_handler == SIG_DFL);
}
END_TEST

/* The SIGINT lands on another thread while the loop is blocked in the
 * kernel, and a token was handed out before that first wait (which used to
 * keep the handler from learning the loop's wake-up fd: the loop slept on). */
typedef struct interrupt {
    pthread_t thread;
    pid_t loop_tid;  /* the thread running tr_run */
    bool saw_asleep; /* the signal came while the loop was blocked */
} interrupt;

/* Whether thread tid of this process is asleep in the kernel ('S' in
 * /proc): the loop's only sleep here is its I/O wait. */
static bool asleep(pid_t tid) {
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    FILE *f = fopen(path, "r");
    if (!f) return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')'); /* "pid (comm) S ..." */
    return paren && paren[1] == ' ' && paren[2] == 'S';
}

static void *interrupter(void *arg) {
    interrupt *in = arg;
    /* Wait (up to 10 s) until the loop is blocked, rather than guess how
     * long it takes to get there: on a loaded machine a guess would let the
     * signal arrive first and test another path. */
    for (int i = 0; i < 10000 && !(in->saw_asleep = asleep(in->loop_tid)); i++)
        nanosleep(&(struct timespec){.tv_nsec = 1000 * 1000}, NULL);
    pthread_kill(pthread_self(), SIGINT);
    return NULL;
}

static int blocked_main(void *arg) {
    interrupt *in = arg;
    in->loop_tid = (pid_t)syscall(SYS_gettid);
    (void)tr_current_token();
    ck_assert_int_eq(pthread_create(&in->thread, NULL, interrupter, in), 0);
    return tr_sleep_forever();
}

START_TEST(test_sigint_on_another_thread_wakes_the_loop) {
    signal(SIGINT, SIG_DFL);
    interrupt in = {0};
    int rc = tr_run(blocked_main, &in, &(tr_run_opts){.quiet = true});
    pthread_join(in.thread, NULL);
    ck_assert_msg(in.saw_asleep,
                  "the loop never blocked within 10 s: the path under test was not taken");
    ck_assert_int_eq(rc, -EINTR);
}
END_TEST

static volatile sig_atomic_t own_handler_calls;
static void own_handler(int sig) {
    (void)sig;
    own_handler_calls++;
}

static int leave_main(void *arg) {
    (void)arg;
    raise(SIGINT);
    return tr_sleep(TR_MS(1));
}

START_TEST(test_leave_sigint) {
    signal(SIGINT, SIG_DFL);
    ck_assert_int_eq(tr_run(leave_main, NULL, &(tr_run_opts){.leave_sigint = true}), 0);
    ck_abort_msg("SIGINT was left alone: its default action should have ended the test");
}
END_TEST

START_TEST(test_own_handler_kept) {
    signal(SIGINT, own_handler);
    ck_assert_int_eq(tr_run(leave_main, NULL, NULL), 0);
    ck_assert_int_eq(own_handler_calls, 1);
}
END_TEST

/* ---- receivers --------------------------------------------------------------- */

static int order_main(void *arg) {
    (void)arg;
    const int sigs[] = {SIGUSR1, SIGUSR2, SIGHUP};
    tr_signal_receiver *rx, *rx2;
    ck_assert_int_eq(tr_open_signal_receiver(sigs, 3, &rx), 0);
    ck_assert_int_eq(tr_open_signal_receiver(sigs + 1, 1, &rx2), -EBUSY);
    ck_assert_int_eq(tr_open_signal_receiver(sigs, 0, &rx2), -EINVAL);
    ck_assert_int_eq(tr_open_signal_receiver((int[]){SIGKILL}, 1, &rx2), -EINVAL);
    raise(SIGUSR2);
    raise(SIGUSR1);
    raise(SIGUSR2); /* still pending: coalesced */
    raise(SIGHUP);
    int s;
    ck_assert_int_eq(tr_signal_receive(rx, &s), 0);
    ck_assert_int_eq(s, SIGUSR2);
    ck_assert_int_eq(tr_signal_receive(rx, &s), 0);
    ck_assert_int_eq(s, SIGUSR1);
    ck_assert_int_eq(tr_signal_receive(rx, &s), 0);
    ck_assert_int_eq(s, SIGHUP);
    raise(SIGUSR2); /* no longer pending: delivered again */
    ck_assert_int_eq(tr_signal_receive(rx, &s), 0);
    ck_assert_int_eq(s, SIGUSR2);
    tr_signal_receiver_close(rx);
    return 0;
}

START_TEST(test_receiver_order_and_restore) {
    signal(SIGUSR1, own_handler);
    ck_assert_int_eq(tr_run(order_main, NULL, NULL), 0);
    struct sigaction sa;
    sigaction(SIGUSR1, NULL, &sa);
    ck_assert(sa.sa_handler == own_handler);
    sigaction(SIGUSR2, NULL, &sa);
    ck_assert(sa.sa_handler == SIG_DFL);
    ck_assert_int_eq(own_handler_calls, 0);
}
END_TEST

static int received = -1;

static int waiter(void *arg) {
    ck_assert_int_eq(tr_signal_receive(arg, &received), 0);
    return 0;
}

static int wake_main(void *arg) {
    (void)arg;
    tr_signal_receiver *rx;
    ck_assert_int_eq(tr_open_signal_receiver((int[]){SIGUSR1}, 1, &rx), 0);
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_start_soon(&n, waiter, rx), 0);
    for (int i = 0; i < 3; i++) ck_assert_int_eq(tr_checkpoint(), 0);
    ck_assert_int_eq(received, -1);
    raise(SIGUSR1);
    ck_assert_int_eq(tr_nursery_join(&n, 0), 0);
    ck_assert_int_eq(received, SIGUSR1);
    /* Left open: the run closes it at its end. */
    return 0;
}

START_TEST(test_receiver_wakes_blocked_task) {
    ck_assert_int_eq(tr_run(wake_main, NULL, NULL), 0);
    struct sigaction sa;
    sigaction(SIGUSR1, NULL, &sa);
    ck_assert(sa.sa_handler == SIG_DFL);
}
END_TEST

static Suite *signal_suite(void) {
    Suite *s = suite_create("signal");
    TCase *tc = tcase_create("sigint");
    tcase_add_test(tc, test_sigint_cancels_and_returns_eintr);
    tcase_add_test_raise_signal(tc, test_leave_sigint, SIGINT);
    tcase_add_test(tc, test_own_handler_kept);
    tcase_add_test(tc, test_sigint_on_another_thread_wakes_the_loop);
    tcase_set_timeout(tc, 10);
    suite_add_tcase(s, tc);
    tc = tcase_create("receiver");
    tcase_add_test(tc, test_receiver_order_and_restore);
    tcase_add_test(tc, test_receiver_wakes_blocked_task);
    suite_add_tcase(s, tc);
    return s;
}

#include "check_main.h"
CTRIO_CHECK_MAIN(signal_suite)
