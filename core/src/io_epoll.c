/* The epoll backend (Linux). Level-triggered; the interest in an fd stays
 * registered after a wake-up so that a task waiting again on the same fd
 * and direction costs no epoll_ctl (io_wait.c drops interest nobody uses).
 * Timeouts have nanosecond resolution through epoll_pwait2 where the kernel
 * has it, else they are rounded up to whole milliseconds. */
#define _GNU_SOURCE
#include "io.h"

#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256

typedef struct epoll_state {
    int epfd;                             /* the epoll instance */
    bool no_pwait2;                       /* the kernel lacks epoll_pwait2 */
    struct epoll_event events[MAX_EVENTS]; /* what one wait returns */
} epoll_state;

const char tr__io_os_name[] = "epoll";

int tr__io_os_init(tr__io *io) {
    epoll_state *s = malloc(sizeof *s);
    if (!s) return -ENOMEM;
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->epfd < 0) {
        int e = -errno;
        free(s);
        return e;
    }
    s->no_pwait2 = false;
    io->os = s;
    return 0;
}

void tr__io_os_free(tr__io *io) {
    epoll_state *s = io->os;
    close(s->epfd);
    free(s);
}

static uint32_t to_epoll(unsigned ev) {
    return (ev & TR__IO_EV_READ ? EPOLLIN : 0u) | (ev & TR__IO_EV_WRITE ? EPOLLOUT : 0u);
}

/* MOD first when we believe the fd is registered, ADD otherwise; each falls
 * back to the other (an fd closed and reopened behind our back). */
static int ctl(epoll_state *s, int fd, bool registered, uint32_t events) {
    struct epoll_event e = {.events = events, .data.fd = fd};
    int op = registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(s->epfd, op, fd, &e) == 0) return 0;
    if (errno == ENOENT || errno == EEXIST) {
        op = op == EPOLL_CTL_MOD ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
        if (epoll_ctl(s->epfd, op, fd, &e) == 0) return 0;
    }
    return errno == EPERM ? -EINVAL : -errno;
}

int tr__io_os_update(tr__io *io, int fd, tr__fd_slot *slot, unsigned want) {
    epoll_state *s = io->os;
    if (want == slot->kernel) return 0;
    if (want == 0) {
        tr__io_os_forget(io, fd, slot);
        return 0;
    }
    int rc = ctl(s, fd, slot->kernel != 0, to_epoll(want));
    if (rc < 0) return rc;
    if (!slot->kernel) io->registered++;
    slot->kernel = (uint8_t)want;
    return 0;
}

void tr__io_os_forget(tr__io *io, int fd, tr__fd_slot *slot) {
    epoll_state *s = io->os;
    if (!slot->kernel) return;
    (void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL);
    slot->kernel = 0;
    io->registered--;
}

static int wait_ms(epoll_state *s, tr_duration timeout) {
    int ms = timeout == TR_INF ? -1
             : timeout >= (tr_duration)INT32_MAX * 1000000 ? INT32_MAX
                                                           : (int)((timeout + 999999) / 1000000);
    return epoll_wait(s->epfd, s->events, MAX_EVENTS, ms);
}

static int wait_events(epoll_state *s, tr_duration timeout) {
#ifdef SYS_epoll_pwait2
    /* epoll_pwait2 only for finite, non-zero timeouts (nanoseconds matter
     * there); 0 and infinity go through plain epoll_wait. */
    if (timeout != TR_INF && timeout != 0 && !s->no_pwait2) {
        struct timespec ts = {.tv_sec = timeout / 1000000000, .tv_nsec = timeout % 1000000000};
        int n = (int)syscall(SYS_epoll_pwait2, s->epfd, s->events, MAX_EVENTS, &ts, NULL, 0);
        if (n >= 0 || errno != ENOSYS) return n;
        s->no_pwait2 = true;
    }
#endif
    return wait_ms(s, timeout);
}

static unsigned from_epoll(uint32_t e) {
    if (TR__LIKELY(e == EPOLLIN)) return TR__IO_EV_READ;
    unsigned ev = 0;
    if (e & (EPOLLIN | EPOLLPRI | EPOLLRDHUP)) ev |= TR__IO_EV_READ;
    if (e & EPOLLOUT) ev |= TR__IO_EV_WRITE;
    if (e & (EPOLLERR | EPOLLHUP)) ev |= TR__IO_EV_READ | TR__IO_EV_WRITE;
    return ev;
}

void tr__io_os_poll(tr__run *r, tr__io *io, tr_duration timeout) {
    epoll_state *s = io->os;
    int n = wait_events(s, timeout);
    int wake_fd = io->wake_fd; /* not changed by the wake-ups below */
    for (int i = 0; i < n; i++) {
        int fd = s->events[i].data.fd;
        if (TR__UNLIKELY(fd == wake_fd)) tr__entries_drain(r);
        else tr__io_ready(r, io, fd, from_epoll(s->events[i].events));
    }
}
