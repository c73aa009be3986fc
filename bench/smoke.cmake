# CTest's bench_smoke: runs every benchmark executable once with a tiny count
# (BT_BENCH_SMOKE=1: bench_shared makes its counts tiny too) and fails if any
# exits non-zero or reports an error.
# cmake -DBENCHMARKS=<exe|exe|...> -P smoke.cmake
string(REPLACE "|" ";" BENCHMARKS "${BENCHMARKS}")
foreach(exe IN LISTS BENCHMARKS)
  message(STATUS "smoke: ${exe}")
  execute_process(COMMAND ${CMAKE_COMMAND} -E env BT_BENCH_SMOKE=1 ${exe} --benchmark_min_time=0.001
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0 OR out MATCHES "ERROR OCCURRED" OR err MATCHES "ERROR OCCURRED")
    message(FATAL_ERROR "${exe} failed (exit ${rc}):\n${out}\n${err}")
  endif()
endforeach()
