#include "cpp_impl/snapshot.hpp"

#include <time.h>

#include <algorithm>
#include <cstring>

namespace bt {

namespace {
bool name_less(const std::unique_ptr<SnapOp> &a, const std::unique_ptr<SnapOp> &b) {
  return std::strcmp(a->name, b->name) < 0;
}
}  // namespace

void Snapshot::finish(bool counts_kept) {
  for (auto &op : ops) op->agg.settle(counts_kept);
  sort_by_name();
  timespec mono{}, real{};
  clock_gettime(CLOCK_MONOTONIC, &mono);
  clock_gettime(CLOCK_REALTIME, &real);
  unix_offset_ns = (static_cast<int64_t>(real.tv_sec) - mono.tv_sec) * 1000000000 + (real.tv_nsec - mono.tv_nsec);
}

void Snapshot::sort_by_name() { std::sort(ops.begin(), ops.end(), name_less); }

long Snapshot::find(const char *name) const {
  auto it = std::lower_bound(ops.begin(), ops.end(), name,
                             [](const std::unique_ptr<SnapOp> &o, const char *n) {
                               return std::strcmp(o->name, n) < 0;
                             });
  if (it == ops.end() || std::strcmp((*it)->name, name) != 0) return -1;
  return static_cast<long>(it - ops.begin());
}

}  // namespace bt
