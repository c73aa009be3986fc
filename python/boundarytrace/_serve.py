"""A live /metrics endpoint: Prometheus text, OpenMetrics or the protobuf
exposition with native histograms, whichever the scraper asks for.

It runs in a daemon thread of the traced process, reads a snapshot per
scrape (the record path never waits for it), and binds to loopback unless
told otherwise. ``BOUNDARYTRACE_LISTEN=[host:]port`` starts one when the
package is imported, so a traced Python program needs no code change.

The snapshot comes from a source: a sink (the process's own figures), a
shared directory merged at each scrape (``serve(shared_dir=...)``, and the
``boundarytrace serve DIR`` sidecar), or any callable that returns a
Snapshot.
"""

from __future__ import annotations

import functools
import os as _os
import sys as _sys
import threading
from typing import TYPE_CHECKING, Callable, List, Optional, Set, Tuple

from ._exports import Format, PathArg, encode_dir

if TYPE_CHECKING:
    from ._snapshot import Snapshot

#: Content types of the three expositions (what the response says it is).
CONTENT_TYPES = {
    Format.PROMETHEUS: "text/plain; version=0.0.4; charset=utf-8",
    Format.OPENMETRICS: "application/openmetrics-text; version=1.0.0; charset=utf-8",
    Format.PROMETHEUS_PROTOBUF: ("application/vnd.google.protobuf; "
                                 "proto=io.prometheus.client.MetricFamily; encoding=delimited"),
}


def negotiate(accept: Optional[str]) -> Format:
    """The exposition an ``Accept`` header prefers (highest q; ties go to the
    richer format). No header, or nothing this endpoint speaks: the text
    format 0.0.4, which every Prometheus reads."""
    best: Tuple[float, int, Format] = (0.0, 0, Format.PROMETHEUS)
    for part in (accept or "").split(","):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        params = {}
        for f in fields[1:]:
            k, _, v = f.partition("=")
            params[k.strip().lower()] = v.strip().strip('"')
        try:
            q = float(params.get("q", "1"))
        except ValueError:
            continue
        if media == "application/vnd.google.protobuf":
            if params.get("proto") != "io.prometheus.client.MetricFamily" or \
                    params.get("encoding", "delimited") != "delimited":
                continue
            cand = (q, 3, Format.PROMETHEUS_PROTOBUF)
        elif media == "application/openmetrics-text":
            cand = (q, 2, Format.OPENMETRICS)
        elif media in ("text/plain", "text/*", "*/*"):
            cand = (q, 1, Format.PROMETHEUS)
        else:
            continue
        if q > 0 and cand[:2] > best[:2]:
            best = cand
    return best[2]


def parse_address(value: str) -> Tuple[str, int]:
    """``"port"``, ``"host:port"`` or ``"[v6]:port"`` -> (host, port); the host
    defaults to 127.0.0.1. Raises ValueError naming what is wrong."""
    text = value.strip()
    host = "127.0.0.1"
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or not text[end + 1:].startswith(":"):
            raise ValueError(f"{value!r} is not [host]:port")
        host, text = text[1:end], text[end + 2:]
    elif ":" in text:
        host, _, text = text.rpartition(":")
        host = host or "127.0.0.1"
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise ValueError(f"{value!r} has no port in 0..65535")
    return host, int(text)


@functools.lru_cache(maxsize=None)
def _handler_class() -> type:
    """The request handler, made on first use: http.server (and the ssl,
    email and socketserver modules it pulls in) is imported only by a process
    that serves."""
    import http.server

    class _Handler(http.server.BaseHTTPRequestHandler):
        server_version = "boundarytrace"
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (the http.server name)
            if self.path.split("?", 1)[0] != "/metrics":
                self._reply(404, "text/plain; charset=utf-8", b"only /metrics is served here\n")
                return
            fmt = negotiate(self.headers.get("Accept"))
            try:
                body = self.server.source().export(fmt)  # type: ignore[attr-defined]
            except Exception as exc:  # a scrape must get an answer, not a dropped connection
                self._reply(500, "text/plain; charset=utf-8", f"{type(exc).__name__}: {exc}\n".encode())
                return
            if isinstance(body, str):
                body = body.encode("utf-8")
            self._reply(200, CONTENT_TYPES[fmt], body)

        def _reply(self, code: int, ctype: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # scrapes every few seconds would flood stderr

    return _Handler


class Endpoint:
    """A running /metrics endpoint (see :func:`serve`). ``close()`` stops it.

    ``source`` is called once per scrape, from the server's threads (so
    perhaps by several at once), and returns the Snapshot to render in the
    format the scraper asked for; an exception it raises answers that
    scrape with 500 and its message.

    The endpoint belongs to the process that started it: a forked child
    has no thread serving it, so the child closes its inherited copy of the
    listening socket at once (else, once the parent is gone, the port would
    stay taken and scrapers would wait on it), and ``close()`` there only
    returns.
    """

    def __init__(self, source: "Callable[[], Snapshot]", host: str, port: int) -> None:
        if not callable(source):
            raise TypeError(f"Endpoint: source must be a callable returning a Snapshot, "
                            f"not {type(source).__name__}")
        import http.server
        self._httpd = http.server.ThreadingHTTPServer((host, port), _handler_class())
        self._httpd.daemon_threads = True
        self._httpd.source = source  # type: ignore[attr-defined]
        self.host, self.port = self._httpd.server_address[:2]
        self._pid = _os.getpid()
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="boundarytrace-serve",
                                        daemon=True)
        self._thread.start()
        _endpoints.add(self)

    @property
    def url(self) -> str:
        """``http://host:port/metrics``."""
        host = f"[{self.host}]" if ":" in str(self.host) else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        """Stops serving and closes the socket."""
        if _os.getpid() != self._pid:
            # A forked child: shutdown() would wait forever for a serving
            # loop that only the parent runs.
            self._httpd.server_close()
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
        _endpoints.discard(self)

    def __enter__(self) -> "Endpoint":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<boundarytrace.Endpoint {self.url}>"


# Running endpoints, for the fork handler. (A plain set: the serving thread
# keeps an endpoint alive until close() anyway.)
_endpoints: "Set[Endpoint]" = set()


def _after_fork_in_child() -> None:
    for ep in list(_endpoints):
        ep._httpd.server_close()


if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(after_in_child=_after_fork_in_child)


def serve(address: str = "127.0.0.1:9464", metrics: Optional[object] = None, *,
          shared_dir: Optional[PathArg] = None) -> Endpoint:
    """Serves ``/metrics`` for ``metrics`` (default: the process-wide sink) in
    a daemon thread, each scrape a fresh cumulative snapshot in the format the
    scraper asks for: Prometheus text, OpenMetrics, or the protobuf exposition
    with native histograms.

    ``shared_dir`` instead serves a shared directory, every process's figures
    merged at each scrape (:func:`read_shared`; this process takes no slot):
    a sidecar beside a pre-fork server. The directory is read once before
    the server starts, so a missing or refused one raises here.

    ``address`` is ``"port"``, ``"host:port"`` or ``"[v6]:port"``; the host
    defaults to loopback, and port 0 picks a free one (see ``Endpoint.port``).
    Raises ValueError for a malformed address, OSError when it cannot bind
    (FileIOError, an OSError, when ``shared_dir`` cannot be read), TypeError
    when both ``metrics`` and ``shared_dir`` are given.
    """
    host, port = parse_address(str(address))
    if shared_dir is not None:
        if metrics is not None:
            raise TypeError("serve: give metrics or shared_dir, not both")
        return Endpoint(shared_source(shared_dir, "serve"), host, port)
    from . import _tracing
    sink = metrics if metrics is not None else _tracing.global_metrics()
    return Endpoint(sink.snapshot, host, port)  # type: ignore[attr-defined]


def shared_source(path: PathArg, call: str,
                  on_skipped: Optional[Callable[[str, str], None]] = None
                  ) -> "Callable[[], Snapshot]":
    """A snapshot source that merges the shared directory ``path`` at each
    call (``read_shared``), after one read now that raises what the
    directory's trouble is. ``on_skipped(path, reason)`` is called once per
    distinct file and reason the merges leave out."""
    from ._snapshot import read_shared
    data = encode_dir(path, call)
    seen: Set[Tuple[str, str]] = set()
    lock = threading.Lock()

    def source() -> "Snapshot":
        snap = read_shared(data)
        if on_skipped is not None and snap.skipped:
            with lock:
                new = [s for s in snap.skipped if s not in seen]
                seen.update(new)
            for skipped, reason in new:
                on_skipped(skipped, reason)
        return snap

    source()
    return source


_started: List[Endpoint] = []


def start_from_environment() -> None:
    """``BOUNDARYTRACE_LISTEN=[host:]port``: serve the global sink from import
    on. A value it cannot use gets one line on stderr; the program goes on."""
    value = _os.environ.get("BOUNDARYTRACE_LISTEN", "")
    if not value or _started:
        return
    try:
        _started.append(serve(value))
    except (ValueError, OSError) as exc:
        print(f"boundarytrace: BOUNDARYTRACE_LISTEN={value!r}: {exc}; not serving /metrics",
              file=_sys.stderr)
