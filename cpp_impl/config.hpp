// Process-wide switches, read from the environment once when the library loads:
//   BOUNDARYTRACE_DISABLE=1  recording calls become no-ops returning ok
//   BOUNDARYTRACE_CLOCK=os   use CLOCK_MONOTONIC even where the TSC is usable
#pragma once
#include "cpp_impl/atomics.hpp"

namespace bt {
namespace config {

extern AtomicWord g_enabled;

// The one predictable branch every recording call pays.
inline bool enabled() { return g_enabled.load_relaxed() != 0; }
inline void set_enabled(bool on) { g_enabled.store_relaxed(on ? 1 : 0); }

// True when the environment variable is set to a "yes" value (1, true, yes, on).
bool env_flag(const char *name);

// BOUNDARYTRACE_CLOCK asks for the OS clock ("os" or "monotonic").
bool os_clock_requested();

}  // namespace config
}  // namespace bt
