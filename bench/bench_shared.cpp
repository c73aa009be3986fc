// The shared sink (bt_metrics_open_shared): a directory of memory-mapped slot
// files, one per process, under /dev/shm. Side by side in one run:
//  - shared/op/*:        a full traced four-phase operation (bench::traced_op,
//                        the "bound four-phase op" of bench_per_call) into the
//                        shared sink and into an in-heap sink (bt_metrics_new);
//  - shared/threads/*:   records/s with 1 and 2 threads recording into ONE
//                        shared sink (the record step, and the full op), the
//                        in-heap record step and a private-work control beside;
//                        "spaced": the record step with another operation laid
//                        out between the two threads' figures in the slot file
//                        (see ThreadSink: the layout decides false sharing);
//  - shared/processes/*: the same with 1 and 2 forked PROCESSES recording into
//                        one shared directory: started together (a pipe), each
//                        records N operations, wall time from the start to the
//                        last one done; a private-work control beside;
//  - shared/merge/*:     bt_snapshot_read_shared of a directory after R worker
//                        restarts (R processes, one after the other, each
//                        opening the directory, recording and exiting: the
//                        real fold-and-reuse path) vs one with the same live
//                        workers and no restart, and after 1 restart
//                        (restarts_case 0, 1, 2 = none, one, R);
//  - shared/memory/*:    bytes of the slot file (its header's `used`) per
//                        process (the header) and per operation and process.
// BT_BENCH_SMOKE=1 (bench/run --smoke, CTest's bench_smoke) makes the counts
// tiny; BT_BENCH_SHARED_RESTARTS overrides R (default 10,000; smoke 200).
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
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
using bench::write_all;
using bench::read_all;

bool smoke() {
  const char *s = std::getenv("BT_BENCH_SMOKE");
  return s && *s && std::strcmp(s, "0") != 0;
}

long env_long(const char *name, long fallback) {
  const char *s = std::getenv(name);
  if (!s || !*s) return fallback;
  char *end = nullptr;
  long v = std::strtol(s, &end, 10);
  return (end && *end == '\0' && v >= 0) ? v : fallback;
}

// Worker restarts before the merge (shared/merge/restarts_case:2).
long restarts() { return env_long("BT_BENCH_SHARED_RESTARTS", smoke() ? 200 : 10000); }
// Live workers in both merged directories: the pre-fork server's pool.
constexpr int kLiveWorkers = 4;
// Operations each process records in one shared/processes iteration.
long process_ops() { return smoke() ? 2000 : 2000000; }

// ---- directories under /dev/shm, removed at exit ----------------------------------

// Every directory this program made; the parent removes them at exit (forked
// children leave with _exit and remove nothing).
struct TempDirs {
  pid_t owner = getpid();
  std::vector<std::string> dirs;
  ~TempDirs() {
    if (getpid() != owner) return;
    for (const auto &d : dirs) remove_dir(d);
  }
};
TempDirs &temp_dirs() {
  static TempDirs t;
  return t;
}

// A new empty directory, mode 0700 (mkdtemp).
std::string make_dir(const char *what) {
  std::string tmpl = std::string("/dev/shm/bt-bench-") + what + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) {
    std::perror("bench_shared: mkdtemp under /dev/shm");
    std::exit(1);
  }
  temp_dirs().dirs.emplace_back(buf.data());
  return buf.data();
}

// Files in `dir` (not . and ..), and their total size in bytes.
int file_count(const std::string &dir, uint64_t *bytes = nullptr) {
  int n = 0;
  uint64_t total = 0;
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *e = readdir(d)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      ++n;
      struct stat st;
      if (fstatat(dirfd(d), e->d_name, &st, 0) == 0) total += static_cast<uint64_t>(st.st_size);
    }
    closedir(d);
  }
  if (bytes) *bytes = total;
  return n;
}

// Write ends of the pipes live workers wait on (EOF: leave). Every forked
// child closes them all, or a later directory's worker would keep an earlier
// one's workers waiting.
std::vector<int> &hold_fds() {
  static std::vector<int> fds;
  return fds;
}
void close_holds() {
  for (int fd : hold_fds()) close(fd);
}

// ---- sinks ----------------------------------------------------------------------------

// A shared sink in a directory of its own, and an in-heap one, each with the
// operation bound; made once per program.
struct Sinks {
  std::string dir = make_dir("sink");
  bt_metrics *shared = nullptr;
  bt_metrics *heap = nullptr;
  bt_op *shared_op = nullptr;
  bt_op *heap_op = nullptr;
  bt_status status = BT_OK;
  Sinks() {
    status = bt_metrics_open_shared(&shared, dir.c_str());
    if (status == BT_OK) status = bt_metrics_new(&heap);
    if (status == BT_OK) status = bt_op_lookup(&shared_op, shared, "shared.op");
    if (status == BT_OK) status = bt_op_lookup(&heap_op, heap, "shared.op");
  }
};
Sinks &sinks() {
  static Sinks s;
  return s;
}

bool sinks_ok(benchmark::State &state) {
  return bench::ok(state, sinks().status, "bt_metrics_open_shared / bt_metrics_new / bt_op_lookup");
}

// Thread 0 checks, after every thread has left the loop, that each iteration
// of each thread was recorded once (as bench_scaling does).
class CountCheck {
 public:
  CountCheck(benchmark::State &state, bt_metrics *m, const char *name)
      : state_(state), m_(m), name_(name) {
    if (state.thread_index() == 0) before_ = bench::recorded(m_, name_);
  }
  void after(uint64_t per_iteration = 1) {
    if (state_.thread_index() != 0) return;
    uint64_t want = static_cast<uint64_t>(state_.iterations()) *
                    static_cast<uint64_t>(state_.threads()) * per_iteration;
    if (bench::recorded(m_, name_) - before_ != want) {
      state_.SkipWithError("operations recorded != iterations x threads");
    }
  }

 private:
  benchmark::State &state_;
  bt_metrics *m_;
  const char *name_;
  uint64_t before_ = 0;
};

// ---- 1. a full four-phase operation: shared vs in-heap ---------------------------------

void BM_OpShared(benchmark::State &state) {
  if (!sinks_ok(state)) return;
  bt_op *op = sinks().shared_op;
  bench::traced_op(op);  // this thread's shard exists before the clock starts
  CountCheck check(state, sinks().shared, "shared.op");
  for (auto _ : state) bench::traced_op(op);
  check.after();
  state.counters["calls_per_iteration"] = bench::kCallsPerOp;
}
BENCHMARK(BM_OpShared)->Name("shared/op/shared_sink");

void BM_OpHeap(benchmark::State &state) {
  if (!sinks_ok(state)) return;
  bt_op *op = sinks().heap_op;
  bench::traced_op(op);
  CountCheck check(state, sinks().heap, "shared.op");
  for (auto _ : state) bench::traced_op(op);
  check.after();
  state.counters["calls_per_iteration"] = bench::kCallsPerOp;
}
BENCHMARK(BM_OpHeap)->Name("shared/op/heap_sink");

// ---- 2a. threads recording into one shared sink ----------------------------------------

const bt_timing &record_timing() {
  static const bt_timing t = bench::prepared_timing("shared.record");
  return t;
}

// The layout of a slot file follows the order of first records: a thread's
// shard of an operation, and its histograms, are laid out when that thread
// first records the operation, after whatever was laid out before. Each
// scaling benchmark therefore gets a sink of its own, in a directory of its
// own, whose first record main() makes from the main thread (Google
// Benchmark's thread 0) before any benchmark runs; the second thread's shard
// comes next in the file, as when a second thread of a server starts serving
// an operation the first one already served. The "spaced" sink has another
// operation recorded in between, so the two threads' figures are not
// neighbours in the file.
enum ThreadSinkKind { kTsRecord = 0, kTsOp = 1, kTsRecordSpaced = 2, kTsKinds = 3 };

struct ThreadSink {
  std::string dir;
  bt_metrics *m = nullptr;
  bt_op *op = nullptr;
  bt_status status = BT_OK;
  explicit ThreadSink(int kind) : dir(make_dir("threads")) {
    status = bt_metrics_open_shared(&m, dir.c_str());
    if (status == BT_OK) status = bt_op_lookup(&op, m, "shared.op");
    if (status != BT_OK) return;
    if (kind == kTsOp) {
      bench::traced_op(op);
    } else {
      status = bt_metrics_record(m, &record_timing());
    }
    if (status == BT_OK && kind == kTsRecordSpaced) {
      bt_timing spacer = bench::prepared_timing("shared.spacer");
      status = bt_metrics_record(m, &spacer);
    }
  }
};
ThreadSink &thread_sink(int kind) {
  static std::unique_ptr<ThreadSink> sinks[kTsKinds];
  if (!sinks[kind]) sinks[kind].reset(new ThreadSink(kind));
  return *sinks[kind];
}

void threads_record_shared(benchmark::State &state, int kind) {
  ThreadSink &ts = thread_sink(kind);
  if (!bench::ok(state, ts.status, "bt_metrics_open_shared / first record")) return;
  const bt_timing &timing = record_timing();
  CountCheck check(state, ts.m, "shared.record");
  for (auto _ : state) bt_metrics_record(ts.m, &timing);
  state.SetItemsProcessed(state.iterations());
  check.after();
}
void BM_ThreadsRecordShared(benchmark::State &state) { threads_record_shared(state, kTsRecord); }
BENCHMARK(BM_ThreadsRecordShared)->Name("shared/threads/record_shared")
    ->Threads(1)->Threads(2)->UseRealTime();
void BM_ThreadsRecordSpaced(benchmark::State &state) { threads_record_shared(state, kTsRecordSpaced); }
BENCHMARK(BM_ThreadsRecordSpaced)->Name("shared/threads/record_shared_spaced")
    ->Threads(1)->Threads(2)->UseRealTime();

void BM_ThreadsRecordHeap(benchmark::State &state) {
  if (!sinks_ok(state)) return;
  bt_metrics *m = sinks().heap;
  const bt_timing &timing = record_timing();
  CountCheck check(state, m, "shared.record");
  for (auto _ : state) bt_metrics_record(m, &timing);
  state.SetItemsProcessed(state.iterations());
  check.after();
}
BENCHMARK(BM_ThreadsRecordHeap)->Name("shared/threads/record_heap")
    ->Threads(1)->Threads(2)->UseRealTime();

void BM_ThreadsOpShared(benchmark::State &state) {
  ThreadSink &ts = thread_sink(kTsOp);
  if (!bench::ok(state, ts.status, "bt_metrics_open_shared / first record")) return;
  CountCheck check(state, ts.m, "shared.op");
  for (auto _ : state) bench::traced_op(ts.op);
  state.SetItemsProcessed(state.iterations());
  check.after();
}
BENCHMARK(BM_ThreadsOpShared)->Name("shared/threads/op_shared")
    ->Threads(1)->Threads(2)->UseRealTime();

// The control (bench_common.hpp): its 2/1 ratio is what the machine allowed in this run.
void BM_ThreadsControl(benchmark::State &state) { bench::control_private_work(state); }
BENCHMARK(BM_ThreadsControl)->Name("shared/threads/control_private_work")
    ->Threads(1)->Threads(2)->UseRealTime();

// ---- 2b. processes recording into one shared directory ---------------------------------

enum ProcWork { kProcRecord = 0, kProcOp = 1, kProcControl = 2 };

// A forked child of BM_Processes: takes its slot (one record, before the
// start), says ready, waits for the start (the write end of `go` closed by
// the parent: every child sees it at once), records `n` times, says done.
[[noreturn]] void process_child(int work, long n, int go, int ready, int done) {
  bt_metrics *m = sinks().shared;
  bt_op *op = sinks().shared_op;
  const bt_timing &timing = record_timing();
  uint64_t x = 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(getpid());
  // Warm up: the first record takes this process's slot and its shard.
  if (work == kProcRecord) bt_metrics_record(m, &timing);
  if (work == kProcOp) bench::traced_op(op);
  char c = 'r';
  if (!write_all(ready, &c, 1)) _exit(3);
  ssize_t r;
  do r = read(go, &c, 1); while (r < 0 && errno == EINTR);  // 0: the parent closed it: go
  for (long i = 0; i < n; ++i) {
    if (work == kProcRecord) {
      bt_metrics_record(m, &timing);
    } else if (work == kProcOp) {
      bench::traced_op(op);
    } else {
      x = bench::private_work(x);
      benchmark::DoNotOptimize(x);
    }
  }
  c = 'd';
  if (!write_all(done, &c, 1)) _exit(4);
  _exit(0);
}

void BM_Processes(benchmark::State &state) {
  if (!sinks_ok(state)) return;
  const int work = static_cast<int>(state.range(0));
  const int nproc = static_cast<int>(state.range(1));
  const long n = process_ops();
  const char *name = work == kProcRecord ? "shared.record" : "shared.op";
  uint64_t before = work == kProcControl ? 0 : bench::recorded(sinks().shared, name);
  for (auto _ : state) {
    int go[2], ready[2], done[2];
    if (pipe(go) != 0 || pipe(ready) != 0 || pipe(done) != 0) {
      state.SkipWithError("pipe");
      return;
    }
    std::vector<pid_t> kids;
    for (int i = 0; i < nproc; ++i) {
      pid_t pid = fork();
      if (pid == 0) {
        close_holds();
        close(go[1]);
        close(ready[0]);
        close(done[0]);
        process_child(work, n, go[0], ready[1], done[1]);
      }
      if (pid < 0) break;
      kids.push_back(pid);
    }
    close(go[0]);
    close(ready[1]);
    close(done[1]);
    std::vector<char> buf(static_cast<size_t>(nproc));
    bool fine = static_cast<int>(kids.size()) == nproc && read_all(ready[0], buf.data(), buf.size());
    const uint64_t t0 = bench::monotonic_ns();
    close(go[1]);  // start
    fine = fine && read_all(done[0], buf.data(), buf.size());
    const uint64_t t1 = bench::monotonic_ns();
    close(ready[0]);
    close(done[0]);
    for (pid_t pid : kids) {
      int st = 0;
      while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
      }
      if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fine = false;
    }
    if (!fine) {
      state.SkipWithError("a child process failed");
      return;
    }
    state.SetIterationTime(static_cast<double>(t1 - t0) * 1e-9);
  }
  state.SetItemsProcessed(state.iterations() * nproc * n);
  state.counters["processes"] = nproc;
  state.counters["ops_per_process"] = static_cast<double>(n);
  if (work != kProcControl) {
    // Each child recorded n operations and one to warm up; their slots are
    // folded into the archive by the next child that takes a slot.
    uint64_t want = static_cast<uint64_t>(state.iterations()) * static_cast<uint64_t>(nproc) *
                    static_cast<uint64_t>(n + 1);
    if (bench::recorded(sinks().shared, name) - before != want) {
      state.SkipWithError("operations recorded in the directory != processes x operations");
    }
  }
}
BENCHMARK(BM_Processes)->Name("shared/processes")
    ->ArgNames({"work", "processes"})
    ->Args({kProcRecord, 1})->Args({kProcRecord, 2})
    ->Args({kProcOp, 1})->Args({kProcOp, 2})
    ->Args({kProcControl, 1})->Args({kProcControl, 2})
    ->UseManualTime()->Iterations(2)->Unit(benchmark::kMillisecond);

// ---- 3. merging a directory after many worker restarts ---------------------------------


const char *const kWorkerOps[] = {"svc.get", "svc.put", "svc.list", "svc.delete"};
constexpr int kRecordsPerOpPerWorker = 2;

// What one worker records: each operation a few times, four phases of
// typical latencies, varied a little by `seed` so histograms hold several
// buckets.
void worker_records(bt_metrics *m, uint64_t seed) {
  for (int k = 0; k < kRecordsPerOpPerWorker; ++k) {
    for (const char *name : kWorkerOps) {
      bt_timing t = BT_TIMING_INIT;
      t.op_name = name;
      const uint64_t s = 1 + (seed * 7 + static_cast<uint64_t>(k) * 3) % 8;
      t.phase_ns[BT_PHASE_EXTRACT] = 4000 * s;
      t.phase_ns[BT_PHASE_CONVERT] = 30000 * s;
      t.phase_ns[BT_PHASE_NETWORK] = 700000 * s;
      t.phase_ns[BT_PHASE_MATERIALIZE] = 15000 * s;
      for (int p = BT_PHASE_EXTRACT; p <= BT_PHASE_MATERIALIZE; ++p) t.phase_entries[p] = 1;
      t.total_ns = 760000 * s;
      t.items = 10;
      bt_metrics_record(m, &t);
    }
  }
}

// A worker that opens the directory, records and exits (a restart).
bool restart_once(const std::string &dir, uint64_t seed) {
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    close_holds();
    bt_metrics *m = nullptr;
    if (bt_metrics_open_shared(&m, dir.c_str()) != BT_OK) _exit(2);
    worker_records(m, seed);
    _exit(0);  // gone without bt_metrics_free, as a killed worker
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

// A directory with `restarts` worker restarts, then kLiveWorkers live workers
// (they open it, record, and stay alive until the program ends).
struct MergeDir {
  std::string dir;
  long restarts = 0;
  double restart_seconds = 0;
  int files = 0;
  uint64_t bytes = 0;
  std::vector<pid_t> live;
  int hold = -1;  // write end of the pipe the live workers wait on
  bool ok = false;

  MergeDir(const char *what, long n) : dir(make_dir(what)), restarts(n) {
    const uint64_t t0 = bench::monotonic_ns();
    for (long i = 0; i < n; ++i) {
      if (!restart_once(dir, static_cast<uint64_t>(i))) return;
    }
    restart_seconds = static_cast<double>(bench::monotonic_ns() - t0) * 1e-9;
    int p[2], ready[2];
    if (pipe(p) != 0 || pipe(ready) != 0) return;
    for (int i = 0; i < kLiveWorkers; ++i) {
      pid_t pid = fork();
      if (pid < 0) return;
      if (pid == 0) {
        close_holds();
        close(p[1]);
        close(ready[0]);
        bt_metrics *m = nullptr;
        if (bt_metrics_open_shared(&m, dir.c_str()) != BT_OK) _exit(2);
        worker_records(m, static_cast<uint64_t>(n + i));
        char c = 'r';
        if (!write_all(ready[1], &c, 1)) _exit(3);
        ssize_t r;
        do r = read(p[0], &c, 1); while (r < 0 && errno == EINTR);  // EOF: the program ends
        _exit(0);
      }
      live.push_back(pid);
    }
    close(p[0]);
    close(ready[1]);
    hold = p[1];
    hold_fds().push_back(hold);
    std::vector<char> buf(kLiveWorkers);
    ok = read_all(ready[0], buf.data(), buf.size());
    close(ready[0]);
    files = file_count(dir, &bytes);
  }
  ~MergeDir() {
    if (hold >= 0) {
      auto &fds = hold_fds();
      for (size_t i = 0; i < fds.size(); ++i) {
        if (fds[i] == hold) fds.erase(fds.begin() + static_cast<long>(i));
      }
      close(hold);
    }
    for (pid_t pid : live) {
      int st;
      while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
      }
    }
  }
};

MergeDir &merge_dir(int which) {
  static std::unique_ptr<MergeDir> none, one, many;
  std::unique_ptr<MergeDir> &d = which == 0 ? none : which == 1 ? one : many;
  if (!d) d.reset(new MergeDir(which == 0 ? "merge0" : which == 1 ? "merge1" : "mergeR",
                               which == 0 ? 0 : which == 1 ? 1 : restarts()));
  return *d;
}

void BM_Merge(benchmark::State &state) {
  MergeDir &d = merge_dir(static_cast<int>(state.range(0)));
  if (!d.ok) {
    state.SkipWithError("building the directory (restarts, live workers) failed");
    return;
  }
  // The figures, checked once outside the clock.
  bt_snapshot_info info = BT_SNAPSHOT_INFO_INIT;
  uint64_t count = 0;
  {
    bt_snapshot *s = nullptr;
    if (!bench::ok(state, bt_snapshot_read_shared(&s, d.dir.c_str()), "bt_snapshot_read_shared")) return;
    bt_snapshot_get_info(&info, s);
    size_t i = 0;
    bt_op_stats st = BT_OP_STATS_INIT;
    if (bt_snapshot_find(&i, s, "svc.get") == BT_OK && bt_snapshot_op_stats(&st, s, i) == BT_OK) {
      count = st.count;
    }
    bt_snapshot_free(s);
  }
  bt_status status = BT_OK;
  for (auto _ : state) {
    bt_snapshot *s = nullptr;
    status = static_cast<bt_status>(status | bt_snapshot_read_shared(&s, d.dir.c_str()));
    bt_snapshot_free(s);
  }
  if (!bench::ok(state, status, "bt_snapshot_read_shared")) return;
  const uint64_t want = static_cast<uint64_t>(d.restarts + kLiveWorkers) * kRecordsPerOpPerWorker;
  if (count != want) state.SkipWithError("merged count != (restarts + live workers) x records");
  if (info.skipped != 0) state.SkipWithError("the merge skipped files");
  state.counters["restarts"] = static_cast<double>(d.restarts);
  state.counters["live_workers"] = kLiveWorkers;
  state.counters["files"] = d.files;
  state.counters["dir_bytes"] = static_cast<double>(d.bytes);
  state.counters["processes_merged"] = info.processes;
  state.counters["ops"] = static_cast<double>(info.op_count);
  state.counters["restart_seconds"] = d.restart_seconds;
  state.counters["ms_per_restart"] = d.restarts ? 1e3 * d.restart_seconds / d.restarts : 0;
}
// Arg: 0 = no restart, 1 = one restart, 2 = restarts() restarts.
BENCHMARK(BM_Merge)->Name("shared/merge")->ArgName("restarts_case")->Arg(0)->Arg(1)->Arg(2);

// ---- 5. memory: bytes of shared storage ----------------------------------------------

// The slot file of the only process that wrote into `dir`.
std::string slot_path(const std::string &dir) {
  std::string found;
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *e = readdir(d)) {
      if (std::strncmp(e->d_name, "slot-", 5) == 0) found = dir + "/" + e->d_name;
    }
    closedir(d);
  }
  return found;
}

// The slot file's `used` (bytes handed out so far) from its header
// (docs/formats.md, "Shared directory"; cpp_impl/shared_format.hpp):
// magic[8], major, minor, header_size, kind (u32), incarnation, pid,
// unix_start_ns (u64), used (u64, at byte 48). -1 when unreadable.
int64_t slot_used(const std::string &path, uint64_t *file_size = nullptr) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  unsigned char h[56];
  int64_t used = -1;
  if (pread(fd, h, sizeof h, 0) == static_cast<ssize_t>(sizeof h) && std::memcmp(h, "BTSHARED", 8) == 0) {
    uint64_t u;
    std::memcpy(&u, h + 48, 8);
    used = static_cast<int64_t>(u);
  }
  struct stat st;
  if (file_size && fstat(fd, &st) == 0) *file_size = static_cast<uint64_t>(st.st_size);
  close(fd);
  return used;
}

// An operation of four phases of typical latencies (µs .. ms).
bt_timing typical(const char *name) {
  bt_timing t = BT_TIMING_INIT;
  t.op_name = name;
  t.phase_ns[BT_PHASE_EXTRACT] = 5000;        // 5 µs
  t.phase_ns[BT_PHASE_CONVERT] = 40000;       // 40 µs
  t.phase_ns[BT_PHASE_NETWORK] = 800000;      // 800 µs
  t.phase_ns[BT_PHASE_MATERIALIZE] = 20000;   // 20 µs
  for (int p = BT_PHASE_EXTRACT; p <= BT_PHASE_MATERIALIZE; ++p) t.phase_entries[p] = 1;
  t.total_ns = 870000;
  t.items = 10;
  return t;
}

void BM_MemoryShared(benchmark::State &state) {
  constexpr int kOps = 64;
  for (auto _ : state) {
    const std::string dir = make_dir("memory");
    bt_metrics *m = nullptr;
    if (!bench::ok(state, bt_metrics_open_shared(&m, dir.c_str()), "bt_metrics_open_shared")) return;
    const std::string slot = slot_path(dir);
    uint64_t size0 = 0, size_k = 0;
    const int64_t u0 = slot_used(slot, &size0);
    bt_timing t = typical("memory.op0");
    bt_metrics_record(m, &t);
    const int64_t u1 = slot_used(slot);
    for (int rep = 0; rep < 100; ++rep) bt_metrics_record(m, &t);  // same buckets: nothing new
    const int64_t u1b = slot_used(slot);
    std::vector<std::string> names;
    for (int i = 1; i <= kOps; ++i) names.push_back("memory.op" + std::to_string(i));
    for (const auto &name : names) {
      t = typical(name.c_str());
      bt_metrics_record(m, &t);
    }
    const int64_t uk = slot_used(slot, &size_k);
    // A second thread recording an operation this one already recorded: its own shard.
    std::thread other([&] {
      bt_timing t2 = typical("memory.op0");
      bt_metrics_record(m, &t2);
    });
    other.join();
    const int64_t u2 = slot_used(slot);
    // Phases spread over 1 µs .. 1 s (21 octaves x 16 sub-buckets), one operation.
    for (int e = 10; e <= 30; ++e) {
      for (int s = 0; s < 16; ++s) {
        uint64_t v = (1ull << e) + (static_cast<uint64_t>(s) << (e - 4));
        bt_timing w = BT_TIMING_INIT;
        w.op_name = "memory.wide";
        for (int p = BT_PHASE_EXTRACT; p <= BT_PHASE_MATERIALIZE; ++p) {
          w.phase_ns[p] = v;
          w.phase_entries[p] = 1;
        }
        w.total_ns = 5 * v;
        bt_metrics_record(m, &w);
      }
    }
    const int64_t uw = slot_used(slot);
    if (u0 <= 0 || u1 < u0 || uk < u1 || u2 < uk || uw < u2) {
      state.SkipWithError("cannot read the slot file's header (used)");
      bt_metrics_free(m);
      return;
    }
    state.counters["header_bytes"] = static_cast<double>(u0);
    state.counters["file_bytes_at_open"] = static_cast<double>(size0);
    state.counters["first_op_bytes"] = static_cast<double>(u1 - u0);
    state.counters["same_op_again_bytes"] = static_cast<double>(u1b - u1);
    state.counters["op_bytes_per_op"] = static_cast<double>(uk - u1b) / kOps;
    state.counters["ops_measured"] = kOps;
    state.counters["file_bytes_after"] = static_cast<double>(size_k);
    state.counters["second_thread_same_op_bytes"] = static_cast<double>(u2 - uk);
    state.counters["wide_op_bytes"] = static_cast<double>(uw - u2);
    bt_metrics_free(m);
  }
}
BENCHMARK(BM_MemoryShared)->Name("shared/memory")->Iterations(1)->Repetitions(1);

}  // namespace

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  bench::add_context();
  sinks();
  for (int k = 0; k < kTsKinds; ++k) thread_sink(k);  // their first records: this thread's
  benchmark::AddCustomContext("shared_restarts", std::to_string(restarts()));
  benchmark::AddCustomContext("shared_live_workers", std::to_string(kLiveWorkers));
  benchmark::AddCustomContext("shared_process_ops", std::to_string(process_ops()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
