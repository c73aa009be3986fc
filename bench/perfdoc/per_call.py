"""The C per-call benchmarks (bench_per_call, bench_scaling, bench_memory):
their targets and sections, and the callgrind instruction counts."""


import json
from pathlib import Path

from .common import (
    CALLS_PER_OP, CLOCK_READS_PER_OP, control_ratio, FLOOR_RATIO_MAX, fmt_bytes, fmt_cv,
    fmt_ns, fmt_rate, MEMORY_PER_OP_THREAD_MAX, OFF_SWITCH_MAX_NS, read_callgrind,
    RECORD_SCALING_MIN, round_spread, scaling_ratio, SEED_SPEEDUP_MIN)

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


def per_call_targets(r, directory):
    """Rows (target, measured, goal, met) of the per-call, scaling and memory benchmarks."""
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
    return rows


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
