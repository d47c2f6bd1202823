/* TR_ASSERT_CHECKPOINTS / TR_ASSERT_NO_CHECKPOINTS (Trio's
 * assert_checkpoints / assert_no_checkpoints): compare the current task's
 * schedule points and cancel points before and after a statement. A
 * checkpoint needs both; either one alone is not a checkpoint but is not
 * "no checkpoint" either. */
#include "internal.h"
#include "ctrio/testing.h"

tr__checkpoint_snapshot tr__checkpoints_now(void) {
    tr__checkpoint_snapshot s;
    tr__need_task("TR_ASSERT_CHECKPOINTS");
    tr__checkpoint_counts(&s.schedule_points, &s.cancel_points);
    return s;
}

/* The file's base name: the message has TR_FAIL_MESSAGE_MAX bytes only. */
static const char *base_name(const char *file) {
    const char *slash = strrchr(file, '/');
    return slash ? slash + 1 : file;
}

int tr__assert_checkpoints(tr__checkpoint_snapshot before, bool expected, const char *file,
                           int line, const char *stmt) {
    file = base_name(file);
    tr__checkpoint_snapshot now = tr__checkpoints_now();
    bool scheduled = now.schedule_points != before.schedule_points;
    bool cancel_checked = now.cancel_points != before.cancel_points;
    if (expected && !(scheduled && cancel_checked))
        return tr_fail(TR_ASSERT_FAILED, "%s:%d: TR_ASSERT_CHECKPOINTS(%s): no checkpoint (%s)", file, line, stmt,
                       scheduled ? "schedule point, no cancel point"
                       : cancel_checked ? "cancel point, no schedule point"
                                        : "neither kind");
    if (!expected && (scheduled || cancel_checked))
        return tr_fail(TR_ASSERT_FAILED, "%s:%d: TR_ASSERT_NO_CHECKPOINTS(%s): passed a %s", file, line, stmt,
                       scheduled && cancel_checked ? "checkpoint"
                       : scheduled                 ? "schedule point"
                                                   : "cancel point");
    return 0;
}
