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

inline void varint(std::string &out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

inline void tag(std::string &out, uint32_t field, Wire wire) { varint(out, (uint64_t{field} << 3) | wire); }

inline uint64_t zigzag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }

inline void uint_field(std::string &out, uint32_t field, uint64_t v) {
  tag(out, field, kVarint);
  varint(out, v);
}

inline void sint_field(std::string &out, uint32_t field, int64_t v) { uint_field(out, field, zigzag(v)); }

inline void fixed64_field(std::string &out, uint32_t field, uint64_t v) {
  tag(out, field, kFixed64);
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);  // little-endian
}

inline void double_field(std::string &out, uint32_t field, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  fixed64_field(out, field, bits);
}

// A string, a nested message already encoded, or a packed array.
inline void bytes_field(std::string &out, uint32_t field, const std::string &bytes) {
  tag(out, field, kLen);
  varint(out, bytes.size());
  out += bytes;
}

}  // namespace pb
}  // namespace bt
