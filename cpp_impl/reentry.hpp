// Re-entry from a signal handler (bt.h, "Signals").
//
// A handler may call the library on a thread that is itself inside it: in
// the middle of a record (holding its shard's lock), a snapshot (holding the
// lock of each shard in turn), a timeline call (the ring's lock), the clock's
// calibration, or while it moves its spare tracer. Waiting for such a lock
// in the handler would wait forever: the holder is the code the handler
// interrupted.
//
// So every such region runs inside a Guard, which counts the thread's depth.
// A call that finds the depth above zero is nested: it takes no lock and
// allocates nothing. A tracer finished there keeps its record, and a tracer
// freed there goes on the thread's deferred list; when the depth comes back
// to zero, the interrupted code records and releases them (drain()), so no
// count is lost. Outside a guarded region a handler's calls take the normal
// path: the thread holds none of the library's locks then.
//
// The depth is a plain per-thread counter: a handler always restores it
// before it returns, and the compiler is kept from moving the region's
// accesses across it (signal fences). The cost on the normal path is a
// load, a store and a test of the deferred list at each end.
#pragma once
#include <cstdint>

namespace bt {

struct Tracer;

namespace reentry {

struct State {
  uint32_t depth;      // > 0 while the thread is inside a guarded region
  uint32_t draining;   // drain() is running on this thread
  Tracer *deferred;    // freed by nested calls: records and releases to do
};
// initial-exec: a direct TLS access (16 bytes of the static TLS surplus).
extern __thread State t_state __attribute__((tls_model("initial-exec")));

// True when the calling code runs inside a guarded region of this thread:
// a nested call, from a signal handler that interrupted the library.
inline bool inside() { return __atomic_load_n(&t_state.depth, __ATOMIC_RELAXED) != 0; }

// Enters a guarded region; returns the depth before (0: not nested).
inline uint32_t enter() {
  const uint32_t d = __atomic_load_n(&t_state.depth, __ATOMIC_RELAXED);
  __atomic_store_n(&t_state.depth, d + 1, __ATOMIC_RELAXED);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  return d;
}

// Records and releases what nested calls left (tracer.cpp). Never throws.
void drain();

inline void leave() {
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  const uint32_t d = __atomic_load_n(&t_state.depth, __ATOMIC_RELAXED) - 1;
  __atomic_store_n(&t_state.depth, d, __ATOMIC_RELAXED);
  if (d == 0 && __builtin_expect(__atomic_load_n(&t_state.deferred, __ATOMIC_RELAXED) != nullptr, 0)) drain();
}

class Guard {
 public:
  Guard() : before_(enter()) {}
  ~Guard() { leave(); }
  Guard(const Guard &) = delete;
  Guard &operator=(const Guard &) = delete;
  // The region began inside another one: a nested call.
  bool nested() const { return before_ != 0; }

 private:
  uint32_t before_;
};

}  // namespace reentry
}  // namespace bt
