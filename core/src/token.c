/* Tokens and the cross-thread entry queue (trio.lowlevel.TrioToken and
 * Trio's _entry_queue.py).
 *
 * A token is a value: the run's process-wide id. Every live run with a queue
 * is in one global list under one mutex, so a token of a finished run finds
 * nothing and fails with -ESHUTDOWN: no token ever points at freed memory.
 *
 * Waking. Other threads write the wake-up fd (eventfd; a pipe where there is
 * none) only while the loop is about to block or blocked in the kernel, and
 * once per sleep: `sleep_state` goes AWAKE -> SLEEPING (the loop) ->
 * WOKEN (the first writer, which writes the fd). While the loop is busy
 * they only clear run->io_idle, which makes the loop look at the queue
 * after the current batch: no system call per batch, none per callback.
 * No lock on the loop's side: the loop publishes SLEEPING and then reads
 * `pending`; a writer bumps `pending` and then moves SLEEPING to WOKEN; both
 * sequentially consistent, so either the loop sees the work or the writer
 * sees the sleeper. The loop's side is inline in io.h (tr__entries_sync);
 * it skips the handshake until a token is handed out (a queue opened for
 * signals only: their handler writes the fd itself). */
#define _GNU_SOURCE
#include "io.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/eventfd.h>
#endif

typedef struct entry {
    void (*fn)(void *arg);   /* run in the loop */
    void (*drop)(void *arg); /* or this, when the run ends first (may be NULL) */
    void *arg;
    struct entry *next;
} entry;

typedef struct tr__entries tr__entries;
struct tr__entries {
    tr__entries_sync sync;    /* the handshake (io.h): must stay first */
    uint64_t id;              /* the tokens' id */
    tr__run *run;             /* valid while in the live list */
    entry *head;              /* FIFO of queued callbacks */
    entry **tail;
    size_t len;
    int wake_rd;              /* read end, watched by the backend */
    int wake_wr;              /* write end (the same fd for an eventfd) */
    struct tr__entries *next; /* in the live list */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER; /* guards everything above */
static tr__entries *live;                              /* runs with a queue */
static uint64_t last_id;                               /* ids handed out */

static int open_wake_fds(int *rd, int *wr) {
#ifdef __linux__
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) return -errno;
    *rd = *wr = fd;
    return 0;
#else
    int p[2];
    if (pipe(p) < 0) return -errno;
    for (int i = 0; i < 2; i++) {
        fcntl(p[i], F_SETFD, FD_CLOEXEC);
        fcntl(p[i], F_SETFL, O_NONBLOCK);
    }
    *rd = p[0];
    *wr = p[1];
    return 0;
#endif
}

static void close_wake_fds(tr__entries *e) {
    close(e->wake_rd);
    if (e->wake_wr != e->wake_rd) close(e->wake_wr);
}

int tr__entries_open(tr__run *r) {
    if (r->entries) return 0;
    tr__entries *e = calloc(1, sizeof *e);
    if (!e) return -ENOMEM;
    int rc = open_wake_fds(&e->wake_rd, &e->wake_wr);
    if (rc == 0 && (rc = tr__io_set_wake_fd(r, e->wake_rd)) < 0) close_wake_fds(e);
    if (rc < 0) {
        free(e);
        return rc;
    }
    e->run = r;
    e->tail = &e->head;
    pthread_mutex_lock(&mu);
    e->id = ++last_id;
    e->next = live;
    live = e;
    pthread_mutex_unlock(&mu);
    r->entries = e;
    /* Whoever opened it (a token, the first blocking wait), SIGINT's handler
     * must know the fd, or a signal on another thread wakes nobody. */
    tr__signals_wake_fd(r);
    return 0;
}

int tr__entries_wake_fd(tr__run *r) { return r->entries ? r->entries->wake_wr : -1; }

/* Async-signal-safe: writes the wake-up fd. */
void tr__entries_wake_fd_write(int fd) {
    uint64_t one = 1;
    ssize_t n = write(fd, &one, sizeof one);
    (void)n;
}

static tr__entries *find_locked(uint64_t id) {
    for (tr__entries *e = live; e; e = e->next)
        if (e->id == id) return e;
    return NULL;
}

static void wake_locked(tr__entries *e) {
    atomic_fetch_add(&e->sync.pending, 1);
    atomic_store(&e->run->io_idle, false);
    int sleeping = TR__SLEEPING;
    if (atomic_compare_exchange_strong(&e->sync.sleep_state, &sleeping, TR__WOKEN))
        tr__entries_wake_fd_write(e->wake_wr);
}

/* Queue fn/drop for the token's run; -ESHUTDOWN when it is gone. */
int tr__token_push(tr_token tok, void (*fn)(void *), void (*drop)(void *), void *arg) {
    if (tok.tr__id == 0 || !fn) return -EINVAL;
    entry *n = malloc(sizeof *n);
    if (!n) return -ENOMEM;
    *n = (entry){.fn = fn, .drop = drop, .arg = arg};
    pthread_mutex_lock(&mu);
    tr__entries *e = find_locked(tok.tr__id);
    if (e) {
        *e->tail = n;
        e->tail = &n->next;
        e->len++;
        wake_locked(e);
    }
    pthread_mutex_unlock(&mu);
    if (!e) free(n);
    return e ? 0 : -ESHUTDOWN;
}

int tr_token_run_sync_soon(tr_token tok, void (*fn)(void *arg), void *arg) {
    return tr__token_push(tok, fn, NULL, arg);
}

tr_token tr_current_token(void) {
    tr__run *r = tr__need_run("tr_current_token");
    if (tr__entries_open(r) < 0) return (tr_token){0};
    r->entries->sync.tokens = true;
    return (tr_token){r->entries->id};
}

/* ---- the loop's side ----------------------------------------------------- */

size_t tr__entries_len(tr__run *r) {
    if (!r->entries) return 0;
    pthread_mutex_lock(&mu);
    size_t n = r->entries->len;
    pthread_mutex_unlock(&mu);
    return n;
}

void tr__entries_drain(tr__run *r) {
    tr__entries *e = r->entries;
    if (!e) return;
    char buf[64];
#ifdef __linux__
    /* One read of an eventfd takes its whole count: a second read would only
     * fail with EAGAIN, a wasted system call per wake-up. */
    (void)!read(e->wake_rd, buf, sizeof(uint64_t));
#else
    while (read(e->wake_rd, buf, sizeof buf) > 0) {
    }
#endif
}

static entry *take_all(tr__entries *e) {
    pthread_mutex_lock(&mu);
    entry *list = e->head;
    e->head = NULL;
    e->tail = &e->head;
    e->len = 0;
    pthread_mutex_unlock(&mu);
    return list;
}

/* Callbacks queued while these run wait for the next round: a callback that
 * queues itself cannot starve the tasks. */
void tr__entries_run(tr__run *r) {
    tr__entries *e = r->entries;
    atomic_store(&e->sync.pending, 0);
    entry *list = take_all(e);
    while (list) {
        entry *n = list;
        list = n->next;
        n->fn(n->arg);
        free(n);
    }
}

void tr__entries_close(tr__run *r) {
    tr__entries *e = r->entries;
    if (!e) return;
    pthread_mutex_lock(&mu);
    for (tr__entries **p = &live; *p; p = &(*p)->next) {
        if (*p == e) {
            *p = e->next;
            break;
        }
    }
    pthread_mutex_unlock(&mu);
    entry *list = take_all(e);
    while (list) {
        entry *n = list;
        list = n->next;
        if (n->drop) n->drop(n->arg);
        free(n);
    }
    close_wake_fds(e);
    free(e);
    r->entries = NULL;
}
