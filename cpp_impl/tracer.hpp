// One operation in flight. The hot calls (phase begin/end) are inline: a state
// check, a table bound check, one clock read and a few stores.
// While tracing, Timing::phase_ns holds ticks; finish converts to nanoseconds.
#pragma once
#include <cstdint>

#include "cpp_impl/clock.hpp"
#include "cpp_impl/metrics.hpp"
#include "cpp_impl/phase_table.hpp"
#include "cpp_impl/status.hpp"
#include "cpp_impl/timing.hpp"

namespace bt {

// One phase entry, kept only while the trace ring is on (trace_ring.hpp).
struct Slice {
  int32_t phase;
  uint64_t begin, end;  // ticks
};
constexpr uint32_t kMaxSlices = 64;  // per operation; more are counted as lost

struct Tracer {
  enum State : uint32_t { kActive = 0, kFinished = 1, kInert = 2 };
  State state = kActive;
  int32_t open = -1;  // the open phase, or -1
  Op *op = nullptr;
  uint64_t start = 0;        // ticks
  uint64_t phase_start = 0;  // ticks
  Timing t;
  bool keep_slices = false;  // the trace ring was on when the tracer started
  uint32_t nslices = 0;
  uint32_t slices_lost = 0;
  Slice slices[kMaxSlices];
};

// The tracer handed out while disabled; every call on it returns ok.
Tracer *inert_tracer();

// Allocates a tracer for `op` and starts its clock; nullptr when out of memory.
Tracer *tracer_new(Op *op);
void tracer_free(Tracer *tr);

inline void close_slice(Tracer *tr, uint64_t now) {
  if (tr->nslices < kMaxSlices) {
    tr->slices[tr->nslices++].end = now;
  } else {
    ++tr->slices_lost;
  }
}

// Calls on a finished tracer fail with Err::finished; on the inert tracer
// (handed out while the library is disabled) they succeed and do nothing.
inline Err tracer_begin(Tracer *tr, int32_t p) {
  if (tr->state != Tracer::kActive) return tr->state == Tracer::kInert ? Err::ok : Err::finished;
  if (!phases::valid(p)) return Err::unknown_phase;
  if (tr->open >= 0) return Err::phase_open;
  uint64_t now = clock::ticks();
  uint32_t bit = 1u << p;
  if (!(tr->t.touched & bit)) {
    tr->t.touched |= bit;
    tr->t.phase_ns[p] = 0;
    tr->t.phase_entries[p] = 0;
  }
  ++tr->t.phase_entries[p];
  tr->open = p;
  tr->phase_start = now;
  if (tr->keep_slices && tr->nslices < kMaxSlices) tr->slices[tr->nslices] = Slice{p, now, now};
  return Err::ok;
}

inline Err tracer_end(Tracer *tr, int32_t p) {
  if (tr->state != Tracer::kActive) return tr->state == Tracer::kInert ? Err::ok : Err::finished;
  if (!phases::valid(p)) return Err::unknown_phase;
  if (tr->open != p) return Err::phase_not_open;
  uint64_t now = clock::ticks();
  tr->t.phase_ns[p] += now - tr->phase_start;
  tr->open = -1;
  if (tr->keep_slices) close_slice(tr, now);
  return Err::ok;
}

// Adds to a counter of an active tracer: `f` gets the Timing.
template <typename F>
inline Err tracer_update(Tracer *tr, F f) {
  if (tr->state != Tracer::kActive) return tr->state == Tracer::kInert ? Err::ok : Err::finished;
  f(tr->t);
  return Err::ok;
}

// Stops the clock, closes an open phase, derives the GIL figures and records.
// The tracer is finished afterwards even when recording fails (Err::nomem).
Err tracer_finish(Tracer *tr);

// Derives gil_held_ns, gil_released_ns, unattributed_ns from the phase times.
// Err::invalid when the phases add up to more than total_ns.
Err derive_gil_figures(Timing &t);

}  // namespace bt
