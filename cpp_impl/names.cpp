#include "cpp_impl/names.hpp"

#include <mutex>
#include <new>
#include <string>
#include <unordered_set>

#include "cpp_impl/lasting.hpp"
#include "cpp_impl/limits.hpp"

namespace bt {

namespace {

// Length of a name's UTF-8 sequence at s (at most `left` bytes), or 0 when
// it is malformed or a C1 control character (U+0080..U+009F).
std::size_t name_sequence(const unsigned char *s, std::size_t left) {
  std::size_t bad;
  bool cut;
  std::size_t n = utf8_next(s, left, &bad, &cut);
  if (n == 2 && s[0] == 0xC2 && s[1] < 0xA0) return 0;  // C1 control characters
  return n;
}

struct Pool {
  std::mutex mutex;
  std::unordered_set<std::string> names;  // nodes never move: c_str() is stable
  std::string key;  // the name looked up, its storage reused (under the mutex)
};

Pool &pool() {
  static Lasting<Pool> p;  // see lasting.hpp
  return p.get();
}

}  // namespace

std::size_t utf8_next(const unsigned char *s, std::size_t left, std::size_t *bad, bool *cut) {
  const unsigned c = s[0];
  *cut = false;
  *bad = 1;
  if (c < 0x80) return 1;
  std::size_t n;
  unsigned lo = 0x80, hi = 0xBF;  // the second byte's range; later ones are 80..BF
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c == 0xE0) n = 3, lo = 0xA0;   // no overlong form
  else if (c == 0xED) n = 3, hi = 0x9F;   // no surrogate
  else if (c >= 0xE1 && c <= 0xEF) n = 3;
  else if (c == 0xF0) n = 4, lo = 0x90;   // no overlong form
  else if (c == 0xF4) n = 4, hi = 0x8F;   // nothing past U+10FFFF
  else if (c >= 0xF1 && c <= 0xF3) n = 4;
  else return 0;
  for (std::size_t i = 1; i < n; ++i) {
    if (i == left) {
      *cut = true;
      *bad = i;
      return 0;
    }
    const unsigned b = s[i];
    if (b < (i == 1 ? lo : 0x80u) || b > (i == 1 ? hi : 0xBFu)) {
      *bad = i;
      return 0;
    }
  }
  return n;
}

std::string utf8_repaired(const char *s, std::size_t n, bool drop_cut_tail) {
  const auto *u = reinterpret_cast<const unsigned char *>(s);
  std::string out;
  out.reserve(n);
  std::size_t i = 0;
  while (i < n) {
    std::size_t bad;
    bool cut;
    if (std::size_t k = utf8_next(u + i, n - i, &bad, &cut)) {
      out.append(s + i, k);
      i += k;
      continue;
    }
    if (cut && drop_cut_tail) break;
    out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
    i += bad;
  }
  return out;
}

void intern_pool_init() { pool(); }

std::mutex &intern_mutex() { return pool().mutex; }

Err check_name(const char *name, std::size_t *len) {
  if (!name) return Err::null;
  std::size_t i = 0;
  const auto *s = reinterpret_cast<const unsigned char *>(name);
  while (s[i] != 0) {
    if (i >= kNameMax) return Err::name;
    if (s[i] < 0x20 || s[i] == 0x7F) return Err::name;
    std::size_t n = name_sequence(s + i, kNameMax + 1 - i);
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
    // Found without allocating: emplace would build a node (and a string)
    // for every name already there, as a merge's are on every scrape.
    p.key.assign(name, len);
    const auto it = p.names.find(p.key);
    if (it != p.names.end()) return it->c_str();
    return p.names.insert(p.key).first->c_str();
  } catch (const std::bad_alloc &) {
    return nullptr;
  }
}

}  // namespace bt
