/* tr_sim_main: the command line every simulation program gets. A campaign
 * over many seeds runs in forked workers (seeds k, k+J, k+2J, ... for worker
 * k), so a seed that crashes its process is reported with its seed and the
 * campaign goes on; a single --seed runs in this process (debuggers work). */
#define _GNU_SOURCE
#include "ctrio/sim.h"
#include "sim_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct cli {
    const char *prog;        /* argv[0], for the replay command */
    uint64_t seed, start;    /* --seed S / --start S */
    uint64_t seeds;          /* --seeds N (0: a single --seed run) */
    unsigned jobs;           /* --jobs J */
    uint64_t shard, shards;  /* --shard K/N: this process runs block K of N */
    tr_sim_opts opts;        /* policy, limits, files */
    bool single, check_determinism, keep_going, quiet, sweep, shrink;
    tr_task_fn scenario;
    void *arg;
} cli;

/* Shared between the workers and the parent (MAP_SHARED). */
typedef struct shared {
    volatile uint64_t done;     /* seeds finished, all workers */
    volatile uint64_t failures; /* failed seeds, all workers */
    volatile uint64_t current[64]; /* the seed each worker is running */
} shared;

static void usage(FILE *f, const char *prog) {
    fprintf(f,
            "usage: %s [--seed S | --seeds N [--start S] [--jobs J]] [options]\n"
            "  --seed S              run one seed (decimal or 0x hex) in this process\n"
            "  --seeds N             run seeds start .. start+N-1 (default start 0)\n"
            "  --jobs J              forked workers for --seeds (default 1, at most 64)\n"
            "  --shard K/N           run only block K (0..N-1) of N equal blocks of the\n"
            "                        seed range, for spreading a campaign over machines\n"
            "  --policy P            random (default), fifo, or pct[:D] (depth D, default 3)\n"
            "  --max-steps N         task steps before a run fails as a livelock\n"
            "  --cancel-rate P       at each cancel point, cancel an enclosing scope with\n"
            "                        probability P (0..1), from the seed's fault stream\n"
            "  --cancel-at K         cancel the innermost enclosing scope at cancel point K\n"
            "  --timer-jitter D      every sleep wakes 0..D late (e.g. 500us, 2ms; at most\n"
            "                        ~4.29 s), from the seed's timers stream\n"
            "  --sweep-cancel        for each seed: count its cancel points, then run it\n"
            "                        once per point K with --cancel-at K\n"
            "  --save FILE           save the decision log of --seed's run\n"
            "  --shrink              shrink each failure's decision log to the smallest\n"
            "                        one found that fails the same way, and save it\n"
            "                        (to --save FILE, or ctrio-shrunk-<seed>.log)\n"
            "  --replay FILE         replay a saved decision log\n"
            "  --trace FILE          write a Perfetto/Chrome JSON trace of --seed's run\n"
            "                        (open it in ui.perfetto.dev)\n"
            "  --timeline            print the run's events in virtual time\n"
            "  --check-determinism   run every seed twice and compare trace hashes\n"
            "  --keep-going          do not stop a campaign at the first failure\n"
            "  --quiet               print failures and the summary only\n"
            "  --help                this text\n",
            prog);
}

static int parse_u64(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end || s[0] == '-') return -1;
    *out = v;
    return 0;
}

/* "250us", "5ms", "1s" or plain nanoseconds. */
static int parse_duration(const char *s, tr_duration *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || s[0] == '-') return -1;
    uint64_t unit = !strcmp(end, "") || !strcmp(end, "ns") ? 1 : !strcmp(end, "us") ? 1000
                    : !strcmp(end, "ms") ? 1000000 : !strcmp(end, "s") ? 1000000000 : 0;
    if (!unit || v > (uint64_t)UINT32_MAX / unit) return -1;
    *out = (tr_duration)(v * unit);
    return 0;
}

static int parse_policy(cli *c, const char *p) {
    if (!strcmp(p, "random")) c->opts.policy = TR_SIM_RANDOM;
    else if (!strcmp(p, "fifo")) c->opts.policy = TR_SIM_FIFO;
    else if (!strncmp(p, "pct", 3)) {
        uint64_t d = 3;
        if (p[3] == ':' && (parse_u64(p + 4, &d) || d < 1 || d > 17)) return -1;
        if (p[3] && p[3] != ':') return -1;
        c->opts.policy = TR_SIM_PCT;
        c->opts.pct_depth = (unsigned)d;
    } else return -1;
    return 0;
}

static const char *policy_arg(const cli *c, char *buf, size_t len) {
    if (c->opts.policy == TR_SIM_FIFO) return "fifo";
    if (c->opts.policy == TR_SIM_RANDOM) return "random";
    snprintf(buf, len, "pct:%u", c->opts.pct_depth ? c->opts.pct_depth : 3);
    return buf;
}

/* One option with a value; returns the number of argv entries used, or -1. */
static int parse_one(cli *c, int argc, char **argv, int i) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    uint64_t n;
    if (!strcmp(a, "--check-determinism")) return c->check_determinism = true, 1;
    if (!strcmp(a, "--keep-going")) return c->keep_going = true, 1;
    if (!strcmp(a, "--quiet")) return c->quiet = true, 1;
    if (!strcmp(a, "--sweep-cancel")) return c->sweep = true, 1;
    if (!strcmp(a, "--shrink")) return c->shrink = true, 1;
    if (!strcmp(a, "--timeline")) return c->opts.timeline = stdout, 1;
    if (!v) return -1;
    if (!strcmp(a, "--seed")) return parse_u64(v, &c->seed) ? -1 : (c->single = true, 2);
    if (!strcmp(a, "--seeds")) return parse_u64(v, &c->seeds) || !c->seeds ? -1 : 2;
    if (!strcmp(a, "--start")) return parse_u64(v, &c->start) ? -1 : 2;
    if (!strcmp(a, "--jobs")) return parse_u64(v, &n) || !n || n > 64 ? -1 : (c->jobs = (unsigned)n, 2);
    if (!strcmp(a, "--policy")) return parse_policy(c, v) ? -1 : 2;
    if (!strcmp(a, "--shard")) {
        char *end;
        errno = 0;
        unsigned long long k = strtoull(v, &end, 10), count;
        if (errno || end == v || *end != '/' || v[0] == '-') return -1;
        const char *ns = end + 1;
        count = strtoull(ns, &end, 10);
        if (errno || end == ns || *end || count == 0 || k >= count) return -1;
        c->shard = k;
        c->shards = count;
        return 2;
    }
    if (!strcmp(a, "--max-steps")) return parse_u64(v, &c->opts.max_steps) ? -1 : 2;
    if (!strcmp(a, "--cancel-at")) return parse_u64(v, &c->opts.cancel_at) || !c->opts.cancel_at ? -1 : 2;
    if (!strcmp(a, "--timer-jitter")) return parse_duration(v, &c->opts.timer_jitter) ? -1 : 2;
    if (!strcmp(a, "--cancel-rate")) {
        char *end;
        double p = strtod(v, &end);
        if (end == v || *end || !(p >= 0 && p <= 1)) return -1;
        c->opts.cancel_rate = p;
        return 2;
    }
    if (!strcmp(a, "--save")) return c->opts.save_file = v, 2;
    if (!strcmp(a, "--trace")) return c->opts.trace_file = v, 2;
    if (!strcmp(a, "--replay")) return c->opts.replay_file = v, c->single = true, 2;
    return -1;
}

static int parse(cli *c, int argc, char **argv) {
    for (int i = 1; i < argc;) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout, c->prog);
            exit(0);
        }
        int used = parse_one(c, argc, argv, i);
        if (used < 0) {
            fprintf(stderr, "%s: bad or incomplete option '%s'\n", c->prog, argv[i]);
            return -1;
        }
        i += used;
    }
    if (c->single && c->seeds) {
        fprintf(stderr, "%s: --seed/--replay and --seeds exclude each other\n", c->prog);
        return -1;
    }
    if (!c->single && !c->seeds) c->seeds = c->sweep ? 1 : 100;
    if (c->shards) {
        if (c->single) {
            fprintf(stderr, "%s: --shard needs a seed range (--seeds)\n", c->prog);
            return -1;
        }
        /* N blocks as equal as can be: the first seeds % N get one more. */
        uint64_t base = c->seeds / c->shards, extra = c->seeds % c->shards;
        c->start += c->shard * base + (c->shard < extra ? c->shard : extra);
        c->seeds = base + (c->shard < extra);
        if (!c->seeds) {
            printf("shard %" PRIu64 "/%" PRIu64 " is empty\n", c->shard, c->shards);
            exit(0);
        }
    }
    if (!c->jobs) c->jobs = 1;
    return 0;
}

/* ---- one seed -------------------------------------------------------------- */

/* The options a replay command must repeat besides the seed or log. */
static void print_replay_options(const cli *c) {
    char p[16];
    printf(" --policy %s", policy_arg(c, p, sizeof p));
    if (c->opts.max_steps) printf(" --max-steps %" PRIu64, c->opts.max_steps);
    if (c->opts.cancel_rate > 0) printf(" --cancel-rate %g", c->opts.cancel_rate);
    if (c->opts.cancel_at) printf(" --cancel-at %" PRIu64, c->opts.cancel_at);
    if (c->opts.timer_jitter) printf(" --timer-jitter %" PRId64 "ns", (int64_t)c->opts.timer_jitter);
}

static void print_failure(const cli *c, uint64_t seed, const tr_sim_result *r) {
    flockfile(stdout);
    if (c->opts.replay_file) printf("\nFAILED replay of %s", c->opts.replay_file);
    else printf("\nFAILED seed 0x%" PRIx64, seed);
    printf(": %s (%d) after %" PRIu64 " steps at virtual time %.6f s\n",
           tr_error_name(r->rc) ? tr_error_name(r->rc) : "error", r->rc, r->steps,
           (double)r->virtual_time / 1e9);
    if (r->report[0]) printf("%s", r->report);
    if (c->opts.replay_file)
        printf("trace hash 0x%016" PRIx64 "\nreplay: %s --replay %s", r->trace_hash, c->prog,
               c->opts.replay_file);
    else
        printf("trace hash 0x%016" PRIx64 "\nreplay: %s --seed 0x%" PRIx64, r->trace_hash, c->prog, seed);
    print_replay_options(c);
    printf("\n");
    fflush(stdout);
    funlockfile(stdout);
}

/* Runs a failed seed again: the same trace hash confirms the replay command. */
static void confirm_replay(const cli *c, tr_sim_opts *o, const tr_sim_result *r) {
    tr_sim_result again;
    const char *save = o->save_file;
    o->save_file = NULL;
    int rc = tr_sim_run(c->scenario, c->arg, o, &again);
    o->save_file = save;
    if (rc == 0 && again.trace_hash == r->trace_hash && again.rc == r->rc)
        printf("replay checked: the same failure with the same trace hash\n");
    else
        printf("REPLAY DIFFERS: trace hash 0x%016" PRIx64 ", rc %d (nondeterminism escaped the "
               "simulator: real time, threads, uninitialised memory?)\n",
               again.trace_hash, again.rc);
    fflush(stdout);
}

/* Shrinks a failed seed's decision log and prints how to replay the result. */
static void shrink_failure(const cli *c, uint64_t seed) {
    char path[64];
    const char *save = c->opts.save_file;
    if (!save) {
        snprintf(path, sizeof path, "ctrio-shrunk-0x%" PRIx64 ".log", seed);
        save = path;
    }
    fflush(stdout);
    if (tr__sim_shrink(c->scenario, c->arg, &c->opts, seed, save, stdout) == 0) {
        printf("replay the shrunk run: %s --replay %s", c->prog, save);
        print_replay_options(c);
        printf("\n");
    }
    fflush(stdout);
}

/* Runs the seed twice more, recording every event, and names the first
 * event where they differ from each other, or from the first run's hash. */
static int check_determinism(const cli *c, tr_sim_opts *o, uint64_t seed, const tr_sim_result *r) {
    tr__trace *t1 = NULL, *t2 = NULL;
    tr_sim_result a, b;
    o->save_file = NULL;
    int rc = tr__sim_run_traced(c->scenario, c->arg, o, &t1, &a);
    if (rc == 0) rc = tr__sim_run_traced(c->scenario, c->arg, o, &t2, &b);
    int diverged = 0;
    if (rc == 0 && (a.trace_hash != r->trace_hash || b.trace_hash != r->trace_hash)) {
        flockfile(stdout);
        printf("NOT DETERMINISTIC seed 0x%" PRIx64 ": trace hashes 0x%016" PRIx64 ", 0x%016" PRIx64
               ", 0x%016" PRIx64 "\n", seed, r->trace_hash, a.trace_hash, b.trace_hash);
        if (t1 && t2 && !tr__trace_first_divergence(t1, t2, stdout))
            printf("  (the two recorded runs agree; the first differed from them)\n");
        funlockfile(stdout);
        diverged = 1;
    }
    tr__trace_free(t1);
    tr__trace_free(t2);
    return diverged;
}

/* Runs one seed; returns 1 when it failed (or was not deterministic). */
static int run_seed(const cli *c, uint64_t seed, tr_sim_result *r) {
    tr_sim_opts o = c->opts;
    o.seed = seed;
    if (!c->single) o.save_file = NULL; /* in a campaign, --save names the shrunk log */
    int rc = tr_sim_run(c->scenario, c->arg, &o, r);
    if (rc < 0) {
        fprintf(stderr, "%s: seed 0x%" PRIx64 ": %s\n", c->prog, seed, tr_strerror(rc));
        return 1;
    }
    int failed = r->rc < 0;
    if (failed) {
        print_failure(c, seed, r);
        confirm_replay(c, &o, r);
        if (c->shrink) shrink_failure(c, seed);
    }
    if (c->check_determinism && check_determinism(c, &o, seed, r)) failed = 1;
    return failed;
}

static int run_single(const cli *c) {
    tr_sim_result r;
    int failed = run_seed(c, c->seed, &r);
    if (!c->quiet) {
        if (c->opts.replay_file) printf("replay of %s", c->opts.replay_file);
        else printf("seed 0x%" PRIx64, c->seed);
        printf(": %s, %" PRIu64 " steps, %" PRIu64 " decisions, virtual time %.6f s, trace hash 0x%016" PRIx64
               "%s\n",
               failed ? "FAILED" : "ok", r.steps, r.decisions, (double)r.virtual_time / 1e9,
               r.trace_hash, r.replay_exhausted ? " (past the end of the replayed log)" : "");
    }
    return failed;
}

/* ---- campaigns ------------------------------------------------------------- */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Worker k: seeds start+k, start+k+J, ... from index `from` on. */
static void worker(const cli *c, shared *sh, unsigned k, uint64_t from) {
    for (uint64_t i = from; i < c->seeds; i += c->jobs) {
        if (sh->failures && !c->keep_going) break;
        uint64_t seed = c->start + i;
        sh->current[k] = seed;
        tr_sim_result r;
        if (run_seed(c, seed, &r)) __atomic_add_fetch(&sh->failures, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&sh->done, 1, __ATOMIC_RELAXED);
    }
    fflush(stdout);
    _exit(0);
}

static pid_t spawn_worker(const cli *c, shared *sh, unsigned k, uint64_t from) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) worker(c, sh, k, from);
    return pid;
}

static void progress(const cli *c, const shared *sh, double t0, bool tty) {
    double el = now_s() - t0, rate = el > 0 ? (double)sh->done / el : 0;
    double eta = rate > 0 ? (double)(c->seeds - sh->done) / rate : 0;
    int width = 30, fill = (int)(width * (double)sh->done / (double)c->seeds);
    if (tty)
        fprintf(stderr, "\r[%.*s%*s] %" PRIu64 "/%" PRIu64 " seeds  %.0f seeds/s  %" PRIu64
                        " failed  ETA %.0fs ",
                fill, "##############################", width - fill, "", sh->done, c->seeds,
                rate, sh->failures, eta);
    else
        fprintf(stderr, "progress: %" PRIu64 "/%" PRIu64 " seeds, %.0f seeds/s, %" PRIu64 " failed\n",
                sh->done, c->seeds, rate, sh->failures);
}

/* A worker died (a signal, or a non-zero exit: what ASan and LSan do):
 * report the seed it was on, count it, resume its shard after it. */
static pid_t worker_died(const cli *c, shared *sh, unsigned k, int status) {
    uint64_t seed = sh->current[k];
    if (WIFSIGNALED(status))
        printf("\nCRASHED seed 0x%" PRIx64 ": killed by signal %d (%s)\n", seed, WTERMSIG(status),
               strsignal(WTERMSIG(status)));
    else
        printf("\nCRASHED seed 0x%" PRIx64 ": the worker exited with status %d\n", seed,
               WEXITSTATUS(status));
    printf("replay: %s --seed 0x%" PRIx64, c->prog, seed);
    print_replay_options(c);
    printf("\n");
    __atomic_add_fetch(&sh->failures, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&sh->done, 1, __ATOMIC_RELAXED);
    uint64_t next = seed - c->start + c->jobs;
    return next < c->seeds && (c->keep_going || !sh->failures) ? spawn_worker(c, sh, k, next) : 0;
}

static int run_campaign(const cli *c) {
    shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) return perror("mmap"), 2;
    pid_t pids[64] = {0};
    unsigned alive = 0;
    bool tty = isatty(2) && !c->quiet, fork_failed = false;
    double t0 = now_s(), last = t0;
    for (unsigned k = 0; k < c->jobs && k < c->seeds; k++) {
        pids[k] = spawn_worker(c, sh, k, k);
        if (pids[k] > 0) alive++;
        else pids[k] = 0, fork_failed = true;
    }
    while (alive) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) {
            usleep(20000);
            if (!c->quiet && (tty || now_s() - last > 5)) progress(c, sh, t0, tty), last = now_s();
            continue;
        }
        for (unsigned k = 0; k < c->jobs; k++) {
            if (pids[k] != pid) continue;
            bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
            pids[k] = clean ? 0 : worker_died(c, sh, k, status);
            if (pids[k] < 0) pids[k] = 0, fork_failed = true;
            if (!pids[k]) alive--;
        }
    }
    double el = now_s() - t0;
    if (tty) progress(c, sh, t0, tty), fputc('\n', stderr);
    printf("%" PRIu64 " of %" PRIu64 " seeds run, %" PRIu64 " failed, in %.2f s (%.0f seeds/s, %u jobs)\n",
           sh->done, c->seeds, sh->failures, el, el > 0 ? (double)sh->done / el : 0.0, c->jobs);
    if (fork_failed) printf("could not start every worker (fork: %s): seeds were left out\n",
                            strerror(errno));
    int failed = sh->failures != 0 || fork_failed;
    munmap(sh, sizeof *sh);
    return failed;
}

/* ---- the cancellation sweep ------------------------------------------------ */

/* A dry run counts the seed's cancel points; then the seed runs once per
 * point k, with a cancellation injected there. Every run must still pass:
 * no lost error, no deadlock, every nursery drained (tr_run ends). */
static int sweep_seed(cli *c, uint64_t seed, uint64_t *runs) {
    tr_sim_result r;
    cli dry = *c;
    dry.opts.cancel_at = 0;
    dry.opts.cancel_rate = 0;
    if (run_seed(&dry, seed, &r)) return 1;
    int failed = 0;
    for (uint64_t k = 1; k <= r.cancel_points; k++) {
        cli one = dry;
        one.opts.cancel_at = k;
        tr_sim_result rk;
        (*runs)++;
        if (run_seed(&one, seed, &rk)) {
            failed++;
            if (!c->keep_going) break;
        }
    }
    if (!c->quiet)
        printf("seed 0x%" PRIx64 ": %" PRIu64 " cancel points swept, %d failed\n", seed,
               r.cancel_points, failed);
    return failed;
}

static int run_sweep(cli *c) {
    uint64_t first = c->single ? c->seed : c->start, n = c->single ? 1 : c->seeds, runs = 0;
    int failed = 0;
    for (uint64_t i = 0; i < n && (!failed || c->keep_going); i++) failed += sweep_seed(c, first + i, &runs);
    printf("cancellation sweep: %" PRIu64 " seeds, %" PRIu64 " runs with an injected "
           "cancellation, %d failed\n", n, runs, failed);
    return failed != 0;
}

int tr_sim_main(int argc, char **argv, tr_task_fn scenario, void *arg) {
    cli c = {.prog = argc > 0 ? argv[0] : "sim", .scenario = scenario, .arg = arg};
    if (parse(&c, argc, argv) < 0) {
        usage(stderr, c.prog);
        return 2;
    }
    if (c.sweep) return run_sweep(&c);
    return c.single ? run_single(&c) : run_campaign(&c);
}
