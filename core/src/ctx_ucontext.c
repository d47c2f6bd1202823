/* Portable fallback context switch on ucontext (a system call per switch
 * for the signal mask: correct everywhere, slow). */
#define _GNU_SOURCE
#include "ctx.h"
#include "track.h"

#include <stdint.h>
#include <stdlib.h>

/* makecontext passes int arguments only: the entry and its argument travel
 * as two halves each. */
static void trampoline(unsigned eh, unsigned el, unsigned ah, unsigned al) {
    void (*entry)(void *) = (void (*)(void *))(((uintptr_t)eh << 32) | el);
    void *arg = (void *)(((uintptr_t)ah << 32) | al);
    entry(arg);
    abort();
}

/* getcontext saves the floating-point environment itself. */
uint64_t tr__ctx_fpenv(void) { return 0; }

void tr__ctx_make(tr__ctx *c, char *lo, size_t size, void (*entry)(void *), void *arg,
                  uint64_t fpenv) {
    (void)fpenv;
    uintptr_t e = (uintptr_t)entry, a = (uintptr_t)arg;
    if (getcontext(&c->uc) != 0) abort();
    c->uc.uc_stack.ss_sp = lo;
    c->uc.uc_stack.ss_size = size;
    c->uc.uc_link = NULL;
    makecontext(&c->uc, (void (*)(void))trampoline, 4, (unsigned)(e >> 32), (unsigned)e,
                (unsigned)(a >> 32), (unsigned)a);
    c->fake_stack = NULL;
    c->stack_lo = lo;
    c->stack_size = size;
}

void tr__ctx_switch(tr__ctx *from, tr__ctx *to) {
    TR__TRACK_SWITCH_START(from ? &from->fake_stack : NULL, to->stack_lo, to->stack_size);
    if (from == NULL) {
        setcontext(&to->uc);
        abort();
    }
    if (swapcontext(&from->uc, &to->uc) != 0) abort();
    TR__TRACK_SWITCH_FINISH(from->fake_stack, NULL, NULL);
}
