/* tr_sequencer (trio.testing.Sequencer). Position `released` is the next
 * to run; claims of later positions wait in a list of entries that live on
 * the waiters' stacks, so the sequencer allocates nothing. A claim is a
 * reuse when its position is below `released`, is `released` while that one
 * runs, or is already waiting. */
#include "ctrio/testing.h"

/* One blocked claim. */
typedef struct tr__seq_waiter {
    struct tr__seq_waiter *next; /* next blocked claim (unordered) */
    tr_sequencer *seq;           /* the sequencer it waits on */
    tr_task *task;               /* who waits */
    int position;                /* what it claimed */
} tr__seq_waiter;

void tr_sequencer_init(tr_sequencer *seq) { *seq = (tr_sequencer){0}; }

static tr__seq_waiter **find(tr_sequencer *seq, int position) {
    tr__seq_waiter **link = &seq->tr__waiters;
    while (*link && (*link)->position != position) link = &(*link)->next;
    return link;
}

static bool claimed(tr_sequencer *seq, int n) {
    if (n < seq->tr__released) return true;
    if (n == seq->tr__released && seq->tr__running) return true;
    return *find(seq, n) != NULL;
}

/* Cancellation reached a waiter: take it out of the list (it then breaks
 * the sequencer when it resumes with -ECANCELED). */
static int seq_abort(void *ctx, tr_task *task) {
    tr__seq_waiter *w = ctx;
    tr__seq_waiter **link = find(w->seq, w->position);
    (void)task;
    if (*link == w) *link = w->next;
    return TR_ABORT_SUCCEEDED;
}

/* A cancelled wait: the order of the test is lost; everyone fails. */
static int break_sequence(tr_sequencer *seq, int n) {
    seq->tr__broken = true;
    while (seq->tr__waiters) {
        tr__seq_waiter *w = seq->tr__waiters;
        seq->tr__waiters = w->next;
        tr_reschedule(w->task, TR_EBROKEN);
    }
    return tr_fail(TR_EBROKEN, "tr_sequencer_wait(%d) cancelled: sequence broken", n);
}

static int broken(int n) {
    return tr_fail(TR_EBROKEN, "tr_sequencer_wait(%d): sequence broken", n);
}

/* Position n may run now (it is `released`); a schedule point first. */
static int run_now(tr_sequencer *seq, int n) {
    seq->tr__running = true;
    if (n == 0) return 0;
    if (TR__AT(tr_checkpoint)() < 0) {
        seq->tr__running = false;
        return break_sequence(seq, n);
    }
    return seq->tr__broken ? broken(n) : 0;
}

#undef tr_sequencer_wait
/* Written out (TR__UNSITED is in internal.h; this file uses only public
 * headers): a call by address records no site. */
int tr_sequencer_wait(tr_sequencer *seq, int n) {
    tr__site_at = NULL;
    return TR__AT(tr_sequencer_wait)(seq, n);
}
int TR__AT(tr_sequencer_wait)(tr_sequencer *seq, int n) {
    if (n < 0) return -EINVAL;
    if (claimed(seq, n))
        return tr_fail(-EALREADY, "tr_sequencer_wait(%d): position already claimed", n);
    if (seq->tr__broken) return broken(n);
    if (n == seq->tr__released) return run_now(seq, n);
    tr__seq_waiter w = {.next = seq->tr__waiters, .seq = seq, .task = tr_current_task(),
                        .position = n};
    seq->tr__waiters = &w;
    int rc = TR__AT(tr_wait_task_rescheduled)(seq_abort, &w);
    if (rc == -ECANCELED) return break_sequence(seq, n);
    if (rc < 0 || seq->tr__broken) return broken(n);
    return 0;
}

int tr_sequencer_done(tr_sequencer *seq, int n) {
    if (seq->tr__broken) return 0;
    if (n != seq->tr__released || !seq->tr__running) return -EINVAL;
    seq->tr__released++;
    seq->tr__running = false;
    tr__seq_waiter **link = find(seq, seq->tr__released);
    if (*link) {
        tr__seq_waiter *w = *link;
        *link = w->next;
        seq->tr__running = true;
        tr_reschedule(w->task, 0);
    }
    return 0;
}
