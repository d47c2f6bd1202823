/* The machine's floor for the switch and channel workloads (bench_core
 * switch, bench_sync pingpong and stream): the same work done by the least
 * code that keeps Trio's rules for it. Not linked with ctrio.
 *
 *   floor_sync switch [N]    two tasks yield to each other N times in all
 *                            (default 10,000,000): switch = ns per switch
 *   floor_sync pingpong [N]  A sends an 8-byte item to B on an unbuffered
 *                            channel, B sends it back on another; N round
 *                            trips (default 2,000,000): pingpong = ns each
 *   floor_sync stream [N]    one producer, one consumer, buffer 1024, N
 *                            8-byte items (default 20,000,000):
 *                            stream_cap1024 = msgs/s
 *   floor_sync all           all three
 *
 * What it keeps, because the workloads require it: one stack per task; a
 * FIFO run queue; the floating-point control words (MXCSR, x87 CW) saved
 * and loaded at every switch; Trio's rule that a send or a receive that
 * succeeds at once is still a schedule point (the task yields),
 * so a round trip is four switches and a streamed item two. The switch is
 * ctrio's own inline asm (tr__hop_switch from <ctrio/hop.h>, a header only:
 * this program does not link ctrio), inlined into the task's own loop as
 * ctrio's fast paths are (hop.h says why). Build with -DFLOOR_OUT_OF_LINE
 * for send and receive as called functions that switch inside, where every
 * switch costs a mispredicted return.
 *
 * What it leaves out: cancellation and every check for it, task states,
 * counters, nurseries, errors, closing, clones, more than one waiter per
 * direction, any bound on the run queue but 8 tasks. x86-64 only. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <ctrio.h> /* for tr__hop_switch only (bench/run adds core/include) */

#if !defined(__x86_64__)
int main(void) {
    fprintf(stderr, "floor_sync: x86-64 only\n");
    return 1;
}
#else

#define STACK ((size_t)64 << 10)

typedef struct task {
    void *sp, *pc, *bp; /* resumed by jumping to pc with this rsp and rbp */
    uint32_t mxcsr;
    uint16_t fpcw;
    uint64_t item; /* blocked in send: its item; in receive: what it gets */
} task;

static task main_ctx; /* the thread's own stack: runs when no task can */
static task *cur;
static task *ring[8];
static unsigned ring_head, ring_tail;

static inline void make_runnable(task *t) { ring[ring_tail++ & 7] = t; }
static inline task *next_runnable(void) {
    return ring_head == ring_tail ? &main_ctx : ring[ring_head++ & 7];
}

/* Save the current context in from and resume to: ctrio's own switch
 * (tr__hop_switch, inline in <ctrio/hop.h>; nothing of ctrio is linked). */
static inline __attribute__((always_inline)) void floor_switch(task *from, task *to) {
    tr__hop_switch(from, to);
}
_Static_assert(offsetof(task, sp) == 0 && offsetof(task, pc) == 8 && offsetof(task, bp) == 16 &&
                   offsetof(task, mxcsr) == 24 && offsetof(task, fpcw) == 28,
               "the context layout tr__hop_switch reads");

/* The current task is queued or waits: run the next one. */
static inline void run_next(void) {
    task *prev = cur;
    cur = next_runnable();
    if (cur != prev) floor_switch(prev, cur);
}
static inline void yield(void) {
    make_runnable(cur);
    run_next();
}

/* ---- tasks ------------------------------------------------------------ */

typedef void (*body_fn)(void *);
void floor_start(void);
__asm__(".text\n"
        ".type floor_start,@function\n"
        "floor_start:\n"
        "  movq 8(%rsp), %rdi\n"
        "  callq *(%rsp)\n"
        "  ud2\n"
        ".size floor_start, .-floor_start\n");

typedef struct spawned {
    task t;
    body_fn fn;
    void *arg;
    char *stack;
} spawned;

static task dead; /* where a finished task's last context goes */

static void entry(void *p) {
    spawned *s = p;
    s->fn(s->arg);
    cur = next_runnable();
    floor_switch(&dead, cur);
    abort();
}

static void spawn(spawned *s, body_fn fn, void *arg) {
    s->stack = mmap(NULL, STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (s->stack == MAP_FAILED) {
        perror("floor_sync: mmap");
        exit(1);
    }
    uint64_t *sp = (uint64_t *)(s->stack + STACK) - 2;
    sp[0] = (uint64_t)(uintptr_t)entry;
    sp[1] = (uint64_t)(uintptr_t)s;
    s->fn = fn;
    s->arg = arg;
    s->t.sp = sp;
    s->t.pc = (void *)(uintptr_t)floor_start;
    s->t.bp = NULL;
    s->t.mxcsr = main_ctx.mxcsr;
    s->t.fpcw = main_ctx.fpcw;
    make_runnable(&s->t);
}

/* Run every spawned task until all have returned. */
static void run_all(void) {
    __asm__ volatile("stmxcsr %0" : "=m"(main_ctx.mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(main_ctx.fpcw));
    cur = &main_ctx;
    run_next();
}

/* ---- channels ---------------------------------------------------------- */

typedef struct chan {
    uint64_t *buf;
    unsigned cap, head, len; /* cap: 0 or a power of two */
    task *sender, *receiver; /* the one blocked on each side, if any */
} chan;

#ifdef FLOOR_OUT_OF_LINE
#define OP __attribute__((noinline)) static
#else
#define OP static inline __attribute__((always_inline))
#endif

OP void send(chan *c, uint64_t v) {
    task *r = c->receiver;
    if (r) { /* hand it over */
        c->receiver = NULL;
        r->item = v;
        make_runnable(r);
        yield();
    } else if (c->len < c->cap) {
        c->buf[(c->head + c->len++) & (c->cap - 1)] = v;
        yield();
    } else {
        cur->item = v;
        c->sender = cur;
        run_next();
    }
}

OP uint64_t receive(chan *c) {
    task *s = c->sender;
    uint64_t v;
    if (s) { /* the oldest item, and the sender's item takes its slot */
        c->sender = NULL;
        if (c->len) {
            v = c->buf[c->head];
            c->buf[c->head] = s->item;
            c->head = (c->head + 1) & (c->cap - 1);
        } else {
            v = s->item;
        }
        make_runnable(s);
        yield();
    } else if (c->len) {
        v = c->buf[c->head];
        c->head = (c->head + 1) & (c->cap - 1);
        c->len--;
        yield();
    } else {
        task *me = cur;
        c->receiver = me;
        run_next();
        v = me->item;
    }
    return v;
}

/* ---- workloads ----------------------------------------------------------- */

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static long n_ops;
static chan ping, pong, stream;
static uint64_t stream_sum;

static void yielder(void *arg) {
    (void)arg;
    for (long i = 0; i < n_ops; i++) yield();
}

static void pp_a(void *arg) {
    (void)arg;
    uint64_t v = 0;
    for (long i = 0; i < n_ops; i++) {
        send(&ping, v);
        v = receive(&pong) + 1;
    }
}

static void pp_b(void *arg) {
    (void)arg;
    for (long i = 0; i < n_ops; i++) send(&pong, receive(&ping));
}

static void producer(void *arg) {
    (void)arg;
    for (long i = 0; i < n_ops; i++) send(&stream, (uint64_t)i);
}

static void consumer(void *arg) {
    (void)arg;
    for (long i = 0; i < n_ops; i++) stream_sum += receive(&stream);
}

/* Run two tasks to completion; returns the elapsed ns. */
static int64_t run_pair(body_fn a, body_fn b, long n) {
    spawned sa, sb;
    n_ops = n;
    spawn(&sa, a, NULL);
    spawn(&sb, b, NULL);
    int64_t t0 = now_ns();
    run_all();
    int64_t ns = now_ns() - t0;
    munmap(sa.stack, STACK);
    munmap(sb.stack, STACK);
    return ns;
}

static void bench_switch(long n) {
    long per_task = n / 2;
    run_pair(yielder, yielder, per_task / 20 + 1);
    int64_t ns = run_pair(yielder, yielder, per_task);
    printf("RESULT switch %.3f ns/switch\n", (double)ns / (double)(2 * per_task));
}

static void bench_pingpong(long n) {
    run_pair(pp_a, pp_b, n / 20 + 1);
    printf("RESULT pingpong %.3f ns\n", (double)run_pair(pp_a, pp_b, n) / (double)n);
}

static void bench_stream(long n) {
    static uint64_t buf[1024];
    stream = (chan){.buf = buf, .cap = 1024};
    run_pair(producer, consumer, n / 20 + 1);
    stream = (chan){.buf = buf, .cap = 1024};
    stream_sum = 0;
    int64_t ns = run_pair(producer, consumer, n);
    if (stream_sum != (uint64_t)n * (uint64_t)(n - 1) / 2) {
        fprintf(stderr, "floor_sync: stream lost items\n");
        exit(1);
    }
    printf("RESULT stream_cap1024 %.3f msgs/s\n", (double)n * 1e9 / (double)ns);
}

int main(int argc, char **argv) {
    const char *test = argc > 1 ? argv[1] : "all";
    long n = argc > 2 ? atol(argv[2]) : 0;
    int all = strcmp(test, "all") == 0, ran = 0;
    if (all || !strcmp(test, "switch")) ran = 1, bench_switch(n > 0 ? n : 10000000);
    if (all || !strcmp(test, "pingpong")) ran = 1, bench_pingpong(n > 0 ? n : 2000000);
    if (all || !strcmp(test, "stream")) ran = 1, bench_stream(n > 0 ? n : 20000000);
    if (!ran) {
        fprintf(stderr, "usage: floor_sync [switch|pingpong|stream|all] [N]\n");
        return 2;
    }
    return 0;
}
#endif
