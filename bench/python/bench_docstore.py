#!/usr/bin/env python3
"""The demo's tracing share: docstore insert_many of 1,000 documents, traced vs
the same extension built with the compile-time off switch, in one run.

One docstore-server, started here; then --processes worker processes, one
after the other, each loading three builds of ``docstore._docstore``: the
traced one (from --traced, as ``docstore._docstore``), the one built with
``-C cmake.define.DOCSTORE_TRACING=OFF`` (BT_DISABLE_TRACING: every bt_* call
an inline no-op; from --off, under another module name), and, as a control, a
copy of the traced build (the same code, so its "share" is what the harness
reads when there is no difference). Each worker makes one client per module
and runs --rounds rounds of --calls calls per module; the three modules go in a
shuffled order for every call, each call alone on the clock (wall:
time.perf_counter_ns; CPU of the process, worker threads included:
time.process_time_ns). One Python thread, no busy thread: nothing but the
operation competes for the GIL.

    share = (median traced - median compiled out) / median traced

over all calls, with the spread across worker processes and a 95 % interval
that resamples whole processes; and paired: the median over all shuffled
triples of calls of (traced - compiled out) / traced, each triple's calls
back to back (a change of load on a shared machine hits them alike), with a
95 % interval that resamples whole processes too. The traced build imported
as the package is loaded first; the copy and the compiled-out build are
loaded alike (by file, under other names, in an order drawn per process), so
the paired share of that pair, (copy - compiled out) / copy, differs in
tracing only: it decides the 1 % goal (bench/report.py). Several processes, because where the loader
puts each module's code shifts its speed by a few per cent for the life of a
process (the control shows it); a fresh process draws a fresh layout. A share
far below that noise is read from ``_docstore.tracing_cost_ns()`` (the bt_*
calls one insert_many makes, timed in a loop) over the median traced time, and
from instruction counts.

With --instructions (run under callgrind by bench/python/run) it counts the
instructions per insert_many of each module instead, in this one process
(cgmarks.py; this process and its threads, not the server): repeatable where
timings are not.

Writes the 'demo' (or 'demo_instructions') part of the JSON file --out;
bench/report.py renders it.
"""

from __future__ import annotations

import argparse
import gc
import glob
import importlib.machinery
import importlib.util
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NAMES = ("traced", "off", "control")


def load_extension(name, directory):
    paths = glob.glob(os.path.join(directory, "docstore", "_docstore*.so"))
    if len(paths) != 1:
        raise SystemExit("bench_docstore.py: expected one docstore/_docstore*.so in %s, found %s"
                         % (directory, paths))
    loader = importlib.machinery.ExtensionFileLoader(name, paths[0])
    spec = importlib.util.spec_from_file_location(name, paths[0], loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def bt_symbols(so):
    """Undefined bt_* symbols of a shared object (what it calls in libboundarytrace)."""
    if not shutil.which("nm"):
        return None
    out = subprocess.run(["nm", "-D", "--undefined-only", so], capture_output=True, text=True).stdout
    return sorted(line.split()[-1] for line in out.splitlines() if line.split()[-1].startswith("bt_"))


def make_docs(size):
    # The demo's documents (examples/python_ext/demo.py, make_batch).
    return [
        {
            "batch": "bench",
            "thread": 0,
            "seq": i,
            "name": "user-0-0-%d" % i,
            "score": i * 0.5,
            "active": i % 3 != 0,
            "tags": ["demo", "size-%d" % size, i % 7],
            "address": {"city": "Lyon" if i % 2 else "Porto", "zip": 69000 + i % 100},
            "payload": bytes(16),
        }
        for i in range(size)
    ]


def summary(values):
    s = sorted(values)
    q = statistics.quantiles(s, n=4) if len(s) >= 2 else [s[0]] * 3
    return {"median": statistics.median(s), "q1": q[0], "q3": q[2], "min": s[0], "max": s[-1],
            "n": len(s)}


def share_of(traced, other):
    mt = statistics.median(traced)
    return (mt - statistics.median(other)) / mt


def paired(p, clock, other, base="traced"):
    """(base - other) / base of each shuffled triple of calls of one process: the calls of
    one triple ran back to back, so a change of load on the machine hits both alike."""
    return [(t - o) / t for t, o in zip(p[clock][base], p[clock][other])]


def paired_bootstrap(procs, clock, other, rng, resamples, base="traced"):
    """95 % interval of the paired share (the median over the triples), resampling whole
    worker processes (each keeps its layout of the modules' code)."""
    per = [paired(p, clock, other, base) for p in procs]
    k = len(per)
    shares = []
    for _ in range(resamples):
        shares.append(statistics.median([x for i in range(k) for x in per[rng.randrange(k)]]))
    shares.sort()
    return shares[int(0.025 * resamples)], shares[int(0.975 * resamples) - 1]


def count_instructions(args, modules, docstore, docs):
    """Instructions per insert_many of each module: blocks of calls in the order traced, off,
    control, control, off, traced (the lower of each module's two blocks kept)."""
    from cgmarks import Marks
    marks = Marks(args.cg_lib, args.cg_out)
    k = 1 if args.smoke else 5
    counts = {n: [] for n in modules}
    with docstore.start_server() as server:
        clients = {n: m.Client(server.host, server.port) for n, m in modules.items()}
        for _ in range(3):
            for n in clients:
                clients[n].insert_many(docs)
        for n in ("traced", "off", "control", "control", "off", "traced"):
            insert = clients[n].insert_many
            gc.collect()
            marks.zero()
            for _ in range(k):
                if insert(docs) != len(docs):
                    raise SystemExit("bench_docstore.py: insert_many stored a wrong count")
            counts[n].append(marks.dump(n) / k)
    per = {n: min(v) for n, v in counts.items()}
    return {"calls_per_block": k, "per_call": per, "each": counts,
            "share": (per["traced"] - per["off"]) / per["traced"],
            "control_share": (per["traced"] - per["control"]) / per["traced"]}


def load_modules(args):
    """Imports boundarytrace and the three builds; returns (bt, docstore, modules, symbols)."""
    sys.path.insert(0, os.path.abspath(args.traced))
    import boundarytrace as bt  # first: the library the traced extension shares
    import docstore
    if Path(docstore.__file__).resolve().parent.parent != Path(args.traced).resolve():
        raise SystemExit("bench_docstore.py: imported docstore from %s, not from --traced %s"
                         % (docstore.__file__, args.traced))
    traced_mod = docstore._docstore
    # The control: the traced build again, from a copy (dlopen loads a file once),
    # loaded like the compiled-out build (by file, under another name), the two in an
    # order drawn per process: the pair (copy, compiled out) differs in tracing only.
    tmp = tempfile.mkdtemp(prefix="bt-bench-docstore-")
    try:
        os.makedirs(os.path.join(tmp, "docstore"))
        shutil.copy2(traced_mod.__file__, os.path.join(tmp, "docstore"))
        if random.Random(args.seed).random() < 0.5:
            off_mod = load_extension("docstore_compiled_out._docstore", args.off)
            control_mod = load_extension("docstore_control._docstore", tmp)
        else:
            control_mod = load_extension("docstore_control._docstore", tmp)
            off_mod = load_extension("docstore_compiled_out._docstore", args.off)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    symbols = {"traced": bt_symbols(traced_mod.__file__), "off": bt_symbols(off_mod.__file__)}
    if symbols["off"]:
        raise SystemExit("bench_docstore.py: the compiled-out build calls %s" % symbols["off"])
    return bt, docstore, {"traced": traced_mod, "off": off_mod, "control": control_mod}, symbols


def worker(args):
    """One process's share of the calls, against the server at --host:--port; JSON on stdout."""
    bt, _, modules, symbols = load_modules(args)
    docs = make_docs(args.docs)
    rng = random.Random(args.seed)
    count0 = bt.snapshot().ops.get("insert_many")
    count0 = count0.count if count0 else 0
    wall = {n: [] for n in NAMES}
    cpu = {n: [] for n in NAMES}
    calls = {n: 0 for n in NAMES}
    pc, pt = time.perf_counter_ns, time.process_time_ns
    clients = {n: modules[n].Client(args.host, args.port) for n in NAMES}
    for _ in range(3):  # warm-up: connections, allocator, caches
        for n in NAMES:
            if clients[n].insert_many(docs) != len(docs):
                raise SystemExit("bench_docstore.py: insert_many stored a wrong count")
            calls[n] += 1
    order = list(NAMES)
    for _ in range(args.rounds):
        gc.collect()
        for _ in range(args.calls):
            rng.shuffle(order)
            for n in order:
                insert = clients[n].insert_many
                w0, c0 = pc(), pt()
                stored = insert(docs)
                c1, w1 = pt(), pc()
                if stored != len(docs):
                    raise SystemExit("bench_docstore.py: insert_many stored a wrong count")
                wall[n].append(w1 - w0)
                cpu[n].append(c1 - c0)
                calls[n] += 1
    # Only the traced builds recorded: the compiled-out one left the sink alone.
    recorded = bt.snapshot().ops["insert_many"].count - count0
    if recorded != calls["traced"] + calls["control"]:
        raise SystemExit("bench_docstore.py: the sink holds %d insert_many, the traced builds made "
                         "%d calls (the compiled-out build %d)" % (
                             recorded, calls["traced"] + calls["control"], calls["off"]))
    cost_ns = modules["traced"].tracing_cost_ns(20000 if args.smoke else 200000)
    json.dump({"wall": wall, "cpu": cpu, "calls": calls, "recorded": recorded,
               "tracing_cost_ns": cost_ns, "symbols": symbols,
               "modules": {n: m.__file__ for n, m in modules.items()}}, sys.stdout)
    return 0


def bootstrap(procs, clock, other, rng, resamples):
    """95 % interval of the share, resampling whole worker processes."""
    k = len(procs)
    shares = []
    for _ in range(resamples):
        pick = [procs[rng.randrange(k)] for _ in range(k)]
        t = [x for p in pick for x in p[clock]["traced"]]
        o = [x for p in pick for x in p[clock][other]]
        shares.append(share_of(t, o))
    shares.sort()
    return shares[int(0.025 * resamples)], shares[int(0.975 * resamples) - 1]


def parent(args):
    sys.path.insert(0, os.path.abspath(args.traced))
    import docstore  # its start_server(); the measuring happens in the workers
    me = os.path.abspath(__file__)
    common = ["--traced", args.traced, "--off", args.off, "--docs", str(args.docs),
              "--rounds", str(args.rounds), "--calls", str(args.calls)]
    if args.smoke:
        common.append("--smoke")
    procs = []
    t_start = time.time()
    with docstore.start_server() as server:
        for i in range(args.processes):
            cmd = [sys.executable, me, "--worker", "--host", server.host, "--port",
                   str(server.port), "--seed", str(args.seed + i)] + common
            res = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
            if res.returncode != 0:
                raise SystemExit("bench_docstore.py: worker %d failed (exit %d)" % (i, res.returncode))
            p = json.loads(res.stdout)
            procs.append(p)
            print("  process %d/%d: traced %.3f ms, compiled out %.3f ms, control %.3f ms "
                  "(medians, wall); CPU %.3f / %.3f / %.3f ms" % (
                      i + 1, args.processes, *(statistics.median(p["wall"][n]) / 1e6 for n in NAMES),
                      *(statistics.median(p["cpu"][n]) / 1e6 for n in NAMES)), flush=True)
        server_rss_kib = None
        try:
            for line in Path("/proc/%d/status" % server._proc.pid).read_text().splitlines():
                if line.startswith("VmRSS:"):
                    server_rss_kib = int(line.split()[1])
        except (OSError, AttributeError, ValueError):
            pass
    elapsed = time.time() - t_start

    rng = random.Random(args.seed)
    figures = {}
    for clock in ("wall", "cpu"):
        f = {}
        for n in NAMES:
            f[n + "_ns"] = summary([x for p in procs for x in p[clock][n]])
        for other, key in (("off", "share"), ("control", "control_share")):
            per = [share_of(p[clock]["traced"], p[clock][other]) for p in procs]
            f[key] = share_of([x for p in procs for x in p[clock]["traced"]],
                              [x for p in procs for x in p[clock][other]])
            f[key + "_ci95"] = list(bootstrap(procs, clock, other, rng,
                                              200 if args.smoke else 2000))
            f[key + "_per_process"] = summary(per)
            f[key + "_each_process"] = per
            f["paired_" + key] = statistics.median(
                [x for p in procs for x in paired(p, clock, other)])
            f["paired_" + key + "_ci95"] = list(paired_bootstrap(
                procs, clock, other, rng, 200 if args.smoke else 1000))
        # The traced build loaded the way the compiled-out one is (the copy, by file,
        # in a shuffled load order) against it: the pair that differs in tracing only.
        f["paired_copy_share"] = statistics.median(
            [x for p in procs for x in paired(p, clock, "off", "control")])
        f["paired_copy_share_ci95"] = list(paired_bootstrap(
            procs, clock, "off", rng, 200 if args.smoke else 1000, "control"))
        figures[clock] = f
    cost_ns = statistics.median(p["tracing_cost_ns"] for p in procs)
    t_med = figures["wall"]["traced_ns"]["median"]
    calls = {n: sum(p["calls"][n] for p in procs) for n in NAMES}
    out = Path(args.out)
    data = json.loads(out.read_text()) if out.exists() else {}
    data["demo"] = {
        "context": {
            "docs_per_call": args.docs,
            "processes": args.processes,
            "rounds_per_process": args.rounds,
            "calls_per_module_per_round": args.calls,
            "calls": calls,
            "seconds": round(elapsed, 1),
            "smoke": args.smoke,
            "modules": procs[0]["modules"],
            "bt_symbols_called": {k: (len(v) if v is not None else None)
                                  for k, v in procs[0]["symbols"].items()},
            "server_rss_kib": server_rss_kib,
            "recorded_by_traced_builds": sum(p["recorded"] for p in procs),
            "order": "traced, compiled out and control (a copy of the traced build) in a "
                     "shuffled order for every call; worker processes one after the other; "
                     "one server",
        },
        "wall": figures["wall"],
        "cpu": figures["cpu"],
        "tracing_cost_ns": cost_ns,
        "tracing_cost_share": cost_ns / t_med,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1) + "\n")
    w = figures["wall"]
    print("insert_many of %d documents: traced %.3f ms, compiled out %.3f ms (medians of %d calls "
          "each): share %+.2f %% (95 %% interval %+.2f %% .. %+.2f %%; control %+.2f %%, "
          "%+.2f %% .. %+.2f %%); bt_* calls alone %.0f ns = %.3f %%" % (
              args.docs, w["traced_ns"]["median"] / 1e6, w["off_ns"]["median"] / 1e6,
              w["traced_ns"]["n"], 100 * w["share"], 100 * w["share_ci95"][0],
              100 * w["share_ci95"][1], 100 * w["control_share"],
              100 * w["control_share_ci95"][0], 100 * w["control_share_ci95"][1],
              cost_ns, 100 * cost_ns / t_med))
    print("paired (wall): share %+.2f %% (95 %% interval %+.2f %% .. %+.2f %%; control %+.2f %%, "
          "%+.2f %% .. %+.2f %%)" % (
              100 * w["paired_share"], 100 * w["paired_share_ci95"][0],
              100 * w["paired_share_ci95"][1], 100 * w["paired_control_share"],
              100 * w["paired_control_share_ci95"][0], 100 * w["paired_control_share_ci95"][1]))
    print("paired, the traced copy (loaded like the compiled-out build) vs compiled out: "
          "%+.2f %% (95 %% interval %+.2f %% .. %+.2f %%)" % (
              100 * w["paired_copy_share"], 100 * w["paired_copy_share_ci95"][0],
              100 * w["paired_copy_share_ci95"][1]))
    print("wrote %s (demo)" % out)
    return 0


def instructions(args):
    _, docstore, modules, _ = load_modules(args)
    out = Path(args.out)
    data = json.loads(out.read_text()) if out.exists() else {}
    ins = count_instructions(args, modules, docstore, make_docs(args.docs))
    data["demo_instructions"] = ins
    out.write_text(json.dumps(data, indent=1) + "\n")
    print("instructions per insert_many: traced %.0f, compiled out %.0f, control %.0f: "
          "share %+.3f %%, control %+.3f %%" % (
              ins["per_call"]["traced"], ins["per_call"]["off"], ins["per_call"]["control"],
              100 * ins["share"], 100 * ins["control_share"]))
    print("wrote %s (demo_instructions)" % out)
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="JSON file to update (its 'demo' part)")
    ap.add_argument("--traced", required=True, help="pip --target dir of the traced docstore")
    ap.add_argument("--off", required=True, help="pip --target dir of the DOCSTORE_TRACING=OFF build")
    ap.add_argument("--docs", type=int, default=1000, help="documents per insert_many (1000)")
    ap.add_argument("--processes", type=int, default=None,
                    help="worker processes, one after the other (default 96; --smoke 2)")
    ap.add_argument("--rounds", type=int, default=None,
                    help="rounds per process (default 3; --smoke 1)")
    ap.add_argument("--calls", type=int, default=None,
                    help="calls of each module per round (default 8; --smoke 2)")
    ap.add_argument("--smoke", action="store_true", help="a few calls: does it run?")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--instructions", action="store_true",
                    help="count instructions per call (under callgrind; see cgmarks.py)")
    ap.add_argument("--cg-lib", help="the built cg_marks.c (with --instructions)")
    ap.add_argument("--cg-out", help="callgrind's --callgrind-out-file (with --instructions)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--host", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.processes = args.processes or (2 if args.smoke else 96)
    args.rounds = args.rounds or (1 if args.smoke else 3)
    args.calls = args.calls or (2 if args.smoke else 8)
    if args.worker:
        return worker(args)
    if not args.out:
        ap.error("--out is required")
    if args.instructions:
        return instructions(args)
    return parent(args)


if __name__ == "__main__":
    sys.exit(main())
