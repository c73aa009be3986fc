// An append-only byte sink for the exports. Either it writes into a caller's
// buffer while there is room and past it only counts (snprintf semantics with
// no string in between: a scrape into a kept buffer copies its export once),
// or it grows storage of its own. Appends are inline: a test and a memcpy.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace bt {

class Out {
 public:
  // Storage of its own (take() hands it over). May throw std::bad_alloc.
  Out() : own_(4096, '\0') { begin_ = p_ = &own_[0], end_ = begin_ + own_.size(); }
  // The first `cap` bytes go to `buf` (which may be null when cap is 0), the
  // rest are counted only.
  Out(char *buf, std::size_t cap) : fixed_(true) {
    static char none;  // memcpy's pointers must not be null, even for 0 bytes
    begin_ = p_ = buf ? buf : &none;
    end_ = begin_ + (buf ? cap : 0);
  }
  Out(const Out &) = delete;
  Out &operator=(const Out &) = delete;

  void put(const char *s, std::size_t n) {
    if (__builtin_expect(n <= static_cast<std::size_t>(end_ - p_), 1)) {
      std::memcpy(p_, s, n);
      p_ += n;
    } else {
      overflow(s, n);
    }
  }
  void put(char c) {
    if (__builtin_expect(p_ != end_, 1)) {
      *p_++ = c;
    } else {
      overflow(&c, 1);
    }
  }
  void put(const std::string &s) { put(s.data(), s.size()); }
  void put_str(const char *s) { put(s, std::strlen(s)); }
  // Decimal digits of v.
  void put_u64(uint64_t v) {
    char buf[20];
    char *e = buf + sizeof buf, *q = e;
    do *--q = static_cast<char>('0' + v % 10);
    while ((v /= 10) != 0);
    put(q, static_cast<std::size_t>(e - q));
  }
  // For the protobuf writer (protobuf_writer.hpp), which also writes std::string.
  Out &operator+=(char c) { return put(c), *this; }
  Out &operator+=(const std::string &s) { return put(s), *this; }

  // Bytes appended so far (written or, past a caller's buffer, counted).
  std::size_t size() const { return static_cast<std::size_t>(p_ - begin_) + counted_; }

  // Bytes that can still be written (not only counted); SIZE_MAX for own
  // storage, which grows.
  std::size_t room() const { return fixed_ ? static_cast<std::size_t>(end_ - p_) : SIZE_MAX; }

  // A length written after what it measures (protobuf_writer.hpp): the
  // caller put `reserved` placeholder bytes at `at`, then the `body`
  // (everything since). Puts the `n` bytes at `head` in the placeholder's
  // place and moves the body up against them (n <= reserved). False, and
  // nothing changed, when part of it went past a caller's buffer (counted,
  // not kept): then rewind(at) and write it another way.
  bool close_gap(std::size_t at, std::size_t reserved, const char *head, std::size_t n) {
    if (counted_ != 0) return false;
    char *const start = begin_ + at;
    std::memcpy(start, head, n);
    std::memmove(start + n, start + reserved, static_cast<std::size_t>(p_ - start) - reserved);
    p_ -= reserved - n;
    return true;
  }
  // Drops what was appended since size() was `at`.
  void rewind(std::size_t at) {
    const std::size_t kept = static_cast<std::size_t>(p_ - begin_);
    if (at < kept) {
      p_ = begin_ + at;
      counted_ = 0;
    } else {
      counted_ = at - kept;
    }
  }
  // The bytes, when the storage is its own. May throw std::bad_alloc.
  std::string take() {
    own_.resize(size());
    begin_ = p_ = end_ = nullptr;
    return std::move(own_);
  }

 private:
  // Out of room: a caller's buffer takes what fits and counts the rest; own
  // storage doubles (or more). May throw std::bad_alloc.
  void overflow(const char *s, std::size_t n) {
    const std::size_t room = static_cast<std::size_t>(end_ - p_);
    if (fixed_) {
      if (room) std::memcpy(p_, s, room);
      p_ = end_;
      counted_ += n - room;
      return;
    }
    const std::size_t used = size();
    std::size_t cap = own_.size() * 2;
    if (cap < used + n) cap = used + n;
    own_.resize(cap);
    begin_ = &own_[0];
    p_ = begin_ + used;
    end_ = begin_ + cap;
    std::memcpy(p_, s, n);
    p_ += n;
  }

  char *begin_ = nullptr, *p_ = nullptr, *end_ = nullptr;
  std::size_t counted_ = 0;  // past a caller's buffer
  bool fixed_ = false;
  std::string own_;
};

}  // namespace bt
