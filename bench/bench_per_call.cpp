// Per-call costs, each beside its floor and the two baselines, in one process:
// a phase begin+end pair, a full four-phase operation (by name and through a
// bound handle), the raw clock reads such an operation needs, the run-time and
// compile-time off switches, and snapshot + text, JSON and Prometheus
// formatting of 100 operations.
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "baseline_mutex.hpp"
#include "baseline_seed.hpp"
#include "bench_common.hpp"
#include "compiled_out.h"

namespace {

using bench::kCallsPerOp;
using bench::kClockReadsPerOp;

// A private sink and a bound operation shared by the single-thread benchmarks.
bench::Sink &sink() {
  static bench::Sink s("bench.bound");
  return s;
}

void calls_per_iteration(benchmark::State &state, int calls) {
  state.counters["calls_per_iteration"] = calls;
}

// ---- the floor: the clock reads one full operation needs --------------------

void BM_FloorLibraryClock(benchmark::State &state) {
  const bool tsc = bench::library_clock_is_tsc();
  for (auto _ : state) {
    uint64_t sum = 0;
    if (tsc) {
      for (int i = 0; i < kClockReadsPerOp; ++i) sum += bench::raw_tsc();
    } else {
      for (int i = 0; i < kClockReadsPerOp; ++i) sum += bench::monotonic_ns();
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetLabel(tsc ? "rdtsc" : "clock_gettime(CLOCK_MONOTONIC)");
  state.counters["clock_reads_per_iteration"] = kClockReadsPerOp;
}
BENCHMARK(BM_FloorLibraryClock)->Name("floor/library_clock_x10");

void BM_FloorMonotonic(benchmark::State &state) {
  for (auto _ : state) {
    uint64_t sum = 0;
    for (int i = 0; i < kClockReadsPerOp; ++i) sum += bench::monotonic_ns();
    benchmark::DoNotOptimize(sum);
  }
  state.counters["clock_reads_per_iteration"] = kClockReadsPerOp;
}
BENCHMARK(BM_FloorMonotonic)->Name("floor/clock_monotonic_x10");

// Does other work hide behind the clock reads? 600 independent register adds
// (eight chains, so nothing waits on a result: what an operation's bookkeeping
// is at best), alone and spread between the 10 reads as an operation spreads
// its work (60 per gap). When the reads and the adds together take their sum,
// each instruction of an operation adds to the reads' time, and the
// operation's cost beyond the floor follows its instruction count (report.py
// prints the three beside the op). x86-64 only.
#if defined(BENCH_HAVE_RDTSC) && defined(__x86_64__)
#define BENCH_ADDS_8                                                                                  \
  __asm__ volatile("add %%r8, %%r9\n\tadd %%r8, %%r10\n\tadd %%r8, %%r11\n\tadd %%r8, %%r12\n\t" \
                   "add %%r8, %%r13\n\tadd %%r8, %%r14\n\tadd %%r8, %%r15\n\tadd %%r8, %%rbx"      \
                   ::: "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rbx", "cc");
#define BENCH_ADDS_60 BENCH_ADDS_8 BENCH_ADDS_8 BENCH_ADDS_8 BENCH_ADDS_8 BENCH_ADDS_8 BENCH_ADDS_8 \
  BENCH_ADDS_8 __asm__ volatile("add %%r8, %%r9\n\tadd %%r8, %%r10\n\tadd %%r8, %%r11\n\tadd %%r8, %%r12" \
                                ::: "r9", "r10", "r11", "r12", "cc");
constexpr int kAddsPerIteration = 600;

void BM_FloorAdds(benchmark::State &state) {
  for (auto _ : state) {
    for (int i = 0; i < kClockReadsPerOp; ++i) {
      BENCH_ADDS_60
    }
  }
  state.counters["adds_per_iteration"] = kAddsPerIteration;
}
BENCHMARK(BM_FloorAdds)->Name("floor/adds_x600");

void BM_FloorClockAndAdds(benchmark::State &state) {
  const bool tsc = bench::library_clock_is_tsc();
  for (auto _ : state) {
    uint64_t sum = 0;
    for (int i = 0; i < kClockReadsPerOp; ++i) {
      sum += tsc ? bench::raw_tsc() : bench::monotonic_ns();
      BENCH_ADDS_60
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetLabel(tsc ? "rdtsc" : "clock_gettime(CLOCK_MONOTONIC)");
  state.counters["clock_reads_per_iteration"] = kClockReadsPerOp;
  state.counters["adds_per_iteration"] = kAddsPerIteration;
}
BENCHMARK(BM_FloorClockAndAdds)->Name("floor/library_clock_x10_adds_x600");
#endif

// ---- boundarytrace ------------------------------------------------------------

void BM_PhasePair(benchmark::State &state) {
  bt_tracer *t = nullptr;
  if (!bench::ok(state, bt_tracer_new_op(&t, sink().op), "bt_tracer_new_op")) return;
  bt_status st = BT_OK;
  for (auto _ : state) {
    st = static_cast<bt_status>(st | bt_phase_begin(t, BT_PHASE_CONVERT));
    st = static_cast<bt_status>(st | bt_phase_end(t, BT_PHASE_CONVERT));
  }
  bench::ok(state, st, "bt_phase_begin/end");
  bt_tracer_finish(t);
  bt_tracer_free(t);
  calls_per_iteration(state, 2);
}
BENCHMARK(BM_PhasePair)->Name("phase/begin_end_pair");

void BM_FullOpByName(benchmark::State &state) {
  bt_metrics *m = sink().m;
  const char *name = "bench.by_name";
  bench::traced_op_by_name(m, name);
  uint64_t before = bench::recorded(m, name);
  for (auto _ : state) bench::traced_op_by_name(m, name);
  if (bench::recorded(m, name) - before != static_cast<uint64_t>(state.iterations())) {
    state.SkipWithError("operations recorded != iterations");
  }
  calls_per_iteration(state, kCallsPerOp);
}
BENCHMARK(BM_FullOpByName)->Name("op/full/boundarytrace_by_name");

void BM_FullOpBound(benchmark::State &state) {
  bt_op *op = sink().op;
  bench::traced_op(op);
  uint64_t before = bench::recorded(sink().m, "bench.bound");
  for (auto _ : state) bench::traced_op(op);
  if (bench::recorded(sink().m, "bench.bound") - before != static_cast<uint64_t>(state.iterations())) {
    state.SkipWithError("operations recorded != iterations");
  }
  calls_per_iteration(state, kCallsPerOp);
}
BENCHMARK(BM_FullOpBound)->Name("op/full/boundarytrace_bound");

// ---- baselines (bench/baseline_*.hpp) -------------------------------------------

void BM_FullOpSeed(benchmark::State &state) {
  uint64_t before = seed::global_metrics().operation_count();
  for (auto _ : state) seed::traced_operation("bench.seed");
  if (seed::global_metrics().operation_count() - before != static_cast<uint64_t>(state.iterations())) {
    state.SkipWithError("operations recorded != iterations");
  }
}
BENCHMARK(BM_FullOpSeed)->Name("op/full/seed_baseline");

void BM_FullOpMutex(benchmark::State &state) {
  mutexagg::traced_operation("bench.mutex");
  uint64_t before = mutexagg::global().count("bench.mutex");
  for (auto _ : state) mutexagg::traced_operation("bench.mutex");
  if (mutexagg::global().count("bench.mutex") - before != static_cast<uint64_t>(state.iterations())) {
    state.SkipWithError("operations recorded != iterations");
  }
}
BENCHMARK(BM_FullOpMutex)->Name("op/full/mutex_baseline");

// ---- off switches -------------------------------------------------------------

// Run-time: bt_set_enabled(0), then the same calls.
void BM_OffFullOp(benchmark::State &state) {
  bt_op *op = sink().op;
  uint64_t before = bench::recorded(sink().m, "bench.bound");
  bt_set_enabled(0);
  for (auto _ : state) bench::traced_op(op);
  bt_set_enabled(1);
  if (bench::recorded(sink().m, "bench.bound") != before) {
    state.SkipWithError("recorded while disabled");
  }
  calls_per_iteration(state, kCallsPerOp);
}
BENCHMARK(BM_OffFullOp)->Name("offswitch/runtime_full_op");

void BM_OffPhasePair(benchmark::State &state) {
  bt_set_enabled(0);
  bt_tracer *t = nullptr;
  bt_tracer_new_op(&t, sink().op);
  for (auto _ : state) {
    benchmark::DoNotOptimize(bt_phase_begin(t, BT_PHASE_CONVERT));
    benchmark::DoNotOptimize(bt_phase_end(t, BT_PHASE_CONVERT));
  }
  bt_tracer_finish(t);
  bt_tracer_free(t);
  bt_set_enabled(1);
  calls_per_iteration(state, 2);
}
BENCHMARK(BM_OffPhasePair)->Name("offswitch/runtime_begin_end_pair");

// Compile-time: compiled_out.c, built with BT_DISABLE_TRACING. What remains
// is the call into that translation unit.
void BM_CompiledOut(benchmark::State &state) {
  for (auto _ : state) bench_compiled_out_ops(1);
  calls_per_iteration(state, kCallsPerOp);
}
BENCHMARK(BM_CompiledOut)->Name("offswitch/compiled_out_full_op");

// ---- snapshot and formatting of 100 operations ------------------------------------

constexpr int kSnapOps = 100;
constexpr int kRecordsPerOpAndThread = 16;

// A sink holding 100 operations, each recorded from `threads` threads that
// are all alive at once (so each writes its own shards).
bt_metrics *hundred_ops(int threads) {
  static std::map<int, bt_metrics *> cache;
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  bt_metrics *&m = cache[threads];
  if (m) return m;
  bt_metrics_new(&m);
  std::vector<std::string> names;
  for (int i = 0; i < kSnapOps; ++i) names.push_back("snapshot.op_" + std::to_string(1000 + i).substr(1));
  bench::Barrier all_done(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (const auto &name : names) {
        for (int r = 0; r < kRecordsPerOpAndThread; ++r) {
          // Spread over three decades so the histograms hold several chunks.
          bt_timing tm = bench::prepared_timing(name.c_str(), 1 + ((r + t) % 8) * 37);
          bt_metrics_record(m, &tm);
        }
      }
      all_done.wait();
    });
  }
  for (auto &th : pool) th.join();
  return m;
}

void BM_Snapshot(benchmark::State &state) {
  bt_metrics *m = hundred_ops(static_cast<int>(state.range(0)));
  size_t n = 0;
  for (auto _ : state) {
    bt_snapshot *s = nullptr;
    bt_metrics_snapshot(&s, m);
    benchmark::DoNotOptimize(s);
    bt_snapshot_op_count(&n, s);
    bt_snapshot_free(s);
  }
  if (n != kSnapOps) state.SkipWithError("snapshot does not hold 100 operations");
  state.counters["operations"] = static_cast<double>(n);
}
BENCHMARK(BM_Snapshot)->Name("snapshot/100_ops")->ArgName("threads_recorded")->Arg(1)->Arg(2)->Arg(8);

void BM_FormatText(benchmark::State &state) {
  bt_metrics *m = hundred_ops(static_cast<int>(state.range(0)));
  bt_snapshot *s = nullptr;
  if (!bench::ok(state, bt_metrics_snapshot(&s, m), "bt_metrics_snapshot")) return;
  size_t needed = 0;
  bt_snapshot_format(nullptr, 0, &needed, s);
  std::vector<char> buf(needed + 1);
  for (auto _ : state) {
    bt_snapshot_format(buf.data(), buf.size(), &needed, s);
    benchmark::DoNotOptimize(buf.data());
  }
  bt_snapshot_free(s);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(needed));
  state.counters["text_bytes"] = static_cast<double>(needed);
}
BENCHMARK(BM_FormatText)->Name("format/text_100_ops")->ArgName("threads_recorded")->Arg(1)->Arg(2)->Arg(8);

// The machine-readable exports of the same snapshot (bt_snapshot_export).
template <bt_format F>
void BM_Export(benchmark::State &state) {
  bt_metrics *m = hundred_ops(static_cast<int>(state.range(0)));
  bt_snapshot *s = nullptr;
  if (!bench::ok(state, bt_metrics_snapshot(&s, m), "bt_metrics_snapshot")) return;
  size_t needed = 0;
  if (!bench::ok(state, bt_snapshot_export(nullptr, 0, &needed, s, F), "bt_snapshot_export")) {
    bt_snapshot_free(s);
    return;
  }
  std::vector<char> buf(needed + 1);
  for (auto _ : state) {
    bt_snapshot_export(buf.data(), buf.size(), &needed, s, F);
    benchmark::DoNotOptimize(buf.data());
  }
  bt_snapshot_free(s);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(needed));
  state.counters["text_bytes"] = static_cast<double>(needed);
}
BENCHMARK_TEMPLATE(BM_Export, BT_FORMAT_JSON)
    ->Name("format/json_100_ops")->ArgName("threads_recorded")->Arg(1)->Arg(2)->Arg(8);
BENCHMARK_TEMPLATE(BM_Export, BT_FORMAT_PROMETHEUS)
    ->Name("format/prometheus_100_ops")->ArgName("threads_recorded")->Arg(1)->Arg(2)->Arg(8);

}  // namespace

int main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  bench::add_context();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
