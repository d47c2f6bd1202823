/* The I/O backend: the private interface between the run loop and the
 * kernel's readiness API. Not installed.
 *
 * Two layers:
 *   - the seam the run loop calls, tr__io_backend {wait, idle} (a vtable, so
 *     a run could wait on something other than the kernel);
 *   - the OS layer below the production seam (tr__io_os): io_wait.c keeps the
 *     portable part (which task waits for which fd and direction, the
 *     tr_wait_* calls, the wake-up fd of tokens and signals), and exactly one
 *     backend file implements the kernel part declared at the end of this
 *     header: io_epoll.c (Linux), io_kqueue.c (BSD, macOS) or io_poll.c
 *     (anything POSIX). CMake's CTRIO_IO_BACKEND compiles one of them.
 *
 * Every function runs in the run's own thread. */
#ifndef CTRIO_IO_PRIVATE_H
#define CTRIO_IO_PRIVATE_H

#include "internal.h"

/* ---- the seam ---------------------------------------------------------- */

typedef struct tr__io_backend {
    /* Wait up to timeout (0: poll, TR_INF: until something arrives) and make
     * the tasks whose I/O is ready runnable. */
    void (*wait)(void *ctx, tr_duration timeout);
    /* True when nothing registered could ever wake the loop. */
    bool (*idle)(void *ctx);
} tr__io_backend;

/* The production backend; its ctx is the run. */
extern const tr__io_backend tr__io_os;

/* ---- the portable part (io_wait.c) ------------------------------------- */

enum { TR__IO_READ = 0, TR__IO_WRITE = 1 };
#define TR__IO_EV_READ 1u
#define TR__IO_EV_WRITE 2u

/* What the run knows about one fd. */
typedef struct tr__fd_slot {
    tr_task *waiter[2]; /* task in tr_wait_readable / tr_wait_writable, or NULL */
    uint8_t kernel;     /* TR__IO_EV_* interest the kernel holds for it now */
    uint32_t index;     /* backend's private index (poll: slot in pollfd array + 1) */
} tr__fd_slot;

/* A run's I/O state, created on first use (a run that does no I/O has none,
 * and its loop sleeps with nanosleep). */
typedef struct tr__io {
    tr__fd_slot *fds;    /* indexed by fd */
    size_t nfds;         /* length of fds */
    size_t waiting[2];   /* tasks waiting to read / to write */
    size_t registered;   /* fds with kernel interest */
    int wake_fd;         /* read end of the wake-up fd (eventfd or pipe), -1: none */
    uint64_t polls;      /* kernel waits made */
    void *os;            /* the backend's own state */
} tr__io;

/* The run's I/O state, created if needed; NULL when out of memory. */
tr__io *tr__io_get(tr__run *r);
/* Drops the kernel's interest in `unused` (events of fd nobody waits for). */
void tr__io_drop(tr__io *io, int fd, tr__fd_slot *s, unsigned unused);

/* Wakes the task waiting on s in direction dir; returns the direction's
 * event bit when nobody waits there. */
static inline unsigned tr__io_wake_dir(tr__run *r, tr__io *io, tr__fd_slot *s, int dir, int value) {
    tr_task *t = s->waiter[dir];
    if (!t) return dir == TR__IO_READ ? TR__IO_EV_READ : TR__IO_EV_WRITE;
    s->waiter[dir] = NULL;
    io->waiting[dir]--;
    t->wait_reason = NULL; /* set by wait_fd (io_wait.c) */
    tr__wake(r, t, value);
    return 0;
}

/* Called by the backend: fd is ready for ev (TR__IO_EV_*, or both on error
 * and hang-up). Wakes its waiters. Interest stays in the kernel after a
 * wake-up (the next wait on the same fd and direction, the common case, then
 * needs no system call); it is dropped when an event comes for a direction
 * nobody waits for. Inline: the backend runs it once per event. */
static inline void tr__io_ready(tr__run *r, tr__io *io, int fd, unsigned ev) {
    tr__fd_slot *s = &io->fds[fd];
    unsigned unused = 0;
    if (ev & TR__IO_EV_READ) unused |= tr__io_wake_dir(r, io, s, TR__IO_READ, 0);
    if (ev & TR__IO_EV_WRITE) unused |= tr__io_wake_dir(r, io, s, TR__IO_WRITE, 0);
    if (TR__UNLIKELY(unused & s->kernel)) tr__io_drop(io, fd, s, unused);
}
/* Watch fd (a wake-up fd that stays readable until drained) for the loop. */
int tr__io_set_wake_fd(tr__run *r, int fd);
void tr__io_free(tr__run *r);
/* tr_notify_closing for run r (callable from the loop, outside a task). */
void tr__io_closing(tr__run *r, int fd);
/* Sets r->io_idle when nothing is pending (see tr__io_update_idle). */
void tr__io_set_idle(tr__run *r);
/* Keeps r->io_idle: true when no task waits for an fd, no token callback
 * and no signal is pending and no instrument wants to see every wait.
 * Inline: the loop calls it on every pass, mostly with fd waiters, and then
 * a plain store is enough (false only makes the loop look more often). */
static inline void tr__io_update_idle(tr__run *r) {
    tr__io *io = r->iox;
    if ((io && (io->waiting[0] | io->waiting[1])) || r->instruments)
        atomic_store_explicit(&r->io_idle, false, memory_order_relaxed);
    else
        tr__io_set_idle(r);
}

/* ---- the kernel part (one io_<backend>.c) ------------------------------- */

extern const char tr__io_os_name[];
/* Create / destroy the backend's state in io->os. */
int tr__io_os_init(tr__io *io);
void tr__io_os_free(tr__io *io);
/* Make the kernel's interest in fd equal `want` (TR__IO_EV_* bits; 0: none)
 * and store it in slot->kernel. 0 or a negative errno (-EBADF for a bad
 * fd, -ENOMEM). */
int tr__io_os_update(tr__io *io, int fd, tr__fd_slot *slot, unsigned want);
/* Forget fd entirely (it is about to be closed). */
void tr__io_os_forget(tr__io *io, int fd, tr__fd_slot *slot);
/* Wait up to timeout for readiness, report each ready fd through
 * tr__io_ready, and drain the wake-up fd (tr__entries_drain) when it fired. */
void tr__io_os_poll(tr__run *r, tr__io *io, tr_duration timeout);

/* ---- the wake-up side (token.c, signal.c) ------------------------------- */

/* The handshake between the loop and the threads that queue callbacks for
 * it (token.c tells the whole story). It is the first member of the run's
 * entry queue, so that the loop's side, on every pass, is inline here. */
typedef struct tr__entries_sync {
    _Atomic unsigned pending; /* nonzero: callbacks are queued, the loop must look */
    atomic_int sleep_state;   /* TR__AWAKE, TR__SLEEPING (blocked or about to), TR__WOKEN */
    bool tokens;              /* a token was handed out (loop thread only): until
                                 then no other thread can queue, and the loop
                                 skips the handshake */
} tr__entries_sync;
enum { TR__AWAKE, TR__SLEEPING, TR__WOKEN };

static inline tr__entries_sync *tr__entries_sync_of(tr__run *r) {
    return (tr__entries_sync *)(void *)r->entries;
}

/* The run's cross-thread entry queue, created on first use. */
int tr__entries_open(tr__run *r);
/* Called by the loop: runs the queued callbacks. */
void tr__entries_run(tr__run *r);

/* Called by the loop (with a queue) before a blocking wait, so that other
 * threads know they must write the wake-up fd. Returns false when a
 * callback is already queued and the loop must not block. Sequentially
 * consistent: either the loop sees the callback or its writer sees the
 * sleeper. */
static inline bool tr__entries_sleep(tr__run *r) {
    tr__entries_sync *e = tr__entries_sync_of(r);
    if (!e->tokens) return true; /* a queue for signals only: they write the fd */
    atomic_store(&e->sleep_state, TR__SLEEPING);
    if (atomic_load(&e->pending) == 0) return true;
    atomic_store_explicit(&e->sleep_state, TR__AWAKE, memory_order_relaxed);
    return false;
}

/* Called by the loop (with a queue) after a blocking wait. A plain store:
 * a writer that still sees SLEEPING only writes the fd once more (a
 * spurious wake-up), and one that sees AWAKE has bumped `pending` before, so
 * the loop finds its callback by its next sleep at the latest. */
static inline void tr__entries_awake(tr__run *r) {
    atomic_store_explicit(&tr__entries_sync_of(r)->sleep_state, TR__AWAKE, memory_order_relaxed);
}

/* Callbacks are queued (the run has a queue). */
static inline bool tr__entries_pending(tr__run *r) {
    return atomic_load(&tr__entries_sync_of(r)->pending) != 0;
}

size_t tr__entries_len(tr__run *r);
void tr__entries_close(tr__run *r);
/* Drain the wake-up fd after the poll reported it (called by the backend). */
void tr__entries_drain(tr__run *r);
/* The write end of the wake-up fd (-1: no queue), and an async-signal-safe
 * write to it. */
int tr__entries_wake_fd(tr__run *r);
void tr__entries_wake_fd_write(int fd);
/* Queue fn(arg) for the token's run; drop(arg) runs instead if the run ends
 * first. 0, -ESHUTDOWN, -EINVAL, -ENOMEM. Any thread. */
int tr__token_push(tr_token tok, void (*fn)(void *), void (*drop)(void *), void *arg);

/* Signals handled by the loop itself (signal.c). */
void tr__signals_start(tr__run *r);
void tr__signals_stop(tr__run *r);
/* SIGINT / SIGQUIT seen by the handler and not yet acted on (signal.c). */
extern atomic_uint tr__signals_seen;
/* Acts on what tr__signals_seen holds (and clears it). */
void tr__signals_act(tr__run *r);
/* Called by the loop on every pass: acts on a pending SIGINT / SIGQUIT.
 * Inline, one relaxed load: a signal almost never comes. */
static inline void tr__signals_check(tr__run *r) {
    if (TR__UNLIKELY(atomic_load_explicit(&tr__signals_seen, memory_order_relaxed))) tr__signals_act(r);
}
/* A SIGINT or SIGQUIT for this run arrived and was not acted on yet. */
bool tr__signals_pending(const tr__run *r);
/* The loop's wake-up fd now exists: signal handlers may write it. */
void tr__signals_wake_fd(tr__run *r);

/* The slot of fd, growing the table; NULL when out of memory. */
tr__fd_slot *tr__io_slot(tr__run *r, tr__io *io, int fd);

#endif
