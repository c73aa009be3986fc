#include "cpp_impl/histogram.hpp"

#include <cmath>
#include <cstring>
#include <utility>

#include "cpp_impl/alloc.hpp"
#include "cpp_impl/arena.hpp"

namespace bt {

uint64_t Histogram::lower_of(int b) {
  if (b == 0) return 0;
  const int i = b - kIndexOffset;
  if (i <= 0) return i == 0 ? 2 : 1;  // b 1..14 hold nothing; i = -1 holds [1, 2)
  return floor_pow(i) + 1;
}

uint64_t Histogram::upper_of(int b) {
  if (b < kIndexOffset - 1) return 1;  // zero's bucket [0, 1); b 1..14 empty
  const int k = b - kIndexOffset + 1;
  if (k >= kBuckets - kIndexOffset) return UINT64_MAX;  // 2^64, inclusive of UINT64_MAX
  return floor_pow(k) + 1;
}

bool Histogram::grow(int chunk_lo, int chunk_hi, Arena *a) {
  if (size_ > 0) {
    int lo = first_ / kSub, hi = (first_ + size_) / kSub;
    if (lo < chunk_lo) chunk_lo = lo;
    if (hi > chunk_hi) chunk_hi = hi;
  }
  int first = chunk_lo * kSub, size = (chunk_hi - chunk_lo) * kSub;
  // In an arena the old block stays there, freed with it.
  const std::size_t bytes = static_cast<std::size_t>(size) * sizeof(uint64_t);
  auto *c = static_cast<uint64_t *>(a ? a->alloc(bytes) : mem_calloc(static_cast<std::size_t>(size), sizeof(uint64_t)));
  if (!c) return false;
  if (size_ > 0) std::memcpy(c + (first_ - first), counts_, static_cast<std::size_t>(size_) * sizeof(uint64_t));
  if (!a) mem_free(counts_);
  counts_ = c;
  set_range(first, size);
  return true;
}

void Histogram::set_range(int32_t first, int32_t size) {
  first_ = first;
  size_ = size;
  base_ = reinterpret_cast<std::uintptr_t>(counts_) -
          static_cast<std::uintptr_t>(static_cast<intptr_t>(first)) * sizeof(uint64_t);
  lo_ns_ = size ? lower_of(first) : 0;
  if (size == 0) {
    span_ns_ = 0;
  } else if (first + size >= kBuckets) {
    span_ns_ = UINT64_MAX - lo_ns_;  // UINT64_MAX itself takes the slow path
  } else {
    span_ns_ = lower_of(first + size) - lo_ns_;
  }
}

bool Histogram::cover(const Histogram &o, Arena *arena) {
  if (o.size_ == 0) return true;
  if (size_ > 0 && o.first_ >= first_ && o.first_ + o.size_ <= first_ + size_) return true;
  return grow(o.first_ / kSub, (o.first_ + o.size_) / kSub, arena);
}

void Histogram::add_covered(const Histogram &o) {
  uint64_t *dst = counts_ + (o.first_ - first_);
  for (int i = 0; i < o.size_; ++i) dst[i] += o.counts_[i];
}

uint64_t Histogram::total() const {
  uint64_t n = 0;
  for (int i = 0; i < size_; ++i) n += counts_[i];
  return n;
}

void Histogram::swap(Histogram &o) {
  std::swap(counts_, o.counts_);
  std::swap(first_, o.first_);
  std::swap(size_, o.size_);
  std::swap(lo_ns_, o.lo_ns_);
  std::swap(span_ns_, o.span_ns_);
  std::swap(base_, o.base_);
}

void Histogram::clear() {
  if (size_ > 0) std::memset(counts_, 0, static_cast<std::size_t>(size_) * sizeof(uint64_t));
}

void Histogram::release() {
  mem_free(counts_);
  counts_ = nullptr;
  set_range(0, 0);
}

namespace {

// The value a quantile in bucket b reports: the geometric middle of the
// bucket's real bounds, rounded into the integers it holds.
uint64_t middle_of(int b) {
  if (b == 0) return 0;
  const uint64_t lower = Histogram::lower_of(b), upper = Histogram::upper_of(b);
  const double mid = std::exp2((b - Histogram::kIndexOffset + 0.5) / Histogram::kSub);
  // 2^64 - 2048 is the largest double below 2^64.
  uint64_t v = mid >= 18446744073709549568.0 ? UINT64_MAX : static_cast<uint64_t>(mid + 0.5);
  const uint64_t top = upper == UINT64_MAX ? UINT64_MAX : upper - 1;
  if (v < lower) v = lower;
  if (v > top) v = top;
  return v;
}

}  // namespace

uint64_t Histogram::quantile(double q, uint64_t total, uint64_t lo, uint64_t hi) const {
  if (total == 0) return 0;
  if (q <= 0.0) return lo;
  if (q >= 1.0) return hi;
  double r = std::ceil(q * static_cast<double>(total));
  uint64_t rank = r < 1.0 ? 1 : static_cast<uint64_t>(r);
  if (rank > total) rank = total;
  uint64_t seen = 0;
  for (int i = 0; i < size_; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      uint64_t v = middle_of(first_ + i);
      if (v < lo) v = lo;
      if (v > hi) v = hi;
      return v;
    }
  }
  return hi;
}

}  // namespace bt
