"""Fixtures of the Python suite.

Every test runs once per backend: the autouse ``backend`` fixture switches the
package between the pybind11 extension and the ctypes backend in this process
(both drive the same copy of libboundarytrace, as the package guarantees).
``BOUNDARYTRACE_TEST_BACKENDS=ctypes`` restricts the run to some backends; a
missing native extension is a failure otherwise, never a silent skip.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

import boundarytrace

ROOT = pathlib.Path(__file__).resolve().parents[2]
HEADER = ROOT / "capi" / "include" / "boundarytrace" / "bt.h"

_WANTED = [b.strip() for b in
           os.environ.get("BOUNDARYTRACE_TEST_BACKENDS", "native,ctypes").split(",") if b.strip()]


def run_threads(count: int, target) -> None:
    """Runs target(i) for i in range(count) on `count` threads released
    together (a barrier); re-raises, in the caller, what any of them raised."""
    import threading
    barrier = threading.Barrier(count)
    errors = []

    def body(i):
        try:
            barrier.wait()
            target(i)
        except BaseException as exc:  # reported by the calling thread
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors

def header_define(name: str) -> str:
    """The value of `#define <name> <value>` in the source tree's bt.h."""
    m = re.search(rf"^#define {name} (.+)$", HEADER.read_text(), re.M)
    assert m, f"{name} not in {HEADER}"
    return m.group(1).strip()


@pytest.fixture(params=_WANTED, autouse=True)
def backend(request):
    """Selects the backend under test; every test starts enabled, on a reset global sink."""
    name = request.param
    previous = boundarytrace.backend
    boundarytrace._select_backend(name)
    assert boundarytrace.backend == name
    boundarytrace.set_enabled(True)
    boundarytrace.reset()
    yield name
    boundarytrace.set_enabled(True)
    boundarytrace._select_backend(previous)


@pytest.fixture
def metrics():
    """A private sink, closed after the test."""
    with boundarytrace.Metrics() as m:
        yield m


@pytest.fixture(scope="session")
def docstore_site(tmp_path_factory):
    """A directory holding the freshly built `docstore` demo package
    (examples/python_ext), built once for the session with pip (no build
    isolation: it finds boundarytrace through this interpreter)."""
    # scripts/test installs all of these; a missing one is a failure, not a skip.
    import pybind11  # noqa: F401
    import scikit_build_core  # noqa: F401
    assert shutil.which("cmake") and shutil.which("pkg-config"), "cmake and pkg-config are needed"
    assert subprocess.run(["pkg-config", "--exists", "libbson-1.0"]).returncode == 0, \
        "libbson-1.0 not found (Debian: apt-get install libbson-dev)"
    site = tmp_path_factory.mktemp("docstore_site")
    cmd = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-build-isolation",
        "--no-deps", "--no-index", "--target", str(site), str(ROOT / "examples" / "python_ext"),
    ]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.returncode == 0, f"building the example failed:\n{proc.stdout}"
    return site


def _build_setuptools_extension(tmp_path_factory, srcdir: str, module: str):
    """Copies tests/python/<srcdir> (a setup.py and the module's source) into a
    temporary directory, builds it there with `setup.py build_ext --inplace`
    (this interpreter, its compiler, setuptools and, for .pyx, Cython),
    against the installed package's headers and library, and imports it.
    Nothing is written into the source tree."""
    import importlib
    import setuptools  # noqa: F401  (scripts/test installs it: missing is a failure)
    build = tmp_path_factory.mktemp(f"{srcdir}_build")
    shutil.copytree(pathlib.Path(__file__).parent / srcdir, build, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "build", "*.so", "*.c.tmp"))
    env = dict(os.environ, BT_INCLUDE_DIR=boundarytrace.get_include(),
               BT_LIBRARY_DIR=boundarytrace.get_library_dir())
    cmd = [sys.executable, "setup.py", "build_ext", "--inplace"]
    proc = subprocess.run(cmd, cwd=build, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    assert proc.returncode == 0, f"building {srcdir} failed:\n{proc.stdout}"
    sys.path.insert(0, str(build))
    try:
        return importlib.import_module(module)
    finally:
        sys.path.remove(str(build))


@pytest.fixture(scope="session")
def capi_ext(tmp_path_factory):
    """tests/python/ext_capi: a CPython C API extension using
    boundarytrace/python.h, built once for the session."""
    return _build_setuptools_extension(tmp_path_factory, "ext_capi", "bt_capi_ext")


@pytest.fixture(scope="session")
def cython_ext(tmp_path_factory):
    """tests/python/ext_cython: a Cython extension that does `cimport
    boundarytrace`, built once for the session (Cython from PyPI)."""
    import Cython  # noqa: F401  (scripts/test installs it: missing is a failure)
    return _build_setuptools_extension(tmp_path_factory, "ext_cython", "bt_cython_ext")


def _ext_cache_dir(kind: str, *key_parts: str) -> pathlib.Path:
    """A build directory for a test extension that outlives the session, so a
    re-run rebuilds only what changed: $BT_TEST_EXT_CACHE (default
    build/test-extensions under the repository root), one subdirectory per
    interpreter and key (a CMake cache is tied to one interpreter)."""
    import hashlib
    base = pathlib.Path(os.environ.get("BT_TEST_EXT_CACHE") or ROOT / "build" / "test-extensions")
    key = "\0".join((sys.executable, sys.version, *key_parts))
    tag = f"{sys.implementation.cache_tag}{getattr(sys, 'abiflags', '')}"
    path = base / f"{kind}-{tag}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def nanobind_ext():
    """tests/python/ext_nanobind: a nanobind module using
    boundarytrace/nanobind.hpp, built with CMake and nanobind_add_module(...
    FREE_THREADED ...) (nanobind from PyPI) against the installed package's
    headers and library. Its build directory is kept between sessions
    (_ext_cache_dir): nanobind's own library is compiled once per interpreter,
    later sessions rebuild only what changed (the module, after a header or
    library change), under a lock so concurrent sessions do not collide."""
    import fcntl
    import importlib
    import nanobind  # scripts/test installs it: missing is a failure
    assert shutil.which("cmake"), "cmake is needed to build the nanobind test extension"
    nb_cmake = subprocess.run([sys.executable, "-m", "nanobind", "--cmake_dir"],
                              stdout=subprocess.PIPE, text=True, check=True).stdout.strip()
    build = _ext_cache_dir("nanobind", nanobind.__version__, boundarytrace.get_include())
    configure = [
        "cmake", "-S", str(pathlib.Path(__file__).parent / "ext_nanobind"), "-B", str(build),
        f"-DPython_EXECUTABLE={sys.executable}",
        f"-Dnanobind_DIR={nb_cmake}",
        f"-DBT_INCLUDE_DIR={boundarytrace.get_include()}",
        f"-DBT_LIBRARY_DIR={boundarytrace.get_library_dir()}",
        "-DCMAKE_BUILD_TYPE=Release",
    ]
    if shutil.which("ninja") and not (build / "Makefile").exists():
        configure += ["-G", "Ninja"]
    with open(build / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for cmd in (configure, ["cmake", "--build", str(build), "--parallel", "2"]):
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}"
    sys.path.insert(0, str(build))
    try:
        return importlib.import_module("bt_nanobind_ext")
    finally:
        sys.path.remove(str(build))


@pytest.fixture(scope="session")
def helper_ext(tmp_path_factory):
    """tests/python/helper_ext: a pybind11 module using boundarytrace/pybind11.hpp,
    built once for the session with CMake into a temporary directory (this
    interpreter's pybind11, the installed package's headers and library)."""
    import importlib
    import pybind11  # installed by scripts/test: missing is a failure
    assert shutil.which("cmake"), "cmake is needed to build the test extension"
    build = tmp_path_factory.mktemp("helper_ext_build")
    configure = [
        "cmake", "-S", str(pathlib.Path(__file__).parent / "helper_ext"), "-B", str(build),
        f"-DPython_EXECUTABLE={sys.executable}",
        f"-Dpybind11_DIR={pybind11.get_cmake_dir()}",
        f"-DBT_INCLUDE_DIR={boundarytrace.get_include()}",
        f"-DBT_LIBRARY_DIR={boundarytrace.get_library_dir()}",
        "-DCMAKE_BUILD_TYPE=Release",
    ]
    if shutil.which("ninja"):
        configure += ["-G", "Ninja"]
    for cmd in (configure, ["cmake", "--build", str(build)]):
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}"
    sys.path.insert(0, str(build))
    try:
        return importlib.import_module("bt_helper_ext")
    finally:
        sys.path.remove(str(build))


@pytest.fixture
def switch_interval():
    """The interpreter's GIL switch interval, pinned to 5 ms for the test."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    yield 0.005
    sys.setswitchinterval(old)


def pytest_sessionfinish(session, exitstatus):
    """With BT_FAIL_ON_SKIP=1 (the interpreter matrix sets it) a skipped test
    fails the run: every test here applies to every interpreter the package
    claims, so a skip there would hide a test that did not run."""
    if os.environ.get("BT_FAIL_ON_SKIP") != "1" or exitstatus != 0:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped:
        reporter.write_line(f"BT_FAIL_ON_SKIP: {len(skipped)} test(s) skipped on {sys.version}:", red=True)
        for rep in skipped:
            reporter.write_line(f"  {rep.nodeid}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="module")
def collector(tmp_path_factory):
    """A real OpenTelemetry Collector on loopback, passing on to a receiver
    here: (its OTLP/HTTP endpoint, the queue of what it passed on). See
    otel_collector.py; imported here only when used (the matrix venvs have
    no opentelemetry-proto)."""
    import otel_collector
    yield from otel_collector.run(tmp_path_factory)
