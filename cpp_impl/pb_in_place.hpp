// Nested protobuf messages written once, straight into an export's Out: a
// message's length comes before it but is known only once it is written,
// so it is written after a placeholder as long as the longest length the
// message can have, which then shrinks to the length (Out::close_gap: a
// move of the bytes just written, still in the cache). No pass to size the
// messages first, no message built in a string and copied into its parent.
//
// Bytes past a caller's buffer are counted, not kept, so they cannot be
// moved: then whole() turns false, and the caller rewinds (Out::rewind) and
// writes that part the other way.
#pragma once
#include <cstddef>
#include <cstdint>

#include "cpp_impl/out.hpp"
#include "cpp_impl/protobuf_writer.hpp"

namespace bt {
namespace pb {

class InPlace {
 public:
  static constexpr std::size_t kMaxVarint = 10;

  explicit InPlace(Out &out) : out_(out) {}

  struct Gap {
    std::size_t at, reserved;
  };
  // A placeholder for the length of what follows, at most `longest` bytes
  // (a message that fits the room left has a length no longer than that
  // room's). Without a tag: the length of a delimited message.
  Gap open(std::size_t longest = kMaxVarint) {
    const std::size_t room = varint_size(out_.room());
    const Gap g{out_.size(), room < longest ? room : longest};
    static const char zeros[kMaxVarint] = {};
    out_.put(zeros, g.reserved);
    return g;
  }
  // A length-delimited field: its tag, then open().
  Gap open(uint32_t field, std::size_t longest = kMaxVarint) {
    tag(out_, field, kLen);
    return open(longest);
  }
  // Puts the length of what follows `g` in its place; when that cannot be
  // done, whole() turns false (and stays so).
  void close(const Gap &g) {
    if (!whole_) return;
    char head[kMaxVarint];
    Put put{head};
    varint(put, out_.size() - g.at - g.reserved);
    const std::size_t n = static_cast<std::size_t>(put.p - head);
    whole_ = n <= g.reserved && out_.close_gap(g.at, g.reserved, head, n);
  }
  // Every length so far put in place.
  bool whole() const { return whole_; }
  void reset() { whole_ = true; }

 private:
  // A sink that writes into a small array (a varint).
  struct Put {
    char *p;
    Put &operator+=(char c) { return *p++ = c, *this; }
  };
  Out &out_;
  bool whole_ = true;
};

}  // namespace pb
}  // namespace bt
