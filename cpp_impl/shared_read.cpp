#include "cpp_impl/shared_read.hpp"

#include <time.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <utility>

#include "cpp_impl/clock.hpp"
#include "cpp_impl/names.hpp"
#include "cpp_impl/phase_table.hpp"

namespace bt {
namespace shared {

namespace {

std::string kind_name(uint64_t k) {
  return k == kSlot ? "process slot" : k == kArchive ? "archive" : "kind " + std::to_string(k);
}

// Adds a staged distribution into `d`: as an OpAgg merge adds one, storage
// grown (once) to the chunks holding its counts, and its count kept (the
// snapshot settles with counts_kept).
bool add_staged(Dist *d, const Stage::Dist &sd, const std::vector<Stage::Bucket> &buckets, Arena *arena) {
  if (!d) return false;
  if (sd.first != sd.end) {
    if (!d->hist.reserve_range(buckets[sd.first].b, buckets[sd.end - 1].b, arena)) return false;
    for (std::size_t i = sd.first; i < sd.end; ++i) d->hist.add(buckets[i].b, buckets[i].n);
  }
  d->count += sd.count;
  d->fold_scalars(sd.entries, sd.sum, sd.min, sd.max, sd.saturated);
  return true;
}

}  // namespace

void Reader::skip(const std::string &path, const std::string &reason) {
  skipped_.push_back(Skipped{path, reason});
}

OpAgg &Reader::op(const std::string &name) {
  const auto it = index_.find(name);
  if (it != index_.end()) return ops_[it->second]->agg;
  void *mem = arena_ ? arena_->alloc(sizeof(SnapOp)) : nullptr;
  if (!mem) throw std::bad_alloc();
  ops_.emplace_back();  // a throw here leaves mem in the arena, unused
  ops_.back().reset(new (mem) SnapOp());  // named by finish()
  try {
    names_.push_back(&index_.emplace(name, ops_.size() - 1).first->first);
  } catch (...) {
    index_.erase(name);
    (void)ops_.back().release();  // in the arena: never deleted
    ops_.pop_back();
    throw;
  }
  return ops_.back()->agg;
}

std::vector<std::pair<const std::string *, const OpAgg *>> Reader::sorted_ops() const {
  std::vector<std::pair<const std::string *, const OpAgg *>> out;
  out.reserve(ops_.size());
  for (std::size_t i = 0; i < ops_.size(); ++i) out.emplace_back(names_[i], &ops_[i]->agg);
  std::sort(out.begin(), out.end(), [](const auto &a, const auto &b) { return *a.first < *b.first; });
  return out;
}

void Reader::absorb(const Reader &o) {
  for (std::size_t i = 0; i < o.ops_.size(); ++i) {
    if (!op(*o.names_[i]).merge(o.ops_[i]->agg, arena_.get())) throw std::bad_alloc();
  }
  if (!o.folded_.empty()) folded_ = o.folded_;
  skipped_.insert(skipped_.end(), o.skipped_.begin(), o.skipped_.end());
  processes_ += o.processes_;
  dropped_ += o.dropped_;
  if (o.earliest_unix_ns_ < earliest_unix_ns_) earliest_unix_ns_ = o.earliest_unix_ns_;
}

bool Reader::add(const void *data, std::size_t size, Kind kind, const std::string &path, int fd) {
  std::string why;
  if (add_checked(static_cast<const uint8_t *>(data), size, kind, fd, &why)) return true;
  skip(path, why);
  return false;
}

namespace {

// The checks every image passes before anything in it is read.
bool check_header(Image &im, Kind kind, std::string *why) {
  const uint8_t *base = im.base();
  const std::size_t size = im.size();
  if (size < sizeof kMagic || std::memcmp(base, kMagic, sizeof kMagic) != 0)
    return *why = "not a boundarytrace shared file (no magic)", false;
  if (size < offsetof(FileHeader, header_size))
    return *why = "truncated (" + std::to_string(size) + " bytes)", false;
  const FileHeader &h = *reinterpret_cast<const FileHeader *>(base);
  if (h.major > kMajor)
    return *why = "written in format " + std::to_string(h.major) + "." + std::to_string(h.minor) +
                  ", newer than this boundarytrace reads (" + std::to_string(kMajor) +
                  ".x): read it with a newer boundarytrace",
           false;
  if (h.major < 1) return *why = "corrupted (format version 0)", false;
  if (size < sizeof(FileHeader))
    return *why = "truncated (" + std::to_string(size) + " bytes, the header alone is " +
                  std::to_string(sizeof(FileHeader)) + ")",
           false;
  if (h.header_size < sizeof(FileHeader) || h.header_size > size || h.header_size % kAlign)
    return *why = "corrupted (header size " + std::to_string(h.header_size) + ")", false;
  if (h.kind != kind) return *why = "a " + kind_name(h.kind) + " file where a " + kind_name(kind) + " was expected", false;
  if (h.incarnation == 0) return *why = "corrupted (no incarnation)", false;
  if (word(h.phase_mask) >> kMaxPhases) return *why = "corrupted (phase mask)", false;
  return true;
}

// The writer's phase ids, mapped by name onto this process's (registered
// here when new).
bool map_phases(const FileHeader &h, int32_t *local, std::string *why) {
  const uint64_t mask = word(h.phase_mask);
  for (int p = 0; p < kMaxPhases; ++p) {
    if (!(mask >> p & 1)) continue;
    std::size_t len = 0;
    const PhaseName &ph = h.phases[p];
    if (!stored_name(ph.name, &len) || ph.gil_held > 1) return *why = "corrupted (a phase name)", false;
    Err e = phases::lookup(ph.name, &local[p]);
    if (e == Err::not_found) e = phases::register_phase(ph.name, ph.gil_held != 0, &local[p]);
    if (e == Err::conflict)
      return *why = std::string("phase '") + ph.name + "' is registered here with the other GIL state", false;
    if (e == Err::full) return *why = std::string("no room for phase '") + ph.name + "' (BT_MAX_PHASES)", false;
    if (e != Err::ok) throw std::bad_alloc();
  }
  return true;
}

}  // namespace

bool Reader::add_checked(const uint8_t *base, std::size_t size, Kind kind, int fd, std::string *why) {
  Image im(base, size, fd);
  if (!check_header(im, kind, why)) return false;
  const FileHeader &h = *reinterpret_cast<const FileHeader *>(base);
  const uint64_t mask = word(h.phase_mask);
  // Format 1.1 lists the writer slots that have shards; a 1.0 file may
  // have any of the 64.
  const uint64_t shard_mask = h.minor >= 1 ? word(h.shard_mask) : ~uint64_t{0};
  int32_t local[kMaxPhases] = {};
  if (!map_phases(h, local, why)) return false;

  // The header's table, then (an archive's) the list of the rest.
  std::vector<uint64_t> offs;
  for (std::size_t i = 0; i < kMaxOps; ++i) {
    const uint64_t off = word(h.op_off[i]);
    if (!off) break;
    offs.push_back(off);
  }
  if (const uint64_t list_off = kind == kArchive ? word(h.more_ops_off) : 0) {
    const OpList *list = at<OpList>(im, list_off);
    if (!list || list->count > (im.size() - list_off - sizeof(uint64_t)) / sizeof(uint64_t))
      return *why = "corrupted (the list of operations lies outside the file)", false;
    for (uint64_t i = 0; i < list->count; ++i) offs.push_back(list->off[i]);
  }
  // Read into the staging area first (shared_stage.hpp), merged only once
  // the whole file passed every check. Compact (a process holds a few
  // buckets of each histogram's range) and in order, it stays in the cache,
  // and a merge of many files allocates only for the operations it returns.
  if (!stage_.read(im, offs, mask, shard_mask, local, why)) return false;

  std::map<uint64_t, uint64_t> folded;
  if (kind == kArchive) {
    if (const uint64_t off = word(h.folded_off)) {
      const FoldedTable *t = at<FoldedTable>(im, off);
      if (!t || t->count > (im.size() - off - sizeof(uint64_t)) / sizeof(FoldedEntry))
        return *why = "corrupted (the folded table lies outside the file)", false;
      for (uint64_t i = 0; i < t->count; ++i) folded[t->entry[i].slot] = t->entry[i].incarnation;
    }
  }

  // Every check passed: merge.
  for (std::size_t i = 0; i < stage_.ops.size(); ++i) {
    const Stage::Op &st = stage_.ops[i];
    OpAgg &into = op(stage_.names[i]);
    for (std::size_t k = st.first_dist; k < st.end_dist; ++k) {
      Dist *d = into.dist_for(stage_.dists[k].which, arena_.get());
      if (!add_staged(d, stage_.dists[k], stage_.buckets, arena_.get())) throw std::bad_alloc();
    }
    into.add_counters(st.errors, st.left_open, st.items, st.gil_releases, st.parallel_ops, st.workers_max,
                      st.saturated);
  }
  if (kind == kArchive) folded_ = std::move(folded);
  processes_ += h.processes;
  dropped_ += word(h.dropped);
  last_incarnation_ = h.incarnation;
  if (h.unix_start_ns && h.unix_start_ns < earliest_unix_ns_) earliest_unix_ns_ = h.unix_start_ns;
  return true;
}

Err Reader::finish(Snapshot **out) {
  try {
    auto snap = std::unique_ptr<Snapshot>(new Snapshot());
    for (std::size_t i = 0; i < ops_.size(); ++i) {
      ops_[i]->name = intern(names_[i]->data(), names_[i]->size());
      if (!ops_[i]->name) return Err::nomem;
    }
    snap->arena = std::move(arena_);  // first: the snapshot drops its operations with it
    snap->ops = std::move(ops_);  // moved, not copied: the reader is done with them
    ops_.clear();
    arena_.reset(new Arena());
    names_.clear();
    index_.clear();
    snap->phase_count = phases::count();
    snap->dropped = dropped_;
    snap->processes = static_cast<uint32_t>(processes_ > UINT32_MAX ? UINT32_MAX : processes_);
    snap->skipped = std::move(skipped_);
    snap->end_ns = clock::now_ns();
    snap->finish(true);  // every count kept by add_staged (and absorb's merge)
    // The earliest writer's start, on this process's clock. The header's
    // value is the file's word: one past INT64_MAX, or that the offset
    // pushes past either end, means no known start (0), not an overflow.
    int64_t start = 0;
    if (earliest_unix_ns_ > static_cast<uint64_t>(INT64_MAX) ||
        __builtin_sub_overflow(static_cast<int64_t>(earliest_unix_ns_), snap->unix_offset_ns, &start))
      start = 0;
    snap->start_ns = start > 0 && static_cast<uint64_t>(start) < snap->end_ns ? static_cast<uint64_t>(start) : 0;
    *out = snap.release();
    return Err::ok;
  } catch (const std::bad_alloc &) {
    return Err::nomem;
  }
}

}  // namespace shared
}  // namespace bt

namespace bt {
namespace shared {

bool read_flight(const void *data, std::size_t size, Flight *out, std::string *why, int fd) {
  Image im(static_cast<const uint8_t *>(data), size, fd);
  if (!check_header(im, kSlot, why)) return false;
  const FileHeader &h = *reinterpret_cast<const FileHeader *>(data);
  const uint64_t off = word(h.flight_off);
  if (!off) return *why = "no flight recorder (the timeline was off)", false;
  const FlightRing *ring = at<FlightRing>(im, off);
  if (!ring || ring->capacity == 0 || ring->capacity > kFlightCapacity ||
      (im.size() - off - offsetof(FlightRing, entry)) / sizeof(FlightEntry) < ring->capacity)
    return *why = "corrupted (the flight recorder lies outside the file)", false;
  int32_t local[kMaxPhases] = {};
  if (!map_phases(h, local, why)) return false;
  const uint64_t mask = word(h.phase_mask);
  out->pid = h.pid;
  out->unix_start_ns = h.unix_start_ns;
  out->program.assign(h.program, strnlen(h.program, sizeof h.program));
  const uint64_t written = word(ring->written);
  const uint64_t n = written < ring->capacity ? written : ring->capacity;
  out->contents.capacity = ring->capacity;
  out->contents.dropped = written - n;
  for (uint64_t k = written - n; k < written; ++k) {
    const FlightEntry &e = ring->entry[k % ring->capacity];
    const uint64_t seq = word(e.seq);
    if (seq == 0 || seq & 1) {  // never whole, or cut by a crash
      ++out->contents.dropped;
      continue;
    }
    timeline::KeptOp op;
    const OpRec *rec = at<OpRec>(im, e.op_off);
    std::size_t len = 0;
    if (!rec || !stored_name(rec->name, &len) || e.nslices > kFlightSlices || e.end_ns < e.begin_ns)
      return *why = "corrupted (a flight recorder entry)", false;
    op.name = intern(rec->name, len);
    if (!op.name) throw std::bad_alloc();
    op.tid = static_cast<int>(e.tid);
    std::memcpy(op.thread_name, e.thread_name, sizeof op.thread_name);
    op.thread_name[sizeof op.thread_name - 1] = '\0';
    op.begin_ns = e.begin_ns;
    op.end_ns = e.end_ns;
    op.items = e.items;
    op.gil_wait_ns = e.gil_wait_ns;
    op.gil_releases = static_cast<uint32_t>(e.gil_releases);
    op.workers = static_cast<uint32_t>(e.workers);
    op.flags = static_cast<uint32_t>(e.flags);
    op.slices_lost = static_cast<uint32_t>(e.slices_lost);
    for (uint64_t i = 0; i < e.nslices; ++i) {
      const FlightSlice &sl = e.slice[i];
      if (sl.phase >= static_cast<uint64_t>(kMaxPhases) || !(mask >> sl.phase & 1) || sl.end_ns < sl.begin_ns)
        return *why = "corrupted (a flight recorder phase)", false;
      op.slices.push_back(timeline::KeptSlice{local[sl.phase], sl.begin_ns, sl.end_ns});
    }
    // A whole entry may still be overwritten while it is copied: checked again.
    if (word(e.seq) != seq) {
      ++out->contents.dropped;
      continue;
    }
    out->contents.ops.push_back(std::move(op));
  }
  return true;
}

}  // namespace shared
}  // namespace bt
