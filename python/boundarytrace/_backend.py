"""Backend selection, and the internal interface both backends implement.

Two backends expose the same small interface, so the Pythonic layer
(_tracing.py, _snapshot.py) is written once:

* ``native``: the pybind11 extension ``boundarytrace._native`` (default);
* ``ctypes``: ``_ctypes_backend.py``, which needs only ``libboundarytrace.so``.

``BOUNDARYTRACE_BACKEND`` chooses: ``native`` (fail if the extension is
missing), ``ctypes``, or ``auto``/unset (native, else ctypes).

The interface (names are UTF-8 ``bytes``; the Pythonic layer validates every
argument's type and range before a call, so both backends see the same input):

Module functions
    ``version() -> int``, ``version_string() -> str``,
    ``status_str(int) -> str``, ``status_name(int) -> str``,
    ``set_enabled(bool)``, ``is_enabled() -> bool``,
    ``clock_now_ns() -> int``, ``clock_source() -> str``,
    ``library_path() -> str | None``,
    ``phase_register(name, gil_held) -> int``, ``phase_lookup(name) -> int``,
    ``phase_info(id) -> (name, gil_held)``, ``phase_count() -> int``,
    ``metrics_global() -> Metrics``, ``read_shared(path) -> Snapshot``
    (``bt_snapshot_read_shared``; ``path`` bytes without NUL),
    ``timing_format(op_name|None, total, unattributed, held, released, wait,
    items, releases, workers, flags, phase_ns, phase_entries) -> str``,
    ``format_for_path(path) -> int`` (a bt_format value),
    ``timeline_start(capacity)``, ``timeline_stop()``,
    ``timeline_info() -> (capacity, kept, dropped, active)``,
    ``timeline_export() -> str``, ``timeline_write(path)``,
    ``timeline_export_shared(path, pid) -> str`` (``bt_timeline_export_shared``;
    ``pid`` in 1..2**63-1).
``Metrics()``
    a private sink; ``Metrics.open_shared(path) -> Metrics`` a shared one
    (``bt_metrics_open_shared``); ``.is_global``, ``.op(name) -> Op``,
    ``.record(op_name, total, wait, items, releases, workers, flags, phase_ns,
    phase_entries)``, ``.snapshot() -> Snapshot``,
    ``.take() -> (Snapshot, Snapshot)``, ``.reset()``.
``Op``
    ``.name``, ``.tracer() -> Tracer`` (the clock starts).
``Tracer``
    ``.begin(id)``, ``.end(id)``, ``.add_items(n)``, ``.add_gil_release()``,
    ``.add_gil_wait(ns)``, ``.set_workers(n)``, ``.set_error()``, ``.finish()``,
    ``.timing() -> tuple | None``: ``(op_name, total, unattributed, held,
    released, wait, items, releases, workers, flags, phase_ns, phase_entries)``.
``scope(tracer, id)``
    the hot path of ``with t.phase(p):``: a context manager whose
    ``__enter__`` begins the phase and whose ``__exit__`` ends it (when an
    exception is in flight, a failure to end it is ignored). The native
    backend implements it, ``Op`` and ``Tracer`` in plain CPython, without
    pybind11's dispatcher; the ctypes backend calls the library's hot-path
    functions through a handle without argtypes (see _ctypes_backend.py).
``Snapshot``
    ``.info() -> (op_count, start_ns, end_ns, phase_count, dropped, processes,
    skipped)``, ``.skipped() -> [(path bytes, reason)]``,
    ``.find(name) -> int | None``,
    ``.op_stats(i) -> (name, count, errors, left_open, items, total, held,
    released, wait, unattributed, releases, parallel_ops, workers_max, saturated)``,
    ``.phase_stats(i, id) -> (name, id, gil_held, count, entries, sum, min,
    max, p50, p90, p99, p999)``, ``.quantile(i, id, q) -> int``,
    ``.buckets(i, id) -> [(lower, upper, count)]``, ``.format() -> str``,
    ``.export(fmt) -> str``, ``.write(fmt, path)`` (``fmt`` a bt_format value
    the Pythonic layer has checked; ``path`` bytes without NUL).

Calls that write files (``Snapshot.write``, ``timeline_write``) or open a
shared directory (``Metrics.open_shared``, ``read_shared``: they may wait for
its lock; ``timeline_export_shared``) release the GIL while they run; their BT_E_IO raises FileIOError
with the ``errno`` the call left and the path.

Handles are freed when their Python object goes; a Tracer keeps its Op and
sink alive, so nothing is ever used after it was freed. Failures raise the
classes of _errors.py, built by ``_errors.error_from_status``.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any, Dict, Optional, Tuple

from ._errors import Error, error_from_status, library_statuses

BACKENDS = ("native", "ctypes")


class _State:
    """The backend in use (one per process, switched by select())."""

    __slots__ = ("b", "name", "native_error", "global_metrics", "generation", "statuses")

    def __init__(self) -> None:
        self.b: Any = None
        self.name: str = ""
        self.native_error: Optional[BaseException] = None
        self.global_metrics: Any = None  # the Pythonic Metrics of the global sink
        self.generation = 0
        #: name -> (value, sentence) of every status the library knows.
        self.statuses: Dict[str, Tuple[int, str]] = {}


state = _State()


def _import(name: str) -> ModuleType:
    if name == "native":
        return importlib.import_module("boundarytrace._native")
    if name == "ctypes":
        return importlib.import_module("boundarytrace._ctypes_backend")
    raise ValueError(f"unknown boundarytrace backend {name!r}: choose one of {BACKENDS}")


def load(name: Optional[str] = None) -> ModuleType:
    """Imports the backend `name` (None: from BOUNDARYTRACE_BACKEND, else auto)."""
    if name is None:
        name = os.environ.get("BOUNDARYTRACE_BACKEND", "auto").strip().lower() or "auto"
    if name == "auto":
        try:
            return _import("native")
        except ImportError as exc:
            state.native_error = exc
            return _import("ctypes")
    return _import(name)


def backend_name(module: ModuleType) -> str:
    """'native' or 'ctypes'."""
    return "native" if module.__name__.endswith("._native") else "ctypes"


def statuses(module: ModuleType) -> Dict[str, Tuple[int, str]]:
    """name -> (value, sentence) of every status the backend's library knows."""
    return library_statuses(module.status_name, module.status_str)


def raise_status(status_name: str, call: str, detail: Optional[str] = None) -> None:
    """Raises the exception of a status found by the Python layer itself
    (a wrong argument caught before the library is asked), with the value and
    the sentence the library gives that status."""
    value, text = state.statuses[status_name]
    raise error_from_status(value, call, status_name, text, detail)


__all__ = ["BACKENDS", "Error", "backend_name", "load", "raise_status", "state", "statuses"]
