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
static_assert(BT_TIMING_ERROR == bt::kFlagError && BT_TIMING_PHASE_LEFT_OPEN == bt::kFlagLeftOpen,
              "timing flags agree with the core");

#define BT_SHIM_SAME_(name, value, msg) static_assert(static_cast<int>(name) == value, #name);
BT_STATUS_MAP(BT_SHIM_SAME_)
#undef BT_SHIM_SAME_
static_assert(static_cast<int>(bt::Err::io) == BT_E_IO, "core codes agree with bt_status");

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
