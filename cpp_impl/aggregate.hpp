// Aggregates of one operation: counters, and a distribution for the whole
// operation and for each phase it entered. One OpAgg is a writer shard, the
// folded past of a Metrics, or an operation inside a snapshot.
#pragma once
#include <cstdint>

#include "cpp_impl/histogram.hpp"
#include "cpp_impl/limits.hpp"
#include "cpp_impl/timing.hpp"

namespace bt {

struct Dist {
  uint64_t count = 0;    // samples (operations)
  uint64_t entries = 0;  // phase entries
  uint64_t sum = 0;
  uint64_t min = UINT64_MAX;
  uint64_t max = 0;
  Histogram hist;

  // Adds one sample whose bucket `b` has storage (Histogram::has(b)).
  void add(uint64_t v, int b, uint64_t n_entries) {
    ++count;
    entries += n_entries;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
    hist.add(b, 1);
  }
  void fold_scalars(const Dist &o);
  bool merge(const Dist &o);
  void absorb(Dist &o);
  void clear();
  uint64_t min_or_zero() const { return count ? min : 0; }
  uint64_t quantile(double q) const { return hist.quantile(q, count, min_or_zero(), max); }
};

class OpAgg {
 public:
  uint64_t count = 0, errors = 0, left_open = 0, items = 0, gil_wait_ns = 0;
  // Derived from the phase sums by derive_gil() (in snapshots only): a
  // record need not add them up, since they follow from the phases.
  uint64_t gil_held_ns = 0, gil_released_ns = 0, unattributed_ns = 0;
  uint64_t gil_releases = 0, parallel_ops = 0;
  uint32_t workers_max = 0;
  Dist total;

  OpAgg() = default;
  ~OpAgg();
  OpAgg(const OpAgg &) = delete;
  OpAgg &operator=(const OpAgg &) = delete;

  const Dist *phase(int p) const { return phases_[p]; }

  // Records one finished operation. All or nothing: false (and nothing
  // changed) when storage for a new bucket or phase could not be allocated.
  bool record(const Timing &t);

  // Adds `o` into this one; false (this unchanged) on out of memory.
  bool merge(const OpAgg &o);
  // Adds `o` into this one, taking storage this one lacks; never allocates.
  // `o` is left empty.
  void absorb(OpAgg &o);
  // Sets gil_held_ns, gil_released_ns and unattributed_ns from the phases.
  void derive_gil();
  // Zeroes the figures; keeps allocated storage for the next records.
  void clear();

 private:
  void fold_scalars(const OpAgg &o);
  bool reserve(const Timing &t, int total_bucket, const int *phase_buckets);
  Dist *phases_[kMaxPhases] = {};
};

}  // namespace bt
