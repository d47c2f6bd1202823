/* tr_run, tasks, checkpoints, sleeping, scheduler policy and error names. */
#define _GNU_SOURCE
#include <check.h>
#include <fenv.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctrio.h"
#include "ctrio/channel.h"
#include "ctrio/io.h"
#include "ctrio/sync.h"
#include "ctrio/testing.h"
#include "ctrio/thread.h"
#include "test_util.h"
#include "vclock.h"

/* ---- tr_run's result ---------------------------------------------------- */

static int return_arg(void *arg) {
    return (int)(intptr_t)arg;
}

START_TEST(test_run_returns_main_result) {
    tr_time end = -1;
    ck_assert_int_eq(tr_test_run(return_arg, (void *)(intptr_t)0, &end), 0);
    ck_assert_int_eq(end, 0);
    ck_assert_int_eq(tr_test_run(return_arg, (void *)(intptr_t)42, NULL), 42);
    ck_assert_int_eq(tr_test_run(return_arg, (void *)(intptr_t)7, NULL), 7);
}
END_TEST

START_TEST(test_run_propagates_main_failure) {
    tr_run_opts o = {.quiet = true};
    ck_assert_int_eq(tr_test_run_opts(return_arg, (void *)(intptr_t)-EPIPE, &o, 0, NULL),
                     -EPIPE);
    ck_assert_int_eq(tr_test_run_opts(return_arg, (void *)(intptr_t)TR_EBROKEN, &o, 0, NULL),
                     TR_EBROKEN);
}
END_TEST

static int ran_flag;
static int set_flag(void *arg) {
    (void)arg;
    ran_flag = 1;
    return 0;
}

START_TEST(test_run_null_main_is_einval) {
    tr_test_vclock clk = {0};
    tr_run_opts o = {.clock = &tr_test_vclock_vtable, .clock_ctx = &clk};
    ck_assert_int_eq(tr_run(NULL, NULL, &o), -EINVAL);
    ck_assert_int_eq(tr_run(NULL, NULL, NULL), -EINVAL);
}
END_TEST

START_TEST(test_run_null_opts_uses_defaults) {
    /* Runs on the system clock; main does not sleep, so no time is read by
     * the test itself. */
    ran_flag = 0;
    ck_assert_int_eq(tr_run(set_flag, NULL, NULL), 0);
    ck_assert_int_eq(ran_flag, 1);
}
END_TEST

/* ---- Tasks: current task, names, ids, parents --------------------------- */

static int child_ids_body(void *arg) {
    tr_task *me = tr_current_task();
    tr_test_log("%s id=%llu parent=%s", tr_task_name(me), (unsigned long long)tr_task_id(me),
                tr_task_parent(me) ? tr_task_name(tr_task_parent(me)) : "-");
    (void)arg;
    return 0;
}

static int grandparent(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_start_soon(&n, child_ids_body, NULL), 0);
    child_ids_body(NULL); /* logs this task's own identity */
    return tr_nursery_join(&n, 0);
}

static int ids_main(void *arg) {
    (void)arg;
    tr_task *me = tr_current_task();
    ck_assert_ptr_nonnull(me);
    ck_assert_str_eq(tr_task_name(me), "main");
    ck_assert_int_eq(tr_task_id(me), 1);
    ck_assert_ptr_null(tr_task_parent(me));
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_start_soon(&n, child_ids_body, NULL), 0);
    ck_assert_int_eq(tr_spawn(&n, child_ids_body, NULL, &(tr_spawn_opts){.name = "named"}), 0);
    ck_assert_int_eq(tr_spawn(&n, child_ids_body, NULL, NULL), 0);
    ck_assert_int_eq(tr_start_soon(&n, grandparent, NULL), 0);
    ck_assert_ptr_eq(tr_current_task(), me);
    return tr_nursery_join(&n, 0);
}

START_TEST(test_task_identity) {
    tr_test_log_reset();
    ck_assert_ptr_null(tr_current_task());
    ck_assert_int_eq(tr_test_run(ids_main, NULL, NULL), 0);
    ck_assert_ptr_null(tr_current_task());
    /* Ids are sequential in spawn order; a name defaults to the function's
     * name with tr_start_soon and to "task" with NULL options. */
    ck_assert_str_eq(tr_test_log_str(),
                     "child_ids_body id=2 parent=main\n"
                     "named id=3 parent=main\n"
                     "task id=4 parent=main\n"
                     "grandparent id=5 parent=main\n"
                     "child_ids_body id=6 parent=grandparent\n");
}
END_TEST

static int name_main(void *arg) {
    (void)arg;
    ck_assert_str_eq(tr_task_name(tr_current_task()), "boss");
    ck_assert_int_eq(tr_task_id(tr_current_task()), 1);
    return 0;
}

START_TEST(test_main_name_option) {
    tr_run_opts o = {.main_name = "boss"};
    ck_assert_int_eq(tr_test_run_opts(name_main, NULL, &o, 0, NULL), 0);
}
END_TEST

START_TEST(test_ids_restart_per_run) {
    for (int i = 0; i < 3; i++) {
        tr_test_log_reset();
        ck_assert_int_eq(tr_test_run(ids_main, NULL, NULL), 0);
        ck_assert_ptr_nonnull(strstr(tr_test_log_str(), "child_ids_body id=2 parent=main\n"));
    }
}
END_TEST

/* ---- Time ---------------------------------------------------------------- */

static int time_main(void *arg) {
    tr_time start = *(tr_time *)arg;
    ck_assert_int_eq(tr_current_time(), start);
    ck_assert_int_eq(tr_current_effective_deadline(), TR_INF);
    int rc = tr_sleep(TR_MS(1500));
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(tr_current_time(), start + TR_MS(1500));
    rc = tr_sleep_until(start + TR_SEC(4));
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(tr_current_time(), start + TR_SEC(4));
    return 0;
}

START_TEST(test_time_starts_at_clock_time) {
    tr_time start = TR_SEC(100), end = -1;
    ck_assert_int_eq(tr_test_run_opts(time_main, &start, NULL, start, &end), 0);
    ck_assert_int_eq(end, TR_SEC(104));
    start = 0;
    ck_assert_int_eq(tr_test_run(time_main, &start, &end), 0);
    ck_assert_int_eq(end, TR_SEC(4));
}
END_TEST

static int bad_sleep_main(void *arg) {
    (void)arg;
    int rc = tr_sleep(-1);
    ck_assert_int_eq(rc, -EINVAL);
    rc = tr_sleep(-TR_SEC(5));
    ck_assert_int_eq(rc, -EINVAL);
    ck_assert_int_eq(tr_current_time(), 0);
    return 0;
}

START_TEST(test_sleep_negative_is_einval) {
    tr_time end = -1;
    ck_assert_int_eq(tr_test_run(bad_sleep_main, NULL, &end), 0);
    ck_assert_int_eq(end, 0);
}
END_TEST

static int sleep_forever_deadlock(void *arg) {
    (void)arg;
    int rc = tr_sleep_forever();
    return rc;
}

START_TEST(test_hang_is_deadlock) {
    /* Nothing can ever wake main: the clock declares a hang. */
    tr_run_opts o = {.report = NULL, .quiet = true};
    ck_assert_int_eq(tr_test_run_opts(sleep_forever_deadlock, NULL, &o, 0, NULL), TR_EDEADLOCK);
}
END_TEST

/* ---- Schedule points: exact interleavings under FIFO --------------------- */

/* How a worker yields: loop test index. */
enum { YIELD_CHECKPOINT, YIELD_SLEEP0, YIELD_SLEEP_UNTIL_PAST, YIELD_SHIELDED, YIELD_KINDS };

static int yield_kind;

static int do_yield(void) {
    switch (yield_kind) {
    case YIELD_CHECKPOINT: return tr_checkpoint();
    case YIELD_SLEEP0: return tr_sleep(0);
    case YIELD_SLEEP_UNTIL_PAST: return tr_sleep_until(tr_current_time() - TR_SEC(1));
    default: return tr_cancel_shielded_checkpoint();
    }
}

static int alternator(void *arg) {
    const char *name = arg;
    tr_test_log("%s1", name);
    ck_assert_int_eq(do_yield(), 0);
    tr_test_log("%s2", name);
    ck_assert_int_eq(do_yield(), 0);
    tr_test_log("%s3", name);
    return 0;
}

static int alternate_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_start_soon(&n, alternator, "A"), 0);
    ck_assert_int_eq(tr_start_soon(&n, alternator, "B"), 0);
    return tr_nursery_join(&n, 0);
}

START_TEST(test_schedule_points_alternate) {
    tr_test_log_reset();
    yield_kind = _i;
    tr_time end = -1;
    ck_assert_int_eq(tr_test_run_opts(alternate_main, NULL, NULL, TR_SEC(10), &end), 0);
    ck_assert_str_eq(tr_test_log_str(), "A1\nB1\nA2\nB2\nA3\nB3\n");
    /* Zero-length sleeps and past deadlines never move the clock. */
    ck_assert_int_eq(end, TR_SEC(10));
}
END_TEST

static int late_child(void *arg) {
    (void)arg;
    tr_test_log("child");
    return 0;
}

static int spawn_is_not_a_checkpoint(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_start_soon(&n, late_child, NULL), 0);
    tr_test_log("after spawn");
    tr_time t = tr_current_time();
    (void)t;
    tr_test_log("after current_time");
    int rc = tr_nursery_join(&n, 0);
    tr_test_log("joined");
    return rc;
}

START_TEST(test_spawn_runs_from_next_batch) {
    tr_test_log_reset();
    ck_assert_int_eq(tr_test_run(spawn_is_not_a_checkpoint, NULL, NULL), 0);
    ck_assert_str_eq(tr_test_log_str(), "after spawn\nafter current_time\nchild\njoined\n");
}
END_TEST

/* ---- Scheduler policy ---------------------------------------------------- */

typedef struct reverse_ctx {
    int calls;
} reverse_ctx;

static void reverse_batch(void *ctx, tr_task **batch, size_t n) {
    ((reverse_ctx *)ctx)->calls++;
    for (size_t i = 0; i < n / 2; i++) {
        tr_task *t = batch[i];
        batch[i] = batch[n - 1 - i];
        batch[n - 1 - i] = t;
    }
}

static int three_steps(void *arg) {
    const char *name = arg;
    tr_test_log("%s1", name);
    ck_assert_int_eq(tr_checkpoint(), 0);
    tr_test_log("%s2", name);
    ck_assert_int_eq(tr_checkpoint(), 0);
    tr_test_log("%s3", name);
    return 0;
}

static int policy_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_start_soon(&n, three_steps, "A"), 0);
    ck_assert_int_eq(tr_start_soon(&n, three_steps, "B"), 0);
    ck_assert_int_eq(tr_start_soon(&n, three_steps, "C"), 0);
    int rc = tr_nursery_join(&n, 0);
    tr_test_log("main");
    return rc;
}

START_TEST(test_policy_reverses_batches) {
    /* Batch 2 holds A B C and runs C B A; they become runnable again in that
     * order, so batch 3 is C B A and runs A B C; and so on. */
    tr_test_log_reset();
    reverse_ctx ctx = {0};
    static const tr_sched_policy reverse = {.order_batch = reverse_batch};
    tr_run_opts o = {.policy = &reverse, .policy_ctx = &ctx};
    ck_assert_int_eq(tr_test_run_opts(policy_main, NULL, &o, 0, NULL), 0);
    ck_assert_str_eq(tr_test_log_str(), "C1\nB1\nA1\nA2\nB2\nC2\nC3\nB3\nA3\nmain\n");
    /* At least the three batches of three; a batch of one may be skipped. */
    ck_assert_int_ge(ctx.calls, 3);
}
END_TEST

START_TEST(test_fifo_is_default) {
    tr_test_log_reset();
    ck_assert_int_eq(tr_test_run(policy_main, NULL, NULL), 0);
    ck_assert_str_eq(tr_test_log_str(), "A1\nB1\nC1\nA2\nB2\nC2\nA3\nB3\nC3\nmain\n");
}
END_TEST

/* ---- Many runs in one process: nothing accumulates ----------------------- */

static int tiny_child(void *arg) {
    (void)arg;
    int rc = tr_checkpoint();
    if (rc == 0) rc = tr_sleep(TR_MS(1));
    return rc;
}

static int tiny_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) rc = tr_start_soon(&n, tiny_child, NULL);
    return tr_nursery_join(&n, rc);
}

START_TEST(test_many_runs_do_not_grow_rss) {
    long base = 0;
    for (int i = 0; i < 10000; i++) {
        tr_time end = -1;
        ck_assert_int_eq(tr_test_run(tiny_main, NULL, &end), 0);
        ck_assert_int_eq(end, TR_MS(1));
        if (i == 99) base = tr_test_rss_bytes();
    }
    long now = tr_test_rss_bytes();
    ck_assert_int_gt(base, 0);
    /* AddressSanitizer's quarantine keeps freed blocks resident on purpose,
     * and valgrind's bookkeeping grows too (its leak check covers the heap). */
    if (!TR_TEST_ASAN && !tr_test_under_valgrind()) ck_assert_int_le(now - base, 1024L * 1024);
}
END_TEST

/* ---- Misuse aborts --------------------------------------------------------- */

static int nested_main(void *arg) {
    (void)arg;
    tr_test_vclock clk = {0};
    tr_run_opts o = {.clock = &tr_test_vclock_vtable, .clock_ctx = &clk};
    tr_run(return_arg, NULL, &o); /* must abort */
    return 0;
}

START_TEST(test_nested_run_aborts) {
    tr_test_run(nested_main, NULL, NULL);
    ck_abort_msg("nested tr_run returned");
}
END_TEST

START_TEST(test_checkpoint_outside_run_aborts) {
    int rc = tr_checkpoint();
    ck_abort_msg("tr_checkpoint outside a run returned %d", rc);
}
END_TEST

START_TEST(test_sleep_outside_run_aborts) {
    int rc = tr_sleep(TR_SEC(1));
    ck_abort_msg("tr_sleep outside a run returned %d", rc);
}
END_TEST

START_TEST(test_nursery_open_outside_run_aborts) {
    tr_nursery n;
    tr_nursery_open(&n);
    ck_abort_msg("tr_nursery_open outside a run returned");
}
END_TEST

START_TEST(test_scope_enter_outside_run_aborts) {
    tr_cancel_scope cs;
    tr_scope_enter(&cs, TR_INF);
    ck_abort_msg("tr_scope_enter outside a run returned");
}
END_TEST

START_TEST(test_fail_outside_run_aborts) {
    int rc = tr_fail(-EIO, "nope");
    ck_abort_msg("tr_fail outside a run returned %d", rc);
}
END_TEST

/* ---- What a misuse abort says --------------------------------------------- */

/* The task each misuse test runs, as task 'worker' (#2) of main. */
static tr_task_fn misuse_worker;

static int spawn_worker(void *arg) {
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = tr_spawn(&n, misuse_worker, arg, &(tr_spawn_opts){.name = "worker"});
    return tr_nursery_join(&n, rc);
}

/* Runs worker(arg) as 'worker' in a child process, which must die of
 * SIGABRT; returns what it wrote to stderr (the caller frees it). */
static char *abort_text(tr_task_fn worker, void *arg) {
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    fflush(stderr);
    misuse_worker = worker;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(p[1], STDERR_FILENO);
        close(p[0]);
        close(p[1]);
        tr_test_run(spawn_worker, arg, NULL);
        _exit(0);
    }
    close(p[1]);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    char chunk[512];
    ssize_t k;
    while ((k = read(p[0], chunk, sizeof chunk)) > 0) fwrite(chunk, 1, (size_t)k, out);
    fclose(out);
    close(p[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "no abort; stderr: %s", text);
    return text;
}

/* worker(arg) aborts with one line naming call, the task 'worker' (#2), the
 * site (this file, line; 0: no site of this file) and then why. */
static void expect_misuse(tr_task_fn worker, void *arg, const char *call, int line,
                          const char *why) {
    char *text = abort_text(worker, arg);
    char want[sizeof __FILE__ + 160];
    snprintf(want, sizeof want, "ctrio: misuse in %s by task 'worker' (#2)", call);
    ck_assert_msg(strstr(text, want) != NULL, "no '%s' in: %s", want, text);
    snprintf(want, sizeof want, " at %s:%d: ", __FILE__, line);
    if (line) ck_assert_msg(strstr(text, want) != NULL, "no '%s' in: %s", want, text);
    else ck_assert_msg(strstr(text, " at " __FILE__) == NULL, "a site in: %s", text);
    ck_assert_msg(strstr(text, why) != NULL, "no '%s' in: %s", why, text);
    free(text);
}

/* The misusing calls, each on the line its enum names (the abort happens
 * in a child process, so the line must be known without running it). */
enum { join_line = __LINE__ }; static int join(tr_nursery *n) { return tr_nursery_join(n, 0); }
enum { exit_line = __LINE__ }; static int leave(tr_cancel_scope *s) { return tr_scope_exit(s, 0); }

static int join_outer_first(void *arg) {
    (void)arg;
    tr_nursery outer, inner;
    tr_nursery_open(&outer);
    tr_nursery_open(&inner);
    return join(&outer); /* misuse: inner is still open */
}

static int exit_outer_first(void *arg) {
    (void)arg;
    tr_cancel_scope outer, inner;
    tr_scope_enter(&outer, TR_INF);
    tr_scope_enter(&inner, TR_INF);
    return leave(&outer); /* misuse: inner is still entered */
}

START_TEST(test_misuse_names_task_and_site) {
    expect_misuse(join_outer_first, NULL, "tr_nursery_join", join_line,
                  "nurseries joined out of order");
}
END_TEST

START_TEST(test_scope_exit_misuse_names_its_site) {
    expect_misuse(exit_outer_first, NULL, "tr_scope_exit", exit_line,
                  "scopes exited out of order");
}
END_TEST

/* The misuse comes after the join blocked while a child recorded its own
 * sites (the last one a tr_scope_exit): the abort names the join's line. */
static int child_exits_scope(void *arg) {
    (void)arg;
    tr_cancel_scope cs;
    tr_scope_enter(&cs, TR_INF);
    return tr_scope_exit(&cs, 0);
}

static int join_with_scope_open(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = tr_start_soon(&n, child_exits_scope, NULL);
    tr_cancel_scope cs;
    tr_scope_enter(&cs, TR_INF); /* misuse: still entered at the join */
    return rc ? rc : join(&n);
}

START_TEST(test_misuse_after_blocking_names_its_own_site) {
    expect_misuse(join_with_scope_open, NULL, "tr_nursery_join", join_line,
                  "scopes exited out of order");
}
END_TEST

/* A misuse abort names the misusing call's own site or none, never an
 * earlier call's: tr_move_on_at enters through tr_scope_enter right after
 * the task's own sited tr_scope_enter; tr_reschedule records no site and
 * comes after another task's calls recorded theirs. */
static int enter_and_sleep(void *arg) {
    (void)arg;
    tr_cancel_scope cs;
    tr_scope_enter(&cs, TR_INF);
    int rc = tr_sleep_forever();
    return tr_scope_exit(&cs, rc);
}

static int misuse_after_other(void *arg) {
    tr_cancel_scope cs;
    tr_scope_enter(&cs, TR_INF);
    if (arg) {
        tr_move_on_at(&cs, TR_INF); /* misuse: cs is entered already */
        return 0;
    }
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_start_soon(&n, enter_and_sleep, NULL), 0);
    ck_assert_int_eq(tr_checkpoint(), 0); /* enter_and_sleep runs and blocks */
    tr_reschedule(tr_current_task(), 0);  /* misuse: not blocked */
    return 0;
}

START_TEST(test_misuse_never_names_another_calls_site) {
    expect_misuse(misuse_after_other, (void *)1, "tr_scope_enter", 0, "scope is already entered");
    expect_misuse(misuse_after_other, NULL, "tr_reschedule", 0, "is not blocked");
}
END_TEST

/* ---- Blocking calls through their addresses ------------------------------ */

/* Every blocking call (and scope entry and exit) works when called through
 * a function pointer, the entry that records no call site: it leaves none,
 * although a sited call came right before it. */
#define BY_ADDRESS(stmt)                                                       \
    do {                                                                       \
        if (tr_checkpoint_if_cancelled()) { /* (a site recorded) */            \
        }                                                                      \
        ck_assert_ptr_nonnull(tr__site_at);                                    \
        stmt;                                                                  \
        ck_assert_ptr_null(tr__site_at);                                       \
    } while (0)
static void *thread_identity(void *arg) { return arg; }

static int started_child(void *arg) {
    (void)arg;
    tr_started(NULL);
    return 0;
}

static int refuse_nothing(void *ctx, tr_task *t) {
    (void)ctx;
    (void)t;
    return TR_ABORT_SUCCEEDED;
}

static int by_address_main(void *arg) {
    (void)arg;
    int (*checkpoint)(void) = tr_checkpoint, (*if_cancelled)(void) = tr_checkpoint_if_cancelled;
    int (*shielded)(void) = tr_cancel_shielded_checkpoint, (*forever)(void) = tr_sleep_forever;
    int (*sleep)(tr_duration) = tr_sleep;
    int (*sleep_until)(tr_time) = tr_sleep_until;
    int (*all_blocked)(tr_duration) = tr_wait_all_tasks_blocked;
    void (*enter)(tr_cancel_scope *, tr_time) = tr_scope_enter;
    int (*scope_exit)(tr_cancel_scope *, int) = tr_scope_exit;
    BY_ADDRESS(ck_assert_int_eq(checkpoint(), 0));
    BY_ADDRESS(ck_assert_int_eq(if_cancelled(), 0));
    BY_ADDRESS(ck_assert_int_eq(shielded(), 0));
    BY_ADDRESS(ck_assert_int_eq(sleep(TR_MS(1)), 0));
    BY_ADDRESS(ck_assert_int_eq(sleep_until(tr_current_time()), 0));
    BY_ADDRESS(ck_assert_int_eq(all_blocked(0), 0));
    tr_cancel_scope cs;
    BY_ADDRESS(enter(&cs, tr_current_time())); /* cancelled at once */
    BY_ADDRESS(ck_assert_int_eq(forever(), -ECANCELED));
    int (*wait_rescheduled)(tr_abort_fn, void *) = tr_wait_task_rescheduled;
    BY_ADDRESS(ck_assert_int_eq(wait_rescheduled(refuse_nothing, NULL), -ECANCELED));
    tr_parking_lot lot;
    tr_parking_lot_init(&lot);
    int (*park)(tr_parking_lot *) = tr_parking_lot_park;
    BY_ADDRESS(ck_assert_int_eq(park(&lot), -ECANCELED));
    BY_ADDRESS(ck_assert_int_eq(scope_exit(&cs, -ECANCELED), 0));

    tr_lock lock;
    tr_lock_init(&lock);
    int (*lock_acquire)(tr_lock *) = tr_lock_acquire;
    BY_ADDRESS(ck_assert_int_eq(lock_acquire(&lock), 0));
    ck_assert_int_eq(tr_lock_release(&lock), 0);
    tr_condition cond;
    tr_condition_init(&cond, &lock);
    int (*cond_acquire)(tr_condition *) = tr_condition_acquire;
    int (*cond_wait)(tr_condition *) = tr_condition_wait;
    BY_ADDRESS(ck_assert_int_eq(cond_acquire(&cond), 0));
    ck_assert_int_eq(tr_move_on_at(&cs, tr_current_time()), 0);
    BY_ADDRESS(ck_assert_int_eq(cond_wait(&cond), -ECANCELED)); /* (the lock held again) */
    ck_assert_int_eq(tr_scope_exit(&cs, -ECANCELED), 0);
    ck_assert_int_eq(tr_condition_release(&cond), 0);
    tr_semaphore sem;
    ck_assert_int_eq(tr_semaphore_init(&sem, 1, TR_UNBOUNDED), 0);
    int (*sem_acquire)(tr_semaphore *) = tr_semaphore_acquire;
    BY_ADDRESS(ck_assert_int_eq(sem_acquire(&sem), 0));
    tr_event ev;
    tr_event_init(&ev);
    tr_event_set(&ev);
    int (*event_wait)(tr_event *) = tr_event_wait;
    BY_ADDRESS(ck_assert_int_eq(event_wait(&ev), 0));
    tr_capacity_limiter lim;
    tr_capacity_limiter_init(&lim, 2);
    int (*lim_acquire)(tr_capacity_limiter *) = tr_capacity_limiter_acquire;
    int (*lim_for)(tr_capacity_limiter *, const void *) = tr_capacity_limiter_acquire_on_behalf_of;
    BY_ADDRESS(ck_assert_int_eq(lim_acquire(&lim), 0));
    BY_ADDRESS(ck_assert_int_eq(lim_for(&lim, &lim), 0));
    ck_assert_int_eq(tr_capacity_limiter_release(&lim), 0);
    ck_assert_int_eq(tr_capacity_limiter_release_on_behalf_of(&lim, &lim), 0);
    tr_sequencer seq;
    tr_sequencer_init(&seq);
    int (*seq_wait)(tr_sequencer *, int) = tr_sequencer_wait;
    BY_ADDRESS(ck_assert_int_eq(seq_wait(&seq, 0), 0));
    tr_sequencer_done(&seq, 0);

    tr_send_channel *tx;
    tr_receive_channel *rx;
    ck_assert_int_eq(tr_open_memory_channel(&tx, &rx, 1, sizeof(int)), 0);
    int (*send)(tr_send_channel *, const void *) = tr_channel_send;
    int (*receive)(tr_receive_channel *, void *) = tr_channel_receive;
    int item = 7, got = 0;
    BY_ADDRESS(ck_assert_int_eq(send(tx, &item), 0));
    BY_ADDRESS(ck_assert_int_eq(receive(rx, &got), 0));
    ck_assert_int_eq(got, 7);
    tr_send_channel_close(tx);
    tr_receive_channel_close(rx);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    int (*writable)(int) = tr_wait_writable, (*readable)(int) = tr_wait_readable;
    BY_ADDRESS(ck_assert_int_eq(writable(p[1]), 0));
    ck_assert_int_eq(write(p[1], "x", 1), 1);
    BY_ADDRESS(ck_assert_int_eq(readable(p[0]), 0));
    tr_notify_closing(p[0]);
    tr_notify_closing(p[1]);
    close(p[0]);
    close(p[1]);
    void *result = NULL;
    int (*to_thread)(tr_thread_fn, void *, void **, const tr_to_thread_opts *) =
        tr_to_thread_run_sync;
    BY_ADDRESS(ck_assert_int_eq(to_thread(thread_identity, &item, &result, NULL), 0));
    ck_assert_ptr_eq(result, &item);

    tr_nursery n;
    tr_nursery_open(&n);
    int (*start)(tr_nursery *, tr_task_fn, void *, const tr_spawn_opts *, void **) =
        tr_start_spawn;
    BY_ADDRESS(ck_assert_int_eq(start(&n, started_child, NULL, NULL, NULL), 0));
    int (*nursery_join)(tr_nursery *, int) = tr_nursery_join;
    int rc;
    BY_ADDRESS(rc = nursery_join(&n, 0));
    return rc;
}

START_TEST(test_blocking_calls_by_address) {
    ck_assert_int_eq(tr_test_run(by_address_main, NULL, NULL), 0);
}
END_TEST

/* ---- Error names ----------------------------------------------------------- */

typedef struct code_row {
    const char *name;
    int value;
    const char *text;
} code_row;

static const code_row all_codes[] = {
#define ROW(name, value, text) {#name, value, text},
    TR_ERRORS_OWN(ROW) TR_ERRORS_ERRNO(ROW)
#undef ROW
};

START_TEST(test_error_names_and_texts) {
    size_t n = sizeof all_codes / sizeof all_codes[0];
    ck_assert_int_eq(n, 18);
    for (size_t i = 0; i < n; i++) {
        const code_row *r = &all_codes[i];
        char expect[256];
        snprintf(expect, sizeof expect, "%s: %s", r->name, r->text);
        ck_assert_ptr_nonnull(tr_error_name(r->value));
        ck_assert_str_eq(tr_error_name(r->value), r->name);
        ck_assert_str_eq(tr_strerror(r->value), expect);
    }
}
END_TEST

START_TEST(test_own_codes_below_errno_range) {
    ck_assert_int_lt(TR_EENDOFCHANNEL, -4095);
    ck_assert_int_lt(TR_ENOTSTARTED, -4095);
    ck_assert_int_lt(TR_ENURSERYCLOSED, -4095);
    ck_assert_int_lt(TR_EDEADLOCK, -4095);
    ck_assert_int_lt(TR_EBROKEN, -4095);
    ck_assert_str_eq(tr_error_name(TR_EDEADLOCK), "TR_EDEADLOCK");
    ck_assert_str_eq(tr_error_name(-ECANCELED), "ECANCELED");
    ck_assert_str_eq(tr_strerror(-ECANCELED), "ECANCELED: cancelled");
}
END_TEST

START_TEST(test_unknown_codes) {
    /* Other negative errno values: strerror's text; a name only if ctrio
     * knows one (the C library may supply it), and then the right one. */
    const char *eio = tr_error_name(-EIO);
    ck_assert(eio == NULL || strcmp(eio, "EIO") == 0);
    ck_assert_str_eq(tr_strerror(-EIO), strerror(EIO));
    const char *enoent = tr_error_name(-ENOENT);
    ck_assert(enoent == NULL || strcmp(enoent, "ENOENT") == 0);
    ck_assert_str_eq(tr_strerror(-ENOENT), strerror(ENOENT));
    /* Never NULL, whatever the code. */
    ck_assert_ptr_nonnull(tr_strerror(0));
    ck_assert_ptr_nonnull(tr_strerror(5));
    ck_assert_ptr_nonnull(tr_strerror(-4096));
    ck_assert_ptr_nonnull(tr_strerror(-123456));
    ck_assert_ptr_nonnull(tr_strerror(INT32_MIN));
    ck_assert_ptr_null(tr_error_name(-123456));
    ck_assert_ptr_null(tr_error_name(0));
}
END_TEST

/* ---- Two threads, two runs at once ----------------------------------------- */

static pthread_barrier_t both_inside;

typedef struct thread_job {
    int index;     /* 0 or 1 */
    int rc;        /* tr_run's result */
    tr_time end;   /* the run's final virtual time */
    long counter;  /* work done by the run's tasks */
} thread_job;

static int counting_child(void *arg) {
    thread_job *job = arg;
    for (int i = 0; i < 500; i++) {
        int rc = tr_checkpoint();
        if (rc) return rc;
        job->counter++;
    }
    return tr_sleep(TR_SEC(1 + job->index));
}

static int thread_main(void *arg) {
    thread_job *job = arg;
    /* Both runs are inside tr_run before either does any work. */
    pthread_barrier_wait(&both_inside);
    ck_assert_int_eq(tr_task_id(tr_current_task()), 1);
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = 0;
    for (int i = 0; i < 4 && rc == 0; i++) rc = tr_start_soon(&n, counting_child, job);
    rc = tr_nursery_join(&n, rc);
    ck_assert_int_eq(tr_task_id(tr_current_task()), 1);
    return rc ? rc : 10 + job->index;
}

static void *thread_fn(void *arg) {
    thread_job *job = arg;
    job->rc = tr_test_run(thread_main, job, &job->end);
    return NULL;
}

START_TEST(test_two_threads_two_runs) {
    pthread_barrier_init(&both_inside, NULL, 2);
    thread_job jobs[2] = {{.index = 0}, {.index = 1}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) ck_assert_int_eq(pthread_create(&th[i], NULL, thread_fn, &jobs[i]), 0);
    for (int i = 0; i < 2; i++) ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    pthread_barrier_destroy(&both_inside);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(jobs[i].rc, 10 + i);
        ck_assert_int_eq(jobs[i].end, TR_SEC(1 + i));
        ck_assert_int_eq(jobs[i].counter, 4 * 500);
    }
    ck_assert_ptr_null(tr_current_task());
}
END_TEST

/* ---- Suite ------------------------------------------------------------------- */

/* ---- Floating-point control words belong to each task ------------------- */

/* The context switch saves each task's SSE/x87 (or FPCR) control words and
 * restores them, so a task that changes its rounding mode does not change
 * its neighbour's. */
/* 1/3 in SSE arithmetic: its last bit depends on MXCSR's rounding mode,
 * while fegetround() reads the x87 control word; the tasks check both,
 * against values computed before the run. */
static double third(void) {
    volatile double one = 1.0, three = 3.0;
    return one / three;
}

typedef struct rounding {
    double nearest, upward; /* 1/3 under each mode, computed outside the run */
    int ok;                 /* cleared by any task that sees the wrong mode */
} rounding;

static int upward_task(void *arg) {
    rounding *r = arg;
    ck_assert_int_eq(fesetround(FE_UPWARD), 0);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(tr_checkpoint(), 0);
        if (fegetround() != FE_UPWARD || third() != r->upward) r->ok = 0;
    }
    return 0;
}

static int nearest_task(void *arg) {
    rounding *r = arg;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(tr_checkpoint(), 0);
        if (fegetround() != FE_TONEAREST || third() != r->nearest) r->ok = 0;
    }
    return 0;
}

static int rounding_main(void *arg) {
    rounding *r = arg;
    tr_nursery n;
    tr_nursery_open(&n);
    ck_assert_int_eq(tr_start_soon(&n, upward_task, r), 0);
    ck_assert_int_eq(tr_start_soon(&n, nearest_task, r), 0);
    int rc = tr_nursery_join(&n, 0);
    if (fegetround() != FE_TONEAREST || third() != r->nearest) r->ok = 0;
    return rc;
}

START_TEST(test_rounding_mode_is_per_task) {
    if (tr_test_under_valgrind()) return; /* valgrind ignores SSE rounding modes */
    rounding r = {.nearest = third(), .ok = 1};
    ck_assert_int_eq(fesetround(FE_UPWARD), 0);
    r.upward = third();
    ck_assert_int_eq(fesetround(FE_TONEAREST), 0);
    ck_assert(r.upward > r.nearest);
    ck_assert_int_eq(tr_test_run(rounding_main, &r, NULL), 0);
    ck_assert_int_eq(r.ok, 1);
    ck_assert(fegetround() == FE_TONEAREST && third() == r.nearest);
}
END_TEST

static Suite *run_suite(void) {
    Suite *s = suite_create("run");
    TCase *tc = tcase_create("run");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_run_returns_main_result);
    tcase_add_test(tc, test_run_propagates_main_failure);
    tcase_add_test(tc, test_run_null_main_is_einval);
    tcase_add_test(tc, test_run_null_opts_uses_defaults);
    tcase_add_test(tc, test_hang_is_deadlock);
    suite_add_tcase(s, tc);

    tc = tcase_create("tasks");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_task_identity);
    tcase_add_test(tc, test_main_name_option);
    tcase_add_test(tc, test_ids_restart_per_run);
    suite_add_tcase(s, tc);

    tc = tcase_create("time");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_time_starts_at_clock_time);
    tcase_add_test(tc, test_sleep_negative_is_einval);
    suite_add_tcase(s, tc);

    tc = tcase_create("schedule");
    tcase_set_timeout(tc, 10);
    tcase_add_loop_test(tc, test_schedule_points_alternate, 0, YIELD_KINDS);
    tcase_add_test(tc, test_spawn_runs_from_next_batch);
    tcase_add_test(tc, test_policy_reverses_batches);
    tcase_add_test(tc, test_fifo_is_default);
    tcase_add_test(tc, test_rounding_mode_is_per_task);
    suite_add_tcase(s, tc);

    tc = tcase_create("many_runs");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_many_runs_do_not_grow_rss);
    tcase_add_test(tc, test_two_threads_two_runs);
    suite_add_tcase(s, tc);

    tc = tcase_create("misuse");
    tcase_set_timeout(tc, 10);
    tcase_add_test_raise_signal(tc, test_nested_run_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, test_checkpoint_outside_run_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, test_sleep_outside_run_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, test_nursery_open_outside_run_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, test_scope_enter_outside_run_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, test_fail_outside_run_aborts, SIGABRT);
    tcase_add_test(tc, test_misuse_names_task_and_site);
    tcase_add_test(tc, test_scope_exit_misuse_names_its_site);
    tcase_add_test(tc, test_misuse_never_names_another_calls_site);
    tcase_add_test(tc, test_misuse_after_blocking_names_its_own_site);
    suite_add_tcase(s, tc);

    tc = tcase_create("by_address");
    tcase_add_test(tc, test_blocking_calls_by_address);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_test(tc, test_error_names_and_texts);
    tcase_add_test(tc, test_own_codes_below_errno_range);
    tcase_add_test(tc, test_unknown_codes);
    suite_add_tcase(s, tc);
    return s;
}

#include "check_main.h"
CTRIO_CHECK_MAIN(run_suite)
