"""The command line tool: ``python -m boundarytrace`` and the ``boundarytrace``
console script, run as subprocesses on snapshot files written in the test.

Snapshots are made with known timings (``Metrics.record``) and written with
``Snapshot.write`` through the backend under test; the subprocess imports the
package with the same backend (``BOUNDARYTRACE_BACKEND``). The file commands
themselves read JSON and need no library.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

import boundarytrace as bt

DATA = pathlib.Path(__file__).resolve().parent / "data"
#: The console script pip installed beside the interpreter (.venv/bin/boundarytrace).
SCRIPT = pathlib.Path(sys.executable).parent / "boundarytrace"


def run_cli(*args, backend=None, script=False, stdin=None):
    """Runs the tool; returns the CompletedProcess (text, stdout and stderr captured)."""
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    if backend:
        env["BOUNDARYTRACE_BACKEND"] = backend
    cmd = [str(SCRIPT)] if script else [sys.executable, "-m", "boundarytrace"]
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, env=env,
                          input=stdin, timeout=120)


def record_same(m, name, n, total, phases, **fields):
    """Records ``n`` identical operations: every percentile is then exact."""
    for _ in range(n):
        m.record(name, total, phases=phases, **fields)


def write_snapshot(path, build):
    """Records with ``build(metrics)`` into a private sink and writes its snapshot."""
    with bt.Metrics() as m:
        build(m)
        snap = m.snapshot()
    assert snap.write(path) is bt.Format.JSON
    return snap


def _two_ops(m):
    for i in range(20):
        m.record("insert_many", 10_000 + 100 * i,
                 phases={bt.EXTRACT: 2_000 + i, bt.CONVERT: 3_000, bt.NETWORK: (4_000, 2),
                         bt.MATERIALIZE: 500},
                 items=1500, gil_releases=1, gil_wait_ns=300, workers=1 + i % 3)
        m.record("find", 5_000 + 10 * i, phases={bt.EXTRACT: 200, bt.NETWORK: 1_000,
                                                   bt.MATERIALIZE: 3_000 + i},
                 items=10, error=(i == 4))


# --- report ----------------------------------------------------------------------------------

def test_cli__report_prints_the_librarys_table(tmp_path, backend):
    path = tmp_path / "snap.json"
    snap = write_snapshot(path, _two_ops)
    proc = run_cli("report", path, backend=backend)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    got, want = proc.stdout.splitlines(), snap.export("text").splitlines()  # the library's own
    assert len(got) == len(want)
    for g, w in zip(got, want):
        if g.startswith("  GIL held"):  # the tool adds the wait as a share of the time
            g = re.sub(r" \(\d+\.\d%\) over", " over", g)
        assert g == w


def test_cli__report_content(tmp_path, backend):
    path = tmp_path / "snap.json"
    write_snapshot(path, _two_ops)
    out = run_cli("report", path, backend=backend).stdout
    assert "insert_many: 20 ops, 0 errors, 30000 items (" in out
    assert "find: 20 ops, 1 error, 200 items (" in out
    assert "up to 3 workers" in out
    header = [line for line in out.splitlines() if line.lstrip().startswith("phase")]
    assert len(header) == 2
    assert header[0].split() == ["phase", "GIL", "time", "share", "entries", "mean", "p50", "p90",
                                 "p99", "p99.9", "max"]
    rows = {line.split()[0]: line.split() for line in out.split("insert_many:")[1].splitlines()[2:]
            if line.startswith("  ") and not line.startswith("  GIL")}
    assert rows["extract"][1] == "held" and rows["convert"][1] == "released"
    assert rows["network"][1] == "released" and rows["network"][5] == "40"  # entries
    assert rows["materialize"][2:4] == ["10.0", "µs"]  # 20 x 500 ns
    assert rows["network"][-2:] == ["4.00", "µs"]      # max per op: 2 entries of 2 µs
    # held = extract + materialize; wait 20 x 300 ns out of the total
    snap_total = sum(10_000 + 100 * i for i in range(20))
    wait = f"wait 6.00 µs ({100 * 6000 / snap_total:.1f}%) over 20 releases"
    assert wait in out
    assert "find: 20 ops" not in run_cli("report", path, "--op", "insert_many").stdout


def test_cli__console_script_and_module_agree(tmp_path, backend):
    assert SCRIPT.exists(), f"the console script is not installed at {SCRIPT}"
    path = tmp_path / "snap.json"
    write_snapshot(path, _two_ops)
    a = run_cli("report", path, backend=backend, script=True)
    b = run_cli("report", path, backend=backend)
    assert a.returncode == b.returncode == 0
    assert a.stdout == b.stdout
    version = run_cli("--version", script=True)
    assert version.returncode == 0 and version.stdout.split() == ["boundarytrace", bt.__version__]
    helptext = run_cli("--help", script=True).stdout
    for command in ("report", "diff", "check"):
        assert command in helptext


def test_cli__never_writes_the_librarys_exit_files(tmp_path, backend):
    # BOUNDARYTRACE_DUMP exported for a whole job must not make the tool
    # overwrite the snapshot it reads with its own empty one at exit
    path = tmp_path / "run.json"
    write_snapshot(path, _two_ops)
    before = path.read_bytes()
    trace = tmp_path / "run.trace.json"
    for script in (False, True):
        env = dict(os.environ, BOUNDARYTRACE_DUMP=str(path), BOUNDARYTRACE_TIMELINE=str(trace),
                   BOUNDARYTRACE_BACKEND=backend, PYTHONIOENCODING="utf-8")
        cmd = [str(SCRIPT)] if script else [sys.executable, "-m", "boundarytrace"]
        proc = subprocess.run(cmd + ["check", str(path)], capture_output=True, text=True,
                              env=env, timeout=120, input="")
        assert proc.returncode == 1, proc.stderr  # find never releases the GIL
        assert "insert_many" in proc.stdout
        assert path.read_bytes() == before
        assert not trace.exists()


def test_cli__reads_standard_input_and_the_shipped_example(backend):
    example = DATA / "snapshot_v1.json"  # written by the library, version 0.1.0
    proc = run_cli("report", "-", stdin=example.read_text(), backend=backend)
    assert proc.returncode == 0, proc.stderr
    assert "insert_many: 40 ops, 0 errors, 40000 items" in proc.stdout
    assert run_cli("report", example).stdout == proc.stdout
    assert run_cli("diff", example, example).returncode == 0


# --- diff ------------------------------------------------------------------------------------

def _diff_pair(tmp_path, network_new, *, n_base=20, n_new=20, extra_new=None):
    """base: find (network 10 µs), gone; new: find (network `network_new`), added."""
    def base(m):
        record_same(m, "find", n_base, 20_000, {bt.EXTRACT: 2_000, bt.NETWORK: 10_000})
        record_same(m, "gone", 3, 1_000, {bt.EXTRACT: 500})

    def new(m):
        record_same(m, "find", n_new, 20_000 + network_new - 10_000,
                    {bt.EXTRACT: 2_000, bt.NETWORK: network_new})
        record_same(m, "added", 3, 1_000, {bt.EXTRACT: 500})
        if extra_new:
            extra_new(m)
    a, b = tmp_path / "base.json", tmp_path / "new.json"
    write_snapshot(a, base)
    write_snapshot(b, new)
    return a, b


def _row(out, op, phase):
    block = out.split(f"\n{op}: ")[1].split("\n\n")[0]
    for line in block.splitlines():
        if line.split() and line.split()[0] == phase:
            return line
    raise AssertionError(f"no row {phase} under {op} in:\n{out}")


def test_cli__diff_passes_within_the_threshold(tmp_path, backend):
    a, b = _diff_pair(tmp_path, 10_900)  # +9 %
    proc = run_cli("diff", a, b, "--max-regress", "10%", backend=backend)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK: no p50 or p99 regressed past 10.0%" in proc.stdout
    row = _row(proc.stdout, "find", "network")
    assert "10.0 µs" in row and "10.9 µs" in row and "+9.0%" in row
    assert "SLOWER" not in proc.stdout


def test_cli__diff_exactly_at_the_threshold_passes(tmp_path, backend):
    a, b = _diff_pair(tmp_path, 11_000)  # +10 %: not past it
    proc = run_cli("diff", a, b, "--max-regress", "10%", backend=backend)
    assert proc.returncode == 0, proc.stdout
    assert "+10.0%" in _row(proc.stdout, "find", "network")


def test_cli__diff_fails_past_the_threshold(tmp_path, backend):
    a, b = _diff_pair(tmp_path, 11_100)  # +11 %
    proc = run_cli("diff", a, b, "--max-regress", "10%", backend=backend)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    row = _row(proc.stdout, "find", "network")
    assert "+11.0%" in row and "SLOWER p50" in row and "SLOWER p99" in row
    assert "SLOWER" not in _row(proc.stdout, "find", "extract")
    assert "FAIL: 2 regressions past 10.0%:" in proc.stdout  # network p50, p99 (total +5.5 %)
    assert "  find network p50 10.0 µs -> 11.1 µs (+11.0%)" in proc.stdout
    # a looser gate lets it pass; the default is 10 %
    assert run_cli("diff", a, b, "--max-regress", "20").returncode == 0
    assert run_cli("diff", a, b).returncode == 1


def test_cli__diff_marks_what_got_faster(tmp_path, backend):
    a, b = _diff_pair(tmp_path, 5_000)
    proc = run_cli("diff", a, b, backend=backend)
    assert proc.returncode == 0
    row = _row(proc.stdout, "find", "network")
    assert "-50.0%" in row and "faster p50" in row and "faster p99" in row


def test_cli__diff_gates_p99_alone(tmp_path, backend):
    def base(m):
        record_same(m, "tail", 100, 10_000, {bt.NETWORK: 10_000})

    def new(m):
        record_same(m, "tail", 98, 10_000, {bt.NETWORK: 10_000})
        record_same(m, "tail", 2, 50_000, {bt.NETWORK: 50_000})
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    write_snapshot(a, base)
    write_snapshot(b, new)
    proc = run_cli("diff", a, b, backend=backend)
    assert proc.returncode == 1
    row = _row(proc.stdout, "tail", "network")
    assert "SLOWER p99" in row and "p50" not in row.split("SLOWER")[1]
    assert "+0.0%" in row  # the p50 did not move


def test_cli__diff_lists_what_is_in_one_file_only(tmp_path, backend):
    def extra(m):
        record_same(m, "find", 1, 30_000, {bt.EXTRACT: 2_000, bt.NETWORK: 10_000,
                                           bt.MATERIALIZE: 3_000})
    a, b = _diff_pair(tmp_path, 10_000, extra_new=extra)
    proc = run_cli("diff", a, b, backend=backend)
    assert "\ngone: only in base (3 ops; not compared)" in proc.stdout
    assert "\nadded: only in new (3 ops; not compared)" in proc.stdout
    assert "only in new" in _row(proc.stdout, "find", "materialize")
    # p99 of total and network moved with the extra slow op, but only
    # materialize is new: only what regressed fails
    assert "materialize" not in proc.stdout.split("FAIL")[-1]


def test_cli__diff_min_count_and_min_delta_guards(tmp_path, backend):
    a, b = _diff_pair(tmp_path, 11_100, n_base=2, n_new=2)
    proc = run_cli("diff", a, b, "--min-count", "5", backend=backend)
    assert proc.returncode == 0, proc.stdout
    assert "slower p50 (too few samples)" in _row(proc.stdout, "find", "network")
    assert run_cli("diff", a, b, "--min-count", "2").returncode == 1
    proc = run_cli("diff", a, b, "--min-delta", "2us")  # +1.1 µs is noise
    assert proc.returncode == 0, proc.stdout
    assert "(within 2.00 µs)" in _row(proc.stdout, "find", "network")
    assert run_cli("diff", a, b, "--min-delta", "1000").returncode == 1  # 1000 ns


@pytest.mark.parametrize("bad", ["abc", "-5%", "nan", "inf%", "", "10%%"])
def test_cli__diff_rejects_a_bad_threshold(tmp_path, bad, backend):
    a, b = _diff_pair(tmp_path, 10_000)
    proc = run_cli("diff", a, b, f"--max-regress={bad}", backend=backend)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "--max-regress" in proc.stderr and "percentage" in proc.stderr


# --- check ------------------------------------------------------------------------------------

def _check_snapshot(tmp_path, build):
    path = tmp_path / "snap.json"
    write_snapshot(path, build)
    return path


def _verdicts(out):
    """{(op, rule): status} of a check's output."""
    found, op = {}, None
    for line in out.splitlines():
        if line and not line.startswith(" ") and ":" not in line:
            op = line
        m = re.match(r"  (PASS|WARN|FAIL|----)  (\S+)", line)
        if m:
            found[(op, m.group(2))] = m.group(1)
    return found


def _healthy(m, name="healthy", **over):
    fields = dict(items=10, gil_releases=1, workers=1)
    fields.update(over)
    record_same(m, name, 20, 10_000, {bt.EXTRACT: 1_000, bt.CONVERT: 3_000, bt.NETWORK: 4_000,
                                      bt.MATERIALIZE: 1_000}, **fields)


def _budget(tmp_path, text):
    path = tmp_path / "budget.toml"
    path.write_text(text)
    return path


def test_cli__check_passes_a_healthy_profile_with_the_default_budget(tmp_path, backend):
    snap = _check_snapshot(tmp_path, _healthy)
    proc = run_cli("check", snap, backend=backend)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "budget: default (" in proc.stdout and "default_budget.toml" in proc.stdout
    assert _verdicts(proc.stdout) == {
        ("healthy", "gil_held"): "PASS", ("healthy", "gil_never_released"): "PASS",
        ("healthy", "large_batch"): "PASS", ("healthy", "left_open"): "PASS"}
    assert "GIL held 20.0% of 200.0 µs (warn above 30.0%, fail above 50.0%)" in proc.stdout
    assert proc.stdout.rstrip().endswith("OK: 0 rules failed, 0 warnings, 4 passed")


@pytest.mark.parametrize("held, status, code", [(2_900, "PASS", 0), (4_000, "WARN", 0),
                                                 (5_000, "WARN", 0), (6_000, "FAIL", 1)])
def test_cli__check_gil_held_share(tmp_path, held, status, code, backend):
    snap = _check_snapshot(tmp_path, lambda m: record_same(
        m, "op", 5, 10_000, {bt.EXTRACT: held, bt.NETWORK: 10_000 - held}, gil_releases=1))
    proc = run_cli("check", snap, backend=backend)
    assert proc.returncode == code, proc.stdout
    assert _verdicts(proc.stdout)[("op", "gil_held")] == status
    strict = run_cli("check", snap, "--strict")
    assert strict.returncode == (1 if status != "PASS" else 0)
    # a budget of your own moves the limits
    budget = _budget(tmp_path, '[gil_held]\nwarn = "70%"\nfail = "80%"\n')
    assert _verdicts(run_cli("check", snap, "--budget", budget).stdout)[("op", "gil_held")] \
        == "PASS"


def test_cli__check_gil_never_released(tmp_path, backend):
    snap = _check_snapshot(tmp_path, lambda m: _healthy(m, gil_releases=0))
    proc = run_cli("check", snap, backend=backend)
    assert proc.returncode == 1
    assert _verdicts(proc.stdout)[("healthy", "gil_never_released")] == "FAIL"
    assert "20 ops and no GIL release" in proc.stdout
    off = _budget(tmp_path, '[gil_never_released]\nlevel = "off"\n')
    proc = run_cli("check", snap, "--budget", off)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ("healthy", "gil_never_released") not in _verdicts(proc.stdout)


def test_cli__check_large_batch_without_workers(tmp_path, backend):
    snap = _check_snapshot(tmp_path, lambda m: (
        _healthy(m, "serial", items=2000, workers=1), _healthy(m, "parallel", items=2000,
                                                               workers=4),
        _healthy(m, "unreported", items=2000, workers=0)))
    proc = run_cli("check", snap, backend=backend)
    assert proc.returncode == 0  # a warning in the default budget
    v = _verdicts(proc.stdout)
    assert v[("serial", "large_batch")] == "WARN" and v[("unreported", "large_batch")] == "WARN"
    assert v[("parallel", "large_batch")] == "PASS"
    assert "2000 items/op with at most 1 worker" in proc.stdout
    assert "2000 items/op with no workers reported" in proc.stdout
    budget = _budget(tmp_path, '[large_batch]\nmin_items = 100\nlevel = "fail"\n')
    proc = run_cli("check", snap, "--budget", budget)
    assert proc.returncode == 1
    assert _verdicts(proc.stdout)[("serial", "large_batch")] == "FAIL"
    budget = _budget(tmp_path, '[large_batch]\nmin_items = 2001\nlevel = "fail"\n')
    assert run_cli("check", snap, "--budget", budget).returncode == 0


def test_cli__check_phase_p99_limits(tmp_path, backend):
    def build(m):
        _healthy(m, "fast")                              # network p99 4 µs
        record_same(m, "slow", 20, 20_000, {bt.EXTRACT: 1_000, bt.NETWORK: 8_000},
                    gil_releases=1)                      # network p99 8 µs
    snap = _check_snapshot(tmp_path, build)
    budget = _budget(tmp_path, '[phase_p99]\nnetwork = "5us"\n')
    proc = run_cli("check", snap, "--budget", budget, backend=backend)
    assert proc.returncode == 1
    v = _verdicts(proc.stdout)
    assert v[("fast", "phase_p99.network")] == "PASS"
    assert v[("slow", "phase_p99.network")] == "FAIL"
    assert "p99 8.00 µs (fail above 5.00 µs)" in proc.stdout
    assert ("fast", "gil_held") not in v  # rules the budget leaves out are off

    budget = _budget(tmp_path, '[phase_p99]\nnetwork = { warn = "5us", fail = "9us" }\n'
                               'total = "15us"\n')
    proc = run_cli("check", snap, "--budget", budget)
    v = _verdicts(proc.stdout)
    assert v[("slow", "phase_p99.network")] == "WARN"
    assert v[("slow", "phase_p99.total")] == "FAIL" and v[("fast", "phase_p99.total")] == "PASS"
    assert proc.returncode == 1

    # per operation: the slow one gets a limit of its own
    budget = _budget(tmp_path, '[phase_p99]\nnetwork = "5us"\n'
                               '[ops."slow".phase_p99]\nnetwork = "10us"\n')
    proc = run_cli("check", snap, "--budget", budget)
    assert proc.returncode == 0, proc.stdout
    assert _verdicts(proc.stdout)[("slow", "phase_p99.network")] == "PASS"
    assert "p99 8.00 µs (fail above 10.0 µs)" in proc.stdout


def test_cli__check_min_count_and_notes(tmp_path, backend):
    snap = _check_snapshot(tmp_path, _healthy)  # 20 samples
    budget = _budget(tmp_path, 'min_count = 50\n[phase_p99]\nnetwork = "1us"\n'
                               'nosuchphase = "1ms"\n[ops."nosuchop"]\ngil_held = {fail = "1%"}\n')
    proc = run_cli("check", snap, "--budget", budget, backend=backend)
    assert proc.returncode == 0, proc.stdout
    assert _verdicts(proc.stdout)[("healthy", "phase_p99.network")] == "----"
    assert "20 samples, fewer than min_count 50: not judged" in proc.stdout
    assert "NOTE: the budget has rules for operation 'nosuchop'" in proc.stdout
    assert "NOTE: phase_p99 limits phase 'nosuchphase', which no operation entered" in proc.stdout


def test_cli__check_left_open_and_the_example_budget(tmp_path, backend):
    snap = _check_snapshot(tmp_path, lambda m: _healthy(m, phase_left_open=True))
    proc = run_cli("check", snap, backend=backend)
    assert _verdicts(proc.stdout)[("healthy", "left_open")] == "WARN"
    assert "20 of 20 ops left a phase open" in proc.stdout
    assert proc.returncode == 0 and run_cli("check", snap, "--strict").returncode == 1

    example = run_cli("check", DATA / "snapshot_v1.json", "--budget", DATA / "budget_example.toml")
    v = _verdicts(example.stdout)
    assert example.returncode == 1  # find never releases the GIL
    assert v[("find", "gil_never_released")] == "FAIL"
    assert v[("insert_many", "phase_p99.network")] == "WARN"
    assert ("find", "large_batch") not in v  # switched off for find
    assert "(fail above 30.0 µs)" in example.stdout  # find's own network limit


def test_cli__default_budget_ships_with_the_package():
    from boundarytrace.cli._budget import default_budget_path, load_budget
    path = pathlib.Path(default_budget_path())
    assert path.is_file() and path.parent == pathlib.Path(bt.__file__).parent / "cli"
    budget = load_budget(str(path))
    rules = budget.defaults
    assert (rules.gil_held.warn, rules.gil_held.fail) == (0.30, 0.50)
    assert rules.gil_never_released == "fail"
    assert (rules.large_batch_min_items, rules.large_batch_level) == (1000, "warn")


@pytest.mark.parametrize("text, message", [
    ("[gil_held\nwarn = 1", "not valid TOML"),
    ("gil_hold = {warn = \"30%\"}", "unknown key 'gil_hold'"),
    ("[gil_held]\nwarn = \"30%\"\nfial = \"50%\"", "unknown key 'fial'"),
    ("[gil_held]\nwarn = \"60%\"\nfail = \"50%\"", "warn ('60%') is above fail ('50%')"),
    ("[gil_held]\nfail = \"120%\"", "above 100%"),
    ("[gil_held]\nfail = \"lots\"", "expected a percentage"),
    ("[left_open]\nlevel = \"maybe\"", "level must be one of"),
    ("[phase_p99]\nnetwork = \"5 parsecs\"", "expected a duration"),
    ("[phase_p99]\nnetwork = 1.5", "expected a duration"),
    ("[large_batch]\nmin_items = -1", "expected a whole number"),
    ("version = 2", "budget version 2 is not 1"),
    ("[ops.\"x\"]\nmin_count = 3", "unknown key 'min_count'"),
])
def test_cli__check_rejects_a_bad_budget(tmp_path, text, message, backend):
    snap = _check_snapshot(tmp_path, _healthy)
    proc = run_cli("check", snap, "--budget", _budget(tmp_path, text), backend=backend)
    assert proc.returncode == 2, proc.stdout
    assert proc.stdout == ""
    assert proc.stderr.startswith("boundarytrace check: error: ")
    assert message in proc.stderr


def test_cli__check_missing_budget(tmp_path):
    snap = _check_snapshot(tmp_path, _healthy)
    proc = run_cli("check", snap, "--budget", tmp_path / "nope.toml")
    assert proc.returncode == 2 and "cannot read budget" in proc.stderr


# --- bad input ------------------------------------------------------------------------------------

def _bad_files(tmp_path):
    good = json.loads((DATA / "snapshot_v1.json").read_text())
    files = {}

    def put(name, content):
        path = tmp_path / name
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        files[name] = path
    put("not_json.json", "{not json")
    put("array.json", [1, 2])
    put("other_schema.json", {"schema": "something.else", "version": 1})
    newer = dict(good, version=2)
    put("newer.json", newer)
    broken = json.loads(json.dumps(good))
    del broken["operations"][0]["count"]
    put("missing_field.json", broken)
    broken = json.loads(json.dumps(good))
    broken["operations"][1]["phases"]["extract"]["p99_ns"] = "fast"
    put("bad_value.json", broken)
    text = (DATA / "snapshot_v1.json").read_text()
    put("nan.json", text.replace('"total_ns":', '"total_ns":NaN,"x":', 1))
    files["trace.json"] = DATA / "not_a_snapshot.json"
    files["missing.json"] = tmp_path / "missing.json"
    return files


EXPECTED_MESSAGES = {
    "not_json.json": "not valid JSON",
    "array.json": "the JSON is a list, not an object",
    "other_schema.json": "not a boundarytrace snapshot (schema 'something.else'; expected "
                         "'boundarytrace.snapshot' version 1",
    "newer.json": "version 2 is newer than the version this tool reads (1)",
    "missing_field.json": "operations[0] ('find'): \"count\" must be a non-negative integer "
                          "(missing)",
    "bad_value.json": "operations[1] ('insert_many').phases.extract: \"p99_ns\" must be a "
                      "non-negative integer ('fast')",
    "nan.json": "not valid JSON",
    "trace.json": "not a boundarytrace snapshot (no \"schema\" field",
    "missing.json": "cannot read",
}


def _bad_file_commands(path, tmp_path):
    good = DATA / "snapshot_v1.json"
    return (["report", path], ["report", path, "--html", tmp_path / "x.html"],
            ["diff", good, path], ["diff", path, good], ["check", path])


def _assert_rejected(name, path, args, code, out, err):
    assert code == 2, (name, args, out)
    assert out == "", (name, args)
    assert err.startswith(f"boundarytrace {args[0]}: error: "), err
    assert EXPECTED_MESSAGES[name] in err, (name, err)
    assert str(path) in err


def test_cli__bad_snapshot_files_exit_2_with_a_message(tmp_path, backend):
    files = _bad_files(tmp_path)
    for name, path in files.items():
        # every file through the real command; every command for two of them
        commands = _bad_file_commands(path, tmp_path)
        if name not in ("other_schema.json", "missing.json"):
            commands = commands[:1]
        for args in commands:
            proc = run_cli(*args, backend=backend)
            _assert_rejected(name, path, args, proc.returncode, proc.stdout, proc.stderr)
    assert not (tmp_path / "x.html").exists()


def test_cli__bad_snapshot_files_in_every_command(tmp_path, capsys):
    # the same through boundarytrace.cli.main in this process: every file x command
    from boundarytrace.cli import main
    for name, path in _bad_files(tmp_path).items():
        for args in _bad_file_commands(path, tmp_path):
            code = main([str(a) for a in args])
            out, err = capsys.readouterr()
            _assert_rejected(name, path, args, code, out, err)


def test_cli__usage_errors_exit_2(tmp_path):
    for args in ([], ["frobnicate"], ["report"], ["diff", DATA / "snapshot_v1.json"],
                 ["check", DATA / "snapshot_v1.json", "--no-such-option"],
                 ["diff", "a", "b", "--min-count", "-1"]):
        proc = run_cli(*args)
        assert proc.returncode == 2, args
        assert "usage: boundarytrace" in proc.stderr
    proc = run_cli("report", DATA / "snapshot_v1.json", "--op", "nope")
    assert proc.returncode == 2 and "no operation named 'nope'" in proc.stderr
    proc = run_cli("report", DATA / "snapshot_v1.json", "--html", tmp_path / "no" / "x.html")
    assert proc.returncode == 2 and "cannot write" in proc.stderr


# --- deeply nested JSON ---------------------------------------------------------------------------

#: Deeper than the interpreter's recursion limit (1000): json's decoder recurses per level.
DEPTH = 5000


@pytest.mark.parametrize("kind", ["arrays", "objects"])
def test_cli__deeply_nested_json_exits_2_with_one_line(tmp_path, kind, backend):
    path = tmp_path / f"deep_{kind}.json"
    if kind == "arrays":
        path.write_text("[" * DEPTH + "]" * DEPTH)
    else:
        path.write_text('{"a":' * DEPTH + "1" + "}" * DEPTH)
    good = DATA / "snapshot_v1.json"
    for args in (["report", path], ["diff", good, path], ["diff", path, good], ["check", path]):
        proc = run_cli(*args, backend=backend)
        assert proc.returncode == 2, (args, proc.stderr[-500:])
        assert proc.stdout == "", args
        assert "Traceback" not in proc.stderr and "RecursionError" not in proc.stderr
        lines = proc.stderr.splitlines()
        assert len(lines) == 1, proc.stderr[-500:]
        assert lines[0].startswith(f"boundarytrace {args[0]}: error: {path}: ")
        assert "nested too deeply" in lines[0]


def test_cli__deeply_nested_budget_exits_2_with_one_line(tmp_path, backend):
    snap = _check_snapshot(tmp_path, _healthy)
    for text in ("[phase_p99]\nnetwork = " + "[" * DEPTH + "]" * DEPTH,
                 "[phase_p99]\nnetwork = " + "[" * 900 + "]" * 900,  # parses; too deep a value
                 "x = " + "{a = " * DEPTH + "1" + "}" * DEPTH):
        budget = _budget(tmp_path, text)
        proc = run_cli("check", snap, "--budget", budget, backend=backend)
        assert proc.returncode == 2, proc.stderr[-500:]
        assert "Traceback" not in proc.stderr
        assert len(proc.stderr.splitlines()) == 1, proc.stderr[-500:]
        assert proc.stderr.startswith(f"boundarytrace check: error: {budget}: ")


def test_cli__deeply_nested_json_in_process(tmp_path, capsys):
    # boundarytrace.cli.main called from Python, deeper in the stack than the console script
    from boundarytrace.cli import main
    path = tmp_path / "deep.json"
    path.write_text("[" * DEPTH + "]" * DEPTH)
    assert main(["report", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(f"boundarytrace report: error: {path}: ")
    assert "nested too deeply" in err
