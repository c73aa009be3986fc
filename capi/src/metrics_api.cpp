// Metrics sinks, bound operations, external records, snapshot/take/reset.
#include <cerrno>

#include "capi/src/shim.hpp"
#include "cpp_impl/config.hpp"
#include "cpp_impl/names.hpp"
#include "cpp_impl/phase_table.hpp"

using bt::shim::cast;
using bt::shim::metrics_of;
using bt::shim::status;

extern "C" {

bt_metrics *bt_metrics_global(void) {
  return reinterpret_cast<bt_metrics *>(&bt::Metrics::global());
}

bt_status bt_metrics_new(bt_metrics **out) {
  if (!out) return BT_E_NULL;
  auto *m = new (std::nothrow) bt::Metrics();
  if (!m) return BT_E_NOMEM;
  *out = reinterpret_cast<bt_metrics *>(m);
  return BT_OK;
}

bt_status bt_metrics_open_shared(bt_metrics **out, const char *dir) {
  if (!out || !dir) return BT_E_NULL;
  if (!*dir) return BT_E_INVALID;
  BT_SHIM_TRY
  bt::Metrics *m = nullptr;
  int err_no = 0;
  const bt::Err e = bt::Metrics::open_shared(dir, &m, &err_no);
  if (e != bt::Err::ok) {
    errno = err_no;
    return status(e);
  }
  *out = reinterpret_cast<bt_metrics *>(m);
  return BT_OK;
  BT_SHIM_CATCH
}

void bt_metrics_free(bt_metrics *metrics) {
  if (!metrics || metrics == bt_metrics_global()) return;
  delete reinterpret_cast<bt::Metrics *>(metrics);
}

bt_status bt_op_lookup(bt_op **out, bt_metrics *metrics, const char *name) {
  if (!out || !name) return BT_E_NULL;
  BT_SHIM_TRY
  bt::Op *op = nullptr;
  bt::Err e = metrics_of(metrics)->lookup(name, &op);
  if (e == bt::Err::ok) *out = cast(op);
  return status(e);
  BT_SHIM_CATCH
}

const char *bt_op_name(const bt_op *op) { return op ? cast(op)->name : nullptr; }

bt_status bt_op_reserve(bt_op *op) {
  if (!op) return BT_E_NULL;
  return status(bt::tracer_reserve(cast(op)));
}

bt_status bt_metrics_record(bt_metrics *metrics, const bt_timing *timing) {
  if (!bt::config::enabled()) return BT_OK;
  if (!timing) return BT_E_NULL;
  if (timing->struct_size < sizeof(bt_timing)) return BT_E_STRUCT_SIZE;
  if (!timing->op_name) return BT_E_NULL;
  if (timing->flags & ~(BT_TIMING_ERROR | BT_TIMING_PHASE_LEFT_OPEN)) return BT_E_INVALID;

  // Slots past the registered phases must be empty: one OR over them (the
  // compiler vectorises it), then only the registered ones are read.
  const uint32_t registered = bt::phases::count();
  uint64_t stray = 0;
  for (uint32_t p = registered; p < BT_MAX_PHASES; ++p) stray |= timing->phase_ns[p] | timing->phase_entries[p];
  if (stray) return BT_E_UNKNOWN_PHASE;
  bt::Timing t = bt::shim::timing_in(*timing, registered);
  // Phases that add up past the total are refused (the figures derived from
  // them would not add up); the name is checked by the lookup, after.
  bt::Err e = bt::derive_gil_figures(t);
  if (e != bt::Err::ok) return status(e);
  BT_SHIM_TRY
  bt::Op *op = nullptr;
  e = metrics_of(metrics)->lookup(timing->op_name, &op);
  if (e != bt::Err::ok) return status(e);
  t.op_name = op->name;
  return status(bt::Metrics::record(op, t, bt::kNsMult));
  BT_SHIM_CATCH
}

bt_status bt_metrics_snapshot(bt_snapshot **out, bt_metrics *metrics) {
  if (!out) return BT_E_NULL;
  BT_SHIM_TRY
  bt::Snapshot *s = nullptr;
  bt::Err e = metrics_of(metrics)->snapshot(&s);
  if (e == bt::Err::ok) *out = cast(s);
  return status(e);
  BT_SHIM_CATCH
}

bt_status bt_metrics_take(bt_snapshot **interval_out, bt_snapshot **cumulative_out, bt_metrics *metrics) {
  if (!interval_out) return BT_E_NULL;
  BT_SHIM_TRY
  bt::Snapshot *interval = nullptr, *cumulative = nullptr;
  bt::Err e = metrics_of(metrics)->take(&interval, cumulative_out ? &cumulative : nullptr);
  if (e != bt::Err::ok) return status(e);
  *interval_out = cast(interval);
  if (cumulative_out) *cumulative_out = cast(cumulative);
  return BT_OK;
  BT_SHIM_CATCH
}

bt_status bt_metrics_reset(bt_metrics *metrics) {
  if (!bt::config::enabled()) return BT_OK;
  BT_SHIM_TRY
  return status(metrics_of(metrics)->reset());
  BT_SHIM_CATCH
}

}  // extern "C"
