"""boundarytrace/python.h (the CPython C API), `cimport boundarytrace`
(Cython) and boundarytrace/nanobind.hpp (nanobind): GIL-aware phases in real
extensions, from Python.

Three extensions are built once per session (conftest.py: capi_ext,
cython_ext, nanobind_ext) with this interpreter's compiler against the
installed package's headers and library (boundarytrace.get_include() /
get_library_dir(), rpath): a hand-written C module, tests/python/ext_capi, a
Cython one, tests/python/ext_cython (Cython from PyPI), and a nanobind one,
tests/python/ext_nanobind (nanobind from PyPI, CMake). All offer the same
functions, and every check here runs against each (the `ext` fixture) on both
backends:
the extensions record through the library the package loaded, into the
process-wide sink that boundarytrace.snapshot() reads.

Timing assertions are relative or lower bounds (a noisy machine only makes
waits longer), never absolute upper bounds.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import threading

import pytest

import boundarytrace as bt  # before the extensions: it loads the shared library
from gil_busy import Busy

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
GIL_ENABLED = getattr(sys, "_is_gil_enabled", lambda: True)()

DATA = bytes(range(256)) * 4096  # 1 MiB: summing it is real work


@pytest.fixture(params=["capi", "cython", "nanobind"])
def ext(request):
    """The C API extension, the Cython one, the nanobind one."""
    return request.getfixturevalue(f"{request.param}_ext")


def _op(name):
    """The op's aggregates in a fresh snapshot, or None."""
    return bt.snapshot().get(name)


def _counts(name):
    """(count, gil_releases, gil_wait_ns, gil_released_ns) of an op so far;
    zeros if unknown."""
    op = _op(name)
    if op is None:
        return (0, 0, 0, 0)
    return (op.count, op.gil_releases, op.gil_wait_ns, op.gil_released_ns)


# --------------------------------------------------------------------------- #
# The phases, the releases and the wait of one operation                       #
# --------------------------------------------------------------------------- #

@pytest.mark.parametrize("chunks", [1, 4])
def test_helpers__held_extract_released_convert_held_materialize(ext, chunks):
    name = f"{ext.__name__}.sum.{chunks}"
    before = _counts(name)
    runs = [ext.sum_bytes(name, DATA, chunks) for _ in range(3)]
    for t in runs:
        assert t["sum"] == sum(DATA)
        assert t["finish_status"] == 0
        assert t["flags"] == 0  # nothing left open
        assert t["items"] == len(DATA)
        # one held extract, `chunks` released converts, one held materialize
        assert t["phase_entries"] == [1, chunks, 0, 1]
        assert t["gil_releases"] == chunks  # one release per `with nogil:` / BT_PY_* block
        assert t["phase_ns"][1] > 0
        assert t["gil_released_ns"] == t["phase_ns"][1]
        assert t["gil_held_ns"] == t["phase_ns"][0] + t["phase_ns"][3]
        # The wait is measured after the phase ended, outside every phase: its
        # own figure, not part of the unattributed time.
        assert t["total_ns"] == t["unattributed_ns"] + t["gil_held_ns"] + t["gil_released_ns"] + t["gil_wait_ns"]
        if "waits" in t:  # Cython: released_end returns each block's wait
            assert len(t["waits"]) == chunks and sum(t["waits"]) == t["gil_wait_ns"]

    op = _op(name)
    assert op is not None, bt.snapshot().format()
    assert op.count == before[0] + 3
    assert op.gil_releases == before[1] + 3 * chunks
    assert op.gil_wait_ns == before[2] + sum(t["gil_wait_ns"] for t in runs)
    assert op.gil_released_ns == before[3] + sum(t["gil_released_ns"] for t in runs)
    extract, convert, network, materialize = (op.phase(p) for p in
                                              (bt.EXTRACT, bt.CONVERT, bt.NETWORK, bt.MATERIALIZE))
    assert extract.gil_held is True and materialize.gil_held is True
    assert convert.gil_held is False
    assert extract.count >= 3 and materialize.count >= 3 and convert.count >= 3
    assert convert.entries >= 3 * chunks
    assert network.count == 0


def test_helpers__next_phase_under_one_release(ext):
    t = ext.convert_then_network(f"{ext.__name__}.next", DATA)
    assert t["sum"] == sum(DATA)
    assert t["status"] in (0, "BT_OK")
    assert t["gil_releases"] == 1
    assert t["phase_entries"] == [0, 1, 1, 0]
    assert t["gil_held_ns"] == 0
    assert t["gil_released_ns"] == t["phase_ns"][1] + t["phase_ns"][2]
    assert t["total_ns"] == t["unattributed_ns"] + t["gil_held_ns"] + t["gil_released_ns"] + t["gil_wait_ns"]


def test_helpers__wait_is_recorded_without_contention(ext):
    # Alone, taking the GIL back is a quick handoff, but it is measured and
    # recorded: what the stretch measured is what the tracer got.
    t = ext.released_until_tick(f"{ext.__name__}.alone", 0.001)
    assert t["status"] in (0, "BT_OK")
    assert t["gil_releases"] == 1
    assert t["gil_wait_ns"] >= 0
    if "wait_ns" in t:  # C API and Cython: the stretch's own measurement
        assert t["gil_wait_ns"] == t["wait_ns"]
    assert t["phase_entries"] == [0, 1, 0, 0]


# --------------------------------------------------------------------------- #
# The GIL is really released, and the wait is really measured                  #
# --------------------------------------------------------------------------- #

def test_helpers__released_phase_lets_another_python_thread_run(ext):
    # tick() needs the GIL: ticks counted inside the released phase prove that
    # the GIL was released (on 3.13t: that the thread detached).
    with Busy(ext):
        t = ext.released_until_tick(f"{ext.__name__}.runs_others", 30.0)
    assert t["ticks"] > 0
    assert t["gil_releases"] == 1


def test_helpers__gil_wait_positive_with_a_busy_thread_holding_the_gil(ext, switch_interval):
    # Each call stays released until the busy thread has taken the GIL (it
    # called tick()), so the busy thread holds it when the call asks for it
    # back: CPython grants it only after a switch interval. A loaded machine
    # only makes that longer.
    # Free-threaded (3.13t): no GIL to hold, the busy thread runs alongside;
    # the wait is the re-attach (a stop-the-world pause at most), measured
    # and recorded all the same.
    name = f"{ext.__name__}.contended"
    before = _counts(name)
    with Busy(ext):
        runs = [ext.released_until_tick(name, 30.0) for _ in range(10)]
    assert all(r["ticks"] > 0 for r in runs)
    waits = [r["gil_wait_ns"] for r in runs]
    assert all(r["gil_wait_ns"] == r.get("wait_ns", r["gil_wait_ns"]) for r in runs)
    if GIL_ENABLED:
        assert all(w > 0 for w in waits), waits
        assert statistics.median(waits) >= switch_interval * 1e9 / 4, waits
    else:
        assert bt.gil_enabled() is False
    for r in runs:
        # outside the convert phase, and not in the unattributed time
        assert r["total_ns"] == r["unattributed_ns"] + r["gil_held_ns"] + r["gil_released_ns"] + r["gil_wait_ns"]
    op = _op(name)
    assert op.count == before[0] + len(runs)
    assert op.gil_releases == before[1] + len(runs)
    assert op.gil_wait_ns == before[2] + sum(waits)
    assert op.gil_wait_ns > 0


# --------------------------------------------------------------------------- #
# Bad input never crashes; recording off                                       #
# --------------------------------------------------------------------------- #

def test_helpers__null_finished_and_wrong_phase_are_harmless(ext):
    finished_name = f"{ext.__name__}.finished"
    conflict_name = f"{ext.__name__}.conflict"
    finished0, conflict0 = _counts(finished_name), _counts(conflict_name)

    s = ext.misuse(DATA)

    # the work is done every time, the GIL released and reacquired
    assert s["null_sum"] == s["finished_sum"] == s["conflict_sum"] == sum(DATA)
    assert s["null_begin"] == s["null_held_begin"] == "BT_E_NULL"
    if ext.__name__ != "bt_nanobind_ext":
        # The C functions go on after a failure; the C++ guards throw in their
        # constructor (nanobind: the work then runs under GilRelease).
        assert s["null_next"] == s["null_held_end"] == "BT_E_NULL"
        assert s["null_out"] == "BT_E_NULL"  # no state to keep: nothing released
    assert s["finished_begin"] == "BT_E_FINISHED"
    assert s["conflict_released"] == "BT_E_CONFLICT"  # extract is GIL-held
    assert s["conflict_held"] == "BT_E_CONFLICT"  # convert is GIL-released

    # The finished tracer recorded its one operation, nothing after it.
    fin = _op(finished_name)
    assert fin.count == finished0[0] + 1
    assert fin.gil_releases == finished0[1] and fin.gil_wait_ns == finished0[2]
    # The wrong phases opened nothing; the release happened and was counted.
    con = _op(conflict_name)
    assert con.count == conflict0[0] + 1
    assert con.gil_releases == conflict0[1] + 1
    assert con.left_open == 0
    assert con.phase(bt.EXTRACT).count == 0 and con.phase(bt.CONVERT).count == 0

    # The interpreter is fine afterwards.
    assert ext.sum_bytes(f"{ext.__name__}.after_misuse", b"\x01\x02", 1)["sum"] == 3


def test_helpers__recording_off_still_releases_and_records_nothing(ext):
    name = f"{ext.__name__}.disabled"
    before = _counts(name)
    bt.set_enabled(False)
    try:
        t = ext.sum_bytes(name, DATA, 2)
        with Busy(ext):
            r = ext.released_until_tick(name, 30.0)
    finally:
        bt.set_enabled(True)
    assert t["sum"] == sum(DATA)
    assert t["finish_status"] == 0 and t["gil_releases"] == 0 and t["total_ns"] == 0
    assert r["ticks"] > 0  # the GIL was still released
    assert r["status"] in (0, "BT_OK")
    assert _counts(name) == before


def test_cython_helper__block_without_leave_closes_the_phase_and_records_no_wait(cython_ext):
    t = cython_ext.no_leave("bt_cython_ext.no_leave")
    assert t["sum"] == sum(range(1000))
    assert t["flags"] == 0  # the phase was closed by released_end, not by finish
    assert t["phase_entries"] == [0, 0, 1, 0]
    assert t["gil_releases"] == 1
    assert t["returned_wait"] == 0 and t["gil_wait_ns"] == 0


@pytest.mark.parametrize("name", ["cython", "nanobind"])
def test_helpers__header_and_library_agree(request, name):
    loaded, compiled, text = request.getfixturevalue(f"{name}_ext").version()
    assert loaded == compiled == bt.library_version()
    assert text.count(".") == 2


def test_nanobind_helper__exception_inside_released_phase_reacquires_gil_and_marks_error(nanobind_ext):
    name = "bt_nanobind_ext.throws"
    before = _op(name)
    errors0 = before.errors if before is not None else 0
    with pytest.raises(RuntimeError, match="boom while released"):
        nanobind_ext.throw_while_released(name)
    # The GIL is back: Python runs, and the extension can be called again.
    assert nanobind_ext.sum_bytes("bt_nanobind_ext.after_throw", b"\x05", 1)["sum"] == 5
    op = _op(name)
    assert op.errors == errors0 + 1
    assert op.gil_releases >= 1
    assert op.phase(bt.NETWORK).count >= 1  # the phase was closed by the guard
    assert op.left_open == 0


@pytest.mark.parametrize("which", ["released", "held"])
def test_nanobind_helper__guard_on_a_phase_of_the_other_gil_state_raises(nanobind_ext, which):
    # bt::error (a std::runtime_error) becomes RuntimeError; the class is named.
    guard = "ReleasedPhase" if which == "released" else "HeldPhase"
    with pytest.raises(RuntimeError, match=f"BT_E_CONFLICT.*bt::nano::{guard}"):
        nanobind_ext.wrong_phase(which)


# --------------------------------------------------------------------------- #
# Free-threaded builds; what the wheel ships                                   #
# --------------------------------------------------------------------------- #

def test_helpers__extensions_declare_they_need_no_gil(capi_ext, cython_ext, nanobind_ext):
    c_source = (HERE / "ext_capi" / "bt_capi_ext.c").read_text()
    assert "{Py_mod_gil, Py_MOD_GIL_NOT_USED}" in c_source
    pyx = (HERE / "ext_cython" / "bt_cython_ext.pyx").read_text()
    assert "# cython: freethreading_compatible = True" in pyx
    cmake = (HERE / "ext_nanobind" / "CMakeLists.txt").read_text()
    assert "nanobind_add_module(bt_nanobind_ext FREE_THREADED " in cmake
    if hasattr(sys, "_is_gil_enabled") and sysconfig_gil_disabled():
        # 3.13t: importing all three left the GIL off
        assert sys._is_gil_enabled() is False


def sysconfig_gil_disabled() -> bool:
    import sysconfig
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def test_helpers__headers_ship_with_the_package():
    # nanobind.hpp, pybind11.hpp and gil_guards.hpp: test_package.py
    include = pathlib.Path(bt.get_include()) / "boundarytrace"
    source = ROOT / "python" / "include" / "boundarytrace" / "python.h"
    assert (include / "python.h").read_text() == source.read_text()
    assert not (ROOT / "capi" / "include" / "boundarytrace" / "python.h").exists()
    pxd = pathlib.Path(bt.__file__).parent / "__init__.pxd"
    assert pxd.read_text() == (ROOT / "python" / "boundarytrace" / "__init__.pxd").read_text()


@pytest.mark.parametrize("lang", ["c", "c++"])
@pytest.mark.parametrize("disabled", [False, True])
def test_helpers__python_h_compiles_warning_free(tmp_path, lang, disabled):
    # C and C++, and with tracing compiled out (BT_DISABLE_TRACING: no library).
    import sysconfig
    compiler = shutil.which("cc" if lang == "c" else "c++")
    assert compiler, f"no {lang} compiler"
    src = tmp_path / ("t.c" if lang == "c" else "t.cpp")
    src.write_text(
        "#include <boundarytrace/python.h>\n"
        "int f(bt_tracer *t) {\n"
        "  int n = 0;\n"
        "  BT_PY_BEGIN_HELD(t, BT_PHASE_EXTRACT) n += 1; BT_PY_END_HELD\n"
        "  BT_PY_BEGIN_ALLOW_THREADS(t, BT_PHASE_CONVERT)\n"
        "    n += 1; BT_PY_NEXT_PHASE(BT_PHASE_NETWORK); n += (int)BT_PY_RELEASED_STATUS;\n"
        "  BT_PY_END_ALLOW_THREADS\n"
        "  return n;\n"
        "}\n")
    cmd = [compiler, "-fsyntax-only", "-Wall", "-Wextra", "-Werror",
           "-I", bt.get_include(), "-I", sysconfig.get_paths()["include"], str(src)]
    if disabled:
        cmd.insert(1, "-DBT_DISABLE_TRACING")
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.returncode == 0, proc.stdout
