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

static unsigned wanted(const tr__fd_slot *s) {
    return (s->waiter[TR__IO_READ] ? TR__IO_EV_READ : 0u) |
           (s->waiter[TR__IO_WRITE] ? TR__IO_EV_WRITE : 0u);
}

static void wake_waiter(tr__run *r, tr__io *io, tr__fd_slot *s, int dir, int value) {
    tr_task *t = s->waiter[dir];
    if (!t) return;
    s->waiter[dir] = NULL;
    io->waiting[dir]--;
    tr__wake(r, t, value);
}

/* Interest stays in the kernel after a wake-up (the next wait on the same fd
 * and direction, the common case, then needs no system call); it is dropped
 * here when an event comes for a direction nobody waits for. */
void tr__io_ready(tr__run *r, tr__io *io, int fd, unsigned ev) {
    tr__fd_slot *s = &io->fds[fd];
    unsigned unused = s->kernel & ev & ~wanted(s); /* nobody waited for these */
    if (ev & TR__IO_EV_READ) wake_waiter(r, io, s, TR__IO_READ, 0);
    if (ev & TR__IO_EV_WRITE) wake_waiter(r, io, s, TR__IO_WRITE, 0);
    if (unused) (void)tr__io_os_update(io, fd, s, s->kernel & ~unused);
}

void tr__io_update_idle(tr__run *r) {
    tr__io *io = r->iox;
    bool idle = !(io && (io->waiting[0] || io->waiting[1])) && !r->instruments;
    atomic_store(&r->io_idle, idle);
    /* A thread that queued a callback after we looked sets it false again;
     * one that did before is seen here. */
    if (idle && r->entries && tr__entries_pending(r)) atomic_store(&r->io_idle, false);
    /* Likewise a SIGINT/SIGQUIT whose handler cleared the flag just before
     * the store above: the loop must still look at it. */
    if (idle && tr__signals_pending(r)) atomic_store(&r->io_idle, false);
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
    if (timeout == 0 && io->waiting[0] + io->waiting[1] == 0) return; /* nothing to look for */
    io->woken = false;
    io->polls++;
    tr__io_os_poll(r, io, timeout);
    if (io->woken) tr__entries_drain(r);
}

static bool os_idle(void *ctx) {
    const tr__io *io = ((tr__run *)ctx)->iox;
    return !io || io->waiting[0] + io->waiting[1] == 0;
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

typedef struct io_wait {
    int fd;  /* what the task waits for */
    int dir; /* TR__IO_READ or TR__IO_WRITE */
} io_wait;

/* Cancelled: forget the waiter; the kernel's interest stays (see
 * tr__io_ready), so the registration the task leaves is the kernel's cache,
 * not a waiter. */
static int io_abort(void *ctx, tr_task *t) {
    io_wait *w = ctx;
    tr__io *io = t->run->iox;
    io->fds[w->fd].waiter[w->dir] = NULL;
    io->waiting[w->dir]--;
    return TR_ABORT_SUCCEEDED;
}

static int arm(tr__run *r, tr_task *t, int fd, int dir) {
    tr__io *io = tr__io_get(r);
    if (!io) return -ENOMEM;
    tr__fd_slot *s = tr__io_slot(r, io, fd);
    if (!s) return -ENOMEM;
    if (s->waiter[dir]) return -EBUSY;
    unsigned want = s->kernel | (dir == TR__IO_READ ? TR__IO_EV_READ : TR__IO_EV_WRITE);
    if (want != s->kernel) {
        int rc = tr__io_os_update(io, fd, s, want);
        if (rc < 0) return rc;
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
        int c = tr_checkpoint_if_cancelled();
        return c < 0 ? c : rc;
    }
    io_wait w = {.fd = fd, .dir = dir};
    t->wait_reason = wait_reason[dir];
    t->wait_fd = fd;
    rc = tr__park(r, t, io_abort, &w);
    t->wait_reason = NULL;
    return rc;
}

#undef tr_wait_readable
int tr_wait_readable(int fd) { return wait_fd("tr_wait_readable", fd, TR__IO_READ); }

#undef tr_wait_writable
int tr_wait_writable(int fd) { return wait_fd("tr_wait_writable", fd, TR__IO_WRITE); }

void tr_notify_closing(int fd) { tr__io_closing(tr__need_run("tr_notify_closing"), fd); }

void tr__io_closing(tr__run *r, int fd) {
    tr__io *io = r->iox;
    if (fd < 0 || !io || (size_t)fd >= io->nfds) return;
    tr__fd_slot *s = &io->fds[fd];
    wake_waiter(r, io, s, TR__IO_READ, -EBADF);
    wake_waiter(r, io, s, TR__IO_WRITE, -EBADF);
    if (s->kernel) tr__io_os_forget(io, fd, s);
}

const char *tr_io_backend_name(void) { return tr__io_os_name; }
