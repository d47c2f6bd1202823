# A buggy program must fail within 1,000 seeds, print a replay command, and
# that command must reproduce the failure with the same trace hash.
# EMULATOR: what runs PROGRAM when cross-compiling (empty otherwise).
execute_process(COMMAND ${EMULATOR} "${PROGRAM}" --seeds 1000 --quiet
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
    message(FATAL_ERROR "the bug was not found in 1,000 seeds:\n${out}${err}")
endif()
string(REGEX MATCH "trace hash (0x[0-9a-f]+)" _ "${out}")
set(hash "${CMAKE_MATCH_1}")
string(REGEX MATCH "replay: [^\n]* --seed (0x[0-9a-f]+) --policy ([a-z0-9:]+)" _ "${out}")
set(seed "${CMAKE_MATCH_1}")
set(policy "${CMAKE_MATCH_2}")
if(NOT hash OR NOT seed)
    message(FATAL_ERROR "no trace hash or replay command in:\n${out}")
endif()
execute_process(COMMAND ${EMULATOR} "${PROGRAM}" --seed ${seed} --policy ${policy}
                RESULT_VARIABLE rc2 OUTPUT_VARIABLE out2 ERROR_VARIABLE err2)
if(rc2 EQUAL 0)
    message(FATAL_ERROR "replaying seed ${seed} did not fail:\n${out2}${err2}")
endif()
string(FIND "${out2}" "trace hash ${hash}" at)
if(at EQUAL -1)
    message(FATAL_ERROR "replaying seed ${seed} gave another trace hash than ${hash}:\n${out2}")
endif()
message(STATUS "found at seed ${seed}, replayed with the same trace hash ${hash}")
