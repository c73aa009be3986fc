// Writer slots: each thread that records gets a small number of its own, so
// it writes into its own shard of every operation (no shared cache line).
// A slot is returned when its thread exits and handed to the next new thread,
// which then adds to the same shards: counts of exited threads are kept.
#pragma once
#include <mutex>

namespace bt {
namespace slots {

// initial-exec: a direct TLS access, no __tls_get_addr call (4 bytes of the
// static TLS surplus glibc keeps for dlopen'ed libraries).
extern __thread int t_slot __attribute__((tls_model("initial-exec")));  // -1 until the thread first records
int acquire();

// For fork_guard.cpp: the allocator's lock, and the child's reset (the
// parent's other threads do not exist there: their slots are free again).
std::mutex &slot_mutex();
void reset_in_child();

inline int current() {
  int s = t_slot;
  return s >= 0 ? s : acquire();
}

}  // namespace slots
}  // namespace bt
