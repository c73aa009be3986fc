// bt_nanobind_ext: a nanobind module traced with boundarytrace/nanobind.hpp;
// built on the fly by the nanobind_ext fixture of tests/python/conftest.py
// (CMake + nanobind_add_module, against the installed package's headers and
// library), never by the main build; tested by
// tests/python/test_capi_cython_helpers.py with the same checks as the C API
// and Cython extensions (it offers the same functions), plus its own.
//
// Each function traces one operation and returns its timing as a dict
// (bt::Tracer::finish's copy); the records land in the process-wide sink too,
// which the tests read through boundarytrace.snapshot().
#include <boundarytrace/nanobind.hpp>

#include <nanobind/stl/string.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace nb = nanobind;
using bt::nano::GilRelease;
using bt::nano::HeldPhase;
using bt::nano::ReleasedPhase;

namespace {

// Bumped by Python threads through tick(): a call that needs the GIL, so its
// progress during a released phase proves the GIL was released.
std::atomic<std::uint64_t> g_ticks{0};

std::uint64_t add_bytes(const unsigned char *p, std::size_t n) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += p[i];
  return sum;
}

// The timing as a dict, with the keys of the C API extension's. finish()
// throws bt::error on failure, so a returned timing had finish status BT_OK.
nb::dict timing_dict(const bt::Timing &t) {
  nb::dict d;
  nb::list ns, entries;
  for (bt_phase_id id = 0; id < 4; ++id) {
    ns.append(t.phase_ns(id));
    entries.append(t.phase_entries(id));
  }
  d["phase_ns"] = ns;
  d["phase_entries"] = entries;
  d["total_ns"] = t.total_ns();
  d["unattributed_ns"] = t.unattributed_ns();
  d["gil_held_ns"] = t.gil_held_ns();
  d["gil_released_ns"] = t.gil_released_ns();
  d["gil_wait_ns"] = t.gil_wait_ns();
  d["gil_releases"] = t.gil_releases();
  d["items"] = t.items();
  d["flags"] = t.flags();
  d["finish_status"] = static_cast<int>(BT_OK);
  return d;
}

// sum_bytes(op, data, chunks) -> dict: the sum of the bytes of `data`, read
// in a GIL-held extract phase, summed in `chunks` GIL-released convert phases
// (one ReleasedPhase, so one release, each), the result built in a GIL-held
// materialize phase. Keys of the timing, plus "sum".
nb::dict sum_bytes(const std::string &op, nb::bytes data, long chunks) {
  if (chunks < 1) throw nb::value_error("chunks must be at least 1");
  bt::Tracer t(op.c_str());
  const unsigned char *p = nullptr;
  std::size_t n = 0;
  {
    HeldPhase h(t, bt::EXTRACT);
    p = static_cast<const unsigned char *>(static_cast<const void *>(data.c_str()));
    n = data.size();
  }
  std::size_t step = (n + static_cast<std::size_t>(chunks) - 1) / static_cast<std::size_t>(chunks);
  std::uint64_t sum = 0;
  for (long i = 0; i < chunks; ++i) {
    std::size_t from = std::min(n, static_cast<std::size_t>(i) * step);
    std::size_t to = std::min(n, from + step);
    ReleasedPhase r(t, bt::CONVERT);  // `data` stays alive: the caller holds a reference
    sum += add_bytes(p + from, to - from);
  }
  nb::object result;
  {
    HeldPhase h(t, bt::MATERIALIZE);
    result = nb::int_(sum);
  }
  t.add_items(n);
  nb::dict d = timing_dict(t.finish());
  d["sum"] = result;
  return d;
}

// convert_then_network(op, data) -> dict: convert (sum) then network (an
// empty stretch) under one release: ReleasedPhase::next.
nb::dict convert_then_network(const std::string &op, nb::bytes data) {
  bt::Tracer t(op.c_str());
  const unsigned char *p = static_cast<const unsigned char *>(static_cast<const void *>(data.c_str()));
  std::size_t n = data.size();
  std::uint64_t sum = 0;
  {
    ReleasedPhase r(t, bt::CONVERT);
    sum = add_bytes(p, n);
    r.next(bt::NETWORK);
  }
  nb::dict d = timing_dict(t.finish());
  d["sum"] = sum;
  d["status"] = "BT_OK";  // the guards throw otherwise
  return d;
}

// released_until_tick(op, timeout_s) -> dict: a released convert phase that
// lasts until another Python thread has called tick() (it can only while the
// GIL is released), or the timeout. That thread then holds the GIL when this
// one asks for it back: the wait is real. Keys of the timing, plus "ticks" and
// "status". (No "wait_ns": the guard keeps its measurement to the tracer.)
nb::dict released_until_tick(const std::string &op, double timeout) {
  bt::Tracer t(op.c_str());
  std::uint64_t ticks = 0;
  {
    ReleasedPhase r(t, bt::CONVERT);
    std::uint64_t start = g_ticks.load();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
    while (g_ticks.load() == start && std::chrono::steady_clock::now() < deadline) {
    }
    ticks = g_ticks.load() - start;
  }
  nb::dict d = timing_dict(t.finish());
  d["ticks"] = ticks;
  d["status"] = "BT_OK";
  return d;
}

// The status' name of the bt::error that `f` throws, "no error" otherwise.
template <class F>
std::string status_of(F &&f) {
  try {
    f();
  } catch (const bt::error &e) {
    return e.name();
  }
  return "no error";
}

// misuse(data) -> dict of statuses and sums: the guards on bad tracers. A
// guard that cannot begin its phase throws before touching the GIL; the work
// is then done under GilRelease, which never throws, always releases and
// counts the release when the tracer can still record.
//   null_*: a NULL tracer; finished_*: a tracer already finished
//   (operation "bt_nanobind_ext.finished"); conflict_*: phases of the wrong
//   GIL state on a live tracer (operation "bt_nanobind_ext.conflict").
nb::dict misuse(nb::bytes data) {
  const unsigned char *p = static_cast<const unsigned char *>(static_cast<const void *>(data.c_str()));
  std::size_t n = data.size();
  nb::dict d;
  std::uint64_t sum = 0;

  // A NULL tracer.
  d["null_begin"] = status_of([&] { ReleasedPhase r(nullptr, bt::CONVERT); });
  d["null_held_begin"] = status_of([&] { HeldPhase h(nullptr, bt::EXTRACT); });
  {
    GilRelease g(nullptr);
    sum = add_bytes(p, n);
  }
  d["null_sum"] = sum;

  // A finished tracer.
  {
    bt::Tracer t("bt_nanobind_ext.finished");
    (void)t.finish();
    d["finished_begin"] = status_of([&] { ReleasedPhase r(t, bt::CONVERT); });
    GilRelease g(t);
    sum = add_bytes(p, n);
  }
  d["finished_sum"] = sum;

  // Phases of the wrong GIL state: refused, nothing opened.
  {
    bt::Tracer t("bt_nanobind_ext.conflict");
    d["conflict_released"] = status_of([&] { ReleasedPhase r(t, bt::EXTRACT); });
    {
      GilRelease g(t);
      sum = add_bytes(p, n);
    }
    d["conflict_held"] = status_of([&] { HeldPhase h(t, bt::CONVERT); });
    (void)t.finish();
  }
  d["conflict_sum"] = sum;
  return d;
}

// throw_while_released(op): a std::runtime_error thrown inside a released
// phase. The guard reacquires the GIL during unwinding, bt::Tracer marks the
// operation failed, nanobind raises RuntimeError.
void throw_while_released(const std::string &op) {
  bt::Tracer t(op.c_str());
  ReleasedPhase r(t, bt::NETWORK);
  throw std::runtime_error("boom while released");
}

// wrong_phase(which): a guard around a phase of the other GIL state, which
// throws bt::error (BT_E_CONFLICT): nanobind raises RuntimeError.
void wrong_phase(const std::string &which) {
  bt::Tracer t("bt_nanobind_ext.wrong_phase");
  if (which == "released") {
    ReleasedPhase r(t, bt::EXTRACT);
  } else {
    HeldPhase h(t, bt::NETWORK);
  }
}

}  // namespace

NB_MODULE(bt_nanobind_ext, m) {
  m.doc() = "boundarytrace/nanobind.hpp under test";
  m.def("sum_bytes", &sum_bytes, nb::arg("op"), nb::arg("data"), nb::arg("chunks"));
  m.def("convert_then_network", &convert_then_network, nb::arg("op"), nb::arg("data"));
  m.def("released_until_tick", &released_until_tick, nb::arg("op"), nb::arg("timeout"));
  m.def("tick", [] { g_ticks.fetch_add(1); }, "one call that needs the GIL");
  m.def("misuse", &misuse, nb::arg("data"));
  m.def("throw_while_released", &throw_while_released, nb::arg("op"));
  m.def("wrong_phase", &wrong_phase, nb::arg("which"));
  m.def("version", [] {
    return nb::make_tuple(bt_version(), BT_VERSION_NUMBER, bt_version_string());
  }, "(bt_version(), BT_VERSION_NUMBER, bt_version_string()): the library loaded "
     "and the header compiled against");
}
