/* Bug (c): a check-then-act race across a checkpoint between two tasks.
 *
 * Two withdrawals check the balance, then log the operation (a checkpoint:
 * any task may run there), then take the money. When the scheduler runs the
 * second check between the first check and its withdrawal, both pass and the
 * account goes negative. FIFO order never shows it; a seeded shuffle does.
 * The fixed twin (-DFIXED) holds the account's lock across check and act. */
#include <ctrio.h>
#include <ctrio/sim.h>

static int balance;
static tr_lock account;

static int audit_log(void) { return tr_checkpoint(); }

static int withdraw(void *arg) {
    int amount = *(int *)arg, rc;
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
    static int sixty = 60, fifty = 50;
    balance = 100;
    tr_lock_init(&account);
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = tr_checkpoint(); /* some work first, to vary the batches */
    if (!rc) rc = tr_start_soon(&n, withdraw, &sixty);
    if (!rc) rc = tr_start_soon(&n, withdraw, &fifty);
    rc = tr_nursery_join(&n, rc);
    if (!rc && balance < 0) return tr_fail(-ERANGE, "balance went negative: %d", balance);
    return rc;
}

TR_SIM_MAIN(scenario, NULL)
