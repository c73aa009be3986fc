// Text reports with snprintf semantics.
#include "capi/src/shim.hpp"
#include "cpp_impl/format_text.hpp"
#include "cpp_impl/phase_table.hpp"

using bt::shim::cast;

extern "C" {

bt_status bt_timing_format(const bt_timing *timing, char *buf, size_t cap, size_t *needed) {
  if (!timing || !needed || (cap > 0 && !buf)) return BT_E_NULL;
  if (timing->struct_size < sizeof(bt_timing)) return BT_E_STRUCT_SIZE;
  BT_SHIM_TRY
  bt::Timing t;
  t.op_name = timing->op_name;
  t.total_ns = timing->total_ns;
  t.unattributed_ns = timing->unattributed_ns;
  t.gil_held_ns = timing->gil_held_ns;
  t.gil_released_ns = timing->gil_released_ns;
  t.gil_wait_ns = timing->gil_wait_ns;
  t.items = timing->items;
  t.gil_releases = timing->gil_releases;
  t.workers = timing->workers;
  t.flags = timing->flags;
  t.phase_count = bt::phases::count();
  if (timing->phase_count < t.phase_count) t.phase_count = timing->phase_count;
  for (uint32_t p = 0; p < t.phase_count; ++p) {
    t.phase_ns[p] = timing->phase_ns[p];
    t.phase_entries[p] = timing->phase_entries[p];
    if (t.phase_ns[p] || t.phase_entries[p]) t.touched |= 1u << p;
  }
  return bt::shim::copy_text(bt::format_timing(t), buf, cap, needed);
  BT_SHIM_CATCH
}

bt_status bt_snapshot_format(const bt_snapshot *snapshot, char *buf, size_t cap, size_t *needed) {
  if (!snapshot || !needed || (cap > 0 && !buf)) return BT_E_NULL;
  BT_SHIM_TRY
  return bt::shim::copy_text(bt::format_snapshot(*cast(snapshot)), buf, cap, needed);
  BT_SHIM_CATCH
}

}  // extern "C"
