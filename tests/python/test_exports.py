"""Exports from Python: every snapshot format, files, and the timeline.

Each format is read back with a parser the project did not write (json,
prometheus_client's two parsers, promtool) and its figures are compared
exactly with the snapshot's attributes. Runs on both backends.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import subprocess
import threading
from decimal import Decimal

import pytest
from prometheus_client.openmetrics.parser import \
    text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_prometheus

import boundarytrace as bt

from conftest import HEADER

#: Operation names that need escaping in labels, JSON and folded stacks.
ODD_NAME = 'find "users"\\x; y'


@pytest.fixture
def snap(metrics):
    """A snapshot of known timings: three operations, an own phase, errors, items."""
    compress = bt.register_phase("exports_compress", gil_held=False)
    for i, v in enumerate((300, 5_000, 70_000, 1_200_000, 33)):
        metrics.record("insert_many", 3 * v + 1000,
                       phases={bt.EXTRACT: v, bt.CONVERT: v, bt.NETWORK: (v, 3)},
                       items=100 + i, gil_releases=2, gil_wait_ns=7 * i, workers=4,
                       error=(i == 1))
    for v in (10, 10, 16, 255, 256, 257, 1023, 4096):  # around the le bounds
        metrics.record(ODD_NAME, 2 * v + 5, phases={bt.MATERIALIZE: v, compress: v}, items=1)
    metrics.record("left_open_op", 900, phases={bt.EXTRACT: 500}, phase_left_open=True)
    return metrics.snapshot()


# --- the format argument -------------------------------------------------------------------

def test_exports__format_values_are_the_headers():
    found = dict(re.findall(r"BT_FORMAT_([A-Z_]*[A-Z]) = (\d+),", HEADER.read_text()))
    assert {k: int(v) for k, v in found.items()} == {f.name: f.value for f in bt.Format}


def test_exports__format_by_enum_name_or_value(snap):
    for f in bt.Format:
        text = snap.export(f)
        assert snap.export(f.name.lower()) == snap.export(f.name) == snap.export(int(f)) == text
        assert snap.export(f" {f.name.title()} ") == text
    with pytest.raises(bt.InvalidArgumentError, match="unknown format 'yaml'"):
        snap.export("yaml")
    with pytest.raises(bt.InvalidArgumentError, match="unknown format 9"):
        snap.export(9)
    with pytest.raises(TypeError):
        snap.export(True)
    with pytest.raises(TypeError):
        snap.export(1.0)


def test_exports__text_is_the_report(snap):
    # the library's report; str() adds the interpreter as its second line
    assert snap.export("text") == snap.export()
    head, rest = snap.export().split("\n", 1)
    assert str(snap) == f"{head}\n{bt._snapshot.interpreter_line()}\n{rest}"


# --- JSON --------------------------------------------------------------------------------

def _dist_matches(dist, ps):
    assert dist["count"] == ps.count and dist["entries"] == ps.entries
    assert dist["sum_ns"] == ps.sum_ns and dist["min_ns"] == ps.min_ns
    assert dist["max_ns"] == ps.max_ns
    assert (dist["p50_ns"], dist["p90_ns"], dist["p99_ns"], dist["p999_ns"]) == \
        (ps.p50_ns, ps.p90_ns, ps.p99_ns, ps.p999_ns)
    assert dist["buckets"] == [list(b) for b in ps.buckets]
    assert sum(b[2] for b in dist["buckets"]) == dist["count"]


def test_exports__json_holds_every_figure_of_the_snapshot(snap):
    doc = json.loads(snap.export("json"))
    assert doc["schema"] == "boundarytrace.snapshot" and doc["version"] == 1
    assert doc["clock"] in ("tsc", "monotonic")
    assert (doc["start_ns"], doc["end_ns"]) == (snap.start_ns, snap.end_ns)
    assert [(p["id"], p["name"], p["gil_held"]) for p in doc["phases"]] == \
        [(p.id, p.name, p.gil_held) for p in bt.phases()[:snap.phase_count]]
    assert [o["name"] for o in doc["operations"]] == snap.names()
    for o in doc["operations"]:
        op = snap[o["name"]]
        for field in ("count", "errors", "left_open", "items", "total_ns", "gil_held_ns",
                      "gil_released_ns", "gil_wait_ns", "unattributed_ns", "gil_releases",
                      "parallel_ops", "workers_max"):
            assert o[field] == getattr(op, field), field
        _dist_matches(o["total"], op.total)
        assert list(o["phases"]) == list(op.phases)
        for name, dist in o["phases"].items():
            _dist_matches(dist, op.phases[name])
    assert snap[ODD_NAME].errors == 0 and snap["insert_many"].errors == 1
    assert snap["left_open_op"].left_open == 1


# --- Prometheus and OpenMetrics ------------------------------------------------------------

_COUNTERS = {  # family -> OpStats attribute, and whether it is in seconds
    "boundarytrace_operations": ("count", False),
    "boundarytrace_errors": ("errors", False),
    "boundarytrace_items": ("items", False),
    "boundarytrace_gil_releases": ("gil_releases", False),
    "boundarytrace_gil_wait_seconds": ("gil_wait_ns", True),
    "boundarytrace_gil_held_seconds": ("gil_held_ns", True),
    "boundarytrace_gil_released_seconds": ("gil_released_ns", True),
    "boundarytrace_unattributed_seconds": ("unattributed_ns", True),
}


def _ns(seconds):
    """Seconds as the exporter wrote them (exact decimals of ns) back to ns."""
    return int(round(seconds * 1e9))


def _expected_le_counts(ps):
    """Cumulative count at most each power-of-two bound (256 ns .. 2^36 ns), from the
    snapshot's own buckets: the core's buckets close on those bounds. A bucket
    lists the integers [lower, upper) it holds."""
    out = {}
    for k in range(8, 37):
        out[2 ** k] = sum(c for _, upper, c in ps.buckets if upper <= 2 ** k + 1)
    return out


def _check_families(families, snap, openmetrics):
    fams = {f.name: f for f in families}
    for name, (attr, seconds) in _COUNTERS.items():
        fam = fams[name]
        assert fam.type == "counter", name
        got = {s.labels["op"]: s.value for s in fam.samples if s.name == name + "_total"}
        want = {op.name: getattr(op, attr) for op in snap}
        if seconds:
            got = {k: _ns(v) for k, v in got.items()}
            if openmetrics:
                assert fam.unit == "seconds", name
        assert got == want, name
    entries = fams["boundarytrace_phase_entries"]
    got = {(s.labels["op"], s.labels["phase"]): s.value for s in entries.samples
           if s.name.endswith("_total")}
    assert got == {(op.name, p): ps.entries for op in snap for p, ps in op.phases.items()}

    def check_histogram(fam, labels, ps):
        samples = [s for s in fam.samples if all(s.labels.get(k) == v for k, v in labels.items())]
        count = [s.value for s in samples if s.name.endswith("_count")]
        total = [s.value for s in samples if s.name.endswith("_sum")]
        assert count == [ps.count] and [_ns(v) for v in total] == [ps.sum_ns]
        buckets = [s for s in samples if s.name.endswith("_bucket")]
        assert buckets[-1].labels["le"] == "+Inf" and buckets[-1].value == ps.count
        bounds = [s.labels["le"] for s in buckets[:-1]]
        assert [_ns(float(b)) for b in bounds] == [2 ** k for k in range(8, 37)]
        want = _expected_le_counts(ps)
        assert {_ns(float(s.labels["le"])): s.value for s in buckets[:-1]} == want

    hist = fams["boundarytrace_operation_seconds"]
    assert hist.type == "histogram"
    for op in snap:
        check_histogram(hist, {"op": op.name}, op.total)
    hist = fams["boundarytrace_phase_seconds"]
    assert hist.type == "histogram"
    seen = {(s.labels["op"], s.labels["phase"]) for s in hist.samples}
    assert seen == {(op.name, p) for op in snap for p in op.phases}
    for op in snap:
        for p, ps in op.phases.items():
            check_histogram(hist, {"op": op.name, "phase": p}, ps)


def test_exports__prometheus_parses_and_matches(snap):
    text = snap.export("prometheus")
    _check_families(list(parse_prometheus(text)), snap, openmetrics=False)


def test_exports__openmetrics_parses_and_matches(snap):
    text = snap.export("openmetrics")
    assert text.endswith("# EOF\n")
    _check_families(list(parse_openmetrics(text)), snap, openmetrics=True)


def test_exports__label_values_are_escaped(snap):
    for text, parse in ((snap.export("prometheus"), parse_prometheus),
                        (snap.export("openmetrics"), parse_openmetrics)):
        ops = {s.labels["op"] for f in parse(text) for s in f.samples if "op" in s.labels}
        assert ODD_NAME in ops
        assert '{op="find \\"users\\"\\\\x; y"}' in text


def test_exports__promtool_accepts_the_exposition(snap, tmp_path):
    # scripts/test installs Debian's prometheus package, which carries promtool
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: apt-get install prometheus"
    text = snap.export("prometheus")
    proc = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "" and proc.stderr.strip() == ""  # no lint finding either


# --- folded stacks --------------------------------------------------------------------------

def test_exports__folded_lines_add_up_to_the_total(snap):
    text = snap.export("folded")
    per_op = {}
    for line in text.splitlines():
        stack, ns = line.rsplit(" ", 1)
        op, phase = stack.split(";")
        per_op.setdefault(op, {})[phase] = int(ns)
    assert set(per_op) == {"insert_many", "find_\"users\"\\x__y", "left_open_op"}
    for op in snap:
        frames = per_op[op.name.replace(";", "_").replace(" ", "_")]
        assert sum(frames.values()) == op.total_ns
        assert frames.pop("unattributed", 0) == op.unattributed_ns
        assert frames.pop("GIL_wait", 0) == op.gil_wait_ns
        assert frames == {p: ps.sum_ns for p, ps in op.phases.items()}


# --- files -------------------------------------------------------------------------------------

SUFFIXES = {".json": bt.Format.JSON, ".prom": bt.Format.PROMETHEUS,
            ".om": bt.Format.OPENMETRICS, ".openmetrics": bt.Format.OPENMETRICS,
            ".folded": bt.Format.FOLDED, ".txt": bt.Format.TEXT, "": bt.Format.TEXT,
            ".log": bt.Format.TEXT}


def test_exports__write_picks_the_format_by_suffix(snap, tmp_path):
    for suffix, fmt in SUFFIXES.items():
        path = tmp_path / f"snap{suffix}"
        assert bt.format_for_path(path) is fmt and bt.Format.for_path(str(path)) is fmt
        assert snap.write(path) is fmt
        assert path.read_text() == snap.export(fmt)
    assert snap.write(str(tmp_path / "x.json"), "folded") is bt.Format.FOLDED  # fmt wins
    assert (tmp_path / "x.json").read_text() == snap.export("folded")
    assert snap.write(os.fsencode(tmp_path / "b.prom")) is bt.Format.PROMETHEUS  # bytes path
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"snap{s}" for s in SUFFIXES] + ["x.json", "b.prom"])  # no temporary file left


def test_exports__write_replaces_the_file_atomically(snap, metrics, tmp_path):
    path = tmp_path / "snap.json"
    path.write_text("old contents")
    inode = path.stat().st_ino
    snap.write(path)
    assert path.stat().st_ino != inode  # a new file renamed over the old one
    first = path.read_text()
    metrics.record("more", 5000, phases={bt.NETWORK: 4000})
    second_snap = metrics.snapshot()
    second = second_snap.export("json")
    assert first != second

    # a reader never sees a part of a file while writers replace it
    stop = threading.Event()
    seen, bad = set(), []

    def reader():
        while not stop.is_set():
            text = path.read_text()
            if text not in (first, second):
                bad.append(len(text))
            seen.add(text)

    t = threading.Thread(target=reader)
    t.start()
    try:
        for i in range(100):
            (snap if i % 2 else second_snap).write(path)
    finally:
        stop.set()
        t.join()
    assert not bad, f"a reader saw {len(bad)} partial files"
    assert [p.name for p in tmp_path.iterdir()] == ["snap.json"]


def test_exports__io_error_is_a_file_error_with_errno(snap, tmp_path):
    missing = tmp_path / "no" / "such" / "dir" / "snap.json"
    with pytest.raises(bt.FileIOError) as info:
        snap.write(missing)
    err = info.value
    assert isinstance(err, OSError)
    assert err.errno == errno.ENOENT and err.strerror == os.strerror(errno.ENOENT)
    assert err.filename == str(missing)
    assert (err.status, err.status_name, err.call) == (-14, "BT_E_IO", "bt_snapshot_write")
    assert str(err) == (f"BT_E_IO: {bt._state.b.status_str(-14)} (in bt_snapshot_write: "
                        f"{missing}: No such file or directory)")

    afile = tmp_path / "a_file"
    afile.write_text("x")
    with pytest.raises(OSError) as info:
        snap.write(afile / "snap.json")
    assert info.value.errno == errno.ENOTDIR

    adir = tmp_path / "a_dir.json"
    adir.mkdir()
    with pytest.raises(bt.FileIOError) as info:
        snap.write(adir)  # renaming a file over a directory fails
    assert info.value.errno == errno.EISDIR
    assert adir.is_dir() and list(adir.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_dir.json", "a_file"]  # no temp left

    import pickle
    clone = pickle.loads(pickle.dumps(err))
    assert (type(clone), clone.errno, clone.filename, str(clone)) == \
        (bt.FileIOError, err.errno, err.filename, str(err))



def test_exports__refused_targets_are_file_errors_that_say_why(snap, tmp_path):
    """A link, a FIFO or a device as target is refused and left as it is
    (bt.h, bt_snapshot_write); the message says so, not only "Invalid
    argument"."""
    victim = tmp_path / "victim"
    victim.write_text("victim\n")
    link = tmp_path / "link.json"
    link.symlink_to(victim)
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    status = bt._state.b.status_str(-14)
    for target, code, why in ((link, errno.ELOOP, "a symbolic link is not followed"),
                              (fifo, errno.EINVAL, "not a regular file"),
                              ("/dev/null", errno.EINVAL, "not a regular file")):
        with pytest.raises(bt.FileIOError) as info:
            snap.write(target)
        err = info.value
        assert (err.errno, err.filename) == (code, str(target))
        assert str(err) == (f"BT_E_IO: {status} (in bt_snapshot_write: {target}: "
                            f"{os.strerror(code)} (refused: {why}))")
    assert link.is_symlink() and victim.read_text() == "victim\n"
    assert fifo.is_fifo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo.json", "link.json", "victim"]

def test_exports__write_checks_its_arguments(snap, tmp_path):
    with pytest.raises(bt.InvalidArgumentError):
        snap.write("")
    with pytest.raises(bt.InvalidArgumentError, match="NUL"):
        snap.write(str(tmp_path / "a\0b.json"))
    with pytest.raises(TypeError):
        snap.write(3)
    with pytest.raises(bt.InvalidArgumentError):
        snap.write(tmp_path / "x.json", "yaml")
    assert list(tmp_path.iterdir()) == []


# --- the timeline ------------------------------------------------------------------------------

@pytest.fixture
def ring():
    """The process-wide timeline, stopped again after the test."""
    yield
    bt.timeline_stop()


def _events(text):
    """Chrome trace events, with ts/dur as exact integer nanoseconds (3-decimal µs)."""
    doc = json.loads(text, parse_float=Decimal)
    for ev in doc["traceEvents"]:
        if ev["ph"] == "X":
            ev["ts_ns"] = int(ev["ts"] * 1000)
            ev["dur_ns"] = int(ev["dur"] * 1000)
            ev["end_ns"] = ev["ts_ns"] + ev["dur_ns"]
            assert ev["ts_ns"] == ev["ts"] * 1000 and ev["dur_ns"] == ev["dur"] * 1000
    return doc


def _check_tracks(doc):
    """On every track (pid, tid) slices are nested or disjoint, and every phase
    lies inside an operation of its track. Returns {track: [operation events]}."""
    tracks = {}
    for ev in doc["traceEvents"]:
        if ev["ph"] == "X":
            tracks.setdefault((ev["pid"], ev["tid"]), []).append(ev)
    ops_by_track = {}
    for track, evs in tracks.items():
        for i, a in enumerate(evs):
            for b in evs[i + 1:]:
                disjoint = a["end_ns"] <= b["ts_ns"] or b["end_ns"] <= a["ts_ns"]
                a_in_b = b["ts_ns"] <= a["ts_ns"] and a["end_ns"] <= b["end_ns"]
                b_in_a = a["ts_ns"] <= b["ts_ns"] and b["end_ns"] <= a["end_ns"]
                assert disjoint or a_in_b or b_in_a, f"partial overlap on {track}: {a} {b}"
        ops = [e for e in evs if e["cat"] == "operation"]
        for ph in (e for e in evs if e["cat"] == "phase"):
            assert any(o["ts_ns"] <= ph["ts_ns"] and ph["end_ns"] <= o["end_ns"] for o in ops), \
                f"phase outside every operation of its track: {ph}"
        ops_by_track[track] = ops
    return ops_by_track


def _phases_of(doc, op):
    """The phase slices inside operation event `op`, in order."""
    return [e for e in doc["traceEvents"] if e["ph"] == "X" and e["cat"] == "phase"
            and (e["pid"], e["tid"]) == (op["pid"], op["tid"])
            and op["ts_ns"] <= e["ts_ns"] and e["end_ns"] <= op["end_ns"]]


def test_timeline__export_is_valid_chrome_trace_json(ring):
    bt.timeline_start(100)
    with bt.trace("tr_batch") as t:
        t.add_items(7)
        for _ in range(3):  # a re-entered phase appears once per entry
            with t.phase(bt.CONVERT):
                pass
            with t.phase(bt.NETWORK):
                sum(range(200))
    with pytest.raises(ZeroDivisionError):
        with bt.trace("tr_error") as t:
            with t.phase(bt.EXTRACT):
                1 / 0

    def worker():
        with bt.trace("tr_thread") as t:
            with t.phase(bt.MATERIALIZE):
                pass
    th = threading.Thread(target=worker)
    th.start()
    th.join()
    outer = bt.trace("tr_outer")  # two tracers alive at once on one thread
    inner = bt.trace("tr_inner")
    with outer.phase(bt.EXTRACT):
        pass
    outer.finish()
    with inner.phase(bt.NETWORK):
        pass
    inner.finish()
    bt.timeline_stop()

    info = bt.timeline_info()
    assert info == bt.TimelineInfo(capacity=100, kept=5, dropped=0, active=False)
    text = bt.timeline_export()
    assert re.search(r'"ts":\d+\.\d{3},"dur":\d+\.\d{3}', text)
    assert not re.search(r'"(ts|dur)":\d+(\.\d{0,2}|\.\d{4,})?[,}]', text)  # always 3 decimals
    doc = _events(text)
    assert doc["otherData"]["kept"] == 5 and doc["otherData"]["dropped"] == 0
    assert doc["otherData"]["capacity"] == 100
    for ev in doc["traceEvents"]:
        for field in ("name", "ph", "pid", "tid"):
            assert field in ev, (field, ev)
        if ev["ph"] == "X":
            assert {"ts", "dur"} <= set(ev) and ev["dur"] >= 0
    meta = {(e["name"], e["tid"]) for e in doc["traceEvents"] if e["ph"] == "M"}
    assert any(name == "process_name" for name, _ in meta)
    assert sum(1 for name, _ in meta if name == "thread_name") >= 2

    ops = {e["name"]: e for e in doc["traceEvents"]
           if e["ph"] == "X" and e["cat"] == "operation"}
    assert set(ops) == {"tr_batch", "tr_error", "tr_thread", "tr_outer", "tr_inner"}
    assert ops["tr_batch"]["args"]["items"] == 7 and ops["tr_batch"]["args"]["error"] is False
    assert ops["tr_error"]["args"]["error"] is True
    assert ops["tr_thread"]["tid"] != ops["tr_batch"]["tid"]
    tracks = _check_tracks(doc)
    assert len(tracks) >= 3  # the interleaved tracers went to an extra track
    batch = _phases_of(doc, ops["tr_batch"])
    assert [e["name"] for e in batch] == ["convert", "network"] * 3
    assert all(e["args"]["gil"] == "released" for e in batch)
    starts = [e["ts_ns"] for e in batch]
    assert starts == sorted(starts)
    assert [e["name"] for e in _phases_of(doc, ops["tr_error"])] == ["extract"]


def test_timeline__oldest_are_dropped_and_counted(ring):
    bt.timeline_start(5)
    for i in range(12):
        with bt.trace(f"tr_drop_{i}") as t:
            with t.phase(bt.EXTRACT):
                pass
    info = bt.timeline_info()
    assert (info.capacity, info.kept, info.dropped, info.active) == (5, 5, 7, True)
    doc = _events(bt.timeline_export())
    names = [e["name"] for e in doc["traceEvents"] if e["ph"] == "X" and e["cat"] == "operation"]
    assert sorted(names) == sorted(f"tr_drop_{i}" for i in range(7, 12))
    assert doc["otherData"]["dropped"] == 7
    _check_tracks(doc)

    bt.timeline_start(5)  # starting again empties the ring
    assert bt.timeline_info() == bt.TimelineInfo(5, 0, 0, True)
    bt.timeline_stop()
    with bt.trace("tr_after_stop"):
        pass
    assert bt.timeline_info().kept == 0


def test_timeline__write_and_its_errors(ring, tmp_path):
    bt.timeline_start(10)
    with bt.trace("tr_write") as t:
        with t.phase(bt.NETWORK):
            pass
    bt.timeline_stop()
    path = tmp_path / "run.trace.json"
    bt.timeline_write(path)
    assert path.read_text() == bt.timeline_export()
    json.loads(path.read_text())
    with pytest.raises(bt.FileIOError) as info:
        bt.timeline_write(tmp_path / "missing" / "t.json")
    assert info.value.errno == errno.ENOENT and info.value.call == "bt_timeline_write"
    with pytest.raises(bt.InvalidArgumentError):
        bt.timeline_write("")
    assert [p.name for p in tmp_path.iterdir()] == ["run.trace.json"]


def test_timeline__start_checks_the_capacity(ring):
    for bad in (0, 2 ** 24 + 1, -1, 2 ** 64):
        with pytest.raises(bt.InvalidArgumentError):
            bt.timeline_start(bad)
    for bad in ("10", 1.5, True, None):
        with pytest.raises(TypeError):
            bt.timeline_start(bad)
    # (the largest, 2**24, is accepted too, but the ring is allocated up front: ~1.4 GB)
    bt.timeline_start(1)
    assert bt.timeline_info().capacity == 1
