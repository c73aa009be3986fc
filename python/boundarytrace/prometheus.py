"""prometheus_client bridge: publish boundarytrace's aggregates in your registry.

::

    from prometheus_client import REGISTRY, start_http_server
    from boundarytrace.prometheus import BoundarytraceCollector

    REGISTRY.register(BoundarytraceCollector())      # the global sink
    start_http_server(8000)

Each scrape takes a cumulative snapshot and publishes, in seconds:

==========================================  =========  ===============================
family                                      type       labels
==========================================  =========  ===============================
``<ns>_phase_seconds``                      histogram  op, phase (each phase entered)
``<ns>_operation_seconds``                  histogram  op (the whole operation)
``<ns>_operations_total``                   counter    op
``<ns>_errors_total``                       counter    op
``<ns>_items_total``                        counter    op
``<ns>_gil_releases_total``                 counter    op
``<ns>_gil_wait_seconds_total``             counter    op
``<ns>_gil_held_seconds_total``             counter    op
``<ns>_gil_released_seconds_total``         counter    op
``<ns>_unattributed_seconds_total``         counter    op
``<ns>_workers_max``                        gauge      op
==========================================  =========  ===============================

``<ns>`` is the namespace, ``boundarytrace`` by default. Histogram buckets are
the library's own non-empty exponential buckets (``bt_snapshot_buckets``), made
cumulative, plus ``+Inf``. The library's bucket ``[lower, upper)`` over integer
nanoseconds holds exactly the samples ``<= upper - 1 ns``, so that is its
``le`` bound: the counts are exact. Each non-empty bucket also gets its lower
edge (``le = lower - 1 ns``, the count below it) unless the bucket before it
ends there, so ``histogram_quantile`` interpolates inside the bucket the
samples are in instead of from the last bound listed (or from 0). The bounds
differ between series (only non-empty buckets are listed), which Prometheus
allows.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Tuple

from prometheus_client.core import (CounterMetricFamily, GaugeMetricFamily,
                                    HistogramMetricFamily, Metric)
from prometheus_client.registry import Collector

from ._snapshot import PhaseStats, Snapshot
from ._tracing import Metrics, _sink

__all__ = ["BoundarytraceCollector"]

_NS = 1e-9


def _histogram_buckets(ps: PhaseStats) -> List[Tuple[str, float]]:
    out: List[Tuple[str, float]] = []
    seen = 0
    last_upper = 0  # the previous bucket's exclusive upper bound
    for b in ps.buckets:
        if b.lower_ns > 0 and b.lower_ns != last_upper:
            out.append((repr((b.lower_ns - 1) * _NS), float(seen)))  # the lower edge
        seen += b.count
        out.append((repr((b.upper_ns - 1) * _NS), float(seen)))
        last_upper = b.upper_ns
    out.append(("+Inf", float(ps.count)))
    return out


class BoundarytraceCollector(Collector):
    """A prometheus_client collector over one boundarytrace sink.

    Args:
        metrics: the sink to publish (None: the process-wide one).
        namespace: prefix of every family name.

    Register it once: ``REGISTRY.register(BoundarytraceCollector())``.
    """

    def __init__(self, metrics: Optional[Metrics] = None,
                 namespace: str = "boundarytrace") -> None:
        if metrics is not None:
            _sink(metrics, "BoundarytraceCollector")
        if not isinstance(namespace, str) or not namespace:
            raise TypeError("BoundarytraceCollector: namespace must be a non-empty str")
        self._metrics = metrics
        self._ns = namespace

    def _families(self) -> Dict[str, Any]:
        ns = self._ns
        return {
            "phase": HistogramMetricFamily(
                f"{ns}_phase_seconds", "Time per operation spent in each phase",
                labels=["op", "phase"]),
            "total": HistogramMetricFamily(
                f"{ns}_operation_seconds", "Time per operation, creation to finish",
                labels=["op"]),
            "count": CounterMetricFamily(
                f"{ns}_operations", "Operations recorded", labels=["op"]),
            "errors": CounterMetricFamily(
                f"{ns}_errors", "Operations marked as errors", labels=["op"]),
            "items": CounterMetricFamily(
                f"{ns}_items", "Items (documents) handled", labels=["op"]),
            "releases": CounterMetricFamily(
                f"{ns}_gil_releases", "Times the GIL was released", labels=["op"]),
            "wait": CounterMetricFamily(
                f"{ns}_gil_wait_seconds", "Time spent waiting to reacquire the GIL",
                labels=["op"]),
            "held": CounterMetricFamily(
                f"{ns}_gil_held_seconds", "Time in GIL-held phases", labels=["op"]),
            "released": CounterMetricFamily(
                f"{ns}_gil_released_seconds", "Time in GIL-released phases", labels=["op"]),
            "unattributed": CounterMetricFamily(
                f"{ns}_unattributed_seconds", "Time outside every phase (boundary overhead)",
                labels=["op"]),
            "workers": GaugeMetricFamily(
                f"{ns}_workers_max", "Most parallel workers any operation reported",
                labels=["op"]),
        }

    def describe(self) -> Iterable[Metric]:
        """The families, without samples (so registering does not take a snapshot)."""
        return list(self._families().values())

    def collect(self) -> Iterable[Metric]:
        """One cumulative snapshot, published as the families above."""
        snap: Snapshot = _sink(self._metrics, "BoundarytraceCollector").snapshot()
        f = self._families()
        for op in snap:
            name = op.name
            for phase_name, ps in op.phases.items():
                f["phase"].add_metric([name, phase_name], _histogram_buckets(ps),
                                      ps.sum_ns * _NS)
            total = op.total
            f["total"].add_metric([name], _histogram_buckets(total), total.sum_ns * _NS)
            f["count"].add_metric([name], op.count)
            f["errors"].add_metric([name], op.errors)
            f["items"].add_metric([name], op.items)
            f["releases"].add_metric([name], op.gil_releases)
            f["wait"].add_metric([name], op.gil_wait_ns * _NS)
            f["held"].add_metric([name], op.gil_held_ns * _NS)
            f["released"].add_metric([name], op.gil_released_ns * _NS)
            f["unattributed"].add_metric([name], op.unattributed_ns * _NS)
            f["workers"].add_metric([name], op.workers_max)
        return list(f.values())
