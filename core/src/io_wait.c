/* The portable half of the production I/O backend: which task waits for
 * which fd, tr_wait_readable / tr_wait_writable / tr_notify_closing, and the
 * seam tr__io_os the run loop calls. The kernel half is one io_<name>.c
 * (see io.h). */
#define _GNU_SOURCE
#include "io.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

/* ---- the fd table ------------------------------------------------------ */

tr__io *tr__io_get(tr__run *r) {
    if (TR__LIKELY(r->iox != NULL)) return r->iox;
    tr__io *io = tr__alloc(r, sizeof *io);
    if (!io) return NULL;
    *io = (tr__io){.wake_fd = -1};
    if (tr__io_os_init(io) != 0) {
        tr__free(r, io);
        return NULL;
    }
    r->iox = io;
    return io;
}

tr__fd_slot *tr__io_slot(tr__run *r, tr__io *io, int fd) {
    if ((size_t)fd < io->nfds) return &io->fds[fd];
    size_t n = io->nfds ? io->nfds : 64;
    while (n <= (size_t)fd) n *= 2;
    tr__fd_slot *s = tr__realloc(r, io->fds, n * sizeof *s);
    if (!s) return NULL;
    memset(s + io->nfds, 0, (n - io->nfds) * sizeof *s);
    io->fds = s;
    io->nfds = n;
    return &s[fd];
}

void tr__io_free(tr__run *r) {
    tr__io *io = r->iox;
    if (!io) return;
    tr__io_os_free(io);
    tr__free(r, io->fds);
    tr__free(r, io);
    r->iox = NULL;
}

void tr__io_drop(tr__io *io, int fd, tr__fd_slot *s, unsigned unused) {
    (void)tr__io_os_update(io, fd, s, s->kernel & ~unused);
}

void tr__io_set_idle(tr__run *r) {
    atomic_store(&r->io_idle, true);
    /* A thread that queued a callback after we looked sets it false again;
     * one that did before is seen here. */
    if (r->entries && tr__entries_pending(r)) atomic_store(&r->io_idle, false);
    /* Likewise a SIGINT/SIGQUIT whose handler cleared the flag just before
     * the store above: the loop must still look at it. */
    if (tr__signals_pending(r)) atomic_store(&r->io_idle, false);
}

/* ---- the seam ---------------------------------------------------------- */

static void sleep_for(tr_duration timeout) {
    if (timeout <= 0) return;
    if (timeout == TR_INF) {
        pause();
        return;
    }
    struct timespec ts = {.tv_sec = timeout / 1000000000, .tv_nsec = timeout % 1000000000};
    nanosleep(&ts, NULL);
}

static void os_wait(void *ctx, tr_duration timeout) {
    tr__run *r = ctx;
    tr__io *io = r->iox;
    if (!io || (io->registered == 0 && io->wake_fd < 0)) {
        sleep_for(timeout);
        return;
    }
    if (timeout == 0 && (io->waiting[0] | io->waiting[1]) == 0) return; /* nothing to look for */
    io->polls++;
    tr__io_os_poll(r, io, timeout);
}

static bool os_idle(void *ctx) {
    const tr__io *io = ((tr__run *)ctx)->iox;
    return !io || (io->waiting[0] | io->waiting[1]) == 0;
}

const tr__io_backend tr__io_os = {.wait = os_wait, .idle = os_idle};

int tr__io_set_wake_fd(tr__run *r, int fd) {
    tr__io *io = tr__io_get(r);
    if (!io) return -ENOMEM;
    tr__fd_slot *s = tr__io_slot(r, io, fd);
    if (!s) return -ENOMEM;
    int rc = tr__io_os_update(io, fd, s, TR__IO_EV_READ);
    if (rc == 0) io->wake_fd = fd;
    return rc;
}

/* ---- waiting for an fd -------------------------------------------------- */

static unsigned dir_event(int dir) { return dir == TR__IO_READ ? TR__IO_EV_READ : TR__IO_EV_WRITE; }

/* Cancelled: forget the waiter (ctx is the direction, t->wait_fd the fd);
 * the kernel's interest stays (see tr__io_ready in io.h), so the
 * registration the task leaves is the kernel's cache, not a waiter. */
static int io_abort(void *ctx, tr_task *t) {
    int dir = (int)(intptr_t)ctx;
    tr__io *io = t->run->iox;
    t->wait_reason = NULL;
    io->fds[t->wait_fd].waiter[dir] = NULL;
    io->waiting[dir]--;
    return TR_ABORT_SUCCEEDED;
}

/* The first wait on an fd and direction, or an error: creates the run's I/O
 * state and the fd's slot, then registers the interest with the kernel.
 * Returns the slot, or NULL with the error in *rc. Out of line, so that the
 * common path of wait_fd stays small. */
static __attribute__((noinline)) tr__fd_slot *arm_slow(tr__run *r, int fd, int dir, int *rc) {
    tr__io *io = tr__io_get(r);
    tr__fd_slot *s = io ? tr__io_slot(r, io, fd) : NULL;
    *rc = -ENOMEM;
    if (!s) return NULL;
    *rc = -EBUSY;
    if (s->waiter[dir]) return NULL;
    unsigned want = s->kernel | dir_event(dir);
    *rc = want != s->kernel ? tr__io_os_update(io, fd, s, want) : 0;
    return *rc < 0 ? NULL : s;
}

/* Makes t the waiter of fd (>= 0) in direction dir. The common case, a wait
 * on an fd whose interest the kernel still holds, needs no system call. */
static inline int arm(tr__run *r, tr_task *t, int fd, int dir) {
    tr__io *io = r->iox;
    tr__fd_slot *s;
    if (TR__LIKELY(io && (size_t)fd < io->nfds && !io->fds[fd].waiter[dir] &&
                   (io->fds[fd].kernel & dir_event(dir)))) {
        s = &io->fds[fd];
    } else {
        int rc;
        s = arm_slow(r, fd, dir, &rc);
        if (!s) return rc;
        io = r->iox;
    }
    s->waiter[dir] = t;
    io->waiting[dir]++;
    atomic_store_explicit(&r->io_idle, false, memory_order_relaxed);
    return 0;
}

static const char *const wait_reason[2] = {"fd readable", "fd writable"};

static int wait_fd(const char *call, int fd, int dir) {
    tr_task *t = tr__need_task(call);
    tr__run *r = t->run;
    if (fd < 0) return -EINVAL;
    int rc = arm(r, t, fd, dir);
    if (rc < 0) {
        /* Still a checkpoint (Trio's rule), then the error. */
        int c = tr__checkpoint_if_cancelled(t);
        return c < 0 ? c : rc;
    }
    t->wait_reason = wait_reason[dir];
    t->wait_fd = fd;
    /* A tail call (whoever wakes the task clears wait_reason): no frame of
     * ours is left to return through once the task runs again, which costs
     * a mispredicted return each time here, as the kernel's system calls in
     * between leave the return predictor cold. */
    return tr__park(r, t, io_abort, (void *)(intptr_t)dir);
}

#undef tr_wait_readable
TR__UNSITED(int, tr_wait_readable, (int fd), (fd))
int TR__AT(tr_wait_readable)(int fd) { return wait_fd("tr_wait_readable", fd, TR__IO_READ); }

#undef tr_wait_writable
TR__UNSITED(int, tr_wait_writable, (int fd), (fd))
int TR__AT(tr_wait_writable)(int fd) { return wait_fd("tr_wait_writable", fd, TR__IO_WRITE); }

void tr_notify_closing(int fd) { tr__io_closing(tr__need_run("tr_notify_closing"), fd); }

void tr__io_closing(tr__run *r, int fd) {
    tr__io *io = r->iox;
    if (fd < 0 || !io || (size_t)fd >= io->nfds) return;
    tr__fd_slot *s = &io->fds[fd];
    (void)tr__io_wake_dir(r, io, s, TR__IO_READ, -EBADF);
    (void)tr__io_wake_dir(r, io, s, TR__IO_WRITE, -EBADF);
    if (s->kernel) tr__io_os_forget(io, fd, s);
}

const char *tr_io_backend_name(void) { return tr__io_os_name; }
