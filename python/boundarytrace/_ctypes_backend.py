"""The ctypes backend: the same internal interface as the pybind11 extension
(``boundarytrace._native``), over ``libboundarytrace.so`` alone.

Used when the extension is missing or when ``BOUNDARYTRACE_BACKEND=ctypes``.
The library is looked for, in this order:

1. the file named by the environment variable ``BOUNDARYTRACE_LIBRARY`` (when
   set, that file only: a wrong path is an ImportError, never a silent
   fallback);
2. ``libboundarytrace.so.<ABI>`` next to this file (what the wheel ships);
3. ``ctypes.util.find_library("boundarytrace")`` (the system's library path).

Note that glibc keeps one copy of a library per file: a *different* file with
the same SONAME loaded by path (``BOUNDARYTRACE_LIBRARY``) is a second copy
with its own registry, so point it at the copy the other extensions use.

Every function gets its ``argtypes`` and ``restype`` (but the five calls of
a traced operation's hot path: see "The hot path" below); the result structs are
``ctypes.Structure`` mirrors of bt.h's, with ``struct_size`` set. The library
is loaded as a ``PyDLL``: calls keep the GIL (they are short and never block),
which saves a release and reacquire per call on a GIL build. On a
free-threaded build each Tracer serialises its calls with a lock, so a tracer
misused from two threads at once cannot be corrupted.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading
from ctypes import (POINTER, Structure, byref, c_char, c_char_p, c_double, c_int,
                    c_int32, c_int64, c_size_t, c_uint, c_uint32, c_uint64, c_void_p)
from typing import Any, List, Literal, Optional, Sequence, Tuple

from ._errors import error_from_status, library_statuses

#: ABI major version: the SONAME is libboundarytrace.so.<ABI_VERSION>.
ABI_VERSION = 1
#: Oldest library release (bt_version() form) with every function used here.
MIN_VERSION = 100
#: Releases that keep this ABI: bt_version() // 10000 must be this major.
VERSION_MAJOR = 0

BT_MAX_PHASES = 32


# --- structs (mirrors of bt.h) -------------------------------------------------

class BtTiming(Structure):
    """Mirror of ``bt_timing``."""
    _fields_ = [
        ("struct_size", c_size_t),
        ("op_name", c_char_p),
        ("total_ns", c_uint64),
        ("unattributed_ns", c_uint64),
        ("gil_held_ns", c_uint64),
        ("gil_released_ns", c_uint64),
        ("gil_wait_ns", c_uint64),
        ("items", c_uint64),
        ("gil_releases", c_uint32),
        ("workers", c_uint32),
        ("flags", c_uint32),
        ("phase_count", c_uint32),
        ("phase_ns", c_uint64 * BT_MAX_PHASES),
        ("phase_entries", c_uint32 * BT_MAX_PHASES),
    ]


class BtOpStats(Structure):
    """Mirror of ``bt_op_stats``."""
    _fields_ = [
        ("struct_size", c_size_t),
        ("name", c_char_p),
        ("count", c_uint64),
        ("errors", c_uint64),
        ("left_open", c_uint64),
        ("items", c_uint64),
        ("total_ns", c_uint64),
        ("gil_held_ns", c_uint64),
        ("gil_released_ns", c_uint64),
        ("gil_wait_ns", c_uint64),
        ("unattributed_ns", c_uint64),
        ("gil_releases", c_uint64),
        ("parallel_ops", c_uint64),
        ("workers_max", c_uint32),
        ("flags", c_uint32),
    ]


class BtPhaseStats(Structure):
    """Mirror of ``bt_phase_stats``."""
    _fields_ = [
        ("struct_size", c_size_t),
        ("name", c_char_p),
        ("phase", c_int32),
        ("gil_held", c_int32),
        ("count", c_uint64),
        ("entries", c_uint64),
        ("sum_ns", c_uint64),
        ("min_ns", c_uint64),
        ("max_ns", c_uint64),
        ("p50_ns", c_uint64),
        ("p90_ns", c_uint64),
        ("p99_ns", c_uint64),
        ("p999_ns", c_uint64),
    ]


class BtBucket(Structure):
    """Mirror of ``bt_bucket``."""
    _fields_ = [("lower_ns", c_uint64), ("upper_ns", c_uint64), ("count", c_uint64)]


class BtSnapshotInfo(Structure):
    """Mirror of ``bt_snapshot_info``."""
    _fields_ = [
        ("struct_size", c_size_t),
        ("op_count", c_size_t),
        ("start_ns", c_uint64),
        ("end_ns", c_uint64),
        ("phase_count", c_uint32),
        ("reserved_", c_uint32),
        # since 0.1.0 (the shared sink)
        ("dropped", c_uint64),
        ("processes", c_uint32),
        ("skipped", c_uint32),
    ]


class BtTimelineInfo(Structure):
    """Mirror of ``bt_timeline_info``."""
    _fields_ = [
        ("struct_size", c_size_t),
        ("capacity", c_uint64),
        ("kept", c_uint64),
        ("dropped", c_uint64),
        ("active", c_int32),
        ("reserved_", c_uint32),
    ]


# --- loading -------------------------------------------------------------------

def _candidates() -> List[str]:
    env = os.environ.get("BOUNDARYTRACE_LIBRARY")
    if env:  # an explicit choice: that file or nothing
        return [env]
    found = []
    here = os.path.dirname(os.path.abspath(__file__))
    local = os.path.join(here, f"libboundarytrace.so.{ABI_VERSION}")
    if os.path.exists(local):
        found.append(local)
    system = ctypes.util.find_library("boundarytrace")
    if system:
        found.append(system)
    return found


def _load() -> Tuple[ctypes.PyDLL, str]:
    errors = []
    for path in _candidates():
        try:
            return ctypes.PyDLL(path), path
        except OSError as exc:
            errors.append(f"{path}: {exc}")
    detail = "; ".join(errors) if errors else "not next to the package nor on the library path"
    raise ImportError(
        "boundarytrace: cannot load libboundarytrace (BOUNDARYTRACE_LIBRARY names its path): "
        + detail)


_lib, _path = _load()
# The calls that write files go through a second handle on the same library
# (dlopen returns the one already loaded): a CDLL that releases the GIL while
# the file is written and keeps the errno the call left (use_errno), so a
# BT_E_IO can say why. Only these calls pay for the errno swap.
_io_lib = ctypes.CDLL(_path, use_errno=True)

# The hot path of a traced operation (bt_tracer_new_op, bt_phase_begin,
# bt_phase_end, bt_tracer_finish_timing, bt_tracer_free) goes through foreign
# functions of its own, made on a third handle, that ctypes calls by its
# cheapest path:
#
# * no argtypes: ctypes passes each argument as it is, without a from_param
#   conversion per argument (about a third of each call). Every argument on
#   these paths is a pointer argument (below), a byref() or a phase (an int the
#   Pythonic layer checked to fit int32, passed as a C int);
# * no restype at all (_HotFunction has no _restype_; a PyDLL function has
#   c_int): ctypes then turns the C int result straight into a Python int,
#   where a restype of c_int costs a look-up in ctypes' table of formats per
#   call, about a tenth of it. bt_tracer_free returns void: restype None;
# * the tracer handle as a pointer argument made once per tracer (_pointer_arg),
#   where a c_void_p makes ctypes build one per call.
#
# Their declared signatures stay in _SIGNATURES below (checked against bt.h).
_hot_lib = ctypes.PyDLL(_path)
_TIMING_SIZE = ctypes.sizeof(BtTiming)


class _HotFunction(ctypes._CFuncPtr):  # type: ignore[name-defined,misc]
    """A foreign function called as a PyDLL's (cdecl, the GIL kept), without a restype."""
    _flags_ = ctypes._FUNCFLAG_CDECL | ctypes._FUNCFLAG_PYTHONAPI  # type: ignore[attr-defined]


_hot_new_op = _HotFunction(("bt_tracer_new_op", _hot_lib))
_hot_phase_begin = _HotFunction(("bt_phase_begin", _hot_lib))
_hot_phase_end = _HotFunction(("bt_phase_end", _hot_lib))
_hot_finish_timing = _HotFunction(("bt_tracer_finish_timing", _hot_lib))
_hot_free = _HotFunction(("bt_tracer_free", _hot_lib))
_hot_free.restype = None

# A pointer argument: byref(_BASE, address - _BASE_ADDRESS) passes `address`
# itself (byref's offset is added to the address of the ctypes object _BASE;
# nothing is read or written there). ctypes passes such an object as it is,
# where it converts a c_void_p into a new one at every call. An address
# beyond the offset's range (2**63 and up) stays a c_void_p.
_BASE = ctypes.c_char()
_BASE_ADDRESS = ctypes.addressof(_BASE)
_ADDRESS_MAX = 2 ** 63 - 1


def _pointer_arg(p: c_void_p) -> Any:
    """A pointer argument passing the address `p` holds (see above)."""
    address = p.value or 0
    return byref(_BASE, address - _BASE_ADDRESS) if address <= _ADDRESS_MAX else p


_c_tracer_p = c_void_p
_c_metrics_p = c_void_p
_c_op_p = c_void_p
_c_snapshot_p = c_void_p

# name -> (restype, argtypes). Every function the backend calls is declared,
# in bt.h's order: outputs first, then the object, then the other inputs
# (tests/python/test_backends.py checks each against the header).
_SIGNATURES = {
    "bt_version": (c_uint, []),
    "bt_version_string": (c_char_p, []),
    "bt_abi_version": (c_uint, []),
    "bt_status_str": (c_char_p, [c_int]),
    "bt_status_name": (c_char_p, [c_int]),
    "bt_set_enabled": (None, [c_int]),
    "bt_is_enabled": (c_int, []),
    "bt_clock_now_ns": (c_uint64, []),
    "bt_clock_source": (c_char_p, []),
    "bt_phase_register": (c_int, [POINTER(c_int32), c_char_p, c_int]),
    "bt_phase_lookup": (c_int, [POINTER(c_int32), c_char_p]),
    "bt_phase_get_info": (c_int, [POINTER(c_char_p), POINTER(c_int), c_int32]),
    "bt_phase_count": (c_uint32, []),
    "bt_metrics_global": (_c_metrics_p, []),
    "bt_metrics_new": (c_int, [POINTER(_c_metrics_p)]),
    "bt_metrics_free": (None, [_c_metrics_p]),
    "bt_op_lookup": (c_int, [POINTER(_c_op_p), _c_metrics_p, c_char_p]),
    "bt_op_name": (c_char_p, [_c_op_p]),
    "bt_metrics_record": (c_int, [_c_metrics_p, POINTER(BtTiming)]),
    "bt_metrics_snapshot": (c_int, [POINTER(_c_snapshot_p), _c_metrics_p]),
    "bt_metrics_take": (c_int, [POINTER(_c_snapshot_p), POINTER(_c_snapshot_p), _c_metrics_p]),
    "bt_metrics_reset": (c_int, [_c_metrics_p]),
    "bt_tracer_new": (c_int, [POINTER(_c_tracer_p), _c_metrics_p, c_char_p]),
    "bt_tracer_new_op": (c_int, [POINTER(_c_tracer_p), _c_op_p]),
    "bt_phase_begin": (c_int, [_c_tracer_p, c_int32]),
    "bt_phase_end": (c_int, [_c_tracer_p, c_int32]),
    "bt_tracer_add_items": (c_int, [_c_tracer_p, c_uint64]),
    "bt_tracer_add_gil_release": (c_int, [_c_tracer_p]),
    "bt_tracer_add_gil_wait": (c_int, [_c_tracer_p, c_uint64]),
    "bt_tracer_set_workers": (c_int, [_c_tracer_p, c_uint32]),
    "bt_tracer_set_error": (c_int, [_c_tracer_p]),
    "bt_tracer_finish": (c_int, [_c_tracer_p]),
    "bt_tracer_finish_timing": (c_int, [POINTER(BtTiming), _c_tracer_p]),
    "bt_tracer_free": (None, [_c_tracer_p]),
    "bt_snapshot_free": (None, [_c_snapshot_p]),
    "bt_snapshot_get_info": (c_int, [POINTER(BtSnapshotInfo), _c_snapshot_p]),
    "bt_snapshot_op_count": (c_int, [POINTER(c_size_t), _c_snapshot_p]),
    "bt_snapshot_find": (c_int, [POINTER(c_size_t), _c_snapshot_p, c_char_p]),
    "bt_snapshot_get_skipped": (c_int, [POINTER(c_char_p), POINTER(c_char_p), _c_snapshot_p,
                                        c_size_t]),
    "bt_snapshot_op_stats": (c_int, [POINTER(BtOpStats), _c_snapshot_p, c_size_t]),
    "bt_snapshot_phase_stats": (c_int, [POINTER(BtPhaseStats), _c_snapshot_p, c_size_t, c_int32]),
    "bt_snapshot_quantile": (c_int, [POINTER(c_uint64), _c_snapshot_p, c_size_t, c_int32,
                                     c_double]),
    "bt_snapshot_buckets": (c_int, [POINTER(BtBucket), c_size_t, POINTER(c_size_t), _c_snapshot_p,
                                    c_size_t, c_int32]),
    "bt_timing_format": (c_int, [POINTER(c_char), c_size_t, POINTER(c_size_t), POINTER(BtTiming)]),
    "bt_snapshot_format": (c_int, [POINTER(c_char), c_size_t, POINTER(c_size_t), _c_snapshot_p]),
    "bt_snapshot_export": (c_int, [POINTER(c_char), c_size_t, POINTER(c_size_t), _c_snapshot_p,
                                   c_int]),
    "bt_format_for_path": (c_int, [POINTER(c_int), c_char_p]),
    "bt_timeline_start": (c_int, [c_size_t]),
    "bt_timeline_stop": (c_int, []),
    "bt_timeline_get_info": (c_int, [POINTER(BtTimelineInfo)]),
    "bt_timeline_export": (c_int, [POINTER(c_char), c_size_t, POINTER(c_size_t)]),
}

# Through _io_lib (see above): they write files, or open a shared directory
# (its lock may make them wait for another process).
_IO_SIGNATURES = {
    "bt_snapshot_write": (c_int, [_c_snapshot_p, c_int, c_char_p]),
    "bt_timeline_write": (c_int, [c_char_p]),
    "bt_metrics_open_shared": (c_int, [POINTER(_c_metrics_p), c_char_p]),
    "bt_snapshot_read_shared": (c_int, [POINTER(_c_snapshot_p), c_char_p]),
    "bt_timeline_export_shared": (c_int, [POINTER(c_char), c_size_t, POINTER(c_size_t), c_char_p,
                                          c_int64]),
}

for _name, (_restype, _argtypes) in _SIGNATURES.items():
    _fn = getattr(_lib, _name)
    _fn.restype = _restype
    _fn.argtypes = _argtypes
for _name, (_restype, _argtypes) in _IO_SIGNATURES.items():
    _fn = getattr(_io_lib, _name)
    _fn.restype = _restype
    _fn.argtypes = _argtypes
del _name, _restype, _argtypes, _fn

_abi = _lib.bt_abi_version()
if _abi != ABI_VERSION:
    raise ImportError(
        f"boundarytrace: {_path} has ABI {_abi} (bt_abi_version()); this package's declarations "
        f"follow ABI {ABI_VERSION}")
_version = _lib.bt_version()
if _version < MIN_VERSION or _version // 10000 != VERSION_MAJOR:
    raise ImportError(
        f"boundarytrace: {_path} is version {_lib.bt_version_string().decode()} "
        f"(bt_version() = {_version}); this package needs {VERSION_MAJOR}.x, "
        f"at least {MIN_VERSION // 10000}.{MIN_VERSION // 100 % 100}.{MIN_VERSION % 100}")


def _fail(status: int, call: str) -> None:
    raise error_from_status(status, call, _lib.bt_status_name(status).decode(),
                            _lib.bt_status_str(status).decode())


# The values of the statuses this module tests for, from the library itself.
_STATUS = {name: value for name, (value, _) in library_statuses(
    lambda v: _lib.bt_status_name(v).decode(), lambda v: _lib.bt_status_str(v).decode()).items()}
_BT_E_UNKNOWN_PHASE = _STATUS["BT_E_UNKNOWN_PHASE"]
_BT_E_NOT_FOUND = _STATUS["BT_E_NOT_FOUND"]
_BT_E_INTERNAL = _STATUS["BT_E_INTERNAL"]
_BT_E_IO = _STATUS["BT_E_IO"]


def _fail_io(status: int, call: str, path: bytes) -> None:
    """Raises for a failed file write; BT_E_IO carries the errno the call left."""
    err = ctypes.get_errno() if status == _BT_E_IO else 0
    raise error_from_status(status, call, _lib.bt_status_name(status).decode(),
                            _lib.bt_status_str(status).decode(),
                            errno=err or None, filename=path if status == _BT_E_IO else None)


def _text(fn: Any, call: str, *args: Any) -> str:
    """Runs an snprintf-style formatter `fn(buf, cap, &needed, *args)`."""
    return _bytes(fn, call, *args).decode("utf-8", "replace")


def _bytes(fn: Any, call: str, *args: Any, io_path: Optional[bytes] = None) -> bytes:
    """Runs an snprintf-style formatter `fn(buf, cap, &needed, *args)`; its bytes.

    The text may grow between two calls (the timeline fills while it is
    exported), so a retry asks for some room beyond what was needed. With
    `io_path`, `fn` is an _io_lib function reading that path: a BT_E_IO
    carries its errno.
    """
    needed = c_size_t(0)
    cap = 2048
    for _ in range(4):
        buf = ctypes.create_string_buffer(cap)
        if io_path is not None:
            ctypes.set_errno(0)
        st = fn(buf, cap, byref(needed), *args)
        if st:
            if io_path is not None:
                _fail_io(st, call, io_path)
            _fail(st, call)
        if needed.value < cap:
            return buf.raw[:needed.value]
        cap = needed.value + needed.value // 4 + 4096
    _fail(_BT_E_INTERNAL, call)
    raise AssertionError("unreachable")


def _str(p: Optional[bytes]) -> str:
    return p.decode("utf-8", "replace") if p is not None else ""


# --- library ---------------------------------------------------------------------

def version() -> int:
    """bt_version() of the loaded library."""
    return _lib.bt_version()


def version_string() -> str:
    """bt_version_string() of the loaded library."""
    return _lib.bt_version_string().decode()


def status_str(status: int) -> str:
    """bt_status_str(status)."""
    return _lib.bt_status_str(status).decode()


def status_name(status: int) -> str:
    """bt_status_name(status)."""
    return _lib.bt_status_name(status).decode()


def set_enabled(on: bool) -> None:
    """bt_set_enabled(on)."""
    _lib.bt_set_enabled(1 if on else 0)


def is_enabled() -> bool:
    """bt_is_enabled()."""
    return _lib.bt_is_enabled() != 0


clock_now_ns = _lib.bt_clock_now_ns


def clock_source() -> str:
    """bt_clock_source()."""
    return _lib.bt_clock_source().decode()


def library_path() -> Optional[str]:
    """The path the library was loaded from."""
    return _path


# --- phases ------------------------------------------------------------------------

def phase_register(name: bytes, gil_held: bool) -> int:
    """bt_phase_register: the id of phase `name`, registered if new."""
    out = c_int32(0)
    st = _lib.bt_phase_register(byref(out), name, 1 if gil_held else 0)
    if st:
        _fail(st, "bt_phase_register")
    return out.value


def phase_lookup(name: bytes) -> int:
    """bt_phase_lookup: the id of a registered phase."""
    out = c_int32(0)
    st = _lib.bt_phase_lookup(byref(out), name)
    if st:
        _fail(st, "bt_phase_lookup")
    return out.value


def phase_info(phase: int) -> Tuple[str, bool]:
    """bt_phase_get_info: (name, gil_held) of a registered phase."""
    name = c_char_p()
    held = c_int(0)
    st = _lib.bt_phase_get_info(byref(name), byref(held), phase)
    if st:
        _fail(st, "bt_phase_get_info")
    return _str(name.value), held.value != 0


def phase_count() -> int:
    """bt_phase_count()."""
    return _lib.bt_phase_count()


# --- exports and the timeline ----------------------------------------------------

def format_for_path(path: bytes) -> int:
    """bt_format_for_path: the bt_format value a file name's suffix asks for."""
    out = c_int(0)
    st = _lib.bt_format_for_path(byref(out), path)
    if st:
        _fail(st, "bt_format_for_path")
    return out.value


def timeline_start(capacity: int) -> None:
    """bt_timeline_start."""
    st = _lib.bt_timeline_start(capacity)
    if st:
        _fail(st, "bt_timeline_start")


def timeline_stop() -> None:
    """bt_timeline_stop."""
    st = _lib.bt_timeline_stop()
    if st:
        _fail(st, "bt_timeline_stop")


def timeline_info() -> Tuple[int, int, int, bool]:
    """bt_timeline_get_info: (capacity, kept, dropped, active)."""
    out = BtTimelineInfo()
    out.struct_size = ctypes.sizeof(BtTimelineInfo)
    st = _lib.bt_timeline_get_info(byref(out))
    if st:
        _fail(st, "bt_timeline_get_info")
    return out.capacity, out.kept, out.dropped, out.active != 0


def timeline_export() -> str:
    """bt_timeline_export."""
    return _text(_lib.bt_timeline_export, "bt_timeline_export")


def timeline_export_shared(path: bytes, pid: int) -> str:
    """bt_timeline_export_shared: the flight recorder of process `pid` in the
    shared directory `path` (read without the GIL)."""
    return _bytes(_io_lib.bt_timeline_export_shared, "bt_timeline_export_shared", path, pid,
                  io_path=path).decode("utf-8", "replace")


def timeline_write(path: bytes) -> None:
    """bt_timeline_write (the GIL is released while the file is written)."""
    ctypes.set_errno(0)
    st = _io_lib.bt_timeline_write(path)
    if st:
        _fail_io(st, "bt_timeline_write", path)


# --- timings -----------------------------------------------------------------------

def _fill_phases(t: BtTiming, phase_ns: Sequence[int], phase_entries: Sequence[int],
                 call: str) -> None:
    if len(phase_ns) > BT_MAX_PHASES or len(phase_entries) > BT_MAX_PHASES:
        _fail(_BT_E_UNKNOWN_PHASE, call)
    for p, ns in enumerate(phase_ns):
        t.phase_ns[p] = ns
    for p, n in enumerate(phase_entries):
        t.phase_entries[p] = n
    t.phase_count = max(len(phase_ns), len(phase_entries))


def _timing_tuple(t: BtTiming) -> Tuple[Any, ...]:
    n = min(t.phase_count, BT_MAX_PHASES)
    return (_str(t.op_name) if t.op_name is not None else None, t.total_ns, t.unattributed_ns,
            t.gil_held_ns, t.gil_released_ns, t.gil_wait_ns, t.items, t.gil_releases, t.workers,
            t.flags, tuple(t.phase_ns[:n]), tuple(t.phase_entries[:n]))


def timing_format(op_name: Optional[bytes], total_ns: int, unattributed_ns: int,
                  gil_held_ns: int, gil_released_ns: int, gil_wait_ns: int, items: int,
                  gil_releases: int, workers: int, flags: int, phase_ns: Sequence[int],
                  phase_entries: Sequence[int]) -> str:
    """bt_timing_format of a timing given field by field."""
    t = _timing("bt_timing_format", phase_ns, phase_entries, op_name=op_name, total_ns=total_ns,
                unattributed_ns=unattributed_ns, gil_held_ns=gil_held_ns,
                gil_released_ns=gil_released_ns, gil_wait_ns=gil_wait_ns, items=items,
                gil_releases=gil_releases, workers=workers, flags=flags)
    return _text(_lib.bt_timing_format, "bt_timing_format", byref(t))


def _timing(call: str, phase_ns: Sequence[int], phase_entries: Sequence[int],
            **fields: object) -> "BtTiming":
    """A bt_timing with struct_size set, the named fields and the phases."""
    t = BtTiming()
    t.struct_size = ctypes.sizeof(BtTiming)
    for name, value in fields.items():
        setattr(t, name, value)
    _fill_phases(t, phase_ns, phase_entries, call)
    return t


# --- snapshots -----------------------------------------------------------------------

class Snapshot:
    """An immutable copy of a sink's aggregates (owns a bt_snapshot*)."""

    __slots__ = ("_h", "__weakref__")
    _h: Optional[c_void_p]

    def __init__(self, handle: c_void_p) -> None:
        self._h = handle

    def __del__(self) -> None:
        h, self._h = self._h, None
        if h and _lib is not None:
            _lib.bt_snapshot_free(h)

    def _info(self) -> BtSnapshotInfo:
        out = BtSnapshotInfo()
        out.struct_size = ctypes.sizeof(BtSnapshotInfo)
        st = _lib.bt_snapshot_get_info(byref(out), self._h)
        if st:
            _fail(st, "bt_snapshot_get_info")
        return out

    def info(self) -> Tuple[int, int, int, int, int, int, int]:
        """(op_count, start_ns, end_ns, phase_count, dropped, processes, skipped)."""
        out = self._info()
        return (out.op_count, out.start_ns, out.end_ns, out.phase_count, out.dropped,
                out.processes, out.skipped)

    def skipped(self) -> List[Tuple[bytes, str]]:
        """bt_snapshot_get_skipped for each file a merge left out: [(path, reason)]."""
        out = []
        for i in range(self._info().skipped):
            path, reason = c_char_p(), c_char_p()
            st = _lib.bt_snapshot_get_skipped(byref(path), byref(reason), self._h, i)
            if st:
                _fail(st, "bt_snapshot_get_skipped")
            out.append((path.value or b"", _str(reason.value)))
        return out

    def find(self, name: bytes) -> Optional[int]:
        """Index of operation `name`, or None."""
        index = c_size_t(0)
        st = _lib.bt_snapshot_find(byref(index), self._h, name)
        if st == _BT_E_NOT_FOUND:
            return None
        if st:
            _fail(st, "bt_snapshot_find")
        return index.value

    def op_stats(self, index: int) -> Tuple[Any, ...]:
        """bt_snapshot_op_stats as a tuple (see _backend.py)."""
        o = BtOpStats()
        o.struct_size = ctypes.sizeof(BtOpStats)
        st = _lib.bt_snapshot_op_stats(byref(o), self._h, index)
        if st:
            _fail(st, "bt_snapshot_op_stats")
        return (_str(o.name), o.count, o.errors, o.left_open, o.items, o.total_ns, o.gil_held_ns,
                o.gil_released_ns, o.gil_wait_ns, o.unattributed_ns, o.gil_releases,
                o.parallel_ops, o.workers_max, bool(o.flags & 1))

    def phase_stats(self, index: int, phase: int) -> Tuple[Any, ...]:
        """bt_snapshot_phase_stats as a tuple (see _backend.py)."""
        p = BtPhaseStats()
        p.struct_size = ctypes.sizeof(BtPhaseStats)
        st = _lib.bt_snapshot_phase_stats(byref(p), self._h, index, phase)
        if st:
            _fail(st, "bt_snapshot_phase_stats")
        return (_str(p.name), p.phase, p.gil_held, p.count, p.entries, p.sum_ns, p.min_ns,
                p.max_ns, p.p50_ns, p.p90_ns, p.p99_ns, p.p999_ns)

    def quantile(self, index: int, phase: int, q: float) -> int:
        """bt_snapshot_quantile."""
        out = c_uint64(0)
        st = _lib.bt_snapshot_quantile(byref(out), self._h, index, phase, q)
        if st:
            _fail(st, "bt_snapshot_quantile")
        return out.value

    def buckets(self, index: int, phase: int) -> List[Tuple[int, int, int]]:
        """bt_snapshot_buckets: [(lower_ns, upper_ns, count), ...]."""
        count = c_size_t(0)
        cap = 64
        for _ in range(4):
            buf = (BtBucket * cap)()
            st = _lib.bt_snapshot_buckets(buf, cap, byref(count), self._h, index, phase)
            if st:
                _fail(st, "bt_snapshot_buckets")
            if count.value <= cap:
                return [(b.lower_ns, b.upper_ns, b.count) for b in buf[:count.value]]
            cap = count.value
        _fail(_BT_E_INTERNAL, "bt_snapshot_buckets")
        raise AssertionError("unreachable")

    def format(self) -> str:
        """bt_snapshot_format."""
        return _text(_lib.bt_snapshot_format, "bt_snapshot_format", self._h)

    def export(self, fmt: int) -> str:
        """bt_snapshot_export in format `fmt` (a bt_format value)."""
        return _text(_lib.bt_snapshot_export, "bt_snapshot_export", self._h, fmt)

    def export_bytes(self, fmt: int) -> bytes:
        """bt_snapshot_export in a binary format `fmt` (a bt_format value)."""
        return _bytes(_lib.bt_snapshot_export, "bt_snapshot_export", self._h, fmt)

    def write(self, fmt: int, path: bytes) -> None:
        """bt_snapshot_write (the GIL is released while the file is written)."""
        ctypes.set_errno(0)
        st = _io_lib.bt_snapshot_write(self._h, fmt, path)
        if st:
            _fail_io(st, "bt_snapshot_write", path)


# --- tracers -------------------------------------------------------------------------

class Tracer(Structure):
    """One traced operation in flight (owns a bt_tracer*).

    One ctypes object per operation holds what the hot path needs: the handle
    bt_tracer_new_op writes (the field ``handle``), then the bt_timing
    bt_tracer_finish_timing copies out (the other fields, a bt_timing's, at
    _TIMING_OFFSET). Made by Op.tracer() alone, which sets its slots: ``_h``
    the handle as a pointer argument (see _pointer_arg), ``_keep`` the Op
    (through it the sink outlives the tracer), ``_finished`` True once
    bt_tracer_finish_timing succeeded.
    """

    _fields_ = [("handle", c_void_p)] + BtTiming._fields_
    __slots__ = ("_h", "_keep", "_finished")
    _h: Any

    def __del__(self) -> None:
        h, self._h = self._h, None
        if h is not None and _hot_free is not None:
            _hot_free(h)

    def begin(self, phase: int) -> None:
        """bt_phase_begin."""
        st = _lib.bt_phase_begin(self._h, phase)
        if st:
            _fail(st, "bt_phase_begin")

    def end(self, phase: int) -> None:
        """bt_phase_end."""
        st = _lib.bt_phase_end(self._h, phase)
        if st:
            _fail(st, "bt_phase_end")

    def add_items(self, n: int) -> None:
        """bt_tracer_add_items."""
        st = _lib.bt_tracer_add_items(self._h, n)
        if st:
            _fail(st, "bt_tracer_add_items")

    def add_gil_release(self) -> None:
        """bt_tracer_add_gil_release."""
        st = _lib.bt_tracer_add_gil_release(self._h)
        if st:
            _fail(st, "bt_tracer_add_gil_release")

    def add_gil_wait(self, ns: int) -> None:
        """bt_tracer_add_gil_wait."""
        st = _lib.bt_tracer_add_gil_wait(self._h, ns)
        if st:
            _fail(st, "bt_tracer_add_gil_wait")

    def set_workers(self, n: int) -> None:
        """bt_tracer_set_workers."""
        st = _lib.bt_tracer_set_workers(self._h, n)
        if st:
            _fail(st, "bt_tracer_set_workers")

    def set_error(self) -> None:
        """bt_tracer_set_error."""
        st = _lib.bt_tracer_set_error(self._h)
        if st:
            _fail(st, "bt_tracer_set_error")

    def finish(self) -> None:
        """bt_tracer_finish_timing into this object's bt_timing, kept for timing()."""
        st = _hot_finish_timing(byref(self, _TIMING_OFFSET), self._h)
        if st:
            _fail(st, "bt_tracer_finish_timing")
        self._finished = True

    def timing(self) -> Optional[Tuple[Any, ...]]:
        """The finished timing as a tuple (see _backend.py), or None."""
        return _timing_tuple(self) if self._finished else None


# The bt_timing inside a Tracer: where it starts, and room for all of it.
_TIMING_OFFSET = Tracer.struct_size.offset
assert _TIMING_OFFSET + _TIMING_SIZE <= ctypes.sizeof(Tracer)


class _LockedTracer(Tracer):
    """A Tracer whose calls are serialised: for free-threaded Python."""

    __slots__ = ("_lock",)


def _locked(name: str) -> Any:
    plain = getattr(Tracer, name)

    def method(self: "_LockedTracer", *args: Any) -> Any:
        with self._lock:
            return plain(self, *args)
    method.__name__ = name
    method.__doc__ = plain.__doc__
    return method


for _m in ("begin", "end", "add_items", "add_gil_release", "add_gil_wait", "set_workers", "set_error",
           "finish", "timing"):
    setattr(_LockedTracer, _m, _locked(_m))
del _m

_gil_check = getattr(sys, "_is_gil_enabled", None)
_TracerClass = Tracer if (_gil_check is None or _gil_check()) else _LockedTracer


class PhaseScope:
    """``with t.phase(p):`` — enters phase p, leaves it on exit.

    On exit with an exception in flight, a failure to leave the phase is
    ignored so that the exception is the one reported. Calls the library
    directly (the hot path) with the handle it keeps; the tracer, kept alive
    by the reference, frees that handle only when it goes.
    """

    __slots__ = ("_t", "_h", "phase")

    def __enter__(self) -> "PhaseScope":
        st = _phase_begin(self._h, self.phase)
        if st:
            _fail(st, "bt_phase_begin")
        return self

    def __exit__(self, et: Any, ev: Any, tb: Any) -> Literal[False]:
        st = _phase_end(self._h, self.phase)
        if st and et is None:
            _fail(st, "bt_phase_end")
        return False


def _scope(tracer: Tracer, phase: int) -> PhaseScope:
    """scope(tracer, phase): a PhaseScope (its class has no __init__: a bare
    class call is the cheapest way to make one)."""
    s = PhaseScope()
    s._t = tracer
    s._h = tracer._h
    s.phase = phase
    return s


class _LockedPhaseScope(PhaseScope):
    """A PhaseScope that goes through the tracer's lock (free-threaded Python)."""

    __slots__ = ()

    def __init__(self, tracer: Tracer, phase: int) -> None:
        self._t = tracer
        self._h = tracer._h
        self.phase = phase

    def __enter__(self) -> "PhaseScope":
        self._t.begin(self.phase)
        return self

    def __exit__(self, et: Any, ev: Any, tb: Any) -> Literal[False]:
        if et is None:
            self._t.end(self.phase)
            return False
        try:
            self._t.end(self.phase)
        except Exception:  # the exception in flight is the one to report
            pass
        return False


_phase_begin = _hot_phase_begin
_phase_end = _hot_phase_end
#: scope(tracer, phase): a context manager that enters ``phase`` and leaves it.
scope = _scope if _TracerClass is Tracer else _LockedPhaseScope


class Op:
    """An operation name bound once in one sink (bt_op)."""

    __slots__ = ("_h", "_arg", "_keep")

    def __init__(self, handle: c_void_p, keep: "Metrics") -> None:
        self._h = handle
        self._arg = _pointer_arg(handle)  # for bt_tracer_new_op (see _pointer_arg)
        self._keep = keep

    @property
    def name(self) -> str:
        """bt_op_name."""
        return _str(_lib.bt_op_name(self._h))

    def tracer(self) -> Tracer:
        """bt_tracer_new_op: a new tracer, its clock started."""
        t = _TracerClass()  # no __init__: a bare class call, then the slots
        t._h = None
        st = _hot_new_op(byref(t), self._arg)  # writes t.handle
        if st:
            _fail(st, "bt_tracer_new_op")
        address = t.handle or 0  # _pointer_arg(), inlined
        t._h = (byref(_BASE, address - _BASE_ADDRESS) if address <= _ADDRESS_MAX
                else c_void_p(address))
        t._keep = self
        t._finished = False
        t.struct_size = _TIMING_SIZE
        if _TracerClass is not Tracer:
            t._lock = threading.Lock()
        return t


# --- sinks ---------------------------------------------------------------------------

class Metrics:
    """A sink (bt_metrics). Metrics() creates a private one."""

    __slots__ = ("_h", "_owned", "__weakref__")
    _h: Optional[c_void_p]

    def __init__(self, _handle: Optional[c_void_p] = None) -> None:
        if _handle is None:
            h = c_void_p()
            st = _lib.bt_metrics_new(byref(h))
            if st:
                _fail(st, "bt_metrics_new")
            self._h, self._owned = h, True
        else:
            self._h, self._owned = _handle, False

    def __del__(self) -> None:
        h, self._h = self._h, None
        if h and self._owned and _lib is not None:
            _lib.bt_metrics_free(h)

    @classmethod
    def open_shared(cls, path: bytes) -> "Metrics":
        """bt_metrics_open_shared: a sink kept in the shared directory `path`."""
        h = c_void_p()
        ctypes.set_errno(0)
        st = _io_lib.bt_metrics_open_shared(byref(h), path)
        if st:
            _fail_io(st, "bt_metrics_open_shared", path)
        self = cls.__new__(cls)
        self._h, self._owned = h, True
        return self

    @property
    def is_global(self) -> bool:
        """True for the process-wide sink."""
        return not self._owned

    def op(self, name: bytes) -> Op:
        """bt_op_lookup."""
        h = c_void_p()
        st = _lib.bt_op_lookup(byref(h), self._h, name)
        if st:
            _fail(st, "bt_op_lookup")
        return Op(h, self)

    def record(self, op_name: bytes, total_ns: int, gil_wait_ns: int, items: int,
               gil_releases: int, workers: int, flags: int, phase_ns: Sequence[int],
               phase_entries: Sequence[int]) -> None:
        """bt_metrics_record of a timing given field by field."""
        t = _timing("bt_metrics_record", phase_ns, phase_entries, op_name=op_name,
                    total_ns=total_ns, gil_wait_ns=gil_wait_ns, items=items,
                    gil_releases=gil_releases, workers=workers, flags=flags)
        st = _lib.bt_metrics_record(self._h, byref(t))
        if st:
            _fail(st, "bt_metrics_record")

    def snapshot(self) -> Snapshot:
        """bt_metrics_snapshot."""
        h = c_void_p()
        st = _lib.bt_metrics_snapshot(byref(h), self._h)
        if st:
            _fail(st, "bt_metrics_snapshot")
        return Snapshot(h)

    def take(self) -> Tuple[Snapshot, Snapshot]:
        """bt_metrics_take: (interval, cumulative)."""
        interval, cumulative = c_void_p(), c_void_p()
        st = _lib.bt_metrics_take(byref(interval), byref(cumulative), self._h)
        if st:
            _fail(st, "bt_metrics_take")
        return Snapshot(interval), Snapshot(cumulative)

    def reset(self) -> None:
        """bt_metrics_reset."""
        st = _lib.bt_metrics_reset(self._h)
        if st:
            _fail(st, "bt_metrics_reset")


_global = Metrics(c_void_p(_lib.bt_metrics_global()))


def read_shared(path: bytes) -> Snapshot:
    """bt_snapshot_read_shared: every slot and the archive of the directory `path`, merged."""
    h = c_void_p()
    ctypes.set_errno(0)
    st = _io_lib.bt_snapshot_read_shared(byref(h), path)
    if st:
        _fail_io(st, "bt_snapshot_read_shared", path)
    return Snapshot(h)


def metrics_global() -> Metrics:
    """The process-wide sink."""
    return _global
