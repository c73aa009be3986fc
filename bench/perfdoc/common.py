"""Shared by every section: the targets' thresholds, the benchmark results
(Results), formatting, scaling ratios and callgrind counts."""


import json
import re
import subprocess
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


def round_spread(rounds):
    """" (per round lo–hi×, n rounds)": the spread behind a ratio of medians."""
    if len(rounds) < 2:
        return ""
    return " (per round %.2f–%.2f×, %d rounds)" % (min(rounds), max(rounds), len(rounds))


def targets_table(rows):
    out = ["| Target | Measured | Goal | Status |", "|---|---|---|---|"]
    for target, measured, goal, ok in rows:
        out.append("| %s | %s | %s | %s |" % (target, measured, goal, verdict(ok)))
    return out


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

def load_python(directory):
    path = Path(directory, "python.json")
    return json.loads(path.read_text()) if path.exists() else None
