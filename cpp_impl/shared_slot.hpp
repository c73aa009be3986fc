// One process's slot file in a shared directory, mapped for writing: the
// storage the shared sink records into (shared_format.hpp).
//
// The mapping sits at the start of a reserved address range, so it grows in
// place and every pointer into it stays valid. Growth is checked before use:
// the file is extended with posix_fallocate, which fails with ENOSPC on a
// full tmpfs instead of leaving a page that would raise SIGBUS when touched.
#pragma once
#include <cstdint>
#include <sys/types.h>

#include "cpp_impl/shared_format.hpp"
#include "cpp_impl/status.hpp"
#include "cpp_impl/timing.hpp"

namespace bt {
namespace shared {

class Slot {
 public:
  // Takes over `fd` (open read-write, locked with flock by this process,
  // empty: size 0), lays out a fresh header for slot `index` and maps it.
  // On failure `fd` is left open and `*err_no` tells why.
  static Slot *create(int fd, uint64_t index, int *err_no);
  ~Slot();  // unmaps and closes (the lock goes with the descriptor)
  Slot(const Slot &) = delete;
  Slot &operator=(const Slot &) = delete;

  // In a forked child: gives the parent's slot up without touching the file
  // (closes this process's copy of the descriptor; the parent keeps the lock).
  void abandon();

  FileHeader *header() const { return reinterpret_cast<FileHeader *>(base_); }
  char *base() const { return base_; }
  template <typename T>
  T *at(uint64_t off) const { return reinterpret_cast<T *>(base_ + off); }

  // Offset of `bytes` new zeroed bytes for writer thread slot `owner` (-1:
  // storage every thread reads, none writes on the hot path), cache-line
  // aligned and padded, or 0 when the file cannot grow (a full file system,
  // or kMaxFileBytes). Callers serialise (the sink's mutex).
  uint64_t alloc(uint64_t bytes, int owner = -1);

  // Publishes phase `p`'s name (the caller checked it is registered).
  void publish_phase(int p);
  // The record of operation `name`, added on first use; nullptr when full.
  OpRec *op(const char *name, std::size_t len);
  // The shard of writer slot `s` in `rec`, added on first use.
  ShardRec *shard(OpRec *rec, int s);
  // Makes the distribution `d` (0 total, 1 + p phase p) of `shard` (of
  // writer slot `s`) and its chunk for bucket `b` exist. False when out of
  // room.
  bool reserve(ShardRec *shard, int s, int d, int b);

  // The flight ring, added on first use; nullptr when out of room.
  FlightRing *flight();

  void count_dropped() { header()->dropped.fetch_add_relaxed(1); }
  uint64_t index() const { return index_; }

 private:
  Slot() = default;
  bool grow_to(uint64_t bytes);
  char *base_ = nullptr;
  uint64_t reserved_ = 0;  // bytes of address range held
  uint64_t mapped_ = 0;    // bytes of the file mapped (and allocated on disk)
  uint64_t index_ = 0;
  int fd_ = -1;
  int last_owner_ = -1;  // the writer slot of the last allocation
};

}  // namespace shared
}  // namespace bt
