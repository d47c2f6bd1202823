/* Twin of the README's memory-channel snippet (seed 003):
 *
 *     async def main():
 *         async with trio.open_nursery() as nursery:
 *             send_channel, receive_channel = trio.open_memory_channel(0)
 *             nursery.start_soon(producer, send_channel)
 *             nursery.start_soon(consumer, receive_channel)
 *
 *     async def producer(send_channel):
 *         async with send_channel:
 *             for i in range(3):
 *                 await send_channel.send(f"message {i}")
 *
 *     async def consumer(receive_channel):
 *         async with receive_channel:
 *             async for value in receive_channel:
 *                 print(f"got value {value!r}")
 *
 * A buffer of 0 makes each send wait for the consumer (a rendezvous). The
 * `async with` blocks become tr_channel_close calls: when the producer closes
 * its end, the consumer's receive returns TR_EENDOFCHANNEL once nothing is
 * left, which ends its loop (Trio's `async for` stops on EndOfChannel).
 * Without the close the consumer would wait forever; on the virtual clock
 * that is reported as a deadlock.
 *
 * Items are copied in and out: here a fixed-size struct holding the text.
 * Each task owns the handle it was given and closes it; the channel's memory
 * goes away with the last close. */
#include <ctrio.h>
#include <stdio.h>

#include "virtual_clock.h"

/* One message: Python's f-string, as a fixed-size C string. */
typedef struct message {
    char text[32];
} message;

static int producer(void *arg) {
    tr_send_channel *send_channel = arg;
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) {
        message m;
        snprintf(m.text, sizeof m.text, "message %d", i);
        rc = tr_channel_send(send_channel, &m);
    }
    tr_channel_close(send_channel); /* the end of `async with send_channel` */
    return rc;
}

static int consumer(void *arg) {
    tr_receive_channel *receive_channel = arg;
    message m;
    int rc;
    while ((rc = tr_channel_receive(receive_channel, &m)) == 0)
        printf("got value '%s'\n", m.text);
    tr_channel_close(receive_channel);
    return rc == TR_EENDOFCHANNEL ? 0 : rc; /* end of channel ends the loop */
}

static int main_task(void *arg) {
    (void)arg;
    tr_nursery nursery;
    tr_send_channel *send_channel;
    tr_receive_channel *receive_channel;
    tr_nursery_open(&nursery);
    int rc = tr_open_memory_channel(&send_channel, &receive_channel, 0, sizeof(message));
    if (rc == 0) {
        /* Each end now belongs to the task it is given, which closes it; an
         * end whose task could not start is closed here instead (a producer
         * left alone then gets -EPIPE and stops). */
        rc = tr_start_soon(&nursery, producer, send_channel);
        if (rc < 0) tr_channel_close(send_channel);
        int rc2 = tr_start_soon(&nursery, consumer, receive_channel);
        if (rc2 < 0) tr_channel_close(receive_channel);
        if (rc == 0) rc = rc2;
    }
    return tr_nursery_join(&nursery, rc);
}

int main(void) {
    int rc = example_run(main_task, NULL);
    return rc < 0;
}
