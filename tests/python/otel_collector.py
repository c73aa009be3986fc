"""The OpenTelemetry Collector the engine tests talk to: built by
scripts/lib/otelcol.sh with the collector's builder (OTLP receiver, OTLP/HTTP
exporter), started on a free loopback port with a temporary config, and
stopped by its pid. What it passes on goes to a receiver run here, which
queues each request body (decode with ``passed_on``). conftest.py's
``collector`` fixture runs it for test_engine_otel.py and
test_engine_gunicorn.py.
"""

from __future__ import annotations

import http.server
import os
import queue
import socket
import subprocess
import threading
import time

from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2

# scripts/test builds the collector when missing and names it here.
OTELCOL = os.environ.get("BT_OTELCOL", "/var/cache/boundarytrace/otelcol-0.165.0/otelcol-bt")
CUMULATIVE, DELTA = 2, 1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Sink(http.server.BaseHTTPRequestHandler):
    """Where the collector passes the metrics on: each request body queued."""

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.put((self.path, self.headers.get("Content-Type"), body))
        reply = metrics_service_pb2.ExportMetricsServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


def run(tmp_path_factory):
    """The `collector` fixture's body (conftest.py): yields its OTLP/HTTP
    endpoint and the queue of what it passed on."""
    tmp = tmp_path_factory.mktemp("otelcol")
    sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    sink.received = queue.Queue()
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    port = free_port()
    cfg = tmp / "otelcol.yaml"
    cfg.write_text(f"""receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{port}
exporters:
  otlphttp:
    endpoint: http://127.0.0.1:{sink.server_address[1]}
    compression: none
    retry_on_failure:
      enabled: false
    sending_queue:
      enabled: false
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    metrics:
      receivers: [otlp]
      exporters: [otlphttp]
""")
    log = open(tmp / "otelcol.log", "w")
    proc = subprocess.Popen([OTELCOL, f"--config={cfg}"], stdout=log, stderr=subprocess.STDOUT)
    try:
        end = time.monotonic() + 60
        while True:  # ready when the receiver accepts connections
            assert proc.poll() is None, f"the collector exited: {log.name}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < end, f"the collector did not listen (see {log.name})"
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", sink.received
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        sink.shutdown()
        sink.server_close()


def passed_on(received):
    path, ctype, body = received.get(timeout=30)
    assert path == "/v1/metrics" and ctype == "application/x-protobuf"
    req = metrics_service_pb2.ExportMetricsServiceRequest()
    req.ParseFromString(body)
    return req


def metrics_of(req):
    out = {}
    for rm in req.resource_metrics:
        for sm in rm.scope_metrics:
            assert sm.scope.name == "boundarytrace"
            for m in sm.metrics:
                out[m.name] = m
    return out


def attrs(point):
    return {kv.key: kv.value.string_value for kv in point.attributes}


def drain(received):
    """Everything queued so far, decoded, oldest first."""
    out = []
    while True:
        try:
            path, ctype, body = received.get_nowait()
        except queue.Empty:
            return out
        req = metrics_service_pb2.ExportMetricsServiceRequest()
        req.ParseFromString(body)
        out.append(req)


def resource(req):
    (rm,) = req.resource_metrics
    return {kv.key: (kv.value.string_value or kv.value.int_value) for kv in rm.resource.attributes}


def operations(req):
    return {attrs(p)["op"]: p.as_int
            for p in metrics_of(req)["boundarytrace.operations"].sum.data_points}
