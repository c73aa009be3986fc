#include "cpp_impl/phase_table.hpp"

#include <cstring>
#include <mutex>

#include "cpp_impl/names.hpp"

namespace bt {
namespace phases {

Entry g_entries[kMaxPhases] = {
    {"extract", true},
    {"convert", false},
    {"network", false},
    {"materialize", true},
};
AtomicWord g_count{kBuiltin};
static_assert(kBuiltin <= kMaxPhases, "the built-in phases fit the table");

namespace {
std::mutex g_register_mutex;

int32_t find_locked(const char *name, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) {
    if (std::strcmp(g_entries[i].name, name) == 0) return static_cast<int32_t>(i);
  }
  return -1;
}
}  // namespace

Err register_phase(const char *name, bool gil_held, int32_t *out) {
  std::size_t len = 0;
  Err e = check_name(name, &len);
  if (e != Err::ok) return e;
  std::lock_guard<std::mutex> lock(g_register_mutex);
  uint32_t n = count();
  int32_t id = find_locked(name, n);
  if (id >= 0) {
    if (g_entries[id].gil_held != gil_held) return Err::conflict;
    *out = id;
    return Err::ok;
  }
  if (n >= static_cast<uint32_t>(kMaxPhases)) return Err::full;
  const char *interned = intern(name, len);
  if (!interned) return Err::nomem;
  g_entries[n] = Entry{interned, gil_held};
  g_count.store_release(n + 1);
  *out = static_cast<int32_t>(n);
  return Err::ok;
}

std::mutex &register_mutex() { return g_register_mutex; }

Err lookup(const char *name, int32_t *out) {
  std::size_t len = 0;
  Err e = check_name(name, &len);
  if (e != Err::ok) return e;
  uint32_t n = count();
  for (uint32_t i = 0; i < n; ++i) {
    if (std::strcmp(g_entries[i].name, name) == 0) {
      *out = static_cast<int32_t>(i);
      return Err::ok;
    }
  }
  return Err::not_found;
}

}  // namespace phases
}  // namespace bt
