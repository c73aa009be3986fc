# cython: language_level=3
# cython: freethreading_compatible = True
"""bt_cython_ext: a Cython extension traced with `cimport boundarytrace`.

Built on the fly by the cython_ext fixture of tests/python/conftest.py
(Cython from PyPI, setuptools, against the installed package's headers and
library), never by the main build; tested by
tests/python/test_capi_cython_helpers.py. Each function traces one
operation and returns its timing as a dict (bt_tracer_finish_timing's copy);
the records land in the process-wide sink too, which the tests read through
boundarytrace.snapshot().
"""

cimport boundarytrace as bt
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from libc.stdint cimport uint64_t

# Bumped by Python threads through tick() (which needs the GIL); read inside
# released phases to prove the GIL was released. Volatile: the loop that
# waits for it re-reads it.
cdef volatile unsigned long long g_ticks = 0


cdef uint64_t add_bytes(const unsigned char *p, Py_ssize_t n) noexcept nogil:
    cdef uint64_t s = 0
    cdef Py_ssize_t i
    for i in range(n):
        s += p[i]
    return s


cdef bt.bt_tracer *new_tracer(str op) except NULL:
    cdef bt.bt_tracer *t = NULL
    cdef bytes name = op.encode()
    cdef bt.bt_status st = bt.bt_tracer_new(&t, NULL, name)
    if st != bt.BT_OK:
        raise RuntimeError("bt_tracer_new: " + bt.bt_status_name(st).decode())
    return t


cdef dict finish(bt.bt_tracer *t):
    cdef bt.bt_timing timing = bt.timing_init()
    cdef bt.bt_status st = bt.bt_tracer_finish_timing(&timing, t)
    bt.bt_tracer_free(t)
    return {
        "total_ns": timing.total_ns,
        "unattributed_ns": timing.unattributed_ns,
        "gil_held_ns": timing.gil_held_ns,
        "gil_released_ns": timing.gil_released_ns,
        "gil_wait_ns": timing.gil_wait_ns,
        "gil_releases": timing.gil_releases,
        "items": timing.items,
        "flags": timing.flags,
        "phase_ns": [timing.phase_ns[i] for i in range(4)],
        "phase_entries": [timing.phase_entries[i] for i in range(4)],
        "finish_status": <int>st,
    }


def sum_bytes(str op, object data, Py_ssize_t chunks):
    """The sum of the bytes of `data` (any buffer): read in a GIL-held extract
    phase, summed in `chunks` GIL-released convert phases (one `with nogil:`
    block, one release, each), the result built in a GIL-held materialize
    phase. Keys of the timing, plus "sum" and "waits" (each block's wait)."""
    if chunks < 1:
        raise ValueError("chunks must be at least 1")
    cdef bt.bt_tracer *t = new_tracer(op)
    cdef Py_buffer view
    cdef bt.released_phase r
    cdef uint64_t s = 0
    cdef Py_ssize_t i, lo, hi, step
    cdef list waits = []

    bt.held_begin(t, bt.BT_PHASE_EXTRACT)
    try:
        PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    except BaseException:
        bt.held_end(t, bt.BT_PHASE_EXTRACT)
        bt.bt_tracer_set_error(t)
        finish(t)
        raise
    bt.held_end(t, bt.BT_PHASE_EXTRACT)

    step = (view.len + chunks - 1) // chunks
    for i in range(chunks):
        lo = min(i * step, view.len)
        hi = min(lo + step, view.len)
        bt.released_begin(&r, t, bt.BT_PHASE_CONVERT)
        with nogil:
            s += add_bytes(<const unsigned char *>view.buf + lo, hi - lo)
            bt.released_leave(&r)
        waits.append(bt.released_end(&r))

    bt.held_begin(t, bt.BT_PHASE_MATERIALIZE)
    result = int(s)
    bt.held_end(t, bt.BT_PHASE_MATERIALIZE)
    bt.bt_tracer_add_items(t, <uint64_t>view.len)
    PyBuffer_Release(&view)

    d = finish(t)
    d["sum"] = result
    d["waits"] = waits
    return d


def convert_then_network(str op, const unsigned char[::1] data):
    """Convert (the sum) then network (empty), both inside one `with nogil:`
    block: released_next under one release."""
    cdef bt.bt_tracer *t = new_tracer(op)
    cdef bt.released_phase r
    cdef uint64_t s = 0
    cdef bt.bt_status st
    bt.released_begin(&r, t, bt.BT_PHASE_CONVERT)
    with nogil:
        s = add_bytes(&data[0] if data.shape[0] > 0 else NULL, data.shape[0])
        bt.released_next(&r, bt.BT_PHASE_NETWORK)
        bt.released_leave(&r)
    bt.released_end(&r)
    st = r.status
    d = finish(t)
    d["sum"] = s
    d["status"] = bt.bt_status_name(st).decode()
    return d


def released_until_tick(str op, double timeout):
    """A released convert phase that lasts until another Python thread has
    called tick() (it can only while the GIL is released), or the timeout:
    that thread then holds the GIL when this one asks for it back, so the
    wait is real. Keys of the timing, plus "ticks", "wait_ns", "status"."""
    cdef bt.bt_tracer *t = new_tracer(op)
    cdef bt.released_phase r
    cdef unsigned long long start, ticks
    cdef uint64_t deadline
    bt.released_begin(&r, t, bt.BT_PHASE_CONVERT)
    with nogil:
        start = g_ticks
        deadline = bt.bt_clock_now_ns() + <uint64_t>(timeout * 1e9)
        while g_ticks == start and bt.bt_clock_now_ns() < deadline:
            pass
        ticks = g_ticks - start
        bt.released_leave(&r)
    wait = bt.released_end(&r)
    st = r.status
    d = finish(t)
    d["ticks"] = ticks
    d["wait_ns"] = wait
    d["status"] = bt.bt_status_name(st).decode()
    return d


def tick():
    """One call that needs the GIL."""
    global g_ticks
    g_ticks += 1


def no_leave(str op):
    """A `with nogil:` block whose released_leave never ran (as when the
    block is left early): released_end still closes the phase (its time then
    includes the reacquire) and records no wait."""
    cdef bt.bt_tracer *t = new_tracer(op)
    cdef bt.released_phase r
    cdef uint64_t s = 0
    cdef int i
    bt.released_begin(&r, t, bt.BT_PHASE_NETWORK)
    with nogil:
        for i in range(1000):
            s += <uint64_t>i
    wait = bt.released_end(&r)
    d = finish(t)
    d["returned_wait"] = wait
    d["sum"] = s
    return d


def misuse(const unsigned char[::1] data):
    """The helpers on bad tracers, each still summing `data` with the GIL
    released and reacquired: a NULL tracer (null_*), a finished one
    (operation "bt_cython_ext.finished", finished_*), phases of the wrong GIL
    state on a live one (operation "bt_cython_ext.conflict", conflict_*).
    Returns the statuses' names and the sums."""
    cdef bt.released_phase r
    cdef bt.bt_tracer *t = NULL
    cdef const unsigned char *p = &data[0] if data.shape[0] > 0 else NULL
    cdef Py_ssize_t n = data.shape[0]
    cdef uint64_t s0 = 0, s1 = 0, s2 = 0
    cdef bt.bt_status st[8]
    cdef uint64_t null_wait

    st[0] = bt.released_begin(&r, NULL, bt.BT_PHASE_CONVERT)
    with nogil:
        s0 = add_bytes(p, n)
        st[1] = bt.released_next(&r, bt.BT_PHASE_NETWORK)
        bt.released_leave(&r)
    null_wait = bt.released_end(&r)
    bt.released_end(&r)  # twice: nothing happens
    bt.released_end(NULL)
    bt.released_leave(NULL)
    st[2] = bt.held_begin(NULL, bt.BT_PHASE_EXTRACT)
    st[3] = bt.held_end(NULL, bt.BT_PHASE_EXTRACT)
    st[4] = bt.released_begin(NULL, NULL, bt.BT_PHASE_CONVERT)

    bt.bt_tracer_new(&t, NULL, b"bt_cython_ext.finished")
    bt.bt_tracer_finish(t)
    st[5] = bt.released_begin(&r, t, bt.BT_PHASE_CONVERT)
    with nogil:
        s1 = add_bytes(p, n)
        bt.released_leave(&r)
    bt.released_end(&r)
    bt.bt_tracer_free(t)

    bt.bt_tracer_new(&t, NULL, b"bt_cython_ext.conflict")
    st[6] = bt.released_begin(&r, t, bt.BT_PHASE_EXTRACT)
    with nogil:
        s2 = add_bytes(p, n)
        bt.released_leave(&r)
    bt.released_end(&r)
    st[7] = bt.held_begin(t, bt.BT_PHASE_CONVERT)
    bt.bt_tracer_finish(t)
    bt.bt_tracer_free(t)

    names = ["null_begin", "null_next", "null_held_begin", "null_held_end", "null_out",
             "finished_begin", "conflict_released", "conflict_held"]
    d = {names[i]: bt.bt_status_name(st[i]).decode() for i in range(8)}
    d.update(null_sum=s0, finished_sum=s1, conflict_sum=s2, null_wait=null_wait)
    return d


def version():
    """(bt_version(), BT_VERSION_NUMBER, bt_version_string()): the library
    loaded and the header compiled against."""
    return bt.bt_version(), bt.BT_VERSION_NUMBER, bt.bt_version_string().decode()
