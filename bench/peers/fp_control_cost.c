/* What saving and loading the FP control words costs on this CPU, alone and
 * with other work beside it: the part of a switch no stackful scheduler
 * that keeps them can avoid (bench/README.md, floor_sync). Not linked with
 * ctrio; not run by bench/run. x86-64 only.
 *
 *   cc -O2 bench/peers/fp_control_cost.c -o /tmp/fp_control_cost
 *   taskset -c 1 /tmp/fp_control_cost
 *
 * Prints ns per loop iteration for each body. Each body's control words are
 * stored to and loaded from fixed slots (the loads read what the thread had
 * at the start), as in a switch between two tasks that both keep the
 * defaults. */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#if !defined(__x86_64__)
int main(void) {
    fprintf(stderr, "fp_control_cost: x86-64 only\n");
    return 1;
}
#else

static uint32_t words[8]; /* 0: MXCSR to load, 1: x87 CW to load, 4, 5: stored */

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#define SAVE "stmxcsr 16(%0)\n\tfnstcw 20(%0)\n\t"
#define LOAD "ldmxcsr 0(%0)\n\tfldcw 4(%0)\n\t"
#define MOVES4 "movl $1, %%eax\n\tmovl $2, %%ecx\n\tmovl $3, %%edx\n\tmovl $4, %%esi\n\t"
#define MOVES16 MOVES4 MOVES4 MOVES4 MOVES4

#define MEASURE(label, body)                                                                  \
    do {                                                                                      \
        const long n = 20000000;                                                              \
        int64_t t0 = now_ns();                                                                \
        for (long i = 0; i < n; i++)                                                          \
            __asm__ volatile(body : : "r"(words) : "rax", "rcx", "rdx", "rsi", "memory");     \
        printf("%-40s %6.2f ns\n", label, (double)(now_ns() - t0) / (double)n);               \
    } while (0)

int main(void) {
    __asm__ volatile("stmxcsr %0" : "=m"(words[0]));
    uint16_t cw;
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    words[1] = cw;

    MEASURE("16 moves (the loop alone)", MOVES16);
    MEASURE("stmxcsr", "stmxcsr 16(%0)\n\t");
    MEASURE("ldmxcsr", "ldmxcsr 0(%0)\n\t");
    MEASURE("fnstcw", "fnstcw 20(%0)\n\t");
    MEASURE("fldcw", "fldcw 4(%0)\n\t");
    MEASURE("save + load (a switch's four)", SAVE LOAD);
    MEASURE("save + load + 16 moves", SAVE LOAD MOVES16);
    MEASURE("save + load + 32 moves", SAVE LOAD MOVES16 MOVES16);
    MEASURE("save + load + 64 moves", SAVE LOAD MOVES16 MOVES16 MOVES16 MOVES16);
    MEASURE("64 moves", MOVES16 MOVES16 MOVES16 MOVES16);
    return 0;
}
#endif
