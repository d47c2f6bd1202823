# The `coverage` target (CTRIO_COVERAGE=ON): after the tests have run, it
# captures gcov data with lcov, keeps the library's own sources
# (<component>/src and <component>/include), writes coverage.info and an HTML
# report to <build>/coverage-html, and prints lcov's summary. A baseline
# capture (--initial) makes files no test ever touched count as 0%.

find_program(CTRIO_LCOV lcov)
find_program(CTRIO_GENHTML genhtml)
if(NOT CTRIO_LCOV OR NOT CTRIO_GENHTML)
    message(WARNING "ctrio: lcov/genhtml not found; the coverage target is not available")
    return()
endif()

# lcov 2 turns many soft problems into errors; ignore the ones a partial
# capture always has.
execute_process(COMMAND "${CTRIO_LCOV}" --version OUTPUT_VARIABLE ctrio_lcov_version)
set(ctrio_lcov_flags --quiet)
if(ctrio_lcov_version MATCHES "version 2\\.")
    list(APPEND ctrio_lcov_flags --ignore-errors unused,empty,mismatch)
endif()
if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
    # gcov must match the gcc that compiled (gcov-12 for gcc-12).
    get_filename_component(ctrio_cc_name "${CMAKE_C_COMPILER}" NAME)
    string(REPLACE "gcc" "gcov" ctrio_gcov_name "${ctrio_cc_name}")
    find_program(CTRIO_GCOV NAMES ${ctrio_gcov_name} gcov)
    if(CTRIO_GCOV)
        list(APPEND ctrio_lcov_flags --gcov-tool "${CTRIO_GCOV}")
    endif()
endif()

set(ctrio_cov_patterns)
foreach(component IN LISTS CTRIO_COMPONENTS)
    list(APPEND ctrio_cov_patterns
        "${CTRIO_SOURCE_DIR}/${component}/src/*"
        "${CTRIO_SOURCE_DIR}/${component}/include/*")
endforeach()

set(ctrio_cov_dir "${CTRIO_BINARY_DIR}")
add_custom_target(coverage
    COMMAND "${CTRIO_LCOV}" ${ctrio_lcov_flags} --capture --initial
            --directory "${ctrio_cov_dir}" --output-file coverage.base.info
    COMMAND "${CTRIO_LCOV}" ${ctrio_lcov_flags} --capture
            --directory "${ctrio_cov_dir}" --output-file coverage.run.info
    COMMAND "${CTRIO_LCOV}" ${ctrio_lcov_flags} --add-tracefile coverage.base.info
            --add-tracefile coverage.run.info --output-file coverage.all.info
    COMMAND "${CTRIO_LCOV}" ${ctrio_lcov_flags} --extract coverage.all.info
            ${ctrio_cov_patterns} --output-file coverage.info
    COMMAND "${CTRIO_GENHTML}" --quiet --output-directory coverage-html
            --title "ctrio ${PROJECT_VERSION}" coverage.info
    COMMAND "${CTRIO_LCOV}" --summary coverage.info
    COMMAND "${CMAKE_COMMAND}" -E echo
            "ctrio: HTML report: ${CTRIO_BINARY_DIR}/coverage-html/index.html"
    WORKING_DIRECTORY "${CTRIO_BINARY_DIR}"
    VERBATIM
    COMMENT "Capturing coverage (run ctest first)")
