#include "cpp_impl/histogram.hpp"

#include <cmath>
#include <cstring>

#include "cpp_impl/alloc.hpp"

namespace bt {

uint64_t Histogram::lower_of(int b) {
  int chunk = b / kSub, sub = b % kSub;
  if (chunk == 0) return static_cast<uint64_t>(sub);
  int e = chunk + kSubBits - 1;
  return (1ull << e) + (static_cast<uint64_t>(sub) << (e - kSubBits));
}

uint64_t Histogram::upper_of(int b) {
  int chunk = b / kSub;
  if (chunk == 0) return lower_of(b) + 1;
  return lower_of(b) + (1ull << (chunk - 1));
}

bool Histogram::alloc_chunk(int chunk) {
  auto *c = static_cast<uint64_t *>(mem_calloc(kSub, sizeof(uint64_t)));
  if (!c) return false;
  chunks_[chunk] = c;
  return true;
}

bool Histogram::merge(const Histogram &o) {
  // Allocate everything first so a failure leaves this histogram unchanged.
  for (int c = 0; c < kChunks; ++c) {
    if (o.chunks_[c] && !chunks_[c] && !alloc_chunk(c)) return false;
  }
  for (int c = 0; c < kChunks; ++c) {
    if (!o.chunks_[c]) continue;
    for (int s = 0; s < kSub; ++s) chunks_[c][s] += o.chunks_[c][s];
  }
  return true;
}

void Histogram::absorb(Histogram &o) {
  for (int c = 0; c < kChunks; ++c) {
    if (!o.chunks_[c]) continue;
    if (!chunks_[c]) {
      chunks_[c] = o.chunks_[c];
      o.chunks_[c] = nullptr;
    } else {
      for (int s = 0; s < kSub; ++s) chunks_[c][s] += o.chunks_[c][s];
    }
  }
}

void Histogram::clear() {
  for (auto *c : chunks_) {
    if (c) std::memset(c, 0, kSub * sizeof(uint64_t));
  }
}

void Histogram::release() {
  for (auto *&c : chunks_) {
    mem_free(c);
    c = nullptr;
  }
}

uint64_t Histogram::quantile(double q, uint64_t total, uint64_t lo, uint64_t hi) const {
  if (total == 0) return 0;
  if (q <= 0.0) return lo;
  if (q >= 1.0) return hi;
  double r = std::ceil(q * static_cast<double>(total));
  uint64_t rank = r < 1.0 ? 1 : static_cast<uint64_t>(r);
  if (rank > total) rank = total;
  uint64_t seen = 0;
  for (int c = 0; c < kChunks; ++c) {
    if (!chunks_[c]) continue;
    for (int s = 0; s < kSub; ++s) {
      seen += chunks_[c][s];
      if (seen >= rank) {
        int b = c * kSub + s;
        uint64_t lower = lower_of(b);
        uint64_t v = lower + (upper_of(b) - lower - 1) / 2;
        if (v < lo) v = lo;
        if (v > hi) v = hi;
        return v;
      }
    }
  }
  return hi;
}

}  // namespace bt
