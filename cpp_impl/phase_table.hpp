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

extern Entry g_entries[kMaxPhases];
extern AtomicWord g_count;  // published with release after the entry is written

inline uint32_t count() { return static_cast<uint32_t>(g_count.load_acquire()); }
inline bool valid(int32_t id) { return id >= 0 && static_cast<uint32_t>(id) < count(); }
inline bool gil_held(int32_t id) { return g_entries[id].gil_held; }
inline const char *name(int32_t id) { return g_entries[id].name; }

// Registers `name` or finds it; Err::conflict when its GIL state differs.
Err register_phase(const char *name, bool gil_held, int32_t *out);
Err lookup(const char *name, int32_t *out);

// For fork_guard.cpp: the lock registrations take.
std::mutex &register_mutex();

}  // namespace phases
}  // namespace bt
