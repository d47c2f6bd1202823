/* See test_util.h. */
#define _GNU_SOURCE
#include "test_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static _Thread_local char *log_buf;
static _Thread_local size_t log_len, log_cap;

void tr_test_log_reset(void) {
    log_len = 0;
    if (log_buf) log_buf[0] = '\0';
}

static void log_append(const char *s, size_t n) {
    if (log_len + n + 1 > log_cap) {
        size_t cap = log_cap ? log_cap : 256;
        while (cap < log_len + n + 1) cap *= 2;
        char *b = realloc(log_buf, cap);
        if (!b) abort();
        log_buf = b;
        log_cap = cap;
    }
    memcpy(log_buf + log_len, s, n);
    log_len += n;
    log_buf[log_len] = '\0';
}

static void log_vline(const char *prefix, const char *fmt, va_list ap) {
    char line[512];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    if (n < 0) abort();
    if ((size_t)n >= sizeof line) n = (int)sizeof line - 1;
    if (prefix) log_append(prefix, strlen(prefix));
    log_append(line, (size_t)n);
    log_append("\n", 1);
}

void tr_test_log(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    log_vline(NULL, fmt, ap);
    va_end(ap);
}

void tr_test_logt(const char *fmt, ...) {
    char prefix[64];
    tr_time t = tr_current_time();
    long long s = (long long)(t / TR_SEC(1));
    long long ms = (long long)((t % TR_SEC(1)) / TR_MS(1));
    if (ms < 0) ms = -ms;
    snprintf(prefix, sizeof prefix, "%lld.%03lld ", s, ms);
    va_list ap;
    va_start(ap, fmt);
    log_vline(prefix, fmt, ap);
    va_end(ap);
}

const char *tr_test_log_str(void) {
    return log_buf ? log_buf : "";
}

void *tr_test_alloc_fn(void *ctx, void *ptr, size_t size) {
    tr_test_alloc *a = ctx;
    if (size == 0) {
        if (ptr) {
            a->live--;
            a->frees++;
            free(ptr);
        }
        return NULL;
    }
    a->calls++;
    bool fail = a->fail_at != 0 &&
                (a->calls == a->fail_at || (a->fail_after && a->calls > a->fail_at));
    if (fail) {
        a->failures++;
        return NULL;
    }
    void *p = realloc(ptr, size);
    if (p && !ptr) a->live++;
    return p;
}

long tr_test_rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    long size = 0, resident = -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2) resident = -1;
    fclose(f);
    if (resident < 0) return -1;
    return resident * sysconf(_SC_PAGESIZE);
}

bool tr_test_under_valgrind(void) {
    const char *preload = getenv("LD_PRELOAD");
    return preload && strstr(preload, "vgpreload") != NULL;
}
