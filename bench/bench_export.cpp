// Snapshot plus export at scale (issue 13's export table, issue 15's fleet
// scrape), side by side in one run, repetitions interleaved:
//  - export/<source>/ops:<N>/snapshot     the snapshot alone: bt_metrics_snapshot
//                                          of an in-heap sink, or the merge of a
//                                          shared directory (bt_snapshot_read_shared),
//                                          + bt_snapshot_free;
//  - export/<source>/ops:<N>/export:<f>   the export alone, of a snapshot taken once
//                                          (bt_snapshot_format for "text", else
//                                          bt_snapshot_export);
//  - export/<source>/ops:<N>/scrape:<f>   what a scrape does: snapshot (or merge) +
//                                          export + free, back to back;
//  - export/<source>/ops:<N>/scrape_cold:<f>  the same with the caches evicted before
//                                          each (untimed), as a scrape every 15 s
//                                          finds them (the 32-process and 64-thread
//                                          sources, the two Prometheus formats).
// Formats <f>: text (the human report), openmetrics, prometheus (text 0.0.4),
// prometheus_protobuf (native histograms), otlp_protobuf, json.
// Sources, each holding N distinct operation names, every operation recorded
// with four phases of µs .. ms latencies spread over three octaves (so its
// histograms hold a dozen buckets or more, as a real service's do):
//  - heap_1thread:    one in-heap sink (bt_metrics_new), one thread, 16 records
//                     per operation (N = 100, 1,000: BT_MAX_OPS is 1,024 per sink);
//  - shared_10proc:   a shared directory written by 10 live worker processes
//                     (forked; each opens it with bt_metrics_open_shared), each
//                     recording its own N/10 names 16 times (N = 100, 1,000, 10,000);
//  - heap_64threads:  one in-heap sink, 64 threads alive at once, each recording
//                     every operation twice (64 shards per operation; N = 100, 1,000);
//  - shared_32proc:   32 live workers of a pre-fork server: each records the same
//                     N names 4 times (N = 100, 1,000: the merge folds 32 x N
//                     per-process aggregates);
//  - shared_32proc_distinct: 32 live workers, each recording its own ~N/32 names
//                     16 times (N = 1,000, 10,000: 32 x ~313 names).
// Counters: ops (in the snapshot), bytes (of the export), bytes_per_op.
// BT_BENCH_SMOKE=1 (bench/run --smoke, CTest's bench_smoke) divides the
// operation counts by 10 and uses 8 threads and 4 processes where 64 and 32.
// BT_BENCH_EXPORT_SOURCES=heap_64threads:1000,... builds only those sources
// (to profile one: valgrind --tool=callgrind --collect-atstart=no
// --toggle-collect=bt_metrics_snapshot ... --benchmark_filter=...).
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.hpp"
#include "bench_fs.hpp"

namespace {

using bench::remove_dir;
using bench::read_all;

bool smoke() {
  const char *s = std::getenv("BT_BENCH_SMOKE");
  return s && *s && std::strcmp(s, "0") != 0;
}

// ---- formats --------------------------------------------------------------------------

constexpr int kTextReport = -1;  // bt_snapshot_format, not bt_snapshot_export
struct Format {
  const char *name;
  int format;
};
const Format kFormats[] = {
    {"text", kTextReport},
    {"openmetrics", BT_FORMAT_OPENMETRICS},
    {"prometheus", BT_FORMAT_PROMETHEUS},
    {"prometheus_protobuf", BT_FORMAT_PROMETHEUS_PROTOBUF},
    {"otlp_protobuf", BT_FORMAT_OTLP_PROTOBUF},
    {"json", BT_FORMAT_JSON},
};

bt_status render(std::vector<char> &buf, size_t *needed, const bt_snapshot *s, int format) {
  bt_status st = format == kTextReport
                     ? bt_snapshot_format(buf.data(), buf.size(), needed, s)
                     : bt_snapshot_export(buf.data(), buf.size(), needed, s,
                                          static_cast<bt_format>(format));
  if (st == BT_OK && *needed >= buf.size()) {  // grew (a heap snapshot's times): again
    buf.resize(*needed + *needed / 16 + 4096);
    st = format == kTextReport ? bt_snapshot_format(buf.data(), buf.size(), needed, s)
                               : bt_snapshot_export(buf.data(), buf.size(), needed, s,
                                                    static_cast<bt_format>(format));
  }
  return st;
}

// ---- what gets recorded ---------------------------------------------------------------

uint64_t mix(uint64_t x) {  // splitmix64
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// A value log-uniform over [base/2, base*4): three octaves around `base`.
uint64_t spread(uint64_t base, uint64_t &rng) {
  rng = mix(rng);
  const double u = static_cast<double>(rng >> 11) * (1.0 / 9007199254740992.0);  // [0, 1)
  return static_cast<uint64_t>(static_cast<double>(base) * std::exp2(3.0 * u - 1.0));
}

std::string op_name(int i) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "svc.endpoint_%05d", i);
  return buf;
}

// One operation of a service: extract ~5 µs, convert ~40 µs, network ~800 µs,
// materialize ~20 µs (each over three octaves), a little unattributed time,
// a few items, a GIL release; one in 64 is an error.
bt_timing service_timing(const char *name, uint64_t seed) {
  uint64_t rng = mix(seed);
  bt_timing t = BT_TIMING_INIT;
  t.op_name = name;
  t.phase_ns[BT_PHASE_EXTRACT] = spread(5000, rng);
  t.phase_ns[BT_PHASE_CONVERT] = spread(40000, rng);
  t.phase_ns[BT_PHASE_NETWORK] = spread(800000, rng);
  t.phase_ns[BT_PHASE_MATERIALIZE] = spread(20000, rng);
  uint64_t sum = 0;
  for (int p = BT_PHASE_EXTRACT; p <= BT_PHASE_MATERIALIZE; ++p) {
    t.phase_entries[p] = 1;
    sum += t.phase_ns[p];
  }
  t.total_ns = sum + spread(2000, rng);
  t.items = 1 + (rng >> 7) % 100;
  t.gil_releases = 1;
  t.workers = 1;
  if ((rng >> 20) % 64 == 0) t.flags = BT_TIMING_ERROR;
  return t;
}

// Records operations [first, last) `records` times each into m, seeds from `who`.
bt_status record_ops(bt_metrics *m, int first, int last, int records, uint64_t who) {
  std::vector<std::string> names;
  for (int i = first; i < last; ++i) names.push_back(op_name(i));
  for (int r = 0; r < records; ++r) {
    for (int i = first; i < last; ++i) {
      const uint64_t seed = (who << 40) ^ (static_cast<uint64_t>(i) << 8) ^ static_cast<uint64_t>(r);
      bt_timing t = service_timing(names[static_cast<size_t>(i - first)].c_str(), seed);
      bt_status st = bt_metrics_record(m, &t);
      if (st != BT_OK) return st;
    }
  }
  return BT_OK;
}

// ---- shared directories under /dev/shm, live workers -----------------------------------

// Write ends of the pipes live workers wait on (EOF: leave). Every forked
// child closes them all, so that only the parent keeps workers waiting.
std::vector<int> &hold_fds() {
  static std::vector<int> fds;
  return fds;
}

// ---- sources --------------------------------------------------------------------------

struct Source {
  std::string label;
  int ops = 0;
  int processes = 0;        // shared directory: live workers
  int threads = 0;          // in-heap sink: recording threads
  bool same_names = false;  // every worker (thread) records every operation
  int records = 0;          // records per operation and worker (thread)
  bt_metrics *heap = nullptr;
  std::string dir;
  std::vector<pid_t> workers;
  int hold = -1;
  std::string error;
  double build_seconds = 0;

  bt_status snapshot(bt_snapshot **out) const {
    return heap ? bt_metrics_snapshot(out, heap) : bt_snapshot_read_shared(out, dir.c_str());
  }
  // Operations recorded in all, for the check.
  uint64_t want_count() const {
    const int recorders = heap ? threads : processes;
    return static_cast<uint64_t>(ops) * static_cast<uint64_t>(records) *
           static_cast<uint64_t>(same_names ? recorders : 1);
  }
};

void build_heap(Source &s) {
  if (bt_metrics_new(&s.heap) != BT_OK) {
    s.error = "bt_metrics_new";
    return;
  }
  bench::Barrier all_done(s.threads);
  std::vector<std::thread> pool;
  std::vector<bt_status> status(static_cast<size_t>(s.threads), BT_OK);
  for (int t = 0; t < s.threads; ++t) {
    pool.emplace_back([&, t] {
      int first = 0, last = s.ops;
      if (!s.same_names) {
        first = static_cast<int>(static_cast<long>(s.ops) * t / s.threads);
        last = static_cast<int>(static_cast<long>(s.ops) * (t + 1) / s.threads);
      }
      status[static_cast<size_t>(t)] = record_ops(s.heap, first, last, s.records, static_cast<uint64_t>(t));
      all_done.wait();  // every thread alive at once: each writes shards of its own
    });
  }
  for (auto &th : pool) th.join();
  for (bt_status st : status) {
    if (st != BT_OK) s.error = std::string("bt_metrics_record: ") + bt_status_name(st);
  }
}

void build_shared(Source &s) {
  std::string tmpl = "/dev/shm/bt-bench-export-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) {
    s.error = std::string("mkdtemp under /dev/shm: ") + std::strerror(errno);
    return;
  }
  s.dir = buf.data();
  int p[2], ready[2];
  if (pipe(p) != 0 || pipe(ready) != 0) {
    s.error = "pipe";
    return;
  }
  for (int w = 0; w < s.processes; ++w) {
    pid_t pid = fork();
    if (pid < 0) {
      s.error = "fork";
      break;
    }
    if (pid == 0) {
      for (int fd : hold_fds()) close(fd);
      close(p[1]);
      close(ready[0]);
      bt_metrics *m = nullptr;
      if (bt_metrics_open_shared(&m, s.dir.c_str()) != BT_OK) _exit(2);
      int first = 0, last = s.ops;
      if (!s.same_names) {
        first = static_cast<int>(static_cast<long>(s.ops) * w / s.processes);
        last = static_cast<int>(static_cast<long>(s.ops) * (w + 1) / s.processes);
      }
      char c = record_ops(m, first, last, s.records, static_cast<uint64_t>(w)) == BT_OK ? 'r' : 'e';
      if (write(ready[1], &c, 1) != 1) _exit(3);
      ssize_t r;
      do r = read(p[0], &c, 1); while (r < 0 && errno == EINTR);  // EOF: the program ends
      _exit(0);
    }
    s.workers.push_back(pid);
  }
  close(p[0]);
  close(ready[1]);
  s.hold = p[1];
  hold_fds().push_back(s.hold);
  std::vector<char> got(s.workers.size());
  if (!read_all(ready[0], got.data(), got.size())) {
    s.error = "a worker process failed";
  } else {
    for (char c : got) {
      if (c != 'r') s.error = "a worker could not record";
    }
  }
  close(ready[0]);
}

// Checks the snapshot: N operations, every record in it, nothing skipped.
void check(Source &s) {
  if (!s.error.empty()) return;
  bt_snapshot *snap = nullptr;
  if (s.snapshot(&snap) != BT_OK) {
    s.error = "snapshot";
    return;
  }
  bt_snapshot_info info = BT_SNAPSHOT_INFO_INIT;
  bt_snapshot_get_info(&info, snap);
  uint64_t count = 0;
  for (size_t i = 0; i < info.op_count; ++i) {
    bt_op_stats st = BT_OP_STATS_INIT;
    bt_snapshot_op_stats(&st, snap, i);
    count += st.count;
  }
  bt_snapshot_free(snap);
  if (info.op_count != static_cast<size_t>(s.ops)) {
    s.error = "snapshot holds " + std::to_string(info.op_count) + " operations, not " +
              std::to_string(s.ops);
  } else if (count != s.want_count()) {
    s.error = "snapshot counts " + std::to_string(count) + " operations recorded, not " +
              std::to_string(s.want_count());
  } else if (info.skipped != 0 || (!s.heap && info.processes != static_cast<uint32_t>(s.processes))) {
    s.error = "the merge skipped files or missed a process";
  }
}

std::vector<std::unique_ptr<Source>> &sources() {
  static std::vector<std::unique_ptr<Source>> all;
  return all;
}

Source &add_source(const char *label, int ops, int processes, int threads, bool same, int records) {
  const bool sm = smoke();
  std::unique_ptr<Source> s(new Source);
  s->label = label;
  s->ops = sm ? ops / 10 : ops;
  s->processes = sm && processes > 10 ? 4 : processes;
  s->threads = sm && threads > 1 ? 8 : threads;
  s->same_names = same;
  s->records = records;
  const uint64_t t0 = bench::monotonic_ns();
  if (processes) build_shared(*s); else build_heap(*s);
  s->build_seconds = static_cast<double>(bench::monotonic_ns() - t0) * 1e-9;
  check(*s);
  sources().push_back(std::move(s));
  return *sources().back();
}

void set_counters(benchmark::State &state, const Source &s) {
  state.counters["ops"] = s.ops;
  state.counters["processes"] = s.processes;
  state.counters["threads"] = s.threads;
  state.counters["records_per_op"] = static_cast<double>(s.want_count()) / s.ops;
}

// ---- benchmarks -----------------------------------------------------------------------

void BM_Snapshot(benchmark::State &state, const Source *s) {
  if (!s->error.empty()) {
    state.SkipWithError(s->error.c_str());
    return;
  }
  bt_status status = BT_OK;
  for (auto _ : state) {
    bt_snapshot *snap = nullptr;
    status = static_cast<bt_status>(status | s->snapshot(&snap));
    benchmark::DoNotOptimize(snap);
    bt_snapshot_free(snap);
  }
  if (!bench::ok(state, status, s->heap ? "bt_metrics_snapshot" : "bt_snapshot_read_shared")) return;
  set_counters(state, *s);
}

void BM_Export(benchmark::State &state, const Source *s, int format) {
  if (!s->error.empty()) {
    state.SkipWithError(s->error.c_str());
    return;
  }
  bt_snapshot *snap = nullptr;
  if (!bench::ok(state, s->snapshot(&snap), "snapshot")) return;
  std::vector<char> buf(4096);
  size_t needed = 0;
  bt_status status = render(buf, &needed, snap, format);
  for (auto _ : state) {
    status = static_cast<bt_status>(status | render(buf, &needed, snap, format));
    benchmark::DoNotOptimize(buf.data());
  }
  bt_snapshot_free(snap);
  if (!bench::ok(state, status, "export")) return;
  set_counters(state, *s);
  state.counters["bytes"] = static_cast<double>(needed);
  state.counters["bytes_per_op"] = static_cast<double>(needed) / s->ops;
}

// Evicts the caches: reads a buffer past the last level's size (the
// virtual machine reports 480 MiB of L3, of which it keeps far less).
void evict_caches() {
  static std::vector<uint64_t> junk(512u << 20 >> 3, 1);
  uint64_t sum = 0;
  for (std::size_t i = 0; i < junk.size(); i += 8) sum += junk[i];
  benchmark::DoNotOptimize(sum);
}

// `cold`: as a scraper polling every 15 s or more finds the machine, the
// workers' files and the scraper's heap no longer in the caches (evicted,
// untimed, before each). Back-to-back scrapes find what the last one read,
// which stays cached while it fits, so their growth with the operations
// measures the cache's size too.
void BM_Scrape(benchmark::State &state, const Source *s, int format, bool cold) {
  if (!s->error.empty()) {
    state.SkipWithError(s->error.c_str());
    return;
  }
  std::vector<char> buf(4096);
  size_t needed = 0;
  bt_status status = BT_OK;
  {  // size the buffer once, as a server keeps its buffer from one scrape to the next
    bt_snapshot *snap = nullptr;
    status = s->snapshot(&snap);
    if (status == BT_OK) status = render(buf, &needed, snap, format);
    bt_snapshot_free(snap);
  }
  for (auto _ : state) {
    if (cold) {
      state.PauseTiming();
      evict_caches();
      state.ResumeTiming();
    }
    bt_snapshot *snap = nullptr;
    status = static_cast<bt_status>(status | s->snapshot(&snap));
    status = static_cast<bt_status>(status | render(buf, &needed, snap, format));
    benchmark::DoNotOptimize(buf.data());
    bt_snapshot_free(snap);
  }
  if (!bench::ok(state, status, "snapshot + export")) return;
  set_counters(state, *s);
  state.counters["bytes"] = static_cast<double>(needed);
  state.counters["bytes_per_op"] = static_cast<double>(needed) / s->ops;
}

void register_source(const Source &s, int nominal_ops) {
  const std::string base = "export/" + s.label + "/ops:" + std::to_string(nominal_ops) + "/";
  benchmark::RegisterBenchmark((base + "snapshot").c_str(), BM_Snapshot, &s);
  for (const Format &f : kFormats) {
    benchmark::RegisterBenchmark((base + "export:" + f.name).c_str(), BM_Export, &s, f.format);
    benchmark::RegisterBenchmark((base + "scrape:" + f.name).c_str(), BM_Scrape, &s, f.format, false);
  }
  // Issue 15's fleet scrapes (32 processes, 64 threads): the two Prometheus expositions.
  if (s.label.rfind("shared_32proc", 0) == 0 || s.label == "heap_64threads") {
    for (int format : {BT_FORMAT_PROMETHEUS, BT_FORMAT_PROMETHEUS_PROTOBUF}) {
      for (const Format &f : kFormats) {
        if (f.format == format)
          benchmark::RegisterBenchmark((base + "scrape_cold:" + f.name).c_str(), BM_Scrape, &s, f.format, true);
      }
    }
  }
}

}  // namespace

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  bench::add_context();
  // The shared directories first, while this process has one thread (fork).
  struct Plan {
    const char *label;
    int ops, processes, threads;
    bool same;
    int records;
  };
  const Plan plans[] = {
      {"shared_10proc", 100, 10, 0, false, 16},
      {"shared_10proc", 1000, 10, 0, false, 16},
      {"shared_10proc", 10000, 10, 0, false, 16},
      {"shared_32proc", 100, 32, 0, true, 4},
      {"shared_32proc", 1000, 32, 0, true, 4},
      {"shared_32proc_distinct", 1000, 32, 0, false, 16},
      {"shared_32proc_distinct", 10000, 32, 0, false, 16},
      {"heap_1thread", 100, 0, 1, true, 16},
      {"heap_1thread", 1000, 0, 1, true, 16},
      {"heap_64threads", 100, 0, 64, true, 2},
      {"heap_64threads", 1000, 0, 64, true, 2},
  };
  // BT_BENCH_EXPORT_SOURCES=label:ops,... builds only those sources (profiling).
  const char *only = std::getenv("BT_BENCH_EXPORT_SOURCES");
  for (const Plan &p : plans) {
    const std::string key = std::string(p.label) + ":" + std::to_string(p.ops);
    if (only && *only && ("," + std::string(only) + ",").find("," + key + ",") == std::string::npos) continue;
    Source &s = add_source(p.label, p.ops, p.processes, p.threads, p.same, p.records);
    register_source(s, p.ops);
    std::fprintf(stderr, "bench_export: %s, %d operations: built in %.2f s%s%s\n", p.label, s.ops,
                 s.build_seconds, s.error.empty() ? "" : "; ERROR: ", s.error.c_str());
  }
  benchmark::AddCustomContext("export_smoke", smoke() ? "1" : "0");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  // Let the workers go, then remove their directories.
  for (int fd : hold_fds()) close(fd);
  for (auto &s : sources()) {
    for (pid_t pid : s->workers) {
      int st;
      while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
      }
    }
    if (!s->dir.empty()) remove_dir(s->dir);
    if (s->heap) bt_metrics_free(s->heap);
  }
  return 0;
}
