"""A real pre-fork server: gunicorn (from PyPI) with 4 sync workers that
restart every 25-30 requests, serving gunicorn_app.py, whose every request
calls the docstore demo extension's insert_many, with
BOUNDARYTRACE_SHARED_DIR naming a private directory under /dev/shm.

A bounded load (1,500 requests from 4 client threads over loopback) runs
while one worker is SIGKILLed mid-run. Afterwards the merged directory must
hold exactly what the clients saw: the insert_many count is the number of
200 answers, plus at most the one request in flight in the killed worker
(a sync worker handles one request at a time; a request whose answer never
came is not counted as answered, though the worker may have recorded it
before it died). Every histogram is whole, nothing is dropped or skipped,
more processes than workers were merged (the restarts), and the directory
never held more than the live workers' slots and three files.

A second, shorter run is configured by a gunicorn.conf.py that sets
BOUNDARYTRACE_SHARED_DIR with ``raw_env`` and preloads the app (the master
loads the library but, recording nothing, takes no slot; each forked worker
takes its own at its first record); the count is then exact.

The app's /metrics view (prometheus_client's MultiProcessCollector beside
BoundarytraceCollector(shared_dir=...) in one registry) is scraped after the
load. Each server runs on a free loopback port in a session of its own and
is stopped by its pid (SIGTERM, waited; killed in any case). The figures
are printed for the log.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

import gunicorn.config
from prometheus_client.parser import text_string_to_metric_families

import boundarytrace as bt
from otel_collector import drain, operations, resource

HERE = os.path.dirname(os.path.abspath(__file__))
WORKERS = 4
#: Files a shared directory holds beside the live processes' slots: the lock,
#: the archive, an archive being replaced (bt.h), and the OTLP exporters'
#: otlp.lock.
EXTRA_FILES = 4
#: Requests a sync worker has in flight at most.
IN_FLIGHT_PER_WORKER = 1
#: After insert_many the app marks its worker busy for this long before it
#: answers (gunicorn_app.py); the test kills a worker seen busy, so the
#: request in flight is most likely recorded and not answered: the case
#: where the count exceeds the answers.
APP_DELAY_MS = 10
#: gunicorn 25.1 and later open a control socket (in $HOME by default): not here.
HAS_CONTROL_SOCKET = "control_socket_disable" in gunicorn.config.make_settings()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid):
    """Pids of the live children of `pid` (its workers, for gunicorn's master)."""
    out = set()
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out.update(int(p) for p in f.read().split())
        except OSError:
            pass
    return out


def _get(port, path, timeout=30.0):
    """(status, body) of one GET on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


class DocstoreServer:
    """The demo's docstore-server on a free loopback port (stops when its stdin closes)."""

    def __init__(self, site):
        exe = os.path.join(site, "docstore", "docstore-server")
        self.proc = subprocess.Popen([exe, "--host", "127.0.0.1", "--port", "0"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.stop()
            raise AssertionError(f"docstore-server did not start (said {line!r})")
        self.port = int(line.split()[1])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if not stream.closed:
                stream.close()


class Gunicorn:
    """gunicorn serving gunicorn_app:app, stopped by its pid.

    Configured on the command line with BOUNDARYTRACE_SHARED_DIR in its
    environment, or (``conf_file``) by a gunicorn.conf.py that sets it with
    ``raw_env`` and preloads the app.
    """

    def __init__(self, tmp, site, shared_dir, prom_dir, busy_dir, docstore_port, conf_file,
                 otlp_endpoint):
        self.port = _free_port()
        self.log_path = os.path.join(tmp, "gunicorn.log")
        self.log = open(self.log_path, "w")
        env = dict(os.environ)
        for k in ("BOUNDARYTRACE_DUMP", "BOUNDARYTRACE_TIMELINE", "BOUNDARYTRACE_DISABLE",
                  "BOUNDARYTRACE_BACKEND", "BOUNDARYTRACE_LISTEN", "BOUNDARYTRACE_OTLP_ENDPOINT"):
            env.pop(k, None)
        env.pop("BOUNDARYTRACE_SHARED_DIR", None)
        # Every process that imports the package starts an OTLP exporter.
        env.update(BOUNDARYTRACE_OTLP_ENDPOINT=otlp_endpoint, BOUNDARYTRACE_OTLP_INTERVAL="0.5")
        env.update(PROMETHEUS_MULTIPROC_DIR=prom_dir,
                   DOCSTORE_HOST="127.0.0.1", DOCSTORE_PORT=str(docstore_port),
                   APP_DELAY_MS=str(APP_DELAY_MS), APP_BUSY_DIR=busy_dir,
                   PYTHONPATH=os.pathsep.join([site, HERE]), PYTHONDONTWRITEBYTECODE="1")
        settings = dict(workers=WORKERS, worker_class="sync", max_requests=25,
                        max_requests_jitter=5, bind=f"127.0.0.1:{self.port}", timeout=60,
                        graceful_timeout=30, loglevel="warning")
        if HAS_CONTROL_SOCKET:
            settings["control_socket_disable"] = True
        if conf_file:
            settings.update(preload_app=True, raw_env=[f"BOUNDARYTRACE_SHARED_DIR={shared_dir}"])
            conf = os.path.join(tmp, "gunicorn.conf.py")
            with open(conf, "w") as f:
                f.writelines(f"{k} = {v!r}\n" for k, v in settings.items())
            args = [sys.executable, "-m", "gunicorn", "--config", conf, "gunicorn_app:app"]
        else:
            env["BOUNDARYTRACE_SHARED_DIR"] = shared_dir
            args = [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS),
                    "--worker-class", "sync", "--max-requests", "25",
                    "--max-requests-jitter", "5", "--bind", f"127.0.0.1:{self.port}",
                    "--timeout", "60", "--graceful-timeout", "30", "--log-level", "warning"]
            if HAS_CONTROL_SOCKET:
                args.append("--no-control-socket")
            args.append("gunicorn_app:app")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     cwd=tmp, start_new_session=True)

    def wait_ready(self, deadline_s=60):
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            assert self.proc.poll() is None, f"gunicorn exited: {self._log_text()}"
            try:
                if _get(self.port, "/ping", timeout=5)[0] == 200:
                    return
            except OSError:
                pass  # not listening yet
            time.sleep(0.1)
        raise AssertionError(f"gunicorn did not answer within {deadline_s} s: {self._log_text()}")

    def workers(self):
        return _children(self.proc.pid)

    def stop(self):
        """SIGTERM to the master (a graceful stop), waited; then nothing is left running."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def kill(self):
        """Kills the master and any worker left (by pid), and waits for the master."""
        for pid in self.workers():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if not self.log.closed:
            self.log.close()

    def _log_text(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path) as f:
            return f.read()[-4000:]


class Load:
    """`total` GET /insert from `threads` client threads; counts 200 answers and failures."""

    def __init__(self, port, total, threads):
        self.port = port
        self.total = total
        self.lock = threading.Lock()
        self.sent = 0
        self.answered = 0
        self.failed = []  # (exception or status) of each request that got no 200
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _next(self):
        with self.lock:
            if self.sent == self.total:
                return False
            self.sent += 1
            return True

    def _run(self):
        while self._next():
            try:
                status, _ = _get(self.port, "/insert")
            except (OSError, http.client.HTTPException) as exc:
                outcome = f"{type(exc).__name__}: {exc}"
            else:
                outcome = None if status == 200 else f"status {status}"
            with self.lock:
                if outcome is None:
                    self.answered += 1
                else:
                    self.failed.append(outcome)

    def start(self):
        for t in self.threads:
            t.start()

    def done(self):
        return not any(t.is_alive() for t in self.threads)

    def join(self, deadline):
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        assert self.done(), f"the load did not finish in time ({self.answered} answered)"


def _run_server(site, conf_file, total, kill_at, collector):
    """Runs gunicorn under load; returns the figures, the shared directory and
    what the collector passed on from its exporters."""
    endpoint, received = collector
    drain(received)
    tmp = tempfile.mkdtemp(prefix="bt-gunicorn-")
    shared = tempfile.mkdtemp(prefix="bt-gunicorn-shared-", dir="/dev/shm")  # mode 0700
    prom = os.path.join(tmp, "prometheus")
    os.mkdir(prom)
    busy = os.path.join(tmp, "busy")
    os.mkdir(busy)
    assert os.stat(shared).st_mode & 0o777 == 0o700
    docstore = DocstoreServer(site)
    server = None
    figures = {"requests": total, "dir": shared, "kill_at": kill_at}
    try:
        server = Gunicorn(tmp, site, shared, prom, busy, docstore.port, conf_file, endpoint)
        server.wait_ready()
        load = Load(server.port, total, threads=4)
        most_files = len(os.listdir(shared))
        killed = killed_busy = None
        deadline = time.monotonic() + 300
        load.start()
        while not load.done() and time.monotonic() < deadline:
            most_files = max(most_files, len(os.listdir(shared)))
            if kill_at is not None and killed is None and load.answered >= kill_at:
                workers = server.workers()
                seen_busy = sorted(workers & {int(n) for n in os.listdir(busy)})
                # a busy worker if one is seen within a few tries, else any
                if seen_busy or load.answered >= kill_at + 100:
                    killed_busy = bool(seen_busy)
                    killed = (seen_busy or sorted(workers))[0]
                    os.kill(killed, signal.SIGKILL)
                    continue
            time.sleep(0.002 if kill_at is not None and killed is None else 0.01)
        load.join(deadline)
        most_files = max(most_files, len(os.listdir(shared)))
        if kill_at is not None:
            assert killed is not None, "the load ended before a worker was killed"
        # the app's /metrics view, once the load is over
        status, body = _get(server.port, "/metrics")
        assert status == 200, body
        scraped = {f.name: f for f in text_string_to_metric_families(body.decode())}
        server.stop()
        assert server.proc.returncode == 0, server._log_text()
        # the collector passes each request on before it answers, so every
        # send, the ones at the workers' exits too, is in by now
        figures["otlp"] = drain(received)
        figures.update(answered=load.answered, failed=list(load.failed), killed=killed,
                       killed_busy=killed_busy,
                       most_files=most_files, files_after=sorted(os.listdir(shared)),
                       scraped=scraped, log=server._log_text())
        return figures
    except BaseException:
        shutil.rmtree(shared, ignore_errors=True)
        raise
    finally:
        if server is not None:
            server.kill()
        docstore.stop()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def runs(docstore_site, collector):
    """Both runs, once for the module (each test reads them with its backend)."""
    out = {}
    try:
        out["fork"] = _run_server(str(docstore_site), conf_file=False, total=1500, kill_at=500,
                                  collector=collector)
        out["preload"] = _run_server(str(docstore_site), conf_file=True, total=400, kill_at=None,
                                     collector=collector)
        yield out
    finally:
        for run in out.values():
            shutil.rmtree(run["dir"], ignore_errors=True)


def _sample(family, name, **labels):
    found = [s.value for s in family.samples if s.name == name and s.labels == labels]
    assert len(found) == 1, (name, labels, family.samples)
    return found[0]


def _check_whole(snap):
    """Every distribution of every operation is whole: its count is the sum of its
    buckets, and min <= p50 <= max. Returns how many had samples. (The app
    never calls find: the extension binds it at import, so it is there, empty.)"""
    checked = 0
    for op in snap:
        for ps in [op.total, *op.phases.values()]:
            assert ps.count == sum(b.count for b in ps.buckets), (op.name, ps.name)
            if ps.count:
                assert ps.min_ns <= ps.p50_ns <= ps.max_ns, (op.name, ps)
                assert ps.count * ps.min_ns <= ps.sum_ns <= ps.count * ps.max_ns, (op.name, ps)
                checked += 1
    return checked


def test_engine_gunicorn__restarts_and_a_killed_worker_lose_nothing_answered(runs, capsys,
                                                                             backend):
    run = runs["fork"]
    snap = bt.read_shared(run["dir"])
    count = snap["insert_many"].count
    answered, failed = run["answered"], run["failed"]
    # requests the clients saw fail: at most the one in flight in the killed worker
    assert len(failed) <= IN_FLIGHT_PER_WORKER, failed
    assert answered + len(failed) == run["requests"]
    # every answered request was recorded; at most the one in flight more
    assert answered <= count <= answered + len(failed), (count, answered, failed)
    assert snap["insert_many"].items == 4 * count
    assert snap["insert_many"].errors == 0
    checked = _check_whole(snap)
    assert checked == 5  # total + extract, convert, network, materialize
    assert set(snap["insert_many"].phases) == {"extract", "convert", "network", "materialize"}
    assert snap.dropped == 0
    assert snap.skipped == []
    assert "Traceback" not in run["log"], run["log"]
    # churn: 25-30 requests a worker, so many more processes than workers
    assert snap.processes > WORKERS
    assert snap.processes >= run["requests"] // 30
    # the directory stays bounded, during the run and after
    assert run["most_files"] <= WORKERS + EXTRA_FILES, run["most_files"]
    assert len(run["files_after"]) <= WORKERS + EXTRA_FILES, run["files_after"]
    # the /metrics view: both collectors in one registry
    scraped = run["scraped"]
    requests = _sample(scraped["app_requests"], "app_requests_total", path="/insert")
    assert answered <= requests <= answered + len(failed)
    assert _sample(scraped["boundarytrace_operations"], "boundarytrace_operations_total",
                   op="insert_many") == count
    assert _sample(scraped["boundarytrace_shared_skipped_files"],
                   "boundarytrace_shared_skipped_files") == 0
    with capsys.disabled():
        how = "seen busy" if run["killed_busy"] else "idle or booting"
        print(f"\n[{backend}] gunicorn ({WORKERS} sync workers, max_requests 25+0..5, worker "
              f"{run['killed']} SIGKILLed after {run['kill_at']} answers, {how}): "
              f"{run['requests']} requests, {answered} answered "
              f"200, {len(failed)} failed {failed}; insert_many merged {count} "
              f"(answered + {count - answered}); processes merged {snap.processes} "
              f"({snap.processes - WORKERS} restarts observed); files at most "
              f"{run['most_files']} during the run, {len(run['files_after'])} after "
              f"{run['files_after']}; dropped {snap.dropped}, skipped {len(snap.skipped)}; "
              f"/metrics app_requests_total {requests:.0f}")


def test_engine_gunicorn__preloaded_app(runs, capsys, backend):
    run = runs["preload"]
    snap = bt.read_shared(run["dir"])
    assert run["failed"] == [] and run["answered"] == run["requests"]
    count = snap["insert_many"].count
    assert count == run["answered"]
    assert _check_whole(snap) == 5
    assert (snap.dropped, snap.skipped) == (0, [])
    assert "Traceback" not in run["log"], run["log"]
    # the master loaded the library but records nothing: it holds no slot
    assert snap.processes > WORKERS
    assert run["most_files"] <= WORKERS + EXTRA_FILES, run["most_files"]
    assert _sample(run["scraped"]["boundarytrace_operations"], "boundarytrace_operations_total",
                   op="insert_many") == count
    with capsys.disabled():
        print(f"\n[{backend}] gunicorn.conf.py (raw_env, preload_app): {run['requests']} "
              f"requests, {run['answered']} answered, insert_many merged {count}; processes "
              f"merged {snap.processes}; files at most {run['most_files']}, after "
              f"{run['files_after']}")


def test_engine_gunicorn__the_cli_reads_the_directory(runs):
    run = runs["fork"]
    env = dict(os.environ)
    env.pop("BOUNDARYTRACE_SHARED_DIR", None)
    proc = subprocess.run([sys.executable, "-m", "boundarytrace", "report", run["dir"]],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    count = bt.read_shared(run["dir"])["insert_many"].count
    assert f"insert_many: {count} ops, 0 errors, {4 * count} items" in proc.stdout


@pytest.mark.parametrize("which", ["fork", "preload"])
def test_engine_gunicorn__otlp_from_every_worker_is_one_stream(runs, which):
    """BOUNDARYTRACE_OTLP_ENDPOINT in every process of the server (each
    worker, and the master where it preloads the app): the collector gets
    one stream, the directory's, whose counts never go back while workers
    restart, are killed and hand the sending over, and whose last request,
    sent as the server stops, holds the directory's final count."""
    run = runs[which]
    reqs = run["otlp"]
    assert len(reqs) >= 2, reqs
    want = resource(reqs[0])
    assert want["boundarytrace.shared_dir"] == os.path.realpath(run["dir"])
    assert "process.pid" not in want
    assert all(resource(r) == want for r in reqs)
    counts = [operations(r).get("insert_many", 0) for r in reqs]
    assert counts == sorted(counts), counts
    assert counts[-1] == bt.read_shared(run["dir"])["insert_many"].count
