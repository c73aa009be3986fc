#include "cpp_impl/shared_stage.hpp"

#include "cpp_impl/aggregate.hpp"
#include "cpp_impl/histogram.hpp"

namespace bt {
namespace shared {

namespace {

// How many elements of a level ahead their lines are asked for: enough
// misses in flight to hide the latency, few enough that the lines are still
// in the cache when their turn comes.
constexpr std::size_t kAhead = 8;
// Operations read level by level at a time: their lines, and the pages they
// lie on, still cached (and mapped in the TLB) from one level to the next.
constexpr std::size_t kBatch = 64;

void prefetch(const void *p) { __builtin_prefetch(p); }

// The line of `rec`'s shard offsets for the lowest and highest writer slot in use.
void prefetch_shard_offsets(const OpRec *rec, uint64_t shard_mask) {
  prefetch(&rec->shard_off[__builtin_ctzll(shard_mask)]);
  prefetch(&rec->shard_off[63 - __builtin_clzll(shard_mask)]);
}

// The distributions a shard may hold: the total, the phases named in the
// header (a writer names a phase before it adds one, so any other is a phase
// named since the merge began, left out like a record made after it), and
// the GIL wait. Bit d stands for ShardRec::dist_off[d].
uint64_t wanted_dists(uint64_t phase_mask) { return 1 | phase_mask << 1 | 1ull << kDistWaitIndex; }

}  // namespace

bool Stage::read(Image &im, const std::vector<uint64_t> &offs, uint64_t phase_mask, uint64_t shard_mask,
                 const int32_t *local, std::string *why) {
  ops.clear();
  dists.clear();
  buckets.clear();
  for (std::size_t i = 0; i < offs.size(); i += kBatch) {
    op_recs_.clear();
    shard_recs_.clear();
    dist_recs_.clear();
    blocks_.clear();
    dist_base_ = dists.size();
    const std::size_t end = offs.size() - i < kBatch ? offs.size() : i + kBatch;
    if (!read_ops(im, offs, i, end, why) || !read_shard_offsets(im, shard_mask, why) ||
        !read_shards(im, phase_mask, local, why) || !read_block_offsets(im, why) || !read_counts(why))
      return false;
  }
  return true;
}

bool Stage::read_ops(Image &im, const std::vector<uint64_t> &offs, std::size_t begin, std::size_t end,
                     std::string *why) {
  for (std::size_t i = begin; i < begin + kAhead && i < end; ++i) im.prefetch(offs[i]);
  for (std::size_t i = begin; i < end; ++i) {
    if (i + kAhead < end) im.prefetch(offs[i + kAhead]);
    const OpRec *rec = at<OpRec>(im, offs[i]);
    std::size_t len = 0;
    if (!rec) return *why = "corrupted (an operation lies outside the file)", false;
    if (!stored_name(rec->name, &len)) return *why = "corrupted (an operation name)", false;
    if (ops.size() == names.size()) names.emplace_back();
    names[ops.size()].assign(rec->name, len);
    ops.emplace_back();
    op_recs_.push_back(rec);
  }
  return true;
}

bool Stage::read_shard_offsets(Image &im, uint64_t shard_mask, std::string *why) {
  if (!shard_mask) return true;
  for (std::size_t i = 0; i < kAhead && i < op_recs_.size(); ++i) prefetch_shard_offsets(op_recs_[i], shard_mask);
  for (std::size_t i = 0; i < op_recs_.size(); ++i) {
    if (i + kAhead < op_recs_.size()) prefetch_shard_offsets(op_recs_[i + kAhead], shard_mask);
    for (uint64_t m = shard_mask; m; m &= m - 1) {
      const uint64_t off = word(op_recs_[i]->shard_off[__builtin_ctzll(m)]);
      if (!off) continue;
      const ShardRec *shard = at<ShardRec>(im, off);
      if (!shard) return *why = "corrupted (a thread's figures lie outside the file)", false;
      shard_recs_.push_back(ShardAt{shard, ops.size() - op_recs_.size() + i});
    }
  }
  return true;
}

bool Stage::read_shards(Image &im, uint64_t phase_mask, const int32_t *local, std::string *why) {
  const uint64_t wanted = wanted_dists(phase_mask);
  const int last = 63 - __builtin_clzll(wanted & ~(1ull << kDistWaitIndex));
  const auto ask = [&](const ShardRec *rec) {
    prefetch(rec);
    prefetch(&rec->dist_off[0]);
    prefetch(&rec->dist_off[last]);
    prefetch(&rec->dist_off[kDistWaitIndex]);
  };
  for (std::size_t k = 0; k < kAhead && k < shard_recs_.size(); ++k) ask(shard_recs_[k].rec);
  for (std::size_t k = 0; k < shard_recs_.size(); ++k) {
    if (k + kAhead < shard_recs_.size()) ask(shard_recs_[k + kAhead].rec);
    const ShardRec &rec = *shard_recs_[k].rec;
    Op &op = ops[shard_recs_[k].op];
    // An operation's shards are consecutive here, so are its distributions.
    if (k == 0 || shard_recs_[k - 1].op != shard_recs_[k].op) op.first_dist = dists.size();
    for (uint64_t m = wanted; m; m &= m - 1) {
      const int d = __builtin_ctzll(m);
      const uint64_t off = word(rec.dist_off[d]);
      if (!off) continue;
      const DistRec *dist = at<DistRec>(im, off);
      if (!dist) return *why = "corrupted (a distribution lies outside the file)", false;
      dists.emplace_back();
      dists.back().which = d == 0 ? kDistTotal : d == kDistWaitIndex ? kDistWait : local[d - 1];
      dist_recs_.push_back(DistAt{dist, 0, -1, 0, 0});
    }
    op.end_dist = dists.size();
    op.errors += rec.errors.load_relaxed();
    op.left_open += rec.left_open.load_relaxed();
    op.saturated |= sat_add(op.items, rec.items.load_relaxed()) | (rec.saturated.load_relaxed() != 0);
    op.saturated |= sat_add(op.gil_releases, rec.gil_releases.load_relaxed()) |
                    sat_add(op.parallel_ops, rec.parallel_ops.load_relaxed());
    const uint64_t workers = rec.workers_max.load_relaxed();
    if (workers > UINT32_MAX) return *why = "corrupted (a worker count past 2^32)", false;
    if (workers > op.workers_max) op.workers_max = static_cast<uint32_t>(workers);
  }
  return true;
}

namespace {

// The buckets of a distribution worth reading: from the bucket of its
// minimum to that of its maximum, loaded before the counts. Every counted
// sample lies there, and a sample recorded since falls in the window a
// merge races with anyway (it misses its bucket, as it would a moment
// earlier). A minimum above the maximum is no sample yet (UINT64_MAX, 0),
// nothing to read, or the first sample half stored or damage: every bucket
// then, and damage is reported when the scalars are read.
void bucket_range(const DistRec &rec, int *lo, int *hi) {
  const uint64_t lo_v = rec.min.load_acquire(), hi_v = rec.max.load_acquire();
  if (lo_v <= hi_v) {
    *lo = Histogram::bucket_of(lo_v);
    *hi = Histogram::bucket_of(hi_v);
  } else {
    *lo = 0;
    *hi = lo_v == UINT64_MAX && hi_v == 0 ? -1 : Histogram::kBuckets - 1;
  }
}

// The buckets of block c within [lo, hi], as indices into the block.
void block_part(int c, int lo, int hi, int *first, int *last) {
  const int c0 = c * Histogram::kSub;
  *first = c0 < lo ? lo - c0 : 0;
  *last = c0 + Histogram::kSub - 1 > hi ? hi - c0 : Histogram::kSub - 1;
}

}  // namespace

// Two steps ahead: a distribution's first line (its minimum and maximum),
// then, once those are in, the lines of the block offsets in its range; the
// blocks' lines are asked for as their offsets are read.
bool Stage::read_block_offsets(Image &im, std::string *why) {
  const std::size_t n = dist_recs_.size();
  const auto range = [&](std::size_t k) {
    DistAt &at_k = dist_recs_[k];
    bucket_range(*at_k.rec, &at_k.lo, &at_k.hi);
    if (at_k.hi < 0) return;
    prefetch(&at_k.rec->chunk_off[at_k.lo >> Histogram::kSubBits]);
    prefetch(&at_k.rec->chunk_off[at_k.hi >> Histogram::kSubBits]);
  };
  for (std::size_t k = 0; k < 2 * kAhead && k < n; ++k) prefetch(dist_recs_[k].rec);
  for (std::size_t k = 0; k < kAhead && k < n; ++k) range(k);
  for (std::size_t k = 0; k < n; ++k) {
    if (k + 2 * kAhead < n) prefetch(dist_recs_[k + 2 * kAhead].rec);
    if (k + kAhead < n) range(k + kAhead);
    DistAt &d = dist_recs_[k];
    d.first_block = blocks_.size();
    for (int c = d.lo >> Histogram::kSubBits; d.hi >= 0 && c <= d.hi >> Histogram::kSubBits; ++c) {
      const uint64_t off = word(d.rec->chunk_off[c]);
      if (!off) continue;
      const Chunk *chunk = at<Chunk>(im, off);
      if (!chunk) return *why = "corrupted (a histogram block lies outside the file)", false;
      int first, last;
      block_part(c, d.lo, d.hi, &first, &last);
      prefetch(&chunk->count[first]);
      prefetch(&chunk->count[last]);
      blocks_.push_back(BlockAt{chunk, c});
    }
    d.end_block = blocks_.size();
  }
  return true;
}

// The counts (acquire), then the scalars, so a sample a writer is adding
// right now is either wholly visible or missing its bucket only
// (shared_format.hpp).
bool Stage::read_counts(std::string *why) {
  const auto ask = [&](const DistAt &d) {
    prefetch(d.rec);
    for (std::size_t j = d.first_block; j < d.end_block; ++j) {
      int first, last;
      block_part(blocks_[j].c, d.lo, d.hi, &first, &last);
      prefetch(&blocks_[j].chunk->count[first]);
      prefetch(&blocks_[j].chunk->count[last]);
    }
  };
  for (std::size_t k = 0; k < kAhead && k < dist_recs_.size(); ++k) ask(dist_recs_[k]);
  for (std::size_t k = 0; k < dist_recs_.size(); ++k) {
    if (k + kAhead < dist_recs_.size()) ask(dist_recs_[k + kAhead]);
    const DistAt &at_k = dist_recs_[k];
    Dist &d = dists[dist_base_ + k];
    d.first = buckets.size();
    uint64_t count = 0;
    for (std::size_t j = at_k.first_block; j < at_k.end_block; ++j) {
      const Chunk *chunk = blocks_[j].chunk;
      const int c0 = blocks_[j].c * Histogram::kSub;
      int first, last;
      block_part(blocks_[j].c, at_k.lo, at_k.hi, &first, &last);
      for (int i = first; i <= last; ++i) {
        const uint64_t n = word(chunk->count[i]);
        if (!n) continue;
        const int b = c0 + i;
        if (b >= 1 && b < Histogram::kIndexOffset - 1)
          return *why = "corrupted (a bucket that holds no value is counted)", false;
        buckets.push_back(Bucket{b, n});
        count += n;
      }
    }
    d.end = buckets.size();
    d.count = count;
    const DistRec &rec = *at_k.rec;
    d.min = rec.min.load_relaxed();
    d.max = rec.max.load_relaxed();
    if (count && d.min > d.max) return *why = "corrupted (a distribution's minimum exceeds its maximum)", false;
    d.entries = rec.entries.load_relaxed();
    d.sum = rec.sum.load_relaxed();
    d.saturated = rec.saturated.load_relaxed() != 0;
  }
  return true;
}

}  // namespace shared
}  // namespace bt
