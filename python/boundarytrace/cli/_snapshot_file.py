"""Reading snapshot JSON files (schema ``boundarytrace.snapshot``, version 1),
and shared directories.

The command line tool works on files, not on a live library: this module
reads and checks what ``Snapshot.write("x.json")`` / ``bt_snapshot_write`` /
``BOUNDARYTRACE_DUMP=x.json`` wrote, with the standard library only, into
plain objects. Every figure the tool uses is checked for its type, so a file
that is not a snapshot fails with one clear message (:class:`SnapshotFileError`)
instead of a traceback halfway through a report.

A directory is read as a shared directory (``BOUNDARYTRACE_SHARED_DIR``,
``Metrics.open_shared``): the library merges it (``read_shared``, the one
place the tool asks the library), and its JSON is read as a file's; the
files the merge left out are said on standard error, one line each.

docs/formats.md describes the schema.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Dict, List, Optional, Tuple

__all__ = ["SCHEMA", "VERSION", "SnapshotFileError", "Dist", "OpData", "SnapshotData",
           "load_snapshot", "load_shared_dir", "parse_snapshot", "shared_dir_error"]

SCHEMA = "boundarytrace.snapshot"
#: The version this tool reads. Fields may be added within a version.
VERSION = 1
#: How deep a snapshot's JSON nests (document, operations, operation, phases,
#: distribution, buckets, bucket).
_SNAPSHOT_DEPTH = 7

class SnapshotFileError(Exception):
    """A file that cannot be read as a snapshot of schema version 1."""


#: The name of the GIL wait's distribution (the library's BT_PHASE_GIL_WAIT).
GIL_WAIT = "GIL wait"
_EMPTY = {"count": 0, "entries": 0, "sum_ns": 0, "min_ns": 0, "max_ns": 0, "p50_ns": 0, "p90_ns": 0,
          "p99_ns": 0, "p999_ns": 0, "buckets": []}


class Dist:
    """Distribution of one phase (or the total, or the GIL wait) of one operation (``DIST``)."""

    __slots__ = ("name", "gil_held", "count", "entries", "sum_ns", "min_ns", "max_ns", "p50_ns",
                 "p90_ns", "p99_ns", "p999_ns", "buckets")

    def __init__(self, name: str, gil_held: Optional[bool], raw: Dict[str, Any],
                 where: str) -> None:
        self.name = name
        self.gil_held = gil_held
        self.count = _uint(raw, "count", where)
        self.entries = _uint(raw, "entries", where)
        self.sum_ns = _uint(raw, "sum_ns", where)
        self.min_ns = _uint(raw, "min_ns", where)
        self.max_ns = _uint(raw, "max_ns", where)
        self.p50_ns = _uint(raw, "p50_ns", where)
        self.p90_ns = _uint(raw, "p90_ns", where)
        self.p99_ns = _uint(raw, "p99_ns", where)
        self.p999_ns = _uint(raw, "p999_ns", where)
        self.buckets: List[Tuple[int, int, int]] = _buckets(raw, where)

    @property
    def mean_ns(self) -> int:
        """Mean per operation, rounded down (as the library's report)."""
        return self.sum_ns // self.count if self.count else 0

    def quantiles(self) -> Dict[str, int]:
        """{"p50": ns, "p90": ..., "p99": ..., "p99.9": ...}."""
        return {"p50": self.p50_ns, "p90": self.p90_ns, "p99": self.p99_ns,
                "p99.9": self.p999_ns}


class OpData:
    """One operation of a snapshot file: its counters, total and phases."""

    __slots__ = ("name", "count", "errors", "left_open", "items", "total_ns", "gil_held_ns",
                 "gil_released_ns", "gil_wait_ns", "unattributed_ns", "gil_releases",
                 "parallel_ops", "workers_max", "total", "gil_wait", "phases")

    def __init__(self, raw: Dict[str, Any], phase_order: Dict[str, Tuple[int, Optional[bool]]],
                 where: str) -> None:
        self.name = _str(raw, "name", where)
        where = f"{where} ({self.name!r})"
        self.count = _uint(raw, "count", where)
        self.errors = _uint(raw, "errors", where)
        self.left_open = _uint(raw, "left_open", where)
        self.items = _uint(raw, "items", where)
        self.total_ns = _uint(raw, "total_ns", where)
        self.gil_held_ns = _uint(raw, "gil_held_ns", where)
        self.gil_released_ns = _uint(raw, "gil_released_ns", where)
        self.gil_wait_ns = _uint(raw, "gil_wait_ns", where)
        self.unattributed_ns = _uint(raw, "unattributed_ns", where)
        self.gil_releases = _uint(raw, "gil_releases", where)
        self.parallel_ops = _uint(raw, "parallel_ops", where)
        self.workers_max = _uint(raw, "workers_max", where)
        self.total = Dist("total", None, _obj(raw, "total", where), f"{where}.total")
        # The GIL wait per operation that released the GIL; files written
        # before it was kept lack it: then an empty one.
        self.gil_wait = Dist(GIL_WAIT, None, _obj(raw, "gil_wait", where) if "gil_wait" in raw else _EMPTY,
                             f"{where}.gil_wait")
        phases = _obj(raw, "phases", where)
        found = []
        for name, dist in phases.items():
            pos, held = phase_order.get(name, (len(phase_order) + len(found), None))
            if not isinstance(dist, dict):
                raise SnapshotFileError(f"{where}.phases.{name}: expected an object")
            found.append((pos, Dist(name, held, dist, f"{where}.phases.{name}")))
        found.sort(key=lambda pair: pair[0])
        #: Phases the operation entered, in phase-id order.
        self.phases: Dict[str, Dist] = {d.name: d for _, d in found}

    # Derived figures: shares of the operation's total time.
    def share(self, ns: int) -> float:
        """ns as a fraction of the operation's total time (0 when empty)."""
        return ns / self.total_ns if self.total_ns else 0.0

    @property
    def gil_held_share(self) -> float:
        """GIL-held time / total time."""
        return self.share(self.gil_held_ns)

    @property
    def gil_released_share(self) -> float:
        """GIL-released time / total time."""
        return self.share(self.gil_released_ns)

    @property
    def gil_wait_share(self) -> float:
        """GIL wait / total time."""
        return self.share(self.gil_wait_ns)

    @property
    def items_per_op(self) -> float:
        """Items per operation (0 without operations)."""
        return self.items / self.count if self.count else 0.0

    def dist(self, phase: str) -> Optional[Dist]:
        """The distribution of ``phase`` ("total" for the whole operation, "GIL wait"
        for the wait to get the GIL back), or None."""
        if phase == "total":
            return self.total
        if phase == GIL_WAIT:
            return self.gil_wait if self.gil_wait.count else None
        return self.phases.get(phase)


class SnapshotData:
    """A snapshot file: its interval, phase table and operations (sorted by name)."""

    def __init__(self, raw: Any, source: str) -> None:
        self.source = source
        #: Processes merged, for a shared directory (0 for a file).
        self.processes = 0
        if not isinstance(raw, dict):
            raise SnapshotFileError(f"{source}: not a boundarytrace snapshot: the JSON is a "
                                    f"{type(raw).__name__}, not an object")
        schema = raw.get("schema")
        if schema != SCHEMA:
            shown = "no \"schema\" field" if schema is None else f"schema {schema!r}"
            raise SnapshotFileError(f"{source}: not a boundarytrace snapshot ({shown}; expected "
                                    f"{SCHEMA!r} version {VERSION}, as Snapshot.write(\"x.json\") "
                                    f"or BOUNDARYTRACE_DUMP=x.json write it)")
        version = raw.get("version")
        if type(version) is not int:
            raise SnapshotFileError(f"{source}: \"version\" must be an integer, not {version!r}")
        if version != VERSION:
            newer = "newer than" if version > VERSION else "not"
            raise SnapshotFileError(f"{source}: {SCHEMA} version {version} is {newer} the version "
                                    f"this tool reads ({VERSION}); use a matching boundarytrace")
        self.version = version
        self.clock = raw.get("clock") if isinstance(raw.get("clock"), str) else ""
        self.start_ns = _uint(raw, "start_ns", source)
        self.end_ns = _uint(raw, "end_ns", source)
        order: Dict[str, Tuple[int, Optional[bool]]] = {}
        for i, ph in enumerate(_list(raw, "phases", source)):
            where = f"{source}: phases[{i}]"
            if not isinstance(ph, dict):
                raise SnapshotFileError(f"{where}: expected an object")
            held = ph.get("gil_held")
            if not isinstance(held, bool):
                raise SnapshotFileError(f"{where}.gil_held: expected true or false")
            order[_str(ph, "name", where)] = (len(order), held)
        #: Registered phases in id order: name -> GIL held.
        self.phase_gil: Dict[str, Optional[bool]] = {n: h for n, (_, h) in order.items()}
        self.ops: Dict[str, OpData] = {}
        for i, op in enumerate(_list(raw, "operations", source)):
            where = f"{source}: operations[{i}]"
            if not isinstance(op, dict):
                raise SnapshotFileError(f"{where}: expected an object")
            data = OpData(op, order, where)
            if data.name in self.ops:
                raise SnapshotFileError(f"{where}: operation {data.name!r} appears twice")
            self.ops[data.name] = data

    @property
    def duration_ns(self) -> int:
        """Length of the interval the snapshot covers."""
        return max(0, self.end_ns - self.start_ns)


#: Deeper than this, JSON text is no snapshot (and repr() of a part of it in a
#: message could recurse past the limit).
_MAX_DEPTH = 64


def _depth_exceeds(value, limit: int) -> bool:
    """Whether lists and dicts nest more than `limit` levels in `value`
    (iterative: the value may be deeper than the recursion limit)."""
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, (list, dict)):
            if depth > limit:
                return True
            stack.extend((c, depth + 1) for c in (v.values() if isinstance(v, dict) else v))
    return False


def parse_snapshot(text: str, source: str = "<snapshot>") -> SnapshotData:
    """Checks and reads snapshot JSON text."""
    # json's decoder recurses once per level (and so does repr() of a bad
    # value in a message): a file nested deeper than the interpreter's
    # recursion limit is no snapshot, which is a few levels deep, and must
    # not end the tool with a traceback.
    try:
        try:
            raw = json.loads(text, parse_constant=_no_constant)
        except (json.JSONDecodeError, ValueError) as exc:
            raise SnapshotFileError(f"{source}: not valid JSON: {exc}") from None
        # From 3.13 on json's decoder is bounded by the C stack, not by the
        # recursion limit, so a deep file may parse: the same answer then.
        if _depth_exceeds(raw, _MAX_DEPTH):
            raise RecursionError
        return SnapshotData(raw, source)
    except RecursionError:
        raise SnapshotFileError(f"{source}: not a boundarytrace snapshot: the JSON is nested "
                                f"too deeply to read (a snapshot is {_SNAPSHOT_DEPTH} levels "
                                f"deep)") from None


def load_snapshot(path: str) -> SnapshotData:
    """Reads a snapshot file ("-" reads standard input), or a shared directory."""
    if path != "-" and os.path.isdir(path):
        return load_shared_dir(path)
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as f:
                text = f.read()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SnapshotFileError(f"cannot read {path}: {reason}") from None
    except UnicodeDecodeError as exc:
        raise SnapshotFileError(f"{path}: not UTF-8 text ({exc.reason})") from None
    return parse_snapshot(text, "<stdin>" if path == "-" else path)


def shared_dir_error(path: str, exc: OSError) -> str:
    """The one line that says why a shared directory could not be read: the
    system's reason, and the rule a directory refused with EACCES broke."""
    from boundarytrace._errors import _shared_dir_refusal

    reason = exc.strerror or str(exc)
    rule = _shared_dir_refusal("bt_snapshot_read_shared", path, exc.errno)
    return f"cannot read the shared directory {path}: {reason}" + (f"; {rule}" if rule else "")


def load_shared_dir(path: str) -> SnapshotData:
    """Merges a shared directory through the library (``read_shared``).

    Each file the merge left out is printed on standard error as
    ``boundarytrace: skipped PATH: REASON``. A directory where no process's
    figures could be read is an error, so a mistyped directory does not pass
    for an empty snapshot.
    """
    import boundarytrace

    try:
        snap = boundarytrace.read_shared(path)
    except boundarytrace.FileIOError as exc:
        raise SnapshotFileError(shared_dir_error(path, exc)) from None
    for skipped, why in snap.skipped:
        print(f"boundarytrace: skipped {skipped}: {why}", file=sys.stderr)
    if snap.processes == 0:
        left_out = f" ({len(snap.skipped)} files skipped)" if snap.skipped else ""
        raise SnapshotFileError(f"{path}: not a boundarytrace shared directory: no process's "
                                f"figures in it{left_out}")
    data = parse_snapshot(str(snap.export("json")), path)
    data.processes = snap.processes
    return data


# --- checks -----------------------------------------------------------------------

def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _uint(raw: Dict[str, Any], key: str, where: str) -> int:
    value = raw.get(key)
    if type(value) is not int or value < 0:
        what = "missing" if key not in raw else f"{value!r}"
        raise SnapshotFileError(f"{where}: \"{key}\" must be a non-negative integer ({what})")
    return value


def _str(raw: Dict[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise SnapshotFileError(f"{where}: \"{key}\" must be a non-empty string")
    return value


def _obj(raw: Dict[str, Any], key: str, where: str) -> Dict[str, Any]:
    value = raw.get(key)
    if not isinstance(value, dict):
        raise SnapshotFileError(f"{where}: \"{key}\" must be an object")
    return value


def _list(raw: Dict[str, Any], key: str, where: str) -> List[Any]:
    value = raw.get(key)
    if not isinstance(value, list):
        raise SnapshotFileError(f"{where}: \"{key}\" must be a list")
    return value


def _buckets(raw: Dict[str, Any], where: str) -> List[Tuple[int, int, int]]:
    out = []
    for b in _list(raw, "buckets", where):
        if (not isinstance(b, list) or len(b) != 3
                or not all(type(v) is int and v >= 0 for v in b)):
            raise SnapshotFileError(f"{where}: a bucket is [lower_ns, upper_ns, count], not {b!r}")
        out.append((b[0], b[1], b[2]))
    return out
