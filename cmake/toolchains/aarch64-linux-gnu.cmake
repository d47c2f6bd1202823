# Cross-build for aarch64 Linux on a Debian x86-64 host, with every test run
# under qemu-user (the aarch64 stage of ./dev test). Needs the packages
# gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, qemu-user-static, and, from
# the arm64 architecture (dpkg --add-architecture arm64), check:arm64,
# libsubunit-dev:arm64 and libxxhash-dev:arm64.
#
#   cmake -S . -B build/aarch64 \
#       -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
#   cmake --build build/aarch64 && ctest --test-dir build/aarch64
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_ASM_COMPILER aarch64-linux-gnu-gcc)

# CTest runs each test executable through this; the examples' and the bug
# programs' wrappers add it themselves (CMAKE_CROSSCOMPILING_EMULATOR).
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64-static)

# The cross C library, and Debian's multiarch directory for the arm64
# packages of Check and xxHash.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /usr/lib/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")

# Static executables: under qemu-user 7.2 (Debian 12) a dynamically linked
# guest hangs in the child of fork(), and Check runs every test in a fork.
# pkg-config names libraries that CMake would resolve to shared objects:
# point each at its archive, and add what libcheck.a needs.
set(CMAKE_EXE_LINKER_FLAGS_INIT -static)
set(CMAKE_C_STANDARD_LIBRARIES "-lsubunit -lm -lrt -lpthread" CACHE STRING
    "libraries every static link needs (cmake/toolchains/aarch64-linux-gnu.cmake)")
foreach(lib CHECK_m:/usr/aarch64-linux-gnu/lib/libm.a
            CHECK_rt:/usr/aarch64-linux-gnu/lib/librt.a
            CHECK_subunit:/usr/lib/aarch64-linux-gnu/libsubunit.a
            XXHASH_xxhash:/usr/lib/aarch64-linux-gnu/libxxhash.a)
    string(REPLACE ":" ";" lib "${lib}")
    list(GET lib 0 name)
    list(GET lib 1 path)
    set(pkgcfg_lib_${name} "${path}" CACHE FILEPATH "static (cmake/toolchains/aarch64-linux-gnu.cmake)")
endforeach()
