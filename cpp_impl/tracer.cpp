#include "cpp_impl/tracer.hpp"

#include <pthread.h>

#include <mutex>
#include <new>

#include "cpp_impl/alloc.hpp"
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
// thread that unloads the library, by SpareKey's destructor.
__thread Tracer *t_spare __attribute__((tls_model("initial-exec"))) = nullptr;
__thread bool t_spare_registered __attribute__((tls_model("initial-exec"))) = false;

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
    return ok && pthread_setspecific(key, reinterpret_cast<void *>(1)) == 0;
  }
} g_spare_key;

}  // namespace

Tracer *tracer_new(Op *op) {
  Tracer *tr = t_spare;
  if (tr) {
    t_spare = nullptr;
  } else if (!(tr = static_cast<Tracer *>(mem_alloc(sizeof(Tracer))))) {
    return nullptr;
  }
  // Timing's phase arrays stay uninitialised: a slot is zeroed when its phase
  // is first entered (Timing::touched), which keeps creation cheap.
  tr->keep_slices = timeline::active();
  tr->gate = Tracer::pack(tr->keep_slices || !clock::is_tsc() ? Tracer::kGeneral : Tracer::kFast, -1);
  tr->op = op;
  tr->t.op_name = op->name;
  tr->t.total_ns = tr->t.unattributed_ns = tr->t.gil_held_ns = tr->t.gil_released_ns = 0;
  tr->t.gil_wait_ns = tr->t.items = 0;
  tr->t.gil_releases = tr->t.workers = tr->t.flags = tr->t.phase_count = tr->t.touched = 0;
  tr->nslices = tr->slices_lost = 0;
  tr->start = clock::ticks();
  return tr;
}

void tracer_free(Tracer *tr) {
  if (!tr || tr->state() == Tracer::kInert) return;
  if (!t_spare) {
    if (!t_spare_registered && g_spare_key.register_thread()) t_spare_registered = true;
    if (t_spare_registered) {
      t_spare = tr;
      return;
    }
  }
  mem_free(tr);
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
  t.unattributed_ns = t.total_ns - covered;
  return Err::ok;
}

Err tracer_finish(Tracer *tr, bool enabled, Timing *out) {
  if (!tr->active()) return tr->state() == Tracer::kInert ? Err::ok : Err::finished;
  if (!enabled) {
    tr->set_state(Tracer::kFinished);
    return Err::ok;
  }
  uint64_t now = clock::ticks();
  if (int32_t open = tr->open(); open >= 0) {
    tr->t.phase_ns[open] += now - tr->phase_start;
    tr->t.flags |= kFlagLeftOpen;
    if (tr->keep_slices) close_slice(tr, now);
  }
  tr->gate = Tracer::pack(Tracer::kFinished, -1);
  Timing &t = tr->t;
  t.total_ns = now - tr->start;  // ticks, like the phases, until converted
  if (tr->keep_slices) {
    timeline::Finished f;
    f.name = t.op_name;
    f.start = tr->start;
    f.end = now;
    f.items = t.items;
    f.gil_wait_ns = t.gil_wait_ns;
    f.gil_releases = t.gil_releases;
    f.workers = t.workers;
    f.flags = t.flags;
    f.slices_lost = tr->slices_lost;
    f.slices = tr->slices;
    f.nslices = tr->nslices;
    timeline::keep(f);
  }
  // Each phase rounds down on its own, so the phases never exceed the total;
  // the GIL figures are derived only when a caller asks for the timing.
  const uint64_t mult = clock::ns_per_tick();
  Err e = Metrics::record(tr->op, t, mult);
  if (out) {
    t.phase_count = phases::count();
    t.total_ns = scale_to_ns(t.total_ns, mult);
    for (uint32_t m = t.touched; m; m &= m - 1) {
      int p = __builtin_ctz(m);
      t.phase_ns[p] = scale_to_ns(t.phase_ns[p], mult);
    }
    derive_gil_figures(t);
    *out = t;
  }
  return e;
}

}  // namespace bt
