"""The environment switches on the C example, without recompiling it, and
every export format checked by parsers the project did not write: Python's
json, prometheus_client's two parsers, and promtool when installed.

test_exports.py beside it checks the same formats written from Python; this
file checks what a C program writes at exit with no code change. It drives
the example binary only, so it runs once, not once per backend.

BT_EXAMPLE_C names the example binary: CTest sets it (exports_env_switches in
this folder's CMakeLists.txt). Without it every test here fails and says so.
"""
import json
import os
import shutil
import subprocess

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_prometheus

EXAMPLE = os.environ.get("BT_EXAMPLE_C", "")
OPERATIONS = 15  # the example runs 3 batch sizes x 5 iterations of insert_many


@pytest.fixture(autouse=True)
def backend():
    """Overrides conftest's per-backend fixture: the C example uses no Python backend."""
    if not EXAMPLE:
        pytest.fail("BT_EXAMPLE_C is not set: it names examples/c's binary "
                    "(ctest -R exports_env_switches sets it)")
    yield None


def run_example(tmp_path, **env):
    full_env = dict(os.environ)
    full_env.update(env)
    proc = subprocess.run([EXAMPLE], env=full_env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc


def dump(tmp_path, name, **env):
    path = tmp_path / name
    run_example(tmp_path, BOUNDARYTRACE_DUMP=str(path), **env)
    return path.read_text()


def test_json_dump_parses_and_holds_every_figure(tmp_path):
    doc = json.loads(dump(tmp_path, "snap.json"))
    assert doc["schema"] == "boundarytrace.snapshot" and doc["version"] == 1
    assert [p["name"] for p in doc["phases"][:4]] == ["extract", "convert", "network", "materialize"]
    (op,) = [o for o in doc["operations"] if o["name"] == "insert_many"]
    assert op["count"] == OPERATIONS
    assert op["items"] == 5 * (10 + 100 + 1000)
    assert sum(b[2] for b in op["total"]["buckets"]) == op["count"]
    for name, dist in op["phases"].items():
        assert sum(b[2] for b in dist["buckets"]) == dist["count"], name
        assert all(lo < hi for lo, hi, _ in dist["buckets"])
    covered = sum(d["sum_ns"] for d in op["phases"].values())
    assert covered + op["gil_wait_ns"] + op["unattributed_ns"] == op["total_ns"]
    assert not list(tmp_path.glob("*.tmp.*")), "temporary file left behind"


def check_families(families):
    by_name = {f.name: f for f in families}
    ops = by_name["boundarytrace_operations"]
    assert ops.type == "counter"
    assert [(s.labels, s.value) for s in ops.samples] == [({"op": "insert_many"}, OPERATIONS)]
    hist = by_name["boundarytrace_phase_seconds"]
    assert hist.type == "histogram"
    phases = {s.labels["phase"] for s in hist.samples}
    assert phases == {"extract", "convert", "network", "materialize"}
    for phase in phases:
        buckets = [s for s in hist.samples if s.name.endswith("_bucket") and s.labels["phase"] == phase]
        counts = [s.value for s in buckets]
        assert counts == sorted(counts), "cumulative buckets"
        assert buckets[-1].labels["le"] == "+Inf" and buckets[-1].value == OPERATIONS


def test_prometheus_dump_parses(tmp_path):
    check_families(list(parse_prometheus(dump(tmp_path, "snap.prom"))))


def test_openmetrics_dump_parses(tmp_path):
    text = dump(tmp_path, "snap.om")
    assert text.endswith("# EOF\n")
    families = list(parse_openmetrics(text))
    check_families(families)
    assert {f.name: f.unit for f in families}["boundarytrace_phase_seconds"] == "seconds"


def test_promtool_accepts_the_exposition(tmp_path):
    # scripts/test installs Debian's prometheus package, which carries promtool
    assert shutil.which("promtool"), "promtool is missing: apt-get install prometheus"
    text = dump(tmp_path, "snap.prom")
    proc = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_text_and_folded_dumps(tmp_path):
    text = dump(tmp_path, "snap.txt")
    assert "insert_many: 15 ops" in text and "p99.9" in text
    folded = dump(tmp_path, "snap.folded").splitlines()
    frames = {line.rsplit(" ", 1)[0] for line in folded}
    assert {"insert_many;extract", "insert_many;network", "insert_many;unattributed"} <= frames
    assert all(int(line.rsplit(" ", 1)[1]) > 0 for line in folded)


def test_disable_switch_records_nothing(tmp_path):
    doc = json.loads(dump(tmp_path, "off.json", BOUNDARYTRACE_DISABLE="1"))
    # bound names stay registered (lookups are not recordings); nothing is counted
    assert all(op["count"] == 0 and op["total"]["buckets"] == [] for op in doc["operations"])


def test_unwritable_dump_is_reported_once_and_never_fails(tmp_path):
    proc = run_example(tmp_path, BOUNDARYTRACE_DUMP=str(tmp_path / "missing" / "x.json"))
    assert proc.stderr.count("boundarytrace: could not write BOUNDARYTRACE_DUMP=") == 1
    assert "No such file or directory" in proc.stderr


def to_ns(value):
    """Microseconds with three decimals, read exactly (as Perfetto rounds ts * 1000)."""
    return round(float(value) * 1000)


def test_timeline_env_writes_chrome_trace_with_proper_nesting(tmp_path):
    path = tmp_path / "trace.json"
    run_example(tmp_path, BOUNDARYTRACE_TIMELINE=str(path), BOUNDARYTRACE_TIMELINE_CAPACITY="8")
    doc = json.loads(path.read_text())
    events = doc["traceEvents"]
    assert doc["otherData"]["kept"] == 8 and doc["otherData"]["dropped"] == OPERATIONS - 8
    meta = [e for e in events if e["ph"] == "M"]
    assert {"process_name", "thread_name"} <= {e["name"] for e in meta}
    slices = [e for e in events if e["ph"] == "X"]
    for e in slices:  # the format's required fields for complete events
        assert {"name", "cat", "ph", "ts", "dur", "pid", "tid", "args"} <= e.keys()
        assert isinstance(e["ts"], (int, float)) and e["dur"] >= 0
    ops = [e for e in slices if e["cat"] == "operation"]
    phases = [e for e in slices if e["cat"] == "phase"]
    assert len(ops) == 8 and len(phases) == 8 * 4
    assert all(p["args"]["gil"] in ("held", "released") for p in phases)
    # On one track, any two slices are nested or disjoint: never partial.
    by_track = {}
    for e in slices:
        by_track.setdefault(e["tid"], []).append((to_ns(e["ts"]), to_ns(e["ts"]) + to_ns(e["dur"])))
    for spans in by_track.values():
        for a0, a1 in spans:
            for b0, b1 in spans:
                assert a1 <= b0 or b1 <= a0 or (a0 <= b0 and b1 <= a1) or (b0 <= a0 and a1 <= b1)
    # Each phase lies inside an operation on its track.
    for p in phases:
        p0, p1 = to_ns(p["ts"]), to_ns(p["ts"]) + to_ns(p["dur"])
        assert any(o["tid"] == p["tid"] and to_ns(o["ts"]) <= p0 and p1 <= to_ns(o["ts"]) + to_ns(o["dur"])
                   for o in ops)
