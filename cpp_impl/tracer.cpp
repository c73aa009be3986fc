#include "cpp_impl/tracer.hpp"

#include <new>

#include "cpp_impl/alloc.hpp"

namespace bt {

Tracer *inert_tracer() {
  static Tracer inert = [] {
    Tracer t;
    t.state = Tracer::kInert;
    return t;
  }();
  return &inert;
}

Tracer *tracer_new(Op *op) {
  void *p = mem_alloc(sizeof(Tracer));
  if (!p) return nullptr;
  // Timing's phase arrays stay uninitialised: a slot is zeroed when its phase
  // is first entered (Timing::touched), which keeps creation cheap.
  auto *tr = static_cast<Tracer *>(p);
  tr->state = Tracer::kActive;
  tr->open = -1;
  tr->op = op;
  tr->t.op_name = op->name;
  tr->t.total_ns = tr->t.unattributed_ns = tr->t.gil_held_ns = tr->t.gil_released_ns = 0;
  tr->t.gil_wait_ns = tr->t.items = 0;
  tr->t.gil_releases = tr->t.workers = tr->t.flags = tr->t.phase_count = tr->t.touched = 0;
  tr->start = clock::ticks();
  return tr;
}

void tracer_free(Tracer *tr) {
  if (tr && tr->state != Tracer::kInert) mem_free(tr);
}

Err derive_gil_figures(Timing &t) {
  uint64_t held = 0, released = 0;
  for (uint32_t m = t.touched; m; m &= m - 1) {
    int p = __builtin_ctz(m);
    uint64_t &sum = phases::gil_held(p) ? held : released;
    if (__builtin_add_overflow(sum, t.phase_ns[p], &sum)) return Err::invalid;
  }
  uint64_t covered;
  if (__builtin_add_overflow(held, released, &covered) || covered > t.total_ns) return Err::invalid;
  t.gil_held_ns = held;
  t.gil_released_ns = released;
  t.unattributed_ns = t.total_ns - held - released;
  return Err::ok;
}

Err tracer_finish(Tracer *tr) {
  if (tr->state != Tracer::kActive) return tr->state == Tracer::kInert ? Err::ok : Err::finished;
  uint64_t now = clock::ticks();
  if (tr->open >= 0) {
    tr->t.phase_ns[tr->open] += now - tr->phase_start;
    tr->open = -1;
    tr->t.flags |= kFlagLeftOpen;
  }
  tr->state = Tracer::kFinished;
  Timing &t = tr->t;
  t.total_ns = clock::to_ns(now - tr->start);
  for (uint32_t m = t.touched; m; m &= m - 1) {
    int p = __builtin_ctz(m);
    t.phase_ns[p] = clock::to_ns(t.phase_ns[p]);
  }
  t.phase_count = phases::count();
  // Each phase rounds down on its own, so the phases never exceed the total.
  derive_gil_figures(t);
  return Metrics::record(tr->op, t);
}

}  // namespace bt
