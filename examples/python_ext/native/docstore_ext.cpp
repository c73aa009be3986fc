// docstore._docstore: a small document-store client, traced with boundarytrace.
//
// Client(host, port).insert_many(docs) and .find(filter) each run the four
// phases for real, traced with the GIL-aware guards of
// <boundarytrace/pybind11.hpp>:
//
//   extract      GIL held      read the Python dicts into a native Value tree
//   convert      GIL released  encode the Values to BSON with libbson; batches
//                              of >= 256 documents are split over worker threads
//   network      GIL released  send the BSON to docstore-server over loopback TCP,
//                              read its reply
//   materialize  GIL held      build the Python results (an int, or a list of
//                              dicts decoded from the reply's BSON)
//
// convert and network share one GIL release (ReleasedPhase::next), so each
// operation releases the GIL once and the time it waits to get it back is
// reported as GIL wait. Items are documents: those sent by insert_many, those
// returned by find.
//
// Thread-safety: a Client may be used from any number of Python threads at
// once. Each call takes a connection from a small pool (a std::mutex guards
// only the pool's vector, never held across I/O or Python calls) and opens a
// new one when none is idle. Nothing else is shared between calls, so the
// module declares that it does not need the GIL (py::mod_gil_not_used()):
// importing it on a free-threaded Python (3.13t) leaves the GIL off.
#include <boundarytrace/pybind11.hpp>

#include <bson/bson.h>

#include "wire.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace py = pybind11;
using bt::pybind::HeldPhase;
using bt::pybind::ReleasedPhase;

namespace {

/* ------------------------------------------------------------------------- */
/* The native form of a document                                             */
/* ------------------------------------------------------------------------- */

// One value of a document, read from Python in extract and encoded in convert
// without the GIL. A document is a DOC: keys[i] names items[i].
struct Value {
  enum Kind : std::uint8_t { NUL, BOOL, INT, DOUBLE, STR, BYTES, ARRAY, DOC } kind = NUL;
  bool b = false;
  std::int64_t i = 0;
  double d = 0;
  std::string s;                  // STR (UTF-8) and BYTES
  std::vector<std::string> keys;  // DOC
  std::vector<Value> items;       // ARRAY and DOC
};

constexpr int MAX_DEPTH = 100;

// extract: Python object -> Value. Needs the GIL. Throws TypeError (a type
// BSON cannot hold here) or ValueError (ints beyond 64 bits, too deep, NUL in a key).
void read_value(PyObject *o, Value &v, int depth);

void read_doc(PyObject *o, Value &v, int depth) {
  if (depth > MAX_DEPTH) throw py::value_error("docstore: documents nested too deeply");
  if (!PyDict_Check(o)) {
    throw py::type_error(std::string("docstore: a document must be a dict, not ") +
                         Py_TYPE(o)->tp_name);
  }
  v.kind = Value::DOC;
  Py_ssize_t n = PyDict_Size(o);
  v.keys.reserve(static_cast<std::size_t>(n));
  v.items.reserve(static_cast<std::size_t>(n));
  PyObject *key = nullptr, *val = nullptr;
  Py_ssize_t pos = 0;
  while (PyDict_Next(o, &pos, &key, &val)) {
    if (!PyUnicode_Check(key)) throw py::type_error("docstore: document keys must be str");
    Py_ssize_t len = 0;
    const char *k = PyUnicode_AsUTF8AndSize(key, &len);
    if (k == nullptr) throw py::error_already_set();
    if (std::memchr(k, '\0', static_cast<std::size_t>(len)) != nullptr)
      throw py::value_error("docstore: document keys must not contain NUL");
    v.keys.emplace_back(k, static_cast<std::size_t>(len));
    v.items.emplace_back();
    read_value(val, v.items.back(), depth + 1);
  }
}

void read_value(PyObject *o, Value &v, int depth) {
  if (o == Py_None) {
    v.kind = Value::NUL;
  } else if (PyBool_Check(o)) {
    v.kind = Value::BOOL;
    v.b = (o == Py_True);
  } else if (PyLong_Check(o)) {
    int overflow = 0;
    long long x = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow != 0) throw py::value_error("docstore: int does not fit in 64 bits");
    if (x == -1 && PyErr_Occurred()) throw py::error_already_set();
    v.kind = Value::INT;
    v.i = x;
  } else if (PyFloat_Check(o)) {
    v.kind = Value::DOUBLE;
    v.d = PyFloat_AS_DOUBLE(o);
  } else if (PyUnicode_Check(o)) {
    Py_ssize_t len = 0;
    const char *s = PyUnicode_AsUTF8AndSize(o, &len);
    if (s == nullptr) throw py::error_already_set();
    v.kind = Value::STR;
    v.s.assign(s, static_cast<std::size_t>(len));
  } else if (PyBytes_Check(o)) {
    v.kind = Value::BYTES;
    v.s.assign(PyBytes_AS_STRING(o), static_cast<std::size_t>(PyBytes_GET_SIZE(o)));
  } else if (PyDict_Check(o)) {
    read_doc(o, v, depth);
  } else if (PyList_Check(o) || PyTuple_Check(o)) {
    if (depth > MAX_DEPTH) throw py::value_error("docstore: documents nested too deeply");
    PyObject **items = PySequence_Fast_ITEMS(o);  // a list or tuple: no copy
    v.kind = Value::ARRAY;
    v.items.resize(static_cast<std::size_t>(PySequence_Fast_GET_SIZE(o)));
    for (std::size_t k = 0; k < v.items.size(); ++k) read_value(items[k], v.items[k], depth + 1);
  } else {
    throw py::type_error(std::string("docstore: cannot store a value of type ") +
                         Py_TYPE(o)->tp_name);
  }
}

/* ------------------------------------------------------------------------- */
/* convert: Value -> BSON (libbson), no Python                               */
/* ------------------------------------------------------------------------- */

void append_value(bson_t *b, const char *key, int key_len, const Value &v);

void append_fields(bson_t *b, const Value &doc) {
  for (std::size_t k = 0; k < doc.items.size(); ++k)
    append_value(b, doc.keys[k].data(), static_cast<int>(doc.keys[k].size()), doc.items[k]);
}

void append_value(bson_t *b, const char *key, int key_len, const Value &v) {
  bool ok = true;
  switch (v.kind) {
    case Value::NUL: ok = bson_append_null(b, key, key_len); break;
    case Value::BOOL: ok = bson_append_bool(b, key, key_len, v.b); break;
    case Value::INT:
      ok = (v.i >= INT32_MIN && v.i <= INT32_MAX)
               ? bson_append_int32(b, key, key_len, static_cast<std::int32_t>(v.i))
               : bson_append_int64(b, key, key_len, v.i);
      break;
    case Value::DOUBLE: ok = bson_append_double(b, key, key_len, v.d); break;
    case Value::STR:
      ok = bson_append_utf8(b, key, key_len, v.s.data(), static_cast<int>(v.s.size()));
      break;
    case Value::BYTES:
      ok = bson_append_binary(b, key, key_len, BSON_SUBTYPE_BINARY,
                              reinterpret_cast<const std::uint8_t *>(v.s.data()),
                              static_cast<std::uint32_t>(v.s.size()));
      break;
    case Value::DOC: {
      bson_t child;
      ok = bson_append_document_begin(b, key, key_len, &child);
      if (ok) {
        append_fields(&child, v);
        ok = bson_append_document_end(b, &child);
      }
      break;
    }
    case Value::ARRAY: {
      bson_t child;
      ok = bson_append_array_begin(b, key, key_len, &child);
      if (ok) {
        char buf[16];
        for (std::size_t k = 0; k < v.items.size(); ++k) {
          const char *ikey = nullptr;
          std::size_t n = bson_uint32_to_string(static_cast<std::uint32_t>(k), &ikey, buf, sizeof buf);
          append_value(&child, ikey, static_cast<int>(n), v.items[k]);
        }
        ok = bson_append_array_end(b, &child);
      }
      break;
    }
  }
  if (!ok) throw std::length_error("docstore: document too large for BSON");
}

// Encodes docs[begin, end) back to back into `out`.
void encode_range(const Value *docs, std::size_t begin, std::size_t end, std::string &out) {
  bson_t b;
  bson_init(&b);
  try {
    for (std::size_t k = begin; k < end; ++k) {
      bson_reinit(&b);
      append_fields(&b, docs[k]);
      out.append(reinterpret_cast<const char *>(bson_get_data(&b)), b.len);
    }
  } catch (...) {
    bson_destroy(&b);
    throw;
  }
  bson_destroy(&b);
}

// Batches of at least this many documents are encoded in parallel.
constexpr std::size_t PARALLEL_MIN_DOCS = 256;
constexpr unsigned MAX_WORKERS = 4;

// Encodes every document, splitting large batches over worker threads (the
// calling thread is one of them). Returns one buffer per worker, in order.
std::vector<std::string> encode_all(const std::vector<Value> &docs) {
  unsigned workers = 1;
  if (docs.size() >= PARALLEL_MIN_DOCS) {
    unsigned hw = std::max(2u, std::thread::hardware_concurrency());
    workers = std::min<unsigned>({MAX_WORKERS, hw, static_cast<unsigned>(docs.size() / 128)});
  }
  std::vector<std::string> parts(workers);
  std::vector<std::exception_ptr> errors(workers);
  std::vector<std::thread> threads;
  std::size_t per = (docs.size() + workers - 1) / workers;
  for (unsigned w = 0; w < workers; ++w) {
    std::size_t begin = std::min(docs.size(), w * per), end = std::min(docs.size(), begin + per);
    auto job = [&, w, begin, end] {
      try {
        encode_range(docs.data(), begin, end, parts[w]);
      } catch (...) {
        errors[w] = std::current_exception();
      }
    };
    if (w + 1 == workers) job();  // the caller encodes the last slice itself
    else threads.emplace_back(job);
  }
  for (std::thread &t : threads) t.join();
  for (std::exception_ptr &e : errors)
    if (e) std::rethrow_exception(e);
  return parts;
}

/* ------------------------------------------------------------------------- */
/* materialize: BSON -> Python, GIL held                                     */
/* ------------------------------------------------------------------------- */

py::object to_python(bson_iter_t *it);

py::dict doc_to_python(bson_iter_t *it) {
  py::dict d;
  while (bson_iter_next(it)) {
    std::uint32_t klen = bson_iter_key_len(it);
    py::object key = py::reinterpret_steal<py::object>(
        PyUnicode_DecodeUTF8(bson_iter_key(it), klen, "strict"));
    if (!key) throw py::error_already_set();
    if (PyDict_SetItem(d.ptr(), key.ptr(), to_python(it).ptr()) != 0) throw py::error_already_set();
  }
  return d;
}

py::object to_python(bson_iter_t *it) {
  switch (bson_iter_type(it)) {
    case BSON_TYPE_NULL: return py::none();
    case BSON_TYPE_BOOL: return py::bool_(bson_iter_bool(it));
    case BSON_TYPE_INT32: return py::int_(bson_iter_int32(it));
    case BSON_TYPE_INT64: return py::int_(static_cast<long long>(bson_iter_int64(it)));
    case BSON_TYPE_DOUBLE: return py::float_(bson_iter_double(it));
    case BSON_TYPE_UTF8: {
      std::uint32_t len = 0;
      const char *s = bson_iter_utf8(it, &len);
      py::object o = py::reinterpret_steal<py::object>(PyUnicode_DecodeUTF8(s, len, "strict"));
      if (!o) throw py::error_already_set();
      return o;
    }
    case BSON_TYPE_BINARY: {
      bson_subtype_t sub;
      std::uint32_t len = 0;
      const std::uint8_t *data = nullptr;
      bson_iter_binary(it, &sub, &len, &data);
      return py::bytes(reinterpret_cast<const char *>(data), len);
    }
    case BSON_TYPE_DOCUMENT: {
      bson_iter_t child;
      if (!bson_iter_recurse(it, &child)) throw std::runtime_error("docstore: bad BSON document");
      return doc_to_python(&child);
    }
    case BSON_TYPE_ARRAY: {
      bson_iter_t child;
      if (!bson_iter_recurse(it, &child)) throw std::runtime_error("docstore: bad BSON array");
      py::list l;
      while (bson_iter_next(&child)) l.append(to_python(&child));
      return l;
    }
    default:
      throw std::runtime_error("docstore: unsupported BSON type in reply");
  }
}

/* ------------------------------------------------------------------------- */
/* The client                                                                */
/* ------------------------------------------------------------------------- */

// Bound once at import: the hot path neither hashes nor copies the names.
bt_op *g_insert_op = nullptr;
bt_op *g_find_op = nullptr;

class Client {
 public:
  Client(std::string host, int port) : host_(std::move(host)), port_(port) {
    if (port <= 0 || port > 65535) throw py::value_error("docstore: port out of range");
  }
  ~Client() {
    for (int fd : idle_) ::close(fd);
  }
  Client(const Client &) = delete;
  Client &operator=(const Client &) = delete;

  const std::string &host() const { return host_; }
  int port() const { return port_; }

  // Inserts the documents; returns how many the server stored.
  std::uint64_t insert_many(py::handle docs) {
    bt::Tracer t{bt::Op(g_insert_op)};
    std::vector<Value> native;
    {
      HeldPhase p(t, bt::EXTRACT);
      if (!PyList_Check(docs.ptr()) && !PyTuple_Check(docs.ptr()))
        throw py::type_error("docstore: insert_many takes a list of dicts");
      // Borrowed items are safe: reading runs no Python code that could mutate the list.
      PyObject **items = PySequence_Fast_ITEMS(docs.ptr());
      native.resize(static_cast<std::size_t>(PySequence_Fast_GET_SIZE(docs.ptr())));
      for (std::size_t k = 0; k < native.size(); ++k) read_doc(items[k], native[k], 0);
    }
    t.add_items(native.size());
    std::string reply;
    {
      ReleasedPhase p(t, bt::CONVERT);
      std::vector<std::string> parts = encode_all(native);
      t.set_workers(static_cast<std::uint32_t>(parts.size()));
      p.next(bt::NETWORK);
      std::vector<iovec> iov;
      for (std::string &s : parts) iov.push_back({&s[0], s.size()});
      reply = round_trip(docstore::wire::INSERT, iov);
    }
    HeldPhase p(t, bt::MATERIALIZE);
    if (reply.size() != 8) throw std::runtime_error("docstore: bad INSERT reply");
    return docstore::wire::get_u64(reinterpret_cast<const unsigned char *>(reply.data()));
  }

  // Returns the documents whose top-level fields equal every field of `filter`.
  py::list find(py::handle filter) {
    bt::Tracer t{bt::Op(g_find_op)};
    Value native;
    {
      HeldPhase p(t, bt::EXTRACT);
      read_doc(filter.ptr(), native, 0);
    }
    std::string reply;
    {
      ReleasedPhase p(t, bt::CONVERT);
      std::string bson;
      encode_range(&native, 0, 1, bson);
      p.next(bt::NETWORK);
      reply = round_trip(docstore::wire::FIND, {{&bson[0], bson.size()}});
    }
    HeldPhase p(t, bt::MATERIALIZE);
    py::list out;
    const auto *data = reinterpret_cast<const std::uint8_t *>(reply.data());
    std::size_t off = 0;
    while (off < reply.size()) {
      std::uint32_t len = reply.size() - off >= 4 ? docstore::wire::get_u32(data + off) : 0;
      bson_t doc;
      bson_iter_t it;
      if (len < 5 || len > reply.size() - off || !bson_init_static(&doc, data + off, len) ||
          !bson_iter_init(&it, &doc))
        throw std::runtime_error("docstore: bad BSON in FIND reply");
      out.append(doc_to_python(&it));
      off += len;
    }
    t.add_items(py::len(out));
    return out;
  }

 private:
  // Sends one request and returns the OK reply's payload. No Python (runs
  // without the GIL). A connection that failed is closed, not pooled.
  std::string round_trip(std::uint8_t op, const std::vector<iovec> &payload) {
    int fd = take_connection();
    std::string reply;
    std::uint8_t status = 0;
    try {
      docstore::wire::send_frame(fd, op, payload);
      if (!docstore::wire::recv_frame(fd, status, reply))
        throw std::runtime_error("docstore: server closed the connection");
    } catch (...) {
      ::close(fd);
      throw;
    }
    give_back(fd);
    if (status != docstore::wire::REPLY_OK) throw std::runtime_error("docstore server: " + reply);
    return reply;
  }

  int take_connection() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        int fd = idle_.back();
        idle_.pop_back();
        return fd;
      }
    }
    return connect_new();
  }

  void give_back(int fd) {
    std::lock_guard<std::mutex> lock(mu_);
    idle_.push_back(fd);
  }

  int connect_new() const {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo *res = nullptr;
    std::string port = std::to_string(port_);
    int rc = ::getaddrinfo(host_.c_str(), port.c_str(), &hints, &res);
    if (rc != 0) throw std::runtime_error(std::string("docstore: ") + gai_strerror(rc));
    int fd = -1;
    int err = 0;
    for (addrinfo *a = res; a != nullptr; a = a->ai_next) {
      fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) {
        err = errno;
        continue;
      }
      if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
      err = errno;
      ::close(fd);
      fd = -1;
    }
    ::freeaddrinfo(res);
    if (fd < 0) {
      errno = err;
      docstore::wire::throw_errno("docstore: connect");
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
  }

  std::string host_;
  int port_;
  std::mutex mu_;
  std::vector<int> idle_;
};

/*
 * What tracing costs one operation: the bt_* calls insert_many makes (a
 * tracer from a bound op, four phases with the guards' GIL-state checks, the
 * release count, two clock reads and the wait, items, workers, finish, free),
 * without the GIL switches themselves or any work, into a private sink so
 * the global report is untouched. Returns the mean in nanoseconds.
 */
double tracing_cost_ns(int iterations) {
  if (iterations <= 0) throw py::value_error("iterations must be positive");
  bt::Metrics sink;
  bt_op *op = sink.op("insert_many").get();
  auto one = [op] {
    bt_tracer *t = nullptr;
    int held = 0;
    bt::check(bt_tracer_new_op(&t, op), "bt_tracer_new_op");
    (void)bt_phase_get_info(nullptr, &held, bt::EXTRACT);
    (void)bt_phase_begin(t, bt::EXTRACT);
    (void)bt_phase_end(t, bt::EXTRACT);
    (void)bt_tracer_add_items(t, 100);
    (void)bt_phase_get_info(nullptr, &held, bt::CONVERT);
    (void)bt_phase_begin(t, bt::CONVERT);
    (void)bt_tracer_add_gil_release(t);
    (void)bt_tracer_set_workers(t, 1);
    (void)bt_phase_get_info(nullptr, &held, bt::NETWORK);
    (void)bt_phase_end(t, bt::CONVERT);
    (void)bt_phase_begin(t, bt::NETWORK);
    (void)bt_phase_end(t, bt::NETWORK);
    std::uint64_t t0 = bt_clock_now_ns();
    std::uint64_t t1 = bt_clock_now_ns();
    (void)bt_tracer_add_gil_wait(t, t1 - t0);
    (void)bt_phase_get_info(nullptr, &held, bt::MATERIALIZE);
    (void)bt_phase_begin(t, bt::MATERIALIZE);
    (void)bt_phase_end(t, bt::MATERIALIZE);
    (void)bt_tracer_finish(t);
    bt_tracer_free(t);
  };
  py::gil_scoped_release nogil;
  for (int k = 0; k < 1000; ++k) one();  // warm up
  std::uint64_t start = bt_clock_now_ns();
  for (int k = 0; k < iterations; ++k) one();
  return double(bt_clock_now_ns() - start) / iterations;
}

}  // namespace

PYBIND11_MODULE(_docstore, m, py::mod_gil_not_used()) {
  m.doc() = "A small document-store client traced with boundarytrace (see docstore.Client).";
  bt::Metrics global = bt::Metrics::global();
  g_insert_op = global.op("insert_many").get();
  g_find_op = global.op("find").get();

  py::class_<Client>(m, "Client",
                     "Client(host, port): a connection (pool) to a docstore server.\n\n"
                     "Safe to share between Python threads.")
      .def(py::init<std::string, int>(), py::arg("host"), py::arg("port"))
      .def_property_readonly("host", &Client::host)
      .def_property_readonly("port", &Client::port)
      .def("insert_many", &Client::insert_many, py::arg("documents"),
           "insert_many(documents: list[dict]) -> int\n\n"
           "Stores the documents; returns how many the server stored. Traced as\n"
           "'insert_many' (items = documents sent).")
      .def("find", &Client::find, py::arg("filter"),
           "find(filter: dict) -> list[dict]\n\n"
           "Documents whose top-level fields equal every field of `filter` ({} matches\n"
           "all). Traced as 'find' (items = documents returned).");
  m.def("tracing_cost_ns", &tracing_cost_ns, py::arg("iterations") = 100000,
        "Mean cost in ns of the boundarytrace calls one insert_many makes\n"
        "(measured into a private sink; the GIL switches themselves excluded).");
}
