// The timing of one finished operation, as the core records it.
#pragma once
#include <cstdint>

#include "cpp_impl/limits.hpp"

namespace bt {

constexpr uint32_t kFlagError = 0x1;      // BT_TIMING_ERROR
constexpr uint32_t kFlagLeftOpen = 0x2;   // BT_TIMING_PHASE_LEFT_OPEN

// Durations in a Timing are in units of `mult` (32.32 fixed-point ns per
// unit): kNsMult for nanoseconds, the clock's multiplier for ticks.
constexpr uint64_t kNsMult = 1ull << 32;
inline uint64_t scale_to_ns(uint64_t units, uint64_t mult) {
#if defined(__x86_64__) && defined(__GNUC__)
  // One mul; GCC 12 sends a 128-bit product in a loop through the stack.
  uint64_t lo, hi;
  __asm__("mulq %3" : "=a"(lo), "=d"(hi) : "%0"(units), "rm"(mult) : "cc");
  return (hi << 32) | (lo >> 32);
#else
  return static_cast<uint64_t>((static_cast<unsigned __int128>(units) * mult) >> 32);
#endif
}

struct Timing {
  const char *op_name = nullptr;
  uint64_t total_ns = 0;
  uint64_t unattributed_ns = 0;
  uint64_t gil_held_ns = 0;
  uint64_t gil_released_ns = 0;
  uint64_t gil_wait_ns = 0;
  uint64_t items = 0;
  uint32_t gil_releases = 0;
  uint32_t workers = 0;
  uint32_t flags = 0;
  uint32_t phase_count = 0;
  uint32_t touched = 0;  // bit p set: phase p was entered (its slots are valid)
  uint64_t phase_ns[kMaxPhases];
  uint32_t phase_entries[kMaxPhases];
};

}  // namespace bt
