// The trace ring: individual finished operations with their phases as they
// happened, kept process-wide in a bounded ring (oldest dropped and counted),
// for the Chrome Trace Event export (format_chrome.cpp).
#pragma once
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "cpp_impl/atomics.hpp"
#include "cpp_impl/status.hpp"

namespace bt {
namespace timeline {

constexpr std::size_t kMaxCapacity = 1u << 24;  // BT_TIMELINE_MAX_CAPACITY

// One phase entry of an operation in flight, kept only while the ring is on.
struct Slice {
  int32_t phase;
  uint64_t begin, end;  // ticks
};
constexpr uint32_t kMaxSlices = 64;  // per operation; more are counted as lost

// What the ring keeps of a finishing operation: a plain record, so the ring
// knows nothing of the tracer that fills it. Times in ticks.
struct Finished {
  const char *name = nullptr;  // interned
  uint64_t start = 0, end = 0;
  uint64_t items = 0, gil_wait_ns = 0;
  uint32_t gil_releases = 0, workers = 0, flags = 0, slices_lost = 0;
  const Slice *slices = nullptr;
  uint32_t nslices = 0;
};

struct KeptSlice {
  int32_t phase;
  uint64_t begin_ns, end_ns;  // CLOCK_MONOTONIC time line
};

struct KeptOp {
  const char *name = nullptr;  // interned
  int tid = 0;
  // The thread's name as the kernel gave it: at most 15 bytes, which may end
  // inside a UTF-8 character or be no UTF-8 at all (the export repairs it).
  // Kept with each operation, so the ring holds names only for the threads
  // whose operations it keeps.
  char thread_name[16] = {0};
  uint64_t begin_ns = 0, end_ns = 0;
  uint64_t items = 0, gil_wait_ns = 0;
  uint32_t gil_releases = 0, workers = 0, flags = 0, slices_lost = 0;
  std::vector<KeptSlice> slices;
};

// A copy of the ring's contents, oldest first.
struct Contents {
  std::vector<KeptOp> ops;
  uint64_t capacity = 0, dropped = 0;
  // Whose operations: 0 and empty for this process; another one's when read
  // from a shared directory's flight recorder.
  int pid = 0;
  std::string program;
};

struct Info {
  uint64_t capacity = 0, kept = 0, dropped = 0;
  bool active = false;
};

extern AtomicWord g_active;
inline bool active() { return g_active.load_relaxed() != 0; }

Err start(std::size_t capacity);
void stop();
Info info();
// Copies the ring (may throw std::bad_alloc).
Contents copy();
// Keeps a finishing operation. Never fails: an operation that cannot be
// stored is counted as dropped.
void keep(const Finished &f);

// Thread names held (for a test: tests/c/test_timeline_names.c).
std::size_t names_held();

// For fork_guard.cpp: the ring's lock, and the child's reset (its thread id
// is new).
std::mutex &ring_mutex();
void reset_in_child();

// Chrome Trace Event JSON of `c` (format_chrome.cpp); may throw bad_alloc.
std::string format_chrome(const Contents &c);

}  // namespace timeline
}  // namespace bt
