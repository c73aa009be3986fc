#include "cpp_impl/config.hpp"

#include <cstdlib>
#include <cstring>
#include <strings.h>

#include "cpp_impl/clock.hpp"
#include "cpp_impl/exit_files.hpp"
#include "cpp_impl/fork_guard.hpp"

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

// Runs when the library is loaded, before any caller can reach it.
__attribute__((constructor)) void load_config() {
  clock::init(env_equals("BOUNDARYTRACE_CLOCK", "os") ||
              env_equals("BOUNDARYTRACE_CLOCK", "monotonic"));
  if (env_flag("BOUNDARYTRACE_DISABLE")) set_enabled(false);
  install_fork_guard();
  arm_exit_files();
}

}  // namespace
}  // namespace config
}  // namespace bt
