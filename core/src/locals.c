/* Task-local storage, as Trio's contextvars: a child starts with its
 * spawner's bindings. Bindings are an immutable, shared chain: spawning
 * copies one pointer; a set prepends a node (or overwrites the head in place
 * when nobody else can see it). */
#include "internal.h"

void tr__locals_release(tr__run *r, tr__local *l) {
    while (l && --l->refs == 0) {
        tr__local *next = l->next;
        tr__free_owned(r, l);
        l = next;
    }
}

void *tr_task_local_get(const tr_task_local *key) {
    tr_task *t = tr__need_task("tr_task_local_get");
    for (const tr__local *l = t->locals; l; l = l->next)
        if (l->key == key) return l->value;
    return key->default_value;
}

int tr_task_local_set(const tr_task_local *key, void *value) {
    tr_task *t = tr__need_task("tr_task_local_set");
    tr__local *head = t->locals;
    if (head && head->key == key && head->refs == 1) {
        head->value = value;
        return 0;
    }
    tr__local *l = tr__alloc_owned(t->run, sizeof *l);
    if (!l) return -ENOMEM;
    /* The task's reference to the old head passes to the new node. */
    *l = (tr__local){.next = head, .key = key, .value = value, .refs = 1};
    t->locals = l;
    return 0;
}
