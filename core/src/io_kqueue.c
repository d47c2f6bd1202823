/* The kqueue backend (FreeBSD, OpenBSD, NetBSD, macOS). Written against
 * kqueue(2)'s documented API; it cannot be built or tested on ctrio's Linux
 * CI (see the README's platform table). One EVFILT_READ and one
 * EVFILT_WRITE filter per fd and direction, added and deleted as interest
 * changes; interest stays after a wake-up as in the epoll backend. */
#include "io.h"

#include <sys/types.h>
#include <sys/event.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256

typedef struct kqueue_state {
    int kq;                            /* the kqueue */
    struct kevent events[MAX_EVENTS];  /* what one wait returns */
} kqueue_state;

const char tr__io_os_name[] = "kqueue";

int tr__io_os_init(tr__io *io) {
    kqueue_state *s = malloc(sizeof *s);
    if (!s) return -ENOMEM;
    s->kq = kqueue();
    if (s->kq < 0) {
        int e = -errno;
        free(s);
        return e;
    }
    io->os = s;
    return 0;
}

void tr__io_os_free(tr__io *io) {
    kqueue_state *s = io->os;
    close(s->kq);
    free(s);
}

static int change(kqueue_state *s, int fd, short filter, unsigned short flags) {
    struct kevent kev;
    EV_SET(&kev, (uintptr_t)fd, filter, flags, 0, 0, NULL);
    return kevent(s->kq, &kev, 1, NULL, 0, NULL) == 0 ? 0 : -errno;
}

int tr__io_os_update(tr__io *io, int fd, tr__fd_slot *slot, unsigned want) {
    kqueue_state *s = io->os;
    unsigned add = want & ~slot->kernel, del = slot->kernel & ~want;
    int rc = 0;
    if (add & TR__IO_EV_READ) rc = change(s, fd, EVFILT_READ, EV_ADD);
    if (rc == 0 && (add & TR__IO_EV_WRITE)) rc = change(s, fd, EVFILT_WRITE, EV_ADD);
    if (rc < 0) return rc;
    if (del & TR__IO_EV_READ) (void)change(s, fd, EVFILT_READ, EV_DELETE);
    if (del & TR__IO_EV_WRITE) (void)change(s, fd, EVFILT_WRITE, EV_DELETE);
    if (!slot->kernel && want) io->registered++;
    if (slot->kernel && !want) io->registered--;
    slot->kernel = (uint8_t)want;
    return 0;
}

void tr__io_os_forget(tr__io *io, int fd, tr__fd_slot *slot) {
    (void)tr__io_os_update(io, fd, slot, 0);
}

void tr__io_os_poll(tr__run *r, tr__io *io, tr_duration timeout) {
    kqueue_state *s = io->os;
    struct timespec ts = {.tv_sec = timeout / 1000000000, .tv_nsec = timeout % 1000000000};
    int n = kevent(s->kq, NULL, 0, s->events, MAX_EVENTS, timeout == TR_INF ? NULL : &ts);
    for (int i = 0; i < n; i++) {
        int fd = (int)s->events[i].ident;
        if (fd == io->wake_fd) {
            tr__entries_drain(r);
            continue;
        }
        unsigned ev = s->events[i].filter == EVFILT_READ ? TR__IO_EV_READ : TR__IO_EV_WRITE;
        if (s->events[i].flags & EV_ERROR) ev = TR__IO_EV_READ | TR__IO_EV_WRITE;
        tr__io_ready(r, io, fd, ev);
    }
}
