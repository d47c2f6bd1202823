/* The run's deadlines: a binary min-heap keyed by (deadline, sequence
 * number), so equal deadlines fire in the order they were set and the order
 * never depends on addresses. Each timer knows its index: removal and
 * re-keying are O(log n). */
#include "internal.h"

/* The heap's order: earlier deadline first, then the one set first. */
static bool key_before(tr_time da, uint64_t sa, tr_time db, uint64_t sb) {
    return da < db || (da == db && sa < sb);
}

static bool before(const tr__heap_entry *a, const tr__heap_entry *b) {
    return key_before(a->deadline, a->seq, b->deadline, b->seq);
}

static bool timer_before(const tr__timer *a, const tr__timer *b) {
    return key_before(a->deadline, a->seq, b->deadline, b->seq);
}

static void place(tr__heap *h, size_t i, tr__heap_entry e) {
    h->items[i] = e;
    e.timer->heap_index = i;
}

static void sift_up(tr__heap *h, size_t i) {
    tr__heap_entry e = h->items[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&e, &h->items[parent])) break;
        place(h, i, h->items[parent]);
        i = parent;
    }
    place(h, i, e);
}

static void sift_down(tr__heap *h, size_t i) {
    tr__heap_entry e = h->items[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->len) break;
        if (c + 1 < h->len && before(&h->items[c + 1], &h->items[c])) c++;
        if (!before(&h->items[c], &e)) break;
        place(h, i, h->items[c]);
        i = c;
    }
    place(h, i, e);
}

/* The entry at i has a new key: it moves up or down to its place. */
static void resift(tr__heap *h, size_t i) {
    if (i > 0 && before(&h->items[i], &h->items[(i - 1) / 2])) sift_up(h, i);
    else sift_down(h, i);
}

static tr__heap_entry entry_of(tr__timer *t) {
    return (tr__heap_entry){.deadline = t->deadline, .seq = t->seq, .timer = t};
}

/* Grows the array to hold n timers (best effort: on failure it stays). */
static void heap_reserve(tr__run *r, size_t n) {
    tr__heap *h = &r->heap;
    if (n <= h->cap) return;
    size_t cap = h->cap ? h->cap : 64;
    while (cap < n) cap *= 2;
    tr__heap_entry *items = tr__realloc(r, h->items, cap * sizeof *items);
    if (!items) return;
    h->items = items;
    h->cap = cap;
}

static void overflow_push(tr__heap *h, tr__timer *t) {
    t->heap_index = TR__IN_OVERFLOW;
    t->ovf_prev = NULL;
    t->ovf_next = h->overflow;
    if (h->overflow) h->overflow->ovf_prev = t;
    h->overflow = t;
}

static void overflow_unlink(tr__heap *h, tr__timer *t) {
    if (t->ovf_prev) t->ovf_prev->ovf_next = t->ovf_next;
    else h->overflow = t->ovf_next;
    if (t->ovf_next) t->ovf_next->ovf_prev = t->ovf_prev;
    t->heap_index = TR__NOT_IN_HEAP;
}

void tr__heap_insert(tr__run *r, tr__timer *t, tr_time deadline) {
    tr__heap *h = &r->heap;
    t->deadline = deadline;
    t->seq = h->next_seq++;
    if (h->len == h->cap) heap_reserve(r, h->len + 1);
    if (h->len == h->cap) {
        overflow_push(h, t);
        return;
    }
    h->items[h->len] = entry_of(t);
    t->heap_index = h->len++;
    sift_up(h, t->heap_index);
}

tr__timer *tr__heap_min(const tr__heap *h) {
    tr__timer *best = h->len ? h->items[0].timer : NULL;
    for (tr__timer *t = h->overflow; t; t = t->ovf_next)
        if (!best || timer_before(t, best)) best = t;
    return best;
}

tr__timer *tr__heap_pop_due(tr__heap *h, tr_time now) {
    tr__timer *t;
    if (TR__UNLIKELY(h->overflow)) {
        t = tr__heap_min(h);
        if (!t || t->deadline > now) return NULL;
    } else {
        if (!h->len || h->items[0].deadline > now) return NULL;
        t = h->items[0].timer;
    }
    tr__heap_remove(h, t);
    return t;
}

void tr__heap_remove(tr__heap *h, tr__timer *t) {
    size_t i = t->heap_index;
    if (i == TR__NOT_IN_HEAP) return;
    if (i == TR__IN_OVERFLOW) {
        overflow_unlink(h, t);
        return;
    }
    t->heap_index = TR__NOT_IN_HEAP;
    tr__heap_entry last = h->items[--h->len];
    if (i == h->len) return;
    place(h, i, last);
    resift(h, i);
}

/* A timer already set gets a new deadline (and a new sequence number: it
 * now ties as if set last). */
void tr__heap_rekey(tr__run *r, tr__timer *t, tr_time deadline) {
    tr__heap *h = &r->heap;
    size_t i = t->heap_index;
    t->deadline = deadline;
    t->seq = h->next_seq++;
    if (i == TR__IN_OVERFLOW) return;
    h->items[i].deadline = deadline;
    h->items[i].seq = t->seq;
    resift(h, i);
}

void tr__heap_free(tr__run *r) {
    tr__free(r, r->heap.items);
    r->heap = (tr__heap){0};
}
