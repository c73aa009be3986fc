"""The two backends read the same library state identically.

Both are loaded in this process and drive one copy of libboundarytrace, so a
snapshot read through the ctypes Structures must equal the same snapshot read
through the C structs compiled into the extension: this checks the ctypes
mirrors of bt_timing, bt_op_stats, bt_phase_stats, bt_bucket and
bt_snapshot_info field by field.
"""

from __future__ import annotations

import pytest

import boundarytrace as bt
from boundarytrace import _backend


def test_backends__same_snapshot_through_both():
    native = _backend.load("native")
    cty = _backend.load("ctypes")
    for v in (3, 17, 400, 90000):  # the global sink: both backends reach it
        bt.record("cmp", v * 3, phases={bt.EXTRACT: v, bt.NETWORK: (v, 2)}, items=v,
                  gil_wait_ns=v, gil_releases=2, workers=3, error=v == 17)
    a, b = native.metrics_global().snapshot(), cty.metrics_global().snapshot()
    assert a.info()[0] == b.info()[0] and a.info()[3] == b.info()[3]
    i = a.find(b"cmp")
    assert i == b.find(b"cmp") is not None
    assert a.op_stats(i) == b.op_stats(i)
    for pid in (-1, 0, 1, 2, 3):
        assert a.phase_stats(i, pid) == b.phase_stats(i, pid)
        assert a.buckets(i, pid) == b.buckets(i, pid)
        assert a.quantile(i, pid, 0.5) == b.quantile(i, pid, 0.5)
    # the first line says how long the interval was: the snapshots differ there
    assert a.format().split("\n")[1:] == b.format().split("\n")[1:]


def test_backends__same_timing_through_both():
    native = _backend.load("native")
    cty = _backend.load("ctypes")
    rows = []
    for mod in (native, cty):
        t = mod.metrics_global().op(b"timing_cmp").tracer()
        t.begin(0)
        t.end(0)
        t.add_items(9)
        t.set_workers(5)
        t.gil_wait(77)
        t.set_error()
        t.finish()
        rows.append(t.timing())
    (n, c) = rows
    assert n[0] == c[0] == "timing_cmp"
    assert n[6:10] == c[6:10] == (9, 0, 5, 1)  # items, releases, workers, flags
    assert n[5] == c[5] == 77
    assert len(n[10]) == len(c[10]) == bt._state.b.phase_count()
    assert native.timing_format(*((b"x",) + n[1:])) == cty.timing_format(*((b"x",) + n[1:]))


def test_backends__native_scope_checks_its_arguments():
    native = _backend.load("native")
    with pytest.raises(TypeError):
        native.scope(object(), 0)
    with pytest.raises(TypeError):
        native.scope(None, 0)
    tracer = native.metrics_global().op(b"scope_args").tracer()
    with pytest.raises(TypeError):
        native.scope(tracer, "0")
    with pytest.raises(bt.UnknownPhaseError):
        native.scope(tracer, 2 ** 40)
    with native.scope(tracer, 0) as s:
        assert s.phase == 0
    tracer.finish()
