// Shared plumbing of the extern "C" shim: handle casts, status mapping,
// struct_size checks and snprintf-style copies. Only capi/src includes it.
#pragma once
#include <cstring>
#include <new>
#include <string>

#include "boundarytrace/bt.h"
#include "cpp_impl/limits.hpp"
#include "cpp_impl/metrics.hpp"
#include "cpp_impl/snapshot.hpp"
#include "cpp_impl/status.hpp"
#include "cpp_impl/tracer.hpp"

static_assert(BT_MAX_PHASES == bt::kMaxPhases, "phase limit agrees with the core");
static_assert(BT_NAME_MAX == bt::kNameMax, "name limit agrees with the core");
static_assert(BT_MAX_OPS == bt::kMaxOps, "op limit agrees with the core");
static_assert(BT_PHASE_TOTAL == bt::kDistTotal && BT_PHASE_GIL_WAIT == bt::kDistWait, "pseudo-phases agree with the core");
static_assert(BT_TIMING_ERROR == bt::kFlagError && BT_TIMING_PHASE_LEFT_OPEN == bt::kFlagLeftOpen,
              "timing flags agree with the core");

// Every bt_status and the core code that maps onto it (status() is a cast).
#define BT_SHIM_PAIRS_(X)                                                              \
  X(BT_OK, ok) X(BT_E_NULL, null) X(BT_E_INVALID, invalid) X(BT_E_NAME, name)           \
  X(BT_E_UNKNOWN_PHASE, unknown_phase) X(BT_E_PHASE_OPEN, phase_open)                   \
  X(BT_E_PHASE_NOT_OPEN, phase_not_open) X(BT_E_FINISHED, finished)                     \
  X(BT_E_STRUCT_SIZE, struct_size) X(BT_E_NOMEM, nomem) X(BT_E_FULL, full)              \
  X(BT_E_CONFLICT, conflict) X(BT_E_NOT_FOUND, not_found) X(BT_E_INTERNAL, internal)    \
  X(BT_E_IO, io)
#define BT_SHIM_AGREE_(status, err) \
  static_assert(static_cast<int>(bt::Err::err) == static_cast<int>(status), #status " is bt::Err::" #err);
BT_SHIM_PAIRS_(BT_SHIM_AGREE_)
#define BT_SHIM_ONE_(...) +1
static_assert(0 BT_STATUS_MAP(BT_SHIM_ONE_) == 0 BT_SHIM_PAIRS_(BT_SHIM_ONE_),
              "every bt_status has its core code above");
#undef BT_SHIM_ONE_
#undef BT_SHIM_AGREE_
#undef BT_SHIM_PAIRS_

namespace bt {
namespace shim {

inline bt_status status(Err e) { return static_cast<bt_status>(static_cast<int>(e)); }

inline Tracer *cast(bt_tracer *t) { return reinterpret_cast<Tracer *>(t); }
inline bt_tracer *cast(Tracer *t) { return reinterpret_cast<bt_tracer *>(t); }
inline Op *cast(bt_op *o) { return reinterpret_cast<Op *>(o); }
inline const Op *cast(const bt_op *o) { return reinterpret_cast<const Op *>(o); }
inline bt_op *cast(Op *o) { return reinterpret_cast<bt_op *>(o); }
inline const Snapshot *cast(const bt_snapshot *s) { return reinterpret_cast<const Snapshot *>(s); }
inline Snapshot *cast(bt_snapshot *s) { return reinterpret_cast<Snapshot *>(s); }
inline bt_snapshot *cast(Snapshot *s) { return reinterpret_cast<bt_snapshot *>(s); }

// NULL means the process-wide sink. bt_metrics_global() hands out the
// address of the core's global Metrics, so the cast is the identity.
inline Metrics *metrics_of(bt_metrics *m) {
  return m ? reinterpret_cast<Metrics *>(m) : &Metrics::global();
}

// Copies a fully built result into a caller struct of `struct_size` bytes,
// keeping the caller's struct_size; the caller checked the size already.
template <typename T>
void copy_out(const T &full, T *out) {
  std::size_t n = out->struct_size < sizeof(T) ? out->struct_size : sizeof(T);
  std::memcpy(reinterpret_cast<char *>(out) + sizeof(std::size_t),
              reinterpret_cast<const char *>(&full) + sizeof(std::size_t), n - sizeof(std::size_t));
}

template <typename T>
bool size_ok(const T *p) {
  return p->struct_size >= sizeof(T);  // the first published version is the current one
}

// The one conversion from the core's Timing (nanoseconds) to bt_timing:
// phases never entered read as zero. Writes out's first struct_size bytes.
inline void timing_out(const Timing &t, bt_timing *out) {
  bt_timing full{};
  full.struct_size = sizeof full;
  full.op_name = t.op_name;
  full.total_ns = t.total_ns;
  full.unattributed_ns = t.unattributed_ns;
  full.gil_held_ns = t.gil_held_ns;
  full.gil_released_ns = t.gil_released_ns;
  full.gil_wait_ns = t.gil_wait_ns;
  full.items = t.items;
  full.gil_releases = t.gil_releases;
  full.workers = t.workers;
  full.flags = t.flags;
  full.phase_count = t.phase_count;
  for (uint32_t m = t.touched; m; m &= m - 1) {
    int p = __builtin_ctz(m);
    full.phase_ns[p] = t.phase_ns[p];
    full.phase_entries[p] = t.phase_entries[p];
  }
  copy_out(full, out);
}

// The one conversion from bt_timing to the core's Timing: every field, and
// the first `nphases` phase slots (a slot with time or entries is marked
// entered). The caller checked struct_size.
inline Timing timing_in(const bt_timing &in, uint32_t nphases) {
  Timing t;
  t.op_name = in.op_name;
  t.total_ns = in.total_ns;
  t.unattributed_ns = in.unattributed_ns;
  t.gil_held_ns = in.gil_held_ns;
  t.gil_released_ns = in.gil_released_ns;
  t.gil_wait_ns = in.gil_wait_ns;
  t.items = in.items;
  t.gil_releases = in.gil_releases;
  t.workers = in.workers;
  t.flags = in.flags;
  t.phase_count = nphases;
  for (uint32_t p = 0; p < nphases; ++p) {
    const uint64_t ns = in.phase_ns[p];
    const uint32_t entries = in.phase_entries[p];
    if ((ns | entries) == 0) continue;
    t.touched |= 1u << p;
    t.phase_ns[p] = ns;
    t.phase_entries[p] = entries;
  }
  return t;
}

// snprintf semantics over a finished string.
inline bt_status copy_text(const std::string &text, char *buf, std::size_t cap, std::size_t *needed) {
  if (cap > 0) {
    std::size_t n = text.size() < cap - 1 ? text.size() : cap - 1;
    std::memcpy(buf, text.data(), n);
    buf[n] = '\0';
  }
  *needed = text.size();
  return BT_OK;
}

}  // namespace shim
}  // namespace bt

// Every entry point that can allocate runs its body inside this, so no C++
// exception ever crosses the C boundary.
#define BT_SHIM_TRY try {
#define BT_SHIM_CATCH                     \
  }                                       \
  catch (const std::bad_alloc &) {        \
    return BT_E_NOMEM;                    \
  }                                       \
  catch (...) {                           \
    return BT_E_INTERNAL;                 \
  }
