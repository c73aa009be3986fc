#include "cpp_impl/config.hpp"

#include <cstdlib>
#include <cstring>
#include <strings.h>


namespace bt {
namespace config {

AtomicWord g_enabled{1};

bool env_flag(const char *name) {
  const char *v = std::getenv(name);
  if (!v) return false;
  return std::strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 ||
         strcasecmp(v, "yes") == 0 || strcasecmp(v, "on") == 0;
}

namespace {

bool env_equals(const char *name, const char *value) {
  const char *v = std::getenv(name);
  return v && strcasecmp(v, value) == 0;
}

}  // namespace

bool os_clock_requested() {
  return env_equals("BOUNDARYTRACE_CLOCK", "os") || env_equals("BOUNDARYTRACE_CLOCK", "monotonic");
}

}  // namespace config
}  // namespace bt
