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
  saturated |= sat_add(entries, o.entries) | sat_add(sum, o.sum) | o.saturated;
  if (o.min < min) min = o.min;
  if (o.max > max) max = o.max;
}

void Dist::swap(Dist &o) {
  std::swap(count, o.count);
  std::swap(entries, o.entries);
  std::swap(sum, o.sum);
  std::swap(min, o.min);
  std::swap(max, o.max);
  std::swap(saturated, o.saturated);
  hist.swap(o.hist);
}

void Dist::clear() {
  count = entries = sum = max = 0;
  min = UINT64_MAX;
  saturated = false;
  hist.clear();
}

OpAgg::~OpAgg() {
  for (auto *&d : phases_) {
    delete_dist(d);
    d = nullptr;
  }
}

Dist *OpAgg::dist_for(int p) {
  if (p < 0) return &total;
  Dist *&d = phases_[p];
  if (!d) d = new_dist();
  return d;
}

bool OpAgg::reserve(const Timing &t, uint64_t total_ns, const uint64_t *ns) {
  if (!total.hist.reserve(Histogram::bucket_of(total_ns))) return false;
  int n = 0;
  for (uint32_t m = t.touched; m; m &= m - 1, ++n) {
    Dist *&d = phases_[__builtin_ctz(m)];
    if ((!d && !(d = new_dist())) || !d->hist.reserve(Histogram::bucket_of(ns[n]))) return false;
  }
  return true;
}

bool OpAgg::reserve_all(uint32_t nphases) {
  constexpr int kLast = Histogram::kBuckets - 1;
  if (!total.hist.reserve(0) || !total.hist.reserve(kLast)) return false;
  for (uint32_t p = 0; p < nphases && p < static_cast<uint32_t>(kMaxPhases); ++p) {
    Dist *&d = phases_[p];
    if ((!d && !(d = new_dist())) || !d->hist.reserve(0) || !d->hist.reserve(kLast)) return false;
  }
  return true;
}

void OpAgg::fold_scalars(const OpAgg &o) {
  errors += o.errors;
  left_open += o.left_open;
  saturated |= sat_add(items, o.items) | sat_add(gil_wait_ns, o.gil_wait_ns) | o.saturated;
  gil_releases += o.gil_releases;
  parallel_ops += o.parallel_ops;
  if (o.workers_max > workers_max) workers_max = o.workers_max;
}

bool OpAgg::cover(const OpAgg &o) {
  if (!total.hist.cover(o.total.hist)) return false;
  for (int p = 0; p < kMaxPhases; ++p) {
    if (!o.phases_[p]) continue;
    if (!phases_[p] && !(phases_[p] = new_dist())) return false;
    if (!phases_[p]->hist.cover(o.phases_[p]->hist)) return false;
  }
  return true;
}

void OpAgg::add_covered(const OpAgg &o) {
  total.hist.add_covered(o.total.hist);
  total.fold_scalars(o.total);
  for (int p = 0; p < kMaxPhases; ++p) {
    if (!o.phases_[p]) continue;
    phases_[p]->hist.add_covered(o.phases_[p]->hist);
    phases_[p]->fold_scalars(*o.phases_[p]);
  }
  fold_scalars(o);
}

void OpAgg::swap(OpAgg &o) {
  std::swap(count, o.count);
  std::swap(errors, o.errors);
  std::swap(left_open, o.left_open);
  std::swap(items, o.items);
  std::swap(gil_wait_ns, o.gil_wait_ns);
  std::swap(gil_held_ns, o.gil_held_ns);
  std::swap(gil_released_ns, o.gil_released_ns);
  std::swap(unattributed_ns, o.unattributed_ns);
  std::swap(gil_releases, o.gil_releases);
  std::swap(parallel_ops, o.parallel_ops);
  std::swap(workers_max, o.workers_max);
  std::swap(saturated, o.saturated);
  total.swap(o.total);
  for (int p = 0; p < kMaxPhases; ++p) std::swap(phases_[p], o.phases_[p]);
}

void OpAgg::settle() {
  total.settle();
  total.entries = count = total.count;
  for (Dist *d : phases_) {
    if (d) d->settle();
  }
  uint32_t mask = 0;
  for (int p = 0; p < kMaxPhases; ++p) mask |= phases_[p] ? 1u << p : 0;
  uint64_t held = 0, released = 0;
  if (!phases::split_by_gil(mask, [this](int32_t p) { return phases_[p]->sum; }, &held, &released)) {
    // Past 2^64 - 1 together: each side saturates on its own.
    held = released = 0;
    for (uint32_t m = mask; m; m &= m - 1) {
      const int p = __builtin_ctz(m);
      sat_add(phases::gil_held(p) ? held : released, phases_[p]->sum);
    }
    saturated = true;
  }
  saturated |= total.saturated;
  for (Dist *d : phases_) saturated |= d && d->saturated;
  gil_held_ns = held;
  gil_released_ns = released;
  // Each record's phases fit in its total, so their sums do too, unless a
  // sum saturated (then the figure is a lower bound, and flagged).
  unattributed_ns = !saturated && total.sum >= held + released ? total.sum - held - released : 0;
}

void OpAgg::clear() {
  count = errors = left_open = items = 0;
  gil_held_ns = gil_released_ns = gil_wait_ns = unattributed_ns = 0;
  saturated = false;
  gil_releases = parallel_ops = 0;
  workers_max = 0;
  total.clear();
  for (auto *d : phases_) {
    if (d) d->clear();
  }
}

}  // namespace bt
