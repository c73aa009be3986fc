#!/usr/bin/env python3
"""Turns the benchmark results of bench/run into docs/performance.md.

Python 3 standard library only. Subcommands (bench/run calls each):

  machine --build DIR           facts about this machine and build, as JSON
  note RESULTS_DIR KEY VALUE    adds a fact about the run to RESULTS_DIR/machine.json
  compiled-out OBJECT           nm/objdump evidence for the compile-time switch, as JSON
  compiled-out-summary FILE     one line from that JSON
  summary RESULT.json           short table of one benchmark file; fails on errors
  control-ok RESULT.json        exit 0 when the scaling controls reached the scaling goal
  run-stamp --build DIR         one line: date, commit, load (a partial re-run's note)
  render RESULTS_DIR OUT.md     writes the markdown report
  targets RESULTS_DIR           prints the targets table
  python-summary PYTHON.json    short table of bench/python/run's results

Every ratio is computed from figures of one run. Single-thread figures are the
benchmark thread's CPU time (median over repetitions), which a shared machine
disturbs less than wall time; scaling figures are wall-time rates, as asked.
"""

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
from pathlib import Path

# --- targets (docs/performance.md shows each beside its measurement) ----------

FLOOR_RATIO_MAX = 1.5        # full four-phase op / the raw clock reads it needs
SEED_SPEEDUP_MIN = 2.0       # seed-design full op / boundarytrace full op
RECORD_SCALING_MIN = 1.8     # records/s with 2 threads / with 1 thread
OFF_SWITCH_MAX_NS = 2.0      # per call while disabled at run time
MEMORY_PER_OP_THREAD_MAX = 16 * 1024  # bytes per operation and thread
SHARED_OP_RATIO_MAX = 1.1    # full op into the shared sink / into the in-heap sink
SHARED_SCALING_MIN = 1.8     # records/s, 2 threads (processes) / 1, one shared sink
SHARED_MERGE_RATIO_MAX = 1.2  # merge after 10,000 worker restarts / after none
FLEET_SCRAPE_MAX_NS = 50e6    # merge of the 32-process shared directory + export (issue 15)
EXPORT_GROWTH_MAX = 10.0      # time per 10x more operations: linear or better (issue 15)
PEER_CPP_SPEEDUP_MIN = 3.0    # prometheus-cpp's four-phase op / boundarytrace's (issue 15)

CALLS_PER_OP = 11  # new, 4 x (begin, end), finish, free
CLOCK_READS_PER_OP = 10


def run(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    except OSError:
        return ""


# --- machine -------------------------------------------------------------------

def lscpu():
    facts = {}
    for line in run(["lscpu"]).splitlines():
        key, sep, value = line.partition(":")
        if sep:
            facts.setdefault(key.strip(), value.strip())
    return facts


def cmake_cache(build, key):
    try:
        for line in Path(build, "CMakeCache.txt").read_text().splitlines():
            if line.startswith(key + ":"):
                return line.split("=", 1)[1]
    except OSError:
        pass
    return ""


def cmd_machine(args):
    cpu = lscpu()
    root = Path(__file__).resolve().parent.parent
    compiler = cmake_cache(args.build, "CMAKE_CXX_COMPILER")
    os_name = ""
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    commit = run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"]).strip()
    if commit and run(["git", "-C", str(root), "status", "--porcelain"]).strip():
        commit += " + uncommitted changes"
    clocksource = ""
    try:
        clocksource = Path(
            "/sys/devices/system/clocksource/clocksource0/current_clocksource").read_text().strip()
    except OSError:
        pass
    facts = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_model": cpu.get("Model name", platform.processor()),
        "cpus": cpu.get("CPU(s)", str(os.cpu_count())),
        "cores_per_socket": cpu.get("Core(s) per socket", ""),
        "threads_per_core": cpu.get("Thread(s) per core", ""),
        "hypervisor": cpu.get("Hypervisor vendor", ""),
        "kernel": platform.release(),
        "kernel_clocksource": clocksource,
        "os": os_name,
        "compiler": run([compiler, "--version"]).splitlines()[0] if compiler else "",
        "build_type": cmake_cache(args.build, "CMAKE_BUILD_TYPE"),
        "commit": commit,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    json.dump(facts, sys.stdout, indent=2)
    print()


def cmd_note(args):
    path = Path(args.results, "machine.json")
    facts = json.loads(path.read_text())
    facts[args.key] = args.value
    path.write_text(json.dumps(facts, indent=2) + "\n")


# --- compile-time switch ----------------------------------------------------------

NO_CODE = re.compile(r"^(ret[qlw]?|repz ret[q]?|rep ret|endbr64|nop\w*(\s.*)?)$")


def cmd_compiled_out(args):
    obj = args.object
    symbols = [line.split()[-1] for line in run(["nm", obj]).splitlines() if line.strip()]
    undefined = [line.split()[-1] for line in run(["nm", "-u", obj]).splitlines() if line.strip()]
    bt_symbols = sorted(s for s in symbols if re.match(r"_*bt_", s))
    disasm = run(["objdump", "-d", "--no-show-raw-insn", "--disassemble=bench_compiled_out_ops", obj])
    insns = []
    for line in disasm.splitlines():
        m = re.match(r"^\s+[0-9a-f]+:\s+(.*?)\s*$", line)
        if m:
            insns.append(re.sub(r"\s+", " ", m.group(1)))
    out = {
        "object": obj,
        "bt_symbols": bt_symbols,
        "undefined_symbols": undefined,
        "function": "bench_compiled_out_ops",
        "instructions": insns,
        "no_bt_symbol": not bt_symbols,
        "no_code": bool(insns) and all(NO_CODE.match(i) for i in insns),
    }
    json.dump(out, sys.stdout, indent=2)
    print()


def cmd_compiled_out_summary(args):
    c = json.loads(Path(args.file).read_text())
    print("bt_ symbols referenced: %s; bench_compiled_out_ops compiles to: %s -> %s" % (
        ", ".join(c["bt_symbols"]) or "none", "; ".join(c["instructions"]) or "(not found)",
        "no code" if c["no_code"] and c["no_bt_symbol"] else "CODE LEFT"))
    return 0 if c["no_code"] and c["no_bt_symbol"] else 1


# --- benchmark results ---------------------------------------------------------------

class Results:
    """Median (or single-run) figures per run_name of the Google Benchmark JSON files."""

    def __init__(self, directory, files=None):
        self.dir = Path(directory)
        self.runs = {}
        self.context = {}
        self.errors = []
        for path in files if files is not None else sorted(self.dir.glob("bench_*.json")):
            self._load(path)

    def _load(self, path):
        data = json.loads(path.read_text())
        self.context.setdefault(path.stem, data.get("context", {}))
        singles = {}
        for b in data.get("benchmarks", []):
            if b.get("error_occurred"):
                self.errors.append("%s: %s" % (b.get("name"), b.get("error_message")))
                continue
            name = b["run_name"]
            if b.get("run_type") == "aggregate":
                agg = b.get("aggregate_name")
                if agg in ("median", "cv"):
                    self.runs.setdefault(name, {})[agg] = b
            else:
                singles.setdefault(name, []).append(b)
        for name, bs in singles.items():
            entry = self.runs.setdefault(name, {})
            entry["each"] = bs
            if "median" not in entry:  # no repetitions: use the single run
                entry["median"] = bs[len(bs) // 2]

    def has(self, name):
        return name in self.runs

    def get(self, name, field="cpu_time"):
        b = self.runs[name]["median"]
        value = b[field]
        if field in ("cpu_time", "real_time"):
            value *= {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
        return value

    def cv(self, name, field="cpu_time"):
        c = self.runs.get(name, {}).get("cv")
        return c.get(field) if c else None

    def per_round(self, a, b, field="cpu_time"):
        """a / b in each round of interleaved repetitions (paired by repetition_index: one
        round runs every benchmark once, in random order), or [] without repetitions."""
        def by_round(name):
            return {x.get("repetition_index"): x[field] for x in self.runs.get(name, {}).get("each", [])
                    if x.get("repetition_index") is not None}
        ra, rb = by_round(a), by_round(b)
        return [ra[k] / rb[k] for k in sorted(ra) if k in rb and rb[k]]

    def best(self, name, field="items_per_second"):
        """The highest value over the repetitions (for rates: the least disturbed one)."""
        return max(b[field] for b in self.runs[name].get("each", [self.runs[name]["median"]]))

    def repetitions(self, name):
        return self.runs[name]["median"].get("repetitions", 1)


def fmt_ns(ns):
    if ns >= 1e6:
        return "%.2f ms" % (ns / 1e6)
    if ns >= 1e4:
        return "%.1f µs" % (ns / 1e3)
    if ns >= 100:
        return "%.0f ns" % ns
    if ns >= 10:
        return "%.1f ns" % ns
    return "%.2f ns" % ns


def fmt_bytes(b):
    if abs(b) < 1024:
        return "%.0f B" % b
    if abs(b) < 1024 * 1024:
        return "%.2f KiB" % (b / 1024)
    return "%.2f MiB" % (b / (1024 * 1024))


def fmt_rate(r):
    return "%.2f M/s" % (r / 1e6)


def fmt_cv(cv):
    return "" if cv is None else "%.0f%%" % (cv * 100)


def verdict(ok):
    if ok is None:
        return "**not measurable in this run** (see Scaling)"
    return "**met**" if ok else "**missed**"


def scaling_ratio(r, path, best=False):
    """rate(2 threads) / rate(1 thread) of `path` (median, or best repetitions), or None."""
    one, two = path + "/real_time/threads:1", path + "/real_time/threads:2"
    if not (r.has(one) and r.has(two)):
        return None
    if best:
        return r.best(two) / r.best(one)
    return r.get(two, "items_per_second") / r.get(one, "items_per_second")


def control_ratio(r, best=False):
    return scaling_ratio(r, "control/private_work", best)


def judged_scaling(ratio_of, control_of):
    """(median ratio, measured note, ok) for a scaling goal beside its control: the
    medians; when they miss and the control's median shows the machine did not give
    two cores, the least disturbed repetitions, provided the control reached the
    goal there (None: not measurable in this run)."""
    ratio, control = ratio_of(False), control_of(False)
    note = "%.2f×" % ratio
    ok = ratio >= SHARED_SCALING_MIN
    if control is not None:
        note += " (control %.2f×)" % control
        if not ok and control < SHARED_SCALING_MIN:
            best, best_control = ratio_of(True), control_of(True)
            note += "; best repetitions %.2f× (control %.2f×)" % (best, best_control)
            ok = best >= SHARED_SCALING_MIN if best_control >= SHARED_SCALING_MIN else None
    return ratio, note, ok


# --- targets ---------------------------------------------------------------------------

def by_name_note(r):
    """What the by-name operation pays over the bound one, in this run."""
    bound, by_name = "op/full/boundarytrace_bound", "op/full/boundarytrace_by_name"
    if not (r.has(bound) and r.has(by_name)):
        return []
    diff = r.get(by_name) - r.get(bound)
    if diff >= 0:
        timed = "%s more per operation in this run" % fmt_ns(diff)
    else:
        # The check costs less than the run-to-run spread: say so rather than
        # print a negative cost.
        timed = "%s less per operation in this run, inside its spread" % fmt_ns(-diff)
    cg_bound, cg_name = read_callgrind(r.dir, "bound"), read_callgrind(r.dir, "by_name")
    if cg_bound and cg_name:
        timed += " (instructions, which do not move with the load: %.0f against %.0f)" % (
            cg_name[0] / cg_name[2], cg_bound[0] / cg_bound[2])
    return ["By name versus bound handle: %s. "
            "`bt_tracer_new` checks the caller's name on every call against the thread's last "
            "lookup: the pointer, then the text, in aligned 8-byte words, since a buffer at the same address "
            "may hold another name by now. A bound handle (`bt_op_lookup` once, "
            "`bt_tracer_new_op` per operation) skips the check; hot paths should bind." % timed, ""]


def round_spread(rounds):
    """" (per round lo–hi×, n rounds)": the spread behind a ratio of medians."""
    if len(rounds) < 2:
        return ""
    return " (per round %.2f–%.2f×, %d rounds)" % (min(rounds), max(rounds), len(rounds))


def targets(r, directory):
    """Rows: (target, measured, goal, met)."""
    rows = []
    floor = "floor/library_clock_x10"
    if r.has(floor):
        f = r.get(floor)
        for name, label in (("op/full/boundarytrace_bound", "bound handle"),
                            ("op/full/boundarytrace_by_name", "by name")):
            if r.has(name):
                ratio = r.get(name) / f
                rows.append(("Full four-phase op (%s) / the 10 raw clock reads it needs" % label,
                             "%s / %s = %.2f×%s" % (fmt_ns(r.get(name)), fmt_ns(f), ratio,
                                                    round_spread(r.per_round(name, floor))),
                             "≤ %.1f×" % FLOOR_RATIO_MAX, ratio <= FLOOR_RATIO_MAX))
    seed = "op/full/seed_baseline"
    if r.has(seed):
        s = r.get(seed)
        for name, label in (("op/full/boundarytrace_bound", "bound handle"),
                            ("op/full/boundarytrace_by_name", "by name")):
            if r.has(name):
                speedup = s / r.get(name)
                rows.append(("Speed-up over the seed design, full op with per-op histograms (%s)"
                             % label,
                             "%s / %s = %.2f×%s" % (fmt_ns(s), fmt_ns(r.get(name)), speedup,
                                                    round_spread(r.per_round(seed, name))),
                             "≥ %.1f×" % SEED_SPEEDUP_MIN, speedup >= SEED_SPEEDUP_MIN))
    ratio = scaling_ratio(r, "record/boundarytrace")
    if ratio is not None:
        one = "record/boundarytrace/real_time/threads:1"
        two = "record/boundarytrace/real_time/threads:2"
        measured = "%s / %s = %.2f×" % (fmt_rate(r.get(two, "items_per_second")),
                                         fmt_rate(r.get(one, "items_per_second")), ratio)
        ok = ratio >= RECORD_SCALING_MIN
        control = control_ratio(r)
        if control is not None:
            measured += " (parallel control %.2f×)" % control
            if not ok and control < RECORD_SCALING_MIN:
                # The machine did not give the two threads a core each most of
                # the time; judge on the least disturbed repetitions instead.
                best, best_control = scaling_ratio(r, "record/boundarytrace", True), control_ratio(r, True)
                measured += "; best repetitions %.2f× (control %.2f×)" % (best, best_control)
                ok = best >= RECORD_SCALING_MIN if best_control >= RECORD_SCALING_MIN else None
        rows.append(("Record step: records/s with 2 threads / 1 thread (one operation)",
                     measured, "≥ %.1f×" % RECORD_SCALING_MIN, ok))
    for name, calls, label in (("offswitch/runtime_full_op", CALLS_PER_OP, "full op, 11 calls"),
                               ("offswitch/runtime_begin_end_pair", 2, "begin+end pair")):
        if r.has(name):
            per = r.get(name) / calls
            rows.append(("Run-time off switch, per call (%s)" % label, fmt_ns(per),
                         "≤ %.0f ns" % OFF_SWITCH_MAX_NS, per <= OFF_SWITCH_MAX_NS))
    co = Path(directory, "compiled_out.json")
    if co.exists():
        c = json.loads(co.read_text())
        ok = c["no_code"] and c["no_bt_symbol"]
        rows.append(("Compile-time off switch: no bt_ symbol, traced loop compiles to nothing",
                     "bt_ symbols: %s; code: `%s`" % (len(c["bt_symbols"]),
                                                      "; ".join(c["instructions"])),
                     "no code", ok))
    mem = "memory/one_record_per_thread/iterations:1/repeats:1"
    if r.has(mem):
        b = r.get(mem, "op_per_thread_bytes")
        rows.append(("Memory per operation and thread (one record per thread)", fmt_bytes(b),
                     "≤ 16 KiB", b <= MEMORY_PER_OP_THREAD_MAX))
    wide = "memory/wide_distribution_per_thread/iterations:1/repeats:1"
    if r.has(wide):
        b = r.get(wide, "op_per_thread_bytes")
        rows.append(("Memory per operation and thread (phases spread over 1 µs – 1 s)",
                     fmt_bytes(b), "≤ 16 KiB", b <= MEMORY_PER_OP_THREAD_MAX))
    rows += shared_targets(r)
    rows += export_targets(r)
    rows += peers_targets(r)
    rows += python_targets(directory)
    return rows


# --- peers (issue 15): prometheus-cpp beside boundarytrace, bench_peers ------------------

PEER_BT = "peers/op/boundarytrace_bound"
PEER_PROM = "peers/op/prometheus_cpp"
PEER_CONTROL = "peers/control/private_work"


def peers_targets(r):
    rows = []
    if r.has(PEER_BT) and r.has(PEER_PROM):
        bt, prom = r.get(PEER_BT), r.get(PEER_PROM)
        rows.append(("Peers (C++): full four-phase op, prometheus-cpp (steady_clock, 5 × "
                     "`Histogram::Observe` on bound children) / boundarytrace (bound handle)",
                     "%s / %s = %.2f× faster%s" % (fmt_ns(prom), fmt_ns(bt), prom / bt,
                                                   round_spread(r.per_round(PEER_PROM, PEER_BT))),
                     "≥ %.0f× faster" % PEER_CPP_SPEEDUP_MIN, prom / bt >= PEER_CPP_SPEEDUP_MIN))
    bt_path = "peers/scaling/boundarytrace_bound"
    prom_path = "peers/scaling/prometheus_cpp"
    if scaling_ratio(r, bt_path) is not None:
        _, note, ok = judged_scaling(lambda best: scaling_ratio(r, bt_path, best),
                                     lambda best: scaling_ratio(r, PEER_CONTROL, best))
        prom = scaling_ratio(r, prom_path)
        if prom is not None:
            note += "; prometheus-cpp %.2f× (best repetitions %.2f×)" % (
                prom, scaling_ratio(r, prom_path, True))
        rows.append(("Peers (C++): full traced op/s, 2 threads / 1 thread into one operation, "
                     "boundarytrace (prometheus-cpp beside it)", note,
                     "≥ %.1f×" % SHARED_SCALING_MIN, ok))
    return rows


# Measured by hand (not by bench/run) on 2026-12-07, with the build of commit 875c81c.
PEER_CPP_SPREAD_NOTE = (
    "on this machine the same bench_peers binary gave prometheus-cpp's op 265–286 ns run alone "
    "or interleaved with the single-thread runs only, and 309–345 ns interleaved with the "
    "two-thread runs, as bench/run runs it (boundarytrace's op: 108–116 ns either way), so the "
    "ratio is 2.5× or 2.9× by the order of the runs alone.")
HOT_PATH_TRIED_NOTE = (
    "Cuts of that size have not shown: a variant whose check pass (does every distribution have "
    "storage for its value?) was fused into the pass that adds, 27 instructions fewer per "
    "operation (some 1 ns at that rate), measured 1.527× the reads against 1.490× for this "
    "build (5 alternating rounds, same bench binary), inside this machine's run-to-run spread "
    "of a few percent; an earlier one that unrolled the built-in phases (53 fewer) was 6 ns "
    "slower. Neither was kept. The 3× asks for about 15 % of the operation's instructions, "
    "while what it does per distribution (bucket index, sum, minimum, maximum, count, entries, "
    "for five distributions) is the exact histogram itself.")


def clock_overlap_note(r, directory):
    """Whether the clock reads hide other work (bench_per_call's floor/adds_* runs)."""
    floor, adds, both = ("floor/library_clock_x10", "floor/adds_x600",
                         "floor/library_clock_x10_adds_x600")
    if not (r.has(floor) and r.has(adds) and r.has(both) and r.has(PEER_BT)):
        return []
    beyond = r.get(PEER_BT) - r.get(floor)
    cg = read_callgrind(directory, "bound")
    instr = cg[0] / cg[2] if cg else None
    text = ("Do the clock reads hide other work? 600 independent register adds take %s alone, the "
            "10 reads %s, and the 10 reads with 60 adds after each %s, against %s for the two "
            "apart: the reads %s. So the op's cost beyond its reads (%s) is the issue time of its "
            "instructions, %s of the simplest kind at this machine's rate." % (
                fmt_ns(r.get(adds)), fmt_ns(r.get(floor)), fmt_ns(r.get(both)),
                fmt_ns(r.get(adds) + r.get(floor)),
                "hide almost nothing" if r.get(both) > 0.85 * (r.get(adds) + r.get(floor))
                else "hide part of it",
                fmt_ns(beyond), "%.0f" % (600 * beyond / r.get(adds))))
    if instr:
        text += (" It executes %.0f (callgrind, the bound op with its benchmark loop), so the "
                 "nanoseconds prometheus-cpp's ratio asks for would be instructions removed, about "
                 "%.0f per nanosecond. %s" % (instr, 600 / r.get(adds), HOT_PATH_TRIED_NOTE))
    return ["", text]


def peers_section(r, directory):
    if not (r.has(PEER_BT) and r.has(PEER_PROM)):
        return ["Not measured in this run: `bench_peers` was not built (CMake did not find "
                "prometheus-cpp: Debian `prometheus-cpp-dev`) or not run."]
    ctx = r.context.get("bench_peers", {})
    out = ["`bench/bench_peers.cpp`: the same four-phase operation, empty phases, through "
           "boundarytrace (a bound handle: `bt_tracer_new_op`, 4 × `bt_phase_begin`/"
           "`bt_phase_end`, `bt_tracer_finish`, `bt_tracer_free`: 10 reads of the library's "
           "clock) and through prometheus-cpp %s (Debian `prometheus-cpp-dev`, its core library): "
           "10 `std::chrono::steady_clock::now()` (start, 8 phase edges, end) and 5 "
           "`Histogram::Observe` (the four phases and the whole op) on children of one family "
           "bound once (labels `op`, `phase`). prometheus-cpp's histograms are as fine as "
           "boundarytrace's: base-2 exponential boundaries at scale 4 (16 per power of two) "
           "over 1 µs – 10 s, %s boundaries. One process, repetitions interleaved; CPU time "
           "(median) for one thread, wall-time rates for 1 and 2 threads recording into one "
           "operation, beside a control that shares nothing." % (
               ctx.get("prometheus_cpp_version", "?"), ctx.get("prometheus_cpp_buckets", "?")), ""]
    out.append("| Benchmark | What | CPU time | Wall time | CV | × boundarytrace |")
    out.append("|---|---|---|---|---|---|")
    bt = r.get(PEER_BT)
    for name, what in ((PEER_BT, "boundarytrace: full four-phase op, bound handle"),
                       (PEER_PROM, "prometheus-cpp: 10 × steady_clock, 5 × Observe"),
                       ("peers/observe/prometheus_cpp_50ns/0",
                        "prometheus-cpp: one Observe, the value in the first bucket (an empty "
                        "phase)"),
                       ("peers/observe/prometheus_cpp_1ms/1",
                        "prometheus-cpp: one Observe of 1 ms (bucket 160 of 373)")):
        if not r.has(name):
            continue
        cpu = r.get(name)
        vs = "%.2f×" % (cpu / bt) if name.startswith("peers/op/") else ""
        out.append("| `%s` | %s | %s | %s | %s | %s |" % (
            name, what, fmt_ns(cpu), fmt_ns(r.get(name, "real_time")), fmt_cv(r.cv(name)), vs))
    floor = "floor/library_clock_x10"
    mono = "floor/clock_monotonic_x10"
    if r.has(floor) and r.has(mono):
        out.append("")
        out.append("The clock reads alone (`bench_per_call`, same build): 10 reads of the library's "
                   "clock %s, 10 × `clock_gettime(CLOCK_MONOTONIC)` (what `steady_clock` reads) "
                   "%s. prometheus-cpp spends %s beyond its 10 reads on its five observations; "
                   "boundarytrace %s beyond its 10 reads on everything else (phase bookkeeping, "
                   "the record into per-phase histograms)." % (
                       fmt_ns(r.get(floor)), fmt_ns(r.get(mono)),
                       fmt_ns(r.get(PEER_PROM) - r.get(mono)), fmt_ns(bt - r.get(floor))))
        need = r.get(PEER_PROM) / PEER_CPP_SPEEDUP_MIN
        if bt > need:
            out.append("")
            out.append("For %.0f× boundarytrace's op would have to take %s, %s beyond its 10 clock "
                       "reads (%.2f× the reads; in this run it takes %.2f×, and the per-call goal "
                       "above asks for ≤ %.1f×). prometheus-cpp's op is mostly its own clock reads "
                       "(`clock_gettime` through the vDSO) and its mutex, so the ratio moves with "
                       "them: %s" % (
                           PEER_CPP_SPEEDUP_MIN, fmt_ns(need), fmt_ns(need - r.get(floor)),
                           need / r.get(floor), bt / r.get(floor), FLOOR_RATIO_MAX,
                           PEER_CPP_SPREAD_NOTE))
            out += clock_overlap_note(r, directory)
    out.append("")
    out.append("| Implementation | 1 thread | 2 threads | 2 / 1 (wall, medians) | 2 / 1 (best) "
               "| CPU per op, 1 → 2 threads |")
    out.append("|---|---|---|---|---|---|")
    for path, label in ((PEER_CONTROL, "control: private work, nothing shared"),
                        ("peers/scaling/boundarytrace_bound", "boundarytrace, full op"),
                        ("peers/scaling/prometheus_cpp", "prometheus-cpp, full op")):
        one, two = path + "/real_time/threads:1", path + "/real_time/threads:2"
        if not (r.has(one) and r.has(two)):
            continue
        r1, r2 = r.get(one, "items_per_second"), r.get(two, "items_per_second")
        out.append("| %s | %s | %s | %.2f× | %.2f× | %s → %s |" % (
            label, fmt_rate(r1), fmt_rate(r2), r2 / r1, scaling_ratio(r, path, True),
            fmt_ns(r.get(one)), fmt_ns(r.get(two))))
    out.append("")
    out.append("prometheus-cpp's `Histogram::Observe` takes the histogram's `std::mutex`, so two "
               "threads observing the same children serialise on it (and its bucket counters "
               "and sum are shared cache lines); boundarytrace gives each thread its own shard "
               "of the operation.")
    return out


def targets_table(rows):
    out = ["| Target | Measured | Goal | Status |", "|---|---|---|---|"]
    for target, measured, goal, ok in rows:
        out.append("| %s | %s | %s | %s |" % (target, measured, goal, verdict(ok)))
    return out


# --- sections --------------------------------------------------------------------------

# (run name, what it measures, library calls per iteration, clock reads it needs)
PER_CALL = [
    ("floor/library_clock_x10", "Floor: 10 raw reads of the library's clock source", None, 10),
    ("floor/clock_monotonic_x10", "Floor: 10 × clock_gettime(CLOCK_MONOTONIC)", None, 10),
    ("floor/adds_x600", "600 independent register adds, no clock read", None, None),
    ("floor/library_clock_x10_adds_x600",
     "10 raw reads of the library's clock, 60 of those adds after each", None, 10),
    ("phase/begin_end_pair", "bt_phase_begin + bt_phase_end", 2, 2),
    ("op/full/boundarytrace_bound", "Full op, bound handle (bt_tracer_new_op … finish, free)",
     CALLS_PER_OP, CLOCK_READS_PER_OP),
    ("op/full/boundarytrace_by_name", "Full op, by name (bt_tracer_new … finish, free)",
     CALLS_PER_OP, CLOCK_READS_PER_OP),
    ("op/full/seed_baseline", "Baseline: seed design, full op (µs sums, 7 global atomics)", None,
     CLOCK_READS_PER_OP),
    ("op/full/mutex_baseline", "Baseline: mutex + map + histograms, full op", None,
     CLOCK_READS_PER_OP),
    ("offswitch/runtime_full_op", "Run-time off (bt_set_enabled(0)): full op", CALLS_PER_OP, None),
    ("offswitch/runtime_begin_end_pair", "Run-time off: begin + end pair", 2, None),
    ("offswitch/compiled_out_full_op",
     "Compile-time off (BT_DISABLE_TRACING): full op, a call into that TU", None, None),
]


def per_call_section(r):
    floor = "floor/library_clock_x10"
    per_read = r.get(floor) / CLOCK_READS_PER_OP if r.has(floor) else None
    out = ["| Benchmark | What | CPU time | Wall time | CV | Per library call "
           "| × the library-clock reads it needs |",
           "|---|---|---|---|---|---|---|"]
    for name, what, calls, reads in PER_CALL:
        if not r.has(name):
            continue
        cpu = r.get(name)
        per = fmt_ns(cpu / calls) if calls else ""
        vs = "%.2f× (%d reads)" % (cpu / (per_read * reads), reads) if per_read and reads else ""
        out.append("| `%s` | %s | %s | %s | %s | %s | %s |" % (
            name, what, fmt_ns(cpu), fmt_ns(r.get(name, "real_time")), fmt_cv(r.cv(name)), per, vs))
    return out


def scaling_section(r):
    out = ["| Path | Implementation | 1 thread | 2 threads | 2 / 1 (wall) "
           "| CPU per op, 1 → 2 threads | 2 / 1 (CPU-normalised) |",
           "|---|---|---|---|---|---|---|"]
    for step, label in (("control", "control"), ("record", "record step"),
                        ("op", "full traced op")):
        for impl, ilabel in (("private_work", "private work, nothing shared"),
                             ("boundarytrace", "boundarytrace"),
                             ("boundarytrace_bound", "boundarytrace (bound handle)"),
                             ("seed_baseline", "seed design"),
                             ("mutex_baseline", "mutex aggregator")):
            one = "%s/%s/real_time/threads:1" % (step, impl)
            two = "%s/%s/real_time/threads:2" % (step, impl)
            if not (r.has(one) and r.has(two)):
                continue
            r1, r2 = r.get(one, "items_per_second"), r.get(two, "items_per_second")
            c1, c2 = r.get(one), r.get(two)
            out.append("| %s | %s | %s | %s | %.2f× | %s → %s | %.2f× |" % (
                label, ilabel, fmt_rate(r1), fmt_rate(r2), r2 / r1, fmt_ns(c1), fmt_ns(c2),
                2 * c1 / c2))
    return out


def snapshot_section(r):
    out = ["| Recorded from | Snapshot (bt_metrics_snapshot + free) | Text (bt_snapshot_format) "
           "| JSON (bt_snapshot_export) | Prometheus (bt_snapshot_export) |",
           "|---|---|---|---|---|"]
    for threads in (1, 2, 8):
        cells = []
        for base in ("snapshot/100_ops", "format/text_100_ops", "format/json_100_ops",
                     "format/prometheus_100_ops"):
            name = "%s/threads_recorded:%d" % (base, threads)
            if not r.has(name):
                cells.append("–")
                continue
            cell = fmt_ns(r.get(name))
            b = r.runs[name]["median"].get("text_bytes")
            if b:
                cell += " (%s)" % fmt_bytes(b)
            cells.append(cell)
        out.append("| %d thread%s | %s |" % (threads, "" if threads == 1 else "s", " | ".join(cells)))
    return out


MEMORY_ROWS = [
    ("metrics_new_bytes", "A new metrics sink (bt_metrics_new): its operation table"),
    ("op_bound_bytes", "An operation bound in it (bt_op_lookup): registry entry, shard table, name"),
    ("thread_state_bytes", "A thread's own state: the tracer it keeps for reuse"),
    ("op_first_thread_bytes", "First thread records the operation: its shard and histograms"),
    ("more_threads_state_bytes_per_thread",
     "Each of N more live threads, before recording (its tracer, thread bookkeeping)"),
    ("op_per_thread_bytes", "**Per operation and thread**: each of N more threads records once"),
    ("after_exit_bytes_per_thread",
     "Held per thread after those threads exit (shards are kept: exited threads' counts stay)"),
    ("after_exit_total_bytes", "Total held after the threads exit"),
    ("after_free_bytes",
     "Left after bt_metrics_free (the calling thread's reusable tracer, interned names)"),
]


def memory_section(r):
    name = "memory/one_record_per_thread/iterations:1/repeats:1"
    out = ["| Step | Bytes |", "|---|---|"]
    if r.has(name):
        b = r.runs[name]["median"]
        for key, label in MEMORY_ROWS:
            if key in b:
                out.append("| %s | %s |" % (label, fmt_bytes(b[key])))
        out.append("| (N, the number of more threads) | %d |" % b.get("threads", 0))
    wide = "memory/wide_distribution_per_thread/iterations:1/repeats:1"
    if r.has(wide):
        out.append("| Per operation and thread, phases spread over 1 µs – 1 s (21 octaves) | %s |"
                   % fmt_bytes(r.get(wide, "op_per_thread_bytes")))
    return out


CALLGRIND_CASES = [
    ("bound", "Full op, bound handle"),
    ("by_name", "Full op, by name"),
    ("record", "bt_metrics_record of a prepared timing"),
    ("phase_pair", "bt_phase_begin + bt_phase_end"),
    ("seed", "Seed design, full op"),
    ("mutex", "Mutex aggregator, full op"),
]

LINE = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*?)\s*$")


def parse_annotate(path):
    total, funcs = None, []
    for line in Path(path).read_text().splitlines():
        m = LINE.match(line)
        if not m:
            continue
        ir = int(m.group(1).replace(",", ""))
        name = m.group(2)
        if name == "PROGRAM TOTALS":
            total = ir
            continue
        name = re.sub(r"\s+\[[^\]]*\]$", "", name)       # the [object file]
        name = re.sub(r"^[^:]*\?\?\?:|^\?\?\?:", "", name)  # unknown source file
        name = re.sub(r"^\S+\.(c|cc|cpp|h|hpp|S):", "", name)
        funcs.append((ir, name))
    return total, funcs


def read_callgrind(directory, case):
    """(total instructions, [(instructions, function)], operations) of a callgrind
    case of bench/run's profile, or None when it was not profiled."""
    d = Path(directory)
    self_txt, n_file = d / ("callgrind.%s.self.txt" % case), d / ("callgrind.%s.n" % case)
    if not (self_txt.exists() and n_file.exists()):
        return None
    total, funcs = parse_annotate(self_txt)
    return (total, funcs, int(n_file.read_text().strip())) if total is not None else None


def callgrind_section(directory, top=8):
    out = []
    summary = ["| Path | Instructions per operation |", "|---|---|"]
    details = []
    for case, label in CALLGRIND_CASES:
        cg = read_callgrind(directory, case)
        if cg is None:
            continue
        total, funcs, n = cg
        summary.append("| %s | %.0f |" % (label, total / n))
        if case in ("bound", "by_name", "record"):
            details.append("")
            details.append("%s — %.0f instructions per operation, by function (self):" % (
                label, total / n))
            details.append("")
            details.append("| Instructions / op | Function |")
            details.append("|---|---|")
            for ir, name in funcs[:top]:
                details.append("| %.0f | `%s` |" % (ir / n, name.replace("|", "\\|")))
    if len(summary) == 2:
        return []
    out += summary + details
    return out


# --- Python (bench/python/run writes RESULTS/python.json) -------------------------------

PY_SPEEDUP_MIN = 3.0       # prometheus_client 5 x Histogram.time() / boundarytrace (pybind11) (issue 15)
PY_OTEL_MIN = 15.0         # OpenTelemetry SDK 5 x histogram.record / boundarytrace (pybind11) (issue 15)
PY_LOCK_FLOOR_MAX = 1.5    # boundarytrace (pybind11) / 5 x with Lock + 10 perf_counter_ns (issue 15)
PY_CTYPES_MAX = 3.0        # ctypes backend / pybind11 backend, full traced op (issue 15)
DEMO_SHARE_MAX = 0.01      # tracing share of docstore insert_many of 1,000 documents

PY_PEER = "prometheus/time"            # the fair peer: times and observes, as a phase does
PY_PEER_BARE = "prometheus/observe"
PY_NATIVE = "boundarytrace/pybind11"
PY_CTYPES = "boundarytrace/ctypes"
PY_OFF = "boundarytrace/pybind11_off"
PY_FLOOR = "floor/perf_counter_ns_x10"
PY_LOCK_FLOOR = "floor/lock_x5_perf_counter_ns_x10"
PY_OTEL = "otel/histograms"
PY_OTEL_SPANS = "otel/spans"
PY_PEER_DEBIAN = "prometheus_debian/time"
PY_DICT = "peer/dict_perf_counter_ns"
PY_CTYPES_FLOOR = "floor/ctypes_calls_x11"


def load_python(directory):
    path = Path(directory, "python.json")
    return json.loads(path.read_text()) if path.exists() else None


def py_cases(data):
    return {b["name"]: b for b in data.get("ops", {}).get("benchmarks", [])}


def py_ratio(cases, a, b, field="cpu"):
    """median(a) / median(b), and the quartiles of the per-round ratios (rounds are paired:
    each round ran every case once)."""
    ma, mb = cases[a][field + "_ns"]["median"], cases[b][field + "_ns"]["median"]
    per = sorted(x / y for x, y in zip(cases[a][field + "_each"], cases[b][field + "_each"]))
    if len(per) >= 2:
        q = statistics.quantiles(per, n=4)
        spread = (q[0], q[2])
    else:
        spread = (per[0], per[0])
    return ma / mb, spread


def py_instructions(data):
    return data.get("ops_instructions", {}).get("per_op", {})


def fmt_pct(x, signed=False):
    return ("%+.2f %%" if signed else "%.2f %%") % (100 * x)


def demo_verdict(data):
    """(measured text, ok) for the demo target; None when there is no demo result."""
    demo = data.get("demo")
    if not demo:
        return None
    w = demo["wall"]
    cost = demo["tracing_cost_share"]
    ins = data.get("demo_instructions")
    if "paired_copy_share_ci95" in w:
        # Paired calls (a change of load hits both alike); the pair that differs in tracing
        # only: the traced copy and the compiled-out build, loaded alike.
        lo, hi = w["paired_copy_share_ci95"]
        clo, chi = w["paired_control_share_ci95"]
        text = ("timed (wall, paired calls, the traced build loaded like the compiled-out one): "
                "%s (95 %% interval %s … %s; harness control, traced vs its copy: %s … %s)" % (
                    fmt_pct(w["paired_copy_share"], True), fmt_pct(lo, True), fmt_pct(hi, True),
                    fmt_pct(clo, True), fmt_pct(chi, True)))
    else:
        lo, hi = w["share_ci95"]
        clo, chi = w["control_share_ci95"]
        text = "timed (wall): %s (95 %% interval %s … %s; control %s … %s)" % (
            fmt_pct(w["share"], True), fmt_pct(lo, True), fmt_pct(hi, True), fmt_pct(clo, True),
            fmt_pct(chi, True))
    if ins:
        text += "; instructions: %s" % fmt_pct(ins["share"], True)
    text += "; the bt_* calls alone: %.0f ns = %s" % (demo["tracing_cost_ns"], fmt_pct(cost))
    if hi < DEMO_SHARE_MAX:
        return text, True
    if lo > DEMO_SHARE_MAX and clo <= 0 <= chi:
        return text, False
    # The timing cannot tell a share under 1 % from noise in this run: judge on what can.
    if ins:
        return (text + " — the timed interval is wider than the goal, so judged on the "
                "instruction counts and the timed bt_* calls"), (ins["share"] < DEMO_SHARE_MAX
                                                                and cost < DEMO_SHARE_MAX)
    return (text + " — the timed interval is wider than the goal, so judged on the timed "
            "bt_* calls"), cost < DEMO_SHARE_MAX


def python_targets(directory):
    return python_target_rows(load_python(directory))


def python_target_rows(data):
    """Rows (target, measured, goal, met) of the Python targets."""
    if not data:
        return []
    rows = []
    cases = py_cases(data)
    ins = py_instructions(data)
    def measured_of(a, b, faster):
        ratio, (q1, q3) = py_ratio(cases, a, b)
        text = "%s / %s = %.2f×%s (per round %.2f–%.2f×" % (
            fmt_ns(cases[a]["cpu_ns"]["median"]), fmt_ns(cases[b]["cpu_ns"]["median"]), ratio,
            " faster" if faster else "", q1, q3)
        if a in ins and b in ins:
            text += "; instructions %.2f×" % (ins[a] / ins[b])
        return ratio, text + ")"

    version = data.get("ops", {}).get("context", {}).get("prometheus_client", "")
    if PY_NATIVE in cases and PY_PEER in cases:
        ratio, measured = measured_of(PY_PEER, PY_NATIVE, True)
        if PY_PEER_BARE in cases:
            bare, _ = py_ratio(cases, PY_PEER_BARE, PY_NATIVE)
            measured += "; vs 5 × bare `observe()` with `perf_counter_ns`: %.2f×" % bare
        if PY_PEER_DEBIAN in cases:
            deb, _ = py_ratio(cases, PY_PEER_DEBIAN, PY_NATIVE)
            measured += "; vs Debian's %s: %.2f×" % (
                data["ops"]["context"].get("prometheus_client_debian", ""), deb)
        rows.append(("Python: full traced op, pybind11 backend, vs `prometheus_client` %s "
                     "(5 × `Histogram.time()`: the op and its 4 phases)" % version, measured,
                     "≥ %.0f× faster" % PY_SPEEDUP_MIN, ratio >= PY_SPEEDUP_MIN))
    if PY_NATIVE in cases and PY_OTEL in cases:
        ratio, measured = measured_of(PY_OTEL, PY_NATIVE, True)
        if PY_OTEL_SPANS in cases:
            spans, _ = py_ratio(cases, PY_OTEL_SPANS, PY_NATIVE)
            measured += "; a span + 4 child spans: %.2f×" % spans
        rows.append(("Python: full traced op, pybind11 backend, vs the OpenTelemetry SDK %s "
                     "(5 × `Histogram.record` with attributes)" % data["ops"]["context"].get(
                         "opentelemetry_sdk", ""), measured, "≥ %.0f× faster" % PY_OTEL_MIN,
                     ratio >= PY_OTEL_MIN))
    if PY_NATIVE in cases and PY_LOCK_FLOOR in cases:
        ratio, measured = measured_of(PY_NATIVE, PY_LOCK_FLOOR, False)
        rows.append(("Python: full traced op, pybind11 backend / the floor (5 × `with` on "
                     "`threading.Lock` + 10 × `perf_counter_ns`)", measured,
                     "≤ %.1f×" % PY_LOCK_FLOOR_MAX, ratio <= PY_LOCK_FLOOR_MAX))
    if PY_NATIVE in cases and PY_CTYPES in cases:
        ratio, measured = measured_of(PY_CTYPES, PY_NATIVE, False)
        if PY_CTYPES_FLOOR in cases:
            bare, _ = py_ratio(cases, PY_CTYPES_FLOOR, PY_NATIVE)
            measured += "; its 11 ctypes calls alone, bare: %s = %.2f× the pybind11 op" % (
                fmt_ns(cases[PY_CTYPES_FLOOR]["cpu_ns"]["median"]), bare)
        rows.append(("Python: ctypes backend / pybind11 backend, full traced op", measured,
                     "≤ %.0f×" % PY_CTYPES_MAX, ratio <= PY_CTYPES_MAX))
    dv = demo_verdict(data)
    if dv:
        rows.append(("Demo: tracing share of docstore `insert_many` of %s documents (traced vs "
                     "compiled out)" % "{:,}".format(data["demo"]["context"]["docs_per_call"]), dv[0],
                     "< %.0f %%" % (100 * DEMO_SHARE_MAX), dv[1]))
    return rows


def python_section(directory):
    """The results of bench/python/run (RESULTS/python.json)."""
    data = load_python(directory)
    if not data:
        return ["Not measured in this run: `bench/python/run` wrote no `python.json`."]
    out = []
    ops = data.get("ops")
    if ops:
        ctx = ops["context"]
        cases = py_cases(data)
        ins = py_instructions(data)
        out.append("### A traced operation from Python")
        out.append("")
        out.append("`bench/python/bench_ops.py`, one process: Python %s (%s), boundarytrace %s "
                   "(clock `%s`), pybind11 %s, prometheus_client %s%s, OpenTelemetry SDK %s. "
                   "Each of %d rounds runs "
                   "every case once, in a shuffled order, as a batch of about %.0f ms; figures "
                   "are medians over the rounds of the thread's CPU time per operation "
                   "(`time.thread_time_ns`), wall time beside. Both backends are switched in "
                   "the same process and record into the same global sink; the prometheus "
                   "histograms are labelled (`op`, `phase`) with their children bound once; "
                   "the OpenTelemetry SDK's histogram records with attributes (`op`, `phase`) "
                   "built once, its `MeterProvider` read by an in-memory reader, and its spans "
                   "go through a `SimpleSpanProcessor` to an exporter that counts and drops "
                   "them (nothing leaves the process). Every peer does what a traced operation "
                   "does: the operation and its four phases timed, five observations; the "
                   "floor of a context-manager API is the same shape with the cheapest C "
                   "context manager (`with` on a `threading.Lock`) and the ten clock reads. "
                   "Instructions per operation are counted under callgrind "
                   "(`bench/python/cgmarks.py`)." % (
                       ctx["python"], ctx["python_implementation"], ctx["boundarytrace"],
                       ctx["clock_source"], ctx["pybind11"], ctx["prometheus_client"],
                       " (and Debian's %s)" % ctx["prometheus_client_debian"]
                       if ctx.get("prometheus_client_debian") else "",
                       ctx.get("opentelemetry_sdk", "?"), ctx["rounds"], ctx["batch_ms"]))
        out.append("")
        out.append("| Case | What | CPU time / op | Per-round quartiles | Wall time | "
                   "× 10 × `perf_counter_ns` | Instructions / op |")
        out.append("|---|---|---|---|---|---|---|")
        floor = cases.get(PY_FLOOR, {}).get("cpu_ns", {}).get("median")
        for b in ops["benchmarks"]:
            c = b["cpu_ns"]
            vs = "%.2f×" % (c["median"] / floor) if floor and b["name"] != "empty_loop" else ""
            n_ins = ins.get(b["name"])
            out.append("| `%s` | %s | %s | %s – %s | %s | %s | %s |" % (
                b["name"], b["what"], fmt_ns(c["median"]), fmt_ns(c["q1"]), fmt_ns(c["q3"]),
                fmt_ns(b["wall_ns"]["median"]), vs, "{:,.0f}".format(n_ins) if n_ins else ""))
        out.append("")
        out.append("| Ratio | CPU time (medians) | Per round (quartiles) | Instructions |")
        out.append("|---|---|---|---|")
        for a, b, label in (
                (PY_PEER, PY_NATIVE, "prometheus_client 5 × `Histogram.time()` / boundarytrace "
                                     "(pybind11): the fair peer, it times and observes as a "
                                     "traced op does"),
                (PY_PEER_BARE, PY_NATIVE, "prometheus_client 5 × bare `observe()` (timed with "
                                          "`perf_counter_ns`) / boundarytrace (pybind11)"),
                (PY_PEER_DEBIAN, PY_NATIVE, "Debian's prometheus_client, 5 × `Histogram.time()` "
                                            "/ boundarytrace (pybind11)"),
                (PY_OTEL, PY_NATIVE, "OpenTelemetry SDK, 5 × `Histogram.record` with attributes "
                                     "/ boundarytrace (pybind11)"),
                (PY_OTEL_SPANS, PY_NATIVE, "OpenTelemetry SDK, a span + 4 child spans / "
                                           "boundarytrace (pybind11)"),
                (PY_DICT, PY_NATIVE, "a bare dict of `perf_counter_ns` differences / "
                                     "boundarytrace (pybind11)"),
                (PY_CTYPES, PY_NATIVE, "ctypes backend / pybind11 backend"),
                (PY_CTYPES_FLOOR, PY_NATIVE, "the 11 ctypes calls of a traced op, bare / "
                                             "boundarytrace (pybind11)"),
                (PY_CTYPES, PY_CTYPES_FLOOR, "ctypes backend / its 11 ctypes calls, bare: the "
                                             "Python around them"),
                (PY_NATIVE, PY_LOCK_FLOOR, "boundarytrace (pybind11) / the floor: 5 × `with` on "
                                           "`threading.Lock` + 10 × `perf_counter_ns`"),
                (PY_NATIVE, PY_FLOOR, "boundarytrace (pybind11) / its 10 clock reads done by "
                                      "Python (`perf_counter_ns`)"),
                (PY_OFF, PY_NATIVE, "recording off (`bt.set_enabled(False)`) / on, pybind11: "
                                    "the share of the Python API itself")):
            if a not in cases or b not in cases:
                continue
            ratio, (q1, q3) = py_ratio(cases, a, b)
            iratio = "%.2f×" % (ins[a] / ins[b]) if a in ins and b in ins else ""
            out.append("| %s | %.2f× | %.2f× – %.2f× | %s |" % (label, ratio, q1, q3, iratio))
        out.append("")
        if PY_NATIVE in cases and PY_OFF in cases:
            on = cases[PY_NATIVE]["cpu_ns"]["median"]
            off = cases[PY_OFF]["cpu_ns"]["median"]
            out.append("With recording switched off the same Python code still costs %s of the "
                       "%s: recording itself (clock reads, phase bookkeeping, the record into the "
                       "histograms) adds about %s per operation; the rest is the Python-level API "
                       "(a `Trace` object, four `t.phase()` scopes, their `__enter__`/`__exit__`) "
                       "and the calls into the backend." % (fmt_ns(off), fmt_ns(on),
                                                            fmt_ns(on - off)))
            out.append("")
        prof = ops.get("profile") or {}
        if prof:
            out.append("Where the time goes, by call (cProfile over %s operations; the profiler "
                       "adds its own cost to every Python-level call, so read the shares, not "
                       "the nanoseconds):" % "{:,}".format(next(iter(prof.values()))["ops"]))
            out.append("")
            for name in (PY_NATIVE, PY_CTYPES, PY_PEER, PY_OTEL):
                if name not in prof:
                    continue
                funcs = prof[name]["functions"]
                total = sum(f["tottime_ns_per_op"] for f in funcs)
                out.append("`%s`:" % name)
                out.append("")
                out.append("| Function | Calls / op | Own time / op (profiled) | Share of listed |")
                out.append("|---|---|---|---|")
                for f in funcs[:8]:
                    fn = f["function"] if f["where"] == "~" else "%s (%s)" % (f["function"],
                                                                              f["where"])
                    out.append("| `%s` | %.0f | %s | %.0f %% |" % (
                        fn.replace("|", "\\|"), f["calls_per_op"], fmt_ns(f["tottime_ns_per_op"]),
                        100 * f["tottime_ns_per_op"] / total if total else 0))
                out.append("")
    demo = data.get("demo")
    if demo:
        ctx = demo["context"]
        ins = data.get("demo_instructions")
        out.append("### The demo: docstore `insert_many` of %s documents" % "{:,}".format(
            ctx["docs_per_call"]))
        out.append("")
        out.append("`bench/python/bench_docstore.py`: the docstore extension "
                   "(`examples/python_ext`) built twice and installed side by side "
                   "(`pip install --target`): traced, and with the compile-time off switch "
                   "(`-C cmake.define.DOCSTORE_TRACING=OFF`, i.e. `BT_DISABLE_TRACING`: that "
                   "module calls %s `bt_` symbols, the traced one %s). One `docstore-server`; "
                   "%d worker processes, one after the other, each loading both builds and, as "
                   "a control, a copy of the traced build (the same code: its share is the "
                   "harness's noise), one client each, and running %d rounds of %d calls per "
                   "module: every call alone on the clock, the three modules in a shuffled "
                   "order for every call; one Python thread, no GIL contention. The server then "
                   "held %s." % (
                       ctx["bt_symbols_called"]["off"], ctx["bt_symbols_called"]["traced"],
                       ctx["processes"], ctx["rounds_per_process"],
                       ctx["calls_per_module_per_round"],
                       fmt_bytes(1024 * ctx["server_rss_kib"]) if ctx.get("server_rss_kib")
                       else "(unknown)"))
        out.append("")
        out.append("| Per call | Traced | Compiled out | Control (traced copy) |")
        out.append("|---|---|---|---|")
        for clock, label in (("wall", "Wall time, median (quartiles)"),
                             ("cpu", "CPU time of the process, worker threads included, median "
                                     "(quartiles)")):
            f = demo[clock]
            out.append("| %s | %s |" % (label, " | ".join(
                "%s (%s – %s)" % (fmt_ns(f[n + "_ns"]["median"]), fmt_ns(f[n + "_ns"]["q1"]),
                                  fmt_ns(f[n + "_ns"]["q3"]))
                for n in ("traced", "off", "control"))))
        if ins:
            out.append("| Instructions (callgrind, this process and its threads) | %s |" % (
                " | ".join("{:,.0f}".format(ins["per_call"][n])
                           for n in ("traced", "off", "control"))))
        out.append("")
        out.append("| Share = (traced − compiled out) / traced | Tracing share | Control "
                   "(traced − copy) / traced |")
        out.append("|---|---|---|")
        for clock, label in (("wall", "Wall time, medians"), ("cpu", "CPU time, medians")):
            f = demo[clock]
            cells = []
            for key in ("share", "control_share"):
                lo, hi = f[key + "_ci95"]
                pp = f[key + "_per_process"]
                cells.append("%s (95 %% interval %s … %s; per process %s … %s)" % (
                    fmt_pct(f[key], True), fmt_pct(lo, True), fmt_pct(hi, True),
                    fmt_pct(pp["min"], True), fmt_pct(pp["max"], True)))
            out.append("| %s | %s |" % (label, " | ".join(cells)))
        for clock, label in (("wall", "Wall time, paired calls (median over the triples)"),
                             ("cpu", "CPU time, paired calls (median over the triples)")):
            f = demo[clock]
            if "paired_share_ci95" not in f:
                continue
            cells = []
            for key in ("paired_share", "paired_control_share"):
                lo, hi = f[key + "_ci95"]
                cells.append("%s (95 %% interval %s … %s)" % (
                    fmt_pct(f[key], True), fmt_pct(lo, True), fmt_pct(hi, True)))
            out.append("| %s | %s |" % (label, " | ".join(cells)))
            lo, hi = f["paired_copy_share_ci95"]
            out.append("| %s, the traced copy (loaded like the compiled-out build) − compiled "
                       "out | %s (95 %% interval %s … %s) | |" % (
                           label.split(",")[0], fmt_pct(f["paired_copy_share"], True),
                           fmt_pct(lo, True), fmt_pct(hi, True)))
        if ins:
            out.append("| Instructions | %s | %s |" % (fmt_pct(ins["share"], True),
                                                     fmt_pct(ins["control_share"], True)))
        out.append("| The bt_* calls one `insert_many` makes, timed in a loop "
                   "(`_docstore.tracing_cost_ns()`) | %.0f ns = %s of the median traced call "
                   "| |" % (demo["tracing_cost_ns"], fmt_pct(demo["tracing_cost_share"])))
        out.append("")
        out.append("The 95 % intervals resample whole worker processes: the same module runs a "
                   "few per cent faster or slower from one process to the next (the control, "
                   "identical code, shows it per process; code and data land at other addresses "
                   "in each process), so the calls of one process are not independent draws. A "
                   "tracing share inside the control's interval is below what the timing can "
                   "resolve on this machine; the instruction counts (callgrind, "
                   "`bench/python/cgmarks.py`) and the timed bt_* calls resolve it. The paired "
                   "rows take, for each shuffled triple of calls (run back to back, so a change "
                   "of load hits all three alike), (traced − other) / traced, and the median "
                   "over all triples; their intervals resample whole processes too. The traced "
                   "build is imported as the package, first; its copy and the compiled-out "
                   "build are loaded alike (by file, under other names, in an order drawn per "
                   "process), so the copy − compiled out row differs in tracing only and "
                   "decides the goal when its interval lies wholly on one side of 1 %.")
    return out


def cmd_python_summary(args):
    data = json.loads(Path(args.file).read_text())
    cases = py_cases(data)
    for name, b in cases.items():
        print("  %-30s cpu %10s  wall %10s" % (name, fmt_ns(b["cpu_ns"]["median"]),
                                               fmt_ns(b["wall_ns"]["median"])))
    for target, measured, goal, ok in python_target_rows(data):
        print("  %-8s %s: %s (goal %s)" % ("met" if ok else ("UNCLEAR" if ok is None else "MISSED"),
                                            target, measured, goal))
    churn = data.get("shared_churn")
    if churn:
        for name, b in churn_cases(churn).items():
            print("  %-30s cpu %10s  wall %10s" % (name, fmt_ns(b["cpu_ns"]["median"]),
                                                   fmt_ns(b["wall_ns"]["median"])))
        for lib in ("prometheus", "boundarytrace_merge", "boundarytrace_export"):
            ratio = churn_ratio(churn, lib)
            if ratio is not None:
                print("  %-30s after %d restarts / none: %.2f×" % (
                    lib, churn["context"]["restarts"], ratio))
        for name, d in churn["directories"].items():
            print("  %-30s %d files" % (name, d["files"]))
    return 0


# --- shared sink (bench/bench_shared.cpp; python.json's shared_churn) -------------------

SH_OP_SHARED, SH_OP_HEAP = "shared/op/shared_sink", "shared/op/heap_sink"
SH_RECORD = "shared/threads/record_shared"
SH_RECORD_SPACED = "shared/threads/record_shared_spaced"
SH_RECORD_HEAP = "shared/threads/record_heap"
SH_OP_THREADS = "shared/threads/op_shared"
SH_CONTROL = "shared/threads/control_private_work"
SH_PROC_RECORD, SH_PROC_OP, SH_PROC_CONTROL = 0, 1, 2   # bench_shared's ProcWork
SH_MERGE = "shared/merge/restarts_case:%d"                # 0 none, 1 one, 2 the many
SH_MEMORY = "shared/memory/iterations:1/repeats:1"


def shared_thread_ratio(r, path, best=False):
    return scaling_ratio(r, path, best)


def shared_process_name(r, work, procs):
    prefix = "shared/processes/work:%d/processes:%d" % (work, procs)
    for name in r.runs:
        if name == prefix or name.startswith(prefix + "/"):
            return name
    return None


def shared_process_ratio(r, work, best=False):
    one, two = shared_process_name(r, work, 1), shared_process_name(r, work, 2)
    if not (one and two):
        return None
    if best:
        return r.best(two) / r.best(one)
    return r.get(two, "items_per_second") / r.get(one, "items_per_second")


def shared_context(r):
    return r.context.get("bench_shared", {})


def shared_targets(r):
    """Rows (target, measured, goal, met) of the shared sink's goals."""
    rows = []
    if r.has(SH_OP_SHARED) and r.has(SH_OP_HEAP):
        a, b = r.get(SH_OP_SHARED), r.get(SH_OP_HEAP)
        rows.append(("Shared sink: full four-phase op (bound handle), shared sink / in-heap sink",
                     "%s / %s = %.2f×" % (fmt_ns(a), fmt_ns(b), a / b),
                     "≤ %.1f×" % SHARED_OP_RATIO_MAX, a / b <= SHARED_OP_RATIO_MAX))
    if shared_thread_ratio(r, SH_RECORD) is not None:
        _, note, ok = judged_scaling(lambda best: shared_thread_ratio(r, SH_RECORD, best),
                                     lambda best: shared_thread_ratio(r, SH_CONTROL, best))
        rows.append(("Shared sink: records/s, 2 threads / 1 thread (one shared sink)", note,
                     "≥ %.1f×" % SHARED_SCALING_MIN, ok))
    if shared_process_ratio(r, SH_PROC_RECORD) is not None:
        _, note, ok = judged_scaling(
            lambda best: shared_process_ratio(r, SH_PROC_RECORD, best),
            lambda best: shared_process_ratio(r, SH_PROC_CONTROL, best))
        rows.append(("Shared sink: records/s, 2 processes / 1 process (one shared directory)",
                     note, "≥ %.1f×" % SHARED_SCALING_MIN, ok))
    none, many = SH_MERGE % 0, SH_MERGE % 2
    if r.has(none) and r.has(many):
        a, b = r.get(many), r.get(none)
        m = r.runs[many]["median"]
        rows.append(("Shared sink: merge (bt_snapshot_read_shared) after %s worker restarts / "
                     "after none (%d live workers)" % ("{:,.0f}".format(m.get("restarts", 0)),
                                                       m.get("live_workers", 0)),
                     "%s / %s = %.2f×; %d files after the restarts" % (
                         fmt_ns(a), fmt_ns(b), a / b, m.get("files", 0)),
                     "≤ %.1f×" % SHARED_MERGE_RATIO_MAX, a / b <= SHARED_MERGE_RATIO_MAX))
    return rows


def shared_section(r, directory):
    """docs/performance.md, "Shared sink (many processes)"."""
    ctx = shared_context(r)
    churn = (load_python(directory) or {}).get("shared_churn")
    if not ctx and not churn:
        return ["Not measured in this run: no `bench_shared.json`."]
    out = []
    restarts = int(ctx.get("shared_restarts", "0") or 0)
    live = int(ctx.get("shared_live_workers", "0") or 0)
    out.append("`bench/bench_shared.cpp`: a sink opened with `bt_metrics_open_shared()` on a "
               "directory under `/dev/shm` (made with `mkdtemp`, mode 0700, removed at the end), "
               "measured beside the in-heap sink (`bt_metrics_new()`) in one process, "
               "repetitions in random interleaved order (run of %s). The machine has two cores: "
               "two threads or two processes can at most double the rate, and only when nothing "
               "else runs; each scaling figure has a control beside it that shares nothing, the "
               "most any implementation could reach in the same run." % ctx.get("date", "?"))
    out.append("")
    rows = shared_targets(r)
    if rows:
        out.append("| Target | Measured | Goal | Status |")
        out.append("|---|---|---|---|")
        for target, measured, goal, ok in rows:
            out.append("| %s | %s | %s | %s |" % (target, measured, goal, verdict(ok)))
        out.append("")

    if r.has(SH_OP_SHARED) and r.has(SH_OP_HEAP):
        out.append("### A full four-phase operation: shared sink vs in-heap sink")
        out.append("")
        out.append("The per-call benchmark's \"bound four-phase op\" (`bt_tracer_new_op`, 4 × "
                   "`bt_phase_begin`/`bt_phase_end`, `bt_tracer_finish`, `bt_tracer_free`), one "
                   "thread, CPU time per operation (median).")
        out.append("")
        out.append("| Sink | CPU time | Wall time | CV |")
        out.append("|---|---|---|---|")
        for name, label in ((SH_OP_HEAP, "in-heap (`bt_metrics_new`)"),
                            (SH_OP_SHARED, "shared (`bt_metrics_open_shared`)")):
            out.append("| %s | %s | %s | %s |" % (label, fmt_ns(r.get(name)),
                                                 fmt_ns(r.get(name, "real_time")),
                                                 fmt_cv(r.cv(name))))
        out.append("| shared / in-heap | %.2f× | %.2f× | |" % (
            r.get(SH_OP_SHARED) / r.get(SH_OP_HEAP),
            r.get(SH_OP_SHARED, "real_time") / r.get(SH_OP_HEAP, "real_time")))
        out.append("")

    srows = []
    for path, label in ((SH_CONTROL, "control: private work, nothing shared"),
                        (SH_RECORD, "record step (`bt_metrics_record`) into one shared sink"),
                        (SH_RECORD_SPACED, "the same, another operation laid out between the two "
                                           "threads' figures in the slot file"),
                        (SH_RECORD_HEAP, "record step into one in-heap sink"),
                        (SH_OP_THREADS, "full traced op into one shared sink")):
        one, two = path + "/real_time/threads:1", path + "/real_time/threads:2"
        if r.has(one) and r.has(two):
            r1, r2 = r.get(one, "items_per_second"), r.get(two, "items_per_second")
            c1, c2 = r.get(one), r.get(two)
            srows.append("| threads | %s | %s | %s | %.2f× | %.2f× | %.2f× |" % (
                label, fmt_rate(r1), fmt_rate(r2), r2 / r1, r.best(two) / r.best(one),
                2 * c1 / c2))
    for work, label in ((SH_PROC_CONTROL, "control: private work, nothing shared"),
                        (SH_PROC_RECORD, "record step (`bt_metrics_record`) into one directory"),
                        (SH_PROC_OP, "full traced op into one directory")):
        one, two = shared_process_name(r, work, 1), shared_process_name(r, work, 2)
        if one and two:
            r1, r2 = r.get(one, "items_per_second"), r.get(two, "items_per_second")
            srows.append("| processes | %s | %s | %s | %.2f× | %.2f× | |" % (
                label, fmt_rate(r1), fmt_rate(r2), r2 / r1, r.best(two) / r.best(one)))
    if srows:
        out.append("### Scaling: 2 threads, 2 processes")
        out.append("")
        out.append("Threads: Google Benchmark runs the body on 1 and 2 threads recording into one "
                   "shared sink (one slot file); rates are wall-time rates. Processes: each "
                   "iteration forks 1 or 2 children of a process holding the shared sink; each "
                   "child takes its own slot with a first record, says it is ready, waits on a "
                   "pipe that the parent closes to start them together, records %s operations "
                   "and says it is done; the time is from the start to the last done (children "
                   "that leave are folded into the directory's archive by the next one). Rates "
                   "are medians over the repetitions; \"best\" divides the highest 2-way rate by "
                   "the highest 1-way rate (the least disturbed repetitions)." % (
                       "{:,}".format(int(ctx.get("shared_process_ops", "0") or 0))))
        out.append("")
        out.append("| Who | Work | 1 | 2 | 2 / 1 (medians) | 2 / 1 (best) | 2 / 1 (CPU-normalised) |")
        out.append("|---|---|---|---|---|---|---|")
        out += srows
        out.append("")
        out += false_sharing_note(r)

    merges = [(k, SH_MERGE % k) for k in (0, 1, 2) if r.has(SH_MERGE % k)]
    if merges:
        out.append("### Merging a directory after worker restarts")
        out.append("")
        out.append("A worker is a forked child that opens the directory (`bt_metrics_open_shared`: "
                   "it folds the slots of workers that have gone into `archive.bt` and reuses a "
                   "file), records 2 operations of each of 4 names with four phases (µs to ms), "
                   "and exits without freeing the sink. After the restarts, one after the other, "
                   "%d live workers open the directory, record the same and stay. The directory "
                   "without restarts has the same %d live workers. Time: `bt_snapshot_read_shared` "
                   "+ `bt_snapshot_free`, CPU time (median); every merge gives the right counts "
                   "(checked) and skips no file." % (live, live))
        out.append("")
        out.append("| Directory | Merge | CV | × no restart | Files | Bytes on /dev/shm | Processes "
                   "merged | Restart cost (fork, open + fold, record, exit) |")
        out.append("|---|---|---|---|---|---|---|---|")
        base = r.get(SH_MERGE % 0) if r.has(SH_MERGE % 0) else None
        for k, name in merges:
            m = r.runs[name]["median"]
            n = m.get("restarts", 0)
            label = "no restart" if k == 0 else "after %s restart%s" % (
                "{:,.0f}".format(n), "" if n == 1 else "s")
            ratio = "%.2f×" % (r.get(name) / base) if base and k else ""
            out.append("| %s, %d live workers | %s | %s | %s | %d | %s | %s | %s |" % (
                label, m.get("live_workers", 0), fmt_ns(r.get(name)), fmt_cv(r.cv(name)), ratio,
                m.get("files", 0), fmt_bytes(m.get("dir_bytes", 0)),
                "{:,.0f}".format(m.get("processes_merged", 0)),
                "%.2f ms per restart" % m["ms_per_restart"] if n else ""))
        out.append("")
        if base and r.has(SH_MERGE % 1) and r.has(SH_MERGE % 2):
            one, many = r.get(SH_MERGE % 1), r.get(SH_MERGE % 2)
            out.append("After %s restarts / after 1 restart: %.2f×. The merge costs per file, not "
                       "per restart: the archive (`archive.bt`, one file however many workers were "
                       "folded into it, with the layout of a slot) is one more file than the live "
                       "slots, %s here. A process that merges again and again (this benchmark, a "
                       "scraper, `boundarytrace serve`) parses it once per change and keeps it "
                       "(docs/formats.md): it changes only when a worker starts, so after / before "
                       "stays near 1 however many workers came and went." % (
                           "{:,}".format(restarts), many / one, fmt_ns(one - base)))
            out.append("")

    if churn:
        out += churn_section(churn, r)

    if r.has(SH_MEMORY):
        b = r.runs[SH_MEMORY]["median"]
        out.append("### Shared storage per process and per operation")
        out.append("")
        out.append("A new directory, one process: the slot file's header field `used` (bytes handed "
                   "out, read from the file: docs/formats.md) after `bt_metrics_open_shared`, "
                   "then after each step; the file itself grows in whole 64 KiB steps. An "
                   "operation recorded from one thread with four phases of typical latencies "
                   "(5 µs, 40 µs, 800 µs, 20 µs; total 870 µs).")
        out.append("")
        out.append("| Step | Bytes |")
        out.append("|---|---|")
        for key, label in (
                ("header_bytes", "**Per process**: the slot's header (after "
                                 "`bt_metrics_open_shared`, nothing recorded)"),
                ("file_bytes_at_open", "The slot file's size at open (tmpfs, grows in 64 KiB steps)"),
                ("first_op_bytes", "The first operation recorded"),
                ("same_op_again_bytes", "The same operation recorded 100 times more (same buckets)"),
                ("op_bytes_per_op", "**Per operation and process**: each of %d more operations, "
                                    "recorded once" % b.get("ops_measured", 0)),
                ("second_thread_same_op_bytes", "A second thread records an operation already "
                                                "recorded (its own shard of it)"),
                ("wide_op_bytes", "One operation whose phases spread over 1 µs – 1 s "
                                  "(21 octaves × 16 values)"),
                ("file_bytes_after", "The slot file's size after %d operations"
                                     % (b.get("ops_measured", 0) + 1))):
            if key in b:
                out.append("| %s | %s |" % (label, fmt_bytes(b[key])))
        heap = "memory/one_record_per_thread/iterations:1/repeats:1"
        if r.has(heap):
            out.append("| (in-heap sink, for comparison: per operation and thread, "
                       "`bench_memory`) | %s |" % fmt_bytes(r.get(heap, "op_per_thread_bytes")))
        out.append("")
        out.append("No goal was set for these figures.")
        out.append("")
    return out


def false_sharing_note(r):
    """What the spaced layout says about the adjacent one (when both were measured)."""
    adj = shared_thread_ratio(r, SH_RECORD)
    spaced = shared_thread_ratio(r, SH_RECORD_SPACED)
    if adj is None or spaced is None:
        return []
    one, two = SH_RECORD + "/real_time/threads:1", SH_RECORD + "/real_time/threads:2"
    cpu1, cpu2 = r.get(one), r.get(two)
    s1, s2 = (r.get(SH_RECORD_SPACED + "/real_time/threads:1"),
              r.get(SH_RECORD_SPACED + "/real_time/threads:2"))
    out = ["Layout: each benchmark has a sink of its own whose first record the main thread "
           "made; the second thread's figures of the operation are laid out in the slot file "
           "when it first records, right after the first thread's. CPU per record, 1 → 2 "
           "threads: %s → %s in that layout, %s → %s when another operation was laid out in "
           "between (\"spaced\")." % (fmt_ns(cpu1), fmt_ns(cpu2), fmt_ns(s1), fmt_ns(s2))]
    if 2 * cpu1 / cpu2 < SHARED_SCALING_MIN <= 2 * s1 / s2:
        out[0] += (" The slot file hands out storage in whole 64-byte cache lines and starts "
                   "another thread's storage four lines further on (`Slot::alloc`), because a "
                   "core's next-line prefetchers pull in the lines just past what it writes: "
                   "with the second thread's shard right after the first thread's last bucket "
                   "block, its lock bounced between the cores on every record (1.43× before that "
                   "gap; `perf` showed the lock's exchange at 44 % of `record_shared`'s samples "
                   "against 14 % alone). If this paragraph shows, the gap no longer suffices.")
    out.append("")
    return out


def churn_cases(churn):
    return {c["name"]: c for c in churn.get("cases", [])}


def churn_ratio(churn, lib):
    cases = churn_cases(churn)
    a, b = cases.get(lib + "/churn"), cases.get(lib + "/none")
    if not (a and b):
        return None
    return a["cpu_ns"]["median"] / b["cpu_ns"]["median"]


def churn_section(churn, r=None):
    ctx = churn["context"]
    cases = churn_cases(churn)
    dirs = churn["directories"]
    out = ["### Worker churn: prometheus_client's multiprocess mode beside the shared directory",
           ""]
    out.append("`bench/python/bench_shared_churn.py`, Python %s, prometheus_client %s, "
               "boundarytrace %s (%s backend). For each library a directory with %d live workers "
               "only, and one where %s workers ran first, one after the other (each forked, "
               "records, exits), then the same %d live workers. A worker records, for each of %d "
               "operation names, %d operations: prometheus_client (`PROMETHEUS_MULTIPROC_DIR`) "
               "observes a Histogram (label `op`, default buckets) and increments a Counter; after "
               "each worker exits the parent calls `multiprocess.mark_process_dead(pid)`, as "
               "prometheus_client's documentation tells a gunicorn `child_exit` hook to. "
               "boundarytrace: `bt.Metrics.open_shared(dir)` and `Metrics.record` of the total and "
               "its four phases. Reads (what a `/metrics` endpoint does), %d rounds in shuffled "
               "order, CPU time per read (median): prometheus_client `generate_latest` of a "
               "registry holding a `MultiProcessCollector`; boundarytrace `bt.read_shared(dir)` "
               "(the merge) and `bt.read_shared(dir).export(\"prometheus\")`." % (
                   ctx["python"], ctx["prometheus_client"], ctx["boundarytrace"], ctx["backend"],
                   ctx["live_workers"], "{:,}".format(ctx["restarts"]), ctx["live_workers"],
                   ctx["ops_per_worker"], ctx["records_per_op"], ctx["rounds"]))
    out.append("")
    out.append("| Library, read | After 0 restarts | After %s restarts | After / before | Files "
               "after 0 | Files after %s | Restart cost |" % (
                   "{:,}".format(ctx["restarts"]), "{:,}".format(ctx["restarts"])))
    out.append("|---|---|---|---|---|---|---|")
    for lib, dlib, label in (
            ("prometheus", "prometheus", "prometheus_client, `generate_latest` (MultiProcessCollector)"),
            ("boundarytrace_merge", "boundarytrace", "boundarytrace (Python), `bt.read_shared`"),
            ("boundarytrace_export", "boundarytrace",
             "boundarytrace (Python), `bt.read_shared` + `export(\"prometheus\")`")):
        a, b = cases.get(lib + "/none"), cases.get(lib + "/churn")
        if not (a and b):
            continue
        d0, d1 = dirs.get(dlib + "/none", {}), dirs.get(dlib + "/churn", {})
        out.append("| %s | %s | %s | %.2f× | %s | %s | %.1f ms |" % (
            label, fmt_ns(a["cpu_ns"]["median"]), fmt_ns(b["cpu_ns"]["median"]),
            b["cpu_ns"]["median"] / a["cpu_ns"]["median"], d0.get("files", "?"),
            d1.get("files", "?"), d1.get("ms_per_restart", 0)))
    if r is not None and r.has(SH_MERGE % 0) and r.has(SH_MERGE % 2):
        m0, m2 = r.runs[SH_MERGE % 0]["median"], r.runs[SH_MERGE % 2]["median"]
        out.append("| boundarytrace (C, `bench_shared`), `bt_snapshot_read_shared`, after %s "
                   "restarts | %s | %s | %.2f× | %d | %d | %.1f ms |" % (
                       "{:,.0f}".format(m2.get("restarts", 0)), fmt_ns(r.get(SH_MERGE % 0)),
                       fmt_ns(r.get(SH_MERGE % 2)), r.get(SH_MERGE % 2) / r.get(SH_MERGE % 0),
                       m0.get("files", 0), m2.get("files", 0), m2.get("ms_per_restart", 0)))
    out.append("")
    pd = dirs.get("prometheus/churn", {})
    out.append("prometheus_client keeps a file per process and metric type (`histogram_<pid>.db`, "
               "`counter_<pid>.db`); `mark_process_dead` removes only the files of live-mode "
               "gauges, so every worker that ever ran leaves its files (%s after the restarts, "
               "against %s for the shared directory) and every scrape reads them all. The "
               "shared directory folds a gone worker's slot into `archive.bt` and reuses its "
               "file: the live workers' slots, the archive and a lock file." % (
                   fmt_bytes(pd.get("bytes", 0)),
                   fmt_bytes(dirs.get("boundarytrace/churn", {}).get("bytes", 0))))
    out.append("")
    return out


# --- snapshot + export at scale (bench/bench_export.cpp; issues 13 and 15) ----------------

EX_FORMATS = [
    ("text", "text report (`bt_snapshot_format`)"),
    ("openmetrics", "OpenMetrics (`BT_FORMAT_OPENMETRICS`)"),
    ("prometheus", "Prometheus text 0.0.4 (`BT_FORMAT_PROMETHEUS`)"),
    ("prometheus_protobuf", "Prometheus protobuf, native histograms (`BT_FORMAT_PROMETHEUS_PROTOBUF`)"),
    ("otlp_protobuf", "OTLP protobuf (`BT_FORMAT_OTLP_PROTOBUF`)"),
    ("json", "JSON (`BT_FORMAT_JSON`)"),
]
EX_SERIES = [  # (source, operation counts, what it is)
    ("heap_1thread", (100, 1000), "one in-heap sink (`bt_metrics_new`), 1 thread"),
    ("shared_10proc", (100, 1000, 10000),
     "a shared directory of 10 live worker processes, each with its own N/10 names"),
]
EX_FLEET = [  # (source, operation counts, what it is)
    ("heap_64threads", (100, 1000), "in-heap sink, 64 threads, each recording every operation"),
    ("shared_32proc", (100, 1000),
     "shared directory, 32 live processes, each recording every operation (a pre-fork server)"),
    ("shared_32proc_distinct", (1000, 10000),
     "shared directory, 32 live processes, each with its own ~N/32 names"),
]


def ex_name(source, ops, what):
    return "export/%s/ops:%d/%s" % (source, ops, what)


def ex_time(r, source, ops, what):
    name = ex_name(source, ops, what)
    return r.get(name) if r.has(name) else None


def ex_counter(r, source, ops, what, counter):
    name = ex_name(source, ops, what)
    return r.runs[name]["median"].get(counter) if r.has(name) else None


def ex_growth(r, source, a, b, what):
    """time(b operations) / time(a operations), or None."""
    ta, tb = ex_time(r, source, a, what), ex_time(r, source, b, what)
    return tb / ta if ta and tb else None


def ex_growth_note(r, source, counts, what):
    parts = []
    for a, b in zip(counts, counts[1:]):
        g = ex_growth(r, source, a, b, what)
        if g is not None:
            parts.append("%s → %s: %.2f×" % ("{:,}".format(a), "{:,}".format(b), g))
    return "; ".join(parts)


def fmt_ops(n):
    return "{:,}".format(n)


def export_targets(r):
    """Issue 15: a scrape of the 32-process shared directory under 50 ms, linear or
    better in operations (time per 10x operations at most 10x)."""
    rows = []
    for fmt, label in (("prometheus", "Prometheus text"),
                       ("prometheus_protobuf", "Prometheus protobuf")):
        t = ex_time(r, "shared_32proc", 100, "scrape:" + fmt)
        if t is not None:
            rows.append(("Fleet scrape: merge of a shared directory of 32 processes × 100 operations "
                         "+ %s export" % label, fmt_ns(t), "< %.0f ms" % (FLEET_SCRAPE_MAX_NS / 1e6),
                         t < FLEET_SCRAPE_MAX_NS))
        growths = {}
        for what in ("scrape_cold:", "scrape:"):
            notes = []
            for source, counts in (("shared_32proc", (100, 1000)),
                                   ("shared_32proc_distinct", (1000, 10000))):
                for a, b in zip(counts, counts[1:]):
                    g = ex_growth(r, source, a, b, what + fmt)
                    if g is not None:
                        growths.setdefault(what, []).append(g)
                        notes.append("%s → %s operations%s: %.2f×" % (
                            fmt_ops(a), fmt_ops(b),
                            "" if source == "shared_32proc" else " (distinct names per process)", g))
            growths[what + "notes"] = "; ".join(notes)
        # Judged on scrapes that find the caches cold, as a scraper polling every 15 s
        # does (bench_export.cpp, BM_Scrape): back to back, the smaller directory stays
        # cached between scrapes and the larger does not, which measures the cache.
        judged = "scrape_cold:" if growths.get("scrape_cold:") else "scrape:"
        if growths.get(judged):
            measured = growths[judged + "notes"]
            if judged == "scrape_cold:":
                measured = "caches evicted before each scrape: %s (back to back: %s)" % (
                    measured, growths["scrape:notes"] or "not measured")
            rows.append(("Fleet scrape (%s): growth per 10× operations, 32-process shared directory"
                         % label, measured, "≤ %.0f× (linear or better)" % EXPORT_GROWTH_MAX,
                         max(growths[judged]) <= EXPORT_GROWTH_MAX))
    return rows


def export_section(r):
    """docs/performance.md, "Snapshot and export at scale"."""
    if not any(name.startswith("export/") for name in r.runs):
        return ["Not measured in this run: no `bench_export.json`."]
    out = []
    out.append("`bench/bench_export.cpp` (issue 13's export table, issue 15's fleet scrape). Every "
               "operation name is distinct (`svc.endpoint_00042`) and recorded with four phases of "
               "service-like latencies, each log-uniform over three octaves around extract 5 µs, "
               "convert 40 µs, network 800 µs, materialize 20 µs (plus a little unattributed time, "
               "items, a GIL release, one error in 64), so every histogram holds a dozen buckets or "
               "more. `BT_MAX_OPS` is 1,024 per sink, so 10,000 operations come from a shared "
               "directory: live worker processes (forked, each `bt_metrics_open_shared`) that "
               "record and stay, merged by `bt_snapshot_read_shared` into one snapshot (the merge "
               "has no per-sink limit). A *scrape* is what an endpoint does per request: the "
               "snapshot (`bt_metrics_snapshot`, or the merge of the directory) + the export into "
               "a buffer kept from one scrape to the next + `bt_snapshot_free`; the snapshot "
               "alone and the export alone (of one snapshot) are measured beside it. CPU time, "
               "medians of interleaved repetitions, one run. Growth: time at 10× more operations "
               "/ time at the smaller count (linear would be 10×). Issue 13 sets no goal for these "
               "figures (time and bytes per operation, and their growth, are reported); issue 15's "
               "goal is a scrape of the 32-process shared directory under 50 ms, linear or better "
               "in operations (the rows below; also in Targets above).")
    out.append("")
    rows = export_targets(r)
    if rows:
        out += targets_table(rows)
        out.append("")
    for source, counts, what in EX_SERIES:
        if not any(r.has(ex_name(source, n, "snapshot")) for n in counts):
            continue
        out.append("### Time per scrape: %s" % what)
        out.append("")
        head = "| Scrape (snapshot + export) | " + " | ".join(
            "%s ops" % fmt_ops(n) for n in counts) + " | " + " | ".join(
            "%s → %s" % (fmt_ops(a), fmt_ops(b)) for a, b in zip(counts, counts[1:])) + " |"
        out.append(head)
        out.append("|---" * (1 + 2 * len(counts) - 1) + "|")
        snap_label = ("the snapshot alone (`bt_metrics_snapshot` + free)" if source.startswith("heap")
                      else "the merge alone (`bt_snapshot_read_shared` + free)")
        lines = [("snapshot", snap_label)] + [("scrape:" + f, l) for f, l in EX_FORMATS]
        for what_, label in lines:
            cells = [fmt_ns(ex_time(r, source, n, what_)) if ex_time(r, source, n, what_) else "–"
                     for n in counts]
            grow = []
            for a, b in zip(counts, counts[1:]):
                g = ex_growth(r, source, a, b, what_)
                grow.append("%.2f×" % g if g else "–")
            out.append("| %s | %s | %s |" % (label, " | ".join(cells), " | ".join(grow)))
        out.append("")
        out.append("The export alone (of a snapshot taken once), and its size per operation:")
        out.append("")
        out.append("| Export | " + " | ".join("%s ops" % fmt_ops(n) for n in counts) + " | " +
                   " | ".join("%s → %s" % (fmt_ops(a), fmt_ops(b)) for a, b in zip(counts, counts[1:]))
                   + " | " + " | ".join("bytes / op at %s" % fmt_ops(n) for n in counts) + " |")
        out.append("|---" * (1 + 3 * len(counts) - 1) + "|")
        for f, label in EX_FORMATS:
            what_ = "export:" + f
            cells = [fmt_ns(ex_time(r, source, n, what_)) if ex_time(r, source, n, what_) else "–"
                     for n in counts]
            grow = []
            for a, b in zip(counts, counts[1:]):
                g = ex_growth(r, source, a, b, what_)
                grow.append("%.2f×" % g if g else "–")
            sizes = []
            for n in counts:
                b = ex_counter(r, source, n, what_, "bytes_per_op")
                tot = ex_counter(r, source, n, what_, "bytes")
                sizes.append("%s (%s)" % (fmt_bytes(b), fmt_bytes(tot)) if b else "–")
            out.append("| %s | %s | %s | %s |" % (label, " | ".join(cells), " | ".join(grow),
                                                  " | ".join(sizes)))
        out.append("")
    if any(r.has(ex_name(s, n, "snapshot")) for s, counts, _ in EX_FLEET for n in counts):
        out.append("### Fleet scale (issue 15)")
        out.append("")
        out.append("1,000 operations recorded by 64 threads alive at once into one in-heap sink "
                   "(each thread records every operation twice: 64 shards per operation for the "
                   "snapshot to add up), and shared directories of 32 live worker processes: each "
                   "recording the same 100 or 1,000 names 4 times (a pre-fork server whose workers "
                   "all serve every endpoint: the merge folds 32 × N per-process aggregates into "
                   "N), or each its own ~N/32 names (10,000 operations = 32 × ~313 names; one "
                   "sink holds at most 1,024). Time per scrape (snapshot or merge + export + "
                   "free), size per operation in brackets.")
        out.append("")
        out.append("| Source | Operations | Snapshot / merge alone | " + " | ".join(
            "Scrape, %s" % l.split(" (")[0] for f, l in EX_FORMATS) + " |")
        out.append("|---|---|---|" + "---|" * len(EX_FORMATS))
        for source, counts, what in EX_FLEET:
            for n in counts:
                if not r.has(ex_name(source, n, "snapshot")):
                    continue
                cells = [fmt_ns(ex_time(r, source, n, "snapshot"))]
                for f, _ in EX_FORMATS:
                    t = ex_time(r, source, n, "scrape:" + f)
                    b = ex_counter(r, source, n, "scrape:" + f, "bytes_per_op")
                    cells.append("%s (%s/op)" % (fmt_ns(t), fmt_bytes(b)) if t else "–")
                out.append("| %s | %s | %s |" % (what, fmt_ops(n), " | ".join(cells)))
        out.append("")
        out.append("Growth per 10× operations (time at 10× / time at 1×; linear would be 10×):")
        out.append("")
        out.append("| Source | Step | Snapshot / merge alone | " + " | ".join(
            "Scrape, %s" % l.split(" (")[0] for f, l in EX_FORMATS) + " |")
        out.append("|---|---|---|" + "---|" * len(EX_FORMATS))
        for source, counts, what in EX_FLEET:
            for a, b in zip(counts, counts[1:]):
                g = ex_growth(r, source, a, b, "snapshot")
                if g is None:
                    continue
                cells = ["%.2f×" % g]
                for f, _ in EX_FORMATS:
                    gf = ex_growth(r, source, a, b, "scrape:" + f)
                    cells.append("%.2f×" % gf if gf else "–")
                out.append("| %s | %s → %s | %s |" % (what, fmt_ops(a), fmt_ops(b), " | ".join(cells)))
        out.append("")
        cold = [(f, l) for f, l in EX_FORMATS
                if any(r.has(ex_name(s_, n, "scrape_cold:" + f)) for s_, counts, _ in EX_FLEET for n in counts)]
        if cold:
            out.append("The same scrapes with the caches evicted before each (a 512 MiB buffer read, "
                       "untimed), as a scraper polling every 15 s finds them; growth per 10× "
                       "operations in brackets:")
            out.append("")
            out.append("| Source | Operations | " + " | ".join("Scrape, %s" % l.split(" (")[0] for f, l in cold) + " |")
            out.append("|---|---|" + "---|" * len(cold))
            for source, counts, what in EX_FLEET:
                prev = None
                for n in counts:
                    cells = []
                    for f, _ in cold:
                        t = ex_time(r, source, n, "scrape_cold:" + f)
                        g = ex_growth(r, source, prev, n, "scrape_cold:" + f) if prev else None
                        cells.append((fmt_ns(t) + (" (%.2f×)" % g if g else "")) if t else "–")
                    if any(c != "–" for c in cells):
                        out.append("| %s | %s | %s |" % (what, fmt_ops(n), " | ".join(cells)))
                    prev = n
            out.append("")
    out += EXPORT_GROWTH_NOTE
    return out


# What profiling found after the merge, the snapshot and the protobuf export
# were reworked (commits 31e5cea..c22314e). Not measured by bench/run: profile
# again (see bench_export.cpp's header) when cpp_impl/ changes.
EXPORT_GROWTH_NOTE = [
    "Why back-to-back scrapes grow faster than the operations (profiled at commits 31e5cea–448b404; "
    "callgrind counts instructions and models a 4 MiB last-level cache, rdtsc brackets time the "
    "steps, the virtual machine exposes no cache counters): the instructions per operation are "
    "flat, and what grows is where the bytes come from. This machine reads every third line of a "
    "buffer at 0.70 ns a line in 4 MiB, 2.3 ns in 16 MiB, 2.6 ns in 64 MiB and 6.6 ns in 256 MiB: "
    "it keeps some 64 MiB close, whatever the 480 MiB of L3 it reports. The 32-process "
    "directories hold 22.6 MiB of slot files at 100 operations and 221 MiB at 1,000; the merge "
    "reads about 35 lines of a file per operation and writer thread (it read 125 before the "
    "reader skipped the unused offsets and blocks), and the snapshot of 10,000 operations is "
    "some 40 MiB. So a scrape of the small directory finds what the last one read, and a scrape "
    "of the large one reads from memory: per operation, staging a file took 2.1k cycles at 100 "
    "operations and 4.6k at 1,000 (32 × the same names), 3.7k and 5.5k at 1,000 and 10,000 "
    "(distinct names), each step alike. A scrape every 15 s finds neither in the cache: with the "
    "caches evicted before each, the growth is the table above, and that is what the target "
    "judges.",
    "",
    "The 64-thread in-heap sink grows the same way for the same reason: its 64 shards per "
    "operation take some 17 MiB at 100 operations and 176 MiB at 1,000 (the benchmark's resident "
    "size less an empty run's, measured 2026-12-07), and the snapshot reads every shard, so its "
    "back-to-back snapshot grows some 20× and its cold scrape within 10× (tables above). Reading "
    "of each shard's histograms only the buckets between those of its minimum and maximum, as the "
    "shared merge does, took fewer instructions but was slower here (38 → 50 ms at 1,000 "
    "operations, A/B), probably because with two samples per shard the ranges vary from shard to shard "
    "while the whole-range adds it replaced have the same length every time. Not kept.",
    "",
]


# --- render ------------------------------------------------------------------------------

def cmd_render(args):
    r = Results(args.results)
    if r.errors:
        print("report.py: benchmark errors:\n  " + "\n  ".join(r.errors), file=sys.stderr)
        return 1
    m = json.loads(Path(args.results, "machine.json").read_text())
    ctx = next(iter(r.context.values()), {})
    def reps_of(name):
        return r.repetitions(name) if r.has(name) else 1
    reps = reps_of("op/full/boundarytrace_bound")
    scaling_reps = reps_of("record/boundarytrace/real_time/threads:1")
    rows = targets(r, args.results)
    met = sum(1 for row in rows if row[3])
    unclear = sum(1 for row in rows if row[3] is None)

    L = []
    L.append("# Performance")
    L.append("")
    L.append("Generated by `bench/run` (the benchmarks are in [`bench/`](../bench/)); do not "
             "edit by hand, run the command again. `bench/run --smoke` only checks that every "
             "benchmark runs.")
    L.append("")
    L.append("## Machine and run")
    L.append("")
    L.append("| | |")
    L.append("|---|---|")
    L.append("| Date | %s |" % m["date"])
    cores = m["cpus"]
    if m.get("cores_per_socket"):
        cores += " (%s cores per socket, %s thread%s per core)" % (
            m["cores_per_socket"], m["threads_per_core"],
            "" if m["threads_per_core"] == "1" else "s")
    L.append("| CPU | %s%s |" % (m["cpu_model"],
                                  ", virtual machine (%s)" % m["hypervisor"] if m["hypervisor"] else ""))
    L.append("| CPUs | %s |" % cores)
    L.append("| Kernel | %s (%s), kernel clocksource `%s` |" % (m["kernel"], m["os"],
                                                               m["kernel_clocksource"]))
    L.append("| boundarytrace clock (`bt_clock_source()`) | `%s` |" % ctx.get("bt_clock_source", "?"))
    L.append("| boundarytrace | %s, commit %s |" % (ctx.get("bt_version", "?"), m["commit"]))
    L.append("| Build | %s, %s; Google Benchmark library build: %s |" % (
        m["build_type"], m["compiler"], ctx.get("library_build_type", "?")))
    L.append("| Load average at start | %s |" % ", ".join(str(x) for x in m["load_average"]))
    if m.get("scaling_attempts", "1") != "1":
        L.append("| Scaling runs | attempt %s kept; earlier attempts discarded because their "
                 "control showed fewer than two free cores (`discarded-*.json`) |"
                 % m["scaling_attempts"])
    for key in sorted(k for k in m if k.startswith("rerun:")):
        L.append("| Re-run since: %s | %s (the rest of this page is from the run above) |" % (
            ", ".join("`%s`" % x for x in key[len("rerun:"):].split(",")), m[key]))
    if m.get("shared_attempts", "1") != "1":
        L.append("| Shared-sink runs | attempt %s kept; earlier attempts discarded because a "
                 "control showed fewer than two free cores (`discarded-*.json`) |"
                 % m["shared_attempts"])
    L.append("| Scheduling priority of the benchmarks | %s |" % (
        "`%s` (other work on the machine mostly yields to them)" % m["priority"]
        if m.get("priority", "none") != "none" else "default (not allowed to raise it)"))
    L.append("| Repetitions | %d per benchmark (%d shorter ones for scaling), medians, in random "
             "interleaved order |" % (reps, scaling_reps))
    L.append("")
    L.append("## Targets")
    L.append("")
    L.append("%d of %d met in this run%s." % (
        met, len(rows), "; %d not measurable on this run's machine load" % unclear if unclear else ""))
    L.append("")
    L += targets_table(rows)
    L.append("")
    L += by_name_note(r)
    L.append("## How to read")
    L.append("")
    L.append("- Every ratio divides two figures from the same run, measured side by side: the "
             "floor, boundarytrace and the baselines run in one process, their repetitions "
             "interleaved in random order, so a change of load on the machine hits all alike.")
    L.append("- Single-thread figures are the benchmark thread's CPU time (median): on a shared "
             "machine, time the thread spends descheduled does not count. Wall time and the "
             "coefficient of variation (CV) across repetitions are shown beside it.")
    L.append("- Scaling figures are wall-time rates (`items_per_second`, Google Benchmark "
             "`UseRealTime`) of 1 and 2 threads recording into one operation. The machine has "
             "two CPUs shared with other work, so the same run measures a control, "
             "`control/private_work`, that shares nothing: its ratio is the most any "
             "implementation could reach in this run. Rates are medians over repetitions. "
             "Should the control's median stay below the 1.8× goal, the target is judged on "
             "the least disturbed repetitions (highest 2-thread rate / highest 1-thread rate), "
             "provided the control reached 1.8× there too; otherwise it is marked not "
             "measurable.")
    L.append("- The CPU-normalised column, 2 × (CPU per op at 1 thread) / (CPU per op at 2 "
             "threads), shows contention (cache-line transfers cost CPU time) independently of "
             "how often the threads were descheduled, but only if the two threads really ran "
             "at the same time: the seed design, whose every record writes one shared cache "
             "line, is the witness — if its CPU per record does not rise with 2 threads, they "
             "rarely overlapped.")
    L.append("- The floor is the raw clock reads a full operation needs: 10 (creation, 8 phase "
             "edges, finish), with the library's own source (`rdtsc` when `bt_clock_source()` is "
             "\"tsc\", else `clock_gettime(CLOCK_MONOTONIC)`), and with `CLOCK_MONOTONIC`.")
    L.append("- Baselines live in `bench/` for comparison only: `baseline_seed.hpp` is a faithful "
             "port of the seed design (`steady_clock` in whole microseconds, one global "
             "`std::atomic<uint64_t>` per field, seven relaxed `fetch_add` per record, one set "
             "of sums for all operations, no distributions); `baseline_mutex.hpp` aggregates the "
             "same data as boundarytrace (per-operation map, counters, histogram per phase and "
             "total) under one `std::mutex`.")
    L.append("")
    L.append("## Per call")
    L.append("")
    L += per_call_section(r)
    L.append("")
    L.append("## Scaling: 1 and 2 threads recording into one operation")
    L.append("")
    L += scaling_section(r)
    L.append("")
    control = control_ratio(r)
    if control is not None and control < RECORD_SCALING_MIN:
        L.append("In this run the machine was busy: the control, which shares nothing, reached "
                 "only %.2f× with its median repetitions, so the medians above show the load, "
                 "not the implementations. The least disturbed repetitions gave the control "
                 "%.2f× and the boundarytrace record step %.2f× (the Targets row). Run "
                 "`bench/run` on a quiet machine for clean medians."
                 % (control, control_ratio(r, True),
                    scaling_ratio(r, "record/boundarytrace", True)))
        L.append("")
    L.append("The record step is `bt_metrics_record()` with a prepared `bt_timing` (it validates "
             "and looks the operation name up on every call); the seed design's record is its "
             "seven `fetch_add`s, the mutex aggregator's is lock, map lookup, update.")
    L.append("")
    L.append("## Snapshot and formatting of 100 operations")
    L.append("")
    L.append("100 operations, each recorded 16 times per thread by 1, 2 or 8 threads that were "
             "alive at once (so each thread wrote its own shards); times are CPU time per call, "
             "output size in brackets.")
    L.append("")
    L += snapshot_section(r)
    L.append("")
    L.append("## Snapshot and export at scale: 100, 1,000 and 10,000 operations")
    L.append("")
    L += export_section(r)
    L.append("")
    L.append("## Memory")
    L.append("")
    L.append("glibc heap in use (`mallinfo2()`: `uordblks + hblkhd`) before and after each step, "
             "in one process with one malloc arena and glibc's thread cache off "
             "(`GLIBC_TUNABLES=glibc.malloc.tcache_count=0:glibc.malloc.arena_max=1`, so freed "
             "chunks do not count as in use). Thread stacks are mmap'ed by glibc and not counted.")
    L.append("")
    L += memory_section(r)
    L.append("")
    co = Path(args.results, "compiled_out.json")
    if co.exists():
        c = json.loads(co.read_text())
        L.append("## Compile-time off switch")
        L.append("")
        L.append("`bench/compiled_out.c` traces full operations in a loop and is compiled with "
                 "`-DBT_DISABLE_TRACING`. `nm` on its object file lists %s; `objdump -d` of "
                 "`bench_compiled_out_ops` shows:" % (
                     "no `bt_` symbol" if not c["bt_symbols"] else
                     "these `bt_` symbols: " + ", ".join(c["bt_symbols"])))
        L.append("")
        L.append("```")
        L += c["instructions"] or ["(function not found)"]
        L.append("```")
        L.append("")
        L.append("Undefined symbols of the object: %s." % (
            ", ".join("`%s`" % s for s in c["undefined_symbols"]) or "none"))
        L.append("")
    cg = callgrind_section(args.results)
    if cg:
        L.append("## Instruction counts (callgrind)")
        L.append("")
        L.append("`valgrind --tool=callgrind` over `bench/profile_hot_path.cpp`, counting only the "
                 "measured loop (`--toggle-collect=profile_counted`). Instruction counts are "
                 "repeatable on a noisy machine; they do not show stalls (atomics, cache misses) "
                 "or the cost of the clock read itself (`rdtsc` counts as one instruction).")
        L.append("")
        L += cg
        L.append("")
    L.append("## Peers (C++): prometheus-cpp")
    L.append("")
    L += peers_section(r, args.results)
    L.append("")
    L.append("## Shared sink (many processes)")
    L.append("")
    L += shared_section(r, args.results)
    L.append("")
    L.append("## Python")
    L.append("")
    L += python_section(args.results)
    L.append("")
    L.append("## Reproduce")
    L.append("")
    L.append("```sh")
    L.append("bench/run            # Release build in build-bench/, results in build-bench/results/, "
             "writes this file")
    L.append("bench/run --smoke    # every benchmark once with a tiny count; this file untouched")
    L.append("bench/run --only bench_shared,python:shared   # the shared sink's benchmarks alone; "
             "the other results stay")
    L.append("bench/run --only bench_export   # snapshot + export at 100, 1,000 and 10,000 "
             "operations alone; the other results stay")
    L.append("bench/run --only bench_peers,python:ops   # the peers alone (prometheus-cpp; "
             "prometheus_client, OpenTelemetry SDK); the other results stay")
    L.append("```")
    L.append("")
    L.append("The raw Google Benchmark JSON of this run is in `build-bench/results/`. CTest runs "
             "the smoke test as `bench_smoke` (label `bench`) in a build configured with "
             "`-DBT_BUILD_BENCH=ON -DBT_BUILD_TESTS=ON`.")
    Path(args.out).write_text("\n".join(L) + "\n")
    print("wrote %s" % args.out)
    return 0


def cmd_targets(args):
    r = Results(args.results)
    for target, measured, goal, ok in targets(r, args.results):
        status = "met" if ok else ("UNCLEAR" if ok is None else "MISSED")
        print("%-8s %s: %s (goal %s)" % (status, target, measured, goal))
    return 0


def cmd_summary(args):
    data = json.loads(Path(args.file).read_text())
    bad = 0
    aggregated = {b["run_name"] for b in data.get("benchmarks", [])
                  if b.get("run_type") == "aggregate"}
    for b in data.get("benchmarks", []):
        if b.get("error_occurred"):
            print("  ERROR %s: %s" % (b.get("name"), b.get("error_message")))
            bad += 1
            continue
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") != "median":
                continue
        elif b.get("run_name") in aggregated:
            continue
        unit = b.get("time_unit", "ns")
        extra = ""
        if "items_per_second" in b:
            extra = "  %s" % fmt_rate(b["items_per_second"])
        print("  %-62s cpu %10.1f %s  wall %10.1f %s%s" % (
            b["name"], b["cpu_time"], unit, b["real_time"], unit, extra))
    return 1 if bad else 0


def cmd_control_ok(args):
    r = Results(Path(args.file).parent, [Path(args.file)])
    controls = [("2 threads / 1 thread", control_ratio(r)),
                ("shared sink, 2 threads / 1 thread", shared_thread_ratio(r, SH_CONTROL)),
                ("shared sink, 2 processes / 1 process", shared_process_ratio(r, SH_PROC_CONTROL)),
                ("peers, 2 threads / 1 thread", scaling_ratio(r, PEER_CONTROL))]
    good = True
    for label, control in controls:
        if control is None:
            continue
        print("  parallel control: %s = %.2f× (needs %.1f×)" % (label, control, RECORD_SCALING_MIN))
        good = good and control >= RECORD_SCALING_MIN
    return 0 if good else 1


def cmd_run_stamp(args):
    root = Path(__file__).resolve().parent.parent
    commit = run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"]).strip()
    if commit and run(["git", "-C", str(root), "status", "--porcelain"]).strip():
        commit += " + uncommitted changes"
    print("%s, commit %s, load average %s" % (
        datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), commit,
        ", ".join("%.2f" % x for x in os.getloadavg())))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("machine")
    s.add_argument("--build", required=True)
    s = sub.add_parser("note")
    s.add_argument("results")
    s.add_argument("key")
    s.add_argument("value")
    s = sub.add_parser("compiled-out")
    s.add_argument("object")
    s = sub.add_parser("compiled-out-summary")
    s.add_argument("file")
    s = sub.add_parser("summary")
    s.add_argument("file")
    s = sub.add_parser("control-ok")
    s.add_argument("file")
    s = sub.add_parser("render")
    s.add_argument("results")
    s.add_argument("out")
    s = sub.add_parser("targets")
    s.add_argument("results")
    s = sub.add_parser("python-summary")
    s.add_argument("file")
    s = sub.add_parser("run-stamp")
    s.add_argument("--build", required=False)
    args = p.parse_args()
    handler = {
        "machine": cmd_machine,
        "note": cmd_note,
        "compiled-out": cmd_compiled_out,
        "compiled-out-summary": cmd_compiled_out_summary,
        "summary": cmd_summary,
        "control-ok": cmd_control_ok,
        "render": cmd_render,
        "targets": cmd_targets,
        "python-summary": cmd_python_summary,
        "run-stamp": cmd_run_stamp,
    }[args.cmd]
    return handler(args) or 0


if __name__ == "__main__":
    sys.exit(main())
