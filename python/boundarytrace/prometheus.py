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
``<ns>_operation_gil_wait_seconds``         histogram  op (the GIL wait, of operations that released it)
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

For a shared directory (``shared_dir=``, or a sink opened with
``Metrics.open_shared``, or the global sink under
``BOUNDARYTRACE_SHARED_DIR``), three more say how complete the merge is:

==========================================  =========  ===============================
``<ns>_shared_processes``                   gauge      processes merged, live and gone
``<ns>_shared_dropped_records_total``       counter    records a process could not keep
``<ns>_shared_skipped_files``               gauge      files the merge left out
==========================================  =========  ===============================

In a pre-fork server (gunicorn, uWSGI) every worker runs with
``BOUNDARYTRACE_SHARED_DIR`` set, and the ``/metrics`` view reads the whole
directory, beside prometheus_client's own multiprocess collector::

    from prometheus_client import CollectorRegistry, generate_latest, multiprocess

    def metrics_view():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)        # PROMETHEUS_MULTIPROC_DIR
        registry.register(BoundarytraceCollector(shared_dir=os.environ["BOUNDARYTRACE_SHARED_DIR"]))
        return generate_latest(registry)

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

from ._exports import PathArg
from ._snapshot import PhaseStats, Snapshot, encode_dir, read_shared
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
    """A prometheus_client collector over one boundarytrace sink, or over a
    shared directory that many processes write into.

    Args:
        metrics: the sink to publish (None: the process-wide one).
        namespace: prefix of every family name.
        shared_dir: a shared directory (``BOUNDARYTRACE_SHARED_DIR``,
            ``Metrics.open_shared``) to publish instead of a sink: each scrape
            merges it (:func:`boundarytrace.read_shared`), without taking a
            slot there. The directory need not exist yet; a scrape that
            cannot read it raises FileIOError.

    Register it once: ``REGISTRY.register(BoundarytraceCollector())``.
    """

    def __init__(self, metrics: Optional[Metrics] = None,
                 namespace: str = "boundarytrace", *,
                 shared_dir: Optional[PathArg] = None) -> None:
        call = "BoundarytraceCollector"
        if metrics is not None:
            _sink(metrics, call)
        if not isinstance(namespace, str) or not namespace:
            raise TypeError(f"{call}: namespace must be a non-empty str")
        self._shared_dir: Optional[bytes] = None
        if shared_dir is not None:
            if metrics is not None:
                raise TypeError(f"{call}: give metrics or shared_dir, not both")
            self._shared_dir = encode_dir(shared_dir, call)
        self._metrics = metrics
        self._ns = namespace

    def _shared(self) -> bool:
        return self._shared_dir is not None or (
            self._metrics is not None and self._metrics.shared_dir is not None)

    def _shared_families(self) -> Dict[str, Any]:
        ns = self._ns
        return {
            "processes": GaugeMetricFamily(
                f"{ns}_shared_processes",
                "Processes merged from the shared directory, live and gone"),
            "dropped": CounterMetricFamily(
                f"{ns}_shared_dropped_records",
                "Records the processes could not keep, for want of room in their slot files"),
            "skipped": GaugeMetricFamily(
                f"{ns}_shared_skipped_files",
                "Files of the shared directory the merge left out (truncated, foreign, corrupted)"),
        }

    def _snapshot(self) -> Snapshot:
        if self._shared_dir is not None:
            return read_shared(self._shared_dir)
        return _sink(self._metrics, "BoundarytraceCollector").snapshot()

    def _families(self) -> Dict[str, Any]:
        ns = self._ns
        return {
            "phase": HistogramMetricFamily(
                f"{ns}_phase_seconds", "Time per operation spent in each phase",
                labels=["op", "phase"]),
            "total": HistogramMetricFamily(
                f"{ns}_operation_seconds", "Time per operation, creation to finish",
                labels=["op"]),
            "wait_hist": HistogramMetricFamily(
                f"{ns}_operation_gil_wait_seconds",
                "Time per operation spent waiting to get the GIL back, of operations that "
                "released it", labels=["op"]),
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
        families = list(self._families().values())
        if self._shared():
            families += self._shared_families().values()
        return families

    def collect(self) -> Iterable[Metric]:
        """One cumulative snapshot, published as the families above."""
        snap = self._snapshot()
        f = self._families()
        for op in snap:
            name = op.name
            for phase_name, ps in op.phases.items():
                f["phase"].add_metric([name, phase_name], _histogram_buckets(ps),
                                      ps.sum_ns * _NS)
            total = op.total
            f["total"].add_metric([name], _histogram_buckets(total), total.sum_ns * _NS)
            wait = op.gil_wait
            if wait.count:
                f["wait_hist"].add_metric([name], _histogram_buckets(wait), wait.sum_ns * _NS)
            f["count"].add_metric([name], op.count)
            f["errors"].add_metric([name], op.errors)
            f["items"].add_metric([name], op.items)
            f["releases"].add_metric([name], op.gil_releases)
            f["wait"].add_metric([name], op.gil_wait_ns * _NS)
            f["held"].add_metric([name], op.gil_held_ns * _NS)
            f["released"].add_metric([name], op.gil_released_ns * _NS)
            f["unattributed"].add_metric([name], op.unattributed_ns * _NS)
            f["workers"].add_metric([name], op.workers_max)
        families = list(f.values())
        if snap.processes or self._shared():
            shared = self._shared_families()
            shared["processes"].add_metric([], snap.processes)
            shared["dropped"].add_metric([], snap.dropped)
            shared["skipped"].add_metric([], len(snap.skipped))
            families += shared.values()
        return families
