/* Memory channels (trio.open_memory_channel): a ring buffer of fixed-size
 * items plus two FIFO lots of blocked senders and receivers.
 *
 * Hand-off: a sender that finds a receiver waiting copies its item straight
 * into the receiver's destination and wakes it (the receiver owns the item
 * from then on, even if a cancellation arrives before it runs); a receiver
 * that finds a sender waiting takes the oldest item and moves that sender's
 * item into the freed slot (or, unbuffered, straight into its own
 * destination). A blocked task's waiter (its item pointer and the handle it
 * waits on) lives on its own stack: no operation allocates, except for
 * buffer growth. Cancellation only unlinks a waiter, so a cancelled send
 * never delivers and a cancelled receive never consumes. */
#include "sync_internal.h"

/* One handle; the public handle types are this struct. */
typedef struct end {
    struct chan *chan;       /* the shared state */
    struct end *next_clone;  /* next separately allocated handle of chan */
    bool closed;             /* closed by its owner */
} end;

struct tr_send_channel {
    end e;
};
struct tr_receive_channel {
    end e;
};

/* The state both ends share. The first handle of each end is allocated with
 * it; clones are allocated separately and listed in clones. */
typedef struct chan {
    tr__run *run;            /* whose allocator owns everything here */
    size_t elem;             /* item size in bytes */
    size_t max;              /* max_buffer (TR_UNBOUNDED: none) */
    char *buf;               /* ring of cap items (NULL while cap is 0) */
    size_t cap;              /* items buf can hold */
    size_t head;             /* index of the oldest item */
    size_t len;              /* items buffered */
    size_t open_send;        /* send handles not closed */
    size_t open_recv;        /* receive handles not closed */
    tr__lot senders;         /* blocked senders (struct waiter) */
    tr__lot receivers;       /* blocked receivers (struct waiter) */
    end *clones;             /* handles allocated by clone */
    bool simple;             /* sends and receives need no call: items of 4, 8
                                or 16 bytes, and a ring that never grows
                                (none, or allocated whole at open) */
    struct tr_send_channel tx0;    /* the send handle open returned */
    struct tr_receive_channel rx0; /* the receive handle open returned */
} chan;

/* A blocked sender or receiver, on its own stack. */
typedef struct waiter {
    tr__lot_node node;       /* its place in senders or receivers */
    const end *handle;       /* the handle it blocked on */
    void *item;              /* sender: its item; receiver: where to store one */
} waiter;

_Static_assert(sizeof(waiter) <= sizeof(tr__hop_space), "a waiter must fit in a hop's space");

/* Bounded buffers up to this size are allocated when the channel opens. */
#define PREALLOC_MAX_BYTES ((size_t)64 * 1024)
/* First allocation of a growing buffer, in items. */
#define GROW_MIN_ITEMS 16

/* ---- items and the ring -------------------------------------------------- */

static bool small_item(size_t n) { return n == 4 || n == 8 || n == 16; }

/* memcpy with the common sizes spelled out, so they compile to moves.
 * simple: n is one of them (the channel is simple), so there is no call. */
static inline __attribute__((always_inline)) void copy_item(void *dst, const void *src, size_t n,
                                                            bool simple) {
    switch (n) {
    case 4: memcpy(dst, src, 4); return;
    case 8: memcpy(dst, src, 8); return;
    case 16: memcpy(dst, src, 16); return;
    default:
        if (simple) __builtin_unreachable();
        memcpy(dst, src, n);
        return;
    }
}

static inline __attribute__((always_inline)) void ring_push(chan *c, const void *item,
                                                            bool simple) {
    size_t k = c->head + c->len;
    if (k >= c->cap) k -= c->cap;
    copy_item(c->buf + k * c->elem, item, c->elem, simple);
    c->len++;
}

static inline __attribute__((always_inline)) void ring_pop(chan *c, void *out, bool simple) {
    copy_item(out, c->buf + c->head * c->elem, c->elem, simple);
    if (++c->head == c->cap) c->head = 0;
    c->len--;
}

/* Allocate a ring of n items, or NULL (also when the size overflows). */
static char *ring_alloc(chan *c, size_t n) {
    if (n > SIZE_MAX / c->elem) return NULL;
    return tr__alloc_owned(c->run, n * c->elem);
}

/* Make room for one more item: double the ring, up to max. */
static int ring_grow(chan *c) {
    size_t n = c->cap ? c->cap * 2 : GROW_MIN_ITEMS;
    if (n < c->cap || n > c->max) n = c->max;
    char *nb = ring_alloc(c, n);
    if (!nb) return -ENOMEM;
    size_t first = c->cap - c->head < c->len ? c->cap - c->head : c->len;
    if (c->len) {
        memcpy(nb, c->buf + c->head * c->elem, first * c->elem);
        memcpy(nb + first * c->elem, c->buf, (c->len - first) * c->elem);
    }
    tr__free_owned(c->run, c->buf);
    c->buf = nb;
    c->cap = n;
    c->head = 0;
    return 0;
}

static void ring_drop(chan *c) {
    tr__free_owned(c->run, c->buf);
    c->buf = NULL;
    c->cap = c->head = c->len = 0;
    c->simple = false; /* (a dropped ring would grow again) */
}

/* ---- the two directions, without blocking --------------------------------- */

/* Wakes a blocked peer, of run r (NULL: the peer's own). fast: r is plain
 * (see tr__fast_path_ok). */
static inline __attribute__((always_inline)) void wake(tr__run *r, waiter *w, int value,
                                                       bool fast) {
    tr__wake_as(r ? r : w->node.task->run, w->node.task, value, fast);
}

/* send_nowait's body: 0, -EBADF, -EPIPE, -ENOMEM or -EWOULDBLOCK. r: the
 * run, or NULL where the caller does not know it. simple: c->simple holds. */
static inline __attribute__((always_inline)) int offer(tr__run *r, end *e, const void *item,
                                                       bool fast, bool simple) {
    if (TR__UNLIKELY(e->closed)) return -EBADF;
    chan *c = e->chan;
    if (TR__UNLIKELY(!c->open_recv)) return -EPIPE;
    waiter *w = (waiter *)(void *)tr__lot_pop(&c->receivers);
    if (w) {
        copy_item(w->item, item, c->elem, simple);
        wake(r, w, 0, fast);
        return 0;
    }
    if (c->len < c->max) {
        if (!simple && TR__UNLIKELY(c->len == c->cap) && ring_grow(c) != 0) return -ENOMEM;
        ring_push(c, item, simple);
        return 0;
    }
    return -EWOULDBLOCK;
}

/* receive_nowait's body: 0, -EBADF, TR_EENDOFCHANNEL or -EWOULDBLOCK. */
static inline __attribute__((always_inline)) int take(tr__run *r, end *e, void *out, bool fast,
                                                      bool simple) {
    if (TR__UNLIKELY(e->closed)) return -EBADF;
    chan *c = e->chan;
    waiter *w = (waiter *)(void *)tr__lot_pop(&c->senders);
    if (w) {
        /* A sender waits only while the buffer is full (or absent): the
         * slot the oldest item frees takes the sender's item. */
        if (c->len) {
            ring_pop(c, out, simple);
            ring_push(c, w->item, simple);
        } else {
            copy_item(out, w->item, c->elem, simple);
        }
        wake(r, w, 0, fast);
        return 0;
    }
    if (TR__LIKELY(c->len)) {
        ring_pop(c, out, simple);
        return 0;
    }
    return c->open_send ? -EWOULDBLOCK : TR_EENDOFCHANNEL;
}

/* ---- public: send and receive -------------------------------------------- */

/* A blocking call's first cancel point: fast, known to answer no. */
static inline __attribute__((always_inline)) int first_cancel_point(tr_task *t, bool fast) {
    if (fast) {
        t->cancel_points++;
        return 0;
    }
    return tr__checkpoint_if_cancelled(t);
}

/* A send or receive after its nowait attempt rc, up to the switch
 * (tr__hop_planned): success is a schedule point, then 0; -EWOULDBLOCK parks
 * the task in lot, its waiter (handle, item) in space, in the caller's
 * frame; any other code is the result. fast: tr__fast_path_ok(r, t). */
static inline __attribute__((always_inline)) tr__hop settle(tr__run *r, tr_task *t, int rc,
                                                            tr__lot *lot,
                                                            const end *handle, void *item,
                                                            tr__hop_space *space, bool fast) {
    if (TR__LIKELY(rc == 0)) {
        t->wake_value = 0; /* what the end returns after the yield */
        return tr__hop_planned(t, TR__HOP_WAKE_VALUE, tr__yield_plan_as(r, t, fast));
    }
    if (rc != -EWOULDBLOCK) return (tr__hop){.rc = rc};
    waiter *w = (waiter *)(void *)space->space;
    *w = (waiter){.handle = handle, .item = item};
    return tr__lot_park_hop_as(lot, &w->node, r, t, fast);
}

/* A send by t, the current task of r, up to the switch (see settle). fast:
 * tr__fast_path_ok(r, t); simple: the channel is simple. */
static inline __attribute__((always_inline)) tr__hop send_as(tr__run *r, tr_task *t,
                                                             tr_send_channel *tx,
                                                             const void *item,
                                                             tr__hop_space *space, bool fast,
                                                             bool simple) {
    int rc = first_cancel_point(t, fast);
    if (TR__UNLIKELY(rc)) return (tr__hop){.rc = rc};
    rc = offer(r, &tx->e, item, fast, simple);
    return settle(r, t, rc, &tx->e.chan->senders, &tx->e, (void *)(uintptr_t)item, space, fast);
}

/* A receive up to the switch (see send_as). */
static inline __attribute__((always_inline)) tr__hop receive_as(tr__run *r, tr_task *t,
                                                                tr_receive_channel *rx, void *out,
                                                                tr__hop_space *space, bool fast,
                                                                bool simple) {
    int rc = first_cancel_point(t, fast);
    if (TR__UNLIKELY(rc)) return (tr__hop){.rc = rc};
    rc = take(r, &rx->e, out, fast, simple);
    return settle(r, t, rc, &rx->e.chan->receivers, &rx->e, out, space, fast);
}

/* The instances that may call a function (to copy an item of another size,
 * to grow the ring, to check for cancellation), out of line: the one inline
 * in each begin then makes no call but tail calls and saves no registers. */
static __attribute__((noinline)) tr__hop send_general(tr__run *r, tr_task *t,
                                                      tr_send_channel *tx, const void *item,
                                                      tr__hop_space *space) {
    return send_as(r, t, tx, item, space, false, false);
}
static __attribute__((noinline)) tr__hop send_fast(tr__run *r, tr_task *t, tr_send_channel *tx,
                                                   const void *item, tr__hop_space *space) {
    return send_as(r, t, tx, item, space, true, false);
}
static __attribute__((noinline)) tr__hop receive_general(tr__run *r, tr_task *t,
                                                         tr_receive_channel *rx, void *out,
                                                         tr__hop_space *space) {
    return receive_as(r, t, rx, out, space, false, false);
}
static __attribute__((noinline)) tr__hop receive_fast(tr__run *r, tr_task *t,
                                                      tr_receive_channel *rx, void *out,
                                                      tr__hop_space *space) {
    return receive_as(r, t, rx, out, space, true, false);
}

static inline __attribute__((always_inline)) tr__hop send_planned(tr_send_channel *tx,
                                                                  const void *item,
                                                                  tr__hop_space *space) {
    tr__run *r = tr__need_run("tr_channel_send"); /* (not t->run: see tr__fast_path_ok) */
    tr_task *t = r->current;
    if (!TR__LIKELY(tr__fast_path_ok(r, t))) return send_general(r, t, tx, item, space);
    if (!TR__LIKELY(tx->e.chan->simple)) return send_fast(r, t, tx, item, space);
    return send_as(r, t, tx, item, space, true, true);
}

static inline __attribute__((always_inline)) tr__hop receive_planned(tr_receive_channel *rx,
                                                                     void *out,
                                                                     tr__hop_space *space) {
    tr__run *r = tr__need_run("tr_channel_receive");
    tr_task *t = r->current;
    if (!TR__LIKELY(tr__fast_path_ok(r, t))) return receive_general(r, t, rx, out, space);
    if (!TR__LIKELY(rx->e.chan->simple)) return receive_fast(r, t, rx, out, space);
    return receive_as(r, t, rx, out, space, true, true);
}

#undef tr_channel_send
TR__UNSITED(int, tr_channel_send, (tr_send_channel *tx, const void *item), (tx, item))
int TR__AT(tr_channel_send)(tr_send_channel *tx, const void *item) {
    tr__hop_space space;
    return tr__hop_here(send_planned(tx, item, &space), TR__HOP_WAKE_VALUE);
}

/* The caller's inline code makes the switch (ctrio/hop.h). */
tr__hop tr__channel_send_begin(tr_send_channel *tx, const void *item, tr__hop_space *space) {
    return tr__hop_begun(send_planned(tx, item, space), TR__HOP_WAKE_VALUE);
}

int tr_channel_send_nowait(tr_send_channel *tx, const void *item) {
    return offer(NULL, &tx->e, item, false, false);
}

#undef tr_channel_receive
TR__UNSITED(int, tr_channel_receive, (tr_receive_channel *rx, void *out), (rx, out))
int TR__AT(tr_channel_receive)(tr_receive_channel *rx, void *out) {
    tr__hop_space space;
    return tr__hop_here(receive_planned(rx, out, &space), TR__HOP_WAKE_VALUE);
}

tr__hop tr__channel_receive_begin(tr_receive_channel *rx, void *out, tr__hop_space *space) {
    return tr__hop_begun(receive_planned(rx, out, space), TR__HOP_WAKE_VALUE);
}

int tr_channel_receive_nowait(tr_receive_channel *rx, void *out) {
    return take(NULL, &rx->e, out, false, false);
}

/* ---- public: open, clone, close --------------------------------------------- */

int tr_open_memory_channel(tr_send_channel **tx, tr_receive_channel **rx, size_t max_buffer,
                           size_t elem_size) {
    tr__run *r = tr__need_run("tr_open_memory_channel");
    if (elem_size == 0) return -EINVAL;
    chan *c = tr__alloc_owned(r, sizeof *c);
    if (!c) return -ENOMEM;
    *c = (chan){.run = r, .elem = elem_size, .max = max_buffer, .open_send = 1, .open_recv = 1};
    c->tx0.e.chan = c;
    c->rx0.e.chan = c;
    if (max_buffer && max_buffer != TR_UNBOUNDED && max_buffer <= PREALLOC_MAX_BYTES / elem_size) {
        c->buf = ring_alloc(c, max_buffer);
        if (!c->buf) {
            tr__free_owned(r, c);
            return -ENOMEM;
        }
        c->cap = max_buffer;
    }
    c->simple = small_item(elem_size) && c->cap == max_buffer;
    *tx = &c->tx0;
    *rx = &c->rx0;
    return 0;
}

/* A new handle on e's end, or NULL. */
static end *clone_end(end *e, size_t size) {
    chan *c = e->chan;
    end *n = tr__alloc_owned(c->run, size);
    if (!n) return NULL;
    *n = (end){.chan = c, .next_clone = c->clones};
    c->clones = n;
    return n;
}

int tr_send_channel_clone(tr_send_channel *tx, tr_send_channel **out) {
    if (tx->e.closed) return -EBADF;
    end *n = clone_end(&tx->e, sizeof(tr_send_channel));
    if (!n) return -ENOMEM;
    tx->e.chan->open_send++;
    *out = (tr_send_channel *)(void *)n;
    return 0;
}

int tr_receive_channel_clone(tr_receive_channel *rx, tr_receive_channel **out) {
    if (rx->e.closed) return -EBADF;
    end *n = clone_end(&rx->e, sizeof(tr_receive_channel));
    if (!n) return -ENOMEM;
    rx->e.chan->open_recv++;
    *out = (tr_receive_channel *)(void *)n;
    return 0;
}

/* Wake, with value, the tasks of lot blocked on handle e, oldest first. */
static void wake_blocked_on(tr__lot *lot, const end *e, int value) {
    tr__lot_node *n = lot->first, *next;
    for (; n; n = next) {
        next = n->next;
        waiter *w = (waiter *)(void *)n;
        if (w->handle != e) continue;
        tr__lot_unlink(n);
        wake(NULL, w, value, false);
    }
}

/* Free everything once no handle is open. Tasks woken by the closes never
 * touch the channel again. */
static void maybe_free(chan *c) {
    if (c->open_send || c->open_recv) return;
    tr__run *r = c->run;
    for (end *e = c->clones, *next; e; e = next) {
        next = e->next_clone;
        tr__free_owned(r, e);
    }
    tr__free_owned(r, c->buf);
    tr__free_owned(r, c);
}

void tr_send_channel_close(tr_send_channel *tx) {
    end *e = &tx->e;
    if (e->closed) return;
    e->closed = true;
    chan *c = e->chan;
    wake_blocked_on(&c->senders, e, -EBADF);
    if (--c->open_send == 0) tr__lot_wake(&c->receivers, SIZE_MAX, TR_EENDOFCHANNEL);
    maybe_free(c);
}

void tr_receive_channel_close(tr_receive_channel *rx) {
    end *e = &rx->e;
    if (e->closed) return;
    e->closed = true;
    chan *c = e->chan;
    wake_blocked_on(&c->receivers, e, -EBADF);
    if (--c->open_recv == 0) {
        tr__lot_wake(&c->senders, SIZE_MAX, -EPIPE);
        ring_drop(c);
    }
    maybe_free(c);
}

bool tr_send_channel_closed(const tr_send_channel *tx) { return tx->e.closed; }
bool tr_receive_channel_closed(const tr_receive_channel *rx) { return rx->e.closed; }

static void stats(const chan *c, tr_channel_stats *out) {
    out->current_buffer_used = c->len;
    out->max_buffer_size = c->max;
    out->open_send_channels = c->open_send;
    out->open_receive_channels = c->open_recv;
    out->tasks_waiting_send = c->senders.count;
    out->tasks_waiting_receive = c->receivers.count;
}

void tr_send_channel_statistics(const tr_send_channel *tx, tr_channel_stats *out) {
    stats(tx->e.chan, out);
}

void tr_receive_channel_statistics(const tr_receive_channel *rx, tr_channel_stats *out) {
    stats(rx->e.chan, out);
}
