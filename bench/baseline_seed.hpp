// Baseline 1, for comparison only: a faithful C++ port of the seed's design
// (the data-bridge-test crate's performance/boundary.rs, read from the seed
// document and its source). Not part of the library; nothing else uses it.
//
// What is kept from the seed, because it is what the benchmarks compare:
//  - BoundaryTracer: std::chrono::steady_clock (Rust's Instant), each phase
//    its own optional start, durations truncated to whole microseconds when a
//    phase ends (end_x sets, it does not accumulate), total measured at finish.
//  - BoundaryTiming: extract_us, convert_us, network_us, materialize_us,
//    total_us, doc_count, gil_release_count, parallel.
//  - BoundaryMetrics: one global set of sums for all operations, one
//    std::atomic<uint64_t> per field (Rust's AtomicU64), record() is one relaxed
//    fetch_add per field (seven), snapshot() loads each field.
// One difference, in the seed's favour: Rust's String always allocates on
// BoundaryTracer::new; std::string keeps short names (<= 15 bytes, as the
// benchmarks use) inline, so this port never allocates.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace seed {

using Clock = std::chrono::steady_clock;

inline uint64_t micros_since(Clock::time_point start) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
}

struct BoundaryTiming {
  std::string operation;
  uint64_t extract_us = 0;
  uint64_t convert_us = 0;
  uint64_t network_us = 0;
  uint64_t materialize_us = 0;
  uint64_t total_us = 0;
  std::size_t doc_count = 0;
  std::size_t gil_release_count = 0;
  bool parallel = false;
};

class BoundaryTracer {
 public:
  explicit BoundaryTracer(std::string operation)
      : operation_(std::move(operation)), start_(Clock::now()) {}

  void start_extract() { extract_start_ = Clock::now(); }
  void end_extract() { end(extract_start_, extract_us_); }
  void start_convert() { convert_start_ = Clock::now(); }
  void end_convert() { end(convert_start_, convert_us_); }
  void start_network() { network_start_ = Clock::now(); }
  void end_network() { end(network_start_, network_us_); }
  void start_materialize() { materialize_start_ = Clock::now(); }
  void end_materialize() { end(materialize_start_, materialize_us_); }

  void set_doc_count(std::size_t n) { doc_count_ = n; }
  void record_gil_release() { ++gil_releases_; }
  void set_parallel(bool p) { parallel_ = p; }

  BoundaryTiming finish() {
    BoundaryTiming t;
    t.operation = std::move(operation_);
    t.extract_us = extract_us_;
    t.convert_us = convert_us_;
    t.network_us = network_us_;
    t.materialize_us = materialize_us_;
    t.total_us = micros_since(start_);
    t.doc_count = doc_count_;
    t.gil_release_count = gil_releases_;
    t.parallel = parallel_;
    return t;
  }

 private:
  // Rust: if let Some(start) = self.x_start.take() { self.x_duration = start.elapsed().as_micros() }
  static void end(std::optional<Clock::time_point> &start, uint64_t &duration) {
    if (start) {
      duration = micros_since(*start);
      start.reset();
    }
  }

  std::string operation_;
  Clock::time_point start_;
  std::optional<Clock::time_point> extract_start_, convert_start_, network_start_,
      materialize_start_;
  uint64_t extract_us_ = 0, convert_us_ = 0, network_us_ = 0, materialize_us_ = 0;
  std::size_t doc_count_ = 0;
  std::size_t gil_releases_ = 0;
  bool parallel_ = false;
};

class BoundaryMetrics {
 public:
  void record(const BoundaryTiming &t) {
    constexpr auto r = std::memory_order_relaxed;
    total_operations_.fetch_add(1, r);
    total_extract_us_.fetch_add(t.extract_us, r);
    total_convert_us_.fetch_add(t.convert_us, r);
    total_network_us_.fetch_add(t.network_us, r);
    total_materialize_us_.fetch_add(t.materialize_us, r);
    total_docs_.fetch_add(t.doc_count, r);
    total_gil_releases_.fetch_add(t.gil_release_count, r);
  }

  uint64_t operation_count() const { return total_operations_.load(std::memory_order_relaxed); }

  void reset() {
    for (auto *a : {&total_operations_, &total_extract_us_, &total_convert_us_, &total_network_us_,
                    &total_materialize_us_, &total_docs_, &total_gil_releases_}) {
      a->store(0, std::memory_order_relaxed);
    }
  }

 private:
  std::atomic<uint64_t> total_operations_{0};
  std::atomic<uint64_t> total_extract_us_{0};
  std::atomic<uint64_t> total_convert_us_{0};
  std::atomic<uint64_t> total_network_us_{0};
  std::atomic<uint64_t> total_materialize_us_{0};
  std::atomic<uint64_t> total_docs_{0};
  std::atomic<uint64_t> total_gil_releases_{0};
};

// The seed keeps one process-wide collector; so does this port.
inline BoundaryMetrics &global_metrics() {
  static BoundaryMetrics m;
  return m;
}

// One traced four-phase operation, recorded into the global sums.
inline void traced_operation(const char *name) {
  BoundaryTracer tr(name);
  tr.start_extract();
  tr.end_extract();
  tr.start_convert();
  tr.end_convert();
  tr.start_network();
  tr.end_network();
  tr.start_materialize();
  tr.end_materialize();
  global_metrics().record(tr.finish());
}

}  // namespace seed
