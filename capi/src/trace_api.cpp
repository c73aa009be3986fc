// The trace ring of individual operations, exported as Chrome Trace Event JSON.
#include "capi/src/shim.hpp"
#include "cpp_impl/export.hpp"
#include "cpp_impl/trace_ring.hpp"

using bt::shim::status;

static_assert(BT_TRACE_MAX_CAPACITY == bt::trace::kMaxCapacity, "trace capacity agrees with the core");

extern "C" {

bt_status bt_trace_start(size_t capacity) {
  BT_SHIM_TRY
  return status(bt::trace::start(capacity));
  BT_SHIM_CATCH
}

bt_status bt_trace_stop(void) {
  bt::trace::stop();
  return BT_OK;
}

bt_status bt_trace_get_info(bt_trace_info *out) {
  if (!out) return BT_E_NULL;
  if (!bt::shim::size_ok(out)) return BT_E_STRUCT_SIZE;
  bt::trace::Info i = bt::trace::info();
  bt_trace_info full{};
  full.capacity = i.capacity;
  full.kept = i.kept;
  full.dropped = i.dropped;
  full.active = i.active ? 1 : 0;
  bt::shim::copy_out(full, out);
  return BT_OK;
}

bt_status bt_trace_export(char *buf, size_t cap, size_t *needed) {
  if (!needed || (cap > 0 && !buf)) return BT_E_NULL;
  BT_SHIM_TRY
  return bt::shim::copy_text(bt::trace::format_chrome(bt::trace::copy()), buf, cap, needed);
  BT_SHIM_CATCH
}

bt_status bt_trace_write(const char *path) {
  if (!path) return BT_E_NULL;
  if (!*path) return BT_E_INVALID;
  BT_SHIM_TRY
  return status(bt::write_file_atomic(path, bt::trace::format_chrome(bt::trace::copy())));
  BT_SHIM_CATCH
}

}  // extern "C"
