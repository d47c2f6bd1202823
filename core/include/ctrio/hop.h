/* Private to ctrio (every name here starts with tr__): the context switch of
 * the hottest blocking calls, inline in the caller's code.
 *
 * Included by <ctrio.h>; do not include it on its own or call anything here.
 *
 * Why. A task that blocks inside a library function resumes inside it, and
 * that function's return goes to the task's own caller, while the CPU's
 * return predictor holds the addresses of the task that switched away: one
 * mispredicted return per switch, the largest cost of a channel round trip
 * (bench/README.md, floor_sync). So tr_checkpoint, tr_channel_send and
 * tr_channel_receive run in three steps: the library does the work up to the
 * switch (tr__*_begin) and returns, predicted; the caller's inlined code
 * switches, so that the resumed task goes on in its own caller, and answers
 * (tr__hop_end_*_inline; the library's tr__hop_end_* when a cancellation
 * changed meanwhile). The functions of the same names stay available
 * out of line (for function pointers, and for builds without this path).
 *
 * When. x86-64 with GCC or clang, not under AddressSanitizer (a switch must
 * be announced to ASan, and only the library does that); define
 * CTRIO_NO_INLINE_SWITCH to turn it off. A library built with ASan or the
 * ucontext back-end finishes every call itself: the begin call then never
 * asks for a switch. The context layout is fixed here and checked by the
 * library: a program must be built against the headers of the library it
 * links. */
#ifndef CTRIO_HOP_H
#define CTRIO_HOP_H

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* Saves the current context in from and resumes to (both a context: rsp,
 * resume address, rbp, MXCSR, x87 CW at offsets 0, 8, 16, 24, 28). The
 * leaving side stores where to resume (label 1) and jumps: no call and no
 * ret, so the return predictor stays in step. Every register but rsp and
 * rbp is a clobber: the compiler keeps what it needs across, as around a
 * call.
 *
 * Returns from, found in rsi when the caller runs again: whoever resumes a
 * context jumps with rsi holding it (TR__HOP_RESUME_RSI). So the caller
 * keeps nothing of its own across the switch, and rbp stays free for its
 * loop counter: kept on the stack, the counter's add and reload after every
 * switch cost 0.17 ns per tr_checkpoint switch and 0.5 ns per channel round
 * trip (bench/README.md).
 *
 * The FP control words are saved and loaded every time: on the AMD EPYC we
 * measure on, ldmxcsr and fldcw cost under 1 ns while stmxcsr takes ~4 ns,
 * and comparing the stored word with the other task's (to skip the loads)
 * waited on it: 6.6 ns per switch against 5.4 (floor_sync). A CPU where the
 * loads are the slow part may prefer the comparison; measure there before
 * changing this. No push: the red zone below rsp stays intact. */
#if defined(__CET__) && (__CET__ & 1)
#define TR__HOP_LANDING "endbr64\n\t"
#else
#define TR__HOP_LANDING ""
#endif
#if defined(__AVX512F__)
#define TR__HOP_CLOBBER_AVX512                                                          \
    , "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", \
        "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "k0", "k1", "k2", \
        "k3", "k4", "k5", "k6", "k7"
#else
#define TR__HOP_CLOBBER_AVX512
#endif
/* Resumes the context whose address is in rsi (the second half of a switch;
 * alone, the end of a task that never runs again). Every resume goes
 * through here, so rsi still holds the context at its label 1. */
#define TR__HOP_RESUME_RSI                                                    \
    "movq 0(%%rsi), %%rsp\n\t"                                                \
    "movq 16(%%rsi), %%rbp\n\t"                                               \
    "ldmxcsr 24(%%rsi)\n\t"                                                   \
    "fldcw 28(%%rsi)\n\t"                                                     \
    "jmp *8(%%rsi)\n"
static inline __attribute__((always_inline)) void *tr__hop_switch(void *from, void *to) {
    __asm__ volatile("stmxcsr 24(%%rdi)\n\t"
                     "fnstcw 28(%%rdi)\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "movq %%rsp, 0(%%rdi)\n\t"
                     "movq %%rax, 8(%%rdi)\n\t"
                     "movq %%rbp, 16(%%rdi)\n\t" TR__HOP_RESUME_RSI
                     "1:\n\t" TR__HOP_LANDING
                     : "+D"(from), "+S"(to)
                     :
                     : "rax", "rbx", "rcx", "rdx", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
                       "r15", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
                       "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
                       "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)",
                       "mm0", "mm1", "mm2", "mm3", "mm4", "mm5", "mm6", "mm7", "memory",
                       "cc" TR__HOP_CLOBBER_AVX512);
    return to; /* (rsi at label 1: this context, as the resumer left it) */
}
#define TR__HOP_SWITCH_AVAILABLE 1
#endif

#if defined(__SANITIZE_ADDRESS__)
#define TR__HOP_CALLER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TR__HOP_CALLER_ASAN 1
#endif
#endif

/* A begin call's answer, returned in two registers (rax and rdx): either the
 * call is over (to is NULL and rc is its result), or the caller switches from
 * its own context, from, to the context `to`, and once resumed calls the end
 * function of its call with from. No memory round trip: the switch loads the
 * next task's stack pointer straight from the returned register. */
typedef struct tr__hop {
    union {
        void *from; /* the caller's context, when to is set */
        intptr_t rc; /* the call's result, when to is NULL */
    };
    void *to; /* the context to resume, or NULL */
} tr__hop;

/* Room in the caller's frame for its place in a queue while it waits. */
typedef struct tr__hop_space {
    void *space[7];
} tr__hop_space;

/* The library's halves. A begin call does the work up to the switch; an end
 * function, called with the hop's from once the caller runs again, returns
 * the call's result: for tr_checkpoint its cancel point (0 or -ECANCELED),
 * for a channel call the value its task was woken with (0 after a yield). */
TR_API tr__hop tr__checkpoint_begin(void);
TR_API int tr__hop_end_cancel_point(void *from);
TR_API int tr__hop_end_wake(void *from);

/* The ends without the call, for the callers that switch themselves
 * (below, with TR__HOP_INLINE). A task that exits frees its own stack, so a
 * resumed task has nothing to do but answer. They read the task (whose
 * context is its first member) and its run at these offsets, which the
 * library checks. */
#define TR__HOP_TASK_RUN 32           /* tr__run *run */
#define TR__HOP_TASK_CANCEL_GEN 48    /* uint64_t cancel_gen */
#define TR__HOP_TASK_CANCEL_POINTS 64 /* uint64_t cancel_points */
#define TR__HOP_TASK_WAKE_VALUE 76    /* int wake_value */
#define TR__HOP_RUN_CANCEL_GEN 288    /* uint64_t cancel_gen */

#if defined(TR__HOP_SWITCH_AVAILABLE) && !defined(TR__HOP_CALLER_ASAN) && \
    !defined(CTRIO_NO_INLINE_SWITCH)
#define TR__HOP_INLINE 1

/* tr__hop_end_wake: the value the task was woken with. */
static inline __attribute__((always_inline)) int tr__hop_end_wake_inline(void *from) {
    int v;
    __builtin_memcpy(&v, (const char *)from + TR__HOP_TASK_WAKE_VALUE, sizeof v);
    return v;
}

/* tr__hop_end_cancel_point: a cancel point. Its fast path, as the
 * library's: while the task's generation equals its run's, the task is not
 * cancelled (and no cancel hook is installed); it counts the cancel point
 * and answers 0. Otherwise the library's end counts and answers. */
static inline __attribute__((always_inline)) int tr__hop_end_cancel_point_inline(void *from) {
    char *task = (char *)from;
    const char *run;
    unsigned long long task_gen, run_gen, points;
    __builtin_memcpy(&run, task + TR__HOP_TASK_RUN, sizeof run);
    __builtin_memcpy(&task_gen, task + TR__HOP_TASK_CANCEL_GEN, sizeof task_gen);
    __builtin_memcpy(&run_gen, run + TR__HOP_RUN_CANCEL_GEN, sizeof run_gen);
    if (__builtin_expect(task_gen != run_gen, 0)) return tr__hop_end_cancel_point(from);
    __builtin_memcpy(&points, task + TR__HOP_TASK_CANCEL_POINTS, sizeof points);
    points++;
    __builtin_memcpy(task + TR__HOP_TASK_CANCEL_POINTS, &points, sizeof points);
    return 0;
}

/* A begin call's answer finished in the caller: the switch when asked for,
 * then the end, with the context the switch hands back (h.from itself). */
static inline __attribute__((always_inline)) int tr__hop_finish(tr__hop h, int (*end)(void *)) {
    if (__builtin_expect(!h.to, 0)) return (int)h.rc;
    return end(tr__hop_switch(h.from, h.to));
}

static inline __attribute__((always_inline)) TR_NODISCARD int tr__checkpoint_inline(void) {
    return tr__hop_finish(tr__checkpoint_begin(), tr__hop_end_cancel_point_inline);
}
#endif

#endif
