#include "cpp_impl/startup.hpp"

#include "cpp_impl/clock.hpp"
#include "cpp_impl/config.hpp"
#include "cpp_impl/exit_files.hpp"
#include "cpp_impl/fork_guard.hpp"
#include "cpp_impl/metrics.hpp"
#include "cpp_impl/names.hpp"
#include "cpp_impl/owner_gate.hpp"
#include "cpp_impl/timeline.hpp"

namespace bt {

void build_process_objects() {
  intern_pool_init();
  Metrics::global();
  timeline::info();
}

namespace {

// Runs when the library is loaded, before any caller can reach it.
__attribute__((constructor)) void on_load() {
  const config::ClockRequest clock_asked = config::clock_request();
  clock::init(clock_asked == config::ClockRequest::os);
  config::report_clock(clock_asked, clock::source_name());
  if (config::disable_requested()) config::set_enabled(false);
  owner_gate::init();
  install_fork_guard();
  Metrics::share_global_from_env();
  arm_exit_files();
}

}  // namespace
}  // namespace bt
