"""The docstore demo (examples/python_ext), end to end, with small batches.

Builds the example with pip (no build isolation: it finds boundarytrace through
this interpreter) into a temporary directory (conftest's ``docstore_site``, once
per session), runs demo.py --small against its own docstore-server (once per
backend of the suite), and checks the printed report and the JSON snapshot.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

import boundarytrace

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "examples", "python_ext")

_RUNS: dict = {}


@pytest.fixture
def demo_run(docstore_site, tmp_path_factory, backend):
    """Runs demo.py --small once per backend (BOUNDARYTRACE_BACKEND, so the
    report and the JSON come through that backend); returns (process, JSON path)."""
    if backend not in _RUNS:
        out = tmp_path_factory.mktemp(f"demo_{backend}") / "snapshot.json"
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(docstore_site), env.get("PYTHONPATH")) if p)
        env["BOUNDARYTRACE_BACKEND"] = backend
        env.pop("BOUNDARYTRACE_DISABLE", None)
        proc = subprocess.run(
            [sys.executable, os.path.join(EXAMPLE, "demo.py"), "--small", "--json", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, timeout=300,
        )
        assert proc.returncode == 0, f"demo failed:\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        _RUNS[backend] = (proc, out)
    return _RUNS[backend]


def _section(report: str, op: str) -> str:
    """The report's block for operation `op` (from its header line to the next blank line)."""
    m = re.search(rf"^{re.escape(op)}: .*?(?=^\s*$|\Z)", report, re.M | re.S)
    assert m, f"no section for {op} in:\n{report}"
    return m.group(0)


@pytest.mark.parametrize("op", ["insert_many", "find"])
def test_demo_smoke__report_shows_items_and_gil_releases(demo_run, op):
    proc, _ = demo_run
    section = _section(proc.stdout, op)
    ops, items = map(int, re.search(r": (\d+) ops, \d+ errors?, (\d+) items", section).groups())
    assert ops > 0 and items > 0, section
    releases = int(re.search(r"over (\d+) releases", section).group(1))
    assert releases == ops, section  # one release per operation (convert + network)
    for phase in ("extract", "convert", "network", "materialize"):
        assert re.search(rf"^\s+{phase}\s", section, re.M), section
    assert "p99" in section


def test_demo_smoke__large_batches_encode_in_parallel(demo_run):
    proc, _ = demo_run
    assert re.search(r"up to (\d+) workers", _section(proc.stdout, "insert_many"))


def test_demo_smoke__json_snapshot_parses(demo_run):
    _, path = demo_run
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    ops = data["ops"]
    for name in ("insert_many", "find"):
        op = ops[name]
        assert op["count"] > 0 and op["items"] > 0
        assert op["gil_releases"] == op["count"]
        assert op["errors"] == 0
        assert set(op["phases"]) >= {"extract", "convert", "network", "materialize"}
    assert ops["insert_many"]["workers_max"] >= 2


def test_demo_smoke__uses_the_installed_boundarytrace_and_the_chosen_backend(demo_run, backend):
    proc, _ = demo_run
    assert f"boundarytrace {boundarytrace.__version__} ({backend} backend)" in proc.stdout
