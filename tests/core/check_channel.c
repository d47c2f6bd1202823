/* Memory channels, ported from Trio's test_channel.py: the seed's
 * producer/consumer and clone fan-in, hand-off, FIFO service of blocked
 * senders, every close case with clones, cancellation that leaves the
 * channel untouched, statistics, an unbounded buffer, out-of-memory. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ctrio.h"
#include "test_util.h"
#include "vclock.h"

static void run_ok(tr_task_fn fn, void *arg) {
    ck_assert_int_eq(tr_test_run(fn, arg, NULL), 0);
}

static void spawn(tr_nursery *n, tr_task_fn fn, void *arg, const char *name) {
    ck_assert_int_eq(tr_spawn(n, fn, arg, &(tr_spawn_opts){.name = name}), 0);
}

static const char *me(void) { return tr_task_name(tr_current_task()); }

/* Lets every other task run until it blocks. */
static void settle(void) { ck_assert_int_eq(tr_sleep(TR_SEC(1)), 0); }

static tr_channel_stats stats_of(tr_send_channel *tx) {
    tr_channel_stats st;
    tr_channel_statistics(tx, &st);
    return st;
}

static tr_send_channel *tx, *tx2;
static tr_receive_channel *rx, *rx2;

/* ---- the seed's producer / consumer ---------------------------------------- */

static int producer(void *arg) {
    tr_send_channel *s = arg;
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) rc = tr_channel_send(s, &i);
    tr_channel_close(s);
    return rc;
}

static int consumer(void *arg) {
    tr_receive_channel *r = arg;
    int v, rc;
    while ((rc = tr_channel_receive(r, &v)) == 0) tr_test_log("%s got %d", me(), v);
    tr_channel_close(r);
    return rc == TR_EENDOFCHANNEL ? 0 : rc;
}

static int prodcons_main(void *arg) {
    size_t cap = *(size_t *)arg;
    ck_assert_int_eq(tr_open_memory_channel(&tx, &rx, cap, sizeof(int)), 0);
    tr_nursery n;
    tr_nursery_open(&n);
    spawn(&n, producer, tx, "producer");
    spawn(&n, consumer, rx, "consumer");
    return tr_nursery_join(&n, 0);
}

START_TEST(test_producer_consumer) {
    static const size_t caps[] = {0, 1, 2, 100, TR_UNBOUNDED};
    size_t cap = caps[_i];
    tr_test_log_reset();
    tr_test_alloc a = {0};
    tr_run_opts o = {.alloc = tr_test_alloc_fn, .alloc_ctx = &a};
    ck_assert_int_eq(tr_test_run_opts(prodcons_main, &cap, &o, 0, NULL), 0);
    ck_assert_str_eq(tr_test_log_str(), "consumer got 0\nconsumer got 1\nconsumer got 2\n");
    ck_assert_int_eq(a.live, 0); /* the last close freed the channel */
}
END_TEST

/* ---- the seed's fan-in with clones ------------------------------------------- */

static int seen[64];

static int fan_producer(void *arg) {
    tr_send_channel *s = arg;
    int base = me()[0] == 'A' ? 0 : 10;
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) {
        int v = base + i;
        rc = tr_channel_send(s, &v);
        if (rc == 0) rc = tr_sleep(TR_MS(100 + 37 * i + base));
    }
    tr_channel_close(s);
    return rc;
}

static int fan_consumer(void *arg) {
    tr_receive_channel *r = arg;
    int v, rc;
    while ((rc = tr_channel_receive(r, &v)) == 0) {
        seen[v]++;
        rc = tr_sleep(TR_MS(50 + (me()[0] == 'X' ? 20 : 0)));
        if (rc) break;
    }
    tr_channel_close(r);
    return rc == TR_EENDOFCHANNEL ? 0 : rc;
}

static int fan_in_main(void *arg) {
    (void)arg;
    memset(seen, 0, sizeof seen);
    ck_assert_int_eq(tr_open_memory_channel(&tx, &rx, 0, sizeof(int)), 0);
    tr_nursery n;
    tr_nursery_open(&n);
    tr_send_channel *c;
    tr_receive_channel *r;
    ck_assert_int_eq(tr_channel_clone(tx, &c), 0);
    spawn(&n, fan_producer, c, "A");
    ck_assert_int_eq(tr_channel_clone(tx, &c), 0);
    spawn(&n, fan_producer, c, "B");
    ck_assert_int_eq(tr_channel_clone(rx, &r), 0);
    spawn(&n, fan_consumer, r, "X");
    ck_assert_int_eq(tr_channel_clone(rx, &r), 0);
    spawn(&n, fan_consumer, r, "Y");
    tr_channel_stats st = stats_of(tx);
    ck_assert_uint_eq(st.open_send_channels, 3);
    ck_assert_uint_eq(st.open_receive_channels, 3);
    tr_channel_close(tx);
    tr_channel_close(rx);
    return tr_nursery_join(&n, 0);
}

START_TEST(test_fan_in_clones) {
    tr_test_alloc a = {0};
    tr_run_opts o = {.alloc = tr_test_alloc_fn, .alloc_ctx = &a};
    ck_assert_int_eq(tr_test_run_opts(fan_in_main, NULL, &o, 0, NULL), 0);
    for (int v = 0; v < 64; v++) ck_assert_int_eq(seen[v], (v % 10 < 3 && v < 20) ? 1 : 0);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

/* 10 producers on clones deliver every item exactly once. */
#define PRODUCERS 10
#define ITEMS 200

static int count_producer(void *arg) {
    tr_send_channel *s = arg;
    int id = me()[0] - '0';
    int rc = 0;
    for (int i = 0; i < ITEMS && rc == 0; i++) {
        int v = id * ITEMS + i;
        rc = tr_channel_send(s, &v);
    }
    tr_channel_close(s);
    return rc;
}

static int ten_main(void *arg) {
    size_t cap = *(size_t *)arg;
    static const char *names[PRODUCERS] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
    static int got[PRODUCERS * ITEMS];
    int last[PRODUCERS];
    memset(got, 0, sizeof got);
    for (int i = 0; i < PRODUCERS; i++) last[i] = -1;
    ck_assert_int_eq(tr_open_memory_channel(&tx, &rx, cap, sizeof(int)), 0);
    tr_nursery n;
    tr_nursery_open(&n);
    for (int i = 0; i < PRODUCERS; i++) {
        tr_send_channel *c;
        ck_assert_int_eq(tr_send_channel_clone(tx, &c), 0);
        spawn(&n, count_producer, c, names[i]);
    }
    tr_channel_close(tx);
    int v, rc, total = 0;
    while ((rc = tr_channel_receive(rx, &v)) == 0) {
        got[v]++;
        /* Per producer, items arrive in the order they were sent. */
        ck_assert_int_gt(v % ITEMS, last[v / ITEMS]);
        last[v / ITEMS] = v % ITEMS;
        total++;
    }
    ck_assert_int_eq(rc, TR_EENDOFCHANNEL);
    ck_assert_int_eq(total, PRODUCERS * ITEMS);
    for (int i = 0; i < PRODUCERS * ITEMS; i++) ck_assert_int_eq(got[i], 1);
    tr_channel_close(rx);
    return tr_nursery_join(&n, 0);
}

START_TEST(test_ten_producers_on_clones) {
    static const size_t caps[] = {0, 1, 7, TR_UNBOUNDED};
    size_t cap = caps[_i];
    tr_test_alloc a = {0};
    tr_run_opts o = {.alloc = tr_test_alloc_fn, .alloc_ctx = &a};
    ck_assert_int_eq(tr_test_run_opts(ten_main, &cap, &o, 0, NULL), 0);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

/* ---- nowait, buffering, unbounded ---------------------------------------------- */

static int nowait_main(void *arg) {
    (void)arg;
    int v = 0;
    ck_assert_int_eq(tr_open_memory_channel(&tx, &rx, 2, sizeof(int)), 0);
    ck_assert_int_eq(tr_channel_receive_nowait(rx, &v), -EWOULDBLOCK);
    v = 1;
    ck_assert_int_eq(tr_channel_send_nowait(tx, &v), 0);
    v = 2;
    ck_assert_int_eq(tr_channel_send_nowait(tx, &v), 0);
    v = 3;
    ck_assert_int_eq(tr_channel_send_nowait(tx, &v), -EWOULDBLOCK);
    tr_channel_stats st = stats_of(tx);
    ck_assert_uint_eq(st.current_buffer_used, 2);
    ck_assert_uint_eq(st.max_buffer_size, 2);
    ck_assert_int_eq(tr_channel_receive_nowait(rx, &v), 0);
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(tr_channel_receive(rx, &v), 0);
    ck_assert_int_eq(v, 2);
    ck_assert_int_eq(tr_channel_receive_nowait(rx, &v), -EWOULDBLOCK);
    tr_channel_close(tx);
    ck_assert_int_eq(tr_channel_receive_nowait(rx, &v), TR_EENDOFCHANNEL);
    ck_assert_int_eq(tr_channel_receive(rx, &v), TR_EENDOFCHANNEL);
    tr_channel_close(rx);
    return 0;
}

START_TEST(test_nowait_and_buffer) {
    run_ok(nowait_main, NULL);
}
END_TEST

static int unbounded_main(void *arg) {
    (void)arg;
    enum { N = 12345 };
    ck_assert_int_eq(tr_open_memory_channel(&tx, &rx, TR_UNBOUNDED, sizeof(long)), 0);
    for (long i = 0; i < N; i++) ck_assert_int_eq(tr_channel_send_nowait(tx, &i), 0);
    ck_assert_uint_eq(stats_of(tx).current_buffer_used, N);
    ck_assert_uint_eq(stats_of(tx).max_buffer_size, TR_UNBOUNDED);
    long v;
    /* Interleave so that the ring wraps while it grows. */
    for (long i = 0; i < 100; i++) {
        ck_assert_int_eq(tr_channel_receive_nowait(rx, &v), 0);
        ck_assert_int_eq(v, i);
        long w = N + i;
        ck_assert_int_eq(tr_channel_send_nowait(tx, &w), 0);
    }
    for (long i = 100; i < N + 100; i++) {
        ck_assert_int_eq(tr_channel_receive_nowait(rx, &v), 0);
        ck_assert_int_eq(v, i);
    }
    ck_assert_int_eq(tr_channel_receive_nowait(rx, &v), -EWOULDBLOCK);
    tr_channel_close(rx);
    tr_channel_close(tx);
    return 0;
}

START_TEST(test_unbounded_in_order) {
    tr_test_alloc a = {0};
    tr_run_opts o = {.alloc = tr_test_alloc_fn, .alloc_ctx = &a};
    ck_assert_int_eq(tr_test_run_opts(unbounded_main, NULL, &o, 0, NULL), 0);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

/* Items of any size are copied whole. */
typedef struct big {
    char bytes[37];
} big;

static int big_main(void *arg) {
    (void)arg;
    ck_assert_int_eq(tr_open_memory_channel(&tx, &rx, 3, sizeof(big)), 0);
    for (int i = 0; i < 3; i++) {
        big b;
        memset(b.bytes, 'a' + i, sizeof b.bytes);
        ck_assert_int_eq(tr_channel_send(tx, &b), 0);
    }
    for (int i = 0; i < 3; i++) {
        big b;
        ck_assert_int_eq(tr_channel_receive(rx, &b), 0);
        for (size_t k = 0; k < sizeof b.bytes; k++) ck_assert_int_eq(b.bytes[k], 'a' + i);
    }
    tr_channel_close(tx);
    tr_channel_close(rx);
    ck_assert_int_eq(tr_open_memory_channel(&tx, &rx, 3, 0), -EINVAL);
    return 0;
}

START_TEST(test_item_sizes) {
    run_ok(big_main, NULL);
}
END_TEST

/* Every item size goes whole through every kind of buffer, whether handed
 * to a waiting peer, buffered, or moved from a blocked sender into the slot
 * a receive freed: sizes that copy as one move (4, 8, 16) and others, and
 * buffers that are absent, allocated at open, grown on demand (a bound too
 * large to allocate at open) and unbounded. The consumer stalls now and
 * then, so that the producer also blocks on a full buffer. */
#define SIZED_ITEMS 60
static size_t sized_elem;

static void sized_fill(unsigned char *b, int i) {
    for (size_t k = 0; k < sized_elem; k++) b[k] = (unsigned char)(i * 31 + (int)k + 1);
}

static int sized_producer(void *arg) {
    tr_send_channel *s = arg;
    unsigned char b[64];
    for (int i = 0; i < SIZED_ITEMS; i++) {
        sized_fill(b, i);
        ck_assert_int_eq(tr_channel_send(s, b), 0);
    }
    tr_channel_close(s);
    return 0;
}

static int sized_consumer(void *arg) {
    tr_receive_channel *r = arg;
    unsigned char b[64], want[64];
    int i = 0, rc;
    while ((rc = tr_channel_receive(r, b)) == 0) {
        sized_fill(want, i);
        ck_assert_msg(memcmp(b, want, sized_elem) == 0, "item %d of %zu bytes", i, sized_elem);
        if (++i % 7 == 0)
            for (int k = 0; k < 5; k++) ck_assert_int_eq(tr_checkpoint(), 0);
    }
    ck_assert_int_eq(rc, TR_EENDOFCHANNEL);
    ck_assert_int_eq(i, SIZED_ITEMS);
    tr_channel_close(r);
    return 0;
}

static int sized_main(void *arg) {
    (void)arg;
    static const size_t sizes[] = {1, 4, 8, 16, 37};
    static const size_t buffers[] = {0, 2, 100000, TR_UNBOUNDED};
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        for (size_t bi = 0; bi < sizeof buffers / sizeof *buffers; bi++) {
            sized_elem = sizes[si];
            ck_assert_int_eq(tr_open_memory_channel(&tx, &rx, buffers[bi], sized_elem), 0);
            tr_nursery n;
            tr_nursery_open(&n);
            spawn(&n, sized_consumer, rx, "consumer");
            spawn(&n, sized_producer, tx, "producer");
            ck_assert_int_eq(tr_nursery_join(&n, 0), 0);
        }
    }
    return 0;
}

START_TEST(test_item_sizes_through_every_buffer) {
    run_ok(sized_main, NULL);
}
END_TEST

/* ---- hand-off and FIFO service ----------------------------------------------- */

static int log_receiver(void *arg) {
    tr_receive_channel *r = arg;
    int v = -1;
    int rc = tr_channel_receive(r, &v);
    tr_test_log("%s got %d rc %d", me(), v, rc);
    return 0;
}

static int log_sender(void *arg) {
    tr_send_channel *s = arg;
    int v = me()[0] - 'A' + 100;
    int rc = tr_channel_send(s, &v);
    tr_test_log("%s sent rc %d", me(), rc);
    return 0;
}

static int handoff_main(void *arg) {
    (void)arg;
    ck_assert_int_eq(tr_open_memory_channel(&tx, &rx, 0, sizeof(int)), 0);
    tr_nursery n;
    tr_nursery_open(&n);
    spawn(&n, log_receiver, rx, "R1");
    spawn(&n, log_receiver, rx, "R2");
    settle();
    ck_assert_uint_eq(stats_of(tx).tasks_waiting_receive, 2);
    int v = 7;
    /* A receiver waits: send_nowait hands the item straight to the oldest. */
    ck_assert_int_eq(tr_channel_send_nowait(tx, &v), 0);
    v = 8;
    ck_assert_int_eq(tr_channel_send_nowait(tx, &v), 0);
    ck_assert_int_eq(tr_channel_send_nowait(tx, &v), -EWOULDBLOCK);
    ck_assert_uint_eq(stats_of(tx).tasks_waiting_receive, 0);
    settle();
    /* Blocked senders are served oldest first. */
    spawn(&n, log_sender, tx, "A");
    spawn(&n, log_sender, tx, "B");
    spawn(&n, log_sender, tx, "C");
    settle();
    ck_assert_uint_eq(stats_of(tx).tasks_waiting_send, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(tr_channel_receive_nowait(rx, &v), 0);
        ck_assert_int_eq(v, 100 + i);
    }
    tr_channel_close(tx);
    tr_channel_close(rx);
    return tr_nursery_join(&n, 0);
}

START_TEST(test_handoff_and_fifo) {
    tr_test_log_reset();
    run_ok(handoff_main, NULL);
    ck_assert_str_eq(tr_test_log_str(), "R1 got 7 rc 0\nR2 got 8 rc 0\nA sent rc 0\nB sent rc 0\n"
                                        "C sent rc 0\n");
}
END_TEST

/* A freed slot goes to the oldest blocked sender, whose item is buffered
 * at once. */
static int slot_main(void *arg) {
    (void)arg;
    ck_assert_int_eq(tr_open_memory_channel(&tx, &rx, 1, sizeof(int)), 0);
    int v = 1;
    ck_assert_int_eq(tr_channel_send(tx, &v), 0);
    tr_nursery n;
    tr_nursery_open(&n);
    spawn(&n, log_sender, tx, "A");
    spawn(&n, log_sender, tx, "B");
    settle();
    ck_assert_int_eq(tr_channel_receive(rx, &v), 0);
    ck_assert_int_eq(v, 1);
    tr_channel_stats st = stats_of(tx);
    ck_assert_uint_eq(st.current_buffer_used, 1);
    ck_assert_uint_eq(st.tasks_waiting_send, 1);
    ck_assert_int_eq(tr_channel_receive(rx, &v), 0);
    ck_assert_int_eq(v, 100);
    ck_assert_int_eq(tr_channel_receive(rx, &v), 0);
    ck_assert_int_eq(v, 101);
    tr_channel_close(tx);
    tr_channel_close(rx);
    return tr_nursery_join(&n, 0);
}

START_TEST(test_freed_slot_to_oldest_sender) {
    tr_test_log_reset();
    run_ok(slot_main, NULL);
    ck_assert_str_eq(tr_test_log_str(), "A sent rc 0\nB sent rc 0\n");
}
END_TEST

/* Send and receive are schedule points even when they do not block. */
static int bystander(void *arg) {
    (void)arg;
    tr_test_log("bystander");
    return 0;
}

static int sched_point_main(void *arg) {
    (void)arg;
    ck_assert_int_eq(tr_open_memory_channel(&tx, &rx, 1, sizeof(int)), 0);
    tr_nursery n;
    tr_nursery_open(&n);
    int v = 5;
    spawn(&n, bystander, NULL, "b");
    ck_assert_int_eq(tr_channel_send(tx, &v), 0);
    tr_test_log("sent");
    spawn(&n, bystander, NULL, "b");
    ck_assert_int_eq(tr_channel_receive(rx, &v), 0);
    tr_test_log("received");
    tr_channel_close(tx);
    tr_channel_close(rx);
    return tr_nursery_join(&n, 0);
}

START_TEST(test_send_receive_are_schedule_points) {
    tr_test_log_reset();
    run_ok(sched_point_main, NULL);
    ck_assert_str_eq(tr_test_log_str(), "bystander\nsent\nbystander\nreceived\n");
}
END_TEST

/* ---- close ------------------------------------------------------------------ */

/* Closing one send clone fails only the senders blocked on that clone. */
static int close_send_clone_main(void *arg) {
    (void)arg;
    ck_assert_int_eq(tr_open_memory_channel(&tx, &rx, 0, sizeof(int)), 0);
    ck_assert_int_eq(tr_channel_clone(tx, &tx2), 0);
    tr_nursery n;
    tr_nursery_open(&n);
    spawn(&n, log_sender, tx, "A");
    spawn(&n, log_sender, tx2, "B");
    spawn(&n, log_sender, tx, "C");
    settle();
    tr_channel_close(tx);
    tr_channel_close(tx); /* twice is fine */
    ck_assert(tr_send_channel_closed(tx));
    int v = 0;
    ck_assert_int_eq(tr_channel_send(tx, &v), -EBADF);
    ck_assert_int_eq(tr_channel_send_nowait(tx, &v), -EBADF);
    tr_send_channel *c;
    ck_assert_int_eq(tr_channel_clone(tx, &c), -EBADF);
    tr_channel_stats st = stats_of(tx);
    ck_assert_uint_eq(st.open_send_channels, 1);
    ck_assert_uint_eq(st.tasks_waiting_send, 1);
    settle();
    ck_assert_int_eq(tr_channel_receive(rx, &v), 0);
    ck_assert_int_eq(v, 101);
    tr_channel_close(tx2);
    ck_assert_int_eq(tr_channel_receive(rx, &v), TR_EENDOFCHANNEL);
    tr_channel_close(rx);
    return tr_nursery_join(&n, 0);
}

START_TEST(test_close_send_clone) {
    tr_test_log_reset();
    run_ok(close_send_clone_main, NULL);
    ck_assert_str_eq(tr_test_log_str(), "A sent rc -9\nC sent rc -9\nB sent rc 0\n");
}
END_TEST

/* Closing one receive clone fails only the receivers blocked on it. */
static int close_recv_clone_main(void *arg) {
    (void)arg;
    ck_assert_int_eq(tr_open_memory_channel(&tx, &rx, 0, sizeof(int)), 0);
    ck_assert_int_eq(tr_channel_clone(rx, &rx2), 0);
    tr_nursery n;
    tr_nursery_open(&n);
    spawn(&n, log_receiver, rx, "R1");
    spawn(&n, log_receiver, rx2, "R2");
    settle();
    tr_channel_close(rx);
    int v = 0;
    ck_assert_int_eq(tr_channel_receive(rx, &v), -EBADF);
    ck_assert_int_eq(tr_channel_receive_nowait(rx, &v), -EBADF);
    settle();
    v = 9;
    ck_assert_int_eq(tr_channel_send(tx, &v), 0);
    tr_channel_close(rx2);
    ck_assert_int_eq(tr_channel_send(tx, &v), -EPIPE);
    ck_assert_int_eq(tr_channel_send_nowait(tx, &v), -EPIPE);
    tr_channel_close(tx);
    return tr_nursery_join(&n, 0);
}

START_TEST(test_close_receive_clone) {
    tr_test_log_reset();
    run_ok(close_recv_clone_main, NULL);
    ck_assert_str_eq(tr_test_log_str(), "R1 got -1 rc -9\nR2 got 9 rc 0\n");
}
END_TEST

/* Last sender closes: receivers drain the buffer, then end of channel;
 * blocked receivers wake with it. */
static int last_sender_main(void *arg) {
    (void)arg;
    ck_assert_int_eq(tr_open_memory_channel(&tx, &rx, 0, sizeof(int)), 0);
    tr_nursery n;
    tr_nursery_open(&n);
    spawn(&n, log_receiver, rx, "R1");
    spawn(&n, log_receiver, rx, "R2");
    settle();
    tr_channel_close(tx);
    ck_assert_uint_eq(stats_of(tx).tasks_waiting_receive, 0);
    ck_assert_int_eq(tr_nursery_join(&n, 0), 0);
    tr_channel_close(rx);

    ck_assert_int_eq(tr_open_memory_channel(&tx, &rx, 5, sizeof(int)), 0);
    ck_assert_int_eq(tr_channel_clone(tx, &tx2), 0);
    for (int i = 0; i < 3; i++) ck_assert_int_eq(tr_channel_send(tx, &i), 0);
    tr_channel_close(tx);
    int v;
    ck_assert_int_eq(tr_channel_receive(rx, &v), 0); /* tx2 still open */
    tr_channel_close(tx2);
    for (int i = 1; i < 3; i++) {
        ck_assert_int_eq(tr_channel_receive(rx, &v), 0);
        ck_assert_int_eq(v, i);
    }
    ck_assert_int_eq(tr_channel_receive(rx, &v), TR_EENDOFCHANNEL);
    ck_assert_int_eq(tr_channel_receive(rx, &v), TR_EENDOFCHANNEL);
    tr_channel_close(rx);
    return 0;
}

START_TEST(test_close_last_sender) {
    tr_test_log_reset();
    tr_test_alloc a = {0};
    tr_run_opts o = {.alloc = tr_test_alloc_fn, .alloc_ctx = &a};
    ck_assert_int_eq(tr_test_run_opts(last_sender_main, NULL, &o, 0, NULL), 0);
    ck_assert_int_eq(a.live, 0);
    ck_assert_str_eq(tr_test_log_str(), "R1 got -1 rc -4097\nR2 got -1 rc -4097\n");
}
END_TEST

/* Last receiver closes: the buffer is dropped, blocked senders get -EPIPE. */
static int last_receiver_main(void *arg) {
    (void)arg;
    ck_assert_int_eq(tr_open_memory_channel(&tx, &rx, 1, sizeof(int)), 0);
    int v = 1;
    ck_assert_int_eq(tr_channel_send(tx, &v), 0);
    tr_nursery n;
    tr_nursery_open(&n);
    spawn(&n, log_sender, tx, "A");
    spawn(&n, log_sender, tx, "B");
    settle();
    tr_channel_close(rx);
    tr_channel_stats st = stats_of(tx);
    ck_assert_uint_eq(st.current_buffer_used, 0);
    ck_assert_uint_eq(st.tasks_waiting_send, 0);
    ck_assert_uint_eq(st.open_receive_channels, 0);
    ck_assert_int_eq(tr_channel_send(tx, &v), -EPIPE);
    int rc = tr_nursery_join(&n, 0);
    tr_channel_close(tx);
    return rc;
}

START_TEST(test_close_last_receiver) {
    tr_test_log_reset();
    run_ok(last_receiver_main, NULL);
    ck_assert_str_eq(tr_test_log_str(), "A sent rc -32\nB sent rc -32\n");
}
END_TEST

/* ---- cancellation -------------------------------------------------------------- */

static tr_cancel_scope task_scope;

static int scoped_sender(void *arg) {
    tr_send_channel *s = arg;
    tr_scope_enter(&task_scope, TR_INF);
    int v = 55;
    int rc = tr_channel_send(s, &v);
    tr_test_log("sender rc %d", rc);
    return tr_scope_exit(&task_scope, rc);
}

static int scoped_receiver(void *arg) {
    tr_receive_channel *r = arg;
    tr_scope_enter(&task_scope, TR_INF);
    int v = -1;
    int rc = tr_channel_receive(r, &v);
    tr_test_log("receiver rc %d v %d", rc, v);
    return tr_scope_exit(&task_scope, rc);
}

static int cancel_main(void *arg) {
    (void)arg;
    ck_assert_int_eq(tr_open_memory_channel(&tx, &rx, 0, sizeof(int)), 0);
    int v = 3;
    tr_cancel_scope cs;
    /* In a cancelled scope nothing moves, even when it could. */
    tr_nursery n;
    tr_nursery_open(&n);
    spawn(&n, log_receiver, rx, "R");
    settle();
    tr_scope_enter(&cs, TR_INF);
    tr_scope_cancel(&cs);
    ck_assert_int_eq(tr_channel_send(tx, &v), -ECANCELED);
    ck_assert_uint_eq(stats_of(tx).tasks_waiting_receive, 1);
    ck_assert_int_eq(tr_scope_exit(&cs, -ECANCELED), 0);
    ck_assert_int_eq(tr_channel_send(tx, &v), 0);
    ck_assert_int_eq(tr_nursery_join(&n, 0), 0);

    /* A blocked sender cancelled never delivers. */
    tr_nursery_open(&n);
    spawn(&n, scoped_sender, tx, "S");
    settle();
    ck_assert_uint_eq(stats_of(tx).tasks_waiting_send, 1);
    tr_scope_cancel(&task_scope);
    ck_assert_uint_eq(stats_of(tx).tasks_waiting_send, 0);
    ck_assert_int_eq(tr_nursery_join(&n, 0), 0);
    ck_assert_int_eq(tr_channel_receive_nowait(rx, &v), -EWOULDBLOCK);

    /* A blocked receiver cancelled never consumes. */
    tr_nursery_open(&n);
    spawn(&n, scoped_receiver, rx, "R");
    settle();
    tr_scope_cancel(&task_scope);
    ck_assert_int_eq(tr_channel_send_nowait(tx, &v), -EWOULDBLOCK);
    ck_assert_int_eq(tr_nursery_join(&n, 0), 0);

    /* A receiver handed an item owns it, even if cancelled before it runs. */
    tr_nursery_open(&n);
    spawn(&n, scoped_receiver, rx, "R");
    settle();
    v = 77;
    ck_assert_int_eq(tr_channel_send_nowait(tx, &v), 0);
    tr_scope_cancel(&task_scope);
    ck_assert_int_eq(tr_nursery_join(&n, 0), 0);

    /* Receive in a cancelled scope with an item buffered: not consumed. */
    tr_channel_close(tx);
    tr_channel_close(rx);
    ck_assert_int_eq(tr_open_memory_channel(&tx, &rx, 1, sizeof(int)), 0);
    ck_assert_int_eq(tr_channel_send(tx, &v), 0);
    tr_scope_enter(&cs, TR_INF);
    tr_scope_cancel(&cs);
    ck_assert_int_eq(tr_channel_receive(rx, &v), -ECANCELED);
    ck_assert_int_eq(tr_channel_send(tx, &v), -ECANCELED);
    ck_assert_uint_eq(stats_of(tx).current_buffer_used, 1);
    ck_assert_int_eq(tr_scope_exit(&cs, -ECANCELED), 0);
    tr_channel_close(tx);
    tr_channel_close(rx);
    return 0;
}

START_TEST(test_cancellation_leaves_state) {
    tr_test_log_reset();
    run_ok(cancel_main, NULL);
    ck_assert_str_eq(tr_test_log_str(), "R got 3 rc 0\nsender rc -125\nreceiver rc -125 v -1\n"
                                        "receiver rc 0 v 77\n");
}
END_TEST

/* ---- out of memory ------------------------------------------------------------ */

static int oom_main(void *arg) {
    (void)arg;
    int rc = tr_open_memory_channel(&tx, &rx, TR_UNBOUNDED, sizeof(int));
    if (rc) return rc;
    tr_send_channel *c = NULL;
    rc = tr_channel_clone(tx, &c);
    for (int i = 0; rc == 0 && i < 100; i++) rc = tr_channel_send_nowait(tx, &i);
    if (c) tr_channel_close(c);
    tr_channel_close(tx);
    tr_channel_close(rx);
    return rc;
}

START_TEST(test_oom_sweep) {
    for (size_t k = 1; k < 14; k++) {
        tr_test_alloc a = {.fail_at = k};
        tr_run_opts o = {.alloc = tr_test_alloc_fn, .alloc_ctx = &a, .quiet = true};
        int rc = tr_test_run_opts(oom_main, NULL, &o, 0, NULL);
        ck_assert(rc == 0 || rc == -ENOMEM);
        ck_assert_int_eq(a.live, 0);
    }
}
END_TEST

/* ---- Abandoned channels are freed with the run ----------------------------- */

/* Nobody closes anything: the run still frees the channel, its clones and its
 * buffered items when it ends (every run frees all it allocated). */
static int abandon_main(void *arg) {
    (void)arg;
    tr_send_channel *send, *send2;
    tr_receive_channel *recv;
    ck_assert_int_eq(tr_open_memory_channel(&send, &recv, TR_UNBOUNDED, sizeof(int)), 0);
    ck_assert_int_eq(tr_send_channel_clone(send, &send2), 0);
    for (int i = 0; i < 100; i++) ck_assert_int_eq(tr_channel_send_nowait(send2, &i), 0);
    return 0;
}

START_TEST(test_unclosed_channel_freed_at_run_end) {
    tr_test_alloc a = {0};
    tr_run_opts o = {.alloc = tr_test_alloc_fn, .alloc_ctx = &a};
    ck_assert_int_eq(tr_test_run_opts(abandon_main, NULL, &o, 0, NULL), 0);
    ck_assert_int_gt(a.calls, 0);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

/* ---- the inline fast path and the functions ------------------------------ */

/* The macros tr_channel_send/receive and tr_checkpoint switch in the
 * caller's own code where they can (ctrio/hop.h); the functions of the same
 * names, called through pointers, switch inside the library. Both kinds of
 * task hand items to each other, park for each other and are cancelled
 * while parked. */
typedef struct mixed {
    tr_send_channel *ping_tx, *pong_tx;
    tr_receive_channel *ping_rx, *pong_rx;
    int sum_a, sum_b; /* what each side received */
} mixed;

static int (*send_fn)(tr_send_channel *, const void *) = tr_channel_send;
static int (*receive_fn)(tr_receive_channel *, void *) = tr_channel_receive;
static int (*checkpoint_fn)(void) = tr_checkpoint;

static int inline_side(void *arg) {
    mixed *m = arg;
    for (int i = 1; i <= 100; i++) {
        int v;
        ck_assert_int_eq(tr_channel_send(m->ping_tx, &i), 0);
        ck_assert_int_eq(tr_channel_receive(m->pong_rx, &v), 0);
        ck_assert_int_eq(v, -i);
        m->sum_a += v;
        ck_assert_int_eq(tr_checkpoint(), 0);
    }
    return 0;
}

static int function_side(void *arg) {
    mixed *m = arg;
    for (int i = 1; i <= 100; i++) {
        int v;
        ck_assert_int_eq(receive_fn(m->ping_rx, &v), 0);
        ck_assert_int_eq(v, i);
        m->sum_b += v;
        v = -v;
        ck_assert_int_eq(send_fn(m->pong_tx, &v), 0);
        ck_assert_int_eq(checkpoint_fn(), 0);
    }
    return 0;
}

/* Parks in the inline receive until cancelled. */
static int parked_inline(void *arg) {
    int v = 0;
    int rc = tr_channel_receive((tr_receive_channel *)arg, &v);
    tr_test_log("inline receive %s v %d", rc == -ECANCELED ? "cancelled" : tr_strerror(rc), v);
    return rc == -ECANCELED ? 0 : -1;
}

static int mixed_main(void *arg) {
    mixed *m = arg;
    ck_assert_int_eq(tr_open_memory_channel(&m->ping_tx, &m->ping_rx, 0, sizeof(int)), 0);
    ck_assert_int_eq(tr_open_memory_channel(&m->pong_tx, &m->pong_rx, 0, sizeof(int)), 0);
    tr_nursery n;
    tr_nursery_open(&n);
    spawn(&n, inline_side, m, "inline");
    spawn(&n, function_side, m, "function");
    ck_assert_int_eq(tr_nursery_join(&n, 0), 0);

    tr_nursery_open(&n);
    spawn(&n, parked_inline, m->ping_rx, "parked");
    settle();
    ck_assert_uint_eq(stats_of(m->ping_tx).tasks_waiting_receive, 1);
    tr_nursery_cancel(&n);
    ck_assert_int_eq(tr_nursery_join(&n, 0), 0);
    ck_assert_uint_eq(stats_of(m->ping_tx).tasks_waiting_receive, 0);
    int v = 5;
    ck_assert_int_eq(tr_channel_send_nowait(m->ping_tx, &v), -EWOULDBLOCK);
    tr_channel_close(m->ping_tx);
    tr_channel_close(m->ping_rx);
    tr_channel_close(m->pong_tx);
    tr_channel_close(m->pong_rx);
    return 0;
}

START_TEST(test_inline_and_function_calls_mix) {
    mixed m = {0};
    tr_test_log_reset();
    run_ok(mixed_main, &m);
    ck_assert_int_eq(m.sum_b, 5050);
    ck_assert_int_eq(m.sum_a, -5050);
    ck_assert_str_eq(tr_test_log_str(), "inline receive cancelled v 0\n");
}
END_TEST

static Suite *channel_suite(void) {
    Suite *s = suite_create("channel");
    TCase *tc = tcase_create("seed");
    tcase_add_loop_test(tc, test_producer_consumer, 0, 5);
    tcase_add_test(tc, test_fan_in_clones);
    tcase_add_loop_test(tc, test_ten_producers_on_clones, 0, 4);
    suite_add_tcase(s, tc);
    tc = tcase_create("buffer");
    tcase_add_test(tc, test_nowait_and_buffer);
    tcase_add_test(tc, test_unbounded_in_order);
    tcase_add_test(tc, test_item_sizes);
    tcase_add_test(tc, test_item_sizes_through_every_buffer);
    tcase_add_test(tc, test_handoff_and_fifo);
    tcase_add_test(tc, test_freed_slot_to_oldest_sender);
    tcase_add_test(tc, test_send_receive_are_schedule_points);
    tcase_add_test(tc, test_inline_and_function_calls_mix);
    suite_add_tcase(s, tc);
    tc = tcase_create("abandoned");
    tcase_add_test(tc, test_unclosed_channel_freed_at_run_end);
    suite_add_tcase(s, tc);

    tc = tcase_create("close");
    tcase_add_test(tc, test_close_send_clone);
    tcase_add_test(tc, test_close_receive_clone);
    tcase_add_test(tc, test_close_last_sender);
    tcase_add_test(tc, test_close_last_receiver);
    suite_add_tcase(s, tc);
    tc = tcase_create("cancel");
    tcase_add_test(tc, test_cancellation_leaves_state);
    tcase_add_test(tc, test_oom_sweep);
    suite_add_tcase(s, tc);
    return s;
}

#include "check_main.h"
CTRIO_CHECK_MAIN(channel_suite)
