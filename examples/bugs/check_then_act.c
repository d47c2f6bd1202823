/* Bug (c): a check-then-act race across a checkpoint between two tasks.
 *
 * A withdrawal checks the balance, then logs the operation (a checkpoint:
 * any task may run there), then takes the money. The second withdrawal
 * starts after some other work (one more checkpoint). In FIFO order the
 * first has taken its money by the time the second checks, so production's
 * order never shows the bug; when a seeded shuffle runs the second check
 * between the first check and its withdrawal, both pass and the account goes
 * negative. The fixed twin (-DFIXED) holds the account's lock across check
 * and act. */
#include <ctrio.h>
#include <ctrio/sim.h>

static int balance;
static tr_lock account;

static int audit_log(void) { return tr_checkpoint(); }

typedef struct withdrawal {
    int amount;    /* how much */
    int work_first; /* checkpoints of other work before it */
} withdrawal;

static int withdraw(void *arg) {
    const withdrawal *w = arg;
    int amount = w->amount, rc;
    for (int i = 0; i < w->work_first; i++)
        if ((rc = tr_checkpoint())) return rc;
#ifdef FIXED
    if ((rc = tr_lock_acquire(&account))) return rc;
#endif
    if (balance >= amount) {
        rc = audit_log();
        if (rc == 0) balance -= amount;
    } else {
        rc = 0;
    }
#ifdef FIXED
    int release = tr_lock_release(&account);
    rc = rc ? rc : release;
#endif
    return rc;
}

static int scenario(void *arg) {
    (void)arg;
    static withdrawal sixty = {60, 0}, fifty = {50, 1};
    balance = 100;
    tr_lock_init(&account);
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = tr_start_soon(&n, withdraw, &sixty);
    if (!rc) rc = tr_start_soon(&n, withdraw, &fifty);
    rc = tr_nursery_join(&n, rc);
    if (!rc && balance < 0) return tr_fail(-ERANGE, "balance went negative: %d", balance);
    return rc;
}

TR_SIM_MAIN(scenario, NULL)
