#!/usr/bin/env python3
"""Worker churn, side by side: prometheus_client's multiprocess mode and
boundarytrace's shared directory, read after 0 and after --restarts worker
restarts.

For each library two directories under /dev/shm (mkdtemp, mode 0700, removed
at the end):

  none   --live live workers only;
  churn  --restarts workers first, one after the other (each forked from this
         process, records, exits), then the same --live live workers.

A worker records the same figures in both libraries: for each of 4 operation
names, 2 operations. prometheus_client (PROMETHEUS_MULTIPROC_DIR = the
directory): a Histogram (label op, the default buckets) observes the total and
a Counter (label op) counts it; after each worker exits this process calls
``multiprocess.mark_process_dead(pid)``, as prometheus_client's docs tell a
gunicorn ``child_exit`` hook to. boundarytrace: ``bt.Metrics.open_shared(dir)``
and ``Metrics.record`` of the total and its four phases. Live workers stay
alive (blocked on a pipe) until the end, so both directories have the same
live processes.

Then it times, in shuffled interleaved rounds, the read a /metrics endpoint
makes of each directory: prometheus_client ``generate_latest`` of a
``CollectorRegistry`` holding a ``MultiProcessCollector``; boundarytrace
``bt.read_shared(dir)`` (the merge) and ``bt.read_shared(dir).export(
"prometheus")`` (merge and the text exposition). Figures are medians over the
rounds of the CPU time per read (``time.thread_time_ns``), wall time beside;
ratios churn / none per library; and the directories' file counts.

Writes the 'shared_churn' part of the JSON file --out; bench/report.py
renders it (docs/performance.md, "Shared sink (many processes)").
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

OPS = ("svc.get", "svc.put", "svc.list", "svc.delete")
RECORDS_PER_OP = 2
PHASES_NS = (4000, 30000, 700000, 15000)  # extract, convert, network, materialize


def totals(seed, k):
    s = 1 + (seed * 7 + k * 3) % 8
    phases = tuple(p * s for p in PHASES_NS)
    return phases, 760000 * s


# --- workers -----------------------------------------------------------------------

def prom_worker(directory, seed, hist, counter):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory  # read when a value is made
    for k in range(RECORDS_PER_OP):
        for op in OPS:
            _, total = totals(seed, k)
            hist.labels(op=op).observe(total / 1e9)
            counter.labels(op=op).inc()


_KEEP = []  # a worker's sink lives as long as the worker (freeing it gives its slot up)
_HOLD_WRITERS = []  # write ends of the live workers' pipes: no child may keep one open


def bt_worker(directory, seed):
    import boundarytrace as bt
    m = bt.Metrics.open_shared(directory)
    _KEEP.append(m)
    for k in range(RECORDS_PER_OP):
        for op in OPS:
            phases, total = totals(seed, k)
            m.record(op, total, phases={p: ns for p, ns in enumerate(phases)}, items=10)


def fork_worker(fn, hold=None):
    """Runs fn() in a forked child. With `hold` (a pipe's read end) the child then
    waits for EOF on it (a live worker); returns (pid, ready fd) or pid."""
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            for fd in _HOLD_WRITERS:
                os.close(fd)
            os.close(ready_r)
            fn()
            os.write(ready_w, b"r")
            if hold is not None:
                while os.read(hold, 1):
                    pass
        except BaseException as e:  # noqa: BLE001 - a child reports and leaves
            print("bench_shared_churn.py: worker failed: %r" % (e,), file=sys.stderr)
            code = 2
        os._exit(code)
    os.close(ready_w)
    ok = os.read(ready_r, 1) == b"r"
    os.close(ready_r)
    return pid, ok


def wait(pid):
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


class Directory:
    """One directory: `restarts` workers one after the other, then `live` live ones."""

    def __init__(self, lib, label, restarts, live, hist=None, counter=None):
        self.lib, self.label, self.restarts = lib, label, restarts
        self.path = tempfile.mkdtemp(prefix="bt-bench-%s-%s-" % (lib, label), dir="/dev/shm")
        self.live = []
        if lib == "prometheus":
            from prometheus_client import multiprocess
            work = lambda seed: prom_worker(self.path, seed, hist, counter)  # noqa: E731
        else:
            work = lambda seed: bt_worker(self.path, seed)  # noqa: E731
        t0 = time.perf_counter_ns()
        for i in range(restarts):
            pid, ok = fork_worker(lambda: work(i))
            if not (wait(pid) and ok):
                raise SystemExit("bench_shared_churn.py: a %s worker failed" % lib)
            if lib == "prometheus":
                multiprocess.mark_process_dead(pid, self.path)
        self.restart_ns = (time.perf_counter_ns() - t0) / restarts if restarts else 0
        self.hold_r, self.hold_w = os.pipe()
        _HOLD_WRITERS.append(self.hold_w)
        for i in range(live):
            pid, ok = fork_worker(lambda: work(restarts + i), hold=self.hold_r)
            if not ok:
                raise SystemExit("bench_shared_churn.py: a live %s worker failed" % lib)
            self.live.append(pid)
        os.close(self.hold_r)
        self.files = len(os.listdir(self.path))
        self.bytes = sum(os.path.getsize(os.path.join(self.path, f)) for f in os.listdir(self.path))

    def close(self):
        _HOLD_WRITERS.remove(self.hold_w)
        os.close(self.hold_w)  # the live workers see EOF and leave
        for pid in self.live:
            wait(pid)
        shutil.rmtree(self.path, ignore_errors=True)


# --- reads -------------------------------------------------------------------------

class Case:
    def __init__(self, name, what, fn, directory):
        self.name, self.what, self.fn, self.dir = name, what, fn, directory
        self.n = 1
        self.cpu, self.wall = [], []

    def batch(self, n):
        c0, w0 = time.thread_time_ns(), time.perf_counter_ns()
        for _ in range(n):
            self.fn()
        return (time.thread_time_ns() - c0) / n, (time.perf_counter_ns() - w0) / n

    def calibrate(self, target_ns):
        self.batch(1)  # warm-up
        cpu, _ = self.batch(1)
        self.n = max(1, int(target_ns / max(cpu, 1)))


def summary(xs):
    xs = sorted(xs)
    if len(xs) >= 2:
        q = statistics.quantiles(xs, n=4)
        q1, q3 = q[0], q[2]
    else:
        q1 = q3 = xs[0]
    return {"median": statistics.median(xs), "q1": q1, "q3": q3, "min": xs[0], "max": xs[-1]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="JSON file to update (its 'shared_churn' part)")
    ap.add_argument("--restarts", type=int, default=None, help="worker restarts (default 1000; "
                    "--smoke 50)")
    ap.add_argument("--live", type=int, default=4, help="live workers in every directory")
    ap.add_argument("--rounds", type=int, default=None, help="rounds (default 15; --smoke 2)")
    ap.add_argument("--batch-ms", type=float, default=None, help="per batch (default 50; --smoke 2)")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args(argv)
    restarts = args.restarts if args.restarts is not None else (50 if args.smoke else 1000)
    rounds = args.rounds or (2 if args.smoke else 15)
    batch_ms = args.batch_ms or (2.0 if args.smoke else 50.0)

    # prometheus_client picks its multiprocess value class at import, when
    # PROMETHEUS_MULTIPROC_DIR is set; each worker then points it at its own
    # directory before it makes a value. This process writes no value.
    placeholder = tempfile.mkdtemp(prefix="bt-bench-prometheus-parent-", dir="/dev/shm")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = placeholder
    try:
        return run(args, restarts, rounds, batch_ms)
    finally:
        shutil.rmtree(placeholder, ignore_errors=True)


def run(args, restarts, rounds, batch_ms):
    import prometheus_client
    from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
    from prometheus_client import multiprocess
    import boundarytrace as bt

    missing = [n for n in ("read_shared",) if not hasattr(bt, n)]
    if missing or not hasattr(bt.Metrics, "open_shared"):
        print("bench_shared_churn.py: this boundarytrace has no read_shared / "
              "Metrics.open_shared: skipped", file=sys.stderr)
        return 0

    # Labelled metrics made here, in the parent (a preloaded app): their values,
    # and so their files, are made in each worker, in its own directory.
    hist = Histogram("svc_latency_seconds", "Operation latency", ["op"], registry=None)
    counter = Counter("svc_ops", "Operations", ["op"], registry=None)

    t_build = time.time()
    dirs = {}
    try:
        for lib in ("prometheus", "boundarytrace"):
            for label, n in (("none", 0), ("churn", restarts)):
                print("  %s: %s restarts, then %d live workers" % (lib, n, args.live), flush=True)
                dirs[(lib, label)] = Directory(lib, label, n, args.live, hist, counter)
        build_s = time.time() - t_build

        def prom_read(path):
            def read():
                reg = CollectorRegistry()
                multiprocess.MultiProcessCollector(reg, path=path)
                return generate_latest(reg)
            return read

        def bt_merge(path):
            return lambda: bt.read_shared(path)

        def bt_export(path):
            return lambda: bt.read_shared(path).export("prometheus")

        cases = []
        for label in ("none", "churn"):
            p = dirs[("prometheus", label)].path
            b = dirs[("boundarytrace", label)].path
            cases.append(Case("prometheus/%s" % label, "prometheus_client: generate_latest of a "
                              "MultiProcessCollector", prom_read(p), label))
            cases.append(Case("boundarytrace_merge/%s" % label, "boundarytrace: bt.read_shared",
                              bt_merge(b), label))
            cases.append(Case("boundarytrace_export/%s" % label, "boundarytrace: "
                              "bt.read_shared(dir).export(\"prometheus\")", bt_export(b), label))

        # What each read finds: the right counts, every worker's figures.
        workers = {"none": args.live, "churn": restarts + args.live}
        checks = {}
        for label in ("none", "churn"):
            text = generate_latest_text(prom_read(dirs[("prometheus", label)].path)())
            want = workers[label] * RECORDS_PER_OP
            got = prom_count(text, "svc_ops_total", "svc.get")
            s = bt.read_shared(dirs[("boundarytrace", label)].path)
            checks[label] = {"prometheus_svc_get": got, "boundarytrace_svc_get": s.ops["svc.get"].count,
                             "boundarytrace_processes": s.processes, "want": want}
            if got != want or s.ops["svc.get"].count != want:
                print("bench_shared_churn.py: counts after %s: %r" % (label, checks[label]),
                      file=sys.stderr)
                return 1

        for c in cases:
            c.calibrate(batch_ms * 1e6)
        rng = random.Random(args.seed)
        order = list(cases)
        for r in range(rounds):
            rng.shuffle(order)
            for c in order:
                cpu, wall = c.batch(c.n)
                c.cpu.append(cpu)
                c.wall.append(wall)
            print("  round %d/%d: %s" % (r + 1, rounds, ", ".join(
                "%s %.0f µs" % (c.name, c.cpu[-1] / 1e3) for c in cases)), flush=True)

        data = json.loads(Path(args.out).read_text()) if Path(args.out).exists() else {}
        data["shared_churn"] = {
            "context": {
                "python": sys.version.split()[0],
                "boundarytrace": bt.__version__,
                "backend": getattr(bt, "backend", ""),
                "prometheus_client": getattr(prometheus_client, "__version__", "")
                or _dist_version("prometheus_client"),
                "restarts": restarts,
                "live_workers": args.live,
                "ops_per_worker": len(OPS),
                "records_per_op": RECORDS_PER_OP,
                "rounds": rounds,
                "batch_ms": batch_ms,
                "build_seconds": round(build_s, 1),
                "smoke": args.smoke,
                "timer": "time.thread_time_ns (CPU) and time.perf_counter_ns (wall) per batch",
            },
            "directories": {
                "%s/%s" % k: {"files": d.files, "bytes": d.bytes, "restarts": d.restarts,
                              "ms_per_restart": d.restart_ns / 1e6}
                for k, d in dirs.items()
            },
            "checks": checks,
            "cases": [{"name": c.name, "what": c.what, "reads_per_batch": c.n,
                       "cpu_ns": summary(c.cpu), "wall_ns": summary(c.wall),
                       "cpu_each": c.cpu, "wall_each": c.wall} for c in cases],
        }
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(data, indent=1) + "\n")
        print("wrote %s (shared_churn)" % args.out)
    finally:
        for d in dirs.values():
            d.close()
    return 0


def generate_latest_text(b):
    return b.decode() if isinstance(b, bytes) else b


def prom_count(text, metric, op):
    for line in text.splitlines():
        if line.startswith(metric + "{") and 'op="%s"' % op in line:
            return int(float(line.rsplit(" ", 1)[1]))
    return None


def _dist_version(name):
    try:
        from importlib import metadata
        return metadata.version(name)
    except Exception:  # noqa: BLE001
        return ""


if __name__ == "__main__":
    sys.exit(main())
