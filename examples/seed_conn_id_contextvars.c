/* Twin of the README's "Task-local storage" example (seed 003):
 *
 *     CONN_ID = contextvars.ContextVar("CONN_ID")
 *
 *     async def server(stream):
 *         CONN_ID.set(uuid.uuid4())
 *         await handle(stream)
 *
 *     async def handle(stream):
 *         async for data in stream:
 *             print(f"conn {CONN_ID.get()} got msg {data}")
 *
 *     trio.run(trio.serve_tcp, server, 8100)
 *
 * ctrio has no sockets yet, so the two "connections" are simulated: each
 * fake stream is a list of messages that arrive after given delays, and
 * main_task plays serve_tcp, starting one server task per connection.
 *
 * tr_task_local is ctrio's contextvars: TR_TASK_LOCAL(CONN_ID, NULL) defines
 * the key, tr_task_local_set/get set and read the current task's value. A
 * child task starts with its parent's values at spawn, so here handle
 * starts one handler child per message and every child sees the id of the
 * connection its server set, while the two servers, running concurrently,
 * never see each other's. (handle itself is a plain function called by
 * server, in server's task, like the seed's `await handle(stream)`.) */
#include <ctrio.h>
#include <stdio.h>

#include "virtual_clock.h"

static TR_TASK_LOCAL(CONN_ID, NULL);

/* A simulated connection: message i arrives gap_s[i] seconds after the
 * previous one; the stream ends after n messages. */
typedef struct fake_stream {
    const char *msgs[4];
    int gap_s[4];
    int n;
} fake_stream;

/* uuid.uuid4() stand-in: a fresh id per call, deterministic so that the
 * output can be checked. */
static void new_conn_id(char *buf, size_t size) {
    static unsigned next = 1;
    snprintf(buf, size, "%08x-0000-4000-8000-000000000000", 0x1d000000u + next++);
}

/* One handler child per message: prints with the id it inherited. */
static int handle_msg(void *arg) {
    const char *data = *(const char *const *)arg;
    const char *conn_id = tr_task_local_get(&CONN_ID);
    printf("conn %s got msg %s\n", conn_id, data);
    return 0;
}

/* `async for data in stream`: wait for each message (here: sleep), then hand
 * it to a child task. The nursery makes handle wait for its children. */
static int handle(const fake_stream *stream) {
    tr_nursery nursery;
    tr_nursery_open(&nursery);
    int rc = 0;
    for (int i = 0; i < stream->n && rc == 0; i++) {
        rc = tr_sleep(TR_SEC(stream->gap_s[i])); /* "receive" the next message */
        if (rc == 0)
            rc = tr_start_soon_copy(&nursery, handle_msg, &stream->msgs[i], sizeof stream->msgs[i]);
    }
    return tr_nursery_join(&nursery, rc);
}

static int server(void *arg) {
    const fake_stream *stream = arg;
    /* The id lives on server's stack: every task that reads it runs inside
     * handle's nursery, so none can outlive it. */
    char conn_id[40];
    new_conn_id(conn_id, sizeof conn_id);
    int rc = tr_task_local_set(&CONN_ID, conn_id);
    if (rc < 0) return rc;
    return handle(stream);
}

/* trio.serve_tcp stand-in: one server task per (simulated) connection. */
static int main_task(void *arg) {
    (void)arg;
    static const fake_stream connections[] = {
        {.msgs = {"hello", "how are you?"}, .gap_s = {1, 2}, .n = 2}, /* at 1 s, 3 s */
        {.msgs = {"hi", "bye"}, .gap_s = {2, 2}, .n = 2},             /* at 2 s, 4 s */
    };
    tr_nursery nursery;
    tr_nursery_open(&nursery);
    int rc = 0;
    for (size_t i = 0; i < sizeof connections / sizeof connections[0] && rc == 0; i++)
        rc = tr_start_soon(&nursery, server, (void *)&connections[i]);
    return tr_nursery_join(&nursery, rc);
}

int main(void) {
    int rc = example_run(main_task, NULL);
    return rc < 0;
}
