#include "cpp_impl/aggregate.hpp"

#include <new>
#include <utility>

#include "cpp_impl/alloc.hpp"
#include "cpp_impl/arena.hpp"
#include "cpp_impl/phase_table.hpp"

namespace bt {

namespace {

// From `arena` when given (arena.hpp): never freed alone.
Dist *new_dist(Arena *arena = nullptr) {
  void *p = arena ? arena->alloc(sizeof(Dist)) : mem_calloc(1, sizeof(Dist));
  return p ? new (p) Dist() : nullptr;
}

void delete_dist(Dist *d) {
  if (!d) return;
  d->~Dist();
  mem_free(d);
}

}  // namespace

void Dist::fold_scalars(uint64_t o_entries, uint64_t o_sum, uint64_t o_min, uint64_t o_max, bool o_saturated) {
  saturated |= sat_add(entries, o_entries) | sat_add(sum, o_sum) | o_saturated;
  if (o_min < min) min = o_min;
  if (o_max > max) max = o_max;
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
  delete_dist(wait_);
}

Dist *OpAgg::dist_for(int p, Arena *arena) {
  if (p == kDistTotal) return &total;
  Dist *&d = p == kDistWait ? wait_ : phases_[p];
  if (!d) d = new_dist(arena);
  return d;
}

namespace {

// `d`, allocated when missing, with storage for bucket `b`.
bool reserve_dist(Dist *&d, int b) { return (d || (d = new_dist())) && d->hist.reserve(b); }

}  // namespace

bool OpAgg::reserve(const Timing &t, uint64_t total_ns, const uint64_t *ns) {
  if (!total.hist.reserve(Histogram::bucket_of(total_ns))) return false;
  if ((t.gil_releases | t.gil_wait_ns) && !reserve_dist(wait_, Histogram::bucket_of(t.gil_wait_ns))) return false;
  for (uint32_t m = t.touched; m; m &= m - 1) {
    const int p = __builtin_ctz(m);
    if (!reserve_dist(phases_[p], Histogram::bucket_of(ns[p]))) return false;
  }
  return true;
}

bool OpAgg::reserve_all(uint32_t nphases) {
  constexpr int kLast = Histogram::kBuckets - 1;
  if (!total.hist.reserve(0) || !total.hist.reserve(kLast)) return false;
  if (!reserve_dist(wait_, 0) || !wait_->hist.reserve(kLast)) return false;
  for (uint32_t p = 0; p < nphases && p < static_cast<uint32_t>(kMaxPhases); ++p) {
    if (!reserve_dist(phases_[p], 0) || !phases_[p]->hist.reserve(kLast)) return false;
  }
  return true;
}

void OpAgg::fold_scalars(const OpAgg &o) {
  add_counters(o.errors, o.left_open, o.items, o.gil_releases, o.parallel_ops, o.workers_max, o.saturated);
}

void OpAgg::add_counters(uint64_t o_errors, uint64_t o_left_open, uint64_t o_items, uint64_t o_gil_releases,
                         uint64_t o_parallel_ops, uint32_t o_workers_max, bool o_saturated) {
  errors += o_errors;
  left_open += o_left_open;
  saturated |= sat_add(items, o_items) | o_saturated;
  gil_releases += o_gil_releases;
  parallel_ops += o_parallel_ops;
  if (o_workers_max > workers_max) workers_max = o_workers_max;
}

namespace {

// `d` (allocated when missing) grown to hold `o`'s buckets; true when `o` is null.
bool cover_dist(Dist *&d, const Dist *o, Arena *arena) {
  return !o || ((d || (d = new_dist(arena))) && d->hist.cover(o->hist, arena));
}

void add_dist(Dist *d, const Dist *o) {
  if (!o) return;
  d->hist.add_covered(o->hist);
  d->count += o->count;  // kept by a merge of counted figures; else settle() sets it
  d->fold_scalars(*o);
}

}  // namespace

bool OpAgg::cover(const OpAgg &o, Arena *arena) {
  if (!total.hist.cover(o.total.hist, arena) || !cover_dist(wait_, o.wait_, arena)) return false;
  for (int p = 0; p < kMaxPhases; ++p) {
    if (!cover_dist(phases_[p], o.phases_[p], arena)) return false;
  }
  return true;
}

void OpAgg::add_covered(const OpAgg &o) {
  add_dist(&total, &o.total);
  add_dist(wait_, o.wait_);
  for (int p = 0; p < kMaxPhases; ++p) add_dist(phases_[p], o.phases_[p]);
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
  std::swap(wait_, o.wait_);
}

void OpAgg::settle(bool counts_kept) {
  if (!counts_kept) {
    total.settle();
    for (Dist *d : phases_) {
      if (d) d->settle();
    }
    if (wait_) wait_->settle();
  }
  total.entries = count = total.count;
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
  saturated |= total.saturated || (wait_ && wait_->saturated);
  for (Dist *d : phases_) saturated |= d && d->saturated;
  gil_held_ns = held;
  gil_released_ns = released;
  gil_wait_ns = wait_ ? wait_->sum : 0;
  // Each record's phases fit in its total, so their sums do too, unless a sum
  // saturated (then the figure is a lower bound, and flagged). The wait is
  // time between phases (the helpers measure it there) and comes out of the
  // rest; a wait a caller measured inside a phase would overlap it, so the
  // rest stops at 0.
  const uint64_t covered = held + released;
  unattributed_ns = !saturated && total.sum >= covered ? total.sum - covered : 0;
  unattributed_ns -= unattributed_ns < gil_wait_ns ? unattributed_ns : gil_wait_ns;
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
  if (wait_) wait_->clear();
}

void CoverPlan::widen(int k, const Dist *d) {
  if (!d || d->hist.end_bucket() == d->hist.first_bucket()) return;
  const int lo = d->hist.first_bucket(), end = d->hist.end_bucket();
  if (end_[k] == 0 || lo < lo_[k]) lo_[k] = lo;
  if (end > end_[k]) end_[k] = end;
}

void CoverPlan::add(const OpAgg &o) {
  for (int p = 0; p < kMaxPhases; ++p) widen(p, o.phase(p));
  widen(kMaxPhases, o.wait());
  widen(kMaxPhases + 1, &o.total);
}

bool CoverPlan::reserve(OpAgg &into, Arena *arena) const {
  for (int k = 0; k < kDists; ++k) {
    if (end_[k] == 0) continue;
    const int which = k < kMaxPhases ? k : k == kMaxPhases ? kDistWait : kDistTotal;
    Dist *d = into.dist_for(which, arena);
    if (!d || !d->hist.reserve_range(lo_[k], end_[k] - 1, arena)) return false;
  }
  return true;
}

}  // namespace bt
