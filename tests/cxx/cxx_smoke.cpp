// A C++ caller of ctrio: the public headers compile as C++ (g++ and clang++,
// C++11 and later), and a C++ program runs tasks, a scope, a channel and a
// started task through them, on a mock clock. Exits non-zero, naming the
// check, on a failure.
#include <ctrio.h>
#include <ctrio/autojump.h>
#include <ctrio/sim.h>
#include <ctrio/testing.h>

#include <cstdio>

namespace {

int failures = 0;

void check(bool ok, const char *what) {
    if (!ok) {
        std::fprintf(stderr, "cxx_smoke: %s\n", what);
        failures++;
    }
}

int order[4];
int order_len = 0;

int child(void *arg) {
    order[order_len++] = *static_cast<int *>(arg);
    return tr_checkpoint();
}

int starter(void *arg) {
    tr_started(arg);
    return 0;
}

int body(void *) {
    tr_nursery n;
    tr_nursery_open(&n);
    int one = 1, two = 2;
    int rc = tr_start_soon(&n, child, &one);
    if (rc == 0) rc = tr_start_soon_copy(&n, child, &two, sizeof two);
    void *value = nullptr;
    int marker = 0;
    if (rc == 0) rc = tr_start(&n, starter, &marker, &value);
    check(rc == 0 && value == &marker, "tr_start hands over the started value");

    tr_cancel_scope cs;
    check(tr_move_on_after(&cs, TR_MS(1)) == 0, "tr_move_on_after");
    check(tr_sleep_forever() == -ECANCELED, "a sleep in a timed-out scope is cancelled");
    check(tr_scope_exit(&cs, -ECANCELED) == 0, "the scope absorbs its own cancellation");

    tr_send_channel *tx = nullptr;
    tr_receive_channel *rx = nullptr;
    check(tr_open_memory_channel(&tx, &rx, 1, sizeof(int)) == 0, "a channel opens");
    int sent = 42, got = 0;
    check(tr_channel_send(tx, &sent) == 0, "send");
    check(tr_channel_receive(rx, &got) == 0 && got == 42, "receive what was sent");
    tr_send_channel_close(tx);
    tr_receive_channel_close(rx);
    return tr_nursery_join(&n, rc);
}

} // namespace

int main() {
    // On a mock clock that jumps ahead once every task is blocked: the
    // timed-out scope costs no wall time.
    tr_mock_clock *clock = nullptr;
    check(tr_mock_clock_new(&clock) == 0, "a mock clock");
    if (!clock) return 1;
    check(tr_mock_clock_set_autojump_threshold(clock, 0) == 0, "autojump at once");
    tr_run_opts opts = tr_run_opts();
    check(tr_run(body, nullptr, tr_mock_clock_opts(clock, &opts)) == 0, "tr_run returns 0");
    check(tr_mock_clock_now(clock) == TR_MS(1), "the clock jumped to the scope's deadline");
    tr_mock_clock_free(clock);
    check(order_len == 2 && order[0] == 1 && order[1] == 2, "children run in spawn order");
    return failures != 0;
}
