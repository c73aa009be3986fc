// One operation in flight. The hot calls (phase begin/end) are inline: one
// compare of the state word, a table bound check, one clock read and a few
// stores; every other case goes out of line.
// While tracing, Timing::phase_ns holds ticks; finish converts to nanoseconds.
#pragma once
#include <cstddef>
#include <cstdint>
#include <mutex>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "cpp_impl/clock.hpp"
#include "cpp_impl/metrics.hpp"
#include "cpp_impl/phase_table.hpp"
#include "cpp_impl/reentry.hpp"
#include "cpp_impl/status.hpp"
#include "cpp_impl/timing.hpp"
#include "cpp_impl/timeline.hpp"

namespace bt {

using timeline::kMaxSlices;
using timeline::Slice;

struct Tracer {
  // kFast: active, TSC clock, trace ring off, so phase calls take the inline
  // path. kGeneral: active, but the OS clock or the trace ring is in use, so
  // phase calls take the out-of-line path.
  enum State : uint32_t { kFast = 0, kGeneral = 1, kFinished = 2, kInert = 3 };
  static constexpr uint64_t pack(State s, int32_t open) {
    return static_cast<uint64_t>(static_cast<uint32_t>(open)) << 32 | s;
  }
  // The state (low half) and the open phase (high half, -1 = none) in one
  // word, so an inline call checks both with one compare.
  uint64_t gate = pack(kFast, -1);
  Op *op = nullptr;
  uint64_t start = 0;        // ticks
  uint64_t phase_start = 0;  // ticks
  Timing t;
  bool keep_slices = false;  // the trace ring was on when the tracer started
  // Finished by a nested call (reentry.hpp): the record is made when the
  // tracer is freed outside a guarded region, or by the drain after it.
  bool record_pending = false;
  Tracer *next_deferred = nullptr;  // the thread's deferred list (reentry.hpp)
  uint32_t nslices = 0;
  uint32_t slices_lost = 0;
  Slice slices[kMaxSlices];

  State state() const { return static_cast<State>(static_cast<uint32_t>(gate)); }
  int32_t open() const { return static_cast<int32_t>(gate >> 32); }
  bool active() const { return state() <= kGeneral; }
  void set_state(State s) { gate = pack(s, open()); }
  void set_open(int32_t p) { gate = pack(state(), p); }
};

// The tracer handed out while disabled; every call on it returns ok.
Tracer *inert_tracer();

// Where tracers come from (tracer.cpp): the thread's spare, else a fixed
// reserve, else malloc. The spare is touched only inside a guarded region
// and never by a nested call (reentry.hpp).
namespace spare {
constexpr int kReserve = 32;
constexpr std::size_t kReserveBytes = kReserve * sizeof(Tracer);
extern __thread Tracer *t_spare __attribute__((tls_model("initial-exec")));
// The thread's key is registered: its spare is freed when it exits.
extern __thread bool t_spare_registered __attribute__((tls_model("initial-exec")));
extern unsigned char g_reserve_bytes[kReserveBytes];
inline bool in_reserve(const Tracer *tr) {
  return reinterpret_cast<std::uintptr_t>(tr) - reinterpret_cast<std::uintptr_t>(g_reserve_bytes) < kReserveBytes;
}
}  // namespace spare

// Starts `tr` (fresh memory or a used tracer) for `op`. The built-in
// phases' slots are zeroed here (a few wide stores), so their entries need
// no first-entry test; a registered phase's slot is zeroed when it is first
// entered (Timing::touched), which keeps creation cheap.
inline void tracer_start(Tracer *tr, Op *op) {
  tr->keep_slices = timeline::active();
  tr->record_pending = false;
  tr->gate = Tracer::pack(tr->keep_slices || !clock::is_tsc() ? Tracer::kGeneral : Tracer::kFast, -1);
  tr->op = op;
  tr->t.op_name = op->name;
  tr->t.total_ns = tr->t.unattributed_ns = tr->t.gil_held_ns = tr->t.gil_released_ns = 0;
  tr->t.gil_wait_ns = tr->t.items = 0;
  tr->t.gil_releases = tr->t.workers = tr->t.flags = tr->t.phase_count = tr->t.touched = 0;
  tr->nslices = tr->slices_lost = 0;
  for (uint32_t p = 0; p < phases::kBuiltin; ++p) {
    tr->t.phase_ns[p] = 0;
    tr->t.phase_entries[p] = 0;
  }
  tr->start = clock::ticks();
}

// Every case of tracer_new and tracer_free (tracer.cpp).
Tracer *tracer_new_slow(Op *op);
void tracer_free_slow(Tracer *tr);

// Allocates a tracer for `op` and starts its clock; nullptr when out of memory.
// The memory is the thread's spare tracer, else one of a fixed reserve
// (lock-free), else malloc's, except in a nested call (reentry.hpp), which
// never allocates: there nullptr means the reserve is used up. Inline for
// the common case, the spare at hand: no call.
inline Tracer *tracer_new(Op *op) {
  Tracer *tr = nullptr;
  if (__builtin_expect(reentry::enter() == 0, 1)) {
    tr = spare::t_spare;
    spare::t_spare = nullptr;
  }
  reentry::leave();
  if (__builtin_expect(!tr, 0)) return tracer_new_slow(op);
  tracer_start(tr, op);
  return tr;
}

// Inline for the common case: an active or finished tracer, nothing left
// to record, becomes the thread's spare (the thread has none).
inline void tracer_free(Tracer *tr) {
  if (__builtin_expect(tr != nullptr && !tr->record_pending && !spare::in_reserve(tr), 1)) {
    bool kept = false;
    if (__builtin_expect(reentry::enter() == 0, 1) && tr->state() != Tracer::kInert && !spare::t_spare &&
        spare::t_spare_registered) {
      spare::t_spare = tr;
      kept = true;
    }
    reentry::leave();
    if (__builtin_expect(kept, 1)) return;
  }
  tracer_free_slow(tr);
}

// Every case of begin and end, with every check: the inline calls below
// handle only a valid call on a kFast tracer and hand the rest here.
Err tracer_begin_general(Tracer *tr, int32_t p);
Err tracer_end_general(Tracer *tr, int32_t p);

// Calls on a finished tracer fail with Err::finished; on the inert tracer
// (handed out while the library is disabled) they succeed and do nothing.
// Counts an entry of phase p, zeroing its slots on the first one (a Timing's
// slots of registered phases stay uninitialised until then, which keeps
// creation cheap).
inline void count_entry(Timing &t, int32_t p) {
  uint32_t bit = 1u << p;
  if (!(t.touched & bit)) {
    t.touched |= bit;
    t.phase_ns[p] = 0;
    t.phase_entries[p] = 0;
  }
  ++t.phase_entries[p];
}

// tracer_new zeroes the built-in phases' slots, so an entry of one only
// counts: its bit in Timing::touched is set at finish, from its entries
// (builtin_entered), once for the four phases instead of on every begin.
inline void count_builtin_entry(Timing &t, int32_t p) { ++t.phase_entries[p]; }

// The built-in phases entered, as Timing::touched bits: those with entries
// (their slots were zeroed by tracer_start).
inline uint32_t builtin_entered(const Timing &t) {
  static_assert(phases::kBuiltin == 4, "one 128-bit compare covers the built-in phases' entries");
#if defined(__SSE2__)
  const __m128i e = _mm_loadu_si128(reinterpret_cast<const __m128i *>(t.phase_entries));
  const __m128i none = _mm_cmpeq_epi32(e, _mm_setzero_si128());
  return ~static_cast<uint32_t>(_mm_movemask_ps(_mm_castsi128_ps(none))) & 0xFu;
#else
  uint32_t m = 0;
  for (uint32_t p = 0; p < phases::kBuiltin; ++p) m |= static_cast<uint32_t>(t.phase_entries[p] != 0) << p;
  return m;
#endif
}

// The fast paths: a valid begin or end on a kFast tracer, done here; false
// hands the call, untouched, to the general one. They never fail, so the
// caller need not check the run-time switch first (see bt_phase_begin).
inline bool tracer_begin_fast(Tracer *tr, int32_t p) {
  if (__builtin_expect(tr->gate == Tracer::pack(Tracer::kFast, -1), 1)) {
    // A built-in phase needs no look at the phase table.
    if (__builtin_expect(phases::builtin(p), 1)) {
      uint64_t now = clock::tsc_ticks();  // kFast: the clock is the TSC
      count_builtin_entry(tr->t, p);
      tr->phase_start = now;
      tr->gate = Tracer::pack(Tracer::kFast, p);
      return true;
    }
    if (phases::valid(p)) {
      uint64_t now = clock::tsc_ticks();
      count_entry(tr->t, p);
      tr->phase_start = now;
      tr->gate = Tracer::pack(Tracer::kFast, p);
      return true;
    }
  }
  return false;
}

inline bool tracer_end_fast(Tracer *tr, int32_t p) {
  // p is in range (its phase was valid when it began) and open on a kFast tracer.
  if (__builtin_expect(p >= 0 && tr->gate == Tracer::pack(Tracer::kFast, p), 1)) {
    tr->t.phase_ns[p] += clock::tsc_ticks() - tr->phase_start;
    tr->gate = Tracer::pack(Tracer::kFast, -1);
    return true;
  }
  return false;
}

// Adds to a counter of an active tracer: `f` gets the Timing.
template <typename F>
inline Err tracer_update(Tracer *tr, F f) {
  if (!tr->active()) return tr->state() == Tracer::kInert ? Err::ok : Err::finished;
  f(tr->t);
  return Err::ok;
}

// The counters of an active tracer (bt_tracer_add_* / bt_tracer_set_*).
// Counts saturate at 2^64 - 1 rather than wrap (see sat_add in aggregate.hpp).
inline Err tracer_add_items(Tracer *tr, uint64_t n) {
  return tracer_update(tr, [n](Timing &t) {
    if (__builtin_add_overflow(t.items, n, &t.items)) t.items = UINT64_MAX;
  });
}
inline Err tracer_add_gil_release(Tracer *tr) {
  return tracer_update(tr, [](Timing &t) { ++t.gil_releases; });
}
inline Err tracer_add_gil_wait(Tracer *tr, uint64_t ns) {
  return tracer_update(tr, [ns](Timing &t) {
    if (__builtin_add_overflow(t.gil_wait_ns, ns, &t.gil_wait_ns)) t.gil_wait_ns = UINT64_MAX;
  });
}
// The largest count reported wins.
inline Err tracer_set_workers(Tracer *tr, uint32_t workers) {
  return tracer_update(tr, [workers](Timing &t) {
    if (workers > t.workers) t.workers = workers;
  });
}
inline Err tracer_set_error(Tracer *tr) {
  return tracer_update(tr, [](Timing &t) { t.flags |= kFlagError; });
}

// The whole lifecycle of finish: stops the clock, closes an open phase and
// records into the tracer's sink. The tracer is finished afterwards even when
// recording fails (Err::nomem).
//  - the inert tracer: Err::ok, nothing recorded;
//  - a finished tracer: Err::finished;
//  - recording switched off (`enabled` false): finished without a record, so
//    a later switch-on cannot record a half-traced operation; Err::ok.
// `out` (may be null) receives the timing in nanoseconds with the GIL
// figures derived, only when the operation was recorded or dropped (ok or
// nomem); otherwise it is left as it was (its op_name stays null).
// In a nested call (reentry.hpp) the record waits for the tracer's free and
// the end of the interrupted region; finish answers ok.
Err tracer_finish(Tracer *tr, bool enabled, Timing *out);

// Makes the calling thread ready to record `op` without allocating
// (bt_op_reserve): its writer slot, its shard of `op` with storage for every
// registered phase and every duration, the clock's calibration.
Err tracer_reserve(Op *op);

// Held while a thread registers its spare tracer's key (its first free);
// fork_guard.cpp takes it too. Nothing else is taken under it.
std::mutex &spare_key_mutex();

// For tests (test_hooks.cpp): finishes in nested calls, recorded at once or
// kept for later, and the reserve's tracers handed out now.
struct NestedCounts {
  uint64_t recorded, deferred, reserve_in_use;
};
NestedCounts nested_counts();

// Derives gil_held_ns, gil_released_ns, unattributed_ns from the phase times.
// Err::invalid when the phases add up to more than total_ns.
Err derive_gil_figures(Timing &t);

}  // namespace bt
