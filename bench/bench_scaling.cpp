// Scaling: records per second with 1 and 2 threads recording into ONE
// operation, for boundarytrace and both baselines, side by side in one run.
//  - record/*: the record step alone (a finished timing into the metrics);
//  - op/*:     the full traced four-phase operation.
// Google Benchmark runs the same body on N threads; with UseRealTime,
// items_per_second is the combined rate, so rate(2)/rate(1) is the scaling.
// control/private_work shares nothing: its ratio is what the machine allowed.
#include "baseline_mutex.hpp"
#include "baseline_seed.hpp"
#include "bench_common.hpp"

namespace {

bench::Sink &sink() {
  static bench::Sink s("scale.op");
  return s;
}

// Thread 0 checks, after every thread has left the loop, that each iteration
// of each thread was recorded once.
class CountCheck {
 public:
  template <class Count>
  CountCheck(benchmark::State &state, Count count) : state_(state) {
    if (state.thread_index() == 0) before_ = count();
  }
  template <class Count>
  void after(Count count) {
    if (state_.thread_index() != 0) return;
    uint64_t want = static_cast<uint64_t>(state_.iterations()) * static_cast<uint64_t>(state_.threads());
    if (count() - before_ != want) state_.SkipWithError("operations recorded != iterations x threads");
  }

 private:
  benchmark::State &state_;
  uint64_t before_ = 0;
};

// ---- the record step alone -------------------------------------------------------

void BM_RecordLibrary(benchmark::State &state) {
  static const bt_timing timing = bench::prepared_timing("scale.record");
  bt_metrics *m = sink().m;
  auto count = [&] { return bench::recorded(m, "scale.record"); };
  CountCheck check(state, count);
  for (auto _ : state) bt_metrics_record(m, &timing);
  state.SetItemsProcessed(state.iterations());
  check.after(count);
}
BENCHMARK(BM_RecordLibrary)->Name("record/boundarytrace")->Threads(1)->Threads(2)->UseRealTime();

void BM_RecordSeed(benchmark::State &state) {
  seed::BoundaryTiming timing;
  timing.operation = "scale.record";
  timing.extract_us = 1;
  timing.convert_us = 3;
  timing.network_us = 6;
  timing.materialize_us = 1;
  timing.total_us = 12;
  timing.doc_count = 100;
  timing.gil_release_count = 1;
  auto count = [] { return seed::global_metrics().operation_count(); };
  CountCheck check(state, count);
  for (auto _ : state) seed::global_metrics().record(timing);
  state.SetItemsProcessed(state.iterations());
  check.after(count);
}
BENCHMARK(BM_RecordSeed)->Name("record/seed_baseline")->Threads(1)->Threads(2)->UseRealTime();

void BM_RecordMutex(benchmark::State &state) {
  const bt_timing src = bench::prepared_timing("scale.record");
  mutexagg::Timing timing;
  timing.op_name = src.op_name;
  timing.total_ns = src.total_ns;
  timing.items = src.items;
  timing.gil_releases = src.gil_releases;
  timing.workers = src.workers;
  for (int p = 0; p < mutexagg::kPhases; ++p) {
    timing.phase_ns[p] = src.phase_ns[p];
    timing.phase_entries[p] = src.phase_entries[p];
  }
  auto count = [] { return mutexagg::global().count("scale.record"); };
  CountCheck check(state, count);
  for (auto _ : state) mutexagg::global().record(timing);
  state.SetItemsProcessed(state.iterations());
  check.after(count);
}
BENCHMARK(BM_RecordMutex)->Name("record/mutex_baseline")->Threads(1)->Threads(2)->UseRealTime();

// ---- the full traced operation ------------------------------------------------------

void BM_OpLibrary(benchmark::State &state) {
  bt_op *op = sink().op;
  auto count = [] { return bench::recorded(sink().m, "scale.op"); };
  CountCheck check(state, count);
  for (auto _ : state) bench::traced_op(op);
  state.SetItemsProcessed(state.iterations());
  check.after(count);
}
BENCHMARK(BM_OpLibrary)->Name("op/boundarytrace_bound")->Threads(1)->Threads(2)->UseRealTime();

void BM_OpSeed(benchmark::State &state) {
  auto count = [] { return seed::global_metrics().operation_count(); };
  CountCheck check(state, count);
  for (auto _ : state) seed::traced_operation("scale.op");
  state.SetItemsProcessed(state.iterations());
  check.after(count);
}
BENCHMARK(BM_OpSeed)->Name("op/seed_baseline")->Threads(1)->Threads(2)->UseRealTime();

void BM_OpMutex(benchmark::State &state) {
  auto count = [] { return mutexagg::global().count("scale.op"); };
  CountCheck check(state, count);
  for (auto _ : state) mutexagg::traced_operation("scale.op");
  state.SetItemsProcessed(state.iterations());
  check.after(count);
}
BENCHMARK(BM_OpMutex)->Name("op/mutex_baseline")->Threads(1)->Threads(2)->UseRealTime();

// ---- control: how much parallelism the machine gave this run -----------------------

// Private work of about a record's duration, sharing nothing: its 2/1 rate
// ratio is the best any implementation could show in this run (2.0 on two
// idle cores, less when other processes take a core).
void BM_ControlPrivate(benchmark::State &state) { bench::control_private_work(state); }
BENCHMARK(BM_ControlPrivate)->Name("control/private_work")->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

int main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  bench::add_context();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
