// Log-linear latency histogram: exact below 16 ns, then 16 buckets per power
// of two up to 2^43 ns (about 2.4 hours); larger values land in the last
// bucket. A bucket is at most 1/16 of its lower bound wide, so a quantile
// reported at the bucket's midpoint is within 1/32 of the true value.
//
// Storage is one dense array over the range of powers of two (16 buckets,
// a "chunk") the samples have reached so far, grown on first use of a new
// range. Dense, because a record then costs one bounds check and one add,
// and a typical latency spread (µs to s) fills its range anyway; one block,
// because a block per chunk would pay an allocator header for every 128
// bytes and a pointer table besides.
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

  // Branch-free: with e the top bit of (v | 16), bucket = (e - 4) * 16 +
  // (v >> (e - 4)), since v >> (e - 4) is 16 + the sub-bucket for v >= 16
  // and v itself below. Values past the last bucket are clamped into it.
  static int bucket_of(uint64_t v) {
    constexpr uint64_t kLast = (1ull << (kChunks + kSubBits - 1)) - 1;  // top of the last bucket
    if (v > kLast) v = kLast;
    int shift = (63 ^ __builtin_clzll(v | static_cast<uint64_t>(kSub))) - kSubBits;  // top bit - 4
    return (shift << kSubBits) + static_cast<int>(v >> shift);
  }
  static uint64_t lower_of(int b);
  static uint64_t upper_of(int b);

  // True when bucket `b` has storage.
  bool has(int b) const { return static_cast<unsigned>(b - first_) < static_cast<unsigned>(size_); }
  // True when the bucket of value `v` has storage (a test on the value, so a
  // caller can check before it computes the bucket). Values past the range
  // covered, including UINT64_MAX, answer false; reserve() says otherwise.
  bool covers(uint64_t v) const { return v - lo_ns_ < span_ns_; }
  // Makes bucket `b` writable; false when out of memory.
  bool reserve(int b) { return has(b) || grow(b / kSub, b / kSub + 1); }
  // Requires has(b).
  void add(int b, uint64_t n) { counts_[b - first_] += n; }
  // The number of samples (the sum of the buckets).
  uint64_t total() const;

  uint64_t count_at(int b) const { return has(b) ? counts_[b - first_] : 0; }
  // The buckets with storage are [first_bucket(), end_bucket()); others are 0.
  int first_bucket() const { return first_; }
  int end_bucket() const { return first_ + size_; }

  // Grows this one's storage to cover `o`'s; counts are unchanged. False on
  // out of memory (this one unchanged).
  bool cover(const Histogram &o);
  // Adds `o`'s counts; requires cover(o) first, so it never allocates.
  void add_covered(const Histogram &o);
  // Exchanges contents (storage included) with `o`; never allocates.
  void swap(Histogram &o);
  // Zeroes the counts, keeping the storage for the next samples.
  void clear();
  void release();

  // Nearest-rank quantile of `total` samples, reported at the bucket midpoint
  // and clamped to [lo, hi] (the exact min and max).
  uint64_t quantile(double q, uint64_t total, uint64_t lo, uint64_t hi) const;

 private:
  // Reallocates to cover chunks [chunk_lo, chunk_hi) as well as the current range.
  bool grow(int chunk_lo, int chunk_hi);
  uint64_t *counts_ = nullptr;  // counts_[i] is bucket first_ + i
  int32_t first_ = 0;           // a multiple of kSub
  int32_t size_ = 0;            // a multiple of kSub; 0 = no storage
  uint64_t lo_ns_ = 0;          // lower_of(first_)
  uint64_t span_ns_ = 0;        // values in [lo_ns_, lo_ns_ + span_ns_) have storage
  void set_range(int32_t first, int32_t size);
};

}  // namespace bt
