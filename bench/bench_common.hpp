// Helpers shared by the benchmark executables. Like every consumer of the
// library, the benchmarks see only the public headers (boundarytrace/bt.h).
#pragma once
#include <benchmark/benchmark.h>
#include <boundarytrace/bt.h>

#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define BENCH_HAVE_RDTSC 1
#endif

namespace bench {

// A private sink and one bound operation, made once per benchmark program.
struct Sink {
  bt_metrics *m = nullptr;
  bt_op *op = nullptr;
  explicit Sink(const char *op_name) {
    bt_metrics_new(&m);
    bt_op_lookup(&op, m, op_name);
  }
};

// Facts every result file carries in its "context" (report.py reads them).
inline void add_context() {
  benchmark::AddCustomContext("bt_version", bt_version_string());
  benchmark::AddCustomContext("bt_clock_source", bt_clock_source());
}

inline uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

// The raw read the library's clock makes: the time-stamp counter when
// bt_clock_source() says "tsc", CLOCK_MONOTONIC otherwise.
inline bool library_clock_is_tsc() {
#if defined(BENCH_HAVE_RDTSC)
  return std::strcmp(bt_clock_source(), "tsc") == 0;
#else
  return false;
#endif
}

inline uint64_t raw_tsc() {
#if defined(BENCH_HAVE_RDTSC)
  return __rdtsc();
#else
  return monotonic_ns();
#endif
}

// The clock reads one full operation needs: creation, eight phase edges, finish.
constexpr int kClockReadsPerOp = 10;
// Library calls in one full operation: new, 4 x (begin, end), finish, free.
constexpr int kCallsPerOp = 11;

// Stops the benchmark with a message when a call that must succeed fails.
inline bool ok(benchmark::State &state, bt_status s, const char *what) {
  if (s == BT_OK) return true;
  std::string msg = std::string(what) + ": " + bt_status_name(s);
  state.SkipWithError(msg.c_str());
  return false;
}

// One traced four-phase operation through a bound handle. Statuses are
// ignored here, as a hot path may; the benchmarks check counts afterwards.
inline void traced_op(bt_op *op) {
  bt_tracer *t = nullptr;
  bt_tracer_new_op(&t, op);
  for (bt_phase_id p = BT_PHASE_EXTRACT; p <= BT_PHASE_MATERIALIZE; ++p) {
    bt_phase_begin(t, p);
    bt_phase_end(t, p);
  }
  bt_tracer_finish(t);
  bt_tracer_free(t);
}

// The same operation, its name looked up on every call.
inline void traced_op_by_name(bt_metrics *m, const char *name) {
  bt_tracer *t = nullptr;
  bt_tracer_new(&t, m, name);
  for (bt_phase_id p = BT_PHASE_EXTRACT; p <= BT_PHASE_MATERIALIZE; ++p) {
    bt_phase_begin(t, p);
    bt_phase_end(t, p);
  }
  bt_tracer_finish(t);
  bt_tracer_free(t);
}

// A finished timing as an extension measuring elsewhere would hand it over.
inline bt_timing prepared_timing(const char *name, uint64_t scale = 1) {
  bt_timing t = BT_TIMING_INIT;
  t.op_name = name;
  t.total_ns = 12000 * scale;
  t.phase_ns[BT_PHASE_EXTRACT] = 1500 * scale;
  t.phase_ns[BT_PHASE_CONVERT] = 3000 * scale;
  t.phase_ns[BT_PHASE_NETWORK] = 6000 * scale;
  t.phase_ns[BT_PHASE_MATERIALIZE] = 1000 * scale;
  for (int p = BT_PHASE_EXTRACT; p <= BT_PHASE_MATERIALIZE; ++p) t.phase_entries[p] = 1;
  t.items = 100;
  t.gil_releases = 1;
  t.workers = 2;
  return t;
}

// Operations recorded for `name` in `m` so far (0 when absent).
inline uint64_t recorded(bt_metrics *m, const char *name) {
  bt_snapshot *s = nullptr;
  if (bt_metrics_snapshot(&s, m) != BT_OK) return 0;
  size_t i = 0;
  bt_op_stats st = BT_OP_STATS_INIT;
  uint64_t n = 0;
  if (bt_snapshot_find(&i, s, name) == BT_OK && bt_snapshot_op_stats(&st, s, i) == BT_OK) {
    n = st.count;
  }
  bt_snapshot_free(s);
  return n;
}

// C++17 has no std::barrier.
class Barrier {
 public:
  explicit Barrier(int n) : n_(n) {}
  void wait() {
    std::unique_lock<std::mutex> lock(m_);
    int gen = gen_;
    if (++waiting_ == n_) {
      waiting_ = 0;
      ++gen_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return gen != gen_; });
    }
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  int n_, waiting_ = 0, gen_ = 0;
};

// The scaling control: private work of about a record's duration that
// shares nothing, so its rate at 2 threads / 1 thread is the most any
// implementation could reach in the same run (bench_scaling, bench_shared,
// bench_peers).
inline uint64_t private_work(uint64_t x) {
  for (int i = 0; i < 32; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  return x;
}
inline void control_private_work(benchmark::State &state) {
  uint64_t x = 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(state.thread_index());
  for (auto _ : state) {
    x = private_work(x);
    benchmark::DoNotOptimize(x);
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace bench
