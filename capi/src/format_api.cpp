// Text reports with snprintf semantics.
#include "capi/src/shim.hpp"
#include "cpp_impl/format_text.hpp"
#include "cpp_impl/phase_table.hpp"

using bt::shim::cast;

extern "C" {

bt_status bt_timing_format(char *buf, size_t cap, size_t *needed, const bt_timing *timing) {
  if (!timing || !needed || (cap > 0 && !buf)) return BT_E_NULL;
  if (timing->struct_size < sizeof(bt_timing)) return BT_E_STRUCT_SIZE;
  BT_SHIM_TRY
  uint32_t nphases = bt::phases::count();
  if (timing->phase_count < nphases) nphases = timing->phase_count;
  bt::Timing t = bt::shim::timing_in(*timing, nphases);
  return bt::shim::copy_text(bt::format_timing(t), buf, cap, needed);
  BT_SHIM_CATCH
}

bt_status bt_snapshot_format(char *buf, size_t cap, size_t *needed, const bt_snapshot *snapshot) {
  if (!snapshot || !needed || (cap > 0 && !buf)) return BT_E_NULL;
  BT_SHIM_TRY
  return bt::shim::copy_text(bt::format_snapshot(*cast(snapshot)), buf, cap, needed);
  BT_SHIM_CATCH
}

}  // extern "C"
