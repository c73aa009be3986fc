#include "cpp_impl/owner_gate.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#if defined(__linux__) && defined(__has_include)
#if __has_include(<linux/membarrier.h>)
#include <linux/membarrier.h>
#define BT_HAVE_MEMBARRIER 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define BT_OWNER_GATE_OFF 1  // ThreadSanitizer does not see membarrier's ordering
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define BT_OWNER_GATE_OFF 1
#endif
#endif

namespace bt {
namespace owner_gate {

alignas(64) std::uintptr_t g_slow = 1;  // closed until init() registers

namespace {

bool g_registered = false;  // membarrier's expedited command is ours to use

bool register_process() {
#if defined(BT_HAVE_MEMBARRIER) && !defined(BT_OWNER_GATE_OFF)
  const long cmds = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
  if (cmds < 0 || !(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED)) return false;
  return syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
#else
  return false;
#endif
}

// A full barrier on every running thread of the process. False when it
// could not be had (then the gate is closed for good, see the caller).
bool barrier_everywhere() {
#if defined(BT_HAVE_MEMBARRIER) && !defined(BT_OWNER_GATE_OFF)
  return g_registered && syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0;
#else
  return false;
#endif
}

}  // namespace

void init() {
  g_registered = register_process();
  if (g_registered) __atomic_fetch_and(&g_slow, ~std::uintptr_t{1}, __ATOMIC_SEQ_CST);
}

void share() {
  if (__atomic_fetch_or(&g_slow, std::uintptr_t{1}, __ATOMIC_SEQ_CST) & 1) return;
  (void)barrier_everywhere();  // a write begun before is waited for by lock_excl
}

void in_child() {
  // One thread: nothing is written without the lock right now.
  g_registered = g_registered && register_process();
  if (!g_registered) __atomic_fetch_or(&g_slow, std::uintptr_t{1}, __ATOMIC_SEQ_CST);
}

Exclude::Exclude() {
  __atomic_fetch_add(&g_slow, std::uintptr_t{2}, __ATOMIC_SEQ_CST);
  // Registered, the barrier does not fail; unregistered, no thread writes
  // without the lock (bit 0 was never cleared).
  if (g_registered && !barrier_everywhere()) __atomic_fetch_or(&g_slow, std::uintptr_t{1}, __ATOMIC_SEQ_CST);
}

Exclude::~Exclude() { __atomic_fetch_sub(&g_slow, std::uintptr_t{2}, __ATOMIC_RELEASE); }

}  // namespace owner_gate
}  // namespace bt
