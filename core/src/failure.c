/* Failure records and the report tr_run prints: one block per failed task,
 * nested like Trio's traceback of an exception group. */
#include "internal.h"

#include <stdio.h>

static tr__record *as_record(const tr_failure *f) {
    return (tr__record *)(void *)(uintptr_t)f;
}

tr__record *tr__record_new(tr__run *r, const tr_task *t, int code, const tr_failure *children) {
    const char *message = t->has_message ? t->message : "";
    size_t name_len = strlen(t->name), msg_len = strlen(message);
    tr__record *rec = tr__alloc_owned(r, sizeof *rec + name_len + msg_len + 2);
    if (!rec) return NULL;
    char *name = rec->strings, *msg = rec->strings + name_len + 1;
    memcpy(name, t->name, name_len + 1);
    memcpy(msg, message, msg_len + 1);
    rec->pub = (tr_failure){.children = children, .task_name = name, .task_id = t->id,
                            .code = code, .message = msg};
    rec->group_next = NULL;
    return rec;
}

void tr__records_append(const tr_failure **head, const tr_failure *list) {
    if (!list) return;
    while (*head) head = (const tr_failure **)&as_record(*head)->pub.next;
    *head = list;
}

/* Iterative: children are spliced in front of the rest before their parent
 * is freed, so no recursion follows deep nesting. */
size_t tr__records_free(tr__run *r, const tr_failure *list) {
    size_t n = 0;
    while (list) {
        tr__record *rec = as_record(list);
        list = rec->pub.next;
        if (rec->pub.children) {
            tr__records_append(&rec->pub.children, list);
            list = rec->pub.children;
        }
        tr__free_owned(r, rec);
        n++;
    }
    return n;
}

void tr__carried_push(const tr_failure **carried, const tr_failure *group) {
    if (!group) return;
    as_record(group)->group_next = *carried;
    *carried = group;
}

size_t tr__carried_free(tr__run *r, const tr_failure **carried) {
    size_t n = 0;
    while (*carried) {
        const tr_failure *group = *carried;
        *carried = as_record(group)->group_next;
        n += tr__records_free(r, group);
    }
    return n;
}

const tr_failure *tr__carried_take_newest(tr__run *r, const tr_failure **carried, size_t *freed) {
    const tr_failure *newest = *carried;
    *freed = 0;
    if (!newest) return NULL;
    *carried = as_record(newest)->group_next;
    as_record(newest)->group_next = NULL;
    *freed = tr__carried_free(r, carried);
    return newest;
}

static void print_code(FILE *f, int code) {
    const char *name = tr_error_name(code);
    if (name) fprintf(f, "%s (%d)", name, code);
    else fprintf(f, "error %d", code);
}

static void print_list(FILE *f, const tr_failure *list, int depth) {
    for (; list; list = list->next) {
        fprintf(f, "%*s- task '%s' (#%llu) failed with ", 2 * depth, "", list->task_name,
                (unsigned long long)list->task_id);
        print_code(f, list->code);
        fprintf(f, ": %s\n", list->message[0] ? list->message : tr__error_text(list->code));
        if (list->children && depth >= 32) {
            fprintf(f, "%*s  (more nested failures)\n", 2 * depth, "");
        } else if (list->children) {
            fprintf(f, "%*s  which its nursery got from:\n", 2 * depth, "");
            print_list(f, list->children, depth + 1);
        }
    }
}

void tr__report_print(FILE *f, int rc, const tr_failure *list, size_t lost) {
    fprintf(f, "ctrio: run failed with ");
    print_code(f, rc);
    fprintf(f, ": %s\n", tr__error_text(rc));
    print_list(f, list, 1);
    if (lost)
        fprintf(f, "  (%zu more failures were not recorded: out of memory)\n", lost);
    fflush(f);
}
