"""A real OpenTelemetry Collector (built by scripts/lib/otelcol.sh with the
collector's builder: OTLP receiver, OTLP/HTTP exporter) receives the
library's OTLP over loopback and passes it on to a receiver this test runs;
what arrives is decoded with the official opentelemetry-proto classes and
must equal the snapshot: counts exact, exponential histogram buckets
identical, min, max and sum, attributes op / phase / gil, temporality.
The collector is started with a temporary config on free loopback ports and
stopped by its pid.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

import boundarytrace as bt
from otel_collector import (CUMULATIVE, DELTA, attrs, drain, free_port, metrics_of, operations,
                            passed_on, resource)


def _check_histogram(point, dist):
    assert point.scale == 4 and point.count == dist.count
    assert point.sum == pytest.approx(float(dist.sum_ns))
    assert point.min == dist.min_ns and point.max == dist.max_ns
    zero = sum(c for lo, _, c in dist.buckets if lo == 0)
    assert point.zero_count == zero
    # the snapshot's buckets, by OTLP index i: (2^(i/16), 2^((i+1)/16)]
    want = {}
    for lo, _, c in dist.buckets:
        if lo > 0:
            k = 16 * (lo.bit_length() - 1) - 1
            while lo ** 16 > 2 ** k:
                k += 1
            want[k - 1] = c
    got = {point.positive.offset + j: c for j, c in enumerate(point.positive.bucket_counts) if c}
    assert got == want


def test_engine_otel__collector_passes_on_exactly_the_snapshot(collector, metrics):
    endpoint, received = collector
    drain(received)
    values = [int(5_000 * 2000 ** (i / 499)) for i in range(500)] + [0, 1, 2**40]
    for v in values:
        metrics.record("otel_op", v, phases={bt.NETWORK: (v // 3, 2), bt.EXTRACT: v // 4}, items=2)
    metrics.record("otel_err", 999, error=True, gil_wait_ns=77, gil_releases=3)
    bt.otlp_push(endpoint, metrics)
    snap = metrics.snapshot()
    got = metrics_of(passed_on(received))
    ops = {attrs(p)["op"]: p for p in got["boundarytrace.operations"].sum.data_points}
    assert got["boundarytrace.operations"].sum.is_monotonic
    assert got["boundarytrace.operations"].sum.aggregation_temporality == CUMULATIVE
    assert {k: p.as_int for k, p in ops.items()} == {"otel_op": len(values), "otel_err": 1}
    for name, attr in (("boundarytrace.errors", "errors"), ("boundarytrace.items", "items"),
                       ("boundarytrace.gil.wait", "gil_wait_ns"),
                       ("boundarytrace.gil.releases", "gil_releases")):
        pts = {attrs(p)["op"]: p.as_int for p in got[name].sum.data_points}
        assert pts == {op.name: getattr(op, attr) for op in snap}, name
    hist = got["boundarytrace.operation.duration"]
    assert hist.unit == "ns"
    assert hist.exponential_histogram.aggregation_temporality == CUMULATIVE
    for p in hist.exponential_histogram.data_points:
        _check_histogram(p, snap[attrs(p)["op"]].total)
    phases = got["boundarytrace.phase.duration"].exponential_histogram.data_points
    seen = set()
    for p in phases:
        a = attrs(p)
        ps = snap[a["op"]].phases[a["phase"]]
        assert a["gil"] == ("held" if ps.gil_held else "released")
        _check_histogram(p, ps)
        seen.add((a["op"], a["phase"]))
    assert seen == {(op.name, ph) for op in snap for ph in op.phases}
    p0 = ops["otel_op"]
    assert 0 < p0.start_time_unix_nano <= p0.time_unix_nano
    assert abs(p0.time_unix_nano - time.time_ns()) < 60 * 10**9


def test_engine_otel__delta_intervals_add_up(collector, metrics):
    endpoint, received = collector
    drain(received)
    for v in (1000, 2000):
        metrics.record("delta_op", v)
    bt.otlp_push(endpoint, metrics, temporality="delta")
    metrics.record("delta_op", 3000)
    bt.otlp_push(endpoint, metrics, temporality="delta")
    counts = []
    for _ in range(2):
        got = metrics_of(passed_on(received))
        s = got["boundarytrace.operations"].sum
        assert s.aggregation_temporality == DELTA
        counts.append({attrs(p)["op"]: p.as_int for p in s.data_points}["delta_op"])
    assert counts == [2, 1]


def test_engine_otel__exporter_sends_periodically_and_on_close(collector, metrics):
    endpoint, received = collector
    drain(received)
    metrics.record("periodic", 10)
    with bt.OTLPExporter(endpoint, metrics, interval=0.2) as exp:
        for _ in range(2):  # two ticks
            got = metrics_of(passed_on(received))
            assert {attrs(p)["op"] for p in got["boundarytrace.operations"].sum.data_points} == {"periodic"}
    passed_on(received)  # the last send, on close
    assert exp.sent >= 3 and exp.dropped == 0


def test_engine_otel__bad_arguments():
    with pytest.raises(ValueError, match="http"):
        bt.otlp_push("127.0.0.1:4318")
    with pytest.raises(ValueError, match="temporality"):
        bt.OTLPExporter("http://127.0.0.1:1", temporality="sometimes")
    from boundarytrace.otel import OTelBridge
    from opentelemetry.sdk.metrics.export import ConsoleMetricExporter
    # a wait longer than threading allows killed the thread with an OverflowError
    for bad in (0, -1, float("nan"), float("inf"), 1e300, "soon"):
        with pytest.raises(ValueError, match="interval"):
            bt.OTLPExporter("http://127.0.0.1:1", interval=bad)
        with pytest.raises(ValueError, match="interval"):
            OTelBridge(ConsoleMetricExporter(), interval=bad)
        with pytest.raises(ValueError, match="timeout"):
            bt.OTLPExporter("http://127.0.0.1:1", timeout=bad)
        with pytest.raises(ValueError, match="timeout"):
            bt.otlp_push("http://127.0.0.1:1", timeout=bad)
    with pytest.raises(OSError):
        bt.otlp_push(f"http://127.0.0.1:{free_port()}", timeout=2)


@pytest.mark.parametrize("interval", ["inf", "1e300", "soon", "0", "-5"])
def test_engine_otel__odd_interval_variable_gets_one_message(interval):
    proc = _start(_env("http://127.0.0.1:1", BOUNDARYTRACE_OTLP_INTERVAL=interval), "x", 1)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0
    (line,) = err.splitlines()
    assert "BOUNDARYTRACE_OTLP_" in line and "interval" in line and "not exporting" in line, err


def test_engine_otel__sdk_bridge_through_the_users_exporter(collector, metrics):
    """boundarytrace.otel: the figures go through the OpenTelemetry SDK's own
    OTLP/HTTP exporter (the user's pipeline) and arrive equal to the snapshot."""
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics.export import MetricExportResult
    from boundarytrace.otel import OTelBridge

    endpoint, received = collector
    drain(received)
    for v in (0, 7, 1500, 1_000_000, 3_000_000):
        metrics.record("sdk_op", v, phases={bt.CONVERT: v // 2}, items=1)
    bridge = OTelBridge(OTLPMetricExporter(endpoint=endpoint + "/v1/metrics"), metrics, interval=3600)
    assert bridge.force_flush() == MetricExportResult.SUCCESS
    snap = metrics.snapshot()
    got = metrics_of(passed_on(received))
    ops = {attrs(p)["op"]: p.as_int for p in got["boundarytrace.operations"].sum.data_points}
    assert ops == {"sdk_op": 5}
    (point,) = got["boundarytrace.operation.duration"].exponential_histogram.data_points
    _check_histogram(point, snap["sdk_op"].total)
    (phase,) = got["boundarytrace.phase.duration"].exponential_histogram.data_points
    assert attrs(phase) == {"op": "sdk_op", "phase": "convert", "gil": "released"}
    _check_histogram(phase, snap["sdk_op"].phases["convert"])
    bridge.shutdown()
    passed_on(received)  # the last export on shutdown
    assert bridge.results[-1] == MetricExportResult.SUCCESS


# A traced program, run as its own process: records argv[2] operations named
# argv[1]; with argv[3] "wait" it then sends (the exporter the environment
# started), says "ready 0" and waits for a line on stdin; with "fork-wait" it
# sends, forks a child, which sleeps, and says "ready <child's pid>".
_PROGRAM = r"""
import os, sys
import boundarytrace as bt
name, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for _ in range(n):
    with bt.trace(name):
        pass
if mode != "exit" and bt._otlp._started:
    bt._otlp._started[0].flush()  # as its first tick would: it sends, and leads a shared directory
child = 0
if mode == "fork-wait":
    child = os.fork()
    if child == 0:
        import time
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # the test reads the parent's pipes to their end
            os.dup2(null, fd)
        time.sleep(120)  # killed by the test before
        os._exit(0)
if mode in ("wait", "fork-wait"):
    print("ready", child, flush=True)
    sys.stdin.readline()
"""


def _env(endpoint, **extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BOUNDARYTRACE_", "OTEL_")) or k == "BOUNDARYTRACE_BACKEND"}
    env.update(BOUNDARYTRACE_OTLP_ENDPOINT=endpoint, BOUNDARYTRACE_OTLP_INTERVAL="3600")
    env.update(extra)
    return env


def _start(env, name, n, mode="exit"):
    return subprocess.Popen([sys.executable, "-c", _PROGRAM, name, str(n), mode], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _run_program(env, name, n):
    proc = _start(env, name, n)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return proc.pid, err


def test_engine_otel__environment_exporter_sends_at_exit(collector):
    """BOUNDARYTRACE_OTLP_ENDPOINT with no code change: a program that ends
    before its first interval still delivers what it recorded."""
    endpoint, received = collector
    drain(received)
    pid, err = _run_program(_env(endpoint), "env_exit", 3)
    assert err == ""
    req = passed_on(received)
    assert operations(req) == {"env_exit": 3}
    assert resource(req)["process.pid"] == pid
    assert received.empty()


def test_engine_otel__one_process_sends_a_shared_directory(collector, tmp_path):
    """Processes sharing a directory (BOUNDARYTRACE_SHARED_DIR) each start an
    exporter; the directory's merge goes out from one of them, named by the
    directory, and from another once that one has gone."""
    endpoint, received = collector
    drain(received)
    shared = tmp_path / "shared"
    env = _env(endpoint, BOUNDARYTRACE_SHARED_DIR=str(shared))
    first = _start(env, "a", 2, "wait")
    try:
        assert first.stdout.readline() == "ready 0\n"
        assert operations(passed_on(received)) == {"a": 2}
        _run_program(env, "b", 2)  # exits while the first one sends: it sends nothing
        assert received.empty()
        first.communicate("\n", timeout=60)
        assert first.returncode == 0
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    req = passed_on(received)
    assert operations(req) == {"a": 2, "b": 2}
    assert resource(req) == {"service.name": "unknown_service", "telemetry.sdk.name": "boundarytrace",
                              "host.name": socket.gethostname(),
                              "boundarytrace.shared_dir": os.path.realpath(shared)}
    _run_program(env, "c", 1)  # the only one left: it sends, at its exit
    assert operations(passed_on(received)) == {"a": 2, "b": 2, "c": 1}
    assert received.empty()


def test_engine_otel__killed_senders_child_does_not_keep_the_lock(collector, tmp_path):
    """The sending process forked a child, then was killed: the child holds
    no copy of the directory's lock, so another process takes over."""
    endpoint, received = collector
    drain(received)
    env = _env(endpoint, BOUNDARYTRACE_SHARED_DIR=str(tmp_path / "shared"))
    first = _start(env, "a", 1, "fork-wait")
    try:
        word, child = first.stdout.readline().split()
        assert word == "ready"
    finally:
        first.kill()  # no exit handler: it sends nothing more
        first.communicate()
    try:
        assert operations(passed_on(received)) == {"a": 1}
        assert received.empty()
        _run_program(env, "c", 1)  # while the child lives
        assert operations(passed_on(received)) == {"a": 1, "c": 1}
    finally:
        os.kill(int(child), signal.SIGKILL)


def test_engine_otel__exporters_of_one_directory_in_one_process(collector, tmp_path):
    endpoint, received = collector
    drain(received)
    with bt.Metrics.open_shared(tmp_path / "shared") as m1, \
            bt.Metrics.open_shared(tmp_path / "shared") as m2:
        m2.record("shared_op", 5)
        one = bt.OTLPExporter(endpoint, m1, interval=3600)
        two = bt.OTLPExporter(endpoint, m2, interval=3600)
        assert one.leading and not two.leading
        assert two.flush() and two.sent == 0 and received.empty()
        one.close()
        assert operations(passed_on(received)) == {"shared_op": 1}
        assert two.flush() and two.leading and two.sent == 1
        assert operations(passed_on(received)) == {"shared_op": 1}
        two.close()
        passed_on(received)
        with pytest.raises(ValueError, match="cumulative"):
            bt.OTLPExporter(endpoint, m1, temporality="delta")
    empty = bt.OTLPExporter(endpoint, bt.Metrics(), interval=3600)
    assert empty.flush() and empty.sent == 0  # no operations: nothing sent
    empty.close()
    assert received.empty()


def test_engine_otel__delta_of_a_shared_global_sink_is_refused_once(collector, tmp_path):
    endpoint, received = collector
    drain(received)
    env = _env(endpoint, BOUNDARYTRACE_SHARED_DIR=str(tmp_path / "shared"),
               BOUNDARYTRACE_OTLP_TEMPORALITY="delta", BOUNDARYTRACE_OTLP_INTERVAL="0.05")
    proc = _start(env, "d", 3, "wait")
    assert proc.stdout.readline() == "ready 0\n"  # after one refused send
    time.sleep(0.5)  # some intervals
    out, err = proc.communicate("\n", timeout=60)
    assert proc.returncode == 0
    lines = err.splitlines()
    assert len(lines) == 1 and "'delta'" in lines[0] and "not exporting" in lines[0], err
    assert received.empty()


def test_engine_otel__resource_from_the_environment_as_the_sdk_reads_it(collector, monkeypatch):
    """OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME give the attributes the
    OpenTelemetry SDK's own detector gives for them; an item it cannot read
    is left out and said once."""
    from opentelemetry.sdk.resources import OTELResourceDetector

    endpoint, received = collector
    drain(received)
    value = ("deployment.environment = prod ,team=data%20eng,host.name=web-1,broken,"
             "service.name=from-attrs,odd=%zz%41,,bytes=%FF")
    env = _env(endpoint, OTEL_RESOURCE_ATTRIBUTES=value, OTEL_SERVICE_NAME="svc")
    pid, err = _run_program(env, "res", 1)
    got = resource(passed_on(received))
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", value)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "svc")
    sdk = dict(OTELResourceDetector().detect().attributes)
    assert sdk["bytes"] == "\ufffd" and sdk["odd"] == "%zzA"
    assert got == {**sdk, "telemetry.sdk.name": "boundarytrace", "process.pid": pid}
    (line,) = err.splitlines()
    assert "OTEL_RESOURCE_ATTRIBUTES" in line and "not key=value" in line


def test_engine_otel__names_that_are_not_utf8_still_make_a_valid_request(collector, tmp_path):
    """protobuf strings must be UTF-8, or the receiver refuses the request:
    a service name or a shared directory's path that is not gets U+FFFD."""
    endpoint, received = collector
    drain(received)
    shared = os.path.join(os.fsencode(tmp_path), b"dir-\xff")
    env = _env(endpoint, BOUNDARYTRACE_SHARED_DIR=os.fsdecode(shared))
    env = {os.fsencode(k): os.fsencode(v) for k, v in env.items()}
    env[b"OTEL_SERVICE_NAME"] = b"svc-\xfe"
    _run_program(env, "utf8", 2)
    req = passed_on(received)
    assert operations(req) == {"utf8": 2}
    res = resource(req)
    assert res["service.name"] == "svc-\ufffd"
    assert res["boundarytrace.shared_dir"] == os.path.realpath(tmp_path) + "/dir-\ufffd"


def test_engine_otel__sdk_bridge_exports_at_exit(collector):
    """A program that never calls shutdown() still delivers its figures, as
    the SDK's own MeterProvider would at exit."""
    endpoint, received = collector
    drain(received)
    code = ("import boundarytrace as bt\n"
            "from boundarytrace.otel import OTelBridge\n"
            "from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter\n"
            f"bridge = OTelBridge(OTLPMetricExporter(endpoint={endpoint + '/v1/metrics'!r}), interval=3600)\n"
            "for _ in range(4):\n"
            "    bt.record('bridged', 1000)\n")
    env = {k: v for k, v in _env(endpoint).items() if k != "BOUNDARYTRACE_OTLP_ENDPOINT"}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert operations(passed_on(received)) == {"bridged": 4}
    assert received.empty()


def test_engine_otel__a_refused_directory_gets_no_lock_file(collector, tmp_path):
    """BOUNDARYTRACE_SHARED_DIR names a directory others may write into: the
    library refuses it (one line) and keeps the figures in the process,
    which the exporter sends as one process's, leaving the directory empty."""
    endpoint, received = collector
    drain(received)
    refused = tmp_path / "open-to-all"
    refused.mkdir()
    refused.chmod(0o777)
    pid, err = _run_program(_env(endpoint, BOUNDARYTRACE_SHARED_DIR=str(refused)), "in_process", 2)
    assert "BOUNDARYTRACE_SHARED_DIR" in err
    req = passed_on(received)
    assert operations(req) == {"in_process": 2} and resource(req)["process.pid"] == pid
    assert os.listdir(refused) == []


def _sidecar(*args, env):
    return subprocess.Popen([sys.executable, "-m", "boundarytrace", "otlp", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_engine_otel__sidecar_sends_a_shared_directory_until_a_signal(collector, tmp_path):
    """`boundarytrace otlp DIR`: every process's figures, merged, go to the
    collector periodically and once more when it is stopped; it takes no
    slot, and while it sends, a process of the directory with its own
    exporter does not."""
    endpoint, received = collector
    drain(received)
    shared = tmp_path / "shared"
    writers = {k: v for k, v in _env(endpoint, BOUNDARYTRACE_SHARED_DIR=str(shared)).items()
               if k != "BOUNDARYTRACE_OTLP_ENDPOINT"}
    for name in ("w1", "w2"):
        _run_program(writers, name, 3)
    proc = _sidecar(str(shared), "--endpoint", endpoint, "--interval", "0.2", env=writers)
    try:
        line = proc.stdout.readline()
        assert line == f"boundarytrace otlp: sending {shared} to {endpoint}/v1/metrics every 0.2 s\n"
        req = passed_on(received)  # a periodic send
        assert operations(req) == {"w1": 3, "w2": 3}
        assert resource(req)["boundarytrace.shared_dir"] == os.path.realpath(shared)
        # a process of the directory exporting too: the sidecar holds the lock
        _run_program(_env(endpoint, BOUNDARYTRACE_SHARED_DIR=str(shared)), "w3", 1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "stopped by SIGTERM" in err
    reqs = drain(received)
    assert reqs and all(operations(r) in ({"w1": 3, "w2": 3}, {"w1": 3, "w2": 3, "w3": 1})
                        for r in reqs)
    assert operations(reqs[-1]) == {"w1": 3, "w2": 3, "w3": 1}  # the last send, at the signal
    assert bt.read_shared(shared).processes == 3  # the sidecar took no slot


def test_engine_otel__sidecar_takes_over_from_a_process_that_sends(collector, tmp_path):
    endpoint, received = collector
    drain(received)
    shared = tmp_path / "shared"
    env = _env(endpoint, BOUNDARYTRACE_SHARED_DIR=str(shared))
    first = _start(env, "a", 1, "wait")  # sends once and holds the directory's lock
    proc = None
    try:
        assert first.stdout.readline() == "ready 0\n"
        assert operations(passed_on(received)) == {"a": 1}
        proc = _sidecar(str(shared), "--interval", "0.1", env=env)
        assert proc.stdout.readline().endswith(" every 0.1 s (another process sends it now)\n")
        time.sleep(0.5)  # its ticks: the other process sends
        assert received.empty()
        first.communicate("\n", timeout=60)  # its last send, at exit; then the sidecar's
        assert [operations(passed_on(received)) for _ in range(2)] == [{"a": 1}, {"a": 1}]
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    finally:
        for p in (first, proc):
            if p is not None and p.poll() is None:
                p.kill()
                p.communicate()


@pytest.mark.parametrize("args, env_extra, message", [
    ([], {}, "no directory"),
    (["DIR"], {}, "no endpoint"),
    (["DIR", "--endpoint", "127.0.0.1:4318"], {}, "http"),
    (["DIR", "--endpoint", "http://127.0.0.1:1", "--interval", "inf"], {}, "interval"),
    (["missing", "--endpoint", "http://127.0.0.1:1"], {}, "missing"),
])
def test_engine_otel__sidecar_bad_input(tmp_path, args, env_extra, message):
    (tmp_path / "DIR").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOUNDARYTRACE_")}
    env.update(env_extra)
    args = [str(tmp_path / a) if a in ("DIR", "missing") else a for a in args]
    proc = _sidecar(*args, env=env)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and out == "", (out, err)
    assert message in err and "Traceback" not in err, err
