# boundarytrace for Cython: `cimport boundarytrace as bt`.
#
# The C declarations of boundarytrace/bt.h that an extension needs to trace
# its own operations (library, clock, phases, sinks, bound operations,
# tracers, timings; the snapshot, export and timeline calls are the Python
# package's business), and nogil helpers that make a `with nogil:` block a
# GIL-released phase with its release counted and the wait to get the GIL
# back measured. This file ships in the wheel inside the package directory,
# which is where Cython looks for `cimport boundarytrace` (the package's
# __init__.pxd, found along sys.path).
#
# Building: compile against the package's headers and library, and import
# the `boundarytrace` Python package before your module (one library, one
# registry: what the extension records shows up in boundarytrace.snapshot()):
#
#     import boundarytrace
#     Extension("mymod", ["mymod.pyx"],
#               include_dirs=[boundarytrace.get_include()],
#               library_dirs=[boundarytrace.get_library_dir()],
#               runtime_library_dirs=[boundarytrace.get_library_dir()],
#               libraries=["boundarytrace"])
#
# The pattern. Cython releases the GIL itself in `with nogil:` and has no
# hook around that, so a released phase is three calls around the block:
#
#     cimport boundarytrace as bt
#
#     cdef bt.released_phase r
#     bt.released_begin(&r, t, bt.BT_PHASE_CONVERT)  # GIL held: begins the phase,
#     with nogil:                                    #   counts the release
#         total = add_bytes(buf, n)
#         bt.released_leave(&r)                      # last line: ends the phase, starts the
#     bt.released_end(&r)                            # first line after: wait clock; records the wait
#
# What "GIL wait" means (as boundarytrace/pybind11.hpp and python.h): the
# phase ends while the GIL is still released, and the time from there to the
# first line after the block — Cython's PyEval_RestoreThread, nothing else
# runs in between — is added to the tracer's GIL wait
# (bt_tracer_add_gil_wait). So the released phase holds the native work only,
# and the time spent getting the GIL back is reported as GIL wait, outside
# every phase (in the operation's unattributed time, never twice).
# bt.released_next(&r, bt.BT_PHASE_NETWORK) inside the block moves to another
# released phase under the same release.
#
# Code that may leave the block early (return, break, an exception from a
# `noexcept(False)`/`except *` call): put released_leave in a `finally:`
# inside the block and released_end in a `finally:` around it. If
# released_leave was skipped, released_end still ends the phase (its time then
# includes the reacquire) and records no wait; no phase is left open.
#
# Held phases need no GIL handling: bt.held_begin(t, bt.BT_PHASE_EXTRACT) ...
# bt.held_end(t, bt.BT_PHASE_EXTRACT), which refuse a GIL-released phase.
#
# Never crashes on a bad tracer: the helpers never touch the GIL (Cython's
# `with nogil:` does, whatever the tracer), borrow the tracer, allocate
# nothing, and return a bt_status (also kept in r.status): a NULL tracer gives
# BT_E_NULL and a finished one BT_E_FINISHED, recording nothing; with
# recording switched off (bt_set_enabled(0), BOUNDARYTRACE_DISABLE=1) they
# return BT_OK and record nothing; a phase of the wrong GIL state gives
# BT_E_CONFLICT and opens nothing. A freed tracer is a dangling pointer: the
# tracer must outlive the block.
#
# Thread-safety: every helper is `noexcept nogil` and needs no GIL itself. A
# released_phase lives on the stack of the thread whose `with nogil:` block it
# wraps; the tracer follows bt.h's rule (one thread at a time), so other
# Python threads running during the block must not use it.
#
# Free-threaded CPython (3.13t): `with nogil:` detaches the thread state there
# (no GIL, but stop-the-world pauses need not wait); the figures then mean
# detaches and the time to re-attach. Mark your module
# `# cython: freethreading_compatible = True`.

from libc.stdint cimport int32_t, uint32_t, uint64_t
from libc.string cimport memset

cdef extern from "boundarytrace/bt.h" nogil:
    # Version and limits
    enum:
        BT_VERSION_MAJOR
        BT_VERSION_MINOR
        BT_VERSION_PATCH
        BT_VERSION_NUMBER
        BT_ABI_VERSION
        BT_MAX_PHASES
        BT_NAME_MAX
        BT_MAX_OPS
    const char *BT_VERSION_STRING

    # Status codes: BT_OK (0) or a negative BT_E_*
    ctypedef enum bt_status:
        BT_OK
        BT_E_NULL
        BT_E_INVALID
        BT_E_NAME
        BT_E_UNKNOWN_PHASE
        BT_E_PHASE_OPEN
        BT_E_PHASE_NOT_OPEN
        BT_E_FINISHED
        BT_E_STRUCT_SIZE
        BT_E_NOMEM
        BT_E_FULL
        BT_E_CONFLICT
        BT_E_NOT_FOUND
        BT_E_INTERNAL
        BT_E_IO

    # Opaque handles
    ctypedef struct bt_tracer
    ctypedef struct bt_metrics
    ctypedef struct bt_op

    # Phases
    ctypedef int32_t bt_phase_id
    enum:
        BT_PHASE_EXTRACT      # GIL held
        BT_PHASE_CONVERT      # GIL released
        BT_PHASE_NETWORK      # GIL released
        BT_PHASE_MATERIALIZE  # GIL held
        BT_PHASE_TOTAL

    # The timing of one finished operation (bt_tracer_finish_timing)
    enum:
        BT_TIMING_ERROR
        BT_TIMING_PHASE_LEFT_OPEN
    ctypedef struct bt_timing:
        size_t struct_size       # set to sizeof(bt_timing): timing_init() does
        const char *op_name
        uint64_t total_ns
        uint64_t unattributed_ns
        uint64_t gil_held_ns
        uint64_t gil_released_ns
        uint64_t gil_wait_ns
        uint64_t items
        uint32_t gil_releases
        uint32_t workers
        uint32_t flags
        uint32_t phase_count
        uint64_t phase_ns[32]        # BT_MAX_PHASES
        uint32_t phase_entries[32]

    # Library
    unsigned bt_version()
    const char *bt_version_string()
    unsigned bt_abi_version()
    const char *bt_status_str(int status)
    const char *bt_status_name(int status)
    void bt_set_enabled(int enabled)
    int bt_is_enabled()

    # Clock
    uint64_t bt_clock_now_ns()
    const char *bt_clock_source()

    # Phases (process-wide table)
    bt_status bt_phase_register(bt_phase_id *out, const char *name, int gil_held)
    bt_status bt_phase_lookup(bt_phase_id *out, const char *name)
    bt_status bt_phase_get_info(const char **name_out, int *gil_held_out, bt_phase_id phase)
    uint32_t bt_phase_count()

    # Sinks and bound operations
    bt_metrics *bt_metrics_global()
    bt_status bt_metrics_new(bt_metrics **out)
    void bt_metrics_free(bt_metrics *metrics)
    bt_status bt_metrics_record(bt_metrics *metrics, const bt_timing *timing)
    bt_status bt_op_lookup(bt_op **out, bt_metrics *metrics, const char *name)
    const char *bt_op_name(const bt_op *op)
    bt_status bt_op_reserve(bt_op *op)

    # Tracer
    bt_status bt_tracer_new(bt_tracer **out, bt_metrics *metrics, const char *op_name)
    bt_status bt_tracer_new_op(bt_tracer **out, bt_op *op)
    bt_status bt_phase_begin(bt_tracer *tracer, bt_phase_id phase)
    bt_status bt_phase_end(bt_tracer *tracer, bt_phase_id phase)
    bt_status bt_tracer_add_items(bt_tracer *tracer, uint64_t n)
    bt_status bt_tracer_add_gil_release(bt_tracer *tracer)
    bt_status bt_tracer_add_gil_wait(bt_tracer *tracer, uint64_t ns)
    bt_status bt_tracer_set_workers(bt_tracer *tracer, uint32_t workers)
    bt_status bt_tracer_set_error(bt_tracer *tracer)
    bt_status bt_tracer_finish(bt_tracer *tracer)
    bt_status bt_tracer_finish_timing(bt_timing *out, bt_tracer *tracer)
    void bt_tracer_free(bt_tracer *tracer)


cdef inline bt_timing timing_init() noexcept nogil:
    """A zeroed bt_timing with struct_size set (BT_TIMING_INIT), ready for
    bt_tracer_finish_timing(&timing, t)."""
    cdef bt_timing t
    memset(&t, 0, sizeof(bt_timing))
    t.struct_size = sizeof(bt_timing)
    return t


cdef inline bt_status _check_phase(bt_phase_id phase, int want_held) noexcept nogil:
    # BT_OK when `phase` is registered with GIL state `want_held`; else
    # BT_E_CONFLICT (the other state) or BT_E_UNKNOWN_PHASE.
    cdef int held = 0
    cdef bt_status st = bt_phase_get_info(NULL, &held, phase)
    if st != BT_OK:
        return st
    if (held != 0) != (want_held != 0):
        return BT_E_CONFLICT
    return BT_OK


# The state of one released phase around a `with nogil:` block, on the
# caller's stack (`cdef bt.released_phase r`). Filled by released_begin; read
# it, never write it.
ctypedef struct released_phase:
    bt_tracer *tracer    # borrowed; may be NULL (nothing recorded)
    bt_phase_id phase    # the phase open now, BT_PHASE_TOTAL (-1) when none
    bt_status status     # the first failure of a bt_* call, else BT_OK
    uint64_t left_ns     # bt_clock_now_ns() at released_leave, 0 before
    uint64_t wait_ns     # after released_end: the GIL wait recorded


cdef inline void _note(released_phase *r, bt_status st) noexcept nogil:
    if r.status == BT_OK and st != BT_OK:
        r.status = st


cdef inline bt_status released_begin(released_phase *r, bt_tracer *tracer,
                                     bt_phase_id phase) noexcept nogil:
    """Call right before `with nogil:`, with the GIL held. Begins `phase` (a
    GIL-released one, e.g. BT_PHASE_CONVERT or BT_PHASE_NETWORK; BT_PHASE_TOTAL
    for none: only the release is counted) on `tracer` and counts one GIL
    release. Returns BT_OK; BT_E_NULL (r NULL: nothing done; tracer NULL:
    nothing recorded); BT_E_UNKNOWN_PHASE, BT_E_CONFLICT (a GIL-held phase),
    BT_E_PHASE_OPEN, BT_E_FINISHED (no phase opened). Kept in r.status."""
    if r == NULL:
        return BT_E_NULL
    r.tracer = tracer
    r.phase = BT_PHASE_TOTAL
    r.status = BT_OK
    r.left_ns = 0
    r.wait_ns = 0
    cdef bt_status st
    if phase != BT_PHASE_TOTAL:
        st = _check_phase(phase, 0)
        if st == BT_OK:
            st = bt_phase_begin(tracer, phase)
        if st == BT_OK:
            r.phase = phase
        _note(r, st)
    _note(r, bt_tracer_add_gil_release(tracer))
    return r.status


cdef inline bt_status released_next(released_phase *r, bt_phase_id phase) noexcept nogil:
    """Inside the `with nogil:` block: ends the open phase and begins `phase`,
    another GIL-released one, under the same release. BT_E_CONFLICT or
    BT_E_UNKNOWN_PHASE leave the open phase open."""
    if r == NULL:
        return BT_E_NULL
    cdef bt_status st = _check_phase(phase, 0)
    if st == BT_OK and r.phase != BT_PHASE_TOTAL:
        st = bt_phase_end(r.tracer, r.phase)
        r.phase = BT_PHASE_TOTAL
    if st == BT_OK:
        st = bt_phase_begin(r.tracer, phase)
    if st == BT_OK:
        r.phase = phase
    _note(r, st)
    return st


cdef inline void released_leave(released_phase *r) noexcept nogil:
    """The last line inside the `with nogil:` block: ends the open phase (the
    GIL still released) and starts the clock of the wait to get it back."""
    if r == NULL:
        return
    if r.phase != BT_PHASE_TOTAL:
        _note(r, bt_phase_end(r.tracer, r.phase))
        r.phase = BT_PHASE_TOTAL
    r.left_ns = bt_clock_now_ns()


cdef inline uint64_t released_end(released_phase *r) noexcept nogil:
    """The first line after the `with nogil:` block (the GIL is back): adds
    the time since released_leave to the tracer's GIL wait and returns it
    (also in r.wait_ns). Without a released_leave before it, ends the phase
    still open and records no wait (returns 0). Calling it again does
    nothing."""
    cdef uint64_t now
    if r == NULL:
        return 0
    if r.phase != BT_PHASE_TOTAL:
        _note(r, bt_phase_end(r.tracer, r.phase))
        r.phase = BT_PHASE_TOTAL
        return 0
    if r.left_ns == 0:
        return 0
    now = bt_clock_now_ns()
    r.wait_ns = now - r.left_ns if now > r.left_ns else 0
    r.left_ns = 0
    _note(r, bt_tracer_add_gil_wait(r.tracer, r.wait_ns))
    return r.wait_ns


cdef inline bt_status held_begin(bt_tracer *tracer, bt_phase_id phase) noexcept nogil:
    """Begins a GIL-held phase (BT_PHASE_EXTRACT, BT_PHASE_MATERIALIZE or one
    registered as held); the GIL is not touched. BT_E_CONFLICT for a released
    phase (nothing opened); else bt_phase_begin's status."""
    cdef bt_status st = _check_phase(phase, 1)
    if st != BT_OK:
        return st
    return bt_phase_begin(tracer, phase)


cdef inline bt_status held_end(bt_tracer *tracer, bt_phase_id phase) noexcept nogil:
    """Ends the phase held_begin began: bt_phase_end's status."""
    return bt_phase_end(tracer, phase)
