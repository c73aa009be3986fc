// Peers (issue 15): boundarytrace beside prometheus-cpp (Debian
// prometheus-cpp-dev, the core library) doing the same four-phase operation,
// side by side in one run.
//
//  - peers/op/boundarytrace_bound: bt_tracer_new_op, 4 x (bt_phase_begin,
//    bt_phase_end), bt_tracer_finish, bt_tracer_free (bench::traced_op): 10
//    clock reads, the phases and the total into per-phase histograms;
//  - peers/op/prometheus_cpp: the same four phases timed with
//    std::chrono::steady_clock (10 reads: start, 8 phase edges, end) and five
//    Histogram::Observe calls on children bound once (labels op and phase,
//    phase = extract, convert, network, materialize and total);
//  - the same two with 1 and 2 threads recording into one operation (wall-time
//    rates), beside a control that shares nothing (its ratio is what the
//    machine allowed in this run);
//  - peers/observe/prometheus_cpp_*: one Observe of a value in the first bucket
//    (what an empty phase observes) and of 1 ms: prometheus-cpp finds the
//    bucket by a linear search over the boundaries.
//
// The histograms are as fine as boundarytrace's: base-2 exponential buckets at
// scale 4 (16 per power of two) over 1 µs .. 10 s, 372 boundaries.
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "bench_common.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// 2^(k/16) s for every k with 1 µs <= 2^(k/16) s <= 10 s.
std::vector<double> fine_boundaries() {
  std::vector<double> b;
  int lo = static_cast<int>(std::ceil(16.0 * std::log2(1e-6)));
  int hi = static_cast<int>(std::floor(16.0 * std::log2(10.0)));
  for (int k = lo; k <= hi; ++k) b.push_back(std::exp2(k / 16.0));
  return b;
}

struct Prom {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Histogram> *family = nullptr;
  // extract, convert, network, materialize, total
  prometheus::Histogram *h[5] = {};
  std::vector<double> bounds = fine_boundaries();
  Prom() {
    family = &prometheus::BuildHistogram()
                  .Name("bench_phase_seconds")
                  .Help("Phase and operation time")
                  .Register(*registry);
    const char *names[5] = {"extract", "convert", "network", "materialize", "total"};
    for (int i = 0; i < 5; ++i) h[i] = &family->Add({{"op", "peers.op"}, {"phase", names[i]}}, bounds);
  }
  uint64_t count() const {  // observations of the total so far
    return h[4]->Collect().histogram.sample_count;
  }
};

Prom &prom() {
  static Prom p;
  return p;
}

bench::Sink &sink() {
  static bench::Sink s("peers.op");
  return s;
}

inline double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// The four-phase operation, prometheus-cpp style: steady_clock and five
// observations on children bound once.
inline void prom_op(prometheus::Histogram *const *h) {
  Clock::time_point t0 = Clock::now();
  for (int p = 0; p < 4; ++p) {
    Clock::time_point a = Clock::now();
    Clock::time_point b = Clock::now();
    h[p]->Observe(seconds(a, b));
  }
  h[4]->Observe(seconds(t0, Clock::now()));
}

// Thread 0 checks, once every thread has left the loop, that each iteration of
// each thread was recorded once.
template <class Count>
void check_counts(benchmark::State &state, uint64_t before, Count count) {
  if (state.thread_index() != 0) return;
  uint64_t want = static_cast<uint64_t>(state.iterations()) * static_cast<uint64_t>(state.threads());
  if (count() - before != want) state.SkipWithError("operations recorded != iterations x threads");
}

void BM_Library(benchmark::State &state) {
  bt_op *op = sink().op;
  auto count = [] { return bench::recorded(sink().m, "peers.op"); };
  uint64_t before = state.thread_index() == 0 ? count() : 0;
  for (auto _ : state) bench::traced_op(op);
  state.SetItemsProcessed(state.iterations());
  check_counts(state, before, count);
}
BENCHMARK(BM_Library)->Name("peers/op/boundarytrace_bound");
BENCHMARK(BM_Library)->Name("peers/scaling/boundarytrace_bound")->Threads(1)->Threads(2)->UseRealTime();

void BM_Prom(benchmark::State &state) {
  Prom &p = prom();
  auto count = [&p] { return p.count(); };
  uint64_t before = state.thread_index() == 0 ? count() : 0;
  for (auto _ : state) prom_op(p.h);
  state.SetItemsProcessed(state.iterations());
  check_counts(state, before, count);
}
BENCHMARK(BM_Prom)->Name("peers/op/prometheus_cpp");
BENCHMARK(BM_Prom)->Name("peers/scaling/prometheus_cpp")->Threads(1)->Threads(2)->UseRealTime();

// One Observe, its value in the first bucket or at 1 ms (bucket 160 of 373).
void BM_PromObserve(benchmark::State &state) {
  prometheus::Histogram *h = prom().h[0];
  const double v = state.range(0) == 0 ? 50e-9 : 1e-3;
  for (auto _ : state) h->Observe(v);
}
BENCHMARK(BM_PromObserve)->Name("peers/observe/prometheus_cpp_50ns")->Arg(0);
BENCHMARK(BM_PromObserve)->Name("peers/observe/prometheus_cpp_1ms")->Arg(1);

// Private work of about a record's duration, sharing nothing (bench_scaling's
// control): its 2/1 rate ratio is the most any implementation could reach.
void BM_ControlPrivate(benchmark::State &state) { bench::control_private_work(state); }
BENCHMARK(BM_ControlPrivate)->Name("peers/control/private_work")->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

int main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  bench::add_context();
#ifdef BT_PROMETHEUS_CPP_VERSION
  benchmark::AddCustomContext("prometheus_cpp_version", BT_PROMETHEUS_CPP_VERSION);
#endif
  benchmark::AddCustomContext("prometheus_cpp_buckets", std::to_string(prom().bounds.size()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
