"""OTLP/HTTP export: the library's figures to an OpenTelemetry Collector (or
any OTLP receiver), as protobuf ExportMetricsServiceRequests the library
encodes itself (``Format.OTLP_PROTOBUF``): counters as monotonic sums, every
distribution an exponential histogram at scale 4 with min, max and sum.

``otlp_push()`` sends once; ``OTLPExporter`` sends periodically from a daemon
thread, and once more when it is closed or the interpreter exits.
``BOUNDARYTRACE_OTLP_ENDPOINT=http://host:4318`` starts one for the global sink
at import (``BOUNDARYTRACE_OTLP_INTERVAL`` seconds, default 10;
``BOUNDARYTRACE_OTLP_TEMPORALITY=cumulative|delta``, default cumulative).

A shared sink's snapshot is the merge of its whole directory, the same in
every process writing there, so of the exporters of one directory only one
sends: the holder of the directory's ``otlp.lock`` (an ``flock``, which the
kernel drops when its process dies; another exporter takes it at its next
tick or at its exit). The stream is the directory's: its resource names it
(``boundarytrace.shared_dir``) instead of a pid.
"""

from __future__ import annotations

import atexit
import os as _os
import sys as _sys
import threading
from typing import Any, Dict, List, Optional, Set

from ._errors import InvalidArgumentError
from ._exports import Format

_TEMPORALITIES = ("cumulative", "delta")


def _url(endpoint: str) -> str:
    if not endpoint.startswith(("http://", "https://")):
        raise ValueError(f"{endpoint!r} is not an http:// or https:// URL")
    base = endpoint.rstrip("/")
    return base if base.endswith("/v1/metrics") else base + "/v1/metrics"


def _snapshot(sink: Any, temporality: str) -> Any:
    if temporality == "cumulative":
        return sink.snapshot()
    if temporality == "delta":
        return sink.take()[0]
    raise ValueError(f"temporality must be one of {_TEMPORALITIES}, not {temporality!r}")


def _seconds(what: str, value: Any) -> float:
    """`value` as a number of seconds a thread can wait: > 0 and finite
    (threading's waits refuse more than TIMEOUT_MAX, from their thread)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number of seconds, not {value!r}") from None
    if not 0 < v <= threading.TIMEOUT_MAX:
        raise ValueError(f"{what} must be > 0 and at most {threading.TIMEOUT_MAX:.0f} seconds, "
                         f"not {value!r}")
    return v


def _payload(sink: Any, temporality: str) -> bytes:
    return _snapshot(sink, temporality).export(Format.OTLP_PROTOBUF)  # type: ignore[no-any-return]


_LOCK_NAME = "otlp.lock"
_DELTA_SHARED = ("temporality 'delta' needs take(), which a shared sink refuses: its figures "
                 "belong to every process writing its directory; use 'cumulative'")




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
    _post(url, _payload(sink, temporality), headers, _seconds("timeout", timeout))


class _DirectoryLead:
    """Which of the exporters of one shared directory sends: the holder of
    the directory's ``otlp.lock``. For a sink that is not shared, always
    this one. Used by OTLPExporter and otel.OTelBridge."""

    def __init__(self, sink: Any) -> None:
        # The directory whose exporters elect one sender: a sink's of
        # Metrics.open_shared at once; for the global sink, the one
        # BOUNDARYTRACE_SHARED_DIR names once a snapshot shows that the
        # library took it (it may have refused it and kept the sink in the
        # process: then no file of ours goes there).
        self._dir: Optional[str] = sink.shared_dir
        self._maybe = (_os.environ.get("BOUNDARYTRACE_SHARED_DIR") or None) if sink.is_global else None
        self._fd: Optional[int] = None
        #: The last take() found the lock held by another process: the
        #: directory is in use and its figures go out from there.
        self.elsewhere = False
        self.take()

    @property
    def held(self) -> bool:
        return self._dir is None or self._fd is not None

    def take(self) -> bool:
        """Takes the lock if no live process holds it; True when held."""
        if self.held:
            return True
        import fcntl
        try:
            mode = 0o600 | (_os.stat(self._dir).st_mode & 0o044)  # as the library's own files
            fd = _os.open(_os.path.join(self._dir, _LOCK_NAME),  # type: ignore[arg-type]
                          _os.O_RDONLY | _os.O_CREAT | _os.O_NOFOLLOW | _os.O_CLOEXEC, mode)
        except OSError:
            return False  # no such directory: the sink is in the process, its snapshots merge none
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # EWOULDBLOCK: another process's exporter sends
            _os.close(fd)
            self.elsewhere = True
            return False
        self._fd, self.elsewhere = fd, False
        _leads.add(self)
        return True

    def sent_elsewhere(self) -> bool:
        """True when another process's exporter sends the directory's
        figures: then this one need not even merge them."""
        return not self.take() and self.elsewhere

    def may_send(self, snap: Any) -> bool:
        """Whether `snap` goes out from here: it has operations and, if it
        merges a shared directory's processes, this process holds the lock."""
        if snap.processes and self._dir is None:
            self._dir = self._maybe  # a merge: the global sink is shared
        return bool(len(snap)) and (not snap.processes or self.take())

    def release(self) -> None:
        """Lets another process's exporter send (close(); and in a forked
        child, whose inherited descriptor would keep the parent's lock held
        after the parent dies, with nobody sending)."""
        if self._fd is not None:
            _os.close(self._fd)
            self._fd = None
        _leads.discard(self)


# Leads holding their lock, for the fork handler. (A plain set: an open
# exporter's thread and exit handler keep it alive until it is closed.)
_leads: "Set[_DirectoryLead]" = set()


def _after_fork_in_child() -> None:
    for lead in list(_leads):
        lead.release()


if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(after_in_child=_after_fork_in_child)


class OTLPExporter:
    """Sends the figures of ``metrics`` every ``interval`` seconds from a
    daemon thread, and once more on ``close()`` or at interpreter exit. A
    send that fails is kept (up to ``max_pending`` requests) and sent again
    first next time, so a delta interval is not lost while the collector is
    away; each failure is said once on stderr until a send succeeds again.
    A snapshot without operations is not sent.

    Of the exporters of one shared directory, only the holder of its
    ``otlp.lock`` sends (the module's docstring says why). The exporter
    belongs to the process that made it: a forked child has no thread for
    it, and it sends nothing there (make one in the child if it should)."""

    def __init__(self, endpoint: str, metrics: Optional[Any] = None, *, interval: float = 10.0,
                 temporality: str = "cumulative", headers: Optional[Dict[str, str]] = None,
                 timeout: float = 10.0, max_pending: int = 16) -> None:
        from . import _tracing
        if temporality not in _TEMPORALITIES:
            raise ValueError(f"temporality must be one of {_TEMPORALITIES}, not {temporality!r}")
        interval, timeout = _seconds("interval", interval), _seconds("timeout", timeout)
        self._url = _url(endpoint)
        self._sink = metrics if metrics is not None else _tracing.global_metrics()
        if temporality == "delta" and self._sink.shared_dir is not None:
            raise ValueError(_DELTA_SHARED)
        self._interval, self._temporality = interval, temporality
        self._headers, self._timeout, self._max_pending = headers, timeout, max_pending
        self._pending: List[bytes] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._failing = self._refused = False
        self._pid = _os.getpid()
        self._lead = _DirectoryLead(self._sink)
        #: Requests sent, and requests dropped because ``max_pending`` were waiting.
        self.sent = self.dropped = 0
        atexit.register(self.close)
        self._thread = threading.Thread(target=self._run, name="boundarytrace-otlp", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """Where the requests go (the endpoint with ``/v1/metrics``)."""
        return self._url

    @property
    def leading(self) -> bool:
        """True when this exporter sends its shared directory's figures
        (holds its ``otlp.lock``), or its sink is not shared."""
        return self._lead.held

    def _run(self) -> None:
        while not self._stop.wait(self._interval) and not self._refused:
            self.flush()

    def flush(self) -> bool:
        """Sends now (pending requests first). True when everything went out,
        or there was nothing to send: no operations, or another process's
        exporter sends this shared directory's figures."""
        if _os.getpid() != self._pid:  # a forked child (its copy of _lock may be held)
            return True
        with self._lock:
            if self._refused:
                return False
            if self._lead.sent_elsewhere():
                return True
            try:
                snap = _snapshot(self._sink, self._temporality)
            except InvalidArgumentError:
                # delta on a global sink that BOUNDARYTRACE_SHARED_DIR made shared
                print(f"boundarytrace: OTLP export to {self._url}: {_DELTA_SHARED}; not exporting",
                      file=_sys.stderr)
                self._refused = True
                return False
            if self._lead.may_send(snap):
                self._pending.append(snap.export(Format.OTLP_PROTOBUF))
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
        """Stops the thread after a last send, and lets another process's
        exporter send a shared directory's figures. Called at interpreter
        exit for an exporter still open."""
        if _os.getpid() != self._pid or self._stop.is_set():
            return
        self._stop.set()
        atexit.unregister(self.close)
        self._thread.join()
        try:
            self.flush()
        finally:
            self._lead.release()

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
        interval = _os.environ.get("BOUNDARYTRACE_OTLP_INTERVAL", "") or 10
        temporality = _os.environ.get("BOUNDARYTRACE_OTLP_TEMPORALITY", "") or "cumulative"
        _started.append(OTLPExporter(endpoint, interval=interval, temporality=temporality))
    except ValueError as exc:
        print(f"boundarytrace: BOUNDARYTRACE_OTLP_*: {exc}; not exporting OTLP", file=_sys.stderr)
