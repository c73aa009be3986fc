"""Exports: snapshot formats, files, and the timeline of individual operations.

The formats are the C library's (``bt_snapshot_export``; docs/formats.md):
this module only resolves the Python arguments (a :class:`Format` or its
name, a path) and hands them to the backend, so every language gets the same
bytes.
"""

from __future__ import annotations

import enum
import os
from typing import NamedTuple, Union

from ._backend import raise_status, state
from ._errors import NotFoundError, error_from_status

__all__ = ["Format", "TimelineInfo", "format_for_path", "timeline_start", "timeline_stop",
           "timeline_info", "timeline_export", "timeline_write", "timeline_export_shared",
           "PathArg", "FormatArg"]

_SIZE_MAX = 2 ** 64 - 1
_INT64_MAX = 2 ** 63 - 1

PathArg = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


class Format(enum.IntEnum):
    """The formats of a snapshot (``bt_format``).

    Wherever a format is taken, its lower-case name works too:
    ``snap.export("prometheus")`` is ``snap.export(Format.PROMETHEUS)``.
    """

    #: The human report (``str(snapshot)``); suffix ``.txt``.
    TEXT = 0
    #: Versioned JSON, schema ``boundarytrace.snapshot`` v1, histogram buckets
    #: included; suffix ``.json``. ``boundarytrace report/diff/check`` read it.
    JSON = 1
    #: Prometheus text exposition 0.0.4; suffix ``.prom``.
    PROMETHEUS = 2
    #: OpenMetrics 1.0 text, ending with ``# EOF``; suffixes ``.om``, ``.openmetrics``.
    OPENMETRICS = 3
    #: Folded stacks, ``op;phase nanoseconds`` per line; suffix ``.folded``.
    FOLDED = 4
    #: Prometheus protobuf exposition (delimited ``MetricFamily`` messages) with
    #: native histograms; bytes, not text. What a Prometheus server scraping
    #: with native histograms asks for (docs/formats.md).
    PROMETHEUS_PROTOBUF = 5
    #: OTLP metrics, protobuf (an ``ExportMetricsServiceRequest``) with
    #: exponential histograms; bytes. What :func:`otlp_push` sends.
    OTLP_PROTOBUF = 6

    @classmethod
    def for_path(cls, path: PathArg) -> "Format":
        """The format a file name asks for by its suffix (``bt_format_for_path``)."""
        return format_for_path(path)


FormatArg = Union[Format, int, str]

_NAMES = {f.name.lower(): f for f in Format}


def resolve_format(fmt: object, call: str) -> Format:
    """A format argument (Format, int value or name) as a Format."""
    if isinstance(fmt, Format):
        return fmt
    if isinstance(fmt, str):
        found = _NAMES.get(fmt.strip().lower())
        if found is None:
            raise_status("BT_E_INVALID", call,
                         f"unknown format {fmt!r}: choose one of {', '.join(_NAMES)}")
        return found  # type: ignore[return-value]
    if isinstance(fmt, bool) or not isinstance(fmt, int):
        raise TypeError(f"{call}: a format is a boundarytrace.Format or its name, "
                        f"not {type(fmt).__name__}")
    try:
        return Format(fmt)
    except ValueError:
        raise_status("BT_E_INVALID", call, f"unknown format {fmt}")
        raise AssertionError("unreachable")


def encode_path(path: object, call: str) -> bytes:
    """A path as the library wants it: bytes in the file system encoding, without NUL."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"{call}: path must be str, bytes or os.PathLike, "
                        f"not {type(path).__name__}")
    data = os.fsencode(path)
    if b"\0" in data:
        raise_status("BT_E_INVALID", call, f"path {os.fsdecode(data)!r} contains a NUL character")
    return data


def encode_dir(path: object, call: str) -> bytes:
    """A shared directory's path as the library wants it (str, bytes or os.PathLike;
    not empty, no NUL)."""
    data = encode_path(path, call)
    if not data:
        raise_status("BT_E_INVALID", call, "the directory path is empty")
    return data


def format_for_path(path: PathArg) -> Format:
    """The format a file name asks for by its suffix (``bt_format_for_path``):
    ``.json`` JSON, ``.prom`` Prometheus, ``.om`` / ``.openmetrics``
    OpenMetrics, ``.folded`` folded stacks, anything else text."""
    return Format(state.b.format_for_path(encode_path(path, "format_for_path")))


# --- the timeline ---------------------------------------------------------------

class TimelineInfo(NamedTuple):
    """State of the timeline, the ring of individual operations (``bt_timeline_info``)."""

    #: Operations the ring holds (0 if it was never started).
    capacity: int
    #: Operations in the ring now.
    kept: int
    #: Oldest operations dropped since the start, because the ring was full.
    dropped: int
    #: True while finished operations are being kept.
    active: bool


def timeline_start(capacity: int = 10000) -> None:
    """Starts keeping individual operations, process-wide, in a ring of
    ``capacity`` operations (``bt_timeline_start``); when it is full the oldest
    is dropped and counted. Tracers started from now on are kept when they
    finish. Starting again empties the ring.

    ``BOUNDARYTRACE_TIMELINE=path`` does the same at load (capacity
    ``BOUNDARYTRACE_TIMELINE_CAPACITY``, default 10000) and writes the file at exit.

    Raises InvalidArgumentError for capacity 0 or above 2**24, TypeError for
    a capacity that is not an int.
    """
    if isinstance(capacity, bool) or not isinstance(capacity, int):
        raise TypeError(f"timeline_start: capacity must be an int, not {type(capacity).__name__}")
    if not 0 <= capacity <= _SIZE_MAX:
        raise_status("BT_E_INVALID", "timeline_start", f"capacity = {capacity}")
    state.b.timeline_start(int(capacity))


def timeline_stop() -> None:
    """Stops keeping operations (``bt_timeline_stop``); those kept stay for export."""
    state.b.timeline_stop()


def timeline_info() -> TimelineInfo:
    """Capacity, kept and dropped operations, and whether the timeline is
    active (``bt_timeline_get_info``)."""
    capacity, kept, dropped, active = state.b.timeline_info()
    return TimelineInfo(capacity, kept, dropped, bool(active))


def timeline_export() -> str:
    """The kept operations as Chrome Trace Event JSON (``bt_timeline_export``),
    which Perfetto UI and chrome://tracing open: each operation a complete
    slice on its thread, its phases nested inside; timestamps in microseconds
    with three decimals."""
    return state.b.timeline_export()  # type: ignore[no-any-return]


def timeline_write(path: PathArg) -> None:
    """Writes :func:`timeline_export`'s JSON to ``path`` atomically (``bt_timeline_write``).

    Raises FileIOError (an OSError with ``errno``) when the file cannot be
    written, InvalidArgumentError for an empty path.
    """
    state.b.timeline_write(encode_path(path, "timeline_write"))


def timeline_export_shared(path: PathArg, pid: int) -> str:
    """The flight recorder of process ``pid`` in the shared directory ``path``
    as Chrome Trace Event JSON (``bt_timeline_export_shared``): the JSON of
    :func:`timeline_export`, with that process's pid and name in it.

    While the timeline is on (:func:`timeline_start`, ``BOUNDARYTRACE_TIMELINE``),
    a process recording into a shared directory (``BOUNDARYTRACE_SHARED_DIR``,
    :meth:`Metrics.open_shared`) also keeps its last 1024 operations (8 phases
    each) in its slot file, where they outlive it: the last operations of a
    worker killed by a signal stay readable, all but the one it was writing.
    When a later process takes the slot over, the recorder is kept aside as
    ``flight-<pid>.bt`` (the newest four). Reading takes no slot; the process
    may be live or gone.

    Raises NotFoundError when the directory holds no recorder of ``pid``,
    FileIOError (an OSError with ``errno``) when the directory cannot be
    read or is refused (EACCES: group or others may write into it),
    InvalidArgumentError for an empty path or a pid that is not a process id
    (0, negative, above 2**63 - 1), TypeError for a pid that is not an int.
    """
    call = "timeline_export_shared"
    if isinstance(pid, bool) or not isinstance(pid, int):
        raise TypeError(f"{call}: pid must be an int, not {type(pid).__name__}")
    data = encode_dir(path, call)
    if not 0 < pid <= _INT64_MAX:
        raise_status("BT_E_INVALID", call, f"pid = {pid} is not a process id (1 .. 2**63 - 1)")
    try:
        return state.b.timeline_export_shared(data, int(pid))  # type: ignore[no-any-return]
    except NotFoundError as exc:
        raise error_from_status(exc.status, exc.call, exc.status_name,
                                state.statuses[exc.status_name][1],
                                f"no flight recorder of process {pid} in {os.fsdecode(data)}: "
                                "it recorded nothing there with the timeline on, or its "
                                "recorder was older than the four kept") from None
