// The docstore wire protocol, shared by the extension and the server.
//
// Every message is a frame: a 4-byte little-endian length N, then N bytes:
//   request:  1 byte opcode, then the payload
//   reply:    1 byte status (REPLY_OK or REPLY_ERROR), then the payload
//
//   opcode   request payload                    reply payload (REPLY_OK)
//   INSERT   BSON documents, back to back        8-byte LE count of stored documents
//   FIND     one BSON document: the filter       the matching BSON documents, back to back
//
// A REPLY_ERROR payload is a UTF-8 message. BSON documents carry their own
// length prefix, so concatenation needs no extra framing. Plain blocking
// sockets; no dependency but POSIX.
#ifndef DOCSTORE_WIRE_HPP
#define DOCSTORE_WIRE_HPP

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

namespace docstore {
namespace wire {

enum Opcode : std::uint8_t { INSERT = 1, FIND = 2 };
enum Reply : std::uint8_t { REPLY_OK = 0, REPLY_ERROR = 1 };

/** Frames larger than this are refused (a corrupt length must not allocate gigabytes). */
constexpr std::uint32_t MAX_FRAME = 256u << 20;

inline void put_u32(unsigned char *p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
inline std::uint32_t get_u32(const unsigned char *p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
inline void put_u64(unsigned char *p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
inline std::uint64_t get_u64(const unsigned char *p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

[[noreturn]] inline void throw_errno(const char *what) {
  throw std::system_error(errno, std::generic_category(), what);
}

/** Writes every byte of the buffers (sendmsg, retried on EINTR and short writes). */
inline void send_all(int fd, std::vector<iovec> iov) {
  std::size_t i = 0;
  while (i < iov.size()) {
    msghdr msg{};
    msg.msg_iov = iov.data() + i;
    msg.msg_iovlen = iov.size() - i < 64 ? iov.size() - i : 64;
    ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("docstore: send");
    }
    std::size_t left = static_cast<std::size_t>(n);
    while (i < iov.size() && left >= iov[i].iov_len) left -= iov[i++].iov_len;
    if (i < iov.size()) {
      iov[i].iov_base = static_cast<char *>(iov[i].iov_base) + left;
      iov[i].iov_len -= left;
    }
  }
}

/** Reads exactly n bytes; false on a clean end of stream before the first byte. */
inline bool recv_all(int fd, void *buf, std::size_t n) {
  char *p = static_cast<char *>(buf);
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ::recv(fd, p + got, n - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_errno("docstore: recv");
    }
    if (r == 0) {
      if (got == 0) return false;
      errno = ECONNRESET;
      throw_errno("docstore: connection closed mid-frame");
    }
    got += static_cast<std::size_t>(r);
  }
  return true;
}

/** Sends one frame: `kind` (opcode or status) then the payload parts. */
inline void send_frame(int fd, std::uint8_t kind, const std::vector<iovec> &parts) {
  std::uint64_t len = 1;
  for (const iovec &v : parts) len += v.iov_len;
  if (len > MAX_FRAME) {
    errno = EMSGSIZE;
    throw_errno("docstore: frame too large");
  }
  unsigned char head[5];
  put_u32(head, static_cast<std::uint32_t>(len));
  head[4] = kind;
  std::vector<iovec> iov;
  iov.reserve(parts.size() + 1);
  iov.push_back({head, sizeof head});
  for (const iovec &v : parts)
    if (v.iov_len > 0) iov.push_back(v);
  send_all(fd, std::move(iov));
}

/** Receives one frame into kind + payload; false on a clean end of stream. */
inline bool recv_frame(int fd, std::uint8_t &kind, std::string &payload) {
  unsigned char head[5];
  if (!recv_all(fd, head, 4)) return false;
  std::uint32_t len = get_u32(head);
  if (len < 1 || len > MAX_FRAME) {
    errno = EPROTO;
    throw_errno("docstore: bad frame length");
  }
  if (!recv_all(fd, head + 4, 1)) {
    errno = ECONNRESET;
    throw_errno("docstore: connection closed mid-frame");
  }
  kind = head[4];
  payload.resize(len - 1);
  if (len > 1 && !recv_all(fd, &payload[0], len - 1)) {
    errno = ECONNRESET;
    throw_errno("docstore: connection closed mid-frame");
  }
  return true;
}

}  // namespace wire
}  // namespace docstore

#endif  // DOCSTORE_WIRE_HPP
