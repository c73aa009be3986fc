// Aggregates of one operation: counters, and a distribution for the whole
// operation and for each phase it entered. One OpAgg is a writer shard, the
// folded past of a Metrics, or an operation inside a snapshot.
#pragma once
#include <cstdint>

#include "cpp_impl/histogram.hpp"
#include "cpp_impl/limits.hpp"
#include "cpp_impl/timing.hpp"

namespace bt {

// Sums saturate instead of wrapping: a sum that would pass 2^64 - 1 stays
// there and the aggregate is flagged (OpAgg::saturated, BT_STATS_SATURATED),
// so a figure is either exact or marked as a lower bound. True when `a`
// saturated.
inline bool sat_add(uint64_t &a, uint64_t b) {
  const bool over = __builtin_add_overflow(a, b, &a);
  if (__builtin_expect(over, 0)) a = UINT64_MAX;
  return over;
}

// A record writes only what it must: `count` is not kept while recording,
// since the histogram holds it; settle() sets it, and a snapshot settles
// every distribution it holds. A merge that knows the counts it adds (the
// shared directory's, shared_read.cpp) keeps `count` as it goes instead, so
// settling need not read every histogram again.
struct Dist {
  uint64_t count = 0;    // samples (operations); valid after settle()
  uint64_t entries = 0;  // phase entries; for the total, set by settle()
  uint64_t sum = 0;
  uint64_t min = UINT64_MAX;
  uint64_t max = 0;
  bool saturated = false;  // sum or entries stopped at 2^64 - 1
  Histogram hist;

  // Adds one sample whose bucket `b` has storage (Histogram::has(b)).
  void add(uint64_t v, int b) {
    if (__builtin_expect(sat_add(sum, v), 0)) saturated = true;
    if (__builtin_expect(v < min, 0)) min = v;
    if (__builtin_expect(v > max, 0)) max = v;
    hist.add(b, 1);
  }
  void settle() { count = hist.total(); }
  void fold_scalars(const Dist &o) { fold_scalars(o.entries, o.sum, o.min, o.max, o.saturated); }
  void fold_scalars(uint64_t o_entries, uint64_t o_sum, uint64_t o_min, uint64_t o_max, bool o_saturated);
  void swap(Dist &o);
  void clear();
  uint64_t min_or_zero() const { return count ? min : 0; }
  uint64_t quantile(double q) const { return hist.quantile(q, count, min_or_zero(), max); }
};

class OpAgg {
 public:
  uint64_t count = 0;  // operations; valid after settle() (the total's histogram holds it)
  uint64_t errors = 0, left_open = 0, items = 0;
  // Derived by settle() (in snapshots only) from the phase sums and the GIL
  // wait's distribution: a record need not add them up.
  uint64_t gil_held_ns = 0, gil_released_ns = 0, gil_wait_ns = 0, unattributed_ns = 0;
  uint64_t gil_releases = 0, parallel_ops = 0;
  uint32_t workers_max = 0;
  // A sum stopped at 2^64 - 1 (items, GIL wait, or a distribution's sum; set
  // from the distributions by settle()).
  bool saturated = false;
  Dist total;

  OpAgg() = default;
  ~OpAgg();
  OpAgg(const OpAgg &) = delete;
  OpAgg &operator=(const OpAgg &) = delete;

  const Dist *phase(int p) const { return phases_[p]; }
  // The GIL wait per operation: one sample per operation that released the
  // GIL or measured a wait (its entries are the releases); nullptr if none.
  const Dist *wait() const { return wait_; }
  // The distribution of phase `p` (kDistTotal: the total, kDistWait: the
  // wait), added empty when missing; nullptr when out of memory. For readers
  // that rebuild an aggregate from stored figures (shared_read.cpp). With an
  // `arena` (arena.hpp), which then holds all of this aggregate's storage,
  // a new distribution comes from it.
  Dist *dist_for(int p, Arena *arena = nullptr);

  // Records one finished operation whose durations are in units of `mult`
  // (timing.hpp). All or nothing: false (and nothing changed) when storage
  // for a new bucket or phase could not be allocated, or was missing and
  // `may_grow` is false (then it allocates nothing).
  // Inline (below): the finish that calls it becomes one function.
  inline bool record(const Timing &t, uint64_t mult, bool may_grow = true);
  // Storage for the first `nphases` phases and the total, each over every
  // duration, so no record needs to allocate; false on out of memory.
  bool reserve_all(uint32_t nphases);

  // Grows this one's storage (phase slots, histogram ranges) to hold `o`'s
  // figures; nothing is counted. False on out of memory, with the figures
  // unchanged (storage already grown stays, empty). `arena`: as dist_for.
  bool cover(const OpAgg &o, Arena *arena = nullptr);
  // Adds `o` into this one; requires cover(o) first, so it never allocates.
  void add_covered(const OpAgg &o);
  // cover() then add_covered(): false (figures unchanged) on out of memory.
  bool merge(const OpAgg &o, Arena *arena = nullptr) { return cover(o, arena) && (add_covered(o), true); }
  // Adds counters (not distributions) as merge() adds another aggregate's:
  // for a reader that has them without an OpAgg (shared_read.cpp).
  void add_counters(uint64_t o_errors, uint64_t o_left_open, uint64_t o_items, uint64_t o_gil_releases,
                    uint64_t o_parallel_ops, uint32_t o_workers_max, bool o_saturated);
  // Exchanges everything, storage included, with `o`; never allocates.
  void swap(OpAgg &o);
  // Sets what records leave to be derived: each distribution's count, the
  // total's entries, and gil_held_ns, gil_released_ns, unattributed_ns from
  // the phases. A snapshot settles its copies. `counts_kept`: every
  // distribution's count is already its histogram's total (kept by a merge).
  void settle(bool counts_kept = false);
  // Zeroes the figures; keeps allocated storage for the next records.
  void clear();

 private:
  // record()'s slow path: allocates the phase slots and bucket storage
  // for a record whose total is `total_ns` and whose phase p entered
  // (Timing::touched) took ns[p]; false on out of memory.
  bool reserve(const Timing &t, uint64_t total_ns, const uint64_t *ns);
  void fold_scalars(const OpAgg &o);
  Dist *phases_[kMaxPhases] = {};
  Dist *wait_ = nullptr;
};

// The union of several aggregates' histogram ranges, so that a merge of
// them all into an arena-backed aggregate (arena.hpp, which keeps every block
// a histogram outgrows) gives each distribution its storage once.
class CoverPlan {
 public:
  // Widens the plan by `o`'s ranges.
  void add(const OpAgg &o);
  // Storage in `into` for the union; false on out of memory.
  bool reserve(OpAgg &into, Arena *arena) const;

 private:
  static constexpr int kDists = kMaxPhases + 2;  // the phases, the wait, the total
  void widen(int k, const Dist *d);
  int lo_[kDists] = {}, end_[kDists] = {};  // buckets [lo, end); end == 0: none
};

inline __attribute__((always_inline)) bool OpAgg::record(const Timing &t, uint64_t mult, bool may_grow) {
  // A first pass converts the phases and checks that their buckets have
  // storage, testing the values against each histogram's range; only when
  // some is missing does the slow path allocate, before anything is counted,
  // so a failure leaves every figure untouched. Buckets are found once, in
  // the second pass, which adds.
  uint64_t ns[kMaxPhases];  // by phase id, for the phases entered
  const uint32_t touched = t.touched;
  const uint64_t total_ns = scale_to_ns(t.total_ns, mult);
  bool ready = total.hist.covers(total_ns);
  // The wait is measured by the caller in nanoseconds (no `mult`).
  const bool waited = (t.gil_releases | t.gil_wait_ns) != 0;
  if (__builtin_expect(waited, 0) && (!wait_ || !wait_->hist.covers(t.gil_wait_ns))) ready = false;
  const auto check = [&](uint32_t p) {
    const uint64_t v = ns[p] = scale_to_ns(t.phase_ns[p], mult);
    const Dist *d = phases_[p];
    if (__builtin_expect(!d || !d->hist.covers(v), 0)) ready = false;
  };
  for (uint32_t m = touched; m; m &= m - 1) check(static_cast<uint32_t>(__builtin_ctz(m)));
  if (__builtin_expect(!ready, 0) && (!may_grow || !reserve(t, total_ns, ns))) return false;

  // Figures that are often zero are stored only when they change, behind
  // one test of them all.
  if (__builtin_expect((t.flags | t.workers | t.items | static_cast<uint64_t>(waited)) != 0, 0)) {
    if (t.flags != 0) {
      errors += t.flags & kFlagError;
      left_open += (t.flags & kFlagLeftOpen) != 0;
    }
    if (t.items && __builtin_expect(sat_add(items, t.items), 0)) saturated = true;
    if (waited) {
      gil_releases += t.gil_releases;  // 2^32 per record: cannot pass 2^64 in practice
      wait_->entries += t.gil_releases;
      wait_->add(t.gil_wait_ns, Histogram::bucket_of(t.gil_wait_ns));
    }
    if (t.workers > workers_max) workers_max = t.workers;
    if (t.workers > 1) ++parallel_ops;
  }
  total.add(total_ns, Histogram::bucket_of(total_ns));
  const auto add = [&](uint32_t p) {
    Dist *d = phases_[p];
    d->entries += t.phase_entries[p];  // 2^32 per record: cannot pass 2^64 in practice
    d->add(ns[p], Histogram::bucket_of(ns[p]));
  };
  for (uint32_t m = touched; m; m &= m - 1) add(static_cast<uint32_t>(__builtin_ctz(m)));
  return true;
}

}  // namespace bt
