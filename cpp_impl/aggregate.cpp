#include "cpp_impl/aggregate.hpp"

#include <new>
#include <utility>

#include "cpp_impl/alloc.hpp"
#include "cpp_impl/phase_table.hpp"

namespace bt {

namespace {

Dist *new_dist() {
  void *p = mem_calloc(1, sizeof(Dist));
  return p ? new (p) Dist() : nullptr;
}

void delete_dist(Dist *d) {
  if (!d) return;
  d->~Dist();
  mem_free(d);
}

}  // namespace

void Dist::fold_scalars(const Dist &o) {
  count += o.count;
  entries += o.entries;
  sum += o.sum;
  if (o.min < min) min = o.min;
  if (o.max > max) max = o.max;
}

bool Dist::merge(const Dist &o) {
  if (!hist.merge(o.hist)) return false;
  fold_scalars(o);
  return true;
}

void Dist::absorb(Dist &o) {
  hist.absorb(o.hist);
  fold_scalars(o);
  o.count = o.entries = o.sum = o.max = 0;
  o.min = UINT64_MAX;
  o.hist.clear();
}

void Dist::clear() {
  count = entries = sum = max = 0;
  min = UINT64_MAX;
  hist.clear();
}

OpAgg::~OpAgg() {
  for (auto *&d : phases_) {
    delete_dist(d);
    d = nullptr;
  }
}

bool OpAgg::reserve(const Timing &t, int total_bucket, const int *phase_buckets) {
  if (!total.hist.reserve(total_bucket)) return false;
  for (uint32_t m = t.touched; m; m &= m - 1) {
    int p = __builtin_ctz(m);
    if (!phases_[p] && !(phases_[p] = new_dist())) return false;
    if (!phases_[p]->hist.reserve(phase_buckets[p])) return false;
  }
  return true;
}

bool OpAgg::record(const Timing &t) {
  // Buckets are computed once; storage is checked first and allocated only
  // on the rare slow path, so a failure leaves every figure untouched.
  int total_bucket = Histogram::bucket_of(t.total_ns);
  int phase_buckets[kMaxPhases];
  bool ready = total.hist.has(total_bucket);
  for (uint32_t m = t.touched; m; m &= m - 1) {
    int p = __builtin_ctz(m);
    phase_buckets[p] = Histogram::bucket_of(t.phase_ns[p]);
    ready = ready && phases_[p] && phases_[p]->hist.has(phase_buckets[p]);
  }
  if (!ready && !reserve(t, total_bucket, phase_buckets)) return false;

  ++count;
  if (t.flags & kFlagError) ++errors;
  if (t.flags & kFlagLeftOpen) ++left_open;
  items += t.items;
  gil_wait_ns += t.gil_wait_ns;
  gil_releases += t.gil_releases;
  if (t.workers > 1) ++parallel_ops;
  if (t.workers > workers_max) workers_max = t.workers;
  total.add(t.total_ns, total_bucket, 1);
  for (uint32_t m = t.touched; m; m &= m - 1) {
    int p = __builtin_ctz(m);
    phases_[p]->add(t.phase_ns[p], phase_buckets[p], t.phase_entries[p]);
  }
  return true;
}

void OpAgg::fold_scalars(const OpAgg &o) {
  count += o.count;
  errors += o.errors;
  left_open += o.left_open;
  items += o.items;
  gil_wait_ns += o.gil_wait_ns;
  gil_releases += o.gil_releases;
  parallel_ops += o.parallel_ops;
  if (o.workers_max > workers_max) workers_max = o.workers_max;
}

bool OpAgg::merge(const OpAgg &o) {
  // Allocate first (phase slots), so failure leaves this unchanged except for
  // empty phase slots, which hold no figures.
  for (int p = 0; p < kMaxPhases; ++p) {
    if (o.phases_[p] && !phases_[p] && !(phases_[p] = new_dist())) return false;
  }
  // Histogram merges allocate chunk by chunk; check them all before adding.
  OpAgg staged;  // collects the chunks this one lacks, then is absorbed
  if (!staged.total.hist.merge(o.total.hist)) return false;
  for (int p = 0; p < kMaxPhases; ++p) {
    if (!o.phases_[p]) continue;
    if (!(staged.phases_[p] = new_dist()) || !staged.phases_[p]->hist.merge(o.phases_[p]->hist))
      return false;
  }
  // No allocation from here on.
  total.hist.absorb(staged.total.hist);
  total.fold_scalars(o.total);
  for (int p = 0; p < kMaxPhases; ++p) {
    if (!o.phases_[p]) continue;
    phases_[p]->hist.absorb(staged.phases_[p]->hist);
    phases_[p]->fold_scalars(*o.phases_[p]);
  }
  fold_scalars(o);
  return true;
}

void OpAgg::absorb(OpAgg &o) {
  total.absorb(o.total);
  for (int p = 0; p < kMaxPhases; ++p) {
    if (!o.phases_[p]) continue;
    if (!phases_[p]) {
      phases_[p] = o.phases_[p];
      o.phases_[p] = nullptr;
    } else {
      phases_[p]->absorb(*o.phases_[p]);
    }
  }
  fold_scalars(o);
  o.count = o.errors = o.left_open = o.items = 0;
  o.gil_held_ns = o.gil_released_ns = o.gil_wait_ns = o.unattributed_ns = 0;
  o.gil_releases = o.parallel_ops = 0;
  o.workers_max = 0;
}

void OpAgg::derive_gil() {
  uint64_t held = 0, released = 0;
  for (int p = 0; p < kMaxPhases; ++p) {
    if (phases_[p]) (phases::gil_held(p) ? held : released) += phases_[p]->sum;
  }
  gil_held_ns = held;
  gil_released_ns = released;
  // Each record's phases fit in its total, so their sums do too.
  unattributed_ns = total.sum >= held + released ? total.sum - held - released : 0;
}

void OpAgg::clear() {
  count = errors = left_open = items = 0;
  gil_held_ns = gil_released_ns = gil_wait_ns = unattributed_ns = 0;
  gil_releases = parallel_ops = 0;
  workers_max = 0;
  total.clear();
  for (auto *d : phases_) {
    if (d) d->clear();
  }
}

}  // namespace bt
