# Helpers shared by the top-level CMakeLists.txt and every component's
# CMakeLists.txt. A component is a folder <name>/ with include/ (public
# headers, merged at install) and src/ (sources and private headers); it
# becomes the OBJECT library ctrio_<name>, and all of them are combined into
# the one library `ctrio`.

include_guard(GLOBAL)

# Flags for every C translation unit of the library. Warnings are always on;
# CTRIO_WERROR turns them into errors. Every flag is accepted by gcc >= 12 and
# clang >= 14.
set(CTRIO_WARNINGS
    -Wall -Wextra -Wshadow -Wstrict-prototypes -Wpointer-arith -Wundef)
set(CTRIO_LIB_WARNINGS ${CTRIO_WARNINGS} -Wmissing-prototypes)
if(CTRIO_WERROR)
    list(APPEND CTRIO_WARNINGS -Werror)
    list(APPEND CTRIO_LIB_WARNINGS -Werror)
endif()

# Settings every ctrio C target shares: C11 without extensions, PIC, and the
# always-on warnings (given as `warnings`).
function(ctrio_c_target target warnings)
    set_target_properties(${target} PROPERTIES
        C_STANDARD 11
        C_STANDARD_REQUIRED ON
        C_EXTENSIONS OFF
        POSITION_INDEPENDENT_CODE ON)
    target_compile_options(${target} PRIVATE
        "$<$<COMPILE_LANGUAGE:C>:${warnings}>")
endfunction()

# ctrio_add_component(<name> SOURCES <files...> [DEPENDS <components...>])
# Creates the OBJECT library ctrio_<name> from SOURCES, with
# <name>/include as a public include folder, <name>/src as a private one, and
# the public include folders of core and of every component in DEPENDS.
# Records the component in the global property CTRIO_COMPONENTS so that the
# top level combines it into `ctrio`, installs its headers and lets the tests
# link it.
function(ctrio_add_component name)
    cmake_parse_arguments(PARSE_ARGV 1 ARG "" "" "SOURCES;DEPENDS")
    set(dir "${CTRIO_SOURCE_DIR}/${name}")
    set(target ctrio_${name})
    add_library(${target} OBJECT ${ARG_SOURCES})
    ctrio_c_target(${target} "${CTRIO_LIB_WARNINGS}")
    set_target_properties(${target} PROPERTIES
        C_VISIBILITY_PRESET hidden
        VISIBILITY_INLINES_HIDDEN ON)
    target_compile_definitions(${target} PRIVATE CTRIO_BUILDING=1)
    target_include_directories(${target}
        PUBLIC
            "$<BUILD_INTERFACE:${dir}/include>"
            "$<BUILD_INTERFACE:${CTRIO_SOURCE_DIR}/core/include>"
        PRIVATE
            "${dir}/src")
    foreach(dep IN LISTS ARG_DEPENDS)
        if(NOT TARGET ctrio_${dep})
            message(FATAL_ERROR "ctrio: component '${name}' needs component '${dep}', "
                                "which has no sources yet")
        endif()
        target_include_directories(${target} PUBLIC
            "$<BUILD_INTERFACE:${CTRIO_SOURCE_DIR}/${dep}/include>")
    endforeach()
    target_link_libraries(${target} PUBLIC Threads::Threads)
    set_property(GLOBAL APPEND PROPERTY CTRIO_COMPONENTS ${name})
endfunction()

# The .c files of <name>/src, re-globbed at build time so that a new file
# re-runs configure.
function(ctrio_component_sources name out_var)
    file(GLOB sources CONFIGURE_DEPENDS "${CTRIO_SOURCE_DIR}/${name}/src/*.c")
    list(SORT sources)
    set(${out_var} "${sources}" PARENT_SCOPE)
endfunction()

# Adds a component folder when it has at least one source and a
# CMakeLists.txt; otherwise says it was skipped.
function(ctrio_maybe_add_component name)
    ctrio_component_sources(${name} sources)
    if(sources AND EXISTS "${CTRIO_SOURCE_DIR}/${name}/CMakeLists.txt")
        add_subdirectory("${CTRIO_SOURCE_DIR}/${name}")
    else()
        message(STATUS "ctrio: component ${name}: no sources yet, skipped")
    endif()
endfunction()

# ctrio_select_io_backend(<out_var>): the I/O backend CTRIO_IO_BACKEND names,
# with auto resolved for the target system (epoll on Linux, kqueue on the
# BSDs and macOS, poll anywhere else).
function(ctrio_select_io_backend out_var)
    set(backend "${CTRIO_IO_BACKEND}")
    if(backend STREQUAL "auto")
        if(CMAKE_SYSTEM_NAME STREQUAL "Linux" OR CMAKE_SYSTEM_NAME STREQUAL "Android")
            set(backend epoll)
        elseif(CMAKE_SYSTEM_NAME MATCHES "^(Darwin|FreeBSD|OpenBSD|NetBSD|DragonFly)$")
            set(backend kqueue)
        else()
            set(backend poll)
        endif()
    elseif(NOT backend MATCHES "^(epoll|poll|kqueue)$")
        message(FATAL_ERROR "ctrio: CTRIO_IO_BACKEND must be auto, epoll, poll or kqueue, "
                            "not '${backend}'")
    endif()
    set(${out_var} ${backend} PARENT_SCOPE)
endfunction()
