/* Bug (a): a lock held across a cancellable wait, not released on the
 * cancellation path.
 *
 * A worker takes the cache lock, then waits for a slow refill under a
 * timeout. When the timeout cancels the wait, the buggy worker returns
 * without releasing the lock: the next worker blocks on the lock forever and
 * the run deadlocks (TR_EDEADLOCK, with a report of who waits where). How
 * slow a refill is depends on the seed (tr_sim_choice), so only some seeds
 * time out. The fixed twin (-DFIXED) releases the lock on every path. */
#include <ctrio.h>
#include <ctrio/sim.h>

static tr_lock cache_lock;

static int refill(void) {
    /* 10..100 ms, as the network decides. */
    return tr_sleep(TR_MS(10 + 10 * (int)tr_sim_choice(10)));
}

static int worker(void *arg) {
    (void)arg;
    int rc = tr_lock_acquire(&cache_lock);
    if (rc) return rc;
    tr_cancel_scope timeout;
    rc = tr_move_on_after(&timeout, TR_MS(95));
    if (rc == 0) {
        rc = refill();
        rc = tr_scope_exit(&timeout, rc);
    }
    if (tr_scope_cancelled_caught(&timeout)) {
#ifndef FIXED
        return 0; /* BUG: gave up on the refill, forgot the lock */
#endif
    }
    int release = tr_lock_release(&cache_lock);
    return rc ? rc : release;
}

static int scenario(void *arg) {
    (void)arg;
    tr_lock_init(&cache_lock);
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = 0;
    for (int i = 0; i < 3 && !rc; i++) rc = tr_start_soon(&n, worker, NULL);
    return tr_nursery_join(&n, rc);
}

TR_SIM_MAIN(scenario, NULL)
