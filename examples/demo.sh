#!/usr/bin/env bash
# The flagship demo (./dev demo): fuzz task interleavings, find a planted
# bug, replay it bit for bit from its seed, shrink its decision log, and
# check the fixed twin.
#
#   ./dev demo                  the whole tour
#   ./dev demo lost_item        one bug of examples/bugs/ (by file name)
set -euo pipefail

BUILD=${CTRIO_BUILD_DIR:-build/gcc}
BUGS=$BUILD/examples/bugs
[[ -x $BUGS/bug_lock_across_wait ]] || { echo "demo: $BUGS is not built (run ./dev demo)" >&2; exit 1; }

if [[ -t 1 ]]; then
    say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
    say() { printf '\n== %s\n' "$*"; }
fi
run() { printf '$ %s\n' "$*"; "$@"; }

demo_one() {
    local name=$1 out seed policy
    say "examples/bugs/$name.c: $(sed -n '1s|/\* ||p' "$(dirname "$0")/bugs/$name.c")"
    set +e
    out=$(run "$BUGS/bug_$name" --seeds 1000 --jobs 2 --quiet)
    set -e
    printf '%s\n' "$out"
    seed=$(printf '%s\n' "$out" | sed -n 's/.*replay: .* --seed \(0x[0-9a-f]*\) --policy \([a-z0-9:]*\).*/\1/p' | head -n1)
    policy=$(printf '%s\n' "$out" | sed -n 's/.*replay: .* --seed 0x[0-9a-f]* --policy \([a-z0-9:]*\).*/\1/p' | head -n1)
    [[ -n $seed ]] || { echo "demo: the bug was not found" >&2; return 1; }
    say "replay seed $seed: the same schedule, the same trace hash"
    run "$BUGS/bug_$name" --seed "$seed" --policy "$policy" --quiet || true
    say "shrink it: the smallest decision log that still fails the same way"
    local log=${TMPDIR:-/tmp}/ctrio-demo-$name.log
    run "$BUGS/bug_$name" --seed "$seed" --policy "$policy" --shrink --save "$log" --quiet |
        grep -E '^(shrink|replay the shrunk)' || true
    say "the fixed twin (-DFIXED) passes 10,000 seeds"
    run "$BUGS/fixed_$name" --seeds 10000 --jobs 2 --quiet
}

if (($# > 0)); then
    for name in "$@"; do demo_one "$name"; done
else
    for name in lock_across_wait lost_item check_then_act spinning_retry swallowed_error; do
        demo_one "$name"
    done
fi
