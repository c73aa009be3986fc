"""Snapshots: immutable copies of a sink's aggregates, read as Python objects."""

from __future__ import annotations

import os
import sys
from types import MappingProxyType
from typing import Any, Dict, Iterator, List, Mapping, NamedTuple, Optional, Tuple, Union

from ._backend import state
from ._exports import (Format, FormatArg, PathArg, encode_dir, encode_path, format_for_path,
                       resolve_format)
from ._phases import _phase_id

__all__ = ["Bucket", "OpStats", "PhaseStats", "Snapshot", "read_shared"]

def interpreter_line() -> str:
    """The line a report of this process's figures gives its interpreter: which
    CPython build recorded them, and so what the GIL figures mean."""
    import platform  # here, not at import: few processes print a report
    import sysconfig
    build = "GIL build"
    if sysconfig.get_config_var("Py_GIL_DISABLED") == 1:
        if getattr(sys, "_is_gil_enabled", lambda: True)():
            build = "free-threaded build running with the GIL enabled"
        else:
            build = ("free-threaded build: GIL held / released / wait mean attached / detached / "
                     "re-attach wait (stop-the-world pauses)")
    return f"recorded under {platform.python_implementation()} {platform.python_version()}, {build}"


#: Pseudo-phase ids in snapshot queries: the whole operation (BT_PHASE_TOTAL)
#: and the wait to get the GIL back (BT_PHASE_GIL_WAIT).
_TOTAL_ID = -1
_GIL_WAIT_ID = -2


class Bucket(NamedTuple):
    """One non-empty histogram bucket: ``count`` samples in ``[lower_ns, upper_ns)``."""

    lower_ns: int
    upper_ns: int
    count: int  # type: ignore[assignment]  # the field shadows tuple.count, on purpose


class PhaseStats:
    """Distribution of one phase (or the total, or the GIL wait) of one
    operation in a snapshot.

    Attributes:
        name: the phase's name, ``"total"`` or ``"GIL wait"``.
        id: the phase id (``-1`` for the total, ``-2`` for the GIL wait).
        gil_held: True (held), False (released), or None for the pseudo-phases.
        count: operations that entered the phase (samples); for the GIL
            wait, operations that released the GIL.
        entries: times the phase was entered, summed over operations; for
            the GIL wait, the releases.
        sum_ns, min_ns, max_ns: time in the phase per operation: sum, min, max.
        p50_ns, p90_ns, p99_ns, p999_ns: percentiles of the per-operation time
            (base-2 exponential histogram: within 2.2 % of the exact value, clamped to
            [min_ns, max_ns]).
    """

    __slots__ = ("_box", "_index", "name", "id", "gil_held", "count", "entries", "sum_ns",
                 "min_ns", "max_ns", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "_buckets")

    def __init__(self, box: Any, index: int, row: Tuple[Any, ...]) -> None:
        self._box = box
        self._index = index
        (self.name, self.id, held, self.count, self.entries, self.sum_ns, self.min_ns,
         self.max_ns, self.p50_ns, self.p90_ns, self.p99_ns, self.p999_ns) = row
        self.gil_held: Optional[bool] = None if held < 0 else bool(held)
        self._buckets: Optional[List[Bucket]] = None

    @property
    def mean_ns(self) -> float:
        """Mean time per operation that entered the phase (0.0 without samples)."""
        return self.sum_ns / self.count if self.count else 0.0

    def quantile(self, q: float) -> int:
        """Quantile ``q`` in [0, 1] of the per-operation time, in ns.

        0 gives the minimum, 1 the maximum, and 0 is returned without samples.
        Raises InvalidArgumentError for q outside [0, 1] or NaN; TypeError for
        a q that is not a number.
        """
        if isinstance(q, bool) or not isinstance(q, (int, float)):
            raise TypeError(f"PhaseStats.quantile: q must be a float, not {type(q).__name__}")
        return self._box.quantile(self._index, self.id, float(q))

    @property
    def buckets(self) -> List[Bucket]:
        """The non-empty histogram buckets, in increasing order; counts add up to ``count``."""
        if self._buckets is None:
            self._buckets = [Bucket(*b) for b in self._box.buckets(self._index, self.id)]
        return list(self._buckets)

    def to_dict(self) -> Dict[str, Any]:
        """Every figure as a plain dict (buckets as [lower_ns, upper_ns, count] lists)."""
        return {
            "name": self.name, "id": self.id, "gil_held": self.gil_held, "count": self.count,
            "entries": self.entries, "sum_ns": self.sum_ns, "min_ns": self.min_ns,
            "max_ns": self.max_ns, "mean_ns": self.mean_ns, "p50_ns": self.p50_ns,
            "p90_ns": self.p90_ns, "p99_ns": self.p99_ns, "p999_ns": self.p999_ns,
            "buckets": [list(b) for b in self.buckets],
        }

    def __repr__(self) -> str:
        return (f"PhaseStats(name={self.name!r}, count={self.count}, entries={self.entries}, "
                f"sum_ns={self.sum_ns}, p50_ns={self.p50_ns}, p99_ns={self.p99_ns}, "
                f"max_ns={self.max_ns})")


class OpStats:
    """Aggregates of one operation name in a snapshot.

    Attributes:
        name: the operation name.
        count: operations recorded; errors: of which marked as errors;
        left_open: of which finished with a phase still open.
        items: items (documents) over all operations.
        total_ns, gil_held_ns, gil_released_ns, gil_wait_ns, unattributed_ns:
            sums over all operations, in nanoseconds. The GIL wait is the
            time spent getting the GIL back after releasing it, between
            phases; unattributed_ns is what is left outside the phases and
            the wait.
        gil_releases: GIL releases over all operations.
        parallel_ops: operations that reported more than one worker.
        workers_max: most workers any operation reported.
        saturated: True when a sum reached 2^64 - 1 and stopped there (sums
            never wrap; the flagged figures are lower bounds).
    """

    __slots__ = ("_box", "_index", "_phase_count", "_phases", "_by_id", "name", "count",
                 "errors", "left_open", "items", "total_ns", "gil_held_ns", "gil_released_ns",
                 "gil_wait_ns", "unattributed_ns", "gil_releases", "parallel_ops",
                 "workers_max", "saturated")

    def __init__(self, box: Any, index: int, row: Tuple[Any, ...], phase_count: int) -> None:
        self._box = box
        self._index = index
        self._phase_count = phase_count
        self._phases: Optional[Mapping[str, PhaseStats]] = None
        self._by_id: Dict[int, PhaseStats] = {}
        (self.name, self.count, self.errors, self.left_open, self.items, self.total_ns,
         self.gil_held_ns, self.gil_released_ns, self.gil_wait_ns, self.unattributed_ns,
         self.gil_releases, self.parallel_ops, self.workers_max, self.saturated) = row

    def phase(self, phase: Union[int, str]) -> PhaseStats:
        """Distribution of one registered phase (id, name or Phase) or of
        ``boundarytrace.TOTAL`` or ``boundarytrace.GIL_WAIT``; count 0 when
        the operation never entered it.

        Raises UnknownPhaseError / NotFoundError for a phase that is not
        registered, TypeError for a wrong type.
        """
        pid = _phase_id(phase, "OpStats.phase")
        return self._stats(pid)

    def _stats(self, pid: int) -> PhaseStats:
        ps = self._by_id.get(pid)
        if ps is None:
            ps = PhaseStats(self._box, self._index, self._box.phase_stats(self._index, pid))
            self._by_id[pid] = ps
        return ps

    @property
    def total(self) -> PhaseStats:
        """Distribution of the whole operation's time (the pseudo-phase "total")."""
        return self._stats(_TOTAL_ID)

    @property
    def gil_wait(self) -> PhaseStats:
        """Distribution of the wait to get the GIL back (the pseudo-phase
        "GIL wait"): one sample per operation that released the GIL, its
        entries the releases; count 0 when none did."""
        return self._stats(_GIL_WAIT_ID)

    @property
    def phases(self) -> Mapping[str, PhaseStats]:
        """The phases the operation entered, by name, in phase-id order."""
        if self._phases is None:
            entered = {}
            for pid in range(self._phase_count):
                ps = self._stats(pid)
                if ps.count:
                    entered[ps.name] = ps
            self._phases = MappingProxyType(entered)
        return self._phases

    @property
    def mean_ns(self) -> float:
        """Mean operation time (0.0 without operations)."""
        return self.total_ns / self.count if self.count else 0.0

    @property
    def ns_per_item(self) -> float:
        """Total time per item (0.0 without items)."""
        return self.total_ns / self.items if self.items else 0.0

    @property
    def gil_held_share(self) -> float:
        """Share of the total time spent in GIL-held phases, 0..1."""
        return self.gil_held_ns / self.total_ns if self.total_ns else 0.0

    def to_dict(self) -> Dict[str, Any]:
        """Every figure as a plain dict, with ``total`` and ``phases`` nested."""
        return {
            "name": self.name, "count": self.count, "errors": self.errors,
            "left_open": self.left_open, "items": self.items, "total_ns": self.total_ns,
            "gil_held_ns": self.gil_held_ns, "gil_released_ns": self.gil_released_ns,
            "gil_wait_ns": self.gil_wait_ns, "unattributed_ns": self.unattributed_ns,
            "gil_releases": self.gil_releases, "parallel_ops": self.parallel_ops,
            "workers_max": self.workers_max, "saturated": self.saturated,
            "total": self.total.to_dict(), "gil_wait": self.gil_wait.to_dict(),
            "phases": {name: ps.to_dict() for name, ps in self.phases.items()},
        }

    def __repr__(self) -> str:
        return (f"OpStats(name={self.name!r}, count={self.count}, errors={self.errors}, "
                f"items={self.items}, total_ns={self.total_ns})")


class Snapshot:
    """An immutable copy of a sink's aggregates, operations sorted by name.

    ``snapshot["insert_many"]`` (KeyError when absent), ``"x" in snapshot``,
    ``len(snapshot)`` and ``for op in snapshot`` (OpStats objects) work as on a
    mapping of operation names; ``snapshot.ops`` is that read-only mapping.
    ``str(snapshot)`` is the library's text report. Safe to read from any
    number of threads.

    Attributes:
        start_ns, end_ns: library clock when its interval began and when it
            was taken (``bt_snapshot_get_info``). For a shared directory,
            start_ns is when its earliest process started, on this process's
            clock (0 when that was before the clock's zero).
        phase_count: phases registered when it was taken.
        processes: for a shared directory (:func:`read_shared`, or a sink
            opened with :meth:`Metrics.open_shared`): the processes merged,
            live and gone, each process that took a slot counting once; 0
            for a snapshot of one process.
        dropped: for a shared directory: records its processes could not
            keep, for want of room in their slot files (0 otherwise).
    """

    __slots__ = ("_box", "_ops", "start_ns", "end_ns", "phase_count", "dropped", "processes",
                 "_skipped", "__weakref__")

    def __init__(self, box: Any) -> None:
        self._box = box
        (op_count, self.start_ns, self.end_ns, self.phase_count, self.dropped, self.processes,
         skipped) = box.info()
        self._skipped: List[Tuple[str, str]] = (
            [(os.fsdecode(path), reason) for path, reason in box.skipped()] if skipped else [])
        ops = {}
        for i in range(op_count):
            st = OpStats(box, i, box.op_stats(i), self.phase_count)
            ops[st.name] = st
        self._ops: Mapping[str, OpStats] = MappingProxyType(ops)

    @classmethod
    def read_shared(cls, path: PathArg) -> "Snapshot":
        """Merges the shared directory ``path`` (see :func:`read_shared`)."""
        return read_shared(path)

    @property
    def ops(self) -> Mapping[str, OpStats]:
        """Read-only mapping: operation name -> OpStats, sorted by name."""
        return self._ops

    @property
    def skipped(self) -> List[Tuple[str, str]]:
        """Files of a shared directory the merge left out, as ``(path, reason)``
        pairs (``bt_snapshot_get_skipped``): truncated, foreign, corrupted, or
        written by a newer format. Empty for a snapshot of one process."""
        return list(self._skipped)

    @property
    def duration_ns(self) -> int:
        """Length of the interval the snapshot covers."""
        return self.end_ns - self.start_ns

    def __len__(self) -> int:
        return len(self._ops)

    def __iter__(self) -> Iterator[OpStats]:
        return iter(self._ops.values())

    def __contains__(self, name: object) -> bool:
        return name in self._ops

    def __getitem__(self, name: str) -> OpStats:
        if not isinstance(name, str):
            raise TypeError(f"Snapshot: operation names are str, not {type(name).__name__}")
        return self._ops[name]

    def get(self, name: str, default: Optional[OpStats] = None) -> Optional[OpStats]:
        """The OpStats of operation ``name``, or ``default``."""
        return self._ops.get(name, default)

    def names(self) -> List[str]:
        """Operation names, sorted."""
        return list(self._ops)

    def format(self) -> str:
        """The library's human report (``bt_snapshot_format``), with a second line
        naming the interpreter build that recorded the figures (and what the GIL
        figures mean there) when they are this process's; a merged shared
        directory's come from other processes, so it has none. ``export("text")``
        and ``write`` give the library's report as it is."""
        text: str = self._box.format()
        if self.processes:
            return text
        head, sep, rest = text.partition("\n")
        return head + "\n" + interpreter_line() + sep + rest

    def __str__(self) -> str:
        return self.format()

    def export(self, fmt: FormatArg = Format.TEXT) -> Union[str, bytes]:
        """The snapshot rendered by the library (``bt_snapshot_export``).

        ``fmt`` is a :class:`Format` or its name: ``"text"`` (the human
        report), ``"json"`` (schema ``boundarytrace.snapshot`` v1, which the
        ``boundarytrace`` command reads), ``"prometheus"``, ``"openmetrics"``,
        ``"folded"`` (each a str), ``"prometheus_protobuf"`` or ``"otlp_protobuf"``
        (bytes).
        docs/formats.md describes each.

        Raises InvalidArgumentError for an unknown format, TypeError for a
        wrong type.
        """
        f = resolve_format(fmt, "Snapshot.export")
        if f in (Format.PROMETHEUS_PROTOBUF, Format.OTLP_PROTOBUF):
            return self._box.export_bytes(int(f))  # type: ignore[no-any-return]
        return self._box.export(int(f))  # type: ignore[no-any-return]

    def write(self, path: PathArg, fmt: Optional[FormatArg] = None) -> Format:
        """Writes the snapshot to ``path`` atomically (``bt_snapshot_write``):
        a temporary file beside it, renamed over ``path``, so a reader sees the
        old file or the new one, never a part.

        Args:
            path: the file to write (str, bytes or os.PathLike).
            fmt: a :class:`Format` or its name; None picks it from the suffix
                (``.json``, ``.prom``, ``.om``/``.openmetrics``, ``.folded``,
                else text; :func:`format_for_path`).

        Returns:
            The format written.

        Raises FileIOError (an OSError carrying ``errno``, ``strerror`` and
        ``filename``) when the file cannot be written, or when ``path`` is a
        symbolic link (``ELOOP``), a directory (``EISDIR``) or another file
        that is not regular, such as a FIFO or ``/dev/null`` (``EINVAL``):
        those are refused and left as they are. InvalidArgumentError for an
        empty path or an unknown format; TypeError for wrong types.
        """
        call = "Snapshot.write"
        data = encode_path(path, call)
        if fmt is None:
            f = format_for_path(data)
        else:
            f = resolve_format(fmt, call)
        self._box.write(int(f), data)
        return f

    def to_dict(self) -> Dict[str, Any]:
        """Every figure as plain dicts and lists (JSON-ready)."""
        return {
            "start_ns": self.start_ns, "end_ns": self.end_ns, "phase_count": self.phase_count,
            "processes": self.processes, "dropped": self.dropped,
            "skipped": [list(pair) for pair in self._skipped],
            "ops": {name: op.to_dict() for name, op in self._ops.items()},
        }

    def __repr__(self) -> str:
        return f"Snapshot(ops={list(self._ops)!r})"


def read_shared(path: PathArg) -> Snapshot:
    """Merges every process's figures in the shared directory ``path`` into one
    cumulative :class:`Snapshot` (``bt_snapshot_read_shared``).

    The directory is the one that processes write into through
    ``BOUNDARYTRACE_SHARED_DIR`` or :meth:`Metrics.open_shared`: every slot,
    of live processes and of those that have gone, and the archive of the
    slots already folded. Reading needs only read access and takes no slot;
    any process may read, while the writers go on. A record being written
    during the merge is in it or not, never half.

    The snapshot's :attr:`~Snapshot.processes` counts the processes merged,
    :attr:`~Snapshot.dropped` the records they could not keep, and
    :attr:`~Snapshot.skipped` lists the files left out (truncated, foreign,
    corrupted, a newer format) with the reason.

    Raises FileIOError (an OSError with ``errno``) when the directory cannot
    be read, or is refused (EACCES: group or others may write into it);
    InvalidArgumentError for an empty path; TypeError for a path that is not
    str, bytes or os.PathLike.
    """
    data = encode_dir(path, "read_shared")
    return Snapshot(state.b.read_shared(data))
