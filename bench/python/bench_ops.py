#!/usr/bin/env python3
"""A full traced four-phase operation from Python, beside its peers, in one run.

Cases (each iteration is one operation of four phases, or its equivalent):

  floor/perf_counter_ns_x10   10 x time.perf_counter_ns(): the clock reads a
                              traced operation makes (creation, 8 phase edges,
                              finish), done by Python
  boundarytrace/pybind11      with bt.trace(op) as t: + 4 x with t.phase(p):
                              through the pybind11 backend (boundarytrace._native)
  boundarytrace/ctypes        the same through the ctypes backend
  prometheus/time             4 x with child.time(): on pre-bound labelled
                              Histogram children (time and observe, as a phase does)
  prometheus/observe          4 x (perf_counter_ns before and after, child.observe(s))
  boundarytrace/pybind11_off  the traced operation with recording switched off at
                              run time (bt.set_enabled(False)): what the Python API
                              costs without the library's work
  empty_loop                  the bare loop (not subtracted from anything)

One process; every round runs every case once, in a shuffled order, with a
batch long enough (~20 ms) to dwarf the timer; figures are medians over the
rounds of the thread's CPU time per operation, wall time beside. The backends
are switched with boundarytrace._select_backend (both drive the same library
copy and the same global sink). cProfile over each traced case then says
where the time goes, by call (--no-profile skips it).

With --instructions (run under callgrind by bench/python/run), it counts the
instructions per operation of each case instead (cgmarks.py): repeatable where
timings on a shared machine are not.

Writes (or updates) the JSON file --out; bench/report.py renders it.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import platform
import pstats
import random
import statistics
import sys
import time
from pathlib import Path

import boundarytrace as bt

OP = "bench_py_op"
pc = time.perf_counter_ns
tt = time.thread_time_ns
E, C, N, M = bt.EXTRACT, bt.CONVERT, bt.NETWORK, bt.MATERIALIZE


# --- the cases ------------------------------------------------------------------------

def case_empty(n):
    for _ in range(n):
        pass


def case_floor(n):
    for _ in range(n):
        pc(); pc(); pc(); pc(); pc(); pc(); pc(); pc(); pc(); pc()  # noqa: E702


def traced_loop(n):
    trace = bt.trace
    for _ in range(n):
        with trace(OP) as t:
            with t.phase(E):
                pass
            with t.phase(C):
                pass
            with t.phase(N):
                pass
            with t.phase(M):
                pass


def make_prometheus():
    import prometheus_client as pc_mod
    registry = pc_mod.CollectorRegistry()
    h = pc_mod.Histogram("bench_phase_seconds", "Phase time", ["op", "phase"], registry=registry)
    children = [h.labels(OP, p) for p in ("extract", "convert", "network", "materialize")]
    e, c, nw, m = children

    def timed(n):
        for _ in range(n):
            with e.time():
                pass
            with c.time():
                pass
            with nw.time():
                pass
            with m.time():
                pass

    def observed(n):
        for _ in range(n):
            t0 = pc()
            t1 = pc()
            e.observe((t1 - t0) / 1e9)
            t0 = pc()
            t1 = pc()
            c.observe((t1 - t0) / 1e9)
            t0 = pc()
            t1 = pc()
            nw.observe((t1 - t0) / 1e9)
            t0 = pc()
            t1 = pc()
            m.observe((t1 - t0) / 1e9)

    def count():
        total = 0
        for metric in registry.collect():
            for s in metric.samples:
                if s.name.endswith("_count"):
                    total += s.value
        return int(total)

    try:
        from importlib.metadata import version
        prom_version = version("prometheus_client")
    except Exception:  # noqa: BLE001 - a note only
        prom_version = ""
    return timed, observed, count, prom_version


class Case:
    def __init__(self, name, what, fn, backend=None, enabled=True, clock_reads=None):
        self.name, self.what, self.fn = name, what, fn
        self.backend, self.enabled, self.clock_reads = backend, enabled, clock_reads
        self.n = 0
        self.cpu, self.wall = [], []
        self.done = 0  # operations run, warm-ups included (for the checks)

    def prepare(self):
        if self.backend is not None and bt.backend != self.backend:
            bt._select_backend(self.backend)
        bt.set_enabled(self.enabled)

    def batch(self, n):
        self.prepare()
        self.fn(64)  # warm: caches, the op bound in the (re-wrapped) sink
        self.done += 64 + n
        gc.collect()
        w0, c0 = pc(), tt()
        self.fn(n)
        c1, w1 = tt(), pc()
        bt.set_enabled(True)
        return (c1 - c0) / n, (w1 - w0) / n

    def calibrate(self, target_ns):
        n = 256
        while True:
            cpu, _ = self.batch(n)
            if cpu * n >= target_ns / 4 or n >= 1 << 24:
                break
            n *= 4
        self.n = max(64, int(target_ns / max(cpu, 1.0)))


def summary(values):
    s = sorted(values)
    q = statistics.quantiles(s, n=4) if len(s) >= 2 else [s[0]] * 3
    return {"median": statistics.median(s), "q1": q[0], "q3": q[2], "min": s[0], "max": s[-1]}


def profile_case(case, n):
    """cProfile over n operations of `case`: tottime and calls per operation, by function."""
    case.prepare()
    case.fn(64)
    prof = cProfile.Profile()
    prof.enable()
    case.fn(n)
    prof.disable()
    bt.set_enabled(True)
    st = pstats.Stats(prof)
    rows = []
    for (filename, line, func), (cc, nc, tottime, cumtime, _) in st.stats.items():
        if func in ("disable", case.fn.__name__) or "lsprof" in filename:
            continue  # the profiler and the loop driving the case
        where = "%s:%d" % (os.path.basename(filename), line) if line else filename
        rows.append({"function": func, "where": where, "calls_per_op": nc / n,
                     "tottime_ns_per_op": tottime * 1e9 / n, "cumtime_ns_per_op": cumtime * 1e9 / n})
    rows.sort(key=lambda r: -r["tottime_ns_per_op"])
    return rows[:12]


def load_json(path):
    return json.loads(path.read_text()) if path.exists() else {}


def count_instructions(cases, args):
    """Instructions per operation of each case, twice in opposite orders (the lower kept)."""
    from cgmarks import Marks
    marks = Marks(args.cg_lib, args.cg_out)
    n = 200 if args.smoke else 5000
    counts = {c.name: [] for c in cases}
    for order in (cases, cases[::-1]):
        for c in order:
            c.prepare()
            c.fn(64)
            gc.collect()
            marks.zero()
            c.fn(n)
            counts[c.name].append(marks.dump(c.name) / n)
            bt.set_enabled(True)
    return {"ops": n, "per_op": {k: min(v) for k, v in counts.items()}, "each": counts}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="JSON file to write (its 'ops' part)")
    ap.add_argument("--rounds", type=int, default=None, help="rounds (default 25; --smoke 2)")
    ap.add_argument("--batch-ms", type=float, default=None, help="per batch (default 20; --smoke 1)")
    ap.add_argument("--smoke", action="store_true", help="a few tiny rounds: does it run?")
    ap.add_argument("--no-profile", action="store_true", help="skip the cProfile pass")
    ap.add_argument("--priority", default="none", help="the scheduling priority (a note)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--instructions", action="store_true",
                    help="count instructions per operation (under callgrind; see cgmarks.py)")
    ap.add_argument("--cg-lib", help="the built cg_marks.c (with --instructions)")
    ap.add_argument("--cg-out", help="callgrind's --callgrind-out-file (with --instructions)")
    args = ap.parse_args(argv)
    rounds = args.rounds or (2 if args.smoke else 25)
    batch_ms = args.batch_ms or (1.0 if args.smoke else 20.0)

    timed, observed, prom_count, prom_version = make_prometheus()
    cases = [
        Case("floor/perf_counter_ns_x10", "10 × time.perf_counter_ns() (the clock reads of one "
             "traced operation, from Python)", case_floor, clock_reads=10),
        Case("boundarytrace/pybind11", "bt.trace + 4 × t.phase, pybind11 backend", traced_loop,
             backend="native", clock_reads=10),
        Case("boundarytrace/ctypes", "bt.trace + 4 × t.phase, ctypes backend", traced_loop,
             backend="ctypes", clock_reads=10),
        Case("prometheus/time", "prometheus_client: 4 × with Histogram.time()", timed,
             clock_reads=8),
        Case("prometheus/observe", "prometheus_client: 4 × (2 × perf_counter_ns, "
             "Histogram.observe())", observed, clock_reads=8),
        Case("boundarytrace/pybind11_off", "bt.trace + 4 × t.phase, pybind11, recording off "
             "(bt.set_enabled(False))", traced_loop, backend="native", enabled=False),
        Case("empty_loop", "the bare for loop", case_empty),
    ]
    by_name = {c.name: c for c in cases}
    out = Path(args.out)
    if args.instructions:
        data = load_json(out)
        data["ops_instructions"] = count_instructions(cases, args)
        out.write_text(json.dumps(data, indent=1) + "\n")
        print("wrote %s (ops_instructions): %s" % (out, ", ".join(
            "%s %.0f" % (k, v) for k, v in data["ops_instructions"]["per_op"].items())))
        return 0
    bt_before = bt.snapshot().ops.get(OP)
    bt_before = bt_before.count if bt_before else 0
    prom_before = prom_count()

    for c in cases:  # calibrate each case's batch, also a warm-up
        c.calibrate(batch_ms * 1e6)
    rng = random.Random(args.seed)
    order = list(cases)
    t_start = time.time()
    for r in range(rounds):
        rng.shuffle(order)
        for c in order:
            cpu, wall = c.batch(c.n)
            c.cpu.append(cpu)
            c.wall.append(wall)
        print("  round %d/%d: %s" % (r + 1, rounds, ", ".join(
            "%s %.0f ns" % (c.name.split("/")[-1], c.cpu[-1]) for c in cases[1:5])), flush=True)
    elapsed = time.time() - t_start

    # Every traced operation landed in the one global sink, whichever backend;
    # every prometheus observation in its histograms (warm-ups included).
    bt_ops = bt.snapshot().ops[OP].count - bt_before
    prom_ops = prom_count() - prom_before
    bt_want = by_name["boundarytrace/pybind11"].done + by_name["boundarytrace/ctypes"].done
    prom_want = 4 * (by_name["prometheus/time"].done + by_name["prometheus/observe"].done)
    if (bt_ops, prom_ops) != (bt_want, prom_want):
        print("bench_ops.py: recorded %d traced operations (want %d), %d prometheus "
              "observations (want %d)" % (bt_ops, bt_want, prom_ops, prom_want), file=sys.stderr)
        return 1

    results = []
    for c in cases:
        results.append({"name": c.name, "what": c.what, "ops_per_batch": c.n,
                        "rounds": len(c.cpu), "clock_reads": c.clock_reads,
                        "cpu_ns": summary(c.cpu), "wall_ns": summary(c.wall),
                        "cpu_each": c.cpu, "wall_each": c.wall})

    profile = {}
    if not args.no_profile:
        n_prof = 2000 if args.smoke else 50000
        for name in ("boundarytrace/pybind11", "boundarytrace/ctypes", "prometheus/time"):
            profile[name] = {"ops": n_prof, "functions": profile_case(by_name[name], n_prof)}

    try:
        import pybind11
        pybind11_version = pybind11.__version__
    except ImportError:
        pybind11_version = ""
    data = load_json(out)
    data["ops"] = {
        "context": {
            "python": sys.version.split()[0],
            "python_implementation": platform.python_implementation(),
            "gil_enabled": bt.gil_enabled() if hasattr(bt, "gil_enabled") else None,
            "boundarytrace": bt.__version__,
            "boundarytrace_path": os.path.dirname(bt.__file__),
            "clock_source": bt.clock_source(),
            "prometheus_client": prom_version,
            "pybind11": pybind11_version,
            "rounds": rounds,
            "batch_ms": batch_ms,
            "seconds": round(elapsed, 1),
            "smoke": args.smoke,
            "priority": args.priority,
            "timer": "time.thread_time_ns (CPU) and time.perf_counter_ns (wall) around each batch",
        },
        "checks": {"boundarytrace_ops_recorded": bt_ops, "prometheus_observations": prom_ops},
        "benchmarks": results,
        "profile": profile,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1) + "\n")
    print("wrote %s (ops)" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
