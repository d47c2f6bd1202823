/* The context switch: one interface, two implementations chosen by CMake
 * (hand-written assembly for x86-64 and aarch64, ucontext elsewhere). */
#ifndef CTRIO_CTX_H
#define CTRIO_CTX_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ctrio.h"
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
/* x86-64: the switch is inline assembly with no call and no ret
 * (tr__hop_switch in <ctrio/hop.h>, shared with the callers' inlined fast
 * paths). The return-stack predictor holds one stack of return addresses
 * for the whole thread; a switch through a called function returns into a
 * frame of another task, and every such return mispredicts (two per switch
 * when the tasks block in different functions: measured +9.6 ns per
 * switch). */
_Static_assert(offsetof(tr__ctx, sp) == 0 && offsetof(tr__ctx, pc) == 8 &&
                   offsetof(tr__ctx, bp) == 16 && offsetof(tr__ctx, mxcsr) == 24 &&
                   offsetof(tr__ctx, fpcw) == 28,
               "tr__hop_switch (ctrio/hop.h) reads the context at these offsets");
/* Saves the current context in from (never NULL) and resumes to. */
static inline __attribute__((always_inline)) void tr__ctx_jump_to(tr__ctx *from, tr__ctx *to) {
    tr__hop_switch(from, to);
}
#else
void tr__ctx_jump(void **save_sp, void *new_sp);
static inline void tr__ctx_jump_to(tr__ctx *from, tr__ctx *to) { tr__ctx_jump(&from->sp, to->sp); }
#endif
#if !defined(CTRIO_CONTEXT_UCONTEXT)
static inline __attribute__((always_inline)) void tr__ctx_switch(tr__ctx *from, tr__ctx *to) {
    tr__ctx dead; /* where a finished task's context goes */
#if TR__CTX_TRACKED
    TR__TRACK_SWITCH_START(from ? &from->fake_stack : NULL, to->stack_lo, to->stack_size);
#endif
    tr__ctx_jump_to(from ? from : &dead, to);
#if TR__CTX_TRACKED
    if (from) TR__TRACK_SWITCH_FINISH(from->fake_stack, NULL, NULL);
#endif
}
#endif

/* Resumes `to` from a finished task, whose context is never resumed: the
 * effect of tr__ctx_switch(NULL, to). The x86-64 jump saves nothing, so the
 * task's exit path keeps no register for later. */
static inline __attribute__((always_inline, noreturn)) void tr__ctx_exit_to(tr__ctx *to) {
#if defined(__x86_64__) && !TR__CTX_TRACKED
    __asm__ volatile(TR__HOP_RESUME_RSI : : "S"(to) : "memory");
    __builtin_unreachable();
#else
    tr__ctx_switch(NULL, to);
    abort(); /* not reached: a finished task is never resumed */
#endif
}

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
