// A thread writes its own shard (metrics.hpp) without a locked instruction.
//
// A shard's lock is taken by its thread on every record, and now and then by
// a snapshot, take or reset and by the fork guard (the "excluders"). Even
// uncontended, the lock is an atomic exchange, which waits for the store
// buffer to drain: on x86 (KVM) it measured 7-10 ns beside ten clock reads,
// a sixth of the library's own share of a traced operation. So the one
// thread that writes a shard marks
// it busy with a plain store instead (an asymmetric lock, as in userspace
// RCU):
//   writer:    busy = 1; if g_slow == 0: write, then busy = 0 (release);
//              else busy = 0, take the lock, wait for busy == 0, write.
//   excluder:  g_slow += 2; membarrier(PRIVATE_EXPEDITED); then per shard:
//              take the lock, wait for busy == 0, read or change it; at the
//              end g_slow -= 2.
// membarrier makes every running thread of the process pass a full memory
// barrier: a writer that read g_slow before that point has its busy = 1
// visible to the excluder afterwards (which waits for the write to end); one
// that reads g_slow after it sees the excluder and takes the lock. The
// writer's only cost is two plain stores and a load.
//
// Only a shard with a single writer thread may be written so. Bit 0 of
// g_slow, once set, sends every write through the lock, as before: set when
// a thread gets a slot another thread has (share(), thread_slot.cpp), when
// membarrier is missing (kernel < 4.14, a seccomp filter), and under
// ThreadSanitizer, which does not know the protocol. Whoever takes a shard's
// lock waits for busy == 0 afterwards (Shard::lock_excl), so a write begun
// before bit 0 was set still ends first.
//
// A thread whose slot is shared never stores to a shard's busy flag: it
// tests bit 0 first (single(), which it set itself in share(), so it sees
// it). Were it to store busy = 1 then busy = 0 on its way to the lock, it
// could wipe out the busy = 1 of the slot's first thread, still in a write
// begun before bit 0 was set, and then stop waiting for it too early.
//
// A signal handler that interrupts its thread's write without the lock
// (busy = 1) is nested (reentry.hpp): its record goes to the side shard.
//
// The shared sink (metrics_shared.cpp) uses bit 0 alone, with a busy flag
// per writer slot: the files' readers never lock, so no excluder there.
#pragma once
#include <cstdint>

namespace bt {
namespace owner_gate {

// 0: a thread may write its own shard without the lock. Bit 0: never (see
// above); + 2 for each excluder at work.
extern std::uintptr_t g_slow;

inline bool open() { return __atomic_load_n(&g_slow, __ATOMIC_ACQUIRE) == 0; }
// Bit 0 clear: no slot has had two threads, membarrier works, no TSan. A
// thread may mark its own writes busy (and test again) only then.
inline bool single() { return (__atomic_load_n(&g_slow, __ATOMIC_RELAXED) & 1) == 0; }

// At load: registers with membarrier and opens the gate when it can.
void init();
// A slot now has more than one thread: every write takes the lock from now on.
void share();
// In a forked child (only the forking thread runs): registers again, or
// closes the gate for good.
void in_child();

// While one lives, every thread writes shards under their locks only, and
// a write begun before is seen: take a shard with Shard::lock_excl.
class Exclude {
 public:
  Exclude();
  ~Exclude();
  Exclude(const Exclude &) = delete;
  Exclude &operator=(const Exclude &) = delete;
};

}  // namespace owner_gate
}  // namespace bt
