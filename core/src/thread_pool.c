/* Worker threads: tr_to_thread_run_sync and tr_from_thread_run (Trio's
 * to_thread.py, from_thread and _thread_cache.py).
 *
 * The pool is process-wide: an idle worker waits for its next job for up to
 * IDLE_NS, then exits. Workers run with every signal blocked, so signals go
 * to the run's thread. A job is handed from the run to its worker and back
 * through the run's token: whoever holds it frees it (the loop after
 * delivery, or the worker when the run has ended). */
#define _GNU_SOURCE
#include "io.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>

#define IDLE_NS ((int64_t)10 * 1000000000)
#define DEFAULT_THREADS 40

typedef struct job {
    tr_thread_fn fn;              /* the work */
    void *arg;
    void *result;                 /* fn's result, set by the worker */
    tr_token token;               /* how to get back to the run */
    tr__run *run;                 /* loop side only: */
    tr_task *task;                /* the waiting task; NULL once abandoned */
    void **result_out;            /* where the task wants the result */
    tr_capacity_limiter *limiter; /* released on delivery, on behalf of the job */
} job;

/* Handing a job to a worker. The worker's `state` says where it is:
 * W_JOB (a job is in w->job), W_IDLE (in the idle stack, running), or
 * W_SLEEPING (in the idle stack, blocked until woken or IDLE_NS pass). The
 * dispatcher stores the job and swaps the state to W_JOB, and makes a system
 * call only when the worker was W_SLEEPING. The worker takes no lock to pick
 * its job up, so a woken worker never blocks on the dispatcher's mutex.
 * Linux parks on the state word itself (futex); elsewhere a per-worker
 * mutex and condition variable do the same. */
enum { W_IDLE, W_SLEEPING, W_JOB };

typedef struct worker {
    _Atomic uint32_t state; /* W_*; the futex word on Linux */
    job *job;               /* the job to run; written before state becomes W_JOB */
    struct worker *next;    /* in the idle stack */
#ifndef __linux__
    pthread_mutex_t mu; /* with cv: the sleep of W_SLEEPING */
    pthread_cond_t cv;
#endif
} worker;

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER; /* guards the two below */
static worker *idle_stack; /* idle workers, most recent first (its cache is warm) */
static size_t n_workers;   /* alive, busy or idle */
static _Thread_local job *current_job; /* the job this worker thread runs */

/* ---- parking ---------------------------------------------------------------- */

#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

static void park_init(worker *w) { (void)w; }
static void park_destroy(worker *w) { (void)w; }

/* The deadline of an idle wait, IDLE_NS from now. */
static struct timespec idle_deadline(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += IDLE_NS / 1000000000;
    return ts;
}

/* Sleep while the state is W_SLEEPING, until `until`; false on time-out. */
static bool park_sleep(worker *w, const struct timespec *until) {
    long rc = syscall(SYS_futex, (uint32_t *)&w->state, FUTEX_WAIT_BITSET_PRIVATE, W_SLEEPING,
                      until, NULL, FUTEX_BITSET_MATCH_ANY);
    return !(rc < 0 && errno == ETIMEDOUT);
}

static void park_wake(worker *w) {
    (void)syscall(SYS_futex, (uint32_t *)&w->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
#else
static void park_init(worker *w) {
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
}

static void park_destroy(worker *w) {
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}

static struct timespec idle_deadline(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts); /* the condition variable's clock */
    ts.tv_sec += IDLE_NS / 1000000000;
    return ts;
}

static bool park_sleep(worker *w, const struct timespec *until) {
    int rc = 0;
    pthread_mutex_lock(&w->mu);
    while (atomic_load(&w->state) == W_SLEEPING && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&w->cv, &w->mu, until);
    pthread_mutex_unlock(&w->mu);
    return rc != ETIMEDOUT;
}

static void park_wake(worker *w) {
    pthread_mutex_lock(&w->mu);
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}
#endif

/* ---- the worker ----------------------------------------------------------- */

static void deliver(void *arg);
static void drop(void *arg);

/* The worker makes itself idle *before* handing the result back, so that a
 * task that offloads again at once reuses it instead of starting a thread
 * (as Trio's thread cache does). */
static void run_job(worker *w, job *j) {
    current_job = j;
    j->result = j->fn(j->arg);
    current_job = NULL;
    w->job = NULL;
    atomic_store_explicit(&w->state, W_IDLE, memory_order_relaxed); /* published by the lock */
    pthread_mutex_lock(&pool_mu);
    w->next = idle_stack;
    idle_stack = w;
    pthread_mutex_unlock(&pool_mu);
    if (tr__token_push(j->token, deliver, drop, j) < 0) free(j); /* the run is gone */
}

static void remove_idle(worker *w) {
    for (worker **p = &idle_stack; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            return;
        }
    }
}

/* Time-out: leave the pool, unless a dispatcher took this worker meanwhile
 * (it did so under pool_mu, so its job is visible once we hold it). */
static bool retire(worker *w) {
    pthread_mutex_lock(&pool_mu);
    bool taken = atomic_load_explicit(&w->state, memory_order_relaxed) == W_JOB;
    if (!taken) {
        remove_idle(w);
        n_workers--;
    }
    pthread_mutex_unlock(&pool_mu);
    return !taken;
}

/* Wait (idle) for the next job; NULL when IDLE_NS passed without one. */
static job *next_job(worker *w) {
    struct timespec until = idle_deadline();
    for (;;) {
        uint32_t s = atomic_load_explicit(&w->state, memory_order_acquire);
        if (s == W_JOB) return w->job;
        if (s == W_IDLE) {
            uint32_t idle = W_IDLE;
            atomic_compare_exchange_strong(&w->state, &idle, W_SLEEPING);
            continue; /* W_SLEEPING now, or W_JOB */
        }
        if (!park_sleep(w, &until) && retire(w)) return NULL;
    }
}

static void *worker_main(void *arg) {
    worker *w = arg;
    job *j = w->job;
    do run_job(w, j);
    while ((j = next_job(w)) != NULL);
    park_destroy(w);
    free(w);
    return NULL;
}

static int start_worker(job *j) {
    worker *w = malloc(sizeof *w);
    if (!w) return -ENOMEM;
    park_init(w);
    w->job = j;
    atomic_init(&w->state, W_JOB);
    w->next = NULL;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t th;
    int rc = pthread_create(&th, &attr, worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        park_destroy(w);
        free(w);
        return -EAGAIN;
    }
    n_workers++;
    return 0;
}

/* An idle worker if there is one, else a new thread.
 * Linux wakes the worker after unlocking pool_mu, so a worker that runs at
 * once (on this CPU) does not block on the lock when it finishes. Its state
 * is W_JOB from here on, so it cannot leave the pool before running the
 * job; at worst, if this thread stalled for IDLE_NS between the unlock and
 * the wake, the worker could be gone and the futex word freed: FUTEX_WAKE
 * on it is then a harmless spurious wake-up (the argument glibc makes for
 * waking after releasing a mutex or semaphore). Elsewhere the wake takes
 * the worker's own mutex, so it stays under pool_mu. */
static int dispatch(job *j) {
    pthread_mutex_lock(&pool_mu);
    worker *w = idle_stack;
    bool wake = false;
    int rc = 0;
    if (w) {
        idle_stack = w->next;
        w->job = j;
        wake = atomic_exchange_explicit(&w->state, W_JOB, memory_order_release) == W_SLEEPING;
#ifndef __linux__
        if (wake) park_wake(w);
        wake = false;
#endif
    } else {
        rc = start_worker(j);
    }
    pthread_mutex_unlock(&pool_mu);
    if (wake) park_wake(w);
    return rc;
}

size_t tr_thread_pool_size(void) {
    pthread_mutex_lock(&pool_mu);
    size_t n = n_workers;
    pthread_mutex_unlock(&pool_mu);
    return n;
}

/* ---- the run's side --------------------------------------------------------- */

static void finish(job *j) {
    tr__run *r = j->run;
    (void)tr_capacity_limiter_release_on_behalf_of(j->limiter, j);
    r->clock_holds--;
}

/* In the loop: the worker is done. */
static void deliver(void *arg) {
    job *j = arg;
    finish(j);
    if (j->task) {
        if (j->result_out) *j->result_out = j->result;
        tr__wake(j->run, j->task, 0);
    }
    free(j);
}

/* The run ended before the result came back. */
static void drop(void *arg) { free(arg); }

static int abandon(void *ctx, tr_task *t) {
    (void)t;
    ((job *)ctx)->task = NULL;
    return TR_ABORT_SUCCEEDED;
}

static int keep_waiting(void *ctx, tr_task *t) {
    (void)ctx;
    (void)t;
    return TR_ABORT_FAILED;
}

static tr_capacity_limiter *default_limiter(tr__run *r) {
    if (!r->default_limiter) {
        r->default_limiter = tr__alloc_owned(r, sizeof *r->default_limiter);
        if (r->default_limiter) tr_capacity_limiter_init(r->default_limiter, DEFAULT_THREADS);
    }
    return r->default_limiter;
}

static job *job_new(tr__run *r, tr_thread_fn fn, void *arg, const tr_to_thread_opts *o) {
    tr_capacity_limiter *lim = o && o->limiter ? o->limiter : default_limiter(r);
    if (!lim || tr__entries_open(r) < 0) return NULL;
    job *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    *j = (job){.fn = fn, .arg = arg, .run = r, .limiter = lim};
    j->token = tr_current_token();
    return j;
}

#undef tr_to_thread_run_sync
TR__UNSITED(int, tr_to_thread_run_sync,
            (tr_thread_fn fn, void *arg, void **result, const tr_to_thread_opts *o),
            (fn, arg, result, o))
int TR__AT(tr_to_thread_run_sync)(tr_thread_fn fn, void *arg, void **result,
                                  const tr_to_thread_opts *o) {
    tr_task *t = tr__need_task("tr_to_thread_run_sync");
    tr__run *r = t->run;
    if (!fn) return -EINVAL;
    job *j = job_new(r, fn, arg, o);
    if (!j) return -ENOMEM;
    /* (through TR__AT: the wait keeps the caller's site) */
    int rc = TR__AT(tr_capacity_limiter_acquire_on_behalf_of)(j->limiter, j);
    if (rc < 0) {
        free(j);
        return rc;
    }
    r->clock_holds++;
    j->task = t;
    j->result_out = result;
    if ((rc = dispatch(j)) < 0) {
        finish(j);
        free(j);
        return rc;
    }
    return tr__park(r, t, o && o->cancellable ? abandon : keep_waiting, j);
}

/* ---- back into the run from a worker ------------------------------------------ */

typedef struct call {
    tr_task_fn fn;          /* what to run as a task */
    void *arg;
    tr__run *run;           /* set in the loop */
    int rc;                 /* its result */
    bool done;              /* rc is set */
    pthread_mutex_t mu;     /* guards rc and done */
    pthread_cond_t cv;
} call;

static void call_done(call *c, int rc) {
    pthread_mutex_lock(&c->mu);
    c->rc = rc;
    c->done = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* The system task: the worker's clock hold is lent to it while it runs (it
 * is a task the run sees, so virtual time may move under it). */
static int call_body(void *arg) {
    call *c = arg;
    tr__run *r = c->run;
    int rc = c->fn(c->arg);
    r->clock_holds++;
    call_done(c, rc);
    return 0;
}

static void call_start(void *arg) {
    call *c = arg;
    tr__run *r = tr__current_run;
    int rc;
    c->run = r;
    tr_task *t = tr__task_spawn(r, &r->root, call_body, c,
                                &(tr_spawn_opts){.name = "tr_from_thread_run"}, &rc);
    if (!t) {
        call_done(c, rc);
        return;
    }
    t->system = true;
    r->clock_holds--;
}

static void call_drop(void *arg) { call_done(arg, -ESHUTDOWN); }

int tr_from_thread_run(tr_task_fn fn, void *arg) {
    job *j = current_job;
    if (!j || !fn) return -EINVAL;
    call c = {.fn = fn, .arg = arg};
    pthread_mutex_init(&c.mu, NULL);
    pthread_cond_init(&c.cv, NULL);
    int rc = tr__token_push(j->token, call_start, call_drop, &c);
    if (rc == 0) {
        pthread_mutex_lock(&c.mu);
        while (!c.done) pthread_cond_wait(&c.cv, &c.mu);
        rc = c.rc;
        pthread_mutex_unlock(&c.mu);
    }
    pthread_cond_destroy(&c.cv);
    pthread_mutex_destroy(&c.mu);
    return rc;
}
