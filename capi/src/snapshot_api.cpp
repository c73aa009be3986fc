// Read-only accessors of an immutable snapshot.
#include <unistd.h>

#include <cerrno>
#include <cmath>

#include "capi/src/shim.hpp"
#include "cpp_impl/names.hpp"
#include "cpp_impl/phase_table.hpp"
#include "cpp_impl/shared_dir.hpp"

using bt::shim::cast;
using bt::shim::status;

namespace {

// Resolves (snapshot, index, phase) to a distribution; `*d` may come back
// NULL for a registered phase the operation never entered.
bt_status locate(const bt_snapshot *snapshot, size_t index, bt_phase_id phase, const bt::Dist **d) {
  const bt::Snapshot *s = cast(snapshot);
  if (index >= s->ops.size()) return BT_E_NOT_FOUND;
  if (phase != BT_PHASE_TOTAL && phase != BT_PHASE_GIL_WAIT && !bt::phases::valid(phase))
    return BT_E_UNKNOWN_PHASE;
  *d = s->dist(index, phase);
  return BT_OK;
}

}  // namespace

extern "C" {

void bt_snapshot_free(bt_snapshot *snapshot) { delete cast(snapshot); }

bt_status bt_snapshot_get_info(bt_snapshot_info *out, const bt_snapshot *snapshot) {
  if (!snapshot || !out) return BT_E_NULL;
  if (!bt::shim::size_ok(out)) return BT_E_STRUCT_SIZE;
  const bt::Snapshot *s = cast(snapshot);
  bt_snapshot_info full{};
  full.op_count = s->ops.size();
  full.start_ns = s->start_ns;
  full.end_ns = s->end_ns;
  full.phase_count = s->phase_count;
  full.dropped = s->dropped;
  full.processes = s->processes;
  full.skipped = static_cast<uint32_t>(s->skipped.size());
  bt::shim::copy_out(full, out);
  return BT_OK;
}

bt_status bt_snapshot_read_shared(bt_snapshot **out, const char *dir) {
  if (!out || !dir) return BT_E_NULL;
  if (!*dir) return BT_E_INVALID;
  BT_SHIM_TRY
  const int fd = bt::shared::open_dir(dir, false);
  if (fd < 0) return BT_E_IO;
  bt::Snapshot *snap = nullptr;
  int err_no = 0;
  const bt::Err e = bt::shared::merge(fd, dir, &snap, &err_no);
  close(fd);
  if (e != bt::Err::ok) {
    errno = err_no;
    return status(e);
  }
  *out = cast(snap);
  return BT_OK;
  BT_SHIM_CATCH
}

bt_status bt_snapshot_get_skipped(const char **path_out, const char **reason_out, const bt_snapshot *snapshot,
                                  size_t index) {
  if (!path_out || !reason_out || !snapshot) return BT_E_NULL;
  const bt::Snapshot *s = cast(snapshot);
  if (index >= s->skipped.size()) return BT_E_NOT_FOUND;
  *path_out = s->skipped[index].path.c_str();
  *reason_out = s->skipped[index].reason.c_str();
  return BT_OK;
}

bt_status bt_snapshot_op_count(size_t *out, const bt_snapshot *snapshot) {
  if (!snapshot || !out) return BT_E_NULL;
  *out = cast(snapshot)->ops.size();
  return BT_OK;
}

bt_status bt_snapshot_find(size_t *index_out, const bt_snapshot *snapshot, const char *name) {
  if (!snapshot || !name || !index_out) return BT_E_NULL;
  std::size_t len = 0;
  bt::Err e = bt::check_name(name, &len);
  if (e != bt::Err::ok) return status(e);
  long i = cast(snapshot)->find(name);
  if (i < 0) return BT_E_NOT_FOUND;
  *index_out = static_cast<size_t>(i);
  return BT_OK;
}

bt_status bt_snapshot_op_stats(bt_op_stats *out, const bt_snapshot *snapshot, size_t index) {
  if (!snapshot || !out) return BT_E_NULL;
  const bt::Snapshot *s = cast(snapshot);
  if (index >= s->ops.size()) return BT_E_NOT_FOUND;
  if (!bt::shim::size_ok(out)) return BT_E_STRUCT_SIZE;
  const bt::OpAgg &a = s->ops[index]->agg;
  bt_op_stats full{};
  full.name = s->ops[index]->name;
  full.count = a.count;
  full.errors = a.errors;
  full.left_open = a.left_open;
  full.items = a.items;
  full.total_ns = a.total.sum;
  full.gil_held_ns = a.gil_held_ns;
  full.gil_released_ns = a.gil_released_ns;
  full.gil_wait_ns = a.gil_wait_ns;
  full.unattributed_ns = a.unattributed_ns;
  full.gil_releases = a.gil_releases;
  full.parallel_ops = a.parallel_ops;
  full.workers_max = a.workers_max;
  full.flags = a.saturated ? BT_STATS_SATURATED : 0u;
  bt::shim::copy_out(full, out);
  return BT_OK;
}

bt_status bt_snapshot_phase_stats(bt_phase_stats *out, const bt_snapshot *snapshot, size_t index,
                                  bt_phase_id phase) {
  if (!snapshot || !out) return BT_E_NULL;
  const bt::Dist *d = nullptr;
  bt_status st = locate(snapshot, index, phase, &d);
  if (st != BT_OK) return st;
  if (!bt::shim::size_ok(out)) return BT_E_STRUCT_SIZE;
  bt_phase_stats full{};
  full.phase = phase;
  const bool pseudo = phase == BT_PHASE_TOTAL || phase == BT_PHASE_GIL_WAIT;
  full.name = phase == BT_PHASE_TOTAL ? "total" : phase == BT_PHASE_GIL_WAIT ? "GIL wait" : bt::phases::name(phase);
  full.gil_held = pseudo ? -1 : (bt::phases::gil_held(phase) ? 1 : 0);
  if (d && d->count) {
    full.count = d->count;
    full.entries = d->entries;
    full.sum_ns = d->sum;
    full.min_ns = d->min;
    full.max_ns = d->max;
    full.p50_ns = d->quantile(0.5);
    full.p90_ns = d->quantile(0.9);
    full.p99_ns = d->quantile(0.99);
    full.p999_ns = d->quantile(0.999);
  }
  bt::shim::copy_out(full, out);
  return BT_OK;
}

bt_status bt_snapshot_quantile(uint64_t *ns_out, const bt_snapshot *snapshot, size_t index, bt_phase_id phase,
                               double q) {
  if (!snapshot || !ns_out) return BT_E_NULL;
  const bt::Dist *d = nullptr;
  bt_status st = locate(snapshot, index, phase, &d);
  if (st != BT_OK) return st;
  if (std::isnan(q) || q < 0.0 || q > 1.0) return BT_E_INVALID;
  *ns_out = d ? d->quantile(q) : 0;
  return BT_OK;
}

bt_status bt_snapshot_buckets(bt_bucket *buckets, size_t cap, size_t *count_out, const bt_snapshot *snapshot,
                              size_t index, bt_phase_id phase) {
  if (!snapshot || !count_out || (cap > 0 && !buckets)) return BT_E_NULL;
  const bt::Dist *d = nullptr;
  bt_status st = locate(snapshot, index, phase, &d);
  if (st != BT_OK) return st;
  size_t n = 0;
  if (d) {
    for (int b = d->hist.first_bucket(); b < d->hist.end_bucket(); ++b) {
      uint64_t k = d->hist.count_at(b);
      if (!k) continue;
      if (n < cap) buckets[n] = bt_bucket{bt::Histogram::lower_of(b), bt::Histogram::upper_of(b), k};
      ++n;
    }
  }
  *count_out = n;
  return BT_OK;
}

}  // extern "C"
