// A shared file's image as a reader sees it (shared_read.cpp,
// shared_stage.cpp): every structure is reached through a checked offset.
#pragma once
#include <sys/mman.h>
#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "cpp_impl/names.hpp"
#include "cpp_impl/shared_format.hpp"

namespace bt {
namespace shared {

// A file image. One mapped from a live slot grows on demand: its writer
// extends the file before it publishes an offset into the new part, so an
// offset past the mapped end that the file now covers is read through a
// fresh mapping of the whole file (earlier ones stay mapped: pointers into
// them remain valid).
class Image {
 public:
  Image(const uint8_t *base, std::size_t size, int fd) : base_(base), size_(size), fd_(fd) {}
  ~Image() {
    for (auto &m : extra_) munmap(m.first, m.second);
  }
  Image(const Image &) = delete;
  Image &operator=(const Image &) = delete;
  const uint8_t *base() const { return base_; }
  std::size_t size() const { return size_; }
  // True when [off, off + n) lies in the file (mapping more of it if needed).
  bool covers(uint64_t off, uint64_t n) {
    if (off <= size_ && size_ - off >= n) return true;
    return fd_ >= 0 && off <= kMaxFileBytes && n <= kMaxFileBytes && extend(off + n) && size_ - off >= n;
  }
  // Asks for the line at `off` ahead of its use, if it lies in the mapping
  // (never a fault: a prefetch is only a hint).
  void prefetch(uint64_t off) const {
    if (off < size_) __builtin_prefetch(base_ + off);
  }

 private:
  bool extend(uint64_t need) {
    struct stat st {};
    if (fstat(fd_, &st) != 0 || static_cast<uint64_t>(st.st_size) < need) return false;
    const std::size_t n = static_cast<std::size_t>(st.st_size);
    void *p = mmap(nullptr, n, PROT_READ, MAP_SHARED, fd_, 0);
    if (p == MAP_FAILED) return false;
    extra_.emplace_back(p, n);
    base_ = static_cast<const uint8_t *>(p);
    size_ = n;
    return true;
  }
  const uint8_t *base_;
  std::size_t size_;
  int fd_;
  std::vector<std::pair<void *, std::size_t>> extra_;
};

// The structure at `off`, or nullptr when it does not lie whole in the file.
template <typename T>
const T *at(Image &im, uint64_t off) {
  if (off == 0 || off % kAlign != 0 || !im.covers(off, sizeof(T))) return nullptr;
  return reinterpret_cast<const T *>(im.base() + off);
}

inline uint64_t word(const AtomicWord &w) { return w.load_acquire(); }

// A stored name: NUL-terminated inside its field and a valid name.
inline bool stored_name(const char (&field)[kNameMax + 1], std::size_t *len) {
  const void *nul = std::memchr(field, '\0', sizeof field);
  return nul && check_name(field, len) == Err::ok;
}

}  // namespace shared
}  // namespace bt
