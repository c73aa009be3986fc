/*
 * boundarytrace — GIL-aware phases for extensions written with the CPython C API.
 *
 * Header-only C (valid C++ too); depends on Python.h and the public
 * boundarytrace header bt.h only. It ships with the Python package, beside
 * pybind11.hpp, not with the C library (the C layer knows no language): add
 * the directory boundarytrace.get_include() names to the include path, link
 * libboundarytrace from boundarytrace.get_library_dir() (-lboundarytrace,
 * with that directory as rpath), and import the `boundarytrace` Python package
 * before your module, so that the process uses one library and one registry:
 * what the extension records shows up in boundarytrace.snapshot().
 *
 * Include it where you would include Python.h (it includes Python.h first, as
 * CPython requires; define PY_SSIZE_T_CLEAN before it if you use that).
 *
 *     #include <boundarytrace/python.h>
 *
 *     static PyObject *checksum(PyObject *self, PyObject *arg) {
 *       bt_tracer *t = NULL;
 *       Py_buffer view;
 *       uint64_t sum = 0;
 *       int rc;
 *       (void)bt_tracer_new_op(&t, checksum_op);        // a bt_op looked up once
 *       BT_PY_BEGIN_HELD(t, BT_PHASE_EXTRACT)            // GIL held, phase extract
 *         rc = PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE);
 *       BT_PY_END_HELD
 *       if (rc < 0) { bt_tracer_set_error(t); bt_tracer_finish(t); bt_tracer_free(t); return NULL; }
 *       BT_PY_BEGIN_ALLOW_THREADS(t, BT_PHASE_CONVERT)   // Py_BEGIN_ALLOW_THREADS + phase
 *         sum = add_bytes(view.buf, view.len);           // no Python objects in here
 *       BT_PY_END_ALLOW_THREADS                          // phase ends, GIL back, wait recorded
 *       PyBuffer_Release(&view);
 *       bt_tracer_finish(t);
 *       bt_tracer_free(t);
 *       return PyLong_FromUnsignedLongLong(sum);
 *     }
 *
 * What "GIL wait" means (the same as boundarytrace/pybind11.hpp). A released
 * stretch records, per release:
 *   1. bt_phase_begin, then bt_tracer_add_gil_release (one release counted),
 *      then PyEval_SaveThread (what Py_BEGIN_ALLOW_THREADS does: the GIL is
 *      released);
 *   2. at its end: bt_phase_end while the GIL is still released, then
 *      PyEval_RestoreThread (what Py_END_ALLOW_THREADS does) timed with
 *      bt_clock_now_ns, and the time it took is added with
 *      bt_tracer_add_gil_wait.
 * So the released phase's time is the native work only; the time spent
 * blocked on getting the GIL back is reported as GIL wait and falls outside
 * every phase (in the operation's unattributed time, never twice).
 *
 * Never crashes on a bad tracer. The GIL handling does not depend on tracing:
 * a released stretch always releases the GIL (when the calling thread holds
 * it) and always takes it back, whatever the tracer is:
 *  - NULL tracer: nothing is recorded; the calls report BT_E_NULL.
 *  - finished tracer (after bt_tracer_finish): nothing is recorded;
 *    BT_E_FINISHED.
 *  - recording switched off (bt_set_enabled(0), BOUNDARYTRACE_DISABLE=1; the
 *    tracer is then the library's inert one, or sees the switch): BT_OK,
 *    nothing recorded.
 *  - compiled out (BT_DISABLE_TRACING before the include): every bt_* call is
 *    an inline no-op, the GIL is still released and reacquired.
 *  - a phase of the wrong GIL state (e.g. BT_PHASE_EXTRACT in a released
 *    stretch): BT_E_CONFLICT, no phase is opened, the GIL is released anyway
 *    (and the release counted, it happens) — check the status in development.
 * A tracer that was freed (bt_tracer_free) is a dangling pointer, as with any
 * bt_* call: the tracer must outlive every stretch that uses it.
 *
 * Ownership: every function borrows the tracer; nothing here allocates. The
 * state of a released stretch (bt_py_released) lives on the caller's stack.
 *
 * Thread-safety: the GIL state is per thread, so a released stretch begins and
 * ends on the same thread (as Py_BEGIN/END_ALLOW_THREADS). The tracer follows
 * its own rule, one thread at a time: while the stretch is released, other
 * Python threads may run, but they must not use this tracer. Native worker
 * threads started inside the stretch may do anything that does not touch the
 * tracer (report their number with bt_tracer_set_workers from this thread).
 *
 * Free-threaded CPython (3.13t and later, Py_GIL_DISABLED): there is no GIL,
 * but PyEval_SaveThread/PyEval_RestoreThread detach and re-attach the thread
 * state so stop-the-world pauses need not wait for the native work. These
 * helpers are correct unchanged; "GIL release" then counts detaches and "GIL
 * wait" measures re-attaching, near zero unless a stop-the-world pause was in
 * progress. Declare your module free-threading-safe with the Py_mod_gil slot:
 *
 *     #ifdef Py_GIL_DISABLED
 *       {Py_mod_gil, Py_MOD_GIL_NOT_USED},
 *     #endif
 *
 * As with Py_BEGIN_ALLOW_THREADS, do not leave a BT_PY_BEGIN_* block with
 * return, break or goto: the matching BT_PY_END_* must run. Use the functions
 * (bt_py_released_begin/end, bt_py_held_begin/end) when the control flow
 * needs it.
 */
#ifndef BOUNDARYTRACE_PYTHON_H
#define BOUNDARYTRACE_PYTHON_H

#include <Python.h> /* first, as CPython requires */

#include <boundarytrace/bt.h>

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Pass as `phase` to bt_py_released_begin for a release without a phase. */
#define BT_PY_NO_PHASE BT_PHASE_TOTAL

/**
 * The state of one released stretch, on the caller's stack. Filled by
 * bt_py_released_begin; read it, never write it. All fields are plain data:
 * nothing to free.
 */
typedef struct bt_py_released {
  bt_tracer *tracer;     /**< borrowed; may be NULL (nothing recorded) */
  PyThreadState *state;  /**< from PyEval_SaveThread; NULL once the GIL is back
                              (or when it was never released) */
  bt_phase_id phase;     /**< the phase open now, BT_PY_NO_PHASE when none */
  bt_status status;      /**< the first failure of a bt_* call, else BT_OK */
  uint64_t wait_ns;      /**< after bt_py_released_end: the time
                              PyEval_RestoreThread took (what was recorded) */
} bt_py_released;

/*
 * BT_OK when phase `id` is registered with the GIL state `want_held`;
 * BT_E_CONFLICT when it has the other one; BT_E_UNKNOWN_PHASE. Not checked
 * when tracing is compiled out (the table is empty then). Thread-safe, needs
 * no GIL.
 */
static inline bt_status bt_py_check_phase_(bt_phase_id id, int want_held) {
#ifndef BT_DISABLE_TRACING
  int held = 0;
  bt_status st = bt_phase_get_info(NULL, &held, id);
  if (st != BT_OK) return st;
  if ((held != 0) != (want_held != 0)) return BT_E_CONFLICT;
#else
  (void)id;
  (void)want_held;
#endif
  return BT_OK;
}

/* Keeps the first failure of a stretch. */
static inline void bt_py_note_(bt_py_released *r, bt_status st) {
  if (r->status == BT_OK && st != BT_OK) r->status = st;
}

/**
 * Begins a GIL-released stretch: begins phase `phase` (a GIL-released one,
 * e.g. BT_PHASE_CONVERT or BT_PHASE_NETWORK; BT_PY_NO_PHASE for none), counts
 * one GIL release on `tracer`, and releases the GIL (PyEval_SaveThread, the
 * work of Py_BEGIN_ALLOW_THREADS). End it with bt_py_released_end on the same
 * thread; in between, touch no Python object.
 *
 * @param[out] out  the stretch's state (caller's storage, e.g. a local)
 * @param tracer    borrowed; NULL, finished or inert tracers record nothing
 * @param phase     a GIL-released phase id, or BT_PY_NO_PHASE
 * @return BT_OK; BT_E_NULL (out is NULL: nothing happens, the GIL stays held;
 *         or tracer is NULL: the GIL is released, nothing recorded);
 *         BT_E_UNKNOWN_PHASE, BT_E_CONFLICT (a GIL-held phase),
 *         BT_E_PHASE_OPEN, BT_E_FINISHED (no phase opened; the GIL is
 *         released anyway); BT_E_INVALID (the calling thread does not hold
 *         the GIL, by PyGILState_Check: nothing is released or counted, and
 *         bt_py_released_end will not reacquire). The status is kept in
 *         out->status too.
 * Precondition: the calling thread holds the GIL.
 */
static inline bt_status bt_py_released_begin(bt_py_released *out, bt_tracer *tracer,
                                             bt_phase_id phase) {
  if (out == NULL) return BT_E_NULL;
  out->tracer = tracer;
  out->state = NULL;
  out->phase = BT_PY_NO_PHASE;
  out->status = BT_OK;
  out->wait_ns = 0;
  if (!PyGILState_Check()) {
    out->status = BT_E_INVALID;
    return out->status;
  }
  if (phase != BT_PY_NO_PHASE) {
    bt_status st = bt_py_check_phase_(phase, 0);
    if (st == BT_OK) st = bt_phase_begin(tracer, phase);
    if (st == BT_OK) out->phase = phase;
    bt_py_note_(out, st);
  }
  bt_py_note_(out, bt_tracer_add_gil_release(tracer));
  out->state = PyEval_SaveThread();
  return out->status;
}

/**
 * Inside a released stretch (without the GIL): ends the open phase and begins
 * `phase`, another GIL-released one, the GIL staying released — e.g. convert,
 * then network, under one release.
 * @return BT_OK; BT_E_NULL (r NULL); BT_E_UNKNOWN_PHASE, BT_E_CONFLICT (a
 *         GIL-held phase: the open phase stays open); BT_E_FINISHED,
 *         BT_E_NULL (tracer). Failures are kept in r->status if it was BT_OK.
 * Thread-safety: the thread that began the stretch.
 */
static inline bt_status bt_py_released_next(bt_py_released *r, bt_phase_id phase) {
  bt_status st;
  if (r == NULL) return BT_E_NULL;
  st = bt_py_check_phase_(phase, 0);
  if (st == BT_OK && r->phase != BT_PY_NO_PHASE) {
    st = bt_phase_end(r->tracer, r->phase);
    r->phase = BT_PY_NO_PHASE;
  }
  if (st == BT_OK) st = bt_phase_begin(r->tracer, phase);
  if (st == BT_OK) r->phase = phase;
  bt_py_note_(r, st);
  return st;
}

/**
 * Ends a released stretch: ends the open phase while the GIL is still
 * released, then takes the GIL back (PyEval_RestoreThread, the work of
 * Py_END_ALLOW_THREADS), timing that with bt_clock_now_ns, and adds the time
 * to the tracer's GIL wait (bt_tracer_add_gil_wait); r->wait_ns holds it.
 * Never fails; always reacquires the GIL that bt_py_released_begin released.
 * Calling it twice, or with NULL, does nothing.
 * Thread-safety: the thread that began the stretch.
 */
static inline void bt_py_released_end(bt_py_released *r) {
  uint64_t t0, t1;
  if (r == NULL) return;
  if (r->phase != BT_PY_NO_PHASE) {
    bt_py_note_(r, bt_phase_end(r->tracer, r->phase));
    r->phase = BT_PY_NO_PHASE;
  }
  if (r->state == NULL) return;
  t0 = bt_clock_now_ns();
  PyEval_RestoreThread(r->state);
  t1 = bt_clock_now_ns();
  r->state = NULL;
  r->wait_ns = t1 > t0 ? t1 - t0 : 0;
  bt_py_note_(r, bt_tracer_add_gil_wait(r->tracer, r->wait_ns));
}

/**
 * Begins a GIL-held phase (e.g. BT_PHASE_EXTRACT or BT_PHASE_MATERIALIZE) on
 * `tracer`; the GIL is not touched (the caller holds it throughout).
 * @return BT_OK; BT_E_UNKNOWN_PHASE, BT_E_CONFLICT (a GIL-released phase):
 *         nothing changes; BT_E_NULL, BT_E_PHASE_OPEN, BT_E_FINISHED as
 *         bt_phase_begin. Borrows the tracer; the tracer's thread rule.
 */
static inline bt_status bt_py_held_begin(bt_tracer *tracer, bt_phase_id phase) {
  bt_status st = bt_py_check_phase_(phase, 1);
  return st == BT_OK ? bt_phase_begin(tracer, phase) : st;
}

/**
 * Ends the GIL-held phase bt_py_held_begin began. bt_phase_end's statuses
 * (BT_E_NULL, BT_E_PHASE_NOT_OPEN, BT_E_FINISHED ...); never crashes.
 */
static inline bt_status bt_py_held_end(bt_tracer *tracer, bt_phase_id phase) {
  return bt_phase_end(tracer, phase);
}

/**
 * Py_BEGIN_ALLOW_THREADS with a released phase: opens a block, begins the
 * phase, counts the release, releases the GIL. Close it with
 * BT_PY_END_ALLOW_THREADS. Inside, BT_PY_NEXT_PHASE(id) moves to another
 * released phase and BT_PY_RELEASED_STATUS is the stretch's status so far.
 * `phase` may be BT_PY_NO_PHASE (only the release is counted).
 */
#define BT_PY_BEGIN_ALLOW_THREADS(tracer, phase) \
  {                                              \
    bt_py_released bt_py_released_;              \
    (void)bt_py_released_begin(&bt_py_released_, (tracer), (phase));

/** Inside BT_PY_BEGIN_ALLOW_THREADS: end the phase, begin another released one. */
#define BT_PY_NEXT_PHASE(phase) ((void)bt_py_released_next(&bt_py_released_, (phase)))

/** Inside BT_PY_BEGIN_ALLOW_THREADS: the bt_status of the stretch so far. */
#define BT_PY_RELEASED_STATUS (bt_py_released_.status)

/**
 * Closes BT_PY_BEGIN_ALLOW_THREADS: ends the phase, reacquires the GIL and
 * records the wait. To keep the wait or status, use the functions instead.
 */
#define BT_PY_END_ALLOW_THREADS              \
    bt_py_released_end(&bt_py_released_); \
  }

/**
 * A GIL-held phase as a block: BT_PY_BEGIN_HELD(t, BT_PHASE_EXTRACT) ...
 * BT_PY_END_HELD. The phase is ended at BT_PY_END_HELD only if it began.
 */
#define BT_PY_BEGIN_HELD(tracer, phase)                                      \
  {                                                                          \
    bt_tracer *bt_py_held_tracer_ = (tracer);                                \
    bt_phase_id bt_py_held_phase_ = (phase);                                 \
    bt_status bt_py_held_status_ = bt_py_held_begin(bt_py_held_tracer_, bt_py_held_phase_);

/** Closes BT_PY_BEGIN_HELD. */
#define BT_PY_END_HELD                                                       \
    if (bt_py_held_status_ == BT_OK)                                         \
      (void)bt_py_held_end(bt_py_held_tracer_, bt_py_held_phase_);           \
  }

#ifdef __cplusplus
}
#endif

#endif /* BOUNDARYTRACE_PYTHON_H */
