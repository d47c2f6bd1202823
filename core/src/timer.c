/* The run's deadlines: a binary min-heap keyed by (deadline, sequence
 * number), so equal deadlines fire in the order they were set and the order
 * never depends on addresses. Each timer holds a slot whose entry in pos
 * says where the timer is in the heap: removal and re-keying are O(log n),
 * and sifting never touches the timers themselves. */
#include "internal.h"

static inline bool before(const tr__heap_entry *a, const tr__heap_entry *b) {
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static bool timer_before(const tr__timer *a, const tr__timer *b) {
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static inline void place(tr__heap *h, size_t i, const tr__heap_entry *e) {
    h->items[i] = *e;
    h->pos[e->slot] = i;
}

/* e fills the hole at i, moving up past the entries it comes before. */
static void sift_up(tr__heap *h, size_t i, tr__heap_entry e) {
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&e, &h->items[parent])) break;
        place(h, i, &h->items[parent]);
        i = parent;
    }
    place(h, i, &e);
}

/* e fills the hole at i, where nothing above comes after it. The hole first
 * sinks to a leaf along the smaller children (one comparison a level), then
 * e rises from there: e came from the bottom of the heap and usually belongs
 * near it, so this costs about half the comparisons of the classic sift. */
static void sift_down(tr__heap *h, size_t i, tr__heap_entry e) {
    size_t n = h->len, c;
    while ((c = 2 * i + 1) < n) {
        if (c + 1 < n && before(&h->items[c + 1], &h->items[c])) c++;
        place(h, i, &h->items[c]);
        i = c;
    }
    sift_up(h, i, e);
}

void tr__heap_reserve(tr__run *r, size_t n) {
    tr__heap *h = &r->heap;
    if (n <= h->cap) return;
    size_t cap = h->cap ? h->cap : 64;
    while (cap < n) cap *= 2;
    size_t *pos = tr__realloc(r, h->pos, cap * sizeof *pos);
    if (!pos) return;
    h->pos = pos;
    tr__heap_entry *items = tr__realloc(r, h->items, cap * sizeof *items);
    if (!items) return; /* pos is larger than cap says: harmless */
    h->items = items;
    for (size_t s = cap; s-- > h->cap;) {
        pos[s] = h->free_slot;
        h->free_slot = s;
    }
    h->cap = cap;
}

static void overflow_push(tr__heap *h, tr__timer *t) {
    t->slot = TR__IN_OVERFLOW;
    t->ovf_prev = NULL;
    t->ovf_next = h->overflow;
    if (h->overflow) h->overflow->ovf_prev = t;
    h->overflow = t;
}

static void overflow_unlink(tr__heap *h, tr__timer *t) {
    if (t->ovf_prev) t->ovf_prev->ovf_next = t->ovf_next;
    else h->overflow = t->ovf_next;
    if (t->ovf_next) t->ovf_next->ovf_prev = t->ovf_prev;
    t->slot = TR__NOT_IN_HEAP;
}

void tr__heap_insert(tr__run *r, tr__timer *t, tr_time deadline) {
    tr__heap *h = &r->heap;
    t->deadline = deadline;
    t->seq = h->next_seq++;
    if (h->len == h->cap) tr__heap_reserve(r, h->len + 1);
    if (h->len == h->cap) {
        overflow_push(h, t);
        return;
    }
    size_t slot = h->free_slot;
    h->free_slot = h->pos[slot];
    t->slot = slot;
    sift_up(h, h->len++, (tr__heap_entry){.deadline = deadline, .seq = t->seq, .timer = t,
                                           .slot = slot});
}

tr__timer *tr__heap_min(const tr__heap *h) {
    tr__timer *best = h->len ? h->items[0].timer : NULL;
    for (tr__timer *t = h->overflow; t; t = t->ovf_next)
        if (!best || timer_before(t, best)) best = t;
    return best;
}

void tr__heap_remove(tr__heap *h, tr__timer *t) {
    size_t slot = t->slot;
    if (slot == TR__NOT_IN_HEAP) return;
    if (slot == TR__IN_OVERFLOW) {
        overflow_unlink(h, t);
        return;
    }
    size_t i = h->pos[slot];
    h->pos[slot] = h->free_slot;
    h->free_slot = slot;
    t->slot = TR__NOT_IN_HEAP;
    tr__heap_entry last = h->items[--h->len];
    if (i == h->len) return;
    if (i > 0 && before(&last, &h->items[(i - 1) / 2])) sift_up(h, i, last);
    else sift_down(h, i, last);
}

/* A timer already set gets a new deadline (and a new sequence number: it
 * now ties as if set last). */
void tr__heap_rekey(tr__run *r, tr__timer *t, tr_time deadline) {
    tr__heap *h = &r->heap;
    t->deadline = deadline;
    t->seq = h->next_seq++;
    if (t->slot == TR__IN_OVERFLOW) return;
    size_t i = h->pos[t->slot];
    tr__heap_entry e = h->items[i];
    e.deadline = deadline;
    e.seq = t->seq;
    if (i > 0 && before(&e, &h->items[(i - 1) / 2])) sift_up(h, i, e);
    else sift_down(h, i, e);
}

void tr__heap_free(tr__run *r) {
    tr__free(r, r->heap.items);
    tr__free(r, r->heap.pos);
    r->heap = (tr__heap){0};
}
