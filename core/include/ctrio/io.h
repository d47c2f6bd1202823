/* ctrio low-level I/O: waiting for a file descriptor to become readable or
 * writable on the run's I/O backend (epoll on Linux, kqueue on BSD/macOS,
 * poll(2) elsewhere; CMake's CTRIO_IO_BACKEND picks one), as trio.lowlevel's
 * wait_readable / wait_writable / notify_closing.
 *
 * Included by <ctrio.h>; do not include it on its own.
 *
 * The fd must be in non-blocking mode for the usual pattern:
 *
 *     for (;;) {
 *         ssize_t n = read(fd, buf, sizeof buf);
 *         if (n >= 0 || errno != EAGAIN) break;
 *         if ((rc = tr_wait_readable(fd)) < 0) return rc;
 *     }
 *
 * Closing. Before closing an fd that a task of the run has waited on, call
 * tr_notify_closing(fd): it wakes any task still waiting on it with -EBADF
 * and makes the backend forget the fd. Closing without it leaves the
 * backend's registration behind (the kernel may hand the same number to a
 * new file), which is a bug, as in Trio: a later wait on the reused number
 * may then never wake (the backend believes it is already watched).
 */
#ifndef CTRIO_IO_H
#define CTRIO_IO_H

#ifdef __cplusplus
extern "C" {
#endif

/* Block until fd is readable (data, EOF, an error or hang-up are all
 * "readable"). Checkpoint: a cancel point even when fd is ready at once.
 * Returns 0; -ECANCELED (nothing is left registered for this task);
 * -EBUSY when another task already waits for fd to be readable; -EBADF when
 * tr_notify_closing(fd) was called while waiting, or fd is not a valid
 * descriptor; -EINVAL for fd < 0, or for an fd the epoll backend cannot
 * watch (a regular file or a directory: epoll_ctl's EPERM; the poll backend
 * reports such an fd ready at once); -ENOMEM. Task only. */
TR_API TR_NODISCARD int tr_wait_readable(int fd);
TR_API TR_NODISCARD int TR__AT(tr_wait_readable)(int fd);
#define tr_wait_readable(fd) (TR__SITE(tr_wait_readable), TR__AT(tr_wait_readable)(fd))

/* As tr_wait_readable, for writability. */
TR_API TR_NODISCARD int tr_wait_writable(int fd);
TR_API TR_NODISCARD int TR__AT(tr_wait_writable)(int fd);
#define tr_wait_writable(fd) (TR__SITE(tr_wait_writable), TR__AT(tr_wait_writable)(fd))

/* Wake every task of this run waiting on fd with -EBADF and forget fd, so
 * it can be closed. Call it before close(fd). Not a checkpoint. Task only. */
TR_API void tr_notify_closing(int fd);

/* The name of the I/O backend this library was built with: "epoll",
 * "poll" or "kqueue". */
TR_API const char *tr_io_backend_name(void);

#ifdef __cplusplus
}
#endif

#endif /* CTRIO_IO_H */
