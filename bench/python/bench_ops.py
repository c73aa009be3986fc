#!/usr/bin/env python3
"""A full traced four-phase operation from Python, beside its peers, in one run.

Cases (each iteration is one operation of four phases, or its equivalent):

  floor/perf_counter_ns_x10   10 x time.perf_counter_ns(): the clock reads a
                              traced operation makes (creation, 8 phase edges,
                              finish), done by Python
  floor/lock_x5_perf_counter_ns_x10
                              the floor of a context-manager API (issue 15): the
                              same shape with the cheapest C context manager, five
                              `with` blocks on threading.Lock (one around four),
                              and the ten clock reads
  floor/ctypes_calls_x11      the 11 foreign calls a traced operation makes through
                              ctypes (bt_tracer_new_op, 4 x begin/end,
                              bt_tracer_finish_timing, bt_tracer_free), bare, through
                              the ctypes backend's own handles: the least the
                              ctypes backend can cost (into another operation)
  peer/dict_perf_counter_ns   a bare dict of perf_counter_ns differences: the
                              four phases and the total, no aggregation
  boundarytrace/pybind11      with bt.trace(op) as t: + 4 x with t.phase(p):
                              through the pybind11 backend (boundarytrace._native)
  boundarytrace/ctypes        the same through the ctypes backend
  prometheus/time             5 x with child.time(): on pre-bound labelled
                              Histogram children (the whole op around its four
                              phases; time and observe, as a traced op does)
  prometheus/observe          the same with perf_counter_ns and child.observe(s)
  prometheus_debian/time      5 x with child.time() with Debian's
                              python3-prometheus-client, when installed and of
                              another version (loaded beside the newest one)
  otel/histograms             the OpenTelemetry SDK: the four phases and the
                              total timed with perf_counter_ns, five
                              Histogram.record with attributes (op, phase)
                              prepared once; MeterProvider with an in-memory
                              reader, nothing leaves the process
  otel/spans                  the OpenTelemetry SDK: one span and four child
                              spans (start_as_current_span), a TracerProvider
                              whose span processor hands finished spans to an
                              exporter that counts and drops them
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
import threading
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


_LOCKS = [threading.Lock() for _ in range(5)]


def case_lock_floor(n):
    l0, l1, l2, l3, l4 = _LOCKS
    for _ in range(n):
        with l0:
            pc()
            with l1:
                pc()
                pc()
            with l2:
                pc()
                pc()
            with l3:
                pc()
                pc()
            with l4:
                pc()
                pc()
            pc()


def case_dict(n):
    for _ in range(n):
        d = {}
        t0 = pc()
        a = pc()
        d["extract"] = pc() - a
        a = pc()
        d["convert"] = pc() - a
        a = pc()
        d["network"] = pc() - a
        a = pc()
        d["materialize"] = pc() - a
        d["total"] = pc() - t0


CTYPES_FLOOR_OP = "bench_py_ctypes_calls"


def make_ctypes_floor():
    """The 11 foreign calls of one traced operation, bare (see the docstring)."""
    from ctypes import byref, c_void_p
    from boundarytrace import _ctypes_backend as cb
    op = c_void_p()
    st = cb._lib.bt_op_lookup(byref(op), cb._lib.bt_metrics_global(), CTYPES_FLOOR_OP.encode())
    if st:
        raise RuntimeError("bt_op_lookup: %d" % st)
    new, begin, end = cb._hot_new_op, cb._hot_phase_begin, cb._hot_phase_end
    finish, free, timing, size = cb._hot_finish_timing, cb._hot_free, cb.BtTiming, cb._TIMING_SIZE
    e, c, nw, m = int(E), int(C), int(N), int(M)

    def calls(n):
        for _ in range(n):
            h = c_void_p()
            new(byref(h), op)
            begin(h, e)
            end(h, e)
            begin(h, c)
            end(h, c)
            begin(h, nw)
            end(h, nw)
            begin(h, m)
            end(h, m)
            t = timing()
            t.struct_size = size
            finish(byref(t), h)
            free(h)
    return calls


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


PHASES = ("extract", "convert", "network", "materialize")


def make_prometheus(pc_mod=None):
    """prometheus_client (or the module given) doing the operation: five bound children."""
    if pc_mod is None:
        import prometheus_client as pc_mod
    registry = pc_mod.CollectorRegistry()
    h = pc_mod.Histogram("bench_phase_seconds", "Phase time", ["op", "phase"], registry=registry)
    e, c, nw, m, total = [h.labels(OP, p) for p in PHASES + ("total",)]

    def timed(n):
        for _ in range(n):
            with total.time():
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
            t = pc()
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
            total.observe((pc() - t) / 1e9)

    def count():
        total_count = 0
        for metric in registry.collect():
            for s in metric.samples:
                if s.name.endswith("_count"):
                    total_count += s.value
        return int(total_count)

    return timed, observed, count


def package_version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:  # noqa: BLE001 - a note only
        return ""


DEBIAN_PROMETHEUS = "/usr/lib/python3/dist-packages/prometheus_client"


def load_debian_prometheus(newest_version):
    """Debian's python3-prometheus-client, imported beside the newest one under another
    name (its imports are relative), when installed and of another version; else None."""
    import importlib.util
    init = os.path.join(DEBIAN_PROMETHEUS, "__init__.py")
    if not os.path.exists(init):
        return None, ""
    version = ""
    for d in os.listdir(os.path.dirname(DEBIAN_PROMETHEUS)):
        if d.startswith("prometheus_client-") and d.endswith((".dist-info", ".egg-info")):
            version = d[len("prometheus_client-"):].rsplit(".", 1)[0].split("-")[0]
    if not version or version == newest_version:
        return None, version
    try:  # Debian's copy imports `decorator` (python3-decorator), a module of its own
        import decorator  # noqa: F401
    except ImportError:
        dec = os.path.join(os.path.dirname(DEBIAN_PROMETHEUS), "decorator.py")
        if not os.path.exists(dec):
            return None, version
        dspec = importlib.util.spec_from_file_location("decorator", dec)
        dmod = importlib.util.module_from_spec(dspec)
        sys.modules["decorator"] = dmod
        dspec.loader.exec_module(dmod)
    name = "prometheus_client_debian"
    spec = importlib.util.spec_from_file_location(name, init,
                                                  submodule_search_locations=[DEBIAN_PROMETHEUS])
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod, version


def make_otel():
    """The OpenTelemetry SDK doing the operation: histograms with attributes, and spans."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    reader = InMemoryMetricReader()
    meter = MeterProvider(metric_readers=[reader]).get_meter("bench")
    hist = meter.create_histogram("bench_phase_seconds", unit="s", description="Phase time")
    ae, ac, an, am, at = [{"op": OP, "phase": p} for p in PHASES + ("total",)]
    rec = hist.record

    def histograms(n):
        for _ in range(n):
            t = pc()
            t0 = pc()
            t1 = pc()
            rec((t1 - t0) / 1e9, ae)
            t0 = pc()
            t1 = pc()
            rec((t1 - t0) / 1e9, ac)
            t0 = pc()
            t1 = pc()
            rec((t1 - t0) / 1e9, an)
            t0 = pc()
            t1 = pc()
            rec((t1 - t0) / 1e9, am)
            rec((pc() - t) / 1e9, at)

    def hist_count():
        data = reader.get_metrics_data()
        total = 0
        for rm in data.resource_metrics if data else ():
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    for point in metric.data.data_points:
                        total += point.count
        return total

    class Dropping(SpanExporter):
        """Counts the finished spans and drops them: nothing leaves the process."""

        def __init__(self):
            self.spans = 0

        def export(self, spans):
            self.spans += len(spans)
            return SpanExportResult.SUCCESS

        def shutdown(self):
            pass

    exporter = Dropping()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    span = provider.get_tracer("bench").start_as_current_span

    def spans(n):
        for _ in range(n):
            with span(OP):
                with span("extract"):
                    pass
                with span("convert"):
                    pass
                with span("network"):
                    pass
                with span("materialize"):
                    pass

    return histograms, hist_count, spans, lambda: exporter.spans


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

    timed, observed, prom_count = make_prometheus()
    prom_version = package_version("prometheus_client")
    deb_mod, deb_version = load_debian_prometheus(prom_version)
    otel_hist, otel_hist_count, otel_spans, otel_span_count = make_otel()
    cases = [
        Case("floor/perf_counter_ns_x10", "10 × time.perf_counter_ns() (the clock reads of one "
             "traced operation, from Python)", case_floor, clock_reads=10),
        Case("floor/lock_x5_perf_counter_ns_x10", "5 × `with` on a threading.Lock (one around "
             "four) + 10 × time.perf_counter_ns(): the floor of a context-manager API",
             case_lock_floor, clock_reads=10),
        Case("boundarytrace/pybind11", "bt.trace + 4 × t.phase, pybind11 backend", traced_loop,
             backend="native", clock_reads=10),
        Case("boundarytrace/ctypes", "bt.trace + 4 × t.phase, ctypes backend", traced_loop,
             backend="ctypes", clock_reads=10),
        Case("floor/ctypes_calls_x11", "the 11 ctypes calls of one traced op, bare (new_op, "
             "4 × begin/end, finish_timing, free): the least the ctypes backend can cost",
             make_ctypes_floor(), clock_reads=10),
        Case("prometheus/time", "prometheus_client %s: 5 × with Histogram.time() (the op "
             "around its 4 phases)" % prom_version, timed, clock_reads=10),
        Case("prometheus/observe", "prometheus_client %s: 10 × perf_counter_ns, 5 × "
             "Histogram.observe()" % prom_version, observed, clock_reads=10),
    ]
    deb_count = None
    if deb_mod is not None:
        deb_timed, _, deb_count = make_prometheus(deb_mod)
        cases.append(Case("prometheus_debian/time", "Debian's python3-prometheus-client %s: "
                          "5 × with Histogram.time()" % deb_version, deb_timed, clock_reads=10))
    cases += [
        Case("otel/histograms", "OpenTelemetry SDK: 10 × perf_counter_ns, 5 × "
             "Histogram.record with attributes (op, phase)", otel_hist, clock_reads=10),
        Case("otel/spans", "OpenTelemetry SDK: a span and 4 child spans "
             "(start_as_current_span)", otel_spans),
        Case("peer/dict_perf_counter_ns", "10 × perf_counter_ns into a bare dict (4 phases and "
             "the total, nothing aggregated)", case_dict, clock_reads=10),
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
    deb_before = deb_count() if deb_count else 0
    otel_before = (otel_hist_count(), otel_span_count())

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
            "%s %.0f ns" % (c.name, c.cpu[-1]) for c in cases[1:5])), flush=True)
    elapsed = time.time() - t_start

    # Every traced operation landed in the one global sink, whichever backend;
    # every prometheus observation in its histograms (warm-ups included).
    bt_ops = bt.snapshot().ops[OP].count - bt_before
    prom_ops = prom_count() - prom_before
    bt_want = by_name["boundarytrace/pybind11"].done + by_name["boundarytrace/ctypes"].done
    prom_want = 5 * (by_name["prometheus/time"].done + by_name["prometheus/observe"].done)
    got = {"boundarytrace_ops_recorded": (bt_ops, bt_want),
           "prometheus_observations": (prom_ops, prom_want),
           "otel_histogram_records": (otel_hist_count() - otel_before[0],
                                      5 * by_name["otel/histograms"].done),
           "otel_spans": (otel_span_count() - otel_before[1], 5 * by_name["otel/spans"].done)}
    if deb_count:
        got["prometheus_debian_observations"] = (deb_count() - deb_before,
                                                 5 * by_name["prometheus_debian/time"].done)
    bad = {k: v for k, v in got.items() if v[0] != v[1]}
    if bad:
        print("bench_ops.py: recorded (got, want): %s" % bad, file=sys.stderr)
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
        for name in ("boundarytrace/pybind11", "boundarytrace/ctypes", "prometheus/time",
                     "otel/histograms"):
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
            "prometheus_client_debian": deb_version,
            "opentelemetry_sdk": package_version("opentelemetry-sdk"),
            "pybind11": pybind11_version,
            "rounds": rounds,
            "batch_ms": batch_ms,
            "seconds": round(elapsed, 1),
            "smoke": args.smoke,
            "priority": args.priority,
            "timer": "time.thread_time_ns (CPU) and time.perf_counter_ns (wall) around each batch",
        },
        "checks": {k: v[0] for k, v in got.items()},
        "benchmarks": results,
        "profile": profile,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1) + "\n")
    print("wrote %s (ops)" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
