// The timeline of individual operations, exported as Chrome Trace Event JSON.
#include "capi/src/shim.hpp"
#include <unistd.h>

#include "cpp_impl/export.hpp"
#include "cpp_impl/shared_dir.hpp"
#include "cpp_impl/timeline.hpp"

using bt::shim::status;

static_assert(BT_TIMELINE_MAX_CAPACITY == bt::timeline::kMaxCapacity, "trace capacity agrees with the core");

extern "C" {

bt_status bt_timeline_start(size_t capacity) {
  BT_SHIM_TRY
  return status(bt::timeline::start(capacity));
  BT_SHIM_CATCH
}

bt_status bt_timeline_stop(void) {
  bt::timeline::stop();
  return BT_OK;
}

bt_status bt_timeline_get_info(bt_timeline_info *out) {
  if (!out) return BT_E_NULL;
  if (!bt::shim::size_ok(out)) return BT_E_STRUCT_SIZE;
  bt::timeline::Info i = bt::timeline::info();
  bt_timeline_info full{};
  full.capacity = i.capacity;
  full.kept = i.kept;
  full.dropped = i.dropped;
  full.active = i.active ? 1 : 0;
  bt::shim::copy_out(full, out);
  return BT_OK;
}

bt_status bt_timeline_export(char *buf, size_t cap, size_t *needed) {
  if (!needed || (cap > 0 && !buf)) return BT_E_NULL;
  BT_SHIM_TRY
  return bt::shim::copy_text(bt::timeline::format_chrome(bt::timeline::copy()), buf, cap, needed);
  BT_SHIM_CATCH
}

bt_status bt_timeline_write(const char *path) {
  if (!path) return BT_E_NULL;
  if (!*path) return BT_E_INVALID;
  BT_SHIM_TRY
  return status(bt::write_file_atomic(path, bt::timeline::format_chrome(bt::timeline::copy())));
  BT_SHIM_CATCH
}

bt_status bt_timeline_export_shared(char *buf, size_t cap, size_t *needed, const char *dir, int64_t pid) {
  if (!needed || !dir || (cap > 0 && !buf)) return BT_E_NULL;
  if (!*dir || pid <= 0) return BT_E_INVALID;
  BT_SHIM_TRY
  const int fd = bt::shared::open_dir(dir, false);
  if (fd < 0) return BT_E_IO;
  bt::shared::Flight flight;
  const bt::Err e = bt::shared::find_flight(fd, pid, &flight);
  close(fd);
  if (e != bt::Err::ok) return status(e);
  return bt::shim::copy_text(bt::timeline::format_chrome(flight.contents), buf, cap, needed);
  BT_SHIM_CATCH
}

}  // extern "C"
