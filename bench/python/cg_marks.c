/*
 * Callgrind client requests for the Python benchmarks (bench/python/cgmarks.py
 * loads this with ctypes): zero the counters, dump them under a label. Outside
 * valgrind each request is a few no-op instructions.
 */
#include <valgrind/callgrind.h>

void cgm_zero(void) { CALLGRIND_ZERO_STATS; }
void cgm_dump(const char *label) { CALLGRIND_DUMP_STATS_AT(label); }
int cgm_running(void) { return (int)RUNNING_ON_VALGRIND; }
