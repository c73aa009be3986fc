#include "cpp_impl/tracer.hpp"

#include <pthread.h>

#include <mutex>
#include <new>

#include "cpp_impl/alloc.hpp"
#include "cpp_impl/reentry.hpp"
#include "cpp_impl/test_hooks.hpp"
#include "cpp_impl/timeline.hpp"

namespace bt {

Tracer *inert_tracer() {
  static Tracer inert = [] {
    Tracer t;
    t.set_state(Tracer::kInert);
    return t;
  }();
  return &inert;
}

namespace {

// One spare tracer per thread: an operation's tracer is usually freed on the
// thread that makes the next one, so steady-state tracing skips malloc/free.
// The spare is freed when its thread exits (key destructor) or, for the
// thread that unloads the library, by SpareKey's destructor. It is touched
// only inside a guarded region and never by a nested call (reentry.hpp).
}  // namespace

namespace spare {
__thread Tracer *t_spare __attribute__((tls_model("initial-exec"))) = nullptr;
__thread bool t_spare_registered __attribute__((tls_model("initial-exec"))) = false;
}  // namespace spare

namespace {

using spare::t_spare;
using spare::t_spare_registered;

void free_spare(void *) {
  mem_free(t_spare);
  t_spare = nullptr;
}

// The key goes when the library unloads (a thread exiting later must not
// call a destructor that is no longer mapped); at exit() other threads may
// still be registering, so the mutex orders them with the deletion.
struct SpareKey {
  std::mutex mutex;
  pthread_key_t key;
  bool ok;
  SpareKey() { ok = pthread_key_create(&key, free_spare) == 0; }
  ~SpareKey() {
    free_spare(nullptr);
    std::lock_guard<std::mutex> lock(mutex);
    if (ok) pthread_key_delete(key);
    ok = false;
  }
  // Once per thread: makes the key's destructor free this thread's spare.
  bool register_thread() {
    std::lock_guard<std::mutex> lock(mutex);
    testing::holding_spare_key();  // a test may pause here (test_hooks.hpp); nothing otherwise
    return ok && pthread_setspecific(key, reinterpret_cast<void *>(1)) == 0;
  }
} g_spare_key;

// A fixed reserve of tracers, taken and returned lock-free (one bit each),
// used when the thread's spare is not at hand: so a signal handler gets a
// tracer without malloc while its thread's spare is in use, and a nested
// call never allocates. Plain memory, like malloc's: tracer_new fills it.
constexpr int kReserve = spare::kReserve;
struct alignas(alignof(Tracer)) RawTracer {
  unsigned char bytes[sizeof(Tracer)];
};
}  // namespace

namespace spare {
alignas(alignof(Tracer)) unsigned char g_reserve_bytes[kReserveBytes];
}  // namespace spare

namespace {

RawTracer *const g_reserve = reinterpret_cast<RawTracer *>(spare::g_reserve_bytes);
static_assert(spare::kReserveBytes == kReserve * sizeof(RawTracer), "the reserve holds kReserve tracers");
AtomicWord g_reserve_used{0};  // bit i: g_reserve[i] is handed out
static_assert(kReserve <= 8 * static_cast<int>(sizeof(std::uintptr_t)), "one bit per reserve tracer");

using spare::in_reserve;

Tracer *reserve_take() {
  constexpr std::uintptr_t kAll = kReserve == 64 ? ~std::uintptr_t{0} : (std::uintptr_t{1} << kReserve) - 1;
  for (;;) {
    std::uintptr_t used = g_reserve_used.load_acquire();
    if (used == kAll) return nullptr;
    int i = __builtin_ctzll(~static_cast<unsigned long long>(used));
    if (g_reserve_used.cas(used, used | (std::uintptr_t{1} << i))) return reinterpret_cast<Tracer *>(&g_reserve[i]);
  }
}

void reserve_put(Tracer *tr) {
  const std::uintptr_t bit = std::uintptr_t{1} << (reinterpret_cast<RawTracer *>(tr) - g_reserve);
  for (;;) {
    std::uintptr_t used = g_reserve_used.load_relaxed();
    if (g_reserve_used.cas(used, used & ~bit)) return;
  }
}

// Nested finishes recorded at once, and kept for later (for tests).
AtomicWord g_nested_recorded{0}, g_nested_deferred{0};

// The thread's spare, taken; nullptr when there is none or the call is nested.
Tracer *take_spare() {
  Tracer *tr = nullptr;
  if (reentry::enter() == 0) {
    tr = t_spare;
    t_spare = nullptr;
  }
  reentry::leave();
  return tr;
}

// Gives the thread a spare of its own (malloc's) and registers its key, if
// it has none yet: once per thread, so a thread whose first tracer came from
// the reserve does not keep taking from it.
__attribute__((noinline)) void first_spare() {
  reentry::Guard inside;
  if (!t_spare_registered && g_spare_key.register_thread()) t_spare_registered = true;
  if (t_spare_registered && !t_spare) t_spare = static_cast<Tracer *>(mem_alloc(sizeof(Tracer)));
}

// Returns a tracer the caller is done with to where it came from: the
// reserve (never a spare: spares are freed with free()), the spare, or
// free(). Not for nested calls.
inline __attribute__((always_inline)) void release(Tracer *tr) {
  if (in_reserve(tr)) {
    reserve_put(tr);
    if (__builtin_expect(!t_spare_registered, 0)) first_spare();
    return;
  }
  reentry::Guard inside;
  if (!t_spare) {
    if (!t_spare_registered && g_spare_key.register_thread()) t_spare_registered = true;
    if (t_spare_registered) {
      t_spare = tr;
      return;
    }
  }
  mem_free(tr);
}

void keep_in_timeline(const Tracer *tr) {
  timeline::Finished f;
  f.name = tr->t.op_name;
  f.start = tr->start;
  f.end = tr->start + tr->t.total_ns;  // ticks until recorded
  f.items = tr->t.items;
  f.gil_wait_ns = tr->t.gil_wait_ns;
  f.gil_releases = tr->t.gil_releases;
  f.workers = tr->t.workers;
  f.flags = tr->t.flags;
  f.slices_lost = tr->slices_lost;
  f.slices = tr->slices;
  f.nslices = tr->nslices;
  timeline::keep(f);
  if (tr->op->shared) Metrics::keep_in_flight(tr->op, f);
}

// The record a nested finish left for later (outside any guarded region).
// A failure (out of memory) loses it, as it would any record.
void record_pending(Tracer *tr) {
  tr->record_pending = false;
  if (tr->keep_slices) keep_in_timeline(tr);
  (void)Metrics::record(tr->op, tr->t, clock::ns_per_tick());
}

// The timing in nanoseconds for a finish's caller: phases converted, GIL
// figures derived.
__attribute__((noinline)) void timing_out(const Timing &ticks, uint64_t mult, Timing *out) {
  *out = ticks;
  out->phase_count = phases::count();
  out->total_ns = scale_to_ns(ticks.total_ns, mult);
  for (uint32_t m = ticks.touched; m; m &= m - 1) {
    int p = __builtin_ctz(m);
    out->phase_ns[p] = scale_to_ns(ticks.phase_ns[p], mult);
  }
  derive_gil_figures(*out);
}

}  // namespace

namespace reentry {

__thread State t_state __attribute__((tls_model("initial-exec"))) = {0, 0, nullptr};

void drain() {
  State &s = t_state;
  if (__atomic_load_n(&s.draining, __ATOMIC_RELAXED)) return;  // the drain below takes them
  __atomic_store_n(&s.draining, 1u, __ATOMIC_RELAXED);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  // The list is taken whole with one exchange, atomic against a handler
  // that pushes meanwhile; what it pushes is taken by the next round.
  while (Tracer *tr = __atomic_exchange_n(&s.deferred, static_cast<Tracer *>(nullptr), __ATOMIC_RELAXED)) {
    while (tr) {
      Tracer *next = tr->next_deferred;
      if (tr->record_pending) record_pending(tr);
      release(tr);
      tr = next;
    }
  }
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  __atomic_store_n(&s.draining, 0u, __ATOMIC_RELAXED);
}

}  // namespace reentry

namespace {

// A nested free: a reserve tracer with nothing pending goes straight back
// (lock-free); anything else waits on the thread's deferred list.
void free_nested(Tracer *tr) {
  if (!tr->record_pending && in_reserve(tr)) {
    reserve_put(tr);
    return;
  }
  Tracer *head = __atomic_load_n(&reentry::t_state.deferred, __ATOMIC_RELAXED);
  do {
    tr->next_deferred = head;
  } while (!__atomic_compare_exchange_n(&reentry::t_state.deferred, &head, tr, false, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED));
}

// finish in a nested call (a signal handler interrupted the library on this
// thread, which may hold the locks a record takes): recorded now into a
// shard whose lock is free and storage ready (Metrics::record_nested), else
// kept for the tracer's free and the end of the interrupted code (drain).
// The timeline's lock is never taken here: an operation it keeps waits too.
Err finish_nested(Tracer *tr, Timing *out) {
  const uint64_t mult = clock::ns_per_tick_now();
  const bool calibrated = !clock::is_tsc() || __atomic_load_n(&clock::g_state.mult, __ATOMIC_ACQUIRE) != 0;
  if (tr->keep_slices || !calibrated || Metrics::record_nested(tr->op, tr->t, mult) != Err::ok) {
    tr->record_pending = true;
    g_nested_deferred.fetch_add_relaxed(1);
  } else {
    g_nested_recorded.fetch_add_relaxed(1);
  }
  if (out) timing_out(tr->t, mult, out);
  return Err::ok;
}

}  // namespace

Tracer *tracer_new_slow(Op *op) {
  Tracer *tr = take_spare();
  if (!tr && !(tr = reserve_take())) {
    if (reentry::inside()) return nullptr;  // a nested call never allocates
    if (!(tr = static_cast<Tracer *>(mem_alloc(sizeof(Tracer))))) return nullptr;
  }
  tracer_start(tr, op);
  return tr;
}

void tracer_free_slow(Tracer *tr) {
  if (!tr || tr->state() == Tracer::kInert) return;
  if (__builtin_expect(reentry::inside(), 0)) {
    free_nested(tr);
    return;
  }
  if (__builtin_expect(tr->record_pending, 0)) record_pending(tr);
  release(tr);
}

std::mutex &spare_key_mutex() { return g_spare_key.mutex; }

NestedCounts nested_counts() {
  return NestedCounts{static_cast<uint64_t>(g_nested_recorded.load_relaxed()),
                      static_cast<uint64_t>(g_nested_deferred.load_relaxed()),
                      static_cast<uint64_t>(__builtin_popcountll(g_reserve_used.load_relaxed()))};
}

Err tracer_reserve(Op *op) {
  clock::ns_per_tick();  // calibrates, so no record has to
  Err e = Metrics::reserve(op);
  if (e != Err::ok) return e;
  // A spare tracer, its key registered: the thread's next tracer and its
  // free need neither malloc nor a lock.
  first_spare();
  return t_spare_registered && !t_spare ? Err::nomem : Err::ok;
}

namespace {

void close_slice(Tracer *tr, uint64_t now) {
  if (tr->nslices < kMaxSlices) {
    tr->slices[tr->nslices++].end = now;
  } else {
    ++tr->slices_lost;
  }
}

}  // namespace

Err tracer_begin_general(Tracer *tr, int32_t p) {
  if (!tr->active()) return tr->state() == Tracer::kInert ? Err::ok : Err::finished;
  if (!phases::valid(p)) return Err::unknown_phase;
  if (tr->open() >= 0) return Err::phase_open;
  uint64_t now = clock::ticks();
  count_entry(tr->t, p);
  tr->set_open(p);
  tr->phase_start = now;
  if (tr->keep_slices && tr->nslices < kMaxSlices) tr->slices[tr->nslices] = Slice{p, now, now};
  return Err::ok;
}

Err tracer_end_general(Tracer *tr, int32_t p) {
  if (!tr->active()) return tr->state() == Tracer::kInert ? Err::ok : Err::finished;
  if (!phases::valid(p)) return Err::unknown_phase;
  if (tr->open() != p) return Err::phase_not_open;
  uint64_t now = clock::ticks();
  tr->t.phase_ns[p] += now - tr->phase_start;
  tr->set_open(-1);
  if (tr->keep_slices) close_slice(tr, now);
  return Err::ok;
}

Err derive_gil_figures(Timing &t) {
  uint64_t held, released, covered;
  if (!phases::split_by_gil(t.touched, [&t](int32_t p) { return t.phase_ns[p]; }, &held, &released) ||
      __builtin_add_overflow(held, released, &covered) || covered > t.total_ns)
    return Err::invalid;
  t.gil_held_ns = held;
  t.gil_released_ns = released;
  // The GIL wait falls between phases (where the helpers measure it): it is
  // not unattributed time. A wait measured inside a phase would overlap it,
  // so the rest stops at 0.
  t.unattributed_ns = t.total_ns - covered;
  t.unattributed_ns -= t.unattributed_ns < t.gil_wait_ns ? t.unattributed_ns : t.gil_wait_ns;
  return Err::ok;
}

namespace {

// finish's end when the trace ring keeps the operation or the sink is
// shared: out of line, so the common case stays small.
__attribute__((noinline)) Err finish_kept_or_shared(Tracer *tr, Timing *out) {
  if (__builtin_expect(reentry::inside(), 0)) return finish_nested(tr, out);
  if (tr->keep_slices) keep_in_timeline(tr);
  const uint64_t mult = clock::ns_per_tick();
  Err e = Metrics::record(tr->op, tr->t, mult);
  if (out) timing_out(tr->t, mult, out);
  return e;
}

}  // namespace

Err tracer_finish(Tracer *tr, bool enabled, Timing *out) {
  if (!tr->active()) return tr->state() == Tracer::kInert ? Err::ok : Err::finished;
  if (!enabled) {
    tr->set_state(Tracer::kFinished);
    return Err::ok;
  }
  uint64_t now = clock::ticks();
  tr->t.touched |= builtin_entered(tr->t);
  if (int32_t open = tr->open(); open >= 0) {
    tr->t.phase_ns[open] += now - tr->phase_start;
    tr->t.flags |= kFlagLeftOpen;
    if (tr->keep_slices) close_slice(tr, now);
  }
  tr->gate = Tracer::pack(Tracer::kFinished, -1);
  Timing &t = tr->t;
  t.total_ns = now - tr->start;  // ticks, like the phases, until converted
  if (__builtin_expect(!tr->keep_slices && !tr->op->shared, 1)) {
    // The common case in one guarded region: the test for a nested call is
    // the region's own. (A calibration on the first record runs inside it:
    // a handler that interrupts it is nested and gets an estimate.)
    if (__builtin_expect(reentry::enter() != 0, 0)) {
      reentry::leave();
      return finish_nested(tr, out);
    }
    // Each phase rounds down on its own, so the phases never exceed the
    // total; the GIL figures are derived only when a caller asks for the
    // timing.
    const uint64_t mult = clock::ns_per_tick();
    const Err e = Metrics::record_guarded(tr->op, t, mult);
    reentry::leave();
    if (__builtin_expect(out != nullptr, 0)) timing_out(t, mult, out);
    return e;
  }
  return finish_kept_or_shared(tr, out);
}

}  // namespace bt
