// Snapshot exports: JSON, Prometheus, OpenMetrics, folded stacks, files.
#include "capi/src/shim.hpp"
#include "cpp_impl/export.hpp"

using bt::shim::cast;
using bt::shim::status;

static_assert(BT_FORMAT_TEXT == static_cast<int>(bt::Format::text) &&
                  BT_FORMAT_JSON == static_cast<int>(bt::Format::json) &&
                  BT_FORMAT_PROMETHEUS == static_cast<int>(bt::Format::prometheus) &&
                  BT_FORMAT_OPENMETRICS == static_cast<int>(bt::Format::openmetrics) &&
                  BT_FORMAT_FOLDED == static_cast<int>(bt::Format::folded) &&
                  BT_FORMAT_PROMETHEUS_PROTOBUF == static_cast<int>(bt::Format::prometheus_protobuf) &&
                  BT_FORMAT_OTLP_PROTOBUF == static_cast<int>(bt::Format::otlp_protobuf),
              "formats agree with the core");

extern "C" {

bt_status bt_snapshot_export(char *buf, size_t cap, size_t *needed, const bt_snapshot *snapshot,
                             bt_format format) {
  if (!snapshot || !needed || (cap > 0 && !buf)) return BT_E_NULL;
  if (!bt::format_valid(static_cast<int>(format))) return BT_E_INVALID;
  BT_SHIM_TRY
  // Rendered straight into the caller's buffer (no copy of the whole export):
  // cap - 1 bytes at most, the rest counted; the NUL after.
  bt::Out out(buf, cap > 0 ? cap - 1 : 0);
  try {
    bt::render(*cast(snapshot), static_cast<bt::Format>(format), out);
  } catch (...) {
    if (cap > 0) buf[0] = '\0';  // no part of an export that failed
    throw;
  }
  const size_t n = out.size();
  if (cap > 0) buf[n < cap - 1 ? n : cap - 1] = '\0';
  *needed = n;
  return BT_OK;
  BT_SHIM_CATCH
}

bt_status bt_snapshot_write(const bt_snapshot *snapshot, bt_format format, const char *path) {
  if (!snapshot || !path) return BT_E_NULL;
  if (!bt::format_valid(static_cast<int>(format)) || !*path) return BT_E_INVALID;
  BT_SHIM_TRY
  return status(bt::write_file_atomic(path, bt::render(*cast(snapshot), static_cast<bt::Format>(format))));
  BT_SHIM_CATCH
}

bt_status bt_format_for_path(bt_format *out, const char *path) {
  if (!path || !out) return BT_E_NULL;
  *out = static_cast<bt_format>(bt::format_for_path(path));
  return BT_OK;
}

}  // extern "C"
