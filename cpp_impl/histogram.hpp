// Latency histogram on the base-2 exponential scheme that OpenTelemetry
// (exponential histogram, `scale`) and Prometheus (native histogram,
// `schema`) share, at scale 4: bucket i holds the values in
// (2^(i/16), 2^((i+1)/16)], so every bucket is at most 2^(1/16) - 1 = 4.4 %
// of its lower bound wide and a quantile reported at the bucket's geometric
// middle is within 2^(1/32) - 1 = 2.2 % (< 1/32) of the true value. Export
// at scale 4 is lossless; at a lower scale s, bucket i of scale 4 falls in
// bucket i >> (4 - s), an exact merge of neighbours. Zero has a bucket of its
// own, and every uint64_t value has its correct bucket (the last, i = 1023,
// ends at 2^64).
//
// Internally bucket b = 0 holds zero and b = i + 16 holds bucket i
// (i = -1 .. 1023, so b = 15 .. 1039; b = 1 .. 14 never hold a value).
// Sixteen consecutive b are a "chunk": chunk c >= 1 holds (2^(c-1), 2^c].
//
// Storage is one dense array over the range of chunks the samples have
// reached so far, grown on first use of a new range. Dense, because a record
// then costs one bounds check and one add, and a typical latency spread
// (µs to s) fills its range anyway; one block, because a block per chunk
// would pay an allocator header for every 128 bytes and a pointer table
// besides.
#pragma once
#include <cstdint>

namespace bt {

class Arena;

class Histogram {
 public:
  static constexpr int kScale = 4;
  static constexpr int kSubBits = 4;
  static constexpr int kSub = 1 << kSubBits;  // buckets per power of two
  static constexpr int kChunks = 65;
  static constexpr int kBuckets = kChunks * kSub;
  static constexpr int kIndexOffset = 16;  // b = i + kIndexOffset for values >= 1

  Histogram() = default;
  ~Histogram() { release(); }
  Histogram(const Histogram &) = delete;
  Histogram &operator=(const Histogram &) = delete;

  // The exponential index i of v >= 1: the smallest i with v <= 2^((i+1)/16).
  // Exact for every uint64_t: the mantissa is compared against the sixteen
  // boundaries of a power of two in 64-bit fixed point. The boundaries are
  // more than 1/256 apart, so a cell of the mantissa's top eight bits holds
  // at most one: the table gives the first boundary k at or above the cell's
  // start, and the mantissa lies above k - 1 boundaries, and above k too if
  // it passes it (one compare). A power of two is boundary 0 exactly and
  // passes none, so it closes the bucket below (upper bounds are inclusive,
  // as in both engines).
  static int index_of(uint64_t v) { return static_cast<int>(offset_index(v)) - kIndexOffset; }
  // A zero duration is rare: a predicted branch costs less than a mask.
  static int bucket_of(uint64_t v) {
    if (__builtin_expect(v == 0, 0)) return 0;
    return static_cast<int>(offset_index(v));
  }
  // index_of(v) + kIndexOffset for v >= 1, in unsigned arithmetic so that
  // the record's add indexes the counts with no sign extension.
  static uint32_t offset_index(uint64_t v) {
    const uint32_t lz = static_cast<uint32_t>(__builtin_clzll(v));
    const uint64_t m = v << lz;  // the mantissa, top bit set
    const uint32_t k = kCell[(m >> 55) - 256];  // m >> 55 is in [256, 512): the top bit set
    // (lz ^ 63) is the top bit's position; k - 1 boundaries lie below m, one
    // more when m passes boundary k.
    return ((lz ^ 63u) << kSubBits) + k + (m > kThreshold[k]) + (kIndexOffset - 1);
  }
  // The integers bucket b holds are [lower_of(b), upper_of(b)); a bucket
  // holding none has lower == upper. The last bucket's upper is UINT64_MAX
  // and includes it (2^64 does not fit).
  static uint64_t lower_of(int b);
  static uint64_t upper_of(int b);
  // floor(2^(k/16)) for k = 0 .. 1023.
  static uint64_t floor_pow(int k) {
    return kThreshold[k & (kSub - 1)] >> (63 - (k >> kSubBits));
  }

  // True when bucket `b` has storage.
  bool has(int b) const { return static_cast<unsigned>(b - first_) < static_cast<unsigned>(size_); }
  // True when the bucket of value `v` has storage (a test on the value, so a
  // caller can check before it computes the bucket). Values past the range
  // covered, including UINT64_MAX, answer false; reserve() says otherwise.
  bool covers(uint64_t v) const { return v - lo_ns_ < span_ns_; }
  // Makes bucket `b` writable; false when out of memory.
  bool reserve(int b) { return has(b) || grow(b / kSub, b / kSub + 1); }
  // Makes buckets lo .. hi (lo <= hi) writable, in one allocation at most.
  // `arena`: as cover().
  bool reserve_range(int lo, int hi, Arena *arena = nullptr) {
    return (has(lo) && has(hi)) || grow(lo / kSub, hi / kSub + 1, arena);
  }
  // Requires has(b) (so b >= 0). Through the biased base: one add, no
  // subtraction.
  void add(int b, uint64_t n) { reinterpret_cast<uint64_t *>(base_)[static_cast<uint32_t>(b)] += n; }
  // The number of samples (the sum of the buckets).
  uint64_t total() const;

  uint64_t count_at(int b) const { return has(b) ? counts_[b - first_] : 0; }
  // The buckets with storage are [first_bucket(), end_bucket()); others are 0.
  int first_bucket() const { return first_; }
  int end_bucket() const { return first_ + size_; }

  // Grows this one's storage to cover `o`'s; counts are unchanged. False on
  // out of memory (this one unchanged). With an `arena` (arena.hpp), which
  // must then hold this one's storage too, the new block comes from it and
  // the old one stays there.
  bool cover(const Histogram &o, Arena *arena = nullptr);
  // Adds `o`'s counts; requires cover(o) first, so it never allocates.
  void add_covered(const Histogram &o);
  // Exchanges contents (storage included) with `o`; never allocates.
  void swap(Histogram &o);
  // Zeroes the counts, keeping the storage for the next samples.
  void clear();
  void release();

  // Nearest-rank quantile of `total` samples, reported at the bucket's
  // geometric middle (rounded into the integers it holds) and clamped to
  // [lo, hi] (the exact min and max).
  uint64_t quantile(double q, uint64_t total, uint64_t lo, uint64_t hi) const;

 private:
  static constexpr uint64_t kThreshold[17] = {
      0x8000000000000000ull,
      0x85aac367cc487b14ull,
      0x8b95c1e3ea8bd6e6ull,
      0x91c3d373ab11c336ull,
      0x9837f0518db8a96full,
      0x9ef5326091a111adull,
      0xa5fed6a9b15138eaull,
      0xad583eea42a14ac6ull,
      0xb504f333f9de6484ull,
      0xbd08a39f580c36beull,
      0xc5672a115506daddull,
      0xce248c151f8480e3ull,
      0xd744fccad69d6af4ull,
      0xe0ccdeec2a94e111ull,
      0xeac0c6e7dd24392eull,
      0xf5257d152486cc2cull,
      0xffffffffffffffffull};  // sentinel: no mantissa passes it
  // kCell[c]: the first boundary k (kThreshold[k]; 16, the sentinel, past
  // the last) at or above the smallest mantissa whose eight bits below the
  // top one are c.
  static constexpr uint8_t kCell[256] = {0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16};

  // Reallocates to cover chunks [chunk_lo, chunk_hi) as well as the current range.
  bool grow(int chunk_lo, int chunk_hi, Arena *arena = nullptr);
  uint64_t *counts_ = nullptr;  // counts_[i] is bucket first_ + i
  // The address bucket 0 would have: counts_ - first_, as an integer (it
  // may point outside the block; only has() buckets are reached through it).
  std::uintptr_t base_ = 0;
  int32_t first_ = 0;           // a multiple of kSub
  int32_t size_ = 0;            // a multiple of kSub; 0 = no storage
  uint64_t lo_ns_ = 0;          // lower_of(first_)
  uint64_t span_ns_ = 0;        // values in [lo_ns_, lo_ns_ + span_ns_) have storage
  void set_range(int32_t first, int32_t size);
};

}  // namespace bt
