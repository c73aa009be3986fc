// Storage for the figures of one snapshot made by a merge of a shared
// directory (shared_read.hpp): its operations, their distributions and
// histogram blocks. A merge of 10,000 operations made some 13 allocations
// for each, scattered over 40 MiB, and freeing the snapshot walked them all
// again, from memory. Here they are carved in order from a few large
// blocks, and go with them in one go: a snapshot that owns an arena drops
// its operations without destroying them one by one (everything they hold
// lies in the arena). The code that builds them passes the arena down
// (OpAgg::dist_for, OpAgg::merge, Histogram::reserve_range): explicit, so a
// signal handler that records while a merge runs on its thread allocates
// as it always does, never from the arena.
#pragma once
#include <cstddef>

namespace bt {

class Arena {
 public:
  Arena() = default;
  // Blocks start at `first_block` bytes (then double): for arenas that are
  // often small (a snapshot of one process's few operations).
  explicit Arena(std::size_t first_block) : next_size_(first_block) {}
  ~Arena();  // frees every block
  Arena(const Arena &) = delete;
  Arena &operator=(const Arena &) = delete;

  // `n` zeroed bytes, 16-byte aligned; nullptr when out of memory.
  void *alloc(std::size_t n);

 private:
  struct Block {
    Block *next;
  };
  static constexpr std::size_t kHeader = 16;  // a Block, padded to the alignment
  Block *head_ = nullptr;
  char *p_ = nullptr, *end_ = nullptr;
  std::size_t next_size_ = 64 * 1024;  // doubles up to kMaxBlock
};

}  // namespace bt
