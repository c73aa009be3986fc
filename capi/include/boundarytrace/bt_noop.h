/*
 * boundarytrace compile-time off switch: included by bt.h when
 * BT_DISABLE_TRACING is defined. Every call is an inline no-op returning BT_OK
 * with zeroed outputs, so an instrumented program carries no tracing code and
 * no link-time dependency. Do not include this header directly.
 * Kept in step with bt.h by tests/c/test_header.c (all symbols, no references).
 */
#ifndef BOUNDARYTRACE_BT_NOOP_H
#define BOUNDARYTRACE_BT_NOOP_H

#ifndef BOUNDARYTRACE_BT_H
#error "include <boundarytrace/bt.h> instead"
#endif

#define BT_NOOP_ static inline

BT_NOOP_ unsigned bt_version(void) { return BT_VERSION_NUMBER; }
BT_NOOP_ const char *bt_version_string(void) { return BT_VERSION_STRING; }
BT_NOOP_ unsigned bt_abi_version(void) { return BT_ABI_VERSION; }
BT_NOOP_ const char *bt_status_str(int status) { (void)status; return "tracing compiled out"; }
BT_NOOP_ const char *bt_status_name(int status) { (void)status; return "BT_OK"; }
BT_NOOP_ void bt_set_enabled(int enabled) { (void)enabled; }
BT_NOOP_ int bt_is_enabled(void) { return 0; }
BT_NOOP_ uint64_t bt_clock_now_ns(void) { return 0; }
BT_NOOP_ const char *bt_clock_source(void) { return "none"; }

BT_NOOP_ bt_status bt_phase_register(bt_phase_id *out, const char *name, int gil_held) {
  (void)name;
  (void)gil_held;
  if (out) *out = 0;
  return BT_OK;
}
BT_NOOP_ bt_status bt_phase_lookup(bt_phase_id *out, const char *name) {
  (void)name;
  if (out) *out = 0;
  return BT_OK;
}
BT_NOOP_ bt_status bt_phase_get_info(const char **name_out, int *gil_held_out, bt_phase_id phase) {
  (void)phase;
  if (name_out) *name_out = "";
  if (gil_held_out) *gil_held_out = 0;
  return BT_OK;
}
BT_NOOP_ uint32_t bt_phase_count(void) { return 0; }

BT_NOOP_ bt_metrics *bt_metrics_global(void) { return NULL; }
BT_NOOP_ bt_status bt_metrics_new(bt_metrics **out) { if (out) *out = NULL; return BT_OK; }
BT_NOOP_ void bt_metrics_free(bt_metrics *metrics) { (void)metrics; }
BT_NOOP_ bt_status bt_op_lookup(bt_op **out, bt_metrics *metrics, const char *name) {
  (void)metrics;
  (void)name;
  if (out) *out = NULL;
  return BT_OK;
}
BT_NOOP_ const char *bt_op_name(const bt_op *op) { (void)op; return NULL; }
BT_NOOP_ bt_status bt_op_reserve(bt_op *op) { (void)op; return BT_OK; }
BT_NOOP_ bt_status bt_metrics_record(bt_metrics *metrics, const bt_timing *timing) {
  (void)metrics;
  (void)timing;
  return BT_OK;
}
BT_NOOP_ bt_status bt_metrics_open_shared(bt_metrics **out, const char *dir) {
  (void)dir;
  if (out) *out = NULL;
  return BT_OK;
}
BT_NOOP_ bt_status bt_snapshot_read_shared(bt_snapshot **out, const char *dir) {
  (void)dir;
  if (out) *out = NULL;
  return BT_OK;
}
BT_NOOP_ bt_status bt_snapshot_get_skipped(const char **path_out, const char **reason_out,
                                           const bt_snapshot *snapshot, size_t index) {
  (void)path_out;
  (void)reason_out;
  (void)snapshot;
  (void)index;
  return BT_E_NOT_FOUND;
}
BT_NOOP_ bt_status bt_metrics_snapshot(bt_snapshot **out, bt_metrics *metrics) {
  (void)metrics;
  if (out) *out = NULL;
  return BT_OK;
}
BT_NOOP_ bt_status bt_metrics_take(bt_snapshot **interval_out, bt_snapshot **cumulative_out,
                                   bt_metrics *metrics) {
  (void)metrics;
  if (interval_out) *interval_out = NULL;
  if (cumulative_out) *cumulative_out = NULL;
  return BT_OK;
}
BT_NOOP_ bt_status bt_metrics_reset(bt_metrics *metrics) { (void)metrics; return BT_OK; }

BT_NOOP_ bt_status bt_tracer_new(bt_tracer **out, bt_metrics *metrics, const char *op_name) {
  (void)metrics;
  (void)op_name;
  if (out) *out = NULL;
  return BT_OK;
}
BT_NOOP_ bt_status bt_tracer_new_op(bt_tracer **out, bt_op *op) {
  (void)op;
  if (out) *out = NULL;
  return BT_OK;
}
BT_NOOP_ bt_status bt_phase_begin(bt_tracer *tracer, bt_phase_id phase) {
  (void)tracer;
  (void)phase;
  return BT_OK;
}
BT_NOOP_ bt_status bt_phase_end(bt_tracer *tracer, bt_phase_id phase) {
  (void)tracer;
  (void)phase;
  return BT_OK;
}
BT_NOOP_ bt_status bt_tracer_add_items(bt_tracer *tracer, uint64_t n) {
  (void)tracer;
  (void)n;
  return BT_OK;
}
BT_NOOP_ bt_status bt_tracer_add_gil_release(bt_tracer *tracer) { (void)tracer; return BT_OK; }
BT_NOOP_ bt_status bt_tracer_add_gil_wait(bt_tracer *tracer, uint64_t ns) {
  (void)tracer;
  (void)ns;
  return BT_OK;
}
BT_NOOP_ bt_status bt_tracer_set_workers(bt_tracer *tracer, uint32_t workers) {
  (void)tracer;
  (void)workers;
  return BT_OK;
}
BT_NOOP_ bt_status bt_tracer_set_error(bt_tracer *tracer) { (void)tracer; return BT_OK; }
BT_NOOP_ bt_status bt_tracer_finish(bt_tracer *tracer) { (void)tracer; return BT_OK; }
BT_NOOP_ bt_status bt_tracer_finish_timing(bt_timing *out, bt_tracer *tracer) {
  (void)tracer;
  (void)out;
  return BT_OK;
}
BT_NOOP_ void bt_tracer_free(bt_tracer *tracer) { (void)tracer; }

BT_NOOP_ void bt_snapshot_free(bt_snapshot *snapshot) { (void)snapshot; }
BT_NOOP_ bt_status bt_snapshot_get_info(bt_snapshot_info *out, const bt_snapshot *snapshot) {
  (void)snapshot;
  (void)out;
  return BT_OK;
}
BT_NOOP_ bt_status bt_snapshot_op_count(size_t *out, const bt_snapshot *snapshot) {
  (void)snapshot;
  if (out) *out = 0;
  return BT_OK;
}
BT_NOOP_ bt_status bt_snapshot_find(size_t *index_out, const bt_snapshot *snapshot,
                                    const char *name) {
  (void)snapshot;
  (void)name;
  if (index_out) *index_out = 0;
  return BT_OK;
}
BT_NOOP_ bt_status bt_snapshot_op_stats(bt_op_stats *out, const bt_snapshot *snapshot,
                                        size_t index) {
  (void)snapshot;
  (void)index;
  (void)out;
  return BT_OK;
}
BT_NOOP_ bt_status bt_snapshot_phase_stats(bt_phase_stats *out, const bt_snapshot *snapshot,
                                           size_t index, bt_phase_id phase) {
  (void)snapshot;
  (void)index;
  (void)phase;
  (void)out;
  return BT_OK;
}
BT_NOOP_ bt_status bt_snapshot_quantile(uint64_t *ns_out, const bt_snapshot *snapshot,
                                        size_t index, bt_phase_id phase, double q) {
  (void)snapshot;
  (void)index;
  (void)phase;
  (void)q;
  if (ns_out) *ns_out = 0;
  return BT_OK;
}
BT_NOOP_ bt_status bt_snapshot_buckets(bt_bucket *buckets, size_t cap,
                                       size_t *count_out, const bt_snapshot *snapshot, size_t index,
                                       bt_phase_id phase) {
  (void)snapshot;
  (void)index;
  (void)phase;
  (void)buckets;
  (void)cap;
  if (count_out) *count_out = 0;
  return BT_OK;
}
BT_NOOP_ bt_status bt_timing_format(char *buf, size_t cap, size_t *needed,
                                    const bt_timing *timing) {
  (void)timing;
  if (buf && cap) buf[0] = '\0';
  if (needed) *needed = 0;
  return BT_OK;
}
BT_NOOP_ bt_status bt_snapshot_format(char *buf, size_t cap, size_t *needed,
                                      const bt_snapshot *snapshot) {
  (void)snapshot;
  if (buf && cap) buf[0] = '\0';
  if (needed) *needed = 0;
  return BT_OK;
}

BT_NOOP_ bt_status bt_snapshot_export(char *buf, size_t cap, size_t *needed,
                                      const bt_snapshot *snapshot, bt_format format) {
  (void)snapshot;
  (void)format;
  if (buf && cap) buf[0] = '\0';
  if (needed) *needed = 0;
  return BT_OK;
}
BT_NOOP_ bt_status bt_snapshot_write(const bt_snapshot *snapshot, bt_format format, const char *path) {
  (void)snapshot;
  (void)format;
  (void)path;
  return BT_OK;
}
BT_NOOP_ bt_status bt_format_for_path(bt_format *out, const char *path) {
  (void)path;
  if (out) *out = BT_FORMAT_TEXT;
  return BT_OK;
}

BT_NOOP_ bt_status bt_timeline_start(size_t capacity) {
  (void)capacity;
  return BT_OK;
}
BT_NOOP_ bt_status bt_timeline_stop(void) { return BT_OK; }
BT_NOOP_ bt_status bt_timeline_get_info(bt_timeline_info *out) {
  (void)out;
  return BT_OK;
}
BT_NOOP_ bt_status bt_timeline_export(char *buf, size_t cap, size_t *needed) {
  if (buf && cap) buf[0] = '\0';
  if (needed) *needed = 0;
  return BT_OK;
}
BT_NOOP_ bt_status bt_timeline_write(const char *path) {
  (void)path;
  return BT_OK;
}
BT_NOOP_ bt_status bt_timeline_export_shared(char *buf, size_t cap, size_t *needed, const char *dir,
                                             int64_t pid) {
  (void)dir;
  (void)pid;
  if (buf && cap) buf[0] = '\0';
  if (needed) *needed = 0;
  return BT_E_NOT_FOUND;
}

#undef BT_NOOP_
#endif /* BOUNDARYTRACE_BT_NOOP_H */
