// Memory held by boundarytrace, measured as glibc heap deltas (mallinfo2:
// bytes in use from malloc, plus mmap'ed blocks) around each step:
//   a new metrics sink; an operation bound in it; the first thread that
//   records; N more threads (their own state, then one operation each);
//   and what stays once those threads have exited.
// The process runs with a single malloc arena, because mallinfo2 reports the
// main arena only, and without glibc's per-thread cache (tcache), whose free
// chunks mallinfo2 counts as in use: main() re-executes the program with
// GLIBC_TUNABLES=glibc.malloc.tcache_count=0:glibc.malloc.arena_max=1.
// Results are benchmark counters in bytes; the time figures are meaningless.
#include <malloc.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <string>
#include <thread>
#include <vector>

#include "bench_common.hpp"

namespace {

constexpr int kThreads = 8;

int64_t heap_bytes() {
  struct mallinfo2 mi = mallinfo2();
  return static_cast<int64_t>(mi.uordblks + mi.hblkhd);
}

// A tracer made and dropped without finishing: the thread's reusable tracer
// exists afterwards, and nothing is recorded.
void warm_thread(bt_op *op) {
  bt_tracer *t = nullptr;
  bt_tracer_new_op(&t, op);
  bt_tracer_free(t);
}

void BM_MemoryOneRecord(benchmark::State &state) {
  for (auto _ : state) {
    bt_metrics *m = nullptr;
    bt_op *op = nullptr;
    int64_t m0 = heap_bytes();
    bt_metrics_new(&m);
    int64_t m1 = heap_bytes();
    bt_op_lookup(&op, m, "memory.op");
    int64_t m2 = heap_bytes();
    warm_thread(op);
    int64_t m3 = heap_bytes();
    bench::traced_op(op);
    int64_t m4 = heap_bytes();

    int64_t m5 = 0, m6 = 0;
    bench::Barrier sync(kThreads + 1);
    std::vector<std::thread> pool;
    for (int i = 0; i < kThreads; ++i) {
      pool.emplace_back([&] {
        warm_thread(op);
        sync.wait();  // A: main measures the threads' own state
        sync.wait();  // B
        bench::traced_op(op);
        sync.wait();  // C: main measures one operation per thread
        sync.wait();  // D: exit
      });
    }
    sync.wait();
    m5 = heap_bytes();
    sync.wait();
    sync.wait();
    m6 = heap_bytes();
    sync.wait();
    for (auto &t : pool) t.join();
    pool.clear();
    pool.shrink_to_fit();
    int64_t m7 = heap_bytes();

    if (bench::recorded(m, "memory.op") != 1 + kThreads) state.SkipWithError("records missing");
    bt_metrics_free(m);
    int64_t m8 = heap_bytes();

    state.counters["metrics_new_bytes"] = static_cast<double>(m1 - m0);
    state.counters["op_bound_bytes"] = static_cast<double>(m2 - m1);
    state.counters["thread_state_bytes"] = static_cast<double>(m3 - m2);
    state.counters["op_first_thread_bytes"] = static_cast<double>(m4 - m3);
    state.counters["more_threads_state_bytes_per_thread"] = static_cast<double>(m5 - m4) / kThreads;
    state.counters["op_per_thread_bytes"] = static_cast<double>(m6 - m5) / kThreads;
    state.counters["after_exit_bytes_per_thread"] = static_cast<double>(m7 - m4) / kThreads;
    state.counters["after_exit_total_bytes"] = static_cast<double>(m7 - m0);
    state.counters["after_free_bytes"] = static_cast<double>(m8 - m0);
    state.counters["threads"] = kThreads;
  }
}
BENCHMARK(BM_MemoryOneRecord)->Name("memory/one_record_per_thread")->Iterations(1)->Repetitions(1);

// The same, but each thread records operations whose phases spread over six
// decades (1 us .. 1 s), so every histogram holds many bucket chunks: a
// bound on what a long-running, highly variable operation costs per thread.
void BM_MemoryWide(benchmark::State &state) {
  for (auto _ : state) {
    bt_metrics *m = nullptr;
    bt_op *op = nullptr;
    bt_metrics_new(&m);
    bt_op_lookup(&op, m, "memory.wide");
    bench::Barrier sync(kThreads + 1);
    std::vector<std::thread> pool;
    for (int i = 0; i < kThreads; ++i) {
      pool.emplace_back([&] {
        warm_thread(op);
        sync.wait();
        sync.wait();
        for (int e = 10; e <= 30; ++e) {  // 2^10 ns ~ 1 us .. 2^30 ns ~ 1 s
          for (int s = 0; s < 16; ++s) {
            uint64_t v = (1ull << e) + (static_cast<uint64_t>(s) << (e - 4));
            bt_timing t = BT_TIMING_INIT;
            t.op_name = "memory.wide";
            for (int p = BT_PHASE_EXTRACT; p <= BT_PHASE_MATERIALIZE; ++p) {
              t.phase_ns[p] = v;
              t.phase_entries[p] = 1;
            }
            t.total_ns = 5 * v;
            bt_metrics_record(m, &t);
          }
        }
        sync.wait();
        sync.wait();
      });
    }
    sync.wait();
    int64_t a = heap_bytes();
    sync.wait();
    sync.wait();
    int64_t b = heap_bytes();
    sync.wait();
    for (auto &t : pool) t.join();
    if (bench::recorded(m, "memory.wide") != 21u * 16u * kThreads) state.SkipWithError("records missing");
    bt_metrics_free(m);
    state.counters["op_per_thread_bytes"] = static_cast<double>(b - a) / kThreads;
    state.counters["threads"] = kThreads;
  }
}
BENCHMARK(BM_MemoryWide)->Name("memory/wide_distribution_per_thread")->Iterations(1)->Repetitions(1);

}  // namespace

constexpr const char *kTunables = "glibc.malloc.tcache_count=0:glibc.malloc.arena_max=1";

int main(int argc, char **argv) {
  const char *have = std::getenv("GLIBC_TUNABLES");
  if (!have || std::strcmp(have, kTunables) != 0) {
    setenv("GLIBC_TUNABLES", kTunables, 1);
    execv("/proc/self/exe", argv);
    std::perror("bench_memory: re-exec with GLIBC_TUNABLES");
    return 1;
  }
  mallopt(M_ARENA_MAX, 1);  // belt and braces: one arena even if the tunable is ignored
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  bench::add_context();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
