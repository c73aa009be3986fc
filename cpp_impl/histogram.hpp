// Log-linear latency histogram: exact below 16 ns, then 16 buckets per power
// of two up to 2^43 ns (about 2.4 hours); larger values land in the last
// bucket. A bucket is at most 1/16 of its lower bound wide, so a quantile
// reported at the bucket's midpoint is within 1/32 of the true value.
// Buckets are allocated one power of two (a "chunk") at a time, on first use,
// so a histogram costs memory only for the ranges its samples fall in.
#pragma once
#include <cstdint>

namespace bt {

class Histogram {
 public:
  static constexpr int kSubBits = 4;
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kChunks = 40;
  static constexpr int kBuckets = kChunks * kSub;

  Histogram() = default;
  ~Histogram() { release(); }
  Histogram(const Histogram &) = delete;
  Histogram &operator=(const Histogram &) = delete;

  static int bucket_of(uint64_t v) {
    if (v < static_cast<uint64_t>(kSub)) return static_cast<int>(v);
    int e = 63 - __builtin_clzll(v);
    if (e >= kChunks + kSubBits - 1) return kBuckets - 1;
    int sub = static_cast<int>(v >> (e - kSubBits)) & (kSub - 1);
    return (e - kSubBits + 1) * kSub + sub;
  }
  static uint64_t lower_of(int b);
  static uint64_t upper_of(int b);

  bool has(int b) const { return chunks_[b / kSub] != nullptr; }
  // Makes bucket `b` writable; false when out of memory.
  bool reserve(int b) { return chunks_[b / kSub] || alloc_chunk(b / kSub); }
  // Requires reserve(b) first.
  void add(int b, uint64_t n) { chunks_[b / kSub][b % kSub] += n; }

  uint64_t count_at(int b) const {
    const uint64_t *c = chunks_[b / kSub];
    return c ? c[b % kSub] : 0;
  }
  bool chunk_present(int chunk) const { return chunks_[chunk] != nullptr; }

  // Adds `o` into this one, allocating chunks; false (this unchanged) on
  // out of memory.
  bool merge(const Histogram &o);
  // Adds `o` into this one, taking chunks this one lacks; never allocates.
  void absorb(Histogram &o);
  void clear();
  void release();

  // Nearest-rank quantile of `total` samples, reported at the bucket midpoint
  // and clamped to [lo, hi] (the exact min and max).
  uint64_t quantile(double q, uint64_t total, uint64_t lo, uint64_t hi) const;

 private:
  bool alloc_chunk(int chunk);
  uint64_t *chunks_[kChunks] = {};
};

}  // namespace bt
