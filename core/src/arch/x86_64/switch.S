/* x86-64 System V: the first instruction of a fresh context. The switch
 * itself is inline assembly, tr__hop_switch in core/include/ctrio/hop.h (no
 * call and no ret: see there why).
 *
 * tr__ctx_make leaves rsp = top - 16 pointing at [entry, arg], 16-byte
 * aligned, as the call below requires. entry never returns. */
    .text
    .globl  tr__ctx_start
    .hidden tr__ctx_start
    .type   tr__ctx_start, @function
    .p2align 4
tr__ctx_start:
#if defined(__CET__) && (__CET__ & 1)
    endbr64                 /* reached by an indirect jump */
#endif
    movq    8(%rsp), %rdi
    callq   *(%rsp)
    ud2
    .size   tr__ctx_start, .-tr__ctx_start

    .section .note.GNU-stack,"",@progbits
