/* Blocks a run owns on behalf of objects that may be abandoned: a channel
 * nobody closed, a limiter whose tokens were never released. Each block
 * carries a link in the run's list; whatever is still listed when the run
 * ends is freed then, so every run frees all it allocated even when user
 * code forgets to close something. */
#include "internal.h"

/* Sits before the user's bytes; 16 bytes keep them max-aligned. */
typedef struct tr__owned {
    struct tr__owned *prev;
    struct tr__owned *next;
} tr__owned;
_Static_assert(sizeof(tr__owned) % 16 == 0, "owned header must keep alignment");

static void link_owned(tr__run *r, tr__owned *o) {
    o->prev = NULL;
    o->next = r->owned;
    if (o->next) o->next->prev = o;
    r->owned = o;
}

static void unlink_owned(tr__run *r, tr__owned *o) {
    if (o->prev) o->prev->next = o->next;
    else r->owned = o->next;
    if (o->next) o->next->prev = o->prev;
}

void *tr__alloc_owned(tr__run *r, size_t size) {
    tr__owned *o = tr__alloc(r, sizeof *o + size);
    if (!o) return NULL;
    link_owned(r, o);
    return o + 1;
}

void tr__free_owned(tr__run *r, void *p) {
    if (!p) return;
    tr__owned *o = (tr__owned *)p - 1;
    unlink_owned(r, o);
    tr__free(r, o);
}

/* At the end of a run: free what is left. */
void tr__free_all_owned(tr__run *r) {
    while (r->owned) {
        tr__owned *o = r->owned;
        r->owned = o->next;
        tr__free(r, o);
    }
}
