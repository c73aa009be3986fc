"""OpenTelemetry SDK bridge: the library's figures into your own OTel pipeline.

::

    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from boundarytrace.otel import OTelBridge

    bridge = OTelBridge(OTLPMetricExporter(endpoint="http://collector:4318/v1/metrics"))
    ...
    bridge.shutdown()        # a last export, then the exporter's shutdown

The bridge turns each snapshot into the SDK's own ``MetricsData`` (the same
metrics as ``Format.OTLP_PROTOBUF``: monotonic sums and scale-4 exponential
histograms with min, max and sum, attributes ``op``, ``phase``, ``gil``) and
hands it to any ``MetricExporter`` you configured: the OTLP exporters, the
console one, or your vendor's, with their endpoints, headers and retries.
:func:`to_metrics_data` does the conversion alone. Needs ``opentelemetry-sdk``.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from typing import Any, List, Optional

from opentelemetry.sdk.metrics.export import (AggregationTemporality, ExponentialHistogram,
                                              ExponentialHistogramDataPoint, Metric, MetricExporter,
                                              MetricExportResult, MetricsData, NumberDataPoint,
                                              ResourceMetrics, ScopeMetrics, Sum)
from opentelemetry.sdk.metrics._internal.point import Buckets
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from ._otlp import _DELTA_SHARED, _DirectoryLead, _seconds, _snapshot
from ._snapshot import PhaseStats, Snapshot
from ._tracing import _sink

__all__ = ["OTelBridge", "to_metrics_data"]

_COUNTERS = (
    ("boundarytrace.operations", "Operations recorded.", "{operation}", "count"),
    ("boundarytrace.errors", "Operations marked as errors.", "{operation}", "errors"),
    ("boundarytrace.items", "Items (documents) handled.", "{item}", "items"),
    ("boundarytrace.gil.releases", "Times the GIL was released.", "{release}", "gil_releases"),
    ("boundarytrace.gil.wait", "Time spent waiting to reacquire the GIL.", "ns", "gil_wait_ns"),
    ("boundarytrace.gil.held", "Time in phases that hold the GIL.", "ns", "gil_held_ns"),
    ("boundarytrace.gil.released", "Time in phases that release the GIL.", "ns", "gil_released_ns"),
    ("boundarytrace.unattributed", "Time outside every phase.", "ns", "unattributed_ns"),
)


def _exp_index(lower_ns: int) -> int:
    """OTLP's scale-4 index i of the bucket (2^(i/16), 2^((i+1)/16)] holding
    the integer lower_ns >= 1: exact integer arithmetic."""
    k = 16 * (lower_ns.bit_length() - 1) - 1
    while lower_ns ** 16 > 2 ** k:
        k += 1
    return k - 1


def _exp_point(attrs: dict, start: int, end: int, ps: PhaseStats) -> ExponentialHistogramDataPoint:
    zero = 0
    counts: dict = {}
    for lower, _, count in ps.buckets:
        if lower == 0:
            zero += count
        else:
            counts[_exp_index(lower)] = count
    if counts:
        first, last = min(counts), max(counts)
        positive = Buckets(offset=first, bucket_counts=[counts.get(i, 0) for i in range(first, last + 1)])
    else:
        positive = Buckets(offset=0, bucket_counts=[])
    return ExponentialHistogramDataPoint(
        attributes=attrs, start_time_unix_nano=start, time_unix_nano=end, count=ps.count,
        sum=ps.sum_ns, scale=4, zero_count=zero, positive=positive,
        negative=Buckets(offset=0, bucket_counts=[]), flags=0, min=float(ps.min_ns),
        max=float(ps.max_ns))


def _unix_times(snap: Snapshot) -> "tuple[int, int]":
    # The snapshot's times are on the monotonic clock: moved to Unix time now.
    shift = time.time_ns() - time.monotonic_ns()
    return snap.start_ns + shift, snap.end_ns + shift


def to_metrics_data(snap: Snapshot, resource: Optional[Resource] = None,
                    temporality: AggregationTemporality = AggregationTemporality.CUMULATIVE
                    ) -> MetricsData:
    """The snapshot as the SDK's ``MetricsData`` (see the module's doc).
    ``temporality`` says what the snapshot is: CUMULATIVE for a snapshot,
    DELTA for an interval of ``Metrics.take()``."""
    start, end = _unix_times(snap)
    metrics: List[Metric] = []
    for name, desc, unit, attr in _COUNTERS:
        points = [NumberDataPoint(attributes={"op": op.name}, start_time_unix_nano=start,
                                  time_unix_nano=end, value=getattr(op, attr)) for op in snap]
        metrics.append(Metric(name=name, description=desc, unit=unit,
                              data=Sum(data_points=points, aggregation_temporality=temporality,
                                       is_monotonic=True)))

    def phase_attrs(op: Any, phase: str, ps: PhaseStats) -> dict:
        return {"op": op.name, "phase": phase, "gil": "held" if ps.gil_held else "released"}

    entries = [NumberDataPoint(attributes=phase_attrs(op, ph, ps), start_time_unix_nano=start,
                               time_unix_nano=end, value=ps.entries)
               for op in snap for ph, ps in op.phases.items()]
    metrics.append(Metric(name="boundarytrace.phase.entries", description="Times a phase was entered.",
                          unit="{entry}", data=Sum(data_points=entries,
                                                   aggregation_temporality=temporality,
                                                   is_monotonic=True)))
    totals = [_exp_point({"op": op.name}, start, end, op.total) for op in snap]
    metrics.append(Metric(name="boundarytrace.operation.duration", description="Time per operation.",
                          unit="ns", data=ExponentialHistogram(data_points=totals,
                                                               aggregation_temporality=temporality)))
    waits = [_exp_point({"op": op.name}, start, end, op.gil_wait) for op in snap if op.gil_wait.count]
    if waits:  # no metric without points: nothing released the GIL
        metrics.append(Metric(
            name="boundarytrace.operation.gil_wait",
            description="Time per operation spent waiting to get the GIL back, of operations that "
                        "released it.", unit="ns",
            data=ExponentialHistogram(data_points=waits, aggregation_temporality=temporality)))
    phases = [_exp_point(phase_attrs(op, ph, ps), start, end, ps)
              for op in snap for ph, ps in op.phases.items()]
    metrics.append(Metric(name="boundarytrace.phase.duration",
                          description="Time per operation spent in a phase.", unit="ns",
                          data=ExponentialHistogram(data_points=phases,
                                                    aggregation_temporality=temporality)))
    scope = ScopeMetrics(scope=InstrumentationScope("boundarytrace"), metrics=metrics, schema_url="")
    return MetricsData(resource_metrics=[ResourceMetrics(
        resource=resource if resource is not None else Resource.create(), scope_metrics=[scope],
        schema_url="")])


class OTelBridge:
    """Exports the figures of ``metrics`` (default: the global sink) through
    your ``exporter`` every ``interval`` seconds from a daemon thread.

    ``temporality="cumulative"`` exports snapshots; ``"delta"`` exports the
    intervals of ``Metrics.take()`` (shared with other takes of that sink).
    ``resource`` defaults to ``Resource.create()`` (``OTEL_SERVICE_NAME`` and
    ``OTEL_RESOURCE_ATTRIBUTES`` apply). ``force_flush()`` exports now;
    ``shutdown()`` exports a last time and shuts the exporter down; a bridge
    still open at interpreter exit is shut down then, as the SDK's own
    MeterProvider is.

    As with ``OTLPExporter``: a snapshot without operations is not exported,
    of the bridges of one shared directory only the holder of its
    ``otlp.lock`` exports (a shared sink is cumulative only), and a forked
    child exports nothing through its parent's bridge.
    """

    def __init__(self, exporter: MetricExporter, metrics: Optional[Any] = None, *,
                 interval: float = 10.0, temporality: str = "cumulative",
                 resource: Optional[Resource] = None) -> None:
        if temporality not in ("cumulative", "delta"):
            raise ValueError(f"temporality must be 'cumulative' or 'delta', not {temporality!r}")
        interval = _seconds("interval", interval)
        self._exporter = exporter
        self._sink = _sink(metrics, "OTelBridge")  # type: ignore[arg-type]
        if temporality == "delta" and self._sink.shared_dir is not None:
            raise ValueError(_DELTA_SHARED)
        self._pid = os.getpid()
        self._lead = _DirectoryLead(self._sink)
        self._interval = interval
        self._delta = temporality == "delta"
        self._resource = resource if resource is not None else Resource.create()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        #: Results of the exports so far (the exporter's MetricExportResult values).
        self.results: List[Any] = []
        self._thread = threading.Thread(target=self._run, name="boundarytrace-otel", daemon=True)
        self._thread.start()
        atexit.register(self.shutdown)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.force_flush()
            except ValueError as exc:  # delta on a sink BOUNDARYTRACE_SHARED_DIR made shared
                print(f"boundarytrace: OTelBridge: {exc}; not exporting", file=sys.stderr)
                return

    def force_flush(self) -> Any:
        """Exports now; returns the exporter's result (SUCCESS when there was
        nothing to export here: see the class's doc)."""
        if os.getpid() != self._pid:  # a forked child (its copy of _lock may be held)
            return MetricExportResult.SUCCESS
        with self._lock:
            if self._lead.sent_elsewhere():
                return MetricExportResult.SUCCESS
            snap = _snapshot(self._sink, "delta" if self._delta else "cumulative")
            temporality = AggregationTemporality.DELTA if self._delta else AggregationTemporality.CUMULATIVE
            if not self._lead.may_send(snap):
                return MetricExportResult.SUCCESS
            result = self._exporter.export(to_metrics_data(snap, self._resource, temporality))
            self.results.append(result)
            return result

    def shutdown(self) -> None:
        """Stops the thread after a last export, then shuts the exporter down."""
        if os.getpid() != self._pid or self._stop.is_set():
            return
        self._stop.set()
        atexit.unregister(self.shutdown)
        self._thread.join()
        try:
            self.force_flush()
        finally:
            self._lead.release()
            self._exporter.shutdown()

    def __enter__(self) -> "OTelBridge":
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
