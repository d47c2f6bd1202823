/* The poll(2) backend: portable POSIX, and the second implementation that
 * keeps the backend interface honest (CI runs the whole suite on it too).
 * The pollfd array holds one entry per fd with kernel interest; slot->index
 * is that entry's position + 1. Removal swaps the last entry in. Timeouts
 * have nanosecond resolution through ppoll where it exists. */
#define _GNU_SOURCE
#include "io.h"

#include <poll.h>
#include <time.h>

typedef struct poll_state {
    struct pollfd *pfds; /* one per fd with interest */
    size_t len;          /* entries in use */
    size_t cap;          /* allocated entries */
} poll_state;

const char tr__io_os_name[] = "poll";

int tr__io_os_init(tr__io *io) {
    poll_state *s = calloc(1, sizeof *s);
    if (!s) return -ENOMEM;
    io->os = s;
    return 0;
}

void tr__io_os_free(tr__io *io) {
    poll_state *s = io->os;
    free(s->pfds);
    free(s);
}

static short to_poll(unsigned ev) {
    return (short)((ev & TR__IO_EV_READ ? POLLIN : 0) | (ev & TR__IO_EV_WRITE ? POLLOUT : 0));
}

static int add_entry(poll_state *s, int fd, tr__fd_slot *slot) {
    if (s->len == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        struct pollfd *p = realloc(s->pfds, cap * sizeof *p);
        if (!p) return -ENOMEM;
        s->pfds = p;
        s->cap = cap;
    }
    s->pfds[s->len] = (struct pollfd){.fd = fd};
    slot->index = (uint32_t)++s->len;
    return 0;
}

/* poll reports a bad fd only when polled; catch it at registration as
 * epoll does. */
static bool fd_valid(int fd) {
    struct pollfd p = {.fd = fd};
    return !(poll(&p, 1, 0) == 1 && (p.revents & POLLNVAL));
}

int tr__io_os_update(tr__io *io, int fd, tr__fd_slot *slot, unsigned want) {
    poll_state *s = io->os;
    if (want == slot->kernel) return 0;
    if (want == 0) {
        tr__io_os_forget(io, fd, slot);
        return 0;
    }
    if (!slot->kernel) {
        if (!fd_valid(fd)) return -EBADF;
        int rc = add_entry(s, fd, slot);
        if (rc < 0) return rc;
        io->registered++;
    }
    s->pfds[slot->index - 1].events = to_poll(want);
    slot->kernel = (uint8_t)want;
    return 0;
}

void tr__io_os_forget(tr__io *io, int fd, tr__fd_slot *slot) {
    poll_state *s = io->os;
    (void)fd;
    if (!slot->kernel) return;
    size_t i = slot->index - 1;
    s->pfds[i] = s->pfds[--s->len];
    if (i < s->len) io->fds[s->pfds[i].fd].index = (uint32_t)(i + 1);
    slot->kernel = 0;
    slot->index = 0;
    io->registered--;
}

static int wait_events(poll_state *s, tr_duration timeout) {
#ifdef __linux__
    struct timespec ts = {.tv_sec = timeout / 1000000000, .tv_nsec = timeout % 1000000000};
    return ppoll(s->pfds, s->len, timeout == TR_INF ? NULL : &ts, NULL);
#else
    int ms = timeout == TR_INF ? -1
             : timeout >= (tr_duration)INT32_MAX * 1000000 ? INT32_MAX
                                                           : (int)((timeout + 999999) / 1000000);
    return poll(s->pfds, s->len, ms);
#endif
}

static unsigned from_poll(short e) {
    unsigned ev = 0;
    if (e & (POLLIN | POLLPRI)) ev |= TR__IO_EV_READ;
    if (e & POLLOUT) ev |= TR__IO_EV_WRITE;
    if (e & (POLLERR | POLLHUP | POLLNVAL)) ev |= TR__IO_EV_READ | TR__IO_EV_WRITE;
    return ev;
}

/* Readiness is collected first and reported after: reporting may change the
 * array (interest dropped, entries swapped). */
void tr__io_os_poll(tr__run *r, tr__io *io, tr_duration timeout) {
    poll_state *s = io->os;
    int n = wait_events(s, timeout);
    for (size_t i = 0; n > 0 && i < s->len; i++) {
        struct pollfd p = s->pfds[i];
        if (!p.revents) continue;
        n--;
        s->pfds[i].revents = 0;
        if (p.fd == io->wake_fd) {
            tr__entries_drain(r);
            continue;
        }
        size_t len = s->len;
        tr__io_ready(r, io, p.fd, from_poll(p.revents));
        if (s->len < len) i--; /* the last entry moved into slot i: look at it */
    }
}
