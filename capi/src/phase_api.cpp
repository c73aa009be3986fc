// The process-wide phase table.
#include "capi/src/shim.hpp"
#include "cpp_impl/phase_table.hpp"

using bt::shim::status;

extern "C" {

bt_status bt_phase_register(bt_phase_id *out, const char *name, int gil_held) {
  if (!out || !name) return BT_E_NULL;
  BT_SHIM_TRY
  return status(bt::phases::register_phase(name, gil_held != 0, out));
  BT_SHIM_CATCH
}

bt_status bt_phase_lookup(bt_phase_id *out, const char *name) {
  if (!out || !name) return BT_E_NULL;
  return status(bt::phases::lookup(name, out));
}

bt_status bt_phase_get_info(const char **name_out, int *gil_held_out, bt_phase_id phase) {
  if (!bt::phases::valid(phase)) return BT_E_UNKNOWN_PHASE;
  if (name_out) *name_out = bt::phases::name(phase);
  if (gil_held_out) *gil_held_out = bt::phases::gil_held(phase) ? 1 : 0;
  return BT_OK;
}

uint32_t bt_phase_count(void) { return bt::phases::count(); }

}  // extern "C"
