/* Bug (d): a retry loop that ignores -ECANCELED and spins.
 *
 * A client retries a request until it succeeds, treating every error as
 * transient. When the caller's deadline cancels it, every checkpoint returns
 * -ECANCELED (cancellation is level-triggered), the loop retries forever and
 * the run never ends: the simulator's step limit reports it as a livelock
 * (TR_ESTEPLIMIT). The fixed twin (-DFIXED) stops on -ECANCELED. */
#include <ctrio.h>
#include <ctrio/sim.h>

static int request(void) {
    int rc = tr_sleep(TR_MS(1 + tr_sim_choice(20)));
    if (rc) return rc;
    return tr_sim_choice(4) == 0 ? 0 : -EAGAIN; /* the server is flaky */
}

static int client(void *arg) {
    (void)arg;
    for (;;) {
        int rc = request();
        if (rc == 0) return 0;
#ifdef FIXED
        if (rc == -ECANCELED) return rc;
#endif
        /* BUG (without FIXED): "transient", try again, even when cancelled */
    }
}

static int scenario(void *arg) {
    (void)arg;
    tr_cancel_scope deadline;
    int rc = tr_move_on_after(&deadline, TR_MS(30));
    if (rc) return rc;
    tr_nursery n;
    tr_nursery_open(&n);
    rc = tr_start_soon(&n, client, NULL);
    rc = tr_nursery_join(&n, rc);
    return tr_scope_exit(&deadline, rc);
}

TR_SIM_MAIN(scenario, NULL)
