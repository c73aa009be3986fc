#include "cpp_impl/thread_slot.hpp"

#include <pthread.h>

#include <cstdint>
#include <mutex>

#include "cpp_impl/limits.hpp"
#include "cpp_impl/owner_gate.hpp"
#include "cpp_impl/reentry.hpp"

namespace bt {
namespace slots {

__thread int t_slot __attribute__((tls_model("initial-exec"))) = -1;

namespace {

static_assert(kMaxSlots <= 64, "slot bitmap is one word");

std::mutex g_mutex;
uint64_t g_used = 0;        // bit s: slot s belongs to a live thread
unsigned g_overflow = 0;    // round-robin for threads beyond kMaxSlots
pthread_key_t g_key;
bool g_key_ok = false;

void release(void *value) {
  // The key holds slot+1 for slots this thread owns exclusively.
  auto s = static_cast<int>(reinterpret_cast<std::uintptr_t>(value)) - 1;
  reentry::Guard inside;
  std::lock_guard<std::mutex> lock(g_mutex);
  g_used &= ~(1ull << s);
}

// The key must go when the library unloads, or a thread exiting later would
// call a destructor that is no longer mapped. At exit() other threads may be
// acquiring slots (under g_mutex) as it goes; they then share slots.
struct KeyOwner {
  KeyOwner() { g_key_ok = pthread_key_create(&g_key, release) == 0; }
  ~KeyOwner() {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (g_key_ok) pthread_key_delete(g_key);
    g_key_ok = false;
  }
} g_key_owner;

}  // namespace

std::mutex &slot_mutex() { return g_mutex; }

void reset_in_child() {
  // Only the forking thread lives on; it keeps its own slot if it owned one.
  bool owned = g_key_ok && t_slot >= 0 && pthread_getspecific(g_key) != nullptr;
  g_used = owned ? (1ull << t_slot) : 0;
}

int acquire() {
  reentry::Guard inside;  // a signal handler must not wait for g_mutex here
  std::lock_guard<std::mutex> lock(g_mutex);
  int s;
  if (g_key_ok && g_used != ~0ull) {
    s = __builtin_ctzll(~g_used);
    if (pthread_setspecific(g_key, reinterpret_cast<void *>(static_cast<std::uintptr_t>(s + 1))) == 0) {
      g_used |= 1ull << s;
    } else {
      owner_gate::share();  // not marked used: the next thread gets it too
    }
  } else {
    // Shared slot: correct (each shard has its own lock), just not
    // contention-free; from now on every thread records under the lock.
    owner_gate::share();
    s = static_cast<int>(g_overflow++ % kMaxSlots);
  }
  t_slot = s;
  return s;
}

}  // namespace slots
}  // namespace bt
