"""The flight recorder of a shared directory from Python: a process that
records into a shared directory with the timeline on keeps its last
operations in its slot file, readable after it died, through
``bt.timeline_export_shared(dir, pid)`` and ``boundarytrace trace DIR --pid P``
(both backends): a SIGKILLed child, the recorder moved aside as
``flight-<pid>.bt`` when the next process takes the slot over, a live
process, and bad input.

The C side (the ring, torn entries, the four flight files kept) is
tests/c/test_shared.c's.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import sys
import textwrap

import pytest

import boundarytrace as bt

from test_shared import RULE, child_env, run_child, run_cli

#: Operations the child traces before it is killed: each op is in the
#: recorder (1024 kept), with the phases it entered.
ROUNDS = 7

CHILD = """
    import os, sys, boundarytrace as bt
    bt.timeline_start(64)
    for i in range(%d):
        with bt.trace("flight_insert") as t:
            with t.phase(bt.EXTRACT):
                pass
            with t.phase(bt.NETWORK):
                pass
            t.add_items(i + 1)
        with bt.trace("flight_find") as t:
            with t.phase(bt.MATERIALIZE):
                pass
            t.set_error()
    print(os.getpid(), flush=True)
    sys.stdin.read()   # until killed
""" % ROUNDS


def _killed_child(d, backend):
    """Runs CHILD with BOUNDARYTRACE_SHARED_DIR=d, SIGKILLs it once it has
    recorded, and returns its pid."""
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(CHILD)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=child_env(backend, d))
    try:
        line = proc.stdout.readline()
        assert line.strip() == str(proc.pid), (line, proc.stderr.read() if not line else "")
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        proc.kill()
        proc.wait(timeout=30)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            stream.close()
    return proc.pid


def _check_trace(text, pid):
    """The Chrome Trace JSON of CHILD's recorder: every operation and its phases, its pid."""
    doc = json.loads(text)
    events = doc["traceEvents"]
    assert events and all(e["pid"] == pid for e in events), events[:3]
    ops = [e for e in events if e["ph"] == "X" and e["cat"] == "operation"]
    phases = [e for e in events if e["ph"] == "X" and e["cat"] == "phase"]
    names = [e["name"] for e in ops]
    assert names.count("flight_insert") == ROUNDS and names.count("flight_find") == ROUNDS, names
    assert sorted(e["args"]["items"] for e in ops if e["name"] == "flight_insert") == \
        list(range(1, ROUNDS + 1))
    assert all(e["args"]["error"] for e in ops if e["name"] == "flight_find")
    assert sorted(e["name"] for e in phases) == \
        sorted(["extract", "network", "materialize"] * ROUNDS)
    assert {e["args"]["gil"] for e in phases if e["name"] == "network"} == {"released"}
    meta = [e for e in events if e["ph"] == "M"]
    assert {"process_name", "thread_name"} <= {e["name"] for e in meta}
    assert doc["otherData"]["producer"] == "boundarytrace"
    return doc


def test_flight_recorder__a_sigkilled_process_leaves_its_last_operations(tmp_path, backend):
    d = tmp_path / "bt"
    pid = _killed_child(d, backend)
    text = bt.timeline_export_shared(d, pid)
    assert isinstance(text, str)
    _check_trace(text, pid)
    # its figures are in the directory too
    assert bt.read_shared(d)["flight_insert"].count == ROUNDS
    # the command line: standard output, and a file
    env = child_env(backend)
    r = run_cli("trace", d, "--pid", pid, env=env)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert r.stdout == text
    out = tmp_path / "last.trace.json"
    r = run_cli("trace", d, "--pid", str(pid), "-o", out, env=env)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert r.stdout == f"wrote {out} ({2 * ROUNDS} operations of process {pid})\n"
    assert out.read_text() == text
    # The next process that records there takes the slot over: the dead
    # recorder moves aside as flight-<pid>.bt, and reads the same.
    assert not (d / f"flight-{pid}.bt").exists()
    nxt = run_child("""
        import boundarytrace as bt
        bt.record("next", 1000)
    """, child_env(backend, d))
    assert nxt.returncode == 0, nxt.stderr
    assert (d / f"flight-{pid}.bt").is_file()
    assert bt.timeline_export_shared(d, pid) == text
    r = run_cli("trace", d, "--pid", pid, env=env)
    assert r.returncode == 0 and r.stdout == text, r.stderr
    assert bt.read_shared(d)["flight_insert"].count == ROUNDS  # folded, not lost


def test_flight_recorder__a_live_process_reads_its_own(tmp_path):
    d = tmp_path / "bt"
    with bt.Metrics.open_shared(d) as m:
        m.trace("before_the_timeline").finish()  # not kept: the timeline is off
        bt.timeline_start(16)
        try:
            with m.trace("live_op") as t:
                with t.phase(bt.CONVERT):
                    pass
        finally:
            bt.timeline_stop()
        text = bt.timeline_export_shared(str(d).encode(), os.getpid())
    doc = json.loads(text)
    names = [e["name"] for e in doc["traceEvents"] if e["ph"] == "X"]
    assert names == ["live_op", "convert"]
    assert {e["pid"] for e in doc["traceEvents"]} == {os.getpid()}


def test_flight_recorder__without_the_timeline_there_is_none(tmp_path, backend):
    d = tmp_path / "bt"
    proc = run_child("""
        import os, boundarytrace as bt
        with bt.trace("untimed"):
            pass
        print(os.getpid())
    """, child_env(backend, d))
    assert proc.returncode == 0, proc.stderr
    pid = int(proc.stdout)
    with pytest.raises(bt.NotFoundError) as info:
        bt.timeline_export_shared(d, pid)
    assert str(info.value) == (
        f"BT_E_NOT_FOUND: {bt._state.statuses['BT_E_NOT_FOUND'][1]} (in bt_timeline_export_shared: "
        f"no flight recorder of process {pid} in {d}: it recorded nothing there with the timeline "
        f"on, or its recorder was older than the four kept)")
    assert isinstance(info.value, LookupError) and info.value.call == "bt_timeline_export_shared"
    r = run_cli("trace", d, "--pid", pid, env=child_env(backend))
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == (f"boundarytrace trace: error: {d}: no flight recorder of process {pid} "
                        f"(it recorded nothing there with the timeline on, or its recorder was "
                        f"older than the four kept)\n")


# --- bad input ---------------------------------------------------------------------------------

def test_flight_recorder__bad_arguments(tmp_path):
    d = tmp_path / "bt"
    with bt.Metrics.open_shared(d):
        pass
    for bad in ("1", 1.0, None, True):
        with pytest.raises(TypeError, match=r"^timeline_export_shared: pid must be an int"):
            bt.timeline_export_shared(d, bad)
    for bad in (3, None):
        with pytest.raises(TypeError, match=r"^timeline_export_shared: path must be str, bytes"):
            bt.timeline_export_shared(bad, 1)
    for pid in (0, -1, -2 ** 63, 2 ** 63, 2 ** 64):
        with pytest.raises(bt.InvalidArgumentError, match=re.escape(
                f"(in timeline_export_shared: pid = {pid} is not a process id (1 .. 2**63 - 1))")):
            bt.timeline_export_shared(d, pid)
    with pytest.raises(bt.InvalidArgumentError, match="the directory path is empty"):
        bt.timeline_export_shared("", 1)
    with pytest.raises(bt.InvalidArgumentError, match="contains a NUL"):
        bt.timeline_export_shared(str(d) + "\0x", 1)
    # a pid no process of the directory had
    with pytest.raises(bt.NotFoundError, match=rf"no flight recorder of process {2 ** 62}"):
        bt.timeline_export_shared(d, 2 ** 62)


def test_flight_recorder__directories_it_cannot_read(tmp_path):
    missing = tmp_path / "missing"
    with pytest.raises(bt.FileIOError) as info:
        bt.timeline_export_shared(missing, 1)
    e = info.value
    assert e.errno == errno.ENOENT and e.filename == str(missing)
    assert str(e).endswith(f"(in bt_timeline_export_shared: {missing}: No such file or directory)")
    assert not missing.exists()  # reading creates nothing
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(bt.FileIOError) as info:
        bt.timeline_export_shared(f, 1)
    assert info.value.errno == errno.ENOTDIR
    unsafe = tmp_path / "unsafe"
    unsafe.mkdir()
    os.chmod(unsafe, 0o777)
    with pytest.raises(bt.FileIOError) as info:
        bt.timeline_export_shared(unsafe, 1)
    assert info.value.errno == errno.EACCES
    assert str(info.value).endswith(f"(in bt_timeline_export_shared: {unsafe}: Permission denied; "
                                    f"{RULE}, and this one is mode 0777)"), str(info.value)


def test_flight_recorder__cli_bad_input(tmp_path, backend):
    env = child_env(backend)
    d = tmp_path / "bt"
    d.mkdir(mode=0o700)
    for pid in ("0", "-3", "x", "9223372036854775808"):
        r = run_cli("trace", d, f"--pid={pid}", env=env)
        assert r.returncode == 2 and r.stdout == "", r.stderr
        assert r.stderr.startswith("usage: boundarytrace trace ") and "argument --pid: " in r.stderr
    r = run_cli("trace", d, env=env)  # --pid is required
    assert r.returncode == 2 and "--pid" in r.stderr
    r = run_cli("trace", d, "--pid", "12345", env=env)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith(f"boundarytrace trace: error: {d}: no flight recorder of process "
                               f"12345 "), r.stderr
    missing = tmp_path / "missing"
    r = run_cli("trace", missing, "--pid", "1", env=env)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == (f"boundarytrace trace: error: cannot read the shared directory {missing}: "
                        f"No such file or directory\n")
    unsafe = tmp_path / "unsafe"
    unsafe.mkdir()
    os.chmod(unsafe, 0o777)
    r = run_cli("trace", unsafe, "--pid", "1", env=env)
    assert r.returncode == 2
    assert r.stderr == (f"boundarytrace trace: error: cannot read the shared directory {unsafe}: "
                        f"Permission denied; {RULE}, and this one is mode 0777\n")
