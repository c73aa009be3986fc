/*
 * boundarytrace — GIL-aware phase guards for pybind11 extensions.
 *
 * Header-only; depends on pybind11 and the public boundarytrace headers (bt.h,
 * bt.hpp, and gil_guards.hpp, the implementation it shares with nanobind.hpp)
 * only. It ships with the Python package, not with the C library (the
 * C layer knows no language): `-I` the directory boundarytrace.get_include()
 * names, which holds bt.h, bt.hpp and this header. The module that includes it
 * links libboundarytrace (import the `boundarytrace` Python package first, so
 * the process uses one library and one process-wide registry: what the
 * extension records shows up in boundarytrace.snapshot()).
 *
 *     #include <boundarytrace/pybind11.hpp>
 *
 *     static const bt::Op insert_op = bt::Metrics::global().op("insert_many");
 *
 *     py::int_ insert_many(Client &c, py::list docs) {
 *       bt::Tracer t(insert_op);
 *       std::vector<Doc> native;
 *       { bt::pybind::HeldPhase p(t, bt::EXTRACT);  native = read(docs); }
 *       {
 *         bt::pybind::ReleasedPhase p(t, bt::CONVERT);   // the GIL is released here
 *         encode(native);
 *         p.next(bt::NETWORK);                            // still released
 *         c.send_and_receive();
 *       }                                                 // reacquired; the wait is recorded
 *       bt::pybind::HeldPhase p(t, bt::MATERIALIZE);
 *       return py::int_(native.size());
 *     }
 *
 * What "GIL wait" means. A released guard records, per release:
 *   1. bt_phase_begin, then bt_tracer_add_gil_release (one release counted), then
 *      PyEval_SaveThread (the GIL is released);
 *   2. on leaving: bt_phase_end while the GIL is still released, then
 *      PyEval_RestoreThread timed with bt_clock_now_ns, and the time it took is
 *      added with bt_tracer_add_gil_wait.
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
 * guards are correct unchanged; "GIL wait" then measures re-attaching, which
 * is near zero unless a stop-the-world pause was in progress.
 *
 * Errors: the constructors throw bt::error (a std::runtime_error, which
 * pybind11 turns into RuntimeError) when the phase cannot begin — before the
 * GIL state changes. Destructors never throw and always restore the GIL, even
 * when the tracer is already finished or a bt_* call fails, and even when an
 * exception is unwinding: pybind11 then translates it with the GIL held.
 *
 * Recording switched off (bt_set_enabled(0), BOUNDARYTRACE_DISABLE=1) or
 * compiled out (BT_DISABLE_TRACING): the guards still release and reacquire
 * the GIL; only the recording calls become no-ops.
 */
#ifndef BOUNDARYTRACE_PYBIND11_HPP
#define BOUNDARYTRACE_PYBIND11_HPP

#include <pybind11/pybind11.h>  // includes Python.h first, as CPython requires

#include <boundarytrace/gil_guards.hpp>  // the implementation, shared with nanobind.hpp

namespace bt {
namespace pybind {

namespace detail {

/* The context of the BT_E_CONFLICT errors, naming these classes. */
struct Names {
  static const char *released_conflict() noexcept {
    return "bt::pybind::ReleasedPhase: the phase is GIL-held";
  }
  static const char *next_conflict() noexcept {
    return "bt::pybind::ReleasedPhase::next: the phase is GIL-held";
  }
  static const char *held_conflict() noexcept {
    return "bt::pybind::HeldPhase: the phase is GIL-released";
  }
};

using bt::python_detail::check_phase_gil;
using bt::python_detail::reacquire;

}  // namespace detail

/**
 * Releases the GIL for a scope and reports it to a tracer: counts one release
 * (bt_tracer_add_gil_release) and, when the scope ends, measures how long taking
 * the GIL back took (bt_clock_now_ns around PyEval_RestoreThread) and adds it
 * with bt_tracer_add_gil_wait. It opens no phase: put bt::Tracer::phase() guards
 * (released phases) inside it, e.g. to alternate convert and network in a
 * loop under one release. ReleasedPhase is the common case of one phase.
 *
 *   GilRelease(bt_tracer *tracer)   counts one release on `tracer` (may be
 *                                   NULL: nothing recorded), releases the GIL
 *   GilRelease(bt::Tracer &tracer)  the same on `tracer`'s C handle
 *   ~GilRelease()                   reacquires the GIL, adds the time it took
 *                                   to the tracer's GIL wait
 *
 * Precondition: the calling thread holds the GIL (is attached). Inside the
 * scope it must not touch Python objects (or must take the GIL back with
 * pybind11::gil_scoped_acquire for that moment).
 *
 * Ownership: borrows the tracer (not owned); the tracer must outlive the guard.
 * Thread-safety: the GIL state is per thread, so the guard is made and destroyed
 * on the same thread; neither copyable nor movable. Other threads may use the
 * tracer meanwhile only under the tracer's own rules (one thread at a time);
 * worker threads that never touch the tracer are fine.
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
 * destructor only reacquires the GIL). The GIL is reacquired by the
 * destructor during unwinding, before pybind11 sees the exception.
 */
class ReleasedPhase : public bt::python_detail::ReleasedPhase<detail::Names> {
 public:
  using Base = bt::python_detail::ReleasedPhase<detail::Names>;
  using Base::Base;
};

/**
 * A GIL-held phase: begins phase `id` (which must be registered as GIL-held,
 * e.g. bt::EXTRACT or bt::MATERIALIZE) and ends it at scope exit. The GIL is
 * not touched: the caller holds it throughout (as in any pybind11 function).
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

}  // namespace pybind
}  // namespace bt

#endif /* BOUNDARYTRACE_PYBIND11_HPP */
