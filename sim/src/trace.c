/* Trace export for simulated runs: a Chrome/Perfetto JSON trace in virtual
 * time (one track per task, a slice per step, instants for spawn, exit and
 * injected faults, flow arrows from parent to child) that opens in
 * ui.perfetto.dev, and a compact text timeline for terminals.
 *
 * Events are recorded through an instrument during the run and written when
 * it ends. Steps take no virtual time, so the steps of one virtual instant
 * are laid out 1 ns apart to stay visible. */
#define _GNU_SOURCE
#include "sim_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum ev_kind { EV_SPAWN, EV_STEP_BEGIN, EV_STEP_END, EV_EXIT, EV_FAULT };

typedef struct ev {
    uint8_t kind;     /* enum ev_kind */
    uint64_t task;    /* task id */
    uint64_t other;   /* spawn: parent id (0: none) */
    tr_time at;       /* virtual time */
    const char *file; /* step end: the blocking call it stopped at */
    int line;
} ev;

typedef struct tr__trace {
    ev *evs;          /* events in order */
    size_t len, cap;
    char **names;     /* task names by id, copied at spawn */
    size_t names_cap;
    bool oom;         /* an event was lost for lack of memory */
    tr_instrument ins; /* the instrument that records */
    tr__sim *sim;      /* for the virtual time */
} tr__trace;

static void add(tr__trace *t, int kind, const tr_task *task, uint64_t other) {
    if (t->len == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 1024;
        ev *e = realloc(t->evs, cap * sizeof *e);
        if (!e) {
            t->oom = true;
            return;
        }
        t->evs = e;
        t->cap = cap;
    }
    t->evs[t->len++] = (ev){.kind = (uint8_t)kind, .task = tr_task_id(task), .other = other,
                            .at = t->sim->now};
}

static void keep_name(tr__trace *t, const tr_task *task) {
    uint64_t id = tr_task_id(task);
    if (id >= t->names_cap) {
        size_t cap = t->names_cap ? t->names_cap : 64;
        while (cap <= id) cap *= 2;
        char **n = realloc(t->names, cap * sizeof *n);
        if (!n) return;
        memset(n + t->names_cap, 0, (cap - t->names_cap) * sizeof *n);
        t->names = n;
        t->names_cap = cap;
    }
    if (!t->names[id]) t->names[id] = strdup(tr_task_name(task));
}

static void on_spawn(void *ctx, tr_task *task) {
    tr__trace *t = ctx;
    const tr_task *parent = tr_task_parent(task);
    keep_name(t, task);
    add(t, EV_SPAWN, task, parent ? tr_task_id(parent) : 0);
}

static void on_before(void *ctx, tr_task *task) {
    tr__site_at = NULL; /* a step's end names only a site its own calls recorded */
    add(ctx, EV_STEP_BEGIN, task, 0);
}
static void on_after(void *ctx, tr_task *task) {
    tr__trace *t = ctx;
    add(t, EV_STEP_END, task, 0);
    if (!t->oom && t->len) {
        t->evs[t->len - 1].file = tr__site_at ? tr__site_at->file : NULL;
        t->evs[t->len - 1].line = tr__site_at ? tr__site_at->line : 0;
    }
}
static void on_task_exit(void *ctx, tr_task *task) { add(ctx, EV_EXIT, task, 0); }

tr__trace *tr__trace_new(tr__sim *s) {
    tr__trace *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->sim = s;
    t->ins = (tr_instrument){.task_spawned = on_spawn, .before_task_step = on_before,
                             .after_task_step = on_after, .task_exited = on_task_exit, .ctx = t};
    return t;
}

tr_instrument *tr__trace_instrument(tr__trace *t) { return &t->ins; }

void tr__trace_fault(tr__trace *t, const tr_task *task) {
    if (t) add(t, EV_FAULT, task, 0);
}

void tr__trace_free(tr__trace *t) {
    if (!t) return;
    for (size_t i = 0; i < t->names_cap; i++) free(t->names[i]);
    free(t->names);
    free(t->evs);
    free(t);
}

static const char *name_of(const tr__trace *t, uint64_t id) {
    return id < t->names_cap && t->names[id] ? t->names[id] : "task";
}

/* JSON string contents: task names are the user's. */
static void json_str(FILE *f, const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
}

/* Microseconds on the trace's time axis: virtual time, plus 1 ns per event
 * within one virtual instant. */
static double ts_us(tr_time at, uint64_t nth) { return (double)at / 1e3 + (double)nth / 1e3; }

int tr__trace_write_json(const tr__trace *t, const char *path, uint64_t seed, int rc) {
    FILE *f = fopen(path, "w");
    if (!f) return -errno;
    fprintf(f, "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"seed\":\"0x%" PRIx64 "\",\"rc\":%d},\n"
               "\"traceEvents\":[\n", seed, rc);
    fprintf(f, "{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{\"name\":\"ctrio sim\"}}");
    for (size_t id = 1; id < t->names_cap; id++) {
        if (!t->names[id]) continue;
        fprintf(f, ",\n{\"ph\":\"M\",\"pid\":1,\"tid\":%zu,\"name\":\"thread_name\",\"args\":{\"name\":\"", id);
        json_str(f, t->names[id]);
        fprintf(f, " #%zu\"}}", id);
    }
    tr_time instant = -1;
    uint64_t nth = 0;
    double begin = 0;
    for (size_t i = 0; i < t->len; i++) {
        const ev *e = &t->evs[i];
        if (e->at != instant) instant = e->at, nth = 0;
        double ts = ts_us(e->at, nth++);
        switch (e->kind) {
        case EV_STEP_BEGIN: begin = ts; break;
        case EV_STEP_END:
            fprintf(f, ",\n{\"ph\":\"X\",\"pid\":1,\"tid\":%" PRIu64 ",\"ts\":%.3f,\"dur\":%.3f,"
                       "\"name\":\"step\",\"args\":{\"virtual_ns\":%" PRId64 "}}",
                    e->task, begin, ts - begin, e->at);
            break;
        case EV_SPAWN:
            fprintf(f, ",\n{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%" PRIu64 ",\"ts\":%.3f,\"name\":\"spawn\"}",
                    e->other ? e->other : e->task, ts);
            if (e->other)
                fprintf(f, ",\n{\"ph\":\"s\",\"id\":%" PRIu64 ",\"pid\":1,\"tid\":%" PRIu64
                           ",\"ts\":%.3f,\"name\":\"spawn\",\"cat\":\"flow\"}"
                           ",\n{\"ph\":\"f\",\"bp\":\"e\",\"id\":%" PRIu64 ",\"pid\":1,\"tid\":%" PRIu64
                           ",\"ts\":%.3f,\"name\":\"spawn\",\"cat\":\"flow\"}",
                        e->task, e->other, ts, e->task, e->task, ts + 0.0005);
            break;
        case EV_EXIT:
        case EV_FAULT:
            fprintf(f, ",\n{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%" PRIu64 ",\"ts\":%.3f,\"name\":\"%s\"}",
                    e->task, ts, e->kind == EV_EXIT ? "exit" : "fault: cancelled");
            break;
        }
    }
    fprintf(f, "\n]}\n");
    return fclose(f) == 0 ? 0 : -EIO;
}

void tr__trace_write_timeline(const tr__trace *t, FILE *f) {
    fprintf(f, "%18s  %-7s %s\n", "virtual time (s)", "event", "task");
    for (size_t i = 0; i < t->len; i++) {
        const ev *e = &t->evs[i];
        if (e->kind == EV_STEP_END) continue;
        static const char *const what[] = {"spawn", "step", "", "exit", "FAULT"};
        fprintf(f, "%18.9f  %-7s #%" PRIu64 " %s", (double)e->at / 1e9, what[e->kind], e->task,
                name_of(t, e->task));
        if (e->kind == EV_SPAWN && e->other) fprintf(f, "  (by #%" PRIu64 ")", e->other);
        if (e->kind == EV_FAULT) fprintf(f, "  (an enclosing scope was cancelled)");
        fputc('\n', f);
    }
    if (t->oom) fprintf(f, "(some events were lost: out of memory)\n");
}

/* ---- the first divergence of two runs -------------------------------------- */

static bool same_event(const ev *a, const ev *b) {
    if (a->kind != b->kind || a->task != b->task || a->other != b->other || a->at != b->at ||
        a->line != b->line)
        return false;
    return a->file == b->file || (a->file && b->file && !strcmp(a->file, b->file));
}

static void describe(FILE *f, const tr__trace *t, const ev *e) {
    static const char *const what[] = {"spawned", "started a step", "ended a step", "exited",
                                       "was cancelled (fault)"};
    fprintf(f, "task '%s' (#%" PRIu64 ") %s at virtual time %.9f s", name_of(t, e->task), e->task,
            what[e->kind], (double)e->at / 1e9);
    if (e->kind == EV_STEP_END && e->file) fprintf(f, " in the call at %s:%d", e->file, e->line);
}

/* Prints where two runs of one seed first differ; returns false if they do
 * not (as far as both recorded). */
bool tr__trace_first_divergence(const tr__trace *a, const tr__trace *b, FILE *f) {
    size_t n = a->len < b->len ? a->len : b->len, k = 0;
    while (k < n && same_event(&a->evs[k], &b->evs[k])) k++;
    if (k == n && a->len == b->len) return false;
    fprintf(f, "first divergence at event #%zu:\n  run 1: ", k);
    if (k < a->len) describe(f, a, &a->evs[k]);
    else fprintf(f, "(no more events)");
    fprintf(f, "\n  run 2: ");
    if (k < b->len) describe(f, b, &b->evs[k]);
    else fprintf(f, "(no more events)");
    fprintf(f, "\n");
    if (k > 0) {
        fprintf(f, "  last event both agree on: ");
        describe(f, a, &a->evs[k - 1]);
        fprintf(f, "\n");
    }
    return true;
}
