// A plain driver for callgrind (bench/run --profile): runs one hot path n
// times inside profile_counted(), so `valgrind --tool=callgrind
// --toggle-collect=profile_counted` counts exactly those instructions (the
// warm-up before it is not counted) and the count per operation is total / n. Instruction counts are repeatable where
// timings are not (a shared, noisy machine).
//   profile_hot_path bound|shared|by_name|record|phase_pair|seed|mutex [n]
// shared: the bound operation of a shared sink (bt_metrics_open_shared) in a
// fresh directory under /dev/shm, removed at the end.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "baseline_mutex.hpp"
#include "baseline_seed.hpp"
#include "bench_common.hpp"
#include "bench_fs.hpp"

namespace {

bt_metrics *g_m = nullptr;
bt_op *g_op = nullptr;
bt_timing g_timing;
bt_tracer *g_open = nullptr;

}  // namespace

static __attribute__((noinline)) void run(const char *what, long n) {
  if (std::strcmp(what, "bound") == 0 || std::strcmp(what, "shared") == 0) {
    for (long i = 0; i < n; ++i) bench::traced_op(g_op);
  } else if (std::strcmp(what, "by_name") == 0) {
    for (long i = 0; i < n; ++i) bench::traced_op_by_name(g_m, "profile.op");
  } else if (std::strcmp(what, "record") == 0) {
    for (long i = 0; i < n; ++i) bt_metrics_record(g_m, &g_timing);
  } else if (std::strcmp(what, "phase_pair") == 0) {
    for (long i = 0; i < n; ++i) {
      bt_phase_begin(g_open, BT_PHASE_CONVERT);
      bt_phase_end(g_open, BT_PHASE_CONVERT);
    }
  } else if (std::strcmp(what, "seed") == 0) {
    for (long i = 0; i < n; ++i) seed::traced_operation("profile.op");
  } else if (std::strcmp(what, "mutex") == 0) {
    for (long i = 0; i < n; ++i) mutexagg::traced_operation("profile.op");
  }
}

extern "C" __attribute__((noinline)) void profile_counted(const char *what, long n) { run(what, n); }

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s bound|shared|by_name|record|phase_pair|seed|mutex [n]\n", argv[0]);
    return 2;
  }
  long n = argc > 2 ? std::atol(argv[2]) : 100000;
  char dir[] = "/dev/shm/bt-profile-XXXXXX";
  const bool shared = std::strcmp(argv[1], "shared") == 0;
  if (shared) {
    if (!mkdtemp(dir) || bt_metrics_open_shared(&g_m, dir) != BT_OK) {
      std::fprintf(stderr, "%s: cannot open a shared sink in %s\n", argv[0], dir);
      return 1;
    }
  } else {
    bt_metrics_new(&g_m);
  }
  bt_op_lookup(&g_op, g_m, "profile.op");
  g_timing = bench::prepared_timing("profile.op");
  bt_tracer_new_op(&g_open, g_op);
  // Warm-up outside the counted region: first allocations, calibration.
  run(argv[1], 1000);
  std::printf("profiling %s x %ld\n", argv[1], n);
  std::fflush(stdout);
  profile_counted(argv[1], n);
  bt_tracer_finish(g_open);
  bt_tracer_free(g_open);
  bt_metrics_free(g_m);
  if (shared) bench::remove_dir(dir);
  return 0;
}
