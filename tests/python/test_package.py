"""The package: version, backend selection, the shipped library and headers."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

import boundarytrace as bt

from conftest import ROOT, header_define


def _run(code, **env):
    full = dict(os.environ)
    for k, v in env.items():
        if v is None:
            full.pop(k, None)
        else:
            full[k] = v
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full)
    return proc


def test_package__version_is_the_c_library_version():
    assert bt.__version__ == header_define("BT_VERSION_STRING").strip('"')
    assert bt.__version__ == bt._state.b.version_string()
    major, minor, patch = (int(header_define(f"BT_VERSION_{p}")) for p in
                           ("MAJOR", "MINOR", "PATCH"))
    assert bt.library_version() == major * 10000 + minor * 100 + patch


def test_package__distribution_version_matches():
    from importlib import metadata
    # scripts/test installs the package into .venv with pip
    assert metadata.version("boundarytrace") == bt.__version__


def test_package__backend_is_reported(backend):
    assert bt.backend == backend
    assert bt._state.name == backend


def test_package__clock_and_switches():
    assert bt.clock_source() in ("tsc", "monotonic")
    a = bt.clock_now_ns()
    b = bt.clock_now_ns()
    assert b >= a > 0
    assert bt.gil_enabled() is (sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True)


def test_package__headers_and_library_are_shipped():
    include = pathlib.Path(bt.get_include())
    shipped = (include / "boundarytrace" / "bt.h").read_text()
    assert f'#define BT_VERSION_STRING "{bt.__version__}"' in shipped
    assert (include / "boundarytrace" / "bt.hpp").exists()
    assert "namespace pybind" in (include / "boundarytrace" / "pybind11.hpp").read_text()
    assert "namespace nano" in (include / "boundarytrace" / "nanobind.hpp").read_text()
    # the implementation both include
    assert "namespace python_detail" in (include / "boundarytrace" / "gil_guards.hpp").read_text()
    libdir = pathlib.Path(bt.get_library_dir())
    assert (libdir / "libboundarytrace.so.1").is_file()
    assert pathlib.Path(bt.get_library()).name == "libboundarytrace.so.1"
    assert "INPUT(libboundarytrace.so.1)" in (libdir / "libboundarytrace.so").read_text()


def test_package__one_copy_of_the_library_without_ld_library_path():
    code = (
        "import boundarytrace, boundarytrace._native, boundarytrace._ctypes_backend\n"
        "maps = {l.split()[-1] for l in open('/proc/self/maps') if 'libboundarytrace' in l}\n"
        "print(boundarytrace.backend)\n"
        "print(len(maps))\n"
        "print(maps.pop())\n"
    )
    proc = _run(code, LD_LIBRARY_PATH=None, BOUNDARYTRACE_BACKEND=None,
                BOUNDARYTRACE_LIBRARY=None)
    assert proc.returncode == 0, proc.stderr
    backend, copies, path = proc.stdout.split()
    assert backend == "native"
    assert copies == "1"
    assert os.path.dirname(path) == bt.get_library_dir()


def test_package__environment_selects_ctypes():
    proc = _run("import sys, boundarytrace\n"
                "print(boundarytrace.backend, 'boundarytrace._native' in sys.modules)",
                BOUNDARYTRACE_BACKEND="ctypes", BOUNDARYTRACE_LIBRARY=None)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["ctypes", "False"]


def test_package__falls_back_to_ctypes_without_the_extension():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'boundarytrace._native':\n"
        "            raise ImportError('extension removed for the test')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import boundarytrace as bt\n"
        "with bt.trace('x') as t:\n"
        "    with t.phase(bt.EXTRACT): pass\n"
        "print(bt.backend, bt.snapshot()['x'].count)\n"
    )
    proc = _run(code, BOUNDARYTRACE_BACKEND=None, BOUNDARYTRACE_LIBRARY=None)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["ctypes", "1"]


def test_package__explicit_library_path():
    ok = _run("import boundarytrace as bt; print(bt.backend, bt.get_library())",
              BOUNDARYTRACE_BACKEND="ctypes", BOUNDARYTRACE_LIBRARY=bt.get_library())
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.split() == ["ctypes", bt.get_library()]
    bad = _run("import boundarytrace", BOUNDARYTRACE_BACKEND="ctypes",
               BOUNDARYTRACE_LIBRARY="/nonexistent/libboundarytrace.so.1")
    assert bad.returncode != 0
    assert "BOUNDARYTRACE_LIBRARY" in bad.stderr and "/nonexistent" in bad.stderr


def test_package__unknown_backend_name():
    proc = _run("import boundarytrace", BOUNDARYTRACE_BACKEND="fortran")
    assert proc.returncode != 0 and "fortran" in proc.stderr
    with pytest.raises(ValueError):
        bt._select_backend("fortran")


def test_package__disable_environment_variable():
    proc = _run("import boundarytrace as bt\n"
                "with bt.trace('x'): pass\n"
                "s = bt.snapshot()\n"
                "print(bt.enabled(), s['x'].count if 'x' in s else 0)",
                BOUNDARYTRACE_DISABLE="1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "0"]


def test_package__import_keeps_the_gil_state():
    # On a free-threaded build the GIL stays off after the import (the
    # extension declares it does not need it); elsewhere it is simply on.
    proc = _run("import sys\n"
                "state = getattr(sys, '_is_gil_enabled', lambda: True)\n"
                "g = state()\n"
                "import boundarytrace, boundarytrace._native\n"
                "print(g, state(), boundarytrace.gil_enabled())")
    assert proc.returncode == 0, proc.stderr
    before, after, reported = proc.stdout.split()
    assert before == after == reported


def test_package__typing_files_are_shipped():
    here = pathlib.Path(bt.__file__).parent
    assert (here / "py.typed").exists()
    assert (here / "_native.pyi").exists()


def test_package__public_names_are_documented():
    for name in bt.__all__:
        obj = getattr(bt, name)
        if isinstance(obj, (str, int)) and not isinstance(obj, bt.Phase):
            continue
        assert getattr(obj, "__doc__", None), name


@pytest.mark.parametrize("header", ["pybind11.hpp", "nanobind.hpp", "gil_guards.hpp"])
def test_package__cxx_helpers_ship_with_the_python_package_only(header):
    # the C layer knows no language: the guards live beside the package, and the
    # wheel's copy is the source tree's
    source = ROOT / "python" / "include" / "boundarytrace" / header
    assert source.is_file()
    assert not (ROOT / "capi" / "include" / "boundarytrace" / header).exists()
    shipped = pathlib.Path(bt.get_include()) / "boundarytrace" / header
    assert shipped.read_text() == source.read_text()


@pytest.mark.parametrize("header", ["pybind11.hpp", "nanobind.hpp"])
def test_package__cxx_helpers_include_only_shipped_headers(header):
    # every boundarytrace header a framework helper includes is in the wheel too
    import re
    include = pathlib.Path(bt.get_include())
    text = (include / "boundarytrace" / header).read_text()
    included = re.findall(r"^#include <(boundarytrace/[^>]+)>", text, re.M)
    assert "boundarytrace/gil_guards.hpp" in included
    for name in included:
        assert (include / name).is_file(), name


#: Submodules a user imports by name; they show in dir() once imported.
SUBMODULES = {"cli", "prometheus", "otel"}


def test_package__dir_shows_only_the_api():
    # a fresh interpreter: the names after `import boundarytrace`, then after
    # importing the public submodules too
    code = ("import boundarytrace as bt\n"
            "print(sorted(n for n in dir(bt) if not n.startswith('_')))\n"
            "print(sorted(bt.__all__))\n"
            "import boundarytrace.cli, boundarytrace.prometheus, boundarytrace.otel\n"
            "print(sorted(n for n in dir(bt) if not n.startswith('_')))\n")
    proc = _run(code)
    assert proc.returncode == 0, proc.stderr
    public, all_, with_submodules = (eval(line) for line in proc.stdout.splitlines())
    assert len(all_) == len(set(all_))
    assert set(public) == set(all_), (set(public) ^ set(all_))
    assert set(with_submodules) == set(all_) | SUBMODULES
    for leak in ("os", "sys", "annotations", "Optional"):
        assert leak not in public


def test_package__dir_in_this_process():
    # whatever the suite imported so far: the API and the public submodules only
    public = {n for n in dir(bt) if not n.startswith("_")}
    assert set(bt.__all__) <= public <= set(bt.__all__) | SUBMODULES


def test_package__command_line_is_a_subpackage():
    import boundarytrace.cli as cli
    here = pathlib.Path(bt.__file__).parent
    assert pathlib.Path(cli.__file__).parent == here / "cli"
    for name in ("cli.py", "_budget.py", "_html_report.py", "_snapshot_file.py", "_units.py",
                 "default_budget.toml"):
        assert not (here / name).exists(), name  # nothing of the tool beside the binding
    assert (here / "cli" / "default_budget.toml").is_file()
    assert callable(cli.main) and set(cli.__all__) <= set(dir(cli))
    proc = subprocess.run([sys.executable, "-m", "boundarytrace.cli", "--help"],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "usage: boundarytrace" in proc.stdout


@pytest.mark.parametrize("backend", ["native", "ctypes"])
def test_package__import_leaves_the_network_modules_alone(backend):
    # Every worker process imports the package: the HTTP client and server
    # modules (urllib.request, http.server: a third of the import time, with
    # email and ssl behind them) load only when a process pushes or serves.
    env = {k: v for k, v in os.environ.items()
           if k not in ("BOUNDARYTRACE_LISTEN", "BOUNDARYTRACE_OTLP_ENDPOINT")}
    env["BOUNDARYTRACE_BACKEND"] = backend
    code = ("import sys, boundarytrace as bt; bt.trace('x').finish(); "
            "print(sorted(m for m in ('urllib.request', 'http.server', 'http.client', 'inspect')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
