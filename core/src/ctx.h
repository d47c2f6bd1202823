/* The context switch: one interface, two implementations chosen by CMake
 * (hand-written assembly for x86-64 and aarch64, ucontext elsewhere). */
#ifndef CTRIO_CTX_H
#define CTRIO_CTX_H

#include <stddef.h>
#include <stdint.h>

#include "track.h"

#if defined(CTRIO_CONTEXT_UCONTEXT)
#include <ucontext.h>
#endif

/* Whether a context records its stack's bounds for ASan (and, the ucontext
 * back-end being slow anyway, always there). The asm contexts of other builds
 * stay small: they share the task's first cache line with the switch's other
 * fields. */
#if defined(TR__ASAN) || defined(CTRIO_CONTEXT_UCONTEXT)
#define TR__CTX_TRACKED 1
#else
#define TR__CTX_TRACKED 0
#endif

/* A saved execution context. */
typedef struct tr__ctx {
#if defined(CTRIO_CONTEXT_UCONTEXT)
    ucontext_t uc;          /* the saved registers */
#elif defined(__x86_64__)
    void *sp;               /* stack pointer */
    void *pc;               /* where to resume */
    void *bp;               /* rbp (it may be the frame pointer: not a clobber) */
    uint32_t mxcsr;         /* SSE control and status word */
    uint16_t fpcw;          /* x87 control word */
#else
    void *sp;               /* stack pointer; the registers are saved on the stack */
#endif
#if TR__CTX_TRACKED
    void *fake_stack;       /* ASan's fake stack of this context while it is away */
    const void *stack_lo;   /* bounds of this context's stack, for ASan */
    size_t stack_size;
#endif
} tr__ctx;

/* The calling thread's floating-point control words (MXCSR and x87 CW, or
 * FPCR), packed; new contexts start with them. Read once per run. */
uint64_t tr__ctx_fpenv(void);

/* Prepare c to run entry(arg) on the stack [lo, lo + size) at the first
 * switch to it, with floating-point control words fpenv. entry must never
 * return. */
#if !defined(CTRIO_CONTEXT_UCONTEXT) && defined(__x86_64__)
/* Inline on x86-64: it is part of every spawn. */
void tr__ctx_start(void);
/* A fresh context resumes at tr__ctx_start with rsp = top - 16, where entry
 * and arg wait: 16-byte aligned, as the call in tr__ctx_start requires. They
 * sit in the line the task's first frame uses anyway. */
static inline void tr__ctx_make(tr__ctx *c, char *lo, size_t size, void (*entry)(void *),
                                 void *arg, uint64_t fpenv) {
    uintptr_t top = ((uintptr_t)(lo + size)) & ~(uintptr_t)15;
    uint64_t *sp = (uint64_t *)top - 2;
    sp[0] = (uint64_t)(uintptr_t)entry;
    sp[1] = (uint64_t)(uintptr_t)arg;
    c->sp = sp;
    c->pc = (void *)(uintptr_t)tr__ctx_start;
    c->bp = NULL;
    c->mxcsr = (uint32_t)fpenv;
    c->fpcw = (uint16_t)(fpenv >> 32);
#if TR__CTX_TRACKED
    c->fake_stack = NULL;
    c->stack_lo = lo;
    c->stack_size = size;
#else
    (void)lo;
    (void)size;
#endif
}
#else
void tr__ctx_make(tr__ctx *c, char *lo, size_t size, void (*entry)(void *), void *arg,
                  uint64_t fpenv);
#endif

/* Save the current context in from and resume to. Returns when something
 * switches back to from. from == NULL: the current context is never resumed
 * (a finished task). */
#if defined(CTRIO_CONTEXT_UCONTEXT)
void tr__ctx_switch(tr__ctx *from, tr__ctx *to);
#elif defined(__x86_64__)
/* x86-64: the switch is inline assembly with no call and no ret. The
 * return-stack predictor holds one stack of return addresses for the whole
 * thread; a switch through a called function returns into a frame of
 * another task, and every such return mispredicts (two per switch when the
 * tasks block in different functions: measured +9.6 ns per switch). Here
 * the leaving task records where to resume (label 1) and the switch is an
 * indirect jump, which the branch predictor learns by history.
 *
 * Every general-purpose and vector register but rsp and rbp is declared
 * clobbered, so the compiler saves what it needs around the switch (the
 * callee-saved ones in the enclosing function's prologue, as for any
 * call); rsp, rbp and the resume address are stored in the context. The
 * FP control words (MXCSR, x87 CW) are saved on every switch and loaded
 * only when the resumed context's differ: loading them is the slow part,
 * and they rarely differ. No push: the red zone below rsp stays intact. */
#if defined(__CET__) && (__CET__ & 1)
#define TR__CTX_LANDING "endbr64\n\t"
#else
#define TR__CTX_LANDING ""
#endif
#if defined(__AVX512F__)
#define TR__CTX_CLOBBER_AVX512                                                          \
    , "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", \
        "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "k0", "k1", "k2", \
        "k3", "k4", "k5", "k6", "k7"
#else
#define TR__CTX_CLOBBER_AVX512
#endif
static inline __attribute__((always_inline)) void tr__ctx_switch(tr__ctx *from, tr__ctx *to) {
    tr__ctx dead;
#if TR__CTX_TRACKED
    TR__TRACK_SWITCH_START(from ? &from->fake_stack : NULL, to->stack_lo, to->stack_size);
#endif
    tr__ctx *f = from ? from : &dead;
    tr__ctx *t = to;
    __asm__ volatile("stmxcsr %c[mx](%%rdi)\n\t"
                     "fnstcw %c[cw](%%rdi)\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "movq %%rsp, %c[sp](%%rdi)\n\t"
                     "movq %%rax, %c[pc](%%rdi)\n\t"
                     "movq %%rbp, %c[bp](%%rdi)\n\t"
                     "movq %c[sp](%%rsi), %%rsp\n\t"
                     "movq %c[bp](%%rsi), %%rbp\n\t"
                     "movl %c[mx](%%rsi), %%ecx\n\t"
                     "movzwl %c[cw](%%rsi), %%edx\n\t"
                     "cmpl %c[mx](%%rdi), %%ecx\n\t"
                     "jne 2f\n\t"
                     "cmpw %c[cw](%%rdi), %%dx\n\t"
                     "jne 2f\n\t"
                     "jmp *%c[pc](%%rsi)\n"
                     "2:\n\t"
                     "ldmxcsr %c[mx](%%rsi)\n\t"
                     "fldcw %c[cw](%%rsi)\n\t"
                     "jmp *%c[pc](%%rsi)\n"
                     "1:\n\t" TR__CTX_LANDING
                     : "+D"(f), "+S"(t)
                     : [sp] "i"(offsetof(tr__ctx, sp)), [pc] "i"(offsetof(tr__ctx, pc)),
                       [bp] "i"(offsetof(tr__ctx, bp)), [mx] "i"(offsetof(tr__ctx, mxcsr)),
                       [cw] "i"(offsetof(tr__ctx, fpcw))
                     : "rax", "rbx", "rcx", "rdx", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
                       "r15", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
                       "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
                       "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)",
                       "mm0", "mm1", "mm2", "mm3", "mm4", "mm5", "mm6", "mm7", "memory",
                       "cc" TR__CTX_CLOBBER_AVX512);
#if TR__CTX_TRACKED
    if (from) TR__TRACK_SWITCH_FINISH(from->fake_stack, NULL, NULL);
#endif
}
#else
void tr__ctx_jump(void **save_sp, void *new_sp);
static inline void tr__ctx_switch(tr__ctx *from, tr__ctx *to) {
    void *dead;
#if TR__CTX_TRACKED
    TR__TRACK_SWITCH_START(from ? &from->fake_stack : NULL, to->stack_lo, to->stack_size);
#endif
    tr__ctx_jump(from ? &from->sp : &dead, to->sp);
#if TR__CTX_TRACKED
    if (from) TR__TRACK_SWITCH_FINISH(from->fake_stack, NULL, NULL);
#endif
}
#endif

/* Called first thing on a fresh context (from its entry function); sched is
 * the scheduler's context. The first task of a run is always entered from
 * the scheduler: that first arrival tells ASan's bookkeeping where the
 * scheduler's stack is. Without ASan it is a no-op (spawning is a hot path). */
static inline void tr__ctx_entered(tr__ctx *self, tr__ctx *sched) {
    (void)self;
#ifdef TR__ASAN
    const void *lo = NULL;
    size_t size = 0;
    TR__TRACK_SWITCH_FINISH(NULL, &lo, &size);
    if (!sched->stack_lo) {
        sched->stack_lo = lo;
        sched->stack_size = size;
    }
#else
    (void)sched;
#endif
}

#endif
