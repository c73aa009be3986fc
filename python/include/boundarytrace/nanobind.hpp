/*
 * boundarytrace — GIL-aware phase guards for nanobind extensions.
 *
 * Header-only; depends on nanobind and the public boundarytrace headers (bt.h,
 * bt.hpp, and gil_guards.hpp, the implementation it shares with pybind11.hpp:
 * both frameworks record exactly the same thing) only. It ships with the
 * Python package, not with the C library (the C layer knows no language):
 * add the directory boundarytrace.get_include() names to the include path and
 * link libboundarytrace from boundarytrace.get_library_dir() (-lboundarytrace,
 * with that directory as rpath). Import the `boundarytrace` Python package
 * before your module, so the process uses one library and one process-wide
 * registry: what the extension records shows up in boundarytrace.snapshot().
 *
 *     #include <boundarytrace/nanobind.hpp>
 *     namespace nb = nanobind;
 *
 *     static const bt::Op insert_op = bt::Metrics::global().op("insert_many");
 *
 *     size_t insert_many(Client &c, nb::list docs) {
 *       bt::Tracer t(insert_op);
 *       std::vector<Doc> native;
 *       { bt::nano::HeldPhase p(t, bt::EXTRACT);  native = read(docs); }
 *       {
 *         bt::nano::ReleasedPhase p(t, bt::CONVERT);     // the GIL is released here
 *         encode(native);
 *         p.next(bt::NETWORK);                            // still released
 *         c.send_and_receive();
 *       }                                                 // reacquired; the wait is recorded
 *       bt::nano::HeldPhase p(t, bt::MATERIALIZE);
 *       return native.size();
 *     }
 *
 * Use bt::nano::ReleasedPhase (or GilRelease) where you would write
 * nb::gil_scoped_release: it does the same (PyEval_SaveThread, then
 * PyEval_RestoreThread at scope exit) and reports it to a tracer. The
 * namespace is bt::nano, not bt::nanobind or bt::nb: after
 * `using namespace bt;` those would make `nanobind::` / `nb::` ambiguous.
 *
 * What "GIL wait" means (the same as pybind11.hpp and python.h). A released
 * guard records, per release:
 *   1. bt_phase_begin, then bt_tracer_add_gil_release (one release counted),
 *      then PyEval_SaveThread (the GIL is released);
 *   2. on leaving: bt_phase_end while the GIL is still released, then
 *      PyEval_RestoreThread timed with bt_clock_now_ns, and the time it took
 *      is added with bt_tracer_add_gil_wait.
 * So the released phase's time is the native work only, and the time spent
 * blocked on getting the GIL back is reported as GIL wait and falls outside
 * every phase: it is part of the operation's `unattributed` time (boundary
 * overhead), never double-counted in a phase. For a tracer driven only by
 * these guards, gil_wait_ns <= unattributed_ns.
 *
 * Free-threaded CPython (3.13t and later): there is no GIL, but a thread must
 * still "detach" its thread state around long native work so that
 * stop-the-world pauses (garbage collection) need not wait for it.
 * PyEval_SaveThread/PyEval_RestoreThread do exactly that there, so these
 * guards are correct unchanged; "GIL release" then counts detaches and "GIL
 * wait" measures re-attaching, near zero unless a stop-the-world pause was in
 * progress. Declare the module free-threading safe: build it with
 * `nanobind_add_module(name FREE_THREADED ...)` (CMake), which makes
 * NB_MODULE declare Py_MOD_GIL_NOT_USED on free-threaded builds.
 *
 * Errors: the constructors throw bt::error (a std::runtime_error, which
 * nanobind turns into RuntimeError, the status' name in the message) when the
 * phase cannot begin — before the GIL state changes. Destructors never throw
 * and always restore the GIL, even when the tracer is already finished or a
 * bt_* call fails, and even when an exception is unwinding: nanobind then
 * translates it with the GIL held.
 *
 * Recording switched off (bt_set_enabled(0), BOUNDARYTRACE_DISABLE=1) or
 * compiled out (BT_DISABLE_TRACING): the guards still release and reacquire
 * the GIL; only the recording calls become no-ops.
 */
#ifndef BOUNDARYTRACE_NANOBIND_HPP
#define BOUNDARYTRACE_NANOBIND_HPP

#include <nanobind/nanobind.h>  // includes Python.h first, as CPython requires

#include <boundarytrace/gil_guards.hpp>  // the implementation, shared with pybind11.hpp

namespace bt {
namespace nano {

namespace detail {

/* The context of the BT_E_CONFLICT errors, naming these classes. */
struct Names {
  static const char *released_conflict() noexcept {
    return "bt::nano::ReleasedPhase: the phase is GIL-held";
  }
  static const char *next_conflict() noexcept {
    return "bt::nano::ReleasedPhase::next: the phase is GIL-held";
  }
  static const char *held_conflict() noexcept {
    return "bt::nano::HeldPhase: the phase is GIL-released";
  }
};

}  // namespace detail

/**
 * Releases the GIL for a scope and reports it to a tracer — nb::gil_scoped_release
 * that counts: counts one release (bt_tracer_add_gil_release) and, when the
 * scope ends, measures how long taking the GIL back took (bt_clock_now_ns
 * around PyEval_RestoreThread) and adds it with bt_tracer_add_gil_wait. It
 * opens no phase: put bt::Tracer::phase() guards (released phases) inside it,
 * e.g. to alternate convert and network in a loop under one release.
 * ReleasedPhase is the common case of one phase.
 *
 *   GilRelease(bt_tracer *tracer)   counts one release on `tracer` (may be
 *                                   NULL: nothing recorded), releases the GIL
 *   GilRelease(bt::Tracer &tracer)  the same on `tracer`'s C handle
 *   ~GilRelease()                   reacquires the GIL, adds the time it took
 *                                   to the tracer's GIL wait
 *
 * Precondition: the calling thread holds the GIL (is attached), as in any
 * nanobind-bound function. Inside the scope it must not touch Python objects
 * (nb::object, nb::list ...), or must take the GIL back with
 * nb::gil_scoped_acquire for that moment.
 *
 * Ownership: borrows the tracer (not owned); the tracer must outlive the guard.
 * Thread-safety: the GIL state is per thread, so the guard is made and
 * destroyed on the same thread; neither copyable nor movable. Other threads
 * may use the tracer meanwhile only under the tracer's own rules (one thread
 * at a time); worker threads that never touch the tracer are fine.
 * Never throws: the constructor counts the release best-effort (a finished or
 * NULL tracer only means nothing is recorded) and always releases the GIL.
 */
class GilRelease : public bt::python_detail::GilRelease<detail::Names> {
 public:
  using Base = bt::python_detail::GilRelease<detail::Names>;
  using Base::Base;
};

/**
 * A GIL-released phase: begins phase `id` (which must be registered as
 * GIL-released, e.g. bt::CONVERT or bt::NETWORK), counts one GIL release,
 * releases the GIL; at scope exit ends the phase *before* reacquiring the GIL,
 * then reacquires it and records the wait (see "What GIL wait means" above).
 *
 *   ReleasedPhase(bt_tracer *tracer, bt_phase_id id)
 *   ReleasedPhase(bt::Tracer &tracer, bt_phase_id id)
 *   ~ReleasedPhase()         ends the open phase (GIL still released),
 *                            reacquires the GIL, records the wait
 *   bt_phase_id id() const   the phase open now (the last one begun)
 *   void next(bt_phase_id)   ends the current phase and begins another
 *                            GIL-released one, the GIL staying released:
 *                            `p.next(bt::NETWORK)` after the convert work.
 *                            Call it without the GIL (inside the scope).
 *
 * Precondition: the calling thread holds the GIL; no phase is open on the
 * tracer. Inside the scope, do not touch Python objects.
 *
 * Ownership: borrows the tracer (a bt_tracer* or a bt::Tracer&), which must
 * outlive the guard. Thread-safety: as GilRelease — made and destroyed on one
 * thread; neither copyable nor movable.
 *
 * The constructor throws bt::error, with the GIL still held and nothing
 * changed: BT_E_UNKNOWN_PHASE, BT_E_CONFLICT (`id` is a GIL-held phase),
 * BT_E_NULL (NULL or moved-from tracer), BT_E_PHASE_OPEN, BT_E_FINISHED.
 * next() throws bt::error: BT_E_UNKNOWN_PHASE or BT_E_CONFLICT (nothing
 * changes); from bt_phase_end/bt_phase_begin (then no phase is open and the
 * destructor only reacquires the GIL). An exception thrown inside the scope
 * unwinds through the destructor, which reacquires the GIL before nanobind
 * translates the exception.
 */
class ReleasedPhase : public bt::python_detail::ReleasedPhase<detail::Names> {
 public:
  using Base = bt::python_detail::ReleasedPhase<detail::Names>;
  using Base::Base;
};

/**
 * A GIL-held phase: begins phase `id` (which must be registered as GIL-held,
 * e.g. bt::EXTRACT or bt::MATERIALIZE) and ends it at scope exit. The GIL is
 * not touched: the caller holds it throughout (as in any nanobind function).
 *
 *   HeldPhase(bt_tracer *tracer, bt_phase_id id)
 *   HeldPhase(bt::Tracer &tracer, bt_phase_id id)
 *   ~HeldPhase()             ends the phase unless end() already did; errors
 *                            are ignored
 *   bt_phase_id id() const   the phase this guard holds open
 *   void end()               ends the phase now; afterwards the guard does
 *                            nothing. Throws as bt_phase_end.
 *
 * Ownership: borrows the tracer (a bt_tracer* or a bt::Tracer&), which must
 * outlive the guard. Thread-safety: the tracer's rules (one thread at a time).
 * Not copyable or movable.
 *
 * The constructor throws bt::error: BT_E_UNKNOWN_PHASE, BT_E_CONFLICT (`id`
 * is a released phase), BT_E_NULL, BT_E_PHASE_OPEN, BT_E_FINISHED.
 */
class HeldPhase : public bt::python_detail::HeldPhase<detail::Names> {
 public:
  using Base = bt::python_detail::HeldPhase<detail::Names>;
  using Base::Base;
};

}  // namespace nano
}  // namespace bt

#endif /* BOUNDARYTRACE_NANOBIND_HPP */
