# cmake -DCOMPILER=<cc> -DSOURCE=<file.c> -DINCLUDE=<dir> -DEXPECT=fail|pass
#       [-DREGEX=<regex the compiler output must match>] -P expect_compile.cmake
# Compiles SOURCE to an object (GCC reports unused results only when it
# really compiles, not with -fsyntax-only) with -Werror=unused-result and
# checks the outcome: EXPECT=fail needs a non-zero exit and REGEX in the
# output; EXPECT=pass needs exit 0.
if(NOT COMPILER OR NOT SOURCE OR NOT INCLUDE OR NOT EXPECT)
    message(FATAL_ERROR "expect_compile.cmake: COMPILER, SOURCE, INCLUDE and EXPECT are required")
endif()
get_filename_component(name "${SOURCE}" NAME_WE)
set(object "${CMAKE_CURRENT_BINARY_DIR}/${name}.o")
execute_process(
    COMMAND "${COMPILER}" -std=c11 -Wall -Werror=unused-result "-I${INCLUDE}"
            -c "${SOURCE}" -o "${object}"
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
file(REMOVE "${object}")
message("${COMPILER} exited with ${rc}:\n${out}")
if(EXPECT STREQUAL "fail")
    if(rc EQUAL 0)
        message(FATAL_ERROR "expected ${SOURCE} to be rejected, but it compiled")
    endif()
    if(REGEX AND NOT out MATCHES "${REGEX}")
        message(FATAL_ERROR "the compiler failed, but not with a message matching '${REGEX}'")
    endif()
elseif(NOT rc EQUAL 0)
    message(FATAL_ERROR "expected ${SOURCE} to compile")
endif()
