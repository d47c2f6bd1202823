/* Virtual time: timers on the mock clock with autojump 0, the workload of
 * the peers' "timers_autojump" (python3-trio with
 * MockClock(autojump_threshold=0)), scaled to hours.
 *
 *   bench_virtual_time [N]   N tasks (default 100,000; env TIMERS_N) wait at a
 *                            gate; when it opens, task i sleeps until start +
 *                            (1 + (i*7919) mod N) hours: N distinct deadlines
 *                            in a scrambled order, so virtual time jumps N
 *                            times. timers_virtual_cpu_per_timer = CPU ns per
 *                            timer from the gate opening to the last wake-up
 *                            (of which timers_virtual_cpu_arm_per_timer: until
 *                            the last task has set its deadline).
 *
 * Every task must wake exactly at its deadline (lateness 0) and the run must
 * end at exactly N hours of virtual time; anything else fails the program.
 * Output: "RESULT <metric> <value> <unit>" lines. */
#include "bench.h"

#include <ctrio.h>
#include <ctrio/autojump.h>


#include "syscalls.h"

/* ---- the workload ------------------------------------------------------- */

static struct {
    long n;
    tr_task **gate;  /* tasks waiting for the gate, by index; NULL: gone */
    long at_gate;    /* tasks that reached the gate */
    tr_time start;   /* the gate's opening, virtual */
    long left;       /* timers still to fire */
    long late;       /* timers that woke anywhere but at their deadline */
    long armed;      /* timers set after the gate opened */
    int64_t armed_cpu; /* CPU time when the last one was set */
    tr_task *main;   /* main, while it waits for the last timer */
} vt;

static tr_duration hours_of(long i) { return TR_SEC(3600) * (1 + (i * 7919L) % vt.n); }

static int leave_slot(void *ctx, tr_task *task) {
    (void)task;
    *(tr_task **)ctx = NULL;
    return TR_ABORT_SUCCEEDED;
}

static int timer_task(void *arg) {
    long i = (long)(intptr_t)arg;
    vt.gate[i] = tr_current_task();
    vt.at_gate++;
    if (tr_wait_task_rescheduled(leave_slot, &vt.gate[i]) < 0) return 0;
    tr_time deadline = vt.start + hours_of(i);
    if (++vt.armed == vt.n) vt.armed_cpu = bench_cpu_ns();
    if (tr_sleep_until(deadline) < 0) return 0;
    if (tr_current_time() != deadline) vt.late++;
    if (--vt.left == 0 && vt.main) {
        tr_task *m = vt.main;
        vt.main = NULL;
        tr_reschedule(m, 0);
    }
    /* Stay alive until the measurement is over (as the peers do). */
    int rc = tr_sleep_forever();
    return rc == -ECANCELED ? 0 : rc;
}

static int main_virtual(void *arg) {
    long n = *(long *)arg;
    tr_nursery nursery;
    vt.n = vt.left = n;
    vt.gate = calloc((size_t)n, sizeof *vt.gate);
    if (!vt.gate) return -ENOMEM;
    tr_nursery_open(&nursery);
    for (long i = 0; i < n; i++)
        BENCH_CHECK(tr_start_soon(&nursery, timer_task, (void *)(intptr_t)i));
    while (vt.at_gate < n) BENCH_CHECK(tr_checkpoint());
    long sys1 = bench_syscalls;
    int64_t w1 = bench_wall_ns(), c1 = bench_cpu_ns();
    vt.start = tr_current_time();
    for (long i = 0; i < n; i++) {
        tr_task *t = vt.gate[i];
        vt.gate[i] = NULL;
        if (t) tr_reschedule(t, 0);
    }
    vt.main = tr_current_task();
    BENCH_CHECK(tr_wait_task_rescheduled(leave_slot, &vt.main));
    int64_t c2 = bench_cpu_ns(), w2 = bench_wall_ns();
    long sys2 = bench_syscalls;
    tr_duration virtual_span = tr_current_time() - vt.start;
    tr_nursery_cancel(&nursery);
    int rc = tr_nursery_join(&nursery, 0);
    free(vt.gate);
    if (rc < 0) return rc;
    if (vt.late || virtual_span != TR_SEC(3600) * n) {
        fprintf(stderr, "bench: virtual_time: %ld timers late; span %lld ns, expected %lld\n",
                vt.late, (long long)virtual_span, (long long)(TR_SEC(3600) * n));
        return -EINVAL;
    }
    bench_result("timers_virtual_cpu_per_timer", (double)(c2 - c1) / (double)n, "ns");
    bench_result("timers_virtual_cpu_arm_per_timer", (double)(vt.armed_cpu - c1) / (double)n,
                 "ns");
    bench_result("timers_virtual_wall", (double)(w2 - w1) / 1e6, "ms");
    bench_result("timers_virtual_span", (double)virtual_span / 3.6e12, "h");
#ifdef BENCH_WRAP_SYSCALLS
    bench_result("timers_virtual_syscalls_per_timer", (double)(sys2 - sys1) / (double)n,
                 "calls/timer");
#else
    (void)sys1, (void)sys2;
#endif
    return 0;
}

int main(int argc, char **argv) {
    long n = bench_count(argc, argv, 1, "TIMERS_N", 100000);
    tr_mock_clock *mc;
    BENCH_CHECK(tr_mock_clock_new(&mc));
    BENCH_CHECK(tr_mock_clock_set_autojump_threshold(mc, 0));
    tr_run_opts opts = {TR_MOCK_CLOCK_OPTS(mc)};
    int rc = tr_run(main_virtual, &n, &opts);
    tr_mock_clock_free(mc);
    if (rc < 0) {
        fprintf(stderr, "bench: virtual_time: tr_run -> %s\n", tr_strerror(rc));
        return 1;
    }
    return 0;
}
