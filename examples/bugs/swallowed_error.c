/* Bug (e): an error swallowed by a task, so its nursery never learns.
 *
 * Each uploader sends its part; when the storage is not ready yet it gets
 * -EAGAIN, logs it and returns 0, so the nursery believes every part was
 * uploaded and the commit step finds parts missing. Whether an uploader runs
 * before the storage is ready depends on the schedule. The fixed twin
 * (-DFIXED) returns the error with tr_fail, so the nursery fails with it and
 * commit is never reached with missing parts. */
#include <ctrio.h>
#include <ctrio/sim.h>

#include <stdbool.h>

#define PARTS 4

static bool storage_ready;
static int uploaded;

static int upload(void *arg) {
    int part = *(int *)arg;
    int rc = tr_checkpoint();
    if (rc) return rc;
    if (!storage_ready) {
#ifdef FIXED
        return tr_fail(-EAGAIN, "part %d: storage not ready", part);
#else
        (void)part; /* "logged" */
        return 0;   /* BUG: the error is dropped here */
#endif
    }
    uploaded++;
    return 0;
}

static int open_storage(void *arg) {
    (void)arg;
    int rc = tr_checkpoint();
    if (rc) return rc;
    storage_ready = true;
    return 0;
}

static int scenario(void *arg) {
    (void)arg;
    static int parts[PARTS] = {0, 1, 2, 3};
    storage_ready = false;
    uploaded = 0;
    tr_nursery n;
    tr_nursery_open(&n);
    int rc = tr_start_soon(&n, open_storage, NULL);
    for (int i = 0; i < PARTS && !rc; i++) rc = tr_start_soon(&n, upload, &parts[i]);
    rc = tr_nursery_join(&n, rc);
    if (rc == -EAGAIN) return 0; /* a known failure, reported and handled: retry later */
    if (rc) return rc;
#ifdef FIXED
    if (tr_nursery_cancelled_caught(&n)) return 0; /* the upload was called off: no commit */
#endif
    if (uploaded != PARTS) return tr_fail(-EPROTO, "commit: %d of %d parts missing", PARTS - uploaded, PARTS);
    return 0;
}

TR_SIM_MAIN(scenario, NULL)
