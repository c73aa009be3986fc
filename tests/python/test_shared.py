"""The shared sink from Python: ``Metrics.open_shared``, ``read_shared``, the
snapshot's ``processes`` / ``dropped`` / ``skipped``, ``BOUNDARYTRACE_SHARED_DIR``,
many processes (subprocesses, a SIGKILLed one, ``fork`` and the three
multiprocessing start methods), bad input, the command line tool on a
directory, and the prometheus_client collector over a directory beside
prometheus_client's own MultiProcessCollector.

Every directory is made under pytest's tmp_path (mode 0700 parents); the
real pre-fork server is test_engine_gunicorn.py.
"""

from __future__ import annotations

import errno
import os
import pathlib
import re
import signal
import subprocess
import sys
import textwrap

import pytest

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

import boundarytrace as bt
from boundarytrace.prometheus import BoundarytraceCollector

RULE = "a shared directory must be your own and not writable by group or others"


def child_env(backend, shared_dir=None, **extra):
    env = dict(os.environ, BOUNDARYTRACE_BACKEND=backend, PYTHONIOENCODING="utf-8")
    for k in ("BOUNDARYTRACE_SHARED_DIR", "BOUNDARYTRACE_DUMP", "BOUNDARYTRACE_TIMELINE",
              "BOUNDARYTRACE_DISABLE", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(k, None)
    if shared_dir is not None:
        env["BOUNDARYTRACE_SHARED_DIR"] = str(shared_dir)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_child(code, env, timeout=120):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=env, timeout=timeout)


def slot_files(d):
    return sorted(n for n in os.listdir(d) if re.fullmatch(r"slot-\d+\.bt", n))


# --- one process: open, record, merge ---------------------------------------------------------

def test_shared__open_record_and_merge(tmp_path):
    d = tmp_path / "bt"
    with bt.Metrics.open_shared(d) as m:
        assert isinstance(m, bt.Metrics)
        assert not m.is_global and not m.closed
        assert m.shared_dir == str(d)
        assert "shared" in repr(m) and str(d) in repr(m)
        assert os.stat(d).st_mode & 0o777 == 0o700  # created private
        m.record("op", 1_000, phases={bt.EXTRACT: 400}, items=3)
        with m.trace("traced") as t:
            with t.phase(bt.NETWORK):
                pass
        snap = m.snapshot()
        assert snap["op"].count == 1 and snap["op"].items == 3
        assert snap["op"].phase(bt.EXTRACT).sum_ns == 400
        assert snap["traced"].count == 1 and "network" in snap["traced"].phases
        assert (snap.processes, snap.dropped, snap.skipped) == (1, 0, [])
        assert sorted(os.listdir(d)) == ["lock", "slot-0.bt"]
        # any process may merge the directory, the writer too
        for read in (bt.read_shared(d), bt.Snapshot.read_shared(d)):
            assert isinstance(read, bt.Snapshot)
            assert read["op"].count == 1 and read["traced"].count == 1
            assert (read.processes, read.dropped, read.skipped) == (1, 0, [])
            assert read.to_dict()["ops"]["op"] == snap.to_dict()["ops"]["op"]
    assert m.closed
    with pytest.raises(bt.NullArgumentError, match=r"in Metrics.snapshot: the Metrics is closed"):
        m.snapshot()
    # closed, its figures stay in its slot for every reader
    assert bt.read_shared(d)["op"].count == 1


def test_shared__paths_as_str_bytes_and_pathlike(tmp_path):
    for i, kind in enumerate((str, os.fsencode, pathlib.Path)):
        d = kind(tmp_path / f"d{i}")
        with bt.Metrics.open_shared(d) as m:
            m.record("p", 10)
            assert m.shared_dir == os.fsdecode(d)
        assert bt.read_shared(d)["p"].count == 1
        assert bt.Snapshot.read_shared(d)["p"].count == 1


def test_shared__take_and_reset_are_refused_with_the_reason(tmp_path):
    d = tmp_path / "bt"
    with bt.Metrics.open_shared(d) as m:
        m.record("kept", 10)
        for verb, call in ((m.take, "bt_metrics_take"), (m.reset, "bt_metrics_reset")):
            with pytest.raises(bt.InvalidArgumentError) as info:
                verb()
            msg = str(info.value)
            assert msg.startswith(f"BT_E_INVALID: ") and f"(in {call}: " in msg, msg
            assert f"shared through the directory {d}" in msg and "snapshot()" in msg, msg
            assert info.value.call == call
        with pytest.raises(bt.InvalidArgumentError, match="bt_metrics_take"):
            bt.take(m)
        assert m.snapshot()["kept"].count == 1  # nothing was lost


def test_shared__a_snapshot_of_one_process_has_no_shared_figures(metrics):
    metrics.record("one", 10)
    snap = metrics.snapshot()
    assert (snap.processes, snap.dropped, snap.skipped) == (0, 0, [])
    d = snap.to_dict()
    assert (d["processes"], d["dropped"], d["skipped"]) == (0, 0, [])
    assert metrics.shared_dir is None and bt.global_metrics().shared_dir is None


# --- bad input ------------------------------------------------------------------------------

def test_shared__wrong_types_and_empty_paths(tmp_path):
    for call, fn in (("Metrics.open_shared", bt.Metrics.open_shared),
                     ("read_shared", bt.read_shared), ("read_shared", bt.Snapshot.read_shared)):
        for bad in (3, None, ["x"]):
            with pytest.raises(TypeError,
                               match=rf"^{call}: path must be str, bytes or os.PathLike"):
                fn(bad)
        with pytest.raises(bt.InvalidArgumentError,
                           match=rf"^BT_E_INVALID: .* \(in {call}: the directory path is empty\)$"):
            fn("")
        with pytest.raises(bt.InvalidArgumentError, match=rf"\(in {call}: path .* contains a NUL"):
            fn(str(tmp_path / "a\0b"))


def test_shared__missing_directory_and_a_file(tmp_path):
    missing = tmp_path / "missing"
    with pytest.raises(bt.FileIOError) as info:
        bt.read_shared(missing)
    e = info.value
    assert isinstance(e, OSError) and e.errno == errno.ENOENT and e.filename == str(missing)
    assert str(e) == (f"BT_E_IO: {bt._state.statuses['BT_E_IO'][1]} (in bt_snapshot_read_shared: "
                      f"{missing}: No such file or directory)")
    assert not missing.exists()  # reading creates nothing
    with pytest.raises(bt.FileIOError) as info:
        bt.Metrics.open_shared(tmp_path / "no" / "parent")
    assert info.value.errno == errno.ENOENT and "in bt_metrics_open_shared: " in str(info.value)
    f = tmp_path / "file"
    f.write_text("x")
    for fn, call in ((bt.read_shared, "bt_snapshot_read_shared"),
                     (bt.Metrics.open_shared, "bt_metrics_open_shared")):
        with pytest.raises(bt.FileIOError) as info:
            fn(f)
        assert info.value.errno == errno.ENOTDIR, info.value
        assert f"(in {call}: {f}: Not a directory)" in str(info.value)
    assert f.read_text() == "x"


@pytest.mark.parametrize("mode", [0o770, 0o707, 0o777, 0o1777])
def test_shared__a_directory_others_may_write_into_is_refused(tmp_path, mode):
    d = tmp_path / "open"
    d.mkdir()
    os.chmod(d, mode)
    for fn, call in ((bt.read_shared, "bt_snapshot_read_shared"),
                     (bt.Metrics.open_shared, "bt_metrics_open_shared")):
        with pytest.raises(bt.FileIOError) as info:
            fn(d)
        e = info.value
        assert e.errno == errno.EACCES and e.filename == str(d)
        assert str(e).endswith(f"(in {call}: {d}: Permission denied; {RULE}, "
                               f"and this one is mode {mode:04o})"), str(e)
    assert os.listdir(d) == []  # nothing was made there


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a directory to another user")
def test_shared__a_directory_or_file_of_another_user_is_refused_for_writing(tmp_path):
    nobody = 65534
    d = tmp_path / "theirs"
    with bt.Metrics.open_shared(d) as m:
        m.record("theirs", 1)
    os.chown(d, nobody, nobody)
    with pytest.raises(bt.FileIOError) as info:
        bt.Metrics.open_shared(d)
    assert info.value.errno == errno.EACCES
    assert str(info.value).endswith(f"{RULE}, and this one belongs to user id {nobody})")
    assert bt.read_shared(d)["theirs"].count == 1  # reading needs only read access
    # our directory, with a lock file planted by another user
    os.chown(d, 0, 0)
    os.chown(d / "lock", nobody, nobody)
    with pytest.raises(bt.FileIOError) as info:
        bt.Metrics.open_shared(d)
    assert info.value.errno == errno.EACCES
    assert str(info.value).endswith(f"{RULE}, writable by you, and its files must be yours too)")


# --- files the merge leaves out ---------------------------------------------------------------

def test_shared__damaged_and_foreign_files_are_skipped_with_the_reason(tmp_path):
    d = tmp_path / "bt"
    with bt.Metrics.open_shared(d) as m:
        m.record("good", 10)
    (d / "slot-9.bt").write_bytes(b"this is no slot file" * 10)
    head = (d / "slot-0.bt").read_bytes()[:100]
    (d / "slot-8.bt").write_bytes(head)
    (d / "notes.txt").write_text("not a slot name: ignored")
    snap = bt.read_shared(d)
    assert snap["good"].count == 1
    skipped = dict(snap.skipped)
    assert set(skipped) == {str(d / "slot-8.bt"), str(d / "slot-9.bt")}, snap.skipped
    assert all(isinstance(p, str) and isinstance(r, str) and r for p, r in snap.skipped)
    assert "magic" in skipped[str(d / "slot-9.bt")]
    assert "truncated" in skipped[str(d / "slot-8.bt")]
    assert snap.to_dict()["skipped"] == [list(pair) for pair in snap.skipped]
    snap.skipped.clear()  # a copy: the snapshot is immutable
    assert len(snap.skipped) == 2
    # a writer leaves them for the readers to report, and goes on
    with bt.Metrics.open_shared(d) as m:
        m.record("good", 10)
        assert m.snapshot()["good"].count == 2
    assert len(bt.read_shared(d).skipped) == 2


# --- many processes ---------------------------------------------------------------------------

RECORD_AND_WAIT = """
    import sys, boundarytrace as bt
    for _ in range(10):
        bt.record("child", 1000, phases={bt.NETWORK: 600}, items=2)
    print("recorded", flush=True)
    if sys.argv[1:] == ["wait"]:
        sys.stdin.read()   # until killed
"""


def test_shared__processes_through_the_environment_and_a_sigkill(tmp_path, backend):
    d = tmp_path / "bt"
    env = child_env(backend, d)
    for _ in range(3):
        proc = run_child(RECORD_AND_WAIT, env)
        assert proc.returncode == 0 and proc.stdout == "recorded\n", proc.stderr
    # one more, killed while it lives: what it recorded stays in its slot
    victim = subprocess.Popen([sys.executable, "-c", textwrap.dedent(RECORD_AND_WAIT), "wait"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert victim.stdout.readline() == "recorded\n"
        live = bt.read_shared(d)
        assert live["child"].count == 40 and live.processes == 4
        os.kill(victim.pid, signal.SIGKILL)
    finally:
        victim.kill()
        victim.wait(timeout=30)
        victim.stdin.close()
        victim.stdout.close()
    snap = bt.read_shared(d)
    assert snap["child"].count == 40 and snap["child"].items == 80
    assert snap["child"].phase(bt.NETWORK).count == 40
    assert (snap.processes, snap.dropped, snap.skipped) == (4, 0, [])
    # a process that only reads takes no slot
    reader = run_child("""
        import boundarytrace as bt
        s = bt.snapshot()          # the global sink merges the directory
        print(s["child"].count, s.processes)
    """, env)
    assert reader.returncode == 0 and reader.stdout == "40 4\n", reader.stdout + reader.stderr
    # the next process that records folds the dead slots into the archive and
    # reuses one: nothing counts twice, and the directory stays small
    check = run_child("""
        import boundarytrace as bt
        with bt.trace("checker"):
            pass
        s = bt.snapshot()          # the global sink merges the directory
        print(s["child"].count, s.processes)
        try:
            bt.take()
        except bt.InvalidArgumentError as e:
            print(e)
    """, env)
    assert check.returncode == 0, check.stderr
    first, refusal = check.stdout.splitlines()
    assert first == "40 5"
    assert "(in bt_metrics_take: this sink is shared through BOUNDARYTRACE_SHARED_DIR" in refusal
    assert sorted(os.listdir(d)) == ["archive.bt", "lock", "slot-0.bt"]
    after = bt.read_shared(d)
    assert after["child"].count == 40 and after.processes == 5


def test_shared__an_unusable_directory_in_the_environment_keeps_figures_local(tmp_path, backend):
    d = tmp_path / "open"
    d.mkdir()
    os.chmod(d, 0o777)
    proc = run_child("""
        import boundarytrace as bt
        bt.record("local", 5)
        s = bt.snapshot()
        print(s["local"].count, s.processes)
    """, child_env(backend, d))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "1 0\n"
    assert "BOUNDARYTRACE_SHARED_DIR" in proc.stderr
    assert "not writable by group or others" in proc.stderr
    assert os.listdir(d) == []


def test_shared__a_forked_child_takes_a_slot_of_its_own(tmp_path):
    d = tmp_path / "bt"
    with bt.Metrics.open_shared(d) as m:
        m.record("parent", 10)
        pid = os.fork()
        if pid == 0:  # the child: record, then leave without any cleanup
            code = 0
            try:
                for _ in range(5):
                    m.record("forked", 20)
            except BaseException:
                code = 1
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        m.record("parent", 10)
        snap = m.snapshot()
        # the parent's figures are not counted twice
        assert snap["parent"].count == 2 and snap["forked"].count == 5
        assert snap.processes == 2
        assert len(slot_files(d)) == 2
        # a forked child that records nothing takes no slot
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert m.snapshot().processes == 2 and len(slot_files(d)) == 2


MULTIPROCESSING = """
    import multiprocessing, os, sys
    import boundarytrace as bt

    def work(n):
        for _ in range(n):
            bt.record("mp_child", 1000)
        return os.getpid()

    if __name__ == "__main__":
        ctx = multiprocessing.get_context(sys.argv[1])
        bt.record("mp_parent", 1000)
        with ctx.Pool(3) as pool:
            pids = pool.map(work, [5] * 6, chunksize=1)
        print(len(set(pids)))
"""


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_shared__multiprocessing_children_record_into_the_directory(tmp_path, backend, method):
    d = tmp_path / "bt"
    script = tmp_path / "mp_script.py"
    script.write_text(textwrap.dedent(MULTIPROCESSING))
    proc = subprocess.run([sys.executable, str(script), method], capture_output=True, text=True,
                          env=child_env(backend, d), timeout=180)
    assert proc.returncode == 0, proc.stderr
    workers = int(proc.stdout)
    snap = bt.read_shared(d)
    assert snap["mp_parent"].count == 1 and snap["mp_child"].count == 30
    assert snap.processes >= 1 + workers
    assert (snap.dropped, snap.skipped) == (0, [])


# --- the command line tool ---------------------------------------------------------------------

def run_cli(*args, env):
    return subprocess.run([sys.executable, "-m", "boundarytrace", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=120)


def _two_writers(d, backend):
    env = child_env(backend, d)
    for _ in range(2):
        proc = run_child(RECORD_AND_WAIT, env)
        assert proc.returncode == 0, proc.stderr


def test_shared__cli_reads_a_directory_wherever_it_reads_a_file(tmp_path, backend):
    d = tmp_path / "bt"
    _two_writers(d, backend)
    (d / "slot-9.bt").write_bytes(b"junk" * 40)
    env = child_env(backend)
    skipped = f"boundarytrace: skipped {d}/slot-9.bt: "
    r = run_cli("report", d, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].endswith("(shared directory: 2 processes)")
    assert re.search(r"^child: 20 ops, 0 errors, 40 items", r.stdout, re.M), r.stdout
    assert r.stderr.startswith(skipped) and r.stderr.count("\n") == 1, r.stderr
    # the same figures as a file written from the merged snapshot
    f = tmp_path / "merged.json"
    bt.read_shared(d).write(f)
    from_file = run_cli("report", f, env=env)
    assert from_file.stdout.splitlines()[1:] == r.stdout.splitlines()[1:]
    r = run_cli("diff", f, d, env=env)
    assert r.returncode == 0 and "OK: no p50 or p99 regressed" in r.stdout, r.stdout + r.stderr
    assert r.stderr.startswith(skipped)
    r = run_cli("check", d, env=env)
    assert r.returncode in (0, 1) and f"boundarytrace check: {d}" in r.stdout, r.stderr
    assert r.stderr.startswith(skipped)
    # with the variable exported, the tool loads the library into the
    # directory too, but records nothing, so it takes no slot
    before = [p.name for p in d.iterdir()]
    r = run_cli("report", d, env=child_env(backend, d))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].endswith("(shared directory: 2 processes)")
    assert sorted(p.name for p in d.iterdir()) == sorted(before), "the tool took a slot"
    assert re.search(r"^child: 20 ops, ", r.stdout, re.M)


def test_shared__cli_refuses_what_is_no_shared_directory(tmp_path, backend):
    env = child_env(backend)
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run_cli("report", empty, env=env)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == (f"boundarytrace report: error: {empty}: not a boundarytrace shared "
                        f"directory: no process's figures in it\n")
    (empty / "slot-0.bt").write_bytes(b"x" * 10)
    r = run_cli("check", empty, env=env)
    assert r.returncode == 2
    assert r.stderr.splitlines()[0].startswith(f"boundarytrace: skipped {empty}/slot-0.bt: ")
    assert r.stderr.splitlines()[1].endswith("no process's figures in it (1 files skipped)")
    unsafe = tmp_path / "unsafe"
    unsafe.mkdir()
    os.chmod(unsafe, 0o777)
    r = run_cli("diff", unsafe, unsafe, env=env)
    assert r.returncode == 2
    assert r.stderr == (f"boundarytrace diff: error: cannot read the shared directory {unsafe}: "
                        f"Permission denied; {RULE}, and this one is mode 0777\n")
    r = run_cli("report", tmp_path / "missing", env=env)
    assert r.returncode == 2 and "No such file or directory" in r.stderr


# --- prometheus_client ---------------------------------------------------------------------------

PROM_WORKER = """
    import boundarytrace as bt
    from prometheus_client import Counter
    requests = Counter("app_requests", "Requests served", ["kind"])
    for _ in range(3):
        with bt.trace("served") as t:
            with t.phase(bt.NETWORK):
                pass
        requests.labels("insert").inc()
"""


def _families(registry):
    text = generate_latest(registry).decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


def _value(family, name, **labels):
    found = [s.value for s in family.samples if s.name == name and s.labels == labels]
    assert len(found) == 1, (name, labels, family.samples)
    return found[0]


def test_shared__collector_beside_prometheus_multiprocess_in_one_registry(tmp_path, backend):
    prom_dir, bt_dir = tmp_path / "prom", tmp_path / "bt"
    prom_dir.mkdir()
    env = child_env(backend, bt_dir, PROMETHEUS_MULTIPROC_DIR=prom_dir)
    for _ in range(2):  # two "workers", each with its own files in both directories
        proc = run_child(PROM_WORKER, env)
        assert proc.returncode == 0, proc.stderr
    assert any(n.endswith(".db") for n in os.listdir(prom_dir))
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(prom_dir))
    registry.register(BoundarytraceCollector(shared_dir=bt_dir))
    fams = _families(registry)
    assert _value(fams["app_requests"], "app_requests_total", kind="insert") == 6
    assert _value(fams["boundarytrace_operations"], "boundarytrace_operations_total",
                  op="served") == 6
    hist = fams["boundarytrace_phase_seconds"]
    assert _value(hist, "boundarytrace_phase_seconds_count", op="served", phase="network") == 6
    assert _value(fams["boundarytrace_shared_processes"], "boundarytrace_shared_processes") == 2
    assert _value(fams["boundarytrace_shared_dropped_records"],
                  "boundarytrace_shared_dropped_records_total") == 0
    assert _value(fams["boundarytrace_shared_skipped_files"],
                  "boundarytrace_shared_skipped_files") == 0
    # a scrape merges the directory anew
    assert run_child(PROM_WORKER, env).returncode == 0
    fams = _families(registry)
    assert _value(fams["boundarytrace_operations"], "boundarytrace_operations_total",
                  op="served") == 9
    assert _value(fams["app_requests"], "app_requests_total", kind="insert") == 9


def test_shared__collector_over_a_sink_opened_shared(tmp_path):
    with bt.Metrics.open_shared(tmp_path / "bt") as m:
        m.record("mine", 1000)
        registry = CollectorRegistry()
        registry.register(BoundarytraceCollector(m, namespace="app_bt"))
        fams = _families(registry)
        assert _value(fams["app_bt_operations"], "app_bt_operations_total", op="mine") == 1
        assert _value(fams["app_bt_shared_processes"], "app_bt_shared_processes") == 1
    # a sink of one process publishes no shared families
    with bt.Metrics() as plain:
        plain.record("mine", 1000)
        registry = CollectorRegistry()
        registry.register(BoundarytraceCollector(plain))
        assert "boundarytrace_shared_processes" not in _families(registry)


def test_shared__collector_arguments(tmp_path):
    with pytest.raises(TypeError, match="^BoundarytraceCollector: give metrics or shared_dir"):
        BoundarytraceCollector(bt.global_metrics(), shared_dir=tmp_path)
    with pytest.raises(TypeError, match="^BoundarytraceCollector: path must be str"):
        BoundarytraceCollector(shared_dir=3)
    with pytest.raises(bt.InvalidArgumentError, match=r"in BoundarytraceCollector: the directory"):
        BoundarytraceCollector(shared_dir="")
    missing = BoundarytraceCollector(shared_dir=tmp_path / "not_yet")  # it may come later
    with pytest.raises(bt.FileIOError, match="No such file or directory"):
        list(missing.collect())
