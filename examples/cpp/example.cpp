/*
 * boundarytrace example in C++ (header-only wrapper boundarytrace/bt.hpp):
 * one "insert_many" operation, traced in its four phases, doing real work.
 *
 *   extract      (GIL held)     parse N text records "id,name,score" into structs
 *   convert      (GIL released) encode them into a length-prefixed binary buffer,
 *                               in parallel chunks for large batches
 *   network      (GIL released) send it over loopback TCP to a server thread, which
 *                               decodes it, sums the scores and replies; read the reply
 *   materialize  (GIL held)     decode the reply into result records with strings
 *
 * A std::mutex stands in for the GIL: held during extract and materialize,
 * released around convert and network; retaking it is reported as GIL wait.
 * Batches of 10, 100 and 1000 records run a few times each into the global
 * metrics; the program prints one operation's timing and the global report.
 * Any failed bt call throws bt::error; main() reports it and exits 1.
 *
 * Build with CMake (see CMakeLists.txt here), or with pkg-config alone:
 *
 *   c++ -std=c++17 example.cpp $(pkg-config --cflags --libs boundarytrace) -lpthread -o bt_example_cpp
 *
 * (add -Wl,-rpath,$(pkg-config --variable=libdir boundarytrace) when the library
 * is installed outside the loader's search path).
 */
#include <boundarytrace/bt.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace {

[[noreturn]] void sys_fail(const char *what) {
  throw std::system_error(errno, std::generic_category(), what);
}

/* ------------------------------------------------------------------------- */
/* Records and the wire format                                               */
/* ------------------------------------------------------------------------- */

struct Record {
  std::uint32_t id = 0;
  std::int32_t score = 0;
  std::string name;
};

struct Result {
  std::uint32_t id = 0;
  std::uint32_t share_bp = 0;  // share of the total score, basis points
  std::string text;
};

using Bytes = std::vector<unsigned char>;

void put(Bytes &b, std::uint64_t v, int bytes) {
  for (int s = 8 * (bytes - 1); s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(v >> s));
}

/* Patches the 4-byte length prefix at the start with the payload length. */
void finish_frame(Bytes &b) {
  const auto n = static_cast<std::uint32_t>(b.size() - 4);
  for (int i = 0; i < 4; ++i) b[static_cast<std::size_t>(i)] = static_cast<unsigned char>(n >> (24 - 8 * i));
}

/* A bounds-checked big-endian reader. */
class Reader {
 public:
  explicit Reader(const Bytes &b) : p_(b.data()), end_(b.data() + b.size()) {}
  std::uint64_t get(int bytes) {
    if (end_ - p_ < bytes) throw std::runtime_error("short message");
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | *p_++;
    return v;
  }
  void skip(std::size_t n) {
    if (static_cast<std::size_t>(end_ - p_) < n) throw std::runtime_error("short message");
    p_ += n;
  }

 private:
  const unsigned char *p_;
  const unsigned char *end_;
};

/* ------------------------------------------------------------------------- */
/* Sockets                                                                   */
/* ------------------------------------------------------------------------- */

/* Closes a file descriptor when it goes out of scope. */
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {
    if (fd_ < 0) sys_fail("socket");
  }
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  int get() const { return fd_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

void write_full(int fd, const Bytes &b) {
  std::size_t off = 0;
  while (off < b.size()) {
    ssize_t w = ::send(fd, b.data() + off, b.size() - off, 0);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) sys_fail("send");
    off += static_cast<std::size_t>(w);
  }
}

/* true = read n bytes, false = clean end of stream before any byte. */
bool read_full(int fd, unsigned char *p, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ::recv(fd, p + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) sys_fail("recv");
    if (r == 0) {
      if (got == 0) return false;
      throw std::runtime_error("connection closed mid-frame");
    }
    got += static_cast<std::size_t>(r);
  }
  return true;
}

/* Reads one frame (u32 length + payload); false at a clean end of stream. */
bool read_frame(int fd, Bytes &out) {
  unsigned char hdr[4];
  if (!read_full(fd, hdr, 4)) return false;
  const std::uint32_t n = (std::uint32_t{hdr[0]} << 24) | (std::uint32_t{hdr[1]} << 16) |
                          (std::uint32_t{hdr[2]} << 8) | hdr[3];
  out.resize(n);
  if (n > 0 && !read_full(fd, out.data(), n)) throw std::runtime_error("connection closed mid-frame");
  return true;
}

void set_nodelay(int fd) {
  int one = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) sys_fail("setsockopt");
}

/*
 * The server: one connection, one request at a time. A request is u32 count,
 * then count x (u32 id, i32 score, u16 name_len, name). The reply is u32 count,
 * i64 sum of scores, then count x (u32 id, u32 share_bp).
 */
void serve(int listen_fd) {
  Fd fd(::accept(listen_fd, nullptr, nullptr));
  set_nodelay(fd.get());
  Bytes in, out;
  std::vector<std::pair<std::uint32_t, std::int32_t>> recs;
  while (read_frame(fd.get(), in)) {
    Reader r(in);
    const auto count = static_cast<std::uint32_t>(r.get(4));
    recs.clear();
    std::int64_t sum = 0;
    for (std::uint32_t i = 0; i < count; ++i) {
      const auto id = static_cast<std::uint32_t>(r.get(4));
      const auto score = static_cast<std::int32_t>(static_cast<std::uint32_t>(r.get(4)));
      r.skip(static_cast<std::size_t>(r.get(2)));  // the server has no use for names
      recs.emplace_back(id, score);
      sum += score;
    }
    out.clear();
    put(out, 0, 4);  // length, patched below
    put(out, count, 4);
    put(out, static_cast<std::uint64_t>(sum), 8);
    for (const auto &[id, score] : recs) {
      put(out, id, 4);
      put(out, sum > 0 ? static_cast<std::uint64_t>(std::int64_t{score} * 10000 / sum) : 0, 4);
    }
    finish_frame(out);
    write_full(fd.get(), out);
  }
}

/* ------------------------------------------------------------------------- */
/* The traced operation                                                      */
/* ------------------------------------------------------------------------- */

std::mutex gil;  // stands in for the GIL

const char *const kNames[] = {"ada", "grace", "linus", "barbara", "ken", "margaret",
                              "dennis", "frances", "edsger", "radia"};

/* The "interpreter objects": n lines of text, generated in memory. */
std::string make_input(std::size_t n, unsigned seed) {
  std::string text;
  text.reserve(n * 32);
  unsigned x = seed * 2654435761u + 1u;
  for (std::size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    text += std::to_string(i + 1) + ',' + kNames[(x >> 16) % 10] + '_' + std::to_string(i) + ',' +
            std::to_string((x >> 8) % 1000u) + '\n';
  }
  return text;
}

/* extract: parses the lines into records. */
std::vector<Record> parse_records(const std::string &text) {
  std::vector<Record> recs;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t eol = text.find('\n', pos);
    const std::size_t c1 = text.find(',', pos);
    const std::size_t c2 = text.find(',', c1 + 1);
    if (eol == std::string::npos || c1 >= eol || c2 >= eol) throw std::runtime_error("bad record");
    Record r;
    r.id = static_cast<std::uint32_t>(std::stoul(text.substr(pos, c1 - pos)));
    r.name = text.substr(c1 + 1, c2 - c1 - 1);
    r.score = static_cast<std::int32_t>(std::stol(text.substr(c2 + 1, eol - c2 - 1)));
    recs.push_back(std::move(r));
    pos = eol + 1;
  }
  return recs;
}

void encode_range(const std::vector<Record> &recs, std::size_t from, std::size_t to, Bytes &out) {
  for (std::size_t i = from; i < to; ++i) {
    put(out, recs[i].id, 4);
    put(out, static_cast<std::uint32_t>(recs[i].score), 4);
    put(out, recs[i].name.size(), 2);
    out.insert(out.end(), recs[i].name.begin(), recs[i].name.end());
  }
}

/* convert: encodes the records into one request frame with `workers` threads. */
Bytes encode_records(const std::vector<Record> &recs, unsigned workers) {
  std::vector<Bytes> parts(workers);
  std::vector<std::thread> threads;
  const std::size_t chunk = (recs.size() + workers - 1) / workers;
  for (unsigned w = 0; w < workers; ++w) {
    const std::size_t from = std::min(recs.size(), w * chunk);
    const std::size_t to = std::min(recs.size(), from + chunk);
    threads.emplace_back([&recs, &parts, w, from, to] { encode_range(recs, from, to, parts[w]); });
  }
  for (std::thread &t : threads) t.join();
  Bytes out;
  put(out, 0, 4);
  put(out, recs.size(), 4);
  for (const Bytes &p : parts) out.insert(out.end(), p.begin(), p.end());
  finish_frame(out);
  return out;
}

/* materialize: decodes the reply into results, checking the sum. */
std::vector<Result> decode_reply(const Bytes &reply, std::size_t n, std::int64_t expected_sum) {
  Reader r(reply);
  const std::uint64_t count = r.get(4);
  const auto sum = static_cast<std::int64_t>(r.get(8));
  if (count != n || sum != expected_sum) throw std::runtime_error("reply does not match request");
  std::vector<Result> res(n);
  for (Result &x : res) {
    x.id = static_cast<std::uint32_t>(r.get(4));
    x.share_bp = static_cast<std::uint32_t>(r.get(4));
    char pct[32];
    std::snprintf(pct, sizeof pct, "%u.%02u%%", x.share_bp / 100, x.share_bp % 100);
    x.text = "record " + std::to_string(x.id) + ": " + pct + " of " + std::to_string(sum);
  }
  return res;
}

/*
 * One traced insert_many of n records over connection `fd`. Returns the
 * operation's timing; the first result's text goes to *first. An exception
 * from the work marks the operation as failed (the Tracer sees it unwind).
 */
bt::Timing insert_many(bt::Op op, int fd, std::size_t n, unsigned seed, std::string *first) {
  const std::string text = make_input(n, seed);  // owned by the "interpreter", not traced

  bt::Tracer t(op);  // the clock starts here
  std::unique_lock<std::mutex> held(gil);  // we are the interpreter: hold the GIL

  std::vector<Record> recs;
  {
    auto phase = t.phase(bt::EXTRACT);
    recs = parse_records(text);
  }
  std::int64_t expected_sum = 0;
  for (const Record &r : recs) expected_sum += r.score;
  t.add_items(recs.size());

  held.unlock();  // Py_BEGIN_ALLOW_THREADS
  t.add_gil_release();

  Bytes request;
  {
    auto phase = t.phase(bt::CONVERT);
    const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    const unsigned workers = n >= 1000 ? std::min(4u, hw) : 1u;
    t.set_workers(workers);
    request = encode_records(recs, workers);
  }

  Bytes reply;
  {
    auto phase = t.phase(bt::NETWORK);
    write_full(fd, request);
    if (!read_frame(fd, reply)) throw std::runtime_error("server closed the connection");
  }

  const std::uint64_t wait_start = bt::clock_now_ns();  // Py_END_ALLOW_THREADS
  held.lock();
  t.add_gil_wait(bt::clock_now_ns() - wait_start);

  std::vector<Result> results;
  {
    auto phase = t.phase(bt::MATERIALIZE);
    results = decode_reply(reply, recs.size(), expected_sum);
  }
  if (!results.empty()) *first = results.front().text;
  return t.finish();  // records into the global metrics
}

int run() {
  std::printf("boundarytrace %s (built against %s), clock: %s\n", bt::version_string(),
              BT_VERSION_STRING, bt::clock_source());

  // A loopback server on an ephemeral port.
  Fd listener(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listener.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) sys_fail("bind");
  if (::listen(listener.get(), 1) != 0) sys_fail("listen");
  socklen_t len = sizeof addr;
  if (::getsockname(listener.get(), reinterpret_cast<sockaddr *>(&addr), &len) != 0)
    sys_fail("getsockname");

  std::exception_ptr server_error;
  std::thread server([&] {
    try {
      serve(listener.get());
    } catch (...) {
      server_error = std::current_exception();
    }
  });

  bt::Timing last;
  {
    Fd conn(::socket(AF_INET, SOCK_STREAM, 0));
    if (::connect(conn.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) {
      const int err = errno;
      ::shutdown(listener.get(), SHUT_RDWR);  // unblock the server's accept
      server.join();
      errno = err;
      sys_fail("connect");
    }
    set_nodelay(conn.get());
    std::printf("server listening on 127.0.0.1:%u\n\n", unsigned{ntohs(addr.sin_port)});

    // Bind the operation name once; tracers made from it skip the name lookup.
    const bt::Op op = bt::Metrics::global().op("insert_many");

    const std::size_t kSizes[] = {10, 100, 1000};
    const int kIterations = 5;
    try {
      for (std::size_t s = 0; s < 3; ++s) {
        std::string first;
        std::uint64_t total_ns = 0;
        for (int it = 0; it < kIterations; ++it) {
          last = insert_many(op, conn.get(), kSizes[s], static_cast<unsigned>(s * 100 + it), &first);
          total_ns += last.total_ns();
        }
        std::printf("batch of %4zu records x %d: mean %8.1f us/op   first result: %s\n", kSizes[s],
                    kIterations, static_cast<double>(total_ns) / kIterations / 1e3, first.c_str());
      }
    } catch (...) {
      conn.close();  // let the server see end of stream, then rethrow
      server.join();
      throw;
    }
    conn.close();  // the server sees end of stream and returns
  }
  server.join();
  if (server_error) std::rethrow_exception(server_error);

  std::printf("\n--- one operation (the last batch of %zu records) ---\n", std::size_t{1000});
  const std::string one = last.format();
  std::fputs(one.c_str(), stdout);
  if (!one.empty() && one.back() != '\n') std::putchar('\n');

  std::printf("\n--- global metrics ---\n");
  const std::string report = bt::Metrics::global().snapshot().format();
  std::fputs(report.c_str(), stdout);
  if (!report.empty() && report.back() != '\n') std::putchar('\n');
  return 0;
}

}  // namespace

int main() {
  try {
    return run();
  } catch (const bt::error &e) {
    std::fprintf(stderr, "bt_example_cpp: boundarytrace call failed: %s\n", e.what());
  } catch (const std::exception &e) {
    std::fprintf(stderr, "bt_example_cpp: %s\n", e.what());
  }
  return 1;
}
