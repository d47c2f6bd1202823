/* AArch64 (AAPCS64) context switch: saves x19-x30, d8-d15 and FPCR on the
 * current stack, stores sp in *save_sp (x0) and resumes new_sp (x1). FPCR is
 * written back only when the resumed context's differs (x10 keeps the value
 * just saved). */
    .text
    .globl  tr__ctx_jump
    .hidden tr__ctx_jump
    .type   tr__ctx_jump, %function
    .p2align 4
tr__ctx_jump:
    sub     sp, sp, #176
    stp     x19, x20, [sp, #0]
    stp     x21, x22, [sp, #16]
    stp     x23, x24, [sp, #32]
    stp     x25, x26, [sp, #48]
    stp     x27, x28, [sp, #64]
    stp     x29, x30, [sp, #80]
    stp     d8,  d9,  [sp, #96]
    stp     d10, d11, [sp, #112]
    stp     d12, d13, [sp, #128]
    stp     d14, d15, [sp, #144]
    mrs     x10, fpcr
    str     x10, [sp, #160]
    mov     x9, sp
    str     x9, [x0]
    mov     sp, x1
    ldp     x19, x20, [sp, #0]
    ldp     x21, x22, [sp, #16]
    ldp     x23, x24, [sp, #32]
    ldp     x25, x26, [sp, #48]
    ldp     x27, x28, [sp, #64]
    ldp     x29, x30, [sp, #80]
    ldp     d8,  d9,  [sp, #96]
    ldp     d10, d11, [sp, #112]
    ldp     d12, d13, [sp, #128]
    ldp     d14, d15, [sp, #144]
    ldr     x9, [sp, #160]
    cmp     x9, x10
    b.eq    1f
    msr     fpcr, x9    /* only when it differs: writing FPCR is slow */
1:  add     sp, sp, #176
    ret
    .size   tr__ctx_jump, .-tr__ctx_jump

/* First instruction of a fresh context: x19 = arg, x20 = entry. */
    .globl  tr__ctx_start
    .hidden tr__ctx_start
    .type   tr__ctx_start, %function
    .p2align 4
tr__ctx_start:
    mov     x0, x19
    blr     x20
    brk     #0
    .size   tr__ctx_start, .-tr__ctx_start

    .section .note.GNU-stack,"",%progbits
