/* tr_ck_sim (ctrio/sim_check.h): many seeds inside a Check test, and a
 * failure message that replays the first failing seed. */
#define _GNU_SOURCE
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctrio.h"
#include "ctrio/sim.h"
#include "ctrio/sim_check.h"

/* Every test sets the variables it needs, whatever the caller exported. */
static void clear_env(void) {
    unsetenv("CTRIO_SEED");
    unsetenv("CTRIO_SEEDS");
    unsetenv("CTRIO_SEED_START");
    unsetenv("CTRIO_POLICY");
}

static char msg[TR_CK_SIM_MSG_MAX];
static tr_ck_sim_outcome oc;

#define ck_assert_has(haystack, needle)                                                   \
    ck_assert_msg(strstr((haystack), (needle)) != NULL, "'%s' not found in:\n%s", (needle), \
                  (haystack))

/* ---- scenarios ------------------------------------------------------------ */

/* Well-behaved: four workers share a counter under a lock, with timeouts. */
static int runs;
static tr_lock lock;
static int counter;

static int careful(void *arg) {
    (void)arg;
    for (int i = 0; i < 5; i++) {
        tr_cancel_scope cs;
        int rc = tr_fail_after(&cs, TR_SEC(1));
        if (rc) return rc;
        rc = tr_lock_acquire(&lock);
        if (!rc) {
            int seen = counter;
            rc = tr_checkpoint();
            counter = seen + 1;
            int rel = tr_lock_release(&lock);
            rc = rc ? rc : rel;
        }
        rc = tr_scope_exit(&cs, rc);
        if (rc) return rc;
        if ((rc = tr_sleep(TR_MS(1 + tr_sim_choice(3))))) return rc;
    }
    return 0;
}

static int good(void *arg) {
    (void)arg;
    runs++;
    counter = 0;
    tr_lock_init(&lock);
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = 0;
    for (int i = 0; i < 4 && !rc; i++) rc = tr_start_soon(&n, careful, NULL);
    rc = tr_nursery_join(&n, rc);
    if (!rc && counter != 20) return tr_fail(-EPROTO, "counter %d, expected 20", counter);
    return rc;
}

/* A planted check-then-act race: A checks the balance, reaches a
 * checkpoint, then withdraws; B withdraws after a checkpoint of its own.
 * Production order (FIFO) runs A's withdrawal first and B sees the low
 * balance; a shuffled batch can run B's check in between, and the balance
 * goes negative. */
static int balance;

static int withdraw_a(void *arg) {
    (void)arg;
    if (balance >= 60) {
        int rc = tr_checkpoint();
        if (rc) return rc;
        balance -= 60;
    }
    return 0;
}

static int withdraw_b(void *arg) {
    (void)arg;
    int rc = tr_checkpoint();
    if (rc) return rc;
    if (balance >= 50) balance -= 50;
    return 0;
}

static int racy(void *arg) {
    (void)arg;
    runs++;
    balance = 100;
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = tr_start_soon(&n, withdraw_a, NULL);
    if (!rc) rc = tr_start_soon(&n, withdraw_b, NULL);
    rc = tr_nursery_join(&n, rc);
    if (!rc && balance < 0) return tr_fail(-ERANGE, "balance went negative: %d", balance);
    return rc;
}

static int always_fails(void *arg) {
    (void)arg;
    runs++;
    return tr_fail(-EIO, "always");
}

/* Deadlock with many blocked tasks: a long report (the task tree). */
static tr_event never;

static int waiter(void *arg) {
    (void)arg;
    return tr_event_wait(&never);
}

static int deadlocked(void *arg) {
    (void)arg;
    tr_event_init(&never);
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = 0;
    for (int i = 0; i < 300 && !rc; i++)
        rc = tr_spawn(&n, waiter, NULL, &(tr_spawn_opts){.name = "a-waiter-with-a-long-name"});
    return tr_nursery_join(&n, rc);
}

static int spinner(void *arg) {
    (void)arg;
    for (;;) (void)!tr_checkpoint();
    return 0;
}

/* The running binary, as the replay line must name it. */
static const char *self(void) {
    static char path[1024];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    ck_assert_int_gt(n, 0);
    path[n] = '\0';
    return path;
}

/* ---- passing ---------------------------------------------------------------- */

START_TEST(test_passing_scenario_passes) {
    clear_env();
    runs = 0;
    tr_ck_sim(good, NULL); /* the default: 100 seeds from 0 */
    ck_assert_int_eq(runs, 100);

    runs = 0;
    ck_assert_int_eq(tr_ck_sim_check(good, NULL, "good", NULL, msg, sizeof msg, &oc), 0);
    ck_assert_int_eq(runs, 100);
    ck_assert_uint_eq(oc.runs, 100);
    ck_assert(!oc.failed);
    ck_assert_str_eq(msg, "tr_ck_sim(good): 100 seeds from 0x0 passed (policy random)");
}
END_TEST

START_TEST(test_seed_range_and_single_seed) {
    clear_env();
    setenv("CTRIO_SEEDS", "7", 1);
    setenv("CTRIO_SEED_START", "0x10", 1);
    runs = 0;
    tr_ck_sim(good, NULL);
    ck_assert_int_eq(runs, 7);
    /* The first seed run is the start: an always-failing scenario says so. */
    runs = 0;
    ck_assert_int_eq(tr_ck_sim_check(always_fails, NULL, "f", NULL, msg, sizeof msg, &oc), 1);
    ck_assert_int_eq(runs, 2); /* the seed, and once more to confirm the hash */
    ck_assert_uint_eq(oc.seed, 0x10);
    ck_assert_has(msg, "failed at seed 0x10 (policy random; seed 1 of 7)");

    /* CTRIO_SEED wins over the range. */
    setenv("CTRIO_SEED", "0x2A", 1);
    runs = 0;
    tr_ck_sim(good, NULL);
    ck_assert_int_eq(runs, 1);
    ck_assert_int_eq(tr_ck_sim_check(always_fails, NULL, "f", NULL, msg, sizeof msg, &oc), 1);
    ck_assert_uint_eq(oc.seed, 42);
    ck_assert_uint_eq(oc.runs, 1);
    ck_assert_has(msg, "replay: CTRIO_SEED=0x2a CTRIO_POLICY=random ");

    /* An empty variable counts as unset. */
    setenv("CTRIO_SEED", "", 1);
    setenv("CTRIO_SEEDS", "", 1);
    setenv("CTRIO_SEED_START", "", 1);
    setenv("CTRIO_POLICY", "", 1);
    runs = 0;
    tr_ck_sim(good, NULL);
    ck_assert_int_eq(runs, 100);
}
END_TEST

/* ---- failing ---------------------------------------------------------------- */

START_TEST(test_planted_race_is_found_and_replays) {
    clear_env();
    ck_assert_int_eq(tr_ck_sim_check(racy, NULL, "racy", NULL, msg, sizeof msg, &oc), 1);
    ck_assert(oc.failed);
    ck_assert(oc.replay_same);
    ck_assert_int_eq(oc.result.rc, -ERANGE);
    ck_assert_uint_eq(oc.runs, oc.seed + 1); /* seeds 0 .. seed, in order */
    char want[1400];
    snprintf(want, sizeof want, "tr_ck_sim(racy) failed at seed 0x%" PRIx64 " (policy random; seed %"
             PRIu64 " of 100): ERANGE (%d)", oc.seed, oc.seed + 1, -ERANGE);
    ck_assert_has(msg, want);
    snprintf(want, sizeof want, "\nreplay: CTRIO_SEED=0x%" PRIx64 " CTRIO_POLICY=random %s\n", oc.seed,
             self());
    ck_assert_has(msg, want);
    snprintf(want, sizeof want, "trace hash 0x%016" PRIx64 "; run again: the same failure with the same "
             "trace hash\n", oc.result.trace_hash);
    ck_assert_has(msg, want);
    ck_assert_has(msg, "balance went negative: -10"); /* the report */

    /* The replay command's environment reproduces it: same seed, same hash. */
    uint64_t seed = oc.seed, hash = oc.result.trace_hash;
    char s[32];
    snprintf(s, sizeof s, "0x%" PRIx64, seed);
    setenv("CTRIO_SEED", s, 1);
    setenv("CTRIO_POLICY", "random", 1);
    ck_assert_int_eq(tr_ck_sim_check(racy, NULL, "racy", NULL, msg, sizeof msg, &oc), 1);
    ck_assert_uint_eq(oc.runs, 1);
    ck_assert_uint_eq(oc.seed, seed);
    ck_assert_uint_eq(oc.result.trace_hash, hash);

    /* Production order never shows the race. */
    clear_env();
    setenv("CTRIO_POLICY", "fifo", 1);
    ck_assert_int_eq(tr_ck_sim_check(racy, NULL, "racy", NULL, msg, sizeof msg, &oc), 0);
    ck_assert_uint_eq(oc.runs, 100);
    ck_assert_has(msg, "(policy fifo)");
}
END_TEST

START_TEST(test_policy_goes_into_the_replay_line) {
    clear_env();
    setenv("CTRIO_POLICY", "pct:2", 1);
    setenv("CTRIO_SEEDS", "1000", 1);
    ck_assert_int_eq(tr_ck_sim_check(racy, NULL, "racy", NULL, msg, sizeof msg, &oc), 1);
    ck_assert_int_eq(oc.env.policy, TR_SIM_PCT);
    ck_assert_uint_eq(oc.env.pct_depth, 2);
    ck_assert_has(msg, "CTRIO_POLICY=pct:2 ");
    ck_assert(oc.replay_same);
}
END_TEST

START_TEST(test_opts_variant) {
    clear_env();
    /* The caller's policy is the default when CTRIO_POLICY is unset... */
    tr_ck_sim_opts(racy, NULL, &(tr_sim_opts){.policy = TR_SIM_FIFO});
    /* The environment's policy wins over the caller's. */
    setenv("CTRIO_POLICY", "random", 1);
    ck_assert_int_eq(tr_ck_sim_check(racy, NULL, "racy", &(tr_sim_opts){.policy = TR_SIM_FIFO}, msg,
                                     sizeof msg, &oc), 1);
}
END_TEST

/* The caller's limits apply. (Last of the suite: a run that hits the step
 * limit kills its spinning task, and under ASan a killed task's stack goes
 * back to the pool still poisoned, which trips later runs of the process
 * with CK_FORK=no.) */
START_TEST(test_opts_limits_apply) {
    clear_env();
    setenv("CTRIO_SEEDS", "3", 1);
    ck_assert_int_eq(tr_ck_sim_check(spinner, NULL, "spinner", &(tr_sim_opts){.max_steps = 1000}, msg,
                                     sizeof msg, &oc), 1);
    ck_assert_int_eq(oc.result.rc, TR_ESTEPLIMIT);
    ck_assert_uint_eq(oc.seed, 0);
    ck_assert(oc.replay_same);
    ck_assert_has(msg, "TR_ESTEPLIMIT");
}
END_TEST

START_TEST(test_long_report_keeps_the_replay_line) {
    clear_env();
    setenv("CTRIO_SEEDS", "1", 1);
    ck_assert_int_eq(tr_ck_sim_check(deadlocked, NULL, "deadlocked", NULL, msg, sizeof msg, &oc), 1);
    ck_assert_int_eq(oc.result.rc, TR_EDEADLOCK);
    ck_assert_uint_lt(strlen(msg), sizeof msg);
    ck_assert_has(msg, "replay: CTRIO_SEED=0x0 CTRIO_POLICY=random ");
    ck_assert_has(msg, "TR_EDEADLOCK");
    ck_assert_has(msg, "a-waiter-with-a-long-name"); /* the report, truncated */
}
END_TEST

/* ---- the environment --------------------------------------------------------- */

START_TEST(test_env_parsing) {
    static const struct {
        const char *var, *value;
        uint64_t start, count;
        tr_sim_policy policy;
        unsigned depth;
    } ok[] = {
        {"CTRIO_SEED", "0x2a", 42, 1, TR_SIM_RANDOM, 3},
        {"CTRIO_SEED", "0X2A", 42, 1, TR_SIM_RANDOM, 3},
        {"CTRIO_SEED", "010", 10, 1, TR_SIM_RANDOM, 3}, /* decimal, not octal */
        {"CTRIO_SEED", "0", 0, 1, TR_SIM_RANDOM, 3},
        {"CTRIO_SEED", "18446744073709551615", UINT64_MAX, 1, TR_SIM_RANDOM, 3},
        {"CTRIO_SEED", "0xffffffffffffffff", UINT64_MAX, 1, TR_SIM_RANDOM, 3},
        {"CTRIO_SEEDS", "0x10", 0, 16, TR_SIM_RANDOM, 3},
        {"CTRIO_SEED_START", "12345", 12345, 100, TR_SIM_RANDOM, 3},
        {"CTRIO_POLICY", "fifo", 0, 100, TR_SIM_FIFO, 3},
        {"CTRIO_POLICY", "random", 0, 100, TR_SIM_RANDOM, 3},
        {"CTRIO_POLICY", "pct", 0, 100, TR_SIM_PCT, 3},
        {"CTRIO_POLICY", "pct:1", 0, 100, TR_SIM_PCT, 1},
        {"CTRIO_POLICY", "pct:17", 0, 100, TR_SIM_PCT, 17},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        clear_env();
        setenv(ok[i].var, ok[i].value, 1);
        tr_ck_sim_env env;
        ck_assert_msg(tr_ck_sim_parse_env(&env, NULL, msg, sizeof msg) == 0, "%s=%s: %s", ok[i].var,
                      ok[i].value, msg);
        ck_assert_uint_eq(env.start, ok[i].start);
        ck_assert_uint_eq(env.count, ok[i].count);
        ck_assert_int_eq(env.policy, ok[i].policy);
        ck_assert_uint_eq(env.pct_depth, ok[i].depth);
        ck_assert(env.single == !strcmp(ok[i].var, "CTRIO_SEED"));
    }
}
END_TEST

START_TEST(test_bad_env_is_a_clear_failure) {
    static const char *const bad[][2] = {
        {"CTRIO_SEED", "12abc"},
        {"CTRIO_SEED", "-1"},
        {"CTRIO_SEED", "+1"},
        {"CTRIO_SEED", " 1"},
        {"CTRIO_SEED", "0x"},
        {"CTRIO_SEED", "0xg"},
        {"CTRIO_SEED", "0x1ffffffffffffffff"},
        {"CTRIO_SEED", "18446744073709551616"},
        {"CTRIO_SEEDS", "0"},
        {"CTRIO_SEEDS", "ten"},
        {"CTRIO_SEED_START", "1.5"},
        {"CTRIO_POLICY", "lifo"},
        {"CTRIO_POLICY", "pct:0"},
        {"CTRIO_POLICY", "pct:18"},
        {"CTRIO_POLICY", "pct:"},
        {"CTRIO_POLICY", "pct3"},
        {"CTRIO_POLICY", "RANDOM"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        clear_env();
        setenv(bad[i][0], bad[i][1], 1);
        runs = 0;
        int rc = tr_ck_sim_check(good, NULL, "good", NULL, msg, sizeof msg, &oc);
        ck_assert_msg(rc == -EINVAL, "%s=%s: rc %d, %s", bad[i][0], bad[i][1], rc, msg);
        ck_assert_int_eq(runs, 0);
        ck_assert_uint_eq(oc.runs, 0);
        char want[96];
        snprintf(want, sizeof want, "tr_ck_sim: bad %s='%s': expected ", bad[i][0], bad[i][1]);
        ck_assert_has(msg, want);
    }
}
END_TEST

/* ---- the macro fails the Check test, at the caller's line -------------------- */

START_TEST(nested_racy) {
    tr_ck_sim(racy, NULL);
}
END_TEST
static const int nested_racy_line = __LINE__ - 3;

START_TEST(nested_good) {
    tr_ck_sim(good, NULL);
}
END_TEST

/* Runs one test in a nested SRunner (forked, silent) and returns its
 * result: type, line, message (caller frees nothing: copied out). */
static int run_nested(const TTest *test, int *line, char *out, size_t size) {
    Suite *s = suite_create("nested");
    TCase *tc = tcase_create("nested");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run(sr, "nested", "nested", CK_SILENT);
    int failed = srunner_ntests_failed(sr);
    out[0] = '\0';
    *line = -1;
    if (failed) {
        TestResult **f = srunner_failures(sr);
        *line = tr_lno(f[0]);
        ck_assert_str_eq(tr_lfile(f[0]), __FILE__);
        ck_assert_int_eq(tr_rtype(f[0]), CK_FAILURE);
        snprintf(out, size, "%s", tr_msg(f[0]));
        free(f);
    }
    srunner_free(sr);
    return failed;
}

START_TEST(test_macro_fails_the_test_at_the_callers_line) {
    clear_env();
    int line;
    static char nested_msg[8192];
    ck_assert_int_eq(run_nested(nested_racy, &line, nested_msg, sizeof nested_msg), 1);
    ck_assert_int_eq(line, nested_racy_line);
    ck_assert_has(nested_msg, "tr_ck_sim(racy) failed at seed 0x");
    ck_assert_has(nested_msg, "\nreplay: CTRIO_SEED=0x");
    ck_assert_has(nested_msg, " CTRIO_POLICY=random ");
    ck_assert_has(nested_msg, self());
    ck_assert_has(nested_msg, "trace hash 0x");
    ck_assert_has(nested_msg, "balance went negative");

    ck_assert_int_eq(run_nested(nested_good, &line, nested_msg, sizeof nested_msg), 0);

    /* A bad variable fails the test too, naming it. */
    setenv("CTRIO_POLICY", "lifo", 1);
    ck_assert_int_eq(run_nested(nested_good, &line, nested_msg, sizeof nested_msg), 1);
    ck_assert_has(nested_msg, "tr_ck_sim: bad CTRIO_POLICY='lifo'");
    clear_env();
}
END_TEST

static Suite *sim_check_suite(void) {
    Suite *s = suite_create("sim_check");
    TCase *tc = tcase_create("run");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_passing_scenario_passes);
    tcase_add_test(tc, test_seed_range_and_single_seed);
    tcase_add_test(tc, test_planted_race_is_found_and_replays);
    tcase_add_test(tc, test_policy_goes_into_the_replay_line);
    tcase_add_test(tc, test_opts_variant);
    tcase_add_test(tc, test_long_report_keeps_the_replay_line);
    suite_add_tcase(s, tc);
    tc = tcase_create("env");
    tcase_add_test(tc, test_env_parsing);
    tcase_add_test(tc, test_bad_env_is_a_clear_failure);
    suite_add_tcase(s, tc);
    tc = tcase_create("macro");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_macro_fails_the_test_at_the_callers_line);
    suite_add_tcase(s, tc);
    tc = tcase_create("limits");
    tcase_add_test(tc, test_opts_limits_apply);
    suite_add_tcase(s, tc);
    return s;
}

#include "check_main.h"
CTRIO_CHECK_MAIN(sim_check_suite)
