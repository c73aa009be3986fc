// Test-only (the BT_ALLOC_HOOKS build, libboundarytrace_allochook): figures
// of the core that no public call shows, for tests/c.
#include <cstddef>

#include "cpp_impl/timeline.hpp"

// Thread names the timeline holds now.
extern "C" __attribute__((visibility("default"))) std::size_t bt_testing_timeline_names() {
  return bt::timeline::names_held();
}
