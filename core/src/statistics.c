/* tr_current_statistics (trio.lowlevel.current_statistics) and the public
 * task dump. */
#include "io.h"

void tr_current_statistics(tr_statistics *out) {
    tr__run *r = tr__current_run;
    TR__REQUIRE(r, "tr_current_statistics", "must be called inside tr_run");
    const tr__timer *next = tr__heap_min(&r->heap);
    const tr__io *io = r->iox;
    *out = (tr_statistics){
        .tasks_living = r->live_tasks,
        .tasks_runnable = r->runq_len + (r->batch_len - r->batch_pos),
        .to_next_deadline = TR_INF,
        .run_sync_soon_queue_size = tr__entries_len(r),
    };
    if (next) {
        tr_duration d = next->deadline - tr__now(r);
        out->to_next_deadline = d < 0 ? 0 : d;
    }
    out->io.backend = r->io == &tr__io_os ? tr__io_os_name : "none";
    out->io.tasks_waiting_read = io ? io->waiting[TR__IO_READ] : 0;
    out->io.tasks_waiting_write = io ? io->waiting[TR__IO_WRITE] : 0;
}

void tr_dump_tasks(FILE *f) {
    tr__run *r = tr__current_run;
    TR__REQUIRE(r, "tr_dump_tasks", "must be called inside tr_run");
    tr__dump_tasks(r, f ? f : stderr);
}
