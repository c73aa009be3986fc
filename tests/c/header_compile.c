/*
 * Compiled, never run: the public header alone, included first and only, must
 * build warning-free as C99 and C++11 with -pedantic -Werror -Wall -Wextra, with
 * and without BT_DISABLE_TRACING (see CMakeLists.txt: bt_header_* objects).
 * It also uses every type and *_INIT macro so they are checked too.
 */
#include <boundarytrace/bt.h>

/* Compile-time facts (C99 has no static_assert: a negative array size fails). */
typedef char bt_check_status_ok_is_zero[BT_OK == 0 ? 1 : -1];
typedef char bt_check_version_number[BT_VERSION_NUMBER ==
                                             BT_VERSION_MAJOR * 10000 + BT_VERSION_MINOR * 100 +
                                                 BT_VERSION_PATCH
                                         ? 1
                                         : -1];
typedef char bt_check_struct_size_first[offsetof(bt_timing, struct_size) == 0 ? 1 : -1];
typedef char bt_check_phase_total[BT_PHASE_TOTAL < 0 ? 1 : -1];

int bt_header_compile_check(void);

int bt_header_compile_check(void) {
  bt_timing timing = BT_TIMING_INIT;
  bt_op_stats op_stats = BT_OP_STATS_INIT;
  bt_phase_stats phase_stats = BT_PHASE_STATS_INIT;
  bt_snapshot_info info = BT_SNAPSHOT_INFO_INIT;
  bt_bucket bucket = {0, 0, 0};
  bt_status status = BT_OK;
  bt_phase_id phase = BT_PHASE_EXTRACT;
  bt_tracer *tracer = NULL;
  bt_metrics *metrics = NULL;
  bt_op *op = NULL;
  bt_snapshot *snapshot = NULL;
  (void)tracer;
  (void)metrics;
  (void)op;
  (void)snapshot;
  return (int)(timing.struct_size + op_stats.struct_size + phase_stats.struct_size +
               info.struct_size + (size_t)bucket.count) +
         (int)status + (int)phase;
}
