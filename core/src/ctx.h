/* The context switch: one interface, two implementations chosen by CMake
 * (hand-written assembly for x86-64 and aarch64, ucontext elsewhere). */
#ifndef CTRIO_CTX_H
#define CTRIO_CTX_H

#include <stddef.h>

#include "track.h"

#if defined(CTRIO_CONTEXT_UCONTEXT)
#include <ucontext.h>
#endif

/* A saved execution context. */
typedef struct tr__ctx {
#if defined(CTRIO_CONTEXT_UCONTEXT)
    ucontext_t uc;          /* the saved registers */
#else
    void *sp;               /* stack pointer; the registers are saved on the stack */
#endif
    void *fake_stack;       /* ASan's fake stack of this context while it is away */
    const void *stack_lo;   /* bounds of this context's stack, for ASan */
    size_t stack_size;
    unsigned valgrind_id;   /* valgrind's id for the stack, 0 if none */
} tr__ctx;

#include <stdint.h>

/* The calling thread's floating-point control words (MXCSR and x87 CW, or
 * FPCR), packed; new contexts start with them. Read once per run. */
uint64_t tr__ctx_fpenv(void);

/* Prepare c to run entry(arg) on the stack [lo, lo + size) at the first
 * switch to it, with floating-point control words fpenv. entry must never
 * return. */
#if !defined(CTRIO_CONTEXT_UCONTEXT) && defined(__x86_64__)
/* Inline on x86-64: it is part of every spawn. */
void tr__ctx_start(void);
/* Initial frame, lowest address first, as tr__ctx_jump pops it:
 * [mxcsr | x87 cw] r15 r14 r13=entry r12=arg rbx rbp [ret=tr__ctx_start].
 * Eight words right below top, so that after the ret rsp is top: 16-byte
 * aligned, as the call in tr__ctx_start requires. The task struct sits at
 * top, 64-byte aligned: the frame is exactly one cache line (it used to end
 * 16 bytes lower and straddle two). */
static inline void tr__ctx_make(tr__ctx *c, char *lo, size_t size, void (*entry)(void *),
                                 void *arg, uint64_t fpenv) {
    uintptr_t top = ((uintptr_t)(lo + size)) & ~(uintptr_t)15;
    uint64_t *sp = (uint64_t *)top - 8;
    sp[0] = fpenv;
    sp[1] = 0;
    sp[2] = 0;
    sp[3] = (uint64_t)(uintptr_t)entry;
    sp[4] = (uint64_t)(uintptr_t)arg;
    sp[5] = 0;
    sp[6] = 0;
    sp[7] = (uint64_t)(uintptr_t)tr__ctx_start;
    c->sp = sp;
    c->fake_stack = NULL;
    c->stack_lo = lo;
    c->stack_size = size;
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
#else
void tr__ctx_jump(void **save_sp, void *new_sp);
static inline void tr__ctx_switch(tr__ctx *from, tr__ctx *to) {
    void *dead;
    TR__TRACK_SWITCH_START(from ? &from->fake_stack : NULL, to->stack_lo, to->stack_size);
    tr__ctx_jump(from ? &from->sp : &dead, to->sp);
    if (from) TR__TRACK_SWITCH_FINISH(from->fake_stack, NULL, NULL);
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
