/* The machine's floor for the timers workloads (bench_core timers,
 * bench_virtual_time): the same work done by the least code that can do it
 * with one stack per task. Not linked with ctrio.
 *
 *   floor_timers [N]   N tasks (default 100,000; env TIMERS_N), each on its
 *                      own 64 KiB stack region (as ctrio's), its context at
 *                      the top. The gate opens: the scheduler resumes every
 *                      task in spawn order; task i pushes its deadline
 *                      (1 + (i*7919) mod N) onto a binary min-heap of
 *                      (deadline, task) and switches back. Then the
 *                      scheduler pops the heap and resumes each task at its
 *                      deadline, in deadline order (scrambled relative to
 *                      the stacks' addresses); the task checks the time and
 *                      switches back.
 *
 * No cancellation, no checkpoints, no run queue, no FP control words, no
 * clock: only what any stackful runtime must do per timer (resume the task
 * twice, push and pop a heap entry), plus a prefetch of the next task to
 * wake. Prints, as RESULT lines:
 *   timers_virtual_cpu_per_timer, timers_cpu_per_timer: CPU ns per timer from
 *       the gate opening to the last wake-up (one figure, two names: it bounds
 *       both of ctrio's timer metrics);
 *   timers_virtual_cpu_arm_per_timer: of which until the last deadline is set;
 *   cold_switch_spawn_order, cold_switch_scrambled: ns per resume-and-return
 *       of a task that N others ran since, taken in spawn order or in the
 *       scrambled order above (one ring round each, after the timers).
 *
 * x86-64 only (the switch is six pushes and pops). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#if !defined(__x86_64__)
int main(void) {
    fprintf(stderr, "floor_timers: x86-64 only\n");
    return 1;
}
#else

#define REGION ((size_t)64 << 10)

/* Saves the callee-saved registers on the current stack, stores the stack
 * pointer in *save and resumes the stack whose pointer is load. */
void floor_switch(void **save, void *load);
__asm__(".text\n"
        ".globl floor_switch\n"
        ".type floor_switch,@function\n"
        "floor_switch:\n"
        "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
        "  movq %rsp, (%rdi)\n"
        "  movq %rsi, %rsp\n"
        "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
        "  ret\n"
        ".size floor_switch, .-floor_switch\n");

typedef struct task {
    void *sp;      /* saved stack pointer while away */
    long index;    /* i */
    int64_t deadline;
} task;

typedef struct entry {
    int64_t deadline;
    long index;
} entry;

static struct {
    long n;
    task **tasks;
    entry *heap;
    long heap_len;
    int64_t now;    /* virtual time, moved by the scheduler */
    long late;      /* tasks that woke anywhere but at their deadline */
    void *sched_sp; /* the scheduler's stack pointer while a task runs */
    int phase;      /* 0: arm, 1: wake, 2: ring */
} f;

static int64_t cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void heap_push(entry e) {
    long i = f.heap_len++;
    while (i > 0) {
        long parent = (i - 1) / 2;
        if (f.heap[parent].deadline <= e.deadline) break;
        f.heap[i] = f.heap[parent];
        i = parent;
    }
    f.heap[i] = e;
}

static entry heap_pop(void) {
    entry top = f.heap[0], last = f.heap[--f.heap_len];
    long i = 0;
    for (;;) {
        long c = 2 * i + 1;
        if (c >= f.heap_len) break;
        if (c + 1 < f.heap_len && f.heap[c + 1].deadline < f.heap[c].deadline) c++;
        if (last.deadline <= f.heap[c].deadline) break;
        f.heap[i] = f.heap[c];
        i = c;
    }
    f.heap[i] = last;
    return top;
}

/* Every task's body: arm, wait, check; then answer the ring rounds. */
static void task_main(void) {
    for (;;) {
        task *t;
        __asm__ volatile("" ::: "memory");
        t = f.tasks[f.n]; /* slot n: the task being resumed (see resume) */
        if (f.phase == 0) {
            t->deadline = 1 + (t->index * 7919L) % f.n;
            heap_push((entry){t->deadline, t->index});
        } else if (f.phase == 1) {
            if (f.now != t->deadline) f.late++;
        }
        floor_switch(&t->sp, f.sched_sp);
    }
}

static void resume(task *t) {
    f.tasks[f.n] = t;
    floor_switch(&f.sched_sp, t->sp);
}

static task *task_make(char *region, long i) {
    char *top = region + REGION - 64;
    task *t = (task *)(top - sizeof(task));
    void **sp = (void **)((uintptr_t)t & ~(uintptr_t)15);
    *--sp = NULL;              /* alignment: rsp % 16 == 8 at entry */
    *--sp = (void *)task_main; /* ret target */
    for (int r = 0; r < 6; r++) *--sp = NULL;
    t->sp = sp;
    t->index = i;
    return t;
}

static void result(const char *metric, double value, const char *unit) {
    printf("RESULT %s %.3f %s\n", metric, value, unit);
}

int main(int argc, char **argv) {
    const char *env = getenv("TIMERS_N");
    long n = argc > 1 ? atol(argv[1]) : env ? atol(env) : 100000;
    if (n < 1) return 1;
    f.n = n;
    char *map = mmap(NULL, (size_t)n * REGION, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    f.tasks = calloc((size_t)n + 1, sizeof *f.tasks);
    f.heap = malloc((size_t)n * sizeof *f.heap);
    if (map == MAP_FAILED || !f.tasks || !f.heap) return 1;
    (void)madvise(map, (size_t)n * REGION, MADV_NOHUGEPAGE);
    for (long i = 0; i < n; i++) f.tasks[i] = task_make(map + (size_t)i * REGION, i);

    /* Start every task once (it arms nothing yet: phase 2 is a no-op), so
     * that each stack is faulted in and then evicted by the others. */
    f.phase = 2;
    for (long i = 0; i < n; i++) resume(f.tasks[i]);

    f.phase = 0;
    int64_t c0 = cpu_ns();
    for (long i = 0; i < n; i++) resume(f.tasks[i]);
    int64_t c1 = cpu_ns();
    f.phase = 1;
    entry *order = malloc((size_t)n * sizeof *order);
    if (!order) return 1;
    for (long k = 0; k < n; k++) {
        entry e = heap_pop();
        order[k] = e;
        f.now = e.deadline;
        /* The next task to wake: its page walk and line overlap this one
         * (about a third off this workload here). */
        if (f.heap_len) __builtin_prefetch(f.tasks[f.heap[0].index], 1);
        resume(f.tasks[e.index]);
    }
    int64_t c2 = cpu_ns();
    if (f.late) {
        fprintf(stderr, "floor_timers: %ld tasks woke late\n", f.late);
        return 1;
    }
    result("timers_virtual_cpu_per_timer", (double)(c2 - c0) / (double)n, "ns");
    result("timers_cpu_per_timer", (double)(c2 - c0) / (double)n, "ns/timer");
    result("timers_virtual_cpu_arm_per_timer", (double)(c1 - c0) / (double)n, "ns");

    f.phase = 2;
    int64_t c3 = cpu_ns();
    for (long i = 0; i < n; i++) resume(f.tasks[i]);
    int64_t c4 = cpu_ns();
    for (long k = 0; k < n; k++) resume(f.tasks[order[k].index]);
    int64_t c5 = cpu_ns();
    result("cold_switch_spawn_order", (double)(c4 - c3) / (double)n, "ns");
    result("cold_switch_scrambled", (double)(c5 - c4) / (double)n, "ns");
    free(order);
    free(f.heap);
    free(f.tasks);
    munmap(map, (size_t)n * REGION);
    return 0;
}
#endif
