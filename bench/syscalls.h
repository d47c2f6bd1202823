/* Counting the system calls the library makes, for the bench programs that
 * want it (bench/core.c, bench/virtual_time.c). Include once, in one file.
 *
 * When linked with -Wl,--wrap=<fn> for the functions below (bench/
 * CMakeLists.txt does it, and defines BENCH_WRAP_SYSCALLS), every call the
 * statically linked library makes to them goes through a counter. vDSO
 * clock_gettime is not a system call and is not counted, nor is anything
 * made through syscall(2) (epoll_pwait2). */
#ifndef CTRIO_BENCH_SYSCALLS_H
#define CTRIO_BENCH_SYSCALLS_H

#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static long bench_syscalls;
static int64_t bench_max_oversleep; /* longest nanosleep overshoot, ns */

#ifdef BENCH_WRAP_SYSCALLS
#define BENCH_WRAP(ret, name, params, args)        \
    ret __real_##name params;                      \
    ret __wrap_##name params;                      \
    ret __wrap_##name params {                     \
        bench_syscalls++;                          \
        return __real_##name args;                 \
    }
/* nanosleep also records how much longer than asked the longest oversleep
 * was, to tell the library's lateness (asked too long) from the system's. */
int __real_nanosleep(const struct timespec *a, struct timespec *b);
int __wrap_nanosleep(const struct timespec *a, struct timespec *b);
int __wrap_nanosleep(const struct timespec *a, struct timespec *b) {
    bench_syscalls++;
    int64_t t0 = bench_wall_ns();
    int rc = __real_nanosleep(a, b);
    int64_t over = bench_wall_ns() - t0 - ((int64_t)a->tv_sec * 1000000000 + a->tv_nsec);
    if (over > bench_max_oversleep) bench_max_oversleep = over;
    return rc;
}
BENCH_WRAP(int, clock_nanosleep, (clockid_t c, int f, const struct timespec *a, struct timespec *b),
           (c, f, a, b))
BENCH_WRAP(int, pause, (void), ())
BENCH_WRAP(int, poll, (struct pollfd *a, nfds_t n, int t), (a, n, t))
BENCH_WRAP(int, ppoll, (struct pollfd *a, nfds_t n, const struct timespec *t, const sigset_t *s),
           (a, n, t, s))
BENCH_WRAP(int, epoll_wait, (int e, struct epoll_event *v, int n, int t), (e, v, n, t))
BENCH_WRAP(int, epoll_pwait, (int e, struct epoll_event *v, int n, int t, const sigset_t *s),
           (e, v, n, t, s))
BENCH_WRAP(int, epoll_ctl, (int e, int op, int fd, struct epoll_event *v), (e, op, fd, v))
BENCH_WRAP(ssize_t, read, (int fd, void *b, size_t n), (fd, b, n))
BENCH_WRAP(ssize_t, write, (int fd, const void *b, size_t n), (fd, b, n))
BENCH_WRAP(void *, mmap, (void *a, size_t l, int p, int f, int fd, off_t o), (a, l, p, f, fd, o))
BENCH_WRAP(int, munmap, (void *a, size_t l), (a, l))
BENCH_WRAP(int, madvise, (void *a, size_t l, int adv), (a, l, adv))
BENCH_WRAP(int, mprotect, (void *a, size_t l, int p), (a, l, p))
#endif

#endif
