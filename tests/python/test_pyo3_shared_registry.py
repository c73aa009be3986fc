"""A PyO3 extension and a pybind11 extension share one registry, and so do
the C API, Cython and nanobind test extensions beside them (one test
imports all five and finds their operations in one snapshot).

In one interpreter: ``bt_pyo3_demo`` (examples/pyo3_ext, Rust + PyO3, links
libboundarytrace through pkg-config) and ``docstore`` (examples/python_ext,
C++ + pybind11). Both record into the process-wide sink of the one
libboundarytrace.so.1 that ``import boundarytrace`` loaded, so one
``boundarytrace.snapshot()`` holds the operations of both.

bt_pyo3_demo is built by cargo, which takes a while from scratch, so
scripts/test installs it into this interpreter (its FFI block); it is imported
here, and a missing one is a failure with the command that installs it.
docstore builds in seconds: it is built into a temporary directory once per
session (conftest's docstore_site, shared with test_demo_smoke.py).
"""

from __future__ import annotations

import os
import sys

import pytest

import boundarytrace  # first: the extensions then share its libboundarytrace.so.1
from conftest import run_threads

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYO3_EXAMPLE = os.path.join(ROOT, "examples", "pyo3_ext")

PYO3_OP = "pyo3_insert_many"
DOCSTORE_OP = "insert_many"
PHASES = ("extract", "convert", "network", "materialize")


@pytest.fixture(scope="module")
def pyo3_demo():
    """The installed bt_pyo3_demo module."""
    try:
        import bt_pyo3_demo
    except ImportError as e:
        bindir = os.path.dirname(sys.executable)
        pytest.fail(
            f"bt_pyo3_demo is not installed in {sys.executable} ({e}).\n"
            "scripts/test installs it; by hand (needs cargo and maturin):\n"
            f"  PATH={bindir}:$PATH {sys.executable} -m pip install maturin\n"
            f"  PATH={bindir}:$PATH {sys.executable} -m pip install --no-build-isolation "
            f"{PYO3_EXAMPLE}", pytrace=False)
    return bt_pyo3_demo


@pytest.fixture(scope="module")
def docstore(docstore_site):
    """The docstore package, built once for the session (conftest's
    docstore_site, which test_demo_smoke.py shares) and imported."""
    if str(docstore_site) not in sys.path:
        sys.path.insert(0, str(docstore_site))
    import docstore
    return docstore


@pytest.fixture(scope="module")
def docstore_client(docstore):
    with docstore.start_server() as server:
        yield docstore.Client(server.host, server.port)


@pytest.fixture
def pyo3_client(pyo3_demo):
    client = pyo3_demo.Client()
    yield client
    client.close()


def make_docs(n: int, tag: str) -> list:
    return [{"_id": i, "tag": tag, "score": i * 0.5, "tags": ["a", i], "sub": {"ok": True},
             "raw": b"\x00\x01"} for i in range(n)]


def _mapped_libraries() -> dict:
    """(dev, inode) -> path of every libboundarytrace mapped into this process."""
    copies = {}
    with open("/proc/self/maps", encoding="utf-8") as f:
        for line in f:
            fields = line.split(None, 5)
            if len(fields) == 6 and "libboundarytrace" in fields[5]:
                copies[(fields[3], fields[4])] = fields[5].strip()
    return copies


def test_pyo3_shared_registry__one_library_in_the_process(pyo3_demo, docstore):
    """Both extensions resolved libboundarytrace.so.1 to the package's copy."""
    # /proc/self/maps: address perms offset dev inode path. One file mapped,
    # whatever its segments; compared by (dev, inode) so that a package
    # reinstalled meanwhile (path now "... (deleted)") does not matter.
    copies = _mapped_libraries()
    assert len(copies) == 1, f"more than one libboundarytrace in the process: {copies}"
    path = next(iter(copies.values()))
    if not path.endswith("(deleted)"):
        assert os.path.samefile(path, boundarytrace.get_library()), (path, boundarytrace.get_library())
    version, number, _linked_dir = pyo3_demo.build_info()
    assert (version, number) == (boundarytrace.__version__, boundarytrace.library_version())


def test_pyo3_shared_registry__both_operations_in_one_snapshot(pyo3_client, docstore_client):
    docs = make_docs(20, "shared")
    assert docstore_client.insert_many(docs) == len(docs)
    assert pyo3_client.insert_many(docs) == list(range(len(docs)))

    snap = boundarytrace.snapshot()
    assert PYO3_OP in snap and DOCSTORE_OP in snap, snap.names()
    for name in (PYO3_OP, DOCSTORE_OP):
        op = snap[name]
        assert (op.count, op.errors, op.items) == (1, 0, len(docs)), op
        assert op.gil_releases == 1, op  # convert + network under one release
        assert set(op.phases) >= set(PHASES), (name, list(op.phases))
        for phase in PHASES:
            assert op.phases[phase].count == 1 and op.phases[phase].entries == 1, (name, phase)
        assert op.phases["extract"].gil_held and not op.phases["network"].gil_held


def test_pyo3_shared_registry__pyo3_timing_matches_the_snapshot(pyo3_client):
    pyo3_client.insert_many(make_docs(300, "parallel"))  # >= 256: encoded by workers
    timing = pyo3_client.last_timing
    assert timing["op_name"] == PYO3_OP and timing["items"] == 300
    assert timing["gil_releases"] == 1 and timing["workers"] >= 2 and not timing["error"]
    # Phases and the GIL wait add up: GIL wait falls outside every phase.
    phases_ns = sum(ns for ns, _ in timing["phases"].values())
    assert timing["total_ns"] == phases_ns + timing["gil_wait_ns"] + timing["unattributed_ns"]
    assert timing["gil_released_ns"] == timing["phases"]["convert"][0] + timing["phases"]["network"][0]

    op = boundarytrace.snapshot()[PYO3_OP]
    assert op.count == 1 and op.parallel_ops == 1 and op.workers_max == timing["workers"]
    assert op.gil_wait_ns == timing["gil_wait_ns"]
    # One sample: each percentile is clamped to [min, max], the sample itself.
    assert op.phases["network"].p50_ns == timing["phases"]["network"][0]
    assert op.total.p50_ns == timing["total_ns"]


def test_pyo3_shared_registry__a_failed_pyo3_call_is_recorded_as_an_error(pyo3_client):
    with pytest.raises(TypeError, match="cannot store a value of type object"):
        pyo3_client.insert_many([{"ok": 1}, {"bad": object()}])
    with pytest.raises(TypeError, match="iterable of dicts"):
        pyo3_client.insert_many([1])
    op = boundarytrace.snapshot()[PYO3_OP]
    assert (op.count, op.errors, op.items) == (2, 2, 0)
    assert pyo3_client.insert_many([{"_id": "x"}]) == ["x"]  # the client still works


def test_pyo3_shared_registry__threads_of_both_extensions_count_exactly(pyo3_demo, docstore_client):
    threads, per_thread = 4, 5

    def work(i: int) -> None:
        client = pyo3_demo.Client()
        try:
            for rep in range(per_thread):
                docs = make_docs(10, f"t{i}-{rep}")
                assert client.insert_many(docs) == list(range(10))
                assert docstore_client.insert_many(docs) == 10
        finally:
            client.close()

    run_threads(threads, work)
    snap = boundarytrace.snapshot()
    for name in (PYO3_OP, DOCSTORE_OP):
        op = snap[name]
        assert (op.count, op.errors, op.items) == (threads * per_thread, 0, threads * per_thread * 10)
        assert op.gil_releases == op.count


def test_pyo3_shared_registry__every_framework_records_into_one_snapshot(
        pyo3_client, docstore_client, capi_ext, cython_ext, nanobind_ext):
    """The four real extensions (Rust/PyO3, the CPython C API, Cython, nanobind)
    and the pybind11 demo, imported into one process, record into one
    registry: one snapshot holds all their operations, exactly, and one
    libboundarytrace is mapped."""
    docs = make_docs(5, "every")
    assert docstore_client.insert_many(docs) == len(docs)
    assert pyo3_client.insert_many(docs) == list(range(len(docs)))
    data = bytes(range(256)) * 4
    exts = (capi_ext, cython_ext, nanobind_ext)
    for ext in exts:
        assert ext.sum_bytes(f"every.{ext.__name__}", data, 2)["sum"] == sum(data)
    assert len(_mapped_libraries()) == 1

    snap = boundarytrace.snapshot()
    for name in (PYO3_OP, DOCSTORE_OP):
        assert (snap[name].count, snap[name].items, snap[name].gil_releases) == (1, len(docs), 1)
    for ext in exts:
        op = snap[f"every.{ext.__name__}"]
        assert (op.count, op.errors, op.gil_releases) == (1, 0, 2), ext.__name__
        assert op.phase(boundarytrace.CONVERT).entries == 2
    # each released the GIL and measured its wait: the wait's own distribution
    assert all(snap[name].gil_wait.count == 1 for name in
               [PYO3_OP, DOCSTORE_OP] + [f"every.{e.__name__}" for e in exts])
