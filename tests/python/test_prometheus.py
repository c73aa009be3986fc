"""The prometheus_client bridge: parse what a registry exposes."""

from __future__ import annotations

import pytest

import boundarytrace as bt

import prometheus_client  # installed into .venv by scripts/test
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from boundarytrace.prometheus import BoundarytraceCollector  # noqa: E402


def _scrape(collector):
    registry = prometheus_client.CollectorRegistry()
    registry.register(collector)
    text = prometheus_client.generate_latest(registry).decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


def _samples(family, suffix, **labels):
    return [s for s in family.samples if s.name == family.name + suffix
            and all(s.labels.get(k) == v for k, v in labels.items())]


def test_prometheus__histograms_and_counters(metrics):
    values = [5, 5, 40, 1000, 70000]
    for i, v in enumerate(values):
        metrics.record("find", v + 100, phases={bt.EXTRACT: v, bt.NETWORK: 50}, items=3,
                       gil_releases=1, gil_wait_ns=20, workers=2, error=(i == 0))
    fams = _scrape(BoundarytraceCollector(metrics))

    phase = fams["boundarytrace_phase_seconds"]
    assert phase.type == "histogram"
    buckets = _samples(phase, "_bucket", op="find", phase="extract")
    counts = [s.value for s in buckets]
    assert counts == sorted(counts)  # cumulative
    assert buckets[-1].labels["le"] == "+Inf" and buckets[-1].value == 5
    bounds = [float(s.labels["le"]) for s in buckets[:-1]]
    assert bounds == sorted(bounds)
    # exact: every sample is <= the bound of the bucket that counts it
    for bound, count in zip(bounds, counts):
        assert count == sum(1 for v in values if v * 1e-9 <= bound + 1e-18)
    assert _samples(phase, "_count", op="find", phase="extract")[0].value == 5
    assert _samples(phase, "_sum", op="find", phase="extract")[0].value == \
        pytest.approx(sum(values) * 1e-9)
    assert _samples(phase, "_count", op="find", phase="network")[0].value == 5
    assert not _samples(phase, "_count", op="find", phase="convert")  # never entered

    total = fams["boundarytrace_operation_seconds"]
    assert _samples(total, "_count", op="find")[0].value == 5
    assert _samples(total, "_sum", op="find")[0].value == \
        pytest.approx((sum(values) + 500) * 1e-9)  # totals are v + 100

    def counter(name):
        fam = fams[f"boundarytrace_{name}"]
        assert fam.type == "counter"
        return _samples(fam, "_total", op="find")[0].value

    assert counter("operations") == 5
    assert counter("errors") == 1
    assert counter("items") == 15
    assert counter("gil_releases") == 5
    assert counter("gil_wait_seconds") == pytest.approx(100e-9)
    assert counter("gil_held_seconds") == pytest.approx(sum(values) * 1e-9)
    assert counter("gil_released_seconds") == pytest.approx(250e-9)
    # 50 ns between phases per operation, 20 of them the GIL wait
    assert counter("unattributed_seconds") == pytest.approx(150e-9)
    wait = fams["boundarytrace_operation_gil_wait_seconds"]
    assert wait.type == "histogram"
    assert _samples(wait, "_count", op="find")[0].value == 5
    assert _samples(wait, "_sum", op="find")[0].value == pytest.approx(100e-9)
    assert _samples(fams["boundarytrace_workers_max"], "", op="find")[0].value == 2


def test_prometheus__global_sink_and_namespace():
    with bt.trace("test_prometheus.op") as t:
        with t.phase(bt.CONVERT):
            pass
    fams = _scrape(BoundarytraceCollector(namespace="app"))
    ops = fams["app_operations"]
    assert _samples(ops, "_total", op="test_prometheus.op")[0].value == 1
    assert _samples(fams["app_phase_seconds"], "_count", op="test_prometheus.op",
                    phase="convert")[0].value == 1


def test_prometheus__empty_sink_and_describe(metrics):
    collector = BoundarytraceCollector(metrics)
    assert {m.name for m in collector.describe()} >= {"boundarytrace_phase_seconds",
                                                      "boundarytrace_operations"}
    fams = _scrape(collector)
    assert all(not f.samples for f in fams.values())


def test_prometheus__bad_arguments():
    with pytest.raises(TypeError):
        BoundarytraceCollector(metrics="global")
    with pytest.raises(TypeError):
        BoundarytraceCollector(namespace="")
