// Storage for the figures of one snapshot made by a merge of a shared
// directory (shared_read.hpp): its operations, their distributions and
// histogram blocks. A merge of 10,000 operations made some 13 allocations
// for each, scattered over 40 MiB, and freeing the snapshot walked them all
// again, from memory. Here they are carved in order from a few large
// blocks, and go with them in one go: a snapshot that owns an arena drops
// its operations without destroying them one by one (everything they hold
// lies in the arena).
#pragma once
#include <cstddef>

namespace bt {

class Arena {
 public:
  Arena() = default;
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

namespace arena {

// While a Scope is open on a thread, the distributions (OpAgg) and
// histogram blocks (Histogram) it makes come from the scope's arena, and a
// histogram that grows leaves its old block there instead of freeing it:
// open one only around code that builds figures owned by that arena.
extern __thread Arena *t_current __attribute__((tls_model("initial-exec")));

class Scope {
 public:
  explicit Scope(Arena *a) : prev_(t_current) { t_current = a; }
  ~Scope() { t_current = prev_; }
  Scope(const Scope &) = delete;
  Scope &operator=(const Scope &) = delete;

 private:
  Arena *prev_;
};

}  // namespace arena
}  // namespace bt
