#!/usr/bin/env bash
# Installs a ctrio build into a scratch prefix, then builds and runs the
# consumer in this folder against it twice: with CMake (find_package) and
# with a bare compiler call driven by pkg-config.
# Usage: run-consumer.sh <ctrio build dir> <consumer source dir> <cc> [extra flags]
# Extra flags (sanitizers, --coverage) must match the ones ctrio was built with.
set -euo pipefail

build_dir=$1
src_dir=$2
cc=$3
extra_flags=${4:-}

work="$build_dir/install-test"
prefix="$work/prefix"
rm -rf "$work"
mkdir -p "$work"

# Runs a command with its output in $work/<log>; shows the log if it fails.
quiet() {
    local log="$work/$1"
    shift
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        echo "run-consumer: failed: $*" >&2
        exit 1
    fi
}

echo "--- cmake --install $build_dir --prefix $prefix"
quiet install.log cmake --install "$build_dir" --prefix "$prefix"

# A shared build needs its folder on the loader's path.
libdirs=$(find "$prefix" -name 'libctrio*' -printf '%h\n' | sort -u | paste -sd: -)
export LD_LIBRARY_PATH="$libdirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

echo "--- consumer via find_package(ctrio)"
quiet configure.log cmake -S "$src_dir" -B "$work/cmake-build" \
    -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_C_FLAGS="$extra_flags" \
    -DCMAKE_EXE_LINKER_FLAGS="$extra_flags"
quiet build.log cmake --build "$work/cmake-build"
"$work/cmake-build/app"

echo "--- consumer via pkg-config"
pc_dir=$(find "$prefix" -name ctrio.pc -printf '%h\n' | head -n1)
export PKG_CONFIG_PATH="$pc_dir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
# shellcheck disable=SC2046,SC2086 # word splitting of the flags is wanted
"$cc" $extra_flags -std=c11 -o "$work/app-pc" "$src_dir/main.c" \
    $(pkg-config --cflags --libs ctrio)
"$work/app-pc"

echo "--- install flow ok"
