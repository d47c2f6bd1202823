/* Twin of the README's clone example (seed 003): two producers and two
 * consumers share one channel, each through its own clone.
 *
 *     async def main():
 *         async with trio.open_nursery() as nursery:
 *             send_channel, receive_channel = trio.open_memory_channel(0)
 *             async with send_channel, receive_channel:
 *                 nursery.start_soon(producer, "A", send_channel.clone())
 *                 nursery.start_soon(producer, "B", send_channel.clone())
 *                 nursery.start_soon(consumer, "X", receive_channel.clone())
 *                 nursery.start_soon(consumer, "Y", receive_channel.clone())
 *
 *     async def producer(name, send_channel):
 *         async with send_channel:
 *             for i in range(3):
 *                 await send_channel.send(f"{i} from producer {name}")
 *                 await trio.sleep(random.random())
 *
 *     async def consumer(name, receive_channel):
 *         async with receive_channel:
 *             async for value in receive_channel:
 *                 print(f"consumer {name} got value {value!r}")
 *                 await trio.sleep(random.random())
 *
 * Clones are like hard links: closing one closes only that handle, and the
 * channel's send end closes when its last clone does. So the consumers see
 * the end of the channel only after both producers are done, whichever
 * finishes first. Had the producers shared one handle, the first to close it
 * would have broken the other's sends (-EBADF).
 *
 * random.random() becomes a small fixed-seed generator, so that every run
 * (and the test on the virtual clock) prints the same interleaving. */
#include <ctrio.h>
#include <stdint.h>
#include <stdio.h>

#include "virtual_clock.h"

typedef struct message {
    char text[32];
} message;

/* A task's arguments: its name and its own clone of one end. */
typedef struct producer_args {
    const char *name;
    tr_send_channel *send_channel;
} producer_args;

typedef struct consumer_args {
    const char *name;
    tr_receive_channel *receive_channel;
} consumer_args;

/* random.random() as a duration below one second, from a fixed seed. */
static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static tr_duration random_sleep(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return TR_MS((int64_t)(rng_state % 1000));
}

static int producer(void *arg) {
    const producer_args *a = arg;
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) {
        message m;
        snprintf(m.text, sizeof m.text, "%d from producer %s", i, a->name);
        rc = tr_channel_send(a->send_channel, &m);
        if (rc == 0) rc = tr_sleep(random_sleep());
    }
    tr_channel_close(a->send_channel);
    return rc;
}

static int consumer(void *arg) {
    const consumer_args *a = arg;
    message m;
    int rc;
    while ((rc = tr_channel_receive(a->receive_channel, &m)) == 0) {
        printf("consumer %s got value '%s'\n", a->name, m.text);
        rc = tr_sleep(random_sleep());
        if (rc < 0) break;
    }
    tr_channel_close(a->receive_channel);
    return rc == TR_EENDOFCHANNEL ? 0 : rc;
}

/* Start a producer on a fresh clone of send_channel. */
static int start_producer(tr_nursery *n, const char *name, tr_send_channel *send_channel) {
    producer_args a = {.name = name};
    int rc = tr_channel_clone(send_channel, &a.send_channel);
    if (rc < 0) return rc;
    rc = tr_start_soon_copy(n, producer, &a, sizeof a);
    if (rc < 0) tr_channel_close(a.send_channel);
    return rc;
}

static int start_consumer(tr_nursery *n, const char *name, tr_receive_channel *receive_channel) {
    consumer_args a = {.name = name};
    int rc = tr_channel_clone(receive_channel, &a.receive_channel);
    if (rc < 0) return rc;
    rc = tr_start_soon_copy(n, consumer, &a, sizeof a);
    if (rc < 0) tr_channel_close(a.receive_channel);
    return rc;
}

static int main_task(void *arg) {
    (void)arg;
    tr_nursery nursery;
    tr_send_channel *send_channel;
    tr_receive_channel *receive_channel;
    tr_nursery_open(&nursery);
    int rc = tr_open_memory_channel(&send_channel, &receive_channel, 0, sizeof(message));
    if (rc == 0) {
        rc = start_producer(&nursery, "A", send_channel);
        if (rc == 0) rc = start_producer(&nursery, "B", send_channel);
        if (rc == 0) rc = start_consumer(&nursery, "X", receive_channel);
        if (rc == 0) rc = start_consumer(&nursery, "Y", receive_channel);
        /* The end of `async with send_channel, receive_channel`. */
        tr_channel_close(send_channel);
        tr_channel_close(receive_channel);
    }
    return tr_nursery_join(&nursery, rc);
}

int main(void) {
    int rc = example_run(main_task, NULL);
    return rc < 0;
}
