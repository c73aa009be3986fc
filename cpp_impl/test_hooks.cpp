// Test-only (the BT_ALLOC_HOOKS build, libboundarytrace_allochook): figures
// of the core that no public call shows, and pause points (test_hooks.hpp),
// for tests/c.
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "cpp_impl/shared_dir.hpp"
#include "cpp_impl/test_hooks.hpp"
#include "cpp_impl/timeline.hpp"
#include "cpp_impl/tracer.hpp"

// Thread names the timeline holds now.
extern "C" __attribute__((visibility("default"))) std::size_t bt_testing_timeline_names() {
  return bt::timeline::names_held();
}

// Finishes made in a signal handler that interrupted the library, recorded
// at once or kept for later; and the reserve's tracers handed out now.
extern "C" __attribute__((visibility("default"))) void bt_testing_nested(uint64_t *recorded, uint64_t *deferred,
                                                                         uint64_t *reserve_in_use) {
  bt::NestedCounts c = bt::nested_counts();
  *recorded = c.recorded;
  *deferred = c.deferred;
  *reserve_in_use = c.reserve_in_use;
}

// A taker of a shared slot exits with `code` right after it writes the
// archive (0: never), as if it crashed before emptying the folded slots.
extern "C" __attribute__((visibility("default"))) void bt_testing_shared_exit_after_archive(int code) {
  bt::shared::g_test_exit_after_archive = code;
}

namespace {
std::atomic<void (*)()> g_on_spare_key{nullptr};  // bt_testing_on_spare_key
}  // namespace

void bt::testing::holding_spare_key() {
  if (void (*fn)() = g_on_spare_key.exchange(nullptr)) fn();
}

// The next thread that registers its spare-tracer key (its first tracer
// free) calls `fn` once, holding the key's mutex: a test forks meanwhile.
extern "C" __attribute__((visibility("default"))) void bt_testing_on_spare_key(void (*fn)(void)) {
  g_on_spare_key.store(fn);
}

// The fork guard's handlers without a fork: prepare takes every lock of the
// library as before a fork, release gives them back as the parent does
// after it. Between the two, the calling thread must not call the library.
extern "C" __attribute__((visibility("default"))) void bt_testing_fork_prepare(void) {
  bt::testing::fork_prepare();
}
extern "C" __attribute__((visibility("default"))) void bt_testing_fork_release(void) {
  bt::testing::fork_release();
}
