"""OTLP/HTTP export: the library's figures to an OpenTelemetry Collector (or
any OTLP receiver), as protobuf ExportMetricsServiceRequests the library
encodes itself (``Format.OTLP_PROTOBUF``): counters as monotonic sums, every
distribution an exponential histogram at scale 4 with min, max and sum.

``otlp_push()`` sends once; ``OTLPExporter`` sends periodically from a daemon
thread. ``BOUNDARYTRACE_OTLP_ENDPOINT=http://host:4318`` starts one for the
global sink at import (``BOUNDARYTRACE_OTLP_INTERVAL`` seconds, default 10;
``BOUNDARYTRACE_OTLP_TEMPORALITY=cumulative|delta``, default cumulative).
"""

from __future__ import annotations

import os as _os
import sys as _sys
import threading
from typing import Any, Dict, List, Optional

from ._exports import Format

_TEMPORALITIES = ("cumulative", "delta")


def _url(endpoint: str) -> str:
    if not endpoint.startswith(("http://", "https://")):
        raise ValueError(f"{endpoint!r} is not an http:// or https:// URL")
    base = endpoint.rstrip("/")
    return base if base.endswith("/v1/metrics") else base + "/v1/metrics"


def _payload(sink: Any, temporality: str) -> bytes:
    if temporality == "cumulative":
        snap = sink.snapshot()
    elif temporality == "delta":
        snap, _ = sink.take()
    else:
        raise ValueError(f"temporality must be one of {_TEMPORALITIES}, not {temporality!r}")
    return snap.export(Format.OTLP_PROTOBUF)  # type: ignore[no-any-return]


def _post(url: str, body: bytes, headers: Optional[Dict[str, str]], timeout: float) -> None:
    # Imported here, not at the top: urllib.request pulls in http.client and
    # email (half of `import boundarytrace`'s time), and most processes never push.
    import urllib.request
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/x-protobuf", **(headers or {})})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        resp.read()


def otlp_push(endpoint: str, metrics: Optional[Any] = None, *, temporality: str = "cumulative",
              headers: Optional[Dict[str, str]] = None, timeout: float = 10.0) -> None:
    """Sends the figures of ``metrics`` (default: the global sink) once, as an
    OTLP/HTTP protobuf request to ``endpoint`` (``http://host:4318``; the path
    ``/v1/metrics`` is added unless given).

    ``temporality="cumulative"`` sends everything since the sink's start;
    ``"delta"`` sends what was recorded since the previous take
    (``Metrics.take()``: other takes of the same sink share the intervals).
    Raises ValueError for a bad endpoint or temporality, OSError (urllib's
    URLError, HTTPError) when the receiver cannot be reached or refuses.
    """
    from . import _tracing
    sink = metrics if metrics is not None else _tracing.global_metrics()
    url = _url(endpoint)
    _post(url, _payload(sink, temporality), headers, timeout)


class OTLPExporter:
    """Sends the figures of ``metrics`` every ``interval`` seconds from a
    daemon thread, and once more on ``close()``. A send that fails is kept
    (up to ``max_pending`` requests) and sent again first next time, so a
    delta interval is not lost while the collector is away; each failure is
    said once on stderr until a send succeeds again."""

    def __init__(self, endpoint: str, metrics: Optional[Any] = None, *, interval: float = 10.0,
                 temporality: str = "cumulative", headers: Optional[Dict[str, str]] = None,
                 timeout: float = 10.0, max_pending: int = 16) -> None:
        from . import _tracing
        if temporality not in _TEMPORALITIES:
            raise ValueError(f"temporality must be one of {_TEMPORALITIES}, not {temporality!r}")
        if not interval > 0:
            raise ValueError(f"interval must be > 0 seconds, not {interval!r}")
        self._url = _url(endpoint)
        self._sink = metrics if metrics is not None else _tracing.global_metrics()
        self._interval, self._temporality = float(interval), temporality
        self._headers, self._timeout, self._max_pending = headers, timeout, max_pending
        self._pending: List[bytes] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._failing = False
        #: Requests sent, and requests dropped because ``max_pending`` were waiting.
        self.sent = self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="boundarytrace-otlp", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()

    def flush(self) -> bool:
        """Sends now (pending requests first). True when everything went out."""
        with self._lock:
            self._pending.append(_payload(self._sink, self._temporality))
            while len(self._pending) > self._max_pending:
                self._pending.pop(0)
                self.dropped += 1
            while self._pending:
                try:
                    _post(self._url, self._pending[0], self._headers, self._timeout)
                except OSError as exc:  # urllib.error.URLError is an OSError
                    if not self._failing:
                        print(f"boundarytrace: OTLP export to {self._url} failed: {exc}; "
                              "keeping the data to send again", file=_sys.stderr)
                    self._failing = True
                    return False
                self._pending.pop(0)
                self.sent += 1
            self._failing = False
            return True

    def close(self) -> None:
        """Stops the thread after a last send."""
        if not self._stop.is_set():
            self._stop.set()
            self._thread.join()
            self.flush()

    def __enter__(self) -> "OTLPExporter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_started: List[OTLPExporter] = []


def start_from_environment() -> None:
    """``BOUNDARYTRACE_OTLP_ENDPOINT``: export the global sink periodically
    from import on. A value it cannot use gets one line on stderr."""
    endpoint = _os.environ.get("BOUNDARYTRACE_OTLP_ENDPOINT", "")
    if not endpoint or _started:
        return
    try:
        interval = float(_os.environ.get("BOUNDARYTRACE_OTLP_INTERVAL", "") or 10)
        temporality = _os.environ.get("BOUNDARYTRACE_OTLP_TEMPORALITY", "") or "cumulative"
        _started.append(OTLPExporter(endpoint, interval=interval, temporality=temporality))
    except ValueError as exc:
        print(f"boundarytrace: BOUNDARYTRACE_OTLP_*: {exc}; not exporting OTLP", file=_sys.stderr)
