// Chrome Trace Event JSON of the trace ring (opens in Perfetto UI and
// chrome://tracing). Each operation is a complete event ("ph":"X") on the
// thread that finished it, its phases complete events nested inside.
//
// Viewers reject slices that overlap partially on one track. Phases of one
// operation never do (one phase is open at a time, inside the operation), but
// two operations on one thread can (tracers interleaved, or a tracer that
// moved threads): such an operation goes to an extra track of its thread.
// Timestamps are microseconds with exactly three decimals, relative to the
// first kept operation, so every nanosecond survives a reader that rounds
// ts * 1000, and a child's ts + dur never passes its parent's end.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <errno.h>
#include <unistd.h>

#include "cpp_impl/clock.hpp"
#include "cpp_impl/export.hpp"
#include "cpp_impl/names.hpp"
#include "cpp_impl/phase_table.hpp"
#include "cpp_impl/timeline.hpp"

namespace bt {
namespace timeline {

namespace {

constexpr int kPidMax = 1 << 22;  // Linux's largest pid_max: lane tids start above it

std::string micros(uint64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llu.%03llu", static_cast<unsigned long long>(ns / 1000),
                static_cast<unsigned long long>(ns % 1000));
  return buf;
}

struct Placed {
  const KeptOp *op;
  int track;  // the tid events are written under
};

// Assigns each operation of one thread to the first lane where it nests
// properly (inside or after what is open there), sorted by start.
std::vector<Placed> place(std::vector<const KeptOp *> ops, int tid, int *lanes_used) {
  std::sort(ops.begin(), ops.end(), [](const KeptOp *a, const KeptOp *b) {
    return a->begin_ns != b->begin_ns ? a->begin_ns < b->begin_ns : a->end_ns > b->end_ns;
  });
  std::vector<std::vector<uint64_t>> lanes;  // per lane: ends of the open slices
  std::vector<Placed> out;
  for (const KeptOp *op : ops) {
    std::size_t lane = 0;
    for (; lane < lanes.size(); ++lane) {
      auto &open = lanes[lane];
      while (!open.empty() && open.back() <= op->begin_ns) open.pop_back();
      if (open.empty() || op->end_ns <= open.back()) break;
    }
    if (lane == lanes.size()) lanes.emplace_back();
    lanes[lane].push_back(op->end_ns);
    out.push_back(Placed{op, tid + static_cast<int>(lane) * kPidMax});
  }
  *lanes_used = static_cast<int>(lanes.size());
  return out;
}

void metadata(std::string &out, const char *what, int pid, int tid, const std::string &name) {
  out += "{\"ph\":\"M\",\"name\":\"";
  out += what;
  out += "\",\"pid\":" + std::to_string(pid) + ",\"tid\":" + std::to_string(tid) + ",\"args\":{\"name\":" +
         json_quote(name.c_str()) + "}},\n";
}

}  // namespace

std::string format_chrome(const Contents &c) {
  const int pid = c.pid ? c.pid : static_cast<int>(getpid());
  const std::string program = c.pid ? c.program : program_invocation_short_name;
  uint64_t base = 0;
  if (!c.ops.empty()) {
    base = c.ops.front().begin_ns;
    for (const auto &op : c.ops) base = std::min(base, op.begin_ns);
  }
  std::vector<int> tids;
  for (const auto &op : c.ops) {
    if (std::find(tids.begin(), tids.end(), op.tid) == tids.end()) tids.push_back(op.tid);
  }
  std::sort(tids.begin(), tids.end());

  std::string out = "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
  metadata(out, "process_name", pid, 0, std::string("boundarytrace: ") + program);
  for (int tid : tids) {
    std::vector<const KeptOp *> mine;
    for (const auto &op : c.ops) {
      if (op.tid == tid) mine.push_back(&op);
    }
    int lanes = 0;
    std::vector<Placed> placed = place(mine, tid, &lanes);
    // The name its newest kept operation saw. The kernel keeps 15 bytes of
    // it, which may cut a character: that tail goes, bytes that are not UTF-8
    // become U+FFFD (json_quote would do that too, but the tid follows).
    std::string tname = "thread " + std::to_string(tid);
    const char *raw = mine.back()->thread_name;
    if (*raw) tname = utf8_repaired(raw, strnlen(raw, sizeof mine.back()->thread_name), true) + " (" +
                      std::to_string(tid) + ")";
    for (int lane = 0; lane < lanes; ++lane) {
      metadata(out, "thread_name", pid, tid + lane * kPidMax,
               lane ? tname + " overlapping " + std::to_string(lane) : tname);
    }
    for (const Placed &p : placed) {
      const KeptOp &op = *p.op;
      std::string where = ",\"pid\":" + std::to_string(pid) + ",\"tid\":" + std::to_string(p.track);
      out += "{\"ph\":\"X\",\"cat\":\"operation\",\"name\":" + json_quote(op.name) + where +
             ",\"ts\":" + micros(op.begin_ns - base) + ",\"dur\":" + micros(op.end_ns - op.begin_ns) +
             ",\"args\":{\"items\":" + std::to_string(op.items) +
             ",\"error\":" + ((op.flags & kFlagError) ? "true" : "false") +
             ",\"phase_left_open\":" + ((op.flags & kFlagLeftOpen) ? "true" : "false") +
             ",\"gil_releases\":" + std::to_string(op.gil_releases) +
             ",\"gil_wait_ns\":" + std::to_string(op.gil_wait_ns) + ",\"workers\":" + std::to_string(op.workers) +
             ",\"phases_lost\":" + std::to_string(op.slices_lost) + "}},\n";
      for (const KeptSlice &s : op.slices) {
        out += "{\"ph\":\"X\",\"cat\":\"phase\",\"name\":" + json_quote(phases::name(s.phase)) + where +
               ",\"ts\":" + micros(s.begin_ns - base) + ",\"dur\":" + micros(s.end_ns - s.begin_ns) +
               ",\"args\":{\"gil\":\"" + (phases::gil_held(s.phase) ? "held" : "released") + "\"}},\n";
      }
    }
  }
  // Trailing metadata closes the array without a dangling comma.
  out += "{\"ph\":\"M\",\"name\":\"process_sort_index\",\"pid\":" + std::to_string(pid) +
         ",\"tid\":0,\"args\":{\"sort_index\":0}}\n],";
  out += "\"otherData\":{\"producer\":\"boundarytrace\",\"clock\":" + json_quote(clock::source_name()) +
         ",\"base_ns\":" + std::to_string(base) + ",\"kept\":" + std::to_string(c.ops.size()) +
         ",\"dropped\":" + std::to_string(c.dropped) + ",\"capacity\":" + std::to_string(c.capacity) + "}}\n";
  return out;
}

}  // namespace timeline
}  // namespace bt
