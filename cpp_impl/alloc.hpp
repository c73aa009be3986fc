// Every allocation the core makes outside the standard containers goes through
// here, so one place can count or fail them (allocation-failure tests).
#pragma once
#include <cstddef>
#include <cstdlib>

namespace bt {

inline void *mem_alloc(std::size_t size) { return std::malloc(size); }
inline void *mem_calloc(std::size_t n, std::size_t size) { return std::calloc(n, size); }
// `align` is a power of two at least sizeof(void*); `size` any.
inline void *mem_aligned(std::size_t align, std::size_t size) {
  void *p = nullptr;
  return posix_memalign(&p, align, size) == 0 ? p : nullptr;
}
inline void mem_free(void *p) { std::free(p); }

}  // namespace bt
