"""The commands of ``boundarytrace`` (see the package's docstring and docs/cli.md)."""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import tempfile
import threading
from typing import Callable, List, Optional, Sequence, Tuple

from ._budget import BudgetError, check_snapshot, default_budget_path, load_budget
from ._html_report import render_html
from ._snapshot_file import (GIL_WAIT, Dist, OpData, SnapshotData, SnapshotFileError, load_snapshot,
                             shared_dir_error)
from ._units import (UsageError, columns, format_duration, parse_duration, parse_percent,
                     percent, plural)

__all__ = ["main", "build_parser", "render_report", "render_diff"]

PROG = "boundarytrace"


def _arg(parse: Callable[[str, str], object], what: str) -> Callable[[str], object]:
    """An argparse type from a parser that raises UsageError."""
    def convert(text: str) -> object:
        try:
            return parse(text, what)
        except UsageError as exc:  # argparse names the option itself
            raise argparse.ArgumentTypeError(str(exc).replace(f"{what}: ", "", 1)) from None
    convert.__name__ = what
    return convert


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must not be negative")
    return value


# --- report: the per-operation table ------------------------------------------------------

def _gil_word(held: Optional[bool]) -> str:
    return "" if held is None else ("held" if held else "released")


def _dist_row(label: str, gil: str, d: Dist, op_total: int) -> List[str]:
    q = d.quantiles()
    return [label, gil, format_duration(d.sum_ns), percent(d.sum_ns, op_total), str(d.entries),
            format_duration(d.mean_ns), format_duration(q["p50"]), format_duration(q["p90"]),
            format_duration(q["p99"]), format_duration(q["p99.9"]), format_duration(d.max_ns)]


def _lpad(s: str, n: int) -> str:
    return s.ljust(n)


def _rpad(s: str, n: int) -> str:
    return s.rjust(n)


def _table_line(row: Sequence[str]) -> str:
    """One row in the column layout of the library's report (bt_snapshot_format)."""
    label, gil, time, share, entries, *rest = row
    return ("  " + _lpad(label, 13) + " " + _lpad(gil, 8) + _rpad(time, 11) + " " +
            _rpad(share, 6) + " " + _rpad(entries, 8) + "".join(_rpad(c, 10) for c in rest))


def op_header(op: OpData) -> str:
    """"insert_many: 15 ops, 0 errors, 5550 items (284 ns/item), ..."."""
    line = (f"{op.name}: {plural(op.count, 'op')}, {plural(op.errors, 'error')}, "
            f"{op.items} items")
    if op.items:
        line += f" ({format_duration(op.total_ns // op.items)}/item)"
    if op.workers_max > 1:
        line += (f", up to {op.workers_max} workers "
                 f"({plural(op.parallel_ops, 'parallel op')})")
    if op.left_open:
        line += f", {op.left_open} left a phase open"
    return line


def render_op(op: OpData, snap: SnapshotData) -> List[str]:
    """The block of one operation: header, phase table, unattributed, total, GIL line."""
    lines = [op_header(op)]
    if op.count == 0:
        return lines
    head = ("  " + _lpad("phase", 13) + " " + _lpad("GIL", 8) + _rpad("time", 11) + " " +
            _rpad("share", 7) + _rpad("entries", 8) +
            "".join(_rpad(c, 10) for c in ("mean", "p50", "p90", "p99", "p99.9", "max")))
    lines.append(head)
    for name, d in op.phases.items():
        held = snap.phase_gil.get(name, d.gil_held)
        lines.append(_table_line(_dist_row(name, _gil_word(held) or "?", d, op.total_ns)))
    if op.gil_wait.count:  # its own row, as in the library's report
        lines.append(_table_line(_dist_row(GIL_WAIT, "", op.gil_wait, op.total_ns)))
    un = ("  " + _lpad("unattributed", 13) + " " + _lpad("", 8) +
          _rpad(format_duration(op.unattributed_ns), 11) + " " +
          _rpad(percent(op.unattributed_ns, op.total_ns), 6))
    lines.append(un)
    lines.append(_table_line(_dist_row("total", "", op.total, op.total_ns)))
    lines.append(f"  GIL held {percent(op.gil_held_ns, op.total_ns)}, released "
                 f"{percent(op.gil_released_ns, op.total_ns)}, wait "
                 f"{format_duration(op.gil_wait_ns)} ({percent(op.gil_wait_ns, op.total_ns)}) "
                 f"over {plural(op.gil_releases, 'release')}")
    return lines


def render_report(snap: SnapshotData, ops: Optional[Sequence[str]] = None) -> str:
    """The text report of a snapshot file: the library's report (bt_snapshot_format),
    with the GIL wait also as a share of the time."""
    chosen = _select_ops(snap, ops)
    head = (f"boundarytrace: {plural(len(chosen), 'operation')} over "
            f"{format_duration(snap.duration_ns)}")
    if snap.processes:
        head += f" (shared directory: {plural(snap.processes, 'process', 'processes')})"
    out = [head]
    for op in chosen:
        out.append("")
        out.extend(render_op(op, snap))
    return "\n".join(out) + "\n"


def _select_ops(snap: SnapshotData, names: Optional[Sequence[str]]) -> List[OpData]:
    if not names:
        return list(snap.ops.values())
    missing = [n for n in names if n not in snap.ops]
    if missing:
        raise UsageError(f"{snap.source}: no operation named {', '.join(map(repr, missing))} "
                         f"(it has {', '.join(map(repr, snap.ops)) or 'none'})")
    return [snap.ops[n] for n in names]


# --- diff: p50 and p99 before and after ------------------------------------------------------

#: The percentiles diff compares: label -> Dist attribute.
DIFF_QUANTILES = (("p50", "p50_ns"), ("p99", "p99_ns"))


def _change(base: int, new: int) -> float:
    if base == 0:
        return 0.0 if new == 0 else math.inf
    return (new - base) / base


def _fmt_change(c: float) -> str:
    return "+inf%" if c == math.inf else f"{100.0 * c:+.1f}%"


class DiffResult:
    """What ``diff`` found: the text, and the regressions that fail the gate."""

    def __init__(self) -> None:
        self.lines: List[str] = []
        self.regressions: List[str] = []
        self.compared = 0


def render_diff(base: SnapshotData, new: SnapshotData, max_regress: float, min_count: int = 1,
                min_delta_ns: int = 0) -> DiffResult:
    """Compares p50 and p99 of every operation's total and phases.

    A row regresses when a percentile grew by more than ``max_regress`` (a
    fraction), by more than ``min_delta_ns``, and both sides have at least
    ``min_count`` samples. Rows present in one file only are listed, never
    failed.
    """
    res = DiffResult()
    out = res.lines
    out.append(f"boundarytrace diff: {base.source} -> {new.source}")
    out.append(f"gate: p50 and p99 may grow by at most {100.0 * max_regress:.1f}%"
               + (f" and {format_duration(min_delta_ns)}" if min_delta_ns else "")
               + f" (rows with at least {plural(min_count, 'sample')} on both sides)")
    names = sorted(set(base.ops) | set(new.ops))
    for name in names:
        a, b = base.ops.get(name), new.ops.get(name)
        out.append("")
        if a is None or b is None:
            where, present = ("new", b) if a is None else ("base", a)
            count = present.count if present is not None else 0
            out.append(f"{name}: only in {where} ({plural(count, 'op')}; not compared)")
            continue
        out.append(f"{name}: {plural(a.count, 'op')} -> {plural(b.count, 'op')}")
        rows: List[List[str]] = [["phase", "p50 base", "p50 new", "change", "p99 base",
                                  "p99 new", "change", "verdict"]]
        order = ["total"] + list(b.phases) + [p for p in a.phases if p not in b.phases]
        if a.gil_wait.count or b.gil_wait.count:
            order.append(GIL_WAIT)
        for phase in order:
            da, db = a.dist(phase), b.dist(phase)
            if da is None or db is None:
                side = "new" if da is None else "base"
                rows.append([phase, "", "", "", "", "", "", f"only in {side}"])
                continue
            res.compared += 1
            cells: List[str] = [phase]
            marks: List[str] = []
            gated = da.count >= min_count and db.count >= min_count
            for label, attr in DIFF_QUANTILES:
                va, vb = getattr(da, attr), getattr(db, attr)
                c = _change(va, vb)
                cells += [format_duration(va), format_duration(vb), _fmt_change(c)]
                if c > max_regress:
                    if not gated:
                        marks.append(f"slower {label} (too few samples)")
                    elif vb - va <= min_delta_ns:
                        marks.append(f"slower {label} (within {format_duration(min_delta_ns)})")
                    else:
                        marks.append(f"SLOWER {label}")
                        res.regressions.append(f"{name} {phase} {label} {format_va(va, vb)} "
                                               f"({_fmt_change(c)})")
                elif c < -max_regress:
                    marks.append(f"faster {label}")
            cells.append(", ".join(marks))
            rows.append(cells)
        out.extend("  " + line for line in columns(rows, left=1, last_left=True))
    out.append("")
    limit = f"{100.0 * max_regress:.1f}%"
    if res.regressions:
        out.append(f"FAIL: {plural(len(res.regressions), 'regression')} past {limit}:")
        out.extend(f"  {r}" for r in res.regressions)
    else:
        out.append(f"OK: no p50 or p99 regressed past {limit} "
                   f"({plural(res.compared, 'row')} compared)")
    return res


def format_va(a: int, b: int) -> str:
    """"30.2 µs -> 45.1 µs"."""
    return f"{format_duration(a)} -> {format_duration(b)}"


# --- commands ------------------------------------------------------------------------------

def _write_atomically(path: str, text: str) -> None:
    """Writes text to path through a temporary file beside it and a rename."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # as open() would make it, not mkstemp's 0600
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# Each command returns (text for standard output, exit code): the code is
# settled before anything is printed, so a closed pipe cannot change it.

def cmd_report(args: argparse.Namespace) -> Tuple[str, int]:
    snap = load_snapshot(args.snapshot)
    if args.html:
        ops = _select_ops(snap, args.op)
        page = render_html(snap, ops, _version())
        try:
            _write_atomically(args.html, page)
        except OSError as exc:
            raise UsageError(f"cannot write {args.html}: {exc.strerror or exc}") from None
        return f"wrote {args.html} ({plural(len(ops), 'operation')})\n", 0
    return render_report(snap, args.op), 0


def cmd_diff(args: argparse.Namespace) -> Tuple[str, int]:
    base = load_snapshot(args.base)
    new = load_snapshot(args.new)
    res = render_diff(base, new, args.max_regress, args.min_count, args.min_delta)
    return "\n".join(res.lines) + "\n", 1 if res.regressions else 0


def cmd_check(args: argparse.Namespace) -> Tuple[str, int]:
    snap = load_snapshot(args.snapshot)
    path = args.budget or default_budget_path()
    try:
        budget = load_budget(path)
    except BudgetError as exc:
        raise UsageError(str(exc)) from None
    label = path if args.budget else f"default ({path})"
    result = check_snapshot(snap, budget, label)
    text = "\n".join(result.lines(strict=args.strict)) + "\n"
    return text, 1 if result.failed(strict=args.strict) else 0


# --- trace and serve: a shared directory through the library -------------------------------

def cmd_trace(args: argparse.Namespace) -> Tuple[str, int]:
    """The flight recorder of one process of a shared directory, as Chrome
    Trace Event JSON, on standard output or into a file."""
    import boundarytrace as bt

    try:
        text = bt.timeline_export_shared(args.dir, args.pid)
    except bt.NotFoundError:
        raise SnapshotFileError(
            f"{args.dir}: no flight recorder of process {args.pid} (it recorded nothing there "
            f"with the timeline on, or its recorder was older than the four kept)") from None
    except bt.FileIOError as exc:
        raise SnapshotFileError(shared_dir_error(args.dir, exc)) from None
    if not args.output:
        return text if text.endswith("\n") else text + "\n", 0
    try:
        _write_atomically(args.output, text)
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    ops = sum(1 for e in json.loads(text).get("traceEvents", [])
              if e.get("ph") == "X" and e.get("cat") == "operation")
    return f"wrote {args.output} ({plural(ops, 'operation')} of process {args.pid})\n", 0


def _sidecar_dir(args: argparse.Namespace) -> str:
    directory: str = args.dir or os.environ.get("BOUNDARYTRACE_SHARED_DIR", "")
    if not directory:
        raise UsageError("no directory: give DIR, or set BOUNDARYTRACE_SHARED_DIR")
    return directory


def _sidecar_source(args: argparse.Namespace, call: str) -> Tuple[str, Callable[[], object]]:
    """A sidecar's directory (DIR, else $BOUNDARYTRACE_SHARED_DIR) and its
    merge source, read once now (a missing or refused directory is an error);
    files a merge leaves out are named on stderr once each."""
    import boundarytrace as bt
    from boundarytrace._serve import shared_source

    directory = _sidecar_dir(args)

    def skipped(path: str, reason: str) -> None:  # once per distinct (path, reason)
        print(f"{PROG}: skipped {path}: {reason}", file=sys.stderr, flush=True)

    try:
        return directory, shared_source(directory, call, skipped)
    except bt.FileIOError as exc:
        raise SnapshotFileError(shared_dir_error(directory, exc)) from None


def cmd_serve(args: argparse.Namespace) -> Tuple[str, int]:
    """Serves /metrics of a shared directory, merged at each scrape, until
    SIGTERM or SIGINT."""
    from boundarytrace._serve import Endpoint

    host, port = args.listen
    directory, source = _sidecar_source(args, "serve")
    try:
        endpoint = Endpoint(source, host, port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        with _SignalWait((signal.SIGTERM, signal.SIGINT)) as stop:  # before the URL: a signal then is caught
            print(f"{PROG} serve: {endpoint.url} (shared directory {directory})", flush=True)
            caught = stop.wait()
    finally:
        endpoint.close()
    if caught:
        print(f"{PROG} serve: stopped by {signal.Signals(caught).name}", file=sys.stderr)
    return "", 0


class _SharedDirectorySink:
    """A shared directory as an OTLP exporter's sink: each snapshot a merge
    (`source`, from shared_source), of the directory `shared_dir`."""
    is_global = False

    def __init__(self, shared_dir: str, source: Callable[[], object]) -> None:
        self.shared_dir = shared_dir
        self.snapshot = source


def cmd_otlp(args: argparse.Namespace) -> Tuple[str, int]:
    """Sends a shared directory's figures, merged, as OTLP to a collector
    every interval and once more at the end, until SIGTERM or SIGINT."""
    from boundarytrace._otlp import OTLPExporter, _seconds

    _sidecar_dir(args)  # a missing one is said first
    endpoint = args.endpoint or os.environ.get("BOUNDARYTRACE_OTLP_ENDPOINT", "")
    if not endpoint:
        raise UsageError("no endpoint: give --endpoint URL, or set BOUNDARYTRACE_OTLP_ENDPOINT")
    try:
        interval = _seconds("--interval", args.interval or os.environ.get("BOUNDARYTRACE_OTLP_INTERVAL")
                            or 10)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    directory, source = _sidecar_source(args, "otlp")
    try:
        exporter = OTLPExporter(endpoint, _SharedDirectorySink(directory, source), interval=interval)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        with _SignalWait((signal.SIGTERM, signal.SIGINT)) as stop:  # before the line: a signal then is caught
            print(f"{PROG} otlp: sending {directory} to {exporter.url} every {interval:g} s"
                  f"{'' if exporter.leading else ' (another process sends it now)'}", flush=True)
            caught = stop.wait()
    finally:
        exporter.close()
    if caught:
        print(f"{PROG} otlp: stopped by {signal.Signals(caught).name} after {exporter.sent} "
              f"request{'' if exporter.sent == 1 else 's'}", file=sys.stderr)
    return "", 0


class _SignalWait:
    """Catches `signals` while entered; wait() blocks until one arrives and
    returns it (0 off the main thread, where Python takes no signal: there
    it waits for good).

    A self-pipe: Python's C-level handler writes each signal's number to the
    wakeup fd, whatever thread the kernel chose and whether wait() has begun
    or not, so nothing is lost and no lock is taken in a handler. (A handler
    that set a threading.Event could deadlock: Event.set takes the lock that
    Event.wait holds on its way in and out, on the same thread.)"""

    def __init__(self, signals: Tuple[int, ...]) -> None:
        self._signals = signals
        self._main = threading.current_thread() is threading.main_thread()
        self._previous: dict = {}

    def __enter__(self) -> "_SignalWait":
        if self._main:
            self._r, self._w = os.pipe()
            os.set_blocking(self._w, False)
            self._previous_fd = signal.set_wakeup_fd(self._w)
            for sig in self._signals:
                self._previous[sig] = signal.signal(sig, lambda signum, frame: None)
        return self

    def wait(self) -> int:
        if not self._main:
            threading.Event().wait()
            return 0
        while True:
            for byte in os.read(self._r, 64):
                if byte in self._signals:
                    return byte

    def __exit__(self, *exc: object) -> None:
        if self._main:
            for sig, handler in self._previous.items():
                signal.signal(sig, handler)
            signal.set_wakeup_fd(self._previous_fd)
            os.close(self._r)
            os.close(self._w)


def _pid(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a process id, not {text!r}") from None
    if not 0 < value < 2 ** 63:
        raise argparse.ArgumentTypeError(f"{value} is not a process id (they are above 0)")
    return value


def _listen(text: str) -> Tuple[str, int]:
    from boundarytrace._serve import parse_address
    try:
        return parse_address(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("boundarytrace")
    except Exception:  # not installed as a distribution (a build tree)
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``boundarytrace`` command."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Read boundarytrace snapshot files (JSON, schema boundarytrace.snapshot "
                    "v1): print or chart them, compare two, check one against a budget. Of a "
                    "shared directory, also write a process's last operations (trace) and "
                    "serve /metrics (serve).",
        epilog="Exit codes: 0 ok, 1 a gate failed (diff, check), 2 bad input. "
               "A snapshot file comes from Snapshot.write('x.json'), bt_snapshot_write() or "
               "BOUNDARYTRACE_DUMP=x.json. A directory given instead is read as a shared "
               "directory (BOUNDARYTRACE_SHARED_DIR, Metrics.open_shared): every process's "
               "figures merged; files left out are named on standard error.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("report", help="print the per-operation table, or write an HTML page",
                       description="Print the per-operation table of a snapshot file: per "
                                   "operation its count, errors, items, time per item, then per "
                                   "phase its GIL state, time, share, entries, mean, "
                                   "p50/p90/p99/p99.9 and max, and the GIL held / released / "
                                   "wait shares. With --html, write a self-contained page with "
                                   "charts instead.")
    p.add_argument("snapshot", metavar="SNAPSHOT.json",
                   help="snapshot file ('-': standard input), or a shared directory")
    p.add_argument("--html", metavar="OUT.html",
                   help="write a self-contained HTML page (no network) with charts")
    p.add_argument("--op", action="append", metavar="NAME",
                   help="only this operation (repeat for more)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("diff", help="compare p50/p99 of two snapshots; exit 1 on a regression",
                       description="Compare p50 and p99 of every operation's total and phases "
                                   "between two snapshot files, mark what got slower or faster, "
                                   "and exit 1 when one regressed past --max-regress. Operations "
                                   "and phases in only one file are listed, not failed.")
    p.add_argument("base", metavar="BASE.json",
                   help="the reference snapshot (a file, or a shared directory)")
    p.add_argument("new", metavar="NEW.json",
                   help="the snapshot to judge (a file, or a shared directory)")
    p.add_argument("--max-regress", metavar="PCT", default=0.10,
                   type=_arg(parse_percent, "--max-regress"),
                   help="largest allowed growth of a p50 or p99, e.g. 10%% (the default)")
    p.add_argument("--min-count", metavar="N", default=1, type=_count,
                   help="only gate rows with at least N samples on both sides (default 1)")
    p.add_argument("--min-delta", metavar="DURATION", default=0,
                   type=_arg(parse_duration, "--min-delta"),
                   help="ignore growths of at most this much time, e.g. 500ns (default 0)")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("check", help="check a snapshot against a budget; exit 1 when a rule fails",
                       description="Check a snapshot file against a budget of red flags (GIL "
                                   "held share, phase p99 limits, operations that never release "
                                   "the GIL, large batches without parallel workers, phases left "
                                   "open) and print each rule's verdict. Exit 1 when a rule "
                                   "fails. Without --budget the package's default budget is used.")
    p.add_argument("snapshot", metavar="SNAPSHOT.json",
                   help="snapshot file ('-': standard input), or a shared directory")
    p.add_argument("--budget", metavar="BUDGET.toml",
                   help="the rules (default: default_budget.toml shipped with the package)")
    p.add_argument("--strict", action="store_true", help="warnings fail too")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("trace", help="a process's last operations in a shared directory, as "
                                     "Chrome Trace Event JSON",
                       description="Write the flight recorder of process PID in the shared "
                                   "directory DIR as Chrome Trace Event JSON (Perfetto UI, "
                                   "chrome://tracing): its last 1024 operations with their "
                                   "phases, kept there while the timeline was on "
                                   "(bt.timeline_start, BOUNDARYTRACE_TIMELINE), live or gone, "
                                   "a process killed by a signal too. Exit 2 when DIR holds no "
                                   "recorder of PID.")
    p.add_argument("dir", metavar="DIR", help="the shared directory")
    p.add_argument("--pid", metavar="PID", required=True, type=_pid,
                   help="the process whose operations to write")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write the JSON to FILE (atomically) instead of standard output")
    p.set_defaults(func=cmd_trace)

    p = sub.add_parser("serve", help="serve /metrics of a shared directory (a sidecar)",
                       description="Serve /metrics over HTTP for the shared directory DIR, "
                                   "every process's figures merged at each scrape, in the "
                                   "format the scraper asks for (Prometheus text, OpenMetrics, "
                                   "or protobuf with native histograms), until SIGTERM or "
                                   "SIGINT (exit 0). The first line on standard output is the "
                                   "URL served; files a merge leaves out are named on standard "
                                   "error, once each.")
    p.add_argument("dir", metavar="DIR", nargs="?",
                   help="the shared directory (default: $BOUNDARYTRACE_SHARED_DIR)")
    p.add_argument("--listen", metavar="[HOST:]PORT", default="127.0.0.1:9464",
                   type=_listen,
                   help="address to listen on; the host defaults to 127.0.0.1, port 0 picks a "
                        "free one (default 127.0.0.1:9464)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("otlp", help="send a shared directory as OTLP to a collector (a sidecar)",
                       description="Send the shared directory DIR, every process's figures "
                                   "merged, as OTLP/HTTP (protobuf, cumulative) to a collector "
                                   "every interval and once more at the end, until SIGTERM or "
                                   "SIGINT (exit 0). Of the exporters of one directory (this "
                                   "one, and those BOUNDARYTRACE_OTLP_ENDPOINT starts in its "
                                   "processes) one sends at a time. The first line on standard "
                                   "output says what is sent where.")
    p.add_argument("dir", metavar="DIR", nargs="?",
                   help="the shared directory (default: $BOUNDARYTRACE_SHARED_DIR)")
    p.add_argument("--endpoint", metavar="URL",
                   help="the collector's OTLP/HTTP endpoint, http://host:4318 "
                        "(default: $BOUNDARYTRACE_OTLP_ENDPOINT)")
    p.add_argument("--interval", metavar="SECONDS",
                   help="seconds between sends (default: $BOUNDARYTRACE_OTLP_INTERVAL, else 10)")
    p.set_defaults(func=cmd_otlp)
    return parser


#: Environment switches that make the C library write files when the process
#: exits (docs/formats.md).
_EXIT_WRITERS = ("BOUNDARYTRACE_DUMP", "BOUNDARYTRACE_TIMELINE")


def _run_without_exit_writers() -> None:
    """Re-runs the tool without BOUNDARYTRACE_DUMP / BOUNDARYTRACE_TIMELINE.

    Importing the package loaded the C library, which read those switches and
    would write its own (empty) snapshot or trace when this process exits:
    with ``BOUNDARYTRACE_DUMP=run.json`` exported for a whole CI job,
    ``boundarytrace check run.json`` would overwrite the very file it read.
    exec replaces the process without running exit handlers, and the new one
    loads the library without the switches.
    """
    if not any(os.environ.get(k) for k in _EXIT_WRITERS) or not sys.executable:
        return
    # BOUNDARYTRACE_SHARED_DIR stays (`serve` reads it): a process takes a
    # slot at its first record, and the tool records nothing.
    env = {k: v for k, v in os.environ.items() if k not in _EXIT_WRITERS}
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "boundarytrace", *sys.argv[1:]], env)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the command line; returns the exit code (0 ok, 1 gate failed, 2 bad input).

    ``argv`` None: the program's own arguments (the console script and
    ``python -m boundarytrace``); a list: called from Python.
    """
    if argv is None:
        _run_without_exit_writers()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        text, code = args.func(args)
    except (SnapshotFileError, UsageError) as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        return 2
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `boundarytrace report x.json | head`: the reader left
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the flush at exit does not complain
    return int(code)

