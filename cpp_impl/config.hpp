// Process-wide switches, read from the environment once when the library loads:
//   BOUNDARYTRACE_DISABLE=1  recording calls become no-ops returning ok
//   BOUNDARYTRACE_CLOCK=os   use CLOCK_MONOTONIC even where the TSC is usable
// (exit_files.hpp reads the others). An odd value of any of them gets one
// message on stderr, naming the variable, the value and what is used instead.
#pragma once
#include "cpp_impl/atomics.hpp"

namespace bt {
namespace config {

extern AtomicWord g_enabled;

// The one predictable branch every recording call pays.
inline bool enabled() { return g_enabled.load_relaxed() != 0; }
inline void set_enabled(bool on) { g_enabled.store_relaxed(on ? 1 : 0); }

// The one message about an odd environment value, on stderr:
//   boundarytrace: NAME="value" <problem>; <instead>
// The value is quoted with its control characters and non-UTF-8 bytes escaped.
void report_env(const char *name, const char *value, const char *problem, const char *instead);

// BOUNDARYTRACE_DISABLE: true for 1, true, yes, on (any case); false for 0,
// false, no, off, an empty value or none; any other value is reported and
// counts as false.
bool disable_requested();

// BOUNDARYTRACE_CLOCK: os or monotonic ask for the OS clock; auto, tsc, an
// empty value or none leave the default (the invariant TSC where present).
enum class ClockRequest { none, os, tsc, odd };
ClockRequest clock_request();
// After clock::init: reports an odd request, or tsc asked for where there is none.
void report_clock(ClockRequest r, const char *source_in_use);

}  // namespace config
}  // namespace bt
