/* The mock clock: virtual time = base + rate x (real time since the base
 * was taken). With rate 0 (the default) the real clock is never read, so a
 * run on it makes no system call for time at all. */
#define _POSIX_C_SOURCE 200809L
#include "mock_clock_internal.h"

#include <inttypes.h>
#include <math.h> /* isinf, a macro: no libm */
#include <stdlib.h>
#include <time.h>

struct tr_mock_clock {
    tr_time virtual_base;          /* virtual time at real_base */
    tr_time real_base;             /* real time when the rate last changed */
    double rate;                   /* virtual ns per real ns, >= 0 */
    tr_duration threshold;         /* autojump threshold; TR_INF: off */
    tr__mock_real_clock_fn real;   /* reads real time */
    void *real_ctx;                /* its argument */
    FILE *log_file;                /* jump log as text lines, or NULL */
    tr_mock_clock_log_fn log_fn;   /* jump log as calls, or NULL */
    void *log_ctx;                 /* log_fn's argument */
    uint64_t jumps;                /* jumps so far */
};

static tr_time monotonic_now(void *ctx) {
    struct timespec ts;
    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (tr_time)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A double number of ns as tr_duration, saturating at +-TR_INF. */
static tr_duration to_duration(double ns) {
    if (ns >= 9.2e18) return TR_INF;
    if (ns <= -9.2e18) return -TR_INF;
    return (tr_duration)ns;
}

tr_time tr_mock_clock_now(const tr_mock_clock *mc) {
    if (mc->rate == 0) return mc->virtual_base;
    tr_duration real = mc->real(mc->real_ctx) - mc->real_base;
    tr_duration virt = mc->rate == 1 ? real : to_duration((double)real * mc->rate);
    return tr_time_add(mc->virtual_base, virt);
}

/* Take a new base at the current virtual and real times. */
static void rebase(tr_mock_clock *mc) {
    mc->virtual_base = tr_mock_clock_now(mc);
    mc->real_base = mc->rate == 0 ? 0 : mc->real(mc->real_ctx);
}

int tr_mock_clock_new(tr_mock_clock **clock_out) {
    if (!clock_out) return -EINVAL;
    tr_mock_clock *mc = calloc(1, sizeof *mc);
    *clock_out = mc;
    if (!mc) return -ENOMEM;
    mc->threshold = TR_INF;
    mc->real = monotonic_now;
    return 0;
}

void tr_mock_clock_free(tr_mock_clock *mc) { free(mc); }

void tr__mock_clock_set_real_clock(tr_mock_clock *mc, tr__mock_real_clock_fn fn, void *ctx) {
    tr_time now = tr_mock_clock_now(mc);
    mc->real = fn ? fn : monotonic_now;
    mc->real_ctx = fn ? ctx : NULL;
    mc->virtual_base = now;
    mc->real_base = mc->rate == 0 ? 0 : mc->real(mc->real_ctx);
}

int tr_mock_clock_set_rate(tr_mock_clock *mc, double rate) {
    if (!(rate >= 0) || isinf(rate)) return -EINVAL;
    rebase(mc);
    mc->rate = rate;
    if (rate != 0) mc->real_base = mc->real(mc->real_ctx);
    return 0;
}

double tr_mock_clock_rate(const tr_mock_clock *mc) { return mc->rate; }

int tr_mock_clock_set_autojump_threshold(tr_mock_clock *mc, tr_duration t) {
    if (t < 0) return -EINVAL;
    mc->threshold = t;
    return 0;
}

tr_duration tr_mock_clock_autojump_threshold(const tr_mock_clock *mc) { return mc->threshold; }

/* ---- the jump log ------------------------------------------------------ */

void tr_mock_clock_set_log(tr_mock_clock *mc, FILE *f) {
    mc->log_file = f;
    mc->log_fn = NULL;
    mc->log_ctx = NULL;
}

void tr_mock_clock_set_log_fn(tr_mock_clock *mc, tr_mock_clock_log_fn fn, void *ctx) {
    mc->log_fn = fn;
    mc->log_ctx = fn ? ctx : NULL;
    mc->log_file = NULL;
}

uint64_t tr_mock_clock_jumps(const tr_mock_clock *mc) { return mc->jumps; }

/* "-12.345678901" for a time in ns, exactly (no rounding through double). */
static void format_ns(char *buf, size_t size, int64_t ns) {
    const char *sign = ns < 0 ? "-" : "";
    uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    snprintf(buf, size, "%s%" PRIu64 ".%09" PRIu64, sign, a / 1000000000u, a % 1000000000u);
}

static void log_line(FILE *f, const tr_mock_clock_jump_info *j) {
    char from[32], to[32], by[32];
    format_ns(from, sizeof from, j->from);
    format_ns(to, sizeof to, j->to);
    format_ns(by, sizeof by, j->to - j->from);
    if (j->autojump)
        fprintf(f, "ctrio: mock clock: jump #%" PRIu64 " +%s s %s -> %s s: autojump to the "
                   "deadline of '%s'\n", j->index, by, from, to, j->cause);
    else
        fprintf(f, "ctrio: mock clock: jump #%" PRIu64 " +%s s %s -> %s s: %s\n", j->index,
                by, from, to, j->cause);
}

/* Move virtual time to `to` (later than now) and log it. */
static void move_to(tr_mock_clock *mc, tr_time to, bool autojump, const char *cause) {
    tr_time from = tr_mock_clock_now(mc);
    if (to <= from) return;
    mc->virtual_base = to;
    mc->real_base = mc->rate == 0 ? 0 : mc->real(mc->real_ctx);
    tr_mock_clock_jump_info j = {
        .index = ++mc->jumps, .from = from, .to = to, .autojump = autojump,
        .cause = cause ? cause : "(unknown)"};
    if (mc->log_fn) mc->log_fn(mc->log_ctx, &j);
    else if (mc->log_file) log_line(mc->log_file, &j);
}

int tr_mock_clock_jump(tr_mock_clock *mc, tr_duration d) {
    if (d < 0) return -EINVAL;
    move_to(mc, tr_time_add(tr_mock_clock_now(mc), d), false, "tr_mock_clock_jump");
    return 0;
}

/* ---- the clock seam ---------------------------------------------------- */

static tr_time seam_now(void *ctx) { return tr_mock_clock_now(ctx); }

/* Real time until the deadline comes on its own: never at rate 0 (only a
 * jump gets there), else the virtual distance divided by the rate, rounded
 * up so that the loop never wakes a nanosecond early. */
static tr_duration seam_sleep_time(void *ctx, tr_time deadline) {
    tr_mock_clock *mc = ctx;
    if (deadline == TR_INF) return TR_INF;
    tr_time now = tr_mock_clock_now(mc);
    if (deadline <= now) return 0;
    if (mc->rate == 0) return TR_INF;
    tr_duration virt = tr_time_add(deadline, -now);
    if (mc->rate == 1) return virt;
    /* Rounded up by hand: the library does not link libm. */
    double q = (double)virt / mc->rate;
    tr_duration d = to_duration(q);
    return d != TR_INF && (double)d < q ? d + 1 : d;
}

static bool seam_hang_is_error(void *ctx) { return ((tr_mock_clock *)ctx)->threshold != TR_INF; }

static tr_duration seam_threshold(void *ctx) { return ((tr_mock_clock *)ctx)->threshold; }

static void seam_autojump(void *ctx, tr_time deadline, const char *cause) {
    move_to(ctx, deadline, true, cause);
}

const tr_clock tr_mock_clock_vtable = {
    .start = NULL,
    .now = seam_now,
    .deadline_to_sleep_time = seam_sleep_time,
    .hang_is_error = seam_hang_is_error,
    .autojump_threshold = seam_threshold,
    .autojump = seam_autojump,
};
