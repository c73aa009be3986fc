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

import pytest

import boundarytrace

ROOT = pathlib.Path(__file__).resolve().parents[2]
HEADER = ROOT / "capi" / "include" / "boundarytrace" / "bt.h"

_WANTED = [b.strip() for b in
           os.environ.get("BOUNDARYTRACE_TEST_BACKENDS", "native,ctypes").split(",") if b.strip()]


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
