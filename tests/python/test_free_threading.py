"""Free-threaded CPython (3.13t) and GIL builds alike: what each promises.

On a free-threaded build every extension of the project declares that it
does not need the GIL (pybind11 ``py::mod_gil_not_used()``, Cython
``freethreading_compatible``, the C API's ``Py_mod_gil`` slot, nanobind
``FREE_THREADED``, PyO3 ``gil_used = false``), so importing all of them leaves the GIL off; on a GIL
build the GIL is simply on. Either way, 8 threads tracing at once lose
nothing: the counts are exact, through the package and through the native
extensions. The matrix (scripts/lib/python_matrix.sh) runs this file on
every interpreter the package claims, 3.13t included.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import sysconfig

import pytest

import boundarytrace as bt
from conftest import run_threads

FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
THREADS = 8
OPS_PER_THREAD = 500

#: Extensions installed into the interpreter by the test command rather than
#: built by a fixture (cargo/maturin builds take minutes): imported too, when
#: present (tests of their own fail when they are missing).
INSTALLED_EXTENSIONS = ("bt_pyo3_demo",)


def _module_dir(module) -> str:
    return os.path.dirname(os.path.abspath(module.__file__))


def test_free_threading__importing_every_extension_keeps_the_gil_state(
        capi_ext, cython_ext, helper_ext, nanobind_ext, docstore_site):
    # A fresh interpreter: what imports in this one (pytest, plugins) is no
    # concern of the package. Warnings are errors there, so the
    # RuntimeWarning CPython gives when an import turns the GIL back on fails
    # the import by itself.
    exts = (capi_ext, cython_ext, helper_ext, nanobind_ext)
    modules = ["boundarytrace", "boundarytrace._native", *(e.__name__ for e in exts),
               "docstore", "docstore._docstore"]
    modules += [m for m in INSTALLED_EXTENSIONS if importlib.util.find_spec(m) is not None]
    code = (
        "import importlib, json, sys, warnings\n"
        "warnings.simplefilter('error')\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "import boundarytrace\n"
        "print(json.dumps({'has_is_gil_enabled': hasattr(sys, '_is_gil_enabled'),\n"
        "                  'gil': getattr(sys, '_is_gil_enabled', lambda: True)(),\n"
        "                  'reported': boundarytrace.gil_enabled(),\n"
        "                  'loaded': sorted(m for m in sys.modules if m in " + repr(modules) + ")}))\n")
    env = dict(os.environ)
    env.pop("PYTHON_GIL", None)  # PYTHON_GIL=1 would turn it on whatever the modules say
    paths = [_module_dir(e) for e in exts] + [str(docstore_site)]
    env["PYTHONPATH"] = os.pathsep.join(paths + [p for p in [env.get("PYTHONPATH")] if p])
    proc = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    state = json.loads(proc.stdout)
    assert state["loaded"] == sorted(modules)
    if FREE_THREADED:
        assert state == dict(state, has_is_gil_enabled=True, gil=False, reported=False)
    elif sys.version_info >= (3, 13):
        assert state == dict(state, has_is_gil_enabled=True, gil=True, reported=True)
    else:  # before 3.13 there is no free-threaded build and no sys._is_gil_enabled
        assert state == dict(state, has_is_gil_enabled=False, gil=True, reported=True)


def test_free_threading__gil_state_reported_by_the_package():
    assert bt.gil_enabled() is (not FREE_THREADED or sys._is_gil_enabled())
    if FREE_THREADED:
        assert bt.gil_enabled() is False  # nothing this suite imports turned it on


def _run_threads(target):
    """Runs target(i) on THREADS threads started together; re-raises their errors."""
    run_threads(THREADS, target)


def test_free_threading__eight_threads_trace_into_the_global_sink_exactly():
    # The package's own tracers (both backends: conftest), the process-wide
    # sink, a phase of our own entered twice per operation, the decorator,
    # and a snapshot taken while the others record.
    mine = bt.register_phase("ft_checksum", gil_held=True)
    snapshots = []

    @bt.traced("ft.decorated")
    def decorated(i):
        return i

    def work(i):
        for k in range(OPS_PER_THREAD):
            with bt.trace("ft.phases") as t:
                with t.phase(bt.EXTRACT):
                    pass
                for _ in range(2):
                    with t.phase(mine):
                        pass
                with t.phase(bt.NETWORK):
                    pass
                t.add_items(i + 1)
                t.add_gil_release()
            assert decorated(k) == k
            if i == 0 and k % 100 == 0:
                snapshots.append(bt.snapshot().get("ft.phases"))

    _run_threads(work)
    n = THREADS * OPS_PER_THREAD
    snap = bt.snapshot()
    op = snap["ft.phases"]
    assert (op.count, op.errors, op.left_open, op.gil_releases) == (n, 0, 0, n)
    assert op.items == OPS_PER_THREAD * sum(range(1, THREADS + 1))
    assert op.phase(bt.EXTRACT).count == n and op.phase(bt.EXTRACT).entries == n
    assert op.phase(bt.NETWORK).count == n and op.phase(bt.NETWORK).entries == n
    assert op.phase(mine).count == n and op.phase(mine).entries == 2 * n
    assert op.phase(bt.CONVERT).count == 0
    assert op.total.count == n and sum(b.count for b in op.total.buckets) == n
    assert snap["ft.decorated"].count == n
    # Snapshots taken on the way never ran ahead and never went back.
    counts = [s.count for s in snapshots if s is not None]
    assert counts == sorted(counts) and all(c <= n for c in counts)


@pytest.mark.parametrize("which", ["capi", "cython", "nanobind", "helper"])
def test_free_threading__eight_threads_in_a_native_extension_exactly(request, which):
    # Real extensions (the C API, Cython, nanobind, pybind11), each call a held phase
    # and released ones (the thread detaches on 3.13t), from 8 threads at once.
    ext = request.getfixturevalue(f"{which}_ext")
    name = f"ft.{which}"
    before = bt.snapshot().get(name)
    count0 = before.count if before is not None else 0
    releases0 = before.gil_releases if before is not None else 0
    calls = 50
    data = bytes(range(256)) * 64

    def work(i):
        for _ in range(calls):
            if which == "helper":
                t = ext.released_sleep(name, 0.0)
                assert t["gil_releases"] == 1 and t["flags"] == 0
            else:
                t = ext.sum_bytes(name, data, 2)
                assert t["sum"] == sum(data) and t["gil_releases"] == 2 and t["flags"] == 0

    _run_threads(work)
    op = bt.snapshot()[name]
    n = THREADS * calls
    per_call = 1 if which == "helper" else 2
    assert op.count == count0 + n
    assert op.gil_releases == releases0 + per_call * n
    assert op.errors == 0 and op.left_open == 0
    released = bt.NETWORK if which == "helper" else bt.CONVERT
    assert op.phase(released).entries >= per_call * n
