// An immutable copy of a Metrics' aggregates, operations sorted by name.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cpp_impl/aggregate.hpp"
#include "cpp_impl/arena.hpp"

namespace bt {

struct SnapOp {
  const char *name = nullptr;  // interned
  OpAgg agg;
};

// A file a merge of a shared directory left out, and why.
struct Skipped {
  std::string path, reason;
};

struct Snapshot {
  // Of a merge (shared_read.hpp): where every operation and all it holds
  // live, each operation beside its own figures (an export reads them
  // together). Declared first, so it goes last, after `ops`.
  std::unique_ptr<Arena> arena;
  std::vector<std::unique_ptr<SnapOp>> ops;
  // Of a shared directory (shared_read.hpp): records its writers could not
  // keep, process slots merged (live and dead; the archive counts as one
  // when it holds any), and files left out.
  uint64_t dropped = 0;
  uint32_t processes = 0;
  std::vector<Skipped> skipped;
  // Of a shared directory: its canonical path (its path as given when that
  // fails). Empty for a snapshot of one process. An OTLP export names the
  // directory, not the pid of whichever process read it.
  std::string shared_dir;
  uint64_t start_ns = 0;  // when the covered interval began
  uint64_t end_ns = 0;    // when the copy was taken
  uint32_t phase_count = 0;
  bool interval = false;  // an interval of a take (delta), not the cumulative view
  // Unix time minus monotonic time when the snapshot was finished: exports
  // that need Unix time (OTLP) convert with it, so they are the same bytes
  // however often a snapshot is exported.
  int64_t unix_offset_ns = 0;

  Snapshot() = default;
  // The operations of an arena are dropped with it, not destroyed one by one.
  ~Snapshot() {
    if (arena) {
      for (auto &op : ops) (void)op.release();
    }
  }
  Snapshot(const Snapshot &) = delete;
  Snapshot &operator=(const Snapshot &) = delete;

  // Settles each operation (counts, GIL figures), then sorts: the last step of
  // making a snapshot. `counts_kept`: as OpAgg::settle.
  void finish(bool counts_kept = false);
  void sort_by_name();
  // Index of `name`, or -1.
  long find(const char *name) const;
  // The distribution of `phase` of op `i` (kDistTotal, kDistWait, or a
  // phase id); nullptr if never entered.
  const Dist *dist(std::size_t i, int phase) const {
    const OpAgg &a = ops[i]->agg;
    return phase == kDistTotal ? &a.total : phase == kDistWait ? a.wait() : a.phase(phase);
  }
};

}  // namespace bt
