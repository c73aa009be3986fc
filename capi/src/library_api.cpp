// Version, switches and clock.
#include "capi/src/shim.hpp"
#include "cpp_impl/clock.hpp"
#include "cpp_impl/config.hpp"

extern "C" {

unsigned bt_version(void) { return BT_VERSION_NUMBER; }
const char *bt_version_string(void) { return BT_VERSION_STRING; }
unsigned bt_abi_version(void) { return BT_ABI_VERSION; }
void bt_set_enabled(int enabled) { bt::config::set_enabled(enabled != 0); }
int bt_is_enabled(void) { return bt::config::enabled() ? 1 : 0; }
uint64_t bt_clock_now_ns(void) { return bt::clock::now_ns(); }
const char *bt_clock_source(void) { return bt::clock::source_name(); }

}  // extern "C"
