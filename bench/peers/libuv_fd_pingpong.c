/* The libuv peer of `bench_io fd_pingpong` (bench/io.c): two ends of one
 * AF_UNIX socketpair on one libuv loop (Debian libuv1-dev), each watched
 * with uv_poll for readability. One round trip = a 1-byte write from end 0
 * to end 1 and a 1-byte write back; N round trips (default 200,000), timed
 * from the first write to the last reply read. Prints
 *
 *     RESULT fd_pingpong <ns per round trip> ns
 *
 * which bench/run reports as libuv.fd_pingpong. Not linked with ctrio.
 * Build: cc -O2 libuv_fd_pingpong.c $(pkg-config --cflags --libs libuv)
 * Run:   taskset -c 0 ./libuv_fd_pingpong [N]                             */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

static int sv[2];
static uv_poll_t end0, end1;
static long n_rounds, rounds_done;
static int failed;

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void stop(int error) {
    failed |= error;
    uv_poll_stop(&end0);
    uv_poll_stop(&end1);
}

/* Read the one byte a readiness report announced: 1 got it, 0 spurious
 * report (EAGAIN), -1 error or end of file. */
static int read_byte(int fd) {
    char c;
    ssize_t n = read(fd, &c, 1);
    if (n == 1) return 1;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    return -1;
}

/* End 1: the ponger. Each byte in is answered with one byte out. */
static void on_end1(uv_poll_t *h, int status, int events) {
    (void)h;
    (void)events;
    int got = status < 0 ? -1 : read_byte(sv[1]);
    if (got < 0 || (got == 1 && write(sv[1], "x", 1) != 1)) stop(1);
}

/* End 0: the pinger. A reply completes a round trip and starts the next. */
static void on_end0(uv_poll_t *h, int status, int events) {
    (void)h;
    (void)events;
    int got = status < 0 ? -1 : read_byte(sv[0]);
    if (got < 0) {
        stop(1);
    } else if (got == 1) {
        if (++rounds_done == n_rounds) stop(0);
        else if (write(sv[0], "x", 1) != 1) stop(1);
    }
}

int main(int argc, char **argv) {
    n_rounds = argc > 1 ? atol(argv[1]) : 200000;
    if (n_rounds <= 0) n_rounds = 200000;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
        perror("socketpair");
        return 1;
    }
    uv_loop_t *loop = uv_default_loop();
    if (uv_poll_init(loop, &end0, sv[0]) || uv_poll_init(loop, &end1, sv[1]) ||
        uv_poll_start(&end0, UV_READABLE, on_end0) || uv_poll_start(&end1, UV_READABLE, on_end1)) {
        fprintf(stderr, "uv_poll setup failed\n");
        return 1;
    }
    long long t0 = now_ns();
    if (write(sv[0], "x", 1) != 1) return 1;
    uv_run(loop, UV_RUN_DEFAULT);
    long long t1 = now_ns();
    if (failed || rounds_done != n_rounds) {
        fprintf(stderr, "ping-pong failed after %ld round trips\n", rounds_done);
        return 1;
    }
    printf("RESULT fd_pingpong %.1f ns\n", (double)(t1 - t0) / (double)n_rounds);
    uv_close((uv_handle_t *)&end0, NULL);
    uv_close((uv_handle_t *)&end1, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    close(sv[0]);
    close(sv[1]);
    return 0;
}
