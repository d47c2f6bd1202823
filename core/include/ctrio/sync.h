/* ctrio synchronization primitives: Trio's ParkingLot, Event, Lock,
 * StrictFIFOLock, Semaphore, Condition and CapacityLimiter, in C.
 *
 * Included by <ctrio.h>; do not include it on its own.
 *
 * Every object here lives in storage the caller provides (a struct with an
 * opaque body, usually a static or a field of a longer-lived struct); it
 * must stay where it is while any task is blocked on it, and it may be
 * reused once nothing refers to it any more. Objects belong to the run their
 * tasks run in: all calls are task only unless said otherwise.
 *
 * Fairness is Trio's: every wait queue is strictly first-in first-out, and a
 * release hands the resource straight to the oldest waiter, so a task that
 * releases and at once tries again cannot barge back in ahead of it.
 *
 * Blocking calls follow ctrio's checkpoint rule: they check for cancellation
 * first (a cancelled task gets -ECANCELED and the object is left untouched)
 * and offer a schedule point even when they do not block. A blocking call
 * that fails with an error other than -ECANCELED returns at once, without
 * the schedule point (as in Trio, where the error is raised right away). */
#ifndef CTRIO_SYNC_H
#define CTRIO_SYNC_H

#ifndef CTRIO_H
#error "include <ctrio.h>, not <ctrio/sync.h>"
#endif

#ifdef __cplusplus
extern "C" {
#endif


/* ------------------------------------------------------------------------ */
/* Parking lot: the queue every other primitive is built on                 */
/* ------------------------------------------------------------------------ */

/* A strictly FIFO queue of parked tasks (trio.lowlevel.ParkingLot). Parking
 * allocates nothing: each parked task's queue entry lives on its own stack.
 * All-zero bytes (static storage, `= {0}`) are an empty lot. */
typedef struct tr_parking_lot {
    TR__ALIGNAS(16) unsigned char tr__opaque[32];
} tr_parking_lot;

/* Statistics of a parking lot. */
typedef struct tr_parking_lot_stats {
    size_t tasks_waiting; /* tasks parked in the lot */
} tr_parking_lot_stats;

/* Make lot an empty lot. Not a checkpoint; callable anywhere. */
TR_API void tr_parking_lot_init(tr_parking_lot *lot);

/* Park the current task at the back of lot until an unpark reaches it.
 * Returns 0 when unparked, or -ECANCELED: a cancelled task is taken out of
 * the queue (also when it was already cancelled on arrival: it then leaves
 * at once, after a schedule point). Checkpoint (it always blocks). */
TR_API TR_NODISCARD int tr_parking_lot_park(tr_parking_lot *lot);
TR_API TR_NODISCARD int TR__AT(tr_parking_lot_park)(tr_parking_lot *lot);
#define tr_parking_lot_park(lot) (TR__SITE(tr_parking_lot_park), TR__AT(tr_parking_lot_park)(lot))

/* Wake the n oldest parked tasks (fewer if fewer are parked): each returns 0
 * from tr_parking_lot_park. Returns how many were woken. Not a checkpoint. */
TR_API size_t tr_parking_lot_unpark(tr_parking_lot *lot, size_t n);

/* Wake every parked task. Returns how many. Not a checkpoint. */
TR_API size_t tr_parking_lot_unpark_all(tr_parking_lot *lot);

/* Wake the oldest parked task and return it (NULL: the lot was empty), for
 * primitives that hand something to the task they wake. Not a checkpoint. */
TR_API tr_task *tr_parking_lot_unpark_one(tr_parking_lot *lot);

/* Move the n oldest parked tasks, still asleep and in order, to the back of
 * other (Condition.notify uses it to queue waiters on a lock). From then on
 * only other can wake them, and their cancellation takes them out of other.
 * Returns how many moved. Not a checkpoint. */
TR_API size_t tr_parking_lot_repark(tr_parking_lot *lot, size_t n, tr_parking_lot *other);
TR_API size_t tr_parking_lot_repark_all(tr_parking_lot *lot, tr_parking_lot *other);

TR_API void tr_parking_lot_statistics(const tr_parking_lot *lot, tr_parking_lot_stats *out);

/* ------------------------------------------------------------------------ */
/* Event                                                                     */
/* ------------------------------------------------------------------------ */

/* A one-shot flag tasks can wait for (trio.Event): once set it stays set.
 * All-zero bytes are an unset event. */
typedef struct tr_event {
    TR__ALIGNAS(16) unsigned char tr__opaque[48];
} tr_event;

typedef struct tr_event_stats {
    size_t tasks_waiting; /* tasks blocked in tr_event_wait */
} tr_event_stats;

/* Make ev unset, with no waiter. Not a checkpoint. */
TR_API void tr_event_init(tr_event *ev);
/* Set the flag and wake every waiter; setting it again does nothing. Not a
 * checkpoint. */
TR_API void tr_event_set(tr_event *ev);
TR_API bool tr_event_is_set(const tr_event *ev);
/* Wait until the flag is set. 0 or -ECANCELED. Checkpoint, also when the
 * flag is already set (the cancellation check then comes after the schedule
 * point, as tr_checkpoint's). */
TR_API TR_NODISCARD int tr_event_wait(tr_event *ev);
TR_API TR_NODISCARD int TR__AT(tr_event_wait)(tr_event *ev);
#define tr_event_wait(ev) (TR__SITE(tr_event_wait), TR__AT(tr_event_wait)(ev))
TR_API void tr_event_statistics(const tr_event *ev, tr_event_stats *out);

/* ------------------------------------------------------------------------ */
/* Lock and strict FIFO lock                                                 */
/* ------------------------------------------------------------------------ */

/* A fair mutex owned by a task (trio.Lock). Waiters queue in strict FIFO
 * order, and release hands the lock straight to the oldest waiter: the
 * releaser cannot take it back before every earlier waiter had its turn.
 * All-zero bytes are an unlocked lock with no waiter. */
typedef struct tr_lock {
    TR__ALIGNAS(16) unsigned char tr__opaque[48];
} tr_lock;

/* trio.StrictFIFOLock: a lock whose strict FIFO hand-off is part of its
 * contract (tr_lock already behaves so); every tr_lock_* call applies. */
typedef tr_lock tr_strict_fifo_lock;

typedef struct tr_lock_stats {
    bool locked;          /* some task holds the lock */
    tr_task *owner;       /* that task, or NULL */
    size_t tasks_waiting; /* tasks blocked in acquire */
} tr_lock_stats;

/* Make l unlocked, with no waiter. Not a checkpoint. */
TR_API void tr_lock_init(tr_lock *l);

/* Take the lock, waiting for it if another task holds it or others are
 * already waiting. Returns 0 (the current task owns it), -ECANCELED
 * (nothing changed), or -EDEADLK when the current task already owns it.
 * Checkpoint. */
TR_API TR_NODISCARD int tr_lock_acquire(tr_lock *l);
TR_API TR_NODISCARD int TR__AT(tr_lock_acquire)(tr_lock *l);
#define tr_lock_acquire(l) (TR__SITE(tr_lock_acquire), TR__AT(tr_lock_acquire)(l))

/* Take the lock if it is free and nobody waits for it. 0, -EWOULDBLOCK, or
 * -EDEADLK when the current task already owns it. Not a checkpoint. */
TR_API int tr_lock_acquire_nowait(tr_lock *l);

/* Release the lock: the oldest waiter, if any, becomes the owner and wakes.
 * 0, or -EPERM when the current task is not the owner (nothing changes).
 * Not a checkpoint. */
TR_API int tr_lock_release(tr_lock *l);

TR_API bool tr_lock_locked(const tr_lock *l);
TR_API void tr_lock_statistics(const tr_lock *l, tr_lock_stats *out);

/* ------------------------------------------------------------------------ */
/* Semaphore                                                                 */
/* ------------------------------------------------------------------------ */

/* A counter tasks wait on (trio.Semaphore); release hands the unit straight
 * to the oldest waiter. Not owned by any task. */
typedef struct tr_semaphore {
    TR__ALIGNAS(16) unsigned char tr__opaque[48];
} tr_semaphore;

typedef struct tr_semaphore_stats {
    size_t tasks_waiting; /* tasks blocked in acquire */
} tr_semaphore_stats;

/* Start at initial_value; max_value bounds the value (TR_UNBOUNDED: no
 * bound). 0, or -EINVAL when initial_value > max_value. Not a checkpoint. */
TR_API int tr_semaphore_init(tr_semaphore *s, size_t initial_value, size_t max_value);

/* Decrement the value, waiting while it is 0 (or while others wait). 0 or
 * -ECANCELED (nothing changed). Checkpoint. */
TR_API TR_NODISCARD int tr_semaphore_acquire(tr_semaphore *s);
TR_API TR_NODISCARD int TR__AT(tr_semaphore_acquire)(tr_semaphore *s);
#define tr_semaphore_acquire(s) (TR__SITE(tr_semaphore_acquire), TR__AT(tr_semaphore_acquire)(s))

/* Decrement the value if it is above 0. 0 or -EWOULDBLOCK. Not a
 * checkpoint. */
TR_API int tr_semaphore_acquire_nowait(tr_semaphore *s);

/* Wake the oldest waiter (the value stays 0), else increment the value. 0,
 * or -EINVAL when the value is already at its maximum (nothing changes).
 * Not a checkpoint. */
TR_API int tr_semaphore_release(tr_semaphore *s);

TR_API size_t tr_semaphore_value(const tr_semaphore *s);
TR_API size_t tr_semaphore_max_value(const tr_semaphore *s); /* TR_UNBOUNDED: none */
TR_API void tr_semaphore_statistics(const tr_semaphore *s, tr_semaphore_stats *out);

/* ------------------------------------------------------------------------ */
/* Condition                                                                 */
/* ------------------------------------------------------------------------ */

/* A condition variable bound to a lock (trio.Condition). */
typedef struct tr_condition {
    TR__ALIGNAS(16) unsigned char tr__opaque[96];
} tr_condition;

typedef struct tr_condition_stats {
    size_t tasks_waiting;          /* tasks blocked in tr_condition_wait */
    tr_lock_stats lock_statistics; /* the lock's */
} tr_condition_stats;

/* Bind c to lock, which must outlive it; lock NULL: c uses a lock of its
 * own, inside c. Not a checkpoint. */
TR_API void tr_condition_init(tr_condition *c, tr_lock *lock);
/* The lock c is bound to. */
TR_API tr_lock *tr_condition_lock(tr_condition *c);

/* The lock's acquire, acquire_nowait, release and locked. */
TR_API TR_NODISCARD int tr_condition_acquire(tr_condition *c);
TR_API TR_NODISCARD int TR__AT(tr_condition_acquire)(tr_condition *c);
#define tr_condition_acquire(c) (TR__SITE(tr_condition_acquire), TR__AT(tr_condition_acquire)(c))
TR_API int tr_condition_acquire_nowait(tr_condition *c);
TR_API int tr_condition_release(tr_condition *c);
TR_API bool tr_condition_locked(const tr_condition *c);

/* Release the lock, wait for a notify, then take the lock again. The caller
 * must hold the lock (-EPERM otherwise, nothing changes). Returns 0 once
 * notified, or -ECANCELED; in both cases the lock is held again on return
 * (after a cancellation the task re-acquires it in a shielded wait, as
 * Trio's does). Checkpoint. */
TR_API TR_NODISCARD int tr_condition_wait(tr_condition *c);
TR_API TR_NODISCARD int TR__AT(tr_condition_wait)(tr_condition *c);
#define tr_condition_wait(c) (TR__SITE(tr_condition_wait), TR__AT(tr_condition_wait)(c))

/* Move the n oldest waiters onto the lock's queue, in order: they return
 * from wait as they get the lock, after the current holder releases it. The
 * caller must hold the lock. Returns how many were notified, or -EPERM.
 * Not a checkpoint. */
TR_API int tr_condition_notify(tr_condition *c, size_t n);
TR_API int tr_condition_notify_all(tr_condition *c);

TR_API void tr_condition_statistics(const tr_condition *c, tr_condition_stats *out);

/* ------------------------------------------------------------------------ */
/* Capacity limiter                                                          */
/* ------------------------------------------------------------------------ */

/* A pool of tokens lent to borrowers (trio.CapacityLimiter). A borrower is
 * any pointer identifying who holds a token (the current task by default);
 * one borrower holds at most one token. The set of borrowers is kept in a
 * table allocated from the run's allocator while any token is out, freed
 * when the last one is returned: release every token before the run ends. */
typedef struct tr_capacity_limiter {
    TR__ALIGNAS(16) unsigned char tr__opaque[80];
} tr_capacity_limiter;

typedef struct tr_capacity_limiter_stats {
    size_t borrowed_tokens; /* tokens held */
    size_t total_tokens;    /* the limit (TR_UNBOUNDED: none) */
    size_t tasks_waiting;   /* tasks blocked in acquire */
} tr_capacity_limiter_stats;

/* total_tokens may be TR_UNBOUNDED (an infinite capacity) or 0 (everyone
 * waits until the total grows). Not a checkpoint; callable anywhere. */
TR_API void tr_capacity_limiter_init(tr_capacity_limiter *l, size_t total_tokens);

/* Borrow a token for borrower (tr_capacity_limiter_acquire: for the current
 * task), waiting in FIFO order while none is free. 0, -ECANCELED (nothing
 * borrowed), -EDEADLK (borrower already holds a token of l), -ENOMEM (the
 * borrower table could not grow). Checkpoint. */
TR_API TR_NODISCARD int tr_capacity_limiter_acquire(tr_capacity_limiter *l);
TR_API TR_NODISCARD int TR__AT(tr_capacity_limiter_acquire)(tr_capacity_limiter *l);
#define tr_capacity_limiter_acquire(l)                                                  \
    (TR__SITE(tr_capacity_limiter_acquire), TR__AT(tr_capacity_limiter_acquire)(l))
TR_API TR_NODISCARD int tr_capacity_limiter_acquire_on_behalf_of(tr_capacity_limiter *l,
                                                                 const void *borrower);
TR_API TR_NODISCARD int TR__AT(tr_capacity_limiter_acquire_on_behalf_of)(tr_capacity_limiter *l,
                                                                         const void *borrower);
#define tr_capacity_limiter_acquire_on_behalf_of(l, b)                                  \
    (TR__SITE(tr_capacity_limiter_acquire_on_behalf_of),                                \
     TR__AT(tr_capacity_limiter_acquire_on_behalf_of)((l), (b)))

/* Borrow a token if one is free and nobody waits. 0, -EWOULDBLOCK,
 * -EDEADLK, -ENOMEM. Not a checkpoint. */
TR_API int tr_capacity_limiter_acquire_nowait(tr_capacity_limiter *l);
TR_API int tr_capacity_limiter_acquire_on_behalf_of_nowait(tr_capacity_limiter *l,
                                                           const void *borrower);

/* Return borrower's token; the freed token goes to the oldest waiter. 0, or
 * -EPERM when borrower holds no token of l. Not a checkpoint. */
TR_API int tr_capacity_limiter_release(tr_capacity_limiter *l);
TR_API int tr_capacity_limiter_release_on_behalf_of(tr_capacity_limiter *l,
                                                    const void *borrower);

/* Change the total. Growing it wakes as many waiters as there are new free
 * tokens; shrinking it below the tokens out takes effect as they come back.
 * 0, or -ENOMEM when waiters could not all be handed a token (those left
 * keep waiting). Not a checkpoint. */
TR_API int tr_capacity_limiter_set_total_tokens(tr_capacity_limiter *l, size_t total_tokens);
TR_API size_t tr_capacity_limiter_total_tokens(const tr_capacity_limiter *l);
TR_API size_t tr_capacity_limiter_borrowed_tokens(const tr_capacity_limiter *l);
/* total - borrowed, or 0 while the total is below the tokens out. */
TR_API size_t tr_capacity_limiter_available_tokens(const tr_capacity_limiter *l);
/* True when borrower holds a token of l. */
TR_API bool tr_capacity_limiter_is_borrower(const tr_capacity_limiter *l, const void *borrower);
TR_API void tr_capacity_limiter_statistics(const tr_capacity_limiter *l,
                                           tr_capacity_limiter_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* CTRIO_SYNC_H */
