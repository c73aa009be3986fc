// bt_helper_ext: a test module for boundarytrace/pybind11.hpp.
//
// Each function traces one operation with the helper guards and returns the
// operation's timing as a dict (bt_tracer_finish's copy), so the tests can
// look at one operation at a time; the same records also land in the global
// metrics, which the tests read through boundarytrace.snapshot().
#include <boundarytrace/pybind11.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

namespace py = pybind11;
using bt::pybind::GilRelease;
using bt::pybind::HeldPhase;
using bt::pybind::ReleasedPhase;

namespace {

std::atomic<int> g_inside{0};  // a released phase of wait_for_flag is running
std::atomic<int> g_flag{0};    // set by another Python thread through set_flag()
// Bumped by Python threads through tick(): a call that needs the GIL, so its
// progress during a phase proves (or disproves) that the GIL was released.
std::atomic<std::uint64_t> g_ticks{0};

void sleep_for(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

py::dict timing_dict(const bt::Timing &t) {
  py::dict d;
  d["op_name"] = t.op_name() != nullptr ? py::str(t.op_name()) : py::str("");
  d["total_ns"] = t.total_ns();
  d["unattributed_ns"] = t.unattributed_ns();
  d["gil_held_ns"] = t.gil_held_ns();
  d["gil_released_ns"] = t.gil_released_ns();
  d["gil_wait_ns"] = t.gil_wait_ns();
  d["gil_releases"] = t.gil_releases();
  d["items"] = t.items();
  d["flags"] = t.flags();
  py::list phases, entries;
  for (bt_phase_id id = 0; id < 4; ++id) {
    phases.append(t.phase_ns(id));
    entries.append(t.phase_entries(id));
  }
  d["phase_ns"] = phases;
  d["phase_entries"] = entries;
  return d;
}

// extract (held) -> network (released, sleeping) -> materialize (held).
// "ticks": tick() calls other threads made during the sleep.
py::dict released_sleep(const std::string &op, double seconds) {
  bt::Tracer t(op.c_str());
  std::uint64_t ticks = 0;
  { HeldPhase p(t, bt::EXTRACT); }
  {
    ReleasedPhase p(t, bt::NETWORK);
    std::uint64_t start = g_ticks.load();
    sleep_for(seconds);
    ticks = g_ticks.load() - start;
  }
  { HeldPhase p(t, bt::MATERIALIZE); }
  py::dict d = timing_dict(t.finish());
  d["ticks"] = ticks;
  return d;
}

// Sleeps in a GIL-held phase: the control case, no other Python thread runs.
py::dict held_sleep(const std::string &op, double seconds) {
  bt::Tracer t(op.c_str());
  std::uint64_t ticks = 0;
  {
    HeldPhase p(t, bt::EXTRACT);
    std::uint64_t start = g_ticks.load();
    sleep_for(seconds);
    ticks = g_ticks.load() - start;
  }
  py::dict d = timing_dict(t.finish());
  d["ticks"] = ticks;
  return d;
}

// A released phase that lasts until another Python thread has called tick()
// (so that thread holds the GIL when this one asks for it back), or until
// `timeout` seconds. With a busy thread, the reacquire must then wait for it.
py::dict released_until_tick(const std::string &op, double timeout) {
  bt::Tracer t(op.c_str());
  std::uint64_t ticks = 0;
  {
    ReleasedPhase p(t, bt::NETWORK);
    std::uint64_t start = g_ticks.load();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
    while ((ticks = g_ticks.load() - start) == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  py::dict d = timing_dict(t.finish());
  d["ticks"] = ticks;
  return d;
}

// convert then network under one release (ReleasedPhase::next).
py::dict convert_then_network(const std::string &op, double seconds) {
  bt::Tracer t(op.c_str());
  {
    ReleasedPhase p(t, bt::CONVERT);
    sleep_for(seconds);
    p.next(bt::NETWORK);
    sleep_for(seconds);
  }
  return timing_dict(t.finish());
}

// GilRelease around two plain phase scopes.
py::dict gil_release_scope(const std::string &op, double seconds) {
  bt::Tracer t(op.c_str());
  {
    GilRelease g(t);
    { auto p = t.phase(bt::CONVERT); sleep_for(seconds); }
    { auto p = t.phase(bt::NETWORK); sleep_for(seconds); }
  }
  return timing_dict(t.finish());
}

// Inside a phase guarded by Guard, waits (up to `timeout` s) for another
// Python thread to call set_flag(). That thread can only do so if the GIL is
// really released: ReleasedPhase must see the flag, HeldPhase (the control)
// must not.
template <typename Guard>
py::dict wait_for_flag_in(const std::string &op, bt_phase_id phase, double timeout) {
  bt::Tracer t(op.c_str());
  bool seen = false;
  {
    Guard p(t, phase);
    g_flag.store(0);
    g_inside.store(1);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
    while (std::chrono::steady_clock::now() < deadline) {
      if (g_flag.load() != 0) {
        seen = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    g_inside.store(0);
  }
  py::dict d = timing_dict(t.finish());
  d["flag_seen"] = seen;
  return d;
}

py::dict wait_for_flag(const std::string &op, double timeout) {
  return wait_for_flag_in<ReleasedPhase>(op, bt::NETWORK, timeout);
}

py::dict wait_for_flag_held(const std::string &op, double timeout) {
  return wait_for_flag_in<HeldPhase>(op, bt::EXTRACT, timeout);
}

// Records `n` operations of `items` items each through the plain C API
// (bt_tracer_new into the global metrics, guards taking a bt_tracer*).
void record_c_api(const std::string &op, std::uint64_t items, int n) {
  for (int i = 0; i < n; ++i) {
    bt_tracer *t = nullptr;
    bt::check(bt_tracer_new(&t, nullptr, op.c_str()), "bt_tracer_new");
    {
      HeldPhase p(t, bt::EXTRACT);
    }
    {
      ReleasedPhase p(t, bt::CONVERT);
      (void)bt_tracer_set_workers(t, 2);
    }
    (void)bt_tracer_add_items(t, items);
    bt_status st = bt_tracer_finish(t);
    bt_tracer_free(t);
    bt::check(st, "bt_tracer_finish");
  }
}

// A released guard around a GIL-held phase: must throw before releasing.
void released_on_held_phase() {
  bt::Tracer t("helper_ext.misuse");
  ReleasedPhase p(t, bt::EXTRACT);
}

// A held guard around a GIL-released phase: must throw.
void held_on_released_phase() {
  bt::Tracer t("helper_ext.misuse");
  HeldPhase p(t, bt::NETWORK);
}

// Throws from inside a released phase: the guard reacquires the GIL while
// unwinding, so pybind11 can raise the Python exception.
void throw_while_released(const std::string &op) {
  bt::Tracer t(op.c_str());
  ReleasedPhase p(t, bt::NETWORK);
  throw std::runtime_error("boom while released");
}

}  // namespace

PYBIND11_MODULE(bt_helper_ext, m, py::mod_gil_not_used()) {
  m.doc() = "test module for boundarytrace/pybind11.hpp";
  m.def("released_sleep", &released_sleep, py::arg("op"), py::arg("seconds"));
  m.def("held_sleep", &held_sleep, py::arg("op"), py::arg("seconds"));
  m.def("convert_then_network", &convert_then_network, py::arg("op"), py::arg("seconds"));
  m.def("gil_release_scope", &gil_release_scope, py::arg("op"), py::arg("seconds"));
  m.def("wait_for_flag", &wait_for_flag, py::arg("op"), py::arg("timeout"));
  m.def("wait_for_flag_held", &wait_for_flag_held, py::arg("op"), py::arg("timeout"));
  m.def("inside", [] { return g_inside.load() != 0; });
  m.def("set_flag", [] { g_flag.store(1); });
  m.def("tick", [] { g_ticks.fetch_add(1); });
  m.def("released_until_tick", &released_until_tick, py::arg("op"), py::arg("timeout"));
  m.def("record_c_api", &record_c_api, py::arg("op"), py::arg("items"), py::arg("n"));
  m.def("released_on_held_phase", &released_on_held_phase);
  m.def("held_on_released_phase", &held_on_released_phase);
  m.def("throw_while_released", &throw_while_released, py::arg("op"));
  m.attr("clock_source") = py::str(bt_clock_source());
  m.attr("FLAG_ERROR") = BT_TIMING_ERROR;
}
