/* Instruments: Trio's hooks in Trio's order for one task and for two (with
 * a direct task-to-task switch inside a batch), add and remove during a run
 * (also from inside a hook), removing twice, and tr_current_statistics /
 * tr_dump_tasks output. */
#define _GNU_SOURCE
#include <check.h>
#include <ctype.h>
#include <semaphore.h>
#include <stdlib.h>
#include <unistd.h>

#include "ctrio.h"
#include "ctrio/sync.h"
#include "ctrio/testing.h"
#include "ctrio/thread.h"

static char log_buf[4096];

static void logf_(const char *s, const tr_task *t) {
    size_t len = strlen(log_buf);
    snprintf(log_buf + len, sizeof log_buf - len, "%s%s%s ", s, t ? ":" : "", t ? tr_task_name(t) : "");
}

static void h_before_run(void *c) { (void)c; logf_("before_run", NULL); }
static void h_after_run(void *c) { (void)c; logf_("after_run", NULL); }
static void h_spawned(void *c, tr_task *t) { (void)c; logf_("spawned", t); }
static void h_scheduled(void *c, tr_task *t) { (void)c; logf_("scheduled", t); }
static void h_before_step(void *c, tr_task *t) { (void)c; logf_("before", t); }
static void h_after_step(void *c, tr_task *t) { (void)c; logf_("after", t); }
static void h_exited(void *c, tr_task *t) { (void)c; logf_("exited", t); }
static void h_before_io(void *c, tr_duration d) { (void)c; logf_(d ? "io_wait" : "io_check", NULL); }
static void h_after_io(void *c, tr_duration d) { (void)c; (void)d; logf_("io_done", NULL); }

static tr_instrument recorder = {
    .before_run = h_before_run, .after_run = h_after_run, .task_spawned = h_spawned,
    .task_scheduled = h_scheduled, .before_task_step = h_before_step,
    .after_task_step = h_after_step, .task_exited = h_exited,
    .before_io_wait = h_before_io, .after_io_wait = h_after_io,
};

static int run_recorded(tr_task_fn fn) {
    tr_instrument *ins = &recorder;
    log_buf[0] = '\0';
    return tr_run(fn, NULL, &(tr_run_opts){.instruments = &ins, .n_instruments = 1});
}

static int just_return(void *arg) {
    (void)arg;
    return 0;
}

START_TEST(test_one_task_order) {
    ck_assert_int_eq(run_recorded(just_return), 0);
    ck_assert_str_eq(log_buf, "before_run spawned:main scheduled:main io_check io_done before:main "
                              "exited:main after:main after_run ");
}
END_TEST

static int child(void *arg) {
    (void)arg;
    return tr_checkpoint();
}

static int two_tasks(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_start_soon(&n, child, NULL), 0);
    ck_assert_int_eq(tr_checkpoint(), 0); /* batch: child, main: a direct switch */
    return tr_nursery_join(&n, 0);
}

START_TEST(test_two_tasks_order) {
    ck_assert_int_eq(run_recorded(two_tasks), 0);
    ck_assert_str_eq(log_buf,
                     "before_run spawned:main scheduled:main io_check io_done before:main "
                     "spawned:child scheduled:child scheduled:main after:main io_check io_done "
                     "before:child scheduled:child after:child before:main after:main "
                     "io_check io_done before:child scheduled:main exited:child after:child "
                     "io_check io_done before:main exited:main after:main after_run ");
}
END_TEST

/* ---- add / remove during a run ------------------------------------------------ */

static int removals;

static void remove_self(void *c, tr_task *t) {
    (void)c;
    (void)t;
    removals++;
    ck_assert_int_eq(tr_remove_instrument(&recorder), 0);
}

static tr_instrument remover = {.task_exited = remove_self};

static int add_remove_main(void *arg) {
    (void)arg;
    ck_assert_int_eq(tr_add_instrument(&recorder), 0);
    ck_assert_int_eq(tr_add_instrument(&recorder), -EALREADY);
    ck_assert_int_eq(tr_checkpoint(), 0);
    ck_assert_int_eq(tr_remove_instrument(&recorder), 0);
    ck_assert_int_eq(tr_remove_instrument(&recorder), -EINVAL); /* twice */
    ck_assert_int_eq(tr_checkpoint(), 0);                          /* not recorded */
    /* Removed from inside a hook: it sees nothing after that hook. */
    ck_assert_int_eq(tr_add_instrument(&recorder), 0);
    ck_assert_int_eq(tr_add_instrument(&remover), 0);
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_start_soon(&n, just_return, NULL), 0);
    ck_assert_int_eq(tr_nursery_join(&n, 0), 0);
    ck_assert_int_eq(tr_remove_instrument(&remover), 0);
    return 0;
}

START_TEST(test_add_remove_during_run) {
    log_buf[0] = '\0';
    ck_assert_int_eq(tr_run(add_remove_main, NULL, NULL), 0);
    ck_assert_int_eq(removals, 1);
    ck_assert_str_eq(log_buf,
                     "scheduled:main after:main io_check io_done before:main "
                     "spawned:just_return scheduled:just_return after:main io_check io_done "
                     "before:just_return scheduled:main exited:just_return ");
}
END_TEST

/* ---- statistics and the dump ---------------------------------------------------- */

/* The task dump, into a string (*out, freed by the caller). */
static void dump_to(char **out) {
    size_t len;
    FILE *f = open_memstream(out, &len);
    tr_dump_tasks(f);
    fclose(f);
}

/* The dump's line that starts with task names the site at line of this file
 * (0: no site at all). */
static void assert_dump_site(const char *out, const char *task, int line) {
    const char *at = strstr(out, task);
    ck_assert_msg(at != NULL, "no '%s' in:\n%s", task, out);
    const char *end = strchr(at, '\n');
    int len = end ? (int)(end - at) : (int)strlen(at);
    char site[sizeof __FILE__ + 32];
    snprintf(site, sizeof site, " at %s:%d", __FILE__, line);
    const char *found = strstr(at, line ? site : " at ");
    if (line) /* (and not a longer number that starts the same) */
        ck_assert_msg(found && found < at + len && !isdigit((unsigned char)found[strlen(site)]),
                      "no '%s' in '%.*s'", site, len, at);
    else ck_assert_msg(!found || found >= at + len, "a site in '%.*s'", len, at);
}

static int sleeper_line; /* the line of its tr_sleep, which the dump names */

static int sleeper(void *arg) {
    (void)arg;
    sleeper_line = __LINE__ + 1;
    return tr_sleep(TR_SEC(100));
}

static int fd_waiter(void *arg) { return tr_wait_readable(*(int *)arg); }

static int dump_main(void *arg) {
    char **out = arg;
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_start_soon(&n, sleeper, NULL), 0);
    ck_assert_int_eq(tr_start_soon(&n, fd_waiter, &p[0]), 0);
    for (int i = 0; i < 3; i++) ck_assert_int_eq(tr_checkpoint(), 0);
    tr_statistics st;
    tr_current_statistics(&st);
    ck_assert_uint_eq(st.tasks_living, 3);
    ck_assert_uint_eq(st.io.tasks_waiting_read, 1);
    ck_assert_int_gt(st.to_next_deadline, TR_SEC(99));
    dump_to(out);
    tr_nursery_cancel(&n);
    int rc = tr_nursery_join(&n, 0);
    tr_notify_closing(p[0]);
    close(p[0]);
    close(p[1]);
    return rc == -ECANCELED ? 0 : rc;
}

START_TEST(test_statistics_and_dump) {
    char *out = NULL;
    ck_assert_int_eq(tr_run(dump_main, &out, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "task 'main' (#1) running"));
    ck_assert_ptr_nonnull(strstr(out, "task 'sleeper' (#2) blocked in sleep at"));
    ck_assert_ptr_nonnull(strstr(out, "task 'fd_waiter' (#3) blocked on fd readable"));
    assert_dump_site(out, "task 'sleeper' (#2) blocked in sleep", sleeper_line);
    free(out);
}
END_TEST

/* A blocking call made through its address records no site: the dump
 * names none for it, not the site of the call another task made last. */
static int sleep_by_address(void *arg) {
    (void)arg;
    int (*sleep_forever)(void) = tr_sleep_forever;
    return sleep_forever();
}

static int pointer_dump_main(void *arg) {
    char **out = arg;
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_start_soon(&n, sleeper, NULL), 0);
    ck_assert_int_eq(tr_start_soon(&n, sleep_by_address, NULL), 0);
    for (int i = 0; i < 3; i++) ck_assert_int_eq(tr_checkpoint(), 0);
    dump_to(out);
    tr_nursery_cancel(&n);
    int rc = tr_nursery_join(&n, 0);
    return rc == -ECANCELED ? 0 : rc;
}

START_TEST(test_dump_names_no_site_for_a_call_by_address) {
    char *out = NULL;
    ck_assert_int_eq(tr_run(pointer_dump_main, &out, NULL), 0);
    assert_dump_site(out, "task 'sleeper' (#2) blocked in sleep", sleeper_line);
    assert_dump_site(out, "task 'sleep_by_address' (#3) blocked", 0);
    free(out);
}
END_TEST

/* Waits the library makes on a caller's behalf show the caller's site: a
 * condition's acquire waits in its lock, a sequencer in a parked wait, and
 * tr_to_thread_run_sync yields in its limiter, then waits for the thread
 * (its site put back after the yield). */
enum { acq_line = __LINE__ }; static int acq(tr_condition *c) { return tr_condition_acquire(c); }
enum { seq_line = __LINE__ }; static int seq(tr_sequencer *s) { return tr_sequencer_wait(s, 1); }

static int cond_acquirer(void *c) {
    int rc = acq(c);
    return rc ? rc : tr_condition_release(c);
}

static int seq_waiter(void *s) { return seq(s); }

static void *wait_posted(void *sem) {
    while (sem_wait(sem) != 0) {
    }
    return NULL;
}
enum { thread_line = __LINE__ + 2 };
static int in_thread(void *s) {
    return tr_to_thread_run_sync(wait_posted, s, NULL, NULL);
}

static int inner_sites_main(void *arg) {
    char **out = arg;
    tr_lock lock;
    tr_lock_init(&lock);
    tr_condition cond;
    tr_condition_init(&cond, &lock);
    tr_sequencer seq;
    tr_sequencer_init(&seq);
    ck_assert_int_eq(tr_lock_acquire(&lock), 0);
    tr_nursery n;
    tr_nursery_open(&n);
    sem_t sem;
    ck_assert_int_eq(sem_init(&sem, 0, 0), 0);
    /* first: the others are runnable when it yields */
    ck_assert_int_eq(tr_start_soon(&n, in_thread, &sem), 0);
    ck_assert_int_eq(tr_start_soon(&n, cond_acquirer, &cond), 0);
    ck_assert_int_eq(tr_start_soon(&n, seq_waiter, &seq), 0);
    ck_assert_int_eq(tr_wait_all_tasks_blocked(0), 0);
    dump_to(out);
    ck_assert_int_eq(sem_post(&sem), 0);
    ck_assert_int_eq(tr_lock_release(&lock), 0);
    ck_assert_int_eq(tr_sequencer_wait(&seq, 0), 0);
    ck_assert_int_eq(tr_sequencer_done(&seq, 0), 0);
    return tr_nursery_join(&n, 0);
}

START_TEST(test_dump_names_the_callers_site_of_inner_waits) {
    char *out = NULL;
    ck_assert_int_eq(tr_run(inner_sites_main, &out, NULL), 0);
    assert_dump_site(out, "task 'cond_acquirer' (#3) blocked", acq_line);
    assert_dump_site(out, "task 'seq_waiter' (#4) blocked", seq_line);
    assert_dump_site(out, "task 'in_thread' (#2) blocked", thread_line);
    free(out);
}
END_TEST

static Suite *instrument_suite(void) {
    Suite *s = suite_create("instrument");
    TCase *tc = tcase_create("hooks");
    tcase_add_test(tc, test_one_task_order);
    tcase_add_test(tc, test_two_tasks_order);
    tcase_add_test(tc, test_add_remove_during_run);
    suite_add_tcase(s, tc);
    tc = tcase_create("introspection");
    tcase_add_test(tc, test_statistics_and_dump);
    tcase_add_test(tc, test_dump_names_no_site_for_a_call_by_address);
    tcase_add_test(tc, test_dump_names_the_callers_site_of_inner_waits);
    suite_add_tcase(s, tc);
    return s;
}

#include "check_main.h"
CTRIO_CHECK_MAIN(instrument_suite)
