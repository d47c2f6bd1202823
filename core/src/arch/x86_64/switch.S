/* x86-64 System V context switch: saves the callee-saved registers and the
 * SSE/x87 control words on the current stack, stores the stack pointer in
 * *save_sp (rdi) and resumes the context whose stack pointer is new_sp (rsi).
 * Loading the control words (ldmxcsr, fldcw) is the slow part of a switch,
 * so they are loaded only when the resumed context's differ from the ones
 * just saved: the state is the same, the common case is cheaper. The saved
 * word is mxcsr | x87 cw << 32, with the top 16 bits zero. */
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
    movl    $0, 4(%rsp)
    stmxcsr (%rsp)
    fnstcw  4(%rsp)
    movq    (%rsp), %rax
    movq    %rsp, (%rdi)
    movq    %rsi, %rsp
    cmpq    (%rsp), %rax
    jne     .Lload_fp
.Lrestore:
    addq    $8, %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
    ret
.Lload_fp:
    ldmxcsr (%rsp)
    fldcw   4(%rsp)
    jmp     .Lrestore
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
