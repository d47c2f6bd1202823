/* Signals: SIGINT as cancellation (Trio's KeyboardInterrupt, turned into a
 * cancellation of every task and -EINTR from tr_run), the opt-in SIGQUIT
 * task dump, and signal receivers (trio.open_signal_receiver).
 *
 * Handlers only touch process-wide atomics and write to fds (all
 * async-signal-safe); the loop acts on what they recorded. Signal
 * dispositions are process-wide, so one run at a time owns SIGINT/SIGQUIT,
 * and each signal belongs to at most one receiver. */
#define _GNU_SOURCE
#include "io.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#define TR__NSIG 65

/* ---- the run's own signals ---------------------------------------------- */

static _Atomic(tr__run *) owner;          /* the run that owns SIGINT/SIGQUIT */
static _Atomic(_Atomic bool *) owner_idle; /* its io_idle, cleared by the handler */
static _Atomic int owner_wake_fd = -1;    /* its wake-up fd, -1: none yet */
/* SIGINT / SIGQUIT arrived and not yet acted on (SEEN_* bits). One word so
 * that the loop's check on every pass (tr__signals_check, io.h) is one load. */
atomic_uint tr__signals_seen;
enum { SEEN_INT = 1u, SEEN_QUIT = 2u };
static struct sigaction old_int, old_quit; /* restored by tr__signals_stop */
static bool have_int, have_quit;          /* which of them we replaced */

static void on_run_signal(int sig) {
    int saved = errno;
    atomic_fetch_or(&tr__signals_seen, sig == SIGINT ? SEEN_INT : SEEN_QUIT);
    _Atomic bool *idle = atomic_load(&owner_idle);
    if (idle) atomic_store(idle, false);
    int fd = atomic_load(&owner_wake_fd);
    if (fd >= 0) tr__entries_wake_fd_write(fd);
    errno = saved;
}

/* Take sig when its disposition is the default one (as Trio takes SIGINT
 * only from Python's default handler). */
static bool take(int sig, struct sigaction *old) {
    struct sigaction sa = {.sa_handler = on_run_signal};
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, NULL, old) != 0 || old->sa_handler != SIG_DFL) return false;
    return sigaction(sig, &sa, NULL) == 0;
}

void tr__signals_start(tr__run *r) {
    const tr_run_opts *o = r->opts;
    bool want_int = !(o && o->leave_sigint), want_quit = o && o->dump_on_sigquit;
    if (!want_int && !want_quit) return;
    tr__run *expected = NULL;
    if (!atomic_compare_exchange_strong(&owner, &expected, r)) return;
    atomic_store(&tr__signals_seen, 0);
    atomic_store(&owner_idle, &r->io_idle);
    have_int = want_int && take(SIGINT, &old_int);
    have_quit = want_quit && take(SIGQUIT, &old_quit);
    r->sig_owner = true;
}

void tr__signals_wake_fd(tr__run *r) {
    if (r->sig_owner) atomic_store(&owner_wake_fd, tr__entries_wake_fd(r));
}

static void close_receivers(tr__run *r);

void tr__signals_stop(tr__run *r) {
    close_receivers(r);
    if (!r->sig_owner) return;
    if (have_int) sigaction(SIGINT, &old_int, NULL);
    if (have_quit) sigaction(SIGQUIT, &old_quit, NULL);
    have_int = have_quit = false;
    atomic_store(&owner_wake_fd, -1);
    atomic_store(&owner_idle, NULL);
    atomic_store(&owner, NULL);
    r->sig_owner = false;
}

bool tr__signals_pending(const tr__run *r) { return r->sig_owner && atomic_load(&tr__signals_seen); }

void tr__signals_act(tr__run *r) {
    unsigned seen = atomic_exchange(&tr__signals_seen, 0);
    if (seen & SEEN_QUIT) {
        fprintf(stderr, "ctrio: SIGQUIT: task dump\n");
        tr__dump_tasks(r, stderr);
    }
    if ((seen & SEEN_INT) && !r->interrupted) {
        r->interrupted = true;
        tr__scope_cancel(r, &r->root.scope);
    }
}

/* ---- receivers ----------------------------------------------------------- */

static atomic_int receiver_fd[TR__NSIG] = {0}; /* write end + 1 per signal; 0: none */

static void on_receiver_signal(int sig) {
    int saved = errno;
    int fd = sig > 0 && sig < TR__NSIG ? atomic_load(&receiver_fd[sig]) - 1 : -1;
    unsigned char b = (unsigned char)sig;
    if (fd >= 0) {
        ssize_t n = write(fd, &b, 1);
        (void)n;
    }
    errno = saved;
}

struct tr__sigrx {
    struct tr__sigrx *next;   /* in run->receivers */
    struct tr__sigrx **prevp;
    int rd, wr;               /* the pipe the handlers write signal numbers to */
    size_t n;                 /* signals caught */
    int sigs[TR__NSIG];       /* which */
    struct sigaction old[TR__NSIG]; /* their previous handlers, by position */
    unsigned char pending[TR__NSIG]; /* pending signals, oldest first */
    size_t npending;
    bool is_pending[TR__NSIG]; /* coalescing: already in pending */
};

static int open_pipe(struct tr__sigrx *rx) {
    int p[2];
    if (pipe(p) < 0) return -errno;
    for (int i = 0; i < 2; i++) {
        fcntl(p[i], F_SETFD, FD_CLOEXEC);
        fcntl(p[i], F_SETFL, O_NONBLOCK);
    }
    rx->rd = p[0];
    rx->wr = p[1];
    return 0;
}

static void restore(struct tr__sigrx *rx, size_t upto) {
    for (size_t i = 0; i < upto; i++) {
        sigaction(rx->sigs[i], &rx->old[i], NULL);
        atomic_store(&receiver_fd[rx->sigs[i]], 0);
    }
}

static int install(struct tr__sigrx *rx) {
    struct sigaction sa = {.sa_handler = on_receiver_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < rx->n; i++) {
        int expected = 0, sig = rx->sigs[i];
        if (!atomic_compare_exchange_strong(&receiver_fd[sig], &expected, rx->wr + 1)) {
            restore(rx, i);
            return -EBUSY;
        }
        if (sigaction(sig, &sa, &rx->old[i]) != 0) {
            int e = errno == EINVAL ? -EINVAL : -errno;
            atomic_store(&receiver_fd[sig], 0);
            restore(rx, i);
            return e;
        }
    }
    return 0;
}

static bool valid(const int *signals, size_t n) {
    if (n == 0 || n >= TR__NSIG || !signals) return false;
    for (size_t i = 0; i < n; i++)
        if (signals[i] <= 0 || signals[i] >= TR__NSIG || signals[i] == SIGKILL ||
            signals[i] == SIGSTOP)
            return false;
    return true;
}

int tr_open_signal_receiver(const int *signals, size_t n, tr_signal_receiver **out) {
    tr__run *r = tr__need_run("tr_open_signal_receiver");
    if (!valid(signals, n)) return -EINVAL;
    struct tr__sigrx *rx = tr__alloc(r, sizeof *rx);
    if (!rx) return -ENOMEM;
    memset(rx, 0, sizeof *rx);
    rx->n = n;
    memcpy(rx->sigs, signals, n * sizeof *signals);
    int rc = open_pipe(rx);
    if (rc == 0 && (rc = install(rx)) < 0) {
        close(rx->rd);
        close(rx->wr);
    }
    if (rc < 0) {
        tr__free(r, rx);
        return rc;
    }
    rx->next = r->receivers;
    if (rx->next) rx->next->prevp = &rx->next;
    rx->prevp = &r->receivers;
    r->receivers = rx;
    *out = (tr_signal_receiver *)rx;
    return 0;
}

/* Move what the handlers wrote into the ordered, coalesced pending list. */
static void collect(struct tr__sigrx *rx) {
    unsigned char buf[64];
    ssize_t got;
    while ((got = read(rx->rd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < got; i++) {
            if (buf[i] >= TR__NSIG || rx->is_pending[buf[i]]) continue;
            rx->is_pending[buf[i]] = true;
            rx->pending[rx->npending++] = buf[i];
        }
    }
}

static int pop(struct tr__sigrx *rx) {
    int sig = rx->pending[0];
    memmove(rx->pending, rx->pending + 1, --rx->npending);
    rx->is_pending[sig] = false;
    return sig;
}

#undef tr_signal_receive
TR__UNSITED(int, tr_signal_receive, (tr_signal_receiver *prx, int *signum), (prx, signum))
int TR__AT(tr_signal_receive)(tr_signal_receiver *prx, int *signum) {
    struct tr__sigrx *rx = (struct tr__sigrx *)prx;
    tr_task *t = tr__need_task("tr_signal_receive");
    for (;;) {
        collect(rx);
        if (rx->npending) {
            int rc = tr__checkpoint_if_cancelled(t);
            if (rc < 0) return rc;
            *signum = pop(rx);
            /* The schedule point comes last: rx may be closed meanwhile. */
            tr__yield(t);
            return 0;
        }
        int rc = TR__AT(tr_wait_readable)(rx->rd); /* keeps the caller's call site */
        if (rc < 0) return rc; /* -EBADF: closed (rx is gone), or -ECANCELED */
    }
}

static void receiver_free(tr__run *r, struct tr__sigrx *rx) {
    restore(rx, rx->n);
    *rx->prevp = rx->next;
    if (rx->next) rx->next->prevp = rx->prevp;
    tr__io_closing(r, rx->rd);
    close(rx->rd);
    close(rx->wr);
    tr__free(r, rx);
}

void tr_signal_receiver_close(tr_signal_receiver *prx) {
    receiver_free(tr__need_run("tr_signal_receiver_close"), (struct tr__sigrx *)prx);
}

static void close_receivers(tr__run *r) {
    while (r->receivers) receiver_free(r, r->receivers);
}
