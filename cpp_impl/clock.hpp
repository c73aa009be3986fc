// Monotonic clock in ticks, converted to nanoseconds when needed.
// Ticks come from the CPU's time-stamp counter when it is invariant (a few ns
// a read), else from CLOCK_MONOTONIC (where a tick is a nanosecond).
#pragma once
#include <cstdint>
#include <mutex>
#include <ctime>

#include "cpp_impl/timing.hpp"
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define BT_HAVE_TSC 1
#endif

namespace bt {
namespace clock {

enum class Source { tsc, monotonic };

struct State {
  Source source = Source::monotonic;
  uint64_t tick0 = 0;     // ticks at load
  uint64_t mono0 = 0;     // CLOCK_MONOTONIC ns at load
  uint64_t mult = 0;      // ns per tick, 32.32 fixed point; 0 = not calibrated
                          // (written once by calibrate(), read with acquire)
};
extern State g_state;

inline uint64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

inline uint64_t ticks() {
#if defined(BT_HAVE_TSC)
  if (g_state.source == Source::tsc) return __rdtsc();
#endif
  return mono_ns();
}

inline bool is_tsc() { return g_state.source == Source::tsc; }

// A read of the time-stamp counter, for callers that checked is_tsc().
inline uint64_t tsc_ticks() {
#if defined(BT_HAVE_TSC)
  return __rdtsc();
#else
  return mono_ns();  // never called: is_tsc() is false without a TSC
#endif
}

// Calibrates the counter against CLOCK_MONOTONIC (once; later calls return
// the published multiplier). A nested call (reentry.hpp: a signal handler
// that interrupted the library, maybe this very calibration) must not wait
// for its lock: it gets estimate_mult() instead.
uint64_t calibrate();

// The multiplier from the time since load, without a lock, a wait or
// publishing it: less exact while that time is short.
uint64_t estimate_mult();

// The counter's multiplier, calibrated on first use; one load after.
inline uint64_t calibrated_mult() {
  uint64_t m = __atomic_load_n(&g_state.mult, __ATOMIC_ACQUIRE);
  return m ? m : calibrate();
}

// The 32.32 multiplier of ticks to nanoseconds (scale_to_ns, timing.hpp):
// 1.0 for the OS clock.
inline uint64_t ns_per_tick() {
  return g_state.source == Source::monotonic ? (1ull << 32) : calibrated_mult();
}

// As ns_per_tick(), but never waits: before the calibration, an estimate.
inline uint64_t ns_per_tick_now() {
  if (g_state.source == Source::monotonic) return 1ull << 32;
  uint64_t m = __atomic_load_n(&g_state.mult, __ATOMIC_ACQUIRE);
  return m ? m : estimate_mult();
}

// Duration in ticks to nanoseconds.
inline uint64_t to_ns(uint64_t dticks) {
  if (g_state.source == Source::monotonic) return dticks;
  return scale_to_ns(dticks, calibrated_mult());
}

// A tick reading to nanoseconds on the CLOCK_MONOTONIC time line.
inline uint64_t ticks_to_time_ns(uint64_t t) {
  if (g_state.source == Source::monotonic) return t;
  return g_state.mono0 + to_ns(t - g_state.tick0);
}

inline uint64_t now_ns() { return ticks_to_time_ns(ticks()); }

// Chooses the source; `force_os` is BOUNDARYTRACE_CLOCK=os. Called once at load.
void init(bool force_os);

const char *source_name();

// For fork_guard.cpp: the lock of the one-time calibration.
std::mutex &calibration_mutex();

}  // namespace clock
}  // namespace bt
