/* ctrio memory channels: trio.open_memory_channel in C, with items of a
 * fixed size copied in and out.
 *
 * Included by <ctrio.h>; do not include it on its own.
 *
 *     tr_send_channel *tx;
 *     tr_receive_channel *rx;
 *     int rc = tr_open_memory_channel(&tx, &rx, 0, sizeof(int));
 *     ... rc = tr_channel_send(tx, &i);    rc = tr_channel_receive(rx, &i);
 *     tr_channel_close(tx);                tr_channel_close(rx);
 *
 * Handles. A channel has a send end and a receive end; each end may have
 * several handles (clones), and each handle is closed on its own. Closing a
 * handle wakes the tasks blocked on that handle with -EBADF and leaves the
 * other handles alone. When the last send handle closes, receivers drain
 * what is buffered and then get TR_EENDOFCHANNEL; when the last receive
 * handle closes, the buffer is dropped and senders get -EPIPE.
 *
 * Memory. A channel and all its handles come from the run's allocator and
 * are freed together when the last handle of either end is closed: close
 * every handle you open or clone (a task given a handle usually closes it
 * when it is done, as `async with channel:` does). Until then a closed handle
 * stays valid: calls on it return -EBADF and closing it again does nothing.
 * A channel belongs to the run it was opened in and must not outlive it.
 *
 * Fairness. Blocked senders and receivers are served oldest first. A sender
 * that finds a receiver waiting copies its item straight into that
 * receiver's destination; a receiver that frees a buffer slot gives it to
 * the oldest blocked sender, whose item is copied in at once.
 *
 * Checkpoints. send and receive check for cancellation first and offer a
 * schedule point even when they do not block; a cancelled send never
 * delivers its item and a cancelled receive never consumes one. When they
 * fail with an error other than -ECANCELED (-EBADF, -EPIPE,
 * TR_EENDOFCHANNEL, -ENOMEM) they return at once, without the schedule
 * point, as Trio raises. */
#ifndef CTRIO_CHANNEL_H
#define CTRIO_CHANNEL_H

#ifndef CTRIO_H
#error "include <ctrio.h>, not <ctrio/channel.h>"
#endif

#ifdef __cplusplus
extern "C" {
#endif


/* A handle on a channel's send end, and one on its receive end. */
typedef struct tr_send_channel tr_send_channel;
typedef struct tr_receive_channel tr_receive_channel;

/* A channel's state, as seen from either end. */
typedef struct tr_channel_stats {
    size_t current_buffer_used;   /* items buffered */
    size_t max_buffer_size;       /* as opened (TR_UNBOUNDED: none) */
    size_t open_send_channels;    /* send handles not yet closed */
    size_t open_receive_channels; /* receive handles not yet closed */
    size_t tasks_waiting_send;    /* tasks blocked in send */
    size_t tasks_waiting_receive; /* tasks blocked in receive */
} tr_channel_stats;

/* Open a channel of items of elem_size bytes that buffers up to max_buffer
 * items: 0 for a rendezvous (a send waits for a receiver), N, or
 * TR_UNBOUNDED. Stores one handle on each end in *tx and *rx. 0, -EINVAL
 * (elem_size is 0), -ENOMEM (nothing is stored). Bounded buffers of up to
 * 64 KiB are allocated here; larger ones grow as items arrive. Task only;
 * not a checkpoint. */
TR_API int tr_open_memory_channel(tr_send_channel **tx, tr_receive_channel **rx,
                                  size_t max_buffer, size_t elem_size);

/* Send a copy of the elem_size bytes at item: hand it to the oldest waiting
 * receiver, else buffer it, else wait until a receiver takes it (item must
 * stay valid meanwhile). Returns 0 once delivered or buffered; -ECANCELED
 * (not delivered); -EBADF (tx is closed, or was closed while waiting);
 * -EPIPE (every receive handle is closed); -ENOMEM (an unbounded or large
 * buffer could not grow). Checkpoint. */
TR_API TR_NODISCARD int tr_channel_send(tr_send_channel *tx, const void *item);
TR_API TR_NODISCARD int TR__AT(tr_channel_send)(tr_send_channel *tx, const void *item);
TR_API tr__hop tr__channel_send_begin(tr_send_channel *tx, const void *item, tr__hop_space *space);
#if defined(TR__HOP_INLINE) /* (see ctrio/hop.h) */
static inline __attribute__((always_inline)) TR_NODISCARD int
tr__channel_send_inline(tr_send_channel *tx, const void *item) {
    tr__hop_space space;
    return tr__hop_finish(tr__channel_send_begin(tx, item, &space), tr__hop_end_wake_inline);
}
#define tr_channel_send(tx, item) (TR__SITE(tr_channel_send), tr__channel_send_inline((tx), (item)))
#else
#define tr_channel_send(tx, item) (TR__SITE(tr_channel_send), TR__AT(tr_channel_send)((tx), (item)))
#endif

/* Send without waiting: as tr_channel_send, but -EWOULDBLOCK instead of
 * waiting, and never -ECANCELED. Not a checkpoint. */
TR_API int tr_channel_send_nowait(tr_send_channel *tx, const void *item);

/* Receive the oldest item into the elem_size bytes at out, waiting for one
 * if needed. Returns 0 with the item stored; -ECANCELED (nothing consumed,
 * out untouched); -EBADF (rx is closed, or was closed while waiting);
 * TR_EENDOFCHANNEL (every send handle is closed and the buffer is empty).
 * Checkpoint. */
TR_API TR_NODISCARD int tr_channel_receive(tr_receive_channel *rx, void *out);
TR_API TR_NODISCARD int TR__AT(tr_channel_receive)(tr_receive_channel *rx, void *out);
TR_API tr__hop tr__channel_receive_begin(tr_receive_channel *rx, void *out, tr__hop_space *space);
#if defined(TR__HOP_INLINE)
static inline __attribute__((always_inline)) TR_NODISCARD int
tr__channel_receive_inline(tr_receive_channel *rx, void *out) {
    tr__hop_space space;
    return tr__hop_finish(tr__channel_receive_begin(rx, out, &space), tr__hop_end_wake_inline);
}
#define tr_channel_receive(rx, out)                                                     \
    (TR__SITE(tr_channel_receive), tr__channel_receive_inline((rx), (out)))
#else
#define tr_channel_receive(rx, out)                                                     \
    (TR__SITE(tr_channel_receive), TR__AT(tr_channel_receive)((rx), (out)))
#endif

/* Receive without waiting: as tr_channel_receive, but -EWOULDBLOCK instead
 * of waiting, and never -ECANCELED. Not a checkpoint. */
TR_API int tr_channel_receive_nowait(tr_receive_channel *rx, void *out);

/* A new handle on the same end, stored in *out. 0, -EBADF (the handle is
 * closed), -ENOMEM. Not a checkpoint. */
TR_API int tr_send_channel_clone(tr_send_channel *tx, tr_send_channel **out);
TR_API int tr_receive_channel_clone(tr_receive_channel *rx, tr_receive_channel **out);

/* Close one handle (see "Handles" and "Memory" above). Idempotent while
 * the channel lives. Never blocks and never loses a buffered item while a
 * receive handle is open. Not a checkpoint. */
TR_API void tr_send_channel_close(tr_send_channel *tx);
TR_API void tr_receive_channel_close(tr_receive_channel *rx);

TR_API bool tr_send_channel_closed(const tr_send_channel *tx);
TR_API bool tr_receive_channel_closed(const tr_receive_channel *rx);

TR_API void tr_send_channel_statistics(const tr_send_channel *tx, tr_channel_stats *out);
TR_API void tr_receive_channel_statistics(const tr_receive_channel *rx, tr_channel_stats *out);

#ifndef __cplusplus
/* One name for either end: tr_channel_close(tx), tr_channel_clone(rx, &rx2),
 * tr_channel_statistics(tx, &stats). */
#define tr_channel_close(h)                                                     \
    _Generic((h), tr_send_channel *: tr_send_channel_close,                     \
             tr_receive_channel *: tr_receive_channel_close)(h)
#define tr_channel_clone(h, out)                                                \
    _Generic((h), tr_send_channel *: tr_send_channel_clone,                     \
             tr_receive_channel *: tr_receive_channel_clone)((h), (out))
#define tr_channel_statistics(h, out)                                           \
    _Generic((h), tr_send_channel *: tr_send_channel_statistics,                \
             tr_receive_channel *: tr_receive_channel_statistics)((h), (out))
#endif

#ifdef __cplusplus
}
#endif

#endif /* CTRIO_CHANNEL_H */
