// The human-readable reports: the seed's format (operation, items, time per
// item, each phase with its GIL state, total, GIL held share), extended with
// entries, percentiles, GIL wait and unattributed time.
#pragma once
#include <string>

#include "cpp_impl/snapshot.hpp"
#include "cpp_impl/timing.hpp"

namespace bt {

// Both may throw std::bad_alloc.
std::string format_timing(const Timing &t);
std::string format_snapshot(const Snapshot &s);

// "812 ns", "12.3 µs", "4.56 ms", "1.234 s".
std::string format_duration(uint64_t ns);

}  // namespace bt
