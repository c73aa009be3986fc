#include "cpp_impl/names.hpp"

#include <mutex>
#include <new>
#include <string>
#include <unordered_set>

#include "cpp_impl/lasting.hpp"
#include "cpp_impl/limits.hpp"

namespace bt {

namespace {

// Length of the UTF-8 sequence starting at s (at most `left` bytes), or 0 when
// it is malformed: overlong forms, surrogates and code points past U+10FFFF
// are rejected, as RFC 3629 asks.
std::size_t utf8_sequence(const unsigned char *s, std::size_t left) {
  unsigned c = s[0];
  if (c < 0x80) return 1;
  std::size_t n;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; }
  else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0F; }
  else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; }
  else return 0;
  if (left < n) return 0;
  for (std::size_t i = 1; i < n; ++i) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
  if (cp >= 0x80 && cp < 0xA0) return 0;  // C1 control characters
  return n;
}

struct Pool {
  std::mutex mutex;
  std::unordered_set<std::string> names;  // nodes never move: c_str() is stable
};

Pool &pool() {
  static Lasting<Pool> p;  // see lasting.hpp
  return p.get();
}

}  // namespace

void intern_pool_init() { pool(); }

std::mutex &intern_mutex() { return pool().mutex; }

Err check_name(const char *name, std::size_t *len) {
  if (!name) return Err::null;
  std::size_t i = 0;
  const auto *s = reinterpret_cast<const unsigned char *>(name);
  while (s[i] != 0) {
    if (i >= kNameMax) return Err::name;
    if (s[i] < 0x20 || s[i] == 0x7F) return Err::name;
    std::size_t n = utf8_sequence(s + i, kNameMax + 1 - i);
    if (n == 0) return Err::name;  // a NUL inside a sequence fails as a bad continuation
    i += n;
  }
  if (i == 0 || i > kNameMax) return Err::name;
  *len = i;
  return Err::ok;
}

uint64_t hash_name(const char *name, std::size_t len) {
  uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < len; ++i) {
    h ^= static_cast<unsigned char>(name[i]);
    h *= 1099511628211ull;
  }
  return h;
}

const char *intern(const char *name, std::size_t len) {
  try {
    Pool &p = pool();
    std::lock_guard<std::mutex> lock(p.mutex);
    return p.names.emplace(name, len).first->c_str();
  } catch (const std::bad_alloc &) {
    return nullptr;
  }
}

}  // namespace bt
