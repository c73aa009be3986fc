// Baseline 2, for comparison only: the straightforward way to aggregate what
// boundarytrace aggregates. One std::mutex guards a map from operation name to
// its aggregates; each operation keeps the same counters as boundarytrace
// (count, errors, left open, items, GIL sums, releases, workers) and the same
// distribution per phase and for the total (count, entries, sum, min, max and
// a log-linear histogram with boundarytrace's bucket layout). The histograms
// are flat arrays allocated once per operation and phase, so the record path
// never allocates after warm-up and does strictly less bucket work than the
// library. It handles the four built-in phases only (what the benchmarks
// trace), which keeps its timing small. The tracer reads
// std::chrono::steady_clock in nanoseconds.
// Not part of the library; it uses only bt.h for the phase ids and flags.
#pragma once
#include <boundarytrace/bt.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mutexagg {

constexpr int kSubBits = 4;
constexpr int kSub = 1 << kSubBits;
constexpr int kChunks = 40;
constexpr int kBuckets = kChunks * kSub;

inline int bucket_of(uint64_t v) {
  if (v < static_cast<uint64_t>(kSub)) return static_cast<int>(v);
  int e = 63 - __builtin_clzll(v);
  if (e >= kChunks + kSubBits - 1) return kBuckets - 1;
  int sub = static_cast<int>(v >> (e - kSubBits)) & (kSub - 1);
  return (e - kSubBits + 1) * kSub + sub;
}

struct Dist {
  uint64_t count = 0, entries = 0, sum = 0, min = UINT64_MAX, max = 0;
  uint64_t hist[kBuckets] = {};
  void add(uint64_t v, uint64_t n_entries) {
    ++count;
    entries += n_entries;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
    ++hist[bucket_of(v)];
  }
};

// GIL state of the four built-in phases (boundarytrace's table).
inline bool gil_held(int p) { return p == BT_PHASE_EXTRACT || p == BT_PHASE_MATERIALIZE; }

constexpr int kPhases = BT_PHASE_MATERIALIZE + 1;

// What one finished operation carries (the fields of bt_timing it reads).
struct Timing {
  const char *op_name = nullptr;
  uint64_t total_ns = 0, items = 0, gil_wait_ns = 0;
  uint32_t gil_releases = 0, workers = 0, flags = 0;
  uint64_t phase_ns[kPhases] = {};
  uint32_t phase_entries[kPhases] = {};
};

struct OpAgg {
  std::string name;
  uint64_t count = 0, errors = 0, left_open = 0, items = 0;
  uint64_t gil_held_ns = 0, gil_released_ns = 0, gil_wait_ns = 0, unattributed_ns = 0;
  uint64_t gil_releases = 0, parallel_ops = 0;
  uint32_t workers_max = 0;
  Dist total;
  std::unique_ptr<Dist> phases[kPhases];

  void record(const Timing &t) {
    uint64_t held = 0, released = 0;
    ++count;
    if (t.flags & BT_TIMING_ERROR) ++errors;
    if (t.flags & BT_TIMING_PHASE_LEFT_OPEN) ++left_open;
    items += t.items;
    gil_wait_ns += t.gil_wait_ns;
    gil_releases += t.gil_releases;
    if (t.workers > 1) ++parallel_ops;
    if (t.workers > workers_max) workers_max = t.workers;
    total.add(t.total_ns, 1);
    for (int p = 0; p < kPhases; ++p) {
      if (t.phase_entries[p] == 0) continue;
      if (!phases[p]) phases[p].reset(new Dist());
      phases[p]->add(t.phase_ns[p], t.phase_entries[p]);
      (gil_held(p) ? held : released) += t.phase_ns[p];
    }
    gil_held_ns += held;
    gil_released_ns += released;
    unattributed_ns += t.total_ns - held - released;
  }
};

class Aggregator {
 public:
  void record(const Timing &t) {
    std::lock_guard<std::mutex> lock(mutex_);
    find_or_add(t.op_name).record(t);
  }

  uint64_t count(const char *name) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = ops_.find(name);
    return it == ops_.end() ? 0 : it->second->count;
  }

 private:
  OpAgg &find_or_add(const char *name) {
    auto it = ops_.find(std::string_view(name));
    if (it != ops_.end()) return *it->second;
    auto agg = std::make_unique<OpAgg>();
    agg->name = name;
    std::string_view key(agg->name);
    return *ops_.emplace(key, std::move(agg)).first->second;
  }

  std::mutex mutex_;
  std::unordered_map<std::string_view, std::unique_ptr<OpAgg>> ops_;
};

inline Aggregator &global() {
  static Aggregator a;
  return a;
}

// Times one operation in nanoseconds and records it into the aggregator.
class Tracer {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Tracer(const char *op_name) : start_(now()) { t_.op_name = op_name; }
  void begin(int p) {
    open_ = p;
    phase_start_ = now();
  }
  void end(int p) {
    t_.phase_ns[p] += now() - phase_start_;
    ++t_.phase_entries[p];
    open_ = -1;
  }
  void finish(Aggregator &agg) {
    t_.total_ns = now() - start_;
    agg.record(t_);
  }

 private:
  static uint64_t now() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     Clock::now().time_since_epoch())
                                     .count());
  }
  uint64_t start_;
  uint64_t phase_start_ = 0;
  int open_ = -1;
  Timing t_;
};

inline void traced_operation(const char *name) {
  Tracer tr(name);
  for (int p = BT_PHASE_EXTRACT; p <= BT_PHASE_MATERIALIZE; ++p) {
    tr.begin(p);
    tr.end(p);
  }
  tr.finish(global());
}

}  // namespace mutexagg
