"""Tracing from Python: tracers, phases, timings, sinks and the decorator.

Written once over the backend interface (see _backend.py); the native and the
ctypes backends behave the same under it.
"""

from __future__ import annotations

import functools
import os
from types import MappingProxyType, TracebackType
from typing import (Any, Callable, ContextManager, Dict, List, Literal, Mapping, NamedTuple, Optional,
                    Tuple, Type, TypeVar, Union, overload)

from ._backend import raise_status, state
from ._errors import Error, InvalidArgumentError, error_from_status
from ._exports import PathArg
from ._phases import Phase, PhaseArg, _phase_id, describe, encode_name
from ._snapshot import Snapshot, encode_dir

__all__ = ["Metrics", "PhaseTiming", "Timing", "Tracer", "traced", "trace", "record", "snapshot",
           "take", "reset", "global_metrics"]

F = TypeVar("F", bound=Callable[..., Any])

_INT32_MIN = -(2 ** 31)
_INT32_MAX = 2 ** 31 - 1
_U32_MAX = 2 ** 32 - 1
_U64_MAX = 2 ** 64 - 1

#: bt_timing.flags bits (bt.h).
TIMING_ERROR = 0x1
TIMING_PHASE_LEFT_OPEN = 0x2


def _uint(value: object, what: str, call: str, limit: int = _U64_MAX) -> int:
    """``value`` as a non-negative int <= limit (TypeError / InvalidArgumentError)."""
    if type(value) is not int:
        if isinstance(value, bool) or not hasattr(value, "__index__"):
            raise TypeError(f"{call}: {what} must be an int, not {type(value).__name__}")
        value = value.__index__()
    if 0 <= value <= limit:  # type: ignore[operator]
        return value  # type: ignore[return-value]
    raise_status("BT_E_INVALID", call, f"{what} = {value} is outside [0, {limit}]")
    raise AssertionError("unreachable")


# --- timings --------------------------------------------------------------------

class PhaseTiming(NamedTuple):
    """Time and entries of one phase in one operation."""

    ns: int
    entries: int


class Timing:
    """The timing of one finished operation (``bt_timing``).

    Attributes:
        op_name: the operation name.
        total_ns: creation to finish.
        unattributed_ns: total_ns minus the time inside phases.
        gil_held_ns / gil_released_ns: time in GIL-held / GIL-released phases.
        gil_wait_ns: time spent waiting to reacquire the GIL.
        items: items (documents) handled.
        gil_releases: times the GIL was released.
        workers: parallel workers reported (0 = not reported).
        flags: ``bt_timing.flags`` bits (see ``error`` and ``phase_left_open``).
    """

    __slots__ = ("op_name", "total_ns", "unattributed_ns", "gil_held_ns", "gil_released_ns",
                 "gil_wait_ns", "items", "gil_releases", "workers", "flags", "_phase_ns",
                 "_phase_entries")

    def __init__(self, row: Tuple[Any, ...]) -> None:
        (self.op_name, self.total_ns, self.unattributed_ns, self.gil_held_ns,
         self.gil_released_ns, self.gil_wait_ns, self.items, self.gil_releases, self.workers,
         self.flags, self._phase_ns, self._phase_entries) = row

    @property
    def error(self) -> bool:
        """The operation was marked as failed."""
        return bool(self.flags & TIMING_ERROR)

    @property
    def phase_left_open(self) -> bool:
        """finish() closed a phase that was still open."""
        return bool(self.flags & TIMING_PHASE_LEFT_OPEN)

    def phase_ns(self, phase: PhaseArg) -> int:
        """Time in one phase (id, name or Phase); 0 if never entered."""
        pid = _phase_id(phase, "Timing.phase_ns")
        return self._phase_ns[pid] if 0 <= pid < len(self._phase_ns) else 0

    def phase_entries(self, phase: PhaseArg) -> int:
        """Times one phase (id, name or Phase) was entered."""
        pid = _phase_id(phase, "Timing.phase_entries")
        return self._phase_entries[pid] if 0 <= pid < len(self._phase_entries) else 0

    @property
    def phases(self) -> Mapping[str, PhaseTiming]:
        """The phases entered, by name, in id order: (ns, entries)."""
        out = {}
        for pid, (ns, n) in enumerate(zip(self._phase_ns, self._phase_entries)):
            if ns or n:
                out[describe(pid).name] = PhaseTiming(ns, n)
        return MappingProxyType(out)

    @property
    def gil_held_share(self) -> float:
        """Share of total_ns spent in GIL-held phases, 0..1."""
        return self.gil_held_ns / self.total_ns if self.total_ns else 0.0

    @property
    def ns_per_item(self) -> float:
        """total_ns per item (0.0 without items)."""
        return self.total_ns / self.items if self.items else 0.0

    def format(self) -> str:
        """The library's human report of this operation (``bt_timing_format``)."""
        name = None if self.op_name is None else encode_name(self.op_name, "Timing.format")
        return state.b.timing_format(name, self.total_ns, self.unattributed_ns,
                                     self.gil_held_ns, self.gil_released_ns, self.gil_wait_ns,
                                     self.items, self.gil_releases, self.workers, self.flags,
                                     list(self._phase_ns), list(self._phase_entries))

    def __str__(self) -> str:
        return self.format()

    def to_dict(self) -> Dict[str, Any]:
        """Every field as a plain dict, phases by name."""
        return {
            "op_name": self.op_name, "total_ns": self.total_ns,
            "unattributed_ns": self.unattributed_ns, "gil_held_ns": self.gil_held_ns,
            "gil_released_ns": self.gil_released_ns, "gil_wait_ns": self.gil_wait_ns,
            "items": self.items, "gil_releases": self.gil_releases, "workers": self.workers,
            "error": self.error, "phase_left_open": self.phase_left_open,
            "phases": {name: {"ns": p.ns, "entries": p.entries}
                       for name, p in self.phases.items()},
        }

    def __repr__(self) -> str:
        return (f"Timing(op_name={self.op_name!r}, total_ns={self.total_ns}, "
                f"items={self.items}, error={self.error})")


# --- tracers ----------------------------------------------------------------------

class Tracer:
    """One traced operation in flight: its clock started when it was created.

    :func:`trace` and :meth:`Metrics.trace` return one. Use it as a context
    manager (``with boundarytrace.trace("op") as t:``): on exit the operation
    finishes and is recorded; an exception marks it as an error, closes the
    open phase and goes on. Or call :meth:`finish` yourself.

    The verbs change it (:meth:`add_items`, :meth:`add_gil_release`,
    :meth:`add_gil_wait`, :meth:`set_workers`, :meth:`set_error`); the
    properties named after a figure (:attr:`items`, :attr:`workers`) read it.

    A Tracer dropped without finishing records nothing.

    A Tracer belongs to one thread at a time (it may be handed to another, e.g.
    across an ``await``). On a free-threaded Python the backend serialises its
    calls, so misuse from two threads at once raises or records oddly but
    never corrupts memory.
    """

    __slots__ = ("_t", "_name", "_scope", "_open", "_done", "_items", "_workers", "_timing",
                 "__weakref__")

    def __init__(self, tracer: Any, name: str, scope: Callable[[Any, int], Any]) -> None:
        self._t = tracer
        self._name = name
        self._scope = scope  # the backend's phase scope factory
        self._open: Optional[int] = None
        self._done = False
        self._items = 0
        self._workers = 0
        self._timing: Optional[Timing] = None

    @property
    def op_name(self) -> str:
        """The operation name."""
        return self._name

    def __enter__(self) -> "Tracer":
        return self

    def __exit__(self, et: Optional[Type[BaseException]], ev: Optional[BaseException],
                 tb: Optional[TracebackType]) -> Literal[False]:
        if self._done:  # finished by hand inside the block
            return False
        t = self._t
        self._done = True
        if et is None:
            t.finish()
            return False
        try:
            if self._open is not None:
                pid, self._open = self._open, None
                t.end(pid)
        except Error:
            pass
        try:
            t.set_error()
            t.finish()
        except Error:  # the exception in flight is the one to report
            pass
        return False

    def phase(self, phase: PhaseArg) -> ContextManager[Any]:
        """A context manager that enters ``phase`` (id, name or Phase) and leaves it.

        ``with t.phase(boundarytrace.EXTRACT): ...`` or ``with t.phase("extract"):``.
        Raises on entry: PhaseOpenError (another phase is open),
        UnknownPhaseError / NotFoundError (no such phase), TracerFinishedError.
        """
        tp = type(phase)
        if (tp is int or tp is Phase) and _INT32_MIN <= phase <= _INT32_MAX:  # type: ignore[operator]
            return self._scope(self._t, phase)  # type: ignore[arg-type, no-any-return]
        return self._scope(self._t, _phase_id(phase, "Tracer.phase"))  # type: ignore[no-any-return]

    def begin(self, phase: PhaseArg) -> None:
        """Enters ``phase`` (bt_phase_begin); pair with :meth:`end`."""
        pid = _phase_id(phase, "Tracer.begin")
        self._t.begin(pid)
        self._open = pid

    def end(self, phase: PhaseArg) -> None:
        """Leaves ``phase``, which must be the open one (bt_phase_end)."""
        pid = _phase_id(phase, "Tracer.end")
        self._t.end(pid)
        self._open = None

    def add_items(self, n: int) -> None:
        """Adds ``n`` items (documents) handled (bt_tracer_add_items)."""
        n = _uint(n, "n", "Tracer.add_items")
        self._t.add_items(n)
        self._items += n

    @property
    def items(self) -> int:
        """Items (documents) handled so far (read-only: :meth:`add_items` adds)."""
        return self._items

    def add_gil_release(self) -> None:
        """Counts one release of the GIL (bt_tracer_add_gil_release)."""
        self._t.add_gil_release()

    def add_gil_wait(self, ns: int) -> None:
        """Adds ``ns`` nanoseconds spent waiting to reacquire the GIL
        (bt_tracer_add_gil_wait)."""
        self._t.add_gil_wait(_uint(ns, "ns", "Tracer.add_gil_wait"))

    def set_workers(self, n: int) -> None:
        """Reports ``n`` parallel workers (bt_tracer_set_workers); the largest
        value reported wins."""
        n = _uint(n, "n", "Tracer.set_workers", _U32_MAX)
        self._t.set_workers(n)
        if n > self._workers:
            self._workers = n

    @property
    def workers(self) -> int:
        """The largest worker count reported so far (read-only: :meth:`set_workers` reports)."""
        return self._workers

    def set_error(self) -> None:
        """Marks the operation as failed (bt_tracer_set_error)."""
        self._t.set_error()

    def finish(self) -> Timing:
        """Stops the clock and records the operation; returns its Timing
        (bt_tracer_finish_timing).

        A phase still open is closed and the timing flagged ``phase_left_open``.
        Raises TracerFinishedError when already finished.
        """
        self._t.finish()
        self._done = True
        self._open = None
        return self.timing  # type: ignore[return-value]

    @property
    def finished(self) -> bool:
        """True once the operation has finished."""
        return self._done

    @property
    def timing(self) -> Optional[Timing]:
        """The Timing once the operation has finished, else None."""
        if self._timing is None:
            row = self._t.timing()
            if row is not None:
                self._timing = Timing(row)
        return self._timing

    def __repr__(self) -> str:
        return f"Tracer({self._name!r}, finished={self.finished})"


# --- sinks ------------------------------------------------------------------------

def _encode_timing_phases(phases: Optional[Mapping[Any, Any]],
                          call: str) -> Tuple[List[int], List[int]]:
    ns: List[int] = []
    entries: List[int] = []
    if phases is None:
        return ns, entries
    if not isinstance(phases, Mapping):
        raise TypeError(f"{call}: phases must be a mapping phase -> ns or (ns, entries), "
                        f"not {type(phases).__name__}")
    for key, value in phases.items():
        pid = _phase_id(key, call)
        if not 0 <= pid < 32:
            raise_status("BT_E_UNKNOWN_PHASE", call, f"phase id {pid}")
        if isinstance(value, tuple):
            if len(value) != 2:
                raise TypeError(f"{call}: a phase value is ns or (ns, entries)")
            t_ns = _uint(value[0], "phase ns", call)
            t_n = _uint(value[1], "phase entries", call, _U32_MAX)
        else:
            t_ns = _uint(value, "phase ns", call)
            t_n = 1
        while len(ns) <= pid:
            ns.append(0)
            entries.append(0)
        ns[pid] += t_ns
        entries[pid] += t_n
    return ns, entries


class Metrics:
    """A sink that aggregates finished operations.

    ``Metrics()`` is a private sink (for a test or a subsystem); the
    process-wide one is :func:`global_metrics`, used wherever ``metrics=None``;
    :meth:`open_shared` opens one that many processes share through a
    directory. A private or shared sink is a context manager: leaving the
    block closes it. Closing drops the sink; the library frees it once no
    tracer made from it is left. Safe to use from any number of threads.
    """

    __slots__ = ("_m", "_ops", "_is_global", "_scope", "_shared_dir", "__weakref__")

    def __init__(self) -> None:
        self._m: Any = state.b.Metrics()
        self._ops: Dict[str, Any] = {}
        self._is_global = False
        self._scope = state.b.scope  # tracers of this sink use its backend
        self._shared_dir: Optional[str] = None

    @classmethod
    def _wrap_global(cls, backend: Any) -> "Metrics":
        self = cls.__new__(cls)
        self._m = backend.metrics_global()
        self._ops = {}
        self._is_global = True
        self._scope = backend.scope
        self._shared_dir = None
        return self

    @classmethod
    def open_shared(cls, path: PathArg) -> "Metrics":
        """Opens a sink whose figures live in the directory ``path``, shared by
        every process that opens it (``bt_metrics_open_shared``): the workers
        of a pre-fork server record into it, and any process reads the whole
        directory with :func:`read_shared`.

        Put the directory on a tmpfs (``/dev/shm``, ``$XDG_RUNTIME_DIR``). A
        missing one is created with mode 0700. This process takes a slot file
        of its own there, held by a lock the kernel drops when the process
        dies; a child forked from it takes its own slot at its first record.
        Slots of processes that are gone are folded into the directory's
        archive by the next process that opens it, so nothing they recorded
        is lost and the directory holds the live processes' slots and three
        files more. ``BOUNDARYTRACE_SHARED_DIR=path`` does the same for the
        process-wide sink, with no code change.

        :meth:`snapshot` merges the whole directory (every process, live and
        gone); :meth:`take` and :meth:`reset` raise InvalidArgumentError, as
        the figures belong to every process.

        Raises FileIOError (an OSError with ``errno``) when the directory
        cannot be used: EACCES for one that group or others may write into,
        or that belongs to another user; InvalidArgumentError for an empty
        path; TypeError for a path that is not str, bytes or os.PathLike.
        """
        data = encode_dir(path, "Metrics.open_shared")
        self = cls.__new__(cls)
        self._m = state.b.Metrics.open_shared(data)
        self._ops = {}
        self._is_global = False
        self._scope = state.b.scope
        self._shared_dir = os.fsdecode(data)
        return self

    @property
    def shared_dir(self) -> Optional[str]:
        """The directory of a sink made by :meth:`open_shared`, else None."""
        return self._shared_dir

    # -- lifetime
    @property
    def is_global(self) -> bool:
        """True for the process-wide sink."""
        return self._is_global

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._m is None

    def close(self) -> None:
        """Closes a private sink (no-op for the global one and when closed)."""
        if self._is_global:
            return
        self._m = None
        self._ops = {}

    def __enter__(self) -> "Metrics":
        return self

    def __exit__(self, et: Optional[Type[BaseException]], ev: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()

    def _box(self, call: str) -> Any:
        m = self._m
        if m is None:
            raise_status("BT_E_NULL", call, "the Metrics is closed")
        return m

    # -- tracing
    def _bind(self, op: object) -> Any:
        box = self._box("Metrics.trace")
        data = encode_name(op, "Metrics.trace", "operation name")
        bound = box.op(data)
        self._ops[op] = bound  # type: ignore[index]
        return bound

    def trace(self, op: str) -> Tracer:
        """Starts tracing one operation called ``op``: a :class:`Tracer` whose
        clock starts now.

        The name is bound once per sink (``bt_op_lookup``) and cached.
        Raises InvalidNameError for a bad name, TableFullError past
        ``BT_MAX_OPS`` (1024) names, TypeError for a non-str.
        """
        try:
            bound = self._ops.get(op)
        except TypeError:
            bound = None
        if bound is None:
            bound = self._bind(op)
        return Tracer(bound.tracer(), op, self._scope)

    def traced(self, op: Optional[Union[str, Callable[..., Any]]] = None) -> Any:
        """Decorator: traces each call of the function into this sink (see :func:`traced`)."""
        return traced(op, metrics=self)

    def record(self, op: Union[str, Timing], total_ns: Optional[int] = None, *,
               phases: Optional[Mapping[PhaseArg, Union[int, Tuple[int, int]]]] = None,
               items: int = 0, gil_wait_ns: int = 0, gil_releases: int = 0, workers: int = 0,
               error: bool = False, phase_left_open: bool = False) -> None:
        """Records a timing measured elsewhere, as if a tracer had finished it
        (``bt_metrics_record``).

        Args:
            op: the operation name, or a :class:`Timing` to record again
                (then the other arguments are ignored).
            total_ns: the operation's time.
            phases: phase (id, name or Phase) -> ns, or -> (ns, entries);
                a bare ns counts one entry. The phase times must add up to at
                most total_ns.
            items, gil_wait_ns, gil_releases, workers: the counters.
            error, phase_left_open: the flags.

        Raises InvalidArgumentError (phases longer than the total, negative
        values), UnknownPhaseError, InvalidNameError, TypeError.
        """
        call = "Metrics.record"
        box = self._box(call)
        if isinstance(op, Timing):
            t = op
            name = encode_name(t.op_name, call, "operation name")
            box.record(name, t.total_ns, t.gil_wait_ns, t.items, t.gil_releases, t.workers,
                       t.flags, list(t._phase_ns), list(t._phase_entries))
            return
        name = encode_name(op, call, "operation name")
        if total_ns is None:
            raise TypeError(f"{call}: total_ns is required")
        total = _uint(total_ns, "total_ns", call)
        ns, entries = _encode_timing_phases(phases, call)
        flags = (TIMING_ERROR if error else 0) | (TIMING_PHASE_LEFT_OPEN if phase_left_open else 0)
        box.record(name, total, _uint(gil_wait_ns, "gil_wait_ns", call),
                   _uint(items, "items", call), _uint(gil_releases, "gil_releases", call, _U32_MAX),
                   _uint(workers, "workers", call, _U32_MAX), flags, ns, entries)

    # -- reading
    def snapshot(self) -> Snapshot:
        """The cumulative aggregates (since creation or the last reset)."""
        return Snapshot(self._box("Metrics.snapshot").snapshot())

    def take(self) -> Tuple[Snapshot, Snapshot]:
        """Interval reporting: ``(interval, cumulative)``.

        ``interval`` holds what was recorded since the previous take (or
        creation, or reset) and a new interval starts; ``cumulative`` is the
        cumulative view at the same instant. Every record lands in exactly one
        interval.
        """
        box = self._box("Metrics.take")
        try:
            interval, cumulative = box.take()
        except InvalidArgumentError as exc:
            raise self._shared_refusal(exc) from None
        return Snapshot(interval), Snapshot(cumulative)

    def reset(self) -> None:
        """Zeroes every aggregate (cumulative and interval)."""
        box = self._box("Metrics.reset")
        try:
            box.reset()
        except InvalidArgumentError as exc:
            raise self._shared_refusal(exc) from None

    def _shared_refusal(self, exc: InvalidArgumentError) -> Error:
        # The library answers BT_E_INVALID to take and reset only on a
        # shared sink (bt.h): say so.
        where = (f"the directory {self._shared_dir}" if self._shared_dir is not None
                 else "BOUNDARYTRACE_SHARED_DIR")
        return error_from_status(exc.status, exc.call, exc.status_name,
                                 state.statuses[exc.status_name][1],
                                 f"this sink is shared through {where}: its figures belong to "
                                 f"every process writing there; read them with snapshot()")

    def __repr__(self) -> str:
        if self._m is None:
            kind = "closed"
        elif self._is_global:
            kind = "global"
        elif self._shared_dir is not None:
            kind = f"shared {self._shared_dir!r}"
        else:
            kind = "private"
        return f"<boundarytrace.Metrics {kind}>"


def global_metrics() -> Metrics:
    """The process-wide sink (``bt_metrics_global``)."""
    return state.global_metrics


def _sink(metrics: Optional[Metrics], call: str) -> Metrics:
    if metrics is None:
        return state.global_metrics
    if not isinstance(metrics, Metrics):
        raise TypeError(f"{call}: metrics must be a boundarytrace.Metrics or None, "
                        f"not {type(metrics).__name__}")
    return metrics


def trace(op: str, metrics: Optional[Metrics] = None) -> Tracer:
    """Starts tracing one operation called ``op`` (into ``metrics``, default
    global): returns its :class:`Tracer`, whose clock starts now.

    ::

        with boundarytrace.trace("insert_many") as t:
            with t.phase(boundarytrace.EXTRACT):
                ...
            t.add_items(len(docs))
        print(t.timing.total_ns)
    """
    if metrics is None:
        return state.global_metrics.trace(op)
    return _sink(metrics, "trace").trace(op)


def record(op: Union[str, Timing], total_ns: Optional[int] = None, *,
           metrics: Optional[Metrics] = None, **fields: Any) -> None:
    """Records a timing measured elsewhere (see :meth:`Metrics.record`)."""
    _sink(metrics, "record").record(op, total_ns, **fields)


def snapshot(metrics: Optional[Metrics] = None) -> Snapshot:
    """The cumulative aggregates of ``metrics`` (default: the global sink)."""
    return _sink(metrics, "snapshot").snapshot()


def take(metrics: Optional[Metrics] = None) -> Tuple[Snapshot, Snapshot]:
    """``(interval, cumulative)`` snapshots of ``metrics`` (see :meth:`Metrics.take`)."""
    return _sink(metrics, "take").take()


def reset(metrics: Optional[Metrics] = None) -> None:
    """Zeroes the aggregates of ``metrics`` (default: the global sink)."""
    _sink(metrics, "reset").reset()


# --- decorator ------------------------------------------------------------------------

def _decorate(fn: F, name: str, metrics: Optional[Metrics]) -> F:
    if not callable(fn):
        raise TypeError(f"traced: expected a function, not {type(fn).__name__}")
    # Check the name now: a bad name fails at decoration, not at the first call.
    _sink(metrics, "traced")._bind(name)

    import inspect  # here: it costs a tenth of the package's import, and decorating is rare
    if inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            m = state.global_metrics if metrics is None else metrics
            with m.trace(name):
                return await fn(*args, **kwargs)
        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        m = state.global_metrics if metrics is None else metrics
        with m.trace(name):
            return fn(*args, **kwargs)
    return wrapper  # type: ignore[return-value]


@overload
def traced(op: F, *, metrics: Optional[Metrics] = None) -> F: ...
@overload
def traced(op: Optional[str] = None, *, metrics: Optional[Metrics] = None) -> Callable[[F], F]: ...


def traced(op: Any = None, *, metrics: Optional[Metrics] = None) -> Any:
    """Decorator: each call of the function is one traced operation.

    ``@traced`` names the operation after the function; ``@traced("op")``
    names it. An exception marks the operation as an error and goes on.
    Coroutine functions are traced from the first to the last step.
    """
    if metrics is not None:
        _sink(metrics, "traced")
    if op is None:
        return lambda fn: _decorate(fn, fn.__name__, metrics)
    if isinstance(op, str):
        _sink(metrics, "traced")._bind(op)  # a bad name fails here, at decoration
        return lambda fn: _decorate(fn, op, metrics)
    if callable(op):
        return _decorate(op, op.__name__, metrics)
    raise TypeError(f"traced: expected an operation name or a function, not {type(op).__name__}")
