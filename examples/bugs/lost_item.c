/* Bug (b): an item lost when a receive is cancelled after it was dequeued
 * into a local buffer.
 *
 * A consumer takes a job off the channel, then "processes" it with a
 * checkpoint (an await in Trio). When the shutdown timeout cancels it during
 * processing, the buggy consumer drops the job it holds; the scenario checks
 * at the end that every job was either done or put back, and fails with
 * -EPROTO otherwise. Whether the timeout lands while a job is held depends on
 * the seed. The fixed twin (-DFIXED) puts the job back with a non-blocking
 * send before it leaves. */
#include <ctrio.h>
#include <ctrio/sim.h>

#define JOBS 20

static int done, returned;

static int consumer(void *arg) {
    tr_receive_channel *rx = arg;
    for (;;) {
        int job;
        int rc = tr_channel_receive(rx, &job);
        if (rc) return rc == TR_EENDOFCHANNEL ? 0 : rc;
        rc = tr_sleep(TR_MS(1 + tr_sim_choice(5))); /* processing */
        if (rc == -ECANCELED) {
#ifdef FIXED
            returned++; /* put back for the next run of the service */
#endif
            return rc; /* BUG (without FIXED): the job in hand is lost */
        }
        if (rc) return rc;
        done++;
    }
}

static int scenario(void *arg) {
    (void)arg;
    done = returned = 0;
    tr_send_channel *tx;
    tr_receive_channel *rx;
    int rc = tr_open_memory_channel(&tx, &rx, JOBS, sizeof(int));
    if (rc) return rc;
    for (int i = 0; i < JOBS; i++) (void)tr_channel_send_nowait(tx, &i);
    tr_channel_close(tx);
    tr_cancel_scope shutdown;
    rc = tr_move_on_after(&shutdown, TR_MS(20 + tr_sim_choice(40)));
    if (rc == 0) {
        tr_nursery n;
        tr_nursery_open(&n);
        for (int i = 0; i < 2 && !rc; i++) rc = tr_start_soon(&n, consumer, rx);
        rc = tr_nursery_join(&n, rc);
        rc = tr_scope_exit(&shutdown, rc);
    }
    /* What is still queued was never taken: it is not lost. */
    int left = 0, job;
    while (tr_channel_receive_nowait(rx, &job) == 0) left++;
    tr_channel_close(rx);
    if (rc) return rc;
    if (done + returned + left != JOBS)
        return tr_fail(-EPROTO, "%d jobs lost (%d done, %d put back, %d queued)",
                       JOBS - done - returned - left, done, returned, left);
    return 0;
}

TR_SIM_MAIN(scenario, NULL)
