#include "cpp_impl/timeline.hpp"

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <new>

#include "cpp_impl/clock.hpp"
#include "cpp_impl/lasting.hpp"
#include "cpp_impl/reentry.hpp"

namespace bt {
namespace timeline {

AtomicWord g_active{0};

namespace {

// A recording thread's kernel id, looked up once per thread.
__thread int t_tid __attribute__((tls_model("initial-exec"))) = 0;

int current_tid() {
  if (!t_tid) t_tid = static_cast<int>(syscall(SYS_gettid));
  return t_tid;
}

struct Ring {
  std::mutex mutex;
  std::vector<KeptOp> slots;  // size = capacity
  std::size_t head = 0;       // next slot to write
  std::size_t kept = 0;
  uint64_t dropped = 0;
};

// Counts the starts, so each thread reads its name once per start.
AtomicWord g_generation{0};

Ring &ring() {
  static Lasting<Ring> r;  // see lasting.hpp
  return r.get();
}

// The ring's lock, taken inside a guarded region (reentry.hpp): a signal
// handler that interrupts its holder leaves its operation for later rather
// than wait for it (bt.h, "Signals").
struct RingLock {
  explicit RingLock(Ring &r) : lock(r.mutex) {}
  reentry::Guard inside;  // entered before the lock, left after it
  std::lock_guard<std::mutex> lock;
};

// The calling thread's name, read from the kernel the first time the thread
// keeps an operation after a start (a rename later is seen after the next).
struct NameCache {
  uintptr_t generation;  // g_generation + 1 when read; 0 = never
  char name[16];
};
__thread NameCache t_name = {0, {0}};

const char *current_thread_name() {
  const uintptr_t gen = g_generation.load_relaxed() + 1;
  if (t_name.generation != gen) {
    char name[17] = {0};  // PR_GET_NAME writes up to 16 bytes, NUL included
    prctl(PR_GET_NAME, name, 0, 0, 0);
    std::memcpy(t_name.name, name, sizeof t_name.name);
    t_name.name[sizeof t_name.name - 1] = '\0';
    t_name.generation = gen;
  }
  return t_name.name;
}

}  // namespace

std::mutex &ring_mutex() { return ring().mutex; }

std::size_t names_held() {
  Ring &r = ring();
  RingLock lock(r);
  return r.kept;  // one with each kept operation
}

void reset_in_child() { t_tid = 0; }

Err start(std::size_t capacity) {
  if (capacity == 0 || capacity > kMaxCapacity) return Err::invalid;
  Ring &r = ring();
  std::vector<KeptOp> fresh;
  try {
    fresh.resize(capacity);
  } catch (const std::bad_alloc &) {
    return Err::nomem;
  }
  RingLock lock(r);
  r.slots.swap(fresh);
  r.head = r.kept = 0;
  r.dropped = 0;
  g_generation.store_relaxed(g_generation.load_relaxed() + 1);
  g_active.store_relaxed(1);
  return Err::ok;
}

void stop() { g_active.store_relaxed(0); }

Info info() {
  Ring &r = ring();
  RingLock lock(r);
  Info i;
  i.capacity = r.slots.size();
  i.kept = r.kept;
  i.dropped = r.dropped;
  i.active = active();
  return i;
}

Contents copy() {
  Ring &r = ring();
  RingLock lock(r);
  Contents c;
  c.capacity = r.slots.size();
  c.dropped = r.dropped;
  c.ops.reserve(r.kept);
  std::size_t first = (r.head + r.slots.size() - r.kept) % (r.slots.empty() ? 1 : r.slots.size());
  for (std::size_t i = 0; i < r.kept; ++i) c.ops.push_back(r.slots[(first + i) % r.slots.size()]);
  return c;
}

void keep(const Finished &f) {
  if (!active()) return;  // stopped since the tracer started
  int tid = current_tid();
  Ring &r = ring();
  // Built outside the lock; moved in without allocating.
  KeptOp op;
  try {
    op.slices.reserve(f.nslices);
  } catch (const std::bad_alloc &) {
    RingLock lock(r);
    ++r.dropped;  // this operation is lost, and said to be
    return;
  }
  for (uint32_t i = 0; i < f.nslices; ++i) {
    const Slice &s = f.slices[i];
    op.slices.push_back(KeptSlice{s.phase, clock::ticks_to_time_ns(s.begin), clock::ticks_to_time_ns(s.end)});
  }
  op.name = f.name;
  op.tid = tid;
  std::memcpy(op.thread_name, current_thread_name(), sizeof op.thread_name);
  op.begin_ns = clock::ticks_to_time_ns(f.start);
  op.end_ns = clock::ticks_to_time_ns(f.end);
  op.items = f.items;
  op.gil_wait_ns = f.gil_wait_ns;
  op.gil_releases = f.gil_releases;
  op.workers = f.workers;
  op.flags = f.flags;
  op.slices_lost = f.slices_lost;

  RingLock lock(r);
  if (r.slots.empty()) return;
  r.slots[r.head] = std::move(op);
  r.head = (r.head + 1) % r.slots.size();
  if (r.kept < r.slots.size()) {
    ++r.kept;
  } else {
    ++r.dropped;  // the oldest was overwritten
  }
}

}  // namespace timeline
}  // namespace bt
