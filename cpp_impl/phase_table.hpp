// The process-wide phase table: four built-in phases, then registered ones.
// Ids never change and entries are never removed, so the hot path reads an
// entry without a lock once it has seen the count.
#pragma once
#include <cstdint>
#include <mutex>

#include "cpp_impl/atomics.hpp"
#include "cpp_impl/limits.hpp"
#include "cpp_impl/status.hpp"

namespace bt {
namespace phases {

struct Entry {
  const char *name;  // interned
  bool gil_held;
};

// The built-in phases (extract, convert, network, materialize): ids 0 .. 3,
// always registered, so a check of one needs no load of the count.
constexpr uint32_t kBuiltin = kBuiltinPhases;

extern Entry g_entries[kMaxPhases];
extern AtomicWord g_count;  // published with release after the entry is written

inline uint32_t count() { return static_cast<uint32_t>(g_count.load_acquire()); }
inline bool builtin(int32_t id) { return static_cast<uint32_t>(id) < kBuiltin; }
inline bool valid(int32_t id) { return builtin(id) || (id >= 0 && static_cast<uint32_t>(id) < count()); }
inline bool gil_held(int32_t id) { return g_entries[id].gil_held; }
inline const char *name(int32_t id) { return g_entries[id].name; }

// The one rule for the GIL figures: each phase's time counts as GIL held or
// released by the phase's registered state. `time_of(p)` is asked for each
// set bit p of `mask`. False when a sum would pass 2^64 (sums then unset).
template <typename TimeOf>
bool split_by_gil(uint32_t mask, TimeOf time_of, uint64_t *held, uint64_t *released) {
  uint64_t h = 0, r = 0;
  for (; mask; mask &= mask - 1) {
    int32_t p = __builtin_ctz(mask);
    uint64_t &sum = gil_held(p) ? h : r;
    if (__builtin_add_overflow(sum, time_of(p), &sum)) return false;
  }
  *held = h;
  *released = r;
  return true;
}

// Registers `name` or finds it; Err::conflict when its GIL state differs.
Err register_phase(const char *name, bool gil_held, int32_t *out);
Err lookup(const char *name, int32_t *out);

// For fork_guard.cpp: the lock registrations take.
std::mutex &register_mutex();

}  // namespace phases
}  // namespace bt
