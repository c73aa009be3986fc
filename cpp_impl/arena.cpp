#include "cpp_impl/arena.hpp"

#include <cstdint>
#include <cstring>

#include "cpp_impl/alloc.hpp"

namespace bt {

namespace {
constexpr std::size_t kAlign = 16;
constexpr std::size_t kMaxBlock = 4 * 1024 * 1024;
}  // namespace

Arena::~Arena() {
  while (head_) {
    Block *next = head_->next;
    mem_free(head_);
    head_ = next;
  }
}

void *Arena::alloc(std::size_t n) {
  n = (n + kAlign - 1) & ~(kAlign - 1);
  if (n > static_cast<std::size_t>(end_ - p_)) {
    std::size_t size = next_size_;
    while (size - kHeader < n) size *= 2;
    auto *b = static_cast<Block *>(mem_alloc(size));
    if (!b) return nullptr;
    b->next = head_;
    head_ = b;
    p_ = reinterpret_cast<char *>(b) + kHeader;
    end_ = reinterpret_cast<char *>(b) + size;
    if (next_size_ < kMaxBlock) next_size_ *= 2;
  }
  void *out = p_;
  p_ += n;
  std::memset(out, 0, n);
  return out;
}

}  // namespace bt
