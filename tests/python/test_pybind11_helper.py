"""boundarytrace/pybind11.hpp: the GIL-aware phase guards, from Python.

A small pybind11 module (tests/python/helper_ext/) is built once per session
(conftest's helper_ext) against the installed package's headers and library
(boundarytrace.get_include() / get_library_dir()) and the interpreter's
pybind11. Its functions trace operations with the guards and return each
operation's timing as a dict.

Timing assertions are relative or use generous lower bounds (a noisy machine
only makes waits longer), never absolute upper bounds.
"""

from __future__ import annotations

import statistics
import sys
import threading

import pytest

import boundarytrace  # before the extension: it loads the shared library
from gil_busy import Busy

GIL_ENABLED = getattr(sys, "_is_gil_enabled", lambda: True)()


@pytest.fixture(scope="session")
def ext(helper_ext):
    """tests/python/helper_ext, built once for the session (conftest.py)."""
    return helper_ext


def _op(name: str):
    """The op's aggregates in a fresh snapshot, or None."""
    return boundarytrace.snapshot().get(name)


# --------------------------------------------------------------------------- #
# What one guard records                                                       #
# --------------------------------------------------------------------------- #

def test_pybind11_helper__released_phase_counts_one_release_and_keeps_wait_outside(ext):
    t = ext.released_sleep("helper_ext.released", 0.002)
    assert t["gil_releases"] == 1
    assert t["phase_entries"] == [1, 0, 1, 1]  # extract, convert, network, materialize
    assert t["phase_ns"][2] >= 2_000_000  # the sleep is inside the network phase
    assert t["gil_released_ns"] == t["phase_ns"][2]
    # The wait is measured after the phase ended, outside every phase: its own
    # figure, not part of the unattributed time.
    assert t["total_ns"] == t["unattributed_ns"] + t["gil_held_ns"] + t["gil_released_ns"] + t["gil_wait_ns"]
    assert t["flags"] == 0


def test_pybind11_helper__next_moves_between_released_phases_under_one_release(ext):
    t = ext.convert_then_network("helper_ext.next", 0.001)
    assert t["gil_releases"] == 1
    assert t["phase_entries"] == [0, 1, 1, 0]
    assert t["phase_ns"][1] >= 1_000_000 and t["phase_ns"][2] >= 1_000_000
    assert t["gil_held_ns"] == 0


def test_pybind11_helper__gil_release_scope_wraps_plain_phases(ext):
    t = ext.gil_release_scope("helper_ext.scope", 0.001)
    assert t["gil_releases"] == 1
    assert t["phase_entries"] == [0, 1, 1, 0]
    assert t["total_ns"] == t["unattributed_ns"] + t["gil_held_ns"] + t["gil_released_ns"] + t["gil_wait_ns"]


def test_pybind11_helper__guards_reject_a_phase_of_the_other_gil_state(ext):
    with pytest.raises(RuntimeError, match="BT_E_CONFLICT"):
        ext.released_on_held_phase()
    with pytest.raises(RuntimeError, match="BT_E_CONFLICT"):
        ext.held_on_released_phase()
    # The interpreter is fine afterwards: the GIL was never given up.
    assert ext.released_sleep("helper_ext.after_misuse", 0.0)["gil_releases"] == 1


def test_pybind11_helper__exception_inside_released_phase_reacquires_gil_and_marks_error(ext):
    before = _op("helper_ext.throws")
    errors_before = before.errors if before is not None else 0
    with pytest.raises(RuntimeError, match="boom while released"):
        ext.throw_while_released("helper_ext.throws")
    op = _op("helper_ext.throws")
    assert op.errors == errors_before + 1
    assert op.gil_releases >= 1


# --------------------------------------------------------------------------- #
# The GIL is really released, and the wait is really measured                  #
# --------------------------------------------------------------------------- #

def _handshake(ext, wait, op, timeout):
    """Calls ext.wait_for_flag* while a partner thread calls set_flag() as soon
    as the extension is inside its phase, which it can only do while the
    extension has released the GIL: a handshake, no timing involved."""
    done = threading.Event()

    def partner():
        while not done.is_set():
            if ext.inside():
                ext.set_flag()
                return

    th = threading.Thread(target=partner, daemon=True)
    th.start()
    try:
        return wait(op, timeout)
    finally:
        done.set()
        th.join()


def test_pybind11_helper__released_phase_lets_another_python_thread_run(ext):
    t = _handshake(ext, ext.wait_for_flag, "helper_ext.handshake", 30.0)
    assert t["flag_seen"] is True
    assert t["gil_releases"] == 1


def test_pybind11_helper__held_phase_blocks_other_python_threads(ext):
    # The control for the handshake above: with the GIL held, the partner
    # never runs during the call, so the flag is never seen. Free-threaded
    # (3.13t), an attached thread blocks nobody: the partner sets the flag.
    t = _handshake(ext, ext.wait_for_flag_held, "helper_ext.handshake_held",
                   0.2 if GIL_ENABLED else 30.0)
    assert t["flag_seen"] is (not GIL_ENABLED)
    assert t["gil_releases"] == 0


def test_pybind11_helper__busy_thread_advances_during_released_sleep_only(ext):
    # Progress is counted inside the extension (tick() needs the GIL), between
    # the phase's begin and end: exactly zero while the GIL is held.
    with Busy(ext):
        released = ext.released_sleep("helper_ext.counter", 0.3)["ticks"]
        held = ext.held_sleep("helper_ext.counter_held", 0.3)["ticks"]
    assert released > 0
    if GIL_ENABLED:
        assert held == 0
    else:  # 3.13t: holding (attached) blocks nobody
        assert held > 0


def test_pybind11_helper__gil_wait_large_under_contention_small_without(ext, switch_interval):
    # Each contended call stays released until the busy thread has taken the
    # GIL (it called tick()), so the busy thread holds it when the call asks
    # for it back: CPython grants it only after a switch interval, when it
    # asks the holder to drop it. A loaded machine only makes that longer.
    # Free-threaded (3.13t): nothing to contend for; the waits (re-attaching)
    # are still measured and reach the registry.
    with Busy(ext):
        runs = [ext.released_until_tick("helper_ext.contended", 30.0) for _ in range(15)]
    assert all(r["ticks"] > 0 for r in runs)
    contended = [r["gil_wait_ns"] for r in runs]
    # Without another thread, taking the GIL back is a mutex handoff.
    quiet = [ext.released_sleep("helper_ext.quiet", 0.001)["gil_wait_ns"] for _ in range(15)]

    if GIL_ENABLED:
        assert statistics.median(contended) >= switch_interval * 1e9 / 4, contended
        assert statistics.median(quiet) * 10 < statistics.median(contended), (quiet, contended)
    else:
        assert boundarytrace.gil_enabled() is False

    op = _op("helper_ext.contended")
    assert op.gil_wait_ns >= sum(contended)  # the registry saw (at least) these waits
    assert op.gil_releases >= len(contended)


# --------------------------------------------------------------------------- #
# One registry per process                                                     #
# --------------------------------------------------------------------------- #

def test_pybind11_helper__c_api_record_is_visible_in_python_snapshot(ext):
    before = _op("helper_ext.c_api")
    count0 = before.count if before is not None else 0
    items0 = before.items if before is not None else 0
    releases0 = before.gil_releases if before is not None else 0

    ext.record_c_api("helper_ext.c_api", 7, 3)

    op = _op("helper_ext.c_api")
    assert op is not None, boundarytrace.snapshot().format()
    assert op.count == count0 + 3
    assert op.items == items0 + 21
    assert op.gil_releases == releases0 + 3
    assert op.workers_max >= 2
    assert "helper_ext.c_api" in boundarytrace.snapshot().format()
