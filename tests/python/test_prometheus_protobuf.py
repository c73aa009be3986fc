"""The Prometheus protobuf exposition, decoded by the protobuf runtime: native
histograms bucket for bucket the snapshot's own, classic buckets, counters."""

from __future__ import annotations

import pytest

import boundarytrace as bt
from prom_proto import COUNTER, HISTOGRAM, families, native_buckets, prometheus_index


@pytest.fixture
def recorded(metrics):
    for v in (0, 1, 2, 3, 15, 16, 17, 1000, 1024, 1025, 5000, 123_456, 10**9, 2**40, 2**64 - 1):
        metrics.record("spread", v, phases={bt.NETWORK: (v // 2, 2)}, items=3)
    metrics.record("one", 777, error=True, gil_wait_ns=1500)
    return metrics.snapshot()


def _by_name(data):
    return {f.name: f for f in families(data)}


def _labels(metric):
    return {lp.name: lp.value for lp in metric.label}


def test_protobuf__is_bytes_and_names_each_family(recorded):
    data = recorded.export("prometheus_protobuf")
    assert isinstance(data, bytes) and data == recorded.export(bt.Format.PROMETHEUS_PROTOBUF)
    fams = _by_name(data)
    assert fams["boundarytrace_operations_total"].type == COUNTER
    assert fams["boundarytrace_operation_nanoseconds"].type == HISTOGRAM
    assert fams["boundarytrace_phase_nanoseconds"].type == HISTOGRAM
    got = {_labels(m)["op"]: m.counter.value for m in fams["boundarytrace_operations_total"].metric}
    assert got == {"spread": 15, "one": 1}
    errors = {_labels(m)["op"]: m.counter.value for m in fams["boundarytrace_errors_total"].metric}
    assert errors == {"spread": 0, "one": 1}
    wait = {_labels(m)["op"]: m.counter.value for m in fams["boundarytrace_gil_wait_seconds_total"].metric}
    assert wait["one"] == pytest.approx(1.5e-6)


def test_protobuf__native_buckets_are_the_snapshots(recorded):
    fams = _by_name(recorded.export("prometheus_protobuf"))
    hists = {}
    for name in ("boundarytrace_operation_nanoseconds", "boundarytrace_phase_nanoseconds"):
        for m in fams[name].metric:
            lb = _labels(m)
            hists[(lb["op"], lb.get("phase", "total"))] = (m.histogram, lb)
    for op in recorded:
        dists = {"total": op.total, **op.phases}
        for phase, dist in dists.items():
            h, lb = hists[(op.name, phase)]
            if phase != "total":
                assert lb["gil"] == ("held" if dist.gil_held else "released")
            assert h.schema == 4 and h.zero_threshold == 0.0
            assert h.sample_count == dist.count
            assert h.sample_sum == pytest.approx(float(dist.sum_ns))
            zero = sum(c for lo, _, c in dist.buckets if lo == 0)
            assert h.zero_count == zero
            want = [(prometheus_index(lo), c) for lo, _, c in dist.buckets if lo > 0]
            assert native_buckets(h) == want
            assert h.zero_count + sum(c for _, c in native_buckets(h)) == dist.count


def test_protobuf__classic_buckets_count_at_most_their_bound(recorded):
    fams = _by_name(recorded.export("prometheus_protobuf"))
    for m in fams["boundarytrace_operation_nanoseconds"].metric:
        op = recorded[_labels(m)["op"]]
        bounds = [b.upper_bound for b in m.histogram.bucket]
        assert bounds == [float(2 ** k) for k in range(8, 37)]
        for b in m.histogram.bucket:
            want = sum(c for _, upper, c in op.total.buckets if upper <= int(b.upper_bound) + 1)
            assert b.cumulative_count == want


def test_protobuf__empty_sink_is_valid(metrics):
    fams = _by_name(metrics.snapshot().export("prometheus_protobuf"))
    assert "boundarytrace_operations_total" in fams
    assert list(fams["boundarytrace_operation_nanoseconds"].metric) == []
