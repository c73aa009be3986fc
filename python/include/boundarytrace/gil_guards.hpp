/*
 * boundarytrace — the framework-neutral part of the C++ GIL guards.
 *
 * Not for direct use: include <boundarytrace/pybind11.hpp> (pybind11) or
 * <boundarytrace/nanobind.hpp> (nanobind). They name these guards
 * bt::pybind::{GilRelease, ReleasedPhase, HeldPhase} and
 * bt::nano::{GilRelease, ReleasedPhase, HeldPhase} and document them; this
 * header holds the one implementation both use, so that the two frameworks
 * record exactly the same thing. It needs only the CPython C API (Python.h)
 * and the public boundarytrace headers (bt.h, bt.hpp): what pybind11's and
 * nanobind's gil_scoped_release do is PyEval_SaveThread/PyEval_RestoreThread,
 * and the guards do the same, timing the restore.
 *
 * What "GIL wait" means. A released guard records, per release:
 *   1. bt_phase_begin, then bt_tracer_add_gil_release (one release counted),
 *      then PyEval_SaveThread (the GIL is released);
 *   2. on leaving: bt_phase_end while the GIL is still released, then
 *      PyEval_RestoreThread timed with bt_clock_now_ns, and the time it took
 *      is added with bt_tracer_add_gil_wait.
 * So the released phase's time is the native work only, and the time spent
 * blocked on getting the GIL back is reported as GIL wait and falls outside
 * every phase: it is part of the operation's `unattributed` time (boundary
 * overhead), never double-counted in a phase. For a tracer driven only by
 * these guards, gil_wait_ns <= unattributed_ns. (boundarytrace/python.h, the
 * CPython C API helpers, records the same sequence.)
 *
 * Names: each template takes a `Names` policy, a struct with three static
 * functions returning the context string of the BT_E_CONFLICT error the
 * guards throw (released_conflict(), next_conflict(), held_conflict()), so a
 * message names the class the user wrote (bt::pybind::ReleasedPhase ...).
 */
#ifndef BOUNDARYTRACE_GIL_GUARDS_HPP
#define BOUNDARYTRACE_GIL_GUARDS_HPP

#include <Python.h>  // first, as CPython requires (a no-op after the framework's header)

#include <boundarytrace/bt.h>
#include <boundarytrace/bt.hpp>

#include <cassert>
#include <cstdint>

namespace bt {
namespace python_detail {

/*
 * Throws bt::error(BT_E_CONFLICT, context) unless phase `id` is registered
 * with the GIL state `want_held`; bt::error(BT_E_UNKNOWN_PHASE) for an
 * unknown id. One table read through the C API; catches a released guard put
 * around a GIL-held phase (its time would be reported under the wrong GIL
 * state). With BT_DISABLE_TRACING the table is empty, so nothing is checked.
 * Thread-safe; needs no GIL.
 */
inline void check_phase_gil(bt_phase_id id, bool want_held, const char *context) {
#ifndef BT_DISABLE_TRACING
  int held = 0;
  check(bt_phase_get_info(nullptr, &held, id), "bt_phase_get_info");
  if ((held != 0) != want_held) throw error(BT_E_CONFLICT, context);
#else
  (void)id;
  (void)want_held;
  (void)context;
#endif
}

/*
 * Takes the GIL back (attaches `state` again) and adds the time that took to
 * the tracer's GIL wait. Never throws; a NULL or finished tracer records
 * nothing but the GIL is still reacquired.
 */
inline void reacquire(bt_tracer *t, PyThreadState *state) noexcept {
  std::uint64_t t0 = bt_clock_now_ns();
  PyEval_RestoreThread(state);
  std::uint64_t t1 = bt_clock_now_ns();
  (void)bt_tracer_add_gil_wait(t, t1 > t0 ? t1 - t0 : 0);
}

/* A release without a phase; see GilRelease in pybind11.hpp / nanobind.hpp. */
template <class Names>
class GilRelease {
 public:
  explicit GilRelease(bt_tracer *tracer) noexcept : t_(tracer) {
    assert(PyGILState_Check() && "boundarytrace GilRelease needs the GIL held");
    (void)bt_tracer_add_gil_release(t_);
    state_ = PyEval_SaveThread();
  }
  explicit GilRelease(Tracer &tracer) noexcept : GilRelease(tracer.get()) {}

  ~GilRelease() { reacquire(t_, state_); }

  GilRelease(const GilRelease &) = delete;
  GilRelease &operator=(const GilRelease &) = delete;
  GilRelease(GilRelease &&) = delete;
  GilRelease &operator=(GilRelease &&) = delete;

 private:
  bt_tracer *t_;
  PyThreadState *state_;
};

/* A GIL-released phase; see ReleasedPhase in pybind11.hpp / nanobind.hpp. */
template <class Names>
class ReleasedPhase {
 public:
  ReleasedPhase(bt_tracer *tracer, bt_phase_id id) : t_(tracer), id_(id) {
    assert(PyGILState_Check() && "boundarytrace ReleasedPhase needs the GIL held");
    check_phase_gil(id, false, Names::released_conflict());
    check(bt_phase_begin(t_, id_), "bt_phase_begin");
    (void)bt_tracer_add_gil_release(t_);
    state_ = PyEval_SaveThread();
  }
  ReleasedPhase(Tracer &tracer, bt_phase_id id) : ReleasedPhase(tracer.get(), id) {}

  ~ReleasedPhase() {
    if (open_) (void)bt_phase_end(t_, id_);
    reacquire(t_, state_);
  }

  ReleasedPhase(const ReleasedPhase &) = delete;
  ReleasedPhase &operator=(const ReleasedPhase &) = delete;
  ReleasedPhase(ReleasedPhase &&) = delete;
  ReleasedPhase &operator=(ReleasedPhase &&) = delete;

  bt_phase_id id() const noexcept { return id_; }

  void next(bt_phase_id id) {
    check_phase_gil(id, false, Names::next_conflict());
    if (open_) {
      open_ = false;
      check(bt_phase_end(t_, id_), "bt_phase_end");
    }
    check(bt_phase_begin(t_, id), "bt_phase_begin");
    id_ = id;
    open_ = true;
  }

 private:
  bt_tracer *t_;
  bt_phase_id id_;
  bool open_ = true;
  PyThreadState *state_ = nullptr;
};

/* A GIL-held phase; see HeldPhase in pybind11.hpp / nanobind.hpp. */
template <class Names>
class HeldPhase {
 public:
  HeldPhase(bt_tracer *tracer, bt_phase_id id) : t_(tracer), id_(id) {
    assert(PyGILState_Check() && "boundarytrace HeldPhase needs the GIL held");
    check_phase_gil(id, true, Names::held_conflict());
    check(bt_phase_begin(t_, id_), "bt_phase_begin");
  }
  HeldPhase(Tracer &tracer, bt_phase_id id) : HeldPhase(tracer.get(), id) {}

  ~HeldPhase() {
    if (t_ != nullptr) (void)bt_phase_end(t_, id_);
  }

  HeldPhase(const HeldPhase &) = delete;
  HeldPhase &operator=(const HeldPhase &) = delete;
  HeldPhase(HeldPhase &&) = delete;
  HeldPhase &operator=(HeldPhase &&) = delete;

  bt_phase_id id() const noexcept { return id_; }

  void end() {
    bt_tracer *t = t_;
    t_ = nullptr;
    if (t != nullptr) check(bt_phase_end(t, id_), "bt_phase_end");
  }

 private:
  bt_tracer *t_;
  bt_phase_id id_;
};

}  // namespace python_detail
}  // namespace bt

#endif /* BOUNDARYTRACE_GIL_GUARDS_HPP */
