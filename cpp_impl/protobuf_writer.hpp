// The protobuf wire format, writing only: varints, zigzag, fixed64 doubles,
// and length-delimited fields (strings, nested messages, packed arrays).
// Hand-written because the core is linked into every extension: a protobuf
// runtime would be paid by all of them for two small, fixed schemas
// (docs/formats.md, "Why no protobuf library in the core"). The tests decode
// what it writes with the real protobuf runtime, a real Prometheus and a
// real OpenTelemetry Collector.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>

namespace bt {
namespace pb {

enum Wire : uint32_t { kVarint = 0, kFixed64 = 1, kLen = 2 };

// Each writer appends to `out`: a std::string, or an Out (out.hpp) that
// writes straight into the export's buffer.
template <typename S>
inline void varint(S &out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

template <typename S>
inline void tag(S &out, uint32_t field, Wire wire) { varint(out, (uint64_t{field} << 3) | wire); }

constexpr uint64_t zigzag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }

template <typename S>
inline void uint_field(S &out, uint32_t field, uint64_t v) {
  tag(out, field, kVarint);
  varint(out, v);
}

template <typename S>
inline void sint_field(S &out, uint32_t field, int64_t v) { uint_field(out, field, zigzag(v)); }

template <typename S>
inline void fixed64_field(S &out, uint32_t field, uint64_t v) {
  tag(out, field, kFixed64);
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);  // little-endian
}

template <typename S>
inline void double_field(S &out, uint32_t field, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  fixed64_field(out, field, bits);
}

// A string, a nested message already encoded, or a packed array.
template <typename S>
inline void bytes_field(S &out, uint32_t field, const std::string &bytes) {
  tag(out, field, kLen);
  varint(out, bytes.size());
  out += bytes;
}

// The tag and length of a length-delimited field whose `n` bytes follow:
// a nested message written in place, its size computed first.
template <typename S>
inline void len_header(S &out, uint32_t field, uint64_t n) {
  tag(out, field, kLen);
  varint(out, n);
}

// Sizes of what the writers above write, for length prefixes computed
// before the message.
constexpr std::size_t varint_size(uint64_t v) {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
constexpr std::size_t tag_size(uint32_t field) { return varint_size(uint64_t{field} << 3); }
constexpr std::size_t uint_field_size(uint32_t field, uint64_t v) { return tag_size(field) + varint_size(v); }
constexpr std::size_t sint_field_size(uint32_t field, int64_t v) { return uint_field_size(field, zigzag(v)); }
constexpr std::size_t fixed64_field_size(uint32_t field) { return tag_size(field) + 8; }
constexpr std::size_t len_field_size(uint32_t field, uint64_t n) {
  return tag_size(field) + varint_size(n) + static_cast<std::size_t>(n);
}

}  // namespace pb
}  // namespace bt
