// docstore-server: the demo's document server. Pure C++ and libbson, no Python.
//
//   docstore-server [--host 127.0.0.1] [--port 0]
//
// Listens on host:port (port 0: any free port), prints "PORT <n>" on stdout
// once it accepts connections, and serves the protocol of wire.hpp, one thread
// per connection. Documents are kept in memory as raw BSON; FIND returns the
// documents whose top-level fields equal every field of the filter (numbers
// compare by value across int32/int64/double; embedded documents and arrays
// compare byte for byte). The server exits when its stdin reaches end of file,
// so it never outlives the process that started it with a pipe on stdin.
#include "wire.hpp"

#include <bson/bson.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using docstore::wire::get_u32;

class Store {
 public:
  // Splits `payload` into BSON documents and stores them; returns how many.
  std::uint64_t insert(const std::string &payload) {
    std::vector<std::string> docs;
    const auto *p = reinterpret_cast<const unsigned char *>(payload.data());
    std::size_t off = 0;
    while (off < payload.size()) {
      if (payload.size() - off < 5) throw std::runtime_error("truncated BSON document");
      std::uint32_t len = get_u32(p + off);
      if (len < 5 || len > payload.size() - off) throw std::runtime_error("bad BSON length");
      bson_t b;
      if (!bson_init_static(&b, p + off, len)) throw std::runtime_error("invalid BSON document");
      size_t err_off = 0;
      if (!bson_validate(&b, BSON_VALIDATE_UTF8, &err_off))
        throw std::runtime_error("invalid BSON document (bad UTF-8 or structure)");
      docs.emplace_back(payload, off, len);
      off += len;
    }
    std::unique_lock<std::shared_mutex> lock(mu_);
    for (std::string &d : docs) docs_.push_back(std::move(d));
    return docs.size();
  }

  // Appends every stored document matching `filter` to `out`.
  void find(const bson_t *filter, std::string &out) const {
    std::shared_lock<std::shared_mutex> lock(mu_);
    for (const std::string &d : docs_) {
      bson_t doc;
      bson_init_static(&doc, reinterpret_cast<const std::uint8_t *>(d.data()), d.size());
      if (matches(&doc, filter)) out += d;
    }
  }

 private:
  static bool numeric(const bson_value_t *v, double &d, bool &is_int, std::int64_t &i) {
    switch (v->value_type) {
      case BSON_TYPE_INT32: i = v->value.v_int32; is_int = true; d = double(i); return true;
      case BSON_TYPE_INT64: i = v->value.v_int64; is_int = true; d = double(i); return true;
      case BSON_TYPE_DOUBLE: d = v->value.v_double; is_int = false; return true;
      default: return false;
    }
  }

  static bool equal(const bson_value_t *a, const bson_value_t *b) {
    double da, db;
    bool ia, ib;
    std::int64_t xa = 0, xb = 0;
    if (numeric(a, da, ia, xa) && numeric(b, db, ib, xb)) return ia && ib ? xa == xb : da == db;
    if (a->value_type != b->value_type) return false;
    switch (a->value_type) {
      case BSON_TYPE_UTF8:
        return a->value.v_utf8.len == b->value.v_utf8.len &&
               std::memcmp(a->value.v_utf8.str, b->value.v_utf8.str, a->value.v_utf8.len) == 0;
      case BSON_TYPE_BOOL: return a->value.v_bool == b->value.v_bool;
      case BSON_TYPE_NULL: return true;
      case BSON_TYPE_BINARY:
        return a->value.v_binary.subtype == b->value.v_binary.subtype &&
               a->value.v_binary.data_len == b->value.v_binary.data_len &&
               std::memcmp(a->value.v_binary.data, b->value.v_binary.data,
                           a->value.v_binary.data_len) == 0;
      case BSON_TYPE_DOCUMENT:
      case BSON_TYPE_ARRAY:
        return a->value.v_doc.data_len == b->value.v_doc.data_len &&
               std::memcmp(a->value.v_doc.data, b->value.v_doc.data, a->value.v_doc.data_len) == 0;
      default: return false;
    }
  }

  static bool matches(const bson_t *doc, const bson_t *filter) {
    bson_iter_t f;
    if (!bson_iter_init(&f, filter)) return false;
    while (bson_iter_next(&f)) {
      bson_iter_t d;
      if (!bson_iter_init_find(&d, doc, bson_iter_key(&f))) return false;
      if (!equal(bson_iter_value(&f), bson_iter_value(&d))) return false;
    }
    return true;
  }

  mutable std::shared_mutex mu_;
  std::vector<std::string> docs_;
};

void serve(int fd, Store &store) {
  try {
    std::uint8_t op = 0;
    std::string payload, reply;
    while (docstore::wire::recv_frame(fd, op, payload)) {
      reply.clear();
      std::uint8_t status = docstore::wire::REPLY_OK;
      try {
        if (op == docstore::wire::INSERT) {
          unsigned char n[8];
          docstore::wire::put_u64(n, store.insert(payload));
          reply.assign(reinterpret_cast<char *>(n), sizeof n);
        } else if (op == docstore::wire::FIND) {
          bson_t filter;
          if (payload.size() < 5 ||
              !bson_init_static(&filter, reinterpret_cast<const std::uint8_t *>(payload.data()),
                                payload.size()))
            throw std::runtime_error("FIND needs one BSON filter document");
          store.find(&filter, reply);
        } else {
          throw std::runtime_error("unknown opcode " + std::to_string(op));
        }
      } catch (const std::exception &e) {
        status = docstore::wire::REPLY_ERROR;
        reply = e.what();
      }
      docstore::wire::send_frame(fd, status, {{&reply[0], reply.size()}});
    }
  } catch (const std::exception &e) {
    std::fprintf(stderr, "docstore-server: connection dropped: %s\n", e.what());
  }
  ::close(fd);
}

int usage() {
  std::fprintf(stderr, "usage: docstore-server [--host 127.0.0.1] [--port 0]\n");
  return 2;
}

}  // namespace

int main(int argc, char **argv) {
  const char *host = "127.0.0.1";
  int port = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--host") == 0 && i + 1 < argc) {
      host = argv[++i];
    } else if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      port = std::atoi(argv[++i]);
    } else {
      return usage();
    }
  }

  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (lfd < 0) return std::perror("docstore-server: socket"), 1;
  int one = 1;
  ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, host, &addr.sin_addr) != 1) return usage();
  if (::bind(lfd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 ||
      ::listen(lfd, 128) != 0)
    return std::perror("docstore-server: bind/listen"), 1;
  socklen_t alen = sizeof addr;
  ::getsockname(lfd, reinterpret_cast<sockaddr *>(&addr), &alen);
  std::printf("PORT %d\n", ntohs(addr.sin_port));
  std::fflush(stdout);

  // Exit with the parent: it holds the other end of our stdin.
  std::thread([] {
    char buf[256];
    while (::read(STDIN_FILENO, buf, sizeof buf) > 0) {
    }
    std::_Exit(0);
  }).detach();

  Store store;
  for (;;) {
    int fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      std::perror("docstore-server: accept");
      return 1;
    }
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::thread(serve, fd, std::ref(store)).detach();
  }
}
