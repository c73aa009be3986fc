// Reads one shared file's figures into a compact staging area (the merge
// adds them only once the whole file passed every check: shared_read.hpp).
//
// Why level by level: a merge of many files is bound by memory. Each
// operation's figures are a chain of offsets (operation -> thread shard ->
// distribution -> block of counts), so reading one operation after another
// waits for a cache miss at every link. Reading every operation of the
// file, then every shard, then every distribution, then the counts, makes
// the loads of one level independent of each other, and each level asks for
// the lines a few elements ahead; the misses then overlap instead of adding
// up.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cpp_impl/limits.hpp"
#include "cpp_impl/shared_format.hpp"
#include "cpp_impl/shared_image.hpp"

namespace bt {
namespace shared {

class Stage {
 public:
  struct Bucket {
    int b;
    uint64_t n;
  };
  struct Dist {
    int which = kDistTotal;  // kDistTotal, kDistWait or a phase id (this process's)
    std::size_t first = 0, end = 0;  // its buckets
    uint64_t count = 0;  // of its buckets
    uint64_t entries = 0, sum = 0, min = 0, max = 0;
    bool saturated = false;
  };
  struct Op {
    uint64_t errors = 0, left_open = 0, items = 0, gil_releases = 0, parallel_ops = 0;
    uint32_t workers_max = 0;
    bool saturated = false;
    std::size_t first_dist = 0, end_dist = 0;
  };

  // Reads the operations at `offs` in `im`: each one's counters, and each
  // shard's distributions as their non-empty buckets. `phase_mask` and
  // `shard_mask` are the header's (phases named, writer slots in use);
  // `local` maps the writer's phase ids onto this process's. False with
  // `*why` when a check fails (what was staged is then meaningless). The
  // vectors keep their storage from file to file. May throw bad_alloc.
  bool read(Image &im, const std::vector<uint64_t> &offs, uint64_t phase_mask, uint64_t shard_mask,
            const int32_t *local, std::string *why);

  std::vector<Op> ops;
  std::vector<std::string> names;  // ops[i]'s name (names.size() may be larger: the strings are reused)
  std::vector<Dist> dists;
  std::vector<Bucket> buckets;

 private:
  struct ShardAt {
    const ShardRec *rec;
    std::size_t op;
  };
  struct DistAt {
    const DistRec *rec;
    int lo, hi;  // the buckets to read (of its minimum and maximum)
    std::size_t first_block, end_block;
  };
  struct BlockAt {
    const Chunk *chunk;
    int c;
  };
  // Each reads one batch of operations (offs[begin, end)) at its level.
  bool read_ops(Image &im, const std::vector<uint64_t> &offs, std::size_t begin, std::size_t end, std::string *why);
  bool read_shard_offsets(Image &im, uint64_t shard_mask, std::string *why);
  bool read_shards(Image &im, uint64_t phase_mask, const int32_t *local, std::string *why);
  bool read_block_offsets(Image &im, std::string *why);
  bool read_counts(std::string *why);
  // The batch: op_recs_[i] is ops[ops.size() - op_recs_.size() + i]'s,
  // dist_recs_[k] is dists[dist_base_ + k]'s.
  std::vector<const OpRec *> op_recs_;
  std::size_t dist_base_ = 0;
  std::vector<ShardAt> shard_recs_;
  std::vector<DistAt> dist_recs_;
  std::vector<BlockAt> blocks_;
};

}  // namespace shared
}  // namespace bt
