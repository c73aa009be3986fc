"""Snapshots: exact values from recorded timings, percentiles, buckets, take, reset."""

from __future__ import annotations

import json
import math
import platform
import sys
import sysconfig

import pytest

import boundarytrace as bt


def test_snapshot__sums_and_exact_percentiles(metrics):
    # Values below 32 ns fall into one-nanosecond buckets: percentiles are exact.
    for v in range(1, 31):
        metrics.record("exact", 100 + v, phases={bt.EXTRACT: v, bt.NETWORK: (2 * v, 2)},
                       items=1)
    op = metrics.snapshot()["exact"]
    assert (op.count, op.items, op.errors) == (30, 30, 0)
    assert op.total_ns == sum(100 + v for v in range(1, 31))
    ex = op.phases["extract"]
    assert (ex.count, ex.entries, ex.sum_ns, ex.min_ns, ex.max_ns) == (30, 30, 465, 1, 30)
    # nearest rank: p50 -> 15th, p90 -> 27th, p99 and p99.9 -> 30th value
    assert (ex.p50_ns, ex.p90_ns, ex.p99_ns, ex.p999_ns) == (15, 27, 30, 30)
    assert ex.quantile(0.0) == 1 and ex.quantile(1.0) == 30 and ex.quantile(0.2) == 6
    assert ex.mean_ns == pytest.approx(15.5)
    net = op.phases["network"]
    assert (net.entries, net.sum_ns, net.min_ns, net.max_ns) == (60, 930, 2, 60)
    assert op.gil_held_ns == 465 and op.gil_released_ns == 930
    assert op.unattributed_ns == op.total_ns - 465 - 930
    assert ex.gil_held is True and net.gil_held is False
    assert list(op.phases) == ["extract", "network"]



def test_snapshot__gil_wait_is_its_own_distribution_and_row(metrics):
    # Waits of 1..30 ns (exact buckets) over two releases each, between phases.
    for v in range(1, 31):
        metrics.record("waits", 200, phases={bt.CONVERT: 100}, gil_releases=2, gil_wait_ns=v)
    metrics.record("waits", 200, phases={bt.EXTRACT: 100})  # never released: no sample
    snap = metrics.snapshot()
    op = snap["waits"]
    w = op.gil_wait
    assert (w.name, w.id, w.gil_held) == ("GIL wait", -2, None)
    assert (w.count, w.entries, w.sum_ns, w.min_ns, w.max_ns) == (30, 60, 465, 1, 30)
    assert (w.p50_ns, w.p90_ns, w.p99_ns) == (15, 27, 30)
    assert sum(b.count for b in w.buckets) == 30
    assert op.phase(bt.GIL_WAIT).sum_ns == 465 and op.phase(-2).count == 30
    assert op.gil_wait_ns == 465 and op.gil_releases == 60
    # the wait is not unattributed time
    assert op.unattributed_ns == 31 * 200 - 31 * 100 - 465
    assert op.to_dict()["gil_wait"]["count"] == 30
    report = str(snap)
    row = next(line for line in report.splitlines() if line.strip().startswith("GIL wait"))
    assert "465 ns" in row and "60" in row.split()  # time and entries (the releases)
    assert "may include" not in report
    assert json.loads(snap.export("json"))["operations"][0]["gil_wait"]["sum_ns"] == 465

def test_snapshot__large_values_within_one_thirty_second(metrics):
    values = [1000 * (i + 1) for i in range(1000)]  # 1 µs .. 1 ms
    for v in values:
        metrics.record("big", v)
    total = metrics.snapshot()["big"].total
    assert total.name == "total" and total.id == -1 and total.gil_held is None
    assert (total.count, total.min_ns, total.max_ns, total.sum_ns) == \
        (1000, 1000, 1_000_000, sum(values))
    for q, got in ((0.5, total.p50_ns), (0.9, total.p90_ns), (0.99, total.p99_ns)):
        exact = values[math.ceil(q * len(values)) - 1]
        assert abs(got - exact) <= exact / 32, (q, got, exact)


def test_snapshot__buckets_add_up_and_are_ordered(metrics):
    for v in (5, 5, 40, 1000, 1000, 70000):
        metrics.record("b", v)
    total = metrics.snapshot()["b"].total
    buckets = total.buckets
    assert sum(b.count for b in buckets) == total.count == 6
    assert all(b.lower_ns < b.upper_ns for b in buckets)
    assert all(a.upper_ns <= b.lower_ns for a, b in zip(buckets, buckets[1:]))
    assert buckets[0] == bt.Bucket(5, 6, 2)


def test_snapshot__unentered_phase_has_count_zero(metrics):
    metrics.record("p", 10, phases={bt.EXTRACT: 5})
    op = metrics.snapshot()["p"]
    assert op.phase(bt.MATERIALIZE).count == 0
    assert op.phase("materialize").quantile(0.5) == 0
    assert "materialize" not in op.phases


def test_snapshot__mapping_behaviour(metrics):
    for name in ("b_op", "a_op", "c_op"):
        metrics.record(name, 10)
    snap = metrics.snapshot()
    assert len(snap) == 3 and snap.names() == ["a_op", "b_op", "c_op"]
    assert [op.name for op in snap] == ["a_op", "b_op", "c_op"]
    assert "a_op" in snap and "zzz" not in snap
    assert snap.get("zzz") is None
    with pytest.raises(KeyError):
        snap["zzz"]
    with pytest.raises(TypeError):
        snap[0]
    assert snap.end_ns >= snap.start_ns and snap.duration_ns >= 0
    assert snap.phase_count >= 4


def test_snapshot__is_a_copy(metrics):
    metrics.record("copy", 10)
    snap = metrics.snapshot()
    metrics.record("copy", 10)
    assert snap["copy"].count == 1
    assert metrics.snapshot()["copy"].count == 2


def test_snapshot__report_names_the_interpreter_build(metrics):
    metrics.record("who", 1000)
    line = str(metrics.snapshot()).split("\n")[1]
    assert line.startswith(f"recorded under CPython {platform.python_version()}, ")
    if sysconfig.get_config_var("Py_GIL_DISABLED") == 1 and not sys._is_gil_enabled():
        assert "free-threaded build" in line and "attached / detached" in line
    else:
        assert line.endswith(", GIL build") or "with the GIL enabled" in line


def test_snapshot__format_and_dict(metrics):
    metrics.record("fmt", 1000, phases={bt.EXTRACT: 400}, items=2)
    snap = metrics.snapshot()
    text = str(snap)
    assert text == snap.format()
    assert "fmt" in text and "extract" in text and "p99.9" in text
    d = snap.to_dict()
    json.dumps(d)  # plain data
    op = d["ops"]["fmt"]
    assert op["count"] == 1 and op["items"] == 2 and op["total"]["sum_ns"] == 1000
    assert op["phases"]["extract"]["sum_ns"] == 400
    assert sum(b[2] for b in op["phases"]["extract"]["buckets"]) == 1


def test_snapshot__take_gives_intervals_that_add_up(metrics):
    for _ in range(3):
        metrics.record("t", 10)
    first, cumulative1 = metrics.take()
    for _ in range(2):
        metrics.record("t", 10)
    second, cumulative2 = metrics.take()
    assert first["t"].count == 3 and cumulative1["t"].count == 3
    assert second["t"].count == 2 and cumulative2["t"].count == 5
    third, _ = bt.take(metrics)
    assert "t" not in third or third["t"].count == 0


def test_snapshot__reset_zeroes_everything(metrics):
    metrics.record("r", 10)
    metrics.reset()
    snap = metrics.snapshot()
    assert "r" not in snap or snap["r"].count == 0
    metrics.record("r", 10)  # bound operations stay valid
    with metrics.trace("r"):
        pass
    assert metrics.snapshot()["r"].count == 2


def test_snapshot__global_functions():
    bt.record("test_snapshot.g", 10)
    assert bt.snapshot()["test_snapshot.g"].count == 1
    interval, cumulative = bt.take()
    assert interval["test_snapshot.g"].count == 1
    bt.reset()
    snap = bt.snapshot()
    assert "test_snapshot.g" not in snap or snap["test_snapshot.g"].count == 0


def test_snapshot__sums_saturate_and_are_flagged(metrics):
    top = 2**64 - 1
    for _ in range(2):
        metrics.record("huge", top, items=top, gil_wait_ns=top)
    metrics.record("fine", 1000)
    snap = metrics.snapshot()
    huge, fine = snap["huge"], snap["fine"]
    assert (huge.total_ns, huge.items, huge.gil_wait_ns) == (top, top, top)
    assert huge.saturated is True and fine.saturated is False
    assert huge.to_dict()["saturated"] is True
    assert "lower bounds" in snap.format()


def _floor_pow16(k):
    """floor(2^(k/16)), exactly: the largest c with c^16 <= 2^k."""
    lo, hi = 0, 1 << (k // 16 + 1)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if mid ** 16 <= 2 ** k:
            lo = mid
        else:
            hi = mid - 1
    return lo


def test_snapshot__every_bucket_edge_is_exact(metrics):
    # Values on and beside every edge 2^(k/16) of the uint64 range: each must
    # land in the bucket (2^(i/16), 2^((i+1)/16)] that holds it, and the
    # bucket's integer bounds must be floor(2^(i/16)) + 1 .. floor(2^((i+1)/16)).
    top = 2 ** 64 - 1
    values = {0, 1, 2, 3, top}
    for k in range(0, 1024):
        f = _floor_pow16(k)
        values.update(v for v in (f - 1, f, f + 1) if 0 <= v <= top)
    want = {}
    for v in values:
        if v == 0:
            key = (0, 1)
        else:
            i = 16 * (v.bit_length() - 1) - 2
            while v ** 16 > 2 ** (i + 1):
                i += 1
            lower = 1 if i < 0 else _floor_pow16(i) + 1
            upper = top if i + 1 >= 1024 else _floor_pow16(i + 1) + 1
            key = (lower, upper)
        want[key] = want.get(key, 0) + 1
    for v in sorted(values):
        metrics.record("edges", v)
    got = {(lo, up): c for lo, up, c in metrics.snapshot()["edges"].total.buckets}
    assert got == want
