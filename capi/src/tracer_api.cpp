// Tracers: the hot path. Each call pays a NULL check and the core's inline
// state checks; the run-time switch (one predictable branch) where a call
// could do more than its fast path.
#include "capi/src/shim.hpp"
#include "cpp_impl/config.hpp"
#include "cpp_impl/names.hpp"

using bt::shim::cast;
using bt::shim::metrics_of;
using bt::shim::status;

namespace {

bt_status start(bt_tracer **out, bt::Op *op) {
  bt::Tracer *tr = bt::tracer_new(op);
  if (!tr) return BT_E_NOMEM;
  *out = cast(tr);
  return BT_OK;
}

// bt_tracer_new when the name is not the thread's last one: checked, then
// found or added. Out of line, so the common case above needs no frame.
__attribute__((noinline)) bt_status start_by_name(bt_tracer **out, bt::Metrics *m, const char *op_name) {
  BT_SHIM_TRY
  bt::Op *op = nullptr;
  bt::Err e = m->lookup(op_name, &op);
  if (e != bt::Err::ok) return status(e);
  return start(out, op);
  BT_SHIM_CATCH
}

bt_status inert(bt_tracer **out) {
  if (out) *out = cast(bt::inert_tracer());
  return BT_OK;
}

bool off() { return __builtin_expect(!bt::config::enabled(), 0); }

}  // namespace

extern "C" {

bt_status bt_tracer_new(bt_tracer **out, bt_metrics *metrics, const char *op_name) {
  if (off()) return inert(out);
  if (!out || !op_name) return BT_E_NULL;
  bt::Metrics *m = metrics_of(metrics);
  if (bt::Op *op = m->cached(op_name)) return start(out, op);
  return start_by_name(out, m, op_name);
}

bt_status bt_tracer_new_op(bt_tracer **out, bt_op *op) {
  if (off()) return inert(out);
  if (!out || !op) return BT_E_NULL;
  return start(out, cast(op));
}

// A valid begin or end on a fast tracer succeeds whether recording is on or
// off (an operation finished while off records nothing), so the switch is
// tested only where a call could fail: 8 of the 11 calls of an operation
// skip it.
bt_status bt_phase_begin(bt_tracer *tracer, bt_phase_id phase) {
  if (__builtin_expect(tracer != nullptr, 1) && bt::tracer_begin_fast(cast(tracer), phase)) return BT_OK;
  if (off()) return BT_OK;
  if (!tracer) return BT_E_NULL;
  return status(bt::tracer_begin_general(cast(tracer), phase));
}

bt_status bt_phase_end(bt_tracer *tracer, bt_phase_id phase) {
  if (__builtin_expect(tracer != nullptr, 1) && bt::tracer_end_fast(cast(tracer), phase)) return BT_OK;
  if (off()) return BT_OK;
  if (!tracer) return BT_E_NULL;
  return status(bt::tracer_end_general(cast(tracer), phase));
}

bt_status bt_tracer_add_items(bt_tracer *tracer, uint64_t n) {
  if (off()) return BT_OK;
  if (!tracer) return BT_E_NULL;
  return status(bt::tracer_add_items(cast(tracer), n));
}

bt_status bt_tracer_add_gil_release(bt_tracer *tracer) {
  if (off()) return BT_OK;
  if (!tracer) return BT_E_NULL;
  return status(bt::tracer_add_gil_release(cast(tracer)));
}

bt_status bt_tracer_add_gil_wait(bt_tracer *tracer, uint64_t ns) {
  if (off()) return BT_OK;
  if (!tracer) return BT_E_NULL;
  return status(bt::tracer_add_gil_wait(cast(tracer), ns));
}

bt_status bt_tracer_set_workers(bt_tracer *tracer, uint32_t workers) {
  if (off()) return BT_OK;
  if (!tracer) return BT_E_NULL;
  return status(bt::tracer_set_workers(cast(tracer), workers));
}

bt_status bt_tracer_set_error(bt_tracer *tracer) {
  if (off()) return BT_OK;
  if (!tracer) return BT_E_NULL;
  return status(bt::tracer_set_error(cast(tracer)));
}

bt_status bt_tracer_finish(bt_tracer *tracer) {
  if (!tracer) return off() ? BT_OK : BT_E_NULL;
  return status(bt::tracer_finish(cast(tracer), bt::config::enabled(), nullptr));
}

bt_status bt_tracer_finish_timing(bt_timing *out, bt_tracer *tracer) {
  if (!tracer || !out) return off() ? BT_OK : BT_E_NULL;
  if (!off() && !bt::shim::size_ok(out)) return BT_E_STRUCT_SIZE;
  bt::Timing done;
  bt::Err e = bt::tracer_finish(cast(tracer), bt::config::enabled(), &done);
  if (e == bt::Err::ok || e == bt::Err::nomem) bt::shim::timing_out(done, out);
  return status(e);
}

void bt_tracer_free(bt_tracer *tracer) { bt::tracer_free(cast(tracer)); }

}  // extern "C"
