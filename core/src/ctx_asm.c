/* The assembly context switch's C side: reading the FP control words, and
 * (aarch64) preparing a fresh context for arch/aarch64/switch.S, which
 * saves the callee-saved registers and FPCR on the stack. On x86-64 the
 * switch is inline assembly (tr__hop_switch in ctrio/hop.h). */
#include "ctx.h"
#include "track.h"

#include <stdint.h>

void tr__ctx_start(void);

#if defined(__x86_64__)
uint64_t tr__ctx_fpenv(void) {
    uint32_t mxcsr;
    uint16_t fpcw;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(fpcw));
    return (uint64_t)mxcsr | ((uint64_t)fpcw << 32);
}

/* tr__ctx_make: inline, in ctx.h. */
#elif defined(__aarch64__)
/* Initial frame: x19=arg x20=entry ... x29=0 x30=tr__ctx_start, d8-d15, fpcr. */
uint64_t tr__ctx_fpenv(void) {
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    return fpcr;
}

void tr__ctx_make(tr__ctx *c, char *lo, size_t size, void (*entry)(void *), void *arg,
                  uint64_t fpenv) {
    uintptr_t top = ((uintptr_t)(lo + size)) & ~(uintptr_t)15;
    uint64_t *sp = (uint64_t *)(top - 176);
    for (int i = 0; i < 22; i++) sp[i] = 0;
    sp[0] = (uint64_t)(uintptr_t)arg;
    sp[1] = (uint64_t)(uintptr_t)entry;
    sp[11] = (uint64_t)(uintptr_t)tr__ctx_start;
    sp[20] = fpenv;
    c->sp = sp;
#if TR__CTX_TRACKED
    c->fake_stack = NULL;
    c->stack_lo = lo;
    c->stack_size = size;
#endif
}
#else
#error "CTRIO_CONTEXT=asm supports x86-64 and aarch64 only; use CTRIO_CONTEXT=ucontext"
#endif
