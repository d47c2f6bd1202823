/* x86-64 System V context switch: saves the callee-saved registers and the
 * SSE/x87 control words on the current stack, stores the stack pointer in
 * *save_sp (rdi) and resumes the context whose stack pointer is new_sp (rsi).
 * Loading the control words (ldmxcsr, fldcw) is the slow part of a switch,
 * so they are loaded only when the resumed context's differ from the ones
 * just saved: the state is the same, the common case is cheaper. The saved
 * word is mxcsr | x87 cw << 32 (tr__ctx_make writes the top 16 bits as zero;
 * here they are left as they are and never compared).
 *
 * The comparison reads back the words just stored by stmxcsr/fnstcw; that
 * read is placed after the resumed context's registers are loaded, as far
 * from the stores as possible: read right after them (and as one 8-byte
 * load over the two smaller stores, which cannot be store-forwarded) it cost
 * about 2-3 ns per switch. The return stays a ret: tasks switch from the
 * same call sites, so the return-stack predictor is right, whereas pop+jmp
 * leaves its call unmatched and every later ret mispredicts (measured: 13 ->
 * 30 ns per switch). */
    .text
    .globl  tr__ctx_jump
    .hidden tr__ctx_jump
    .type   tr__ctx_jump, @function
    .p2align 4
tr__ctx_jump:
    pushq   %rbp
    pushq   %rbx
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    subq    $8, %rsp
    stmxcsr (%rsp)
    fnstcw  4(%rsp)
    movq    %rsp, (%rdi)
    movq    %rsp, %r8
    movq    %rsi, %rsp
    movl    (%rsp), %ecx
    movzwl  4(%rsp), %edx
    movq    8(%rsp), %r15
    movq    16(%rsp), %r14
    movq    24(%rsp), %r13
    movq    32(%rsp), %r12
    movq    40(%rsp), %rbx
    movq    48(%rsp), %rbp
    cmpl    (%r8), %ecx
    jne     .Lload_fp
    cmpw    4(%r8), %dx
    jne     .Lload_fp
    addq    $56, %rsp
    ret
.Lload_fp:
    ldmxcsr (%rsp)
    fldcw   4(%rsp)
    addq    $56, %rsp
    ret
    .size   tr__ctx_jump, .-tr__ctx_jump

/* First instruction of a fresh context: r12 = arg, r13 = entry. The stack is
 * 16-byte aligned here, as the call below requires. entry never returns. */
    .globl  tr__ctx_start
    .hidden tr__ctx_start
    .type   tr__ctx_start, @function
    .p2align 4
tr__ctx_start:
    movq    %r12, %rdi
    callq   *%r13
    ud2
    .size   tr__ctx_start, .-tr__ctx_start

    .section .note.GNU-stack,"",@progbits
