// Every allocation the core makes outside the standard containers goes through
// here, so one place can count or fail them. In the test-only build with
// BT_ALLOC_HOOKS (alloc_hooks.cpp) the n-th allocation can be made to fail,
// and operator new is replaced too, so container allocations fail the same way.
#pragma once
#include <cstddef>
#include <cstdlib>

namespace bt {

#if defined(BT_ALLOC_HOOKS)
// True when this allocation is the one chosen to fail (counts it either way).
bool alloc_hook_fails();
#else
constexpr bool alloc_hook_fails() { return false; }
#endif

inline void *mem_alloc(std::size_t size) { return alloc_hook_fails() ? nullptr : std::malloc(size); }
inline void *mem_calloc(std::size_t n, std::size_t size) {
  return alloc_hook_fails() ? nullptr : std::calloc(n, size);
}
// `align` is a power of two at least sizeof(void*); `size` any.
inline void *mem_aligned(std::size_t align, std::size_t size) {
  void *p = nullptr;
  if (alloc_hook_fails()) return nullptr;
  return posix_memalign(&p, align, size) == 0 ? p : nullptr;
}
inline void mem_free(void *p) { std::free(p); }

}  // namespace bt
