// Test-only (BT_ALLOC_HOOKS): fail the n-th allocation of the library.
//
// The library's operator new/delete are replaced here; the version script
// keeps them local, so they serve the library's own code (its containers
// and new-expressions) and nothing else in the process.
#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "cpp_impl/alloc.hpp"
#include "cpp_impl/reentry.hpp"

namespace bt {

namespace {
std::atomic<long> g_countdown{0};  // > 0: allocations left until the failing one
std::atomic<long> g_seen{0};       // allocations since the last arming
std::atomic<void (*)()> g_on_nested{nullptr};  // bt_testing_on_nested_alloc
}  // namespace

bool alloc_hook_fails() {
  // A test's stand-in for a signal that arrives while the library, inside a
  // guarded region (reentry.hpp), allocates: called once, right here.
  if (g_on_nested.load(std::memory_order_relaxed) && reentry::inside()) {
    if (void (*fn)() = g_on_nested.exchange(nullptr)) fn();
  }
  g_seen.fetch_add(1, std::memory_order_relaxed);
  long left = g_countdown.load(std::memory_order_relaxed);
  if (left <= 0) return false;
  // Exactly one allocation fails: the one that takes the countdown to zero.
  return g_countdown.fetch_sub(1, std::memory_order_relaxed) == 1;
}

}  // namespace bt

// The n-th allocation from now fails (1 = the next one; 0 = none); returns
// the number of allocations made since the previous call.
extern "C" __attribute__((visibility("default"))) long bt_testing_alloc_fail(long nth) {
  long seen = bt::g_seen.exchange(0);
  bt::g_countdown.store(nth < 0 ? 0 : nth);
  return seen;
}

// At the next allocation the library makes inside a guarded region (holding
// a lock a record may take), calls `fn` once: a test raises a signal there.
extern "C" __attribute__((visibility("default"))) void bt_testing_on_nested_alloc(void (*fn)(void)) {
  bt::g_on_nested.store(fn);
}

namespace {
// The process's own operator new/delete (libstdc++'s): the replacements below
// allocate through them, so a block allocated inside libstdc++ (a string it
// grows) and freed by the library's code, or the reverse, always pairs up.
using NewFn = void *(*)(std::size_t);
using DeleteFn = void (*)(void *);
NewFn real_new() {
  static NewFn f = reinterpret_cast<NewFn>(dlsym(RTLD_NEXT, "_Znwm"));
  return f;
}
DeleteFn real_delete() {
  static DeleteFn f = reinterpret_cast<DeleteFn>(dlsym(RTLD_NEXT, "_ZdlPv"));
  return f;
}

void *hooked_new(std::size_t n) noexcept {
  if (bt::alloc_hook_fails()) return nullptr;
  try {
    return real_new()(n);
  } catch (const std::bad_alloc &) {
    return nullptr;
  }
}
void hooked_delete(void *p) noexcept {
  if (p) real_delete()(p);
}
}  // namespace

void *operator new(std::size_t n) {
  if (void *p = hooked_new(n)) return p;
  throw std::bad_alloc();
}
void *operator new[](std::size_t n) {
  if (void *p = hooked_new(n)) return p;
  throw std::bad_alloc();
}
void *operator new(std::size_t n, const std::nothrow_t &) noexcept { return hooked_new(n); }
void *operator new[](std::size_t n, const std::nothrow_t &) noexcept { return hooked_new(n); }
void operator delete(void *p) noexcept { hooked_delete(p); }
void operator delete[](void *p) noexcept { hooked_delete(p); }
void operator delete(void *p, std::size_t) noexcept { hooked_delete(p); }
void operator delete[](void *p, std::size_t) noexcept { hooked_delete(p); }
void operator delete(void *p, const std::nothrow_t &) noexcept { hooked_delete(p); }
void operator delete[](void *p, const std::nothrow_t &) noexcept { hooked_delete(p); }
