/* The context switch: one interface, two implementations chosen by CMake
 * (hand-written assembly for x86-64 and aarch64, ucontext elsewhere). */
#ifndef CTRIO_CTX_H
#define CTRIO_CTX_H

#include <stddef.h>

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

/* Prepare c to run entry(arg) on the stack [lo, lo + size) at the first
 * switch to it. entry must never return. */
void tr__ctx_make(tr__ctx *c, char *lo, size_t size, void (*entry)(void *), void *arg);

/* Save the current context in from and resume to. Returns when something
 * switches back to from. from == NULL: the current context is never resumed
 * (a finished task). */
void tr__ctx_switch(tr__ctx *from, tr__ctx *to);

/* Called first thing on a fresh context (from its entry function). */
void tr__ctx_entered(tr__ctx *self, tr__ctx *from);

#endif
