"""boundarytrace — where does the time go between Python and native code?

Each operation goes through phases — extract (GIL held), convert (GIL
released), network (GIL released), materialize (GIL held), plus phases you
register — and the library aggregates per-operation distributions,
process-wide and thread-safe::

    import boundarytrace as bt

    with bt.trace("insert_many") as t:     # a Tracer: one operation in flight
        with t.phase(bt.EXTRACT):
            rows = read(docs)
        with t.phase("network"):
            send(rows)
        t.add_items(len(docs))
    print(t.timing.total_ns)

    @bt.traced                      # or @bt.traced("op_name")
    def handler(): ...

    print(bt.snapshot())            # the text report; .ops, .to_dict() for figures
    bt.snapshot().write("run.json") # or .prom, .om, .folded; .export("prometheus")

    bt.timeline_start(10000)        # keep individual operations for Perfetto UI
    ...
    bt.timeline_write("run.trace.json")

Many processes (a pre-fork server's workers, a pool): run each with
``BOUNDARYTRACE_SHARED_DIR=/dev/shm/myapp-bt`` (or open a sink with
``bt.Metrics.open_shared(dir)``), and read them all, from any process, with
``bt.read_shared(dir)``: one snapshot, ``.processes`` merged. With the
timeline on, each keeps its last operations in the directory, readable after
it died: ``bt.timeline_export_shared(dir, pid)``.

The command line tool ``boundarytrace`` (also ``python -m boundarytrace``)
reads the JSON: ``report`` (text or ``--html``), ``diff`` (a regression gate)
and ``check`` (a budget of red flags); for a shared directory also ``trace``
(a process's flight recorder) and ``serve`` (a /metrics sidecar); see
docs/cli.md.

Backends: the pybind11 extension ``boundarytrace._native`` (default) or a
ctypes backend that needs only ``libboundarytrace.so``; set
``BOUNDARYTRACE_BACKEND=ctypes`` to choose it. :data:`backend` says which runs.
Both behave the same.

Extension authors compile against the package's copy of the C library with
:func:`get_include` (``boundarytrace/bt.h``, ``bt.hpp``, the pybind11
guards ``boundarytrace/pybind11.hpp``, the nanobind ones
``boundarytrace/nanobind.hpp`` and the CPython C API helpers
``boundarytrace/python.h``; Cython: ``cimport boundarytrace``) and
:func:`get_library_dir`; import ``boundarytrace`` before your extension so
that the process has one copy of the library (glibc reuses an already-loaded
``libboundarytrace.so.1``) and one registry.
"""

# No `from __future__ import annotations` and no plain imports here: every
# public name of this module is the API (test_package checks dir() against
# __all__), so helpers are imported under private names.
import os as _os
import sys as _sys
from typing import Optional as _Optional

# The main interpreter only: ImportError in a subinterpreter, before either
# backend is touched (the native one would hang there; _subinterp.py says why).
from . import _subinterp
_subinterp.check()

from . import _backend
from ._backend import state as _state
from ._errors import (Error, FileIOError, InternalError, InvalidArgumentError, InvalidNameError,
                      NotFoundError, NullArgumentError, OutOfMemoryError, PhaseConflictError,
                      PhaseNotOpenError, PhaseOpenError, StructSizeError, TableFullError,
                      TracerFinishedError, UnknownPhaseError)
from ._exports import (Format, TimelineInfo, format_for_path, timeline_export,
                       timeline_export_shared, timeline_info, timeline_start, timeline_stop,
                       timeline_write)
from ._phases import (CONVERT, EXTRACT, GIL_WAIT, MATERIALIZE, NETWORK, TOTAL, Phase, lookup_phase,
                      phases, register_phase)
from ._phases import clear_caches as _clear_phase_caches
from ._otlp import OTLPExporter, otlp_push
from ._otlp import start_from_environment as _otlp_from_environment
from ._serve import Endpoint, serve
from ._serve import start_from_environment as _serve_from_environment
from ._snapshot import Bucket, OpStats, PhaseStats, Snapshot, read_shared
from ._tracing import (Metrics, PhaseTiming, Timing, Tracer, global_metrics, record, reset,
                       snapshot, take, trace, traced)

__all__ = [
    # tracing
    "trace", "traced", "Tracer", "Timing", "PhaseTiming",
    # phases
    "Phase", "EXTRACT", "CONVERT", "NETWORK", "MATERIALIZE", "TOTAL", "GIL_WAIT", "register_phase",
    "lookup_phase", "phases",
    # sinks and results
    "Metrics", "global_metrics", "record", "snapshot", "take", "reset", "Snapshot", "OpStats",
    "PhaseStats", "Bucket",
    # many processes: a shared directory, and its flight recorders
    "read_shared", "timeline_export_shared",
    # exports and the timeline
    "Format", "format_for_path", "timeline_start", "timeline_stop", "timeline_info",
    "TimelineInfo", "timeline_export", "timeline_write",
    # a live /metrics endpoint
    "serve", "Endpoint",
    # OTLP to an OpenTelemetry Collector
    "otlp_push", "OTLPExporter",
    # library
    "enabled", "set_enabled", "clock_source", "clock_now_ns", "gil_enabled", "backend",
    "library_version", "get_include", "get_library_dir", "get_library", "BT_MAX_PHASES",
    "BT_MAX_OPS", "BT_NAME_MAX",
    # errors
    "Error", "NullArgumentError", "InvalidArgumentError", "InvalidNameError",
    "UnknownPhaseError", "PhaseOpenError", "PhaseNotOpenError", "TracerFinishedError",
    "StructSizeError", "OutOfMemoryError", "TableFullError", "PhaseConflictError",
    "NotFoundError", "InternalError", "FileIOError",
]

#: Phases in the process-wide table, the four built-in ones included.
BT_MAX_PHASES = 32
#: Distinct operation names one sink holds.
BT_MAX_OPS = 1024
#: Longest operation or phase name, in UTF-8 bytes.
BT_NAME_MAX = 255

# Public classes are documented (and pickled) as boundarytrace.X.
for _cls in (Error, NullArgumentError, InvalidArgumentError, InvalidNameError, UnknownPhaseError,
             PhaseOpenError, PhaseNotOpenError, TracerFinishedError, StructSizeError,
             OutOfMemoryError, TableFullError, PhaseConflictError, NotFoundError, InternalError,
             FileIOError, Phase, Metrics, Tracer, Timing, PhaseTiming, Snapshot, OpStats, PhaseStats,
             Bucket, Format, TimelineInfo, Endpoint, OTLPExporter):
    _cls.__module__ = __name__
del _cls

_HERE = _os.path.dirname(_os.path.abspath(__file__))

#: The backend in use: ``"native"`` (pybind11) or ``"ctypes"``.
backend: str = ""


def _select_backend(name: _Optional[str] = None) -> str:
    """Switches the backend ("native", "ctypes", "auto"; None: from the environment).

    Internal (tests and benchmarks). Objects made before the switch keep their
    own backend and go on working; both backends drive the same library copy.
    """
    global backend
    module = _backend.load(name)
    _state.b = module
    _state.name = _backend.backend_name(module)
    _state.statuses = _backend.statuses(module)
    _state.global_metrics = Metrics._wrap_global(module)
    _state.generation += 1
    _clear_phase_caches()
    backend = _state.name
    return backend


_select_backend()

#: The loaded C library's version string (``bt_version_string()``).
__version__: str = _state.b.version_string()


def library_version() -> int:
    """``bt_version()`` of the loaded library: MAJOR*10000 + MINOR*100 + PATCH."""
    return _state.b.version()


def enabled() -> bool:
    """True when recording is on (``bt_is_enabled``)."""
    return _state.b.is_enabled()


def set_enabled(on: bool) -> None:
    """Switches recording on or off for the whole process (``bt_set_enabled``).

    While off, tracers record nothing and cost one branch per call; snapshots
    keep working. Overrides ``BOUNDARYTRACE_DISABLE``.
    """
    if not isinstance(on, (bool, int)):
        raise TypeError(f"set_enabled: expected a bool, not {type(on).__name__}")
    _state.b.set_enabled(bool(on))


def clock_source() -> str:
    """The library's clock: ``"tsc"`` or ``"monotonic"``."""
    return _state.b.clock_source()


def clock_now_ns() -> int:
    """The library's monotonic clock in nanoseconds (for timings you record)."""
    return _state.b.clock_now_ns()


def gil_enabled() -> bool:
    """True unless this is a free-threaded Python running without the GIL
    (``sys._is_gil_enabled()`` where it exists)."""
    check = getattr(_sys, "_is_gil_enabled", None)
    return True if check is None else bool(check())


def get_include() -> str:
    """Directory holding ``boundarytrace/bt.h`` and ``bt.hpp`` of this package's
    copy of the library, and the GIL-aware helpers that ship with the package,
    ``boundarytrace/pybind11.hpp`` (pybind11), ``boundarytrace/nanobind.hpp``
    (nanobind) and ``boundarytrace/python.h`` (the CPython C API): add it to your extension's include path (Cython
    modules that ``cimport boundarytrace`` need it too)."""
    return _os.path.join(_HERE, "include")


def get_library() -> str:
    """Path of the C library this process uses (``libboundarytrace.so.1``)."""
    path = _state.b.library_path()
    if path:
        return _os.path.abspath(path)
    return _os.path.join(_HERE, "libboundarytrace.so.1")


def get_library_dir() -> str:
    """Directory of the C library this process uses: link your extension with
    ``-L<dir> -lboundarytrace`` (or the full :func:`get_library` path) and
    import ``boundarytrace`` before it, so the process keeps one copy."""
    return _os.path.dirname(get_library())


# BOUNDARYTRACE_LISTEN=[host:]port: serve /metrics from import on (the
# global sink exists once a backend is chosen, above).
_serve_from_environment()
# BOUNDARYTRACE_OTLP_ENDPOINT: send OTLP periodically from import on.
_otlp_from_environment()
