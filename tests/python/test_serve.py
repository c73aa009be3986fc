"""The live /metrics endpoint: content negotiation, addresses, the three
expositions over a real socket, BOUNDARYTRACE_LISTEN, a shared directory
served (``serve(shared_dir=...)``), and the ``boundarytrace serve`` sidecar
as a subprocess stopped by its pid."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

import boundarytrace as bt
from boundarytrace._serve import negotiate, parse_address
from prom_proto import families

PROTO = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
# What Prometheus 2.42 sends with native histograms on (and without).
PROM_NATIVE = PROTO + ";q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
PROM_CLASSIC = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")


@pytest.mark.parametrize("accept, want", [
    (None, bt.Format.PROMETHEUS),
    ("", bt.Format.PROMETHEUS),
    ("text/plain", bt.Format.PROMETHEUS),
    ("*/*", bt.Format.PROMETHEUS),
    (PROM_NATIVE, bt.Format.PROMETHEUS_PROTOBUF),
    (PROM_CLASSIC, bt.Format.OPENMETRICS),
    ("application/vnd.google.protobuf;proto=other.Message;encoding=delimited", bt.Format.PROMETHEUS),
    ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text",
     bt.Format.PROMETHEUS),
    ("application/openmetrics-text;q=0.1,text/plain;q=0.9", bt.Format.PROMETHEUS),
    ("application/openmetrics-text;q=0,text/plain;q=0.5", bt.Format.PROMETHEUS),
    ("image/png", bt.Format.PROMETHEUS),
    ("text/plain;q=abc,application/openmetrics-text", bt.Format.OPENMETRICS),
])
def test_serve__negotiation(accept, want):
    assert negotiate(accept) == want


@pytest.mark.parametrize("value, want", [
    ("9464", ("127.0.0.1", 9464)),
    (":9464", ("127.0.0.1", 9464)),
    ("0.0.0.0:80", ("0.0.0.0", 80)),
    ("localhost:0", ("localhost", 0)),
    ("[::1]:9464", ("::1", 9464)),
])
def test_serve__addresses(value, want):
    assert parse_address(value) == want


@pytest.mark.parametrize("value", ["", "x", "host:", "1:65536", "1:-1", "[::1]9464", "[::1", "h:p"])
def test_serve__bad_addresses_say_what(value):
    with pytest.raises(ValueError, match="port|host"):
        parse_address(value)


def _get(url, accept=None):
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, resp.headers["Content-Type"], resp.read()


def test_serve__three_expositions_over_a_socket(metrics):
    metrics.record("served", 5000, phases={bt.NETWORK: 4000}, items=2)
    with bt.serve("127.0.0.1:0", metrics=metrics) as ep:
        assert ep.host == "127.0.0.1" and ep.port > 0
        assert ep.url == f"http://127.0.0.1:{ep.port}/metrics"
        status, ctype, body = _get(ep.url)
        assert status == 200 and ctype.startswith("text/plain; version=0.0.4")
        assert b'boundarytrace_operations_total{op="served"} 1\n' in body
        _, ctype, body = _get(ep.url, PROM_CLASSIC)
        assert ctype.startswith("application/openmetrics-text; version=1.0.0")
        assert body.endswith(b"# EOF\n")
        _, ctype, body = _get(ep.url, PROM_NATIVE)
        assert ctype == bt._serve.CONTENT_TYPES[bt.Format.PROMETHEUS_PROTOBUF]
        names = {f.name for f in families(body)}
        assert "boundarytrace_operation_nanoseconds" in names
        # each scrape is a fresh snapshot
        metrics.record("served", 7000)
        _, _, body = _get(ep.url)
        assert b'boundarytrace_operations_total{op="served"} 2\n' in body
        with pytest.raises(urllib.error.HTTPError) as err:
            _get(ep.url.replace("/metrics", "/other"))
        assert err.value.code == 404
        err.value.close()


def test_serve__a_taken_port_is_an_oserror():
    with bt.serve("127.0.0.1:0") as ep:
        with pytest.raises(OSError):
            bt.serve(f"127.0.0.1:{ep.port}")


def _child(env_value, code):
    env = dict(os.environ, BOUNDARYTRACE_LISTEN=env_value)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60)


def test_serve__listen_variable_serves_without_code_change():
    code = ("import boundarytrace as bt, urllib.request\n"
            "ep = bt._serve._started[0]\n"
            "bt.record('from_env', 1234)\n"
            "body = urllib.request.urlopen(ep.url, timeout=10).read()\n"
            "print(ep.host, b'op=\"from_env\"' in body)\n")
    r = _child("127.0.0.1:0", code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["127.0.0.1", "True"]


@pytest.mark.parametrize("value", ["not-an-address", "127.0.0.1:99999"])
def test_serve__odd_listen_value_gets_one_message(value):
    r = _child(value, "import boundarytrace as bt; print(len(bt._serve._started))")
    assert r.returncode == 0 and r.stdout.strip() == "0"
    lines = [ln for ln in r.stderr.splitlines() if "BOUNDARYTRACE_LISTEN" in ln]
    assert len(lines) == 1 and value in lines[0] and "not serving" in lines[0]


def test_serve__a_forked_child_leaves_a_with_block_at_once():
    # The child's copy of the endpoint has no serving thread: close() there
    # waited forever for it.
    code = ("import os, boundarytrace as bt\n"
            "with bt.serve('127.0.0.1:0') as ep:\n"
            "    pid = os.fork()\n"
            "if pid == 0:\n"
            "    os._exit(0)\n"
            "_, status = os.waitpid(pid, 0)\n"
            "print('child exit', status)\n")
    r = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and r.stdout == "child exit 0\n", r.stderr


def test_serve__a_killed_servers_child_does_not_keep_the_port():
    """The serving process forked a long-lived child, then was killed: the
    port is free for its successor (the child closed its copy of the
    listening socket, which nothing in it would have answered)."""
    code = ("import os, sys, time, boundarytrace as bt\n"
            "ep = bt.serve('127.0.0.1:0')\n"
            "child = os.fork()\n"
            "if child == 0:\n"
            "    null = os.open(os.devnull, os.O_RDWR)\n"
            "    for fd in (0, 1, 2):\n"
            "        os.dup2(null, fd)\n"
            "    time.sleep(120)\n"
            "    os._exit(0)\n"
            "print(ep.port, child, flush=True)\n"
            "sys.stdin.readline()\n")
    proc = subprocess.Popen([sys.executable, "-W", "ignore", "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        port, child = (int(w) for w in proc.stdout.readline().split())
    finally:
        proc.kill()
        proc.communicate()
    try:
        with bt.serve(f"127.0.0.1:{port}") as ep:
            assert ep.port == port
    finally:
        os.kill(child, signal.SIGKILL)


# --- a shared directory: bt.serve(shared_dir=...) and the `boundarytrace serve` sidecar ---------

def test_serve__a_shared_directory_merged_at_each_scrape(tmp_path):
    d = tmp_path / "bt"
    with bt.Metrics.open_shared(d) as m:
        m.record("shared_served", 5000)
        with bt.serve("127.0.0.1:0", shared_dir=d) as ep:
            _, _, body = _get(ep.url)
            assert b'boundarytrace_operations_total{op="shared_served"} 1\n' in body
            m.record("shared_served", 5000)
            _, _, body = _get(ep.url, PROM_NATIVE)
            fam = {f.name: f for f in families(body)}["boundarytrace_operations_total"]
            assert [mm.counter.value for mm in fam.metric] == [2]
    with pytest.raises(TypeError, match="not both"):
        bt.serve("127.0.0.1:0", metrics=bt.global_metrics(), shared_dir=d)
    with pytest.raises(bt.FileIOError) as info:  # read once before serving
        bt.serve("127.0.0.1:0", shared_dir=tmp_path / "missing")
    assert "(in bt_snapshot_read_shared: " in str(info.value)
    with pytest.raises(TypeError, match="source must be a callable"):
        bt.Endpoint(bt.global_metrics(), "127.0.0.1", 0)


def test_serve__a_failing_source_answers_500(tmp_path):
    def source():
        raise RuntimeError("no figures today")
    with bt.Endpoint(source, "127.0.0.1", 0) as ep:
        with pytest.raises(urllib.error.HTTPError) as err:
            _get(ep.url)
        assert err.value.code == 500 and err.value.read() == b"RuntimeError: no figures today\n"
        err.value.close()


def sidecar_env(shared_dir=None):
    """The environment of a `boundarytrace serve` subprocess: no inherited switches."""
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    for k in ("BOUNDARYTRACE_SHARED_DIR", "BOUNDARYTRACE_DUMP", "BOUNDARYTRACE_TIMELINE",
              "BOUNDARYTRACE_LISTEN", "BOUNDARYTRACE_DISABLE"):
        env.pop(k, None)
    if shared_dir is not None:
        env["BOUNDARYTRACE_SHARED_DIR"] = str(shared_dir)
    return env


class Sidecar:
    """`python -m boundarytrace serve ARGS` on a free loopback port: its first
    line on standard output is the URL it serves. Stop it with stop()."""

    def __init__(self, *args, env=None, listen="127.0.0.1:0"):
        cmd = [sys.executable, "-m", "boundarytrace", "serve", *map(str, args)]
        if listen is not None:
            cmd += ["--listen", listen]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env if env is not None else sidecar_env())
        line = self.proc.stdout.readline()  # the URL, or nothing when it fails
        if not line.startswith("boundarytrace serve: http://"):
            _, err = self.stop()
            raise AssertionError(f"the sidecar did not start: {line!r} {err!r}")
        self.url = line.split()[2]

    def stop(self, sig=signal.SIGTERM):
        """Sends `sig` to its pid, waits; returns (exit code, standard error)."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        try:
            code = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            code = None
        err = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return code, err


RECORD = """
import sys, boundarytrace as bt
for _ in range(int(sys.argv[1])):
    bt.record("sidecar_op", 4000, phases={bt.NETWORK: 3000})
"""


def _writer(d, n):
    proc = subprocess.run([sys.executable, "-c", RECORD, str(n)], env=sidecar_env(d),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve__sidecar_serves_a_shared_directory_until_a_signal(tmp_path, backend, sig):
    d = tmp_path / "bt"
    _writer(d, 3)
    _writer(d, 4)
    (d / "slot-9.bt").write_bytes(b"junk" * 40)  # skipped: said once, however many scrapes
    env = dict(sidecar_env(), BOUNDARYTRACE_BACKEND=backend)
    side = Sidecar(d, env=env)
    try:
        assert side.url.startswith("http://127.0.0.1:") and side.url.endswith("/metrics")
        status, ctype, body = _get(side.url)
        assert status == 200 and ctype.startswith("text/plain; version=0.0.4")
        assert b'boundarytrace_operations_total{op="sidecar_op"} 7\n' in body
        _, ctype, body = _get(side.url, PROM_CLASSIC)
        assert ctype.startswith("application/openmetrics-text; version=1.0.0")
        assert b'boundarytrace_operations_total{op="sidecar_op"} 7\n' in body
        assert body.endswith(b"# EOF\n")
        _writer(d, 5)  # merged at the next scrape
        _, ctype, body = _get(side.url, PROM_NATIVE)
        assert ctype == bt._serve.CONTENT_TYPES[bt.Format.PROMETHEUS_PROTOBUF]
        fams = {f.name: f for f in families(body)}
        assert [m.counter.value for m in fams["boundarytrace_operations_total"].metric] == [12]
        hist = fams["boundarytrace_operation_nanoseconds"].metric[0].histogram
        assert hist.sample_count == 12 and hist.sample_sum == 12 * 4000
        assert hist.schema == 4 and len(hist.positive_span) > 0  # native buckets
        with pytest.raises(urllib.error.HTTPError) as err:
            _get(side.url.replace("/metrics", "/"))
        assert err.value.code == 404
        err.value.close()
        # the sidecar took no slot
        assert sorted(os.listdir(d)) == ["archive.bt", "lock", "slot-0.bt", "slot-9.bt"]
    finally:
        code, err = side.stop(sig)
    assert code == 0, err
    skipped = [ln for ln in err.splitlines() if ln.startswith("boundarytrace: skipped ")]
    assert len(skipped) == 1 and skipped[0].startswith(f"boundarytrace: skipped {d}/slot-9.bt: ")
    assert err.splitlines()[-1] == f"boundarytrace serve: stopped by {sig.name}"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve__sidecar_stops_on_a_signal_sent_as_soon_as_it_serves(tmp_path, backend, sig):
    # A signal the moment the URL is out lands while the sidecar is just
    # beginning to wait: a handler that set a threading.Event could then
    # deadlock on the Event's own lock (seen on 3.13t), and a signal before
    # the handlers were in place would kill it. Each start must stop, at once
    # (10 starts per signal and backend: on 3.13t the old handler hung within
    # 40; every interpreter of the matrix runs them).
    d = tmp_path / "bt"
    _writer(d, 1)
    env = dict(sidecar_env(), BOUNDARYTRACE_BACKEND=backend)
    for _ in range(10):
        side = Sidecar(d, env=env)
        code, err = side.stop(sig)
        assert (code, err) == (0, f"boundarytrace serve: stopped by {sig.name}\n")


def test_serve__sidecar_takes_the_directory_from_the_environment(tmp_path, backend):
    d = tmp_path / "bt"
    _writer(d, 2)
    env = dict(sidecar_env(d), BOUNDARYTRACE_BACKEND=backend,
               BOUNDARYTRACE_DUMP=str(tmp_path / "x.json"))
    side = Sidecar(env=env)
    try:
        _, _, body = _get(side.url)
        assert b'boundarytrace_operations_total{op="sidecar_op"} 2\n' in body
    finally:
        code, err = side.stop()
    assert code == 0 and err == "boundarytrace serve: stopped by SIGTERM\n", err
    assert not (tmp_path / "x.json").exists()  # the tool dumps nothing at exit
    assert bt.read_shared(d).processes == 1   # and took no slot


def _serve_fails(*args, env):
    proc = subprocess.run([sys.executable, "-m", "boundarytrace", "serve", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2 and proc.stdout == "", (proc.returncode, proc.stdout, proc.stderr)
    return proc.stderr


def test_serve__sidecar_bad_input(tmp_path, backend):
    env = dict(sidecar_env(), BOUNDARYTRACE_BACKEND=backend)
    missing = tmp_path / "missing"
    assert _serve_fails(missing, "--listen", "127.0.0.1:0", env=env) == (
        f"boundarytrace serve: error: cannot read the shared directory {missing}: "
        f"No such file or directory\n")
    unsafe = tmp_path / "unsafe"
    unsafe.mkdir()
    os.chmod(unsafe, 0o777)
    assert _serve_fails(unsafe, "--listen", "127.0.0.1:0", env=env).endswith(
        "Permission denied; a shared directory must be your own and not writable by group or "
        "others, and this one is mode 0777\n")
    assert _serve_fails(env=env) == (
        "boundarytrace serve: error: no directory: give DIR, or set BOUNDARYTRACE_SHARED_DIR\n")
    d = tmp_path / "bt"
    _writer(d, 1)
    for bad in ("x", "127.0.0.1:99999", "[::1"):
        err = _serve_fails(d, "--listen", bad, env=env)
        assert err.startswith("usage: boundarytrace serve ") and "argument --listen: " in err, err
    with bt.serve("127.0.0.1:0") as taken:
        err = _serve_fails(d, "--listen", f"127.0.0.1:{taken.port}", env=env)
    assert err == (f"boundarytrace serve: error: cannot listen on 127.0.0.1:{taken.port}: "
                   f"Address already in use\n")
    # an empty directory serves (the workers may start after the sidecar)
    empty = tmp_path / "empty"
    empty.mkdir(mode=0o700)
    side = Sidecar(empty, env=env)
    try:
        status, _, body = _get(side.url)
        assert status == 200 and b"sidecar_op" not in body
    finally:
        assert side.stop()[0] == 0
