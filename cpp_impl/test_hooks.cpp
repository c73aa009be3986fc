// Test-only (the BT_ALLOC_HOOKS build, libboundarytrace_allochook): figures
// of the core that no public call shows, for tests/c.
#include <cstddef>
#include <cstdint>

#include "cpp_impl/shared_dir.hpp"
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
