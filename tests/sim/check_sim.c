/* The simulator: determinism, seeds, replay, policies and limits. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctrio.h"
#include "ctrio/sim.h"

/* Three workers each append their letter after every checkpoint; the
 * interleaving is the schedule, recorded as a string. */
static char order[256];
static size_t order_len;

static int worker(void *arg) {
    char c = *(const char *)arg;
    for (int i = 0; i < 4; i++) {
        if (order_len + 1 < sizeof order) order[order_len++] = c;
        int rc = tr_checkpoint();
        if (rc) return rc;
    }
    return tr_sleep(TR_MS(10 + (c - 'A')));
}

static int three_workers(void *arg) {
    (void)arg;
    static const char letters[] = "ABC";
    order_len = 0;
    memset(order, 0, sizeof order);
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = 0;
    for (int i = 0; i < 3 && !rc; i++)
        rc = tr_spawn(&n, worker, (void *)&letters[i], &(tr_spawn_opts){.name = "worker"});
    return tr_nursery_join(&n, rc);
}

static tr_sim_result run_seed(uint64_t seed, tr_sim_policy policy) {
    tr_sim_result r;
    ck_assert_int_eq(tr_sim_run(three_workers, NULL, &(tr_sim_opts){.seed = seed, .policy = policy}, &r), 0);
    ck_assert_int_eq(r.rc, 0);
    return r;
}

START_TEST(test_equal_seeds_equal_hashes) {
    for (uint64_t seed = 0; seed < 50; seed++) {
        tr_sim_result a = run_seed(seed, TR_SIM_RANDOM);
        char first[256];
        memcpy(first, order, sizeof first);
        tr_sim_result b = run_seed(seed, TR_SIM_RANDOM);
        ck_assert_uint_eq(a.trace_hash, b.trace_hash);
        ck_assert_str_eq(first, order);
        ck_assert_uint_eq(a.steps, b.steps);
        ck_assert_int_eq(a.virtual_time, TR_MS(12));
    }
}
END_TEST

START_TEST(test_seeds_change_the_interleaving) {
    char seen[20][256];
    int distinct = 0;
    for (uint64_t seed = 0; seed < 20; seed++) {
        run_seed(seed, TR_SIM_RANDOM);
        int dup = 0;
        for (int i = 0; i < distinct; i++) dup |= !strcmp(seen[i], order);
        if (!dup) memcpy(seen[distinct++], order, sizeof order);
    }
    ck_assert_int_ge(distinct, 10);
}
END_TEST

START_TEST(test_fifo_is_production_order) {
    run_seed(7, TR_SIM_FIFO);
    ck_assert_str_eq(order, "ABCABCABCABC");
    tr_sim_result a = run_seed(1, TR_SIM_FIFO), b = run_seed(2, TR_SIM_FIFO);
    ck_assert_uint_ne(a.trace_hash, b.trace_hash); /* the seed is hashed too */
    ck_assert_uint_eq(a.decisions, 0);
}
END_TEST

START_TEST(test_pct_is_deterministic) {
    tr_sim_opts o = {.seed = 5, .policy = TR_SIM_PCT, .pct_depth = 3};
    tr_sim_result a, b;
    ck_assert_int_eq(tr_sim_run(three_workers, NULL, &o, &a), 0);
    ck_assert_int_eq(tr_sim_run(three_workers, NULL, &o, &b), 0);
    ck_assert_uint_eq(a.trace_hash, b.trace_hash);
    o.pct_depth = 99;
    ck_assert_int_eq(tr_sim_run(three_workers, NULL, &o, &a), -EINVAL);
}
END_TEST

START_TEST(test_save_and_replay) {
    char path[] = "/tmp/ctrio-sim-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    tr_sim_result a, b;
    ck_assert_int_eq(tr_sim_run(three_workers, NULL, &(tr_sim_opts){.seed = 11, .save_file = path}, &a), 0);
    char first[256];
    memcpy(first, order, sizeof first);
    /* A different seed, but the log decides: same schedule, same hash. */
    ck_assert_int_eq(tr_sim_run(three_workers, NULL, &(tr_sim_opts){.seed = 999, .replay_file = path}, &b), 0);
    ck_assert_str_eq(first, order);
    ck_assert_uint_eq(a.trace_hash, b.trace_hash);
    ck_assert(!b.replay_exhausted);
    ck_assert_int_eq(tr_sim_run(three_workers, NULL, &(tr_sim_opts){.replay_file = "/nonexistent/x"}, &b), -ENOENT);
    unlink(path);
}
END_TEST

/* A retry loop that ignores -ECANCELED: the step limit must end the run. */
static int spinner(void *arg) {
    (void)arg;
    for (;;) (void)!tr_checkpoint();
    return 0;
}

static int spin_main(void *arg) {
    (void)arg;
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = tr_start_soon(&n, spinner, NULL);
    return tr_nursery_join(&n, rc);
}

START_TEST(test_step_limit_stops_a_livelock) {
    tr_sim_result r;
    ck_assert_int_eq(tr_sim_run(spin_main, NULL, &(tr_sim_opts){.seed = 3, .max_steps = 1000}, &r), 0);
    ck_assert_int_eq(r.rc, TR_ESTEPLIMIT);
    ck_assert_uint_ge(r.steps, 1000);
    ck_assert_uint_le(r.steps, 2002);
}
END_TEST

/* Cancellation reaches a well-behaved task at the limit and it unwinds. */
static int sleeper_loop(void *arg) {
    (void)arg;
    for (;;) {
        int rc = tr_checkpoint();
        if (rc) return rc;
    }
}

START_TEST(test_step_limit_cancels_first) {
    tr_sim_result r;
    ck_assert_int_eq(tr_sim_run(sleeper_loop, NULL, &(tr_sim_opts){.seed = 3, .max_steps = 500}, &r), 0);
    ck_assert_int_eq(r.rc, TR_ESTEPLIMIT);
    ck_assert_uint_le(r.steps, 502);
}
END_TEST

static int choose(void *arg) {
    uint32_t *out = arg;
    for (int i = 0; i < 8; i++) out[i] = tr_sim_choice(1000);
    return tr_sim_bool(0) || !tr_sim_bool(1) ? -EINVAL : 0;
}

START_TEST(test_user_choices_are_logged) {
    uint32_t a[8], b[8], c[8];
    tr_sim_result r;
    ck_assert_int_eq(tr_sim_run(choose, a, &(tr_sim_opts){.seed = 1}, &r), 0);
    ck_assert_int_eq(r.rc, 0);
    ck_assert_uint_eq(r.decisions, 8);
    ck_assert_int_eq(tr_sim_run(choose, b, &(tr_sim_opts){.seed = 1}, &r), 0);
    ck_assert_int_eq(tr_sim_run(choose, c, &(tr_sim_opts){.seed = 2}, &r), 0);
    ck_assert_mem_eq(a, b, sizeof a);
    ck_assert(memcmp(a, c, sizeof a) != 0);
    for (int i = 0; i < 8; i++) ck_assert_uint_lt(a[i], 1000);
}
END_TEST

static int failing(void *arg) {
    (void)arg;
    int rc = tr_sleep(TR_SEC(5));
    return rc ? rc : tr_fail(-EIO, "disk %d is on fire", 3);
}

START_TEST(test_failure_report_is_captured) {
    tr_sim_result r;
    ck_assert_int_eq(tr_sim_run(failing, NULL, &(tr_sim_opts){.seed = 1}, &r), 0);
    ck_assert_int_eq(r.rc, -EIO);
    ck_assert_int_eq(r.virtual_time, TR_SEC(5));
    ck_assert_ptr_nonnull(strstr(r.report, "disk 3 is on fire"));
}
END_TEST

/* ---- Cancellation injection --------------------------------------------- */

/* A consumer that holds an item across a checkpoint and drops it when
 * cancelled there: the kind of bug the sweep exists for. */
static int held, delivered;

static int careless(void *arg) {
    (void)arg;
    for (int i = 0; i < 3; i++) {
        held = 1;               /* dequeued into a local */
        int rc = tr_sleep(TR_MS(1));
        if (rc) return rc;      /* BUG: the held item is lost */
        held = 0;
        delivered++;
    }
    return 0;
}

static int careless_main(void *arg) {
    (void)arg;
    held = delivered = 0;
    tr_cancel_scope cs;
    tr_scope_enter(&cs, TR_INF);
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = tr_start_soon(&n, careless, NULL);
    rc = tr_nursery_join(&n, rc);
    rc = tr_scope_exit(&cs, rc);
    if (rc) return rc;
    return held ? tr_fail(-EPROTO, "an item was lost") : 0;
}

START_TEST(test_cancel_at_injects_once) {
    tr_sim_result dry, r;
    ck_assert_int_eq(tr_sim_run(careless_main, NULL, &(tr_sim_opts){.policy = TR_SIM_FIFO}, &dry), 0);
    ck_assert_int_eq(dry.rc, 0);
    ck_assert_uint_eq(dry.faults, 0);
    ck_assert_uint_ge(dry.cancel_points, 3);
    int failures = 0;
    for (uint64_t k = 1; k <= dry.cancel_points; k++) {
        tr_sim_opts o = {.policy = TR_SIM_FIFO, .cancel_at = k};
        ck_assert_int_eq(tr_sim_run(careless_main, NULL, &o, &r), 0);
        ck_assert_uint_le(r.faults, 1);
        if (r.rc == -EPROTO) failures++;
        else ck_assert_int_eq(r.rc, 0);
        tr_sim_result again;
        ck_assert_int_eq(tr_sim_run(careless_main, NULL, &o, &again), 0);
        ck_assert_uint_eq(r.trace_hash, again.trace_hash);
    }
    ck_assert_int_ge(failures, 1); /* the sweep finds the lost item */
}
END_TEST

START_TEST(test_cancel_rate_is_seeded) {
    uint64_t faults = 0;
    for (uint64_t seed = 0; seed < 30; seed++) {
        tr_sim_opts o = {.seed = seed, .cancel_rate = 0.3};
        tr_sim_result a, b;
        ck_assert_int_eq(tr_sim_run(three_workers, NULL, &o, &a), 0);
        ck_assert_int_eq(tr_sim_run(three_workers, NULL, &o, &b), 0);
        ck_assert_uint_eq(a.trace_hash, b.trace_hash);
        ck_assert_uint_eq(a.faults, b.faults);
        faults += a.faults;
    }
    ck_assert_uint_gt(faults, 0);
    tr_sim_result r;
    ck_assert_int_eq(tr_sim_run(three_workers, NULL, &(tr_sim_opts){.cancel_rate = 1.5}, &r), -EINVAL);
}
END_TEST

/* ---- Shrinking ---------------------------------------------------------- */

#include "sim_internal.h"

/* Fails when task B runs its check between A's check and A's act, whatever
 * else happens around it: the noise tasks make the log long. */
static int account;

static int racer(void *arg) {
    int amount = *(int *)arg;
    if (account < amount) return 0;
    int rc = tr_checkpoint();
    if (rc) return rc;
    account -= amount;
    return 0;
}

static int noise(void *arg) {
    (void)arg;
    for (int i = 0; i < 5; i++) {
        int rc = tr_sleep(TR_MS(tr_sim_choice(3)));
        if (rc) return rc;
    }
    return 0;
}

static int race_main(void *arg) {
    (void)arg;
    static int sixty = 60, fifty = 50;
    account = 100;
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = 0;
    for (int i = 0; i < 4 && !rc; i++) rc = tr_start_soon(&n, noise, NULL);
    if (!rc) rc = tr_start_soon(&n, racer, &sixty);
    if (!rc) rc = tr_start_soon(&n, racer, &fifty);
    rc = tr_nursery_join(&n, rc);
    return rc ? rc : account < 0 ? tr_fail(-ERANGE, "overdrawn: %d", account) : 0;
}

START_TEST(test_shrink_keeps_the_failure) {
    uint64_t seed = 0;
    tr_sim_result r;
    for (;; seed++) {
        ck_assert_uint_lt(seed, 1000);
        ck_assert_int_eq(tr_sim_run(race_main, NULL, &(tr_sim_opts){.seed = seed}, &r), 0);
        if (r.rc == -ERANGE) break;
    }
    char path[] = "/tmp/ctrio-shrink-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    FILE *out = fopen("/dev/null", "w");
    ck_assert_int_eq(tr__sim_shrink(race_main, NULL, &(tr_sim_opts){0}, seed, path, out), 0);
    fclose(out);
    tr_sim_result shrunk, again;
    ck_assert_int_eq(tr_sim_run(race_main, NULL, &(tr_sim_opts){.replay_file = path}, &shrunk), 0);
    ck_assert_int_eq(shrunk.rc, -ERANGE);
    ck_assert_int_eq(tr_sim_run(race_main, NULL, &(tr_sim_opts){.replay_file = path}, &again), 0);
    ck_assert_uint_eq(shrunk.trace_hash, again.trace_hash);
    /* The shrunk log holds no more values than the run drew. */
    tr__dlog log;
    tr__dlog_init(&log, 0);
    ck_assert_int_eq(tr__dlog_load(&log, path), 0);
    size_t kept = 0;
    for (int i = 0; i < TR__STREAM_COUNT; i++) kept += log.streams[i].replay_len;
    ck_assert_uint_le(kept, r.decisions);
    ck_assert(log.zero_tail);
    tr__dlog_free(&log);
    unlink(path);
}
END_TEST

/* ---- Trace export --------------------------------------------------------- */

START_TEST(test_trace_does_not_change_the_run) {
    char path[] = "/tmp/ctrio-trace-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    char *tl = NULL;
    size_t tl_len = 0;
    FILE *timeline = open_memstream(&tl, &tl_len);
    tr_sim_result plain, traced;
    ck_assert_int_eq(tr_sim_run(three_workers, NULL, &(tr_sim_opts){.seed = 4}, &plain), 0);
    char order_plain[256];
    memcpy(order_plain, order, sizeof order_plain);
    ck_assert_int_eq(tr_sim_run(three_workers, NULL,
                                &(tr_sim_opts){.seed = 4, .trace_file = path, .timeline = timeline},
                                &traced), 0);
    fclose(timeline);
    ck_assert_uint_eq(plain.trace_hash, traced.trace_hash);
    ck_assert_str_eq(order_plain, order);
    /* The JSON names every task's track, has a slice per step and a flow
     * arrow per child. */
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char json[1 << 16];
    size_t n = fread(json, 1, sizeof json - 1, f);
    json[n] = '\0';
    fclose(f);
    ck_assert_ptr_nonnull(strstr(json, "\"traceEvents\":["));
    ck_assert_ptr_nonnull(strstr(json, "\"name\":\"worker #2\""));
    size_t slices = 0, flows = 0;
    for (const char *p = json; (p = strstr(p, "\"ph\":\"X\"")); p++) slices++;
    for (const char *p = json; (p = strstr(p, "\"ph\":\"s\"")); p++) flows++;
    ck_assert_uint_eq(slices, traced.steps);
    ck_assert_uint_eq(flows, 3);
    ck_assert_ptr_nonnull(strstr(tl, "spawn   #2 worker  (by #1)"));
    free(tl);
    unlink(path);
}
END_TEST

/* ---- Determinism check ------------------------------------------------------ */

/* Nondeterministic on purpose: state that leaks from one run to the next
 * (as rand() or the wall clock would) changes which task sleeps longer. */
static int leak;

static int napper(void *arg) {
    int rc = tr_sleep(TR_MS(*(int *)arg));
    if (rc) return rc;
    return tr_checkpoint();
}

static int leaky_main(void *arg) {
    (void)arg;
    static int short_nap = 1, long_nap = 2;
    leak++;
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = tr_start_soon(&n, napper, leak % 2 ? &short_nap : &long_nap);
    if (!rc) rc = tr_start_soon(&n, napper, leak % 2 ? &long_nap : &short_nap);
    return tr_nursery_join(&n, rc);
}

/* A step names only the call sites of its own task's calls: in run 1 the
 * task 'quiet' returns without a sited call, in run 2 it checks for
 * cancellation first. Their runs differ only in the call that ended that
 * step, and run 1 names none, not main's tr_nursery_join before it. */
static int quiet_return(void *arg) {
    (void)arg;
    return 0;
}

static int quiet_check(void *arg) {
    (void)arg;
    return tr_checkpoint_if_cancelled();
}

static const tr_task_fn quiet_fns[] = {quiet_return, quiet_check};

static int spawn_quiet_and_join(void *fn) { /* fn: one of quiet_fns */
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = tr_spawn(&n, *(const tr_task_fn *)fn, NULL, &(tr_spawn_opts){.name = "quiet"});
    return tr_nursery_join(&n, rc);
}

START_TEST(test_divergence_names_only_the_steps_own_call) {
    tr__trace *a = NULL, *b = NULL;
    tr_sim_result ra, rb;
    ck_assert_int_eq(tr__sim_run_traced(spawn_quiet_and_join, (void *)&quiet_fns[0],
                                        &(tr_sim_opts){.seed = 1}, &a, &ra), 0);
    ck_assert_int_eq(tr__sim_run_traced(spawn_quiet_and_join, (void *)&quiet_fns[1],
                                        &(tr_sim_opts){.seed = 1}, &b, &rb), 0);
    char *msg = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&msg, &len);
    ck_assert(tr__trace_first_divergence(a, b, f));
    fclose(f);
    ck_assert_msg(
        strstr(msg, "run 1: task 'quiet' (#2) ended a step at virtual time 0.000000000 s\n"),
        "%s", msg);
    ck_assert_msg(strstr(msg, "run 2: task 'quiet' (#2) ended a step at virtual time 0.000000000 s "
                              "in the call at "),
                  "%s", msg);
    free(msg);
    tr__trace_free(a);
    tr__trace_free(b);
}
END_TEST

START_TEST(test_divergence_is_named) {
    tr__trace *a = NULL, *b = NULL;
    tr_sim_result ra, rb;
    ck_assert_int_eq(tr__sim_run_traced(leaky_main, NULL, &(tr_sim_opts){.seed = 1}, &a, &ra), 0);
    ck_assert_int_eq(tr__sim_run_traced(leaky_main, NULL, &(tr_sim_opts){.seed = 1}, &b, &rb), 0);
    ck_assert_uint_ne(ra.trace_hash, rb.trace_hash);
    char *msg = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&msg, &len);
    ck_assert(tr__trace_first_divergence(a, b, f));
    fclose(f);
    ck_assert_ptr_nonnull(strstr(msg, "first divergence at event #"));
    ck_assert_ptr_nonnull(strstr(msg, "run 1: task 'napper'"));
    ck_assert_ptr_nonnull(strstr(msg, "check_sim.c:")); /* the call site */
    free(msg);
    /* A deterministic scenario has no divergence. */
    tr__trace *c = NULL, *d = NULL;
    ck_assert_int_eq(tr__sim_run_traced(three_workers, NULL, &(tr_sim_opts){.seed = 1}, &c, &ra), 0);
    ck_assert_int_eq(tr__sim_run_traced(three_workers, NULL, &(tr_sim_opts){.seed = 1}, &d, &rb), 0);
    FILE *null = fopen("/dev/null", "w");
    ck_assert(!tr__trace_first_divergence(c, d, null));
    fclose(null);
    tr__trace_free(a);
    tr__trace_free(b);
    tr__trace_free(c);
    tr__trace_free(d);
}
END_TEST

/* ---- Decisions from a fuzzer's bytes ---------------------------------------- */

START_TEST(test_bytes_drive_the_schedule) {
    uint8_t a[64], b[64];
    for (int i = 0; i < 64; i++) a[i] = (uint8_t)(i * 37), b[i] = (uint8_t)(255 - i * 11);
    tr_sim_result ra, ra2, rb;
    ck_assert_int_eq(tr_sim_run_bytes(three_workers, NULL, a, sizeof a, NULL, &ra), 0);
    char first[256];
    memcpy(first, order, sizeof first);
    ck_assert_int_eq(tr_sim_run_bytes(three_workers, NULL, a, sizeof a, NULL, &ra2), 0);
    ck_assert_uint_eq(ra.trace_hash, ra2.trace_hash);
    ck_assert_int_eq(tr_sim_run_bytes(three_workers, NULL, b, sizeof b, NULL, &rb), 0);
    ck_assert_uint_ne(ra.trace_hash, rb.trace_hash);
    /* Empty input: every decision is 0, still a valid, repeatable run. */
    ck_assert_int_eq(tr_sim_run_bytes(three_workers, NULL, NULL, 0, NULL, &rb), 0);
    ck_assert_int_eq(rb.rc, 0);
    /* A fuzzer's input saved as a log replays the same run. */
    char path[] = "/tmp/ctrio-bytes-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(tr_sim_run_bytes(three_workers, NULL, a, sizeof a, &(tr_sim_opts){.save_file = path}, &ra2), 0);
    ck_assert_int_eq(tr_sim_run(three_workers, NULL, &(tr_sim_opts){.replay_file = path}, &rb), 0);
    ck_assert_str_eq(first, order);
    unlink(path);
}
END_TEST

START_TEST(test_timer_jitter_is_seeded) {
    tr_time ends[20];
    int distinct = 0;
    for (uint64_t seed = 0; seed < 20; seed++) {
        tr_sim_opts o = {.seed = seed, .timer_jitter = TR_MS(5)};
        tr_sim_result a, b;
        ck_assert_int_eq(tr_sim_run(three_workers, NULL, &o, &a), 0);
        ck_assert_int_eq(tr_sim_run(three_workers, NULL, &o, &b), 0);
        ck_assert_uint_eq(a.trace_hash, b.trace_hash);
        /* Sleeps of 10..12 ms wake 0..5 ms late, never early. */
        ck_assert_int_ge(a.virtual_time, TR_MS(12));
        ck_assert_int_le(a.virtual_time, TR_MS(17));
        int dup = 0;
        for (int i = 0; i < distinct; i++) dup |= ends[i] == a.virtual_time;
        if (!dup) ends[distinct++] = a.virtual_time;
    }
    ck_assert_int_ge(distinct, 5);
    tr_sim_result r;
    ck_assert_int_eq(tr_sim_run(three_workers, NULL, &(tr_sim_opts){.timer_jitter = -1}, &r), -EINVAL);
}
END_TEST

/* A shielded sleep past the virtual-time limit cannot be cancelled: the run
 * must still end (TR_ETIMELIMIT), not ask for the same jump forever. */
static int shielded_long_sleep(void *arg) {
    (void)arg;
    tr_cancel_scope cs;
    tr_scope_enter(&cs, TR_INF);
    tr_scope_set_shield(&cs, true);
    int rc = tr_sleep(TR_SEC(2 * 86400));
    return tr_scope_exit(&cs, rc);
}

START_TEST(test_time_limit_ends_a_shielded_sleep) {
    tr_sim_result r;
    ck_assert_int_eq(tr_sim_run(shielded_long_sleep, NULL, &(tr_sim_opts){.seed = 1}, &r), 0);
    ck_assert_int_eq(r.rc, TR_ETIMELIMIT);
}
END_TEST

/* Jitter at the largest bound still jitters (the bound + 1 must not wrap). */
START_TEST(test_largest_jitter_still_jitters) {
    int late = 0;
    for (uint64_t seed = 0; seed < 10; seed++) {
        tr_sim_result r;
        ck_assert_int_eq(tr_sim_run(three_workers, NULL,
                                    &(tr_sim_opts){.seed = seed, .timer_jitter = TR_SEC(10)}, &r), 0);
        late += r.virtual_time > TR_MS(12);
    }
    ck_assert_int_ge(late, 9);
}
END_TEST

static Suite *sim_suite(void) {
    Suite *s = suite_create("sim");
    TCase *tc = tcase_create("determinism");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_equal_seeds_equal_hashes);
    tcase_add_test(tc, test_seeds_change_the_interleaving);
    tcase_add_test(tc, test_fifo_is_production_order);
    tcase_add_test(tc, test_pct_is_deterministic);
    tcase_add_test(tc, test_save_and_replay);
    tcase_add_test(tc, test_user_choices_are_logged);
    suite_add_tcase(s, tc);
    tc = tcase_create("inject");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_cancel_at_injects_once);
    tcase_add_test(tc, test_cancel_rate_is_seeded);
    tcase_add_test(tc, test_timer_jitter_is_seeded);
    tcase_add_test(tc, test_largest_jitter_still_jitters);
    suite_add_tcase(s, tc);
    tc = tcase_create("shrink");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_shrink_keeps_the_failure);
    suite_add_tcase(s, tc);
    tc = tcase_create("determinism_check");
    tcase_add_test(tc, test_divergence_names_only_the_steps_own_call);
    tcase_add_test(tc, test_divergence_is_named);
    suite_add_tcase(s, tc);
    tc = tcase_create("bytes");
    tcase_add_test(tc, test_bytes_drive_the_schedule);
    suite_add_tcase(s, tc);
    tc = tcase_create("trace");
    tcase_add_test(tc, test_trace_does_not_change_the_run);
    suite_add_tcase(s, tc);
    tc = tcase_create("limits");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_time_limit_ends_a_shielded_sleep);
    tcase_add_test(tc, test_step_limit_stops_a_livelock);
    tcase_add_test(tc, test_step_limit_cancels_first);
    tcase_add_test(tc, test_failure_report_is_captured);
    suite_add_tcase(s, tc);
    return s;
}

#include "check_main.h"
CTRIO_CHECK_MAIN(sim_suite)
