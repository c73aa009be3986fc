"""The WSGI app test_engine_gunicorn.py serves with gunicorn (not a test module).

Every worker runs with ``BOUNDARYTRACE_SHARED_DIR`` and
``PROMETHEUS_MULTIPROC_DIR`` in its environment, and
``DOCSTORE_HOST`` / ``DOCSTORE_PORT`` naming the test's docstore-server.

- ``GET /insert``: one ``insert_many`` of four documents through the docstore
  demo extension (traced by the extension itself, operation ``insert_many``),
  counted in a prometheus_client counter; then, with ``APP_BUSY_DIR`` set, a
  file named after the worker's pid stands in that directory for
  ``APP_DELAY_MS`` milliseconds before the answer (the test kills a worker
  seen there: it has a request recorded and not answered). Answers
  ``<count> <pid>``.
- ``GET /metrics``: prometheus_client's MultiProcessCollector and
  boundarytrace's collector over the shared directory, in one registry.
- ``GET /ping``: ``ok`` (readiness; traces nothing).
"""

from __future__ import annotations

import os
import time

import docstore  # imports boundarytrace first: one library, one registry
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from boundarytrace.prometheus import BoundarytraceCollector

REQUESTS = Counter("app_requests", "Requests that called insert_many", ["path"])

DELAY_S = float(os.environ.get("APP_DELAY_MS", "0")) / 1000
BUSY_DIR = os.environ.get("APP_BUSY_DIR")

_client = None
_client_pid = 0


def _docstore():
    """This process's client (a preloaded app forks: a connection is never shared)."""
    global _client, _client_pid
    if _client is None or _client_pid != os.getpid():
        _client = docstore.Client(os.environ["DOCSTORE_HOST"], int(os.environ["DOCSTORE_PORT"]))
        _client_pid = os.getpid()
    return _client


def _metrics() -> bytes:
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # PROMETHEUS_MULTIPROC_DIR
    registry.register(BoundarytraceCollector(shared_dir=os.environ["BOUNDARYTRACE_SHARED_DIR"]))
    return generate_latest(registry)


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/insert":
        pid = os.getpid()
        n = _docstore().insert_many([{"pid": pid, "i": i} for i in range(4)])
        REQUESTS.labels("/insert").inc()
        if BUSY_DIR:
            busy = os.path.join(BUSY_DIR, str(pid))
            open(busy, "w").close()
            time.sleep(DELAY_S)
            os.unlink(busy)
        body = f"{n} {pid}\n".encode()
        ctype = "text/plain; charset=utf-8"
    elif path == "/metrics":
        body = _metrics()
        ctype = "text/plain; version=0.0.4; charset=utf-8"
    elif path == "/ping":
        body = b"ok\n"
        ctype = "text/plain; charset=utf-8"
    else:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]
    start_response("200 OK", [("Content-Type", ctype), ("Content-Length", str(len(body)))])
    return [body]
